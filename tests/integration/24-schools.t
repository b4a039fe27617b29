#!/usr/bin/env perl
# 24-schools.t — /Schools over real HTTP against a private slapd, checked
# over LDAP: the seeded schools; create/read/filter/sort/page/PUT/PATCH/
# rename/delete; uniqueness of name and externalId; region validation
# (district vs partnership tenants); the cn=viewers child and both dynlist
# URLs (rewritten on a region change); a district-scope administrator
# covering a school created after it (dynlist); a deleted school leaving
# every grant's school list; rights and tenant isolation.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
my $SCHOOL = 'urn:rosterbridge:params:scim:schemas:core:2.0:School';
my $PATCH  = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub school { my (%a) = @_; return { schemas => [$SCHOOL], %a }; }
sub ldap_base {
    my ($dn, @attrs) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => $dn, scope => 'base',
        attrs => [@attrs ? @attrs : ('cn', 'entryUUID')]);
    return $entries->[0];
}
sub list {
    my ($token, $query) = @_;
    return $b->req(GET => "/Schools$query", token => $token);
}
sub names { return [map { $_->{name} } @{ $_[0]{json}{Resources} // [] }] }
sub url_for {
    my ($kind, $tenant, $uuid, $region) = @_;
    return "ldap:///ou=people,o=$tenant,$S??one?(|(rb${kind}School=$uuid)(rb${kind}All=TRUE)"
        . (defined $region ? "(rb${kind}Region=$region)" : '') . ')';
}

# ---- the seeded schools ----------------------------------------------------------
my $r = list('demo-okta', '');
is($r->{status}, 200, 'list schools');
is($r->{json}{totalResults}, 4, 'demo has four seeded schools');
is_deeply([sort @{ names($r) }],
    ['Jefferson Academy', 'Lincoln Elementary', 'Roosevelt High School', 'Washington Middle School'],
    '... by name');
my ($lin) = grep { $_->{name} eq 'Lincoln Elementary' } @{ $r->{json}{Resources} };
is($lin->{id}, '5eed0001-0000-4000-8000-000000000001', 'seed id is the entryUUID');
is($lin->{externalId}, 'SIS-LIN-001', 'seed externalId');
ok($lin->{active}, 'seed active');
is($lin->{meta}{resourceType}, 'School', 'meta.resourceType');

# ---- create ----------------------------------------------------------------------
$r = $b->req(POST => '/Schools', token => 'demo-okta',
    json => school(name => 'Test Primary', externalId => 'SIS-TST-100'));
is($r->{status}, 201, 'create school') or diag explain $r->{json};
my $id = $r->{json}{id};
like($id // '', qr/^[0-9a-f-]{36}$/, 'id is a UUID');
is($r->{json}{name}, 'Test Primary', 'name');
is($r->{json}{externalId}, 'SIS-TST-100', 'externalId');
is($r->{json}{active}, JSON::PP::true, 'active defaults to true');
ok(!exists $r->{json}{region}, 'no region');
like($r->{headers}{location} // '', qr{/Schools/\Q$id\E$}, 'Location');
ok($r->{headers}{etag}, 'ETag');

my $dn = "cn=Test Primary,ou=schools,o=demo,$S";
my $e = ldap_base($dn, qw(cn rbExternalId rbActive rbSource rbManagersURL entryUUID));
ok($e, 'LDAP: school entry');
is($e->{entryUUID}[0], $id, 'LDAP: entryUUID = id');
is_deeply($e->{rbExternalId}, ['SIS-TST-100'], 'LDAP: externalId untagged');
is($e->{rbSource}[0], 'okta', 'LDAP: rbSource is the creating source');
is($e->{rbActive}[0], 'TRUE', 'LDAP: rbActive');
is($e->{rbManagersURL}[0], url_for('Manage', 'demo', $id), 'LDAP: rbManagersURL, seed shape');
my $v = ldap_base("cn=viewers,$dn", qw(objectClass rbViewersURL));
ok($v, 'LDAP: cn=viewers child');
is($v->{objectClass}[0], 'rbSchoolViewers', 'LDAP: child class');
is($v->{rbViewersURL}[0], url_for('View', 'demo', $id), 'LDAP: rbViewersURL, seed shape');

$r = $b->req(GET => "/Schools/$id", token => 'demo-okta');
is($r->{status}, 200, 'read');
is($r->{json}{name}, 'Test Primary', '... name');

# ---- uniqueness -------------------------------------------------------------------
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => school(name => 'test primary'));
is($r->{status}, 409, 'duplicate name (any case): 409');
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');
$r = $b->req(POST => '/Schools', token => 'demo-okta',
    json => school(name => 'Another', externalId => 'SIS-LIN-001'));
is($r->{status}, 409, 'duplicate externalId: 409');
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');
ok(!ldap_base("cn=Another,ou=schools,o=demo,$S"), 'LDAP: nothing written');
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => school(externalId => 'X'));
is($r->{status}, 400, 'no name: 400');

# ---- filters, sorting, paging -------------------------------------------------------
$r = list('demo-okta', '?filter=' . enc('name eq "test primary"'));
is($r->{json}{totalResults}, 1, 'name eq (case-insensitive)');
is($r->{json}{Resources}[0]{id}, $id, '... the new school');
$r = list('demo-okta', '?filter=' . enc('externalId eq "SIS-ROO-003"'));
is_deeply(names($r), ['Roosevelt High School'], 'externalId eq');
$r = list('demo-okta', '?filter=' . enc('externalId eq "sis-roo-003"'));
is($r->{json}{totalResults}, 0, 'externalId is caseExact');
$r = list('demo-okta', '?filter=' . enc('name sw "W" or name co "Acad"'));
is_deeply([sort @{ names($r) }], ['Jefferson Academy', 'Washington Middle School'], 'sw/co/or');
$r = list('demo-okta', '?filter=' . enc("id eq \"$id\""));
is($r->{json}{totalResults}, 1, 'id eq');
$r = list('demo-okta', '?sortBy=name');
is_deeply(names($r), ['Jefferson Academy', 'Lincoln Elementary', 'Roosevelt High School',
    'Test Primary', 'Washington Middle School'], 'sortBy=name');
$r = list('demo-okta', '?sortBy=name&sortOrder=descending&startIndex=2&count=2');
is($r->{json}{totalResults}, 5, 'paged: total');
is_deeply(names($r), ['Test Primary', 'Roosevelt High School'], 'paged descending page 2');
$r = list('demo-okta', '?filter=' . enc('active eq true') . '&count=0');
is($r->{json}{totalResults}, 5, 'active eq true (evaluator)');

# ---- region validation ---------------------------------------------------------------
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => school(name => 'R1', region => 'north'));
is($r->{status}, 400, 'region in a district tenant: 400');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
$r = $b->req(POST => '/Schools', token => 'state-okta', json => school(name => 'R1', region => 'east'));
is($r->{status}, 400, 'unknown region: 400');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
$r = $b->req(POST => '/Schools', token => 'state-okta',
    json => school(name => 'North Star Academy', region => 'north', externalId => 'SEP-NSA-005'));
is($r->{status}, 201, 'partnership school in a region') or diag explain $r->{json};
my $sid = $r->{json}{id};
is($r->{json}{region}, 'north', '... region');
my $sdn = "cn=North Star Academy,ou=schools,o=statewide,$S";
is(ldap_base($sdn, 'rbManagersURL')->{rbManagersURL}[0], url_for('Manage', 'statewide', $sid, 'north'),
    'LDAP: rbManagersURL with the region term');
is(ldap_base("cn=viewers,$sdn", 'rbViewersURL')->{rbViewersURL}[0],
    url_for('View', 'statewide', $sid, 'north'), 'LDAP: rbViewersURL with the region term');
$r = list('state-okta', '?filter=' . enc('region eq "north"'));
is_deeply([sort @{ names($r) }], ['North Star Academy', 'North Valley High School', 'Pine Ridge Elementary'],
    'region eq');

# region change rewrites both URLs
$r = $b->req(PATCH => "/Schools/$sid", token => 'state-okta', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => 'region', value => 'south' }] });
is($r->{status}, 200, 'PATCH region') or diag explain $r->{json};
is($r->{json}{region}, 'south', '... south');
is(ldap_base($sdn, 'rbManagersURL')->{rbManagersURL}[0], url_for('Manage', 'statewide', $sid, 'south'),
    'LDAP: rbManagersURL rewritten');
is(ldap_base("cn=viewers,$sdn", 'rbViewersURL')->{rbViewersURL}[0],
    url_for('View', 'statewide', $sid, 'south'), 'LDAP: rbViewersURL rewritten');
$r = $b->req(PATCH => "/Schools/$sid", token => 'state-okta', json => {
    schemas => [$PATCH], Operations => [{ op => 'remove', path => 'region' }] });
is($r->{status}, 200, 'PATCH remove region');
ok(!exists $r->{json}{region}, '... no region');
is(ldap_base($sdn, 'rbManagersURL')->{rbManagersURL}[0], url_for('Manage', 'statewide', $sid),
    'LDAP: region term gone');
$r = $b->req(PATCH => "/Schools/$sid", token => 'state-okta', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => 'region', value => 'west' }] });
is($r->{status}, 400, 'PATCH to an unknown region: 400');

# ---- dynlist: a district-scope administrator covers a school created later ------------
my $P = "ou=people,o=demo,$S";
my ($rc, $out) = RBTest::ldapadd($dir, <<"LDIF");
dn: uid=dana\@demo.example.org,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: dana\@demo.example.org
cn: Dana District
sn: District
rbSource: okta
rbPermission;x-src-okta: manage
rbScope;x-src-okta: district
rbActive;x-src-okta: TRUE
rbManageAll: TRUE
rbViewAll: TRUE
LDIF
is($rc, 0, 'LDAP: district administrator added') or diag $out;
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => school(name => 'Brand New School'));
is($r->{status}, 201, 'a school created after the administrator');
my $bnid = $r->{json}{id};
my $bndn = "cn=Brand New School,ou=schools,o=demo,$S";
my $m = ldap_base($bndn, 'rbManager');
ok((grep { /^uid=dana\@demo\.example\.org,ou=people,o=demo,/i } @{ $m->{rbManager} // [] }),
    'dynlist: rbManager of the new school lists the district administrator')
    or diag explain $m;
$m = ldap_base("cn=viewers,$bndn", 'rbViewer');
ok((grep { /^uid=dana\@/i } @{ $m->{rbViewer} // [] }), 'dynlist: rbViewer too');
my ($found) = RBTest::ldapsearch($dir, base => $P, scope => 'one',
    filter => "(rbManagesSchool=$bndn)", attrs => ['uid']);
is_deeply([map { $_->{uid}[0] } @$found], ['dana@demo.example.org'],
    'dynlist: (rbManagesSchool=<new school>) finds the person');

# ---- PUT and rename ---------------------------------------------------------------------
$r = $b->req(GET => "/Schools/$id", token => 'demo-okta');
my $etag = $r->{headers}{etag};
$r = $b->req(PUT => "/Schools/$id", token => 'demo-okta', headers => { 'If-Match' => $etag },
    json => school(name => 'Test Primary Renamed', externalId => 'SIS-TST-101', active => JSON::PP::false));
is($r->{status}, 200, 'PUT with rename') or diag explain $r->{json};
is($r->{json}{id}, $id, '... same id');
is($r->{json}{name}, 'Test Primary Renamed', '... new name');
is($r->{json}{externalId}, 'SIS-TST-101', '... new externalId');
is($r->{json}{active}, JSON::PP::false, '... inactive');
isnt($r->{headers}{etag}, $etag, '... new ETag');
ok(!ldap_base($dn), 'LDAP: old DN gone');
$dn = "cn=Test Primary Renamed,ou=schools,o=demo,$S";
is(ldap_base($dn)->{entryUUID}[0], $id, 'LDAP: renamed entry');
is(ldap_base("cn=viewers,$dn", 'rbViewersURL')->{rbViewersURL}[0], url_for('View', 'demo', $id),
    'LDAP: cn=viewers moved with it');
$r = $b->req(PUT => "/Schools/$id", token => 'demo-okta', headers => { 'If-Match' => $etag },
    json => school(name => 'Test Primary Renamed'));
is($r->{status}, 412, 'stale If-Match: 412');
$r = $b->req(PUT => "/Schools/$id", token => 'demo-okta',
    json => school(name => 'Test Primary Renamed', externalId => 'SIS-WAS-002'));
is($r->{status}, 409, 'PUT to a taken externalId: 409');
$r = $b->req(PUT => "/Schools/$id", token => 'demo-okta', json => school(name => 'Lincoln Elementary'));
is($r->{status}, 409, 'rename to a taken name: 409');
$r = list('demo-okta', '?filter=' . enc('active eq false'));
is_deeply(names($r), ['Test Primary Renamed'], 'active eq false');
$r = $b->req(PATCH => "/Schools/$id", token => 'demo-okta', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', value => { name => 'Test Primary', active => JSON::PP::true } }] });
is($r->{status}, 200, 'PATCH rename back (path-less)') or diag explain $r->{json};
is($r->{json}{name}, 'Test Primary', '... name');
is($r->{json}{active}, JSON::PP::true, '... active');
$dn = "cn=Test Primary,ou=schools,o=demo,$S";
ok(ldap_base("cn=viewers,$dn"), 'LDAP: child moved back');

# ---- delete removes the school from grants -----------------------------------------
($rc, $out) = RBTest::ldapadd($dir, <<"LDIF");
dn: uid=sam\@demo.example.org,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: sam\@demo.example.org
cn: Sam School
sn: School
rbSource: okta
rbPermission;x-src-okta: manage
rbScope;x-src-okta: school
rbSchoolRef;x-src-okta: $id
rbSchoolRef;x-src-okta: 5eed0001-0000-4000-8000-000000000001
rbActive;x-src-okta: TRUE
rbManageSchool: $id
rbManageSchool: 5eed0001-0000-4000-8000-000000000001
rbViewSchool: $id
LDIF
is($rc, 0, 'LDAP: school-scope administrator added') or diag $out;
ok((grep { /^uid=sam\@/i } @{ ldap_base($dn, 'rbManager')->{rbManager} // [] }),
    'dynlist: the school lists its school-scope manager');
my $ADMIN = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User', $ADMIN], userName => 'pat@demo.example.org',
    $ADMIN => { permission => 'view', scope => 'school', schools => ['SIS-TST-101', 'SIS-LIN-001'] } });
is($r->{status}, 201, 'SCIM: administrator granted the school by its SIS id') or diag explain $r->{json};
my $pid = $r->{json}{id};
$r = $b->req(DELETE => "/Schools/$id", token => 'demo-readonly');
is($r->{status}, 403, 'read-only token cannot delete');
$r = $b->req(DELETE => "/Schools/$id", token => 'demo-okta');
is($r->{status}, 204, 'delete school');
ok(!ldap_base($dn), 'LDAP: school gone');
ok(!ldap_base("cn=viewers,$dn"), 'LDAP: child gone');
my $sam = ldap_base("uid=sam\@demo.example.org,$P", qw(rbSchoolRef rbManageSchool rbViewSchool rbScope));
is_deeply($sam->{'rbSchoolRef;x-src-okta'}, ['5eed0001-0000-4000-8000-000000000001'],
    'LDAP: the deleted school left the grant; the other school stays');
is_deeply($sam->{rbManageSchool}, ['5eed0001-0000-4000-8000-000000000001'], 'LDAP: summary updated');
# The summary is recomputed from the grants left (this hand-made entry had
# listed only the deleted school under rbViewSchool; manage implies view).
is_deeply($sam->{rbViewSchool}, ['5eed0001-0000-4000-8000-000000000001'], 'LDAP: view summary recomputed from the grant');
is($sam->{'rbScope;x-src-okta'}[0], 'school', 'LDAP: the grant itself stays');
$r = $b->req(GET => "/Schools/$id", token => 'demo-okta');
is($r->{status}, 404, 'GET after delete: 404');
$r = $b->req(GET => "/Users/$pid", token => 'demo-okta');
is_deeply($r->{json}{$ADMIN}{schools}, ['SIS-LIN-001'], 'SCIM: the grant lists only the remaining school')
    or diag explain $r->{json}{$ADMIN};
is($r->{json}{$ADMIN}{scope}, 'school', 'SCIM: the grant stays');

$r = $b->req(DELETE => "/Schools/$id", token => 'demo-okta');
is($r->{status}, 404, 'delete again: 404');

# ---- rights ------------------------------------------------------------------------
$r = $b->req(POST => '/Schools', token => 'demo-readonly', json => school(name => 'Nope'));
is($r->{status}, 403, 'read-only: POST 403');
$r = $b->req(PUT => "/Schools/$bnid", token => 'demo-readonly', json => school(name => 'Nope'));
is($r->{status}, 403, 'read-only: PUT 403');
$r = $b->req(PATCH => "/Schools/$bnid", token => 'demo-readonly', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => 'name', value => 'Nope' }] });
is($r->{status}, 403, 'read-only: PATCH 403');
$r = list('demo-readonly', '');
is($r->{status}, 200, 'read-only: list');
$r = $b->req(GET => '/Schools', token => undef);
is($r->{status}, 401, 'no token: 401');

# ---- tenants ---------------------------------------------------------------------------
$r = list('other-okta', '');
is_deeply([sort @{ names($r) }], ['Maple Elementary', 'Oak Ridge High School'], 'other sees only its schools');
$r = $b->req(GET => "/Schools/$bnid", token => 'other-okta');
is($r->{status}, 404, 'other: demo school 404');
$r = $b->req(GET => '/Schools/5eed0001-0000-4000-8000-000000000001', token => 'other-okta');
is($r->{status}, 404, 'other: seeded demo school 404');
$r = $b->req(PUT => "/Schools/$bnid", token => 'other-okta', json => school(name => 'Hijack'));
is($r->{status}, 404, 'other: PUT 404');
$r = $b->req(DELETE => "/Schools/$bnid", token => 'other-okta');
is($r->{status}, 404, 'other: DELETE 404');
ok(ldap_base($bndn), 'LDAP: demo school untouched');
$r = $b->req(POST => '/Schools', token => 'other-okta',
    json => school(name => 'Brand New School', externalId => 'SIS-LIN-001'));
is($r->{status}, 201, 'other: same name and externalId as demo schools is fine');

$b->stop;
is($b->{exit}, 0, 'bridge exits cleanly');
done_testing();
