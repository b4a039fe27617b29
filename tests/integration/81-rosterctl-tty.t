#!/usr/bin/env perl
# 81-rosterctl-tty.t — rosterctl on a real terminal (tmux): the import's
# progress bar (rows, percent, rate, ETA/elapsed) and the table output;
# an import interrupted with Ctrl-C (send-keys C-c) stops after the batch
# in flight, exits 9, and the same command run again finishes the job.
# No timing is asserted: the test waits for what the pane shows.
use strict;
use warnings;
use Test::More;
use File::Spec;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use RBTest;
use RBBridge;

my $B = RBBridge::build_dir();
my $CTL = File::Spec->rel2abs("$B/rosterctl");
die "no $CTL: run make first\n" unless -x $CTL;
my ($tmux) = grep { -x } map { "$_/tmux" } split /:/, $ENV{PATH} // '';
BAIL_OUT('tmux is not installed: run scripts/install-deps') unless $tmux;
my $tmp = tempdir(CLEANUP => 1);

my ($rc, $line, $err) = RBTest::_run([$CTL, qw(token create --tenant demo --source in-product
                                               --rights write --token-file), "$tmp/token"]);
is($rc, 0, 'token create') or diag $err;
my $dir = RBTest::start_directory();
my $bridge = RBBridge->start($dir, extra_conf => $line);

sub write_csv {
    my ($path, $n, $prefix) = @_;
    open my $f, '>', $path or die;
    print $f "userName,permission,scope\n";
    printf $f "%s%05d\@demo.example,view,district\n", $prefix, $_ for 1 .. $n;
    close $f;
}

# A private tmux server (its own socket) with one 200x40 pane running sh.
my $sock = "$tmp/tmux.sock";
my @T = ($tmux, '-S', $sock);
END { system(@T, 'kill-server') if $sock && -S $sock; }
system(@T, 'new-session', '-d', '-x', '200', '-y', '40', '/bin/sh') == 0 or die "tmux failed\n";
system(@T, 'set-option', '-g', 'history-limit', '5000');

sub pane {
    my $out = `$tmux -S $sock capture-pane -p -J -S -`;
    return $out // '';
}

# wait_for(qr/…/, seconds) — the pane's text once it matches (or undef).
sub wait_for {
    my ($re, $limit) = @_;
    for (1 .. $limit * 10) {
        my $p = pane();
        return $p if $p =~ $re;
        sleep 0.1;
    }
    diag "pane after ${limit}s:\n" . pane();
    return undef;
}

# Type a command into the pane's shell (send-keys), its exit code echoed after it.
my $seq = 0;
sub type_cmd {
    my ($cmd) = @_;
    $seq++;
    system(@T, 'send-keys', '-t', '0', 'clear', 'Enter');
    system(@T, 'send-keys', '-t', '0',
           "ROSTERCTL_URL=$bridge->{base} ROSTERCTL_TOKEN_FILE=$tmp/token $cmd; echo \"DONE$seq exit=\$?\"",
           'Enter');
    return $seq;
}

# --- the progress bar ------------------------------------------------------------
write_csv("$tmp/a.csv", 300, 'tty');
my $n = type_cmd("$CTL import admins $tmp/a.csv");
my $p = wait_for(qr/DONE$n exit=\d+/, 300);
ok(defined $p, 'the import finished in the terminal');
$p //= '';
like($p, qr/DONE$n exit=0/, 'exit 0');
like($p, qr/importing \[#{30}\] 300\/300 100%\s+\d+ rows\/s\s+in \d+:\d\d/,
     'the bar: full, 300/300 100%, the rate and the time it took');
like($p, qr/a\.csv: 300 rows, 300 created, 0 updated, 0 rejected/, 'the summary under it');

# --- a table on a terminal -----------------------------------------------------
$n = type_cmd("$CTL admins list");
$p = wait_for(qr/DONE$n exit=\d+/, 120) // '';
like($p, qr/userName\s{2,}name\s{2,}email\s{2,}permission\s{2,}schools/m,
     'admins list on a terminal: an aligned table');
like($p, qr/^tty00001\@demo\.example\s{2,}\s*tty00001\@demo\.example\s{2,}view\s{2,}All schools\s{2,}no\s{2,}in-product/m,
     '... one row per administrator');
like($p, qr/^\(300\)$/m, '... and the count');

# --- Ctrl-C during an import, then the same command again ------------------------
write_csv("$tmp/b.csv", 3000, 'int');
$n = type_cmd("$CTL import admins $tmp/b.csv --batch 5");
$p = wait_for(qr/importing \[[#.]{30}\] (?:[1-9]\d*)\/3000/, 300);
ok(defined $p, 'the bar counts rows as batches are sent');
system(@T, 'send-keys', '-t', '0', 'C-c');
$p = wait_for(qr/DONE$n exit=\d+/, 300) // '';
like($p, qr/DONE$n exit=9/, 'Ctrl-C: exit 9');
like($p, qr/interrupted after (\d+) of 3000 rows: run the same command again/,
     '... saying how far it got and what to do');
my ($done_before) = $p =~ /interrupted after (\d+) of 3000/;
ok(-e "$tmp/b.csv.rosterctl-state", '... leaving the state file');
($rc, my $out, $err) = RBTest::_run([$CTL, qw(import admins), "$tmp/b.csv", '--batch', '50'],
                                    env => { ROSTERCTL_URL => $bridge->{base},
                                             ROSTERCTL_TOKEN_FILE => "$tmp/token" });
is($rc, 0, 'the same command again completes') or diag $err;
like($err, qr/continuing .*b\.csv at line \d+ \(\Q$done_before\E rows done before/,
     '... continuing where it stopped');
like($out, qr/3000 rows, 3000 created, 0 updated, 0 rejected/,
     '... every row created exactly once');
ok(!-e "$tmp/b.csv.rosterctl-state", '... and the state file is gone');
my ($people) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
                                  filter => '(uid=int*)', attrs => ['1.1']);
is(scalar @$people, 3000, 'all 3000 people are in the directory');

done_testing();
