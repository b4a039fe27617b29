#!/usr/bin/env perl
# 68-bulk-kill.t — the short form of tests/proof/bulk-kill: a /Bulk of 200
# creates (password and grant each) is cut short twice by a SIGKILL of the
# bridge; a new bridge gets the same bulk again. What must hold: the full
# send answers 200 with 201 or 409 uniqueness for every operation (409
# exactly for the people already there whole, 201 for the rest, half
# creates included); afterwards every person is there once, whole, with
# the id answered; a further send answers 409 for all and changes nothing.
# The long form (--users 1000 --kills 20) is in the README's Reliability
# section.
use strict;
use warnings;
use Test::More;

my $src = $ENV{RB_SRCDIR} // '.';
my $out = `$^X $src/tests/proof/bulk-kill --users 200 --kills 2 2>&1`;
my $exit = $? >> 8;
my %k = $out =~ /^(\w+) (\S+)$/mg;
diag($_) for grep { /^(kill_|half_|whole_|full_send_)/ } split /\n/, $out;
is($k{kills}, 2, 'the bridge was killed twice during the bulk') or diag $out;
is($k{full_send_status}, 200, 'the full send answered 200');
is(($k{full_send_201} // 0) + ($k{full_send_409} // 0), 200, '... each operation 201 or 409');
is($k{whole_after_full_send}, 200, 'afterwards all 200 people are there once, whole');
is($k{again_409}, 200, 'a further send: 409 for every operation');
is($k{changed_by_the_resend}, 0, '... and no entry changed');
is($k{daemon_exit}, 0, 'the last bridge stopped cleanly (no sanitizer report)');
is($k{problems}, 0, 'no problem found') or diag(join "\n", grep { /^problem / } split /\n/, $out);
is($exit, 0, 'tests/proof/bulk-kill exited 0');
done_testing();
