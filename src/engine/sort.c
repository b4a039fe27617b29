/* sort.c — sortBy / sortOrder; see sort.h. */
#include "engine/sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/path.h"
#include "lib/rfc3339.h"

int
sort_parse(const struct resource_type_def *rt, const char *sort_by, const char *sort_order,
           struct sort_key *out, struct rb_error *err)
{
	struct attr_ref ref;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (sort_by == NULL)
		return error_set(err, 400, SCIM_INVALID_PATH, "no sortBy");
	while (*sort_by == ' ')
		sort_by++;
	len = strlen(sort_by);
	while (len > 0 && sort_by[len - 1] == ' ')
		len--;
	if (len == 0 || schema_resolve(rt, sort_by, len, &ref) != 0 || ref.attr == NULL)
		return error_set(err, 400, SCIM_INVALID_PATH, "unknown sortBy attribute \"%.*s\"",
		                 (int)(len > 200 ? 200 : len), sort_by);
	out->schema = ref.schema;
	out->attr = ref.parent != NULL ? ref.parent : ref.attr;
	out->sub = ref.parent != NULL ? ref.attr : NULL;
	if (out->attr->type == ATTR_COMPLEX && out->sub == NULL) {
		const struct attr_def *s;

		for (s = out->attr->sub_attrs;
		     out->attr->multi_valued && s != NULL && s->name != NULL; s++)
			if (strcmp(s->name, "value") == 0)
				out->sub = s;
		if (out->sub == NULL) {
			memset(out, 0, sizeof(*out));
			return error_set(err, 400, SCIM_INVALID_PATH,
			                 "sortBy on complex attribute needs a sub-attribute");
		}
	}
	if (sort_order != NULL && *sort_order != '\0') {
		if (strcasecmp(sort_order, "descending") == 0)
			out->descending = true;
		else if (strcasecmp(sort_order, "ascending") != 0) {
			memset(out, 0, sizeof(*out));
			return error_set(err, 400, SCIM_INVALID_VALUE,
			                 "sortOrder must be ascending or descending");
		}
	}
	return 0;
}

/* sort_value — the value compared for resource r (borrowed), or NULL. */
static const json_t *
sort_value(const struct resource_type_def *rt, const struct sort_key *k, const json_t *r)
{
	json_t *v = path_get(rt, r, k->schema, k->attr);

	if (v == NULL)
		return NULL;
	if (k->attr->multi_valued) {
		json_t *pick = NULL;
		size_t i;

		if (!json_is_array(v))
			pick = v;
		for (i = 0; pick == NULL && i < json_array_size(v); i++)
			if (json_is_true(path_object_get(json_array_get(v, i), "primary")))
				pick = json_array_get(v, i);
		if (pick == NULL)
			pick = json_array_get(v, 0);
		v = pick;
	}
	if (k->sub != NULL)
		v = path_object_get(v, k->sub->name);
	if (v == NULL || json_is_null(v))
		return NULL;
	return v;
}

static int
sort_cmp_values(const struct attr_def *def, const json_t *a, const json_t *b)
{
	int ta, tb;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL); /* missing: last when ascending */
	ta = (int)json_typeof(a);
	tb = (int)json_typeof(b);
	if (def->type == ATTR_DATETIME && json_is_string(a) && json_is_string(b)) {
		struct rfc3339_instant ia, ib;
		bool pa = rfc3339_parse(json_string_value(a), json_string_length(a), &ia);
		bool pb = rfc3339_parse(json_string_value(b), json_string_length(b), &ib);
		int c;

		/* instants first, then what does not parse (as text): a total order */
		if (pa != pb)
			return pa ? -1 : 1;
		if (!pa)
			return strcmp(json_string_value(a), json_string_value(b));
		c = rfc3339_cmp(&ia, &ib);
		if (c != 0)
			return c;
		/* the same instant written two ways: fall through to text */
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = def->case_exact ? strcmp(json_string_value(a), json_string_value(b))
		                        : strcasecmp(json_string_value(a), json_string_value(b));

		if (c == 0 && !def->case_exact)
			c = strcmp(json_string_value(a), json_string_value(b));
		return c;
	}
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);

		return x < y ? -1 : x > y ? 1 : 0;
	}
	if (json_is_boolean(a) && json_is_boolean(b))
		return (int)json_is_true(a) - (int)json_is_true(b);
	/* mixed types (should not happen after validation): order by JSON type */
	return ta - tb;
}

static int
sort_by_id(const json_t *a, const json_t *b)
{
	const char *x = json_string_value(json_object_get(a, "id"));
	const char *y = json_string_value(json_object_get(b, "id"));

	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	return strcmp(x, y);
}

int
sort_compare(const struct resource_type_def *rt, const struct sort_key *k, const json_t *a,
             const json_t *b)
{
	const json_t *va = sort_value(rt, k, a), *vb = sort_value(rt, k, b);
	const struct attr_def *def = k->sub != NULL ? k->sub : k->attr;
	int c;

	c = sort_cmp_values(def, va, vb);
	if (k->descending)
		c = -c;
	return c != 0 ? c : sort_by_id(a, b);
}

static void
sort_merge(const struct resource_type_def *rt, const struct sort_key *k, json_t **a, json_t **tmp,
           size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, o = 0;

	if (n < 2)
		return;
	sort_merge(rt, k, a, tmp, mid);
	sort_merge(rt, k, a + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[o++] = sort_compare(rt, k, a[j], a[i]) < 0 ? a[j++] : a[i++];
	while (i < mid)
		tmp[o++] = a[i++];
	while (j < n)
		tmp[o++] = a[j++];
	memcpy(a, tmp, n * sizeof(*a));
}

int
sort_resources(const struct resource_type_def *rt, const struct sort_key *k, json_t **items,
               size_t n)
{
	json_t **tmp;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL)
		return -1;
	sort_merge(rt, k, items, tmp, n);
	free(tmp);
	return 0;
}
