#!/usr/bin/env perl
# 20-users.t — /Users over real HTTP against a private slapd, with the
# directory checked over LDAP: the Microsoft Entra ID and Okta provisioning
# sequences as those clients send them, uniqueness, sources, tenants.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
my $ADM = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';

sub person {    # the LDAP entry of a userName in tenant demo
    my ($uid, $tenant) = @_;
    $tenant //= 'demo';
    my ($entries) = RBTest::ldapsearch($dir, base => "ou=people,o=$tenant,$dir->{suffix}",
        filter => "(uid=$uid)", attrs => ['*', 'entryUUID', 'memberOf']);
    return $entries->[0];
}

# ---- Entra ID: create with core + enterprise + externalId --------------------
my $r = $b->req(POST => '/Users', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User', $ENT],
    externalId => '4711',
    userName => 'Test_User_ab12@lincoln.example.org',
    active => JSON::PP::true,
    displayName => 'Test User',
    emails => [{ primary => JSON::PP::true, type => 'work', value => 'Test_User_ab12@lincoln.example.org' }],
    meta => { resourceType => 'User' },
    name => { formatted => 'Test User', familyName => 'User', givenName => 'Test' },
    roles => [],
    $ENT => { employeeNumber => '4711', department => 'Schools' },
});
is($r->{status}, 201, 'Entra: create user') or diag explain $r;
my $u = $r->{json};
my $id = $u->{id};
like($id, qr/^[0-9a-f-]{36}$/, 'id is an entryUUID');
is($r->{headers}{location}, "$b->{base}/scim/v2/Users/$id", 'Location');
like($r->{headers}{etag}, qr{^W/"}, 'weak ETag');
is($u->{meta}{version}, $r->{headers}{etag}, 'meta.version = ETag');
is($u->{meta}{resourceType}, 'User', 'meta.resourceType');
like($u->{meta}{created}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'meta.created');
is($u->{externalId}, '4711', 'externalId');
is($u->{$ENT}{employeeNumber}, '4711', 'enterprise employeeNumber');
ok(!exists $u->{password}, 'no password in output');

my $e = person('Test_User_ab12@lincoln.example.org');
ok($e, 'LDAP: the person entry exists');
is($e->{entryUUID}[0], $id, 'LDAP: entryUUID is the SCIM id');
is($e->{sn}[0], 'User', 'LDAP: sn');
is($e->{givenName}[0], 'Test', 'LDAP: givenName');
is($e->{employeeNumber}[0], '4711', 'LDAP: employeeNumber');
is($e->{departmentNumber}[0], 'Schools', 'LDAP: departmentNumber');
my ($mailkey) = grep { /^mail;/i } keys %$e;
ok($mailkey && $mailkey =~ /x-type-work/i && $mailkey =~ /x-primary/i, "LDAP: typed mail ($mailkey)");
my ($extkey) = grep { /^rbExternalId;/i } keys %$e;
ok($extkey && $extkey =~ /x-src-entra/i, 'LDAP: externalId tagged with the source');
is_deeply($e->{rbSource}, ['entra'], 'LDAP: held by source entra');

# get, query by userName / externalId with and without quotes
$r = $b->req(GET => "/Users/$id", token => 'demo-entra');
is($r->{status}, 200, 'Entra: get');
is($r->{json}{userName}, 'Test_User_ab12@lincoln.example.org', 'userName');
for my $f ('userName eq "Test_User_ab12@lincoln.example.org"', 'externalId eq "4711"',
           'externalId eq 4711') {
    $r = $b->req(GET => '/Users?filter=' . enc($f), token => 'demo-entra');
    is($r->{status}, 200, "filter $f");
    is($r->{json}{totalResults}, 1, "... one result");
    is($r->{json}{Resources}[0]{id}, $id, '... the user');
}
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "nobody@x"'), token => 'demo-entra');
is($r->{json}{totalResults}, 0, 'no match: 0 results');
is_deeply($r->{json}{Resources}, [], '... empty Resources');

# PATCH multi- and single-valued, Entra style
$r = $b->req(PATCH => "/Users/$id", token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [
        { op => 'Replace', path => 'emails[type eq "work"].value', value => 'new@lincoln.example.org' },
        { op => 'Replace', path => 'displayName', value => 'Renamed User' },
        { op => 'Add', value => { 'name.givenName' => 'Tess', "$ENT:department" => 'Curriculum' } },
        { op => 'Add', path => 'phoneNumbers', value => [{ type => 'mobile', value => '+1 555 0101' }] },
    ] });
is($r->{status}, 200, 'Entra: PATCH') or diag explain $r->{json};
is($r->{json}{displayName}, 'Renamed User', 'displayName replaced');
is($r->{json}{name}{givenName}, 'Tess', 'dotted key');
is($r->{json}{$ENT}{department}, 'Curriculum', 'URN-prefixed key');
is($r->{json}{emails}[0]{value}, 'new@lincoln.example.org', 'email by value filter');
$e = person('Test_User_ab12@lincoln.example.org');
is($e->{displayName}[0], 'Renamed User', 'LDAP: displayName');
is($e->{departmentNumber}[0], 'Curriculum', 'LDAP: department');
my ($telkey) = grep { /^telephoneNumber/i } keys %$e;
ok($telkey && $telkey =~ /x-type-mobile/i, 'LDAP: typed phone');

# disable with a string boolean
$r = $b->req(PATCH => "/Users/$id", token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'Replace', path => 'active', value => 'False' }] });
is($r->{status}, 200, 'Entra: disable with "False"');
ok(!$r->{json}{active}, 'active false');
$r = $b->req(GET => '/Users?filter=' . enc('active eq false'), token => 'demo-entra');
ok((grep { $_->{id} eq $id } @{ $r->{json}{Resources} }), 'inactive user found by active eq false');

# rename userName: the entry moves, the id stays
$r = $b->req(PATCH => "/Users/$id", token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => 'userName', value => 'renamed@lincoln.example.org' }] });
is($r->{status}, 200, 'rename userName');
is($r->{json}{id}, $id, 'id unchanged');
ok(person('renamed@lincoln.example.org'), 'LDAP: entry renamed');
ok(!person('Test_User_ab12@lincoln.example.org'), 'LDAP: old name gone');

# delete
$r = $b->req(DELETE => "/Users/$id", token => 'demo-entra');
is($r->{status}, 204, 'Entra: delete');
is($b->req(GET => "/Users/$id", token => 'demo-entra')->{status}, 404, 'gone: 404');
ok(!person('renamed@lincoln.example.org'), 'LDAP: entry deleted');

# ---- Okta -----------------------------------------------------------------------
$r = $b->req(GET => '/Users?startIndex=1&count=1', token => 'demo-okta');
is($r->{status}, 200, 'Okta: list with startIndex/count');
is($r->{json}{startIndex}, 1, 'startIndex echoed');
ok(exists $r->{json}{totalResults}, 'totalResults');
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "nobody@example.org"') . '&startIndex=1&count=100', token => 'demo-okta');
is($r->{json}{totalResults}, 0, 'Okta: unknown user filter: 0');
is($b->req(GET => '/Users/00000000-0000-0000-0000-000000000000', token => 'demo-okta')->{status}, 404, 'Okta: unknown id: 404');
is($b->req(GET => '/Users/not-an-id', token => 'demo-okta')->{status}, 404, 'malformed id: 404');
my $okta_user = {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName => 'jane.doe@lincoln.example.org',
    name => { givenName => 'Jane', familyName => 'Doe' },
    emails => [{ primary => JSON::PP::true, value => 'jane.doe@lincoln.example.org', type => 'work' }],
    displayName => 'Jane Doe', locale => 'en-US', externalId => '00u1abcd', active => JSON::PP::true,
    groups => [], password => 'S3cret-pass!',
};
$r = $b->req(POST => '/Users', token => 'demo-okta', json => $okta_user);
is($r->{status}, 201, 'Okta: create');
my $jid = $r->{json}{id};
ok(!exists $r->{json}{password}, 'password never returned');
$e = person('jane.doe@lincoln.example.org');
like($e->{userPassword}[0] // '', qr/^\{SSHA\}|^\{/, 'LDAP: password stored hashed by slapd')
    or diag explain $e->{userPassword};
$r = $b->req(POST => '/Users', token => 'demo-okta', json => $okta_user);
is($r->{status}, 409, 'Okta: duplicate: 409');
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { %$okta_user, userName => 'JANE.DOE@LINCOLN.EXAMPLE.ORG' });
is($r->{status}, 409, 'upper-cased duplicate: 409 (case-insensitive userName)');
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "JANE.DOE@LINCOLN.EXAMPLE.ORG"'), token => 'demo-okta');
is($r->{json}{totalResults}, 1, 'Okta: upper-cased userName filter matches');
$r = $b->req(PATCH => "/Users/$jid", token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', value => { active => JSON::PP::false } }] });
is($r->{status}, 200, 'Okta: deactivate');
ok(!$r->{json}{active}, 'inactive');
$r = $b->req(GET => "/Users/$jid", token => 'demo-okta');
is($r->{status}, 200, 'Okta: inactive user is readable');
ok(!$r->{json}{active}, '... and inactive');
# PUT (Okta updates with PUT)
my $put = { %$okta_user, active => JSON::PP::true, title => 'Principal' };
delete $put->{password};
$r = $b->req(PUT => "/Users/$jid", token => 'demo-okta', json => $put);
is($r->{status}, 200, 'Okta: PUT');
is($r->{json}{title}, 'Principal', 'PUT sets title');
ok($r->{json}{active}, 'PUT reactivates');
is(person('jane.doe@lincoln.example.org')->{title}[0], 'Principal', 'LDAP: title');
ok(person('jane.doe@lincoln.example.org')->{userPassword}, 'PUT without password keeps it');

# ---- several sources on one person -----------------------------------------------
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "jane.doe@lincoln.example.org"'), token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'Entra finds the person Okta created');
ok(!exists $r->{json}{Resources}[0]{externalId}, "Entra does not see Okta's externalId");
$r = $b->req(PATCH => "/Users/$jid", token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'add', path => 'externalId', value => 'entra-77' }] });
is($r->{status}, 200, 'Entra attaches its externalId');
is($r->{json}{externalId}, 'entra-77', '... and reads it back');
is($b->req(GET => "/Users/$jid", token => 'demo-okta')->{json}{externalId}, '00u1abcd', "Okta still reads its own");
is_deeply([sort @{ person('jane.doe@lincoln.example.org')->{rbSource} }], [qw(entra okta)], 'LDAP: held by both');
is($b->req(DELETE => "/Users/$jid", token => 'demo-entra')->{status}, 204, 'Entra releases');
is($b->req(GET => "/Users/$jid", token => 'demo-okta')->{status}, 200, 'Okta still holds the person');
is_deeply(person('jane.doe@lincoln.example.org')->{rbSource}, ['okta'], 'LDAP: held by okta only');

# ---- tenants and validation ---------------------------------------------------------
is($b->req(GET => "/Users/$jid", token => 'other-okta')->{status}, 404, 'other tenant: 404');
$r = $b->req(GET => '/Users', token => 'other-okta');
ok(!(grep { $_->{id} eq $jid } @{ $r->{json}{Resources} }), 'other tenant never lists demo');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'] });
is($r->{status}, 400, 'no userName: 400');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'x@y', bogus => 1 });
is($r->{status}, 201, 'unknown attribute: ignored by default (strict_attributes: 28-lenient.t)');
ok(!exists $r->{json}{bogus}, '... and not stored');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User', $ADM], userName => 'p@y', $ADM => { permission => 'superuser' } });
is($r->{status}, 400, 'bad permission: 400');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
for my $evil ('x,ou=groups', 'a)(uid=*', '*', 'back\\slash', '#lead', ' sp ', 'semi;colon+plus"q<>') {
    $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => $evil });
    is($r->{status}, 201, "awkward userName '$evil' created") or diag explain $r->{json};
    my $got = $b->req(GET => '/Users?filter=' . enc(qq{userName eq "} . ($evil =~ s/(["\\])/\\$1/gr) . '"'), token => 'demo-okta');
    is($got->{json}{totalResults}, 1, "... and found exactly by filter");
    is($got->{json}{Resources}[0]{userName}, $evil, '... with the same userName');
}
# ---- slapd restarts in the middle: nothing answered 2xx is lost ---------------
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'before-restart@x' });
is($r->{status}, 201, 'created before the restart');
my $before = $r->{json}{id};
RBTest::stop_directory($dir);
$r = $b->req(GET => "/Users/$before", token => 'demo-okta');
is($r->{status}, 503, 'directory down: 503');
ok($r->{headers}{'retry-after'}, '... with Retry-After');
RBTest::start_directory_again($dir);
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'after-restart@x' });
my $tries = 0;
while ($r->{status} == 503 && $tries++ < 50) {    # the pool backs off at most 5 s
    select undef, undef, undef, 0.2;
    $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'after-restart@x' });
}
is($r->{status}, 201, 'a write after the restart succeeds (the pool reconnected by itself)');
is($b->req(GET => "/Users/$before", token => 'demo-okta')->{status}, 200, 'what was created before is still there');
ok(person('before-restart@x') && person('after-restart@x'), 'LDAP: both entries');
done_testing();
