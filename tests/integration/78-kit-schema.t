#!/usr/bin/env perl
# 78-kit-schema.t — nothing the bridge needs in the schema or the indexes is
# left out of the directory kit's steps (scripts/kit-schema-diff): the
# schema the kit first shipped (tests/kit/schema-0001.ldif) with every
# upgrade step's schema changes is schema/rosterbridge.ldif, definition by
# definition; the private directory (scripts/directory, as make run and the
# tests build it) has that schema and exactly the indexes of
# 30-database.ldif with the steps' changes. And the script can fail: up to
# step 0004 it names what step 0005 brought (rbCreatePending, the guard's,
# the membership definitions step 0004 left to a manual reload) and step
# 0006's rbFormerId; up to step 0005, rbFormerId alone.
use strict;
use warnings;
use Test::More;
use RBTest;

my $src = RBTest::srcdir();
my $dir = RBTest::start_directory();
my ($rc, $out, $err) = RBTest::_run(["$src/scripts/kit-schema-diff", '--private', $dir->{data_dir}]);
is($rc, 0, 'kit-schema-diff --private: no difference') or diag "$out$err";
like($out, qr/^ok\s+schema\/rosterbridge\.ldif vs the baseline \+ steps: all \d+ definitions$/m, '... the schema file = baseline + steps');
like($out, qr/^ok\s+the private directory's schema vs the baseline \+ steps: all \d+ definitions$/m, '... so is the private directory\'s');
like($out, qr/^ok\s+indexes: the private directory's \d+ = 30-database\.ldif \+ steps$/m, '... and its indexes');

($rc, $out, $err) = RBTest::_run(["$src/scripts/kit-schema-diff", '--upto', '0004']);
is($rc, 1, 'up to step 0004: differences (exit 1)');
my @missing = sort $out =~ /^MISSING\s+\S.* (?:attribute type|object class) (\w+) \(/mg;
is_deeply(\@missing, [sort qw(rbCreatePending rbGuardAction rbGuardPerson rbGuardAt rbGuardBase rbGuardRemoval rbGuardCount
                            rbGroupRef rbMembersURL rbGuardWindow rbGuardHeld rbDynlistAnchor rbFormerId)],
          '... the definitions steps 0005 and 0006 give') or diag $out;
my @differs = sort $out =~ /^DIFFERS\s+.* object class (\w+)$/mg;
is_deeply(\@differs, [qw(rbGroup rbPerson rbSchool rbSchoolViewers)], '... and the classes whose MAY lists it changes') or diag $out;

($rc, $out, $err) = RBTest::_run(["$src/scripts/kit-schema-diff", '--upto', '0005']);
is($rc, 1, 'up to step 0005: differences (exit 1)');
@missing = sort $out =~ /^MISSING\s+\S.* (?:attribute type|object class) (\w+) \(/mg;
is_deeply(\@missing, ['rbFormerId'], '... the definition step 0006 gives (merged creates across providers)') or diag $out;
@differs = sort $out =~ /^DIFFERS\s+.* object class (\w+)$/mg;
is_deeply(\@differs, ['rbPerson'], '... and the class whose MAY list it changes') or diag $out;

done_testing();
