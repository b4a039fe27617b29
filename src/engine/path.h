/*
 * path.h — SCIM attribute paths (RFC 7644 §3.5.2 figure 7, §3.10).
 *
 *   PATH = attrPath / valuePath [subAttr]
 *
 * Accepted forms (names case-insensitive, resolved against a resource type
 * with schema_resolve):
 *   userName                    name.givenName
 *   urn:…:enterprise:2.0:User:employeeNumber
 *   urn:…:enterprise:2.0:User:manager.value
 *   emails[type eq "work"]      emails[type eq "work"].value
 *   members[value eq "2819c223-…"]
 * Leading and trailing blanks are ignored. Anything else (an unknown
 * attribute, a filter on a singular attribute, a sub-attribute that the
 * attribute does not have, a malformed or unbalanced filter, trailing
 * text) is 400 invalidPath (RFC 7644 §3.12: "The "path" attribute was
 * invalid or malformed").
 *
 * The module also holds the small JSON helpers the engine's path users
 * (patch, project, sort) share: case-insensitive member lookup and the
 * container (resource or extension object) an attribute lives in.
 */
#ifndef RB_PATH_H
#define RB_PATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/filter.h"
#include "engine/schema.h"
#include "lib/error.h"

#define PATH_MAX_LEN 4096 /* bytes of path text accepted */

struct path {
	const struct schema_def *schema; /* borrowed; NULL for id/externalId/meta */
	const struct attr_def *attr;     /* borrowed; the top-level attribute */
	const struct attr_def *sub;      /* borrowed; sub-attribute, or NULL */
	struct filter *filter;           /* owned; value filter of attr[…], or NULL */
};

/*
 * path_parse — parse `text` (NUL-terminated) as a PATCH path on resource
 * type `rt` into *out. Returns 0, or -1 with *err set (400 invalidPath)
 * and *out zeroed. On success *out owns a filter tree: release it with
 * path_clear.
 */
int path_parse(const struct resource_type_def *rt, const char *text, struct path *out,
               struct rb_error *err);

/*
 * path_schema_alone — the schema of `rt` (its core schema or an extension)
 * whose URN is the whole of `text` (case-insensitive, blanks trimmed), or
 * NULL: a PATCH path may name an extension's complex value so (SPEC §2.2).
 * Borrowed.
 */
const struct schema_def *path_schema_alone(const struct resource_type_def *rt, const char *text);

/*
 * path_unknown_name — when `text` is a path whose attribute the schema
 * does not know ("adreses", "name.middle", "urn:…:User:costCentre",
 * "urn:x:custom", "adreses[type eq \"work\"]"), the length of that
 * attribute name and *name pointing at it inside `text` (borrowed); 0 when
 * the attribute is known or the text is no attribute name at all.
 */
size_t path_unknown_name(const struct resource_type_def *rt, const char *text, const char **name);

/* path_clear — free what *p owns and zero it; NULL is fine. */
void path_clear(struct path *p);

/*
 * path_is_core — true when attributes of `schema` live at the top level of
 * a resource of type `rt` (the core schema, or NULL = common attributes).
 */
bool path_is_core(const struct resource_type_def *rt, const struct schema_def *schema);

/*
 * path_is_extension — true when `schema` is one of rt's extensions.
 */
bool path_is_extension(const struct resource_type_def *rt, const struct schema_def *schema);

/*
 * path_object_get — member `key` of JSON object `obj`, compared
 * case-insensitively (exact match preferred). Borrowed, or NULL.
 */
json_t *path_object_get(const json_t *obj, const char *key);

/*
 * path_object_key — the key under which path_object_get would find `key`
 * in `obj` (borrowed from obj; valid until obj changes), or NULL.
 */
const char *path_object_key(const json_t *obj, const char *key);

/*
 * path_container — the object that holds attributes of `schema` in
 * `resource`: the resource itself for core/common attributes, else
 * resource[schema URN] (case-insensitive), or NULL if absent. Borrowed.
 */
json_t *path_container(const struct resource_type_def *rt, const json_t *resource,
                       const struct schema_def *schema);

/*
 * path_get — the value of top-level attribute `attr` of `schema` in
 * `resource` (borrowed), or NULL when unassigned. JSON null and, for
 * multi-valued attributes, [] count as unassigned (RFC 7643 §2.5).
 */
json_t *path_get(const struct resource_type_def *rt, const json_t *resource,
                 const struct schema_def *schema, const struct attr_def *attr);

#endif /* RB_PATH_H */
