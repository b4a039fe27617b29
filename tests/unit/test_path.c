/* test_path.c — table-driven tests of path_parse (engine/path.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/path.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define ADM "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User"

struct path_case {
	const char *type, *text;
	int ok;                          /* 1 parses, 0 invalidPath */
	const char *attr, *sub, *schema; /* expected names when ok (schema NULL = common) */
	int filter;
};

static const struct path_case cases[] = {
    {"User", "userName", 1, "userName", NULL, "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "USERNAME", 1, "userName", NULL, "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "  userName  ", 1, "userName", NULL, "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "name.givenName", 1, "name", "givenName", "urn:ietf:params:scim:schemas:core:2.0:User",
     0},
    {"User", "Name.GivenName", 1, "name", "givenName", "urn:ietf:params:scim:schemas:core:2.0:User",
     0},
    {"User", "urn:ietf:params:scim:schemas:core:2.0:User:userName", 1, "userName", NULL,
     "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", 1, "name", "familyName",
     "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", ENT ":employeeNumber", 1, "employeeNumber", NULL, ENT, 0},
    {"User", ENT ":manager", 1, "manager", NULL, ENT, 0},
    {"User", ENT ":manager.value", 1, "manager", "value", ENT, 0},
    {"User", ADM ":permission", 1, "permission", NULL, ADM, 0},
    {"User", ADM ":schools", 1, "schools", NULL, ADM, 0},
    {"User", ADM ":schools[value eq \"s1\"]", 1, "schools", NULL, ADM, 1},
    {"User", "id", 1, "id", NULL, NULL, 0},
    {"User", "externalId", 1, "externalId", NULL, NULL, 0},
    {"User", "meta.lastModified", 1, "meta", "lastModified", NULL, 0},
    {"User", "emails", 1, "emails", NULL, "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "emails.value", 1, "emails", "value", "urn:ietf:params:scim:schemas:core:2.0:User", 0},
    {"User", "emails[type eq \"work\"]", 1, "emails", NULL,
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "emails[type eq \"work\"].value", 1, "emails", "value",
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "emails[type eq \"work\" and value ew \"example.com\"]", 1, "emails", NULL,
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "addresses[type eq \"work\"].streetAddress", 1, "addresses", "streetAddress",
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "emails[type eq \"a]b\"].value", 1, "emails", "value",
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "emails[type eq \"a\\\"]\"].value", 1, "emails", "value",
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"User", "EMAILS[TYPE eq \"work\"].VALUE", 1, "emails", "value",
     "urn:ietf:params:scim:schemas:core:2.0:User", 1},
    {"Group", "members", 1, "members", NULL, "urn:ietf:params:scim:schemas:core:2.0:Group", 0},
    {"Group", "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]", 1, "members", NULL,
     "urn:ietf:params:scim:schemas:core:2.0:Group", 1},
    {"Group", "members[value eq \"2819c223\"].display", 1, "members", "display",
     "urn:ietf:params:scim:schemas:core:2.0:Group", 1},
    {"Group", "displayName", 1, "displayName", NULL, "urn:ietf:params:scim:schemas:core:2.0:Group",
     0},
    {"School", "name", 1, "name", NULL, "urn:rosterbridge:params:scim:schemas:core:2.0:School", 0},
    /* invalid */
    {"User", "", 0, NULL, NULL, NULL, 0},
    {"User", "   ", 0, NULL, NULL, NULL, 0},
    {"User", "bogus", 0, NULL, NULL, NULL, 0},
    {"User", "name.bogus", 0, NULL, NULL, NULL, 0},
    {"User", "name[givenName eq \"x\"]", 0, NULL, NULL, NULL, 0},
    {"User", "userName[value eq \"x\"]", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"", 0, NULL, NULL, NULL, 0},
    {"User", "emails[]", 0, NULL, NULL, NULL, 0},
    {"User", "emails[ ]", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"]x", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"].", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"].bogus", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"].value.x", 0, NULL, NULL, NULL, 0},
    {"User", "emails.value[type eq \"work\"]", 0, NULL, NULL, NULL, 0},
    {"User", "user Name", 0, NULL, NULL, NULL, 0},
    {"User", "userName;", 0, NULL, NULL, NULL, 0},
    {"User", "[type eq \"work\"]", 0, NULL, NULL, NULL, 0},
    {"User", ENT, 0, NULL, NULL, NULL, 0},
    {"User", ENT ":bogus", 0, NULL, NULL, NULL, 0},
    {"User", "urn:bogus:attr", 0, NULL, NULL, NULL, 0},
    {"User", "members", 0, NULL, NULL, NULL, 0},
    {"Group", "userName", 0, NULL, NULL, NULL, 0},
    {"Group", "displayName.x", 0, NULL, NULL, NULL, 0},
    {"School", "emails", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type eq \"work\"]]", 0, NULL, NULL, NULL, 0},
    {"User", "emails[[type eq \"work\"]]", 0, NULL, NULL, NULL, 0},
    {"User", "emails[type zz \"work\"]", 0, NULL, NULL, NULL, 0},
};

static void
run_case(void **state)
{
	const struct path_case *c = *state;
	const struct resource_type_def *rt = schema_resource_type(c->type);
	struct rb_error err;
	struct path p;
	int rc;

	error_clear(&err);
	rc = path_parse(rt, c->text, &p, &err);
	if (!c->ok) {
		if (rc == 0)
			fail_msg("\"%s\" parsed, expected invalidPath", c->text);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.scim_type, SCIM_INVALID_PATH);
		assert_null(p.attr);
		assert_null(p.filter);
		return;
	}
	if (rc != 0)
		fail_msg("\"%s\": %s", c->text, err.detail);
	assert_string_equal(p.attr->name, c->attr);
	if (c->sub == NULL)
		assert_null(p.sub);
	else
		assert_string_equal(p.sub->name, c->sub);
	if (c->schema == NULL)
		assert_null(p.schema);
	else
		assert_string_equal(p.schema->id, c->schema);
	assert_int_equal(p.filter != NULL, c->filter);
	path_clear(&p);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
	char names[sizeof(cases) / sizeof(cases[0])][160];
	size_t i;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "%s %s: %s", cases[i].type,
		         cases[i].ok ? "ok" : "invalid", cases[i].text);
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = names[i];
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	return _cmocka_run_group_tests("path", tests, sizeof(cases) / sizeof(cases[0]), NULL, NULL);
}
