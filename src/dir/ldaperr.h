/*
 * ldaperr.h — LDAP result codes mapped to SCIM errors, in one table.
 */
#ifndef RB_LDAPERR_H
#define RB_LDAPERR_H

#include "lib/error.h"

/*
 * ldaperr_set — fill *err from LDAP result code `rc` of operation `what`
 * (e.g. "add uid=…") with the table's status and scimType; `diag` is the
 * server's diagnostic message or NULL. Directory-side failures (down,
 * busy, timeout) are 503 (the caller adds Retry-After). A 5xx logs the
 * result code and diagnostic and gives the client a generic detail.
 * Returns -1.
 */
int ldaperr_set(struct rb_error *err, int rc, const char *what, const char *diag);

#endif /* RB_LDAPERR_H */
