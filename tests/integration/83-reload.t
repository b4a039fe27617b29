#!/usr/bin/env perl
# 83-reload.t — operating the daemon: SIGHUP reloads tokens and limits
# without dropping a connection (a request half-sent during the reload is
# answered, and its keep-alive connection then uses a token the reload
# added); a bad file is refused with file:line and the old configuration
# stays; sd_notify messages (READY, RELOADING, STOPPING) reach
# NOTIFY_SOCKET; a configuration or secret file others may read is refused
# with the chmod to run; --version.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(sleep);
use RBTest;
use RBBridge;

my $bin = RBBridge::build_dir() . '/rosterbridge';
my $tmp = tempdir(CLEANUP => 1);

# --- --version ---------------------------------------------------------------
my ($rc, $out) = RBTest::_run([$bin, '--version']);
is($rc, 0, '--version exits 0');
like($out, qr/^rosterbridge \d+\.\d+\.\d+/, '--version prints the version');
my ($version) = $out =~ /^rosterbridge (.+)$/m;

# --- files others may read -----------------------------------------------------
sub write_file {
    my ($path, $text, $mode) = @_;
    open my $f, '>', $path or die "$path: $!";
    print $f $text;
    close $f;
    chmod $mode, $path;
}
write_file("$tmp/pw", "secret\n", 0600);
my $conf = "listen 127.0.0.1:1\nldap_bind_dn cn=x\nldap_bind_password_file $tmp/pw\ntenant demo\n";
write_file("$tmp/ok.conf", $conf, 0640);
($rc, $out, my $err) = RBTest::_run([$bin, '-n', '-f', "$tmp/ok.conf"]);
is($rc, 0, 'a configuration of mode 0640 (group-readable) is accepted') or diag $err;
write_file("$tmp/open.conf", $conf, 0644);
($rc, $out, $err) = RBTest::_run([$bin, '-n', '-f', "$tmp/open.conf"]);
is($rc, 1, 'a configuration others may read is refused');
like($err, qr/\Q$tmp\E\/open\.conf: .*readable or writable by others.*run `chmod o-rwx \Q$tmp\E\/open\.conf`/,
     '... saying which chmod to run');
chmod 0644, "$tmp/pw";
($rc, $out, $err) = RBTest::_run([$bin, '-n', '-f', "$tmp/ok.conf"]);
is($rc, 1, 'a password file others may read is refused');
like($err, qr/ok\.conf:3: ldap_bind_password_file: \Q$tmp\E\/pw is readable or writable by others: run `chmod o-rwx \Q$tmp\E\/pw`/,
     '... with file:line and the chmod');
chmod 0600, "$tmp/pw";
write_file("$tmp/key.pem", "not really a key\n", 0644);
write_file("$tmp/tls.conf", $conf . "tls_cert_file $tmp/pw\ntls_key_file $tmp/key.pem\n", 0600);
($rc, $out, $err) = RBTest::_run([$bin, '-n', '-f', "$tmp/tls.conf"]);
like($err, qr/tls\.conf:6: tls_key_file: .*key\.pem is readable or writable by others/,
     'a TLS key file others may read is refused');

# --- the daemon, told to report to a NOTIFY_SOCKET --------------------------------
my $nsock = "$tmp/notify";
my $notify = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $nsock) or die "notify socket: $!";
my @heard;
sub hear {    # wait (up to $limit seconds) for a datagram matching $re
    my ($re, $limit) = @_;
    my $sel = IO::Select->new($notify);
    for (1 .. $limit * 10) {
        return 1 if grep { $_ =~ $re } @heard;
        next unless $sel->can_read(0.1);
        my $msg;
        $notify->recv($msg, 4096);
        push @heard, $msg;
    }
    return scalar grep { $_ =~ $re } @heard;
}
my $dir = RBTest::start_directory();
local $ENV{NOTIFY_SOCKET} = $nsock;
my $bridge = RBBridge->start($dir);
delete $ENV{NOTIFY_SOCKET};
ok(hear(qr/^READY=1/m, 30), 'systemd hears READY=1 once the daemon listens');

sub wait_log {
    my ($re, $limit) = @_;
    for (1 .. $limit * 10) {
        return 1 if $bridge->log_text =~ $re;
        sleep 0.1;
    }
    diag $bridge->log_text;
    return 0;
}
# One HTTP/1.1 response (headers and a Content-Length body) from a socket.
sub read_response {
    my ($sock) = @_;
    my ($buf, $chunk) = ('', '');
    my $sel = IO::Select->new($sock);
    while ($buf !~ /\r\n\r\n/) {
        last unless $sel->can_read(30) && sysread($sock, $chunk, 65536);
        $buf .= $chunk;
    }
    my ($len) = $buf =~ /^Content-Length:\s*(\d+)/mi;
    my $start = index($buf, "\r\n\r\n") + 4;
    while (defined $len && length($buf) - $start < $len) {
        last unless $sel->can_read(30) && sysread($sock, $chunk, 65536);
        $buf .= $chunk;
    }
    return $buf;
}
sub count_log { my ($re) = @_; my @m = $bridge->log_text =~ /$re/g; return scalar @m; }

# Eight people, so that a page limit shows.
for my $i (1 .. 8) {
    is($bridge->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => "p$i\@demo.example" })->{status},
       201, "person $i");
}

# A request half-sent when the reload happens.
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $bridge->{port}) or die $!;
my $body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"reload@demo.example"}';
my $half = int(length($body) / 2);
print $s "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-okta\r\n"
    . "Content-Type: application/scim+json\r\nContent-Length: " . length($body) . "\r\n\r\n"
    . substr($body, 0, $half);
$s->flush;

# Add a token to the file, and lower a limit.
my $newtok = 'rb_reloaded-token-' . $$;
chomp(my $hash = `$bin -H $newtok`);
open my $c, '>>', $bridge->{conf} or die;
print $c "token $hash tenant=demo source=clever rights=read\ndefault_count 5\nmax_count 7\n";
close $c;
is($bridge->req(GET => '/Users', token => $newtok)->{status}, 401, 'the new token is unknown before the reload');
@heard = ();
kill 'HUP', $bridge->{pid};
ok(wait_log(qr/configuration reloaded from .*test\.conf: 3 tenants, \d+ tokens/, 30),
   'SIGHUP: the log says the configuration was reloaded');
ok(hear(qr/^RELOADING=1/m, 10) && hear(qr/^READY=1/m, 10), 'systemd hears RELOADING=1 then READY=1');

# The half-sent request completes on its connection.
print $s substr($body, $half);
$s->flush;
my $resp = read_response($s);
like($resp, qr{^HTTP/1\.1 201}, 'a request in flight during the reload is answered (201)');
# The same connection, with the token the reload added.
print $s "GET /scim/v2/Users?count=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $newtok\r\n\r\n";
$s->flush;
my $resp2 = read_response($s);
like($resp2, qr{^HTTP/1\.1 200}, '... and the kept-alive connection then works with the new token');
like($resp2, qr/"totalResults":\s*9\b/, '... seeing the nine people');
like($resp2, qr/"itemsPerPage":\s*7\b/, '... seven to a page: the reloaded max_count');
is($bridge->req(GET => '/Users?count=100', token => $newtok)->{status}, 200, 'the new token works');
is(scalar @{ $bridge->req(GET => '/Users', token => 'demo-okta')->{json}{Resources} }, 5,
   'the reloaded default_count applies to the old tokens too');
is($bridge->req(POST => '/Users', token => $newtok, json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'x@demo.example' })->{status},
   403, 'the new token has the rights its line gives (read)');

# Settings the directory layer reads only at start: the log says so.
open $c, '>>', $bridge->{conf} or die;
print $c "retention_days 3\nguard_min 9\nmax_results 900\ntenant reloaded\n";
close $c;
kill 'HUP', $bridge->{pid};
ok(wait_log(qr/configuration reloaded from .*test\.conf: 4 tenants/, 30), 'a second reload');
ok(wait_log(qr/reload: retention_days\/repair_interval_s changed in the file; takes effect at the next restart/, 10),
   '... the log says retention_days needs a restart');
ok(wait_log(qr/reload: the mass-deprovision guard \(guard_\*\) changed in the file; takes effect at the next restart/, 10),
   '... and the guard settings');
ok(wait_log(qr/reload: max_results\/max_candidates changed in the file/, 10), '... and max_results');
ok(wait_log(qr/reload: tenant reloaded is served now; the repair thread .* at the next restart/, 10),
   '... and that the repair thread takes the new tenant up at the next restart');

# A bad file: refused with file:line, the old configuration stays.
my ($lines) = scalar(() = do { open my $f, '<', $bridge->{conf} or die; local $/; <$f> } =~ /\n/g);
open $c, '>>', $bridge->{conf} or die;
print $c "token sha256:nothex tenant=demo source=x rights=write\n";
close $c;
kill 'HUP', $bridge->{pid};
ok(wait_log(qr/reload refused, the running configuration stays: .*test\.conf:${\($lines + 1)}: token/, 30),
   'a bad file is refused, naming file:line');
is($bridge->req(GET => '/Users', token => $newtok)->{status}, 200, '... and the running tokens still work');
ok(kill(0, $bridge->{pid}), '... and the daemon is still running');

# /metrics: build_info, process_*, latency by route and method.
my $m = $bridge->req(GET => '/metrics')->{content};
like($m, qr/^rosterbridge_build_info\{version="\Q$version\E"\} 1$/m, 'metrics: build_info carries --version');
like($m, qr/^process_cpu_seconds_total \d+(\.\d+)?$/m, 'metrics: process_cpu_seconds_total');
ok(($m =~ /^process_resident_memory_bytes (\d+)$/m)[0] > 1_000_000, 'metrics: process_resident_memory_bytes');
ok(($m =~ /^process_open_fds (\d+)$/m)[0] >= 3, 'metrics: process_open_fds');
like($m, qr/^process_max_fds \d+$/m, 'metrics: process_max_fds');
ok(abs((($m =~ /^process_start_time_seconds ([\d.]+)$/m)[0] // 0) - time) < 3600, 'metrics: process_start_time_seconds');
my ($posts) = $m =~ /^rosterbridge_http_route_duration_seconds_count\{route="users",method="POST"\} (\d+)$/m;
ok(defined $posts && $posts >= 9, 'metrics: latency of POST /Users counted by route and method') or diag $posts;
my ($gets) = $m =~ /^rosterbridge_http_route_duration_seconds_count\{route="users",method="GET"\} (\d+)$/m;
ok(defined $gets && $gets >= 3, '... apart from GET /Users');
like($m, qr/^rosterbridge_http_route_duration_seconds_bucket\{route="users",method="POST",le="\+Inf"\} \Q$posts\E$/m,
     '... a histogram whose +Inf bucket is its count');

$bridge->stop;
is($bridge->{exit}, 0, 'SIGTERM: clean exit');
ok(hear(qr/^STOPPING=1/m, 10), 'systemd hears STOPPING=1');

done_testing();
