/*
 * smtp.c — one SMTP delivery through libcurl; see mail.h.
 *
 * smtp_tls: "starttls" requires STARTTLS (CURLUSESSL_ALL: no cleartext
 * fallback), "tls" is implicit TLS (smtps://, port 465 usually), "none" is
 * cleartext (a relay on loopback). Certificates are verified (smtp_ca_file,
 * else the system's store). AUTH only when smtp_user is set. The reason of
 * a failure is libcurl's message (never the password).
 */
#include "mail/mail.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct smtp_read {
	const char *data;
	size_t len, pos;
};

static size_t
smtp_reader(char *buf, size_t size, size_t nitems, void *arg)
{
	struct smtp_read *r = arg;
	size_t room = size * nitems, n = r->len - r->pos;

	if (n > room)
		n = room;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	return n;
}

int
mail_smtp_send(const struct config *cfg, const char *from, const char *to, const char *message,
               char *why, size_t whylen)
{
	char url[512], addr[400], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct smtp_read r = {message, strlen(message), 0};
	bool tls = !strcmp(cfg->smtp_tls, "tls");
	CURLcode rc;
	CURL *c;

	if (cfg->smtp_host == NULL) {
		snprintf(why, whylen, "no SMTP server is configured (smtp_host)");
		return -1;
	}
	c = curl_easy_init();
	if (c == NULL) {
		snprintf(why, whylen, "libcurl could not start");
		return -1;
	}
	snprintf(url, sizeof(url), "%s://%s:%d", tls ? "smtps" : "smtp", cfg->smtp_host,
	         cfg->smtp_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg->smtp_timeout_s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	if (!strcmp(cfg->smtp_tls, "starttls"))
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->smtp_ca_file);
	if (cfg->smtp_user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	snprintf(addr, sizeof(addr), "<%s>", from);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	snprintf(addr, sizeof(addr), "<%s>", to);
	rcpt = curl_slist_append(NULL, addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp_reader);
	curl_easy_setopt(c, CURLOPT_READDATA, &r);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		snprintf(why, whylen, "%s:%d: %s", cfg->smtp_host, cfg->smtp_port,
		         ebuf[0] ? ebuf : curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}
