/* strbuf.c — a growing string; see strbuf.h. */
#include "lib/strbuf.h"

#include <stdlib.h>
#include <string.h>

void
strbuf_addn(struct strbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *ns;
		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
strbuf_add(struct strbuf *b, const char *s)
{
	if (s != NULL)
		strbuf_addn(b, s, strlen(s));
}
