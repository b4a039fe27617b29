#!/usr/bin/env perl
# 65-injection.t — every payload of tests/injection/payloads.jsonl (221
# LDAP filter and DN payloads: RFC 4515/4514 metacharacters raw and
# escaped, NUL, the \ forms, over-long values, Unicode look-alikes) through
# every input that reaches an LDAP filter or DN: filter values (userName,
# externalId, emails.value, displayName, school name, region), userName
# and externalId on create, group displayName and member values, school
# name, externalId and region, manager values, ids in URLs. Asserted for
# each: no 5xx; a filter never widens (every resource returned matches the
# payload literally); nothing of the other tenant is ever returned; the
# canary entries are unchanged at the end.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use RBTest;
use RBBridge;

my $src = $ENV{RB_SRCDIR} // '.';
open my $pf, '<:raw', "$src/tests/injection/payloads.jsonl" or die "payloads: $!";
my $J = JSON::PP->new->utf8->canonical;
my @payloads = map { $J->decode($_) } grep { /\S/ } <$pf>;
cmp_ok(scalar @payloads, '>=', 200, scalar(@payloads) . ' payloads');

my $U = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $G = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $S = 'urn:rosterbridge:params:scim:schemas:core:2.0:School';
my $ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir, workers => 4);

sub call {
    my ($method, $path, $token, $body) = @_;
    return $b->req($method, $path, token => $token,
        defined $body ? (body => $J->encode($body)) : ());
}
sub enc {
    my $s = shift;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}
sub lit { JSON::PP->new->allow_nonref->ascii->encode($_[0]) }

# ---- canaries ----------------------------------------------------------------
my %canary;
sub make {
    my ($name, $ep, $token, $body) = @_;
    my $r = call(POST => "/$ep", $token, $body);
    die "canary $name: $r->{status} " . ($r->{content} // '') unless $r->{status} == 201;
    $canary{$name} = { ep => $ep, token => $token, id => $r->{json}{id} };
}
make(u1 => 'Users', 'demo-okta', { schemas => [$U], userName => 'canary.one', externalId => 'ext-1',
    emails => [{ value => 'canary.one@lincoln.example' }] });
make(u2 => 'Users', 'demo-okta', { schemas => [$U, $ENT], userName => 'canary.two',
    $ENT => { manager => { value => $canary{u1}{id} } } });
make(u3 => 'Users', 'demo-okta', { schemas => [$U], userName => 'manager.target' });
make(g1 => 'Groups', 'demo-okta', { schemas => [$G], displayName => 'Canary Group',
    members => [{ value => $canary{u1}{id} }] });
make(s1 => 'Schools', 'demo-okta', { schemas => [$S], name => 'Canary School', externalId => 'SIS-C1' });
make(ou => 'Users', 'other-okta', { schemas => [$U], userName => 'other.canary', externalId => 'ext-1' });
make(og => 'Groups', 'other-okta', { schemas => [$G], displayName => 'Canary Group' });
my %before = map { $_ => call(GET => "/$canary{$_}{ep}/$canary{$_}{id}", $canary{$_}{token})->{content} }
    grep { $_ ne 'u3' } keys %canary;
my @other_ids = map { $canary{$_}{id} } qw(ou og);

my (%fail, $requests);
sub check {
    my ($what, $r, %o) = @_;
    $requests++;
    my $body = $r->{content} // '';
    push @{ $fail{'5xx'} }, "$what: $r->{status} $body" if $r->{status} >= 500 || $r->{status} == 599;
    for my $id (@other_ids) {
        push @{ $fail{'tenant crossed'} }, "$what" if index($body, $id) >= 0;
    }
    push @{ $fail{'accepted'} }, "$what: $r->{status}" if $o{never_ok} && $r->{status} < 300;
    if ($o{match} && $r->{status} == 200) {
        for my $res (@{ $r->{json}{Resources} // [] }) {
            push @{ $fail{'widened'} }, "$what: returned $res->{id}" unless $o{match}->($res);
        }
    }
}
sub has { my ($v, $p) = @_; defined $v && index(lc $v, lc $p) >= 0 }
sub same { my ($v, $p) = @_; defined $v && lc $v eq lc $p }

for my $p (@payloads) {
    my $l = lit($p);
    my $show = substr($l, 0, 40);
    # filters
    check("Users userName eq $show", call(GET => '/Users?filter=' . enc("userName eq $l"), 'demo-readonly'),
        match => sub { same($_[0]{userName}, $p) });
    check("Users userName co $show", call(GET => '/Users?filter=' . enc("userName co $l"), 'demo-readonly'),
        match => sub { has($_[0]{userName}, $p) });
    check("Users externalId eq $show", call(GET => '/Users?filter=' . enc("externalId eq $l"), 'demo-okta'),
        match => sub { defined $_[0]{externalId} && $_[0]{externalId} eq $p });
    check("Users emails sw $show", call(GET => '/Users?filter=' . enc("emails.value sw $l"), 'demo-okta'),
        match => sub { grep { defined $_->{value} && index(lc $_->{value}, lc $p) == 0 } @{ $_[0]{emails} // [] } });
    check("Groups displayName eq $show", call(GET => '/Groups?filter=' . enc("displayName eq $l"), 'demo-okta'),
        match => sub { same($_[0]{displayName}, $p) });
    check("Schools name ew $show", call(GET => '/Schools?filter=' . enc("name ew $l"), 'demo-okta'),
        match => sub { defined $_[0]{name} && lc(substr($_[0]{name}, -length $p)) eq lc $p });
    check("Schools region eq $show", call(GET => '/Schools?filter=' . enc("region eq $l"), 'state-okta'),
        match => sub { same($_[0]{region}, $p) });
    check(".search userName eq $show", call(POST => '/.search', 'demo-okta', {
        schemas => ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter => "userName eq $l" }),
        match => sub { same($_[0]{userName}, $p) });
    # ids in URLs
    my $e = enc($p);
    check("GET /Users/$show", call(GET => "/Users/$e", 'demo-okta'), never_ok => 1);
    check("DELETE /Groups/$show", call(DELETE => "/Groups/$e", 'demo-okta'), never_ok => 1);
    # member and manager values
    check("member $show", call(PATCH => "/Groups/$canary{g1}{id}", 'demo-okta', { schemas => [$PATCH],
        Operations => [{ op => 'add', path => 'members', value => [{ value => $p }] }] }), never_ok => 1);
    # A manager that names no person is refused, or (lenient sources)
    # dropped; either way it never points at anything.
    my $mr = call(PATCH => "/Users/$canary{u3}{id}", 'demo-okta', { schemas => [$PATCH],
        Operations => [{ op => 'replace', path => "$ENT:manager", value => { value => $p } }] });
    check("manager $show", $mr);
    my $mgr = call(GET => "/Users/$canary{u3}{id}", 'demo-okta')->{json}{$ENT}{manager};
    push @{ $fail{'manager set'} }, "manager $show: " . $J->encode($mgr) if defined $mgr;
    # names and ids written: created (then deleted) or refused, never 5xx
    for my $c (['Users', { schemas => [$U], userName => $p, externalId => $p }],
               ['Groups', { schemas => [$G], displayName => $p, members => [{ value => $p }] }],
               ['Groups', { schemas => [$G], displayName => "inj $p" }],
               ['Schools', { schemas => [$S], name => $p, externalId => $p }],
               ['Schools', { schemas => [$S], name => "inj $p", region => $p }, 'state-okta']) {
        my ($ep, $body, $tok) = @$c;
        my $r = call(POST => "/$ep", $tok // 'demo-okta', $body);
        check("POST /$ep $show", $r);
        next unless $r->{status} == 201;
        my $name = $body->{userName} // $body->{displayName} // $body->{name};
        my $got = $r->{json}{userName} // $r->{json}{displayName} // $r->{json}{name};
        push @{ $fail{'stored differently'} }, "$ep $show" unless defined $got && $got eq $name;
        check("DELETE /$ep $show", call(DELETE => "/$ep/$r->{json}{id}", $tok // 'demo-okta'));
    }
}
diag("$requests requests");
for my $kind ('5xx', 'widened', 'tenant crossed', 'accepted', 'manager set', 'stored differently') {
    my @f = @{ $fail{$kind} // [] };
    is(scalar @f, 0, "no payload: $kind") or diag(join "\n", @f[0 .. ($#f < 9 ? $#f : 9)]);
}
for my $name (sort grep { $_ ne 'u3' } keys %canary) {
    my $now = call(GET => "/$canary{$name}{ep}/$canary{$name}{id}", $canary{$name}{token})->{content};
    is($now, $before{$name}, "canary $name unchanged");
}
done_testing();
