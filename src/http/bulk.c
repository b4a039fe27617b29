/*
 * bulk.c — POST /Bulk (RFC 7644 §3.7).
 *
 * Glossary
 *   operation  one element of the request's "Operations": method, path,
 *              bulkId, version, data (§3.7, "Operations").
 *   bulkId     the client's name for the resource a POST of this request
 *              creates (§3.7.2); required for POST.
 *   reference  the string "bulkId:<bulkId>" as a value anywhere in data
 *              (members[].value, manager.value, a PATCH value…) or as the
 *              id in a path ("/Groups/bulkId:g1"); replaced by the id the
 *              referenced POST created (§3.7.2: "MUST replace the string
 *              … with the permanent resource id once created").
 *
 * Behaviour
 *   - Limits before anything runs (§3.7.4): a body larger than
 *     bulk_max_payload or more than bulk_max_operations operations is 413
 *     with a SCIM error naming the limit. A body that is not a BulkRequest
 *     (schemas, an "Operations" array) is 400 invalidSyntax.
 *   - Operations run one after the other in request order, each through
 *     the same engine validation and resource_ops as the single-resource
 *     request, as the token's tenant and source. Each commits on its own:
 *     the RFC asks for no atomicity across operations.
 *   - Order (§3.7.2): operations run in request order, except that one
 *     referring to a bulkId that a LATER POST of the request defines waits
 *     until that POST has run (the RFC's own example sends a group before
 *     the user it names). The scheduler runs, each time, the first
 *     operation in request order whose references are all settled (their
 *     POST ran, or no POST of the request defines them). Circular
 *     references (a POST naming its own bulkId, or a → b → a) cannot be
 *     resolved: each operation on the circle fails with 409 and a detail
 *     naming the circle; operations waiting on them then fail as waiting
 *     on a failed POST. A reference that no POST of the request defines,
 *     or whose POST failed, fails its operation with 409 (§3.7.1 lets a
 *     service provider "stop after a failed attempt" and answer 409).
 *     The response lists the operations in the order they ran.
 *   - failOnErrors=N: processing stops once N operations have failed; the
 *     response lists the operations processed so far (§3.7.3). Without
 *     it, every operation runs ("continue performing as many changes as
 *     possible", §3.7).
 *   - The answer is 200 with a BulkResponse whenever the request itself
 *     was acceptable, whatever each operation's status (§3.7.3's examples
 *     answer 200 with failed operations inside). Each entry carries method,
 *     bulkId (when given), location (except a failed POST), version (when
 *     the operation returns the resource), status as a string, and for
 *     errors "response" with the SCIM Error (§3.12).
 *   - An operation's "version" is its If-Match (§3.7: "version … used if
 *     the service provider supports ETags").
 */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/dir.h"
#include "engine/schema.h"
#include "engine/validate.h"

#define BULK_REF_PREFIX "bulkId:"
#define BULK_REF_PREFIX_LEN (sizeof(BULK_REF_PREFIX) - 1)

/* One bulk request being processed. */
struct bulk {
	struct dir_ctx ctx;
	char base[512];    /* SCIM base URL; ctx borrows it */
	json_t *created;   /* bulkId → created id (string), or null when its POST failed */
	json_t *definer;   /* bulkId → index (integer) of the first POST defining it */
	const json_t *ops; /* borrowed: the request's "Operations" */
	size_t current;    /* index of the operation being run */
};

/* One operation, its parts borrowed from the request body. */
struct bulk_op {
	const char *method; /* "POST", "PUT", "PATCH", "DELETE" (as given) */
	enum http_method verb;
	const char *bulk_id; /* or NULL */
	const char *version; /* or NULL */
	const char *path;
	const json_t *data; /* or NULL */
	const struct resource_ops *ops;
	char *id; /* owned: the resolved id of the path, or NULL for a collection path */
};

/* Case-insensitive member lookup (SCIM attribute names are case-insensitive,
 * RFC 7643 §2.1). Borrowed. */
static json_t *
bulk_member(const json_t *obj, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		if (!strcasecmp(key, name))
			return v;
	}
	return NULL;
}

/*
 * bulk_ref_lookup — if `s` is a reference, the id it stands for (borrowed
 * from b->created) in *id and 1; 0 if `s` is no reference; -1 with *err
 * (409) if it cannot be resolved.
 */
static int
bulk_ref_lookup(const struct bulk *b, const char *s, const char **id, struct rb_error *err)
{
	const json_t *v;

	if (strncmp(s, BULK_REF_PREFIX, BULK_REF_PREFIX_LEN) != 0)
		return 0;
	v = json_object_get(b->created, s + BULK_REF_PREFIX_LEN);
	if (v == NULL)
		return error_set(err, 409, SCIM_INVALID_VALUE,
		                 "\"%s\": no POST operation of this request defines that bulkId",
		                 s);
	if (!json_is_string(v))
		return error_set(err, 409, SCIM_INVALID_VALUE,
		                 "\"%s\" cannot be resolved: the operation with that bulkId failed",
		                 s);
	*id = json_string_value(v);
	return 1;
}

/* bulk_resolve — replace every reference in `v` (modified in place). 0, or -1 with *err. */
static int
bulk_resolve(const struct bulk *b, json_t *v, struct rb_error *err)
{
	const char *key, *id = NULL;
	json_t *e;
	size_t i;
	int rc;

	if (json_is_object(v)) {
		json_object_foreach(v, key, e)
		{
			if (json_is_string(e)) {
				rc = bulk_ref_lookup(b, json_string_value(e), &id, err);
				if (rc < 0)
					return -1;
				if (rc > 0 && json_object_set_new(v, key, json_string(id)) < 0)
					return error_set(err, 500, NULL, "out of memory");
			} else if (bulk_resolve(b, e, err) < 0)
				return -1;
		}
		return 0;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (json_is_string(e)) {
				rc = bulk_ref_lookup(b, json_string_value(e), &id, err);
				if (rc < 0)
					return -1;
				if (rc > 0 && json_array_set_new(v, i, json_string(id)) < 0)
					return error_set(err, 500, NULL, "out of memory");
			} else if (bulk_resolve(b, e, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* bulk_method — the verb of a method name (case-insensitive), or 0. */
static enum http_method
bulk_method(const char *m)
{
	if (m == NULL)
		return 0;
	if (!strcasecmp(m, "POST"))
		return HTTP_POST;
	if (!strcasecmp(m, "PUT"))
		return HTTP_PUT;
	if (!strcasecmp(m, "PATCH"))
		return HTTP_PATCH;
	if (!strcasecmp(m, "DELETE"))
		return HTTP_DELETE;
	return 0;
}

/*
 * bulk_op_parse — read `raw` (borrowed) into *op: method, path (endpoint
 * and, with a reference resolved, id), bulkId, version, data. 0, or -1
 * with *err. op->id is owned by op (free it).
 */
static int
bulk_op_parse(const struct bulk *b, const json_t *raw, struct bulk_op *op, struct rb_error *err)
{
	const char *slash, *id;
	char endpoint[64];
	size_t n;
	int rc;

	if (!json_is_object(raw))
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "an operation must be a JSON object");
	op->method = json_string_value(bulk_member(raw, "method"));
	op->verb = bulk_method(op->method);
	op->bulk_id = json_string_value(bulk_member(raw, "bulkId"));
	op->version = json_string_value(bulk_member(raw, "version"));
	op->path = json_string_value(bulk_member(raw, "path"));
	op->data = bulk_member(raw, "data");
	if (op->verb == 0)
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "\"method\" must be POST, PUT, PATCH or DELETE");
	if (op->bulk_id != NULL && *op->bulk_id == '\0')
		return error_set(err, 400, SCIM_INVALID_VALUE, "\"bulkId\" must not be empty");
	if (op->verb == HTTP_POST && op->bulk_id == NULL)
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "a POST operation needs a \"bulkId\"");
	if (op->verb != HTTP_DELETE && !json_is_object(op->data))
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "a %s operation needs \"data\" (an object)", op->method);
	if (op->path == NULL || op->path[0] != '/')
		return error_set(
		    err, 400, SCIM_INVALID_SYNTAX,
		    "\"path\" must be a resource path such as \"/Users\" or \"/Users/{id}\"");
	slash = strchr(op->path + 1, '/');
	n = slash != NULL ? (size_t)(slash - op->path - 1) : strlen(op->path + 1);
	if (n == 0 || n >= sizeof(endpoint))
		return error_set(err, 404, NULL, "no such endpoint: %s", op->path);
	memcpy(endpoint, op->path + 1, n);
	endpoint[n] = '\0';
	op->ops = resources_ops_find(endpoint);
	if (op->ops == NULL)
		return error_set(err, 404, NULL, "no such endpoint: %s", op->path);
	id = slash != NULL && slash[1] != '\0' ? slash + 1 : NULL;
	if (id != NULL && strchr(id, '/') != NULL)
		return error_set(err, 404, NULL, "no such endpoint: %s", op->path);
	if (op->verb == HTTP_POST && id != NULL)
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "a POST operation's path is a resource type endpoint (\"/%s\")",
		                 op->ops->endpoint);
	if (op->verb != HTTP_POST && id == NULL)
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "a %s operation's path needs an id: /%s/{id}", op->method,
		                 op->ops->endpoint);
	if (op->verb == HTTP_POST && (json_object_get(b->created, op->bulk_id) != NULL ||
	                              (json_int_t)b->current != json_integer_value(json_object_get(
	                                                            b->definer, op->bulk_id))))
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "bulkId \"%s\" is used by another operation of this request",
		                 op->bulk_id);
	if (id == NULL)
		return 0;
	rc = bulk_ref_lookup(b, id, &id, err);
	if (rc < 0)
		return -1;
	op->id = strdup(id);
	if (op->id == NULL)
		return error_set(err, 500, NULL, "out of memory");
	return 0;
}

/*
 * bulk_apply — run a parsed operation with `data` (references resolved;
 * borrowed). Returns the HTTP status of success, with *resource a NEW
 * reference or NULL (DELETE, a 204 PATCH); or -1 with *err.
 */
static int
bulk_apply(const struct bulk *b, const struct bulk_op *op, const json_t *data, json_t **resource,
           struct rb_error *err)
{
	const struct resource_type_def *rt;
	struct dir_ctx ctx = b->ctx;
	json_t *valid = NULL;
	int status = -1;
	bool held = false;

	*resource = NULL;
	ctx.held = &held; /* the mass-deprovision guard held the removal: 202 */
	if (op->ops == NULL)
		return error_set(err, 404, NULL, "no such endpoint: %s", op->path);
	rt = schema_resource_type(op->ops->type);
	switch (op->verb) {
	case HTTP_POST:
		valid = validate_resource(rt, data, VALIDATE_CREATE, b->ctx.input, err);
		*resource = valid != NULL ? op->ops->create(&ctx, valid, err) : NULL;
		status = *resource != NULL ? 201 : -1;
		break;
	case HTTP_PUT:
		valid = validate_resource(rt, data, VALIDATE_REPLACE, b->ctx.input, err);
		*resource =
		    valid != NULL ? op->ops->replace(&ctx, op->id, valid, op->version, err) : NULL;
		status = *resource != NULL ? 200 : -1;
		break;
	case HTTP_PATCH:
		/* As the single request: 204 where that answers 204 (groups), which
		 * never reads a group's member list back. */
		*resource = op->ops->patch(&ctx, op->id, data, op->version,
		                           !op->ops->patch_no_content, err);
		if (error_is_set(err)) {
			json_decref(*resource);
			*resource = NULL;
			break;
		}
		status = *resource != NULL ? 200 : 204;
		break;
	case HTTP_DELETE:
		status = op->ops->delete (&ctx, op->id, op->version, err) < 0 ? -1 : 204;
		break;
	default:
		error_set(err, 400, SCIM_INVALID_SYNTAX, "unsupported method");
		break;
	}
	json_decref(valid);
	return status > 0 && held ? 202 : status;
}

/*
 * bulk_run — process one operation (`raw` borrowed) and record a POST's
 * outcome in b->created. With `forced` (a circular reference) the
 * operation is not run and answers that error. Returns the NEW response
 * entry; *failed says whether it is an error.
 */
static json_t *
bulk_run(struct bulk *b, const json_t *raw, const struct rb_error *forced, bool *failed)
{
	struct bulk_op op;
	struct rb_error err;
	json_t *entry = json_object(), *data = NULL, *resource = NULL;
	const char *location = NULL, *version = NULL;
	char buf[1024], status_text[8];
	int status = -1;

	memset(&op, 0, sizeof(op));
	error_clear(&err);
	if (entry == NULL)
		return NULL;
	if (bulk_op_parse(b, raw, &op, &err) < 0)
		goto done;
	if (forced != NULL) {
		err = *forced;
		goto done;
	}
	if (op.data != NULL && op.verb != HTTP_DELETE) {
		data = json_deep_copy(op.data);
		if (data == NULL) {
			error_set(&err, 500, NULL, "out of memory");
			goto done;
		}
		if (bulk_resolve(b, data, &err) < 0)
			goto done;
	}
	status = bulk_apply(b, &op, data, &resource, &err);
	if (status < 0)
		goto done;
	location =
	    json_string_value(json_object_get(json_object_get(resource, "meta"), "location"));
	version = json_string_value(json_object_get(json_object_get(resource, "meta"), "version"));
	if (op.verb == HTTP_POST)
		json_object_set_new(
		    b->created, op.bulk_id,
		    json_string(json_string_value(json_object_get(resource, "id"))));
done:
	*failed = status < 0;
	if (*failed && op.verb == HTTP_POST && op.bulk_id != NULL &&
	    json_object_get(b->created, op.bulk_id) == NULL &&
	    (json_int_t)b->current == json_integer_value(json_object_get(b->definer, op.bulk_id)))
		json_object_set_new(b->created, op.bulk_id, json_null());
	if (location == NULL && op.id != NULL && op.ops != NULL) {
		snprintf(buf, sizeof(buf), "%s/%s/%s", b->base, op.ops->endpoint, op.id);
		location = buf;
	}
	snprintf(status_text, sizeof(status_text), "%d", *failed ? err.status : status);
	json_object_set_new(entry, "method", json_string(op.method != NULL ? op.method : "(none)"));
	if (op.bulk_id != NULL)
		json_object_set_new(entry, "bulkId", json_string(op.bulk_id));
	if (location != NULL)
		json_object_set_new(entry, "location", json_string(location));
	if (version != NULL)
		json_object_set_new(entry, "version", json_string(version));
	json_object_set_new(entry, "status", json_string(status_text));
	if (*failed)
		json_object_set_new(entry, "response", error_to_json(&err));
	json_decref(data);
	json_decref(resource);
	free(op.id);
	return entry;
}

/*
 * bulk_refs — add to the object `refs` (bulkId → true) every bulkId that
 * `v` (an operation's data, borrowed) refers to. 0, or -1 on allocation
 * failure.
 */
static int
bulk_refs(const json_t *v, json_t *refs)
{
	const char *key, *s;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strncmp(s, BULK_REF_PREFIX, BULK_REF_PREFIX_LEN) == 0)
			return json_object_set_new(refs, s + BULK_REF_PREFIX_LEN, json_true());
		return 0;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e)
		{
			if (bulk_refs(e, refs) < 0)
				return -1;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (bulk_refs(e, refs) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * bulk_plan — for each operation of `ops` (borrowed), the bulkIds it refers
 * to (data and path): a NEW array of objects, one per operation; and
 * b->definer filled (the first POST of each bulkId). NULL on allocation
 * failure.
 */
static json_t *
bulk_plan(struct bulk *b, const json_t *ops)
{
	json_t *deps = json_array(), *raw, *refs;
	const char *method, *bulk_id, *path, *slash;
	size_t i;

	if (deps == NULL)
		return NULL;
	json_array_foreach(ops, i, raw)
	{
		refs = json_object();
		if (refs == NULL || json_array_append_new(deps, refs) < 0)
			goto fail;
		method = json_string_value(bulk_member(raw, "method"));
		bulk_id = json_string_value(bulk_member(raw, "bulkId"));
		path = json_string_value(bulk_member(raw, "path"));
		if (method != NULL && !strcasecmp(method, "POST") && bulk_id != NULL &&
		    *bulk_id != '\0' && json_object_get(b->definer, bulk_id) == NULL &&
		    json_object_set_new(b->definer, bulk_id, json_integer((json_int_t)i)) < 0)
			goto fail;
		if (bulk_refs(bulk_member(raw, "data"), refs) < 0)
			goto fail;
		slash = path != NULL && path[0] == '/' ? strchr(path + 1, '/') : NULL;
		if (slash != NULL &&
		    strncmp(slash + 1, BULK_REF_PREFIX, BULK_REF_PREFIX_LEN) == 0 &&
		    json_object_set_new(refs, slash + 1 + BULK_REF_PREFIX_LEN, json_true()) < 0)
			goto fail;
	}
	return deps;
fail:
	json_decref(deps);
	return NULL;
}

/*
 * bulk_waits_on — the index of an operation not yet run (done[] false)
 * whose POST defines a bulkId that operation `i` refers to, or -1 when
 * every reference of `i` is settled.
 */
static long
bulk_waits_on(const struct bulk *b, const json_t *deps, const bool *done, size_t i)
{
	const char *id;
	json_t *v;

	json_object_foreach(json_array_get(deps, i), id, v)
	{
		json_t *d = json_object_get(b->definer, id);

		(void)v;
		if (d != NULL && !done[json_integer_value(d)])
			return (long)json_integer_value(d);
	}
	return -1;
}

/*
 * bulk_next — the operation to run next: the first in request order that
 * waits on nothing. When every remaining one waits (a circle), *circle is
 * set (a 409 detail naming it, in the caller's buffer) and the operations
 * on the circle are marked in on_circle[]; returns -1.
 */
static long
bulk_next(const struct bulk *b, const json_t *deps, const bool *done, size_t n, bool *on_circle,
          char *circle, size_t circle_len)
{
	size_t i, first = n, steps;
	long u, v, first_on;

	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		if (first == n)
			first = i;
		if (bulk_waits_on(b, deps, done, i) < 0)
			return (long)i;
	}
	if (first == n)
		return -1;
	/* Every remaining operation waits: walk from the first until an operation
	 * repeats (at most n steps); that one is on a circle. */
	u = (long)first;
	for (steps = 0; steps < n; steps++)
		u = bulk_waits_on(b, deps, done, (size_t)u);
	/* u is on the circle: name it from its first operation in request order. */
	first_on = u;
	for (v = bulk_waits_on(b, deps, done, (size_t)u); v >= 0 && v != u;
	     v = bulk_waits_on(b, deps, done, (size_t)v))
		if (v < first_on)
			first_on = v;
	u = first_on;
	snprintf(circle, circle_len, "circular bulkId references: ");
	v = u;
	do {
		const char *name =
		    json_string_value(bulk_member(json_array_get(b->ops, (size_t)v), "bulkId"));
		size_t len = strlen(circle);

		on_circle[v] = true;
		snprintf(circle + len, circle_len - len, "%s%s", name != NULL ? name : "?", " -> ");
		v = bulk_waits_on(b, deps, done, (size_t)v);
	} while (v != u && v >= 0);
	{
		const char *name =
		    json_string_value(bulk_member(json_array_get(b->ops, (size_t)u), "bulkId"));
		size_t len = strlen(circle);

		snprintf(circle + len, circle_len - len,
		         "%s (each names another's bulkId, so none can be created first; send one "
		         "without the reference and PATCH it afterwards)",
		         name != NULL ? name : "?");
	}
	return -1;
}

void
resources_bulk(struct http_request *req, struct http_response *res)
{
	const struct config *cfg = req->app->cfg;
	struct bulk b;
	struct rb_error err;
	json_t *body = NULL, *schemas, *ops, *fail_on, *results = NULL, *raw, *entry, *deps = NULL;
	json_int_t max_errors = 0;
	size_t i, n, ran, errors = 0;
	bool failed, progress, is_bulk = false, *done = NULL, *on_circle = NULL;
	struct rb_error cerr;
	char circle[1024];

	memset(&b, 0, sizeof(b));
	error_clear(&err);
	/* §3.7.4: MUST answer 413 and name the limit exceeded. */
	if (req->body_len > (size_t)cfg->bulk_max_payload) {
		error_set(&err, 413, NULL,
		          "The size of the bulk operation exceeds the maxPayloadSize (%ld).",
		          cfg->bulk_max_payload);
		goto fail;
	}
	body = request_json(req, &err);
	if (body == NULL)
		goto fail;
	schemas = bulk_member(body, "schemas");
	json_array_foreach(schemas, i, raw)
	{
		if (json_is_string(raw) && !strcmp(json_string_value(raw), SCHEMA_BULK_REQUEST))
			is_bulk = true;
	}
	ops = bulk_member(body, "Operations");
	if (!is_bulk || !json_is_array(ops)) {
		error_set(&err, 400, SCIM_INVALID_SYNTAX,
		          "a BulkRequest needs \"schemas\": [\"%s\"] and an \"Operations\" array",
		          SCHEMA_BULK_REQUEST);
		goto fail;
	}
	if (json_array_size(ops) > (size_t)cfg->bulk_max_operations) {
		error_set(&err, 413, NULL,
		          "The number of operations (%zu) exceeds the maxOperations (%d).",
		          json_array_size(ops), cfg->bulk_max_operations);
		goto fail;
	}
	fail_on = bulk_member(body, "failOnErrors");
	if (fail_on != NULL && !json_is_null(fail_on)) {
		if (!json_is_integer(fail_on) || json_integer_value(fail_on) < 1) {
			error_set(&err, 400, SCIM_INVALID_VALUE,
			          "\"failOnErrors\" must be an integer >= 1");
			goto fail;
		}
		max_errors = json_integer_value(fail_on);
	}
	resources_ctx(req, &b.ctx, b.base, sizeof(b.base));
	b.ops = ops;
	b.created = json_object();
	b.definer = json_object();
	results = json_array();
	n = json_array_size(ops);
	done = calloc(n + 1, sizeof(*done));
	on_circle = calloc(n + 1, sizeof(*on_circle));
	deps = b.created && b.definer ? bulk_plan(&b, ops) : NULL;
	if (results == NULL || done == NULL || on_circle == NULL || deps == NULL) {
		error_set(&err, 500, NULL, "out of memory");
		goto fail;
	}
	for (ran = 0, progress = true;
	     ran < n && progress && (max_errors == 0 || (json_int_t)errors < max_errors);) {
		long next = bulk_next(&b, deps, done, n, on_circle, circle, sizeof(circle));

		progress = false;
		error_clear(&cerr);
		if (next < 0) /* a circle: its operations fail, in request order */
			error_set(&cerr, 409, SCIM_INVALID_VALUE, "%s", circle);
		for (i = 0; i < n; i++) {
			if (done[i] || (next >= 0 ? (size_t)next != i : !on_circle[i]))
				continue;
			b.current = i;
			entry =
			    bulk_run(&b, json_array_get(ops, i), next >= 0 ? NULL : &cerr, &failed);
			if (entry == NULL) {
				error_set(&err, 500, NULL, "out of memory");
				goto fail;
			}
			json_array_append_new(results, entry);
			done[i] = true;
			progress = true;
			ran++;
			if (failed)
				errors++;
			if (max_errors > 0 && (json_int_t)errors >= max_errors)
				break;
		}
	}
	response_json(
	    res, 200,
	    json_pack("{s:[s], s:O}", "schemas", SCHEMA_BULK_RESPONSE, "Operations", results));
	goto done;
fail:
	resources_fail(res, &err);
done:
	json_decref(results);
	json_decref(b.created);
	json_decref(b.definer);
	json_decref(deps);
	free(done);
	free(on_circle);
	json_decref(body);
}
