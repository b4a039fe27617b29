/*
 * outbox.c — the sender thread; see mail.h.
 *
 * Each round reads the due messages of every tenant (dir_outbox_due) and,
 * for each, claims it (an asserted write: with several daemons exactly one
 * wins), makes the link token and stores its hash on the person
 * (dir_invite_issue_token: the previous link dies), builds the message and
 * hands it to the SMTP server. Accepted: the message is deleted. Refused or
 * unreachable: back in the queue, due after mail_retry_min_s doubling per
 * attempt up to mail_retry_max_s, its reason on the person for the console.
 * A daemon stopped while sending leaves a claim that runs out, so the
 * message is sent by whoever runs next; the token is only ever in the
 * e-mail. Each round also deletes the console sessions that are over
 * (dir_session_purge).
 */
#include "mail/mail.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/admin.h"
#include "engine/schema.h"
#include "lib/log.h"

#define OUTBOX_BATCH 20

struct mail_outbox {
	const struct config *cfg;
	struct dir *dir;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, kicked;
};

static time_t
outbox_backoff(const struct config *cfg, json_int_t attempts)
{
	time_t d = cfg->mail_retry_min_s;

	while (attempts-- > 0 && d < cfg->mail_retry_max_s)
		d *= 2;
	return d > cfg->mail_retry_max_s ? cfg->mail_retry_max_s : d;
}

/* The person's name and the organisation's, for the message. NEW strings into *name, *org. */
static int
outbox_names(const struct dir_ctx *ctx, const char *dn, char **name, char **org,
             struct rb_error *err)
{
	char id[37];
	json_t *user = NULL, *t = NULL;
	const char *n;

	*name = *org = NULL;
	if (dir_person_id(ctx, dn, id, err) < 0 || (user = dir_user_get(ctx, id, err)) == NULL ||
	    (t = dir_tenant_info(ctx, err)) == NULL)
		goto done;
	n = json_string_value(json_object_get(user, "displayName"));
	if (n == NULL)
		n = json_string_value(json_object_get(user, "userName"));
	*name = strdup(n ? n : "");
	*org = strdup(json_string_value(json_object_get(t, "name")));
done:
	json_decref(user);
	json_decref(t);
	if (*name == NULL || *org == NULL) {
		free(*name);
		free(*org);
		*name = *org = NULL;
		return error_set(err, 500, NULL, "cannot read the invited person");
	}
	return 0;
}

/* Send one due message. */
static void
outbox_one(struct mail_outbox *ob, const json_t *msg)
{
	const struct config *cfg = ob->cfg;
	const char *tenant = json_string_value(json_object_get(msg, "tenant"));
	const char *owner = json_string_value(json_object_get(msg, "owner"));
	const char *to = json_string_value(json_object_get(msg, "to"));
	const struct config_tenant *t = config_tenant_find(cfg, tenant);
	struct dir_ctx ctx;
	struct rb_error err;
	char token[65], hash[65], why[600], link[1024];
	char *name = NULL, *org = NULL, *message = NULL;
	time_t now = time(NULL), expires = now + (time_t)cfg->invite_expiry_hours * 3600;
	int rc;

	if (t == NULL) {
		log_warnx("mail: a queued message of tenant %s, which this daemon does not serve",
		          tenant);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.dir = ob->dir;
	ctx.tenant = t->name;
	ctx.source = DIR_INPRODUCT;
	ctx.base_url = cfg->base_url;
	error_clear(&err);
	rc = dir_outbox_claim(&ctx, msg, now + 2L * cfg->smtp_timeout_s + 30, &err);
	if (rc != 0) {
		if (rc < 0)
			log_warnx("mail: claiming a message: %s", err.detail);
		return; /* 1: another daemon has it */
	}
	{
		/* 32 random bytes in hex: the one-time link token. */
		unsigned char rnd[32];
		size_t i;
		if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd)) != 0) {
			snprintf(why, sizeof(why), "no random numbers");
			goto failed;
		}
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	}
	if (config_sha256_hex(token, strlen(token), hash) < 0) {
		snprintf(why, sizeof(why), "cannot hash the token");
		goto failed;
	}
	rc = dir_invite_issue_token(&ctx, owner, hash, expires, &err);
	if (rc == 1) { /* confirmed or removed meanwhile: nothing to send */
		if (dir_outbox_sent(&ctx, msg, &err) < 0)
			log_warnx("mail: dropping a message: %s", err.detail);
		goto done;
	}
	if (rc < 0 || outbox_names(&ctx, owner, &name, &org, &err) < 0) {
		snprintf(why, sizeof(why), "directory: %.500s", err.detail);
		goto failed;
	}
	snprintf(link, sizeof(link), "%s/console/%s/confirm?token=%s", cfg->base_url, t->name,
	         token);
	{
		struct mail_invite m = {cfg->smtp_from ? cfg->smtp_from : "rosterbridge@localhost",
		                        to,
		                        name,
		                        org,
		                        link,
		                        expires};
		message = mail_invite_message(&m);
	}
	if (message == NULL) {
		snprintf(why, sizeof(why),
		         "the message could not be built (a line break in a name?)");
		goto failed;
	}
	if (mail_smtp_send(cfg, cfg->smtp_from ? cfg->smtp_from : "rosterbridge@localhost", to,
	                   message, why, sizeof(why)) < 0)
		goto failed;
	error_clear(&err);
	if (dir_outbox_sent(&ctx, msg, &err) < 0)
		log_warnx("mail: sent, but the outbox entry stays (%s): it may be sent again",
		          err.detail);
	log_info("mail: invitation sent (tenant %s, attempt %lld)", t->name,
	         (long long)json_integer_value(json_object_get(msg, "attempts")) + 1);
	goto done;
failed : {
	time_t next =
	    time(NULL) + outbox_backoff(cfg, json_integer_value(json_object_get(msg, "attempts")));
	log_warnx("mail: delivery failed (tenant %s): %s; next attempt in %lds", t->name, why,
	          (long)(next - time(NULL)));
	error_clear(&err);
	if (dir_outbox_failed(&ctx, msg, next, why, &err) < 0)
		log_warnx("mail: recording the failure: %s", err.detail);
}
done:
	explicit_bzero(token, sizeof(token));
	free(message);
	free(name);
	free(org);
}

/* One round: every due message (in batches). */
static void
outbox_round(struct mail_outbox *ob)
{
	struct dir_ctx ctx;
	struct rb_error err;
	json_t *due;
	const json_t *m;
	size_t i, n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.dir = ob->dir;
	ctx.tenant = ob->cfg->tenants[0].name; /* unused: the outbox is not inside a tenant */
	ctx.source = DIR_INPRODUCT;
	ctx.base_url = ob->cfg->base_url;
	{
		/* Housekeeping on the same round: console sessions nobody will present again. */
		long purged = 0;
		error_clear(&err);
		if (dir_session_purge(&ctx, time(NULL), ob->cfg->console_session_idle_s, &purged,
		                      &err) < 0)
			log_debug("console: purging sessions: %s", err.detail);
		else if (purged > 0)
			log_info("console: %ld expired session%s removed", purged,
			         purged == 1 ? "" : "s");
	}
	do {
		error_clear(&err);
		due = dir_outbox_due(&ctx, time(NULL), OUTBOX_BATCH, &err);
		if (due == NULL) {
			log_debug("mail: reading the outbox: %s", err.detail);
			return;
		}
		n = json_array_size(due);
		json_array_foreach(due, i, m)
		{
			outbox_one(ob, m);
			pthread_mutex_lock(&ob->mu);
			if (ob->stop)
				n = 0;
			pthread_mutex_unlock(&ob->mu);
			if (n == 0)
				break;
		}
		json_decref(due);
	} while (n == OUTBOX_BATCH);
}

static void *
outbox_main(void *arg)
{
	struct mail_outbox *ob = arg;

	for (;;) {
		struct timespec until;
		pthread_mutex_lock(&ob->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ob->cfg->mail_retry_min_s;
		while (!ob->stop && !ob->kicked)
			if (pthread_cond_timedwait(&ob->cond, &ob->mu, &until) == ETIMEDOUT)
				break;
		ob->kicked = false;
		if (ob->stop) {
			pthread_mutex_unlock(&ob->mu);
			break;
		}
		pthread_mutex_unlock(&ob->mu);
		outbox_round(ob);
	}
	return NULL;
}

struct mail_outbox *
mail_outbox_start(const struct config *cfg, struct dir *dir)
{
	struct mail_outbox *ob = calloc(1, sizeof(*ob));

	if (ob == NULL)
		return NULL;
	ob->cfg = cfg;
	ob->dir = dir;
	ob->kicked = true; /* send what an earlier run left, at once */
	pthread_mutex_init(&ob->mu, NULL);
	pthread_cond_init(&ob->cond, NULL);
	if (pthread_create(&ob->thread, NULL, outbox_main, ob) != 0) {
		pthread_mutex_destroy(&ob->mu);
		pthread_cond_destroy(&ob->cond);
		free(ob);
		return NULL;
	}
	return ob;
}

void
mail_outbox_kick(struct mail_outbox *ob)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->mu);
	ob->kicked = true;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->mu);
}

void
mail_outbox_stop(struct mail_outbox *ob)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->mu);
	ob->stop = true;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->mu);
	pthread_join(ob->thread, NULL);
	pthread_mutex_destroy(&ob->mu);
	pthread_cond_destroy(&ob->cond);
	free(ob);
}
