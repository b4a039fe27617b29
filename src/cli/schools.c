/*
 * schools.c — `rosterctl schools list|add|edit|remove|import` and
 * `rosterctl groups list|show`, over /Schools and /Groups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/strbuf.h"

static const char schools_help[] =
    "usage: rosterctl schools list\n"
    "       rosterctl schools add NAME [--external-id SIS-ID] [--region R]\n"
    "       rosterctl schools edit SCHOOL [--name N] [--external-id X] [--region R]\n"
    "                 [--active yes|no]\n"
    "       rosterctl schools remove SCHOOL\n"
    "       rosterctl schools import FILE.csv [--dry-run] …   (= import schools)\n"
    "\n"
    "SCHOOL is an id, a SIS externalId or a name. A school belongs to the source\n"
    "that created it: others may read it, not change it.\n";

static const char groups_help[] =
    "usage: rosterctl groups list                 (name, the grant of a role group, id)\n"
    "       rosterctl groups show GROUP           (id or displayName; with its members)\n";

static const char *const school_cols[] = {"name", "externalId", "region", "active", "id"};

static json_t *
schools_row(const json_t *s)
{
	return json_pack("[s,s,s,s,s]", json_str(s, "name"), json_str(s, "externalId"),
	                 json_str(s, "region"),
	                 json_is_false(json_get_ci(s, "active")) ? "no" : "yes", json_str(s, "id"));
}

/* A school by id, externalId or name. NEW reference or NULL with *err. */
static json_t *
schools_find(struct cli *c, const char *key, struct rb_error *err)
{
	json_t *s;
	struct rb_error e2;

	error_clear(&e2);
	s = client_find(c, "Schools", "externalId", key, &e2);
	if (s != NULL || e2.status != 404) {
		if (s == NULL)
			*err = e2;
		return s;
	}
	return client_find(c, "Schools", "name", key, err);
}

static int
schools_list(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *list, *rows, *s;
	bool help;
	size_t i;
	int npos;

	if (opts_parse(argc, argv, opts, &npos, &help, "schools") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(schools_help, stdout);
		return CLI_OK;
	}
	error_clear(&err);
	list = client_list(c, "Schools", NULL, &err);
	if (list == NULL)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(list, i, s) json_array_append_new(rows, schools_row(s));
	output_rows(c, school_cols, 5, rows, list);
	json_decref(rows);
	json_decref(list);
	return CLI_OK;
}

static int
schools_add_edit(struct cli *c, int argc, char **argv, bool add)
{
	const char *name = NULL, *ext = NULL, *region = NULL, *active = NULL;
	const struct cli_opt opts[] = {{"name", OPT_VALUE, &name},
	                               {"external-id", OPT_VALUE, &ext},
	                               {"region", OPT_VALUE, &region},
	                               {"active", OPT_VALUE, &active},
	                               {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *body = NULL, *result = NULL, *school = NULL;
	char path[128];
	bool help;
	int npos, rc;

	if (opts_parse(argc, argv, opts, &npos, &help, "schools") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(schools_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("schools", "schools %s needs one %s", add ? "add" : "edit",
		                       add ? "NAME" : "SCHOOL");
	if (active != NULL && opts_yes_no(active) < 0)
		return cli_usage_error("schools", "--active must be yes or no");
	error_clear(&err);
	if (add) {
		body = json_pack("{s:[s],s:s}", "schemas", SCIM_SCHOOL_SCHEMA, "name", argv[1]);
		if (ext)
			json_object_set_new(body, "externalId", json_string(ext));
		if (region)
			json_object_set_new(body, "region", json_string(region));
		if (active)
			json_object_set_new(body, "active", json_boolean(opts_yes_no(active) == 1));
		rc = client_request(c, "POST", "/Schools", body, &result, &err);
	} else {
		json_t *ops = json_array();
		school = schools_find(c, argv[1], &err);
		if (school == NULL) {
			json_decref(ops);
			return cli_fail(&err);
		}
		if (name)
			json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace",
			                                     "path", "name", "value", name));
		if (ext)
			json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace",
			                                     "path", "externalId", "value", ext));
		if (region)
			json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace",
			                                     "path", "region", "value", region));
		if (active)
			json_array_append_new(ops, json_pack("{s:s,s:s,s:b}", "op", "replace",
			                                     "path", "active", "value",
			                                     opts_yes_no(active) == 1));
		if (json_array_size(ops) == 0) {
			json_decref(ops);
			json_decref(school);
			return cli_usage_error("schools", "schools edit: nothing to change");
		}
		body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_SCHEMA, "Operations", ops);
		snprintf(path, sizeof(path), "/Schools/%s", json_str(school, "id"));
		rc = client_request(c, "PATCH", path, body, NULL, &err);
		if (rc == 0)
			rc = client_request(c, "GET", path, NULL, &result, &err);
	}
	if (rc < 0) {
		rc = cli_fail(&err);
	} else {
		if (c->format == CLI_FORMAT_JSON)
			output_json(result);
		else if (!c->quiet)
			printf("%s school %s (id %s)\n", add ? "added" : "updated",
			       json_str(result, "name"), json_str(result, "id"));
		rc = CLI_OK;
	}
	json_decref(body);
	json_decref(result);
	json_decref(school);
	return rc;
}

static int
schools_remove(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *school;
	bool help;
	int npos, rc;

	if (opts_parse(argc, argv, opts, &npos, &help, "schools") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(schools_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("schools", "schools remove needs one SCHOOL");
	error_clear(&err);
	school = schools_find(c, argv[1], &err);
	if (school == NULL)
		return cli_fail(&err);
	rc = client_remove(c, "/Schools", "school", school);
	json_decref(school);
	return rc;
}

int
schools_main(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(schools_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "list"))
		return schools_list(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "add"))
		return schools_add_edit(c, argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "edit"))
		return schools_add_edit(c, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "remove"))
		return schools_remove(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return import_schools(c, argc - 1, argv + 1);
	return cli_usage_error("schools", "unknown schools verb '%s'", argv[1]);
}

static const char *const group_cols[] = {"displayName", "roleGrant", "id"};

static json_t *
groups_row(const json_t *g, bool with_members)
{
	json_t *ext =
	    json_get_ci(g, "urn:rosterbridge:params:scim:schemas:extension:admin:2.0:Group");
	char members[32], role[256];

	snprintf(members, sizeof(members), "%zu", json_array_size(json_get_ci(g, "members")));
	if (ext != NULL)
		snprintf(role, sizeof(role), "%s %s%s", json_str(ext, "permission"),
		         json_str(ext, "scope"),
		         json_is_true(json_get_ci(ext, "canManageAdmins")) ? ", manages admins"
		                                                           : "");
	else
		role[0] = '\0';
	if (!with_members)
		return json_pack("[s,s,s]", json_str(g, "displayName"), role, json_str(g, "id"));
	return json_pack("[s,s,s,s]", json_str(g, "displayName"), members, role, json_str(g, "id"));
}

int
groups_main(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *list, *rows, *g;
	bool help;
	size_t i;
	int npos;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(groups_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0)
		return cli_usage_error("groups", "unknown groups verb '%s'", argv[1]);
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "groups") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(groups_help, stdout);
		return CLI_OK;
	}
	error_clear(&err);
	if (!strcmp(argv[1], "show")) {
		json_t *row, *m;
		static const char *const keys[] = {"displayName", "members", "roleGrant", "id",
		                                   "memberNames"};
		struct strbuf b = {0};
		if (npos != 1)
			return cli_usage_error("groups", "groups show needs one GROUP");
		g = client_find(c, "Groups", "displayName", argv[2], &err);
		if (g == NULL)
			return cli_fail(&err);
		row = groups_row(g, true);
		json_array_foreach(json_get_ci(g, "members"), i, m) strbuf_addf(
		    &b, "%s%s", b.len ? ", " : "",
		    *json_str(m, "display") ? json_str(m, "display") : json_str(m, "value"));
		strbuf_add(&b, "");
		json_array_append_new(row, json_string(b.s ? b.s : ""));
		output_record(c, keys, 5, row, g);
		free(b.s);
		json_decref(row);
		json_decref(g);
		return CLI_OK;
	}
	/* Members are not read: a group may have tens of thousands (`groups show` lists them). */
	list = client_list_q(c, "Groups", NULL, "excludedAttributes=members", &err);
	if (list == NULL)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(list, i, g) json_array_append_new(rows, groups_row(g, false));
	output_rows(c, group_cols, 3, rows, list);
	json_decref(rows);
	json_decref(list);
	return CLI_OK;
}
