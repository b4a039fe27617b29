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
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/log.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	char *tls_cert;
	char *tls_key;
};

struct request_state {
	struct timespec start;
	char *body;
	size_t len, cap;
	bool too_large;
	bool answered; /* a response was queued before the body (413) */
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
	log_info("%s %s %d %.1fms tenant=%s source=%s", req->method_text, req->path, status,
	         seconds * 1000.0, req->authenticated ? req->auth.tenant->name : "-",
	         req->authenticated ? req->auth.source : "-");
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_data_size,
              void **con_cls)
{
	struct http_server *srv = cls;
	struct request_state *st = *con_cls;
	struct http_request req;
	struct http_response res;
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

	memset(&req, 0, sizeof(req));
	req.app = srv->app;
	req.conn = c;
	req.method = server_method(method);
	req.method_text = method;
	req.path = url;
	req.route = "other";
	req.body = st->len ? st->body : NULL;
	req.body_len = st->len;
	response_init(&res);
	if (st->too_large)
		response_errorf(&res, 413, NULL, "the request body is larger than %ld bytes",
		                limit);
	else
		routes_dispatch(&req, &res);
	st->answered = true;
	ret = server_queue(c, &res);
	metrics_observe(srv->app->metrics, req.route, res.status, server_elapsed(&st->start));
	server_log(&req, res.status, server_elapsed(&st->start));
	response_clear(&res);
	return ret;
}

static void
server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st == NULL)
		return;
	free(st->body);
	free(st);
	*con_cls = NULL;
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
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int rc;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		error_set(err, 500, NULL, "out of memory");
		return NULL;
	}
	srv->app = app;
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
	    (unsigned int)cfg->workers, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)cfg->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(12 * 1024), MHD_OPTION_NOTIFY_COMPLETED, server_completed, srv,
	    srv->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		error_set(err, 500, NULL, "cannot listen on %s:%d (address in use?)",
		          cfg->listen_host, cfg->listen_port);
		goto fail;
	}
	freeaddrinfo(ai);
	return srv;
fail:
	if (ai != NULL)
		freeaddrinfo(ai);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
	return NULL;
}

void
server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->daemon);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
}
