/*
 * pool.c — the LDAP connection pool; see pool.h.
 *
 * Slots are handed out under one mutex; a condition variable wakes a
 * waiter when a slot comes back. Connecting (and binding) happens outside
 * the mutex, on the slot the caller now owns, so one slow reconnect never
 * blocks the other workers.
 */
#include "dir/pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

#define POOL_BACKOFF_MIN_MS 100
#define POOL_BACKOFF_MAX_MS 5000

struct pool_slot {
	struct pool_conn conn;
	bool busy;
	long backoff_ms;          /* 0 while healthy */
	struct timespec retry_at; /* no connection attempt before this */
};

struct pool {
	const struct config *cfg;
	int size;
	struct pool_slot *slots;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	unsigned long connects, failures, waits;
	unsigned long generation; /* see pool_stats.generation */
	/*
	 * /readyz's own connection, never one of the SCIM slots: a flood of
	 * readiness probes cannot take a slot from SCIM traffic, and a probe
	 * arriving while another is in flight answers that probe's last result
	 * instead of queueing (ping_mutex is only ever try-locked).
	 */
	struct pool_slot ping;
	pthread_mutex_t ping_mutex;
	int ping_last; /* 0 or -1; under mutex */
};

static void
pool_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static bool
pool_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

struct timeval
pool_timeout(const struct pool *pool)
{
	struct timeval tv;

	tv.tv_sec = pool->cfg->ldap_timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(pool->cfg->ldap_timeout_ms % 1000) * 1000;
	return tv;
}

struct pool *
pool_create(const struct config *cfg, int size)
{
	struct pool *pool;
	int i, level = 0;

	/*
	 * libldap sets up its global options (and their mutex) on first use,
	 * unguarded: two threads making their first connection at once race
	 * (ThreadSanitizer saw the outbox thread's first connection race the
	 * main thread's ping). A read of a global option does the set-up here,
	 * on the thread that creates the pools, before any other thread runs.
	 */
	ldap_get_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->slots = calloc((size_t)size, sizeof(*pool->slots));
	if (pool->slots == NULL) {
		free(pool);
		return NULL;
	}
	pool->cfg = cfg;
	pool->size = size;
	for (i = 0; i < size; i++)
		pool->slots[i].conn.index = i;
	pool->ping.conn.index = -1;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pthread_mutex_init(&pool->ping_mutex, NULL);
	return pool;
}

void
pool_destroy(struct pool *pool)
{
	int i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->size; i++)
		if (pool->slots[i].conn.ld != NULL)
			ldap_unbind_ext_s(pool->slots[i].conn.ld, NULL, NULL);
	if (pool->ping.conn.ld != NULL)
		ldap_unbind_ext_s(pool->ping.conn.ld, NULL, NULL);
	pthread_mutex_destroy(&pool->mutex);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->ping_mutex);
	free(pool->slots);
	free(pool);
}

bool
pool_rc_is_connection_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR || rc == LDAP_NO_MEMORY;
}

/* libldap's diagnostic message on ld, or NULL. Free with ldap_memfree. */
static char *
pool_diag(LDAP *ld)
{
	char *msg = NULL;

	if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS)
		msg = NULL;
	return msg;
}

/*
 * TLS of one handle (StartTLS or ldaps://): the configured CA, a demanded
 * and verified server certificate (whatever ldap.conf says), and a TLS
 * context of the handle's own (LDAP_OPT_X_TLS_NEWCTX) so that these
 * settings apply. 0, or -1 (reason logged).
 */
static int
pool_tls_setup(const struct config *cfg, LDAP *ld)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, is_server = 0, rc;

	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (rc == LDAP_OPT_SUCCESS && cfg->ldap_tls_ca_file != NULL)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap_tls_ca_file);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
	if (rc != LDAP_OPT_SUCCESS) {
		log_warnx("ldap: %s: cannot set up TLS with CA file %s: %s", cfg->ldap_uri,
		          cfg->ldap_tls_ca_file ? cfg->ldap_tls_ca_file : "(system default)",
		          ldap_err2string(rc));
		return -1;
	}
	return 0;
}

/*
 * Log why the TLS handshake (or the connection) failed. libldap's own
 * message for an untrusted certificate is only "(unknown error code)", so
 * the line also says what to check.
 */
static void
pool_log_tls_failure(const struct config *cfg, LDAP *ld, const char *what, int rc)
{
	char *diag = pool_diag(ld);

	log_warnx("ldap: %s: %s failed (%s%s%s): the TLS handshake did not succeed; check that "
	          "the directory's certificate is issued for this host and signed by a CA in %s; "
	          "not connecting in cleartext",
	          cfg->ldap_uri, what, ldap_err2string(rc), diag && *diag ? ": " : "",
	          diag && *diag ? diag : "",
	          cfg->ldap_tls_ca_file ? cfg->ldap_tls_ca_file : "the system's CA store");
	ldap_memfree(diag);
}

/*
 * Open and bind one handle. Returns the handle or NULL (reason logged).
 * With TLS configured (ldap_starttls, or an ldaps:// URI) a handle that did
 * not complete the TLS handshake is never used: no cleartext fallback.
 */
static LDAP *
pool_open(const struct pool *pool)
{
	const struct config *cfg = pool->cfg;
	struct timeval tv = pool_timeout(pool);
	LDAP *ld = NULL;
	int version = LDAP_VERSION3, rc;

	rc = ldap_initialize(&ld, cfg->ldap_uri);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: %s: %s", cfg->ldap_uri, ldap_err2string(rc));
		return NULL;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (cfg->ldap_tls && pool_tls_setup(cfg, ld) < 0)
		goto fail;
	if (cfg->ldap_starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc == LDAP_CONNECT_ERROR) {
			/* The TCP connection was made: the TLS handshake failed. */
			pool_log_tls_failure(cfg, ld, "StartTLS", rc);
			goto fail;
		}
		if (rc == LDAP_SERVER_DOWN) {
			log_warnx("ldap: %s: %s", cfg->ldap_uri, ldap_err2string(rc));
			goto fail;
		}
		if (rc != LDAP_SUCCESS) {
			/* E.g. a directory without TLS: "unsupported extended operation". */
			char *diag = pool_diag(ld);
			log_warnx("ldap: %s: StartTLS failed: %s%s%s; not connecting in cleartext",
			          cfg->ldap_uri, ldap_err2string(rc), diag && *diag ? ": " : "",
			          diag && *diag ? diag : "");
			ldap_memfree(diag);
			goto fail;
		}
	} else if (cfg->ldap_tls) {
		/* ldaps://: connect (and so handshake) now, to tell a TLS failure apart. */
		rc = ldap_connect(ld);
		if (rc != LDAP_SUCCESS) {
			char *diag = pool_diag(ld);
			if (diag != NULL && *diag)
				pool_log_tls_failure(cfg, ld, "TLS connection", rc);
			else
				log_warnx("ldap: %s: %s", cfg->ldap_uri, ldap_err2string(rc));
			ldap_memfree(diag);
			goto fail;
		}
	}
	return ld;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

/*
 * libldap 2.5 reads every message from a TCP connection with two read()s
 * (its tag and length, then the rest) and polls again before the next one:
 * a search by id (its entry, then its result) took two polls and four
 * reads. A read-ahead layer between the socket and libldap — the one slapd
 * puts under its own connections, and libldap under UDP — takes what has
 * arrived in one read (4 KiB at a time), usually the whole answer, and
 * libldap asks it (LBER_SB_OPT_DATA_READY) before it polls. Added after the
 * bind, below TLS when there is TLS. Without it (the option fails) the
 * connection works as before.
 */
static void
pool_readahead(LDAP *ld)
{
	Sockbuf *sb = NULL;

	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL)
		return;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_HAS_IO, &ber_sockbuf_io_readahead))
		return;
	if (ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, NULL) != 0)
		log_warnx(
		    "ldap: cannot add a read-ahead buffer to a connection (reads stay unbuffered)");
}

/* Open a handle (pool_open) and bind it as the service account. */
static LDAP *
pool_connect(const struct pool *pool)
{
	const struct config *cfg = pool->cfg;
	struct berval cred;
	LDAP *ld = pool_open(pool);
	int rc;

	if (ld == NULL)
		return NULL;
	cred.bv_val = cfg->ldap_bind_password;
	cred.bv_len = strlen(cfg->ldap_bind_password);
	rc = ldap_sasl_bind_s(ld, cfg->ldap_bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: %s: bind as %s: %s", cfg->ldap_uri, cfg->ldap_bind_dn,
		          ldap_err2string(rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	pool_readahead(ld);
	return ld;
}

LDAP *
pool_connect_new(const struct pool *pool)
{
	return pool_connect(pool);
}

int
pool_check_password(struct pool *pool, const char *dn, const char *password, struct rb_error *err)
{
	struct berval cred;
	LDAP *ld;
	int rc;

	if (dn == NULL || *dn == '\0' || password == NULL || *password == '\0')
		return error_set(err, 401, NULL, "wrong credentials"); /* never an anonymous bind */
	ld = pool_open(pool);
	if (ld == NULL)
		return error_set(err, 503, NULL, "directory unavailable");
	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	ldap_unbind_ext_s(ld, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (pool_rc_is_connection_error(rc))
		return error_set(err, 503, NULL, "directory unavailable");
	return error_set(err, 401, NULL, "wrong credentials");
}

/*
 * An idle LDAP connection has nothing to read. If its socket is readable
 * or hung up, the server closed it (or sent a Notice of Disconnection):
 * the handle is dead, and using it for a write would fail in a way that
 * leaves us unsure whether the write happened.
 */
static bool
pool_alive(LDAP *ld)
{
	struct pollfd pfd;
	Sockbuf *sb = NULL;
	int fd = -1;

	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
		return false;
	/* Bytes already read ahead (pool_readahead) on an idle connection: not idle. */
	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb != NULL &&
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, NULL) > 0)
		return false;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) < 0)
		return true; /* cannot tell: let the operation find out */
	return (pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0;
}

/* A failed connection attempt at `now`: back off (100 ms doubling to 5 s). */
static void
pool_backoff(struct pool_slot *slot, const struct timespec *now)
{
	slot->backoff_ms = slot->backoff_ms == 0 ? POOL_BACKOFF_MIN_MS : slot->backoff_ms * 2;
	if (slot->backoff_ms > POOL_BACKOFF_MAX_MS)
		slot->backoff_ms = POOL_BACKOFF_MAX_MS;
	slot->retry_at = *now;
	slot->retry_at.tv_sec += slot->backoff_ms / 1000;
	slot->retry_at.tv_nsec += (slot->backoff_ms % 1000) * 1000000L;
	if (slot->retry_at.tv_nsec >= 1000000000L) {
		slot->retry_at.tv_sec++;
		slot->retry_at.tv_nsec -= 1000000000L;
	}
}

struct pool_conn *
pool_acquire(struct pool *pool, struct rb_error *err)
{
	struct pool_slot *slot = NULL;
	struct timespec deadline, now;
	LDAP *ld;
	int i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += pool->cfg->ldap_timeout_ms / 1000;
	deadline.tv_nsec += (long)(pool->cfg->ldap_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool->mutex);
	for (;;) {
		/* Prefer a connected slot, then any free one. */
		for (i = 0; i < pool->size; i++)
			if (!pool->slots[i].busy && pool->slots[i].conn.ld != NULL) {
				slot = &pool->slots[i];
				break;
			}
		if (slot == NULL)
			for (i = 0; i < pool->size; i++)
				if (!pool->slots[i].busy) {
					slot = &pool->slots[i];
					break;
				}
		if (slot != NULL)
			break;
		pool->waits++;
		if (pthread_cond_timedwait(&pool->cond, &pool->mutex, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->mutex);
			error_set(err, 503, NULL, "all directory connections are busy");
			return NULL;
		}
	}
	slot->busy = true;
	pthread_mutex_unlock(&pool->mutex);

	if (slot->conn.ld != NULL && pool_alive(slot->conn.ld))
		return &slot->conn;
	if (slot->conn.ld != NULL) {
		/* The directory closed this connection while it was idle (restart). */
		LDAP *old;
		log_info("ldap: connection %d was closed by the directory; reconnecting",
		         slot->conn.index);
		/* Cleared under the mutex that pool_get_stats (/metrics) reads it under. */
		pthread_mutex_lock(&pool->mutex);
		old = slot->conn.ld;
		slot->conn.ld = NULL;
		slot->backoff_ms = 0;
		pthread_mutex_unlock(&pool->mutex);
		ldap_unbind_ext_s(old, NULL, NULL);
	}

	pool_now(&now);
	if (slot->backoff_ms > 0 && pool_before(&now, &slot->retry_at)) {
		pool_release(pool, &slot->conn, false);
		error_set(err, 503, NULL, "the directory is unavailable (reconnecting)");
		return NULL;
	}
	ld = pool_connect(pool);
	pthread_mutex_lock(&pool->mutex);
	if (ld == NULL) {
		pool->failures++;
		pool_backoff(slot, &now);
		slot->busy = false;
		pthread_cond_signal(&pool->cond);
		pthread_mutex_unlock(&pool->mutex);
		error_set(err, 503, NULL, "the directory is unavailable");
		return NULL;
	}
	pool->connects++;
	pool->generation++;
	if (slot->backoff_ms > 0)
		log_info("ldap: %s: connection %d restored", pool->cfg->ldap_uri, slot->conn.index);
	slot->backoff_ms = 0;
	slot->conn.ld = ld;
	slot->conn.vlv_uses = 0;
	pthread_mutex_unlock(&pool->mutex);
	return &slot->conn;
}

void
pool_release(struct pool *pool, struct pool_conn *conn, bool broken)
{
	struct pool_slot *slot;
	LDAP *drop = NULL;

	if (conn == NULL)
		return;
	slot = &pool->slots[conn->index];
	if (!broken && conn->vlv_uses >= POOL_VLV_PER_CONN && conn->ld != NULL) {
		/*
		 * Recycle quietly: not a failure (see POOL_VLV_PER_CONN). The
		 * replacement is bound before the old connection is closed: the old
		 * one still open then proves slapd did not restart in between (a
		 * restart closes every connection), so the directory generation
		 * stays and dir_page.c's cached totals survive the recycle. Without
		 * a replacement the slot reconnects on its next use, as a new
		 * generation.
		 */
		LDAP *old = conn->ld, *fresh = pool_connect(pool);
		bool same = fresh != NULL && pool_alive(old);
		pthread_mutex_lock(&pool->mutex);
		slot->conn.ld = fresh;
		slot->conn.vlv_uses = 0;
		if (fresh != NULL) {
			pool->connects++;
			if (!same)
				pool->generation++;
		}
		slot->busy = false;
		pthread_cond_signal(&pool->cond);
		pthread_mutex_unlock(&pool->mutex);
		ldap_unbind_ext_s(old, NULL, NULL);
		return;
	}
	pthread_mutex_lock(&pool->mutex);
	if (broken && slot->conn.ld != NULL) {
		slot->conn.vlv_uses = 0;
		drop = slot->conn.ld;
		slot->conn.ld = NULL;
		/* Reconnect at once on next use; backoff starts if that fails. */
		slot->backoff_ms = 0;
	}
	slot->busy = false;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->mutex);
	if (drop != NULL) {
		log_warnx("ldap: connection %d dropped, will reconnect", conn->index);
		ldap_unbind_ext_s(drop, NULL, NULL);
	}
}

int
pool_ping(struct pool *pool, struct rb_error *err)
{
	struct pool_slot *slot = &pool->ping;
	struct timeval tv = pool_timeout(pool);
	char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	struct timespec now;
	int rc, last;

	if (pthread_mutex_trylock(&pool->ping_mutex) != 0) {
		pthread_mutex_lock(&pool->mutex);
		last = pool->ping_last;
		pthread_mutex_unlock(&pool->mutex);
		if (last < 0)
			return error_set(err, 503, NULL,
			                 "the directory did not answer the last probe");
		return 0;
	}
	if (slot->conn.ld != NULL && !pool_alive(slot->conn.ld)) {
		ldap_unbind_ext_s(slot->conn.ld, NULL, NULL);
		slot->conn.ld = NULL;
		slot->backoff_ms = 0;
	}
	rc = LDAP_SUCCESS;
	if (slot->conn.ld == NULL) {
		pool_now(&now);
		if (slot->backoff_ms > 0 && pool_before(&now, &slot->retry_at)) {
			rc = LDAP_SERVER_DOWN;
		} else if ((slot->conn.ld = pool_connect(pool)) == NULL) {
			pool_backoff(slot, &now);
			rc = LDAP_SERVER_DOWN;
		} else {
			slot->backoff_ms = 0;
		}
	}
	if (rc == LDAP_SUCCESS) {
		rc = ldap_search_ext_s(slot->conn.ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
		                       0, NULL, NULL, &tv, 1, &res);
		ldap_msgfree(res);
		if (pool_rc_is_connection_error(rc)) {
			ldap_unbind_ext_s(slot->conn.ld, NULL, NULL);
			slot->conn.ld = NULL;
		}
	}
	pthread_mutex_lock(&pool->mutex);
	pool->ping_last = rc == LDAP_SUCCESS ? 0 : -1;
	pthread_mutex_unlock(&pool->mutex);
	pthread_mutex_unlock(&pool->ping_mutex);
	if (rc != LDAP_SUCCESS)
		return error_set(err, 503, NULL, "the directory does not answer: %s",
		                 ldap_err2string(rc));
	return 0;
}

void
pool_get_stats(struct pool *pool, struct pool_stats *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&pool->mutex);
	out->size = pool->size;
	for (i = 0; i < pool->size; i++) {
		if (pool->slots[i].conn.ld != NULL)
			out->connected++;
		if (pool->slots[i].busy)
			out->in_use++;
	}
	out->connects = pool->connects;
	out->generation = pool->generation;
	out->failures = pool->failures;
	out->waits = pool->waits;
	pthread_mutex_unlock(&pool->mutex);
}
