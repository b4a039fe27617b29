/*
 * rfc3339.h — the one date-time grammar of rosterbridge (RFC 3339 §5.6
 * `date-time`), used by filter comparisons, sorting and validation alike:
 *
 *   YYYY-MM-DD ("T" / "t" / " ") hh:mm:ss [ "." 1*DIGIT ] ( "Z" / "z" / ("+" / "-") hh:mm )
 *
 * The day must exist in its month (no 31 February; 29 February only in a
 * leap year), hh ≤ 23, mm ≤ 59, ss ≤ 60 (a leap second), offset hours ≤ 23.
 * The offset is required (an instant without one names no instant); year
 * 0000 is refused (xsd:dateTime has none); a space instead of "T" is
 * accepted (RFC 3339 §5.6, NOTE; filters always took it). Fraction digits
 * past the ninth are accepted and ignored.
 */
#ifndef RB_RFC3339_H
#define RB_RFC3339_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rfc3339_instant {
	int64_t sec; /* seconds since 1970-01-01T00:00:00Z (a leap second counts as :59 + 1) */
	long nsec;   /* 0 … 999999999 */
};

/*
 * rfc3339_parse — parse the `n` bytes at `s` as a whole date-time. Returns
 * true and fills *out (may be NULL) when it is one, else false.
 */
bool rfc3339_parse(const char *s, size_t n, struct rfc3339_instant *out);

/* rfc3339_cmp — <0, 0, >0 as a is before, at, after b. */
int rfc3339_cmp(const struct rfc3339_instant *a, const struct rfc3339_instant *b);

#endif /* RB_RFC3339_H */
