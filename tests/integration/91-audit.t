#!/usr/bin/env perl
# 91-audit.t — the audit trail: a directory started with DIRECTORY_AUDIT=1
# logs every write (slapd's accesslog, cn=accesslog), each carrying the
# session-tracking control the bridge attaches (request id, tenant, source,
# client address); scripts/audit answers "who changed this administrator's
# access, when, from which source" — the request ids it prints are the
# X-Request-Id headers the clients got. Tenant readers cannot read the log.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $src   = RBTest::srcdir();

local $ENV{DIRECTORY_AUDIT} = 1;
my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);

my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'audra@lincoln.example', $ADM => { permission => 'view', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'okta creates a school-scope viewer');
my $id = $r->{json}{id};
my $req_create = $r->{headers}{'x-request-id'};
like($req_create // '', qr/^[0-9a-f]{16}$/, 'the answer carries X-Request-Id');
$r = $b->req(PATCH => "/Users/$id", token => 'demo-clever', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { "$ADM:permission" => 'manage', "$ADM:scope" => 'district' } }] });
is($r->{status}, 200, 'clever attaches a district manage grant');
my $req_clever = $r->{headers}{'x-request-id'};
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'active', value => JSON::PP::false }] });
is($r->{status}, 200, 'okta suspends its grant');
my $req_suspend = $r->{headers}{'x-request-id'};
isnt($req_create, $req_clever, 'request ids differ');
like($b->log_text, qr/req=$req_clever client=127\.0\.0\.1/, 'the request log names the request id and the client');

my ($rc, $out, $err) = RBTest::_run([$src . '/scripts/audit', $dir->{data_dir}, 'audra@lincoln.example']);
is($rc, 0, 'scripts/audit runs') or diag $err;
my @lines = grep { /\S/ } split /\n/, $out;
is(scalar @lines, 3, 'three changes to the person, in order') or diag $out;
like($lines[0] // '', qr/^\d{4}-\d\d-\d\dT\S+Z\s+add\s+uid=audra\@lincoln\.example,ou=people,o=demo,\S+\s+req=$req_create tenant=demo source=okta client=127\.0\.0\.1\s+\S*rbPermission;x-src-okta/,
     'the create: time, DN, request id, tenant, source okta, client, its grant attributes');
like($lines[1] // '', qr/modify.*req=$req_clever tenant=demo source=clever client=127\.0\.0\.1.*rbPermission;x-src-clever/,
     'the clever grant: source clever and its per-source attributes');
like($lines[2] // '', qr/modify.*req=$req_suspend tenant=demo source=okta .*rbActive;x-src-okta/, 'the suspension: source okta');
($rc, $out) = RBTest::_run([$src . '/scripts/audit', $dir->{data_dir}, 'audra@lincoln.example', '--all']);
like($out, qr/^\s+rbPermission;x-src-clever:[+=] manage$/m, '--all shows the values written');

my ($seen, $src_rc) = RBTest::ldapsearch($dir, as => 'reader:demo', base => 'cn=accesslog', filter => '(objectClass=*)', attrs => ['reqDN']);
is(scalar @$seen, 0, "a tenant reader reads nothing of the audit trail (ldapsearch exit $src_rc)");
($seen) = RBTest::ldapsearch($dir, base => 'cn=accesslog', filter => '(reqType=modify)', attrs => ['reqDN']);
cmp_ok(scalar @$seen, '>=', 2, 'the service account does (the same search)');
done_testing();
