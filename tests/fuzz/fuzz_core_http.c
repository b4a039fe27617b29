/*
 * fuzz_core_http.c — libFuzzer target: any bytes as a whole HTTP request
 * to the daemon, in-process. The real server (libmicrohttpd, the
 * authentication on headers, the deadline watchdog, the worker queue, the
 * router, the SCIM handlers) listens on loopback; each input is written to
 * a fresh connection, the writing side is shut down, and the answer is read
 * to the end. The seam is the directory: ldap_uri points at a closed port,
 * so handlers that reach LDAP answer 503 at once. A finding: a crash, a
 * sanitizer report, a 500, or neither an answer nor a close within 10 s.
 *
 * Tokens: "Bearer fuzz-write" (write) and "Bearer fuzz-read" (read), tenant
 * demo (see tests/fuzz/scim.dict).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dir/dir.h"
#include "dir/pool.h"
#include "http/http.h"
#include "lib/config.h"
#include "lib/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct app app;
static int port;

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		abort();
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char conf[2048], path[64], hw[65], hr[65];
	struct rb_error err;
	struct config *cfg;
	int fd;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_ERROR);
	port = free_port();
	if (config_sha256_hex("fuzz-write", 10, hw) < 0 ||
	    config_sha256_hex("fuzz-read", 9, hr) < 0)
		abort();
	snprintf(conf, sizeof(conf),
	         "listen 127.0.0.1:%d\nworkers 2\nhttp_threads 2\nldap_uri ldap://127.0.0.1:1\n"
	         "ldap_timeout_ms 200\nldap_bind_dn cn=fuzz\nldap_bind_password fuzz\n"
	         "request_timeout_s 1\nmax_body_bytes 65536\nlog_level error\ntenant demo\n"
	         "tenant other\ntoken sha256:%s tenant=demo source=okta rights=write\n"
	         "token sha256:%s tenant=demo source=okta rights=read\n",
	         port, hw, hr);
	fd = memfd_create("fuzz.conf", 0);
	if (fd < 0 || fchmod(fd, 0600) < 0 ||
	    write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	error_clear(&err);
	cfg = config_load(path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "fuzz_core_http: %s\n", err.detail);
		abort();
	}
	app.cfg = cfg;
	app.metrics = metrics_create();
	app.pool = pool_create(cfg, cfg->workers);
	app.dir = app.pool ? dir_create(cfg, app.pool) : NULL;
	if (app.metrics == NULL || app.dir == NULL || server_start(&app, &err) == NULL) {
		fprintf(stderr, "fuzz_core_http: cannot start: %s\n", err.detail);
		abort();
	}
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	char buf[65536];
	size_t got = 0, off = 0;
	int idle = 0;
	double end = now_s() + 10.0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server answered early and closed: fine */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;
		if (now_s() > end) {
			fprintf(stderr, "fuzz_core_http: no answer and no close within 10 s\n");
			abort();
		}
		if (poll(&p, 1, 50) <= 0) {
			/* Answered, then quiet: done (MHD may keep a half-closed
			   connection open until request_timeout_s). */
			if (got > 0 && ++idle >= 3)
				break;
			continue;
		}
		idle = 0;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			got = 0; /* keep reading to the end; only the start is checked */
	}
	buf[got] = '\0';
	close(fd);
	if (got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 9, "500", 3)) {
		fprintf(stderr, "fuzz_core_http: a 500:\n%.400s\n", buf);
		abort();
	}
	return 0;
}
