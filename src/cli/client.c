/*
 * client.c — the SCIM client over libcurl; see cli.h.
 *
 * One curl handle per run (connections are kept alive between requests).
 * Every failure becomes an rb_error whose detail says what happened and
 * what to do next; the token is sent in a header and never printed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "engine/path.h"
#include "lib/strbuf.h"

#ifndef RB_VERSION
#define RB_VERSION "0.0.0-dev"
#endif

#define CLIENT_PAGE 1000

json_t *
json_get_ci(const json_t *obj, const char *key)
{
	return path_object_get(obj, key); /* the engine's case-insensitive lookup */
}

const char *
json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_get_ci(obj, key));

	return s ? s : "";
}

/* Load the token from the token file (refused when others may read it). */
static int
client_token(struct cli *c, struct rb_error *err)
{
	struct stat st;
	FILE *f;
	char buf[1024];
	size_t n;

	if (c->token != NULL)
		return 0;
	if (c->token_file == NULL)
		return error_set(
		    err, CLI_ERR_CONFIG, NULL,
		    "no token: set ROSTERCTL_TOKEN_FILE to a file (mode 0600) holding "
		    "the token `rosterctl token create --source in-product …` printed, "
		    "or put `token_file FILE` in ~/.config/rosterctl/config");
	f = fopen(c->token_file, "r");
	if (f == NULL)
		return error_set(err, CLI_ERR_CONFIG, NULL, "token file %s: %s", c->token_file,
		                 strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fclose(f);
		return error_set(err, CLI_ERR_CONFIG, NULL,
		                 "token file %s is readable by others (mode %03o): run `chmod 600 "
		                 "%s`",
		                 c->token_file, (unsigned)(st.st_mode & 0777), c->token_file);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		return error_set(err, CLI_ERR_CONFIG, NULL, "token file %s is empty",
		                 c->token_file);
	c->token = strdup(buf);
	memset(buf, 0, sizeof(buf));
	if (c->token == NULL)
		return error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
	return 0;
}

static size_t
client_write(char *data, size_t size, size_t nmemb, void *userp)
{
	strbuf_addn(userp, data, size * nmemb);
	return size * nmemb;
}

/* The error for a non-2xx answer: the daemon's detail and what to do next. */
static int
client_http_error(struct cli *c, const char *method, const char *path, long status,
                  const char *body, struct rb_error *err)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	const char *detail = json_str(j, "detail");
	char what[RB_ERROR_DETAIL_MAX];
	const char *next = "";

	snprintf(what, sizeof(what), "%s", *detail ? detail : "(no detail)");
	json_decref(j);
	switch (status) {
	case 401:
		next =
		    ": is the token file the token `rosterctl token create` printed, and is its "
		    "`token sha256:…` line in the daemon's configuration (then `systemctl reload "
		    "rosterbridge`)?";
		break;
	case 403:
		next = ": this needs a token with rights=write (`rosterctl token create … --rights "
		       "write`)";
		break;
	case 503:
		next = ": the daemon cannot reach its directory; check slapd (`systemctl status "
		       "slapd`) and the daemon's log (`journalctl -u rosterbridge`)";
		break;
	case 500:
		next = ": see the daemon's log (`journalctl -u rosterbridge`)";
		break;
	default:
		break;
	}
	(void)c;
	return error_set(err, (int)status, NULL, "%s %s: %ld %s%s", method, path, status, what,
	                 next);
}

/* One request to c->url + root + path (client_request, client_operator). */
static int
client_request_at(struct cli *c, const char *root, const char *method, const char *path,
                  const json_t *body, json_t **out, struct rb_error *err)
{
	CURL *curl;
	struct curl_slist *h = NULL;
	struct strbuf url = {0}, auth = {0}, resp = {0};
	char *payload = NULL;
	char cerr[CURL_ERROR_SIZE];
	CURLcode rc;
	long status = 0;
	int ret = -1;

	if (out != NULL)
		*out = NULL;
	if (client_token(c, err) < 0)
		return -1;
	if (c->curl == NULL && (c->curl = curl_easy_init()) == NULL)
		return error_set(err, CLI_ERR_CONFIG, NULL, "libcurl could not start");
	curl = c->curl;
	curl_easy_reset(curl);
	strbuf_add(&url, c->url);
	strbuf_add(&url, root);
	strbuf_add(&url, path);
	strbuf_add(&auth, "Authorization: Bearer ");
	strbuf_add(&auth, c->token);
	if (url.failed || auth.failed) {
		error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		goto done;
	}
	h = curl_slist_append(h, auth.s);
	h = curl_slist_append(h, "Accept: application/scim+json");
	h = curl_slist_append(h, "User-Agent: rosterctl/" RB_VERSION);
	h = curl_slist_append(h, "Expect:");
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		h = curl_slist_append(h, "Content-Type: application/scim+json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload ? payload : "");
	}
	cerr[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, url.s);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		error_set(err, CLI_ERR_UNREACHABLE, NULL,
		          "the daemon at %s did not answer (%s): is it running? `systemctl status "
		          "rosterbridge` (the URL is from %s; change it with --url or "
		          "ROSTERCTL_URL)",
		          c->url, cerr[0] ? cerr : curl_easy_strerror(rc),
		          c->url_from ? c->url_from : "the default");
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		client_http_error(c, method, path, status, resp.s, err);
		goto done;
	}
	if (out != NULL && resp.len > 0) {
		json_error_t je;
		*out = json_loads(resp.s, 0, &je);
		if (*out == NULL) {
			error_set(
			    err, 502, NULL,
			    "%s %s: the answer is not JSON (%s): is %s a rosterbridge daemon?",
			    method, path, je.text, c->url);
			goto done;
		}
	}
	ret = 0;
done:
	curl_slist_free_all(h);
	if (auth.s != NULL)
		memset(auth.s, 0, auth.len);
	free(auth.s);
	free(url.s);
	free(resp.s);
	free(payload);
	return ret;
}

int
client_request(struct cli *c, const char *method, const char *path, const json_t *body,
               json_t **out, struct rb_error *err)
{
	return client_request_at(c, "/scim/v2", method, path, body, out, err);
}

int
client_operator(struct cli *c, const char *method, const char *path, const json_t *body,
                json_t **out, struct rb_error *err)
{
	return client_request_at(c, "/operator/v1", method, path, body, out, err);
}

char *
client_escape(struct cli *c, const char *s)
{
	char *e, *d;

	if (c->curl == NULL && (c->curl = curl_easy_init()) == NULL)
		return NULL;
	e = curl_easy_escape(c->curl, s, 0);
	if (e == NULL)
		return NULL;
	d = strdup(e);
	curl_free(e);
	return d;
}

char *
client_filter_eq(const char *attr, const char *value)
{
	json_t *s = json_string(value);
	char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	struct strbuf b = {0};

	json_decref(s);
	if (q == NULL)
		return NULL;
	strbuf_addf(&b, "%s eq %s", attr, q);
	free(q);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

json_t *
client_list(struct cli *c, const char *endpoint, const char *filter, struct rb_error *err)
{
	return client_list_q(c, endpoint, filter, NULL, err);
}

json_t *
client_list_q(struct cli *c, const char *endpoint, const char *filter, const char *query,
              struct rb_error *err)
{
	json_t *all = json_array();
	char *fq = NULL;
	long start = 1;

	if (all == NULL) {
		error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		return NULL;
	}
	if (filter != NULL && (fq = client_escape(c, filter)) == NULL) {
		error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		goto fail;
	}
	for (;;) {
		struct strbuf path = {0};
		json_t *page = NULL, *res, *v;
		long total;
		size_t i, n;
		int rc;

		strbuf_addf(&path, "/%s?startIndex=%ld&count=%d", endpoint, start, CLIENT_PAGE);
		if (fq != NULL)
			strbuf_addf(&path, "&filter=%s", fq);
		if (query != NULL)
			strbuf_addf(&path, "&%s", query);
		rc = path.failed ? error_set(err, CLI_ERR_CONFIG, NULL, "out of memory")
		                 : client_request(c, "GET", path.s, NULL, &page, err);
		free(path.s);
		if (rc < 0)
			goto fail;
		res = json_get_ci(page, "Resources");
		total = (long)json_integer_value(json_get_ci(page, "totalResults"));
		n = json_array_size(res);
		json_array_foreach(res, i, v) json_array_append(all, v);
		json_decref(page); /* res was borrowed from it */
		start += (long)n;
		if (n == 0 || (long)json_array_size(all) >= total)
			break;
	}
	free(fq);
	return all;
fail:
	free(fq);
	json_decref(all);
	return NULL;
}

static bool
client_looks_like_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n != 36)
		return false;
	for (i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return false;
	}
	return true;
}

json_t *
client_find(struct cli *c, const char *endpoint, const char *attr, const char *key,
            struct rb_error *err)
{
	json_t *found = NULL, *list;
	char *filter;

	if (client_looks_like_id(key)) {
		struct strbuf path = {0};
		struct rb_error e2;
		int rc;

		error_clear(&e2);
		strbuf_addf(&path, "/%s/%s", endpoint, key);
		rc = path.failed ? error_set(&e2, CLI_ERR_CONFIG, NULL, "out of memory")
		                 : client_request(c, "GET", path.s, NULL, &found, &e2);
		free(path.s);
		if (rc == 0)
			return found;
		if (e2.status != 404) {
			*err = e2;
			return NULL;
		}
	}
	filter = client_filter_eq(attr, key);
	if (filter == NULL) {
		error_set(err, CLI_ERR_CONFIG, NULL, "out of memory");
		return NULL;
	}
	list = client_list(c, endpoint, filter, err);
	free(filter);
	if (list == NULL)
		return NULL;
	if (json_array_size(list) == 1)
		found = json_incref(json_array_get(list, 0));
	else if (json_array_size(list) == 0)
		error_set(err, 404, NULL, "no %s with id or %s '%s' in this tenant", endpoint, attr,
		          key);
	else
		error_set(err, 409, NULL, "%zu %s have %s '%s': give the id instead",
		          json_array_size(list), endpoint, attr, key);
	json_decref(list);
	return found;
}

void
client_cleanup(struct cli *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

int
client_remove(struct cli *c, const char *endpoint, const char *what, const json_t *found)
{
	struct rb_error err;
	char path[160];

	error_clear(&err);
	snprintf(path, sizeof(path), "%s/%s", endpoint, json_str(found, "id"));
	if (client_request(c, "DELETE", path, NULL, NULL, &err) < 0)
		return cli_fail(&err);
	if (!c->quiet)
		printf("removed %s %s (id %s)\n", what, json_str(found, "name"),
		       json_str(found, "id"));
	return CLI_OK;
}
