/* error.c — the one error type; see error.h. */
#include "lib/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/utf8.h"

int
error_set(struct rb_error *err, int status, const char *scim_type, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->status != 0)
		return -1;
	err->status = status;
	err->scim_type = scim_type;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}

void
error_clear(struct rb_error *err)
{
	if (err == NULL)
		return;
	err->status = 0;
	err->scim_type = NULL;
	err->detail[0] = '\0';
}

int
error_is_set(const struct rb_error *err)
{
	return err != NULL && err->status != 0;
}

json_t *
error_to_json(const struct rb_error *err)
{
	char status[16], detail[RB_ERROR_DETAIL_MAX];
	const unsigned char *p = (const unsigned char *)err->detail;
	size_t n = strnlen(err->detail, sizeof(err->detail) - 1), i = 0, o = 0;
	json_t *body;
	int code = err->status ? err->status : 500;

	/*
	 * A detail may quote what the client sent (a method, a path) or be cut
	 * inside a character by vsnprintf: bytes that are not UTF-8 become '?',
	 * so the error body is always valid JSON.
	 */
	while (i < n) {
		size_t k = utf8_seq_len(p + i, n - i);
		if (k == 0) {
			detail[o++] = '?';
			i++;
			continue;
		}
		memcpy(detail + o, p + i, k);
		o += k;
		i += k;
	}
	detail[o] = '\0';
	snprintf(status, sizeof(status), "%d", code);
	body =
	    json_pack("{s:[s], s:s, s:s}", "schemas", "urn:ietf:params:scim:api:messages:2.0:Error",
	              "status", status, "detail", detail[0] ? detail : "error");
	if (body == NULL)
		return NULL;
	if (err->scim_type != NULL)
		json_object_set_new(body, "scimType", json_string(err->scim_type));
	return body;
}
