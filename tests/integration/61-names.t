#!/usr/bin/env perl
# 61-names.t — names that become an RDN (userName, group displayName,
# school name, region) are checked against the directory's limits before
# any LDAP operation: 200 bytes of UTF-8, 240 once RFC 4514-escaped, and
# room for the form slapd normalizes it to (Unicode NFKC + case fold). Over
# the limit: 400 invalidValue naming the attribute (never slapd's `other`
# as a 500), on create and on rename; at the limit: created.
use strict;
use warnings;
use utf8;
use Test::More;
use JSON::PP;
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $U = 'urn:ietf:params:scim:schemas:core:2.0:User';
my $G = 'urn:ietf:params:scim:schemas:core:2.0:Group';
my $S = 'urn:rosterbridge:params:scim:schemas:core:2.0:School';
my %kind = (
    Users   => [$U, 'userName'],
    Groups  => [$G, 'displayName'],
    Schools => [$S, 'name'],
);

sub create {
    my ($ep, $name) = @_;
    my ($schema, $attr) = @{ $kind{$ep} };
    return $b->req(POST => "/$ep", token => 'demo-okta',
        body => JSON::PP->new->utf8->encode({ schemas => [$schema], $attr => $name }));
}

for my $ep (sort keys %kind) {
    my $attr = $kind{$ep}[1];
    my $ok = create($ep, lc($ep) . ('a' x (200 - length $ep)));
    is($ok->{status}, 201, "$ep: a $attr of 200 bytes is created");
    for my $len (201, 243, 300, 5000) {
        my $r = create($ep, 'x' x $len);
        is($r->{status}, 400, "$ep: $attr of $len bytes: 400");
        is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
        like($r->{json}{detail} // '', qr/^\Q$attr\E is $len bytes long; .*at most 200 bytes/,
            '... the detail names the attribute and the limit');
    }
    # Multi-byte: 101 × "é" is 202 bytes (101 characters).
    my $r = create($ep, 'é' x 101);
    is($r->{status}, 400, "$ep: 101 two-byte characters (202 bytes): 400");
    like($r->{json}{detail} // '', qr/^\Q$attr\E is 202 bytes long/, '... counted in bytes');
    $r = create($ep, 'é' x 100);
    is($r->{status}, 201, "$ep: 100 two-byte characters (200 bytes): created");
    # Escaping: 120 commas are 120 bytes but 240+ once escaped.
    $r = create($ep, 'c' . (',' x 120));
    is($r->{status}, 400, "$ep: 120 commas (escaped beyond 240 bytes): 400");
    like($r->{json}{detail} // '', qr/once its special characters are escaped/, '... says why');
    # Rename to a name too long: 400, and the entry keeps its name.
    my $id = $ok->{json}{id};
    $r = $b->req(PATCH => "/$ep/$id", token => 'demo-okta', json => {
        schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations => [{ op => 'replace', path => $attr, value => 'r' x 260 }] });
    is($r->{status}, 400, "$ep: renaming to 260 bytes: 400");
    like($r->{json}{detail} // '', qr/^\Q$attr\E is 260 bytes long/, '... naming the attribute');
    $r = $b->req(GET => "/$ep/$id", token => 'demo-okta');
    is($r->{json}{$attr}, $ok->{json}{$attr}, '... and the name is unchanged');
}

# Nothing above reached slapd as a too-long RDN.
unlike($b->log_text, qr/result 80|answering 500/, 'no 500 and no LDAP other in the log');

# slapd normalizes a name (Unicode compatibility mapping and case folding)
# and keeps both forms: U+FDFA (3 bytes) becomes 18 characters (33 bytes).
# The bridge measures the normalized form too (ICU's NFKC_Casefold): 14 of
# them (42 bytes) are refused with 400 before any LDAP operation (they used
# to reach slapd, which answered `other`: a 500); 13 fit and are created.
for my $ep (sort keys %kind) {
    my $attr = $kind{$ep}[1];
    my $r = create($ep, "\x{FDFA}" x 14);
    is($r->{status}, 400, "$ep: a $attr that slapd's normalization expands beyond the limit: 400")
        or diag explain $r->{json};
    is($r->{json}{scimType}, 'invalidValue', '... invalidValue');
    like($r->{json}{detail} // '', qr/^\Q$attr\E becomes \d+ bytes once the directory normalizes it/, '... saying why');
    $r = create($ep, "\x{FDFA}" x 13);
    is($r->{status}, 201, "$ep: 13 × U+FDFA fit: created") or diag explain $r->{json};
    $r = create($ep, "\x{FDFA}" x 30);
    is($r->{status}, 400, "$ep: 30 × U+FDFA: 400");
}
unlike($b->log_text, qr/result 80|answering 500/, 'none reached slapd: no 500 and no LDAP other in the log');

# An LDAP failure that maps to a 5xx: the database made read-only (cn=config
# over ldapi, olcReadOnly), slapd answers unwillingToPerform (53) to the
# add: the client gets a generic 500 detail, the operator the result in
# the log, each line with the request id.
my $ldapi = $dir->{env}{LDAPI_URI};
my (undef, $dbs) = RBTest::_run(['ldapsearch', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-LLL', '-b', 'cn=config',
    '(olcSuffix=' . $dir->{suffix} . ')', 'dn']);
my ($db) = $dbs =~ /^dn: (.*)$/m;
my ($rrc, $rout, $rerr) = RBTest::_run(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi],
    stdin => "dn: $db\nchangetype: modify\nreplace: olcReadOnly\nolcReadOnly: TRUE\n");
is($rrc, 0, 'the database made read-only') or diag "$rout$rerr";
my $r = create('Users', 'readonly@names.example');
is($r->{status}, 500, 'a write slapd is unwilling to perform: 500');
is($r->{json}{detail}, 'add: the directory is unwilling to perform this', '... with a generic detail');
my $rid = $r->{headers}{'x-request-id'} // '';
like($rid, qr/^[0-9a-f]{16,}$/, '... and a request id');
$b->stop;
my $log = $b->log_text;
like($log, qr/warn ldap: add failed: result 53 \(Server is unwilling to perform\).* req=\Q$rid\E$/m,
     '... the LDAP result in the log, with the request id');
like($log, qr/warn http: answering 500: add: the directory is unwilling to perform this req=\Q$rid\E$/m,
     '... the 500 with its cause, with the request id');
like($log, qr/ 500 .* req=\Q$rid\E /, '... the id of the access line');
done_testing();
