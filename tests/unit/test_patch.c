/*
 * test_patch.c — data-driven tests of patch_apply (engine/patch.h).
 *
 * Cases live in tests/unit/cases/patch/<name>.json (located via $RB_SRCDIR,
 * default "."): each file is an array of
 *   {"name": "...", "type": "User"|"Group"|"School",
 *    "resource": {…} | "<fixture name>"      (fixtures.json),
 *    "deferred": ["members"],                 optional
 *    "ops": [ … ]  (wrapped in a PatchOp body) | "body": { … },
 *    then one of
 *    "expect": {…}                            the whole new resource
 *    "expect_attrs": {"key": value, …}        these top-level members equal
 *    "expect_absent": ["key", …]              these top-level members absent
 *    "error": {"status": 400, "scimType": "noTarget"}
 *    "need_load": true
 *    and optionally "changed": bool, "changes": […] (patch_changes_to_json)}
 * Every case also runs with the op names in the other spellings real
 * clients send ("Add", "ADD"), which must not change the outcome.
 * filtered_cases below adds a few cases in the same format for add and
 * replace on A[F] / A[F].S (patch_filtered).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "engine/patch.h"
#include "engine/schema.h"
#include "lib/error.h"

struct pcase {
	char name[256];
	json_t *c;   /* borrowed from cases */
	int variant; /* 0 as written, 1 Capitalised ops, 2 UPPER ops */
};

static json_t *fixtures;
static json_t *all_cases;

/*
 * More cases in the format of the case files: add and replace on A[F] and
 * A[F].S (patch_filtered) where the case files do not reach.
 */
static const char filtered_cases[] =
    "[{\"name\": \"replace simple multi-valued element by filter\", \"type\": \"User\","
    "  \"resource\": {\"schemas\": [\"" SCHEMA_CORE_USER "\", \"" SCHEMA_ADMIN_USER "\"],"
    "    \"userName\": \"u\", \"" SCHEMA_ADMIN_USER "\": {\"schools\": [\"s1\", \"s2\"]}},"
    "  \"ops\": [{\"op\": \"replace\","
    "    \"path\": \"" SCHEMA_ADMIN_USER ":schools[value eq \\\"s1\\\"]\", \"value\": \"s3\"}],"
    "  \"expect_attrs\": {\"" SCHEMA_ADMIN_USER "\": {\"schools\": [\"s3\", \"s2\"]}}},"
    " {\"name\": \"add of an immutable member value by filter\", \"type\": \"Group\","
    "  \"resource\": \"group\","
    "  \"ops\": [{\"op\": \"add\", \"path\": \"members[type eq \\\"User\\\"].value\","
    "    \"value\": \"other\"}],"
    "  \"error\": {\"status\": 400, \"scimType\": \"mutability\"}},"
    " {\"name\": \"replace filter sub-attribute null drops an emptied element\","
    "  \"type\": \"User\", \"resource\": \"user\","
    "  \"ops\": [{\"op\": \"replace\", \"path\": \"phoneNumbers[type eq \\\"work\\\"].type\","
    "    \"value\": null},"
    "   {\"op\": \"replace\", \"path\": \"phoneNumbers[value pr].value\", \"value\": null}],"
    "  \"expect_absent\": [\"phoneNumbers\"], \"changed\": true},"
    " {\"name\": \"add element by filter hands primary over\", \"type\": \"User\","
    "  \"resource\": \"user\","
    "  \"ops\": [{\"op\": \"add\", \"path\": \"emails[type eq \\\"home\\\"]\","
    "    \"value\": {\"primary\": true}}],"
    "  \"expect_attrs\": {\"emails\": ["
    "    {\"value\": \"bjensen@example.com\", \"type\": \"work\", \"primary\": false},"
    "    {\"value\": \"babs@jensen.org\", \"type\": \"home\", \"primary\": true}]}}]";

static const char *
srcdir(void)
{
	const char *d = getenv("RB_SRCDIR");

	return d != NULL && *d != '\0' ? d : ".";
}

static json_t *
load(const char *rel)
{
	char path[1024];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	j = json_load_file(path, 0, &jerr);
	if (j == NULL)
		fprintf(stderr, "# %s:%d: %s\n", path, jerr.line, jerr.text);
	return j;
}

static json_t *
ops_variant(json_t *ops, int variant)
{
	json_t *copy = json_deep_copy(ops);
	size_t i;

	for (i = 0; i < json_array_size(copy); i++) {
		json_t *o = json_array_get(copy, i);
		const char *name = json_string_value(json_object_get(o, "op"));
		char buf[32];
		size_t k;

		if (name == NULL || variant == 0 || strlen(name) >= sizeof(buf))
			continue;
		for (k = 0; name[k] != '\0'; k++)
			buf[k] = (char)(variant == 2 || k == 0 ? toupper((unsigned char)name[k])
			                                       : tolower((unsigned char)name[k]));
		buf[k] = '\0';
		json_object_set_new(o, "op", json_string(buf));
	}
	return copy;
}

static void
run_case(void **state)
{
	struct pcase *pc = *state;
	json_t *c = pc->c, *res, *body, *jd, *expect, *snapshot;
	const struct resource_type_def *rt;
	const char *deferred[8] = {NULL};
	struct patch_result r;
	struct validate_opts opts;
	struct rb_error err;
	size_t i;
	int rc;

	rt = schema_resource_type(json_string_value(json_object_get(c, "type")));
	assert_non_null(rt);
	res = json_object_get(c, "resource");
	if (json_is_string(res))
		res = json_object_get(fixtures, json_string_value(res));
	assert_non_null(res);
	if (json_object_get(c, "body") != NULL) {
		body = json_deep_copy(json_object_get(c, "body"));
		if (json_is_array(json_object_get(body, "Operations")))
			json_object_set_new(
			    body, "Operations",
			    ops_variant(json_object_get(body, "Operations"), pc->variant));
	} else {
		body = json_pack("{s:[s], s:o}", "schemas", SCHEMA_PATCH_OP, "Operations",
		                 ops_variant(json_object_get(c, "ops"), pc->variant));
	}
	assert_non_null(body);
	jd = json_object_get(c, "deferred");
	for (i = 0; i < json_array_size(jd) && i < 7; i++)
		deferred[i] = json_string_value(json_array_get(jd, i));

	snapshot = json_deep_copy(res);
	error_clear(&err);
	/* "lenient": true — unknown attributes ignored and listed ("ignored") */
	opts.strict = false;
	opts.ignored = json_array();
	rc = patch_apply(rt, res, body, jd != NULL ? deferred : NULL,
	                 json_is_true(json_object_get(c, "lenient")) ? &opts : NULL, &r, &err);
	if (json_object_get(c, "ignored") != NULL &&
	    !json_equal(json_object_get(c, "ignored"), opts.ignored)) {
		char *s = json_dumps(opts.ignored, JSON_COMPACT);

		fprintf(stderr, "# ignored: %s\n", s);
		free(s);
		fail_msg("%s: ignored names differ", pc->name);
	}

	if (json_object_get(c, "error") != NULL) {
		json_t *e = json_object_get(c, "error");

		if (rc != PATCH_ERROR)
			fail_msg("%s: expected error, got rc %d", pc->name, rc);
		assert_int_equal(err.status, json_integer_value(json_object_get(e, "status")));
		if (json_object_get(e, "scimType") != NULL) {
			if (err.scim_type == NULL ||
			    strcmp(err.scim_type,
			           json_string_value(json_object_get(e, "scimType"))) != 0)
				fail_msg("%s: scimType %s, expected %s (%s)", pc->name,
				         err.scim_type ? err.scim_type : "(null)",
				         json_string_value(json_object_get(e, "scimType")),
				         err.detail);
		}
		assert_null(r.resource);
		goto done;
	}
	if (json_is_true(json_object_get(c, "need_load"))) {
		if (rc != PATCH_NEED_LOAD)
			fail_msg("%s: expected PATCH_NEED_LOAD, got %d (%s)", pc->name, rc,
			         err.detail);
		goto done;
	}
	if (rc != PATCH_OK)
		fail_msg("%s: rc %d: %d %s %s", pc->name, rc, err.status,
		         err.scim_type ? err.scim_type : "", err.detail);
	expect = json_object_get(c, "expect");
	if (expect != NULL && !json_equal(expect, r.resource)) {
		char *got = json_dumps(r.resource, JSON_SORT_KEYS | JSON_COMPACT);

		fprintf(stderr, "# got: %s\n", got);
		free(got);
		fail_msg("%s: resource differs", pc->name);
	}
	expect = json_object_get(c, "expect_attrs");
	if (expect != NULL) {
		const char *k;
		json_t *v;

		json_object_foreach(expect, k, v)
		{
			json_t *got = json_object_get(r.resource, k);

			if (got == NULL || !json_equal(got, v)) {
				char *s = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT |
				                                    JSON_ENCODE_ANY)
				              : NULL;

				fprintf(stderr, "# %s: got %s\n", k, s ? s : "(absent)");
				free(s);
				fail_msg("%s: attribute %s differs", pc->name, k);
			}
		}
	}
	expect = json_object_get(c, "expect_absent");
	for (i = 0; i < json_array_size(expect); i++)
		if (json_object_get(r.resource, json_string_value(json_array_get(expect, i))) !=
		    NULL)
			fail_msg("%s: %s should be absent", pc->name,
			         json_string_value(json_array_get(expect, i)));
	if (json_object_get(c, "changed") != NULL)
		assert_int_equal(r.changed, json_is_true(json_object_get(c, "changed")));
	expect = json_object_get(c, "changes");
	if (expect != NULL) {
		json_t *got = patch_changes_to_json(&r);

		if (!json_equal(got, expect)) {
			char *s = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

			fprintf(stderr, "# changes: %s\n", s);
			free(s);
			json_decref(got);
			fail_msg("%s: change set differs", pc->name);
		}
		json_decref(got);
	}
done:
	json_decref(opts.ignored);
	/* the input is never modified */
	assert_true(json_equal(snapshot, res));
	json_decref(snapshot);
	patch_result_clear(&r);
	json_decref(body);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(void)
{
	struct dirent **names = NULL;
	struct CMUnitTest *tests;
	struct pcase *pcs;
	char dir[1024];
	size_t n = 0, i, k;
	int nfiles, f, rc;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	fixtures = load("tests/unit/cases/patch/fixtures.json");
	if (fixtures == NULL)
		return 1;
	all_cases = json_array();
	snprintf(dir, sizeof(dir), "%s/tests/unit/cases/patch", srcdir());
	nfiles = scandir(dir, &names, NULL, by_name);
	for (f = 0; f < nfiles; f++) {
		char rel[600];
		json_t *arr;
		size_t len = strlen(names[f]->d_name);

		if (len < 5 || strcmp(names[f]->d_name + len - 5, ".json") != 0 ||
		    strcmp(names[f]->d_name, "fixtures.json") == 0) {
			free(names[f]);
			continue;
		}
		snprintf(rel, sizeof(rel), "tests/unit/cases/patch/%s", names[f]->d_name);
		free(names[f]);
		arr = load(rel);
		if (!json_is_array(arr))
			return 1;
		json_array_extend(all_cases, arr);
		json_decref(arr);
	}
	free(names);
	{
		json_error_t jerr;
		json_t *arr = json_loads(filtered_cases, 0, &jerr);

		if (!json_is_array(arr)) {
			fprintf(stderr, "# filtered_cases:%d: %s\n", jerr.line, jerr.text);
			return 1;
		}
		json_array_extend(all_cases, arr);
		json_decref(arr);
	}
	n = json_array_size(all_cases) * 3;
	tests = calloc(n, sizeof(*tests));
	pcs = calloc(n, sizeof(*pcs));
	if (tests == NULL || pcs == NULL)
		return 1;
	for (i = 0, k = 0; i < json_array_size(all_cases); i++) {
		int v;

		for (v = 0; v < 3; v++, k++) {
			static const char *const vn[] = {"", " [Op]", " [OP]"};

			pcs[k].c = json_array_get(all_cases, i);
			pcs[k].variant = v;
			snprintf(pcs[k].name, sizeof(pcs[k].name), "%s%s",
			         json_string_value(json_object_get(pcs[k].c, "name")), vn[v]);
			tests[k].name = pcs[k].name;
			tests[k].test_func = run_case;
			tests[k].initial_state = &pcs[k];
		}
	}
	rc = _cmocka_run_group_tests("patch", tests, n, NULL, NULL);
	free(tests);
	free(pcs);
	json_decref(all_cases);
	json_decref(fixtures);
	return rc;
}
