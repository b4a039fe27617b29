/*
 * metrics.c — Prometheus text-format metrics (/metrics).
 *
 *   rosterbridge_http_requests_total{route,code}    counter
 *   rosterbridge_http_request_duration_seconds      histogram (all routes)
 *   rosterbridge_http_route_duration_seconds{route,method} histogram
 *   rosterbridge_build_info{version}                gauge (1)
 *   process_cpu_seconds_total, process_resident_memory_bytes,
 *   process_virtual_memory_bytes, process_open_fds, process_max_fds,
 *   process_start_time_seconds                      (the Prometheus client
 *                                                   conventions, from
 *                                                   getrusage and /proc)
 *   rosterbridge_ldap_pool_{size,connected,in_use}  gauges
 *   rosterbridge_ldap_{connects,connect_failures,pool_waits}_total counters
 *   rosterbridge_group_table_live                   gauge (grouptab.c)
 *   rosterbridge_group_table_lookups_total{from}    counter: table, directory
 *   rosterbridge_unknown_attributes_total{tenant,source} counter: unknown
 *       attributes ignored in request bodies (strict_attributes no)
 *
 * Routes and methods are small fixed sets of labels (never a raw path or
 * method text, which would make the series unbounded).
 */
#include "http/http.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dir/dir.h"

#ifndef RB_VERSION
#define RB_VERSION "0.0.0-dev"
#endif

#define METRICS_MAX_SERIES 256
#define METRICS_MAX_SOURCES 256       /* (tenant, source) pairs: bounded by the tokens */
#define METRICS_MAX_UNKNOWN_SEEN 4096 /* distinct (tenant, source, name) remembered */

static const double metrics_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

struct metrics_series {
	const char *route; /* static label */
	int status;
	unsigned long count;
};

/* One latency histogram per (route, method). */
struct metrics_hist {
	const char *route;  /* static label */
	const char *method; /* static label */
	unsigned long bucket[METRICS_NBUCKETS];
	unsigned long count;
	double sum;
};

struct metrics_source {
	char *tenant, *source; /* owned copies */
	unsigned long unknown; /* unknown attributes ignored */
};

struct metrics {
	pthread_mutex_t mutex;
	struct metrics_source sources[METRICS_MAX_SOURCES];
	size_t nsources;
	json_t *unknown_seen; /* "tenant\nsource\nname" → true; at most METRICS_MAX_UNKNOWN_SEEN */
	bool unknown_full;
	struct metrics_series series[METRICS_MAX_SERIES];
	size_t nseries;
	struct metrics_hist hist[METRICS_MAX_SERIES];
	size_t nhist;
	double start_time; /* seconds since the epoch, when the daemon started */
	unsigned long bucket[METRICS_NBUCKETS];
	unsigned long count;
	double sum;
};

struct metrics *
metrics_create(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct timespec now;

	if (m == NULL)
		return NULL;
	m->unknown_seen = json_object();
	if (m->unknown_seen == NULL) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->mutex, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	return m;
}

void
metrics_destroy(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nsources; i++) {
		free(m->sources[i].tenant);
		free(m->sources[i].source);
	}
	json_decref(m->unknown_seen);
	pthread_mutex_destroy(&m->mutex);
	free(m);
}

static const char *
metrics_method(enum http_method method)
{
	switch (method) {
	case HTTP_GET:
		return "GET";
	case HTTP_POST:
		return "POST";
	case HTTP_PUT:
		return "PUT";
	case HTTP_PATCH:
		return "PATCH";
	case HTTP_DELETE:
		return "DELETE";
	case HTTP_HEAD:
		return "HEAD";
	default:
		return "other";
	}
}

void
metrics_observe(struct metrics *m, const char *route, enum http_method method, int status,
                double seconds)
{
	const char *mname = metrics_method(method);
	struct metrics_hist *h = NULL;
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mutex);
	for (i = 0; i < m->nhist && h == NULL; i++)
		if (m->hist[i].method == mname && !strcmp(m->hist[i].route, route))
			h = &m->hist[i];
	if (h == NULL && m->nhist < METRICS_MAX_SERIES) {
		h = &m->hist[m->nhist++];
		h->route = route;
		h->method = mname;
	}
	if (h != NULL) {
		for (i = 0; i < METRICS_NBUCKETS; i++)
			if (seconds <= metrics_buckets[i])
				h->bucket[i]++;
		h->count++;
		h->sum += seconds;
	}
	for (i = 0; i < m->nseries; i++)
		if (m->series[i].status == status && !strcmp(m->series[i].route, route))
			break;
	if (i == m->nseries && m->nseries < METRICS_MAX_SERIES) {
		m->series[i].route = route;
		m->series[i].status = status;
		m->nseries++;
	}
	if (i < m->nseries)
		m->series[i].count++;
	for (i = 0; i < METRICS_NBUCKETS; i++)
		if (seconds <= metrics_buckets[i])
			m->bucket[i]++;
	m->count++;
	m->sum += seconds;
	pthread_mutex_unlock(&m->mutex);
}

int
metrics_unknown_attribute(struct metrics *m, const char *tenant, const char *source,
                          const char *name)
{
	struct metrics_source *s = NULL;
	char key[512];
	size_t i;
	int first = 0;

	if (m == NULL || tenant == NULL || source == NULL || name == NULL)
		return 0;
	snprintf(key, sizeof(key), "%s\n%s\n%s", tenant, source, name);
	pthread_mutex_lock(&m->mutex);
	for (i = 0; i < m->nsources && s == NULL; i++)
		if (!strcmp(m->sources[i].tenant, tenant) && !strcmp(m->sources[i].source, source))
			s = &m->sources[i];
	if (s == NULL && m->nsources < METRICS_MAX_SOURCES) {
		s = &m->sources[m->nsources];
		s->tenant = strdup(tenant);
		s->source = strdup(source);
		if (s->tenant != NULL && s->source != NULL) {
			m->nsources++;
		} else {
			free(s->tenant);
			free(s->source);
			s->tenant = s->source = NULL;
			s = NULL;
		}
	}
	if (s != NULL)
		s->unknown++;
	if (json_object_get(m->unknown_seen, key) == NULL) {
		if (json_object_size(m->unknown_seen) < METRICS_MAX_UNKNOWN_SEEN) {
			first = json_object_set_new(m->unknown_seen, key, json_true()) == 0;
		} else if (!m->unknown_full) {
			m->unknown_full = true;
			first = -1;
		}
	}
	pthread_mutex_unlock(&m->mutex);
	return first;
}

/* A growing buffer for the exposition text. */
struct metrics_buf {
	char *s;
	size_t len, cap;
	int failed;
};

static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *ns = realloc(b->s, b->cap * 2 + (size_t)n);
		if (ns == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* The process_* metrics and build_info. */
static void
metrics_process(struct metrics_buf *b, const struct metrics *m)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long vsize_pages = 0, rss_pages = 0;
	long page = sysconf(_SC_PAGESIZE);
	long nfds = -1;
	FILE *f;
	DIR *d;

	metrics_printf(b,
	               "# HELP rosterbridge_build_info The running version (value 1).\n"
	               "# TYPE rosterbridge_build_info gauge\n"
	               "rosterbridge_build_info{version=\"%s\"} 1\n",
	               RB_VERSION);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		metrics_printf(b,
		               "# HELP process_cpu_seconds_total User and system CPU time.\n"
		               "# TYPE process_cpu_seconds_total counter\n"
		               "process_cpu_seconds_total %.6f\n",
		               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &vsize_pages, &rss_pages) == 2 && page > 0)
			metrics_printf(
			    b,
			    "# HELP process_virtual_memory_bytes Virtual memory size.\n"
			    "# TYPE process_virtual_memory_bytes gauge\n"
			    "process_virtual_memory_bytes %lu\n"
			    "# HELP process_resident_memory_bytes Resident memory size.\n"
			    "# TYPE process_resident_memory_bytes gauge\n"
			    "process_resident_memory_bytes %lu\n",
			    vsize_pages * (unsigned long)page, rss_pages * (unsigned long)page);
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (d != NULL) {
		struct dirent *e;
		nfds = 0;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				nfds++;
		closedir(d);
		nfds--; /* the directory stream's own descriptor */
		metrics_printf(b,
		               "# HELP process_open_fds Open file descriptors.\n"
		               "# TYPE process_open_fds gauge\n"
		               "process_open_fds %ld\n",
		               nfds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metrics_printf(b,
		               "# HELP process_max_fds Limit on open file descriptors.\n"
		               "# TYPE process_max_fds gauge\n"
		               "process_max_fds %llu\n",
		               (unsigned long long)rl.rlim_cur);
	metrics_printf(b,
	               "# HELP process_start_time_seconds Start time since the epoch.\n"
	               "# TYPE process_start_time_seconds gauge\n"
	               "process_start_time_seconds %.3f\n",
	               m->start_time);
}

char *
metrics_render(struct metrics *m, struct pool *pool, struct dir *dir)
{
	struct metrics_buf b = {malloc(4096), 0, 4096, 0};
	struct pool_stats ps;
	size_t i;

	if (b.s == NULL)
		return NULL;
	b.s[0] = '\0';
	pthread_mutex_lock(&m->mutex);
	metrics_printf(
	    &b, "# HELP rosterbridge_http_requests_total HTTP requests by route and status.\n"
	        "# TYPE rosterbridge_http_requests_total counter\n");
	for (i = 0; i < m->nseries; i++)
		metrics_printf(&b,
		               "rosterbridge_http_requests_total{route=\"%s\",code=\"%d\"} %lu\n",
		               m->series[i].route, m->series[i].status, m->series[i].count);
	metrics_printf(&b, "# HELP rosterbridge_http_request_duration_seconds Request latency.\n"
	                   "# TYPE rosterbridge_http_request_duration_seconds histogram\n");
	for (i = 0; i < METRICS_NBUCKETS; i++)
		metrics_printf(&b,
		               "rosterbridge_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
		               metrics_buckets[i], m->bucket[i]);
	metrics_printf(&b,
	               "rosterbridge_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
	               "rosterbridge_http_request_duration_seconds_sum %.6f\n"
	               "rosterbridge_http_request_duration_seconds_count %lu\n",
	               m->count, m->sum, m->count);
	metrics_printf(&b,
	               "# HELP rosterbridge_http_route_duration_seconds Request latency by route "
	               "and method.\n"
	               "# TYPE rosterbridge_http_route_duration_seconds histogram\n");
	for (i = 0; i < m->nhist; i++) {
		const struct metrics_hist *h = &m->hist[i];
		size_t k;
		for (k = 0; k < METRICS_NBUCKETS; k++)
			metrics_printf(
			    &b,
			    "rosterbridge_http_route_duration_seconds_bucket{route=\"%s\","
			    "method=\"%s\",le=\"%g\"} %lu\n",
			    h->route, h->method, metrics_buckets[k], h->bucket[k]);
		metrics_printf(&b,
		               "rosterbridge_http_route_duration_seconds_bucket{route=\"%s\","
		               "method=\"%s\",le=\"+Inf\"} %lu\n"
		               "rosterbridge_http_route_duration_seconds_sum{route=\"%s\","
		               "method=\"%s\"} %.6f\n"
		               "rosterbridge_http_route_duration_seconds_count{route=\"%s\","
		               "method=\"%s\"} %lu\n",
		               h->route, h->method, h->count, h->route, h->method, h->sum, h->route,
		               h->method, h->count);
	}
	metrics_printf(&b, "# HELP rosterbridge_unknown_attributes_total Unknown attributes "
	                   "ignored in request bodies, by tenant and source.\n"
	                   "# TYPE rosterbridge_unknown_attributes_total counter\n");
	for (i = 0; i < m->nsources; i++)
		metrics_printf(&b,
		               "rosterbridge_unknown_attributes_total{tenant=\"%s\",source=\"%s\"} "
		               "%lu\n",
		               m->sources[i].tenant, m->sources[i].source, m->sources[i].unknown);
	pthread_mutex_unlock(&m->mutex);
	metrics_process(&b, m);
	if (pool != NULL) {
		pool_get_stats(pool, &ps);
		metrics_printf(
		    &b,
		    "# HELP rosterbridge_ldap_pool_size LDAP connections in the pool.\n"
		    "# TYPE rosterbridge_ldap_pool_size gauge\n"
		    "rosterbridge_ldap_pool_size %d\n"
		    "# HELP rosterbridge_ldap_pool_connected LDAP connections bound now.\n"
		    "# TYPE rosterbridge_ldap_pool_connected gauge\n"
		    "rosterbridge_ldap_pool_connected %d\n"
		    "# HELP rosterbridge_ldap_pool_in_use LDAP connections serving a request.\n"
		    "# TYPE rosterbridge_ldap_pool_in_use gauge\n"
		    "rosterbridge_ldap_pool_in_use %d\n"
		    "# HELP rosterbridge_ldap_connects_total Successful LDAP binds.\n"
		    "# TYPE rosterbridge_ldap_connects_total counter\n"
		    "rosterbridge_ldap_connects_total %lu\n"
		    "# HELP rosterbridge_ldap_connect_failures_total Failed LDAP connects.\n"
		    "# TYPE rosterbridge_ldap_connect_failures_total counter\n"
		    "rosterbridge_ldap_connect_failures_total %lu\n"
		    "# HELP rosterbridge_ldap_pool_waits_total Requests that waited for a "
		    "connection.\n"
		    "# TYPE rosterbridge_ldap_pool_waits_total counter\n"
		    "rosterbridge_ldap_pool_waits_total %lu\n",
		    ps.size, ps.connected, ps.in_use, ps.connects, ps.failures, ps.waits);
	}
	if (dir != NULL) {
		unsigned long hits, misses;
		bool live;
		dir_groups_stats(dir, &hits, &misses, &live);
		metrics_printf(
		    &b,
		    "# HELP rosterbridge_group_table_live 1 when the group table follows the "
		    "directory (group_table yes and the sync search is running).\n"
		    "# TYPE rosterbridge_group_table_live gauge\n"
		    "rosterbridge_group_table_live %d\n"
		    "# HELP rosterbridge_group_table_lookups_total Groups a response needed, by "
		    "where they were read (table or directory).\n"
		    "# TYPE rosterbridge_group_table_lookups_total counter\n"
		    "rosterbridge_group_table_lookups_total{from=\"table\"} %lu\n"
		    "rosterbridge_group_table_lookups_total{from=\"directory\"} %lu\n",
		    live ? 1 : 0, hits, misses);
	}
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
