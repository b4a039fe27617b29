/*
 * session.c — console sessions and CSRF tokens; see console.h.
 *
 * The session id is 32 bytes of the GnuTLS RNG (GNUTLS_RND_KEY) in hex, in
 * an HttpOnly, SameSite=Strict cookie scoped to /console/<tenant> (Secure
 * when the daemon serves HTTPS). The directory stores only its SHA-256
 * (dir/session.c), so sessions are shared by every daemon and survive a
 * restart. A session ends after console_session_idle_s without use or
 * console_session_max_s after sign-in, at sign-out, or when the person is
 * gone; a sign-in always starts a new id.
 *
 * CSRF: every form carries SHA-256("csrf:" + the session id) — or, before
 * sign-in, of a pre-session cookie's random value — which a cross-site page
 * can neither read nor compute; a POST without it is refused (and the
 * cookies are SameSite=Strict besides).
 */
#include "console/console.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/admin.h"
#include "lib/log.h"

#define SESSION_TOUCH_S 60 /* write rbLastSeen at most this often */

void
sha256_hex(const char *s, char out[65])
{
	if (config_sha256_hex(s, strlen(s), out) < 0)
		out[0] = '\0';
}

static bool
session_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static int
session_random(char out[65])
{
	unsigned char buf[32];
	size_t i;

	if (gnutls_rnd(GNUTLS_RND_KEY, buf, sizeof(buf)) != 0)
		return -1;
	for (i = 0; i < sizeof(buf); i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	return 0;
}

/* Set-Cookie for `name`; value NULL clears it. */
static void
session_cookie(struct console_req *cr, const char *name, const char *value)
{
	char buf[400];

	snprintf(buf, sizeof(buf), "%s=%s; Path=%s; HttpOnly; SameSite=Strict%s%s", name,
	         value ? value : "", cr->prefix, cr->req->app->cfg->tls_cert_file ? "; Secure" : "",
	         value ? "" : "; Max-Age=0");
	response_header(cr->res, "Set-Cookie", buf);
}

static void
session_csrf(struct console_req *cr, const char *kind, const char *secret)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%s:%s", kind, secret);
	sha256_hex(buf, cr->csrf);
}

/* No session: the pre-session cookie (made if missing) keys the forms' CSRF token. */
static void
session_anonymous(struct console_req *cr, const char *cookies)
{
	char pre[80];

	cr->signed_in = false;
	if (!cookies || !cookie_get(cookies, CONSOLE_PRE_COOKIE, pre, sizeof(pre)) ||
	    !session_hex64(pre)) {
		if (session_random(pre) < 0) {
			cr->csrf[0] = '\0';
			return;
		}
		session_cookie(cr, CONSOLE_PRE_COOKIE, pre);
	}
	session_csrf(cr, "csrf-pre", pre);
}

static bool
session_grants_manage(const json_t *grants)
{
	const json_t *g;
	size_t i;

	json_array_foreach(grants, i,
	                   g) if (json_is_true(json_object_get(g, "active")) &&
	                          json_is_true(json_object_get(g, "canManageAdmins"))) return true;
	return false;
}

int
session_load(struct console_req *cr, struct rb_error *err)
{
	const char *cookies = request_header(cr->req, "Cookie");
	const struct config *cfg = cr->req->app->cfg;
	struct dir_session s;
	char hash[65], id[37];
	time_t now = time(NULL);
	int rc;

	cr->sid[0] = '\0';
	if (!cookies || !cookie_get(cookies, CONSOLE_COOKIE, cr->sid, sizeof(cr->sid)) ||
	    !session_hex64(cr->sid)) {
		cr->sid[0] = '\0';
		session_anonymous(cr, cookies);
		return 0;
	}
	sha256_hex(cr->sid, hash);
	rc = dir_session_get(&cr->ctx, hash, &s, err);
	if (rc < 0)
		return -1;
	if (rc == 1 || strcmp(s.tenant, cr->tenant) != 0) {
		/* Unknown, or another tenant's: not signed in here (that session lives on). */
		if (rc == 1)
			session_cookie(cr, CONSOLE_COOKIE, NULL);
		cr->sid[0] = '\0';
		session_anonymous(cr, cookies);
		return 0;
	}
	if (now >= s.expires || (s.last_seen && now - s.last_seen > cfg->console_session_idle_s)) {
		if (dir_session_delete(&cr->ctx, hash, err) < 0)
			return -1;
		session_cookie(cr, CONSOLE_COOKIE, NULL);
		cr->sid[0] = '\0';
		session_anonymous(cr, cookies);
		return 0;
	}
	if (dir_person_id(&cr->ctx, s.owner_dn, id, err) < 0 ||
	    (cr->actor = dir_user_get(&cr->ctx, id, err)) == NULL) {
		if (err->status != 404)
			return -1;
		error_clear(err); /* the person is gone: so is the session */
		dir_session_delete(&cr->ctx, hash, err);
		error_clear(err);
		session_cookie(cr, CONSOLE_COOKIE, NULL);
		cr->sid[0] = '\0';
		session_anonymous(cr, cookies);
		return 0;
	}
	if (now - s.last_seen >= SESSION_TOUCH_S && dir_session_touch(&cr->ctx, hash, now, err) < 0)
		return -1;
	cr->actor_dn = strdup(s.owner_dn);
	cr->grants = json_object_get(json_object_get(cr->actor, SCHEMA_ADMIN_USER), "grants");
	cr->can_manage = session_grants_manage(cr->grants);
	cr->signed_in = cr->actor_dn != NULL;
	session_csrf(cr, "csrf", cr->sid);
	return 0;
}

int
session_start(struct console_req *cr, const char *dn, struct rb_error *err)
{
	const struct config *cfg = cr->req->app->cfg;
	char sid[65], hash[65];
	time_t now = time(NULL);

	if (cr->sid[0] != '\0') { /* never keep an id across a sign-in */
		sha256_hex(cr->sid, hash);
		if (dir_session_delete(&cr->ctx, hash, err) < 0)
			return -1;
	}
	if (session_random(sid) < 0)
		return error_set(err, 500, NULL, "no random numbers");
	sha256_hex(sid, hash);
	if (dir_session_create(&cr->ctx, hash, dn, now + cfg->console_session_max_s, now, err) < 0)
		return -1;
	session_cookie(cr, CONSOLE_COOKIE, sid);
	session_cookie(cr, CONSOLE_PRE_COOKIE, NULL);
	memcpy(cr->sid, sid, sizeof(sid));
	session_csrf(cr, "csrf", cr->sid);
	return 0;
}

void
session_end(struct console_req *cr)
{
	struct rb_error err;
	char hash[65];

	error_clear(&err);
	if (cr->sid[0] != '\0') {
		sha256_hex(cr->sid, hash);
		if (dir_session_delete(&cr->ctx, hash, &err) < 0)
			log_warnx("console: sign-out: %s", err.detail);
	}
	session_cookie(cr, CONSOLE_COOKIE, NULL);
	cr->sid[0] = '\0';
	cr->signed_in = false;
}

bool
csrf_ok(const struct console_req *cr)
{
	const char *given = form_get(cr->form, "csrf");
	unsigned char diff = 0;
	size_t i;

	if (given == NULL || cr->csrf[0] == '\0' || strlen(given) != 64)
		return false;
	for (i = 0; i < 64; i++) /* constant time */
		diff |= (unsigned char)(given[i] ^ cr->csrf[i]);
	return diff == 0;
}
