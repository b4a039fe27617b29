/*
 * fuzz_patch.c — libFuzzer target: bytes as a JSON PatchOp body applied to
 * a fixed User and a fixed Group (with and without deferred members).
 * Checks: the input resource is never modified; errors carry a status;
 * a successful result has a resource; everything is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/patch.h"
#include "engine/schema.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char user_json[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\","
    "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\"],"
    "\"id\":\"u1\",\"externalId\":\"x1\",\"userName\":\"bjensen@example.com\","
    "\"name\":{\"givenName\":\"Barbara\",\"familyName\":\"Jensen\"},\"active\":true,"
    "\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"b@home.org\",\"type\":\"home\"}],"
    "\"addresses\":[{\"type\":\"work\",\"streetAddress\":\"1 Main\"}],"
    "\"groups\":[{\"value\":\"g1\"}],\"meta\":{\"resourceType\":\"User\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
    "{\"employeeNumber\":\"7\",\"manager\":{\"value\":\"m1\"}},"
    "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\":"
    "{\"permission\":\"view\",\"scope\":\"school\",\"schools\":[\"s1\",\"s2\"],"
    "\"inviteStatus\":\"active\"}}";

static const char group_json[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"g1\","
    "\"displayName\":\"Tour Guides\",\"members\":[{\"value\":\"u1\",\"display\":\"B\"},"
    "{\"value\":\"u2\",\"type\":\"User\"}]}";

static void
run_opts(const struct resource_type_def *rt, const json_t *res, const json_t *body,
         const char *const *deferred, struct validate_opts *opts)
{
	struct patch_result r;
	struct rb_error err;
	json_t *before = json_deep_copy(res);
	int rc;

	error_clear(&err);
	rc = patch_apply(rt, res, body, deferred, opts, &r, &err);
	if (!json_equal(before, res))
		abort();
	if (rc == PATCH_ERROR && !error_is_set(&err))
		abort();
	if (rc == PATCH_OK) {
		json_t *cs = patch_changes_to_json(&r);

		if (r.resource == NULL || cs == NULL)
			abort();
		if (r.changed != (json_array_size(cs) > 0))
			abort();
		json_decref(cs);
	}
	patch_result_clear(&r);
	json_decref(before);
}

/* run — strict (no options), then lenient (unknown attributes ignored and listed). */
static void
run(const struct resource_type_def *rt, const json_t *res, const json_t *body,
    const char *const *deferred)
{
	struct validate_opts lenient = {false, json_array()};
	size_t i;

	run_opts(rt, res, body, deferred, NULL);
	run_opts(rt, res, body, deferred, &lenient);
	for (i = 0; i < json_array_size(lenient.ignored); i++)
		if (!json_is_string(json_array_get(lenient.ignored, i)))
			abort();
	json_decref(lenient.ignored);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *user, *group, *group_bare;
	static const char *const deferred[] = {"members", NULL};
	json_t *body;

	if (user == NULL) {
		user = json_loads(user_json, 0, NULL);
		group = json_loads(group_json, 0, NULL);
		group_bare = json_deep_copy(group);
		json_object_del(group_bare, "members");
		if (user == NULL || group == NULL || group_bare == NULL)
			abort();
	}
	body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (body == NULL)
		return 0;
	run(schema_resource_type("User"), user, body, NULL);
	run(schema_resource_type("Group"), group, body, NULL);
	run(schema_resource_type("Group"), group_bare, body, deferred);
	json_decref(body);
	return 0;
}
