package RBOperatorSlapd;
# RBOperatorSlapd.pm — an operator's slapd that scripts/directory did not
# make, for the tests of the directory kit and the operator's tools (51, 84,
# 87): a Debian-like cn=config (back_mdb; core, cosine and inetorgperson;
# an objectClass index; userPassword for auth, everything else readable)
# on a suffix of the test's choosing, on a free loopback port and its own
# ldapi socket, which cn=config accepts from this user (-Y EXTERNAL), as
# an operator changes it. Each slapd is stopped when the test ends.
#
#   my $op = RBOperatorSlapd->start(suffix => 'dc=district,dc=test',
#       admin_pw => $pw, prefix => 'rbkit', indexes => ['cn,uid eq']);
#   $op->{tmp} $op->{port} $op->{uri} $op->{ldapi} $op->{sock}
#   my ($rc, $out, $err) = $op->ext('ldapmodify', $ldif);
use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep);
use RBTest qw(free_port);

my @pids;
END { for my $p (@pids) { kill 'TERM', $p; waitpid($p, 0); } }

# An {SSHA} hash of a password, made by slappasswd.
sub hash {
    my ($pw) = @_;
    my ($rc, $out) = RBTest::_run(['/usr/sbin/slappasswd', '-h', '{SSHA}', '-s', $pw]);
    chomp $out;
    return $out;
}

# The slapd's cn=config, as slapadd -n0 takes it.
sub _config {
    my ($tmp, $suffix, $admin_pw, $indexes) = @_;
    my ($uid, $gid) = ($<, (split ' ', $()[0]);
    my $idx = join '', map { "olcDbIndex: $_\n" } ('objectClass eq', @$indexes);
    my $rootpw = hash($admin_pw);
    return <<"EOF";
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
olcSuffix: $suffix
olcDbDirectory: $tmp/data
olcRootDN: cn=admin,$suffix
olcRootPW: $rootpw
${idx}olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
EOF
}

# Makes and starts one operator's slapd (two assertions: its cn=config is
# loaded, it answers; bails out if it does not). suffix, admin_pw:
# required; prefix: of its temporary directory; indexes: olcDbIndex values
# besides objectClass's.
sub start {
    my ($class, %a) = @_;
    my $tmp = tempdir(($a{prefix} // 'rbop') . '-XXXXXX', DIR => '/tmp', CLEANUP => 1);
    my $self = bless { tmp => $tmp, suffix => $a{suffix}, port => free_port(), sock => "$tmp/ldapi" }, $class;
    (my $enc = $self->{sock}) =~ s{/}{%2F}g;
    $self->{ldapi} = "ldapi://$enc";
    $self->{uri} = "ldap://127.0.0.1:$self->{port}";
    mkdir "$tmp/slapd.d" or die "mkdir: $!";
    mkdir "$tmp/data" or die "mkdir: $!";
    my ($rc, $out, $err) = RBTest::_run(['/usr/sbin/slapadd', '-n0', '-F', "$tmp/slapd.d"],
                                        stdin => _config($tmp, $a{suffix}, $a{admin_pw}, $a{indexes} // []));
    Test::More::is($rc, 0, "the operator's cn=config") or Test::More::diag("$out$err");
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        POSIX::setsid();
        open STDOUT, '>', "$tmp/slapd.log";
        open STDERR, '>&', \*STDOUT;
        exec '/usr/sbin/slapd', '-F', "$tmp/slapd.d", '-h', "$self->{uri}/ $self->{ldapi}", '-d', '0'
            or POSIX::_exit(127);
    }
    push @pids, $pid;
    $self->{pid} = $pid;
    my $up = 0;
    for (1 .. 200) {
        last if ($up = -S $self->{sock} && system("ldapsearch -x -H $self->{uri} -b '' -s base >/dev/null 2>&1") == 0);
        sleep 0.05;
    }
    Test::More::ok($up, "the operator's slapd answers") or Test::More::BAIL_OUT('no slapd');
    return $self;
}

# Runs an LDAP tool (ldapadd, ldapmodify, …) over the ldapi socket as
# cn=config's manager (-Y EXTERNAL) with the LDIF on its stdin; returns
# (exit code, stdout, stderr).
sub ext {
    my ($self, $tool, $ldif) = @_;
    return RBTest::_run([$tool, '-Q', '-Y', 'EXTERNAL', '-H', $self->{ldapi}], stdin => $ldif);
}

1;
