#!/usr/bin/env perl
# 21-groups.t — /Groups over real HTTP against a private slapd, checked
# over LDAP: Entra's group sequence (empty group, rename, add/remove
# members, excludedAttributes=members, delete), memberOf on people, a
# deleted person leaving every group, PUT, filters.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);

sub ldap_one {
    my ($base, $filter, @attrs) = @_;
    my ($entries) = RBTest::ldapsearch($dir, base => "$base,o=demo,$dir->{suffix}",
        filter => $filter, attrs => [@attrs ? @attrs : ('*', 'entryUUID', 'memberOf')]);
    return $entries->[0];
}

my @uid;
for my $n (1 .. 3) {
    my $r = $b->req(POST => '/Users', token => 'demo-entra', json => {
        schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => "member$n\@example.org",
        displayName => "Member $n" });
    is($r->{status}, 201, "user $n");
    push @uid, $r->{json}{id};
}

# Entra creates the group empty.
my $r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], externalId => 'g-ext-1',
    displayName => 'Lincoln Admins', members => [] });
is($r->{status}, 201, 'create empty group') or diag explain $r->{json};
my $gid = $r->{json}{id};
is_deeply($r->{json}{members} // [], [], 'no members');
is($r->{json}{externalId}, 'g-ext-1', 'externalId');
my $g = ldap_one('ou=groups', '(cn=Lincoln Admins)');
ok($g, 'LDAP: empty group entry exists');
ok(!$g->{member}, 'LDAP: no member values');

$r = $b->req(GET => '/Groups?filter=' . enc('displayName eq "Lincoln Admins"') . '&excludedAttributes=members', token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'find group by displayName');
ok(!exists $r->{json}{Resources}[0]{members}, 'excludedAttributes=members');

# rename
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'Replace', path => 'displayName', value => 'Lincoln Administrators' }] });
is($r->{status}, 204, 'rename: 204');
ok(ldap_one('ou=groups', '(cn=Lincoln Administrators)'), 'LDAP: renamed');

# add members
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'Add', path => 'members', value => [map { { value => $_ } } @uid] }] });
is($r->{status}, 204, 'add members: 204');
$g = ldap_one('ou=groups', '(cn=Lincoln Administrators)');
is(scalar @{ $g->{member} // [] }, 3, 'LDAP: three member values');
my $p = ldap_one('ou=people', '(uid=member1@example.org)');
like($p->{memberOf}[0] // '', qr/^cn=Lincoln Administrators,ou=groups,o=demo,/i, 'LDAP: memberOf on the person');
$r = $b->req(GET => "/Users/$uid[0]", token => 'demo-entra');
is($r->{json}{groups}[0]{value}, $gid, 'SCIM: user.groups');
$r = $b->req(GET => "/Groups/$gid", token => 'demo-entra');
is(scalar @{ $r->{json}{members} }, 3, 'SCIM: three members');
is_deeply([sort map { $_->{value} } @{ $r->{json}{members} }], [sort @uid], '... the right ones');

# adding a present member again is not an error
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'Add', path => 'members', value => [{ value => $uid[0] }] }] });
is($r->{status}, 204, 'add a present member: 204');

# remove with a value array (Entra) and with a value filter
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'Remove', path => 'members', value => [{ value => $uid[0] }] }] });
is($r->{status}, 204, 'remove by value array');
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'remove', path => qq{members[value eq "$uid[1]"]} }] });
is($r->{status}, 204, 'remove by value filter');
$g = ldap_one('ou=groups', '(cn=Lincoln Administrators)');
is(scalar @{ $g->{member} // [] }, 1, 'LDAP: one member left');
ok(!ldap_one('ou=people', '(uid=member1@example.org)')->{memberOf}, 'LDAP: memberOf gone');

# unknown member id
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'add', path => 'members', value => [{ value => '00000000-0000-0000-0000-000000000000' }] }] });
is($r->{status}, 400, 'unknown member: 400');

# PATCH asking for attributes answers 200 with the group
$r = $b->req(PATCH => "/Groups/$gid?attributes=displayName", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => 'externalId', value => 'g-ext-2' }] });
is($r->{status}, 200, 'PATCH with attributes: 200');
is($r->{json}{displayName}, 'Lincoln Administrators', '... with the resource');

# deleting a person removes it from every group (memberof, no refint)
is($b->req(DELETE => "/Users/$uid[2]", token => 'demo-entra')->{status}, 204, 'delete the last member');
$g = ldap_one('ou=groups', '(cn=Lincoln Administrators)');
ok(!$g->{member}, 'LDAP: group empty again');
$r = $b->req(GET => "/Groups/$gid", token => 'demo-entra');
is_deeply($r->{json}{members} // [], [], 'SCIM: no members');

# PUT replaces members wholesale
$r = $b->req(PUT => "/Groups/$gid", token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName => 'Lincoln Administrators',
    members => [{ value => $uid[0] }, { value => $uid[1] }] });
is($r->{status}, 200, 'PUT group');
is(scalar @{ $r->{json}{members} }, 2, 'two members');

# duplicate displayName
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName => 'Lincoln Administrators' });
is($r->{status}, 409, 'duplicate group name: 409');

# filter by member
$r = $b->req(GET => '/Groups?filter=' . enc(qq{members[value eq "$uid[0]"]}), token => 'demo-entra');
is($r->{json}{totalResults}, 1, 'filter on members');

# other tenant
is($b->req(GET => "/Groups/$gid", token => 'other-okta')->{status}, 404, 'other tenant: 404');

# delete
is($b->req(DELETE => "/Groups/$gid", token => 'demo-entra')->{status}, 204, 'delete group');
ok(!ldap_one('ou=groups', '(cn=Lincoln Administrators)'), 'LDAP: group deleted');
ok(!ldap_one('ou=people', '(uid=member1@example.org)')->{memberOf}, 'LDAP: memberOf cleared');
is($b->req(GET => "/Groups/$gid", token => 'demo-entra')->{status}, 404, 'deleted group: 404');
done_testing();
