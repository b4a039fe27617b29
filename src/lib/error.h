/*
 * error.h — the one error type of rosterbridge.
 *
 * An error is found once, filled once (HTTP status, SCIM scimType, detail)
 * where it is found, and passed up unchanged to whoever answers the client.
 * Every layer (config, engine, mapping, LDAP pool, HTTP) reports through a
 * `struct rb_error *err` out-parameter and returns -1 or NULL.
 */
#ifndef RB_ERROR_H
#define RB_ERROR_H

#include <jansson.h>

#define RB_ERROR_DETAIL_MAX 512

/* SCIM scimType values (RFC 7644 §3.12). Static strings; compare by value. */
#define SCIM_INVALID_FILTER "invalidFilter"
#define SCIM_TOO_MANY "tooMany"
#define SCIM_UNIQUENESS "uniqueness"
#define SCIM_MUTABILITY "mutability"
#define SCIM_INVALID_SYNTAX "invalidSyntax"
#define SCIM_INVALID_PATH "invalidPath"
#define SCIM_NO_TARGET "noTarget"
#define SCIM_INVALID_VALUE "invalidValue"
#define SCIM_INVALID_VERS "invalidVers"
#define SCIM_SENSITIVE "sensitive"

struct rb_error {
	int status;            /* HTTP status, e.g. 400; 0 while unset */
	const char *scim_type; /* one of the SCIM_* strings above, or NULL */
	char detail[RB_ERROR_DETAIL_MAX];
};

/*
 * error_set — fill *err (if err is not NULL) with status, scimType (a static
 * string or NULL) and a printf-formatted detail. Always returns -1 so that
 * callers can write `return error_set(err, 400, SCIM_INVALID_VALUE, ...)`.
 * An error already set is not overwritten: the first finder wins.
 */
int error_set(struct rb_error *err, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* error_clear — reset *err to "no error". */
void error_clear(struct rb_error *err);

/* error_is_set — true once error_set has filled *err. */
int error_is_set(const struct rb_error *err);

/*
 * error_to_json — the SCIM Error body (RFC 7644 §3.12) for *err:
 * {"schemas":[…Error], "status":"400", "scimType":…, "detail":…}.
 * Returns a NEW reference (caller json_decref()s it), NULL on allocation
 * failure.
 */
json_t *error_to_json(const struct rb_error *err);

#endif /* RB_ERROR_H */
