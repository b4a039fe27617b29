#!/usr/bin/env perl
# 10-daemon.t — the daemon's foundation over real HTTP against a private
# slapd: configuration checks (file:line errors), authentication (401/403
# as SCIM errors), discovery generated from the schema registry, health,
# readiness, metrics, the request log (never a token), body limits.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use RBTest;
use RBBridge;

my $bin = RBBridge::build_dir() . '/rosterbridge';

# ---- configuration errors say file:line ------------------------------------
my $tmp = tempdir(CLEANUP => 1);
sub conf_error {
    my ($text) = @_;
    open my $f, '>', "$tmp/c.conf" or die;
    print $f $text;
    close $f;
    my $out = `$bin -n -f $tmp/c.conf 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $out) = conf_error("listen 127.0.0.1:8080\nworkers many\n");
isnt($rc, 0, 'bad number refused');
like($out, qr{c\.conf:2: workers}, 'error names file:line and the directive');
($rc, $out) = conf_error("tenant demo\nfrobnicate yes\n");
like($out, qr{c\.conf:2: frobnicate: unknown directive}, 'unknown directive at its line');
($rc, $out) = conf_error("tenant demo\ntoken sha256:abcd tenant=demo source=okta rights=write\n");
like($out, qr{c\.conf:2: token: the token hash must be}, 'short token hash refused');
($rc, $out) = conf_error("tenant demo\nldap_bind_dn cn=x\nldap_bind_password x\ntoken sha256:"
    . ('a' x 64) . " tenant=nope source=okta rights=write\n");
like($out, qr{c\.conf:4: token: tenant nope is not declared}, 'token for an undeclared tenant');
($rc, $out) = conf_error("tenant demo\nldap_bind_dn cn=x\nldap_bind_password x\n");
is($rc, 0, 'a minimal configuration is good') or diag $out;
like(`$bin -H dev-demo-okta`, qr/^sha256:[0-9a-f]{64}$/, '-H prints a hash line');

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);

# ---- authentication --------------------------------------------------------
my $r = $b->req(GET => '/ServiceProviderConfig');
is($r->{status}, 401, 'no token: 401');
is_deeply($r->{json}{schemas}, ['urn:ietf:params:scim:api:messages:2.0:Error'], '401 is a SCIM Error');
is($r->{json}{status}, '401', 'status is a string');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'WWW-Authenticate: Bearer');
$r = $b->req(GET => '/ServiceProviderConfig', token => 'not-a-token');
is($r->{status}, 401, 'bad token: 401');
$r = $b->req(GET => '/ServiceProviderConfig', auth => 'Basic ZGVtbzpkZW1v');
is($r->{status}, 401, 'Basic auth: 401');
$r = $b->req(POST => '/Users', token => 'demo-readonly', json => { userName => 'x' });
is($r->{status}, 403, 'read-only token writing: 403');
is($r->{json}{status}, '403', '403 is a SCIM Error');
$r = $b->req(GET => '/Users', token => 'demo-readonly');
is($r->{status}, 200, 'read-only token reading: 200');

# ---- discovery ---------------------------------------------------------------
$r = $b->req(GET => '/ServiceProviderConfig', token => 'demo-okta');
is($r->{status}, 200, 'ServiceProviderConfig');
is($r->{json}{schemas}[0], 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig', 'its schema');
ok($r->{json}{patch}{supported}, 'patch advertised');
ok($r->{json}{filter}{supported}, 'filter advertised');
ok($r->{json}{filter}{maxResults} > 0, 'filter.maxResults');
is($r->{json}{authenticationSchemes}[0]{type}, 'oauthbearertoken', 'bearer scheme');
like($r->{headers}{'content-type'}, qr{^application/scim\+json}, 'media type');

$r = $b->req(GET => '/ResourceTypes', token => 'demo-okta');
is($r->{status}, 200, 'ResourceTypes');
my %rt = map { $_->{name} => $_ } @{ $r->{json}{Resources} };
ok($rt{$_}, "resource type $_") for qw(User Group School);
is($rt{User}{endpoint}, '/Users', 'User endpoint');
my %ext = map { $_->{schema} => 1 } @{ $rt{User}{schemaExtensions} };
ok($ext{'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'}, 'enterprise extension');
ok($ext{'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User'}, 'admin extension');
$r = $b->req(GET => '/ResourceTypes/User', token => 'demo-okta');
is($r->{json}{id}, 'User', 'one resource type');
$r = $b->req(GET => '/ResourceTypes/Nope', token => 'demo-okta');
is($r->{status}, 404, 'unknown resource type: 404');

$r = $b->req(GET => '/Schemas', token => 'demo-okta');
my %sch = map { $_->{id} => $_ } @{ $r->{json}{Resources} };
ok($sch{$_}, "schema $_") for (
    'urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User',
    'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group',
    'urn:rosterbridge:params:scim:schemas:core:2.0:School');
my ($perm) = grep { $_->{name} eq 'permission' }
    @{ $sch{'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User'}{attributes} };
is_deeply([sort @{ $perm->{canonicalValues} }], [qw(manage view)], 'permission canonical values');
my ($un) = grep { $_->{name} eq 'userName' } @{ $sch{'urn:ietf:params:scim:schemas:core:2.0:User'}{attributes} };
is($un->{uniqueness}, 'server', 'userName uniqueness server');
ok($un->{required}, 'userName required');
$r = $b->req(GET => '/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group', token => 'demo-okta');
is($r->{json}{id}, 'urn:ietf:params:scim:schemas:core:2.0:Group', 'one schema by URN');
$r = $b->req(GET => '/Schemas?filter=id%20eq%20%22x%22', token => 'demo-okta');
is($r->{status}, 403, 'filter on discovery: 403 (RFC 7644 §4)');

# ---- health, readiness, metrics ---------------------------------------------
is($b->req(GET => '/healthz')->{status}, 200, '/healthz');
is($b->req(GET => '/readyz')->{status}, 200, '/readyz with the directory up');
$r = $b->req(GET => '/metrics');
is($r->{status}, 200, '/metrics');
like($r->{content}, qr/^rosterbridge_http_requests_total\{route="discovery",code="200"\} \d+/m, 'request counter');
like($r->{content}, qr/^rosterbridge_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/m, 'latency histogram');
like($r->{content}, qr/^rosterbridge_ldap_pool_connected \d+/m, 'pool state');

# ---- limits and unknown paths ---------------------------------------------------
$r = $b->req(POST => '/Users', token => 'demo-okta', body => '{"userName":"' . ('x' x 2_000_000) . '"}');
is($r->{status}, 413, 'body over max_body_bytes: 413');
# Headers: an IdP's long bearer token and correlation headers fit (the
# daemon keeps 8 KiB per connection, README "Performance"); a header block
# beyond that is 431, and the daemon keeps answering.
$r = $b->req(GET => '/Users?count=1', token => 'demo-okta',
    headers => { 'client-request-id' => 'c' x 36, 'X-Padding' => 'p' x 5_000 });
is($r->{status}, 200, '5 KB of extra headers: 200');
$r = $b->req(GET => '/Users?count=1', token => 'demo-okta', headers => { 'X-Padding' => 'p' x 9_000 });
is($r->{status}, 431, '9 KB header: 431 Request Header Fields Too Large');
is($b->req(GET => '/Users?count=1', token => 'demo-okta')->{status}, 200, '... and the next request is answered');
$r = $b->req(GET => '/Nope', token => 'demo-okta');
is($r->{status}, 404, 'unknown endpoint: 404');
$r = $b->req(POST => '/Users', token => 'demo-okta', body => '{"userName":');
is($r->{status}, 400, 'broken JSON: 400');
is($r->{json}{scimType}, 'invalidSyntax', 'broken JSON: invalidSyntax');

# ---- readiness without the directory ------------------------------------------
RBTest::stop_directory($dir);
$r = $b->req(GET => '/readyz');
is($r->{status}, 503, '/readyz: 503 while the directory is down');
$r = $b->req(GET => '/Users', token => 'demo-okta');
is($r->{status}, 503, 'SCIM request while the directory is down: 503');
ok($r->{headers}{'retry-after'}, '... with Retry-After');
RBTest::start_directory_again($dir);
my $ok = 0;
for (1 .. 100) { if ($b->req(GET => '/readyz')->{status} == 200) { $ok = 1; last } select undef, undef, undef, 0.1 }
ok($ok, '/readyz recovers when the directory is back');

# ---- graceful stop and the log ---------------------------------------------------
$b->stop;
is($b->{exit}, 0, 'SIGTERM: clean exit');
my $log = $b->log_text;
like($log, qr{GET /scim/v2/ServiceProviderConfig 200 [\d.]+ms tenant=demo source=okta}, 'request log line');
unlike($log, qr/dev-demo|demo-okta|demo-readonly|not-a-token|ZGVtbzpkZW1v/, 'no token in the log');
done_testing();
