/*
 * dir_page.c — paged, sorted searches; see dir_int.h.
 *
 * Stable order: every LDAP sort ends with entryUUID as the last key, and
 * the default order is (createTimestamp, entryUUID), so pages never
 * repeat or skip an entry while nothing changes.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/ldaperr.h"
#include "dir/query.h"
#include "engine/sort.h"

/* Sorted VLV search for an exact filter. Returns the page's maps (NEW array) or NULL. */
static json_t *
dir_page_vlv(struct dir_op *op, const struct dir_type *t, const char *base, const char *filter,
             const char *sortkeys, const struct dir_query *q, long *total, struct rb_error *err)
{
	LDAPSortKey **keys = NULL;
	LDAPControl *sort = NULL, *vlv = NULL, *ctrls[3] = {NULL, NULL, NULL}, **rctrls = NULL;
	LDAPMessage *res = NULL, *e;
	LDAPVLVInfo info;
	json_t *maps = NULL;
	ber_int_t target = 0, count = 0, vlverr = 0;
	struct berval *context = NULL;
	long after = q->count > 0 ? q->count - 1 : 0;
	int i, code = LDAP_OTHER;

	if (ldap_create_sort_keylist(&keys, (char *)sortkeys) != LDAP_SUCCESS ||
	    ldap_create_sort_control(op->conn->ld, keys, 1, &sort) != LDAP_SUCCESS) {
		error_set(err, 500, NULL, "cannot build the sort control for %s", sortkeys);
		goto done;
	}
	memset(&info, 0, sizeof(info));
	info.ldvlv_version = 1;
	info.ldvlv_before_count = 0;
	info.ldvlv_after_count = (ber_int_t)after;
	info.ldvlv_offset = (ber_int_t)(q->start_index < 1 ? 1 : q->start_index);
	info.ldvlv_count = 0;
	if (ldap_create_vlv_control(op->conn->ld, &info, &vlv) != LDAP_SUCCESS) {
		error_set(err, 500, NULL, "cannot build the VLV control");
		goto done;
	}
	ctrls[0] = sort;
	ctrls[1] = vlv;
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, t->attrs, ctrls, 0, &res, err) < 0)
		goto done;
	op->conn->vlv_uses++;
	maps = json_array();
	*total = 0;
	if (res == NULL)
		goto done;
	for (LDAPMessage *m = ldap_first_message(op->conn->ld, res); m != NULL;
	     m = ldap_next_message(op->conn->ld, m)) {
		if (ldap_msgtype(m) != LDAP_RES_SEARCH_RESULT)
			continue;
		ldap_parse_result(op->conn->ld, m, &code, NULL, NULL, NULL, &rctrls, 0);
	}
	if (code == LDAP_VLV_ERROR && q->start_index > 1) {
		/* The offset is past the end: ask for the first entry, to learn the total. */
		struct dir_query first = *q;
		json_t *none;
		first.start_index = 1;
		first.count = 0;
		json_decref(maps);
		maps = NULL;
		none = dir_page_vlv(op, t, base, filter, sortkeys, &first, total, err);
		if (none != NULL) {
			json_decref(none);
			maps = json_array();
		}
		goto done;
	}
	if (code != LDAP_SUCCESS) {
		json_decref(maps);
		maps = NULL;
		ldaperr_set(err, code, "sorted search", NULL);
		goto done;
	}
	for (i = 0; rctrls != NULL && rctrls[i] != NULL; i++)
		if (!strcmp(rctrls[i]->ldctl_oid, LDAP_CONTROL_VLVRESPONSE))
			ldap_parse_vlvresponse_control(op->conn->ld, rctrls[i], &target, &count,
			                               &context, &vlverr);
	*total = count;
	if (vlverr != LDAP_SUCCESS && count > 0) {
		json_decref(maps);
		maps = NULL;
		ldaperr_set(err, vlverr, "sorted search (VLV)", NULL);
		goto done;
	}
	if (q->count == 0 || q->start_index > count)
		goto done;
	for (e = ldap_first_entry(op->conn->ld, res); e != NULL;
	     e = ldap_next_entry(op->conn->ld, e))
		json_array_append_new(maps, entry_to_map(op->conn->ld, e));
done:
	if (context != NULL)
		ber_bvfree(context);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	if (sort != NULL)
		ldap_control_free(sort);
	if (vlv != NULL)
		ldap_control_free(vlv);
	ldap_free_sort_keylist(keys);
	return maps;
}

/* Does the filter use attribute `name` (top-level)? Then its values must be loaded. */
static bool
dir_page_mentions(const struct filter *f, const char *name)
{
	if (f == NULL)
		return false;
	if (f->attr.attr != NULL &&
	    (!strcasecmp(f->attr.attr->name, name) ||
	     (f->attr.parent != NULL && !strcasecmp(f->attr.parent->name, name))))
		return true;
	return dir_page_mentions(f->left, name) || dir_page_mentions(f->right, name);
}

/* Sort `arr` (an array of resources) in place as q says; default: creation order. */
static int
dir_page_sort(const struct resource_type_def *rt, const struct dir_query *q, json_t *arr,
              struct rb_error *err)
{
	struct sort_key def;
	const struct sort_key *k = q->sort;
	size_t n = json_array_size(arr), i;
	json_t **items;
	int rc;

	if (n < 2)
		return 0;
	if (k == NULL) {
		if (sort_parse(rt, "meta.created", NULL, &def, err) < 0)
			return -1;
		k = &def;
	}
	items = malloc(n * sizeof(*items));
	if (items == NULL)
		return error_set(err, 500, NULL, "out of memory");
	for (i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	rc = sort_resources(rt, k, items, n);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	return rc < 0 ? error_set(err, 500, NULL, "out of memory") : 0;
}

/*
 * A filter naming one resource by a unique attribute (`userName eq "…"`,
 * `id eq "…"`) matches at most one entry: a plain search answers it, with
 * no server-side sort or VLV (and no sssvlv sort state on the connection).
 * This is the filter identity providers send before every create.
 */
static bool
dir_page_single(const struct filter *f)
{
	return f != NULL && f->op == FILTER_EQ && f->attr.attr != NULL && f->attr.parent == NULL &&
	       f->attr.attr->uniqueness != UNIQ_NONE && json_is_string(f->value);
}

/*
 * The candidates a search that slapd cannot answer exactly (the bridge
 * reads, converts and checks each one) may cost this request: the
 * configured allowance (max_candidates) plus 10 per result up to the end
 * of the page asked for, never above max_results. A page of 100 over a
 * filter matching 100,000 people is refused (400 tooMany) after reading
 * max_candidates + 1,000 entries, not after converting 100,000.
 */
static long
dir_page_budget(const struct config *cfg, const struct dir_query *q)
{
	long start = q->start_index < 1 ? 1 : q->start_index;
	long end = start - 1 + (q->count > 0 ? q->count : 0);
	long budget = (long)cfg->max_candidates + 10 * end;

	return budget > cfg->max_results ? cfg->max_results : budget;
}

/* The 400 tooMany of an over-budget search: what to do about it. */
static void
dir_page_too_many(struct rb_error *err, long budget, const struct dir_query *q)
{
	error_clear(err);
	error_set(err, 400, SCIM_TOO_MANY,
	          "the filter leaves more than %ld candidates for the bridge to check for a page "
	          "ending at result %ld; narrow it with `and` and a condition the directory "
	          "answers itself (e.g. userName sw \"…\", externalId eq \"…\", "
	          "displayName co \"…\"), or ask for fewer results",
	          budget, (q->start_index < 1 ? 1 : q->start_index) - 1 + q->count);
}

json_t *
dir_page_search(struct dir_op *op, const struct dir_type *t, const struct dir_query *q, long *total,
                struct rb_error *err)
{
	const struct config *cfg = op->ctx->dir->cfg;
	const struct query_attr *sortrow = NULL;
	char *base = NULL, *filter = NULL, sortkeys[300];
	LDAPMessage *res = NULL, *e;
	json_t *maps = NULL, *all = NULL, *out = NULL, *page = NULL;
	bool exact = false, single;
	long budget;
	size_t i;

	/* At most one match, and a type that tests its own entries: the class
	 * terms stay out of the filter (dir_map_is_person, dir_int.h). */
	single = dir_page_single(q->filter) && t->own != NULL;
	base = dir_ou_dn(op, t->ou);
	filter = base ? query_translate(q->filter, t->table, single ? "" : t->objfilter,
	                                op->ctx->source, &exact)
	              : NULL;
	if (filter == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (q->sort_by != NULL) {
		sortrow = query_attr_find(t->table, t->rt, q->sort_by);
		if (sortrow == NULL || sortrow->order == NULL)
			exact = false; /* sort in memory */
		else
			snprintf(sortkeys, sizeof(sortkeys), "%s%s entryUUID",
			         q->descending ? "-" : "", sortrow->order);
	} else {
		snprintf(sortkeys, sizeof(sortkeys), "createTimestamp entryUUID");
	}
	if (exact && !dir_page_single(q->filter)) {
		maps = dir_page_vlv(op, t, base, filter, sortkeys, q, total, err);
		if (maps == NULL)
			goto done;
		out = t->to_json(op, maps, q->want_members, err);
		goto done;
	}

	/* Inexact, or at most one match: every candidate, evaluated and sorted here. */
	budget = dir_page_budget(cfg, q);
	if (dir_search(op, base, LDAP_SCOPE_ONELEVEL, filter, t->attrs, NULL, (int)budget + 1, &res,
	               err) < 0) {
		if (err->status == 400 && err->scim_type != NULL &&
		    !strcmp(err->scim_type, SCIM_TOO_MANY))
			dir_page_too_many(err, budget, q);
		goto done;
	}
	maps = json_array();
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e);
		if (single && m != NULL && !t->own(m))
			json_decref(m);
		else
			json_array_append_new(maps, m);
	}
	ldap_msgfree(res);
	res = NULL;
	if ((long)json_array_size(maps) > budget) {
		dir_page_too_many(err, budget, q);
		goto done;
	}
	all = t->to_json(op, maps, q->want_members || dir_page_mentions(q->filter, "members"), err);
	if (all == NULL)
		goto done;
	page = json_array();
	for (i = 0; i < json_array_size(all); i++) {
		json_t *r = json_array_get(all, i);
		if (q->filter == NULL || filter_match(q->filter, r))
			json_array_append(page, r);
	}
	if (dir_page_sort(t->rt, q, page, err) < 0)
		goto done;
	*total = (long)json_array_size(page);
	out = json_array();
	for (i = (size_t)(q->start_index < 1 ? 0 : q->start_index - 1);
	     i < json_array_size(page) && (long)json_array_size(out) < q->count; i++)
		json_array_append(out, json_array_get(page, i));
done:
	ldap_msgfree(res);
	json_decref(maps);
	json_decref(all);
	json_decref(page);
	free(base);
	free(filter);
	return out;
}
