/*
 * validate.c — validation and normalisation of SCIM bodies; see validate.h
 * for the behaviour and the reasons behind each decision.
 *
 * Internal convention: the check_* helpers return 0 with *out set to a NEW
 * value, or to NULL when the input is unassigned (null, [], {}) or
 * ignored (readOnly); or -1 with *err set.
 */
#include "engine/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/rfc3339.h"

#define WHERE_MAX 256

struct vctx {
	bool strict_canonical; /* enforce canonicalValues (our admin extensions) */
	struct rb_error *err;
	struct validate_opts *opts; /* borrowed; NULL: strict */
};

int
validate_ignore(struct validate_opts *opts, const char *name, size_t len, struct rb_error *err)
{
	json_t *v;
	size_t i;

	if (len > 128)
		len = 128;
	if (opts == NULL || opts->strict)
		return error_set(err, 400, SCIM_INVALID_SYNTAX, "unknown attribute '%.*s'",
		                 (int)len, name);
	if (opts->ignored == NULL)
		return 0;
	json_array_foreach(opts->ignored, i, v)
	{
		if (json_string_length(v) == len && strncmp(json_string_value(v), name, len) == 0)
			return 0;
	}
	v = json_stringn(name, len);
	if (v == NULL || json_array_append_new(opts->ignored, v) != 0)
		return error_set(err, 500, NULL, "out of memory");
	return 0;
}

/* vctx_ignore — the unknown "<prefix><sep><name>" was met (validate_ignore). */
static int
vctx_ignore(struct vctx *c, const char *prefix, const char *sep, const char *name)
{
	char full[WHERE_MAX + 160];
	int n = snprintf(full, sizeof(full), "%s%s%.128s", prefix, sep, name);

	if (n < 0)
		return error_set(c->err, 500, NULL, "unknown attribute");
	return validate_ignore(c->opts, full, strlen(full), c->err);
}

static int
oom(struct rb_error *err)
{
	return error_set(err, 500, NULL, "out of memory");
}

/* ---------------------------------------------------------------------
 * Scalar syntaxes
 */
bool
validate_datetime(const char *s)
{
	return s != NULL && rfc3339_parse(s, strlen(s), NULL);
}

static bool
b64_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '/';
}

bool
validate_base64(const char *s)
{
	size_t n, i, pad = 0;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n % 4 != 0)
		return false;
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			return false;
	return true;
}

int
validate_boolean(const json_t *v, bool *out)
{
	const char *s;

	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 1;
	}
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	if (strcasecmp(s, "true") == 0) {
		*out = true;
		return 1;
	}
	if (strcasecmp(s, "false") == 0) {
		*out = false;
		return 1;
	}
	return 0;
}

static const char *
json_kind(const json_t *v)
{
	if (v == NULL) /* absent: unassigned, as null (RFC 7643 §2.5) */
		return "null";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

/* unassigned — RFC 7643 §2.5: null, an empty array or an empty object. */
static bool
unassigned(const json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

/* ---------------------------------------------------------------------
 * Attribute values
 */
static int
type_error(struct vctx *c, const char *where, const struct attr_def *a, const json_t *v)
{
	return error_set(c->err, 400, SCIM_INVALID_VALUE, "attribute '%s' must be %s%s, not %s",
	                 where, a->multi_valued ? "a list of " : "", schema_attr_type_name(a->type),
	                 json_kind(v));
}

static int
check_scalar(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
             json_t **out)
{
	bool b;
	size_t i;

	*out = NULL;
	if (json_is_null(v))
		return 0;
	switch (a->type) {
	case ATTR_STRING:
	case ATTR_REFERENCE:
		if (!json_is_string(v))
			return type_error(c, where, a, v);
		if (c->strict_canonical && a->canonical_values != NULL) {
			for (i = 0; a->canonical_values[i] != NULL; i++)
				if (strcasecmp(a->canonical_values[i], json_string_value(v)) == 0)
					break;
			if (a->canonical_values[i] == NULL)
				return error_set(
				    c->err, 400, SCIM_INVALID_VALUE,
				    "attribute '%s': '%.64s' is not one of its canonical values",
				    where, json_string_value(v));
			*out = json_string(a->canonical_values[i]);
			return *out != NULL ? 0 : oom(c->err);
		}
		break;
	case ATTR_BOOLEAN:
		if (!validate_boolean(v, &b))
			return type_error(c, where, a, v);
		*out = json_boolean(b);
		return 0;
	case ATTR_INTEGER:
		if (!json_is_integer(v))
			return type_error(c, where, a, v);
		break;
	case ATTR_DECIMAL:
		if (!json_is_number(v))
			return type_error(c, where, a, v);
		break;
	case ATTR_DATETIME:
		if (!json_is_string(v))
			return type_error(c, where, a, v);
		if (!validate_datetime(json_string_value(v)))
			return error_set(c->err, 400, SCIM_INVALID_VALUE,
			                 "attribute '%s' must be an xsd:dateTime", where);
		break;
	case ATTR_BINARY:
		if (!json_is_string(v))
			return type_error(c, where, a, v);
		if (!validate_base64(json_string_value(v)))
			return error_set(c->err, 400, SCIM_INVALID_VALUE,
			                 "attribute '%s' must be base64", where);
		break;
	case ATTR_COMPLEX:
		return type_error(c, where, a, v);
	}
	*out = json_deep_copy(v);
	return *out != NULL ? 0 : oom(c->err);
}

static int check_multi(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
                       json_t **out);

/*
 * check_complex — one complex value (an object) of attribute `a`: sub-
 * attribute names normalised, readOnly ones dropped, unknown ones refused.
 */
static int
check_complex(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
              json_t **out)
{
	const struct attr_def *sub;
	const char *key;
	json_t *val, *res = NULL, *nv;
	char subwhere[WHERE_MAX];

	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(c, where, a, v);
	res = json_object();
	if (res == NULL)
		return oom(c->err);
	json_object_foreach((json_t *)v, key, val)
	{
		sub = schema_attr_lookup(NULL, a, key);
		if (sub == NULL) {
			if (vctx_ignore(c, where, ".", key) != 0)
				goto fail;
			continue;
		}
		if (sub->mutability == MUT_READONLY)
			continue;
		if (json_object_get(res, sub->name) != NULL) {
			error_set(c->err, 400, SCIM_INVALID_SYNTAX,
			          "sub-attribute '%s.%s' given twice", where, sub->name);
			goto fail;
		}
		snprintf(subwhere, sizeof(subwhere), "%s.%s", where, sub->name);
		if (sub->multi_valued) {
			if (check_multi(c, sub, val, subwhere, &nv) != 0)
				goto fail;
		} else if (json_is_array(val) || json_is_object(val)) {
			type_error(c, subwhere, sub, val);
			goto fail;
		} else if (check_scalar(c, sub, val, subwhere, &nv) != 0) {
			goto fail;
		}
		if (nv != NULL && json_object_set_new(res, sub->name, nv) != 0) {
			oom(c->err);
			goto fail;
		}
	}
	for (sub = a->sub_attrs; sub != NULL && sub->name != NULL; sub++) {
		if (sub->required && sub->mutability != MUT_READONLY &&
		    json_object_get(res, sub->name) == NULL && json_object_size(res) > 0) {
			error_set(c->err, 400, SCIM_INVALID_VALUE,
			          "sub-attribute '%s.%s' is required", where, sub->name);
			goto fail;
		}
	}
	if (json_object_size(res) == 0) {
		json_decref(res);
		return 0;
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return -1;
}

/* check_element — one element of multi-valued `a`. */
static int
check_element(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
              json_t **out)
{
	*out = NULL;
	if (json_is_array(v))
		return error_set(c->err, 400, SCIM_INVALID_VALUE,
		                 "attribute '%s': nested arrays are not allowed", where);
	if (a->type == ATTR_COMPLEX)
		return check_complex(c, a, v, where, out);
	if (json_is_object(v))
		return type_error(c, where, a, v);
	return check_scalar(c, a, v, where, out);
}

/*
 * check_multi — the whole value of multi-valued `a`: an array, or a single
 * element that is wrapped. Unassigned elements are dropped; at most one
 * element may be primary (RFC 7643 §2.4).
 */
static int
check_multi(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
            json_t **out)
{
	json_t *res, *elem, *nv;
	size_t i, n, primaries = 0;

	*out = NULL;
	if (unassigned(v))
		return 0;
	res = json_array();
	if (res == NULL)
		return oom(c->err);
	n = json_is_array(v) ? json_array_size(v) : 1;
	for (i = 0; i < n; i++) {
		elem = json_is_array(v) ? json_array_get(v, i) : (json_t *)v;
		if (check_element(c, a, elem, where, &nv) != 0)
			goto fail;
		if (nv == NULL)
			continue;
		if (json_is_true(json_object_get(nv, "primary")))
			primaries++;
		if (json_array_append_new(res, nv) != 0) {
			oom(c->err);
			goto fail;
		}
	}
	if (primaries > 1) {
		error_set(c->err, 400, SCIM_INVALID_VALUE,
		          "attribute '%s': at most one value may be primary", where);
		goto fail;
	}
	if (json_array_size(res) == 0) {
		json_decref(res);
		return 0;
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return -1;
}

/* check_attr — the whole value of attribute `a`, single- or multi-valued. */
static int
check_attr(struct vctx *c, const struct attr_def *a, const json_t *v, const char *where,
           json_t **out)
{
	*out = NULL;
	if (a->multi_valued)
		return check_multi(c, a, v, where, out);
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return 0; /* [] is unassigned (RFC 7643 §2.5) */
		return type_error(c, where, a, v);
	}
	if (a->type == ATTR_COMPLEX)
		return check_complex(c, a, v, where, out);
	return check_scalar(c, a, v, where, out);
}

static bool
strict_schema(const struct schema_def *s)
{
	return s != NULL &&
	       (strcmp(s->id, SCHEMA_ADMIN_USER) == 0 || strcmp(s->id, SCHEMA_ADMIN_GROUP) == 0);
}

/* ---------------------------------------------------------------------
 * Objects of attributes (the core level, or an extension's object)
 */

/*
 * check_required — every required attribute of `table` is in `obj`, and a
 * required string is not empty ("Each User MUST include a non-empty
 * userName value", RFC 7643 §4.1.1).
 */
static int
check_required(struct vctx *c, const struct attr_def *table, const json_t *obj, const char *prefix)
{
	const struct attr_def *a;
	json_t *v;

	for (a = table; a->name != NULL; a++) {
		if (!a->required || a->mutability == MUT_READONLY)
			continue;
		v = json_object_get(obj, a->name);
		if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
			return error_set(c->err, 400, SCIM_INVALID_VALUE,
			                 "attribute '%s%s%s' is required", prefix,
			                 prefix[0] ? ":" : "", a->name);
	}
	return 0;
}

/*
 * put_attr — validate `val` for attribute `a` of schema table, name it
 * `where` in errors, and set it into `dst` under the schema's spelling.
 */
static int
put_attr(struct vctx *c, json_t *dst, const struct attr_def *a, const json_t *val,
         const char *where)
{
	json_t *nv;

	if (a->mutability == MUT_READONLY)
		return 0; /* RFC 7644 §3.3: readOnly values in a request are ignored */
	if (json_object_get(dst, a->name) != NULL)
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "attribute '%s' given twice",
		                 where);
	if (check_attr(c, a, val, where, &nv) != 0)
		return -1;
	if (nv != NULL && json_object_set_new(dst, a->name, nv) != 0)
		return oom(c->err);
	return 0;
}

/* check_extension — the object under an extension URN key. */
static int
check_extension(struct vctx *c, const struct schema_def *s, const json_t *v, json_t **out)
{
	const struct attr_def *a;
	const char *key;
	json_t *val, *res;
	char where[WHERE_MAX];

	*out = NULL;
	if (unassigned(v))
		return 0;
	if (!json_is_object(v))
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX,
		                 "extension '%s' must be an object, not %s", s->id, json_kind(v));
	res = json_object();
	if (res == NULL)
		return oom(c->err);
	c->strict_canonical = strict_schema(s);
	json_object_foreach((json_t *)v, key, val)
	{
		a = schema_attr_lookup(s, NULL, key);
		if (a == NULL) {
			if (vctx_ignore(c, s->id, ":", key) != 0)
				goto fail;
			continue;
		}
		snprintf(where, sizeof(where), "%s:%s", s->id, a->name);
		if (put_attr(c, res, a, val, where) != 0)
			goto fail;
	}
	c->strict_canonical = false;
	if (json_object_size(res) == 0) {
		json_decref(res);
		return 0;
	}
	if (check_required(c, s->attrs, res, s->id) != 0)
		goto fail;
	*out = res;
	return 0;
fail:
	c->strict_canonical = false;
	json_decref(res);
	return -1;
}

/* common_lookup — id, externalId or meta (case-insensitive), or NULL. */
static const struct attr_def *
common_lookup(const char *name)
{
	const struct attr_def *a;

	for (a = schema_common_attrs(); a->name != NULL; a++)
		if (strcasecmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* ext_index — index of `s` among rt's extensions, or -1. */
static int
ext_index(const struct resource_type_def *rt, const struct schema_def *s)
{
	int i;

	for (i = 0; rt->extensions[i].schema != NULL; i++)
		if (rt->extensions[i].schema == s)
			return i;
	return -1;
}

#define MAX_EXTS 8

/*
 * check_schemas — `schemas` must be an array of strings listing rt's core
 * schema. Marks in listed[] the extensions of rt that are listed.
 */
static int
check_schemas(struct vctx *c, const struct resource_type_def *rt, const json_t *schemas,
              bool listed[MAX_EXTS])
{
	const struct schema_def *s;
	json_t *u;
	size_t i;
	bool core = false;
	int x;

	if (schemas == NULL)
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "'schemas' is missing");
	if (!json_is_array(schemas))
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "'schemas' must be an array");
	json_array_foreach(schemas, i, u)
	{
		if (!json_is_string(u))
			return error_set(c->err, 400, SCIM_INVALID_SYNTAX,
			                 "'schemas' must be an array of strings");
		s = schema_find(json_string_value(u));
		if (s == NULL)
			continue; /* not ours, carries no data: dropped */
		if (s == rt->schema)
			core = true;
		x = ext_index(rt, s);
		if (x >= 0 && x < MAX_EXTS)
			listed[x] = true;
	}
	if (!core)
		return error_set(c->err, 400, SCIM_INVALID_SYNTAX, "'schemas' must list %s",
		                 rt->schema->id);
	return 0;
}

json_t *
validate_resource(const struct resource_type_def *rt, const json_t *body, enum validate_mode mode,
                  struct validate_opts *opts, struct rb_error *err)
{
	struct rb_error local;
	struct vctx c = {false, err != NULL ? err : &local, opts};
	bool listed[MAX_EXTS] = {false};
	json_t *exts[MAX_EXTS] = {NULL};
	json_t *res = NULL, *core = NULL, *schemas = NULL, *val, *nv;
	const struct attr_def *a;
	const struct schema_def *s;
	const char *key;
	size_t nexts = 0, i;
	bool have_schemas = false;
	int x;

	(void)mode; /* POST and PUT validate alike; immutability needs the stored resource */
	error_clear(&local);
	if (rt == NULL) {
		error_set(c.err, 500, NULL, "no resource type");
		return NULL;
	}
	while (rt->extensions[nexts].schema != NULL)
		nexts++;
	if (nexts > MAX_EXTS) {
		error_set(c.err, 500, NULL, "too many extensions");
		return NULL;
	}
	if (!json_is_object(body)) {
		error_set(c.err, 400, SCIM_INVALID_SYNTAX,
		          "the request body must be a JSON object");
		return NULL;
	}
	core = json_object();
	if (core == NULL) {
		oom(c.err);
		goto fail;
	}
	json_object_foreach((json_t *)body, key, val)
	{
		if (strcasecmp(key, "schemas") == 0) {
			if (have_schemas) {
				error_set(c.err, 400, SCIM_INVALID_SYNTAX, "'schemas' given twice");
				goto fail;
			}
			have_schemas = true;
			if (check_schemas(&c, rt, val, listed) != 0)
				goto fail;
			continue;
		}
		if (strncasecmp(key, "urn:", 4) == 0) {
			s = schema_find(key);
			x = s != NULL ? ext_index(rt, s) : -1;
			if (x < 0 && (c.opts == NULL || c.opts->strict)) {
				error_set(c.err, 400, SCIM_INVALID_SYNTAX,
				          "'%.128s' is not an extension of %s", key, rt->name);
				goto fail;
			}
			if (x < 0) {
				if (vctx_ignore(&c, "", "", key) != 0)
					goto fail;
				continue;
			}
			if (exts[x] != NULL) {
				error_set(c.err, 400, SCIM_INVALID_SYNTAX,
				          "extension '%s' given twice", s->id);
				goto fail;
			}
			if (check_extension(&c, s, val, &nv) != 0)
				goto fail;
			exts[x] = nv;
			continue;
		}
		a = common_lookup(key);
		if (a == NULL)
			a = schema_attr_lookup(rt->schema, NULL, key);
		if (a == NULL) {
			if (vctx_ignore(&c, "", "", key) != 0)
				goto fail;
			continue;
		}
		if (put_attr(&c, core, a, val, a->name) != 0)
			goto fail;
	}
	if (!have_schemas && check_schemas(&c, rt, NULL, listed) != 0)
		goto fail;
	if (check_required(&c, rt->schema->attrs, core, "") != 0)
		goto fail;
	for (i = 0; i < nexts; i++) {
		if (rt->extensions[i].required && exts[i] == NULL) {
			error_set(c.err, 400, SCIM_INVALID_VALUE, "extension '%s' is required",
			          rt->extensions[i].schema->id);
			goto fail;
		}
	}

	/* assemble: schemas, then externalId and core attributes, then extensions */
	res = json_object();
	schemas = json_array();
	if (res == NULL || schemas == NULL ||
	    json_array_append_new(schemas, json_string(rt->schema->id)) != 0)
		goto nomem;
	for (i = 0; i < nexts; i++)
		if ((listed[i] || exts[i] != NULL) &&
		    json_array_append_new(schemas, json_string(rt->extensions[i].schema->id)) != 0)
			goto nomem;
	if (json_object_set_new(res, "schemas", schemas) != 0) {
		schemas = NULL;
		goto nomem;
	}
	schemas = NULL;
	if (json_object_update(res, core) != 0)
		goto nomem;
	for (i = 0; i < nexts; i++) {
		if (exts[i] == NULL)
			continue;
		if (json_object_set_new(res, rt->extensions[i].schema->id, exts[i]) != 0) {
			exts[i] = NULL;
			goto nomem;
		}
		exts[i] = NULL;
	}
	json_decref(core);
	return res;
nomem:
	oom(c.err);
fail:
	json_decref(schemas);
	json_decref(res);
	json_decref(core);
	for (i = 0; i < MAX_EXTS; i++)
		json_decref(exts[i]);
	return NULL;
}

json_t *
validate_value(const struct attr_ref *ref, const json_t *value, enum validate_shape shape,
               struct validate_opts *opts, struct rb_error *err)
{
	struct rb_error local;
	struct vctx c = {false, err != NULL ? err : &local, opts};
	const struct attr_def *a;
	char where[WHERE_MAX];
	json_t *nv = NULL;
	int rc;

	error_clear(&local);
	if (ref == NULL || ref->attr == NULL || value == NULL) {
		error_set(c.err, 400, SCIM_INVALID_PATH, "no such attribute");
		return NULL;
	}
	a = ref->attr;
	if (a->mutability == MUT_READONLY ||
	    (ref->parent != NULL && ref->parent->mutability == MUT_READONLY)) {
		error_set(c.err, 400, SCIM_MUTABILITY, "attribute '%s%s%s' is readOnly",
		          ref->parent != NULL ? ref->parent->name : "",
		          ref->parent != NULL ? "." : "", a->name);
		return NULL;
	}
	if (ref->schema != NULL && ref->schema->attrs != NULL &&
	    ref->schema != schema_find(SCHEMA_CORE_USER) &&
	    ref->schema != schema_find(SCHEMA_CORE_GROUP) &&
	    ref->schema != schema_find(SCHEMA_SCHOOL))
		snprintf(where, sizeof(where), "%s:%s%s%s", ref->schema->id,
		         ref->parent != NULL ? ref->parent->name : "",
		         ref->parent != NULL ? "." : "", a->name);
	else
		snprintf(where, sizeof(where), "%s%s%s",
		         ref->parent != NULL ? ref->parent->name : "",
		         ref->parent != NULL ? "." : "", a->name);
	c.strict_canonical = strict_schema(ref->schema);

	if (shape == VALIDATE_ELEMENT) {
		if (!a->multi_valued) {
			error_set(c.err, 400, SCIM_INVALID_PATH,
			          "attribute '%s' is not multi-valued", where);
			return NULL;
		}
		rc = check_element(&c, a, value, where, &nv);
	} else if (ref->parent != NULL && !a->multi_valued &&
	           (json_is_array(value) || json_is_object(value))) {
		rc = type_error(&c, where, a, value);
	} else {
		rc = check_attr(&c, a, value, where, &nv);
	}
	if (rc != 0)
		return NULL;
	if (nv == NULL) {
		nv = json_null();
		if (nv == NULL)
			oom(c.err);
	}
	return nv;
}
