#!/usr/bin/env perl
# 71-console-browser.t — the console in a real headless Chromium (Debian's
# chromium, driven by puppeteer-core from tests/browser, pinned in its
# package-lock.json and installed here with `npm ci`; the package never
# downloads a browser: executablePath is /usr/bin/chromium). Against a
# private slapd, the daemon and a real SMTP listener: sign in, invite,
# read the e-mail, open the link, set a password, ldapwhoami, sign in as
# the new administrator, edit, resend (the old link dead), delete with the
# "still granted by" message; script payloads in names checked inert in
# the DOM. Screenshots of every page go to build/artifacts/console/ (the
# README's screenshot of Manage Administrators is one of them).
# scripts/install-deps installs chromium, node and npm: a missing one is a
# failure here, never a skip.
use strict;
use warnings;
use Test::More;
use File::Spec;
use File::Temp qw(tempfile);
use FindBin;
use JSON::PP;
use RBTest;
use RBBridge;
use RBSmtp;

my $root = $ENV{RB_SRCDIR} // File::Spec->rel2abs(File::Spec->catdir($FindBin::Bin, '..', '..'));
my $bdir = File::Spec->catdir($root, 'tests', 'browser');
my $art  = File::Spec->catdir($root, 'build', 'artifacts', 'console');
my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $T    = JSON::PP::true;

sub have { system("command -v $_[0] >/dev/null 2>&1") == 0 }
ok(-x '/usr/bin/chromium', 'Debian chromium is installed (scripts/install-deps)')
    or BAIL_OUT('no /usr/bin/chromium: run scripts/install-deps');
ok(have('node') && have('npm'), 'node and npm are installed') or BAIL_OUT('no node/npm');
my $out = qx{cd '$bdir' && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error 2>&1};
is($? >> 8, 0, 'npm ci of the pinned puppeteer-core') or diag($out);

my $dir  = RBTest::start_directory();
my $S    = $dir->{suffix};
my $smtp = RBSmtp->start;
my $b    = RBBridge->start($dir, extra_conf => "smtp_host 127.0.0.1\nsmtp_port $smtp->{port}\n"
    . "smtp_tls none\nsmtp_from noreply\@demo.example\nmail_retry_min_s 1\nmail_retry_max_s 2\n");

sub admin {
    my ($token, $uid, $name, $grant, $pw) = @_;
    my $r = $b->req(POST => '/Users', token => $token, json => { schemas => [$CORE, $ADM],
        userName => $uid, displayName => $name, emails => [{ value => $uid, primary => $T }],
        $ADM => $grant });
    is($r->{status}, 201, "SCIM: $uid") or diag explain $r->{json};
    return unless $pw;
    my ($rc, $o) = RBTest::ldapmodify($dir, "dn: uid=$uid,ou=people,o=demo,$S\nchangetype: modify\n"
                                      . "replace: userPassword\nuserPassword: $pw\n");
    is($rc, 0, "$uid has a password") or diag $o;
}
admin('demo-okta', 'dana@demo.example', 'Dana District',
      { permission => 'manage', scope => 'district', canManageAdmins => $T }, 'Dana-pw-1');
admin('demo-clever', 'carl@demo.example', 'Carl Clever',
      { permission => 'manage', scope => 'school', schools => ['5eed0001-0000-4000-8000-000000000001'] });
admin('demo-entra', 'erin@demo.example', 'Erin Entra',
      { permission => 'view', scope => 'school', schools => ['5eed0001-0000-4000-8000-000000000003'] });

admin('demo-okta', 'lou@demo.example', 'Lou Locked',
      { permission => 'view', scope => 'school', schools => ['5eed0001-0000-4000-8000-000000000001'] }, 'Lou-pw-12345');
my (undef, $report) = tempfile(UNLINK => 1);
$out = qx{cd '$bdir' && node flow.js --base '$b->{base}' --tenant demo --login dana\@demo.example --password Dana-pw-1 --mail-dir '$smtp->{dir}' --ldap-uri '$dir->{uri}' --suffix '$S' --artifacts '$art' --report '$report' --lock-login lou\@demo.example --lock-password Lou-pw-12345 2>&1};
is($? >> 8, 0, 'the browser flow ran') or diag($out);
my $results = eval { local $/; open my $f, '<', $report or die; decode_json(<$f>) } // [];
cmp_ok(scalar @$results, '>=', 25, 'every step reported') or diag($out);
for my $r (@$results) {
    ok($r->{ok}, "browser: $r->{name}") or diag($r->{diag});
}
ok(-s "$art/03-manage-administrators.png", 'screenshot of Manage Administrators written');
my ($lou) = RBTest::ldapsearch($dir, as => 'admin', base => "uid=lou\@demo.example,ou=people,o=demo,$S",
                               scope => 'base', attrs => ['pwdAccountLockedTime']);
ok($lou->[0]{pwdAccountLockedTime}, "the browser's five wrong passwords: slapd locked Lou (pwdAccountLockedTime)");
note("screenshots in $art");
done_testing;
