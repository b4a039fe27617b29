/*
 * message.c — the invitation e-mail; see mail.h.
 *
 * multipart/alternative with a text/plain and a text/html part, both UTF-8
 * and base64 (any name, any organisation, no line-length or 8-bit
 * worries). The HTML part is a libxml2 tree like the console's pages, so
 * names are data, never markup. Header values that come from the directory
 * (organisation, name) are RFC 2047 encoded words; a line break in one is
 * refused (no header injection).
 */
#include "mail/mail.h"

#include <gnutls/crypto.h>
#include <libxml/HTMLtree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"

#define X(s) ((const xmlChar *)(s))

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append base64 of data; with wrap, CRLF every 76 characters. */
static void
message_base64(struct strbuf *b, const unsigned char *d, size_t n, bool wrap)
{
	size_t i, col = 0;
	char q[4];

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		strbuf_addn(b, q, 4);
		col += 4;
		if (wrap && col >= 76) {
			strbuf_add(b, "\r\n");
			col = 0;
		}
	}
	if (wrap && col)
		strbuf_add(b, "\r\n");
}

/* An unstructured header value: plain if printable ASCII, else one encoded word. */
static void
message_header_text(struct strbuf *b, const char *s)
{
	const unsigned char *p;
	bool plain = true;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 32 || *p > 126)
			plain = false;
	if (plain) {
		strbuf_add(b, s);
		return;
	}
	strbuf_add(b, "=?UTF-8?B?");
	message_base64(b, (const unsigned char *)s, strlen(s), false);
	strbuf_add(b, "?=");
}

static bool
message_one_line(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

static char *
message_html(const struct mail_invite *m, const char *when)
{
	htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
	xmlNodePtr html, head, body, p, a, meta;
	xmlChar *mem = NULL;
	int size = 0;
	char buf[512], *out = NULL;

	html = xmlNewNode(NULL, X("html"));
	xmlDocSetRootElement(doc, html);
	head = xmlNewTextChild(html, NULL, X("head"), NULL);
	meta = xmlNewTextChild(head, NULL, X("meta"), NULL);
	xmlSetProp(meta, X("charset"), X("utf-8"));
	xmlNewTextChild(head, NULL, X("title"), X("Confirm your account"));
	body = xmlNewTextChild(html, NULL, X("body"), NULL);
	xmlSetProp(body, X("style"), X("font-family:sans-serif;color:#21242c"));
	snprintf(buf, sizeof(buf), "Hello %s,", m->name);
	xmlNewTextChild(body, NULL, X("p"), X(buf));
	snprintf(buf, sizeof(buf),
	         "You have been invited to be an administrator of %s. Confirm your account to "
	         "sign in to the administrator dashboard.",
	         m->organisation);
	xmlNewTextChild(body, NULL, X("p"), X(buf));
	p = xmlNewTextChild(body, NULL, X("p"), NULL);
	a = xmlNewTextChild(p, NULL, X("a"), X("Confirm your account"));
	xmlSetProp(a, X("href"), X(m->link));
	xmlSetProp(a, X("style"),
	           X("background:#1865f2;color:#fff;padding:10px 16px;"
	             "border-radius:4px;text-decoration:none;display:inline-block"));
	snprintf(buf, sizeof(buf), "The link works once and until %s.", when);
	xmlNewTextChild(body, NULL, X("p"), X(buf));
	xmlNewTextChild(body, NULL, X("p"),
	                X("If you did not expect this e-mail, you can ignore it."));
	htmlDocDumpMemoryFormat(doc, &mem, &size, 0);
	xmlFreeDoc(doc);
	if (mem != NULL) {
		out = malloc((size_t)size + 1);
		if (out != NULL) {
			memcpy(out, mem, (size_t)size);
			out[size] = '\0';
		}
	}
	xmlFree(mem);
	return out;
}

char *
mail_invite_message(const struct mail_invite *m)
{
	struct strbuf b = {0}, text = {0};
	unsigned char rnd[12];
	char boundary[64], when[64], date[64], msgid[96], subject[512];
	char *html = NULL;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	if (!message_one_line(m->from) || !message_one_line(m->to) || !message_one_line(m->name) ||
	    !message_one_line(m->organisation) || !message_one_line(m->link) ||
	    gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) != 0)
		return NULL;
	gmtime_r(&m->expires, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "=_rb_");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(boundary + 5 + 2 * i, 3, "%02x", rnd[i]);
	snprintf(msgid, sizeof(msgid), "<%s@rosterbridge>", boundary + 5);
	snprintf(subject, sizeof(subject), "Action needed: Confirm your %s Administrator account",
	         m->organisation);

	strbuf_add(&text, "Hello ");
	strbuf_add(&text, m->name);
	strbuf_add(&text, ",\r\n\r\nYou have been invited to be an administrator of ");
	strbuf_add(&text, m->organisation);
	strbuf_add(&text,
	           ". Confirm your account to sign in to the administrator dashboard:\r\n\r\n"
	           "Confirm your account: ");
	strbuf_add(&text, m->link);
	strbuf_add(&text, "\r\n\r\nThe link works once and until ");
	strbuf_add(&text, when);
	strbuf_add(&text, ".\r\nIf you did not expect this e-mail, you can ignore it.\r\n");
	html = message_html(m, when);
	if (text.failed || html == NULL)
		goto fail;

	strbuf_add(&b, "From: ");
	strbuf_add(&b, m->from);
	strbuf_add(&b, "\r\nTo: ");
	strbuf_add(&b, m->to);
	strbuf_add(&b, "\r\nSubject: ");
	message_header_text(&b, subject);
	strbuf_add(&b, "\r\nDate: ");
	strbuf_add(&b, date);
	strbuf_add(&b, "\r\nMessage-ID: ");
	strbuf_add(&b, msgid);
	strbuf_add(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
	               "boundary=\"");
	strbuf_add(&b, boundary);
	strbuf_add(&b, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--");
	strbuf_add(&b, boundary);
	strbuf_add(&b, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	               "Content-Transfer-Encoding: base64\r\n\r\n");
	message_base64(&b, (const unsigned char *)text.s, text.len, true);
	strbuf_add(&b, "--");
	strbuf_add(&b, boundary);
	strbuf_add(&b, "\r\nContent-Type: text/html; charset=UTF-8\r\n"
	               "Content-Transfer-Encoding: base64\r\n\r\n");
	message_base64(&b, (const unsigned char *)html, strlen(html), true);
	strbuf_add(&b, "--");
	strbuf_add(&b, boundary);
	strbuf_add(&b, "--\r\n");
	if (b.failed)
		goto fail;
	free(text.s);
	free(html);
	return b.s;
fail:
	free(b.s);
	free(text.s);
	free(html);
	return NULL;
}
