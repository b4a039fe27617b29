/*
 * users.c — /Users on the directory: read, create, replace, patch, delete,
 * search. SCIM ⇄ LDAP mapping is map_user.c; this file is the flows.
 *
 * Sources: a POST creates the person held by the caller's source
 * (rbSource). PUT and PATCH attach the caller's source if it did not hold
 * the person yet. DELETE releases the caller's hold and removes its
 * per-source attributes; the entry itself is deleted when no source holds
 * it any more (SPEC §1).
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/query.h"
#include "engine/patch.h"

#define USER_OBJFILTER "(objectClass=rbPerson)"

static char *user_attrs[] = {
    "uid", "cn", "sn", "rbSynthetic", "manager", "displayName", "rbNickName", "rbProfileUrl",
    "title", "employeeType", "preferredLanguage", "rbLocale", "rbTimezone", "rbNameFormatted",
    "givenName", "rbMiddleName", "rbHonorificPrefix", "rbHonorificSuffix", "employeeNumber",
    "rbCostCenter", "o", "ou", "departmentNumber", "mail", "telephoneNumber", "rbIm", "rbPhoto",
    "rbEntitlement", "rbRole", "postalAddress", "street", "l", "st", "postalCode", "co",
    "rbExternalId", "rbActive", "rbPermission", "rbCanManageAdmins", "rbScope", "rbSchoolRef",
    "rbRegionRef", "rbSource", "rbInviteStatus", "memberOf", DIR_OPERATIONAL, NULL,
};

#define ENT SCHEMA_ENTERPRISE_USER ":"
#define ADM SCHEMA_ADMIN_USER ":"
static const struct query_attr user_query[] = {
    {"userName", "uid", 0, "uid:caseIgnoreOrderingMatch"},
    {"id", "entryUUID", QUERY_NOSUBSTR, "entryUUID"},
    {"externalId", "rbExternalId", QUERY_SOURCED, NULL},
    {"displayName", "displayName", 0, "displayName:caseIgnoreOrderingMatch"},
    {"name.givenName", "givenName", 0, "givenName:caseIgnoreOrderingMatch"},
    {"name.familyName", "sn", QUERY_SYNTH_SN, NULL},
    {"name.formatted", "rbNameFormatted", 0, NULL},
    {"name.middleName", "rbMiddleName", 0, NULL},
    {"name.honorificPrefix", "rbHonorificPrefix", 0, NULL},
    {"name.honorificSuffix", "rbHonorificSuffix", 0, NULL},
    {"nickName", "rbNickName", 0, NULL},
    {"title", "title", 0, "title:caseIgnoreOrderingMatch"},
    {"userType", "employeeType", 0, NULL},
    {"preferredLanguage", "preferredLanguage", 0, NULL},
    {"locale", "rbLocale", 0, NULL},
    {"timezone", "rbTimezone", 0, NULL},
    {"emails", "mail", QUERY_MULTI, NULL},
    {"emails.value", "mail", QUERY_MULTI, NULL},
    {ENT "employeeNumber", "employeeNumber", 0, NULL},
    {ENT "costCenter", "rbCostCenter", 0, NULL},
    {ENT "organization", "o", 0, NULL},
    {ENT "division", "ou", 0, NULL},
    {ENT "department", "departmentNumber", 0, NULL},
    {ADM "permission", "rbPermission", QUERY_SOURCED, NULL},
    {ADM "scope", "rbScope", QUERY_SOURCED, NULL},
    {ADM "region", "rbRegionRef", QUERY_SOURCED, NULL},
    {ADM "schools", "rbSchoolRef", QUERY_SOURCED | QUERY_MULTI | QUERY_NOSUBSTR, NULL},
    {NULL, NULL, 0, NULL},
};

/* Resolve DNs (a json object used as a set: dn → null) to {dn: {id, display}} in one search. */
static int
users_resolve_dns(struct dir_op *op, const char *ou, json_t *dns, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", "cn", "displayName", NULL};
	LDAPMessage *res = NULL, *e;
	char *base = NULL, *filter = NULL;
	size_t cap = 64, len;
	const char *dn;
	json_t *v;
	int rc = -1;

	if (json_object_size(dns) == 0)
		return 0;
	json_object_foreach(dns, dn, v) cap += strlen(dn) * 3 + 16;
	filter = malloc(cap);
	base = dir_ou_dn(op, ou);
	if (filter == NULL || base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	len = (size_t)snprintf(filter, cap, "(|");
	json_object_foreach(dns, dn, v) {
		char *esc = escape_filter_value(dn, strlen(dn));
		if (esc == NULL) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		len += (size_t)snprintf(filter + len, cap - len, "(entryDN=%s)", esc);
		free(esc);
	}
	snprintf(filter + len, cap - len, ")");
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *edn = entry_map_first(m, "dn");
		const char *display = entry_map_first(m, "displayname");
		json_object_foreach(dns, dn, v) {
			if (edn != NULL && !strcasecmp(dn, edn))
				json_object_set_new(
				    dns, dn,
				    json_pack("{s:s?, s:s?}", "id", entry_map_first(m, "entryuuid"),
				              "display", display ? display : entry_map_first(m, "cn")));
		}
		json_decref(m);
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(filter);
	return rc;
}

static json_t *
users_to_json(struct dir_op *op, const json_t *maps, bool want_members, struct rb_error *err)
{
	json_t *groups = json_object(), *managers = json_object(), *out = json_array(), *map;
	char location[600];
	size_t i, j;

	(void)want_members;
	snprintf(location, sizeof(location), "%s/Users", op->ctx->base_url);
	json_array_foreach(maps, i, map) {
		json_t *mo = json_object_get(map, "memberof");
		const char *mgr = entry_map_first(map, "manager");
		for (j = 0; j < json_array_size(mo); j++)
			json_object_set_new(groups, json_string_value(json_array_get(mo, j)), json_null());
		if (mgr != NULL)
			json_object_set_new(managers, mgr, json_null());
	}
	if (users_resolve_dns(op, "groups", groups, err) < 0 ||
	    users_resolve_dns(op, "people", managers, err) < 0) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	json_array_foreach(maps, i, map) {
		struct map_meta meta;
		json_t *mo = json_object_get(map, "memberof"), *garr = NULL;
		const char *mgr = entry_map_first(map, "manager");
		const char *mgr_id = mgr ? json_string_value(
		                               json_object_get(json_object_get(managers, mgr), "id"))
		                         : NULL;
		for (j = 0; j < json_array_size(mo); j++) {
			json_t *g = json_object_get(groups, json_string_value(json_array_get(mo, j)));
			const char *gid = json_string_value(json_object_get(g, "id"));
			char ref[700];
			if (gid == NULL)
				continue;
			if (garr == NULL)
				garr = json_array();
			snprintf(ref, sizeof(ref), "%s/Groups/%s", op->ctx->base_url, gid);
			json_array_append_new(garr, json_pack("{s:s, s:s, s:O?, s:s}", "value", gid, "$ref",
			                                      ref, "display", json_object_get(g, "display"),
			                                      "type", "direct"));
		}
		dir_meta_from_map(map, location, &meta);
		json_array_append_new(out, map_user_from_ldap(map, op->ctx->source, &meta, mgr_id, garr));
	}
done:
	json_decref(groups);
	json_decref(managers);
	return out;
}

static const struct dir_type user_type_def = {
    .ou = "people",
    .objfilter = USER_OBJFILTER,
    .table = user_query,
    .attrs = user_attrs,
    .to_json = users_to_json,
};

static struct dir_type
users_type(void)
{
	struct dir_type t = user_type_def;
	t.rt = schema_resource_type("User");
	return t;
}

/* One map → one resource (NEW), or NULL with *err. */
static json_t *
users_one(struct dir_op *op, const json_t *map, struct rb_error *err)
{
	json_t *arr = json_array(), *out, *res = NULL;

	json_array_append(arr, (json_t *)map);
	out = users_to_json(op, arr, false, err);
	if (out != NULL)
		res = json_incref(json_array_get(out, 0));
	json_decref(out);
	json_decref(arr);
	return res;
}

/* The DN of the person with entryUUID `id` (manager references). NEW string or NULL + err. */
static char *
users_dn_of(struct dir_op *op, const char *id, const char *what, struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	char *base = dir_ou_dn(op, "people"), *dn = NULL;
	json_t *map;

	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	map = dir_find_by_id(op, base, USER_OBJFILTER, id, attrs, err);
	free(base);
	if (map == NULL) {
		err->status = 400;
		err->scim_type = SCIM_INVALID_VALUE;
		snprintf(err->detail, sizeof(err->detail), "%s: no user with id %s in this tenant", what,
		         id);
		return NULL;
	}
	dn = strdup(entry_map_first(map, "dn"));
	json_decref(map);
	return dn;
}

static const char *
users_manager_id(const json_t *user)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(user, SCHEMA_ENTERPRISE_USER), "manager"),
	                    "value"));
}

json_t *
dir_user_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	struct dir_op op;
	json_t *map, *user = NULL;
	char *base;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, "people");
	map = base ? dir_find_by_id(&op, base, USER_OBJFILTER, id, user_attrs, err) : NULL;
	if (map != NULL)
		user = users_one(&op, map, err);
	json_decref(map);
	free(base);
	dir_op_end(&op);
	return user;
}

json_t *
dir_user_create(const struct dir_ctx *ctx, const json_t *user, struct rb_error *err)
{
	struct dir_op op;
	const char *mgr_id = users_manager_id(user);
	char *base = NULL, *rdn = NULL, *dn = NULL, *mgr_dn = NULL;
	json_t *map = NULL, *after = NULL, *out = NULL;
	LDAPMod **mods = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	if (mgr_id != NULL && (mgr_dn = users_dn_of(&op, mgr_id, "manager", err)) == NULL)
		goto done;
	map = map_user_to_ldap(user, ctx->source, mgr_dn, err);
	if (map == NULL)
		goto done;
	entry_map_add(map, "rbsource", ctx->source);
	base = dir_ou_dn(&op, "people");
	rdn = escape_rdn("uid", entry_map_first(map, "uid"));
	dn = base && rdn ? escape_dn_join(rdn, base) : NULL;
	mods = dn ? entry_mods_build(NULL, map, NULL, NULL) : NULL;
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(&op, true, dn, mods, NULL, user_attrs, err);
	if (after == NULL) {
		if (err->status == 409)
			snprintf(err->detail, sizeof(err->detail),
			         "userName %s already exists in this tenant",
			         entry_map_first(map, "uid"));
		goto done;
	}
	out = users_one(&op, after, err);
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	free(base);
	free(rdn);
	free(dn);
	free(mgr_dn);
	dir_op_end(&op);
	return out;
}

/*
 * Write `user` (the complete new state as the caller's source sees it) over
 * the entry `old` (a map). Renames when userName changed. Returns the NEW
 * resource after the write.
 */
static json_t *
users_write(struct dir_op *op, const json_t *old, const json_t *user, const char *if_match,
            struct rb_error *err)
{
	const char *source = op->ctx->source;
	const char *mgr_id = users_manager_id(user);
	const char *old_uid = entry_map_first(old, "uid");
	char *mgr_dn = NULL, *dn = NULL, *rdn = NULL;
	json_t *map = NULL, *after = NULL, *out = NULL, *srcs;
	LDAPMod **mods = NULL;
	bool held = false;
	size_t i;

	if (mgr_id != NULL && (mgr_dn = users_dn_of(op, mgr_id, "manager", err)) == NULL)
		goto done;
	map = map_user_to_ldap(user, source, mgr_dn, err);
	if (map == NULL)
		goto done;
	dn = strdup(entry_map_first(old, "dn"));
	if (dn == NULL)
		goto oom;
	if (strcmp(old_uid, entry_map_first(map, "uid")) != 0) {
		char *newdn;
		rdn = escape_rdn("uid", entry_map_first(map, "uid"));
		if (rdn == NULL)
			goto oom;
		newdn = dir_rename(op, dn, rdn, if_match, err);
		if (newdn == NULL)
			goto done;
		free(dn);
		dn = newdn;
		if_match = NULL; /* consumed by the rename */
	}
	json_object_del(map, "uid");
	json_object_del(map, "objectclass");
	mods = entry_mods_build(old, map, map_user_owned, (void *)source);
	if (mods == NULL)
		goto oom;
	srcs = json_object_get(old, "rbsource");
	for (i = 0; i < json_array_size(srcs); i++)
		if (!strcasecmp(json_string_value(json_array_get(srcs, i)), source))
			held = true;
	if (!held) {
		json_t *v = json_pack("[s]", source);
		mods = entry_mods_append(mods, LDAP_MOD_ADD, "rbSource", v);
		json_decref(v);
		if (mods == NULL)
			goto oom;
	}
	if (entry_mods_count(mods) == 0 && rdn == NULL) {
		if (dir_check_version(old, if_match, err) == 0)
			out = users_one(op, old, err);
		goto done;
	}
	if (entry_mods_count(mods) == 0) {
		/* Renamed only: read the entry back. */
		char *base = dir_ou_dn(op, "people");
		json_t *again = base ? dir_find_by_id(op, base, USER_OBJFILTER,
		                                      entry_map_first(old, "entryuuid"), user_attrs, err)
		                     : NULL;
		free(base);
		if (again != NULL)
			out = users_one(op, again, err);
		json_decref(again);
		goto done;
	}
	after = dir_write(op, false, dn, mods, if_match, user_attrs, err);
	if (after != NULL)
		out = users_one(op, after, err);
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	free(mgr_dn);
	free(dn);
	free(rdn);
	return out;
}

json_t *
dir_user_replace(const struct dir_ctx *ctx, const char *id, const json_t *user,
                 const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old = NULL, *out = NULL;
	char *base;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, "people");
	old = base ? dir_find_by_id(&op, base, USER_OBJFILTER, id, user_attrs, err) : NULL;
	if (old != NULL)
		out = users_write(&op, old, user, if_match, err);
	json_decref(old);
	free(base);
	dir_op_end(&op);
	return out;
}

json_t *
dir_user_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
               const char *if_match, struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	struct patch_result pr;
	struct dir_op op;
	json_t *old = NULL, *cur = NULL, *out = NULL;
	char *base;
	int rc;

	memset(&pr, 0, sizeof(pr));
	TAILQ_INIT(&pr.changes);
	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, "people");
	old = base ? dir_find_by_id(&op, base, USER_OBJFILTER, id, user_attrs, err) : NULL;
	if (old == NULL)
		goto done;
	cur = users_one(&op, old, err);
	if (cur == NULL)
		goto done;
	rc = patch_apply(rt, cur, patch_body, NULL, &pr, err);
	if (rc != PATCH_OK) {
		if (rc == PATCH_NEED_LOAD)
			error_set(err, 500, NULL, "internal: PATCH asked for a load on a user");
		goto done;
	}
	if (!pr.changed) {
		if (dir_check_version(old, if_match, err) == 0)
			out = json_incref(cur);
		goto done;
	}
	out = users_write(&op, old, pr.resource, if_match, err);
done:
	patch_result_clear(&pr);
	json_decref(old);
	json_decref(cur);
	free(base);
	dir_op_end(&op);
	return out;
}

int
dir_user_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                struct rb_error *err)
{
	const char *source = ctx->source;
	struct dir_op op;
	json_t *old = NULL, *srcs, *after = NULL;
	LDAPMod **mods = NULL;
	const char *desc;
	json_t *vals;
	char *base;
	size_t i, others = 0;
	bool held = false;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	base = dir_ou_dn(&op, "people");
	old = base ? dir_find_by_id(&op, base, USER_OBJFILTER, id, user_attrs, err) : NULL;
	if (old == NULL)
		goto done;
	srcs = json_object_get(old, "rbsource");
	for (i = 0; i < json_array_size(srcs); i++) {
		if (!strcasecmp(json_string_value(json_array_get(srcs, i)), source))
			held = true;
		else
			others++;
	}
	if (others == 0) {
		rc = dir_delete_dn(&op, entry_map_first(old, "dn"), if_match, err);
		goto done;
	}
	/* Other sources still hold the person: release ours only. */
	mods = calloc(1, sizeof(*mods));
	if (held && mods != NULL) {
		json_t *v = json_pack("[s]", source);
		mods = entry_mods_append(mods, LDAP_MOD_DELETE, "rbSource", v);
		json_decref(v);
	}
	json_object_foreach(old, desc, vals) {
		char opt[128];
		if (mods != NULL && entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) &&
		    !strcmp(opt, source))
			mods = entry_mods_append(mods, LDAP_MOD_REPLACE, desc, NULL);
	}
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (entry_mods_count(mods) == 0) {
		rc = 0;
		goto done;
	}
	after = dir_write(&op, false, entry_map_first(old, "dn"), mods, if_match, user_attrs, err);
	rc = after ? 0 : -1;
done:
	entry_mods_free(mods);
	json_decref(old);
	json_decref(after);
	free(base);
	dir_op_end(&op);
	return rc;
}

json_t *
dir_user_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                struct rb_error *err)
{
	struct dir_type t = users_type();
	struct dir_op op;
	json_t *out;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	out = dir_page_search(&op, &t, q, total, err);
	dir_op_end(&op);
	return out;
}
