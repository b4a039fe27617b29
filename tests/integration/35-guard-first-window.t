#!/usr/bin/env perl
# 35-guard-first-window.t — the first removals of a guard window, arriving
# together (issue 17, found in make bench: a day's deprovisioning starts
# with several DELETEs at once). A new window's base is a count of the
# source's people (one search returning every DN); each removal that found
# the window closed used to count, and all but one then met a 412. One
# request of a bridge opens a window at a time; the others wait and find
# it open. Checked in slapd's log: 8 DELETEs at once make one count. The
# guard's result is unchanged: every removal within the share is applied,
# the window counts each one once.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $N = 400;    # Entra's people: 50% of them, 200, may be removed in the window

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $br = RBBridge->start($dir, guard_share_percent => undef, workers => 8,
                         extra_conf => "guard_min 0\nguard_lease_max 1\n");

# The counts of the source's people slapd has seen: the guard's base
# search, (&(rbSource=entra)(objectClass:=rbPerson)) under ou=people, for DNs only.
sub base_counts {
    open my $f, '<', $dir->{slapd_log} or die "$dir->{slapd_log}: $!";
    my $n = 0;
    while (<$f>) {
        $n++ if /SRCH base="ou=people,o=demo,[^"]*" scope=1 .*filter="\(&\(rbSource=entra\)/i;
    }
    return $n;
}

my @ids;
for my $i (0 .. $N - 1) {
    my $r = $br->req(POST => '/Users', token => 'demo-entra',
        json => { schemas => [$CORE], userName => sprintf('first%03d@window.example', $i),
                  name => { givenName => "F$i", familyName => "W$i" } });
    die "create $i: $r->{status} " . ($r->{content} // '') unless $r->{status} == 201;
    push @ids, $r->{json}{id};
}
my ($w) = RBTest::ldapsearch($dir, base => "ou=guard,o=demo,$S", scope => 'one',
    filter => '(&(objectClass=rbGuardWindow)(rbSource=entra))', attrs => ['cn']);
is(scalar @$w, 0, "no window for Entra yet ($N people created)");

my $before = base_counts();
my $tally = RBBridge::parallel_deletes([$br], 'demo-entra', [@ids[0 .. 31]], 8, $dir->{data_dir});
is_deeply($tally, { 204 => 32 }, '32 DELETEs from 8 clients at once: every one applied (within the share)')
    or diag explain $tally;
is(base_counts() - $before, 1, "... and the source's people counted once, for the new window");
($w) = RBTest::ldapsearch($dir, base => "ou=guard,o=demo,$S", scope => 'one',
    filter => '(&(objectClass=rbGuardWindow)(rbSource=entra))', attrs => ['rbGuardCount', 'rbGuardBase']);
is($w->[0]{rbGuardBase}[0], $N, "the window's base: Entra's $N people");
is($w->[0]{rbGuardCount}[0], 32, '... and its count: the 32 removals, each once (guard_lease_max 1)');

$br->stop;
unlike($br->log_text, qr/AddressSanitizer|runtime error|ThreadSanitizer/, 'no sanitizer report');
done_testing();
