#!/usr/bin/env perl
# 77-console-role-step.t — the role step of Invite Users in a partnership
# tenant (issue 13, SPEC §4), server-side and without JavaScript: the school
# role's schools are those of the region chosen first (the form goes back to
# the server with "Show the schools of this region", nothing saved, and the
# page lists that region's schools only); the server refuses a school
# outside the chosen region (and a school role without a region), in Invite
# and in Edit. Real slapd (the seed's "statewide" partnership: regions
# north and south, two schools each), real daemon, real HTTP, a real SMTP
# listener.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use RBTest;
use RBBridge;
use RBSmtp;
use RBConsole;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $T    = JSON::PP::true;
my $NVH  = '5eed0003-0000-4000-8000-000000000001';    # North Valley High School (north)
my $PRE  = '5eed0003-0000-4000-8000-000000000002';    # Pine Ridge Elementary (north)
my $SBM  = '5eed0003-0000-4000-8000-000000000003';    # South Bay Middle School (south)
my $HHS  = '5eed0003-0000-4000-8000-000000000004';    # Harbor High School (south)

my $dir  = RBTest::start_directory();
my $S    = $dir->{suffix};
my $smtp = RBSmtp->start;
my $b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } ("smtp_host 127.0.0.1",
    "smtp_port $smtp->{port}", "smtp_tls none", "smtp_from noreply\@sep.example")));

sub admin {
    my ($uid, $name, $grant, $pw) = @_;
    my $r = $b->req(POST => '/Users', token => 'state-okta', json => {
        schemas => [$CORE, $ADM], userName => $uid, displayName => $name,
        emails => [{ value => $uid, primary => $T }], $ADM => $grant });
    is($r->{status}, 201, "$uid created") or diag explain $r->{json};
    my ($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=$uid,ou=people,o=statewide,$S\nchangetype: modify\n"
                                        . "replace: userPassword\nuserPassword: $pw\n");
    is($rc, 0, "$uid has a password") or diag $out;
}
sub console_as {
    my ($uid, $pw) = @_;
    my $c = RBConsole->new($b, 'statewide');
    $c->get('/signin');
    is($c->post('/signin', { login => $uid, password => $pw })->{status}, 303, "$uid signs in");
    return $c;
}
sub listed { my ($html) = @_; return [sort $html =~ /<input type="checkbox" name="school" value="([^"]+)"/g]; }
sub checked { my ($html) = @_; return [sort $html =~ /<input type="checkbox" name="school" value="([^"]+)"[^>]*checked/g]; }
sub grant_of {
    my ($uid) = @_;
    my $r = $b->req(GET => "/Users?filter=userName%20eq%20%22$uid%22", token => 'state-okta');
    my $u = $r->{json}{Resources}[0] or return;
    my ($g) = grep { $_->{source} eq 'in-product' } @{ $u->{$ADM}{grants} // [] };
    return wantarray ? ($g, $u) : $g;
}

admin('paula@sep.example', 'Paula Partnership', { permission => 'manage', scope => 'partnership', canManageAdmins => $T }, 'paula-pw-1');
admin('rob@sep.example', 'Rob North', { permission => 'manage', scope => 'region', region => 'north', canManageAdmins => $T }, 'rob-pw-1');

# ---- step 1: no region yet, no schools --------------------------------------------------------
my $pc = console_as('paula@sep.example', 'paula-pw-1');
my $r = $pc->get('/admins/invite');
is($r->{status}, 200, 'Invite Users');
unlike($r->{content}, qr/<script/i, 'no JavaScript on the page');
like($r->{content}, qr/<button type="submit" name="step" value="schools"[^>]*>Show the schools of this region<\/button>/,
     'a plain submit button takes the role step to the server');
is_deeply(listed($r->{content}), [], 'before a region is chosen, no school is offered');
like($r->{content}, qr/Choose the region above/, '... and the page says why');

# ---- step 2: the region's schools only ------------------------------------------------------------
$r = $pc->post('/admins/invite', { name => 'Nia', email => 'nia@sep.example', role => 'school', region => 'north',
                                   permission => 'view', step => 'schools' });
is($r->{status}, 200, '"Show the schools of this region" (north): the form again, 200');
is_deeply(listed($r->{content}), [sort $NVH, $PRE], '... listing the north schools only');
like($r->{content}, qr/<option value="north" selected(?:="selected")?>North Region<\/option>/, '... north still chosen');
like($r->{content}, qr/<legend>Schools of North Region \(school role\)<\/legend>/, '... under a legend naming it');
like($r->{content}, qr/value="Nia"/, '... what was typed is kept');
ok(!grant_of('nia@sep.example'), '... and nothing was saved');
is(scalar(() = $smtp->messages), 0, '... nor sent');
$r = $pc->post('/admins/invite', { name => 'Nia', email => 'nia@sep.example', role => 'school', region => 'south',
                                   permission => 'view', step => 'schools' });
is_deeply(listed($r->{content}), [sort $SBM, $HHS], 'another region (south): its schools only');

# ---- the server refuses a school outside the chosen region ------------------------------------------
$r = $pc->post('/admins/invite', { name => 'Nia', email => 'nia@sep.example', role => 'school', region => 'north',
                                   school => [$NVH, $SBM], permission => 'view' });
is($r->{status}, 400, 'Send Invite with a south school under region north: 400');
like($r->{content}, qr/South Bay Middle School is not a school of North Region/, '... said next to the schools');
ok(!grant_of('nia@sep.example'), '... nobody invited');
$r = $pc->post('/admins/invite', { name => 'Nia', email => 'nia@sep.example', role => 'school',
                                   school => [$NVH], permission => 'view' });
is($r->{status}, 400, 'a school role without a region: 400');
like($r->{content}, qr/Choose the region of the schools first/, '... saying so');
ok(!grant_of('nia@sep.example'), '... nobody invited');

$r = $pc->post('/admins/invite', { name => 'Nia', email => 'nia@sep.example', role => 'school', region => 'north',
                                   school => [$NVH, $PRE], permission => 'manage' });
is($r->{status}, 303, 'two north schools under region north: invited') or diag $r->{content};
my ($g, $nia) = grant_of('nia@sep.example');
is_deeply([$g->{scope}, [sort @{ $g->{schools} }]], ['school', [sort $NVH, $PRE]], '... a school-scope grant at both');
ok($smtp->wait_for(sub { $_[0]{to} eq 'nia@sep.example' }, 120), '... and the e-mail went out');

# ---- Edit: the same step and the same refusal -----------------------------------------------------
$r = $pc->get("/admins/$nia->{id}/edit");
is($r->{status}, 200, 'Edit');
like($r->{content}, qr/<option value="north" selected(?:="selected")?>/, "... the grant's region chosen (from its schools)");
is_deeply(listed($r->{content}), [sort $NVH, $PRE], '... its schools listed');
is_deeply(checked($r->{content}), [sort $NVH, $PRE], '... and checked');
$r = $pc->post("/admins/$nia->{id}/edit", { role => 'school', region => 'south', school => [$NVH],
                                             permission => 'manage', step => 'schools' });
is($r->{status}, 200, 'Edit, region south, Show the schools: 200');
is_deeply(listed($r->{content}), [sort $SBM, $HHS], '... south schools only');
$r = $pc->post("/admins/$nia->{id}/edit", { role => 'school', region => 'south', school => [$NVH],
                                             permission => 'manage' });
is($r->{status}, 400, 'Save with a north school under region south: 400');
($g) = grant_of('nia@sep.example');
is_deeply([sort @{ $g->{schools} }], [sort $NVH, $PRE], '... the grant unchanged');
$r = $pc->post("/admins/$nia->{id}/edit", { role => 'school', region => 'south', school => [$HHS],
                                             permission => 'view' });
is($r->{status}, 303, 'Save Harbor High under region south: saved');
($g) = grant_of('nia@sep.example');
is_deeply([$g->{schools}, $g->{permission}], [[$HHS], 'view'], '... the grant moved');

# ---- a region manager: the step lists only what he covers -----------------------------------------
my $rc = console_as('rob@sep.example', 'rob-pw-1');
$rc->get('/admins/invite');
$r = $rc->post('/admins/invite', { name => 'X', email => 'x@sep.example', role => 'school', region => 'north',
                                   permission => 'view', step => 'schools' });
is_deeply(listed($r->{content}), [sort $NVH, $PRE], 'Rob (north): the north schools');
$r = $rc->post('/admins/invite', { name => 'X', email => 'x@sep.example', role => 'school', region => 'south',
                                   permission => 'view', step => 'schools' });
is_deeply(listed($r->{content}), [], 'Rob, region south: none of its schools is his to give');
done_testing();
