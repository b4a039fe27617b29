/*
 * pool.h — the LDAP connection pool: one handle per HTTP worker.
 *
 * Each slot holds one libldap handle bound as the service account. A slot
 * is connected lazily; after a failure it is retried with exponential
 * backoff (100 ms doubling to 5 s), so a directory outage costs each
 * request at most one fast failure (503 + Retry-After) and the pool
 * reconnects by itself when slapd is back. Every operation carries the
 * configured timeout (LDAP_OPT_TIMEOUT, LDAP_OPT_NETWORK_TIMEOUT).
 */
#ifndef RB_POOL_H
#define RB_POOL_H

#include <ldap.h>
#include <stdbool.h>

#include "lib/config.h"
#include "lib/error.h"

struct pool;

/*
 * slapd's sssvlv overlay keeps the sort state of every VLV search without a
 * context ID until the connection closes (olcSssVlvMaxPerConn, then
 * "busy"): a connection is recycled after this many sorted searches.
 */
#define POOL_VLV_PER_CONN 8

struct pool_conn {
	LDAP *ld;          /* bound handle; owned by the pool */
	int index;         /* slot number */
	unsigned vlv_uses; /* sorted (VLV) searches on this handle */
};

struct pool_stats {
	int size;
	int connected;
	int in_use;
	unsigned long connects; /* successful binds since start */
	/*
	 * generation — bumped by every new connection except one that replaced
	 * a connection the pool recycled after POOL_VLV_PER_CONN sorted
	 * searches while that connection was still open: when it has not
	 * moved, slapd has not restarted (dir_page.c reuses cached totals only
	 * then).
	 */
	unsigned long generation;
	unsigned long failures; /* failed connection attempts since start */
	unsigned long waits;    /* acquisitions that had to wait for a free slot */
};

/*
 * pool_create — a pool of `size` slots for the directory of `cfg`
 * (borrowed: must outlive the pool). Connects nothing yet. Returns a NEW
 * pool (free with pool_destroy) or NULL on allocation failure.
 */
struct pool *pool_create(const struct config *cfg, int size);

/* pool_destroy — unbind every handle and free the pool; NULL is fine. */
void pool_destroy(struct pool *pool);

/*
 * pool_acquire — a connected slot, waiting (up to the operation timeout)
 * for a free one. Returns a borrowed slot to give back with pool_release,
 * or NULL with *err = 503 "directory unavailable" when the directory
 * cannot be reached (or the slot is in backoff).
 */
struct pool_conn *pool_acquire(struct pool *pool, struct rb_error *err);

/*
 * pool_release — give a slot back. `broken` = the last operation failed
 * with a connection-level error (LDAP_SERVER_DOWN, LDAP_TIMEOUT, …): the
 * handle is dropped and reconnected on next use.
 */
void pool_release(struct pool *pool, struct pool_conn *conn, bool broken);

/* pool_rc_is_connection_error — true for result codes that mean the handle is unusable. */
bool pool_rc_is_connection_error(int rc);

/*
 * pool_ping — a base search of the root DSE on the pool's own probe
 * connection (never a SCIM slot): 0 if the directory answers, -1 (with
 * *err 503) if not. A probe made while another is in flight returns that
 * one's last result at once. Used by /readyz.
 */
int pool_ping(struct pool *pool, struct rb_error *err);

/*
 * pool_check_password — a simple bind as `dn` with `password` (both
 * borrowed) on a fresh handle of its own (TLS as configured), closed at
 * once: the person's own credentials, checked by slapd (its ACLs, ppolicy
 * lockout, rbBindLocked). 0; -1 with *err 401 (any refusal, one message;
 * an empty password is refused here, never sent as an unauthenticated
 * bind) or 503 (directory unreachable).
 */
int pool_check_password(struct pool *pool, const char *dn, const char *password,
                        struct rb_error *err);

/*
 * pool_connect_new — a handle of its own, outside the slots, connected and
 * bound as the service account like a slot's (TLS, timeouts as
 * configured). Returns a NEW handle (the caller unbinds it with
 * ldap_unbind_ext_s), or NULL (logged) when the directory cannot be reached
 * or refuses the bind. For a long-lived search that must not hold a slot
 * (grouptab.c's sync search).
 */
LDAP *pool_connect_new(const struct pool *pool);

/* pool_stats — a snapshot of the pool's state (for /metrics). */
void pool_get_stats(struct pool *pool, struct pool_stats *out);

/* pool_timeout — the operation timeout as a struct timeval (for ldap_search_ext_s …). */
struct timeval pool_timeout(const struct pool *pool);

#endif /* RB_POOL_H */
