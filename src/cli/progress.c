/*
 * progress.c — a one-line progress bar on stderr, redrawn in place:
 *
 *   importing [##########..........]  512/1000  51%  130 rows/s  ETA 0:04
 *
 * Only when stderr is a terminal (the caller decides): piped output gets
 * no bar and no carriage returns, just the report lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

#define PROGRESS_WIDTH 30

struct progress {
	long total;
	const char *what;
	struct timespec start, last;
};

static double
progress_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void
progress_draw(struct progress *p, long done)
{
	double secs = progress_since(&p->start);
	double rate = secs > 0 ? (double)done / secs : 0;
	char bar[PROGRESS_WIDTH + 1];
	long filled = p->total > 0 ? done * PROGRESS_WIDTH / p->total : 0;
	int i;

	for (i = 0; i < PROGRESS_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[PROGRESS_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %ld/%ld %3ld%%  %.0f rows/s", p->what, bar, done, p->total,
	        p->total > 0 ? done * 100 / p->total : 0, rate);
	if (rate > 0 && done < p->total) {
		long eta = (long)((double)(p->total - done) / rate + 0.5);
		fprintf(stderr, "  ETA %ld:%02ld", eta / 60, eta % 60);
	} else if (done >= p->total) {
		long el = (long)(secs + 0.5);
		fprintf(stderr, "  in %ld:%02ld", el / 60, el % 60);
	}
	fputs("\033[K", stderr);
	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &p->last);
}

struct progress *
progress_start(bool enabled, long total, const char *what)
{
	struct progress *p;

	if (!enabled || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->total = total;
	p->what = what;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	progress_draw(p, 0);
	return p;
}

void
progress_update(struct progress *p, long done)
{
	if (p == NULL || progress_since(&p->last) < 0.1)
		return;
	progress_draw(p, done);
}

void
progress_end(struct progress *p, long done)
{
	if (p == NULL)
		return;
	progress_draw(p, done);
	fputc('\n', stderr);
	free(p);
}
