/*
 * regions.c — /Regions on the directory: the regions of a partnership
 * tenant (SPEC §1), which schools (`region`) and region-scope grants
 * (`region`) name.
 *
 * Glossary
 *   region    cn=<name>,ou=regions,o=<tenant> (rbRegion); SCIM id =
 *             entryUUID; `name` (the cn) is the key schools' rbRegionRef,
 *             grants' rbRegionRef;x-src-<source> and the summaries'
 *             rbManageRegion/rbViewRegion hold.
 *
 * Behaviour
 *   - Only a partnership tenant has regions: creating one in a district is
 *     400 invalidValue (reading and listing answer what is there: none).
 *   - name is the RDN: unique per tenant, case-insensitively (409
 *     uniqueness from alreadyExists). It never changes (400 mutability):
 *     every school of the region and every region-scope grant names it,
 *     and the schools' dynlist URLs hold it. displayName and externalId
 *     (untagged rbExternalId, like a school's SIS id) may change.
 *   - Ownership (access.c): a region belongs to the source that created
 *     it (rbSource); another source's PUT, PATCH or DELETE is 403 naming
 *     the owner (docs/mapping.md, "Ownership").
 *   - Deletion is 409 while any school of the tenant is in the region or
 *     any grant (a person's, any source's; a role group's) names it: move
 *     the schools and change the grants first. Nothing is stripped
 *     silently, unlike a school's delete: a region-scope grant without its
 *     region would cover nothing, which is not what its source asked for.
 *   - Search: regions are few per tenant; every region of the tenant is
 *     read (at most max_results, else 400 tooMany), checked with the
 *     engine's evaluator, sorted (default: creation order, then id) and
 *     sliced here.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "engine/filter.h"
#include "engine/patch.h"
#include "engine/sort.h"
#include "lib/strbuf.h"

#define REGION_OBJFILTER DIR_CLASS("rbRegion")

static char *region_attrs[] = {
    "cn", "displayName", "rbExternalId", "rbSource", DIR_OPERATIONAL, NULL,
};

/* The regions' base DN; NEW string or NULL with *err (500). */
static char *
regions_base(struct dir_op *op, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "regions");

	if (base == NULL)
		error_set(err, 500, NULL, "out of memory");
	return base;
}

/* Descriptions a region write may change (never cn: the name is fixed). */
static bool
regions_owned(const char *desc, void *arg)
{
	(void)arg;
	return !strcmp(desc, "displayname") || !strcmp(desc, "rbexternalid");
}

/* The attribute map of a Region resource. NEW, or NULL with *err (400 without a name). */
static json_t *
regions_to_ldap(const json_t *region, struct rb_error *err)
{
	const char *name = json_string_value(json_object_get(region, "name"));
	const json_t *v;
	json_t *map;

	if (name == NULL || *name == '\0') {
		error_set(err, 400, SCIM_INVALID_VALUE, "name is required");
		return NULL;
	}
	map = json_object();
	if (map == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	entry_map_add(map, "objectclass", "rbRegion");
	entry_map_add(map, "cn", name);
	v = json_object_get(region, "displayName");
	entry_map_add(map, "displayname", json_string_length(v) > 0 ? json_string_value(v) : name);
	v = json_object_get(region, "externalId");
	if (json_string_length(v) > 0)
		entry_map_add(map, "rbexternalid", json_string_value(v));
	return map;
}

static json_t *
regions_to_json(struct dir_op *op, const json_t *maps, bool want_members, struct rb_error *err)
{
	json_t *out = json_array(), *map;
	char location[600];
	size_t i;

	(void)want_members;
	(void)err;
	snprintf(location, sizeof(location), "%s/Regions", op->ctx->base_url);
	json_array_foreach(maps, i, map)
	{
		struct map_meta meta;
		const char *s;
		json_t *r;
		dir_meta_from_map(map, location, &meta);
		r = json_pack("{s:[s], s:s}", "schemas", SCHEMA_REGION, "id",
		              meta.id ? meta.id : "");
		if ((s = entry_map_first(map, "rbexternalid")) != NULL)
			json_object_set_new(r, "externalId", json_string(s));
		s = entry_map_first(map, "cn");
		json_object_set_new(r, "name", json_string(s ? s : ""));
		if ((s = entry_map_first(map, "displayname")) != NULL)
			json_object_set_new(r, "displayName", json_string(s));
		json_object_set_new(r, "meta", map_meta_json("Region", &meta));
		json_array_append_new(out, r);
	}
	return out;
}

static json_t *
regions_one(struct dir_op *op, const json_t *map, struct rb_error *err)
{
	return dir_convert_one(op, regions_to_json, map, false, err);
}

static json_t *
regions_find(struct dir_op *op, const char *id, struct rb_error *err)
{
	char *base = regions_base(op, err);
	json_t *map;

	if (base == NULL)
		return NULL;
	map = dir_find_by_id(op, base, REGION_OBJFILTER, id, region_attrs, err);
	free(base);
	return map;
}

/*
 * 0 if no school and no grant of the tenant names region `name`; else -1
 * with *err (409 saying how many schools, and which sources' grants). One
 * search: rbRegionRef matches its tagged values (;x-src-<source>) too.
 */
static int
regions_unreferenced(struct dir_op *op, const char *name, struct rb_error *err)
{
	static char *attrs[] = {"objectClass", "cn", "uid", NULL};
	LDAPMessage *res = NULL, *e;
	struct strbuf f = {0};
	char *esc = escape_filter_value(name, strlen(name)), example[200] = "";
	size_t schools = 0, others = 0;
	int rc = -1;

	strbuf_add(&f, "(&(!" REGION_OBJFILTER ")(rbRegionRef=");
	strbuf_add(&f, esc != NULL ? esc : "");
	strbuf_add(&f, "))");
	if (esc == NULL || f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		bool school = false;
		json_t *oc = json_object_get(m, "objectclass");
		size_t i;
		for (i = 0; i < json_array_size(oc); i++)
			if (!strcasecmp(json_string_value(json_array_get(oc, i)), "rbSchool"))
				school = true;
		if (school) {
			if (schools++ == 0)
				snprintf(example, sizeof(example), "%s",
				         entry_map_first(m, "cn") ? entry_map_first(m, "cn") : "?");
		} else {
			others++;
		}
		json_decref(m);
	}
	if (schools == 0 && others == 0) {
		rc = 0;
		goto done;
	}
	if (schools > 0)
		error_set(err, 409, NULL,
		          "region %s still has %zu school(s) (%s%s) and is named in %zu grant(s): "
		          "move the schools to another region and change the grants first",
		          name, schools, example, schools > 1 ? ", …" : "", others);
	else
		error_set(err, 409, NULL,
		          "region %s is named in %zu grant(s) (people or role groups): change "
		          "those grants first",
		          name, others);
done:
	ldap_msgfree(res);
	free(esc);
	free(f.s);
	return rc;
}

/*
 * Write `region` (the complete new state) over the entry `old` (a map).
 * Returns the NEW map after the write (or of the unchanged entry), or NULL
 * with *err.
 */
static json_t *
regions_write(struct dir_op *op, const json_t *old, const json_t *region, const char *if_match,
              struct rb_error *err)
{
	json_t *map = regions_to_ldap(region, err), *after = NULL;
	LDAPMod **mods = NULL;

	if (map == NULL)
		goto done;
	if (strcasecmp(entry_map_first(old, "cn"), entry_map_first(map, "cn")) != 0) {
		error_set(err, 400, SCIM_MUTABILITY,
		          "name: a region's name cannot change (schools and grants name it): add "
		          "a region with the new name, move the schools, then remove this one");
		goto done;
	}
	json_object_del(map, "cn");
	json_object_del(map, "objectclass");
	mods = entry_mods_build(old, map, regions_owned, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (entry_mods_count(mods) == 0) {
		if (dir_check_version(old, if_match, err) == 0)
			after = json_deep_copy(old);
		goto done;
	}
	after = dir_rename_modify(op, entry_map_first(old, "dn"), NULL, mods, if_match,
	                          region_attrs, err);
done:
	entry_mods_free(mods);
	json_decref(map);
	return after;
}

/* ---- flows ---- */

static const struct dir_owned regions_type = {"region", "Region", regions_find, regions_one,
                                              regions_write};

json_t *
dir_region_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	return dir_owned_get(&regions_type, ctx, id, err);
}

json_t *
dir_region_create(const struct dir_ctx *ctx, const json_t *region, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL, *added = NULL, *out = NULL;
	char kind[32], *base = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = regions_to_ldap(region, err);
	if (map == NULL || dir_tenant_kind(&op, kind, sizeof(kind), err) < 0)
		goto done;
	if (strcasecmp(kind, "partnership") != 0) {
		error_set(err, 400, SCIM_INVALID_VALUE,
		          "regions exist only in partnership tenants; this tenant is a %s", kind);
		goto done;
	}
	entry_map_add(map, "rbsource", ctx->source);
	base = regions_base(&op, err);
	if (base == NULL)
		goto done;
	added = dir_add_entry(&op, base, "cn", "name", map, region_attrs, "a region named", err);
	if (added != NULL)
		out = regions_one(&op, added, err);
done:
	json_decref(map);
	json_decref(added);
	free(base);
	dir_op_end(&op);
	return out;
}

json_t *
dir_region_replace(const struct dir_ctx *ctx, const char *id, const json_t *region,
                   const char *if_match, struct rb_error *err)
{
	return dir_owned_replace(&regions_type, ctx, id, region, if_match, err);
}

json_t *
dir_region_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                 const char *if_match, struct rb_error *err)
{
	return dir_owned_patch(&regions_type, ctx, id, patch_body, if_match, err);
}

int
dir_region_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                  struct rb_error *err)
{
	struct dir_op op;
	json_t *old;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	old = regions_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "region", err) < 0 ||
	    regions_unreferenced(&op, entry_map_first(old, "cn"), err) < 0)
		goto done;
	rc = dir_delete_dn(&op, entry_map_first(old, "dn"), if_match, err);
done:
	json_decref(old);
	dir_op_end(&op);
	return rc;
}

json_t *
dir_region_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                  struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type("Region");
	const struct config *cfg = ctx->dir->cfg;
	const struct sort_key *k = q->sort;
	struct sort_key def_id, def_created;
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	json_t *maps = NULL, *all = NULL, *out = NULL, **items = NULL;
	char *base = NULL;
	size_t i, n = 0;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = regions_base(&op, err);
	if (base == NULL)
		goto done;
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, REGION_OBJFILTER, region_attrs, NULL,
	               cfg->max_results + 1, &res, err) < 0)
		goto done;
	maps = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e))
		json_array_append_new(maps, entry_to_map(op.conn->ld, e));
	all = regions_to_json(&op, maps, false, err);
	items = all ? calloc(json_array_size(all) + 1, sizeof(*items)) : NULL;
	if (items == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < json_array_size(all); i++) {
		json_t *r = json_array_get(all, i);
		if (q->filter == NULL || filter_match(q->filter, r))
			items[n++] = json_incref(r);
	}
	/* Stable sorts: by id first, then by the key, gives (key, id). */
	if (sort_parse(rt, "id", NULL, &def_id, err) < 0 ||
	    sort_resources(rt, &def_id, items, n) < 0)
		goto sorted;
	if (k == NULL) {
		if (sort_parse(rt, "meta.created", NULL, &def_created, err) < 0)
			goto sorted;
		k = &def_created;
	}
	if (sort_resources(rt, k, items, n) < 0)
		error_set(err, 500, NULL, "out of memory");
sorted:
	if (error_is_set(err))
		goto done;
	*total = (long)n;
	out = json_array();
	for (i = (size_t)(q->start_index < 1 ? 0 : q->start_index - 1);
	     i < n && (long)json_array_size(out) < q->count; i++)
		json_array_append(out, items[i]);
done:
	for (i = 0; i < n; i++)
		json_decref(items[i]);
	free(items);
	ldap_msgfree(res);
	json_decref(maps);
	json_decref(all);
	free(base);
	dir_op_end(&op);
	return out;
}
