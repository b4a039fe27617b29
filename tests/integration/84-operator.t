#!/usr/bin/env perl
# 84-operator.t — docs/install.md followed step by step, as far as a
# machine without a running systemd allows: an operator's own slapd (not
# made by scripts/directory) on their suffix; `make install` into a
# DESTDIR; the INSTALLED directory kit applied over ldapi; the INSTALLED
# configuration edited as section 3 says; a tenant made with the installed
# `rosterctl tenant create` (ldapadd as the directory admin, the kit's
# reader rule); a token with `rosterctl token create`; the installed
# daemon started (as the unit would, minus systemd: it reports READY=1
# on NOTIFY_SOCKET); schools and 1,000 administrators imported from CSV
# with the ~/.config/rosterctl/config of section 7; and the result seen
# in `rosterctl admins list` and over LDAP as the tenant's reader.
use strict;
use MIME::Base64 ();
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_DGRAM);
use RBTest qw(srcdir free_port);
use RBOperatorSlapd;

my $src = srcdir();
my $build = $ENV{RB_BUILD} // 'build';
my @san = $build =~ m{/san$} ? ('SANITIZE=1') : ();
my $S = 'dc=district,dc=example';
my $tmp = tempdir('rbop-XXXXXX', DIR => '/tmp', CLEANUP => 1);
my $dest = "$tmp/root";
my $home = "$tmp/home";
mkdir $home or die;
my $admin_pw = 'op-admin-' . int(rand(1e9));
my $service_pw = 'op-service-' . int(rand(1e9));
sub run { return RBTest::_run(@_); }
sub hash { return RBOperatorSlapd::hash(@_); }
my $op;    # the operator's slapd (§1)
sub ext { return $op->ext(@_); }
sub slurp { open my $f, '<', $_[0] or return ''; local $/; return <$f> // ''; }

# --- §1 the operator's slapd (Debian-like: back_mdb, their suffix, their ACLs) -------------
$op = RBOperatorSlapd->start(suffix => $S, admin_pw => $admin_pw, prefix => 'rbop-slapd');
my ($port, $ldapi) = @$op{qw(port ldapi)};
my $daemon;
END {
    kill 'TERM', $daemon if $daemon;
    waitpid($daemon, 0) if $daemon;
}
my ($rc, $out, $err);
($rc, $out, $err) = run(['ldapadd', '-x', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw],
                        stdin => "dn: $S\nobjectClass: dcObject\nobjectClass: organization\ndc: district\no: district\n\n"
                          . "dn: cn=rosterbridge,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
                          . "cn: rosterbridge\nuserPassword: " . hash($service_pw) . "\n");
is($rc, 0, 'the suffix and the service account') or diag "$out$err";

# --- §2 make install ------------------------------------------------------------------------
($rc, $out, $err) = run(['make', '-s', '-C', $src, "BUILD=$build", @san, 'install', "DESTDIR=$dest"],
                        env => { MAKEFLAGS => '', MFLAGS => '', MAKELEVEL => '' });
is($rc, 0, 'make install') or diag "$out$err";
my $share = "$dest/usr/local/share/rosterbridge";
my $ctl = "$dest/usr/local/bin/rosterctl";
my $etc = "$dest/etc/rosterbridge";

# --- §1 (the kit, from the installed tree) ----------------------------------------------------
($rc, $out, $err) = run(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-f', "$share/schema/rosterbridge.ldif"]);
is($rc, 0, 'the schema, over ldapi') or diag "$out$err";
my ($krc, $kit) = run(["$share/scripts/directory-kit", $S]);
($rc, $out, $err) = ext('ldapmodify', $kit);
is($rc, 0, 'the installed directory kit, over ldapi') or diag "$out$err";
my ($prc, $pol) = run(["$share/scripts/directory-kit", '--policies', $S]);
($rc, $out, $err) = run(['ldapmodify', '-x', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw],
                        stdin => $pol);
is($rc, 0, "the kit's password policies and the service account's, as the directory admin") or diag "$out$err";

# --- §3 configure -------------------------------------------------------------------------------
open my $pw, '>', "$etc/ldap.secret" or die;
print $pw "$service_pw\n";
close $pw;
chmod 0640, "$etc/ldap.secret";
my $hport = free_port();
my $conf = slurp("$etc/rosterbridge.conf");
$conf =~ s/^listen .*/listen 127.0.0.1:$hport/m;
$conf =~ s/^ldap_uri .*/ldap_uri ldap:\/\/127.0.0.1:$port/m;
$conf =~ s/^ldap_suffix .*/ldap_suffix $S/m;
$conf =~ s/^ldap_bind_dn .*/ldap_bind_dn cn=rosterbridge,$S/m;
$conf =~ s/^ldap_bind_password_file \S+/ldap_bind_password_file $etc\/ldap.secret/m;
$conf =~ s/^tenant .*\n//mg;
open my $cf, '>', "$etc/rosterbridge.conf" or die;
print $cf $conf;
close $cf;
my $daemon_bin = "$dest/usr/local/sbin/rosterbridge";

# --- §5 a tenant --------------------------------------------------------------------------------
($rc, my $ldif, $err) = run([$ctl, qw(tenant create lincoln --display-name), 'Lincoln Unified', '--suffix', $S,
                             '--password-file', "$tmp/reader.pw"], env => { HOME => $home });
is($rc, 0, 'rosterctl tenant create --password-file') or diag $err;
my $reader_pw = slurp("$tmp/reader.pw");
chomp $reader_pw;
ok(length($reader_pw) >= 20, '... the reader\'s password in the file');
unlike($ldif, qr/^userPassword: \{(?!CRYPT\}\*$)/m, '... and no hash of it in the LDIF (slapd hashes passwords)');
like($err, qr/ldappasswd -x -D .* -W -T \Q$tmp\E\/reader\.pw cn=reader,o=lincoln,\Q$S\E/, '... it says how to set it (RFC 3062)') or diag $err;
($rc, $out, $err) = run(['ldapadd', '-x', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw],
                        stdin => $ldif);
is($rc, 0, '... applied with ldapadd as the directory admin') or diag "$out$err";
my @reader_bind = ('ldapwhoami', '-x', '-H', "ldap://127.0.0.1:$port", '-D', "cn=reader,o=lincoln,$S", '-w', $reader_pw);
($rc) = run([@reader_bind]);
is($rc, 49, '... its reader cannot bind before its password is set');
($rc, $out, $err) = run(['ldappasswd', '-x', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw,
                         '-T', "$tmp/reader.pw", "cn=reader,o=lincoln,$S"]);
is($rc, 0, '... ldappasswd -T sets it (password modify, RFC 3062)') or diag "$out$err";
($rc, $out) = run(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-b', 'olcDatabase={-1}frontend,cn=config',
                   '-s', 'base', 'olcPasswordHash']);
my ($scheme) = $out =~ /^olcPasswordHash: (\{\w+\})/m;
$scheme //= '{SSHA}';
($rc, $out) = run(['ldapsearch', '-x', '-LLL', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw,
                   '-b', "cn=reader,o=lincoln,$S", '-s', 'base', 'userPassword']);
my ($colons, $stored) = $out =~ /^userPassword(::?) (\S+)/m;
$stored = MIME::Base64::decode_base64($stored) if ($colons // '') eq '::';
like($stored // '', qr/^\Q$scheme\E/, "... hashed by slapd with its olcPasswordHash $scheme");
($rc) = run([@reader_bind]);
is($rc, 0, '... and the reader binds with it');
($rc, $out) = run(['ldapsearch', '-x', '-LLL', '-H', "ldap://127.0.0.1:$port", '-D', "cn=admin,$S", '-w', $admin_pw,
                   '-b', "cn=reader,o=lincoln,$S", '-s', 'base', 'pwdPolicySubentry']);
like($out, qr/^pwdPolicySubentry: cn=service-accounts,ou=policies,\Q$S\E$/m, "... its reader has the kit's no-lockout policy");
my ($trc, $trule) = run(["$share/scripts/directory-kit", '--tenant', 'lincoln', $S]);
($rc, $out, $err) = ext('ldapmodify', $trule);
is($rc, 0, "... and the kit's rule for its reader") or diag "$out$err";
open $cf, '>>', "$etc/rosterbridge.conf" or die;
print $cf "tenant lincoln\n";
close $cf;

# --- §6 a token for rosterctl ------------------------------------------------------------------
mkdir "$home/.config";
mkdir "$home/.config/rosterctl", 0700;
($rc, $out, $err) = run([$ctl, qw(token create --tenant lincoln --source in-product --rights write --token-file),
                         "$home/.config/rosterctl/token"], env => { HOME => $home });
is($rc, 0, 'rosterctl token create --token-file') or diag $err;
open $cf, '>>', "$etc/rosterbridge.conf" or die;
print $cf $out;
close $cf;
($rc, $out, $err) = run([$daemon_bin, '-n', '-f', "$etc/rosterbridge.conf"]);
is($rc, 0, 'rosterbridge -n: the configuration is good') or diag "$out$err";

# --- §4 start it (as the unit does: Type=notify) ------------------------------------------------
my $nsock = "$tmp/notify";
my $notify = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $nsock) or die $!;
$daemon = fork() // die;
if ($daemon == 0) {
    open STDOUT, '>', "$tmp/daemon.log";
    open STDERR, '>&', \*STDOUT;
    $ENV{NOTIFY_SOCKET} = $nsock;
    exec $daemon_bin, '-f', "$etc/rosterbridge.conf" or POSIX::_exit(127);
}
my $ready = 0;
my $sel = IO::Select->new($notify);
for (1 .. 300) {
    if ($sel->can_read(0.1)) { $notify->recv(my $m, 4096); $ready = 1 if $m =~ /^READY=1/m; }
    last if $ready;
}
ok($ready, 'the installed daemon reports READY=1') or diag slurp("$tmp/daemon.log");

# --- §7 rosterctl's configuration; §8 the import ------------------------------------------------
open my $rc_conf, '>', "$home/.config/rosterctl/config" or die;
print $rc_conf "url http://127.0.0.1:$hport\ntoken_file $home/.config/rosterctl/token\nsuffix $S\n";
close $rc_conf;
my %E = (HOME => $home, XDG_CONFIG_HOME => '');
open my $sf, '>', "$tmp/schools.csv" or die;
print $sf "name,externalId\nLincoln Elementary,SIS-LIN-001\nWashington Middle School,SIS-WAS-002\n";
close $sf;
($rc, $out, $err) = run([$ctl, qw(import schools), "$tmp/schools.csv"], env => \%E);
is($rc, 0, 'import schools') or diag "$out$err";
open my $af, '>', "$tmp/admins.csv" or die;
print $af "userName,email,givenName,familyName,permission,scope,schools,canManageAdmins\n";
printf $af "op%04d\@lincoln.example,,Given%d,Family%d,%s,school,%s,no\n", $_, $_, $_,
    ($_ % 2 ? 'view' : 'manage'), ($_ % 2 ? 'SIS-LIN-001' : 'Washington Middle School') for 1 .. 1000;
close $af;
($rc, $out, $err) = run([$ctl, qw(import admins), "$tmp/admins.csv", '--dry-run'], env => \%E);
is($rc, 0, 'import admins --dry-run: every row good') or diag "$out$err";
($rc, $out, $err) = run([$ctl, qw(import admins), "$tmp/admins.csv"], env => \%E);
is($rc, 0, 'import admins') or diag "$out$err";
like($out, qr/1000 rows, 1000 created, 0 updated, 0 rejected/, '... 1,000 created');

($rc, $out, $err) = run([$ctl, qw(admins list --csv)], env => \%E);
my @rows = grep { /^op\d{4}\@lincoln\.example,/ } split /\n/, $out;
is(scalar @rows, 1000, 'rosterctl admins list shows the 1,000 administrators');
like($out, qr/^op0002\@lincoln\.example,Given2 Family2,op0002\@lincoln\.example,manage,Washington Middle School,no,in-product,/m,
     '... with their grant');
($rc, $out, $err) = run(['ldapsearch', '-x', '-LLL', '-o', 'ldif-wrap=no', '-H', "ldap://127.0.0.1:$port",
                         '-D', "cn=reader,o=lincoln,$S", '-w', $reader_pw,
                         '-b', "ou=people,o=lincoln,$S", '(rbSource=in-product)', 'uid']);
is($rc, 0, 'ldapsearch as the tenant reader (its printed password)') or diag $err;
my @uids = $out =~ /^uid: op\d{4}\@lincoln\.example$/mg;
is(scalar @uids, 1000, '... sees the 1,000 administrators over LDAP');

kill 'TERM', $daemon;
waitpid($daemon, 0);
is($? >> 8, 0, 'the daemon stops cleanly');
$daemon = undef;

done_testing();
