#!/usr/bin/env perl
# 93-role-group-grants.t — a role group's grant is checked like a person's
# direct grant: schools given by SIS externalId (as Clever and ClassLink
# send them) are resolved to the schools' ids and confer access; an unknown
# school, a region scope in a district tenant, an unknown region, and scope
# school without schools are 400 invalidValue, on create and on PATCH.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};
sub role { my ($name, $grant) = @_; { schemas => [$GROUP, $ADMG], displayName => $name, $ADMG => $grant } }
sub school_id {
    my $r = $b->req(GET => "/Schools?filter=externalId%20eq%20%22$_[0]%22", token => $_[1] // 'demo-clever');
    return $r->{json}{Resources}[0]{id};
}

my $roosevelt = school_id('SIS-ROO-003');
my $r = $b->req(POST => '/Groups', token => 'demo-clever',
    json => role('Roosevelt Viewers', { permission => 'view', scope => 'school', schools => ['SIS-ROO-003'] }));
is($r->{status}, 201, 'a role group naming its school by SIS externalId') or diag explain $r->{json};
my $gid = $r->{json}{id};
is_deeply($r->{json}{$ADMG}{schools}, [$roosevelt], '... stored and read back as the school\'s id');
$r = $b->req(POST => '/Users', token => 'demo-clever', json => { schemas => [$CORE], userName => 'rita@roosevelt.example' });
my $rita = $r->{json}{id};
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'add', path => 'members', value => [{ value => $rita }] }] });
ok($r->{status} == 204 || $r->{status} == 200, 'a member added');
my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=rita@roosevelt.example)', attrs => ['rbViewSchool']);
is_deeply($e->[0]{rbViewSchool}, [$roosevelt], 'LDAP: the member views Roosevelt (rbViewSchool)');

for my $case (
    ['an unknown school', { permission => 'view', scope => 'school', schools => ['NO-SUCH-SIS'] }, 'demo-clever'],
    ['an unknown school id', { permission => 'view', scope => 'school', schools => ['00000000-0000-4000-8000-000000000000'] }, 'demo-clever'],
    ['scope school without schools', { permission => 'view', scope => 'school' }, 'demo-clever'],
    ['region scope in a district tenant', { permission => 'view', scope => 'region', region => 'north' }, 'demo-clever'],
    ['an unknown region', { permission => 'view', scope => 'region', region => 'west' }, 'state-okta'],
) {
    my ($what, $grant, $token) = @$case;
    $r = $b->req(POST => '/Groups', token => $token, json => role("Bad $what", $grant));
    is($r->{status}, 400, "$what: 400");
    is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
}
$r = $b->req(POST => '/Groups', token => 'state-okta',
    json => role('North Managers', { permission => 'manage', scope => 'region', region => 'north' }));
is($r->{status}, 201, 'a region-scope role group in a partnership tenant');

$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => "$ADMG:schools", value => ['NO-SUCH-SIS'] }] });
is($r->{status}, 400, 'PATCH to an unknown school: 400');
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => "$ADMG:schools", value => ['SIS-LIN-001'] }] });
ok($r->{status} == 204 || $r->{status} == 200, 'PATCH to another school by SIS id') or diag explain $r;
($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=rita@roosevelt.example)', attrs => ['rbViewSchool']);
is_deeply($e->[0]{rbViewSchool}, [school_id('SIS-LIN-001')], 'LDAP: the member now views Lincoln instead');
done_testing();
