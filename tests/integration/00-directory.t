#!/usr/bin/env perl
# 00-directory.t — the directory on its own (no bridge): schema files in
# step, the private slapd of scripts/directory with its seed tenants, ACLs,
# attribute options, memberof (incl. its referential integrity), password
# hashing and binds, the dynlist access lists, server-side sort + VLV.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use RBTest qw(start_directory ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami srcdir);

my $src = srcdir();
is(system("$src/scripts/schema2ldif", '--check'), 0, 'schema/rosterbridge.ldif is generated from the .schema');

my $dir = start_directory();
my $S = $dir->{suffix};
ok($dir->{uri} =~ m{^ldap://127\.0\.0\.1:\d+$}, "slapd on $dir->{uri}");

sub dns { return [ sort map { lc $_->{dn} } @{ $_[0] } ] }
sub vals { my ($e, $a) = @_; return [ sort map { lc } @{ ($e // {})->{$a} // [] } ] }
sub one {    # the single entry at a DN, as the service account unless told
    my ($dn, $attrs, %bind) = @_;
    my ($e) = ldapsearch($dir, base => $dn, scope => 'base', attrs => $attrs, %bind);
    return $e->[0];
}

# ---- idempotent start, status --------------------------------------------------
{
    my $out = `$src/scripts/directory start $dir->{data_dir} $dir->{port} 2>&1`;
    is($?, 0, 'start again: ok');
    like($out, qr/already running/, '... already running');
    is(system("$src/scripts/directory status $dir->{data_dir} >/dev/null"), 0, 'status: running');
    unlike(`cat $dir->{data_dir}/base.ldif`, qr/^userPassword: (?!\{SSHA\})/m, 'no cleartext password in the base LDIF');
}

# ---- service account: all tenants ---------------------------------------------
my ($schools, $rc) = ldapsearch($dir, filter => '(objectClass=rbSchool)', attrs => ['cn', 'rbExternalId', 'entryUUID']);
is($rc, 0, 'service account searches the suffix');
my %per;
$per{ ($_->{dn} =~ /,o=([^,]+),/)[0] }++ for @$schools;
is_deeply(\%per, { demo => 4, other => 2, statewide => 4 }, 'service sees the schools of all three tenants');
my ($lincoln) = grep { $_->{cn}[0] eq 'Lincoln Elementary' } @$schools;
is($lincoln->{rbExternalId}[0], 'SIS-LIN-001', 'Lincoln Elementary has its SIS id');
my $lincoln_uuid = $lincoln->{entryUUID}[0];
my ($t) = ldapsearch($dir, base => "o=statewide,$S", scope => 'base', attrs => ['rbTenantKind', 'displayName']);
is($t->[0]{rbTenantKind}[0], 'partnership', 'statewide is a partnership');
my ($regions) = ldapsearch($dir, base => "ou=regions,o=statewide,$S", scope => 'one', filter => '(objectClass=rbRegion)');
is_deeply([ sort map { $_->{cn}[0] } @$regions ], [qw(north south)], 'statewide has regions north and south');

# ---- anonymous -------------------------------------------------------------------
my ($anon) = ldapsearch($dir, as => 'anonymous');
is(scalar @$anon, 0, 'anonymous search of the suffix returns nothing');
($anon) = ldapsearch($dir, as => 'anonymous', base => "o=demo,$S", filter => '(objectClass=*)');
is(scalar @$anon, 0, 'anonymous sees no tenant');
($anon) = ldapsearch($dir, as => 'anonymous', base => $dir->{service_dn}, scope => 'base', attrs => ['userPassword']);
ok(!@$anon || !$anon->[0]{userPassword}, 'anonymous cannot read userPassword');
my ($dse) = ldapsearch($dir, as => 'anonymous', base => '', scope => 'base', attrs => ['namingContexts']);
is($dse->[0]{namingContexts}[0], $S, 'anonymous reads the root DSE');

# ---- tenant reader -----------------------------------------------------------------
my ($rd) = ldapsearch($dir, as => 'reader:demo', base => "o=demo,$S", filter => '(objectClass=rbSchool)');
is(scalar @$rd, 4, 'reader of demo sees the 4 demo schools');
($rd) = ldapsearch($dir, as => 'reader:demo', filter => '(objectClass=*)');
ok(!grep({ $_->{dn} !~ /o=demo,/ } @$rd), 'a search of the suffix by the reader shows nothing of other tenants');
($rd) = ldapsearch($dir, as => 'reader:demo', base => "o=other,$S");
is(scalar @$rd, 0, 'reader of demo sees nothing under o=other');
($rd) = ldapsearch($dir, as => 'reader:other', base => "ou=schools,o=other,$S", filter => '(objectClass=rbSchool)');
is(scalar @$rd, 2, 'reader of other sees its 2 schools');
my $rs = one($dir->{readers}{demo}{dn}, ['userPassword'], as => 'reader:other');
ok(!$rs, 'reader of other cannot see the demo reader');

# ---- people: add, attribute options ------------------------------------------------
my $P = "ou=people,o=demo,$S";
my ($ok, $out) = ldapadd($dir, <<"LDIF");
dn: uid=ada\@lincoln.example.org,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: ada\@lincoln.example.org
cn: Ada Lovelace
sn: Lovelace
givenName: Ada
mail;x-type-work;x-primary: ada\@lincoln.example.org
mail;x-type-home: ada\@home.example
telephoneNumber;x-type-mobile: +1 555 0100
rbSource: okta
rbSource: in-product
rbExternalId;x-src-okta: 00u123
rbPermission;x-src-okta: manage
rbPermission;x-src-in-product: view
rbScope;x-src-okta: school
rbScope;x-src-in-product: district
rbSchoolRef;x-src-okta: $lincoln_uuid
rbCanManageAdmins;x-src-okta: FALSE
rbActive;x-src-okta: TRUE
rbActive;x-src-in-product: TRUE
rbInviteStatus: active
rbInviteTokenHash: 0123456789abcdef
userPassword: ada-secret-1
LDIF
is($ok, 0, 'service account adds a person with rbPerson') or diag $out;
my $ADA = "uid=ada\@lincoln.example.org,$P";
my $ada = one($ADA, ['*']);
is_deeply($ada->{'rbPermission;x-src-okta'}, ['manage'], 'rbPermission;x-src-okta round-trips');
is_deeply($ada->{'rbPermission;x-src-in-product'}, ['view'], 'rbPermission;x-src-in-product round-trips (single-valued per option)');
is_deeply($ada->{'rbExternalId;x-src-okta'}, ['00u123'], 'rbExternalId;x-src-okta round-trips');
is_deeply($ada->{'rbSchoolRef;x-src-okta'}, [lc $lincoln_uuid], 'rbSchoolRef holds the school entryUUID');
my ($mailkey) = grep { /^mail;/i && /x-type-work/i } keys %$ada;
ok($mailkey && $mailkey =~ /;x-primary/i, "typed primary mail stored ($mailkey)");
ok(exists $ada->{'telephoneNumber;x-type-mobile'}, 'typed phone stored');
my ($found) = ldapsearch($dir, base => $P, filter => '(rbPermission=manage)', attrs => ['1.1']);
is_deeply(dns($found), [lc $ADA], '(rbPermission=manage) matches a value stored as rbPermission;x-src-okta');
($found) = ldapsearch($dir, base => $P, filter => '(rbPermission;x-src-in-product=manage)', attrs => ['1.1']);
is(scalar @$found, 0, '(rbPermission;x-src-in-product=manage) does not match the okta value');
($found) = ldapsearch($dir, base => $P, filter => "(rbSchoolRef=\U$lincoln_uuid\E)", attrs => ['rbPermission;x-src-okta']);
is(scalar @$found, 1, 'rbSchoolRef matches UUIDs case-insensitively');
is_deeply([ grep { $_ ne 'dn' } keys %{ $found->[0] } ], ['rbPermission;x-src-okta'], 'asking for one option returns only it');
($found) = ldapsearch($dir, base => $P, filter => '(mail=ada@lincoln.example.org)', attrs => ['mail']);
is(scalar @$found, 1, '(mail=...) matches a typed mail');
($ok, $out) = ldapmodify($dir, "dn: $ADA\nchangetype: modify\nadd: rbPermission;x-src-okta\nrbPermission;x-src-okta: view\n");
isnt($ok, 0, 'a second rbPermission value for the same source is refused');
($ok, $out) = ldapmodify($dir, "dn: $ADA\nchangetype: modify\nadd: rbPermission;x-bogus\nrbPermission;x-bogus: view\n");
isnt($ok, 0, 'an undeclared option is refused');

# ---- passwords, binds, self access ------------------------------------------------------
like($ada->{userPassword}[0], qr/^\{ARGON2\}/, "cleartext userPassword written by the service account is stored hashed with Argon2 (kit step 0002)");
my ($wrc, $who) = ldapwhoami($dir, dn => $ADA, pw => 'ada-secret-1');
is($wrc, 0, 'the person binds with the password');
is(lc $who, lc "dn:$ADA", 'ldapwhoami says who');
($wrc) = ldapwhoami($dir, dn => $ADA, pw => 'wrong');
isnt($wrc, 0, 'a wrong password does not bind');
my $self = one($ADA, ['*'], dn => $ADA, pw => 'ada-secret-1');
is($self->{uid}[0], 'ada@lincoln.example.org', 'the person reads its own entry');
ok(!$self->{rbInviteTokenHash}, '... but not its invite token hash');
my ($others) = ldapsearch($dir, base => "o=demo,$S", dn => $ADA, pw => 'ada-secret-1', filter => '(objectClass=rbSchool)');
is(scalar @$others, 0, 'the person reads no other entry');
($ok, $out) = ldapmodify($dir, "dn: $ADA\nchangetype: modify\nreplace: userPassword\nuserPassword: ada-secret-2\n",
                         dn => $ADA, pw => 'ada-secret-1');
is($ok, 0, 'the person changes its own password') or diag $out;
like(one($ADA, ['userPassword'])->{userPassword}[0], qr/^\{ARGON2\}/, '... stored hashed');
($wrc) = ldapwhoami($dir, dn => $ADA, pw => 'ada-secret-2');
is($wrc, 0, '... and binds with it');
my $rdr = one($ADA, ['*'], as => 'reader:demo');
ok($rdr && !$rdr->{userPassword} && !$rdr->{rbInviteTokenHash}, 'the tenant reader reads the person but no secrets');

# ---- groups: empty groups, memberOf, memberof refint ------------------------------------
my $G = "ou=groups,o=demo,$S";
my $GRP = "cn=Lincoln Admins,$G";
($ok, $out) = ldapadd($dir, "dn: $GRP\nobjectClass: rbGroup\ncn: Lincoln Admins\ndisplayName: Lincoln Admins\n"
                          . "rbSource: entra\nrbExternalId;x-src-entra: g-1\nrbPermission: manage\nrbScope: school\n"
                          . "rbSchoolRef: $lincoln_uuid\n");
is($ok, 0, 'an EMPTY rbGroup can be created') or diag $out;
($ok, $out) = ldapadd($dir, <<"LDIF");
dn: uid=bea,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: bea
cn: Bea
sn: B
LDIF
is($ok, 0, 'second person');
my $BEA = "uid=bea,$P";
($ok, $out) = ldapmodify($dir, "dn: $GRP\nchangetype: modify\nadd: member\nmember: $ADA\nmember: $BEA\n");
is($ok, 0, 'members added') or diag $out;
is_deeply(vals(one($ADA, ['memberOf']), 'memberOf'), [lc $GRP], 'memberof sets memberOf on the member');
($ok) = ldapmodify($dir, "dn: $GRP\nchangetype: modify\ndelete: member\nmember: $BEA\n");
is($ok, 0, 'member removed');
is_deeply(vals(one($BEA, ['memberOf']), 'memberOf'), [], 'memberOf removed with the membership');
($found) = ldapsearch($dir, base => $P, filter => "(memberOf=$GRP)", attrs => ['1.1']);
is_deeply(dns($found), [lc $ADA], '(memberOf=group) finds the members');
($ok) = ldapdelete($dir, $ADA);
is($ok, 0, 'person deleted');
is_deeply(vals(one($GRP, ['member']), 'member'), [], 'deleting a person removes it from its groups (memberof refint)');

# ---- dynlist: who manages / views which school ---------------------------------------
my $SCH = "ou=schools,o=demo,$S";
my $LIN = "cn=Lincoln Elementary,$SCH";
my $WAS = "cn=Washington Middle School,$SCH";
($ok, $out) = ldapadd($dir, <<"LDIF");
dn: uid=dora,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: dora
cn: Dora District
sn: District
rbSource: in-product
rbPermission;x-src-in-product: manage
rbScope;x-src-in-product: district
rbActive;x-src-in-product: TRUE
rbManageAll: TRUE
rbViewAll: TRUE

dn: uid=sam,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: sam
cn: Sam School
sn: School
rbSource: okta
rbPermission;x-src-okta: manage
rbScope;x-src-okta: school
rbSchoolRef;x-src-okta: $lincoln_uuid
rbActive;x-src-okta: TRUE
rbManageSchool: $lincoln_uuid
rbViewSchool: $lincoln_uuid

dn: uid=vic,$P
objectClass: inetOrgPerson
objectClass: rbPerson
uid: vic
cn: Vic Viewer
sn: Viewer
rbSource: okta
rbViewSchool: $lincoln_uuid
LDIF
is($ok, 0, 'district-, school-scope administrators and a viewer added') or diag $out;
my ($DORA, $SAM, $VIC) = map { "uid=$_,$P" } qw(dora sam vic);
is_deeply(vals(one($LIN, ['rbManager']), 'rbManager'), [sort map { lc } $DORA, $SAM], 'Lincoln: rbManager = district + school admin');
is_deeply(vals(one($WAS, ['rbManager']), 'rbManager'), [lc $DORA], 'Washington: rbManager = district admin only');
is_deeply(vals(one("cn=viewers,$LIN", ['rbViewer']), 'rbViewer'), [sort map { lc } $DORA, $SAM, $VIC],
          'Lincoln viewers: rbViewer = any access');
is(scalar @{ vals(one($DORA, ['rbManagesSchool']), 'rbManagesSchool') }, 4, 'district admin: rbManagesSchool = all 4 schools');
is_deeply(vals(one($SAM, ['rbManagesSchool']), 'rbManagesSchool'), [lc $LIN], 'school admin: rbManagesSchool = Lincoln');
is_deeply(vals(one($VIC, ['rbManagesSchool', 'rbViewsSchool']), 'rbViewsSchool'), [lc "cn=viewers,$LIN"],
          'viewer: rbViewsSchool = Lincoln (its viewers entry)');
($found) = ldapsearch($dir, base => $P, scope => 'one', filter => "(rbManagesSchool=$LIN)", attrs => ['1.1']);
is_deeply(dns($found), [sort map { lc } $DORA, $SAM], '(rbManagesSchool=<school DN>) as a filter: one search for who manages');
my ($lr) = ldapsearch($dir, as => 'reader:demo', base => $LIN, scope => 'base', attrs => ['rbManager']);
is(scalar @{ $lr->[0]{rbManager} // [] }, 2, 'the tenant reader gets rbManager too');

# a school added later is covered by the district admin with no rewrite
my $NEW = "cn=Franklin Elementary,$SCH";
($ok, $out) = ldapadd($dir, "dn: $NEW\nobjectClass: rbSchool\ncn: Franklin Elementary\nrbExternalId: SIS-FRA-005\nrbActive: TRUE\n");
is($ok, 0, 'new school added') or diag $out;
my $fu = one($NEW, ['entryUUID'])->{entryUUID}[0];
($ok, $out) = ldapmodify($dir, "dn: $NEW\nchangetype: modify\nadd: rbManagersURL\n"
    . "rbManagersURL: ldap:///$P??one?(|(rbManageSchool=$fu)(rbManageAll=TRUE))\n\n"
    . "dn: cn=viewers,$NEW\nchangetype: add\nobjectClass: rbSchoolViewers\ncn: viewers\n"
    . "rbViewersURL: ldap:///$P??one?(|(rbViewSchool=$fu)(rbViewAll=TRUE))\n");
is($ok, 0, 'its URLs written') or diag $out;
is_deeply(vals(one($NEW, ['rbManager']), 'rbManager'), [lc $DORA], 'new school: managed by the district admin');
is(scalar @{ vals(one($DORA, ['rbManagesSchool']), 'rbManagesSchool') }, 5, 'district admin now manages 5 schools');
is_deeply(vals(one($SAM, ['rbManagesSchool']), 'rbManagesSchool'), [lc $LIN], 'school admin still manages only Lincoln');

# region scope in the partnership
my $SP = "ou=people,o=statewide,$S";
($ok, $out) = ldapadd($dir, "dn: uid=nora,$SP\nobjectClass: inetOrgPerson\nobjectClass: rbPerson\nuid: nora\ncn: Nora North\nsn: North\n"
                          . "rbPermission;x-src-okta: manage\nrbScope;x-src-okta: region\nrbRegionRef;x-src-okta: north\n"
                          . "rbManageRegion: north\nrbViewRegion: north\n");
is($ok, 0, 'region admin added') or diag $out;
is_deeply([ sort map { (/^cn=([^,]+)/)[0] } @{ vals(one("uid=nora,$SP", ['rbManagesSchool']), 'rbManagesSchool') } ],
          ['north valley high school', 'pine ridge elementary'], 'region admin manages the north schools only');

# ---- server-side sort + VLV on ou=people ------------------------------------------------
for my $i (1 .. 5) {
    ldapadd($dir, "dn: uid=s$i,$P\nobjectClass: inetOrgPerson\nobjectClass: rbPerson\nuid: s$i\ncn: S$i\nsn: Sort" . (6 - $i) . "\n");
}
my (undef, $src_rc, $err, $raw) = ldapsearch($dir, base => $P, scope => 'one', filter => '(sn=Sort*)', attrs => ['uid'],
    controls => ['sss=sn:caseIgnoreOrderingMatch', 'vlv=0/1/2/0']);
my ($first) = split /^# vlvResultpos/m, $raw;
my @uids = $first =~ /^uid: (\S+)$/mg;
is_deeply(\@uids, [qw(s4 s3)], 'sss (sn descending uid) + vlv window 2..3') or diag "$raw$err";
like($raw, qr/vlvResultpos=2 count=5 .*\(0\) Success/, 'VLV reports position and count');
(undef, undef, $err, $raw) = ldapsearch($dir, base => $P, scope => 'one', filter => '(sn=Sort*)', attrs => ['uid'],
    controls => ['sss=-uid:caseIgnoreOrderingMatch']);
@uids = $raw =~ /^uid: (\S+)$/mg;
is_deeply(\@uids, [qw(s5 s4 s3 s2 s1)], 'sss reverse order on uid');

done_testing();
