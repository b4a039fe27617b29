/*
 * engine_cli.c — the C side of the differential test (tests/differential/).
 *
 * Reads one JSON object per line on stdin and writes one JSON object per
 * line on stdout, in the same order, through the public engine API only:
 *
 *   {"id":…, "op":"filter", "type":"User", "filter":"…", "resource":{…}}
 *     → {"id":…, "ok":true, "match":true|false}
 *   {"id":…, "op":"patch", "type":"User", "resource":{…}, "body":{…}}
 *     → {"id":…, "ok":true, "resource":{…}, "changed":true|false}
 *   any error → {"id":…, "ok":false, "status":400, "scimType":"…", "detail":"…"}
 *
 * "type" defaults to "User". Output objects have sorted keys so that the
 * Node side can compare them textually if it wants to. A line that is not
 * JSON answers {"ok":false,"status":0,"detail":"bad input line"}; the
 * driver never stops early, so line N of the output answers line N of the
 * input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/filter.h"
#include "engine/patch.h"
#include "engine/schema.h"
#include "lib/error.h"

/* cli_error — a NEW error answer for *err. */
static json_t *
cli_error(const struct rb_error *err)
{
	return json_pack("{s:b, s:i, s:s?, s:s}", "ok", 0, "status", err->status, "scimType",
	                 err->scim_type, "detail", err->detail);
}

/* cli_filter — evaluate req.filter over req.resource; NEW answer. */
static json_t *
cli_filter(const struct resource_type_def *rt, const json_t *req)
{
	const char *text = json_string_value(json_object_get(req, "filter"));
	const json_t *resource = json_object_get(req, "resource");
	struct rb_error err;
	struct filter *f;
	bool match;

	error_clear(&err);
	if (text == NULL || !json_is_object(resource)) {
		error_set(&err, 0, NULL,
		          "filter: needs \"filter\" (string) and \"resource\" (object)");
		return cli_error(&err);
	}
	f = filter_parse(rt, text, &err);
	if (f == NULL)
		return cli_error(&err);
	match = filter_match(f, resource);
	filter_free(f);
	return json_pack("{s:b, s:b}", "ok", 1, "match", match);
}

/* cli_patch — apply req.body to req.resource; NEW answer. */
static json_t *
cli_patch(const struct resource_type_def *rt, const json_t *req)
{
	const json_t *resource = json_object_get(req, "resource");
	const json_t *body = json_object_get(req, "body");
	struct patch_result res;
	struct rb_error err;
	json_t *answer;
	int rc;

	error_clear(&err);
	if (!json_is_object(resource) || body == NULL) {
		error_set(&err, 0, NULL, "patch: needs \"resource\" (object) and \"body\"");
		return cli_error(&err);
	}
	rc = patch_apply(rt, resource, body, NULL, NULL, &res, &err);
	if (rc != PATCH_OK) {
		if (rc == PATCH_NEED_LOAD)
			error_set(&err, 0, NULL, "unexpected PATCH_NEED_LOAD");
		return cli_error(&err);
	}
	answer =
	    json_pack("{s:b, s:O, s:b}", "ok", 1, "resource", res.resource, "changed", res.changed);
	patch_result_clear(&res);
	return answer;
}

/* cli_answer — the NEW answer to one request line. */
static json_t *
cli_answer(const char *line)
{
	const struct resource_type_def *rt;
	json_t *req, *answer, *id;
	const char *op, *type;
	struct rb_error err;

	error_clear(&err);
	req = json_loads(line, JSON_DECODE_ANY, NULL);
	if (!json_is_object(req)) {
		json_decref(req);
		error_set(&err, 0, NULL, "bad input line");
		return cli_error(&err);
	}
	op = json_string_value(json_object_get(req, "op"));
	type = json_string_value(json_object_get(req, "type"));
	rt = schema_resource_type(type != NULL ? type : "User");
	if (rt == NULL) {
		error_set(&err, 0, NULL, "unknown resource type");
		answer = cli_error(&err);
	} else if (op != NULL && strcmp(op, "filter") == 0) {
		answer = cli_filter(rt, req);
	} else if (op != NULL && strcmp(op, "patch") == 0) {
		answer = cli_patch(rt, req);
	} else {
		error_set(&err, 0, NULL, "unknown op");
		answer = cli_error(&err);
	}
	id = json_object_get(req, "id");
	if (answer != NULL && id != NULL)
		json_object_set(answer, "id", id);
	json_decref(req);
	return answer;
}

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		json_t *answer;
		char *out;

		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (line[0] == '\0')
			continue;
		answer = cli_answer(line);
		out = answer != NULL ? json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(answer);
		if (out == NULL) {
			fputs("{\"ok\":false,\"status\":0,\"detail\":\"out of memory\"}\n", stdout);
			rc = 1;
			continue;
		}
		fputs(out, stdout);
		fputc('\n', stdout);
		free(out);
	}
	free(line);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
