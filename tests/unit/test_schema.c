/* test_schema.c — the schema registry: lookups, resolve, /Schemas and /ResourceTypes JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/schema.h"

static void
test_resource_types(void **state)
{
	const struct resource_type_def *const *all = schema_resource_types();
	size_t n = 0;

	(void)state;
	while (all[n] != NULL)
		n++;
	assert_int_equal(n, 4);
	assert_non_null(schema_resource_type("user"));
	assert_string_equal(schema_resource_type("USER")->endpoint, "/Users");
	assert_string_equal(schema_resource_type("Group")->endpoint, "/Groups");
	assert_string_equal(schema_resource_type("school")->schema->id, SCHEMA_SCHOOL);
	assert_string_equal(schema_resource_type("Region")->endpoint, "/Regions");
	assert_null(schema_resource_type("Users"));
	assert_null(schema_resource_type(NULL));
}

static void
test_schema_find(void **state)
{
	const char *urns[] = {SCHEMA_CORE_USER,  SCHEMA_CORE_GROUP,  SCHEMA_ENTERPRISE_USER,
	                      SCHEMA_ADMIN_USER, SCHEMA_ADMIN_GROUP, SCHEMA_SCHOOL,
	                      SCHEMA_REGION};
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(urns) / sizeof(urns[0]); i++) {
		assert_non_null(schema_find(urns[i]));
		assert_string_equal(schema_find(urns[i])->id, urns[i]);
	}
	assert_ptr_equal(schema_find("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"),
	                 schema_find(SCHEMA_CORE_USER));
	assert_null(schema_find("urn:ietf:params:scim:schemas:core:2.0:Use"));
	assert_null(schema_find(SCHEMA_ERROR));
	while (schema_all()[n] != NULL)
		n++;
	assert_int_equal(n, 7);
}

static void
test_attr_lookup(void **state)
{
	const struct schema_def *user = schema_find(SCHEMA_CORE_USER);
	const struct attr_def *a, *sub;

	(void)state;
	a = schema_attr_lookup(user, NULL, "USERNAME");
	assert_non_null(a);
	assert_string_equal(a->name, "userName");
	assert_true(a->required);
	assert_false(a->case_exact);
	assert_int_equal(a->uniqueness, UNIQ_SERVER);

	a = schema_attr_lookup(user, NULL, "password");
	assert_int_equal(a->mutability, MUT_WRITEONLY);
	assert_int_equal(a->returned, RET_NEVER);

	a = schema_attr_lookup(user, NULL, "emails");
	assert_true(a->multi_valued);
	assert_int_equal(a->type, ATTR_COMPLEX);
	sub = schema_attr_lookup(user, a, "Primary");
	assert_non_null(sub);
	assert_int_equal(sub->type, ATTR_BOOLEAN);
	sub = schema_attr_lookup(user, a, "type");
	assert_string_equal(sub->canonical_values[0], "work");

	a = schema_attr_lookup(user, NULL, "groups");
	assert_int_equal(a->mutability, MUT_READONLY);
	assert_non_null(schema_attr_lookup(user, a, "$ref"));

	assert_null(schema_attr_lookup(user, NULL, "id")); /* common, not in the schema */
	assert_null(schema_attr_lookup(user, NULL, "nope"));

	a = schema_attr_lookup(schema_find(SCHEMA_ADMIN_USER), NULL, "permission");
	assert_string_equal(a->canonical_values[1], "manage");
	a = schema_attr_lookup(schema_find(SCHEMA_ADMIN_USER), NULL, "grants");
	assert_int_equal(a->mutability, MUT_READONLY);
	assert_true(a->multi_valued);
	a = schema_attr_lookup(schema_find(SCHEMA_CORE_GROUP), NULL, "members");
	sub = schema_attr_lookup(NULL, a, "value");
	assert_int_equal(sub->mutability, MUT_IMMUTABLE);

	a = schema_common_attrs();
	assert_string_equal(a[0].name, "id");
	assert_int_equal(a[0].returned, RET_ALWAYS);
	assert_true(a[0].case_exact);
	assert_string_equal(a[1].name, "externalId");
	assert_string_equal(a[2].name, "meta");
	assert_null(a[3].name);
}

struct resolve_case {
	const char *rt;
	const char *text;
	const char *schema; /* expected schema URN; NULL for common attributes */
	const char *attr;   /* expected attribute name; NULL: expect failure */
	const char *parent; /* expected parent name or NULL */
};

static const struct resolve_case resolve_cases[] = {
    {"User", "userName", SCHEMA_CORE_USER, "userName", NULL},
    {"User", "USERNAME", SCHEMA_CORE_USER, "userName", NULL},
    {"User", "name.givenName", SCHEMA_CORE_USER, "givenName", "name"},
    {"User", "Name.GIVENNAME", SCHEMA_CORE_USER, "givenName", "name"},
    {"User", "emails", SCHEMA_CORE_USER, "emails", NULL},
    {"User", "emails.value", SCHEMA_CORE_USER, "value", "emails"},
    {"User", "groups.$ref", SCHEMA_CORE_USER, "$ref", "groups"},
    {"User", "id", NULL, "id", NULL},
    {"User", "externalId", NULL, "externalId", NULL},
    {"User", "meta", NULL, "meta", NULL},
    {"User", "meta.lastModified", NULL, "lastModified", "meta"},
    {"User", "META.CREATED", NULL, "created", "meta"},
    {"User", SCHEMA_CORE_USER ":userName", SCHEMA_CORE_USER, "userName", NULL},
    {"User", SCHEMA_CORE_USER ":name.familyName", SCHEMA_CORE_USER, "familyName", "name"},
    {"User", SCHEMA_ENTERPRISE_USER ":employeeNumber", SCHEMA_ENTERPRISE_USER, "employeeNumber",
     NULL},
    {"User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:EMPLOYEENUMBER",
     SCHEMA_ENTERPRISE_USER, "employeeNumber", NULL},
    {"User", SCHEMA_ENTERPRISE_USER ":manager.value", SCHEMA_ENTERPRISE_USER, "value", "manager"},
    {"User", SCHEMA_ENTERPRISE_USER ":manager.displayName", SCHEMA_ENTERPRISE_USER, "displayName",
     "manager"},
    {"User", SCHEMA_ADMIN_USER ":permission", SCHEMA_ADMIN_USER, "permission", NULL},
    {"User", SCHEMA_ADMIN_USER ":grants.source", SCHEMA_ADMIN_USER, "source", "grants"},
    {"Group", "displayName", SCHEMA_CORE_GROUP, "displayName", NULL},
    {"Group", "members.value", SCHEMA_CORE_GROUP, "value", "members"},
    {"Group", SCHEMA_ADMIN_GROUP ":scope", SCHEMA_ADMIN_GROUP, "scope", NULL},
    {"School", "name", SCHEMA_SCHOOL, "name", NULL},
    {"School", "meta.location", NULL, "location", "meta"},
    /* failures */
    {"User", "", NULL, NULL, NULL},
    {"User", "nope", NULL, NULL, NULL},
    {"User", "name.nope", NULL, NULL, NULL},
    {"User", "userName.sub", NULL, NULL, NULL}, /* not complex */
    {"User", "name.givenName.x", NULL, NULL, NULL},
    {"User", "name.", NULL, NULL, NULL},
    {"User", ".name", NULL, NULL, NULL},
    {"User", SCHEMA_ENTERPRISE_USER, NULL, NULL, NULL}, /* a URN alone */
    {"User", SCHEMA_ENTERPRISE_USER ":", NULL, NULL, NULL},
    {"User", SCHEMA_ENTERPRISE_USER ":userName", NULL, NULL, NULL},
    {"User", "employeeNumber", NULL, NULL, NULL},            /* extension attrs need their URN */
    {"User", SCHEMA_ADMIN_GROUP ":scope", NULL, NULL, NULL}, /* not the User's extension */
    {"User", "urn:x:y:z", NULL, NULL, NULL},
    {"User", "members", NULL, NULL, NULL},
    {"Group", "userName", NULL, NULL, NULL},
    {"Group", SCHEMA_ENTERPRISE_USER ":employeeNumber", NULL, NULL, NULL},
    {"School", "active.x", NULL, NULL, NULL},
};

static void
test_resolve_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		const struct resource_type_def *rt = schema_resource_type(c->rt);
		struct attr_ref ref;
		int rc;

		memset(&ref, 0, sizeof(ref));
		rc = schema_resolve(rt, c->text, strlen(c->text), &ref);
		if (c->attr == NULL) {
			if (rc != -1)
				fail_msg("case %zu (%s): expected failure", i, c->text);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): expected success", i, c->text);
		assert_string_equal(ref.attr->name, c->attr);
		if (c->schema == NULL)
			assert_null(ref.schema);
		else
			assert_string_equal(ref.schema->id, c->schema);
		if (c->parent == NULL)
			assert_null(ref.parent);
		else
			assert_string_equal(ref.parent->name, c->parent);
	}
}

static void
test_resolve_len(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	const char *text = "name.givenName eq \"x\"";
	struct attr_ref ref;

	(void)state;
	assert_int_equal(schema_resolve(rt, text, 14, &ref), 0);
	assert_string_equal(ref.attr->name, "givenName");
	assert_int_equal(schema_resolve(rt, text, 4, &ref), 0);
	assert_string_equal(ref.attr->name, "name");
	assert_null(ref.parent);
	assert_int_equal(schema_resolve(rt, text, 5, &ref), -1); /* "name." */
	assert_int_equal(schema_resolve(NULL, text, 4, &ref), -1);
}

/* find_attr_json — the element of a JSON attribute array named `name`. */
static json_t *
find_attr_json(json_t *attrs, const char *name)
{
	size_t i;
	json_t *a;

	json_array_foreach(attrs, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
			return a;
	}
	return NULL;
}

static void
test_schema_to_json_user(void **state)
{
	json_t *j = schema_to_json(schema_find(SCHEMA_CORE_USER), "http://h/scim/v2");
	json_t *attrs, *a, *sub;

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), SCHEMA_CORE_USER);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "User");
	assert_string_equal(json_string_value(json_object_get(j, "description")), "User Account");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
	                    SCHEMA_SCHEMA);
	a = json_object_get(j, "meta");
	assert_string_equal(json_string_value(json_object_get(a, "resourceType")), "Schema");
	assert_string_equal(json_string_value(json_object_get(a, "location")),
	                    "http://h/scim/v2/Schemas/" SCHEMA_CORE_USER);

	attrs = json_object_get(j, "attributes");
	assert_int_equal(json_array_size(attrs), 21);
	assert_null(find_attr_json(attrs, "id")); /* common attributes are not listed */

	a = find_attr_json(attrs, "userName");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "string");
	assert_true(json_is_false(json_object_get(a, "multiValued")));
	assert_true(json_is_true(json_object_get(a, "required")));
	assert_true(json_is_false(json_object_get(a, "caseExact")));
	assert_string_equal(json_string_value(json_object_get(a, "mutability")), "readWrite");
	assert_string_equal(json_string_value(json_object_get(a, "returned")), "default");
	assert_string_equal(json_string_value(json_object_get(a, "uniqueness")), "server");
	assert_true(json_is_string(json_object_get(a, "description")));

	a = find_attr_json(attrs, "active");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "boolean");
	assert_null(json_object_get(a, "caseExact"));
	assert_null(json_object_get(a, "subAttributes"));

	a = find_attr_json(attrs, "password");
	assert_string_equal(json_string_value(json_object_get(a, "mutability")), "writeOnly");
	assert_string_equal(json_string_value(json_object_get(a, "returned")), "never");

	a = find_attr_json(attrs, "profileUrl");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "reference");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(a, "referenceTypes"), 0)), "external");

	a = find_attr_json(attrs, "emails");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "complex");
	assert_true(json_is_true(json_object_get(a, "multiValued")));
	sub = find_attr_json(json_object_get(a, "subAttributes"), "type");
	assert_non_null(sub);
	assert_int_equal(json_array_size(json_object_get(sub, "canonicalValues")), 3);
	sub = find_attr_json(json_object_get(a, "subAttributes"), "primary");
	assert_string_equal(json_string_value(json_object_get(sub, "type")), "boolean");

	a = find_attr_json(attrs, "groups");
	assert_string_equal(json_string_value(json_object_get(a, "mutability")), "readOnly");
	sub = find_attr_json(json_object_get(a, "subAttributes"), "$ref");
	assert_int_equal(json_array_size(json_object_get(sub, "referenceTypes")), 2);

	a = find_attr_json(attrs, "x509Certificates");
	sub = find_attr_json(json_object_get(a, "subAttributes"), "value");
	assert_string_equal(json_string_value(json_object_get(sub, "type")), "binary");
	json_decref(j);
}

static void
test_schema_to_json_all(void **state)
{
	const struct schema_def *const *all = schema_all();
	size_t i;

	(void)state;
	for (i = 0; all[i] != NULL; i++) {
		json_t *j = schema_to_json(all[i], "");
		json_t *attrs;
		size_t n = 0;
		const struct attr_def *a;

		assert_non_null(j);
		attrs = json_object_get(j, "attributes");
		for (a = all[i]->attrs; a->name != NULL; a++)
			n++;
		assert_int_equal(json_array_size(attrs), n);
		json_decref(j);
	}
	{
		json_t *j = schema_to_json(schema_find(SCHEMA_ADMIN_USER), "http://h/scim/v2");
		json_t *a = find_attr_json(json_object_get(j, "attributes"), "scope");

		assert_int_equal(json_array_size(json_object_get(a, "canonicalValues")), 4);
		a = find_attr_json(json_object_get(j, "attributes"), "grants");
		assert_int_equal(json_array_size(json_object_get(a, "subAttributes")), 8);
		json_decref(j);
	}
	{
		json_t *j = schema_to_json(schema_find(SCHEMA_ENTERPRISE_USER), "");
		json_t *a = find_attr_json(json_object_get(j, "attributes"), "manager");
		json_t *sub = find_attr_json(json_object_get(a, "subAttributes"), "displayName");

		assert_string_equal(json_string_value(json_object_get(sub, "mutability")),
		                    "readOnly");
		json_decref(j);
	}
	assert_null(schema_to_json(NULL, ""));
}

static void
test_resource_type_to_json(void **state)
{
	json_t *j, *ext;

	(void)state;
	j = schema_resource_type_to_json(schema_resource_type("User"), "http://h/scim/v2");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
	                    SCHEMA_RESOURCE_TYPE);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "User");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "User");
	assert_string_equal(json_string_value(json_object_get(j, "endpoint")), "/Users");
	assert_string_equal(json_string_value(json_object_get(j, "schema")), SCHEMA_CORE_USER);
	ext = json_object_get(j, "schemaExtensions");
	assert_int_equal(json_array_size(ext), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ext, 0), "schema")),
	                    SCHEMA_ENTERPRISE_USER);
	assert_true(json_is_false(json_object_get(json_array_get(ext, 0), "required")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(ext, 1), "schema")),
	                    SCHEMA_ADMIN_USER);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "meta"), "resourceType")),
	    "ResourceType");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "meta"), "location")),
	    "http://h/scim/v2/ResourceTypes/User");
	json_decref(j);

	j = schema_resource_type_to_json(schema_resource_type("School"), "http://h/scim/v2");
	assert_non_null(j);
	assert_null(json_object_get(j, "schemaExtensions"));
	assert_string_equal(json_string_value(json_object_get(j, "endpoint")), "/Schools");
	json_decref(j);

	j = schema_resource_type_to_json(schema_resource_type("Group"), "");
	assert_int_equal(json_array_size(json_object_get(j, "schemaExtensions")), 1);
	json_decref(j);
}

static void
test_type_names(void **state)
{
	(void)state;
	assert_string_equal(schema_attr_type_name(ATTR_DATETIME), "dateTime");
	assert_string_equal(schema_attr_type_name(ATTR_REFERENCE), "reference");
	assert_string_equal(schema_mutability_name(MUT_IMMUTABLE), "immutable");
	assert_string_equal(schema_returned_name(RET_REQUEST), "request");
	assert_string_equal(schema_uniqueness_name(UNIQ_GLOBAL), "global");
	assert_true(
	    schema_rt_has_schema(schema_resource_type("User"), schema_find(SCHEMA_ADMIN_USER)));
	assert_false(
	    schema_rt_has_schema(schema_resource_type("User"), schema_find(SCHEMA_ADMIN_GROUP)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resource_types),     cmocka_unit_test(test_schema_find),
	    cmocka_unit_test(test_attr_lookup),        cmocka_unit_test(test_resolve_table),
	    cmocka_unit_test(test_resolve_len),        cmocka_unit_test(test_schema_to_json_user),
	    cmocka_unit_test(test_schema_to_json_all), cmocka_unit_test(test_resource_type_to_json),
	    cmocka_unit_test(test_type_names),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
