/*
 * groups.c — /Groups on the directory.
 *
 * Behaviour
 *   - DN cn=<displayName>,ou=groups,o=<tenant>, structural rbGroup whose
 *     `member` is optional: groups may be empty (Entra creates them
 *     empty). displayName is unique per tenant (the RDN): 409 uniqueness.
 *   - members[].value is the member's entryUUID. Membership is recorded on
 *     the member: `rbGroupRef: <the group's entryUUID>` on the person (or
 *     group); the group entry holds no member values, only
 *     `rbMembersURL: ldap:///o=<tenant>,<suffix>??sub?(rbGroupRef=<uuid>)`,
 *     from which slapd's dynlist shows district tools the group's `member`
 *     and each member's `memberOf` (docs/schema.md, "Membership"). A member
 *     change is one small modify of the member (Permissive Modify: adding a
 *     present reference or removing an absent one is no error) plus one of
 *     the group entry (its URL replaced by itself: a new version, asserted
 *     on If-Match), whatever the group's size. Deleting a person takes its
 *     references with it; deleting a group removes its references from the
 *     members (a reference to a group that is gone names nothing).
 *   - A PATCH never reads the member list unless an operation needs it
 *     (e.g. `members[display eq …]`); a PUT (or a replace of members) reads
 *     it once to write only the difference.
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

/* The members of the group with entryUUID `uuid` as SCIM members (NEW array), in one search. */
static json_t *
groups_members(struct dir_op *op, const char *uuid, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", "displayName", "cn", "objectClass", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = uuid ? escape_filter_value(uuid, strlen(uuid)) : NULL, *filter = NULL;
	json_t *arr = NULL;
	size_t n;

	if (esc == NULL)
		goto oom;
	n = strlen(esc) + 32;
	filter = malloc(n);
	if (filter == NULL)
		goto oom;
	snprintf(filter, n, "(rbGroupRef=%s)", esc);
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
 * One pass of groups_member_dns: for the ids of `want` still null, search
 * (in chunks of GROUPS_CHUNK terms) the entries whose `attr` ("entryUUID"
 * or "rbFormerId") is one of them, and set each found id to the entry's DN.
 * `filter` is a buffer of `cap` bytes. 0, or -1 with *err.
 */
/* Terms per search: slapd tests each candidate against the whole OR, so one
 * search of n terms costs n² comparisons (a 1,500-member PUT took seconds). */
#define GROUPS_CHUNK 100
static int
groups_member_pass(struct dir_op *op, json_t *want, const char *attr, bool lenient,
                   const char *gesc, char *filter, size_t cap, struct rb_error *err)
{
	char *attrs[] = {(char *)attr, NULL};
	void *it = json_object_iter(want);

	while (it != NULL) {
		LDAPMessage *res = NULL, *e;
		size_t len, n;
		/* An add never names a retained person (retain.c: invisible). */
		len = (size_t)(lenient ? snprintf(filter, cap, "(&(rbGroupRef=%s)(|", gesc)
		                       : snprintf(filter, cap, "(&(!(rbDisabledAt=*))(|"));
		/* ids are validated UUIDs: nothing to escape */
		for (n = 0; it != NULL && n < GROUPS_CHUNK; it = json_object_iter_next(want, it)) {
			if (json_is_string(json_object_iter_value(it)))
				continue;
			len += (size_t)snprintf(filter + len, cap - len, "(%s=%s)", attr,
			                        json_object_iter_key(it));
			n++;
		}
		if (n == 0)
			break;
		snprintf(filter + len, cap - len, "))");
		if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res,
		               err) < 0)
			return -1;
		for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
		     e = ldap_next_entry(op->conn->ld, e)) {
			json_t *em = entry_to_map(op->conn->ld, e), *v;
			char *key = entry_desc_normalise(attr);
			size_t i;
			json_array_foreach(key ? json_object_get(em, key) : NULL, i, v)
			{
				char lower[40] = "";
				const char *uuid = json_string_value(v);
				if (uuid != NULL)
					dir_id_lower(uuid, lower, sizeof(lower));
				if (uuid != NULL && json_object_get(want, lower) != NULL &&
				    !json_is_string(json_object_get(want, lower)))
					json_object_set_new(want, lower,
					                    json_string(entry_map_first(em, "dn")));
			}
			free(key);
			json_decref(em);
		}
		ldap_msgfree(res);
	}
	return 0;
}

/*
 * DNs of the members named in `members` (array of {value}), in one search
 * per 100. NEW array or NULL with *err. `of_group` (a removal: the group's
 * entryUUID) keeps only the current members of that group (their
 * rbGroupRef, written by the bridge itself: no overlay lags behind), and
 * skips ids that are not UUIDs or name nobody, so removing them is a
 * no-op. Without it (an add, a replace) each id must name a user or group
 * of the tenant that is not retained: 400 invalidValue otherwise.
 */
static json_t *
groups_member_dns(struct dir_op *op, const json_t *members, const char *of_group,
                  struct rb_error *err)
{
	bool lenient = of_group != NULL;
	char *gesc = NULL, *filter = NULL;
	json_t *want = json_object(), *dns = NULL, *m;
	size_t i, cap;
	const char *id;

	json_array_foreach(members, i, m)
	{
		char lower[40];
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
		dir_id_lower(id, lower, sizeof(lower)); /* entryUUIDs come back in lower case */
		json_object_set_new(want, lower, json_null());
	}
	dns = json_array();
	if (json_object_size(want) == 0)
		goto done;
	if (lenient && (gesc = escape_filter_value(of_group, strlen(of_group))) == NULL)
		goto oom;
	cap = 64 + GROUPS_CHUNK * 52 + (gesc ? strlen(gesc) : 0);
	filter = malloc(cap);
	if (filter == NULL)
		goto oom;
	/* By entryUUID; then, for the ids that named nobody, by rbFormerId (an id a
	 * source was answered before the repair merged its create: merge.c). Only
	 * a miss pays the second pass. */
	if (groups_member_pass(op, want, "entryUUID", lenient, gesc, filter, cap, err) < 0 ||
	    groups_member_pass(op, want, "rbFormerId", lenient, gesc, filter, cap, err) < 0)
		goto fail;
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
oom:
	error_set(err, 500, NULL, "out of memory");
fail:
	json_decref(dns);
	dns = NULL;
done:
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
			json_t *members =
			    groups_members(op, entry_map_first(map, "entryuuid"), err);
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

/*
 * The dynlist URL of the group with entryUUID `uuid`: every entry of the
 * tenant whose rbGroupRef names it. NEW string (free()), or NULL.
 */
static char *
groups_url(const struct dir_op *op, const char *uuid)
{
	LDAPURLDesc lud;
	char filter[80], *url, *out;

	memset(&lud, 0, sizeof(lud));
	/* uuid is an entryUUID read from slapd: nothing to escape in the filter */
	snprintf(filter, sizeof(filter), "(rbGroupRef=%s)", uuid);
	lud.lud_scheme = "ldap";
	lud.lud_dn = op->tenant_dn;
	lud.lud_scope = LDAP_SCOPE_SUBTREE;
	lud.lud_filter = filter;
	url = ldap_url_desc2str(&lud);
	out = url ? strdup(url) : NULL;
	ldap_memfree(url);
	return out;
}

/*
 * Record (LDAP_MOD_ADD) or drop (LDAP_MOD_DELETE) the membership in the
 * group `uuid` on each member whose DN is a key of `dns`: one small modify
 * of the member each, with Permissive Modify (a present reference added or
 * an absent one removed is no error). A member deleted meanwhile is
 * skipped. 0, or -1 with *err (the members before it are written).
 */
static int
groups_set_refs(struct dir_op *op, const char *uuid, const json_t *dns, int mod_op,
                struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	json_t *vals = json_pack("[s]", uuid), *v;
	LDAPMod **mods = vals ? entry_mods_append(NULL, mod_op, "rbGroupRef", vals) : NULL;
	const char *dn;
	int rc = 0;

	if (mods == NULL) {
		json_decref(vals);
		return error_set(err, 500, NULL, "out of memory");
	}
	op->permissive = true;
	json_object_foreach((json_t *)dns, dn, v)
	{
		json_t *after = dir_write(op, false, dn, mods, NULL, none, err);
		if (after == NULL && err->status == 404) {
			error_clear(err); /* the member is gone: so is its reference */
			continue;
		}
		json_decref(after);
		if (after == NULL) {
			rc = -1;
			break;
		}
	}
	op->permissive = false;
	entry_mods_free(mods);
	json_decref(vals);
	return rc;
}

/* Add every string of `arr` to the set `set` (dn → true). */
static void
groups_set_add(json_t *set, const json_t *arr)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		json_object_set_new(set, json_string_value(json_array_get(arr, i)), json_true());
}

/* The members' references to write: DNs to add to and to drop from the group. */
struct groups_refs {
	json_t *add, *del; /* sets: dn → true, owned */
};

/* Write `refs` for group `uuid`: drops first, then adds. 0, or -1 with *err. */
static int
groups_refs_write(struct dir_op *op, const char *uuid, const struct groups_refs *refs,
                  struct rb_error *err)
{
	if (groups_set_refs(op, uuid, refs->del, LDAP_MOD_DELETE, err) < 0)
		return -1;
	return groups_set_refs(op, uuid, refs->add, LDAP_MOD_ADD, err);
}

/* All the DNs `refs` names, added to the set `set`. */
static void
groups_refs_union(const struct groups_refs *refs, json_t *set)
{
	json_object_update(set, refs->add);
	json_object_update(set, refs->del);
}

/*
 * The references that make the member set `want` (array of DNs) out of
 * the current one `cur` (a set): a PUT, or a PATCH replacing members.
 */
static void
groups_refs_diff(const json_t *cur, const json_t *want, struct groups_refs *refs)
{
	json_t *v;
	const char *dn;

	groups_set_add(refs->add, want);
	json_object_foreach((json_t *)cur, dn, v)
	{
		if (json_object_get(refs->add, dn) != NULL)
			json_object_del(refs->add, dn); /* stays */
		else
			json_object_set_new(refs->del, dn, json_true());
	}
}

/* A pending entry's settling, then the refresh, once the group's write has landed. */
static void
groups_finish(struct dir_op *op, const json_t *set, char *pending)
{
	if (pending != NULL)
		groups_refresh_members(op, set, pending);
}

json_t *
dir_group_create(const struct dir_ctx *ctx, const json_t *group, struct rb_error *err)
{
	static char *post[] = {"entryCSN", NULL};
	struct dir_op op;
	json_t *map = NULL, *dns = NULL, *after = NULL, *out = NULL, *set = NULL, *urlmap = NULL,
	       *done_map = NULL;
	char *base = NULL, *pending = NULL, *url = NULL;
	LDAPMod **mods = NULL;
	const char *uuid;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = groups_to_ldap(group, ctx->source, err);
	if (map == NULL || access_group_grant_prepare(&op, map, err) < 0)
		goto done;
	dns = groups_member_dns(&op, json_object_get(group, "members"), NULL, err);
	if (dns == NULL)
		goto done;
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
	/* The URL names the entryUUID slapd just gave the group: a second write. */
	uuid = entry_map_first(after, "entryuuid");
	url = uuid ? groups_url(&op, uuid) : NULL;
	urlmap = json_object();
	if (url == NULL || urlmap == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	entry_map_add(urlmap, "rbmembersurl", url);
	mods = entry_mods_build(NULL, urlmap, NULL, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	mods[0]->mod_op = LDAP_MOD_REPLACE | (mods[0]->mod_op & LDAP_MOD_BVALUES);
	done_map = dir_write(&op, false, entry_map_first(after, "dn"), mods, NULL, post, err);
	if (done_map == NULL)
		goto done;
	json_object_set(after, "entrycsn", json_object_get(done_map, "entrycsn"));
	if (json_array_size(dns) > 0) {
		set = json_object();
		if (set == NULL) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		groups_set_add(set, dns);
		pending = access_pending_begin(&op, NULL, after, err);
		if (pending == NULL && error_is_set(err))
			goto done;
		if (groups_set_refs(&op, uuid, set, LDAP_MOD_ADD, err) < 0) {
			free(pending); /* left to the repair: it refreshes whoever got the reference
			                */
			goto done;
		}
		if (access_group_is_role(after))
			groups_refresh_members(&op, set, pending);
		else
			access_pending_end(&op, pending);
	}
	out = groups_one(&op, after, true, err);
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(dns);
	json_decref(after);
	json_decref(set);
	json_decref(urlmap);
	json_decref(done_map);
	free(base);
	free(url);
	dir_op_end(&op);
	return out;
}

/*
 * Write the group's own attributes from `group` over `old`, rename if
 * displayName changed, then the members' references `refs` (may be NULL).
 * A member change rewrites the group's rbMembersURL (unchanged, or made
 * if missing): the group gets a new version, asserted on `if_match` like
 * any write of it, before any member is touched. A write that may change
 * someone's access (a role group before or after) is preceded by a
 * pending entry, returned in *pending (NEW, or NULL) for
 * groups_refresh_members. Returns the NEW map after the write (or a copy
 * of old when nothing changed).
 */
static json_t *
groups_write(struct dir_op *op, const json_t *old, const json_t *group,
             const struct groups_refs *refs, const char *if_match, char **pending,
             struct rb_error *err)
{
	json_t *map = groups_to_ldap(group, op->ctx->source, err), *after = NULL;
	const char *source = op->ctx->source, *dn = entry_map_first(old, "dn");
	const char *uuid = entry_map_first(old, "entryuuid");
	char *rdn = NULL, *parent = NULL, *newdn = NULL, *url = NULL;
	bool members = refs != NULL && (json_object_size(refs->add) + json_object_size(refs->del));
	LDAPMod **mods = NULL;

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
	if (mods != NULL && members) {
		json_t *v;
		url = uuid ? groups_url(op, uuid) : NULL;
		v = url ? json_pack("[s]", url) : NULL;
		mods = v ? entry_mods_append(mods, LDAP_MOD_REPLACE, "rbMembersURL", v) : NULL;
		json_decref(v);
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
		*pending = access_pending_begin(op, old, next, err);
		json_decref(next);
		if (*pending == NULL && error_is_set(err))
			goto done;
	}
	after = dir_rename_modify(op, dn, rdn, mods, if_match, group_attrs, err);
	if (after == NULL) {
		int rc = op->last_rc;
		access_pending_end(op, *pending); /* nothing was written */
		*pending = NULL;
		op->last_rc = rc;
		goto done;
	}
	if (members && groups_refs_write(op, uuid, refs, err) < 0) {
		/* The group's own write landed, some members did not: the client gets the
		 * error and may send the change again (adds and removes are idempotent);
		 * the pending entry stays for the repair, which refreshes the summaries
		 * of whoever holds a reference now. */
		json_decref(after);
		after = NULL;
		free(*pending);
		*pending = NULL;
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
	free(url);
	return after;
}

json_t *
dir_group_replace(const struct dir_ctx *ctx, const char *id, const json_t *group,
                  const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old = NULL, *dns = NULL, *after = NULL, *out = NULL, *cur = NULL, *set = NULL;
	struct groups_refs refs = {json_object(), json_object()};
	char *pending = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		goto done;
	old = groups_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "group", err) < 0)
		goto done;
	dns = groups_member_dns(&op, json_object_get(group, "members"), NULL, err);
	if (dns == NULL)
		goto done;
	cur = json_object();
	set = json_object();
	if (cur == NULL || set == NULL || refs.add == NULL || refs.del == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* PUT replaces the member list wholesale: write the difference. */
	if (access_member_set(&op, entry_map_first(old, "entryuuid"), cur, err) < 0)
		goto done;
	groups_refs_diff(cur, dns, &refs);
	after = groups_write(&op, old, group, &refs, if_match, &pending, err);
	if (after == NULL)
		goto done;
	/* Members before and after: those leaving lose the grant, those coming gain it. */
	json_object_update(set, cur);
	groups_set_add(set, dns);
	groups_finish(&op, set, pending);
	out = groups_one(&op, after, true, err);
done:
	json_decref(old);
	json_decref(dns);
	json_decref(after);
	json_decref(cur);
	json_decref(set);
	json_decref(refs.add);
	json_decref(refs.del);
	dir_op_end(&op);
	return out;
}

/*
 * One PATCH attempt. *conflict is set when slapd refused the write in a
 * way a fresh read may cure (kept from when removals could race; member
 * references are now written with Permissive Modify and do not conflict).
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
	json_t *old = NULL, *cur = NULL, *after = NULL, *out = NULL, *dns = NULL, *members = NULL;
	struct groups_refs refs = {json_object(), json_object()};
	char *pending = NULL;
	bool replaced = false;
	int rc;

	memset(&pr, 0, sizeof(pr));
	TAILQ_INIT(&pr.changes);
	if (dir_op_begin(&op, ctx, err) < 0)
		goto done;
	if (refs.add == NULL || refs.del == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
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
	ch = patch_change_find(rt, &pr, "members");
	if (ch != NULL) {
		if (ch->kind == PATCH_CHANGE_REPLACED) {
			dns = groups_member_dns(&op, ch->value, NULL, err);
			members = json_object();
			if (dns == NULL || members == NULL ||
			    access_member_set(&op, entry_map_first(old, "entryuuid"), members,
			                      err) < 0) {
				if (!error_is_set(err))
					error_set(err, 500, NULL, "out of memory");
				goto done;
			}
			groups_refs_diff(members, dns, &refs);
			replaced = true;
		} else {
			if (json_array_size(ch->removed) > 0) {
				/* Idempotent: ids naming nobody or non-members are skipped,
				 * the rest removed. */
				dns = groups_member_dns(&op, ch->removed,
				                        entry_map_first(old, "entryuuid"), err);
				if (dns == NULL)
					goto done;
				groups_set_add(refs.del, dns);
				json_decref(dns);
				dns = NULL;
			}
			if (json_array_size(ch->added) > 0) {
				dns = groups_member_dns(&op, ch->added, NULL, err);
				if (dns == NULL)
					goto done;
				groups_set_add(refs.add, dns);
			}
		}
	}
	after = groups_write(&op, old, pr.resource, &refs, if_match, &pending, err);
	if (after == NULL) {
		*conflict = op.last_rc == LDAP_NO_SUCH_ATTRIBUTE;
		goto done;
	}
	if (pending != NULL) {
		/* Members gained or lost the group's grant: only those, unless the grant changed.
		 */
		json_t *set = json_object();
		groups_refs_union(&refs, set);
		if (replaced)
			json_object_update(set, members);
		if (access_group_grant_changed(old, after) &&
		    access_member_set(&op, entry_map_first(after, "entryuuid"), set, err) < 0) {
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
	patch_result_clear(&pr);
	json_decref(old);
	json_decref(cur);
	json_decref(after);
	json_decref(dns);
	json_decref(members);
	json_decref(refs.add);
	json_decref(refs.del);
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
	const char *uuid;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	old = groups_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "group", err) < 0)
		goto done;
	uuid = entry_map_first(old, "entryuuid");
	set = json_object();
	if (set == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (access_member_set(&op, uuid, set, err) < 0)
		goto done;
	if (access_group_is_role(old)) {
		pending = access_pending_begin(&op, old, NULL, err);
		if (pending == NULL && error_is_set(err))
			goto done;
	}
	rc = dir_delete_dn(&op, entry_map_first(old, "dn"), if_match, err);
	if (rc < 0) {
		access_pending_end(&op, pending);
		goto done;
	}
	/* The references name a group that is gone (and so nothing): drop them. */
	{
		struct rb_error cleanup;
		error_clear(&cleanup);
		if (groups_set_refs(&op, uuid, set, LDAP_MOD_DELETE, &cleanup) < 0)
			log_warnx("group %s deleted; some members keep a reference to it (%s)",
			          uuid, cleanup.detail);
	}
	groups_finish(&op, set, pending);
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
