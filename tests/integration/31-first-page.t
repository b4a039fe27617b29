#!/usr/bin/env perl
# 31-first-page.t — the unfiltered list without sortBy (issue 17: `GET
# /Users?count=1`, an identity provider's connection test; Okta's import
# pages) is read in the directory's own order, and its totalResults is
# cached with the directory's change marker (the suffix's contextCSN, kit
# step 0008): exact after creates and deletes through this bridge, through
# a second bridge on the same directory, and after an operator's own
# ldapadd/ldapmodify/ldapdelete; counted again (slapd's log says so) only
# when the directory changed. Paging through the tenant with count=N sees
# every person exactly once; /Groups likewise.
use strict;
use warnings;
use Test::More;
use POSIX ();
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";
my $a = RBBridge->start($dir);
my $b = RBBridge->start($dir);

# The oracle: what slapd itself holds (people of the tenant, not retained).
sub ldap_people {
    my ($e, $rc, $err) = RBTest::ldapsearch($dir, base => $P, scope => 'one',
        filter => '(&(objectClass=rbPerson)(!(rbDisabledAt=*)))', attrs => ['entryUUID']);
    die "ldapsearch: $err" if $rc;
    return { map { ($_->{entryUUID}[0] => 1) } @$e };
}
sub total {
    my ($br, $path) = @_;
    my $r = $br->req(GET => $path // '/Users?count=1', token => 'demo-okta');
    die "GET: $r->{status} " . ($r->{content} // '') unless $r->{status} == 200;
    return $r->{json}{totalResults};
}
# Counting searches slapd has seen so far: the count is a sorted (VLV)
# search of the people asking for no attributes (attr=1.1).
sub counts_seen {
    my ($tenant) = @_;
    $tenant //= 'demo';
    open my $f, '<', $dir->{slapd_log} or die "$dir->{slapd_log}: $!";
    my (%people, $n);
    while (<$f>) {
        $people{$1} = 1 if /(conn=\d+ op=\d+) SRCH base="ou=people,o=\Q$tenant\E,/i;
        $n++ if /(conn=\d+ op=\d+) SRCH attr=1\.1$/ && $people{$1};
    }
    return $n // 0;
}
sub create {
    my ($br, $name) = @_;
    my $r = $br->req(POST => '/Users', token => 'demo-okta',
        json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => $name,
                  name => { givenName => 'F', familyName => 'P' } });
    die "POST $name: $r->{status} " . ($r->{content} // '') unless $r->{status} == 201;
    return $r->{json}{id};
}

my ($e, $rc) = RBTest::ldapsearch($dir, base => $S, scope => 'base', attrs => ['contextCSN']);
ok(@$e && $e->[0]{contextCSN} && @{ $e->[0]{contextCSN} }, 'the suffix has a contextCSN (kit step 0008: syncprov)');

my @ids = map { create($a, sprintf('fp%02d@first.example', $_)) } 1 .. 12;
my $want = scalar keys %{ ldap_people() };
cmp_ok($want, '>=', 12, "the tenant holds $want people");
is(total($a), $want, 'created through bridge A: A counts them all');
my $seen = counts_seen();
is(total($a), $want, 'asked again: the same total');
is(total($a, '/Users?count=3&startIndex=2'), $want, '... and on a later page');
is(counts_seen(), $seen, '... without counting again (no write since: the cached count)');

# Through a second bridge on the same directory.
push @ids, create($b, 'fp-b@first.example');
is(total($a), $want + 1, 'a create through bridge B: A counts it');
cmp_ok(counts_seen(), '>', $seen, '... (A counted again: the marker moved)');
my $r = $b->req(DELETE => "/Users/$ids[0]", token => 'demo-okta');
is($r->{status}, 204, 'a delete through bridge B');
is(total($a), scalar keys %{ ldap_people() }, '... A counts what slapd holds');
is(total($a), $want, '... one fewer');

# An operator's own writes, straight to slapd.
($rc, my $out) = RBTest::ldapadd($dir, "dn: uid=op1\@first.example,$P\nobjectClass: inetOrgPerson\n"
    . "objectClass: rbPerson\nuid: op1\@first.example\ncn: Op One\nsn: One\nrbSource: okta\n"
    . "rbActive;x-src-okta: TRUE\n", as => 'admin');
is($rc, 0, "an operator's ldapadd") or diag $out;
is(total($a), $want + 1, '... A counts it');
is(total($b), $want + 1, '... B too');
$seen = counts_seen();
($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=op1\@first.example,$P\nchangetype: modify\n"
    . "replace: rbDisabledAt\nrbDisabledAt: 20261130000000Z\n", as => 'admin');
is($rc, 0, "an operator's ldapmodify retains that person (rbDisabledAt)") or diag $out;
is(total($a), $want, '... A no longer counts them');
cmp_ok(counts_seen(), '>', $seen, '... (counted again)');
($rc, $out) = RBTest::ldapdelete($dir, "uid=op1\@first.example,$P", as => 'admin');
is($rc, 0, "an operator's ldapdelete") or diag $out;
($rc, $out) = RBTest::ldapdelete($dir, "uid=fp02\@first.example,$P", as => 'admin');
is($rc, 0, "an operator's ldapdelete of a person the bridge created") or diag $out;
is(total($a), $want - 1, '... A counts one fewer');
is(total($a), scalar keys %{ ldap_people() }, '... what slapd holds');

# Paging through the whole tenant: every person exactly once.
my $oracle = ldap_people();
for my $n (1, 4, 5, 50) {
    my (%got, $last_total);
    my ($dups, $start) = (0, 1);
    while (1) {
        $r = $a->req(GET => "/Users?count=$n&startIndex=$start", token => 'demo-okta');
        last unless $r->{status} == 200;
        $last_total = $r->{json}{totalResults};
        my @page = @{ $r->{json}{Resources} // [] };
        last unless @page;
        $dups += $got{ $_->{id} }++ ? 1 : 0 for @page;
        last if $start > 1000;
        $start += @page;
    }
    is_deeply([sort keys %got], [sort keys %$oracle], "count=$n: paging sees every person of the tenant");
    is($dups, 0, "... none twice");
    is($last_total, scalar keys %$oracle, '... and totalResults is theirs');
}
# The first page is the first entries of the same order.
my @all;
for my $start (1 .. scalar keys %$oracle) {
    $r = $a->req(GET => "/Users?count=1&startIndex=$start", token => 'demo-okta');
    push @all, $r->{json}{Resources}[0]{id};
}
$r = $a->req(GET => '/Users?count=3', token => 'demo-okta');
is_deeply([map { $_->{id} } @{ $r->{json}{Resources} }], [@all[0 .. 2]], 'count=3 = the first three pages of one');
$r = $b->req(GET => '/Users?startIndex=4&count=2', token => 'demo-okta');
is_deeply([map { $_->{id} } @{ $r->{json}{Resources} }], [@all[3, 4]], 'bridge B pages in the same order');

# The order of later pages is kept with the cached total (read once per
# marker): after a write it is read again, so page 2 onwards is still page 1's
# continuation.
{
    my $ids_of = sub { [map { $_->{id} } @{ $_[0]{json}{Resources} // [] }] };
    my $before = $ids_of->($a->req(GET => '/Users?startIndex=2&count=500', token => 'demo-okta'));
    push @ids, create($b, 'fp-order@first.example');
    my $full = $ids_of->($a->req(GET => '/Users?count=500', token => 'demo-okta'));
    my $rest = $ids_of->($a->req(GET => '/Users?startIndex=2&count=500', token => 'demo-okta'));
    is(scalar @$full, scalar(@$before) + 2, 'a create through B: one more person listed');
    is_deeply($rest, [@$full[1 .. $#$full]], '... and startIndex=2 is the rest of the fresh first page');
    my $r2 = $b->req(DELETE => "/Users/$ids[-1]", token => 'demo-okta');
    pop @ids;
    $rest = $ids_of->($a->req(GET => '/Users?startIndex=2&count=500', token => 'demo-okta'));
    is_deeply($rest, $before, '... deleted again: the same later pages as before');
    @all = @{ $ids_of->($a->req(GET => '/Users?count=500', token => 'demo-okta')) };
}

# Edge cases: count=0, past the end, no count (the default page).
$r = $a->req(GET => '/Users?count=0', token => 'demo-okta');
is_deeply([$r->{json}{totalResults}, scalar @{ $r->{json}{Resources} // [] }], [scalar @all, 0],
          'count=0: the total, no resources');
$r = $a->req(GET => '/Users?startIndex=' . (@all + 1) . '&count=5', token => 'demo-okta');
is_deeply([$r->{status}, $r->{json}{totalResults}, scalar @{ $r->{json}{Resources} // [] }],
          [200, scalar @all, 0], 'startIndex past the end: an empty page and the total');
$r = $a->req(GET => '/Users', token => 'demo-okta');
is_deeply([sort map { $_->{id} } @{ $r->{json}{Resources} }], [sort @all], 'no count: every person');
$r = $a->req(GET => '/Users?count=2', token => 'other-okta');
is($r->{json}{totalResults}, 0, 'another tenant: its own (empty) total, not the cached one of demo')
    or diag explain $r->{json};

# Groups share the code.
my @gids;
for my $i (1 .. 7) {
    $r = $a->req(POST => '/Groups', token => 'demo-okta',
                 json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName => "FP group $i" });
    push @gids, $r->{json}{id} if $r->{status} == 201;
}
is(scalar @gids, 7, 'seven groups');
my $gtotal = total($a, '/Groups?count=1');
my %g;
for (my $start = 1; $start <= $gtotal; $start += 3) {
    $r = $a->req(GET => "/Groups?count=3&startIndex=$start", token => 'demo-okta');
    $g{ $_->{id} }++ for @{ $r->{json}{Resources} // [] };
}
is(scalar(grep { $g{$_} } @gids), 7, '/Groups paged by 3: every new group seen');
is(scalar(grep { $_ != 1 } values %g), 0, '... each once');
is(scalar keys %g, $gtotal, '... and as many as totalResults');
$r = $b->req(DELETE => "/Groups/$gids[0]", token => 'demo-okta');
is(total($a, '/Groups?count=1'), $gtotal - 1, 'a group deleted through B: A counts one fewer');

# One request counts a list at a time: first pages asked at once after a
# write make one count, and each gets the total. A new connection may be a
# restarted slapd's (cached totals are tied to the pool's generation), so
# the pool first opens its connections. (Tenant other, with 3,000
# people, so that a count lasts long enough for the requests to meet.)
{
    my $OP = "ou=people,o=other,$S";
    my $ldif = join '', map { "dn: uid=many$_\@other.example,$OP\nobjectClass: inetOrgPerson\n"
        . "objectClass: rbPerson\nuid: many$_\@other.example\ncn: Many $_\nsn: M$_\nrbSource: okta\n\n" } 1 .. 3000;
    ($rc, my $o) = RBTest::ldapadd($dir, $ldif, as => 'admin');
    is($rc, 0, "an operator's ldapadd of 3,000 people in tenant other") or diag $o;
    my $w = RBBridge->start($dir, workers => 8);
    my $other = sub {
        my $r = $w->req(GET => '/Users?count=1', token => 'other-okta');
        return $r->{status} == 200 ? $r->{json}{totalResults} : "status $r->{status}";
    };
    is($other->(), 3000, 'a bridge with 8 workers counts them');
    my $at_once = sub {    # 4 first pages at once; their totals
        my @kids;
        for my $k (1 .. 4) {
            my $pid = fork() // die "fork: $!";
            if ($pid == 0) {
                my $t = $other->();
                open my $f, '>', "$dir->{data_dir}/fp-kid-$k" or POSIX::_exit(1);
                print $f "$t\n";
                close $f;
                POSIX::_exit(0);
            }
            push @kids, $pid;
        }
        waitpid($_, 0) for @kids;
        return [map { open my $f, '<', "$dir->{data_dir}/fp-kid-$_" or die $!; my $l = <$f>; chomp $l; $l } 1 .. 4];
    };
    my $connected = sub { ($w->req(GET => '/metrics')->{content} =~ /^rosterbridge_ldap_pool_connected (\d+)/m)[0] // 0 };
    # Rounds that count (a write before each), until 4 connections are open.
    my $n = 3000;
    for (1 .. 20) {
        last if $connected->() >= 4;
        ($rc, $o) = RBTest::ldapdelete($dir, "uid=many$n\@other.example,$OP", as => 'admin');
        $n-- if $rc == 0;
        $at_once->();
    }
    cmp_ok($connected->(), '>=', 4, '4 first pages at once, after writes: the pool opens 4 connections');
    ($rc, $o) = RBTest::ldapdelete($dir, "uid=many1\@other.example,$OP", as => 'admin');
    is($rc, 0, '... one person deleted by the operator (the marker moves)') or diag $o;
    $n--;
    my $before = counts_seen('other');
    is_deeply($at_once->(), [($n) x 4], "4 first pages at once: each says $n");
    is(counts_seen('other') - $before, 1, '... and slapd was asked to count once') or diag 'counts before ' . $before . ', after ' . counts_seen('other');
    $w->stop;
}

# slapd killed (kill -9) after a write it had not yet checkpointed: it
# restarts with the contextCSN it last saved, older than its data — the
# very marker bridge A cached its count with. A counts again anyway (a
# restart closed its connections; a count is reused only on the
# connections it was taken with).
{
    RBTest::stop_directory($dir);    # a clean stop saves the contextCSN
    RBTest::start_directory_again($dir);
    my $n = scalar keys %{ ldap_people() };
    is(total($a), $n, 'after a clean restart: A counts');
    is(total($a), $n, '... and keeps that count');
    my ($e1) = RBTest::ldapsearch($dir, base => $S, scope => 'base', attrs => ['contextCSN']);
    ($rc, $out) = RBTest::ldapadd($dir, "dn: uid=op2\@first.example,$P\nobjectClass: inetOrgPerson\n"
        . "objectClass: rbPerson\nuid: op2\@first.example\ncn: Op Two\nsn: Two\nrbSource: okta\n", as => 'admin');
    is($rc, 0, "an operator's ldapadd") or diag $out;
    open my $pf, '<', "$dir->{data_dir}/slapd.pid" or die $!;
    chomp(my $pid = <$pf>);
    close $pf;
    kill 'KILL', $pid;
    for (1 .. 100) { last unless kill 0, $pid; select undef, undef, undef, 0.1 }
    unlink "$dir->{data_dir}/slapd.pid";
    $dir->{running} = 0;
    RBTest::start_directory_again($dir);
    my ($e2) = RBTest::ldapsearch($dir, base => $S, scope => 'base', attrs => ['contextCSN']);
    is_deeply($e2->[0]{contextCSN}, $e1->[0]{contextCSN},
              'slapd killed and restarted: its contextCSN is the one before the add (the add is there)');
    my $r2;
    for (1 .. 20) { $r2 = $a->req(GET => '/Users?count=1', token => 'demo-okta'); last if $r2->{status} == 200; sleep 1 }
    is($r2->{json}{totalResults}, $n + 1, '... bridge A counts the add all the same');
}

# A contextCSN that stands still (syncprov disabled: the value stays in the
# suffix entry) is not trusted once an entry is newer than it: no cache.
SKIP: {
    my $ldapi = $dir->{env}{LDAPI_URI};
    skip 'no ldapi socket for cn=config', 6 unless $ldapi;
    my ($ov) = `ldapsearch -Q -LLL -Y EXTERNAL -H '$ldapi' -b 'olcDatabase={1}mdb,cn=config' -s one '(objectClass=olcSyncProvConfig)' dn 2>/dev/null` =~ /^dn: (.+)$/m;
    ok($ov, "the syncprov overlay's entry") or diag 'none';
    open my $m, '|-', "ldapmodify -Q -Y EXTERNAL -H '$ldapi' >/dev/null" or die $!;
    print $m "dn: $ov\nchangetype: modify\nreplace: olcDisabled\nolcDisabled: TRUE\n";
    close $m;
    is($?, 0, 'syncprov disabled (olcDisabled), its last contextCSN left in the suffix entry');
    create($b, 'fp-stale1@first.example');
    my $c = RBBridge->start($dir);
    my $n = scalar keys %{ ldap_people() };
    is(total($c), $n, 'a new bridge counts');
    create($b, 'fp-stale2@first.example');
    is(total($c), $n + 1, '... and counts again after a write the marker did not see (no cache)');
    my %seen;
    for (my $start = 1; $start <= $n + 1; $start += 2) {
        my $r3 = $c->req(GET => "/Users?startIndex=$start&count=2", token => 'demo-okta');
        $seen{ $_->{id} }++ for @{ $r3->{json}{Resources} // [] };
    }
    is_deeply([sort keys %seen], [sort keys %{ ldap_people() }], '... paging by 2 without a cache: every person');
    is(scalar(grep { $_ != 1 } values %seen), 0, '... each once');
}

done_testing();
