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

done_testing();
