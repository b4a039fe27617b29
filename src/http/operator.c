/*
 * operator.c — /operator/v1: what a district's operator does through the
 * daemon that is not SCIM (rosterctl retained …, rosterctl guard …).
 *
 *   GET  /operator/v1/retained                 the tenant's retained people
 *   POST /operator/v1/retained/restore         {"userName": U}: make U a person again
 *   GET  /operator/v1/held                     removals the mass-deprovision guard holds
 *   POST /operator/v1/held/<id>/approve        apply one (as its source)
 *   POST /operator/v1/held/<id>/reject         drop one (nothing changes)
 *   GET  /operator/v1/audit?userName=U         who changed U (the audit trail)
 *
 * Who may: a Bearer token of the tenant whose source is `in-product` (the
 * district's own hand: rosterctl's and the console's source), with write
 * rights for the POSTs. An identity provider's or SIS's token is 403: the
 * source whose removals are held must not approve them itself. Answers
 * are JSON; errors the SCIM Error body, like the rest of the daemon.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/admin.h"
#include "lib/log.h"

/* The operator's context: the SCIM base URL is what resources_ctx makes. */
static int
operator_ctx(struct http_request *req, struct dir_ctx *ctx, char *base, size_t baselen,
             struct rb_error *err)
{
	if (strcmp(req->auth.source, DIR_INPRODUCT) != 0)
		return error_set(err, 403, NULL,
		                 "operator endpoints need a token of source %s (this one is %s)",
		                 DIR_INPRODUCT, req->auth.source);
	resources_ctx(req, ctx, base, baselen);
	return 0;
}

static void
operator_retained(struct http_request *req, struct http_response *res, const char *rest,
                  struct rb_error *err)
{
	struct dir_ctx ctx = {0};
	char base[512];
	json_t *body = NULL, *list;
	char *id;
	const char *name;

	if (operator_ctx(req, &ctx, base, sizeof(base), err) < 0)
		return;
	if (*rest == '\0' && (req->method == HTTP_GET || req->method == HTTP_HEAD)) {
		list = dir_retained_list(&ctx, err);
		if (list != NULL)
			response_json(res, 200, json_pack("{s:o}", "Resources", list));
		return;
	}
	if (strcasecmp(rest, "/restore") != 0 || req->method != HTTP_POST) {
		error_set(err, 404, NULL, "no such endpoint: %s %s", req->method_text, req->path);
		return;
	}
	body = request_json(req, err);
	name = json_string_value(json_object_get(body, "userName"));
	if (body != NULL && name == NULL)
		error_set(err, 400, SCIM_INVALID_VALUE, "the body needs \"userName\"");
	id = name ? dir_retained_restore(&ctx, name, err) : NULL;
	if (id != NULL) {
		log_info("tenant %s: operator restored %s (request %s)", ctx.tenant, name,
		         req->request_id);
		response_json(res, 200, json_pack("{s:s, s:s}", "id", id, "userName", name));
	}
	free(id);
	json_decref(body);
}

static void
operator_held(struct http_request *req, struct http_response *res, const char *rest,
              struct rb_error *err)
{
	struct dir_ctx ctx = {0};
	char base[512], id[256];
	const char *slash;
	json_t *list;
	bool approve;

	if (operator_ctx(req, &ctx, base, sizeof(base), err) < 0)
		return;
	if (*rest == '\0' && (req->method == HTTP_GET || req->method == HTTP_HEAD)) {
		list = dir_guard_list(&ctx, err);
		if (list != NULL)
			response_json(res, 200, json_pack("{s:o}", "Resources", list));
		return;
	}
	slash = *rest == '/' ? strchr(rest + 1, '/') : NULL;
	if (slash == NULL || req->method != HTTP_POST || (size_t)(slash - rest - 1) >= sizeof(id) ||
	    (strcasecmp(slash, "/approve") != 0 && strcasecmp(slash, "/reject") != 0)) {
		error_set(err, 404, NULL, "no such endpoint: %s %s", req->method_text, req->path);
		return;
	}
	memcpy(id, rest + 1, (size_t)(slash - rest - 1));
	id[slash - rest - 1] = '\0';
	approve = !strcasecmp(slash, "/approve");
	if (dir_guard_decide(&ctx, id, approve, err) < 0)
		return;
	log_info("tenant %s: operator %s held removal %s (request %s)", ctx.tenant,
	         approve ? "approved" : "rejected", id, req->request_id);
	response_json(
	    res, 200,
	    json_pack("{s:s, s:s}", "id", id, "decision", approve ? "approved" : "rejected"));
}

/* GET /operator/v1/audit?userName=U: who changed U, from the audit trail (rosterctl audit). */
static void
operator_audit(struct http_request *req, struct http_response *res, const char *rest,
               struct rb_error *err)
{
	struct dir_ctx ctx = {0};
	char base[512];
	const char *name = request_arg(req, "userName");
	json_t *out;

	if (operator_ctx(req, &ctx, base, sizeof(base), err) < 0)
		return;
	if (*rest != '\0' || (req->method != HTTP_GET && req->method != HTTP_HEAD)) {
		error_set(err, 404, NULL, "no such endpoint: %s %s", req->method_text, req->path);
		return;
	}
	if (name == NULL || *name == '\0') {
		error_set(err, 400, SCIM_INVALID_VALUE, "audit needs ?userName=");
		return;
	}
	out = dir_audit_person(&ctx, name, err);
	if (out != NULL)
		response_json(res, 200, out);
}

void
operator_route(struct http_request *req, struct http_response *res)
{
	const char *sub = req->subpath;
	struct rb_error err;

	error_clear(&err);
	if (!strncasecmp(sub, "/retained", 9) && (sub[9] == '\0' || sub[9] == '/'))
		operator_retained(req, res, sub + 9, &err);
	else if (!strncasecmp(sub, "/held", 5) && (sub[5] == '\0' || sub[5] == '/'))
		operator_held(req, res, sub + 5, &err);
	else if (!strncasecmp(sub, "/audit", 6) && (sub[6] == '\0' || sub[6] == '/'))
		operator_audit(req, res, sub + 6, &err);
	else
		error_set(&err, 404, NULL, "no such endpoint: %s", req->path);
	if (error_is_set(&err))
		resources_fail(res, &err);
	else if (res->status == 0)
		response_errorf(res, 500, NULL, "out of memory");
}
