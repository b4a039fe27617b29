/* token.c — bearer tokens and their configuration line; see token.h. */
#include "lib/token.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "lib/config.h"

#define TOKEN_RANDOM_BYTES 32

int
token_base64(const unsigned char *in, size_t n, int url, char *out, size_t outlen)
{
	const char *alpha =
	    url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0, bits = 0;
	unsigned int acc = 0;

	if (outlen < (n + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i < n; i++) {
		acc = ((acc << 8) | in[i]) & 0xFFFF;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = alpha[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (6 - bits)) & 63];
	while (!url && o % 4 != 0)
		out[o++] = '=';
	out[o] = '\0';
	return 0;
}

int
token_generate(char out[TOKEN_TEXT_MAX], struct rb_error *err)
{
	unsigned char raw[TOKEN_RANDOM_BYTES];
	int rc;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof(raw)) < 0)
		return error_set(err, 500, NULL, "the random number generator failed");
	out[0] = 'r';
	out[1] = 'b';
	out[2] = '_';
	rc = token_base64(raw, sizeof(raw), 1, out + 3, TOKEN_TEXT_MAX - 3);
	gnutls_memset(raw, 0, sizeof(raw));
	if (rc < 0)
		return error_set(err, 500, NULL, "token buffer too small");
	return 0;
}

int
token_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CONFIG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
			return 0;
	return 1;
}

int
token_config_line(const char *token, size_t len, const char *tenant, const char *source,
                  const char *rights, char *out, size_t outlen, struct rb_error *err)
{
	char hex[65];
	int n;

	if (!token_name_valid(tenant))
		return error_set(err, 400, NULL,
		                 "tenant '%s': use 1-63 characters of a-z, 0-9 and '-'", tenant);
	if (!token_name_valid(source))
		return error_set(err, 400, NULL,
		                 "source '%s': use 1-63 characters of a-z, 0-9 and '-'", source);
	if (strcmp(rights, "read") != 0 && strcmp(rights, "write") != 0)
		return error_set(err, 400, NULL, "rights '%s': use read or write", rights);
	if (len == 0)
		return error_set(err, 400, NULL, "the token is empty");
	if (config_sha256_hex(token, len, hex) < 0)
		return error_set(err, 500, NULL, "SHA-256 failed");
	n = snprintf(out, outlen, "token sha256:%s tenant=%s source=%s rights=%s", hex, tenant,
	             source, rights);
	if (n < 0 || (size_t)n >= outlen)
		return error_set(err, 500, NULL, "the configuration line does not fit");
	return 0;
}
