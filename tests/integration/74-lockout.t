#!/usr/bin/env perl
# 74-lockout.t — repeated wrong passwords lock an administrator out through
# slapd's ppolicy (the directory kit's default policy, conf/directory/
# policies.ldif), not through a counter of the bridge's: five wrong
# passwords in the console (or straight at slapd) and the right one is then
# refused with the same generic message, and slapd has set
# pwdAccountLockedTime. Four are not enough. The bridge's service account
# and a tenant's reader have a no-lockout policy of their own: any number of
# wrong binds leaves them working (the daemon keeps serving, even after a
# restart that binds anew). Real slapd, real daemon, real HTTP.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use RBTest;
use RBBridge;
use RBConsole;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $T    = JSON::PP::true;
my $MAX  = 5;    # pwdMaxFailure of cn=administrators,ou=policies (policies.ldif)

my $dir = RBTest::start_directory();
my $S   = $dir->{suffix};
my $b   = RBBridge->start($dir);

sub person {
    my ($uid, $pw) = @_;
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => [$CORE, $ADM], userName => $uid, displayName => $uid,
        emails => [{ value => $uid, primary => $T }],
        $ADM => { permission => 'manage', scope => 'district', canManageAdmins => $T } });
    is($r->{status}, 201, "$uid created over SCIM") or diag explain $r->{json};
    my ($rc, $out) = RBTest::ldapmodify($dir, "dn: " . dn($uid) . "\nchangetype: modify\nreplace: userPassword\nuserPassword: $pw\n");
    is($rc, 0, "$uid has a password") or diag $out;
}
sub dn { return "uid=$_[0],ou=people,o=demo,$S"; }
sub locked_time {    # pwdAccountLockedTime, read as the directory's admin (an operational attribute)
    my ($d) = @_;
    my ($e) = RBTest::ldapsearch($dir, as => 'admin', base => $d, scope => 'base',
                                 attrs => ['pwdAccountLockedTime', 'pwdFailureTime']);
    return ($e->[0]{pwdAccountLockedTime} // [])->[0];
}
sub signin {
    my ($c, $login, $pw) = @_;
    $c->get('/signin');
    return $c->post('/signin', { login => $login, password => $pw });
}
sub alert { my ($html) = @_; my ($m) = $html =~ /role="alert">([^<]+)</; return $m; }

person('lou@lock.example', 'lou-right-pw-1');
person('mia@lock.example', 'mia-right-pw-1');
person('ned@lock.example', 'ned-right-pw-1');

# ---- below the limit: the failures are forgotten at a good sign-in ---------------------
my $c = RBConsole->new($b, 'demo');
for (1 .. $MAX - 1) {
    is(signin($c, 'ned@lock.example', 'wrong-pw-x')->{status}, 401, "ned: wrong password $_ of " . ($MAX - 1));
}
ok(!locked_time(dn('ned@lock.example')), 'ned: not locked after ' . ($MAX - 1) . ' failures');
is(signin($c, 'ned@lock.example', 'ned-right-pw-1')->{status}, 303, 'ned: the right password still signs in');

# ---- the console: five wrong passwords, then the right one is refused -------------------
$c = RBConsole->new($b, 'demo');
my $r = signin($c, 'lou@lock.example', 'wrong-pw-1');
is($r->{status}, 401, 'lou: a wrong password is refused');
my $generic = alert($r->{content});
ok($generic, "the console's one refusal message: '" . ($generic // '') . "'") or diag $r->{content};
for (2 .. $MAX) {
    $r = signin($c, 'lou@lock.example', "wrong-pw-$_");
    is($r->{status}, 401, "lou: wrong password $_");
}
my $lt = locked_time(dn('lou@lock.example'));
like($lt // '', qr/^\d{14}Z$/, "slapd set pwdAccountLockedTime on lou ($lt) after $MAX failures");
$r = signin($c, 'lou@lock.example', 'lou-right-pw-1');
is($r->{status}, 401, 'lou: now the right password is refused too');
is(alert($r->{content}), $generic, '... with the same message, word for word (nothing says "locked")');
ok(!$c->{cookies}{rb_session}, '... and no session');
my ($wrc) = RBTest::ldapwhoami($dir, dn => dn('lou@lock.example'), pw => 'lou-right-pw-1');
isnt($wrc, 0, "slapd refuses lou's own bind with the right password: the lock is slapd's");

# ---- straight at slapd: the console sees slapd's lock ------------------------------------
for (1 .. $MAX) {
    my ($rc) = RBTest::ldapwhoami($dir, dn => dn('mia@lock.example'), pw => "not-mia-$_");
    isnt($rc, 0, "mia: wrong bind $_ at slapd (ldapwhoami)");
}
ok(locked_time(dn('mia@lock.example')), 'mia: pwdAccountLockedTime set by slapd');
$r = signin(RBConsole->new($b, 'demo'), 'mia@lock.example', 'mia-right-pw-1');
is($r->{status}, 401, 'mia: the console refuses the right password: the bridge keeps no counter of its own');
is(alert($r->{content}), $generic, '... with the same generic message');

# ---- an administrator's unlock (slapd's attribute, removed) lets the person in -----------
my ($urc, $uout) = RBTest::ldapmodify($dir, "dn: " . dn('mia@lock.example')
    . "\nchangetype: modify\ndelete: pwdAccountLockedTime\n", as => 'admin');
is($urc, 0, 'the directory admin removes pwdAccountLockedTime') or diag $uout;
is(signin(RBConsole->new($b, 'demo'), 'mia@lock.example', 'mia-right-pw-1')->{status}, 303,
   'mia signs in again');

# ---- programs are never locked out --------------------------------------------------------
for my $acct (['service account', $dir->{service_dn}, $dir->{service_pw}, 'service'],
              ['reader of demo', $dir->{readers}{demo}{dn}, $dir->{readers}{demo}{pw}, 'reader:demo']) {
    my ($what, $adn, $apw, $as) = @$acct;
    for (1 .. 3 * $MAX) {
        my ($rc) = RBTest::ldapwhoami($dir, dn => $adn, pw => "wrong-$_");
        isnt($rc, 0, "$what: wrong bind $_") if $_ == 1 || $_ == 3 * $MAX;
    }
    ok(!locked_time($adn), "$what: no pwdAccountLockedTime after " . 3 * $MAX . ' wrong binds');
    my ($rc, $who) = RBTest::ldapwhoami($dir, as => $as);
    is($rc, 0, "$what: its own password still binds ($who)");
}
$r = $b->req(GET => '/Users?filter=userName%20eq%20%22lou@lock.example%22', token => 'demo-okta');
is($r->{status}, 200, 'the daemon still serves SCIM');
is($r->{json}{totalResults}, 1, '... and finds lou');
$b->stop;
$b = RBBridge->start($dir);
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'late@lock.example' });
is($r->{status}, 201, 'a restarted daemon binds as the service account anew and writes');
done_testing();
