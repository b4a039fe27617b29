/*
 * token.h — bearer tokens as the daemon stores them (SPEC §2.1): the
 * daemon keeps only `token sha256:<hex> tenant=T source=S rights=R` lines;
 * the token itself is shown once, to whoever made it.
 *
 * Shared by the daemon (`rosterbridge -H`, config.c checking a line) and
 * `rosterctl token create`, so both agree on the hash and the line.
 */
#ifndef RB_TOKEN_H
#define RB_TOKEN_H

#include <stddef.h>

#include "lib/error.h"

/* 32 random bytes, base64url without padding: 43 characters + "rb_" prefix. */
#define TOKEN_TEXT_MAX 64

/*
 * token_generate — a new random token (GnuTLS's key-grade generator) into
 * out[TOKEN_TEXT_MAX], NUL-terminated. 0, or -1 with *err if the
 * generator failed.
 */
int token_generate(char out[TOKEN_TEXT_MAX], struct rb_error *err);

/*
 * token_base64 — base64 of n bytes into out (outlen bytes, NUL-terminated):
 * the standard alphabet with '=' padding, or with `url` the URL-safe one
 * without padding. 0, or -1 if out is too small.
 */
int token_base64(const unsigned char *in, size_t n, int url, char *out, size_t outlen);

/*
 * token_name_valid — true when `s` is a valid tenant or source name as the
 * configuration accepts it: 1–63 characters of [a-z0-9-].
 */
int token_name_valid(const char *s);

/*
 * token_config_line — the configuration line for `token` (len bytes):
 * "token sha256:<hex> tenant=T source=S rights=R" into out (outlen bytes,
 * NUL-terminated; 256 is always enough for valid names). `rights` is
 * "read" or "write". 0, or -1 with *err naming the bad argument.
 */
int token_config_line(const char *token, size_t len, const char *tenant, const char *source,
                      const char *rights, char *out, size_t outlen, struct rb_error *err);

#endif /* RB_TOKEN_H */
