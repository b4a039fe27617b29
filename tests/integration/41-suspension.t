#!/usr/bin/env perl
# 41-suspension.t — issue 12, item 2: a source's active=false suspends every
# grant it gives the person, its role groups' included, and the summary and
# the bind lock follow in the same change. Okta (which never sends DELETE)
# gives Olga a direct school grant and puts her in its role group
# (manage, district); Clever gives her a view grant on one school. Okta
# deactivates her: over SCIM Okta reads active=false and both Okta grants
# inactive, Clever still reads its grant active; over LDAP rbManageAll is
# gone, rbViewSchool keeps Clever's school only. Then Clever deactivates
# too: the bind is locked. Okta re-activates: everything is back.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};
my $DN = "uid=olga\@sus.example,ou=people,o=demo,$S";

sub person {
    my ($e) = RBTest::ldapsearch($dir, base => $DN, scope => 'base',
        attrs => [qw(rbManageAll rbViewAll rbManageSchool rbViewSchool rbBindLocked)]);
    return $e->[0] // {};
}
sub school_id {
    my $r = $b->req(GET => "/Schools?filter=externalId%20eq%20%22$_[0]%22", token => 'demo-okta');
    return $r->{json}{Resources}[0]{id};
}
sub set_active {
    my ($id, $token, $on) = @_;
    return $b->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH],
        Operations => [{ op => 'replace', path => 'active', value => $on ? JSON::PP::true : JSON::PP::false }] });
}
sub grants_by { my ($r, $src) = @_; return [grep { $_->{source} eq $src } @{ $r->{json}{$ADM}{grants} // [] }] }
sub bind_rc { my ($rc) = RBTest::ldapwhoami($dir, dn => $DN, pw => 'Olga-pw-1'); return $rc }

my ($lin, $roo) = (school_id('SIS-LIN-001'), school_id('SIS-ROO-003'));
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'olga@sus.example', active => JSON::PP::true, password => 'Olga-pw-1',
    $ADM => { permission => 'manage', scope => 'school', schools => [$lin] } });
is($r->{status}, 201, 'Okta: Olga, manage at Lincoln, active') or diag explain $r->{json};
my $olga = $r->{json}{id};
$r = $b->req(POST => '/Groups', token => 'demo-okta', json => { schemas => [$GROUP, $ADMG],
    displayName => 'Okta District Managers', members => [{ value => $olga }],
    $ADMG => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, "Okta: its role group (manage, district) with Olga") or diag explain $r->{json};
$r = $b->req(PATCH => "/Users/$olga", token => 'demo-clever', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { active => JSON::PP::true, "$ADM:permission" => 'view', "$ADM:scope" => 'school', "$ADM:schools" => [$roo] } }] });
is($r->{status}, 200, 'Clever: its own view grant at Roosevelt') or diag explain $r->{json};
my $p = person();
is_deeply($p->{rbManageAll}, ['TRUE'], 'LDAP before: rbManageAll (Okta role group)');
is_deeply([sort @{ $p->{rbViewSchool} }], [sort $lin, $roo], 'LDAP before: views Lincoln and Roosevelt');

# ---- Okta deactivates ---------------------------------------------------------------------------
$r = set_active($olga, 'demo-okta', 0);
is($r->{status}, 200, 'Okta: active=false') or diag explain $r->{json};
ok(!$r->{json}{active}, 'Okta reads active=false');
my $okta = grants_by($r, 'okta');
is(scalar @$okta, 2, 'Okta sees its two grants (direct and role group)');
ok(!grep({ $_->{active} } @$okta), '... both inactive, the role group grant included');
$p = person();
ok(!$p->{rbManageAll}, 'LDAP: rbManageAll gone in the same change');
ok(!$p->{rbManageSchool}, 'LDAP: rbManageSchool gone');
is_deeply($p->{rbViewSchool}, [$roo], "LDAP: only Clever's school is left");
ok(!$p->{rbBindLocked}, "LDAP: not locked: Clever's grant vouches");
$r = $b->req(GET => "/Users/$olga", token => 'demo-clever');
ok($r->{json}{active}, 'Clever still reads active=true');
ok(grants_by($r, 'clever')->[0]{active}, "... and its grant active");
ok(!grep({ $_->{active} } @{ grants_by($r, 'okta') }), "... Okta's grants shown inactive");

# ---- Clever deactivates too: nobody vouches ----------------------------------------------------------------
set_active($olga, 'demo-clever', 0);
$p = person();
is_deeply($p->{rbBindLocked}, ['TRUE'], 'LDAP: locked once Clever suspends too');
ok(!$p->{rbViewSchool}, 'LDAP: no access left');
is(bind_rc(), 49, 'bind refused');

# ---- Okta re-activates: its direct and role-group grants are back ------------------------------------------
$r = set_active($olga, 'demo-okta', 1);
ok(!grep({ !$_->{active} } @{ grants_by($r, 'okta') }), 'Okta: both grants active again');
$p = person();
is_deeply($p->{rbManageAll}, ['TRUE'], 'LDAP: rbManageAll back');
ok(!$p->{rbBindLocked}, 'LDAP: unlocked');
is(bind_rc(), 0, 'binds');
done_testing();
