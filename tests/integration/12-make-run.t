#!/usr/bin/env perl
# 12-make-run.t — what a newcomer gets from `make run` (scripts/run-dev), on
# free ports and a private RB_VAR: the demo administrators are pushed over
# SCIM on the first start, every `ldapsearch` line of the README answers
# with real entries, the dev tokens (the partnership tenant's too) work, a
# second start does not load the demo again; ports that are taken are named
# with the variables that choose others; a data dir made by another version
# is upgraded with its data kept.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use RBTest;
use RBBridge;
use HTTP::Tiny;
use RBConsole;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $src  = RBTest::srcdir();
my $bin  = ($ENV{RB_BUILD} // 'build') . '/rosterbridge';
$bin = "$src/$bin" unless $bin =~ m{^/};
my $var  = tempdir('rbvar-XXXXXX', DIR => $ENV{TMPDIR} // '/tmp', CLEANUP => 1);
my ($rb_port, $dir_port, $smtp_port) = (RBTest::free_port(), RBTest::free_port(), RBTest::free_port());
my @started;    # run-dev process groups, stopped at the end whatever happens

# start_run_dev(%env) — scripts/run-dev in its own session; returns (pid,
# log file). Waits for its banner, or for it to exit.
sub start_run_dev {
    my (%env) = @_;
    my $log = "$var/run-dev." . time . '.log';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);
        %ENV = (%ENV, RB_VAR => $var, RB_PORT => $rb_port, DIRECTORY_PORT => $dir_port, RB_SMTP_PORT => $smtp_port,
                RB_BIN => $bin, %env);
        open STDOUT, '>', $log or die; open STDERR, '>&', \*STDOUT or die;
        chdir $src or die; exec 'scripts/run-dev' or die "exec: $!";
    }
    for (1 .. 1200) {    # up to 120 s: a first start builds the directory and loads the demo
        last if slurp($log) =~ /^rosterbridge \(development\)/m;
        last if waitpid($pid, 1) > 0 and do { $pid = undef; 1 };
        sleep 0.1;
    }
    push @started, $pid if $pid;
    return ($pid, $log);
}
sub stop_run_dev {
    my ($pid) = @_;
    return unless $pid;
    kill 'TERM', -$pid;
    waitpid($pid, 0);
}
sub slurp { open my $f, '<', $_[0] or return ''; local $/; my $t = <$f>; $t // '' }

END { stop_run_dev($_) for grep { $_ && kill 0, $_ } @started; RBTest::_run([$src . '/scripts/directory', 'stop', "$var/directory"]) if $var; }

# ---- first start ------------------------------------------------------------------
my ($pid, $log) = start_run_dev();
ok($pid, 'make run keeps running') or diag slurp($log);
my $out = slurp($log);
like($out, qr{SCIM base URL\s+http://127\.0\.0\.1:$rb_port/scim/v2}, 'prints the SCIM URL with its port');
like($out, qr/dev-demo-okta.*dev-statewide-okta/s, 'prints the dev tokens, the partnership tenant\'s too');
like($out, qr/LDAP reader\s+cn=reader,o=demo,dc=example,dc=org\s+password dev-reader-demo-secret/, 'prints the LDAP reader account');
unlike($out, qr/loading the demo administrators failed/, 'the demo loaded') or diag $out;
like($out, qr{console\s+http://127\.0\.0\.1:$rb_port/console/demo/\s+sign in as sam\.okafor\@demo\.example / dev-console-sam},
     'prints the console URL and a demo sign-in');
like($out, qr/invitations\s+sent to a local SMTP sink \(127\.0\.0\.1:$smtp_port\)/, 'says where invitations go');

# The bridge of make run, reached with RBBridge's request helpers.
my $b = bless { base => "http://127.0.0.1:$rb_port", http => HTTP::Tiny->new(timeout => 30) }, 'RBBridge';
my $r = $b->req(GET => '/Users?count=100', token => 'dev-demo-okta');
cmp_ok($r->{json}{totalResults} // 0, '>=', 8, 'the demo tenant has administrators over SCIM');
my %u = map { $_->{userName} => $_ } @{ $r->{json}{Resources} // [] };
my %sources = map { $_->{source} => 1 } @{ $u{'jane@lincoln.example'}{$ADM}{grants} // [] };
is_deeply([sort keys %sources], [qw(clever entra okta)], 'Jane: grants from okta, clever and (role group) entra');
is($u{'tom.baker@demo.example'}{active}, JSON::PP::false, 'Tom: suspended by okta');
my %scopes = map { $_->{scope} => 1 } map { @{ $_->{$ADM}{grants} // [] } } values %u;
ok($scopes{district} && $scopes{school}, 'district- and school-scope administrators');
$r = $b->req(GET => '/Users?filter=userName%20eq%20%22rosa.garcia@sep.example%22', token => 'dev-statewide-okta');
is($r->{json}{Resources}[0]{$ADM}{grants}[0]{region}, 'north', 'the partnership tenant: a region-scope administrator');

# ---- the console: the printed sign-in works; an invitation reaches the SMTP sink ----------
my $c = RBConsole->new($b, 'demo');
$c->get('/signin');
$r = $c->post('/signin', { login => 'sam.okafor@demo.example', password => 'dev-console-sam' });
is($r->{status}, 303, 'the printed console sign-in signs in') or diag $r->{content};
$r = $c->get('/');
like($r->{content} // '', qr/Manage Administrators/, 'the dashboard offers Manage Administrators');
$c->get('/admins/invite');
$r = $c->post('/admins/invite', { name => 'Ivy Demo', email => 'ivy.demo@demo.example',
                                  school => '5eed0001-0000-4000-8000-000000000001', permission => 'view' });
is($r->{status}, 303, 'an invitation from the console') or diag $r->{content};
my $mail;
for (1 .. 300) {    # the outbox sends within seconds; the sink writes one file a message
    ($mail) = grep { slurp($_) =~ /ivy\.demo\@demo\.example/ } glob("$var/mail/new/*");
    last if $mail;
    sleep 0.1;
}
ok($mail, "the invitation landed in the SMTP sink's Maildir ($var/mail/new)");
like(slurp($mail // ''), qr/^Subject: Action needed: Confirm your Demo Unified School District Administrator account/m,
     '... with the invitation\'s subject');

# ---- every README query answers ----------------------------------------------------
open my $f, '<', "$src/README.md" or die "README.md: $!";
my (@lines, $in);
while (my $line = <$f>) {
    $in = !$in, next if $line =~ /^```/;
    push @lines, $line =~ s/\s+$//r if $in && $line =~ /^ldapsearch /;
}
close $f;
cmp_ok(scalar @lines, '>=', 6, 'README has its ldapsearch lines');
for my $line (@lines) {
    (my $cmd = $line) =~ s{ldap://127\.0\.0\.1:3389}{ldap://127.0.0.1:$dir_port}g;
    my $res = `$cmd 2>&1`;
    my @dns = $res =~ /^dn: /mg;
    my @vals = $res =~ /^(?!dn:)\w+: /mg;
    ok($? == 0 && @dns && @vals, "answers with entries and values: " . substr($line, 0, 60) . '… ' . substr($line, -60))
        or diag $res;
}

# ---- a second start does not load the demo again -------------------------------------
stop_run_dev($pid);
($pid, $log) = start_run_dev();
ok($pid, 'a second make run starts');
$r = $b->req(GET => '/Users?count=1', token => 'dev-demo-okta');
my $count = $r->{json}{totalResults};
unlike(slurp("$var/demo-load.log") . slurp($log), qr/POST .*409/, 'the demo was not pushed again');

# ---- ports taken -----------------------------------------------------------------------
my ($p2, $log2) = start_run_dev();    # the bridge's port is taken by the running one
ok(!$p2, 'a second make run on the same bridge port exits');
like(slurp($log2), qr/port $rb_port, where the bridge listens, is taken.*RB_PORT=\d+ DIRECTORY_PORT=\d+/s,
     'it says the port is taken and how to choose others') or diag slurp($log2);
stop_run_dev($pid);
RBTest::_run([$src . '/scripts/directory', 'stop', "$var/directory"]);
my $squat = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => $dir_port, ReuseAddr => 1)
    or die "listen: $!";
($p2, $log2) = start_run_dev();
ok(!$p2, 'the directory port taken by another program: make run exits');
like(slurp($log2), qr/port $dir_port, where the private directory \(slapd\) listens, is taken.*DIRECTORY_PORT=/s,
     'it says so and names DIRECTORY_PORT') or diag slurp($log2);
close $squat;

# ---- a data dir made by another version -----------------------------------------------
unlink "$var/directory/config.fingerprint" or die;
my ($rc, $o, $e) = RBTest::_run([$src . '/scripts/directory', 'start', "$var/directory", $dir_port]);
is($rc, 0, 'a data dir without the fingerprint (an older version) starts');
like($e, qr/made by another version.*upgraded/s, 'and says it upgraded it');
ok(glob("$var/directory/backup-*.ldif"), 'the data before the upgrade is kept as LDIF');
($pid, $log) = start_run_dev();
$r = $b->req(GET => '/Users?count=1', token => 'dev-demo-okta');
is($r->{json}{totalResults}, $count, 'every administrator is still there after the upgrade');
stop_run_dev($pid);
RBTest::_run([$src . '/scripts/directory', 'stop', "$var/directory"]);
done_testing();
