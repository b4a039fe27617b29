#!/usr/bin/env perl
# 30-differential.t — the SCIM engine (filter parse + match, PATCH) against
# independent JavaScript implementations (scim2-parse-filter, scim-patch),
# see tests/differential/KNOWN.md. Builds build/differential/engine_cli,
# installs the pinned npm packages into tests/differential/node_modules
# (npm ci from package-lock.json), runs tests/differential/run.js and
# passes only when every disagreement is listed in known.json and
# explained in KNOWN.md. scripts/install-deps installs node and npm, so no
# node, or npm install failing, is a failure: nothing here is skipped.
use strict;
use warnings;
use Test::More;
use File::Spec;
use File::Temp qw(tempfile);
use FindBin;
use JSON::PP;
use Time::HiRes qw(time);

my $root = $ENV{RB_SRCDIR} // File::Spec->rel2abs(File::Spec->catdir($FindBin::Bin, '..', '..'));
my $ddir = File::Spec->catdir($root, 'tests', 'differential');
my $cli  = File::Spec->catfile($root, 'build', 'differential', 'engine_cli');
my $t0   = time;

sub have { my $cmd = shift; system("command -v $cmd >/dev/null 2>&1") == 0 }

ok(have('node'), 'node is installed (scripts/install-deps installs Debian\'s nodejs)')
    or diag('no node: run scripts/install-deps');

# run — run a shell command in directory $dir; returns (exit status, output).
sub run {
    my ($dir, $cmd) = @_;
    my $out = qx{cd '$dir' && $cmd 2>&1};
    return ($? >> 8, $out);
}

my ($rc, $out) = run($root, 'make --no-print-directory -s build/differential/engine_cli');
ok($rc == 0 && -x $cli, 'engine_cli builds') or diag($out);

ok(have('npm'), 'npm is installed (node is, so the JavaScript side must be installable)');
my $lock = -e File::Spec->catfile($ddir, 'package-lock.json');
($rc, $out) = run($ddir, ($lock ? 'npm ci' : 'npm install') . ' --no-audit --no-fund --loglevel=error');
ok($rc == 0, 'npm ' . ($lock ? 'ci' : 'install') . ' of the pinned JavaScript implementations')
    or diag($out);
for my $pkg (qw(scim2-parse-filter scim-patch)) {
    ok(-e File::Spec->catfile($ddir, 'node_modules', $pkg, 'package.json'), "$pkg installed");
}

{
    my ($fh, $report) = tempfile(UNLINK => 1);
    close $fh;
    ($rc, $out) = run($ddir, "node run.js --cli '$cli' --report '$report'");
    my $r = eval { local $/; open my $in, '<', $report or die; decode_json(<$in>) };
    ok($r, 'run.js wrote its report') or diag($out);
    $r //= { cases => 0, filter => 0, patch => 0, unknown => [], stale => [], undocumented => [] };
    note(s/^# //r) for grep { /^#/ } split /\n/, $out;
    cmp_ok($r->{filter}, '>=', 300, "a few hundred filter cases ($r->{filter})");
    cmp_ok($r->{patch}, '>=', 100, "PATCH cases ($r->{patch})");
    is(scalar @{ $r->{unknown} }, 0, 'every disagreement is known (tests/differential/known.json)')
        or diag(join "\n", grep { /^UNEXPLAINED|^    / } split /\n/, $out);
    is(scalar @{ $r->{stale} }, 0, 'no stale entries in known.json')
        or diag(join "\n", grep { /^STALE/ } split /\n/, $out);
    is(scalar @{ $r->{undocumented} // [] }, 0, 'every reason code has a row in KNOWN.md')
        or diag(join "\n", grep { /^UNDOCUMENTED/ } split /\n/, $out);
}

note(sprintf('whole run: %.1f s', time - $t0));    # a figure, never an assertion: the machine is shared
done_testing();
