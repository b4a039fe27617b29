/*
 * test_sort.c — table-driven tests of sort_parse / sort_compare /
 * sort_resources (engine/sort.h, RFC 7644 §3.4.2.3).
 *
 * Each case sorts a small list of resources (JSON) and expects the order of
 * their "k" labels, or expects sort_parse to fail with a status and
 * scimType. Every successful case also checks that sort_compare is
 * antisymmetric over all pairs and that sort_resources agrees with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/schema.h"
#include "engine/sort.h"
#include "lib/error.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

struct sort_case {
	const char *name;
	const char *type;   /* resource type */
	const char *by;     /* sortBy (NULL: absent) */
	const char *order;  /* sortOrder (NULL: absent) */
	const char *items;  /* JSON array of resources, each with a label "k" */
	const char *expect; /* labels in sorted order, comma-separated */
	int status;         /* 0: sort_parse succeeds, else the expected status */
	const char *scim_type;
};

static const struct sort_case cases[] = {
    /* ---- strings: caseExact=false folds case, caseExact=true does not ---- */
    {"userName ascending, case-insensitive", "User", "userName", NULL,
     "[{\"k\":\"b\",\"id\":\"1\",\"userName\":\"Bob\"},{\"k\":\"a\",\"id\":\"2\",\"userName\":"
     "\"alice\"},"
     "{\"k\":\"c\",\"id\":\"3\",\"userName\":\"Carol\"}]",
     "a,b,c", 0, NULL},
    {"userName descending", "User", "userName", "descending",
     "[{\"k\":\"b\",\"id\":\"1\",\"userName\":\"Bob\"},{\"k\":\"a\",\"id\":\"2\",\"userName\":"
     "\"alice\"},"
     "{\"k\":\"c\",\"id\":\"3\",\"userName\":\"Carol\"}]",
     "c,b,a", 0, NULL},
    {"sortOrder is case-insensitive", "User", "userName", "DESCENDING",
     "[{\"k\":\"a\",\"id\":\"1\",\"userName\":\"a\"},{\"k\":\"b\",\"id\":\"2\",\"userName\":\"B\"}"
     "]",
     "b,a", 0, NULL},
    {"sortBy is case-insensitive and trimmed", "User", "  USERNAME ", "Ascending",
     "[{\"k\":\"b\",\"id\":\"1\",\"userName\":\"B\"},{\"k\":\"a\",\"id\":\"2\",\"userName\":\"a\"}"
     "]",
     "a,b", 0, NULL},
    {"empty sortOrder is ascending", "User", "userName", "",
     "[{\"k\":\"b\",\"id\":\"1\",\"userName\":\"B\"},{\"k\":\"a\",\"id\":\"2\",\"userName\":\"a\"}"
     "]",
     "a,b", 0, NULL},
    {"equal after folding: byte order decides, before id", "User", "userName", NULL,
     "[{\"k\":\"lower\",\"id\":\"1\",\"userName\":\"alice\"},"
     "{\"k\":\"upper\",\"id\":\"2\",\"userName\":\"ALICE\"}]",
     "upper,lower", 0, NULL},
    {"externalId is caseExact: byte order", "User", "externalId", NULL,
     "[{\"k\":\"b\",\"id\":\"1\",\"externalId\":\"b\"},{\"k\":\"B\",\"id\":\"2\",\"externalId\":"
     "\"B\"},"
     "{\"k\":\"a\",\"id\":\"3\",\"externalId\":\"a\"}]",
     "B,a,b", 0, NULL},
    {"id is caseExact", "User", "id", NULL,
     "[{\"k\":\"x\",\"id\":\"x\"},{\"k\":\"Y\",\"id\":\"Y\"},{\"k\":\"a\",\"id\":\"a\"}]", "Y,a,x",
     0, NULL},
    {"UTF-8: code point order after folding", "User", "displayName", NULL,
     "[{\"k\":\"e-acute\",\"id\":\"1\",\"displayName\":\"\\u00e9mile\"},"
     "{\"k\":\"z\",\"id\":\"2\",\"displayName\":\"Zoe\"},{\"k\":\"e\",\"id\":\"3\",\"displayName\":"
     "\"emile\"}]",
     "e,z,e-acute", 0, NULL},
    {"sub-attribute of a singular complex attribute", "User", "name.familyName", NULL,
     "[{\"k\":\"s\",\"id\":\"1\",\"name\":{\"familyName\":\"Smith\"}},"
     "{\"k\":\"j\",\"id\":\"2\",\"name\":{\"familyName\":\"jensen\"}}]",
     "j,s", 0, NULL},
    {"extension attribute by URN", "User", ENT ":employeeNumber", NULL,
     "[{\"k\":\"2\",\"id\":\"1\",\"" ENT "\":{\"employeeNumber\":\"702\"}},"
     "{\"k\":\"1\",\"id\":\"2\",\"" ENT
     "\":{\"employeeNumber\":\"701\"}},{\"k\":\"none\",\"id\":\"3\"}]",
     "1,2,none", 0, NULL},
    {"extension sub-attribute by URN", "User", ENT ":manager.value", "descending",
     "[{\"k\":\"a\",\"id\":\"1\",\"" ENT "\":{\"manager\":{\"value\":\"a\"}}},"
     "{\"k\":\"b\",\"id\":\"2\",\"" ENT "\":{\"manager\":{\"value\":\"b\"}}}]",
     "b,a", 0, NULL},
    {"Group displayName", "Group", "displayName", NULL,
     "[{\"k\":\"t\",\"id\":\"1\",\"displayName\":\"Tour Guides\"},"
     "{\"k\":\"a\",\"id\":\"2\",\"displayName\":\"admins\"}]",
     "a,t", 0, NULL},

    /* ---- dateTime ---- */
    {"meta.lastModified chronological", "User", "meta.lastModified", NULL,
     "[{\"k\":\"2021b\",\"id\":\"1\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:01Z\"}},"
     "{\"k\":\"2020\",\"id\":\"2\",\"meta\":{\"lastModified\":\"2020-12-31T23:59:59Z\"}},"
     "{\"k\":\"2021a\",\"id\":\"3\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:00Z\"}}]",
     "2020,2021a,2021b", 0, NULL},
    {"dateTime with fractions of a second", "User", "meta.lastModified", NULL,
     "[{\"k\":\"frac\",\"id\":\"1\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:00.5Z\"}},"
     "{\"k\":\"whole\",\"id\":\"2\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:00Z\"}},"
     "{\"k\":\"later\",\"id\":\"3\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:01Z\"}}]",
     "whole,frac,later", 0, NULL},
    /* The one RFC 3339 grammar (lib/rfc3339.h): 31 February and a missing
       offset are no instants, so they sort after every instant, as text. */
    {"dateTime: 31 February is not an instant", "User", "meta.lastModified", NULL,
     "[{\"k\":\"feb31\",\"id\":\"1\",\"meta\":{\"lastModified\":\"2021-02-31T00:00:00Z\"}},"
     "{\"k\":\"mar1\",\"id\":\"2\",\"meta\":{\"lastModified\":\"2021-03-01T00:00:00Z\"}},"
     "{\"k\":\"mar5\",\"id\":\"3\",\"meta\":{\"lastModified\":\"2021-03-05T00:00:00Z\"}}]",
     "mar1,mar5,feb31", 0, NULL},
    {"dateTime: a missing offset is not an instant", "User", "meta.lastModified", NULL,
     "[{\"k\":\"nooff\",\"id\":\"1\",\"meta\":{\"lastModified\":\"2020-01-01T00:00:00\"}},"
     "{\"k\":\"later\",\"id\":\"2\",\"meta\":{\"lastModified\":\"2021-03-01T00:00:00Z\"}}]",
     "later,nooff", 0, NULL},
    {"dateTime with offsets compares instants", "User", "meta.lastModified", NULL,
     "[{\"k\":\"utc\",\"id\":\"1\",\"meta\":{\"lastModified\":\"2021-01-01T00:00:00Z\"}},"
     "{\"k\":\"plus2\",\"id\":\"2\",\"meta\":{\"lastModified\":\"2021-01-01T01:00:00+02:00\"}},"
     "{\"k\":\"minus5\",\"id\":\"3\",\"meta\":{\"lastModified\":\"2020-12-31T20:30:00-05:00\"}}]",
     "plus2,utc,minus5", 0, NULL},
    {"dateTime: unparsable values after instants, as text", "User", "meta.lastModified", NULL,
     "[{\"k\":\"b\",\"id\":\"1\",\"meta\":{\"lastModified\":\"b\"}},"
     "{\"k\":\"a\",\"id\":\"2\",\"meta\":{\"lastModified\":\"a\"}},"
     "{\"k\":\"date\",\"id\":\"3\",\"meta\":{\"lastModified\":\"2999-01-01T00:00:00Z\"}}]",
     "date,a,b", 0, NULL},
    {"meta.created descending", "User", "meta.created", "descending",
     "[{\"k\":\"old\",\"id\":\"1\",\"meta\":{\"created\":\"2010-01-23T04:56:22Z\"}},"
     "{\"k\":\"new\",\"id\":\"2\",\"meta\":{\"created\":\"2024-12-31T23:59:59Z\"}}]",
     "new,old", 0, NULL},

    /* ---- booleans and numbers ---- */
    {"booleans: false before true, missing last", "User", "active", NULL,
     "[{\"k\":\"t\",\"id\":\"1\",\"active\":true},{\"k\":\"none\",\"id\":\"0\"},"
     "{\"k\":\"f\",\"id\":\"2\",\"active\":false}]",
     "f,t,none", 0, NULL},
    {"booleans descending: missing first", "User", "active", "descending",
     "[{\"k\":\"t\",\"id\":\"1\",\"active\":true},{\"k\":\"none\",\"id\":\"0\"},"
     "{\"k\":\"f\",\"id\":\"2\",\"active\":false}]",
     "none,t,f", 0, NULL},
    /* No attribute of ours is numeric; JSON numbers (not schema-valid, but
     * sort must not misbehave on stored data) compare as numbers, not text. */
    {"JSON numbers compare numerically", "User", "title", NULL,
     "[{\"k\":\"100\",\"id\":\"1\",\"title\":100},{\"k\":\"9\",\"id\":\"2\",\"title\":9},"
     "{\"k\":\"10.5\",\"id\":\"3\",\"title\":10.5},{\"k\":\"-1\",\"id\":\"4\",\"title\":-1}]",
     "-1,9,10.5,100", 0, NULL},

    /* ---- multi-valued: primary, else first ---- */
    {"emails: the primary value, else the first", "User", "emails", NULL,
     "[{\"k\":\"p\",\"id\":\"1\",\"emails\":[{\"value\":\"z@x\"},{\"value\":\"b@x\",\"primary\":"
     "true}]},"
     "{\"k\":\"first\",\"id\":\"2\",\"emails\":[{\"value\":\"c@x\"},{\"value\":\"a@x\"}]},"
     "{\"k\":\"none\",\"id\":\"3\",\"emails\":[]}]",
     "p,first,none", 0, NULL},
    {"emails.value same as emails", "User", "emails.value", "descending",
     "[{\"k\":\"p\",\"id\":\"1\",\"emails\":[{\"value\":\"z@x\"},{\"value\":\"b@x\",\"primary\":"
     "true}]},"
     "{\"k\":\"first\",\"id\":\"2\",\"emails\":[{\"value\":\"c@x\"},{\"value\":\"a@x\"}]}]",
     "first,p", 0, NULL},
    {"emails.type of the primary email", "User", "emails.type", NULL,
     "[{\"k\":\"work\",\"id\":\"1\",\"emails\":[{\"value\":\"a@x\",\"type\":\"home\"},"
     "{\"value\":\"b@x\",\"type\":\"work\",\"primary\":true}]},"
     "{\"k\":\"other\",\"id\":\"2\",\"emails\":[{\"value\":\"c@x\",\"type\":\"other\"}]}]",
     "other,work", 0, NULL},
    {"primary false does not count as primary", "User", "emails", NULL,
     "[{\"k\":\"y\",\"id\":\"1\",\"emails\":[{\"value\":\"y@x\"},{\"value\":\"a@x\",\"primary\":"
     "false}]},"
     "{\"k\":\"m\",\"id\":\"2\",\"emails\":[{\"value\":\"m@x\"}]}]",
     "m,y", 0, NULL},
    {"Group members: members.value", "Group", "members", NULL,
     "[{\"k\":\"u2\",\"id\":\"1\",\"members\":[{\"value\":\"u2\"}]},"
     "{\"k\":\"u1\",\"id\":\"2\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u9\"}]}]",
     "u1,u2", 0, NULL},

    /* ---- missing values: last ascending, first descending; ties by id ---- */
    {"missing and null values last when ascending", "User", "title", NULL,
     "[{\"k\":\"none\",\"id\":\"1\"},{\"k\":\"b\",\"id\":\"2\",\"title\":\"b\"},"
     "{\"k\":\"null\",\"id\":\"0\",\"title\":null},{\"k\":\"a\",\"id\":\"3\",\"title\":\"a\"}]",
     "a,b,null,none", 0, NULL},
    {"missing values first when descending, by id", "User", "title", "descending",
     "[{\"k\":\"none\",\"id\":\"1\"},{\"k\":\"b\",\"id\":\"2\",\"title\":\"b\"},"
     "{\"k\":\"null\",\"id\":\"0\",\"title\":null},{\"k\":\"a\",\"id\":\"3\",\"title\":\"a\"}]",
     "null,none,b,a", 0, NULL},
    {"missing sub-attribute counts as missing", "User", "name.givenName", NULL,
     "[{\"k\":\"nogiven\",\"id\":\"1\",\"name\":{\"familyName\":\"X\"}},"
     "{\"k\":\"g\",\"id\":\"2\",\"name\":{\"givenName\":\"G\"}}]",
     "g,nogiven", 0, NULL},
    {"ties ordered by id ascending", "User", "title", NULL,
     "[{\"k\":\"3\",\"id\":\"c\",\"title\":\"T\"},{\"k\":\"1\",\"id\":\"a\",\"title\":\"T\"},"
     "{\"k\":\"2\",\"id\":\"b\",\"title\":\"t\"}]",
     "1,3,2", 0, NULL}, /* "T" = "t" folded; byte order puts "T" first, then id */
    {"ties by id stay ascending when descending", "User", "title", "descending",
     "[{\"k\":\"3\",\"id\":\"c\",\"title\":\"T\"},{\"k\":\"1\",\"id\":\"a\",\"title\":\"T\"},"
     "{\"k\":\"2\",\"id\":\"b\",\"title\":\"U\"}]",
     "2,1,3", 0, NULL},
    {"stable: equal values and equal ids keep input order", "User", "title", NULL,
     "[{\"k\":\"1\",\"title\":\"x\"},{\"k\":\"2\",\"title\":\"x\"},{\"k\":\"3\",\"title\":\"x\"},"
     "{\"k\":\"0\",\"title\":\"a\"},{\"k\":\"4\",\"title\":\"x\"},{\"k\":\"5\",\"title\":\"x\"}]",
     "0,1,2,3,4,5", 0, NULL},
    {"stable when descending", "User", "title", "descending",
     "[{\"k\":\"1\",\"id\":\"s\",\"title\":\"x\"},{\"k\":\"2\",\"id\":\"s\",\"title\":\"x\"},"
     "{\"k\":\"0\",\"id\":\"s\",\"title\":\"z\"},{\"k\":\"3\",\"id\":\"s\",\"title\":\"x\"}]",
     "0,1,2,3", 0, NULL},
    {"one element, empty list edge handled", "User", "userName", NULL,
     "[{\"k\":\"only\",\"id\":\"1\",\"userName\":\"u\"}]", "only", 0, NULL},

    /* ---- errors ---- */
    {"no sortBy", "User", NULL, NULL, "[]", "", 400, SCIM_INVALID_PATH},
    {"empty sortBy", "User", "", NULL, "[]", "", 400, SCIM_INVALID_PATH},
    {"blank sortBy", "User", "   ", NULL, "[]", "", 400, SCIM_INVALID_PATH},
    {"unknown attribute", "User", "bogus", NULL, "[]", "", 400, SCIM_INVALID_PATH},
    {"unknown sub-attribute", "User", "name.bogus", NULL, "[]", "", 400, SCIM_INVALID_PATH},
    {"singular complex without sub-attribute", "User", "name", NULL, "[]", "", 400,
     SCIM_INVALID_PATH},
    {"extension complex without sub-attribute", "User", ENT ":manager", NULL, "[]", "", 400,
     SCIM_INVALID_PATH},
    {"value filter is not a sort path", "User", "emails[type eq \"work\"]", NULL, "[]", "", 400,
     SCIM_INVALID_PATH},
    {"attribute of another resource type", "Group", "userName", NULL, "[]", "", 400,
     SCIM_INVALID_PATH},
    {"unknown extension URN", "User", "urn:bogus:ext:employeeNumber", NULL, "[]", "", 400,
     SCIM_INVALID_PATH},
    {"sortOrder desc is not a value", "User", "userName", "desc", "[]", "", 400,
     SCIM_INVALID_VALUE},
    {"sortOrder nonsense", "User", "userName", "up", "[]", "", 400, SCIM_INVALID_VALUE},
    {"sortOrder with blanks", "User", "userName", " ascending", "[]", "", 400, SCIM_INVALID_VALUE},
};

static int
sign(int c)
{
	return (c > 0) - (c < 0);
}

/* label — the "k" label of resource r (borrowed). */
static const char *
label(const json_t *r)
{
	const char *k = json_string_value(json_object_get(r, "k"));

	assert_non_null(k);
	return k;
}

static void
run_case(void **state)
{
	const struct sort_case *c = *state;
	const struct resource_type_def *rt = schema_resource_type(c->type);
	struct sort_key key;
	struct rb_error err;
	json_t *items, **arr;
	char got[512];
	size_t n, i, j, o = 0;

	assert_non_null(rt);
	error_clear(&err);
	if (c->status != 0) {
		assert_int_equal(sort_parse(rt, c->by, c->order, &key, &err), -1);
		assert_int_equal(err.status, c->status);
		assert_non_null(err.scim_type);
		assert_string_equal(err.scim_type, c->scim_type);
		assert_true(err.detail[0] != '\0');
		return;
	}
	assert_int_equal(sort_parse(rt, c->by, c->order, &key, &err), 0);
	assert_false(error_is_set(&err));
	assert_non_null(key.attr);

	items = json_loads(c->items, 0, NULL);
	assert_non_null(items);
	n = json_array_size(items);
	arr = calloc(n + 1, sizeof(*arr));
	assert_non_null(arr);
	for (i = 0; i < n; i++)
		arr[i] = json_array_get(items, i);

	/* sort_compare: reflexive and antisymmetric over every pair */
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			assert_int_equal(sign(sort_compare(rt, &key, arr[i], arr[j])),
			                 -sign(sort_compare(rt, &key, arr[j], arr[i])));

	assert_int_equal(sort_resources(rt, &key, arr, n), 0);
	got[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(got + o, sizeof(got) - o, "%s%s", i > 0 ? "," : "", label(arr[i]));

		assert_true(w > 0 && (size_t)w < sizeof(got) - o);
		o += (size_t)w;
	}
	assert_string_equal(got, c->expect);
	/* the sorted order agrees with sort_compare */
	for (i = 1; i < n; i++)
		assert_true(sort_compare(rt, &key, arr[i - 1], arr[i]) <= 0);
	free(arr);
	json_decref(items);
}

/* sort_parse fills the key as documented. */
static void
test_parse_key(void **state)
{
	const struct resource_type_def *u = schema_resource_type("User");
	struct sort_key k;
	struct rb_error err;

	(void)state;
	error_clear(&err);
	assert_int_equal(sort_parse(u, "emails", NULL, &k, &err), 0);
	assert_string_equal(k.attr->name, "emails");
	assert_non_null(k.sub);
	assert_string_equal(k.sub->name, "value");
	assert_false(k.descending);

	assert_int_equal(sort_parse(u, "name.givenName", "descending", &k, &err), 0);
	assert_string_equal(k.attr->name, "name");
	assert_string_equal(k.sub->name, "givenName");
	assert_true(k.descending);

	assert_int_equal(sort_parse(u, ENT ":employeeNumber", NULL, &k, &err), 0);
	assert_non_null(k.schema);
	assert_string_equal(k.schema->id, ENT);
	assert_null(k.sub);

	assert_int_equal(sort_parse(u, "meta.lastModified", NULL, &k, &err), 0);
	assert_null(k.schema);
	assert_string_equal(k.attr->name, "meta");
	assert_string_equal(k.sub->name, "lastModified");

	/* a failed parse leaves the key zeroed */
	assert_int_equal(sort_parse(u, "userName", "sideways", &k, &err), -1);
	assert_null(k.attr);
	assert_false(k.descending);
}

/* sort_resources on 0 and 1 items, and a larger list against a reference. */
static void
test_sort_sizes(void **state)
{
	const struct resource_type_def *u = schema_resource_type("User");
	struct sort_key k;
	struct rb_error err;
	json_t *items[200];
	size_t i;

	(void)state;
	error_clear(&err);
	assert_int_equal(sort_parse(u, "userName", NULL, &k, &err), 0);
	assert_int_equal(sort_resources(u, &k, NULL, 0), 0);
	for (i = 0; i < 200; i++) {
		char name[32], id[32];

		/* userName cycles through 7 values, so there are many ties */
		snprintf(name, sizeof(name), "user%zu", (i * 37) % 7);
		snprintf(id, sizeof(id), "id%03zu", 199 - i);
		items[i] = json_pack("{s:s, s:s}", "userName", name, "id", id);
		assert_non_null(items[i]);
	}
	assert_int_equal(sort_resources(u, &k, items, 1), 0);
	assert_int_equal(sort_resources(u, &k, items, 200), 0);
	for (i = 1; i < 200; i++) {
		const char *a = json_string_value(json_object_get(items[i - 1], "userName"));
		const char *b = json_string_value(json_object_get(items[i], "userName"));

		assert_true(strcmp(a, b) < 0 ||
		            (strcmp(a, b) == 0 &&
		             strcmp(json_string_value(json_object_get(items[i - 1], "id")),
		                    json_string_value(json_object_get(items[i], "id"))) < 0));
	}
	for (i = 0; i < 200; i++)
		json_decref(items[i]);
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int
main(void)
{
	struct CMUnitTest tests[NCASES + 2];
	size_t i;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	for (i = 0; i < NCASES; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	memset(&tests[NCASES], 0, 2 * sizeof(tests[0]));
	tests[NCASES].name = "sort_parse fills the key";
	tests[NCASES].test_func = test_parse_key;
	tests[NCASES + 1].name = "sort_resources: 0, 1 and 200 items";
	tests[NCASES + 1].test_func = test_sort_sizes;
	return _cmocka_run_group_tests("sort", tests, NCASES + 2, NULL, NULL);
}
