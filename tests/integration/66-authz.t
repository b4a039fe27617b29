#!/usr/bin/env perl
# 66-authz.t — the authorization matrix, generated from one table: every
# token (each tenant × source × read/write, plus none and a bad one) ×
# every resource × every method, each cell asserted, allowed and denied.
#   no or bad token            → 401 everywhere
#   read token, own tenant     → reads 200 (.search too), writes 403 (Bulk too)
#   write token, own tenant    → reads 200, create 201, replace 200,
#                                 patch 200/204, delete 204 (on its own resource)
#   any token, another tenant  → the resource is invisible: 404 by id, absent from lists
use strict;
use warnings;
use Test::More;
use JSON::PP;
use RBTest;
use RBBridge;

my %U = (Users => ['urn:ietf:params:scim:schemas:core:2.0:User', 'userName'],
         Groups => ['urn:ietf:params:scim:schemas:core:2.0:Group', 'displayName'],
         Schools => ['urn:rosterbridge:params:scim:schemas:core:2.0:School', 'name']);
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

# The one table: token → [tenant, source, rights] (undef tenant: not a valid token).
my %T = (%RBBridge::TOKENS, 'none' => [undef, undef, 'none'], 'bad-token' => [undef, undef, 'none']);
my @methods = qw(list get create replace patch delete);

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir, workers => 4);
my $n = 0;
sub body {
    my ($ep, $tag) = @_;
    my ($schema, $attr) = @{ $U{$ep} };
    return { schemas => [$schema], $attr => "authz-$tag-" . ++$n };
}
sub call {
    my ($m, $path, $tok, $json) = @_;
    return $b->req($m, $path, ($tok eq 'none' ? () : (token => $tok)),
        defined $json ? (json => $json) : ());
}
# The demo tenant's resource every token aims at, made by demo-okta.
my %target;
for my $ep (sort keys %U) {
    my $r = call(POST => "/$ep", 'demo-okta', body($ep, 'target'));
    die "$ep target: $r->{status}" unless $r->{status} == 201;
    $target{$ep} = $r->{json}{id};
}

sub expect {
    my ($tok, $ep, $m) = @_;
    my ($tenant, undef, $rights) = @{ $T{$tok} };
    return [401] unless defined $tenant;
    my $write = $m =~ /^(create|replace|patch|delete)$/;
    return [403] if $write && $rights eq 'read';
    if ($tenant ne 'demo') {    # another tenant: demo's resource is not there
        return [200] if $m eq 'list';
        return [201] if $m eq 'create';
        return [404];
    }
    return { list => [200], get => [200], create => [201], replace => [200],
             patch => [200, 204], delete => [204] }->{$m};
}

for my $tok (sort keys %T) {
    my ($tenant) = @{ $T{$tok} };
    for my $ep (sort keys %U) {
        for my $m (@methods) {
            my $want = expect($tok, $ep, $m);
            # Writes by a write token of demo go to a resource of its own.
            my $id = $target{$ep};
            if (($tenant // '') eq 'demo' && $want->[0] =~ /^20[04]$/ && $m =~ /^(replace|patch|delete)$/) {
                my $r = call(POST => "/$ep", $tok, body($ep, 'own'));
                $id = $r->{json}{id};
            }
            my ($schema, $attr) = @{ $U{$ep} };
            my $r = $m eq 'list'    ? call(GET => "/$ep?count=1000", $tok)
                  : $m eq 'get'     ? call(GET => "/$ep/$id", $tok)
                  : $m eq 'create'  ? call(POST => "/$ep", $tok, body($ep, 'new'))
                  : $m eq 'replace' ? call(PUT => "/$ep/$id", $tok, body($ep, 'put'))
                  : $m eq 'patch'   ? call(PATCH => "/$ep/$id", $tok, { schemas => [$PATCH],
                        Operations => [{ op => 'replace', path => $attr, value => "authz-patch-" . ++$n }] })
                  :                   call(DELETE => "/$ep/$id", $tok);
            ok((grep { $_ == $r->{status} } @$want), "$tok $m $ep: $r->{status} (want @$want)")
                or diag($r->{content});
            if ($m eq 'list' && $r->{status} == 200) {
                my $seen = grep { $_->{id} eq $target{$ep} } @{ $r->{json}{Resources} // [] };
                is($seen ? 1 : 0, ($tenant // '') eq 'demo' ? 1 : 0,
                    "$tok list $ep: demo's resource " . (($tenant // '') eq 'demo' ? 'listed' : 'absent'));
            }
        }
    }
    # The routes that are not resources.
    my $rd = defined $tenant ? 200 : 401;
    is(call(GET => '/ServiceProviderConfig', $tok)->{status}, $rd, "$tok GET ServiceProviderConfig");
    is(call(POST => '/.search', $tok, { schemas => ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter => 'userName pr' })->{status}, $rd, "$tok POST /.search (a read)");
    my $bulk = call(POST => '/Bulk', $tok, { schemas => ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations => [] })->{status};
    my $wb = !defined $tenant ? 401 : $T{$tok}[2] eq 'read' ? 403 : 200;
    is($bulk, $wb, "$tok POST /Bulk");
}
done_testing();
