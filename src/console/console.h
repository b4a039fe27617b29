/*
 * console.h — the web console (SPEC §4): sign-in, Manage Administrators,
 * Invite Users, the row menu, the invitation confirm page. Served by the
 * daemon under /console/<tenant>/, routed by http/ (routes.c calls
 * app->console), built as libxml2 HTML trees (escaping by construction),
 * working without JavaScript. Reads and writes only through dir/ (dir.h,
 * admin.h) with source "in-product"; the no-escalation rule is
 * grants_may_grant (dir/grants.h), the one function that decides.
 *
 * Module map
 *   console.c   dispatch, sign-in/out, dashboard, confirm page
 *   admins.c    Manage Administrators, Invite Users, Edit, Resend, Delete
 *   session.c   session cookie, directory-stored sessions, CSRF tokens
 *   page.c      the page skeleton and element helpers (libxml2)
 *   form.c      application/x-www-form-urlencoded bodies, cookies
 *   scope.c     the actor's rights and coverage, grants from forms
 *   api.c       the invitations API (/scim/v2/Invitations) for token holders
 *               (rosterctl): the console's invite and resend, one path
 */
#ifndef RB_CONSOLE_H
#define RB_CONSOLE_H

#include <jansson.h>
#include <libxml/HTMLtree.h>
#include <stdbool.h>
#include <time.h>

#include "dir/admin.h"
#include "dir/dir.h"
#include "http/http.h"

/* str_or — `a` unless it is NULL, else `b`. */
static inline const char *
str_or(const char *a, const char *b)
{
	return a != NULL ? a : b;
}

/* console_handle — answer one request under /console (the route's handler). */
void console_handle(struct http_request *req, struct http_response *res);

/* console_invitations — answer one request under /scim/v2/Invitations (api.c; authenticated). */
void console_invitations(struct http_request *req, struct http_response *res);

/* One console request: where, who (when signed in). Everything owned is freed by console_req_end.
 */
struct console_req {
	struct http_request *req;
	struct http_response *res;
	const char *tenant; /* borrowed from the config */
	char prefix[96];    /* "/console/<tenant>" */
	struct dir_ctx ctx; /* source in-product */
	char base_url[512];
	json_t *form; /* owned: POST fields {name: [values]}, or NULL */
	/* session */
	char sid[65];  /* the cookie's session id (hex), "" if none */
	char csrf[65]; /* the CSRF token for forms of this page */
	bool signed_in;
	char *actor_dn;      /* owned */
	json_t *actor;       /* owned: the actor's SCIM User */
	json_t *grants;      /* borrowed from actor: every grant */
	bool can_manage;     /* holds an active canManageAdmins grant */
	json_t *tenant_info; /* owned: {name, kind}, on demand */
	json_t *schools;     /* owned: dir_schools_all, on demand */
	json_t *regions;     /* owned: dir_regions_all, on demand */
};

/* ---- form.c ---- */

/*
 * form_parse — an application/x-www-form-urlencoded body (`len` bytes) into
 * a NEW object {name: [values…]} (UTF-8 checked). NULL if malformed.
 */
json_t *form_parse(const char *body, size_t len);
/* form_get — the first value of `name` (borrowed), or NULL. */
const char *form_get(const json_t *form, const char *name);
/* form_all — every value of `name` (borrowed array; NULL when absent). */
const json_t *form_all(const json_t *form, const char *name);
/*
 * cookie_get — the value of cookie `name` in a Cookie header into out (size
 * outlen). true if present and it fits.
 */
bool cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* url_encode — `s` percent-encoded for a query value. NEW malloc'd string or NULL. */
char *url_encode(const char *s);

/* ---- session.c ---- */

#define CONSOLE_COOKIE "rb_session"
#define CONSOLE_PRE_COOKIE "rb_pre"

/*
 * session_load — read the session cookie; if it names a live session of
 * this tenant, fill cr->signed_in, actor_dn, actor, grants, can_manage
 * (and touch the session). Otherwise (also for another tenant's session)
 * signed out. Sets cr->csrf for the page's forms (a pre-session cookie is
 * set when there is no session). -1 only on directory failure (*err).
 */
int session_load(struct console_req *cr, struct rb_error *err);
/* session_start — a NEW session for `dn` (a fresh id; the old one, if any, is deleted). */
int session_start(struct console_req *cr, const char *dn, struct rb_error *err);
/* session_end — delete the session and clear the cookie. */
void session_end(struct console_req *cr);
/* csrf_ok — true if the POSTed "csrf" field matches cr->csrf (constant time). */
bool csrf_ok(const struct console_req *cr);
/* sha256_hex — hex SHA-256 of s into out[65]. */
void sha256_hex(const char *s, char out[65]);

/* ---- page.c ---- */

struct page {
	htmlDocPtr doc;
	xmlNodePtr body, main;
};

/*
 * page_new — the skeleton: head (title, stylesheet), header with the
 * organisation and, when signed in, the navigation (Dashboard, Manage
 * Administrators for managers, Sign out). Fills *p; free with page_free
 * (page_send frees it too).
 */
void page_new(struct page *p, struct console_req *cr, const char *title);
void page_free(struct page *p);
/* page_send — serialise as the response (status, security headers); frees the page. */
void page_send(struct page *p, struct console_req *cr, int status);
/* page_el — a new child element with text (copied, escaped on output; NULL = none). */
xmlNodePtr page_el(xmlNodePtr parent, const char *tag, const char *text);
/* page_attr — set an attribute (value copied, escaped on output). */
void page_attr(xmlNodePtr node, const char *name, const char *value);
/* page_link — <a href=…>text</a>. */
xmlNodePtr page_link(xmlNodePtr parent, const char *href, const char *text);
/* page_form — <form method=post action=…> with the hidden CSRF field. */
xmlNodePtr page_form(xmlNodePtr parent, struct console_req *cr, const char *action);
/* page_hidden — <input type=hidden>. */
void page_hidden(xmlNodePtr form, const char *name, const char *value);
/*
 * page_field — a labelled input (type text/email/password/…) with an
 * error message next to it when `error` is not NULL. Returns the input.
 */
xmlNodePtr page_field(xmlNodePtr form, const char *type, const char *name, const char *label,
                      const char *value, const char *error);
/* page_notice — a status message box (role=status), or an alert when `alert`. */
void page_notice(xmlNodePtr parent, const char *text, bool alert);
/* page_redirect — 303 See Other to `location` (a path of ours). */
void page_redirect(struct console_req *cr, const char *location);
/* page_message — a page of one heading and one paragraph (for refusals and notices). */
void page_message(struct console_req *cr, int status, const char *title, const char *text);
/* page_stylesheet — GET /console/style.css. */
void page_stylesheet(struct http_response *res);

/* ---- scope.c ---- */

/* The part of the tenant an actor covers (for the list's overlap filter). */
struct scope {
	bool all;
	json_t *schools; /* owned: array of school uuids */
	json_t *regions; /* owned: array of region ids */
};

/* console_tenant / console_schools / console_regions — loaded on demand (borrowed). */
const json_t *console_tenant(struct console_req *cr, struct rb_error *err);
const json_t *console_schools(struct console_req *cr, struct rb_error *err);
const json_t *console_regions(struct console_req *cr, struct rb_error *err);

/* scope_of — what the actor's active canManageAdmins grants cover. 0/-1. */
int scope_of(struct console_req *cr, struct scope *s, struct rb_error *err);
void scope_free(struct scope *s);

/*
 * scope_may_grant — may the actor give (or change, or remove) `grant` (a
 * grants-shaped object: scope, schools, region, permission,
 * canManageAdmins)? grants_may_grant with the tenant's school regions. 0 or
 * -1 with *err 403.
 */
int scope_may_grant(struct console_req *cr, const json_t *grant, struct rb_error *err);

/* scope_school_name — the name of school `id` (borrowed), or the id itself. */
const char *scope_school_name(struct console_req *cr, const char *id);
/* scope_region_name — the name of region `id`. */
const char *scope_region_name(struct console_req *cr, const char *id);
/*
 * scope_describe — "All schools", "Region: North", "Lincoln Elementary,
 * Washington Middle School" for a grant. NEW malloc'd string.
 */
char *scope_describe(struct console_req *cr, const json_t *grant);
/* scope_source_label — "Okta", "Entra ID", "Clever", "ClassLink", "In-product", or the name. */
const char *scope_source_label(const char *source);

/* ---- admins.c ---- */

void admins_list(struct console_req *cr, const char *notice);
void admins_invite(struct console_req *cr);
/* admins_row — /admins/<id>/(edit|resend|delete). */
void admins_row(struct console_req *cr, const char *id, const char *action);

#endif /* RB_CONSOLE_H */
