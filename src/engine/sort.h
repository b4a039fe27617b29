/*
 * sort.h — sortBy / sortOrder (RFC 7644 §3.4.2.3).
 *
 *   - sortBy names a singular attribute ("userName", "name.givenName",
 *     "urn:…:enterprise:2.0:User:employeeNumber", "meta.lastModified"), or a
 *     multi-valued one, whose primary value — else its first — is used
 *     ("emails" = the primary email's "value"; "emails.type" = its type).
 *     A singular complex attribute without a sub-attribute cannot be
 *     compared: "the attribute name must be a path to a sub-attribute".
 *   - Unknown or malformed sortBy → 400 invalidPath: the RFC names no
 *     error; the value is an attribute path (§3.10) and invalidPath is
 *     §3.12's code for a bad path. We reject rather than silently return
 *     an order the client did not ask for.
 *   - sortOrder "ascending" (default) or "descending", case-insensitive;
 *     anything else 400 invalidValue.
 *   - Strings compare per caseExact (case-insensitively by default,
 *     §3.4.2.3), byte order = code point order for UTF-8; numbers and
 *     booleans (false < true) as such; dateTime chronologically (RFC 3339
 *     instants: offsets and fractions of a second count; values that do
 *     not parse sort after those that do, among themselves as text).
 *   - Missing values sort last in ascending and first in descending order
 *     (§3.4.2.3: "ordered last if ascending and first if descending").
 *   - Ties (and resources with no value) are ordered by "id" ascending,
 *     so paging with startIndex/count is stable.
 */
#ifndef RB_SORT_H
#define RB_SORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/schema.h"
#include "lib/error.h"

struct sort_key {
	const struct schema_def *schema; /* borrowed; NULL for common attributes */
	const struct attr_def *attr;     /* borrowed; top-level attribute */
	const struct attr_def *sub;      /* borrowed; sub-attribute compared, or NULL */
	bool descending;
};

/*
 * sort_parse — resolve sortBy / sortOrder (sort_order may be NULL) for rt
 * into *out. Returns 0, or -1 with *err set (400 invalidPath /
 * invalidValue).
 */
int sort_parse(const struct resource_type_def *rt, const char *sort_by, const char *sort_order,
               struct sort_key *out, struct rb_error *err);

/*
 * sort_compare — <0, 0, >0 as resource a sorts before, with, after b
 * (both borrowed) under key k; ties broken by id. rt is the resource type.
 */
int sort_compare(const struct resource_type_def *rt, const struct sort_key *k, const json_t *a,
                 const json_t *b);

/*
 * sort_resources — sort items[0..n) in place (a stable merge sort; the
 * array holds borrowed references). Returns 0, -1 on allocation failure.
 */
int sort_resources(const struct resource_type_def *rt, const struct sort_key *k, json_t **items,
                   size_t n);

#endif /* RB_SORT_H */
