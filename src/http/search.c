/*
 * search.c — POST /.search at the service provider's root: one query
 * across every resource type (RFC 7644 §3.4.3, "from the root of the
 * service provider … all resource types").
 *
 * Behaviour
 *   - The body is a SearchRequest, read as for POST /Users/.search.
 *   - The filter is parsed per resource type. An attribute a type does
 *     not define parses and matches nothing there (filter.h), so
 *     `userName eq "x"` finds users only; a syntax error is 400 once.
 *   - Results are the concatenation Users, Groups, Schools (the order of
 *     resources_ops_all); totalResults is the sum of the types' totals;
 *     startIndex/count page over the concatenation, so pages are stable.
 *     Each resource keeps its own meta.resourceType.
 *   - sortBy sorts within each type (the order stays type-major: a merged
 *     order would need every type's whole result set in memory). A sortBy
 *     that no type defines is 400 invalidPath, as on one endpoint; a type
 *     that lacks it keeps its default order.
 *   - attributes/excludedAttributes are applied per type.
 */
#include "http/http.h"

#include <stdbool.h>
#include <string.h>

#include "dir/dir.h"
#include "engine/filter.h"
#include "engine/project.h"
#include "engine/sort.h"

/*
 * search_one — query one resource type for the slice of the concatenation
 * still wanted: skip *skip of its results, take up to `want`. Appends the
 * projected resources to `out` (borrowed), adds its total to *total and
 * lowers *skip by it. 0, or -1 with *err.
 */
static int
search_one(struct http_request *req, const struct resource_ops *ops, const struct list_params *p,
           const struct sort_key *key, long *skip, long want, json_t *out, long *total,
           struct rb_error *err)
{
	const struct resource_type_def *rt = schema_resource_type(ops->type);
	const struct attr_def *members;
	struct filter *filter = NULL;
	struct project *proj = NULL;
	struct dir_ctx ctx;
	struct dir_query q;
	char base[512];
	json_t *items = NULL, *r;
	long n = 0;
	size_t i;
	int rc = -1;

	memset(&q, 0, sizeof(q));
	if (p->filter != NULL && *p->filter != '\0' &&
	    (filter = filter_parse(rt, p->filter, err)) == NULL)
		goto done;
	proj = project_new(rt, p->attributes, p->excluded, err);
	if (proj == NULL)
		goto done;
	members = schema_attr_lookup(rt->schema, NULL, "members");
	q.want_members = members == NULL || project_wants(proj, rt->schema, members);
	q.filter = filter;
	if (key != NULL) {
		q.sort = key;
		q.sort_by = p->sort_by;
		q.descending = key->descending;
	}
	q.start_index = *skip + 1;
	q.count = want;
	resources_ctx(req, &ctx, base, sizeof(base));
	items = ops->search(&ctx, &q, &n, err);
	if (items == NULL)
		goto done;
	json_array_foreach(items, i, r) json_array_append_new(out, project_apply(proj, r));
	*total += n;
	*skip = *skip > n ? *skip - n : 0;
	rc = 0;
done:
	json_decref(items);
	filter_free(filter);
	project_free(proj);
	return rc;
}

void
resources_search_root(struct http_request *req, struct http_response *res)
{
	const struct resource_ops *const *all = resources_ops_all();
	const struct config *cfg = req->app->cfg;
	struct sort_key keys[8];
	bool sorted[8];
	struct list_params p;
	struct rb_error err, sort_err;
	json_t *out = NULL;
	long total = 0, skip;
	size_t i, nsorted = 0;

	memset(&p, 0, sizeof(p));
	memset(sorted, 0, sizeof(sorted));
	error_clear(&err);
	error_clear(&sort_err);
	p.start_index = 1;
	p.count = cfg->default_count;
	if (list_params_from_body(req, &p, &err) < 0)
		goto fail;
	/* RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0. */
	if (p.start_index < 1)
		p.start_index = 1;
	if (p.count < 0)
		p.count = 0;
	if (p.count > cfg->max_count)
		p.count = cfg->max_count;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && all[i] != NULL; i++) {
		if (p.sort_by == NULL || *p.sort_by == '\0')
			break;
		error_clear(&sort_err);
		if (sort_parse(schema_resource_type(all[i]->type), p.sort_by, p.sort_order,
		               &keys[i], &sort_err) == 0) {
			sorted[i] = true;
			nsorted++;
		} else if (error_is_set(&sort_err) && sort_err.status != 400) {
			err = sort_err;
			goto fail;
		}
	}
	if (p.sort_by != NULL && *p.sort_by != '\0' && nsorted == 0) {
		err = sort_err;
		goto fail;
	}
	out = json_array();
	if (out == NULL) {
		error_set(&err, 500, NULL, "out of memory");
		goto fail;
	}
	skip = p.start_index - 1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && all[i] != NULL; i++) {
		long want = p.count - (long)json_array_size(out);

		if (search_one(req, all[i], &p, sorted[i] ? &keys[i] : NULL, &skip, want, out,
		               &total, &err) < 0)
			goto fail;
	}
	response_json(res, 200,
	              json_pack("{s:[s], s:I, s:I, s:I, s:O}", "schemas", SCHEMA_LIST_RESPONSE,
	                        "totalResults", (json_int_t)total, "startIndex",
	                        (json_int_t)p.start_index, "itemsPerPage",
	                        (json_int_t)json_array_size(out), "Resources", out));
	goto done;
fail:
	resources_fail(res, &err);
done:
	json_decref(out);
	list_params_clear(&p);
}
