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
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $EVENTUALLY = 30;    # seconds: a bound for "eventually", not a timing under test

my $src = RBTest::srcdir();
my $cl  = tempdir('rbcu-XXXXXX', DIR => $ENV{TMPDIR} // '/tmp', CLEANUP => 1);
my ($p1, $p2) = (RBTest::free_port(), RBTest::free_port());
my ($rc, $out, $err) = RBTest::_run([$src . '/scripts/cluster', 'start', $cl, $p1, $p2]);
is($rc, 0, 'scripts/cluster starts two providers') or BAIL_OUT("$out$err");
END { RBTest::_run([$src . '/scripts/cluster', 'stop', $cl]) if $cl && -d $cl; }
my $env = RBTest::_read_env("$cl/env");
my %dir = (data_dir => $cl, uri => $env->{URI1}, suffix => $env->{SUFFIX},
           service_dn => $env->{SERVICE_DN}, service_pw => $env->{SERVICE_PW});
my $S = $dir{suffix};
my $A = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI1} $env->{URI2}"}, ldap_timeout_ms => 2000);
my $B = RBBridge->start(\%dir, ldap_uri => qq{"$env->{URI2} $env->{URI1}"}, ldap_timeout_ms => 2000);

sub eventually {
    my ($code) = @_;
    my $t0 = time;
    while (time - $t0 < $EVENTUALLY) {
        my $v = $code->();
        return $v if $v;
        sleep 0.1;
    }
    return undef;
}
sub pid_of {
    open my $f, '<', "$cl/$_[0]/slapd.pid" or return;
    my $p = <$f>;
    chomp $p;
    return $p;
}
sub stop_provider {    # SIGKILL: the partition starts without a goodbye
    my $p = pid_of($_[0]) or return;
    kill 'KILL', $p;
    sleep 0.1 while kill 0, $p;
}
sub start_provider { RBTest::_run([$src . '/scripts/directory', 'start', "$cl/$_[0]", $_[1]]) }
sub on_provider {    # every entry of the userName (case-insensitively) on provider $uri
    my ($uri, $uid, @attrs) = @_;
    my ($e) = RBTest::ldapsearch({ %dir, uri => $uri }, base => "ou=people,o=demo,$S", scope => 'one',
        filter => "(uid=$uid)", attrs => [@attrs ? @attrs : ('entryUUID', 'entryCSN', 'rbSource')]);
    return $e;
}
sub answers { my ($br, $tok) = @_; $br->req(GET => '/Users?count=1', token => $tok)->{status} == 200 }

# ---- the partition: each provider takes a create of the same userName -------------------
stop_provider('p2');
my $r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@cluster.example', $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'Okta creates dana@ through bridge A (provider 1; provider 2 down)') or diag explain $r->{json};
my $okta_id = $r->{json}{id};
stop_provider('p1');
start_provider('p2', $p2);
ok(eventually(sub { answers($B, 'demo-entra') }), 'bridge B answers from provider 2 alone');
$r = $B->req(POST => '/Users', token => 'demo-entra', json => { schemas => [$CORE, $ADM],
    userName => 'Dana@Cluster.example', $ADM => { permission => 'view', scope => 'district' } });
is($r->{status}, 201, 'Entra creates Dana@ (other case) through bridge B (provider 2; provider 1 down): '
   . 'neither provider could know') or diag explain $r->{json};
my $entra_id = $r->{json}{id};
isnt($entra_id, $okta_id, '... two adds, two entryUUIDs');
start_provider('p1', $p1);

# ---- replication meets them: one entry on both providers --------------------------------
my $converged = eventually(sub {
    my ($e1, $e2) = (on_provider($env->{URI1}, 'dana@cluster.example'), on_provider($env->{URI2}, 'dana@cluster.example'));
    return @$e1 == 1 && @$e2 == 1 && $e1->[0]{entryUUID}[0] eq $e2->[0]{entryUUID}[0]
        && $e1->[0]{entryCSN}[0] eq $e2->[0]{entryCSN}[0] ? [$e1->[0], $e2->[0]] : undef;
});
ok($converged, 'both providers hold exactly one entry for the userName, the same (entryUUID, entryCSN)')
    or diag explain [on_provider($env->{URI1}, 'dana@cluster.example'), on_provider($env->{URI2}, 'dana@cluster.example')];
my $winner = $converged ? $converged->[0]{entryUUID}[0] : '';
is($winner, $entra_id, '... the later add (higher CSN): Entra\'s');
is_deeply($converged ? $converged->[0]{rbSource} : [], ['entra'], '... held by Entra only: Okta\'s create is the one lost (the documented limit)');
for my $br ([A => $A], [B => $B]) {
    my $l = $br->[1]->req(GET => '/Users?filter=userName%20eq%20%22DANA@cluster.example%22', token => 'demo-okta');
    is($l->{json}{totalResults}, 1, "bridge $br->[0]: a userName filter finds one person, not two");
    is($br->[1]->req(GET => "/Users/$okta_id", token => 'demo-okta')->{status}, 404,
       "bridge $br->[0]: Okta's id answers 404 (its create did not survive; it learns at its next request)");
}

# ---- Okta re-attaches as SPEC §1 says: 409, filter, PATCH --------------------------------
$r = $A->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'dana@cluster.example', $ADM => { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 409, 'Okta re-creates: 409') or diag explain $r->{json};
is($r->{json}{scimType}, 'uniqueness', '... uniqueness');
$r = $A->req(GET => '/Users?filter=userName%20eq%20%22dana@cluster.example%22', token => 'demo-okta');
my $id = $r->{json}{Resources}[0]{id};
is($id, $entra_id, 'Okta finds the person by userName');
$r = $A->req(PATCH => "/Users/$id", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { "$ADM:permission" => 'manage', "$ADM:scope" => 'school', "$ADM:schools" => ['SIS-LIN-001'] } }] });
is($r->{status}, 200, 'Okta attaches its grant with PATCH') or diag explain $r->{json};
my $both = eventually(sub {
    my ($e1, $e2) = map { on_provider($_, 'dana@cluster.example', 'rbSource', 'rbPermission') } $env->{URI1}, $env->{URI2};
    my $ok = sub { my $e = $_[0][0] or return 0; my %s = map { $_ => 1 } @{ $e->{rbSource} // [] };
                   $s{okta} && $s{entra} && ($e->{'rbPermission;x-src-okta'} // [''])->[0] eq 'manage' };
    return $ok->($e1) && $ok->($e2);
});
ok($both, 'both providers: one person, both sources holding it, Okta\'s manage grant and Entra\'s view');
$r = $B->req(GET => "/Users/$id", token => 'demo-entra');
is(scalar @{ $r->{json}{$ADM}{grants} // [] }, 2, 'bridge B reads both grants') or diag explain $r->{json}{$ADM};

done_testing;
