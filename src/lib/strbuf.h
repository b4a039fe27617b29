/*
 * strbuf.h — a growing NUL-terminated string for building LDAP filters and
 * URLs. A failed allocation sticks (`failed`), so a builder appends
 * without checking each step and checks once at the end.
 */
#ifndef RB_STRBUF_H
#define RB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s; /* owned (free()); NULL until something is appended */
	size_t len, cap;
	bool failed;
};

/* strbuf_addn — append `n` bytes of `s`. */
void strbuf_addn(struct strbuf *b, const char *s, size_t n);

/* strbuf_add — append the string `s` (NULL appends nothing). */
void strbuf_add(struct strbuf *b, const char *s);

/* strbuf_addf — append printf-formatted text. */
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* RB_STRBUF_H */
