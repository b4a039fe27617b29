#!/usr/bin/env perl
# 51-directory-kit.t — the directory kit (conf/directory/*.ldif through
# scripts/directory-kit, issue 14 part 1) applied ONLINE, as an operator
# would, to a slapd that was not made by scripts/directory: a Debian-like
# configuration (back_mdb, core/cosine/inetorgperson, objectClass index,
# read-for-all ACLs) on another suffix, changed over its ldapi socket with
# ldapadd/ldapmodify -Y EXTERNAL. Then the bridge runs on it: passwords
# hashed, member and memberOf (dynlist), membership gone with a deleted
# member, tenant isolation.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use RBTest qw(ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami srcdir);
use RBBridge;
use RBOperatorSlapd;

my $src = srcdir();
my $S = 'dc=district,dc=test';
my $admin_pw = 'kit-admin-' . int(rand(1e9));
my $service_pw = 'kit-service-' . int(rand(1e9));
sub run_cmd { return RBTest::_run(@_); }
sub hash { return RBOperatorSlapd::hash(@_); }

# ---- an operator's slapd, not ours -----------------------------------------------------
my $op = RBOperatorSlapd->start(suffix => $S, admin_pw => $admin_pw, prefix => 'rbkit', indexes => ['cn,uid eq', 'member eq']);
my ($tmp, $port, $ldapi) = @$op{qw(tmp port ldapi)};
my ($rc, $out, $err);

# ---- the kit, online, as the operator applies it ---------------------------------------------
sub ext { return $op->ext(@_); }
($rc, $out, $err) = run_cmd(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-f', "$src/schema/rosterbridge.ldif"]);
is($rc, 0, 'ldapadd schema/rosterbridge.ldif') or diag "$out$err";
my ($krc, $kit) = run_cmd(["$src/scripts/directory-kit", $S]);
is($krc, 0, 'scripts/directory-kit prints the kit');
unlike($kit, qr/\@[A-Z]+\@/, '... every placeholder filled');
($rc, $out, $err) = ext('ldapmodify', $kit);
is($rc, 0, '... and ldapmodify applies it') or diag "$out$err";
for my $t (qw(demo other statewide)) {
    my ($trc, $tl) = run_cmd(["$src/scripts/directory-kit", '--tenant', $t, $S]);
    ($rc, $out, $err) = ext('ldapmodify', $tl);
    is($rc, 0, "tenant $t: its reader's rule") or diag "$out$err";
}
my ($crc, $conf) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-o', 'ldif-wrap=no',
                            '-b', 'cn=config', '(|(objectClass=olcOverlayConfig)(olcDatabase={1}mdb))',
                            'olcOverlay', 'olcAccess', 'olcDbIndex', 'olcLimits']);
like($conf, qr/olcOverlay: \{0\}memberof.*olcOverlay: \{1\}ppolicy.*olcOverlay: \{2\}sssvlv.*olcOverlay: \{3\}dynlist/s,
     'the four overlays, in order');
my ($mrc, $mo) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-o', 'ldif-wrap=no',
                          '-b', 'cn=config', '(objectClass=olcMemberOf)', 'olcDisabled']);
like($mo, qr/^olcDisabled: TRUE$/m, 'memberof disabled by step 0004 (membership is on the members)');
unlike($conf, qr/olcDbIndex: member eq|to \* by \* read/, "the operator's member index and read-for-all rule are replaced");
unlike($conf, qr/regex/, 'no regular expression in rules and limits');
# step 0011: presence indexes for the administrators' list and the retained people's list, none on rbActive or cn (docs/schema.md)
like($conf, qr/^olcDbIndex: $_ eq,pres$/m, "$_ has an equality and a presence index (step 0011)")
    for qw(rbPermission rbViewSchool rbViewRegion rbDisabledAt);
unlike($conf, qr/^olcDbIndex: (rbActive|cn) eq$/m, 'no index on rbActive or cn (step 0011: nothing searches them)');

# ---- base data: the accounts and three tenants ---------------------------------------------------
my $dir = { uri => "ldap://127.0.0.1:$port", suffix => $S, data_dir => $tmp,
            service_dn => "cn=rosterbridge,$S", service_pw => $service_pw,
            admin_dn => "cn=admin,$S", admin_pw => $admin_pw, readers => {} };
my $base = "dn: $S\nobjectClass: dcObject\nobjectClass: organization\ndc: district\no: district\n\n"
    . "dn: cn=rosterbridge,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: rosterbridge\nuserPassword: "
    . hash($service_pw) . "\n\n";
for my $t (qw(demo other statewide)) {
    my $kind = $t eq 'statewide' ? 'partnership' : 'district';
    my $pw = "kit-reader-$t-" . int(rand(1e9));
    $dir->{readers}{$t} = { dn => "cn=reader,o=$t,$S", pw => $pw };
    $base .= "dn: o=$t,$S\nobjectClass: organization\nobjectClass: rbTenant\no: $t\nrbTenantKind: $kind\n\n";
    $base .= "dn: ou=$_,o=$t,$S\nobjectClass: organizationalUnit\nou: $_\n\n" for qw(people groups schools regions);
    $base .= "dn: cn=reader,o=$t,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: "
        . hash($pw) . "\n\n";
}
($rc, $out) = ldapadd($dir, $base, as => 'admin');
is($rc, 0, 'the suffix, the service account and three tenants, as the admin') or diag $out;

# ---- the bridge on it ---------------------------------------------------------------------------------
my $b = RBBridge->start($dir);
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'kim@district.test',
    name => { givenName => 'Kim', familyName => 'Lee' }, emails => [{ value => 'kim@district.test', type => 'work' }],
    password => 'kim-secret-1' });
is($r->{status}, 201, 'POST /Users') or diag explain $r->{json};
my $id = $r->{json}{id};
my $KIM = "uid=kim\@district.test,ou=people,o=demo,$S";
my ($e) = ldapsearch($dir, base => $KIM, scope => 'base', attrs => ['userPassword']);
like($e->[0]{userPassword}[0] // '', qr/^\{ARGON2\}/, "the password is stored hashed with Argon2 (ppolicy, olcPasswordHash of kit step 0002)");
is((ldapwhoami($dir, dn => $KIM, pw => 'kim-secret-1'))[0], 0, 'the person binds with it');
is($b->req(GET => "/Users/$id", token => 'demo-okta')->{status}, 200, 'GET /Users/{id}');
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName => 'Kit Group', members => [{ value => $id }] });
is($r->{status}, 201, 'POST /Groups with the person') or diag explain $r->{json};
my $gid_ = $r->{json}{id};
($e) = ldapsearch($dir, base => $KIM, scope => 'base', attrs => ['memberOf']);
is(lc($e->[0]{memberOf}[0] // ''), lc("cn=Kit Group,ou=groups,o=demo,$S"), 'memberOf is shown (dynlist)');
($e) = ldapsearch($dir, as => 'reader:demo', base => "cn=Kit Group,ou=groups,o=demo,$S", scope => 'base', attrs => ['member']);
is(lc($e->[0]{member}[0] // ''), lc $KIM, "the group's member, as the tenant's reader (dynlist)");
($e) = ldapsearch($dir, as => 'reader:demo', base => $KIM, scope => 'base', attrs => ['uid']);
is(scalar @$e, 1, 'the demo reader reads the person');
($e) = ldapsearch($dir, as => 'reader:other', base => $KIM, scope => 'base', attrs => ['uid']);
is(scalar @$e, 0, 'the other reader does not');
($e) = ldapsearch($dir, as => 'anonymous', base => $KIM, scope => 'base');
is(scalar @$e, 0, 'anonymous reads nothing');
is($b->req(GET => '/Users?filter=' . 'userName%20sw%20%22kim%22', token => 'demo-okta')->{json}{totalResults}, 1,
   'a sw filter answers without substring indexes');
is($b->req(DELETE => "/Users/$id", token => 'demo-okta')->{status}, 204, 'DELETE /Users/{id}');
$r = $b->req(GET => "/Groups/$gid_", token => 'demo-entra');
is($r->{status}, 200, 'the group is still there');
is(scalar @{ $r->{json}{members} // [] }, 0, 'the group lost the deleted member (its membership went with it)');

done_testing();
