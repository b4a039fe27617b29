/*
 * http.h — the HTTP layer: server, request/response, routing, auth,
 * metrics. Handlers see a `struct http_request` (parsed, authenticated)
 * and fill a `struct http_response`; they never touch libmicrohttpd.
 *
 * Module map
 *   server.c     libmicrohttpd daemon (event threads), the worker threads and
 *                their bounded queue (SCIM requests run there, suspended
 *                connections), request deadline watchdog, per-address limit,
 *                body accumulation with a size limit (after authentication),
 *                request log line, timing
 *   routes.c     the route table and dispatch (method, path → handler)
 *   auth.c       Bearer token → tenant, source, rights (SPEC §2.1)
 *   metrics.c    Prometheus counters and latency histogram
 *   discovery.c  /ServiceProviderConfig, /ResourceTypes, /Schemas
 *   response.c   response helpers (JSON bodies, SCIM errors, headers)
 *   resources.c  /Users, /Groups, /Schools (the resource_ops table)
 *   bulk.c       /Bulk              search.c   /.search at the root
 *   operator.c   /operator/v1 (retained people, held removals)
 */
#ifndef RB_HTTP_H
#define RB_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "dir/pool.h"
#include "engine/validate.h"
#include "lib/config.h"
#include "lib/error.h"

struct metrics;
struct dir;
struct mail_outbox;
struct http_request;
struct http_response;

/* Process-wide state the handlers need; borrowed by every request. */
struct app {
	/*
	 * The running configuration. SIGHUP swaps it (main.c) for a newly
	 * loaded one; the old one stays allocated until exit, so whatever a
	 * request in flight borrowed from it stays valid. Atomic: every
	 * `app->cfg` is one atomic load of the pointer.
	 */
	_Atomic(const struct config *) cfg;
	struct pool *pool;
	struct metrics *metrics;
	struct dir *dir; /* the directory mapping layer (dir/dir.h) */
	/* The web console's handler (console/console.h), set by main.c so that http/ does
	 * not depend on console/ (which uses http/); NULL: /console answers 404. */
	void (*console)(struct http_request *req, struct http_response *res);
	/* The invitations API's handler (console/console.h: console_invitations), set the same
	 * way; NULL: /Invitations answers 404. */
	void (*invitations)(struct http_request *req, struct http_response *res);
	struct mail_outbox *outbox; /* the invitation sender (mail/mail.h), or NULL */
};

enum http_method {
	HTTP_GET = 1,
	HTTP_POST = 2,
	HTTP_PUT = 4,
	HTTP_PATCH = 8,
	HTTP_DELETE = 16,
	HTTP_HEAD = 32,
	HTTP_OTHER = 64,
};

/* The caller's identity, from its Bearer token. */
struct http_auth {
	const struct config_tenant *tenant; /* borrowed from the config */
	const char *source;                 /* borrowed: the token's source name */
	enum token_rights rights;
	bool passwords;     /* the token may set passwords (its passwords=yes) */
	const char *invite; /* borrowed: its invite= ("" none, "yes", or a login) */
};

struct http_request {
	struct app *app;
	void *conn; /* struct MHD_Connection *, for header/argument lookups */
	enum http_method method;
	const char *method_text;
	const char *path;    /* URL path, without the query */
	const char *subpath; /* the part of path after the route's prefix */
	const char *route;   /* route label for metrics/logs (static) */
	const char *body;    /* NUL-terminated; NULL when empty */
	size_t body_len;
	struct http_auth auth; /* valid when the route requires auth */
	bool authenticated;
	char request_id[17];  /* 16 hex digits, random per request (X-Request-Id, logs, audit) */
	char client_addr[64]; /* the peer's address as text, or "-" */
	/* What unknown attributes in bodies do (strict_attributes), and the names
	 * ignored so far (owned array, NEW per request; routes.c logs each once
	 * per tenant/source and counts it, then frees it). */
	struct validate_opts input;
};

struct http_header {
	char *name;
	char *value;
	STAILQ_ENTRY(http_header) entry;
};

struct http_response {
	int status;
	json_t *json;          /* owned; sent as application/scim+json */
	char *text;            /* owned; sent as text_type, when json is NULL */
	const char *text_type; /* static */
	STAILQ_HEAD(, http_header) headers;
};

/* request_arg — the query argument `name` (decoded), or NULL. Borrowed for the request. */
const char *request_arg(const struct http_request *req, const char *name);

/* request_header — the request header `name` (case-insensitive), or NULL. Borrowed. */
const char *request_header(const struct http_request *req, const char *name);

/*
 * request_json — parse the body as a JSON object. Returns a NEW
 * reference, or NULL with *err 400 invalidSyntax (saying where).
 */
json_t *request_json(const struct http_request *req, struct rb_error *err);

/* response_init / response_clear — set up / free everything a response owns. */
void response_init(struct http_response *res);
void response_clear(struct http_response *res);

/* response_json — status + body; STEALS `body`. Returns 0, or -1 if body is NULL. */
int response_json(struct http_response *res, int status, json_t *body);

/* response_text — status + a copy of text with a static content type. */
int response_text(struct http_response *res, int status, const char *type, const char *text);

/* response_error — a SCIM Error body from *err (status 500 if err unset). */
void response_error(struct http_response *res, const struct rb_error *err);

/* response_errorf — shorthand: build the error and answer it. */
void response_errorf(struct http_response *res, int status, const char *scim_type, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* response_header — add a header (name and value copied). */
int response_header(struct http_response *res, const char *name, const char *value);

/* auth.c — authenticate from the Authorization header; fills req->auth. */
int auth_check(struct http_request *req, struct rb_error *err);

/* routes.c — dispatch one request; always fills *res. */
void routes_dispatch(struct http_request *req, struct http_response *res);
/* routes_needs_token — whether `path` needs a Bearer token (SCIM; unknown paths too; not the
 * console, whose forms carry a session): a body to such a path is refused on its headers. */
bool routes_needs_token(const char *path);
/* routes_is_cheap — /healthz, /readyz, /metrics: answered on the HTTP event threads. */
bool routes_is_cheap(const char *path);

/* discovery.c — the discovery endpoints (auth already checked). */
void discovery_service_provider_config(struct http_request *req, struct http_response *res);
void discovery_resource_types(struct http_request *req, struct http_response *res);
void discovery_schemas(struct http_request *req, struct http_response *res);

/* resources.c — /Users, /Groups, /Schools (auth already checked). */
void resources_users(struct http_request *req, struct http_response *res);
void resources_groups(struct http_request *req, struct http_response *res);
void resources_schools(struct http_request *req, struct http_response *res);
void resources_regions(struct http_request *req, struct http_response *res);

struct dir_ctx;
struct dir_query;

/* The directory operations of one resource type (the seam to dir/dir.h). */
struct resource_ops {
	const char *type;     /* "User" */
	const char *endpoint; /* "Users" */
	json_t *(*get)(const struct dir_ctx *, const char *id, bool want_members,
	               struct rb_error *);
	json_t *(*create)(const struct dir_ctx *, const json_t *, struct rb_error *);
	json_t *(*replace)(const struct dir_ctx *, const char *id, const json_t *,
	                   const char *if_match, struct rb_error *);
	json_t *(*patch)(const struct dir_ctx *, const char *id, const json_t *,
	                 const char *if_match, bool want_result, struct rb_error *);
	int (*delete)(const struct dir_ctx *, const char *id, const char *if_match,
	              struct rb_error *);
	json_t *(*search)(const struct dir_ctx *, const struct dir_query *, long *,
	                  struct rb_error *);
	bool patch_no_content; /* answer PATCH with 204 unless attributes are requested */
};

/* List/query: parameters from the URL (GET) or a SearchRequest body (POST .search). */
struct list_params {
	const char *filter, *sort_by, *sort_order, *attributes, *excluded;
	char *owned[5]; /* strings built from a .search body */
	long start_index, count;
};

/* resources_ops_all — every resource type, NULL-terminated, Users first. Borrowed (static). */
const struct resource_ops *const *resources_ops_all(void);
/* resources_ops_find — the ops of an endpoint name ("Users", any case), or NULL. Borrowed. */
const struct resource_ops *resources_ops_find(const char *endpoint);
/* resources_ctx — fill *ctx for the caller's tenant and source; `base` (caller's buffer)
 * receives the SCIM base URL, which ctx borrows. Everything in ctx is borrowed. */
void resources_ctx(struct http_request *req, struct dir_ctx *ctx, char *base, size_t baselen);
/* resources_fail — answer *err as a SCIM error (503s carry Retry-After). */
void resources_fail(struct http_response *res, const struct rb_error *err);
/*
 * resources_held_body — the body of a 202 for a removal the
 * mass-deprovision guard held (docs/mapping.md): NEW reference.
 */
#define RESOURCES_HELD_SCHEMA "urn:rosterbridge:params:scim:api:messages:2.0:Held"
json_t *resources_held_body(void);
/* list_params_from_body — fill *p (zeroed by the caller) from a SearchRequest body; the
 * strings it builds are owned by *p (free with list_params_clear). -1 with *err (400). */
int list_params_from_body(struct http_request *req, struct list_params *p, struct rb_error *err);
void list_params_clear(struct list_params *p);

/* operator.c — /operator/v1 (retained people, held removals): in-product tokens only. */
void operator_route(struct http_request *req, struct http_response *res);

/* bulk.c — POST /Bulk (RFC 7644 §3.7). */
void resources_bulk(struct http_request *req, struct http_response *res);

/* search.c — POST /.search at the root, across resource types (RFC 7644 §3.4.3). */
void resources_search_root(struct http_request *req, struct http_response *res);

/* metrics.c */
struct metrics *metrics_create(void);
void metrics_destroy(struct metrics *m);
/* metrics_observe — count one request of `route` and `method` answered `status` in `seconds`. */
void metrics_observe(struct metrics *m, const char *route, enum http_method method, int status,
                     double seconds);
/*
 * metrics_unknown_attribute — count one unknown attribute ignored for
 * (tenant, source) (rosterbridge_unknown_attributes_total). Returns 1 the
 * first time this (tenant, source, name) is seen — the caller logs it —,
 * 0 afterwards, and -1 once when the set of names remembered is full (no
 * further name is logged; memory stays bounded). All strings borrowed.
 */
int metrics_unknown_attribute(struct metrics *m, const char *tenant, const char *source,
                              const char *name);
/* metrics_render — Prometheus text (pool and dir borrowed, NULL-safe); NEW malloc'd string. */
char *metrics_render(struct metrics *m, struct pool *pool, struct dir *dir);

/* server.c */
struct http_server;
/* server_start — listen as configured; NULL with *err on failure. NEW server. */
struct http_server *server_start(struct app *app, struct rb_error *err);
/* server_stop — stop accepting, finish in-flight requests, free. */
void server_stop(struct http_server *srv);

#endif /* RB_HTTP_H */
