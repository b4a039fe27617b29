/*
 * cli.h — rosterctl, the operator's SCIM client of the daemon (SPEC §5).
 *
 * rosterctl talks to a running rosterbridge over HTTP (libcurl), as the
 * tenant and source its token names — normally the `in-product` source,
 * the one SPEC §1 gives to the console and the CLI. It never opens the
 * directory itself: `tenant create` prints the LDIF an operator applies
 * with ldapadd (the one seam to LDAP, kept in tenant.c).
 *
 * Module map
 *   main.c      global options, configuration (flags > environment >
 *               ~/.config/rosterctl/config > defaults), the verb table,
 *               exit codes
 *   opts.c      the option parser every verb uses (--name, --name=value)
 *   client.c    libcurl: one SCIM request, paging through a list, error
 *               texts that say what to do next
 *   output.c    rows as a table (terminal), CSV or JSON
 *   csv.c       RFC 4180 reader and writer
 *   progress.c  the progress bar (terminal only: rate, ETA)
 *   admins.c    admins list|show|add|edit|remove|invite|resend (the last
 *               two through the daemon's invitations API, /Invitations)
 *   schools.c   schools list|add|edit|remove|import
 *   groups.c    groups list|show
 *   regions.c   regions list|add|edit|remove (partnership tenants)
 *   audit.c     audit USERNAME (the audit trail, through /operator/v1)
 *   import.c    import admins|schools FILE.csv (/Bulk batches, resumable)
 *   export.c    export (CSV, JSON, LDIF)
 *   report.c    report stale|duplicates|multi-source
 *   token.c     token create            tenant.c   tenant create
 *   operator.c  retained list|restore, guard list|approve|reject (/operator/v1)
 *
 * Layers: src/lib (errors, strings, tokens) and src/engine (filter checks)
 * only; never src/dir or src/http (`make lint` checks).
 */
#ifndef RB_CLI_H
#define RB_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/error.h"

/* Exit codes (documented in rosterctl(1)). */
enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,      /* the daemon refused, or some rows were rejected */
	CLI_USAGE = 2,       /* bad command line or input file */
	CLI_CONFIG = 3,      /* no URL/token, unreadable or unsafe token file */
	CLI_UNREACHABLE = 4, /* the daemon did not answer */
	CLI_DENIED = 5,      /* 401/403: token missing, wrong or read-only */
	CLI_NOT_FOUND = 6,   /* no such administrator, school or group */
	CLI_CONFLICT = 7,    /* 409/412: exists already, or changed meanwhile */
	CLI_UNSUPPORTED = 8, /* the daemon does not offer this yet */
	CLI_INTERRUPTED = 9, /* an import stopped by a signal (resume it) */
};

/*
 * Errors are the one rb_error type; err.status is the HTTP status when the
 * daemon answered, else one of these (below 100, never an HTTP status).
 */
#define CLI_ERR_UNREACHABLE 1
#define CLI_ERR_CONFIG 2
#define CLI_ERR_USAGE 3
#define CLI_ERR_UNSUPPORTED 4
#define CLI_ERR_INTERRUPTED 5

enum cli_format { CLI_FORMAT_TABLE, CLI_FORMAT_CSV, CLI_FORMAT_JSON };

struct cli {
	char *url;            /* the daemon's base URL (scheme://host:port), owned */
	const char *url_from; /* static: "--url", "ROSTERCTL_URL", the config file, "default" */
	char *token;          /* secret, owned; loaded on the first request; never printed */
	char *token_file;     /* owned, or NULL */
	char *ca_file;        /* owned: CA certificates to trust for https://, or NULL */
	char *suffix;         /* owned: directory suffix (tenant create), or NULL */
	char *config_path;    /* owned: the config file read, or NULL */
	enum cli_format format;
	bool tty_out, tty_err; /* stdout / stderr are terminals */
	bool quiet;
	void *curl; /* CURL *, reused across requests (keep-alive); owned */
};

/* A verb: returns an enum cli_exit. argv[0] is the verb's own name. */
typedef int (*cli_verb_fn)(struct cli *c, int argc, char **argv);

/* main.c */
/* cli_exit_for — the exit code for an error (HTTP status or CLI_ERR_*). */
int cli_exit_for(const struct rb_error *err);
/* cli_fail — print "rosterctl: <detail>" on stderr and return cli_exit_for(err). */
int cli_fail(const struct rb_error *err);
/* cli_usage_error — print a usage error (and where to find help); returns CLI_USAGE. */
int cli_usage_error(const char *help_cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* opts.c — a verb's options. */
enum opt_kind { OPT_FLAG, OPT_VALUE };
struct cli_opt {
	const char *name; /* without the leading "--" */
	enum opt_kind kind;
	void *dest; /* OPT_FLAG: bool *; OPT_VALUE: const char ** (borrowed from argv) */
};
/*
 * opts_parse — parse argv[1..] against opts (terminated by a NULL name):
 * `--name`, `--name value`, `--name=value`, `--` ends options. The
 * positional arguments are moved to the front of argv[1..] and their count
 * stored in *npos. `--help`/`-h` sets *help. Returns 0, or CLI_USAGE after
 * printing what was wrong (help_cmd names the command for "--help").
 */
int opts_parse(int argc, char **argv, const struct cli_opt *opts, int *npos, bool *help,
               const char *help_cmd);
/* opts_yes_no — parse "yes"/"no"/"true"/"false"; -1 if neither. */
int opts_yes_no(const char *s);

/* client.c */
/*
 * client_request — one SCIM request: METHOD base/scim/v2 + path (path
 * already URL-encoded where needed) with an optional JSON body
 * (borrowed). On 2xx returns 0 and *out (if out is not NULL) a NEW
 * reference to the parsed body (NULL for an empty one). Otherwise -1
 * with *err: the HTTP status and the daemon's detail, or CLI_ERR_* with
 * what to do next.
 */
int client_request(struct cli *c, const char *method, const char *path, const json_t *body,
                   json_t **out, struct rb_error *err);
/*
 * client_remove — DELETE `endpoint`/<id of `found`> (a resource the verb
 * looked up, borrowed) and say "removed <what> <name> (id <id>)" unless
 * quiet. Returns CLI_OK, or cli_fail's exit code.
 */
int client_remove(struct cli *c, const char *endpoint, const char *what, const json_t *found);
/*
 * client_operator — client_request to the daemon's /operator/v1 + path
 * (retained people, held removals; an in-product token), same contract.
 */
int client_operator(struct cli *c, const char *method, const char *path, const json_t *body,
                    json_t **out, struct rb_error *err);
/*
 * client_list — every resource of `endpoint` ("Users") matching `filter`
 * (a SCIM filter, or NULL), following the pages. Returns a NEW array, or
 * NULL with *err.
 */
json_t *client_list(struct cli *c, const char *endpoint, const char *filter, struct rb_error *err);
/* client_list_q — client_list with more query parameters (`query`, already encoded). */
json_t *client_list_q(struct cli *c, const char *endpoint, const char *filter, const char *query,
                      struct rb_error *err);
/*
 * client_find — the one resource of `endpoint` named by `key`: an id, or
 * else the value of `attr` ("userName", "externalId", "displayName"…)
 * matched with eq. NEW reference, or NULL with *err (404 when none).
 */
json_t *client_find(struct cli *c, const char *endpoint, const char *attr, const char *key,
                    struct rb_error *err);
/* client_escape — URL-encode s. NEW malloc'd string, or NULL. */
char *client_escape(struct cli *c, const char *s);
/* client_filter_eq — the SCIM filter `attr eq "value"` (value quoted as JSON). NEW string. */
char *client_filter_eq(const char *attr, const char *value);
/* client_cleanup — free the curl handle. */
void client_cleanup(struct cli *c);

/* output.c — rows: a JSON array of arrays of strings, in the order of cols. */
/*
 * output_rows — print rows with headers cols[ncols] in c->format (table:
 * aligned columns; CSV: header + rows; JSON: `full` if given — the
 * resources as the daemon answered — else objects keyed by column).
 * Borrowed arguments.
 */
void output_rows(const struct cli *c, const char *const *cols, size_t ncols, const json_t *rows,
                 const json_t *full);
/* output_record — one resource as "key: value" lines (table) or JSON/CSV. Borrowed. */
void output_record(const struct cli *c, const char *const *keys, size_t nkeys, const json_t *values,
                   const json_t *full);
/* output_json — print `v` as indented JSON on stdout. Borrowed. */
void output_json(const json_t *v);

/* csv.c */
struct csv_reader;
/* csv_open — read CSV from `path` ("-" = stdin). NEW reader, or NULL with *err. */
struct csv_reader *csv_open(const char *path, struct rb_error *err);
/*
 * csv_next — the next record: a NEW array of strings (json_decref), or
 * NULL at the end of the input (err unset) or on a malformed record (err
 * set, naming the line). *line is the record's first line number.
 */
json_t *csv_next(struct csv_reader *r, long *line, struct rb_error *err);
/* csv_offset — the byte offset just after the last record read. */
long csv_offset(const struct csv_reader *r);
/* csv_line — the line number the next record starts on. */
long csv_line(const struct csv_reader *r);
/* csv_seek — continue reading at byte `offset` at line `line`. 0, or -1. */
int csv_seek(struct csv_reader *r, long offset, long line);
void csv_close(struct csv_reader *r);
/* csv_write_field — one field, quoted when needed (RFC 4180); `last` ends the record. */
void csv_write_field(FILE *f, const char *s, bool last);

/* progress.c — a one-line bar on stderr when it is a terminal; nothing otherwise. */
struct progress;
/* progress_start — NEW bar for `total` units (0: unknown), or NULL when not enabled. */
struct progress *progress_start(bool enabled, long total, const char *what);
/* progress_update — `done` units so far; redraws at most ten times a second. NULL ok. */
void progress_update(struct progress *p, long done);
/* progress_end — final redraw, newline, free. NULL ok. */
void progress_end(struct progress *p, long done);

/* json helpers (client.c) */
/* json_str — the string at `key` of obj (case-insensitive), or "" . Borrowed. */
const char *json_str(const json_t *obj, const char *key);
/* json_get_ci — member `key` of obj, case-insensitively; NULL if none. Borrowed. */
json_t *json_get_ci(const json_t *obj, const char *key);

#define SCIM_USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_ADMIN_SCHEMA "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User"
#define SCIM_SCHOOL_SCHEMA "urn:rosterbridge:params:scim:schemas:core:2.0:School"
#define SCIM_REGION_SCHEMA "urn:rosterbridge:params:scim:schemas:core:2.0:Region"
#define SCIM_PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_BULK_SCHEMA "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

/* The verbs. */
int retained_main(struct cli *c, int argc, char **argv);
int guard_main(struct cli *c, int argc, char **argv);
int admins_main(struct cli *c, int argc, char **argv);
int schools_main(struct cli *c, int argc, char **argv);
int groups_main(struct cli *c, int argc, char **argv);
int regions_main(struct cli *c, int argc, char **argv);
int audit_main(struct cli *c, int argc, char **argv);
int import_main(struct cli *c, int argc, char **argv);
int export_main(struct cli *c, int argc, char **argv);
int report_main(struct cli *c, int argc, char **argv);
int token_main(struct cli *c, int argc, char **argv);
int tenant_main(struct cli *c, int argc, char **argv);

/* admins.c — shared with export/report: one administrator as table columns. */
extern const char *const admins_cols[];
extern const size_t admins_ncols;
/* admins_row — the row of admins_cols for a User resource. NEW array. */
json_t *admins_row(const json_t *user);
/* admins_sources — the distinct grant sources of a user, comma-separated, into a NEW string. */
char *admins_sources(const json_t *user);

/*
 * admins_school_refs — "a,b;c" (ids, externalIds or names, split on ',' or
 * ';') as a NEW array of what the daemon accepts: names (matched
 * case-insensitively against `schools`, borrowed) become ids.
 */
json_t *admins_school_refs(const char *list, const json_t *schools);

/* export.c — LDIF (RFC 2849) writing, shared with tenant.c. */
/* ldif_attr — "name: value" (or "name:: base64"); an empty or NULL value writes nothing. */
void ldif_attr(FILE *f, const char *name, const char *value);
/* ldif_dn_value — v escaped as an RFC 4514 attribute value. NEW string. */
char *ldif_dn_value(const char *v);

/* import.c — `schools import FILE` is `import schools FILE`. */
int import_schools(struct cli *c, int argc, char **argv);

#endif /* RB_CLI_H */
