/* ldaperr.c — the one table from LDAP result codes to SCIM errors; see ldaperr.h. */
#include "dir/ldaperr.h"

#include <ldap.h>
#include <stddef.h>

#include "lib/log.h"

static const struct {
	int rc;
	int status;
	const char *scim_type;
	const char *text;
} ldaperr_table[] = {
    {LDAP_NO_SUCH_OBJECT, 404, NULL, "not found"},
    {LDAP_ALREADY_EXISTS, 409, SCIM_UNIQUENESS, "that name is already taken in this tenant"},
    {LDAP_ASSERTION_FAILED, 412, NULL,
     "the resource has changed since it was read (If-Match: the ETag is stale)"},
    {LDAP_TYPE_OR_VALUE_EXISTS, 409, SCIM_UNIQUENESS, "the value already exists"},
    {LDAP_CONSTRAINT_VIOLATION, 400, SCIM_INVALID_VALUE, "a value breaks a directory constraint"},
    {LDAP_INVALID_SYNTAX, 400, SCIM_INVALID_VALUE, "a value has the wrong syntax"},
    {LDAP_INVALID_DN_SYNTAX, 400, SCIM_INVALID_VALUE, "a name is not valid in the directory"},
    {LDAP_NAMING_VIOLATION, 400, SCIM_INVALID_VALUE, "a name is not valid in the directory"},
    {LDAP_OBJECT_CLASS_VIOLATION, 400, SCIM_INVALID_VALUE, "the entry breaks the schema"},
    {LDAP_UNDEFINED_TYPE, 500, NULL, "the directory lacks the rosterbridge schema"},
    {LDAP_NO_SUCH_ATTRIBUTE, 409, NULL, "the value is no longer there"},
    {LDAP_NOT_ALLOWED_ON_NONLEAF, 409, NULL, "the entry still has children"},
    {LDAP_SIZELIMIT_EXCEEDED, 400, SCIM_TOO_MANY, "the query matches too many resources"},
    {LDAP_ADMINLIMIT_EXCEEDED, 400, SCIM_TOO_MANY, "the query matches too many resources"},
    {LDAP_INSUFFICIENT_ACCESS, 500, NULL, "the service account may not do this (check ACLs)"},
    {LDAP_INVALID_CREDENTIALS, 503, NULL, "the directory refused the service account"},
    {LDAP_SERVER_DOWN, 503, NULL, "the directory is unavailable"},
    {LDAP_CONNECT_ERROR, 503, NULL, "the directory is unavailable"},
    {LDAP_UNAVAILABLE, 503, NULL, "the directory is unavailable"},
    {LDAP_BUSY, 503, NULL, "the directory is busy"},
    {LDAP_TIMEOUT, 503, NULL, "the directory did not answer in time"},
    {LDAP_TIMELIMIT_EXCEEDED, 503, NULL, "the directory did not answer in time"},
    {LDAP_UNWILLING_TO_PERFORM, 500, NULL, "the directory is unwilling to perform this"},
    {LDAP_NOT_ALLOWED_ON_RDN, 400, SCIM_MUTABILITY, "the naming attribute cannot be removed"},
    {LDAP_INAPPROPRIATE_MATCHING, 400, SCIM_INVALID_FILTER, "no matching rule for that comparison"},
    {LDAP_FILTER_ERROR, 400, SCIM_INVALID_FILTER, "the directory refused the filter"},
    {LDAP_PROTOCOL_ERROR, 500, NULL, "protocol error between the bridge and the directory"},
    {LDAP_UNAVAILABLE_CRITICAL_EXTENSION, 500, NULL,
     "the directory lacks a control the bridge needs (check its overlays)"},
    {LDAP_CONFIDENTIALITY_REQUIRED, 503, NULL, "the directory requires TLS"},
    {LDAP_STRONG_AUTH_REQUIRED, 503, NULL, "the directory requires a stronger authentication"},
    {LDAP_INAPPROPRIATE_AUTH, 503, NULL, "the directory refused the service account"},
    {LDAP_LOOP_DETECT, 500, NULL, "the directory detected a loop"},
    {LDAP_OPERATIONS_ERROR, 500, NULL, "directory operations error"},
    {LDAP_OTHER, 500, NULL, "directory error"},
};

/*
 * A 4xx carries the directory's diagnostic to the client (it says which
 * value is wrong). A 5xx is the operator's business: the LDAP result code,
 * its name and the diagnostic go to the log, and the client gets the
 * table's generic text only.
 */
int
ldaperr_set(struct rb_error *err, int rc, const char *what, const char *diag)
{
	const char *d = diag && *diag ? diag : NULL;
	size_t i;

	for (i = 0; i < sizeof(ldaperr_table) / sizeof(ldaperr_table[0]); i++)
		if (ldaperr_table[i].rc == rc)
			break;
	if (i == sizeof(ldaperr_table) / sizeof(ldaperr_table[0]) ||
	    ldaperr_table[i].status >= 500) {
		log_warnx("ldap: %s failed: result %d (%s)%s%s", what, rc, ldap_err2string(rc),
		          d ? ": " : "", d ? d : "");
		if (i == sizeof(ldaperr_table) / sizeof(ldaperr_table[0]))
			return error_set(err, 500, NULL, "%s: directory error", what);
		return error_set(err, ldaperr_table[i].status, ldaperr_table[i].scim_type, "%s: %s",
		                 what, ldaperr_table[i].text);
	}
	return error_set(err, ldaperr_table[i].status, ldaperr_table[i].scim_type, "%s: %s%s%s",
	                 what, ldaperr_table[i].text, d ? ": " : "", d ? d : "");
}
