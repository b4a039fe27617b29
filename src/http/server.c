/*
 * server.c — the libmicrohttpd daemon; see http.h.
 *
 * Per-request state is allocated on the first call of the access handler,
 * the body is consumed chunk by chunk against max_body_bytes (413 at once
 * when Content-Length already says too much), the request is dispatched on
 * the final call, and the state is freed in the completion callback — the
 * shape of libmicrohttpd's largepost example. One log line per request:
 * method, path (never the query or any header), status, milliseconds,
 * tenant/source.
 *
 * Under abuse (issue 15):
 *   - a request with a body to a route that takes a Bearer token (SCIM,
 *     and unknown paths; not the console, whose forms carry a session) is
 *     authenticated on its headers, before any body byte is stored:
 *     without a valid token it is answered 401 at once and the connection
 *     closes (the body is never read); the
 *     console's form posts (/console/…, session cookie + CSRF token) are
 *     the exception;
 *   - every connection is tracked (MHD_OPTION_NOTIFY_CONNECTION); a
 *     watchdog thread shuts down the socket of one that has not delivered
 *     a whole request (headers and body) within request_timeout_s of the
 *     accept or of the end of its previous answer — slowloris clients
 *     trickling a byte before each idle timeout are cut at the deadline;
 *   - per_ip_connection_limit bounds the connections of one address;
 *   - a decoded NUL (%00) is never allowed to cut the URL short: in the
 *     path it answers 404, in the query 400 (server_unescape);
 *   - SCIM requests run on `workers` threads, not on MHD's event threads:
 *     once the whole request is in, the connection is suspended and queued
 *     (bounded: request_queue_max); a worker runs it (or answers 503 +
 *     Retry-After when it waited request_queue_timeout_ms) and resumes the
 *     connection; the event thread then sends the answer. /healthz, /readyz
 *     and /metrics are answered on the event threads.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

/*
 * libmicrohttpd's memory per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT):
 * the request line and headers must fit (about 7 KiB of them: a longer
 * header block is answered 431, a longer request line 414), the body is
 * streamed out of it in chunks. MHD 0.9.75 zeroes the whole pool when a
 * keep-alive connection starts its next request, so every idle connection
 * holds this much RSS: at 12 KiB, 1,000 idle connections took 12.3 MiB,
 * at 8 KiB 8.4 MiB (README, "Performance"). IdPs send 1-3 KiB of headers
 * (a bearer token, a filter of one term).
 */
#define SERVER_CONN_MEMORY ((size_t)8 * 1024)

/* One TCP connection (MHD's socket_context), on the server's list while open. */
struct server_conn {
	int fd;
	struct timespec since; /* the request now being read began: accept or last answer */
	bool handling;         /* the whole request is in: the watchdog leaves it alone */
	bool cut;              /* the watchdog shut it down */
	const char *nul_in;    /* the decoded string (this request) where a %00 was found */
	LIST_ENTRY(server_conn) entry;
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	char *tls_cert;
	char *tls_key;
	pthread_mutex_t mutex; /* conns and every server_conn's fields */
	LIST_HEAD(, server_conn) conns;
	pthread_t watchdog;
	bool watchdog_started;
	bool stopping;
	pthread_cond_t wake;
	/*
	 * The work queue: SCIM requests (everything but /healthz, /readyz and
	 * /metrics) run on `workers` threads, never on MHD's event threads, so
	 * slow LDAP work cannot stall cheap requests. Bounded (request_queue_max,
	 * 503 beyond); a request that waited request_queue_timeout_ms is answered
	 * 503 + Retry-After without running.
	 */
	pthread_mutex_t qmutex;
	pthread_cond_t qcond;
	STAILQ_HEAD(, request_state) queue;
	int qlen;
	int inflight; /* handed to a worker and not yet completed (sent or closed) */
	bool qstopping;
	pthread_t *workers;
	int nworkers;
};

struct request_state {
	struct timespec start;
	char *body;
	size_t len, cap;
	bool too_large;
	bool answered; /* a response was queued before the body (413, 401) */
	int early;     /* status to answer at once, before the body (401, 404, 400) */
	struct rb_error early_err;
	/* Handed to a worker: the connection is suspended until `done`. */
	struct MHD_Connection *conn;
	struct http_request req;
	struct http_response res;
	struct timespec queued;
	bool done; /* the worker filled res (set before MHD_resume_connection) */
	STAILQ_ENTRY(request_state) entry;
};

static double
server_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static enum http_method
server_method(const char *m)
{
	static const struct {
		const char *name;
		enum http_method method;
	} methods[] = {{"GET", HTTP_GET},     {"POST", HTTP_POST},     {"PUT", HTTP_PUT},
	               {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"HEAD", HTTP_HEAD}};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(m, methods[i].name))
			return methods[i].method;
	return HTTP_OTHER;
}

static enum MHD_Result
server_queue(struct MHD_Connection *c, struct http_response *res)
{
	struct MHD_Response *mr;
	struct http_header *h;
	enum MHD_Result ret;
	char *buf = NULL;
	size_t len = 0;
	const char *type = NULL;

	if (res->json != NULL) {
		buf = json_dumps(res->json, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (buf == NULL)
			return MHD_NO;
		len = strlen(buf);
		type = "application/scim+json";
	} else if (res->text != NULL) {
		buf = res->text;
		res->text = NULL;
		len = strlen(buf);
		type = res->text_type ? res->text_type : "text/plain; charset=utf-8";
	}
	mr = MHD_create_response_from_buffer(len, buf ? buf : (void *)"",
	                                     buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(buf);
		return MHD_NO;
	}
	if (type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	STAILQ_FOREACH(h, &res->headers, entry)
	MHD_add_response_header(mr, h->name, h->value);
	ret = MHD_queue_response(c, (unsigned int)res->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void
server_log(const struct http_request *req, int status, double seconds)
{
	const char *ua =
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);

	log_info("%s %s %d %.1fms tenant=%s source=%s req=%s client=%s ua=\"%s\"", req->method_text,
	         req->path, status, seconds * 1000.0,
	         req->authenticated ? req->auth.tenant->name : "-",
	         req->authenticated ? req->auth.source : "-", req->request_id, req->client_addr,
	         ua != NULL ? ua : "-");
}

/*
 * Give `req` its identity for logs and the audit trail: a random request
 * id (also sent back as X-Request-Id) and the peer's address.
 */
static void
server_identify(struct http_request *req, struct MHD_Connection *c)
{
	static const char hex[] = "0123456789abcdef";
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	unsigned char rnd[8];
	size_t i;

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		req->request_id[2 * i] = hex[rnd[i] >> 4];
		req->request_id[2 * i + 1] = hex[rnd[i] & 15];
	}
	req->request_id[2 * sizeof(rnd)] = '\0';
	snprintf(req->client_addr, sizeof(req->client_addr), "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		          req->client_addr, sizeof(req->client_addr));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          req->client_addr, sizeof(req->client_addr));
}

/* The server_conn of `c` (MHD's socket context), or NULL. Borrowed. */
static struct server_conn *
server_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* The whole request is in: from now on the watchdog leaves the connection alone. */
static void
server_conn_handling(struct http_server *srv, struct MHD_Connection *c)
{
	struct server_conn *sc = server_conn_of(c);

	if (sc == NULL)
		return;
	pthread_mutex_lock(&srv->mutex);
	sc->handling = true;
	pthread_mutex_unlock(&srv->mutex);
}

/* Whether the request carries a body (a non-zero Content-Length, or chunked). */
static bool
server_has_body(struct MHD_Connection *c)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	if (te != NULL)
		return true;
	return cl != NULL && strspn(cl, " \t0") != strlen(cl);
}

/*
 * What is decided on the headers alone, before any body byte is read:
 * a NUL decoded from the URL (404 in the path, 400 in the query), and a
 * body sent without a valid token (401; the body is never stored). Sets
 * st->early and st->early_err, or leaves them zero.
 */
static void
server_first_checks(struct http_server *srv, struct MHD_Connection *c, const char *url,
                    struct request_state *st)
{
	struct server_conn *sc = server_conn_of(c);
	const char *nul_in = NULL;
	struct http_request req;

	error_clear(&st->early_err);
	if (sc != NULL) {
		pthread_mutex_lock(&srv->mutex);
		nul_in = sc->nul_in;
		sc->nul_in = NULL;
		pthread_mutex_unlock(&srv->mutex);
	}
	if (nul_in != NULL && nul_in == url) {
		error_set(&st->early_err, 404, NULL,
		          "no such resource (the path contains a NUL byte)");
		st->early = 404;
		return;
	}
	if (nul_in != NULL) {
		error_set(&st->early_err, 400, "invalidValue",
		          "a query parameter contains a NUL byte (%%00)");
		st->early = 400;
		return;
	}
	if (!server_has_body(c) || !routes_needs_token(url))
		return;
	/*
	 * The console's forms carry no token: they are checked by session cookie
	 * and CSRF token (console/session.c) once the small form body is read,
	 * within max_body_bytes like any other.
	 */
	if (!strncmp(url, "/console/", 9))
		return;
	memset(&req, 0, sizeof(req));
	req.app = srv->app;
	req.conn = c;
	if (auth_check(&req, &st->early_err) < 0)
		st->early = 401;
}

/*
 * Hand the request to a worker: suspend the connection (before the worker
 * can resume it) and queue it. 0, or -1 when the queue is full or the
 * server is stopping (the caller answers 503 on the event thread).
 */
static int
server_enqueue(struct http_server *srv, struct MHD_Connection *c, struct request_state *st)
{
	pthread_mutex_lock(&srv->qmutex);
	if (srv->qstopping || srv->qlen >= srv->app->cfg->request_queue_max) {
		pthread_mutex_unlock(&srv->qmutex);
		return -1;
	}
	st->conn = c;
	st->done = false;
	clock_gettime(CLOCK_MONOTONIC, &st->queued);
	MHD_suspend_connection(c);
	STAILQ_INSERT_TAIL(&srv->queue, st, entry);
	srv->qlen++;
	srv->inflight++;
	pthread_mutex_unlock(&srv->qmutex);
	/* After the unlock: a worker woken under the mutex would block on it at once. */
	pthread_cond_signal(&srv->qcond);
	return 0;
}

/* A worker: run queued requests (or refuse those that waited too long), then resume them. */
static void *
server_worker(void *arg)
{
	struct http_server *srv = arg;
	const struct config *cfg = srv->app->cfg;

	pthread_mutex_lock(&srv->qmutex);
	for (;;) {
		struct request_state *st;
		bool stopping;

		while (!srv->qstopping && STAILQ_EMPTY(&srv->queue))
			pthread_cond_wait(&srv->qcond, &srv->qmutex);
		st = STAILQ_FIRST(&srv->queue);
		if (st == NULL)
			break; /* stopping, and nothing left */
		STAILQ_REMOVE_HEAD(&srv->queue, entry);
		srv->qlen--;
		stopping = srv->qstopping;
		pthread_mutex_unlock(&srv->qmutex);

		if (stopping) {
			response_errorf(&st->res, 503, NULL, "the server is shutting down");
			response_header(&st->res, "Retry-After", "5");
		} else if (server_elapsed(&st->queued) * 1000.0 > cfg->request_queue_timeout_ms) {
			response_errorf(
			    &st->res, 503, NULL,
			    "the server is busy: the request waited %d ms for a worker; "
			    "retry later",
			    cfg->request_queue_timeout_ms);
			response_header(&st->res, "Retry-After", "2");
		} else {
			log_request_begin(st->req.request_id);
			routes_dispatch(&st->req, &st->res);
			log_request_end();
		}
		st->done = true;
		MHD_resume_connection(st->conn);
		pthread_mutex_lock(&srv->qmutex);
	}
	pthread_mutex_unlock(&srv->qmutex);
	return NULL;
}

/* Stop the workers: each answers what is still queued with 503, resumes it, and exits. */
static void
server_workers_stop(struct http_server *srv)
{
	int i;

	pthread_mutex_lock(&srv->qmutex);
	srv->qstopping = true;
	pthread_cond_broadcast(&srv->qcond);
	pthread_mutex_unlock(&srv->qmutex);
	for (i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_data_size,
              void **con_cls)
{
	struct http_server *srv = cls;
	struct request_state *st = *con_cls;
	enum MHD_Result ret;
	long limit = srv->app->cfg->max_body_bytes;

	(void)version;
	if (st == NULL) {
		const char *cl;
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &st->start);
		*con_cls = st;
		server_first_checks(srv, c, url, st);
		if (st->early != 0)
			goto answer; /* before any body byte is read */
		cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl == NULL || strtoull(cl, NULL, 10) <= (unsigned long long)limit)
			return MHD_YES;
		st->too_large = true;
		/*
		 * Somewhat too large: read and discard the body, then answer 413,
		 * so that clients which send the whole body before reading see
		 * the answer. Far too large: answer at once (the connection closes).
		 */
		if (strtoull(cl, NULL, 10) <= 16ULL * (unsigned long long)limit)
			return MHD_YES;
	}
	if (*upload_data_size > 0 && !st->answered) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (st->too_large || st->len + n > (size_t)limit) {
			st->too_large = true;
			return MHD_YES; /* discard the rest; answer 413 at the end */
		}
		if (st->len + n + 1 > st->cap) {
			size_t cap = st->cap ? st->cap : 4096;
			char *nb;
			while (cap < st->len + n + 1)
				cap *= 2;
			nb = realloc(st->body, cap);
			if (nb == NULL)
				return MHD_NO;
			st->body = nb;
			st->cap = cap;
		}
		memcpy(st->body + st->len, upload_data, n);
		st->len += n;
		st->body[st->len] = '\0';
		return MHD_YES;
	}
	if (st->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
answer:
	if (st->conn != NULL) {
		/* Resumed: a worker has answered. */
		if (!st->done)
			return MHD_YES;
		goto send;
	}
	server_conn_handling(srv, c);
	memset(&st->req, 0, sizeof(st->req));
	st->req.app = srv->app;
	st->req.conn = c;
	st->req.method = server_method(method);
	st->req.method_text = method;
	st->req.path = url;
	st->req.route = "other";
	st->req.body = st->len ? st->body : NULL;
	st->req.body_len = st->len;
	server_identify(&st->req, c);
	response_init(&st->res);
	if (st->early != 0) {
		response_error(&st->res, &st->early_err);
		if (st->early == 401)
			response_header(&st->res, "WWW-Authenticate",
			                "Bearer realm=\"rosterbridge\"");
		if (st->early == 401 || st->early == 413)
			response_header(&st->res, "Connection", "close");
	} else if (st->too_large) {
		response_errorf(&st->res, 413, NULL, "the request body is larger than %ld bytes",
		                limit);
	} else if (routes_is_cheap(url)) {
		log_request_begin(st->req.request_id);
		routes_dispatch(&st->req, &st->res);
		log_request_end();
	} else if (server_enqueue(srv, c, st) == 0) {
		return MHD_YES; /* suspended: a worker answers, then resumes it */
	} else {
		response_errorf(&st->res, 503, NULL,
		                "the server is busy (%d requests waiting); retry later",
		                srv->app->cfg->request_queue_max);
		response_header(&st->res, "Retry-After", "2");
	}
send:
	st->answered = true;
	response_header(&st->res, "X-Request-Id", st->req.request_id);
	ret = server_queue(c, &st->res);
	metrics_observe(srv->app->metrics, st->req.route, st->req.method, st->res.status,
	                server_elapsed(&st->start));
	server_log(&st->req, st->res.status, server_elapsed(&st->start));
	response_clear(&st->res);
	return ret;
}

static void
server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;

	struct http_server *srv = cls;
	struct server_conn *sc = server_conn_of(c);

	(void)toe;
	if (sc != NULL) {
		/* The next request's deadline counts from the end of this one. */
		pthread_mutex_lock(&srv->mutex);
		clock_gettime(CLOCK_MONOTONIC, &sc->since);
		sc->handling = false;
		sc->nul_in = NULL;
		pthread_mutex_unlock(&srv->mutex);
	}
	if (st == NULL)
		return;
	/*
	 * A worker's answer that was never sent (MHD closed the connection on
	 * resuming it, e.g. a client that half-closed its side) is freed here.
	 */
	response_clear(&st->res);
	if (st->conn != NULL) {
		pthread_mutex_lock(&srv->qmutex);
		srv->inflight--;
		pthread_mutex_unlock(&srv->qmutex);
	}
	free(st->body);
	free(st);
	*con_cls = NULL;
}

static void
server_notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                   enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	struct server_conn *sc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		sc = calloc(1, sizeof(*sc));
		if (sc == NULL || ci == NULL) {
			/* Untracked: only the idle timeout applies to it. */
			free(sc);
			return;
		}
		sc->fd = ci->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &sc->since);
		pthread_mutex_lock(&srv->mutex);
		LIST_INSERT_HEAD(&srv->conns, sc, entry);
		pthread_mutex_unlock(&srv->mutex);
		*socket_context = sc;
		return;
	}
	if (sc == NULL)
		return;
	/* MHD closes the socket after this: the watchdog never sees a reused fd. */
	pthread_mutex_lock(&srv->mutex);
	LIST_REMOVE(sc, entry);
	pthread_mutex_unlock(&srv->mutex);
	free(sc);
	*socket_context = NULL;
}

/*
 * %HH decoding of the URL path and of each query key and value (MHD calls
 * it for each). A %00 is decoded like any byte (MHD then cuts the string
 * there), but the connection remembers in which string it was found, so
 * that server_first_checks refuses the request instead of serving a
 * shortened URL (`/Users/%00` must never be `/Users`).
 */
static size_t
server_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	struct http_server *srv = cls;
	char *in = s, *out = s;
	bool nul = false;

	while (*in) {
		if (in[0] == '%' && isxdigit((unsigned char)in[1]) &&
		    isxdigit((unsigned char)in[2])) {
			char pair[3] = {in[1], in[2], '\0'};
			*out = (char)strtoul(pair, NULL, 16);
			if (*out == '\0')
				nul = true;
			out++;
			in += 3;
			continue;
		}
		*out++ = *in++;
	}
	*out = '\0';
	if (nul) {
		struct server_conn *sc = server_conn_of(c);
		if (sc != NULL) {
			pthread_mutex_lock(&srv->mutex);
			if (sc->nul_in == NULL) /* the path comes first: it decides */
				sc->nul_in = s;
			pthread_mutex_unlock(&srv->mutex);
		}
	}
	return (size_t)(out - s);
}

/*
 * The watchdog: once a second, shut down the socket of every connection
 * that has not delivered a whole request within request_timeout_s. MHD sees
 * the end of the stream and closes the connection itself (the completion
 * and close callbacks run as for a client that went away).
 */
static void *
server_watchdog(void *arg)
{
	struct http_server *srv = arg;
	long limit = srv->app->cfg->request_timeout_s;

	pthread_mutex_lock(&srv->mutex);
	while (!srv->stopping) {
		struct timespec now, wake;
		struct server_conn *sc;
		int cut = 0;

		clock_gettime(CLOCK_MONOTONIC, &now);
		LIST_FOREACH(sc, &srv->conns, entry)
		{
			if (sc->handling || sc->cut || now.tv_sec - sc->since.tv_sec <= limit)
				continue;
			shutdown(sc->fd, SHUT_RDWR);
			sc->cut = true;
			cut++;
		}
		if (cut > 0)
			log_warnx("http: closed %d connection(s) that sent no whole request within "
			          "request_timeout_s (%ld s)",
			          cut, limit);
		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_sec += 1;
		pthread_cond_timedwait(&srv->wake, &srv->mutex, &wake);
	}
	pthread_mutex_unlock(&srv->mutex);
	return NULL;
}

static void
server_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("http: %s", buf);
}

static char *
server_read_file(const char *path, struct rb_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		error_set(err, 500, NULL, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	if (buf == NULL)
		error_set(err, 500, NULL, "%s: cannot read", path);
	return buf;
}

struct http_server *
server_start(struct app *app, struct rb_error *err)
{
	const struct config *cfg = app->cfg;
	struct http_server *srv;
	struct addrinfo hints, *ai = NULL;
	char port[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	                     MHD_ALLOW_SUSPEND_RESUME;
	int rc;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	srv->app = app;
	pthread_mutex_init(&srv->mutex, NULL);
	pthread_cond_init(&srv->wake, NULL);
	LIST_INIT(&srv->conns);
	pthread_mutex_init(&srv->qmutex, NULL);
	pthread_cond_init(&srv->qcond, NULL);
	STAILQ_INIT(&srv->queue);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", cfg->listen_port);
	rc = getaddrinfo(cfg->listen_host, port, &hints, &ai);
	if (rc != 0) {
		error_set(err, 500, NULL, "listen %s:%d: %s (give a numeric address)",
		          cfg->listen_host, cfg->listen_port, gai_strerror(rc));
		goto fail;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert_file != NULL) {
		srv->tls_cert = server_read_file(cfg->tls_cert_file, err);
		srv->tls_key = srv->tls_cert ? server_read_file(cfg->tls_key_file, err) : NULL;
		if (srv->tls_key == NULL)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	srv->daemon = MHD_start_daemon(
	    flags, (uint16_t)cfg->listen_port, NULL, NULL, server_access, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, srv, /* first, so it sees every message */
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)cfg->connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)cfg->per_ip_connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    SERVER_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, server_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, server_notify_conn, srv, MHD_OPTION_UNESCAPE_CALLBACK,
	    server_unescape, srv, srv->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    srv->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		error_set(err, 500, NULL, "cannot listen on %s:%d (address in use?)",
		          cfg->listen_host, cfg->listen_port);
		goto fail;
	}
	freeaddrinfo(ai);
	ai = NULL;
	srv->workers = calloc((size_t)cfg->workers, sizeof(*srv->workers));
	if (srv->workers == NULL) {
		error_set(err, 500, NULL, "out of memory");
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	for (; srv->nworkers < cfg->workers; srv->nworkers++)
		if (pthread_create(&srv->workers[srv->nworkers], NULL, server_worker, srv) != 0) {
			error_set(err, 500, NULL, "cannot start the worker threads");
			server_workers_stop(srv);
			MHD_stop_daemon(srv->daemon);
			goto fail;
		}
	if (pthread_create(&srv->watchdog, NULL, server_watchdog, srv) != 0) {
		server_workers_stop(srv);
		error_set(err, 500, NULL, "cannot start the request watchdog thread");
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	srv->watchdog_started = true;
	return srv;
fail:
	if (ai != NULL)
		freeaddrinfo(ai);
	free(srv->workers);
	pthread_mutex_destroy(&srv->mutex);
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->qmutex);
	pthread_cond_destroy(&srv->qcond);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
	return NULL;
}

void
server_stop(struct http_server *srv)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	MHD_socket listen_fd;
	int i;

	if (srv == NULL)
		return;
	if (srv->watchdog_started) {
		pthread_mutex_lock(&srv->mutex);
		srv->stopping = true;
		pthread_cond_signal(&srv->wake);
		pthread_mutex_unlock(&srv->mutex);
		pthread_join(srv->watchdog, NULL);
	}
	/*
	 * Stop accepting; the workers answer what is queued (503) and resume
	 * it; the event threads get up to 3 s to send those answers before MHD
	 * stops (and closes whatever is left).
	 */
	listen_fd = MHD_quiesce_daemon(srv->daemon);
	server_workers_stop(srv);
	for (i = 0; i < 300; i++) {
		int left;
		pthread_mutex_lock(&srv->qmutex);
		left = srv->inflight;
		pthread_mutex_unlock(&srv->qmutex);
		if (left <= 0)
			break;
		nanosleep(&tick, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	if (listen_fd >= 0)
		close(listen_fd);
	pthread_mutex_destroy(&srv->mutex);
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->qmutex);
	pthread_cond_destroy(&srv->qcond);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
}
