/*
 * import.c — `rosterctl import admins|schools FILE.csv`.
 *
 * Behaviour
 *   - The first record is the header; column names are matched
 *     case-insensitively and an unknown column is refused (a typo would
 *     otherwise drop data silently). The columns are in rosterctl(1).
 *   - Every row is checked here first (required columns, allowed values,
 *     schools that exist in the tenant); a row that fails is rejected
 *     without being sent. --dry-run stops there: nothing is written.
 *   - Rows go to the daemon as /Bulk requests of --batch operations
 *     (clamped to the daemon's advertised maxOperations). Administrators
 *     are POSTed; one that exists already (409 uniqueness on userName) is
 *     looked up and PATCHed to carry this source's grant as the row says —
 *     so running an import twice changes nothing the second time. Schools
 *     that exist (same externalId, or same name without one) are PATCHed.
 *   - Resumable: after each batch the byte offset and line reached are
 *     written to the state file (FILE.rosterctl-state unless --state);
 *     the same command run again continues there (--restart ignores it).
 *     The state file is removed when the import completes. SIGINT/SIGTERM
 *     finish the batch in flight, write the state and exit 9.
 *   - Each rejected row is reported on stderr as FILE:LINE: key: why; with
 *     --report OUT.csv every row's outcome (line,key,result,detail).
 *   - A progress bar (rows, %, rows/s, ETA) on stderr when it is a
 *     terminal; none when it is not.
 * Exit: 0 all rows imported; 1 some rows rejected; 9 interrupted; else
 * the error's code (4: daemon unreachable, 5: token refused…).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/strbuf.h"

#define IMPORT_BATCH_DEFAULT 100
#define IMPORT_FIND_CHUNK 25

static const char import_help[] =
    "usage: rosterctl import admins FILE.csv [--dry-run] [--batch N] [--state FILE]\n"
    "                 [--restart] [--report OUT.csv]\n"
    "       rosterctl import schools FILE.csv [same options]\n"
    "\n"
    "admins columns (header row, any order, case-insensitive):\n"
    "  userName (required), email (default: userName), givenName, familyName,\n"
    "  permission (view|manage, default view), scope (school|district|region|\n"
    "  partnership, default school), schools (ids, SIS ids or names, separated\n"
    "  by ';'), region, canManageAdmins (yes|no), externalId, active (yes|no)\n"
    "schools columns: name (required), externalId, region, active (yes|no)\n"
    "\n"
    "Existing administrators (same userName) and schools (same externalId, or\n"
    "name) are updated, so an import can be run again. An interrupted import\n"
    "continues where it stopped when run again (state in FILE.rosterctl-state).\n"
    "Exit 0: every row imported; 1: some rows rejected (listed on stderr);\n"
    "9: interrupted (run it again).\n";

enum import_kind { IMPORT_ADMINS, IMPORT_SCHOOLS };

static const char *const admin_columns[] = {
    "userName", "email",  "givenName",       "familyName", "permission", "scope",
    "schools",  "region", "canManageAdmins", "externalId", "active",     NULL};
static const char *const school_columns[] = {"name", "externalId", "region", "active", NULL};

/* One row on its way: its line, key (userName / name), and the JSON to send. */
struct import_row {
	long line;
	char *key;
	json_t *post;  /* the resource to POST */
	json_t *patch; /* the PatchOp to send if it exists already */
	char *id;      /* known existing id (schools), or NULL */
};

struct import {
	struct cli *c;
	enum import_kind kind;
	const char *path;
	const char *const *columns;
	int colidx[16];  /* column → index in the record, or -1 */
	json_t *schools; /* the tenant's schools (borrowed by rows' checks) */
	bool dry_run;
	long batch;
	FILE *report;
	struct progress *bar;
	long total, done, created, updated, rejected;
};

static volatile sig_atomic_t import_stop;

/* A bulk operation's status string ("201") as a number; 0 if not one. */
static int
import_status(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return end != s && v > 0 && v < 1000 ? (int)v : 0;
}

static void
import_on_signal(int sig)
{
	(void)sig;
	import_stop = 1;
}

/* Report one row's outcome: stderr for rejections, the report file for all. */
static void
import_outcome(struct import *im, long line, const char *key, const char *result,
               const char *detail)
{
	if (!strcmp(result, "rejected")) {
		im->rejected++;
		if (im->bar != NULL)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "%s:%ld: %s: rejected: %s\n", im->path, line,
		        key && *key ? key : "-", detail);
	} else if (!strcmp(result, "created")) {
		im->created++;
	} else if (!strcmp(result, "updated")) {
		im->updated++;
	}
	if (im->report != NULL) {
		char lbuf[32];
		snprintf(lbuf, sizeof(lbuf), "%ld", line);
		csv_write_field(im->report, lbuf, false);
		csv_write_field(im->report, key, false);
		csv_write_field(im->report, result, false);
		csv_write_field(im->report, detail, true);
	}
}

static const char *
import_field(const struct import *im, const json_t *rec, const char *col)
{
	int i;

	for (i = 0; im->columns[i] != NULL; i++)
		if (!strcmp(im->columns[i], col)) {
			const char *s =
			    im->colidx[i] >= 0
			        ? json_string_value(json_array_get(rec, (size_t)im->colidx[i]))
			        : NULL;
			return s ? s : "";
		}
	return "";
}

static int
import_header(struct import *im, const json_t *hdr)
{
	size_t i;
	int k;
	json_t *v;

	for (k = 0; im->columns[k] != NULL; k++)
		im->colidx[k] = -1;
	json_array_foreach(hdr, i, v)
	{
		const char *name = json_string_value(v);
		while (*name == ' ')
			name++;
		for (k = 0; im->columns[k] != NULL; k++)
			if (!strcasecmp(im->columns[k], name))
				break;
		if (im->columns[k] == NULL)
			return cli_usage_error("import", "%s:1: unknown column '%s'", im->path,
			                       name);
		im->colidx[k] = (int)i;
	}
	if (im->colidx[0] < 0)
		return cli_usage_error("import", "%s:1: the header has no '%s' column", im->path,
		                       im->columns[0]);
	return 0;
}

/* The school (borrowed) named by ref (id, externalId, name), or NULL. */
static const json_t *
import_school(const struct import *im, const char *ref)
{
	json_t *s;
	size_t i;

	json_array_foreach(im->schools, i, s)
	{
		if (!strcmp(json_str(s, "id"), ref) || !strcmp(json_str(s, "externalId"), ref) ||
		    !strcasecmp(json_str(s, "name"), ref))
			return s;
	}
	return NULL;
}

static void
import_patch_add(json_t *ops, const char *path, json_t *value)
{
	json_array_append_new(
	    ops, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", path, "value", value));
}

/*
 * Build row->post and row->patch from an admins record; on a bad value
 * return -1 with why[] filled.
 */
static int
import_admin_row(struct import *im, const json_t *rec, struct import_row *row, char *why,
                 size_t whylen)
{
	const char *user = import_field(im, rec, "userName");
	const char *email = import_field(im, rec, "email");
	const char *perm = import_field(im, rec, "permission");
	const char *scope = import_field(im, rec, "scope");
	const char *schools = import_field(im, rec, "schools");
	const char *region = import_field(im, rec, "region");
	const char *cma = import_field(im, rec, "canManageAdmins");
	const char *active = import_field(im, rec, "active");
	const char *extid = import_field(im, rec, "externalId");
	json_t *ext, *refs, *r, *ops, *name;
	char path[256];
	size_t i;

	row->key = strdup(user);
	if (*user == '\0')
		return snprintf(why, whylen, "userName is empty"), -1;
	if (*email == '\0')
		email = user;
	if (strchr(email, '@') == NULL)
		return snprintf(why, whylen, "'%s' is not an e-mail address", email), -1;
	if (*perm == '\0')
		perm = "view";
	if (strcmp(perm, "view") && strcmp(perm, "manage"))
		return snprintf(why, whylen, "permission '%s': use view or manage", perm), -1;
	if (*scope == '\0')
		scope = "school";
	if (strcmp(scope, "school") && strcmp(scope, "district") && strcmp(scope, "region") &&
	    strcmp(scope, "partnership"))
		return snprintf(why, whylen,
		                "scope '%s': use school, district, region or partnership", scope),
		       -1;
	if (!strcmp(scope, "school") && *schools == '\0')
		return snprintf(why, whylen, "scope school needs the schools column"), -1;
	if (!strcmp(scope, "region") && *region == '\0')
		return snprintf(why, whylen, "scope region needs the region column"), -1;
	if (*cma != '\0' && opts_yes_no(cma) < 0)
		return snprintf(why, whylen, "canManageAdmins '%s': use yes or no", cma), -1;
	if (*active != '\0' && opts_yes_no(active) < 0)
		return snprintf(why, whylen, "active '%s': use yes or no", active), -1;
	refs = admins_school_refs(schools, im->schools);
	json_array_foreach(refs, i, r)
	{
		if (import_school(im, json_string_value(r)) == NULL) {
			snprintf(why, whylen,
			         "no school '%s' in this tenant (see `rosterctl schools list`)",
			         json_string_value(r));
			json_decref(refs);
			return -1;
		}
	}
	ext = json_pack("{s:s,s:s,s:b}", "permission", perm, "scope", scope, "canManageAdmins",
	                *cma && opts_yes_no(cma) == 1);
	if (json_array_size(refs) > 0)
		json_object_set(ext, "schools", refs);
	if (*region)
		json_object_set_new(ext, "region", json_string(region));
	name = json_pack("{s:s,s:s}", "givenName", import_field(im, rec, "givenName"), "familyName",
	                 import_field(im, rec, "familyName"));
	row->post =
	    json_pack("{s:[s,s],s:s,s:O,s:[{s:s,s:s,s:b}],s:o}", "schemas", SCIM_USER_SCHEMA,
	              SCIM_ADMIN_SCHEMA, "userName", user, "name", name, "emails", "value", email,
	              "type", "work", "primary", 1, SCIM_ADMIN_SCHEMA, ext);
	if (*extid)
		json_object_set_new(row->post, "externalId", json_string(extid));
	if (*active)
		json_object_set_new(row->post, "active", json_boolean(opts_yes_no(active) == 1));

	/* The same, as a PATCH for a person who exists already. */
	ops = json_array();
#define EXT(a) (snprintf(path, sizeof(path), "%s:%s", SCIM_ADMIN_SCHEMA, a), path)
	import_patch_add(ops, EXT("permission"), json_string(perm));
	import_patch_add(ops, EXT("scope"), json_string(scope));
	import_patch_add(ops, EXT("canManageAdmins"), json_boolean(*cma && opts_yes_no(cma) == 1));
	if (json_array_size(refs) > 0)
		import_patch_add(ops, EXT("schools"), json_incref(refs));
	if (*region)
		import_patch_add(ops, EXT("region"), json_string(region));
#undef EXT
	if (*import_field(im, rec, "givenName") || *import_field(im, rec, "familyName"))
		import_patch_add(ops, "name", json_incref(name));
	if (*extid)
		import_patch_add(ops, "externalId", json_string(extid));
	if (*active)
		import_patch_add(ops, "active", json_boolean(opts_yes_no(active) == 1));
	row->patch = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_SCHEMA, "Operations", ops);
	json_decref(name);
	json_decref(refs);
	return row->post && row->patch ? 0 : (snprintf(why, whylen, "out of memory"), -1);
}

static int
import_school_row(struct import *im, const json_t *rec, struct import_row *row, char *why,
                  size_t whylen)
{
	const char *name = import_field(im, rec, "name");
	const char *extid = import_field(im, rec, "externalId");
	const char *region = import_field(im, rec, "region");
	const char *active = import_field(im, rec, "active");
	const json_t *existing = NULL, *s;
	json_t *ops;
	size_t i;

	row->key = strdup(name);
	if (*name == '\0')
		return snprintf(why, whylen, "name is empty"), -1;
	if (*active != '\0' && opts_yes_no(active) < 0)
		return snprintf(why, whylen, "active '%s': use yes or no", active), -1;
	json_array_foreach(im->schools, i, s)
	{
		if (*extid ? !strcmp(json_str(s, "externalId"), extid)
		           : !strcasecmp(json_str(s, "name"), name)) {
			existing = s;
			break;
		}
	}
	row->post = json_pack("{s:[s],s:s}", "schemas", SCIM_SCHOOL_SCHEMA, "name", name);
	ops = json_array();
	import_patch_add(ops, "name", json_string(name));
	if (*extid) {
		json_object_set_new(row->post, "externalId", json_string(extid));
		import_patch_add(ops, "externalId", json_string(extid));
	}
	if (*region) {
		json_object_set_new(row->post, "region", json_string(region));
		import_patch_add(ops, "region", json_string(region));
	}
	if (*active) {
		json_object_set_new(row->post, "active", json_boolean(opts_yes_no(active) == 1));
		import_patch_add(ops, "active", json_boolean(opts_yes_no(active) == 1));
	}
	row->patch = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_SCHEMA, "Operations", ops);
	if (existing != NULL)
		row->id = strdup(json_str(existing, "id"));
	return 0;
}

static void
import_rows_clear(struct import_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].key);
		free(rows[i].id);
		json_decref(rows[i].post);
		json_decref(rows[i].patch);
	}
	memset(rows, 0, n * sizeof(*rows));
}

/* The detail of a failed bulk operation's response. */
static const char *
import_op_detail(const json_t *op)
{
	const char *d = json_str(json_get_ci(op, "response"), "detail");

	return *d ? d : json_str(op, "status");
}

/* Look up the ids of existing administrators (by userName) for rows[idx[..]]. */
static int
import_find_ids(struct import *im, struct import_row *rows, const size_t *idx, size_t n,
                struct rb_error *err)
{
	size_t i, j, k;

	for (i = 0; i < n; i += IMPORT_FIND_CHUNK) {
		struct strbuf f = {0};
		json_t *found, *u;
		for (j = i; j < n && j < i + IMPORT_FIND_CHUNK; j++) {
			char *one = client_filter_eq("userName", rows[idx[j]].key);
			strbuf_addf(&f, "%s%s", j > i ? " or " : "", one ? one : "");
			free(one);
		}
		if (f.failed) {
			free(f.s);
			return error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		}
		found = client_list(im->c, "Users", f.s, err);
		free(f.s);
		if (found == NULL)
			return -1;
		json_array_foreach(found, k, u) for (j = i; j < n && j < i + IMPORT_FIND_CHUNK; j++)
		{
			if (rows[idx[j]].id == NULL &&
			    !strcasecmp(json_str(u, "userName"), rows[idx[j]].key))
				rows[idx[j]].id = strdup(json_str(u, "id"));
		}
		json_decref(found);
	}
	return 0;
}

/* One /Bulk request of ops; the NEW response Operations array, or NULL with *err. */
static json_t *
import_bulk(struct import *im, json_t *ops, struct rb_error *err)
{
	json_t *req = json_pack("{s:[s],s:O}", "schemas", SCIM_BULK_SCHEMA, "Operations", ops);
	json_t *resp = NULL, *out;

	if (client_request(im->c, "POST", "/Bulk", req, &resp, err) < 0) {
		json_decref(req);
		return NULL;
	}
	json_decref(req);
	out = json_incref(json_get_ci(resp, "Operations"));
	json_decref(resp);
	if (out == NULL)
		error_set(err, 502, NULL, "/Bulk: the answer has no Operations");
	return out;
}

/* Send one batch of checked rows: POST the new, PATCH the existing. */
static int
import_send(struct import *im, struct import_row *rows, size_t n, struct rb_error *err)
{
	const char *endpoint = im->kind == IMPORT_ADMINS ? "Users" : "Schools";
	json_t *ops = json_array(), *res = NULL, *op;
	size_t *again = calloc(n ? n : 1, sizeof(*again)), nagain = 0, i, k;
	size_t *sent = calloc(n ? n : 1, sizeof(*sent)), nsent = 0;
	char path[160], bulkid[32];
	int ret = -1;

	if (ops == NULL || again == NULL || sent == NULL) {
		error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		goto done;
	}
	/* 1. POST every row not known to exist. */
	for (i = 0; i < n; i++) {
		if (rows[i].id != NULL) {
			again[nagain++] = i;
			continue;
		}
		snprintf(path, sizeof(path), "/%s", endpoint);
		snprintf(bulkid, sizeof(bulkid), "line%ld", rows[i].line);
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s,s:O}", "method", "POST", "path",
		                                     path, "bulkId", bulkid, "data", rows[i].post));
		sent[nsent++] = i;
	}
	if (nsent > 0) {
		res = import_bulk(im, ops, err);
		if (res == NULL)
			goto done;
		for (k = 0; k < nsent; k++) {
			struct import_row *r = &rows[sent[k]];
			int status;
			op = json_array_get(res, k);
			status = import_status(json_str(op, "status"));
			if (status == 201)
				import_outcome(im, r->line, r->key, "created", "");
			else if (status == 409 && im->kind == IMPORT_ADMINS)
				again[nagain++] = sent[k];
			else
				import_outcome(im, r->line, r->key, "rejected",
				               op ? import_op_detail(op)
				                  : "no answer for this operation");
		}
		json_decref(res);
		res = NULL;
	}
	/* 2. PATCH the ones that exist already. */
	if (nagain == 0) {
		ret = 0;
		goto done;
	}
	if (im->kind == IMPORT_ADMINS && import_find_ids(im, rows, again, nagain, err) < 0)
		goto done;
	json_array_clear(ops);
	nsent = 0;
	for (k = 0; k < nagain; k++) {
		struct import_row *r = &rows[again[k]];
		if (r->id == NULL) {
			import_outcome(im, r->line, r->key, "rejected",
			               "exists (409) but cannot be found by userName");
			continue;
		}
		snprintf(path, sizeof(path), "/%s/%s", endpoint, r->id);
		json_array_append_new(ops, json_pack("{s:s,s:s,s:O}", "method", "PATCH", "path",
		                                     path, "data", r->patch));
		sent[nsent++] = again[k];
	}
	if (nsent > 0) {
		res = import_bulk(im, ops, err);
		if (res == NULL)
			goto done;
		for (k = 0; k < nsent; k++) {
			struct import_row *r = &rows[sent[k]];
			int status;
			op = json_array_get(res, k);
			status = import_status(json_str(op, "status"));
			if (status == 200 || status == 204)
				import_outcome(im, r->line, r->key, "updated", "");
			else
				import_outcome(im, r->line, r->key, "rejected",
				               op ? import_op_detail(op)
				                  : "no answer for this operation");
		}
	}
	ret = 0;
done:
	json_decref(res);
	json_decref(ops);
	free(again);
	free(sent);
	return ret;
}

/* The state file: where an interrupted import continues. */
struct import_state {
	long offset, line, done, created, updated, rejected;
	char kind[16];
};

static int
import_state_read(const char *path, struct import_state *st)
{
	FILE *f = fopen(path, "r");
	int n;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	n = fscanf(f,
	           "rosterctl-import 1 kind=%15s offset=%ld line=%ld done=%ld created=%ld "
	           "updated=%ld rejected=%ld",
	           st->kind, &st->offset, &st->line, &st->done, &st->created, &st->updated,
	           &st->rejected);
	fclose(f);
	return n == 7 ? 1 : -1;
}

static int
import_state_write(const char *path, const struct import *im, long offset, long line)
{
	char tmp[4096 + 8];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	        "rosterctl-import 1 kind=%s offset=%ld line=%ld done=%ld created=%ld updated=%ld "
	        "rejected=%ld\n",
	        im->kind == IMPORT_ADMINS ? "admins" : "schools", offset, line, im->done,
	        im->created, im->updated, im->rejected);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

/* Clamp the batch to what the daemon advertises (/ServiceProviderConfig bulk). */
static int
import_bulk_limits(struct import *im, struct rb_error *err)
{
	json_t *spc = NULL, *bulk;
	long maxops;

	if (client_request(im->c, "GET", "/ServiceProviderConfig", NULL, &spc, err) < 0)
		return -1;
	bulk = json_get_ci(spc, "bulk");
	if (!json_is_true(json_get_ci(bulk, "supported"))) {
		json_decref(spc);
		return error_set(err, CLI_ERR_UNSUPPORTED, NULL,
		                 "the daemon at %s does not support /Bulk", im->c->url);
	}
	maxops = (long)json_integer_value(json_get_ci(bulk, "maxOperations"));
	if (maxops > 0 && im->batch > maxops)
		im->batch = maxops;
	json_decref(spc);
	return 0;
}

/* Count the data records (for the progress bar's total). -1 on a malformed file. */
static long
import_count(const char *path, long from_offset, long from_line, struct rb_error *err)
{
	struct csv_reader *r = csv_open(path, err);
	json_t *rec;
	long n = 0, line;

	if (r == NULL)
		return -1;
	if (from_offset > 0)
		csv_seek(r, from_offset, from_line);
	else
		json_decref(csv_next(r, &line, err)); /* header */
	while ((rec = csv_next(r, &line, err)) != NULL) {
		json_decref(rec);
		n++;
	}
	csv_close(r);
	return error_is_set(err) ? -1 : n;
}

static int
import_run(struct cli *c, enum import_kind kind, int argc, char **argv)
{
	const char *state_opt = NULL, *batch_opt = NULL, *report_opt = NULL;
	bool dry_run = false, restart = false, help;
	const struct cli_opt opts[] = {
	    {"dry-run", OPT_FLAG, &dry_run},    {"batch", OPT_VALUE, &batch_opt},
	    {"state", OPT_VALUE, &state_opt},   {"restart", OPT_FLAG, &restart},
	    {"report", OPT_VALUE, &report_opt}, {NULL, OPT_FLAG, NULL}};
	struct import im;
	struct import_state st;
	struct import_row *rows = NULL;
	struct csv_reader *r = NULL;
	struct rb_error err;
	struct sigaction sa, old_int, old_term;
	char state_path[4096];
	json_t *rec = NULL;
	size_t nrows = 0;
	long line;
	int npos, rc = CLI_FAILED, have_state;
	bool stopped = false;

	if (opts_parse(argc, argv, opts, &npos, &help, "import") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(import_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("import", "import %s needs one FILE.csv",
		                       kind == IMPORT_ADMINS ? "admins" : "schools");
	memset(&im, 0, sizeof(im));
	memset(&st, 0, sizeof(st));
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	error_clear(&err);
	im.c = c;
	im.kind = kind;
	im.path = argv[1];
	im.columns = kind == IMPORT_ADMINS ? admin_columns : school_columns;
	im.dry_run = dry_run;
	im.batch = IMPORT_BATCH_DEFAULT;
	if (batch_opt != NULL) {
		char *end;
		im.batch = strtol(batch_opt, &end, 10);
		if (*end != '\0' || im.batch < 1 || im.batch > 10000)
			return cli_usage_error("import", "--batch must be 1 to 10000");
	}
	if (!strcmp(im.path, "-") && !dry_run)
		return cli_usage_error("import", "read the rows from a file (an import must be "
		                                 "resumable), not from stdin");
	snprintf(state_path, sizeof(state_path), "%s", state_opt ? state_opt : im.path);
	if (state_opt == NULL)
		strncat(state_path, ".rosterctl-state",
		        sizeof(state_path) - strlen(state_path) - 1);

	/* Header. */
	r = csv_open(im.path, &err);
	if (r == NULL)
		return cli_fail(&err);
	rec = csv_next(r, &line, &err);
	if (rec == NULL) {
		csv_close(r);
		if (!error_is_set(&err))
			return cli_usage_error("import", "%s is empty (a header row is needed)",
			                       im.path);
		return cli_fail(&err);
	}
	if (import_header(&im, rec) != 0) {
		json_decref(rec);
		csv_close(r);
		return CLI_USAGE;
	}
	json_decref(rec);
	rec = NULL;

	/* Resume? */
	have_state = dry_run || restart ? 0 : import_state_read(state_path, &st);
	if (have_state < 0) {
		fprintf(stderr,
		        "rosterctl: %s is not a rosterctl import state file: remove it or "
		        "give --restart\n",
		        state_path);
		csv_close(r);
		return CLI_USAGE;
	}
	if (have_state > 0) {
		if (strcmp(st.kind, kind == IMPORT_ADMINS ? "admins" : "schools") != 0) {
			fprintf(stderr,
			        "rosterctl: %s belongs to an import of %s: give --state or "
			        "--restart\n",
			        state_path, st.kind);
			csv_close(r);
			return CLI_USAGE;
		}
		if (csv_seek(r, st.offset, st.line) < 0) {
			fprintf(stderr,
			        "rosterctl: %s: cannot continue at byte %ld: give --restart\n",
			        im.path, st.offset);
			csv_close(r);
			return CLI_USAGE;
		}
		im.done = st.done;
		im.created = st.created;
		im.updated = st.updated;
		im.rejected = st.rejected;
		if (!c->quiet)
			fprintf(stderr,
			        "rosterctl: continuing %s at line %ld (%ld rows done before; "
			        "--restart to start over)\n",
			        im.path, st.line, st.done);
	}
	im.total = import_count(im.path, have_state > 0 ? st.offset : 0, st.line, &err);
	if (im.total < 0) {
		csv_close(r);
		return cli_fail(&err);
	}
	im.total += im.done;

	/* What the rows are checked against; the daemon's limits. */
	im.schools = client_list(c, "Schools", NULL, &err);
	if (im.schools == NULL || (!dry_run && import_bulk_limits(&im, &err) < 0)) {
		csv_close(r);
		json_decref(im.schools);
		return cli_fail(&err);
	}
	if (report_opt != NULL) {
		im.report = fopen(report_opt, have_state > 0 ? "a" : "w");
		if (im.report == NULL) {
			fprintf(stderr, "rosterctl: --report %s: %s\n", report_opt,
			        strerror(errno));
			csv_close(r);
			json_decref(im.schools);
			return CLI_USAGE;
		}
		if (have_state <= 0)
			fputs("line,key,result,detail\n", im.report);
	}
	rows = calloc((size_t)im.batch, sizeof(*rows));
	if (rows == NULL) {
		error_set(&err, CLI_ERR_CONFIG, NULL, "out of memory");
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = import_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	import_stop = 0;
	im.bar =
	    progress_start(c->tty_err && !c->quiet, im.total, dry_run ? "checking" : "importing");
	progress_update(im.bar, im.done);

	for (;;) {
		char why[RB_ERROR_DETAIL_MAX];
		struct import_row *row;
		bool eof;

		rec = csv_next(r, &line, &err);
		if (rec == NULL && error_is_set(&err))
			goto fail_bar;
		eof = rec == NULL;
		if (!eof) {
			row = &rows[nrows];
			memset(row, 0, sizeof(*row));
			row->line = line;
			why[0] = '\0';
			if ((kind == IMPORT_ADMINS
			         ? import_admin_row(&im, rec, row, why, sizeof(why))
			         : import_school_row(&im, rec, row, why, sizeof(why))) < 0) {
				import_outcome(&im, line, row->key, "rejected", why);
				import_rows_clear(row, 1);
				im.done++;
			} else if (dry_run) {
				import_outcome(&im, line, row->key, "ok", "");
				import_rows_clear(row, 1);
				im.done++;
			} else {
				nrows++;
			}
			json_decref(rec);
			rec = NULL;
		}
		if (nrows > 0 && (eof || nrows == (size_t)im.batch || import_stop)) {
			if (import_send(&im, rows, nrows, &err) < 0) {
				/* The batch may be half-applied: the rerun PATCHes what exists. */
				import_rows_clear(rows, nrows);
				goto fail_bar;
			}
			im.done += (long)nrows;
			import_rows_clear(rows, nrows);
			nrows = 0;
			if (import_state_write(state_path, &im, csv_offset(r), csv_line(r)) < 0)
				fprintf(stderr,
				        "rosterctl: cannot write %s: %s (the import goes on, but "
				        "cannot be resumed)\n",
				        state_path, strerror(errno));
		}
		progress_update(im.bar, im.done);
		if (eof)
			break;
		if (import_stop && nrows == 0) {
			stopped = true;
			break;
		}
	}
	progress_end(im.bar, im.done);
	im.bar = NULL;
	if (stopped) {
		fprintf(stderr,
		        "rosterctl: interrupted after %ld of %ld rows: run the same command "
		        "again to continue (state in %s)\n",
		        im.done, im.total, state_path);
		rc = CLI_INTERRUPTED;
	} else {
		if (!dry_run)
			unlink(state_path);
		rc = im.rejected > 0 ? CLI_FAILED : CLI_OK;
	}
	if (!c->quiet || rc != CLI_OK) {
		if (dry_run)
			printf("%s: %ld rows checked, %ld would be imported, %ld rejected (nothing "
			       "was written)\n",
			       im.path, im.done, im.done - im.rejected, im.rejected);
		else
			printf("%s: %ld rows, %ld created, %ld updated, %ld rejected%s\n", im.path,
			       im.done, im.created, im.updated, im.rejected,
			       stopped ? " so far" : "");
	}
	goto done;
fail_bar:
	progress_end(im.bar, im.done);
	im.bar = NULL;
fail:
	rc = cli_fail(&err);
	if (!dry_run && im.done > 0)
		fprintf(stderr,
		        "rosterctl: %ld of %ld rows were done: run the same command again to "
		        "continue (state in %s)\n",
		        im.done, im.total, state_path);
done:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(rows);
	json_decref(rec);
	json_decref(im.schools);
	if (im.report != NULL)
		fclose(im.report);
	csv_close(r);
	return rc;
}

int
import_schools(struct cli *c, int argc, char **argv)
{
	return import_run(c, IMPORT_SCHOOLS, argc, argv);
}

int
import_main(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(import_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "admins"))
		return import_run(c, IMPORT_ADMINS, argc - 1, argv + 1);
	if (!strcmp(argv[1], "schools"))
		return import_run(c, IMPORT_SCHOOLS, argc - 1, argv + 1);
	return cli_usage_error("import", "import admins FILE or import schools FILE, not '%s'",
	                       argv[1]);
}
