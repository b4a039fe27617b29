#!/usr/bin/env perl
# 94-half-writes.t — what a slapd killed in the middle of a write leaves
# (both found by tests/proof/directory-kill), and how the bridge puts it
# right.
#
# 1. A create with a password is two LDAP operations (the add, then the
#    password-modify extended operation); the entry carries rbCreatePending
#    "<source> <nonce>" until the password is set, and the marker is
#    removed before the answer. A half create (a person without the
#    password it was sent, answered 503) is made here over LDAP, as that
#    failure leaves it:
#    - a successful create leaves no marker, and binds with its password;
#    - the same source's create of the same userName takes the half create
#      away and answers 201 (a client retrying after a 503 converges);
#    - another source's create of it is 409 (a half create is the creating
#      source's to redo), and so is a create over a whole person;
#    - the repair (at start and every repair_interval_s) deletes a half
#      create held by its source alone once older than the settle time, and
#      keeps one another source has written since, dropping only its marker.
# 2. slapd's memberof overlay writes the members' memberOf in transactions
#    of their own after the group's: a kill between leaves a member without
#    memberOf (or memberOf without membership), and nothing redoes it.
#    Made here by switching the overlay off (cn=config over ldapi, olcDisabled)
#    while the group is written over LDAP, with the pending entry a role-group
#    change leaves. The repair sees the memberOf count stand still across
#    two rounds, writes those people again through the group (memberof then
#    sets their memberOf), refreshes their access summaries and removes the
#    pending entry.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use RBTest;
use RBBridge;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";
# ldap_timeout_ms 1000: the repair takes a half create 2 × 1 + 2 = 4 s old.
my $b = RBBridge->start($dir, ldap_timeout_ms => 1000, repair_interval_s => 1);

sub entry {
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => $P, scope => 'one', filter => "(uid=$uid)", as => 'admin',
        attrs => [qw(uid rbCreatePending rbSource userPassword entryUUID title)]);
    return $e->[0];
}
sub half {    # an entry as a create killed between its add and its password leaves it
    my ($uid, $source, @more) = @_;
    my ($rc, $out) = RBTest::ldapadd($dir, "dn: uid=$uid,$P\nobjectClass: inetOrgPerson\nobjectClass: rbPerson\n"
        . "uid: $uid\ncn: $uid\nsn: H\nrbSource: $source\nrbCreatePending: $source 0123456789abcdef0123456789abcdef\n"
        . join('', map { "$_\n" } @more));
    is($rc, 0, "a half create of $uid by $source, over LDAP") or diag $out;
}
sub create {
    my ($token, $uid, $pw) = @_;
    return $b->req(POST => '/Users', token => $token, json => { schemas => [$CORE, $ADM], userName => $uid,
        ($pw ? (password => $pw) : ()), $ADM => { permission => 'view', scope => 'district' } });
}

# ---- a whole create ----------------------------------------------------------
my $r = create('demo-okta', 'whole@half.example', 'Whole-pw-long-enough-1');
is($r->{status}, 201, 'a create with a password: 201');
my $e = entry('whole@half.example');
ok($e->{userPassword}, '... the password is set');
ok(!$e->{rbCreatePending}, '... and no rbCreatePending marker is left');
my ($rc) = RBTest::ldapwhoami($dir, dn => "uid=whole\@half.example,$P", pw => 'Whole-pw-long-enough-1');
is($rc, 0, '... the person binds with it');
$r = create('demo-okta', 'whole@half.example', 'Whole-pw-long-enough-2');
is($r->{status}, 409, 'the same create again: 409 (a whole person is never taken away)');
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');

# ---- the retry converges -----------------------------------------------------------
half('retry@half.example', 'okta');
$r = create('demo-okta', 'retry@half.example', 'Retry-pw-long-enough-1');
is($r->{status}, 201, 'the same source creates it again: 201') or diag explain $r->{json};
$e = entry('retry@half.example');
is($r->{json}{id}, $e->{entryUUID}[0], '... the id answered is the new entry');
ok($e->{userPassword} && !$e->{rbCreatePending}, '... with its password and no marker');
like($b->log_text, qr/took away the half create/, "... the bridge's log says so");

half('other@half.example', 'okta');
$r = create('demo-clever', 'other@half.example');
is($r->{status}, 409, "another source's create over a half create: 409");
ok(entry('other@half.example')->{rbCreatePending}, '... the half create is left to its source and the repair');

# ---- the repair --------------------------------------------------------------------
half('gone@half.example', 'okta');
half('kept@half.example', 'okta', 'rbSource: entra', 'title: written by entra');
my ($gone, $kept);
for (1 .. 600) {    # polled, up to 5 minutes
    ($gone, $kept) = (entry('gone@half.example'), entry('kept@half.example'));
    last if !$gone && $kept && !$kept->{rbCreatePending} && !entry('other@half.example');
    sleep 0.5;
}
ok(!$gone, 'the repair deleted a half create held by its source alone');
ok(!entry('other@half.example'), '... and the one Clever could not create over');
ok($kept && !$kept->{rbCreatePending}, 'a half create another source holds too stays, without its marker');
is($kept->{title}[0], 'written by entra', '... as that source wrote it');
like($b->log_text, qr/repair of tenant demo: \d+ create\(s\) never answered taken away/, "the repair's log line");
$r = create('demo-clever', 'other@half.example');
is($r->{status}, 201, 'once repaired, the name is free');

# ---- memberof cut short ----------------------------------------------------------------
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => [$GROUP, $ADMG],
    displayName => 'Heal Viewers', $ADMG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra: a role group (view, district)');
my $gid = $r->{json}{id};
my %id;
for my $n (qw(in out)) {
    $r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => "$n\@heal.example" });
    $id{$n} = $r->{json}{id};
}
$r = $b->req(PATCH => "/Groups/$gid", token => 'demo-entra', json => { schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'add', path => 'members', value => [{ value => $id{out} }] }] });
is($r->{status}, 204, 'out@heal is a member, over SCIM');
my $G = "cn=Heal Viewers,ou=groups,o=demo,$S";
my $ldapi = $dir->{env}{LDAPI_URI};
my (undef, $ov) = RBTest::_run(['ldapsearch', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-LLL', '-b', 'cn=config', '(olcOverlay=*)', 'dn']);
my ($memberof) = $ov =~ /^dn: (olcOverlay=\{\d+\}memberof,.*)$/m;
ok($memberof, 'the memberof overlay in cn=config') or BAIL_OUT($ov);
sub memberof_disabled {
    my ($rc, $out, $err) = RBTest::_run(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi],
        stdin => "dn: $memberof\nchangetype: modify\nreplace: olcDisabled\nolcDisabled: $_[0]\n");
    is($rc, 0, "memberof olcDisabled: $_[0]") or diag "$out$err";
}
memberof_disabled('TRUE');
($rc, my $out) = RBTest::ldapmodify($dir, "dn: $G\nchangetype: modify\nadd: member\nmember: uid=in\@heal.example,$P\n"
    . "-\ndelete: member\nmember: uid=out\@heal.example,$P\n");
is($rc, 0, 'in@heal added and out@heal removed over LDAP while memberof is off') or diag $out;
($rc, $out) = RBTest::ldapadd($dir, "dn: cn=heal-test,ou=pending,o=demo,$S\nobjectClass: rbAccessPending\ncn: heal-test\n"
    . "rbRepairFilter: (|(memberOf=$G)(rbViewAll=TRUE))\nrbRepairGroup: $G\n");
is($rc, 0, '... and the pending entry the change leaves') or diag $out;
memberof_disabled('FALSE');
sub heal_state {
    my ($e) = RBTest::ldapsearch($dir, base => $P, scope => 'one', filter => '(uid=*@heal.example)', attrs => [qw(uid memberOf rbViewAll)]);
    my ($p) = RBTest::ldapsearch($dir, base => "ou=pending,o=demo,$S", scope => 'one', filter => '(cn=heal-test)', attrs => ['cn']);
    return ({ map { $_->{uid}[0] => $_ } @$e }, scalar @$p);
}
my ($st, $pend) = heal_state();
ok(!$st->{'in@heal.example'}{memberOf} && $st->{'out@heal.example'}{memberOf}, 'memberOf disagrees with the membership');
for (1 .. 600) {    # polled, up to 5 minutes
    ($st, $pend) = heal_state();
    last unless $pend;
    sleep 0.5;
}
is($pend, 0, 'the repair finished the pending entry');
is_deeply([map { lc } @{ $st->{'in@heal.example'}{memberOf} // [] }], [lc $G], 'in@heal has memberOf again');
is($st->{'in@heal.example'}{rbViewAll}[0], 'TRUE', '... and the role grant in its summary');
ok(!$st->{'out@heal.example'}{memberOf}, 'out@heal lost its memberOf');
ok(!$st->{'out@heal.example'}{rbViewAll}, '... and the grant in its summary');
like($b->log_text, qr/repair: \Q$G\E and its people's memberOf disagreed .*: 2 person\(s\) written again/i, "the repair's log says what it healed");
$r = $b->req(GET => "/Groups/$gid", token => 'demo-entra');
is_deeply([map { $_->{value} } @{ $r->{json}{members} // [] }], [$id{in}], 'SCIM: the group lists in@heal only');
done_testing();
