/*
 * patch.c — SCIM PATCH (RFC 7644 §3.5.2); see patch.h.
 *
 * Glossary
 *   op          one element of "Operations": {"op", "path", "value"}; op
 *               names and member names are case-insensitive (Entra sends
 *               "Replace", "Add", "Remove").
 *   target      the attribute a path names: A (top level), optionally a
 *               value filter F (A[F]) and a sub-attribute S (A.S, A[F].S).
 *   element     one value of a multi-valued attribute.
 *   same        two elements are the same value when their "value"
 *               sub-attributes are equal (caseExact per schema) and, if
 *               both have one, their "type"s are equal; elements without a
 *               "value" sub-attribute are the same when JSON-equal; simple
 *               multi-valued elements compare per caseExact.
 *   deferred    a top-level attribute the caller did not load (a group's
 *               50,000 members): ops on it are recorded in the change set
 *               without reading it, or answered PATCH_NEED_LOAD.
 *   change set  one struct patch_change per top-level attribute whose
 *               value differs after the PATCH (REPLACED or DELTA).
 *
 * Behaviour (RFC 7644 §3.5.2 unless said otherwise)
 *   - The body must list urn:ietf:params:scim:api:messages:2.0:PatchOp in
 *     "schemas" and carry a non-empty "Operations" array; an op must be
 *     add/remove/replace with a string "path" if any: else 400
 *     invalidSyntax (§3.12: "did not conform to the request schema").
 *   - Ops apply in order on a private copy; the PATCH is atomic: the first
 *     error aborts it and nothing is returned but the error (§3.5.2
 *     "SHALL be treated as atomic").
 *   - Values are validated and coerced by validate_value (validate.c):
 *     Entra's string booleans, canonical values of our extensions, a
 *     single element where an array is expected, at most one primary.
 *     null, [] and {} mean unassigned (RFC 7643 §2.5): add/replace with
 *     them removes the attribute.
 *   - add, no path: "value" is an object of attribute names — plain,
 *     dotted ("name.givenName", Entra), URN-prefixed ("urn:…:User:
 *     employeeNumber"), or an extension URN whose value is an object of
 *     that extension's attributes; each key is applied as add with that
 *     path. Likewise replace. A "schemas" key is ignored.
 *   - A path that is a schema URN alone (the enterprise or admin extension,
 *     as several clients send it) addresses that extension's object:
 *     add/replace apply each member of the object value as a path-less
 *     value would; remove unassigns every writable attribute of it (for
 *     the admin extension, the calling source's grant). The core schema's
 *     URN takes add/replace as a path-less op; removing it is noTarget.
 *   - Unknown attributes (validate.h, struct validate_opts): a path-less
 *     key, a path or an extension member naming an attribute the schema
 *     does not have, and unknown sub-attributes inside values, are
 *     ignored (a no-op, listed in opts->ignored) when opts is lenient;
 *     strict (or no opts): 400 invalidPath for a path or key, 400
 *     invalidSyntax for a sub-attribute inside a value. A path that is
 *     malformed (not just unknown) is 400 invalidPath in both modes.
 *   - add A (multi-valued): each new element is appended unless the same
 *     value is present, in which case the new element's sub-attributes are
 *     merged into it (§3.5.2.1: an existing value "SHOULD" not change the
 *     resource). add A (singular complex): sub-attributes merged. add A
 *     (simple): set. add A[F] / A[F].S: matching elements are merged /
 *     get S; when nothing matches a new element is appended, seeded with
 *     the "sub eq literal" terms of F (Entra's "add addresses[type eq
 *     \"work\"].streetAddress" on a user without a work address).
 *   - replace A (multi-valued, no filter): all values replaced. replace A
 *     (singular complex): given sub-attributes replaced, others left
 *     (§3.5.2.3). replace A[F]: matching elements replaced; A[F].S: S of
 *     matching elements replaced; nothing matching: 400 noTarget
 *     (§3.5.2.3). replace of an unassigned attribute adds it (§3.5.2.3).
 *   - remove without path: 400 noTarget (§3.5.2.2). remove A: unassign;
 *     remove A with a "value" array (Entra member removal): remove exactly
 *     the same elements. remove A[F]: matching elements removed, none
 *     matching is a success (idempotent; §3.5.2.2 names noTarget only for
 *     a missing path). remove A.S / A[F].S: the sub-attribute is removed,
 *     an element or complex value left empty is removed.
 *   - A.S where A is multi-valued (no filter) is 400 invalidPath: it does
 *     not say which elements.
 *   - Mutability (RFC 7643 §2.2, RFC 7644 §3.5.2): changing a readOnly
 *     attribute (id, meta, groups, grants, inviteStatus) is 400
 *     mutability; sending a readOnly attribute's current value is a no-op
 *     (clients echo "id"). An immutable attribute with a value may not be
 *     changed; an immutable sub-attribute (members.value) may not be
 *     rewritten in place, but whole elements may be added and removed.
 *   - Removing (or nulling) a required attribute (userName, displayName)
 *     is 400 mutability: §3.5.2.2 "If an attribute is removed or becomes
 *     unassigned and is defined as a required attribute or a read-only
 *     attribute, the server SHALL return … "mutability"".
 *   - Primary (RFC 7643 §2.4): when an element with "primary": true is
 *     added or set, every other element's true primary becomes false.
 *   - Deferred attributes: add A → DELTA added; remove A with a value
 *     array → DELTA removed; remove A[value eq "x" or value eq "y"] →
 *     DELTA removed [{"value":"x"},{"value":"y"}]; replace A → REPLACED;
 *     remove A → REPLACED []. A sub-attribute, any other filter, or add /
 *     replace with a filter → PATCH_NEED_LOAD. A deferred change counts
 *     as a change (we cannot know whether a member was already there).
 *   - Change set of loaded attributes: computed at the end by comparing
 *     the old and new value of every attribute an op touched; unchanged
 *     attributes have no entry, and no entry at all means changed=false
 *     (a no-op PATCH writes nothing and keeps meta.lastModified,
 *     §3.5.2.1). Multi-valued attributes get DELTA (elements added /
 *     removed by JSON equality) unless an op replaced or removed them
 *     wholesale (REPLACED).
 */
#include "engine/patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/filter.h"
#include "engine/path.h"
#include "engine/validate.h"

enum patch_op { OP_ADD, OP_REMOVE, OP_REPLACE };

struct patch_ctx {
	const struct resource_type_def *rt;
	const json_t *orig;          /* borrowed: the input resource */
	json_t *res;                 /* owned: the working copy */
	const char *const *deferred; /* borrowed */
	struct validate_opts *opts;  /* borrowed; NULL: strict */
	struct patch_changes changes;
	struct rb_error *err;
	bool need_load;
};

static const char *const op_names[] = {"add", "remove", "replace"};

/* ---------------------------------------------------------------------
 * Small helpers
 */

static const struct attr_def *
patch_sub_def(const struct attr_def *attr, const char *name)
{
	const struct attr_def *a;

	if (attr == NULL || attr->sub_attrs == NULL)
		return NULL;
	for (a = attr->sub_attrs; a->name != NULL; a++)
		if (strcasecmp(a->name, name) == 0)
			return a;
	return NULL;
}

static bool
patch_scalar_same(const struct attr_def *def, const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (json_is_string(a) && json_is_string(b)) {
		if (def != NULL && def->case_exact)
			return strcmp(json_string_value(a), json_string_value(b)) == 0;
		return strcasecmp(json_string_value(a), json_string_value(b)) == 0;
	}
	return json_equal(a, b);
}

/* patch_same — see "same" in the glossary. */
static bool
patch_same(const struct attr_def *attr, const json_t *a, const json_t *b)
{
	const struct attr_def *vdef, *tdef;
	json_t *va, *vb, *ta, *tb;

	if (attr->type != ATTR_COMPLEX)
		return patch_scalar_same(attr, a, b);
	vdef = patch_sub_def(attr, "value");
	va = path_object_get(a, "value");
	vb = path_object_get(b, "value");
	if (vdef == NULL || (va == NULL && vb == NULL))
		return json_equal(a, b);
	if (!patch_scalar_same(vdef, va, vb))
		return false;
	tdef = patch_sub_def(attr, "type");
	ta = path_object_get(a, "type");
	tb = path_object_get(b, "type");
	if (tdef != NULL && ta != NULL && tb != NULL && !json_is_null(ta) && !json_is_null(tb))
		return patch_scalar_same(tdef, ta, tb);
	return true;
}

static bool
patch_is_unassigned(const json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

static bool
patch_is_deferred(const struct patch_ctx *c, const struct attr_def *attr)
{
	const char *const *d;

	if (c->deferred == NULL)
		return false;
	for (d = c->deferred; *d != NULL; d++)
		if (strcasecmp(*d, attr->name) == 0)
			return true;
	return false;
}

/*
 * patch_simple_match — a value filter over one element of a simple
 * multi-valued attribute (schools[value eq "s1"], RFC 7644 §3.5.2.2 and
 * erratum 7122): the element is the "value". Evaluated here because the
 * attribute has no sub-attribute table for the filter module to resolve
 * "value" against.
 */
static bool
patch_simple_match(const struct attr_def *attr, const struct filter *f, const json_t *elem)
{
	const char *a, *b;
	size_t la, lb;
	int cmp;

	if (f == NULL)
		return false;
	switch (f->op) {
	case FILTER_AND:
		return patch_simple_match(attr, f->left, elem) &&
		       patch_simple_match(attr, f->right, elem);
	case FILTER_OR:
		return patch_simple_match(attr, f->left, elem) ||
		       patch_simple_match(attr, f->right, elem);
	case FILTER_NOT:
		return !patch_simple_match(attr, f->left, elem);
	case FILTER_VALUEPATH:
		return false;
	default:
		break;
	}
	if (f->attr_text == NULL || strcasecmp(f->attr_text, "value") != 0)
		return false;
	if (f->op == FILTER_PR)
		return elem != NULL && !json_is_null(elem);
	if (!json_is_string(elem) || !json_is_string(f->value)) {
		bool eq = json_equal(elem, f->value);

		return f->op == FILTER_EQ ? eq : f->op == FILTER_NE ? !eq : false;
	}
	a = json_string_value(elem);
	b = json_string_value(f->value);
	la = strlen(a);
	lb = strlen(b);
	cmp = attr->case_exact ? strcmp(a, b) : strcasecmp(a, b);
	switch (f->op) {
	case FILTER_EQ:
		return cmp == 0;
	case FILTER_NE:
		return cmp != 0;
	case FILTER_CO:
		for (size_t i = 0; i + lb <= la; i++)
			if ((attr->case_exact ? strncmp(a + i, b, lb)
			                      : strncasecmp(a + i, b, lb)) == 0)
				return true;
		return false;
	case FILTER_SW:
		return la >= lb &&
		       (attr->case_exact ? strncmp(a, b, lb) : strncasecmp(a, b, lb)) == 0;
	case FILTER_EW:
		return la >= lb && (attr->case_exact ? strcmp(a + la - lb, b)
		                                     : strcasecmp(a + la - lb, b)) == 0;
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

/* patch_elem_match — does element `elem` of multi-valued `attr` match f? */
static bool
patch_elem_match(const struct attr_def *attr, const struct filter *f, json_t *elem)
{
	if (attr->type == ATTR_COMPLEX)
		return filter_match_value(f, elem);
	return patch_simple_match(attr, f, elem);
}

/* ---------------------------------------------------------------------
 * Change set
 */

static struct patch_change *
patch_change_get(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr,
                 bool create)
{
	struct patch_change *ch;

	TAILQ_FOREACH(ch, &c->changes, entry)
	if (ch->attr == attr && ch->schema == schema)
		return ch;
	if (!create)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->schema = schema;
	ch->attr = attr;
	ch->kind = attr->multi_valued ? PATCH_CHANGE_DELTA : PATCH_CHANGE_REPLACED;
	TAILQ_INSERT_TAIL(&c->changes, ch, entry);
	return ch;
}

static void
patch_change_free(struct patch_change *ch)
{
	json_decref(ch->value);
	json_decref(ch->added);
	json_decref(ch->removed);
	free(ch);
}

static int
patch_touch(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr,
            bool wholesale)
{
	struct patch_change *ch = patch_change_get(c, schema, attr, true);

	if (ch == NULL)
		return error_set(c->err, 500, NULL, "out of memory");
	if (wholesale)
		ch->wholesale = true;
	return 0;
}

/* patch_array_find — index of an element of arr that is the same as v, or -1. */
static long
patch_array_find(const struct attr_def *attr, const json_t *arr, const json_t *v)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (patch_same(attr, json_array_get(arr, i), v))
			return (long)i;
	return -1;
}

/* patch_array_drop — remove every element of arr that is the same as v. */
static void
patch_array_drop(const struct attr_def *attr, json_t *arr, const json_t *v)
{
	size_t i = 0;

	while (i < json_array_size(arr)) {
		if (patch_same(attr, json_array_get(arr, i), v))
			json_array_remove(arr, i);
		else
			i++;
	}
}

/* deferred: record "v is now present" (steals nothing; copies v) */
static int
patch_deferred_add(struct patch_ctx *c, struct patch_change *ch, const json_t *v)
{
	json_t *copy = json_deep_copy(v);

	if (copy == NULL)
		return error_set(c->err, 500, NULL, "out of memory");
	if (ch->kind == PATCH_CHANGE_REPLACED) {
		if (patch_array_find(ch->attr, ch->value, v) < 0)
			json_array_append(ch->value, copy);
	} else {
		patch_array_drop(ch->attr, ch->removed, v);
		if (patch_array_find(ch->attr, ch->added, v) < 0)
			json_array_append(ch->added, copy);
	}
	json_decref(copy);
	return 0;
}

/* deferred: record "v is now absent" */
static int
patch_deferred_remove(struct patch_ctx *c, struct patch_change *ch, const json_t *v)
{
	json_t *key;

	if (ch->kind == PATCH_CHANGE_REPLACED) {
		patch_array_drop(ch->attr, ch->value, v);
		return 0;
	}
	patch_array_drop(ch->attr, ch->added, v);
	if (patch_array_find(ch->attr, ch->removed, v) >= 0)
		return 0;
	/* removal is by identity: keep only "value" (and "type") of a complex element */
	if (ch->attr->type == ATTR_COMPLEX && path_object_get(v, "value") != NULL) {
		json_t *t = path_object_get(v, "type");

		key = json_pack("{s:O}", "value", path_object_get(v, "value"));
		if (key != NULL && t != NULL && patch_sub_def(ch->attr, "type") != NULL)
			json_object_set(key, "type", t);
	} else {
		key = json_deep_copy(v);
	}
	if (key == NULL)
		return error_set(c->err, 500, NULL, "out of memory");
	json_array_append_new(ch->removed, key);
	return 0;
}

static int
patch_deferred_reset(struct patch_ctx *c, struct patch_change *ch, json_t *value /* stolen */)
{
	json_decref(ch->added);
	json_decref(ch->removed);
	json_decref(ch->value);
	ch->added = ch->removed = NULL;
	ch->kind = PATCH_CHANGE_REPLACED;
	ch->wholesale = true;
	ch->value = value != NULL ? value : json_array();
	if (ch->value == NULL)
		return error_set(c->err, 500, NULL, "out of memory");
	return 0;
}

/* ---------------------------------------------------------------------
 * The working copy
 */

static void
patch_schemas_update(struct patch_ctx *c, const char *urn, bool present)
{
	json_t *schemas = path_object_get(c->res, "schemas");
	size_t i;

	if (!json_is_array(schemas)) {
		if (!present)
			return;
		schemas = json_array();
		if (schemas == NULL)
			return;
		json_object_set_new(c->res, "schemas", schemas);
	}
	for (i = 0; i < json_array_size(schemas); i++) {
		const char *s = json_string_value(json_array_get(schemas, i));

		if (s != NULL && strcasecmp(s, urn) == 0) {
			if (!present)
				json_array_remove(schemas, i);
			return;
		}
	}
	if (present)
		json_array_append_new(schemas, json_string(urn));
}

/*
 * patch_set — make `v` (stolen; NULL or unassigned = remove) the value of
 * top-level attribute attr of schema in the working copy.
 */
static int
patch_set(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr,
          json_t *v)
{
	json_t *container;
	const char *key;

	container = path_container(c->rt, c->res, schema);
	if (container == NULL) {
		if (patch_is_unassigned(v)) {
			json_decref(v);
			return 0;
		}
		container = json_object();
		if (container == NULL || json_object_set_new(c->res, schema->id, container) != 0) {
			json_decref(v);
			return error_set(c->err, 500, NULL, "out of memory");
		}
		patch_schemas_update(c, schema->id, true);
	}
	key = path_object_key(container, attr->name);
	if (key != NULL && strcmp(key, attr->name) != 0) {
		char *dup = strdup(key);

		if (dup != NULL) {
			json_object_del(container, dup);
			free(dup);
		}
	}
	if (patch_is_unassigned(v)) {
		json_decref(v);
		json_object_del(container, attr->name);
		if (!path_is_core(c->rt, schema) && json_object_size(container) == 0) {
			const char *ek = path_object_key(c->res, schema->id);
			char *dup = ek != NULL ? strdup(ek) : NULL;

			if (dup != NULL) {
				json_object_del(c->res, dup);
				free(dup);
			}
			patch_schemas_update(c, schema->id, false);
		}
		return 0;
	}
	if (json_object_set_new(container, attr->name, v) != 0)
		return error_set(c->err, 500, NULL, "out of memory");
	return 0;
}

/* patch_container_make — the container of schema's attributes, created if missing. Borrowed. */
static json_t *
patch_container_make(struct patch_ctx *c, const struct schema_def *schema)
{
	json_t *container = path_container(c->rt, c->res, schema);

	if (container != NULL)
		return container;
	container = json_object();
	if (container == NULL || json_object_set_new(c->res, schema->id, container) != 0)
		return NULL;
	patch_schemas_update(c, schema->id, true);
	return container;
}

/*
 * patch_make — the working copy's value of attr (borrowed), created as an
 * empty array (multi-valued) or object (complex) if unassigned. The caller
 * fills it and calls patch_tidy.
 */
static json_t *
patch_make(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr)
{
	json_t *container, *cur = path_get(c->rt, c->res, schema, attr), *v;
	const char *key;

	if (attr->multi_valued ? json_is_array(cur) : json_is_object(cur))
		return cur;
	container = patch_container_make(c, schema);
	if (container == NULL)
		return NULL;
	v = attr->multi_valued ? json_array() : json_object();
	if (v == NULL)
		return NULL;
	if (attr->multi_valued && cur != NULL)
		json_array_append(v, cur); /* a stored single value: be robust */
	key = path_object_key(container, attr->name);
	if (key != NULL && strcmp(key, attr->name) != 0) {
		char *dup = strdup(key);

		if (dup != NULL) {
			json_object_del(container, dup);
			free(dup);
		}
	}
	if (json_object_set_new(container, attr->name, v) != 0)
		return NULL;
	return v;
}

/* patch_tidy — drop an attribute left as [] or {} (unassigned, RFC 7643 §2.5). */
static int
patch_tidy(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr)
{
	json_t *container = path_container(c->rt, c->res, schema);
	json_t *v = path_object_get(container, attr->name);

	if (v != NULL && patch_is_unassigned(v))
		return patch_set(c, schema, attr, NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Values
 */

/*
 * patch_value — validate and coerce `v` for attr (sub == NULL) or its
 * sub-attribute sub. NEW reference (json null = unassigned), or NULL with
 * the error set.
 */
static json_t *
patch_value(struct patch_ctx *c, const struct schema_def *schema, const struct attr_def *attr,
            const struct attr_def *sub, const json_t *v, enum validate_shape shape)
{
	struct attr_ref ref = {.schema = schema,
	                       .attr = sub != NULL ? sub : attr,
	                       .parent = sub != NULL ? attr : NULL};
	json_t *out;

	if (v == NULL) {
		error_set(c->err, 400, SCIM_INVALID_VALUE, "operation on %s needs a \"value\"",
		          attr->name);
		return NULL;
	}
	out = validate_value(&ref, v, shape, c->opts, c->err);
	if (out == NULL && !error_is_set(c->err))
		error_set(c->err, 500, NULL, "out of memory");
	return out;
}

/* patch_primary_handover — elem became primary: others lose it (RFC 7643 §2.4). */
static void
patch_primary_handover(json_t *arr, const json_t *elem)
{
	size_t i;

	if (!json_is_true(path_object_get(elem, "primary")))
		return;
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *k = path_object_key(e, "primary");

		if (e != elem && k != NULL && json_is_true(json_object_get(e, k)))
			json_object_set_new(e, k, json_false());
	}
}

/* patch_merge_into — copy every member of src into object dst (null removes). */
static void
patch_merge_into(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v)
	{
		const char *old = path_object_key(dst, k);

		if (old != NULL && strcmp(old, k) != 0) {
			char *dup = strdup(old);

			if (dup != NULL) {
				json_object_del(dst, dup);
				free(dup);
			}
		}
		if (json_is_null(v))
			json_object_del(dst, k);
		else
			json_object_set(dst, k, v);
	}
}

/* patch_append_elements — add each element of vals (array) to arr: see "add A". */
static void
patch_append_elements(const struct attr_def *attr, json_t *arr, const json_t *vals)
{
	size_t i;

	for (i = 0; i < json_array_size(vals); i++) {
		json_t *v = json_array_get(vals, i);
		long at = patch_array_find(attr, arr, v);
		json_t *target;

		if (at >= 0 && attr->type == ATTR_COMPLEX && json_is_object(v)) {
			target = json_array_get(arr, (size_t)at);
			patch_merge_into(target, v);
		} else if (at >= 0) {
			continue;
		} else {
			json_array_append(arr, v);
			target = json_array_get(arr, json_array_size(arr) - 1);
		}
		patch_primary_handover(arr, target);
	}
}

/* patch_seed — the "sub eq literal" terms of an and-ed filter, as members of elem. */
static void
patch_seed(const struct filter *f, json_t *elem)
{
	if (f == NULL)
		return;
	if (f->op == FILTER_AND) {
		patch_seed(f->left, elem);
		patch_seed(f->right, elem);
		return;
	}
	if (f->op == FILTER_EQ && f->attr.attr != NULL && f->attr.attr->type != ATTR_COMPLEX &&
	    f->value != NULL && !json_is_null(f->value))
		json_object_set(elem, f->attr.attr->name, f->value);
}

/* ---------------------------------------------------------------------
 * Operations on a loaded attribute
 */

/*
 * patch_filtered — add or replace on A[F] or A[F].S (see "add A[F]" and
 * "replace A[F]" at the top). Each element of A that matches F gets S set
 * to the value (A[F].S), or is merged with the value (add A[F]) or
 * replaced by it (replace A[F]). When nothing matches, add appends a new
 * element seeded with the terms of F and replace is 400 noTarget; replace
 * drops the elements it left empty.
 */
static int
patch_filtered(struct patch_ctx *c, enum patch_op op, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	json_t *nv, *arr;
	int rc = -1;
	size_t i, hits = 0;

	if (p->sub != NULL)
		nv = patch_value(c, p->schema, a, p->sub, value, VALIDATE_ATTRIBUTE);
	else
		nv = patch_value(c, p->schema, a, NULL, value, VALIDATE_ELEMENT);
	if (nv == NULL)
		return -1;
	if (op == OP_ADD) {
		arr = patch_make(c, p->schema, a);
		if (arr == NULL)
			goto oom;
	} else {
		arr = path_get(c->rt, c->res, p->schema, a);
	}
	for (i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);

		if (!patch_elem_match(a, p->filter, e))
			continue;
		hits++;
		if (op == OP_REPLACE && p->sub == NULL) {
			json_t *copy = json_deep_copy(nv);

			if (copy == NULL)
				goto oom;
			json_array_set_new(arr, i, copy);
			patch_primary_handover(arr, copy);
			continue;
		}
		if (p->sub != NULL && p->sub->mutability == MUT_IMMUTABLE &&
		    path_object_get(e, p->sub->name) != NULL &&
		    !json_equal(path_object_get(e, p->sub->name), nv)) {
			rc = error_set(c->err, 400, SCIM_MUTABILITY, "%s.%s is immutable", a->name,
			               p->sub->name);
			goto done;
		}
		if (!json_is_object(e))
			continue;
		if (p->sub != NULL) {
			if (json_is_null(nv))
				json_object_del(e, p->sub->name);
			else
				json_object_set(e, p->sub->name, nv);
		} else if (json_is_object(nv)) {
			patch_merge_into(e, nv);
		}
		patch_primary_handover(arr, e);
	}
	if (hits == 0 && op == OP_REPLACE) {
		rc = error_set(c->err, 400, SCIM_NO_TARGET,
		               "no value of %s matches the path filter", a->name);
		goto done;
	}
	if (hits == 0 && a->type == ATTR_COMPLEX && !json_is_null(nv)) {
		json_t *e = json_object();

		if (e == NULL)
			goto oom;
		patch_seed(p->filter, e);
		if (p->sub != NULL)
			json_object_set(e, p->sub->name, nv);
		else if (json_is_object(nv))
			patch_merge_into(e, nv);
		json_array_append_new(arr, e);
		patch_primary_handover(arr, e);
	}
	if (op == OP_REPLACE) {
		/* drop elements that became empty (patch_tidy: the attribute if none is left) */
		i = 0;
		while (i < json_array_size(arr)) {
			if (patch_is_unassigned(json_array_get(arr, i)))
				json_array_remove(arr, i);
			else
				i++;
		}
	}
	rc = patch_tidy(c, p->schema, a);
	goto done;
oom:
	rc = error_set(c->err, 500, NULL, "out of memory");
done:
	json_decref(nv);
	return rc;
}

static int
patch_add(struct patch_ctx *c, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	json_t *nv = NULL, *arr, *cur;
	int rc = -1;

	if (p->filter == NULL && p->sub == NULL) {
		nv = patch_value(c, p->schema, a, NULL, value, VALIDATE_ATTRIBUTE);
		if (nv == NULL)
			goto done;
		if (json_is_null(nv)) {
			rc = 0; /* add of nothing */
			goto done;
		}
		if (a->multi_valued) {
			arr = patch_make(c, p->schema, a);
			if (arr == NULL)
				goto oom;
			patch_append_elements(a, arr, nv);
			rc = patch_tidy(c, p->schema, a);
			goto done;
		}
		cur = path_get(c->rt, c->res, p->schema, a);
		if (a->type == ATTR_COMPLEX && json_is_object(cur)) {
			patch_merge_into(cur, nv);
			rc = patch_tidy(c, p->schema, a);
			goto done;
		}
		rc = patch_set(c, p->schema, a, nv);
		nv = NULL;
		goto done;
	}
	if (p->filter == NULL) { /* A.S */
		if (a->multi_valued) {
			rc = error_set(c->err, 400, SCIM_INVALID_PATH,
			               "%s is multi-valued: select elements with a value filter",
			               a->name);
			goto done;
		}
		nv = patch_value(c, p->schema, a, p->sub, value, VALIDATE_ATTRIBUTE);
		if (nv == NULL)
			goto done;
		cur = patch_make(c, p->schema, a);
		if (cur == NULL)
			goto oom;
		if (json_is_null(nv))
			json_object_del(cur, p->sub->name);
		else
			json_object_set(cur, p->sub->name, nv);
		rc = patch_tidy(c, p->schema, a);
		goto done;
	}
	return patch_filtered(c, OP_ADD, p, value); /* A[F] or A[F].S */
oom:
	rc = error_set(c->err, 500, NULL, "out of memory");
done:
	json_decref(nv);
	return rc;
}

static int
patch_replace(struct patch_ctx *c, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	json_t *nv = NULL, *cur;
	int rc = -1;

	if (p->filter == NULL && p->sub == NULL) {
		nv = patch_value(c, p->schema, a, NULL, value, VALIDATE_ATTRIBUTE);
		if (nv == NULL)
			goto done;
		cur = path_get(c->rt, c->res, p->schema, a);
		if (!a->multi_valued && a->type == ATTR_COMPLEX && json_is_object(cur) &&
		    json_is_object(nv)) {
			/* §3.5.2.3: sub-attributes not in "value" are left unchanged */
			patch_merge_into(cur, nv);
			rc = patch_tidy(c, p->schema, a);
			goto done;
		}
		rc = patch_set(c, p->schema, a, nv);
		nv = NULL;
		goto done;
	}
	if (p->filter == NULL) /* A.S: same as add */
		return patch_add(c, p, value);
	return patch_filtered(c, OP_REPLACE, p, value); /* A[F] or A[F].S */
done:
	json_decref(nv);
	return rc;
}

static int
patch_remove(struct patch_ctx *c, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	json_t *arr, *cur, *vals = NULL;
	int rc = -1;
	size_t i;

	if (p->filter == NULL && p->sub == NULL) {
		if (a->multi_valued && value != NULL && !patch_is_unassigned(value)) {
			/* Entra: remove exactly the listed values */
			vals = patch_value(c, p->schema, a, NULL, value, VALIDATE_ATTRIBUTE);
			if (vals == NULL)
				goto done;
			arr = path_get(c->rt, c->res, p->schema, a);
			for (i = 0; json_is_array(arr) && i < json_array_size(vals); i++)
				patch_array_drop(a, arr, json_array_get(vals, i));
			rc = patch_tidy(c, p->schema, a);
			goto done;
		}
		rc = patch_set(c, p->schema, a, NULL);
		goto done;
	}
	if (p->filter == NULL) { /* A.S */
		if (a->multi_valued) {
			rc = error_set(c->err, 400, SCIM_INVALID_PATH,
			               "%s is multi-valued: select elements with a value filter",
			               a->name);
			goto done;
		}
		if (p->sub->required &&
		    path_object_get(path_get(c->rt, c->res, p->schema, a), p->sub->name) != NULL) {
			rc = error_set(c->err, 400, SCIM_MUTABILITY, "%s.%s is required", a->name,
			               p->sub->name);
			goto done;
		}
		cur = path_get(c->rt, c->res, p->schema, a);
		if (json_is_object(cur)) {
			const char *k = path_object_key(cur, p->sub->name);

			if (k != NULL) {
				char *dup = strdup(k);

				if (dup == NULL)
					goto oom;
				json_object_del(cur, dup);
				free(dup);
			}
		}
		rc = patch_tidy(c, p->schema, a);
		goto done;
	}
	arr = path_get(c->rt, c->res, p->schema, a);
	i = 0;
	while (json_is_array(arr) && i < json_array_size(arr)) {
		json_t *e = json_array_get(arr, i);

		if (!patch_elem_match(a, p->filter, e)) {
			i++;
			continue;
		}
		if (p->sub == NULL) {
			json_array_remove(arr, i);
			continue;
		}
		if (json_is_object(e) && path_object_key(e, p->sub->name) != NULL) {
			char *dup;

			if (p->sub->required || p->sub->mutability == MUT_IMMUTABLE) {
				rc =
				    error_set(c->err, 400, SCIM_MUTABILITY,
				              "%s.%s cannot be removed (%s)", a->name, p->sub->name,
				              p->sub->required ? "required" : "immutable");
				goto done;
			}
			dup = strdup(path_object_key(e, p->sub->name));
			if (dup == NULL)
				goto oom;
			json_object_del(e, dup);
			free(dup);
		}
		if (patch_is_unassigned(e))
			json_array_remove(arr, i);
		else
			i++;
	}
	rc = patch_tidy(c, p->schema, a);
	goto done;
oom:
	rc = error_set(c->err, 500, NULL, "out of memory");
done:
	json_decref(vals);
	return rc;
}

/* ---------------------------------------------------------------------
 * Operations on a deferred attribute
 */

/* patch_filter_values — the x of `value eq "x" [or value eq "y" …]`; false if not that form. */
static bool
patch_filter_values(const struct filter *f, json_t *out)
{
	if (f == NULL)
		return false;
	if (f->op == FILTER_OR)
		return patch_filter_values(f->left, out) && patch_filter_values(f->right, out);
	if (f->op != FILTER_EQ || f->attr.attr == NULL ||
	    strcasecmp(f->attr.attr->name, "value") != 0 || !json_is_string(f->value))
		return false;
	json_array_append_new(out, json_pack("{s:O}", "value", f->value));
	return true;
}

static int
patch_deferred(struct patch_ctx *c, enum patch_op op, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	struct patch_change *ch;
	json_t *vals = NULL;
	int rc = -1;
	size_t i;

	if (p->sub != NULL || (p->filter != NULL && op != OP_REMOVE) || !a->multi_valued) {
		c->need_load = true;
		return -1;
	}
	if (p->filter != NULL) {
		vals = json_array();
		if (vals == NULL)
			return error_set(c->err, 500, NULL, "out of memory");
		if (!patch_filter_values(p->filter, vals)) {
			json_decref(vals);
			c->need_load = true;
			return -1;
		}
	} else if (op != OP_REMOVE || (value != NULL && !patch_is_unassigned(value))) {
		vals = patch_value(c, p->schema, a, NULL, value, VALIDATE_ATTRIBUTE);
		if (vals == NULL)
			return -1;
	}
	if (a->required && (op == OP_REMOVE ? vals == NULL : patch_is_unassigned(vals))) {
		json_decref(vals);
		return error_set(c->err, 400, SCIM_MUTABILITY, "%s is required", a->name);
	}
	ch = patch_change_get(c, p->schema, a, true);
	if (ch == NULL)
		goto oom;
	ch->deferred = true;
	if (ch->kind == PATCH_CHANGE_DELTA && ch->added == NULL) {
		ch->added = json_array();
		ch->removed = json_array();
		if (ch->added == NULL || ch->removed == NULL)
			goto oom;
	}
	if (op == OP_REPLACE || (op == OP_REMOVE && vals == NULL)) {
		json_t *fresh = json_array();

		if (fresh == NULL || patch_deferred_reset(c, ch, fresh) != 0)
			goto oom;
		if (op == OP_REMOVE)
			goto ok;
	}
	for (i = 0; i < json_array_size(vals); i++) {
		json_t *v = json_array_get(vals, i);

		rc = op == OP_REMOVE ? patch_deferred_remove(c, ch, v)
		                     : patch_deferred_add(c, ch, v);
		if (rc != 0)
			goto done;
		if (op != OP_REMOVE && ch->kind == PATCH_CHANGE_REPLACED)
			patch_primary_handover(
			    ch->value, json_array_get(ch->value, json_array_size(ch->value) - 1));
	}
ok:
	rc = 0;
	goto done;
oom:
	rc = error_set(c->err, 500, NULL, "out of memory");
done:
	json_decref(vals);
	return rc;
}

/* ---------------------------------------------------------------------
 * One op on one path
 */

static int
patch_op_path(struct patch_ctx *c, enum patch_op op, const struct path *p, const json_t *value)
{
	const struct attr_def *a = p->attr;
	json_t *before = NULL, *after;
	bool had;
	int rc;

	if (patch_is_deferred(c, a)) {
		if (a->mutability == MUT_READONLY)
			return error_set(c->err, 400, SCIM_MUTABILITY, "%s is readOnly", a->name);
		return patch_deferred(c, op, p, value);
	}
	if (p->sub != NULL && p->sub->mutability == MUT_READONLY && a->mutability != MUT_READONLY)
		return error_set(c->err, 400, SCIM_MUTABILITY, "%s.%s is readOnly", a->name,
		                 p->sub->name);
	if (a->mutability == MUT_READONLY) {
		/* sending the current value is a no-op (clients echo "id"); anything else is not */
		const json_t *cur = path_get(c->rt, c->res, p->schema, a);

		if (op != OP_REMOVE && p->filter == NULL && p->sub == NULL && value != NULL &&
		    ((cur == NULL && patch_is_unassigned(value)) ||
		     (cur != NULL && json_equal(cur, value))))
			return 0;
		return error_set(c->err, 400, SCIM_MUTABILITY, "%s is readOnly", a->name);
	}
	had = path_get(c->rt, c->res, p->schema, a) != NULL;
	if (a->mutability == MUT_IMMUTABLE && had) {
		before = json_deep_copy(path_get(c->rt, c->res, p->schema, a));
		if (before == NULL)
			return error_set(c->err, 500, NULL, "out of memory");
	}
	switch (op) {
	case OP_ADD:
		rc = patch_add(c, p, value);
		break;
	case OP_REPLACE:
		rc = patch_replace(c, p, value);
		break;
	case OP_REMOVE:
	default:
		rc = patch_remove(c, p, value);
		break;
	}
	if (rc != 0)
		goto done;
	after = path_get(c->rt, c->res, p->schema, a);
	if (before != NULL && (after == NULL || !json_equal(before, after))) {
		rc = error_set(c->err, 400, SCIM_MUTABILITY, "%s is immutable", a->name);
		goto done;
	}
	if (a->required && json_is_string(after) && json_string_length(after) == 0) {
		rc = error_set(c->err, 400, SCIM_INVALID_VALUE,
		               "%s is required and cannot be empty", a->name);
		goto done;
	}
	if (a->required && had && after == NULL) {
		rc = error_set(c->err, 400, SCIM_MUTABILITY, "%s is required and cannot be removed",
		               a->name);
		goto done;
	}
	rc = patch_touch(c, p->schema, a,
	                 p->filter == NULL && p->sub == NULL && op != OP_ADD &&
	                     !(op == OP_REMOVE && value != NULL && !patch_is_unassigned(value)));
done:
	json_decref(before);
	return rc;
}

static int patch_op_text(struct patch_ctx *c, enum patch_op op, const char *text,
                         const json_t *value);

/*
 * patch_op_members — add/replace each member of object `value` as an op on
 * "<URN of s>:<member>" (an extension's object, path-less or under a URN
 * path), or on "<member>" when s is NULL.
 */
static int
patch_op_members(struct patch_ctx *c, enum patch_op op, const struct schema_def *s,
                 const json_t *value)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)value, k, v)
	{
		size_t n;
		char *full;
		int rc;

		if (s == NULL) {
			if (strcasecmp(k, "schemas") != 0 && patch_op_text(c, op, k, v) != 0)
				return -1;
			continue;
		}
		n = strlen(s->id) + 1 + strlen(k) + 1;
		full = malloc(n);
		if (full == NULL)
			return error_set(c->err, 500, NULL, "out of memory");
		snprintf(full, n, "%s:%s", s->id, k);
		rc = patch_op_text(c, op, full, v);
		free(full);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * patch_op_schema — an op whose path is a schema URN alone (several clients
 * send the admin or enterprise extension so): add/replace apply each
 * member of the object value to that extension's attribute (as a path-less
 * value would), remove unassigns every writable attribute of the extension
 * (for the admin extension: the calling source's grant). The core schema's
 * URN takes add/replace as a path-less op.
 */
static int
patch_op_schema(struct patch_ctx *c, enum patch_op op, const struct schema_def *s,
                const json_t *value)
{
	const struct attr_def *a;

	if (op != OP_REMOVE) {
		if (!json_is_object(value))
			return error_set(c->err, 400, SCIM_INVALID_VALUE,
			                 "%s with the path %s needs an object \"value\"",
			                 op_names[op], s->id);
		return patch_op_members(c, op, s == c->rt->schema ? NULL : s, value);
	}
	if (s == c->rt->schema)
		return error_set(c->err, 400, SCIM_NO_TARGET,
		                 "remove of the core schema %s: name an attribute", s->id);
	for (a = s->attrs; a->name != NULL; a++) {
		struct path p = {.schema = s, .attr = a};

		if (a->mutability == MUT_READONLY || path_get(c->rt, c->res, s, a) == NULL)
			continue;
		if (patch_op_path(c, OP_REMOVE, &p, NULL) != 0)
			return -1;
	}
	return 0;
}

static int
patch_op_text(struct patch_ctx *c, enum patch_op op, const char *text, const json_t *value)
{
	const struct schema_def *s = path_schema_alone(c->rt, text);
	const char *name;
	struct path p;
	size_t n;
	int rc;

	if (s != NULL)
		return patch_op_schema(c, op, s, value);
	if (path_parse(c->rt, text, &p, c->err) != 0) {
		/* An attribute the schema does not know: ignored unless strict
		 * (validate.h); any other bad path stays 400 invalidPath. */
		n = path_unknown_name(c->rt, text, &name);
		if (n == 0 || c->opts == NULL || c->opts->strict)
			return -1;
		error_clear(c->err);
		return validate_ignore(c->opts, name, n, c->err);
	}
	rc = patch_op_path(c, op, &p, value);
	path_clear(&p);
	return rc;
}

/* patch_op_pathless — add/replace without "path": apply each key of value (see top). */
static int
patch_op_pathless(struct patch_ctx *c, enum patch_op op, const json_t *value)
{
	if (!json_is_object(value))
		return error_set(c->err, 400, SCIM_INVALID_VALUE,
		                 "%s without \"path\" needs an object \"value\"", op_names[op]);
	/* A URN key (an extension's object) is a path that is a schema URN alone. */
	return patch_op_members(c, op, NULL, value);
}

/* ---------------------------------------------------------------------
 * Change set of loaded attributes
 */

static char *
patch_elem_key(const json_t *v)
{
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

/* patch_diff — elements of `from` that are not in `other` (JSON-equal), as a NEW array. */
static json_t *
patch_diff(const json_t *from, const json_t *other)
{
	json_t *seen = json_object(), *out = json_array();
	size_t i;

	if (seen == NULL || out == NULL)
		goto fail;
	for (i = 0; i < json_array_size(other); i++) {
		char *k = patch_elem_key(json_array_get(other, i));

		if (k == NULL)
			goto fail;
		json_object_set_new(seen, k, json_true());
		free(k);
	}
	for (i = 0; i < json_array_size(from); i++) {
		char *k = patch_elem_key(json_array_get(from, i));

		if (k == NULL)
			goto fail;
		if (json_object_get(seen, k) == NULL)
			json_array_append(out, json_array_get(from, i));
		free(k);
	}
	json_decref(seen);
	return out;
fail:
	json_decref(seen);
	json_decref(out);
	return NULL;
}

static int
patch_finish(struct patch_ctx *c)
{
	struct patch_change *ch, *next;

	for (ch = TAILQ_FIRST(&c->changes); ch != NULL; ch = next) {
		json_t *old, *now, *olda, *nowa;

		next = TAILQ_NEXT(ch, entry);
		if (ch->deferred)
			continue;
		old = path_get(c->rt, c->orig, ch->schema, ch->attr);
		now = path_get(c->rt, c->res, ch->schema, ch->attr);
		if ((old == NULL && now == NULL) ||
		    (old != NULL && now != NULL && json_equal(old, now))) {
			TAILQ_REMOVE(&c->changes, ch, entry);
			patch_change_free(ch);
			continue;
		}
		ch->value = json_incref(now);
		if (!ch->attr->multi_valued || ch->wholesale) {
			ch->kind = PATCH_CHANGE_REPLACED;
			continue;
		}
		ch->kind = PATCH_CHANGE_DELTA;
		olda = json_is_array(old) ? old : NULL;
		nowa = json_is_array(now) ? now : NULL;
		ch->added = patch_diff(nowa, olda);
		ch->removed = patch_diff(olda, nowa);
		if (ch->added == NULL || ch->removed == NULL)
			return error_set(c->err, 500, NULL, "out of memory");
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Entry points
 */

static int
patch_check_body(const json_t *body, json_t **ops, struct rb_error *err)
{
	json_t *schemas = path_object_get(body, "schemas");
	size_t i;
	bool found = false;

	if (!json_is_object(body))
		return error_set(err, 400, SCIM_INVALID_SYNTAX, "PATCH body must be a JSON object");
	for (i = 0; json_is_array(schemas) && i < json_array_size(schemas); i++) {
		const char *s = json_string_value(json_array_get(schemas, i));

		if (s != NULL && strcasecmp(s, SCHEMA_PATCH_OP) == 0)
			found = true;
	}
	if (!found)
		return error_set(err, 400, SCIM_INVALID_SYNTAX, "\"schemas\" must contain %s",
		                 SCHEMA_PATCH_OP);
	*ops = path_object_get(body, "Operations");
	if (!json_is_array(*ops) || json_array_size(*ops) == 0)
		return error_set(err, 400, SCIM_INVALID_SYNTAX,
		                 "\"Operations\" must be a non-empty array");
	if (json_array_size(*ops) > PATCH_MAX_OPERATIONS)
		return error_set(err, 400, SCIM_INVALID_SYNTAX, "more than %d operations",
		                 PATCH_MAX_OPERATIONS);
	return 0;
}

static int
patch_one(struct patch_ctx *c, const json_t *o, size_t n)
{
	json_t *jop, *jpath;
	const char *name, *text = NULL;
	const json_t *value;
	enum patch_op op;
	size_t i;

	if (!json_is_object(o))
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "operation %zu is not an object",
		                 n);
	jop = path_object_get(o, "op");
	name = json_string_value(jop);
	if (name == NULL)
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "operation %zu has no \"op\"",
		                 n);
	for (i = 0; i < 3; i++)
		if (strcasecmp(name, op_names[i]) == 0)
			break;
	if (i == 3)
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX,
		                 "operation %zu: \"op\" must be add, remove or replace", n);
	op = (enum patch_op)i;
	jpath = path_object_get(o, "path");
	if (jpath != NULL && !json_is_null(jpath)) {
		if (!json_is_string(jpath))
			return error_set(c->err, 400, SCIM_INVALID_PATH,
			                 "operation %zu: \"path\" must be a string", n);
		text = json_string_value(jpath);
		while (*text == ' ')
			text++;
		if (*text == '\0')
			text = NULL; /* "path": "" — treated as no path */
	}
	value = path_object_get(o, "value");
	if (text == NULL) {
		if (op == OP_REMOVE)
			return error_set(c->err, 400, SCIM_NO_TARGET,
			                 "operation %zu: remove needs a \"path\"", n);
		return patch_op_pathless(c, op, value);
	}
	if (op != OP_REMOVE && value == NULL)
		return error_set(c->err, 400, SCIM_INVALID_VALUE,
		                 "operation %zu: %s needs a \"value\"", n, op_names[op]);
	return patch_op_text(c, op, text, value);
}

static void
patch_changes_free(struct patch_changes *list)
{
	struct patch_change *ch;

	while ((ch = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, ch, entry);
		patch_change_free(ch);
	}
}

int
patch_apply(const struct resource_type_def *rt, const json_t *resource, const json_t *body,
            const char *const *deferred, struct validate_opts *opts, struct patch_result *out,
            struct rb_error *err)
{
	struct patch_ctx c = {
	    .rt = rt, .orig = resource, .deferred = deferred, .opts = opts, .err = err};
	json_t *ops = NULL;
	size_t i;
	int rc = PATCH_ERROR;

	memset(out, 0, sizeof(*out));
	TAILQ_INIT(&out->changes);
	TAILQ_INIT(&c.changes);
	if (rt == NULL || !json_is_object(resource))
		return error_set(err, 500, NULL, "patch_apply: no resource");
	if (patch_check_body(body, &ops, err) != 0)
		return PATCH_ERROR;
	c.res = json_deep_copy(resource);
	if (c.res == NULL)
		return error_set(err, 500, NULL, "out of memory");
	for (i = 0; i < json_array_size(ops); i++) {
		if (patch_one(&c, json_array_get(ops, i), i) != 0) {
			if (c.need_load) {
				rc = PATCH_NEED_LOAD;
				goto fail;
			}
			if (!error_is_set(err))
				error_set(err, 500, NULL, "PATCH operation %zu failed", i);
			goto fail;
		}
	}
	if (patch_finish(&c) != 0)
		goto fail;
	out->resource = c.res;
	TAILQ_CONCAT(&out->changes, &c.changes, entry);
	out->changed = !TAILQ_EMPTY(&out->changes);
	return PATCH_OK;
fail:
	json_decref(c.res);
	patch_changes_free(&c.changes);
	return rc;
}

void
patch_result_clear(struct patch_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->resource);
	r->resource = NULL;
	if (r->changes.tqh_last != NULL)
		patch_changes_free(&r->changes);
	TAILQ_INIT(&r->changes);
	r->changed = false;
}

const struct patch_change *
patch_change_find(const struct resource_type_def *rt, const struct patch_result *r,
                  const char *name)
{
	struct attr_ref ref;
	const struct patch_change *ch;

	if (schema_resolve(rt, name, strlen(name), &ref) != 0 || ref.parent != NULL)
		return NULL;
	TAILQ_FOREACH(ch, &r->changes, entry)
	if (ch->attr == ref.attr)
		return ch;
	return NULL;
}

json_t *
patch_changes_to_json(const struct patch_result *r)
{
	const struct patch_change *ch;
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	TAILQ_FOREACH(ch, &r->changes, entry)
	{
		json_t *o = json_object();
		char name[512];

		if (o == NULL)
			goto fail;
		if (ch->schema != NULL && strcmp(ch->schema->id, SCHEMA_CORE_USER) != 0 &&
		    strcmp(ch->schema->id, SCHEMA_CORE_GROUP) != 0 &&
		    strcmp(ch->schema->id, SCHEMA_SCHOOL) != 0)
			snprintf(name, sizeof(name), "%s:%s", ch->schema->id, ch->attr->name);
		else
			snprintf(name, sizeof(name), "%s", ch->attr->name);
		json_object_set_new(o, "attr", json_string(name));
		json_object_set_new(
		    o, "kind",
		    json_string(ch->kind == PATCH_CHANGE_REPLACED ? "replaced" : "delta"));
		if (ch->kind == PATCH_CHANGE_REPLACED)
			json_object_set(o, "value", ch->value != NULL ? ch->value : json_null());
		if (ch->kind == PATCH_CHANGE_DELTA) {
			json_object_set(o, "added", ch->added);
			json_object_set(o, "removed", ch->removed);
		}
		if (ch->deferred)
			json_object_set_new(o, "deferred", json_true());
		json_array_append_new(arr, o);
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}
