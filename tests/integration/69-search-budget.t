#!/usr/bin/env perl
# 69-search-budget.t — a search the directory cannot answer exactly (the
# bridge reads, converts and checks every candidate) costs at most
# max_candidates + 10 per result up to the end of the page asked for
# (never above max_results); beyond, 400 tooMany saying how to narrow the
# filter, after slapd has sent at most that many + 1 entries (its own log,
# nentries, says so). Filters the directory answers exactly are paged by
# slapd (sort + VLV) whatever the number of matches. 3,000 people, loaded
# over LDAP; max_candidates 1000.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

my $dir = RBTest::start_directory();
my $S = $dir->{suffix};
my $P = "ou=people,o=demo,$S";
my $N = 3000;
my $ldif = '';
for my $i (1 .. $N) {
    $ldif .= "dn: uid=sb$i\@budget.example,$P\nobjectClass: inetOrgPerson\nobjectClass: rbPerson\n"
           . "uid: sb$i\@budget.example\ncn: SB $i\nsn: SB\nrbSource: okta\nrbActive;x-src-okta: TRUE\n\n";
}
my ($rc, $out) = RBTest::ldapadd($dir, $ldif);
is($rc, 0, "$N people loaded over LDAP") or diag $out;
my $b = RBBridge->start($dir, extra_conf => "max_candidates 1000\n");

sub uri_escape { my ($s) = @_; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; return $s }
sub search {
    my ($filter, %q) = @_;
    my $qs = join('&', "filter=" . uri_escape($filter), map { "$_=$q{$_}" } sort keys %q);
    return $b->req(GET => "/Users?$qs", token => 'demo-okta');
}
# The entries slapd sent for the last search that hit a size limit (its stats log).
sub last_sizelimit_nentries {
    open my $f, '<', $dir->{slapd_log} or return -1;
    my $n = -1;
    while (<$f>) { $n = $1 if /SEARCH RESULT .*err=4 .*nentries=(\d+)/ }
    return $n;
}

my $r = search('active eq true', count => 10);
is($r->{status}, 400, "an inexact filter over $N candidates, a page of 10: 400") or diag explain $r->{json};
is($r->{json}{scimType}, 'tooMany', '... tooMany');
like($r->{json}{detail}, qr/more than 1100 candidates .* narrow it with `and`/, '... saying how many and how to narrow');
my $sent = last_sizelimit_nentries();
ok($sent >= 0 && $sent <= 1101, "slapd sent at most the budget + 1 entries ($sent), not $N");

$r = search('active eq true', count => 100, startIndex => 1901);
is($r->{status}, 200, 'a page ending at result 2000 has a budget of 1000 + 10 × 2000: answered')
    or diag explain $r->{json};
is($r->{json}{totalResults}, $N, '... with the right totalResults');
is(scalar @{ $r->{json}{Resources} }, 100, '... and the page');

$r = search('active eq true and userName sw "sb12"', count => 10);
is($r->{status}, 200, 'narrowed with `and` a condition slapd answers: 200') or diag explain $r->{json};
is($r->{json}{totalResults}, 1 + 10 + 100, '... sb12, sb120-129, sb1200-1299');

$r = search('userName sw "sb"', count => 10);
is($r->{status}, 200, "an exact filter matching all $N: paged by slapd, 200");
is($r->{json}{totalResults}, $N, '... totalResults from the VLV response');
is(scalar @{ $r->{json}{Resources} }, 10, '... one page converted');

my $b2 = RBBridge->start($dir, max_results => 500, extra_conf => "max_candidates 100000\n");
$r = $b2->req(GET => '/Users?filter=' . uri_escape('active eq true and userName sw "sb1"') . '&count=10', token => 'demo-okta');
is($r->{status}, 400, 'max_results (500) caps the budget');
like($r->{json}{detail}, qr/more than 500 candidates/, '... and the detail says so');
done_testing();
