/*
 * regions.c — `rosterctl regions list|add|edit|remove`, over /Regions.
 *
 * A region belongs to a partnership tenant; its NAME is the key schools
 * (`schools add --region NAME`) and region-scope grants name, so it never
 * changes: `edit` changes the display name and the externalId only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

static const char regions_help[] =
    "usage: rosterctl regions list\n"
    "       rosterctl regions add NAME [--display-name D] [--external-id X]\n"
    "       rosterctl regions edit REGION [--display-name D] [--external-id X]\n"
    "       rosterctl regions remove REGION\n"
    "\n"
    "Regions exist in partnership tenants only. REGION is a name or an id. NAME is\n"
    "what schools and region-scope grants name (`schools add S --region NAME`,\n"
    "`admins edit A --scope region --region NAME`); it cannot change. A region\n"
    "belongs to the source that created it; removing one that still has schools\n"
    "or grants is refused (exit 7).\n";

static const char *const region_cols[] = {"name", "displayName", "schools", "externalId", "id"};

/* A region by id or name. NEW reference or NULL with *err. */
static json_t *
regions_find(struct cli *c, const char *key, struct rb_error *err)
{
	return client_find(c, "Regions", "name", key, err);
}

/* Parse the verb's options; prints the help for --help. 0 to go on, else the exit code. */
static int
regions_opts(int argc, char **argv, const struct cli_opt *opts, int *npos)
{
	bool help;

	if (opts_parse(argc, argv, opts, npos, &help, "regions") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(regions_help, stdout);
		return -1;
	}
	return 0;
}

static int
regions_list(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *list, *schools, *rows, *r, *s;
	size_t i, j;
	int npos, rc;

	if ((rc = regions_opts(argc, argv, opts, &npos)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if (npos != 0)
		return cli_usage_error("regions", "regions list takes no arguments");
	error_clear(&err);
	list = client_list(c, "Regions", NULL, &err);
	if (list == NULL)
		return cli_fail(&err);
	schools = client_list(c, "Schools", NULL, &err);
	if (schools == NULL) {
		json_decref(list);
		return cli_fail(&err);
	}
	rows = json_array();
	json_array_foreach(list, i, r)
	{
		char n[32];
		size_t count = 0;
		json_array_foreach(schools, j, s) if (!strcasecmp(json_str(s, "region"),
		                                                  json_str(r, "name"))) count++;
		snprintf(n, sizeof(n), "%zu", count);
		json_array_append_new(
		    rows, json_pack("[s,s,s,s,s]", json_str(r, "name"), json_str(r, "displayName"),
		                    n, json_str(r, "externalId"), json_str(r, "id")));
	}
	output_rows(c, region_cols, 5, rows, list);
	json_decref(rows);
	json_decref(schools);
	json_decref(list);
	return CLI_OK;
}

static int
regions_add_edit(struct cli *c, int argc, char **argv, bool add)
{
	const char *display = NULL, *ext = NULL;
	const struct cli_opt opts[] = {{"display-name", OPT_VALUE, &display},
	                               {"external-id", OPT_VALUE, &ext},
	                               {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *body = NULL, *result = NULL, *region = NULL, *ops;
	char path[128];
	int npos, rc;

	if ((rc = regions_opts(argc, argv, opts, &npos)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if (npos != 1)
		return cli_usage_error("regions", "regions %s needs one %s", add ? "add" : "edit",
		                       add ? "NAME" : "REGION");
	error_clear(&err);
	if (add) {
		body = json_pack("{s:[s],s:s}", "schemas", SCIM_REGION_SCHEMA, "name", argv[1]);
		if (display)
			json_object_set_new(body, "displayName", json_string(display));
		if (ext)
			json_object_set_new(body, "externalId", json_string(ext));
		rc = client_request(c, "POST", "/Regions", body, &result, &err);
		goto answer;
	}
	if (display == NULL && ext == NULL)
		return cli_usage_error("regions",
		                       "regions edit: nothing to change (--display-name, "
		                       "--external-id; a region's name cannot change)");
	region = regions_find(c, argv[1], &err);
	if (region == NULL)
		return cli_fail(&err);
	ops = json_array();
	if (display)
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace", "path",
		                                     "displayName", "value", display));
	if (ext)
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace", "path",
		                                     "externalId", "value", ext));
	body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_SCHEMA, "Operations", ops);
	snprintf(path, sizeof(path), "/Regions/%s", json_str(region, "id"));
	/* If-Match is not sent: the edit names the fields it changes, nothing else. */
	rc = client_request(c, "PATCH", path, body, NULL, &err);
	if (rc == 0)
		rc = client_request(c, "GET", path, NULL, &result, &err);
answer:
	if (rc < 0) {
		rc = cli_fail(&err);
	} else {
		if (c->format == CLI_FORMAT_JSON)
			output_json(result);
		else if (!c->quiet)
			printf("%s region %s (id %s)\n", add ? "added" : "updated",
			       json_str(result, "name"), json_str(result, "id"));
		rc = CLI_OK;
	}
	json_decref(body);
	json_decref(result);
	json_decref(region);
	return rc;
}

static int
regions_remove(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *region;
	int npos, rc;

	if ((rc = regions_opts(argc, argv, opts, &npos)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if (npos != 1)
		return cli_usage_error("regions", "regions remove needs one REGION");
	error_clear(&err);
	region = regions_find(c, argv[1], &err);
	if (region == NULL)
		return cli_fail(&err);
	rc = client_remove(c, "/Regions", "region", region);
	json_decref(region);
	return rc;
}

int
regions_main(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(regions_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "list"))
		return regions_list(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "add"))
		return regions_add_edit(c, argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "edit"))
		return regions_add_edit(c, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "remove"))
		return regions_remove(c, argc - 1, argv + 1);
	return cli_usage_error("regions", "unknown regions verb '%s'", argv[1]);
}
