/*
 * merge.c — creates lost across providers, merged back by the repair
 * thread (docs/mapping.md, "userName across providers"; issue 16).
 *
 * Two providers of a multi-provider setup (scripts/cluster) can each take a
 * create of one userName (within the replication delay, or during a
 * partition): both answer 201, and the person's DN (uid=<userName>) is the
 * same, so replication keeps ONE entry: the add with the higher CSN, whole.
 * The earlier create's per-source attributes (its source's grant, active
 * flag, externalId, schools as given), its rbSource value and its
 * memberships (rbGroupRef) are gone, and so is the id its source was
 * answered. This file puts them back, on the entry that won.
 *
 * Glossary
 *   provider  one URI of the bridge's ldap_uri list; the repair reads each
 *             one's cn=accesslog (the audit trail, or the delta-syncrepl
 *             log of scripts/cluster: the service account reads both)
 *             over a one-connection pool of its own (merge_start).
 *   loss      an accesslog record under ou=people of the tenant that shows
 *             an entry's entryUUID replaced by replication: a modify of
 *             entryUUID (same DN) or a modrdn (the other add's RDN case);
 *             its reqEntryUUID is the id that was lost.
 *   lost id   that reqEntryUUID, when no person (retained ones included)
 *             carries it as entryUUID or rbFormerId.
 *   history   the lost id's records at the DN in that provider's log, by
 *             reqStart: its add, then its modifies; replayed (reqMod
 *             "attr:+ v", ":- v", ":-", ":= v", ":=") for the per-source
 *             descriptions (;x-src-*), rbSource, rbGroupRef and
 *             rbCreatePending.
 *   checkpoint per (provider, tenant): the newest reqStart read, kept in
 *             the repair thread's memory; each round reads the records
 *             from MERGE_OVERLAP_S before it. A bridge starting reads the
 *             whole log once (losses are rare records: modrdns and
 *             entryUUID replacements, not every write).
 *
 * Behaviour
 *   - For each lost id with a history whose add is there: nothing if a
 *     person was deleted at that DN after the add (by its source, or a
 *     later release of the merged person: never resurrected), or if the
 *     create was never answered (rbCreatePending left), or if no person
 *     is at the DN now. Otherwise one modify of that person, written on
 *     the provider whose log holds the history and asserted on the
 *     entryCSN read there (RFC 4528): rbFormerId: <lost id>; for each
 *     source of the history that does not hold the person, rbSource and
 *     its per-source descriptions as the history left them; the history's
 *     rbGroupRef values (Permissive Modify). A source that holds the
 *     person already (the SAME source created it twice, or attached
 *     since) keeps what it wrote last: only the id is recorded. Then the
 *     person's derived values (summary, bind lock) are refreshed
 *     (access_refresh_person).
 *   - Idempotent and safe with two bridges: rbFormerId marks the merge
 *     done (the lost id is no longer lost); two bridges merging at once
 *     write to the same provider, and the second's assertion fails (412:
 *     next round, where it finds the id merged).
 *   - A failure keeps the checkpoint where it was: the next round reads
 *     the same records again.
 *   - The id keeps working: dir_find_person_by_id finds the person by
 *     rbFormerId when no entryUUID matches.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/pool.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define MERGE_LOG "cn=accesslog"
#define MERGE_OVERLAP_S 120 /* seconds re-read before the checkpoint: ops logged late */
#define MERGE_MAX_PROVIDERS 8

/* One provider of the ldap_uri list, with a one-connection pool of its own. */
struct merge_provider {
	char *uri;
	struct config cfg; /* the bridge's configuration with ldap_uri = uri */
	struct pool *pool;
	struct dir *dir;
};

struct merge {
	struct merge_provider p[MERGE_MAX_PROVIDERS];
	size_t n;
};

/* What a history replays: the person's per-source state, not shared attributes. */
static bool
merge_kept(const char *desc)
{
	size_t n = entry_desc_base_len(desc);

	if (strstr(desc, ";x-src-") != NULL)
		return true;
	return (n == strlen("rbsource") && !strncmp(desc, "rbsource", n)) ||
	       (n == strlen("rbgroupref") && !strncmp(desc, "rbgroupref", n)) ||
	       (n == strlen("rbcreatepending") && !strncmp(desc, "rbcreatepending", n));
}

/* Remove `value` from the array of `desc` in `state` (an absent one is fine). */
static void
merge_value_remove(json_t *state, const char *desc, const char *value)
{
	json_t *a = json_object_get(state, desc), *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		if (!strcmp(json_string_value(v), value)) {
			json_array_remove(a, i);
			break;
		}
	}
	if (a != NULL && json_array_size(a) == 0)
		json_object_del(state, desc);
}

/*
 * Replay one record's reqMod values ("attr:+ v" …) onto `state`. `replaced`
 * remembers the descriptions a replace of this record has reset (a replace
 * with several values is logged as several ":=" lines). 0 or -1 (memory).
 */
static int
merge_replay(json_t *state, struct berval **mods)
{
	json_t *replaced = json_object();
	size_t i;
	int rc = -1;

	if (replaced == NULL)
		return -1;
	for (i = 0; mods != NULL && mods[i] != NULL; i++) {
		const char *m = mods[i]->bv_val, *colon;
		size_t len = mods[i]->bv_len;
		char *raw, *desc = NULL, *value;
		char opc;

		colon = memchr(m, ':', len);
		if (colon == NULL || (size_t)(colon - m) + 2 > len)
			continue;
		raw = strndup(m, (size_t)(colon - m));
		desc = raw ? entry_desc_normalise(raw) : NULL;
		free(raw);
		if (desc == NULL)
			goto done;
		opc = colon[1];
		value = strndup(colon + 2 + (colon + 2 < m + len && colon[2] == ' '),
		                len - (size_t)(colon - m) - 2 -
		                    (colon + 2 < m + len && colon[2] == ' '));
		if (value == NULL) {
			free(desc);
			goto done;
		}
		if (merge_kept(desc)) {
			if (opc == '+')
				entry_map_add(state, desc, value);
			else if (opc == '-' && *value)
				merge_value_remove(state, desc, value);
			else if (opc == '-')
				json_object_del(state, desc);
			else if (opc == '=') {
				if (json_object_get(replaced, desc) == NULL) {
					json_object_del(state, desc);
					json_object_set_new(replaced, desc, json_true());
				}
				if (*value)
					entry_map_add(state, desc, value);
			}
		}
		free(value);
		free(desc);
	}
	rc = 0;
done:
	json_decref(replaced);
	return rc;
}

/* The first value of `attr` in an accesslog record, as a NEW string (or NULL). */
static char *
merge_first(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	char *s = v && v[0] ? strndup(v[0]->bv_val, v[0]->bv_len) : NULL;

	ldap_value_free_len(v);
	return s;
}

/* One record of a history, for sorting by reqStart. */
struct merge_rec {
	char *start, *type, *uuid;
	LDAPMessage *e;
};

static int
merge_rec_cmp(const void *a, const void *b)
{
	const struct merge_rec *x = a, *y = b;
	return strcmp(x->start ? x->start : "", y->start ? y->start : "");
}

/*
 * The state the lost id `uuid` left at `dn` in the log of `lop`'s provider:
 * a NEW map of the kept descriptions, or NULL with *err unset when there is
 * nothing to merge (no add of it in this log, a delete at the DN after its
 * add), or set on failure.
 */
static json_t *
merge_history(struct dir_op *lop, const char *dn, const char *uuid, struct rb_error *err)
{
	static char *attrs[] = {"reqStart", "reqType", "reqEntryUUID", "reqMod", NULL};
	LDAPMessage *res = NULL, *e;
	LDAP *ld = lop->conn->ld;
	struct merge_rec *recs = NULL;
	char *esc = escape_filter_value(dn, strlen(dn)), filter[1200];
	json_t *state = NULL;
	size_t n = 0, i, cap;
	bool added = false, deleted = false;

	if (esc == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	snprintf(filter, sizeof(filter), "(&(reqResult=0)(reqDN=%s))", esc);
	free(esc);
	if (dir_search(lop, MERGE_LOG, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		return NULL;
	cap = res ? (size_t)ldap_count_entries(ld, res) : 0;
	recs = calloc(cap + 1, sizeof(*recs));
	state = json_object();
	if (recs == NULL || state == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	for (e = res ? ldap_first_entry(ld, res) : NULL; e != NULL && n < cap;
	     e = ldap_next_entry(ld, e), n++) {
		recs[n].start = merge_first(ld, e, "reqStart");
		recs[n].type = merge_first(ld, e, "reqType");
		recs[n].uuid = merge_first(ld, e, "reqEntryUUID");
		recs[n].e = e;
	}
	qsort(recs, n, sizeof(*recs), merge_rec_cmp);
	for (i = 0; i < n; i++) {
		const char *type = recs[i].type ? recs[i].type : "";
		bool mine = recs[i].uuid && !strcasecmp(recs[i].uuid, uuid);
		if (!added) {
			if (mine && !strcmp(type, "add"))
				added = true;
			else
				continue;
		}
		if (!strcmp(type, "delete")) {
			deleted = true; /* its source's, or the merged person's later release */
			break;
		}
		if (mine && (!strcmp(type, "add") || !strcmp(type, "modify"))) {
			struct berval **mods = ldap_get_values_len(ld, recs[i].e, "reqMod");
			int rrc = merge_replay(state, mods);
			ldap_value_free_len(mods);
			if (rrc < 0) {
				error_set(err, 500, NULL, "out of memory");
				goto fail;
			}
		}
	}
	if (!added || deleted) {
		json_decref(state);
		state = NULL;
	}
	goto done;
fail:
	json_decref(state);
	state = NULL;
done:
	for (i = 0; recs != NULL && i < n; i++) {
		free(recs[i].start);
		free(recs[i].type);
		free(recs[i].uuid);
	}
	free(recs);
	ldap_msgfree(res);
	return state;
}

/* Whether a person of the tenant (retained ones too) carries `uuid`. 1, 0, or -1. */
static int
merge_id_known(struct dir_op *lop, const char *people, const char *uuid, struct rb_error *err)
{
	static char *none[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	char filter[200];
	int found;

	snprintf(filter, sizeof(filter), "(|(entryUUID=%s)(rbFormerId=%s))", uuid, uuid);
	if (dir_search(lop, people, LDAP_SCOPE_ONELEVEL, filter, none, NULL, 0, &res, err) < 0)
		return -1;
	found = res && ldap_first_entry(lop->conn->ld, res) != NULL;
	ldap_msgfree(res);
	return found;
}

/*
 * Merge the lost id `uuid`, whose loss was logged at `dn`, into the person
 * now at `dn`, through `lop` (the provider whose log holds the history).
 * *merged counts a merge written. 0, or -1 with *err.
 */
static int
merge_one(struct dir_op *lop, const char *people, const char *dn, const char *uuid, int *merged,
          struct rb_error *err)
{
	static char *attrs[] = {"rbSource", "rbGroupRef", "entryCSN", "entryUUID", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *state = NULL, *person = NULL, *written = NULL, *vals, *v;
	LDAPMod **mods = NULL;
	const char *desc, *csn, *key;
	char *pdn = NULL, src[128];
	size_t i;
	int known, rc = -1;

	if (!dir_id_valid(uuid))
		return 0;
	known = merge_id_known(lop, people, uuid, err);
	if (known != 0)
		return known < 0 ? -1 : 0;
	state = merge_history(lop, dn, uuid, err);
	if (state == NULL) {
		rc = error_is_set(err) ? -1 : 0;
		goto done;
	}
	if (json_object_get(state, "rbcreatepending") != NULL) {
		rc = 0; /* never answered 2xx: nothing was acknowledged */
		goto done;
	}
	if (dir_search(lop, dn, LDAP_SCOPE_BASE, DIR_PERSON_FILTER, attrs, NULL, 0, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(lop->conn->ld, res) : NULL;
	if (e == NULL) {
		log_info("merge: lost create %s at %s: no person there now; nothing to merge into",
		         uuid, dn);
		rc = 0;
		goto done;
	}
	person = entry_to_map(lop->conn->ld, e);
	pdn = person ? strdup(entry_map_first(person, "dn")) : NULL;
	csn = person ? entry_map_first(person, "entrycsn") : NULL;
	if (pdn == NULL || csn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	vals = json_pack("[s]", uuid);
	mods = vals ? entry_mods_append(NULL, LDAP_MOD_ADD, "rbFormerId", vals) : NULL;
	json_decref(vals);
	/* Each source of the history that does not hold the person: its hold and grant. */
	json_array_foreach(json_object_get(state, "rbsource"), i, v)
	{
		const char *s = json_string_value(v);
		if (mods == NULL || s == NULL || dir_held_by(person, s))
			continue;
		vals = json_pack("[s]", s);
		mods = vals ? entry_mods_append(mods, LDAP_MOD_ADD, "rbSource", vals) : mods;
		json_decref(vals);
		json_object_foreach(state, key, vals)
		{
			if (mods == NULL)
				break;
			if (!entry_desc_option_value(key, "x-src-", src, sizeof(src)) ||
			    strcasecmp(src, s) != 0)
				continue;
			mods = entry_mods_append(mods, LDAP_MOD_REPLACE, key, vals);
		}
	}
	vals = json_object_get(state, "rbgroupref");
	if (mods != NULL && vals != NULL)
		mods = entry_mods_append(mods, LDAP_MOD_ADD, "rbGroupRef", vals);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* Asserted on what was read: a writer in between (another bridge's merge
	 * included) is a 412, and the next round looks again. Permissive: a
	 * membership the person has already is no error. */
	lop->permissive = true;
	written = dir_write(lop, false, pdn, mods, csn, NULL, err);
	lop->permissive = false;
	if (written == NULL)
		goto done;
	desc = entry_map_first(person, "entryuuid");
	log_info("merge: tenant %s: create %s lost to %s (%s) merged into it", lop->ctx->tenant,
	         uuid, desc ? desc : "?", pdn);
	(*merged)++;
	rc = access_refresh_person(lop, pdn, NULL, err);
done:
	ldap_msgfree(res);
	entry_mods_free(mods);
	json_decref(written);
	json_decref(person);
	json_decref(state);
	free(pdn);
	return rc;
}

/* "YYYYmmddHHMMSSZ" of t. */
static void
merge_stamp(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y%m%d%H%M%SZ", &tm);
}

/* Seconds since the epoch of a reqStart value (its first 14 digits), or 0. */
static time_t
merge_time(const char *gt)
{
	static const int width[] = {4, 2, 2, 2, 2, 2};
	int part[6] = {0};
	struct tm tm;
	size_t i, k = 0;

	if (gt == NULL || strlen(gt) < 14 || strspn(gt, "0123456789") < 14)
		return 0;
	for (i = 0; i < 6; i++)
		for (int w = 0; w < width[i]; w++)
			part[i] = part[i] * 10 + (gt[k++] - '0');
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = part[0] - 1900;
	tm.tm_mon = part[1] - 1;
	tm.tm_mday = part[2];
	tm.tm_hour = part[3];
	tm.tm_min = part[4];
	tm.tm_sec = part[5];
	return timegm(&tm);
}

/*
 * The losses in one provider's log since its checkpoint (`seen`, key
 * "<uri> <tenant>"), each merged. 0, or -1 with *err (the checkpoint kept).
 */
static int
merge_provider_round(struct merge_provider *mp, const char *tenant, json_t *seen, int *merged,
                     struct rb_error *err)
{
	static char *attrs[] = {"reqStart", "reqDN", "reqEntryUUID", NULL};
	struct dir_ctx ctx = {
	    .dir = mp->dir, .tenant = tenant, .source = "(merge)", .base_url = ""};
	struct dir_op lop;
	LDAPMessage *res = NULL, *e;
	struct strbuf key = {0}, f = {0};
	char *people = NULL, *esc = NULL, stamp[32];
	time_t cp, newest = 0;
	int rc = -1, records = 0, before = *merged;

	if (dir_op_begin(&lop, &ctx, err) < 0)
		return -1;
	strbuf_addf(&key, "%s %s", mp->uri, tenant);
	people = dir_ou_dn(&lop, "people");
	esc = people ? escape_filter_value(people, strlen(people)) : NULL;
	if (key.failed || esc == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	cp = (time_t)json_integer_value(json_object_get(seen, key.s));
	strbuf_addf(&f, "(&(reqResult=0)(reqDN:dnOneLevelMatch:=%s)", esc);
	if (cp > 0) {
		merge_stamp(cp - MERGE_OVERLAP_S, stamp, sizeof(stamp));
		strbuf_addf(&f, "(reqStart>=%s)", stamp);
	}
	strbuf_add(&f, "(|(objectClass=auditModRDN)(&(objectClass=auditModify)"
	               "(reqMod=entryUUID:= *))))");
	if (f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* No cn=accesslog on this provider (noSuchObject): nothing to read. */
	if (dir_search(&lop, MERGE_LOG, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(lop.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(lop.conn->ld, e)) {
		char *start = merge_first(lop.conn->ld, e, "reqStart"),
		     *dn = merge_first(lop.conn->ld, e, "reqDN"),
		     *uuid = merge_first(lop.conn->ld, e, "reqEntryUUID");
		time_t t = merge_time(start);
		records++;
		int mrc = dn && uuid ? merge_one(&lop, people, dn, uuid, merged, err) : 0;
		free(start);
		free(dn);
		free(uuid);
		if (mrc < 0)
			goto done;
		if (t > newest)
			newest = t;
	}
	if (records > 0)
		log_info("merge: tenant %s: %s: %d loss record(s) read, %d merged", tenant, mp->uri,
		         records, *merged - before);
	if (newest > cp)
		json_object_set_new(seen, key.s, json_integer((json_int_t)newest));
	rc = 0;
done:
	ldap_msgfree(res);
	dir_op_end(&lop);
	free(key.s);
	free(f.s);
	free(people);
	free(esc);
	return rc;
}

int
merge_round(struct dir *dir, const char *tenant, int *merged, struct rb_error *err)
{
	size_t i;
	int rc = 0;

	*merged = 0;
	for (i = 0; dir->merge != NULL && i < dir->merge->n; i++) {
		struct rb_error one;
		error_clear(&one);
		if (merge_provider_round(&dir->merge->p[i], tenant, dir->repair_seen, merged,
		                         &one) == 0)
			continue;
		/* A provider down is another's business (its log waits for it); the
		 * others are still read. The first other failure is reported. */
		if (one.status == 503)
			continue;
		if (rc == 0)
			*err = one;
		rc = -1;
	}
	return rc;
}

int
merge_start(struct dir *dir)
{
	const char *p = dir->cfg->ldap_uri;
	struct merge *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	dir->merge = m;
	while (p != NULL && *p && m->n < MERGE_MAX_PROVIDERS) {
		size_t n;
		struct merge_provider *mp = &m->p[m->n];
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		mp->uri = strndup(p, n);
		p += n;
		if (mp->uri == NULL)
			return -1;
		mp->cfg = *dir->cfg;
		mp->cfg.ldap_uri = mp->uri;
		mp->pool = pool_create(&mp->cfg, 1);
		mp->dir = mp->pool ? dir_create(&mp->cfg, mp->pool) : NULL;
		m->n++;
		if (mp->dir == NULL)
			return -1;
	}
	return 0;
}

void
merge_stop(struct dir *dir)
{
	size_t i;

	if (dir->merge == NULL)
		return;
	for (i = 0; i < dir->merge->n; i++) {
		struct merge_provider *mp = &dir->merge->p[i];
		dir_destroy(mp->dir);
		pool_destroy(mp->pool);
		free(mp->uri);
	}
	free(dir->merge);
	dir->merge = NULL;
}
