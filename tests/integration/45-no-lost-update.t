#!/usr/bin/env perl
# 45-no-lost-update.t — issue 12, item 6: two sources (Okta and Entra),
# through two daemons sharing one slapd, hammer the same 20 people for a
# bounded time (RB_STRESS_SECONDS, default 12): direct grant changes,
# suspensions and re-activations, and member adds/removes on each source's
# role group. Every derived value is written asserting the entryCSN it was
# computed from, and recomputed on conflict (src/dir/access.c). At the end,
# for every person, the access summary (rbManageAll … rbViewSchool) and
# rbBindLocked stored in LDAP equal what this test recomputes from the
# grants stored in LDAP (direct grants, active flags, role groups in
# memberOf, with SPEC §1's rules: the group owner's active=false suspends
# its role-group grant). Over SCIM, each source reads back on every person
# the active flag it wrote last. The traffic ends with one race per person
# (four writers, one moment), so a lost update is the last word somewhere:
# with the entryCSN assertions removed from dir.c this test fails.
use strict;
use warnings;
use Test::More;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $SECONDS = $ENV{RB_STRESS_SECONDS} // 12;
my $SLOT = 0.3;    # seconds between the final races, one person each

my $dir = RBTest::start_directory();
my $A = RBBridge->start($dir, workers => 3);
my $B = RBBridge->start($dir, workers => 3);
my $S = $dir->{suffix};

sub school_id {
    my $r = $A->req(GET => "/Schools?filter=externalId%20eq%20%22$_[0]%22", token => 'demo-okta');
    return $r->{json}{Resources}[0]{id};
}
my @schools = map { school_id($_) } qw(SIS-LIN-001 SIS-WAS-002 SIS-ROO-003);
ok(!grep({ !defined } @schools), 'three seeded schools');

my @people;
for my $n (1 .. 20) {
    my $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => "p$n\@stress.example", active => JSON::PP::true });
    push @people, $r->{json}{id};
    $r = $B->req(PATCH => "/Users/$people[-1]", token => 'demo-entra', json => { schemas => [$PATCH],
        Operations => [{ op => 'add', value => { active => JSON::PP::true } }] });
}
is(scalar(grep { defined } @people), 20, '20 people, held by Okta and Entra');
my %role;
$role{okta} = $A->req(POST => '/Groups', token => 'demo-okta', json => { schemas => [$GROUP, $ADMG],
    displayName => 'Okta Managers', $ADMG => { permission => 'manage', scope => 'district' } })->{json}{id};
$role{entra} = $B->req(POST => '/Groups', token => 'demo-entra', json => { schemas => [$GROUP, $ADMG],
    displayName => 'Entra Viewers', $ADMG => { permission => 'view', scope => 'school', schools => [$schools[0]] } })->{json}{id};
ok($role{okta} && $role{entra}, 'a role group per source');

# ---- the hammer -------------------------------------------------------------------------------
# Each worker writes as one source through one daemon; the last `active` each
# source wrote on each person is recorded in a file, in the order the
# daemon answered (one worker per source: no race between writers of one flag).
my $tmp = File::Temp::tempdir(CLEANUP => 1);
my @workers = ([okta => $A, 'demo-okta', 1], [entra => $B, 'demo-entra', 2],
               [okta => $B, 'demo-okta', 3], [entra => $A, 'demo-entra', 4]);
my $deadline = time + $SECONDS;
my @pids;
for my $w (@workers) {
    my ($src, $bridge, $token, $seed) = @$w;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        srand($seed * 7919);
        $bridge->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        my (%count, %active, %odd);
        my $owns_active = $seed <= 2;    # the other worker of a source leaves `active` alone
        while (time < $deadline) {
            my $i = int rand @people;
            my $id = $people[$i];
            my $act = int rand($owns_active ? 4 : 3);
            my $r;
            if ($act == 0) {       # direct grant
                my $scope = (qw(school district))[int rand 2];
                my $g = { "$ADM:permission" => (qw(view manage))[int rand 2], "$ADM:scope" => $scope };
                $g->{"$ADM:schools"} = [@schools[0 .. int rand 3]] if $scope eq 'school';
                $r = $bridge->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH],
                    Operations => [{ op => 'add', value => $g }] });
            } elsif ($act == 1 || $act == 2) {    # role-group membership
                $r = $bridge->req(PATCH => "/Groups/$role{$src}", token => $token, json => { schemas => [$PATCH],
                    Operations => [{ op => $act == 1 ? 'Add' : 'Remove', path => 'members', value => [{ value => $id }] }] });
            } else {               # suspend or re-activate
                my $on = int rand 2;
                $r = $bridge->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH],
                    Operations => [{ op => 'replace', path => 'active', value => $on ? JSON::PP::true : JSON::PP::false }] });
                $active{$i} = $on ? 'true' : 'false' if $r->{status} == 200;
            }
            $count{$r->{status}}++;
            $odd{"$r->{status} " . ($r->{json}{detail} // '')}++ if $r->{status} !~ /^20[04]$/;
        }
        # The last word on every person is a race: the four workers write the
        # same person at the same moment, one slot per person, each a direct
        # grant (one modify: the grant and the summary computed from a read).
        # A write computed from a read another one overtook would be the last
        # on that person, and the check below would see it. Random traffic
        # alone rarely ends on such a race (a later write, or a role group's
        # member refresh, recomputes everything), which is why it is here.
        for my $k (0 .. $#people) {
            my $at = $deadline + 1 + $k * $SLOT;
            my $wait = $at - time;
            sleep $wait if $wait > 0;
            my $id = $people[$k];
            my $r;
            # Each worker its own grant, so every pair of writes moves the summary
            # differently; the two workers of a source overwrite each other's.
            my @grant = ([manage => 'school', $k % 3], [view => 'school', ($k + 1) % 3],
                         [view => 'district'], [manage => 'school', ($k + 2) % 3])[$seed - 1]->@*;
            my %g = ("$ADM:permission" => $grant[0], "$ADM:scope" => $grant[1]);
            $g{"$ADM:schools"} = [$schools[$grant[2]]] if defined $grant[2];
            $g{active} = JSON::PP::true if $owns_active;    # its source active again
            $r = $bridge->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH],
                Operations => [{ op => 'add', value => \%g }] });
            $active{$k} = 'true' if $owns_active && $r->{status} == 200;
            $count{$r->{status}}++;
            $odd{"$r->{status} " . ($r->{json}{detail} // '')}++ if $r->{status} !~ /^20[04]$/;
        }
        open my $f, '>', "$tmp/$seed" or POSIX::_exit(2);
        print $f join(' ', map { "$_=$count{$_}" } sort keys %count), "\n";
        print $f join(' ', map { "$_=$active{$_}" } sort { $a <=> $b } keys %active), "\n";
        print $f "$_ (x$odd{$_})\n" for sort keys %odd;
        close $f;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
my (%status, %last_active);
for my $seed (1 .. 4) {
    open my $f, '<', "$tmp/$seed" or die "worker $seed wrote nothing";
    my ($counts, $actives, @odd) = <$f>;
    diag("worker $seed: $_") for @odd;
    $status{$1} += $2 while $counts =~ /(\d+)=(\d+)/g;
    my $src = $seed % 2 ? 'okta' : 'entra';
    $last_active{$src}{$1} = $2 while ($actives // '') =~ /(\d+)=(\w+)/g;
}
my $total = 0;
$total += $_ for values %status;
diag("$total requests in $SECONDS s over two daemons: " . join(', ', map { "$_ × $status{$_}" } sort keys %status));
ok($total > 40, 'the workers got answers');
my $bad = 0;
$bad += $status{$_} for grep { !/^(200|204|503)$/ } keys %status;
is($bad, 0, 'every answer is a success (or a 503 after the bounded retries)') or
    diag(join '', grep { / (?:4(?:0[0-9]|1[0-9])|5\d\d) | warn|error/ } map { split /^/, $_->log_text } $A, $B);

# ---- recompute from the grants in LDAP --------------------------------------------------------
my ($groups) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$S", filter => '(objectClass=rbGroup)',
    attrs => [qw(rbSource rbPermission rbScope rbSchoolRef rbRegionRef rbActive)]);
my %gmap = map { lc($_->{dn}) => $_ } @$groups;
my ($persons) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=*@stress.example)',
    attrs => ['*', 'memberOf']);
is(scalar @$persons, 20, 'the 20 people are all there');

sub lcmap { my ($e) = @_; return { map { lc($_) => $e->{$_} } keys %$e } }
sub recompute {
    my ($p) = @_;
    my @grants;
    for my $k (keys %$p) {
        next unless $k =~ /^rbpermission;x-src-(.+)$/;
        my $src = $1;
        push @grants, { perm => $p->{$k}[0], scope => ($p->{"rbscope;x-src-$src"} // ['school'])->[0],
            schools => $p->{"rbschoolref;x-src-$src"} // [], region => ($p->{"rbregionref;x-src-$src"} // [])->[0],
            active => uc(($p->{"rbactive;x-src-$src"} // ['TRUE'])->[0]) ne 'FALSE' };
    }
    for my $dn (@{ $p->{memberof} // [] }) {
        my $g = $gmap{lc $dn} or next;
        next unless $g->{rbPermission};
        my $owner = $g->{rbSource}[0];
        push @grants, { perm => $g->{rbPermission}[0], scope => ($g->{rbScope} // ['school'])->[0],
            schools => $g->{rbSchoolRef} // [], region => ($g->{rbRegionRef} // [])->[0],
            active => uc(($g->{rbActive} // ['TRUE'])->[0]) ne 'FALSE'
                   && uc(($p->{"rbactive;x-src-$owner"} // ['TRUE'])->[0]) ne 'FALSE' };
    }
    my %s;
    for my $g (grep { $_->{active} } @grants) {
        my $m = $g->{perm} eq 'manage';
        if ($g->{scope} eq 'district' || $g->{scope} eq 'partnership') {
            $s{rbviewall}{TRUE} = 1;
            $s{rbmanageall}{TRUE} = 1 if $m;
        } elsif ($g->{scope} eq 'region') {
            next unless defined $g->{region};
            $s{rbviewregion}{ $g->{region} } = 1;
            $s{rbmanageregion}{ $g->{region} } = 1 if $m;
        } else {
            for my $sc (@{ $g->{schools} }) {
                $s{rbviewschool}{ lc $sc } = 1;
                $s{rbmanageschool}{ lc $sc } = 1 if $m;
            }
        }
    }
    my @flags = map { uc $p->{$_}[0] } grep { /^rbactive;x-src-/ } keys %$p;
    my $locked = !grep({ $_->{active} } @grants) && !grep({ $_ eq 'TRUE' } @flags) && @flags;
    $s{rbbindlocked}{TRUE} = 1 if $locked;
    return { map { $_ => join(',', sort keys %{ $s{$_} }) } keys %s };
}
sub stored {
    my ($p) = @_;
    my %s;
    for my $a (qw(rbmanageall rbviewall rbmanageregion rbviewregion rbmanageschool rbviewschool rbbindlocked)) {
        $s{$a} = join(',', sort map { lc($a) =~ /school/ ? lc : uc($_) eq 'TRUE' ? 'TRUE' : $_ } @{ $p->{$a} }) if $p->{$a};
    }
    return \%s;
}
my ($wrong, $with_access, $locked) = (0, 0, 0);
for my $e (@$persons) {
    my $p = lcmap($e);
    my ($want, $have) = (recompute($p), stored($p));
    $with_access++ if $want->{rbviewall} || $want->{rbviewschool};
    $locked++ if $want->{rbbindlocked};
    next if is_deeply($have, $want, "$p->{uid}[0]: stored summary and bind lock = recomputed from its grants");
    $wrong++;
}
diag("$with_access of 20 end with some access, $locked locked");
is($wrong, 0, 'no lost update: every summary matches its grants');

# ---- each source reads back the active flag it wrote last --------------------------------------
for my $src (qw(okta entra)) {
    my $mismatch = 0;
    for my $i (sort { $a <=> $b } keys %{ $last_active{$src} }) {
        my $r = $A->req(GET => "/Users/$people[$i]", token => "demo-$src");
        my $got = $r->{json}{active} ? 'true' : 'false';
        $mismatch++, diag("p" . ($i + 1) . ": $src wrote $last_active{$src}{$i}, reads $got") if $got ne $last_active{$src}{$i};
    }
    is($mismatch, 0, "$src reads back the active flag it wrote last on each person");
}
done_testing();
