/*
 * owned.c — the GET, PUT and PATCH flows of an owned, named resource type
 * (struct dir_owned: schools, regions). Each flow holds one directory
 * connection for the operation; the type says how to find, present and
 * write one of its entries.
 *
 * Behaviour
 *   - PUT and PATCH check the owner before anything is written (403 naming
 *     the owner: access_check_owner, docs/mapping.md "Ownership").
 *   - A PATCH that changes nothing writes nothing, but still answers 412
 *     when If-Match names another version (RFC 7644 §3.14).
 *
 * The resources returned never point into the operation (`op`, on the
 * stack) that made them; cppcheck cannot tell through the type's function
 * pointers, hence its suppressions on the returns.
 */
#include "dir/dir_int.h"

#include <string.h>

#include "engine/patch.h"
#include "engine/schema.h"

json_t *
dir_owned_get(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
              struct rb_error *err)
{
	struct dir_op op;
	json_t *map, *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = t->find(&op, id, err);
	if (map != NULL)
		out = t->one(&op, map, err);
	json_decref(map);
	dir_op_end(&op);
	/* cppcheck-suppress returnDanglingLifetime */
	return out;
}

json_t *
dir_owned_replace(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
                  const json_t *res, const char *if_match, struct rb_error *err)
{
	struct dir_op op;
	json_t *old, *after = NULL, *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	old = t->find(&op, id, err);
	if (old != NULL && access_check_owner(&op, old, t->kind, err) == 0)
		after = t->write(&op, old, res, if_match, err);
	if (after != NULL)
		out = t->one(&op, after, err);
	json_decref(old);
	json_decref(after);
	dir_op_end(&op);
	/* cppcheck-suppress returnDanglingLifetime */
	return out;
}

json_t *
dir_owned_patch(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
                const json_t *patch_body, const char *if_match, struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type(t->rt_name);
	struct patch_result pr;
	struct dir_op op;
	json_t *old = NULL, *cur = NULL, *after = NULL, *out = NULL;

	memset(&pr, 0, sizeof(pr));
	TAILQ_INIT(&pr.changes);
	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	old = t->find(&op, id, err);
	if (old == NULL || access_check_owner(&op, old, t->kind, err) < 0)
		goto done;
	cur = t->one(&op, old, err);
	if (cur == NULL || patch_apply(rt, cur, patch_body, NULL, ctx->input, &pr, err) != PATCH_OK)
		goto done;
	if (!pr.changed) {
		if (dir_check_version(old, if_match, err) == 0)
			out = json_incref(cur);
		goto done;
	}
	after = t->write(&op, old, pr.resource, if_match, err);
	if (after != NULL)
		out = t->one(&op, after, err);
done:
	patch_result_clear(&pr);
	json_decref(old);
	json_decref(cur);
	json_decref(after);
	dir_op_end(&op);
	/* cppcheck-suppress returnDanglingLifetime */
	return out;
}
