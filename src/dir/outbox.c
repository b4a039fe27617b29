/*
 * outbox.c — the invitation outbox in the directory; see admin.h.
 *
 * A message is queued (due now), claimed by one daemon (state sending, due
 * again at the end of the claim, written with an LDAP assertion on the
 * entryCSN it read: of two daemons claiming together one gets
 * assertionFailed and leaves it), then deleted once the SMTP server took
 * it, or put back (queued, attempts + 1, due after a backoff, last error).
 * A daemon that dies while sending leaves a claim that runs out: the
 * message is due again. Nothing is lost across a restart or an outage.
 */
#include "dir/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"

int
dir_outbox_queue(const struct dir_ctx *ctx, const char *owner_dn, const char *kind, const char *to,
                 struct rb_error *err)
{
	struct dir_op op;
	char *base = NULL, id[33], rdn[40], *dn = NULL, now[16];
	char *attrs[] = {"cn", NULL};
	json_t *map = json_object(), *after = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(map);
		return -1;
	}
	base = admin_console_dn(&op, "outbox", err);
	if (base == NULL)
		goto done;
	if (admin_random_hex(16, id) < 0) {
		error_set(err, 500, NULL, "no random numbers");
		goto done;
	}
	snprintf(rdn, sizeof(rdn), "cn=%s", id);
	dn = escape_dn_join(rdn, base);
	dir_gentime(time(NULL), now);
	entry_map_add(map, "objectclass", "rbOutboxMessage");
	entry_map_add(map, "cn", id);
	entry_map_add(map, "rbtenantname", ctx->tenant);
	entry_map_add(map, "rbowner", owner_dn);
	entry_map_add(map, "rbmailkind", kind);
	entry_map_add(map, "rbmailstate", "queued");
	entry_map_add(map, "rbmailto", to);
	entry_map_add(map, "rbmailattempts", "0");
	entry_map_add(map, "rbmailnextattempt", now);
	mods = dn ? entry_mods_build(NULL, map, NULL, NULL) : NULL;
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
	free(base);
	dir_op_end(&op);
	return rc;
}

/* The maps of the outbox entries matching `filter` (at most max; 0 = no limit). NEW array. */
static json_t *
outbox_search(struct dir_op *op, const char *filter, int max, struct rb_error *err)
{
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {
	    "cn",       "rbTenantName",   "rbOwner",           "rbMailKind", "rbMailState",
	    "rbMailTo", "rbMailAttempts", "rbMailNextAttempt", "entryCSN",   NULL};
	char *base = admin_console_dn(op, "outbox", err);
	json_t *out = NULL;

	if (base == NULL)
		return NULL;
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, max, &res, err) < 0) {
		if (err->status != 400) /* a size limit only means: more later */
			goto done;
		error_clear(err);
	}
	out = json_array();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e))
		json_array_append_new(out, entry_to_map(op->conn->ld, e));
done:
	ldap_msgfree(res);
	free(base);
	return out;
}

/* "(&(objectClass=rbOutboxMessage)(rbOwner=<dn>)…)" for `owner_dn`. NEW or NULL. */
static char *
outbox_owner_filter(const char *owner_dn, const char *extra)
{
	char *esc = escape_filter_value(owner_dn, strlen(owner_dn)), *f;
	size_t n;

	if (esc == NULL)
		return NULL;
	n = strlen(esc) + strlen(extra) + 64;
	f = malloc(n);
	if (f != NULL)
		snprintf(f, n, "(&(rbOwner=%s)%s(objectClass=rbOutboxMessage))", esc, extra);
	free(esc);
	return f;
}

int
dir_outbox_drop(const struct dir_ctx *ctx, const char *owner_dn, struct rb_error *err)
{
	struct dir_op op;
	char *filter = outbox_owner_filter(owner_dn, "");
	json_t *msgs = NULL, *m;
	size_t i;
	int rc = -1;

	if (filter == NULL)
		return error_set(err, 500, NULL, "out of memory");
	if (dir_op_begin(&op, ctx, err) < 0) {
		free(filter);
		return -1;
	}
	msgs = outbox_search(&op, filter, 0, err);
	if (msgs == NULL)
		goto done;
	json_array_foreach(msgs, i, m)
	{
		if (dir_delete_dn(&op, entry_map_first(m, "dn"), NULL, err) < 0) {
			if (err->status != 404)
				goto done;
			error_clear(err);
		}
	}
	rc = 0;
done:
	json_decref(msgs);
	free(filter);
	dir_op_end(&op);
	return rc;
}

long
dir_outbox_pending(const struct dir_ctx *ctx, const char *owner_dn, struct rb_error *err)
{
	struct dir_op op;
	char *filter = outbox_owner_filter(owner_dn, "(!(rbMailState=sent))");
	json_t *msgs = NULL;
	long n = -1;

	if (filter == NULL)
		return error_set(err, 500, NULL, "out of memory");
	if (dir_op_begin(&op, ctx, err) < 0) {
		free(filter);
		return -1;
	}
	msgs = outbox_search(&op, filter, 0, err);
	if (msgs != NULL)
		n = (long)json_array_size(msgs);
	json_decref(msgs);
	free(filter);
	dir_op_end(&op);
	return n;
}

json_t *
dir_outbox_due(const struct dir_ctx *ctx, time_t now, int max, struct rb_error *err)
{
	struct dir_op op;
	char filter[160], t[16];
	json_t *maps, *out = NULL, *m;
	size_t i;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	dir_gentime(now, t);
	snprintf(filter, sizeof(filter),
	         "(&(rbMailNextAttempt<=%s)(!(rbMailState=sent))(objectClass=rbOutboxMessage))", t);
	maps = outbox_search(&op, filter, max, err);
	dir_op_end(&op);
	if (maps == NULL)
		return NULL;
	out = json_array();
	json_array_foreach(maps, i, m)
	{
		const char *attempts = entry_map_first(m, "rbmailattempts");
		json_t *msg = json_pack(
		    "{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}", "dn", entry_map_first(m, "dn"),
		    "csn", entry_map_first(m, "entrycsn"), "tenant",
		    entry_map_first(m, "rbtenantname"), "owner", entry_map_first(m, "rbowner"),
		    "kind", entry_map_first(m, "rbmailkind"), "to", entry_map_first(m, "rbmailto"),
		    "attempts", (json_int_t)(attempts ? strtol(attempts, NULL, 10) : 0));
		if (msg != NULL && json_object_get(msg, "dn") && json_object_get(msg, "csn") &&
		    json_object_get(msg, "tenant") && json_object_get(msg, "owner") &&
		    json_object_get(msg, "to"))
			json_array_append_new(out, msg);
		else
			json_decref(msg);
	}
	json_decref(maps);
	return out;
}

int
dir_outbox_claim(const struct dir_ctx *ctx, const json_t *msg, time_t until, struct rb_error *err)
{
	struct dir_op op;
	LDAPMod **mods;
	char t[16];
	int rc;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dir_gentime(until, t);
	mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbMailState", "sending");
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbMailNextAttempt", t);
	rc = admin_modify(&op, json_string_value(json_object_get(msg, "dn")), mods,
	                  json_string_value(json_object_get(msg, "csn")), err);
	if (rc < 0 && (err->status == 412 || err->status == 404)) {
		error_clear(err); /* another daemon claimed (or sent) it first */
		rc = 1;
	}
	entry_mods_free(mods);
	dir_op_end(&op);
	return rc;
}

/* Set (why != NULL) or remove the person's rbInviteError; a vanished person is fine. */
static int
outbox_person_error(struct dir_op *op, const char *owner, const char *why, struct rb_error *err)
{
	LDAPMod **mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbInviteError", why);
	int rc = admin_modify(op, owner, mods, NULL, err);

	entry_mods_free(mods);
	if (rc < 0 && err->status == 404) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

int
dir_outbox_sent(const struct dir_ctx *ctx, const json_t *msg, struct rb_error *err)
{
	struct dir_op op;
	int rc;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	rc = dir_delete_dn(&op, json_string_value(json_object_get(msg, "dn")), NULL, err);
	if (rc < 0 && err->status == 404) {
		error_clear(err);
		rc = 0;
	}
	if (rc == 0)
		rc = outbox_person_error(&op, json_string_value(json_object_get(msg, "owner")),
		                         NULL, err);
	dir_op_end(&op);
	return rc;
}

int
dir_outbox_failed(const struct dir_ctx *ctx, const json_t *msg, time_t next, const char *why,
                  struct rb_error *err)
{
	struct dir_op op;
	LDAPMod **mods;
	char t[16], n[24];
	int rc;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dir_gentime(next, t);
	snprintf(n, sizeof(n), "%lld",
	         (long long)json_integer_value(json_object_get(msg, "attempts")) + 1);
	mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbMailState", "queued");
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbMailNextAttempt", t);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbMailAttempts", n);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbMailLastError", why);
	rc = admin_modify(&op, json_string_value(json_object_get(msg, "dn")), mods, NULL, err);
	entry_mods_free(mods);
	if (rc < 0 && err->status == 404) { /* dropped meanwhile (access removed) */
		error_clear(err);
		rc = 0;
	} else if (rc == 0) {
		rc = outbox_person_error(&op, json_string_value(json_object_get(msg, "owner")), why,
		                         err);
	}
	dir_op_end(&op);
	return rc;
}
