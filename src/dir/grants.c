/* grants.c — grants, the access summary, no escalation; see grants.h. */
#include "dir/grants.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"

#define SRC_MAX 128

static bool
grants_true(const char *s, bool dflt)
{
	return s == NULL ? dflt : !strcasecmp(s, "TRUE");
}

/* One grant object. `suffix` is "" (group, untagged) or ";x-src-<source>". */
static json_t *
grants_one(const json_t *map, const char *suffix, const char *source, const char *origin)
{
	char desc[SRC_MAX + 32];
	const char *scope, *region;
	json_t *g, *schools;

	snprintf(desc, sizeof(desc), "rbpermission%s", suffix);
	g = json_pack("{s:s, s:s, s:s}", "source", source, "permission", entry_map_first(map, desc),
	              "origin", origin);
	if (g == NULL)
		return NULL;
	snprintf(desc, sizeof(desc), "rbscope%s", suffix);
	scope = entry_map_first(map, desc);
	json_object_set_new(g, "scope", json_string(scope ? scope : "school"));
	snprintf(desc, sizeof(desc), "rbschoolref%s", suffix);
	schools = json_object_get(map, desc);
	json_object_set_new(g, "schools", schools ? json_deep_copy(schools) : json_array());
	snprintf(desc, sizeof(desc), "rbregionref%s", suffix);
	region = entry_map_first(map, desc);
	if (region != NULL)
		json_object_set_new(g, "region", json_string(region));
	snprintf(desc, sizeof(desc), "rbcanmanageadmins%s", suffix);
	json_object_set_new(g, "canManageAdmins",
	                    json_boolean(grants_true(entry_map_first(map, desc), false)));
	snprintf(desc, sizeof(desc), "rbactive%s", suffix);
	json_object_set_new(g, "active",
	                    json_boolean(grants_true(entry_map_first(map, desc), true)));
	return g;
}

json_t *
grants_list(const json_t *person, const json_t *groups)
{
	json_t *out = json_array(), *vals, *gm;
	const char *desc;
	size_t i;

	if (out == NULL)
		return NULL;
	json_object_foreach((json_t *)person, desc, vals)
	{
		char src[SRC_MAX], suffix[SRC_MAX + 16];
		if (entry_desc_base_len(desc) != 12 || strncmp(desc, "rbpermission", 12) != 0 ||
		    !entry_desc_option_value(desc, "x-src-", src, sizeof(src)))
			continue;
		snprintf(suffix, sizeof(suffix), ";x-src-%s", src);
		json_array_append_new(out, grants_one(person, suffix, src, "direct"));
	}
	json_array_foreach(groups, i, gm)
	{
		const char *id = entry_map_first(gm, "entryuuid");
		const char *src = grants_owner(gm);
		char flag[SRC_MAX + 16];
		json_t *g;
		if (entry_map_first(gm, "rbpermission") == NULL || id == NULL)
			continue; /* a plain group confers nothing */
		g = grants_one(gm, "", src ? src : "", id);
		/* The owner's active=false on the person suspends its role-group grants too. */
		snprintf(flag, sizeof(flag), "rbactive;x-src-%s", src ? src : "");
		if (g != NULL && src != NULL && !grants_true(entry_map_first(person, flag), true))
			json_object_set_new(g, "active", json_false());
		json_array_append_new(out, g);
	}
	return out;
}

const char *
grants_owner(const json_t *map)
{
	return entry_map_first(map, "rbsource");
}

static const char *const grants_summary_names[] = {
    "rbmanageall",  "rbviewall", "rbmanageregion", "rbviewregion", "rbmanageschool",
    "rbviewschool", NULL,
};

bool
grants_summary_desc(const char *desc)
{
	size_t i;

	for (i = 0; grants_summary_names[i] != NULL; i++)
		if (!strcmp(desc, grants_summary_names[i]))
			return true;
	return false;
}

static bool
grants_all_scope(const char *scope)
{
	return scope != NULL && (!strcmp(scope, "district") || !strcmp(scope, "partnership"));
}

json_t *
grants_summary(const json_t *grants)
{
	json_t *map = json_object(), *g;
	size_t i, j;

	json_array_foreach(grants, i, g)
	{
		const char *scope = json_string_value(json_object_get(g, "scope"));
		const char *perm = json_string_value(json_object_get(g, "permission"));
		const char *region = json_string_value(json_object_get(g, "region"));
		bool manage = perm != NULL && !strcmp(perm, "manage");
		json_t *schools = json_object_get(g, "schools");

		if (!json_is_true(json_object_get(g, "active")) || perm == NULL)
			continue;
		if (grants_all_scope(scope)) {
			entry_map_add(map, "rbviewall", "TRUE");
			if (manage)
				entry_map_add(map, "rbmanageall", "TRUE");
		} else if (scope != NULL && !strcmp(scope, "region")) {
			if (region == NULL)
				continue;
			entry_map_add(map, "rbviewregion", region);
			if (manage)
				entry_map_add(map, "rbmanageregion", region);
		} else {
			for (j = 0; j < json_array_size(schools); j++) {
				const char *s = json_string_value(json_array_get(schools, j));
				entry_map_add(map, "rbviewschool", s);
				if (manage)
					entry_map_add(map, "rbmanageschool", s);
			}
		}
	}
	return map;
}

bool
grants_bind_locked(const json_t *person, const json_t *grants)
{
	const char *desc;
	json_t *g, *vals;
	bool seen = false;
	size_t i;

	json_array_foreach(grants, i, g)
	{
		if (json_is_true(json_object_get(g, "active")) &&
		    json_string_value(json_object_get(g, "permission")) != NULL)
			return false; /* an active grant vouches for the person */
	}
	json_object_foreach((json_t *)person, desc, vals)
	{
		char src[SRC_MAX];
		if (entry_desc_base_len(desc) != 8 || strncmp(desc, "rbactive", 8) != 0 ||
		    !entry_desc_option_value(desc, "x-src-", src, sizeof(src)))
			continue;
		seen = true;
		for (i = 0; i < json_array_size(vals); i++)
			if (grants_true(json_string_value(json_array_get(vals, i)), false))
				return false; /* a source holds the person active */
	}
	return seen; /* no source ever set active: active, as SCIM reads it */
}

json_t *
grants_access(const json_t *person, const json_t *grants)
{
	json_t *map = grants_summary(grants);

	if (map != NULL && grants_bind_locked(person, grants) &&
	    entry_map_add(map, "rbbindlocked", "TRUE") < 0) {
		json_decref(map);
		return NULL;
	}
	return map;
}

bool
grants_access_desc(const char *desc)
{
	return grants_summary_desc(desc) || !strcmp(desc, "rbbindlocked");
}

/* Does actor grant `a` cover school `uuid` (in `region`, may be NULL)? */
static bool
grants_covers_school(const json_t *a, const char *uuid, const char *region)
{
	const char *scope = json_string_value(json_object_get(a, "scope"));
	const char *areg = json_string_value(json_object_get(a, "region"));
	json_t *schools = json_object_get(a, "schools");
	size_t i;

	if (grants_all_scope(scope))
		return true;
	if (scope != NULL && !strcmp(scope, "region"))
		return areg != NULL && region != NULL && !strcmp(areg, region);
	for (i = 0; i < json_array_size(schools); i++)
		if (!strcasecmp(json_string_value(json_array_get(schools, i)), uuid))
			return true;
	return false;
}

/* Is some active canManageAdmins grant of the actor (manage if need_manage) accepted by ok()? */
static bool
grants_actor_has(const json_t *actor, bool need_manage,
                 bool (*ok)(const json_t *a, const void *arg), const void *arg)
{
	json_t *a;
	size_t i;

	json_array_foreach(actor, i, a)
	{
		const char *perm = json_string_value(json_object_get(a, "permission"));
		if (!json_is_true(json_object_get(a, "active")) ||
		    !json_is_true(json_object_get(a, "canManageAdmins")))
			continue;
		if (need_manage && (perm == NULL || strcmp(perm, "manage") != 0))
			continue;
		if (ok(a, arg))
			return true;
	}
	return false;
}

static bool
grants_ok_any(const json_t *a, const void *arg)
{
	(void)a;
	(void)arg;
	return true;
}

static bool
grants_ok_all(const json_t *a, const void *arg)
{
	(void)arg;
	return grants_all_scope(json_string_value(json_object_get(a, "scope")));
}

static bool
grants_ok_region(const json_t *a, const void *arg)
{
	const char *scope = json_string_value(json_object_get(a, "scope"));
	const char *areg = json_string_value(json_object_get(a, "region"));

	if (grants_all_scope(scope))
		return true;
	return scope != NULL && !strcmp(scope, "region") && areg != NULL && !strcmp(areg, arg);
}

struct grants_school {
	const char *uuid;
	const char *region;
};

static bool
grants_ok_school(const json_t *a, const void *arg)
{
	const struct grants_school *s = arg;

	return grants_covers_school(a, s->uuid, s->region);
}

int
grants_may_grant(const json_t *actor, const json_t *wanted, const json_t *school_regions,
                 struct rb_error *err)
{
	const char *scope = json_string_value(json_object_get(wanted, "scope"));
	const char *perm = json_string_value(json_object_get(wanted, "permission"));
	const char *region = json_string_value(json_object_get(wanted, "region"));
	bool manage = perm != NULL && !strcmp(perm, "manage");
	json_t *schools = json_object_get(wanted, "schools");
	size_t i;

	if (!grants_actor_has(actor, false, grants_ok_any, NULL))
		return error_set(
		    err, 403, NULL,
		    "only administrators who can manage administrators may grant access");
	if (grants_all_scope(scope)) {
		if (!grants_actor_has(actor, manage, grants_ok_all, NULL))
			return error_set(err, 403, NULL,
			                 "only an administrator of all schools (with %scan manage "
			                 "administrators) may grant access to all schools",
			                 manage ? "manage and " : "");
		return 0;
	}
	if (scope != NULL && !strcmp(scope, "region")) {
		if (region == NULL || !grants_actor_has(actor, manage, grants_ok_region, region))
			return error_set(err, 403, NULL, "you may not grant %s access to region %s",
			                 manage ? "manage" : "view", region ? region : "(none)");
		return 0;
	}
	for (i = 0; i < json_array_size(schools); i++) {
		struct grants_school s;
		s.uuid = json_string_value(json_array_get(schools, i));
		s.region = json_string_value(json_object_get(school_regions, s.uuid));
		if (s.uuid == NULL || !grants_actor_has(actor, manage, grants_ok_school, &s))
			return error_set(err, 403, NULL, "you may not grant %s access to school %s",
			                 manage ? "manage" : "view", s.uuid ? s.uuid : "(none)");
	}
	return 0;
}
