#!/usr/bin/env perl
# 50-directory-acl.t — tenant isolation in the directory's ACLs (no bridge),
# beyond 00-directory.t: what each kind of account may read and write, in its
# tenant and in the others; the size limit of a tenant reader; a tenant made
# after the first start (its reader reads nothing until
# `scripts/directory tenant` adds its rule, then exactly its tenant); and
# that the rules and limits use no regular expression (issue 17).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use RBTest qw(start_directory ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami srcdir);

sub run_cmd { return RBTest::_run(@_); }

my $src = srcdir();
my $dir = start_directory();
my $S = $dir->{suffix};
my $SVC = $dir->{service_dn};

sub count { my ($e) = ldapsearch($dir, @_); return scalar @$e; }

# Two people with passwords, one in demo and one in other.
my $ADA = "uid=ada\@acl.example,ou=people,o=demo,$S";
my $BOB = "uid=bob\@acl.example,ou=people,o=other,$S";
for ([$ADA, 'ada'], [$BOB, 'bob']) {
    my ($dn, $n) = @$_;
    my ($rc, $out) = ldapadd($dir, "dn: $dn\nobjectClass: inetOrgPerson\nobjectClass: rbPerson\n"
        . "uid: $n\@acl.example\ncn: $n\nsn: $n\nmail: $n\@acl.example\nuserPassword: $n-secret\n");
    is($rc, 0, "service adds $n") or diag $out;
}
my %ada = (dn => $ADA, pw => 'ada-secret');
my %bob = (dn => $BOB, pw => 'bob-secret');

# ---- the service account: everything, read and write ---------------------------------
is(count(base => $S, scope => 'base'), 1, 'service reads the suffix entry');
is(count(base => "o=statewide,$S", filter => '(objectClass=organizationalUnit)'), 4,
   'service reads every tenant');
is(scalar ldapmodify($dir, "dn: $BOB\nchangetype: modify\nreplace: title\ntitle: t1\n"), 0,
   'service writes in any tenant');

# ---- a tenant reader: its tenant, read only -------------------------------------------
is(count(as => 'reader:demo', base => "o=demo,$S", scope => 'base'), 1, 'reader reads its tenant entry');
is(count(as => 'reader:demo', base => $ADA, scope => 'base'), 1, 'reader reads a person of its tenant');
is(count(as => 'reader:demo', base => $S, scope => 'base'), 0, 'reader does not read the suffix entry');
is(count(as => 'reader:demo', base => $SVC, scope => 'base'), 0, 'reader does not read the service account');
for my $t (qw(other statewide)) {
    is(count(as => 'reader:demo', base => "o=$t,$S"), 0, "reader of demo reads nothing under o=$t");
}
is(count(as => 'reader:demo', base => $BOB, scope => 'base'), 0, 'reader of demo does not read a person of other');
isnt(scalar ldapmodify($dir, "dn: $ADA\nchangetype: modify\nreplace: title\ntitle: nope\n", as => 'reader:demo'), 0,
     'reader cannot modify a person of its tenant');
isnt(scalar ldapadd($dir, "dn: cn=x,ou=groups,o=demo,$S\nobjectClass: rbGroup\ncn: x\n", as => 'reader:demo'), 0,
     'reader cannot add in its tenant');
isnt(scalar ldapdelete($dir, $ADA, as => 'reader:demo'), 0, 'reader cannot delete in its tenant');
is(count(as => 'reader:demo', base => $dir->{readers}{other}{dn}, scope => 'base'), 0,
   "reader of demo does not read other's reader");

# ---- a person: itself only --------------------------------------------------------------
is(count(%ada, base => $ADA, scope => 'base'), 1, 'a person reads itself');
is(count(%ada, base => $BOB, scope => 'base'), 0, 'a person does not read a person of another tenant');
is(count(%ada, base => "o=demo,$S", scope => 'base'), 0, 'a person does not read its tenant entry');
is(count(%ada, base => $dir->{readers}{demo}{dn}, scope => 'base'), 0, "a person does not read its tenant's reader");
is(count(%bob, base => "o=demo,$S"), 0, 'a person of other reads nothing under o=demo');
isnt(scalar ldapmodify($dir, "dn: $ADA\nchangetype: modify\nreplace: title\ntitle: self\n", %ada), 0,
     'a person cannot modify its own attributes (the password aside)');
isnt(scalar ldapmodify($dir, "dn: $BOB\nchangetype: modify\nreplace: userPassword\nuserPassword: x\n", %ada), 0,
     "a person cannot set another person's password");

# ---- anonymous ----------------------------------------------------------------------------
is(count(as => 'anonymous', base => $ADA, scope => 'base'), 0, 'anonymous reads no person');
isnt(scalar ldapmodify($dir, "dn: $ADA\nchangetype: modify\nreplace: title\ntitle: anon\n", as => 'anonymous'), 0,
     'anonymous cannot write');

# ---- the reader's size limit is its own (issue 15: 1,000), not the frontend's 500 --------------
my $ldif = join '', map { "dn: uid=n$_,ou=people,o=other,$S\nobjectClass: inetOrgPerson\nuid: n$_\ncn: n\nsn: n\n\n" } 1 .. 510;
is(scalar ldapadd($dir, $ldif), 0, '510 more people in other');
my ($many, $rc) = ldapsearch($dir, as => 'reader:other', base => "ou=people,o=other,$S", scope => 'one', attrs => ['1.1']);
is($rc, 0, 'reader of other lists more than 500 people (the frontend limit does not apply to it)');
cmp_ok(scalar @$many, '>=', 511, "... all of them");

# ---- a tenant made after the first start ------------------------------------------------------
my $LATE = "o=late,$S";
my ($arc, $aout) = ldapadd($dir, "dn: $LATE\nobjectClass: organization\nobjectClass: rbTenant\no: late\nrbTenantKind: district\n\n"
    . "dn: ou=people,$LATE\nobjectClass: organizationalUnit\nou: people\n\n"
    . "dn: cn=reader,$LATE\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: late-secret\n\n"
    . "dn: uid=cy,ou=people,$LATE\nobjectClass: inetOrgPerson\nuid: cy\ncn: cy\nsn: cy\n", as => 'admin');
is($arc, 0, 'a tenant added with ldapadd') or diag $aout;
my %late = (dn => "cn=reader,$LATE", pw => 'late-secret');
is((ldapwhoami($dir, %late))[0], 0, 'its reader binds');
is(count(%late, base => $LATE), 0, 'without its rule, its reader reads nothing (fails closed)');
my ($trc, $tout, $terr) = run_cmd(["$src/scripts/directory", 'tenant', $dir->{data_dir}, 'late']);
is($trc, 0, 'scripts/directory tenant adds its rule') or diag "$tout$terr";
is(count(%late, base => $LATE, attrs => ['1.1']), 4, 'now its reader reads the tenant');
is(count(%late, base => "o=demo,$S"), 0, '... and nothing of demo');
is(count(as => 'reader:demo', base => $LATE), 0, 'the demo reader reads nothing of the new tenant');
($trc) = run_cmd(["$src/scripts/directory", 'tenant', $dir->{data_dir}, 'late']);
is($trc, 0, 'scripts/directory tenant again: nothing to do');
($trc) = run_cmd(["$src/scripts/directory", 'tenant', $dir->{data_dir}, 'Bad,Name']);
isnt($trc, 0, 'a tenant name outside [a-z0-9-] is refused');

# ---- no regular expressions in the rules and limits --------------------------------------------
{
    ok($dir->{env}{LDAPI_URI}, 'the data dir has its ldapi socket');
    my ($crc, $cfg) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $dir->{env}{LDAPI_URI}, '-o', 'ldif-wrap=no',
                            '-b', 'olcDatabase={1}mdb,cn=config', '-s', 'base', 'olcAccess', 'olcLimits']);
    like($cfg, qr/olcAccess: .*to dn\.subtree="o=late,/, 'cn=config holds the new rule');
    unlike($cfg, qr/regex/i, 'no rule or limit is a regular expression');
}

done_testing();
