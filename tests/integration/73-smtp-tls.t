#!/usr/bin/env perl
# 73-smtp-tls.t — invitation e-mail over SMTP with TLS through libcurl
# (issue 13), against a real listener (lib/smtp_tls_sink.py: Python's
# standard library) using a certificate for 127.0.0.1 from a private CA:
# STARTTLS with AUTH, implicit TLS, "starttls" refusing a server that offers
# no TLS (never cleartext), an untrusted certificate refused; the console's
# cookies Secure under HTTPS; and `rosterbridge -n` checking the SMTP
# settings.
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
my $LIN  = '5eed0001-0000-4000-8000-000000000001';
my $dir  = RBTest::start_directory(tls => 1);    # its CA and certificate for 127.0.0.1
my $S    = $dir->{suffix};
my $tmp  = tempdir(CLEANUP => 1);
my $secret = "$tmp/smtp.secret";
{ my $old = umask 077; open my $f, '>', $secret or die; print $f "s3cret\n"; close $f; umask $old; }

sub bridge {
    my ($port, @lines) = @_;
    return RBBridge->start($dir, extra_conf => join('', map { "$_\n" }
        "smtp_host 127.0.0.1", "smtp_port $port", "smtp_from noreply\@demo.example",
        "mail_retry_min_s 1", "mail_retry_max_s 2", @lines));
}
my $b = bridge(RBTest::free_port(), 'smtp_tls none');
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@demo.example', displayName => 'Dana District',
    $ADM => { permission => 'manage', scope => 'district', canManageAdmins => JSON::PP::true } });
is($r->{status}, 201, 'a district administrator');
RBTest::ldapmodify($dir, "dn: uid=dana\@demo.example,ou=people,o=demo,$S\nchangetype: modify\n"
                   . "replace: userPassword\nuserPassword: dana-pw-1\n");
$b->stop;

sub invite {
    my ($bridge, $email) = @_;
    my $c = RBConsole->new($bridge, 'demo');
    $c->get('/signin');
    $c->post('/signin', { login => 'dana@demo.example', password => 'dana-pw-1' });
    $c->get('/admins/invite');
    return $c->post('/admins/invite', { name => "P $email", email => $email, school => $LIN,
                                        permission => 'view' })->{status};
}
sub last_error {    # the outbox's last error for `to`, once an attempt failed
    my ($to) = @_;
    for (1 .. 1200) {
        my ($e) = RBTest::ldapsearch($dir, base => "ou=outbox,ou=console,$S", scope => 'one',
                                     filter => "(rbMailTo=$to)", attrs => ['rbMailLastError']);
        return $e->[0]{rbMailLastError}[0] if $e->[0] && $e->[0]{rbMailLastError};
        select undef, undef, undef, 0.1;
    }
    return undef;
}
my %tls = (cert => $dir->{tls_cert_file}, key => $dir->{tls_key_file});

# STARTTLS (required) with AUTH.
my $sink = RBSmtp->start(tls => { %tls, mode => 'starttls', auth => 'mailer:s3cret' });
$b = bridge($sink->{port}, 'smtp_tls starttls', "smtp_ca_file $dir->{ca_file}", 'smtp_user mailer',
            "smtp_password_file $secret");
is(invite($b, 'a@demo.example'), 303, 'invitation (STARTTLS + AUTH)');
my $m = $sink->wait_for(sub { $_[0]{to} eq 'a@demo.example' }, 120);
ok($m, 'delivered over STARTTLS') or diag $b->log_text;
like($m->{tls} // '', qr/^TLSv1\.[23]$/, "... the message went inside TLS ($m->{tls})");
is($m->{auth}, 'mailer', '... after AUTH as the configured user');
unlike($b->log_text, qr/s3cret/, 'the SMTP password is in no log line');
$b->stop; $sink->stop;

# Implicit TLS (smtps).
$sink = RBSmtp->start(tls => { %tls, mode => 'tls' });
$b = bridge($sink->{port}, 'smtp_tls tls', "smtp_ca_file $dir->{ca_file}");
is(invite($b, 'b@demo.example'), 303, 'invitation (implicit TLS)');
$m = $sink->wait_for(sub { $_[0]{to} eq 'b@demo.example' }, 120);
ok($m, 'delivered over implicit TLS') or diag $b->log_text;
like($m->{tls} // '', qr/^TLSv1\.[23]$/, '... inside TLS');
$b->stop; $sink->stop;

# "starttls" and a server offering no TLS: refused, nothing sent in cleartext.
$sink = RBSmtp->start(tls => { %tls, mode => 'plain' });
$b = bridge($sink->{port}, 'smtp_tls starttls', "smtp_ca_file $dir->{ca_file}");
is(invite($b, 'c@demo.example'), 303, 'invitation (server without STARTTLS)');
my $why = last_error('c@demo.example');
ok($why, "delivery failed: $why") or diag $b->log_text;
is(scalar(grep { $_->{to} eq 'c@demo.example' } $sink->messages), 0, '... nothing was sent in cleartext');
$b->stop; $sink->stop;

# A certificate the configured CA store does not trust: refused.
$sink = RBSmtp->start(tls => { %tls, mode => 'starttls' });
$b = bridge($sink->{port}, 'smtp_tls starttls');    # the system's CAs only
is(invite($b, 'd@demo.example'), 303, 'invitation (untrusted certificate)');
$why = last_error('d@demo.example');
ok($why, "delivery failed: $why") or diag $b->log_text;
is(scalar(grep { $_->{to} eq 'd@demo.example' } $sink->messages), 0, '... nothing was sent');
$b->stop; $sink->stop;

# The console over HTTPS: its cookies are Secure.
$b = RBBridge->start($dir, tls_cert_file => $dir->{tls_cert_file}, tls_key_file => $dir->{tls_key_file},
                     tls_ca_file => $dir->{ca_file});
$r = RBBridge::curl_request(GET => "$b->{base}/console/demo/signin", ca_file => $dir->{ca_file});
is($r->{status}, 200, 'the console over HTTPS');
like($r->{headers}{'set-cookie'} // '', qr/^rb_pre=[0-9a-f]{64}; Path=\/console\/demo; HttpOnly; SameSite=Strict; Secure/,
     '... sets Secure cookies');
$b->stop;

# rosterbridge -n checks the SMTP settings.
my $bin = RBBridge::build_dir() . '/rosterbridge';
for my $case (
    ["smtp_tls maybe\n", qr/smtp_tls must be starttls, tls or none/],
    ["smtp_host mail.example\n", qr/smtp_host is set but smtp_from is not/],
    ["smtp_host mail.example\nsmtp_from a\@b\nsmtp_user u\n", qr/smtp_user and smtp_password_file go together/],
    ["smtp_port 0\n", qr/smtp_port/],
    ["mail_retry_min_s 60\nmail_retry_max_s 10\n", qr/mail_retry_min_s is larger than mail_retry_max_s/],
) {
    my ($lines, $want) = @$case;
    my $f = "$tmp/check.conf";
    { my $old = umask 077; open my $c, '>', $f or die; print $c "tenant demo\nldap_bind_dn cn=x\nldap_bind_password_file $secret\n$lines"; close $c; umask $old; }
    my $out = qx{'$bin' -n -f '$f' 2>&1};
    ok($? != 0 && $out =~ $want, "rosterbridge -n refuses: $lines") or diag $out;
}
{
    my $f = "$tmp/good.conf";
    my $old = umask 077;
    open my $c, '>', $f or die;
    print $c "tenant demo\nldap_bind_dn cn=x\nldap_bind_password_file $secret\nsmtp_host mail.example\n"
        . "smtp_port 587\nsmtp_tls starttls\nsmtp_user u\nsmtp_password_file $secret\n"
        . "smtp_from noreply\@demo.example\nsmtp_ca_file $dir->{ca_file}\ninvite_expiry_hours 24\n";
    close $c;
    umask $old;
    my $out = qx{'$bin' -n -f '$f' 2>&1};
    is($? >> 8, 0, 'rosterbridge -n accepts a complete SMTP configuration') or diag $out;
}
done_testing;
