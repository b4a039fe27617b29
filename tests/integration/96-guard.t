#!/usr/bin/env perl
# 96-guard.t — the mass-deprovision guard (issue 16 item 5): a source
# removing (DELETE) or suspending (active=false) more than
# guard_share_percent (50) of the people it holds within guard_window_s
# (24 h) gets the removals beyond max(guard_min, share) held, not applied,
# answered 202; an operator lists them (`rosterctl guard list`) and
# approves (applied as the source) or rejects (dropped) each. Cases: Okta
# "unassigning" everyone with PATCH active=false; Entra DELETEing all 3 of
# its people in a small tenant (guard_min 2); the same removal sent again;
# an approval whose person is gone; a held removal's age and expiry
# (guard_hold_days, 7 by default), its cancellation when the same source
# writes the person as active again (PATCH active=true, PUT), and its
# expiry: dropped, not applied (approve refused, the sweep drops it, both
# logged); and eight clients on two bridges on one directory DELETEing 60
# people concurrently, whose count must still be exact (the window's count
# is written asserting its entryCSN) with no answer but 204 and 202 (no 503
# from the retries running out). Fewer than 32 places are left in each of
# these windows, so the bridges' reservations are one place each and every
# count here is exact; blocks of more: 34-guard-lease.t.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $LINCOLN = '5eed0001-0000-4000-8000-000000000001';

local $ENV{DIRECTORY_AUDIT} = 1;    # the audit trail records what happens to held removals
my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $BIN = RBBridge::build_dir();
my $optoken = 'demo-inproduct-operator';
my $ophash = `$BIN/rosterbridge -H $optoken`;
chomp $ophash;
my %conf = (guard_share_percent => undef,    # the daemon's defaults: 50%, 24 h, 2 (test bridges run without)
            extra_conf => "token $ophash tenant=demo source=in-product rights=write\n");
my $b = RBBridge->start($dir, %conf);

sub dn_of { "uid=$_[0],ou=people,o=demo,$S" }
sub entry {
    my ($uid, @attrs) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => dn_of($uid), scope => 'base', attrs => [@attrs]);
    return $e->[0];
}
sub ctl {
    my (@args) = @_;
    my $tmp = tempdir(CLEANUP => 1);
    return RBTest::_run(["$BIN/rosterctl", @args],
                        env => { HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg",
                                 ROSTERCTL_URL => $b->{base}, ROSTERCTL_TOKEN => $optoken });
}
sub held_list {
    my $r = $b->req(GET => '/operator/v1/held', token => $optoken);
    return @{ $r->{json}{Resources} // [] };
}
sub create {
    my ($token, $uid) = @_;
    my $r = $b->req(POST => '/Users', token => $token, json => {
        schemas => [$CORE, $ADM], userName => $uid, active => JSON::PP::true,
        $ADM => { permission => 'view', scope => 'school', schools => [$LINCOLN] } });
    die "create $uid: $r->{status}\n" unless $r->{status} == 201;
    return $r->{json}{id};
}
sub set_active {
    my ($token, $id, $v) = @_;
    return $b->req(PATCH => "/Users/$id", token => $token, json => { schemas => [$PATCH],
        Operations => [{ op => 'Replace', path => 'active', value => $v ? 'True' : 'False' }] });
}

# ---- Okta unassigns everyone it holds: 10 people, active=false --------------------------
my %okta = map { ("okta$_\@lincoln.example" => create('demo-okta', "okta$_\@lincoln.example")) } 0 .. 9;
my (@applied, @held);
for my $uid (sort keys %okta) {
    my $r = set_active('demo-okta', $okta{$uid}, 0);
    if ($r->{status} == 200) { push @applied, $uid }
    elsif ($r->{status} == 202) { push @held, $uid }
    else { fail("PATCH active=false of $uid: $r->{status}"); diag explain $r->{json} }
    if ($r->{status} == 202) {
        ok($r->{json}{active}, "202 for $uid carries the person as stored: still active");
    }
}
is(scalar @applied, 5, 'the first 5 of 10 (50%) suspensions are applied (200)');
is(scalar @held, 5, 'the other 5 are held (202)');
is_deeply([@applied], [(sort keys %okta)[0 .. 4]], '... in request order');
for my $uid (@held) {
    my $e = entry($uid, 'rbActive;x-src-okta', 'rbViewSchool', 'rbBindLocked');
    ok(!$e->{'rbActive;x-src-okta'} || $e->{'rbActive;x-src-okta'}[0] eq 'TRUE', "$uid: Okta's flag unchanged");
    is($e->{rbViewSchool}[0], $LINCOLN, "$uid: access at Lincoln kept");
}
is(entry($applied[0], 'rbActive;x-src-okta')->{'rbActive;x-src-okta'}[0], 'FALSE', 'an applied one is suspended');

my $r = set_active('demo-okta', $okta{ $held[0] }, 0);
is($r->{status}, 202, 'the same suspension sent again: 202 again');
my @h = held_list();
is(scalar(grep { $_->{source} eq 'okta' } @h), 5, 'still one held entry per person (5)');
my ($one) = grep { $_->{userName} eq $held[0] } @h;
is($one->{action}, 'suspend', 'a held entry says suspend');
is($one->{person}, $okta{ $held[0] }, '... names the person by id');

my ($rc, $out, $err) = ctl(qw(guard list));
is($rc, 0, 'rosterctl guard list') or diag $err;
like($out, qr/\Q$held[1]\E/, '... shows a held person');

# approve one, reject one
my ($h1) = grep { $_->{userName} eq $held[1] } @h;
my ($h2) = grep { $_->{userName} eq $held[2] } @h;
($rc, $out, $err) = ctl('guard', 'approve', $h1->{id});
is($rc, 0, 'rosterctl guard approve') or diag $err;
is(entry($held[1], 'rbActive;x-src-okta')->{'rbActive;x-src-okta'}[0], 'FALSE',
   'approved: the suspension is applied, as Okta');
$r = $b->req(GET => "/Users/$okta{$held[1]}", token => 'demo-okta');
ok(!$r->{json}{active}, '... Okta reads active=false');
($rc, $out, $err) = ctl('guard', 'reject', $h2->{id});
is($rc, 0, 'rosterctl guard reject') or diag $err;
is(entry($held[2], 'rbViewSchool')->{rbViewSchool}[0], $LINCOLN, 'rejected: still active with access');
@h = held_list();
is(scalar(grep { $_->{source} eq 'okta' } @h), 3, 'two decided, three left');
($rc, undef, $err) = ctl('guard', 'approve', $h1->{id});
is($rc, 6, 'deciding it again: not found (6)') or diag $err;
$r = $b->req(POST => "/operator/v1/held/$h2->{id}/approve", token => 'demo-okta');
is($r->{status}, 403, 'the source itself may not approve (403)');

# ---- the age and expiry of a held removal --------------------------------------------------
sub gt_epoch { my ($t) = @_; $t =~ /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/ or return undef;
               return POSIX::mktime($6, $5, $4, $3, $2 - 1, $1 - 1900) }
@h = held_list();
my ($h3) = grep { $_->{userName} eq $held[3] } @h;
ok(defined $h3->{ageSeconds} && $h3->{ageSeconds} >= 0, 'a held removal shows its age in seconds') or diag explain $h3;
is(gt_epoch($h3->{expiresAt}) - gt_epoch($h3->{heldAt}), 7 * 86400, '... and expires guard_hold_days (7, the default) after it was held')
    or diag explain $h3;
($rc, $out, $err) = ctl(qw(guard list));
like($out, qr/\bage\b.*\bexpiresAt\b/, 'rosterctl guard list has columns age and expiresAt') or diag $out;
like($out, qr/\Q$h3->{id}\E.*\Q$h3->{expiresAt}\E/, '... with the expiry of each') or diag $out;

# ---- the source re-activates a person whose suspension it had held: cancelled ---------------
$r = set_active('demo-okta', $okta{ $held[3] }, 1);
is($r->{status}, 200, "Okta sets $held[3] active again: 200") or diag explain $r->{json};
ok(!(grep { $_->{userName} eq $held[3] } held_list()), '... its held suspension is cancelled (gone from the list)');
like($b->log_text, qr/tenant demo source okta: held suspend of \Q$held[3]\E .*cancelled/, '... and the cancellation is logged');
is(entry($held[3], 'rbActive;x-src-okta')->{'rbActive;x-src-okta'}[0], 'TRUE', '... still active');
$r = set_active('demo-okta', $okta{ $held[3] }, 0);
is($r->{status}, 202, 'suspending it again is counted afresh (and held: the window is full)');
ok((grep { $_->{userName} eq $held[3] } held_list()), '... held again');
# another source's write does not cancel Okta's hold
$r = $b->req(PATCH => "/Users/$okta{ $held[3] }", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'add', path => "$ADM:permission", value => 'view' },
                   { op => 'add', path => "$ADM:scope", value => 'district' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'Entra grants that person something') or diag explain $r->{json};
ok((grep { $_->{userName} eq $held[3] } held_list()), '... Okta\'s held suspension stays (each source owns its own)');

# ---- a held removal nobody decides within guard_hold_days: dropped, not applied ------------
sub backdate {
    my ($id) = @_;
    my ($mrc, $mout) = RBTest::ldapmodify($dir, "dn: cn=$id,ou=guard,o=demo,$S\nchangetype: modify\n"
        . "replace: rbGuardAt\nrbGuardAt: 20000101000000Z\n", as => 'admin');
    is($mrc, 0, "(the directory admin dates held removal $id back to 2000)") or diag $mout;
}
my ($h4) = grep { $_->{userName} eq $held[4] } held_list();
backdate($h4->{id});
$r = $b->req(POST => "/operator/v1/held/$h4->{id}/approve", token => $optoken);
is($r->{status}, 409, 'approving an expired held removal: 409') or diag explain $r->{json};
like($r->{json}{detail} // '', qr/expired/, '... it says expired');
ok(!(grep { $_->{userName} eq $held[4] } held_list()), '... and it is dropped');
is(entry($held[4], 'rbActive;x-src-okta')->{'rbActive;x-src-okta'}[0], 'TRUE', '... NOT applied: still active');
# the sweep (a bridge repairing every second) drops the next one by itself
my ($h0) = grep { $_->{userName} eq $held[0] } held_list();
backdate($h0->{id});
my $b3 = RBBridge->start($dir, %conf, repair_interval_s => 1);
my $dropped = 0;
for (1 .. 600) {    # wait for its effect, not for a time
    if (!(grep { $_->{userName} eq $held[0] } held_list())) { $dropped = 1; last }
    select undef, undef, undef, 0.1;
}
ok($dropped, 'the sweep drops the expired held removal');
is(entry($held[0], 'rbActive;x-src-okta')->{'rbActive;x-src-okta'}[0], 'TRUE', '... NOT applied: still active');
is(entry($held[0], 'rbViewSchool')->{rbViewSchool}[0], $LINCOLN, '... with its access');
like($b3->log_text, qr/tenant demo source okta: held suspend of \Q$held[0]\E \(person \Q$okta{$held[0]}\E, held 20000101000000Z\) expired/,
     '... logged with tenant, source, action and person');
$b3->stop;
# the audit trail (slapd's accesslog): the expiry is the delete of the held entry, by the repair
my ($arc, $aout, $aerr) = RBTest::_run([RBTest::srcdir() . '/scripts/audit', $dir->{data_dir}, "cn=$h0->{id},ou=guard,o=demo,$S"]);
is($arc, 0, 'scripts/audit on the held entry') or diag $aerr;
like($aout, qr/^\S+\s+add\s+cn=\Q$h0->{id}\E,.*source=okta/m, '... its hold (source okta)') or diag $aout;
like($aout, qr/^\S+\s+delete\s+cn=\Q$h0->{id}\E,.*tenant=demo source=\(repair\)/m, '... and its expiry: deleted by the repair') or diag $aout;
($arc, $aout) = RBTest::_run([RBTest::srcdir() . '/scripts/audit', $dir->{data_dir}, $held[0]]);
unlike($aout, qr/^\S+\s+modify\s/m, '... and the person was never modified after its create (no suspension written)') or diag $aout;

# ---- Entra deletes all 3 of its people: guard_min 2 applies, the third is held ----------
my %entra = map { ("entra$_\@lincoln.example" => create('demo-entra', "entra$_\@lincoln.example")) } 0 .. 2;
my @st = map { $b->req(DELETE => "/Users/$entra{$_}", token => 'demo-entra') } sort keys %entra;
is_deeply([map { $_->{status} } @st], [204, 204, 202], 'Entra DELETEs 3 of 3: 204, 204, 202 (at least guard_min 2 pass)');
like($st[2]{json}{detail} // '', qr/held/i, 'the 202 says it is held') or diag explain $st[2];
my $third = (sort keys %entra)[2];
is($b->req(GET => "/Users/$entra{$third}", token => 'demo-entra')->{status}, 200, 'the held one still exists');
($h1) = grep { $_->{userName} eq $third } held_list();
is($h1->{action}, 'delete', 'held as a delete');
$r = $b->req(POST => "/operator/v1/held/$h1->{id}/approve", token => $optoken);
is($r->{status}, 200, 'approved over HTTP') or diag explain $r->{json};
ok(!entry($third, 'uid'), '... the release is applied: the entry is gone');

# an approval whose person is gone meanwhile
my $z = create('demo-entra', 'entraz@lincoln.example');
is($b->req(DELETE => "/Users/$z", token => 'demo-entra')->{status}, 202, 'a fourth Entra DELETE is held');
RBTest::ldapdelete($dir, dn_of('entraz@lincoln.example'));
($h1) = grep { $_->{userName} eq 'entraz@lincoln.example' } held_list();
$r = $b->req(POST => "/operator/v1/held/$h1->{id}/approve", token => $optoken);
is($r->{status}, 409, 'approving a removal whose person is gone: 409') or diag explain $r->{json};

# /Bulk answers a held removal 202 too
my $y = create('demo-entra', 'entray@lincoln.example');
$r = $b->req(POST => '/Bulk', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
    Operations => [{ method => 'DELETE', path => "/Users/$y" }] });
is($r->{json}{Operations}[0]{status}, '202', '/Bulk: a held DELETE is "202"') or diag explain $r->{json};
ok(entry('entray@lincoln.example', 'uid'), '... and not applied');

# a held DELETE is cancelled when the source writes the person again
my $x = create('demo-entra', 'entrax@lincoln.example');
is($b->req(DELETE => "/Users/$x", token => 'demo-entra')->{status}, 202, 'an Entra DELETE is held');
$r = $b->req(PUT => "/Users/$x", token => 'demo-entra', json => {
    schemas => [$CORE, $ADM], userName => 'entrax@lincoln.example', active => JSON::PP::true,
    $ADM => { permission => 'view', scope => 'school', schools => [$LINCOLN] } });
is($r->{status}, 200, 'Entra PUTs the person again, active') or diag explain $r->{json};
ok(!(grep { $_->{userName} eq 'entrax@lincoln.example' } held_list()), '... the held DELETE is cancelled');

# ---- two bridges, one directory, concurrent DELETEs: the count stays exact -------------
# Another provider's bridges counted 10 of Clever's removals in their own window (as on
# scripts/cluster, replicated here): the windows are summed, so 20 places are left of 30.
my $b2 = RBBridge->start($dir, %conf);
my @ids = map { create('demo-clever', "clever$_\@lincoln.example") } 0 .. 59;
my $now = POSIX::strftime('%Y%m%d%H%M%SZ', gmtime);
($arc, $aout) = RBTest::ldapadd($dir, "dn: cn=window-clever\@192.0.2.7:389,ou=guard,o=demo,$S\n"
    . "objectClass: rbGuardWindow\ncn: window-clever\@192.0.2.7:389\nrbSource: clever\n"
    . "rbGuardAt: $now\nrbGuardBase: 60\nrbGuardCount: 10\n");
is($arc, 0, "another provider's window of Clever's removals: 10 counted") or diag $aout;
my %tot = %{ RBBridge::parallel_deletes([$b, $b2], 'demo-clever', \@ids, 8, $dir->{data_dir}) };
is($tot{204}, 20, 'eight clients on two bridges at once: exactly 20 of 60 DELETEs applied')
    or diag explain \%tot;
is($tot{202}, 40, '... 40 held') or diag explain \%tot;
is(join(',', sort grep { $_ != 202 && $_ != 204 && $tot{$_} } keys %tot), '', '... and no other answer')
    or diag explain \%tot;
my ($gone) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", scope => 'one',
                                filter => '(uid=clever*)', attrs => ['uid']);
is(scalar @$gone, 40, 'the directory agrees: 40 of the 60 remain');
my ($ws) = RBTest::ldapsearch($dir, base => "ou=guard,o=demo,$S", scope => 'one',
    filter => '(&(objectClass=rbGuardWindow)(rbSource=clever)(!(cn=window-clever@192.0.2.7:389)))',
    attrs => ['cn', 'rbGuardCount', 'rbGuardRemoval', 'rbGuardBase']);
is(scalar @$ws, 1, 'both bridges counted in one window: the one of the directory server they share')
    or diag explain $ws;
my $w = $ws->[0];
like($w->{cn}[0], qr/^window-clever\@127\.0\.0\.1:\d+$/, '... named by its address and port');
is($w->{rbGuardCount}[0], 20, '... which counts 20 removals');
is($w->{rbGuardBase}[0], 60, '... of a base of 60');
ok(!$w->{rbGuardRemoval}, '... in a number: no value per removal (the entry does not grow)');

done_testing;
