/*
 * report.c — `rosterctl report stale|duplicates|multi-source`.
 *
 * Every report reads the administrators over SCIM and works on what SCIM
 * shows; nothing here reads the directory.
 *
 *   stale         the start/end-of-year review: administrators with an
 *                 invitation still unconfirmed N days after it was made
 *                 (inviteStatus invited/expired, meta.created), and
 *                 administrators whose record has not changed in N days
 *                 (meta.lastModified, the directory's modifyTimestamp).
 *                 The daemon does not record sign-ins (no lastLogon or
 *                 pwdLastSuccess is exposed over SCIM), so "no sign-in"
 *                 cannot be measured: the report says what it measured.
 *   duplicates    possible duplicates as SPEC §1 defines them: the same
 *                 e-mail on two people; the same given and family name
 *                 with different e-mails. Listed, never merged.
 *   multi-source  administrators granted by more than one source (e.g.
 *                 in-product and clever): the ones a district checks when
 *                 a SIS sync and a manual grant disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"

static const char report_help[] =
    "usage: rosterctl report stale [--days N]      (default 365)\n"
    "       rosterctl report duplicates\n"
    "       rosterctl report multi-source\n"
    "\n"
    "stale: invitations unconfirmed for N days (meta.created) and administrators\n"
    "whose record has not changed in N days (meta.lastModified). Sign-ins are not\n"
    "recorded by the daemon, so they are not part of the measure.\n";

/* Seconds since the epoch of an RFC 3339 date-time (lib/rfc3339, the one parser); -1 if not. */
static long long
report_time(const char *s)
{
	struct rfc3339_instant t;

	return rfc3339_parse(s, strlen(s), &t) ? (long long)t.sec : -1;
}

static bool
report_is_admin(const json_t *u)
{
	return json_array_size(json_get_ci(json_get_ci(u, SCIM_ADMIN_SCHEMA), "grants")) > 0;
}

static int
report_stale(struct cli *c, const json_t *users, long days)
{
	static const char *const cols[] = {"userName", "name", "reason", "since", "sources", "id"};
	long long now = (long long)time(NULL), cutoff = now - (long long)days * 86400;
	json_t *rows = json_array(), *full = json_array(), *u;
	size_t i;

	json_array_foreach(users, i, u)
	{
		json_t *meta = json_get_ci(u, "meta");
		json_t *row = admins_row(u);
		const char *invite = json_str(json_get_ci(u, SCIM_ADMIN_SCHEMA), "inviteStatus");
		const char *created = json_str(meta, "created");
		const char *modified = json_str(meta, "lastModified");
		long long tc = report_time(created), tm = report_time(modified);
		const char *reason = NULL, *since = NULL;
		char *src;

		if (!report_is_admin(u)) {
			json_decref(row);
			continue;
		}
		if ((!strcmp(invite, "invited") || !strcmp(invite, "expired")) && tc >= 0 &&
		    tc < cutoff) {
			reason = "invitation not confirmed";
			since = created;
		} else if (tm >= 0 && tm <= cutoff) {
			reason = "record unchanged";
			since = modified;
		}
		if (reason != NULL) {
			src = admins_sources(u);
			json_array_append_new(rows,
			                      json_pack("[O,O,s,s,s,O]", json_array_get(row, 0),
			                                json_array_get(row, 1), reason, since,
			                                src ? src : "", json_array_get(row, 9)));
			json_array_append(full, u);
			free(src);
		}
		json_decref(row);
	}
	if (c->tty_out && c->format == CLI_FORMAT_TABLE)
		printf("administrators with an invitation unconfirmed, or a record unchanged, for "
		       "%ld days or more (sign-ins are not recorded)\n",
		       days);
	output_rows(c, cols, 6, rows, full);
	json_decref(rows);
	json_decref(full);
	return CLI_OK;
}

static void
report_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
report_duplicates(struct cli *c, const json_t *users)
{
	static const char *const cols[] = {"kind", "value", "userNames", "ids"};
	json_t *by_mail = json_object(), *by_name = json_object(), *rows = json_array();
	json_t *u, *list, *e;
	const char *key;
	size_t i, j;

	json_array_foreach(users, i, u)
	{
		json_t *name = json_get_ci(u, "name");
		char nm[512];
		json_array_foreach(json_get_ci(u, "emails"), j, e)
		{
			char *m = strdup(json_str(e, "value"));
			if (m != NULL && *m) {
				report_lower(m);
				list = json_object_get(by_mail, m);
				if (list == NULL)
					json_object_set_new(by_mail, m, list = json_array());
				if (json_array_size(list) == 0 ||
				    json_array_get(list, json_array_size(list) - 1) != u)
					json_array_append(list, u);
			}
			free(m);
		}
		if (*json_str(name, "givenName") && *json_str(name, "familyName")) {
			snprintf(nm, sizeof(nm), "%s %s", json_str(name, "givenName"),
			         json_str(name, "familyName"));
			report_lower(nm);
			list = json_object_get(by_name, nm);
			if (list == NULL)
				json_object_set_new(by_name, nm, list = json_array());
			json_array_append(list, u);
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		json_t *map = pass == 0 ? by_mail : by_name;
		json_object_foreach(map, key, list)
		{
			struct strbuf names = {0}, ids = {0};
			if (json_array_size(list) < 2)
				continue;
			if (pass == 1) {
				/* same name, different e-mails only */
				const char *first =
				    json_str(json_array_get(
				                 json_get_ci(json_array_get(list, 0), "emails"), 0),
				             "value");
				bool differ = false;
				json_array_foreach(list, j, u) differ |=
				    strcasecmp(json_str(json_array_get(json_get_ci(u, "emails"), 0),
				                        "value"),
				               first) != 0;
				if (!differ)
					continue;
			}
			json_array_foreach(list, j, u)
			{
				strbuf_addf(&names, "%s%s", j ? "; " : "", json_str(u, "userName"));
				strbuf_addf(&ids, "%s%s", j ? "; " : "", json_str(u, "id"));
			}
			json_array_append_new(
			    rows, json_pack("[s,s,s,s]", pass == 0 ? "same e-mail" : "same name",
			                    key, names.s ? names.s : "", ids.s ? ids.s : ""));
			free(names.s);
			free(ids.s);
		}
	}
	output_rows(c, cols, 4, rows, NULL);
	json_decref(rows);
	json_decref(by_mail);
	json_decref(by_name);
	return CLI_OK;
}

static int
report_multi_source(struct cli *c, const json_t *users)
{
	json_t *rows = json_array(), *full = json_array(), *u;
	size_t i;

	json_array_foreach(users, i, u)
	{
		char *src = admins_sources(u);
		if (src != NULL && strchr(src, ',') != NULL) {
			json_array_append_new(rows, admins_row(u));
			json_array_append(full, u);
		}
		free(src);
	}
	output_rows(c, admins_cols, admins_ncols, rows, full);
	json_decref(rows);
	json_decref(full);
	return CLI_OK;
}

int
report_main(struct cli *c, int argc, char **argv)
{
	const char *days_opt = NULL;
	const struct cli_opt opts[] = {{"days", OPT_VALUE, &days_opt}, {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *users;
	bool help;
	long days = 365;
	int npos, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(report_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "stale") && strcmp(argv[1], "duplicates") &&
	    strcmp(argv[1], "multi-source"))
		return cli_usage_error("report", "unknown report '%s'", argv[1]);
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "report") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(report_help, stdout);
		return CLI_OK;
	}
	if (npos != 0)
		return cli_usage_error("report", "report %s takes no arguments", argv[1]);
	if (days_opt != NULL) {
		char *end;
		days = strtol(days_opt, &end, 10);
		if (*end != '\0' || days < 0 || days > 36500)
			return cli_usage_error("report", "--days must be 0 to 36500");
	}
	error_clear(&err);
	users = client_list(c, "Users", NULL, &err);
	if (users == NULL)
		return cli_fail(&err);
	if (!strcmp(argv[1], "stale"))
		rc = report_stale(c, users, days);
	else if (!strcmp(argv[1], "duplicates"))
		rc = report_duplicates(c, users);
	else
		rc = report_multi_source(c, users);
	json_decref(users);
	return rc;
}
