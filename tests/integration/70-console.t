#!/usr/bin/env perl
# 70-console.t — the web console and invitations (issue 13) over real HTTP,
# against a private slapd and a real SMTP listener on loopback (RBSmtp):
# sign-in by the person's own bind (one generic refusal), sessions stored
# hashed in the directory (HttpOnly, SameSite=Strict, new id at sign-in,
# idle and absolute expiry, sign-out, surviving a daemon restart, refused
# from another tenant), CSRF on every POST, Manage Administrators (who may
# see it, overlap with the viewer's scope, search, sort, paging), Invite
# Users (a new person; the grant attached to the existing entry with that
# e-mail), the e-mail (subject, both parts, the link; only the token's
# hash stored, unreadable but by the service account), the confirm page
# (password through the password-modify operation: ldapwhoami; used and
# expired links), Edit, Resend (the old link dies), Delete (and the other
# sources that still grant), escalation refused on the server, names
# rendered as text. The browser test is 71-console-browser.t; SMTP outages
# and two daemons are 72-outbox.t.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use RBTest;
use RBBridge;
use RBSmtp;
use RBConsole;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $LIN   = '5eed0001-0000-4000-8000-000000000001';    # Lincoln Elementary
my $WAS   = '5eed0001-0000-4000-8000-000000000002';    # Washington Middle School
my $T     = JSON::PP::true;
my $F     = JSON::PP::false;

my $dir  = RBTest::start_directory();
my $S    = $dir->{suffix};
my $smtp = RBSmtp->start;
my @MAIL = ("smtp_host 127.0.0.1", "smtp_port $smtp->{port}", "smtp_tls none",
            "smtp_from noreply\@demo.example", "mail_retry_min_s 1", "mail_retry_max_s 2");
my $b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));

sub admin {    # a person pushed over SCIM with one grant, and a password
    my ($token, $uid, $name, $grant, $pw, $tenant) = @_;
    my $r = $b->req(POST => '/Users', token => $token, json => {
        schemas => [$CORE, $ADM], userName => $uid, displayName => $name,
        emails => [{ value => $uid, primary => $T }], ($grant ? ($ADM => $grant) : ()) });
    is($r->{status}, 201, "SCIM: $uid created") or diag explain $r->{json};
    if ($pw) {
        my ($rc, $out) = RBTest::ldapmodify($dir, "dn: uid=$uid,ou=people,o=" . ($tenant // 'demo')
            . ",$S\nchangetype: modify\nreplace: userPassword\nuserPassword: $pw\n");
        is($rc, 0, "$uid has a password") or diag $out;
    }
    return $r->{json}{id};
}
sub signin {
    my ($c, $login, $pw) = @_;
    $c->get('/signin');
    return $c->post('/signin', { login => $login, password => $pw });
}
sub scim_user { my ($id) = @_; return $b->req(GET => "/Users/$id", token => 'demo-okta')->{json}; }
sub grant_of {
    my ($user, $source) = @_;
    my ($g) = grep { $_->{source} eq $source } @{ $user->{$ADM}{grants} // [] };
    return $g;
}
sub link_of {
    my ($m) = @_;
    my ($link) = ($m->{text} // '') =~ m{Confirm your account: (\S+)};
    my ($token) = ($link // '') =~ /token=([0-9a-f]+)$/;
    return ($link, $token);
}
sub person_attrs {
    my ($uid, @attrs) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => "(uid=$uid)",
                                 attrs => \@attrs);
    return $e->[0];
}
sub rows { my ($html) = @_; return scalar(() = $html =~ /<tr data-id=/g); }

# ---- people ------------------------------------------------------------------
my $dana = admin('demo-okta', 'dana@demo.example', 'Dana District',
                 { permission => 'manage', scope => 'district', canManageAdmins => $T }, 'dana-pw-1');
my $val = admin('demo-okta', 'val@demo.example', 'Val Viewer',
                { permission => 'view', scope => 'school', schools => [$LIN] }, 'val-pw-1');
my $wes = admin('demo-okta', 'wes@demo.example', 'Wes Washington',
                { permission => 'manage', scope => 'school', schools => [$WAS] });
my $carl = admin('demo-clever', 'carl@demo.example', 'Carl Clever',
                 { permission => 'manage', scope => 'school', schools => [$LIN] });
admin('other-okta', 'olga@other.example', 'Olga Other',
      { permission => 'manage', scope => 'district', canManageAdmins => $T }, 'olga-pw-1', 'other');

# ---- sign-in -----------------------------------------------------------------
my $c = RBConsole->new($b, 'demo');
my $r = $c->get('/');
is($r->{status}, 303, 'signed out: the dashboard redirects');
is($r->{headers}{location}, '/console/demo/signin', '... to the sign-in page');
my ($pre) = grep { /^rb_pre=/ } @{ $c->{set_cookie} };
$r = $c->get('/signin');
is($r->{status}, 200, 'sign-in page');
like($r->{content}, qr/<label for="f-login">E-mail or username<\/label>/, 'labelled fields');
like($pre // '', qr/HttpOnly; SameSite=Strict/, 'pre-session cookie HttpOnly, SameSite=Strict');
like($r->{headers}{'content-security-policy'} // '', qr/default-src 'none'/, 'a CSP without scripts');

$r = $c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' }, csrf => undef);
is($r->{status}, 403, 'sign-in POST without a CSRF token: refused');
$r = $c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' }, csrf => 'f' x 64);
is($r->{status}, 403, 'sign-in POST with a wrong CSRF token: refused');
ok(!$c->{cookies}{rb_session}, '... and no session');

$r = signin($c, 'dana@demo.example', 'wrong-password');
is($r->{status}, 401, 'wrong password: 401');
my ($generic) = $r->{content} =~ /role="alert">([^<]+)</;
ok($generic, 'a refusal message') or diag $r->{content};
$r = signin($c, 'nobody@demo.example', 'whatever');
is($r->{status}, 401, 'unknown person: 401');
like($r->{content}, qr/\Q$generic\E/, '... the same message, word for word');
$r = signin($c, 'dana@demo.example', '');
is($r->{status}, 401, 'empty password: refused (never an unauthenticated bind)');
$r = signin($c, 'wes@demo.example', 'anything');
is($r->{status}, 401, 'a person without a password: refused');

$r = signin($c, 'dana@demo.example', 'dana-pw-1');
is($r->{status}, 303, 'right password: signed in') or diag $r->{content};
my ($sc) = grep { /^rb_session=/ } @{ $c->{set_cookie} };
like($sc // '', qr/^rb_session=[0-9a-f]{64}; Path=\/console\/demo; HttpOnly; SameSite=Strict$/,
     'session cookie: 256-bit id, HttpOnly, SameSite=Strict, scoped to the tenant (no Secure over http)');
my $sid1 = $c->{cookies}{rb_session};
my ($sessions) = RBTest::ldapsearch($dir, base => "ou=sessions,ou=console,$S", scope => 'one',
                                    filter => '(objectClass=rbConsoleSession)', attrs => ['*']);
ok((grep { $_->{cn}[0] eq sha256_hex($sid1) } @$sessions), 'the directory holds the SHA-256 of the id');
ok(!(grep { index(join(' ', map { @$_ } grep { ref } values %$_), $sid1) >= 0 } @$sessions),
   '... never the id itself');
my ($anon) = RBTest::ldapsearch($dir, as => 'reader:demo', base => "ou=sessions,ou=console,$S",
                                scope => 'one', filter => '(objectClass=*)');
is(scalar @$anon, 0, "a tenant's reader account sees no session");

$c->get('/');
$r = $c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' });
is($r->{status}, 303, 'signing in again, signed in');
isnt($c->{cookies}{rb_session}, $sid1, '... gives a new id');
$r = $c->get('/', cookie => "rb_session=$sid1");
is($r->{status}, 303, '... and the old id is gone');
$r = $c->get('/');
is($r->{status}, 200, 'dashboard');
like($r->{content}, qr/Okta: Manage at All schools, can manage administrators/, 'shows her own access');
like($r->{content}, qr/href="\/console\/demo\/admins"[^>]*>Manage Administrators/, 'and the page link');

# ---- sessions: restart, idle, absolute, another tenant, sign-out --------------
$b->stop;
$b = RBBridge->start($dir, extra_conf => join('', map { "$_\n" } @MAIL));
$c->{b} = $b;
$r = $c->get('/');
is($r->{status}, 200, 'the session survives a daemon restart (it lives in the directory)');

my $o = RBConsole->new($b, 'other');
$r = signin($o, 'olga@other.example', 'olga-pw-1');
is($r->{status}, 303, 'a person of tenant other signs in there');
$r = $c->get('/admins', cookie => "rb_session=$o->{cookies}{rb_session}");
is($r->{status}, 303, "other's session cookie at /console/demo: not signed in");
is($r->{headers}{location}, '/console/demo/signin', '... sent to sign in');
$r = signin($c, 'olga@other.example', 'olga-pw-1');
is($r->{status}, 401, "other's person cannot sign in to demo");

{
    my $tmp = RBConsole->new($b, 'demo');
    signin($tmp, 'dana@demo.example', 'dana-pw-1');
    my $h = sha256_hex($tmp->{cookies}{rb_session});
    my ($rc) = RBTest::ldapmodify($dir, "dn: cn=$h,ou=sessions,ou=console,$S\nchangetype: modify\n"
                                  . "replace: rbLastSeen\nrbLastSeen: 20200101000000Z\n");
    is($rc, 0, 'a session last used long ago');
    is($tmp->get('/')->{status}, 303, '... is over (idle expiry)');
    signin($tmp, 'dana@demo.example', 'dana-pw-1');
    $h = sha256_hex($tmp->{cookies}{rb_session});
    RBTest::ldapmodify($dir, "dn: cn=$h,ou=sessions,ou=console,$S\nchangetype: modify\n"
                       . "replace: rbSessionExpires\nrbSessionExpires: 20200101000000Z\n");
    is($tmp->get('/')->{status}, 303, 'a session past its absolute expiry is over');
    # A session nobody presents again is deleted by the daemon's housekeeping.
    signin($tmp, 'dana@demo.example', 'dana-pw-1');
    $h = sha256_hex($tmp->{cookies}{rb_session});
    RBTest::ldapmodify($dir, "dn: cn=$h,ou=sessions,ou=console,$S\nchangetype: modify\n"
                       . "replace: rbLastSeen\nrbLastSeen: 20200101000000Z\n");
    my $purged = 0;
    for (1 .. 1200) {
        my ($e) = RBTest::ldapsearch($dir, base => "ou=sessions,ou=console,$S", scope => 'one',
                                     filter => "(cn=$h)", attrs => ['cn']);
        if (!@$e) { $purged = 1; last; }
        select undef, undef, undef, 0.1;
    }
    ok($purged, 'an idle session never presented again is purged from the directory');
    signin($tmp, 'dana@demo.example', 'dana-pw-1');
    my $sid = $tmp->{cookies}{rb_session};
    $r = $tmp->post('/signout', {}, csrf => undef);
    is($r->{status}, 403, 'sign-out without a CSRF token: refused');
    $tmp->get('/');
    $r = $tmp->post('/signout', {});
    is($r->{status}, 303, 'sign-out');
    is($tmp->get('/', cookie => "rb_session=$sid")->{status}, 303, '... the id no longer works');
    my ($gone) = RBTest::ldapsearch($dir, base => "ou=sessions,ou=console,$S", scope => 'one',
                                    filter => '(cn=' . sha256_hex($sid) . ')');
    is(scalar @$gone, 0, '... and its entry is deleted');
}

# ---- the list ----------------------------------------------------------------
$r = $c->get('/admins');
is($r->{status}, 200, 'Manage Administrators');
is(rows($r->{content}), 4, 'every administrator of demo (Dana, Val, Wes, Carl; not Olga of other)')
    or diag $r->{content};
like($r->{content}, qr/<li>Clever: Manage at Lincoln Elementary<\/li>/, 'the roster source and its grant');
like($r->{content}, qr/<li>Okta: View at Lincoln Elementary<\/li>/, "Val's grant");
unlike($r->{content}, qr/Olga/, "no one of another tenant");
$r = $c->get('/admins?q=wash');
is(rows($r->{content}), 1, 'search: "wash" finds Wes Washington only');
$r = $c->get('/admins?sort=name&dir=desc');
my @names = $r->{content} =~ /<tr data-id="[^"]+"><td>([^<]+)</g;
is_deeply(\@names, ['Wes Washington', 'Val Viewer', 'Dana District', 'Carl Clever'], 'sorted by name, descending')
    or diag explain \@names;

# ---- invite a new person -------------------------------------------------------
$r = $c->get('/admins/invite');
is($r->{status}, 200, 'Invite Users form');
like($r->{content}, qr/User can invite and manage administrators for the assigned schools/, 'the checkbox');
like($r->{content}, qr/All schools/, 'All schools');
$r = $c->post('/admins/invite', { name => 'Ivy', email => 'ivy@demo.example', school => $LIN,
                                  permission => 'manage' }, csrf => undef);
is($r->{status}, 403, 'invite without a CSRF token: refused');
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => '', email => 'not-an-address', permission => 'manage' });
is($r->{status}, 400, 'invalid form: 400');
like($r->{content}, qr/class="field invalid">.*?Enter the administrator&#39;s name|Enter the administrator's name/s,
     'the error is next to the name field');
like($r->{content}, qr/aria-invalid="true"/, '... marked for assistive technology');

my $xss = q{Ivy <img src=x onerror=alert(1)> "Inv"};
$r = $c->post('/admins/invite', { name => $xss, email => 'ivy@demo.example', school => $LIN,
                                  permission => 'manage', can_manage => 1 });
is($r->{status}, 303, 'invite sent') or diag $r->{content};
is($r->{headers}{location}, '/console/demo/admins?notice=invited', '... back to the list');
my $m = $smtp->wait_for(sub { $_[0]{to} eq 'ivy@demo.example' }, 120);
ok($m, 'an e-mail reached the SMTP listener') or diag $b->log_text;
is($m->{subject}, 'Action needed: Confirm your Demo Unified School District Administrator account', 'subject');
is($m->{from}, 'noreply@demo.example', 'envelope sender');
like($m->{headers}{'content-type'}, qr{multipart/alternative}, 'multipart');
like($m->{html} // '', qr/>Confirm your account<\/a>/, 'HTML part with the button');
unlike($m->{html} // '', qr/<img src=x/, '... the name is text in the HTML part');
my ($link, $tok) = link_of($m);
ok($tok && length $tok == 64, 'the text part carries the link with a 256-bit token');
like($m->{html}, qr/href="\Q$link\E"/, 'both parts carry the same link');

my $ivy = person_attrs('ivy@demo.example', qw(entryUUID rbInviteStatus rbInviteTokenHash rbInviteMail));
is($ivy->{rbInviteStatus}[0], 'invited', 'inviteStatus invited');
is($ivy->{rbInviteTokenHash}[0], sha256_hex($tok), 'only the SHA-256 of the token is stored');
my $ivyid = $ivy->{entryUUID}[0];
my $u = scim_user($ivyid);
is($u->{$ADM}{inviteStatus}, 'invited', 'SCIM reads inviteStatus invited');
my $g = grant_of($u, 'in-product');
ok($g, 'SCIM grants show the in-product grant');
is_deeply([@$g{qw(permission scope canManageAdmins)}], ['manage', 'school', $T], '... manage, school, can manage admins');
ok(!$g->{active}, '... not active until confirmed');
my ($hid) = RBTest::ldapsearch($dir, as => 'reader:demo', base => "ou=people,o=demo,$S",
                               filter => '(uid=ivy@demo.example)', attrs => ['rbInviteTokenHash', 'uid']);
ok($hid->[0]{uid} && !$hid->[0]{rbInviteTokenHash}, "the tenant's reader cannot read the token hash");
($hid) = RBTest::ldapsearch($dir, as => 'reader:demo', base => "ou=people,o=demo,$S",
                            filter => '(rbInviteTokenHash=' . sha256_hex($tok) . ')', attrs => ['uid']);
is(scalar @$hid, 0, '... nor search by it');

$r = $c->get('/admins');
like($r->{content}, qr/Ivy &lt;img src=x onerror=alert\(1\)&gt; "Inv"|Ivy &lt;img src=x onerror=alert\(1\)&gt; &quot;Inv&quot;/,
     'the name is escaped in the list');
unlike($r->{content}, qr/<img/, 'no markup from data');
like($r->{content}, qr/<span class="status-invited">Invited<\/span>/, 'status Invited');

# ---- confirm -----------------------------------------------------------------
my $n = RBConsole->new($b, 'demo');
$r = $n->get($link =~ s{^https?://[^/]+}{}r);
is($r->{status}, 200, 'the link opens the confirm page');
like($r->{content}, qr/Create your account/, '... create an account');
like($r->{content}, qr/I already have an account/, '... or use an existing one');
like($r->{headers}{'referrer-policy'} // '', qr/no-referrer/, 'the token never leaks in a Referer');
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-pw-1234', password2 => 'nope' });
is($r->{status}, 400, 'passwords that differ: 400');
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-7', password2 => 'ivy-7' });
is($r->{status}, 400, "a password slapd's default policy finds too short (ppolicy pwdMinLength 8): 400");
like($r->{content}, qr/the directory refused this password: .*quality/i, '... saying slapd refused it, next to the field')
    or diag $r->{content};
$n->get("/confirm?token=$tok");
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-pw-1234', password2 => 'ivy-pw-1234' }, csrf => undef);
is($r->{status}, 403, 'confirm without a CSRF token: refused');
$n->get("/confirm?token=$tok");
$r = $n->post('/confirm', { token => $tok, action => 'create', password => 'ivy-pw-1234', password2 => 'ivy-pw-1234' });
is($r->{status}, 303, 'password set: confirmed') or diag $r->{content};
my ($wrc, $who) = RBTest::ldapwhoami($dir, dn => "uid=ivy\@demo.example,ou=people,o=demo,$S", pw => 'ivy-pw-1234');
is($wrc, 0, 'ldapwhoami works with the new password') or diag $who;
my ($pw) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(uid=ivy@demo.example)',
                              attrs => ['userPassword']);
like($pw->[0]{userPassword}[0] // '', qr/^\{ARGON2/, "slapd stored an Argon2 hash (password-modify operation)");
$u = scim_user($ivyid);
is($u->{$ADM}{inviteStatus}, 'active', 'inviteStatus active');
ok(grant_of($u, 'in-product')->{active}, 'the in-product grant is active');
$r = $n->get("/confirm?token=$tok");
is($r->{status}, 404, 'the link works once');
like($r->{content}, qr/already been used/, '... and says so');
unlike($r->{content}, qr/<form method="post" action="\/console\/demo\/confirm/, '... offering nothing else');

# ---- Ivy: a school-scope manager who may manage administrators ---------------------
my $ic = RBConsole->new($b, 'demo');
$r = signin($ic, 'ivy@demo.example', 'ivy-pw-1234');
is($r->{status}, 303, 'Ivy signs in');
$r = $ic->get('/admins');
is($r->{status}, 200, 'Ivy sees Manage Administrators');
my %seen = map { $_ => 1 } $r->{content} =~ /<tr data-id="[^"]+"><td>([^<]+)</g;
ok($seen{'Dana District'} && $seen{'Val Viewer'} && $seen{'Carl Clever'}, 'administrators overlapping Lincoln');
ok(!$seen{'Wes Washington'}, 'but not Wes, at Washington only');
$r = $ic->get('/admins/invite');
unlike($r->{content}, qr/name="all"/, 'no All schools choice for a school-scope manager');
unlike($r->{content}, qr/\Q$WAS\E/, 'no school outside her scope');
# Escalation attempts (the form offers none of these; a crafted POST is refused).
for my $case (
    [{ all => 1, permission => 'view' }, 'All schools'],
    [{ school => $WAS, permission => 'view' }, 'a school outside her scope'],
    [{ school => [$LIN, $WAS], permission => 'view' }, 'one school inside, one outside'],
) {
    my ($f, $what) = @$case;
    $ic->get('/admins/invite');
    $r = $ic->post('/admins/invite', { name => 'Esc', email => 'esc@demo.example', %$f });
    is($r->{status}, 403, "escalation refused: $what") or diag $r->{content};
}
ok(!person_attrs('esc@demo.example', 'uid'), '... and nobody was created');
$r = $ic->get("/admins/$dana/edit");
is($r->{status}, 404, "Dana's access is Okta's: nothing in-product to edit");

# ---- a viewer without canManageAdmins -------------------------------------------
my $vc = RBConsole->new($b, 'demo');
signin($vc, 'val@demo.example', 'val-pw-1');
$r = $vc->get('/');
is($r->{status}, 200, 'Val sees the dashboard');
unlike($r->{content}, qr/Manage Administrators/, '... without Manage Administrators');
$r = $vc->get('/admins');
is($r->{status}, 303, 'opening the page by URL: back to the dashboard, no error page');
is($r->{headers}{location}, '/console/demo/', '... the dashboard');
$vc->get('/');
$r = $vc->post('/admins/invite', { name => 'X', email => 'x@demo.example', school => $LIN, permission => 'view' });
is($r->{status}, 403, 'a viewer POSTing an invitation: refused');

# ---- one person, one entry: inviting Carl (Clever) attaches the grant -------------
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => 'Carl', email => 'carl@demo.example', school => $WAS, permission => 'view' });
is($r->{status}, 303, 'inviting an existing person') or diag $r->{content};
my ($carls) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => '(mail=carl@demo.example)', attrs => ['uid', 'rbSource']);
is(scalar @$carls, 1, 'still one entry for Carl');
is_deeply([sort @{ $carls->[0]{rbSource} }], ['clever', 'in-product'], '... held by Clever and in-product');
$m = $smtp->wait_for(sub { $_[0]{to} eq 'carl@demo.example' }, 120);
ok($m, 'Carl gets an invitation');
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => 'Carl', email => 'carl@demo.example', school => $WAS, permission => 'view' });
is($r->{status}, 409, 'inviting him again: use Edit instead');

# ---- resend: a new link, the old one dead ---------------------------------------
my ($link1, $tok1) = link_of($m);
$r = $c->get('/admins');
$r = $c->post("/admins/$carl/resend", {});
is($r->{status}, 303, 'Resend invitation') or diag $r->{content};
my $m2 = $smtp->wait_for(sub { $_[0]{to} eq 'carl@demo.example' }, 120);
ok($m2, 'a second e-mail');
my ($link2, $tok2) = link_of($m2);
isnt($tok2, $tok1, 'with a new token');
is($n->get("/confirm?token=$tok1")->{status}, 404, 'the old link is dead');
is($n->get("/confirm?token=$tok2")->{status}, 200, 'the new one works');

# ---- expired link -------------------------------------------------------------------
RBTest::ldapmodify($dir, "dn: uid=carl\@demo.example,ou=people,o=demo,$S\nchangetype: modify\n"
                   . "replace: rbInviteExpires\nrbInviteExpires: 20200101000000Z\n");
$r = $n->get("/confirm?token=$tok2");
is($r->{status}, 410, 'an expired link: 410');
like($r->{content}, qr/has expired/, '... and says so');
like($c->get('/admins')->{content}, qr/<span class="status-expired">Expired<\/span>/, 'the list shows Expired');

# ---- edit --------------------------------------------------------------------------
$r = $c->get("/admins/$carl/edit");
is($r->{status}, 200, 'Edit form');
like($r->{content}, qr/value="\Q$WAS\E" id="[^"]+" checked/, '... with the current school checked');
$r = $c->post("/admins/$carl/edit", { school => [$WAS, $LIN], permission => 'manage' });
is($r->{status}, 303, 'edited') or diag $r->{content};
$g = grant_of(scim_user($carl), 'in-product');
is($g->{permission}, 'manage', 'in-product grant now manage');
is_deeply([sort @{ $g->{schools} }], [sort $LIN, $WAS], '... at both schools');
is(grant_of(scim_user($carl), 'clever')->{permission}, 'manage', "Clever's grant untouched");
$ic->get('/admins');
$r = $ic->get("/admins/$carl/edit");
is($r->{status}, 403, "Ivy cannot edit a grant wider than her own (Washington)");
$ic->get('/admins');
$r = $ic->post("/admins/$carl/delete", {});
is($r->{status}, 403, '... nor remove it');

# ---- delete ------------------------------------------------------------------------
$r = $c->get("/admins/$carl/delete");
is($r->{status}, 200, 'delete asks first');
$r = $c->post("/admins/$carl/delete", {});
is($r->{status}, 200, 'in-product access removed') or diag $r->{content};
like($r->{content}, qr/Clever still grants Manage at Lincoln Elementary (?:—|&mdash;) remove it there too\./,
     'and says which source still grants access');
$u = scim_user($carl);
ok(!grant_of($u, 'in-product'), 'the in-product grant is gone');
ok(grant_of($u, 'clever'), "Clever's stays");

# ---- confirming with an existing account -------------------------------------
# Nina is invited at a new address; she accepts by signing in to the account
# she already has (Val's, who has a password): that account receives the
# address and the grant, and the invitation's own entry goes away.
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => 'Nina New', email => 'nina@demo.example', school => $WAS,
                                  permission => 'view' });
is($r->{status}, 303, 'invited at a new address');
$m = $smtp->wait_for(sub { $_[0]{to} eq 'nina@demo.example' }, 120);
my (undef, $ntok) = link_of($m);
my $nc = RBConsole->new($b, 'demo');
$nc->get("/confirm?token=$ntok");
$r = $nc->post('/confirm', { token => $ntok, action => 'existing', login => 'val@demo.example',
                             existing_password => 'wrong' });
is($r->{status}, 401, 'a wrong password for the existing account: refused');
$r = $nc->post('/confirm', { token => $ntok, action => 'existing', login => 'val@demo.example',
                             existing_password => 'val-pw-1' });
is($r->{status}, 303, 'accepted with the existing account') or diag $r->{content};
$u = scim_user($val);
ok((grep { $_->{value} eq 'nina@demo.example' } @{ $u->{emails} // [] }), 'the existing account got the invited address');
$g = grant_of($u, 'in-product');
ok($g && $g->{active}, '... and the in-product grant, active') or diag explain $u;
is_deeply($g->{schools}, [$WAS], '... at Washington');
is($u->{$ADM}{inviteStatus}, 'active', '... inviteStatus active');
ok(grant_of($u, 'okta'), "Okta's grant stays");
ok(!person_attrs('nina@demo.example', 'uid'), "the invitation's own entry is gone (one person, one entry)");
is($nc->get("/confirm?token=$ntok")->{status}, 404, 'the link works once');

# ---- a partnership: the role step ---------------------------------------------
my $NVH = '5eed0003-0000-4000-8000-000000000001';    # North Valley High School (north)
my $SBM = '5eed0003-0000-4000-8000-000000000003';    # South Bay Middle School (south)
admin('state-okta', 'paula@sep.example', 'Paula Partnership',
      { permission => 'manage', scope => 'partnership', canManageAdmins => $T }, 'paula-pw-1', 'statewide');
admin('state-okta', 'rob@sep.example', 'Rob North',
      { permission => 'manage', scope => 'region', region => 'north', canManageAdmins => $T }, 'rob-pw-1', 'statewide');
admin('state-okta', 'sid@sep.example', 'Sid South',
      { permission => 'view', scope => 'school', schools => [$SBM] }, undef, 'statewide');
sub state_grant {
    my ($uid) = @_;
    my $r = $b->req(GET => "/Users?filter=userName%20eq%20%22$uid%22", token => 'state-okta');
    return grant_of($r->{json}{Resources}[0] // {}, 'in-product');
}
my $pc = RBConsole->new($b, 'statewide');
is(signin($pc, 'paula@sep.example', 'paula-pw-1')->{status}, 303, 'a partnership manager signs in');
$r = $pc->get('/admins/invite');
like($r->{content}, qr/Full partnership role/, 'the role step: full partnership');
like($r->{content}, qr/Region role/, '... region');
like($r->{content}, qr/School role/, '... school');
like($r->{content}, qr/<option value="north">North Region<\/option>/, '... with the regions to choose from');
unlike($r->{content}, qr/name="all"/, 'no district "All schools" in a partnership');
$r = $pc->post('/admins/invite', { name => 'Nora', email => 'nora@sep.example', role => 'region',
                                   region => 'north', permission => 'manage', can_manage => 1 });
is($r->{status}, 303, 'region role invited') or diag $r->{content};
$g = state_grant('nora@sep.example');
is_deeply([@$g{qw(scope region permission)}], ['region', 'north', 'manage'], '... a region-scope grant');
$pc->get('/admins/invite');
$r = $pc->post('/admins/invite', { name => 'Pam', email => 'pam@sep.example', role => 'partnership',
                                   permission => 'view' });
is($r->{status}, 303, 'full partnership role invited');
is(state_grant('pam@sep.example')->{scope}, 'partnership', '... a partnership-scope grant');
$pc->get('/admins/invite');
$r = $pc->post('/admins/invite', { name => 'Ray', email => 'ray@sep.example', role => 'region',
                                   permission => 'view' });
is($r->{status}, 400, 'region role without a region: 400, said next to the role');

my $rc2 = RBConsole->new($b, 'statewide');
is(signin($rc2, 'rob@sep.example', 'rob-pw-1')->{status}, 303, 'a region (north) manager signs in');
for my $case (
    [{ role => 'partnership', permission => 'view' }, 'a partnership role from a region role'],
    [{ role => 'region', region => 'south', permission => 'view' }, 'another region'],
    [{ role => 'school', region => 'south', school => $SBM, permission => 'view' }, 'a school of another region'],
) {
    my ($f, $what) = @$case;
    $rc2->get('/admins/invite');
    $r = $rc2->post('/admins/invite', { name => 'Esc', email => 'esc@sep.example', %$f });
    is($r->{status}, 403, "escalation refused: $what") or diag $r->{content};
}
$rc2->get('/admins/invite');
$r = $rc2->post('/admins/invite', { name => 'Nick', email => 'nick@sep.example', role => 'school',
                                    region => 'north', school => $NVH, permission => 'manage' });
is($r->{status}, 303, 'a school of his region: invited');
$r = $rc2->get('/admins');
%seen = map { $_ => 1 } $r->{content} =~ /<tr data-id="[^"]+"><td>([^<]+)</g;
ok($seen{'Paula Partnership'} && $seen{'Nora'} && $seen{'Nick'}, 'he sees who overlaps the north region');
ok(!$seen{"Sid South"}, 'not Sid, at a south school only');

done_testing;
