/*
 * map.h — SCIM resources ⇄ LDAP attribute maps (see entry.h), one file per
 * resource type. The full table of which SCIM attribute lives in which LDAP
 * attribute is docs/mapping.md; the code tables are in map_user.c,
 * map_group.c and map_school.c.
 *
 * Per-source data (externalId, active, the admin extension's flat
 * attributes) is stored under LDAP attribute options `x-src-<source>`
 * (RFC 4512 §2.5), so each source reads back and writes only its own.
 * Typed multi-valued attributes (emails, phoneNumbers, …) carry their SCIM
 * `type` as option `x-type-<type>` and `primary` as option `x-primary`.
 */
#ifndef RB_MAP_H
#define RB_MAP_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

/* What a read needs besides the entry's own attributes. */
struct map_meta {
	const char *id;            /* entryUUID */
	const char *created;       /* createTimestamp (LDAP GeneralizedTime) */
	const char *modified;      /* modifyTimestamp */
	const char *csn;           /* entryCSN → meta.version */
	const char *location_base; /* e.g. http://h/scim/v2/Users */
};

/*
 * map_user_to_ldap — the attribute map (owned descriptions only) that
 * stores SCIM User `user` (validated, normalised form) for source `source`.
 * Includes uid, cn, sn, objectClass, and userPassword only if the resource
 * carries a password. Manager references are NOT resolved here: the
 * caller passes `manager_dn` (or NULL). Returns a NEW map, or NULL with
 * *err (e.g. 400 invalidValue for a type that cannot be an option).
 */
json_t *map_user_to_ldap(const json_t *user, const char *source, const char *manager_dn,
                         struct rb_error *err);

/*
 * map_user_owned — true for descriptions map_user_to_ldap writes for
 * `source` (a `const char *` passed as arg): the shared core attributes
 * and the x-src-<source> ones. Never uid (renames are modrdn), never
 * userPassword (write-only), never another source's.
 */
bool map_user_owned(const char *desc, void *source);

/*
 * map_user_from_ldap — the SCIM User (full, before projection) for the
 * calling `source`, from an entry's map. `manager_id` is the manager's
 * entryUUID if the caller resolved it, `groups` a NEW-reference-stolen
 * array for the `groups` attribute (or NULL). Returns a NEW resource.
 */
json_t *map_user_from_ldap(const json_t *map, const char *source, const struct map_meta *meta,
                           const char *manager_id, json_t *groups);

/*
 * map_ldap_time_to_scim — "20261128134501Z" or "20261128134501.123456Z"
 * → "2026-11-28T13:45:01Z" (or with fraction). Writes into out (size
 * outlen); returns 0 or -1 when `in` is not a GeneralizedTime.
 */
int map_ldap_time_to_scim(const char *in, char *out, size_t outlen);

/* map_etag — W/"<csn>" into out (size outlen). */
void map_etag(const char *csn, char *out, size_t outlen);

/* map_option_name — true if `s` can be an LDAP option suffix ([a-z0-9-]+, lowered). */
bool map_option_name(const char *s, char *out, size_t outlen);

/* map_meta_json — the meta object for resourceType `rtype`. NEW reference. */
json_t *map_meta_json(const char *rtype, const struct map_meta *meta);

#endif /* RB_MAP_H */
