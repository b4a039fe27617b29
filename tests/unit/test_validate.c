/* test_validate.c — validate_resource / validate_value, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/validate.h"

#define CORE_U "\"" SCHEMA_CORE_USER "\""
#define ENT_U "\"" SCHEMA_ENTERPRISE_USER "\""
#define ADM_U "\"" SCHEMA_ADMIN_USER "\""
#define CORE_G "\"" SCHEMA_CORE_GROUP "\""
#define ADM_G "\"" SCHEMA_ADMIN_GROUP "\""
#define SCH "\"" SCHEMA_SCHOOL "\""

struct vcase {
	const char *name;
	const char *rt;
	const char *in;
	int status;            /* 0: success */
	const char *scim_type; /* expected scimType on failure */
	const char *out;       /* expected normalised resource on success; NULL: not compared */
};

static const struct vcase cases[] = {
    /* --- successes ------------------------------------------------------ */
    {"minimal user", "User", "{\"schemas\":[" CORE_U "],\"userName\":\"a@x.org\"}", 0, NULL,
     "{\"schemas\":[" CORE_U "],\"userName\":\"a@x.org\"}"},
    {"entra create with enterprise and string booleans", "User",
     "{\"schemas\":[" CORE_U "," ENT_U
     "],\"externalId\":\"4711\",\"userName\":\"Ann@lincoln.k12.us\","
     "\"active\":\"True\",\"displayName\":\"Ann "
     "Lee\",\"emails\":[{\"primary\":\"true\",\"type\":\"work\","
     "\"value\":\"ann@lincoln.k12.us\"}],\"meta\":{\"resourceType\":\"User\"},\"name\":{"
     "\"formatted\":"
     "\"Ann Lee\",\"familyName\":\"Lee\",\"givenName\":\"Ann\"},\"addresses\":[{\"type\":\"work\","
     "\"locality\":\"Lincoln\",\"primary\":\"False\"}]," ENT_U ":{\"employeeNumber\":\"17\","
     "\"department\":\"Math\",\"manager\":{\"value\":\"abc\"}}}",
     0, NULL,
     "{\"schemas\":[" CORE_U "," ENT_U
     "],\"externalId\":\"4711\",\"userName\":\"Ann@lincoln.k12.us\","
     "\"active\":true,\"displayName\":\"Ann Lee\",\"emails\":[{\"primary\":true,\"type\":\"work\","
     "\"value\":\"ann@lincoln.k12.us\"}],\"name\":{\"formatted\":\"Ann "
     "Lee\",\"familyName\":\"Lee\","
     "\"givenName\":\"Ann\"},\"addresses\":[{\"type\":\"work\",\"locality\":\"Lincoln\","
     "\"primary\":false}]," ENT_U
     ":{\"employeeNumber\":\"17\",\"department\":\"Math\",\"manager\":{\"value\":\"abc\"}}}"},
    {"okta create", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"bob@x.org\",\"name\":{\"givenName\":\"Bob\","
     "\"familyName\":\"Ray\"},\"emails\":[{\"primary\":true,\"value\":\"bob@x.org\",\"type\":"
     "\"work\"}],"
     "\"displayName\":\"Bob Ray\",\"locale\":\"en-US\",\"externalId\":\"00u1\",\"groups\":[],"
     "\"password\":\"s3cret!\",\"active\":true}",
     0, NULL,
     "{\"schemas\":[" CORE_U "],\"userName\":\"bob@x.org\",\"name\":{\"givenName\":\"Bob\","
     "\"familyName\":\"Ray\"},\"emails\":[{\"primary\":true,\"value\":\"bob@x.org\",\"type\":"
     "\"work\"}],"
     "\"displayName\":\"Bob Ray\",\"locale\":\"en-US\",\"externalId\":\"00u1\","
     "\"password\":\"s3cret!\",\"active\":true}"},
    {"names are normalised to the schema's spelling", "User",
     "{\"SCHEMAS\":[" CORE_U
     "],\"USERNAME\":\"u\",\"Name\":{\"GIVENNAME\":\"G\"},\"EXTERNALID\":\"e\","
     "\"Emails\":[{\"VALUE\":\"v@x\",\"Primary\":true}]}",
     0, NULL,
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"name\":{\"givenName\":\"G\"},\"externalId\":\"e\","
     "\"emails\":[{\"value\":\"v@x\",\"primary\":true}]}"},
    {"readOnly attributes are dropped", "User",
     "{\"schemas\":[" CORE_U "," ADM_U
     "],\"id\":\"zzz\",\"userName\":\"u\",\"meta\":{\"version\":1},"
     "\"groups\":[{\"value\":\"g\"}]," ADM_U ":{\"grants\":[{\"source\":\"x\"}],\"inviteStatus\":"
     "\"bogus\",\"permission\":\"view\"}}",
     0, NULL,
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"permission\":\"view\"}}"},
    {"manager.displayName is readOnly", "User",
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"," ENT_U
     ":{\"manager\":{\"value\":\"m\",\"displayName\":\"Boss\"}}}",
     0, NULL,
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"," ENT_U
     ":{\"manager\":{\"value\":\"m\"}}}"},
    {"admin extension, canonical values normalised, string boolean", "User",
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"permission\":\"Manage\","
     "\"canManageAdmins\":\"TRUE\",\"scope\":\"SCHOOL\",\"schools\":[\"s1\",\"s2\"]}}",
     0, NULL,
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"permission\":\"manage\","
     "\"canManageAdmins\":true,\"scope\":\"school\",\"schools\":[\"s1\",\"s2\"]}}"},
    {"known extension used but not listed is added", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\"," ADM_U ":{\"scope\":\"district\"}}", 0, NULL,
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"scope\":\"district\"}}"},
    {"listed extension without data stays listed, unknown URN dropped", "User",
     "{\"schemas\":[\"urn:example:other\"," ENT_U "," CORE_U "],\"userName\":\"u\"}", 0, NULL,
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"}"},
    {"extension URN key case-insensitive", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\","
     "\"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER\":{\"COSTCENTER\":\"c\"}}",
     0, NULL,
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"," ENT_U ":{\"costCenter\":\"c\"}}"},
    {"null, [] and {} are unassigned", "User",
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\",\"displayName\":null,\"emails\":[],"
     "\"name\":{},\"phoneNumbers\":[null],\"title\":[]," ENT_U ":null}",
     0, NULL, "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"}"},
    {"null sub-attribute dropped", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"name\":{\"givenName\":null,\"familyName\":\"F\"}}",
     0, NULL, "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name\":{\"familyName\":\"F\"}}"},
    {"single value wrapped for multi-valued", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"emails\":{\"value\":\"a@x\",\"type\":\"home\"}}",
     0, NULL,
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"emails\":[{\"value\":\"a@x\",\"type\":\"home\"}]}"},
    {"single string wrapped for multi-valued simple", "User",
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"schools\":\"s1\"}}", 0,
     NULL,
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"schools\":[\"s1\"]}}"},
    {"emails.type is not strict", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\",\"type\":\"school\"}]}",
     0, NULL, NULL},
    {"one primary among several", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\",\"primary\":true},"
     "{\"value\":\"b\",\"primary\":false},{\"value\":\"c\"}]}",
     0, NULL, NULL},
    {"x509 base64", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"x509Certificates\":[{\"value\":\"TUlJRA==\"}]}",
     0, NULL, NULL},
    {"photos reference", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"photos\":[{\"value\":\"https://p/x.jpg\","
     "\"type\":\"photo\"}],\"profileUrl\":\"https://p/u\"}",
     0, NULL, NULL},
    {"group minimal", "Group", "{\"schemas\":[" CORE_G "],\"displayName\":\"Admins\"}", 0, NULL,
     "{\"schemas\":[" CORE_G "],\"displayName\":\"Admins\"}"},
    {"entra group created empty with members []", "Group",
     "{\"schemas\":[" CORE_G "],\"externalId\":\"g1\",\"displayName\":\"G\",\"members\":[]}", 0,
     NULL, "{\"schemas\":[" CORE_G "],\"externalId\":\"g1\",\"displayName\":\"G\"}"},
    {"role group", "Group",
     "{\"schemas\":[" CORE_G "," ADM_G
     "],\"displayName\":\"Principals\",\"members\":[{\"value\":\"u1\","
     "\"type\":\"User\",\"$ref\":\"https://h/Users/u1\",\"display\":\"U\"}]," ADM_G
     ":{\"permission\":\"manage\",\"scope\":\"region\",\"region\":\"north\",\"canManageAdmins\":"
     "false}}",
     0, NULL, NULL},
    {"school", "School",
     "{\"schemas\":[" SCH
     "],\"externalId\":\"sis-1\",\"name\":\"Lincoln High\",\"active\":\"false\","
     "\"region\":\"north\"}",
     0, NULL,
     "{\"schemas\":[" SCH "],\"externalId\":\"sis-1\",\"name\":\"Lincoln High\",\"active\":false,"
     "\"region\":\"north\"}"},

    /* --- schemas ---------------------------------------------------------- */
    {"schemas missing", "User", "{\"userName\":\"u\"}", 400, SCIM_INVALID_SYNTAX, NULL},
    {"schemas not an array", "User", "{\"schemas\":" CORE_U ",\"userName\":\"u\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"schemas with a number", "User", "{\"schemas\":[" CORE_U ",1],\"userName\":\"u\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"schemas without core", "User", "{\"schemas\":[" ENT_U "],\"userName\":\"u\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"group schemas on user", "User", "{\"schemas\":[" CORE_G "],\"userName\":\"u\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"unknown URN key", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"urn:example:ext:1.0:User\":{\"a\":1}}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"extension of another resource type", "Group",
     "{\"schemas\":[" CORE_G "],\"displayName\":\"g\"," ENT_U ":{\"department\":\"d\"}}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"extension not an object", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\"," ENT_U ":\"x\"}", 400, SCIM_INVALID_SYNTAX,
     NULL},
    {"body not an object", "User", "[1,2]", 400, SCIM_INVALID_SYNTAX, NULL},

    /* --- unknown attributes --------------------------------------------- */
    {"unknown attribute", "User", "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"shoeSize\":42}",
     400, SCIM_INVALID_SYNTAX, NULL},
    {"unknown sub-attribute", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name\":{\"nick\":\"x\"}}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"unknown extension attribute", "User",
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"," ENT_U ":{\"salary\":1}}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"dotted key in a POST body", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name.givenName\":\"x\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"extension attribute at the top level", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"employeeNumber\":\"1\"}", 400,
     SCIM_INVALID_SYNTAX, NULL},
    {"attribute given twice", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"USERNAME\":\"v\"}", 400, SCIM_INVALID_SYNTAX,
     NULL},

    /* --- required ----------------------------------------------------- */
    {"missing userName", "User", "{\"schemas\":[" CORE_U "],\"displayName\":\"x\"}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"empty userName", "User", "{\"schemas\":[" CORE_U "],\"userName\":\"\"}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"null userName", "User", "{\"schemas\":[" CORE_U "],\"userName\":null}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"missing group displayName", "Group", "{\"schemas\":[" CORE_G "],\"members\":[]}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"missing school name", "School", "{\"schemas\":[" SCH "],\"region\":\"r\"}", 400,
     SCIM_INVALID_VALUE, NULL},

    /* --- types -------------------------------------------------------- */
    {"userName number", "User", "{\"schemas\":[" CORE_U "],\"userName\":5}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"active bad string", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"active\":\"yes\"}", 400, SCIM_INVALID_VALUE,
     NULL},
    {"active number", "User", "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"active\":1}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"primary bad string", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\",\"primary\":\"maybe\"}]}",
     400, SCIM_INVALID_VALUE, NULL},
    {"name not complex", "User", "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name\":\"Ann\"}",
     400, SCIM_INVALID_VALUE, NULL},
    {"array for single-valued", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"displayName\":[\"a\"]}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"nested arrays", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"emails\":[[{\"value\":\"a\"}]]}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"email element a string", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"emails\":[\"a@x\"]}", 400, SCIM_INVALID_VALUE,
     NULL},
    {"sub-attribute object", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name\":{\"givenName\":{\"x\":1}}}", 400,
     SCIM_INVALID_VALUE, NULL},
    {"bad base64", "User",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"x509Certificates\":[{\"value\":\"not base64!\"}]}",
     400, SCIM_INVALID_VALUE, NULL},
    {"schools element object", "User",
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"schools\":[{\"id\":1}]}}",
     400, SCIM_INVALID_VALUE, NULL},
    {"members value number", "Group",
     "{\"schemas\":[" CORE_G "],\"displayName\":\"g\",\"members\":[{\"value\":17}]}", 400,
     SCIM_INVALID_VALUE, NULL},

    /* --- canonical values and primary --------------------------------- */
    {"bad permission", "User",
     "{\"schemas\":[" CORE_U "," ADM_U "],\"userName\":\"u\"," ADM_U ":{\"permission\":\"admin\"}}",
     400, SCIM_INVALID_VALUE, NULL},
    {"bad scope", "Group",
     "{\"schemas\":[" CORE_G "," ADM_G "],\"displayName\":\"g\"," ADM_G ":{\"scope\":\"state\"}}",
     400, SCIM_INVALID_VALUE, NULL},
    {"two primaries", "User",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\",\"primary\":true},"
     "{\"value\":\"b\",\"primary\":\"True\"}]}",
     400, SCIM_INVALID_VALUE, NULL},
};

static void
run_case(const struct vcase *c)
{
	json_error_t jerr;
	json_t *in, *out, *want;
	struct rb_error err;

	error_clear(&err);
	in = json_loads(c->in, 0, &jerr);
	if (in == NULL)
		fail_msg("%s: bad test JSON: %s", c->name, jerr.text);
	out = validate_resource(schema_resource_type(c->rt), in, VALIDATE_CREATE, NULL, &err);
	if (c->status == 0) {
		if (out == NULL)
			fail_msg("%s: expected success, got %d %s: %s", c->name, err.status,
			         err.scim_type ? err.scim_type : "-", err.detail);
		if (c->out != NULL) {
			want = json_loads(c->out, 0, &jerr);
			if (want == NULL)
				fail_msg("%s: bad expected JSON: %s", c->name, jerr.text);
			if (!json_equal(out, want)) {
				char *got = json_dumps(out, JSON_COMPACT);

				fail_msg("%s: got %s", c->name, got);
			}
			json_decref(want);
		}
		/* the result validates again to itself (idempotence) */
		{
			json_t *again = validate_resource(schema_resource_type(c->rt), out,
			                                  VALIDATE_REPLACE, NULL, &err);

			if (again == NULL || !json_equal(again, out))
				fail_msg("%s: not idempotent", c->name);
			json_decref(again);
		}
	} else {
		if (out != NULL)
			fail_msg("%s: expected %d, got success", c->name, c->status);
		if (err.status != c->status || err.scim_type == NULL ||
		    strcmp(err.scim_type, c->scim_type) != 0)
			fail_msg("%s: expected %d %s, got %d %s (%s)", c->name, c->status,
			         c->scim_type, err.status, err.scim_type ? err.scim_type : "-",
			         err.detail);
		assert_true(err.detail[0] != '\0');
	}
	json_decref(out);
	json_decref(in);
}

static void
test_resource_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

static void
test_null_err(void **state)
{
	json_t *in = json_pack("{s:i}", "userName", 1);

	(void)state;
	assert_null(
	    validate_resource(schema_resource_type("User"), in, VALIDATE_CREATE, NULL, NULL));
	assert_null(validate_resource(NULL, in, VALIDATE_CREATE, NULL, NULL));
	json_decref(in);
}

/* --- validate_value ------------------------------------------------------ */

struct value_case {
	const char *rt;
	const char *path;
	enum validate_shape shape;
	const char *in;  /* JSON text (decoded with JSON_DECODE_ANY) */
	const char *out; /* expected; NULL: expect error */
	const char *scim_type;
};

static const struct value_case value_cases[] = {
    {"User", "active", VALIDATE_ATTRIBUTE, "\"False\"", "false", NULL},
    {"User", "active", VALIDATE_ATTRIBUTE, "true", "true", NULL},
    {"User", "active", VALIDATE_ATTRIBUTE, "\"no\"", NULL, SCIM_INVALID_VALUE},
    {"User", "name.givenName", VALIDATE_ATTRIBUTE, "\"Ann\"", "\"Ann\"", NULL},
    {"User", "name.givenName", VALIDATE_ATTRIBUTE, "[\"Ann\"]", NULL, SCIM_INVALID_VALUE},
    {"User", "name", VALIDATE_ATTRIBUTE, "{\"GivenName\":\"A\",\"familyName\":null}",
     "{\"givenName\":\"A\"}", NULL},
    {"User", "emails", VALIDATE_ATTRIBUTE, "[{\"value\":\"a\",\"primary\":\"True\"}]",
     "[{\"value\":\"a\",\"primary\":true}]", NULL},
    {"User", "emails", VALIDATE_ATTRIBUTE, "{\"value\":\"a\"}", "[{\"value\":\"a\"}]", NULL},
    {"User", "emails", VALIDATE_ATTRIBUTE,
     "[{\"value\":\"a\",\"primary\":true},{\"value\":\"b\",\"primary\":true}]", NULL,
     SCIM_INVALID_VALUE},
    {"User", "emails", VALIDATE_ELEMENT, "{\"value\":\"a\",\"type\":\"work\"}",
     "{\"value\":\"a\",\"type\":\"work\"}", NULL},
    {"User", "emails", VALIDATE_ELEMENT, "[{\"value\":\"a\"}]", NULL, SCIM_INVALID_VALUE},
    {"User", "emails.primary", VALIDATE_ATTRIBUTE, "\"true\"", "true", NULL},
    {"User", "emails.value", VALIDATE_ATTRIBUTE, "\"x@y\"", "\"x@y\"", NULL},
    {"User", "emails", VALIDATE_ATTRIBUTE, "null", "null", NULL},
    {"User", "emails", VALIDATE_ATTRIBUTE, "[]", "null", NULL},
    {"User", "displayName", VALIDATE_ATTRIBUTE, "null", "null", NULL},
    {"User", "displayName", VALIDATE_ELEMENT, "\"x\"", NULL, SCIM_INVALID_PATH},
    {"User", "groups", VALIDATE_ATTRIBUTE, "[]", NULL, SCIM_MUTABILITY},
    {"User", "id", VALIDATE_ATTRIBUTE, "\"x\"", NULL, SCIM_MUTABILITY},
    {"User", "meta.created", VALIDATE_ATTRIBUTE, "\"2020-01-01T00:00:00Z\"", NULL, SCIM_MUTABILITY},
    {"User", "externalId", VALIDATE_ATTRIBUTE, "\"e\"", "\"e\"", NULL},
    {"User", SCHEMA_ENTERPRISE_USER ":employeeNumber", VALIDATE_ATTRIBUTE, "\"12\"", "\"12\"",
     NULL},
    {"User", SCHEMA_ENTERPRISE_USER ":manager", VALIDATE_ATTRIBUTE,
     "{\"value\":\"m\",\"displayName\":\"ro\"}", "{\"value\":\"m\"}", NULL},
    {"User", SCHEMA_ENTERPRISE_USER ":manager.displayName", VALIDATE_ATTRIBUTE, "\"x\"", NULL,
     SCIM_MUTABILITY},
    {"User", SCHEMA_ADMIN_USER ":permission", VALIDATE_ATTRIBUTE, "\"VIEW\"", "\"view\"", NULL},
    {"User", SCHEMA_ADMIN_USER ":permission", VALIDATE_ATTRIBUTE, "\"root\"", NULL,
     SCIM_INVALID_VALUE},
    {"User", SCHEMA_ADMIN_USER ":canManageAdmins", VALIDATE_ATTRIBUTE, "\"True\"", "true", NULL},
    {"User", SCHEMA_ADMIN_USER ":schools", VALIDATE_ATTRIBUTE, "\"s1\"", "[\"s1\"]", NULL},
    {"User", SCHEMA_ADMIN_USER ":schools", VALIDATE_ELEMENT, "\"s1\"", "\"s1\"", NULL},
    {"User", SCHEMA_ADMIN_USER ":grants", VALIDATE_ATTRIBUTE, "[]", NULL, SCIM_MUTABILITY},
    {"User", SCHEMA_ADMIN_USER ":inviteStatus", VALIDATE_ATTRIBUTE, "\"active\"", NULL,
     SCIM_MUTABILITY},
    {"Group", "members", VALIDATE_ATTRIBUTE, "[{\"value\":\"u1\"},{\"value\":\"u2\"}]",
     "[{\"value\":\"u1\"},{\"value\":\"u2\"}]", NULL},
    {"Group", "members", VALIDATE_ELEMENT, "{\"value\":\"u1\",\"foo\":1}", NULL,
     SCIM_INVALID_SYNTAX},
    {"Group", SCHEMA_ADMIN_GROUP ":scope", VALIDATE_ATTRIBUTE, "\"Partnership\"", "\"partnership\"",
     NULL},
    {"School", "active", VALIDATE_ATTRIBUTE, "\"FALSE\"", "false", NULL},
};

static void
test_value_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		const struct value_case *c = &value_cases[i];
		const struct resource_type_def *rt = schema_resource_type(c->rt);
		struct attr_ref ref;
		struct rb_error err;
		json_error_t jerr;
		json_t *in, *out, *want;

		error_clear(&err);
		if (schema_resolve(rt, c->path, strlen(c->path), &ref) != 0)
			fail_msg("value case %zu: cannot resolve %s", i, c->path);
		in = json_loads(c->in, JSON_DECODE_ANY, &jerr);
		assert_non_null(in);
		out = validate_value(&ref, in, c->shape, NULL, &err);
		if (c->out == NULL) {
			if (out != NULL)
				fail_msg("value case %zu (%s %s): expected error", i, c->path,
				         c->in);
			if (err.status != 400 || strcmp(err.scim_type, c->scim_type) != 0)
				fail_msg("value case %zu (%s): expected %s got %d %s", i, c->path,
				         c->scim_type, err.status,
				         err.scim_type ? err.scim_type : "-");
		} else {
			if (out == NULL)
				fail_msg("value case %zu (%s %s): %s", i, c->path, c->in,
				         err.detail);
			want = json_loads(c->out, JSON_DECODE_ANY, &jerr);
			assert_non_null(want);
			if (!json_equal(out, want))
				fail_msg("value case %zu (%s): got %s", i, c->path,
				         json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY));
			json_decref(want);
		}
		json_decref(out);
		json_decref(in);
	}
	assert_null(validate_value(NULL, json_null(), VALIDATE_ATTRIBUTE, NULL, NULL));
}

/* --- syntaxes ------------------------------------------------------------ */

static void
test_datetime(void **state)
{
	static const char *good[] = {
	    "2008-01-23T04:56:22Z",      "2008-01-23T04:56:22.123Z",  "2008-01-23T04:56:22+01:00",
	    "2008-01-23T04:56:22-08:00", "2024-02-29T00:00:00Z",      "2016-12-31T23:59:60Z",
	    "2008-01-23t04:56:22z",      "2008-01-23T04:56:22+23:59", "2008-01-23 04:56:22Z",
	};
	static const char *bad[] = {
	    "",
	    "2008-01-23",
	    "2008-13-01T00:00:00Z",
	    "2008-00-01T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "2008-04-31T00:00:00Z",
	    "2008-01-23T24:00:00Z",
	    "2008-01-23T04:60:00Z",
	    "2008-01-23T04:56:22.Z",
	    "2008-01-23T04:56:22+1:00",
	    "2008-01-23T04:56:22ZZ",
	    "08-01-23T04:56:22Z",
	    "2008-01-23T04:56:22+01:00x",
	    "0000-01-01T00:00:00Z",
	    /* the one RFC 3339 grammar (lib/rfc3339.h): an offset is required */
	    "2008-01-23T04:56:22",
	    "2008-01-23T04:56:22.5",
	    "2021-02-31T00:00:00Z",
	    "2021-02-30T00:00:00Z",
	    "2008-01-23T04:56:22+24:00",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!validate_datetime(good[i]))
			fail_msg("should be valid: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (validate_datetime(bad[i]))
			fail_msg("should be invalid: %s", bad[i]);
	assert_false(validate_datetime(NULL));
}

static void
test_base64(void **state)
{
	(void)state;
	assert_true(validate_base64(""));
	assert_true(validate_base64("TWFu"));
	assert_true(validate_base64("TWE="));
	assert_true(validate_base64("TQ=="));
	assert_true(validate_base64("ab+/"));
	assert_false(validate_base64("TWF"));
	assert_false(validate_base64("T==="));
	assert_false(validate_base64("TW=u"));
	assert_false(validate_base64("TW u"));
	assert_false(validate_base64("TW-_"));
	assert_false(validate_base64(NULL));
}

static void
test_boolean(void **state)
{
	json_t *v;
	bool b = false;

	(void)state;
	v = json_string("True");
	assert_int_equal(validate_boolean(v, &b), 1);
	assert_true(b);
	json_decref(v);
	v = json_string("fALSE");
	assert_int_equal(validate_boolean(v, &b), 1);
	assert_false(b);
	json_decref(v);
	v = json_string("1");
	assert_int_equal(validate_boolean(v, &b), 0);
	json_decref(v);
	v = json_integer(1);
	assert_int_equal(validate_boolean(v, &b), 0);
	json_decref(v);
	assert_int_equal(validate_boolean(json_true(), &b), 1);
	assert_true(b);
}

/* --- unknown attributes: lenient (ignored, reported once) and strict --------- */

struct lenient_case {
	const char *name;
	const char *in;
	const char *out;     /* expected normalised resource */
	const char *ignored; /* expected opts.ignored */
};

static const struct lenient_case lenient_cases[] = {
    {"unknown core attribute, any case of a known one",
     "{\"schemas\":[" CORE_U "],\"UserName\":\"u\",\"adreses\":[{\"x\":1}],\"DisplayName\":\"D\"}",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"displayName\":\"D\"}", "[\"adreses\"]"},
    {"unknown sub-attribute and Primary/Value in any case",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"Name\":{\"GivenName\":\"G\",\"middle\":\"M\"},"
     "\"Emails\":[{\"Value\":\"a@x\",\"Primary\":\"True\",\"label\":\"l\"}]}",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"name\":{\"givenName\":\"G\"},"
     "\"emails\":[{\"value\":\"a@x\",\"primary\":true}]}",
     "[\"name.middle\",\"emails.label\"]"},
    {"unknown extension attribute; Department and Manager.Value in any case",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\"," ENT_U
     ":{\"Department\":\"Math\",\"costCentre\":\"7\",\"Manager\":{\"Value\":\"m1\",\"x\":1}}}",
     "{\"schemas\":[" CORE_U "," ENT_U "],\"userName\":\"u\"," ENT_U
     ":{\"department\":\"Math\",\"manager\":{\"value\":\"m1\"}}}",
     "[\"" SCHEMA_ENTERPRISE_USER ":costCentre\",\"" SCHEMA_ENTERPRISE_USER ":manager.x\"]"},
    {"a URN key that is no extension of User: an IdP's custom extension",
     "{\"schemas\":[" CORE_U ",\"urn:example:custom:2.0:User\"],\"userName\":\"u\","
     "\"urn:example:custom:2.0:User\":{\"shoe\":42}," ADM_G ":{\"permission\":\"view\"}}",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\"}",
     "[\"urn:example:custom:2.0:User\",\"" SCHEMA_ADMIN_GROUP "\"]"},
    {"the same unknown name twice is reported once",
     "{\"schemas\":[" CORE_U "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\",\"label\":1},"
     "{\"value\":\"b\",\"label\":2}]}",
     "{\"schemas\":[" CORE_U
     "],\"userName\":\"u\",\"emails\":[{\"value\":\"a\"},{\"value\":\"b\"}]}",
     "[\"emails.label\"]"},
};

static void
test_lenient(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lenient_cases) / sizeof(lenient_cases[0]); i++) {
		const struct lenient_case *c = &lenient_cases[i];
		struct validate_opts lenient = {false, json_array()}, strict = {true, NULL};
		json_t *in = json_loads(c->in, 0, NULL), *out, *want = json_loads(c->out, 0, NULL);
		json_t *ignored = json_loads(c->ignored, 0, NULL);
		struct rb_error err;

		if (in == NULL || want == NULL || ignored == NULL)
			fail_msg("%s: bad test JSON", c->name);
		error_clear(&err);
		out = validate_resource(schema_resource_type("User"), in, VALIDATE_CREATE, &lenient,
		                        &err);
		if (out == NULL)
			fail_msg("%s: %d %s", c->name, err.status, err.detail);
		if (!json_equal(out, want))
			fail_msg("%s: got %s", c->name, json_dumps(out, JSON_COMPACT));
		if (!json_equal(lenient.ignored, ignored))
			fail_msg("%s: ignored %s", c->name,
			         json_dumps(lenient.ignored, JSON_COMPACT));
		json_decref(out);
		/* strict (strict_attributes yes, or no options): 400 invalidSyntax */
		out = validate_resource(schema_resource_type("User"), in, VALIDATE_CREATE, &strict,
		                        &err);
		assert_null(out);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.scim_type, SCIM_INVALID_SYNTAX);
		assert_null(validate_resource(schema_resource_type("User"), in, VALIDATE_CREATE,
		                              NULL, &err));
		json_decref(lenient.ignored);
		json_decref(in);
		json_decref(want);
		json_decref(ignored);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resource_cases), cmocka_unit_test(test_null_err),
	    cmocka_unit_test(test_lenient),        cmocka_unit_test(test_value_cases),
	    cmocka_unit_test(test_datetime),       cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_boolean),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
