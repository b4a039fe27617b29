#!/usr/bin/env perl
# smoke.t — run each libFuzzer target for FUZZ_SMOKE_SECONDS over its
# checked-in seed corpus (read-only: new inputs go to a temp dir). Any
# crash, leak or sanitizer report fails the test.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

my $secs = $ENV{FUZZ_SMOKE_SECONDS} // 15;
# One binary per tests/fuzz/fuzz_*.c (make check builds them with clang,
# which scripts/install-deps installs): a missing one fails, never skips.
my @bins = map { s{^tests/fuzz/(.*)\.c$}{build/fuzz/$1}r } sort glob('tests/fuzz/fuzz_*.c');
ok(@bins, 'there are fuzz targets');
ok(-x $_, "$_ is built") or diag('make fuzz-build (needs clang)') for @bins;
@bins = grep { -x } @bins;
for my $bin (@bins) {
    (my $name = $bin) =~ s{.*/}{};
    my $corpus = "tests/fuzz/corpus/$name";
    my $work = tempdir(CLEANUP => 1);
    my $dict = -e 'tests/fuzz/scim.dict' ? '-dict=tests/fuzz/scim.dict' : '';
    my $out = `$bin -max_total_time=$secs -rss_limit_mb=2048 -artifact_prefix=$work/ $dict $work $corpus 2>&1`;
    my $rc = $? >> 8;
    my ($runs) = $out =~ /Done (\d+) runs/;
    ok($rc == 0, "$name: ${secs}s, " . ($runs // '?') . " runs, no finding")
        or diag(join "\n", (split /\n/, $out)[-40 .. -1]);
}
done_testing();
