/*
 * mail.h — invitation e-mail (SPEC §4): the message, SMTP delivery through
 * libcurl, and the sender thread that works the directory outbox
 * (dir/outbox.c).
 *
 * Module map
 *   message.c   the multipart text + HTML message (HTML as a libxml2 tree)
 *   smtp.c      one delivery over SMTP (STARTTLS, implicit TLS or plain; AUTH)
 *   outbox.c    the sender thread: due messages, claim, token, send, retry
 */
#ifndef RB_MAIL_H
#define RB_MAIL_H

#include <stddef.h>
#include <time.h>

#include "dir/dir.h"
#include "lib/config.h"

/* What an invitation e-mail says. All borrowed. */
struct mail_invite {
	const char *from;         /* smtp_from */
	const char *to;           /* the invited address */
	const char *name;         /* the invited person's name */
	const char *organisation; /* the tenant's displayName */
	const char *link;         /* the confirm link (carries the one-time token) */
	time_t expires;
};

/*
 * mail_invite_message — the RFC 5322 message (CRLF line ends, multipart/
 * alternative: text/plain and text/html, UTF-8, base64 bodies), subject
 * "Action needed: Confirm your <organisation> Administrator account". NEW
 * malloc'd string, or NULL (allocation, or a header value with a line
 * break).
 */
char *mail_invite_message(const struct mail_invite *m);

/*
 * mail_smtp_send — deliver `message` to `to` through the configured SMTP
 * server. 0; or -1 with the reason (no secret in it) in why[whylen].
 */
int mail_smtp_send(const struct config *cfg, const char *from, const char *to, const char *message,
                   char *why, size_t whylen);

struct mail_outbox;

/*
 * mail_outbox_start — start the sender thread over `dir` (borrowed, must
 * outlive it). NEW; NULL on failure. It sends what is due at start (what
 * an earlier run left), then whenever kicked or every mail_retry_min_s.
 */
struct mail_outbox *mail_outbox_start(const struct config *cfg, struct dir *dir);
/* mail_outbox_kick — wake the sender now (after queueing). NULL is fine. */
void mail_outbox_kick(struct mail_outbox *ob);
/* mail_outbox_stop — finish the message in hand, stop and free. NULL is fine. */
void mail_outbox_stop(struct mail_outbox *ob);

#endif /* RB_MAIL_H */
