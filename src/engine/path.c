/* path.c — SCIM attribute paths; see path.h. */
#include "engine/path.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct attr_def *
path_sub_lookup(const struct attr_def *parent, const char *name, size_t len)
{
	const struct attr_def *a;

	if (parent == NULL || parent->sub_attrs == NULL)
		return NULL;
	for (a = parent->sub_attrs; a->name != NULL; a++)
		if (strlen(a->name) == len && strncasecmp(a->name, name, len) == 0)
			return a;
	return NULL;
}

static bool
path_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '$';
}

/*
 * path_find_close — index of the ']' closing the '[' at text[open], or
 * (size_t)-1. Quoted strings (with backslash escapes) may contain brackets.
 */
static size_t
path_find_close(const char *text, size_t len, size_t open)
{
	size_t i;
	int depth = 0;
	bool quoted = false;

	for (i = open; i < len; i++) {
		char c = text[i];

		if (quoted) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '[')
			depth++;
		else if (c == ']' && --depth == 0)
			return i;
	}
	return (size_t)-1;
}

/* path_trim — text without leading and trailing blanks: *p and its length. */
static size_t
path_trim(const char *text, const char **p)
{
	size_t len = strnlen(text, PATH_MAX_LEN + 1), start;

	for (start = 0; start < len && (text[start] == ' ' || text[start] == '\t'); start++)
		;
	while (len > start && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	*p = text + start;
	return len - start;
}

const struct schema_def *
path_schema_alone(const struct resource_type_def *rt, const char *text)
{
	const char *p;
	size_t len, i;

	if (rt == NULL || text == NULL)
		return NULL;
	len = path_trim(text, &p);
	if (strlen(rt->schema->id) == len && strncasecmp(rt->schema->id, p, len) == 0)
		return rt->schema;
	for (i = 0; rt->extensions[i].schema != NULL; i++) {
		const char *id = rt->extensions[i].schema->id;

		if (strlen(id) == len && strncasecmp(id, p, len) == 0)
			return rt->extensions[i].schema;
	}
	return NULL;
}

size_t
path_unknown_name(const struct resource_type_def *rt, const char *text, const char **name)
{
	struct attr_ref ref;
	const char *p;
	size_t len, i;

	*name = NULL;
	if (rt == NULL || text == NULL || strnlen(text, PATH_MAX_LEN + 1) > PATH_MAX_LEN)
		return 0;
	len = path_trim(text, &p);
	for (i = 0; i < len && p[i] != '['; i++)
		if (!path_is_name_char(p[i]) && p[i] != ':' && p[i] != '.')
			return 0;
	if (i == 0 || (schema_resolve(rt, p, i, &ref) == 0 && ref.attr != NULL))
		return 0;
	*name = p;
	return i;
}

int
path_parse(const struct resource_type_def *rt, const char *text, struct path *out,
           struct rb_error *err)
{
	struct attr_ref ref;
	struct rb_error ferr;
	size_t len, start, open, close, name_len, i;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (rt == NULL || text == NULL)
		return error_set(err, 400, SCIM_INVALID_PATH, "no path");
	len = strnlen(text, PATH_MAX_LEN + 1);
	if (len > PATH_MAX_LEN)
		return error_set(err, 400, SCIM_INVALID_PATH, "path longer than %d bytes",
		                 PATH_MAX_LEN);
	for (start = 0; start < len && (text[start] == ' ' || text[start] == '\t'); start++)
		;
	while (len > start && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	p = text + start;
	len -= start;
	if (len == 0)
		return error_set(err, 400, SCIM_INVALID_PATH, "empty path");

	open = len;
	for (i = 0; i < len; i++) {
		if (p[i] == '[') {
			open = i;
			break;
		}
		if (!path_is_name_char(p[i]) && p[i] != ':' && p[i] != '.')
			return error_set(err, 400, SCIM_INVALID_PATH,
			                 "unexpected character at offset %zu of path", start + i);
	}
	name_len = open;
	if (name_len == 0 || schema_resolve(rt, p, name_len, &ref) != 0 || ref.attr == NULL)
		return error_set(err, 400, SCIM_INVALID_PATH, "unknown attribute \"%.*s\" in path",
		                 (int)(name_len > 200 ? 200 : name_len), p);

	if (open == len) { /* attrPath: attr or attr.sub */
		out->schema = ref.schema;
		out->attr = ref.parent != NULL ? ref.parent : ref.attr;
		out->sub = ref.parent != NULL ? ref.attr : NULL;
		return 0;
	}

	/* valuePath [subAttr] */
	if (ref.parent != NULL || !ref.attr->multi_valued)
		return error_set(err, 400, SCIM_INVALID_PATH,
		                 "a value filter needs a multi-valued attribute: \"%.*s\"",
		                 (int)(name_len > 200 ? 200 : name_len), p);
	close = path_find_close(p, len, open);
	if (close == (size_t)-1)
		return error_set(err, 400, SCIM_INVALID_PATH, "unbalanced '[' in path");
	out->schema = ref.schema;
	out->attr = ref.attr;
	if (close + 1 < len) {
		const char *s = p + close + 1;
		size_t slen = len - close - 1;

		if (s[0] != '.' || slen < 2)
			goto trailing;
		for (i = 1; i < slen; i++)
			if (!path_is_name_char(s[i]))
				goto trailing;
		out->sub = path_sub_lookup(ref.attr, s + 1, slen - 1);
		if (out->sub == NULL) {
			memset(out, 0, sizeof(*out));
			return error_set(err, 400, SCIM_INVALID_PATH,
			                 "attribute %s has no sub-attribute \"%.*s\"",
			                 ref.attr->name, (int)(slen - 1 > 200 ? 200 : slen - 1),
			                 s + 1);
		}
	}
	error_clear(&ferr);
	{
		size_t flen = close - open - 1;
		const char *ftext = p + open + 1;

		while (flen > 0 && (*ftext == ' ' || *ftext == '\t')) {
			ftext++;
			flen--;
		}
		if (flen == 0) {
			memset(out, 0, sizeof(*out));
			return error_set(err, 400, SCIM_INVALID_PATH, "empty value filter in path");
		}
		out->filter = filter_parse_value_filter(rt, &ref, ftext, flen, &ferr);
	}
	if (out->filter == NULL) {
		memset(out, 0, sizeof(*out));
		return error_set(err, 400, SCIM_INVALID_PATH, "invalid value filter in path: %s",
		                 ferr.detail);
	}
	return 0;

trailing:
	memset(out, 0, sizeof(*out));
	return error_set(err, 400, SCIM_INVALID_PATH, "unexpected text after ']' in path");
}

void
path_clear(struct path *p)
{
	if (p == NULL)
		return;
	filter_free(p->filter);
	memset(p, 0, sizeof(*p));
}

bool
path_is_core(const struct resource_type_def *rt, const struct schema_def *schema)
{
	return schema == NULL || schema == rt->schema;
}

bool
path_is_extension(const struct resource_type_def *rt, const struct schema_def *schema)
{
	const struct schema_ext *e;

	if (schema == NULL || rt->extensions == NULL)
		return false;
	for (e = rt->extensions; e->schema != NULL; e++)
		if (e->schema == schema)
			return true;
	return false;
}

const char *
path_object_key(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj) || key == NULL)
		return NULL;
	if (json_object_get(obj, key) != NULL) {
		void *iter = json_object_iter_at((json_t *)obj, key);

		return iter != NULL ? json_object_iter_key(iter) : NULL;
	}
	json_object_foreach((json_t *)obj, k, v)
	{
		(void)v;
		if (strcasecmp(k, key) == 0)
			return k;
	}
	return NULL;
}

json_t *
path_object_get(const json_t *obj, const char *key)
{
	const char *k = path_object_key(obj, key);

	return k != NULL ? json_object_get(obj, k) : NULL;
}

json_t *
path_container(const struct resource_type_def *rt, const json_t *resource,
               const struct schema_def *schema)
{
	json_t *c;

	if (!json_is_object(resource))
		return NULL;
	if (path_is_core(rt, schema))
		return (json_t *)resource;
	c = path_object_get(resource, schema->id);
	return json_is_object(c) ? c : NULL;
}

json_t *
path_get(const struct resource_type_def *rt, const json_t *resource,
         const struct schema_def *schema, const struct attr_def *attr)
{
	json_t *v = path_object_get(path_container(rt, resource, schema), attr->name);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_array(v) && json_array_size(v) == 0)
		return NULL;
	return v;
}
