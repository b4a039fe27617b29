#!/usr/bin/env perl
# 80-rosterctl.t — rosterctl against the real daemon and a private slapd:
# token create (the daemon accepts the token it made), configuration and
# its errors (exit codes, what to do next), admins/schools/groups verbs,
# reports, export, tenant create applied with ldapadd, and an import of
# 1,000 administrators from CSV seen in `rosterctl admins list` and over
# LDAP (rerun: idempotent; bad rows: reported with file:line).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use RBTest;
use RBBridge;

my $B = RBBridge::build_dir();
my $CTL = "$B/rosterctl";
die "no $CTL: run make first\n" unless -x $CTL;
my $tmp = tempdir(CLEANUP => 1);

# run(\@args, env => {...}, stdin => ...) → (exit code, stdout, stderr)
sub run {
    my ($args, %o) = @_;
    my %env = (HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg", %{ $o{env} // {} });
    delete $ENV{$_} for grep { /^ROSTERCTL_/ } keys %ENV;
    return RBTest::_run([$CTL, @$args], env => \%env, stdin => $o{stdin});
}

# --- token create ----------------------------------------------------------
my ($rc, $out, $err) = run([qw(token create --tenant demo --source in-product --rights write)]);
is($rc, 0, 'token create exits 0') or diag $err;
my ($token, $line) = split /\n/, $out;
like($token, qr/^rb_[A-Za-z0-9_-]{43}$/, 'the token: rb_ and 43 base64url characters (256 bits)');
like($line, qr/^token sha256:[0-9a-f]{64} tenant=demo source=in-product rights=write$/,
     'the configuration line');
my $hash = `$B/rosterbridge -H $token`;
chomp $hash;
is((split ' ', $line)[1], $hash, 'the line carries the hash rosterbridge -H computes');
($rc, $out) = run([qw(token create --tenant demo --source in-product --rights write)]);
isnt((split /\n/, $out)[0], $token, 'a second token differs');
($rc, undef, $err) = run([qw(token create --tenant Demo --source x --rights write)]);
is($rc, 2, 'an invalid tenant name is a usage error');
like($err, qr/tenant 'Demo'/, '... naming it');
($rc, undef, $err) = run([qw(token create --tenant demo --source x --rights admin)]);
is($rc, 2, 'rights other than read/write refused');

my $tokfile = "$tmp/token";
($rc, $out, $err) = run([qw(token create --tenant demo --source in-product --rights write
                            --token-file), $tokfile]);
is($rc, 0, 'token create --token-file') or diag $err;
is((stat $tokfile)[2] & 0777, 0600, 'the token file is mode 0600');
my $inproduct_line = $out;
($rc, undef, $err) = run([qw(token create --tenant demo --source x --rights read --token-file),
                          $tokfile]);
isnt($rc, 0, 'token create never overwrites an existing token file');
($rc, $out) = run([qw(token create --tenant demo --source clever --rights read --token-file),
                   "$tmp/readonly"]);
my $readonly_line = $out;

# --- the daemon with those tokens -------------------------------------------
my $dir = RBTest::start_directory();
my $bridge = RBBridge->start($dir, extra_conf => $inproduct_line . $readonly_line);
my %ENVS = (ROSTERCTL_URL => $bridge->{base}, ROSTERCTL_TOKEN_FILE => $tokfile);
sub ctl { my ($args, %o) = @_; return run($args, %o, env => { %ENVS, %{ $o{env} // {} } }); }

# --- help and configuration errors --------------------------------------------
for my $verb ([qw(admins)], [qw(schools)], [qw(groups)], [qw(import)], [qw(export)],
              [qw(report)], [qw(token)], [qw(tenant)], [qw(admins list)], [qw(import admins)]) {
    ($rc, $out) = run([@$verb, '--help']);
    is($rc, 0, "@$verb --help exits 0");
    like($out, qr/^usage: rosterctl/m, "@$verb --help prints a usage");
}
($rc, undef, $err) = run([qw(admins list)], env => { ROSTERCTL_URL => $bridge->{base} });
is($rc, 3, 'no token: exit 3');
like($err, qr/ROSTERCTL_TOKEN_FILE/, '... saying where a token goes');
chmod 0644, $tokfile;
($rc, undef, $err) = ctl([qw(admins list)]);
is($rc, 3, 'a token file readable by others: exit 3');
like($err, qr/chmod 600 \Q$tokfile\E/, '... with the chmod to run');
chmod 0600, $tokfile;
my $dead = 'http://127.0.0.1:' . RBTest::free_port();
($rc, undef, $err) = ctl([qw(admins list)], env => { ROSTERCTL_URL => $dead });
is($rc, 4, 'daemon not answering: exit 4');
like($err, qr/the daemon at \Q$dead\E did not answer.*systemctl status rosterbridge/,
     '... and what to check');
open my $bad, '>', "$tmp/bad" or die;
print $bad "rb_not-a-token\n";
close $bad;
chmod 0600, "$tmp/bad";
($rc, undef, $err) = ctl([qw(admins list)], env => { ROSTERCTL_TOKEN_FILE => "$tmp/bad" });
is($rc, 5, 'a token the daemon does not know: exit 5');
like($err, qr/401.*token create/, '... pointing at token create');
mkdir "$tmp/xdg";
mkdir "$tmp/xdg/rosterctl";
open my $cf, '>', "$tmp/xdg/rosterctl/config" or die;
print $cf "# rosterctl configuration\nurl $bridge->{base}\ntoken_file $tokfile\n";
close $cf;
($rc, $out, $err) = run([qw(schools list)]);
is($rc, 0, 'URL and token file from ~/.config/rosterctl/config') or diag $err;
like($out, qr/^Lincoln Elementary,SIS-LIN-001,/m, 'schools list as CSV when piped');
($rc, undef, $err) = run([qw(schools list)], env => { ROSTERCTL_URL => $dead });
is($rc, 4, 'the environment wins over the config file');
unlink "$tmp/xdg/rosterctl/config";

# --- schools ------------------------------------------------------------------
($rc, $out, $err) = ctl([qw(schools add), 'Maple Grove Academy', qw(--external-id SIS-MAP-009)]);
is($rc, 0, 'schools add') or diag "$out$err";
($rc, $out) = ctl([qw(schools edit SIS-MAP-009 --name), 'Maple Grove STEM Academy']);
is($rc, 0, 'schools edit by SIS id');
($rc, $out) = ctl([qw(schools list --json)]);
my $schools = decode_json($out);
ok((grep { $_->{name} eq 'Maple Grove STEM Academy' && $_->{externalId} eq 'SIS-MAP-009' } @$schools),
   'schools list --json shows the edit');
($rc, $out) = ctl([qw(schools remove), 'Maple Grove STEM Academy']);
is($rc, 0, 'schools remove by name');
($rc, undef, $err) = ctl([qw(schools remove SIS-NOPE)]);
is($rc, 6, 'an unknown school: exit 6');

# --- admins ---------------------------------------------------------------------
($rc, $out, $err) = ctl([qw(admins add ada@demo.example --email ada@demo.example --given-name Ada
                            --family-name Lovelace --permission manage --schools),
                         'Lincoln Elementary;SIS-WAS-002', qw(--can-manage-admins yes)]);
is($rc, 0, 'admins add') or diag $err;
($rc, $out) = ctl([qw(admins show ada@demo.example --json)]);
my $ada = decode_json($out);
my $ext = $ada->{'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User'};
is($ext->{grants}[0]{source}, 'in-product', 'the grant is the in-product source\'s');
is_deeply([sort @{ $ext->{grants}[0]{schools} }],
          ['5eed0001-0000-4000-8000-000000000001', '5eed0001-0000-4000-8000-000000000002'],
          'school names and SIS ids resolved to the schools');
($rc, undef, $err) = ctl([qw(admins add ada@demo.example --email ada@demo.example --scope district)]);
is($rc, 7, 'adding an existing userName: exit 7 (conflict)');
($rc, $out, $err) = ctl([qw(admins edit ada@demo.example --permission view --active no)]);
is($rc, 0, 'admins edit') or diag $err;
($rc, $out) = ctl([qw(admins show), $ada->{id}, '--csv']);
like($out, qr/^ada\@demo\.example,Ada Lovelace,ada\@demo\.example,none,/m,
     'admins show by id: suspended, so no effective permission');

# a person an identity provider pushed; in-product attaches its own grant
my $r = $bridge->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User',
                'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User'],
    userName => 'grace@demo.example', name => { givenName => 'Grace', familyName => 'Hopper' },
    emails => [{ value => 'grace@demo.example', type => 'work' }],
    'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User' =>
        { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'okta creates grace');
($rc, undef, $err) = ctl([qw(admins edit grace@demo.example --permission manage --scope school
                            --schools SIS-LIN-001)]);
is($rc, 0, 'in-product attaches its grant to okta\'s person') or diag $err;
($rc, $out) = ctl([qw(report multi-source)]);
like($out, qr/^grace\@demo\.example,.*,"?(okta,in-product|in-product,okta)"?,/m,
     'report multi-source lists her with both sources');
($rc, $out, $err) = ctl([qw(admins remove grace@demo.example)]);
is($rc, 0, 'admins remove') or diag $err;
like($out, qr/still granted by: okta/, '... says okta still grants access');
$r = $bridge->req(GET => "/Users?filter=userName%20eq%20%22grace\@demo.example%22", token => 'demo-okta');
is($r->{json}{totalResults}, 1, 'okta\'s grant and person stay');
($rc, undef, $err) = ctl([qw(admins invite x@demo.example --scope district)]);
is($rc, 5, 'admins invite with a token whose line lacks invite=: refused (exit 5; 76-rosterctl-invite.t invites)');
like($err, qr/invite=yes/, '... saying what the configuration line needs');
($rc, undef, $err) = ctl([qw(admins list --filter), 'userName eq']);
is($rc, 2, 'a bad --filter is caught before anything is sent');
($rc, undef, $err) = ctl([qw(admins add zed@demo.example --email zed@demo.example)],
                         env => { ROSTERCTL_TOKEN_FILE => "$tmp/readonly" });
is($rc, 5, 'a read-only token writing: exit 5');
like($err, qr/rights=write/, '... naming the rights needed');

# duplicates: the same e-mail on two people
for my $u (qw(dup-a dup-b)) {
    ($rc, undef, $err) = ctl([qw(admins add), "$u\@demo.example", qw(--email shared@demo.example
                              --permission view --scope district)]);
    is($rc, 0, "admins add $u") or diag $err;
}
($rc, $out) = ctl([qw(report duplicates)]);
like($out, qr/^same e-mail,shared\@demo\.example,dup-a\@demo\.example; dup-b\@demo\.example,/m,
     'report duplicates: same e-mail on two people');
($rc, $out) = ctl([qw(report stale --days 0)]);
like($out, qr/^ada\@demo\.example,Ada Lovelace,record unchanged,/m,
     'report stale --days 0 lists everyone as unchanged since');
($rc, $out) = ctl([qw(report stale --days 3650)]);
unlike($out, qr/ada\@demo/, 'report stale --days 3650 lists nobody recent');

# --- import of 1,000 administrators -------------------------------------------
my $csv = "$tmp/admins.csv";
open my $f, '>', $csv or die;
print $f "userName,email,givenName,familyName,permission,scope,schools,canManageAdmins\r\n";
for my $i (1 .. 1000) {
    my $school = ('SIS-LIN-001', 'Washington Middle School', 'SIS-LIN-001;SIS-WAS-002')[$i % 3];
    printf $f "imp%04d\@demo.example,imp%04d\@demo.example,Given%d,\"Family, %d\",%s,school,%s,%s\r\n",
        $i, $i, $i, $i, ($i % 2 ? 'view' : 'manage'), $school, ($i % 10 ? 'no' : 'yes');
}
print $f "bad1\@demo.example,bad1\@demo.example,B,C,superuser,school,SIS-LIN-001,no\r\n";
print $f "bad2\@demo.example,bad2\@demo.example,B,C,view,school,NO-SUCH-SCHOOL,no\r\n";
close $f;

($rc, $out, $err) = ctl(['import', 'admins', $csv, '--dry-run']);
is($rc, 1, 'dry run with two bad rows: exit 1');
like($out, qr/1002 rows checked, 1000 would be imported, 2 rejected \(nothing was written\)/,
     'dry run summary');
like($err, qr/^\Q$csv\E:1002: bad1\@demo\.example: rejected: permission 'superuser'/m,
     'a bad value: file:line, userName and why');
like($err, qr/^\Q$csv\E:1003: bad2\@demo\.example: rejected: no school 'NO-SUCH-SCHOOL'/m,
     'an unknown school: file:line and why');
my ($people) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
                                  filter => '(uid=imp*)', attrs => ['uid']);
is(scalar @$people, 0, 'the dry run wrote nothing');

($rc, $out, $err) = ctl(['import', 'admins', $csv, '--report', "$tmp/report.csv"]);
is($rc, 1, 'import with two bad rows: exit 1');
like($out, qr/1002 rows, 1000 created, 0 updated, 2 rejected/, 'import summary');
unlike($err, qr/\r|rows\/s/, 'no progress bar when stderr is not a terminal');
ok(!-e "$csv.rosterctl-state", 'the state file is gone once the import completed');
open my $rep, '<', "$tmp/report.csv" or die;
my @rep = <$rep>;
close $rep;
is(scalar @rep, 1003, '--report: a header and one line per row');
is(scalar(grep { /,created,/ } @rep), 1000, '--report: 1000 created');

($rc, $out) = ctl([qw(admins list --csv)]);
my @imp = grep { /^imp\d{4}\@demo\.example,/ } split /\n/, $out;
is(scalar @imp, 1000, 'rosterctl admins list shows the 1000 imported administrators');
like($out, qr/^imp0010\@demo\.example,"Given10 Family, 10",imp0010\@demo\.example,manage,Washington Middle School,yes,in-product,/m,
     '... with name, permission, schools, can-manage-admins and source') or diag((grep { /imp0010/ } split /\n/, $out)[0]);
($people) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
                               filter => '(uid=imp*)', attrs => ['uid', 'mail', 'sn', 'rbPermission;x-src-in-product'],
                               as => 'reader:demo');
is(scalar @$people, 1000, 'the tenant\'s reader sees the 1000 administrators over LDAP');
my ($p10) = grep { ($_->{uid}[0] // '') eq 'imp0010@demo.example' } @$people;
is($p10->{sn}[0], 'Family, 10', 'a quoted CSV field with a comma arrives whole');
is($p10->{'rbPermission;x-src-in-product'}[0], 'manage', '... with the in-product grant');

# the same file again: nothing new, every row updated
($rc, $out, $err) = ctl(['import', 'admins', $csv]);
like($out, qr/1002 rows, 0 created, 1000 updated, 2 rejected/, 'a second import updates, creates nothing');
($people) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}", filter => '(uid=imp*)',
                               attrs => ['uid']);
is(scalar @$people, 1000, '... still 1000 people');

# resume from a state file (an earlier run stopped after row 500 = line 501)
open my $in, '<', $csv or die;
my $hdr = <$in>;
my $off = length $hdr;
$off += length(scalar <$in>) for 1 .. 500;
close $in;
open my $st, '>', "$csv.rosterctl-state" or die;
print $st "rosterctl-import 1 kind=admins offset=$off line=502 done=500 created=500 updated=0 rejected=0\n";
close $st;
($rc, $out, $err) = ctl(['import', 'admins', $csv]);
like($err, qr/continuing \Q$csv\E at line 502 \(500 rows done before/, 'a state file: the import continues there');
like($out, qr/1002 rows, 500 created, 500 updated, 2 rejected/, '... and sends only the rest');

# --- groups, export ---------------------------------------------------------------
$r = $bridge->req(POST => '/Groups', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName => 'Principals',
    members => [{ value => $ada->{id} }] });
is($r->{status}, 201, 'a group');
($rc, $out) = ctl([qw(groups list)]);
like($out, qr/^Principals,,[0-9a-f-]{36}$/m, "groups list (members not read)");
($rc, $out) = ctl([qw(groups show Principals)]);
like($out, qr/ada\@demo\.example|Ada/, 'groups show names the members');
($rc, $out) = ctl([qw(export --format json)]);
my $all = decode_json($out);
is(scalar(grep { $_->{userName} =~ /^imp/ } @$all), 1000, 'export json: the SCIM resources');
($rc, $out) = ctl([qw(export --format ldif)]);
my $ldif = RBTest::parse_ldif($out);
my ($l10) = grep { $_->{dn} eq 'uid=imp0010@demo.example,ou=people,dc=export' } @$ldif;
is($l10->{sn}[0], 'Family, 10', 'export ldif: an entry per administrator');
($rc, $out) = ctl([qw(export)]);
like($out, qr/^userName,name,email,permission,schools,canManageAdmins,sources,inviteStatus,active,id$/m,
     'export csv: the list columns');

# --- tenant create: the LDIF, applied with ldapadd as the directory's admin -------
($rc, $out, $err) = ctl([qw(tenant create lakeside --partnership --suffix), $dir->{suffix}]);
is($rc, 0, 'tenant create') or diag $err;
my ($pw) = $err =~ /password \(shown only now\): (\S+)/;
ok(defined $pw && length $pw >= 40, 'a reader password is printed once');
unlike($out, qr/\Q$pw\E/, 'the LDIF does not hold it');
unlike($out, qr/^userPassword: (?!\{CRYPT\}\*$)/m, '... nor a hash of it: slapd hashes passwords');
like($err, qr/ldappasswd -x -D .* -W -S cn=reader,o=lakeside,/, '... it says how to set it (RFC 3062)');
my ($arc, $aout) = RBTest::ldapadd($dir, $out, as => 'admin');
is($arc, 0, 'ldapadd of the printed LDIF as the directory admin') or diag $aout;
my ($wrc, $who) = RBTest::ldapwhoami($dir, dn => "cn=reader,o=lakeside,$dir->{suffix}", pw => $pw);
is($wrc, 49, 'the new reader cannot bind before its password is set') or diag $who;
my ($prc, $pout, $perr) = RBTest::_run(['ldappasswd', '-x', '-H', $dir->{uri}, '-D', $dir->{admin_dn}, '-w', $dir->{admin_pw},
                                        '-s', $pw, "cn=reader,o=lakeside,$dir->{suffix}"]);
is($prc, 0, 'ldappasswd sets the printed password (password modify, RFC 3062)') or diag "$pout$perr";
my ($pe) = RBTest::ldapsearch($dir, base => "cn=reader,o=lakeside,$dir->{suffix}", scope => 'base',
                              attrs => ['userPassword'], as => 'admin');
like($pe->[0]{userPassword}[0] // '', qr/^\{(ARGON2|SSHA)\}/, '... hashed by slapd (its olcPasswordHash)');
($wrc, $who) = RBTest::ldapwhoami($dir, dn => "cn=reader,o=lakeside,$dir->{suffix}", pw => $pw);
is($wrc, 0, 'the new reader binds with the printed password') or diag $who;
my ($t) = RBTest::ldapsearch($dir, base => "o=lakeside,$dir->{suffix}", scope => 'base',
                             attrs => ['rbTenantKind'], as => 'admin');
is($t->[0]{rbTenantKind}[0], 'partnership', 'the tenant is a partnership');
like($err, qr{directory-kit --tenant lakeside \Q$dir->{suffix}\E \| ldapmodify -Y EXTERNAL -H ldapi:///},
     'tenant create names the directory kit\'s step for the reader');
my ($rrc, $rout) = RBTest::ldapsearch($dir, base => "o=lakeside,$dir->{suffix}",
                                      dn => "cn=reader,o=lakeside,$dir->{suffix}", pw => $pw);
is(scalar @$rrc, 0, 'before the kit\'s rule, the new reader reads nothing of its tenant');
my ($kit_rc, $kit) = RBTest::_run([RBTest::srcdir() . '/scripts/directory-kit', '--tenant', 'lakeside',
                                   $dir->{suffix}]);
my ($mrc, $mout, $merr) = RBTest::_run(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $dir->{env}{LDAPI_URI}],
                                       stdin => $kit);
is($mrc, 0, 'the kit\'s tenant rule applied over ldapi') or diag "$mout$merr";
($rrc) = RBTest::ldapsearch($dir, base => "o=lakeside,$dir->{suffix}",
                            dn => "cn=reader,o=lakeside,$dir->{suffix}", pw => $pw);
is(scalar @$rrc, 6, '... then the reader reads its tenant (o=, four ou=, itself)');

done_testing();
