/*
 * config.h — the daemon's configuration file.
 *
 * Format: one directive per line, `name value…`; `#` starts a comment;
 * blank lines ignored; values may be double-quoted. Scalar settings are
 * rows of one table (name, type, bounds, default) in config.c; `tenant`
 * and `token` directives repeat. Every error names `file:line`.
 *
 *   listen 127.0.0.1:8080
 *   ldap_uri ldap://127.0.0.1:3389
 *   ldap_bind_dn cn=rosterbridge,dc=example,dc=org
 *   ldap_bind_password_file /etc/rosterbridge/ldap.secret
 *   ldap_suffix dc=example,dc=org
 *   tenant demo
 *   token sha256:<64 hex> tenant=demo source=okta rights=write [passwords=yes]
 *         [invite=yes|LOGIN]   (source=in-product rights=write only)
 */
#ifndef RB_CONFIG_H
#define RB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define CONFIG_NAME_MAX 64
#define CONFIG_SHA256_LEN 32

enum token_rights { TOKEN_READ = 1, TOKEN_WRITE = 3 /* write implies read */ };

struct config_tenant {
	char name[CONFIG_NAME_MAX]; /* [a-z0-9-]+, also the `o=` RDN value */
};

struct config_token {
	unsigned char sha256[CONFIG_SHA256_LEN];
	const struct config_tenant *tenant; /* borrowed from config.tenants */
	char source[CONFIG_NAME_MAX];       /* [a-z0-9-]+ (an LDAP attribute option) */
	enum token_rights rights;
	bool passwords; /* passwords=yes: may set a person's password (default no) */
	/*
	 * invite=: may use the invitations API (source in-product, rights write
	 * only): "" no (default); "yes" with the whole tenant as its ceiling; or
	 * the login (uid or e-mail) of the administrator on whose behalf it
	 * invites, whose grants are its ceiling.
	 */
	char invite[256];
	int line; /* where it was declared, for messages */
};

struct config {
	char *path; /* the file it was read from */
	/* HTTP */
	char *listen_host;
	int listen_port;
	char *base_url;               /* e.g. http://127.0.0.1:8080; derived from listen if unset */
	int workers;                  /* threads running SCIM requests = LDAP connections */
	int http_threads;             /* MHD event threads */
	int request_queue_max;        /* requests waiting for a worker */
	int request_queue_timeout_ms; /* longest wait for a worker (503 beyond) */
	int connection_limit;
	int connection_timeout_s;
	long max_body_bytes;
	int per_ip_connection_limit; /* simultaneous connections from one address */
	int request_timeout_s;       /* headers + body of one request within this */
	char *tls_cert_file;
	char *tls_key_file;
	/* LDAP */
	char *ldap_uri;
	char *ldap_bind_dn;
	char *ldap_bind_password; /* secret: never log */
	char *ldap_suffix;
	int ldap_timeout_ms;
	bool ldap_starttls;     /* StartTLS on ldap:// (never a cleartext fallback) */
	bool ldap_tls;          /* derived: StartTLS or ldaps:// */
	char *ldap_tls_ca_file; /* PEM CA certificates that sign the directory's */
	/* SCIM */
	int max_results;    /* cap on a filter's result set (tooMany beyond) */
	int max_candidates; /* inexact filters: candidates checked per request, + 10 per result */
	int default_count;  /* page size when the client gives none */
	int max_count;      /* largest page served */
	int bulk_max_operations;
	long bulk_max_payload;
	bool strict_attributes;  /* unknown attributes: 400 (yes) or ignored+logged (no) */
	int retention_days;      /* deprovisioned people kept disabled this long */
	int guard_share_percent; /* mass-deprovision guard: share of a source's people per window
	                            (0: off) */
	int guard_window_s;      /* … the window */
	int guard_min;           /* … removals per window always allowed */
	int guard_hold_days; /* … a held removal not decided this long is dropped (0: never) */
	int guard_lease_max; /* … removals reserved in one write at most (1: no reservations) */
	int guard_lease_idle_s; /* … an unspent reservation is given back after this long idle */
	bool group_table;       /* grouptab.c: groups kept in the daemon (restart to change) */
	int repair_interval_s;  /* access.c: pending role-group changes finished this often */
	char *log_level;
	/* console and invitation e-mail (issue 13) */
	int console_session_idle_s; /* a session unused this long is over */
	int console_session_max_s;  /* a session is over this long after sign-in */
	char *smtp_host;            /* NULL: no mail is sent (invitations stay queued) */
	int smtp_port;
	char *smtp_tls; /* "starttls" (required), "tls" (implicit, smtps) or "none" */
	char *smtp_user;
	char *smtp_password; /* secret: never log */
	char *smtp_from;
	char *smtp_ca_file;
	int smtp_timeout_s;
	int invite_expiry_hours;
	int mail_retry_min_s; /* first retry delay; doubles per attempt */
	int mail_retry_max_s; /* largest retry delay */
	/* tenants and tokens */
	struct config_tenant *tenants;
	size_t ntenants;
	struct config_token *tokens;
	size_t ntokens;
};

/*
 * config_load — read and check the file at `path`. Returns a NEW config
 * (free with config_free), or NULL with err->detail = "file:line: what is
 * wrong" (status 0 stays unset for non-HTTP errors: callers print detail).
 */
struct config *config_load(const char *path, struct rb_error *err);

/* config_free — free a config from config_load; NULL is fine. */
void config_free(struct config *cfg);

/* config_tenant_find — the tenant named `name`, or NULL. Borrowed. */
const struct config_tenant *config_tenant_find(const struct config *cfg, const char *name);

/*
 * config_token_find — the token whose SHA-256 equals that of `token`
 * (`len` bytes), comparing every configured hash in constant time; or
 * NULL. Borrowed.
 */
const struct config_token *config_token_find(const struct config *cfg, const char *token,
                                             size_t len);

/* config_sha256_hex — write the lowercase hex SHA-256 of data into out[65]. */
int config_sha256_hex(const void *data, size_t len, char out[65]);

#endif /* RB_CONFIG_H */
