/*
 * test_dir.c — the directory layer at its seams, without a server:
 * escaping (with injection payloads), attribute maps and minimal diffs,
 * the User mapping both ways, filter translation, and write preconditions
 * (If-Match / If-None-Match) against an entry's entryCSN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dir/dir.h"
#include "dir/dir_int.h"
#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/map.h"
#include "dir/query.h"
#include "engine/filter.h"
#include "engine/schema.h"

/* ---- escaping ---------------------------------------------------------- */

static const struct {
	const char *in;
	const char *out;
} filter_escapes[] = {
    {"alice", "alice"},
    {"*", "\\2A"},
    {"a)(uid=*", "a\\29\\28uid=\\2A"},
    {"*)(|(objectClass=*", "\\2A\\29\\28|\\28objectClass=\\2A"},
    {"back\\slash", "back\\5Cslash"},
    {"x)(&)", "x\\29\\28&\\29"},
    {"", ""},
};

static void
test_escape_filter(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(filter_escapes) / sizeof(filter_escapes[0]); i++) {
		char *s = escape_filter_value(filter_escapes[i].in, strlen(filter_escapes[i].in));
		assert_non_null(s);
		assert_string_equal(s, filter_escapes[i].out);
		free(s);
	}
	/* An embedded NUL is escaped, never a terminator. */
	{
		char *s = escape_filter_value("a\0b", 3);
		assert_string_equal(s, "a\\00b");
		free(s);
	}
}

static const struct {
	const char *value;
	const char *rdn;
} rdn_escapes[] = {
    {"alice@example.org", "uid=alice@example.org"},
    {"a,b", "uid=a\\2Cb"},
    {"a+b", "uid=a\\2Bb"},
    {"x,ou=admins", "uid=x\\2Cou\\3Dadmins"},
    {" lead", "uid=\\20lead"},
    {"trail ", "uid=trail\\20"},
    {"#hash", "uid=\\23hash"},
    {"q\"uote", "uid=q\\22uote"},
    {"semi;colon", "uid=semi\\3Bcolon"},
    {"<angle>", "uid=\\3Cangle\\3E"},
};

static void
test_escape_rdn(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rdn_escapes) / sizeof(rdn_escapes[0]); i++) {
		char *rdn = escape_rdn("uid", rdn_escapes[i].value), *dn, *back;
		assert_non_null(rdn);
		/* libldap chooses hex or backslash-char forms; what matters is the round trip. */
		dn = escape_dn_join(rdn, "ou=people,o=demo,dc=example,dc=org");
		back = escape_rdn_value(dn);
		assert_non_null(back);
		assert_string_equal(back, rdn_escapes[i].value);
		free(back);
		free(dn);
		free(rdn);
	}
	assert_null(escape_rdn("uid", ""));
}

/* ---- descriptions and diffs -------------------------------------------- */

static void
test_desc_normalise(void **state)
{
	char *d;
	char out[32];

	(void)state;
	d = entry_desc_normalise("Mail;X-Type-Work;x-primary");
	assert_string_equal(d, "mail;x-primary;x-type-work");
	assert_true(entry_desc_has_option(d, "x-primary"));
	assert_false(entry_desc_has_option(d, "x-prim"));
	assert_true(entry_desc_option_value(d, "x-type-", out, sizeof(out)));
	assert_string_equal(out, "work");
	assert_int_equal(entry_desc_base_len(d), 4);
	free(d);
	d = entry_desc_normalise("givenName");
	assert_string_equal(d, "givenname");
	free(d);
}

static bool
owned_all(const char *desc, void *arg)
{
	(void)arg;
	return strcmp(desc, "keep") != 0;
}

static void
test_mods_diff(void **state)
{
	json_t *old = json_loads("{\"dn\":[\"uid=a\"],\"sn\":[\"A\"],\"mail\":[\"x@y\",\"z@y\"],"
	                         "\"title\":[\"t\"],\"keep\":[\"k\"]}",
	                         0, NULL);
	json_t *new = json_loads("{\"sn\":[\"A\"],\"mail\":[\"z@y\",\"x@y\"],\"title\":[\"u\"],"
	                         "\"givenname\":[\"G\"]}",
	                         0, NULL);
	LDAPMod **mods;
	size_t i;
	bool saw_title = false, saw_given = false;

	(void)state;
	mods = entry_mods_build(old, new, owned_all, NULL);
	assert_non_null(mods);
	/* sn and mail unchanged (order ignored); title replaced; givenName added;
	 * keep not owned: untouched. */
	assert_int_equal(entry_mods_count(mods), 2);
	for (i = 0; mods[i]; i++) {
		assert_int_equal(mods[i]->mod_op & ~LDAP_MOD_BVALUES, LDAP_MOD_REPLACE);
		if (!strcmp(mods[i]->mod_type, "title")) {
			saw_title = true;
			assert_string_equal(mods[i]->mod_bvalues[0]->bv_val, "u");
		}
		if (!strcmp(mods[i]->mod_type, "givenname"))
			saw_given = true;
	}
	assert_true(saw_title && saw_given);
	entry_mods_free(mods);

	/* A vanished owned attribute is replaced with no values (deleted). */
	json_object_del(new, "title");
	mods = entry_mods_build(old, new, owned_all, NULL);
	for (i = 0; mods[i]; i++)
		if (!strcmp(mods[i]->mod_type, "title"))
			assert_null(mods[i]->mod_bvalues[0]);
	entry_mods_free(mods);
	json_decref(old);
	json_decref(new);
}

/* ---- the User mapping --------------------------------------------------- */

static const char *entra_user =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"externalId\":\"4711\",\"userName\":\"Test_User_1@example.org\",\"active\":true,"
    "\"displayName\":\"Test User\",\"title\":\"Principal\","
    "\"name\":{\"givenName\":\"Test\",\"familyName\":\"User\",\"formatted\":\"Test User\"},"
    "\"emails\":[{\"value\":\"t@example.org\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"home@example.org\",\"type\":\"home\"}],"
    "\"phoneNumbers\":[{\"value\":\"+1 555 0100\",\"type\":\"mobile\"}],"
    "\"addresses\":[{\"type\":\"work\",\"streetAddress\":\"1 Main St\",\"locality\":\"Town\","
    "\"postalCode\":\"12345\",\"country\":\"US\",\"primary\":true}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
    "{\"employeeNumber\":\"E1\",\"department\":\"Schools\"},"
    "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\":"
    "{\"permission\":\"manage\",\"scope\":\"district\",\"canManageAdmins\":false}}";

static void
test_user_roundtrip(void **state)
{
	struct rb_error err = {0};
	struct map_meta meta = {
	    "0a0b0c0d-0000-4000-8000-000000000001", "20261128134501Z", "20261128134502.123456Z",
	    "20261128134502.123456Z#000000#000#000000", "http://h/scim/v2/Users"};
	json_t *in = json_loads(entra_user, 0, NULL), *map, *out, *again;
	LDAPMod **mods;

	(void)state;
	map = map_user_to_ldap(in, "entra", NULL, &err);
	assert_non_null(map);
	assert_string_equal(entry_map_first(map, "uid"), "Test_User_1@example.org");
	assert_string_equal(entry_map_first(map, "sn"), "User");
	assert_string_equal(entry_map_first(map, "cn"), "Test User");
	assert_string_equal(entry_map_first(map, "mail;x-primary;x-type-work"), "t@example.org");
	assert_string_equal(entry_map_first(map, "mail;x-type-home"), "home@example.org");
	assert_string_equal(entry_map_first(map, "telephonenumber;x-type-mobile"), "+1 555 0100");
	assert_string_equal(entry_map_first(map, "street;x-primary;x-type-work"), "1 Main St");
	assert_string_equal(entry_map_first(map, "rbexternalid;x-src-entra"), "4711");
	assert_string_equal(entry_map_first(map, "rbactive;x-src-entra"), "TRUE");
	assert_string_equal(entry_map_first(map, "rbpermission;x-src-entra"), "manage");
	assert_string_equal(entry_map_first(map, "rbcanmanageadmins;x-src-entra"), "FALSE");
	assert_string_equal(entry_map_first(map, "employeenumber"), "E1");
	assert_true(map_user_owned("mail;x-type-work", "entra"));
	assert_true(map_user_owned("rbpermission;x-src-entra", "entra"));
	assert_false(map_user_owned("rbpermission;x-src-okta", "entra"));
	assert_false(map_user_owned("uid", "entra"));
	assert_false(map_user_owned("userpassword", "entra"));

	entry_map_add(map, "dn", "uid=Test_User_1@example.org,ou=people,o=demo,dc=example,dc=org");
	out = map_user_from_ldap(map, "entra", &meta, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(out, "userName")),
	                    "Test_User_1@example.org");
	assert_string_equal(json_string_value(json_object_get(out, "externalId")), "4711");
	assert_true(json_is_true(json_object_get(out, "active")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "meta"), "lastModified")),
	    "2026-11-28T13:45:02.123456Z");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "meta"), "version")),
	    "W/\"20261128134502.123456Z#000000#000#000000\"");
	/* Another source sees no externalId of its own, and no admin grant. */
	again = map_user_from_ldap(map, "okta", &meta, NULL, NULL);
	assert_null(json_object_get(again, "externalId"));
	assert_null(json_object_get(again, SCHEMA_ADMIN_USER));
	assert_true(json_is_true(json_object_get(again, "active")));
	json_decref(again);

	/* Read back and map again: the same map, so a PUT of what GET gave writes nothing. */
	again = map_user_to_ldap(out, "entra", NULL, &err);
	assert_non_null(again);
	json_object_del(map, "dn");
	mods = entry_mods_build(map, again, map_user_owned, "entra");
	assert_int_equal(entry_mods_count(mods), 0);
	entry_mods_free(mods);
	json_decref(again);
	json_decref(out);
	json_decref(map);
	json_decref(in);
}

static void
test_user_synthetic_sn(void **state)
{
	struct rb_error err = {0};
	struct map_meta meta = {"0a0b0c0d-0000-4000-8000-000000000001", NULL, NULL, "1",
	                        "http://h"};
	json_t *in = json_loads("{\"userName\":\"bob\"}", 0, NULL), *map, *out;

	(void)state;
	map = map_user_to_ldap(in, "okta", NULL, &err);
	assert_string_equal(entry_map_first(map, "sn"), "bob");
	assert_string_equal(entry_map_first(map, "rbsynthetic"), "sn");
	assert_string_equal(entry_map_first(map, "cn"), "bob");
	out = map_user_from_ldap(map, "okta", &meta, NULL, NULL);
	assert_null(json_object_get(out, "name"));
	json_decref(out);
	json_decref(map);
	json_decref(in);
}

static void
test_user_bad_type(void **state)
{
	struct rb_error err = {0};
	json_t *in = json_loads("{\"userName\":\"bob\",\"emails\":[{\"value\":\"a@b\",\"type\":"
	                        "\"work email\"}]}",
	                        0, NULL);

	(void)state;
	assert_null(map_user_to_ldap(in, "okta", NULL, &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, SCIM_INVALID_VALUE);
	json_decref(in);
}

/* ---- filter translation ------------------------------------------------- */

static const struct query_attr table[] = {
    {"userName", "uid", 0, "uid:caseIgnoreOrderingMatch"},
    {"externalId", "rbExternalId", QUERY_SOURCED, NULL},
    {"emails.value", "mail", QUERY_MULTI, NULL},
    {"emails", "mail", QUERY_MULTI, NULL},
    {"name.familyName", "sn", QUERY_SYNTH_SN, NULL},
    {NULL, NULL, 0, NULL},
};

static const struct {
	const char *scim;
	const char *ldap;
	bool exact;
} translations[] = {
    {"userName eq \"alice\"", "(&(uid=alice)(objectClass=rbPerson))", true},
    {"userName eq \"a*)(uid=*\"", "(&(uid=a\\2A\\29\\28uid=\\2A)(objectClass=rbPerson))", true},
    {"userName sw \"al\"", "(&(uid=al*)(objectClass=rbPerson))", true},
    {"userName ew \"ce\"", "(&(uid=*ce)(objectClass=rbPerson))", true},
    {"userName co \"lic\"", "(&(uid=*lic*)(objectClass=rbPerson))", true},
    {"userName pr", "(&(uid=*)(objectClass=rbPerson))", true},
    {"userName ne \"a\"", "(&(!(uid=a))(objectClass=rbPerson))", true},
    {"externalId eq 4711", "(&(rbExternalId;x-src-okta=4711)(objectClass=rbPerson))", true},
    {"emails.value eq \"a@b\"", "(&(mail=a@b)(objectClass=rbPerson))", true},
    {"emails ne \"a@b\"", "(objectClass=rbPerson)", false},
    {"name.familyName eq \"X\"", "(&(&(!(rbSynthetic=sn))(sn=X))(objectClass=rbPerson))", true},
    {"userName eq \"a\" or userName eq \"b\"", "(&(|(uid=a)(uid=b))(objectClass=rbPerson))", true},
    {"userName eq \"a\" and active eq true", "(&(uid=a)(objectClass=rbPerson))", false},
    {"userName eq \"a\" or active eq true", "(objectClass=rbPerson)", false},
    {"not (userName eq \"a\")", "(&(!(uid=a))(objectClass=rbPerson))", true},
    {"not (active eq true)", "(objectClass=rbPerson)", false},
    {"userName gt \"a\"", "(objectClass=rbPerson)", false},
    {"emails[type eq \"work\" and value co \"@x\"]", "(objectClass=rbPerson)", false},
    {"nosuchattr eq \"x\"", "(&(!(objectClass=*))(objectClass=rbPerson))", true},
};

static void
test_translate(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(translations) / sizeof(translations[0]); i++) {
		struct rb_error err = {0};
		struct filter *f = filter_parse(rt, translations[i].scim, &err);
		bool exact = false;
		char *ldap;
		if (f == NULL)
			fail_msg("%s: %s", translations[i].scim, err.detail);
		ldap = query_translate(f, table, "(objectClass=rbPerson)", "okta", &exact);
		if (strcmp(ldap, translations[i].ldap) != 0 || exact != translations[i].exact)
			fail_msg("%s: got %s (%s), want %s (%s)", translations[i].scim, ldap,
			         exact ? "exact" : "inexact", translations[i].ldap,
			         translations[i].exact ? "exact" : "inexact");
		free(ldap);
		filter_free(f);
	}
}

/* dir_parent_dn parses the DN: an escaped comma stays inside its value. */
static void
test_parent_dn(void **state)
{
	char *p;

	(void)state;
	p = dir_parent_dn("cn=Smith\\, Jo,ou=groups,o=demo,dc=example,dc=org");
	assert_non_null(p);
	assert_string_equal(p, "ou=groups,o=demo,dc=example,dc=org");
	free(p);
	p = dir_parent_dn("uid=a\\2Cb\\,c,ou=people,o=demo");
	assert_non_null(p);
	assert_string_equal(p, "ou=people,o=demo");
	free(p);
	p = dir_parent_dn("dc=org");
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	assert_null(dir_parent_dn("not a dn"));
}

/* ---- preconditions (dir_precondition, dir_check_version) ----------------- */

#define CSN "20261130043251.855402Z#000000#000#000000"

static void
test_preconditions(void **state)
{
	static const struct {
		const char *if_match, *if_none_match;
		int status; /* 0: the write may go on; 412: precondition failed */
	} cases[] = {
	    {NULL, NULL, 0},
	    {"*", NULL, 0},
	    {"W/\"" CSN "\"", NULL, 0},
	    {"\"" CSN "\"", NULL, 0},
	    {"W/\"other\"", NULL, 412},
	    {"W/\"other\", W/\"" CSN "\"", NULL, 0},
	    {NULL, "*", 412},
	    {NULL, "W/\"" CSN "\"", 412},
	    {NULL, "\"" CSN "\"", 412}, /* weak comparison (RFC 7232 §3.2) */
	    {NULL, "W/\"other\"", 0},
	    {NULL, "W/\"other\", W/\"" CSN "\"", 412},
	    {"W/\"" CSN "\"", "W/\"other\"", 0},
	    {"W/\"" CSN "\"", "W/\"" CSN "\"", 412},
	    {"W/\"other\"", "W/\"x\"", 412},
	    {"*", "*", 412},
	};
	json_t *entry = json_pack("{s:[s]}", "entrycsn", CSN);
	struct rb_error err;
	size_t i;

	(void)state;
	assert_null(dir_precondition(NULL, NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *pre = dir_precondition(cases[i].if_match, cases[i].if_none_match);
		int rc;

		if (cases[i].if_match != NULL || cases[i].if_none_match != NULL)
			assert_non_null(pre);
		error_clear(&err);
		rc = dir_check_version(entry, pre, &err);
		if (cases[i].status == 0 && rc != 0)
			fail_msg("case %zu: expected to proceed, got %d %s", i, err.status,
			         err.detail);
		if (cases[i].status != 0 && (rc == 0 || err.status != cases[i].status))
			fail_msg("case %zu: expected %d, got rc %d status %d", i, cases[i].status,
			         rc, err.status);
		free(pre);
	}
	json_decref(entry);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_filter),  cmocka_unit_test(test_escape_rdn),
	    cmocka_unit_test(test_desc_normalise), cmocka_unit_test(test_mods_diff),
	    cmocka_unit_test(test_user_roundtrip), cmocka_unit_test(test_user_synthetic_sn),
	    cmocka_unit_test(test_user_bad_type),  cmocka_unit_test(test_translate),
	    cmocka_unit_test(test_parent_dn),      cmocka_unit_test(test_preconditions),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
