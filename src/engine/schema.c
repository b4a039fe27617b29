/*
 * schema.c — the SCIM schema registry; see schema.h.
 *
 * The tables below are the one source of truth for every attribute the
 * server knows. They follow RFC 7643 §3.1 (common attributes), §4.1 and
 * §8.7.1 (core User), §4.2 (core Group), §4.3 (enterprise User) and SPEC
 * §2.3 (the rosterbridge admin extensions and the School resource).
 *
 * Every row is a designated initializer: fields left out take the RFC 7643
 * §2.2 defaults, which are also the zero values of the enums (readWrite,
 * returned default, uniqueness none, caseExact false, required false,
 * single-valued).
 */
#include "engine/schema.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------
 * Canonical values and reference types (NULL-terminated lists)
 */
static const char *const cv_email_type[] = {"work", "home", "other", NULL};
static const char *const cv_phone_type[] = {"work",  "home",  "mobile", "fax",
                                            "pager", "other", NULL};
static const char *const cv_im_type[] = {"aim",   "gtalk", "icq",   "xmpp", "msn",
                                         "skype", "qq",    "yahoo", NULL};
static const char *const cv_photo_type[] = {"photo", "thumbnail", NULL};
static const char *const cv_address_type[] = {"work", "home", "other", NULL};
static const char *const cv_group_membership[] = {"direct", "indirect", NULL};
static const char *const cv_member_type[] = {"User", "Group", NULL};
static const char *const cv_permission[] = {"view", "manage", NULL};
static const char *const cv_scope[] = {"school", "district", "region", "partnership", NULL};
static const char *const cv_invite_status[] = {"invited", "active", "expired", NULL};

static const char *const rt_external[] = {"external", NULL};
static const char *const rt_uri[] = {"uri", NULL};
static const char *const rt_user[] = {"User", NULL};
static const char *const rt_user_group[] = {"User", "Group", NULL};

/* ---------------------------------------------------------------------
 * Common attributes (RFC 7643 §3.1)
 */
static const struct attr_def meta_sub[] = {
    {.name = "resourceType",
     .type = ATTR_STRING,
     .case_exact = true,
     .mutability = MUT_READONLY,
     .description = "The name of the resource type of the resource."},
    {.name = "created",
     .type = ATTR_DATETIME,
     .mutability = MUT_READONLY,
     .description = "The \"DateTime\" that the resource was added to the service provider."},
    {.name = "lastModified",
     .type = ATTR_DATETIME,
     .mutability = MUT_READONLY,
     .description = "The most recent DateTime that the details of this resource were updated at "
                    "the service provider."},
    {.name = "location",
     .type = ATTR_REFERENCE,
     .case_exact = true,
     .mutability = MUT_READONLY,
     .reference_types = rt_uri,
     .description = "The URI of the resource being returned."},
    {.name = "version",
     .type = ATTR_STRING,
     .case_exact = true,
     .mutability = MUT_READONLY,
     .description = "The version of the resource being returned."},
    {.name = NULL},
};

static const struct attr_def common_attrs[] = {
    {.name = "id",
     .type = ATTR_STRING,
     .case_exact = true,
     .mutability = MUT_READONLY,
     .returned = RET_ALWAYS,
     .uniqueness = UNIQ_SERVER,
     .description = "A unique identifier for a SCIM resource as defined by the service provider."},
    {.name = "externalId",
     .type = ATTR_STRING,
     .case_exact = true,
     .description = "A String that is an identifier for the resource as defined by the "
                    "provisioning client."},
    {.name = "meta",
     .type = ATTR_COMPLEX,
     .mutability = MUT_READONLY,
     .sub_attrs = meta_sub,
     .description = "A complex attribute containing resource metadata."},
    {.name = NULL},
};

/* ---------------------------------------------------------------------
 * Core User (RFC 7643 §4.1, §8.7.1)
 */
#define SUB_DISPLAY(what)                                                                          \
	{                                                                                          \
		.name = "display", .type = ATTR_STRING,                                            \
		.description = "A human-readable name, primarily used for display purposes. " what \
	}
#define SUB_PRIMARY(what)                                                                          \
	{                                                                                          \
		.name = "primary", .type = ATTR_BOOLEAN,                                           \
		.description =                                                                     \
		    "A Boolean value indicating the 'primary' or preferred attribute value "       \
		    "for this attribute" what ". The primary attribute value 'true' MUST "         \
		    "appear no more than once."                                                    \
	}
#define ATTR_END                                                                                   \
	{                                                                                          \
		.name = NULL                                                                       \
	}

static const struct attr_def user_name_sub[] = {
    {.name = "formatted",
     .type = ATTR_STRING,
     .description = "The full name, including all middle names, titles, and suffixes as "
                    "appropriate, formatted for display."},
    {.name = "familyName",
     .type = ATTR_STRING,
     .description = "The family name of the User, or last name in most Western languages."},
    {.name = "givenName",
     .type = ATTR_STRING,
     .description = "The given name of the User, or first name in most Western languages."},
    {.name = "middleName", .type = ATTR_STRING, .description = "The middle name(s) of the User."},
    {.name = "honorificPrefix",
     .type = ATTR_STRING,
     .description = "The honorific prefix(es) of the User, or title in most Western languages."},
    {.name = "honorificSuffix",
     .type = ATTR_STRING,
     .description = "The honorific suffix(es) of the User, or suffix in most Western languages."},
    ATTR_END,
};

static const struct attr_def user_emails_sub[] = {
    {.name = "value",
     .type = ATTR_STRING,
     .description = "Email addresses for the user. The value SHOULD be canonicalized by the "
                    "service provider, e.g., 'bjensen@example.com' instead of "
                    "'bjensen@EXAMPLE.COM'."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .canonical_values = cv_email_type,
     .description = "A label indicating the attribute's function, e.g., 'work' or 'home'."},
    SUB_PRIMARY(", e.g., the preferred mailing address or primary email address"),
    ATTR_END,
};

static const struct attr_def user_phones_sub[] = {
    {.name = "value", .type = ATTR_STRING, .description = "Phone number of the User."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .canonical_values = cv_phone_type,
     .description = "A label indicating the attribute's function, e.g., 'work', 'home', "
                    "'mobile'."},
    SUB_PRIMARY(", e.g., the preferred phone number or primary phone number"),
    ATTR_END,
};

static const struct attr_def user_ims_sub[] = {
    {.name = "value",
     .type = ATTR_STRING,
     .description = "Instant messaging address for the User."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .canonical_values = cv_im_type,
     .description = "A label indicating the attribute's function, e.g., 'aim', 'gtalk', "
                    "'xmpp'."},
    SUB_PRIMARY(", e.g., the preferred messenger or primary messenger"),
    ATTR_END,
};

static const struct attr_def user_photos_sub[] = {
    {.name = "value",
     .type = ATTR_REFERENCE,
     .reference_types = rt_external,
     .description = "URL of a photo of the User."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .canonical_values = cv_photo_type,
     .description = "A label indicating the attribute's function, i.e., 'photo' or "
                    "'thumbnail'."},
    SUB_PRIMARY(", e.g., the preferred photo or thumbnail"),
    ATTR_END,
};

static const struct attr_def user_addresses_sub[] = {
    {.name = "formatted",
     .type = ATTR_STRING,
     .description = "The full mailing address, formatted for display or use with a mailing "
                    "label. This attribute MAY contain newlines."},
    {.name = "streetAddress",
     .type = ATTR_STRING,
     .description = "The full street address component, which may include house number, "
                    "street name, P.O. box, and multi-line extended street address "
                    "information. This attribute MAY contain newlines."},
    {.name = "locality", .type = ATTR_STRING, .description = "The city or locality component."},
    {.name = "region", .type = ATTR_STRING, .description = "The state or region component."},
    {.name = "postalCode",
     .type = ATTR_STRING,
     .description = "The zip code or postal code component."},
    {.name = "country", .type = ATTR_STRING, .description = "The country name component."},
    {.name = "type",
     .type = ATTR_STRING,
     .canonical_values = cv_address_type,
     .description = "A label indicating the attribute's function, e.g., 'work' or 'home'."},
    SUB_PRIMARY(", e.g., the preferred mailing address"),
    ATTR_END,
};

static const struct attr_def user_groups_sub[] = {
    {.name = "value",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .description = "The identifier of the User's group."},
    {.name = "$ref",
     .type = ATTR_REFERENCE,
     .mutability = MUT_READONLY,
     .reference_types = rt_user_group,
     .description = "The URI of the corresponding 'Group' resource to which the user belongs."},
    {.name = "display",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .description = "A human-readable name, primarily used for display purposes. READ-ONLY."},
    {.name = "type",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .canonical_values = cv_group_membership,
     .description = "A label indicating the attribute's function, e.g., 'direct' or "
                    "'indirect'."},
    ATTR_END,
};

static const struct attr_def user_entitlements_sub[] = {
    {.name = "value", .type = ATTR_STRING, .description = "The value of an entitlement."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .description = "A label indicating the attribute's function."},
    SUB_PRIMARY(""),
    ATTR_END,
};

static const struct attr_def user_roles_sub[] = {
    {.name = "value", .type = ATTR_STRING, .description = "The value of a role."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .description = "A label indicating the attribute's function."},
    SUB_PRIMARY(""),
    ATTR_END,
};

static const struct attr_def user_x509_sub[] = {
    {.name = "value", .type = ATTR_BINARY, .description = "The value of an X.509 certificate."},
    SUB_DISPLAY("READ-ONLY."),
    {.name = "type",
     .type = ATTR_STRING,
     .description = "A label indicating the attribute's function."},
    SUB_PRIMARY(""),
    ATTR_END,
};

static const struct attr_def user_attrs[] = {
    {.name = "userName",
     .type = ATTR_STRING,
     .required = true,
     .uniqueness = UNIQ_SERVER,
     .description = "Unique identifier for the User, typically used by the user to directly "
                    "authenticate to the service provider. Each User MUST include a non-empty "
                    "userName value. This identifier MUST be unique across the service "
                    "provider's entire set of Users. REQUIRED."},
    {.name = "name",
     .type = ATTR_COMPLEX,
     .sub_attrs = user_name_sub,
     .description = "The components of the user's real name."},
    {.name = "displayName",
     .type = ATTR_STRING,
     .description = "The name of the User, suitable for display to end-users."},
    {.name = "nickName",
     .type = ATTR_STRING,
     .description = "The casual way to address the user in real life."},
    {.name = "profileUrl",
     .type = ATTR_REFERENCE,
     .reference_types = rt_external,
     .description = "A fully qualified URL pointing to a page representing the User's online "
                    "profile."},
    {.name = "title",
     .type = ATTR_STRING,
     .description = "The user's title, such as \"Vice President.\""},
    {.name = "userType",
     .type = ATTR_STRING,
     .description = "Used to identify the relationship between the organization and the user."},
    {.name = "preferredLanguage",
     .type = ATTR_STRING,
     .description = "Indicates the User's preferred written or spoken language, e.g., 'en_US'."},
    {.name = "locale",
     .type = ATTR_STRING,
     .description = "Used to indicate the User's default location for purposes of localizing "
                    "items such as currency, date time format, or numerical representations."},
    {.name = "timezone",
     .type = ATTR_STRING,
     .description = "The User's time zone in the 'Olson' time zone database format, e.g., "
                    "'America/Los_Angeles'."},
    {.name = "active",
     .type = ATTR_BOOLEAN,
     .description = "A Boolean value indicating the User's administrative status."},
    {.name = "password",
     .type = ATTR_STRING,
     .mutability = MUT_WRITEONLY,
     .returned = RET_NEVER,
     .description = "The User's cleartext password. This attribute is intended to be used as a "
                    "means to specify an initial password when creating a new User or to reset "
                    "an existing User's password."},
    {.name = "emails",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_emails_sub,
     .description = "Email addresses for the user."},
    {.name = "phoneNumbers",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_phones_sub,
     .description = "Phone numbers for the User."},
    {.name = "ims",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_ims_sub,
     .description = "Instant messaging addresses for the User."},
    {.name = "photos",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_photos_sub,
     .description = "URLs of photos of the User."},
    {.name = "addresses",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_addresses_sub,
     .description = "A physical mailing address for this User."},
    {.name = "groups",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .mutability = MUT_READONLY,
     .sub_attrs = user_groups_sub,
     .description = "A list of groups to which the user belongs, either through direct "
                    "membership, through nested groups, or dynamically calculated."},
    {.name = "entitlements",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_entitlements_sub,
     .description = "A list of entitlements for the User."},
    {.name = "roles",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_roles_sub,
     .description = "A list of roles for the User."},
    {.name = "x509Certificates",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = user_x509_sub,
     .description = "A list of certificates issued to the User."},
    ATTR_END,
};

/* ---------------------------------------------------------------------
 * Enterprise User extension (RFC 7643 §4.3)
 */
static const struct attr_def enterprise_manager_sub[] = {
    {.name = "value",
     .type = ATTR_STRING,
     .description = "The id of the SCIM resource representing the User's manager."},
    {.name = "$ref",
     .type = ATTR_REFERENCE,
     .reference_types = rt_user,
     .description = "The URI of the SCIM resource representing the User's manager."},
    {.name = "displayName",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .description = "The displayName of the User's manager."},
    ATTR_END,
};

static const struct attr_def enterprise_attrs[] = {
    {.name = "employeeNumber",
     .type = ATTR_STRING,
     .description = "Numeric or alphanumeric identifier assigned to a person, typically based "
                    "on order of hire or association with an organization."},
    {.name = "costCenter",
     .type = ATTR_STRING,
     .description = "Identifies the name of a cost center."},
    {.name = "organization",
     .type = ATTR_STRING,
     .description = "Identifies the name of an organization."},
    {.name = "division", .type = ATTR_STRING, .description = "Identifies the name of a division."},
    {.name = "department",
     .type = ATTR_STRING,
     .description = "Identifies the name of a department."},
    {.name = "manager",
     .type = ATTR_COMPLEX,
     .sub_attrs = enterprise_manager_sub,
     .description = "The User's manager."},
    ATTR_END,
};

/* ---------------------------------------------------------------------
 * rosterbridge admin extensions (SPEC §2.3)
 */
#define ADMIN_PERMISSION(mut)                                                                      \
	{                                                                                          \
		.name = "permission", .type = ATTR_STRING, .mutability = mut,                      \
		.canonical_values = cv_permission,                                                 \
		.description =                                                                     \
		    "view: can access the administrator dashboard; manage: dashboard and "         \
		    "Manage Users for the granted schools."                                        \
	}
#define ADMIN_CAN_MANAGE(mut)                                                                      \
	{                                                                                          \
		.name = "canManageAdmins", .type = ATTR_BOOLEAN, .mutability = mut,                \
		.description =                                                                     \
		    "User can invite and manage administrators for the assigned schools."          \
	}
#define ADMIN_SCOPE(mut)                                                                           \
	{                                                                                          \
		.name = "scope", .type = ATTR_STRING, .mutability = mut,                           \
		.canonical_values = cv_scope,                                                      \
		.description =                                                                     \
		    "What the grant covers: a listed set of schools, the whole district, one "     \
		    "region, or the whole partnership. Default 'school'."                          \
	}
#define ADMIN_SCHOOLS(mut)                                                                         \
	{                                                                                          \
		.name = "schools", .type = ATTR_STRING, .multi_valued = true, .mutability = mut,   \
		.description = "School ids or externalIds, for scope 'school'."                    \
	}
#define ADMIN_REGION(mut)                                                                          \
	{                                                                                          \
		.name = "region", .type = ATTR_STRING, .mutability = mut,                          \
		.description = "Region id, for scope 'region'."                                    \
	}

static const struct attr_def admin_grants_sub[] = {
    {.name = "source",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .description = "Who gave the grant: 'in-product' or the name of a SCIM source."},
    ADMIN_SCOPE(MUT_READONLY),
    ADMIN_SCHOOLS(MUT_READONLY),
    ADMIN_REGION(MUT_READONLY),
    ADMIN_PERMISSION(MUT_READONLY),
    ADMIN_CAN_MANAGE(MUT_READONLY),
    {.name = "active",
     .type = ATTR_BOOLEAN,
     .mutability = MUT_READONLY,
     .description = "Whether the grant is active (not suspended by its source)."},
    {.name = "origin",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .description = "'direct', or the id of the role group the grant comes from."},
    ATTR_END,
};

static const struct attr_def admin_user_attrs[] = {
    ADMIN_PERMISSION(MUT_READWRITE),
    ADMIN_CAN_MANAGE(MUT_READWRITE),
    ADMIN_SCOPE(MUT_READWRITE),
    ADMIN_SCHOOLS(MUT_READWRITE),
    ADMIN_REGION(MUT_READWRITE),
    {.name = "grants",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .mutability = MUT_READONLY,
     .sub_attrs = admin_grants_sub,
     .description = "Every grant of the administrator, from every source."},
    {.name = "inviteStatus",
     .type = ATTR_STRING,
     .mutability = MUT_READONLY,
     .canonical_values = cv_invite_status,
     .description = "State of the in-product invitation: invited, active or expired "
                    "(invited, and its link ran out)."},
    {.name = "inviteDeliveryFailed",
     .type = ATTR_BOOLEAN,
     .mutability = MUT_READONLY,
     .description = "Present and true while the last attempt to e-mail the invitation "
                    "failed; the bridge keeps retrying (the reason is in the console)."},
    ATTR_END,
};

static const struct attr_def admin_group_attrs[] = {
    ADMIN_PERMISSION(MUT_READWRITE), ADMIN_CAN_MANAGE(MUT_READWRITE), ADMIN_SCOPE(MUT_READWRITE),
    ADMIN_SCHOOLS(MUT_READWRITE),    ADMIN_REGION(MUT_READWRITE),     ATTR_END,
};

/* ---------------------------------------------------------------------
 * Core Group (RFC 7643 §4.2, §8.7.1)
 */
static const struct attr_def group_members_sub[] = {
    {.name = "value",
     .type = ATTR_STRING,
     .mutability = MUT_IMMUTABLE,
     .description = "Identifier of the member of this Group."},
    {.name = "$ref",
     .type = ATTR_REFERENCE,
     .mutability = MUT_IMMUTABLE,
     .reference_types = rt_user_group,
     .description = "The URI corresponding to a SCIM resource that is a member of this Group."},
    {.name = "display",
     .type = ATTR_STRING,
     .description = "A human-readable name, primarily used for display purposes."},
    {.name = "type",
     .type = ATTR_STRING,
     .mutability = MUT_IMMUTABLE,
     .canonical_values = cv_member_type,
     .description = "A label indicating the type of resource, e.g., 'User' or 'Group'."},
    ATTR_END,
};

static const struct attr_def group_attrs[] = {
    {.name = "displayName",
     .type = ATTR_STRING,
     .required = true,
     .description = "A human-readable name for the Group. REQUIRED."},
    {.name = "members",
     .type = ATTR_COMPLEX,
     .multi_valued = true,
     .sub_attrs = group_members_sub,
     .description = "A list of members of the Group."},
    ATTR_END,
};

/* ---------------------------------------------------------------------
 * School (SPEC §2.3)
 */
static const struct attr_def school_attrs[] = {
    {.name = "name",
     .type = ATTR_STRING,
     .required = true,
     .description = "The name of the school. REQUIRED."},
    {.name = "region", .type = ATTR_STRING, .description = "The id of the region of the school."},
    {.name = "active", .type = ATTR_BOOLEAN, .description = "Whether the school is active."},
    ATTR_END,
};

/* ---------------------------------------------------------------------
 * Region (SPEC §1: regions of a partnership tenant). `name` is the region's
 * key: schools' `region` and grants' `region` hold it, so it never changes.
 */
static const struct attr_def region_attrs[] = {
    {.name = "name",
     .type = ATTR_STRING,
     .required = true,
     .mutability = MUT_IMMUTABLE,
     .uniqueness = UNIQ_SERVER,
     .description = "The region's key, as schools' and grants' `region` name it. REQUIRED; "
                    "it cannot change."},
    {.name = "displayName", .type = ATTR_STRING, .description = "The region's display name."},
    ATTR_END,
};

/* ---------------------------------------------------------------------
 * Schemas and resource types
 */
static const struct schema_def schema_user = {SCHEMA_CORE_USER, "User", "User Account", user_attrs};
static const struct schema_def schema_enterprise = {SCHEMA_ENTERPRISE_USER, "EnterpriseUser",
                                                    "Enterprise User", enterprise_attrs};
static const struct schema_def schema_admin_user = {
    SCHEMA_ADMIN_USER, "AdministratorUser",
    "School-district administrator: the calling source's grant, and every grant", admin_user_attrs};
static const struct schema_def schema_group = {SCHEMA_CORE_GROUP, "Group", "Group", group_attrs};
static const struct schema_def schema_admin_group = {SCHEMA_ADMIN_GROUP, "AdministratorGroup",
                                                     "Role group: every member holds this grant",
                                                     admin_group_attrs};
static const struct schema_def schema_school = {SCHEMA_SCHOOL, "School", "School site of a tenant",
                                                school_attrs};
static const struct schema_def schema_region = {SCHEMA_REGION, "Region",
                                                "Region of a partnership tenant", region_attrs};

static const struct schema_def *const all_schemas[] = {
    &schema_user,        &schema_enterprise, &schema_admin_user, &schema_group,
    &schema_admin_group, &schema_school,     &schema_region,     NULL,
};

static const struct schema_ext user_exts[] = {
    {&schema_enterprise, false},
    {&schema_admin_user, false},
    {NULL, false},
};
static const struct schema_ext group_exts[] = {
    {&schema_admin_group, false},
    {NULL, false},
};
static const struct schema_ext no_exts[] = {
    {NULL, false},
};

static const struct resource_type_def rt_user_def = {"User",         "User",       "/Users",
                                                     "User Account", &schema_user, user_exts};
static const struct resource_type_def rt_group_def = {"Group", "Group",       "/Groups",
                                                      "Group", &schema_group, group_exts};
static const struct resource_type_def rt_school_def = {"School", "School",       "/Schools",
                                                       "School", &schema_school, no_exts};
static const struct resource_type_def rt_region_def = {"Region", "Region",       "/Regions",
                                                       "Region", &schema_region, no_exts};

static const struct resource_type_def *const all_resource_types[] = {
    &rt_user_def, &rt_group_def, &rt_school_def, &rt_region_def, NULL,
};

/* ---------------------------------------------------------------------
 * Lookups
 */
const struct resource_type_def *const *
schema_resource_types(void)
{
	return all_resource_types;
}

const struct resource_type_def *
schema_resource_type(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; all_resource_types[i] != NULL; i++)
		if (strcasecmp(all_resource_types[i]->name, name) == 0)
			return all_resource_types[i];
	return NULL;
}

const struct schema_def *
schema_find(const char *urn)
{
	size_t i;

	if (urn == NULL)
		return NULL;
	for (i = 0; all_schemas[i] != NULL; i++)
		if (strcasecmp(all_schemas[i]->id, urn) == 0)
			return all_schemas[i];
	return NULL;
}

const struct schema_def *const *
schema_all(void)
{
	return all_schemas;
}

const struct attr_def *
schema_common_attrs(void)
{
	return common_attrs;
}

/* table_lookup_n — attribute named by the `len` bytes at `name` in `table`. */
static const struct attr_def *
table_lookup_n(const struct attr_def *table, const char *name, size_t len)
{
	const struct attr_def *a;

	if (table == NULL)
		return NULL;
	for (a = table; a->name != NULL; a++)
		if (strlen(a->name) == len && strncasecmp(a->name, name, len) == 0)
			return a;
	return NULL;
}

const struct attr_def *
schema_attr_lookup(const struct schema_def *schema, const struct attr_def *parent, const char *name)
{
	if (name == NULL)
		return NULL;
	if (parent != NULL)
		return table_lookup_n(parent->sub_attrs, name, strlen(name));
	if (schema == NULL)
		return NULL;
	return table_lookup_n(schema->attrs, name, strlen(name));
}

bool
schema_rt_has_schema(const struct resource_type_def *rt, const struct schema_def *schema)
{
	size_t i;

	if (rt == NULL || schema == NULL)
		return false;
	if (rt->schema == schema)
		return true;
	for (i = 0; rt->extensions[i].schema != NULL; i++)
		if (rt->extensions[i].schema == schema)
			return true;
	return false;
}

/*
 * urn_prefix_match — the schema of `rt` whose URN is followed by ':' at
 * the start of name[0..len), longest first (no URN of ours is a prefix of
 * another today, but "longest" keeps it right if one ever is).
 */
static const struct schema_def *
urn_prefix_match(const struct resource_type_def *rt, const char *name, size_t len)
{
	const struct schema_def *best = NULL;
	size_t best_len = 0, i, n;

	n = strlen(rt->schema->id);
	if (n < len && name[n] == ':' && strncasecmp(rt->schema->id, name, n) == 0) {
		best = rt->schema;
		best_len = n;
	}
	for (i = 0; rt->extensions[i].schema != NULL; i++) {
		const struct schema_def *s = rt->extensions[i].schema;

		n = strlen(s->id);
		if (n > best_len && n < len && name[n] == ':' && strncasecmp(s->id, name, n) == 0) {
			best = s;
			best_len = n;
		}
	}
	return best;
}

int
schema_resolve(const struct resource_type_def *rt, const char *name, size_t len,
               struct attr_ref *out)
{
	const struct schema_def *schema = NULL;
	const struct attr_def *top = NULL, *sub;
	const char *dot;
	size_t toplen;

	if (rt == NULL || name == NULL || out == NULL || len == 0)
		return -1;
	if (len > 4 && strncasecmp(name, "urn:", 4) == 0) {
		schema = urn_prefix_match(rt, name, len);
		if (schema == NULL)
			return -1; /* unknown URN, or a URN alone: not an attribute */
		toplen = strlen(schema->id) + 1;
		name += toplen;
		len -= toplen;
		if (len == 0)
			return -1;
	}
	dot = memchr(name, '.', len);
	toplen = dot != NULL ? (size_t)(dot - name) : len;
	if (toplen == 0)
		return -1;

	if (schema == NULL || schema == rt->schema) {
		/* common attributes: unprefixed, or (leniently) under the core URN */
		top = table_lookup_n(common_attrs, name, toplen);
		if (top != NULL) {
			schema = NULL;
		} else {
			schema = rt->schema;
			top = table_lookup_n(schema->attrs, name, toplen);
		}
	} else {
		top = table_lookup_n(schema->attrs, name, toplen);
	}
	if (top == NULL)
		return -1;

	out->schema = schema;
	if (dot == NULL) {
		out->attr = top;
		out->parent = NULL;
		return 0;
	}
	if (top->type != ATTR_COMPLEX)
		return -1;
	sub = table_lookup_n(top->sub_attrs, dot + 1, len - toplen - 1);
	if (sub == NULL)
		return -1;
	out->attr = sub;
	out->parent = top;
	return 0;
}

const char *
schema_attr_type_name(enum attr_type t)
{
	switch (t) {
	case ATTR_STRING:
		return "string";
	case ATTR_BOOLEAN:
		return "boolean";
	case ATTR_DECIMAL:
		return "decimal";
	case ATTR_INTEGER:
		return "integer";
	case ATTR_DATETIME:
		return "dateTime";
	case ATTR_BINARY:
		return "binary";
	case ATTR_REFERENCE:
		return "reference";
	case ATTR_COMPLEX:
		return "complex";
	}
	return "string";
}

const char *
schema_mutability_name(enum attr_mutability m)
{
	switch (m) {
	case MUT_READWRITE:
		return "readWrite";
	case MUT_READONLY:
		return "readOnly";
	case MUT_IMMUTABLE:
		return "immutable";
	case MUT_WRITEONLY:
		return "writeOnly";
	}
	return "readWrite";
}

const char *
schema_returned_name(enum attr_returned r)
{
	switch (r) {
	case RET_DEFAULT:
		return "default";
	case RET_ALWAYS:
		return "always";
	case RET_NEVER:
		return "never";
	case RET_REQUEST:
		return "request";
	}
	return "default";
}

const char *
schema_uniqueness_name(enum attr_uniqueness u)
{
	switch (u) {
	case UNIQ_NONE:
		return "none";
	case UNIQ_SERVER:
		return "server";
	case UNIQ_GLOBAL:
		return "global";
	}
	return "none";
}

/* ---------------------------------------------------------------------
 * JSON representations (RFC 7643 §6, §7, §8.7)
 */

/* strlist_to_json — NEW array of the NULL-terminated list, NULL on ENOMEM. */
static json_t *
strlist_to_json(const char *const *list)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; list[i] != NULL; i++) {
		if (json_array_append_new(arr, json_string(list[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *attrs_to_json(const struct attr_def *table);

/*
 * attr_to_json — one attribute as in RFC 7643 §7 / §8.7.1: "caseExact" is
 * given for the string-like types, "uniqueness" for all but boolean (as in
 * the RFC's own representation of "active"), "canonicalValues",
 * "referenceTypes" and "subAttributes" where they apply. NEW reference.
 */
static json_t *
attr_to_json(const struct attr_def *a)
{
	json_t *o, *v;
	int rc = 0;

	o = json_object();
	if (o == NULL)
		return NULL;
	rc |= json_object_set_new(o, "name", json_string(a->name));
	rc |= json_object_set_new(o, "type", json_string(schema_attr_type_name(a->type)));
	if (a->type == ATTR_COMPLEX) {
		v = attrs_to_json(a->sub_attrs);
		rc |= v == NULL ? -1 : json_object_set_new(o, "subAttributes", v);
	}
	rc |= json_object_set_new(o, "multiValued", json_boolean(a->multi_valued));
	rc |= json_object_set_new(o, "description",
	                          json_string(a->description ? a->description : ""));
	rc |= json_object_set_new(o, "required", json_boolean(a->required));
	if (a->canonical_values != NULL) {
		v = strlist_to_json(a->canonical_values);
		rc |= v == NULL ? -1 : json_object_set_new(o, "canonicalValues", v);
	}
	if (a->type != ATTR_COMPLEX && a->type != ATTR_BOOLEAN && a->type != ATTR_INTEGER &&
	    a->type != ATTR_DECIMAL)
		rc |= json_object_set_new(o, "caseExact", json_boolean(a->case_exact));
	rc |= json_object_set_new(o, "mutability",
	                          json_string(schema_mutability_name(a->mutability)));
	rc |= json_object_set_new(o, "returned", json_string(schema_returned_name(a->returned)));
	if (a->type != ATTR_BOOLEAN)
		rc |= json_object_set_new(o, "uniqueness",
		                          json_string(schema_uniqueness_name(a->uniqueness)));
	if (a->reference_types != NULL) {
		v = strlist_to_json(a->reference_types);
		rc |= v == NULL ? -1 : json_object_set_new(o, "referenceTypes", v);
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* attrs_to_json — NEW array of a whole table. */
static json_t *
attrs_to_json(const struct attr_def *table)
{
	json_t *arr = json_array();
	const struct attr_def *a;

	if (arr == NULL)
		return NULL;
	for (a = table; a != NULL && a->name != NULL; a++) {
		if (json_array_append_new(arr, attr_to_json(a)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* meta_to_json — NEW {"resourceType": rtype, "location": base/coll/id}. */
static json_t *
meta_to_json(const char *rtype, const char *base_url, const char *coll, const char *id)
{
	char loc[1024];
	int n;

	n = snprintf(loc, sizeof(loc), "%s/%s/%s", base_url ? base_url : "", coll, id);
	if (n < 0 || (size_t)n >= sizeof(loc))
		return NULL;
	return json_pack("{s:s, s:s}", "resourceType", rtype, "location", loc);
}

json_t *
schema_to_json(const struct schema_def *schema, const char *base_url)
{
	json_t *o = NULL, *attrs = NULL, *meta = NULL;

	if (schema == NULL)
		return NULL;
	attrs = attrs_to_json(schema->attrs);
	meta = meta_to_json("Schema", base_url, "Schemas", schema->id);
	if (attrs == NULL || meta == NULL)
		goto fail;
	o = json_pack("{s:[s], s:s, s:s, s:s, s:O, s:O}", "schemas", SCHEMA_SCHEMA, "id",
	              schema->id, "name", schema->name, "description", schema->description,
	              "attributes", attrs, "meta", meta);
fail:
	json_decref(attrs);
	json_decref(meta);
	return o;
}

json_t *
schema_resource_type_to_json(const struct resource_type_def *rt, const char *base_url)
{
	json_t *o = NULL, *exts = NULL, *meta = NULL;
	size_t i;

	if (rt == NULL)
		return NULL;
	exts = json_array();
	meta = meta_to_json("ResourceType", base_url, "ResourceTypes", rt->id);
	if (exts == NULL || meta == NULL)
		goto fail;
	for (i = 0; rt->extensions[i].schema != NULL; i++) {
		if (json_array_append_new(exts, json_pack("{s:s, s:b}", "schema",
		                                          rt->extensions[i].schema->id, "required",
		                                          rt->extensions[i].required)) != 0)
			goto fail;
	}
	o = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s}", "schemas", SCHEMA_RESOURCE_TYPE, "id",
	              rt->id, "name", rt->name, "endpoint", rt->endpoint, "description",
	              rt->description, "schema", rt->schema->id);
	if (o == NULL)
		goto fail;
	/* RFC 7643 §6: schemaExtensions is OPTIONAL; left out when there is none */
	if ((json_array_size(exts) > 0 && json_object_set(o, "schemaExtensions", exts) != 0) ||
	    json_object_set(o, "meta", meta) != 0) {
		json_decref(o);
		o = NULL;
	}
fail:
	json_decref(exts);
	json_decref(meta);
	return o;
}
