#!/usr/bin/env perl
# 40-group-ownership.t — issue 12, item 1: a group belongs to the source that
# created it. Entra creates a role group (manage, district) and a plain
# group; Clever can read both and list them, but its PATCH (members too),
# PUT and DELETE get 403 naming "entra", and nothing changes: over SCIM the
# members keep Entra's grant (labelled "entra"), over LDAP the group and
# the members' summaries are as before. Entra's own writes work. An
# operator moves a group to Clever by replacing rbSource (docs/mapping.md).
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub person {
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", filter => "(uid=$uid)",
        attrs => [qw(uid memberOf rbManageAll rbViewAll)]);
    return $e->[0] // {};
}
sub group_entry {
    my ($cn) = @_;
    my ($e) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$S", filter => "(cn=$cn)",
        attrs => [qw(cn member rbSource rbPermission rbScope)]);
    return $e->[0];
}
sub refused_by_owner {
    my ($r, $what) = @_;
    is($r->{status}, 403, "$what: 403") or diag explain $r->{json};
    like($r->{json}{detail} // '', qr/belongs to source "entra"/, '... the error names the owner, entra');
}

my %id;
for my $n (qw(ivy jon kim)) {
    my $r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE], userName => "$n\@own.example" });
    $id{$n} = $r->{json}{id};
}
my $r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => [$GROUP, $ADMG], displayName => 'District Managers', members => [{ value => $id{ivy} }],
    $ADMG => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'Entra creates a role group (manage, district) with Ivy') or diag explain $r->{json};
my $role = $r->{json}{id};
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => [$GROUP], displayName => 'Staff', members => [{ value => $id{ivy} }] });
is($r->{status}, 201, 'Entra creates a plain group with Ivy');
my $plain = $r->{json}{id};
is_deeply(person('ivy@own.example')->{rbManageAll}, ['TRUE'], 'LDAP: Ivy manages everything');

# ---- Clever reads and references ---------------------------------------------------------------
$r = $b->req(GET => "/Groups/$role", token => 'demo-clever');
is($r->{status}, 200, 'Clever reads the role group');
is(scalar @{ $r->{json}{members} }, 1, '... and its members');
$r = $b->req(GET => "/Users/$id{ivy}", token => 'demo-clever');
my ($g) = grep { $_->{origin} eq $role } @{ $r->{json}{$ADM}{grants} // [] };
is($g->{source}, 'entra', "Clever sees Ivy's role grant labelled with the owner, entra");

# ---- Clever's writes are refused ---------------------------------------------------------------
refused_by_owner($b->req(PATCH => "/Groups/$role", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{jon} }] }] }),
    'Clever PATCH adding Jon to the role group');
ok(!person('jon@own.example')->{memberOf}, 'LDAP: Jon is not a member');
ok(!person('jon@own.example')->{rbManageAll}, 'LDAP: Jon got no grant');
refused_by_owner($b->req(PATCH => "/Groups/$role", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'Remove', path => 'members', value => [{ value => $id{ivy} }] }] }),
    'Clever PATCH removing Ivy from the role group');
refused_by_owner($b->req(PUT => "/Groups/$role", token => 'demo-clever', json => {
    schemas => [$GROUP], displayName => 'District Managers', members => [{ value => $id{ivy} }] }),
    'Clever PUT without the extension (would make it a plain group)');
refused_by_owner($b->req(DELETE => "/Groups/$role", token => 'demo-clever'), 'Clever DELETE of the role group');
refused_by_owner($b->req(PATCH => "/Groups/$plain", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{jon} }] }] }),
    "Clever PATCH adding a member to Entra's plain group");
refused_by_owner($b->req(DELETE => "/Groups/$plain", token => 'demo-clever'), "Clever DELETE of the plain group");
my $ge = group_entry('District Managers');
is_deeply($ge->{rbSource}, ['entra'], 'LDAP: the role group is still owned by entra alone');
is_deeply($ge->{rbPermission}, ['manage'], 'LDAP: still a role group');
is(scalar @{ $ge->{member} }, 1, 'LDAP: still one member');
is_deeply(person('ivy@own.example')->{rbManageAll}, ['TRUE'], "LDAP: Ivy's access is unchanged");
$r = $b->req(GET => "/Groups/$role", token => 'demo-entra');
is($r->{json}{$ADMG}{permission}, 'manage', 'Entra reads its role group unchanged');

# ---- Entra writes its own groups -----------------------------------------------------------------
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{jon} }] }] });
is($r->{status}, 204, 'Entra adds Jon');
is_deeply(person('jon@own.example')->{rbManageAll}, ['TRUE'], 'LDAP: Jon manages everything');
$r = $b->req(GET => "/Users/$id{jon}", token => 'demo-entra');
is($r->{json}{$ADM}{grants}[0]{source}, 'entra', "SCIM: Jon's grant comes from entra");

# ---- an operator transfers the role group to Clever -------------------------------------------------
my ($rc, $out) = RBTest::ldapmodify($dir, "dn: cn=District Managers,ou=groups,o=demo,$S\nchangetype: modify\nreplace: rbSource\nrbSource: clever\n");
is($rc, 0, 'operator: ldapmodify replace rbSource: clever') or diag $out;
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-entra', json => { schemas => [$PATCH],
    Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{kim} }] }] });
is($r->{status}, 403, 'Entra can no longer write it');
like($r->{json}{detail} // '', qr/belongs to source "clever"/, '... it names clever now');
$r = $b->req(PATCH => "/Groups/$role", token => 'demo-clever', json => { schemas => [$PATCH],
    Operations => [{ op => 'Add', path => 'members', value => [{ value => $id{kim} }] }] });
is($r->{status}, 204, 'Clever adds Kim');
$r = $b->req(GET => "/Users/$id{kim}", token => 'demo-clever');
is($r->{json}{$ADM}{grants}[0]{source}, 'clever', "Kim's grant is labelled clever");
is(person('kim@own.example')->{rbManageAll}[0], 'TRUE', 'LDAP: Kim manages everything');
is($b->req(DELETE => "/Groups/$role", token => 'demo-clever')->{status}, 204, 'Clever deletes it');
ok(!person('ivy@own.example')->{rbManageAll}, "LDAP: Ivy's grant went with the group");
done_testing();
