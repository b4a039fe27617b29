/*
 * session.c — console sign-in and sessions in the directory; see admin.h.
 *
 * Sign-in is the person's own simple bind (pool_check_password): slapd
 * checks the password, applies ppolicy (lockout) and the rbBindLocked ACL;
 * we keep no failure counter. A session is an entry named by the SHA-256
 * of its id, so several daemons share sessions and they survive restarts;
 * the id itself is never stored.
 */
#include "dir/admin_int.h"

#include <gnutls/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"

void
dir_gentime(time_t t, char out[16])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 16, "%Y%m%d%H%M%SZ", &tm) == 0)
		out[0] = '\0';
}

int
dir_gentime_parse(const char *s, time_t *t)
{
	struct tm tm;
	int n = 0;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d%2d%2d%2d%2d%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 14)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

int
admin_random_hex(size_t nbytes, char *out)
{
	unsigned char buf[64];
	size_t i;

	if (nbytes > sizeof(buf) || gnutls_rnd(GNUTLS_RND_KEY, buf, nbytes) != 0)
		return -1;
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	out[2 * nbytes] = '\0';
	return 0;
}

LDAPMod **
admin_mod1(LDAPMod **mods, int op, const char *desc, const char *value)
{
	json_t *vals = json_array();
	LDAPMod **out;

	if (vals == NULL) {
		entry_mods_free(mods);
		return NULL;
	}
	if (value != NULL)
		json_array_append_new(vals, json_string(value));
	out = entry_mods_append(mods, op, desc, vals);
	json_decref(vals);
	return out;
}

static atomic_bool admin_containers_made;

/* Add ou=<ou> under `parent`; an existing entry is fine. 0 or -1 with *err. */
static int
admin_add_ou(struct dir_op *op, const char *ou, const char *parent, struct rb_error *err)
{
	json_t *map = json_object(), *after;
	int rc = 0;

	entry_map_add(map, "objectclass", "organizationalUnit");
	entry_map_add(map, "ou", ou);
	{
		char *attrs[] = {"ou", NULL};
		after = dir_add_entry(op, parent, "ou", "ou", map, attrs, "container", err);
	}
	if (after == NULL) {
		if (err->status == 409)
			error_clear(err);
		else
			rc = -1;
	}
	json_decref(after);
	json_decref(map);
	return rc;
}

char *
admin_console_dn(struct dir_op *op, const char *ou, struct rb_error *err)
{
	const char *suffix = op->ctx->dir->cfg->ldap_suffix;
	char *console = escape_dn_join("ou=console", suffix), *rdn = escape_rdn("ou", ou);
	char *dn = (console && rdn) ? escape_dn_join(rdn, console) : NULL;

	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto fail;
	}
	if (!atomic_load(&admin_containers_made)) {
		if (admin_add_ou(op, "console", suffix, err) < 0 ||
		    admin_add_ou(op, "sessions", console, err) < 0 ||
		    admin_add_ou(op, "outbox", console, err) < 0)
			goto fail;
		atomic_store(&admin_containers_made, true);
	}
	free(console);
	free(rdn);
	return dn;
fail:
	free(console);
	free(rdn);
	free(dn);
	return NULL;
}

int
admin_modify(struct dir_op *op, const char *dn, LDAPMod **mods, const char *csn,
             struct rb_error *err)
{
	char *attrs[] = {"entryCSN", NULL};
	char etag[256];
	json_t *after;

	if (mods == NULL)
		return error_set(err, 500, NULL, "out of memory");
	if (entry_mods_count(mods) == 0)
		return 0;
	if (csn != NULL)
		snprintf(etag, sizeof(etag), "W/\"%s\"", csn);
	after = dir_write(op, false, dn, mods, csn ? etag : NULL, attrs, err);
	if (after == NULL)
		return -1;
	json_decref(after);
	return 0;
}

json_t *
admin_person_map(struct dir_op *op, const char *id, char **attrs, struct rb_error *err)
{
	char *base = dir_ou_dn(op, "people");
	json_t *map;

	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	map = dir_find_by_id(op, base, DIR_PERSON_FILTER, id, attrs, err);
	free(base);
	return map;
}

char *
dir_signin(const struct dir_ctx *ctx, const char *login, const char *password, struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *base = NULL, *esc = NULL, *filter = NULL, *dn = NULL, *ldn;
	char *attrs[] = {"1.1", NULL};
	size_t flen;

	if (login == NULL || *login == '\0' || password == NULL || *password == '\0') {
		error_set(err, 401, NULL, "wrong credentials");
		return NULL;
	}
	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, "people");
	esc = escape_filter_value(login, strlen(login));
	flen = esc ? 2 * strlen(esc) + 128 : 0;
	filter = esc ? malloc(flen) : NULL;
	if (base == NULL || filter == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, flen, "(&(|(uid=%s)(mail=%s))" DIR_PERSON_FILTER ")", esc, esc);
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 2, &res, err) < 0) {
		if (err->status == 400) { /* two matches: ambiguous, refused like the rest */
			error_clear(err);
			error_set(err, 401, NULL, "wrong credentials");
		}
		goto done;
	}
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	if (e == NULL || ldap_next_entry(op.conn->ld, e) != NULL) {
		error_set(err, 401, NULL, "wrong credentials");
		goto done;
	}
	ldn = ldap_get_dn(op.conn->ld, e);
	dn = ldn ? strdup(ldn) : NULL;
	ldap_memfree(ldn);
	if (dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (pool_check_password(ctx->dir->pool, dn, password, err) < 0) {
		free(dn);
		dn = NULL;
	}
done:
	ldap_msgfree(res);
	free(base);
	free(esc);
	free(filter);
	dir_op_end(&op);
	return dn;
}

/* The DN of session `hash` (64 hex digits, checked): NEW, or NULL with *err. */
static char *
session_dn(struct dir_op *op, const char *hash, struct rb_error *err)
{
	char *base, *dn, rdn[80];
	size_t i;

	for (i = 0; hash[i]; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
			break;
	if (i != 64 || hash[i] != '\0') {
		error_set(err, 400, NULL, "not a session");
		return NULL;
	}
	base = admin_console_dn(op, "sessions", err);
	if (base == NULL)
		return NULL;
	snprintf(rdn, sizeof(rdn), "cn=%s", hash);
	dn = escape_dn_join(rdn, base);
	free(base);
	if (dn == NULL)
		error_set(err, 500, NULL, "out of memory");
	return dn;
}

int
dir_session_create(const struct dir_ctx *ctx, const char *hash, const char *owner_dn,
                   time_t expires, time_t now, struct rb_error *err)
{
	struct dir_op op;
	char *dn = NULL, tbuf[16], nbuf[16];
	json_t *map = json_object();
	LDAPMod **mods = NULL;
	char *attrs[] = {"cn", NULL};
	json_t *after = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(map);
		return -1;
	}
	dn = session_dn(&op, hash, err);
	if (dn == NULL)
		goto done;
	dir_gentime(expires, tbuf);
	dir_gentime(now, nbuf);
	entry_map_add(map, "objectclass", "rbConsoleSession");
	entry_map_add(map, "cn", hash);
	entry_map_add(map, "rbtenantname", ctx->tenant);
	entry_map_add(map, "rbowner", owner_dn);
	entry_map_add(map, "rbsessionexpires", tbuf);
	entry_map_add(map, "rblastseen", nbuf);
	mods = entry_mods_build(NULL, map, NULL, NULL);
	if (mods == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	after = dir_write(&op, true, dn, mods, NULL, attrs, err);
	rc = after ? 0 : -1;
done:
	json_decref(after);
	json_decref(map);
	entry_mods_free(mods);
	free(dn);
	dir_op_end(&op);
	return rc;
}

int
dir_session_get(const struct dir_ctx *ctx, const char *hash, struct dir_session *out,
                struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *dn = NULL;
	char *attrs[] = {"rbTenantName", "rbOwner", "rbSessionExpires", "rbLastSeen", NULL};
	json_t *map = NULL;
	const char *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dn = session_dn(&op, hash, err);
	if (dn == NULL) {
		if (err->status == 400) {
			error_clear(err);
			rc = 1;
		}
		goto done;
	}
	if (dir_search(&op, dn, LDAP_SCOPE_BASE, "(objectClass=rbConsoleSession)", attrs, NULL, 1,
	               &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	if (e == NULL) {
		rc = 1;
		goto done;
	}
	map = entry_to_map(op.conn->ld, e);
	v = entry_map_first(map, "rbtenantname");
	snprintf(out->tenant, sizeof(out->tenant), "%s", v ? v : "");
	v = entry_map_first(map, "rbowner");
	snprintf(out->owner_dn, sizeof(out->owner_dn), "%s", v ? v : "");
	if (dir_gentime_parse(entry_map_first(map, "rbsessionexpires"), &out->expires) < 0)
		out->expires = 0;
	if (dir_gentime_parse(entry_map_first(map, "rblastseen"), &out->last_seen) < 0)
		out->last_seen = 0;
	rc = 0;
done:
	json_decref(map);
	ldap_msgfree(res);
	free(dn);
	dir_op_end(&op);
	return rc;
}

int
dir_session_touch(const struct dir_ctx *ctx, const char *hash, time_t now, struct rb_error *err)
{
	struct dir_op op;
	char *dn = NULL, nbuf[16];
	json_t *vals = json_array();
	LDAPMod **mods = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(vals);
		return -1;
	}
	dn = session_dn(&op, hash, err);
	if (dn == NULL)
		goto done;
	dir_gentime(now, nbuf);
	json_array_append_new(vals, json_string(nbuf));
	mods = entry_mods_append(NULL, LDAP_MOD_REPLACE, "rbLastSeen", vals);
	rc = admin_modify(&op, dn, mods, NULL, err);
done:
	entry_mods_free(mods);
	json_decref(vals);
	free(dn);
	dir_op_end(&op);
	return rc;
}

int
dir_session_delete(const struct dir_ctx *ctx, const char *hash, struct rb_error *err)
{
	struct dir_op op;
	char *dn = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dn = session_dn(&op, hash, err);
	if (dn == NULL)
		goto done;
	rc = dir_delete_dn(&op, dn, NULL, err);
	if (rc < 0 && err->status == 404) {
		error_clear(err);
		rc = 0;
	}
done:
	free(dn);
	dir_op_end(&op);
	return rc;
}

int
dir_session_purge(const struct dir_ctx *ctx, time_t now, int idle_s, long *purged,
                  struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *base = NULL, *attrs[] = {"1.1", NULL};
	char filter[160], tnow[16], tidle[16];
	json_t *dns = json_array(), *dn;
	size_t i;
	int rc = -1;

	*purged = 0;
	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(dns);
		return -1;
	}
	base = admin_console_dn(&op, "sessions", err);
	if (base == NULL)
		goto done;
	dir_gentime(now, tnow);
	dir_gentime(now - idle_s, tidle);
	snprintf(filter, sizeof(filter),
	         "(&(|(rbSessionExpires<=%s)(rbLastSeen<=%s))(objectClass=rbConsoleSession))", tnow,
	         tidle);
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 1000, &res, err) < 0) {
		if (err->status != 400) /* more than a batch: the rest next time */
			goto done;
		error_clear(err);
	}
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		char *d = ldap_get_dn(op.conn->ld, e);
		if (d != NULL)
			json_array_append_new(dns, json_string(d));
		ldap_memfree(d);
	}
	json_array_foreach(dns, i, dn)
	{
		if (dir_delete_dn(&op, json_string_value(dn), NULL, err) < 0) {
			if (err->status != 404)
				goto done;
			error_clear(err); /* another daemon purged it first */
			continue;
		}
		(*purged)++;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	json_decref(dns);
	free(base);
	dir_op_end(&op);
	return rc;
}
