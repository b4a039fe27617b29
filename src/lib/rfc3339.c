/* rfc3339.c — the one date-time grammar; see rfc3339.h. */
#include "lib/rfc3339.h"

static bool
rfc3339_digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
rfc3339_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

bool
rfc3339_parse(const char *s, size_t n, struct rfc3339_instant *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, dim;
	size_t i = 19;
	long nsec = 0;

	if (s == NULL || n < 20 || !rfc3339_digits(s, 4, &y) || s[4] != '-' ||
	    !rfc3339_digits(s + 5, 2, &mo) || s[7] != '-' || !rfc3339_digits(s + 8, 2, &d) ||
	    !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || !rfc3339_digits(s + 11, 2, &h) ||
	    s[13] != ':' || !rfc3339_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !rfc3339_digits(s + 17, 2, &sec))
		return false;
	if (y == 0 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60)
		return false;
	dim = mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	if (d < 1 || d > dim)
		return false;
	if (s[i] == '.') {
		size_t digits = 0;

		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits < 9) {
				nsec = nsec * 10 + (s[i] - '0');
				digits++;
			} else if (digits == 9) {
				digits = 10; /* count the rest once, ignore them */
			}
			i++;
		}
		if (digits == 0)
			return false;
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
	           rfc3339_digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
	           rfc3339_digits(s + i + 4, 2, &om)) {
		if (oh > 23 || om > 59)
			return false;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
		i += 6;
	} else {
		return false;
	}
	if (i != n)
		return false;
	if (out != NULL) {
		out->sec = rfc3339_days(y, (unsigned)mo, (unsigned)d) * 86400 + (int64_t)h * 3600 +
		           (int64_t)mi * 60 + sec - ((int64_t)oh * 3600 + (int64_t)om * 60);
		out->nsec = nsec;
	}
	return true;
}

int
rfc3339_cmp(const struct rfc3339_instant *a, const struct rfc3339_instant *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->nsec != b->nsec)
		return a->nsec < b->nsec ? -1 : 1;
	return 0;
}
