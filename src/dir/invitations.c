/*
 * invitations.c — inviting an administrator in-product and resending the
 * invitation: the one path of the console (console/admins.c) and of the
 * invitations API (console/api.c, for rosterctl); see admin.h.
 *
 * Behaviour
 *   - Nothing is written before dir_may_grant said yes: grants_may_grant
 *     (grants.c), fed with the actor's grants and the regions of the
 *     tenant's schools. For a resend the grant checked is the person's
 *     in-product grant as it is: nobody resends an invitation wider than
 *     their own rights.
 *   - One person, one entry: a person of the tenant with the e-mail (or
 *     userName) gets the grant on their entry; else a person is created
 *     (userName and primary work e-mail = the address, active false). The
 *     grant is written by the SCIM side's own flows as source in-product
 *     (dir_user_create / dir_user_patch), inactive until confirmed.
 *   - Then the invitation is marked and queued (dir_invite_mark, invite.c).
 */
#include "dir/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/grants.h"
#include "engine/schema.h"
#include "engine/validate.h"

bool
dir_email_valid(const char *s)
{
	const char *at;
	size_t n, i;

	if (s == NULL)
		return false;
	at = strchr(s, '@');
	n = strlen(s);
	if (n < 3 || n > 254 || at == NULL || at == s || strchr(at + 1, '@') || at[1] == '\0' ||
	    strchr(at, '.') == NULL)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 127 || strchr("<>()[]\\,;:\"", c))
			return false;
	}
	return true;
}

const json_t *
dir_inproduct_grant(const json_t *user)
{
	const json_t *grants = json_object_get(json_object_get(user, SCHEMA_ADMIN_USER), "grants");
	const json_t *g;
	size_t i;

	json_array_foreach(grants, i, g)
	{
		const char *src = json_string_value(json_object_get(g, "source"));
		const char *origin = json_string_value(json_object_get(g, "origin"));
		if (src && !strcmp(src, DIR_INPRODUCT) && (!origin || !strcmp(origin, "direct")))
			return g;
	}
	return NULL;
}

int
dir_may_grant(const struct dir_ctx *ctx, const json_t *actor, const json_t *grant,
              const json_t *schools, struct rb_error *err)
{
	json_t *loaded = NULL, *regions;
	const json_t *school;
	size_t i;
	int rc;

	if (schools == NULL) {
		loaded = dir_schools_all(ctx, err);
		if (loaded == NULL)
			return -1;
		schools = loaded;
	}
	regions = json_object();
	json_array_foreach(schools, i, school)
	{
		const char *region = json_string_value(json_object_get(school, "region"));
		json_object_set_new(regions, json_string_value(json_object_get(school, "id")),
		                    region ? json_string(region) : json_null());
	}
	rc = grants_may_grant(actor, grant, regions, err);
	json_decref(regions);
	json_decref(loaded);
	return rc;
}

json_t *
dir_grant_patch(const json_t *g, int active)
{
	json_t *ops = json_array();
	const char *scope = json_string_value(json_object_get(g, "scope"));

	if (scope == NULL)
		scope = "school";
	json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
	                                     SCHEMA_ADMIN_USER ":permission", "value",
	                                     json_object_get(g, "permission")));
	json_array_append_new(ops, json_pack("{s:s, s:s, s:b}", "op", "replace", "path",
	                                     SCHEMA_ADMIN_USER ":canManageAdmins", "value",
	                                     json_is_true(json_object_get(g, "canManageAdmins"))));
	json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "replace", "path",
	                                     SCHEMA_ADMIN_USER ":scope", "value", scope));
	if (!strcmp(scope, "school"))
		json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
		                                     SCHEMA_ADMIN_USER ":schools", "value",
		                                     json_object_get(g, "schools")));
	else
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path",
		                                     SCHEMA_ADMIN_USER ":schools"));
	if (!strcmp(scope, "region"))
		json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
		                                     SCHEMA_ADMIN_USER ":region", "value",
		                                     json_object_get(g, "region")));
	else
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path",
		                                     SCHEMA_ADMIN_USER ":region"));
	if (active >= 0)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:b}", "op", "replace", "path",
		                                     "active", "value", active));
	return json_pack("{s:[s], s:o}", "schemas", SCHEMA_PATCH_OP, "Operations", ops);
}

/* A new person for `email` named `name`, holding `grant` (inactive). NEW SCIM User or NULL. */
static json_t *
invitations_create(const struct dir_ctx *ctx, const char *name, const char *email,
                   const json_t *grant, struct rb_error *err)
{
	json_t *admin = json_deep_copy(grant), *body, *valid = NULL, *user = NULL;

	if (admin == NULL)
		return error_set(err, 500, NULL, "out of memory"), NULL;
	json_object_del(admin, "active");
	json_object_del(admin, "source");
	json_object_del(admin, "origin");
	if (json_array_size(json_object_get(admin, "schools")) == 0)
		json_object_del(admin, "schools");
	if (json_string_length(json_object_get(admin, "region")) == 0)
		json_object_del(admin, "region");
	body = json_pack("{s:[s,s], s:s, s:s, s:{s:s}, s:[{s:s, s:s, s:b}], s:b, s:o}", "schemas",
	                 SCHEMA_CORE_USER, SCHEMA_ADMIN_USER, "userName", email, "displayName",
	                 name, "name", "formatted", name, "emails", "value", email, "type", "work",
	                 "primary", 1, "active", 0, SCHEMA_ADMIN_USER, admin);
	if (body == NULL)
		return error_set(err, 500, NULL, "out of memory"), NULL;
	valid = validate_resource(schema_resource_type("User"), body, VALIDATE_CREATE, NULL, err);
	if (valid != NULL)
		user = dir_user_create(ctx, valid, err);
	json_decref(valid);
	json_decref(body);
	return user;
}

int
dir_admin_invite(const struct dir_ctx *ctx, const json_t *actor, const char *name,
                 const char *email, const json_t *grant, const json_t *schools, json_t **user,
                 struct rb_error *err)
{
	json_t *existing = NULL, *patch = NULL, *made = NULL;
	char id[37];
	int found, rc = -1;

	*user = NULL;
	if (name == NULL || *name == '\0' || strlen(name) > 200)
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "the administrator's name is missing (or over 200 bytes)");
	if (!dir_email_valid(email))
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "'%s' is not an e-mail address like name@school.org",
		                 email ? email : "");
	if (dir_may_grant(ctx, actor, grant, schools, err) < 0)
		return -1;
	found = dir_person_by_mail(ctx, email, id, err);
	if (found < 0)
		return -1;
	if (found == 0) { /* one person, one entry: the grant attaches to it */
		existing = dir_user_get(ctx, id, err);
		if (existing == NULL)
			goto done;
		if (dir_inproduct_grant(existing) != NULL) {
			error_set(err, 409, SCIM_UNIQUENESS,
			          "%s already has in-product access: change it rather than invite "
			          "again",
			          email);
			goto done;
		}
		patch = dir_grant_patch(grant, 0);
		made = patch ? dir_user_patch(ctx, id, patch, NULL, err) : NULL;
	} else {
		made = invitations_create(ctx, name, email, grant, err);
		if (made != NULL)
			snprintf(id, sizeof(id), "%s",
			         json_string_value(json_object_get(made, "id")));
	}
	if (made == NULL)
		goto done;
	if (dir_invite_mark(ctx, id, email, err) < 0)
		goto done;
	json_decref(made);
	*user = dir_user_get(ctx, id, err); /* with the invitation state */
	rc = *user != NULL ? 0 : -1;
	made = NULL;
done:
	json_decref(existing);
	json_decref(patch);
	json_decref(made);
	return rc;
}

int
dir_admin_resend(const struct dir_ctx *ctx, const json_t *actor, const char *id,
                 const json_t *schools, json_t **user, struct rb_error *err)
{
	json_t *person, *state = NULL;
	const json_t *g;
	const char *status, *mail;
	int rc = -1;

	*user = NULL;
	if (!dir_id_valid(id))
		return error_set(err, 404, NULL, "no administrator %s", id);
	person = dir_user_get(ctx, id, err);
	if (person == NULL)
		return -1;
	g = dir_inproduct_grant(person);
	if (g == NULL) {
		error_set(err, 404, NULL,
		          "this administrator has no in-product access: their roster source "
		          "manages them");
		goto done;
	}
	/* Nobody resends an invitation wider than their own rights. */
	if (dir_may_grant(ctx, actor, g, schools, err) < 0)
		goto done;
	state = dir_admin_invite_state(ctx, id, err);
	if (state == NULL)
		goto done;
	status = json_string_value(json_object_get(state, "status"));
	mail = json_string_value(json_object_get(state, "mail"));
	if (status == NULL || strcmp(status, "invited") != 0 || mail == NULL) {
		error_set(err, 409, NULL,
		          status && !strcmp(status, "active")
		              ? "this administrator has already confirmed their account"
		              : "this administrator was never invited in-product");
		goto done;
	}
	if (dir_invite_mark(ctx, id, mail, err) < 0)
		goto done;
	*user = dir_user_get(ctx, id, err);
	rc = *user != NULL ? 0 : -1;
done:
	json_decref(person);
	json_decref(state);
	return rc;
}
