#!/usr/bin/env perl
# 64-flood.t — the short form of tests/proof/flood: 200 connections
# trickling headers or bodies (a third with no token, refused on their
# headers and reopened at once) for 10 s while a normal client works. What
# must hold on any machine, however loaded: every normal request is
# answered 200, bodies without a token are refused, trickling connections
# are cut at request_timeout_s, the daemon stays up and stops cleanly.
# Latency and RSS figures are printed (diag), never asserted; the long form
# and its figures are in the README's Reliability section.
use strict;
use warnings;
use Test::More;

my $src = $ENV{RB_SRCDIR} // '.';
my $out = `$^X $src/tests/proof/flood --connections 200 --seconds 10 --request-timeout 4 2>&1`;
is($? >> 8, 0, 'tests/proof/flood ran') or diag $out;
my %k = $out =~ /^(\w+) (\S+)$/mg;
diag($_) for grep { /^(idle|flood|rss|attack)_/ } split /\n/, $out;
ok(($k{flood_requests} // 0) > 0, "the normal client worked during the flood ($k{flood_requests} requests)");
is($k{flood_status}, "200=$k{flood_requests}", '... and every one was answered 200');
ok(($k{attack_refused_401} // 0) > 0, 'bodies without a token were refused (401 on the headers)');
ok(($k{deadline_closed_logged} // 0) > 0, 'trickling connections were cut at the request deadline');
is($k{healthz_after}, 200, '/healthz answers after the flood');
is($k{daemon_exit}, 0, 'the daemon stopped cleanly (no sanitizer report)');
done_testing();
