#!/usr/bin/env perl
# 63-workers.t — SCIM work runs on worker threads, off the HTTP event
# loop, behind a bounded queue. The directory is a socket that accepts and
# never answers, so every SCIM request holds its worker for the whole LDAP
# timeout. Meanwhile /healthz and /metrics answer; a request that waited
# longer than request_queue_timeout_ms gets 503 + Retry-After without
# running; one arriving at a full queue gets 503 + Retry-After at once.
# (Before: the event thread running the LDAP call stalled every client.)
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
# A directory that never answers: the listen backlog completes each TCP
# handshake, nobody reads.
my $hole = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
my $hole_uri = 'ldap://127.0.0.1:' . $hole->sockport;
my $b = RBBridge->start($dir, workers => 1, ldap_uri => $hole_uri, ldap_timeout_ms => 4000,
    extra_conf => "http_threads 1\nrequest_queue_max 2\nrequest_queue_timeout_ms 500\n");

my $cur = $b;
# Raw requests on their own connections (to $cur), answered in any order.
sub send_req {
    my ($path, $token) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $cur->{port},
        Proto => 'tcp') or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . ($token ? "Authorization: Bearer $token\r\n" : '') . "\r\n";
    return $s;
}
sub read_resp {
    my ($s, $max) = @_;
    my $sel = IO::Select->new($s);
    my ($buf, $end) = ('', time + $max);
    while (time < $end) {
        next unless $sel->can_read(0.1);
        my $n = sysread($s, my $chunk, 65536);
        last if !$n;
        $buf .= $chunk;
    }
    return $buf;
}

my $slow = send_req('/scim/v2/Users', 'demo-okta');       # runs: holds the only worker
sleep 0.5;
my @queued = map { send_req("/scim/v2/Users?q=$_", 'demo-okta') } 1 .. 2;  # fill the queue
sleep 0.3;
my $full = send_req('/scim/v2/Users?q=full', 'demo-okta');
my $r = read_resp($full, 3);
like($r, qr{^HTTP/1\.1 503 }, 'a full queue: 503 at once');
like($r, qr{\r\nRetry-After: \d+}i, '... with Retry-After');
like($r, qr{the server is busy}, '... saying why');

# The event thread is free while the worker waits on the directory.
my $h = read_resp(send_req('/healthz'), 3);
like($h, qr{^HTTP/1\.1 200 }, '/healthz answers while the worker is stuck in LDAP');
my $m = read_resp(send_req('/metrics'), 3);
like($m, qr{^HTTP/1\.1 200 .*rosterbridge_ldap_pool_in_use 1}s, '/metrics answers too (one slot in use)');

my $first = read_resp($slow, 30);
like($first, qr{^HTTP/1\.1 503 }, 'the slow request ends with 503 (directory did not answer)');
for my $i (0 .. 1) {
    my $q = read_resp($queued[$i], 30);
    like($q, qr{^HTTP/1\.1 503 }, "queued request $i: 503 after waiting past the queue timeout");
    like($q, qr{\r\nRetry-After: \d+}i, '... with Retry-After');
    like($q, qr{waited 500 ms for a worker}, '... and it never ran');
}
$b->stop;
is($b->{exit}, 0, 'clean stop');

# Stopping with work still queued: every request is answered, the daemon exits cleanly.
my $b2 = RBBridge->start($dir, workers => 1, ldap_uri => $hole_uri, ldap_timeout_ms => 3000,
    extra_conf => "request_queue_timeout_ms 60000\n");
$cur = $b2;
my @held = map { send_req("/scim/v2/Users?s=$_", 'demo-okta') } 1 .. 3;
sleep 0.5;
$b2->stop;
is($b2->{exit}, 0, 'SIGTERM with queued requests: clean exit');
my $answered = grep { read_resp($_, 10) =~ m{^HTTP/1\.1 503 } } @held;
is($answered, 3, '... each queued or running request was answered 503');
done_testing();
