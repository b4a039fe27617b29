/*
 * dir_page.c — paged, sorted searches; see dir_int.h.
 *
 * Stable order: every LDAP sort ends with entryUUID as the last key, and
 * the default order of a filtered list is (createTimestamp, entryUUID), so
 * pages never repeat or skip an entry while nothing changes.
 *
 * The unfiltered list without sortBy (issue 17: `GET /Users?count=N`, what
 * identity providers send as a connection test, and Okta's import pages)
 * takes neither path:
 *
 * - Order: the directory's own order of a one-level search (back-mdb walks
 *   the parent's children in its dn2id index: by the RDN's length, then
 *   its bytes; measured, docs/schema.md). Every unfiltered page without
 *   sortBy uses it, so paging sees each entry once while nothing changes
 *   (a create or delete before a client's position shifts the later pages
 *   by one, as RFC 7644 §3.4.2.4 allows). slapd stops at
 *   the size limit: page 1 reads `count` entries, not the tenant. A later
 *   page takes its entryUUIDs from the list's whole order, read once per
 *   marker (entryUUIDs only) and kept with the cached total (the last
 *   list read), then reads its own entries by entryUUID; without a marker,
 *   it reads the entryUUIDs up to its end (O(startIndex)).
 * - Total: SCIM's totalResults is exact, and slapd counts a search only by
 *   returning or sorting every entry. The count (sssvlv over the tenant,
 *   as a sorted list's) is cached per list with the directory's change
 *   marker read BEFORE counting: the suffix's contextCSN, which
 *   slapo-syncprov (kit step 0008) moves on every write to the database
 *   whoever sends it (this bridge, another one, a replicated change, an
 *   operator's ldapmodify). A request whose freshly read marker equals the
 *   cached one reuses the count (nothing was written since); any other
 *   counts again. A directory without a contextCSN (no syncprov) is
 *   counted on every request, as before; the daemon logs that once.
 */
#include "dir/dir_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/ldaperr.h"
#include "dir/pool.h"
#include "dir/query.h"
#include "engine/sort.h"
#include "lib/log.h"
#include "lib/strbuf.h"

/* Sorted VLV search for an exact filter. Returns the page's maps (NEW array) or NULL. */
static json_t *
dir_page_vlv(struct dir_op *op, const struct dir_type *t, char **attrs, const char *base,
             const char *filter, const char *sortkeys, const struct dir_query *q, long *total,
             struct rb_error *err)
{
	LDAPSortKey **keys = NULL;
	LDAPControl *sort = NULL, *vlv = NULL, *ctrls[3] = {NULL, NULL, NULL}, **rctrls = NULL;
	LDAPMessage *res = NULL, *e;
	LDAPVLVInfo info;
	json_t *maps = NULL;
	ber_int_t target = 0, count = 0, vlverr = 0;
	struct berval *context = NULL;
	long after = q->count > 0 ? q->count - 1 : 0;
	int i, code = LDAP_OTHER;

	if (ldap_create_sort_keylist(&keys, (char *)sortkeys) != LDAP_SUCCESS ||
	    ldap_create_sort_control(op->conn->ld, keys, 1, &sort) != LDAP_SUCCESS) {
		error_set(err, 500, NULL, "cannot build the sort control for %s", sortkeys);
		goto done;
	}
	memset(&info, 0, sizeof(info));
	info.ldvlv_version = 1;
	info.ldvlv_before_count = 0;
	info.ldvlv_after_count = (ber_int_t)after;
	info.ldvlv_offset = (ber_int_t)(q->start_index < 1 ? 1 : q->start_index);
	info.ldvlv_count = 0;
	if (ldap_create_vlv_control(op->conn->ld, &info, &vlv) != LDAP_SUCCESS) {
		error_set(err, 500, NULL, "cannot build the VLV control");
		goto done;
	}
	ctrls[0] = sort;
	ctrls[1] = vlv;
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, ctrls, 0, &res, err) < 0)
		goto done;
	op->conn->vlv_uses++;
	maps = json_array();
	*total = 0;
	if (res == NULL)
		goto done;
	for (LDAPMessage *m = ldap_first_message(op->conn->ld, res); m != NULL;
	     m = ldap_next_message(op->conn->ld, m)) {
		if (ldap_msgtype(m) != LDAP_RES_SEARCH_RESULT)
			continue;
		ldap_parse_result(op->conn->ld, m, &code, NULL, NULL, NULL, &rctrls, 0);
	}
	if (code == LDAP_VLV_ERROR && q->start_index > 1) {
		/* The offset is past the end: ask for the first entry, to learn the total. */
		struct dir_query first = *q;
		json_t *none;
		first.start_index = 1;
		first.count = 0;
		json_decref(maps);
		maps = NULL;
		none = dir_page_vlv(op, t, attrs, base, filter, sortkeys, &first, total, err);
		if (none != NULL) {
			json_decref(none);
			maps = json_array();
		}
		goto done;
	}
	if (code != LDAP_SUCCESS) {
		json_decref(maps);
		maps = NULL;
		ldaperr_set(err, code, "sorted search", NULL);
		goto done;
	}
	for (i = 0; rctrls != NULL && rctrls[i] != NULL; i++)
		if (!strcmp(rctrls[i]->ldctl_oid, LDAP_CONTROL_VLVRESPONSE))
			ldap_parse_vlvresponse_control(op->conn->ld, rctrls[i], &target, &count,
			                               &context, &vlverr);
	*total = count;
	if (vlverr != LDAP_SUCCESS && count > 0) {
		json_decref(maps);
		maps = NULL;
		ldaperr_set(err, vlverr, "sorted search (VLV)", NULL);
		goto done;
	}
	if (q->count == 0 || q->start_index > count)
		goto done;
	for (e = ldap_first_entry(op->conn->ld, res); e != NULL;
	     e = ldap_next_entry(op->conn->ld, e))
		json_array_append_new(maps, entry_to_map(op->conn->ld, e));
done:
	if (context != NULL)
		ber_bvfree(context);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	if (sort != NULL)
		ldap_control_free(sort);
	if (vlv != NULL)
		ldap_control_free(vlv);
	ldap_free_sort_keylist(keys);
	return maps;
}

/* ---- the unfiltered list without sortBy: directory order, cached total ---- */

/* One cached total (dir->totals, under dir->totals_lock). */
struct dir_total {
	LIST_ENTRY(dir_total) link;
	char *key;              /* owned: the list's base DN, "\n", its LDAP filter */
	char *marker;           /* owned: the directory's change marker read before counting */
	unsigned long connects; /* the pool's generation (pool_stats), read before the marker */
	long total;
	/* owned or NULL: the list's entryUUIDs in the directory's order, DIR_UUID_LEN
	 * bytes each (norder of them), valid with marker and connects; one list at a time */
	char *order;
	long norder;
};

/* A list one request is counting now (dir->counting, under dir->totals_lock). */
struct dir_counting {
	LIST_ENTRY(dir_counting) link;
	const char *key; /* borrowed from the counting request */
};

/* An entryUUID's text: 8-4-4-4-12 hex digits (RFC 4530). */
#define DIR_UUID_LEN 36

/* More lists than this (tenants × types) and the oldest totals are dropped. */
#define DIR_TOTALS_MAX 4096

static void
dir_total_free(struct dir_total *t)
{
	free(t->key);
	free(t->marker);
	free(t->order);
	free(t);
}

void
dir_page_forget(struct dir *dir)
{
	struct dir_total *t;

	while ((t = LIST_FIRST(&dir->totals)) != NULL) {
		LIST_REMOVE(t, link);
		dir_total_free(t);
	}
	dir->ntotals = 0;
}

/*
 * The directory's change marker: *marker = a NEW string (the suffix
 * entry's contextCSN values, one per server id, in slapd's order), or NULL
 * when the suffix has none (no syncprov: nothing can be cached). Returns 0,
 * or -1 with *err.
 */
static int
dir_page_marker(struct dir_op *op, char **marker, struct rb_error *err)
{
	static char *attrs[] = {"contextCSN", NULL};
	struct dir *dir = op->ctx->dir;
	LDAPMessage *res = NULL, *e;
	struct berval **vals = NULL;
	struct strbuf b = {0};
	int i;

	*marker = NULL;
	if (dir_search(op, dir->cfg->ldap_suffix, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, NULL,
	               1, &res, err) < 0)
		return -1;
	e = res != NULL ? ldap_first_entry(op->conn->ld, res) : NULL;
	vals = e != NULL ? ldap_get_values_len(op->conn->ld, e, "contextCSN") : NULL;
	for (i = 0; vals != NULL && vals[i] != NULL; i++) {
		strbuf_addn(&b, vals[i]->bv_val, vals[i]->bv_len);
		strbuf_add(&b, " ");
	}
	ldap_value_free_len(vals);
	ldap_msgfree(res);
	if (b.failed) {
		free(b.s);
		return error_set(err, 500, NULL, "out of memory");
	}
	*marker = b.s;
	if (b.s == NULL) {
		pthread_mutex_lock(&dir->totals_lock);
		if (!dir->no_marker_said)
			log_warnx("the directory's suffix %s has no contextCSN (kit step 0008, "
			          "the syncprov overlay, is missing): every unfiltered list counts "
			          "the whole tenant",
			          dir->cfg->ldap_suffix);
		dir->no_marker_said = true;
		pthread_mutex_unlock(&dir->totals_lock);
	}
	return 0;
}

/*
 * Does the marker move with the writes? Under syncprov the contextCSN is
 * the newest entryCSN of the database (per server id), so no entry is newer
 * than its greatest value. An entry that is (an add or modify since syncprov
 * was disabled or removed, a contextCSN left by slapadd or a backup) means
 * the marker may stand still while the data changes: nothing is cached.
 * One small indexed search (`(entryCSN>=…)`, entryCSN eq index), on counts
 * only. A write landing between the marker's read and this search also makes
 * it false: that count is simply not cached.
 */
static bool
dir_page_marker_live(struct dir_op *op, const char *marker)
{
	static char *attrs[] = {"entryCSN", NULL};
	const char *p = marker, *max = NULL;
	size_t maxlen = 0, n;
	char filter[128];
	LDAPMessage *res = NULL, *e;
	struct rb_error err = {0};
	bool live = true;

	for (; *p != '\0'; p += n + (p[n] == ' ')) { /* the greatest value */
		n = strcspn(p, " ");
		if (n > 0 && (max == NULL || strncmp(p, max, n < maxlen ? n : maxlen) > 0 ||
		              (strncmp(p, max, n < maxlen ? n : maxlen) == 0 && n > maxlen))) {
			max = p;
			maxlen = n;
		}
	}
	if (max == NULL || maxlen > 64)
		return false;
	snprintf(filter, sizeof(filter), "(entryCSN>=%.*s)", (int)maxlen, max);
	if (dir_search_first(op, op->ctx->dir->cfg->ldap_suffix, LDAP_SCOPE_SUBTREE, filter, attrs,
	                     4, &res, &err) < 0) {
		error_clear(&err);
		return false;
	}
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL && live;
	     e = ldap_next_entry(op->conn->ld, e)) {
		struct berval **v = ldap_get_values_len(op->conn->ld, e, "entryCSN");
		for (int i = 0; v != NULL && v[i] != NULL; i++)
			if (v[i]->bv_len != maxlen || memcmp(v[i]->bv_val, max, maxlen) != 0)
				live = false; /* newer (the filter matched) and not the marker */
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	return live;
}

/*
 * *total = the number of entries under `base` matching `filter` (one level):
 * the cached count when the directory's marker has not moved since it was
 * taken, else a count (a sorted VLV search for none of the entries), cached
 * with the marker read before it. Returns 0, or -1 with *err.
 */
static int
dir_page_total(struct dir_op *op, const struct dir_type *t, const char *base, const char *filter,
               const char *key, long *total, char **state, unsigned long *connects,
               struct rb_error *err)
{
	static char *noattrs[] = {"1.1", NULL};
	struct dir *dir = op->ctx->dir;
	struct dir_query first = {.start_index = 1, .count = 0};
	struct dir_total *c, *last = NULL;
	struct dir_counting flight = {0};
	struct pool_stats ps;
	char *marker = NULL;
	json_t *none;
	bool counting = false;
	int rc = -1;

	*state = NULL;
	/*
	 * A restarted slapd answers the contextCSN it last saved (every 100
	 * writes or 10 minutes, olcSpCheckpoint): after a crash, an older value
	 * than the data's — one this cache may hold. A restart closes every
	 * connection, and the marker is read on an open one: a count is reused
	 * only while the pool's generation (pool.h: every new connection but a
	 * quiet VLV recycle beside a live one) has not moved since it was taken.
	 */
	pool_get_stats(dir->pool, &ps);
	if (dir_page_marker(op, &marker, err) < 0)
		goto done;
	if (marker != NULL) {
		/*
		 * One request counts a list at a time: the others wait for its
		 * total and take it if it was counted at their marker (nothing
		 * written since they read it); else the next of them counts.
		 */
		pthread_mutex_lock(&dir->totals_lock);
		for (;;) {
			struct dir_counting *f;

			LIST_FOREACH(c, &dir->totals, link)
			{
				if (!strcmp(c->key, key) && !strcmp(c->marker, marker) &&
				    c->connects == ps.generation) {
					*total = c->total;
					rc = 0;
					break;
				}
			}
			if (rc == 0)
				break;
			LIST_FOREACH(f, &dir->counting, link)
			{
				if (!strcmp(f->key, key))
					break;
			}
			if (f == NULL)
				break;
			pthread_cond_wait(&dir->totals_done, &dir->totals_lock);
		}
		if (rc != 0) {
			flight.key = key;
			LIST_INSERT_HEAD(&dir->counting, &flight, link);
			counting = true;
		}
		pthread_mutex_unlock(&dir->totals_lock);
		if (rc == 0) {
			*state = marker;
			*connects = ps.generation;
			return 0;
		}
	}
	none = dir_page_vlv(op, t, noattrs, base, filter, "createTimestamp entryUUID", &first,
	                    total, err);
	if (none == NULL)
		goto done;
	json_decref(none);
	rc = 0;
	if (marker == NULL || !dir_page_marker_live(op, marker))
		goto done;
	pthread_mutex_lock(&dir->totals_lock);
	LIST_FOREACH(c, &dir->totals, link)
	{
		last = c;
		if (!strcmp(c->key, key))
			break;
	}
	if (c == NULL && dir->ntotals >= DIR_TOTALS_MAX && last != NULL) {
		LIST_REMOVE(last, link); /* the least recently counted list */
		dir_total_free(last);
		dir->ntotals--;
	}
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		c->key = strdup(key);
		dir->ntotals++;
	} else if (c != NULL) {
		LIST_REMOVE(c, link);
		free(c->marker);
		free(c->order);
		c->order = NULL;
		c->norder = 0;
	}
	if (c != NULL) {
		c->marker = strdup(marker);
		c->connects = ps.generation;
		c->total = *total;
		LIST_INSERT_HEAD(&dir->totals, c, link);
		if (c->key == NULL || c->marker == NULL) { /* out of memory: not cached */
			LIST_REMOVE(c, link);
			dir_total_free(c);
			dir->ntotals--;
			c = NULL;
		}
	}
	pthread_mutex_unlock(&dir->totals_lock);
	if (c != NULL) {
		*state = marker;
		*connects = ps.generation;
		marker = NULL;
	}
done:
	if (counting) {
		pthread_mutex_lock(&dir->totals_lock);
		LIST_REMOVE(&flight, link);
		pthread_cond_broadcast(&dir->totals_done);
		pthread_mutex_unlock(&dir->totals_lock);
	}
	free(marker);
	return rc;
}

/*
 * ids[0..*nids) = NEW filter-escaped entryUUIDs of the entries at positions
 * start..start+n-1 (1-based) of the one-level search (base, filter) in the
 * directory's order. When the list's total is cached (state: the marker it
 * was counted with, connects: the pool's connections then), the whole order
 * is read once (entryUUIDs only) and kept with it, and later pages at the
 * same marker slice it: an import paging through the tenant reads the
 * order once, not O(startIndex) per page. Only the last list read keeps
 * its order (36 bytes a person). Without state, the entryUUIDs up to the
 * page's end are read. Returns 0, or -1 with *err (ids freed by the caller).
 */
static int
dir_page_order(struct dir_op *op, const char *base, const char *filter, const char *key,
               const char *state, unsigned long connects, long start, long n, char **ids,
               long *nids, struct rb_error *err)
{
	static char *idattrs[] = {"entryUUID", NULL};
	struct dir *dir = op->ctx->dir;
	LDAPMessage *res = NULL, *e;
	struct dir_total *c;
	char *order = NULL;
	long norder = 0, i = 0;
	bool found = false;

	*nids = 0;
	if (state != NULL) {
		pthread_mutex_lock(&dir->totals_lock);
		LIST_FOREACH(c, &dir->totals, link)
		{
			if (c->order != NULL && !strcmp(c->key, key) && !strcmp(c->marker, state) &&
			    c->connects == connects) {
				found = true;
				for (i = start - 1; i < c->norder && *nids < n; i++) {
					ids[*nids] = escape_filter_value(
					    c->order + i * DIR_UUID_LEN, DIR_UUID_LEN);
					if (ids[(*nids)++] == NULL)
						break;
				}
				break;
			}
		}
		pthread_mutex_unlock(&dir->totals_lock);
		if (found)
			goto check;
	}
	if (dir_search_first(op, base, LDAP_SCOPE_ONELEVEL, filter, idattrs,
	                     state != NULL ? 0 : (int)(start - 1 + n), &res, err) < 0)
		return -1;
	if (state != NULL) {
		int count = res != NULL ? ldap_count_entries(op->conn->ld, res) : 0;
		order = malloc((size_t)(count > 0 ? count : 1) * DIR_UUID_LEN);
		if (order == NULL) {
			ldap_msgfree(res);
			return error_set(err, 500, NULL, "out of memory");
		}
	}
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		struct berval **v = ldap_get_values_len(op->conn->ld, e, "entryUUID");
		if (v != NULL && v[0] != NULL && v[0]->bv_len == DIR_UUID_LEN) {
			if (order != NULL)
				memcpy(order + norder++ * DIR_UUID_LEN, v[0]->bv_val, DIR_UUID_LEN);
			if (i >= start - 1 && *nids < n) {
				ids[*nids] = escape_filter_value(v[0]->bv_val, v[0]->bv_len);
				if (ids[(*nids)++] == NULL) {
					ldap_value_free_len(v);
					break;
				}
			}
			i++;
		}
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);
	if (*nids > 0 && ids[*nids - 1] == NULL) { /* out of memory: keep no partial order */
		free(order);
		order = NULL;
	}
	if (order != NULL) {
		pthread_mutex_lock(&dir->totals_lock);
		LIST_FOREACH(c, &dir->totals, link)
		{
			free(c->order); /* one list's order at a time */
			c->order = NULL;
			c->norder = 0;
		}
		LIST_FOREACH(c, &dir->totals, link)
		{
			if (!strcmp(c->key, key) && !strcmp(c->marker, state) &&
			    c->connects == connects) {
				c->order = order;
				c->norder = norder;
				order = NULL;
				break;
			}
		}
		pthread_mutex_unlock(&dir->totals_lock);
		free(order);
	}
check:
	if (*nids > 0 && ids[*nids - 1] == NULL)
		return error_set(err, 500, NULL, "out of memory");
	return 0;
}

/*
 * The entries at positions start..start+n-1 (1-based) of the one-level
 * search (base, filter) in the directory's order, as a NEW array of entry
 * maps read with `attrs` (fewer, or none, past the end). NULL with *err.
 */
static json_t *
dir_page_plain_maps(struct dir_op *op, const struct dir_type *t, const char *base,
                    const char *filter, const char *key, const char *state, unsigned long connects,
                    long start, long n, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	json_t *maps = NULL, *byid = NULL;
	struct strbuf f = {0};
	char **ids = NULL;
	long k, nids = 0;

	if (start - 1 + n > INT_MAX) {
		error_set(err, 400, SCIM_TOO_MANY, "startIndex + count is too large");
		return NULL;
	}
	if (start == 1) {
		if (dir_search_first(op, base, LDAP_SCOPE_ONELEVEL, filter, t->attrs, (int)n, &res,
		                     err) < 0)
			return NULL;
		maps = json_array();
		for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
		     e = ldap_next_entry(op->conn->ld, e))
			json_array_append_new(maps, entry_to_map(op->conn->ld, e));
		ldap_msgfree(res);
		return maps;
	}
	/* A later page: its entryUUIDs (dir_page_order), then its own entries. */
	ids = calloc((size_t)n, sizeof(*ids));
	if (ids == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_page_order(op, base, filter, key, state, connects, start, n, ids, &nids, err) < 0)
		goto done;
	maps = json_array();
	if (nids == 0)
		goto done;
	strbuf_add(&f, "(|");
	for (k = 0; k < nids; k++)
		strbuf_addf(&f, "(entryUUID=%s)", ids[k]);
	strbuf_add(&f, ")");
	if (f.failed) {
		json_decref(maps);
		maps = NULL;
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, f.s, t->attrs, NULL, (int)nids, &res, err) <
	    0) {
		json_decref(maps);
		maps = NULL;
		goto done;
	}
	/* In the order of the first search (an entry deleted in between is left out). */
	byid = json_object();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		struct berval **v = ldap_get_values_len(op->conn->ld, e, "entryUUID");
		json_t *m = entry_to_map(op->conn->ld, e);
		if (v != NULL && v[0] != NULL && m != NULL) {
			char *id = strndup(v[0]->bv_val, v[0]->bv_len);
			if (id != NULL)
				json_object_set(byid, id, m);
			free(id);
		}
		json_decref(m);
		ldap_value_free_len(v);
	}
	for (k = 0; k < nids; k++) {
		json_t *m = json_object_get(byid, ids[k]);
		if (m != NULL)
			json_array_append(maps, m);
	}
done:
	for (k = 0; ids != NULL && k < nids; k++)
		free(ids[k]);
	free(ids);
	free(f.s);
	json_decref(byid);
	ldap_msgfree(res);
	return maps;
}

/* The unfiltered list without sortBy (see the top of this file): NEW array of resources. */
static json_t *
dir_page_plain(struct dir_op *op, const struct dir_type *t, const char *base, const char *filter,
               const struct dir_query *q, long *total, struct rb_error *err)
{
	long start = q->start_index < 1 ? 1 : q->start_index;
	json_t *maps, *out = NULL;
	struct strbuf key = {0};
	char *state = NULL;
	unsigned long connects = 0;

	strbuf_add(&key, base);
	strbuf_add(&key, "\n");
	strbuf_add(&key, filter);
	if (key.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_page_total(op, t, base, filter, key.s, total, &state, &connects, err) < 0)
		goto done;
	if (q->count <= 0 || start > *total) {
		out = json_array();
		goto done;
	}
	maps =
	    dir_page_plain_maps(op, t, base, filter, key.s, state, connects, start, q->count, err);
	if (maps == NULL)
		goto done;
	out = t->to_json(op, maps, q->want_members, err);
	json_decref(maps);
done:
	free(key.s);
	free(state);
	return out;
}

/* Does the filter use attribute `name` (top-level)? Then its values must be loaded. */
static bool
dir_page_mentions(const struct filter *f, const char *name)
{
	if (f == NULL)
		return false;
	if (f->attr.attr != NULL &&
	    (!strcasecmp(f->attr.attr->name, name) ||
	     (f->attr.parent != NULL && !strcasecmp(f->attr.parent->name, name))))
		return true;
	return dir_page_mentions(f->left, name) || dir_page_mentions(f->right, name);
}

/* Sort `arr` (an array of resources) in place as q says; default: creation order. */
static int
dir_page_sort(const struct resource_type_def *rt, const struct dir_query *q, json_t *arr,
              struct rb_error *err)
{
	struct sort_key def;
	const struct sort_key *k = q->sort;
	size_t n = json_array_size(arr), i;
	json_t **items;
	int rc;

	if (n < 2)
		return 0;
	if (k == NULL) {
		if (sort_parse(rt, "meta.created", NULL, &def, err) < 0)
			return -1;
		k = &def;
	}
	items = malloc(n * sizeof(*items));
	if (items == NULL)
		return error_set(err, 500, NULL, "out of memory");
	for (i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	rc = sort_resources(rt, k, items, n);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	return rc < 0 ? error_set(err, 500, NULL, "out of memory") : 0;
}

/*
 * A filter naming one resource by a unique attribute (`userName eq "…"`,
 * `id eq "…"`) matches at most one entry: a plain search answers it, with
 * no server-side sort or VLV (and no sssvlv sort state on the connection).
 * This is the filter identity providers send before every create.
 */
static bool
dir_page_single(const struct filter *f)
{
	return f != NULL && f->op == FILTER_EQ && f->attr.attr != NULL && f->attr.parent == NULL &&
	       f->attr.attr->uniqueness != UNIQ_NONE && json_is_string(f->value);
}

/*
 * The candidates a search that slapd cannot answer exactly (the bridge
 * reads, converts and checks each one) may cost this request: the
 * configured allowance (max_candidates) plus 10 per result up to the end
 * of the page asked for, never above max_results. A page of 100 over a
 * filter matching 100,000 people is refused (400 tooMany) after reading
 * max_candidates + 1,000 entries, not after converting 100,000.
 */
static long
dir_page_budget(const struct config *cfg, const struct dir_query *q)
{
	long start = q->start_index < 1 ? 1 : q->start_index;
	long end = start - 1 + (q->count > 0 ? q->count : 0);
	long budget = (long)cfg->max_candidates + 10 * end;

	return budget > cfg->max_results ? cfg->max_results : budget;
}

/* The 400 tooMany of an over-budget search: what to do about it. */
static void
dir_page_too_many(struct rb_error *err, long budget, const struct dir_query *q)
{
	error_clear(err);
	error_set(err, 400, SCIM_TOO_MANY,
	          "the filter leaves more than %ld candidates for the bridge to check for a page "
	          "ending at result %ld; narrow it with `and` and a condition the directory "
	          "answers itself (e.g. userName sw \"…\", externalId eq \"…\", "
	          "displayName co \"…\"), or ask for fewer results",
	          budget, (q->start_index < 1 ? 1 : q->start_index) - 1 + q->count);
}

json_t *
dir_page_search(struct dir_op *op, const struct dir_type *t, const struct dir_query *q, long *total,
                struct rb_error *err)
{
	const struct config *cfg = op->ctx->dir->cfg;
	const struct query_attr *sortrow = NULL;
	char *base = NULL, *filter = NULL, sortkeys[300];
	LDAPMessage *res = NULL, *e;
	json_t *maps = NULL, *all = NULL, *out = NULL, *page = NULL;
	bool exact = false, single;
	long budget;
	size_t i;

	/* At most one match, and a type that tests its own entries: the class
	 * terms stay out of the filter (dir_map_is_person, dir_int.h). */
	single = dir_page_single(q->filter) && t->own != NULL;
	base = dir_ou_dn(op, t->ou);
	filter = base ? query_translate(q->filter, t->table, single ? "" : t->objfilter,
	                                op->ctx->source, &exact)
	              : NULL;
	if (filter == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (q->sort_by != NULL) {
		sortrow = query_attr_find(t->table, t->rt, q->sort_by);
		if (sortrow == NULL || sortrow->order == NULL)
			exact = false; /* sort in memory */
		else
			snprintf(sortkeys, sizeof(sortkeys), "%s%s entryUUID",
			         q->descending ? "-" : "", sortrow->order);
	} else {
		snprintf(sortkeys, sizeof(sortkeys), "createTimestamp entryUUID");
	}
	if (q->filter == NULL && q->sort_by == NULL) {
		out = dir_page_plain(op, t, base, filter, q, total, err);
		goto done;
	}
	if (exact && !dir_page_single(q->filter)) {
		maps = dir_page_vlv(op, t, t->attrs, base, filter, sortkeys, q, total, err);
		if (maps == NULL)
			goto done;
		out = t->to_json(op, maps, q->want_members, err);
		goto done;
	}

	/* Inexact, or at most one match: every candidate, evaluated and sorted here. */
	budget = dir_page_budget(cfg, q);
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, t->attrs, NULL, (int)budget + 1, &res,
	               err) < 0) {
		if (err->status == 400 && err->scim_type != NULL &&
		    !strcmp(err->scim_type, SCIM_TOO_MANY))
			dir_page_too_many(err, budget, q);
		goto done;
	}
	maps = json_array();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		if (single && m != NULL && !t->own(m))
			json_decref(m);
		else
			json_array_append_new(maps, m);
	}
	ldap_msgfree(res);
	res = NULL;
	if ((long)json_array_size(maps) > budget) {
		dir_page_too_many(err, budget, q);
		goto done;
	}
	all = t->to_json(op, maps, q->want_members || dir_page_mentions(q->filter, "members"), err);
	if (all == NULL)
		goto done;
	page = json_array();
	for (i = 0; i < json_array_size(all); i++) {
		json_t *r = json_array_get(all, i);
		if (q->filter == NULL || filter_match(q->filter, r))
			json_array_append(page, r);
	}
	if (dir_page_sort(t->rt, q, page, err) < 0)
		goto done;
	*total = (long)json_array_size(page);
	out = json_array();
	for (i = (size_t)(q->start_index < 1 ? 0 : q->start_index - 1);
	     i < json_array_size(page) && (long)json_array_size(out) < q->count; i++)
		json_array_append(out, json_array_get(page, i));
done:
	ldap_msgfree(res);
	json_decref(maps);
	json_decref(all);
	json_decref(page);
	free(base);
	free(filter);
	return out;
}
