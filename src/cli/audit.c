/*
 * audit.c — `rosterctl audit USERNAME`: who changed this administrator's
 * access, when, through which source and request, from which address — the
 * audit trail (slapd's accesslog, README "Audit trail") as the daemon reads
 * it (GET /operator/v1/audit; an in-product token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/strbuf.h"

static const char audit_help[] =
    "usage: rosterctl audit USERNAME\n"
    "\n"
    "Every change to USERNAME's entry the directory's audit trail recorded, oldest\n"
    "first: time, add|modify|delete|modrdn, the source (okta, clever, in-product,\n"
    "… or - for a change not made through rosterbridge), the request id (the\n"
    "daemon's X-Request-Id and req= in its log), the client's address, and the\n"
    "attributes written (per-source values as attribute;x-src-SOURCE). Needs a\n"
    "token of source in-product, and a directory with the audit trail (exit 6\n"
    "otherwise).\n";

int
audit_main(struct cli *c, int argc, char **argv)
{
	static const char *const cols[] = {"time",    "type",   "source",
	                                   "request", "client", "attributes"};
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *out = NULL, *rows, *r, *a;
	char *esc, path[600];
	bool help;
	size_t i, j;
	int npos;

	if (argc < 2) {
		fputs(audit_help, stderr);
		return CLI_USAGE;
	}
	if (opts_parse(argc, argv, opts, &npos, &help, "audit") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(audit_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("audit", "audit needs one USERNAME");
	esc = client_escape(c, argv[1]);
	if (esc == NULL)
		return cli_usage_error("audit", "cannot encode '%s'", argv[1]);
	snprintf(path, sizeof(path), "/audit?userName=%s", esc);
	free(esc);
	error_clear(&err);
	if (client_operator(c, "GET", path, NULL, &out, &err) < 0)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(json_object_get(out, "Resources"), i, r)
	{
		struct strbuf b = {0};
		json_array_foreach(json_object_get(r, "attributes"), j, a)
		    strbuf_addf(&b, "%s%s", j ? "," : "", json_string_value(a));
		strbuf_add(&b, "");
		json_array_append_new(rows, json_pack("[s,s,s,s,s,s]", json_str(r, "time"),
		                                      json_str(r, "type"), json_str(r, "source"),
		                                      json_str(r, "request"), json_str(r, "client"),
		                                      b.s ? b.s : ""));
		free(b.s);
	}
	output_rows(c, cols, 6, rows, json_object_get(out, "Resources"));
	json_decref(rows);
	json_decref(out);
	return CLI_OK;
}
