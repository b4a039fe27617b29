#!/usr/bin/env perl
# 88-backup-restore.t — docs/install.md's backup and restore, once, for
# real: a populated directory (people with grants from two sources and a
# password, a role group and its members, a school, a region) is backed up
# with slapcat of the configuration (-n0) and the data (-n1) while slapd
# runs; slapd is stopped, its configuration and data are deleted, and
# slapadd -n0 then -n1 restore them. The daemon, left running throughout,
# reconnects by itself and answers the same SCIM data: ids, meta.version
# (the ETags), created/lastModified, grants, members; an If-Match with an
# ETag read before the backup still applies; memberOf and a password bind
# still work over LDAP; the configuration (the kit's steps) is back.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $b   = RBBridge->start($dir);
my $D   = $dir->{data_dir};
my $S   = $dir->{suffix};
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $AG   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

# ---- populate -------------------------------------------------------------------------
my @users;
for my $n (1 .. 5) {
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => [$CORE, $ADM], userName => "restore$n\@lincoln.example",
        name => { givenName => "Re$n", familyName => 'Store' },
        emails => [{ value => "restore$n\@lincoln.example", type => 'work', primary => JSON::PP::true }],
        ($n == 1 ? (password => 'restore-pw-1') : ()),
        $ADM => { permission => $n % 2 ? 'manage' : 'view', scope => 'school',
                  schools => ['SIS-LIN-001'] } });
    is($r->{status}, 201, "user $n") or diag explain $r->{json};
    push @users, $r->{json}{id};
}
my $r = $b->req(PATCH => "/Users/$users[1]", token => 'demo-clever', json => {
    schemas => [$PATCH], Operations => [{ op => 'replace', path => "$ADM:permission", value => 'view' },
                                        { op => 'replace', path => "$ADM:scope", value => 'district' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'a second source (clever) grants user 2 too')
    or diag explain $r->{json};
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group', $AG], displayName => 'Restore Role',
    members => [map { { value => $_ } } @users[2 .. 4]],
    $AG => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'a role group with three members') or diag explain $r->{json};
my $group = $r->{json}{id};
$r = $b->req(POST => '/Schools', token => 'demo-okta', json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:School'], name => 'Restore Academy',
    externalId => 'SIS-RES-001' });
is($r->{status}, 201, 'a school') or diag explain $r->{json};
my $school = $r->{json}{id};
$r = $b->req(POST => '/Regions', token => 'state-okta', json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:Region'], name => 'restore-east' });
is($r->{status}, 201, 'a region') or diag explain $r->{json};
my $region = $r->{json}{id};

# What SCIM answers, and what LDAP holds, before.
sub snapshot {
    my %s;
    for my $u (@users) { $s{"Users/$u"} = $b->req(GET => "/Users/$u", token => 'demo-okta')->{json} }
    $s{"Groups/$group"} = $b->req(GET => "/Groups/$group", token => 'demo-entra')->{json};
    $s{"Schools/$school"} = $b->req(GET => "/Schools/$school", token => 'demo-okta')->{json};
    $s{"Regions/$region"} = $b->req(GET => "/Regions/$region", token => 'state-okta')->{json};
    $s{Users} = $b->req(GET => '/Users?count=1000&sortBy=userName', token => 'demo-okta')->{json};
    $s{Schools} = $b->req(GET => '/Schools', token => 'demo-okta')->{json};
    return \%s;
}
my $before = snapshot();
my $etag = $before->{"Users/$users[0]"}{meta}{version};
like($etag, qr/^W\/"/, "an ETag before: $etag");
my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", scope => 'one',
                             filter => '(uid=restore4@lincoln.example)', attrs => ['memberOf']);
is(scalar @{ $e->[0]{memberOf} // [] }, 1, 'memberOf before');

# ---- back up (slapd running), as docs/install.md says --------------------------------------
sub run_ok {
    my ($what, @cmd) = @_;
    my ($rc, $out, $err) = RBTest::_run([@cmd]);
    is($rc, 0, $what) or diag "@cmd\n$out$err";
}
run_ok('slapcat -n 0: the configuration', '/usr/sbin/slapcat', '-F', "$D/slapd.d", '-n', '0', '-l', "$D/backup-config.ldif");
run_ok('slapcat -n 1: the data', '/usr/sbin/slapcat', '-F', "$D/slapd.d", '-n', '1', '-l', "$D/backup-data.ldif");
my $ldif = do { local (@ARGV, $/) = "$D/backup-data.ldif"; <> };
like($ldif, qr/^entryUUID: \Q$users[0]\E$/mi, 'the data backup holds the entryUUIDs');
like($ldif, qr/^entryCSN: /m, '... and the entryCSNs');

# ---- lose everything ------------------------------------------------------------------------
RBTest::stop_directory($dir);
system('rm', '-rf', "$D/slapd.d", "$D/data") == 0 or die;
ok(!-e "$D/slapd.d" && !-e "$D/data", 'slapd stopped; its configuration and data deleted');
mkdir "$D/slapd.d" or die;
mkdir "$D/data" or die;

# ---- restore ------------------------------------------------------------------------------------
run_ok('slapadd -n 0 of the configuration', '/usr/sbin/slapadd', '-F', "$D/slapd.d", '-n', '0', '-l', "$D/backup-config.ldif");
run_ok('slapadd -n 1 of the data', '/usr/sbin/slapadd', '-q', '-F', "$D/slapd.d", '-n', '1', '-l', "$D/backup-data.ldif");
RBTest::start_directory_again($dir);
my $ready = 0;
for (1 .. 300) { last if ($ready = $b->req(GET => '/readyz')->{status} == 200); sleep 0.1; }
ok($ready, 'the daemon, left running, is ready again (it reconnected by itself)');

# ---- the same answers -------------------------------------------------------------------------------
my $after = snapshot();
for my $k (sort keys %$before) {
    is_deeply($after->{$k}, $before->{$k}, "GET /$k: the same resource (ids, ETags, times, grants, members)");
}
($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", scope => 'one',
                          filter => '(uid=restore4@lincoln.example)', attrs => ['memberOf']);
is(lc($e->[0]{memberOf}[0] // ''), lc("cn=Restore Role,ou=groups,o=demo,$S"), 'memberOf after');
my ($wrc) = RBTest::ldapwhoami($dir, dn => "uid=restore1\@lincoln.example,ou=people,o=demo,$S", pw => 'restore-pw-1');
is($wrc, 0, 'the password still binds');
my (undef, $cfg) = RBTest::_run(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $dir->{env}{LDAPI_URI},
                                 '-b', 'cn=config', '-s', 'base', 'olcObjectIdentifier']);
like($cfg, qr/rbKitStep0001/, 'the configuration is back (its kit step markers too)');
$r = $b->req(PATCH => "/Users/$users[0]", token => 'demo-okta', headers => { 'If-Match' => $etag },
             json => { schemas => [$PATCH], Operations => [{ op => 'replace', path => 'title', value => 'Restored' }] });
is($r->{status}, 200, 'If-Match with the ETag read before the backup applies') or diag explain $r->{json};
isnt($r->{headers}{etag}, $etag, '... and the write gets a new ETag');
$r = $b->req(PATCH => "/Users/$users[0]", token => 'demo-okta', headers => { 'If-Match' => $etag },
             json => { schemas => [$PATCH], Operations => [{ op => 'replace', path => 'title', value => 'Again' }] });
is($r->{status}, 412, '... and the old one is now refused (412)');
done_testing();
