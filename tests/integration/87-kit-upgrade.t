#!/usr/bin/env perl
# 87-kit-upgrade.t — the directory kit's numbered upgrade steps
# (conf/directory/upgrade/NNNN-*.ldif) and Argon2, on an operator's slapd
# changed ONLINE over its ldapi socket (as docs/install.md says): the kit as
# it was one step ago (directory-kit --upto) → `rosterbridge
# --check-directory --config-uri` names the last step, with the command
# that applies it, and nothing else; that command → the check passes. Here
# the kit as of step 0001, then 0002, Argon2: before it a password the bridge
# sets is stored {SSHA}, after it {ARGON2} (read as the rootdn); both bind.
# Then 0003, the default password policy: before it five wrong passwords lock
# nobody, after it they lock a person (slapd's pwdAccountLockedTime), never
# the service account (its pwdPolicySubentry, added with the policies).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep);
use RBTest qw(ldapsearch ldapadd ldapwhoami srcdir free_port);
use RBBridge;

my $src = srcdir();
my $S = 'dc=upgrade,dc=test';
my $tmp = tempdir('rbupg-XXXXXX', DIR => '/tmp', CLEANUP => 1);
my $port = free_port();
my $sock = "$tmp/ldapi";
(my $enc = $sock) =~ s{/}{%2F}g;
my $ldapi = "ldapi://$enc";
my $admin_pw = 'upg-admin-' . int(rand(1e9));
my $service_pw = 'upg-service-' . int(rand(1e9));
sub run_cmd { return RBTest::_run(@_); }
sub hash { my ($rc, $out) = run_cmd(['/usr/sbin/slappasswd', '-h', '{SSHA}', '-s', $_[0]]); chomp $out; return $out; }
sub ext { my ($ldif) = @_; return run_cmd(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi], stdin => $ldif); }
sub kit { my ($rc, $out, $err) = run_cmd(["$src/scripts/directory-kit", @_]); is($rc, 0, "directory-kit @_") or diag $err; return $out; }

# ---- an operator's slapd, not ours -----------------------------------------------------
mkdir "$tmp/slapd.d" or die;
mkdir "$tmp/data" or die;
my ($uid, $gid) = ($<, (split ' ', $()[0]);
my $cfg = <<"EOF";
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $tmp/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $S
olcDbDirectory: $tmp/data
olcRootDN: cn=admin,$S
olcRootPW: @{[ hash($admin_pw) ]}
olcDbIndex: objectClass eq
olcDbIndex: cn,uid eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
EOF
my ($rc, $out, $err) = run_cmd(['/usr/sbin/slapadd', '-n0', '-F', "$tmp/slapd.d"], stdin => $cfg);
is($rc, 0, "the operator's cn=config") or diag "$out$err";

my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    POSIX::setsid();
    open STDOUT, '>', "$tmp/slapd.log";
    open STDERR, '>&', \*STDOUT;
    exec '/usr/sbin/slapd', '-F', "$tmp/slapd.d", '-h', "ldap://127.0.0.1:$port/ $ldapi", '-d', '0' or POSIX::_exit(127);
}
END { if ($pid) { kill 'TERM', $pid; waitpid($pid, 0); } }
my $up = 0;
for (1 .. 200) { last if ($up = -S $sock && system("ldapsearch -x -H ldap://127.0.0.1:$port -b '' -s base >/dev/null 2>&1") == 0); sleep 0.05; }
ok($up, "the operator's slapd answers") or BAIL_OUT('no slapd');

# ---- the kit as it was before the last step ---------------------------------------------------
my @steps = split /\n/, kit('--list');
ok(@steps >= 2, "the kit has numbered steps: @steps");
is_deeply([@steps[1, 2]], ['0002-argon2', '0003-password-policy'], 'steps 0002-argon2 and 0003-password-policy');
my ($last, $before, $policy_step) = ('0002', '0001', '0003');
my $policy_name = $steps[2];
my @later = @steps[3 .. $#steps];    # steps after 0003 (applied at the end)
($rc, $out, $err) = run_cmd(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-f', "$src/schema/rosterbridge.ldif"]);
is($rc, 0, 'ldapadd schema/rosterbridge.ldif') or diag "$out$err";
($rc, $out, $err) = ext(kit('--upto', $before, $S));
is($rc, 0, "the kit up to step $before, applied with ldapmodify") or diag "$out$err";
for my $t (qw(demo other statewide)) {
    ($rc, $out, $err) = ext(kit('--tenant', $t, $S));
    is($rc, 0, "tenant $t: its reader's rule") or diag "$out$err";
}
my (undef, $hashcfg) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-b',
                                'olcDatabase={-1}frontend,cn=config', '-s', 'base', 'olcPasswordHash']);
like($hashcfg, qr/^olcPasswordHash: \{SSHA\}$/m, 'before step 0002: {SSHA}');

my $dir = { uri => "ldap://127.0.0.1:$port", suffix => $S, data_dir => $tmp,
            service_dn => "cn=rosterbridge,$S", service_pw => $service_pw,
            admin_dn => "cn=admin,$S", admin_pw => $admin_pw, readers => {} };
my $base = "dn: $S\nobjectClass: dcObject\nobjectClass: organization\ndc: upgrade\no: upgrade\n\n"
    . "dn: cn=rosterbridge,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: rosterbridge\nuserPassword: "
    . hash($service_pw) . "\n\n";
for my $t (qw(demo other statewide)) {
    my $kind = $t eq 'statewide' ? 'partnership' : 'district';
    $base .= "dn: o=$t,$S\nobjectClass: organization\nobjectClass: rbTenant\no: $t\nrbTenantKind: $kind\n\n";
    $base .= "dn: ou=$_,o=$t,$S\nobjectClass: organizationalUnit\nou: $_\n\n" for qw(people groups schools regions);
    $base .= "dn: cn=reader,o=$t,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: "
        . hash("upg-reader-$t") . "\n\n";
}
($rc, $out) = ldapadd($dir, $base, as => 'admin');
is($rc, 0, 'the suffix, the service account and three tenants') or diag $out;
($rc, $out) = RBTest::ldapmodify($dir, kit('--policies', $S, qw(demo other statewide)), as => 'admin');
is($rc, 0, "the kit's password policies and the accounts' pwdPolicySubentry, as the directory admin") or diag $out;

my $b = RBBridge->start($dir);
my $bin = RBBridge::build_dir() . '/rosterbridge';
sub check {
    my ($crc, $cout, $cerr) = run_cmd([$bin, '-f', $b->{conf}, '--check-directory', '--config-uri', $ldapi]);
    return ($crc, $cout . $cerr);
}
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
sub person {
    my ($name, $pw) = @_;
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
        userName => "$name\@upgrade.test", name => { givenName => $name, familyName => 'Upgrade' },
        password => $pw });
    is($r->{status}, 201, "POST /Users $name with a password") or diag explain $r->{json};
    return "uid=$name\@upgrade.test,ou=people,o=demo,$S";
}
sub stored { my ($e) = ldapsearch($dir, as => 'admin', base => $_[0], scope => 'base', attrs => ['userPassword']);
             return $e->[0]{userPassword}[0] // ''; }

# ---- the check names the missing step -------------------------------------------------------------
($rc, $out) = check();
is($rc, 1, "check without step $last: exit 1");
my $fix = "scripts/directory-kit --step $last \Q$S\E DATABASE_DN \\| ldapmodify -Y EXTERNAL -H ldapi:///";
like($out, qr/^MISSING\s+directory kit upgrade step \Q$steps[1]\E not applied\n\s+fix: $fix/m,
     "it names step $steps[1] and the command that applies it");
# (the later steps are missing too: 0003's default password policy is checked below)
my @missing = grep { !/upgrade step (?!\Q$steps[1]\E)/ && !/olcPPolicyDefault/ } $out =~ /^MISSING\s+(.*)$/mg;
is_deeply(\@missing, ["directory kit upgrade step $steps[1] not applied"], '... and nothing else')
    or diag $out;
like($out, qr/^note\s+password hashing: \{SSHA\}/m, '... and says passwords are hashed {SSHA}');
my $ada = person('ada', 'ada-secret-1');
like(stored($ada), qr/^\{SSHA\}/, 'a password set now is stored {SSHA}');

# ---- apply it ---------------------------------------------------------------------------------------------
my $step = kit('--step', $last, $S);
like($step, qr/olcModuleLoad: argon2/, 'step 0002 loads the argon2 module (Debian ships it)');
($rc, $out, $err) = ext($step);
is($rc, 0, "step $last applied with ldapmodify -Y EXTERNAL") or diag "$out$err";
($rc, $out) = check();
unlike($out, qr/^MISSING\s+directory kit upgrade step \Q$steps[1]\E/m, "step $steps[1] is no longer named") or diag $out;
like($out, qr/^ok\s+password hashing: \{ARGON2\}$/m, '... hashing with Argon2');

my $grace = person('grace', 'grace-secret-2');
like(stored($grace), qr/^\{ARGON2\}\$argon2/, 'a password set after it: {ARGON2}, read as the rootdn');
is((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... and the person binds with it');
isnt((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-x'))[0], 0, '... not with another');
like(stored($ada), qr/^\{SSHA\}/, 'the password stored before keeps its {SSHA} value');
is((ldapwhoami($dir, dn => $ada, pw => 'ada-secret-1'))[0], 0, '... and still binds');
my $id = $b->req(GET => '/Users?filter=userName%20eq%20%22ada%40upgrade.test%22', token => 'demo-okta')->{json}{Resources}[0]{id};
my $r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => 'password', value => 'ada-secret-3' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'ada\'s password set again') or diag explain $r->{json};
like(stored($ada), qr/^\{ARGON2\}/, '... and now stored {ARGON2}');
is((ldapwhoami($dir, dn => $ada, pw => 'ada-secret-3'))[0], 0, '... binding with the new one');

# ---- step 0003: the default password policy -------------------------------------------------------------
sub locked { my ($e) = ldapsearch($dir, as => 'admin', base => $_[0], scope => 'base', attrs => ['pwdAccountLockedTime']);
             return $e->[0]{pwdAccountLockedTime}; }
like($out, qr/^MISSING\s+directory kit upgrade step \Q$policy_name\E not applied/m, "the check names step $policy_name");
like($out, qr/^MISSING\s+ppolicy on .* has no default policy \(olcPPolicyDefault\)/m, '... and the missing default policy');
isnt((ldapwhoami($dir, dn => $grace, pw => "wrong-$_"))[0], 0, "grace: wrong password $_ (no policy yet)") for 1 .. 5;
ok(!locked($grace), '... nobody locked before the step');
is((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... grace binds');
($rc, $out, $err) = ext(kit('--step', $policy_step, $S));
is($rc, 0, "step $policy_step applied with ldapmodify -Y EXTERNAL") or diag "$out$err";
for my $later (@later) {
    my ($n) = $later =~ /^(\d{4})-/;
    ($rc, $out, $err) = ext(kit('--step', $n, $S));
    is($rc, 0, "(later step $later applied)") or diag "$out$err";
}
($rc, $out) = check();
is($rc, 0, 'now the check passes') or diag $out;
like($out, qr/^ok\s+directory kit upgrade steps: all \d+ applied \(up to \Q$steps[-1]\E\)$/m, '... every step applied');
like($out, qr/^ok\s+default password policy \(olcPPolicyDefault\): cn=administrators,ou=policies,/m, '... the default policy locks out');
isnt((ldapwhoami($dir, dn => $grace, pw => "wrong-$_"))[0], 0, "grace: wrong password $_") for 1 .. 5;
ok(locked($grace), '... now slapd locks her (pwdAccountLockedTime)');
isnt((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... and refuses her right password');
isnt((ldapwhoami($dir, dn => $dir->{service_dn}, pw => "wrong-$_"))[0], 0, "service account: wrong password $_") for 1 .. 6;
ok(!locked($dir->{service_dn}), '... the service account is never locked (its no-lockout policy)');
is((ldapwhoami($dir, as => 'service'))[0], 0, '... and still binds');

done_testing();
