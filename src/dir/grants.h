/*
 * grants.h — administrator grants (SPEC §1): reading them from entries,
 * the effective-access summary the directory serves to district tools, and
 * the no-escalation rule. Pure functions over attribute maps (entry.h): no
 * I/O, unit-tested without a server.
 *
 * Glossary
 *   grant     (source, scope, schools | region, permission, canManageAdmins,
 *             active, origin). Direct grants live on the person under
 *             ;x-src-<source>; a role group's grant lives on the group
 *             (untagged) and is held by each member (origin = group id).
 *   summary   the union of a person's ACTIVE grants, stored on the person
 *             by the bridge so each SPEC §3 question is one LDAP search:
 *             rbManageAll / rbViewAll (district or partnership scope),
 *             rbManageRegion / rbViewRegion, rbManageSchool / rbViewSchool.
 *             "view" attributes include every grant (any access); "manage"
 *             only manage grants (manage beats view).
 *   bind lock rbBindLocked: TRUE on a person nobody vouches for: no active
 *             grant (direct or via a role group) and no source's
 *             rbActive;x-src-<source> is TRUE, while at least one source
 *             has set active (rbActive;x-src-* present). A person on whom
 *             no source ever set active reads active=true over SCIM and
 *             is not locked. slapd's ACL denies `auth` on userPassword of
 *             a locked entry, so its bind fails with invalidCredentials.
 */
#ifndef RB_GRANTS_H
#define RB_GRANTS_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

/*
 * grants_list — every grant of a person as SCIM `grants` values: the
 * direct grants found in `person` (an entry map) and one per role group in
 * `groups` (borrowed array of group entry maps that the person is a member
 * of; plain groups are skipped). A role group's grant has the group's
 * owner (grants_owner) as its source and is inactive when the group is
 * (rbActive FALSE) or when that source suspended the person
 * (rbActive;x-src-<owner>: FALSE in `person`). Returns a NEW array of objects
 * {source, scope, schools, region, permission, canManageAdmins, active,
 * origin} (schools as entryUUIDs), possibly empty.
 */
json_t *grants_list(const json_t *person, const json_t *groups);

/*
 * grants_owner — the source that owns a group or school (an entry map):
 * its rbSource, which on a group or school holds exactly one value (the
 * creator, or whom an operator transferred it to). Borrowed from `map`, or
 * NULL when the entry names none. A role group's grant is labelled with
 * this source, and that source's active=false on a member suspends it.
 */
const char *grants_owner(const json_t *map);

/*
 * grants_summary — the summary descriptions (rbmanageall, rbviewall,
 * rbmanageregion, rbviewregion, rbmanageschool, rbviewschool) of the
 * active grants in `grants` (from grants_list), as a NEW attribute map
 * holding only the non-empty ones.
 */
json_t *grants_summary(const json_t *grants);

/* grants_summary_desc — true for the summary descriptions grants_summary writes. */
bool grants_summary_desc(const char *desc);

/*
 * grants_bind_locked — the bind-lock rule (see the glossary) for `person`
 * (an entry map: its rbactive;x-src-* descriptions are read) holding
 * `grants` (grants_list of the same person, role groups included).
 */
bool grants_bind_locked(const json_t *person, const json_t *grants);

/*
 * grants_access — what the bridge derives from a person's grants and
 * writes in the same modify as each grant change: grants_summary(grants)
 * plus rbbindlocked: TRUE when grants_bind_locked(person, grants). A NEW
 * attribute map holding only the non-empty descriptions (absent = remove).
 */
json_t *grants_access(const json_t *person, const json_t *grants);

/* grants_access_desc — true for the descriptions grants_access writes. */
bool grants_access_desc(const char *desc);

/*
 * grants_may_grant — the no-escalation rule (SPEC §1) for an in-product
 * actor holding `actor` (grants_list of the actor) who wants to give
 * `wanted` (one grant object) in a tenant whose schools' regions are
 * `school_regions` ({uuid: region|null}; borrowed): the actor must hold
 * canManageAdmins on an active grant covering every school the wanted
 * grant covers; `manage` needs the actor's manage there; a district- or
 * partnership-wide grant needs the actor's own all-schools grant (a
 * region-wide one the actor's all-schools or that region's); only holders
 * of canManageAdmins may grant canManageAdmins. Returns 0, or -1 with *err
 * 403 saying which part is beyond the actor's own rights.
 */
int grants_may_grant(const json_t *actor, const json_t *wanted, const json_t *school_regions,
                     struct rb_error *err);

#endif /* RB_GRANTS_H */
