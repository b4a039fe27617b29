/*
 * project.h — the "attributes" / "excludedAttributes" query parameters
 * (RFC 7644 §3.9) and the "returned" characteristic (RFC 7643 §2.2, §7).
 *
 *   returned always   kept whatever the lists say (id; "schemas" too)
 *   returned never    never in a response (password), even if named
 *   returned default  kept unless `attributes` is given and does not name
 *                     it, or `excludedAttributes` names it
 *   returned request  kept only when named in `attributes`
 *
 * Names are in §3.10 notation, case-insensitive, URN-qualified or not,
 * with sub-attributes ("name.givenName", "emails.value"); a bare
 * extension URN names the whole extension. Unknown names are ignored
 * (RFC 7644 is silent; we are lenient). The two parameters are mutually
 * exclusive (§3.9); when both are given, `attributes` wins and
 * excludedAttributes is ignored.
 */
#ifndef RB_PROJECT_H
#define RB_PROJECT_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/schema.h"
#include "lib/error.h"

struct project;

/*
 * project_new — parse the two comma-separated lists (either may be NULL
 * or empty) for resource type rt. Returns a NEW projection (free with
 * project_free), or NULL with *err set (500 on allocation failure only:
 * unknown names are not an error).
 */
struct project *project_new(const struct resource_type_def *rt, const char *attributes,
                            const char *excluded_attributes, struct rb_error *err);

/* project_free — free p; NULL is fine. */
void project_free(struct project *p);

/*
 * project_apply — the projection of `resource` (borrowed, SCIM JSON form).
 * Returns a NEW resource, NULL on allocation failure.
 */
json_t *project_apply(const struct project *p, const json_t *resource);

/*
 * project_wants — whether any part of top-level attribute `attr` of
 * `schema` (NULL for id/externalId/meta) can appear in the response, so
 * the directory layer can leave unwanted LDAP attributes unread (e.g.
 * excludedAttributes=members: do not read `member`).
 */
bool project_wants(const struct project *p, const struct schema_def *schema,
                   const struct attr_def *attr);

#endif /* RB_PROJECT_H */
