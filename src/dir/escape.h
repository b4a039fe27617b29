/*
 * escape.h — the ONE place where values enter LDAP filters and DNs.
 *
 * Every value that comes from a client and goes into an LDAP filter passes
 * through escape_filter_value (RFC 4515 §3, by libldap's
 * ldap_bv2escaped_filter_value); every value that goes into a DN passes
 * through escape_rdn (RFC 4514 §2.4, by libldap's ldap_rdn2str). No other
 * code formats client data into a filter or DN.
 */
#ifndef RB_ESCAPE_H
#define RB_ESCAPE_H

#include <stddef.h>

/*
 * escape_filter_value — `len` bytes of `value` escaped for use inside an
 * LDAP filter assertion value ("a*b" → "a\2ab"). Returns a NEW malloc'd
 * string (caller frees), or NULL on allocation failure.
 */
char *escape_filter_value(const char *value, size_t len);

/*
 * escape_rdn — the RDN string `attr=value` with `value` escaped per RFC
 * 4514 ("uid=a\,b"). Returns a NEW malloc'd string (caller frees), or NULL
 * if value is empty or on allocation failure.
 */
char *escape_rdn(const char *attr, const char *value);

/*
 * escape_dn_join — "rdn,parent". Returns a NEW malloc'd string, or NULL.
 * `rdn` must come from escape_rdn; `parent` is a DN we built or read.
 */
char *escape_dn_join(const char *rdn, const char *parent);

/*
 * escape_rdn_value — the unescaped value of the first RDN of `dn` (e.g.
 * the userName from "uid=a\2cb,ou=people,…"). Returns a NEW malloc'd
 * string, or NULL if dn does not parse.
 */
char *escape_rdn_value(const char *dn);

#endif /* RB_ESCAPE_H */
