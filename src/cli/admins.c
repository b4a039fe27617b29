/*
 * admins.c — `rosterctl admins list|show|add|edit|remove|invite|resend`.
 *
 * rosterctl writes as the source its token names (normally `in-product`):
 * `add` and `edit` set that source's direct grant (the admin extension's
 * flat attributes), `remove` releases that source's hold (the daemon
 * deletes the person when no other source holds them) — never another
 * source's grants (SPEC §1, "each source owns its grants").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "engine/filter.h"
#include "engine/schema.h"
#include "lib/strbuf.h"

static const char admins_help[] =
    "usage: rosterctl admins list [--filter SCIM-FILTER] [--all]\n"
    "       rosterctl admins show USER\n"
    "       rosterctl admins add USERNAME --email E [--given-name G] [--family-name F]\n"
    "                 [--permission view|manage] [--scope school|district|region|partnership]\n"
    "                 [--schools S1,S2] [--region R] [--can-manage-admins yes|no]\n"
    "                 [--external-id X]\n"
    "       rosterctl admins edit USER [--permission …] [--scope …] [--schools …]\n"
    "                 [--region …] [--can-manage-admins yes|no] [--active yes|no]\n"
    "                 [--given-name …] [--family-name …] [--email …]\n"
    "       rosterctl admins remove USER\n"
    "       rosterctl admins invite EMAIL [--name N] [--permission view|manage]\n"
    "                 [--scope school|district|region|partnership] [--schools S1,S2]\n"
    "                 [--region R] [--can-manage-admins yes|no]\n"
    "       rosterctl admins resend USER\n"
    "\n"
    "USER is an id or a userName. Schools are ids, SIS externalIds or names.\n"
    "list shows people holding at least one grant (--all: everyone), with their\n"
    "effective permission, schools, can-manage-admins, sources and invite status.\n"
    "add/edit/remove change only the grant of the token's source (normally\n"
    "in-product); grants from identity providers or SIS stay as they are.\n"
    "invite e-mails EMAIL a Confirm your account link, with an in-product grant\n"
    "that is active once confirmed (the person of the tenant with that e-mail\n"
    "gets it, else a new one); resend sends a new link (the old one dies). Both\n"
    "need a token whose configuration line says invite=yes or invite=LOGIN\n"
    "(exit 5 otherwise, or when the grant is beyond what the token may give).\n";

const char *const admins_cols[] = {
    "userName",        "name",    "email",        "permission", "schools",
    "canManageAdmins", "sources", "inviteStatus", "active",     "id"};
const size_t admins_ncols = sizeof(admins_cols) / sizeof(admins_cols[0]);

static const char *
admins_bool(const json_t *v)
{
	return json_is_true(v) ? "yes" : "no";
}

char *
admins_sources(const json_t *user)
{
	json_t *ext = json_get_ci(user, SCIM_ADMIN_SCHEMA);
	json_t *grants = json_get_ci(ext, "grants"), *g;
	struct strbuf b = {0};
	size_t i;

	json_array_foreach(grants, i, g)
	{
		const char *src = json_str(g, "source");
		size_t j;
		bool seen = false;
		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(json_str(json_array_get(grants, j), "source"), src);
		if (seen)
			continue;
		if (b.len > 0)
			strbuf_add(&b, ",");
		strbuf_add(&b, src);
	}
	strbuf_add(&b, "");
	return b.s;
}

/* What an administrator's active grants cover, in words ("All schools", names…). */
static char *
admins_coverage(const json_t *grants, const json_t *school_names)
{
	struct strbuf b = {0};
	json_t *g, *s;
	size_t i, j;

	json_array_foreach(grants, i, g)
	{
		const char *scope = json_str(g, "scope");
		if (!json_is_true(json_get_ci(g, "active")))
			continue;
		if (!strcmp(scope, "district") || !strcmp(scope, "partnership")) {
			free(b.s);
			b = (struct strbuf){0};
			strbuf_add(&b, !strcmp(scope, "district") ? "All schools"
			                                          : "Whole partnership");
			break;
		}
		if (!strcmp(scope, "region")) {
			strbuf_addf(&b, "%sregion %s", b.len ? "; " : "", json_str(g, "region"));
			continue;
		}
		json_array_foreach(json_get_ci(g, "schools"), j, s)
		{
			const char *id = json_string_value(s);
			const char *name = json_string_value(json_object_get(school_names, id));
			const char *show = name ? name : id ? id : "";
			if (b.s != NULL && strstr(b.s, show) != NULL)
				continue;
			strbuf_addf(&b, "%s%s", b.len ? "; " : "", show);
		}
	}
	strbuf_add(&b, "");
	return b.s;
}

static json_t *
admins_row_named(const json_t *user, const json_t *school_names)
{
	json_t *ext = json_get_ci(user, SCIM_ADMIN_SCHEMA);
	json_t *grants = json_get_ci(ext, "grants"), *g;
	json_t *name = json_get_ci(user, "name");
	json_t *emails = json_get_ci(user, "emails");
	bool manage = false, any = false, cma = false;
	char *cover, *sources;
	const char *display = json_str(user, "displayName");
	char full[512];
	size_t i;
	json_t *row;

	json_array_foreach(grants, i, g)
	{
		if (!json_is_true(json_get_ci(g, "active")))
			continue;
		any = true;
		manage |= !strcmp(json_str(g, "permission"), "manage");
		cma |= json_is_true(json_get_ci(g, "canManageAdmins"));
	}
	if (*display == '\0') {
		snprintf(full, sizeof(full), "%s%s%s", json_str(name, "givenName"),
		         *json_str(name, "givenName") && *json_str(name, "familyName") ? " " : "",
		         json_str(name, "familyName"));
		display = full;
	}
	cover = admins_coverage(grants, school_names);
	sources = admins_sources(user);
	row = json_pack("[s,s,s,s,s,s,s,s,s,s]", json_str(user, "userName"), display,
	                json_str(json_array_get(emails, 0), "value"),
	                any ? (manage ? "manage" : "view") : "none", cover ? cover : "",
	                admins_bool(json_boolean(cma)), sources ? sources : "",
	                json_str(ext, "inviteStatus"), admins_bool(json_get_ci(user, "active")),
	                json_str(user, "id"));
	free(cover);
	free(sources);
	return row;
}

json_t *
admins_row(const json_t *user)
{
	return admins_row_named(user, NULL);
}

/* id → name of every school of the tenant (for readable tables). NEW object. */
static json_t *
admins_school_names(struct cli *c, struct rb_error *err)
{
	json_t *list = client_list(c, "Schools", NULL, err), *s, *names;
	size_t i;

	if (list == NULL)
		return NULL;
	names = json_object();
	json_array_foreach(list, i, s)
	    json_object_set_new(names, json_str(s, "id"), json_string(json_str(s, "name")));
	json_decref(list);
	return names;
}

static bool
admins_has_grant(const json_t *user)
{
	return json_array_size(json_get_ci(json_get_ci(user, SCIM_ADMIN_SCHEMA), "grants")) > 0;
}

static int
admins_list(struct cli *c, int argc, char **argv)
{
	const char *filter = NULL;
	bool all = false, help;
	const struct cli_opt opts[] = {
	    {"filter", OPT_VALUE, &filter}, {"all", OPT_FLAG, &all}, {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *users, *names, *rows, *full, *u;
	size_t i;
	int npos;

	if (opts_parse(argc, argv, opts, &npos, &help, "admins") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(admins_help, stdout);
		return CLI_OK;
	}
	if (npos != 0)
		return cli_usage_error("admins", "admins list takes no arguments");
	error_clear(&err);
	if (filter != NULL) {
		/* Check the filter here, with the daemon's own parser, before sending it. */
		struct filter *f = filter_parse(schema_resource_type("User"), filter, &err);
		if (f == NULL) {
			fprintf(stderr, "rosterctl: --filter: %s\n", err.detail);
			return CLI_USAGE;
		}
		filter_free(f);
	}
	users = client_list(c, "Users", filter, &err);
	if (users == NULL)
		return cli_fail(&err);
	names = admins_school_names(c, &err);
	if (names == NULL) {
		json_decref(users);
		return cli_fail(&err);
	}
	rows = json_array();
	full = json_array();
	json_array_foreach(users, i, u)
	{
		if (!all && !admins_has_grant(u))
			continue;
		json_array_append_new(rows, admins_row_named(u, names));
		json_array_append(full, u);
	}
	output_rows(c, admins_cols, admins_ncols, rows, full);
	json_decref(rows);
	json_decref(full);
	json_decref(names);
	json_decref(users);
	return CLI_OK;
}

/*
 * The start of a verb that takes one USER (id or userName) and no option:
 * parse argv (--help prints the help), then look the user up. Returns -1
 * with *user NEW, or the exit code the verb returns (--help: CLI_OK).
 */
static int
admins_one_user(struct cli *c, int argc, char **argv, json_t **user)
{
	const struct cli_opt opts[] = {{NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	bool help;
	int npos;

	*user = NULL;
	if (opts_parse(argc, argv, opts, &npos, &help, "admins") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(admins_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("admins", "admins %s needs one USER (id or userName)",
		                       argv[0]);
	error_clear(&err);
	*user = client_find(c, "Users", "userName", argv[1], &err);
	return *user != NULL ? -1 : cli_fail(&err);
}

static int
admins_show(struct cli *c, int argc, char **argv)
{
	static const char *const keys[] = {
	    "userName",        "name",    "email",        "permission", "schools",
	    "canManageAdmins", "sources", "inviteStatus", "active",     "id",
	    "grants",          "created", "lastModified"};
	struct rb_error err;
	json_t *user, *names, *row, *g, *meta;
	struct strbuf gb = {0};
	size_t i;
	int rc;

	if ((rc = admins_one_user(c, argc, argv, &user)) >= 0)
		return rc;
	error_clear(&err);
	names = admins_school_names(c, &err);
	if (names == NULL) {
		json_decref(user);
		return cli_fail(&err);
	}
	row = admins_row_named(user, names);
	json_array_foreach(json_get_ci(json_get_ci(user, SCIM_ADMIN_SCHEMA), "grants"), i, g)
	{
		json_t *one = json_pack("[O]", g);
		char *cover = admins_coverage(one, names);
		strbuf_addf(
		    &gb, "%s%s: %s %s%s%s%s", gb.len ? " | " : "", json_str(g, "source"),
		    json_str(g, "permission"), cover && *cover ? cover : json_str(g, "scope"),
		    json_is_true(json_get_ci(g, "canManageAdmins")) ? ", manages admins" : "",
		    json_is_true(json_get_ci(g, "active")) ? "" : " (suspended)",
		    strcmp(json_str(g, "origin"), "direct") ? " (through a group)" : "");
		free(cover);
		json_decref(one);
	}
	strbuf_add(&gb, "");
	meta = json_get_ci(user, "meta");
	json_array_append_new(row, json_string(gb.s ? gb.s : ""));
	json_array_append_new(row, json_string(json_str(meta, "created")));
	json_array_append_new(row, json_string(json_str(meta, "lastModified")));
	output_record(c, keys, sizeof(keys) / sizeof(keys[0]), row, user);
	free(gb.s);
	json_decref(row);
	json_decref(names);
	json_decref(user);
	return CLI_OK;
}

/* Options of add and edit. */
struct admins_fields {
	const char *email, *given, *family, *permission, *scope, *schools, *region, *cma, *active,
	    *external_id;
};

json_t *
admins_school_refs(const char *list, const json_t *schools)
{
	json_t *out = json_array(), *s;
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end = p + strcspn(p, ",;");
		size_t n = (size_t)(end - p), i;
		char *one;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		one = strndup(p, n);
		if (one != NULL && *one != '\0') {
			const char *ref = one;
			json_array_foreach(schools, i, s)
			{
				if (!strcasecmp(json_str(s, "name"), one)) {
					ref = json_str(s, "id");
					break;
				}
			}
			json_array_append_new(out, json_string(ref));
		}
		free(one);
		p = *end ? end + 1 : NULL;
	}
	return out;
}

static int
admins_check_fields(const struct admins_fields *f)
{
	if (f->permission && strcmp(f->permission, "view") && strcmp(f->permission, "manage"))
		return cli_usage_error("admins", "--permission must be view or manage");
	if (f->scope && strcmp(f->scope, "school") && strcmp(f->scope, "district") &&
	    strcmp(f->scope, "region") && strcmp(f->scope, "partnership"))
		return cli_usage_error("admins",
		                       "--scope must be school, district, region or partnership");
	if (f->cma && opts_yes_no(f->cma) < 0)
		return cli_usage_error("admins", "--can-manage-admins must be yes or no");
	if (f->active && opts_yes_no(f->active) < 0)
		return cli_usage_error("admins", "--active must be yes or no");
	return 0;
}

static void
admins_patch_op(json_t *ops, const char *path, json_t *value)
{
	json_array_append_new(
	    ops, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", path, "value", value));
}

static int
admins_add_edit(struct cli *c, int argc, char **argv, bool add)
{
	struct admins_fields f = {0};
	const struct cli_opt opts[] = {{"email", OPT_VALUE, &f.email},
	                               {"given-name", OPT_VALUE, &f.given},
	                               {"family-name", OPT_VALUE, &f.family},
	                               {"permission", OPT_VALUE, &f.permission},
	                               {"scope", OPT_VALUE, &f.scope},
	                               {"schools", OPT_VALUE, &f.schools},
	                               {"region", OPT_VALUE, &f.region},
	                               {"can-manage-admins", OPT_VALUE, &f.cma},
	                               {"active", OPT_VALUE, &f.active},
	                               {"external-id", OPT_VALUE, &f.external_id},
	                               {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *schools = NULL, *result = NULL, *body = NULL, *user = NULL;
	bool help;
	int npos, rc = CLI_FAILED;

	if (opts_parse(argc, argv, opts, &npos, &help, "admins") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(admins_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("admins", "admins %s needs one USER", add ? "add" : "edit");
	if (admins_check_fields(&f) != 0)
		return CLI_USAGE;
	if (add && f.email == NULL)
		return cli_usage_error("admins", "admins add needs --email");
	error_clear(&err);
	if (f.schools != NULL && (schools = client_list(c, "Schools", NULL, &err)) == NULL)
		return cli_fail(&err);
	if (add) {
		json_t *ext = json_object();
		body = json_pack("{s:[s,s],s:s,s:{s:s,s:s},s:[{s:s,s:s,s:b}]}", "schemas",
		                 SCIM_USER_SCHEMA, SCIM_ADMIN_SCHEMA, "userName", argv[1], "name",
		                 "givenName", f.given ? f.given : "", "familyName",
		                 f.family ? f.family : "", "emails", "value", f.email, "type",
		                 "work", "primary", 1);
		if (f.external_id)
			json_object_set_new(body, "externalId", json_string(f.external_id));
		json_object_set_new(ext, "permission",
		                    json_string(f.permission ? f.permission : "view"));
		json_object_set_new(ext, "scope", json_string(f.scope ? f.scope : "school"));
		if (f.schools)
			json_object_set_new(ext, "schools", admins_school_refs(f.schools, schools));
		if (f.region)
			json_object_set_new(ext, "region", json_string(f.region));
		json_object_set_new(ext, "canManageAdmins",
		                    json_boolean(f.cma && opts_yes_no(f.cma) == 1));
		json_object_set_new(body, SCIM_ADMIN_SCHEMA, ext);
		if (f.active)
			json_object_set_new(body, "active",
			                    json_boolean(opts_yes_no(f.active) == 1));
		if (client_request(c, "POST", "/Users", body, &result, &err) < 0)
			goto fail;
	} else {
		json_t *ops = json_array();
		char path[256];
		user = client_find(c, "Users", "userName", argv[1], &err);
		if (user == NULL) {
			json_decref(ops);
			goto fail;
		}
#define EXT(a) (snprintf(path, sizeof(path), "%s:%s", SCIM_ADMIN_SCHEMA, a), path)
		if (f.permission)
			admins_patch_op(ops, EXT("permission"), json_string(f.permission));
		if (f.scope)
			admins_patch_op(ops, EXT("scope"), json_string(f.scope));
		if (f.schools)
			admins_patch_op(ops, EXT("schools"),
			                admins_school_refs(f.schools, schools));
		if (f.region)
			admins_patch_op(ops, EXT("region"), json_string(f.region));
		if (f.cma)
			admins_patch_op(ops, EXT("canManageAdmins"),
			                json_boolean(opts_yes_no(f.cma) == 1));
#undef EXT
		if (f.active)
			admins_patch_op(ops, "active", json_boolean(opts_yes_no(f.active) == 1));
		if (f.given)
			admins_patch_op(ops, "name.givenName", json_string(f.given));
		if (f.family)
			admins_patch_op(ops, "name.familyName", json_string(f.family));
		if (f.email)
			admins_patch_op(ops, "emails",
			                json_pack("[{s:s,s:s,s:b}]", "value", f.email, "type",
			                          "work", "primary", 1));
		if (f.external_id)
			admins_patch_op(ops, "externalId", json_string(f.external_id));
		if (json_array_size(ops) == 0) {
			json_decref(ops);
			rc = cli_usage_error("admins", "admins edit: nothing to change");
			goto done;
		}
		body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_SCHEMA, "Operations", ops);
		snprintf(path, sizeof(path), "/Users/%s", json_str(user, "id"));
		if (client_request(c, "PATCH", path, body, NULL, &err) < 0)
			goto fail;
		snprintf(path, sizeof(path), "/Users/%s", json_str(user, "id"));
		if (client_request(c, "GET", path, NULL, &result, &err) < 0)
			goto fail;
	}
	if (c->format == CLI_FORMAT_JSON)
		output_json(result);
	else if (!c->quiet)
		printf("%s %s (id %s)\n", add ? "added" : "updated", json_str(result, "userName"),
		       json_str(result, "id"));
	rc = CLI_OK;
	goto done;
fail:
	rc = cli_fail(&err);
done:
	json_decref(schools);
	json_decref(result);
	json_decref(body);
	json_decref(user);
	return rc;
}

static int
admins_remove(struct cli *c, int argc, char **argv)
{
	struct rb_error err;
	json_t *user, *after = NULL;
	char path[128];
	char *others;
	int rc;

	if ((rc = admins_one_user(c, argc, argv, &user)) >= 0)
		return rc;
	error_clear(&err);
	snprintf(path, sizeof(path), "/Users/%s", json_str(user, "id"));
	if (client_request(c, "DELETE", path, NULL, NULL, &err) < 0) {
		json_decref(user);
		return cli_fail(&err);
	}
	error_clear(&err);
	if (client_request(c, "GET", path, NULL, &after, &err) < 0 && err.status == 404) {
		printf("removed %s: no other source held them, the entry is gone\n",
		       json_str(user, "userName"));
	} else {
		others = admins_sources(after);
		printf("removed this source's access of %s; still granted by: %s\n",
		       json_str(user, "userName"), others && *others ? others : "(no grant)");
		free(others);
	}
	json_decref(after);
	json_decref(user);
	return CLI_OK;
}

/*
 * The school ids for --schools S1,S2 (ids, names or SIS externalIds of the
 * tenant's schools), as a NEW array; NULL after printing which one is unknown.
 */
static json_t *
admins_school_ids(const char *list, const json_t *schools)
{
	json_t *refs = admins_school_refs(list, schools), *out = json_array();
	const json_t *ref, *s;
	size_t i, j;

	json_array_foreach(refs, i, ref)
	{
		const char *want = json_string_value(ref), *id = NULL;
		json_array_foreach(schools, j, s) if (!strcasecmp(json_str(s, "id"), want) ||
		                                      !strcasecmp(json_str(s, "externalId"), want))
		{
			id = json_str(s, "id");
			break;
		}
		if (id == NULL) {
			cli_usage_error("admins",
			                "--schools: no school '%s' (an id, name or SIS id)", want);
			json_decref(out);
			out = NULL;
			break;
		}
		json_array_append_new(out, json_string(id));
	}
	json_decref(refs);
	return out;
}

/* What the daemon said about an invitation, or the user's invitation state. */
static void
admins_invite_report(struct cli *c, const char *what, const json_t *user)
{
	const json_t *ext = json_get_ci(user, SCIM_ADMIN_SCHEMA);

	if (c->format == CLI_FORMAT_JSON) {
		output_json(user);
		return;
	}
	if (c->quiet)
		return;
	printf("%s %s (id %s): inviteStatus %s; the e-mail is queued\n", what,
	       json_str(user, "userName"), json_str(user, "id"), json_str(ext, "inviteStatus"));
}

/* admins invite EMAIL …: POST /Invitations (the console's Invite Users). */
static int
admins_invite(struct cli *c, int argc, char **argv)
{
	struct admins_fields f = {0};
	const char *name = NULL;
	const struct cli_opt opts[] = {{"name", OPT_VALUE, &name},
	                               {"permission", OPT_VALUE, &f.permission},
	                               {"scope", OPT_VALUE, &f.scope},
	                               {"schools", OPT_VALUE, &f.schools},
	                               {"region", OPT_VALUE, &f.region},
	                               {"can-manage-admins", OPT_VALUE, &f.cma},
	                               {NULL, OPT_FLAG, NULL}};
	struct rb_error err;
	json_t *schools = NULL, *ids = NULL, *body = NULL, *result = NULL;
	bool help;
	int npos, rc;

	if (opts_parse(argc, argv, opts, &npos, &help, "admins") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(admins_help, stdout);
		return CLI_OK;
	}
	if (npos != 1 || strchr(argv[1], '@') == NULL)
		return cli_usage_error("admins", "admins invite needs one EMAIL");
	if (admins_check_fields(&f) != 0)
		return CLI_USAGE;
	if ((f.scope == NULL || !strcmp(f.scope, "school")) && f.schools == NULL)
		return cli_usage_error("admins",
		                       "admins invite: give --schools (or another --scope)");
	if (f.scope != NULL && !strcmp(f.scope, "region") && f.region == NULL)
		return cli_usage_error("admins", "admins invite --scope region needs --region");
	error_clear(&err);
	if (f.schools != NULL) {
		schools = client_list(c, "Schools", NULL, &err);
		if (schools == NULL)
			return cli_fail(&err);
		ids = admins_school_ids(f.schools, schools);
		if (ids == NULL) {
			json_decref(schools);
			return CLI_USAGE;
		}
	}
	body = json_pack("{s:s, s:s, s:s, s:s, s:b}", "email", argv[1], "displayName",
	                 name ? name : argv[1], "permission", f.permission ? f.permission : "view",
	                 "scope", f.scope ? f.scope : "school", "canManageAdmins",
	                 f.cma && opts_yes_no(f.cma) == 1);
	if (ids != NULL)
		json_object_set(body, "schools", ids);
	if (f.region != NULL)
		json_object_set_new(body, "region", json_string(f.region));
	if (client_request(c, "POST", "/Invitations", body, &result, &err) < 0) {
		rc = cli_fail(&err);
	} else {
		admins_invite_report(c, "invited", result);
		rc = CLI_OK;
	}
	json_decref(schools);
	json_decref(ids);
	json_decref(body);
	json_decref(result);
	return rc;
}

/* admins resend USER: POST /Invitations/{id}/resend (the console's Resend invitation). */
static int
admins_resend(struct cli *c, int argc, char **argv)
{
	struct rb_error err;
	json_t *user, *result = NULL;
	char path[160];
	int rc;

	if ((rc = admins_one_user(c, argc, argv, &user)) >= 0)
		return rc;
	error_clear(&err);
	snprintf(path, sizeof(path), "/Invitations/%s/resend", json_str(user, "id"));
	if (client_request(c, "POST", path, NULL, &result, &err) < 0) {
		rc = cli_fail(&err);
	} else {
		admins_invite_report(c, "resent the invitation of", result);
		rc = CLI_OK;
	}
	json_decref(user);
	json_decref(result);
	return rc;
}

int
admins_main(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(admins_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "list"))
		return admins_list(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return admins_show(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "add"))
		return admins_add_edit(c, argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "edit"))
		return admins_add_edit(c, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "remove"))
		return admins_remove(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "invite"))
		return admins_invite(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "resend"))
		return admins_resend(c, argc - 1, argv + 1);
	return cli_usage_error("admins", "unknown admins verb '%s'", argv[1]);
}
