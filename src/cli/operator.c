/*
 * operator.c — `rosterctl retained list|restore` and `rosterctl guard
 * list|approve|reject` (issue 16 items 4 and 5): the daemon's /operator/v1
 * endpoints, with an in-product token.
 *
 *   retained list            people the last source released, kept disabled
 *                            (retention_days > 0) until the purge
 *   retained restore NAME    make NAME a person again: held by in-product,
 *                            with no grant (give one with `admins edit`)
 *   guard list               removals the mass-deprovision guard holds
 *   guard approve|reject ID  apply one (as its source) or drop it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char retained_help[] =
    "usage: rosterctl retained list\n"
    "       rosterctl retained restore USERNAME\n"
    "\n"
    "People released by their last source are kept disabled (no bind, no access,\n"
    "invisible to SCIM) for retention_days, then purged. `restore` makes one a\n"
    "person again, held by in-product and with no grant: the old grants do not\n"
    "come back. Needs a token of source in-product (write rights to restore).\n";

static int
retained_list(struct cli *c)
{
	static const char *const cols[] = {"userName", "disabledAt", "retentionDays", "id"};
	struct rb_error err;
	json_t *out = NULL, *rows, *r;
	size_t i;

	error_clear(&err);
	if (client_operator(c, "GET", "/retained", NULL, &out, &err) < 0)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(json_object_get(out, "Resources"), i, r)
	{
		char days[32];
		snprintf(days, sizeof(days), "%lld",
		         (long long)json_integer_value(json_object_get(r, "retentionDays")));
		json_array_append_new(rows, json_pack("[s,s,s,s]", json_str(r, "userName"),
		                                      json_str(r, "disabledAt"), days,
		                                      json_str(r, "id")));
	}
	output_rows(c, cols, 4, rows, json_object_get(out, "Resources"));
	json_decref(rows);
	json_decref(out);
	return CLI_OK;
}

static int
retained_restore(struct cli *c, const char *name)
{
	struct rb_error err;
	json_t *body = json_pack("{s:s}", "userName", name), *out = NULL;
	int rc;

	error_clear(&err);
	rc = client_operator(c, "POST", "/retained/restore", body, &out, &err);
	json_decref(body);
	if (rc < 0)
		return cli_fail(&err);
	printf("restored %s (id %s): held by in-product, no grant\n", name, json_str(out, "id"));
	json_decref(out);
	return CLI_OK;
}

int
retained_main(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	bool help;
	int npos;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(retained_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "retained") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(retained_help, stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "list") && npos == 0)
		return retained_list(c);
	if (!strcmp(argv[1], "restore") && npos == 1)
		return retained_restore(c, argv[2]);
	return cli_usage_error("retained",
	                       "expected `retained list` or `retained restore USERNAME`");
}

static const char guard_help[] =
    "usage: rosterctl guard list\n"
    "       rosterctl guard approve ID\n"
    "       rosterctl guard reject ID\n"
    "\n"
    "The mass-deprovision guard holds a source's removals (DELETE) and suspensions\n"
    "(active=false) beyond guard_share_percent of its people within guard_window_s.\n"
    "`approve` applies one as its source; `reject` drops it (nothing changes).\n"
    "`list` shows each one's age and when it expires: a held removal nobody decides\n"
    "within guard_hold_days (default 7) is dropped, not applied; one the source\n"
    "cancels by writing the person as active again (PUT/PATCH) goes too.\n"
    "Needs a token of source in-product (write rights to decide).\n";

/* A held removal's age, "3d 4h", "5h 12m", "42s", into out. */
static void
guard_age(json_int_t s, char *out, size_t outlen)
{
	if (s >= 86400)
		snprintf(out, outlen, "%lldd %lldh", (long long)(s / 86400),
		         (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, outlen, "%lldh %lldm", (long long)(s / 3600),
		         (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, outlen, "%lldm", (long long)(s / 60));
	else
		snprintf(out, outlen, "%llds", (long long)s);
}

static int
guard_list(struct cli *c)
{
	static const char *const cols[] = {"id",     "source", "action",   "userName",
	                                   "heldAt", "age",    "expiresAt"};
	struct rb_error err;
	json_t *out = NULL, *rows, *r;
	size_t i;

	error_clear(&err);
	if (client_operator(c, "GET", "/held", NULL, &out, &err) < 0)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(json_object_get(out, "Resources"), i, r)
	{
		char age[32];
		const char *until = json_string_value(json_object_get(r, "expiresAt"));
		guard_age(json_integer_value(json_object_get(r, "ageSeconds")), age, sizeof(age));
		json_array_append_new(
		    rows, json_pack("[s,s,s,s,s,s,s]", json_str(r, "id"), json_str(r, "source"),
		                    json_str(r, "action"), json_str(r, "userName"),
		                    json_str(r, "heldAt"), age, until ? until : "never"));
	}
	output_rows(c, cols, 7, rows, json_object_get(out, "Resources"));
	json_decref(rows);
	json_decref(out);
	return CLI_OK;
}

static int
guard_decide(struct cli *c, const char *id, const char *decision)
{
	struct rb_error err;
	char *esc = client_escape(c, id), path[600];
	int rc;

	if (esc == NULL) {
		error_set(&err, CLI_ERR_CONFIG, NULL, "out of memory");
		return cli_fail(&err);
	}
	snprintf(path, sizeof(path), "/held/%s/%s", esc, decision);
	free(esc);
	error_clear(&err);
	rc = client_operator(c, "POST", path, NULL, NULL, &err);
	if (rc < 0)
		return cli_fail(&err);
	printf("%s %s\n", !strcmp(decision, "approve") ? "approved" : "rejected", id);
	return CLI_OK;
}

int
guard_main(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	bool help;
	int npos;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(guard_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "guard") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(guard_help, stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "list") && npos == 0)
		return guard_list(c);
	if ((!strcmp(argv[1], "approve") || !strcmp(argv[1], "reject")) && npos == 1)
		return guard_decide(c, argv[2], argv[1]);
	return cli_usage_error("guard",
	                       "expected `guard list`, `guard approve ID` or `guard reject ID`");
}
