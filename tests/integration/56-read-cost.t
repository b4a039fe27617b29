#!/usr/bin/env perl
# 56-read-cost.t — issue 17: the cheaper reads keep their meaning.
#
# The bridge now asks slapd for "*" (plus the operational attributes it
# maps) instead of 56 names, and writes its class terms as extensible
# matches, (objectClass:=rbPerson), which back-mdb answers without reading
# the objectClass index (docs/schema.md, "Cost per request"). What must not
# change: the secrets "*" brings to the service account (a password hash,
# an invitation token's hash) appear in no SCIM answer; an entry under
# ou=people that is not an rbPerson (a district tool's) is still no User:
# not by id, not by filter, not in a list or its totalResults; and a PUT
# still keeps the password and the invitation hash it does not name. Since
# the one-entry searches name only the id or the userName (the class and the
# retention tested by the bridge on the entry read), a tool's entry sharing
# a person's uid and a retained person stay out of the answers too.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";
my $HASH = 'f' x 64;
sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }

my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
    userName => 'sal@read.example', name => { givenName => 'Sal', familyName => 'Reed' } });
is($r->{status}, 201, 'Okta creates Sal') or diag explain $r->{json};
my $id = $r->{json}{id};
my ($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=sal\@read.example,$P\nchangetype: modify\n"
    . "replace: userPassword\nuserPassword: Sal-secret-1\n-\nreplace: rbInviteTokenHash\nrbInviteTokenHash: $HASH\n");
is($rc, 0, 'LDAP: Sal gets a password and an invitation hash') or diag $out;
my ($e) = RBTest::ldapsearch($dir, base => $P, filter => '(uid=sal@read.example)', as => 'admin',
                             attrs => [qw(userPassword rbInviteTokenHash)]);
like($e->[0]{userPassword}[0] // '', qr/^\{[A-Z0-9]+\}/, 'LDAP: the password is stored hashed (slapd\'s scheme)');
my $pwhash = $e->[0]{userPassword}[0] // 'none';

sub no_secret {
    my ($res, $what) = @_;
    is($res->{status}, 200, "$what answers 200") or diag explain $res->{json};
    my $body = $res->{content} // '';
    ok(index($body, $pwhash) < 0 && index($body, $HASH) < 0 && $body !~ /\{(?:SSHA|ARGON2)\}|userPassword|rbInviteTokenHash/i,
       "$what holds neither the password hash nor the invitation hash");
}
no_secret($b->req(GET => "/Users/$id", token => 'demo-okta'), 'GET by id');
no_secret($b->req(GET => '/Users?filter=' . enc('userName eq "sal@read.example"'), token => 'demo-okta'),
          'GET ?filter=userName eq');
no_secret($b->req(GET => '/Users?sortBy=userName&count=50', token => 'demo-okta'), 'a sorted page');
no_secret($b->req(PATCH => "/Users/$id", token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => 'title', value => 'Reader' }] }), 'PATCH (its answer is the post-read entry)');

$r = $b->req(PUT => "/Users/$id", token => 'demo-okta', json => { schemas => [$CORE],
    userName => 'sal@read.example', name => { givenName => 'Sal', familyName => 'Reed' }, title => 'Lead' });
is($r->{status}, 200, 'PUT without password') or diag explain $r->{json};
($e) = RBTest::ldapsearch($dir, base => $P, filter => '(uid=sal@read.example)', as => 'admin',
                          attrs => [qw(userPassword rbInviteTokenHash title)]);
is($e->[0]{userPassword}[0], $pwhash, 'LDAP: the PUT kept the password');
is($e->[0]{rbInviteTokenHash}[0], $HASH, 'LDAP: ... and the invitation hash');
is($e->[0]{title}[0], 'Lead', 'LDAP: ... and wrote the title');

# A district tool's entry under ou=people that is not an rbPerson.
($rc, $out) = RBTest::ldapadd($dir, "dn: uid=tool\@read.example,$P\nobjectClass: inetOrgPerson\n"
    . "uid: tool\@read.example\ncn: Tool\nsn: Tool\n", as => 'admin');
is($rc, 0, 'LDAP: a tool adds an inetOrgPerson without rbPerson') or diag $out;
my ($t) = RBTest::ldapsearch($dir, base => $P, filter => '(uid=tool@read.example)', attrs => ['entryUUID']);
my $tid = $t->[0]{entryUUID}[0];
ok($tid, "LDAP: it has an entryUUID ($tid)");
is($b->req(GET => "/Users/$tid", token => 'demo-okta')->{status}, 404, 'GET /Users/<its id>: 404');
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "tool@read.example"'), token => 'demo-okta');
is($r->{json}{totalResults}, 0, 'filter userName eq: not found');
$r = $b->req(GET => '/Users?filter=' . enc('userName sw "tool"'), token => 'demo-okta');
is($r->{json}{totalResults}, 0, 'filter userName sw (evaluated by the bridge): not found');
my ($people) = RBTest::ldapsearch($dir, base => $P, scope => 'one', filter => '(objectClass=rbPerson)', attrs => ['1.1']);
for my $q ('/Users?count=1', '/Users?count=1&sortBy=userName', '/Users?count=0') {
    $r = $b->req(GET => $q, token => 'demo-okta');
    is($r->{json}{totalResults}, scalar @$people, "GET $q: totalResults counts the rbPerson entries only");
}
$r = $b->req(GET => '/Users?count=100', token => 'demo-okta');
ok(!grep({ ($_->{userName} // '') eq 'tool@read.example' } @{ $r->{json}{Resources} // [] }), 'a full page lists no tool entry');

# A search naming one entry (by id, by userName) sends slapd the id or the
# name alone and tests the class and the retention on what comes back
# (dir_map_is_person). A tool's entry carrying a person's uid as a second
# name matches (uid=...) too: the bridge still answers with the person only.
($rc, $out) = RBTest::ldapadd($dir, "dn: cn=Sal badge,$P\nobjectClass: inetOrgPerson\n"
    . "cn: Sal badge\nsn: Badge\nuid: sal\@read.example\n", as => 'admin');
is($rc, 0, "LDAP: a tool's entry with Sal's uid as a second name") or diag $out;
my ($both) = RBTest::ldapsearch($dir, base => $P, scope => 'one', filter => '(uid=sal@read.example)', attrs => ['1.1']);
is(scalar @$both, 2, 'LDAP: (uid=sal@read.example) matches two entries');
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "sal@read.example"'), token => 'demo-okta');
is($r->{json}{totalResults}, 1, 'filter userName eq: totalResults 1 (the person)') or diag explain $r->{json};
is($r->{json}{Resources}[0]{id}, $id, '... and it is Sal');
is($b->req(GET => "/Users/$id", token => 'demo-okta')->{status}, 200, 'GET Sal by id: 200');

# A retained person (rbDisabledAt, retention) is no User by id or by name either.
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
    userName => 'ret@read.example', name => { givenName => 'Ret', familyName => 'Ained' } });
is($r->{status}, 201, 'Okta creates Ret') or diag explain $r->{json};
my $rid = $r->{json}{id};
($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=ret\@read.example,$P\nchangetype: modify\n"
    . "replace: rbDisabledAt\nrbDisabledAt: 20261130000000Z\n", as => 'admin');
is($rc, 0, 'LDAP: Ret is retained (rbDisabledAt)') or diag $out;
is($b->req(GET => "/Users/$rid", token => 'demo-okta')->{status}, 404, 'GET Ret by id: 404');
$r = $b->req(GET => '/Users?filter=' . enc('userName eq "ret@read.example"'), token => 'demo-okta');
is($r->{json}{totalResults}, 0, 'filter userName eq: Ret not found');
$r = $b->req(GET => '/Users?filter=' . enc(qq(id eq "$rid")), token => 'demo-okta');
is($r->{json}{totalResults}, 0, 'filter id eq: Ret not found');
is($b->req(PATCH => "/Users/$rid", token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => 'title', value => 'x' }] })->{status}, 404, 'PATCH Ret: 404');
done_testing();
