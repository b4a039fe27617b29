#!/usr/bin/env perl
# 44-members.t — issue 12, item 5: member changes are idempotent. Entra
# removes [A, an id that names nobody] from its role group: A is removed
# (and loses the role grant), the unknown id is ignored, 204. Removing a
# person who is not a member, or removing twice, is 204 and changes
# nothing. Adding a present member is 204. An unknown id in an *add* is
# still a 400 (nothing would be added silently). Checked over SCIM and LDAP.
# Concurrent removes: four clients through two daemons add and remove the
# same three people 300 times each; every answer is 204 (a 503 is allowed:
# a loaded machine can stall slapd past the LDAP timeout). Membership is
# asked of the group itself: memberof writes a person's memberOf after the
# group's change, and a removal that believed memberOf in between deleted
# an absent value (409; 3 of 1,200 answers before the fix).
use strict;
use warnings;
use Test::More;
use POSIX ();
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $NOBODY = '00000000-0000-4000-8000-000000000000';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub person {
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => "(uid=$uid)",
        attrs => [qw(uid memberOf rbViewAll rbManageAll)]);
    return $e->[0] // {};
}
sub member_dns {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$S", filter => '(cn=Ops Viewers)', attrs => ['member']);
    return [sort map { lc } @{ $e->[0]{member} // [] }];
}
sub members_op {
    my ($gid, $op, @ids) = @_;
    return $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => { schemas => [$PATCH],
        Operations => [{ op => $op, path => 'members', value => [map { { value => $_ } } @ids] }] });
}

my %id;
for my $n (qw(ann bob)) {
    my $r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => "$n\@ops.example" });
    is($r->{status}, 201, "Entra: $n");
    $id{$n} = $r->{json}{id};
}
my $r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => [$GROUP, $ADMG], displayName => 'Ops Viewers',
    members => [{ value => $id{ann} }, { value => $id{bob} }], $ADMG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra: a role group with Ann and Bob') or diag explain $r->{json};
my $gid = $r->{json}{id};
is_deeply(person('ann@ops.example')->{rbViewAll}, ['TRUE'], 'LDAP: Ann holds the role grant');

# Entra's sequence after a person was deleted in Entra: [A, deleted id].
$r = members_op($gid, 'Remove', $id{ann}, $NOBODY);
is($r->{status}, 204, 'Remove [Ann, an id naming nobody]: 204');
is_deeply(member_dns(), [lc "uid=bob\@ops.example,ou=people,o=demo,$S"], 'LDAP: Ann is removed, Bob stays');
ok(!person('ann@ops.example')->{rbViewAll}, "LDAP: Ann's summary lost the role grant");
ok(!person('ann@ops.example')->{memberOf}, 'LDAP: Ann has no memberOf');
$r = $b->req(GET => "/Users/$id{ann}", token => 'demo-entra');
ok(!@{ $r->{json}{groups} // [] }, 'SCIM: Ann lists no group');
ok(!@{ $r->{json}{$ADM}{grants} // [] }, 'SCIM: Ann has no grant');

$r = members_op($gid, 'Remove', $id{ann});
is($r->{status}, 204, 'removing Ann again (no longer a member): 204, not 409') or diag explain $r->{json};
$r = members_op($gid, 'Remove', $NOBODY, 'not-a-uuid');
is($r->{status}, 204, 'removing only ids that name nobody: 204') or diag explain $r->{json};
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'remove', path => qq{members[value eq "$id{ann}"]} }] });
is($r->{status}, 204, 'removing a non-member by value filter: 204') or diag explain $r->{json};
is_deeply(member_dns(), [lc "uid=bob\@ops.example,ou=people,o=demo,$S"], 'LDAP: membership unchanged by the no-op removals');

$r = members_op($gid, 'Add', $id{bob});
is($r->{status}, 204, 'adding a present member: 204');
$r = members_op($gid, 'Add', $id{ann}, $id{bob});
is($r->{status}, 204, 'adding [Ann, present Bob]: 204');
is(scalar @{ member_dns() }, 2, 'LDAP: both members, Bob once');
is_deeply(person('ann@ops.example')->{rbViewAll}, ['TRUE'], 'LDAP: Ann holds the grant again');

$r = members_op($gid, 'Add', $NOBODY);
is($r->{status}, 400, 'adding an id that names nobody: 400 (nothing is dropped silently)');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
is(scalar @{ member_dns() }, 2, 'LDAP: nothing changed');

# Okta sends several operations at once: every removal that matches is done.
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => { schemas => [$PATCH], Operations => [
    { op => 'remove', path => 'members', value => [{ value => $NOBODY }] },
    { op => 'remove', path => 'members', value => [{ value => $id{bob} }] }] });
is($r->{status}, 204, 'two remove operations, the first naming nobody: 204');
is_deeply(member_dns(), [lc "uid=ann\@ops.example,ou=people,o=demo,$S"], 'LDAP: Bob removed by the second');
# With the client's If-Match: the assertion holds for the group only; the
# memberof overlay's updates of the members (which inherit it) still happen.
$r = $b->req(GET => "/Groups/$gid", token => 'demo-entra');
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', headers => { 'If-Match' => $r->{headers}{etag} },
    json => { schemas => [$PATCH], Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{bob} }] }] });
is($r->{status}, 204, 'add Bob with If-Match: 204') or diag explain $r->{json};
like(person('bob@ops.example')->{memberOf}[0] // '', qr/^cn=Ops Viewers,/i, "LDAP: Bob's memberOf is written too");
is_deeply(person('bob@ops.example')->{rbViewAll}, ['TRUE'], 'LDAP: and his summary');
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', headers => { 'If-Match' => 'W/"20000101000000.000000Z#000000#000#000000"' },
    json => { schemas => [$PATCH], Operations => [{ op => 'Remove', path => 'members', value => [{ value => $id{bob} }] }] });
is($r->{status}, 412, 'a stale If-Match: 412');
ok(person('bob@ops.example')->{memberOf}, '... and Bob stays');

# ---- concurrent adds and removes of the same members --------------------------------------------
my $b2 = RBBridge->start($dir, workers => 3);
my @race = map { $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE],
    userName => "m$_\@race.example" })->{json}{id} } 1 .. 3;
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => [$GROUP], displayName => 'Race' });
my $race = $r->{json}{id};
my $tmp = File::Temp::tempdir(CLEANUP => 1);
my @pids;
for my $w (0 .. 3) {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        my $br = $w % 2 ? $b2 : $b;
        $br->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        my %count;
        for my $i (1 .. 300) {
            my $rr = $br->req(PATCH => "/Groups/$race", token => 'demo-entra', json => { schemas => [$PATCH],
                Operations => [{ op => ($i + $w) % 2 ? 'Add' : 'Remove', path => 'members',
                                 value => [map { { value => $_ } } @race] }] });
            $count{$rr->{status}}++;
        }
        open my $f, '>', "$tmp/$w" or POSIX::_exit(2);
        print $f join(' ', map { "$_=$count{$_}" } sort keys %count);
        close $f;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
sub answers_of { my ($w) = @_; open(my $f, '<', "$tmp/$w") or return 'none'; return scalar <$f> }
my $answers = join ' ', map { answers_of($_) } 0 .. 3;
my %n;
$n{$1} += $2 while $answers =~ /(\d+)=(\d+)/g;
diag("answers: $answers");
is($n{204} + ($n{503} // 0), 1200, 'concurrent adds and removes of the same members: every answer 204 '
    . '(or 503 when the loaded machine stalls slapd past the LDAP timeout), never 409') or diag($answers);
ok($n{204} >= 1000, "most of them 204 ($n{204})");
my ($rg) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$S", filter => '(cn=Race)', attrs => ['member']);
my %in = map { lc($_) => 1 } @{ $rg->[0]{member} // [] };
my ($rp) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=m*@race.example)', attrs => ['memberOf']);
my $agree = grep { !!$in{ lc $_->{dn} } == !!grep({ /^cn=Race,/i } @{ $_->{memberOf} // [] }) } @$rp;
is($agree, 3, "LDAP: each person's memberOf agrees with the group's member list");
done_testing();
