#!/usr/bin/env perl
# 95-retention.t — retention_days > 0 (issue 16 item 4): a person released
# by its last source is kept disabled — no bind (rbBindLocked, ACL {0}), no
# access (empty summary, in no group), invisible to SCIM (GET 404, absent
# from lists and filters, not a member candidate) — until an operator
# restores it (`rosterctl retained restore`: held by in-product, no grant,
# still bind-locked), a source re-creates its userName (201, the same
# entry, only the new grant), or the sweep purges it. The old password
# never comes back: dropped at the release (and at a restore or
# re-creation of an entry an older version retained with it); a real bind
# with it fails after re-creation (with an active grant) and after restore,
# and a new password set with a grant binds. Time is not waited for: the test sets
# rbDisabledAt in the past as the directory's admin, and two bridges with
# repair_interval_s 1 sweep the same directory (the purge is asserted on
# the entryCSN read; a restore in between wins).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GRP   = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $LINCOLN = '5eed0001-0000-4000-8000-000000000001';

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $BIN = RBBridge::build_dir();
my $optoken = 'demo-inproduct-operator';
my $ophash = `$BIN/rosterbridge -H $optoken`;
chomp $ophash;
my %conf = (repair_interval_s => 1,
            extra_conf => "retention_days 30\ntoken $ophash tenant=demo source=in-product rights=write\n");
my $b = RBBridge->start($dir, %conf);

sub dn_of { "uid=$_[0],ou=people,o=demo,$S" }
sub entry {
    my ($uid, @attrs) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => dn_of($uid), scope => 'base', as => 'admin',
                                 attrs => [@attrs ? @attrs : ('*', '+')]);
    return $e->[0];
}
sub bind_rc { (RBTest::ldapwhoami($dir, dn => dn_of($_[0]), pw => $_[1]))[0] }
sub ctl {
    my (@args) = @_;
    my $tmp = tempdir(CLEANUP => 1);
    return RBTest::_run(["$BIN/rosterctl", @args],
                        env => { HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg",
                                 ROSTERCTL_URL => $b->{base}, ROSTERCTL_TOKEN => $optoken });
}
sub filter_count {
    my ($token, $f) = @_;
    my $r = $b->req(GET => '/Users?filter=' . $f, token => $token);
    return $r->{status} == 200 ? $r->{json}{totalResults} : "status $r->{status}";
}

# ---- a person with a direct grant, a role-group grant and a password -----------------
my $PW = 'Retain-test-pw-1';
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => [$CORE, $ADM], userName => 'rita@lincoln.example', active => JSON::PP::true,
    password => $PW, emails => [{ value => 'rita@lincoln.example', type => 'work' }],
    $ADM => { permission => 'manage', scope => 'school', schools => [$LINCOLN] } });
is($r->{status}, 201, 'Okta creates Rita (manage at Lincoln, a password)') or diag explain $r->{json};
my $rita = $r->{json}{id};
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => [$GRP, $ADMG], displayName => 'Entra District Viewers',
    members => [{ value => $rita }], $ADMG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra puts her in its district-view role group') or diag explain $r->{json};
my $grp = $r->{json}{id};
is(bind_rc('rita@lincoln.example', $PW), 0, 'she binds');
my $e = entry('rita@lincoln.example', 'rbViewAll', 'memberOf');
is($e->{rbViewAll}[0], 'TRUE', 'the role group gives her district view');

# ---- the last source releases her: kept disabled --------------------------------------
$r = $b->req(DELETE => "/Users/$rita", token => 'demo-okta');
is($r->{status}, 204, 'Okta (her only holder) DELETEs her: 204');
$e = entry('rita@lincoln.example');
ok($e, 'the entry is kept');
like($e->{rbDisabledAt}[0] // '', qr/^\d{14}Z$/, '... with rbDisabledAt');
is($e->{rbBindLocked}[0], 'TRUE', '... rbBindLocked TRUE');
is($e->{entryUUID}[0], $rita, '... the same entryUUID');
ok(!grep(/^rb(Source|Permission|Scope|SchoolRef|Active|ExternalId|Manage|View)/i, keys %$e),
   '... no holder, no grant, no per-source value, no access summary')
    or diag explain $e;
ok(!$e->{memberOf}, '... in no group');
is(bind_rc('rita@lincoln.example', $PW), 49, 'the right password does not bind (49)');
ok(!$e->{userPassword}, '... and is gone: no userPassword kept');
my ($g) = RBTest::ldapsearch($dir, base => "cn=Entra District Viewers,ou=groups,o=demo,$S",
                             scope => 'base', attrs => ['member']);
ok(!(grep { lc($_) eq lc(dn_of('rita@lincoln.example')) } @{ $g->[0]{member} // [] }),
   'the role group no longer lists her');
my ($v) = RBTest::ldapsearch($dir, base => "cn=viewers,cn=Lincoln Elementary,ou=schools,o=demo,$S",
                             scope => 'base', attrs => ['rbViewer'], as => 'reader:demo');
ok($v->[0], 'Lincoln\'s viewers entry is readable');
ok(!(grep { /rita/i } @{ $v->[0]{rbViewer} // [] }), 'no access at Lincoln (rbViewer)');

for my $tok (qw(demo-okta demo-entra)) {
    is($b->req(GET => "/Users/$rita", token => $tok)->{status}, 404, "$tok: GET /Users/{id} 404");
}
is(filter_count('demo-okta', 'userName%20eq%20%22rita@lincoln.example%22'), 0,
   'filter userName eq: no result');
is(filter_count('demo-okta', 'emails%20co%20%22rita%22'), 0, 'filter emails co (evaluated): no result');
$r = $b->req(GET => '/Users?count=1000', token => 'demo-okta');
ok(!grep({ $_->{id} eq $rita } @{ $r->{json}{Resources} // [] }), 'absent from the list');
is($b->req(PATCH => "/Users/$rita", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => 'title', value => 'x' }] })->{status},
   404, 'PATCH 404');
$r = $b->req(PATCH => "/Groups/$grp", token => 'demo-entra', json => {
    schemas => [$PATCH], Operations => [{ op => 'add', path => 'members', value => [{ value => $rita }] }] });
is($r->{status}, 400, 'a group cannot take her as a member (unknown id)') or diag explain $r->{json};

# ---- the operator's view ---------------------------------------------------------------
my ($rc, $out, $err) = ctl(qw(retained list --json));
is($rc, 0, 'rosterctl retained list') or diag $err;
like($out, qr/rita\@lincoln\.example/, '... lists her');
$r = $b->req(GET => '/operator/v1/retained', token => 'demo-okta');
is($r->{status}, 403, 'an identity provider token is refused on /operator/v1');

# ---- a source re-creates the same userName: the entry is reused, no old grant ---------
$r = $b->req(POST => '/Users', token => 'demo-clever', json => {
    schemas => [$CORE, $ADM], userName => 'Rita@Lincoln.example',
    $ADM => { permission => 'view', scope => 'school', schools => [$LINCOLN] } });
is($r->{status}, 201, 'Clever POSTs the same userName (other case): 201') or diag explain $r->{json};
is($r->{json}{id}, $rita, '... the same id: the retained entry is reused');
my @grants = @{ $r->{json}{$ADM}{grants} // [] };
is(scalar @grants, 1, '... exactly one grant') or diag explain \@grants;
is($grants[0]{source}, 'clever', '... Clever\'s: neither Okta\'s nor the role group\'s came back');
$e = entry('rita@lincoln.example');
ok(!$e->{rbDisabledAt}, 'rbDisabledAt is gone');
is_deeply($e->{rbSource}, ['clever'], 'held by Clever only');
ok(!$e->{rbManageSchool} && !$e->{rbViewAll}, 'no manage and no district view left over');
is($b->req(GET => "/Users/$rita", token => 'demo-okta')->{status}, 200, 'visible again');
ok(!$e->{rbBindLocked}, 'not bind-locked: Clever\'s grant is active');
is(bind_rc('rita@lincoln.example', $PW), 49, 'yet her old password does not bind (49): Clever set none');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'rita@lincoln.example' });
is($r->{status}, 409, 'a second POST of that userName is 409 again');

# ---- the operator restores a person ----------------------------------------------------
my $OPW = 'Omar-old-pw-2';
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => [$CORE, $ADM], userName => 'omar@lincoln.example', password => $OPW,
    $ADM => { permission => 'manage', scope => 'district' } });
my $omar = $r->{json}{id};
is(bind_rc('omar@lincoln.example', $OPW), 0, 'Omar (a password) binds');
is($b->req(DELETE => "/Users/$omar", token => 'demo-okta')->{status}, 204, 'Omar released');
# as an entry retained by a version that kept the password: put a hash back
my ($hrc, $hash) = RBTest::_run(['/usr/sbin/slappasswd', '-h', '{SSHA}', '-s', $OPW]);
chomp $hash;
($rc, $out) = RBTest::ldapmodify($dir, "dn: " . dn_of('omar@lincoln.example')
    . "\nchangetype: modify\nreplace: userPassword\nuserPassword: $hash\n", as => 'admin');
is($rc, 0, '(his old password hash put back on the retained entry, as an older version kept it)') or diag $out;
($rc, $out, $err) = ctl(qw(retained restore omar@lincoln.example));
is($rc, 0, 'rosterctl retained restore') or diag $err;
like($out, qr/\Q$omar\E/, '... prints the id');
$r = $b->req(GET => "/Users/$omar", token => 'demo-okta');
is($r->{status}, 200, 'Omar is visible again, same id');
ok(!@{ $r->{json}{$ADM}{grants} // [] }, '... with no grant');
$e = entry('omar@lincoln.example');
is_deeply($e->{rbSource}, ['in-product'], '... held by in-product');
ok(!$e->{rbDisabledAt} && !$e->{rbManageAll}, '... not disabled, no access');
ok(!$e->{userPassword}, '... no userPassword');
is($e->{rbBindLocked}[0], 'TRUE', '... still bind-locked (no grant yet)');
is(bind_rc('omar@lincoln.example', $OPW), 49, '... his old password does not bind (49)');
$r = $b->req(PATCH => "/Users/$omar", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'add', path => "$ADM:permission", value => 'view' },
    { op => 'add', path => "$ADM:scope", value => 'district' },
    { op => 'replace', path => 'password', value => 'Omar-new-pw-3' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'Okta attaches a view grant and a new password') or diag explain $r->{json};
$e = entry('omar@lincoln.example');
ok(!$e->{rbBindLocked}, '... the bind lock goes with the active grant');
is(bind_rc('omar@lincoln.example', 'Omar-new-pw-3'), 0, '... he binds with the new password');
is(bind_rc('omar@lincoln.example', $OPW), 49, '... never with the old one');
($rc, undef, $err) = ctl(qw(retained restore omar@lincoln.example));
is($rc, 6, 'restoring a person that is not retained: not found (6)') or diag "$rc $err";

# ---- the purge: two bridges sweep; only the expired one goes ---------------------------
my $b2 = RBBridge->start($dir, %conf);
for my $who (qw(old new)) {
    $r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => "$who\@lincoln.example" });
    is($b->req(DELETE => "/Users/$r->{json}{id}", token => 'demo-entra')->{status}, 204, "$who released");
}
($rc, $out) = RBTest::ldapmodify($dir, "dn: " . dn_of('old@lincoln.example')
    . "\nchangetype: modify\nreplace: rbDisabledAt\nrbDisabledAt: 20000101000000Z\n", as => 'admin');
is($rc, 0, 'the directory admin dates old@ back to 2000') or diag $out;
my $gone = 0;
for (1 .. 600) {    # the sweep runs every second in both bridges; wait for its effect, not a time
    if (!entry('old@lincoln.example', 'uid')) { $gone = 1; last }
    select undef, undef, undef, 0.1;
}
ok($gone, 'the sweep purged the expired person');
ok(entry('new@lincoln.example', 'rbDisabledAt'), 'the one released just now is still kept');
for my $br ($b, $b2) {
    unlike($br->log_text, qr/repair of tenant .*:/, 'no sweep failure logged');
}
like($b->log_text . $b2->log_text, qr/purged uid=old\@lincoln\.example/, 'the purge is logged');

# ---- retention 0 (the default) deletes at once -----------------------------------------
my $b0 = RBBridge->start($dir);
$r = $b0->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'zed@lincoln.example' });
$b0->req(DELETE => "/Users/$r->{json}{id}", token => 'demo-okta');
ok(!entry('zed@lincoln.example', 'uid'), 'retention_days 0: the entry is deleted');

done_testing;
