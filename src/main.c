/*
 * main.c — the rosterbridge daemon.
 *
 *   rosterbridge -f FILE        run with the configuration FILE
 *   rosterbridge -n -f FILE     check FILE and exit (0 if good)
 *   rosterbridge -H TOKEN       print the `token sha256:…` hash of TOKEN
 *   rosterbridge --version      print the version
 *   rosterbridge -f FILE --check-directory [--config-uri URI]
 *                               check the live directory against what the
 *                               bridge needs (dir/check.c); exit 0 if good,
 *                               1 if anything is missing, 2 if unreachable
 *
 * SIGHUP: reload the configuration file. A file that fails the check is
 * refused (logged with file:line) and the running one stays; a good one
 * replaces it for the next requests (app.cfg is swapped atomically; the
 * old one is kept until exit, so requests in flight keep what they
 * borrowed). Settings used only at start (listen, workers, connection
 * limits, TLS, the directory connection) are logged as needing a restart.
 * systemd (Type=notify) hears READY=1, RELOADING=1 and STOPPING=1.
 *
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
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
#include "lib/notify.h"
#include "mail/mail.h"

#ifndef RB_VERSION
#define RB_VERSION "0.0.0-dev"
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: rosterbridge [-n] -f CONFIG\n"
	                "       rosterbridge -f CONFIG --check-directory [--config-uri ldapi:///]\n"
	                "       rosterbridge -H TOKEN   (print the hash line for a token)\n"
	                "       rosterbridge --version\n");
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

/* The configuration files SIGHUP replaced, freed at exit. */
struct retired {
	struct config *cfg;
	struct retired *next;
};

static bool
main_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Log the settings that changed but are only read at start. */
static void
main_restart_only(const struct config *old, const struct config *cfg)
{
	static const char what[] = "changed in the file; takes effect at the next restart";
	size_t i;

	if (main_differs(old->listen_host, cfg->listen_host) ||
	    old->listen_port != cfg->listen_port)
		log_warnx("reload: listen %s", what);
	if (old->workers != cfg->workers || old->connection_limit != cfg->connection_limit ||
	    old->connection_timeout_s != cfg->connection_timeout_s)
		log_warnx("reload: workers/connection_limit/connection_timeout_s %s", what);
	if (main_differs(old->tls_cert_file, cfg->tls_cert_file) ||
	    main_differs(old->tls_key_file, cfg->tls_key_file))
		log_warnx("reload: tls_cert_file/tls_key_file %s", what);
	if (main_differs(old->ldap_uri, cfg->ldap_uri) ||
	    main_differs(old->ldap_bind_dn, cfg->ldap_bind_dn) ||
	    main_differs(old->ldap_bind_password, cfg->ldap_bind_password) ||
	    main_differs(old->ldap_suffix, cfg->ldap_suffix) ||
	    old->ldap_starttls != cfg->ldap_starttls ||
	    old->ldap_timeout_ms != cfg->ldap_timeout_ms ||
	    main_differs(old->ldap_tls_ca_file, cfg->ldap_tls_ca_file))
		log_warnx("reload: the directory connection (ldap_*) %s", what);
	/* The mail sender keeps the configuration it started with (mail/outbox.c). */
	if (main_differs(old->smtp_host, cfg->smtp_host) || old->smtp_port != cfg->smtp_port ||
	    main_differs(old->smtp_tls, cfg->smtp_tls) ||
	    main_differs(old->smtp_user, cfg->smtp_user) ||
	    main_differs(old->smtp_password, cfg->smtp_password) ||
	    main_differs(old->smtp_from, cfg->smtp_from) ||
	    main_differs(old->smtp_ca_file, cfg->smtp_ca_file) ||
	    old->smtp_timeout_s != cfg->smtp_timeout_s ||
	    old->invite_expiry_hours != cfg->invite_expiry_hours ||
	    old->mail_retry_min_s != cfg->mail_retry_min_s ||
	    old->mail_retry_max_s != cfg->mail_retry_max_s)
		log_warnx(
		    "reload: invitation e-mail (smtp_*, invite_expiry_hours, mail_retry_*) %s",
		    what);
	/* The directory layer (dir_create) and its repair thread keep the
	 * configuration they started with. */
	if (old->max_results != cfg->max_results || old->max_candidates != cfg->max_candidates)
		log_warnx("reload: max_results/max_candidates %s", what);
	if (old->retention_days != cfg->retention_days ||
	    old->repair_interval_s != cfg->repair_interval_s)
		log_warnx("reload: retention_days/repair_interval_s %s", what);
	if (old->group_table != cfg->group_table)
		log_warnx("reload: group_table %s", what);
	if (old->guard_share_percent != cfg->guard_share_percent ||
	    old->guard_window_s != cfg->guard_window_s || old->guard_min != cfg->guard_min ||
	    old->guard_hold_days != cfg->guard_hold_days ||
	    old->guard_lease_max != cfg->guard_lease_max ||
	    old->guard_lease_idle_s != cfg->guard_lease_idle_s)
		log_warnx("reload: the mass-deprovision guard (guard_*) %s", what);
	for (i = 0; i < cfg->ntenants; i++)
		if (config_tenant_find(old, cfg->tenants[i].name) == NULL)
			log_warnx("reload: tenant %s is served now; the repair thread (role-group "
			          "repair, retention purge, held removals) takes it up at the next "
			          "restart",
			          cfg->tenants[i].name);
}

/*
 * SIGHUP: load `path` again; on success swap it in and retire the old one.
 * Returns the configuration now running.
 */
static struct config *
main_reload(struct app *app, struct config *cur, const char *path, struct retired **retired)
{
	struct rb_error err;
	struct config *cfg;
	struct retired *r;

	notify_send("RELOADING=1");
	error_clear(&err);
	cfg = config_load(path, &err);
	if (cfg == NULL) {
		log_error("reload refused, the running configuration stays: %s", err.detail);
		notify_send("READY=1\nSTATUS=reload refused: see the log");
		return cur;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		log_error("reload: out of memory; the running configuration stays");
		config_free(cfg);
		notify_send("READY=1");
		return cur;
	}
	main_restart_only(cur, cfg);
	app->cfg = cfg;
	r->cfg = cur;
	r->next = *retired;
	*retired = r;
	log_init(main_log_level(cfg->log_level));
	log_info("configuration reloaded from %s: %zu tenants, %zu tokens", path, cfg->ntenants,
	         cfg->ntokens);
	notify_send("READY=1\nSTATUS=configuration reloaded");
	return cfg;
}

/* --check-directory: the report on stdout; 0 all good, 1 something missing, 2 unreachable. */
static int
main_check_directory(struct config *cfg, const char *config_uri)
{
	struct pool *pool = pool_create(cfg, 1);
	int problems;

	if (pool == NULL) {
		config_free(cfg);
		return 2;
	}
	problems = dir_check(cfg, pool, config_uri, stdout);
	printf("%s\n", problems == 0  ? "the directory has what rosterbridge needs"
	               : problems < 0 ? "the directory could not be reached"
	                              : "the directory lacks what is marked MISSING above");
	pool_destroy(pool);
	config_free(cfg);
	return problems == 0 ? 0 : problems < 0 ? 2 : 1;
}

/*
 * At start: the checks over the service account, each problem a warning;
 * on a connection of their own (a pool of one, closed after), never one
 * of the SCIM workers' slots.
 */
static void
main_warn_directory(const struct config *cfg)
{
	struct pool *pool = pool_create(cfg, 1);
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = pool != NULL ? open_memstream(&buf, &len) : NULL;

	if (f == NULL) {
		pool_destroy(pool);
		return;
	}
	dir_check(cfg, pool, NULL, f);
	fclose(f);
	pool_destroy(pool);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "MISSING", 7) || !strncmp(line, "         fix:", 13))
			log_warnx("directory check: %s (rosterbridge --check-directory)", line);
	free(buf);
}

/*
 * glibc gives each thread that allocates under contention its own arena,
 * up to 8 per core, and keeps what a burst freed in each. Two arenas for
 * the workers, MHD's threads and the rest: after a load of creates, sorted
 * lists and first pages (16 connections), RSS 19.6-20.2 MiB instead of
 * 20.5-24.3, and with 1,000 idle connections open 24.1-26.4 instead of
 * 28.7-32.4 (README, "Performance"). MALLOC_ARENA_MAX in the environment
 * still decides, if it is set.
 */
#define MAIN_MALLOC_ARENAS 2

/*
 * free() gives memory back to the kernel only from the top of a heap: one
 * long-lived block allocated after a burst (a group the group table took
 * in, a connection's buffer) keeps every freed page below it resident. In
 * a full-size `make bench` the daemon stayed at 39.2 MiB after its cells
 * (peak 42.0) where other runs fell back to 17.1. The main thread, which
 * otherwise only waits for signals, hands whole free pages back
 * (malloc_trim) this often.
 */
#define MAIN_TRIM_INTERVAL_S 10

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
	struct retired *retired = NULL;
	int ch, sig, check_only = 0, check_directory = 0, status = 1;
	const char *config_uri = NULL;
	static const struct option longopts[] = {
	    {"version", no_argument, NULL, 'V'},
	    {"check-directory", no_argument, NULL, 'C'},
	    {"config-uri", required_argument, NULL, 'U'},
	    {NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "f:nH:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			check_directory = 1;
			break;
		case 'U':
			config_uri = optarg;
			break;
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
		case 'V':
			printf("rosterbridge %s\n", RB_VERSION);
			return 0;
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
	if (check_directory)
		return main_check_directory(cfg, config_uri);
	log_init(main_log_level(cfg->log_level));

	/* Block the stop signals in every thread; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, MAIN_MALLOC_ARENAS);

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
	app.invitations = console_invitations;
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
	else
		main_warn_directory(cfg);
	if (dir_groups_start(app.dir) < 0)
		log_warnx("the group table did not start: a person's groups are read from the "
		          "directory on every request");
	if (dir_repair_start(app.dir) < 0)
		log_warnx("the repair thread did not start: half-done role-group changes wait "
		          "for the next start");

	notify_send("READY=1\nSTATUS=listening");

	for (;;) {
		struct timespec trim = {MAIN_TRIM_INTERVAL_S, 0};
		sig = sigtimedwait(&set, NULL, &trim);
		if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
			malloc_trim(0);
			continue;
		}
		if (sig < 0)
			sig = SIGTERM;
		if (sig != SIGHUP)
			break;
		cfg = main_reload(&app, cfg, path, &retired);
	}
	log_info("signal %d: shutting down", sig);
	notify_send("STOPPING=1");
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
	while (retired != NULL) {
		struct retired *next = retired->next;
		config_free(retired->cfg);
		free(retired);
		retired = next;
	}
	curl_global_cleanup();
	return status;
}
