/*
 * bench_stats.h — latency samples and the one result line both load
 * generators print (ldapbench.c, httpbench.c). Header-only: each bench
 * binary is one translation unit plus this file.
 *
 * Result line (parsed by bench/run, one per run):
 *   RESULT op=<op> conns=<n> n=<ok> errors=<e> secs=<s> ops_s=<r> p50_ms=<x> p99_ms=<y>
 */
#ifndef RB_BENCH_STATS_H
#define RB_BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growable array of latencies in microseconds; owned by its user. */
struct stats {
	double *us;
	size_t n, cap;
	unsigned long errors;
};

static inline double
stats_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record one latency. Returns -1 when out of memory (the sample is lost). */
static inline int
stats_add(struct stats *s, double us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		double *p = realloc(s->us, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->us = p;
		s->cap = cap;
	}
	s->us[s->n++] = us;
	return 0;
}

/* Append every sample of `from` to `to`; `from` keeps its own. */
static inline void
stats_merge(struct stats *to, const struct stats *from)
{
	for (size_t i = 0; i < from->n; i++)
		stats_add(to, from->us[i]);
	to->errors += from->errors;
}

static int
stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) in milliseconds; sorts the samples. 0 when empty. */
static inline double
stats_quantile_ms(struct stats *s, double q)
{
	size_t i;

	if (s->n == 0)
		return 0;
	qsort(s->us, s->n, sizeof(*s->us), stats_cmp);
	i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return s->us[i] / 1000.0;
}

/* Print the RESULT line on stdout. */
static inline void
stats_print(struct stats *s, const char *op, int conns, double secs)
{
	double p50 = stats_quantile_ms(s, 0.50), p99 = stats_quantile_ms(s, 0.99);

	printf("RESULT op=%s conns=%d n=%zu errors=%lu secs=%.2f ops_s=%.1f p50_ms=%.3f "
	       "p99_ms=%.3f\n",
	       op, conns, s->n, s->errors, secs, secs > 0 ? (double)s->n / secs : 0.0, p50, p99);
	fflush(stdout);
}

/*
 * Read a file of "uuid<TAB>name" lines (as bench/run writes them with
 * ldapsearch). Fills NEW arrays of NEW strings; returns the count or -1.
 */
static inline long
stats_read_ids(const char *path, char ***uuids, char ***names)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0, cap = 0;
	char **u = NULL, **nm = NULL;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *tab = strchr(line, '\t'), *end;
		if (tab == NULL)
			continue;
		*tab = '\0';
		end = tab + 1 + strcspn(tab + 1, "\r\n");
		*end = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			char **pu = realloc(u, cap * sizeof(*pu));
			if (pu == NULL)
				break;
			u = pu;
			char **pn = realloc(nm, cap * sizeof(*pn));
			if (pn == NULL)
				break;
			nm = pn;
		}
		u[n] = strdup(line);
		nm[n] = strdup(tab + 1);
		if (u[n] == NULL || nm[n] == NULL)
			break;
		n++;
	}
	fclose(f);
	*uuids = u;
	*names = nm;
	return (long)n;
}

#endif
