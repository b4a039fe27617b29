#!/usr/bin/env perl
# 26-grants.t — district administrators (SPEC §1) over SCIM and LDAP:
# per-source grants and their validation, two sources on one person and
# one leaving, role groups pushed by Entra, district scope covering a
# school created afterwards, a partnership with two regions, a school
# deleted while grants reference it, read-only tokens, tenant isolation.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub person {
    my ($uid, $tenant) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => 'ou=people,o=' . ($tenant // 'demo') . ",$S",
        filter => "(uid=$uid)", attrs => [qw(uid rbSource rbManageAll rbViewAll rbManageSchool
        rbViewSchool rbManageRegion rbViewRegion rbManagesSchool rbViewsSchool memberOf entryUUID)]);
    return $e->[0];
}
sub managers_of {    # DNs (lower-cased) that slapd lists as managers of a school
    my ($school, $tenant) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => 'ou=schools,o=' . ($tenant // 'demo') . ",$S",
        filter => "(cn=$school)", attrs => ['rbManager']);
    return [map { lc } @{ $e->[0]{rbManager} // [] }];
}
sub viewers_of {
    my ($school, $tenant) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => "cn=viewers,cn=$school,ou=schools,o=" . ($tenant // 'demo') . ",$S",
        scope => 'base', filter => '(objectClass=*)', attrs => ['rbViewer']);
    return [map { lc } @{ $e->[0]{rbViewer} // [] }];
}
sub dn_of { lc "uid=$_[0],ou=people,o=" . ($_[1] // 'demo') . ",$S" }
sub school_id {
    my ($ext, $token) = @_;
    my $r = $b->req(GET => "/Schools?filter=externalId%20eq%20%22$ext%22", token => $token // 'demo-okta');
    return $r->{json}{Resources}[0]{id};
}
sub admin_user {
    my ($name, $grant) = @_;
    return { schemas => [$CORE, $ADM], userName => $name, $ADM => $grant };
}

my $lincoln = school_id('SIS-LIN-001');
ok($lincoln, 'seeded school Lincoln Elementary has an id');

# ---- validation ------------------------------------------------------------
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => admin_user('v1@x', { permission => 'manage', scope => 'school', schools => ['NO-SUCH-SCHOOL'] }));
is($r->{status}, 400, 'unknown school: 400');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => admin_user('v2@x', { permission => 'manage', scope => 'school' }));
is($r->{status}, 400, 'scope school without schools: 400');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => admin_user('v3@x', { permission => 'view', scope => 'region', region => 'north' }));
is($r->{status}, 400, 'region scope in a district tenant: 400');
$r = $b->req(POST => '/Users', token => 'state-okta', json => admin_user('v4@x', { permission => 'view', scope => 'region', region => 'west' }));
is($r->{status}, 400, 'unknown region: 400');

# ---- a school-scope grant by SIS id, read back as given -------------------------
$r = $b->req(POST => '/Users', token => 'demo-clever', json => admin_user('jane@lincoln.example',
    { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'], canManageAdmins => JSON::PP::true }));
is($r->{status}, 201, 'Clever: school-scope manager by SIS id') or diag explain $r->{json};
my $jane = $r->{json}{id};
is_deeply($r->{json}{$ADM}{schools}, ['SIS-LIN-001'], 'schools read back as given');
is($r->{json}{$ADM}{grants}[0]{source}, 'clever', 'grants: the source');
is_deeply($r->{json}{$ADM}{grants}[0]{schools}, [$lincoln], 'grants: resolved school id');
is_deeply(person('jane@lincoln.example')->{rbManageSchool}, [$lincoln], 'LDAP: rbManageSchool');
ok((grep { $_ eq dn_of('jane@lincoln.example') } @{ managers_of('Lincoln Elementary') }), 'LDAP: Lincoln lists Jane as a manager');
ok(!(grep { $_ eq dn_of('jane@lincoln.example') } @{ managers_of('Roosevelt High School') }), 'LDAP: Roosevelt does not');

# ---- a second source grants the same person; the first leaves ----------------------
$r = $b->req(POST => '/Users', token => 'demo-okta', json => admin_user('jane@lincoln.example', { permission => 'view', scope => 'district' }));
is($r->{status}, 409, 'Okta POST of the same person: 409 uniqueness');
$r = $b->req(PATCH => "/Users/$jane", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { "$ADM:permission" => 'view', "$ADM:scope" => 'district' } }] });
is($r->{status}, 200, 'Okta attaches its own grant with PATCH') or diag explain $r->{json};
is($r->{json}{$ADM}{permission}, 'view', 'Okta reads back its own permission');
is(scalar @{ $r->{json}{$ADM}{grants} }, 2, 'two grants, two sources');
my $p = person('jane@lincoln.example');
is_deeply([sort @{ $p->{rbSource} }], [qw(clever okta)], 'LDAP: held by clever and okta');
is_deeply($p->{rbViewAll}, ['TRUE'], 'LDAP: view everywhere (district)');
ok((grep { $_ eq dn_of('jane@lincoln.example') } @{ viewers_of('Roosevelt High School') }), 'LDAP: Roosevelt lists Jane as a viewer');
$r = $b->req(GET => "/Users/$jane", token => 'demo-clever');
is($r->{json}{$ADM}{permission}, 'manage', 'Clever still reads its own permission');
is($b->req(DELETE => "/Users/$jane", token => 'demo-clever')->{status}, 204, 'Clever leaves (DELETE)');
$p = person('jane@lincoln.example');
ok($p, 'the person stays: Okta holds it');
ok(!$p->{rbManageSchool}, 'LDAP: the Clever manage grant is gone');
is_deeply($p->{rbViewAll}, ['TRUE'], "LDAP: Okta's view grant stays");
ok(!(grep { $_ eq dn_of('jane@lincoln.example') } @{ managers_of('Lincoln Elementary') }), 'LDAP: no longer a manager of Lincoln');
$r = $b->req(GET => "/Users/$jane", token => 'demo-okta');
is(scalar @{ $r->{json}{$ADM}{grants} }, 1, 'one grant left');
is($r->{json}{$ADM}{grants}[0]{source}, 'okta', '... from okta');

# ---- suspension: active=false from a source suspends only its grants --------------------
$r = $b->req(PATCH => "/Users/$jane", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', path => 'active', value => JSON::PP::false }] });
ok(!$r->{json}{active}, 'Okta suspends');
ok(!person('jane@lincoln.example')->{rbViewAll}, 'LDAP: no access while suspended');
$r = $b->req(PATCH => "/Users/$jane", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', path => 'active', value => JSON::PP::true }] });
is_deeply(person('jane@lincoln.example')->{rbViewAll}, ['TRUE'], 'LDAP: access back when reactivated');

# ---- district scope covers a school created afterwards ------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-entra', json => admin_user('dana@district.example', { permission => 'manage', scope => 'district' }));
is($r->{status}, 201, 'Entra: district-scope manager');
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:School'], name => 'Brand New School', externalId => 'SIS-NEW-099' });
is($r->{status}, 201, 'a school is created afterwards') or diag explain $r->{json};
my $newschool = $r->{json}{id};
ok((grep { $_ eq dn_of('dana@district.example') } @{ managers_of('Brand New School') }), 'LDAP: the district manager manages it, with no write on the administrator');

# ---- a role group pushed by Entra -------------------------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => 'rolf@district.example' });
my $rolf = $r->{json}{id};
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group', $ADMG], displayName => 'Roosevelt Managers',
    $ADMG => { permission => 'manage', scope => 'school', schools => [school_id('SIS-ROO-003')] } });
is($r->{status}, 201, 'Entra: role group') or diag explain $r->{json};
my $role = $r->{json}{id};
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-entra', json => { schemas => [$PATCH], Operations => [
    { op => 'Add', path => 'members', value => [{ value => $rolf }] }] });
is($r->{status}, 204, 'member added');
ok((grep { $_ eq dn_of('rolf@district.example') } @{ managers_of('Roosevelt High School') }), 'LDAP: the member manages Roosevelt');
$r = $b->req(GET => "/Users/$rolf", token => 'demo-entra');
is($r->{json}{$ADM}{grants}[0]{origin}, $role, "grants: origin is the role group's id");
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-entra', json => { schemas => [$PATCH], Operations => [
    { op => 'Remove', path => 'members', value => [{ value => $rolf }] }] });
ok(!(grep { $_ eq dn_of('rolf@district.example') } @{ managers_of('Roosevelt High School') }), 'LDAP: withdrawn when the member leaves');

# ---- a partnership with two regions ------------------------------------------------------------
$r = $b->req(POST => '/Users', token => 'state-okta', json => admin_user('nora@state.example', { permission => 'manage', scope => 'region', region => 'north' }));
is($r->{status}, 201, 'partnership: region-scope manager') or diag explain $r->{json};
ok((grep { $_ eq dn_of('nora@state.example', 'statewide') } @{ managers_of('North Valley High School', 'statewide') }), 'LDAP: manages a north school');
ok(!(grep { $_ eq dn_of('nora@state.example', 'statewide') } @{ managers_of('Harbor High School', 'statewide') }), 'LDAP: not a south school');
$r = $b->req(POST => '/Users', token => 'state-okta', json => admin_user('pat@state.example', { permission => 'view', scope => 'partnership' }));
is($r->{status}, 201, 'partnership-scope viewer');
ok((grep { $_ eq dn_of('pat@state.example', 'statewide') } @{ viewers_of('Harbor High School', 'statewide') }), 'LDAP: views every school of the partnership');

# ---- a school deleted while grants reference it ----------------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-okta', json => admin_user('sam@district.example', { permission => 'view', scope => 'school', schools => [$newschool, $lincoln] }));
is($r->{status}, 201, 'a grant on two schools');
is($b->req(DELETE => "/Schools/$newschool", token => 'demo-okta')->{status}, 204, 'one school deleted');
$r = $b->req(GET => "/Users/" . $r->{json}{id}, token => 'demo-okta');
is_deeply($r->{json}{$ADM}{grants}[0]{schools}, [$lincoln], 'the grant keeps the other school');

# ---- read-only and other tenants ----------------------------------------------------------------------
is($b->req(PATCH => "/Users/$jane", token => 'demo-readonly', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', path => "$ADM:permission", value => 'manage' }] })->{status}, 403, 'read-only token: 403');
is($b->req(GET => "/Users/$jane", token => 'other-okta')->{status}, 404, 'other tenant: 404');
$r = $b->req(POST => '/Users', token => 'other-okta', json => admin_user('o@other.example', { permission => 'view', scope => 'school', schools => ['SIS-LIN-001'] }));
is($r->{status}, 400, "another tenant's school cannot be granted");
# ---- possible duplicates are recorded, never merged --------------------------------
$r = $b->req(POST => '/Users', token => 'demo-clever', json => { schemas => [$CORE], userName => 'mary.smith@clever.example',
    name => { givenName => 'Mary', familyName => 'Smith' }, emails => [{ value => 'mary@lincoln.example', type => 'work' }] });
is($r->{status}, 201, 'Clever: Mary');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'msmith@okta.example',
    name => { givenName => 'Mary', familyName => 'Smith' }, emails => [{ value => 'msmith@okta.example', type => 'work' }] });
is($r->{status}, 201, 'Okta: a Mary Smith with another e-mail');
$r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => 'mary.s@entra.example',
    emails => [{ value => 'mary@lincoln.example', type => 'home' }] });
is($r->{status}, 201, 'Entra: another userName with the same e-mail');
my ($dups) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(rbPossibleDuplicate=*)', attrs => ['uid', 'rbPossibleDuplicate']);
my %dup = map { $_->{uid}[0] => scalar @{ $_->{rbPossibleDuplicate} } } @$dups;
is_deeply([sort keys %dup], [sort 'mary.smith@clever.example', 'msmith@okta.example', 'mary.s@entra.example'],
          'LDAP: all three are listed as possible duplicates');
is($dup{'mary.smith@clever.example'}, 2, '... Mary points at both others');
is(scalar grep({ $_->{userName} =~ /mary|msmith/ } @{ $b->req(GET => '/Users?count=500', token => 'demo-okta')->{json}{Resources} }), 3,
   'nothing was merged: three people');
done_testing();
