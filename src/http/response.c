/* response.c — request accessors and response helpers; see http.h. */
#include "http/http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

const char *
request_arg(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn,
	                                   MHD_GET_ARGUMENT_KIND, name);
}

const char *
request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND,
	                                   name);
}

json_t *
request_json(const struct http_request *req, struct rb_error *err)
{
	json_error_t jerr;
	json_t *body;

	if (req->body == NULL || req->body_len == 0) {
		error_set(err, 400, SCIM_INVALID_SYNTAX, "the request has no body (a JSON object)");
		return NULL;
	}
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL) {
		error_set(err, 400, SCIM_INVALID_SYNTAX,
		          "the body is not valid JSON: %s at line %d, column %d", jerr.text,
		          jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		error_set(err, 400, SCIM_INVALID_SYNTAX, "the body must be a JSON object");
		return NULL;
	}
	return body;
}

void
response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	STAILQ_INIT(&res->headers);
}

void
response_clear(struct http_response *res)
{
	struct http_header *h;

	json_decref(res->json);
	res->json = NULL;
	free(res->text);
	res->text = NULL;
	while ((h = STAILQ_FIRST(&res->headers)) != NULL) {
		STAILQ_REMOVE_HEAD(&res->headers, entry);
		free(h->name);
		free(h->value);
		free(h);
	}
}

int
response_json(struct http_response *res, int status, json_t *body)
{
	if (body == NULL) {
		response_errorf(res, 500, NULL, "out of memory");
		return -1;
	}
	json_decref(res->json);
	res->json = body;
	free(res->text);
	res->text = NULL;
	res->status = status;
	return 0;
}

int
response_text(struct http_response *res, int status, const char *type, const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		return -1;
	json_decref(res->json);
	res->json = NULL;
	free(res->text);
	res->text = copy;
	res->text_type = type;
	res->status = status;
	return 0;
}

void
response_error(struct http_response *res, const struct rb_error *err)
{
	json_t *body = error_to_json(err);

	if (body == NULL) {
		response_text(res, 500, "text/plain", "out of memory\n");
		return;
	}
	/* Every 5xx leaves its cause in the log (503s are the pool's to log). */
	if (err->status == 0 || (err->status >= 500 && err->status != 503))
		log_warnx("http: answering %d: %s", err->status ? err->status : 500, err->detail);
	response_json(res, err->status ? err->status : 500, body);
}

void
response_errorf(struct http_response *res, int status, const char *scim_type, const char *fmt, ...)
{
	struct rb_error err;
	va_list ap;

	error_clear(&err);
	err.status = status;
	err.scim_type = scim_type;
	va_start(ap, fmt);
	vsnprintf(err.detail, sizeof(err.detail), fmt, ap);
	va_end(ap);
	response_error(res, &err);
}

int
response_header(struct http_response *res, const char *name, const char *value)
{
	struct http_header *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		free(h);
		return -1;
	}
	STAILQ_INSERT_TAIL(&res->headers, h, entry);
	return 0;
}
