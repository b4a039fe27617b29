#!/usr/bin/env perl
# 76-rosterctl-invite.t — the invitations API (POST /scim/v2/Invitations,
# POST /scim/v2/Invitations/{id}/resend) and `rosterctl admins invite|resend`
# against the real daemon, slapd and a real SMTP listener on loopback: the
# e-mail arrives and its link works (the confirm page sets a password,
# ldapwhoami works); resend kills the old link; the token must say invite=
# on its configuration line (and only an in-product write token may); its
# ceiling goes through the console's no-escalation check (invite=yes: the
# whole tenant; invite=LOGIN: that administrator's live grants); the exit
# codes rosterctl(1) documents.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use RBTest;
use RBBridge;
use RBSmtp;
use RBConsole;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $LIN  = '5eed0001-0000-4000-8000-000000000001';    # Lincoln Elementary
my $WAS  = '5eed0001-0000-4000-8000-000000000002';    # Washington Middle School
my $T    = JSON::PP::true;
my $B    = RBBridge::build_dir();
my $CTL  = "$B/rosterctl";
my $tmp  = tempdir(CLEANUP => 1);

my $dir  = RBTest::start_directory();
my $S    = $dir->{suffix};
my $smtp = RBSmtp->start;
my @conf = ("smtp_host 127.0.0.1", "smtp_port $smtp->{port}", "smtp_tls none",
            "smtp_from noreply\@demo.example", "mail_retry_min_s 1", "mail_retry_max_s 2");
my %TOK = (    # name (also the token) => its options
    'ops-invite' => 'source=in-product rights=write invite=yes',
    'ops-plain'  => 'source=in-product rights=write',
    'ops-as-val' => 'source=in-product rights=write invite=val@demo.example',
);
for my $t (sort keys %TOK) {
    my $hash = `$B/rosterbridge -H $t`;
    chomp $hash;
    push @conf, "token $hash tenant=demo $TOK{$t}";
}
my $b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @conf));

sub ctl {    # rosterctl as the operator with token $tok → ($rc, $stdout, $stderr)
    my ($tok, @args) = @_;
    my $f = "$tmp/token-$tok";
    if (!-e $f) { open my $fh, '>', $f or die; print $fh "$tok\n"; close $fh; chmod 0600, $f; }
    delete $ENV{$_} for grep { /^ROSTERCTL_/ } keys %ENV;
    return RBTest::_run([$CTL, @args], env => { HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg",
        ROSTERCTL_URL => $b->{base}, ROSTERCTL_TOKEN_FILE => $f });
}
sub link_of {
    my ($m) = @_;
    my ($link) = ($m->{text} // '') =~ m{Confirm your account: (\S+)};
    my ($token) = ($link // '') =~ /token=([0-9a-f]+)$/;
    return (($link // '') =~ s{^https?://[^/]+}{}r, $token);
}
sub mail_to { my ($to) = @_; return $smtp->wait_for(sub { $_[0]{to} eq $to }, 120); }
sub scim_user {
    my ($mail) = @_;
    return $b->req(GET => "/Users?filter=userName%20eq%20%22$mail%22", token => 'demo-okta')->{json}{Resources}[0];
}
sub grant_of { my ($u, $src) = @_; my ($g) = grep { $_->{source} eq $src } @{ $u->{$ADM}{grants} // [] }; return $g; }

# Val: manages Lincoln only, and may manage administrators there.
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'val@demo.example', displayName => 'Val Lincoln', emails => [{ value => 'val@demo.example', primary => $T }],
    $ADM => { permission => 'manage', scope => 'school', schools => [$LIN], canManageAdmins => $T } });
is($r->{status}, 201, 'Val, manager of Lincoln who may manage administrators');
my $valid = $r->{json}{id};

# ---- help and refusals ------------------------------------------------------------------------
my ($rc, $out, $err) = ctl('ops-invite', qw(admins invite --help));
is($rc, 0, 'admins invite --help exits 0');
like($out, qr/rosterctl admins invite EMAIL .*--schools/s, '... and shows invite');
like($out, qr/rosterctl admins resend USER/, '... and resend');
($rc, undef, $err) = ctl('ops-invite', qw(admins invite));
is($rc, 2, 'invite without EMAIL: usage error (2)');
($rc, undef, $err) = ctl('ops-invite', qw(admins invite x@demo.example --schools Nowhere));
is($rc, 2, 'an unknown school: usage error (2)');
like($err, qr/no school 'Nowhere'/, '... naming it');
($rc, undef, $err) = ctl('ops-plain', qw(admins invite pat@demo.example --schools), 'Lincoln Elementary');
is($rc, 5, 'a token without invite= may not invite: exit 5');
like($err, qr/invite=yes/, '... and the message says what its configuration line needs');
$r = $b->req(POST => '/Invitations', token => 'demo-okta', json => { email => 'pat@demo.example', schools => [$LIN] });
is($r->{status}, 403, 'POST /Invitations with an identity provider token: 403');
is($r->{json}{status}, '403', '... a SCIM error');
$r = $b->req(POST => '/Invitations', token => 'demo-readonly', json => { email => 'pat@demo.example', schools => [$LIN] });
is($r->{status}, 403, '... with a read-only token: 403');
$r = $b->req(POST => '/Invitations', json => { email => 'pat@demo.example', schools => [$LIN] });
is($r->{status}, 401, '... without a token: 401');
ok(!scim_user('pat@demo.example'), 'nobody was made by the refused calls');
is(scalar(() = $smtp->messages), 0, '... and no mail went out');

# invite= is only for in-product write tokens: the daemon refuses the configuration.
my $bad = "$tmp/bad.conf";
{
    open my $in, '<', $b->{conf} or die;
    local $/;
    my $c = <$in>;
    close $in;
    (my $hash = `$B/rosterbridge -H bad-one`) =~ s/\s+$//;
    open my $o, '>', $bad or die;
    print $o $c, "token $hash tenant=demo source=okta rights=write invite=yes\n";
    close $o;
}
($rc, $out, $err) = RBTest::_run(["$B/rosterbridge", '-n', '-f', $bad]);
isnt($rc, 0, 'invite= on a source=okta token: the configuration is refused');
like("$out$err", qr/bad\.conf:\d+: .*invite= is for a token of source=in-product/, '... at file:line');

# ---- invite: the mail arrives, its link works ------------------------------------------------
($rc, $out, $err) = ctl('ops-invite', qw(admins invite ivy@demo.example --name), 'Ivy Invited',
                        qw(--schools), 'Lincoln Elementary', qw(--permission manage --can-manage-admins yes --json));
is($rc, 0, 'rosterctl admins invite exits 0') or diag $err;
my $j = eval { decode_json($out) } // {};
is($j->{userName}, 'ivy@demo.example', '--json: the SCIM User');
is($j->{$ADM}{inviteStatus}, 'invited', '... inviteStatus invited');
my $g = grant_of($j, 'in-product');
is_deeply([@$g{qw(permission scope canManageAdmins)}, $g->{schools}], ['manage', 'school', $T, [$LIN]],
          '... an in-product grant: manage at Lincoln, can manage admins');
ok(!$g->{active}, '... not active until confirmed');
my $m = mail_to('ivy@demo.example');
ok($m, 'the invitation e-mail arrived at the SMTP listener');
like($m->{subject}, qr/^Action needed: Confirm your .* Administrator account$/, '... with the subject');
my ($path, $tok) = link_of($m);
ok($tok, '... and a Confirm your account link');
my $n = RBConsole->new($b, 'demo');
$r = $n->get($path);
is($r->{status}, 200, 'the link opens the confirm page');
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-pw-1234', password2 => 'ivy-pw-1234' });
is($r->{status}, 303, 'a password set on it: confirmed') or diag $r->{content};
my ($wrc, $who) = RBTest::ldapwhoami($dir, dn => "uid=ivy\@demo.example,ou=people,o=demo,$S", pw => 'ivy-pw-1234');
is($wrc, 0, "ldapwhoami with the new password ($who)");
my $u = scim_user('ivy@demo.example');
is($u->{$ADM}{inviteStatus}, 'active', 'SCIM: inviteStatus active');
ok(grant_of($u, 'in-product')->{active}, '... the in-product grant active');

# Plain output, and the person who exists already.
($rc, $out, $err) = ctl('ops-invite', qw(admins invite jo@demo.example --name Jo --scope district));
is($rc, 0, 'invite with district scope (plain output)') or diag $err;
like($out, qr/^invited jo\@demo\.example \(id [0-9a-f-]{36}\): inviteStatus invited; the e-mail is queued$/m, '... says so');
my $m1 = mail_to('jo@demo.example');
ok($m1, "Jo's first e-mail");
($rc, undef, $err) = ctl('ops-invite', qw(admins invite jo@demo.example --schools), 'Lincoln Elementary');
is($rc, 7, 'inviting someone who has in-product access already: exit 7 (conflict)');
like($err, qr/already has in-product access/, '... saying so');

# ---- resend: a new link, the old one dead ------------------------------------------------------
($rc, $out, $err) = ctl('ops-invite', qw(admins resend jo@demo.example));
is($rc, 0, 'rosterctl admins resend exits 0') or diag $err;
like($out, qr/resent the invitation of jo\@demo\.example/, '... and says so');
my $m2 = mail_to('jo@demo.example');
ok($m2, 'a second e-mail arrived');
my ($p1) = link_of($m1);
my ($p2, $t2) = link_of($m2);
isnt($p2, $p1, '... with a new link');
is(RBConsole->new($b, 'demo')->get($p1)->{status}, 404, 'the old link is dead');
is(RBConsole->new($b, 'demo')->get($p2)->{status}, 200, 'the new one works');
($rc, undef, $err) = ctl('ops-invite', qw(admins resend ivy@demo.example));
is($rc, 7, 'resend for a confirmed administrator: exit 7');
like($err, qr/already confirmed/, '... saying so');
($rc, undef, $err) = ctl('ops-invite', qw(admins resend nobody@demo.example));
is($rc, 6, 'resend for nobody: exit 6');
($rc, undef, $err) = ctl('ops-invite', qw(admins resend val@demo.example));
is($rc, 6, 'resend for an administrator without in-product access: exit 6');

# ---- invite=LOGIN: the console's no-escalation check, with Val's live grants -----------------------
($rc, undef, $err) = ctl('ops-as-val', qw(admins invite kim@demo.example --schools), 'Washington Middle School');
is($rc, 5, 'on behalf of Val: a school outside Val\'s own is refused (exit 5)');
like($err, qr/beyond|outside|not/i, "... with the no-escalation rule's reason") or diag $err;
($rc, undef, $err) = ctl('ops-as-val', qw(admins invite kim@demo.example --scope district));
is($rc, 5, '... all schools too');
($rc, undef, $err) = ctl('ops-as-val', qw(admins resend jo@demo.example));
is($rc, 5, "... and resending Jo's district-wide invitation");
ok(!scim_user('kim@demo.example'), 'nobody was made');
($rc, $out, $err) = ctl('ops-as-val', qw(admins invite kim@demo.example --schools), 'Lincoln Elementary');
is($rc, 0, 'on behalf of Val: View at Lincoln is allowed') or diag $err;
ok(mail_to('kim@demo.example'), "Kim's e-mail arrived");
$r = $b->req(PATCH => "/Users/$valid", token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => "$ADM:canManageAdmins", value => JSON::PP::false }] });
ok($r->{status} == 200 || $r->{status} == 204, 'Okta takes canManageAdmins from Val');
($rc, undef, $err) = ctl('ops-as-val', qw(admins invite lee@demo.example --schools), 'Lincoln Elementary');
is($rc, 5, "the token's ceiling follows Val's grants: now refused (exit 5)");
ok(!scim_user('lee@demo.example'), '... nobody made');

# ---- the API directly: what rosterctl sends, and its errors --------------------------------------
$r = $b->req(POST => '/Invitations', token => 'ops-invite', json => { email => 'not-an-address', schools => [$LIN] });
is($r->{status}, 400, 'POST /Invitations with a bad e-mail: 400');
is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
$r = $b->req(POST => '/Invitations', token => 'ops-invite', json => { email => 'mo@demo.example', schools => ['5eed0001-0000-4000-8000-0000000000ff'] });
is($r->{status}, 400, 'a school id the tenant does not have: 400');
$r = $b->req(POST => '/Invitations', token => 'ops-invite', json => { email => 'mo@demo.example', displayName => 'Mo',
    scope => 'school', schools => [$WAS], permission => 'view' });
is($r->{status}, 201, 'POST /Invitations: 201') or diag explain $r->{json};
like($r->{headers}{location} // '', qr{/scim/v2/Users/\Q$r->{json}{id}\E$}, '... Location: the User');
$r = $b->req(POST => "/Invitations/$r->{json}{id}/resend", token => 'ops-invite');
is($r->{status}, 200, 'POST /Invitations/{id}/resend: 200');
is($r->{json}{$ADM}{inviteStatus}, 'invited', '... the User, invited');
$r = $b->req(POST => "/Invitations/$valid/elsewhere", token => 'ops-invite');
is($r->{status}, 404, 'an unknown path under /Invitations: 404');
done_testing();
