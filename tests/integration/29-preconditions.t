#!/usr/bin/env perl
# 29-preconditions.t — what identity providers send around writes, over real
# HTTP against a private slapd, checked over LDAP: If-None-Match on PUT,
# PATCH and DELETE (RFC 7232 §3.2: "*" on an existing resource and a
# matching ETag are 412, a non-matching ETag proceeds; checked by slapd
# with the write), /Bulk forward references (RFC 7644 §3.7.2: reordered;
# circular ones are 409 saying so), and /ServiceProviderConfig's
# changePassword saying what the server does.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $USER  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $BULK  = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);

sub person {
    my ($uid) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
        filter => "(uid=$uid)", attrs => ['*', 'entryUUID', 'entryCSN']);
    return $entries->[0];
}

sub patch_body { return { schemas => [$PATCH], Operations => [@_] } }

# ---- If-None-Match on writes ------------------------------------------------
my $r = $b->req(POST => '/Users', token => 'demo-okta',
    json => { schemas => [$USER], userName => 'inm@example.org', displayName => 'Inm One' });
is($r->{status}, 201, 'create') or diag explain $r->{json};
my $id = $r->{json}{id};
my $etag = $r->{headers}{etag};
like($etag, qr{^W/"}, 'weak ETag');

$r = $b->req(PUT => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => '*' },
    json => { schemas => [$USER], userName => 'inm@example.org', displayName => 'Inm Star' });
is($r->{status}, 412, 'PUT If-None-Match: * on an existing user: 412') or diag explain $r->{json};
like($r->{json}{detail} // '', qr/If-None-Match/, '... the detail names If-None-Match');
is(person('inm@example.org')->{displayName}[0], 'Inm One', 'LDAP: not written');

$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => $etag },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Same' }));
is($r->{status}, 412, 'PATCH If-None-Match: <current ETag>: 412');
is(person('inm@example.org')->{displayName}[0], 'Inm One', 'LDAP: not written');

(my $strong = $etag) =~ s{^W/}{};
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => "W/\"other\", $strong" },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Same' }));
is($r->{status}, 412, 'If-None-Match: a list naming the current ETag (weak comparison): 412');

$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => 'W/"20000101000000.000000Z#000000#000#000000"' },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Two' }));
is($r->{status}, 200, 'PATCH If-None-Match: another ETag: proceeds') or diag explain $r->{json};
is(person('inm@example.org')->{displayName}[0], 'Inm Two', 'LDAP: written');
my $etag2 = $r->{headers}{etag};
isnt($etag2, $etag, 'new ETag');

# A no-op PATCH writes nothing, but the precondition is still checked.
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => '*' },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Two' }));
is($r->{status}, 412, 'no-op PATCH with If-None-Match: *: 412');

# The old ETag no longer matches: the write proceeds.
$r = $b->req(PUT => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => $etag },
    json => { schemas => [$USER], userName => 'inm@example.org', displayName => 'Inm Three' });
is($r->{status}, 200, 'PUT If-None-Match: <stale ETag>: proceeds') or diag explain $r->{json};
is(person('inm@example.org')->{displayName}[0], 'Inm Three', 'LDAP: written');
my $etag3 = $r->{headers}{etag};

# Both headers: If-Match must hold and If-None-Match must not.
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta',
    headers => { 'If-Match' => $etag3, 'If-None-Match' => $etag },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Four' }));
is($r->{status}, 200, 'If-Match current + If-None-Match stale: proceeds') or diag explain $r->{json};
my $etag4 = $r->{headers}{etag};
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta',
    headers => { 'If-Match' => $etag4, 'If-None-Match' => $etag4 },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Five' }));
is($r->{status}, 412, 'If-Match and If-None-Match naming the same current ETag: 412');

# A rename (userName change) is checked too.
$r = $b->req(PUT => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => '*' },
    json => { schemas => [$USER], userName => 'inm-renamed@example.org', displayName => 'Inm Four' });
is($r->{status}, 412, 'rename with If-None-Match: *: 412');
ok(person('inm@example.org') && !person('inm-renamed@example.org'), 'LDAP: not renamed');

# DELETE
$r = $b->req(DELETE => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => '*' });
is($r->{status}, 412, 'DELETE If-None-Match: *: 412');
ok(person('inm@example.org'), 'LDAP: still there');
$r = $b->req(DELETE => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => $etag4 });
is($r->{status}, 412, 'DELETE If-None-Match: <current ETag>: 412');
$r = $b->req(DELETE => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => $etag });
is($r->{status}, 204, 'DELETE If-None-Match: <stale ETag>: 204');
ok(!person('inm@example.org'), 'LDAP: gone');
$r = $b->req(DELETE => "/Users/$id", token => 'demo-okta', headers => { 'If-None-Match' => '*' });
is($r->{status}, 404, 'DELETE If-None-Match: * of a missing user: 404');

# Groups and Schools go through the same precondition.
$r = $b->req(POST => '/Groups', token => 'demo-okta', json => { schemas => [$GROUP], displayName => 'Inm Group' });
is($r->{status}, 201, 'group created');
my $gid = $r->{json}{id};
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-okta', headers => { 'If-None-Match' => '*' },
    json => patch_body({ op => 'replace', path => 'displayName', value => 'Inm Group 2' }));
is($r->{status}, 412, 'group PATCH If-None-Match: *: 412');
$r = $b->req(GET => "/Groups/$gid", token => 'demo-okta');
is($r->{json}{displayName}, 'Inm Group', 'group unchanged');
$r = $b->req(DELETE => "/Groups/$gid", token => 'demo-okta', headers => { 'If-None-Match' => '*' });
is($r->{status}, 412, 'group DELETE If-None-Match: *: 412');

# GET keeps its meaning (304 when it names the current version).
$r = $b->req(GET => "/Groups/$gid", token => 'demo-okta');
my $getag = $r->{headers}{etag};
$r = $b->req(GET => "/Groups/$gid", token => 'demo-okta', headers => { 'If-None-Match' => $getag });
is($r->{status}, 304, 'GET If-None-Match: current: 304');

# ---- /Bulk forward references (RFC 7644 §3.7.2) ----------------------------
sub bulk {
    my (@ops) = @_;
    my %extra = ref $ops[0] eq 'HASH' && exists $ops[0]{failOnErrors} ? %{ shift @ops } : ();
    return $b->req(POST => '/Bulk', token => 'demo-okta',
        json => { schemas => [$BULK], %extra, Operations => \@ops });
}
sub user_op {
    my ($bulk_id, $name, %more) = @_;
    return { method => 'POST', path => '/Users', bulkId => $bulk_id,
             data => { schemas => [$USER], userName => "$name\@fwd.example", %more } };
}
sub group_op {
    my ($bulk_id, $name, @members) = @_;
    return { method => 'POST', path => '/Groups', bulkId => $bulk_id,
             data => { schemas => [$GROUP], displayName => $name,
                       members => [map { { value => "bulkId:$_" } } @members] } };
}
sub group_entry {
    my ($cn) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$dir->{suffix}",
        filter => "(cn=$cn)", attrs => ['member']);
    return $entries->[0];
}
my $ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

# The RFC's example: the group comes first and names a user defined after it.
$r = bulk(group_op('grp', 'Fwd Tour Guides', 'qwerty'), user_op('qwerty', 'alice'));
is($r->{status}, 200, 'forward reference: 200') or diag explain $r->{json};
my @res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{bulkId} } @res], ['qwerty', 'grp'], 'the user ran first (response in run order)');
is_deeply([map { $_->{status} } @res], ['201', '201'], 'both created');
my $alice = person('alice@fwd.example');
is_deeply([map { lc } @{ group_entry('Fwd Tour Guides')->{member} // [] }], [lc $alice->{dn}],
    'LDAP: the group has the user as member');

# A chain defined in reverse, a PATCH on a later POST, a manager defined later.
$r = bulk(
    { method => 'PATCH', path => '/Users/bulkId:c1',
      data => { schemas => [$PATCH], Operations => [{ op => 'replace', path => 'displayName', value => 'Carl Patched' }] } },
    group_op('c3', 'Fwd Chain', 'c2'),
    user_op('c2', 'dora', $ENT => { manager => { value => 'bulkId:c1' } }),
    user_op('c1', 'carl'));
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{status} } @res], ['201', '200', '201', '201'], 'chain: all succeed') or diag explain \@res;
is_deeply([map { $_->{bulkId} // $_->{method} } @res], ['c1', 'PATCH', 'c2', 'c3'],
    'chain: c1, the PATCH waiting on it, c2 (manager c1), c3 (member c2)');
is(person('carl@fwd.example')->{displayName}[0], 'Carl Patched', 'LDAP: the PATCH applied to the later POST');
like(person('dora@fwd.example')->{manager}[0] // '', qr/^uid=carl\@fwd\.example,/i, 'LDAP: manager resolved');
is_deeply([map { lc } @{ group_entry('Fwd Chain')->{member} // [] }], [lc person('dora@fwd.example')->{dn}],
    'LDAP: member resolved');

# Circular references: a → b → a, and a self-reference; what waits on them fails.
$r = bulk(
    group_op('ga', 'Fwd Circle A', 'gb'),
    group_op('gb', 'Fwd Circle B', 'ga'),
    group_op('gw', 'Fwd Waits', 'ga'),
    group_op('gs', 'Fwd Self', 'gs'),
    user_op('ok1', 'erin'));
@res = @{ $r->{json}{Operations} };
my %by = map { ($_->{bulkId} => $_) } @res;
is(scalar @res, 5, 'every operation answered');
is($by{ok1}{status}, '201', 'an unrelated operation runs');
is($by{ga}{status}, '409', 'circle: ga 409');
is($by{gb}{status}, '409', 'circle: gb 409');
like($by{ga}{response}{detail} // '', qr/circular bulkId references: ga -> gb -> ga/, 'the detail names the circle')
    or diag explain $by{ga};
is($by{gs}{status}, '409', 'self-reference: 409');
like($by{gs}{response}{detail} // '', qr/circular bulkId references: gs -> gs/, '... named as a circle');
is($by{gw}{status}, '409', 'waiting on a circle: 409');
like($by{gw}{response}{detail} // '', qr/bulkId:ga.*failed/, '... saying the POST it names failed');
ok(!group_entry("Fwd Circle $_"), "LDAP: no group Fwd Circle $_") for qw(A B);
ok(!group_entry('Fwd Waits') && !group_entry('Fwd Self'), 'LDAP: nothing half-made');
# The waiter first, then a circle of three named from its first operation.
$r = bulk(group_op('w0', 'Fwd W0', 'x1'), group_op('x1', 'Fwd X1', 'x3'),
    group_op('x2', 'Fwd X2', 'x1'), group_op('x3', 'Fwd X3', 'x2'));
%by = map { ($_->{bulkId} => $_) } @{ $r->{json}{Operations} };
is_deeply([map { $by{$_}{status} } qw(w0 x1 x2 x3)], ['409', '409', '409', '409'], 'three-circle and its waiter: 409');
like($by{x2}{response}{detail} // '', qr/circular bulkId references: x1 -> x3 -> x2 -> x1 /, 'the circle named from x1');
like($by{w0}{response}{detail} // '', qr/bulkId:x1.*failed/, 'the waiter: its POST failed');

# failOnErrors counts in run order; a duplicate bulkId is refused whatever the order.
$r = bulk({ failOnErrors => 1 },
    group_op('f1', 'Fwd Fail', 'f2'),
    user_op('f2', 'alice'),           # duplicate userName: 409, the first error
    user_op('f3', 'frank'));
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{bulkId} } @res], ['f2'], 'failOnErrors=1: stops after the first error in run order');
ok(!person('frank@fwd.example'), 'LDAP: nothing after it ran');
$r = bulk(group_op('d1', 'Fwd Dup', 'dd'), user_op('dd', 'gina'), user_op('dd', 'hank'));
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{status} } @res], ['201', '201', '400'], 'duplicate bulkId: the first POST defines it, the other is 400')
    or diag explain \@res;
ok(person('gina@fwd.example') && !person('hank@fwd.example'), 'LDAP: only the first');

# ---- changePassword says what the server does -------------------------------
$r = $b->req(GET => '/ServiceProviderConfig', token => 'demo-okta');
is($r->{status}, 200, 'ServiceProviderConfig');
ok(JSON::PP::is_bool($r->{json}{changePassword}{supported}), 'changePassword.supported is a boolean');
my $advertised = $r->{json}{changePassword}{supported} ? 1 : 0;
$r = $b->req(POST => '/Users', token => 'demo-okta',
    json => { schemas => [$USER], userName => 'pw@example.org', password => 'Initial-Secret-1' });
is($r->{status}, 201, 'create with a password');
my $pwid = $r->{json}{id};
ok(!exists $r->{json}{password}, 'password never returned');
$r = $b->req(PATCH => "/Users/$pwid", token => 'demo-okta',
    json => patch_body({ op => 'replace', path => 'password', value => 'Changed-Secret-2' }));
ok($r->{status} == 200 || $r->{status} == 204, 'PATCH password answered') or diag explain $r->{json};
my ($rc) = RBTest::ldapwhoami($dir, dn => "uid=pw\@example.org,ou=people,o=demo,$dir->{suffix}",
    pw => 'Changed-Secret-2');
is($rc == 0 ? 1 : 0, $advertised,
    "changePassword.supported ($advertised) is whether the changed password binds (ldapwhoami: $rc)");
is($advertised, 1, 'demo-okta (passwords=yes): supported');
# A token without passwords=yes: discovery says no, and a password write is refused.
$r = $b->req(GET => '/ServiceProviderConfig', token => 'demo-entra');
is($r->{json}{changePassword}{supported}, JSON::PP::false, 'demo-entra (no passwords=yes): not supported');
$r = $b->req(PATCH => "/Users/$pwid", token => 'demo-entra',
    json => patch_body({ op => 'replace', path => 'password', value => 'Entra-Secret-3' }));
is($r->{status}, 403, '... and its password write is 403') or diag explain $r->{json};
($rc) = RBTest::ldapwhoami($dir, dn => "uid=pw\@example.org,ou=people,o=demo,$dir->{suffix}",
    pw => 'Entra-Secret-3');
isnt($rc, 0, '... and the password did not change');

done_testing();
