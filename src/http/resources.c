/*
 * resources.c — the SCIM resource endpoints. Not implemented yet: each
 * answers 501 with a SCIM error, and /ServiceProviderConfig is honest
 * about it until they are.
 */
#include "http/http.h"

static void
resources_not_yet(struct http_request *req, struct http_response *res)
{
	response_errorf(res, 501, NULL, "%s is not implemented yet", req->path);
}

void
resources_users(struct http_request *req, struct http_response *res)
{
	resources_not_yet(req, res);
}

void
resources_groups(struct http_request *req, struct http_response *res)
{
	resources_not_yet(req, res);
}

void
resources_schools(struct http_request *req, struct http_response *res)
{
	resources_not_yet(req, res);
}

void
resources_bulk(struct http_request *req, struct http_response *res)
{
	resources_not_yet(req, res);
}

void
resources_search_root(struct http_request *req, struct http_response *res)
{
	resources_not_yet(req, res);
}
