/* log.c — line-oriented logging to stderr; see log.h. */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/utf8.h"

static _Atomic enum log_level log_min = LOG_LEVEL_INFO; /* set again on SIGHUP */
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local const char *log_req; /* the request this thread handles, or NULL */

void
log_request_begin(const char *id)
{
	log_req = id;
}

void
log_request_end(void)
{
	log_req = NULL;
}

void
log_init(enum log_level min_level)
{
	log_min = min_level;
}

size_t
log_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

	if (outlen == 0)
		return 0;
	while (i < inlen) {
		size_t k = utf8_seq_len(p + i, inlen - i);
		char tmp[16];
		size_t tlen = 0, j;

		if (k == 1 && p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\') {
			tmp[tlen++] = (char)p[i];
		} else if (k == 1 && p[i] == '\\') {
			tmp[tlen++] = '\\';
			tmp[tlen++] = '\\';
		} else if (k > 1 && !(k == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)) {
			memcpy(tmp, p + i, k);
			tlen = k;
		} else {
			/* A C0/C1 control, DEL, or a byte that is not UTF-8: \xNN each. */
			size_t n = k == 0 ? 1 : k;
			for (j = 0; j < n; j++) {
				tmp[tlen++] = '\\';
				tmp[tlen++] = 'x';
				tmp[tlen++] = hex[p[i + j] >> 4];
				tmp[tlen++] = hex[p[i + j] & 15];
			}
			k = n;
		}
		if (o + tlen >= outlen)
			break; /* truncated at a whole escape */
		memcpy(out + o, tmp, tlen);
		o += tlen;
		i += k;
	}
	out[o] = '\0';
	return o;
}

static void
log_vline(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char stamp[32];
	char raw[2048], msg[8192];
	struct timespec ts;
	size_t len;
	int n;
	struct tm tm;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* The whole line is escaped, so every value in it is: no forged lines. */
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		n = 0;
	len = (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
	if (log_req != NULL) {
		/* After the message, cutting a long message short to make room. */
		size_t need = strlen(" req=") + strlen(log_req);
		if (need < sizeof(raw) / 2) {
			if (len + need >= sizeof(raw))
				len = sizeof(raw) - 1 - need;
			snprintf(raw + len, sizeof(raw) - len, " req=%s", log_req);
			len += need;
		}
	}
	log_escape(msg, sizeof(msg), raw, len);
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
