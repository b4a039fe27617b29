/*
 * dir_int.h — what the files of the directory layer share (not for other
 * layers). See dir.h for the module map.
 */
#ifndef RB_DIR_INT_H
#define RB_DIR_INT_H

#include <jansson.h>
#include <ldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <time.h>

#include "dir/dir.h"
#include "dir/map.h"
#include "lib/error.h"

struct guard_lease; /* guard.c */

struct dir {
	const struct config *cfg;
	struct pool *pool;
	/* the repair thread (access.c): started by dir_repair_start, stopped by dir_destroy;
	 * it works through repair_dir, over a one-connection pool of its own (never a SCIM slot) */
	struct dir *repair_dir;
	json_t *repair_seen; /* the repair thread's memory between rounds: merge.c's checkpoints */
	pthread_t repair;
	bool repair_started, repair_stop;
	pthread_mutex_t repair_lock;
	pthread_cond_t repair_wake;
	struct merge *merge; /* merge.c: each provider's log reader (repair thread only) */
	/* guard.c: the guard's reservations (leases) this bridge holds, one per
	 * tenant and window; an entry lives until dir_destroy (its address is
	 * kept by the operations that spent from it). Under guard_lock. */
	SLIST_HEAD(, guard_lease) guard_leases;
	pthread_mutex_t guard_lock;
	/* guard.c: held by the one request of this bridge that opens a window (counts the
	 * source's people for its base); the others wait, then find the window open.
	 * Taken before guard_lock, never after. */
	pthread_mutex_t guard_open_lock;
	/* dir_page.c: the totals of unfiltered lists, each with the directory's
	 * change marker read before it was counted (owned; under totals_lock) */
	LIST_HEAD(dir_totals, dir_total) totals;
	int ntotals;
	bool no_marker_said; /* the directory has no contextCSN: logged once */
	/* the lists being counted now (one request counts a list at a time; the
	 * others wait on totals_done for its total) */
	LIST_HEAD(dir_countings, dir_counting) counting;
	pthread_mutex_t totals_lock;
	pthread_cond_t totals_done;
	/* grouptab.c: the groups kept in the daemon (NULL: read per request);
	 * owned unless groups_borrowed (the repair thread's dir uses its parent's) */
	struct grouptab *groups;
	bool groups_borrowed;
};

/* One SCIM operation's hold on a directory connection. */
struct dir_op {
	const struct dir_ctx *ctx;
	struct pool_conn *conn;
	bool broken;     /* the connection failed: drop it on release */
	bool permissive; /* dir_write: send Permissive Modify (adding a present value,
	                    deleting an absent one, are not errors) */
	int last_rc; /* the LDAP result code of the last write (dir_write, dir_delete_dn, …) */
	char *tenant_dn; /* owned: o=<tenant>,<suffix> */
	int guard;       /* guard_check's decision for this operation: 0 not yet, 1 apply,
	                    2 held (a retried attempt does not count twice) */
	struct guard_lease *guard_lease; /* borrowed: the reservation this operation's
	                    removal was counted from (guard_refund gives it back) */
	time_t guard_lease_at;           /* … in its window that started then */
	json_t *groups; /* owned: groups read during this operation, {dn: entry map}
	                   (users.c: a PATCH reads the person's groups once, not three times) */
};

/*
 * DIR_CLASS("rbPerson") — the objectClass term of a search whose scope or
 * other terms already select the entries (one level under the type's own
 * ou, an AND with an indexed term): "(objectClass:=rbPerson)". An
 * extensible match with no rule uses the attribute's equality rule (RFC
 * 4511 §4.5.1.7.7), so it matches exactly what (objectClass=rbPerson)
 * matches; but back-mdb reads no index for it. back-mdb computes the
 * candidates of every term of an AND (no early stop once they are few), so
 * the plain form copied objectClass's index — every person of the
 * directory, up to 64k ids — on every search: 108,000 of the 260,000 slapd
 * instructions of a person search at 10,000 people (callgrind,
 * docs/schema.md, "Cost per request"). Not for a subtree search where the
 * class is the only selective term: there the index is what selects.
 */
#define DIR_CLASS(cls) "(objectClass:=" cls ")"

/*
 * Every lookup of a person: rbPerson entries that are not retained (a
 * deprovisioned person kept disabled, retain.c, carries rbDisabledAt and is
 * invisible to SCIM, the console and group writes). A NOT reads no index
 * either; the class as DIR_CLASS.
 */
#define DIR_PERSON_FILTER "(&(!(rbDisabledAt=*))" DIR_CLASS("rbPerson") ")"

/*
 * dir_map_is_person — what DIR_PERSON_FILTER selects, tested on an entry
 * already read (a borrowed map of entry_to_map that holds the entry's user
 * attributes, i.e. was read with "*"): objectClass rbPerson (any case) and
 * no rbDisabledAt (under any option). A search that names one entry by a
 * unique attribute (an entryUUID, a userName) leaves the two terms out of
 * its filter and asks this instead: slapd then parses, prints (its filter
 * text) and tests one term, not four — 20,000 of the 107,000 instructions
 * of a GET by id (callgrind, docs/schema.md, "Cost per request").
 */
bool dir_map_is_person(const json_t *map);

/* Operational attributes read with every entry. */
#define DIR_OPERATIONAL "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp"

/*
 * Names that become an RDN (userName → uid, group displayName → cn, school
 * name → cn, region ids): slapd (back-mdb keeps each entry's RDN twice,
 * as given and normalized, in one index record of at most 511 bytes)
 * answers `other` (80) to an RDN of about 245 bytes. The bridge refuses
 * longer names itself, before any LDAP operation: at most
 * DIR_RDN_VALUE_MAX bytes of UTF-8, and at most DIR_RDN_MAX bytes once
 * escaped as `attr=value` (RFC 4514). docs/mapping.md "Name lengths".
 */
#define DIR_RDN_VALUE_MAX 200
#define DIR_RDN_MAX 240

/*
 * dir_rdn — the escaped RDN `attr=value` for a name the client sent as
 * SCIM attribute `scim_name` (for the message). Returns a NEW string, or
 * NULL with *err: 400 invalidValue when the name is empty or too long for
 * the directory, 500 when out of memory.
 */
char *dir_rdn(const char *attr, const char *value, const char *scim_name, struct rb_error *err);

/*
 * dir_assertion_filter — the LDAP assertion filter (RFC 4528) for a
 * precondition text (dir_precondition: If-Match, optionally '\n' and
 * If-None-Match) on the entry `dn` (scoped to it, see dir.c); values that
 * are not our ETags are dropped. NEW string,
 * or NULL when out of memory.
 */
char *dir_assertion_filter(const char *pre, const char *dn);

/* dir_op_begin — take a connection for ctx's tenant. 0, or -1 with *err (503). */
int dir_op_begin(struct dir_op *op, const struct dir_ctx *ctx, struct rb_error *err);
/* dir_op_end — give the connection back and free what op owns. */
void dir_op_end(struct dir_op *op);

/*
 * dir_parent_dn — the parent of `dn` ("" for a one-RDN DN), from
 * ldap_str2dn/ldap_dn2str. NEW malloc'd string, or NULL (not a DN).
 */
char *dir_parent_dn(const char *dn);

/* dir_ou_dn — "ou=<ou>,o=<tenant>,<suffix>". NEW malloc'd string or NULL. */
char *dir_ou_dn(const struct dir_op *op, const char *ou);

/*
 * ---- schools.c: school and region lookups (for grants) ----
 *
 * dir_schools_resolve — `refs` (borrowed array of strings, each a school
 * id (entryUUID) or externalId of this tenant) → a NEW array of the
 * schools' entryUUIDs, same order, de-duplicated; NULL with *err 400
 * invalidValue naming the first unknown reference. One LDAP search.
 */
json_t *dir_schools_resolve(struct dir_op *op, const json_t *refs, struct rb_error *err);
/*
 * dir_region_check — 0 if `region` (borrowed) is a region of this tenant
 * and the tenant is a partnership; else -1 with *err 400 invalidValue.
 */
int dir_region_check(struct dir_op *op, const char *region, struct rb_error *err);
/* dir_tenant_kind — "district" or "partnership" (rbTenantKind of o=<tenant>) into out. 0 or -1. */
int dir_tenant_kind(struct dir_op *op, char *out, size_t outlen, struct rb_error *err);
/*
 * dir_schools_regions — for `uuids` (borrowed array of school entryUUIDs), a
 * NEW object {uuid: region id or null} (null also for an unknown school).
 * One LDAP search. NULL with *err.
 */
json_t *dir_schools_regions(struct dir_op *op, const json_t *uuids, struct rb_error *err);

/*
 * dir_search — ldap_search_ext_s with the operation timeout; retried once
 * on a fresh connection when the connection was lost (reads are safe to
 * repeat). *res is a NEW result (ldap_msgfree) on success. A size limit
 * hit is 400 tooMany. Returns 0 or -1 with *err.
 */
int dir_search(struct dir_op *op, const char *base, int scope, const char *filter, char **attrs,
               LDAPControl **sctrls, int sizelimit, LDAPMessage **res, struct rb_error *err);
/*
 * dir_search_first — dir_search for the first `n` (> 0) matching entries in
 * the directory's own order (back-mdb, one level, no indexed term: the
 * parent's children as its dn2id index holds them, by RDN length then
 * bytes): slapd stops at the size limit, which
 * is not an error here. *res is a NEW result (possibly holding fewer than
 * n entries). Returns 0 or -1 with *err.
 */
int dir_search_first(struct dir_op *op, const char *base, int scope, const char *filter,
                     char **attrs, int n, LDAPMessage **res, struct rb_error *err);

/*
 * dir_find_by_id — the entry with entryUUID `id` among the children of
 * `base` that match `objfilter`, as a NEW attribute map (see entry.h),
 * or NULL with *err (404 if there is none).
 */
json_t *dir_find_by_id(struct dir_op *op, const char *base, const char *objfilter, const char *id,
                       char **attrs, struct rb_error *err);

/*
 * dir_find_by_former_id — the entry among the children of `base` matching
 * `objfilter` that carries `id` as rbFormerId: the id a create was answered
 * before the repair merged it into another provider's add of the same
 * userName (merge.c). For a lookup by id that found no entryUUID. NEW map
 * (its entryUUID is the surviving id), or NULL with *err (404 if none).
 */
json_t *dir_find_by_former_id(struct dir_op *op, const char *base, const char *objfilter,
                              const char *id, char **attrs, struct rb_error *err);

/*
 * dir_find_person_by_id — dir_find_by_id for DIR_PERSON_FILTER with
 * `attrs` that include "*": one search for (entryUUID=id) under `base`
 * (one level), the entry then tested with dir_map_is_person (a non-person
 * or retained entry is 404, as if the filter had left it out); on a miss,
 * the person carrying `id` as rbFormerId (dir_find_by_former_id). NEW map
 * (its entryUUID is the person's own id) or NULL with *err.
 */
json_t *dir_find_person_by_id(struct dir_op *op, const char *base, const char *id, char **attrs,
                              struct rb_error *err);

/*
 * dir_write — add (mods with LDAP_MOD_ADD, `dn` new), modify, with the
 * post-read control (RFC 4527) asking for `read_attrs`, and with an
 * assertion (RFC 4528) when `if_match` is given: a dir_precondition text
 * (If-Match and/or If-None-Match), or one bare entryCSN (the version a
 * derived value was computed from: the no-lost-update rule, access.c),
 * scoped to `dn` (overlays' internal writes to other entries are not
 * refused). Writes are never retried here. Returns a NEW attribute map of
 * the entry after the write, or NULL with *err (412 on assertion failure,
 * 409 uniqueness on an existing DN, …; every code through ldaperr.c's
 * table).
 */
json_t *dir_write(struct dir_op *op, bool add, const char *dn, LDAPMod **mods, const char *if_match,
                  char **read_attrs, struct rb_error *err);

/*
 * dir_add_entry — add the entry `<rdn_attr>=<map's rdn_attr value>,<base>`
 * (the RDN from dir_rdn: a name too long for the directory is 400 naming
 * SCIM attribute `scim_name`) holding every description of `map`,
 * post-reading `read_attrs`. An existing name is 409 uniqueness with the
 * detail "<what> <value> already exists in this tenant". Returns a NEW map
 * of the entry written, or NULL with *err.
 */
json_t *dir_add_entry(struct dir_op *op, const char *base, const char *rdn_attr,
                      const char *scim_name, const json_t *map, char **read_attrs, const char *what,
                      struct rb_error *err);

/*
 * dir_password_set — set the password of `dn` (borrowed) through the
 * password-modify extended operation (RFC 3062), so slapd hashes it
 * whatever its overlays (olcPasswordHash); the bridge never stores or logs
 * it. 0, or -1 with *err (the table's mapping of slapd's result).
 */
int dir_password_set(struct dir_op *op, const char *dn, const char *password, struct rb_error *err);

/*
 * dir_delete_found — delete every entry a one-level search under `base`
 * for `filter` finds (reading `attrs`, which must name entryCSN), each
 * asserted on the entryCSN read: one changed meanwhile (412: restored,
 * reused) or gone (404: another bridge was first) is left alone.
 * `deleted` (may be NULL) is called with each deleted entry's map and
 * `arg`. A missing base finds nothing. Returns how many were deleted, or
 * -1 with *err.
 */
long dir_delete_found(struct dir_op *op, const char *base, const char *filter, char **attrs,
                      void (*deleted)(struct dir_op *op, const json_t *map, void *arg), void *arg,
                      struct rb_error *err);

/* dir_delete_dn — delete `dn`, with the If-Match assertion when given. 0 or -1. */
int dir_delete_dn(struct dir_op *op, const char *dn, const char *if_match, struct rb_error *err);

/*
 * dir_rename_modify — the one rename + modify + re-read of the layer: modrdn
 * `dn` to `newrdn` (from escape_rdn, same parent; NULL: no rename) asserting
 * `if_match` (an If-Match value or one entryCSN; NULL: none), then `mods`
 * (NULL or empty: none) asserting the entryCSN the rename left, so nobody
 * writes in between unnoticed (412). Both post-read `read_attrs`: the
 * result is the NEW map of the entry as written, under its new DN (taken
 * from slapd, never computed from the old one), or NULL with *err (409
 * uniqueness when the name is taken, 412, …).
 */
json_t *dir_rename_modify(struct dir_op *op, const char *dn, const char *newrdn, LDAPMod **mods,
                          const char *if_match, char **read_attrs, struct rb_error *err);

/*
 * dir_check_version — for a write that turns out to change nothing (so no
 * LDAP assertion runs): 0 if the precondition `if_match` (NULL, or a
 * dir_precondition text) holds for the entry's current entryCSN, else -1
 * with *err 412.
 */
int dir_check_version(const json_t *map, const char *if_match, struct rb_error *err);

/* dir_held_by — true if `source` is among the rbSource values of entry map `map`. */
bool dir_held_by(const json_t *map, const char *source);

/*
 * dir_mods_hold — append to `mods` the modification that adds `source` to
 * rbSource when entry map `old` is not held by it yet (a PUT or PATCH
 * attaching a source). Returns the NEW array (the old one is consumed), or
 * NULL on allocation failure (a NULL `mods` stays NULL).
 */
LDAPMod **dir_mods_hold(LDAPMod **mods, const json_t *old, const char *source);

/*
 * dir_convert_one — one entry map through a page converter (dir_type's
 * to_json). Returns the NEW resource, or NULL with *err.
 */
json_t *dir_convert_one(struct dir_op *op,
                        json_t *(*to_json)(struct dir_op *, const json_t *, bool,
                                           struct rb_error *),
                        const json_t *map, bool want_members, struct rb_error *err);

/*
 * dir_resolve_dns — resolve DNs (`dns`, a json object used as a set: dn →
 * null) to {dn: entry map} under ou=<ou>, reading `attrs`, in one search;
 * unknown DNs stay null. `cache`: the maps are kept in op->groups for the
 * rest of the operation, and a set already all there costs no search
 * (only for one attribute list per operation: access_group_attrs). 0 or -1.
 */
int dir_resolve_dns(struct dir_op *op, const char *ou, char **attrs, json_t *dns, bool cache,
                    struct rb_error *err);

/*
 * dir_resolve_ids — like dir_resolve_dns, keyed by entryUUID (`ids`: a set
 * of lower-case UUIDs → null) instead of DN: the groups a person's
 * rbGroupRef names. With `cache` the maps are kept in op->groups (keyed by
 * UUID). 0 or -1.
 */
int dir_resolve_ids(struct dir_op *op, const char *ou, char **attrs, json_t *ids, bool cache,
                    struct rb_error *err);

/* dir_meta_from_map — fill *meta from an entry map (borrowed pointers). */
void dir_meta_from_map(const json_t *map, const char *location_base, struct map_meta *meta);

/* dir_etag_csn — the entryCSN inside an ETag (W/"csn" or "csn"), copied to out. */
bool dir_etag_csn(const char *etag, char *out, size_t outlen);

/*
 * ---- access.c: grants in the directory (ownership, derived values, repair) ----
 *
 * The only writer of derived access values (summary, rbBindLocked). Each
 * is computed from one read of the person and written asserting the
 * entryCSN of that read; a conflict is computed again from a fresh read,
 * at most DIR_RETRIES times.
 */
#define DIR_RETRIES 8

/* What is read of the groups a person is in (identity, a role group's grant). */
extern char *access_group_attrs[];

/*
 * access_check_owner — 0 if the caller's source owns the group or school
 * `map` (an entry map; its rbSource, grants_owner) or nobody does; else -1
 * with *err 403 naming the owner. `what` is "group", "school" or "region". Every
 * PUT, PATCH and DELETE of a group or school calls it before writing.
 */
int access_check_owner(const struct dir_op *op, const json_t *map, const char *what,
                       struct rb_error *err);
/*
 * access_school_unreferenced — 0 if no grant of another source than the
 * caller's names school `uuid` (a person's rbSchoolRef;x-src-<other>, or a
 * role group owned by another source); else -1 with *err 409 naming those
 * sources. One search.
 */
int access_school_unreferenced(struct dir_op *op, const char *uuid, struct rb_error *err);
/*
 * access_school_strip — remove school `uuid` (SIS id `ext`, or NULL) from
 * every grant of the tenant (rbSchoolRef and rbSchoolGiven of people and
 * role groups: value deletes, which commute with other writers), then
 * refresh the derived values of every person concerned. 0 or -1.
 */
int access_school_strip(struct dir_op *op, const char *uuid, const char *ext, struct rb_error *err);

/*
 * access_grant_prepare — validate the caller's direct grant in `map` (the
 * descriptions its write produces) against the directory and resolve its
 * schools: scope defaults to school; school needs schools (ids or
 * externalIds); region needs a region of a partnership tenant; partnership
 * a partnership tenant. Adds rbschoolref;x-src-<source>. 0, or -1 (400).
 */
int access_grant_prepare(struct dir_op *op, json_t *map, struct rb_error *err);

/*
 * access_group_grant_prepare — the same checks for a role group's grant in
 * `map` (untagged rb* descriptions); its schools, as given (ids or
 * externalIds), are replaced by the schools' ids. 0, or -1 with *err (400).
 */
int access_group_grant_prepare(struct dir_op *op, json_t *map, struct rb_error *err);
/*
 * access_summarize — add to `map` the derived values (grants_access) of
 * the person after a write: `old` (its entry map, or NULL for a new
 * person) with the descriptions of `source` replaced by `map`'s (NULL
 * source: `old` as it is), plus the role groups its rbGroupRef names (read
 * once per operation, op->groups). The caller writes `map` asserting
 * old's entryCSN. 0, or -1 with *err.
 */
int access_summarize(struct dir_op *op, const json_t *old, const char *source, json_t *map,
                     struct rb_error *err);
/* access_derived_desc — an entry_mods_build `owned` callback: the derived descriptions. */
bool access_derived_desc(const char *desc, void *arg);
/* access_group_ids — add the groups a person's rbGroupRef names (lower-case UUIDs) to `ids`. */
void access_group_ids(const json_t *person, json_t *ids);
/* access_groups_of — the maps (NEW array) of `resolved` ({uuid: map}) the person is in. */
json_t *access_groups_of(const json_t *person, const json_t *resolved);
/*
 * access_refresh_person — recompute and write (asserted, retried) the
 * derived values of the person at `dn` (borrowed); a DN that is not a
 * person, or is gone, is ignored. *changed (may be NULL) is set when a
 * write was needed. 0, or -1 with *err (503 after DIR_RETRIES conflicts).
 */
int access_refresh_person(struct dir_op *op, const char *dn, bool *changed, struct rb_error *err);
/* access_refresh_set — access_refresh_person for every key of `dns` (a set). 0 or -1. */
int access_refresh_set(struct dir_op *op, const json_t *dns, struct rb_error *err);

/* access_group_is_role — the group (an entry map, may be NULL) confers a grant. */
bool access_group_is_role(const json_t *map);
/* access_group_grant_changed — the grant two maps of one group confer differs. */
bool access_group_grant_changed(const json_t *a, const json_t *b);
/* access_member_set — add the DNs of the members of the group with entryUUID `uuid` to `dns`. */
int access_member_set(struct dir_op *op, const char *uuid, json_t *dns, struct rb_error *err);
/* access_mods_dn_set — add the values of `mods` (member DNs) to the set `dns`. */
void access_mods_dn_set(LDAPMod **mods, json_t *dns);
/*
 * access_pending_begin — before a write that changes group `old` (entry
 * map, or NULL for a new group) into `new_map` (the attribute map written;
 * may be NULL for a delete), record who may need a refresh: an
 * rbAccessPending entry under ou=pending whose rbRepairFilter matches the
 * members (rbGroupRef=<the group's entryUUID>, from old or new_map) and
 * the holders of either grant (summary terms). Returns its NEW DN, or
 * NULL: with *err set on failure (the caller does not write), unset when
 * neither map is a role group.
 */
char *access_pending_begin(struct dir_op *op, const json_t *old, const json_t *new_map,
                           struct rb_error *err);
/* access_pending_end — remove (and free) what access_pending_begin made, once refreshed. */
void access_pending_end(struct dir_op *op, char *pending_dn);
/*
 * access_repair — for each pending entry of the tenant created more than
 * `settle_s` seconds ago: refresh every person its filter matches, then
 * delete it (asserted on its entryCSN). Membership is the bridge's own
 * writes on the members (docs/schema.md, "Membership"): no overlay's
 * updates to wait for or heal, so `seen` (the repair thread's memory
 * between rounds, kept from the memberof design) is not used. *fixed =
 * people whose derived values were wrong. 0, or -1 with *err.
 */
int access_repair(struct dir_op *op, int settle_s, json_t *seen, int *fixed, struct rb_error *err);

/*
 * dir_user_repair_creates (users.c) — take away the half creates of
 * `op`'s tenant: people still carrying rbCreatePending (the create was
 * never answered 2xx) added more than `settle_s` seconds ago. One held by
 * the creating source alone is deleted (asserted on its entryCSN); one
 * another source has written since keeps its entry and loses the marker.
 * *fixed counts them. 0, or -1 with *err.
 */
int dir_user_repair_creates(struct dir_op *op, int settle_s, int *fixed, struct rb_error *err);
/*
 * dir_id_lower — `id` (borrowed) in lower case into `out` (`outlen` bytes,
 * cut short to fit): the form entryUUIDs come back in, used as keys.
 */
void dir_id_lower(const char *id, char *out, size_t outlen);

/*
 * grouptab.c — the groups of every tenant kept in the daemon, followed
 * with a sync search (RFC 4533) on a connection of its own.
 *
 * grouptab_start — start following for `cfg`, connecting as `pool`'s
 * slots do (both borrowed, must outlive the table). NEW (grouptab_stop
 * joins and frees it) or NULL (no memory or thread).
 */
struct grouptab *grouptab_start(const struct config *cfg, const struct pool *pool);
void grouptab_stop(struct grouptab *t);
/*
 * grouptab_fill — for each key of `ids` (group entryUUIDs) whose value is
 * null: when the table has followed the directory to now, holds that group
 * under `groups_dn` (the tenant's ou=groups; borrowed) and no write of this
 * bridge to it is still on its way, set the value to a NEW copy of the
 * group's entry map (the attributes of access_group_attrs, "dn",
 * "entrycsn"). The others stay null for the directory. Returns how many
 * were set; 0 for a NULL table.
 */
size_t grouptab_fill(struct grouptab *t, const char *groups_dn, json_t *ids);
/*
 * grouptab_wrote — this bridge wrote the group whose post-read entry is
 * `map` (borrowed; entryuuid, entrycsn): the table answers for it again
 * once the search has brought that CSN. grouptab_wrote_dn — the same for
 * a group known by DN only (a delete): until its delete arrives.
 * Both NULL-table safe.
 */
void grouptab_wrote(struct grouptab *t, const json_t *map);
void grouptab_wrote_dn(struct grouptab *t, const char *dn);
/* grouptab_stats — lookups answered from the table and sent to the directory, and whether it is
 * live. */
void grouptab_stats(struct grouptab *t, unsigned long *hits, unsigned long *misses, bool *live);

/* access_repair_stop — stop and join the repair thread, if dir_repair_start started one. */
void access_repair_stop(struct dir *dir);

/* ---- merge.c: creates and modifies lost across providers, put back by the repair thread ---- */

/*
 * merge_start — one reader per URI of ldap_uri (a one-connection pool of
 * its own each), kept in dir->merge; called by dir_repair_start. 0 or -1
 * (memory; merge_stop frees what was made).
 */
int merge_start(struct dir *dir);
/* merge_stop — free what merge_start made; NULL-safe. */
void merge_stop(struct dir *dir);
/*
 * merge_round — for tenant `tenant`, read each provider's cn=accesslog
 * since its checkpoint (dir->repair_seen) for entryUUIDs replaced by
 * replication under ou=people, and merge each lost create into the person
 * that won (merge.c's glossary). *merged = merges written. A provider down
 * is skipped. Then, with two providers or more all answering, each person
 * written since the last round is compared across the providers and each
 * description's latest write is written back where it differs (merge.c,
 * "modifies"; logged). 0, or -1 with *err.
 */
int merge_round(struct dir *dir, const char *tenant, int *merged, struct rb_error *err);

/* ---- retain.c: deprovisioned people kept disabled (retention_days > 0) ---- */

/* retain_enabled — retention_days > 0: the last release keeps the person, disabled. */
bool retain_enabled(const struct dir_op *op);
/*
 * retain_release — the last source released `old` (the person's entry map,
 * with memberOf): keep it disabled and invisible instead of deleting it
 * (retain.c's glossary), asserted on old's entryCSN (412 when anybody
 * wrote since), then take it out of its groups. 0, or -1 with *err.
 */
int retain_release(struct dir_op *op, const json_t *old, struct rb_error *err);
/*
 * retain_find_name — the retained person `uid=<uid>` of the tenant, reading
 * `attrs`: a NEW map, or NULL (with *err unset when there is none).
 */
json_t *retain_find_name(struct dir_op *op, const char *uid, char **attrs, struct rb_error *err);
/*
 * retain_forget_password — remove any userPassword from the retained person
 * `old` (its entry map, BORROWED; its "entrycsn" is updated to the version
 * written), asserted on the entryCSN read: an entry retained by a version
 * that kept the password must not bring it back when re-created. 0, or -1
 * with *err (412 when it changed since the read).
 */
int retain_forget_password(struct dir_op *op, json_t *old, struct rb_error *err);
/*
 * retain_purge — delete the tenant's retained people disabled longer than
 * retention_days, each asserted on the entryCSN read (a restore meanwhile
 * wins; another bridge's purge is a 404, ignored). *purged = how many. 0 or -1.
 */
int retain_purge(struct dir_op *op, int *purged, struct rb_error *err);

/* ---- guard.c: the mass-deprovision guard ---- */

/*
 * guard_check — before a removal (`action` "delete" or "suspend") by
 * ctx's source of `person` (its entry map): 0 to apply it (counted in
 * the source's window), 1 when it is over the window's share and was held
 * for an operator (ctx->held set; the caller applies nothing of it), or -1
 * with *err. Not counted: guard off (guard_share_percent 0, ctx->guard_off),
 * the in-product source (the operators themselves), a person the source
 * does not hold. Decided once per operation (op->guard).
 */
int guard_check(struct dir_op *op, const char *action, const json_t *person, struct rb_error *err);
/*
 * guard_cancel — ctx's source has just written the person with entryUUID
 * `person_id` and left it active for itself (not a removal): its held
 * removals of that person (suspend and delete) are void, so they are
 * deleted (each asserted on the version read; one an operator decided
 * meanwhile is left to that decision) and logged. Best effort: a failure
 * is logged, never the caller's error (the write it follows has landed).
 */
void guard_cancel(struct dir_op *op, const char *person_id);
/*
 * guard_expire — drop the tenant's held removals older than
 * guard_hold_days (0: none expire): deleted, NOT applied, each logged with
 * tenant, source, action and person (asserted on the entryCSN read: an
 * operator's decision meanwhile wins). *expired = how many. 0 or -1 with *err.
 */
int guard_expire(struct dir_op *op, int *expired, struct rb_error *err);
/*
 * guard_refund — the removal guard_check counted for this operation was
 * not applied after all (the write failed): its place goes back to the
 * bridge's reservation, to be spent by the next removal or given back to
 * the window (guard_leases_return). No directory access; a no-op when
 * nothing was counted or the window has closed since.
 */
void guard_refund(struct dir_op *op);
/*
 * guard_leases_return — give back to their windows (count -= unspent, each
 * asserted on the entryCSN read) the reservations of `dir` idle for
 * `idle_s` seconds or more (0: all of them, at shutdown), writing over
 * connections of `via` (the repair thread's own directory; `dir` itself at
 * shutdown). Failures are logged; a reservation not given back leaves its
 * window's count high until the window ends (it errs toward holding).
 * Returns the seconds until the next reservation falls idle, or -1 when
 * none is left.
 */
int guard_leases_return(struct dir *dir, struct dir *via, int idle_s);

/* guard_leases_free — at dir_destroy, after the last return: free the list. */
void guard_leases_free(struct dir *dir);

/* ---- dir_page.c: paged, sorted searches shared by users, groups, schools ---- */

struct query_attr;

/* A resource type's place in the directory and its conversion. */
struct dir_type {
	const struct resource_type_def *rt;
	const char *ou;        /* "people", "groups", "schools" */
	const char *objfilter; /* "(objectClass=rbPerson)" */
	/*
	 * own — objfilter's test on a map read with `attrs`, or NULL. When set,
	 * a search naming at most one entry (dir_page.c, `userName eq`) leaves
	 * objfilter out of its filter and keeps the entries `own` accepts.
	 */
	bool (*own)(const json_t *map);
	const struct query_attr *table;
	char **attrs; /* LDAP attributes to read for a full resource */
	/*
	 * to_json — convert the maps of one page (a borrowed array of entry
	 * maps) into a NEW array of SCIM resources, or NULL with *err.
	 */
	json_t *(*to_json)(struct dir_op *op, const json_t *maps, bool want_members,
	                   struct rb_error *err);
};

/*
 * dir_page_search — the page q asks for, as a NEW array of resources, with
 * *total = totalResults. Exact filters with a sort key LDAP can order run
 * as one server-side sorted VLV search (RFC 2891 + VLV, slapd's sssvlv),
 * reading only the page; the rest read the candidates (at most
 * max_results), apply filter_match, sort with the engine, and slice.
 */
json_t *dir_page_search(struct dir_op *op, const struct dir_type *t, const struct dir_query *q,
                        long *total, struct rb_error *err);

/*
 * dir_page_forget — free dir's cached totals (dir_destroy; no other
 * thread may use dir any more).
 */
void dir_page_forget(struct dir *dir);

/*
 * struct dir_owned — one owned, named resource type whose reads and writes
 * need nothing the others do not (schools, regions): how to find one by id,
 * present it, and write a new version of it. The flows below serve each.
 */
struct dir_owned {
	const char *kind;    /* "school": names the type in 403 messages */
	const char *rt_name; /* "School": the SCIM resource type (for PATCH) */
	/* find — the entry map of `id` (NEW), or NULL with *err (404) */
	json_t *(*find)(struct dir_op *op, const char *id, struct rb_error *err);
	/* one — the SCIM resource of entry map `map` (NEW), or NULL with *err */
	json_t *(*one)(struct dir_op *op, const json_t *map, struct rb_error *err);
	/* write — store `res` over entry map `old` under If-Match `if_match`;
	 * the entry map after the write (NEW), or NULL with *err */
	json_t *(*write)(struct dir_op *op, const json_t *old, const json_t *res,
	                 const char *if_match, struct rb_error *err);
};

/*
 * dir_owned_get / dir_owned_replace / dir_owned_patch — GET, PUT and PATCH
 * of the resource `id` of type `t` (owned.c). Replace and patch check the
 * owner first (access_check_owner). Each returns the NEW resource, or NULL
 * with *err.
 */
json_t *dir_owned_get(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
                      struct rb_error *err);
json_t *dir_owned_replace(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
                          const json_t *res, const char *if_match, struct rb_error *err);
json_t *dir_owned_patch(const struct dir_owned *t, const struct dir_ctx *ctx, const char *id,
                        const json_t *patch_body, const char *if_match, struct rb_error *err);

#endif /* RB_DIR_INT_H */
