/*
 * patch.h — SCIM PATCH (RFC 7644 §3.5.2): apply a PatchOp body to a
 * resource, producing a new resource and a change set for the directory
 * layer. Pure: no I/O. See the behaviour block at the top of patch.c.
 */
#ifndef RB_PATCH_H
#define RB_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "engine/schema.h"
#include "engine/validate.h"
#include "lib/error.h"

#define PATCH_MAX_OPERATIONS 1000 /* Operations accepted in one body */

/* patch_apply results */
#define PATCH_OK 0       /* applied; see struct patch_result */
#define PATCH_ERROR (-1) /* *err is set (status + scimType) */
#define PATCH_NEED_LOAD                                                                            \
	1 /* an op on a deferred attribute needs its values:                                       \
	   * load it and call again without deferring it */

enum patch_change_kind {
	/*
	 * The attribute's whole new value is `value`: a JSON value for a
	 * singular attribute, an array for a multi-valued one; NULL when the
	 * attribute became unassigned (write "delete attribute").
	 */
	PATCH_CHANGE_REPLACED,
	/*
	 * Multi-valued only: remove the elements of `removed`, then add the
	 * elements of `added` (both arrays, possibly empty). For a deferred
	 * attribute the values may or may not be present already: the
	 * directory layer should tolerate adding a present value and removing
	 * an absent one (LDAP Permissive Modify control). For a loaded
	 * attribute `value` also holds the full new array (NULL if none left).
	 */
	PATCH_CHANGE_DELTA,
};

struct patch_change {
	const struct schema_def *schema; /* borrowed; NULL for externalId */
	const struct attr_def *attr;     /* borrowed; the top-level attribute */
	enum patch_change_kind kind;
	json_t *value;   /* owned reference (see kinds above), or NULL */
	json_t *added;   /* owned array (DELTA), else NULL */
	json_t *removed; /* owned array (DELTA), else NULL */
	bool deferred;   /* the attribute was deferred (not in the resource) */
	bool wholesale;  /* internal: a replace/remove-all touched it */
	TAILQ_ENTRY(patch_change) entry;
};
TAILQ_HEAD(patch_changes, patch_change);

struct patch_result {
	json_t *resource;             /* owned: the NEW resource */
	struct patch_changes changes; /* owned: one entry per changed attribute */
	bool changed;                 /* false: a no-op PATCH; write nothing */
};

/*
 * patch_apply — apply PatchOp `body` to `resource`, a resource of type
 * `rt` in SCIM JSON form (core attributes at the top level, extension
 * attributes under their URN key). Both are borrowed and never modified.
 *
 * `deferred` is NULL or a NULL-terminated list of top-level attribute
 * names (e.g. {"members", NULL}) whose values are NOT in `resource`; ops
 * on them that need no current values become change-set entries (see
 * patch.c), any other op on them returns PATCH_NEED_LOAD.
 *
 * `opts` (borrowed; NULL: strict) says what unknown attributes in values,
 * path-less keys and paths do (validate.h): ignored and reported, or 400.
 *
 * Returns PATCH_OK and fills *out (release with patch_result_clear), or
 * PATCH_ERROR with *err set and *out empty, or PATCH_NEED_LOAD with *out
 * empty and *err untouched. The PATCH is atomic: on error nothing of it
 * is in *out.
 */
int patch_apply(const struct resource_type_def *rt, const json_t *resource, const json_t *body,
                const char *const *deferred, struct validate_opts *opts, struct patch_result *out,
                struct rb_error *err);

/* patch_result_clear — free what *r owns and leave it empty; NULL is fine. */
void patch_result_clear(struct patch_result *r);

/*
 * patch_change_find — the change for attribute `name` (case-insensitive,
 * as schema_resolve accepts it) in r, or NULL. Borrowed.
 */
const struct patch_change *patch_change_find(const struct resource_type_def *rt,
                                             const struct patch_result *r, const char *name);

/*
 * patch_changes_to_json — the change set as JSON, for logs and tests:
 * [{"attr":"<urn>:<name>"|"<name>", "kind":"replaced"|"delta",
 *   "value":…, "added":[…], "removed":[…], "deferred":true}, …].
 * Returns a NEW reference, NULL on allocation failure.
 */
json_t *patch_changes_to_json(const struct patch_result *r);

#endif /* RB_PATCH_H */
