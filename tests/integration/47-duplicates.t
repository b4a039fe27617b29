#!/usr/bin/env perl
# 47-duplicates.t — issue 12, item 6 (derived values): possible-duplicate
# flags follow the namesake. Clever's Mary Smith and Okta's Mary Smith (another
# e-mail) are flagged on both entries; Entra's third one too. Entra renames
# its person (userName): Clever's flag now names the new DN. Okta deletes its
# person (its only hold): no flag names it any more, over LDAP.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";

sub flags {
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => $P, filter => "(uid=$uid)", attrs => ['rbPossibleDuplicate']);
    return [sort map { lc } @{ $e->[0]{rbPossibleDuplicate} // [] }];
}
sub mary {
    my ($token, $uid, $mail) = @_;
    my $r = $b->req(POST => '/Users', token => $token, json => { schemas => [$CORE], userName => $uid,
        name => { givenName => 'Mary', familyName => 'Smith' }, emails => [{ value => $mail, type => 'work' }] });
    is($r->{status}, 201, "$token: $uid");
    return $r->{json}{id};
}
my $c = mary('demo-clever', 'mary@clever.example', 'mary@clever.example');
my $o = mary('demo-okta', 'msmith@okta.example', 'msmith@okta.example');
my $e = mary('demo-entra', 'ms@entra.example', 'ms@entra.example');
is_deeply(flags('mary@clever.example'), [sort map { lc "uid=$_,$P" } 'msmith@okta.example', 'ms@entra.example'],
          "LDAP: Clever's Mary is flagged with both namesakes");

my $r = $b->req(PATCH => "/Users/$e", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'userName', value => 'mary.smith@entra.example' }] });
is($r->{status}, 200, 'Entra renames its person') or diag explain $r->{json};
is_deeply(flags('mary@clever.example'), [sort map { lc "uid=$_,$P" } 'msmith@okta.example', 'mary.smith@entra.example'],
          "LDAP: Clever's flag follows the rename");
is_deeply(flags('mary.smith@entra.example'), [sort map { lc "uid=$_,$P" } 'mary@clever.example', 'msmith@okta.example'],
          "LDAP: the renamed entry keeps its own flags");

is($b->req(DELETE => "/Users/$o", token => 'demo-okta')->{status}, 204, 'Okta deletes its person (its only hold)');
is_deeply(flags('mary@clever.example'), [lc "uid=mary.smith\@entra.example,$P"], 'LDAP: no flag names the deleted person');
is_deeply(flags('mary.smith@entra.example'), [lc "uid=mary\@clever.example,$P"], '... on either namesake');
my ($all) = RBTest::ldapsearch($dir, base => $P, filter => "(rbPossibleDuplicate=uid=msmith\@okta.example,$P)", attrs => ['uid']);
is(scalar @$all, 0, 'LDAP: one search finds nobody pointing at it');
done_testing();
