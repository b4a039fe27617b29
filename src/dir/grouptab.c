/*
 * grouptab.c — the groups of every tenant, kept in the daemon (issue 17).
 *
 * A GET of a person who is in a group needs the group's id, name and
 * grants (the `groups` attribute, role-group grants). Read from the
 * directory, that is a second search per GET — for a member, slapd's CPU
 * per GET was 2.7× a plain uid search's, against 1.4× for a person in no
 * group (docs/schema.md, "Cost per request"). The table keeps those
 * attributes of every rbGroup entry in memory, followed with one sync
 * search (RFC 4533, refreshAndPersist, served by the syncprov overlay of
 * directory kit step 0008) on a connection of its own:
 *
 *   - the refresh brings every group; then slapd sends each add, modify,
 *     rename and delete of a group as it commits, whoever wrote it (this
 *     bridge, another bridge, a replicated change, an operator's
 *     ldapmodify);
 *   - a write of this bridge to a group (dir.c, dir_exec / dir_delete_dn)
 *     marks the group as waiting until the search has brought that write
 *     (its entryCSN, from the post-read control) or the delete: a request
 *     that follows a write of this bridge reads the group from the
 *     directory until then, never an older copy;
 *   - until the refresh is done, after the connection drops or the search
 *     ends (slapd restarted), and for a group the table does not hold or
 *     holds in another tenant, a request reads from the directory, as
 *     before the table. A directory without syncprov refuses the search:
 *     logged once, and every request reads from the directory.
 *
 * What the table does not promise: a change written by someone else is
 * seen when slapd's message arrives (milliseconds; the same lag as a
 * replica), not at the instant it commits. Writes that derive stored
 * values from groups (access.c's refresh of a person) read the directory,
 * never the table: only what a response shows comes from it.
 */
#include "dir/dir_int.h"

#include <ldap.h>
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dir/entry.h"
#include "lib/log.h"

#define GROUPTAB_FILTER "(objectClass=rbGroup)"
#define GROUPTAB_POLL_MS 250L        /* how soon a stop is seen */
#define GROUPTAB_BACKOFF_MAX_MS 5000 /* reconnect backoff: 100 ms doubling to this */

struct grouptab {
	const struct config *cfg; /* borrowed */
	const struct pool *pool;  /* borrowed: its settings open the table's own connection */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a stop */
	bool stop;
	bool live; /* the refresh is done and the search persists: lookups may answer */
	/* {uuid (lower case): {"ndn": the group's DN and "parent" its parent's,
	 * normalised and lower case, "csn": its entryCSN, "map": the entry map}} */
	json_t *groups;
	/* {uuid: {"csn": csn, "search": n}} — groups this bridge wrote that the
	 * search has not yet brought; csn "~" (after every CSN) for a delete or
	 * a write whose CSN is not known: it waits for the group's delete, or
	 * for the end of a refresh that started after it (search > n) */
	json_t *pending;
	unsigned long search;       /* sync searches sent so far */
	bool said_refused;          /* the refusal is logged once until a search succeeds */
	unsigned long hits, misses; /* lookups answered here / sent to the directory */
};

/* A DN normalised for comparison ("ou=groups,o=district 1,dc=example,dc=org"). NEW or NULL. */
static char *
grouptab_norm(const char *dn)
{
	char *out = NULL, *p;

	if (dn == NULL ||
	    ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) !=
	        LDAP_SUCCESS ||
	    out == NULL)
		return NULL;
	for (p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/* The table's copy of one entry; called with the lock held. */
static void
grouptab_put(struct grouptab *t, const char *uuid, json_t *map)
{
	const char *csn = entry_map_first(map, "entrycsn");
	const char *wait;
	char *parent_raw = dir_parent_dn(entry_map_first(map, "dn"));
	char *parent = grouptab_norm(parent_raw);
	char *ndn = grouptab_norm(entry_map_first(map, "dn"));
	bool usable = parent != NULL && ndn != NULL && csn != NULL;

	if (usable)
		json_object_set_new(t->groups, uuid,
		                    json_pack("{s:s, s:s, s:s, s:O}", "ndn", ndn, "parent", parent,
		                              "csn", csn, "map", map));
	else /* drop any older copy, so lookups read the directory */
		json_object_del(t->groups, uuid);
	free(parent_raw);
	ldap_memfree(parent);
	ldap_memfree(ndn);
	if (!usable)
		return;
	wait = json_string_value(json_object_get(json_object_get(t->pending, uuid), "csn"));
	if (wait != NULL && strcmp(csn, wait) >= 0)
		json_object_del(t->pending, uuid);
}

/* A syncUUID (16 octets, RFC 4533) as entryUUID's text form into `out`; false if not 16. */
static bool
grouptab_uuid(const struct berval *raw, char out[40])
{
	const unsigned char *u = (const unsigned char *)raw->bv_val;

	if (raw->bv_len != 16)
		return false;
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	         u[13], u[14], u[15]);
	return true;
}

/* The group `uuid` is gone (deleted, or out of the search): nothing waits for it either.
 * Called with the lock held. */
static void
grouptab_forget(struct grouptab *t, const char *uuid)
{
	json_object_del(t->groups, uuid);
	json_object_del(t->pending, uuid);
}

/* One entry of the search: the group as it is now, or its delete. */
static void
grouptab_entry(struct grouptab *t, LDAP *ld, LDAPMessage *e)
{
	LDAPControl **ctrls = NULL;
	BerElement *ber = NULL;
	struct berval raw = {0, NULL};
	ber_int_t state = -1;
	char uuid[40];
	json_t *map = NULL;
	size_t i;

	if (ldap_get_entry_controls(ld, e, &ctrls) != LDAP_SUCCESS || ctrls == NULL)
		goto done;
	for (i = 0; ctrls[i] != NULL; i++)
		if (!strcmp(ctrls[i]->ldctl_oid, LDAP_CONTROL_SYNC_STATE))
			break;
	if (ctrls[i] == NULL || (ber = ber_init(&ctrls[i]->ldctl_value)) == NULL ||
	    ber_scanf(ber, "{em", &state, &raw) == LBER_ERROR || !grouptab_uuid(&raw, uuid))
		goto done;
	if (state != LDAP_SYNC_DELETE)
		map = entry_to_map(ld, e);
	pthread_mutex_lock(&t->lock);
	if (state == LDAP_SYNC_DELETE) {
		grouptab_forget(t, uuid);
	} else if (map != NULL) {
		grouptab_put(t, uuid, map);
	} else {
		json_object_del(t->groups, uuid); /* out of memory: never a stale copy */
	}
	pthread_mutex_unlock(&t->lock);
done:
	json_decref(map);
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_controls_free(ctrls);
}

/*
 * The head of a refreshDelete, refreshPresent or syncIdSet value: "{", an
 * optional cookie (not kept: every search starts afresh), an optional
 * BOOLEAN (refreshDone or refreshDeletes, both tagged 0x01) into *flag.
 * 0, or -1 if the value does not parse.
 */
static int
grouptab_info_head(BerElement *ber, ber_int_t *flag)
{
	struct berval cookie;
	ber_len_t len;

	if (ber_scanf(ber, "{") == LBER_ERROR)
		return -1;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    ber_scanf(ber, "m", &cookie) == LBER_ERROR)
		return -1;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE &&
	    ber_scanf(ber, "b", flag) == LBER_ERROR)
		return -1;
	return 0;
}

/* A Sync Info message: the end of the refresh, or (never asked for) a set of ids. */
static void
grouptab_info(struct grouptab *t, LDAP *ld, LDAPMessage *res)
{
	char *oid = NULL;
	struct berval *data = NULL;
	BerElement *ber = NULL;
	ber_tag_t tag;
	ber_len_t len;
	ber_int_t done = 1, deletes = 0;
	BerVarray ids = NULL;
	size_t i;

	if (ldap_parse_intermediate(ld, res, &oid, &data, NULL, 0) != LDAP_SUCCESS || oid == NULL ||
	    strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL || (ber = ber_init(data)) == NULL)
		goto out;
	tag = ber_peek_tag(ber, &len);
	if (tag == LDAP_TAG_SYNC_REFRESH_DELETE || tag == LDAP_TAG_SYNC_REFRESH_PRESENT) {
		if (grouptab_info_head(ber, &done) < 0 || !done)
			goto out;
		pthread_mutex_lock(&t->lock);
		t->live = true;
		/* Every group is as the refresh found it: what waited on a
		 * write made before this search started has been brought. */
		{
			const char *uuid;
			json_t *w;
			void *tmp;
			json_object_foreach_safe(t->pending, tmp, uuid, w)
			{
				if (json_integer_value(json_object_get(w, "search")) <
				    (json_int_t)t->search)
					json_object_del(t->pending, uuid);
			}
		}
		/* Once per connection: at the start, and after each reconnect. */
		log_info("group table: following %zu groups (sync search)",
		         json_object_size(t->groups));
		t->said_refused = false;
		pthread_mutex_unlock(&t->lock);
	} else if (tag == LDAP_TAG_SYNC_ID_SET) {
		if (grouptab_info_head(ber, &deletes) < 0 ||
		    ber_scanf(ber, "[W]}", &ids) == LBER_ERROR || !deletes)
			goto out;
		pthread_mutex_lock(&t->lock);
		for (i = 0; ids != NULL && ids[i].bv_val != NULL; i++) {
			char uuid[40];
			if (grouptab_uuid(&ids[i], uuid))
				grouptab_forget(t, uuid);
		}
		pthread_mutex_unlock(&t->lock);
	}
out:
	ber_bvarray_free(ids);
	if (ber != NULL)
		ber_free(ber, 1);
	ber_bvfree(data);
	ldap_memfree(oid);
}

/* Forget everything: lookups read the directory until the next refresh is done. */
static void
grouptab_reset(struct grouptab *t)
{
	pthread_mutex_lock(&t->lock);
	t->live = false;
	json_object_clear(t->groups);
	pthread_mutex_unlock(&t->lock);
}

static bool
grouptab_stopping(struct grouptab *t)
{
	bool stop;

	pthread_mutex_lock(&t->lock);
	stop = t->stop;
	pthread_mutex_unlock(&t->lock);
	return stop;
}

/*
 * One connection's sync search, until it fails, slapd ends it, or the
 * table stops. Returns 1 if the refresh completed (the backoff starts
 * again from its shortest), 0 otherwise.
 */
static int
grouptab_follow(struct grouptab *t)
{
	static char *attrs[] = {
	    "entryUUID",         "cn",       "displayName", "rbSource",
	    "rbPermission",      "rbScope",  "rbSchoolRef", "rbRegionRef",
	    "rbCanManageAdmins", "rbActive", "entryCSN",    NULL,
	};
	LDAPControl *sync = NULL, *manage = NULL, *ctrls[3] = {NULL, NULL, NULL};
	BerElement *ber = NULL;
	struct berval val = {0, NULL};
	LDAP *ld = pool_connect_new(t->pool);
	int msgid = -1, rc, reached = 0;

	if (ld == NULL)
		return 0;
	ber = ber_alloc_t(LBER_USE_DER);
	if (ber == NULL ||
	    ber_printf(ber, "{eb}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST, 0) == -1 ||
	    ber_flatten2(ber, &val, 0) == -1 ||
	    ldap_control_create(LDAP_CONTROL_SYNC, 1, &val, 1, &sync) != LDAP_SUCCESS ||
	    ldap_control_create(LDAP_CONTROL_MANAGEDSAIT, 0, NULL, 1, &manage) != LDAP_SUCCESS)
		goto done;
	ctrls[0] = sync;
	ctrls[1] = manage;
	pthread_mutex_lock(&t->lock);
	t->search++;
	pthread_mutex_unlock(&t->lock);
	rc = ldap_search_ext(ld, t->cfg->ldap_suffix, LDAP_SCOPE_SUBTREE, GROUPTAB_FILTER, attrs, 0,
	                     ctrls, NULL, NULL, 0, &msgid);
	if (rc != LDAP_SUCCESS) {
		log_warnx("group table: the sync search could not be sent: %s",
		          ldap_err2string(rc));
		goto done;
	}
	for (;;) {
		struct timeval tv = {0, GROUPTAB_POLL_MS * 1000};
		LDAPMessage *res = NULL;
		int type;

		if (grouptab_stopping(t))
			break;
		rc = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &res);
		if (rc == 0)
			continue;
		if (rc < 0) {
			ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
			log_warnx(
			    "group table: the sync search's connection failed (%s); groups are "
			    "read from the directory until it is back",
			    ldap_err2string(rc));
			break;
		}
		type = ldap_msgtype(res);
		if (type == LDAP_RES_SEARCH_ENTRY) {
			grouptab_entry(t, ld, res);
		} else if (type == LDAP_RES_INTERMEDIATE) {
			grouptab_info(t, ld, res);
			pthread_mutex_lock(&t->lock);
			reached = t->live ? 1 : reached;
			pthread_mutex_unlock(&t->lock);
		} else if (type == LDAP_RES_SEARCH_RESULT) {
			int code = LDAP_OTHER;
			char *diag = NULL;
			ldap_parse_result(ld, res, &code, NULL, &diag, NULL, NULL, 0);
			pthread_mutex_lock(&t->lock);
			if (!reached && !t->said_refused)
				log_warnx(
				    "group table: the directory refused the sync search (%s%s%s): "
				    "groups are read from the directory on every request "
				    "(directory kit step 0008 adds the syncprov overlay)",
				    ldap_err2string(code), diag && *diag ? ": " : "",
				    diag && *diag ? diag : "");
			else if (reached)
				log_warnx("group table: the directory ended the sync search (%s); "
				          "starting it again",
				          ldap_err2string(code));
			t->said_refused = t->said_refused || !reached;
			pthread_mutex_unlock(&t->lock);
			ldap_memfree(diag);
			ldap_msgfree(res);
			break;
		}
		ldap_msgfree(res);
	}
done:
	if (sync != NULL)
		ldap_control_free(sync);
	if (manage != NULL)
		ldap_control_free(manage);
	if (ber != NULL)
		ber_free(ber, 1);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return reached;
}

static void *
grouptab_run(void *arg)
{
	struct grouptab *t = arg;
	long backoff_ms = 100;

	for (;;) {
		struct timespec until;

		if (grouptab_follow(t))
			backoff_ms = 100;
		grouptab_reset(t);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += backoff_ms / 1000;
		until.tv_nsec += (backoff_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&t->lock);
		while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0)
			;
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		pthread_mutex_unlock(&t->lock);
		backoff_ms = backoff_ms * 2 > GROUPTAB_BACKOFF_MAX_MS ? GROUPTAB_BACKOFF_MAX_MS
		                                                      : backoff_ms * 2;
	}
	return NULL;
}

struct grouptab *
grouptab_start(const struct config *cfg, const struct pool *pool)
{
	struct grouptab *t = calloc(1, sizeof(*t));
	sigset_t all, old;
	int rc;

	if (t == NULL)
		return NULL;
	t->cfg = cfg;
	t->pool = pool;
	t->groups = json_object();
	t->pending = json_object();
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	if (t->groups == NULL || t->pending == NULL)
		goto fail;
	/* The thread takes no signal: the main thread waits for them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->thread, NULL, grouptab_run, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	return t;
fail:
	json_decref(t->groups);
	json_decref(t->pending);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return NULL;
}

void
grouptab_stop(struct grouptab *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	json_decref(t->groups);
	json_decref(t->pending);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

size_t
grouptab_fill(struct grouptab *t, const char *groups_dn, json_t *ids)
{
	char *want = NULL;
	const char *id;
	json_t *v;
	size_t filled = 0, asked = 0;

	if (t == NULL || json_object_size(ids) == 0)
		return 0;
	want = grouptab_norm(groups_dn);
	if (want == NULL)
		return 0;
	pthread_mutex_lock(&t->lock);
	json_object_foreach(ids, id, v)
	{
		json_t *g;
		char lower[40];

		if (!json_is_null(v))
			continue;
		asked++;
		if (!t->live)
			continue;
		dir_id_lower(id, lower, sizeof(lower));
		g = json_object_get(t->groups, lower);
		if (g == NULL || json_object_get(t->pending, lower) != NULL ||
		    strcmp(json_string_value(json_object_get(g, "parent")), want) != 0)
			continue;
		/* A copy: the request may keep and change it after the table moves on. */
		json_object_set_new(ids, id, json_deep_copy(json_object_get(g, "map")));
		filled++;
	}
	t->hits += filled;
	t->misses += asked - filled;
	pthread_mutex_unlock(&t->lock);
	ldap_memfree(want);
	return filled;
}

void
grouptab_wrote(struct grouptab *t, const json_t *map)
{
	const char *uuid, *csn;
	char lower[40];

	if (t == NULL || map == NULL)
		return;
	uuid = entry_map_first(map, "entryuuid");
	csn = entry_map_first(map, "entrycsn");
	if (uuid == NULL)
		return;
	dir_id_lower(uuid, lower, sizeof(lower));
	pthread_mutex_lock(&t->lock);
	{
		const char *old =
		    json_string_value(json_object_get(json_object_get(t->pending, lower), "csn"));
		const char *held =
		    json_string_value(json_object_get(json_object_get(t->groups, lower), "csn"));
		if (csn == NULL)
			csn = "~";
		/* The search may have brought the write before its writer got here:
		 * then nothing is waited for. Else the latest write is the one. */
		if ((held == NULL || strcmp(held, csn) < 0) &&
		    (old == NULL || strcmp(csn, old) > 0))
			json_object_set_new(
			    t->pending, lower,
			    json_pack("{s:s, s:I}", "csn", csn, "search", (json_int_t)t->search));
	}
	pthread_mutex_unlock(&t->lock);
}

void
grouptab_wrote_dn(struct grouptab *t, const char *dn)
{
	char *want = grouptab_norm(dn);
	const char *uuid;
	json_t *g;

	if (t == NULL || want == NULL) {
		ldap_memfree(want);
		return;
	}
	pthread_mutex_lock(&t->lock);
	json_object_foreach(t->groups, uuid, g)
	{
		if (strcmp(json_string_value(json_object_get(g, "ndn")), want) == 0) {
			json_object_set_new(
			    t->pending, uuid,
			    json_pack("{s:s, s:I}", "csn", "~", "search", (json_int_t)t->search));
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	ldap_memfree(want);
}

void
grouptab_stats(struct grouptab *t, unsigned long *hits, unsigned long *misses, bool *live)
{
	*hits = *misses = 0;
	*live = false;
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	*hits = t->hits;
	*misses = t->misses;
	*live = t->live;
	pthread_mutex_unlock(&t->lock);
}
