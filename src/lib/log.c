/* log.c — line-oriented logging to stderr; see log.h. */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_min = LOG_LEVEL_INFO;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

void
log_init(enum log_level min_level)
{
	log_min = min_level;
}

static void
log_vline(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char stamp[32];
	char msg[2048], *p;
	struct timespec ts;
	struct tm tm;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line: what a client sent (an attribute name, a
	 * userName) cannot start a forged line or hide in control characters. */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	pthread_mutex_lock(&log_mutex);
	if (errstr != NULL)
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000L, names[level],
		        msg, errstr);
	else
		fprintf(stderr, "%s.%03ldZ %s %s\n", stamp, ts.tv_nsec / 1000000L, names[level],
		        msg);
	fflush(stderr);
	pthread_mutex_unlock(&log_mutex);
}

#define LOG_BODY(level, errstr)                                                                    \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vline((level), (errstr), fmt, ap);                                             \
		va_end(ap);                                                                        \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
	char buf[128];
	const char *e = strerror_r(errno, buf, sizeof(buf)) == 0 ? buf : "unknown error";

	LOG_BODY(LOG_LEVEL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	exit(1);
}
