/*
 * guard.c — the mass-deprovision guard (issue 16 item 5; docs/mapping.md
 * "Mass-deprovision guard").
 *
 * Glossary
 *   removal  a source's DELETE of a person it holds (the release of its
 *            hold), or its `active` going from not-false to false on a
 *            person it holds (the suspension of its grants).
 *   base     the people the source held when its window opened: one
 *            search `(rbSource=S)` under ou=people, once per window.
 *   window   cn=window-<source>@<provider>,ou=guard,o=<tenant>
 *            (rbGuardWindow): the removals of the source counted through
 *            one directory server (<provider>: its address:port as the
 *            connection sees it; none for ldapi://): its start
 *            (rbGuardAt), base (rbGuardBase), and the number of removals
 *            applied in it (rbGuardCount). guard_window_s after its start
 *            the next removal opens a new one. The source's removals in
 *            the windows still open are summed against the limit (a
 *            window named cn=window-<source>, written before this
 *            version, counts too until it closes).
 *   allowed  max(guard_min, base × guard_share_percent / 100) removals per
 *            window; the ones beyond are held.
 *   lease    a reservation: places a bridge counted in its window in one
 *            write (count += k, k = what is left / 16, 1 to guard_lease_max 32) and spends
 *            one removal at a time without touching the directory. Near
 *            the limit (fewer than 32 places left) k is 1: every removal
 *            is counted on its own as before. Places not spent are given
 *            back (count -= unspent, asserted) by the repair thread once
 *            the lease is idle guard_lease_idle_s (2), and at shutdown; a
 *            removal that fails after it was counted gives its place back
 *            to the lease (guard_refund). A bridge killed holding places
 *            leaves its window's count high until the window ends: the
 *            guard then holds more, never removes more. applied ≤ counted
 *            ≤ allowed at all times.
 *   held     cn=<action>-<source>-<person id>,ou=guard,o=<tenant>
 *            (rbGuardHeld): a removal not applied, waiting for an
 *            operator (dir_guard_list, dir_guard_decide). The same removal
 *            sent again is the same entry.
 *   cancel   the same source writes the person again and leaves it active
 *            for itself (a PUT or PATCH with active true, a re-grant, any
 *            write of it that is not a removal): its held removals of that
 *            person are void and deleted (guard_cancel, from users.c).
 *   expire   a held removal nobody decided within guard_hold_days is
 *            dropped, not applied (guard_expire, from the repair thread;
 *            dir_guard_decide refuses to approve one past it). If the
 *            source still means it, its next sync sends it again and the
 *            guard counts it afresh.
 *
 * Counting is exact on one directory: a removal writes its window's
 * count + 1 asserting the window as read (guard_count), so of bridges
 * counting the same last free place one gets a 412, reads again and
 * holds; the cost of one removal does not grow with the removals before
 * it. Across providers (multi-provider syncrepl) each provider's bridges
 * write their own window, so no entry is written on two providers at
 * once (one shared window was: every write collided with the other
 * provider's replicated one — 15 DELETEs/s instead of 409 through two
 * bridges, bench/README.md). Assertions are local, so two removals
 * through two providers within the replication delay can both take the
 * last place: the limit can be overshot by what the providers accept
 * before they see each other's windows.
 *
 * The state lives in the directory; a daemon keeps only its leases (the
 * places it counted and has not spent), which the count already includes.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <netdb.h>
#include <sys/socket.h>

#include "dir/admin.h"
#include "dir/entry.h"
#include "dir/escape.h"
#include "lib/log.h"

/* Attempts at counting one removal before 503 (each one small: guard_count). */
#define GUARD_RETRIES 32
/* A lease takes 1/GUARD_LEASE_SHARE of what is left, at most guard_lease_max places. */
#define GUARD_LEASE_SHARE 16

/* One bridge's reservation in one window (struct dir's guard_leases, under guard_lock). */
struct guard_lease {
	SLIST_ENTRY(guard_lease) next;
	char *tenant, *source, *name; /* owned: the window is cn=<name>,ou=guard,o=<tenant> */
	time_t start;                 /* the window's start (rbGuardAt) the places are in */
	long avail;                   /* places counted in that window and not spent */
	time_t used_at;               /* last reserved, spent or refunded */
};

static char *guard_window_attrs[] = {
    "cn", "rbGuardAt", "rbGuardBase", "rbGuardCount", "rbGuardRemoval", "entryCSN", NULL};
static char *guard_held_attrs[] = {"cn",  "rbSource",  "rbGuardAction",   "rbGuardPerson",
                                   "uid", "rbGuardAt", "createTimestamp", "entryCSN",
                                   NULL};

/* "cn=<name>,ou=guard,o=<tenant>,<suffix>": NEW string or NULL. */
static char *
guard_dn(const struct dir_op *op, const char *name)
{
	char *base = dir_ou_dn(op, "guard"), *rdn = escape_rdn("cn", name), *dn = NULL;

	if (base != NULL && rdn != NULL)
		dn = escape_dn_join(rdn, base);
	free(base);
	free(rdn);
	return dn;
}

/*
 * Add `map` at `dn` under ou=guard, making ou=guard at first use in the
 * tenant. 0, or -1 with *err (409 when the entry exists).
 */
static int
guard_add(struct dir_op *op, const char *dn, const json_t *map, struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	LDAPMod **mods = entry_mods_build(NULL, map, NULL, NULL);
	json_t *after = NULL;
	int attempt;

	if (mods == NULL)
		return error_set(err, 500, NULL, "out of memory");
	for (attempt = 0; attempt < 2; attempt++) {
		after = dir_write(op, true, dn, mods, NULL, none, err);
		if (after != NULL || err->status != 404 || attempt > 0)
			break;
		error_clear(err);
		{
			char *base = dir_ou_dn(op, "guard");
			json_t *ou = json_pack("{s:[s,s], s:[s]}", "objectclass",
			                       "organizationalUnit", "top", "ou", "guard");
			LDAPMod **omods = ou ? entry_mods_build(NULL, ou, NULL, NULL) : NULL;
			json_t *made = omods && base
			                   ? dir_write(op, true, base, omods, NULL, none, err)
			                   : NULL;
			if (made == NULL && err->status == 409)
				error_clear(err); /* another bridge made it */
			json_decref(made);
			entry_mods_free(omods);
			json_decref(ou);
			free(base);
		}
		if (error_is_set(err))
			break;
	}
	entry_mods_free(mods);
	if (after == NULL)
		return -1;
	json_decref(after);
	return 0;
}

/* The people `source` holds in the tenant (one search for DNs only), or -1 with *err. */
static long
guard_base(struct dir_op *op, struct rb_error *err)
{
	static char *none[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	char *people = dir_ou_dn(op, "people"), *esc = NULL, filter[256];
	long n = -1;

	esc = escape_filter_value(op->ctx->source, strlen(op->ctx->source));
	if (people == NULL || esc == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, sizeof(filter), "(&(rbSource=%s)" DIR_PERSON_FILTER ")", esc);
	if (dir_search(op, people, LDAP_SCOPE_ONELEVEL, filter, none, NULL, 0, &res, err) < 0)
		goto done;
	n = res ? ldap_count_entries(op->conn->ld, res) : 0;
done:
	ldap_msgfree(res);
	free(people);
	free(esc);
	return n;
}

/* An INTEGER value as read (rbGuardBase); a missing or bad one counts as 0. */
static long
guard_number(const char *s)
{
	char *end;
	long n = s ? strtol(s, &end, 10) : 0;

	return s && *end == '\0' && n >= 0 ? n : 0;
}

static long
guard_allowed(const struct config *cfg, long base)
{
	long share = base * cfg->guard_share_percent / 100;

	return share > cfg->guard_min ? share : cfg->guard_min;
}

/* After a 412 on the window: wait 0–2 ms, so concurrent counters spread out. */
static void
guard_backoff(void)
{
	struct timespec ts = {0, (long)arc4random_uniform(2000000)};

	nanosleep(&ts, NULL);
}

/*
 * The directory server this connection talks to, as "<address>:<port>"
 * (numeric, from the socket's peer), or "" when it cannot be told (ldapi://,
 * an error). Names the window a bridge writes: see guard_count.
 */
static void
guard_provider_tag(LDAP *ld, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int fd = -1;

	buf[0] = '\0';
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
	    getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	snprintf(buf, len, "%s:%s", host, serv);
}

/* The start of window entry map `w` (rbGuardAt), or 0 when it has none that parses. */
static time_t
guard_window_start(const json_t *w)
{
	time_t start = 0;

	return dir_gentime_parse(entry_map_first(w, "rbguardat"), &start) < 0 ? 0 : start;
}

/* Whether a window that started at `start` (0: never) is still open at `now`. */
static bool
guard_open_at(const struct config *cfg, time_t start, time_t now)
{
	return start > 0 && start + cfg->guard_window_s > now;
}

/* Whether window entry map `w` (NULL: none) is still open at `now`. */
static bool
guard_window_open(const struct config *cfg, const json_t *w, time_t now)
{
	return w != NULL && guard_open_at(cfg, guard_window_start(w), now);
}

/* The removals counted in window entry map `w` while it is open at `now` (0 once closed). */
static long
guard_window_used(const struct config *cfg, const json_t *w, time_t now)
{
	const char *count = entry_map_first(w, "rbguardcount");

	if (!guard_window_open(cfg, w, now))
		return 0;
	return count ? guard_number(count)
	             : (long)json_array_size(json_object_get(w, "rbguardremoval"));
}

/* How many places to reserve in one write when `left` (≥ 1) are left: 1 near the limit. */
static long
guard_block(const struct config *cfg, long left)
{
	long k = left / GUARD_LEASE_SHARE;

	return k < 1 ? 1 : k > cfg->guard_lease_max ? cfg->guard_lease_max : k;
}

/* The lease of op's tenant in window `name`, or NULL. Called under guard_lock. */
static struct guard_lease *
guard_lease_find(struct dir *dir, const char *tenant, const char *name)
{
	struct guard_lease *l;

	SLIST_FOREACH(l, &dir->guard_leases, next)
	if (!strcmp(l->tenant, tenant) && !strcmp(l->name, name))
		return l;
	return NULL;
}

/* Wake the repair thread: a lease has places to give back when it falls idle. */
static void
guard_lease_wake(struct dir *dir)
{
	pthread_mutex_lock(&dir->repair_lock);
	pthread_cond_signal(&dir->repair_wake);
	pthread_mutex_unlock(&dir->repair_lock);
}

/*
 * Spend one place of this bridge's lease in window `name`, if it has one
 * in a window still open at `now`: true (counted; nothing written), else false.
 */
static bool
guard_lease_take(struct dir_op *op, const char *name, time_t now)
{
	struct dir *dir = op->ctx->dir;
	struct guard_lease *l;
	bool took = false;

	pthread_mutex_lock(&dir->guard_lock);
	l = guard_lease_find(dir, op->ctx->tenant, name);
	if (l != NULL && l->avail > 0 && !guard_open_at(dir->cfg, l->start, now))
		l->avail = 0; /* the window closed: its places closed with it */
	if (l != NULL && l->avail > 0) {
		l->avail--;
		l->used_at = now;
		op->guard_lease = l;
		op->guard_lease_at = l->start;
		took = true;
	}
	pthread_mutex_unlock(&dir->guard_lock);
	return took;
}

/*
 * Remember `extra` places counted (and not spent) in window `name` that
 * started at `start`, and that this operation's removal was counted there.
 * Out of memory: the places stay counted and unspent until the window ends.
 */
static void
guard_lease_keep(struct dir_op *op, const char *name, time_t start, long extra, time_t now)
{
	struct dir *dir = op->ctx->dir;
	struct guard_lease *l;

	pthread_mutex_lock(&dir->guard_lock);
	l = guard_lease_find(dir, op->ctx->tenant, name);
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		l->tenant = strdup(op->ctx->tenant);
		l->source = strdup(op->ctx->source);
		l->name = strdup(name);
		if (l->tenant == NULL || l->source == NULL || l->name == NULL) {
			free(l->tenant);
			free(l->source);
			free(l->name);
			free(l);
			l = NULL;
		} else {
			SLIST_INSERT_HEAD(&dir->guard_leases, l, next);
		}
	}
	if (l != NULL) {
		if (l->start != start)
			l->avail = 0; /* places of a window that closed */
		l->start = start;
		l->avail += extra;
		l->used_at = now;
		op->guard_lease = l;
		op->guard_lease_at = start;
	}
	pthread_mutex_unlock(&dir->guard_lock);
	if (l == NULL && extra > 0)
		log_warnx("tenant %s source %s: out of memory: %ld guard places stay counted "
		          "until the window ends",
		          op->ctx->tenant, op->ctx->source, extra);
	if (l != NULL && extra > 0)
		guard_lease_wake(dir);
}

/*
 * Count one removal in the window of ctx's source on this connection's
 * directory server, if the source's open windows together allow it.
 * 0 = counted (apply it), 1 = over the limit (hold it), -1 with *err.
 *
 * A place of this bridge's lease is spent first (no directory access).
 * Else the window keeps a number, rbGuardCount, written as count + k
 * asserting the entryCSN it was read at (RFC 4528), k = guard_block(what
 * is left): of concurrent counters one wins, the others read again (after
 * a short random wait) and count on; the k - 1 places beyond this removal
 * become the bridge's lease. The window entry stays a few attributes
 * long, so a removal costs the same however many came before it in the
 * window. (Until an earlier version the window held one rbGuardRemoval
 * value per removal: reading and rewriting them made the k-th removal
 * cost O(k), and slow attempts collided until the retries ran out — 503s
 * under a parallel deprovisioning. A window written that way is counted
 * from its values once, then by number.) A Modify-Increment would need no
 * retries on one directory, but delta-syncrepl does not replay increments
 * consistently: two providers that each took an increment ended with
 * different values under the same entryCSN (tried on scripts/cluster,
 * slapd 2.5.13). A replace converges.
 */
static int
guard_count(struct dir_op *op, struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	const struct config *cfg = op->ctx->dir->cfg;
	char name[192], tag[NI_MAXHOST + NI_MAXSERV + 2], now_s[16], base_s[32], count_s[32];
	char *dn = NULL, *base_dn = NULL, *src = NULL, filter[320];
	time_t now = time(NULL);
	int attempt, rc = -1;
	bool opening = false; /* this request holds guard_open_lock */

	guard_provider_tag(op->conn->ld, tag, sizeof(tag));
	/* A name cut short could be another source's window: refused, never truncated. */
	if (snprintf(name, sizeof(name), "window-%s%s%s", op->ctx->source, tag[0] ? "@" : "",
	             tag) >= (int)sizeof(name))
		return error_set(err, 500, NULL, "source name %s too long for the guard's window",
		                 op->ctx->source);
	if (guard_lease_take(op, name, now))
		return 0;
	base_dn = dir_ou_dn(op, "guard");
	src = escape_filter_value(op->ctx->source, strlen(op->ctx->source));
	if (src == NULL || base_dn == NULL) {
		rc = error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (snprintf(filter, sizeof(filter), "(&(objectClass=rbGuardWindow)(rbSource=%s))", src) >=
	    (int)sizeof(filter)) {
		rc = error_set(err, 500, NULL, "source name %s too long for the guard's window",
		               op->ctx->source);
		goto done;
	}
	dn = guard_dn(op, name);
	if (dn == NULL) {
		rc = error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	dir_gentime(now, now_s);
	for (attempt = 0; attempt < GUARD_RETRIES; attempt++) {
		LDAPMessage *res = NULL, *e;
		json_t *w = NULL, *map = NULL, *after = NULL;
		LDAPMod **mods = NULL;
		time_t start;
		long base, used, others = 0, left, k;
		bool open;

		if (attempt > 0)
			guard_backoff();
		/* The source's windows: ours, and the other providers' (a missing ou=guard is
		 * noSuchObject, which dir_search answers as "no entry"). */
		if (dir_search(op, base_dn, LDAP_SCOPE_ONELEVEL, filter, guard_window_attrs, NULL,
		               0, &res, err) < 0)
			goto done;
		for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
		     e = ldap_next_entry(op->conn->ld, e)) {
			json_t *m = entry_to_map(op->conn->ld, e);
			const char *cn = entry_map_first(m, "cn");
			if (w == NULL && cn != NULL && !strcasecmp(cn, name))
				w = json_incref(m);
			else
				others += guard_window_used(cfg, m, now);
			json_decref(m);
		}
		ldap_msgfree(res);
		open = guard_window_open(cfg, w, now);
		if (!open && !opening) {
			/* A new window's base is a count of the source's people: one search
			 * that returns every DN (100,000 at a large district). Removals that
			 * arrive together each counted and all but one then met a 412 (seconds
			 * of work at the start of a day's deprovisioning, make bench with 4
			 * connections). One request of this bridge opens a window at a time;
			 * the others wait here and read the window again: open by then. */
			json_decref(w);
			pthread_mutex_lock(&op->ctx->dir->guard_open_lock);
			opening = true;
			attempt--; /* not a collision: read the window again */
			continue;
		}
		start = open ? guard_window_start(w) : now;
		base = open ? guard_number(entry_map_first(w, "rbguardbase")) : guard_base(op, err);
		used = open ? guard_window_used(cfg, w, now) : 0;
		if (base < 0) {
			json_decref(w);
			goto done;
		}
		left = guard_allowed(cfg, base) - used - others;
		if (left < 1) {
			json_decref(w);
			rc = 1;
			goto done;
		}
		k = guard_block(cfg, left);
		snprintf(base_s, sizeof(base_s), "%ld", base);
		snprintf(count_s, sizeof(count_s), "%ld", used + k);
		if (w == NULL) {
			map = json_pack("{s:[s], s:[s], s:[s], s:[s], s:[s], s:[s]}", "objectclass",
			                "rbGuardWindow", "cn", name, "rbsource", op->ctx->source,
			                "rbguardat", now_s, "rbguardbase", base_s, "rbguardcount",
			                count_s);
			rc = map ? guard_add(op, dn, map, err) : error_set(err, 500, NULL, "oom");
		} else {
			json_t *cs = json_pack("[s]", count_s);
			mods = entry_mods_append(NULL, LDAP_MOD_REPLACE, "rbGuardCount", cs);
			json_decref(cs);
			if (!open) { /* a new window: its start and base */
				json_t *at = json_pack("[s]", now_s),
				       *bs = json_pack("[s]", base_s);
				mods = mods ? entry_mods_append(mods, LDAP_MOD_REPLACE, "rbGuardAt",
				                                at)
				            : NULL;
				mods = mods ? entry_mods_append(mods, LDAP_MOD_REPLACE,
				                                "rbGuardBase", bs)
				            : NULL;
				json_decref(at);
				json_decref(bs);
			}
			if (json_object_get(w, "rbguardremoval") != NULL) /* counted from now on */
				mods = mods ? entry_mods_append(mods, LDAP_MOD_DELETE,
				                                "rbGuardRemoval", NULL)
				            : NULL;
			after = mods ? dir_write(op, false, dn, mods,
			                         entry_map_first(w, "entrycsn"), none, err)
			             : NULL;
			rc = after ? 0 : mods ? -1 : error_set(err, 500, NULL, "out of memory");
		}
		entry_mods_free(mods);
		json_decref(after);
		json_decref(map);
		json_decref(w);
		if (rc == 0) /* this removal takes one place; the bridge keeps the others */
			guard_lease_keep(op, name, start, k - 1, now);
		/* 412: counted by somebody else since our read; 409: made by somebody else. */
		if (rc == 0 || (err->status != 412 && err->status != 409))
			goto done;
		error_clear(err);
		rc = -1;
	}
	error_set(err, 503, NULL, "the guard window of source %s kept changing; try again",
	          op->ctx->source);
done:
	if (opening)
		pthread_mutex_unlock(&op->ctx->dir->guard_open_lock);
	free(dn);
	free(base_dn);
	free(src);
	return rc;
}

void
guard_refund(struct dir_op *op)
{
	struct guard_lease *l = op->guard_lease;
	struct dir *dir = op->ctx->dir;
	time_t now = time(NULL);
	bool back = false;

	if (l == NULL)
		return;
	op->guard_lease = NULL;
	pthread_mutex_lock(&dir->guard_lock);
	if (l->start == op->guard_lease_at && guard_open_at(dir->cfg, l->start, now)) {
		l->avail++;
		l->used_at = now;
		back = true;
	}
	pthread_mutex_unlock(&dir->guard_lock);
	if (back)
		guard_lease_wake(dir);
}

/*
 * Give `n` places counted in window `l` (started at `start`) back to it:
 * count -= n asserting the entryCSN read. A window gone or started anew
 * since has nothing of ours: done. 0, or -1 with *err.
 */
static int
guard_lease_give(struct dir *via, const struct guard_lease *l, long n, time_t start,
                 struct rb_error *err)
{
	static char *none[] = {"entryCSN", NULL};
	struct dir_ctx ctx = {.dir = via, .tenant = l->tenant, .source = l->source, .base_url = ""};
	struct dir_op op;
	char *dn = NULL, count_s[32];
	int attempt, rc = -1;

	if (dir_op_begin(&op, &ctx, err) < 0)
		return -1;
	dn = guard_dn(&op, l->name);
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	for (attempt = 0; attempt < GUARD_RETRIES; attempt++) {
		LDAPMessage *res = NULL, *e;
		json_t *w = NULL, *cs = NULL, *after = NULL;
		LDAPMod **mods = NULL;
		long count;

		if (attempt > 0)
			guard_backoff();
		if (dir_search(&op, dn, LDAP_SCOPE_BASE, "(objectClass=rbGuardWindow)",
		               guard_window_attrs, NULL, 1, &res, err) < 0)
			goto done;
		e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
		w = e ? entry_to_map(op.conn->ld, e) : NULL;
		ldap_msgfree(res);
		if (w == NULL || guard_window_start(w) != start) { /* gone, or a new window */
			json_decref(w);
			rc = 0;
			goto done;
		}
		count = guard_number(entry_map_first(w, "rbguardcount"));
		snprintf(count_s, sizeof(count_s), "%ld", count > n ? count - n : 0);
		cs = json_pack("[s]", count_s);
		mods = cs ? entry_mods_append(NULL, LDAP_MOD_REPLACE, "rbGuardCount", cs) : NULL;
		after = mods ? dir_write(&op, false, dn, mods, entry_map_first(w, "entrycsn"), none,
		                         err)
		             : NULL;
		if (mods == NULL)
			error_set(err, 500, NULL, "out of memory");
		entry_mods_free(mods);
		json_decref(cs);
		json_decref(w);
		if (after != NULL) {
			json_decref(after);
			rc = 0;
			goto done;
		}
		if (err->status != 412)
			goto done;
		error_clear(err);
	}
	error_set(err, 503, NULL, "the window kept changing");
done:
	free(dn);
	dir_op_end(&op);
	return rc;
}

int
guard_leases_return(struct dir *dir, struct dir *via, int idle_s)
{
	struct guard_lease *l;
	time_t now = time(NULL);
	int next = -1;

	pthread_mutex_lock(&dir->guard_lock);
	l = SLIST_FIRST(&dir->guard_leases);
	pthread_mutex_unlock(&dir->guard_lock);
	/* Leases are only ever inserted at the head: the links after it do not change. */
	for (; l != NULL; l = SLIST_NEXT(l, next)) {
		struct rb_error err;
		long n = 0;
		time_t start;

		pthread_mutex_lock(&dir->guard_lock);
		start = l->start;
		if (l->avail > 0 && !guard_open_at(dir->cfg, start, now)) {
			l->avail = 0; /* closed with its window */
		} else if (l->avail > 0 && idle_s > 0 && now - l->used_at < idle_s) {
			int wait = (int)(idle_s - (now - l->used_at));
			next = next < 0 || wait < next ? wait : next;
		} else {
			n = l->avail;
			l->avail = 0;
		}
		pthread_mutex_unlock(&dir->guard_lock);
		if (n == 0)
			continue;
		error_clear(&err);
		if (guard_lease_give(via, l, n, start, &err) == 0) {
			log_info("tenant %s source %s: %ld unspent guard place(s) given back to %s",
			         l->tenant, l->source, n, l->name);
			continue;
		}
		log_warnx("tenant %s source %s: %ld unspent guard place(s) not given back to %s: "
		          "%s",
		          l->tenant, l->source, n, l->name, err.detail);
		pthread_mutex_lock(&dir->guard_lock);
		if (l->start == start) /* kept: spent later, or given back next time */
			l->avail += n;
		pthread_mutex_unlock(&dir->guard_lock);
		if (idle_s > 0)
			next = next < 0 || idle_s < next ? idle_s : next;
	}
	return next;
}

void
guard_leases_free(struct dir *dir)
{
	while (!SLIST_EMPTY(&dir->guard_leases)) {
		struct guard_lease *l = SLIST_FIRST(&dir->guard_leases);
		SLIST_REMOVE_HEAD(&dir->guard_leases, next);
		free(l->tenant);
		free(l->source);
		free(l->name);
		free(l);
	}
}

/* Make the held entry for (action, source, person). 0 (made, or there already), or -1. */
static int
guard_hold(struct dir_op *op, const char *action, const json_t *person, char *id, size_t idlen,
           struct rb_error *err)
{
	const char *pid = entry_map_first(person, "entryuuid");
	const char *uid = entry_map_first(person, "uid");
	char now_s[16], *dn;
	json_t *map;
	int rc;

	snprintf(id, idlen, "%s-%s-%s", action, op->ctx->source, pid ? pid : "");
	dn = guard_dn(op, id);
	dir_gentime(time(NULL), now_s);
	map = json_pack("{s:[s], s:[s], s:[s], s:[s], s:[s], s:[s]}", "objectclass", "rbGuardHeld",
	                "cn", id, "rbsource", op->ctx->source, "rbguardaction", action,
	                "rbguardperson", pid ? pid : "", "rbguardat", now_s);
	if (dn == NULL || map == NULL || pid == NULL) {
		free(dn);
		json_decref(map);
		return error_set(err, 500, NULL, "out of memory");
	}
	if (uid != NULL)
		entry_map_add(map, "uid", uid);
	rc = guard_add(op, dn, map, err);
	if (rc < 0 && err->status == 409) { /* sent again: still held */
		error_clear(err);
		rc = 0;
	}
	if (rc == 0)
		log_warnx("tenant %s source %s: mass-deprovision guard: %s of %s held for an "
		          "operator (%s)",
		          op->ctx->tenant, op->ctx->source, action, uid ? uid : pid, id);
	free(dn);
	json_decref(map);
	return rc;
}

int
guard_check(struct dir_op *op, const char *action, const json_t *person, struct rb_error *err)
{
	char id[200];
	int rc;

	if (op->guard != 0)
		return op->guard == 2 ? 1 : 0; /* decided on an earlier attempt */
	/* in-product is the district's own hand (console, rosterctl): the people
	 * who would approve a held removal; the guard is for sync sources. */
	if (op->ctx->guard_off || op->ctx->dir->cfg->guard_share_percent == 0 ||
	    !strcmp(op->ctx->source, DIR_INPRODUCT) || !dir_held_by(person, op->ctx->source)) {
		op->guard = 1;
		return 0;
	}
	rc = guard_count(op, err);
	if (rc == 1 && guard_hold(op, action, person, id, sizeof(id), err) < 0)
		return -1;
	if (rc < 0)
		return -1;
	op->guard = rc == 1 ? 2 : 1;
	if (rc == 1 && op->ctx->held != NULL)
		*op->ctx->held = true;
	return rc;
}

/* When held removal `m` (entry map) expires, or 0 when none expire (guard_hold_days 0). */
static time_t
guard_expiry(const struct config *cfg, const json_t *m)
{
	time_t at = 0;

	if (cfg->guard_hold_days <= 0 ||
	    dir_gentime_parse(entry_map_first(m, "rbguardat"), &at) < 0)
		return 0;
	return at + (time_t)cfg->guard_hold_days * 86400;
}

/* dir_delete_found's callback of guard_drop: the log line of one dropped held removal. */
static void
guard_dropped(struct dir_op *op, const json_t *m, void *why)
{
	const char *uid = entry_map_first(m, "uid");

	log_warnx("tenant %s source %s: held %s of %s (person %s, held %s) %s", op->ctx->tenant,
	          entry_map_first(m, "rbsource"), entry_map_first(m, "rbguardaction"),
	          uid ? uid : "?", entry_map_first(m, "rbguardperson"),
	          entry_map_first(m, "rbguardat"), (const char *)why);
}

/*
 * Delete the held entries `filter` finds under ou=guard, each asserted on
 * the entryCSN read, logging each with `why`. *n = how many. 0 or -1 with
 * *err (a 404 or 412 on one entry is somebody else's decision: skipped).
 */
static int
guard_drop(struct dir_op *op, const char *filter, const char *why, int *n, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "guard");
	long got;

	*n = 0;
	if (base == NULL)
		return error_set(err, 500, NULL, "out of memory");
	got = dir_delete_found(op, base, filter, guard_held_attrs, guard_dropped, (void *)why, err);
	free(base);
	if (got < 0)
		return -1;
	*n = (int)got;
	return 0;
}

void
guard_cancel(struct dir_op *op, const char *person_id)
{
	char filter[512], *src, *pid;
	struct rb_error err;
	int n = 0;

	if (person_id == NULL || !strcmp(op->ctx->source, DIR_INPRODUCT))
		return;
	error_clear(&err);
	src = escape_filter_value(op->ctx->source, strlen(op->ctx->source));
	pid = escape_filter_value(person_id, strlen(person_id));
	if (src != NULL && pid != NULL) {
		snprintf(filter, sizeof(filter),
		         "(&(objectClass=rbGuardHeld)(rbSource=%s)(rbGuardPerson=%s))", src, pid);
		if (guard_drop(op, filter, "cancelled: the source wrote the person as active again",
		               &n, &err) < 0)
			log_warnx("tenant %s source %s: held removals of %s not cancelled: %s",
			          op->ctx->tenant, op->ctx->source, person_id, err.detail);
	}
	free(src);
	free(pid);
}

int
guard_expire(struct dir_op *op, int *expired, struct rb_error *err)
{
	const struct config *cfg = op->ctx->dir->cfg;
	char filter[128], stamp[16], why[96];

	*expired = 0;
	if (cfg->guard_hold_days <= 0)
		return 0;
	dir_gentime(time(NULL) - (time_t)cfg->guard_hold_days * 86400, stamp);
	snprintf(filter, sizeof(filter), "(&(objectClass=rbGuardHeld)(rbGuardAt<=%s))", stamp);
	snprintf(why, sizeof(why),
	         "expired: no operator decided within guard_hold_days %d; dropped, not applied",
	         cfg->guard_hold_days);
	return guard_drop(op, filter, why, expired, err);
}

json_t *
dir_guard_list(const struct dir_ctx *ctx, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	struct dir_op op;
	char *base;
	json_t *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, "guard");
	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	/* A missing ou=guard is noSuchObject: dir_search answers it as "no entry". */
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, "(objectClass=rbGuardHeld)",
	               guard_held_attrs, NULL, 0, &res, err) < 0)
		goto done;
	out = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; out != NULL && e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		json_t *m = entry_to_map(op.conn->ld, e);
		time_t at = 0, until = guard_expiry(ctx->dir->cfg, m), now = time(NULL);
		char until_s[16] = "";
		json_t *row;

		if (until > 0)
			dir_gentime(until, until_s);
		if (dir_gentime_parse(entry_map_first(m, "rbguardat"), &at) < 0)
			at = now;
		row =
		    json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}", "id",
		              entry_map_first(m, "cn"), "source", entry_map_first(m, "rbsource"),
		              "action", entry_map_first(m, "rbguardaction"), "person",
		              entry_map_first(m, "rbguardperson"), "userName",
		              entry_map_first(m, "uid"), "heldAt", entry_map_first(m, "rbguardat"),
		              "ageSeconds", (json_int_t)(now > at ? now - at : 0));
		/* expiresAt: absent when held removals never expire (guard_hold_days 0) */
		if (row != NULL && until > 0)
			json_object_set_new(row, "expiresAt", json_string(until_s));
		json_array_append_new(out, row);
		json_decref(m);
	}
	if (out == NULL)
		error_set(err, 500, NULL, "out of memory");
done:
	ldap_msgfree(res);
	free(base);
	dir_op_end(&op);
	return out;
}

/* Apply held removal `m` (its entry map) as its source, past the guard. 0 or -1 with *err. */
static int
guard_apply(const struct dir_ctx *ctx, const json_t *m, struct rb_error *err)
{
	struct dir_ctx as = *ctx;
	const char *action = entry_map_first(m, "rbguardaction");
	const char *person = entry_map_first(m, "rbguardperson");
	json_t *patch, *out;

	as.source = entry_map_first(m, "rbsource");
	as.guard_off = true;
	as.held = NULL;
	as.input = NULL;
	if (as.source == NULL || action == NULL || person == NULL)
		return error_set(err, 500, NULL, "held removal %s is incomplete",
		                 entry_map_first(m, "cn"));
	if (!strcasecmp(action, "delete"))
		return dir_user_delete(&as, person, NULL, err);
	patch = json_pack("{s:[s], s:[{s:s, s:s, s:b}]}", "schemas",
	                  "urn:ietf:params:scim:api:messages:2.0:PatchOp", "Operations", "op",
	                  "replace", "path", "active", "value", 0);
	out = patch ? dir_user_patch(&as, person, patch, NULL, err) : NULL;
	json_decref(patch);
	if (out == NULL)
		return error_is_set(err) ? -1 : error_set(err, 500, NULL, "out of memory");
	json_decref(out);
	return 0;
}

int
dir_guard_decide(const struct dir_ctx *ctx, const char *id, bool approve, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	struct dir_op op;
	char *dn = NULL;
	json_t *m = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dn = guard_dn(&op, id);
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(&op, dn, LDAP_SCOPE_BASE, "(objectClass=rbGuardHeld)", guard_held_attrs,
	               NULL, 1, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	m = e ? entry_to_map(op.conn->ld, e) : NULL;
	if (m == NULL) {
		error_set(err, 404, NULL, "no held removal %s in this tenant", id);
		goto done;
	}
	if (approve && guard_expiry(ctx->dir->cfg, m) > 0 &&
	    guard_expiry(ctx->dir->cfg, m) <= time(NULL)) {
		/* past guard_hold_days: dropped (the sweep would), never applied */
		if (dir_delete_dn(&op, dn, entry_map_first(m, "entrycsn"), err) < 0 &&
		    (err->status == 404 || err->status == 412))
			error_clear(err);
		if (!error_is_set(err))
			error_set(
			    err, 409, NULL,
			    "held removal %s expired (held %s, guard_hold_days %d): dropped, "
			    "not applied; if the source still means it, its next sync sends it "
			    "again",
			    id, entry_map_first(m, "rbguardat"), ctx->dir->cfg->guard_hold_days);
		goto done;
	}
	/* The removal applies on a connection of its own (dir_user_*): give ours
	 * back first, so a full pool cannot wait on itself. */
	dir_op_end(&op);
	if (approve && guard_apply(ctx, m, err) < 0) {
		if (err->status == 404) {
			error_clear(err);
			error_set(err, 409, NULL,
			          "held removal %s: the person is gone (released or purged since); "
			          "reject it",
			          id);
		}
		goto out;
	}
	if (dir_op_begin(&op, ctx, err) < 0)
		goto out;
	/* Applying twice is harmless (a release or suspension already made is
	 * a no-op), so the entry goes after: asserted on the version read. */
	if (dir_delete_dn(&op, dn, entry_map_first(m, "entrycsn"), err) < 0 &&
	    (err->status == 404 || err->status == 412))
		error_clear(err);
	rc = error_is_set(err) ? -1 : 0;
done:
	dir_op_end(&op);
out:
	ldap_msgfree(res);
	json_decref(m);
	free(dn);
	return rc;
}
