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

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/query.h"
#include "engine/patch.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define GROUP_OBJFILTER DIR_CLASS("rbGroup")

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
 * Is `dn` a value of the group `group`'s `member` now? Asked of the group
 * itself (a base search: slapd finds the value in the sorted set), not of
 * the person's memberOf, which memberof writes after the group's own
 * change: in between, a removal that believed memberOf would delete an
 * absent value (noSuchAttribute) or skip a present one. 1, 0, -1 with *err.
 */
static int
groups_has_member(struct dir_op *op, const char *group, const char *dn, struct rb_error *err)
{
	static char *none[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	struct strbuf f = {0};
	char *esc = escape_filter_value(dn, strlen(dn));
	int rc = -1;

	strbuf_add(&f, "(member=");
	strbuf_add(&f, esc ? esc : "");
	strbuf_add(&f, ")");
	if (esc == NULL || f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, group, LDAP_SCOPE_BASE, f.s, none, NULL, 1, &res, err) < 0)
		goto done;
	rc = res != NULL && ldap_first_entry(op->conn->ld, res) != NULL;
done:
	ldap_msgfree(res);
	free(esc);
	free(f.s);
	return rc;
}

/*
 * DNs of the members named in `members` (array of {value}), in one search
 * per 100. NEW array or NULL with *err. `of_group` (a removal: the group's
 * DN) keeps only the current members of that group (groups_has_member),
 * and skips ids that are not UUIDs or name nobody, so removing them is a
 * no-op (slapd 2.5 answers noSuchAttribute for an absent value of the
 * sorted `member`, Permissive Modify or not). Without it (an add, a
 * replace) each id must name a user or group of the tenant: 400
 * invalidValue otherwise.
 */
static json_t *
groups_member_dns(struct dir_op *op, const json_t *members, const char *of_group,
                  struct rb_error *err)
{
	/* Terms per search: slapd tests each candidate against the whole OR, so one
	 * search of n terms costs n² comparisons (a 1,500-member PUT took seconds). */
	enum { CHUNK = 100 };
	static char *attrs[] = {"entryUUID", NULL};
	bool lenient = of_group != NULL;
	char *filter = NULL;
	json_t *want = json_object(), *dns = NULL, *m;
	size_t i, cap, len, n;
	const char *id;
	void *it;

	json_array_foreach(members, i, m)
	{
		char lower[40];
		size_t k;
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
		for (k = 0; id[k] && k + 1 < sizeof(lower); k++)
			lower[k] = (char)tolower((unsigned char)id[k]);
		lower[k] = '\0'; /* entryUUIDs come back in lower case */
		json_object_set_new(want, lower, json_null());
	}
	dns = json_array();
	if (json_object_size(want) == 0)
		goto done;
	cap = 64 + CHUNK * 52;
	filter = malloc(cap);
	if (filter == NULL)
		goto oom;
	it = json_object_iter(want);
	while (it != NULL) {
		LDAPMessage *res = NULL, *e;
		/* An add never names a retained person (retain.c: invisible). */
		len = (size_t)(lenient ? snprintf(filter, cap, "(|")
		                       : snprintf(filter, cap, "(&(!(rbDisabledAt=*))(|"));
		/* ids are validated UUIDs: nothing to escape */
		for (n = 0; it != NULL && n < CHUNK; n++, it = json_object_iter_next(want, it))
			len += (size_t)snprintf(filter + len, cap - len, "(entryUUID=%s)",
			                        json_object_iter_key(it));
		snprintf(filter + len, cap - len, lenient ? ")" : "))");
		if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res,
		               err) < 0)
			goto fail;
		for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
		     e = ldap_next_entry(op->conn->ld, e)) {
			json_t *em = entry_to_map(op->conn->ld, e);
			const char *uuid = entry_map_first(em, "entryuuid");
			if (uuid != NULL && json_object_get(want, uuid) != NULL)
				json_object_set_new(want, uuid,
				                    json_string(entry_map_first(em, "dn")));
			json_decref(em);
		}
		ldap_msgfree(res);
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
		if (lenient) {
			int has = groups_has_member(op, of_group, json_string_value(m), err);
			if (has < 0)
				goto fail;
			if (has == 0)
				continue; /* not a member: nothing to remove */
		}
		json_array_append(dns, m);
	}
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
fail:
	json_decref(dns);
	dns = NULL;
done:
	free(filter);
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

/*
 * After a role group's write landed: refresh the derived values of the
 * people in `set`, then drop the pending entry. A failure part way is
 * logged, not answered: the write the client asked for has landed, and the
 * pending entry stays for the repair (access.c), which finishes the job.
 */
static void
groups_refresh_members(struct dir_op *op, const json_t *set, char *pending)
{
	struct rb_error err;

	error_clear(&err);
	json_decref(op->groups); /* the group just changed: read it afresh */
	op->groups = NULL;
	if (access_refresh_set(op, set, &err) < 0) {
		log_warnx("role group members' access left to the repair (%s)", err.detail);
		free(pending);
		return;
	}
	access_pending_end(op, pending);
}

json_t *
dir_group_create(const struct dir_ctx *ctx, const json_t *group, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL, *dns = NULL, *after = NULL, *out = NULL;
	char *base = NULL, *rdn = NULL, *dn = NULL, *pending = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = groups_to_ldap(group, ctx->source, err);
	if (map == NULL || access_group_grant_prepare(&op, map, err) < 0)
		goto done;
	dns = groups_member_dns(&op, json_object_get(group, "members"), NULL, err);
	if (dns == NULL)
		goto done;
	if (json_array_size(dns) > 0)
		json_object_set(map, "member", dns);
	entry_map_add(map, "rbsource", ctx->source);
	base = dir_ou_dn(&op, "groups");
	rdn = dir_rdn("cn", entry_map_first(map, "cn"), "displayName", err);
	if (rdn == NULL)
		goto done;
	dn = base ? escape_dn_join(rdn, base) : NULL;
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (json_array_size(dns) > 0 &&
	    (pending = access_pending_begin(&op, NULL, map, dn, err)) == NULL && error_is_set(err))
		goto done;
	after =
	    dir_add_entry(&op, base, "cn", "displayName", map, group_attrs, "a group named", err);
	if (after == NULL) {
		access_pending_end(&op, pending);
		goto done;
	}
	if (access_group_is_role(after) && json_array_size(dns) > 0) {
		json_t *set = json_object();
		size_t i;
		for (i = 0; i < json_array_size(dns); i++)
			json_object_set_new(set, json_string_value(json_array_get(dns, i)),
			                    json_true());
		groups_refresh_members(&op, set, pending);
		json_decref(set);
	} else {
		access_pending_end(&op, pending);
	}
	out = groups_one(&op, after, true, err);
done:
	json_decref(map);
	json_decref(dns);
	json_decref(after);
	free(base);
	free(rdn);
	free(dn);
	dir_op_end(&op);
	return out;
}

/*
 * Write the group's own attributes from `group` over `old`, rename if
 * displayName changed, and apply member changes (`member_mods`, may be
 * NULL): one dir_rename_modify. A write that may change someone's access
 * (a role group before or after) is preceded by a pending entry, returned
 * in *pending (NEW, or NULL) for groups_refresh_members. Returns the NEW
 * map after the write (or a copy of old when nothing changed).
 */
static json_t *
groups_write(struct dir_op *op, const json_t *old, const json_t *group, LDAPMod **member_mods,
             const char *if_match, char **pending, struct rb_error *err)
{
	json_t *map = groups_to_ldap(group, op->ctx->source, err), *after = NULL;
	const char *source = op->ctx->source, *dn = entry_map_first(old, "dn");
	char *rdn = NULL, *parent = NULL, *newdn = NULL;
	LDAPMod **mods = NULL;
	size_t i;

	*pending = NULL;
	if (map == NULL)
		return NULL;
	if (access_group_grant_prepare(op, map, err) < 0) {
		json_decref(map);
		return NULL;
	}
	if (strcmp(entry_map_first(old, "cn"), entry_map_first(map, "cn")) != 0) {
		rdn = dir_rdn("cn", entry_map_first(map, "cn"), "displayName", err);
		if (rdn == NULL)
			goto done;
		parent = dir_parent_dn(dn);
		newdn = parent ? escape_dn_join(rdn, parent) : NULL;
		if (newdn == NULL)
			goto oom;
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
	if (entry_mods_count(mods) == 0 && rdn == NULL) {
		if (dir_check_version(old, if_match, err) == 0)
			after = json_deep_copy(old);
		goto done;
	}
	/* Who may need a refresh, recorded before the write (crash safety). */
	{
		json_t *next = json_deep_copy(old);
		const char *desc;
		json_t *vals;
		void *tmp;
		if (next == NULL)
			goto oom;
		json_object_foreach_safe(next, tmp, desc, vals)
		{
			if (groups_owned(desc, (void *)source))
				json_object_del(next, desc);
		}
		json_object_update(next, map);
		*pending = access_pending_begin(op, old, next, newdn, err);
		json_decref(next);
		if (*pending == NULL && error_is_set(err))
			goto done;
	}
	op->permissive = true;
	after = dir_rename_modify(op, dn, rdn, mods, if_match, group_attrs, err);
	op->permissive = false;
	if (after == NULL) {
		int rc = op->last_rc; /* the write's, for the caller (dir_group_patch retries) */
		access_pending_end(op, *pending); /* nothing was written */
		*pending = NULL;
		op->last_rc = rc;
	}
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	entry_mods_free(mods);
	json_decref(map);
	free(rdn);
	free(parent);
	free(newdn);
	return after;
}

json_t *
dir_group_replace(const struct dir_ctx *ctx, const char *id, const json_t *group,
                  const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old = NULL, *dns = NULL, *after = NULL, *out = NULL, *set = NULL;
	LDAPMod **mm = NULL;
	char *pending = NULL;

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
	set = json_object();
	if (mm == NULL || set == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* Members before the write: those leaving lose the grant. */
	if (access_group_is_role(old) &&
	    access_member_set(&op, entry_map_first(old, "dn"), set, err) < 0)
		goto done;
	after = groups_write(&op, old, group, mm, if_match, &pending, err);
	if (after == NULL)
		goto done;
	if (pending != NULL) {
		access_mods_dn_set(mm, set);
		groups_refresh_members(&op, set, pending);
	}
	out = groups_one(&op, after, true, err);
done:
	entry_mods_free(mm);
	json_decref(old);
	json_decref(dns);
	json_decref(after);
	json_decref(set);
	dir_op_end(&op);
	return out;
}

/*
 * One PATCH attempt. *conflict is set when slapd refused a member removal
 * because another writer removed the member since our read (noSuchAttribute
 * on the sorted `member`): the caller tries again from a fresh read.
 */
static json_t *
groups_patch_once(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                  const char *if_match, bool want_result, bool *conflict, struct rb_error *err)
{
	static const char *const deferred[] = {"members", NULL};
	const struct resource_type_def *rt = schema_resource_type("Group");
	const struct patch_change *ch;
	struct patch_result pr;
	struct dir_op op;
	json_t *old = NULL, *cur = NULL, *after = NULL, *out = NULL, *dns = NULL;
	LDAPMod **mm = NULL;
	char *pending = NULL;
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
				/* Idempotent: ids naming nobody or non-members are skipped,
				 * the rest removed. */
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
	after = groups_write(&op, old, pr.resource, mm, if_match, &pending, err);
	if (after == NULL) {
		*conflict = op.last_rc == LDAP_NO_SUCH_ATTRIBUTE;
		goto done;
	}
	if (pending != NULL) {
		/* Members gained or lost the group's grant: only those, unless the grant changed.
		 */
		json_t *set = json_object();
		access_mods_dn_set(mm, set);
		if (access_group_grant_changed(old, after) &&
		    access_member_set(&op, entry_map_first(after, "dn"), set, err) < 0) {
			log_warnx("role group members' access left to the repair (%s)",
			          err->detail);
			error_clear(err);
			free(pending);
		} else {
			groups_refresh_members(&op, set, pending);
		}
		json_decref(set);
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

json_t *
dir_group_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                const char *if_match, bool want_result, struct rb_error *err)
{
	json_t *out;
	int attempt;

	for (attempt = 0;; attempt++) {
		bool conflict = false;
		out = groups_patch_once(ctx, id, patch_body, if_match, want_result, &conflict, err);
		if (!conflict || attempt + 1 >= DIR_RETRIES)
			break;
		error_clear(err); /* idempotent removal: what is gone is gone, do the rest */
	}
	return out;
}

int
dir_group_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                 struct rb_error *err)
{
	struct dir_op op;
	json_t *old, *set = NULL;
	char *pending = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	old = groups_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "group", err) < 0)
		goto done;
	set = json_object();
	if (set == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (access_group_is_role(old)) {
		if (access_member_set(&op, entry_map_first(old, "dn"), set, err) < 0)
			goto done;
		pending = access_pending_begin(&op, old, NULL, NULL, err);
		if (pending == NULL && error_is_set(err))
			goto done;
	}
	rc = dir_delete_dn(&op, entry_map_first(old, "dn"), if_match, err);
	if (rc < 0)
		access_pending_end(&op, pending);
	else if (pending != NULL)
		groups_refresh_members(&op, set, pending);
done:
	json_decref(set);
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
