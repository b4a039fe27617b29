/*
 * merge.c — creates lost across providers, merged back by the repair
 * thread (docs/mapping.md, "userName across providers"; issue 16); and,
 * below the lost creates, modifies a provider lost: each description's
 * latest write written back (docs/mapping.md, "Concurrent writes across
 * providers"; its own glossary at "---- modifies").
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

/*
 * Remove `value` from the array of `desc` in `state` (an absent one is fine).
 * An array left empty is dropped when `drop_empty`, kept (known: no value) if not.
 */
static void
merge_value_remove(json_t *state, const char *desc, const char *value, bool drop_empty)
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
	if (drop_empty && a != NULL && json_array_size(a) == 0)
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
				merge_value_remove(state, desc, value, true);
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

/* ---- modifies: each description's latest write wins across providers ------------------
 *
 * Glossary
 *   write     an add or modify record of a person in a provider's log made by a bridge
 *             (reqAuthzID is the bridge's ldap_bind_dn): the log of the provider that
 *             took it. The same change replicated to another provider is logged there
 *             too (as the replication identity, with the same entryCSN): a copy, not
 *             read. A record by anybody else with a CSN no bridge write has (an
 *             operator's ldapmodify, an overlay) is a foreign write.
 *   replayed  the descriptions a bridge writes whole (LDAP replace of every value,
 *             entry_mods_build): each source's ;x-src-<source> values and the shared
 *             attributes (names, e-mails, title…). Not replayed: operational ones, the
 *             derived summary and rbBindLocked (recomputed after), the RDN, secrets,
 *             and the multi-writer value sets (rbSource, rbGroupRef, rbFormerId,
 *             rbPossibleDuplicate, rbCreatePending, rbDisabledAt).
 *   want      per replayed description, the value set the writes leave when replayed
 *             in CSN order from the newest whole write (an add's values, a replace, a
 *             delete of all) on: value adds and deletes after it apply on top. A
 *             description whose newest write is a foreign one is left alone.
 *
 * Behaviour (docs/mapping.md "Concurrent writes across providers")
 *   - Only with two providers or more, and only in a round where every provider's log
 *     answered (a provider down: its writes are unknown; the checkpoints wait).
 *   - The people: every person with an add or modify record in any provider's log
 *     since its checkpoint (MERGE_OVERLAP_S before it; a bridge starting looks back
 *     MERGE_MOD_FIRST_S). For each: its records at its DN in every provider's log, the
 *     want; then on each provider, the person (by entryUUID) is read and each replayed
 *     description that differs from the want is replaced, in one modify asserted on the
 *     entryCSN read, and the summary and bind lock are refreshed there
 *     (access_refresh_person). A provider whose entry shows an entryCSN no log read
 *     holds (a write since the logs were read) is left for the next round, and so is a
 *     person with a record applied (reqStart, on any provider) less than
 *     MERGE_MOD_SETTLE_S ago: replication in flight. Two bridges fixing one provider at
 *     once: the second's assertion fails.
 *   - Idempotent: once the providers hold the want, nothing is written.
 *   - A person (settled) held by some providers only — a create, or a delete, that
 *     replication lost on one — is logged as a warning, not repaired (an add would need
 *     its entryUUID: the Relax control and manage access).
 */

#define MERGE_MOD_FIRST_S 3600 /* a bridge starting reads modifies this far back */
#define MERGE_MOD_SETTLE_S 2   /* a person written this recently waits a round */

/* What the modify replay rewrites (glossary: "replayed"). */
static bool
merge_mod_replayed(const char *desc)
{
	static const char *const skip[] = {"objectclass",
	                                   "structuralobjectclass",
	                                   "uid",
	                                   "entrycsn",
	                                   "entryuuid",
	                                   "entrydn",
	                                   "creatorsname",
	                                   "createtimestamp",
	                                   "modifiersname",
	                                   "modifytimestamp",
	                                   "rbsource",
	                                   "rbgroupref",
	                                   "rbformerid",
	                                   "rbpossibleduplicate",
	                                   "rbcreatepending",
	                                   "rbdisabledat",
	                                   "memberof",
	                                   NULL};
	size_t n = entry_desc_base_len(desc), i;

	if (n >= 3 && !strncmp(desc, "pwd", 3)) /* ppolicy's state */
		return false;
	if (entry_desc_secret(desc) || access_derived_desc(desc, NULL))
		return false;
	for (i = 0; skip[i] != NULL; i++)
		if (strlen(skip[i]) == n && !strncmp(desc, skip[i], n))
			return false;
	return true;
}

/*
 * One reqMod line "attr:+ v", "attr:- v", "attr:-", "attr:= v", "attr:=": *desc (NEW,
 * normalised), *opc ('+', '-', '='), *value (NEW, "" for none). 1, 0 (not a mod line), or
 * -1 (memory).
 */
static int
merge_mod_line(const struct berval *bv, char **desc, char *opc, char **value)
{
	const char *m = bv->bv_val, *colon = memchr(bv->bv_val, ':', bv->bv_len), *v;
	size_t len = bv->bv_len;
	char *raw;

	*desc = *value = NULL;
	if (colon == NULL || (size_t)(colon - m) + 2 > len)
		return 0;
	*opc = colon[1];
	v = colon + 2;
	if (v < m + len && *v == ' ')
		v++;
	raw = strndup(m, (size_t)(colon - m));
	*desc = raw ? entry_desc_normalise(raw) : NULL;
	free(raw);
	*value = strndup(v, (size_t)(m + len - v));
	if (*desc == NULL || *value == NULL) {
		free(*desc);
		free(*value);
		*desc = *value = NULL;
		return -1;
	}
	return 1;
}

/* One add or modify record of a person, from one provider's log. */
struct merge_wr {
	char *csn;
	bool bridge, add, del;
	struct berval **mods;
};

static int
merge_wr_cmp(const void *a, const void *b)
{
	const struct merge_wr *x = a, *y = b;
	return strcmp(x->csn, y->csn);
}

/*
 * Replay one record onto `want` (desc → the values known, glossary). `bridge_csns` holds
 * the CSN of every write (a record not a write whose CSN is there is a copy: skipped).
 * 0 or -1 (memory).
 */
static int
merge_mod_apply(json_t *want, const struct merge_wr *w, const json_t *bridge_csns)
{
	json_t *reset;
	size_t i;
	int rc = -1;

	if (!w->bridge && json_object_get(bridge_csns, w->csn) != NULL)
		return 0;
	if ((reset = json_object()) == NULL)
		return -1;
	for (i = 0; w->mods != NULL && w->mods[i] != NULL; i++) {
		char *desc, *value, opc;
		int lrc = merge_mod_line(w->mods[i], &desc, &opc, &value);
		bool whole;
		if (lrc < 0)
			goto done;
		if (lrc == 0)
			continue;
		whole = w->add ? opc == '+' : (opc == '=' || (opc == '-' && !*value));
		if (!merge_mod_replayed(desc)) {
			/* not ours to rewrite */
		} else if (!w->bridge) {
			json_object_del(want, desc); /* a foreign write: unknown from here */
		} else if (whole) {
			if (json_object_get(reset, desc) == NULL) {
				json_object_set_new(want, desc, json_array());
				json_object_set_new(reset, desc, json_true());
			}
			if (opc != '-' && *value && entry_map_add(want, desc, value) < 0)
				lrc = -1;
		} else if (json_object_get(want, desc) != NULL) {
			if (opc == '+' && entry_map_add(want, desc, value) < 0)
				lrc = -1;
			else if (opc == '-')
				merge_value_remove(want, desc, value, false);
		}
		free(desc);
		free(value);
		if (lrc < 0)
			goto done;
	}
	rc = 0;
done:
	json_decref(reset);
	return rc;
}

/* The providers' dir_ops of one modify round, and what the round read. */
struct merge_mod {
	struct dir_ctx ctx[MERGE_MAX_PROVIDERS];
	struct dir_op lop[MERGE_MAX_PROVIDERS];
	size_t n;
	const char *bind_dn;
	char *people;
};

/*
 * The want of the person `uuid` logged at `dn`: a NEW map (desc → values); *csns (NEW)
 * every CSN its records carry (any author); *newest the newest reqStart (the time a
 * record, a replicated copy included, was applied); *deleted whether its newest write is
 * a delete. NULL with *err.
 */
static json_t *
merge_mod_want(struct merge_mod *mm, const char *dn, const char *uuid, json_t **csns,
               time_t *newest, bool *deleted, struct rb_error *err)
{
	static char *attrs[] = {"entryCSN", "reqEntryUUID", "reqAuthzID", "reqType",
	                        "reqStart", "reqMod",       NULL};
	LDAPMessage *res[MERGE_MAX_PROVIDERS] = {NULL};
	struct merge_wr *w = NULL;
	json_t *want = json_object(), *bridge = json_object();
	char *esc = escape_filter_value(dn, strlen(dn)), filter[1300];
	size_t i, n = 0, cap = 0;

	*csns = json_object();
	*newest = 0;
	*deleted = false;
	if (esc == NULL || want == NULL || bridge == NULL || *csns == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	snprintf(filter, sizeof(filter),
	         "(&(reqResult=0)(reqDN=%s)(|(objectClass=auditAdd)(objectClass=auditModify)"
	         "(objectClass=auditDelete)))",
	         esc);
	for (i = 0; i < mm->n; i++) {
		if (dir_search(&mm->lop[i], MERGE_LOG, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0,
		               &res[i], err) < 0)
			goto fail;
		cap += res[i] ? (size_t)ldap_count_entries(mm->lop[i].conn->ld, res[i]) : 0;
	}
	if ((w = calloc(cap + 1, sizeof(*w))) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	for (i = 0; i < mm->n; i++) {
		LDAP *ld = mm->lop[i].conn->ld;
		LDAPMessage *e;
		for (e = res[i] ? ldap_first_entry(ld, res[i]) : NULL; e != NULL && n < cap;
		     e = ldap_next_entry(ld, e)) {
			char *id = merge_first(ld, e, "reqEntryUUID"),
			     *who = merge_first(ld, e, "reqAuthzID"),
			     *type = merge_first(ld, e, "reqType"),
			     *csn = merge_first(ld, e, "entryCSN"),
			     *start = merge_first(ld, e, "reqStart");
			if (id != NULL && csn != NULL && !strcasecmp(id, uuid)) {
				w[n].csn = csn;
				csn = NULL;
				w[n].bridge = who != NULL && mm->bind_dn != NULL &&
				              !strcasecmp(who, mm->bind_dn);
				w[n].add = type != NULL && !strcmp(type, "add");
				w[n].del = type != NULL && !strcmp(type, "delete");
				w[n].mods = ldap_get_values_len(ld, e, "reqMod");
				json_object_set_new(*csns, w[n].csn, json_true());
				if (w[n].bridge)
					json_object_set_new(bridge, w[n].csn, json_true());
				/* when it was applied here: a replicated copy of an old write
				 * is young (replication in flight) */
				if (merge_time(start) > *newest)
					*newest = merge_time(start);
				n++;
			}
			free(id);
			free(who);
			free(type);
			free(csn);
			free(start);
		}
	}
	qsort(w, n, sizeof(*w), merge_wr_cmp);
	for (i = 0; i < n; i++) {
		if (merge_mod_apply(want, &w[i], bridge) < 0) {
			error_set(err, 500, NULL, "out of memory");
			goto fail;
		}
		if (w[i].bridge)
			*deleted = w[i].del;
	}
	goto done;
fail:
	json_decref(want);
	want = NULL;
	json_decref(*csns);
	*csns = NULL;
done:
	for (i = 0; w != NULL && i < n; i++) {
		free(w[i].csn);
		ldap_value_free_len(w[i].mods);
	}
	free(w);
	for (i = 0; i < mm->n; i++)
		ldap_msgfree(res[i]);
	json_decref(bridge);
	free(esc);
	return want;
}

/*
 * On the provider of `lop`: make the person `uuid` hold `want` (asserted on the entryCSN
 * read, which must be `expect` and one of `csns`), then refresh its derived values.
 * `want` NULL: only look, *found whether the provider holds the person and *csn_out
 * (NEW, or NULL) its entryCSN. *fixed counts a rewrite. 0, or -1 with *err (a 412 or 404
 * is the next round's: 0).
 */
static int
merge_mod_fix(struct dir_op *lop, const char *people, const char *uuid, const json_t *want,
              const json_t *csns, const char *expect, int *fixed, bool *found, char **csn_out,
              struct rb_error *err)
{
	static char *attrs[] = {"*", "entryCSN", NULL};
	LDAPMessage *res = NULL, *e;
	json_t *person = NULL, *written = NULL, *vals, *none = json_array();
	LDAPMod **mods = NULL;
	struct strbuf names = {0};
	const char *csn, *desc;
	char *pdn = NULL, filter[120];
	int rc = -1, n = 0;

	if (none == NULL || (mods = calloc(1, sizeof(*mods))) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, sizeof(filter), "(&(objectClass=rbPerson)(entryUUID=%s))", uuid);
	if (dir_search(lop, people, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(lop->conn->ld, res) : NULL;
	*found = e != NULL;
	rc = 0;
	if (e != NULL && want == NULL && csn_out != NULL)
		*csn_out = merge_first(lop->conn->ld, e, "entryCSN");
	if (e == NULL || want == NULL)
		goto done; /* not (or no longer) on this provider, or only looking */
	rc = -1;
	person = entry_to_map(lop->conn->ld, e);
	pdn = person ? strdup(entry_map_first(person, "dn")) : NULL;
	csn = person ? entry_map_first(person, "entrycsn") : NULL;
	if (pdn == NULL || csn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (json_object_get(csns, csn) == NULL || (expect != NULL && strcmp(csn, expect) != 0)) {
		rc = 0; /* written since the logs were read: the next round looks again */
		goto done;
	}
	json_object_foreach((json_t *)want, desc, vals)
	{
		const json_t *cur = json_object_get(person, desc);
		if (entry_values_equal(cur ? cur : none, vals))
			continue;
		mods = entry_mods_append(mods, LDAP_MOD_REPLACE, desc,
		                         json_array_size(vals) ? vals : NULL);
		strbuf_addf(&names, "%s%s", n ? " " : "", desc);
		if (mods == NULL || names.failed) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		n++;
	}
	if (n > 0) {
		written = dir_write(lop, false, pdn, mods, csn, NULL, err);
		if (written == NULL) {
			if (err->status == 412 || err->status == 404) {
				error_clear(err);
				rc = 0;
			}
			goto done;
		}
		log_info("merge: tenant %s: %s: %s: %d description(s) rewritten to their latest "
		         "write: %s",
		         lop->ctx->tenant, lop->ctx->dir->cfg->ldap_uri, pdn, n, names.s);
		(*fixed)++;
	}
	rc = access_refresh_person(lop, pdn, NULL, err);
done:
	ldap_msgfree(res);
	entry_mods_free(mods);
	json_decref(written);
	json_decref(person);
	json_decref(none);
	free(names.s);
	free(pdn);
	return rc;
}

/*
 * The people written in provider i's log since its checkpoint, added to `todo`
 * (entryUUID → DN); *newest the newest reqStart. 0, or -1 with *err.
 */
static int
merge_mod_scan(struct merge_mod *mm, size_t i, time_t cp, json_t *todo, time_t *newest,
               struct rb_error *err)
{
	static char *attrs[] = {"reqStart", "reqDN", "reqEntryUUID", NULL};
	struct dir_op *lop = &mm->lop[i];
	LDAPMessage *res = NULL, *e;
	struct strbuf f = {0};
	char *esc = escape_filter_value(mm->people, strlen(mm->people)), stamp[32];
	int rc = -1;

	*newest = 0;
	merge_stamp(cp > 0 ? cp - MERGE_OVERLAP_S : time(NULL) - MERGE_MOD_FIRST_S, stamp,
	            sizeof(stamp));
	if (esc != NULL)
		strbuf_addf(&f,
		            "(&(reqResult=0)(reqDN:dnOneLevelMatch:=%s)(reqStart>=%s)"
		            "(|(objectClass=auditAdd)(objectClass=auditModify)))",
		            esc, stamp);
	if (esc == NULL || f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(lop, MERGE_LOG, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(lop->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(lop->conn->ld, e)) {
		char *start = merge_first(lop->conn->ld, e, "reqStart"),
		     *dn = merge_first(lop->conn->ld, e, "reqDN"),
		     *uuid = merge_first(lop->conn->ld, e, "reqEntryUUID");
		if (dn != NULL && uuid != NULL && dir_id_valid(uuid))
			json_object_set_new(todo, uuid, json_string(dn));
		if (merge_time(start) > *newest)
			*newest = merge_time(start);
		free(start);
		free(dn);
		free(uuid);
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(f.s);
	free(esc);
	return rc;
}

/*
 * The modify round of `tenant` (glossary above): *fixed = rewrites written. 0 (a
 * provider down included: nothing done), or -1 with *err.
 */
static int
merge_mod_round(struct dir *dir, const char *tenant, json_t *seen, int *fixed, struct rb_error *err)
{
	struct merge *m = dir->merge;
	struct merge_mod mm = {.n = 0};
	struct strbuf key[MERGE_MAX_PROVIDERS] = {{0}};
	time_t newest[MERGE_MAX_PROVIDERS] = {0}, now = time(NULL);
	json_t *todo = json_object(), *v;
	const char *uuid;
	size_t i;
	int rc = -1;

	*fixed = 0;
	if (m == NULL || m->n < 2 || todo == NULL) {
		json_decref(todo);
		return todo == NULL ? error_set(err, 500, NULL, "out of memory") : 0;
	}
	mm.bind_dn = dir->cfg->ldap_bind_dn;
	for (i = 0; i < m->n; i++, mm.n++) {
		mm.ctx[i] = (struct dir_ctx){
		    .dir = m->p[i].dir, .tenant = tenant, .source = "(merge)", .base_url = ""};
		if (dir_op_begin(&mm.lop[i], &mm.ctx[i], err) < 0)
			goto done;
	}
	if ((mm.people = dir_ou_dn(&mm.lop[0], "people")) == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < m->n; i++) {
		strbuf_addf(&key[i], "%s %s modify", m->p[i].uri, tenant);
		if (key[i].failed) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		if (merge_mod_scan(&mm, i,
		                   (time_t)json_integer_value(json_object_get(seen, key[i].s)),
		                   todo, &newest[i], err) < 0)
			goto done;
	}
	json_object_foreach(todo, uuid, v)
	{
		json_t *csns = NULL, *want;
		struct strbuf on = {0}, off = {0};
		time_t young = 0;
		bool deleted = false, same = true, found = false;
		char *first = NULL;
		size_t held = 0;
		want =
		    merge_mod_want(&mm, json_string_value(v), uuid, &csns, &young, &deleted, err);
		if (want == NULL)
			goto done;
		/* Look first: rewrite only where every provider holds the person at one
		 * entryCSN (the losses seen leave it so); a provider behind (replication in
		 * flight) makes them differ, and a rewrite there could overtake a newer
		 * write still on its way. */
		for (i = 0; young < now - MERGE_MOD_SETTLE_S && i < mm.n; i++) {
			char *c = NULL;
			found = false;
			if (merge_mod_fix(&mm.lop[i], mm.people, uuid, NULL, csns, NULL, fixed,
			                  &found, &c, err) < 0)
				break;
			strbuf_addf(found ? &on : &off, " %s", m->p[i].uri);
			held += found;
			if (found && (c == NULL || (first != NULL && strcmp(first, c) != 0)))
				same = false;
			if (first == NULL) {
				first = c;
				c = NULL;
			}
			free(c);
		}
		for (i = 0; !error_is_set(err) && !deleted && held == mm.n && same &&
		            first != NULL && i < mm.n;
		     i++)
			if (merge_mod_fix(&mm.lop[i], mm.people, uuid, want, csns, first, fixed,
			                  &found, NULL, err) < 0)
				break;
		free(first);
		/* Held by some providers only, settled: replication lost a write there (an
		 * add, or a delete). Reported, not repaired (docs/mapping.md). */
		if (!error_is_set(err) && held > 0 && held < mm.n && !on.failed && !off.failed) {
			if (deleted)
				log_warnx(
				    "merge: tenant %s: person %s (%s), deleted by its source, is "
				    "still on%s (not on%s): not repaired",
				    tenant, uuid, json_string_value(v), on.s, off.s);
			else
				log_warnx(
				    "merge: tenant %s: person %s (%s) is missing on%s (held on%s): "
				    "an acknowledged write lost there by replication; not repaired",
				    tenant, uuid, json_string_value(v), off.s, on.s);
		}
		free(on.s);
		free(off.s);
		json_decref(want);
		json_decref(csns);
		if (error_is_set(err))
			goto done;
	}
	if (*fixed > 0)
		log_info("merge: tenant %s: %zu person(s) written since the last round compared "
		         "across %zu providers, %d rewritten",
		         tenant, json_object_size(todo), mm.n, *fixed);
	else if (json_object_size(todo) > 0)
		log_debug("merge: tenant %s: %zu person(s) written since the last round compared "
		          "across %zu providers, none rewritten",
		          tenant, json_object_size(todo), mm.n);
	for (i = 0; i < m->n; i++)
		if (newest[i] > (time_t)json_integer_value(json_object_get(seen, key[i].s)))
			json_object_set_new(seen, key[i].s, json_integer((json_int_t)newest[i]));
	rc = 0;
done:
	for (i = 0; i < mm.n; i++)
		dir_op_end(&mm.lop[i]);
	for (i = 0; i < m->n; i++)
		free(key[i].s);
	free(mm.people);
	json_decref(todo);
	/* A provider down: its writes are unknown, nothing is rewritten (checkpoints kept). */
	if (rc < 0 && err->status == 503) {
		error_clear(err);
		rc = 0;
	}
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
	if (dir->merge != NULL) {
		struct rb_error one;
		int fixed = 0;
		error_clear(&one);
		if (merge_mod_round(dir, tenant, dir->repair_seen, &fixed, &one) < 0 && rc == 0) {
			*err = one;
			rc = -1;
		}
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
