#!/usr/bin/env perl
# 60-abuse.t — the HTTP layer under abuse (issue 15), over real sockets:
# a body without a valid token is refused on the headers (401 before a
# byte of it is sent, connection closed); a request whose headers trickle
# in is cut at request_timeout_s; per_ip_connection_limit refuses the
# extra connections of one address while another address is served; a
# %00 in the URL never shortens it (404 in the path, 400 in the query);
# control characters in a logged value are escaped; /readyz does not take
# a SCIM pool slot.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir, extra_conf => "request_timeout_s 2\nper_ip_connection_limit 6\n");

sub connect_from {
    my ($local) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $b->{port},
        Proto => 'tcp', ($local ? (LocalAddr => $local) : ()), Timeout => 10);
}

# Read until EOF or `max` seconds; returns (text, saw_eof).
sub read_all {
    my ($s, $max) = @_;
    my $sel = IO::Select->new($s);
    my ($buf, $end) = ('', time + $max);
    while (time < $end) {
        next unless $sel->can_read(0.2);
        my $n = sysread($s, my $chunk, 65536);
        return ($buf, 1) if !$n;
        $buf .= $chunk;
    }
    return ($buf, 0);
}

# ---- a body without a token: refused on the headers ------------------------
{
    my $s = connect_from() or die "connect: $!";
    # Headers promise 900,000 bytes; not one is sent before the answer.
    print $s "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n"
        . "Content-Length: 900000\r\n\r\n";
    my ($text, $eof) = read_all($s, 20);
    like($text, qr{^HTTP/1\.1 401 }, 'unauthenticated body: 401 before any body byte is sent');
    like($text, qr{\r\nWWW-Authenticate: Bearer}i, '... with WWW-Authenticate');
    like($text, qr{\r\nConnection: close}i, '... and Connection: close');
    ok($eof, '... and the connection is closed (the body is never read)');
}
{
    my $s = connect_from() or die "connect: $!";
    print $s "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n";
    my ($text, $eof) = read_all($s, 20);
    like($text, qr{^HTTP/1\.1 401 }, 'chunked body with a bad token: 401 at once');
    ok($eof, '... connection closed');
}
my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'abuse.one' });
is($r->{status}, 201, 'a body with a valid token is read and served');
my $uid = $r->{json}{id};

# ---- %00 never shortens the URL ---------------------------------------------
$r = $b->req(GET => '/Users/%00', token => 'demo-okta');
is($r->{status}, 404, 'GET /Users/%00: 404, not the collection');
ok(!exists(($r->{json} // {})->{Resources}), '... no list in the answer');
$r = $b->req(GET => "/Users/$uid%00x", token => 'demo-okta');
is($r->{status}, 404, 'an existing id followed by %00: 404');
$r = $b->req(DELETE => "/Users/$uid%00", token => 'demo-okta');
is($r->{status}, 404, 'DELETE of an id with %00: 404');
$r = $b->req(GET => "/Users/$uid", token => 'demo-okta');
is($r->{status}, 200, '... and the user is still there');
$r = $b->req(GET => '/Users?filter=userName%20pr%00%20and%20userName%20eq%20%22nobody%22',
    token => 'demo-okta');
is($r->{status}, 400, 'a %00 in a query parameter: 400, the filter is never cut short');

# ---- control characters in logged values are escaped ------------------------
$r = $b->req(GET => '/healthz%0A2026-01-01T00:00:00.000Z%20info%20forged%1b[31m', token => 'demo-okta');
is($r->{status}, 404, 'a path with %0A: 404');

# ---- headers trickled in: cut at request_timeout_s ---------------------------
{
    my $s = connect_from() or die "connect: $!";
    print $s "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    # One header byte every 0.25 s (well inside the 60 s idle timeout), for
    # up to 30 s: the 2 s request deadline must end it long before.
    my ($closed, $got) = (0, '');
    for my $i (1 .. 120) {
        local $SIG{PIPE} = 'IGNORE';
        my $ok = syswrite($s, 'X');
        my ($t, $eof) = read_all($s, 0.25);
        $got .= $t;
        if (!defined $ok || $eof) { $closed = 1; last }
    }
    ok($closed, 'a request trickling its headers is closed at the deadline');
    unlike($got, qr{ 200 }, '... without an answer');
}
{
    my $s = connect_from() or die "connect: $!";
    print $s "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-okta\r\n"
        . "Content-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n";
    my ($closed, $got) = (0, '');
    for my $i (1 .. 120) {
        local $SIG{PIPE} = 'IGNORE';
        my $ok = syswrite($s, ' ');
        my ($t, $eof) = read_all($s, 0.25);
        $got .= $t;
        if (!defined $ok || $eof) { $closed = 1; last }
    }
    ok($closed, 'an authenticated body trickled byte by byte is closed at the deadline');
}

# ---- one address cannot take every connection --------------------------------
{
    my @held;
    for (1 .. 6) { push @held, connect_from('127.0.0.1') or die "connect: $!" }
    my $extra = connect_from('127.0.0.1');
    my $refused = 1;
    if ($extra) {
        print $extra "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        my ($t) = read_all($extra, 5);
        $refused = $t !~ /^HTTP\/1\.1 200/;
    }
    ok($refused, 'the 7th connection from one address is refused (per_ip_connection_limit 6)');
    my $other = connect_from('127.0.0.2');
    SKIP: {
        skip 'cannot bind 127.0.0.2 here', 1 unless $other;
        print $other "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        my ($t) = read_all($other, 10);
        like($t, qr{^HTTP/1\.1 200 }, 'another address is served meanwhile');
    }
    close $_ for @held;
}

# ---- /readyz has its own connection -------------------------------------------
my $b2 = RBBridge->start($dir);
is($b2->req(GET => '/readyz')->{status}, 200, '/readyz: ready') for 1 .. 3;
$r = $b2->req(GET => '/metrics');
like($r->{content}, qr/^rosterbridge_ldap_pool_connected 0$/m,
    '/readyz connected no SCIM pool slot');
like($r->{content}, qr/^rosterbridge_ldap_pool_in_use 0$/m, '... and holds none');
$b2->stop;

$b->stop;
my $log = $b->log_text;
unlike($log, qr/^2026-01-01T00:00:00\.000Z info forged/m, 'no forged log line');
like($log, qr{GET /healthz\\x0a2026-01-01T00:00:00\.000Z info forged\\x1b\[31m 404}, 'the path is logged escaped, on its line');
like($log, qr/closed \d+ connection\(s\) that sent no whole request within request_timeout_s/, 'the deadline is logged');
done_testing();
