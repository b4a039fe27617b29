/*
 * admins.c — what the Manage Administrators page reads: the tenant, its
 * schools and regions, and the administrators list; see admin.h.
 *
 * The list is one LDAP search under ou=people for people holding a grant
 * of any source (a direct grant attribute, or an access summary from a
 * role group) whose grants overlap the viewer's scope, reading only the
 * sort keys; the page is then read person by person through dir_user_get,
 * the same read the SCIM side serves, so the grants shown are exactly
 * SCIM's `grants`.
 */
#include "dir/admin_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "lib/strbuf.h"

int
dir_person_id(const struct dir_ctx *ctx, const char *dn, char out[37], struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"entryUUID", NULL};
	json_t *map = NULL;
	const char *id;
	int rc = -1;

	if (dir_op_begin(&op, ctx, err) < 0)
		return -1;
	/* Only a person of this tenant: the DN must end in ou=people,<tenant DN>. */
	{
		char *people = dir_ou_dn(&op, "people");
		size_t n = people ? strlen(people) : 0, m = strlen(dn);
		bool inside =
		    people && m > n + 1 && !strcasecmp(dn + m - n, people) && dn[m - n - 1] == ',';
		free(people);
		if (!inside) {
			error_set(err, 404, NULL, "no such person in this tenant");
			goto done;
		}
	}
	if (dir_search(&op, dn, LDAP_SCOPE_BASE, DIR_PERSON_FILTER, attrs, NULL, 1, &res, err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	map = e ? entry_to_map(op.conn->ld, e) : NULL;
	id = entry_map_first(map, "entryuuid");
	if (id == NULL || strlen(id) != 36) {
		error_set(err, 404, NULL, "no such person in this tenant");
		goto done;
	}
	memcpy(out, id, 37);
	rc = 0;
done:
	json_decref(map);
	ldap_msgfree(res);
	dir_op_end(&op);
	return rc;
}

json_t *
dir_tenant_info(const struct dir_ctx *ctx, struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"displayName", "rbTenantKind", NULL};
	json_t *map = NULL, *out = NULL;
	const char *name, *kind;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	if (dir_search(&op, op.tenant_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, NULL, 1, &res,
	               err) < 0)
		goto done;
	e = res ? ldap_first_entry(op.conn->ld, res) : NULL;
	if (e == NULL) {
		error_set(err, 404, NULL, "no such tenant in the directory");
		goto done;
	}
	map = entry_to_map(op.conn->ld, e);
	name = entry_map_first(map, "displayname");
	kind = entry_map_first(map, "rbtenantkind");
	out = json_pack("{s:s, s:s}", "name", name ? name : ctx->tenant, "kind",
	                kind && !strcasecmp(kind, "partnership") ? "partnership" : "district");
done:
	json_decref(map);
	ldap_msgfree(res);
	dir_op_end(&op);
	return out;
}

static int
admins_by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcasecmp(json_string_value(json_object_get(x, "name")),
	                  json_string_value(json_object_get(y, "name")));
}

/* Sort a json array of objects by their "name" (case-insensitive), in place. */
static void
admins_sort_by_name(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v = n ? malloc(n * sizeof(*v)) : NULL;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), admins_by_name);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* Every child of ou=<ou> matching `filter` as {id, name[, region]}. */
static json_t *
admins_children(const struct dir_ctx *ctx, const char *ou, const char *filter, bool is_region,
                struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"entryUUID", "cn", "displayName", "rbRegionRef", NULL};
	char *base = NULL;
	json_t *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	base = dir_ou_dn(&op, ou);
	if (base == NULL) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL,
	               ctx->dir->cfg->max_results, &res, err) < 0)
		goto done;
	out = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		json_t *map = entry_to_map(op.conn->ld, e);
		const char *name = entry_map_first(map, "displayname");
		const char *cn = entry_map_first(map, "cn");
		const char *region = entry_map_first(map, "rbregionref");
		const char *id = is_region ? cn : entry_map_first(map, "entryuuid");
		if (id != NULL)
			json_array_append_new(out, json_pack("{s:s, s:s, s:s?}", "id", id, "name",
			                                     name ? name
			                                     : cn ? cn
			                                          : id,
			                                     "region", is_region ? NULL : region));
		json_decref(map);
	}
	admins_sort_by_name(out);
done:
	ldap_msgfree(res);
	free(base);
	dir_op_end(&op);
	return out;
}

json_t *
dir_schools_all(const struct dir_ctx *ctx, struct rb_error *err)
{
	return admins_children(ctx, "schools", "(objectClass=rbSchool)", false, err);
}

json_t *
dir_regions_all(const struct dir_ctx *ctx, struct rb_error *err)
{
	return admins_children(ctx, "regions", "(objectClass=rbRegion)", true, err);
}

/* Append "(<attr>=<escaped value>)" for each string of `values`. */
static void
admins_terms(struct strbuf *b, const char *attr, const json_t *values)
{
	size_t i;

	for (i = 0; i < json_array_size(values); i++) {
		const char *v = json_string_value(json_array_get(values, i));
		char *esc = v ? escape_filter_value(v, strlen(v)) : NULL;
		if (esc == NULL)
			continue;
		strbuf_add(b, "(");
		strbuf_add(b, attr);
		strbuf_add(b, "=");
		strbuf_add(b, esc);
		strbuf_add(b, ")");
		free(esc);
	}
}

/* The LDAP filter of a list query. NEW string or NULL. */
static char *
admins_filter(const struct dir_admin_query *q)
{
	struct strbuf b = {0};

	/* The selective terms first, objectClass last (back-mdb's order, see dir.c). */
	strbuf_add(&b, "(&");
	if (!q->all) {
		/* Overlap: an all-schools administrator overlaps every viewer. */
		strbuf_add(&b, "(|(rbScope=district)(rbScope=partnership)(rbViewAll=TRUE)");
		admins_terms(&b, "rbSchoolRef", q->schools);
		admins_terms(&b, "rbViewSchool", q->schools);
		admins_terms(&b, "rbRegionRef", q->regions);
		admins_terms(&b, "rbViewRegion", q->regions);
		strbuf_add(&b, ")");
	}
	if (q->search != NULL && *q->search != '\0') {
		char *esc = escape_filter_value(q->search, strlen(q->search));
		const char *attrs[] = {"cn", "displayName", "uid", "mail"};
		size_t i;
		strbuf_add(&b, "(|");
		for (i = 0; esc && i < sizeof(attrs) / sizeof(attrs[0]); i++) {
			strbuf_add(&b, "(");
			strbuf_add(&b, attrs[i]);
			strbuf_add(&b, "=*");
			strbuf_add(&b, esc);
			strbuf_add(&b, "*)");
		}
		strbuf_add(&b, ")");
		if (esc == NULL)
			b.failed = true;
		free(esc);
	}
	strbuf_add(&b, "(|(rbPermission=*)(rbViewAll=TRUE)(rbViewSchool=*)(rbViewRegion=*))"
	               "(objectClass=rbPerson))");
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The invitation state of an entry map: {status, mail, expires, error} or null. NEW. */
static json_t *
admins_invite_of(const json_t *map)
{
	const char *status = entry_map_first(map, "rbinvitestatus");
	const char *exp = entry_map_first(map, "rbinviteexpires");
	const char *error = entry_map_first(map, "rbinviteerror");
	const char *mail = entry_map_first(map, "rbinvitemail");
	time_t t = 0;

	if (status == NULL)
		return json_null();
	if (exp != NULL && dir_gentime_parse(exp, &t) < 0)
		t = 0;
	return json_pack("{s:s, s:s?, s:I, s:s?}", "status", status, "mail", mail, "expires",
	                 (json_int_t)t, "error", error);
}

struct admins_row {
	const char *key; /* sort key, borrowed from the map */
	json_t *map;     /* borrowed */
};

static bool admins_desc; /* only read inside qsort, set under admins_lock */

static int
admins_cmp(const void *a, const void *b)
{
	const struct admins_row *x = a, *y = b;
	int c = strcasecmp(x->key, y->key);

	if (c == 0) /* stable across pages: the entryUUID breaks ties */
		c = strcmp(entry_map_first(x->map, "entryuuid"),
		           entry_map_first(y->map, "entryuuid"));
	return admins_desc ? -c : c;
}

static pthread_mutex_t admins_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
admins_key(const json_t *map, const char *sort)
{
	const char *v = NULL;

	if (!strcmp(sort, "email"))
		v = entry_map_first(map, "rbinvitemail");
	if (!strcmp(sort, "status"))
		v = entry_map_first(map, "rbinvitestatus");
	if (v == NULL && strcmp(sort, "name") != 0) {
		json_t *m = NULL;
		const char *d;
		void *it;
		if (!strcmp(sort, "email"))
			for (it = json_object_iter((json_t *)map); it && !v;
			     it = json_object_iter_next((json_t *)map, it)) {
				d = json_object_iter_key(it);
				if (!strncmp(d, "mail", 4) && (d[4] == '\0' || d[4] == ';'))
					m = json_object_iter_value(it);
				v = m ? json_string_value(json_array_get(m, 0)) : NULL;
			}
		if (!strcmp(sort, "status") && v == NULL)
			v = "active";
	}
	if (v == NULL)
		v = entry_map_first(map, "displayname");
	if (v == NULL)
		v = entry_map_first(map, "cn");
	return v ? v : "";
}

json_t *
dir_admin_list(const struct dir_ctx *ctx, const struct dir_admin_query *q, long *total,
               struct rb_error *err)
{
	struct dir_op op;
	LDAPMessage *res = NULL, *e;
	char *attrs[] = {"entryUUID",
	                 "cn",
	                 "displayName",
	                 "mail",
	                 "rbInviteStatus",
	                 "rbInviteMail",
	                 "rbInviteExpires",
	                 "rbInviteError",
	                 NULL};
	char *base = NULL, *filter = NULL;
	json_t *maps = json_array(), *out = NULL;
	struct admins_row *rows = NULL;
	const char *sort = q->sort ? q->sort : "name";
	size_t n = 0, i;
	long from, to;

	*total = 0;
	if (dir_op_begin(&op, ctx, err) < 0) {
		json_decref(maps);
		return NULL;
	}
	base = dir_ou_dn(&op, "people");
	filter = admins_filter(q);
	if (base == NULL || filter == NULL || maps == NULL) {
		error_set(err, 500, NULL, "out of memory");
		dir_op_end(&op);
		goto done;
	}
	if (dir_search(&op, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL,
	               ctx->dir->cfg->max_results, &res, err) < 0) {
		dir_op_end(&op);
		goto done;
	}
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		json_t *map = entry_to_map(op.conn->ld, e);
		if (map != NULL && entry_map_first(map, "entryuuid") != NULL)
			json_array_append_new(maps, map);
		else
			json_decref(map);
	}
	ldap_msgfree(res);
	res = NULL;
	dir_op_end(&op); /* dir_user_get below takes connections of its own */

	n = json_array_size(maps);
	*total = (long)n;
	rows = n ? calloc(n, sizeof(*rows)) : NULL;
	for (i = 0; rows && i < n; i++) {
		rows[i].map = json_array_get(maps, i);
		rows[i].key = admins_key(rows[i].map, sort);
	}
	pthread_mutex_lock(&admins_lock);
	admins_desc = q->descending;
	if (rows)
		qsort(rows, n, sizeof(*rows), admins_cmp);
	pthread_mutex_unlock(&admins_lock);

	out = json_array();
	from = q->offset < 0 ? 0 : q->offset;
	to = from + q->count;
	for (i = (size_t)from; rows && i < n && (long)i < to; i++) {
		const char *id = entry_map_first(rows[i].map, "entryuuid");
		json_t *user = dir_user_get(ctx, id, err);
		if (user == NULL) {
			if (err->status == 404) { /* removed since the search */
				error_clear(err);
				continue;
			}
			json_decref(out);
			out = NULL;
			goto done;
		}
		json_object_set_new(user, "invite", admins_invite_of(rows[i].map));
		json_array_append_new(out, user);
	}
done:
	free(rows);
	json_decref(maps);
	free(base);
	free(filter);
	return out;
}

json_t *
dir_admin_invite_state(const struct dir_ctx *ctx, const char *id, struct rb_error *err)
{
	struct dir_op op;
	char *attrs[] = {"rbInviteStatus", "rbInviteMail", "rbInviteExpires", "rbInviteError",
	                 NULL};
	json_t *map, *out = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	map = admin_person_map(&op, id, attrs, err);
	if (map != NULL)
		out = admins_invite_of(map);
	json_decref(map);
	dir_op_end(&op);
	return out;
}
