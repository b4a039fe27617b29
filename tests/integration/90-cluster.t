#!/usr/bin/env perl
# 90-cluster.t — two providers replicating each other (scripts/cluster:
# OpenLDAP multi-provider syncrepl) and a bridge on each, with ldap_uri
# lists for failover (docs/product.md §6): a write through bridge A is read
# through bridge B, a role group's grant and memberOf replicate, a change
# through B is seen through A; provider 1 killed: bridge A fails over to
# provider 2 and keeps answering (503 with Retry-After at most while it
# reconnects); provider 1 restarted catches up; no write answered 2xx is
# lost. Replication delays are printed (diag), never asserted as timings
# beyond a generous bound for "eventually".
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use RBTest;
use RBBridge;
use RBCluster;
use HTTP::Tiny;
use POSIX ();

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $EVENTUALLY = 20;    # seconds: replication is expected well within

my $c   = RBCluster->start(eventually => $EVENTUALLY);
my $env = $c->{env};
my %dir = %{ $c->{dir} };
my $S = $dir{suffix};
my $A = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI1} $env->{URI2}"}, ldap_timeout_ms => 2000);
my $B = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI2} $env->{URI1}"}, ldap_timeout_ms => 2000);

# eventually(CODE) — CODE's true answer within $EVENTUALLY s, and the time taken.
sub eventually { my @r = $c->eventually(@_); return @r }
sub on_provider { $c->on_provider(@_)->[0] }    # the person's entry as provider $uri holds it

# ---- a write through A is read through B --------------------------------------
my $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'ann@cluster.example', $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'POST through bridge A') or diag explain $r->{json};
my $ann = $r->{json}{id};
my ($seen, $dt) = eventually(sub { $B->req(GET => "/Users/$ann", token => 'demo-okta')->{status} == 200 });
ok($seen, 'bridge B reads it') and diag(sprintf 'write on A → read on B: %.0f ms', $dt * 1000);
is($B->req(GET => "/Users/$ann", token => 'demo-okta')->{json}{$ADM}{grants}[0]{permission}, 'manage',
   '... with its grant');
ok(on_provider($env->{URI2}, 'ann@cluster.example', 'rbManageSchool')->{rbManageSchool}, 'provider 2 holds the access summary');

# ---- a role group through A: grant and memberOf on both providers ------------------
$r = $A->req(POST => '/Groups', token => 'demo-entra', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group', $ADMG],
    displayName => 'Cluster Admins', $ADMG => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'role group through A');
my $grp = $r->{json}{id};
$r = $A->req(PATCH => "/Groups/$grp", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'add', path => 'members', value => [{ value => $ann }] }] });
ok($r->{status} == 204 || $r->{status} == 200, 'member added through A');
($seen, $dt) = eventually(sub { my $e = on_provider($env->{URI2}, 'ann@cluster.example', 'memberOf', 'rbManageAll');
    $e && $e->{memberOf} && $e->{rbManageAll} });
ok($seen, 'provider 2: memberOf and the role grant\'s summary') and diag(sprintf 'member add on A → provider 2: %.0f ms', $dt * 1000);
($seen) = eventually(sub { my $g = $B->req(GET => "/Users/$ann", token => 'demo-okta')->{json}{$ADM}{grants};
    scalar(grep { ($_->{origin} // '') eq $grp } @{ $g // [] }) });
ok($seen, 'bridge B lists the role-group grant');

# ---- a change through B is seen through A ------------------------------------------
$r = $B->req(PATCH => "/Users/$ann", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'title', value => 'Principal' }] });
is($r->{status}, 200, 'PATCH through B');
($seen) = eventually(sub { ($A->req(GET => "/Users/$ann", token => 'demo-okta')->{json}{title} // '') eq 'Principal' });
ok($seen, 'bridge A reads the change');

# ---- concurrent changes to different attributes of the same people, through A and B:
# both survive on both providers (delta-syncrepl replays changes, not entries) --------
my @ids;
for my $i (1 .. 10) {
    $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => "both-$i\@cluster.example" });
    push @ids, $r->{json}{id};
}
eventually(sub { !grep { $B->req(GET => "/Users/$_", token => 'demo-okta')->{status} != 200 } @ids });
my @kids;
for my $side ([$A, 'title'], [$B, 'displayName']) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $http = HTTP::Tiny->new(timeout => 30);
        for my $id (@ids) {
            $side->[0]{http} = $http;
            $side->[0]->req(PATCH => "/Users/$id", token => 'demo-okta', json => { schemas => [$PATCH],
                Operations => [{ op => 'replace', path => $side->[1], value => "$side->[1] set" }] });
        }
        POSIX::_exit(0);    # not exit: END blocks would stop the bridges and slapd
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids;
for my $b ([$A, 'A'], [$B, 'B']) {
    ($seen) = eventually(sub { !grep { my $u = $b->[0]->req(GET => "/Users/$_", token => 'demo-okta')->{json};
        !($u->{title} && $u->{displayName}) } @ids });
    ok($seen, "title (through A) and displayName (through B), written at the same time: both read through $b->[1]");
}

# ---- provider 1 killed: A fails over, writes go on; provider 1 catches up -------
$c->stop_provider('p1');
my @acked;
my ($n503, $no_retry_after) = (0, 0);
for my $i (1 .. 10) {
    my $name = "during-outage-$i\@cluster.example";
    my $t0 = time;
    while (time - $t0 < $EVENTUALLY) {
        $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => $name });
        if ($r->{status} == 503) { $n503++; $no_retry_after++ unless $r->{headers}{'retry-after'}; sleep 0.2; next }
        last;
    }
    push @acked, $name if $r->{status} == 201;
}
is(scalar @acked, 10, 'bridge A answers every write with provider 1 down (failover to provider 2)');
is($no_retry_after, 0, "every 503 while reconnecting had Retry-After ($n503 503s)");
is($A->req(GET => "/Users/$ann", token => 'demo-okta')->{status}, 200, 'bridge A reads too');
$c->start_provider('p1');
($seen, $dt) = eventually(sub { !grep { !on_provider($env->{URI1}, $_, 'uid') } @acked });
ok($seen, 'provider 1, restarted, catches up with every write answered 201') and
    diag(sprintf 'provider 1 caught up %.1f s after its restart', $dt);
for my $b ($A, $B) {
    my $got = $b->req(GET => '/Users?filter=userName%20sw%20%22during-outage%22&count=100', token => 'demo-okta');
    is($got->{json}{totalResults}, 10, 'each write is there exactly once, read through ' . ($b == $A ? 'A' : 'B'));
}
done_testing();
