package RBTest;
# RBTest — the directory side of the integration tests (core Perl only):
# a private slapd per test (scripts/directory on a free loopback port, in a
# temporary data dir that disappears at the end), and the real OpenLDAP
# command-line tools to look at it.
#
#   use RBTest;
#   my $dir = RBTest::start_directory();     # stopped and removed at END
#   my ($entries, $rc) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$dir->{suffix}",
#                                           filter => '(uid=alice)', attrs => ['*', 'memberOf']);
#   $entries->[0]{dn}, $entries->[0]{mail}[0], $entries->[0]{'mail;x-type-work'}[0]
#   my ($rc, $out) = RBTest::ldapadd($dir, $ldif);            # as the service account
#   my ($rc, $out) = RBTest::ldapmodify($dir, $ldif, as => 'admin');
#
# The directory hash: uri, port, suffix, data_dir, service_dn, service_pw,
# admin_dn, admin_pw, readers => { demo => { dn, pw }, ... }, env => { all of
# DATA_DIR/env }; with start_directory(tls => 1) also ca_file, tls_cert_file,
# tls_key_file (the directory's private CA and its certificate for
# 127.0.0.1), ldaps_port, ldaps_uri, and slapd_log (its path).
#
# Binding (every tool): as => 'service' (default) | 'admin' | 'anonymous' |
# 'reader:<tenant>', or dn => DN, pw => PASSWORD.  Passwords go to the tools
# in a 0600 file (-y), never on a command line.
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir tempfile);
use File::Spec;
use FindBin;
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64);
use POSIX ();

our @EXPORT_OK = qw(free_port start_directory stop_directory start_directory_again
                    ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami parse_ldif srcdir);

# Files the tests write (configurations, password files) are private: the
# daemon refuses a configuration or a secret file that others may read.
umask 077;

my @DIRS;          # directories started by this process, stopped at END
my $OWNER = $$;    # forked children must not stop them

END {
    my $status = $?;
    if ($$ == $OWNER) { stop_directory($_) for @DIRS; }
    $? = $status;
}
# Ctrl-C or a test harness timeout still stops slapd (through END).
$SIG{INT} = $SIG{TERM} = sub { exit 130 };

# Top of the source tree: $RB_SRCDIR (tests/run-all sets it), else two
# levels above this file.
sub srcdir {
    return $ENV{RB_SRCDIR} if $ENV{RB_SRCDIR};
    my $here = File::Spec->rel2abs(__FILE__);
    $here =~ s{/tests/integration/lib/RBTest\.pm$}{};
    return $here;
}

# A TCP port on 127.0.0.1 that was free a moment ago.
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "free_port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Run a command (list form, no shell). Returns (exit code, stdout, stderr).
sub _run {
    my ($cmd, %o) = @_;
    my ($efh, $efile) = tempfile(UNLINK => 1);
    my $in;
    if (defined $o{stdin}) {
        my ($ifh, $ifile) = tempfile(UNLINK => 1);
        print $ifh $o{stdin};
        close $ifh;
        $in = $ifile;
    }
    my $pid = open(my $out, '-|') // die "fork: $!\n";
    if ($pid == 0) {
        open STDERR, '>&', $efh or POSIX::_exit(127);
        if (defined $in) { open STDIN, '<', $in or POSIX::_exit(127); }
        else { open STDIN, '<', '/dev/null' or POSIX::_exit(127); }
        local %ENV = (%ENV, %{ $o{env} // {} });
        exec { $cmd->[0] } @$cmd or POSIX::_exit(127);
    }
    local $/;
    my $stdout = <$out> // '';
    close $out;
    my $rc = $? >> 8;
    seek $efh, 0, 0;
    my $stderr = <$efh> // '';
    close $efh;
    return ($rc, $stdout, $stderr);
}

sub _read_env {
    my ($file) = @_;
    my %env;
    open my $f, '<', $file or die "$file: $!\n";
    while (<$f>) {
        next unless /^([A-Z][A-Z0-9_]*)='(.*)'$/;
        $env{$1} = $2;
    }
    close $f;
    return \%env;
}

# start_directory(%opt) — a private slapd with the schema, overlays and the
# seed tenants. Options: port, suffix, dev (fixed dev passwords), noseed,
# tls (DIRECTORY_TLS=1: StartTLS on the port, and an ldaps:// port).
sub start_directory {
    my (%opt) = @_;
    my $base = $ENV{TMPDIR} // '/tmp';
    my $data = tempdir('rbdir-XXXXXX', DIR => $base, CLEANUP => 1);
    my $dir = { data_dir => $data, port => $opt{port} // free_port(),
                slapd_log => "$data/slapd.log" };
    $dir->{start_env} = {
        ($opt{suffix} ? (DIRECTORY_SUFFIX => $opt{suffix}) : ()),
        ($opt{dev}    ? (DIRECTORY_DEV => 1)                : ()),
        ($opt{noseed} ? (DIRECTORY_NOSEED => 1)             : ()),
        ($opt{tls}    ? (DIRECTORY_TLS => 1, DIRECTORY_LDAPS_PORT => free_port()) : ()),
    };
    push @DIRS, $dir;
    _directory_start($dir);
    my $env = _read_env("$data/env");
    $dir->{env}        = $env;
    $dir->{uri}        = $env->{LDAP_URI};
    $dir->{suffix}     = $env->{SUFFIX};
    $dir->{service_dn} = $env->{SERVICE_DN};
    $dir->{service_pw} = $env->{SERVICE_PW};
    $dir->{admin_dn}   = $env->{ADMIN_DN};
    $dir->{admin_pw}   = $env->{ADMIN_PW};
    if ($env->{TLS_CA_FILE}) {
        $dir->{ca_file}       = $env->{TLS_CA_FILE};
        $dir->{tls_cert_file} = $env->{TLS_CERT_FILE};
        $dir->{tls_key_file}  = $env->{TLS_KEY_FILE};
        $dir->{ldaps_port}    = $env->{LDAPS_PORT};
        $dir->{ldaps_uri}     = $env->{LDAPS_URI};
    }
    for my $t (split ' ', $env->{TENANTS} // '') {
        (my $up = uc $t) =~ tr/-/_/;
        $dir->{readers}{$t} = { dn => $env->{"READER_${up}_DN"}, pw => $env->{"READER_${up}_PW"} };
    }
    return $dir;
}

sub _directory_start {
    my ($dir) = @_;
    my ($rc, $out, $err) = _run([srcdir() . '/scripts/directory', 'start', $dir->{data_dir}, $dir->{port}],
                                env => $dir->{start_env});
    die "scripts/directory start failed ($rc):\n$out$err\n" if $rc;
    $dir->{running} = 1;
}

# stop_directory($dir) — stop slapd (the data stays until the end of the test).
sub stop_directory {
    my ($dir) = @_;
    return unless $dir->{running};
    _run([srcdir() . '/scripts/directory', 'stop', $dir->{data_dir}]);
    $dir->{running} = 0;
}

# start_directory_again($dir) — restart a stopped directory, same port and data.
sub start_directory_again {
    my ($dir) = @_;
    _directory_start($dir);
}

# Bind arguments for the tools; a password file in the data dir (0600).
my $pwseq = 0;
sub _bind_args {
    my ($dir, %a) = @_;
    my ($dn, $pw);
    my $as = $a{as} // 'service';
    if (defined $a{dn}) { ($dn, $pw) = ($a{dn}, $a{pw} // ''); }
    elsif ($as eq 'anonymous') { return ('-x'); }
    elsif ($as eq 'service') { ($dn, $pw) = @$dir{qw(service_dn service_pw)}; }
    elsif ($as eq 'admin')   { ($dn, $pw) = @$dir{qw(admin_dn admin_pw)}; }
    elsif ($as =~ /^reader:(.+)$/) {
        my $r = $dir->{readers}{$1} or die "no reader for tenant $1\n";
        ($dn, $pw) = @$r{qw(dn pw)};
    } else { die "bind as '$as'?\n"; }
    my $file = "$dir->{data_dir}/.pw." . $$ . '.' . $pwseq++;
    my $old = umask 077;
    open my $f, '>', $file or die "$file: $!\n";
    umask $old;
    print $f $pw;
    close $f;
    push @{ $dir->{pwfiles} }, $file;
    return ('-x', '-D', $dn, '-y', $file);
}

sub _cleanup_pw { my ($dir) = @_; unlink @{ delete $dir->{pwfiles} // [] }; }

# ldapsearch($dir, base => DN, scope => base|one|sub, filter => F,
#            attrs => [...], controls => ['sss=uid', 'vlv=0/2/1/0'], bind...)
# Returns (\@entries, $exit_code, $stderr, $raw_stdout); each entry { dn => DN,
# '<attribute description as returned>' => [values] }.
sub ldapsearch {
    my $dir = ref $_[0] ? shift : $DIRS[-1];
    my (%a) = @_;
    my @cmd = ('ldapsearch', _bind_args($dir, %a), '-H', $dir->{uri}, '-LLL', '-o', 'ldif-wrap=no',
               '-o', 'nettimeout=10', '-b', $a{base} // $dir->{suffix}, '-s', $a{scope} // 'sub');
    push @cmd, map { ('-E', $_) } @{ $a{controls} // [] };
    push @cmd, $a{filter} // '(objectClass=*)';
    push @cmd, @{ $a{attrs} // [] };
    my ($rc, $out, $err) = _run(\@cmd);
    _cleanup_pw($dir);
    return (parse_ldif($out), $rc, $err, $out);
}

sub _modify {
    my ($tool, $dir, $ldif, %a) = @_;
    my @cmd = ($tool, _bind_args($dir, %a), '-H', $dir->{uri}, '-o', 'nettimeout=10');
    push @cmd, '-c' if $a{continue};
    my ($rc, $out, $err) = _run(\@cmd, stdin => $ldif);
    _cleanup_pw($dir);
    return wantarray ? ($rc, $out . $err) : $rc;
}

# ldapadd/ldapmodify($dir, $ldif, bind...) → ($exit_code, $output)
sub ldapadd    { my $dir = shift; return _modify('ldapadd', $dir, @_); }
sub ldapmodify { my $dir = shift; return _modify('ldapmodify', $dir, @_); }

# ldapdelete($dir, $dn, bind...) → ($exit_code, $output)
sub ldapdelete {
    my ($dir, $dn, %a) = @_;
    my ($rc, $out, $err) = _run(['ldapdelete', _bind_args($dir, %a), '-H', $dir->{uri}, $dn]);
    _cleanup_pw($dir);
    return wantarray ? ($rc, $out . $err) : $rc;
}

# ldapwhoami($dir, dn => DN, pw => PW) → ($exit_code, $authzid or error text)
# TLS: uri => $dir->{ldaps_uri}, or starttls => 1 (-ZZ: StartTLS or fail);
# the directory's CA is trusted unless ca_file => FILE says otherwise.
sub ldapwhoami {
    my ($dir, %a) = @_;
    my @tls = $a{starttls} ? ('-ZZ') : ();
    my $ca = $a{ca_file} // $dir->{ca_file};
    my ($rc, $out, $err) = _run(['ldapwhoami', _bind_args($dir, %a), @tls, '-H', $a{uri} // $dir->{uri}],
                                env => { $ca ? (LDAPTLS_CACERT => $ca) : () });
    _cleanup_pw($dir);
    chomp $out;
    return ($rc, $rc ? $err : $out);
}

# parse_ldif($text) → [ { dn => DN, attr => [values], ... }, ... ]
# (unwrapped LDIF as from -LLL -o ldif-wrap=no; base64 values decoded;
# continuation lines are joined anyway.)
sub parse_ldif {
    my ($text) = @_;
    $text =~ s/\n //g;
    my @entries;
    for my $block (split /\n{2,}/, $text) {
        my %e;
        for my $line (split /\n/, $block) {
            next if $line =~ /^#/ || $line eq '';
            my ($attr, $b64, $val) = $line =~ /^([^:]+):(:?) ?(.*)$/ or next;
            $val = decode_base64($val) if $b64;
            if ($attr eq 'dn') { $e{dn} = $val; next; }
            push @{ $e{$attr} }, $val;
        }
        push @entries, \%e if exists $e{dn};
    }
    return \@entries;
}

1;
