#!/usr/bin/env perl
# 67-directory-kill.t — the short form of tests/proof/directory-kill: slapd
# is killed with SIGKILL and restarted 3 times while SCIM writers create
# people with grants, add members to role groups and change grants. What
# must hold: every answer is 2xx or 503 with Retry-After; every write
# answered 2xx is there exactly once; nothing answered 503 is there half;
# every access summary equals a recomputation from the grants; no pending
# role-group change is left; the bridge was never restarted and stops
# cleanly. The long form (--kills 20) and its figures are in the README's
# Reliability section.
use strict;
use warnings;
use Test::More;

my $src = $ENV{RB_SRCDIR} // '.';
my $out = `$^X $src/tests/proof/directory-kill --kills 3 2>&1`;
my $exit = $? >> 8;
my %k = $out =~ /^(\w+) (\S+)$/mg;
diag($_) for grep { /^(create|member|grant)_\d+ / } split /\n/, $out;
is($k{kills}, 3, 'slapd was killed and restarted 3 times') or diag $out;
my $ok = 0;
$ok += $k{$_} for grep { /^(create|member|grant)_2\d\d$/ } keys %k;
ok($ok > 0, "writes were answered 2xx ($ok)");
is($k{other_status}, 0, 'every answer was 2xx or 503');
is($k{retry_after_missing}, 0, 'every 503 carried Retry-After');
ok(($k{people_checked} // 0) > 0, "access summaries checked ($k{people_checked} people)");
is($k{summary_mismatch}, 0, 'every access summary equals a recomputation from the grants');
is($k{pending_left}, 0, 'no pending role-group change is left');
is($k{same_bridge}, 1, 'the bridge was never restarted');
is($k{healthz_after}, 200, '/healthz answers afterwards');
is($k{daemon_exit}, 0, 'the bridge stopped cleanly (no sanitizer report)');
is($k{problems}, 0, 'no problem found') or diag(join "\n", grep { /^problem / } split /\n/, $out);
is($exit, 0, 'tests/proof/directory-kill exited 0');
done_testing();
