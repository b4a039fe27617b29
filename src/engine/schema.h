/*
 * schema.h — the SCIM schema registry: the one source of truth for every
 * resource type, schema and attribute (RFC 7643 §2, §7, §8.7).
 *
 * The tables in schema.c describe User (core + enterprise + admin
 * extension), Group (core + admin group extension), School and Region. The engine
 * (validation, filter, path, PATCH, projection, sorting) reads them, and
 * /Schemas and /ResourceTypes are generated from them, so what we advertise
 * is exactly what we enforce.
 *
 * Glossary
 *   URN        a schema id, e.g. urn:ietf:params:scim:schemas:core:2.0:User
 *   core       the resource type's base schema (attributes at the top level
 *              of a resource's JSON)
 *   extension  a schema whose attributes live under a JSON member named by
 *              its URN
 *   common     id, externalId, meta (RFC 7643 §3.1): in every resource type,
 *              not in any schema's attribute list
 *
 * Everything here is static, immutable data: nothing is allocated, and all
 * returned pointers are borrowed for the life of the process.
 */
#ifndef RB_SCHEMA_H
#define RB_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SCHEMA_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCHEMA_CORE_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCHEMA_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCHEMA_ADMIN_USER "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User"
#define SCHEMA_ADMIN_GROUP "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group"
#define SCHEMA_SCHOOL "urn:rosterbridge:params:scim:schemas:core:2.0:School"
#define SCHEMA_REGION "urn:rosterbridge:params:scim:schemas:core:2.0:Region"
#define SCHEMA_LIST_RESPONSE "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCHEMA_PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCHEMA_SEARCH_REQUEST "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCHEMA_BULK_REQUEST "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCHEMA_BULK_RESPONSE "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCHEMA_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCHEMA_SPC "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCHEMA_RESOURCE_TYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCHEMA_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Schema"

enum attr_type {
	ATTR_STRING,
	ATTR_BOOLEAN,
	ATTR_DECIMAL,
	ATTR_INTEGER,
	ATTR_DATETIME,
	ATTR_BINARY,
	ATTR_REFERENCE,
	ATTR_COMPLEX,
};

enum attr_mutability { MUT_READWRITE, MUT_READONLY, MUT_IMMUTABLE, MUT_WRITEONLY };
enum attr_returned { RET_DEFAULT, RET_ALWAYS, RET_NEVER, RET_REQUEST };
enum attr_uniqueness { UNIQ_NONE, UNIQ_SERVER, UNIQ_GLOBAL };

struct attr_def {
	const char *name; /* NULL terminates a table */
	enum attr_type type;
	bool multi_valued;
	bool required;
	bool case_exact;
	enum attr_mutability mutability;
	enum attr_returned returned;
	enum attr_uniqueness uniqueness;
	const char *description;
	const char *const *canonical_values; /* NULL-terminated list, or NULL */
	const char *const *reference_types;  /* NULL-terminated list, or NULL */
	const struct attr_def *sub_attrs;    /* table for ATTR_COMPLEX, else NULL */
};

struct schema_def {
	const char *id; /* URN */
	const char *name;
	const char *description;
	const struct attr_def *attrs; /* table terminated by name == NULL */
};

struct schema_ext {
	const struct schema_def *schema;
	bool required;
};

struct resource_type_def {
	const char *id;       /* "User" */
	const char *name;     /* "User" */
	const char *endpoint; /* "/Users" */
	const char *description;
	const struct schema_def *schema;     /* core schema */
	const struct schema_ext *extensions; /* terminated by schema == NULL */
};

/*
 * A resolved attribute: which schema it belongs to (NULL for the common
 * attributes id/externalId/meta), its definition, and, for a sub-attribute,
 * the parent's definition.
 */
struct attr_ref {
	const struct schema_def *schema; /* borrowed; NULL for common attributes */
	const struct attr_def *attr;     /* borrowed; the attribute (or sub-attribute) */
	const struct attr_def *parent;   /* borrowed; the parent when attr is a sub-attribute */
};

/* schema_resource_types — NULL-terminated array of every resource type. Borrowed. */
const struct resource_type_def *const *schema_resource_types(void);

/* schema_resource_type — the resource type named `name` (case-insensitive), or NULL. Borrowed. */
const struct resource_type_def *schema_resource_type(const char *name);

/* schema_find — the schema with URN `urn` (case-insensitive), or NULL. Borrowed. */
const struct schema_def *schema_find(const char *urn);

/* schema_common_attrs — table of id, externalId, meta (terminated by name == NULL). Borrowed. */
const struct attr_def *schema_common_attrs(void);

/*
 * schema_attr_lookup — find attribute `name` (case-insensitive) of schema
 * `schema` (its top-level table), or sub-attribute `name` of `parent` when
 * parent != NULL. Returns a borrowed pointer or NULL.
 */
const struct attr_def *schema_attr_lookup(const struct schema_def *schema,
                                          const struct attr_def *parent, const char *name);

/*
 * schema_resolve — resolve an attribute name as written in a filter, path
 * or `attributes` parameter, relative to resource type `rt`:
 *   "userName", "name.givenName", "emails" (sub = NULL),
 *   "urn:…:enterprise:2.0:User:employeeNumber",
 *   "urn:…:enterprise:2.0:User:manager.value",
 *   "id", "externalId", "meta.lastModified".
 * Names are case-insensitive. Returns 0 and fills *out, or -1 if the name
 * is unknown. `len` is the number of bytes of `name` to consider (so the
 * caller need not copy out of a larger buffer).
 */
int schema_resolve(const struct resource_type_def *rt, const char *name, size_t len,
                   struct attr_ref *out);

/* schema_attr_type_name — "string", "boolean", … as in RFC 7643 §7. Static. */
const char *schema_attr_type_name(enum attr_type t);

/*
 * schema_to_json — the /Schemas representation of one schema (RFC 7643
 * §7), with meta.location under base_url (e.g. "http://h/scim/v2").
 * Returns a NEW reference, NULL on allocation failure.
 */
json_t *schema_to_json(const struct schema_def *schema, const char *base_url);

/* schema_resource_type_to_json — /ResourceTypes representation (§6). NEW reference. */
json_t *schema_resource_type_to_json(const struct resource_type_def *rt, const char *base_url);

/* schema_all — NULL-terminated array of every schema (for /Schemas). Borrowed. */
const struct schema_def *const *schema_all(void);

/* schema_rt_has_schema — true if `schema` is rt's core schema or one of its extensions. */
bool schema_rt_has_schema(const struct resource_type_def *rt, const struct schema_def *schema);

/* schema_mutability_name, schema_returned_name, schema_uniqueness_name —
 * "readOnly", "always", "server", … as in RFC 7643 §7. Static strings. */
const char *schema_mutability_name(enum attr_mutability m);
const char *schema_returned_name(enum attr_returned r);
const char *schema_uniqueness_name(enum attr_uniqueness u);

#endif /* RB_SCHEMA_H */
