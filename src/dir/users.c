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

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/grants.h"
#include "dir/query.h"
#include "engine/patch.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define USER_OBJFILTER DIR_PERSON_FILTER

/*
 * What a User read asks for: every user attribute ("*"), plus the
 * operational ones the mapping reads (a person's groups come with "*": its
 * rbGroupRef values). One name instead of the 56 it
 * replaces: slapd parses each requested name (slap_bv2ad) and matches
 * every attribute of the entry against the list, which cost 58,000 of a
 * person search's 150,000 instructions (callgrind, docs/schema.md, "Cost
 * per request"). "*" expands no dynlist attribute: every search of the
 * bridge carries ManageDsaIT (dir.c). Secrets it would bring
 * (userPassword, rbInviteTokenHash) never enter a map (entry.c).
 */
static char *user_attrs[] = {
    "*",
    DIR_OPERATIONAL,
    NULL,
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

static char *user_manager_attrs[] = {"entryUUID", NULL};

/* Put `grants` (stolen) into the admin extension of `user`, if there are any. */
static void
users_set_grants(json_t *user, json_t *grants)
{
	json_t *admin, *schemas;
	size_t i;
	bool listed = false;

	if (json_array_size(grants) == 0) {
		json_decref(grants);
		return;
	}
	admin = json_object_get(user, SCHEMA_ADMIN_USER);
	if (admin == NULL) {
		admin = json_object();
		json_object_set_new(user, SCHEMA_ADMIN_USER, admin);
	}
	json_object_set_new(admin, "grants", grants);
	schemas = json_object_get(user, "schemas");
	for (i = 0; i < json_array_size(schemas); i++)
		if (!strcmp(json_string_value(json_array_get(schemas, i)), SCHEMA_ADMIN_USER))
			listed = true;
	if (!listed)
		json_array_append_new(schemas, json_string(SCHEMA_ADMIN_USER));
	/* meta stays last for readability */
	{
		json_t *meta = json_incref(json_object_get(user, "meta"));
		json_object_del(user, "meta");
		json_object_set_new(user, "meta", meta);
	}
}

static json_t *
users_to_json(struct dir_op *op, const json_t *maps, bool want_members, struct rb_error *err)
{
	json_t *groups = json_object(), *managers = json_object(), *out = json_array(), *map;
	char location[600];
	size_t i, j;

	(void)want_members;
	snprintf(location, sizeof(location), "%s/Users", op->ctx->base_url);
	json_array_foreach(maps, i, map)
	{
		const char *mgr = entry_map_first(map, "manager");
		access_group_ids(map, groups);
		if (mgr != NULL)
			json_object_set_new(managers, mgr, json_null());
	}
	if (op->ctx->dir->groups != NULL && json_object_size(groups) > 0) {
		/* What a response shows of the groups comes from the table when it can. */
		char *gbase = dir_ou_dn(op, "groups");
		if (gbase != NULL)
			grouptab_fill(op->ctx->dir->groups, gbase, groups);
		free(gbase);
	}
	if (dir_resolve_ids(op, "groups", access_group_attrs, groups, true, err) < 0 ||
	    dir_resolve_dns(op, "people", user_manager_attrs, managers, false, err) < 0) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	json_array_foreach(maps, i, map)
	{
		struct map_meta meta;
		json_t *mine = access_groups_of(map, groups), *garr = NULL, *g, *user;
		const char *mgr = entry_map_first(map, "manager");
		const char *mgr_id =
		    mgr ? entry_map_first(json_object_get(managers, mgr), "entryuuid") : NULL;
		json_array_foreach(mine, j, g)
		{
			const char *gid = entry_map_first(g, "entryuuid");
			const char *display = entry_map_first(g, "displayname");
			char ref[700];
			if (gid == NULL)
				continue;
			if (garr == NULL)
				garr = json_array();
			snprintf(ref, sizeof(ref), "%s/Groups/%s", op->ctx->base_url, gid);
			json_array_append_new(
			    garr, json_pack("{s:s, s:s, s:s?, s:s}", "value", gid, "$ref", ref,
			                    "display", display ? display : entry_map_first(g, "cn"),
			                    "type", "direct"));
		}
		dir_meta_from_map(map, location, &meta);
		user = map_user_from_ldap(map, op->ctx->source, &meta, mgr_id, garr);
		users_set_grants(user, grants_list(map, mine));
		json_array_append_new(out, user);
		json_decref(mine);
	}
done:
	json_decref(groups);
	json_decref(managers);
	return out;
}

static const struct dir_type user_type_def = {
    .ou = "people",
    .objfilter = USER_OBJFILTER,
    .own = dir_map_is_person,
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
	return dir_convert_one(op, users_to_json, map, false, err);
}

static const char *
users_manager_id(const json_t *user)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(user, SCHEMA_ENTERPRISE_USER), "manager"), "value"));
}

/*
 * users_manager_dn — the DN of the person `user`'s enterprise manager names,
 * in *dn (NEW string), or *dn = NULL when it names none. A manager that is
 * no person of this tenant (not provisioned yet, or from another tenant)
 * does not fail the write: the person is provisioned without a manager,
 * the response built from the entry says so, and the log says why; a later
 * PUT or PATCH sets it once that person exists (SPEC §2.2). 0, or -1 with
 * *err when the directory failed.
 */
static int
users_manager_dn(struct dir_op *op, const json_t *user, char **dn, struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	const char *id = users_manager_id(user);
	char *base;
	json_t *map;

	*dn = NULL;
	if (id == NULL)
		return 0;
	base = dir_ou_dn(op, "people");
	if (base == NULL)
		return error_set(err, 500, NULL, "out of memory");
	map = dir_find_by_id(op, base, USER_OBJFILTER, id, attrs, err);
	if (map == NULL && err->status == 404)
		map = dir_find_by_former_id(op, base, USER_OBJFILTER, id, attrs, err);
	free(base);
	if (map == NULL && err->status == 404) {
		const char *who = json_string_value(json_object_get(user, "userName"));

		error_clear(err);
		log_warnx("tenant %s source %s: user %.256s: enterprise manager %s is no person of "
		          "this tenant; stored without a manager",
		          op->ctx->tenant, op->ctx->source, who != NULL ? who : "(no userName)",
		          dir_id_valid(id) ? id : "(not an id)");
		return 0;
	}
	if (map == NULL)
		return -1;
	*dn = strdup(entry_map_first(map, "dn"));
	json_decref(map);
	return *dn != NULL ? 0 : error_set(err, 500, NULL, "out of memory");
}

/*
 * users_to_map — the attribute map the caller's write of `user` produces
 * (map_user_to_ldap), with the manager resolved (users_manager_dn). NEW
 * map, or NULL with *err.
 */
static json_t *
users_to_map(struct dir_op *op, const json_t *user, struct rb_error *err)
{
	json_t *map;
	char *mgr_dn = NULL;

	if (users_manager_dn(op, user, &mgr_dn, err) < 0)
		return NULL;
	map = map_user_to_ldap(user, op->ctx->source, mgr_dn, err);
	free(mgr_dn);
	return map;
}

/*
 * What a User write owns: map_user_owned's, rbbindlocked (absent = remove
 * it), and rbdisabledat: a write is only ever over a retained entry when a
 * POST reuses it (users_reuse), and then it makes it a person again.
 */
static bool
users_write_owned(const char *desc, void *arg)
{
	return map_user_owned(desc, arg) || grants_access_desc(desc) ||
	       !strcmp(desc, "rbdisabledat");
}

/* Add `dns` (an array of DNs) to rbPossibleDuplicate of `dn`; best effort. */
static void
users_add_duplicates(struct dir_op *op, const char *dn, const json_t *dns, struct rb_error *err)
{
	static char *none[] = {"1.1", NULL};
	LDAPMod **mods = entry_mods_append(NULL, LDAP_MOD_ADD, "rbPossibleDuplicate", dns);
	json_t *after = mods ? dir_write(op, false, dn, mods, NULL, none, err) : NULL;

	json_decref(after);
	entry_mods_free(mods);
}

/*
 * Record possible duplicates of a new person (SPEC §1): other people of the
 * tenant with one of its e-mail addresses, or with its given and family
 * name. Both entries get rbPossibleDuplicate pointing at the other; nothing
 * is merged. Listable with one search: (rbPossibleDuplicate=*).
 *
 * At most USERS_DUP_MAX namesakes are recorded; a name shared by more is
 * too common to mean anything and records none. The search asks slapd for
 * one DN more than that and no attributes, so a create reads at most what
 * it may record (plus the one DN that says "too many"), not 50 entries.
 */
enum { USERS_DUP_MAX = 5 };

static int
users_note_duplicates(struct dir_op *op, const json_t *after, struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	const char *dn = entry_map_first(after, "dn"), *desc;
	const char *given = entry_map_first(after, "givenname");
	const char *family = entry_map_first(after, "sn");
	LDAPMessage *res = NULL, *e;
	json_t *vals, *self = NULL, *others = NULL;
	char *base = dir_ou_dn(op, "people"), *filter = NULL;
	size_t cap = 128, len, i, terms = 0;
	bool synthetic = json_array_size(json_object_get(after, "rbsynthetic")) > 0;
	int rc = -1;

	json_object_foreach((json_t *)after, desc, vals)
	{
		if (entry_desc_base_len(desc) == 4 && !strncmp(desc, "mail", 4))
			for (i = 0; i < json_array_size(vals); i++)
				cap += json_string_length(json_array_get(vals, i)) * 3 + 16;
	}
	if (given != NULL && family != NULL && !synthetic)
		cap += (strlen(given) + strlen(family)) * 3 + 64;
	filter = malloc(cap);
	if (filter == NULL || base == NULL || dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* The terms first, objectClass last (see dir_find_by_id). */
	len = (size_t)snprintf(filter, cap, "(&(|");
	json_object_foreach((json_t *)after, desc, vals)
	{
		if (entry_desc_base_len(desc) != 4 || strncmp(desc, "mail", 4) != 0)
			continue;
		for (i = 0; i < json_array_size(vals); i++) {
			char *esc =
			    escape_filter_value(json_string_value(json_array_get(vals, i)),
			                        json_string_length(json_array_get(vals, i)));
			if (esc == NULL)
				continue;
			len += (size_t)snprintf(filter + len, cap - len, "(mail=%s)", esc);
			free(esc);
			terms++;
		}
	}
	if (given != NULL && family != NULL && !synthetic) {
		char *g = escape_filter_value(given, strlen(given));
		char *f = escape_filter_value(family, strlen(family));
		if (g != NULL && f != NULL) {
			len +=
			    (size_t)snprintf(filter + len, cap - len,
			                     "(&(givenName=%s)(sn=%s)(!(rbSynthetic=sn)))", g, f);
			terms++;
		}
		free(g);
		free(f);
	}
	snprintf(filter + len, cap - len, ")(!(entryUUID=%s))" USER_OBJFILTER ")",
	         entry_map_first(after, "entryuuid"));
	if (terms == 0) {
		rc = 0;
		goto done;
	}
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, USERS_DUP_MAX + 1, &res,
	               err) < 0) {
		if (err->status == 400) { /* tooMany: a common name, record none */
			error_clear(err);
			rc = 0;
		}
		goto done;
	}
	if (res != NULL && ldap_count_entries(op->conn->ld, res) > USERS_DUP_MAX) {
		rc = 0; /* a common name: record none */
		goto done;
	}
	self = json_pack("[s]", dn);
	others = json_array();
	if (self == NULL || others == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	op->permissive = true;
	/* Best effort: a failure here must not fail the create that succeeded. One
	 * modify on each namesake, then one on the new entry naming them all. */
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		char *other = ldap_get_dn(op->conn->ld, e);
		if (other == NULL)
			continue;
		json_array_append_new(others, json_string(other));
		users_add_duplicates(op, other, self, err);
		ldap_memfree(other);
	}
	if (json_array_size(others) > 0)
		users_add_duplicates(op, dn, others, err);
	error_clear(err);
	op->permissive = false;
	rc = 0;
done:
	json_decref(self);
	json_decref(others);
	ldap_msgfree(res);
	free(base);
	free(filter);
	return rc;
}

bool
dir_user_password_writable(const struct dir_ctx *ctx)
{
	/* A token line with passwords=yes (config.h); the write path below and
	 * /ServiceProviderConfig's changePassword both ask here. */
	return ctx->passwords;
}

/*
 * Take `password` out of `map` (what map_user_to_ldap made): it never goes
 * into an add or modify; dir_password_set hands it to slapd afterwards.
 * *pw is a NEW string (free it) or NULL when the resource has none. A
 * token without passwords=yes gets 403 mutability (SPEC §1: nobody takes
 * over another source's administrator through credentials).
 */
static int
users_take_password(const struct dir_op *op, json_t *map, char **pw, struct rb_error *err)
{
	const char *v = entry_map_first(map, "userpassword");

	*pw = NULL;
	if (v == NULL)
		return 0;
	if (!dir_user_password_writable(op->ctx)) {
		json_object_del(map, "userpassword");
		return error_set(err, 403, SCIM_MUTABILITY,
		                 "source %s may not set passwords (its token line has no "
		                 "passwords=yes)",
		                 op->ctx->source);
	}
	*pw = strdup(v);
	json_object_del(map, "userpassword");
	return *pw ? 0 : error_set(err, 500, NULL, "out of memory");
}

/*
 * Keep other people's possible-duplicate flags pointing at a person who was
 * renamed (`new_dn`) or deleted (NULL). The flags are recorded on both
 * entries (users_note_duplicates), so the namesakes are the DNs in the
 * person's own rbPossibleDuplicate (`old`, its map before the write): no
 * search. Each gets `old`'s DN replaced or removed: value-level deletes and
 * adds commute with other writers, no assertion needed. Best effort: a
 * failure is logged, never the request's error.
 */
static void
users_duplicates_repoint(struct dir_op *op, const json_t *old, const char *new_dn)
{
	static char *none[] = {"entryCSN", NULL};
	const json_t *others = json_object_get(old, "rbpossibleduplicate");
	const char *old_dn = entry_map_first(old, "dn");
	json_t *oldv, *newv, *other;
	struct rb_error err;
	size_t i;

	if (json_array_size(others) == 0 || old_dn == NULL)
		return;
	oldv = json_pack("[s]", old_dn);
	newv = new_dn ? json_pack("[s]", new_dn) : NULL;
	error_clear(&err);
	op->permissive = true;
	json_array_foreach(others, i, other)
	{
		const char *dn = json_string_value(other);
		LDAPMod **mods =
		    oldv ? entry_mods_append(NULL, LDAP_MOD_DELETE, "rbPossibleDuplicate", oldv)
		         : NULL;
		json_t *after;
		if (mods != NULL && newv != NULL)
			mods = entry_mods_append(mods, LDAP_MOD_ADD, "rbPossibleDuplicate", newv);
		after = dn && mods ? dir_write(op, false, dn, mods, NULL, none, &err) : NULL;
		if (after == NULL && error_is_set(&err) && err.status != 404)
			log_warnx("possible-duplicate flag of %s not updated: %s", dn, err.detail);
		error_clear(&err);
		json_decref(after);
		entry_mods_free(mods);
	}
	op->permissive = false;
	json_decref(oldv);
	json_decref(newv);
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
	map = base ? dir_find_person_by_id(&op, base, id, user_attrs, err) : NULL;
	if (map != NULL)
		user = users_one(&op, map, err);
	json_decref(map);
	free(base);
	dir_op_end(&op);
	return user;
}

/*
 * A create with a password is two LDAP operations (the add, then the
 * password-modify extended operation, RFC 3062): the entry is added
 * carrying rbCreatePending "<source> <nonce>" and the marker is removed
 * (that value only) once the password is set, before the answer. An
 * entry still carrying a marker was never answered 2xx: the directory
 * failed in between (slapd killed, the connection lost) and the client got
 * 503. Such an entry is taken away (asserted on its entryCSN) by the next
 * create of the same userName from the same source — a client retrying
 * after the 503 converges — and by the repair (dir_user_repair_creates)
 * once it is older than the settle time.
 */
#define USERS_MARKER "rbcreatepending"

/* A NEW "<source> <32 hex digits>" marker, or NULL. */
static char *
users_marker(const char *source)
{
	unsigned char rnd[16];
	char hex[sizeof(rnd) * 2 + 1];
	struct strbuf b = {0};
	size_t i;

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) != 0)
		return NULL;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	strbuf_add(&b, source);
	strbuf_add(&b, " ");
	strbuf_add(&b, hex);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Does `marker` (may be NULL) name `source`? */
static bool
users_marker_of(const char *marker, const char *source)
{
	size_t n = strlen(source);

	return marker != NULL && !strncmp(marker, source, n) && marker[n] == ' ';
}

/*
 * The create of `dn` was refused as existing (409): if the entry there is
 * a half create of the same source (a marker of `source`, held by `source`
 * alone), delete it, asserted on its entryCSN. 1 deleted (add again), 0
 * not a half create (the 409 stands), -1 with *err.
 */
static int
users_reclaim(struct dir_op *op, const char *dn, const char *source, struct rb_error *err)
{
	static char *attrs[] = {"rbCreatePending", "rbSource", "entryCSN", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *m = NULL;
	int rc = 0;

	if (dir_search(op, dn, LDAP_SCOPE_BASE, USER_OBJFILTER, attrs, NULL, 1, &res, err) < 0) {
		rc = -1;
		goto done;
	}
	e = res ? ldap_first_entry(op->conn->ld, res) : NULL;
	m = e ? entry_to_map(op->conn->ld, e) : NULL;
	if (m == NULL || !users_marker_of(entry_map_first(m, USERS_MARKER), source) ||
	    json_array_size(json_object_get(m, "rbsource")) != 1 ||
	    strcmp(entry_map_first(m, "rbsource"), source) != 0)
		goto done;
	if (dir_delete_dn(op, dn, entry_map_first(m, "entrycsn"), err) < 0) {
		rc = err->status == 412 || err->status == 404 ? 0 : -1;
		goto done;
	}
	log_info("create of %s: took away the half create a failed earlier request left", dn);
	rc = 1;
done:
	ldap_msgfree(res);
	json_decref(m);
	return rc;
}

/*
 * Finish the create of `after` (a map, borrowed): set the password, then
 * remove `marker`. Returns the NEW map after the marker's removal, or NULL
 * with *err. When the password is refused the entry is taken away if it
 * still is as added (asserted on its entryCSN); when the connection failed
 * it stays, marked, for the retry or the repair.
 */
static json_t *
users_create_finish(struct dir_op *op, const json_t *after, const char *pw, const char *marker,
                    struct rb_error *err)
{
	const char *dn = entry_map_first(after, "dn");
	json_t *vals = json_pack("[s]", marker), *done = NULL;
	LDAPMod **mods = NULL;
	struct rb_error ignore;

	if (vals == NULL ||
	    (mods = entry_mods_append(NULL, LDAP_MOD_DELETE, "rbCreatePending", vals)) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_password_set(op, dn, pw, err) < 0) {
		error_clear(&ignore);
		if (err->status < 500 || !op->broken)
			dir_delete_dn(op, dn, entry_map_first(after, "entrycsn"), &ignore);
		goto done;
	}
	done = dir_write(op, false, dn, mods, NULL, user_attrs, err);
done:
	entry_mods_free(mods);
	json_decref(vals);
	return done;
}

static json_t *users_write(struct dir_op *op, const json_t *old, const json_t *user,
                           const char *if_match, struct rb_error *err);

/*
 * users_reuse — a POST whose userName names a retained person (retain.c):
 * the new resource is written over that entry as the poster's PUT would be
 * (same entryUUID; rbDisabledAt goes, the poster's grant is the only one:
 * the old ones were removed at the release). Returns the NEW resource; NULL
 * with *err untouched when there is no retained person of that name (the
 * create's 409 stands), or with *err replaced (409 when somebody reused or
 * restored it first, …).
 */
static json_t *
users_reuse(struct dir_op *op, const json_t *user, struct rb_error *err)
{
	const char *name = json_string_value(json_object_get(user, "userName"));
	struct rb_error ferr;
	json_t *old, *out;

	error_clear(&ferr);
	old = name && retain_enabled(op) ? retain_find_name(op, name, user_attrs, &ferr) : NULL;
	if (old == NULL)
		return NULL;
	error_clear(err);
	/* never the old password: a new one only if this POST carries it */
	out = retain_forget_password(op, old, err) == 0 ? users_write(op, old, user, NULL, err)
	                                                : NULL;
	if (out == NULL && err->status == 412) {
		error_clear(err);
		error_set(err, 409, SCIM_UNIQUENESS, "userName %s already exists in this tenant",
		          name);
	}
	if (out != NULL)
		log_info("tenant %s source %s: %s re-created: the retained entry is reused",
		         op->ctx->tenant, op->ctx->source, entry_map_first(old, "dn"));
	json_decref(old);
	return out;
}

json_t *
dir_user_create(const struct dir_ctx *ctx, const json_t *user, struct rb_error *err)
{
	struct dir_op op;
	char *base = NULL, *pw = NULL, *marker = NULL, *rdn = NULL, *dn = NULL;
	json_t *map = NULL, *after = NULL, *out = NULL;
	int reclaimed;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = users_to_map(&op, user, err);
	if (map == NULL || users_take_password(&op, map, &pw, err) < 0 ||
	    access_grant_prepare(&op, map, err) < 0 ||
	    access_summarize(&op, NULL, ctx->source, map, err) < 0)
		goto done;
	entry_map_add(map, "rbsource", ctx->source);
	base = dir_ou_dn(&op, "people");
	if (base == NULL || (pw != NULL && ((marker = users_marker(ctx->source)) == NULL ||
	                                    entry_map_add(map, USERS_MARKER, marker) < 0))) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_add_entry(&op, base, "uid", "userName", map, user_attrs, "userName", err);
	if (after == NULL && err->status == 409) {
		struct rb_error first = *err;
		rdn = dir_rdn("uid", entry_map_first(map, "uid"), "userName", err);
		dn = rdn ? escape_dn_join(rdn, base) : NULL;
		reclaimed = dn ? users_reclaim(&op, dn, ctx->source, err) : -1;
		if (reclaimed < 0)
			goto done;
		*err = first;
		if (reclaimed != 1) {
			out = users_reuse(&op, user, err);
			goto done;
		}
		error_clear(err);
		after =
		    dir_add_entry(&op, base, "uid", "userName", map, user_attrs, "userName", err);
	}
	if (after == NULL)
		goto done;
	if (pw != NULL) {
		json_t *whole = users_create_finish(&op, after, pw, marker, err);
		if (whole == NULL)
			goto done;
		json_decref(after);
		after = whole;
	}
	if (users_note_duplicates(&op, after, err) < 0)
		error_clear(err); /* recorded best effort; the person exists */
	out = users_one(&op, after, err);
done:
	json_decref(map);
	json_decref(after);
	free(base);
	free(pw);
	free(marker);
	free(rdn);
	free(dn);
	dir_op_end(&op);
	return out;
}

int
dir_user_repair_creates(struct dir_op *op, int settle_s, int *fixed, struct rb_error *err)
{
	static char *attrs[] = {"rbCreatePending", "rbSource", "entryCSN", NULL};
	LDAPMessage *res = NULL, *e;
	char *people = dir_ou_dn(op, "people"), filter[96], stamp[32];
	time_t limit = time(NULL) - settle_s;
	struct tm tm;
	int rc = -1;

	*fixed = 0;
	if (people == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	gmtime_r(&limit, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%SZ", &tm);
	snprintf(filter, sizeof(filter), "(&(rbCreatePending=*)(createTimestamp<=%s))", stamp);
	if (dir_search(op, people, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e), *vals;
		const char *dn = entry_map_first(m, "dn"),
		           *marker = entry_map_first(m, USERS_MARKER);
		const char *owner = entry_map_first(m, "rbsource");
		LDAPMod **mods = NULL;
		json_t *after = NULL;
		int drc = 0;

		if (dn == NULL || marker == NULL) {
			json_decref(m);
			continue;
		}
		if (json_array_size(json_object_get(m, "rbsource")) == 1 && owner != NULL &&
		    users_marker_of(marker, owner)) {
			/* Held by the creating source alone: the half create goes. */
			drc = dir_delete_dn(op, dn, entry_map_first(m, "entrycsn"), err);
			if (drc == 0)
				log_info("repair: deleted %s, a create never answered", dn);
		} else if ((vals = json_pack("[s]", marker)) != NULL) {
			/* Another source wrote it since (and was answered): keep it, drop the
			 * marker. */
			mods = entry_mods_append(NULL, LDAP_MOD_DELETE, "rbCreatePending", vals);
			json_decref(vals);
			after = mods ? dir_write(op, false, dn, mods, NULL, attrs, err) : NULL;
			entry_mods_free(mods);
			drc = after ? 0 : -1;
			json_decref(after);
		}
		json_decref(m);
		if (drc == 0)
			(*fixed)++;
		else if (err->status == 404 || err->status == 412 || err->status == 409)
			error_clear(err); /* changed meanwhile: the next round looks again */
		else
			goto done;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(people);
	return rc;
}

/*
 * The mass-deprovision guard on a write that suspends: when `map` (the
 * caller's write) turns the source's `active` to false on `old`, ask
 * guard_check; if it holds the suspension, the flag in `map` goes back to
 * old's, and the rest of the write proceeds. 0, or -1 with *err.
 */
static int
users_guard_suspend(struct dir_op *op, const json_t *old, json_t *map, struct rb_error *err)
{
	char desc[128];
	const char *was, *now;
	int rc;

	snprintf(desc, sizeof(desc), "rbactive;x-src-%s", op->ctx->source);
	was = entry_map_first(old, desc);
	now = entry_map_first(map, desc);
	if (now == NULL || strcasecmp(now, "FALSE") != 0 || (was && !strcasecmp(was, "FALSE")))
		return 0;
	rc = guard_check(op, "suspend", old, err);
	if (rc <= 0)
		return rc;
	if (was != NULL)
		json_object_set_new(map, desc, json_pack("[s]", was));
	else
		json_object_del(map, desc);
	return 0;
}

/*
 * After a write of `old` by the caller's source that landed (or changed
 * nothing): unless this operation held a removal, or the source's `active`
 * in `map` is false, the source's held removals of the person are void
 * (guard_cancel): one search under ou=guard (noSuchObject in a tenant
 * where the guard never held anything) on each such write.
 */
static void
users_guard_cancel(struct dir_op *op, const json_t *old, const json_t *map)
{
	char desc[128];
	const char *now;

	if (op->guard == 2) /* this write held a removal: nothing to cancel */
		return;
	snprintf(desc, sizeof(desc), "rbactive;x-src-%s", op->ctx->source);
	now = entry_map_first(map, desc);
	if (now != NULL && !strcasecmp(now, "FALSE"))
		return;
	guard_cancel(op, entry_map_first(old, "entryuuid"));
}

/*
 * Write `user` (the complete new state as the caller's source sees it) over
 * the entry `old` (a map): one rename + modify (dir_rename_modify) asserting
 * old's entryCSN, so the derived values computed from `old` land only on
 * the entry they were computed from. `if_match` (the client's) must name
 * old's version. Returns the NEW resource after the write, or NULL with
 * *err; 412 means the person changed since `old` was read (the callers
 * read again and retry when the client sent no If-Match).
 */
static json_t *
users_write(struct dir_op *op, const json_t *old, const json_t *user, const char *if_match,
            struct rb_error *err)
{
	const char *source = op->ctx->source;
	const char *old_uid = entry_map_first(old, "uid");
	char *rdn = NULL, *pw = NULL;
	json_t *map = NULL, *after = NULL, *out = NULL;
	LDAPMod **mods = NULL;

	if (dir_check_version(old, if_match, err) < 0)
		goto done;
	map = users_to_map(op, user, err);
	if (map == NULL || users_take_password(op, map, &pw, err) < 0 ||
	    access_grant_prepare(op, map, err) < 0 || users_guard_suspend(op, old, map, err) < 0 ||
	    access_summarize(op, old, source, map, err) < 0)
		goto done;
	if (strcmp(old_uid, entry_map_first(map, "uid")) != 0 &&
	    (rdn = dir_rdn("uid", entry_map_first(map, "uid"), "userName", err)) == NULL)
		goto done;
	json_object_del(map, "uid");
	json_object_del(map, "objectclass");
	mods = entry_mods_build(old, map, users_write_owned, (void *)source);
	if (mods == NULL)
		goto oom;
	mods = dir_mods_hold(mods, old, source);
	if (mods == NULL)
		goto oom;
	if (entry_mods_count(mods) == 0 && rdn == NULL) {
		out = users_one(op, old, err);
		users_guard_cancel(op, old, map); /* re-activating after a held suspension */
		goto done;
	}
	after = dir_rename_modify(op, entry_map_first(old, "dn"), rdn, mods,
	                          entry_map_first(old, "entrycsn"), user_attrs, err);
	if (after == NULL)
		goto done;
	if (rdn != NULL)
		users_duplicates_repoint(op, old, entry_map_first(after, "dn"));
	out = users_one(op, after, err);
	if (out != NULL)
		users_guard_cancel(op, old, map);
	/* The password last: the rest of the write has landed when it fails. */
	if (out != NULL && pw != NULL &&
	    dir_password_set(op, entry_map_first(after, "dn"), pw, err) < 0) {
		json_decref(out);
		out = NULL;
	}
	goto done;
oom:
	error_set(err, 500, NULL, "out of memory");
done:
	if (out != NULL && pw != NULL && after == NULL &&
	    dir_password_set(op, entry_map_first(old, "dn"), pw, err) < 0) {
		json_decref(out); /* nothing else changed: only the password to set */
		out = NULL;
	}
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	free(rdn);
	free(pw);
	return out;
}

/* The person with entryUUID `id` (NEW map), or NULL with *err (404). */
static json_t *
users_find(struct dir_op *op, const char *id, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "people");
	json_t *map;

	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	map = dir_find_person_by_id(op, base, id, user_attrs, err);
	free(base);
	return map;
}

/*
 * Whether a failed attempt is worth another: the person changed between
 * our read and our asserted write (412) and the client did not ask for a
 * version of its own. Clears *err when it is.
 */
static bool
users_retry(const char *if_match, int attempt, struct rb_error *err)
{
	if (if_match != NULL || err->status != 412 || attempt + 1 >= DIR_RETRIES)
		return false;
	error_clear(err);
	return true;
}

json_t *
dir_user_replace(const struct dir_ctx *ctx, const char *id, const json_t *user,
                 const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old = NULL, *out = NULL;
	int attempt;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	for (attempt = 0;; attempt++) {
		json_decref(op.groups); /* read the role groups afresh on a retry */
		op.groups = NULL;
		old = users_find(&op, id, err);
		out = old ? users_write(&op, old, user, if_match, err) : NULL;
		json_decref(old);
		if (out != NULL || !users_retry(if_match, attempt, err))
			break;
	}
	if (out == NULL) /* a suspension counted but not written: its place back */
		guard_refund(&op);
	dir_op_end(&op);
	return out;
}

/*
 * A source with no `active` flag of its own reads back a derived value
 * (whether any other source's is active). A PATCH that leaves `active` as it
 * read it must not store that value as the source's own flag: attaching a
 * grant to a person another source suspended would otherwise be born
 * suspended. Drops "active" from `patched` (borrowed) in that case.
 */
static void
users_keep_derived_active(const json_t *old, const char *source, const json_t *before,
                          json_t *patched)
{
	char desc[128];

	snprintf(desc, sizeof(desc), "rbactive;x-src-%s", source);
	if (entry_map_first(old, desc) != NULL)
		return;
	if (json_equal(json_object_get(before, "active"), json_object_get(patched, "active")))
		json_object_del(patched, "active");
}

/* One PATCH attempt over a fresh read of the person. NEW resource or NULL with *err. */
static json_t *
users_patch_once(struct dir_op *op, const char *id, const json_t *patch_body, const char *if_match,
                 struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	struct patch_result pr;
	json_t *old = NULL, *cur = NULL, *out = NULL;
	int rc;

	memset(&pr, 0, sizeof(pr));
	TAILQ_INIT(&pr.changes);
	old = users_find(op, id, err);
	if (old == NULL)
		goto done;
	cur = users_one(op, old, err);
	if (cur == NULL)
		goto done;
	rc = patch_apply(rt, cur, patch_body, NULL, op->ctx->input, &pr, err);
	if (rc != PATCH_OK) {
		if (rc == PATCH_NEED_LOAD)
			error_set(err, 500, NULL, "internal: PATCH asked for a load on a user");
		goto done;
	}
	if (!pr.changed) {
		if (dir_check_version(old, if_match, err) == 0)
			out = json_incref(cur);
		if (out != NULL) /* e.g. active=true again after a held suspension */
			users_guard_cancel(op, old, old);
		goto done;
	}
	users_keep_derived_active(old, op->ctx->source, cur, pr.resource);
	out = users_write(op, old, pr.resource, if_match, err);
done:
	patch_result_clear(&pr);
	json_decref(old);
	json_decref(cur);
	return out;
}

json_t *
dir_user_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
               const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *out = NULL;
	int attempt;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	for (attempt = 0;; attempt++) {
		json_decref(op.groups);
		op.groups = NULL;
		out = users_patch_once(&op, id, patch_body, if_match, err);
		if (out != NULL || !users_retry(if_match, attempt, err))
			break;
	}
	if (out == NULL) /* a suspension counted but not written: its place back */
		guard_refund(&op);
	dir_op_end(&op);
	return out;
}

/*
 * One DELETE attempt: release the caller's hold on `old`, asserted on the
 * entryCSN read — the entry itself when no other source holds it (a
 * source attaching meanwhile makes it a 412, and the next attempt only
 * releases), else the caller's descriptions with the derived values
 * recomputed without them. 0, or -1 with *err.
 */
static int
users_delete_once(struct dir_op *op, const json_t *old, const char *if_match, struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	const char *source = op->ctx->source, *csn = entry_map_first(old, "entrycsn");
	json_t *srcs = json_object_get(old, "rbsource"), *after = NULL, *derived = NULL, *vals;
	LDAPMod **mods = NULL;
	const char *desc;
	size_t i, others = 0;
	bool held = false;
	int rc = -1;

	if (dir_check_version(old, if_match, err) < 0)
		return -1;
	rc = guard_check(op, "delete", old, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0; /* held for an operator: nothing applied */
	rc = -1;
	for (i = 0; i < json_array_size(srcs); i++) {
		if (!strcasecmp(json_string_value(json_array_get(srcs, i)), source))
			held = true;
		else
			others++;
	}
	if (others == 0 && retain_enabled(op)) {
		rc = retain_release(op, old, err);
		if (rc == 0)
			users_duplicates_repoint(op, old, NULL);
		return rc;
	}
	if (others == 0) {
		rc = dir_delete_dn(op, entry_map_first(old, "dn"), csn, err);
		if (rc == 0)
			users_duplicates_repoint(op, old, NULL);
		return rc;
	}
	/* Other sources still hold the person: release ours only. */
	mods = calloc(1, sizeof(*mods));
	if (held && mods != NULL) {
		json_t *v = json_pack("[s]", source);
		mods = entry_mods_append(mods, LDAP_MOD_DELETE, "rbSource", v);
		json_decref(v);
	}
	json_object_foreach((json_t *)old, desc, vals)
	{
		char opt[128];
		if (mods != NULL && entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) &&
		    !strcmp(opt, source))
			mods = entry_mods_append(mods, LDAP_MOD_REPLACE, desc, NULL);
	}
	/* The derived values without this source's grant (an empty map: all of ours dropped). */
	derived = json_object();
	if (mods == NULL || derived == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (access_summarize(op, old, source, derived, err) < 0)
		goto done;
	{
		LDAPMod **dmods = entry_mods_build(old, derived, access_derived_desc, NULL);
		size_t k;
		for (k = 0; mods != NULL && dmods != NULL && dmods[k] != NULL; k++) {
			json_t *v = json_array();
			size_t m;
			for (m = 0; dmods[k]->mod_bvalues && dmods[k]->mod_bvalues[m]; m++)
				json_array_append_new(
				    v, json_string(dmods[k]->mod_bvalues[m]->bv_val));
			mods = entry_mods_append(mods, LDAP_MOD_REPLACE, dmods[k]->mod_type,
			                         json_array_size(v) ? v : NULL);
			json_decref(v);
		}
		if (dmods == NULL) {
			entry_mods_free(mods);
			mods = NULL;
		}
		entry_mods_free(dmods);
	}
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (entry_mods_count(mods) == 0) {
		rc = 0;
		goto done;
	}
	after = dir_write(op, false, entry_map_first(old, "dn"), mods, csn, none, err);
	rc = after ? 0 : -1;
done:
	entry_mods_free(mods);
	json_decref(derived);
	json_decref(after);
	return rc;
}

int
dir_user_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                struct rb_error *err)
{
	struct dir_op op;
	json_t *old;
	int attempt, rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	for (attempt = 0;; attempt++) {
		json_decref(op.groups);
		op.groups = NULL;
		old = users_find(&op, id, err);
		rc = old ? users_delete_once(&op, old, if_match, err) : -1;
		json_decref(old);
		if (rc == 0 || !users_retry(if_match, attempt, err))
			break;
	}
	if (rc < 0) /* counted but not removed: its place back */
		guard_refund(&op);
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
