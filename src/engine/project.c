/* project.c — attributes / excludedAttributes projection; see project.h. */
#include "engine/project.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/path.h"

struct project_name {
	const struct schema_def *schema; /* NULL: common attribute */
	const struct attr_def *attr;     /* top level; NULL: the whole schema */
	const struct attr_def *sub;      /* or NULL: the whole attribute */
};

struct project {
	const struct resource_type_def *rt;
	bool has_attributes; /* `attributes` given: select mode */
	struct project_name *names;
	size_t n;
};

enum project_mode { PM_DROP, PM_WHOLE, PM_SUBS };

static int
project_parse_list(struct project *p, const char *list)
{
	const char *s = list, *e;

	while (s != NULL && *s != '\0') {
		struct attr_ref ref;
		const struct schema_def *sd;
		size_t len;

		e = strchr(s, ',');
		len = e != NULL ? (size_t)(e - s) : strlen(s);
		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len > 0 && len < 1024) {
			struct project_name *nm = NULL;
			char buf[1024];

			memcpy(buf, s, len);
			buf[len] = '\0';
			sd = schema_find(buf);
			if (sd != NULL && (path_is_extension(p->rt, sd) || sd == p->rt->schema)) {
				nm = &p->names[p->n++];
				nm->schema = sd;
				nm->attr = NULL;
				nm->sub = NULL;
			} else if (schema_resolve(p->rt, s, len, &ref) == 0 && ref.attr != NULL) {
				nm = &p->names[p->n++];
				nm->schema = ref.schema;
				nm->attr = ref.parent != NULL ? ref.parent : ref.attr;
				nm->sub = ref.parent != NULL ? ref.attr : NULL;
			}
		}
		s = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

struct project *
project_new(const struct resource_type_def *rt, const char *attributes,
            const char *excluded_attributes, struct rb_error *err)
{
	struct project *p = calloc(1, sizeof(*p));
	const char *list;
	size_t cap = 1;
	const char *c;

	if (p == NULL)
		goto oom;
	p->rt = rt;
	p->has_attributes = attributes != NULL && attributes[strspn(attributes, " ,\t")] != '\0';
	list = p->has_attributes ? attributes : excluded_attributes;
	for (c = list; c != NULL && *c != '\0'; c++)
		if (*c == ',')
			cap++;
	p->names = calloc(cap, sizeof(*p->names));
	if (p->names == NULL)
		goto oom;
	project_parse_list(p, list);
	return p;
oom:
	project_free(p);
	error_set(err, 500, NULL, "out of memory");
	return NULL;
}

void
project_free(struct project *p)
{
	if (p == NULL)
		return;
	free(p->names);
	free(p);
}

static bool
project_same_schema(const struct project *p, const struct schema_def *a, const struct schema_def *b)
{
	return a == b ||
	       (path_is_core(p->rt, a) && path_is_core(p->rt, b) && (a == NULL) == (b == NULL));
}

/* project_mode — what to keep of top-level attribute attr. */
static enum project_mode
project_mode(const struct project *p, const struct schema_def *schema, const struct attr_def *attr)
{
	size_t i;
	bool subs = false;

	if (attr->returned == RET_NEVER)
		return PM_DROP;
	if (attr->returned == RET_ALWAYS)
		return PM_WHOLE;
	for (i = 0; i < p->n; i++) {
		const struct project_name *nm = &p->names[i];

		if (nm->attr == NULL && nm->schema == schema && schema != NULL)
			return p->has_attributes ? PM_WHOLE : PM_DROP;
		if (nm->attr != attr || !project_same_schema(p, nm->schema, schema))
			continue;
		if (nm->sub == NULL)
			return p->has_attributes ? PM_WHOLE : PM_DROP;
		subs = true;
	}
	if (p->has_attributes)
		return subs ? PM_SUBS : PM_DROP;
	if (attr->returned == RET_REQUEST)
		return PM_DROP;
	return subs ? PM_SUBS : PM_WHOLE;
}

static bool
project_sub_named(const struct project *p, const struct attr_def *attr, const struct attr_def *sub)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->names[i].attr == attr && p->names[i].sub == sub)
			return true;
	return false;
}

/* project_complex — a NEW copy of one complex value, filtered by mode. */
static json_t *
project_complex(const struct project *p, const struct attr_def *attr, enum project_mode mode,
                const json_t *v)
{
	json_t *out;
	const char *k;
	json_t *sv;

	if (!json_is_object(v))
		return json_deep_copy(v);
	out = json_object();
	if (out == NULL)
		return NULL;
	json_object_foreach((json_t *)v, k, sv)
	{
		const struct attr_def *sub = NULL, *s;
		bool keep;

		for (s = attr->sub_attrs; s != NULL && s->name != NULL; s++)
			if (strcasecmp(s->name, k) == 0)
				sub = s;
		if (sub == NULL)
			keep = mode == PM_WHOLE;
		else if (sub->returned == RET_NEVER)
			keep = false;
		else if (sub->returned == RET_ALWAYS)
			keep = true;
		else if (mode == PM_SUBS && p->has_attributes)
			keep = project_sub_named(p, attr, sub);
		else if (mode == PM_SUBS) /* excluded sub-attributes */
			keep = !project_sub_named(p, attr, sub) && sub->returned != RET_REQUEST;
		else
			keep = sub->returned != RET_REQUEST || p->has_attributes;
		if (keep)
			json_object_set(out, k, sv);
	}
	return out;
}

static json_t *
project_value(const struct project *p, const struct attr_def *attr, enum project_mode mode,
              const json_t *v)
{
	json_t *out;
	size_t i;

	if (attr->type != ATTR_COMPLEX)
		return json_deep_copy(v);
	if (!json_is_array(v))
		return project_complex(p, attr, mode, v);
	out = json_array();
	for (i = 0; out != NULL && i < json_array_size(v); i++) {
		json_t *e = project_complex(p, attr, mode, json_array_get(v, i));

		if (e != NULL && json_is_object(e) && json_object_size(e) == 0)
			json_decref(e);
		else
			json_array_append_new(out, e);
	}
	return out;
}

/* project_object — project the members of obj (resource or extension object) of schema. */
static int
project_object(const struct project *p, const struct schema_def *schema, const json_t *obj,
               json_t *out)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		const struct attr_def *attr = NULL;
		const struct schema_def *as = schema;
		enum project_mode mode;
		json_t *nv;

		if (path_is_core(p->rt, schema)) {
			const struct attr_def *c;
			const struct schema_def *ext = schema_find(k);

			if (strcasecmp(k, "schemas") == 0) {
				json_object_set(out, k, v);
				continue;
			}
			if (ext != NULL && path_is_extension(p->rt, ext) && json_is_object(v)) {
				json_t *sub = json_object();

				if (sub == NULL || project_object(p, ext, v, sub) != 0) {
					json_decref(sub);
					return -1;
				}
				if (json_object_size(sub) > 0)
					json_object_set_new(out, k, sub);
				else
					json_decref(sub);
				continue;
			}
			for (c = schema_common_attrs(); c != NULL && c->name != NULL; c++)
				if (strcasecmp(c->name, k) == 0) {
					attr = c;
					as = NULL;
				}
		}
		if (attr == NULL)
			attr = schema_attr_lookup(
			    path_is_core(p->rt, schema) ? p->rt->schema : schema, NULL, k);
		if (attr == NULL) {
			if (!p->has_attributes)
				json_object_set(out, k, v);
			continue;
		}
		mode = project_mode(p, as == NULL ? NULL : as, attr);
		if (mode == PM_DROP)
			continue;
		nv = project_value(p, attr, mode, v);
		if (nv == NULL)
			return -1;
		json_object_set_new(out, k, nv);
	}
	return 0;
}

json_t *
project_apply(const struct project *p, const json_t *resource)
{
	json_t *out;

	if (p == NULL || !json_is_object(resource))
		return json_deep_copy(resource);
	out = json_object();
	if (out == NULL || project_object(p, p->rt->schema, resource, out) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

bool
project_wants(const struct project *p, const struct schema_def *schema, const struct attr_def *attr)
{
	if (p == NULL)
		return attr->returned != RET_NEVER && attr->returned != RET_REQUEST;
	return project_mode(p, schema, attr) != PM_DROP;
}
