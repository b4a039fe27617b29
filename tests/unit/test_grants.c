/*
 * test_grants.c — grants read from entry maps, the access summary, and the
 * no-escalation rule (SPEC §1), without a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dir/entry.h"
#include "dir/grants.h"

#define S1 "5eed0001-0000-4000-8000-000000000001"
#define S2 "5eed0001-0000-4000-8000-000000000002"
#define S3 "5eed0001-0000-4000-8000-000000000003"

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s", e.text);
	return j;
}

static void
test_list_and_summary(void **state)
{
	json_t *person = load("{\"rbpermission;x-src-okta\":[\"manage\"],"
	                      "\"rbscope;x-src-okta\":[\"school\"],"
	                      "\"rbschoolref;x-src-okta\":[\"" S1 "\",\"" S2 "\"],"
	                      "\"rbpermission;x-src-clever\":[\"view\"],"
	                      "\"rbscope;x-src-clever\":[\"district\"],"
	                      "\"rbpermission;x-src-entra\":[\"manage\"],"
	                      "\"rbscope;x-src-entra\":[\"district\"],"
	                      "\"rbactive;x-src-entra\":[\"FALSE\"]}");
	json_t *groups = load("[{\"entryuuid\":[\"g1\"],\"rbsource\":[\"okta\"],"
	                      "\"rbpermission\":[\"manage\"],\"rbscope\":[\"region\"],"
	                      "\"rbregionref\":[\"north\"]},"
	                      "{\"entryuuid\":[\"g3\"],\"rbsource\":[\"entra\"],"
	                      "\"rbpermission\":[\"manage\"],\"rbscope\":[\"region\"],"
	                      "\"rbregionref\":[\"south\"]},"
	                      "{\"entryuuid\":[\"g2\"],\"cn\":[\"plain\"]}]");
	json_t *grants, *summary;

	(void)state;
	grants = grants_list(person, groups);
	/* three direct grants + two role groups; the plain group confers nothing */
	assert_int_equal(json_array_size(grants), 5);
	/* a role group's grant is labelled with its owner, and the owner's
	 * active=false on the person (entra's) suspends it */
	assert_string_equal(json_string_value(json_object_get(json_array_get(grants, 4), "source")),
	                    "entra");
	assert_false(json_is_true(json_object_get(json_array_get(grants, 4), "active")));
	assert_true(json_is_true(json_object_get(json_array_get(grants, 3), "active")));
	summary = grants_summary(grants);
	/* clever's district view; entra's district manage and its role group's
	 * south region are suspended; okta's role group's north region counts */
	assert_string_equal(entry_map_first(summary, "rbviewall"), "TRUE");
	assert_null(json_object_get(summary, "rbmanageall"));
	assert_int_equal(json_array_size(json_object_get(summary, "rbmanageschool")), 2);
	assert_int_equal(json_array_size(json_object_get(summary, "rbmanageregion")), 1);
	assert_string_equal(entry_map_first(summary, "rbmanageregion"), "north");
	assert_int_equal(json_array_size(json_object_get(summary, "rbviewregion")), 1);
	assert_string_equal(entry_map_first(summary, "rbviewregion"), "north");
	assert_true(grants_summary_desc("rbmanageschool"));
	assert_false(grants_summary_desc("rbpermission"));
	json_decref(summary);
	json_decref(grants);
	json_decref(groups);
	json_decref(person);
}

static void
test_no_grant_no_access(void **state)
{
	json_t *person = load("{\"uid\":[\"x\"],\"rbpermission;x-src-okta\":[\"view\"],"
	                      "\"rbactive;x-src-okta\":[\"FALSE\"]}");
	json_t *grants = grants_list(person, NULL), *summary = grants_summary(grants);

	(void)state;
	assert_int_equal(json_array_size(grants), 1);
	assert_int_equal(json_object_size(summary), 0);
	json_decref(summary);
	json_decref(grants);
	json_decref(person);
}

/*
 * The bind lock (grants.h): rbBindLocked when no active grant (direct or
 * through a role group) and no source's rbActive;x-src-S is TRUE, while
 * some source has set active at all. Person entry map, role groups, locked?
 */
#define ROLE(active)                                                                               \
	"[{\"entryuuid\":[\"g1\"],\"rbsource\":[\"entra\"],\"rbpermission\":[\"view\"],"           \
	"\"rbscope\":[\"district\"]" active "}]"
static const struct {
	const char *person;
	const char *groups;
	bool locked;
	const char *why;
} bind_lock[] = {
    {"{\"uid\":[\"a\"]}", "[]", false, "nobody set active, no grant: active as SCIM reads it"},
    {"{\"rbactive;x-src-okta\":[\"TRUE\"]}", "[]", false,
     "an ordinary user pushed active by an IdP"},
    {"{\"rbactive;x-src-okta\":[\"FALSE\"]}", "[]", true, "its only source suspended it"},
    {"{\"rbactive;x-src-okta\":[\"FALSE\"],\"rbactive;x-src-entra\":[\"TRUE\"]}", "[]", false,
     "another source holds it active"},
    {"{\"rbactive;x-src-okta\":[\"FALSE\"],\"rbactive;x-src-entra\":[\"FALSE\"]}", "[]", true,
     "every source suspended it"},
    {"{\"rbactive;x-src-okta\":[\"FALSE\"],\"rbexternalid;x-src-entra\":[\"e1\"]}", "[]", true,
     "a second source holds it without saying active"},
    {"{\"rbpermission;x-src-okta\":[\"manage\"],\"rbscope;x-src-okta\":[\"district\"],"
     "\"rbactive;x-src-okta\":[\"FALSE\"]}",
     "[]", true, "an administrator whose only grant is suspended"},
    {"{\"rbpermission;x-src-okta\":[\"manage\"],\"rbscope;x-src-okta\":[\"district\"],"
     "\"rbactive;x-src-okta\":[\"FALSE\"],\"rbpermission;x-src-entra\":[\"view\"],"
     "\"rbscope;x-src-entra\":[\"district\"]}",
     "[]", false, "one active grant from another source (no rbActive: active by default)"},
    {"{\"rbpermission;x-src-okta\":[\"view\"],\"rbscope;x-src-okta\":[\"school\"]}", "[]", false,
     "a grant with no active flag is active"},
    {"{\"rbpermission;x-src-okta\":[\"view\"],\"rbscope;x-src-okta\":[\"district\"],"
     "\"rbactive;x-src-okta\":[\"FALSE\"],\"rbpermission;x-src-entra\":[\"view\"],"
     "\"rbscope;x-src-entra\":[\"district\"],\"rbactive;x-src-entra\":[\"FALSE\"]}",
     "[]", true, "every grant suspended"},
    {"{\"rbactive;x-src-okta\":[\"FALSE\"]}", ROLE(""), false,
     "an active role-group grant of another source vouches"},
    {"{\"rbactive;x-src-entra\":[\"FALSE\"]}", ROLE(""), true,
     "the group owner's active=false suspends its role-group grant"},
    {"{\"rbactive;x-src-entra\":[\"FALSE\"]}", ROLE(",\"rbactive\":[\"FALSE\"]"), true,
     "a suspended role group does not"},
    {"{\"rbactive;x-src-entra\":[\"FALSE\"]}", "[{\"entryuuid\":[\"g2\"],\"cn\":[\"plain\"]}]",
     true, "a plain group confers nothing"},
    {"{\"rbactive;x-src-entra\":[\"TRUE\"]}", ROLE(",\"rbactive\":[\"FALSE\"]"), false,
     "a suspended role group, but a source holds it active"},
    {"{\"rbactive\":[\"FALSE\"]}", "[]", false,
     "an untagged rbActive is no source's word (persons carry none)"},
};

static void
test_bind_lock(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bind_lock) / sizeof(bind_lock[0]); i++) {
		json_t *person = load(bind_lock[i].person), *groups = load(bind_lock[i].groups);
		json_t *grants = grants_list(person, groups), *access;
		bool locked = grants_bind_locked(person, grants);

		if (locked != bind_lock[i].locked)
			fail_msg("%s: locked=%d", bind_lock[i].why, locked);
		/* grants_access writes it with the summary, only when locked */
		access = grants_access(person, grants);
		if (bind_lock[i].locked)
			assert_string_equal(entry_map_first(access, "rbbindlocked"), "TRUE");
		else
			assert_null(json_object_get(access, "rbbindlocked"));
		json_decref(access);
		json_decref(grants);
		json_decref(groups);
		json_decref(person);
	}
	assert_true(grants_access_desc("rbbindlocked"));
	assert_true(grants_access_desc("rbviewall"));
	assert_false(grants_access_desc("rbactive"));
	assert_false(grants_summary_desc("rbbindlocked"));
}

/* actor grants, wanted grant, expected status (0 = allowed) */
static const struct {
	const char *actor;
	const char *wanted;
	int status;
	const char *why;
} escalation[] = {
    {"[{\"scope\":\"district\",\"permission\":\"manage\",\"canManageAdmins\":true,\"active\":true}"
     "]",
     "{\"scope\":\"district\",\"permission\":\"manage\"}", 0, "district manager grants district"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"district\",\"permission\":\"view\"}", 403,
     "a school-scope manager cannot create a district-level admin"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\"}", 403,
     "a view holder cannot grant manage"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\"}", 0,
     "a view holder can grant view on its school"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\",\"" S2 "\"],\"permission\":\"view\"}", 403,
     "outside its own schools"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":false,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\"}", 403,
     "without canManageAdmins"},
    {"[{\"scope\":\"district\",\"permission\":\"manage\",\"canManageAdmins\":true,\"active\":false}"
     "]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\"}", 403,
     "a suspended grant gives nothing"},
    {"[{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S3 "\"],\"permission\":\"manage\"}", 0,
     "a region manager grants a school in its region"},
    {"[{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S2 "\"],\"permission\":\"view\"}", 403,
     "a region manager cannot grant a school of another region"},
    {"[{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"view\"}", 0,
     "a region manager grants its region"},
    {"[{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"partnership\",\"permission\":\"view\"}", 403,
     "a region manager cannot grant the whole partnership"},
    {"[{\"scope\":\"partnership\",\"permission\":\"manage\",\"canManageAdmins\":true,"
     "\"active\":true}]",
     "{\"scope\":\"region\",\"region\":\"south\",\"permission\":\"manage\"}", 0,
     "a partnership manager grants any region"},
    {"[]", "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\"}", 403,
     "no grant at all"},
    /* The console's matrix (issue 13): each role against what it may not give. */
    {"[{\"scope\":\"school\",\"schools\":[\"" S3 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"view\"}", 403,
     "a school role cannot grant a region role, even its school's region"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S3 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"partnership\",\"permission\":\"view\"}", 403,
     "a school role cannot grant a partnership role"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true}",
     0, "a school manager who may manage admins passes both on at its school"},
    {"[{\"scope\":\"district\",\"permission\":\"view\",\"canManageAdmins\":true,"
     "\"active\":true}]",
     "{\"scope\":\"district\",\"permission\":\"manage\"}", 403,
     "a district viewer cannot grant district manage"},
    {"[{\"scope\":\"district\",\"permission\":\"view\",\"canManageAdmins\":true,"
     "\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S2 "\"],\"permission\":\"manage\"}", 403,
     "a district viewer cannot grant manage at a school"},
    {"[{\"scope\":\"district\",\"permission\":\"manage\",\"canManageAdmins\":false,"
     "\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\","
     "\"canManageAdmins\":true}",
     403, "a district manager without canManageAdmins grants nothing, canManageAdmins least"},
    {"[{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"view\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"region\",\"region\":\"north\",\"permission\":\"manage\"}", 403,
     "a region viewer cannot grant manage in its region"},
    {"[{\"scope\":\"school\",\"schools\":[\"" S1 "\"],\"permission\":\"view\","
     "\"canManageAdmins\":true,\"active\":true},"
     "{\"scope\":\"school\",\"schools\":[\"" S2 "\"],\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"active\":true}]",
     "{\"scope\":\"school\",\"schools\":[\"" S1 "\",\"" S2 "\"],\"permission\":\"manage\"}", 403,
     "manage at two schools needs manage at each (view at one is not enough)"},
};

static void
test_no_escalation(void **state)
{
	json_t *regions = load("{\"" S1 "\":null,\"" S2 "\":\"south\",\"" S3 "\":\"north\"}");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(escalation) / sizeof(escalation[0]); i++) {
		struct rb_error err = {0};
		json_t *actor = load(escalation[i].actor), *wanted = load(escalation[i].wanted);
		int rc = grants_may_grant(actor, wanted, regions, &err);
		if ((rc == 0) != (escalation[i].status == 0) ||
		    (rc < 0 && err.status != escalation[i].status))
			fail_msg("%s: got %d/%d", escalation[i].why, rc, err.status);
		json_decref(actor);
		json_decref(wanted);
	}
	json_decref(regions);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_and_summary),
	    cmocka_unit_test(test_no_grant_no_access),
	    cmocka_unit_test(test_bind_lock),
	    cmocka_unit_test(test_no_escalation),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
