#!/usr/bin/env perl
# 22-queries.t — filters (every operator, and/or/not, value paths, URN
# names), paging across many pages without duplicates or gaps, sorting,
# projection, ETags (If-Match → 412 atomically, If-None-Match → 304),
# .search, and injection attempts, over real HTTP against a private slapd.
use strict;
use warnings;
use Test::More;
use RBTest;
use RBBridge;

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
my $ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

my $dir = RBTest::start_directory();
my $b = RBBridge->start($dir);
my $N = 57;
my %byname;
for my $i (1 .. $N) {
    my $name = sprintf('user%03d@district.example', $i);
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => ['urn:ietf:params:scim:schemas:core:2.0:User', $ENT],
        userName => $name, displayName => sprintf('Person %03d', $N + 1 - $i),
        title => ($i % 3 == 0 ? 'Principal' : 'Teacher'),
        active => ($i % 5 == 0 ? JSON::PP::false : JSON::PP::true),
        emails => [{ value => "mail$i\@" . ($i % 2 ? 'lincoln' : 'washington') . '.example', type => 'work', primary => JSON::PP::true }],
        $ENT => { employeeNumber => "E$i" } });
    $byname{$name} = $r->{json}{id} if $r->{status} == 201;
}
is(scalar keys %byname, $N, "$N users created");

sub search {
    my ($f, %o) = @_;
    my $qs = join '&', (defined $f ? ('filter=' . enc($f)) : ()), map { "$_=" . enc($o{$_}) } sort keys %o;
    return $b->req(GET => "/Users?$qs", token => 'demo-okta');
}
sub count_of { search(@_)->{json}{totalResults} }

# ---- every operator -------------------------------------------------------
is(count_of('userName eq "user007@district.example"'), 1, 'eq');
is(count_of('userName ne "user007@district.example"'), $N - 1, 'ne');

# One resource named by a unique attribute (a plain search, no sort/VLV):
# case-insensitive userName, id, and paging over the single result.
{
    my $r = search('userName eq "USER007@District.Example"');
    is($r->{json}{totalResults}, 1, 'userName eq: case-insensitive');
    is($r->{json}{Resources}[0]{userName}, 'user007@district.example', '... the stored userName');
    my $id = $r->{json}{Resources}[0]{id} // '';
    $r = search(qq{id eq "$id"});
    is($r->{json}{totalResults}, 1, 'id eq: one');
    is($r->{json}{Resources}[0]{id}, $id, '... that resource');
    $r = search('userName eq "user007@district.example"', startIndex => 2);
    is_deeply([$r->{json}{totalResults}, $r->{json}{itemsPerPage}, scalar @{ $r->{json}{Resources} // [] }],
              [1, 0, 0], 'userName eq, startIndex=2: totalResults 1, an empty page');
    $r = search('userName eq "user007@district.example"', count => 0);
    is_deeply([$r->{json}{totalResults}, scalar @{ $r->{json}{Resources} // [] }], [1, 0],
              'userName eq, count=0: totalResults only');
    is(count_of('userName eq "nobody@district.example"'), 0, 'userName eq: no such user, 0');
    is(count_of('userName eq "user007@district.example" and title eq "nope"'), 0,
       'userName eq inside an and: the other term still applies');
}
is(count_of('userName sw "user00"'), 9, 'sw');
is(count_of('userName ew "7@district.example"'), 6, 'ew');
is(count_of('userName co "er01"'), 10, 'co');
is(count_of('title pr'), $N, 'pr');
is(count_of('nickName pr'), 0, 'pr on an absent attribute');
is(count_of('userName gt "user050@district.example"'), 7, 'gt');
is(count_of('userName ge "user050@district.example"'), 8, 'ge');
is(count_of('userName lt "user003@district.example"'), 2, 'lt');
is(count_of('userName le "user003@district.example"'), 3, 'le');
is(count_of('title eq "principal"'), 19, 'eq is case-insensitive where caseExact is false');
is(count_of('USERNAME Eq "USER001@DISTRICT.EXAMPLE"'), 1, 'names and operators case-insensitive');
is(count_of('active eq false'), 11, 'boolean eq');
is(count_of('active eq true and title eq "Principal"'), 16, 'and');
is(count_of('title eq "Principal" or userName eq "user001@district.example"'), 20, 'or');
is(count_of('not (title eq "Principal")'), 38, 'not');
is(count_of('(title eq "Principal" or active eq false) and userName sw "user00"'), 4, 'parentheses and precedence');
is(count_of('emails[type eq "work" and value co "@lincoln"]'), 29, 'value path');
is(count_of('emails.value ew "washington.example"'), 28, 'sub-attribute of a multi-valued attribute');
is(count_of("$ENT:employeeNumber eq \"E12\""), 1, 'URN-qualified name');
my $some = $byname{'user010@district.example'};
is(count_of(qq{id eq "$some"}), 1, 'id eq');
is(count_of('meta.created gt "2000-01-01T00:00:00Z"'), $N, 'dateTime gt');
is(count_of('meta.lastModified lt "2000-01-01T00:00:00Z"'), 0, 'dateTime lt');
is(count_of('nosuch eq "x"'), 0, 'unknown attribute matches nothing');

for my $bad ('userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and', 'active gt true', '"') {
    my $r = search($bad);
    is($r->{status}, 400, "invalid filter: $bad");
    is($r->{json}{scimType}, 'invalidFilter', '... invalidFilter');
}

# ---- injection: values never become filter syntax ----------------------------
for my $evil ('*', '*)(uid=*', 'x)(|(objectClass=*', '\\2a') {
    my $v = $evil =~ s/\\/\\\\/gr;
    $v =~ s/\0/\\u0000/g;
    my $r = search(qq{userName eq "$v"});
    is($r->{status}, 200, 'injection attempt answered');
    is($r->{json}{totalResults}, 0, "... and matches nothing: $evil");
}

my $nul = search('userName eq "a\u0000b"');
ok(($nul->{status} == 400 && $nul->{json}{scimType} eq 'invalidFilter')
   || ($nul->{status} == 200 && $nul->{json}{totalResults} == 0), 'a NUL in a filter value is refused or matches nothing');

# ---- paging: no duplicates, no gaps, stable -----------------------------------
for my $sort (undef, 'userName', 'displayName', 'emails') {
    my (%seen, $dups, $pages);
    my $total;
    for (my $start = 1; ; $start += 10) {
        my %o = (startIndex => $start, count => 10);
        $o{sortBy} = $sort if $sort;
        my $r = search(undef, %o);
        $total //= $r->{json}{totalResults};
        unless (ref $r->{json}{Resources} eq 'ARRAY') {
            fail("paging page at $start answered $r->{status}");
            diag explain $r->{json};
            last;
        }
        last unless @{ $r->{json}{Resources} };
        $pages++;
        is($r->{json}{itemsPerPage}, scalar @{ $r->{json}{Resources} }, 'itemsPerPage') if $pages == 1;
        $dups += $seen{ $_->{id} }++ ? 1 : 0 for @{ $r->{json}{Resources} };
        last if $pages > 20;
    }
    my $label = $sort // 'default order';
    is($total, $N, "paging ($label): totalResults");
    is(scalar keys %seen, $N, "paging ($label): every user once");
    ok(!$dups, "paging ($label): no duplicates");
    is($pages, 6, "paging ($label): 6 pages of 10");
}
my $r = search(undef, sortBy => 'userName', count => 5);
is_deeply([map { $_->{userName} } @{ $r->{json}{Resources} }],
          [map { sprintf 'user%03d@district.example', $_ } 1 .. 5], 'sortBy userName ascending');
$r = search(undef, sortBy => 'userName', sortOrder => 'descending', count => 2);
is($r->{json}{Resources}[0]{userName}, sprintf('user%03d@district.example', $N), 'descending');
$r = search(undef, sortBy => 'displayName', count => 1);
is($r->{json}{Resources}[0]{displayName}, 'Person 001', 'sortBy displayName');
$r = search('title eq "Principal"', sortBy => 'userName', startIndex => 3, count => 2);
is($r->{json}{totalResults}, 19, 'filtered + sorted: total');
is($r->{json}{Resources}[0]{userName}, 'user009@district.example', 'filtered + sorted: page');
$r = search('active eq false', sortBy => 'userName', startIndex => 2, count => 3);
is_deeply([map { $_->{userName} } @{ $r->{json}{Resources} }],
          ['user010@district.example', 'user015@district.example', 'user020@district.example'],
          'inexact filter: sorted page');
$r = search(undef, count => 0);
is($r->{json}{totalResults}, $N, 'count=0: total only');
is_deeply($r->{json}{Resources}, [], 'count=0: no resources');
$r = search(undef, startIndex => 1000);
is($r->{json}{totalResults}, $N, 'startIndex past the end: total');
is_deeply($r->{json}{Resources}, [], 'startIndex past the end: empty');
$r = search(undef, startIndex => 'abc');
is($r->{status}, 400, 'startIndex not a number: 400');
$r = search(undef, sortBy => 'bogus[');
is($r->{status}, 400, 'bad sortBy: 400');

# ---- many sorted pages: slapd's per-connection VLV state never runs out ----------
my $bad = 0;
$bad += search(undef, sortBy => 'userName', startIndex => 1 + $_ % 50, count => 1)->{status} != 200 for 1 .. 60;
is($bad, 0, '60 sorted pages in a row: all answered');
unlike($b->log_text, qr/dropped|busy/i, 'no connection dropped for it');

# ---- projection -----------------------------------------------------------------
$r = search('userName eq "user001@district.example"', attributes => 'userName');
is_deeply([sort keys %{ $r->{json}{Resources}[0] }], [qw(id schemas userName)], 'attributes=userName');
$r = search('userName eq "user001@district.example"', excludedAttributes => 'emails,title');
ok(!exists $r->{json}{Resources}[0]{emails} && !exists $r->{json}{Resources}[0]{title}, 'excludedAttributes');
ok(exists $r->{json}{Resources}[0]{displayName}, '... others kept');
$r = $b->req(GET => "/Users/$some?attributes=$ENT:employeeNumber", token => 'demo-okta');
is($r->{json}{$ENT}{employeeNumber}, 'E10', 'URN attribute projection');
ok(!exists $r->{json}{userName}, '... nothing else');

# ---- .search -------------------------------------------------------------------------
$r = $b->req(POST => '/Users/.search', token => 'demo-readonly', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
    filter => 'title eq "Principal"', startIndex => 1, count => 3, sortBy => 'userName',
    attributes => ['userName'] });
is($r->{status}, 200, 'POST .search with a read-only token');
is($r->{json}{totalResults}, 19, '.search total');
is(scalar @{ $r->{json}{Resources} }, 3, '.search page');

# ---- ETags ---------------------------------------------------------------------------
$r = $b->req(GET => "/Users/$some", token => 'demo-okta');
my $etag = $r->{headers}{etag};
like($etag, qr{^W/"}, 'ETag on GET');
is($b->req(GET => "/Users/$some", token => 'demo-okta', headers => { 'If-None-Match' => $etag })->{status}, 304, 'If-None-Match: 304');
my $patch = { schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
              Operations => [{ op => 'replace', path => 'title', value => 'Dean' }] };
$r = $b->req(PATCH => "/Users/$some", token => 'demo-okta', json => $patch, headers => { 'If-Match' => $etag });
is($r->{status}, 200, 'If-Match current: applied');
isnt($r->{headers}{etag}, $etag, 'ETag changed');
$r = $b->req(PATCH => "/Users/$some", token => 'demo-okta', json => $patch, headers => { 'If-Match' => $etag });
is($r->{status}, 412, 'If-Match stale: 412');
$r = $b->req(PUT => "/Users/$some", token => 'demo-okta', headers => { 'If-Match' => $etag },
             json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'user010@district.example' });
is($r->{status}, 412, 'PUT with a stale If-Match: 412');
is($b->req(DELETE => "/Users/$some", token => 'demo-okta', headers => { 'If-Match' => $etag })->{status}, 412, 'DELETE with a stale If-Match: 412');
is($b->req(GET => "/Users/$some", token => 'demo-okta', headers => { 'If-None-Match' => $etag })->{status}, 200, 'If-None-Match stale: 200');
done_testing();
