/*
 * auth.c — Bearer authentication (SPEC §2.1, RFC 6750 §2.1).
 *
 * The presented token is hashed (SHA-256) and compared with every
 * configured hash in constant time (config_token_find). The token itself
 * is never stored, copied into a log line, or echoed in an error.
 */
#include "http/http.h"

#include <string.h>
#include <strings.h>

int
auth_check(struct http_request *req, struct rb_error *err)
{
	const char *h = request_header(req, "Authorization");
	const struct config_token *tok;
	size_t len;

	if (h == NULL)
		return error_set(err, 401, NULL,
		                 "authentication required: send Authorization: Bearer <token>");
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return error_set(err, 401, NULL,
		                 "only the Bearer authentication scheme is supported");
	h += 7;
	while (*h == ' ' || *h == '\t')
		h++;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len == 0)
		return error_set(err, 401, NULL, "the Bearer token is empty");
	tok = config_token_find(req->app->cfg, h, len);
	if (tok == NULL)
		return error_set(err, 401, NULL, "the Bearer token is not valid");
	req->auth.tenant = tok->tenant;
	req->auth.source = tok->source;
	req->auth.rights = tok->rights;
	req->auth.passwords = tok->passwords;
	req->auth.invite = tok->invite;
	req->authenticated = true;
	return 0;
}
