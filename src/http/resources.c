/*
 * resources.c — /Users, /Groups, /Schools and /Regions over the directory layer
 * (RFC 7644 §3), and the resource_ops table that bulk.c (/Bulk) and
 * search.c (/.search at the root) run through.
 *
 * Each handler: parse the request (engine: validate, filter, sort,
 * projection), call dir_*, project the result, answer with SCIM headers
 * (Location, ETag). Errors come back from every layer as one rb_error.
 */
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/dir.h"
#include "engine/filter.h"
#include "engine/project.h"
#include "engine/sort.h"
#include "engine/validate.h"

/* struct resource_ops (the directory operations of one resource type) is in http.h. */

static json_t *
users_get(const struct dir_ctx *ctx, const char *id, bool want_members, struct rb_error *err)
{
	(void)want_members;
	return dir_user_get(ctx, id, err);
}

static json_t *
users_patch(const struct dir_ctx *ctx, const char *id, const json_t *body, const char *if_match,
            bool want_result, struct rb_error *err)
{
	(void)want_result;
	return dir_user_patch(ctx, id, body, if_match, err);
}

static const struct resource_ops user_ops = {
    "User",      "Users",         users_get,       dir_user_create, dir_user_replace,
    users_patch, dir_user_delete, dir_user_search, false,
};

static const struct resource_ops group_ops = {
    "Group",          "Groups",          dir_group_get,
    dir_group_create, dir_group_replace, dir_group_patch,
    dir_group_delete, dir_group_search,  true,
};

static json_t *
schools_get(const struct dir_ctx *ctx, const char *id, bool want_members, struct rb_error *err)
{
	(void)want_members;
	return dir_school_get(ctx, id, err);
}

static json_t *
schools_patch(const struct dir_ctx *ctx, const char *id, const json_t *body, const char *if_match,
              bool want_result, struct rb_error *err)
{
	(void)want_result;
	return dir_school_patch(ctx, id, body, if_match, err);
}

static const struct resource_ops school_ops = {
    "School",          "Schools",          schools_get,
    dir_school_create, dir_school_replace, schools_patch,
    dir_school_delete, dir_school_search,  false,
};

static json_t *
regions_get(const struct dir_ctx *ctx, const char *id, bool want_members, struct rb_error *err)
{
	(void)want_members;
	return dir_region_get(ctx, id, err);
}

static json_t *
regions_patch(const struct dir_ctx *ctx, const char *id, const json_t *body, const char *if_match,
              bool want_result, struct rb_error *err)
{
	(void)want_result;
	return dir_region_patch(ctx, id, body, if_match, err);
}

static const struct resource_ops region_ops = {
    "Region",          "Regions",          regions_get,
    dir_region_create, dir_region_replace, regions_patch,
    dir_region_delete, dir_region_search,  false,
};

/* Every resource type, in the stable order of root searches (RFC 7644 §3.4.3). */
static const struct resource_ops *const all_ops[] = {&user_ops, &group_ops, &school_ops,
                                                     &region_ops, NULL};

const struct resource_ops *const *
resources_ops_all(void)
{
	return all_ops;
}

const struct resource_ops *
resources_ops_find(const char *endpoint)
{
	size_t i;

	for (i = 0; endpoint != NULL && all_ops[i] != NULL; i++)
		if (!strcasecmp(all_ops[i]->endpoint, endpoint))
			return all_ops[i];
	return NULL;
}

/* The request's directory context. `base` holds the SCIM base URL. */
void
resources_ctx(struct http_request *req, struct dir_ctx *ctx, char *base, size_t baselen)
{
	snprintf(base, baselen, "%s/scim/v2", req->app->cfg->base_url);
	memset(ctx, 0, sizeof(*ctx)); /* what is not set here is off (held, guard_off) */
	ctx->dir = req->app->dir;
	ctx->tenant = req->auth.tenant->name;
	ctx->source = req->auth.source;
	ctx->passwords = req->auth.passwords;
	ctx->base_url = base;
	ctx->request_id = req->request_id;
	ctx->client_addr = req->client_addr;
	ctx->input = &req->input;
}

json_t *
resources_held_body(void)
{
	return json_pack(
	    "{s:[s], s:s, s:s}", "schemas", RESOURCES_HELD_SCHEMA, "status", "202", "detail",
	    "held by the mass-deprovision guard: this source removed or suspended more "
	    "than its share of the tenant's people within the window; nothing was "
	    "changed, an operator approves or rejects it (rosterctl guard list)");
}

/* Answer an error; 503s carry Retry-After. */
void
resources_fail(struct http_response *res, const struct rb_error *err)
{
	response_error(res, err);
	if (err->status == 503)
		response_header(res, "Retry-After", "5");
}

/* Answer one resource: projection, ETag, Location (for 201). */
static void
resources_answer(struct http_request *req, struct http_response *res,
                 const struct resource_ops *ops, json_t *resource, int status,
                 const struct project *proj)
{
	const char *version =
	    json_string_value(json_object_get(json_object_get(resource, "meta"), "version"));
	const char *location =
	    json_string_value(json_object_get(json_object_get(resource, "meta"), "location"));
	json_t *out = proj ? project_apply(proj, resource) : json_incref(resource);

	(void)req;
	(void)ops;
	if (version != NULL)
		response_header(res, "ETag", version);
	if (status == 201 && location != NULL)
		response_header(res, "Location", location);
	response_json(res, status, out);
}

/* A whole number argument: 0 and *out set, or -1 with *err (400 invalidValue). */
static int
resources_long_arg(const char *name, const char *s, long *out, struct rb_error *err)
{
	char *end;
	long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "%s must be a whole number, not \"%s\"", name, s);
	*out = v;
	return 0;
}

/* struct list_params (URL or SearchRequest parameters) is in http.h. */

void
list_params_clear(struct list_params *p)
{
	size_t i;

	for (i = 0; i < 5; i++)
		free(p->owned[i]);
}

/* Comma-joined list from a JSON array of strings (or the string itself). NEW string. */
static char *
resources_join(const json_t *v)
{
	size_t i, len = 1;
	char *s;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_array(v))
		return NULL;
	for (i = 0; i < json_array_size(v); i++)
		len += json_string_length(json_array_get(v, i)) + 1;
	s = calloc(1, len);
	for (i = 0; s != NULL && i < json_array_size(v); i++) {
		const char *e = json_string_value(json_array_get(v, i));
		if (e == NULL)
			continue;
		if (s[0])
			strncat(s, ",", len - strlen(s) - 1);
		strncat(s, e, len - strlen(s) - 1);
	}
	return s;
}

int
list_params_from_body(struct http_request *req, struct list_params *p, struct rb_error *err)
{
	json_t *body = request_json(req, err), *v;
	const char *key;
	int rc = -1;

	if (body == NULL)
		return -1;
	json_object_foreach(body, key, v)
	{
		if (!strcasecmp(key, "filter") && json_is_string(v))
			p->filter = p->owned[0] = strdup(json_string_value(v));
		else if (!strcasecmp(key, "sortBy") && json_is_string(v))
			p->sort_by = p->owned[1] = strdup(json_string_value(v));
		else if (!strcasecmp(key, "sortOrder") && json_is_string(v))
			p->sort_order = p->owned[2] = strdup(json_string_value(v));
		else if (!strcasecmp(key, "attributes"))
			p->attributes = p->owned[3] = resources_join(v);
		else if (!strcasecmp(key, "excludedAttributes"))
			p->excluded = p->owned[4] = resources_join(v);
		else if (!strcasecmp(key, "startIndex") && json_is_integer(v))
			p->start_index = (long)json_integer_value(v);
		else if (!strcasecmp(key, "count") && json_is_integer(v))
			p->count = (long)json_integer_value(v);
		else if (!strcasecmp(key, "schemas") || !strcasecmp(key, "startIndex") ||
		         !strcasecmp(key, "count"))
			continue;
		else {
			error_set(err, 400, SCIM_INVALID_SYNTAX,
			          "SearchRequest: unknown or ill-typed \"%s\"", key);
			goto done;
		}
	}
	rc = 0;
done:
	json_decref(body);
	return rc;
}

static void
resources_list(struct http_request *req, struct http_response *res, const struct resource_ops *ops,
               bool from_body)
{
	const struct resource_type_def *rt = schema_resource_type(ops->type);
	const struct config *cfg = req->app->cfg;
	struct list_params p;
	struct dir_ctx ctx;
	struct dir_query q;
	struct sort_key key;
	struct filter *filter = NULL;
	struct project *proj = NULL;
	struct rb_error err;
	char base[512];
	json_t *items = NULL, *out = NULL, *r;
	long total = 0;
	size_t i;

	error_clear(&err);
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	p.start_index = 1;
	p.count = cfg->default_count;
	if (from_body) {
		if (list_params_from_body(req, &p, &err) < 0)
			goto fail;
	} else {
		p.filter = request_arg(req, "filter");
		p.sort_by = request_arg(req, "sortBy");
		p.sort_order = request_arg(req, "sortOrder");
		p.attributes = request_arg(req, "attributes");
		p.excluded = request_arg(req, "excludedAttributes");
		if (resources_long_arg("startIndex", request_arg(req, "startIndex"), &p.start_index,
		                       &err) < 0 ||
		    resources_long_arg("count", request_arg(req, "count"), &p.count, &err) < 0)
			goto fail;
	}
	/* RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0. */
	if (p.start_index < 1)
		p.start_index = 1;
	if (p.count < 0)
		p.count = 0;
	if (p.count > cfg->max_count)
		p.count = cfg->max_count;
	if (p.filter != NULL && *p.filter != '\0' &&
	    (filter = filter_parse(rt, p.filter, &err)) == NULL)
		goto fail;
	if (p.sort_by != NULL && *p.sort_by != '\0') {
		if (sort_parse(rt, p.sort_by, p.sort_order, &key, &err) < 0)
			goto fail;
		q.sort = &key;
		q.sort_by = p.sort_by;
		q.descending = key.descending;
	}
	proj = project_new(rt, p.attributes, p.excluded, &err);
	if (proj == NULL)
		goto fail;
	q.filter = filter;
	q.start_index = p.start_index;
	q.count = p.count;
	{
		const struct attr_def *members = schema_attr_lookup(rt->schema, NULL, "members");
		q.want_members = members == NULL || project_wants(proj, rt->schema, members);
	}
	resources_ctx(req, &ctx, base, sizeof(base));
	items = ops->search(&ctx, &q, &total, &err);
	if (items == NULL)
		goto fail;
	out = json_array();
	json_array_foreach(items, i, r) json_array_append_new(out, project_apply(proj, r));
	response_json(res, 200,
	              json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCHEMA_LIST_RESPONSE,
	                        "totalResults", (json_int_t)total, "startIndex",
	                        (json_int_t)p.start_index, "itemsPerPage",
	                        (json_int_t)json_array_size(out), "Resources", out));
	goto done;
fail:
	resources_fail(res, &err);
done:
	json_decref(items);
	filter_free(filter);
	project_free(proj);
	list_params_clear(&p);
}

/* If-None-Match on GET: 304 when it names the current version. */
static bool
resources_not_modified(struct http_request *req, const json_t *resource)
{
	const char *inm = request_header(req, "If-None-Match");
	const char *version =
	    json_string_value(json_object_get(json_object_get(resource, "meta"), "version"));

	if (inm == NULL || version == NULL)
		return false;
	if (!strcmp(inm, "*"))
		return true;
	return strstr(inm, version) != NULL ||
	       (strncmp(version, "W/", 2) == 0 && strstr(inm, version + 2) != NULL);
}

static void
resources_one(struct http_request *req, struct http_response *res, const struct resource_ops *ops,
              const char *id)
{
	const struct resource_type_def *rt = schema_resource_type(ops->type);
	/* If-Match and, on writes, If-None-Match (RFC 7232 §3.2): checked by the
	 * directory atomically with the write (dir_precondition). */
	const char *im = request_header(req, "If-Match");
	const char *inm = req->method == HTTP_GET || req->method == HTTP_HEAD
	                      ? NULL
	                      : request_header(req, "If-None-Match");
	char *pre = dir_precondition(im, inm);
	const char *if_match = pre;
	struct project *proj = NULL;
	struct dir_ctx ctx;
	struct rb_error err;
	char base[512];
	json_t *body = NULL, *valid = NULL, *resource = NULL;
	bool want_members, held = false;

	error_clear(&err);
	if (pre == NULL && (im != NULL || inm != NULL)) {
		error_set(&err, 500, NULL, "out of memory");
		goto fail;
	}
	resources_ctx(req, &ctx, base, sizeof(base));
	ctx.held = &held; /* the mass-deprovision guard held the removal: 202 */
	proj = project_new(rt, request_arg(req, "attributes"),
	                   request_arg(req, "excludedAttributes"), &err);
	if (proj == NULL)
		goto fail;
	{
		const struct attr_def *members = schema_attr_lookup(rt->schema, NULL, "members");
		want_members = members == NULL || project_wants(proj, rt->schema, members);
	}
	switch (req->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		resource = ops->get(&ctx, id, want_members, &err);
		if (resource == NULL)
			goto fail;
		if (resources_not_modified(req, resource)) {
			const char *v = json_string_value(
			    json_object_get(json_object_get(resource, "meta"), "version"));
			response_text(res, 304, "text/plain", "");
			response_header(res, "ETag", v);
			goto done;
		}
		resources_answer(req, res, ops, resource, 200, proj);
		goto done;
	case HTTP_PUT:
		body = request_json(req, &err);
		valid =
		    body ? validate_resource(rt, body, VALIDATE_REPLACE, &req->input, &err) : NULL;
		resource = valid ? ops->replace(&ctx, id, valid, if_match, &err) : NULL;
		if (resource == NULL)
			goto fail;
		resources_answer(req, res, ops, resource, held ? 202 : 200, proj);
		goto done;
	case HTTP_PATCH: {
		bool want = !ops->patch_no_content || request_arg(req, "attributes") != NULL ||
		            request_arg(req, "excludedAttributes") != NULL;
		body = request_json(req, &err);
		if (body == NULL)
			goto fail;
		resource = ops->patch(&ctx, id, body, if_match, want, &err);
		if (error_is_set(&err))
			goto fail;
		if (!want || resource == NULL) {
			response_text(res, 204, "text/plain", "");
			goto done;
		}
		resources_answer(req, res, ops, resource, held ? 202 : 200, proj);
		goto done;
	}
	case HTTP_DELETE:
		if (ops->delete (&ctx, id, if_match, &err) < 0)
			goto fail;
		if (held)
			response_json(res, 202, resources_held_body());
		else
			response_text(res, 204, "text/plain", "");
		goto done;
	default:
		error_set(&err, 405, NULL, "%s is not allowed on a %s", req->method_text,
		          ops->type);
		goto fail;
	}
fail:
	resources_fail(res, &err);
done:
	json_decref(body);
	json_decref(valid);
	json_decref(resource);
	project_free(proj);
	free(pre);
}

static void
resources_collection(struct http_request *req, struct http_response *res,
                     const struct resource_ops *ops)
{
	const struct resource_type_def *rt = schema_resource_type(ops->type);
	const char *sub = req->subpath;
	struct project *proj = NULL;
	struct dir_ctx ctx;
	struct rb_error err;
	char base[512];
	json_t *body = NULL, *valid = NULL, *resource = NULL;

	if (sub != NULL && *sub == '/')
		sub++;
	if (sub != NULL && *sub != '\0') {
		if (!strcasecmp(sub, ".search")) {
			if (req->method != HTTP_POST) {
				response_errorf(res, 405, NULL, ".search takes POST");
				return;
			}
			resources_list(req, res, ops, true);
			return;
		}
		if (strchr(sub, '/') != NULL) {
			response_errorf(res, 404, NULL, "no such endpoint: %s", req->path);
			return;
		}
		resources_one(req, res, ops, sub);
		return;
	}
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		resources_list(req, res, ops, false);
		return;
	}
	if (req->method != HTTP_POST) {
		response_errorf(res, 405, NULL, "%s needs a resource id: %s/{id}", req->method_text,
		                req->path);
		return;
	}
	error_clear(&err);
	resources_ctx(req, &ctx, base, sizeof(base));
	body = request_json(req, &err);
	valid = body ? validate_resource(rt, body, VALIDATE_CREATE, &req->input, &err) : NULL;
	proj = valid ? project_new(rt, request_arg(req, "attributes"),
	                           request_arg(req, "excludedAttributes"), &err)
	             : NULL;
	resource = proj ? ops->create(&ctx, valid, &err) : NULL;
	if (resource == NULL)
		resources_fail(res, &err);
	else
		resources_answer(req, res, ops, resource, 201, proj);
	json_decref(body);
	json_decref(valid);
	json_decref(resource);
	project_free(proj);
}

void
resources_users(struct http_request *req, struct http_response *res)
{
	resources_collection(req, res, &user_ops);
}

void
resources_groups(struct http_request *req, struct http_response *res)
{
	resources_collection(req, res, &group_ops);
}

void
resources_schools(struct http_request *req, struct http_response *res)
{
	resources_collection(req, res, &school_ops);
}

void
resources_regions(struct http_request *req, struct http_response *res)
{
	resources_collection(req, res, &region_ops);
}
