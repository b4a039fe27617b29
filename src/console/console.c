/*
 * console.c — the console's dispatch, sign-in and sign-out, dashboard and
 * the invitation confirm page; see console.h.
 *
 * URLs (all under /console):
 *   /style.css                     the one stylesheet
 *   /<tenant>/                     dashboard (sign-in first)
 *   /<tenant>/signin, /signout     sign-in form; POST only for sign-out
 *   /<tenant>/admins…              Manage Administrators (admins.c)
 *   /<tenant>/confirm?token=…      the link of an invitation e-mail
 * Every POST needs the page's CSRF token; every page is a libxml2 tree.
 */
#include "console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/schema.h"
#include "lib/log.h"
#include "mail/mail.h"

static const char console_refused[] =
    "That did not work: the e-mail or username and password do not match an account that "
    "can sign in here.";

/* A fresh copy of the current request's one form value, or "" (borrowed). */
static const char *
console_field(const struct console_req *cr, const char *name)
{
	const char *v = form_get(cr->form, name);

	return v ? v : "";
}

static void
console_signin_page(struct console_req *cr, int status, const char *login, const char *error,
                    const char *notice)
{
	struct page p;
	char action[128];
	xmlNodePtr f, b;

	page_new(&p, cr, "Sign in");
	if (notice != NULL)
		page_notice(p.main, notice, false);
	if (error != NULL)
		page_notice(p.main, error, true);
	snprintf(action, sizeof(action), "%s/signin", cr->prefix);
	f = page_form(p.main, cr, action);
	page_attr(page_field(f, "text", "login", "E-mail or username", login, NULL), "autocomplete",
	          "username");
	page_attr(page_field(f, "password", "password", "Password", NULL, NULL), "autocomplete",
	          "current-password");
	b = page_el(f, "button", "Sign in");
	page_attr(b, "type", "submit");
	page_send(&p, cr, status);
}

static void
console_signin(struct console_req *cr)
{
	struct rb_error err;
	char *dn;
	char loc[128];

	if (cr->req->method != HTTP_POST) {
		if (cr->signed_in) {
			snprintf(loc, sizeof(loc), "%s/", cr->prefix);
			page_redirect(cr, loc);
			return;
		}
		console_signin_page(
		    cr, 200, NULL, NULL,
		    request_arg(cr->req, "confirmed") ? "Your account is ready. Sign in." : NULL);
		return;
	}
	error_clear(&err);
	dn = dir_signin(&cr->ctx, console_field(cr, "login"), console_field(cr, "password"), &err);
	if (dn == NULL) {
		log_info("console: sign-in refused (tenant %s): %s", cr->tenant, err.detail);
		console_signin_page(
		    cr, err.status == 503 ? 503 : 401, console_field(cr, "login"),
		    err.status == 503 ? "The directory is not reachable right now; try again soon."
		                      : console_refused,
		    NULL);
		return;
	}
	if (session_start(cr, dn, &err) < 0) {
		free(dn);
		page_message(cr, 503, "Sign in",
		             "The session could not be stored; try again soon.");
		return;
	}
	log_info("console: signed in (tenant %s)", cr->tenant);
	free(dn);
	snprintf(loc, sizeof(loc), "%s/", cr->prefix);
	page_redirect(cr, loc);
}

static void
console_dashboard(struct console_req *cr)
{
	struct page p;
	const json_t *g;
	xmlNodePtr ul;
	size_t i;
	char buf[512];

	page_new(&p, cr, "Dashboard");
	snprintf(buf, sizeof(buf), "Welcome, %s.",
	         str_or(json_string_value(json_object_get(cr->actor, "displayName")),
	                json_string_value(json_object_get(cr->actor, "userName"))));
	page_el(p.main, "p", buf);
	page_el(p.main, "h2", "Your access");
	ul = page_el(p.main, "ul", NULL);
	json_array_foreach(cr->grants, i, g)
	{
		char *where = scope_describe(cr, g);
		snprintf(buf, sizeof(buf), "%s: %s at %s%s%s",
		         scope_source_label(json_string_value(json_object_get(g, "source"))),
		         !strcmp(str_or(json_string_value(json_object_get(g, "permission")), ""),
		                 "manage")
		             ? "Manage"
		             : "View",
		         where ? where : "?",
		         json_is_true(json_object_get(g, "canManageAdmins"))
		             ? ", can manage administrators"
		             : "",
		         json_is_true(json_object_get(g, "active")) ? "" : " (not active)");
		free(where);
		page_el(ul, "li", buf);
	}
	if (json_array_size(cr->grants) == 0)
		page_el(ul, "li", "No administrator access.");
	if (cr->can_manage) {
		snprintf(buf, sizeof(buf), "%s/admins", cr->prefix);
		page_attr(page_link(page_el(p.main, "p", NULL), buf, "Manage Administrators"),
		          "class", "button");
	}
	page_send(&p, cr, 200);
}

/* ---- the confirm page ---- */

static void
console_confirm_page(struct console_req *cr, int status, const char *token, const char *error,
                     const char *error_field)
{
	struct page p;
	char action[128];
	xmlNodePtr f, b, sec;

	page_new(&p, cr, "Confirm your account");
	page_el(p.main, "p",
	        "You have been invited to be an administrator. Create your account with a "
	        "password, or sign in to the account you already have.");
	if (error != NULL && error_field == NULL)
		page_notice(p.main, error, true);
	snprintf(action, sizeof(action), "%s/confirm", cr->prefix);

	sec = page_el(p.main, "section", NULL);
	page_attr(sec, "aria-labelledby", "h-create");
	page_attr(page_el(sec, "h2", "Create your account"), "id", "h-create");
	f = page_form(sec, cr, action);
	page_hidden(f, "token", token);
	page_hidden(f, "action", "create");
	page_attr(page_field(f, "password", "password", "Choose a password", NULL,
	                     error_field && !strcmp(error_field, "password") ? error : NULL),
	          "autocomplete", "new-password");
	page_attr(page_field(f, "password", "password2", "Type it again", NULL, NULL),
	          "autocomplete", "new-password");
	b = page_el(f, "button", "Create account");
	page_attr(b, "type", "submit");

	sec = page_el(p.main, "section", NULL);
	page_attr(sec, "aria-labelledby", "h-existing");
	page_attr(page_el(sec, "h2", "I already have an account"), "id", "h-existing");
	f = page_form(sec, cr, action);
	page_hidden(f, "token", token);
	page_hidden(f, "action", "existing");
	page_field(f, "text", "login", "E-mail or username", console_field(cr, "login"),
	           error_field && !strcmp(error_field, "login") ? error : NULL);
	page_attr(page_field(f, "password", "existing_password", "Password", NULL, NULL),
	          "autocomplete", "current-password");
	b = page_el(f, "button", "Sign in and accept");
	page_attr(b, "type", "submit");
	page_send(&p, cr, status);
}

/* Activate the in-product grant of person `id` (a PATCH as the in-product source). */
static int
console_activate(struct console_req *cr, const char *id, struct rb_error *err)
{
	json_t *patch = json_pack("{s:[s], s:[{s:s, s:s, s:b}]}", "schemas", SCHEMA_PATCH_OP,
	                          "Operations", "op", "replace", "path", "active", "value", 1);
	json_t *user = patch ? dir_user_patch(&cr->ctx, id, patch, NULL, err) : NULL;
	int rc = user ? 0 : -1;

	json_decref(user);
	json_decref(patch);
	if (rc == 0)
		rc = dir_invite_accept(&cr->ctx, id, err);
	return rc;
}

/*
 * The invited person signed in to another account (`dn2`): that account
 * receives the invited e-mail and the in-product grant; the invitation's
 * own entry is released by in-product (and deleted if nobody else holds it).
 */
static int
console_move_invite(struct console_req *cr, const char *id, const char *dn2, struct rb_error *err)
{
	json_t *invitee = dir_user_get(&cr->ctx, id, err), *state = NULL, *patch = NULL,
	       *after = NULL;
	const json_t *g;
	char id2[37];
	const char *mail;
	int rc = -1;

	if (invitee == NULL || dir_person_id(&cr->ctx, dn2, id2, err) < 0)
		goto done;
	state = dir_admin_invite_state(&cr->ctx, id, err);
	g = dir_inproduct_grant(invitee);
	mail = json_string_value(json_object_get(state, "mail"));
	if (g == NULL || mail == NULL) {
		error_set(err, 404, NULL, "this invitation no longer grants anything");
		goto done;
	}
	patch = json_pack(
	    "{s:[s], s:[{s:s, s:s, s:[{s:s, s:s}]}, {s:s, s:s, s:O}, {s:s, s:s, s:O}, {s:s, s:s, "
	    "s:O}, "
	    "{s:s, s:s, s:b}]}",
	    "schemas", SCHEMA_PATCH_OP, "Operations", "op", "add", "path", "emails", "value",
	    "value", mail, "type", "work", "op", "replace", "path", SCHEMA_ADMIN_USER ":permission",
	    "value", json_object_get(g, "permission"), "op", "replace", "path",
	    SCHEMA_ADMIN_USER ":canManageAdmins", "value", json_object_get(g, "canManageAdmins"),
	    "op", "replace", "path", SCHEMA_ADMIN_USER ":scope", "value",
	    json_object_get(g, "scope"), "op", "replace", "path", "active", "value", 1);
	if (patch == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (json_array_size(json_object_get(g, "schools")) > 0)
		json_array_append_new(json_object_get(patch, "Operations"),
		                      json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
		                                SCHEMA_ADMIN_USER ":schools", "value",
		                                json_object_get(g, "schools")));
	if (json_is_string(json_object_get(g, "region")))
		json_array_append_new(json_object_get(patch, "Operations"),
		                      json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
		                                SCHEMA_ADMIN_USER ":region", "value",
		                                json_object_get(g, "region")));
	after = dir_user_patch(&cr->ctx, id2, patch, NULL, err);
	if (after == NULL)
		goto done;
	if (dir_invite_clear(&cr->ctx, id, err) < 0 || dir_user_delete(&cr->ctx, id, NULL, err) < 0)
		goto done;
	/* The account that accepted is now an in-product administrator, confirmed. */
	rc = dir_invite_accept(&cr->ctx, id2, err);
done:
	json_decref(invitee);
	json_decref(state);
	json_decref(patch);
	json_decref(after);
	return rc;
}

static void
console_confirm(struct console_req *cr)
{
	const char *token = cr->req->method == HTTP_POST ? console_field(cr, "token")
	                                                 : request_arg(cr->req, "token");
	struct rb_error err;
	char hash[65], id[37], loc[160];
	char *dn = NULL, *dn2 = NULL;
	const char *action;

	error_clear(&err);
	if (token == NULL || *token == '\0' || strlen(token) > 128) {
		page_message(cr, 404, "Invitation link", "This link is not valid.");
		return;
	}
	sha256_hex(token, hash);
	if (dir_invite_find(&cr->ctx, hash, id, &dn, &err) < 0) {
		if (err.status == 410)
			page_message(
			    cr, 410, "Invitation expired",
			    "This invitation link has expired. Ask your administrator to send "
			    "it again.");
		else if (err.status == 404)
			page_message(
			    cr, 404, "Invitation link",
			    "This link has already been used, or a newer invitation replaced "
			    "it.");
		else
			page_message(cr, 503, "Invitation link",
			             "The directory is not reachable right now; try again soon.");
		return;
	}
	if (cr->req->method != HTTP_POST) {
		console_confirm_page(cr, 200, token, NULL, NULL);
		goto done;
	}
	action = console_field(cr, "action");
	if (!strcmp(action, "create")) {
		const char *pw = console_field(cr, "password");
		if (*pw == '\0' || strcmp(pw, console_field(cr, "password2")) != 0) {
			console_confirm_page(
			    cr, 400, token,
			    *pw ? "The two passwords differ." : "Choose a password.", "password");
			goto done;
		}
		if (dir_set_password(&cr->ctx, dn, pw, &err) < 0) {
			console_confirm_page(cr, err.status == 400 ? 400 : 503, token, err.detail,
			                     err.status == 400 ? "password" : NULL);
			goto done;
		}
		if (console_activate(cr, id, &err) < 0)
			goto fail;
	} else if (!strcmp(action, "existing")) {
		dn2 = dir_signin(&cr->ctx, console_field(cr, "login"),
		                 console_field(cr, "existing_password"), &err);
		if (dn2 == NULL) {
			console_confirm_page(cr, err.status == 503 ? 503 : 401, token,
			                     err.status == 503
			                         ? "The directory is not reachable right "
			                           "now; try again soon."
			                         : console_refused,
			                     err.status == 503 ? NULL : "login");
			goto done;
		}
		if (strcasecmp(dn2, dn) == 0 ? console_activate(cr, id, &err) < 0
		                             : console_move_invite(cr, id, dn2, &err) < 0)
			goto fail;
	} else {
		console_confirm_page(cr, 400, token, "Choose one of the two forms.", NULL);
		goto done;
	}
	log_info("console: invitation confirmed (tenant %s)", cr->tenant);
	snprintf(loc, sizeof(loc), "%s/signin?confirmed=1", cr->prefix);
	page_redirect(cr, loc);
	goto done;
fail:
	log_warnx("console: confirming an invitation failed: %s", err.detail);
	page_message(cr, err.status >= 400 && err.status < 600 ? err.status : 500,
	             "Confirm your account", err.detail);
done:
	free(dn);
	free(dn2);
}

static void
console_req_end(struct console_req *cr)
{
	json_decref(cr->form);
	free(cr->actor_dn);
	json_decref(cr->actor);
	json_decref(cr->tenant_info);
	json_decref(cr->schools);
	json_decref(cr->regions);
}

void
console_handle(struct http_request *req, struct http_response *res)
{
	const char *sub = req->subpath ? req->subpath : "";
	const struct config_tenant *t;
	struct console_req cr;
	struct rb_error err;
	char name[CONFIG_NAME_MAX], loc[128];
	const char *rest;
	size_t n;

	if (!strcmp(sub, "/style.css")) {
		page_stylesheet(res);
		return;
	}
	memset(&cr, 0, sizeof(cr));
	cr.req = req;
	cr.res = res;
	if (*sub == '/')
		sub++;
	n = strcspn(sub, "/");
	if (n == 0 || n >= sizeof(name)) {
		page_message(&cr, 404, "Not found",
		             "Open the console of your organisation: /console/<tenant>/.");
		return;
	}
	memcpy(name, sub, n);
	name[n] = '\0';
	rest = sub + n;
	t = config_tenant_find(req->app->cfg, name);
	if (t == NULL) {
		page_message(&cr, 404, "Not found", "There is no such organisation here.");
		return;
	}
	cr.tenant = t->name;
	snprintf(cr.prefix, sizeof(cr.prefix), "/console/%s", t->name);
	snprintf(cr.base_url, sizeof(cr.base_url), "%s/scim/v2", req->app->cfg->base_url);
	cr.ctx.dir = req->app->dir;
	cr.ctx.tenant = t->name;
	cr.ctx.source = DIR_INPRODUCT;
	cr.ctx.base_url = cr.base_url;
	cr.ctx.request_id = req->request_id; /* the audit trail names the request and client */
	cr.ctx.client_addr = req->client_addr;
	error_clear(&err);
	if (req->method == HTTP_POST) {
		cr.form = form_parse(req->body, req->body_len);
		if (cr.form == NULL) {
			page_message(&cr, 400, "Bad request", "The form could not be read.");
			goto done;
		}
	} else if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		response_header(res, "Allow", "GET, HEAD, POST");
		page_message(&cr, 405, "Not allowed", "Use the forms of the console.");
		goto done;
	}
	if (session_load(&cr, &err) < 0) {
		page_message(&cr, 503, "Unavailable",
		             "The directory is not reachable right now; try again soon.");
		goto done;
	}
	if (req->method == HTTP_POST && !csrf_ok(&cr)) {
		log_info("console: POST %s refused: no valid CSRF token", req->path);
		page_message(
		    &cr, 403, "Form expired",
		    "This form has expired or did not come from this site. Go back, reload "
		    "the page and try again.");
		goto done;
	}
	if (!strcmp(rest, "/signin")) {
		console_signin(&cr);
	} else if (!strcmp(rest, "/confirm")) {
		console_confirm(&cr);
	} else if (!cr.signed_in) {
		snprintf(loc, sizeof(loc), "%s/signin", cr.prefix);
		page_redirect(&cr, loc);
	} else if (!strcmp(rest, "/signout")) {
		if (req->method != HTTP_POST) {
			page_message(&cr, 405, "Sign out", "Use the Sign out button.");
		} else {
			session_end(&cr);
			snprintf(loc, sizeof(loc), "%s/signin", cr.prefix);
			page_redirect(&cr, loc);
		}
	} else if (*rest == '\0' || !strcmp(rest, "/")) {
		console_dashboard(&cr);
	} else if (!strncmp(rest, "/admins", 7) && (rest[7] == '\0' || rest[7] == '/')) {
		const char *p = rest + 7;
		if (!cr.can_manage) {
			/* Not an error page: the dashboard, which has no such link. */
			if (req->method == HTTP_POST) {
				page_message(&cr, 403, "Not allowed",
				             "You cannot invite or manage administrators.");
			} else {
				snprintf(loc, sizeof(loc), "%s/", cr.prefix);
				page_redirect(&cr, loc);
			}
		} else if (*p == '\0' || !strcmp(p, "/")) {
			admins_list(&cr, request_arg(req, "notice"));
		} else if (!strcmp(p, "/invite")) {
			admins_invite(&cr);
		} else {
			char id[40];
			size_t m;
			p++;
			m = strcspn(p, "/");
			if (m != 36 || p[m] != '/') {
				page_message(&cr, 404, "Not found", "There is no such page.");
				goto done;
			}
			memcpy(id, p, m);
			id[m] = '\0';
			admins_row(&cr, id, p + m + 1);
		}
	} else {
		page_message(&cr, 404, "Not found", "There is no such page.");
	}
done:
	console_req_end(&cr);
}
