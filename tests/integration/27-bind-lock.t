#!/usr/bin/env perl
# 27-bind-lock.t — the LDAP bind of a person nobody vouches for is locked
# (SPEC §1: "the directory entry stays enabled while any grant is active").
# The bridge writes rbBindLocked: TRUE, in the same modify as the grant
# change, when the person has no active grant (direct or via a role group)
# and no source holds it active; slapd's ACL then refuses `auth` on its
# userPassword, so a bind with the right password fails with 49. Checked:
# an ordinary user pushed active binds; its only source suspends it; a
# second source's active grant unlocks it and its DELETE locks it again;
# re-activation; a person no source ever set active on; creation with
# active=false; another source's role group's grant vouching and being
# withdrawn (the suspending source's own role group does not vouch).
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub dn_of { "uid=$_[0],ou=people,o=demo,$S" }
sub locked {    # rbBindLocked of a person as stored, or undef
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => dn_of($uid), scope => 'base', attrs => ['rbBindLocked']);
    return $e->[0] ? $e->[0]{rbBindLocked}[0] : 'NO ENTRY';
}
sub bind_rc {    # exit code of ldapwhoami as the person (0: bound, 49: invalidCredentials)
    my ($uid, $pw) = @_;
    my ($rc) = RBTest::ldapwhoami($dir, dn => dn_of($uid), pw => $pw);
    return $rc;
}
sub set_pw {    # the password as an operator sets it (Okta, the credential source, holds neither person)
    my ($uid, $pw) = @_;
    my ($rc, $out) = RBTest::ldapmodify($dir, "dn: " . dn_of($uid) . "\nchangetype: modify\nreplace: userPassword\nuserPassword: $pw\n");
    return $rc;
}
sub patch {
    my ($id, $token, @ops) = @_;
    return $b->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH], Operations => [@ops] });
}
sub set_active { patch($_[0], $_[1], { op => 'replace', path => 'active', value => $_[2] ? JSON::PP::true : JSON::PP::false }) }

# ---- one source: an ordinary user pushed active, then suspended -------------------------
my $PW = 'Lock-test-pw-1';
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => [$CORE], userName => 'lena@lincoln.example', active => JSON::PP::true, password => $PW });
is($r->{status}, 201, 'Okta: an ordinary user (no grant), active, with a password') or diag explain $r->{json};
my $lena = $r->{json}{id};
ok(!exists $r->{json}{rbBindLocked} && !grep(/bind/i, keys %{ $r->{json}{$ADM} // {} }),
   'SCIM shows no bind-lock attribute');
is(locked('lena@lincoln.example'), undef, 'LDAP: no rbBindLocked');
is(bind_rc('lena@lincoln.example', $PW), 0, 'ldapwhoami with the password binds');
isnt(bind_rc('lena@lincoln.example', 'wrong'), 0, 'a wrong password does not');

$r = set_active($lena, 'demo-okta', 0);
is($r->{status}, 200, 'Okta: active=false') or diag explain $r->{json};
ok(!$r->{json}{active}, '... reads inactive');
is(locked('lena@lincoln.example'), 'TRUE', 'LDAP: rbBindLocked TRUE');
is(bind_rc('lena@lincoln.example', $PW), 49, 'the right password no longer binds: invalidCredentials (49)');

# ---- a second source attaches an active grant, then releases its hold --------------------
$r = patch($lena, 'demo-entra', { op => 'add', value => {
    active => JSON::PP::true, "$ADM:permission" => 'view', "$ADM:scope" => 'district' } });
is($r->{status}, 200, 'Entra attaches an active district view grant') or diag explain $r->{json};
is(locked('lena@lincoln.example'), undef, 'LDAP: rbBindLocked gone (same modify as the grant)');
is(bind_rc('lena@lincoln.example', $PW), 0, 'binds again: one active grant from any source is enough');
$r = $b->req(GET => "/Users/$lena", token => 'demo-okta');
ok(!$r->{json}{active}, 'Okta still reads its own suspension');

$r = patch($lena, 'demo-entra', { op => 'replace', path => 'active', value => JSON::PP::false });
is(locked('lena@lincoln.example'), 'TRUE', 'Entra suspends its grant too: locked');
is(bind_rc('lena@lincoln.example', $PW), 49, '... bind refused');
$r = patch($lena, 'demo-entra', { op => 'replace', path => 'active', value => JSON::PP::true });
is(locked('lena@lincoln.example'), undef, 'Entra re-activates: unlocked');

is($b->req(DELETE => "/Users/$lena", token => 'demo-entra')->{status}, 204, 'Entra releases its hold (DELETE)');
is(locked('lena@lincoln.example'), 'TRUE', 'LDAP: locked again (only the suspended Okta hold is left)');
is(bind_rc('lena@lincoln.example', $PW), 49, '... bind refused');

$r = set_active($lena, 'demo-okta', 1);
is($r->{status}, 200, 'Okta re-activates');
is(locked('lena@lincoln.example'), undef, 'LDAP: unlocked');
is(bind_rc('lena@lincoln.example', $PW), 0, 'binds again');

# ---- an administrator whose only grant is suspended -------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$CORE, $ADM], userName => 'abe@lincoln.example',
    $ADM => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'Clever: an administrator, no active flag given (the grant is active)') or diag explain $r->{json};
my $abe = $r->{json}{id};
is(set_pw('abe@lincoln.example', $PW), 0, 'his password is set over LDAP');
is(locked('abe@lincoln.example'), undef, 'LDAP: not locked');
is(bind_rc('abe@lincoln.example', $PW), 0, 'binds');
set_active($abe, 'demo-clever', 0);
is(locked('abe@lincoln.example'), 'TRUE', 'Clever suspends its grant: locked');
is(bind_rc('abe@lincoln.example', $PW), 49, '... bind refused');
$r = $b->req(PUT => "/Users/$abe", token => 'demo-clever', json => {
    schemas => [$CORE, $ADM], userName => 'abe@lincoln.example', active => JSON::PP::true,
    $ADM => { permission => 'manage', scope => 'district' } });
is($r->{status}, 200, 'Clever re-activates with PUT (no password in the body)') or diag explain $r->{json};
is(locked('abe@lincoln.example'), undef, 'LDAP: unlocked');
is(bind_rc('abe@lincoln.example', $PW), 0, 'binds with the password set before');

# ---- a second source attaches its grant without saying `active` -------------------------------
# It reads the person back as inactive (derived from Clever's suspension); a
# PATCH that leaves `active` alone must not store that as its own flag.
set_active($abe, 'demo-clever', 0);
is(locked('abe@lincoln.example'), 'TRUE', 'Clever suspends again: locked');
$r = $b->req(GET => "/Users/$abe", token => 'demo-okta');
ok(!$r->{json}{active}, 'Okta (no grant yet) reads the derived active=false');
$r = patch($abe, 'demo-okta', { op => 'add', value => { "$ADM:permission" => 'view', "$ADM:scope" => 'district' } });
is($r->{status}, 200, 'Okta attaches a view grant by PATCH, no active in it') or diag explain $r->{json};
my ($okg) = grep { $_->{source} eq 'okta' } @{ $r->{json}{$ADM}{grants} // [] };
ok($okg && $okg->{active}, "Okta's new grant is active (not born suspended)") or diag explain $r->{json}{$ADM};
ok($r->{json}{active}, '... and Okta now reads active');
my ($oa) = RBTest::ldapsearch($dir, base => dn_of('abe@lincoln.example'), scope => 'base', attrs => ['rbActive;x-src-okta']);
ok(!grep({ /^rbActive;x-src-okta$/i } keys %{ $oa->[0] // {} }), 'LDAP: no rbActive;x-src-okta stored');
is(locked('abe@lincoln.example'), undef, 'LDAP: unlocked by the active grant');
set_active($abe, 'demo-clever', 1);

# ---- no source ever said anything about active ---------------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => [$CORE], userName => 'nico@lincoln.example', password => $PW });
is($r->{status}, 201, 'a person with no active flag and no grant');
ok($r->{json}{active}, '... reads active over SCIM');
is(locked('nico@lincoln.example'), undef, '... and is not locked');
is(bind_rc('nico@lincoln.example', $PW), 0, '... binds');

# ---- created inactive; a role group vouches, then withdraws ------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-entra', json => {
    schemas => [$CORE], userName => 'rita@district.example', active => JSON::PP::false });
is($r->{status}, 201, 'Entra: a person created with active=false') or diag explain $r->{json};
my $rita = $r->{json}{id};
is(set_pw('rita@district.example', $PW), 0, 'her password is set over LDAP');
is(locked('rita@district.example'), 'TRUE', 'LDAP: locked from the add on');
is(bind_rc('rita@district.example', $PW), 49, '... bind refused');
# Entra's own role group does not vouch: Entra's active=false suspends every
# grant Entra gives her, its role groups' included (issue 12, item 2).
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group', $ADMG], displayName => 'Entra Viewers',
    members => [{ value => $rita }], $ADMG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra: a role group of its own with her as a member') or diag explain $r->{json};
is(locked('rita@district.example'), 'TRUE', "LDAP: still locked: Entra's suspension covers its role group's grant");
is(bind_rc('rita@district.example', $PW), 49, '... bind refused');
# Another source's role group does vouch.
$r = $b->req(POST => '/Groups', token => 'demo-clever', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group', $ADMG], displayName => 'District Viewers',
    members => [{ value => $rita }], $ADMG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Clever: a role group with her as a member') or diag explain $r->{json};
my $role = $r->{json}{id};
is(locked('rita@district.example'), undef, "LDAP: Clever's role group's active grant unlocks her");
is(bind_rc('rita@district.example', $PW), 0, '... binds');
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-clever', json => { schemas => [$PATCH], Operations => [
    { op => 'Remove', path => 'members', value => [{ value => $rita }] }] });
ok($r->{status} == 200 || $r->{status} == 204, 'member removed') or diag explain $r;
is(locked('rita@district.example'), 'TRUE', 'LDAP: locked again');
is(bind_rc('rita@district.example', $PW), 49, '... bind refused');
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-clever', json => { schemas => [$PATCH], Operations => [
    { op => 'Add', path => 'members', value => [{ value => $rita }] }] });
is(locked('rita@district.example'), undef, 'member again: unlocked');
is($b->req(DELETE => "/Groups/$role", token => 'demo-clever')->{status}, 204, 'the role group is deleted');
is(locked('rita@district.example'), 'TRUE', 'LDAP: locked again');

# ---- the lock guards only the bind --------------------------------------------------------------------
my ($e) = RBTest::ldapsearch($dir, as => 'reader:demo', base => "ou=people,o=demo,$S", filter => '(rbBindLocked=TRUE)', attrs => ['uid']);
is_deeply([sort map { $_->{uid}[0] } @$e], ['rita@district.example'], 'a tenant reader lists locked people with one search');
my ($rc, $out) = RBTest::ldapmodify($dir, "dn: " . dn_of('rita@district.example')
    . "\nchangetype: modify\nreplace: userPassword\nuserPassword: New-pw-2\n");
is($rc, 0, 'the service account still writes a locked password') or diag $out;
is(bind_rc('rita@district.example', 'New-pw-2'), 49, '... which still does not bind');

done_testing();
