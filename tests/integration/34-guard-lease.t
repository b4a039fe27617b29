#!/usr/bin/env perl
# 34-guard-lease.t — the mass-deprovision guard's reservations (leases,
# issues 16/17; docs/mapping.md "Mass-deprovision guard"): a bridge counts
# a block of removals in its window in one write (count += k, k = what is
# left / 16, 1 to guard_lease_max) and spends it without writing; what it
# did not spend goes back to the window when it stops and when it has been
# idle guard_lease_idle_s; a bridge killed holding places leaves the count
# high (the guard then holds more, never removes more); and a long mass
# removal through two bridges at once crosses the limit exactly: no more
# than the limit is ever applied, and with the places given back the
# removals resent are applied up to the limit and not one more; a removal
# counted whose write fails gives its place back.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $LINCOLN = '5eed0001-0000-4000-8000-000000000001';
my $N = 160;    # Clever's people: 50% of them, 80, may be removed in the window

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my %guard = (guard_share_percent => undef,
             extra_conf => "guard_min 0\nguard_lease_idle_s 3600\n");

sub window {
    my ($ws) = RBTest::ldapsearch($dir, base => "ou=guard,o=demo,$S", scope => 'one',
        filter => '(&(objectClass=rbGuardWindow)(rbSource=clever))',
        attrs => ['cn', 'rbGuardCount', 'rbGuardBase', 'entryCSN']);
    return $ws;
}
sub count { my $ws = window(); return @$ws == 1 ? $ws->[0]{rbGuardCount}[0] : "windows: " . scalar @$ws }
sub csn   { my $ws = window(); return $ws->[0]{entryCSN}[0] }
sub remaining {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", scope => 'one',
                                 filter => '(uid=lease*)', attrs => ['uid']);
    return scalar @$e;
}
sub wait_count {    # wait for the effect (a give-back), not for a time
    my ($want) = @_;
    for (1 .. 1200) {
        return 1 if count() eq $want;
        select undef, undef, undef, 0.1;
    }
    return 0;
}

my $a = RBBridge->start($dir, %guard);
my @ids;
for my $i (0 .. $N - 1) {
    my $r = $a->req(POST => '/Users', token => 'demo-clever', json => {
        schemas => [$CORE, $ADM], userName => sprintf('lease%03d@lincoln.example', $i),
        active => JSON::PP::true,
        $ADM => { permission => 'view', scope => 'school', schools => [$LINCOLN] } });
    die "create $i: $r->{status}\n" unless $r->{status} == 201;
    push @ids, $r->{json}{id};
}
my $next = 0;
sub del { my ($b) = @_; return $b->req(DELETE => "/Users/$ids[$next++]", token => 'demo-clever')->{status} }

# ---- one write reserves a block; the block is spent without writing ------------------------
is(del($a), 204, 'the first DELETE of Clever is applied');
is(count(), 5, 'its window counts a block of 5 (80 places left / 16) in one write');
my $csn = csn();
is_deeply([map { del($a) } 1 .. 4], [204, 204, 204, 204], 'four more DELETEs: applied');
is(csn(), $csn, '... from the reservation: the window was not written again');
is(count(), 5, '... and still counts 5');
is(del($a), 204, 'the sixth DELETE: applied');
is(count(), 9, '... with a new block of 4 (75 left / 16)');
is(remaining(), $N - 6, 'the directory: 6 people gone');

# ---- the unspent places go back when the bridge stops ---------------------------------------
$a->stop;
is(count(), 6, 'stopped: the 3 places it did not spend are given back (the window counts 6)');
like($a->log_text, qr/tenant demo source clever: 3 unspent guard place\(s\) given back/,
     '... and logged');

# ---- a bridge killed holding places: the count stays high (the guard errs toward holding) ---
my $k = RBBridge->start($dir, %guard);
is(del($k), 204, 'another bridge: a DELETE applied');
is(count(), 10, '... reserving 4 (74 left / 16)');
$k->kill9;
is(count(), 10, 'killed with 3 places unspent: the window still counts 10 (6 + 1 applied + 3 lost)');
is(remaining(), $N - 7, '... and only 7 people are gone');

# ---- a bridge idle with places gives them back by itself -----------------------------------
my %idle = (guard_share_percent => undef, extra_conf => "guard_min 0\nguard_lease_idle_s 1\n");
my $b = RBBridge->start($dir, %idle);
my $c = RBBridge->start($dir, %idle);
is(del($b), 204, 'a bridge that gives back after 1 s idle: a DELETE applied');
ok(wait_count(11), '... its 3 unspent places go back by themselves: the window counts 11')
    or diag 'count: ' . count();
like($b->log_text, qr/3 unspent guard place\(s\) given back/, '... logged');

# ---- a long mass removal through two bridges at once crosses the limit ----------------------
# 80 allowed, 11 counted (8 applied, 3 lost with the killed bridge): 69 places for the 152 left.
my @rest = @ids[$next .. $#ids];
my %tot = %{ RBBridge::parallel_deletes([$b, $c], 'demo-clever', \@rest, 8, $dir->{data_dir}) };
my $applied = $tot{204} // 0;
is(join(',', sort grep { $_ != 202 && $_ != 204 } keys %tot), '', '8 clients on 2 bridges, 152 DELETEs: only 204 and 202')
    or diag explain \%tot;
is($applied + ($tot{202} // 0), 152, '... one answer each') or diag explain \%tot;
ok($applied <= 69, "... no more applied than the 69 places left ($applied)") or diag explain \%tot;
ok($applied >= 1, '... and some applied') or diag explain \%tot;
is(remaining(), $N - 8 - $applied, '... the directory agrees');
ok(wait_count(11 + $applied), 'once both bridges are idle, the window counts exactly what was applied (+ the 3 lost)')
    or diag 'count: ' . count() . " applied $applied";

# Clever's next sync sends the held ones again, one at a time: applied up to the limit, exactly.
my ($again_applied, $again_held, $a_held) = (0, 0, undef);
for my $id (@rest) {
    my $s = $b->req(DELETE => "/Users/$id", token => 'demo-clever')->{status};
    next if $s == 404;    # applied in the first pass
    if ($s == 204) { $again_applied++ }
    elsif ($s == 202) { $again_held++; $a_held = $id }
    else { fail("DELETE again: $s") }
}
is($applied + $again_applied, 69, 'sent again: together exactly the 69 places are applied')
    or diag "first $applied, again $again_applied";
is($again_held, 152 - 69, '... and the rest held');
is(remaining(), $N - 8 - 69, 'the directory: 77 of the 160 people gone (80 allowed, 3 lost with the killed bridge)');
ok(wait_count(80), 'the window counts 80: full') or diag 'count: ' . count();
is($c->req(DELETE => "/Users/$a_held", token => 'demo-clever')->{status}, 202, 'one more, through the other bridge: held');

$b->stop;
$c->stop;

# ---- a removal counted whose write fails gives its place back -------------------------------
# Entra holds 4 people; guard_min 100 allows 100, so its first count reserves 6. The person
# has an entry below it (put there by the directory's admin): slapd refuses the delete
# (notAllowedOnNonLeaf), so nothing is removed, and the place goes back to the reservation.
my $e = RBBridge->start($dir, guard_share_percent => undef,
                        extra_conf => "guard_min 100\nguard_lease_idle_s 3600\n");
my @entra;
for my $i (0 .. 3) {
    my $r = $e->req(POST => '/Users', token => 'demo-entra', json => {
        schemas => [$CORE, $ADM], userName => "refund$i\@lincoln.example", active => JSON::PP::true,
        $ADM => { permission => 'view', scope => 'school', schools => [$LINCOLN] } });
    die "create refund$i: $r->{status}\n" unless $r->{status} == 201;
    push @entra, $r->{json}{id};
}
my ($arc, $aout) = RBTest::ldapadd($dir, "dn: cn=below,uid=refund0\@lincoln.example,ou=people,o=demo,$S\n"
    . "objectClass: organizationalRole\ncn: below\n");
is($arc, 0, '(an entry below refund0, so its delete fails)') or diag $aout;
sub ecount {
    my ($ws) = RBTest::ldapsearch($dir, base => "ou=guard,o=demo,$S", scope => 'one',
        filter => '(&(objectClass=rbGuardWindow)(rbSource=entra))', attrs => ['rbGuardCount']);
    return @$ws == 1 ? $ws->[0]{rbGuardCount}[0] : 'windows: ' . scalar @$ws;
}
my $st = $e->req(DELETE => "/Users/$entra[0]", token => 'demo-entra')->{status};
ok($st != 204 && $st != 202, "Entra's DELETE of refund0 fails ($st)");
is(ecount(), 6, '... after its count reserved a block of 6');
my ($still) = RBTest::ldapsearch($dir, base => "uid=refund0\@lincoln.example,ou=people,o=demo,$S",
                                 scope => 'base', attrs => ['uid']);
is($still->[0]{uid}[0], 'refund0@lincoln.example', '... refund0 is still there');
is($e->req(DELETE => "/Users/$entra[1]", token => 'demo-entra')->{status}, 204, 'the next DELETE: applied');
is(ecount(), 6, '... from the reservation (no new block)');
$e->stop;
is(ecount(), 1, 'stopped: the window counts the 1 removal applied (the failed one\'s place came back)');

done_testing;
