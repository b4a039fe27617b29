#!/usr/bin/env perl
# 11-tls.t — TLS on both sides (SPEC §6), against a private slapd started
# with DIRECTORY_TLS=1 (a private CA, StartTLS on its port, an ldaps://
# port): the bridge serves HTTPS with a generated certificate; it talks to
# slapd with StartTLS and over ldaps://, which slapd's own log confirms
# (the service account binds only on connections where TLS was
# established); with a CA that did not sign the directory's certificate it
# answers 503, says why in its log, and never binds in cleartext instead.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use RBTest;
use RBBridge;

my $bin = RBBridge::build_dir() . '/rosterbridge';
my $tmp = tempdir(CLEANUP => 1);

# A CA that signed nothing the directory holds.
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout '$tmp/wrong-ca.key' -out '$tmp/wrong-ca.pem' "
       . "-days 2 -subj '/CN=not the directory CA' 2>'$tmp/openssl.log'") == 0
    or BAIL_OUT('openssl could not make a CA (scripts/install-deps installs openssl)');

my $dir = RBTest::start_directory(tls => 1);
ok(-s $dir->{ca_file}, 'DIRECTORY_TLS=1: the data dir has its private CA');
like($dir->{ldaps_uri}, qr{^ldaps://127\.0\.0\.1:\d+$}, 'env: LDAPS_URI');
ok(!-e "$dir->{data_dir}/tls/ca.key", 'the CA key is gone once it has signed');

# ---- the directory itself ------------------------------------------------------
my ($rc, $who) = RBTest::ldapwhoami($dir, as => 'admin', starttls => 1);
is($rc, 0, 'slapd: StartTLS (-ZZ) with the CA') or diag $who;
($rc, $who) = RBTest::ldapwhoami($dir, as => 'admin', uri => $dir->{ldaps_uri});
is($rc, 0, 'slapd: ldaps:// with the CA') or diag $who;
($rc, $who) = RBTest::ldapwhoami($dir, as => 'admin', starttls => 1, ca_file => "$tmp/wrong-ca.pem");
isnt($rc, 0, 'slapd: StartTLS with another CA fails');

# ---- configuration checks (file:line where a line is at fault) -----------------
sub conf_check {
    my ($text) = @_;
    open my $f, '>', "$tmp/c.conf" or die;
    print $f "tenant demo\nldap_bind_dn cn=x\nldap_bind_password x\n$text";
    close $f;
    my $out = `$bin -n -f $tmp/c.conf 2>&1`;
    return ($? >> 8, $out);
}
my $out;
($rc, $out) = conf_check("ldap_starttls yes\nldap_tls_ca_file $tmp/nope.pem\n");
like($out, qr{c\.conf:5: ldap_tls_ca_file: No such file}, 'missing CA file: file:line');
($rc, $out) = conf_check("ldap_starttls yes\nldap_tls_ca_file $tmp/c.conf\n");
like($out, qr{c\.conf:5: ldap_tls_ca_file: no PEM certificate}, 'CA file without a certificate: file:line');
($rc, $out) = conf_check("ldap_tls_ca_file $dir->{ca_file}\n");
like($out, qr{ldap_tls_ca_file is set but the directory connection is cleartext},
     'a CA file without TLS to the directory is refused');
($rc, $out) = conf_check("ldap_uri $dir->{ldaps_uri}\nldap_starttls yes\n");
like($out, qr{ldap_starttls yes with an ldaps:// ldap_uri}, 'StartTLS on ldaps:// is refused');
($rc, $out) = conf_check("ldap_uri \"$dir->{ldaps_uri} $dir->{uri}\"\n");
like($out, qr{mixes ldaps:// and ldap://}, 'a URI list that could fail over to cleartext is refused');
($rc, $out) = conf_check("tls_cert_file $tmp/nope.pem\ntls_key_file $tmp/nope.key\n");
like($out, qr{c\.conf:4: tls_cert_file: No such file}, 'missing HTTPS certificate: file:line');
($rc, $out) = conf_check("ldap_uri $dir->{ldaps_uri}\nldap_tls_ca_file $dir->{ca_file}\n"
    . "tls_cert_file $dir->{tls_cert_file}\ntls_key_file $dir->{tls_key_file}\n");
is($rc, 0, 'ldaps:// + CA + HTTPS: configuration OK') or diag $out;

# slapd's view of its connections since byte $from of its log: conn number =>
# { listener => port, binds => [ { dn, tls } ] } where tls says whether TLS
# was established on that connection before the bind.
sub slapd_conns {
    my ($from) = @_;
    my %c;
    open my $f, '<', $dir->{slapd_log} or die "$dir->{slapd_log}: $!";
    seek $f, $from, 0;
    while (<$f>) {
        next unless /\bconn=(\d+) (.*)$/;
        my ($n, $rest) = ($1, $2);
        if ($rest =~ /ACCEPT from IP=\S+ \(IP=[^)]*:(\d+)\)/) { $c{$n}{listener} = $1 }
        elsif ($rest =~ /^op=\d+ STARTTLS/)                   { $c{$n}{starttls} = 1 }
        elsif ($rest =~ /TLS established/)                     { $c{$n}{tls} = 1 }
        elsif ($rest =~ /^op=\d+ BIND dn="([^"]*)"/) {
            push @{ $c{$n}{binds} }, { dn => lc $1, tls => $c{$n}{tls} ? 1 : 0 };
        }
    }
    close $f;
    return \%c;
}
# The connections on which the service account (only the bridge uses it
# here: the test's own LDAP tools bind as the admin) bound.
sub service_conns {
    my ($from) = @_;
    my $c = slapd_conns($from);
    my $svc = lc $dir->{service_dn};
    return map { { %{ $c->{$_} }, conn => $_, bind_tls => (grep { $_->{dn} eq $svc } @{ $c->{$_}{binds} // [] })[0]{tls} } }
           grep { grep { $_->{dn} eq $svc } @{ $c->{$_}{binds} // [] } } sort keys %$c;
}
sub log_size { -s $dir->{slapd_log} // 0 }

sub person {
    my ($uid) = @_;
    my ($e) = RBTest::ldapsearch($dir, as => 'admin', base => "ou=people,o=demo,$dir->{suffix}",
                                 filter => "(uid=$uid)");
    return $e->[0];
}

# ---- (a)+(b) HTTPS in front, StartTLS behind --------------------------------------
my $from = log_size();
my $b = RBBridge->start($dir, tls_cert_file => $dir->{tls_cert_file}, tls_key_file => $dir->{tls_key_file},
                        tls_ca_file => $dir->{ca_file}, ldap_starttls => 1,
                        ldap_tls_ca_file => $dir->{ca_file});
like($b->{base}, qr{^https://127\.0\.0\.1:\d+$}, 'the bridge serves https://');
my $r = $b->req(GET => '/healthz');
is($r->{status}, 200, 'HTTPS: /healthz with the CA');
is($b->req(GET => '/readyz')->{status}, 200, 'HTTPS: /readyz (directory reached with StartTLS)');
like($b->log_text, qr{listening on .*directory ldap://\S+ \(StartTLS, certificate verified\)},
     'the startup log line says the directory connection uses StartTLS');
$r = $b->req(GET => '/ServiceProviderConfig');
is($r->{status}, 401, 'HTTPS: no token, 401');
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'tls-starttls@lincoln.example',
    name => { givenName => 'Tess', familyName => 'Starttls' } });
is($r->{status}, 201, 'HTTPS + StartTLS: POST /Users') or diag explain $r;
my $id = $r->{json}{id} // '';
like($r->{headers}{location} // '', qr{^https://127\.0\.0\.1:\d+/scim/v2/Users/\Q$id\E$}, 'Location is https://');
$r = $b->req(GET => "/Users/$id", token => 'demo-okta');
is($r->{status}, 200, 'HTTPS + StartTLS: GET /Users/{id}');
is($r->{json}{userName}, 'tls-starttls@lincoln.example', '... reads back what was written');
$r = $b->req(GET => '/Users?filter=' . 'userName%20eq%20%22tls-starttls@lincoln.example%22', token => 'demo-readonly');
is($r->{json}{totalResults}, 1, 'HTTPS + StartTLS: filtered read');
is(person('tls-starttls@lincoln.example')->{sn}[0], 'Starttls', 'LDAP: the entry is in the directory');

my @svc = service_conns($from);
ok(@svc >= 1, 'slapd: the bridge bound as the service account') or diag explain slapd_conns($from);
is(scalar(grep { !$_->{bind_tls} } @svc), 0, 'slapd: ... only on connections where TLS was established first')
    or diag explain \@svc;
is(scalar(grep { !$_->{starttls} } @svc), 0, 'slapd: ... by StartTLS (the ldap:// port)');

# Clients: plain HTTP to the TLS port gets no HTTP answer; a client that
# does not trust the CA refuses the certificate.
$r = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$b->{port}/healthz");
isnt($r->{status}, 200, 'plain http:// to the HTTPS port: no answer') or diag explain $r;
$r = RBBridge::curl_request(GET => "$b->{base}/healthz", ca_file => "$tmp/wrong-ca.pem");
is($r->{status}, 599, 'https:// without trusting the CA: the certificate is refused');
is($r->{curl_exit}, 60, '... as an unverifiable certificate (curl exit 60)');
$b->stop;
is($b->{exit}, 0, 'HTTPS bridge: clean exit');
unlike($b->log_text, qr/StartTLS failed|warn ldap:/, 'no LDAP warning in its log');

# ---- (b) ldaps:// behind ---------------------------------------------------------
$from = log_size();
$b = RBBridge->start($dir, ldap_uri => $dir->{ldaps_uri}, ldap_tls_ca_file => $dir->{ca_file});
$r = $b->req(POST => '/Users', token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'tls-ldaps@lincoln.example' });
is($r->{status}, 201, 'ldaps://: POST /Users') or diag explain $r;
like($b->log_text, qr{directory ldaps://\S+ \(TLS, certificate verified\)}, 'ldaps://: the startup log line says TLS');
$id = $r->{json}{id} // '';
$r = $b->req(GET => "/Users/$id", token => 'demo-okta');
is($r->{json}{userName}, 'tls-ldaps@lincoln.example', 'ldaps://: GET reads it back');
ok(person('tls-ldaps@lincoln.example'), 'LDAP: the entry is in the directory');
@svc = service_conns($from);
ok(@svc >= 1, 'slapd: the bridge bound as the service account');
is(scalar(grep { !$_->{bind_tls} || ($_->{listener} // 0) != $dir->{ldaps_port} } @svc), 0,
   'slapd: ... only on the ldaps:// listener, with TLS established') or diag explain \@svc;
$b->stop;

# ---- (c) a CA that did not sign the directory's certificate ----------------------
for my $case (['StartTLS', ldap_starttls => 1, ldap_tls_ca_file => "$tmp/wrong-ca.pem"],
              ['ldaps://', ldap_uri => $dir->{ldaps_uri}, ldap_tls_ca_file => "$tmp/wrong-ca.pem"],
              ['StartTLS, system CAs only', ldap_starttls => 1]) {
    my ($name, %opt) = @$case;
    $from = log_size();
    $b = RBBridge->start($dir, %opt);
    $r = $b->req(GET => '/Users', token => 'demo-okta');
    is($r->{status}, 503, "$name, untrusted certificate: SCIM read 503");
    ok($r->{headers}{'retry-after'}, '... with Retry-After');
    is($r->{json}{status}, '503', '... as a SCIM error');
    $r = $b->req(POST => '/Users', token => 'demo-okta', json => {
        schemas => ['urn:ietf:params:scim:schemas:core:2.0:User'], userName => 'tls-never@lincoln.example' });
    is($r->{status}, 503, "$name: SCIM write 503");
    is($b->req(GET => '/readyz')->{status}, 503, "$name: /readyz 503");
    my $log = $b->log_text;
    my $what = $opt{ldap_starttls} ? 'StartTLS' : 'TLS connection';
    like($log, qr{warn ldap: \S+: \Q$what\E failed .*TLS handshake did not succeed.*not connecting in cleartext},
         "$name: the log says why");
    like($log, $opt{ldap_tls_ca_file} ? qr{\Q$opt{ldap_tls_ca_file}\E} : qr{the system's CA store},
         '... and names the CA it trusted');
    is(scalar(service_conns($from)), 0, "$name: slapd saw no bind as the service account (no cleartext fallback)")
        or diag explain slapd_conns($from);
    $b->stop;
}
ok(!person('tls-never@lincoln.example'), 'LDAP: no write went through');

# ---- StartTLS against a directory without TLS: refused, not cleartext ---------------
my $plain = RBTest::start_directory(noseed => 1);
$b = RBBridge->start($plain, ldap_starttls => 1);
is($b->req(GET => '/Users', token => 'demo-okta')->{status}, 503, 'StartTLS to a slapd without TLS: 503');
like($b->log_text, qr{StartTLS failed: .*not connecting in cleartext}, '... logged');
$b->stop;

done_testing();
