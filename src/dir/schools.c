/*
 * schools.c — /Schools on the directory, and the school/region lookups the
 * grants code uses (dir_int.h).
 *
 * Glossary
 *   school    cn=<name>,ou=schools,o=<tenant> (rbSchool); SCIM id = entryUUID.
 *   viewers   its child cn=viewers (rbSchoolViewers): dynlist keys dynamic
 *             entries by DN, so the second URL needs its own entry
 *             (docs/schema.md, "Dynamic access lists").
 *   URLs      rbManagersURL on the school, rbViewersURL on cn=viewers, each
 *             copied into rbMembersURL on the same entry (the URL dynlist's
 *             filter expansion reads: docs/schema.md, "Membership"):
 *             ldap:///ou=people,o=<t>,<suffix>??one?(|(rbManageSchool=<uuid>)
 *             (rbManageAll=TRUE)[(rbManageRegion=<region>)]) and the rbView*
 *             twin — exactly the shape of schema/seed.ldif.
 *
 * Behaviour
 *   - name is the RDN: unique per tenant, case-insensitively (cn is
 *     caseIgnore), atomically (409 uniqueness from alreadyExists). A name
 *     change is a modrdn; cn=viewers moves with the school.
 *   - externalId is the school's SIS id, shared by every source (SPEC §1):
 *     stored UNTAGGED in rbExternalId and unique per tenant (409).
 *   - region must name cn=<region>,ou=regions,o=<tenant> of a partnership
 *     tenant (400 invalidValue otherwise). Changing it rewrites both URLs.
 *   - Creation: add the school, read its entryUUID back (post-read), then
 *     write rbManagersURL on it and add cn=viewers with rbViewersURL. A
 *     district-scope administrator (rbManageAll=TRUE) therefore covers a
 *     school created later with no write on the person. If the second or
 *     third write fails, the school is removed again (best effort).
 *   - Ownership (access.c): the school belongs to the source that created
 *     it (rbSource); another source's PUT, PATCH or DELETE is 403. Its
 *     owner's DELETE is 409 while a grant of another source names it.
 *   - Deletion: cn=viewers, then the school, then the school's UUID is
 *     removed from every person's and group's rbSchoolRef (the owner's
 *     own grants, as the check above leaves no other) and from the
 *     people's rbManageSchool/rbViewSchool summaries.
 *   - Attributes are always requested by name: "*" would make dynlist
 *     expand rbManager/rbViewer/rbManagesSchool/rbViewsSchool on every read.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "lib/strbuf.h"
#include "dir/query.h"
#include "engine/filter.h"
#include "engine/patch.h"
#include "engine/sort.h"

#define SCHOOL_OBJFILTER DIR_CLASS("rbSchool")

static char *school_attrs[] = {
    "cn",       "displayName", "rbExternalId",  "rbRegionRef",
    "rbActive", "rbSource",    DIR_OPERATIONAL, NULL,
};

static const struct query_attr school_query[] = {
    {"name", "cn", 0, "cn:caseIgnoreOrderingMatch"},
    {"externalId", "rbExternalId", 0, "rbExternalId"},
    {"region", "rbRegionRef", 0, NULL},
    {"id", "entryUUID", QUERY_NOSUBSTR, "entryUUID"},
    /* active: not here, so inexact: the engine's evaluator decides (absent = true). */
    {NULL, NULL, 0, NULL},
};

/* ---- small helpers ---- */

/* Append `value` escaped for an LDAP filter (RFC 4515). */
static void
sbuf_add_filter_value(struct strbuf *b, const char *value)
{
	char *esc = escape_filter_value(value, strlen(value));

	if (esc == NULL) {
		b->failed = true;
		return;
	}
	strbuf_add(b, esc);
	free(esc);
}

/*
 * Append `s` as a part of an LDAP URL (RFC 4516 §2.1): '%', '?', '#', '/',
 * space, controls and non-ASCII bytes are percent-encoded; the rest (DN and
 * filter punctuation) stays as schema/seed.ldif writes it.
 */
static void
sbuf_add_url_part(struct strbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '/') {
			char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
			strbuf_addn(b, enc, 3);
		} else {
			strbuf_addn(b, (const char *)&c, 1);
		}
	}
}

/* The schools' base DN; NEW string or NULL with *err (500). */
static char *
schools_base(struct dir_op *op, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "schools");

	if (base == NULL)
		error_set(err, 500, NULL, "out of memory");
	return base;
}

/* "cn=viewers,<school dn>". NEW string or NULL. */
static char *
schools_viewers_dn(const char *school_dn)
{
	char *rdn = escape_rdn("cn", "viewers"), *dn;

	if (rdn == NULL)
		return NULL;
	dn = escape_dn_join(rdn, school_dn);
	free(rdn);
	return dn;
}

/*
 * The dynlist URL of a school: `kind` "Manage" (rbManagersURL) or "View"
 * (rbViewersURL), for school `uuid` in `region` (NULL: none). NEW string,
 * or NULL (allocation).
 */
static char *
schools_url(struct dir_op *op, const char *kind, const char *uuid, const char *region)
{
	struct strbuf b = {0}, f = {0};
	char *people = dir_ou_dn(op, "people");

	if (people == NULL)
		return NULL;
	/* uuid comes from entryUUID (hex and dashes); escaped anyway. */
	strbuf_add(&f, "(|(rb");
	strbuf_add(&f, kind);
	strbuf_add(&f, "School=");
	sbuf_add_filter_value(&f, uuid);
	strbuf_add(&f, ")(rb");
	strbuf_add(&f, kind);
	strbuf_add(&f, "All=TRUE)");
	if (region != NULL && *region != '\0') {
		strbuf_add(&f, "(rb");
		strbuf_add(&f, kind);
		strbuf_add(&f, "Region=");
		sbuf_add_filter_value(&f, region);
		strbuf_add(&f, ")");
	}
	strbuf_add(&f, ")");
	strbuf_add(&b, "ldap:///");
	sbuf_add_url_part(&b, people);
	strbuf_add(&b, "??one?");
	if (!f.failed)
		sbuf_add_url_part(&b, f.s);
	free(people);
	free(f.s);
	if (f.failed || b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- tenant, regions ---- */

int
dir_tenant_kind(struct dir_op *op, char *out, size_t outlen, struct rb_error *err)
{
	static char *attrs[] = {"rbTenantKind", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *map = NULL;
	const char *kind;
	int rc = -1;

	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_BASE, "(objectClass=rbTenant)", attrs, NULL, 1,
	               &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op->conn->ld, res) : NULL;
	map = e ? entry_to_map(op->conn->ld, e) : NULL;
	kind = entry_map_first(map, "rbtenantkind");
	if (kind == NULL) {
		error_set(err, 500, NULL, "the tenant entry %s has no rbTenantKind", op->tenant_dn);
		goto done;
	}
	snprintf(out, outlen, "%s", kind);
	rc = 0;
done:
	json_decref(map);
	ldap_msgfree(res);
	return rc;
}

/* dir_region_check with the message for a district tenant given by the caller. */
static int
schools_region_check(struct dir_op *op, const char *region, const char *district_msg,
                     struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	char kind[32], *base = NULL, *rdn = NULL, *dn = NULL;
	int rc = -1;

	if (region == NULL || *region == '\0')
		return error_set(err, 400, SCIM_INVALID_VALUE, "region: empty region id");
	if (dir_tenant_kind(op, kind, sizeof(kind), err) < 0)
		return -1;
	if (strcasecmp(kind, "partnership") != 0)
		return error_set(err, 400, SCIM_INVALID_VALUE, "%s", district_msg);
	rdn = dir_rdn("cn", region, "region", err);
	if (rdn == NULL)
		return -1;
	base = dir_ou_dn(op, "regions");
	dn = base ? escape_dn_join(rdn, base) : NULL;
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* A missing base is noSuchObject, which dir_search answers as "no entry". */
	if (dir_search(op, dn, LDAP_SCOPE_BASE, "(objectClass=rbRegion)", attrs, NULL, 1, &res,
	               err) < 0)
		goto done;
	if (res == NULL || ldap_first_entry(op->conn->ld, res) == NULL) {
		error_set(err, 400, SCIM_INVALID_VALUE, "region: no region \"%s\" in this tenant",
		          region);
		goto done;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(rdn);
	free(dn);
	return rc;
}

int
dir_region_check(struct dir_op *op, const char *region, struct rb_error *err)
{
	return schools_region_check(op, region, "region scope is only for partnership tenants",
	                            err);
}

/*
 * The schools matching refs (ids and/or externalIds), one search, as a
 * NEW array of entry maps (entryUUID, rbExternalId, rbRegionRef), or NULL
 * with *err. Refs that are not strings are a 400.
 */
static json_t *
schools_lookup(struct dir_op *op, const json_t *refs, bool by_external, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", "rbExternalId", "rbRegionRef", NULL};
	struct strbuf f = {0};
	LDAPMessage *res = NULL, *e;
	char *base = NULL;
	json_t *maps = NULL, *r;
	size_t i, terms = 0;

	strbuf_add(&f, "(&" SCHOOL_OBJFILTER "(|");
	json_array_foreach(refs, i, r)
	{
		const char *s = json_string_value(r);
		if (s == NULL || *s == '\0') {
			error_set(err, 400, SCIM_INVALID_VALUE,
			          "schools: every entry must be a school id or "
			          "externalId (a non-empty string)");
			goto done;
		}
		/* Only UUID-shaped values can be entryUUIDs: others would be undefined. */
		if (dir_id_valid(s)) {
			strbuf_add(&f, "(entryUUID=");
			strbuf_add(&f, s); /* checked: hex digits and dashes */
			strbuf_add(&f, ")");
			terms++;
		}
		if (by_external) {
			strbuf_add(&f, "(rbExternalId=");
			sbuf_add_filter_value(&f, s);
			strbuf_add(&f, ")");
			terms++;
		}
	}
	strbuf_add(&f, "))");
	base = schools_base(op, err);
	if (base == NULL)
		goto done;
	if (f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (terms > 0 &&
	    dir_search(op, base, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	maps = json_array();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e))
		json_array_append_new(maps, entry_to_map(op->conn->ld, e));
done:
	ldap_msgfree(res);
	free(base);
	free(f.s);
	return maps;
}

json_t *
dir_schools_resolve(struct dir_op *op, const json_t *refs, struct rb_error *err)
{
	json_t *maps, *out = NULL, *seen = NULL, *r, *m;
	size_t i, j;

	if (!json_is_array(refs)) {
		error_set(err, 400, SCIM_INVALID_VALUE, "schools must be an array of school ids");
		return NULL;
	}
	if (json_array_size(refs) == 0)
		return json_array();
	maps = schools_lookup(op, refs, true, err);
	if (maps == NULL)
		return NULL;
	out = json_array();
	seen = json_object();
	json_array_foreach(refs, i, r)
	{
		const char *s = json_string_value(r), *uuid = NULL;
		/* An id match wins over an externalId match. */
		json_array_foreach(maps, j, m)
		{
			const char *u = entry_map_first(m, "entryuuid");
			if (u != NULL && !strcasecmp(u, s)) {
				uuid = u;
				break;
			}
		}
		json_array_foreach(maps, j, m)
		{
			const char *x = entry_map_first(m, "rbexternalid");
			if (uuid == NULL && x != NULL && !strcmp(x, s)) {
				uuid = entry_map_first(m, "entryuuid");
				break;
			}
		}
		if (uuid == NULL) {
			error_set(err, 400, SCIM_INVALID_VALUE,
			          "schools: no school with id or externalId \"%s\" in this tenant",
			          s);
			json_decref(out);
			out = NULL;
			goto done;
		}
		if (json_object_get(seen, uuid) != NULL)
			continue;
		json_object_set_new(seen, uuid, json_true());
		json_array_append_new(out, json_string(uuid));
	}
done:
	json_decref(seen);
	json_decref(maps);
	return out;
}

json_t *
dir_schools_regions(struct dir_op *op, const json_t *uuids, struct rb_error *err)
{
	json_t *maps, *out, *u, *m;
	size_t i, j;

	if (!json_is_array(uuids)) {
		error_set(err, 400, SCIM_INVALID_VALUE, "schools must be an array of school ids");
		return NULL;
	}
	out = json_object();
	if (json_array_size(uuids) == 0)
		return out;
	maps = schools_lookup(op, uuids, false, err);
	if (maps == NULL) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach(uuids, i, u)
	{
		const char *s = json_string_value(u), *region = NULL;
		json_array_foreach(maps, j, m)
		{
			const char *id = entry_map_first(m, "entryuuid");
			if (id != NULL && !strcasecmp(id, s)) {
				region = entry_map_first(m, "rbregionref");
				break;
			}
		}
		json_object_set_new(out, s, region ? json_string(region) : json_null());
	}
	json_decref(maps);
	return out;
}

/* ---- SCIM ⇄ LDAP ---- */

/* Descriptions a school write may change (never cn: renames are modrdn). */
static bool
schools_owned(const char *desc, void *arg)
{
	(void)arg;
	return !strcmp(desc, "displayname") || !strcmp(desc, "rbexternalid") ||
	       !strcmp(desc, "rbregionref") || !strcmp(desc, "rbactive");
}

/* The attribute map of a School resource. NEW, or NULL with *err (400 without a name). */
static json_t *
schools_to_ldap(const json_t *school, struct rb_error *err)
{
	const char *name = json_string_value(json_object_get(school, "name"));
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
	entry_map_add(map, "objectclass", "rbSchool");
	entry_map_add(map, "cn", name);
	entry_map_add(map, "displayname", name);
	v = json_object_get(school, "externalId");
	if (json_string_length(v) > 0)
		entry_map_add(map, "rbexternalid", json_string_value(v));
	v = json_object_get(school, "region");
	if (json_string_length(v) > 0)
		entry_map_add(map, "rbregionref", json_string_value(v));
	v = json_object_get(school, "active");
	entry_map_add(map, "rbactive", json_is_false(v) ? "FALSE" : "TRUE");
	return map;
}

static json_t *
schools_to_json(struct dir_op *op, const json_t *maps, bool want_members, struct rb_error *err)
{
	json_t *out = json_array(), *map;
	char location[600];
	size_t i;

	(void)want_members;
	(void)err;
	snprintf(location, sizeof(location), "%s/Schools", op->ctx->base_url);
	json_array_foreach(maps, i, map)
	{
		struct map_meta meta;
		const char *s;
		json_t *sc;
		dir_meta_from_map(map, location, &meta);
		sc = json_pack("{s:[s], s:s}", "schemas", SCHEMA_SCHOOL, "id",
		               meta.id ? meta.id : "");
		if ((s = entry_map_first(map, "rbexternalid")) != NULL)
			json_object_set_new(sc, "externalId", json_string(s));
		s = entry_map_first(map, "cn");
		json_object_set_new(sc, "name", json_string(s ? s : ""));
		if ((s = entry_map_first(map, "rbregionref")) != NULL)
			json_object_set_new(sc, "region", json_string(s));
		s = entry_map_first(map, "rbactive");
		json_object_set_new(sc, "active",
		                    json_boolean(s == NULL || !strcasecmp(s, "TRUE")));
		json_object_set_new(sc, "meta", map_meta_json("School", &meta));
		json_array_append_new(out, sc);
	}
	return out;
}

static json_t *
schools_one(struct dir_op *op, const json_t *map, struct rb_error *err)
{
	return dir_convert_one(op, schools_to_json, map, false, err);
}

static json_t *
schools_find(struct dir_op *op, const char *id, struct rb_error *err)
{
	char *base = schools_base(op, err);
	json_t *map;

	if (base == NULL)
		return NULL;
	map = dir_find_by_id(op, base, SCHOOL_OBJFILTER, id, school_attrs, err);
	free(base);
	return map;
}

/*
 * 0 if no school of the tenant other than `self` (entryUUID, or NULL) has
 * externalId `ext`; else -1 with *err (409 uniqueness).
 *
 * Not atomic: two writers can both pass the check and both write the same
 * externalId (rbExternalId is not the RDN, and there is no unique overlay,
 * which would also have to know that people's tagged rbExternalId values
 * are per source). Acceptable because schools are written rarely, by
 * district staff or one SIS sync per tenant, not concurrently; a duplicate
 * is harmless to access control (grants and URLs name entryUUIDs); and
 * dir_schools_resolve still resolves it deterministically (an id wins, then
 * the first match). A repeated write (PUT) shows it as 409 again.
 */
static int
schools_external_free(struct dir_op *op, const char *ext, const char *self, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", NULL};
	struct strbuf f = {0};
	LDAPMessage *res = NULL, *e;
	char *base = NULL;
	int rc = -1;

	if (ext == NULL)
		return 0;
	strbuf_add(&f, "(&" SCHOOL_OBJFILTER "(rbExternalId=");
	sbuf_add_filter_value(&f, ext);
	strbuf_add(&f, "))");
	base = schools_base(op, err);
	if (base == NULL)
		goto done;
	if (f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *u = entry_map_first(m, "entryuuid");
		bool other = u == NULL || self == NULL || strcasecmp(u, self) != 0;
		json_decref(m);
		if (other) {
			error_set(err, 409, SCIM_UNIQUENESS,
			          "a school with externalId %s already exists in this tenant", ext);
			goto done;
		}
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(f.s);
	return rc;
}

/* Check region and externalId of a school map about to be written. 0 or -1 with *err. */
static int
schools_check(struct dir_op *op, const json_t *map, const char *self, struct rb_error *err)
{
	const char *region = entry_map_first(map, "rbregionref");

	if (region != NULL &&
	    schools_region_check(
	        op, region, "region: schools have regions only in partnership tenants", err) < 0)
		return -1;
	return schools_external_free(op, entry_map_first(map, "rbexternalid"), self, err);
}

/* Add cn=viewers under `school_dn` with its rbViewersURL. 0 or -1 with *err. */
static int
schools_add_viewers(struct dir_op *op, const char *school_dn, const char *uuid, const char *region,
                    struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", NULL};
	char *dn = schools_viewers_dn(school_dn), *url = schools_url(op, "View", uuid, region);
	json_t *map = json_object(), *after = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (dn == NULL || url == NULL || map == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	entry_map_add(map, "objectclass", "rbSchoolViewers");
	entry_map_add(map, "cn", "viewers");
	entry_map_add(map, "rbviewersurl", url);
	entry_map_add(map, "rbmembersurl", url); /* the copy dynlist's filters expand (groups.c) */
	mods = entry_mods_build(NULL, map, NULL, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(op, true, dn, mods, NULL, attrs, err);
	rc = after ? 0 : -1;
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	free(dn);
	free(url);
	return rc;
}

/* Replace rbViewersURL on cn=viewers of `school_dn`. 0 or -1 with *err. */
static int
schools_set_viewers_url(struct dir_op *op, const char *school_dn, const char *uuid,
                        const char *region, struct rb_error *err)
{
	static char *attrs[] = {"entryUUID", NULL};
	char *dn = schools_viewers_dn(school_dn), *url = schools_url(op, "View", uuid, region);
	json_t *vals = url ? json_pack("[s]", url) : NULL, *after = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (dn == NULL || vals == NULL ||
	    (mods = entry_mods_append(NULL, LDAP_MOD_REPLACE, "rbViewersURL", vals)) == NULL ||
	    (mods = entry_mods_append(mods, LDAP_MOD_REPLACE, "rbMembersURL", vals)) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(op, false, dn, mods, NULL, attrs, err);
	if (after == NULL && err->status == 404) {
		/* The child is missing (made by hand?): recreate it. */
		error_clear(err);
		rc = schools_add_viewers(op, school_dn, uuid, region, err);
		goto done;
	}
	rc = after ? 0 : -1;
done:
	entry_mods_free(mods);
	json_decref(vals);
	json_decref(after);
	free(dn);
	free(url);
	return rc;
}

/* Undo a half-made school: its child (if any), then itself. Errors are ignored. */
static void
schools_undo(struct dir_op *op, const char *dn)
{
	struct rb_error ignore;
	char *vdn = schools_viewers_dn(dn);

	error_clear(&ignore);
	if (vdn != NULL)
		dir_delete_dn(op, vdn, NULL, &ignore);
	error_clear(&ignore);
	dir_delete_dn(op, dn, NULL, &ignore);
	free(vdn);
}

/* ---- flows ---- */

json_t *
dir_school_create(const struct dir_ctx *ctx, const json_t *school, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL, *added = NULL, *after = NULL, *vals = NULL, *out = NULL;
	char *base = NULL, *dn = NULL, *url = NULL;
	const char *uuid, *region;
	LDAPMod **mods = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = schools_to_ldap(school, err);
	if (map == NULL || schools_check(&op, map, NULL, err) < 0)
		goto done;
	entry_map_add(map, "rbsource", ctx->source);
	base = schools_base(&op, err);
	if (base == NULL)
		goto done;
	added = dir_add_entry(&op, base, "cn", "name", map, school_attrs, "a school named", err);
	if (added == NULL)
		goto done;
	dn = strdup(entry_map_first(added, "dn"));
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* The URLs name the entryUUID, known only now. */
	uuid = entry_map_first(added, "entryuuid");
	region = entry_map_first(map, "rbregionref");
	url = uuid ? schools_url(&op, "Manage", uuid, region) : NULL;
	vals = url ? json_pack("[s]", url) : NULL;
	mods = vals ? entry_mods_append(NULL, LDAP_MOD_ADD, "rbManagersURL", vals) : NULL;
	mods = mods ? entry_mods_append(mods, LDAP_MOD_REPLACE, "rbMembersURL", vals) : NULL;
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		schools_undo(&op, dn);
		goto done;
	}
	after = dir_write(&op, false, dn, mods, NULL, school_attrs, err);
	if (after == NULL || schools_add_viewers(&op, dn, uuid, region, err) < 0) {
		schools_undo(&op, dn);
		goto done;
	}
	out = schools_one(&op, after, err);
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(added);
	json_decref(after);
	json_decref(vals);
	free(base);
	free(dn);
	free(url);
	dir_op_end(&op);
	return out;
}

/*
 * Write `school` (the complete new state) over the entry `old` (a map):
 * modrdn on a name change, the owned attributes, and both URLs when the
 * region changed. Returns the NEW map after the write (or of the
 * unchanged entry), or NULL with *err.
 */
static json_t *
schools_write(struct dir_op *op, const json_t *old, const json_t *school, const char *if_match,
              struct rb_error *err)
{
	const char *uuid = entry_map_first(old, "entryuuid");
	const char *old_region = entry_map_first(old, "rbregionref"), *region;
	json_t *map = schools_to_ldap(school, err), *after = NULL, *vals = NULL;
	char *rdn = NULL, *url = NULL;
	LDAPMod **mods = NULL;
	bool region_changed;

	if (map == NULL || schools_check(op, map, uuid, err) < 0)
		goto done;
	region = entry_map_first(map, "rbregionref");
	region_changed = (region == NULL) != (old_region == NULL) ||
	                 (region != NULL && strcasecmp(region, old_region) != 0);
	/* modrdn of a non-leaf entry: cn=viewers moves with the school. */
	if (strcmp(entry_map_first(old, "cn"), entry_map_first(map, "cn")) != 0 &&
	    (rdn = dir_rdn("cn", entry_map_first(map, "cn"), "name", err)) == NULL)
		goto done;
	json_object_del(map, "cn");
	json_object_del(map, "objectclass");
	mods = entry_mods_build(old, map, schools_owned, NULL);
	if (mods == NULL)
		goto oom;
	if (region_changed) {
		url = schools_url(op, "Manage", uuid, region);
		vals = url ? json_pack("[s]", url) : NULL;
		mods =
		    vals ? entry_mods_append(mods, LDAP_MOD_REPLACE, "rbManagersURL", vals) : NULL;
		mods =
		    mods ? entry_mods_append(mods, LDAP_MOD_REPLACE, "rbMembersURL", vals) : NULL;
		if (mods == NULL)
			goto oom;
	}
	if (entry_mods_count(mods) == 0 && rdn == NULL) {
		if (dir_check_version(old, if_match, err) == 0)
			after = json_deep_copy(old);
		goto done;
	}
	after = dir_rename_modify(op, entry_map_first(old, "dn"), rdn, mods, if_match, school_attrs,
	                          err);
	if (after == NULL && rdn != NULL && err->status == 409)
		snprintf(err->detail, sizeof(err->detail),
		         "a school named %s already exists in this tenant",
		         entry_map_first(map, "cn"));
	if (after != NULL && region_changed &&
	    schools_set_viewers_url(op, entry_map_first(after, "dn"), uuid, region, err) < 0) {
		json_decref(after);
		after = NULL;
	}
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(vals);
	free(rdn);
	free(url);
	return after;
}

static const struct dir_owned schools_type = {"school", "School", schools_find, schools_one,
                                              schools_write};

json_t *
dir_school_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	return dir_owned_get(&schools_type, ctx, id, err);
}

json_t *
dir_school_replace(const struct dir_ctx *ctx, const char *id, const json_t *school,
                   const char *if_match, struct rb_error *err)
{
	return dir_owned_replace(&schools_type, ctx, id, school, if_match, err);
}

json_t *
dir_school_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                 const char *if_match, struct rb_error *err)
{
	return dir_owned_patch(&schools_type, ctx, id, patch_body, if_match, err);
}

int
dir_school_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                  struct rb_error *err)
{
	struct dir_op op;
	json_t *old;
	char *vdn = NULL;
	const char *dn;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	old = schools_find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, "school", err) < 0 ||
	    access_school_unreferenced(&op, entry_map_first(old, "entryuuid"), err) < 0)
		goto done;
	dn = entry_map_first(old, "dn");
	/* Checked before the child goes; the school's own delete asserts it again. */
	if (dir_check_version(old, if_match, err) < 0)
		goto done;
	vdn = schools_viewers_dn(dn);
	if (vdn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_delete_dn(&op, vdn, NULL, err) < 0) {
		if (err->status != 404)
			goto done;
		error_clear(err); /* no child (made by hand): nothing to delete */
	}
	if (dir_delete_dn(&op, dn, if_match, err) < 0) {
		/* Put the child back, so the school keeps its viewers list. */
		struct rb_error ignore;
		error_clear(&ignore);
		schools_add_viewers(&op, dn, entry_map_first(old, "entryuuid"),
		                    entry_map_first(old, "rbregionref"), &ignore);
		goto done;
	}
	rc = access_school_strip(&op, entry_map_first(old, "entryuuid"),
	                         entry_map_first(old, "rbexternalid"), err);
done:
	json_decref(old);
	free(vdn);
	dir_op_end(&op);
	return rc;
}

/*
 * Why not dir_page_search: rbSchool entries carry rbManagersURL, so they
 * are dynlist's dynamic entries, and slapd (2.5/2.6) sends dynamic entries
 * that match a search outside the sssvlv window as well: a sorted VLV page
 * of count=2 came back with every school of the tenant (measured in
 * 24-schools.t). Schools are few per tenant, so the candidates the LDAP
 * filter selects (at most max_results, else 400 tooMany) are read, checked
 * with the engine's evaluator, sorted (stable; default: creation order,
 * then id) and sliced here.
 */
json_t *
dir_school_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                  struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type("School");
	const struct config *cfg = ctx->dir->cfg;
	const struct sort_key *k = q->sort;
	struct sort_key def_id, def_created;
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	json_t *maps = NULL, *all = NULL, *out = NULL, **items = NULL;
	char *base = NULL, *filter = NULL;
	size_t i, n = 0;
	bool exact;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = schools_base(&op, err);
	filter =
	    base ? query_translate(q->filter, school_query, SCHOOL_OBJFILTER, ctx->source, &exact)
	         : NULL;
	if (filter == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, school_attrs, NULL,
	               cfg->max_results + 1, &res, err) < 0)
		goto done;
	maps = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e))
		json_array_append_new(maps, entry_to_map(op.conn->ld, e));
	all = schools_to_json(&op, maps, false, err);
	if (all == NULL)
		goto done;
	items = calloc(json_array_size(all) + 1, sizeof(*items));
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
	free(filter);
	dir_op_end(&op);
	return out;
}
