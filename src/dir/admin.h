/*
 * admin.h — the directory side of in-product rostering (SPEC §4, issue 13):
 * console sign-in and sessions, the administrators list, invitations and
 * their outbox. The console (src/console) and the mail sender (src/mail)
 * reach the directory only through these functions and dir.h; grants are
 * written by the same users.c flows the SCIM side uses (source
 * "in-product"), and the no-escalation rule is grants_may_grant (grants.h).
 *
 * Where things live
 *   ou=sessions,ou=console,<suffix>  cn=<hex SHA-256 of a session id>
 *                                    (rbConsoleSession): tenant, person DN,
 *                                    absolute expiry, last use
 *   ou=outbox,ou=console,<suffix>    cn=<random> (rbOutboxMessage): one
 *                                    e-mail to send (tenant, person, address,
 *                                    state, attempts, next attempt, last error)
 *   the person                       rbInviteStatus, rbInviteMail,
 *                                    rbInviteTokenHash (hex SHA-256 of the
 *                                    link token; ACL: service account only),
 *                                    rbInviteExpires, rbInviteError
 * Neither container matches the tenant ACL rule, so only the service
 * account reads them; both are created on first use. No raw secret is ever
 * stored: the session id and the link token exist only in the browser and
 * in the e-mail. The link token is made when a message is sent (not when
 * it is queued), so the outbox holds no secret either.
 *
 * Module map
 *   session.c   sessions, sign-in (the person's own bind), GeneralizedTime
 *   admins.c    the administrators list, schools, regions, tenant
 *   invite.c    invitation state, tokens, confirmation, password
 *   invitations.c  inviting and resending (the console's and the API's one
 *               path): the no-escalation check, person and grant, the mark
 *   outbox.c    the outbox: queue, due, claim (assertion), done, failed
 */
#ifndef RB_DIR_ADMIN_H
#define RB_DIR_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "dir/dir.h"
#include "lib/error.h"

#define DIR_INPRODUCT "in-product"
#define DIR_HASH_HEX 65 /* hex SHA-256 + NUL */

/* ---- session.c ---- */

/* dir_gentime — t as GeneralizedTime "YYYYMMDDHHMMSSZ" into out[16]. */
void dir_gentime(time_t t, char out[16]);
/* dir_gentime_parse — GeneralizedTime (fraction ignored) → *t. 0 or -1. */
int dir_gentime_parse(const char *s, time_t *t);

struct dir_session {
	char tenant[64];
	char owner_dn[1024];
	time_t expires;   /* absolute */
	time_t last_seen; /* 0 when never touched */
};

/*
 * dir_signin — find the person of ctx's tenant whose uid or e-mail is
 * `login` (exactly one) and bind as them with `password` (pool_check_password:
 * slapd decides; ppolicy lockout and rbBindLocked refuse there). Returns the
 * person's DN (NEW, malloc'd), or NULL with *err 401 (one message for every
 * refusal) or 503.
 */
char *dir_signin(const struct dir_ctx *ctx, const char *login, const char *password,
                 struct rb_error *err);

/* dir_session_create — store a session `hash` (hex) of ctx's tenant for `owner_dn`. 0/-1. */
int dir_session_create(const struct dir_ctx *ctx, const char *hash, const char *owner_dn,
                       time_t expires, time_t now, struct rb_error *err);
/*
 * dir_session_get — the session stored under `hash` into *out. 0; 1 when
 * there is none; -1 with *err.
 */
int dir_session_get(const struct dir_ctx *ctx, const char *hash, struct dir_session *out,
                    struct rb_error *err);
/* dir_session_touch — rbLastSeen := now. 0/-1. */
int dir_session_touch(const struct dir_ctx *ctx, const char *hash, time_t now,
                      struct rb_error *err);
/* dir_session_delete — remove the session (absent is fine). 0/-1. */
int dir_session_delete(const struct dir_ctx *ctx, const char *hash, struct rb_error *err);

/*
 * dir_session_purge — delete the sessions (of every tenant) past their
 * absolute expiry or unused for `idle_s` (at most 1,000 a call; the sender
 * thread calls it each round), counting them in *purged. Sessions nobody
 * presents again would otherwise stay. 0/-1.
 */
int dir_session_purge(const struct dir_ctx *ctx, time_t now, int idle_s, long *purged,
                      struct rb_error *err);

/* ---- admins.c ---- */

/*
 * dir_person_id — the entryUUID of the person at `dn` (borrowed) in ctx's
 * tenant into out[37]. 0, or -1 with *err (404).
 */
int dir_person_id(const struct dir_ctx *ctx, const char *dn, char out[37], struct rb_error *err);

/*
 * dir_tenant_info — a NEW object {name (displayName or the tenant name),
 * kind ("district"|"partnership")} of ctx's tenant, or NULL with *err.
 */
json_t *dir_tenant_info(const struct dir_ctx *ctx, struct rb_error *err);

/*
 * dir_schools_all — every school of the tenant as a NEW array of {id, name,
 * region (or null)} sorted by name; dir_regions_all — every region as
 * {id, name}. NULL with *err.
 */
json_t *dir_schools_all(const struct dir_ctx *ctx, struct rb_error *err);
json_t *dir_regions_all(const struct dir_ctx *ctx, struct rb_error *err);

/* What the administrators list asks for. */
struct dir_admin_query {
	const char *search; /* substring of name or e-mail, or NULL */
	const char *sort;   /* "name" (default), "email" or "status" */
	bool descending;
	long offset, count; /* 0-based page start, page size */
	/* The viewer's scope: all schools, or these (borrowed arrays of strings). */
	bool all;
	const json_t *schools; /* school entryUUIDs the viewer covers */
	const json_t *regions; /* region ids the viewer covers (wholly or by a school) */
};

/*
 * dir_admin_list — the page of administrators (people holding a grant of
 * any source, active or not) whose grants overlap the viewer's scope,
 * filtered by q->search, sorted, as a NEW array of full SCIM Users (grants
 * of every source in the admin extension) plus each one's invitation state
 * under "invite" ({status, mail, expires, error} or null). *total is the
 * number of matches. One LDAP search for the matches (name, e-mail and
 * status only), then one read per person on the page.
 */
json_t *dir_admin_list(const struct dir_ctx *ctx, const struct dir_admin_query *q, long *total,
                       struct rb_error *err);

/*
 * dir_admin_invite_state — {status, mail, expires (unix seconds), error} of
 * the person `id`, or JSON null if it was never invited. NEW; NULL with *err.
 */
json_t *dir_admin_invite_state(const struct dir_ctx *ctx, const char *id, struct rb_error *err);

/* ---- invite.c ---- */

/*
 * dir_person_by_mail — the entryUUID of the person of the tenant with
 * e-mail (or userName) `mail` into out[37]: 0 found, 1 none, -1 *err.
 */
int dir_person_by_mail(const struct dir_ctx *ctx, const char *mail, char out[37],
                       struct rb_error *err);

/*
 * dir_invite_mark — the person `id` is invited at `mail` (borrowed):
 * rbInviteStatus invited, rbInviteMail, any previous link token voided,
 * and one invitation queued in the outbox (older queued ones for the
 * person are dropped). Resend is the same call. 0 or -1 with *err.
 */
int dir_invite_mark(const struct dir_ctx *ctx, const char *id, const char *mail,
                    struct rb_error *err);

/*
 * dir_invite_clear — forget the invitation of person `id`: status, token,
 * error and queued messages (when its in-product access is removed). 0/-1.
 */
int dir_invite_clear(const struct dir_ctx *ctx, const char *id, struct rb_error *err);

/*
 * dir_invite_find — the invitation whose token hashes to `hash` (hex):
 * the person's entryUUID into id[37] and DN into a NEW *dn. 0; -1 with
 * *err 404 (no such link: used, voided or never issued) or 410 (expired).
 */
int dir_invite_find(const struct dir_ctx *ctx, const char *hash, char id[37], char **dn,
                    struct rb_error *err);

/*
 * dir_invite_accept — the invitation of `id` is confirmed: status active,
 * token and error removed. 0/-1.
 */
int dir_invite_accept(const struct dir_ctx *ctx, const char *id, struct rb_error *err);

/*
 * dir_set_password — set the password of `dn` through the password-modify
 * extended operation (RFC 3062, ldap_passwd): slapd hashes it and applies
 * ppolicy's quality rules (a refusal is 400 with slapd's reason). 0/-1.
 */
int dir_set_password(const struct dir_ctx *ctx, const char *dn, const char *password,
                     struct rb_error *err);

/*
 * dir_invite_issue_token — for sending: if the person at `dn` is still
 * invited, store `hash` (hex) and `expires` as its only valid link (the
 * previous one is void). 0 stored; 1 the person is no longer invited (or
 * gone): send nothing; -1 *err.
 */
int dir_invite_issue_token(const struct dir_ctx *ctx, const char *dn, const char *hash,
                           time_t expires, struct rb_error *err);

/* ---- invitations.c ---- */

/* dir_email_valid — is `s` an address an invitation may go to (one rule for every caller)? */
bool dir_email_valid(const char *s);

/*
 * dir_inproduct_grant — the in-product direct grant among the `grants` of
 * `user` (a SCIM User; borrowed), or NULL.
 */
const json_t *dir_inproduct_grant(const json_t *user);

/*
 * dir_may_grant — may an actor holding `actor` (grants_list shape:
 * borrowed) give, change or remove `grant`? grants_may_grant with the
 * regions of the tenant's schools: `schools` is dir_schools_all's array
 * (borrowed; NULL: read here). 0, or -1 with *err (403 saying what is
 * beyond the actor's rights, or the directory's error).
 */
int dir_may_grant(const struct dir_ctx *ctx, const json_t *actor, const json_t *grant,
                  const json_t *schools, struct rb_error *err);

/*
 * dir_grant_patch — the SCIM PATCH body that writes `grant` (scope,
 * schools, region, permission, canManageAdmins) as the caller's direct
 * grant, and `active` unless it is -1. NEW.
 */
json_t *dir_grant_patch(const json_t *grant, int active);

/*
 * dir_admin_invite — invite `email` (named `name`; both borrowed) with the
 * in-product grant `grant` on behalf of an actor holding `actor`:
 * dir_may_grant first, then the person of the tenant with that e-mail gets
 * the grant (one person, one entry) or is created with it, inactive until
 * confirmed, and the invitation is queued (dir_invite_mark). ctx's source
 * must be in-product. *user: the NEW SCIM User afterwards. 0, or -1 with
 * *err: 400 (name, e-mail), 403 (escalation), 409 uniqueness (the person
 * already has in-product access), or the directory's error.
 */
int dir_admin_invite(const struct dir_ctx *ctx, const json_t *actor, const char *name,
                     const char *email, const json_t *grant, const json_t *schools, json_t **user,
                     struct rb_error *err);

/*
 * dir_admin_resend — a new link for the invitation of person `id` (the old
 * one dies): their in-product grant must pass dir_may_grant for `actor`,
 * and the invitation must not be confirmed yet (an expired one may be
 * resent). *user: the NEW SCIM User. 0, or -1 with *err: 404 (no such
 * person, or no in-product access), 403, 409 (confirmed already).
 */
int dir_admin_resend(const struct dir_ctx *ctx, const json_t *actor, const char *id,
                     const json_t *schools, json_t **user, struct rb_error *err);

/* ---- outbox.c ---- */

/*
 * dir_outbox_queue — queue an e-mail of `kind` to `to` about the person at
 * `owner_dn`, due now. 0/-1.
 */
int dir_outbox_queue(const struct dir_ctx *ctx, const char *owner_dn, const char *kind,
                     const char *to, struct rb_error *err);

/* dir_outbox_drop — remove every message about `owner_dn` still queued. 0/-1. */
int dir_outbox_drop(const struct dir_ctx *ctx, const char *owner_dn, struct rb_error *err);

/*
 * dir_outbox_due — messages (of every tenant) not sent whose next attempt is
 * at or before `now`, at most `max`: a NEW array of {dn, csn, tenant, owner,
 * kind, to, attempts}. `ctx` gives the directory (its tenant is unused).
 */
json_t *dir_outbox_due(const struct dir_ctx *ctx, time_t now, int max, struct rb_error *err);

/*
 * dir_outbox_claim — take message `msg` (from dir_outbox_due) for sending
 * until `until`, with an LDAP assertion on the entryCSN read: two daemons
 * never both win. 0 claimed; 1 another daemon was first; -1 *err.
 */
int dir_outbox_claim(const struct dir_ctx *ctx, const json_t *msg, time_t until,
                     struct rb_error *err);

/* dir_outbox_sent — the message was accepted by the SMTP server: delete it, clear the
 * person's rbInviteError. 0/-1. */
int dir_outbox_sent(const struct dir_ctx *ctx, const json_t *msg, struct rb_error *err);

/*
 * dir_outbox_failed — delivery failed with `why`: back to queued with the
 * attempt counted, due again at `next`; the person's rbInviteError says
 * why. 0/-1.
 */
int dir_outbox_failed(const struct dir_ctx *ctx, const json_t *msg, time_t next, const char *why,
                      struct rb_error *err);

/* dir_outbox_pending — number of unsent messages about `owner_dn` (tests, console). */
long dir_outbox_pending(const struct dir_ctx *ctx, const char *owner_dn, struct rb_error *err);

#endif /* RB_DIR_ADMIN_H */
