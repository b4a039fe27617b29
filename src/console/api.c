/*
 * api.c — the invitations API: what the console's Invite Users and Resend
 * invitation do, for a client holding a token (rosterctl admins
 * invite|resend). docs/mapping.md, "Invitations API".
 *
 *   POST /scim/v2/Invitations              {email, displayName, permission,
 *                                           canManageAdmins, scope, schools,
 *                                           region} → 201, the SCIM User
 *   POST /scim/v2/Invitations/{id}/resend  → 200, the SCIM User
 *
 * Both go through dir_admin_invite / dir_admin_resend (dir/invitations.c),
 * the functions the console calls: the same no-escalation check
 * (dir_may_grant → grants_may_grant), the same person and grant writes,
 * the same outbox. The token must carry invite= (config.c allows it on a
 * source=in-product, rights=write token only). Its ceiling — the actor
 * dir_may_grant checks against — is, for invite=yes, the whole tenant (a
 * manage grant over every school, with canManageAdmins), and for
 * invite=LOGIN that administrator's grants as the directory holds them at
 * the request: if they lose canManageAdmins, are suspended or removed, the
 * token invites nothing more.
 */
#include "console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/schema.h"
#include "lib/log.h"
#include "mail/mail.h"

/* The actor the token stands for (see the top). NEW grants array into *actor, or -1 *err. */
static int
api_actor(const struct dir_ctx *ctx, const char *invite, json_t **actor, struct rb_error *err)
{
	json_t *user, *info;
	const char *kind;
	char id[37];
	int found;

	*actor = NULL;
	if (!strcmp(invite, "yes")) {
		info = dir_tenant_info(ctx, err);
		if (info == NULL)
			return -1;
		kind = json_string_value(json_object_get(info, "kind"));
		*actor = json_pack(
		    "[{s:s, s:s, s:s, s:b, s:b, s:s}]", "source", DIR_INPRODUCT, "scope",
		    kind && !strcmp(kind, "partnership") ? "partnership" : "district", "permission",
		    "manage", "canManageAdmins", 1, "active", 1, "origin", "direct");
		json_decref(info);
		return *actor != NULL ? 0 : error_set(err, 500, NULL, "out of memory");
	}
	found = dir_person_by_mail(ctx, invite, id, err);
	if (found < 0)
		return -1;
	if (found > 0)
		return error_set(
		    err, 403, NULL,
		    "this token invites on behalf of %s, who is not a person of tenant %s", invite,
		    ctx->tenant);
	user = dir_user_get(ctx, id, err);
	if (user == NULL)
		return -1;
	*actor = json_incref(json_object_get(json_object_get(user, SCHEMA_ADMIN_USER), "grants"));
	json_decref(user);
	if (*actor == NULL)
		*actor = json_array();
	return 0;
}

/* The grant the body asks for ({scope, schools, region, permission, canManageAdmins}). */
static json_t *
api_grant(const json_t *body, struct rb_error *err)
{
	const char *perm = json_string_value(json_object_get(body, "permission"));
	const char *scope = json_string_value(json_object_get(body, "scope"));
	const json_t *cma = json_object_get(body, "canManageAdmins"), *schools, *s;
	const json_t *region = json_object_get(body, "region");
	json_t *grant;
	size_t i;

	if (perm == NULL)
		perm = "view";
	if (strcmp(perm, "view") && strcmp(perm, "manage"))
		return error_set(err, 400, SCIM_INVALID_VALUE, "permission must be view or manage"),
		       NULL;
	if (cma != NULL && !json_is_boolean(cma))
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "canManageAdmins must be true or false"),
		       NULL;
	if (scope == NULL)
		scope = "school";
	if (strcmp(scope, "school") && strcmp(scope, "district") && strcmp(scope, "region") &&
	    strcmp(scope, "partnership"))
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "scope must be school, district, region or partnership"),
		       NULL;
	grant = json_pack("{s:s, s:s, s:b, s:b}", "scope", scope, "permission", perm,
	                  "canManageAdmins", json_is_true(cma), "active", 1);
	if (grant == NULL)
		return error_set(err, 500, NULL, "out of memory"), NULL;
	if (!strcmp(scope, "school")) {
		json_t *list = json_array();
		schools = json_object_get(body, "schools");
		json_array_foreach(schools, i, s)
		{
			if (!dir_id_valid(json_string_value(s))) {
				json_decref(list);
				json_decref(grant);
				return error_set(err, 400, SCIM_INVALID_VALUE,
				                 "schools: '%s' is not a school id",
				                 str_or(json_string_value(s), "?")),
				       NULL;
			}
			json_array_append_new(list, json_string(json_string_value(s)));
		}
		if (json_array_size(list) == 0) {
			json_decref(list);
			json_decref(grant);
			return error_set(err, 400, SCIM_INVALID_VALUE,
			                 "scope school needs schools: [school ids]"),
			       NULL;
		}
		json_object_set_new(grant, "schools", list);
	} else if (!strcmp(scope, "region")) {
		if (!json_is_string(region) || json_string_length(region) == 0) {
			json_decref(grant);
			return error_set(err, 400, SCIM_INVALID_VALUE,
			                 "scope region needs region: a region id"),
			       NULL;
		}
		json_object_set(grant, "region", (json_t *)region);
	}
	return grant;
}

/* Every school of a school-scope grant exists in the tenant (else 400). */
static int
api_schools_known(const json_t *grant, const json_t *schools, struct rb_error *err)
{
	const json_t *want, *s;
	size_t i, j;

	json_array_foreach(json_object_get(grant, "schools"), i, want)
	{
		bool known = false;
		json_array_foreach(schools, j, s) known |= !strcasecmp(
		    json_string_value(json_object_get(s, "id")), json_string_value(want));
		if (!known)
			return error_set(err, 400, SCIM_INVALID_VALUE,
			                 "schools: there is no school %s in this tenant",
			                 json_string_value(want));
	}
	return 0;
}

void
console_invitations(struct http_request *req, struct http_response *res)
{
	struct dir_ctx ctx;
	struct rb_error err;
	char base[512], id[64];
	const char *sub = req->subpath, *invite = req->auth.invite;
	json_t *body = NULL, *actor = NULL, *grant = NULL, *schools = NULL, *user = NULL;
	const char *loc;
	bool resend;
	size_t n;

	error_clear(&err);
	memset(&ctx, 0, sizeof(ctx));
	if (req->method != HTTP_POST) {
		response_header(res, "Allow", "POST");
		response_errorf(res, 405, NULL, "use POST");
		return;
	}
	if (invite == NULL || *invite == '\0') {
		response_errorf(
		    res, 403, NULL,
		    "this token may not invite: its configuration line needs invite=yes "
		    "(or invite=LOGIN), on a source=in-product rights=write token");
		return;
	}
	/* "" → invite; "/<id>/resend" → resend. */
	if (*sub == '/')
		sub++;
	n = strcspn(sub, "/");
	resend = n > 0 && n < sizeof(id) && !strcasecmp(sub + n, "/resend");
	if (*sub != '\0' && !resend) {
		response_errorf(res, 404, NULL, "no such endpoint: %s", req->path);
		return;
	}
	resources_ctx(req, &ctx, base, sizeof(base));
	if (api_actor(&ctx, invite, &actor, &err) < 0)
		goto fail;
	schools = dir_schools_all(&ctx, &err);
	if (schools == NULL)
		goto fail;
	if (resend) {
		memcpy(id, sub, n);
		id[n] = '\0';
		if (dir_admin_resend(&ctx, actor, id, schools, &user, &err) < 0)
			goto fail;
		mail_outbox_kick(req->app->outbox);
		log_info("invitations: resent (tenant %s, request %s)", ctx.tenant,
		         req->request_id);
		response_json(res, 200, json_incref(user));
		goto done;
	}
	body = request_json(req, &err);
	if (body == NULL)
		goto fail;
	grant = api_grant(body, &err);
	if (grant == NULL || api_schools_known(grant, schools, &err) < 0)
		goto fail;
	if (dir_admin_invite(&ctx, actor,
	                     str_or(json_string_value(json_object_get(body, "displayName")),
	                            json_string_value(json_object_get(body, "email"))),
	                     json_string_value(json_object_get(body, "email")), grant, schools,
	                     &user, &err) < 0)
		goto fail;
	mail_outbox_kick(req->app->outbox);
	log_info("invitations: invited (tenant %s, request %s)", ctx.tenant, req->request_id);
	loc = json_string_value(json_object_get(json_object_get(user, "meta"), "location"));
	if (loc != NULL)
		response_header(res, "Location", loc);
	response_json(res, 201, json_incref(user));
	goto done;
fail:
	if (err.status == 403)
		log_info("invitations: refused (tenant %s, request %s): %s",
		         ctx.tenant ? ctx.tenant : "-", req->request_id, err.detail);
	resources_fail(res, &err);
done:
	json_decref(body);
	json_decref(actor);
	json_decref(grant);
	json_decref(schools);
	json_decref(user);
}
