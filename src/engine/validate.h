/*
 * validate.h — validation and normalisation of resource bodies (POST, PUT)
 * and of single attribute values (PATCH) against the schema registry.
 *
 * Behaviour (RFC 7643 §2, §3; RFC 7644 §3.3, §3.5.1, §3.12):
 *   - `schemas` must be an array of strings that lists the resource type's
 *     core schema (400 invalidSyntax otherwise). Known extensions of the
 *     resource type used as keys are accepted even when not listed, and are
 *     added to `schemas` (Entra and Okta are not always consistent). URNs
 *     listed in `schemas` that carry no data and are not ours are dropped.
 *   - Unknown attributes — an attribute or sub-attribute the schema does
 *     not have ("adreses", "name.middle"), an extension attribute it does
 *     not have, or a URN key that is not an extension of this resource
 *     type (an IdP's custom extension) — are ignored and their names
 *     reported in opts->ignored (SPEC §2.2: a mapping mistake must not
 *     block a person's provisioning; the caller logs and counts them).
 *     With opts->strict (the `strict_attributes` switch), or opts NULL,
 *     each is 400 invalidSyntax: the body "did not conform to the request
 *     schema" (RFC 7644 §3.12). `schemas` listing a URN that is not ours
 *     is not an unknown attribute: it carries no data and is dropped in
 *     both modes.
 *   - Attribute names are case-insensitive and rewritten to the schema's
 *     spelling; the same attribute given twice (in two spellings) is 400
 *     invalidSyntax.
 *   - Type mismatches are 400 invalidValue ("not compatible with the ...
 *     attribute type"). Booleans may be sent as strings "true"/"false" in
 *     any case (Entra sends "True"), and become JSON booleans. dateTime is
 *     xsd:dateTime (RFC 7643 §2.3.5), binary is base64 (§2.3.6).
 *   - A single value where the attribute is multi-valued is accepted and
 *     wrapped in an array (robustness; several clients do it). An array
 *     where a single value is expected is 400 invalidValue.
 *   - null, [] and {} mean "unassigned" (RFC 7643 §2.5) and are dropped.
 *   - readOnly attributes and sub-attributes (id, meta, groups, grants,
 *     inviteStatus, manager.displayName) are ignored on input (RFC 7644
 *     §3.3), whatever their value.
 *   - Required attributes (userName, Group displayName, School name) must
 *     be present and non-empty: 400 invalidValue.
 *   - canonicalValues are enforced only for the rosterbridge admin
 *     extensions (permission, scope, …), case-insensitively, and rewritten
 *     to the canonical spelling; RFC 7643 canonical values (emails.type …)
 *     are advisory and are not enforced.
 *   - At most one element of a multi-valued attribute may have
 *     "primary": true (RFC 7643 §2.4): 400 invalidValue.
 *   - Depth is bounded by the schema itself: complex attributes have only
 *     simple sub-attributes (RFC 7643 §2.3.8), so anything deeper is a
 *     type error. Body size is limited by the HTTP layer.
 *
 * Not done here (needs the stored resource): immutability against an
 * existing value on PUT, uniqueness (409), and the "primary" hand-over a
 * PATCH add of a new primary value implies.
 */
#ifndef RB_VALIDATE_H
#define RB_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/schema.h"
#include "lib/error.h"

/*
 * What validation (and PATCH, patch.h) does with attributes the schema does
 * not know. Wherever a `struct validate_opts *` is taken, NULL means strict
 * with nothing reported.
 */
struct validate_opts {
	bool strict;     /* unknown attributes are 400 invalidSyntax */
	json_t *ignored; /* borrowed array, or NULL: each ignored name is appended
	                    once, as a path ("adreses", "name.middle",
	                    "urn:…:enterprise:2.0:User:costCentre", "urn:x:custom") */
};

/*
 * validate_ignore — the unknown attribute `name` (`len` bytes; shown cut to
 * 128) was met: with opts lenient, note it in opts->ignored (once) and
 * return 0; strict, set *err to 400 invalidSyntax ("unknown attribute …")
 * and return -1. For the PATCH engine too.
 */
int validate_ignore(struct validate_opts *opts, const char *name, size_t len, struct rb_error *err);

enum validate_mode {
	VALIDATE_CREATE,  /* POST */
	VALIDATE_REPLACE, /* PUT */
};

enum validate_shape {
	VALIDATE_ATTRIBUTE, /* the value of the whole attribute (PATCH path "emails", "name") */
	VALIDATE_ELEMENT,   /* one element of a multi-valued attribute
	                       (PATCH path "emails[type eq \"work\"]") */
};

/*
 * validate_resource — validate `body` (borrowed) as a POST (VALIDATE_CREATE)
 * or PUT (VALIDATE_REPLACE) body for resource type `rt`. Returns a NEW
 * normalised resource: `schemas` (core schema first, then the extensions
 * that are listed or used, in the resource type's order), externalId,
 * core attributes and extension objects with the schema's spelling,
 * coerced values, no readOnly and no unassigned attributes. Returns NULL
 * with *err set (400 invalidSyntax / invalidValue, or 500 on allocation
 * failure). `opts` (borrowed, may be NULL) says what unknown attributes do.
 */
json_t *validate_resource(const struct resource_type_def *rt, const json_t *body,
                          enum validate_mode mode, struct validate_opts *opts,
                          struct rb_error *err);

/*
 * validate_value — validate and coerce one value for the attribute `ref`
 * (from schema_resolve; borrowed), as the PATCH engine must for the values
 * it adds or replaces. `value` is borrowed. With VALIDATE_ATTRIBUTE the
 * value is the attribute's whole value (for a multi-valued attribute an
 * array, or a single element, which is wrapped); with VALIDATE_ELEMENT it
 * is one element of a multi-valued attribute (an error for a single-valued
 * one). Sub-attributes (ref->parent != NULL) take a plain value.
 * Returns a NEW normalised value — json null when the value is unassigned
 * (null, [], {}) so the caller can treat it as a removal — or NULL with
 * *err set: 400 mutability when the attribute or its parent is readOnly,
 * 400 invalidValue / invalidSyntax as validate_resource; unknown
 * sub-attributes as `opts` says (NULL: strict).
 */
json_t *validate_value(const struct attr_ref *ref, const json_t *value, enum validate_shape shape,
                       struct validate_opts *opts, struct rb_error *err);

/* validate_datetime — true if `s` is an xsd:dateTime with date and time (RFC 7643 §2.3.5). */
bool validate_datetime(const char *s);

/* validate_base64 — true if `s` is canonical base64 (RFC 4648 §4, padded). */
bool validate_base64(const char *s);

/* validate_boolean — 1 and *out set if `v` is a JSON boolean or a string
 * "true"/"false" in any case; 0 otherwise. `v` is borrowed. */
int validate_boolean(const json_t *v, bool *out);

#endif /* RB_VALIDATE_H */
