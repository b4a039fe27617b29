#!/usr/bin/env perl
# 32-group-table.t — the groups kept in the daemon (issue 17, grouptab.c).
# A GET of a person in groups reads the person only: the groups' names and
# role grants come from a table the bridge follows with a sync search
# (syncprov, kit step 0008). Checked against slapd's log (no search of the
# tenant's groups per GET; a bridge with `group_table no` makes one per
# GET) and against that bridge's answers (the same groups and grants):
# after this bridge's own group writes (at once, never an older copy),
# after another bridge's and an operator's (within seconds), after a
# delete, with a reference into another tenant (never shown), and across a
# slapd restart.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use RBTest;
use RBBridge;

my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $ADMG  = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group';

my $dir = RBTest::start_directory();
my $S   = $dir->{suffix};
my $br  = RBBridge->start($dir);
my $off = RBBridge->start($dir, extra_conf => "group_table no\n");

sub following {
    my ($b, $times) = @_;
    my $n = () = $b->log_text =~ /group table: following \d+ groups/g;
    return $n >= ($times // 1);
}
sub wait_for {
    my ($what, $cond, $secs) = @_;
    my $t0 = time;
    while (time - $t0 < ($secs // 10)) {
        return time - $t0 if $cond->();
        sleep 0.05;
    }
    return undef;
}
# The searches of the demo tenant's groups by entryUUID slapd has seen:
# what a GET of a person in groups makes without the table.
sub group_reads {
    open my $f, '<', $dir->{slapd_log} or die "$dir->{slapd_log}: $!";
    my $n = 0;
    while (<$f>) {
        $n++ if /SRCH base="ou=groups,o=demo,[^"]*" scope=1 .*filter="[^"]*entryUUID=/i;
    }
    return $n;
}
sub get_user {
    my ($b, $id, $token) = @_;
    my $r = $b->req(GET => "/Users/$id", token => $token // 'demo-okta');
    die "GET /Users/$id: $r->{status} " . ($r->{content} // '') unless $r->{status} == 200;
    return $r->{json};
}
# What a response shows of the groups: ids, names, grants (without the
# bridge's own base URL).
sub shown {
    my ($u) = @_;
    my @g = sort { $a->{value} cmp $b->{value} }
        map { +{ value => $_->{value}, display => $_->{display} } } @{ $u->{groups} // [] };
    my @grants = sort { ($a->{origin} // '') cmp ($b->{origin} // '') } @{ $u->{$ADM}{grants} // [] };
    return { groups => \@g, grants => \@grants };
}
sub names { return [ map { $_->{display} } @{ shown($_[0])->{groups} } ] }

ok(defined wait_for('table', sub { following($br) }), 'the bridge follows the groups (its log says so)')
    or diag $br->log_text;
ok(!following($off), '... the bridge with group_table no does not');

my %id;
for my $n (qw(ann bob)) {
    my $r = $br->req(POST => '/Users', token => 'demo-okta',
        json => { schemas => [$CORE], userName => "$n\@table.example",
                  name => { givenName => ucfirst $n, familyName => 'Table' } });
    is($r->{status}, 201, "create $n") or diag explain $r->{json};
    $id{$n} = $r->{json}{id};
}
my $r = $br->req(POST => '/Groups', token => 'demo-okta', json => {
    schemas => [$GROUP, $ADMG], displayName => 'Table Managers', members => [{ value => $id{ann} }],
    $ADMG => { permission => 'manage', scope => 'district' } });
is($r->{status}, 201, 'a role group (manage, district) with Ann') or diag explain $r->{json};
my $role = $r->{json}{id};
$r = $br->req(POST => '/Groups', token => 'demo-okta', json => {
    schemas => [$GROUP], displayName => 'Table Staff', members => [{ value => $id{ann} }, { value => $id{bob} }] });
is($r->{status}, 201, 'a plain group with Ann and Bob') or diag explain $r->{json};
my $staff = $r->{json}{id};

my $u = get_user($br, $id{ann});
is_deeply(names($u), [sort('Table Managers', 'Table Staff')], "Ann's groups, right after the creates");
my ($grant) = grep { ($_->{origin} // '') eq $role } @{ $u->{$ADM}{grants} // [] };
is($grant->{permission}, 'manage', "... and the role group's grant");
is_deeply(shown($u), shown(get_user($off, $id{ann})), '... the same as a bridge that reads the directory');

# Per GET: no search of the groups with the table, one without.
ok(defined wait_for('brought', sub { my $n = group_reads(); get_user($br, $id{ann}); group_reads() == $n }),
    'once the creates came through the sync search ...');
my $before = group_reads();
get_user($br, $id{$_}) for qw(ann bob ann bob ann bob);
is(group_reads(), $before, '... 6 GETs of members make no search of the groups') or diag $br->log_text;
$before = group_reads();
get_user($off, $id{$_}) for qw(ann bob ann bob ann bob);
cmp_ok(group_reads() - $before, '>=', 6, '... the same 6 GETs through group_table no make one each');

my $m = $br->req(GET => '/metrics')->{content} // '';
like($m, qr/^rosterbridge_group_table_live 1$/m, '/metrics: the table is live');
my ($from_table) = $m =~ /^rosterbridge_group_table_lookups_total\{from="table"\} (\d+)$/m;
cmp_ok($from_table // 0, '>=', 12, "... $from_table groups shown from it");
like($off->req(GET => '/metrics')->{content} // '', qr/^rosterbridge_group_table_live 0$/m,
    '... and not on the bridge with group_table no');

# This bridge's own writes: the next GET shows them, every time.
my $fresh = 0;
for my $i (1 .. 10) {
    $r = $br->req(PATCH => "/Groups/$staff", token => 'demo-okta', json => { schemas => [$PATCH],
        Operations => [{ op => 'replace', path => 'displayName', value => "Table Staff $i" }] });
    die "PATCH: $r->{status} " . ($r->{content} // '') unless $r->{status} == 200 || $r->{status} == 204;
    $fresh++ if grep { $_ eq "Table Staff $i" } @{ names(get_user($br, $id{bob})) };
}
is($fresh, 10, "10 renames of a group through this bridge: each GET right after shows the new name");
$r = $br->req(PATCH => "/Groups/$role", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => "$ADMG:permission", value => 'view' }] });
like($r->{status}, qr/^20[04]$/, 'the role group becomes view') or diag explain $r->{json};
($grant) = grep { ($_->{origin} // '') eq $role } @{ get_user($br, $id{ann})->{$ADM}{grants} // [] };
is($grant->{permission}, 'view', "... Ann's next GET shows a view grant");

# Someone else's writes: seen when slapd's message arrives.
$r = $off->req(PATCH => "/Groups/$staff", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'displayName', value => 'Renamed Elsewhere' }] });
like($r->{status}, qr/^20[04]$/, 'another bridge renames the group');
my $lag = wait_for('other', sub { grep { $_ eq 'Renamed Elsewhere' } @{ names(get_user($br, $id{bob})) } });
ok(defined $lag, sprintf('... this bridge shows the new name (after %.3f s)', $lag // -1));
my ($e) = RBTest::ldapsearch($dir, base => "ou=groups,o=demo,$S", scope => 'one',
    filter => "(entryUUID=$staff)", attrs => ['dn']);
my $sdn = $e->[0]{dn};
my ($rc, $out) = RBTest::ldapmodify($dir, "dn: $sdn\nchangetype: modify\nreplace: displayName\n"
    . "displayName: Operator Name\n", as => 'admin');
is($rc, 0, "an operator's ldapmodify renames it") or diag $out;
$lag = wait_for('operator', sub { grep { $_ eq 'Operator Name' } @{ names(get_user($br, $id{bob})) } });
ok(defined $lag, sprintf('... this bridge shows the operator\'s name (after %.3f s)', $lag // -1));
is_deeply(shown(get_user($br, $id{ann})), shown(get_user($off, $id{ann})),
    "... Ann's groups and grants as the directory has them");

# A reference into another tenant is never shown (the table holds every tenant's groups).
$r = $br->req(POST => '/Groups', token => 'other-okta',
    json => { schemas => [$GROUP], displayName => 'Other Tenant Group' });
is($r->{status}, 201, 'a group in tenant other') or diag explain $r->{json};
my $foreign = $r->{json}{id};
($e) = RBTest::ldapsearch($dir, base => "ou=people,o=demo,$S", scope => 'one',
    filter => '(uid=bob@table.example)', attrs => ['dn']);
($rc, $out) = RBTest::ldapmodify($dir, "dn: $e->[0]{dn}\nchangetype: modify\nadd: rbGroupRef\n"
    . "rbGroupRef: $foreign\n", as => 'admin');
is($rc, 0, "an operator points Bob's rbGroupRef at it") or diag $out;
sleep 0.5; # the sync search has brought the foreign group by now
ok(!grep({ $_->{value} eq $foreign } @{ shown(get_user($br, $id{bob}))->{groups} }),
    "Bob's GET does not show the other tenant's group");
is_deeply(shown(get_user($br, $id{bob})), shown(get_user($off, $id{bob})), '... as without the table');

# A delete through this bridge: gone from the next GET.
$r = $br->req(DELETE => "/Groups/$staff", token => 'demo-okta');
is($r->{status}, 204, 'the plain group is deleted');
ok(!grep({ $_->{value} eq $staff } @{ shown(get_user($br, $id{bob}))->{groups} }),
    "... Bob's next GET shows it no more");

# slapd restarts: reads stay right, and the table follows again.
RBTest::stop_directory($dir);
RBTest::start_directory_again($dir);
ok(defined wait_for('back', sub { $br->req(GET => "/Users/$id{ann}", token => 'demo-okta')->{status} == 200 }, 20),
    'after a slapd restart the bridge answers again');
is_deeply(shown(get_user($br, $id{ann})), shown(get_user($off, $id{ann})), "... Ann's groups as the directory has them");
ok(defined wait_for('again', sub { following($br, 2) }, 20), '... and the table follows again (logged)')
    or diag $br->log_text;
$r = $off->req(PATCH => "/Groups/$role", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'displayName', value => 'After Restart' }] });
like($r->{status}, qr/^20[04]$/, 'another bridge renames the role group');
ok(defined wait_for('after', sub { grep { $_ eq 'After Restart' } @{ names(get_user($br, $id{ann})) } }),
    '... this bridge shows it');
$before = group_reads();
get_user($br, $id{ann}) for 1 .. 4;
is(group_reads(), $before, '... from the table (no search of the groups)');

$br->stop;
unlike($br->log_text, qr/AddressSanitizer|runtime error/, 'no sanitizer report');
done_testing();
