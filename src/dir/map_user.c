/*
 * map_user.c — SCIM User ⇄ LDAP person entry (inetOrgPerson + rbPerson).
 *
 * Behaviour
 *   - DN uid=<userName>,ou=people,o=<tenant>: the RDN makes userName unique
 *     per tenant, case-insensitively and atomically (the directory refuses
 *     a second entry with the same RDN: 409 uniqueness).
 *   - inetOrgPerson requires cn and sn. cn is displayName, else
 *     name.formatted, else "givenName familyName", else userName. sn is
 *     name.familyName; when there is none, sn holds the userName and
 *     `rbSynthetic: sn` says so, and it is not read back as familyName.
 *   - Typed multi-valued attributes: value → the LDAP value, type →
 *     option x-type-<type>, primary → option x-primary. `display` of these
 *     has no home and is not stored (docs/mapping.md).
 *   - Addresses: each sub-attribute in its own LDAP attribute (street, l,
 *     st, postalCode, co, postalAddress) tagged with the address's type, so
 *     one address per type (a second address of the same type is 400).
 *   - Per source (option x-src-<source>): externalId, active, and the admin
 *     extension's permission, canManageAdmins, scope, schools, region.
 */
#include "dir/map.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/admin.h" /* dir_gentime_parse */
#include "dir/entry.h"
#include "engine/path.h"
#include "engine/schema.h"

#define DESC_MAX 256

/* Singular strings: SCIM (core top level, "name" sub-attribute, or extension) ⇄ LDAP. */
enum map_where { IN_CORE, IN_NAME, IN_ENTERPRISE };

static const struct {
	enum map_where where;
	const char *scim;
	const char *ldap;
} map_user_strings[] = {
    {IN_CORE, "displayName", "displayname"},
    {IN_CORE, "nickName", "rbnickname"},
    {IN_CORE, "profileUrl", "rbprofileurl"},
    {IN_CORE, "title", "title"},
    {IN_CORE, "userType", "employeetype"},
    {IN_CORE, "preferredLanguage", "preferredlanguage"},
    {IN_CORE, "locale", "rblocale"},
    {IN_CORE, "timezone", "rbtimezone"},
    {IN_NAME, "formatted", "rbnameformatted"},
    {IN_NAME, "givenName", "givenname"},
    {IN_NAME, "middleName", "rbmiddlename"},
    {IN_NAME, "honorificPrefix", "rbhonorificprefix"},
    {IN_NAME, "honorificSuffix", "rbhonorificsuffix"},
    {IN_ENTERPRISE, "employeeNumber", "employeenumber"},
    {IN_ENTERPRISE, "costCenter", "rbcostcenter"},
    {IN_ENTERPRISE, "organization", "o"},
    {IN_ENTERPRISE, "division", "ou"},
    {IN_ENTERPRISE, "department", "departmentnumber"},
};

/* Typed multi-valued complex attributes (value/type/primary). */
static const struct {
	const char *scim;
	const char *ldap;
} map_user_typed[] = {
    {"emails", "mail"},    {"phoneNumbers", "telephonenumber"}, {"ims", "rbim"},
    {"photos", "rbphoto"}, {"entitlements", "rbentitlement"},   {"roles", "rbrole"},
};

/* Address sub-attributes. */
static const struct {
	const char *scim;
	const char *ldap;
} map_user_address[] = {
    {"formatted", "postaladdress"},
    {"streetAddress", "street"},
    {"locality", "l"},
    {"region", "st"},
    {"postalCode", "postalcode"},
    {"country", "co"},
};

/* Per-source attributes: SCIM (core or admin extension) ⇄ LDAP base name. */
static const struct {
	bool admin; /* in the admin extension (else core) */
	const char *scim;
	const char *ldap;
	enum attr_type type;
	bool multi;
} map_user_sourced[] = {
    {false, "externalId", "rbexternalid", ATTR_STRING, false},
    {false, "active", "rbactive", ATTR_BOOLEAN, false},
    {true, "permission", "rbpermission", ATTR_STRING, false},
    {true, "canManageAdmins", "rbcanmanageadmins", ATTR_BOOLEAN, false},
    {true, "scope", "rbscope", ATTR_STRING, false},
    {true, "schools", "rbschoolgiven", ATTR_STRING, true},
    {true, "region", "rbregionref", ATTR_STRING, false},
};

/* Shared (not per-source) descriptions' base names that a User write owns. */
static const char *const map_user_shared[] = {
    "cn",
    "sn",
    "rbsynthetic",
    "manager",
    "displayname",
    "rbnickname",
    "rbprofileurl",
    "title",
    "employeetype",
    "preferredlanguage",
    "rblocale",
    "rbtimezone",
    "rbnameformatted",
    "givenname",
    "rbmiddlename",
    "rbhonorificprefix",
    "rbhonorificsuffix",
    "employeenumber",
    "rbcostcenter",
    "o",
    "ou",
    "departmentnumber",
    "mail",
    "telephonenumber",
    "rbim",
    "rbphoto",
    "rbentitlement",
    "rbrole",
    "postaladdress",
    "street",
    "l",
    "st",
    "postalcode",
    "co",
    /* the access summary (grants.h), recomputed with every write */
    "rbmanageall",
    "rbviewall",
    "rbmanageregion",
    "rbviewregion",
    "rbmanageschool",
    "rbviewschool",
    NULL,
};

/* Per-source descriptions a write owns besides map_user_sourced: resolved schools. */
static const char *const map_user_sourced_extra[] = {"rbschoolref", NULL};

bool
map_option_name(const char *s, char *out, size_t outlen)
{
	size_t i, n = strlen(s);

	if (n == 0 || n + 1 > outlen)
		return false;
	for (i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)s[i]);
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
			return false;
		out[i] = c;
	}
	out[n] = '\0';
	return true;
}

/* Case-insensitive member lookup, null as absent (the validator normalises names, this is
 * belt and braces). */
static json_t *
map_get(const json_t *obj, const char *key)
{
	json_t *v = path_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int
map_add_string(json_t *map, const char *desc, const json_t *v)
{
	char buf[64];

	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return 0;
		return entry_map_add(map, desc, json_string_value(v));
	}
	if (json_is_boolean(v))
		return entry_map_add(map, desc, json_is_true(v) ? "TRUE" : "FALSE");
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return entry_map_add(map, desc, buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return entry_map_add(map, desc, buf);
	}
	return 0;
}

/* desc = base [;x-primary] [;x-type-T], normalised (options sorted). */
static int
map_typed_desc(char *out, size_t outlen, const char *base, const json_t *elem, const char *what,
               struct rb_error *err)
{
	const json_t *type = map_get(elem, "type");
	const json_t *primary = map_get(elem, "primary");
	char opt[64];
	bool is_primary = json_is_true(primary);

	if (type != NULL && json_string_length(type) > 0) {
		if (!map_option_name(json_string_value(type), opt, sizeof(opt)))
			return error_set(
			    err, 400, SCIM_INVALID_VALUE,
			    "%s: type \"%s\" must be letters, digits and '-' (e.g. work, home)",
			    what, json_string_value(type));
		snprintf(out, outlen, "%s%s;x-type-%s", base, is_primary ? ";x-primary" : "", opt);
	} else {
		snprintf(out, outlen, "%s%s", base, is_primary ? ";x-primary" : "");
	}
	return 0;
}

json_t *
map_user_to_ldap(const json_t *user, const char *source, const char *manager_dn,
                 struct rb_error *err)
{
	const json_t *name = map_get(user, "name");
	const json_t *ent = map_get(user, SCHEMA_ENTERPRISE_USER);
	const json_t *admin = map_get(user, SCHEMA_ADMIN_USER);
	const json_t *v, *elem;
	const char *user_name = json_string_value(map_get(user, "userName"));
	const char *cn = NULL;
	char desc[DESC_MAX], cnbuf[512];
	json_t *map = json_object();
	size_t i, j;

	if (map == NULL || user_name == NULL) {
		error_set(err, 400, SCIM_INVALID_VALUE, "userName is required");
		goto fail;
	}
	entry_map_add(map, "objectclass", "inetOrgPerson");
	entry_map_add(map, "objectclass", "rbPerson");
	entry_map_add(map, "uid", user_name);

	for (i = 0; i < sizeof(map_user_strings) / sizeof(map_user_strings[0]); i++) {
		const json_t *holder = map_user_strings[i].where == IN_CORE   ? user
		                       : map_user_strings[i].where == IN_NAME ? name
		                                                              : ent;
		v = map_get(holder, map_user_strings[i].scim);
		if (v != NULL && map_add_string(map, map_user_strings[i].ldap, v) < 0)
			goto oom;
	}
	/* sn: familyName, or the userName marked synthetic. */
	v = map_get(name, "familyName");
	if (json_string_length(v) > 0) {
		entry_map_add(map, "sn", json_string_value(v));
	} else {
		entry_map_add(map, "sn", user_name);
		entry_map_add(map, "rbsynthetic", "sn");
	}
	/* cn: a display form of the name. */
	if (json_string_length(map_get(user, "displayName")) > 0)
		cn = json_string_value(map_get(user, "displayName"));
	else if (json_string_length(map_get(name, "formatted")) > 0)
		cn = json_string_value(map_get(name, "formatted"));
	else if (json_string_length(map_get(name, "givenName")) > 0 &&
	         json_string_length(map_get(name, "familyName")) > 0) {
		snprintf(cnbuf, sizeof(cnbuf), "%s %s",
		         json_string_value(map_get(name, "givenName")),
		         json_string_value(map_get(name, "familyName")));
		cn = cnbuf;
	} else
		cn = user_name;
	entry_map_add(map, "cn", cn);

	for (i = 0; i < sizeof(map_user_typed) / sizeof(map_user_typed[0]); i++) {
		json_array_foreach(map_get(user, map_user_typed[i].scim), j, elem)
		{
			v = map_get(elem, "value");
			if (v == NULL || !json_is_string(v) || json_string_length(v) == 0)
				continue;
			if (map_typed_desc(desc, sizeof(desc), map_user_typed[i].ldap, elem,
			                   map_user_typed[i].scim, err) < 0)
				goto fail;
			if (entry_map_add(map, desc, json_string_value(v)) < 0)
				goto oom;
		}
	}
	json_array_foreach(map_get(user, "addresses"), j, elem)
	{
		size_t k;
		char probe[DESC_MAX];
		if (map_typed_desc(desc, sizeof(desc), "", elem, "addresses", err) < 0)
			goto fail;
		for (k = 0; k < sizeof(map_user_address) / sizeof(map_user_address[0]); k++) {
			v = map_get(elem, map_user_address[k].scim);
			if (v == NULL || !json_is_string(v) || json_string_length(v) == 0)
				continue;
			snprintf(probe, sizeof(probe), "%s%s", map_user_address[k].ldap, desc);
			if (json_object_get(map, probe) != NULL) {
				error_set(err, 400, SCIM_INVALID_VALUE,
				          "addresses: at most one address of each type is stored");
				goto fail;
			}
			if (entry_map_add(map, probe, json_string_value(v)) < 0)
				goto oom;
		}
	}
	if (manager_dn != NULL)
		entry_map_add(map, "manager", manager_dn);

	for (i = 0; i < sizeof(map_user_sourced) / sizeof(map_user_sourced[0]); i++) {
		const json_t *holder = map_user_sourced[i].admin ? admin : user;
		v = map_get(holder, map_user_sourced[i].scim);
		if (v == NULL)
			continue;
		snprintf(desc, sizeof(desc), "%s;x-src-%s", map_user_sourced[i].ldap, source);
		if (json_is_array(v)) {
			json_array_foreach(v, j,
			                   elem) if (map_add_string(map, desc, elem) < 0) goto oom;
		} else if (map_add_string(map, desc, v) < 0) {
			goto oom;
		}
	}
	v = map_get(user, "password");
	if (json_string_length(v) > 0)
		entry_map_add(map, "userpassword", json_string_value(v));
	return map;
oom:
	error_set(err, 500, NULL, "out of memory");
fail:
	json_decref(map);
	return NULL;
}

bool
map_user_owned(const char *desc, void *arg)
{
	const char *source = arg;
	size_t base = entry_desc_base_len(desc), i;
	char opt[DESC_MAX];

	for (i = 0; map_user_shared[i] != NULL; i++)
		if (strlen(map_user_shared[i]) == base && !strncmp(desc, map_user_shared[i], base))
			return true;
	if (!entry_desc_option_value(desc, "x-src-", opt, sizeof(opt)) || strcmp(opt, source) != 0)
		return false;
	for (i = 0; i < sizeof(map_user_sourced) / sizeof(map_user_sourced[0]); i++)
		if (strlen(map_user_sourced[i].ldap) == base &&
		    !strncmp(desc, map_user_sourced[i].ldap, base))
			return true;
	for (i = 0; map_user_sourced_extra[i] != NULL; i++)
		if (strlen(map_user_sourced_extra[i]) == base &&
		    !strncmp(desc, map_user_sourced_extra[i], base))
			return true;
	return false;
}

int
map_ldap_time_to_scim(const char *in, char *out, size_t outlen)
{
	size_t n = in ? strlen(in) : 0, i;
	const char *frac = "";
	size_t fraclen = 0;

	if (n < 15 || in[n - 1] != 'Z')
		return -1;
	for (i = 0; i < 14; i++)
		if (!isdigit((unsigned char)in[i]))
			return -1;
	if (in[14] == '.' || in[14] == ',') {
		frac = in + 14;
		fraclen = n - 15;
	}
	snprintf(out, outlen, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%.*sZ", in, in + 4, in + 6, in + 8,
	         in + 10, in + 12, (int)fraclen, frac);
	if (fraclen > 0)
		out[19] = '.';
	return 0;
}

void
map_etag(const char *csn, char *out, size_t outlen)
{
	snprintf(out, outlen, "W/\"%s\"", csn ? csn : "0");
}

json_t *
map_meta_json(const char *rtype, const struct map_meta *meta)
{
	char created[64] = "", modified[64] = "", version[160], location[1024];
	json_t *m;

	map_ldap_time_to_scim(meta->created, created, sizeof(created));
	map_ldap_time_to_scim(meta->modified, modified, sizeof(modified));
	map_etag(meta->csn, version, sizeof(version));
	snprintf(location, sizeof(location), "%s/%s", meta->location_base, meta->id);
	m = json_pack("{s:s, s:s}", "resourceType", rtype, "location", location);
	if (m == NULL)
		return NULL;
	if (created[0])
		json_object_set_new(m, "created", json_string(created));
	if (modified[0])
		json_object_set_new(m, "lastModified", json_string(modified));
	json_object_set_new(m, "version", json_string(version));
	return m;
}

/* Value of a boolean stored as LDAP TRUE/FALSE. */
static json_t *
map_bool(const char *s)
{
	return json_boolean(s != NULL && !strcasecmp(s, "TRUE"));
}

/* Set key in obj to v (stolen) unless v is NULL. */
static void
map_set(json_t *obj, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(obj, key, v);
}

/* The typed values of LDAP base `base` as a SCIM multi-valued attribute, or NULL. */
static json_t *
map_typed_read(const json_t *map, const char *base)
{
	size_t blen = strlen(base), i;
	const char *desc;
	json_t *vals, *arr = NULL, *v;

	json_object_foreach((json_t *)map, desc, vals)
	{
		char type[64];
		if (entry_desc_base_len(desc) != blen || strncmp(desc, base, blen) != 0)
			continue;
		json_array_foreach(vals, i, v)
		{
			json_t *elem = json_pack("{s:O}", "value", v);
			if (entry_desc_option_value(desc, "x-type-", type, sizeof(type)))
				json_object_set_new(elem, "type", json_string(type));
			if (entry_desc_has_option(desc, "x-primary"))
				json_object_set_new(elem, "primary", json_true());
			if (arr == NULL)
				arr = json_array();
			json_array_append_new(arr, elem);
		}
	}
	return arr;
}

static json_t *
map_addresses_read(const json_t *map)
{
	json_t *arr = NULL, *byType = json_object();
	const char *desc, *key;
	json_t *vals, *addr;
	size_t k;

	json_object_foreach((json_t *)map, desc, vals)
	{
		size_t blen = entry_desc_base_len(desc);
		char type[64] = "";
		for (k = 0; k < sizeof(map_user_address) / sizeof(map_user_address[0]); k++) {
			const char *lb = map_user_address[k].ldap;
			if (strlen(lb) != blen || strncmp(desc, lb, blen) != 0)
				continue;
			entry_desc_option_value(desc, "x-type-", type, sizeof(type));
			addr = json_object_get(byType, type);
			if (addr == NULL) {
				addr = json_object();
				if (type[0])
					json_object_set_new(addr, "type", json_string(type));
				json_object_set_new(byType, type, addr);
			}
			if (entry_desc_has_option(desc, "x-primary"))
				json_object_set_new(addr, "primary", json_true());
			json_object_set(addr, map_user_address[k].scim, json_array_get(vals, 0));
		}
	}
	json_object_foreach(byType, key, addr)
	{
		if (arr == NULL)
			arr = json_array();
		json_array_append(arr, addr);
	}
	json_decref(byType);
	return arr;
}

json_t *
map_user_from_ldap(const json_t *map, const char *source, const struct map_meta *meta,
                   const char *manager_id, json_t *groups)
{
	json_t *user = json_object(), *name = json_object(), *ent = json_object(),
	       *admin = json_object(), *schemas = json_array();
	char desc[DESC_MAX];
	const char *s;
	size_t i;
	bool synthetic_sn = false;

	json_array_append_new(schemas, json_string(SCHEMA_CORE_USER));
	json_object_set_new(user, "schemas", schemas);
	json_object_set_new(user, "id", json_string(meta->id));
	snprintf(desc, sizeof(desc), "rbexternalid;x-src-%s", source);
	if ((s = entry_map_first(map, desc)) != NULL)
		json_object_set_new(user, "externalId", json_string(s));
	json_object_set_new(user, "userName", json_string(entry_map_first(map, "uid")));

	{
		json_t *syn = json_object_get(map, "rbsynthetic");
		for (i = 0; i < json_array_size(syn); i++)
			if (!strcmp(json_string_value(json_array_get(syn, i)), "sn"))
				synthetic_sn = true;
	}
	if (!synthetic_sn && (s = entry_map_first(map, "sn")) != NULL)
		json_object_set_new(name, "familyName", json_string(s));
	for (i = 0; i < sizeof(map_user_strings) / sizeof(map_user_strings[0]); i++) {
		json_t *holder = map_user_strings[i].where == IN_CORE   ? user
		                 : map_user_strings[i].where == IN_NAME ? name
		                                                        : ent;
		s = entry_map_first(map, map_user_strings[i].ldap);
		if (s != NULL)
			json_object_set_new(holder, map_user_strings[i].scim, json_string(s));
	}
	if (json_object_size(name) > 0)
		json_object_set(user, "name", name);
	for (i = 0; i < sizeof(map_user_typed) / sizeof(map_user_typed[0]); i++)
		map_set(user, map_user_typed[i].scim, map_typed_read(map, map_user_typed[i].ldap));
	map_set(user, "addresses", map_addresses_read(map));
	if (groups != NULL && json_array_size(groups) > 0)
		json_object_set(user, "groups", groups);
	json_decref(groups);

	/* active: this source's own flag; else true when it holds a grant (a grant with
	 * no flag is active); else whether any source's is active (or none set). */
	snprintf(desc, sizeof(desc), "rbactive;x-src-%s", source);
	if ((s = entry_map_first(map, desc)) != NULL) {
		json_object_set_new(user, "active", map_bool(s));
	} else if (snprintf(desc, sizeof(desc), "rbpermission;x-src-%s", source) > 0 &&
	           entry_map_first(map, desc) != NULL) {
		json_object_set_new(user, "active", json_true());
	} else {
		const char *d;
		json_t *vals;
		bool any = false, seen = false;
		json_object_foreach((json_t *)map, d, vals)
		{
			if (entry_desc_base_len(d) != 8 || strncmp(d, "rbactive", 8) != 0)
				continue;
			seen = true;
			for (i = 0; i < json_array_size(vals); i++)
				if (!strcasecmp(json_string_value(json_array_get(vals, i)), "TRUE"))
					any = true;
		}
		json_object_set_new(user, "active", json_boolean(any || !seen));
	}

	if (manager_id != NULL)
		json_object_set_new(ent, "manager", json_pack("{s:s}", "value", manager_id));
	for (i = 0; i < sizeof(map_user_sourced) / sizeof(map_user_sourced[0]); i++) {
		json_t *vals;
		if (!map_user_sourced[i].admin)
			continue;
		snprintf(desc, sizeof(desc), "%s;x-src-%s", map_user_sourced[i].ldap, source);
		vals = json_object_get(map, desc);
		if (json_array_size(vals) == 0 &&
		    !strcmp(map_user_sourced[i].ldap, "rbschoolgiven")) {
			/* written by an LDAP tool: only the resolved ids are there */
			snprintf(desc, sizeof(desc), "rbschoolref;x-src-%s", source);
			vals = json_object_get(map, desc);
		}
		if (json_array_size(vals) == 0)
			continue;
		if (map_user_sourced[i].multi)
			json_object_set(admin, map_user_sourced[i].scim, vals);
		else if (map_user_sourced[i].type == ATTR_BOOLEAN)
			json_object_set_new(admin, map_user_sourced[i].scim,
			                    map_bool(json_string_value(json_array_get(vals, 0))));
		else
			json_object_set(admin, map_user_sourced[i].scim, json_array_get(vals, 0));
	}
	/*
	 * The invitation (SPEC §2.3): the stored state, and "expired" for an
	 * invitation whose link ran out (read, never stored: invite.c). A
	 * delivery the outbox could not make yet (rbInviteError, being retried)
	 * reads inviteDeliveryFailed: true beside it.
	 */
	if ((s = entry_map_first(map, "rbinvitestatus")) != NULL) {
		time_t exp;
		bool pending = strcasecmp(s, "active") != 0;
		if (!strcasecmp(s, "invited") &&
		    dir_gentime_parse(entry_map_first(map, "rbinviteexpires"), &exp) == 0 &&
		    exp <= time(NULL))
			s = "expired";
		json_object_set_new(admin, "inviteStatus", json_string(s));
		if (pending && entry_map_first(map, "rbinviteerror") != NULL)
			json_object_set_new(admin, "inviteDeliveryFailed", json_true());
	}
	if (json_object_size(ent) > 0) {
		json_array_append_new(schemas, json_string(SCHEMA_ENTERPRISE_USER));
		json_object_set(user, SCHEMA_ENTERPRISE_USER, ent);
	}
	if (json_object_size(admin) > 0) {
		json_array_append_new(schemas, json_string(SCHEMA_ADMIN_USER));
		json_object_set(user, SCHEMA_ADMIN_USER, admin);
	}
	json_object_set_new(user, "meta", map_meta_json("User", meta));
	json_decref(name);
	json_decref(ent);
	json_decref(admin);
	return user;
}
