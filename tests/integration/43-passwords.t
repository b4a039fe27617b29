#!/usr/bin/env perl
# 43-passwords.t — issue 12, item 4: a token sets `password` only when its
# configuration line says passwords=yes (here Okta's, the demo tenant's
# credential source); any other token gets 403 mutability and nothing is
# written. Clever creates the administrator Pia; Clever's and Entra's
# attempts to set her password (POST, PATCH, PUT) are refused and her entry
# has no userPassword; Okta's PATCH sets it through the password-modify
# extended operation: slapd stores it hashed and Pia binds.
# /ServiceProviderConfig says changePassword is supported for Okta only.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};
my $DN = "uid=pia\@pw.example,ou=people,o=demo,$S";

sub stored_pw {
    my ($e) = RBTest::ldapsearch($dir, base => $DN, scope => 'base', attrs => [qw(userPassword title)]);
    return $e->[0] // {};
}
sub refused {
    my ($r, $what) = @_;
    is($r->{status}, 403, "$what: 403") or diag explain $r->{json};
    is($r->{json}{scimType}, 'mutability', '... scimType mutability');
}
sub set_pw {
    my ($token, $pw) = @_;
    return $b->req(PATCH => "/Users/$_[2]", token => $token, json => { schemas => [$PATCH],
        Operations => [{ op => 'replace', path => 'password', value => $pw }, { op => 'replace', path => 'title', value => "set by $token" }] });
}

my $spc = $b->req(GET => '/ServiceProviderConfig', token => 'demo-clever');
ok(!$spc->{json}{changePassword}{supported}, 'SPC for Clever: changePassword not supported');
$spc = $b->req(GET => '/ServiceProviderConfig', token => 'demo-okta');
ok($spc->{json}{changePassword}{supported}, 'SPC for Okta (passwords=yes): supported');

refused($b->req(POST => '/Users', token => 'demo-clever', json => { schemas => [$CORE], userName => 'pia@pw.example', password => 'Pia-pw-1' }),
        'Clever POST with a password');
ok(!stored_pw()->{dn}, 'LDAP: no entry was created');

my $r = $b->req(POST => '/Users', token => 'demo-clever', json => { schemas => [$CORE, $ADM], userName => 'pia@pw.example',
    $ADM => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'Clever creates Pia, a district manager, without a password');
my $pia = $r->{json}{id};

refused(set_pw('demo-clever', 'Clever-pw', $pia), 'Clever PATCH password');
refused(set_pw('demo-entra', 'Entra-pw', $pia), 'Entra PATCH password (a takeover across sources)');
refused($b->req(PUT => "/Users/$pia", token => 'demo-entra', json => { schemas => [$CORE], userName => 'pia@pw.example', password => 'Entra-pw' }),
        'Entra PUT with a password');
my $e = stored_pw();
ok(!$e->{userPassword}, 'LDAP: still no userPassword');
ok(!$e->{title}, 'LDAP: nothing else of the refused PATCH was written either');
my ($rc) = RBTest::ldapwhoami($dir, dn => $DN, pw => 'Entra-pw');
isnt($rc, 0, 'no bind with the refused password');

$r = set_pw('demo-okta', 'Okta-pw-1', $pia);
is($r->{status}, 200, 'Okta (passwords=yes) sets the password') or diag explain $r->{json};
ok(!exists $r->{json}{password}, '... never returned');
$e = stored_pw();
like($e->{userPassword}[0] // '', qr/^\{ARGON2\}/, "LDAP: stored hashed by slapd ({ARGON2}: kit step 0002), never in clear");
unlike($e->{userPassword}[0] // '', qr/Okta-pw-1/, '... the clear text is nowhere in it');
($rc) = RBTest::ldapwhoami($dir, dn => $DN, pw => 'Okta-pw-1');
is($rc, 0, 'Pia binds with it');

$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'quinn@pw.example', password => 'Quinn-pw-1' });
is($r->{status}, 201, 'Okta creates a person with a password');
($rc) = RBTest::ldapwhoami($dir, dn => "uid=quinn\@pw.example,ou=people,o=demo,$S", pw => 'Quinn-pw-1');
is($rc, 0, '... who binds');
unlike($b->log_text, qr/Okta-pw-1|Quinn-pw-1/, "the daemon's log never shows a password");
done_testing();
