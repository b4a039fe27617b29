#!/usr/bin/env perl
# 89-rosterctl-audit.t — `rosterctl audit USERNAME` against the real daemon
# on a directory with the audit trail (DIRECTORY_AUDIT=1): who changed an
# administrator's access, when, through which source and request — the
# request ids are the X-Request-Id headers the identity providers got. Only
# the caller's tenant (another tenant's token finds nothing of it), only an
# in-product token (an identity provider's is refused), and a directory
# without the audit trail answers exit 6 saying so.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use RBTest;
use RBBridge;

my $ADM   = 'urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User';
my $CORE  = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
my $CTL   = RBBridge::build_dir() . '/rosterctl';
my $tmp   = tempdir(CLEANUP => 1);

sub run {
    my ($args, %env) = @_;
    delete $ENV{$_} for grep { /^ROSTERCTL_/ } keys %ENV;
    return RBTest::_run([$CTL, @$args], env => { HOME => $tmp, XDG_CONFIG_HOME => "$tmp/xdg", %env });
}
my ($rc, $conf, $err) = run([qw(token create --tenant demo --source in-product --rights read
                                --token-file), "$tmp/demo"]);
is($rc, 0, 'an in-product (read) token for demo') or diag $err;
my $other;
($rc, $other) = run([qw(token create --tenant other --source in-product --rights read --token-file),
                     "$tmp/other"]);
$conf .= $other;

my $dir = do { local $ENV{DIRECTORY_AUDIT} = 1; RBTest::start_directory() };
my $b = RBBridge->start($dir, extra_conf => $conf);
sub ctl {
    my ($args, $tok) = @_;
    return run($args, ROSTERCTL_URL => $b->{base}, ROSTERCTL_TOKEN_FILE => "$tmp/" . ($tok // 'demo'));
}

my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE, $ADM],
    userName => 'audie@lincoln.example', $ADM => { permission => 'view', scope => 'school', schools => ['SIS-LIN-001'] } });
is($r->{status}, 201, 'okta creates a school-scope viewer');
my $id = $r->{json}{id};
my $req_create = $r->{headers}{'x-request-id'};
$r = $b->req(PATCH => "/Users/$id", token => 'demo-clever', json => { schemas => [$PATCH], Operations => [
    { op => 'add', value => { "$ADM:permission" => 'manage', "$ADM:scope" => 'district' } }] });
is($r->{status}, 200, 'clever attaches a district manage grant');
my $req_clever = $r->{headers}{'x-request-id'};
$r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', json => { schemas => [$PATCH],
    Operations => [{ op => 'replace', path => 'active', value => JSON::PP::false }] });
is($r->{status}, 200, 'okta suspends its grant');
my $req_suspend = $r->{headers}{'x-request-id'};

# --- the CSV and JSON answers ----------------------------------------------------------
my $out;
($rc, $out, $err) = ctl([qw(audit audie@lincoln.example)]);
is($rc, 0, 'rosterctl audit') or diag $err;
my @lines = split /\n/, $out;
is($lines[0], 'time,type,source,request,client,attributes', 'CSV header when piped');
is(scalar @lines, 4, 'three changes') or diag $out;
like($lines[1] // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z,add,okta,$req_create,127\.0\.0\.1,"?[^\n]*rbPermission;x-src-okta/,
     'the create: time, add, okta, its request id, the client, its grant attributes');
like($lines[2] // '', qr/,modify,clever,$req_clever,127\.0\.0\.1,.*rbPermission;x-src-clever/,
     "clever's grant: source clever and its per-source attributes");
like($lines[3] // '', qr/,modify,okta,$req_suspend,.*rbActive;x-src-okta/, "okta's suspension");
unlike($out, qr/entryCSN|modifyTimestamp/, 'no bookkeeping attributes');
($rc, $out) = ctl([qw(--json audit audie@lincoln.example)]);
my $list = decode_json($out);
is(scalar @$list, 3, '--json: the three changes');
is($list->[1]{source}, 'clever', '... with their source');
is($list->[1]{tenant}, 'demo', '... and tenant');
ok($list->[0]{time} lt $list->[1]{time} && $list->[1]{time} lt $list->[2]{time}, '... oldest first');
($rc, $out) = ctl([qw(--table audit audie@lincoln.example)]);
like($out, qr/^time\s+type\s+source\s+request\s+client\s+attributes\s*$/m, '--table: the header');

# --- only what the caller may see ----------------------------------------------------------
($rc, $out) = ctl([qw(audit audie@lincoln.example)], 'other');
is($rc, 0, "another tenant's token: no error");
is($out, "time,type,source,request,client,attributes\n", '... and nothing of demo\'s person');
$r = $b->req(GET => '/operator/v1/audit?userName=audie%40lincoln.example', token => 'demo-okta');
is($r->{status}, 403, "an identity provider's token: 403");
open my $tf, '<', "$tmp/demo" or die;
chomp(my $demo_token = <$tf>);
close $tf;
$r = $b->req(GET => '/operator/v1/audit', auth => "Bearer $demo_token");
is($r->{status}, 400, 'no userName: 400');
($rc, undef, $err) = run([qw(audit)]);
is($rc, 2, 'no USERNAME: exit 2');
($rc, $out) = run([qw(audit --help)]);
like($out, qr/^usage: rosterctl audit USERNAME/m, 'audit --help');

# --- a directory without the audit trail -----------------------------------------------------
my $plain = RBTest::start_directory();
my $b2 = RBBridge->start($plain, extra_conf => $conf);
($rc, undef, $err) = run([qw(audit audie@lincoln.example)], ROSTERCTL_URL => $b2->{base},
                         ROSTERCTL_TOKEN_FILE => "$tmp/demo");
is($rc, 6, 'no audit trail: exit 6');
like($err, qr/keeps no audit trail/, '... saying so');
done_testing();
