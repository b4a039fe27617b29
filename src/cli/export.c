/*
 * export.c — `rosterctl export [--format csv|json|ldif] [--schools]`, and
 * the LDIF writing tenant.c shares.
 *
 *   csv   the columns of `admins list` (one row per administrator)
 *   json  the SCIM resources exactly as the daemon answered
 *   ldif  one inetOrgPerson entry per administrator under --base (default
 *         ou=people,dc=export), for loading into another directory or a
 *         tool that reads LDIF: uid, cn, sn, givenName, mail, displayName,
 *         employeeNumber (externalId), description (sources and grants).
 *         It is not a dump of the bridge's own directory (use slapcat).
 *
 * LDIF (RFC 2849) values that are not SAFE-STRINGs are base64; DN values
 * are escaped per RFC 4514 here because the CLI never links src/dir (whose
 * escape.c does the same for the daemon).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/strbuf.h"
#include "lib/token.h"

static const char export_help[] =
    "usage: rosterctl export [--format csv|json|ldif] [--schools] [--base DN]\n"
    "\n"
    "Every administrator of the token's tenant (with --all-people, everyone),\n"
    "or with --schools every school. csv: the columns of `admins list`;\n"
    "json: the SCIM resources; ldif: inetOrgPerson entries under --base\n"
    "(default ou=people,dc=export).\n";

static bool
ldif_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == ' ' || *p == ':' || *p == '<')
		return false;
	for (; *p; p++)
		if (*p == '\0' || *p == '\n' || *p == '\r' || *p > 0x7e)
			return false;
	return p == (const unsigned char *)s || p[-1] != ' ';
}

void
ldif_attr(FILE *f, const char *name, const char *value)
{
	char *b64;
	size_t n, cap;

	if (value == NULL || *value == '\0')
		return;
	if (ldif_safe(value)) {
		fprintf(f, "%s: %s\n", name, value);
		return;
	}
	n = strlen(value);
	cap = (n + 2) / 3 * 4 + 1;
	b64 = malloc(cap);
	if (b64 != NULL && token_base64((const unsigned char *)value, n, 0, b64, cap) == 0)
		fprintf(f, "%s:: %s\n", name, b64);
	free(b64);
}

char *
ldif_dn_value(const char *v)
{
	struct strbuf b = {0};
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++) {
		char ch = v[i];
		if (strchr(",+\"\\<>;=", ch) != NULL || (i == 0 && (ch == '#' || ch == ' ')) ||
		    (i == n - 1 && ch == ' '))
			strbuf_addn(&b, "\\", 1);
		strbuf_addn(&b, &ch, 1);
	}
	strbuf_add(&b, "");
	return b.s;
}

static void
export_ldif(const json_t *users, const char *base)
{
	json_t *u;
	size_t i;

	json_array_foreach(users, i, u)
	{
		json_t *name = json_get_ci(u, "name");
		json_t *row = admins_row(u);
		char *rdn = ldif_dn_value(json_str(u, "userName"));
		char *dn = NULL;
		struct strbuf b = {0};
		const char *sn = json_str(name, "familyName");

		strbuf_addf(&b, "uid=%s,%s", rdn ? rdn : "", base);
		dn = b.s;
		ldif_attr(stdout, "dn", dn);
		puts("objectClass: inetOrgPerson");
		ldif_attr(stdout, "uid", json_str(u, "userName"));
		ldif_attr(stdout, "cn", json_string_value(json_array_get(row, 1)));
		if (*json_string_value(json_array_get(row, 1)) == '\0')
			ldif_attr(stdout, "cn", json_str(u, "userName"));
		ldif_attr(stdout, "sn", *sn ? sn : json_str(u, "userName"));
		ldif_attr(stdout, "givenName", json_str(name, "givenName"));
		ldif_attr(stdout, "displayName", json_str(u, "displayName"));
		ldif_attr(stdout, "mail", json_string_value(json_array_get(row, 2)));
		ldif_attr(stdout, "employeeNumber", json_str(u, "externalId"));
		{
			struct strbuf d = {0};
			strbuf_addf(&d, "rosterbridge id %s; permission %s; schools %s; sources %s",
			            json_str(u, "id"), json_string_value(json_array_get(row, 3)),
			            json_string_value(json_array_get(row, 4)),
			            json_string_value(json_array_get(row, 6)));
			ldif_attr(stdout, "description", d.s);
			free(d.s);
		}
		putchar('\n');
		free(rdn);
		free(dn);
		json_decref(row);
	}
}

int
export_main(struct cli *c, int argc, char **argv)
{
	const char *format = NULL, *base = "ou=people,dc=export";
	bool schools = false, everyone = false, help;
	const struct cli_opt opts[] = {{"format", OPT_VALUE, &format},
	                               {"schools", OPT_FLAG, &schools},
	                               {"all-people", OPT_FLAG, &everyone},
	                               {"base", OPT_VALUE, &base},
	                               {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *list, *rows, *keep, *u;
	size_t i;
	int npos;

	if (opts_parse(argc, argv, opts, &npos, &help, "export") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(export_help, stdout);
		return CLI_OK;
	}
	if (npos != 0)
		return cli_usage_error("export", "export takes no arguments");
	if (format == NULL)
		format = c->format == CLI_FORMAT_JSON ? "json" : "csv";
	if (strcmp(format, "csv") && strcmp(format, "json") && strcmp(format, "ldif"))
		return cli_usage_error("export", "--format must be csv, json or ldif");
	if (schools && !strcmp(format, "ldif"))
		return cli_usage_error("export", "schools export as csv or json");
	error_clear(&err);
	list = client_list(c, schools ? "Schools" : "Users", NULL, &err);
	if (list == NULL)
		return cli_fail(&err);
	keep = json_array();
	json_array_foreach(list, i, u)
	{
		if (schools || everyone ||
		    json_array_size(json_get_ci(json_get_ci(u, SCIM_ADMIN_SCHEMA), "grants")) > 0)
			json_array_append(keep, u);
	}
	if (!strcmp(format, "json")) {
		output_json(keep);
	} else if (!strcmp(format, "ldif")) {
		export_ldif(keep, base);
	} else if (schools) {
		static const char *const cols[] = {"name", "externalId", "region", "active", "id"};
		struct cli csv = *c;
		rows = json_array();
		json_array_foreach(keep, i, u) json_array_append_new(
		    rows, json_pack("[s,s,s,s,s]", json_str(u, "name"), json_str(u, "externalId"),
		                    json_str(u, "region"),
		                    json_is_false(json_get_ci(u, "active")) ? "no" : "yes",
		                    json_str(u, "id")));
		csv.format = CLI_FORMAT_CSV;
		output_rows(&csv, cols, 5, rows, NULL);
		json_decref(rows);
	} else {
		struct cli csv = *c;
		rows = json_array();
		json_array_foreach(keep, i, u) json_array_append_new(rows, admins_row(u));
		csv.format = CLI_FORMAT_CSV;
		output_rows(&csv, admins_cols, admins_ncols, rows, NULL);
		json_decref(rows);
	}
	json_decref(keep);
	json_decref(list);
	return CLI_OK;
}
