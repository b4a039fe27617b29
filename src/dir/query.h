/*
 * query.h — SCIM filters as LDAP filters, and paged, sorted searches.
 *
 * Translation is exact where LDAP matching gives exactly the SCIM result
 * (same attribute, same case rule, operator with an LDAP equivalent) and
 * broader elsewhere: an inexact node becomes "true" inside an `and`, makes
 * an `or` "true", and a `not` over it "true"; the query then runs the
 * broader LDAP filter and applies the engine's evaluator (filter_match) to
 * every candidate, so a result is never wrong or missing. Every value
 * goes through escape_filter_value.
 */
#ifndef RB_QUERY_H
#define RB_QUERY_H

#include <stdbool.h>

#include "engine/filter.h"

#define QUERY_SOURCED 1u  /* the LDAP attribute carries ;x-src-<source> */
#define QUERY_MULTI 2u    /* multi-valued in LDAP: `ne` is inexact */
#define QUERY_SYNTH_SN 4u /* sn: exclude entries whose sn is synthetic */
#define QUERY_NOSUBSTR 8u /* no substring matching rule: co/sw/ew inexact */

/* One row: a SCIM attribute path in canonical form → an LDAP attribute. */
struct query_attr {
	const char *scim; /* "userName", "name.givenName", "emails.value", "emails",
	                     "urn:…:User:employeeNumber", "id", "externalId" */
	const char *ldap; /* LDAP attribute type */
	unsigned flags;
	const char *order; /* "uid:caseIgnoreOrderingMatch" for server-side sort, or NULL */
};

/*
 * query_translate — the LDAP filter for `f` (NULL = everything) using
 * `table` (terminated by scim == NULL), for `source`, AND-ed with
 * `objfilter` ("" for none: the caller tests the entries itself). Returns
 * a NEW malloc'd filter string; *exact tells whether
 * the LDAP result is exactly the SCIM result. NULL on allocation failure.
 */
char *query_translate(const struct filter *f, const struct query_attr *table, const char *objfilter,
                      const char *source, bool *exact);

/*
 * query_attr_find — the row for a SCIM attribute path (as written: may be
 * URN-qualified, any case) resolved against `rt`, or NULL. Borrowed.
 */
const struct query_attr *query_attr_find(const struct query_attr *table,
                                         const struct resource_type_def *rt, const char *path);

/* query_attr_key — canonical key of a resolved attribute into out ("name.givenName"). */
void query_attr_key(const struct attr_ref *ref, char *out, size_t outlen);

#endif /* RB_QUERY_H */
