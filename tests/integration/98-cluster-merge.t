#!/usr/bin/env perl
# 98-cluster-merge.t — the merge of creates lost across providers (issue 16
# item 3; docs/mapping.md "userName across providers"; src/dir/merge.c), the
# cases 97-cluster-unique.t does not cover, in one partition of the two
# providers (scripts/cluster, delta-syncrepl; bridges A on provider 1, B on
# provider 2, both naming both providers, repair_interval_s 1):
#   - the SAME source creates one userName through both providers: one
#     person, the source's later create stands (nothing of the earlier one
#     is written over it), and both ids it was answered reach the person;
#   - a create its source deleted during the partition is not merged back
#     (never resurrected), while the other provider's create of the same
#     userName stays (a TODO: slapd loses it on one provider in some runs,
#     which the repair then reports in the bridges' logs);
#   - two sources changing their own grants on one person through both
#     providers at once (a partition makes "at once" deterministic): both
#     grants and the access summary of both on both providers, and the
#     later write of a shared attribute (title) — what slapd's
#     delta-syncrepl loses on one provider in most runs, the repair's modify
#     replay writes back (docs/mapping.md "Concurrent writes across providers").
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


sub person_on {    # the entry of $uid on provider $uri, reading @attrs
    my ($uri, $uid, @attrs) = @_;
    my $e = on_provider($uri, $uid, @attrs, 'entryUUID');
    return @$e == 1 ? $e->[0] : undef;
}
sub post_user {
    my ($br, $tok, $uid, $grant) = @_;
    return $br->req(POST => '/Users', token => $tok, json => { schemas => [$CORE, $ADM], userName => $uid, $ADM => $grant });
}

# ---- before the partition: a person both sources hold, for the concurrent grant change ----
my $r = post_user($A, 'demo-okta', 'erin@cluster.example', { permission => 'view', scope => 'school', schools => ['SIS-LIN-001'] });
is($r->{status}, 201, 'Okta creates erin@') or diag explain $r->{json};
my $erin = $r->{json}{id};
$r = $A->req(PATCH => "/Users/$erin", token => 'demo-entra', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { "$ADM:permission" => 'view', "$ADM:scope" => 'district' } }] });
is($r->{status}, 200, 'Entra attaches its grant to erin@') or diag explain $r->{json};
ok(eventually(sub { my $e = person_on($env->{URI2}, 'erin@cluster.example', 'rbSource'); $e && @{ $e->{rbSource} } == 2 }),
   'erin@ is on provider 2 with both holders before the partition');

# ---- side 1: provider 2 down, writes through bridge A on provider 1 ----------------------
stop_provider('p2');
$r = post_user($A, 'demo-okta', 'sam@cluster.example', { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] });
is($r->{status}, 201, 'Okta creates sam@ through A (provider 1)') or diag explain $r->{json};
my $sam1 = $r->{json}{id};
$r = post_user($A, 'demo-okta', 'del@cluster.example', { permission => 'manage', scope => 'school', schools => ['SIS-LIN-001'] });
is($r->{status}, 201, 'Okta creates del@ through A (provider 1)') or diag explain $r->{json};
my $del1 = $r->{json}{id};
is($A->req(DELETE => "/Users/$del1", token => 'demo-okta')->{status}, 204, '... and deletes it again (provider 1)');
$r = $A->req(PATCH => "/Users/$erin", token => 'demo-okta', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', value => { "$ADM:permission" => 'manage' } }, { op => 'replace', path => 'title', value => 'Okta title' }] });
is($r->{status}, 200, 'Okta raises its erin@ grant to manage (and sets a title) through A (provider 1)') or diag explain $r->{json};

# ---- side 2: provider 1 down, provider 2 up, writes through bridge B ---------------------
stop_provider('p1');
start_provider('p2');
ok(eventually(sub { answers($B, 'demo-entra') }), 'bridge B answers from provider 2 alone');
$r = post_user($B, 'demo-okta', 'sam@cluster.example', { permission => 'view', scope => 'district' });
is($r->{status}, 201, 'Okta creates sam@ again through B (provider 2): its later create') or diag explain $r->{json};
my $sam2 = $r->{json}{id};
$r = post_user($B, 'demo-entra', 'del@cluster.example', { permission => 'view', scope => 'district' });
is($r->{status}, 201, 'Entra creates del@ through B (provider 2)') or diag explain $r->{json};
my $del2 = $r->{json}{id};
$r = $B->req(PATCH => "/Users/$erin", token => 'demo-entra', json => { schemas => [$PATCH], Operations => [
    { op => 'replace', value => { "$ADM:scope" => 'school', "$ADM:schools" => ['SIS-LIN-001'], "$ADM:permission" => 'manage' } },
    { op => 'replace', path => 'title', value => 'Entra title' }] });
is($r->{status}, 200, 'Entra changes its erin@ grant to manage at Lincoln (and the title: later) through B (provider 2)') or diag explain $r->{json};
start_provider('p1');

# ---- same source: one person, its later create stands, both ids reach it ----------------
my $same = eventually(sub {
    my @e = map { person_on($_, 'sam@cluster.example', 'rbSource', 'rbFormerId', 'rbPermission', 'rbScope') } $env->{URI1}, $env->{URI2};
    return (grep { $_ && grep({ lc($_) eq lc($sam1) } @{ $_->{rbFormerId} // [] }) } @e) == 2 ? \@e : undef;
});
ok($same, 'both providers: sam@ is one person carrying the earlier id as a former id')
    or diag explain [map { person_on($_, 'sam@cluster.example', 'rbSource', 'rbFormerId') } $env->{URI1}, $env->{URI2}];
for my $e (@{ $same // [] }) {
    is(lc $e->{entryUUID}[0], lc $sam2, '... the later create\'s entry');
    is_deeply($e->{rbSource}, ['okta'], '... held by Okta once');
    is_deeply([$e->{'rbPermission;x-src-okta'}, $e->{'rbScope;x-src-okta'}], [['view'], ['district']],
              '... with the grant of Okta\'s later create (the earlier one is not written over it)');
}
for my $id ($sam1, $sam2) {
    $r = $A->req(GET => "/Users/$id", token => 'demo-okta');
    is($r->{status}, 200, "bridge A: Okta's id $id reaches sam@") or diag explain $r->{json};
    is($r->{json}{id}, $sam2, '... the surviving person');
}

# ---- deleted during the partition: never resurrected --------------------------------------
# Provider 1 took Okta's add and delete of del@; Entra's add of del@ was on provider 2. A
# merge must never bring Okta's deleted create back, on either provider. (Which providers
# end with Entra's create is slapd's doing: see the TODO below.) The repair has run since
# the reconnection: sam@ was merged above.
for my $u ($env->{URI1}, $env->{URI2}) {
    my $e = person_on($u, 'del@cluster.example', 'rbSource', 'rbFormerId', 'rbPermission');
    ok(!$e || (lc($e->{entryUUID}[0]) eq lc($del2) && join(',', @{ $e->{rbSource} // [] }) eq 'entra'
               && !$e->{'rbPermission;x-src-okta'} && !$e->{rbFormerId}),
       "$u: del\@ is absent or Entra's create held by Entra alone: Okta's deleted create is not merged")
        or diag explain $e;
}
for my $br ([A => $A], [B => $B]) {
    is($br->[1]->req(GET => "/Users/$del1", token => 'demo-okta')->{status}, 404,
       "bridge $br->[0]: Okta's deleted id answers 404");
}

# ---- found on the way: a slapd 2.5.13 delta-syncrepl loss the repair reports, not fixes ----
# An acknowledged create lost on one provider (which one varies from run to run), the
# providers then diverging for good: reported in docs/mapping.md and in the bridges' logs
# (the repair compares the providers for every person written), not fixed.
TODO: {
    local $TODO = 'slapd delta-syncrepl: the replicated delete of Okta\'s older del@ can remove Entra\'s newer add on one provider';
    ok(eventually(sub { (grep { my $e = person_on($_, 'del@cluster.example', 'rbSource');
                                $e && lc($e->{entryUUID}[0]) eq lc($del2) } $env->{URI1}, $env->{URI2}) == 2 }, 5),
       'both providers keep Entra\'s create of del@ (answered 201)');
}
my @have = grep { my $e = person_on($_, 'del@cluster.example', 'rbSource'); $e && lc($e->{entryUUID}[0]) eq lc($del2) }
           $env->{URI1}, $env->{URI2};
SKIP: {
    skip 'slapd kept Entra\'s del@ on both providers (or on neither) in this run: nothing to report', 1 unless @have == 1;
    my ($gone) = grep { $_ ne $have[0] } $env->{URI1}, $env->{URI2};
    ok(eventually(sub { grep { $_->log_text =~ /merge: tenant demo: person \Q$del2\E \(uid=del\@cluster\.example,[^)]*\) is missing on \Q$gone\E \(held on \Q$have[0]\E\)/i } $A, $B }),
       "the repair reports Entra's del\@ missing on $gone (held on $have[0])");
}
my @ew = ('rbSource', 'rbPermission', 'rbScope', 'rbManageSchool', 'rbViewSchool', 'rbViewAll', 'title', 'entryCSN');
my $erin_ok = sub {
    my $e = $_[0] or return 0;
    return ($e->{'rbPermission;x-src-okta'} // [''])->[0] eq 'manage'
        && ($e->{'rbPermission;x-src-entra'} // [''])->[0] eq 'manage'
        && ($e->{'rbScope;x-src-entra'} // [''])->[0] eq 'school'
        && @{ $e->{rbManageSchool} // [] } == 1 && !$e->{rbViewAll}
        && ($e->{title} // [''])->[0] eq 'Entra title';    # a shared attribute: the later write
};
# slapd 2.5.13's delta-syncrepl loses one of the two PATCHes on one provider in most runs
# (provider 1 refreshed with provider 2's entry as it was before Okta's change arrived, under
# Entra's entryCSN); the repair's modify replay (src/dir/merge.c) rewrites what each
# description's latest write left, on the provider that differs, and refreshes the summary.
my $erin_both = eventually(sub { $erin_ok->(person_on($env->{URI1}, 'erin@cluster.example', @ew))
                                 && $erin_ok->(person_on($env->{URI2}, 'erin@cluster.example', @ew)) });
ok($erin_both, 'erin@ on both providers: both sources\' new grants (Okta\'s through provider 1, Entra\'s through '
   . 'provider 2) and their summary')
    or diag explain [map { person_on($_, 'erin@cluster.example', @ew) } $env->{URI1}, $env->{URI2}];
my @rewrites = map { $_->log_text =~ /(merge: tenant demo: \S+: uid=erin\@cluster\.example,[^:]*: \d+ description.*)/g } $A, $B;
diag(scalar(@rewrites) . ' rewrite(s) of erin@ by the repair in this run (none when slapd kept both itself)');
diag($_) for @rewrites;
for my $br ([A => $A], [B => $B]) {
    my $g = $br->[1]->req(GET => "/Users/$erin", token => 'demo-okta');
    is(join(',', sort map { "$_->{source}:$_->{permission}" } @{ $g->{json}{$ADM}{grants} // [] }), 'entra:manage,okta:manage',
       "bridge $br->[0] reads both grants as their sources last wrote them") or diag explain $g->{json}{$ADM};
}

done_testing;
