#!/usr/bin/env perl
# 87-kit-upgrade.t — the directory kit's numbered upgrade steps
# (conf/directory/upgrade/NNNN-*.ldif) and Argon2, on an operator's slapd
# changed ONLINE over its ldapi socket (as docs/install.md says): the kit as
# it was one step ago (directory-kit --upto) → `rosterbridge
# --check-directory --config-uri` names the last step, with the command
# that applies it, and nothing else; that command → the check passes. Here
# the kit as of step 0001, then 0002, Argon2: before it a password the bridge
# sets is stored {SSHA}, after it {ARGON2} (read as the rootdn); both bind.
# Then 0003, the default password policy: before it five wrong passwords lock
# nobody, after it they lock a person (slapd's pwdAccountLockedTime), never
# the service account (its pwdPolicySubentry, added with the policies).
# Then, on a second operator's slapd whose schema is the one steps 0001-0004
# asked for (without rbCreatePending and the guard's definitions): the kit
# up to 0004 → the check names steps 0005 and 0006 with the schema entry's DN and the
# missing definitions, and a create with a password and a guarded removal
# fail → the command the check printed → the check passes, the create binds
# and the guard holds what a source removes beyond its share. And on a third
# whose schema is the first kit's, at step 0003: the check names 0004 and
# 0005 and the missing definitions; 0004 fails without them, 0005 (the
# schema) then 0004 pass.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use RBTest qw(ldapsearch ldapadd ldapwhoami srcdir);
use RBBridge;
use RBOperatorSlapd;

my $src = srcdir();
my $S = 'dc=upgrade,dc=test';
my ($tmp, $port, $ldapi);    # the operator's slapd of the section under test
my $admin_pw = 'upg-admin-' . int(rand(1e9));
my $service_pw = 'upg-service-' . int(rand(1e9));
sub run_cmd { return RBTest::_run(@_); }
sub hash { return RBOperatorSlapd::hash(@_); }
sub ext { my ($ldif) = @_; return run_cmd(['ldapmodify', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi], stdin => $ldif); }
sub kit { my ($rc, $out, $err) = run_cmd(["$src/scripts/directory-kit", @_]); is($rc, 0, "directory-kit @_") or diag $err; return $out; }
sub kit_has_schema {
    my ($name) = @_;
    open my $f, '<', "$src/conf/directory/upgrade/$name.ldif" or return 0;
    return scalar grep { /^dn: \@SCHEMA\@/ } <$f>;
}

# ---- an operator's slapd, not ours -----------------------------------------------------
my $op = RBOperatorSlapd->start(suffix => $S, admin_pw => $admin_pw, prefix => 'rbupg', indexes => ['cn,uid eq', 'member eq']);
($tmp, $port, $ldapi) = @$op{qw(tmp port ldapi)};
my ($rc, $out, $err);

# ---- the kit as it was before the last step ---------------------------------------------------
my @steps = split /\n/, kit('--list');
ok(@steps >= 2, "the kit has numbered steps: @steps");
is_deeply([@steps[1, 2]], ['0002-argon2', '0003-password-policy'], 'steps 0002-argon2 and 0003-password-policy');
my ($last, $before, $policy_step) = ('0002', '0001', '0003');
my $policy_name = $steps[2];
my @later = @steps[3 .. $#steps];    # steps after 0003 (applied at the end)
($rc, $out, $err) = run_cmd(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-f', "$src/schema/rosterbridge.ldif"]);
is($rc, 0, 'ldapadd schema/rosterbridge.ldif') or diag "$out$err";
($rc, $out, $err) = ext(kit('--upto', $before, $S));
is($rc, 0, "the kit up to step $before, applied with ldapmodify") or diag "$out$err";
for my $t (qw(demo other statewide)) {
    ($rc, $out, $err) = ext(kit('--tenant', $t, $S));
    is($rc, 0, "tenant $t: its reader's rule") or diag "$out$err";
}
my (undef, $hashcfg) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-b',
                                'olcDatabase={-1}frontend,cn=config', '-s', 'base', 'olcPasswordHash']);
like($hashcfg, qr/^olcPasswordHash: \{SSHA\}$/m, 'before step 0002: {SSHA}');

my $dir;
sub populate {
    $dir = { uri => "ldap://127.0.0.1:$port", suffix => $S, data_dir => $tmp,
             service_dn => "cn=rosterbridge,$S", service_pw => $service_pw,
             admin_dn => "cn=admin,$S", admin_pw => $admin_pw, readers => {} };
    my $base = "dn: $S\nobjectClass: dcObject\nobjectClass: organization\ndc: upgrade\no: upgrade\n\n"
        . "dn: cn=rosterbridge,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: rosterbridge\nuserPassword: "
        . hash($service_pw) . "\n\n";
    for my $t (qw(demo other statewide)) {
        my $kind = $t eq 'statewide' ? 'partnership' : 'district';
        $base .= "dn: o=$t,$S\nobjectClass: organization\nobjectClass: rbTenant\no: $t\nrbTenantKind: $kind\n\n";
        $base .= "dn: ou=$_,o=$t,$S\nobjectClass: organizationalUnit\nou: $_\n\n" for qw(people groups schools regions);
        $base .= "dn: cn=reader,o=$t,$S\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: "
            . hash("upg-reader-$t") . "\n\n";
    }
    my ($prc, $pout) = ldapadd($dir, $base, as => 'admin');
    is($prc, 0, 'the suffix, the service account and three tenants') or diag $pout;
    ($prc, $pout) = RBTest::ldapmodify($dir, kit('--policies', $S, qw(demo other statewide)), as => 'admin');
    is($prc, 0, "the kit's password policies and the accounts' pwdPolicySubentry, as the directory admin") or diag $pout;
}
populate();

my $b = RBBridge->start($dir);
{
    # Before step 0008 the directory has no syncprov: the group table's sync
    # search is refused, said once, and groups are read per request (the
    # SCIM checks below pass through that path).
    my $said;
    for (1 .. 100) { last if ($said = $b->log_text =~ /group table: the directory refused the sync search/); select(undef, undef, undef, 0.05); }
    ok($said, 'without syncprov (before step 0008) the bridge says its group table is refused') or diag $b->log_text;
}
my $bin = RBBridge::build_dir() . '/rosterbridge';
sub check {
    my ($crc, $cout, $cerr) = run_cmd([$bin, '-f', $b->{conf}, '--check-directory', '--config-uri', $ldapi]);
    return ($crc, $cout . $cerr);
}
my $CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
sub person {
    my ($name, $pw) = @_;
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
        userName => "$name\@upgrade.test", name => { givenName => $name, familyName => 'Upgrade' },
        password => $pw });
    is($r->{status}, 201, "POST /Users $name with a password") or diag explain $r->{json};
    return "uid=$name\@upgrade.test,ou=people,o=demo,$S";
}
sub stored { my ($e) = ldapsearch($dir, as => 'admin', base => $_[0], scope => 'base', attrs => ['userPassword']);
             return $e->[0]{userPassword}[0] // ''; }

# ---- the check names the missing step -------------------------------------------------------------
($rc, $out) = check();
is($rc, 1, "check without step $last: exit 1");
my $fix = "scripts/directory-kit --step $last \Q$S\E DATABASE_DN \\| ldapmodify -Y EXTERNAL -H ldapi:///";
like($out, qr/^MISSING\s+directory kit upgrade step \Q$steps[1]\E not applied\n\s+fix: $fix/m,
     "it names step $steps[1] and the command that applies it");
# (the later steps are missing too: 0003's default password policy is checked below)
my @missing = grep { !/upgrade step (?!\Q$steps[1]\E)/ && !/olcPPolicyDefault/ } $out =~ /^MISSING\s+(.*)$/mg;
is_deeply(\@missing, ["directory kit upgrade step $steps[1] not applied"], '... and nothing else')
    or diag $out;
like($out, qr/^note\s+password hashing: \{SSHA\}/m, '... and says passwords are hashed {SSHA}');
my $ada = person('ada', 'ada-secret-1');
like(stored($ada), qr/^\{SSHA\}/, 'a password set now is stored {SSHA}');

# ---- apply it ---------------------------------------------------------------------------------------------
my $step = kit('--step', $last, $S);
like($step, qr/olcModuleLoad: argon2/, 'step 0002 loads the argon2 module (Debian ships it)');
($rc, $out, $err) = ext($step);
is($rc, 0, "step $last applied with ldapmodify -Y EXTERNAL") or diag "$out$err";
($rc, $out) = check();
unlike($out, qr/^MISSING\s+directory kit upgrade step \Q$steps[1]\E/m, "step $steps[1] is no longer named") or diag $out;
like($out, qr/^ok\s+password hashing: \{ARGON2\}$/m, '... hashing with Argon2');

my $grace = person('grace', 'grace-secret-2');
like(stored($grace), qr/^\{ARGON2\}\$argon2/, 'a password set after it: {ARGON2}, read as the rootdn');
is((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... and the person binds with it');
isnt((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-x'))[0], 0, '... not with another');
like(stored($ada), qr/^\{SSHA\}/, 'the password stored before keeps its {SSHA} value');
is((ldapwhoami($dir, dn => $ada, pw => 'ada-secret-1'))[0], 0, '... and still binds');
my $id = $b->req(GET => '/Users?filter=userName%20eq%20%22ada%40upgrade.test%22', token => 'demo-okta')->{json}{Resources}[0]{id};
my $r = $b->req(PATCH => "/Users/$id", token => 'demo-okta', json => {
    schemas => ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations => [{ op => 'replace', path => 'password', value => 'ada-secret-3' }] });
ok($r->{status} == 200 || $r->{status} == 204, 'ada\'s password set again') or diag explain $r->{json};
like(stored($ada), qr/^\{ARGON2\}/, '... and now stored {ARGON2}');
is((ldapwhoami($dir, dn => $ada, pw => 'ada-secret-3'))[0], 0, '... binding with the new one');

# ---- step 0003: the default password policy -------------------------------------------------------------
sub locked { my ($e) = ldapsearch($dir, as => 'admin', base => $_[0], scope => 'base', attrs => ['pwdAccountLockedTime']);
             return $e->[0]{pwdAccountLockedTime}; }
like($out, qr/^MISSING\s+directory kit upgrade step \Q$policy_name\E not applied/m, "the check names step $policy_name");
like($out, qr/^MISSING\s+ppolicy on .* has no default policy \(olcPPolicyDefault\)/m, '... and the missing default policy');
isnt((ldapwhoami($dir, dn => $grace, pw => "wrong-$_"))[0], 0, "grace: wrong password $_ (no policy yet)") for 1 .. 5;
ok(!locked($grace), '... nobody locked before the step');
is((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... grace binds');
($rc, $out, $err) = ext(kit('--step', $policy_step, $S));
is($rc, 0, "step $policy_step applied with ldapmodify -Y EXTERNAL") or diag "$out$err";
sub schema_dn {
    my (undef, $o) = run_cmd(['ldapsearch', '-LLL', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-b', 'cn=schema,cn=config',
                              '-s', 'one', '(cn=*}rosterbridge)', 'dn']);
    return $o =~ /^dn: (.*)$/m ? $1 : 'cn=?';
}
for my $later (@later) {
    my ($n) = $later =~ /^(\d{4})-/;
    # a step that changes the schema entry takes its DN (replacing the
    # definitions with the ones this schema has already: a no-op here)
    my @schema = ($later eq '0005-schema' || kit_has_schema($later)) ? ('olcDatabase={1}mdb,cn=config', schema_dn()) : ();
    ($rc, $out, $err) = ext(kit('--step', $n, $S, @schema));
    is($rc, 0, "(later step $later applied)") or diag "$out$err";
}
($rc, $out) = check();
is($rc, 0, 'now the check passes') or diag $out;
like($out, qr/^ok\s+directory kit upgrade steps: all \d+ applied \(up to \Q$steps[-1]\E\)$/m, '... every step applied');
like($out, qr/^ok\s+default password policy \(olcPPolicyDefault\): cn=administrators,ou=policies,/m, '... the default policy locks out');
isnt((ldapwhoami($dir, dn => $grace, pw => "wrong-$_"))[0], 0, "grace: wrong password $_") for 1 .. 5;
ok(locked($grace), '... now slapd locks her (pwdAccountLockedTime)');
isnt((ldapwhoami($dir, dn => $grace, pw => 'grace-secret-2'))[0], 0, '... and refuses her right password');
isnt((ldapwhoami($dir, dn => $dir->{service_dn}, pw => "wrong-$_"))[0], 0, "service account: wrong password $_") for 1 .. 6;
ok(!locked($dir->{service_dn}), '... the service account is never locked (its no-lockout policy)');
is((ldapwhoami($dir, as => 'service'))[0], 0, '... and still binds');

# ---- step 0004: membership on the members (applied with the later steps) ------------------------------
my $aid = $b->req(GET => '/Users?filter=userName%20eq%20%22ada%40upgrade.test%22', token => 'demo-okta')->{json}{Resources}[0]{id};
my $gr = $b->req(POST => '/Groups', token => 'demo-entra', json => { schemas => ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName => 'Upgraded', members => [{ value => $aid }] });
is($gr->{status}, 201, 'after step 0004: POST /Groups with ada') or diag explain $gr->{json};
my ($ge) = ldapsearch($dir, as => 'admin', base => "cn=Upgraded,ou=groups,o=demo,$S", scope => 'base', attrs => ['member']);
is(lc($ge->[0]{member}[0] // ''), lc $ada, "... the group's member, through dynlist");

# ---- step 0005 on a directory whose schema is the one steps 0001-0004 asked for ------------------
# A second operator's slapd. Its schema: this version's without what came
# with no step before 0005 (rbCreatePending, the guard's attributes and
# classes), i.e. what an operator who followed steps 0001-0004 loaded.
$b->stop if $b->can('stop');
$op = RBOperatorSlapd->start(suffix => $S, admin_pw => $admin_pw, prefix => 'rbupg5', indexes => ['cn,uid eq', 'member eq']);
($tmp, $port, $ldapi) = @$op{qw(tmp port ldapi)};
my %later_oid = map { ("2.25.294763386475673295328657436818623676422.$_" => 1) } qw(1.80 1.83 1.84 1.85 1.86 1.87 1.115 2.24 2.25 1.100);
my $schema_now = do { local $/; open my $f, '<', "$src/schema/rosterbridge.ldif" or die; <$f> };
my $schema_0004 = '';
for my $rec (split /\n(?=\S)/, $schema_now) {    # one attribute value (with its folded lines) a record
    my ($oid) = $rec =~ /^olc(?:AttributeTypes|ObjectClasses): \( (\S+)/;
    next if $oid && $later_oid{$oid};
    $rec =~ s/ \$ rbCreatePending//;
    $rec =~ s/ \$ rbFormerId//;    # step 0006 (merged creates across providers)
    $schema_0004 .= "$rec\n";
}
unlike($schema_0004, qr/rbGuard|rbCreatePending|rbFormerId/, 'the old schema: no rbCreatePending, no guard definitions, no rbFormerId');
($rc, $out, $err) = run_cmd(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi], stdin => $schema_0004);
is($rc, 0, 'operator 2: ldapadd the schema of steps 0001-0004') or diag "$out$err";
($rc, $out, $err) = ext(kit('--upto', '0004', $S));
is($rc, 0, 'operator 2: the kit up to step 0004') or diag "$out$err";
for my $t (qw(demo other statewide)) {
    ($rc, $out, $err) = ext(kit('--tenant', $t, $S));
    is($rc, 0, "operator 2: tenant ${t}'s reader rule") or diag "$out$err";
}
populate();
my $ophash = `$bin -H demo-operator-5`;
chomp $ophash;
$b = RBBridge->start($dir, guard_share_percent => undef,    # the defaults: 50%, 24 h, at least 2
                     extra_conf => "token $ophash tenant=demo source=in-product rights=write\n");
my $sdn = schema_dn();
like($sdn, qr/^cn=\{\d+\}rosterbridge,cn=schema,cn=config$/, "the schema entry: $sdn");
($rc, $out) = check();
is($rc, 1, 'check before step 0005: exit 1');
like($out, qr/^MISSING\s+directory kit upgrade step 0005-schema not applied\n\s+fix: scripts\/directory-kit --step 0005 \Q$S\E DATABASE_DN '\Q$sdn\E' \| ldapmodify/m,
     '... names step 0005 with the schema entry\'s DN') or diag $out;
like($out, qr/^MISSING\s+directory kit upgrade step 0006-former-id not applied\n\s+fix: scripts\/directory-kit --step 0006 \Q$S\E DATABASE_DN '\Q$sdn\E' \| ldapmodify/m,
     '... and step 0006, the same way') or diag $out;
like($out, qr/^MISSING\s+schema: 10 of \d+ definitions missing: rbFormerId, rbCreatePending, rbGuardAction, rbGuardPerson, rbGuardAt, rbGuardBase, rbGuardRemoval, rbGuardCount, rbGuardWindow, rbGuardHeld\n\s+fix: .*--step 0006/m,
     '... and the definitions missing, each by name') or diag $out;
# the steps after 0005 (0007, the service account's rule first, ...) are missing too:
# they are applied after 0005 below
my @after5 = grep { $_ gt '0005' } map { /^(\d{4})-/ ? $1 : () } @steps;
my @others = grep { my $m = $_; !/upgrade step 0005|definitions missing/ && !grep { $m =~ /upgrade step \Q$_\E-/ } @after5 }
    $out =~ /^MISSING\s+(.*)$/mg;
is_deeply(\@others, [], '... and nothing else') or diag $out;

# before the step: what the missing definitions break
my $r5 = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
    userName => "kate\@upgrade.test", name => { givenName => 'Kate', familyName => 'Upgrade' }, password => 'kate-secret-5' });
isnt($r5->{status}, 201, "before step 0005: a create with a password fails ($r5->{status}: rbCreatePending undefined)");
my @gone;
for my $i (1 .. 4) {
    my $r = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
        userName => "g$i\@upgrade.test", name => { givenName => "G$i", familyName => 'Upgrade' } });
    is($r->{status}, 201, "POST /Users g$i (no password)") or diag explain $r->{json};
    push @gone, $r->{json}{id};
}
$r5 = $b->req(DELETE => "/Users/$gone[0]", token => 'demo-okta');
ok($r5->{status} >= 400, "before step 0005: a removal the guard counts fails ($r5->{status}: rbGuardWindow undefined)");

# the command the check printed
my ($fixcmd) = $out =~ /upgrade step 0005-schema not applied\n\s+fix: (scripts\/directory-kit [^|]*)\|/;
my @args = ($fixcmd // '') =~ /'[^']*'|\S+/g;
s/^'(.*)'$/$1/ for @args;
shift @args;    # scripts/directory-kit
s/^DATABASE_DN$/olcDatabase={1}mdb,cn=config/ for @args;
($rc, $out, $err) = ext(kit(@args));
is($rc, 0, 'step 0005 applied with the command the check printed') or diag "$out$err";
for my $n (@after5) {    # a step that changes the schema entry (0006) takes its DN too
    my $name = (grep { /^\Q$n\E-/ } @steps)[0];
    ($rc, $out, $err) = ext(kit('--step', $n, $S, kit_has_schema($name) ? ('olcDatabase={1}mdb,cn=config', $sdn) : ()));
    is($rc, 0, "step $n applied") or diag "$out$err";
}
($rc, $out) = check();
is($rc, 0, 'after steps 0005 and 0006 the check passes') or diag $out;
like($out, qr/^ok\s+schema: every rosterbridge attribute type and object class$/m, '... the schema is complete');
like($out, qr/^ok\s+directory kit upgrade steps: all \d+ applied/m, '... every step applied');

# after the step: the kill-safe create and the guard work
$r5 = $b->req(POST => '/Users', token => 'demo-okta', json => { schemas => [$CORE],
    userName => "kate\@upgrade.test", name => { givenName => 'Kate', familyName => 'Upgrade' }, password => 'kate-secret-5' });
is($r5->{status}, 201, 'after step 0005: a create with a password') or diag explain $r5->{json};
my $kate = "uid=kate\@upgrade.test,ou=people,o=demo,$S";
is((ldapwhoami($dir, dn => $kate, pw => 'kate-secret-5'))[0], 0, '... and the person binds with it');
my ($ke) = ldapsearch($dir, as => 'admin', base => $kate, scope => 'base', attrs => ['rbCreatePending']);
ok(!$ke->[0]{rbCreatePending}, '... no create mark left on it');
my (%st, @st);
for my $id (@gone) { push @st, $b->req(DELETE => "/Users/$id", token => 'demo-okta')->{status}; }
$st{$_}++ for @st;
# okta holds 5 people (g1-g4 and kate): max(2, 50% of 5) = 2 removals, the other 2 held
is_deeply([@st], [204, 204, 202, 202], 'okta deletes 4 of its 5 people: 2 applied, 2 held (202)') or diag "@st";
my $held = $b->req(GET => '/operator/v1/held', token => 'demo-operator-5');
is(scalar @{ $held->{json}{Resources} // [] }, 2, '... the operator sees the 2 held removals') or diag explain $held->{json};

# ---- an operator still at step 0003 with the first kit's schema: 0005 before 0004 --------------
# Step 0004 needs definitions (rbGroupRef, rbMembersURL, rbDynlistAnchor)
# that only 0005 gives: it fails first, 0005 (the schema) then 0004 pass.
$b->stop if $b->can('stop');
$op = RBOperatorSlapd->start(suffix => $S, admin_pw => $admin_pw, prefix => 'rbupg3', indexes => ['cn,uid eq', 'member eq']);
($tmp, $port, $ldapi) = @$op{qw(tmp port ldapi)};
($rc, $out, $err) = run_cmd(['ldapadd', '-Q', '-Y', 'EXTERNAL', '-H', $ldapi, '-f', "$src/tests/kit/schema-0001.ldif"]);
is($rc, 0, 'operator 3: ldapadd the schema the first kit shipped') or diag "$out$err";
($rc, $out, $err) = ext(kit('--upto', '0003', $S));
is($rc, 0, 'operator 3: the kit up to step 0003') or diag "$out$err";
for my $t (qw(demo other statewide)) {
    ($rc, $out, $err) = ext(kit('--tenant', $t, $S));
    is($rc, 0, "operator 3: tenant ${t}'s reader rule") or diag "$out$err";
}
populate();
$b = RBBridge->start($dir);
($rc, $out) = check();
is($rc, 1, 'operator 3: the check fails');
my @named = $out =~ /^MISSING\s+directory kit upgrade step (\S+) not applied/mg;
is_deeply(\@named, [grep { $_ gt '0004' } @steps], '... naming steps 0004, 0005 (and any later one)') or diag $out;
like($out, qr/^MISSING\s+schema: 13 of \d+ definitions missing: rbGroupRef, rbFormerId, rbMembersURL, rbCreatePending, /m,
     '... and the definitions missing') or diag $out;
($rc, $out, $err) = ext(kit('--step', '0004', $S));
isnt($rc, 0, 'step 0004 before 0005 fails (its definitions are not there)');
($rc, $out, $err) = ext(kit('--step', '0005', $S, 'olcDatabase={1}mdb,cn=config', schema_dn()));
is($rc, 0, 'step 0005 first (the schema)') or diag "$out$err";
($rc, $out, $err) = ext(kit('--step', '0004', $S));
is($rc, 0, '... then step 0004') or diag "$out$err";
for my $n (@after5) {    # 0006 changes the schema entry: its DN too
    my $name = (grep { /^\Q$n\E-/ } @steps)[0];
    ($rc, $out, $err) = ext(kit('--step', $n, $S, kit_has_schema($name) ? ('olcDatabase={1}mdb,cn=config', schema_dn()) : ()));
    is($rc, 0, "... and step $n") or diag "$out$err";
}
($rc, $out) = check();
is($rc, 0, 'operator 3: now the check passes') or diag $out;

done_testing();
