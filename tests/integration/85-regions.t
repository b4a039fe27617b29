#!/usr/bin/env perl
# 85-regions.t — the regions of a partnership tenant: /Regions in the real
# daemon over a private slapd (create, read, list, PATCH, DELETE, the
# ownership rules of docs/mapping.md, the name that never changes, 409
# while schools or grants name the region, 400 in a district), and
# `rosterctl regions list|add|edit|remove` against it (exit codes, --json,
# CSV, table, --help), checked over LDAP too.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use RBTest;
use RBBridge;

my $B = RBBridge::build_dir();
my $CTL = "$B/rosterctl";
die "no $CTL: run make first\n" unless -x $CTL;
my $tmp = tempdir(CLEANUP => 1);

sub run {
    my ($args, %o) = @_;
    my %env = (HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg", %{ $o{env} // {} });
    delete $ENV{$_} for grep { /^ROSTERCTL_/ } keys %ENV;
    return RBTest::_run([$CTL, @$args], env => \%env, stdin => $o{stdin});
}

# In-product tokens for the partnership (statewide) and a district (demo).
my ($rc, $out, $err) = run([qw(token create --tenant statewide --source in-product --rights write
                               --token-file), "$tmp/state"]);
is($rc, 0, 'token create for the partnership') or diag $err;
my $conf = $out;
($rc, $out) = run([qw(token create --tenant demo --source in-product --rights write --token-file),
                   "$tmp/demo"]);
$conf .= $out;

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir, extra_conf => $conf);
sub ctl {
    my ($args, $tok) = @_;
    return run($args, env => { ROSTERCTL_URL => $b->{base},
                               ROSTERCTL_TOKEN_FILE => "$tmp/" . ($tok // 'state') });
}
my $regions = "ou=regions,o=statewide,$dir->{suffix}";

# --- discovery ------------------------------------------------------------------
my $r = $b->req(GET => '/ResourceTypes/Region', token => 'state-okta');
is($r->{status}, 200, 'ResourceTypes/Region');
is($r->{json}{endpoint}, '/Regions', '... at /Regions');
$r = $b->req(GET => '/Schemas/urn:rosterbridge:params:scim:schemas:core:2.0:Region',
             token => 'state-okta');
my ($name_attr) = grep { $_->{name} eq 'name' } @{ $r->{json}{attributes} // [] };
is($name_attr->{mutability}, 'immutable', 'the Region schema: name is immutable');

# --- help -----------------------------------------------------------------------
for my $verb ([qw(regions --help)], [qw(regions list --help)], [qw(regions add --help)]) {
    ($rc, $out) = run($verb);
    is($rc, 0, "@$verb exits 0");
    like($out, qr/^usage: rosterctl regions list/m, "@$verb prints the usage");
}
($rc, undef, $err) = run([qw(regions)]);
is($rc, 2, 'regions without a verb: exit 2');
($rc, undef, $err) = ctl([qw(regions rename north)]);
is($rc, 2, 'an unknown regions verb: exit 2');
($rc, $out) = run([qw(--help)]);
like($out, qr/regions list\|add\|edit\|remove/, 'rosterctl --help lists regions');

# --- list: the seed's two regions, with their schools ----------------------------
($rc, $out, $err) = ctl([qw(regions list)]);
is($rc, 0, 'regions list') or diag $err;
my @lines = split /\n/, $out;
is($lines[0], 'name,displayName,schools,externalId,id', 'CSV header when piped');
like($out, qr/^north,North Region,2,,[0-9a-f-]{36}$/m, 'north: 2 schools');
like($out, qr/^south,South Region,2,,[0-9a-f-]{36}$/m, 'south: 2 schools');
($rc, $out) = ctl([qw(--table regions list)]);
like($out, qr/^name\s+displayName\s+schools\s+externalId\s+id\s*$/m, '--table: aligned header');
like($out, qr/^north\s+North Region\s+2\s+[0-9a-f-]{36}\s*$/m, '--table: a row');
($rc, $out) = ctl([qw(--json regions list)]);
my $list = decode_json($out);
is(scalar @$list, 2, '--json: the two resources');
is($list->[0]{schemas}[0], 'urn:rosterbridge:params:scim:schemas:core:2.0:Region', '... as SCIM');
my ($north) = grep { $_->{name} eq 'north' } @$list;

# --- add, edit ------------------------------------------------------------------
($rc, $out, $err) = ctl([qw(regions add west --display-name), 'West Region',
                         qw(--external-id SEP-W)]);
is($rc, 0, 'regions add') or diag $err;
like($out, qr/^added region west \(id [0-9a-f-]{36}\)$/, '... says so');
my ($e) = RBTest::ldapsearch($dir, base => "cn=west,$regions", scope => 'base',
                             attrs => [qw(displayName rbSource rbExternalId)]);
is($e->[0]{displayName}[0], 'West Region', 'over LDAP: cn=west,ou=regions with its display name');
is($e->[0]{rbSource}[0], 'in-product', '... owned by the in-product source');
is($e->[0]{rbExternalId}[0], 'SEP-W', '... and its externalId');
($rc, undef, $err) = ctl([qw(regions add WEST)]);
is($rc, 7, 'the same name again (any case): exit 7');
like($err, qr/already exists/, '... saying it exists');
($rc, $out, $err) = ctl([qw(regions edit west --display-name), 'Western Region']);
is($rc, 0, 'regions edit') or diag $err;
($rc, $out) = ctl([qw(--json regions list)]);
my ($west) = grep { $_->{name} eq 'west' } @{ decode_json($out) };
is($west->{displayName}, 'Western Region', 'the edit is read back');
($rc, undef, $err) = ctl([qw(regions edit west)]);
is($rc, 2, 'edit with nothing to change: exit 2');
($rc, undef, $err) = ctl([qw(regions edit nowhere --display-name x)]);
is($rc, 6, 'an unknown region: exit 6');
($rc, $out, $err) = ctl([qw(--json regions edit), $west->{id}, qw(--external-id SEP-W2)]);
is($rc, 0, 'edit by id, --json');
is(decode_json($out)->{externalId}, 'SEP-W2', '... prints the resource');

# The name is the key: it never changes.
$r = $b->req(PATCH => "/Regions/$west->{id}", token => 'state-okta',
             json => { schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
                       Operations => [{ op => 'replace', path => 'displayName', value => 'x' }] });
is($r->{status}, 403, 'another source (okta) may not change the in-product region');
like($r->{json}{detail}, qr/belongs to source "in-product"/, '... naming the owner');
$r = $b->req(GET => "/Regions/$west->{id}", token => 'state-okta');
is($r->{status}, 200, '... but reads it');
is($r->{json}{displayName}, 'Western Region', '... unchanged');
$r = $b->req(POST => '/Regions', token => 'state-okta', json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:Region'], name => 'east' });
is($r->{status}, 201, 'okta creates a region');
my $east = $r->{json};
$r = $b->req(PUT => "/Regions/$east->{id}", token => 'state-okta', json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:Region'], name => 'east-2' });
is($r->{status}, 400, 'a new name: 400');
is($r->{json}{scimType}, 'mutability', '... mutability');
$r = $b->req(PUT => "/Regions/$east->{id}", token => 'state-okta',
             headers => { 'If-Match' => $east->{meta}{version} }, json => {
    schemas => ['urn:rosterbridge:params:scim:schemas:core:2.0:Region'], name => 'east',
    displayName => 'East Region' });
is($r->{status}, 200, 'PUT with the same name and If-Match');
isnt($r->{headers}{etag}, $east->{meta}{version}, '... a new ETag');
($rc, undef, $err) = ctl([qw(regions edit east --display-name), 'Mine now']);
is($rc, 5, 'rosterctl (in-product) may not edit okta\'s region: exit 5');
like($err, qr/belongs to source "okta"/, '... naming the owner');
($rc, undef, $err) = ctl([qw(regions remove east)]);
is($rc, 5, '... nor remove it');
$r = $b->req(DELETE => "/Regions/$east->{id}", token => 'state-okta');
is($r->{status}, 204, 'its owner removes it');

# --- remove: refused while schools or grants name the region ---------------------------
($rc, undef, $err) = ctl([qw(schools add), 'Desert View School', qw(--region west)]);
is($rc, 0, 'a school in the new region') or diag $err;
($rc, undef, $err) = ctl([qw(regions remove west)]);
is($rc, 7, 'remove while a school is in the region: exit 7');
like($err, qr/region west still has 1 school\(s\) \(Desert View School\)/, '... naming the school');
($rc, undef, $err) = ctl([qw(schools remove), 'Desert View School']);
is($rc, 0, 'the school goes') or diag $err;
($rc, undef, $err) = ctl([qw(admins add rita@state.example --email rita@state.example
                             --given-name Rita --family-name Region --permission view
                             --scope region --region west)]);
is($rc, 0, 'an administrator with a region-scope grant on it') or diag $err;
($rc, undef, $err) = ctl([qw(regions remove west)]);
is($rc, 7, 'remove while a grant names the region: exit 7');
like($err, qr/named in 1 grant/, '... saying a grant names it');
($rc, undef, $err) = ctl([qw(admins remove rita@state.example)]);
is($rc, 0, 'the grant goes') or diag $err;
($rc, $out, $err) = ctl([qw(regions remove west)]);
is($rc, 0, 'now the region goes') or diag $err;
like($out, qr/^removed region west/, '... says so');
($e) = RBTest::ldapsearch($dir, base => $regions, scope => 'one', filter => '(cn=west)',
                          attrs => ['cn']);
is(scalar @$e, 0, 'over LDAP: cn=west is gone');
($rc, undef, $err) = ctl([qw(regions remove west)]);
is($rc, 6, 'removing it again: exit 6');

# --- filters, and the district ----------------------------------------------------
$r = $b->req(GET => '/Regions?filter=name%20eq%20%22NORTH%22',
             token => 'state-clever');
is($r->{json}{totalResults}, 1, 'filter name eq (case-insensitive)');
is($r->{json}{Resources}[0]{id}, $north->{id}, '... finds north');
($rc, undef, $err) = ctl([qw(regions add west)], 'demo');
is($rc, 1, 'a district has no regions: exit 1');
like($err, qr/only in partnership tenants; this tenant is a district/, '... saying why');
($rc, $out) = ctl([qw(regions list)], 'demo');
is($out, "name,displayName,schools,externalId,id\n", 'a district lists none');

done_testing();
