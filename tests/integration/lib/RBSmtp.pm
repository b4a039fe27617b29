package RBSmtp;
# RBSmtp — a real SMTP listener on loopback for the tests (core Perl only):
# a forked child speaks enough RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET,
# NOOP, QUIT) to take messages from libcurl, and writes each one it accepts
# to a file (envelope first). It can be stopped and started again on the
# same port (an SMTP outage).
#
#   my $smtp = RBSmtp->start;                 # ->{port}
#   my @m = $smtp->messages;                  # [{from, to, data, subject, text, html, headers}]
#   my $m = $smtp->wait_for(sub { $_[0]{to} eq 'a@b' }, 60);   # polls; undef on timeout
#   $smtp->stop; $smtp->restart;
#   RBSmtp->start(tls => { mode => 'starttls'|'tls'|'plain', cert => F, key => F,
#                          auth => 'user:password' })   # lib/smtp_tls_sink.py (Python's
#                          # standard library): STARTTLS, implicit TLS, AUTH; messages
#                          # then carry {tls} (the TLS version or "no") and {auth}.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);
use RBTest ();

my @SINKS;
my $OWNER = $$;
END { if ($$ == $OWNER) { $_->stop for @SINKS; } }

sub start {
    my ($class, %o) = @_;
    my $self = bless { port => $o{port} // RBTest::free_port(), dir => tempdir(CLEANUP => 1),
                       seq => 0, tls => $o{tls} }, $class;
    push @SINKS, $self;
    $self->restart;
    return $self;
}

sub restart {
    my ($self) = @_;
    return if $self->{pid};
    return $self->_restart_tls if $self->{tls};
    my $srv;
    for (1 .. 50) {
        $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $self->{port},
                                     Proto => 'tcp', Listen => 16, ReuseAddr => 1) and last;
        sleep 0.1;
    }
    die "RBSmtp: cannot listen on $self->{port}: $!\n" unless $srv;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        my $n = 0;
        while (my $c = $srv->accept) {
            _session($c, $self->{dir}, $$ . '-' . $n++);
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
    $self->{pid} = $pid;
}

sub _restart_tls {
    my ($self) = @_;
    my $t = $self->{tls};
    (my $lib = __FILE__) =~ s{[^/]+$}{};
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        exec '/usr/bin/python3', "${lib}smtp_tls_sink.py", $self->{port}, $self->{dir},
             $t->{mode}, $t->{cert}, $t->{key}, ($t->{auth} ? ($t->{auth}) : ())
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    for (1 .. 200) {    # until it listens
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp');
        if ($s) { print $s "QUIT\r\n" if $t->{mode} ne 'tls'; close $s; return; }
        die "smtp_tls_sink.py exited\n" if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    die "smtp_tls_sink.py did not listen on $self->{port}\n";
}

sub _session {
    my ($c, $dir, $tag) = @_;
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 60;
    my $put = sub { print $c "$_[0]\r\n" };
    my ($from, @to, $k);
    eval {
        $put->('220 rbsmtp.test ESMTP test sink');
        while (defined(my $line = <$c>)) {
            $line =~ s/\r?\n$//;
            if ($line =~ /^(EHLO|HELO)\b/i) {
                $put->('250-rbsmtp.test'); $put->('250-8BITMIME'); $put->('250 SIZE 10485760');
            } elsif ($line =~ /^MAIL FROM:\s*<([^>]*)>/i) { $from = $1; @to = (); $put->('250 OK');
            } elsif ($line =~ /^RCPT TO:\s*<([^>]*)>/i) { push @to, $1; $put->('250 OK');
            } elsif ($line =~ /^DATA$/i) {
                $put->('354 go ahead');
                my $data = '';
                while (defined(my $l = <$c>)) {
                    last if $l =~ /^\.\r?\n$/;
                    $l =~ s/^\.\././;
                    $data .= $l;
                }
                my $file = sprintf '%s/%s-%03d', $dir, $tag, $k++;
                open my $f, '>', "$file.tmp" or die;
                print $f "X-Envelope-From: $from\nX-Envelope-To: ", join(',', @to), "\n$data";
                close $f;
                rename "$file.tmp", "$file.eml";
                $put->('250 OK: queued');
            } elsif ($line =~ /^(RSET|NOOP)/i) { $put->('250 OK');
            } elsif ($line =~ /^QUIT/i) { $put->('221 bye'); last;
            } else { $put->('502 not implemented'); }
        }
    };
    alarm 0;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

# parse($raw) — envelope, headers, and the decoded text and html parts.
sub parse {
    my ($raw) = @_;
    my %m;
    $raw =~ s/^X-Envelope-From: (.*)\n//; $m{from} = $1;
    $raw =~ s/^X-Envelope-To: (.*)\n//;   $m{to} = $1;
    $m{tls}  = $1 if $raw =~ s/^X-Sink-TLS: (.*)\n//;
    $m{auth} = $1 if $raw =~ s/^X-Sink-Auth: (.*)\n//;
    $m{data} = $raw;
    my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
    $head =~ s/\r?\n[ \t]+/ /g;
    for my $l (split /\r?\n/, $head) { $m{headers}{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*)$/; }
    my $subj = $m{headers}{subject} // '';
    $subj =~ s/=\?UTF-8\?B\?([^?]*)\?=/decode_base64($1)/gie;
    $m{subject} = $subj;
    my ($boundary) = ($m{headers}{'content-type'} // '') =~ /boundary="([^"]+)"/;
    if ($boundary) {
        for my $part (split /--\Q$boundary\E/, $body) {
            my ($ph, $pb) = split /\r?\n\r?\n/, $part, 2;
            next unless defined $pb && $ph =~ m{Content-Type:\s*text/(plain|html)}i;
            my $kind = lc $1 eq 'plain' ? 'text' : 'html';
            $pb = decode_base64($pb) if $ph =~ /Content-Transfer-Encoding:\s*base64/i;
            $m{$kind} = $pb;
        }
    }
    return \%m;
}

sub messages {
    my ($self) = @_;
    opendir my $d, $self->{dir} or return ();
    my @files = sort grep { /\.eml$/ } readdir $d;
    closedir $d;
    my @out;
    for my $f (@files) {
        open my $fh, '<', "$self->{dir}/$f" or next;
        local $/;
        my $m = parse(<$fh>);
        $m->{file} = $f;
        push @out, $m;
    }
    return @out;
}

# wait_for($match, $seconds) — the first message (not seen by an earlier
# wait_for) that $match accepts, polling; undef when none came in time.
sub wait_for {
    my ($self, $match, $seconds) = @_;
    my $until = time + ($seconds // 120);
    while (time < $until) {
        for my $m ($self->messages) {
            next if $self->{seen}{ $m->{file} };
            if ($match->($m)) { $self->{seen}{ $m->{file} } = 1; return $m; }
        }
        sleep 0.2;
    }
    return undef;
}

1;
