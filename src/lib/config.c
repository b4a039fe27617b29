/*
 * config.c — the daemon's configuration file; see config.h.
 *
 * Scalar settings are rows of `config_table` (name, type, bounds, default,
 * where in struct config it lives), in the manner of Redis's config.c; the
 * repeated directives `tenant` and `token` have their own parsers. Every
 * error is "file:line: what is wrong".
 */
#include "lib/config.h"
#include "lib/token.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CONFIG_MAX_ARGS 8
#define CONFIG_LINE_MAX 4096

/*
 * CT_FILE: a path, readable when the file is loaded; CT_CA_FILE: a path to
 * PEM certificates (checked with GnuTLS, so a wrong file is a file:line
 * error and not a TLS failure at the first connection).
 */
enum config_type {
	CT_STRING,
	CT_INT,
	CT_LONG,
	CT_BOOL,
	CT_HOSTPORT,
	CT_SECRET_FILE,
	CT_FILE,
	CT_KEY_FILE, /* a CT_FILE holding a private key: not open to others */
	CT_CA_FILE
};

struct config_row {
	const char *name;
	enum config_type type;
	size_t offset; /* in struct config (for CT_HOSTPORT: listen_host) */
	long min, max;
	const char *def; /* default as text; NULL = no default (unset) */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct config_row config_table[] = {
    {"listen", CT_HOSTPORT, OFF(listen_host), 1, 65535, "127.0.0.1:8080",
     "address:port the HTTP server listens on"},
    {"base_url", CT_STRING, OFF(base_url), 0, 0, NULL,
     "public base URL, used in meta.location (default http://<listen>)"},
    {"workers", CT_INT, OFF(workers), 1, 256, "4",
     "threads that run SCIM requests = LDAP connections"},
    {"http_threads", CT_INT, OFF(http_threads), 1, 64, "2",
     "HTTP event threads (read, authenticate, answer /healthz /readyz /metrics)"},
    {"request_queue_max", CT_INT, OFF(request_queue_max), 1, 100000, "256",
     "SCIM requests waiting for a worker (503 + Retry-After beyond)"},
    {"request_queue_timeout_ms", CT_INT, OFF(request_queue_timeout_ms), 10, 600000, "10000",
     "a request that waited this long for a worker is answered 503 + Retry-After"},
    {"connection_limit", CT_INT, OFF(connection_limit), 1, 100000, "4096",
     "simultaneous HTTP connections"},
    {"connection_timeout_s", CT_INT, OFF(connection_timeout_s), 1, 3600, "60",
     "idle HTTP connection timeout"},
    {"max_body_bytes", CT_LONG, OFF(max_body_bytes), 1024, 1L << 30, "1048576",
     "largest request body accepted (413 beyond)"},
    {"per_ip_connection_limit", CT_INT, OFF(per_ip_connection_limit), 1, 100000, "64",
     "simultaneous HTTP connections from one client address"},
    {"request_timeout_s", CT_INT, OFF(request_timeout_s), 1, 3600, "30",
     "time to receive one whole request, headers and body (connection closed beyond)"},
    {"tls_cert_file", CT_FILE, OFF(tls_cert_file), 0, 0, NULL, "PEM certificate: serve HTTPS"},
    {"tls_key_file", CT_KEY_FILE, OFF(tls_key_file), 0, 0, NULL,
     "PEM private key for tls_cert_file"},
    {"ldap_uri", CT_STRING, OFF(ldap_uri), 0, 0, "ldap://127.0.0.1:3389", "directory URI"},
    {"ldap_bind_dn", CT_STRING, OFF(ldap_bind_dn), 0, 0, NULL, "service account DN"},
    {"ldap_bind_password", CT_STRING, OFF(ldap_bind_password), 0, 0, NULL,
     "service account password (prefer ldap_bind_password_file)"},
    {"ldap_bind_password_file", CT_SECRET_FILE, OFF(ldap_bind_password), 0, 0, NULL,
     "file holding the service account password"},
    {"ldap_suffix", CT_STRING, OFF(ldap_suffix), 0, 0, "dc=example,dc=org", "directory suffix"},
    {"ldap_timeout_ms", CT_INT, OFF(ldap_timeout_ms), 10, 600000, "5000",
     "timeout of one LDAP operation"},
    {"ldap_starttls", CT_BOOL, OFF(ldap_starttls), 0, 1, "no", "use StartTLS to the directory"},
    {"ldap_tls_ca_file", CT_CA_FILE, OFF(ldap_tls_ca_file), 0, 0, NULL,
     "PEM CA certificate(s) trusted for the directory (default: the system's)"},
    {"max_results", CT_INT, OFF(max_results), 1, 10000000, "100000",
     "largest filtered result set (tooMany beyond)"},
    {"max_candidates", CT_INT, OFF(max_candidates), 1, 10000000, "5000",
     "candidates a filter the directory cannot answer exactly may have per request, plus 10 per "
     "result up to the end of the page (tooMany beyond; never above max_results)"},
    {"default_count", CT_INT, OFF(default_count), 1, 100000, "100", "page size by default"},
    {"max_count", CT_INT, OFF(max_count), 1, 100000, "1000", "largest page served"},
    {"bulk_max_operations", CT_INT, OFF(bulk_max_operations), 1, 100000, "1000",
     "operations in one /Bulk request"},
    {"bulk_max_payload", CT_LONG, OFF(bulk_max_payload), 1024, 1L << 30, "1048576",
     "bytes in one /Bulk request"},
    {"strict_attributes", CT_BOOL, OFF(strict_attributes), 0, 1, "no",
     "unknown attributes in a body are 400 invalidSyntax (no: ignored, logged, counted)"},
    {"retention_days", CT_INT, OFF(retention_days), 0, 3650, "0",
     "days a deprovisioned person is kept disabled, invisible to SCIM (0: deleted at once)"},
    {"guard_share_percent", CT_INT, OFF(guard_share_percent), 0, 100, "50",
     "a source removing or suspending more than this share of its people in a window is held "
     "(0: no guard)"},
    {"guard_window_s", CT_INT, OFF(guard_window_s), 60, 31536000, "86400",
     "the mass-deprovision guard's window"},
    {"guard_min", CT_INT, OFF(guard_min), 0, 1000000, "2",
     "removals per window a source may always make, whatever the share (small tenants)"},
    {"guard_hold_days", CT_INT, OFF(guard_hold_days), 0, 3650, "7",
     "days a held removal waits for an operator; then it is dropped, not applied (0: never)"},
    {"guard_lease_max", CT_INT, OFF(guard_lease_max), 1, 1000, "32",
     "removals a bridge reserves in its window in one write, at most (1: each one written)"},
    {"guard_lease_idle_s", CT_INT, OFF(guard_lease_idle_s), 1, 86400, "2",
     "seconds a reservation sits unspent before the bridge gives it back to its window"},
    {"group_table", CT_BOOL, OFF(group_table), 0, 1, "yes",
     "keep every group's name and grants in the daemon, followed with a sync search (no: read "
     "a person's groups from the directory on every request)"},
    {"repair_interval_s", CT_INT, OFF(repair_interval_s), 1, 86400, "300",
     "seconds between repairs of role-group changes a stopped bridge left half done"},
    {"log_level", CT_STRING, OFF(log_level), 0, 0, "info", "debug, info, warn or error"},
    {"console_session_idle_s", CT_INT, OFF(console_session_idle_s), 60, 604800, "1800",
     "a console session unused this long ends"},
    {"console_session_max_s", CT_INT, OFF(console_session_max_s), 60, 2592000, "43200",
     "a console session ends this long after sign-in, used or not"},
    {"smtp_host", CT_STRING, OFF(smtp_host), 0, 0, NULL,
     "SMTP server for invitations (unset: invitations wait in the outbox)"},
    {"smtp_port", CT_INT, OFF(smtp_port), 1, 65535, "25", "SMTP port (587 submission, 465 tls)"},
    {"smtp_tls", CT_STRING, OFF(smtp_tls), 0, 0, "starttls",
     "starttls (required), tls (implicit TLS, smtps) or none"},
    {"smtp_user", CT_STRING, OFF(smtp_user), 0, 0, NULL, "SMTP AUTH user (unset: no AUTH)"},
    {"smtp_password_file", CT_SECRET_FILE, OFF(smtp_password), 0, 0, NULL,
     "file holding the SMTP AUTH password"},
    {"smtp_from", CT_STRING, OFF(smtp_from), 0, 0, NULL, "From address of invitations"},
    {"smtp_ca_file", CT_CA_FILE, OFF(smtp_ca_file), 0, 0, NULL,
     "PEM CA certificate(s) trusted for the SMTP server (default: the system's)"},
    {"smtp_timeout_s", CT_INT, OFF(smtp_timeout_s), 1, 600, "30", "timeout of one delivery"},
    {"invite_expiry_hours", CT_INT, OFF(invite_expiry_hours), 1, 8760, "72",
     "an invitation link works this long after it was sent"},
    {"mail_retry_min_s", CT_INT, OFF(mail_retry_min_s), 1, 3600, "30",
     "first retry of a failed delivery (doubling per attempt)"},
    {"mail_retry_max_s", CT_INT, OFF(mail_retry_max_s), 1, 86400, "3600",
     "longest wait between delivery attempts"},
    {NULL, CT_STRING, 0, 0, 0, NULL, NULL},
};

#define FIELD(cfg, row, T) ((T *)(void *)((char *)(cfg) + (row)->offset))

static bool
config_name_valid(const char *s)
{
	return token_name_valid(s) != 0; /* one rule for the daemon and rosterctl */
}

/* Split `line` in place into at most CONFIG_MAX_ARGS words; "…" quotes a word. */
static int
config_split(char *line, char **argv, int *argc, const char **why)
{
	char *p = line;

	*argc = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			return 0;
		if (*argc == CONFIG_MAX_ARGS) {
			*why = "too many words on the line";
			return -1;
		}
		if (*p == '"') {
			char *out = ++p;
			argv[(*argc)++] = out;
			while (*p && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*out++ = *p++;
			}
			if (*p != '"') {
				*why = "unterminated quoted value";
				return -1;
			}
			p++;
			*out = '\0';
			if (*p != '\0' && *p != ' ' && *p != '\t') {
				*why = "text right after a closing quote";
				return -1;
			}
			if (*p)
				p++;
			continue;
		}
		argv[(*argc)++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int
config_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
config_parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") ||
	    !strcasecmp(s, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") ||
	    !strcasecmp(s, "off")) {
		*out = false;
		return 0;
	}
	return -1;
}

/*
 * A secret (the configuration, a password or key file) must not be open
 * to others: the daemon refuses it, and the message says which chmod to
 * run. Group access is fine (root:rosterbridge 0640 as installed).
 * config_why_others is that reason; the caller adds the path and the chmod.
 */
static const char config_why_others[] = "readable or writable by others";

static bool
config_open_to_others(FILE *f)
{
	struct stat st;

	return fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != 0;
}

static char *
config_read_secret(const char *path, const char **why)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	char *secret;
	size_t n;

	if (f == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if (config_open_to_others(f)) {
		fclose(f);
		*why = config_why_others;
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		*why = "the file is empty";
		return NULL;
	}
	secret = strdup(buf);
	explicit_bzero(buf, sizeof(buf)); /* no copy left on the stack */
	return secret;
}

/* NULL if `path` can be opened for reading, else why not. */
static const char *
config_check_readable(const char *path)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return strerror(errno);
	fclose(f);
	return NULL;
}

/* NULL if `path` holds at least one PEM certificate, else why not. */
static const char *
config_check_ca_file(const char *path)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned int i, n = 0;
	const char *why = config_check_readable(path);

	if (why != NULL)
		return why;
	if (gnutls_load_file(path, &data) < 0)
		return "cannot read the file";
	if (gnutls_x509_crt_list_import2(&crts, &n, &data, GNUTLS_X509_FMT_PEM, 0) < 0 || n == 0)
		why = "no PEM certificate in the file";
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(data.data);
	return why;
}

/*
 * Whether the URI list (space- or comma-separated, as libldap takes it)
 * is all ldaps:// (1), all something else (0), or a mix (-1): a mix would
 * let a failover go to the directory in cleartext.
 */
static int
config_uri_ldaps(const char *uris)
{
	int ldaps = 0, other = 0;
	const char *p = uris;

	while (*p) {
		size_t n;
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (n >= 8 && !strncasecmp(p, "ldaps://", 8))
			ldaps++;
		else
			other++;
		p += n;
	}
	if (ldaps > 0 && other > 0)
		return -1;
	return ldaps > 0;
}

/*
 * Whether the field of `row` holds a secret: some row of the table (the
 * password and the password file name the same field) reads it from a
 * secret file. Such a field is zeroed before it is freed, whichever row
 * set it and whichever row comes first in the table.
 */
static bool
config_field_secret(const struct config_row *row)
{
	const struct config_row *r;

	for (r = config_table; r->name; r++)
		if (r->offset == row->offset && r->type == CT_SECRET_FILE)
			return true;
	return false;
}

/* Free a string field, zeroing it first when it holds a secret. */
static void
config_field_free(const struct config_row *row, char **field)
{
	if (*field != NULL && config_field_secret(row))
		explicit_bzero(*field, strlen(*field));
	free(*field);
	*field = NULL;
}

/* Apply one scalar row; returns NULL or the reason it failed. */
static const char *
config_apply_row(struct config *cfg, const struct config_row *row, const char *value)
{
	long v;
	const char *why = NULL;

	switch (row->type) {
	case CT_STRING:
	case CT_FILE:
	case CT_KEY_FILE:
	case CT_CA_FILE: {
		char **field = FIELD(cfg, row, char *);
		if (row->type == CT_FILE || row->type == CT_KEY_FILE)
			why = config_check_readable(value);
		if (why == NULL && row->type == CT_KEY_FILE) {
			FILE *kf = fopen(value, "r");
			if (kf != NULL && config_open_to_others(kf))
				why = config_why_others;
			if (kf != NULL)
				fclose(kf);
		} else if (row->type == CT_CA_FILE)
			why = config_check_ca_file(value);
		if (why != NULL)
			return why;
		config_field_free(row, field);
		*field = strdup(value);
		return *field ? NULL : "out of memory";
	}
	case CT_SECRET_FILE: {
		char **field = FIELD(cfg, row, char *);
		char *secret = config_read_secret(value, &why);
		if (secret == NULL)
			return why;
		config_field_free(row, field);
		*field = secret;
		return NULL;
	}
	case CT_INT:
		if (config_parse_long(value, row->min, row->max, &v) < 0)
			return "expected a whole number within bounds";
		*FIELD(cfg, row, int) = (int)v;
		return NULL;
	case CT_LONG:
		if (config_parse_long(value, row->min, row->max, &v) < 0)
			return "expected a whole number within bounds";
		*FIELD(cfg, row, long) = v;
		return NULL;
	case CT_BOOL:
		if (config_parse_bool(value, FIELD(cfg, row, bool)) < 0)
			return "expected yes or no";
		return NULL;
	case CT_HOSTPORT: {
		const char *colon = strrchr(value, ':');
		char *host;
		if (colon == NULL || colon == value)
			return "expected address:port";
		if (config_parse_long(colon + 1, row->min, row->max, &v) < 0)
			return "expected a port from 1 to 65535 after ':'";
		host = strndup(value, (size_t)(colon - value));
		if (host == NULL)
			return "out of memory";
		free(cfg->listen_host);
		cfg->listen_host = host;
		cfg->listen_port = (int)v;
		return NULL;
	}
	}
	return "unknown setting type";
}

static const char *
config_add_tenant(struct config *cfg, int argc, char **argv)
{
	struct config_tenant *t;

	if (argc != 2)
		return "usage: tenant NAME";
	if (!config_name_valid(argv[1]))
		return "a tenant name is 1-63 of a-z, 0-9 and '-'";
	if (config_tenant_find(cfg, argv[1]) != NULL)
		return "tenant declared twice";
	t = realloc(cfg->tenants, (cfg->ntenants + 1) * sizeof(*t));
	if (t == NULL)
		return "out of memory";
	cfg->tenants = t;
	snprintf(t[cfg->ntenants].name, sizeof(t->name), "%s", argv[1]);
	cfg->ntenants++;
	return NULL;
}

static int
config_hex_decode(const char *hex, unsigned char *out, size_t outlen)
{
	size_t i;

	if (strlen(hex) != outlen * 2)
		return -1;
	for (i = 0; i < outlen; i++) {
		int hi = isxdigit((unsigned char)hex[2 * i]),
		    lo = isxdigit((unsigned char)hex[2 * i + 1]);
		char pair[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
		if (!hi || !lo)
			return -1;
		out[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	return 0;
}

/*
 * token sha256:HEX tenant=NAME source=NAME rights=read|write [passwords=yes|no]
 *       [invite=yes|no|LOGIN]
 * — tenant names resolved later. passwords=yes lets the token set `password`
 * (default no: 403 mutability). invite= opens the invitations API to it.
 */
struct config_pending_token {
	char tenant[CONFIG_NAME_MAX];
};

static const char *
config_add_token(struct config *cfg, int argc, char **argv, int line,
                 struct config_pending_token **pending)
{
	struct config_token tok;
	struct config_token *arr;
	struct config_pending_token *parr;
	char tenant[CONFIG_NAME_MAX] = "";
	int i;

	memset(&tok, 0, sizeof(tok));
	tok.rights = 0;
	tok.line = line;
	if (argc < 2 || strncmp(argv[1], "sha256:", 7) != 0)
		return "usage: token sha256:<64 hex digits> tenant=NAME source=NAME "
		       "rights=read|write "
		       "(`rosterbridge -H TOKEN` prints the hash)";
	if (config_hex_decode(argv[1] + 7, tok.sha256, sizeof(tok.sha256)) < 0)
		return "the token hash must be sha256: and 64 hex digits";
	for (i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *val = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (klen == 6 && !strncmp(argv[i], "tenant", 6)) {
			if (!config_name_valid(val))
				return "tenant= must name a tenant (a-z, 0-9, '-')";
			snprintf(tenant, sizeof(tenant), "%s", val);
		} else if (klen == 6 && !strncmp(argv[i], "source", 6)) {
			if (!config_name_valid(val))
				return "source= is 1-63 of a-z, 0-9 and '-' (e.g. okta, entra, "
				       "clever)";
			snprintf(tok.source, sizeof(tok.source), "%s", val);
		} else if (klen == 6 && !strncmp(argv[i], "rights", 6)) {
			if (!strcmp(val, "read"))
				tok.rights = TOKEN_READ;
			else if (!strcmp(val, "write"))
				tok.rights = TOKEN_WRITE;
			else
				return "rights= must be read or write";
		} else if (klen == 9 && !strncmp(argv[i], "passwords", 9)) {
			if (!strcmp(val, "yes"))
				tok.passwords = true;
			else if (!strcmp(val, "no"))
				tok.passwords = false;
			else
				return "passwords= must be yes or no";
		} else if (klen == 6 && !strncmp(argv[i], "invite", 6)) {
			size_t j, n = strlen(val);
			if (n == 0 || n >= sizeof(tok.invite))
				return "invite= must be yes, no, or the login (uid or e-mail) of "
				       "the administrator the token invites for";
			for (j = 0; j < n; j++)
				if ((unsigned char)val[j] <= ' ' || (unsigned char)val[j] >= 127)
					return "invite=: a login of printable ASCII";
			snprintf(tok.invite, sizeof(tok.invite), "%s",
			         strcmp(val, "no") ? val : "");
		} else {
			return "unknown token option (expected tenant=, source=, rights=, "
			       "passwords=, invite=)";
		}
	}
	if (tenant[0] == '\0' || tok.source[0] == '\0' || tok.rights == 0)
		return "a token needs tenant=, source= and rights=";
	if (tok.invite[0] != '\0' &&
	    (strcmp(tok.source, "in-product") || tok.rights != TOKEN_WRITE))
		return "invite= is for a token of source=in-product with rights=write (the "
		       "invitation's grant is an in-product one)";
	/*
	 * source=in-product is allowed: it is the token of rosterctl, the
	 * district operator's own tool (SPEC §1: in-product = console and CLI).
	 * The example configuration says to give it to the operator only.
	 */
	arr = realloc(cfg->tokens, (cfg->ntokens + 1) * sizeof(*arr));
	if (arr == NULL)
		return "out of memory";
	cfg->tokens = arr;
	parr = realloc(*pending, (cfg->ntokens + 1) * sizeof(*parr));
	if (parr == NULL)
		return "out of memory";
	*pending = parr;
	snprintf(parr[cfg->ntokens].tenant, sizeof(parr->tenant), "%s", tenant);
	arr[cfg->ntokens++] = tok;
	return NULL;
}

static int
config_defaults(struct config *cfg)
{
	const struct config_row *row;

	for (row = config_table; row->name; row++) {
		if (row->def == NULL)
			continue;
		if (config_apply_row(cfg, row, row->def) != NULL)
			return -1;
	}
	return 0;
}

struct config *
config_load(const char *path, struct rb_error *err)
{
	struct config *cfg = NULL;
	struct config_pending_token *pending = NULL;
	char line[CONFIG_LINE_MAX];
	char *argv[CONFIG_MAX_ARGS];
	int argc, lineno = 0;
	FILE *f = NULL;
	size_t i;

	f = fopen(path, "r");
	if (f == NULL) {
		error_set(err, 500, NULL, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if (config_open_to_others(f)) {
		error_set(err, 500, NULL,
		          "%s: the configuration is %s (it holds secrets): run `chmod o-rwx %s`",
		          path, config_why_others, path);
		goto fail;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (cfg->path = strdup(path)) == NULL || config_defaults(cfg) < 0) {
		error_set(err, 500, NULL, "%s: out of memory", path);
		goto fail;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		const struct config_row *row;
		const char *why = NULL;
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			error_set(err, 500, NULL, "%s:%d: line longer than %d bytes", path, lineno,
			          CONFIG_LINE_MAX - 2);
			goto fail;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (config_split(line, argv, &argc, &why) < 0) {
			error_set(err, 500, NULL, "%s:%d: %s", path, lineno, why);
			goto fail;
		}
		if (argc == 0)
			continue;
		if (!strcmp(argv[0], "tenant")) {
			why = config_add_tenant(cfg, argc, argv);
		} else if (!strcmp(argv[0], "token")) {
			why = config_add_token(cfg, argc, argv, lineno, &pending);
		} else {
			for (row = config_table; row->name; row++)
				if (!strcmp(row->name, argv[0]))
					break;
			if (row->name == NULL)
				why = "unknown directive (see conf/rosterbridge.conf.example)";
			else if (argc != 2)
				why = "expected exactly one value";
			else
				why = config_apply_row(cfg, row, argv[1]);
		}
		if (why == config_why_others) {
			error_set(err, 500, NULL, "%s:%d: %s: %s is %s: run `chmod o-rwx %s`", path,
			          lineno, argv[0], argv[1], why, argv[1]);
			goto fail;
		}
		if (why != NULL) {
			error_set(err, 500, NULL, "%s:%d: %s: %s", path, lineno, argv[0], why);
			goto fail;
		}
	}
	if (ferror(f)) {
		error_set(err, 500, NULL, "%s: read error", path);
		goto fail;
	}
	for (i = 0; i < cfg->ntokens; i++) {
		size_t j;
		cfg->tokens[i].tenant = config_tenant_find(cfg, pending[i].tenant);
		if (cfg->tokens[i].tenant == NULL) {
			error_set(err, 500, NULL,
			          "%s:%d: token: tenant %s is not declared (add `tenant %s`)", path,
			          cfg->tokens[i].line, pending[i].tenant, pending[i].tenant);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(cfg->tokens[j].sha256, cfg->tokens[i].sha256,
			            CONFIG_SHA256_LEN)) {
				error_set(err, 500, NULL, "%s:%d: token: same hash as line %d",
				          path, cfg->tokens[i].line, cfg->tokens[j].line);
				goto fail;
			}
	}
	if (cfg->ldap_bind_dn == NULL || cfg->ldap_bind_password == NULL) {
		error_set(
		    err, 500, NULL,
		    "%s: ldap_bind_dn and ldap_bind_password_file (or ldap_bind_password) are "
		    "required",
		    path);
		goto fail;
	}
	if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL)) {
		error_set(err, 500, NULL, "%s: tls_cert_file and tls_key_file go together", path);
		goto fail;
	}
	switch (config_uri_ldaps(cfg->ldap_uri)) {
	case -1:
		error_set(err, 500, NULL,
		          "%s: ldap_uri mixes ldaps:// and ldap:// URIs (a failover would be "
		          "cleartext)",
		          path);
		goto fail;
	case 1:
		if (cfg->ldap_starttls) {
			error_set(err, 500, NULL,
			          "%s: ldap_starttls yes with an ldaps:// ldap_uri: ldaps:// is "
			          "already TLS (set ldap_starttls no)",
			          path);
			goto fail;
		}
		cfg->ldap_tls = true;
		break;
	default:
		cfg->ldap_tls = cfg->ldap_starttls;
		break;
	}
	if (cfg->ldap_tls_ca_file != NULL && !cfg->ldap_tls) {
		error_set(err, 500, NULL,
		          "%s: ldap_tls_ca_file is set but the directory connection is cleartext "
		          "(use an ldaps:// ldap_uri or ldap_starttls yes)",
		          path);
		goto fail;
	}
	if (cfg->ntenants == 0) {
		error_set(err, 500, NULL, "%s: no tenant declared (add a `tenant NAME` line)",
		          path);
		goto fail;
	}
	if (cfg->default_count > cfg->max_count) {
		error_set(err, 500, NULL, "%s: default_count is larger than max_count", path);
		goto fail;
	}
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error")) {
		error_set(err, 500, NULL, "%s: log_level must be debug, info, warn or error", path);
		goto fail;
	}
	if (strcmp(cfg->smtp_tls, "starttls") && strcmp(cfg->smtp_tls, "tls") &&
	    strcmp(cfg->smtp_tls, "none")) {
		error_set(err, 500, NULL, "%s: smtp_tls must be starttls, tls or none", path);
		goto fail;
	}
	if (cfg->smtp_host != NULL && cfg->smtp_from == NULL) {
		error_set(err, 500, NULL, "%s: smtp_host is set but smtp_from is not", path);
		goto fail;
	}
	if ((cfg->smtp_user == NULL) != (cfg->smtp_password == NULL)) {
		error_set(err, 500, NULL, "%s: smtp_user and smtp_password_file go together", path);
		goto fail;
	}
	if (cfg->mail_retry_min_s > cfg->mail_retry_max_s) {
		error_set(err, 500, NULL, "%s: mail_retry_min_s is larger than mail_retry_max_s",
		          path);
		goto fail;
	}
	if (cfg->base_url == NULL) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s://%s:%d", cfg->tls_cert_file ? "https" : "http",
		         cfg->listen_host, cfg->listen_port);
		cfg->base_url = strdup(buf);
	}
	for (i = strlen(cfg->base_url); i > 0 && cfg->base_url[i - 1] == '/'; i--)
		cfg->base_url[i - 1] = '\0';
	fclose(f);
	free(pending);
	return cfg;
fail:
	if (f != NULL)
		fclose(f);
	free(pending);
	config_free(cfg);
	return NULL;
}

void
config_free(struct config *cfg)
{
	const struct config_row *row;

	if (cfg == NULL)
		return;
	for (row = config_table; row->name; row++) {
		if (row->type == CT_STRING || row->type == CT_SECRET_FILE ||
		    row->type == CT_HOSTPORT || row->type == CT_FILE || row->type == CT_KEY_FILE ||
		    row->type == CT_CA_FILE) {
			config_field_free(row, FIELD(cfg, row, char *));
		}
	}
	free(cfg->path);
	free(cfg->tenants);
	free(cfg->tokens);
	free(cfg);
}

const struct config_tenant *
config_tenant_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ntenants; i++)
		if (!strcmp(cfg->tenants[i].name, name))
			return &cfg->tenants[i];
	return NULL;
}

const struct config_token *
config_token_find(const struct config *cfg, const char *token, size_t len)
{
	unsigned char digest[CONFIG_SHA256_LEN];
	const struct config_token *found = NULL;
	size_t i, j;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, len, digest) < 0)
		return NULL;
	/* Every hash is compared in full, whatever matched: constant time in the token. */
	for (i = 0; i < cfg->ntokens; i++) {
		unsigned char diff = 0;
		for (j = 0; j < CONFIG_SHA256_LEN; j++)
			diff |= (unsigned char)(digest[j] ^ cfg->tokens[i].sha256[j]);
		if (diff == 0)
			found = &cfg->tokens[i];
	}
	return found;
}

int
config_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char digest[CONFIG_SHA256_LEN];
	size_t i;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, digest) < 0)
		return -1;
	for (i = 0; i < CONFIG_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return 0;
}
