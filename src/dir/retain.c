/*
 * retain.c — retention of deprovisioned people (retention_days > 0; SPEC §1,
 * issue 16 item 4).
 *
 * Glossary
 *   retained   a person the last source released while retention is on:
 *              the entry stays under ou=people with rbDisabledAt (when),
 *              no rbSource, no per-source attribute (every grant, flag and
 *              externalId gone), an empty access summary, rbBindLocked TRUE
 *              (ACL {0}: no bind), no userPassword (a restore or a
 *              re-creation must not bring the old password back: whoever
 *              holds the person next sets a new one), in no group (its
 *              rbGroupRef values go in the same asserted write), no
 *              possible-duplicate flag and no pending invitation link.
 *   invisible  DIR_PERSON_FILTER (dir_int.h) leaves out every entry with
 *              rbDisabledAt, and every lookup of a person uses it: SCIM GET
 *              answers 404, lists and filters never return it, a group
 *              cannot take it as a member, the console cannot sign it in.
 *   reuse      a POST of the same userName (users.c) writes the new
 *              resource over the retained entry (same entryUUID): the
 *              poster's grant only, nothing of the old ones.
 *   restore    an operator's (dir_retained_restore): held by the caller's
 *              source (in-product), no grant, still bind-locked (the lock
 *              goes with the first write that gives an active grant or
 *              active=true, access.c), no userPassword (also removed from an
 *              entry retained by an older version that kept it).
 *   purge      the sweep (retain_purge, from the repair thread): delete
 *              every retained entry older than the period, each asserted
 *              on the entryCSN read, so a restore or reuse in between
 *              wins and two bridges purging at once delete it once.
 *
 * All writes are asserted on the entryCSN read (mapping.md, no lost update).
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dir/admin.h"
#include "dir/entry.h"
#include "dir/escape.h"
#include "lib/log.h"

bool
retain_enabled(const struct dir_op *op)
{
	return op->ctx->dir->cfg->retention_days > 0;
}

/* Whether `desc` is gone from a retained person: every per-source one, and the listed rest. */
static bool
retain_dropped(const char *desc, void *arg)
{
	static const char *const gone[] = {
	    "rbsource",        "rbpossibleduplicate", "rbinvitetokenhash",
	    "rbinviteexpires", "rbinvitestatus",      "rbinvitemail",
	    "rbinviteerror",   "rbgroupref",          NULL};
	char opt[128];
	size_t i;

	(void)arg;
	if (entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)))
		return true;
	for (i = 0; gone[i] != NULL; i++)
		if (!strcmp(desc, gone[i]))
			return true;
	return access_derived_desc(desc, NULL);
}

int
retain_release(struct dir_op *op, const json_t *old, struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	const char *dn = entry_map_first(old, "dn");
	json_t *map = json_object(), *after = NULL;
	LDAPMod **mods = NULL;
	char stamp[16];
	int rc = -1;

	dir_gentime(time(NULL), stamp);
	/* The map of what stays that a diff may touch: every dropped description
	 * absent (removed), rbBindLocked TRUE, rbDisabledAt now. */
	if (map == NULL || entry_map_add(map, "rbbindlocked", "TRUE") < 0 ||
	    entry_map_add(map, "rbdisabledat", stamp) < 0 ||
	    (mods = entry_mods_build(old, map, retain_dropped, NULL)) == NULL ||
	    /* a replace with no value: gone if there, no error if not */
	    (mods = entry_mods_append(mods, LDAP_MOD_REPLACE, "userPassword", NULL)) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(op, false, dn, mods, entry_map_first(old, "entrycsn"), none, err);
	if (after == NULL)
		goto done;
	log_info("tenant %s source %s: %s released by its last source, kept disabled for %d days",
	         op->ctx->tenant, op->ctx->source, dn, op->ctx->dir->cfg->retention_days);
	rc = 0;
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	return rc;
}

json_t *
retain_find_name(struct dir_op *op, const char *uid, char **attrs, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	char *rdn = NULL, *people = dir_ou_dn(op, "people"), *dn = NULL;
	json_t *map = NULL;

	rdn = escape_rdn("uid", uid);
	dn = rdn && people ? escape_dn_join(rdn, people) : NULL;
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, dn, LDAP_SCOPE_BASE, "(&(rbDisabledAt=*)(objectClass=rbPerson))", attrs,
	               NULL, 1, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op->conn->ld, res) : NULL;
	if (e != NULL)
		map = entry_to_map(op->conn->ld, e);
done:
	ldap_msgfree(res);
	free(rdn);
	free(people);
	free(dn);
	return map;
}

int
retain_forget_password(struct dir_op *op, json_t *old, struct rb_error *err)
{
	static char *csn[] = {"entryCSN", NULL};
	LDAPMod **mods = entry_mods_append(NULL, LDAP_MOD_REPLACE, "userPassword", NULL);
	json_t *after;

	if (mods == NULL)
		return error_set(err, 500, NULL, "out of memory");
	after = dir_write(op, false, entry_map_first(old, "dn"), mods,
	                  entry_map_first(old, "entrycsn"), csn, err);
	entry_mods_free(mods);
	if (after == NULL)
		return -1;
	json_object_set(old, "entrycsn", json_object_get(after, "entrycsn"));
	json_decref(after);
	return 0;
}

int
retain_purge(struct dir_op *op, int *purged, struct rb_error *err)
{
	static char *attrs[] = {"entryCSN", "rbDisabledAt", NULL};
	LDAPMessage *res = NULL, *e;
	char *people = dir_ou_dn(op, "people"), filter[128], stamp[16];
	int rc = -1;

	*purged = 0;
	if (people == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	dir_gentime(time(NULL) - (time_t)op->ctx->dir->cfg->retention_days * 86400, stamp);
	snprintf(filter, sizeof(filter), "(&(rbDisabledAt<=%s)(objectClass=rbPerson))", stamp);
	if (dir_search(op, people, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *dn = entry_map_first(m, "dn");

		/* Asserted on the entryCSN read: restored or reused meanwhile is a
		 * 412, purged by another bridge a 404; both leave it be. */
		if (dn != NULL && dir_delete_dn(op, dn, entry_map_first(m, "entrycsn"), err) == 0) {
			(*purged)++;
			log_info("tenant %s: purged %s (deprovisioned %s, retention %d days)",
			         op->ctx->tenant, dn, entry_map_first(m, "rbdisabledat"),
			         op->ctx->dir->cfg->retention_days);
		} else if (err->status == 404 || err->status == 412) {
			error_clear(err);
		}
		json_decref(m);
		if (error_is_set(err))
			goto done;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(people);
	return rc;
}

json_t *
dir_retained_list(const struct dir_ctx *ctx, struct rb_error *err)
{
	static char *attrs[] = {"uid", "entryUUID", "rbDisabledAt", NULL};
	LDAPMessage *res = NULL, *e;
	struct dir_op op;
	char *people;
	json_t *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	people = dir_ou_dn(&op, "people");
	if (people == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(&op, people, LDAP_SCOPE_ONELEVEL,
	               "(&(rbDisabledAt=*)(objectClass=rbPerson))", attrs, NULL, 0, &res, err) < 0)
		goto done;
	out = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; out != NULL && e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		json_t *m = entry_to_map(op.conn->ld, e);

		json_array_append_new(
		    out, json_pack("{s:s?, s:s?, s:s?, s:i}", "userName", entry_map_first(m, "uid"),
		                   "id", entry_map_first(m, "entryuuid"), "disabledAt",
		                   entry_map_first(m, "rbdisabledat"), "retentionDays",
		                   ctx->dir->cfg->retention_days));
		json_decref(m);
	}
	if (out == NULL)
		error_set(err, 500, NULL, "out of memory");
done:
	ldap_msgfree(res);
	free(people);
	dir_op_end(&op);
	return out;
}

/* One restore attempt over a fresh read. 0, or -1 with *err (404, 412 …). */
static int
retain_restore_once(struct dir_op *op, const char *user_name, char **id, struct rb_error *err)
{
	static char *attrs[] = {"rbSource",       "rbActive",
	                        "rbPermission",   "rbGroupRef",
	                        "rbDisabledAt",   "rbBindLocked",
	                        "rbManageAll",    "rbViewAll",
	                        "rbManageRegion", "rbViewRegion",
	                        "rbManageSchool", "rbViewSchool",
	                        DIR_OPERATIONAL,  NULL};
	static char *none[] = {"entryUUID", NULL};
	json_t *old = retain_find_name(op, user_name, attrs, err), *map = NULL, *after = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (old == NULL) {
		if (!error_is_set(err))
			error_set(err, 404, NULL, "no retained person %s in this tenant",
			          user_name);
		return -1;
	}
	map = json_object();
	/* Nothing held, no grant: the derived values of an entry without any,
	 * but still bind-locked until a grant or active=true comes. */
	if (map == NULL || access_summarize(op, old, NULL, map, err) < 0)
		goto done;
	json_object_del(map, "rbbindlocked");
	if (entry_map_add(map, "rbbindlocked", "TRUE") < 0) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	mods = entry_mods_build(old, map, access_derived_desc, NULL);
	if (mods != NULL)
		mods = entry_mods_append(mods, LDAP_MOD_REPLACE, "rbDisabledAt", NULL);
	if (mods != NULL)
		mods = entry_mods_append(mods, LDAP_MOD_REPLACE, "userPassword", NULL);
	if (mods != NULL)
		mods = dir_mods_hold(mods, old, op->ctx->source);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(op, false, entry_map_first(old, "dn"), mods,
	                  entry_map_first(old, "entrycsn"), none, err);
	if (after == NULL)
		goto done;
	*id = strdup(entry_map_first(after, "entryuuid"));
	log_info("tenant %s source %s: restored %s (held by %s, no grant)", op->ctx->tenant,
	         op->ctx->source, entry_map_first(old, "dn"), op->ctx->source);
	rc = *id ? 0 : error_set(err, 500, NULL, "out of memory");
done:
	entry_mods_free(mods);
	json_decref(map);
	json_decref(after);
	json_decref(old);
	return rc;
}

char *
dir_retained_restore(const struct dir_ctx *ctx, const char *user_name, struct rb_error *err)
{
	struct dir_op op;
	char *id = NULL;
	int attempt;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	for (attempt = 0; attempt < DIR_RETRIES; attempt++) {
		json_decref(op.groups);
		op.groups = NULL;
		if (retain_restore_once(&op, user_name, &id, err) == 0 || err->status != 412)
			break;
		error_clear(err);
	}
	if (id == NULL && !error_is_set(err))
		error_set(err, 503, NULL, "the person kept changing; try again");
	dir_op_end(&op);
	return id;
}
