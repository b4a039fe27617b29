/*
 * test_hardening.c — the defects of issue 15 at their seams, without a
 * server: the one RFC 3339 grammar (filter, sort and validation agree on
 * every case), the log escaper, the UTF-8 check, the post-read control's
 * decoder with a value that is not UTF-8, and the LDAP error mapping that
 * hides a 5xx cause from the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lber.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>

#include "dir/entry.h"
#include "dir/ldaperr.h"
#include "engine/filter.h"
#include "engine/schema.h"
#include "engine/validate.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/rfc3339.h"
#include "lib/utf8.h"

/* ---- one RFC 3339 grammar ------------------------------------------------ */

static const struct {
	const char *s;
	bool ok;
} dates[] = {
    {"2021-02-28T00:00:00Z", true},
    {"2024-02-29T00:00:00Z", true},
    {"2000-02-29T00:00:00Z", true},
    {"2016-12-31T23:59:60Z", true},
    {"2021-01-01t00:00:00z", true},
    {"2021-01-01T00:00:00.123456789012Z", true},
    {"2021-01-01T00:00:00+23:59", true},
    {"2021-01-01T00:00:00-05:00", true},
    {"2021-02-31T00:00:00Z", false}, /* 31 February (sort accepted it) */
    {"2021-02-30T00:00:00Z", false},
    {"2021-02-29T00:00:00Z", false}, /* not a leap year */
    {"1900-02-29T00:00:00Z", false},
    {"2021-04-31T00:00:00Z", false},
    {"2021-01-01T00:00:00", false}, /* missing offset (validation accepted it) */
    {"2021-01-01T00:00:00.5", false},
    {"2021-01-01 00:00:00Z", true}, /* space for T (validation refused it) */
    {"2021-01-01T24:00:00Z", false},
    {"2021-01-01T00:60:00Z", false},
    {"2021-01-01T00:00:61Z", false},
    {"2021-01-01T00:00:00+24:00", false},
    {"2021-01-01T00:00:00+01:60", false},
    {"2021-01-01T00:00:00+0100", false},
    {"2021-01-01T00:00:00.Z", false},
    {"2021-01-01T00:00:00ZZ", false},
    {"0000-01-01T00:00:00Z", false},
    {"2021-1-01T00:00:00Z", false},
    {"", false},
};

static void
test_rfc3339_one_grammar(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	size_t i;

	(void)state;
	assert_non_null(rt);
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char text[128];
		struct rb_error err;
		struct filter *f;
		bool lib = rfc3339_parse(dates[i].s, strlen(dates[i].s), NULL);
		bool val = validate_datetime(dates[i].s);

		snprintf(text, sizeof(text), "meta.lastModified gt \"%s\"", dates[i].s);
		error_clear(&err);
		f = filter_parse(rt, text, &err);
		if (lib != dates[i].ok)
			fail_msg("rfc3339_parse(%s) = %d", dates[i].s, lib);
		if (val != dates[i].ok)
			fail_msg("validate_datetime(%s) = %d", dates[i].s, val);
		if ((f != NULL) != dates[i].ok)
			fail_msg("filter_parse(%s) %s", text, f ? "accepted" : err.detail);
		filter_free(f);
	}
}

static void
test_rfc3339_instants(void **state)
{
	struct rfc3339_instant a, b;

	(void)state;
	assert_true(rfc3339_parse("1970-01-01T00:00:00Z", 20, &a));
	assert_int_equal(a.sec, 0);
	assert_true(rfc3339_parse("2011-05-13T06:42:34+02:00", 25, &a));
	assert_true(rfc3339_parse("2011-05-13T04:42:34Z", 20, &b));
	assert_int_equal(rfc3339_cmp(&a, &b), 0);
	assert_true(rfc3339_parse("2011-05-13T04:42:34.000000001Z", 30, &a));
	assert_int_equal(rfc3339_cmp(&a, &b), 1);
	assert_int_equal(a.nsec, 1);
}

/* ---- log escaping ----------------------------------------------------------- */

static void
test_log_escape(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {"GET /Users 200", 14, "GET /Users 200"},
	    {"a\nb", 3, "a\\x0ab"},
	    {"a\r\n2026-01-01 info forged", 25, "a\\x0d\\x0a2026-01-01 info forged"},
	    {"\x1b[31mred", 8, "\\x1b[31mred"},
	    {"tab\there", 8, "tab\\x09here"},
	    {"del\x7f", 4, "del\\x7f"},
	    {"back\\slash", 10, "back\\\\slash"},
	    {"caf\xc3\xa9", 5, "caf\xc3\xa9"},            /* UTF-8 stays */
	    {"c1\xc2\x85", 4, "c1\\xc2\\x85"},            /* NEL, a C1 control */
	    {"bad\xff\xfe", 5, "bad\\xff\\xfe"},          /* not UTF-8 */
	    {"over\xc0\xaf", 6, "over\\xc0\\xaf"},        /* overlong '/' */
	    {"sur\xed\xa0\x80", 6, "sur\\xed\\xa0\\x80"}, /* a surrogate */
	    {"nul\0after", 9, "nul\\x00after"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_escape(out, sizeof(out), cases[i].in, cases[i].len);
		assert_string_equal(out, cases[i].out);
	}
	/* Truncation cuts between whole escapes and always terminates. */
	assert_int_equal(log_escape(out, 6, "ab\ncd", 5), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(log_escape(out, 1, "x", 1), 0);
	assert_string_equal(out, "");
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_true(utf8_valid("\xef\xb7\xba", 3));
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(utf8_valid("\xc3", 1));             /* cut short */
	assert_false(utf8_valid("\x80", 1));
}

/* ---- the post-read control's decoder -------------------------------------- */

/* A SearchResultEntry as slapd's post-read control carries it; NEW berval. */
static struct berval *
postread_value(const char *dn, const char *attr, const char *v1, size_t l1, const char *v2,
               size_t l2)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval *bv = NULL;

	assert_non_null(ber);
	assert_true(
	    ber_printf(ber, "{s{{s[oo]}}}", dn, attr, v1, (ber_len_t)l1, v2, (ber_len_t)l2) >= 0);
	assert_int_equal(ber_flatten(ber, &bv), 0);
	ber_free(ber, 1);
	return bv;
}

static void
test_postread_utf8(void **state)
{
	struct berval *bv;
	json_t *map, *cn;

	(void)state;
	bv = postread_value("cn=x,o=demo", "cn", "good", 4, "bad\xff", 4);
	map = entry_from_postread(bv);
	assert_non_null(map);
	assert_string_equal(entry_map_first(map, "dn"), "cn=x,o=demo");
	cn = json_object_get(map, "cn");
	assert_int_equal(json_array_size(cn), 1); /* the non-UTF-8 value is left out */
	assert_string_equal(json_string_value(json_array_get(cn, 0)), "good");
	/* What the bridge sends is valid JSON. */
	{
		char *text = json_dumps(map, JSON_COMPACT | JSON_ENSURE_ASCII);
		assert_non_null(text);
		free(text);
	}
	json_decref(map);
	ber_bvfree(bv);

	/* A DN that is not UTF-8, or a truncated control: no map. */
	bv = postread_value("cn=\xff,o=demo", "cn", "a", 1, "b", 1);
	assert_null(entry_from_postread(bv));
	bv->bv_len /= 2;
	assert_null(entry_from_postread(bv));
	ber_bvfree(bv);
}

/* ---- LDAP errors: a 5xx cause is the operator's ------------------------------ */

static void
test_ldaperr_5xx_generic(void **state)
{
	struct rb_error err;

	(void)state;
	error_clear(&err);
	ldaperr_set(&err, LDAP_OTHER, "add", "index generation failed");
	assert_int_equal(err.status, 500);
	assert_string_equal(err.detail, "add: directory error");
	error_clear(&err);
	ldaperr_set(&err, 4242, "modify", "secret internals");
	assert_int_equal(err.status, 500);
	assert_null(strstr(err.detail, "secret"));
	error_clear(&err);
	ldaperr_set(&err, LDAP_CONSTRAINT_VIOLATION, "add", "mail: value too long");
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.detail, "mail: value too long")); /* a 4xx says why */
}

/* ---- an error detail quoting client bytes stays valid JSON ---------------- */

static void
test_error_detail_utf8(void **state)
{
	struct rb_error err;
	json_t *body;
	char big[600];

	(void)state;
	error_clear(&err);
	error_set(&err, 405, NULL, "%s is not allowed on %s", "PATC\xff\xfe", "/healthz");
	body = error_to_json(&err);
	assert_non_null(body); /* was NULL: the client got 500 "out of memory" */
	assert_string_equal(json_string_value(json_object_get(body, "detail")),
	                    "PATC?? is not allowed on /healthz");
	json_decref(body);
	/* vsnprintf cuts a two-byte character in half at the end of the detail. */
	memset(big, 'a', sizeof(big));
	big[RB_ERROR_DETAIL_MAX - 2] = '\xc3';
	big[RB_ERROR_DETAIL_MAX - 1] = '\xa9';
	big[sizeof(big) - 1] = '\0';
	error_clear(&err);
	error_set(&err, 400, NULL, "%s", big);
	body = error_to_json(&err);
	assert_non_null(body);
	json_decref(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339_one_grammar), cmocka_unit_test(test_rfc3339_instants),
	    cmocka_unit_test(test_log_escape),          cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_postread_utf8),       cmocka_unit_test(test_ldaperr_5xx_generic),
	    cmocka_unit_test(test_error_detail_utf8),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
