/*
 * httpbench.c — the bridge side of `make bench`: a SCIM load generator over
 * libcurl multi. N concurrent keep-alive connections, one request in flight
 * on each, single-threaded; stops after -t seconds or -n requests.
 *
 * Requests (-o):
 *   post     POST /Users (a new userName each time; -x: an administrator,
 *            with the admin extension, permission manage, scope district)
 *   get      GET /Users/{id}
 *   filter   GET /Users?filter=userName eq "…"
 *   list     GET /Users?count=100&sortBy=userName
 *   first    GET /Users?count=1 (no filter, no sortBy: an IdP's connection test)
 *   patch    PATCH /Users/{id}, Okta's {"op":"replace","value":{"title":…}}
 *   member   PATCH /Groups/{id} adding, then removing, connection k's member
 *            (Entra's shapes: "Add"/"Remove", path "members", value list);
 *            a connection stops only with its member out of the group
 *   delete   DELETE /Users/{id}, each id once
 *   bulk     POST /Bulk with -b POST /Users operations each (as post, -x
 *            for administrators); -n counts operations. Also prints
 *            "BULK ok=N failed=M" (operations answered 201, and not)
 *   config   GET /ServiceProviderConfig: a SCIM request with no directory
 *            work (token check, worker hand-off, JSON), the ceiling of
 *            the bridge's request path on this machine
 *   health   GET /healthz: answered on libmicrohttpd's event thread, no
 *            token, no worker: the HTTP server's own ceiling
 *   idle     no curl: open -c plain keep-alive connections, one GET /healthz
 *            each, print "READY open=N", hold them -t seconds, close
 *
 * Prints one RESULT line (bench_stats.h); a non-2xx answer is an error.
 * Exit 0 unless the harness broke.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_stats.h"

enum http_op {
	HOP_POST,
	HOP_GET,
	HOP_FILTER,
	HOP_LIST,
	HOP_PATCH,
	HOP_MEMBER,
	HOP_DELETE,
	HOP_BULK,
	HOP_IDLE,
	HOP_FIRST,
	HOP_CONFIG,
	HOP_HEALTH
};
static const char *const http_op_names[] = {"post",   "get",    "filter", "list", "patch",
                                            "member", "delete", "bulk",   "idle", "first",
                                            "config", "health", NULL};

static struct {
	const char *base, *token, *prefix, *group;
	enum http_op op;
	int conns;
	double secs, deadline;
	long max_ops, next, done, batch, bulk_ok, bulk_failed;
	bool admin;
	char **ids, **names, **members, **member_names;
	long n_ids, n_members;
	struct curl_slist *headers;
} H;

struct client {
	int index;
	CURL *easy;
	char url[2048];
	char *body; /* body_cap bytes, NEW per client */
	size_t body_cap;
	char *resp; /* bulk: the response so far (resp_len of resp_cap), NEW */
	size_t resp_len, resp_cap;
	long batch_n; /* bulk: operations in the request in flight */
	double t0;
	bool in_group, adding, busy;
	long seq;
	struct stats st;
};

static size_t
http_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* Bulk: keep the response, to count the operations that succeeded. */
static size_t
http_keep(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct client *c = ud;
	size_t n = size * nmemb;

	if (c->resp_len + n + 1 > c->resp_cap) {
		size_t cap = (c->resp_len + n + 1) * 2;
		char *p = realloc(c->resp, cap);
		if (p == NULL)
			return 0;
		c->resp = p;
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, ptr, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	return n;
}

/* Count the operations of a bulk response answered 201. */
static long
http_bulk_created(const struct client *c)
{
	const char *p = c->resp;
	long n = 0;

	while (p != NULL && (p = strstr(p, "\"status\":\"201\"")) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Write connection c's next new user (JSON) at out; returns its length. Every name
 * is unique, the family name too: with one shared surname the bridge's duplicate
 * search read an index key holding every person the run had made (docs/schema.md,
 * "Cost per request", fourth session). */
static int
http_user_json(struct client *c, char *out, size_t cap)
{
	int n;

	if (H.admin)
		n = snprintf(out, cap,
		             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
		             "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\"],"
		             "\"userName\":\"%s%d-%ld@bench.example\",\"name\":{\"givenName\":"
		             "\"G%s%d-%ld\",\"familyName\":\"Admin\"},\"emails\":[{\"value\":"
		             "\"%s%d-%ld@bench.example\",\"type\":\"work\",\"primary\":true}],"
		             "\"active\":true,"
		             "\"urn:rosterbridge:params:scim:schemas:extension:admin:2.0:User\":"
		             "{\"permission\":\"manage\",\"scope\":\"district\"}}",
		             H.prefix, c->index, c->seq, H.prefix, c->index, c->seq, H.prefix,
		             c->index, c->seq);
	else
		n = snprintf(out, cap,
		             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
		             "\"userName\":\"%s%d-%ld@bench.example\",\"name\":{\"givenName\":"
		             "\"G%s%d-%ld\",\"familyName\":\"F%s%d-%ld\"},\"emails\":[{\"value\":"
		             "\"%s%d-%ld@bench.example\",\"type\":\"work\",\"primary\":true}],"
		             "\"active\":true}",
		             H.prefix, c->index, c->seq, H.prefix, c->index, c->seq, H.prefix,
		             c->index, c->seq, H.prefix, c->index, c->seq);
	c->seq++;
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* URL-encode `s` into out (bounded). */
static void
http_urlencode(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* Is there another request for client c? Sets up its easy handle when so. */
static bool
http_prepare(struct client *c)
{
	CURL *e = c->easy;
	long idx = 0;
	const char *method = "GET";
	bool body = false;

	if (H.op == HOP_MEMBER) {
		if (!c->in_group && (stats_now() >= H.deadline ||
		                     (H.max_ops > 0 && H.done >= H.max_ops) || c->st.errors > 100))
			return false;
	} else {
		if (stats_now() >= H.deadline || (H.max_ops > 0 && H.next >= H.max_ops))
			return false;
		idx = H.next++; /* bulk: moved on by the batch below */
		if (H.op == HOP_DELETE && idx >= H.n_ids)
			return false;
	}
	switch (H.op) {
	case HOP_POST:
		method = "POST";
		body = true;
		snprintf(c->url, sizeof(c->url), "%s/Users", H.base);
		if (http_user_json(c, c->body, c->body_cap) < 0)
			return false;
		break;
	case HOP_BULK: {
		size_t len;
		long k;
		method = "POST";
		body = true;
		snprintf(c->url, sizeof(c->url), "%s/Bulk", H.base);
		len = (size_t)snprintf(c->body, c->body_cap,
		                       "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		                       "BulkRequest\"],\"Operations\":[");
		c->batch_n = 0;
		for (k = 0; k < H.batch && (H.max_ops == 0 || idx + k < H.max_ops); k++) {
			int n = snprintf(c->body + len, c->body_cap - len,
			                 "%s{\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":"
			                 "\"b%ld\",\"data\":",
			                 k ? "," : "", k);
			if (n < 0 || (size_t)n >= c->body_cap - len)
				return false;
			len += (size_t)n;
			n = http_user_json(c, c->body + len, c->body_cap - len);
			if (n < 0 || (size_t)n + 4 >= c->body_cap - len)
				return false;
			len += (size_t)n;
			c->body[len++] = '}';
			c->batch_n++;
		}
		snprintf(c->body + len, c->body_cap - len, "]}");
		H.next = idx + c->batch_n;
		c->resp_len = 0;
		break;
	}
	case HOP_GET:
		snprintf(c->url, sizeof(c->url), "%s/Users/%s", H.base, H.ids[idx % H.n_ids]);
		break;
	case HOP_FILTER: {
		char f[512], enc[1024];
		snprintf(f, sizeof(f), "userName eq \"%s\"", H.names[idx % H.n_ids]);
		http_urlencode(enc, sizeof(enc), f);
		snprintf(c->url, sizeof(c->url), "%s/Users?filter=%s", H.base, enc);
		break;
	}
	case HOP_LIST:
		snprintf(c->url, sizeof(c->url), "%s/Users?count=100&sortBy=userName", H.base);
		break;
	case HOP_FIRST:
		snprintf(c->url, sizeof(c->url), "%s/Users?count=1", H.base);
		break;
	case HOP_CONFIG:
		snprintf(c->url, sizeof(c->url), "%s/ServiceProviderConfig", H.base);
		break;
	case HOP_HEALTH: {
		/* /healthz sits at the server's root, beside the SCIM base. */
		const char *scim = strstr(H.base, "/scim/");
		int root = scim ? (int)(scim - H.base) : (int)strlen(H.base);
		snprintf(c->url, sizeof(c->url), "%.*s/healthz", root, H.base);
		break;
	}
	case HOP_PATCH:
		method = "PATCH";
		body = true;
		snprintf(c->url, sizeof(c->url), "%s/Users/%s", H.base, H.ids[idx % H.n_ids]);
		snprintf(c->body, c->body_cap,
		         "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		         "\"Operations\":[{\"op\":\"replace\",\"value\":{\"title\":\"Title http "
		         "%.0f-%ld\"}}]}",
		         H.deadline,
		         idx); /* never the current title: the bridge skips no-op writes */
		break;
	case HOP_MEMBER:
		method = "PATCH";
		body = true;
		c->adding = !c->in_group;
		snprintf(c->url, sizeof(c->url), "%s/Groups/%s", H.base, H.group);
		snprintf(
		    c->body, c->body_cap,
		    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		    "\"Operations\":[{\"op\":\"%s\",\"path\":\"members\",\"value\":[{\"value\":"
		    "\"%s\"}]}]}",
		    c->adding ? "Add" : "Remove", H.members[c->index]);
		break;
	case HOP_DELETE:
		method = "DELETE";
		snprintf(c->url, sizeof(c->url), "%s/Users/%s", H.base, H.ids[idx]);
		break;
	case HOP_IDLE:
		return false;
	}
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	c->t0 = stats_now();
	return true;
}

static int
http_run(void)
{
	CURLM *multi = curl_multi_init();
	struct client *cs = calloc((size_t)H.conns, sizeof(*cs));
	struct stats all = {0};
	double t0, secs;
	int running = 0, i, active = 0;
	char auth[512];

	if (multi == NULL || cs == NULL)
		return 1;
	if (H.token != NULL) { /* health: no token */
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", H.token);
		H.headers = curl_slist_append(H.headers, auth);
	}
	H.headers = curl_slist_append(H.headers, "Content-Type: application/scim+json");
	H.headers = curl_slist_append(H.headers, "Expect:");
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)H.conns);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)H.conns);
	t0 = stats_now();
	H.deadline = t0 + H.secs;
	for (i = 0; i < H.conns; i++) {
		cs[i].index = i;
		cs[i].easy = curl_easy_init();
		if (cs[i].easy == NULL)
			return 1;
		cs[i].body_cap = H.op == HOP_BULK ? (size_t)H.batch * 1024 + 256 : 4096;
		cs[i].body = malloc(cs[i].body_cap);
		if (cs[i].body == NULL)
			return 1;
		curl_easy_setopt(cs[i].easy, CURLOPT_HTTPHEADER, H.headers);
		curl_easy_setopt(cs[i].easy, CURLOPT_WRITEFUNCTION,
		                 H.op == HOP_BULK ? http_keep : http_discard);
		curl_easy_setopt(cs[i].easy, CURLOPT_WRITEDATA, &cs[i]);
		curl_easy_setopt(cs[i].easy, CURLOPT_PRIVATE, &cs[i]);
		curl_easy_setopt(cs[i].easy, CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(cs[i].easy, CURLOPT_TCP_NODELAY, 1L);
		if (http_prepare(&cs[i])) {
			curl_multi_add_handle(multi, cs[i].easy);
			cs[i].busy = true;
			active++;
		}
	}
	while (active > 0) {
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct client *c = NULL;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result == CURLE_OK && status >= 200 && status < 300) {
				stats_add(&c->st, (stats_now() - c->t0) * 1e6);
				if (H.op == HOP_MEMBER)
					c->in_group = c->adding;
				if (H.op == HOP_BULK) {
					long ok = http_bulk_created(c);
					H.bulk_ok += ok;
					H.bulk_failed += c->batch_n - ok;
					if (ok < c->batch_n && c->st.errors == 0)
						fprintf(
						    stderr,
						    "httpbench: bulk: %ld of %ld failed: %.300s\n",
						    c->batch_n - ok, c->batch_n,
						    c->resp ? c->resp : "");
				}
			} else {
				if (c->st.errors == 0)
					fprintf(stderr, "httpbench: %s %s: curl %d, HTTP %ld\n",
					        http_op_names[H.op], c->url, (int)msg->data.result,
					        status);
				c->st.errors++;
			}
			H.done++;
			curl_multi_remove_handle(multi, c->easy);
			if (http_prepare(c)) {
				curl_multi_add_handle(multi, c->easy);
			} else {
				c->busy = false;
				active--;
			}
		}
		if (active > 0 && curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK)
			break;
	}
	secs = stats_now() - t0;
	for (i = 0; i < H.conns; i++) {
		stats_merge(&all, &cs[i].st);
		free(cs[i].st.us);
		if (cs[i].busy)
			curl_multi_remove_handle(multi, cs[i].easy);
		curl_easy_cleanup(cs[i].easy);
		free(cs[i].body);
		free(cs[i].resp);
	}
	stats_print(&all, http_op_names[H.op], H.conns, secs);
	if (H.op == HOP_BULK)
		printf("BULK ok=%ld failed=%ld\n", H.bulk_ok, H.bulk_failed);
	free(all.us);
	free(cs);
	curl_multi_cleanup(multi);
	curl_slist_free_all(H.headers);
	return 0;
}

/* -o idle: hold -c keep-alive connections that each served one request. */
static int
http_idle(void)
{
	const char *hostport = strstr(H.base, "://");
	struct sockaddr_in sa;
	int *fds = calloc((size_t)H.conns, sizeof(int)), i, open_n = 0;
	char host[64], buf[4096], req[128];
	unsigned long port = 0;
	const char *colon;

	if (fds == NULL || hostport == NULL)
		return 1;
	hostport += 3;
	colon = strchr(hostport, ':');
	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return 1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 1;
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	for (i = 0; i < H.conns; i++) {
		ssize_t n;
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "httpbench: idle: connection %d: %s\n", i, strerror(errno));
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
			break;
		}
		if (write(fds[i], req, strlen(req)) != (ssize_t)strlen(req) ||
		    (n = read(fds[i], buf, sizeof(buf))) <= 0 ||
		    strncmp(buf, "HTTP/1.1 200", 12) != 0) {
			fprintf(stderr, "httpbench: idle: connection %d got no 200\n", i);
			close(fds[i]);
			fds[i] = -1;
			break;
		}
		open_n++;
	}
	printf("READY open=%d\n", open_n);
	fflush(stdout);
	sleep((unsigned)(H.secs > 0 ? H.secs : 1));
	for (i = 0; i < open_n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static void
http_usage(void)
{
	fprintf(stderr,
	        "usage: httpbench -u base_url -a token -o "
	        "post|get|filter|list|patch|member|delete|bulk|idle|first|config|health\n"
	        "                 [-c conns] [-t secs] [-n max] [-i idsfile] [-g group_id]\n"
	        "                 [-m membersfile] [-p nameprefix] [-x] [-b ops per bulk]\n");
	exit(2);
}

static long
http_parse_long(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		http_usage();
	return v;
}

int
main(int argc, char **argv)
{
	const char *op = NULL, *ids = NULL, *members = NULL;
	int c, i, rc;

	H.conns = 1;
	H.secs = 2;
	H.prefix = "http-";
	H.batch = 100;
	while ((c = getopt(argc, argv, "u:a:o:c:t:n:i:g:m:p:xb:")) != -1) {
		switch (c) {
		case 'u':
			H.base = optarg;
			break;
		case 'a':
			H.token = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		case 'c':
			H.conns = (int)http_parse_long(optarg);
			break;
		case 't':
			H.secs = strtod(optarg, NULL);
			break;
		case 'n':
			H.max_ops = http_parse_long(optarg);
			break;
		case 'i':
			ids = optarg;
			break;
		case 'g':
			H.group = optarg;
			break;
		case 'm':
			members = optarg;
			break;
		case 'p':
			H.prefix = optarg;
			break;
		case 'x':
			H.admin = true;
			break;
		case 'b':
			H.batch = http_parse_long(optarg);
			if (H.batch < 1 || H.batch > 100000)
				http_usage();
			break;
		default:
			http_usage();
		}
	}
	if (H.base == NULL || op == NULL || H.conns < 1 || H.conns > 20000)
		http_usage();
	for (i = 0; http_op_names[i] != NULL && strcmp(http_op_names[i], op) != 0; i++)
		;
	if (http_op_names[i] == NULL)
		http_usage();
	H.op = (enum http_op)i;
	if (H.op == HOP_IDLE)
		return http_idle();
	if (H.token == NULL && H.op != HOP_HEALTH)
		http_usage();
	if (ids != NULL)
		H.n_ids = stats_read_ids(ids, &H.ids, &H.names);
	if (members != NULL)
		H.n_members = stats_read_ids(members, &H.members, &H.member_names);
	if ((H.op == HOP_GET || H.op == HOP_FILTER || H.op == HOP_PATCH || H.op == HOP_DELETE) &&
	    H.n_ids <= 0) {
		fprintf(stderr, "httpbench: %s needs -i with ids\n", op);
		return 1;
	}
	if (H.op == HOP_MEMBER && (H.group == NULL || H.n_members < H.conns)) {
		fprintf(stderr, "httpbench: member needs -g and -m with ≥ %d members\n", H.conns);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = http_run();
	curl_global_cleanup();
	return rc;
}
