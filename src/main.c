/*
 * main.c — the rosterbridge daemon.
 *
 *   rosterbridge -f FILE        run with the configuration FILE
 *   rosterbridge -n -f FILE     check FILE and exit (0 if good)
 *   rosterbridge -H TOKEN       print the `token sha256:…` hash of TOKEN
 *
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/console.h"
#include "dir/dir.h"
#include "dir/pool.h"
#include "http/http.h"
#include "lib/config.h"
#include "lib/log.h"
#include "mail/mail.h"

static void
usage(void)
{
	fprintf(stderr, "usage: rosterbridge [-n] -f CONFIG\n"
	                "       rosterbridge -H TOKEN   (print the hash line for a token)\n");
	exit(2);
}

static enum log_level
main_log_level(const char *name)
{
	if (!strcmp(name, "debug"))
		return LOG_LEVEL_DEBUG;
	if (!strcmp(name, "warn"))
		return LOG_LEVEL_WARN;
	if (!strcmp(name, "error"))
		return LOG_LEVEL_ERROR;
	return LOG_LEVEL_INFO;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct config *cfg = NULL;
	struct http_server *srv = NULL;
	struct pool *mail_pool = NULL;
	struct dir *mail_dir = NULL;
	struct app app;
	struct rb_error err;
	sigset_t set;
	int ch, sig, check_only = 0, status = 1;

	while ((ch = getopt(argc, argv, "f:nH:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'H': {
			char hex[65];
			if (config_sha256_hex(optarg, strlen(optarg), hex) < 0)
				return 1;
			printf("sha256:%s\n", hex);
			return 0;
		}
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();

	error_clear(&err);
	cfg = config_load(path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "rosterbridge: %s\n", err.detail);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration OK (%zu tenants, %zu tokens)\n", path, cfg->ntenants,
		       cfg->ntokens);
		config_free(cfg);
		return 0;
	}
	log_init(main_log_level(cfg->log_level));

	/* Block the stop signals in every thread; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&app, 0, sizeof(app));
	app.cfg = cfg;
	app.metrics = metrics_create();
	app.pool = pool_create(cfg, cfg->workers);
	app.dir = app.pool ? dir_create(cfg, app.pool) : NULL;
	if (app.metrics == NULL || app.pool == NULL || app.dir == NULL) {
		log_error("out of memory");
		goto done;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl could not start");
		goto done;
	}
	app.console = console_handle;
	/*
	 * The mail sender has a directory connection of its own: it never takes
	 * an HTTP worker's slot, and /metrics and /readyz speak of the SCIM pool.
	 */
	mail_pool = pool_create(cfg, 1);
	mail_dir = mail_pool ? dir_create(cfg, mail_pool) : NULL;
	app.outbox = mail_dir ? mail_outbox_start(cfg, mail_dir) : NULL;
	if (app.outbox == NULL) {
		log_error("cannot start the mail sender");
		goto done;
	}
	srv = server_start(&app, &err);
	if (srv == NULL) {
		log_error("%s", err.detail);
		goto done;
	}
	log_info("rosterbridge listening on %s:%d (%s), directory %s (%s), %zu tenants",
	         cfg->listen_host, cfg->listen_port, cfg->base_url, cfg->ldap_uri,
	         cfg->ldap_starttls ? "StartTLS, certificate verified"
	         : cfg->ldap_tls    ? "TLS, certificate verified"
	                            : "cleartext",
	         cfg->ntenants);
	if (pool_ping(app.pool, &err) < 0)
		log_warnx("directory not reachable yet (%s); will retry per request", err.detail);

	if (sigwait(&set, &sig) != 0)
		sig = SIGTERM;
	log_info("signal %d: shutting down", sig);
	status = 0;
done:
	server_stop(srv);
	mail_outbox_stop(app.outbox);
	dir_destroy(mail_dir);
	pool_destroy(mail_pool);
	dir_destroy(app.dir);
	pool_destroy(app.pool);
	metrics_destroy(app.metrics);
	config_free(cfg);
	curl_global_cleanup();
	return status;
}
