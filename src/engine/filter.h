/*
 * filter.h — SCIM filter parser and evaluator (RFC 7644 §3.4.2.2).
 *
 * Grammar (RFC 7644 figure 1, plus the quirks real clients send):
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *   compValue = false / null / true / number / string
 *               / bare word (Entra: `externalId eq 4711`, taken as a string
 *                 unless it is a JSON number/true/false/null)
 * Precedence: not > and > or; parentheses group. Attribute names and
 * operators are case-insensitive; names may be URN-qualified.
 *
 * A parsed filter is a tree of `struct filter` nodes, resolved against a
 * resource type's schema (so every attribute reference carries its
 * `struct attr_ref`). Unknown attributes are NOT an error at parse time
 * (RFC 7644 §3.4.2.2: they match nothing); they are kept with
 * attr.attr == NULL and evaluate to false (`pr`, `eq` …) — except under
 * `not`, where the usual negation applies.
 *
 * The evaluator runs over a resource in its SCIM JSON form (core
 * attributes at the top level, extension attributes under their URN key),
 * honouring attribute types (dateTime and numbers compare as such, booleans
 * only eq/ne), caseExact, and multi-valued semantics (an expression on a
 * multi-valued attribute is true if it holds for any value; on a complex
 * multi-valued attribute without a sub-attribute it applies to "value").
 */
#ifndef RB_FILTER_H
#define RB_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/schema.h"
#include "lib/error.h"

#define FILTER_MAX_LEN 8192 /* bytes of filter text accepted */
#define FILTER_MAX_DEPTH 64 /* nesting of not/and/or/parentheses/[] */

enum filter_op {
	FILTER_EQ,
	FILTER_NE,
	FILTER_CO,
	FILTER_SW,
	FILTER_EW,
	FILTER_GT,
	FILTER_GE,
	FILTER_LT,
	FILTER_LE,
	FILTER_PR,
	FILTER_AND,
	FILTER_OR,
	FILTER_NOT,
	FILTER_VALUEPATH, /* attr[ sub-filter ] — `left` is the sub-filter */
};

struct filter {
	enum filter_op op;
	/* comparison, pr and valuePath nodes: the attribute */
	struct attr_ref attr; /* attr.attr == NULL: unknown attribute */
	char *attr_text;      /* the attribute path as written (owned) */
	/* comparison nodes: the literal (a json string, number, true, false or
	 * null); owned by the node */
	json_t *value;
	/* and/or: left and right; not: left; valuePath: left = the filter on
	 * the complex attribute's sub-attributes */
	struct filter *left;
	struct filter *right;
};

/*
 * filter_parse — parse `text` (NUL-terminated) as a filter on resource
 * type `rt`. Returns a NEW tree (free with filter_free), or NULL with *err
 * set to 400 invalidFilter and a detail naming the byte offset where the
 * parse failed.
 */
struct filter *filter_parse(const struct resource_type_def *rt, const char *text,
                            struct rb_error *err);

/*
 * filter_parse_value_filter — parse the inside of a value path
 * (`type eq "work" and value co "@x"`) whose attributes are sub-attributes
 * of `parent` (a complex attribute of schema `schema`). Used by the PATCH
 * path parser. Same ownership and errors as filter_parse. `len` bytes of
 * `text` are parsed.
 */
struct filter *filter_parse_value_filter(const struct resource_type_def *rt,
                                         const struct attr_ref *parent, const char *text,
                                         size_t len, struct rb_error *err);

/* filter_free — free a tree from filter_parse*; NULL is fine. */
void filter_free(struct filter *f);

/*
 * filter_match — evaluate `f` over `resource` (borrowed, SCIM JSON form).
 * Returns true or false; never fails.
 */
bool filter_match(const struct filter *f, const json_t *resource);

/*
 * filter_match_value — evaluate a value-path sub-filter `f` (from
 * filter_parse_value_filter) over one element `elem` of a complex
 * multi-valued attribute (borrowed).
 */
bool filter_match_value(const struct filter *f, const json_t *elem);

/*
 * filter_to_string — the canonical text of `f` (for logs and tests:
 * lower-case operators, attribute paths as written, JSON literals).
 * Returns a NEW malloc'd string (caller frees), NULL on allocation failure.
 */
char *filter_to_string(const struct filter *f);

#endif /* RB_FILTER_H */
