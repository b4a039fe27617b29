package RBCluster;
# RBCluster — the two-provider setup of the cluster tests (90, 97, 98):
# scripts/cluster started on two free ports in a temporary directory
# (stopped at the end of the test), and the helpers those tests share.
#
#   my $c = RBCluster->start;            # BAIL_OUT if the cluster does not start
#   $c->{env}{URI1}, $c->{env}{URI2}     # the providers' URIs (and SUFFIX, SERVICE_DN…)
#   $c->{dir}                            # an RBTest directory hash (provider 1)
#   $c->eventually(CODE [, BOUND])       # CODE's true answer within BOUND s (default 30);
#                                        # in list context also the seconds taken
#   $c->stop_provider('p2')              # SIGKILL: a partition without a goodbye
#   $c->start_provider('p2')             # scripts/directory start on its own port
#   $c->on_provider(URI, UID, @attrs)    # every entry of the userName on that provider
use strict;
use warnings;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use Test::More ();
use RBTest;

my @STARTED;    # cluster dirs to stop at the end

sub start {
    my ($class, %o) = @_;
    my $src = RBTest::srcdir();
    my $cl  = tempdir('rbcl-XXXXXX', DIR => $ENV{TMPDIR} // '/tmp', CLEANUP => 1);
    my %port = (p1 => RBTest::free_port(), p2 => RBTest::free_port());
    my ($rc, $out, $err) = RBTest::_run([$src . '/scripts/cluster', 'start', $cl, $port{p1}, $port{p2}]);
    push @STARTED, [$src, $cl];
    Test::More::is($rc, 0, 'scripts/cluster starts two providers') or Test::More::BAIL_OUT("$out$err");
    my $env = RBTest::_read_env("$cl/env");
    my %dir = (data_dir => $cl, uri => $env->{URI1}, suffix => $env->{SUFFIX}, service_dn => $env->{SERVICE_DN},
               service_pw => $env->{SERVICE_PW});
    return bless { src => $src, cl => $cl, port => \%port, env => $env, dir => \%dir,
                   bound => $o{eventually} // 30 }, $class;
}

END { RBTest::_run([$_->[0] . '/scripts/cluster', 'stop', $_->[1]]) for grep { -d $_->[1] } @STARTED; }

sub eventually {
    my ($self, $code, $bound) = @_;
    my $t0 = time;
    while (time - $t0 < ($bound // $self->{bound})) {
        my $v = $code->();
        return wantarray ? ($v, time - $t0) : $v if $v;
        sleep 0.1;
    }
    return wantarray ? (undef, time - $t0) : undef;
}

sub pid_of {
    my ($self, $p) = @_;
    open my $f, '<', "$self->{cl}/$p/slapd.pid" or return;
    my $pid = <$f>;
    chomp $pid;
    return $pid;
}

sub stop_provider {
    my ($self, $p) = @_;
    my $pid = $self->pid_of($p) or return;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    sleep 0.1 while kill 0, $pid;
}

sub start_provider {
    my ($self, $p) = @_;
    return RBTest::_run([$self->{src} . '/scripts/directory', 'start', "$self->{cl}/$p", $self->{port}{$p}]);
}

sub on_provider {
    my ($self, $uri, $uid, @attrs) = @_;
    my ($e) = RBTest::ldapsearch({ %{ $self->{dir} }, uri => $uri }, base => "ou=people,o=demo,$self->{env}{SUFFIX}",
        scope => 'one', filter => "(uid=$uid)", attrs => [@attrs ? @attrs : ('entryUUID', 'entryCSN', 'rbSource')]);
    return $e;
}

1;
