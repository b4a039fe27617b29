#!/usr/bin/env perl
# 92-check-directory.t — `rosterbridge --check-directory` against a live
# directory: all good on the directory scripts/directory builds (from the
# kit); then, with cn=config reachable (--config-uri, the data dir's ldapi
# socket, SASL EXTERNAL), each thing an operator could lack is named with
# the kit step that puts it right: an index, the bind-lock rule, the ppolicy
# overlay, anonymous read access; a tenant of the configuration that is not
# in the directory; the exit status says whether anything is missing.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $b   = RBBridge->start($dir);
my $bin = RBBridge::build_dir() . '/rosterbridge';
my $ldapi = $dir->{env}{LDAPI_URI};
ok($ldapi, 'the data dir has an ldapi socket') or BAIL_OUT('no ldapi');
my $S = $dir->{suffix};

sub check {
    my ($rc, $out, $err) = RBTest::_run([$bin, '-f', $b->{conf}, '--check-directory', @_]);
    return ($rc, $out . $err);
}
sub config_modify {    # as the owner of cn=config (SASL EXTERNAL over ldapi)
    my ($ldif) = @_;
    my ($rc, $out, $err) = RBTest::_run(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi], stdin => $ldif);
    is($rc, 0, 'ldapmodify of cn=config') or diag "$out$err";
}

my ($rc, $out) = check('--config-uri', $ldapi);
is($rc, 0, 'the directory scripts/directory builds passes every check') or diag $out;
like($out, qr/^ok\s+schema: every rosterbridge attribute type and object class$/m, 'schema checked');
like($out, qr/^ok\s+an anonymous client reads nothing$/m, 'anonymous access checked');
like($out, qr/^ok\s+the ppolicy overlay hashing cleartext passwords$/m, 'overlays checked');
like($out, qr/^ok\s+equality index on rbmanageall$/m, 'indexes checked');
like($out, qr/^ok\s+password policy for people \(lockout\): cn=administrators,ou=policies,/mi, 'the lockout policy checked');
like($out, qr/^ok\s+default password policy \(olcPPolicyDefault\): cn=administrators,ou=policies,.*, lockout$/mi,
     'the default policy of cn=config checked');
like($out, qr/^ok\s+password policy of the service account: cn=service-accounts,ou=policies,.*, no lockout$/m,
     'the service account has the no-lockout policy');
like($out, qr/^ok\s+password policy of the reader of tenant demo: cn=service-accounts,/m, '... and the reader of demo');
unlike($out, qr/^MISSING/m, 'nothing missing');
($rc, $out) = check();
is($rc, 0, 'without --config-uri: the checks over the service account pass');
like($out, qr/^skipped\s+cn=config checks/m, '... and it says what it skipped and how to run it');

# ---- break things an operator's own slapd might lack ---------------------------------
my (undef, $db) = RBTest::_run(['ldapsearch', '-Q', '-LLL', '-Y', 'EXTERNAL', '-H', $ldapi, '-b', 'cn=config',
    "(olcSuffix=$S)", 'dn']);
my ($dbdn) = $db =~ /^dn: (.*)$/m;
ok($dbdn, "the database of $S in cn=config: $dbdn");
config_modify("dn: $dbdn\nchangetype: modify\ndelete: olcDbIndex\nolcDbIndex: rbManageAll eq\n");
my (undef, $acl) = RBTest::_run(['ldapsearch', '-Q', '-LLL', '-o', 'ldif-wrap=no', '-Y', 'EXTERNAL', '-H', $ldapi,
    '-b', $dbdn, '-s', 'base', 'olcAccess']);
my ($lock) = $acl =~ /^olcAccess: (\{\d+\})to filter=\(rbBindLocked=TRUE\)/m;    # {1} since kit step 0007
ok($lock, "the bind-lock rule is $lock");
config_modify("dn: $dbdn\nchangetype: modify\ndelete: olcAccess\nolcAccess: $lock\n");
config_modify("dn: $dbdn\nchangetype: modify\nadd: olcAccess\nolcAccess: {0}to * by anonymous read by * break\n");
my (undef, $pp) = RBTest::_run(['ldapsearch', '-Q', '-LLL', '-Y', 'EXTERNAL', '-H', $ldapi, '-b', $dbdn,
    '(objectClass=olcPPolicyConfig)', 'dn']);
my ($ppdn) = $pp =~ /^dn: (.*)$/m;
config_modify("dn: $ppdn\nchangetype: modify\nreplace: olcPPolicyHashCleartext\nolcPPolicyHashCleartext: FALSE\n");
config_modify("dn: $ppdn\nchangetype: modify\ndelete: olcPPolicyDefault\n");
for my $acct ($dir->{service_dn}, $dir->{readers}{demo}{dn}) {    # as the directory's admin
    my ($mrc, $mout) = RBTest::ldapmodify($dir, "dn: $acct\nchangetype: modify\ndelete: pwdPolicySubentry\n", as => 'admin');
    is($mrc, 0, "pwdPolicySubentry removed from $acct") or diag $mout;
}

($rc, $out) = check('--config-uri', $ldapi);
isnt($rc, 0, 'a broken directory: non-zero exit');
like($out, qr/^MISSING\s+equality index on rbmanageall.*\n\s+fix: apply conf\/directory\/30-database\.ldif/m,
     'the missing index, with the kit step');
like($out, qr/^MISSING\s+access rule: no bind lock/m, 'the missing bind-lock rule');
like($out, qr/^MISSING\s+the ppolicy overlay hashing cleartext passwords.*\n\s+fix: apply conf\/directory\/40-overlays\.ldif/m,
     'ppolicy no longer hashing cleartext passwords');
like($out, qr/^MISSING\s+an anonymous client reads \d+ entries/m, 'anonymous read access');
like($out, qr/^MISSING\s+ppolicy on .* has no default policy \(olcPPolicyDefault\).*\n\s+fix: apply upgrade step 0003 \(scripts\/directory-kit --step 0003/m,
     'no default password policy');
like($out, qr/^MISSING\s+password policy: the service account \Q$dir->{service_dn}\E names no policy of its own.*lock it out\n\s+fix: .*directory-kit --policies/m,
     'the service account without its no-lockout policy');
like($out, qr/^MISSING\s+password policy: the reader of tenant demo \Q$dir->{readers}{demo}{dn}\E names no policy/m,
     '... and the reader');
($rc, $out) = check();
like($out, qr/^MISSING\s+password policy: the service account/m, '(that one is found without cn=config too)');

my $b2 = RBBridge->start($dir);
for (1 .. 100) { last if $b2->log_text =~ /directory check/; select(undef, undef, undef, 0.1) }    # after ready
like($b2->log_text, qr/warn.*directory check: MISSING\s+an anonymous client reads/, 'the daemon warns of it at start');
unlike($b->log_text, qr/directory check: MISSING/, '(the first daemon, started on the good directory, did not)');

# ---- a tenant of the configuration the directory does not have -------------------------
open my $c, '>>', $b->{conf} or die;
print $c "tenant nosuch\n";
close $c;
($rc, $out) = check();
like($out, qr/^MISSING\s+tenant nosuch: no ou=people,o=nosuch,\Q$S\E/m, 'a configured tenant missing from the directory');
done_testing();
