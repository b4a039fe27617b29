#!/usr/bin/env perl
# 75-invite-status.t — SCIM reads every state of an in-product invitation
# (SPEC §2.3 inviteStatus: invited, active, expired) over real HTTP, and a
# failed delivery shows beside it (inviteDeliveryFailed: true, the status
# staying invited: docs/mapping.md). Invitations are made in the console,
# mailed to a real SMTP listener on loopback; "time passes" by setting the
# link's expiry (rbInviteExpires) in the past, as the directory's clock
# would. Filters on inviteStatus see the read state.
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
my @MAIL = ("smtp_host 127.0.0.1", "smtp_port $smtp->{port}", "smtp_tls none",
            "smtp_from noreply\@demo.example", "mail_retry_min_s 1", "mail_retry_max_s 2");
my $b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));

my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@demo.example', displayName => 'Dana District',
    emails => [{ value => 'dana@demo.example', primary => $T }],
    $ADM => { permission => 'manage', scope => 'district', canManageAdmins => $T } });
is($r->{status}, 201, 'a district administrator who may manage administrators');
my $danaid = $r->{json}{id};
RBTest::ldapmodify($dir, "dn: uid=dana\@demo.example,ou=people,o=demo,$S\nchangetype: modify\n"
                   . "replace: userPassword\nuserPassword: dana-pw-1\n");
my $c = RBConsole->new($b, 'demo');
$c->get('/signin');
is($c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' })->{status}, 303, 'Dana signs in');

sub wait_until {    # poll a condition (no timing is asserted; the limit only ends a hung test)
    my ($cond) = @_;
    for (1 .. 1200) { return 1 if $cond->(); sleep 0.1; }
    return 0;
}
sub user_by_mail {
    my ($mail) = @_;
    my $q = $b->req(GET => "/Users?filter=userName%20eq%20%22$mail%22", token => 'demo-okta');
    return $q->{json}{Resources}[0];
}
sub status_filter {    # ids of the users whose inviteStatus is $s (a SCIM filter)
    my ($s) = @_;
    my $q = $b->req(GET => "/Users?filter=urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User:inviteStatus"
                           . "%20eq%20%22$s%22", token => 'demo-okta');
    return [map { $_->{userName} } @{ $q->{json}{Resources} // [] }];
}
sub link_of {
    my ($m) = @_;
    my ($link) = ($m->{text} // '') =~ m{Confirm your account: (\S+)};
    return $link;
}
sub set_expiry {
    my ($uid, $when) = @_;
    my ($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=$uid,ou=people,o=demo,$S\nchangetype: modify\n"
                                        . "replace: rbInviteExpires\nrbInviteExpires: $when\n");
    is($rc, 0, "rbInviteExpires of $uid := $when") or diag $out;
}

# ---- invited ------------------------------------------------------------------------
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => 'Ivy Invited', email => 'ivy@demo.example', school => $LIN,
                                   permission => 'view' });
is($r->{status}, 303, 'Ivy invited in the console');
my $m = $smtp->wait_for(sub { $_[0]{to} eq 'ivy@demo.example' }, 120);
ok($m, 'the invitation was delivered');
my $u = user_by_mail('ivy@demo.example');
is($u->{$ADM}{inviteStatus}, 'invited', 'SCIM: inviteStatus invited');
ok(!exists $u->{$ADM}{inviteDeliveryFailed}, '... no inviteDeliveryFailed');
is_deeply(status_filter('invited'), ['ivy@demo.example'], 'filter inviteStatus eq "invited" finds Ivy');
my $schema = $b->req(GET => "/Schemas/$ADM", token => 'demo-okta')->{json};
my ($def) = grep { $_->{name} eq 'inviteDeliveryFailed' } @{ $schema->{attributes} // [] };
is($def->{mutability}, 'readOnly', '/Schemas advertises inviteDeliveryFailed, readOnly');

# ---- expired ------------------------------------------------------------------------
set_expiry('ivy@demo.example', '20200101000000Z');
$u = user_by_mail('ivy@demo.example');
is($u->{$ADM}{inviteStatus}, 'expired', 'the link ran out: SCIM reads expired');
is_deeply(status_filter('expired'), ['ivy@demo.example'], 'filter inviteStatus eq "expired" finds Ivy');
is_deeply(status_filter('invited'), [], '... and "invited" no longer does');
my $n = RBConsole->new($b, 'demo');
is($n->get(link_of($m) =~ s{^https?://[^/]+}{}r)->{status}, 410, 'the link itself says expired (410)');
like($c->get('/admins')->{content}, qr/<span class="status-expired">Expired<\/span>/, 'the console agrees: Expired');

# ---- resend while the SMTP server is down: delivery failed ---------------------------------
$smtp->stop;
is($c->post("/admins/$u->{id}/resend", {})->{status}, 303, 'Resend invitation (SMTP server down)');
ok(wait_until(sub {
    my ($p) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=ivy@demo.example)',
                                 attrs => ['rbInviteError']);
    return $p->[0]{rbInviteError};
}), 'the outbox records the failed delivery on the person');
$u = user_by_mail('ivy@demo.example');
is($u->{$ADM}{inviteStatus}, 'invited', 'SCIM: inviteStatus invited (a new link is on its way)');
is($u->{$ADM}{inviteDeliveryFailed}, $T, '... with inviteDeliveryFailed: true');
like($c->get('/admins')->{content}, qr/<span class="status-failed">Delivery failed<\/span>/, 'the console: Delivery failed');

$smtp->restart;
$m = $smtp->wait_for(sub { $_[0]{to} eq 'ivy@demo.example' }, 120);
ok($m, 'delivered once the SMTP server is back');
ok(wait_until(sub { !exists user_by_mail('ivy@demo.example')->{$ADM}{inviteDeliveryFailed} }),
   'SCIM: inviteDeliveryFailed gone');
is(user_by_mail('ivy@demo.example')->{$ADM}{inviteStatus}, 'invited', '... still invited');

# ---- active -------------------------------------------------------------------------------
my $path = link_of($m) =~ s{^https?://[^/]+}{}r;
my ($tok) = $path =~ /token=([0-9a-f]+)/;
$n = RBConsole->new($b, 'demo');
$n->get($path);
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-pw-1234', password2 => 'ivy-pw-1234' });
is($r->{status}, 303, 'Ivy confirms with a password') or diag $r->{content};
$u = user_by_mail('ivy@demo.example');
is($u->{$ADM}{inviteStatus}, 'active', 'SCIM: inviteStatus active');
set_expiry('ivy@demo.example', '20200101000000Z');
is(user_by_mail('ivy@demo.example')->{$ADM}{inviteStatus}, 'active', 'an old expiry on an active person does not make it expired');
is_deeply(status_filter('active'), ['ivy@demo.example'], 'filter inviteStatus eq "active" finds Ivy');

# ---- rostered: never invited -------------------------------------------------------------
ok(!exists $b->req(GET => "/Users/$danaid", token => 'demo-okta')->{json}{$ADM}{inviteStatus},
   'a rostered administrator (never invited in-product) has no inviteStatus');
done_testing();
