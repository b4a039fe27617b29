/*
 * groups.c — /Groups on the directory.
 *
 * Behaviour
 *   - DN cn=<displayName>,ou=groups,o=<tenant>, structural rbGroup whose
 *     `member` is optional: groups may be empty (Entra creates them
 *     empty). displayName is unique per tenant (the RDN): 409 uniqueness.
 *   - members[].value is the member's entryUUID; `member` holds its DN.
 *     memberOf on people is kept by slapd's memberof overlay, which also
 *     drops a deleted person from every group.
 *   - A PATCH never reads the member list unless an operation needs it
 *     (e.g. `members[display eq …]`): adds and removes become single-value
 *     LDAP modifications with Permissive Modify, so adding a present member
 *     or removing an absent one is not an error, and a 50,000-member group
 *     costs what a 10-member group costs.
 *   - The admin group extension (a role group's grant) is stored on the
 *     group, untagged: the group belongs to the source that created it
 *     (rbSource, one value). Only that source may PUT, PATCH (members
 *     included) or DELETE it (access.c): another's write is 403.
 *   - Member removal is idempotent: ids that name nobody are skipped, the
 *     others removed; removing a non-member is no error.
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

#define GROUP_OBJFILTER "(objectClass=rbGroup)"

static char *group_attrs[] = {
    "cn",      "displayName", "rbExternalId", "rbSource",      "rbPermission", "rbCanManageAdmins",
    "rbScope", "rbSchoolRef", "rbRegionRef",  DIR_OPERATIONAL, NULL,
};

#define ADMG SCHEMA_ADMIN_GROUP ":"
static const struct query_attr group_query[] = {
    {"displayName", "displayName", 0, "displayName:caseIgnoreOrderingMatch"},
    {"id", "entryUUID", QUERY_NOSUBSTR, "entryUUID"},
    {"externalId", "rbExternalId", QUERY_SOURCED, NULL},
    {ADMG "permission", "rbPermission", 0, NULL},
    {ADMG "scope", "rbScope", 0, NULL},
    {ADMG "region", "rbRegionRef", 0, NULL},
    {NULL, NULL, 0, NULL},
};

/* Admin group extension ⇄ LDAP (untagged). */
static const struct {
	const char *scim;
	const char *ldap;
	bool boolean;
	bool multi;
} group_admin[] = {
    {"permission", "rbpermission", false, false},
    {"canManageAdmins", "rbcanmanageadmins", true, false},
    {"scope", "rbscope", false, false},
    {"schools", "rbschoolref", false, true},
    {"region", "rbregionref", false, false},
};

static bool
groups_owned(const char *desc, void *arg)
{
	const char *source = arg;
	size_t base = entry_desc_base_len(desc), i;
	char opt[128];

	if ((base == 11 && !strncmp(desc, "displayname", 11)))
		return true;
	for (i = 0; i < sizeof(group_admin) / sizeof(group_admin[0]); i++)
		if (!strcmp(desc, group_admin[i].ldap))
			return true;
	return base == 12 && !strncmp(desc, "rbexternalid", 12) &&
	       entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) && !strcmp(opt, source);
}

/* The attribute map of a group (members excluded). NEW, or NULL + err. */
static json_t *
groups_to_ldap(const json_t *group, const char *source, struct rb_error *err)
{
	const json_t *admin = json_object_get(group, SCHEMA_ADMIN_GROUP), *v, *e;
	const char *name = json_string_value(json_object_get(group, "displayName"));
	json_t *map = json_object();
	char desc[160];
	size_t i, j;

	if (map == NULL || name == NULL || *name == '\0') {
		json_decref(map);
		error_set(err, 400, SCIM_INVALID_VALUE, "displayName is required");
		return NULL;
	}
	entry_map_add(map, "objectclass", "rbGroup");
	entry_map_add(map, "cn", name);
	entry_map_add(map, "displayname", name);
	v = json_object_get(group, "externalId");
	if (json_string_length(v) > 0) {
		snprintf(desc, sizeof(desc), "rbexternalid;x-src-%s", source);
		entry_map_add(map, desc, json_string_value(v));
	}
	for (i = 0; i < sizeof(group_admin) / sizeof(group_admin[0]); i++) {
		v = json_object_get(admin, group_admin[i].scim);
		if (v == NULL || json_is_null(v))
			continue;
		if (group_admin[i].boolean)
			entry_map_add(map, group_admin[i].ldap, json_is_true(v) ? "TRUE" : "FALSE");
		else if (json_is_array(v)) {
			json_array_foreach(v, j, e) if (json_is_string(e))
			    entry_map_add(map, group_admin[i].ldap, json_string_value(e));
		} else if (json_is_string(v))
			entry_map_add(map, group_admin[i].ldap, json_string_value(v));
	}
	return map;
}

/* The members of group `dn` as SCIM members (NEW array), in one search. */
static json_t *
groups_members(struct dir_op *op, const char *dn, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", "displayName", "cn", "objectClass", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = escape_filter_value(dn, strlen(dn)), *filter = NULL;
	json_t *arr = NULL;
	size_t n;

	if (esc == NULL)
		goto oom;
	n = strlen(esc) + 32;
	filter = malloc(n);
	if (filter == NULL)
		goto oom;
	snprintf(filter, n, "(memberOf=%s)", esc);
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res, err) <
	    0)
		goto done;
	arr = json_array();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e), *oc = json_object_get(m, "objectclass");
		const char *id = entry_map_first(m, "entryuuid");
		const char *display = entry_map_first(m, "displayname");
		bool is_group = false;
		size_t i;
		char ref[700];
		for (i = 0; i < json_array_size(oc); i++)
			if (!strcasecmp(json_string_value(json_array_get(oc, i)), "rbGroup"))
				is_group = true;
		snprintf(ref, sizeof(ref), "%s/%s/%s", op->ctx->base_url,
		         is_group ? "Groups" : "Users", id ? id : "");
		if (id != NULL)
			json_array_append_new(
			    arr, json_pack("{s:s, s:s, s:s?, s:s}", "value", id, "$ref", ref,
			                   "display", display ? display : entry_map_first(m, "cn"),
			                   "type", is_group ? "Group" : "User"));
		json_decref(m);
	}
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	ldap_msgfree(res);
	free(esc);
	free(filter);
	return arr;
}

/*
 * DNs of the members named in `members` (array of {value}), in one search.
 * NEW array or NULL with *err. `of_group` (a removal: the group's DN) keeps
 * only the current members of that group, and skips ids that are not
 * UUIDs or name nobody, so removing them is a no-op (slapd 2.5 answers
 * noSuchAttribute for an absent value of the sorted `member`, Permissive
 * Modify or not). Without it (an add, a replace) each id must name a user
 * or group of the tenant: 400 invalidValue otherwise.
 */
static json_t *
groups_member_dns(struct dir_op *op, const json_t *members, const char *of_group,
                  struct rb_error *err)
{
	bool lenient = of_group != NULL;
	char *gesc = NULL;
	static char *attrs[] = {"entryUUID", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *want = json_object(), *dns = NULL, *m;
	char *filter = NULL;
	size_t i, cap = 16, len;
	const char *id;

	json_array_foreach(members, i, m)
	{
		id = json_string_value(json_object_get(m, "value"));
		if (id == NULL && json_is_string(m))
			id = json_string_value(m);
		if ((id == NULL || !dir_id_valid(id)) && lenient)
			continue;
		if (id == NULL || !dir_id_valid(id)) {
			error_set(err, 400, SCIM_INVALID_VALUE,
			          "members: \"%s\" is not a resource id", id ? id : "(no value)");
			goto done;
		}
		json_object_set_new(want, id, json_null());
	}
	dns = json_array();
	if (json_object_size(want) == 0)
		goto done;
	cap += json_object_size(want) * 52;
	if (lenient && (gesc = escape_filter_value(of_group, strlen(of_group))) != NULL)
		cap += strlen(gesc) + 16;
	filter = malloc(cap);
	if (filter == NULL || (lenient && gesc == NULL)) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	len = (size_t)(lenient ? snprintf(filter, cap, "(&(memberOf=%s)(|", gesc)
	                       : snprintf(filter, cap, "(|"));
	json_object_foreach(want, id, m)
	    /* ids are validated UUIDs: nothing to escape */
	    len += (size_t)snprintf(filter + len, cap - len, "(entryUUID=%s)", id);
	snprintf(filter + len, cap - len, lenient ? "))" : ")");
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res, err) <
	    0)
		goto fail;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *em = entry_to_map(op->conn->ld, e);
		const char *uuid = entry_map_first(em, "entryuuid");
		const char *k;
		json_t *v;
		json_object_foreach(want, k, v) if (uuid && !strcasecmp(k, uuid))
		    json_object_set_new(want, k, json_string(entry_map_first(em, "dn")));
		json_decref(em);
	}
	json_object_foreach(want, id, m)
	{
		if (!json_is_string(m) && lenient)
			continue; /* names nobody: nothing to remove */
		if (!json_is_string(m)) {
			error_set(err, 400, SCIM_INVALID_VALUE,
			          "members: no user or group with id %s", id);
			goto fail;
		}
		json_array_append(dns, m);
	}
	goto done;
fail:
	json_decref(dns);
	dns = NULL;
done:
	ldap_msgfree(res);
	free(filter);
	free(gesc);
	json_decref(want);
	return dns;
}

static json_t *
groups_to_json(struct dir_op *op, const json_t *maps, bool want_members, struct rb_error *err)
{
	json_t *out = json_array(), *map;
	char location[600], desc[160];
	size_t i, j;

	snprintf(location, sizeof(location), "%s/Groups", op->ctx->base_url);
	snprintf(desc, sizeof(desc), "rbexternalid;x-src-%s", op->ctx->source);
	json_array_foreach(maps, i, map)
	{
		struct map_meta meta;
		json_t *g, *admin = json_object();
		const char *s;
		dir_meta_from_map(map, location, &meta);
		g = json_pack("{s:[s], s:s}", "schemas", SCHEMA_CORE_GROUP, "id",
		              meta.id ? meta.id : "");
		if ((s = entry_map_first(map, desc)) != NULL)
			json_object_set_new(g, "externalId", json_string(s));
		s = entry_map_first(map, "displayname");
		json_object_set_new(g, "displayName",
		                    json_string(s ? s : entry_map_first(map, "cn")));
		if (want_members) {
			json_t *members = groups_members(op, entry_map_first(map, "dn"), err);
			if (members == NULL) {
				json_decref(g);
				json_decref(admin);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(g, "members", members);
		}
		for (j = 0; j < sizeof(group_admin) / sizeof(group_admin[0]); j++) {
			json_t *vals = json_object_get(map, group_admin[j].ldap);
			if (json_array_size(vals) == 0)
				continue;
			if (group_admin[j].multi)
				json_object_set(admin, group_admin[j].scim, vals);
			else if (group_admin[j].boolean)
				json_object_set_new(
				    admin, group_admin[j].scim,
				    json_boolean(!strcasecmp(
				        json_string_value(json_array_get(vals, 0)), "TRUE")));
			else
				json_object_set(admin, group_admin[j].scim,
				                json_array_get(vals, 0));
		}
		if (json_object_size(admin) > 0) {
			json_array_append_new(json_object_get(g, "schemas"),
			                      json_string(SCHEMA_ADMIN_GROUP));
			json_object_set(g, SCHEMA_ADMIN_GROUP, admin);
		}
		json_decref(admin);
		json_object_set_new(g, "meta", map_meta_json("Group", &meta));
		json_array_append_new(out, g);
	}
	return out;
}

static json_t *
groups_one(struct dir_op *op, const json_t *map, bool want_members, struct rb_error *err)
{
	return dir_convert_one(op, groups_to_json, map, want_members, err);
}

static json_t *
groups_find(struct dir_op *op, const char *id, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "groups");
	json_t *map;

	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	map = dir_find_by_id(op, base, GROUP_OBJFILTER, id, group_attrs, err);
	free(base);
	return map;
}

/* ---- role groups: members hold the group's grant (grants.h) ---- */

/* Is the group (an entry map) a role group? */
static bool
groups_is_role(const json_t *map)
{
	return map != NULL && entry_map_first(map, "rbpermission") != NULL;
}

/* Did the grant a group confers change between two entry maps? */
static bool
groups_grant_changed(const json_t *a, const json_t *b)
{
	static const char *const descs[] = {
	    "rbpermission", "rbscope",           "rbschoolref", "rbregionref",
	    "rbactive",     "rbcanmanageadmins", NULL};
	size_t i;

	for (i = 0; descs[i] != NULL; i++) {
		json_t *va = json_object_get(a, descs[i]), *vb = json_object_get(b, descs[i]);
		if (!json_equal(va ? va : json_null(), vb ? vb : json_null()))
			return true;
	}
	return false;
}

/* Add the DNs of the current members of group `dn` to the set `dns` (one search). */
static int
groups_member_dn_set(struct dir_op *op, const char *dn, json_t *dns, struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = escape_filter_value(dn, strlen(dn)), *filter = NULL;
	size_t n;
	int rc = -1;

	if (esc == NULL || (filter = malloc((n = strlen(esc) + 32))) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, n, "(memberOf=%s)", esc);
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res, err) <
	    0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		char *mdn = ldap_get_dn(op->conn->ld, e);
		if (mdn != NULL)
			json_object_set_new(dns, mdn, json_true());
		ldap_memfree(mdn);
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(esc);
	free(filter);
	return rc;
}

/* Add the member DNs named in LDAP modifications to the set `dns`. */
static void
groups_mod_dn_set(LDAPMod **mods, json_t *dns)
{
	size_t i, j;

	for (i = 0; mods != NULL && mods[i] != NULL; i++)
		for (j = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[j]; j++)
			json_object_set_new(dns, mods[i]->mod_bvalues[j]->bv_val, json_true());
}

/* Recompute the access summary of every person in the set `dns`. */
static int
groups_refresh(struct dir_op *op, const json_t *dns, struct rb_error *err)
{
	const char *dn;
	json_t *v;

	json_object_foreach((json_t *)dns, dn, v)
	{
		if (dir_user_refresh_access(op, dn, err) < 0)
			return -1;
	}
	return 0;
}

json_t *
dir_group_get(const struct dir_ctx *ctx, const char *id, bool want_members, struct rb_error *err)
{
	struct dir_op op;
	json_t *map, *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = groups_find(&op, id, err);
	if (map != NULL)
		out = groups_one(&op, map, want_members, err);
	json_decref(map);
	dir_op_end(&op);
	return out;
}

json_t *
dir_group_create(const struct dir_ctx *ctx, const json_t *group, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL, *dns = NULL, *after = NULL, *out = NULL;
	char *base = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = groups_to_ldap(group, ctx->source, err);
	if (map == NULL)
		goto done;
	dns = groups_member_dns(&op, json_object_get(group, "members"), NULL, err);
	if (dns == NULL)
		goto done;
	if (json_array_size(dns) > 0)
		json_object_set(map, "member", dns);
	entry_map_add(map, "rbsource", ctx->source);
	base = dir_ou_dn(&op, "groups");
	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after =
	    dir_add_entry(&op, base, "cn", "displayName", map, group_attrs, "a group named", err);
	if (after == NULL)
		goto done;
	if (groups_is_role(after) && json_array_size(dns) > 0) {
		json_t *set = json_object();
		size_t i;
		for (i = 0; i < json_array_size(dns); i++)
			json_object_set_new(set, json_string_value(json_array_get(dns, i)),
			                    json_true());
		if (groups_refresh(&op, set, err) < 0) {
			json_decref(set);
			goto done;
		}
		json_decref(set);
	}
	out = groups_one(&op, after, true, err);
done:
	json_decref(map);
	json_decref(dns);
	json_decref(after);
	free(base);
	dir_op_end(&op);
	return out;
}

/*
 * Write the group's own attributes from `group` over `old`, rename if
 * displayName changed, then apply member changes (`member_mods`, may be
 * NULL). Returns the NEW map after the write (or a copy of old).
 */
static json_t *
groups_write(struct dir_op *op, const json_t *old, const json_t *group, LDAPMod **member_mods,
             const char *if_match, struct rb_error *err)
{
	json_t *map = groups_to_ldap(group, op->ctx->source, err), *after = NULL;
	const char *source = op->ctx->source;
	char *dn = NULL, *rdn = NULL;
	LDAPMod **mods = NULL;
	size_t i;

	if (map == NULL)
		return NULL;
	dn = strdup(entry_map_first(old, "dn"));
	if (dn == NULL)
		goto oom;
	if (strcmp(entry_map_first(old, "cn"), entry_map_first(map, "cn")) != 0) {
		char *newdn;
		rdn = dir_rdn("cn", entry_map_first(map, "cn"), "displayName", err);
		if (rdn == NULL)
			goto done;
		newdn = dir_rename(op, dn, rdn, if_match, err);
		if (newdn == NULL)
			goto done;
		free(dn);
		dn = newdn;
		if_match = NULL;
	}
	json_object_del(map, "cn");
	json_object_del(map, "objectclass");
	/* Only the owner writes (access_check_owner): rbSource stays its one value. */
	mods = entry_mods_build(old, map, groups_owned, (void *)source);
	for (i = 0; mods != NULL && member_mods != NULL && member_mods[i] != NULL; i++) {
		json_t *vals = json_array();
		size_t j;
		for (j = 0; member_mods[i]->mod_bvalues && member_mods[i]->mod_bvalues[j]; j++)
			json_array_append_new(vals,
			                      json_string(member_mods[i]->mod_bvalues[j]->bv_val));
		mods = entry_mods_append(mods, member_mods[i]->mod_op & ~LDAP_MOD_BVALUES, "member",
		                         json_array_size(vals) ? vals : NULL);
		json_decref(vals);
	}
	if (mods == NULL)
		goto oom;
	if (entry_mods_count(mods) == 0) {
		if (rdn != NULL) {
			char *base = dir_ou_dn(op, "groups");
			after = base ? dir_find_by_id(op, base, GROUP_OBJFILTER,
			                              entry_map_first(old, "entryuuid"),
			                              group_attrs, err)
			             : NULL;
			free(base);
		} else if (dir_check_version(old, if_match, err) == 0) {
			after = json_deep_copy(old);
		}
		goto done;
	}
	op->permissive = true;
	after = dir_write(op, false, dn, mods, if_match, group_attrs, err);
	op->permissive = false;
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	entry_mods_free(mods);
	json_decref(map);
	free(dn);
	free(rdn);
	return after;
}

json_t *
dir_group_replace(const struct dir_ctx *ctx, const char *id, const json_t *group,
                  const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old = NULL, *dns = NULL, *after = NULL, *out = NULL;
	LDAPMod **mm = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	old = groups_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "group", err) < 0)
		goto done;
	dns = groups_member_dns(&op, json_object_get(group, "members"), NULL, err);
	if (dns == NULL)
		goto done;
	/* PUT replaces the member list wholesale. */
	mm = entry_mods_append(NULL, LDAP_MOD_REPLACE, "member", json_array_size(dns) ? dns : NULL);
	if (mm == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	{
		json_t *set = json_object();
		bool role = groups_is_role(old);
		if (role && groups_member_dn_set(&op, entry_map_first(old, "dn"), set, err) < 0) {
			json_decref(set);
			goto done;
		}
		after = groups_write(&op, old, group, mm, if_match, err);
		if (after != NULL && (role || groups_is_role(after))) {
			groups_mod_dn_set(mm, set);
			if (groups_refresh(&op, set, err) < 0) {
				json_decref(set);
				goto done;
			}
		}
		json_decref(set);
	}
	if (after != NULL)
		out = groups_one(&op, after, true, err);
done:
	entry_mods_free(mm);
	json_decref(old);
	json_decref(dns);
	json_decref(after);
	dir_op_end(&op);
	return out;
}

json_t *
dir_group_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                const char *if_match, bool want_result, struct rb_error *err)
{
	static const char *const deferred[] = {"members", NULL};
	const struct resource_type_def *rt = schema_resource_type("Group");
	const struct patch_change *ch;
	struct patch_result pr;
	struct dir_op op;
	json_t *old = NULL, *cur = NULL, *after = NULL, *out = NULL, *dns = NULL;
	LDAPMod **mm = NULL;
	int rc;

	memset(&pr, 0, sizeof(pr));
	TAILQ_INIT(&pr.changes);
	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	old = groups_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "group", err) < 0)
		goto done;
	cur = groups_one(&op, old, false, err);
	if (cur == NULL)
		goto done;
	rc = patch_apply(rt, cur, patch_body, deferred, ctx->input, &pr, err);
	if (rc == PATCH_NEED_LOAD) {
		/* An operation needs the current members: load them once. */
		json_decref(cur);
		cur = groups_one(&op, old, true, err);
		if (cur == NULL)
			goto done;
		rc = patch_apply(rt, cur, patch_body, NULL, ctx->input, &pr, err);
	}
	if (rc != PATCH_OK)
		goto done;
	if (!pr.changed) {
		if (dir_check_version(old, if_match, err) < 0)
			goto done;
		after = json_incref(old);
		goto answer;
	}
	mm = calloc(1, sizeof(*mm));
	ch = patch_change_find(rt, &pr, "members");
	if (mm != NULL && ch != NULL) {
		if (ch->kind == PATCH_CHANGE_REPLACED) {
			dns = groups_member_dns(&op, ch->value, NULL, err);
			if (dns == NULL)
				goto done;
			mm = entry_mods_append(mm, LDAP_MOD_REPLACE, "member",
			                       json_array_size(dns) ? dns : NULL);
		} else {
			if (json_array_size(ch->removed) > 0) {
				/* Idempotent: ids naming nobody are skipped, the rest removed;
				 * removing a non-member is no error (Permissive Modify). */
				dns = groups_member_dns(&op, ch->removed,
				                        entry_map_first(old, "dn"), err);
				if (dns == NULL)
					goto done;
				if (json_array_size(dns) > 0)
					mm = entry_mods_append(mm, LDAP_MOD_DELETE, "member", dns);
				json_decref(dns);
				dns = NULL;
			}
			if (mm != NULL && json_array_size(ch->added) > 0) {
				dns = groups_member_dns(&op, ch->added, NULL, err);
				if (dns == NULL)
					goto done;
				mm = entry_mods_append(mm, LDAP_MOD_ADD, "member", dns);
			}
		}
	}
	if (mm == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = groups_write(&op, old, pr.resource, mm, if_match, err);
	if (after == NULL)
		goto done;
	if (groups_is_role(old) || groups_is_role(after)) {
		/* Members gained or lost the group's grant: only those, unless the grant changed.
		 */
		json_t *set = json_object();
		int rrc = 0;
		groups_mod_dn_set(mm, set);
		if (groups_grant_changed(old, after))
			rrc = groups_member_dn_set(&op, entry_map_first(after, "dn"), set, err);
		if (rrc == 0)
			rrc = groups_refresh(&op, set, err);
		json_decref(set);
		if (rrc < 0)
			goto done;
	}
answer:
	if (want_result)
		out = groups_one(&op, after, true, err);
done:
	entry_mods_free(mm);
	patch_result_clear(&pr);
	json_decref(old);
	json_decref(cur);
	json_decref(after);
	json_decref(dns);
	dir_op_end(&op);
	return out;
}

int
dir_group_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                 struct rb_error *err)
{
	struct dir_op op;
	json_t *old;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	old = groups_find(&op, id, err);
	if (old != NULL && access_check_owner(&op, old, "group", err) < 0) {
		json_decref(old);
		old = NULL;
	}
	if (old != NULL) {
		json_t *set = json_object();
		if (!groups_is_role(old) ||
		    groups_member_dn_set(&op, entry_map_first(old, "dn"), set, err) == 0) {
			rc = dir_delete_dn(&op, entry_map_first(old, "dn"), if_match, err);
			if (rc == 0 && groups_is_role(old))
				rc = groups_refresh(&op, set, err);
		}
		json_decref(set);
	}
	json_decref(old);
	dir_op_end(&op);
	return rc;
}

json_t *
dir_group_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                 struct rb_error *err)
{
	struct dir_type t = {
	    .rt = schema_resource_type("Group"),
	    .ou = "groups",
	    .objfilter = GROUP_OBJFILTER,
	    .table = group_query,
	    .attrs = group_attrs,
	    .to_json = groups_to_json,
	};
	struct dir_op op;
	json_t *out;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	out = dir_page_search(&op, &t, q, total, err);
	dir_op_end(&op);
	return out;
}
