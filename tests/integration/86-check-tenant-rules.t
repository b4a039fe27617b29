#!/usr/bin/env perl
# 86-check-tenant-rules.t — `rosterbridge --check-directory --config-uri`
# checks each configured tenant's reader rule and limits (the directory
# kit's conf/directory/tenant.ldif): all there on the directory
# scripts/directory builds; one tenant's rule removed → named, with the kit
# command that puts it back, and its reader really reads nothing; the same
# for its limits; a rule put back after the catch-all `to *` rule (where it
# never applies) → named; the kit's tenant step applied again → all ok.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $b   = RBBridge->start($dir);
my $bin = RBBridge::build_dir() . '/rosterbridge';
my $src = RBTest::srcdir();
my $ldapi = $dir->{env}{LDAPI_URI};
ok($ldapi, 'the data dir has an ldapi socket') or BAIL_OUT('no ldapi');
my $S = $dir->{suffix};
my $db = 'olcDatabase={1}mdb,cn=config';

sub check {
    my ($rc, $out, $err) = RBTest::_run([$bin, '-f', $b->{conf}, '--check-directory',
                                         '--config-uri', $ldapi]);
    return ($rc, $out . $err);
}
sub config_modify {
    my ($ldif, $what) = @_;
    my ($rc, $out, $err) = RBTest::_run(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi],
                                        stdin => $ldif);
    is($rc, 0, $what) or diag "$out$err";
}
sub config_values {
    my ($attr) = @_;
    my (undef, $out) = RBTest::_run(['ldapsearch', '-Q', '-LLL', '-o', 'ldif-wrap=no', '-Y',
                                     'EXTERNAL', '-H', $ldapi, '-b', $db, '-s', 'base', $attr]);
    return grep { s/^\Q$attr\E: //i } split /\n/, $out;
}
# The other tenant's reader, reading its own tenant.
sub reader_reads {
    my ($e) = RBTest::ldapsearch($dir, base => "ou=schools,o=other,$S", scope => 'one',
                                 as => 'reader:other', attrs => ['cn']);
    return scalar @$e;
}

my ($rc, $out) = check();
is($rc, 0, 'the directory scripts/directory builds passes') or diag $out;
like($out, qr/^ok\s+access rule: tenant ${_}'s reader \(cn=reader,o=${_}\)$/m, "tenant $_: reader rule")
    for qw(demo other statewide);
like($out, qr/^ok\s+limits: tenant other's reader/m, 'tenant other: limits');
my $schools = reader_reads();
ok($schools > 0, "other's reader reads its schools ($schools)");

# ---- one tenant's rule removed ---------------------------------------------------------
my ($rule) = grep { /to dn\.subtree="o=other,\Q$S\E"/ } config_values('olcAccess');
ok($rule, "other's rule in cn=config: $rule");
my ($index) = $rule =~ /^(\{\d+\})/;
config_modify("dn: $db\nchangetype: modify\ndelete: olcAccess\nolcAccess: $index\n",
              "delete other's reader rule $index");
is(reader_reads(), 0, 'other\'s reader now reads nothing');
($rc, $out) = check();
is($rc, 1, 'check: exit 1');
like($out, qr/^MISSING\s+access rule: tenant other has no reader rule .*\n\s+fix: apply conf\/directory\/tenant\.ldif \(scripts\/directory-kit --tenant other \Q$S\E DATABASE_DN/m,
     'the missing rule named, with the kit command');
like($out, qr/^ok\s+access rule: tenant demo's reader/m, 'the other tenants stay ok');
unlike($out, qr/^MISSING\s+limits/m, 'the limits are still there');

# ---- put back after the catch-all: still useless ----------------------------------------
(my $body = $rule) =~ s/^\{\d+\}//;
config_modify("dn: $db\nchangetype: modify\nadd: olcAccess\nolcAccess: $body\n",
              'the rule added again at the end');
is(reader_reads(), 0, 'after `to *` it does not apply: the reader still reads nothing');
($rc, $out) = check();
like($out, qr/^MISSING\s+access rule: tenant other's reader rule comes after the catch-all rule "to \*"/m,
     'a rule after the catch-all is named');
my ($last) = grep { /to dn\.subtree="o=other,/ } config_values('olcAccess');
($index) = $last =~ /^(\{\d+\})/;
config_modify("dn: $db\nchangetype: modify\ndelete: olcAccess\nolcAccess: $index\n", 'and removed');

# ---- its limits removed ------------------------------------------------------------------
my ($limit) = grep { /cn=reader,o=other,/ } config_values('olcLimits');
($index) = $limit =~ /^(\{\d+\})/;
config_modify("dn: $db\nchangetype: modify\ndelete: olcLimits\nolcLimits: $index\n",
              "delete other's limits $index");
($rc, $out) = check();
like($out, qr/^MISSING\s+limits: tenant other's reader has no olcLimits/m, 'the missing limits named');

# ---- the kit's tenant step puts both back -------------------------------------------------
my ($krc, $kit, $kerr) = RBTest::_run(["$src/scripts/directory-kit", '--tenant', 'other', $S, $db]);
is($krc, 0, 'directory-kit --tenant other') or diag $kerr;
config_modify($kit, 'applied with ldapmodify -Y EXTERNAL');
($rc, $out) = check();
is($rc, 0, 'check passes again') or diag $out;
is(reader_reads(), $schools, 'and other\'s reader reads its schools again');
done_testing();
