/*
 * fuzz_filter.c — libFuzzer target for the SCIM filter parser (engine/filter.h).
 *
 * Any bytes, NUL-terminated, as a filter on User and Group: a parse either
 * fails with 400 invalidFilter, or succeeds and then the canonical form must
 * re-parse to a tree that prints the same text, and evaluating both trees
 * over a fixed sample resource must agree. A value filter parse on
 * User.emails and the admin schools attribute exercises the PATCH entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/filter.h"
#include "engine/schema.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample_user[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"externalId\":\"4711\","
    "\"userName\":\"Alice@Example.com\",\"name\":{\"familyName\":\"O'Malley\",\"givenName\":"
    "\"Alice\"},"
    "\"displayName\":\"Alice O'Malley\",\"title\":\"\",\"userType\":\"Employee\",\"active\":true,"
    "\"emails\":[{\"value\":\"alice@example.com\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"a@home.org\",\"type\":\"home\"}],"
    "\"meta\":{\"resourceType\":\"User\",\"created\":\"2011-08-01T18:29:49.793Z\","
    "\"lastModified\":\"2011-08-01T20:31:02+02:00\",\"version\":\"W/\\\"3\\\"\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"701984\","
    "\"manager\":{\"value\":\"26118915\",\"displayName\":\"John Smith\"}},"
    "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\":{\"permission\":\"manage\","
    "\"canManageAdmins\":false,\"schools\":[\"s1\",\"S2\"]}}";

static const char sample_group[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"g1\","
    "\"displayName\":\"Group\",\"members\":[{\"value\":\"u1\",\"display\":\"Alice\"},"
    "{\"value\":\"u2\",\"type\":\"User\"}]}";

static void
fuzz_one(const struct resource_type_def *rt, const char *text, const json_t *resource)
{
	struct rb_error err;
	struct filter *f, *g;
	char *s1, *s2;

	error_clear(&err);
	f = filter_parse(rt, text, &err);
	if (f == NULL) {
		if (err.status != 400 || err.scim_type == NULL ||
		    strcmp(err.scim_type, SCIM_INVALID_FILTER) != 0)
			abort();
		return;
	}
	if (error_is_set(&err))
		abort();
	s1 = filter_to_string(f);
	if (s1 == NULL)
		abort();
	if (strlen(s1) > FILTER_MAX_LEN) {
		/* The canonical form may legitimately be longer than the input
		 * limit (bare words gain quotes, control characters become
		 * \u00XX), so it cannot be fed back to filter_parse. */
		free(s1);
		filter_free(f);
		return;
	}
	g = filter_parse(rt, s1, &err);
	if (g == NULL)
		abort(); /* the canonical form must parse */
	s2 = filter_to_string(g);
	if (s2 == NULL || strcmp(s1, s2) != 0)
		abort(); /* and print the same */
	if (filter_match(f, resource) != filter_match(g, resource))
		abort();
	free(s1);
	free(s2);
	filter_free(f);
	filter_free(g);
}

static void
fuzz_value_filter(const struct resource_type_def *rt, const char *path, const char *text,
                  size_t len, const json_t *elems)
{
	struct attr_ref ref;
	struct rb_error err;
	struct filter *f;
	size_t i;
	json_t *e;

	if (schema_resolve(rt, path, strlen(path), &ref) < 0)
		abort();
	error_clear(&err);
	f = filter_parse_value_filter(rt, &ref, text, len, &err);
	if (f == NULL)
		return;
	json_array_foreach(elems, i, e)(void) filter_match_value(f, e);
	filter_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *user, *group;
	const struct resource_type_def *u = schema_resource_type("User");
	const struct resource_type_def *g = schema_resource_type("Group");
	char *text;

	if (user == NULL) {
		user = json_loads(sample_user, 0, NULL);
		group = json_loads(sample_group, 0, NULL);
		if (user == NULL || group == NULL || u == NULL || g == NULL)
			abort();
	}
	if (size > FILTER_MAX_LEN + 16)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_one(u, text, user);
	fuzz_one(g, text, group);
	fuzz_value_filter(u, "emails", text, strlen(text), json_object_get(user, "emails"));
	fuzz_value_filter(
	    u, "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User:schools", text,
	    strlen(text),
	    json_object_get(
	        json_object_get(user,
	                        "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User"),
	        "schools"));
	free(text);
	return 0;
}
