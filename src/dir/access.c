/*
 * access.c — grants in the directory: who may write what (ownership), the
 * caller's direct grant, the access summary and bind lock written on
 * people, role groups' effect on their members, and the repair that
 * finishes what a killed daemon left half done. The pure rules are
 * grants.c; this file is their I/O, and the only place that writes
 * derived access values. See dir_int.h ("access.c") for the contracts.
 *
 * Glossary
 *   owner     the source that created a group (plain or role) or a school:
 *             the one value of its rbSource (grants_owner). An operator
 *             moves an entry to another source by replacing that value
 *             (docs/mapping.md, "Ownership").
 *   reference another source naming the entry without writing it: a
 *             person's grant listing a school, a group listing a person.
 *   derived   what the bridge computes from grants and writes on a person:
 *             the summary (rbManageAll … rbViewSchool) and rbBindLocked.
 *   pending   an entry cn=<id>,ou=pending,o=<tenant> (rbAccessPending)
 *             written before a role group's change, naming (rbRepairFilter)
 *             every person whose derived values the change may alter, and
 *             deleted once they are all refreshed.
 *
 * Behaviour
 *   - Ownership: every PUT, PATCH (members included) and DELETE of a group
 *     or a school passes access_check_owner first: another source's write
 *     is 403 naming the owner. The owner's DELETE of a school that another
 *     source's grant still names is 409 naming those sources.
 *   - No lost update: derived values are computed from one read of the
 *     person and written with an assertion on the entryCSN of that read
 *     (RFC 4528); a writer in between makes slapd refuse (412 inside), and
 *     the computation is redone from a fresh read, at most DIR_RETRIES
 *     times. A person's own PUT/PATCH/DELETE carry the derived values in
 *     the same asserted modify (users.c); a role-group change refreshes
 *     each affected member that way (access_refresh_person).
 *   - Crash safety: the pending entry is added before a role group's write
 *     and removed after the last member refresh. access_repair (at start
 *     and every repair_interval_s, dir_repair_start) refreshes the people
 *     each pending entry older than the settle time names, then deletes
 *     it, asserted on its entryCSN. Refreshing a correct person writes
 *     nothing, so a repair racing a live daemon is harmless.
 */
#include "dir/dir_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/grants.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define PERSON_OBJFILTER DIR_PERSON_FILTER

char *access_group_attrs[] = {
    "entryUUID",   "cn",          "displayName",       "rbSource", "rbPermission", "rbScope",
    "rbSchoolRef", "rbRegionRef", "rbCanManageAdmins", "rbActive", NULL,
};

/* What a refresh reads of a person: its grants, flags, groups and derived values. */
static char *access_person_attrs[] = {
    "rbPermission", "rbCanManageAdmins", "rbScope",      "rbSchoolRef",
    "rbRegionRef",  "rbActive",          "rbGroupRef",   "rbManageAll",
    "rbViewAll",    "rbManageRegion",    "rbViewRegion", "rbManageSchool",
    "rbViewSchool", "rbBindLocked",      "entryCSN",     NULL,
};

/* ---- ownership ---- */

int
access_check_owner(const struct dir_op *op, const json_t *map, const char *what,
                   struct rb_error *err)
{
	const char *owner = grants_owner(map);

	if (owner == NULL || !strcasecmp(owner, op->ctx->source))
		return 0; /* unowned (made by hand without rbSource): anyone may write */
	return error_set(err, 403, NULL,
	                 "this %s belongs to source \"%s\": only %s may change or delete it "
	                 "(other sources may read and reference it)",
	                 what, owner, owner);
}

int
access_school_unreferenced(struct dir_op *op, const char *uuid, struct rb_error *err)
{
	static char *attrs[] = {"rbSchoolRef", "rbSource", "objectClass", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = escape_filter_value(uuid, strlen(uuid)), filter[160];
	json_t *others = json_object();
	struct strbuf list = {0};
	const char *src;
	json_t *v;
	int rc = -1;

	if (esc == NULL || others == NULL) {
		free(esc);
		json_decref(others);
		return error_set(err, 500, NULL, "out of memory");
	}
	snprintf(filter, sizeof(filter), "(rbSchoolRef=%s)", esc);
	free(esc);
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res, err) <
	    0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e), *vals;
		const char *desc;
		size_t i;
		json_object_foreach(m, desc, vals)
		{
			char opt[128];
			const char *who;
			if (entry_desc_base_len(desc) != 11 ||
			    strncmp(desc, "rbschoolref", 11) != 0)
				continue;
			/* a person's direct grant (;x-src-<source>), or a role group's (its owner)
			 */
			who = entry_desc_option_value(desc, "x-src-", opt, sizeof(opt))
			          ? opt
			          : grants_owner(m);
			if (who == NULL || !strcasecmp(who, op->ctx->source))
				continue;
			for (i = 0; i < json_array_size(vals); i++)
				if (!strcasecmp(json_string_value(json_array_get(vals, i)), uuid))
					json_object_set_new(others, who, json_true());
		}
		json_decref(m);
	}
	if (json_object_size(others) == 0) {
		rc = 0;
		goto done;
	}
	json_object_foreach(others, src, v)
	{
		if (list.len > 0)
			strbuf_add(&list, ", ");
		strbuf_add(&list, src);
	}
	error_set(err, 409, NULL,
	          "the school is still named in grants of other sources (%s); each must remove "
	          "it from its grants before the school can be deleted",
	          list.s ? list.s : "?");
done:
	free(list.s);
	json_decref(others);
	ldap_msgfree(res);
	return rc;
}

/* ---- the caller's direct grant ---- */

/*
 * The grant in `map` under the descriptions "rbpermission<suffix>",
 * "rbscope<suffix>", "rbregionref<suffix>" — suffix ";x-src-<source>" for a
 * person's direct grant, "" for a role group's —, checked against the
 * directory: scope defaults to school; school needs schools (ids or
 * externalIds of this tenant, taken from `given`), resolved into
 * "rbschoolref<suffix>"; region needs an existing region of a partnership
 * tenant; partnership needs a partnership tenant. 0, or -1 with *err (400
 * invalidValue).
 */
static int
access_grant_check(struct dir_op *op, json_t *map, const char *suffix, const char *given_desc,
                   struct rb_error *err)
{
	char d_perm[160], d_scope[160], d_ref[160], d_region[160], kind[32];
	const char *scope, *region;
	json_t *given, *uuids;

	snprintf(d_perm, sizeof(d_perm), "rbpermission%s", suffix);
	snprintf(d_scope, sizeof(d_scope), "rbscope%s", suffix);
	snprintf(d_ref, sizeof(d_ref), "rbschoolref%s", suffix);
	snprintf(d_region, sizeof(d_region), "rbregionref%s", suffix);
	if (entry_map_first(map, d_perm) == NULL)
		return 0; /* no grant: nothing to check */
	scope = entry_map_first(map, d_scope);
	if (scope == NULL) {
		entry_map_add(map, d_scope, "school");
		scope = "school";
	}
	if (!strcmp(scope, "partnership") || !strcmp(scope, "region")) {
		if (dir_tenant_kind(op, kind, sizeof(kind), err) < 0)
			return -1;
		if (strcmp(kind, "partnership") != 0)
			return error_set(
			    err, 400, SCIM_INVALID_VALUE,
			    "scope %s is only for partnership tenants; this tenant is a %s", scope,
			    kind);
	}
	if (!strcmp(scope, "region")) {
		region = entry_map_first(map, d_region);
		if (region == NULL)
			return error_set(err, 400, SCIM_INVALID_VALUE,
			                 "scope region needs a region");
		return dir_region_check(op, region, err);
	}
	if (strcmp(scope, "school") != 0)
		return 0; /* district / partnership: every school, present and future */
	given = json_object_get(map, given_desc);
	if (json_array_size(given) == 0)
		return error_set(err, 400, SCIM_INVALID_VALUE,
		                 "scope school needs schools (school ids or externalIds)");
	uuids = dir_schools_resolve(op, given, err);
	if (uuids == NULL)
		return -1;
	json_object_set_new(map, d_ref, uuids);
	return 0;
}

int
access_grant_prepare(struct dir_op *op, json_t *map, struct rb_error *err)
{
	char suffix[96], given[160];

	snprintf(suffix, sizeof(suffix), ";x-src-%s", op->ctx->source);
	snprintf(given, sizeof(given), "rbschoolgiven%s", suffix);
	return access_grant_check(op, map, suffix, given, err);
}

int
access_group_grant_prepare(struct dir_op *op, json_t *map, struct rb_error *err)
{
	return access_grant_check(op, map, "", "rbschoolref", err);
}

/* ---- derived values ---- */

void
access_group_ids(const json_t *person, json_t *ids)
{
	json_t *refs = json_object_get(person, "rbgroupref");
	size_t j;

	for (j = 0; j < json_array_size(refs); j++) {
		const char *id = json_string_value(json_array_get(refs, j));
		char lower[40];
		if (id == NULL || strlen(id) >= sizeof(lower))
			continue;
		dir_id_lower(id, lower, sizeof(lower));
		json_object_set_new(ids, lower, json_null());
	}
}

json_t *
access_groups_of(const json_t *person, const json_t *resolved)
{
	json_t *ids = json_object(), *out = json_array(), *v;
	const char *id;

	access_group_ids(person, ids);
	json_object_foreach(ids, id, v)
	{
		json_t *g = json_object_get(resolved, id);
		if (json_is_object(g))
			json_array_append(out, g);
	}
	json_decref(ids);
	return out;
}

/* Drop every description of `source` (;x-src-<source>) from `map`. */
static void
access_drop_source(json_t *map, const char *source)
{
	const char *desc;
	json_t *vals;
	void *tmp;
	char opt[128];

	json_object_foreach_safe(map, tmp, desc, vals)
	{
		if (entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) &&
		    !strcmp(opt, source))
			json_object_del(map, desc);
	}
}

int
access_summarize(struct dir_op *op, const json_t *old, const char *source, json_t *map,
                 struct rb_error *err)
{
	json_t *merged = old ? json_deep_copy(old) : json_object(), *groups = json_object();
	json_t *mine = NULL, *grants = NULL, *summary = NULL, *vals;
	const char *desc;
	char opt[128];
	int rc = -1;

	if (merged == NULL || groups == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (source != NULL) {
		access_drop_source(merged, source);
		json_object_foreach(map, desc, vals)
		{
			if (entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) &&
			    !strcmp(opt, source))
				json_object_set(merged, desc, vals);
		}
	}
	access_group_ids(merged, groups);
	if (dir_resolve_ids(op, "groups", access_group_attrs, groups, true, err) < 0)
		goto done;
	mine = access_groups_of(merged, groups);
	grants = grants_list(merged, mine);
	summary = grants ? grants_access(merged, grants) : NULL;
	if (summary == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	json_object_foreach(summary, desc, vals) json_object_set(map, desc, vals);
	rc = 0;
done:
	json_decref(merged);
	json_decref(groups);
	json_decref(mine);
	json_decref(grants);
	json_decref(summary);
	return rc;
}

bool
access_derived_desc(const char *desc, void *arg)
{
	(void)arg;
	return grants_access_desc(desc);
}

/*
 * One refresh of the person at `dn`: read, compute, write asserted on the
 * entryCSN read. 1 if written or nothing to write, 0 if the person changed
 * in between (try again), -1 with *err.
 */
static int
access_refresh_once(struct dir_op *op, const char *dn, bool *changed, struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *old = NULL, *derived = json_object(), *after = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (derived == NULL)
		return error_set(err, 500, NULL, "out of memory");
	if (dir_search(op, dn, LDAP_SCOPE_BASE, PERSON_OBJFILTER, access_person_attrs, NULL, 1,
	               &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op->conn->ld, res) : NULL;
	if (e == NULL) {
		rc = 1; /* gone, or not a person (a nested group): nothing to refresh */
		goto done;
	}
	old = entry_to_map(op->conn->ld, e);
	/* Every grant comes from the entry: no caller's descriptions to merge. */
	if (old == NULL || access_summarize(op, old, NULL, derived, err) < 0)
		goto done;
	mods = entry_mods_build(old, derived, access_derived_desc, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (entry_mods_count(mods) == 0) {
		rc = 1;
		goto done;
	}
	after = dir_write(op, false, dn, mods, entry_map_first(old, "entrycsn"), none, err);
	if (after != NULL) {
		*changed = true;
		rc = 1;
	} else if (err->status == 412 || err->status == 404) {
		/* written (or deleted) by someone since the read: compute again */
		error_clear(err);
		rc = 0;
	}
done:
	entry_mods_free(mods);
	ldap_msgfree(res);
	json_decref(old);
	json_decref(derived);
	json_decref(after);
	return rc;
}

int
access_refresh_person(struct dir_op *op, const char *dn, bool *changed, struct rb_error *err)
{
	bool dummy = false;
	int attempt, rc = 0;

	for (attempt = 0; attempt < DIR_RETRIES && rc == 0; attempt++) {
		/* Group maps cached by an earlier attempt may be what changed. */
		json_decref(op->groups);
		op->groups = NULL;
		rc = access_refresh_once(op, dn, changed ? changed : &dummy, err);
	}
	if (rc == 0)
		return error_set(err, 503, NULL,
		                 "the access summary of %s kept changing under %d attempts; retry",
		                 dn, DIR_RETRIES);
	return rc < 0 ? -1 : 0;
}

int
access_refresh_set(struct dir_op *op, const json_t *dns, struct rb_error *err)
{
	const char *dn;
	json_t *v;

	json_object_foreach((json_t *)dns, dn, v)
	{
		if (access_refresh_person(op, dn, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- role groups: members hold the group's grant (grants.h) ---- */

bool
access_group_is_role(const json_t *map)
{
	return map != NULL && entry_map_first(map, "rbpermission") != NULL;
}

bool
access_group_grant_changed(const json_t *a, const json_t *b)
{
	static const char *const descs[] = {"rbpermission", "rbscope",  "rbschoolref",
	                                    "rbregionref",  "rbactive", "rbcanmanageadmins",
	                                    "rbsource",     NULL};
	size_t i;

	for (i = 0; descs[i] != NULL; i++) {
		json_t *va = json_object_get(a, descs[i]), *vb = json_object_get(b, descs[i]);
		if (!json_equal(va ? va : json_null(), vb ? vb : json_null()))
			return true;
	}
	return false;
}

/* "(<attr>=<value>)", the value escaped, appended to `b`. */
static void
access_add_term(struct strbuf *b, const char *attr, const char *value)
{
	char *esc = escape_filter_value(value, strlen(value));

	if (esc == NULL) {
		b->failed = true;
		return;
	}
	strbuf_add(b, "(");
	strbuf_add(b, attr);
	strbuf_add(b, "=");
	strbuf_add(b, esc);
	strbuf_add(b, ")");
	free(esc);
}

/*
 * The summary terms a role group's grant (entry map `g`, may be NULL or a
 * plain group) puts on its members: every grant adds a view value, so a
 * person holding it matches one of these (a grant naming no school: every
 * person with no view value, see below).
 */
static void
access_add_grant_terms(struct strbuf *b, const json_t *g)
{
	const char *scope = entry_map_first(g, "rbscope");
	const json_t *schools = json_object_get(g, "rbschoolref");
	size_t i;

	if (!access_group_is_role(g))
		return;
	if (scope != NULL && (!strcmp(scope, "district") || !strcmp(scope, "partnership"))) {
		strbuf_add(b, "(rbViewAll=TRUE)");
	} else if (scope != NULL && !strcmp(scope, "region")) {
		if (entry_map_first(g, "rbregionref") != NULL)
			access_add_term(b, "rbViewRegion", entry_map_first(g, "rbregionref"));
	} else if (json_array_size(schools) == 0) {
		/*
		 * A school grant naming no school (its schools deleted) adds no
		 * view value, yet vouches for the bind (grants_bind_locked): the
		 * members whose bind lock may hang on it are those with no view
		 * value at all.
		 */
		strbuf_add(b, "(&(!(rbViewAll=TRUE))(!(rbViewRegion=*))(!(rbViewSchool=*)))");
	} else {
		for (i = 0; i < json_array_size(schools); i++)
			access_add_term(b, "rbViewSchool",
			                json_string_value(json_array_get(schools, i)));
	}
}

/* A name for a pending entry, unique enough: time, pid, a counter. */
static void
access_pending_name(char *out, size_t outlen)
{
	static unsigned long counter;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = ++counter;
	pthread_mutex_unlock(&lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, outlen, "p-%lld-%09ld-%ld-%lu", (long long)ts.tv_sec, ts.tv_nsec,
	         (long)getpid(), n);
}

char *
access_pending_begin(struct dir_op *op, const json_t *old, const json_t *new_map,
                     struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	struct strbuf f = {0};
	char name[96], *base = NULL, *rdn = NULL, *dn = NULL;
	json_t *map = NULL, *after = NULL;
	LDAPMod **mods = NULL;
	const char *uuid = entry_map_first(old, "entryuuid");
	int attempt;

	if (!access_group_is_role(old) && !access_group_is_role(new_map))
		return NULL; /* a plain group before and after: nobody's access changes */
	if (uuid == NULL)
		uuid = entry_map_first(new_map, "entryuuid");
	strbuf_add(&f, "(|");
	if (uuid != NULL)
		access_add_term(&f, "rbGroupRef", uuid);
	access_add_grant_terms(&f, old);
	access_add_grant_terms(&f, new_map);
	strbuf_add(&f, ")");
	access_pending_name(name, sizeof(name));
	base = dir_ou_dn(op, "pending");
	rdn = escape_rdn("cn", name);
	dn = base && rdn ? escape_dn_join(rdn, base) : NULL;
	map = json_object();
	if (f.failed || dn == NULL || map == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	entry_map_add(map, "objectclass", "rbAccessPending");
	entry_map_add(map, "cn", name);
	entry_map_add(map, "rbrepairfilter", f.s);
	mods = entry_mods_build(NULL, map, NULL, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		after = dir_write(op, true, dn, mods, NULL, none, err);
		if (after != NULL || err->status != 404 || attempt > 0)
			break;
		/* First use in this tenant: make ou=pending, then add again. */
		error_clear(err);
		{
			json_t *ou = json_pack("{s:[s,s], s:[s]}", "objectclass",
			                       "organizationalUnit", "top", "ou", "pending");
			LDAPMod **omods = ou ? entry_mods_build(NULL, ou, NULL, NULL) : NULL;
			json_t *made =
			    omods ? dir_write(op, true, base, omods, NULL, none, err) : NULL;
			if (made == NULL && err->status == 409)
				error_clear(err); /* another writer made it */
			json_decref(made);
			entry_mods_free(omods);
			json_decref(ou);
		}
		if (error_is_set(err))
			break;
	}
	if (after == NULL)
		goto fail;
	json_decref(after);
	entry_mods_free(mods);
	json_decref(map);
	free(f.s);
	free(base);
	free(rdn);
	return dn;
fail:
	entry_mods_free(mods);
	json_decref(map);
	free(f.s);
	free(base);
	free(rdn);
	free(dn);
	return NULL;
}

void
access_pending_end(struct dir_op *op, char *pending_dn)
{
	struct rb_error ignore;

	if (pending_dn == NULL)
		return;
	error_clear(&ignore);
	/* A failure leaves the entry to the repair: refreshing correct people writes nothing. */
	if (dir_delete_dn(op, pending_dn, NULL, &ignore) < 0 && ignore.status != 404)
		log_warnx("could not remove %s (%s); the repair will", pending_dn, ignore.detail);
	free(pending_dn);
}

int
access_member_set(struct dir_op *op, const char *uuid, json_t *dns, struct rb_error *err)
{
	static char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = uuid ? escape_filter_value(uuid, strlen(uuid)) : NULL, *filter = NULL;
	size_t n;
	int rc = -1;

	if (esc == NULL || (filter = malloc((n = strlen(esc) + 32))) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, n, "(rbGroupRef=%s)", esc);
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

void
access_mods_dn_set(LDAPMod **mods, json_t *dns)
{
	size_t i, j;

	for (i = 0; mods != NULL && mods[i] != NULL; i++)
		for (j = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[j]; j++)
			json_object_set_new(dns, mods[i]->mod_bvalues[j]->bv_val, json_true());
}

/* ---- schools leaving grants ---- */

int
access_school_strip(struct dir_op *op, const char *uuid, const char *ext, struct rb_error *err)
{
	static char *attrs[] = {"rbSchoolRef", "rbSchoolGiven", NULL};
	struct strbuf f = {0};
	LDAPMessage *res = NULL, *e;
	json_t *people = json_object();
	int rc = -1;

	strbuf_add(&f, "(|");
	access_add_term(&f, "rbSchoolRef", uuid);
	access_add_term(&f, "rbManageSchool", uuid);
	access_add_term(&f, "rbViewSchool", uuid);
	strbuf_add(&f, ")");
	if (f.failed || people == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e), *vals, *after = NULL, *one;
		LDAPMod **mods = calloc(1, sizeof(*mods));
		const char *desc;
		size_t i;
		if (m == NULL || mods == NULL) {
			json_decref(m);
			free(mods);
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		json_object_foreach(m, desc, vals)
		{
			bool given;
			if (!strcmp(desc, "dn"))
				continue;
			given =
			    entry_desc_base_len(desc) == 13 && !strncmp(desc, "rbschoolgiven", 13);
			json_array_foreach(vals, i, one)
			{
				const char *val = json_string_value(one);
				json_t *v;
				/* rbSchoolGiven keeps the reference as given: id or SIS id. */
				if (strcasecmp(val, uuid) != 0 &&
				    !(given && ext != NULL && !strcmp(val, ext)))
					continue;
				v = json_pack("[O]", one);
				if (v == NULL) {
					entry_mods_free(mods);
					mods = NULL;
				} else if (mods != NULL) {
					mods = entry_mods_append(mods, LDAP_MOD_DELETE, desc, v);
				}
				json_decref(v);
			}
		}
		/* Value deletes commute with any other writer's: no assertion needed. */
		if (mods != NULL && entry_mods_count(mods) > 0) {
			static char *post[] = {"entryUUID", NULL};
			op->permissive = true;
			after =
			    dir_write(op, false, entry_map_first(m, "dn"), mods, NULL, post, err);
			op->permissive = false;
		} else if (mods == NULL) {
			error_set(err, 500, NULL, "out of memory");
		}
		/* The person's summary, from its grants as they are now. */
		if (!error_is_set(err))
			json_object_set_new(people, entry_map_first(m, "dn"), json_true());
		entry_mods_free(mods);
		json_decref(after);
		json_decref(m);
		if (error_is_set(err))
			goto done;
	}
	json_decref(op->groups); /* a role group just lost the school */
	op->groups = NULL;
	rc = access_refresh_set(op, people, err);
done:
	json_decref(people);
	ldap_msgfree(res);
	free(f.s);
	return rc;
}

/* ---- repair ---- */

int
access_repair(struct dir_op *op, int settle_s, json_t *seen, int *fixed, struct rb_error *err)
{
	static char *attrs[] = {"rbRepairFilter", "entryCSN", NULL};
	LDAPMessage *res = NULL, *e;
	char *base = dir_ou_dn(op, "pending"), *people = dir_ou_dn(op, "people"), filter[128],
	     stamp[32];
	time_t limit = time(NULL) - settle_s;
	struct tm tm;
	int rc = -1;

	(void)seen; /* nothing to heal without the memberof overlay (dir_int.h) */
	*fixed = 0;
	if (base == NULL || people == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	gmtime_r(&limit, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%SZ", &tm);
	snprintf(filter, sizeof(filter), "(&(objectClass=rbAccessPending)(createTimestamp<=%s))",
	         stamp);
	/* A missing ou=pending is noSuchObject, which dir_search answers as "no entry". */
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		static char *none[] = {"1.1", NULL};
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *terms = entry_map_first(m, "rbrepairfilter");
		LDAPMessage *pres = NULL, *p;
		struct strbuf pf = {0};
		strbuf_add(&pf, "(&" PERSON_OBJFILTER);
		strbuf_add(&pf, terms ? terms : "(objectClass=*)");
		strbuf_add(&pf, ")");
		if (pf.failed || dir_search(op, people, LDAP_SCOPE_ONELEVEL, pf.s, none, NULL, 0,
		                            &pres, err) < 0) {
			if (pf.failed)
				error_set(err, 500, NULL, "out of memory");
			free(pf.s);
			json_decref(m);
			goto done;
		}
		for (p = pres ? ldap_first_entry(op->conn->ld, pres) : NULL; p != NULL;
		     p = ldap_next_entry(op->conn->ld, p)) {
			char *pdn = ldap_get_dn(op->conn->ld, p);
			bool changed = false;
			int prc = pdn ? access_refresh_person(op, pdn, &changed, err) : 0;
			ldap_memfree(pdn);
			if (prc < 0)
				break;
			if (changed)
				(*fixed)++;
		}
		ldap_msgfree(pres);
		free(pf.s);
		/* Done with it, unless it was rewritten meanwhile (asserted on its entryCSN). */
		if (!error_is_set(err) &&
		    dir_delete_dn(op, entry_map_first(m, "dn"), entry_map_first(m, "entrycsn"),
		                  err) < 0 &&
		    (err->status == 404 || err->status == 412))
			error_clear(err);
		json_decref(m);
		if (error_is_set(err))
			goto done;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(people);
	return rc;
}

/* Seconds a pending entry is left to the daemon that wrote it before the repair takes it. */
static int
access_settle_s(const struct config *cfg)
{
	return 2 * (cfg->ldap_timeout_ms / 1000) + 2;
}

/* One round over every tenant; failures are logged and left to the next round. */
static void
access_repair_round(struct dir *dir)
{
	size_t i;

	for (i = 0; i < dir->cfg->ntenants; i++) {
		bool stop;
		pthread_mutex_lock(&dir->repair_lock);
		stop = dir->repair_stop;
		pthread_mutex_unlock(&dir->repair_lock);
		if (stop)
			break; /* shutting down: not one more tenant (each may wait a timeout) */
		struct dir_ctx ctx = {.dir = dir->repair_dir,
		                      .tenant = dir->cfg->tenants[i].name,
		                      .source = "(repair)",
		                      .base_url = ""};
		struct rb_error err;
		struct dir_op op;
		int fixed = 0, halves = 0, merged = 0;
		error_clear(&err);
		int purged = 0, expired = 0;
		/* Creates lost across providers first: their grants count below. */
		if (merge_round(dir, ctx.tenant, &merged, &err) < 0) {
			log_warnx(
			    "repair of tenant %s: merging lost creates: %s (next round in %d s)",
			    ctx.tenant, err.detail, dir->cfg->repair_interval_s);
			error_clear(&err);
		}
		if (merged > 0)
			log_info("repair of tenant %s: %d create(s) lost across providers merged",
			         ctx.tenant, merged);
		if (dir_op_begin(&op, &ctx, &err) == 0) {
			if (access_repair(&op, access_settle_s(dir->cfg), dir->repair_seen, &fixed,
			                  &err) == 0 &&
			    dir_user_repair_creates(&op, access_settle_s(dir->cfg), &halves,
			                            &err) == 0 &&
			    (!retain_enabled(&op) || retain_purge(&op, &purged, &err) == 0))
				guard_expire(&op, &expired, &err);
			dir_op_end(&op);
		}
		if (halves > 0)
			log_info("repair of tenant %s: %d create(s) never answered taken away",
			         ctx.tenant, halves);
		if (error_is_set(&err))
			log_warnx("repair of tenant %s: %s (next round in %d s)", ctx.tenant,
			          err.detail, dir->cfg->repair_interval_s);
		if (err.status == 503)
			break; /* the directory is unavailable: the other tenants wait too */
		if (fixed > 0)
			log_info("repair of tenant %s: access summary of %d people corrected",
			         ctx.tenant, fixed);
		if (purged > 0)
			log_info("tenant %s: %d retained people purged", ctx.tenant, purged);
		if (expired > 0)
			log_info("tenant %s: %d held removals expired (dropped, not applied)",
			         ctx.tenant, expired);
	}
}

static void *
access_repair_main(void *arg)
{
	struct dir *dir = arg;
	struct timespec until;
	time_t round_at;

	pthread_mutex_lock(&dir->repair_lock);
	while (!dir->repair_stop) {
		pthread_mutex_unlock(&dir->repair_lock);
		access_repair_round(dir);
		pthread_mutex_lock(&dir->repair_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		round_at = until.tv_sec + dir->cfg->repair_interval_s;
		/* Between rounds: the guard's reservations idle guard_lease_idle_s go
		 * back to their windows (guard.c; a new one wakes this wait). */
		while (!dir->repair_stop) {
			int lease_s;
			pthread_mutex_unlock(&dir->repair_lock);
			lease_s =
			    guard_leases_return(dir, dir->repair_dir, dir->cfg->guard_lease_idle_s);
			pthread_mutex_lock(&dir->repair_lock);
			clock_gettime(CLOCK_REALTIME, &until);
			if (dir->repair_stop || until.tv_sec >= round_at)
				break;
			until.tv_sec = lease_s >= 0 && until.tv_sec + lease_s < round_at
			                   ? until.tv_sec + lease_s
			                   : round_at;
			pthread_cond_timedwait(&dir->repair_wake, &dir->repair_lock, &until);
		}
	}
	pthread_mutex_unlock(&dir->repair_lock);
	return NULL;
}

int
dir_repair_start(struct dir *dir)
{
	sigset_t all, old;
	int rc;

	struct pool *pool = pool_create(dir->cfg, 1);

	dir->repair_dir = pool ? dir_create(dir->cfg, pool) : NULL;
	if (dir->repair_dir != NULL) {
		/* Its group writes tell the table (grouptab.c) too; the table stays dir's. */
		dir->repair_dir->groups = dir->groups;
		dir->repair_dir->groups_borrowed = true;
	}
	dir->repair_seen = json_object();
	if (dir->repair_dir == NULL || dir->repair_seen == NULL || merge_start(dir) < 0) {
		if (dir->repair_dir == NULL)
			pool_destroy(pool);
		access_repair_stop(dir);
		return -1;
	}
	/* The thread takes no signal: the main thread waits for them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&dir->repair, NULL, access_repair_main, dir);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		access_repair_stop(dir);
		return -1;
	}
	dir->repair_started = true;
	return 0;
}

void
access_repair_stop(struct dir *dir)
{
	if (dir->repair_started) {
		pthread_mutex_lock(&dir->repair_lock);
		dir->repair_stop = true;
		pthread_cond_signal(&dir->repair_wake);
		pthread_mutex_unlock(&dir->repair_lock);
		pthread_join(dir->repair, NULL);
		dir->repair_started = false;
	}
	merge_stop(dir);
	json_decref(dir->repair_seen);
	dir->repair_seen = NULL;
	if (dir->repair_dir != NULL) {
		struct pool *pool = dir->repair_dir->pool;
		dir_destroy(dir->repair_dir);
		pool_destroy(pool);
		dir->repair_dir = NULL;
	}
}

/* ---- what the console asks (dir.h) ---- */

/* The grants of the person with entryUUID `id` (NEW array), or NULL with *err. */
static json_t *
access_grants_of(struct dir_op *op, const char *id, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "people");
	json_t *map = NULL, *groups = json_object(), *mine = NULL, *grants = NULL;

	if (base == NULL || groups == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	map = dir_find_by_id(op, base, PERSON_OBJFILTER, id, access_person_attrs, err);
	if (map == NULL && err->status == 404)
		map =
		    dir_find_by_former_id(op, base, PERSON_OBJFILTER, id, access_person_attrs, err);
	if (map == NULL)
		goto done;
	access_group_ids(map, groups);
	if (dir_resolve_ids(op, "groups", access_group_attrs, groups, true, err) < 0)
		goto done;
	mine = access_groups_of(map, groups);
	grants = grants_list(map, mine);
	if (grants == NULL)
		error_set(err, 500, NULL, "out of memory");
done:
	free(base);
	json_decref(map);
	json_decref(groups);
	json_decref(mine);
	return grants;
}

json_t *
dir_access_grants(const struct dir_ctx *ctx, const char *person_id, struct rb_error *err)
{
	struct dir_op op;
	json_t *grants;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	grants = access_grants_of(&op, person_id, err);
	dir_op_end(&op);
	return grants;
}

int
dir_access_may_grant(const struct dir_ctx *ctx, const char *actor_id, const json_t *wanted,
                     struct rb_error *err)
{
	struct dir_op op;
	json_t *actor = NULL, *regions = NULL, *none = json_array();
	const json_t *schools = json_object_get(wanted, "schools");
	int rc = -1;

	if (none == NULL)
		return error_set(err, 500, NULL, "out of memory");
	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(none);
		return -1;
	}
	actor = access_grants_of(&op, actor_id, err);
	if (actor == NULL)
		goto done;
	regions = dir_schools_regions(&op, json_is_array(schools) ? schools : none, err);
	if (regions == NULL)
		goto done;
	rc = grants_may_grant(actor, wanted, regions, err);
done:
	json_decref(none);
	json_decref(actor);
	json_decref(regions);
	dir_op_end(&op);
	return rc;
}
