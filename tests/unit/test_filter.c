/*
 * test_filter.c — tests of the SCIM filter parser and evaluator (engine/filter.h).
 *
 * Data-driven cases live in tests/unit/cases/filter/ (located via $RB_SRCDIR,
 * default "."):
 *   parse.txt   TYPE<TAB>filter<TAB>expected canonical form, "=", or ERROR:<offset>;
 *               every success must also round-trip (canonical → parse → same text)
 *   match.json  {"resources": {name: resource}, "cases": [[TYPE, name, filter, bool]]}
 * The C tables below cover what the files cannot say: limits, control bytes,
 * resolved attribute references, value filters on synthetic number types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "engine/filter.h"
#include "engine/schema.h"
#include "lib/error.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static int cases_run;

static FILE *
case_open(const char *name)
{
	const char *d = getenv("RB_SRCDIR");
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/unit/cases/filter/%s", d != NULL ? d : ".", name);
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	return fp;
}

/* Parse text on type; returns the tree or NULL, checking the error shape on failure. */
static struct filter *
parse_checked(const char *type, const char *text, struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type(type);
	struct filter *f;

	assert_non_null(rt);
	error_clear(err);
	f = filter_parse(rt, text, err);
	if (f == NULL) {
		assert_int_equal(err->status, 400);
		assert_non_null(err->scim_type);
		assert_string_equal(err->scim_type, SCIM_INVALID_FILTER);
	} else {
		assert_false(error_is_set(err));
	}
	return f;
}

/* Canonical form of text, checking the round trip; NULL if it does not parse. */
static char *
canon(const char *type, const char *text, struct rb_error *err)
{
	struct filter *f = parse_checked(type, text, err), *g;
	char *s, *s2;

	if (f == NULL)
		return NULL;
	s = filter_to_string(f);
	assert_non_null(s);
	g = parse_checked(type, s, err);
	if (g == NULL)
		fail_msg("canonical form of [%s] does not parse: [%s]: %s", text, s, err->detail);
	s2 = filter_to_string(g);
	if (strcmp(s, s2) != 0)
		fail_msg("round trip of [%s]: [%s] then [%s]", text, s, s2);
	free(s2);
	filter_free(f);
	filter_free(g);
	return s;
}

static void
test_parse_file(void **state)
{
	FILE *fp = case_open("parse.txt");
	char line[4096];
	int lineno = 0, n = 0, failures = 0;

	(void)state;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *type = line, *text, *want, *nl, *got;
		struct rb_error err;

		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		text = strchr(type, '\t');
		want = text != NULL ? strchr(text + 1, '\t') : NULL;
		if (want == NULL)
			fail_msg("parse.txt:%d: malformed line", lineno);
		*text++ = '\0';
		*want++ = '\0';
		n++;
		got = canon(type, text, &err);
		if (strncmp(want, "ERROR:", 6) == 0) {
			char needle[64];

			snprintf(needle, sizeof(needle), "at offset %s:", want + 6);
			if (got != NULL) {
				print_error("parse.txt:%d: [%s] parsed as [%s], want %s\n", lineno,
				            text, got, want);
				failures++;
			} else if (strstr(err.detail, needle) == NULL) {
				print_error("parse.txt:%d: [%s]: %s, want %s\n", lineno, text,
				            err.detail, want);
				failures++;
			}
		} else {
			const char *expect = strcmp(want, "=") == 0 ? text : want;

			if (got == NULL) {
				print_error("parse.txt:%d: [%s] failed: %s\n", lineno, text,
				            err.detail);
				failures++;
			} else if (strcmp(got, expect) != 0) {
				print_error("parse.txt:%d: [%s] gave [%s], want [%s]\n", lineno,
				            text, got, expect);
				failures++;
			}
		}
		free(got);
	}
	fclose(fp);
	cases_run += n;
	print_message("# parse.txt: %d cases\n", n);
	assert_true(n > 400);
	assert_int_equal(failures, 0);
}

static void
test_match_file(void **state)
{
	FILE *fp = case_open("match.json");
	json_error_t jerr;
	json_t *root = json_loadf(fp, 0, &jerr), *resources, *cases, *c;
	size_t i;
	int failures = 0;

	(void)state;
	fclose(fp);
	if (root == NULL)
		fail_msg("match.json:%d: %s", jerr.line, jerr.text);
	resources = json_object_get(root, "resources");
	cases = json_object_get(root, "cases");
	assert_true(json_is_object(resources) && json_is_array(cases));
	json_array_foreach(cases, i, c)
	{
		const char *type = json_string_value(json_array_get(c, 0));
		const char *rname = json_string_value(json_array_get(c, 1));
		const char *text = json_string_value(json_array_get(c, 2));
		json_t *want = json_array_get(c, 3), *res = json_object_get(resources, rname);
		struct rb_error err;
		struct filter *f;
		bool got;

		if (type == NULL || text == NULL || res == NULL || !json_is_boolean(want))
			fail_msg("match.json: case %zu malformed", i);
		f = parse_checked(type, text, &err);
		if (f == NULL) {
			print_error("match.json case %zu: [%s] does not parse: %s\n", i, text,
			            err.detail);
			failures++;
			continue;
		}
		got = filter_match(f, res);
		if (got != json_is_true(want)) {
			print_error("match.json case %zu: [%s] on %s gave %s\n", i, text, rname,
			            got ? "true" : "false");
			failures++;
		}
		filter_free(f);
	}
	cases_run += (int)json_array_size(cases);
	print_message("# match.json: %zu cases\n", json_array_size(cases));
	assert_true(json_array_size(cases) > 200);
	json_decref(root);
	assert_int_equal(failures, 0);
}

/* Resolution: the tree carries the schema's definitions. */
static void
test_resolution(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	struct rb_error err;
	struct filter *f;

	(void)state;
	f = filter_parse(rt, "USERNAME eq \"x\"", &err);
	assert_non_null(f);
	assert_int_equal(f->op, FILTER_EQ);
	assert_string_equal(f->attr.attr->name, "userName");
	assert_ptr_equal(f->attr.schema, rt->schema);
	assert_null(f->attr.parent);
	assert_string_equal(f->attr_text, "USERNAME");
	assert_true(json_is_string(f->value));
	filter_free(f);

	f = filter_parse(rt, ENT ":manager.value eq \"m\"", &err);
	assert_non_null(f);
	assert_string_equal(f->attr.schema->id, ENT);
	assert_string_equal(f->attr.parent->name, "manager");
	assert_string_equal(f->attr.attr->name, "value");
	filter_free(f);

	f = filter_parse(rt, "meta.lastModified gt \"2011-05-13T04:42:34Z\"", &err);
	assert_non_null(f);
	assert_null(f->attr.schema);
	assert_int_equal(f->attr.attr->type, ATTR_DATETIME);
	filter_free(f);

	f = filter_parse(rt, "emails[type eq \"work\"] and not (bogus pr)", &err);
	assert_non_null(f);
	assert_int_equal(f->op, FILTER_AND);
	assert_int_equal(f->left->op, FILTER_VALUEPATH);
	assert_string_equal(f->left->attr.attr->name, "emails");
	assert_string_equal(f->left->left->attr.attr->name, "type");
	assert_string_equal(f->left->left->attr.parent->name, "emails");
	assert_int_equal(f->right->op, FILTER_NOT);
	assert_null(f->right->left->attr.attr);
	assert_null(f->right->left->value);
	filter_free(f);

	f = filter_parse(rt, "externalId eq 4711", &err);
	assert_non_null(f);
	assert_true(json_is_integer(f->value));
	filter_free(f);
	f = filter_parse(rt, "externalId eq 4711x", &err);
	assert_non_null(f);
	assert_string_equal(json_string_value(f->value), "4711x");
	filter_free(f);
	filter_free(NULL);
	cases_run += 6;
}

/* Whitespace other than SP, control bytes, NUL, long and deep filters. */
static void
test_limits(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	struct rb_error err;
	struct filter *f;
	char *buf, *s;
	size_t i, n;

	(void)state;
	s = canon("User", "userName\teq\t\"x\"\r\nand\n\ttitle  pr", &err);
	assert_non_null(s);
	assert_string_equal(s, "userName eq \"x\" and title pr");
	free(s);
	assert_null(canon("User", "userName eq \"a\tb\"", &err)); /* raw control byte in string */
	assert_null(canon("User", "userName eq \"\x01\"", &err));
	assert_null(canon("User", "userName eq \"\xff\"", &err)); /* invalid UTF-8 */
	assert_null(canon("User", "userName eq \xc3\x28", &err));
	assert_non_null(strstr(err.detail, "offset 12"));
	assert_null(canon("User", "user\x01Name pr", &err));
	assert_non_null(strstr(err.detail, "offset 4"));

	/* NUL inside a value filter (length-bounded API). */
	{
		struct attr_ref ref;

		assert_int_equal(schema_resolve(rt, "emails", 6, &ref), 0);
		error_clear(&err);
		f = filter_parse_value_filter(rt, &ref, "type eq \"a\0b\"", 13, &err);
		assert_null(f);
		assert_non_null(strstr(err.detail, "NUL"));
	}

	/* Length: FILTER_MAX_LEN accepted, one more byte refused. */
	n = FILTER_MAX_LEN;
	buf = malloc(n + 2);
	assert_non_null(buf);
	memcpy(buf, "userName eq \"", 13);
	memset(buf + 13, 'a', n - 14);
	buf[n - 1] = '"';
	buf[n] = '\0';
	f = filter_parse(rt, buf, &err);
	assert_non_null(f);
	filter_free(f);
	buf[n - 1] = 'a';
	buf[n] = '"';
	buf[n + 1] = '\0';
	error_clear(&err);
	assert_null(filter_parse(rt, buf, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.detail, "longer than"));

	/* A long flat chain is fine (bounded by the length, not the depth). */
	buf[0] = '\0';
	for (i = 0, n = 0; i < 600; i++)
		n += (size_t)snprintf(buf + n, FILTER_MAX_LEN + 2 - n, "%sa%zu pr", i ? " or " : "",
		                      i);
	s = canon("User", buf, &err);
	assert_non_null(s);
	assert_string_equal(s, buf);
	free(s);

	/* Depth: FILTER_MAX_DEPTH parentheses accepted, one more refused. */
	for (int depth = FILTER_MAX_DEPTH; depth <= FILTER_MAX_DEPTH + 1; depth++) {
		n = 0;
		for (i = 0; i < (size_t)depth; i++)
			buf[n++] = '(';
		memcpy(buf + n, "a pr", 4);
		n += 4;
		for (i = 0; i < (size_t)depth; i++)
			buf[n++] = ')';
		buf[n] = '\0';
		error_clear(&err);
		f = filter_parse(rt, buf, &err);
		if (depth == FILTER_MAX_DEPTH) {
			assert_non_null(f);
		} else {
			assert_null(f);
			assert_non_null(strstr(err.detail, "nested"));
			assert_non_null(strstr(err.detail, "offset 64:"));
		}
		filter_free(f);
	}
	/* not and [] count too */
	n = 0;
	for (i = 0; i < FILTER_MAX_DEPTH; i++)
		n += (size_t)snprintf(buf + n, FILTER_MAX_LEN - n, "not ");
	snprintf(buf + n, FILTER_MAX_LEN - n, "emails[type pr]");
	error_clear(&err);
	assert_null(filter_parse(rt, buf, &err));
	assert_non_null(strstr(err.detail, "nested"));
	n = 0;
	for (i = 0; i < FILTER_MAX_DEPTH - 1; i++)
		n += (size_t)snprintf(buf + n, FILTER_MAX_LEN - n, "not ");
	snprintf(buf + n, FILTER_MAX_LEN - n, "emails[type pr]");
	f = filter_parse(rt, buf, &err);
	assert_non_null(f);
	filter_free(f);
	/* fuzz finding: 64 bare nots print as 64 `not (`; both forms are 64 levels */
	n = 0;
	for (i = 0; i < FILTER_MAX_DEPTH; i++)
		n += (size_t)snprintf(buf + n, FILTER_MAX_LEN - n, i % 2 ? "not\t" : "not ");
	snprintf(buf + n, FILTER_MAX_LEN - n, "a pr");
	s = canon("User", buf, &err);
	assert_non_null(s);
	free(s);
	memcpy(buf + n, "(a pr)", 7); /* the last not's level is the parenthesis */
	f = filter_parse(rt, buf, &err);
	assert_non_null(f);
	filter_free(f);
	memcpy(buf + n, "((a pr))", 9);
	error_clear(&err);
	assert_null(filter_parse(rt, buf, &err)); /* 65 levels */
	/* deeply nested garbage fails fast with the depth error, not a stack overflow */
	memset(buf, '(', FILTER_MAX_LEN);
	buf[FILTER_MAX_LEN] = '\0';
	error_clear(&err);
	assert_null(filter_parse(rt, buf, &err));
	assert_non_null(strstr(err.detail, "nested"));
	free(buf);
	error_clear(&err);
	assert_null(filter_parse(rt, NULL, &err));
	assert_int_equal(err.status, 400);
	cases_run += 20;
}

/*
 * Control bytes in bare (unquoted) values: invalidFilter at the byte's offset,
 * wherever the word starts or ends. HTAB, LF and CR are whitespace (they end
 * the word) and NUL is refused for the whole text first. The same bytes
 * written as JSON escapes in a quoted string are fine.
 */
static void
test_bare_controls(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	struct attr_ref ref;
	struct rb_error err;
	struct filter *f;
	char text[64], want[32];
	char *s;
	int c, n = 0;

	(void)state;
	for (c = 0x01; c <= 0x7f; c++) {
		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r')
			continue;
		snprintf(want, sizeof(want), "offset 12: control byte 0x%02X", c);
		snprintf(text, sizeof(text), "userName eq %cjohn", c);
		assert_null(canon("User", text, &err));
		if (strstr(err.detail, want) == NULL)
			fail_msg("[0x%02X at the start]: %s", c, err.detail);
		snprintf(want, sizeof(want), "offset 14: control byte 0x%02X", c);
		snprintf(text, sizeof(text), "userName eq jo%chn", c);
		assert_null(canon("User", text, &err));
		if (strstr(err.detail, want) == NULL)
			fail_msg("[0x%02X inside]: %s", c, err.detail);
		snprintf(want, sizeof(want), "offset 16: control byte 0x%02X", c);
		snprintf(text, sizeof(text), "userName eq john%c and title pr", c);
		assert_null(canon("User", text, &err));
		if (strstr(err.detail, want) == NULL)
			fail_msg("[0x%02X at the end]: %s", c, err.detail);
		n += 3;
	}
	assert_int_equal(n, 3 * 29); /* 0x01–0x1F less HTAB, LF, CR; DEL */
	/* a number-like or keyword-like bare word is no exception */
	assert_null(canon("User",
	                  "externalId eq 47\x01"
	                  "11",
	                  &err));
	assert_non_null(strstr(err.detail, "offset 16: control byte 0x01"));
	assert_null(canon("User", "active eq true\x7f", &err));
	assert_non_null(strstr(err.detail, "offset 14: control byte 0x7F"));
	/* an ANSI escape sequence */
	assert_null(canon("User", "userName eq \x1b[31mjohn", &err));
	assert_non_null(strstr(err.detail, "offset 12: control byte 0x1B"));
	/* inside a value filter, in a filter and through the PATCH path API */
	assert_null(canon("User", "emails[type eq wo\x02rk]", &err));
	assert_non_null(strstr(err.detail, "offset 17: control byte 0x02"));
	assert_int_equal(schema_resolve(rt, "emails", 6, &ref), 0);
	error_clear(&err);
	f = filter_parse_value_filter(rt, &ref, "type eq wo\x02rk", 13, &err);
	assert_null(f);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, SCIM_INVALID_FILTER);
	assert_non_null(strstr(err.detail, "offset 10: control byte 0x02"));
	/* NUL: refused before any word is read */
	error_clear(&err);
	assert_null(filter_parse_value_filter(rt, &ref, "type eq wo\0rk", 13, &err));
	assert_non_null(strstr(err.detail, "offset 10: NUL"));
	/* still accepted: plain and non-ASCII bare words, escapes in quoted strings */
	s = canon("User", "userName eq john", &err);
	assert_non_null(s);
	assert_string_equal(s, "userName eq \"john\"");
	free(s);
	s = canon("User", "userName eq jos\xc3\xa9", &err);
	assert_non_null(s);
	assert_string_equal(s, "userName eq \"jos\xc3\xa9\"");
	free(s);
	s = canon("User", "userName eq \"jo\\u0001hn\\u007f\"", &err);
	assert_non_null(s);
	assert_string_equal(s, "userName eq \"jo\\u0001hn\x7f\"");
	free(s);
	s = canon("User", "userName eq john\tand\rtitle\npr", &err);
	assert_non_null(s);
	assert_string_equal(s, "userName eq \"john\" and title pr");
	free(s);
	cases_run += n + 12;
}

/* Synthetic complex attribute with integer, decimal, dateTime, boolean, caseExact members. */
static const struct attr_def synth_sub[] = {
    {.name = "n", .type = ATTR_INTEGER},
    {.name = "d", .type = ATTR_DECIMAL},
    {.name = "t", .type = ATTR_DATETIME},
    {.name = "b", .type = ATTR_BOOLEAN},
    {.name = "s", .type = ATTR_STRING},
    {.name = "x", .type = ATTR_STRING, .case_exact = true},
    {.name = "r", .type = ATTR_REFERENCE, .case_exact = true},
    {.name = "value", .type = ATTR_STRING},
    {.name = "u", .type = ATTR_STRING},
    {.name = "e", .type = ATTR_STRING},
    {.name = NULL},
};
static const struct attr_def synth_attr = {
    .name = "synth", .type = ATTR_COMPLEX, .multi_valued = true, .sub_attrs = synth_sub};

struct value_case {
	const char *filter;
	bool want;
};

static void
test_value_filters(void **state)
{
	static const struct value_case vc[] = {
	    {"n eq 42", true},
	    {"n eq 42.0", true},
	    {"n eq \"42\"", true},
	    {"n ne 42", false},
	    {"n ne 41", true},
	    {"n gt 41", true},
	    {"n gt 42", false},
	    {"n ge 42", true},
	    {"n lt 43", true},
	    {"n le 41.5", false},
	    {"n lt 42.5", true},
	    {"n gt -1e3", true},
	    {"n eq 4.2e1", true},
	    {"n eq \"042\"", false},
	    {"n co 4", true},
	    {"n sw \"4\"", true},
	    {"n ew 2", true},
	    {"n ew 3", false},
	    {"n eq \"x\"", false},
	    {"n ne \"x\"", true},
	    {"n pr", true},
	    {"n eq null", false},
	    {"n ne null", true},
	    {"d eq 1.5", true},
	    {"d eq 1.50", true},
	    {"d eq 15e-1", true},
	    {"d gt 1", true},
	    {"d lt 2", true},
	    {"d ge 1.5", true},
	    {"d le 1.4999", false},
	    {"d eq \"1.5\"", true},
	    {"d gt \"1.25\"", true},
	    {"d lt -2", false},
	    {"t eq \"2011-05-13T04:42:34Z\"", true},
	    {"t eq \"2011-05-13T06:42:34+02:00\"", true},
	    {"t eq \"2011-05-12T23:42:34-05:00\"", true},
	    {"t eq \"2011-05-13T04:42:34.000Z\"", true},
	    {"t eq \"2011-05-13t04:42:34z\"", true},
	    {"t eq \"2011-05-13 04:42:34Z\"", true},
	    {"t gt \"2011-05-13T04:42:33.999999999Z\"", true},
	    {"t lt \"2011-05-13T04:42:34.000000001Z\"", true},
	    {"t lt \"2011-05-13T04:42:34.0000000009Z\"", false},
	    {"t ge \"2011-05-13T06:42:34+02:00\"", true},
	    {"t gt \"2011-05-13T06:42:34+02:00\"", false},
	    {"t le \"1970-01-01T00:00:00Z\"", false},
	    {"t gt \"1900-02-28T00:00:00Z\"", true},
	    {"t lt \"2400-02-29T00:00:00Z\"", true},
	    {"t sw \"2011-05\"", true},
	    {"t co \"T04\"", true},
	    {"t ne \"garbage\"", true},
	    {"t eq \"garbage\"", false},
	    {"b eq true", true},
	    {"b eq \"TRUE\"", true},
	    {"b ne false", true},
	    {"b eq false", false},
	    {"b eq 1", false},
	    {"b ne 1", true},
	    {"b pr", true},
	    {"s eq \"MiXeD\"", true},
	    {"s eq \"mixed\"", true},
	    {"s co \"IXE\"", true},
	    {"s sw \"mix\"", true},
	    {"s ew \"XED\"", true},
	    {"s gt \"MIXEC\"", true},
	    {"s lt \"mixee\"", true},
	    {"s ge \"MIXED\"", true},
	    {"s le \"mixed\"", true},
	    {"s gt \"mixed\"", false},
	    {"s eq \"mixe\"", false},
	    {"s eq \"mixed \"", false},
	    {"x eq \"MiXeD\"", true},
	    {"x eq \"mixed\"", false},
	    {"x co \"iXe\"", true},
	    {"x co \"ixe\"", false},
	    {"x sw \"M\"", true},
	    {"x sw \"m\"", false},
	    {"x ew \"d\"", false},
	    {"x gt \"MiXeC\"", true},
	    {"x lt \"a\"", true},
	    {"r eq \"https://x/Users/1\"", true},
	    {"r eq \"HTTPS://x/Users/1\"", false},
	    {"r ew \"/1\"", true},
	    {"s co \"\"", true},
	    {"x sw \"\"", true},
	    {"value eq \"V\"", true},
	    {"zz eq 1", false},
	    {"zz ne 1", false},
	    {"not (zz eq 1)", true},
	    {"n eq 42 and d eq 1.5", true},
	    {"n eq 1 or d eq 1.5", true},
	    {"not (n eq 42)", false},
	    {"u pr", false},
	    {"u eq null", true},
	    {"e pr", false},
	    {"e eq \"\"", true},
	    {"e eq null", true},
	    {"s eq null", false},
	};
	static const char elem_text[] =
	    "{\"n\":42,\"d\":1.5,\"t\":\"2011-05-13T04:42:34Z\",\"b\":true,\"s\":\"MiXeD\","
	    "\"x\":\"MiXeD\",\"r\":\"https://x/Users/1\",\"value\":\"v\",\"u\":null,\"e\":\"\"}";
	const struct resource_type_def *rt = schema_resource_type("User");
	struct attr_ref ref = {.schema = rt->schema, .attr = &synth_attr, .parent = NULL};
	json_t *elem = json_loads(elem_text, 0, NULL);
	int failures = 0;

	(void)state;
	assert_non_null(elem);
	for (size_t i = 0; i < sizeof(vc) / sizeof(vc[0]); i++) {
		struct rb_error err;
		struct filter *f;

		error_clear(&err);
		f = filter_parse_value_filter(rt, &ref, vc[i].filter, strlen(vc[i].filter), &err);
		if (f == NULL) {
			print_error("value filter [%s]: %s\n", vc[i].filter, err.detail);
			failures++;
			continue;
		}
		if (filter_match_value(f, elem) != vc[i].want) {
			print_error("value filter [%s] gave %d\n", vc[i].filter, !vc[i].want);
			failures++;
		}
		filter_free(f);
	}
	/* type errors in value filters */
	{
		static const char *const bad[] = {
		    "b gt true", "b co \"t\"", "t gt \"x\"", "n[x eq 1]", "n eq", "", " "};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct rb_error err;
			struct filter *f;

			error_clear(&err);
			f = filter_parse_value_filter(rt, &ref, bad[i], strlen(bad[i]), &err);
			if (f != NULL) {
				print_error("value filter [%s] parsed\n", bad[i]);
				filter_free(f);
				failures++;
			}
		}
	}
	/* the parser must stop at len, not at the NUL */
	{
		struct rb_error err;
		struct filter *f = filter_parse_value_filter(rt, &ref, "n eq 42]garbage", 7, &err);
		assert_non_null(f);
		assert_true(filter_match_value(f, elem));
		filter_free(f);
	}
	json_decref(elem);
	cases_run += (int)(sizeof(vc) / sizeof(vc[0])) + 8;
	assert_int_equal(failures, 0);
}

/* Simple multi-valued attribute: "value" is the element itself. */
static void
test_simple_multi(void **state)
{
	const struct resource_type_def *rt = schema_resource_type("User");
	const char *path = "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User:schools";
	struct attr_ref ref;
	struct rb_error err;
	struct filter *f;
	json_t *s1 = json_string("s1"), *s2 = json_string("S2");

	(void)state;
	assert_int_equal(schema_resolve(rt, path, strlen(path), &ref), 0);
	f = filter_parse_value_filter(rt, &ref, "value eq \"S1\"", 13, &err);
	assert_non_null(f);
	assert_ptr_equal(f->attr.attr, ref.attr);
	assert_null(f->attr.parent);
	assert_string_equal(f->attr_text, "value");
	assert_true(filter_match_value(f, s1) == !ref.attr->case_exact);
	assert_false(filter_match_value(f, s2));
	filter_free(f);
	f = filter_parse_value_filter(rt, &ref, "other eq \"s1\"", 13, &err);
	assert_non_null(f);
	assert_null(f->attr.attr);
	assert_false(filter_match_value(f, s1));
	filter_free(f);
	json_decref(s1);
	json_decref(s2);
	cases_run += 4;
}

static int
report(void **state)
{
	(void)state;
	print_message("# filter cases run: %d\n", cases_run);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_file),    cmocka_unit_test(test_match_file),
	    cmocka_unit_test(test_resolution),    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_value_filters), cmocka_unit_test(test_simple_multi),
	    cmocka_unit_test(test_bare_controls),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, report);
}
