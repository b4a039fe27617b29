#!/usr/bin/env perl
# 52-membership.t — issue 16, item 2: membership recorded on the member.
# A member change writes `rbGroupRef: <group id>` on the member and the
# group's own (small) entry, never a `member` value set; slapd's dynlist
# shows district tools the group's `member` and the person's `memberOf`
# (the README's queries) and answers `(memberOf=…)` / `(member=…)`
# filters, nested groups included. A member PATCH gives the group a new version and
# honours If-Match; PUT writes the difference; deleting a group removes its
# references. A data dir of the static design (member values on the
# group, memberOf stored by the memberof overlay, a school without
# rbMembersURL) is migrated by the upgrade of scripts/directory.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";

# What is stored (ManageDsaIT: dynlist steps aside), as the service account.
sub stored {
    my ($d, $dn, @attrs) = @_;
    my @cmd = ('ldapsearch', '-x', '-D', $d->{service_dn}, '-w', $d->{service_pw}, '-H', $d->{uri},
               '-LLL', '-M', '-o', 'ldif-wrap=no', '-b', $dn, '-s', 'base', '(objectClass=*)', @attrs);
    my ($rc, $out) = RBTest::_run(\@cmd);
    return RBTest::parse_ldif($out)->[0] // {};
}
# What a district tool sees (the README's form), as the tenant's reader.
sub seen {
    my ($d, $base, $filter, @attrs) = @_;
    my ($e) = RBTest::ldapsearch($d, as => 'reader:demo', base => $base, filter => $filter, attrs => \@attrs);
    return $e;
}
sub lcs { return [ sort map { lc } @{ $_[0] // [] } ] }

my $b = RBBridge->start($dir);
my %id;
for my $u (qw(ann bob carl)) {
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
        userName => "$u\@members.example", name => { givenName => ucfirst $u, familyName => 'M' } });
    is($r->{status}, 201, "POST $u") or diag explain $r->{json};
    $id{$u} = $r->{json}{id};
}
my ($ANN, $BOB, $CARL) = map { "uid=$_\@members.example,$P" } qw(ann bob carl);

my $r = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => [$GROUP],
    displayName => 'Team', members => [{ value => $id{ann} }] });
is($r->{status}, 201, 'POST /Groups with Ann') or diag explain $r->{json};
my $team = $r->{json}{id};
my $TEAM = "cn=Team,ou=groups,o=demo,$S";
my $g = stored($dir, $TEAM, qw(member rbMembersURL));
ok(!$g->{member}, 'the group entry stores no member values');
like($g->{rbMembersURL}[0] // '', qr/^ldap:\/\/\/o=demo,.*\?\?sub\?\(rbGroupRef=\Q$team\E\)$/i, '... but the URL of its members');
is_deeply(lcs(stored($dir, $ANN, 'rbGroupRef')->{rbGroupRef}), [lc $team], "Ann's entry holds the membership");

is_deeply(lcs(seen($dir, "ou=groups,o=demo,$S", '(cn=Team)', 'member')->[0]{member}), [lc $ANN],
          "README: the group's member (dynlist, as the reader)");
is_deeply(lcs(seen($dir, $P, '(uid=ann@members.example)', 'memberOf')->[0]{memberOf}), [lc $TEAM],
          "README: the person's memberOf");

# A member PATCH: a new version of the group, If-Match honoured.
my $v1 = $b->req(GET => "/Groups/$team", token => 'demo-entra')->{json}{meta}{version};
$r = $b->req(PATCH => "/Groups/$team", token => 'demo-entra', headers => { 'If-Match' => $v1 },
    json => { schemas => [$PATCH], Operations => [{ op => 'add', path => 'members', value => [{ value => $id{bob} }] }] });
ok($r->{status} == 200 || $r->{status} == 204, 'PATCH add Bob, If-Match the current version') or diag explain $r;
my $v2 = $b->req(GET => "/Groups/$team", token => 'demo-entra')->{json}{meta}{version};
isnt($v2, $v1, 'the member change gave the group a new version');
$r = $b->req(PATCH => "/Groups/$team", token => 'demo-entra', headers => { 'If-Match' => $v1 },
    json => { schemas => [$PATCH], Operations => [{ op => 'add', path => 'members', value => [{ value => $id{carl} }] }] });
is($r->{status}, 412, 'a member PATCH with the stale version: 412');
ok(!stored($dir, $CARL, 'rbGroupRef')->{rbGroupRef}, '... and Carl was not added');
$r = $b->req(GET => "/Users/$id{bob}", token => 'demo-okta');
is_deeply([map { $_->{value} } @{ $r->{json}{groups} // [] }], [$team], "GET /Users: Bob's groups");
($r) = seen($dir, $P, "(memberOf=$TEAM)", '1.1');
is_deeply([sort map { lc $_->{dn} } @$r], lcs([$ANN, $BOB]), '(memberOf=group) on people');
($r) = seen($dir, "ou=groups,o=demo,$S", "(member=$BOB)", '1.1');
is_deeply([map { lc $_->{dn} } @$r], [lc $TEAM], '(member=person) on groups');

# Nested: a group as a member.
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => [$GROUP],
    displayName => 'Outer', members => [{ value => $team }] });
is($r->{status}, 201, 'POST /Groups Outer with Team as member') or diag explain $r->{json};
my $outer = $r->{json}{id};
is_deeply([map { "$_->{value} $_->{type}" } @{ $r->{json}{members} }], ["$team Group"], '... listed as a Group');
($r) = seen($dir, "ou=groups,o=demo,$S", "(member=$TEAM)", '1.1');
is_deeply([map { lc $_->{dn} } @$r], [lc "cn=Outer,ou=groups,o=demo,$S"], '(member=<Team>) finds Outer');
is_deeply(lcs(stored($dir, $TEAM, 'rbGroupRef')->{rbGroupRef}), [lc $outer], "Team's entry holds its membership");
# (dynlist 2.5 shows no memberOf on an entry that is itself a dynamic group: docs/schema.md)

# PUT writes the difference: Ann leaves, Bob stays, Carl comes.
$r = $b->req(PUT => "/Groups/$team", token => 'demo-entra', json => { schemas => [$GROUP], displayName => 'Team',
    members => [{ value => $id{bob} }, { value => $id{carl} }] });
is($r->{status}, 200, 'PUT Team [Bob, Carl]') or diag explain $r->{json};
is_deeply([sort map { $_->{value} } @{ $r->{json}{members} }], [sort $id{bob}, $id{carl}], '... its members');
ok(!stored($dir, $ANN, 'rbGroupRef')->{rbGroupRef}, "... Ann's reference removed");

# Renaming keeps the membership (the reference names the entryUUID).
$r = $b->req(PATCH => "/Groups/$team", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'displayName', value => 'Team Two' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'rename Team to Team Two');
is_deeply(lcs(seen($dir, $P, '(uid=bob@members.example)', 'memberOf')->[0]{memberOf}),
          [lc "cn=Team Two,ou=groups,o=demo,$S"], "Bob's memberOf follows the rename");

# Deleting a group removes its references.
is($b->req(DELETE => "/Groups/$team", token => 'demo-entra')->{status}, 204, 'DELETE Team Two');
ok(!stored($dir, $BOB, 'rbGroupRef')->{rbGroupRef}, "Bob's reference is gone");
is_deeply($b->req(GET => "/Groups/$outer", token => 'demo-entra')->{json}{members} // [], [],
          'Outer has no member left');
$b->stop;

# ---- the upgrade of a data dir made with static membership -------------------------------------
my $old = RBTest::start_directory();
my $OS = $old->{suffix};
RBTest::stop_directory($old);
my $SCHOOL_UUID = '0ld5c400-0000-4000-8000-000000000001';
$SCHOOL_UUID =~ tr/l/1/;
my $ldif = <<"LDIF";
dn: uid=old1,ou=people,o=demo,$OS
objectClass: inetOrgPerson
objectClass: rbPerson
uid: old1
cn: Old One
sn: One
memberOf: cn=Old Group,ou=groups,o=demo,$OS
rbManageSchool: $SCHOOL_UUID

dn: uid=old2,ou=people,o=demo,$OS
objectClass: inetOrgPerson
objectClass: rbPerson
uid: old2
cn: Old Two
sn: Two
memberOf: cn=Old Group,ou=groups,o=demo,$OS

dn: cn=Old Group,ou=groups,o=demo,$OS
objectClass: rbGroup
cn: Old Group
displayName: Old Group
rbSource: entra
member: uid=old1,ou=people,o=demo,$OS
member: UID=Old2, ou=people,o=demo,$OS
member: uid=gone,ou=people,o=demo,$OS

dn: cn=Old School,ou=schools,o=demo,$OS
objectClass: rbSchool
cn: Old School
entryUUID: $SCHOOL_UUID
rbManagersURL: ldap:///ou=people,o=demo,$OS??one?(|(rbManageSchool=$SCHOOL_UUID)(rbManageAll=TRUE))
LDIF
my $lf = "$old->{data_dir}/old.ldif";
open my $fh, '>', $lf or die "$lf: $!";
print $fh $ldif;
close $fh;
my ($rc, $out, $err) = RBTest::_run(['/usr/sbin/slapadd', '-q', '-F', "$old->{data_dir}/slapd.d", '-b', $OS, '-l', $lf]);
is($rc, 0, 'static-design entries loaded into a stopped data dir') or diag "$out$err";
unlink "$old->{data_dir}/config.fingerprint" or die;
($rc, $out, $err) = RBTest::_run([RBTest::srcdir() . '/scripts/directory', 'start', $old->{data_dir}, $old->{port}]);
is($rc, 0, 'the data dir starts (upgraded)') or diag "$out$err";
$old->{running} = 1;
like($err, qr/membership-migrate: \d+ groups, 2 member references written on members, 1 member values naming no entry dropped/,
     'the migration says what it did');
my $OG = "cn=Old Group,ou=groups,o=demo,$OS";
my $ogid = stored($old, $OG, 'entryUUID')->{entryUUID}[0];
$g = stored($old, $OG, qw(member rbMembersURL));
ok(!$g->{member}, 'the group lost its stored member values');
like($g->{rbMembersURL}[0] // '', qr/\(rbGroupRef=\Q$ogid\E\)$/i, '... and has its URL');
for my $u (qw(old1 old2)) {
    my $e = stored($old, "uid=$u,ou=people,o=demo,$OS", qw(rbGroupRef memberOf));
    is_deeply(lcs($e->{rbGroupRef}), [lc $ogid], "$u: the membership moved onto the person");
    ok(!$e->{memberOf}, "$u: no stored memberOf left");
}
is_deeply(lcs(seen($old, "ou=groups,o=demo,$OS", '(cn=Old Group)', 'member')->[0]{member}),
          lcs(["uid=old1,ou=people,o=demo,$OS", "uid=old2,ou=people,o=demo,$OS"]), "the group's member after the upgrade");
is(stored($old, "cn=Old School,ou=schools,o=demo,$OS", 'rbMembersURL')->{rbMembersURL}[0] // '',
   stored($old, "cn=Old School,ou=schools,o=demo,$OS", 'rbManagersURL')->{rbManagersURL}[0], "the school's URL copied");
($r) = seen($old, "ou=people,o=demo,$OS", "(rbManagesSchool=cn=Old School,ou=schools,o=demo,$OS)", '1.1');
is_deeply([map { lc $_->{dn} } @$r], [lc "uid=old1,ou=people,o=demo,$OS"], '(rbManagesSchool=<school>) still answers');
my $ob = RBBridge->start($old);
$r = $ob->req(GET => "/Groups/$ogid", token => 'demo-entra');
is(scalar @{ $r->{json}{members} // [] }, 2, 'the bridge lists the migrated members');
$ob->stop;

done_testing();
