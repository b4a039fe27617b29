#!/usr/bin/env perl
# 62-reader-limits.t — tenant reader accounts have size limits on the
# shared slapd (scripts/directory, olcLimits): a plain search returns at
# most 1,000 entries (sizeLimitExceeded beyond), paged results reach the
# rest a page at a time; the bridge's service account is not limited.
use strict;
use warnings;
use Test::More;
use RBTest;

my $dir = RBTest::start_directory();
my $base = "ou=people,o=demo,$dir->{suffix}";
my $ldif = '';
for my $i (1 .. 1100) {
    $ldif .= "dn: uid=limit$i,$base\nobjectClass: inetOrgPerson\nuid: limit$i\ncn: limit$i\nsn: l\n\n";
}
my ($rc, $out) = RBTest::ldapadd($dir, $ldif, as => 'admin');
is($rc, 0, '1,100 people added') or diag $out;

my ($entries, $code, $err) = RBTest::ldapsearch($dir, as => 'reader:demo', base => $base,
    filter => '(uid=limit*)', attrs => ['1.1']);
is($code, 4, 'reader, plain search over 1,000 entries: sizeLimitExceeded (4)');
is(scalar @$entries, 1000, '... after 1,000 entries');

($entries, $code, $err) = RBTest::ldapsearch($dir, as => 'reader:demo', base => $base,
    filter => '(uid=limit*)', attrs => ['1.1'], controls => ['pr=500/noprompt']);
is($code, 0, 'reader, paged results: success') or diag $err;
is(scalar @$entries, 1100, '... every entry, page by page');

($entries, $code, $err) = RBTest::ldapsearch($dir, as => 'service', base => $base,
    filter => '(uid=limit*)', attrs => ['1.1']);
is($code, 0, 'the service account is not limited');
is(scalar @$entries, 1100, '... all 1,100 entries');
done_testing();
