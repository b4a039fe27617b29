package RBBridge;
# RBBridge — start the rosterbridge daemon for an integration test, against a
# private slapd from RBTest::start_directory, on a free loopback port, and
# talk SCIM to it over real HTTP (HTTP::Tiny, JSON::PP: core Perl only).
#
#   my $dir = RBTest::start_directory();
#   my $b   = RBBridge->start($dir);            # tokens of the dev tenants
#   my $r   = $b->req(GET => '/Users', token => 'demo-okta');
#   $r->{status}, $r->{json}, $r->{headers}{etag}
#
# start() options: workers, ldap_timeout_ms, max_results, max_body_bytes,
# extra_conf (configuration lines appended as they are);
# TLS: tls_cert_file + tls_key_file (serve HTTPS; $b->{base} is https://,
# and req() goes through curl trusting tls_ca_file, since HTTP::Tiny has no
# TLS without IO::Socket::SSL), ldap_uri (e.g. $dir->{ldaps_uri}),
# ldap_starttls => 1, ldap_tls_ca_file.
use strict;
use warnings;
use File::Temp qw(tempdir tempfile);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);
use RBTest ();

my @BRIDGES;
# At the end, every bridge must stop cleanly on SIGTERM: a crash, or (in a
# SANITIZE=1 build) an ASan/UBSan/leak report, fails the test file.
END {
    my $bad = 0;
    for my $b (@BRIDGES) {
        $b->stop;
        next unless defined $b->{exit} && $b->{exit} != 0;
        $bad++;
        print STDERR "# rosterbridge exited with status $b->{exit}; its log:\n",
            map { "#   $_\n" } (split /\n/, $b->log_text)[-40 .. -1];
    }
    $? = 1 if $bad && !$?;
}

# Tokens for every test bridge: name => [tenant, source, rights, passwords].
# Okta is the demo tenant's credential source (passwords=yes): the others
# may not set `password` (403 mutability).
our %TOKENS = (
    'demo-okta'     => [qw(demo okta write yes)],
    'demo-entra'    => [qw(demo entra write)],
    'demo-clever'   => [qw(demo clever write)],
    'demo-readonly' => [qw(demo okta read)],
    'other-okta'    => [qw(other okta write)],
    'state-okta'    => [qw(statewide okta write)],
    'state-clever'  => [qw(statewide clever write)],
);

sub build_dir { $ENV{RB_BUILD} // 'build' }

sub start {
    my ($class, $dir, %opt) = @_;
    my $self = bless { dir => $dir }, $class;
    my $tmp = tempdir(CLEANUP => 1);
    my $port = RBTest::free_port();
    my $bin = build_dir() . '/rosterbridge';
    die "no $bin: run make first\n" unless -x $bin;
    open my $pw, '>', "$tmp/service.secret" or die $!;
    print $pw $dir->{service_pw}, "\n";
    close $pw;
    my $conf = "$tmp/test.conf";
    open my $c, '>', $conf or die $!;
    print $c "listen 127.0.0.1:$port\n";
    print $c "workers " . ($opt{workers} // 2) . "\n";
    print $c "ldap_uri " . ($opt{ldap_uri} // $dir->{uri}) . "\nldap_suffix $dir->{suffix}\n";
    print $c "ldap_starttls yes\n" if $opt{ldap_starttls};
    print $c "ldap_tls_ca_file $opt{ldap_tls_ca_file}\n" if $opt{ldap_tls_ca_file};
    print $c "tls_cert_file $opt{tls_cert_file}\ntls_key_file $opt{tls_key_file}\n" if $opt{tls_cert_file};
    print $c "ldap_bind_dn $dir->{service_dn}\nldap_bind_password_file $tmp/service.secret\n";
    print $c "ldap_timeout_ms " . ($opt{ldap_timeout_ms} // 3000) . "\n";
    print $c "max_results $opt{max_results}\n" if $opt{max_results};
    print $c "repair_interval_s $opt{repair_interval_s}\n" if $opt{repair_interval_s};
    # The mass-deprovision guard (default 50% per source and day) is off in
    # test bridges unless asked for: tests of other behaviours remove most of
    # the few people a source holds. guard_share_percent => undef: the
    # daemon's default (96-guard.t).
    print $c "guard_share_percent " . ($opt{guard_share_percent} // 0) . "\n"
        unless exists $opt{guard_share_percent} && !defined $opt{guard_share_percent};
    print $c "max_body_bytes $opt{max_body_bytes}\n" if $opt{max_body_bytes};
    print $c "log_level info\n";
    print $c $opt{extra_conf} if defined $opt{extra_conf};
    print $c "tenant $_\n" for qw(demo other statewide);
    for my $name (sort keys %TOKENS) {
        my ($tenant, $source, $rights, $pw) = @{ $TOKENS{$name} };
        my $hash = `$bin -H $name`;
        chomp $hash;
        print $c "token $hash tenant=$tenant source=$source rights=$rights"
            . ($pw ? " passwords=$pw" : '') . "\n";
    }
    close $c;
    $self->{log} = "$tmp/bridge.log";
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', $self->{log};
        open STDERR, '>>', $self->{log};
        exec $bin, '-f', $conf or die "exec: $!";
    }
    $self->{pid}  = $pid;
    $self->{port} = $port;
    $self->{conf} = $conf;
    $self->{base} = ($opt{tls_cert_file} ? 'https' : 'http') . "://127.0.0.1:$port";
    $self->{tls_ca_file} = $opt{tls_ca_file};
    $self->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
    push @BRIDGES, $self;
    for (1 .. 200) {
        my $r = $self->_request(GET => "$self->{base}/healthz", {});
        return $self if $r->{status} == 200;
        die "rosterbridge exited:\n" . $self->log_text if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    die "rosterbridge did not start:\n" . $self->log_text;
}

sub log_text {
    my ($self) = @_;
    open my $f, '<', $self->{log} or return '';
    local $/;
    return <$f>;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    for (1 .. 200) {
        if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
            $self->{exit} = $?;
            delete $self->{pid};
            return;
        }
        sleep 0.05;
    }
    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
    $self->{exit} = $?;
    delete $self->{pid};
}

# kill9() — SIGKILL the daemon (a crash on purpose): its exit is not a test failure.
sub kill9 {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
    $self->{exit} = 0;
}

# attach(BASE) — a client of a bridge someone else started (BASE like
# http://127.0.0.1:PORT): req() only; it stops nothing (bench/replication).
sub attach {
    my ($class, $base) = @_;
    return bless { base => $base, http => HTTP::Tiny->new(timeout => 30, keep_alive => 1) }, $class;
}

# req(METHOD => '/Users…', token => NAME|undef, json => {…}|body => '…', headers => {…})
# Paths without a leading /scim/v2, /operator or /healthz-style root get /scim/v2 prepended.
sub req {
    my ($self, $method, $path, %a) = @_;
    my %h = %{ $a{headers} // {} };
    $h{Authorization} = "Bearer $a{token}" if defined $a{token};
    $h{Authorization} = $a{auth} if defined $a{auth};
    my $url = $path =~ m{^/(scim|healthz|readyz|metrics|operator)} ? "$self->{base}$path"
                                                           : "$self->{base}/scim/v2$path";
    my %o = (headers => \%h);
    if (exists $a{json}) {
        $o{content} = JSON::PP->new->canonical->encode($a{json});
        $h{'Content-Type'} //= 'application/scim+json';
    } elsif (exists $a{body}) {
        $o{content} = $a{body};
        $h{'Content-Type'} //= 'application/scim+json';
    }
    my $r = $self->_request($method, $url, \%o);
    my $json;
    if (length($r->{content} // '') && ($r->{headers}{'content-type'} // '') =~ /json/) {
        $json = eval { JSON::PP->new->decode($r->{content}) };
    }
    return { status => $r->{status}, json => $json, headers => $r->{headers},
             content => $r->{content} };
}

# One request: HTTP::Tiny for http://, curl for https:// (trusting
# tls_ca_file only). Returns HTTP::Tiny's shape: status (599 when no HTTP
# answer came, content then says why), headers (lower-case names), content.
sub _request {
    my ($self, $method, $url, $o) = @_;
    return $self->{http}->request($method, $url, $o) unless $url =~ /^https:/;
    return curl_request($method, $url, %$o, ca_file => $self->{tls_ca_file});
}

# curl_request(METHOD, URL, headers => {…}, content => '…', ca_file => FILE)
# — as _request, for any URL (a test may call it for a URL of its own).
sub curl_request {
    my ($method, $url, %o) = @_;
    my (undef, $hfile) = tempfile(UNLINK => 1);
    my (undef, $bfile) = tempfile(UNLINK => 1);
    my (undef, $efile) = tempfile(UNLINK => 1);
    my @cmd = ('curl', '-sS', '--max-time', '30', '-X', $method, '-D', $hfile, '-o', $bfile,
               '-w', '%{http_code}', '-H', 'Expect:');
    push @cmd, '--cacert', $o{ca_file} if $o{ca_file};
    my $h = $o{headers} // {};
    push @cmd, '-H', "$_: $h->{$_}" for sort keys %$h;
    my $in;
    if (defined $o{content}) {
        (my $ifh, $in) = tempfile(UNLINK => 1);
        print $ifh $o{content};
        close $ifh;
        push @cmd, '--data-binary', "\@$in";
    }
    push @cmd, $url;
    my $pid = open(my $out, '-|') // die "fork: $!\n";
    if ($pid == 0) {
        open STDERR, '>', $efile or POSIX::_exit(127);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    my $code = do { local $/; <$out> } // '';
    close $out;
    my $rc = $? >> 8;
    my $slurp = sub { open my $f, '<', $_[0] or return ''; local $/; my $t = <$f>; $t // '' };
    if ($rc != 0 || $code !~ /^[1-5]\d\d$/) {
        return { status => 599, headers => {}, content => "curl exit $rc: " . $slurp->($efile),
                 curl_exit => $rc };
    }
    my %headers;
    my @blocks = split /\r?\n\r?\n/, $slurp->($hfile);
    for my $line (split /\r?\n/, $blocks[-1] // '') {
        next unless $line =~ /^([^:\s]+):\s*(.*)$/;
        my $k = lc $1;
        $headers{$k} = exists $headers{$k} ? "$headers{$k}, $2" : $2;
    }
    return { status => 0 + $code, headers => \%headers, content => $slurp->($bfile) };
}

# Sends DELETE /Users/{id} for every id of @$ids from $kids processes at
# once (kid k takes ids k, k + $kids, … through bridge k modulo the number
# of @$bridges) with $token; each kid leaves its tally in a file under
# $dir. Returns { status => how many } over them all.
sub parallel_deletes {
    my ($bridges, $token, $ids, $kids, $dir) = @_;
    my @pids;
    for my $k (0 .. $kids - 1) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my $br = $bridges->[$k % @$bridges];
            my %c;
            for my $i (grep { $_ % $kids == $k } 0 .. $#$ids) {
                $c{ $br->req(DELETE => "/Users/$ids->[$i]", token => $token)->{status} }++;
            }
            open my $f, '>', "$dir/deletes-kid-$k" or POSIX::_exit(1);
            print $f join(' ', map { "$_=$c{$_}" } sort keys %c), "\n";
            close $f;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    my %tot;
    for my $k (0 .. $kids - 1) {
        open my $f, '<', "$dir/deletes-kid-$k" or die "kid $k left no tally: $!";
        my $line = <$f> // '';
        $tot{$1} += $2 while $line =~ /(\d+)=(\d+)/g;
    }
    return \%tot;
}

1;
