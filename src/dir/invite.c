/*
 * invite.c — invitation state on the person, link tokens, confirmation and
 * the password; see admin.h.
 *
 * States (rbInviteStatus): invited (a link is or will be on its way),
 * active (confirmed). "Expired" is read, not stored: invited with
 * rbInviteExpires in the past. "Delivery failed" is rbInviteError present
 * (the outbox keeps retrying). A link token is 32 random bytes; the person
 * holds only its SHA-256 (rbInviteTokenHash, which the ACL lets nobody but
 * the service account read or search), one at a time: issuing a new one
 * voids the old.
 */
#include "dir/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"

int
dir_person_by_mail(const struct dir_ctx *ctx, const char *mail, char out[37], struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"entryUUID", NULL};
	char *base = NULL, *esc = NULL, *filter = NULL;
	json_t *map = NULL;
	const char *id;
	size_t flen;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	base = dir_ou_dn(&op, "people");
	esc = escape_filter_value(mail, strlen(mail));
	flen = esc ? 2 * strlen(esc) + 128 : 0;
	filter = esc ? malloc(flen) : NULL;
	if (base == NULL || filter == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, flen, "(&(|(mail=%s)(uid=%s))" DIR_PERSON_FILTER ")", esc, esc);
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	if (e == NULL) {
		rc = 1;
		goto done;
	}
	/* Several people with the address (possible duplicates): the first, as SCIM lists them. */
	map = entry_to_map(op.conn->ld, e);
	id = entry_map_first(map, "entryuuid");
	if (id == NULL || strlen(id) != 36) {
		rc = 1;
		goto done;
	}
	memcpy(out, id, 37);
	rc = 0;
done:
	json_decref(map);
	ldap_msgfree(res);
	free(base);
	free(esc);
	free(filter);
	dir_op_end(&op);
	return rc;
}

static char *invite_attrs[] = {"rbInviteStatus", "rbInviteMail", "rbInviteExpires",
                               "rbInviteError",  "entryCSN",     NULL};

int
dir_invite_mark(const struct dir_ctx *ctx, const char *id, const char *mail, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL;
	LDAPMod **mods = NULL;
	const char *dn;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	map = admin_person_map(&op, id, invite_attrs, err);
	if (map == NULL)
		goto done;
	dn = entry_map_first(map, "dn");
	mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbInviteStatus", "invited");
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteMail", mail);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteTokenHash", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteExpires", NULL);
	if (admin_modify(&op, dn, mods, NULL, err) < 0)
		goto done;
	dir_op_end(&op); /* the outbox calls take their own connection */
	if (dir_outbox_drop(ctx, dn, err) < 0 || dir_outbox_queue(ctx, dn, "invite", mail, err) < 0)
		goto out;
	rc = 0;
	goto out;
done:
	dir_op_end(&op);
out:
	entry_mods_free(mods);
	json_decref(map);
	return rc;
}

int
dir_invite_clear(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL;
	LDAPMod **mods = NULL;
	char *dn = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	map = admin_person_map(&op, id, invite_attrs, err);
	if (map == NULL)
		goto done;
	dn = strdup(entry_map_first(map, "dn"));
	mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbInviteStatus", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteMail", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteTokenHash", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteExpires", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteError", NULL);
	if (dn == NULL || admin_modify(&op, dn, mods, NULL, err) < 0)
		goto done;
	dir_op_end(&op);
	rc = dir_outbox_drop(ctx, dn, err);
	goto out;
done:
	dir_op_end(&op);
out:
	free(dn);
	entry_mods_free(mods);
	json_decref(map);
	return rc;
}

int
dir_invite_find(const struct dir_ctx *ctx, const char *hash, char id[37], char **dn,
                struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"entryUUID", "rbInviteStatus", "rbInviteExpires", NULL};
	char *base = NULL, filter[160];
	json_t *map = NULL;
	const char *uuid, *status;
	time_t exp;
	size_t i;
	int rc = -1;

	*dn = NULL;
	for (i = 0; hash[i]; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
			break;
	if (i != 64 || hash[i] != '\0')
		return error_set(err, 404, NULL, "this link is not valid");
	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	base = dir_ou_dn(&op, "people");
	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	snprintf(filter, sizeof(filter), "(&(rbInviteTokenHash=%s)" DIR_PERSON_FILTER ")", hash);
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 2, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	map = e ? entry_to_map(op.conn->ld, e) : NULL;
	uuid = entry_map_first(map, "entryuuid");
	status = entry_map_first(map, "rbinvitestatus");
	if (uuid == NULL || strlen(uuid) != 36 || status == NULL || strcasecmp(status, "invited")) {
		error_set(err, 404, NULL,
		          "this link has been used or replaced by a newer invitation");
		goto done;
	}
	if (dir_gentime_parse(entry_map_first(map, "rbinviteexpires"), &exp) < 0 ||
	    exp <= time(NULL)) {
		error_set(err, 410, NULL, "this invitation link has expired");
		goto done;
	}
	memcpy(id, uuid, 37);
	*dn = strdup(entry_map_first(map, "dn"));
	if (*dn == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	rc = 0;
done:
	json_decref(map);
	ldap_msgfree(res);
	free(base);
	dir_op_end(&op);
	return rc;
}

int
dir_invite_accept(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	struct dir_op op;
	json_t *map = NULL;
	LDAPMod **mods = NULL;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	map = admin_person_map(&op, id, invite_attrs, err);
	if (map == NULL)
		goto done;
	mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbInviteStatus", "active");
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteTokenHash", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteExpires", NULL);
	mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteError", NULL);
	rc = admin_modify(&op, entry_map_first(map, "dn"), mods, NULL, err);
done:
	entry_mods_free(mods);
	json_decref(map);
	dir_op_end(&op);
	return rc;
}

int
dir_set_password(const struct dir_ctx *ctx, const char *dn, const char *password,
                 struct rb_error *err)
{
	struct dir_op op;
	int rc;

	if (password == NULL || *password == '\0')
		return error_set(err, 400, SCIM_INVALID_VALUE, "choose a password");
	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	rc = dir_password_set(&op, dn, password, err);
	dir_op_end(&op);
	if (rc < 0 && err->status != 503 && err->status != 500) {
		/* A quality rule of slapd (ppolicy) or a constraint: say it, as a form error. */
		char why[RB_ERROR_DETAIL_MAX];
		snprintf(why, sizeof(why), "%s", err->detail);
		error_clear(err);
		error_set(err, 400, SCIM_INVALID_VALUE, "the directory refused this password: %s",
		          why);
	}
	return rc;
}

int
dir_invite_issue_token(const struct dir_ctx *ctx, const char *dn, const char *hash, time_t expires,
                       struct rb_error *err)
{
	struct dir_op op;
	char *attrs[] = {"rbInviteStatus", "entryCSN", NULL};
	char tbuf[16];
	int rc = -1, attempt;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	dir_gentime(expires, tbuf);
	/*
	 * Read, then write asserted on the entryCSN read: a confirmation in
	 * between must not get a fresh link. Another change in between (a SCIM
	 * write) is only a reason to read again.
	 */
	for (attempt = 0; attempt < 3; attempt++) {
		LDAPMessage *res = NULL, *e;
		LDAPMod **mods = NULL;
		json_t *map = NULL;
		const char *status;

		if (dir_search(&op, dn, LDAP_SCOPE_BASE, DIR_PERSON_FILTER, attrs, NULL, 1, &res,
		               err) < 0)
			break;
		e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
		map = e ? entry_to_map(op.conn->ld, e) : NULL;
		ldap_msgfree(res);
		status = entry_map_first(map, "rbinvitestatus");
		if (status == NULL || strcasecmp(status, "invited")) {
			json_decref(map);
			rc = 1;
			break;
		}
		mods = admin_mod1(NULL, LDAP_MOD_REPLACE, "rbInviteTokenHash", hash);
		mods = admin_mod1(mods, LDAP_MOD_REPLACE, "rbInviteExpires", tbuf);
		rc = admin_modify(&op, dn, mods, entry_map_first(map, "entrycsn"), err);
		entry_mods_free(mods);
		json_decref(map);
		if (rc == 0 || err->status != 412)
			break;
		error_clear(err);
		rc = -1;
	}
	if (rc < 0 && !error_is_set(err))
		error_set(err, 409, NULL, "the person kept changing; will retry");
	dir_op_end(&op);
	return rc;
}
