/*
 * dir.h — the directory mapping layer: SCIM resources stored in LDAP.
 *
 * The HTTP layer validates input with the engine and calls these
 * functions; they map SCIM to LDAP (map_*.c), translate filters
 * (query.c), and talk to slapd through the pool (pool.c). Every function
 * works inside one tenant (`o=<tenant>,<suffix>`) and on behalf of one
 * source (the token's): nothing here can reach another tenant's entries.
 *
 * Module map
 *   dir.c        context, DNs, lookups by id, writes (post-read, assertion,
 *                the one rename + modify), the password extended operation
 *   access.c     grants in the directory: ownership, derived access values
 *                (asserted, retried), role groups' members, repair
 *   grants.c     the pure grant rules (summary, bind lock, no escalation)
 *   users.c      /Users flows          groups.c   /Groups flows
 *   schools.c    /Schools flows        query.c    filter → LDAP, paging, sorting
 *   regions.c    /Regions flows
 *   map_*.c      SCIM ⇄ attribute maps entry.c    attribute maps ⇄ LDAP
 *   escape.c     RFC 4515/4514 escaping ldaperr.c  LDAP result → SCIM error
 *   retain.c     deprovisioned people kept disabled, restore, purge
 *   guard.c      the mass-deprovision guard: windows, held removals
 *   pool.c       LDAP connection pool   dir_page.c paged, sorted searches
 */
#ifndef RB_DIR_H
#define RB_DIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "dir/pool.h"
#include "engine/filter.h"
#include "engine/schema.h"
#include "engine/sort.h"
#include "engine/validate.h"
#include "lib/config.h"
#include "lib/error.h"

struct dir;

/* Who is asking, where. All borrowed for the duration of a call. */
struct dir_ctx {
	struct dir *dir;
	const char *tenant;      /* tenant name: o=<tenant> */
	const char *source;      /* the token's source name */
	const char *base_url;    /* e.g. http://127.0.0.1:8080/scim/v2 */
	bool passwords;          /* the source may set `password` (else 403 mutability) */
	const char *request_id;  /* the HTTP request's id, or NULL (audit trail) */
	const char *client_addr; /* the client's address, or NULL (audit trail) */
	/* The mass-deprovision guard (guard.c): `held` (may be NULL) is set
	 * when it held this request's removal for an operator; `guard_off`
	 * skips it (an operator's approval applying a held removal). */
	bool *held;
	bool guard_off;
	/* What PATCH does with unknown attributes (engine/validate.h): borrowed,
	 * the ignored names are appended to input->ignored; NULL: strict. */
	struct validate_opts *input;
};

/* A query: filter (may be NULL), sorting and the page wanted. */
struct dir_query {
	const struct filter *filter; /* borrowed; NULL = all */
	const char *sort_by;         /* sortBy as given, or NULL */
	const struct sort_key *sort; /* borrowed; sortBy/sortOrder parsed (NULL: default order) */
	bool descending;
	long start_index;  /* 1-based */
	long count;        /* page size; 0 = only totalResults */
	bool want_members; /* groups: read member lists (false for excludedAttributes=members) */
};

/*
 * dir_create — the layer's state over `pool` for `cfg` (both borrowed, must
 * outlive it). NEW; free with dir_destroy.
 */
struct dir *dir_create(const struct config *cfg, struct pool *pool);
void dir_destroy(struct dir *dir);
/*
 * dir_repair_start — start the repair thread: at once, then every
 * cfg->repair_interval_s seconds, it finishes in every tenant the
 * role-group changes a stopped or killed bridge left half done (access.c).
 * dir_destroy stops it. 0, or -1 (the thread could not start).
 */
int dir_repair_start(struct dir *dir);
/*
 * dir_groups_start — keep every group's name and grants in the daemon
 * (grouptab.c), when cfg->group_table: a GET of a person in groups then
 * makes one search, not two. Call before dir_repair_start; dir_destroy
 * stops it. 0, or -1 (the thread could not start: groups are read per
 * request).
 */
int dir_groups_start(struct dir *dir);
/* dir_groups_stats — the group table's lookups (from it / sent to the directory) and whether it
 * follows now; zeros without a table. */
void dir_groups_stats(struct dir *dir, unsigned long *hits, unsigned long *misses, bool *live);

/*
 * Every resource-returning function returns a NEW reference to the full
 * resource in SCIM JSON form (before projection), with meta (created,
 * lastModified, location, version = W/"<entryCSN>"), or NULL with *err
 * set (404 unknown id, 409 uniqueness, 412 version mismatch, 400 …, 503
 * directory unavailable). `if_match` is a precondition: an If-Match header
 * value, a dir_precondition text (If-Match and If-None-Match), or NULL; it
 * is applied atomically with the write (LDAP assertion control).
 * Creating functions take a validated, normalised resource (borrowed).
 */
json_t *dir_user_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err);
json_t *dir_user_create(const struct dir_ctx *ctx, const json_t *user, struct rb_error *err);
json_t *dir_user_replace(const struct dir_ctx *ctx, const char *id, const json_t *user,
                         const char *if_match, struct rb_error *err);
json_t *dir_user_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                       const char *if_match, struct rb_error *err);
int dir_user_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                    struct rb_error *err);
/*
 * dir_user_search — the page of users matching q. Returns a NEW array of
 * resources and sets *total (totalResults), or NULL with *err.
 */
json_t *dir_user_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                        struct rb_error *err);

/*
 * dir_user_password_writable — whether the caller (ctx: its token's
 * passwords=yes) may set `password` (stored by slapd as userPassword; else
 * a write of it is 403 mutability). The one answer both the write path and
 * /ServiceProviderConfig's changePassword.supported use, so discovery says
 * what the server does for that token.
 */
bool dir_user_password_writable(const struct dir_ctx *ctx);

/* Groups: as users. `want_members` false never reads the member list. */
json_t *dir_group_get(const struct dir_ctx *ctx, const char *id, bool want_members,
                      struct rb_error *err);
json_t *dir_group_create(const struct dir_ctx *ctx, const json_t *group, struct rb_error *err);
json_t *dir_group_replace(const struct dir_ctx *ctx, const char *id, const json_t *group,
                          const char *if_match, struct rb_error *err);
/* dir_group_patch — *changed_only: the caller may answer 204; the resource is still returned
 * unless `want_result` is false (then NULL is returned on success with err unset). */
json_t *dir_group_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                        const char *if_match, bool want_result, struct rb_error *err);
int dir_group_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                     struct rb_error *err);
json_t *dir_group_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                         struct rb_error *err);

/*
 * Schools (schools.c): as users; NEW references, NULL/-1 with *err.
 * Creating also writes the child cn=viewers and both dynlist URLs;
 * deleting removes the school from every grant's school list.
 */
json_t *dir_school_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err);
json_t *dir_school_create(const struct dir_ctx *ctx, const json_t *school, struct rb_error *err);
json_t *dir_school_replace(const struct dir_ctx *ctx, const char *id, const json_t *school,
                           const char *if_match, struct rb_error *err);
json_t *dir_school_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                         const char *if_match, struct rb_error *err);
int dir_school_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                      struct rb_error *err);
json_t *dir_school_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                          struct rb_error *err);

/*
 * Regions (regions.c): as schools; NEW references, NULL/-1 with *err.
 * Only partnership tenants have them; a region's name never changes, and
 * deleting one is 409 while a school or a grant names it.
 */
json_t *dir_region_get(const struct dir_ctx *ctx, const char *id, struct rb_error *err);
json_t *dir_region_create(const struct dir_ctx *ctx, const json_t *region, struct rb_error *err);
json_t *dir_region_replace(const struct dir_ctx *ctx, const char *id, const json_t *region,
                           const char *if_match, struct rb_error *err);
json_t *dir_region_patch(const struct dir_ctx *ctx, const char *id, const json_t *patch_body,
                         const char *if_match, struct rb_error *err);
int dir_region_delete(const struct dir_ctx *ctx, const char *id, const char *if_match,
                      struct rb_error *err);
json_t *dir_region_search(const struct dir_ctx *ctx, const struct dir_query *q, long *total,
                          struct rb_error *err);

/*
 * The access rules, for the console (access.c; SPEC §1).
 *
 * dir_access_grants — every grant of the person with entryUUID
 * `person_id` in ctx's tenant: a NEW array of {source, scope, schools
 * (entryUUIDs), region, permission, canManageAdmins, active, origin
 * ("direct" or the role group's id)} — a role group's grant carries its
 * owner as source and is inactive when that owner suspended the person.
 * NULL with *err (404 unknown id, 503).
 */
json_t *dir_access_grants(const struct dir_ctx *ctx, const char *person_id, struct rb_error *err);
/*
 * dir_access_may_grant — the no-escalation rule (grants_may_grant) for the
 * person `actor_id` giving `wanted` (borrowed grant object: scope,
 * schools as entryUUIDs, region, permission, canManageAdmins): reads the
 * actor's grants and the regions of the schools named. 0 if allowed, or
 * -1 with *err (403 saying which part is beyond the actor's rights, 404).
 */
int dir_access_may_grant(const struct dir_ctx *ctx, const char *actor_id, const json_t *wanted,
                         struct rb_error *err);

/*
 * Retention (retain.c; retention_days > 0). dir_retained_list — the
 * tenant's retained people: a NEW array of {userName, id, disabledAt
 * (GeneralizedTime), retentionDays}, or NULL with *err.
 * dir_retained_restore — make the retained person `user_name` a person
 * again, held by ctx->source with no grant (the old grants are gone): its
 * id as a NEW string, or NULL with *err (404 none retained by that name).
 */
/*
 * Audit (audit.c): dir_audit_person — the successful changes to the person
 * `user_name` of ctx's tenant recorded in the audit trail (cn=accesslog),
 * oldest first: a NEW object {userName, dn, Resources: [{time, type,
 * source, request, tenant, client, attributes[]}]}; NULL with *err (404
 * when the directory keeps no audit trail).
 */
json_t *dir_audit_person(const struct dir_ctx *ctx, const char *user_name, struct rb_error *err);
json_t *dir_retained_list(const struct dir_ctx *ctx, struct rb_error *err);
/*
 * The mass-deprovision guard (guard.c). dir_guard_list — the removals it
 * holds in ctx's tenant: a NEW array of {id, source, action (delete |
 * suspend), person (entryUUID), userName, heldAt}, or NULL with *err.
 * dir_guard_decide — approve (apply it as its source, past the guard) or
 * reject (drop it) the held removal `id`. 0, or -1 with *err (404 no such
 * held removal, 409 its person is gone).
 */
json_t *dir_guard_list(const struct dir_ctx *ctx, struct rb_error *err);
int dir_guard_decide(const struct dir_ctx *ctx, const char *id, bool approve, struct rb_error *err);
char *dir_retained_restore(const struct dir_ctx *ctx, const char *user_name, struct rb_error *err);

/*
 * dir_precondition — the precondition text the write functions take as
 * `if_match`, from an If-Match and an If-None-Match header value (either
 * NULL) with RFC 7232 semantics: If-Match "*" or ETags must name the
 * current version; If-None-Match "*" fails on any existing resource, and
 * ETags (weak comparison) fail when they name the current version. NEW
 * string, or NULL when both are NULL (or on allocation failure).
 */
char *dir_precondition(const char *if_match, const char *if_none_match);

/* dir_id_valid — true if `id` looks like an entryUUID (so it can be looked up at all). */
bool dir_id_valid(const char *id);

/*
 * dir_check — check the live directory against what the bridge needs
 * (dir/check.c): over `pool` (borrowed; the service account) the schema,
 * the server's controls, the tenants and anonymous access; with
 * `config_uri` (may be NULL) also cn=config through SASL EXTERNAL: options,
 * overlays, indexes, access rules. One line per check to `out`. Returns the
 * number of problems (0: all good), or -1 when the directory cannot be
 * reached.
 */
int dir_check(const struct config *cfg, struct pool *pool, const char *config_uri, FILE *out);

#endif /* RB_DIR_H */
