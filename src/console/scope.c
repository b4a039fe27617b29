/*
 * scope.c — the actor's rights and what they cover; see console.h.
 *
 * The console decides nothing about escalation itself: scope_may_grant is
 * dir_may_grant (grants_may_grant, dir/grants.h, fed with the actor's
 * grants and the regions of the schools involved), the check the
 * invitations API makes too. Coverage (who appears in the list) is
 * the union of the actor's active canManageAdmins grants: all schools, or
 * regions and schools, each school also bringing its region.
 */
#include "console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strbuf.h"

const json_t *
console_tenant(struct console_req *cr, struct rb_error *err)
{
	if (cr->tenant_info == NULL)
		cr->tenant_info = dir_tenant_info(&cr->ctx, err);
	return cr->tenant_info;
}

const json_t *
console_schools(struct console_req *cr, struct rb_error *err)
{
	if (cr->schools == NULL)
		cr->schools = dir_schools_all(&cr->ctx, err);
	return cr->schools;
}

const json_t *
console_regions(struct console_req *cr, struct rb_error *err)
{
	if (cr->regions == NULL)
		cr->regions = dir_regions_all(&cr->ctx, err);
	return cr->regions;
}

static bool
scope_has(const json_t *arr, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) if (json_string_value(v) &&
	                                  !strcasecmp(json_string_value(v), s)) return true;
	return false;
}

static void
scope_add(json_t *arr, const char *s)
{
	if (s != NULL && !scope_has(arr, s))
		json_array_append_new(arr, json_string(s));
}

static bool
scope_all(const char *scope)
{
	return scope && (!strcmp(scope, "district") || !strcmp(scope, "partnership"));
}

int
scope_of(struct console_req *cr, struct scope *s, struct rb_error *err)
{
	const json_t *schools = console_schools(cr, err), *g, *school;
	size_t i, j;

	memset(s, 0, sizeof(*s));
	if (schools == NULL)
		return -1;
	s->schools = json_array();
	s->regions = json_array();
	json_array_foreach(cr->grants, i, g)
	{
		const char *scope = json_string_value(json_object_get(g, "scope"));
		if (!json_is_true(json_object_get(g, "active")) ||
		    !json_is_true(json_object_get(g, "canManageAdmins")))
			continue;
		if (scope_all(scope))
			s->all = true;
		else if (scope && !strcmp(scope, "region"))
			scope_add(s->regions, json_string_value(json_object_get(g, "region")));
		else
			json_array_foreach(json_object_get(g, "schools"), j, school)
			    scope_add(s->schools, json_string_value(school));
	}
	/* A region brings its schools; a school brings its region. */
	json_array_foreach(schools, i, school)
	{
		const char *id = json_string_value(json_object_get(school, "id"));
		const char *region = json_string_value(json_object_get(school, "region"));
		if (region && scope_has(s->regions, region))
			scope_add(s->schools, id);
	}
	json_array_foreach(schools, i, school)
	{
		const char *id = json_string_value(json_object_get(school, "id"));
		const char *region = json_string_value(json_object_get(school, "region"));
		if (region && scope_has(s->schools, id))
			scope_add(s->regions, region);
	}
	return 0;
}

void
scope_free(struct scope *s)
{
	json_decref(s->schools);
	json_decref(s->regions);
	s->schools = s->regions = NULL;
}

int
scope_may_grant(struct console_req *cr, const json_t *grant, struct rb_error *err)
{
	const json_t *schools = console_schools(cr, err);

	if (schools == NULL)
		return -1;
	return dir_may_grant(&cr->ctx, cr->grants, grant, schools, err);
}

const char *
scope_school_name(struct console_req *cr, const char *id)
{
	struct rb_error err;
	const json_t *schools, *s;
	size_t i;

	error_clear(&err);
	schools = console_schools(cr, &err);
	json_array_foreach(
	    schools, i,
	    s) if (!strcasecmp(json_string_value(json_object_get(s, "id")),
	                       id)) return json_string_value(json_object_get(s, "name"));
	return id;
}

const char *
scope_region_name(struct console_req *cr, const char *id)
{
	struct rb_error err;
	const json_t *regions, *r;
	size_t i;

	error_clear(&err);
	regions = console_regions(cr, &err);
	json_array_foreach(
	    regions, i,
	    r) if (!strcasecmp(json_string_value(json_object_get(r, "id")),
	                       id)) return json_string_value(json_object_get(r, "name"));
	return id;
}

char *
scope_describe(struct console_req *cr, const json_t *grant)
{
	const char *scope = json_string_value(json_object_get(grant, "scope"));
	const json_t *schools = json_object_get(grant, "schools"), *s;
	struct strbuf b = {0};
	size_t i;

	if (scope && !strcmp(scope, "district")) {
		strbuf_add(&b, "All schools");
	} else if (scope && !strcmp(scope, "partnership")) {
		strbuf_add(&b, "Full partnership");
	} else if (scope && !strcmp(scope, "region")) {
		strbuf_add(&b, "Region: ");
		strbuf_add(
		    &b, scope_region_name(
		            cr, str_or(json_string_value(json_object_get(grant, "region")), "?")));
	} else {
		json_array_foreach(schools, i, s)
		{
			if (i)
				strbuf_add(&b, ", ");
			strbuf_add(&b, scope_school_name(cr, str_or(json_string_value(s), "?")));
		}
		if (json_array_size(schools) == 0)
			strbuf_add(&b, "No schools");
	}
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

const char *
scope_source_label(const char *source)
{
	static const struct {
		const char *name, *label;
	} labels[] = {
	    {"okta", "Okta"},           {"entra", "Entra ID"},        {"clever", "Clever"},
	    {"classlink", "ClassLink"}, {"in-product", "In-product"}, {"onelogin", "OneLogin"},
	    {"google", "Google"}};
	size_t i;

	for (i = 0; source && i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(source, labels[i].name))
			return labels[i].label;
	return source ? source : "?";
}
