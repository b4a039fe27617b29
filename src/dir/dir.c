/*
 * dir.c — the directory layer's common flows: connections, DNs, lookups
 * by id, writes with the post-read and assertion controls; see dir_int.h.
 */
#include "dir/dir_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/ldaperr.h"
#include "lib/log.h"
#include "lib/strbuf.h"

struct dir *
dir_create(const struct config *cfg, struct pool *pool)
{
	struct dir *dir = calloc(1, sizeof(*dir));

	if (dir == NULL)
		return NULL;
	dir->cfg = cfg;
	dir->pool = pool;
	pthread_mutex_init(&dir->repair_lock, NULL);
	pthread_cond_init(&dir->repair_wake, NULL);
	pthread_mutex_init(&dir->guard_lock, NULL);
	pthread_mutex_init(&dir->guard_open_lock, NULL);
	SLIST_INIT(&dir->guard_leases);
	pthread_mutex_init(&dir->totals_lock, NULL);
	pthread_cond_init(&dir->totals_done, NULL);
	LIST_INIT(&dir->totals);
	LIST_INIT(&dir->counting);
	return dir;
}

void
dir_destroy(struct dir *dir)
{
	if (dir == NULL)
		return;
	access_repair_stop(dir);
	if (!dir->groups_borrowed)
		grouptab_stop(dir->groups);
	/* The guard's unspent reservations back to their windows (no request runs now). */
	guard_leases_return(dir, dir, 0);
	guard_leases_free(dir);
	pthread_mutex_destroy(&dir->guard_lock);
	pthread_mutex_destroy(&dir->guard_open_lock);
	pthread_cond_destroy(&dir->repair_wake);
	pthread_mutex_destroy(&dir->repair_lock);
	dir_page_forget(dir);
	pthread_cond_destroy(&dir->totals_done);
	pthread_mutex_destroy(&dir->totals_lock);
	free(dir);
}

int
dir_groups_start(struct dir *dir)
{
	if (!dir->cfg->group_table)
		return 0;
	dir->groups = grouptab_start(dir->cfg, dir->pool);
	return dir->groups != NULL ? 0 : -1;
}

void
dir_groups_stats(struct dir *dir, unsigned long *hits, unsigned long *misses, bool *live)
{
	grouptab_stats(dir->groups, hits, misses, live);
}

/* Whether `dn` names a group: its parent's RDN is ou=groups (a tenant's groups). */
static bool
dir_is_group_dn(const char *dn)
{
	LDAPDN parsed = NULL;
	bool group = false;

	if (dn == NULL || ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    parsed == NULL)
		return false;
	if (parsed[0] != NULL && parsed[1] != NULL && parsed[1][0] != NULL &&
	    parsed[1][1] == NULL) {
		LDAPAVA *ava = parsed[1][0];
		group = ava->la_attr.bv_len == 2 && !strncasecmp(ava->la_attr.bv_val, "ou", 2) &&
		        ava->la_value.bv_len == 6 &&
		        !strncasecmp(ava->la_value.bv_val, "groups", 6);
	}
	ldap_dnfree(parsed);
	return group;
}

void
dir_id_lower(const char *id, char *out, size_t outlen)
{
	size_t k;

	for (k = 0; id[k] != '\0' && k + 1 < outlen; k++)
		out[k] = (char)tolower((unsigned char)id[k]);
	out[k] = '\0';
}

bool
dir_id_valid(const char *id)
{
	/* entryUUID: 8-4-4-4-12 hex digits (RFC 4530). */
	static const int groups[] = {8, 4, 4, 4, 12};
	size_t g, i;

	if (id == NULL)
		return false;
	for (g = 0; g < 5; g++) {
		for (i = 0; i < (size_t)groups[g]; i++, id++)
			if (!isxdigit((unsigned char)*id))
				return false;
		if (g < 4 && *id++ != '-')
			return false;
	}
	return *id == '\0';
}

int
dir_op_begin(struct dir_op *op, const struct dir_ctx *ctx, struct rb_error *err)
{
	char *rdn;

	memset(op, 0, sizeof(*op));
	op->ctx = ctx;
	rdn = escape_rdn("o", ctx->tenant);
	op->tenant_dn = rdn ? escape_dn_join(rdn, ctx->dir->cfg->ldap_suffix) : NULL;
	free(rdn);
	if (op->tenant_dn == NULL)
		return error_set(err, 500, NULL, "out of memory");
	op->conn = pool_acquire(ctx->dir->pool, err);
	if (op->conn == NULL) {
		free(op->tenant_dn);
		op->tenant_dn = NULL;
		return -1;
	}
	return 0;
}

void
dir_op_end(struct dir_op *op)
{
	if (op->conn != NULL)
		pool_release(op->ctx->dir->pool, op->conn, op->broken);
	op->conn = NULL;
	free(op->tenant_dn);
	op->tenant_dn = NULL;
	json_decref(op->groups);
	op->groups = NULL;
}

char *
dir_ou_dn(const struct dir_op *op, const char *ou)
{
	char *rdn = escape_rdn("ou", ou), *dn;

	if (rdn == NULL)
		return NULL;
	dn = escape_dn_join(rdn, op->tenant_dn);
	free(rdn);
	return dn;
}

/* Swap a lost connection for a fresh one. 0, or -1 with *err. */
static int
dir_reconnect(struct dir_op *op, struct rb_error *err)
{
	pool_release(op->ctx->dir->pool, op->conn, true);
	op->conn = pool_acquire(op->ctx->dir->pool, err);
	op->broken = false;
	return op->conn ? 0 : -1;
}

/* ldaperr_set with the connection's diagnostic message (logged for a 5xx). Returns -1. */
static int
dir_ldaperr(struct dir_op *op, struct rb_error *err, int rc, const char *what)
{
	char *diag = NULL;

	if (op->conn == NULL || op->conn->ld == NULL ||
	    ldap_get_option(op->conn->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) != LDAP_OPT_SUCCESS)
		diag = NULL;
	ldaperr_set(err, rc, what, diag);
	ldap_memfree(diag);
	return -1;
}

/*
 * Every search of the bridge carries ManageDsaIT (RFC 3296, not critical):
 * the dynlist overlay then steps aside. The bridge never reads what dynlist
 * computes (rbManager, rbManagesSchool, …: those are for district tools),
 * yet dynlist ran two internal searches for the schools in scope before
 * each of its searches: ~30% of slapd's instructions per GET (callgrind,
 * docs/schema.md, "Cost per request"). There are no referral objects.
 */
static LDAPControl dir_manage_dsait = {(char *)LDAP_CONTROL_MANAGEDSAIT, {0, NULL}, 0};

/* dir_search and dir_search_first: `upto` makes a size limit hit a success. */
static int
dir_search_do(struct dir_op *op, const char *base, int scope, const char *filter, char **attrs,
              LDAPControl **sctrls, int sizelimit, bool upto, LDAPMessage **res,
              struct rb_error *err)
{
	struct timeval tv = pool_timeout(op->ctx->dir->pool);
	LDAPControl *ctrls[8] = {&dir_manage_dsait};
	size_t n = 1;
	int rc, attempt;

	for (; sctrls != NULL && sctrls[n - 1] != NULL && n < 7; n++)
		ctrls[n] = sctrls[n - 1];
	*res = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		rc = ldap_search_ext_s(op->conn->ld, base, scope, filter, attrs, 0, ctrls, NULL,
		                       &tv, sizelimit, res);
		/*
		 * A lost connection is retried once on a fresh one; a timeout is
		 * not: slapd may still be working on exactly this slow query, and
		 * a retry would double its cost (libldap abandoned the search).
		 */
		if (!pool_rc_is_connection_error(rc) || rc == LDAP_TIMEOUT || attempt == 1)
			break;
		ldap_msgfree(*res);
		*res = NULL;
		if (dir_reconnect(op, err) < 0)
			return -1;
	}
	if (pool_rc_is_connection_error(rc))
		op->broken = true;
	if (rc == LDAP_SUCCESS || (upto && rc == LDAP_SIZELIMIT_EXCEEDED))
		return 0;
	if (rc == LDAP_VLV_ERROR && sctrls != NULL)
		return 0; /* the caller reads the VLV response (offset past the end) */
	if (rc == LDAP_NO_SUCH_OBJECT) { /* the base is missing: nothing matches */
		return 0;
	}
	ldap_msgfree(*res);
	*res = NULL;
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		char what[96];
		snprintf(what, sizeof(what), "search (more than %d match; narrow the filter)",
		         sizelimit);
		return ldaperr_set(err, rc, what, NULL);
	}
	return dir_ldaperr(op, err, rc, "search");
}

int
dir_search(struct dir_op *op, const char *base, int scope, const char *filter, char **attrs,
           LDAPControl **sctrls, int sizelimit, LDAPMessage **res, struct rb_error *err)
{
	return dir_search_do(op, base, scope, filter, attrs, sctrls, sizelimit, false, res, err);
}

int
dir_search_first(struct dir_op *op, const char *base, int scope, const char *filter, char **attrs,
                 int n, LDAPMessage **res, struct rb_error *err)
{
	return dir_search_do(op, base, scope, filter, attrs, NULL, n, true, res, err);
}

/*
 * The entry among base's children whose `attr` (entryUUID, rbFormerId) is
 * `id` and that matches `objfilter` ("" for none), reading `attrs`: NEW map,
 * or NULL with *err (404 when there is none, or `id` is not an id).
 */
static json_t *
dir_find_by(struct dir_op *op, const char *base, const char *objfilter, const char *attr,
            const char *id, char **attrs, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	char filter[256];
	json_t *map = NULL;

	if (!dir_id_valid(id)) {
		error_set(err, 404, NULL, "no resource with id %s", "(not an id)");
		return NULL;
	}
	/* id is 36 checked hex-and-dash characters: nothing to escape. The
	 * callers' objfilter is a DIR_CLASS term (no index read for it), or ""
	 * when the caller tests the entry itself (dir_find_person_by_id). */
	if (*objfilter == '\0')
		snprintf(filter, sizeof(filter), "(%s=%s)", attr, id);
	else
		snprintf(filter, sizeof(filter), "(&(%s=%s)%s)", attr, id, objfilter);
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 2, &res, err) < 0)
		return NULL;
	e = res ? ldap_first_entry(op->conn->ld, res) : NULL;
	if (e == NULL)
		error_set(err, 404, NULL, "no resource with id %s", id);
	else
		map = entry_to_map(op->conn->ld, e);
	ldap_msgfree(res);
	return map;
}

json_t *
dir_find_by_id(struct dir_op *op, const char *base, const char *objfilter, const char *id,
               char **attrs, struct rb_error *err)
{
	return dir_find_by(op, base, objfilter, "entryUUID", id, attrs, err);
}

json_t *
dir_find_by_former_id(struct dir_op *op, const char *base, const char *objfilter, const char *id,
                      char **attrs, struct rb_error *err)
{
	error_clear(err);
	/* Indexed (kit step 0006); a directory whose schema lacks rbFormerId
	 * evaluates the term as Undefined: no match, no error. */
	return dir_find_by(op, base, objfilter, "rbFormerId", id, attrs, err);
}

bool
dir_map_is_person(const json_t *map)
{
	const json_t *oc = json_object_get(map, "objectclass"), *v;
	const char *key;
	bool person = false;
	size_t i;

	json_array_foreach(oc, i, v)
	{
		const char *name = json_string_value(v);
		if (name != NULL && !strcasecmp(name, "rbPerson"))
			person = true;
	}
	if (!person)
		return false;
	json_object_foreach((json_t *)map, key, v)
	{
		if (entry_desc_base_len(key) == strlen("rbdisabledat") &&
		    !strncmp(key, "rbdisabledat", strlen("rbdisabledat")))
			return false;
	}
	return true;
}

json_t *
dir_find_person_by_id(struct dir_op *op, const char *base, const char *id, char **attrs,
                      struct rb_error *err)
{
	json_t *map = dir_find_by_id(op, base, "", id, attrs, err);

	if (map != NULL && !dir_map_is_person(map)) {
		json_decref(map);
		map = NULL;
		error_set(err, 404, NULL, "no resource with id %s", id);
	}
	/* Only a miss pays this second search: an id the repair merged into
	 * another person (merge.c) is that person's former id. */
	if (map == NULL && err->status == 404)
		map = dir_find_by_former_id(op, base, DIR_PERSON_FILTER, id, attrs, err);
	return map;
}

bool
dir_etag_csn(const char *etag, char *out, size_t outlen)
{
	const char *p = etag, *q;
	size_t n;

	while (*p == ' ')
		p++;
	if (!strncmp(p, "W/", 2))
		p += 2;
	if (*p == '"')
		p++;
	q = strchr(p, '"');
	n = q ? (size_t)(q - p) : strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n == 0 || n + 1 > outlen)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* The format of our session-tracking identifier: "req=ID tenant=T source=S". */
#define DIR_TRACKING_FORMAT "2.25.294763386475673295328657436818623676422.3.1"

/*
 * dir_tracking — a NEW non-critical session-tracking control
 * (LDAP_CONTROL_X_SESSION_TRACKING) naming the client's address, the
 * request id, the tenant and the source of `op`. Every write carries it, so
 * slapd's accesslog (the audit trail, DIRECTORY_AUDIT=1) records who asked
 * for each change. NULL when it cannot be made: the write goes on without
 * it. Free with ldap_control_free.
 */
static LDAPControl *
dir_tracking(struct dir_op *op)
{
	const struct dir_ctx *ctx = op->ctx;
	LDAPControl *ctrl = NULL;
	char id[256], ip[64], name[] = "rosterbridge", format[] = DIR_TRACKING_FORMAT;
	struct berval bv;
	int n;

	n = snprintf(id, sizeof(id), "req=%s tenant=%s source=%s",
	             ctx->request_id != NULL ? ctx->request_id : "-", ctx->tenant,
	             ctx->source != NULL ? ctx->source : "-");
	if (n < 0 || (size_t)n >= sizeof(id))
		return NULL;
	snprintf(ip, sizeof(ip), "%s", ctx->client_addr != NULL ? ctx->client_addr : "");
	bv.bv_val = id;
	bv.bv_len = (ber_len_t)n;
	if (ldap_create_session_tracking_control(op->conn->ld, ip, name, format, &bv, &ctrl) !=
	    LDAP_SUCCESS)
		return NULL;
	return ctrl;
}

/*
 * Preconditions. The `if_match` the write functions take is a precondition
 * text (dir_precondition): an If-Match value ("*" or ETags), optionally
 * followed by '\n' and an If-None-Match value. Header values never hold a
 * newline, so the two parts cannot be confused. Both become one LDAP
 * assertion (RFC 4528) checked by slapd with the write itself.
 */
char *
dir_precondition(const char *if_match, const char *if_none_match)
{
	struct strbuf b = {NULL, 0, 0, false};

	if (if_match == NULL && if_none_match == NULL)
		return NULL;
	strbuf_add(&b, if_match != NULL ? if_match : "");
	if (if_none_match != NULL) {
		strbuf_add(&b, "\n");
		strbuf_add(&b, if_none_match);
	}
	if (b.failed || b.s == NULL) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/*
 * dir_etag_list_next — the next member of an If-Match-style list (ends at
 * `end`): *p advances past it and its comma; `csn` gets its CSN ("" when it
 * is no ETag). false once the list is done. A list that is "*" is
 * dir_etag_list_star's.
 */
static bool
dir_etag_list_next(const char **p, const char *end, char *csn, size_t csnlen)
{
	const char *comma;
	char one[160];
	size_t len;

	if (*p >= end)
		return false;
	comma = memchr(*p, ',', (size_t)(end - *p));
	len = comma ? (size_t)(comma - *p) : (size_t)(end - *p);
	if (len >= sizeof(one))
		len = sizeof(one) - 1;
	memcpy(one, *p, len);
	one[len] = '\0';
	if (!dir_etag_csn(one, csn, csnlen))
		csn[0] = '\0';
	*p = comma ? comma + 1 : end;
	return true;
}

/* Is the list (`n` bytes at `p`) "*"? */
static bool
dir_etag_list_star(const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end && *p == ' ')
		p++;
	return p < end && *p == '*';
}

/*
 * dir_etag_list_filter — append to *b the filter an If-Match-style list
 * (`n` bytes at `p`: "*" or ETags) stands for: (objectClass=*) for "*",
 * else (|(entryCSN=…)…) — the absolute false (|) when it names no ETag.
 */
static void
dir_etag_list_filter(struct strbuf *b, const char *p, size_t n)
{
	const char *end = p + n;
	char csn[128];

	if (dir_etag_list_star(p, n)) {
		strbuf_add(b, "(objectClass=*)");
		return;
	}
	strbuf_add(b, "(|");
	while (dir_etag_list_next(&p, end, csn, sizeof(csn))) {
		char *esc;

		if (csn[0] == '\0')
			continue;
		esc = escape_filter_value(csn, strlen(csn));
		if (esc == NULL)
			b->failed = true;
		strbuf_add(b, "(entryCSN=");
		strbuf_add(b, esc);
		strbuf_add(b, ")");
		free(esc);
	}
	strbuf_add(b, ")");
}

/*
 * The assertion filter for a precondition text (see above; one bare
 * entryCSN, the version a derived value was computed from, is a one-ETag
 * list) on the entry `dn`. Scoped to that entry: slapd hands an
 * operation's assertion on to the internal writes overlays derive from it
 * (the memberof overlay did, before membership moved onto the members;
 * any overlay an operator adds may), where the entry's entryCSN never
 * matches and the update would be silently lost; (|(!(entryDN=<dn>))(…))
 * holds for every entry but the target. NEW string or NULL.
 */
char *
dir_assertion_filter(const char *pre, const char *dn)
{
	struct strbuf b = {NULL, 0, 0, false};
	const char *nl = strchr(pre, '\n');
	size_t mlen = nl != NULL ? (size_t)(nl - pre) : strlen(pre);
	bool has_match = nl == NULL || strspn(pre, " ") < mlen;
	char *esc = escape_filter_value(dn, strlen(dn));

	if (esc == NULL)
		return NULL;
	strbuf_add(&b, "(|(!(entryDN=");
	strbuf_add(&b, esc);
	strbuf_add(&b, "))");
	free(esc);
	if (has_match && nl != NULL)
		strbuf_add(&b, "(&");
	if (has_match)
		dir_etag_list_filter(&b, pre, mlen);
	if (nl != NULL) {
		strbuf_add(&b, "(!");
		dir_etag_list_filter(&b, nl + 1, strlen(nl + 1));
		strbuf_add(&b, ")");
	}
	if (has_match && nl != NULL)
		strbuf_add(&b, ")");
	strbuf_add(&b, ")");
	if (b.failed || b.s == NULL) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The 412 detail for a failed precondition. Static string. */
static const char *
dir_precondition_failed(const char *pre)
{
	if (pre != NULL && strchr(pre, '\n') != NULL)
		return "If-Match / If-None-Match: the precondition failed (the resource exists, "
		       "has changed, or has the version If-None-Match names)";
	return "If-Match: the resource has changed (or the ETag is stale)";
}

/* What dir_exec sends. */
enum dir_kind { DIR_ADD, DIR_MODIFY, DIR_RENAME };

/*
 * One add, modify or modrdn with the post-read control (RFC 4527) asking for
 * `read_attrs`, the assertion (RFC 4528) of the precondition `if_match`
 * scoped to `dn`, Permissive Modify when op->permissive, and the
 * session-tracking control. Every result code goes through the one table
 * (ldaperr.c); 409 and 412 get a detail of their own. op->last_rc keeps the
 * code. Returns the NEW post-read map, or NULL with *err.
 */
static json_t *
dir_exec(struct dir_op *op, enum dir_kind kind, const char *dn, LDAPMod **mods, const char *newrdn,
         const char *if_match, char **read_attrs, struct rb_error *err)
{
	static const char *const what[] = {"add", "modify", "rename"};
	LDAPControl *postread = NULL, *assertion = NULL, *permissive = NULL, *tracking = NULL;
	LDAPControl *ctrls[5] = {NULL, NULL, NULL, NULL, NULL};
	LDAPControl **rctrls = NULL;
	LDAPMessage *res = NULL;
	struct timeval tv = pool_timeout(op->ctx->dir->pool);
	char *filter = NULL, *diag = NULL;
	json_t *map = NULL;
	int rc, msgid, code = LDAP_OTHER, n = 0;
	/* A group's write also reads back its entryUUID and entryCSN: the group
	 * table (grouptab.c) waits for that CSN before it answers for the group. */
	bool group = op->ctx->dir->groups != NULL && dir_is_group_dn(dn);
	char *group_attrs[40];

	if (group) {
		size_t i = 0, k = 0;
		if (read_attrs == NULL)
			group_attrs[k++] = "*";
		for (; read_attrs != NULL && read_attrs[i] != NULL && k < 36; i++)
			group_attrs[k++] = read_attrs[i];
		group_attrs[k++] = "entryUUID";
		group_attrs[k++] = "entryCSN";
		group_attrs[k] = NULL;
		read_attrs = group_attrs;
	}
	{
		BerElement *ber = ber_alloc_t(LBER_USE_DER);
		struct berval val;
		if (ber == NULL || ber_printf(ber, "{v}", read_attrs) == -1 ||
		    ber_flatten2(ber, &val, 0) == -1 ||
		    ldap_control_create(LDAP_CONTROL_POST_READ, 0, &val, 1, &postread) !=
		        LDAP_SUCCESS) {
			ber_free(ber, 1);
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		ber_free(ber, 1);
	}
	ctrls[n++] = postread;
	if (if_match != NULL) {
		filter = dir_assertion_filter(if_match, dn);
		if (filter == NULL || ldap_create_assertion_control(op->conn->ld, filter, 1,
		                                                    &assertion) != LDAP_SUCCESS) {
			error_set(err, 400, SCIM_INVALID_VERS,
			          "the precondition is not a valid ETag");
			goto done;
		}
		ctrls[n++] = assertion;
	}
	if (op->permissive && kind == DIR_MODIFY) {
		if (ldap_control_create("1.2.840.113556.1.4.1413", 0, NULL, 1, &permissive) !=
		    LDAP_SUCCESS) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		ctrls[n++] = permissive;
	}
	if ((tracking = dir_tracking(op)) != NULL)
		ctrls[n++] = tracking;
	if (kind == DIR_ADD)
		rc = ldap_add_ext(op->conn->ld, dn, mods, ctrls, NULL, &msgid);
	else if (kind == DIR_MODIFY)
		rc = ldap_modify_ext(op->conn->ld, dn, mods, ctrls, NULL, &msgid);
	else
		rc = ldap_rename(op->conn->ld, dn, newrdn, NULL, 1, ctrls, NULL, &msgid);
	if (rc == LDAP_SUCCESS) {
		rc = ldap_result(op->conn->ld, msgid, LDAP_MSG_ALL, &tv, &res);
		if (rc == 0) {
			rc = LDAP_TIMEOUT;
		} else if (rc < 0) {
			ldap_get_option(op->conn->ld, LDAP_OPT_RESULT_CODE, &rc);
		} else {
			rc = ldap_parse_result(op->conn->ld, res, &code, NULL, &diag, NULL, &rctrls,
			                       0);
			if (rc == LDAP_SUCCESS)
				rc = code;
		}
	}
	op->last_rc = rc;
	if (pool_rc_is_connection_error(rc)) {
		op->broken = true;
		/* Not retried: the write may or may not have reached the directory. */
		error_set(err, 503, NULL, "the directory connection failed during the %s; retry",
		          what[kind]);
		goto done;
	}
	if (rc != LDAP_SUCCESS) {
		ldaperr_set(err, rc, what[kind], diag);
		if (rc == LDAP_ALREADY_EXISTS)
			snprintf(err->detail, sizeof(err->detail),
			         "%s already exists in this tenant",
			         kind == DIR_ADD ? "a resource with this name" : "the new name");
		else if (rc == LDAP_ASSERTION_FAILED)
			snprintf(err->detail, sizeof(err->detail), "%s",
			         dir_precondition_failed(if_match));
		goto done;
	}
	for (n = 0; rctrls != NULL && rctrls[n] != NULL; n++)
		if (!strcmp(rctrls[n]->ldctl_oid, LDAP_CONTROL_POST_READ))
			map = entry_from_postread(&rctrls[n]->ldctl_value);
	if (map == NULL)
		error_set(err, 500, NULL, "the directory did not return the entry it wrote");
	else if (group)
		grouptab_wrote(op->ctx->dir->groups, map);
done:
	ldap_controls_free(rctrls);
	ldap_memfree(diag);
	ldap_msgfree(res);
	if (postread != NULL)
		ldap_control_free(postread);
	if (assertion != NULL)
		ldap_control_free(assertion);
	if (permissive != NULL)
		ldap_control_free(permissive);
	if (tracking != NULL)
		ldap_control_free(tracking);
	free(filter);
	return map;
}

json_t *
dir_write(struct dir_op *op, bool add, const char *dn, LDAPMod **mods, const char *if_match,
          char **read_attrs, struct rb_error *err)
{
	return dir_exec(op, add ? DIR_ADD : DIR_MODIFY, dn, mods, NULL, if_match, read_attrs, err);
}

json_t *
dir_rename_modify(struct dir_op *op, const char *dn, const char *newrdn, LDAPMod **mods,
                  const char *if_match, char **read_attrs, struct rb_error *err)
{
	json_t *renamed = NULL, *after;
	const char *csn;

	if (newrdn == NULL)
		return dir_exec(op, DIR_MODIFY, dn, mods, NULL, if_match, read_attrs, err);
	renamed = dir_exec(op, DIR_RENAME, dn, NULL, newrdn, if_match, read_attrs, err);
	if (renamed == NULL || mods == NULL || entry_mods_count(mods) == 0)
		return renamed;
	/* The modify asserts the entry as the rename left it: a writer in between is a 412. */
	csn = entry_map_first(renamed, "entrycsn");
	after = dir_exec(op, DIR_MODIFY, entry_map_first(renamed, "dn"), mods, NULL, csn,
	                 read_attrs, err);
	json_decref(renamed);
	return after;
}

/*
 * The bytes slapd keeps for `attr=value` (its pretty form): UTF-8 as is,
 * each RFC 4514 special character with a backslash, a leading `#` or
 * space and a trailing space escaped. (libldap's own string form writes
 * non-ASCII as \XX hex, three times longer: not what counts.)
 */
static size_t
dir_rdn_stored_len(const char *attr, const char *value, size_t n)
{
	size_t len = strlen(attr) + 1 + n, i;

	for (i = 0; i < n; i++)
		if (strchr(",+\"\\<>;=", value[i]) != NULL)
			len++;
	if (value[0] == '#' || value[0] == ' ')
		len++;
	if (n > 1 && value[n - 1] == ' ')
		len++;
	return len;
}

/*
 * The bytes of `value` (n bytes of UTF-8) as slapd normalizes it for its
 * matching rules (caseIgnore: Unicode compatibility mapping, composition
 * and case folding) — ICU's NFKC_Casefold, the same mapping up to the
 * Unicode version. U+FDFA (3 bytes) becomes 18 characters (33 bytes).
 * 0 when ICU cannot tell (the caller's other checks still hold).
 */
static size_t
dir_normalized_len(const char *value, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfkc = unorm2_getNFKCCasefoldInstance(&st);
	UChar *in = NULL, *out = NULL;
	int32_t ilen = 0, olen = 0, blen = 0;
	size_t len = 0;

	if (U_FAILURE(st) || n > INT32_MAX / 4)
		return 0;
	u_strFromUTF8(NULL, 0, &ilen, value, (int32_t)n, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return 0;
	st = U_ZERO_ERROR;
	in = malloc(sizeof(UChar) * ((size_t)ilen + 1));
	if (in == NULL)
		goto done;
	u_strFromUTF8(in, ilen + 1, NULL, value, (int32_t)n, &st);
	olen = unorm2_normalize(nfkc, in, ilen, NULL, 0, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		goto done;
	st = U_ZERO_ERROR;
	out = malloc(sizeof(UChar) * ((size_t)olen + 1));
	if (out == NULL)
		goto done;
	unorm2_normalize(nfkc, in, ilen, out, olen + 1, &st);
	if (U_FAILURE(st))
		goto done;
	u_strToUTF8(NULL, 0, &blen, out, olen, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(st))
		len = (size_t)blen;
done:
	free(in);
	free(out);
	return len;
}

char *
dir_rdn(const char *attr, const char *value, const char *scim_name, struct rb_error *err)
{
	size_t n = value ? strlen(value) : 0, norm;
	char *rdn;

	if (n == 0) {
		error_set(err, 400, SCIM_INVALID_VALUE, "%s is empty", scim_name);
		return NULL;
	}
	if (n > DIR_RDN_VALUE_MAX) {
		error_set(err, 400, SCIM_INVALID_VALUE,
		          "%s is %zu bytes long; the directory takes names of at most %d bytes "
		          "(UTF-8)",
		          scim_name, n, DIR_RDN_VALUE_MAX);
		return NULL;
	}
	if (dir_rdn_stored_len(attr, value, n) > DIR_RDN_MAX) {
		error_set(err, 400, SCIM_INVALID_VALUE,
		          "%s needs %zu bytes in the directory once its special characters are "
		          "escaped; at most %d are taken (use fewer of , + \" \\ < > ; =)",
		          scim_name, dir_rdn_stored_len(attr, value, n), DIR_RDN_MAX);
		return NULL;
	}
	/* slapd keeps the RDN as given and normalized: both must fit (2 × DIR_RDN_MAX). */
	norm = dir_normalized_len(value, n);
	if (dir_rdn_stored_len(attr, value, n) + strlen(attr) + 1 + norm >
	    (size_t)2 * DIR_RDN_MAX) {
		error_set(err, 400, SCIM_INVALID_VALUE,
		          "%s becomes %zu bytes once the directory normalizes it (Unicode "
		          "compatibility mapping: some characters expand, U+FDFA to 18); at most "
		          "%zu are taken",
		          scim_name, norm,
		          (size_t)2 * DIR_RDN_MAX - dir_rdn_stored_len(attr, value, n) -
		              strlen(attr) - 1);
		return NULL;
	}
	rdn = escape_rdn(attr, value);
	if (rdn == NULL)
		error_set(err, 500, NULL, "out of memory");
	return rdn;
}

json_t *
dir_add_entry(struct dir_op *op, const char *base, const char *rdn_attr, const char *scim_name,
              const json_t *map, char **read_attrs, const char *what, struct rb_error *err)
{
	const char *value = entry_map_first(map, rdn_attr);
	char *rdn = NULL, *dn = NULL;
	LDAPMod **mods = NULL;
	json_t *after = NULL;

	if (value == NULL) {
		error_set(err, 400, SCIM_INVALID_VALUE, "the name is missing");
		goto done;
	}
	rdn = dir_rdn(rdn_attr, value, scim_name, err);
	if (rdn == NULL)
		goto done;
	dn = escape_dn_join(rdn, base);
	mods = dn ? entry_mods_build(NULL, map, NULL, NULL) : NULL;
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(op, true, dn, mods, NULL, read_attrs, err);
	if (after == NULL && err->status == 409)
		snprintf(err->detail, sizeof(err->detail), "%s %s already exists in this tenant",
		         what, value);
done:
	entry_mods_free(mods);
	free(rdn);
	free(dn);
	return after;
}

long
dir_delete_found(struct dir_op *op, const char *base, const char *filter, char **attrs,
                 void (*deleted)(struct dir_op *op, const json_t *map, void *arg), void *arg,
                 struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	long n = 0;

	/* A missing base is noSuchObject: dir_search answers it as "no entry". */
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		return -1;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *dn = entry_map_first(m, "dn");

		if (dn != NULL && dir_delete_dn(op, dn, entry_map_first(m, "entrycsn"), err) == 0) {
			n++;
			if (deleted != NULL)
				deleted(op, m, arg);
		} else if (err->status == 404 || err->status == 412) {
			error_clear(err);
		}
		json_decref(m);
		if (error_is_set(err))
			break;
	}
	ldap_msgfree(res);
	return error_is_set(err) ? -1 : n;
}

int
dir_delete_dn(struct dir_op *op, const char *dn, const char *if_match, struct rb_error *err)
{
	LDAPControl *assertion = NULL, *tracking, *ctrls[3] = {NULL, NULL, NULL};
	char *filter = NULL;
	int rc, n = 0;

	if (if_match != NULL) {
		filter = dir_assertion_filter(if_match, dn);
		if (filter == NULL || ldap_create_assertion_control(op->conn->ld, filter, 1,
		                                                    &assertion) != LDAP_SUCCESS) {
			free(filter);
			return error_set(err, 400, SCIM_INVALID_VERS,
			                 "the precondition is not a valid ETag");
		}
		ctrls[n++] = assertion;
	}
	if ((tracking = dir_tracking(op)) != NULL)
		ctrls[n++] = tracking;
	rc = ldap_delete_ext_s(op->conn->ld, dn, ctrls, NULL);
	op->last_rc = rc;
	if (assertion != NULL)
		ldap_control_free(assertion);
	if (tracking != NULL)
		ldap_control_free(tracking);
	free(filter);
	if (pool_rc_is_connection_error(rc)) {
		op->broken = true;
		return error_set(err, 503, NULL,
		                 "the directory connection failed during the delete");
	}
	if (rc != LDAP_SUCCESS) {
		dir_ldaperr(op, err, rc, "delete");
		if (rc == LDAP_ASSERTION_FAILED)
			snprintf(err->detail, sizeof(err->detail), "%s",
			         dir_precondition_failed(if_match));
		return -1;
	}
	if (op->ctx->dir->groups != NULL && dir_is_group_dn(dn))
		grouptab_wrote_dn(op->ctx->dir->groups, dn);
	return 0;
}

/* dir_etag_list_has — whether the If-Match-style list (`n` bytes at `p`) names `csn`
 * ("*" names every existing entry). */
static bool
dir_etag_list_has(const char *p, size_t n, const char *csn)
{
	const char *end = p + n;
	char want[128];

	if (dir_etag_list_star(p, n))
		return true;
	while (dir_etag_list_next(&p, end, want, sizeof(want)))
		if (csn != NULL && want[0] != '\0' && !strcmp(want, csn))
			return true;
	return false;
}

int
dir_check_version(const json_t *map, const char *if_match, struct rb_error *err)
{
	const char *csn = entry_map_first(map, "entrycsn");
	const char *nl;
	size_t mlen;

	if (if_match == NULL)
		return 0;
	nl = strchr(if_match, '\n');
	mlen = nl != NULL ? (size_t)(nl - if_match) : strlen(if_match);
	if ((nl == NULL || strspn(if_match, " ") < mlen) && !dir_etag_list_has(if_match, mlen, csn))
		return error_set(err, 412, NULL, "%s", dir_precondition_failed(if_match));
	if (nl != NULL && dir_etag_list_has(nl + 1, strlen(nl + 1), csn))
		return error_set(err, 412, NULL, "%s", dir_precondition_failed(if_match));
	return 0;
}

bool
dir_held_by(const json_t *map, const char *source)
{
	const json_t *srcs = json_object_get(map, "rbsource");
	size_t i;

	for (i = 0; i < json_array_size(srcs); i++)
		if (!strcasecmp(json_string_value(json_array_get(srcs, i)), source))
			return true;
	return false;
}

LDAPMod **
dir_mods_hold(LDAPMod **mods, const json_t *old, const char *source)
{
	json_t *v;

	if (mods == NULL || dir_held_by(old, source))
		return mods;
	v = json_pack("[s]", source);
	mods = v ? entry_mods_append(mods, LDAP_MOD_ADD, "rbSource", v) : NULL;
	json_decref(v);
	return mods;
}

json_t *
dir_convert_one(struct dir_op *op,
                json_t *(*to_json)(struct dir_op *, const json_t *, bool, struct rb_error *),
                const json_t *map, bool want_members, struct rb_error *err)
{
	json_t *arr = json_array(), *out, *res = NULL;

	if (arr == NULL || json_array_append(arr, (json_t *)map) < 0) {
		json_decref(arr);
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	out = to_json(op, arr, want_members, err);
	if (out != NULL)
		res = json_incref(json_array_get(out, 0));
	json_decref(out);
	json_decref(arr);
	return res;
}

void
dir_meta_from_map(const json_t *map, const char *location_base, struct map_meta *meta)
{
	meta->id = entry_map_first(map, "entryuuid");
	meta->created = entry_map_first(map, "createtimestamp");
	meta->modified = entry_map_first(map, "modifytimestamp");
	meta->csn = entry_map_first(map, "entrycsn");
	meta->location_base = location_base;
}

int
dir_password_set(struct dir_op *op, const char *dn, const char *password, struct rb_error *err)
{
	struct timeval tv = pool_timeout(op->ctx->dir->pool);
	struct berval user, newpw;
	LDAPMessage *res = NULL;
	char *diag = NULL;
	int rc, msgid, code = LDAP_OTHER;

	user.bv_val = (char *)dn;
	user.bv_len = strlen(dn);
	newpw.bv_val = (char *)password;
	newpw.bv_len = strlen(password);
	rc = ldap_passwd(op->conn->ld, &user, NULL, &newpw, NULL, NULL, &msgid);
	if (rc == LDAP_SUCCESS) {
		rc = ldap_result(op->conn->ld, msgid, LDAP_MSG_ALL, &tv, &res);
		if (rc == 0)
			rc = LDAP_TIMEOUT;
		else if (rc < 0)
			ldap_get_option(op->conn->ld, LDAP_OPT_RESULT_CODE, &rc);
		else if ((rc = ldap_parse_result(op->conn->ld, res, &code, NULL, &diag, NULL, NULL,
		                                 0)) == LDAP_SUCCESS)
			rc = code;
	}
	ldap_msgfree(res);
	if (pool_rc_is_connection_error(rc)) {
		op->broken = true;
		ldap_memfree(diag);
		return error_set(err, 503, NULL,
		                 "the directory connection failed while setting the password");
	}
	/* The diagnostic may quote a password-quality rule, never the password itself. */
	if (rc != LDAP_SUCCESS)
		ldaperr_set(err, rc, "password modify", diag);
	ldap_memfree(diag);
	return rc == LDAP_SUCCESS ? 0 : -1;
}

int
dir_resolve_dns(struct dir_op *op, const char *ou, char **attrs, json_t *dns, bool cache,
                struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	char *base = NULL, *filter = NULL;
	size_t cap = 64, len;
	const char *dn;
	json_t *v;
	int rc = -1;

	if (json_object_size(dns) == 0)
		return 0;
	if (cache && op->groups != NULL) {
		/* Every one already read during this operation? Then no search. */
		bool all = true;
		json_object_foreach(dns, dn, v)
		{
			if (json_object_get(op->groups, dn) == NULL)
				all = false;
		}
		if (all) {
			json_object_foreach(dns, dn, v)
			{
				json_object_set(dns, dn, json_object_get(op->groups, dn));
			}
			return 0;
		}
	}
	json_object_foreach(dns, dn, v) cap += strlen(dn) * 3 + 16;
	filter = malloc(cap);
	base = dir_ou_dn(op, ou);
	if (filter == NULL || base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	len = (size_t)snprintf(filter, cap, "(|");
	json_object_foreach(dns, dn, v)
	{
		char *esc = escape_filter_value(dn, strlen(dn));
		if (esc == NULL) {
			error_set(err, 500, NULL, "out of memory");
			goto done;
		}
		len += (size_t)snprintf(filter + len, cap - len, "(entryDN=%s)", esc);
		free(esc);
	}
	snprintf(filter + len, cap - len, ")");
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *edn = entry_map_first(m, "dn");
		json_object_foreach(dns, dn, v)
		{
			if (edn == NULL || strcasecmp(dn, edn) != 0)
				continue;
			json_object_set(dns, dn, m);
			if (cache) {
				if (op->groups == NULL)
					op->groups = json_object();
				json_object_set(op->groups, dn, m);
			}
		}
		json_decref(m);
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(filter);
	return rc;
}

int
dir_resolve_ids(struct dir_op *op, const char *ou, char **attrs, json_t *ids, bool cache,
                struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	struct strbuf f = {0};
	char *base = NULL;
	const char *id;
	json_t *v;
	bool all = op->groups != NULL, left = false;
	int rc = -1;

	json_object_foreach(ids, id, v)
	{
		if (!json_is_null(v))
			continue; /* resolved already (the group table) */
		left = true;
		if (!cache || json_object_get(op->groups, id) == NULL)
			all = false;
	}
	if (!left)
		return 0;
	if (cache && all) {
		/* Every one already read during this operation: no search. */
		json_object_foreach(ids, id, v)
		{
			if (json_is_null(v))
				json_object_set(ids, id, json_object_get(op->groups, id));
		}
		return 0;
	}
	strbuf_add(&f, "(|");
	json_object_foreach(ids, id, v)
	{
		char *esc;
		if (!json_is_null(v))
			continue;
		esc = escape_filter_value(id, strlen(id));
		if (esc == NULL) {
			f.failed = true;
			break;
		}
		strbuf_add(&f, "(entryUUID=");
		strbuf_add(&f, esc);
		strbuf_add(&f, ")");
		free(esc);
	}
	strbuf_add(&f, ")");
	base = dir_ou_dn(op, ou);
	if (f.failed || base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		const char *uuid = entry_map_first(m, "entryuuid");
		json_object_foreach(ids, id, v)
		{
			if (uuid == NULL || strcasecmp(id, uuid) != 0)
				continue;
			json_object_set(ids, id, m);
			if (cache) {
				if (op->groups == NULL)
					op->groups = json_object();
				json_object_set(op->groups, id, m);
			}
		}
		json_decref(m);
	}
	rc = 0;
done:
	ldap_msgfree(res);
	free(base);
	free(f.s);
	return rc;
}

char *
dir_parent_dn(const char *dn)
{
	LDAPDN parsed = NULL;
	char *parent = NULL;

	/* Parsed, never scanned for commas: an escaped ',' in a value stays in it. */
	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || parsed == NULL ||
	    parsed[0] == NULL) {
		ldap_dnfree(parsed);
		return NULL;
	}
	if (parsed[1] == NULL)
		parent = strdup("");
	else if (ldap_dn2str(&parsed[1], &parent, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		parent = NULL;
	ldap_dnfree(parsed);
	if (parent != NULL) {
		/* ldap_dn2str's memory belongs to libldap: hand back our own copy. */
		char *own = strdup(parent);
		ldap_memfree(parent);
		parent = own;
	}
	return parent;
}
