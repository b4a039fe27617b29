#!/usr/bin/env perl
# 82-install.t — `make install DESTDIR=…` lays out the daemon, rosterctl,
# the man pages, the systemd unit (verified by systemd-analyze), the
# sysusers.d entry and /etc/rosterbridge; the installed binaries run;
# `make uninstall` removes it all (keeping an edited configuration).
use strict;
use warnings;
use Test::More;
use File::Find;
use File::Temp qw(tempdir);
use RBTest;

my $src = RBTest::srcdir();
my $build = $ENV{RB_BUILD} // 'build';
my $dest = tempdir(CLEANUP => 1);
my @san = $build =~ m{/san$} ? ('SANITIZE=1') : ();

# Our own make, not the jobserver of a `make check` around us.
my %env = (MAKEFLAGS => '', MFLAGS => '', MAKELEVEL => '');
sub mk {
    my (@args) = @_;
    return RBTest::_run(['make', '-s', '-C', $src, "BUILD=$build", @san, @args], env => \%env);
}

my ($rc, $out, $err) = mk('install', "DESTDIR=$dest", 'PREFIX=/usr/local');
is($rc, 0, 'make install DESTDIR=… exits 0') or diag "$out$err";

my %want = (
    'usr/local/sbin/rosterbridge'                    => 0755,
    'usr/local/bin/rosterctl'                        => 0755,
    'usr/local/share/man/man8/rosterbridge.8'        => 0644,
    'usr/local/share/man/man5/rosterbridge.conf.5'   => 0644,
    'usr/local/share/man/man1/rosterctl.1'           => 0644,
    'usr/local/lib/systemd/system/rosterbridge.service' => 0644,
    'usr/local/lib/sysusers.d/rosterbridge.conf'     => 0644,
    'usr/local/share/rosterbridge/schema/rosterbridge.schema' => 0644,
    'usr/local/share/rosterbridge/schema/rosterbridge.ldif'   => 0644,
    'usr/local/share/rosterbridge/conf/rosterbridge.conf.example' => 0644,
    'etc/rosterbridge/rosterbridge.conf.example'     => 0644,
    'usr/local/share/rosterbridge/conf/directory/tenant.ldif' => 0644,
    'usr/local/share/rosterbridge/conf/directory/30-database.ldif' => 0644,
    'usr/local/share/rosterbridge/conf/directory/upgrade/0002-argon2.ldif' => 0644,
    'usr/local/share/rosterbridge/scripts/directory-kit' => 0755,
    'etc/rosterbridge/rosterbridge.conf'             => 0640,
);
for my $f (sort keys %want) {
    my @st = stat "$dest/$f";
    ok(@st, "installed $f") or next;
    is(sprintf('%04o', $st[2] & 07777), sprintf('%04o', $want{$f}), "... mode " . sprintf('%04o', $want{$f}));
}
is(sprintf('%04o', (stat "$dest/etc/rosterbridge")[2] & 07777), '0750', '/etc/rosterbridge is 0750');

# The installed programs run.
($rc, $out) = RBTest::_run(["$dest/usr/local/sbin/rosterbridge", '--version']);
like($out, qr/^rosterbridge \d+\.\d+\.\d+/, 'rosterbridge --version');
($rc, $out) = RBTest::_run(["$dest/usr/local/bin/rosterctl", '--version']);
like($out, qr/^rosterctl \d+\.\d+\.\d+/, 'rosterctl --version');

# The installed directory kit finds its LDIF.
($rc, $out, $err) = RBTest::_run(["$dest/usr/local/share/rosterbridge/scripts/directory-kit", '--tenant',
                                  'north', 'dc=district,dc=example']);
is($rc, 0, 'the installed directory-kit runs') or diag $err;
like($out, qr/^olcAccess: \{4\}to dn\.subtree="o=north,dc=district,dc=example"/m, '... and fills in its tenant rule');

# The man pages render without a warning.
for my $m (qw(man8/rosterbridge.8 man5/rosterbridge.conf.5 man1/rosterctl.1)) {
    ($rc, $out, $err) = RBTest::_run(['groff', '-t', '-man', '-Tutf8', '-P-cbou', '-ww', "$dest/usr/local/share/man/$m"]);
    is($rc, 0, "$m renders");
    is($err, '', "... without a warning");
    like($out, qr/NAME/, '... with a NAME section');
}

# The unit: paths filled in, Type=notify, the dedicated user, hardening.
open my $u, '<', "$dest/usr/local/lib/systemd/system/rosterbridge.service" or die;
my $unit = do { local $/; <$u> };
close $u;
unlike($unit, qr/@[A-Z]+@/, 'the unit has no placeholder left');
like($unit, qr{^ExecStart=/usr/local/sbin/rosterbridge -f /etc/rosterbridge/rosterbridge\.conf$}m, 'ExecStart');
like($unit, qr/^Type=notify$/m, 'Type=notify');
like($unit, qr/^User=rosterbridge$/m, 'a dedicated user');
like($unit, qr/^ExecReload=.*-HUP/m, 'reload is SIGHUP');
like($unit, qr/^$_/m, "hardening: $_") for qw(NoNewPrivileges=yes ProtectSystem=strict
    PrivateTmp=yes CapabilityBoundingSet= RestrictAddressFamilies= SystemCallFilter=);
open my $su, '<', "$dest/usr/local/lib/sysusers.d/rosterbridge.conf" or die;
like(do { local $/; <$su> }, qr/^u rosterbridge /m, 'sysusers.d creates the user rosterbridge');

# systemd-analyze verify, on a copy whose binaries point into DESTDIR.
my ($sa) = grep { -x } map { "$_/systemd-analyze" } split /:/, $ENV{PATH};
SKIP: {
    skip 'systemd-analyze is not installed (scripts/install-deps installs systemd)', 2 unless $sa;
    my $vdir = tempdir(CLEANUP => 1);
    (my $copy = $unit) =~ s{/usr/local/sbin/}{$dest/usr/local/sbin/}g;
    $copy =~ s{/etc/rosterbridge/}{$dest/etc/rosterbridge/}g;
    open my $c, '>', "$vdir/rosterbridge.service" or die;
    print $c $copy;
    close $c;
    ($rc, $out, $err) = RBTest::_run([$sa, 'verify', "$vdir/rosterbridge.service"],
                                     env => { SYSTEMD_LOG_LEVEL => 'notice', MANPATH => "$dest/usr/local/share/man" });
    is($rc, 0, 'systemd-analyze verify passes') or diag "$out$err";
    unlike($err, qr/rosterbridge\.service:\d+/, '... with no complaint about a line of the unit')
        or diag $err;
}

# A second install keeps an edited configuration.
open my $cf, '>>', "$dest/etc/rosterbridge/rosterbridge.conf" or die;
print $cf "# edited by the operator\n";
close $cf;
($rc, $out, $err) = mk('install', "DESTDIR=$dest", 'PREFIX=/usr/local');
like("$out$err", qr/rosterbridge\.conf exists: kept/, 'reinstall keeps the configuration');

# Uninstall: everything goes but the edited configuration.
($rc, $out, $err) = mk('uninstall', "DESTDIR=$dest", 'PREFIX=/usr/local');
is($rc, 0, 'make uninstall exits 0') or diag "$out$err";
like("$out$err", qr/differs from the example: kept/, '... says it keeps the edited configuration');
my @left;
find(sub { push @left, $File::Find::name =~ s{^\Q$dest\E/}{}r if -f }, $dest);
is_deeply(\@left, ['etc/rosterbridge/rosterbridge.conf'], 'only the edited configuration is left')
    or diag explain \@left;
unlink "$dest/etc/rosterbridge/rosterbridge.conf";
($rc) = mk('install', "DESTDIR=$dest", 'PREFIX=/usr/local');
($rc) = mk('uninstall', "DESTDIR=$dest", 'PREFIX=/usr/local');
@left = ();
find(sub { push @left, $File::Find::name if -f }, $dest);
is(scalar @left, 0, 'install + uninstall with an unedited configuration leaves no file');

done_testing();
