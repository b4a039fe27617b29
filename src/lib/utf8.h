/*
 * utf8.h — UTF-8 checks (RFC 3629): shortest form only, no surrogates
 * (U+D800–U+DFFF), nothing above U+10FFFF. One implementation for the log
 * escaper and for LDAP values on their way into JSON.
 */
#ifndef RB_UTF8_H
#define RB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * utf8_seq_len — the length (1–4) of the well-formed UTF-8 sequence at `s`
 * (at most `n` bytes readable), or 0 if the bytes there are not one.
 */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* utf8_valid — true if the `n` bytes at `s` are well-formed UTF-8 (NUL is allowed). */
bool utf8_valid(const char *s, size_t n);

#endif /* RB_UTF8_H */
