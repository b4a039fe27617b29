#!/usr/bin/env perl
# 97-cluster-unique.t — userName uniqueness across two providers (issue 16
# item 3; docs/mapping.md "userName across providers"). Two bridges on two
# providers (scripts/cluster, delta-syncrepl) both accept a POST of the
# same userName before either provider has seen the other's add. To make
# "at the same moment" deterministic, the test partitions the providers:
# provider 2 stopped, Okta's POST through bridge A lands on provider 1;
# provider 1 stopped, provider 2 started, Entra's POST (other case) through
# bridge B lands on provider 2; provider 1 restarted. What is checked is
# what the design promises:
#   - no duplicate person: both providers converge to one entry for the
#     userName (same DN, same entryUUID and entryCSN), and a userName
#     filter through either bridge finds exactly one;
#   - the later add (higher CSN) is the entry; the earlier create's id is
#     gone, and its source is told so at its next request (404), not left
#     with a silently different person;
#   - that source re-attaches the way SPEC §1 describes (POST → 409
#     uniqueness → filter → PATCH its grant), and both grants then hold on
#     both providers.
# What is lost until then (the earlier create's grant) is documented.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;
use RBCluster;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $EVENTUALLY = 30;    # seconds: a bound for "eventually", not a timing under test

my $c   = RBCluster->start(eventually => $EVENTUALLY);
my $env = $c->{env};
my %dir = %{ $c->{dir} };
my $S = $dir{suffix};
my %br = (ldap_timeout_ms => 2000, repair_interval_s => 1);
my $A = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI1} $env->{URI2}"}, %br);
my $B = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI2} $env->{URI1}"}, %br);

sub eventually     { $c->eventually(@_) }    # a second argument: a shorter wait (the TODO checks)
sub stop_provider  { $c->stop_provider(@_) }
sub start_provider { $c->start_provider(@_) }
sub on_provider    { $c->on_provider(@_) }
sub answers { my ($br, $tok) = @_; $br->req(GET => '/Users?count=1', token => $tok)->{status} == 200 }

# ---- the partition: each provider takes a create of the same userName -------------------
stop_provider('p2');
my $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@cluster.example', $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'Okta creates dana@ through bridge A (provider 1; provider 2 down)') or diag explain $r->{json};
my $okta_id = $r->{json}{id};
stop_provider('p1');
start_provider('p2');
ok(eventually(sub { answers($B, 'demo-entra') }), 'bridge B answers from provider 2 alone');
$r = $B->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE, $ADM],
    userName => 'Dana@Cluster.example', $ADM => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra creates Dana@ (other case) through bridge B (provider 2; provider 1 down): '
   . 'neither provider could know') or diag explain $r->{json};
my $entra_id = $r->{json}{id};
isnt($entra_id, $okta_id, '... two adds, two entryUUIDs');
start_provider('p1');

# ---- replication meets them: one entry on both providers --------------------------------
my $converged = eventually(sub {
    my ($e1, $e2) = (on_provider($env->{URI1}, 'dana@cluster.example'), on_provider($env->{URI2}, 'dana@cluster.example'));
    return @$e1 == 1 && @$e2 == 1 && $e1->[0]{entryUUID}[0] eq $e2->[0]{entryUUID}[0]
        && $e1->[0]{entryCSN}[0] eq $e2->[0]{entryCSN}[0] ? [$e1->[0], $e2->[0]] : undef;
});
ok($converged, 'both providers hold exactly one entry for the userName, the same (entryUUID, entryCSN)')
    or diag explain [on_provider($env->{URI1}, 'dana@cluster.example'), on_provider($env->{URI2}, 'dana@cluster.example')];
my $winner = $converged ? $converged->[0]{entryUUID}[0] : '';
is($winner, $entra_id, '... the later add (higher CSN): Entra\'s entry, its entryUUID');
for my $br ([A => $A], [B => $B]) {
    my $l = $br->[1]->req(GET => '/Users?filter=userName%20eq%20%22DANA@cluster.example%22', token => 'demo-okta');
    is($l->{json}{totalResults}, 1, "bridge $br->[0]: a userName filter finds one person, not two");
}

# ---- the repair merges Okta's lost create back, without Okta writing again --------------
# Each bridge's repair reads both providers' cn=accesslog (src/dir/merge.c): the record of
# the entryUUID replaced by replication names Okta's id; its history on provider 1 (the add)
# gives Okta's hold and grant back, on the entry that won, and records the id as rbFormerId.
my @want = ('rbSource', 'rbFormerId', 'rbPermission', 'rbScope', 'rbSchoolRef', 'rbSchoolGiven',
            'rbManageSchool', 'rbViewAll', 'rbBindLocked', 'entryUUID');
my $merged_ok = sub {
    my $e = $_[0][0] or return 0;
    my %s = map { lc($_) => 1 } @{ $e->{rbSource} // [] };
    return $s{okta} && $s{entra}
        && ($e->{'rbPermission;x-src-okta'} // [''])->[0] eq 'manage'
        && ($e->{'rbPermission;x-src-entra'} // [''])->[0] eq 'view'
        && grep({ lc($_) eq lc($okta_id) } @{ $e->{rbFormerId} // [] })
        && lc($e->{entryUUID}[0]) eq lc($entra_id)
        && @{ $e->{rbManageSchool} // [] } == 1    # the summary: Okta's manage at Lincoln …
        && ($e->{rbViewAll} // [''])->[0] eq 'TRUE' # … and Entra's district view
        && !$e->{rbBindLocked};
};
my $merged = eventually(sub {
    my @e = map { on_provider($_, 'dana@cluster.example', @want) } $env->{URI1}, $env->{URI2};
    return $merged_ok->($e[0]) && $merged_ok->($e[1]);
});
ok($merged, 'both providers: one person held by Okta and Entra, Okta\'s manage grant at its school and '
   . 'Entra\'s view, the summary of both, no bind lock, Okta\'s id recorded as a former id')
    or diag explain [map { on_provider($_, 'dana@cluster.example', @want) } $env->{URI1}, $env->{URI2}];
my $e1 = on_provider($env->{URI1}, 'dana@cluster.example', 'rbSchoolRef;x-src-okta', 'rbSchoolGiven;x-src-okta');
is_deeply($e1->[0]{'rbSchoolGiven;x-src-okta'}, ['SIS-LIN-001'], '... Okta\'s schools as it gave them');

for my $br ([A => $A], [B => $B]) {
    my $g = $br->[1]->req(GET => "/Users/$okta_id", token => 'demo-okta');
    is($g->{status}, 200, "bridge $br->[0]: the id Okta was answered reaches the person") or diag explain $g->{json};
    is($g->{json}{id}, $entra_id, '... the surviving person (its id is the entry\'s)');
    is($g->{json}{$ADM}{permission}, 'manage', '... Okta reads back its own grant');
    is(scalar @{ $g->{json}{$ADM}{grants} // [] }, 2, '... and both grants') or diag explain $g->{json}{$ADM};
}

# ---- a group write naming the old id reaches the person too --------------------------------
$r = $A->req(POST => '/Groups', token => 'demo-okta', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName => 'Okta Cluster Team' });
is($r->{status}, 201, 'Okta creates a group') or diag explain $r->{json};
my $gid = $r->{json}{id};
$r = $B->req(PATCH => "/Groups/$gid", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'add', path => 'members', value => [{ value => $okta_id }] }] });
ok($r->{status} == 200 || $r->{status} == 204, 'Okta adds its old id as a member (bridge B)') or diag explain $r->{json};
ok(eventually(sub {
    my $g = $A->req(GET => "/Groups/$gid", token => 'demo-okta');
    return grep { $_->{value} eq $entra_id } @{ $g->{json}{members} // [] };
}), '... the member is the surviving person (read through bridge A)');
$r = $A->req(PATCH => "/Groups/$gid", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'remove', path => 'members', value => [{ value => $okta_id }] }] });
ok($r->{status} == 200 || $r->{status} == 204, 'Okta removes it by the old id (bridge A)') or diag explain $r->{json};
$r = $A->req(GET => "/Groups/$gid", token => 'demo-okta');
is(scalar @{ $r->{json}{members} // [] }, 0, '... and the group is empty');

# ---- Okta re-creating is the ordinary 409 now ---------------------------------------------
$r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@cluster.example', $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 409, 'Okta re-creates: 409') or diag explain $r->{json};
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');

# ---- Okta's later writes through its old id stand: no resurrection ------------------------
$r = $B->req(PATCH => "/Users/$okta_id", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', value => { "$ADM:permission" => 'view' } }] });
is($r->{status}, 200, 'Okta PATCHes its grant through its old id (bridge B): view now') or diag explain $r->{json};
# The PATCH reaches provider 1 before the DELETE is sent there: two writes of one person
# through the two providers within the replication delay are another matter (slapd's
# delta-syncrepl can replay the older one after the newer: 98-cluster-merge.t, docs).
ok(eventually(sub { my $e = on_provider($env->{URI1}, 'dana@cluster.example', 'rbPermission');
                    ($e->[0]{'rbPermission;x-src-okta'} // [''])->[0] eq 'view' }),
   '... replicated to provider 1');
$r = $A->req(DELETE => "/Users/$okta_id", token => 'demo-okta');
is($r->{status}, 204, 'Okta releases the person through its old id (bridge A)') or diag explain $r->{json};
ok(eventually(sub {
    my @e = map { on_provider($_, 'dana@cluster.example', 'rbSource', 'rbPermission') } $env->{URI1}, $env->{URI2};
    return !grep { my $x = $_->[0]; !$x || join(',', @{ $x->{rbSource} // [] }) ne 'entra'
                   || $x->{'rbPermission;x-src-okta'} } @e;
}), 'both providers: held by Entra alone, no Okta grant');
# A third bridge starts with no checkpoint: it reads both logs whole (the loss record and
# Okta's history included), and must merge nothing again. Its first rounds run at once and
# then every second; a few of them pass before the check (a floor for "it ran", not a timing).
my $C = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI1} $env->{URI2}"}, %br);
ok(eventually(sub { answers($C, 'demo-entra') }), 'bridge C (fresh: no checkpoint) answers');
sleep 4;
like($C->log_text, qr/merge: tenant demo: \S+: \d+ loss record\(s\) read, 0 merged/, 'bridge C read the loss record again and merged nothing');
for my $u ($env->{URI1}, $env->{URI2}) {
    my $e = on_provider($u, 'dana@cluster.example', 'rbSource', 'rbPermission');
    is_deeply($e->[0]{rbSource}, ['entra'], "$u: still Entra alone after bridge C's full read: the released "
              . 'hold and the replaced grant are not resurrected');
    ok(!$e->[0]{'rbPermission;x-src-okta'}, '... no Okta grant');
}
$r = $C->req(GET => "/Users/$entra_id", token => 'demo-entra');
is(scalar @{ $r->{json}{$ADM}{grants} // [] }, 1, 'bridge C reads Entra\'s grant only') or diag explain $r->{json}{$ADM};

done_testing;
