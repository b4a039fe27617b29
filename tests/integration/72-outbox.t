#!/usr/bin/env perl
# 72-outbox.t — the invitation outbox lives in the directory (issue 13):
# with the SMTP server down an invitation is queued, its delivery retried
# with backoff and its last error shown in the console ("Delivery failed");
# it survives a daemon restart and is delivered once the server is back.
# Two daemons working one outbox send every message exactly once (claims
# are LDAP writes asserted on the entryCSN read).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use RBTest;
use RBBridge;
use RBSmtp;
use RBConsole;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $LIN  = '5eed0001-0000-4000-8000-000000000001';
my $T    = JSON::PP::true;

my $dir  = RBTest::start_directory();
my $S    = $dir->{suffix};
my $smtp = RBSmtp->start;
$smtp->stop;    # the port is known; nothing listens there: an SMTP outage
my @MAIL = ("smtp_host 127.0.0.1", "smtp_port $smtp->{port}", "smtp_tls none",
            "smtp_from noreply\@demo.example", "mail_retry_min_s 1", "mail_retry_max_s 2");
my $b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));

my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@demo.example', displayName => 'Dana District',
    emails => [{ value => 'dana@demo.example', primary => $T }],
    $ADM => { permission => 'manage', scope => 'district', canManageAdmins => $T } });
is($r->{status}, 201, 'a district administrator');
RBTest::ldapmodify($dir, "dn: uid=dana\@demo.example,ou=people,o=demo,$S\nchangetype: modify\n"
                   . "replace: userPassword\nuserPassword: dana-pw-1\n");

sub console_for {
    my ($bridge) = @_;
    my $c = RBConsole->new($bridge, 'demo');
    $c->get('/signin');
    $c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' });
    return $c;
}
sub invite {
    my ($c, $email) = @_;
    $c->get('/admins/invite');
    return $c->post('/admins/invite', { name => "Person $email", email => $email, school => $LIN,
                                        permission => 'view' });
}
sub outbox {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=outbox,ou=console,$S", scope => 'one',
        filter => '(objectClass=rbOutboxMessage)', attrs => [qw(rbMailTo rbMailState rbMailAttempts rbMailLastError)]);
    return $e;
}
sub wait_until {    # poll a condition (no timing is asserted; the limit only ends a hung test)
    my ($cond) = @_;
    for (1 .. 1200) { return 1 if $cond->(); sleep 0.1; }
    return 0;
}

my $c = console_for($b);
$r = invite($c, 'late@demo.example');
is($r->{status}, 303, 'invitation accepted while the SMTP server is down');
ok(wait_until(sub { my $o = outbox(); @$o && ($o->[0]{rbMailAttempts}[0] // 0) >= 2 }),
   'delivery is retried (two attempts or more)') or diag explain outbox();
my $o = outbox();
is(scalar @$o, 1, 'one message in the outbox');
is($o->[0]{rbMailTo}[0], 'late@demo.example', '... for the invited address');
like($o->[0]{rbMailLastError}[0] // '', qr/127\.0\.0\.1:\d+: .+/, '... with the last error');
my ($p) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=late@demo.example)',
                             attrs => ['rbInviteError', 'rbInviteStatus']);
ok($p->[0]{rbInviteError}, 'the person carries the delivery error');
$r = $c->get('/admins');
like($r->{content}, qr/<span class="status-failed">Delivery failed<\/span><div class="detail">127\.0\.0\.1:\d+: [^<]+<\/div>/,
     'the console shows Delivery failed and the last error');

$b->stop;
$b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));
is(scalar @{ outbox() }, 1, 'the message is still queued after a daemon restart');
$smtp->restart;
my $m = $smtp->wait_for(sub { $_[0]{to} eq 'late@demo.example' }, 120);
ok($m, 'delivered once the SMTP server is back') or diag $b->log_text;
like($m->{text} // '', qr{/console/demo/confirm\?token=[0-9a-f]{64}}, '... with a working link in it');
ok(wait_until(sub { @{ outbox() } == 0 }), 'the outbox is empty afterwards');
($p) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=late@demo.example)',
                          attrs => ['rbInviteError', 'rbInviteStatus']);
ok(!$p->[0]{rbInviteError}, 'the delivery error is cleared');
$c = console_for($b);
like($c->get('/admins')->{content}, qr/<span class="status-invited">Invited<\/span>/, 'the console shows Invited');
my ($link) = $m->{text} =~ m{(/console/demo/confirm\?token=[0-9a-f]{64})};
is(RBConsole->new($b, 'demo')->get($link)->{status}, 200, 'the link opens the confirm page');

# ---- two daemons, one outbox -------------------------------------------------
my $b2 = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));
my @c = (console_for($b), console_for($b2));
my @to = map { "pair$_\@demo.example" } 1 .. 8;
for my $i (0 .. $#to) {
    is(invite($c[$i % 2], $to[$i])->{status}, 303, "invitation $to[$i] through daemon " . ($i % 2 + 1));
}
ok(wait_until(sub { @{ outbox() } == 0 }), 'both daemons emptied the outbox') or diag explain outbox();
my %count;
$count{ $_->{to} }++ for $smtp->messages;
is_deeply([map { $count{$_} // 0 } @to], [(1) x @to], 'every invitation was sent exactly once')
    or diag explain \%count;
done_testing;
