/*
 * routes.c — the route table and dispatch.
 *
 * A route is (path prefix, whether the prefix must match exactly or may be
 * followed by "/…", methods, needs a token, label, handler). The first
 * matching row wins. Prefixes match case-insensitively (`/users`,
 * `/SCIM/v2/Groups`, `/serviceproviderconfig`: some clients and reference
 * tools send lower case, and SPEC §2.2 accepts it); what follows the prefix
 * (a resource id) is passed on as sent, so ids stay case-sensitive.
 * Authentication happens here, once, before any SCIM handler runs; write methods need a token with
 * write rights (403), except POST …/.search, which is a read (RFC 7644 §3.4.3).
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

typedef void (*route_handler)(struct http_request *, struct http_response *);

struct route {
	const char *prefix;
	bool exact;  /* the path must equal prefix (else prefix or prefix "/…") */
	int methods; /* HTTP_* mask */
	bool auth;
	const char *label;
	route_handler handler;
};

static void
routes_healthz(struct http_request *req, struct http_response *res)
{
	(void)req;
	response_text(res, 200, "text/plain; charset=utf-8", "ok\n");
}

static void
routes_readyz(struct http_request *req, struct http_response *res)
{
	struct rb_error err;

	error_clear(&err);
	if (pool_ping(req->app->pool, &err) < 0) {
		response_text(res, 503, "text/plain; charset=utf-8", "directory unreachable\n");
		response_header(res, "Retry-After", "5");
		return;
	}
	response_text(res, 200, "text/plain; charset=utf-8", "ready\n");
}

static void
routes_metrics(struct http_request *req, struct http_response *res)
{
	char *text = metrics_render(req->app->metrics, req->app->pool, req->app->dir);

	if (text == NULL) {
		response_errorf(res, 500, NULL, "out of memory");
		return;
	}
	res->status = 200;
	res->text = text;
	res->text_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* /console/… — the web console, a handler main.c plugs in (http/ does not include it). */
static void
routes_console(struct http_request *req, struct http_response *res)
{
	if (req->app->console == NULL) {
		response_errorf(res, 404, NULL, "no such endpoint: %s", req->path);
		return;
	}
	req->app->console(req, res);
}

/* /scim/v2/Invitations — the invitations API (console/api.c), plugged in like the console. */
static void
routes_invitations(struct http_request *req, struct http_response *res)
{
	if (req->app->invitations == NULL) {
		response_errorf(res, 404, NULL, "no such endpoint: %s", req->path);
		return;
	}
	req->app->invitations(req, res);
}

#define SCIM "/scim/v2"
#define READ (HTTP_GET | HTTP_HEAD)
#define ALL (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)

static const struct route routes[] = {
    {"/healthz", true, READ, false, "healthz", routes_healthz},
    {"/readyz", true, READ, false, "readyz", routes_readyz},
    {"/metrics", true, READ, false, "metrics", routes_metrics},
    {"/console", false, READ | HTTP_POST, false, "console", routes_console},
    {SCIM "/ServiceProviderConfig", true, READ, true, "discovery",
     discovery_service_provider_config},
    {SCIM "/ResourceTypes", false, READ, true, "discovery", discovery_resource_types},
    {SCIM "/Schemas", false, READ, true, "discovery", discovery_schemas},
    {SCIM "/Users", false, ALL, true, "users", resources_users},
    {SCIM "/Groups", false, ALL, true, "groups", resources_groups},
    {SCIM "/Schools", false, ALL, true, "schools", resources_schools},
    {SCIM "/Regions", false, ALL, true, "regions", resources_regions},
    {SCIM "/Bulk", true, HTTP_POST, true, "bulk", resources_bulk},
    {SCIM "/Invitations", false, HTTP_POST, true, "invitations", routes_invitations},
    {SCIM "/.search", true, HTTP_POST, true, "search", resources_search_root},
    {"/operator/v1", false, READ | HTTP_POST, true, "operator", operator_route},
};

static bool routes_match(const struct route *r, const char *path, const char **subpath);

bool
routes_needs_token(const char *path)
{
	const char *subpath;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes_match(&routes[i], path, &subpath))
			return routes[i].auth;
	return true; /* no such endpoint: nothing to upload to either */
}

bool
routes_is_cheap(const char *path)
{
	/* Answered on the event threads: no SCIM work, no pool slot. */
	return !strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics");
}

static bool
routes_match(const struct route *r, const char *path, const char **subpath)
{
	size_t n = strlen(r->prefix);

	if (strncasecmp(path, r->prefix, n) != 0)
		return false;
	if (path[n] == '\0' || (path[n] == '/' && path[n + 1] == '\0')) {
		*subpath = "";
		return true;
	}
	if (r->exact || path[n] != '/')
		return false;
	*subpath = path + n;
	return true;
}

static bool
routes_is_write(const struct http_request *req)
{
	size_t n;

	if (req->method == HTTP_GET || req->method == HTTP_HEAD)
		return false;
	n = strlen(req->path);
	/* POST …/.search is a query. */
	if (req->method == HTTP_POST && n >= 8 && !strcasecmp(req->path + n - 8, "/.search"))
		return false;
	return true;
}

/*
 * routes_note_unknown — the unknown attributes this request's bodies held
 * (ignored: strict_attributes no): each counted, and logged the first time
 * its (tenant, source, name) is seen, so a misconfigured client does not
 * flood the log; then the list is freed.
 */
static void
routes_note_unknown(struct http_request *req)
{
	json_t *v;
	size_t i;

	json_array_foreach(req->input.ignored, i, v)
	{
		int first = metrics_unknown_attribute(req->app->metrics, req->auth.tenant->name,
		                                      req->auth.source, json_string_value(v));

		if (first > 0)
			log_warnx("tenant %s source %s: ignored the unknown attribute '%s' (logged "
			          "once; counted in rosterbridge_unknown_attributes_total; "
			          "strict_attributes yes refuses it)",
			          req->auth.tenant->name, req->auth.source, json_string_value(v));
		else if (first < 0)
			log_warnx("unknown attributes: too many distinct names to remember; "
			          "further ones are counted, not logged");
	}
	json_decref(req->input.ignored);
	req->input.ignored = NULL;
}

void
routes_dispatch(struct http_request *req, struct http_response *res)
{
	const struct route *r = NULL;
	const char *subpath = NULL;
	struct rb_error err;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes_match(&routes[i], req->path, &subpath)) {
			r = &routes[i];
			break;
		}
	if (r == NULL || r->handler == NULL) {
		response_errorf(res, 404, NULL, "no such endpoint: %s", req->path);
		return;
	}
	req->route = r->label;
	req->subpath = subpath;
	error_clear(&err);
	if (r->auth && auth_check(req, &err) < 0) {
		response_error(res, &err);
		response_header(res, "WWW-Authenticate", "Bearer realm=\"rosterbridge\"");
		return;
	}
	if (!(r->methods & (int)req->method)) {
		response_errorf(res, 405, NULL, "%s is not allowed on %s", req->method_text,
		                req->path);
		return;
	}
	if (r->auth && routes_is_write(req) && req->auth.rights != TOKEN_WRITE) {
		response_errorf(res, 403, NULL, "this token is read-only");
		return;
	}
	req->input.strict = req->app->cfg->strict_attributes;
	req->input.ignored = req->input.strict || !r->auth ? NULL : json_array();
	r->handler(req, res);
	if (r->auth)
		routes_note_unknown(req);
	if (res->status == 0)
		response_errorf(res, 500, NULL, "the handler gave no answer");
}
