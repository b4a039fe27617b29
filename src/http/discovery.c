/*
 * discovery.c — /ServiceProviderConfig, /ResourceTypes, /Schemas
 * (RFC 7644 §4), generated from the schema registry (engine/schema.c), so
 * what is advertised is what the engine enforces.
 */
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dir/dir.h"
#include "engine/schema.h"

/* RFC 7644 §4: "filter" on these endpoints SHOULD be answered 403. */
static bool
discovery_refuse_filter(struct http_request *req, struct http_response *res)
{
	if (request_arg(req, "filter") == NULL)
		return false;
	response_errorf(res, 403, NULL, "filtering is not supported on discovery endpoints");
	return true;
}

static char *
discovery_base(const struct http_request *req, char *buf, size_t len)
{
	snprintf(buf, len, "%s/scim/v2", req->app->cfg->base_url);
	return buf;
}

void
discovery_service_provider_config(struct http_request *req, struct http_response *res)
{
	const struct config *cfg = req->app->cfg;
	struct dir_ctx ctx;
	char base[512], loc[600];
	json_t *spc;

	if (discovery_refuse_filter(req, res))
		return;
	/* changePassword: what a write of `password` by this caller does (dir layer). */
	resources_ctx(req, &ctx, base, sizeof(base));
	discovery_base(req, base, sizeof(base));
	snprintf(loc, sizeof(loc), "%s/ServiceProviderConfig", base);
	spc = json_pack(
	    "{s:[s], s:{s:b}, s:{s:b, s:i, s:I}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b},"
	    " s:[{s:s, s:s, s:s, s:b}], s:{s:s, s:s}}",
	    "schemas", SCHEMA_SPC, "patch", "supported", 1, "bulk", "supported", 1, "maxOperations",
	    cfg->bulk_max_operations, "maxPayloadSize", (json_int_t)cfg->bulk_max_payload, "filter",
	    "supported", 1, "maxResults", cfg->max_results, "changePassword", "supported",
	    (int)dir_user_password_writable(&ctx), "sort", "supported", 1, "etag", "supported", 1,
	    "authenticationSchemes", "type", "oauthbearertoken", "name", "OAuth Bearer Token",
	    "description",
	    "Authentication with a bearer token issued by the district administrator (RFC 6750)",
	    "primary", 1, "meta", "resourceType", "ServiceProviderConfig", "location", loc);
	response_json(res, 200, spc);
}

static json_t *
discovery_list(json_t *resources)
{
	size_t n = json_array_size(resources);

	return json_pack("{s:[s], s:I, s:i, s:I, s:o}", "schemas", SCHEMA_LIST_RESPONSE,
	                 "totalResults", (json_int_t)n, "startIndex", 1, "itemsPerPage",
	                 (json_int_t)n, "Resources", resources);
}

void
discovery_resource_types(struct http_request *req, struct http_response *res)
{
	const struct resource_type_def *const *rts = schema_resource_types();
	const char *name = req->subpath;
	char base[512];
	json_t *arr;

	if (discovery_refuse_filter(req, res))
		return;
	discovery_base(req, base, sizeof(base));
	if (name != NULL && *name == '/')
		name++;
	if (name != NULL && *name != '\0') {
		const struct resource_type_def *rt = schema_resource_type(name);
		if (rt == NULL) {
			response_errorf(res, 404, NULL, "no resource type named %s", name);
			return;
		}
		response_json(res, 200, schema_resource_type_to_json(rt, base));
		return;
	}
	arr = json_array();
	for (; arr != NULL && *rts != NULL; rts++)
		json_array_append_new(arr, schema_resource_type_to_json(*rts, base));
	response_json(res, 200, discovery_list(arr));
}

void
discovery_schemas(struct http_request *req, struct http_response *res)
{
	const struct resource_type_def *const *rts;
	const char *urn = req->subpath;
	char base[512];
	json_t *arr;
	size_t i;

	if (discovery_refuse_filter(req, res))
		return;
	discovery_base(req, base, sizeof(base));
	if (urn != NULL && *urn == '/')
		urn++;
	if (urn != NULL && *urn != '\0') {
		const struct schema_def *s = schema_find(urn);
		if (s == NULL) {
			response_errorf(res, 404, NULL, "no schema %s", urn);
			return;
		}
		response_json(res, 200, schema_to_json(s, base));
		return;
	}
	arr = json_array();
	/* Every schema once: each resource type's core schema and extensions. */
	for (rts = schema_resource_types(); arr != NULL && *rts != NULL; rts++) {
		const struct resource_type_def *rt = *rts;
		const struct schema_def *list[16];
		size_t n = 0, j;
		list[n++] = rt->schema;
		for (i = 0; rt->extensions && rt->extensions[i].schema && n < 16; i++)
			list[n++] = rt->extensions[i].schema;
		for (j = 0; j < n; j++) {
			bool seen = false;
			for (i = 0; i < json_array_size(arr); i++) {
				const char *id = json_string_value(
				    json_object_get(json_array_get(arr, i), "id"));
				if (id != NULL && !strcmp(id, list[j]->id))
					seen = true;
			}
			if (!seen)
				json_array_append_new(arr, schema_to_json(list[j], base));
		}
	}
	response_json(res, 200, discovery_list(arr));
}
