#!/usr/bin/env perl
# 42-school-ownership.t — issue 12, item 3: a school belongs to the source
# that created it. Clever (the SIS) creates Maple Elementary in the north
# region; Okta grants Uma manage there, and a region-scope manager of the
# south is Vic (Okta). Okta can read the school and name it in grants, but
# its rename, move to another region and DELETE get 403 naming "clever";
# over LDAP the school, its region and Uma's summary are unchanged. Clever's
# DELETE while Okta's grant names the school is 409 naming "okta"; once
# Okta drops the school from its grant, Clever deletes it.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM    = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE   = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $SCHOOL = 'urn:rosterbridge:params:scim:schemas:core:2.0:School';
my $PATCH  = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub school_entry {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=schools,o=statewide,$S", filter => '(rbExternalId=SIS-MAPLE)',
        attrs => [qw(cn rbRegionRef rbSource)]);
    return $e->[0];
}
sub managers {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=schools,o=statewide,$S", filter => '(rbExternalId=SIS-MAPLE)', attrs => ['rbManager']);
    return [sort map { lc((split /,/, $_)[0]) } @{ $e->[0]{rbManager} // [] }];
}
sub person {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=statewide,$S", filter => "(uid=$_[0])", attrs => ['rbManageSchool']);
    return $e->[0] // {};
}
sub refused_by {
    my ($r, $owner, $what) = @_;
    is($r->{status}, 403, "$what: 403") or diag explain $r->{json};
    like($r->{json}{detail} // '', qr/belongs to source "$owner"/, "... naming the owner, $owner");
}

# Clever is the SIS: give it a token for the partnership tenant.
my $r = $b->req(POST => '/Schools', token => 'state-clever', json => { schemas => [$SCHOOL],
    name => 'Maple Elementary', externalId => 'SIS-MAPLE', region => 'north' });
is($r->{status}, 201, 'Clever creates Maple Elementary in the north') or diag explain $r->{json};
my $maple = $r->{json}{id};
is_deeply(school_entry()->{rbSource}, ['clever'], 'LDAP: rbSource clever (the owner)');

$r = $b->req(POST => '/Users', token => 'state-okta', json => { schemas => [$CORE, $ADM], userName => 'uma@state.example',
    $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-MAPLE'] } });
is($r->{status}, 201, 'Okta names the school in a grant (a reference)') or diag explain $r->{json};
my $uma = $r->{json}{id};
$r = $b->req(POST => '/Users', token => 'state-okta', json => { schemas => [$CORE, $ADM], userName => 'vic@state.example',
    $ADM => { permission => 'manage', scope => 'region', region => 'south' } });
is($r->{status}, 201, 'Okta: Vic manages the south region');
is_deeply(managers(), ['uid=uma@state.example'], 'LDAP: Maple lists Uma as its manager, not Vic');
is($b->req(GET => "/Schools/$maple", token => 'state-okta')->{status}, 200, 'Okta reads the school');

# ---- Okta's writes are refused ---------------------------------------------------------------------
refused_by($b->req(PUT => "/Schools/$maple", token => 'state-okta', json => { schemas => [$SCHOOL],
    name => 'Renamed by Okta', externalId => 'SIS-MAPLE', region => 'north' }), 'clever', 'Okta PUT renaming it');
refused_by($b->req(PATCH => "/Schools/$maple", token => 'state-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'region', value => 'south' }] }), 'clever', 'Okta PATCH moving it to the south');
refused_by($b->req(DELETE => "/Schools/$maple", token => 'state-okta'), 'clever', 'Okta DELETE');
my $e = school_entry();
is($e->{cn}[0], 'Maple Elementary', 'LDAP: the name is unchanged');
is($e->{rbRegionRef}[0], 'north', 'LDAP: still in the north');
is_deeply(managers(), ['uid=uma@state.example'], 'LDAP: managers unchanged (Vic did not gain it)');
is_deeply(person('uma@state.example')->{rbManageSchool}, [$maple], "LDAP: Uma's summary unchanged");

# ---- Clever's delete while Okta's grant names the school -----------------------------------------------------
$r = $b->req(DELETE => "/Schools/$maple", token => 'state-clever');
is($r->{status}, 409, "Clever DELETE while Okta's grant names it: 409") or diag explain $r->{json};
like($r->{json}{detail} // '', qr/other sources \(okta\)/, '... naming okta');
ok(school_entry(), 'LDAP: the school is still there');
$r = $b->req(GET => "/Users/$uma", token => 'state-okta');
is_deeply($r->{json}{$ADM}{grants}[0]{schools}, [$maple], "Okta's grant still names it");

# Clever's own writes work.
$r = $b->req(PATCH => "/Schools/$maple", token => 'state-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'name', value => 'Maple Elementary School' }] });
is($r->{status}, 200, 'Clever renames its school') or diag explain $r->{json};

# Okta moves Uma elsewhere; then the delete goes through.
$r = $b->req(PATCH => "/Users/$uma", token => 'state-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', path => "$ADM:scope", value => 'partnership' }, { op => 'remove', path => "$ADM:schools" }] });
is($r->{status}, 200, 'Okta changes its grant to partnership scope (no school listed)') or diag explain $r->{json};
is($b->req(DELETE => "/Schools/$maple", token => 'state-clever')->{status}, 204, 'Clever deletes the school now');
ok(!school_entry(), 'LDAP: gone');
is($b->req(GET => "/Schools/$maple", token => 'state-okta')->{status}, 404, 'Okta: 404');
done_testing();
