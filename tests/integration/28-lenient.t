#!/usr/bin/env perl
# 28-lenient.t — input that real clients send (SPEC §2.2 "Liberal in what
# it accepts"), over real HTTP against a private slapd, checked over LDAP:
# endpoint names in any case (ids stay exact), an enterprise manager that
# names no person yet, unknown attributes ignored, logged once and counted
# (and refused by the strict switch), attribute names in any case, and a
# PATCH path that is a schema URN alone.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $USER  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $ENT   = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $BULK  = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);

sub person {
    my ($uid) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
        filter => "(uid=$uid)", attrs => ['*', 'entryUUID']);
    return $entries->[0];
}

sub patch_body { return { schemas => [$PATCH], Operations => [@_] } }

sub log_count {    # how many lines of the bridge's log match $re
    my ($re) = @_;
    return scalar grep { /$re/ } split /\n/, $b->log_text;
}

# ---- endpoint names in any case ---------------------------------------------
my $r = $b->req(POST => '/users', token => 'demo-okta',
    json => { schemas => [$USER], userName => 'lower@example.org' });
is($r->{status}, 201, 'POST /users (lower case): 201') or diag explain $r->{json};
my $lid = $r->{json}{id};
like($r->{headers}{location} // '', qr{/scim/v2/Users/\Q$lid\E$}, 'Location uses the canonical /Users');
ok(person('lower@example.org'), 'LDAP: created');
$r = $b->req(GET => "/USERS/$lid", token => 'demo-okta');
is($r->{status}, 200, 'GET /USERS/{id}: 200');
$r = $b->req(GET => '/scim/v2/users?filter=' . 'userName%20eq%20%22lower@example.org%22', token => 'demo-okta');
is($r->{json}{totalResults}, 1, 'GET /users?filter=…: found');
# The id after the endpoint is passed on as sent: an id is an entryUUID,
# whose hex digits the directory matches as UUIDs (RFC 4122), and the answer
# names the id as stored.
$r = $b->req(GET => '/users/' . uc($lid), token => 'demo-okta');
is($r->{json}{id}, $lid, 'the id is answered as stored');
$r = $b->req(GET => "/users/${lid}x", token => 'demo-okta');
is($r->{status}, 404, 'an id with anything more is 404');
$r = $b->req(GET => '/serviceproviderconfig', token => 'demo-okta');
is($r->{status}, 200, 'GET /serviceproviderconfig: 200');
$r = $b->req(GET => '/resourcetypes/user', token => 'demo-okta');
is($r->{status}, 200, 'GET /resourcetypes/user: 200');
$r = $b->req(GET => '/schemas', token => 'demo-okta');
is($r->{status}, 200, 'GET /schemas: 200');
$r = $b->req(POST => '/Groups', token => 'demo-okta', json => { schemas => [$GROUP], displayName => 'Case Group' });
my $gid = $r->{json}{id};
$r = $b->req(GET => "/groups/$gid", token => 'demo-okta');
is($r->{status}, 200, 'GET /groups/{id}: 200');
$r = $b->req(GET => '/SCHOOLS', token => 'demo-okta');
is($r->{status}, 200, 'GET /SCHOOLS: 200');
$r = $b->req(POST => '/users/.SEARCH', token => 'demo-readonly',
    json => { schemas => ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
              filter => 'userName eq "lower@example.org"' });
is($r->{status}, 200, 'POST /users/.SEARCH with a read-only token: a query, 200') or diag explain $r->{json};
is($r->{json}{totalResults}, 1, '... found');
$r = $b->req(POST => '/.Search', token => 'demo-readonly',
    json => { schemas => ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
              filter => 'userName eq "lower@example.org"' });
is($r->{status}, 200, 'POST /.Search at the root: 200');
$r = $b->req(POST => '/bulk', token => 'demo-okta', json => { schemas => [$BULK], Operations => [
    { method => 'post', path => '/users', bulkId => 'l1',
      data => { schemas => [$USER], userName => 'bulklower@example.org' } } ] });
is($r->{status}, 200, 'POST /bulk: 200');
is($r->{json}{Operations}[0]{status}, '201', 'bulk path /users: 201') or diag explain $r->{json};
ok(person('bulklower@example.org'), 'LDAP: created through /bulk');
$r = $b->req(DELETE => "/users/$lid", token => 'demo-readonly');
is($r->{status}, 403, 'a read-only token cannot write through /users either');

# ---- an enterprise manager that names no person (yet) -------------------------
my $ghost = 'aaaaaaaa-bbbb-1ccc-8ddd-eeeeeeeeeeee';
$r = $b->req(POST => '/Users', token => 'demo-entra', json => {
    schemas => [$USER, $ENT], userName => 'report@example.org',
    $ENT => { department => 'Math', manager => { value => $ghost } } });
is($r->{status}, 201, 'manager naming no person: the person is still provisioned') or diag explain $r->{json};
my $rid = $r->{json}{id};
ok(!exists $r->{json}{$ENT}{manager}, 'the response does not claim the manager');
is($r->{json}{$ENT}{department}, 'Math', '... the rest is stored');
my $e = person('report@example.org');
ok($e && !exists $e->{manager}, 'LDAP: no manager attribute');
is(log_count(qr/report\@example\.org.*manager \Q$ghost\E is no person of this tenant/), 1,
    'the log says why, once');
unlike($b->log_text, qr/demo-entra/, 'the log never holds the token');

$r = $b->req(POST => '/Users', token => 'demo-entra', json => {
    schemas => [$USER, $ENT], userName => 'report2@example.org', $ENT => { manager => { value => 'not-an-id' } } });
is($r->{status}, 201, 'manager value that is not an id: still provisioned');
ok(!exists $r->{json}{$ENT}, 'no manager claimed');

# The manager is provisioned later: a PATCH sets it, a PUT too.
$r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$USER], userName => 'boss@example.org' });
is($r->{status}, 201, 'the manager is provisioned');
my $boss = $r->{json}{id};
$r = $b->req(PATCH => "/Users/$rid", token => 'demo-entra', json => patch_body(
    { op => 'add', path => "$ENT:manager", value => { value => $boss } }));
is($r->{status}, 200, 'PATCH sets the manager') or diag explain $r->{json};
is($r->{json}{$ENT}{manager}{value}, $boss, '... the response names it');
like(person('report@example.org')->{manager}[0] // '', qr/^uid=boss\@example\.org,ou=people,/i, 'LDAP: manager DN');
$r = $b->req(PUT => "/Users/$rid", token => 'demo-entra', json => {
    schemas => [$USER, $ENT], userName => 'report@example.org', $ENT => { manager => { value => $ghost } } });
is($r->{status}, 200, 'PUT with an unknown manager: 200');
ok(!exists $r->{json}{$ENT}{manager}, '... the response claims no manager');
ok(!exists person('report@example.org')->{manager}, 'LDAP: the replaced manager is gone (PUT replaces)');
$r = $b->req(PUT => "/Users/$rid", token => 'demo-entra', json => {
    schemas => [$USER, $ENT], userName => 'report@example.org', $ENT => { manager => { value => $boss } } });
is($r->{status}, 200, 'PUT with the manager now provisioned');
is($r->{json}{$ENT}{manager}{value}, $boss, '... set');

# ---- unknown attributes: ignored, logged once, counted --------------------------
sub unknown_count {
    my ($bridge, $source) = @_;
    my $r = $bridge->req(GET => '/metrics');
    my ($n) = ($r->{content} // '') =~ /^rosterbridge_unknown_attributes_total\{tenant="demo",source="\Q$source\E"\} (\d+)$/m;
    return $n // 0;
}
is(unknown_count($b, 'clever'), 0, 'metrics: no unknown attribute from clever yet');
$r = $b->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$USER, $ENT, 'urn:example:custom:2.0:User'], userName => 'typo@example.org',
    adreses => [{ streetAddress => '1 Main St' }],
    name => { givenName => 'Ty', middle => 'P' },
    $ENT => { department => 'Art', costCentre => '12' },
    'urn:example:custom:2.0:User' => { shoeSize => 42 } });
is($r->{status}, 201, 'POST with unknown attributes: the person is provisioned') or diag explain $r->{json};
my $tid = $r->{json}{id};
ok(!exists $r->{json}{adreses}, '... the unknown attribute is not in the answer');
is($r->{json}{name}{givenName}, 'Ty', '... the known ones are');
is($r->{json}{$ENT}{department}, 'Art', '... in the extension too');
is_deeply($r->{json}{schemas}, [$USER, $ENT], '... schemas lists only what is ours');
$e = person('typo@example.org');
ok($e && $e->{departmentNumber}[0] eq 'Art', 'LDAP: stored');
is(unknown_count($b, 'clever'), 4, 'metrics: four unknown attributes counted for clever');
for my $name ('adreses', 'name.middle', "$ENT:costCentre", 'urn:example:custom:2.0:User') {
    is(log_count(qr/tenant demo source clever: ignored the unknown attribute '\Q$name\E'/), 1, "logged once: $name");
}

# The same again (PUT, PATCH path-less, PATCH with a path): counted, not logged again.
$r = $b->req(PUT => "/Users/$tid", token => 'demo-clever', json => {
    schemas => [$USER], userName => 'typo@example.org', adreses => 'x', displayName => 'Ty Put' });
is($r->{status}, 200, 'PUT with an unknown attribute: 200') or diag explain $r->{json};
is($r->{json}{displayName}, 'Ty Put', '... the rest is written');
$r = $b->req(PATCH => "/Users/$tid", token => 'demo-clever', json => patch_body(
    { op => 'add', value => { adreses => 'x', title => 'Teacher' } },
    { op => 'replace', path => 'adreses', value => 'y' }));
is($r->{status}, 200, 'PATCH with unknown attributes (path-less and path): 200') or diag explain $r->{json};
is($r->{json}{title}, 'Teacher', '... the known attribute is written');
is(person('typo@example.org')->{title}[0], 'Teacher', 'LDAP: title');
is(log_count(qr/ignored the unknown attribute 'adreses'/), 1, 'adreses still logged only once');
is(unknown_count($b, 'clever'), 6, 'metrics: each request counted (PATCH names one attribute once)');
# Another source: its own first log line and its own counter.
$r = $b->req(PATCH => "/Users/$tid", token => 'demo-okta', json => patch_body(
    { op => 'replace', value => { adreses => 'z' } }));
ok($r->{status} == 200, 'another source, same unknown attribute: 200');
is(log_count(qr/tenant demo source okta: ignored the unknown attribute 'adreses'/), 1, '... logged once for that source');
is(unknown_count($b, 'okta'), 1, '... counted for okta');
# /Bulk goes through the same validation.
$r = $b->req(POST => '/Bulk', token => 'demo-clever', json => { schemas => [$BULK], Operations => [
    { method => 'POST', path => '/Users', bulkId => 'k1',
      data => { schemas => [$USER], userName => 'bulktypo@example.org', adreses => 'x' } } ] });
is($r->{json}{Operations}[0]{status}, '201', '/Bulk POST with an unknown attribute: 201');
is(unknown_count($b, 'clever'), 7, '... counted');
# A log line cannot be forged through an attribute name.
$r = $b->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$USER], userName => 'forge@example.org', "x\nFAKE forged line" => 1 });
is($r->{status}, 201, 'an attribute name with a newline: ignored');
is(log_count(qr/^FAKE forged line/), 0, 'the log holds no forged line');

# ---- attribute names in any case, end to end ------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-entra', json => {
    SCHEMAS => [$USER, $ENT], USERNAME => 'Case@Example.org', Name => { GivenName => 'Cas', FamilyName => 'E' },
    Emails => [{ Value => 'case@example.org', Primary => 'True', Type => 'work' }],
    lc($ENT) => { Department => 'Physics', Manager => { Value => $boss } } });
is($r->{status}, 201, 'create with names in any case') or diag explain $r->{json};
my $cid = $r->{json}{id};
is($r->{json}{name}{givenName}, 'Cas', 'Name.GivenName → name.givenName');
is($r->{json}{emails}[0]{primary}, JSON::PP::true, 'Primary → primary');
is($r->{json}{$ENT}{department}, 'Physics', 'Department inside the extension');
is($r->{json}{$ENT}{manager}{value}, $boss, 'Manager.Value');
$e = person('Case@Example.org');
is($e->{departmentNumber}[0], 'Physics', 'LDAP: departmentNumber');
like($e->{manager}[0] // '', qr/^uid=boss\@example\.org,/i, 'LDAP: manager');
$r = $b->req(GET => '/Users?filter=' . 'URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:DEPARTMENT%20eq%20%22Physics%22', token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'filter on an upper-cased URN attribute');
$r = $b->req(GET => '/Users?filter=' . 'EMAILS%5BTYPE%20eq%20%22work%22%20and%20VALUE%20eq%20%22case@example.org%22%5D', token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'filter with a value path in upper case') or diag explain $r->{json};
$r = $b->req(GET => '/Users?filter=' . 'NAME.GIVENNAME%20eq%20%22Cas%22&attributes=NAME.GIVENNAME', token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'filter on NAME.GIVENNAME');
is_deeply($r->{json}{Resources}[0]{name}, { givenName => 'Cas' }, 'attributes=NAME.GIVENNAME projects');
$r = $b->req(GET => '/Users?filter=' . 'userName%20ew%20%22example.org%22&sortBy=USERNAME&sortOrder=descending&attributes=USERNAME', token => 'demo-entra');
is($r->{status}, 200, 'sortBy=USERNAME: 200') or diag explain $r->{json};
my @names = map { $_->{userName} } @{ $r->{json}{Resources} // [] };
my $canon = $b->req(GET => '/Users?filter=' . 'userName%20ew%20%22example.org%22&sortBy=userName&sortOrder=descending', token => 'demo-entra');
is_deeply(\@names, [map { $_->{userName} } @{ $canon->{json}{Resources} // [] }], '... the order sortBy=userName gives');
my $asc = $b->req(GET => '/Users?filter=' . 'userName%20ew%20%22example.org%22&sortBy=username', token => 'demo-entra');
is_deeply([reverse map { $_->{userName} } @{ $asc->{json}{Resources} // [] }], \@names, '... and ascending is its reverse');
ok(@names > 3, '... over several people');
$r = $b->req(PATCH => "/Users/$cid", token => 'demo-entra', json => { SCHEMAS => [$PATCH], OPERATIONS => [
    { OP => 'Replace', PATH => "$ENT:Manager", VALUE => { Value => $rid } },
    { Op => 'replace', Value => { lc($ENT) => { DEPARTMENT => 'Chemistry' }, 'Name.FamilyName' => 'Eff' } } ] });
is($r->{status}, 200, 'PATCH with names in any case') or diag explain $r->{json};
is($r->{json}{$ENT}{manager}{value}, $rid, 'Manager by path');
is($r->{json}{$ENT}{department}, 'Chemistry', 'DEPARTMENT path-less');
is($r->{json}{name}{familyName}, 'Eff', 'Name.FamilyName path-less');
$e = person('Case@Example.org');
is($e->{departmentNumber}[0], 'Chemistry', 'LDAP: departmentNumber');
is($e->{sn}[0], 'Eff', 'LDAP: sn');
like($e->{manager}[0] // '', qr/^uid=report\@example\.org,/i, 'LDAP: manager changed');

# ---- a PATCH path that is a schema URN alone ---------------------------------
$r = $b->req(PATCH => "/Users/$cid", token => 'demo-entra', json => patch_body(
    { op => 'replace', path => $ENT, value => { department => 'Biology', employeeNumber => 'E7' } }));
is($r->{status}, 200, 'replace with the enterprise URN as the path') or diag explain $r->{json};
is($r->{json}{$ENT}{department}, 'Biology', '... department replaced');
is($r->{json}{$ENT}{manager}{value}, $rid, '... the manager is left as it was');
is(person('Case@Example.org')->{employeeNumber}[0], 'E7', 'LDAP: employeeNumber');
$r = $b->req(PATCH => "/Users/$cid", token => 'demo-entra', json => patch_body(
    { op => 'add', path => $ADM, value => { permission => 'view', scope => 'district' } }));
is($r->{status}, 200, 'add with the admin URN as the path') or diag explain $r->{json};
is($r->{json}{$ADM}{permission}, 'view', '... the caller\'s grant');
is($r->{json}{$ADM}{scope}, 'district', '... district scope');
$e = person('Case@Example.org');
ok((grep { /^rbPermission;x-src-entra$/i } keys %$e), 'LDAP: entra\'s grant stored');
$r = $b->req(PATCH => "/Users/$cid", token => 'demo-entra', json => patch_body({ op => 'remove', path => $ADM }));
is($r->{status}, 200, 'remove with the admin URN as the path') or diag explain $r->{json};
ok(!defined $r->{json}{$ADM}{permission}, '... the caller\'s grant is gone');
$e = person('Case@Example.org');
ok(!(grep { /^rbPermission;x-src-entra$/i } keys %$e), 'LDAP: entra\'s grant removed');
$r = $b->req(PATCH => "/Users/$cid", token => 'demo-entra', json => patch_body({ op => 'remove', path => $ENT }));
is($r->{status}, 200, 'remove with the enterprise URN as the path');
ok(!exists $r->{json}{$ENT}, '... the extension is gone');
$e = person('Case@Example.org');
ok(!exists $e->{departmentNumber} && !exists $e->{manager} && !exists $e->{employeeNumber},
    'LDAP: departmentNumber, manager, employeeNumber removed');

# ---- group members in any case (Entra sends "Members", "Value") -----------------
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    Schemas => [$GROUP], DisplayName => 'Case Members', Members => [{ Value => $boss }] });
is($r->{status}, 201, 'group with Members/Value: 201') or diag explain $r->{json};
my $cg = $r->{json}{id};
$r = $b->req(GET => "/Groups/$cg", token => 'demo-entra');
is_deeply([map { $_->{value} } @{ $r->{json}{members} // [] }], [$boss], 'the member is stored');
$r = $b->req(PATCH => "/Groups/$cg", token => 'demo-entra', json => patch_body(
    { op => 'Add', path => 'MEMBERS', value => [{ VALUE => $rid }] }));
ok($r->{status} == 204 || $r->{status} == 200, 'PATCH add MEMBERS with VALUE') or diag explain $r->{json};
$r = $b->req(PATCH => "/Groups/$cg", token => 'demo-entra', json => patch_body(
    { op => 'Remove', path => "Members[Value eq \"$boss\"]" }));
ok($r->{status} == 204 || $r->{status} == 200, 'PATCH remove Members[Value eq …]') or diag explain $r->{json};
$r = $b->req(GET => "/Groups/$cg", token => 'demo-entra');
is_deeply([map { $_->{value} } @{ $r->{json}{members} // [] }], [$rid], 'members: the added one stays, the removed one is gone');
my ($ge) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$dir->{suffix}", filter => '(cn=Case Members)', attrs => ['member']);
is_deeply([map { lc } @{ $ge->[0]{member} // [] }], [lc person('report@example.org')->{dn}], 'LDAP: member');

# ---- strict_attributes yes: 400 invalidSyntax, as before ---------------------------
my $s = RBBridge->start($dir, extra_conf => "strict_attributes yes\n");
$r = $s->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$USER], userName => 'strict@example.org', adreses => 'x' });
is($r->{status}, 400, 'strict: unknown attribute in POST: 400');
is($r->{json}{scimType}, 'invalidSyntax', '... invalidSyntax');
like($r->{json}{detail}, qr/adreses/, '... naming it');
ok(!person('strict@example.org'), 'LDAP: nothing written');
$r = $s->req(PUT => "/Users/$tid", token => 'demo-clever', json => {
    schemas => [$USER], userName => 'typo@example.org', name => { middle => 'x' } });
is($r->{status}, 400, 'strict: unknown sub-attribute in PUT: 400');
$r = $s->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$USER], userName => 'strict@example.org', 'urn:example:custom:2.0:User' => { a => 1 } });
is($r->{status}, 400, 'strict: a URN key that is not an extension: 400');
$r = $s->req(PATCH => "/Users/$tid", token => 'demo-clever', json => patch_body(
    { op => 'add', value => { adreses => 'x' } }));
is($r->{status}, 400, 'strict: PATCH path-less unknown attribute: 400');
$r = $s->req(PATCH => "/Users/$tid", token => 'demo-clever', json => patch_body(
    { op => 'replace', path => 'adreses', value => 'x' }));
is($r->{json}{scimType}, 'invalidPath', 'strict: PATCH path naming an unknown attribute: 400 invalidPath');
is(unknown_count($s, 'clever'), 0, 'strict: nothing counted as ignored');
# Strict still takes names in any case and a URN path.
$r = $s->req(PATCH => "/Users/$tid", token => 'demo-clever', json => patch_body(
    { op => 'replace', path => lc($ENT), value => { Department => 'Strict' } }));
is($r->{status}, 200, 'strict: URN path and names in any case are still accepted') or diag explain $r->{json};

done_testing();
