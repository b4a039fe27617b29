/*
 * test_console.c — the console's form and cookie parsing, and the
 * invitation e-mail, without a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "console/console.h"
#include "mail/mail.h"

static void
test_form_parse(void **state)
{
	static const char body[] = "name=Ivy+%3Cb%3EInv%3C%2Fb%3E&school=a&school=b&empty=&flag"
	                           "&pct=100%25&bad=%zz&&utf=%C3%A9";
	json_t *f = form_parse(body, strlen(body));

	(void)state;
	assert_non_null(f);
	assert_string_equal(form_get(f, "name"), "Ivy <b>Inv</b>");
	assert_int_equal(json_array_size(form_all(f, "school")), 2);
	assert_string_equal(json_string_value(json_array_get(form_all(f, "school"), 1)), "b");
	assert_string_equal(form_get(f, "empty"), "");
	assert_string_equal(form_get(f, "flag"), "");
	assert_string_equal(form_get(f, "pct"), "100%");
	assert_string_equal(form_get(f, "bad"), "%zz"); /* not an escape: kept as is */
	assert_string_equal(form_get(f, "utf"), "\xc3\xa9");
	assert_null(form_get(f, "missing"));
	json_decref(f);
	/* Invalid UTF-8 and NUL bytes are refused. */
	assert_null(form_parse("a=%C3", 5));
	assert_null(form_parse("a=%00", 5));
	/* A truncated escape at the end is literal. */
	f = form_parse("a=%4", 4);
	assert_string_equal(form_get(f, "a"), "%4");
	json_decref(f);
}

static void
test_cookies(void **state)
{
	char v[65];

	(void)state;
	assert_true(cookie_get("a=1; rb_session=abc; b=2", "rb_session", v, sizeof(v)));
	assert_string_equal(v, "abc");
	assert_true(cookie_get("rb_session=x", "rb_session", v, sizeof(v)));
	assert_string_equal(v, "x");
	assert_false(cookie_get("xrb_session=abc", "rb_session", v, sizeof(v)));
	assert_false(cookie_get("rb_sessionx=abc", "rb_session", v, sizeof(v)));
	assert_false(cookie_get("", "rb_session", v, sizeof(v)));
	assert_false(cookie_get("rb_session=0123456789", "rb_session", v, 5)); /* too long */
}

static void
test_url_encode(void **state)
{
	char *s = url_encode("a b&c=d/é~");

	(void)state;
	assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9~");
	free(s);
}

/* The decoded base64 body of the part whose Content-Type starts with `type`. */
static char *
part_of(const char *msg, const char *type)
{
	const char *p = strstr(msg, type), *body, *end;
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out;
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;

	if (p == NULL || (body = strstr(p, "\r\n\r\n")) == NULL)
		return NULL;
	body += 4;
	end = strstr(body, "--=_rb_");
	out = calloc(1, (size_t)(end - body) + 1);
	for (; body < end; body++) {
		const char *c = *body ? strchr(b64, *body) : NULL;
		if (c == NULL)
			continue;
		acc = (acc << 6) | (unsigned)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	return out;
}

static void
test_invite_message(void **state)
{
	struct mail_invite m = {"noreply@example.org",
	                        "ivy@example.org",
	                        "Ivy <b>Inv</b>",
	                        "Lincoln Élémentaire",
	                        "http://h/console/demo/confirm?token=abc&x=1",
	                        1800000000};
	char *msg = mail_invite_message(&m), *text, *html;

	(void)state;
	assert_non_null(msg);
	assert_non_null(strstr(msg, "From: noreply@example.org\r\n"));
	assert_non_null(strstr(msg, "To: ivy@example.org\r\n"));
	/* Non-ASCII organisation: the subject is one RFC 2047 encoded word. */
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "multipart/alternative"));
	text = part_of(msg, "Content-Type: text/plain");
	html = part_of(msg, "Content-Type: text/html");
	assert_non_null(text);
	assert_non_null(html);
	assert_non_null(
	    strstr(text, "Confirm your account: http://h/console/demo/confirm?token=abc&x=1"));
	assert_non_null(strstr(text, "Hello Ivy <b>Inv</b>,"));
	/* In HTML the name is text, never markup; the link is the button's href. */
	assert_null(strstr(html, "<b>Inv"));
	assert_non_null(strstr(html, "Ivy &lt;b&gt;Inv&lt;/b&gt;"));
	assert_non_null(strstr(html, "href=\"http://h/console/demo/confirm?token=abc&amp;x=1\""));
	assert_non_null(strstr(html, ">Confirm your account</a>"));
	free(text);
	free(html);
	free(msg);
	/* A line break in a header value is refused (no header injection). */
	m.organisation = "Evil\r\nBcc: everyone@example.org";
	assert_null(mail_invite_message(&m));
	m.organisation = "Plain";
	m.to = "a@b\nc";
	assert_null(mail_invite_message(&m));
	m.to = "ivy@example.org";
	msg = mail_invite_message(&m);
	assert_non_null(strstr(msg, "Subject: Action needed: Confirm your Plain Administrator "
	                            "account\r\n"));
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_parse),
	    cmocka_unit_test(test_cookies),
	    cmocka_unit_test(test_url_encode),
	    cmocka_unit_test(test_invite_message),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
