#!/usr/bin/env perl
# 23-bulk.t — POST /Bulk (RFC 7644 §3.7) and POST /.search at the root
# (§3.4.3) over real HTTP against a private slapd, checked over LDAP:
# users and a group whose members are bulkId references, PATCH and DELETE
# in bulk, bulkId in a path, failOnErrors, unresolved references,
# limits (413), a read-only token (403), tenancy, root search and paging.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $BULK   = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
my $BULKR  = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
my $USER   = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP  = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH  = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

my $dir = RBTest::start_directory();
# max_body_bytes above bulk_max_payload (1 MiB), so that /Bulk's own limit answers.
my $b = RBBridge->start($dir, max_body_bytes => 4 * 1048576);

sub ldap_one {
    my ($base, $filter, @attrs) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => "$base,o=demo,$dir->{suffix}",
        filter => $filter, attrs => [@attrs ? @attrs : ('*', 'entryUUID', 'memberOf')]);
    return $entries->[0];
}

sub bulk {
    my ($token, @ops) = @_;
    my %extra = ref $ops[0] eq 'HASH' && exists $ops[0]{failOnErrors} ? %{ shift @ops } : ();
    return $b->req(POST => '/Bulk', token => $token,
        json => { schemas => [$BULK], %extra, Operations => \@ops });
}

sub user_op {
    my ($bulk_id, $name) = @_;
    return { method => 'POST', path => '/Users', bulkId => $bulk_id,
             data => { schemas => [$USER], userName => "$name\@example.org", displayName => "Bulk $name" } };
}

# --- create users and a group that references them by bulkId ------------
my $r = bulk('demo-okta',
    user_op('u1', 'alice'), user_op('u2', 'bob'),
    { method => 'POST', path => '/Groups', bulkId => 'g1',
      data => { schemas => [$GROUP], displayName => 'Bulk Tour Guides',
                members => [{ value => 'bulkId:u1' }, { value => 'bulkId:u2' }] } });
is($r->{status}, 200, 'bulk create: 200') or diag explain $r->{json};
is_deeply($r->{json}{schemas}, [$BULKR], 'BulkResponse schema');
my @res = @{ $r->{json}{Operations} // [] };
is(scalar @res, 3, 'three results');
is_deeply([map { $_->{status} } @res], ['201', '201', '201'], 'statuses are strings "201"');
is_deeply([map { $_->{bulkId} } @res], ['u1', 'u2', 'g1'], 'bulkIds echoed');
is_deeply([map { $_->{method} } @res], ['POST', 'POST', 'POST'], 'methods echoed');
like($res[0]{location}, qr{/scim/v2/Users/[0-9a-f-]{36}$}, 'user location');
like($res[2]{location}, qr{/scim/v2/Groups/[0-9a-f-]{36}$}, 'group location');
like($res[0]{version} // '', qr/^W\//, 'weak version');
ok(!exists $res[0]{response}, 'no response body on success');
my ($u1) = $res[0]{location} =~ m{/Users/(.+)$};
my ($u2) = $res[1]{location} =~ m{/Users/(.+)$};
my ($g1) = $res[2]{location} =~ m{/Groups/(.+)$};

my $alice = ldap_one('ou=people', '(uid=alice@example.org)');
my $bob   = ldap_one('ou=people', '(uid=bob@example.org)');
ok($alice && $bob, 'LDAP: both people exist');
is($alice->{entryUUID}[0], $u1, 'LDAP: alice is the first POST');
my $g = ldap_one('ou=groups', '(cn=Bulk Tour Guides)');
ok($g, 'LDAP: group exists');
is_deeply([sort map { lc } @{ $g->{member} // [] }], [sort map { lc $_->{dn} } $alice, $bob],
    'LDAP: member values are the users\' DNs');
like($alice->{memberOf}[0] // '', qr/^cn=Bulk Tour Guides,ou=groups,o=demo,/i, 'LDAP: memberOf on alice');
$r = $b->req(GET => "/Groups/$g1", token => 'demo-okta');
is_deeply([sort map { $_->{value} } @{ $r->{json}{members} }], [sort $u1, $u2], 'SCIM: members are the ids');

# --- PATCH, PUT and DELETE in bulk; bulkId in a path ---------------------
$r = bulk('demo-okta',
    user_op('u3', 'carol'),
    { method => 'PATCH', path => "/Groups/$g1",
      data => { schemas => [$PATCH], Operations => [
        { op => 'add', path => 'members', value => [{ value => 'bulkId:u3' }] },
        { op => 'remove', path => qq{members[value eq "$u2"]} } ] } },
    { method => 'PATCH', path => '/Users/bulkId:u3',
      data => { schemas => [$PATCH], Operations => [{ op => 'replace', path => 'displayName', value => 'Carol C' }] } },
    { method => 'PUT', path => "/Users/$u1",
      data => { schemas => [$USER], userName => 'alice@example.org', displayName => 'Alice Put' } },
    { method => 'DELETE', path => "/Users/$u2" });
is($r->{status}, 200, 'bulk patch/put/delete: 200') or diag explain $r->{json};
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{status} } @res], ['201', '204', '200', '200', '204'], 'statuses')
    or diag explain \@res;
my ($u3) = $res[0]{location} =~ m{/Users/(.+)$};
like($res[1]{location}, qr{/Groups/\Q$g1\E$}, 'PATCH location');
like($res[2]{location}, qr{/Users/\Q$u3\E$}, 'bulkId in the path resolved');
like($res[2]{version} // '', qr/^W\//, 'PATCH user: version');
like($res[4]{location}, qr{/Users/\Q$u2\E$}, 'DELETE location');
$g = ldap_one('ou=groups', '(cn=Bulk Tour Guides)');
my $carol = ldap_one('ou=people', '(uid=carol@example.org)');
is_deeply([sort map { lc } @{ $g->{member} // [] }], [sort map { lc $_->{dn} } $alice, $carol],
    'LDAP: alice and carol are members, bob is not');
is($carol->{displayName}[0], 'Carol C', 'LDAP: carol patched');
is(ldap_one('ou=people', '(uid=alice@example.org)')->{displayName}[0], 'Alice Put', 'LDAP: alice replaced');
ok(!ldap_one('ou=people', '(uid=bob@example.org)'), 'LDAP: bob deleted');

# version as If-Match: a stale version fails with 412
$r = bulk('demo-okta', { method => 'DELETE', path => "/Users/$u3", version => 'W/"stale"' });
is($r->{json}{Operations}[0]{status}, '412', 'stale version: 412');
ok(ldap_one('ou=people', '(uid=carol@example.org)'), 'LDAP: carol still there');

# --- errors ---------------------------------------------------------------
# Without failOnErrors every operation runs.
$r = bulk('demo-okta',
    user_op('d1', 'alice'),                                  # duplicate userName: 409
    { method => 'DELETE', path => '/Users/00000000-0000-0000-0000-000000000000' },  # 404
    user_op('e1', 'erin'));
is($r->{status}, 200, 'failed operations: still 200');
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{status} } @res], ['409', '404', '201'], 'all three processed');
is($res[0]{response}{scimType}, 'uniqueness', 'error response: scimType');
is($res[0]{response}{status}, '409', 'error response: status string');
is_deeply($res[0]{response}{schemas}, ['urn:ietf:params:scim:api:messages:2.0:Error'], 'error response: schema');
ok(!exists $res[0]{location}, 'failed POST: no location');

# failOnErrors=1 stops after the first error.
$r = bulk('demo-okta', { failOnErrors => 1 },
    user_op('f0', 'frank'),
    user_op('f1', 'alice'),
    user_op('f2', 'grace'));
is($r->{status}, 200, 'failOnErrors: 200');
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{status} } @res], ['201', '409'], 'stopped after the first error');
ok(!ldap_one('ou=people', '(uid=grace@example.org)'), 'LDAP: the third operation never ran');

# failOnErrors=2 tolerates one.
$r = bulk('demo-okta', { failOnErrors => 2 },
    user_op('h1', 'alice'), user_op('h2', 'heidi'), user_op('h3', 'frank'), user_op('h4', 'ivan'));
is_deeply([map { $_->{status} } @{ $r->{json}{Operations} }], ['409', '201', '409'],
    'failOnErrors=2: stops at the second error');

# Unresolved references: unknown, failed. A reference to a bulkId defined
# later is resolved (RFC 7644 §3.7.2): that operation waits for the POST, and
# the response lists operations in the order they ran (more in 29-preconditions.t).
$r = bulk('demo-okta',
    { method => 'POST', path => '/Groups', bulkId => 'x1',
      data => { schemas => [$GROUP], displayName => 'Bulk Unresolved', members => [{ value => 'bulkId:nosuch' }] } },
    { method => 'POST', path => '/Groups', bulkId => 'x2',
      data => { schemas => [$GROUP], displayName => 'Bulk Forward', members => [{ value => 'bulkId:later' }] } },
    user_op('later', 'judy'),
    user_op('bad', 'alice'),
    { method => 'PATCH', path => '/Users/bulkId:bad',
      data => { schemas => [$PATCH], Operations => [{ op => 'replace', path => 'displayName', value => 'x' }] } },
    { method => 'POST', path => '/Groups', bulkId => 'x3',
      data => { schemas => [$GROUP], displayName => 'Bulk Failed Ref', members => [{ value => 'bulkId:bad' }] } });
@res = @{ $r->{json}{Operations} };
is_deeply([map { $_->{bulkId} // 'patch' } @res], ['x1', 'later', 'x2', 'bad', 'patch', 'x3'],
    'run order: x2 waited for the later POST it names') or diag explain \@res;
is_deeply([map { $_->{status} } @res], ['409', '201', '201', '409', '409', '409'], 'unresolved references: 409; the forward one resolved')
    or diag explain \@res;
like($res[0]{response}{detail}, qr/bulkId:nosuch/, 'detail names the reference');
like($res[4]{response}{detail}, qr/failed/, 'reference to a failed POST says so');
ok(!ldap_one('ou=groups', '(cn=Bulk Unresolved)'), 'LDAP: no group with an unresolved member');
my $fwd = ldap_one('ou=groups', '(cn=Bulk Forward)');
my $judy = ldap_one('ou=people', '(uid=judy@example.org)');
ok($fwd && $judy, 'LDAP: the forward-referencing group and judy exist');
is_deeply([map { lc } @{ $fwd->{member} // [] }], [lc $judy->{dn}], 'LDAP: judy is its member');
my ($fwd_id) = ($res[2]{location} // '') =~ m{/Groups/(.+)$};
is($b->req(DELETE => "/Groups/$fwd_id", token => 'demo-okta')->{status}, 204,
    'the forward group removed again (the root search below counts one Bulk group)');

# Malformed operations fail alone.
$r = bulk('demo-okta',
    { method => 'POST', path => '/Users', data => { schemas => [$USER], userName => 'nobulkid@example.org' } },
    { method => 'GET', path => "/Users/$u1" },
    { method => 'POST', path => '/Nothing', bulkId => 'n1', data => {} },
    { method => 'PUT', path => '/Users', data => { schemas => [$USER], userName => 'x' } },
    user_op('e1', 'erin2'), user_op('e1', 'erin3'));
is_deeply([map { $_->{status} } @{ $r->{json}{Operations} }], ['400', '400', '404', '400', '201', '400'],
    'malformed operations: 400/404; duplicate bulkId: 400');

# --- the request as a whole --------------------------------------------
$r = $b->req(POST => '/Bulk', token => 'demo-okta', json => { schemas => [$SEARCH], Operations => [] });
is($r->{status}, 400, 'not a BulkRequest: 400');
is($r->{json}{scimType}, 'invalidSyntax', '... invalidSyntax');
$r = $b->req(POST => '/Bulk', token => 'demo-okta', json => { schemas => [$BULK] });
is($r->{status}, 400, 'no Operations: 400');
$r = $b->req(POST => '/Bulk', token => 'demo-okta', body => '{"schemas": [');
is($r->{status}, 400, 'not JSON: 400');
$r = $b->req(POST => '/Bulk', token => 'demo-okta', json => { schemas => [$BULK], failOnErrors => 0, Operations => [] });
is($r->{status}, 400, 'failOnErrors 0: 400');
$r = bulk('demo-okta', map { { method => 'DELETE', path => "/Users/$u1" } } 1 .. 1001);
is($r->{status}, 413, 'more than maxOperations: 413');
like($r->{json}{detail} // '', qr/maxOperations \(1000\)/, '... naming the limit');
is($r->{json}{status}, '413', '... as a SCIM error');
ok(ldap_one('ou=people', '(uid=alice@example.org)'), '... and nothing ran');
$r = bulk('demo-okta', { failOnErrors => 1000 },
    map { user_op("p$_", 'p' . ('x' x 1000) . $_) } 1 .. 900);
is($r->{status}, 413, 'larger than maxPayloadSize: 413');
like($r->{json}{detail} // '', qr/maxPayloadSize \(1048576\)/, '... naming the limit');
$r = $b->req(GET => '/ServiceProviderConfig', token => 'demo-okta');
is($r->{json}{bulk}{maxOperations}, 1000, 'SPC: maxOperations as enforced');
is($r->{json}{bulk}{maxPayloadSize}, 1048576, 'SPC: maxPayloadSize as enforced');

$r = bulk('demo-readonly', user_op('r1', 'readonly'));
is($r->{status}, 403, 'read-only token: 403');
ok(!ldap_one('ou=people', '(uid=readonly@example.org)'), 'LDAP: nothing created');
$r = $b->req(POST => '/Bulk', json => { schemas => [$BULK], Operations => [] });
is($r->{status}, 401, 'no token: 401');

# --- tenancy --------------------------------------------------------------
is($b->req(GET => "/Users/$u1", token => 'other-okta')->{status}, 404, 'other tenant: user 404');
is($b->req(GET => "/Groups/$g1", token => 'other-okta')->{status}, 404, 'other tenant: group 404');
$r = bulk('other-okta', { method => 'DELETE', path => "/Users/$u1" },
    { method => 'POST', path => '/Groups', bulkId => 'o1',
      data => { schemas => [$GROUP], displayName => 'Other Group', members => [{ value => $u1 }] } });
is_deeply([map { $_->{status} } @{ $r->{json}{Operations} }], ['404', '400'],
    'other tenant cannot delete or reference demo users in bulk');
ok(ldap_one('ou=people', '(uid=alice@example.org)'), 'LDAP: alice untouched');
$r = $b->req(POST => '/.search', token => 'other-okta', json => { schemas => [$SEARCH], filter => 'displayName sw "Bulk"' });
is($r->{json}{totalResults}, 0, 'other tenant: root search sees nothing of demo');

# Same bulkIds in another tenant are another request's names.
$r = bulk('other-okta', user_op('u1', 'alice'));
is($r->{json}{Operations}[0]{status}, '201', 'other tenant: own alice');

# --- POST /.search at the root ----------------------------------------------
$r = $b->req(POST => '/.search', token => 'demo-okta',
    json => { schemas => [$SEARCH], filter => 'displayName sw "Bulk"', count => 100 });
is($r->{status}, 200, 'root .search: 200') or diag explain $r->{json};
my %types;
$types{ $_->{meta}{resourceType} }++ for @{ $r->{json}{Resources} };
my $users = $b->req(GET => '/Users?count=0&filter=displayName%20sw%20%22Bulk%22', token => 'demo-okta')->{json}{totalResults};
my $groups = $b->req(GET => '/Groups?count=0&filter=displayName%20sw%20%22Bulk%22', token => 'demo-okta')->{json}{totalResults};
ok($users >= 3 && $groups == 1, "fixture: $users users, $groups group");
is($r->{json}{totalResults}, $users + $groups, 'totalResults is the sum');
is($types{User}, $users, 'users, with meta.resourceType User');
is($types{Group}, 1, 'the group, with meta.resourceType Group');
is($r->{json}{Resources}[-1]{meta}{resourceType}, 'Group', 'Users first, then Groups');

# Everything: the sum of every type, paging across the boundary.
my $all = 0;
$all += $b->req(GET => "/$_?count=0", token => 'demo-okta')->{json}{totalResults} for qw(Users Groups Schools);
$r = $b->req(POST => '/.search', token => 'demo-okta', json => { schemas => [$SEARCH], count => 1000 });
is($r->{json}{totalResults}, $all, 'no filter: totalResults is Users + Groups + Schools');
my @ids = map { $_->{id} } @{ $r->{json}{Resources} };
is(scalar @ids, $all, 'every resource once');
my @paged;
for (my $start = 1; $start <= $all; $start += 3) {
    my $p = $b->req(POST => '/.search', token => 'demo-okta',
        json => { schemas => [$SEARCH], startIndex => $start, count => 3 });
    is($p->{json}{totalResults}, $all, "page at $start: same total") if $start == 1;
    push @paged, map { $_->{id} } @{ $p->{json}{Resources} };
}
is_deeply(\@paged, \@ids, 'pages of 3 concatenate to the whole, in order');
$r = $b->req(POST => '/.search', token => 'demo-okta', json => { schemas => [$SEARCH], count => 0 });
is($r->{json}{totalResults}, $all, 'count 0: only the total');
is(scalar @{ $r->{json}{Resources} }, 0, '... and no resources');
$r = $b->req(POST => '/.search', token => 'demo-okta',
    json => { schemas => [$SEARCH], filter => 'name eq "Lincoln Elementary"' });
is($r->{json}{totalResults}, 1, 'a School-only attribute finds the school');
is($r->{json}{Resources}[0]{meta}{resourceType}, 'School', '... as a School');
$r = $b->req(POST => '/.search', token => 'demo-okta',
    json => { schemas => [$SEARCH], filter => 'userName sw "alice"', attributes => ['userName'] });
is($r->{json}{totalResults}, 1, 'userName filter: users only');
is_deeply([sort keys %{ $r->{json}{Resources}[0] }], [qw(id schemas userName)], 'attributes applied');
$r = $b->req(POST => '/.search', token => 'demo-okta',
    json => { schemas => [$SEARCH], filter => 'displayName sw "Bulk"', sortBy => 'displayName', sortOrder => 'descending' });
is($r->{status}, 200, 'sortBy at the root');
my @unames = map { $_->{displayName} } grep { $_->{meta}{resourceType} eq 'User' } @{ $r->{json}{Resources} };
is_deeply(\@unames, [reverse sort { lc($::a) cmp lc($::b) } @unames], '... sorts within each type');
$r = $b->req(POST => '/.search', token => 'demo-okta', json => { schemas => [$SEARCH], filter => 'displayName sw' });
is($r->{status}, 400, 'bad filter: 400');
is($r->{json}{scimType}, 'invalidFilter', '... invalidFilter');
$r = $b->req(POST => '/.search', token => 'demo-okta', json => { schemas => [$SEARCH], sortBy => 'nosuch' });
is($r->{status}, 400, 'sortBy no type has: 400');
$r = $b->req(POST => '/.search', token => 'demo-readonly', json => { schemas => [$SEARCH], count => 1 });
is($r->{status}, 200, 'read-only token may search');
is($b->req(GET => '/.search', token => 'demo-okta')->{status}, 405, 'GET /.search: 405');

done_testing();
