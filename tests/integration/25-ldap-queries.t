#!/usr/bin/env perl
# 25-ldap-queries.t — runs the exact `ldapsearch` lines of README.md
# ("LDAP queries for district tools"; only the host:port is changed to this
# test's private slapd) against a directory holding district-, school- and
# role-group administrators from several sources, and checks each answers
# its SPEC §3 question in one search.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

# ---- the README's lines --------------------------------------------------
open my $f, '<', RBTest::srcdir() . '/README.md' or die "README.md: $!";
my (%queries, $name, $in_block);
while (my $line = <$f>) {
    if ($line =~ /^<!-- ldap-query: (\S+) -->/) { $name = $1; next }
    if (defined $name && $line =~ /^```sh/) { $in_block = 1; next }
    if ($in_block && $line =~ /^```/) { $in_block = 0; undef $name; next }
    push @{ $queries{$name} }, $line =~ s/\s+$//r if $in_block && $line =~ /^ldapsearch /;
}
close $f;
ok($queries{$_}, "README has the $_ query") for qw(administrators managers-of-school viewers-of-school schools-of-admin group-members);

my $dir = RBTest::start_directory(dev => 1);
my $b = RBBridge->start($dir);
my $S = $dir->{suffix};

sub run_query {
    my ($line) = @_;
    (my $cmd = $line) =~ s{ldap://127\.0\.0\.1:3389}{$dir->{uri}};
    my $out = `$cmd 2>&1`;
    is($? >> 8, 0, "runs: $line") or diag $out;
    return RBTest::parse_ldif($out);
}
sub school_id {
    my $r = $b->req(GET => "/Schools?filter=externalId%20eq%20%22$_[0]%22", token => 'demo-okta');
    return $r->{json}{Resources}[0]{id};
}

# ---- the data: administrators from several sources ---------------------------
my $r = $b->req(POST => '/Users', token => 'demo-clever', json => { schemas => [$CORE, $ADM],
    userName => 'jane@lincoln.example', emails => [{ value => 'jane@lincoln.example', type => 'work' }],
    $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'school-scope manager (clever)') or diag explain $r->{json};
my $jane = $r->{json}{id};
$r = $b->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE, $ADM],
    userName => 'dana@district.example', $ADM => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'district-scope manager (entra)');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'vic@district.example', $ADM => { permission => 'view', scope => 'school', schools => ['SIS-ROO-003'] } });
is($r->{status}, 201, 'school-scope viewer (okta)');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE], userName => 'plain@district.example' });
is($r->{status}, 201, 'a plain user with no grant');
$r = $b->req(POST => '/Groups', token => 'demo-entra', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName => 'Lincoln Admins',
    members => [{ value => $jane }] });
is($r->{status}, 201, 'a SCIM-pushed group');

# ---- each question, one search ---------------------------------------------------
my $e = run_query($queries{administrators}[0]);
my %admins = map { $_->{uid}[0] => $_ } @$e;
is_deeply([sort keys %admins], [qw(dana@district.example jane@lincoln.example vic@district.example)],
          'administrators: every one, and no plain user');
is_deeply($admins{'jane@lincoln.example'}{rbSource}, ['clever'], '... with roster sources');

$e = run_query($queries{'managers-of-school'}[0]);
my @m = map { lc } @{ $e->[0]{rbManager} // [] };
ok((grep { /^uid=jane\@lincoln\.example,/ } @m), 'managers of Lincoln: the school-scope manager');
ok((grep { /^uid=dana\@district\.example,/ } @m), '... and the district-scope manager');
ok(!(grep { /^uid=vic\@/ } @m), '... not a viewer of another school');

$e = run_query($queries{'managers-of-school'}[1]);
is_deeply([sort map { lc } @{ $e->[0]{rbManager} // [] }], [sort @m], 'the same managers by SIS id');

$e = run_query($queries{'viewers-of-school'}[0]);
my @v = map { lc } @{ $e->[0]{rbViewer} // [] };
ok((grep { /^uid=jane\@/ } @v) && (grep { /^uid=dana\@/ } @v), 'any access at Lincoln: managers included');

$e = run_query($queries{'schools-of-admin'}[0]);
my @ms = map { lc } @{ $e->[0]{rbManagesSchool} // [] };
is_deeply(\@ms, [lc "cn=Lincoln Elementary,ou=schools,o=demo,$S"], 'schools Jane manages');
ok(scalar @{ $e->[0]{rbViewsSchool} // [] } == 1, 'schools Jane views (one)');

$e = run_query($queries{'group-members'}[0]);
is(scalar @{ $e->[0]{member} // [] }, 1, 'members of the group');
$e = run_query($queries{'group-members'}[1]);
like($e->[0]{memberOf}[0] // '', qr/^cn=Lincoln Admins,ou=groups,o=demo,/i, 'groups of a person');

# ---- the reader of another tenant sees none of it -----------------------------------
(my $other = $queries{administrators}[0]) =~ s/o=demo/o=other/g;
$other =~ s/dev-reader-demo-secret/dev-reader-other-secret/;
is(scalar @{ run_query($other) }, 0, "another tenant's reader: nothing");
done_testing();
