/*
 * filter.c — SCIM filter parser, evaluator and canonical printer
 * (RFC 7644 §3.4.2.2; attribute notation §3.10; types RFC 7643 §2.3/§2.4).
 *
 * Glossary
 *   attrPath    [URN ":"] ATTRNAME ["." subAttr]; case-insensitive, resolved
 *               with schema_resolve against the resource type.
 *   valuePath   attrPath "[" valFilter "]": a filter over the elements of a
 *               complex (or simple multi-valued) attribute.
 *   literal     a JSON string, number, true, false or null; or a bare word
 *               (Entra: `externalId eq 4711`, `userName eq a@b.c`).
 *   self ref    inside a value filter on a *simple* multi-valued attribute
 *               (`schools[value eq "s1"]`), "value" is the element itself:
 *               the node's attr.attr is the parent attribute, attr.parent
 *               NULL. (Inside value filters of complex attributes attr.parent
 *               is always the complex attribute.)
 *
 * Parsing
 *   - Recursive descent: or → and → not → primary. Precedence not > and > or;
 *     and/or associate to the left.
 *   - `not` is a keyword when followed by "(" or by something that is not a
 *     comparison operator, so `not (x pr)`, `not(x pr)` and (lenient)
 *     `not x pr` parse; `not pr` is the attribute "not" being present.
 *   - Whitespace: any run of SP, HTAB, CR, LF between tokens.
 *   - Limits: FILTER_MAX_LEN bytes; FILTER_MAX_DEPTH levels of "(", "not"
 *     and "[" nesting. Chains of and/or at one level are iterative and only
 *     bounded by the length (a tree at most ~FILTER_MAX_LEN/6 deep).
 *   - Errors: 400 invalidFilter, detail "invalid filter at offset N: …"
 *     naming what was expected (N counts bytes from the start of the text).
 *   - String literals are decoded by jansson (all JSON escapes, \uXXXX,
 *     surrogate pairs; invalid UTF-8, lone surrogates and \u0000 refused).
 *   - Bare words end at whitespace, "(", ")", "[", "]" or '"'. true, false
 *     and null (any case) and JSON numbers are taken as such; anything else
 *     is a string ("007" stays a string). A control byte (0x00–0x1F other
 *     than the whitespace above, 0x7F) in a bare word is invalidFilter at
 *     its offset: a client that means one writes it as a JSON escape.
 *   - Type checks at parse time (known attributes only): gt/ge/lt/le on
 *     boolean, binary and complex attributes, and co/sw/ew on booleans, are
 *     invalidFilter; gt/ge/lt/le on dateTime need an RFC 3339 literal.
 *   - Unknown attributes parse (attr.attr == NULL) and match nothing, for
 *     every operator including ne; `not` negates as usual.
 *   - `emails[…].value` is a PATCH path, not a filter: refused here.
 *
 * Evaluation (filter_match over the SCIM JSON form)
 *   - Core and common attributes are top-level members, extension
 *     attributes live under the member named by their URN. Member names are
 *     matched exactly first, then case-insensitively.
 *   - Multi-valued: an expression holds if it holds for any value. A
 *     complex attribute named without a sub-attribute (`emails co "@x"`)
 *     compares each element's "value"; `emails.value` collects the
 *     sub-attribute of every element.
 *   - ne is NOT(eq) over the whole attribute: true when no value equals
 *     the literal, including when the attribute is absent (so
 *     `title ne "x"` holds for a resource without title, and
 *     `emails.type ne "work"` holds when no e-mail has type work).
 *   - `eq null` holds when the attribute is unassigned; `ne null` when it
 *     has a value.
 *   - pr: present and not null, "", [] or {} (recursively: an array of
 *     empty values is not present).
 *   - Strings: caseExact=false compares with an ASCII case fold (bytes
 *     outside ASCII compare exactly; a full Unicode fold is not done).
 *     Ordering is byte order after folding (= code point order in UTF-8).
 *   - dateTime: both sides parsed as RFC 3339 instants (offsets, fractions
 *     to the nanosecond) and compared as instants; co/sw/ew are textual,
 *     and a value that does not parse compares textually.
 *   - Numbers compare numerically (exactly when both are integers).
 *   - Booleans: eq/ne only; a string literal "true"/"false" (any case)
 *     counts as the boolean (Entra sends "True").
 *   - Across types (a number literal against a string attribute, …) the
 *     two sides compare as text, with the attribute's case rule:
 *     `externalId eq 4711` matches "4711".
 *
 * Canonical form (filter_to_string): operators lower case, attribute paths
 * as written, literals as compact JSON, single spaces, `not (…)`, and
 * parentheses only where precedence or right-nesting needs them, so that
 * parse(to_string(t)) is the same tree and prints the same text.
 */
#include "engine/filter.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rfc3339.h"

/* ---------------------------------------------------------------------
 * Small helpers
 */

static const char *const filter_op_names[] = {
    [FILTER_EQ] = "eq",   [FILTER_NE] = "ne",        [FILTER_CO] = "co",   [FILTER_SW] = "sw",
    [FILTER_EW] = "ew",   [FILTER_GT] = "gt",        [FILTER_GE] = "ge",   [FILTER_LT] = "lt",
    [FILTER_LE] = "le",   [FILTER_PR] = "pr",        [FILTER_AND] = "and", [FILTER_OR] = "or",
    [FILTER_NOT] = "not", [FILTER_VALUEPATH] = "[]",
};

/* "schemas" (RFC 7643 §3) is in every resource but in no schema table. */
static const struct attr_def filter_schemas_attr = {
    .name = "schemas",
    .type = ATTR_REFERENCE,
    .multi_valued = true,
    .case_exact = false,
    .mutability = MUT_READONLY,
};

static int
filter_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ASCII case-insensitive compare of exactly n bytes. */
static int
filter_ncasecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = filter_lower((unsigned char)a[i]), cb = filter_lower((unsigned char)b[i]);

		if (ca != cb)
			return ca - cb;
	}
	return 0;
}

static bool
filter_word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && filter_ncasecmp(w, kw, n) == 0;
}

static bool
filter_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ASCII control bytes: C0 and DEL. */
static bool
filter_is_control(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0x20 || u == 0x7f;
}

static bool
filter_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
filter_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A byte that ends an attribute path or a bare word. */
static bool
filter_is_delim(char c)
{
	return filter_is_space(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' ||
	       c == '\0';
}

/* ---------------------------------------------------------------------
 * Tree
 */

void
filter_free(struct filter *f)
{
	/* Iterate down the left spine (and/or chains are left-deep). */
	while (f != NULL) {
		struct filter *next = f->left;

		filter_free(f->right);
		free(f->attr_text);
		json_decref(f->value);
		free(f);
		f = next;
	}
}

static struct filter *
filter_node(enum filter_op op)
{
	struct filter *f = calloc(1, sizeof(*f));

	if (f != NULL)
		f->op = op;
	return f;
}

/* ---------------------------------------------------------------------
 * Parser
 */

struct filter_parser {
	const struct resource_type_def *rt;
	const struct attr_ref *vparent; /* set inside a value filter */
	const char *s;
	size_t len;
	size_t pos;
	int depth;
	struct rb_error *err;
};

static struct filter *filter_parse_or(struct filter_parser *p);

static void filter_fail(struct filter_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
filter_fail(struct filter_parser *p, size_t at, const char *fmt, ...)
{
	char msg[RB_ERROR_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_set(p->err, 400, SCIM_INVALID_FILTER, "invalid filter at offset %zu: %s", at, msg);
}

static char
filter_peek(const struct filter_parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : '\0';
}

static void
filter_skip_space(struct filter_parser *p)
{
	while (p->pos < p->len && filter_is_space(p->s[p->pos]))
		p->pos++;
}

/*
 * Copy at most `max` bytes of s into buf as printable ASCII (others become
 * '?'), so that error details stay valid UTF-8 and free of control bytes.
 */
static const char *
filter_echo(char *buf, size_t size, const char *s, size_t n, size_t max)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < max && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
	return buf;
}

/* What is at the parser position, for error messages (static or in buf). */
static const char *
filter_found(const struct filter_parser *p, char *buf, size_t size)
{
	size_t n = 0;

	if (p->pos >= p->len)
		return "the end of the filter";
	while (p->pos + n < p->len && n < 20 && !filter_is_space(p->s[p->pos + n]))
		n++;
	if (n == 0)
		n = 1;
	buf[0] = '\'';
	filter_echo(buf + 1, size - 2, p->s + p->pos, n, 20);
	n = strlen(buf);
	buf[n] = '\'';
	buf[n + 1] = '\0';
	return buf;
}

/* Length of the run of letters at the position (an operator or keyword). */
static size_t
filter_word_len(const struct filter_parser *p, size_t at)
{
	size_t n = 0;

	while (at + n < p->len && filter_is_alpha(p->s[at + n]))
		n++;
	return n;
}

static int
filter_compare_op(const char *w, size_t n)
{
	static const enum filter_op ops[] = {FILTER_EQ, FILTER_NE, FILTER_CO, FILTER_SW, FILTER_EW,
	                                     FILTER_GT, FILTER_GE, FILTER_LT, FILTER_LE, FILTER_PR};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (filter_word_is(w, n, filter_op_names[ops[i]]))
			return (int)ops[i];
	return -1;
}

/* ATTRNAME = (ALPHA / "$") *(ALPHA / DIGIT / "-" / "_"); returns its length (0: none). */
static size_t
filter_attrname_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !(filter_is_alpha(s[0]) || s[0] == '$'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(filter_is_alpha(s[i]) || filter_is_digit(s[i]) || s[i] == '-' || s[i] == '_'))
			break;
	return i;
}

/*
 * Validate an attribute path token: [URN ":"] ATTRNAME ["." ATTRNAME].
 * Returns -1 on success, else the offset (within the token) of the problem.
 */
static long
filter_check_attrpath(const char *s, size_t n)
{
	size_t start = 0, k;

	if (n > 4 && filter_ncasecmp(s, "urn:", 4) == 0) {
		size_t colon = 3; /* the last ':', at least the one of "urn:" */

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c < 0x21 || c > 0x7e)
				return (long)i;
			if (c == ':')
				colon = i;
		}
		start = colon + 1;
	}
	k = filter_attrname_len(s + start, n - start);
	if (k == 0)
		return (long)start;
	start += k;
	if (start == n)
		return -1;
	if (s[start] != '.')
		return (long)start;
	start++;
	k = filter_attrname_len(s + start, n - start);
	if (k == 0)
		return (long)start;
	start += k;
	return start == n ? -1 : (long)start;
}

/* Is `schema` the core schema of some resource type (attributes at the top level)? */
static bool
filter_schema_is_core(const struct schema_def *schema)
{
	const struct resource_type_def *const *rts = schema_resource_types();

	if (schema == NULL)
		return true;
	for (size_t i = 0; rts != NULL && rts[i] != NULL; i++)
		if (rts[i]->schema == schema)
			return true;
	return false;
}

/* Resolve an attribute path token into *ref (attr NULL if unknown). */
static void
filter_resolve(struct filter_parser *p, const char *name, size_t n, struct attr_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (p->vparent != NULL) {
		const struct attr_def *parent = p->vparent->attr;
		char buf[128];

		if (parent == NULL || n >= sizeof(buf) || memchr(name, '.', n) != NULL ||
		    memchr(name, ':', n) != NULL)
			return;
		memcpy(buf, name, n);
		buf[n] = '\0';
		if (parent->type == ATTR_COMPLEX) {
			ref->attr = schema_attr_lookup(p->vparent->schema, parent, buf);
			if (ref->attr != NULL) {
				ref->schema = p->vparent->schema;
				ref->parent = parent;
			}
		} else if (filter_word_is(name, n, "value")) {
			ref->schema = p->vparent->schema;
			ref->attr = parent; /* self ref */
		}
		return;
	}
	if (schema_resolve(p->rt, name, n, ref) == 0)
		return;
	memset(ref, 0, sizeof(*ref));
	if (filter_word_is(name, n, "schemas"))
		ref->attr = &filter_schemas_attr;
}

/* Strict JSON number grammar over exactly n bytes. */
static bool
filter_is_json_number(const char *s, size_t n, bool *integral)
{
	size_t i = 0;

	*integral = true;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !filter_is_digit(s[i]))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < n && filter_is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		*integral = false;
		i++;
		if (i >= n || !filter_is_digit(s[i]))
			return false;
		while (i < n && filter_is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*integral = false;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !filter_is_digit(s[i]))
			return false;
		while (i < n && filter_is_digit(s[i]))
			i++;
	}
	return i == n;
}

/* A JSON number (already checked by filter_is_json_number) as a NEW json_t, or NULL. */
static json_t *
filter_number(const char *s, size_t n, bool integral)
{
	char buf[64], *end = NULL, *tmp = NULL;
	const char *text = buf;
	json_t *v = NULL;
	double d;

	if (n < sizeof(buf)) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	} else {
		tmp = strndup(s, n);
		if (tmp == NULL)
			return NULL;
		text = tmp;
	}
	if (integral) {
		long long ll;

		errno = 0;
		ll = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0') {
			v = json_integer((json_int_t)ll);
			goto done;
		}
	}
	errno = 0;
	d = strtod(text, &end);
	if (*end == '\0' && isfinite(d))
		v = json_real(d);
done:
	free(tmp);
	return v;
}

/* Parse a literal at the position into *out (NEW). Returns 0, or -1 with the error set. */
static int
filter_parse_literal(struct filter_parser *p, json_t **out)
{
	size_t start = p->pos, i;
	char buf[64];
	bool integral;

	*out = NULL;
	if (filter_peek(p) == '"') {
		json_error_t jerr;

		for (i = start + 1; i < p->len && p->s[i] != '"'; i++)
			if (p->s[i] == '\\')
				i++;
		if (i >= p->len) {
			filter_fail(p, start, "unterminated string literal");
			return -1;
		}
		*out = json_loadb(p->s + start, i + 1 - start, JSON_DECODE_ANY, &jerr);
		if (*out == NULL || !json_is_string(*out)) {
			json_decref(*out);
			*out = NULL;
			filter_fail(p, start, "invalid string literal (%s)", jerr.text);
			return -1;
		}
		p->pos = i + 1;
		return 0;
	}
	for (i = start; i < p->len && !filter_is_delim(p->s[i]); i++) {
		if (filter_is_control(p->s[i])) {
			filter_fail(p, i, "control byte 0x%02X in an unquoted value",
			            (unsigned char)p->s[i]);
			return -1;
		}
	}
	if (i == start) {
		filter_fail(p, start,
		            "expected a value (string, number, true, false or null), found %s",
		            filter_found(p, buf, sizeof(buf)));
		return -1;
	}
	p->pos = i;
	if (filter_word_is(p->s + start, i - start, "true"))
		*out = json_true();
	else if (filter_word_is(p->s + start, i - start, "false"))
		*out = json_false();
	else if (filter_word_is(p->s + start, i - start, "null"))
		*out = json_null();
	else if (filter_is_json_number(p->s + start, i - start, &integral)) {
		*out = filter_number(p->s + start, i - start, integral);
		if (*out == NULL) {
			filter_fail(p, start, "number out of range");
			return -1;
		}
	} else {
		*out = json_stringn(p->s + start, i - start);
		if (*out == NULL) {
			filter_fail(p, start, "unquoted value is not valid UTF-8");
			return -1;
		}
	}
	return 0;
}

/* ---- dateTime: the one RFC 3339 grammar (lib/rfc3339.h) ---- */

/* Type checks of a comparison against a known attribute. Returns 0 or -1 (error set). */
static int
filter_check_types(struct filter_parser *p, const struct filter *f, size_t opat, size_t valat)
{
	const struct attr_def *a = f->attr.attr;
	bool ordering =
	    f->op == FILTER_GT || f->op == FILTER_GE || f->op == FILTER_LT || f->op == FILTER_LE;
	bool substr = f->op == FILTER_CO || f->op == FILTER_SW || f->op == FILTER_EW;

	if (a == NULL || f->op == FILTER_PR)
		return 0;
	if (ordering &&
	    (a->type == ATTR_BOOLEAN || a->type == ATTR_BINARY || a->type == ATTR_COMPLEX)) {
		filter_fail(p, opat, "'%s' cannot be applied to %s attribute %s",
		            filter_op_names[f->op], schema_attr_type_name(a->type), a->name);
		return -1;
	}
	if (substr && a->type == ATTR_BOOLEAN) {
		filter_fail(p, opat, "'%s' cannot be applied to boolean attribute %s",
		            filter_op_names[f->op], a->name);
		return -1;
	}
	if ((ordering || substr) && json_is_null(f->value)) {
		filter_fail(p, valat, "'%s' needs a value other than null", filter_op_names[f->op]);
		return -1;
	}
	if (ordering && a->type == ATTR_DATETIME && json_is_string(f->value)) {
		struct rfc3339_instant t;

		if (!rfc3339_parse(json_string_value(f->value), json_string_length(f->value), &t)) {
			filter_fail(p, valat, "expected an RFC 3339 dateTime for %s", a->name);
			return -1;
		}
	}
	return 0;
}

/* attrExp or valuePath at the position. */
static struct filter *
filter_parse_attr(struct filter_parser *p)
{
	struct filter *f = NULL;
	size_t start = p->pos, end, opat, oplen, valat;
	char buf[64];
	long bad;
	int op;

	for (end = start; end < p->len && !filter_is_delim(p->s[end]); end++)
		;
	if (end == start) {
		filter_fail(p, start, "expected an attribute name, found %s",
		            filter_found(p, buf, sizeof(buf)));
		return NULL;
	}
	bad = filter_check_attrpath(p->s + start, end - start);
	if (bad >= 0) {
		char name[104];

		filter_fail(p, start + (size_t)bad, "invalid attribute name '%s'",
		            filter_echo(name, sizeof(name), p->s + start, end - start, 100));
		return NULL;
	}
	f = filter_node(FILTER_EQ);
	if (f == NULL || (f->attr_text = strndup(p->s + start, end - start)) == NULL)
		goto oom;
	filter_resolve(p, p->s + start, end - start, &f->attr);
	p->pos = end;
	filter_skip_space(p);

	if (filter_peek(p) == '[') {
		struct filter_parser sub;
		size_t open = p->pos;

		if (p->vparent != NULL) {
			filter_fail(p, open, "a value filter cannot be nested in another");
			goto fail;
		}
		if (f->attr.attr != NULL && f->attr.parent != NULL) {
			filter_fail(p, open, "a value filter needs a top-level attribute, not %s",
			            f->attr_text);
			goto fail;
		}
		if (f->attr.attr != NULL && f->attr.attr->type != ATTR_COMPLEX &&
		    !f->attr.attr->multi_valued) {
			filter_fail(p, open, "%s is neither complex nor multi-valued",
			            f->attr.attr->name);
			goto fail;
		}
		if (++p->depth > FILTER_MAX_DEPTH) {
			filter_fail(p, open, "nested more than %d levels", FILTER_MAX_DEPTH);
			goto fail;
		}
		f->op = FILTER_VALUEPATH;
		sub = *p;
		sub.vparent = &f->attr;
		sub.pos = open + 1;
		f->left = filter_parse_or(&sub);
		if (f->left == NULL)
			goto fail;
		p->pos = sub.pos;
		filter_skip_space(p);
		if (filter_peek(p) != ']') {
			filter_fail(p, p->pos, "expected ']' or a logical operator, found %s",
			            filter_found(p, buf, sizeof(buf)));
			goto fail;
		}
		p->pos++;
		p->depth--;
		if (filter_peek(p) == '.') {
			filter_fail(
			    p, p->pos,
			    "a sub-attribute after ']' is only allowed in PATCH paths, not in "
			    "filters");
			goto fail;
		}
		return f;
	}

	opat = p->pos;
	oplen = filter_word_len(p, opat);
	op = filter_compare_op(p->s + opat, oplen);
	if (op < 0 || (opat + oplen < p->len && !filter_is_delim(p->s[opat + oplen]))) {
		filter_fail(p, opat,
		            "expected an operator (eq ne co sw ew gt ge lt le pr) or '[' after %s, "
		            "found %s",
		            f->attr_text, filter_found(p, buf, sizeof(buf)));
		goto fail;
	}
	f->op = (enum filter_op)op;
	p->pos = opat + oplen;
	if (f->op != FILTER_PR) {
		filter_skip_space(p);
		valat = p->pos;
		if (filter_parse_literal(p, &f->value) < 0)
			goto fail;
	} else {
		valat = p->pos;
	}
	if (filter_check_types(p, f, opat, valat) < 0)
		goto fail;
	return f;
oom:
	error_set(p->err, 500, NULL, "out of memory");
fail:
	filter_free(f);
	return NULL;
}

static struct filter *
filter_parse_not(struct filter_parser *p)
{
	struct filter *f = NULL, *inner;
	size_t at, n, after;
	char buf[64];

	filter_skip_space(p);
	at = p->pos;
	n = filter_word_len(p, at);
	after = at + n;
	if (filter_word_is(p->s + at, n, "not") && after < p->len &&
	    (p->s[after] == '(' || filter_is_space(p->s[after]))) {
		size_t w = after, wl;

		while (w < p->len && filter_is_space(p->s[w]))
			w++;
		wl = filter_word_len(p, w);
		if (w < p->len && (p->s[w] == '(' || filter_compare_op(p->s + w, wl) < 0 ||
		                   (w + wl < p->len && !filter_is_delim(p->s[w + wl])))) {
			/* `not (…)` is one level (the parenthesis), like `not …` */
			bool paren = p->s[w] == '(';

			if (!paren && ++p->depth > FILTER_MAX_DEPTH) {
				filter_fail(p, at, "nested more than %d levels", FILTER_MAX_DEPTH);
				return NULL;
			}
			p->pos = after;
			inner = filter_parse_not(p);
			if (inner == NULL)
				return NULL;
			if (!paren)
				p->depth--;
			f = filter_node(FILTER_NOT);
			if (f == NULL) {
				filter_free(inner);
				error_set(p->err, 500, NULL, "out of memory");
				return NULL;
			}
			f->left = inner;
			return f;
		}
	}
	if (filter_peek(p) == '(') {
		if (++p->depth > FILTER_MAX_DEPTH) {
			filter_fail(p, at, "nested more than %d levels", FILTER_MAX_DEPTH);
			return NULL;
		}
		p->pos++;
		f = filter_parse_or(p);
		if (f == NULL)
			return NULL;
		filter_skip_space(p);
		if (filter_peek(p) != ')') {
			filter_fail(p, p->pos, "expected ')' or a logical operator, found %s",
			            filter_found(p, buf, sizeof(buf)));
			filter_free(f);
			return NULL;
		}
		p->pos++;
		p->depth--;
		return f;
	}
	return filter_parse_attr(p);
}

/* and/or keyword at the position (after whitespace)? Returns its length or 0. */
static size_t
filter_logical(struct filter_parser *p, const char *kw)
{
	size_t at, n;

	filter_skip_space(p);
	at = p->pos;
	n = filter_word_len(p, at);
	if (!filter_word_is(p->s + at, n, kw))
		return 0;
	if (at + n < p->len && !filter_is_delim(p->s[at + n]))
		return 0;
	return n;
}

static struct filter *
filter_binary(struct filter_parser *p, enum filter_op op, struct filter *l, struct filter *r)
{
	struct filter *f;

	if (r == NULL) {
		filter_free(l);
		return NULL;
	}
	f = filter_node(op);
	if (f == NULL) {
		filter_free(l);
		filter_free(r);
		error_set(p->err, 500, NULL, "out of memory");
		return NULL;
	}
	f->left = l;
	f->right = r;
	return f;
}

static struct filter *
filter_parse_and(struct filter_parser *p)
{
	struct filter *f = filter_parse_not(p);
	size_t n;

	while (f != NULL && (n = filter_logical(p, "and")) > 0) {
		p->pos += n;
		f = filter_binary(p, FILTER_AND, f, filter_parse_not(p));
	}
	return f;
}

static struct filter *
filter_parse_or(struct filter_parser *p)
{
	struct filter *f = filter_parse_and(p);
	size_t n;

	while (f != NULL && (n = filter_logical(p, "or")) > 0) {
		p->pos += n;
		f = filter_binary(p, FILTER_OR, f, filter_parse_and(p));
	}
	return f;
}

static struct filter *
filter_parse_text(struct filter_parser *p)
{
	struct filter *f;
	char buf[64];

	if (p->len > FILTER_MAX_LEN) {
		filter_fail(p, FILTER_MAX_LEN, "longer than %d bytes", FILTER_MAX_LEN);
		return NULL;
	}
	if (memchr(p->s, '\0', p->len) != NULL) {
		filter_fail(p, (size_t)((const char *)memchr(p->s, '\0', p->len) - p->s),
		            "NUL byte in filter");
		return NULL;
	}
	filter_skip_space(p);
	if (p->pos == p->len) {
		filter_fail(p, p->pos, "empty filter");
		return NULL;
	}
	f = filter_parse_or(p);
	if (f == NULL)
		return NULL;
	filter_skip_space(p);
	if (p->pos != p->len) {
		filter_fail(p, p->pos, "expected 'and', 'or' or the end of the filter, found %s",
		            filter_found(p, buf, sizeof(buf)));
		filter_free(f);
		return NULL;
	}
	return f;
}

struct filter *
filter_parse(const struct resource_type_def *rt, const char *text, struct rb_error *err)
{
	struct filter_parser p = {.rt = rt, .s = text, .err = err};

	if (text == NULL) {
		error_set(err, 400, SCIM_INVALID_FILTER,
		          "invalid filter at offset 0: empty filter");
		return NULL;
	}
	p.len = strnlen(text, (size_t)FILTER_MAX_LEN + 1);
	return filter_parse_text(&p);
}

struct filter *
filter_parse_value_filter(const struct resource_type_def *rt, const struct attr_ref *parent,
                          const char *text, size_t len, struct rb_error *err)
{
	struct filter_parser p = {.rt = rt, .vparent = parent, .s = text, .len = len, .err = err};

	if (text == NULL || parent == NULL) {
		error_set(err, 400, SCIM_INVALID_FILTER,
		          "invalid filter at offset 0: empty filter");
		return NULL;
	}
	return filter_parse_text(&p);
}

/* ---------------------------------------------------------------------
 * Evaluator
 */

/* Member `name` of object o: exact, then ASCII case-insensitive. Borrowed. */
static json_t *
filter_member(const json_t *o, const char *name)
{
	const char *k;
	json_t *v;
	size_t n = strlen(name);

	if (!json_is_object(o))
		return NULL;
	v = json_object_get(o, name);
	if (v != NULL)
		return v;
	json_object_foreach((json_t *)o, k,
	                    v) if (strlen(k) == n && filter_ncasecmp(k, name, n) == 0) return v;
	return NULL;
}

/* pr: a value that is not null, "", [] or {} (recursively). */
static bool
filter_nonempty(const json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (filter_nonempty(e)) return true;
		return false;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e) if (filter_nonempty(e)) return true;
		return false;
	}
	return true;
}

/*
 * The shortest "%.Ng" text of d that reads back as d; with `mark` a ".0"
 * is appended when the text would otherwise read as an integer.
 */
static void
filter_real_text(double d, char *buf, size_t size, bool mark)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (mark && strpbrk(buf, ".eE") == NULL) {
		size_t n = strlen(buf);

		if (n + 3 <= size)
			memcpy(buf + n, ".0", 3);
	}
}

/* The textual form of a scalar (for cross-type comparisons). Static or in buf. */
static const char *
filter_text(const json_t *v, char *buf, size_t size, size_t *len)
{
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	if (json_is_integer(v))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		filter_real_text(json_real_value(v), buf, size, false);
	else if (json_is_true(v))
		snprintf(buf, size, "true");
	else if (json_is_false(v))
		snprintf(buf, size, "false");
	else
		return NULL;
	*len = strlen(buf);
	return buf;
}

static int
filter_sign(long long d)
{
	return d < 0 ? -1 : d > 0;
}

/* Byte compare with optional ASCII fold, like memcmp then length. */
static int
filter_strcmp(const char *a, size_t la, const char *b, size_t lb, bool fold)
{
	size_t n = la < lb ? la : lb;

	for (size_t i = 0; i < n; i++) {
		int ca = (unsigned char)a[i], cb = (unsigned char)b[i];

		if (fold) {
			ca = filter_lower(ca);
			cb = filter_lower(cb);
		}
		if (ca != cb)
			return ca - cb;
	}
	return filter_sign((long long)la - (long long)lb);
}

static bool
filter_at(const char *a, const char *b, size_t n, bool fold)
{
	return fold ? filter_ncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

static bool
filter_op_result(enum filter_op op, int cmp)
{
	switch (op) {
	case FILTER_EQ:
		return cmp == 0;
	case FILTER_NE:
		return cmp != 0;
	case FILTER_GT:
		return cmp > 0;
	case FILTER_GE:
		return cmp >= 0;
	case FILTER_LT:
		return cmp < 0;
	case FILTER_LE:
		return cmp <= 0;
	default:
		return false;
	}
}

/* Text comparison of a and b under op, case-folded unless exact. */
static bool
filter_text_match(enum filter_op op, const char *a, size_t la, const char *b, size_t lb, bool exact)
{
	bool fold = !exact;

	switch (op) {
	case FILTER_CO:
		for (size_t i = 0; i + lb <= la; i++)
			if (filter_at(a + i, b, lb, fold))
				return true;
		return false;
	case FILTER_SW:
		return la >= lb && filter_at(a, b, lb, fold);
	case FILTER_EW:
		return la >= lb && filter_at(a + la - lb, b, lb, fold);
	default:
		return filter_op_result(op, filter_strcmp(a, la, b, lb, fold));
	}
}

/* A JSON number as written in a string (for "42" against a number attribute). NEW or NULL. */
static json_t *
filter_string_number(const json_t *s)
{
	const char *t = json_string_value(s);
	size_t n = json_string_length(s);
	bool integral;

	if (!filter_is_json_number(t, n, &integral))
		return NULL;
	return filter_number(t, n, integral);
}

static int
filter_num_cmp(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return i < j ? -1 : i > j;
	}
	x = json_number_value(a);
	y = json_number_value(b);
	return x < y ? -1 : x > y;
}

/* Does one scalar value v (of attribute def a, may be NULL) satisfy `op lit`? */
static bool
filter_scalar(const struct attr_def *a, enum filter_op op, const json_t *v, const json_t *lit)
{
	bool exact = a == NULL || a->case_exact;
	bool substr = op == FILTER_CO || op == FILTER_SW || op == FILTER_EW;
	char ba[64], bb[64];
	const char *ta, *tb;
	size_t la = 0, lb = 0;

	if (v == NULL || json_is_null(v) || json_is_object(v) || json_is_array(v) ||
	    json_is_null(lit))
		return false;
	if (json_is_boolean(v)) {
		bool want;

		if (op != FILTER_EQ && op != FILTER_NE)
			return false;
		if (json_is_boolean(lit))
			want = json_is_true(lit);
		else if (json_is_string(lit) &&
		         filter_word_is(json_string_value(lit), json_string_length(lit), "true"))
			want = true;
		else if (json_is_string(lit) &&
		         filter_word_is(json_string_value(lit), json_string_length(lit), "false"))
			want = false;
		else
			return op == FILTER_NE;
		return (json_is_true(v) == want) == (op == FILTER_EQ);
	}
	if (json_is_number(v) && !substr) {
		json_t *n = json_is_string(lit) ? filter_string_number(lit) : NULL;
		bool r;

		if (json_is_number(lit))
			return filter_op_result(op, filter_num_cmp(v, lit));
		if (n != NULL) {
			r = filter_op_result(op, filter_num_cmp(v, n));
			json_decref(n);
			return r;
		}
	}
	if (json_is_string(v) && json_is_string(lit) && !substr && a != NULL &&
	    a->type == ATTR_DATETIME) {
		struct rfc3339_instant x, y;

		if (rfc3339_parse(json_string_value(v), json_string_length(v), &x) &&
		    rfc3339_parse(json_string_value(lit), json_string_length(lit), &y))
			return filter_op_result(op, rfc3339_cmp(&x, &y));
	}
	ta = filter_text(v, ba, sizeof(ba), &la);
	tb = filter_text(lit, bb, sizeof(bb), &lb);
	if (ta == NULL || tb == NULL)
		return false;
	return filter_text_match(op, ta, la, tb, lb, exact);
}

/*
 * Any value in v (an array is flattened one level; a complex value stands
 * for its "value" sub-attribute when `complex` is set) satisfying op lit?
 */
static bool
filter_any(const struct attr_def *a, enum filter_op op, const json_t *v, const json_t *lit)
{
	const struct attr_def *cmp_def = a;
	json_t *e;
	size_t i;

	if (v == NULL)
		return false;
	if (a != NULL && a->type == ATTR_COMPLEX)
		cmp_def = schema_attr_lookup(NULL, a, "value");
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (filter_any(a, op, e, lit)) return true;
		return false;
	}
	if (json_is_object(v)) {
		if (a == NULL || a->type != ATTR_COMPLEX || cmp_def == NULL)
			return false;
		return filter_any(cmp_def, op, filter_member(v, "value"), lit);
	}
	return filter_scalar(cmp_def, op, v, lit);
}

/* Evaluate a comparison or pr node over the attribute value(s) v (borrowed, may be NULL). */
static bool
filter_leaf(const struct filter *f, const json_t *v)
{
	if (f->attr.attr == NULL)
		return false;
	if (f->op == FILTER_PR)
		return filter_nonempty(v);
	if (json_is_null(f->value)) {
		if (f->op == FILTER_EQ)
			return !filter_nonempty(v);
		if (f->op == FILTER_NE)
			return filter_nonempty(v);
		return false;
	}
	if (f->op == FILTER_NE)
		return !filter_any(f->attr.attr, FILTER_EQ, v, f->value);
	return filter_any(f->attr.attr, f->op, v, f->value);
}

/*
 * The value(s) of ref in a resource: a borrowed json_t, or for a
 * sub-attribute of a multi-valued complex attribute a NEW array of the
 * elements' sub-attribute values (*owned set).
 */
static json_t *
filter_locate(const struct attr_ref *ref, const json_t *resource, bool *owned)
{
	const json_t *base = resource;
	json_t *top, *e, *arr;
	size_t i;

	*owned = false;
	if (ref->attr == &filter_schemas_attr)
		return filter_member(resource, "schemas");
	if (!filter_schema_is_core(ref->schema)) {
		base = filter_member(resource, ref->schema->id);
		if (base == NULL)
			return NULL;
	}
	if (ref->parent == NULL)
		return filter_member(base, ref->attr->name);
	top = filter_member(base, ref->parent->name);
	if (!json_is_array(top))
		return filter_member(top, ref->attr->name);
	arr = json_array();
	if (arr == NULL)
		return NULL;
	json_array_foreach(top, i, e)
	{
		json_t *s = filter_member(e, ref->attr->name);

		if (s != NULL)
			json_array_append(arr, s);
	}
	*owned = true;
	return arr;
}

static bool filter_eval(const struct filter *f, const json_t *x, bool elem);

/* valuePath: does some element of the attribute satisfy the sub-filter? */
static bool
filter_valuepath(const struct filter *f, const json_t *resource)
{
	bool owned, r = false;
	json_t *v, *e;
	size_t i;

	if (f->attr.attr == NULL)
		return false;
	v = filter_locate(&f->attr, resource, &owned);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (filter_eval(f->left, e, true))
		{
			r = true;
			break;
		}
	} else if (v != NULL && !json_is_null(v)) {
		r = filter_eval(f->left, v, true);
	}
	if (owned)
		json_decref(v);
	return r;
}

/*
 * Evaluate f over x: a resource (elem false) or one element of a
 * multi-valued attribute (elem true). The recursion is as deep as the
 * tree: at most FILTER_MAX_DEPTH nesting plus one level per and/or of a
 * chain, itself bounded by FILTER_MAX_LEN.
 */
static bool
filter_eval(const struct filter *f, const json_t *x, bool elem)
{
	bool owned, r;
	json_t *v;

	if (f == NULL)
		return false;
	switch (f->op) {
	case FILTER_AND:
		return filter_eval(f->left, x, elem) && filter_eval(f->right, x, elem);
	case FILTER_OR:
		return filter_eval(f->left, x, elem) || filter_eval(f->right, x, elem);
	case FILTER_NOT:
		return !filter_eval(f->left, x, elem);
	case FILTER_VALUEPATH:
		return !elem && filter_valuepath(f, x);
	default:
		break;
	}
	if (f->attr.attr == NULL)
		return false;
	if (elem) {
		if (f->attr.parent == NULL)
			return filter_leaf(f, x); /* self ref: the element is the value */
		return json_is_object(x) && filter_leaf(f, filter_member(x, f->attr.attr->name));
	}
	v = filter_locate(&f->attr, x, &owned);
	r = filter_leaf(f, v);
	if (owned)
		json_decref(v);
	return r;
}

bool
filter_match(const struct filter *f, const json_t *resource)
{
	return filter_eval(f, resource, false);
}

bool
filter_match_value(const struct filter *f, const json_t *elem)
{
	return filter_eval(f, elem, true);
}

/* ---------------------------------------------------------------------
 * Canonical form
 */

struct filter_buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void
filter_buf_add(struct filter_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *t;

		while (cap < b->len + n + 1)
			cap *= 2;
		t = realloc(b->s, cap);
		if (t == NULL) {
			b->failed = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
filter_buf_str(struct filter_buf *b, const char *s)
{
	filter_buf_add(b, s, strlen(s));
}

static int
filter_prec(const struct filter *f)
{
	return f->op == FILTER_OR ? 1 : f->op == FILTER_AND ? 2 : 3;
}

static void filter_print(struct filter_buf *b, const struct filter *f);

static void
filter_print_child(struct filter_buf *b, const struct filter *c, int prec, bool right)
{
	bool paren = filter_prec(c) < prec || (right && filter_prec(c) == prec);

	if (paren)
		filter_buf_str(b, "(");
	filter_print(b, c);
	if (paren)
		filter_buf_str(b, ")");
}

static void
filter_print(struct filter_buf *b, const struct filter *f)
{
	char *lit;

	if (f == NULL) {
		b->failed = true;
		return;
	}
	switch (f->op) {
	case FILTER_AND:
	case FILTER_OR:
		filter_print_child(b, f->left, filter_prec(f), false);
		filter_buf_str(b, f->op == FILTER_AND ? " and " : " or ");
		filter_print_child(b, f->right, filter_prec(f), true);
		return;
	case FILTER_NOT:
		filter_buf_str(b, "not (");
		filter_print(b, f->left);
		filter_buf_str(b, ")");
		return;
	case FILTER_VALUEPATH:
		filter_buf_str(b, f->attr_text);
		filter_buf_str(b, "[");
		filter_print(b, f->left);
		filter_buf_str(b, "]");
		return;
	default:
		break;
	}
	filter_buf_str(b, f->attr_text);
	filter_buf_str(b, " ");
	filter_buf_str(b, filter_op_names[f->op]);
	if (f->op == FILTER_PR)
		return;
	if (json_is_real(f->value)) {
		char num[64];

		filter_real_text(json_real_value(f->value), num, sizeof(num), true);
		filter_buf_str(b, " ");
		filter_buf_str(b, num);
		return;
	}
	lit = json_dumps(f->value, JSON_ENCODE_ANY | JSON_COMPACT);
	if (lit == NULL) {
		b->failed = true;
		return;
	}
	filter_buf_str(b, " ");
	filter_buf_str(b, lit);
	free(lit);
}

char *
filter_to_string(const struct filter *f)
{
	struct filter_buf b = {0};

	filter_print(&b, f);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
