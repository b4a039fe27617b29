/*
 * log.h — logging to stderr (one line per event, ISO-8601 UTC timestamp).
 * Never pass a secret (token, password, cookie) to these functions.
 */
#ifndef RB_LOG_H
#define RB_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/*
 * log_escape — copy `inlen` bytes of `in` to `out` (`outlen` bytes, always
 * NUL-terminated) with every C0/C1 control character, DEL and byte that is
 * not UTF-8 written as \xNN and a backslash as \\, cutting only between
 * whole escapes. Returns the length written. Every log line goes through it
 * (values such as a decoded URL path cannot forge a line).
 */
size_t log_escape(char *out, size_t outlen, const char *in, size_t inlen);

/*
 * log_request_begin — lines logged by this thread from now on end with
 * " req=<id>" (the request being handled: its X-Request-Id, as in the
 * access line), so a 5xx's cause (the LDAP result and message) can be found
 * from the answer's id. `id` is borrowed and must live until
 * log_request_end, which stops it.
 */
void log_request_begin(const char *id);
void log_request_end(void);

/* log_init — set the minimum level printed (default LOG_LEVEL_INFO). */
void log_init(enum log_level min_level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn — a warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx — a warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatalx — log an error and exit(1). */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* RB_LOG_H */
