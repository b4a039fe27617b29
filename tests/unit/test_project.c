/* test_project.c — table-driven tests of attributes/excludedAttributes (engine/project.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/project.h"

static const char user[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"id\":\"u1\","
    "\"externalId\":\"x\",\"meta\":{\"resourceType\":\"User\"},\"userName\":\"b\","
    "\"password\":\"secret\",\"name\":{\"givenName\":\"B\",\"familyName\":\"J\"},"
    "\"emails\":[{\"value\":\"a@x\",\"type\":\"work\"},{\"value\":\"b@x\",\"type\":\"home\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\","
    "\"department\":\"D\"}}";
#define S                                                                                          \
	"\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"      \
	"schemas:extension:enterprise:2.0:User\"]"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

struct pj_case {
	const char *attributes, *excluded, *expect;
};

/* clang-format off: long JSON literals read better on one line each */
static const struct pj_case cases[] = {
    {NULL, NULL,
     "{" S ",\"id\":\"u1\",\"externalId\":\"x\",\"meta\":{\"resourceType\":\"User\"},\"userName\":"
     "\"b\",\"name\":{\"givenName\":\"B\",\"familyName\":\"J\"},\"emails\":[{\"value\":\"a@"
     "x\",\"type\":\"work\"},{\"value\":\"b@x\",\"type\":\"home\"}],\"" ENT
     "\":{\"employeeNumber\":\"7\",\"department\":\"D\"}}"},
    {"userName", NULL, "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"USERNAME", NULL, "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"userName,password", NULL, "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"name.givenName", NULL, "{" S ",\"id\":\"u1\",\"name\":{\"givenName\":\"B\"}}"},
    {"emails.value", NULL,
     "{" S ",\"id\":\"u1\",\"emails\":[{\"value\":\"a@x\"},{\"value\":\"b@x\"}]}"},
    {"emails", NULL,
     "{" S ",\"id\":\"u1\",\"emails\":[{\"value\":\"a@x\",\"type\":\"work\"},{\"value\":\"b@x\","
     "\"type\":\"home\"}]}"},
    {ENT ":employeeNumber", NULL, "{" S ",\"id\":\"u1\",\"" ENT "\":{\"employeeNumber\":\"7\"}}"},
    {ENT, NULL,
     "{" S ",\"id\":\"u1\",\"" ENT "\":{\"employeeNumber\":\"7\",\"department\":\"D\"}}"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName", NULL,
     "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"bogus", NULL, "{" S ",\"id\":\"u1\"}"},
    {" userName , externalId ", NULL,
     "{" S ",\"id\":\"u1\",\"externalId\":\"x\",\"userName\":\"b\"}"},
    {"meta", NULL, "{" S ",\"id\":\"u1\",\"meta\":{\"resourceType\":\"User\"}}"},
    {NULL, "emails",
     "{" S ",\"id\":\"u1\",\"externalId\":\"x\",\"meta\":{\"resourceType\":\"User\"},\"userName\":"
     "\"b\",\"name\":{\"givenName\":\"B\",\"familyName\":\"J\"},\"" ENT
     "\":{\"employeeNumber\":\"7\",\"department\":\"D\"}}"},
    {NULL, "id,emails,name,meta,externalId," ENT, "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {NULL, "name.familyName,emails.type,meta,externalId," ENT,
     "{" S ",\"id\":\"u1\",\"userName\":\"b\",\"name\":{\"givenName\":\"B\"},\"emails\":[{"
     "\"value\":\"a@x\"},{\"value\":\"b@x\"}]}"},
    {NULL, ENT ":department,emails,name,meta,externalId",
     "{" S ",\"id\":\"u1\",\"userName\":\"b\",\"" ENT "\":{\"employeeNumber\":\"7\"}}"},
    {NULL, "bogus,emails,name,meta,externalId," ENT, "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"userName", "userName", "{" S ",\"id\":\"u1\",\"userName\":\"b\"}"},
    {"", "",
     "{" S ",\"id\":\"u1\",\"externalId\":\"x\",\"meta\":{\"resourceType\":\"User\"},\"userName\":"
     "\"b\",\"name\":{\"givenName\":\"B\",\"familyName\":\"J\"},\"emails\":[{\"value\":\"a@"
     "x\",\"type\":\"work\"},{\"value\":\"b@x\",\"type\":\"home\"}],\"" ENT
     "\":{\"employeeNumber\":\"7\",\"department\":\"D\"}}"},
};
/* clang-format on */

static void
run_case(void **state)
{
	const struct pj_case *c = *state;
	const struct resource_type_def *rt = schema_resource_type("User");
	json_t *res = json_loads(user, 0, NULL), *want = json_loads(c->expect, 0, NULL), *got;
	struct project *p;
	struct rb_error err;

	assert_non_null(res);
	assert_non_null(want);
	error_clear(&err);
	p = project_new(rt, c->attributes, c->excluded, &err);
	assert_non_null(p);
	got = project_apply(p, res);
	if (!json_equal(got, want)) {
		char *s = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

		fprintf(stderr, "# got %s\n", s);
		free(s);
		fail();
	}
	json_decref(got);
	json_decref(want);
	json_decref(res);
	project_free(p);
}

static void
test_wants(void **state)
{
	const struct resource_type_def *g = schema_resource_type("Group");
	struct attr_ref members, display;
	struct project *p;

	(void)state;
	assert_int_equal(schema_resolve(g, "members", 7, &members), 0);
	assert_int_equal(schema_resolve(g, "displayName", 11, &display), 0);
	p = project_new(g, NULL, "members", NULL);
	assert_false(project_wants(p, members.schema, members.attr));
	assert_true(project_wants(p, display.schema, display.attr));
	project_free(p);
	p = project_new(g, "displayName", NULL, NULL);
	assert_false(project_wants(p, members.schema, members.attr));
	project_free(p);
	p = project_new(g, "members.value", NULL, NULL);
	assert_true(project_wants(p, members.schema, members.attr));
	assert_false(project_wants(p, display.schema, display.attr));
	project_free(p);
	assert_true(project_wants(NULL, members.schema, members.attr));
}

int
main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 1];
	char names[N][200];
	size_t i;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "attributes=%s excludedAttributes=%s",
		         cases[i].attributes ? cases[i].attributes : "-",
		         cases[i].excluded ? cases[i].excluded : "-");
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = names[i];
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	memset(&tests[N], 0, sizeof(tests[N]));
	tests[N].name = "project_wants";
	tests[N].test_func = test_wants;
	return _cmocka_run_group_tests("project", tests, N + 1, NULL, NULL);
}
