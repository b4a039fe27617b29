/*
 * main.c — rosterctl: global options, configuration, the verb table.
 *
 * Configuration, first found wins for each setting:
 *   1. flags: --url URL, --ca-file FILE, --config FILE (anywhere on the line)
 *   2. environment: ROSTERCTL_URL, ROSTERCTL_TOKEN_FILE, ROSTERCTL_TOKEN,
 *      ROSTERCTL_CA_FILE, ROSTERCTL_CONFIG
 *   3. the file $XDG_CONFIG_HOME/rosterctl/config (~/.config/rosterctl/config):
 *      `url URL`, `token_file FILE`, `ca_file FILE`, `suffix DN`
 *   4. the default URL http://127.0.0.1:8080
 * The token is never a flag: a command line is visible to every user of
 * the machine (ps). A token file readable by others is refused.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef RB_VERSION
#define RB_VERSION "0.0.0-dev"
#endif

static const char usage_text[] =
    "usage: rosterctl [--url URL] [--config FILE] [--ca-file FILE] [--json|--csv|--table]\n"
    "                 VERB [ARGS…]\n"
    "\n"
    "verbs:\n"
    "  admins list|show|add|edit|remove   administrators (the in-product source's grants)\n"
    "  schools list|add|edit|remove|import\n"
    "  groups list|show\n"
    "  regions list|add|edit|remove       regions of a partnership tenant\n"
    "  audit USERNAME                     who changed an administrator (the audit trail)\n"
    "  import admins|schools FILE.csv     CSV through /Bulk (--dry-run, resumable)\n"
    "  export [--format csv|json|ldif]    every administrator\n"
    "  report stale|duplicates|multi-source\n"
    "  token create --tenant T --source S --rights read|write\n"
    "  tenant create NAME [--partnership] --suffix DN\n"
    "  retained list|restore USERNAME     deprovisioned people kept disabled\n"
    "  guard list|approve|reject ID       removals the mass-deprovision guard holds\n"
    "  version\n"
    "\n"
    "Output: a table on a terminal, CSV when piped; --json or --csv to choose.\n"
    "The daemon: --url, ROSTERCTL_URL, or `url` in ~/.config/rosterctl/config.\n"
    "The token: ROSTERCTL_TOKEN_FILE (a file, mode 0600), ROSTERCTL_TOKEN, or\n"
    "`token_file` in the config file; never on the command line.\n"
    "`rosterctl VERB --help` for each verb; man rosterctl(1) for the rest.\n";

int
cli_exit_for(const struct rb_error *err)
{
	switch (err->status) {
	case CLI_ERR_UNREACHABLE:
		return CLI_UNREACHABLE;
	case CLI_ERR_CONFIG:
		return CLI_CONFIG;
	case CLI_ERR_USAGE:
		return CLI_USAGE;
	case CLI_ERR_UNSUPPORTED:
		return CLI_UNSUPPORTED;
	case CLI_ERR_INTERRUPTED:
		return CLI_INTERRUPTED;
	case 401:
	case 403:
		return CLI_DENIED;
	case 404:
		return CLI_NOT_FOUND;
	case 409:
	case 412:
		return CLI_CONFLICT;
	default:
		return CLI_FAILED;
	}
}

int
cli_fail(const struct rb_error *err)
{
	fprintf(stderr, "rosterctl: %s\n", err->detail[0] ? err->detail : "failed");
	return cli_exit_for(err);
}

int
cli_usage_error(const char *help_cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("rosterctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see `rosterctl %s --help`)\n", help_cmd);
	return CLI_USAGE;
}

static char *
main_strdup(const char *s)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL) {
		fputs("rosterctl: out of memory\n", stderr);
		exit(CLI_FAILED);
	}
	return d;
}

/* Set *slot to a copy of value unless a higher-priority source already set it. */
static void
main_set(char **slot, const char *value)
{
	if (*slot == NULL && value != NULL && *value != '\0')
		*slot = main_strdup(value);
}

/*
 * The config file: `name value` lines, `#` comments. Unknown names are an
 * error (a typo would otherwise silently fall back to a default).
 */
static int
main_read_config(struct cli *c, const char *path, bool must_exist, struct rb_error *err)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;

	if (f == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return error_set(err, CLI_ERR_CONFIG, NULL, "%s: %s", path, strerror(errno));
	}
	c->config_path = main_strdup(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name = line, *value, *end;
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*name == ' ' || *name == '\t')
			name++;
		if (*name == '#' || *name == '\0')
			continue;
		value = name + strcspn(name, " \t");
		if (*value != '\0')
			*value++ = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
		end = value + strlen(value);
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*value == '\0') {
			error_set(err, CLI_ERR_CONFIG, NULL, "%s:%d: '%s' needs a value", path,
			          lineno, name);
			break;
		}
		if (!strcmp(name, "url")) {
			if (c->url == NULL)
				c->url_from = "the config file";
			main_set(&c->url, value);
		} else if (!strcmp(name, "token_file")) {
			main_set(&c->token_file, value);
		} else if (!strcmp(name, "ca_file")) {
			main_set(&c->ca_file, value);
		} else if (!strcmp(name, "suffix")) {
			main_set(&c->suffix, value);
		} else {
			error_set(err, CLI_ERR_CONFIG, NULL,
			          "%s:%d: unknown setting '%s' (url, token_file, ca_file, suffix)",
			          path, lineno, name);
			break;
		}
	}
	fclose(f);
	return error_is_set(err) ? -1 : 0;
}

static int
main_configure(struct cli *c, const char *config_flag, struct rb_error *err)
{
	const char *env;
	char path[4096];

	env = getenv("ROSTERCTL_URL");
	if (c->url == NULL && env != NULL && *env != '\0')
		c->url_from = "ROSTERCTL_URL";
	main_set(&c->url, env);
	main_set(&c->token_file, getenv("ROSTERCTL_TOKEN_FILE"));
	main_set(&c->ca_file, getenv("ROSTERCTL_CA_FILE"));
	main_set(&c->suffix, getenv("ROSTERCTL_SUFFIX"));
	env = getenv("ROSTERCTL_TOKEN");
	if (env != NULL && *env != '\0' && c->token_file == NULL)
		c->token = main_strdup(env);

	if (config_flag == NULL)
		config_flag = getenv("ROSTERCTL_CONFIG");
	if (config_flag != NULL && *config_flag != '\0') {
		if (main_read_config(c, config_flag, true, err) < 0)
			return -1;
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		const char *home = getenv("HOME");
		int n = -1;
		if (xdg != NULL && *xdg == '/')
			n = snprintf(path, sizeof(path), "%s/rosterctl/config", xdg);
		else if (home != NULL && *home != '\0')
			n = snprintf(path, sizeof(path), "%s/.config/rosterctl/config", home);
		if (n > 0 && (size_t)n < sizeof(path) && main_read_config(c, path, false, err) < 0)
			return -1;
	}
	if (c->url == NULL) {
		c->url = main_strdup("http://127.0.0.1:8080");
		c->url_from = "the default";
	}
	/* Accept the SCIM base URL too: strip a trailing /scim/v2 and slashes. */
	{
		size_t n = strlen(c->url);
		while (n > 0 && c->url[n - 1] == '/')
			c->url[--n] = '\0';
		if (n >= 8 && !strcmp(c->url + n - 8, "/scim/v2"))
			c->url[n - 8] = '\0';
	}
	return 0;
}

/* Remove the global options from argv (anywhere), keeping the rest in order. */
static int
main_globals(struct cli *c, int *argcp, char **argv, const char **config_flag)
{
	int i, o = 1, argc = *argcp;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		const char *eq;
		size_t nlen;
		int takes;

		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			argv[o++] = argv[i];
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
#define IS(name) (nlen == strlen(name) && !strncmp(a + 2, name, nlen))
		takes = IS("url") || IS("config") || IS("ca-file");
		if (!takes && !IS("json") && !IS("csv") && !IS("table") && !IS("quiet")) {
			argv[o++] = argv[i];
			continue;
		}
		if (takes) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return cli_usage_error("", "--%.*s needs a value", (int)nlen,
				                       a + 2);
		}
		if (IS("url")) {
			free(c->url);
			c->url = main_strdup(val);
			c->url_from = "--url";
		} else if (IS("config")) {
			*config_flag = val;
		} else if (IS("ca-file")) {
			free(c->ca_file);
			c->ca_file = main_strdup(val);
		} else if (IS("json")) {
			c->format = CLI_FORMAT_JSON;
		} else if (IS("csv")) {
			c->format = CLI_FORMAT_CSV;
		} else if (IS("table")) {
			c->format = CLI_FORMAT_TABLE;
		} else if (IS("quiet")) {
			c->quiet = true;
		}
#undef IS
	}
	argv[o] = NULL;
	*argcp = o;
	return 0;
}

static int
main_version(struct cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	printf("rosterctl %s\n", RB_VERSION);
	return CLI_OK;
}

static const struct {
	const char *name;
	cli_verb_fn fn;
	bool needs_config; /* reads the configuration (URL, token file) */
} verbs[] = {
    {"admins", admins_main, true},     {"schools", schools_main, true},
    {"groups", groups_main, true},     {"import", import_main, true},
    {"regions", regions_main, true},   {"export", export_main, true},
    {"report", report_main, true},     {"token", token_main, false},
    {"tenant", tenant_main, true},     {"version", main_version, false},
    {"retained", retained_main, true}, {"guard", guard_main, true},
    {"audit", audit_main, true},
};

int
main(int argc, char **argv)
{
	struct cli c;
	struct rb_error err;
	const char *config_flag = NULL;
	int rc = CLI_USAGE;
	size_t i;
	int fmt_given;

	memset(&c, 0, sizeof(c));
	c.format = (enum cli_format) - 1;
	error_clear(&err);
	if (main_globals(&c, &argc, argv, &config_flag) != 0)
		goto done;
	fmt_given = (int)c.format != -1;
	c.tty_out = isatty(STDOUT_FILENO) == 1;
	c.tty_err = isatty(STDERR_FILENO) == 1;
	if (!fmt_given)
		c.format = c.tty_out ? CLI_FORMAT_TABLE : CLI_FORMAT_CSV;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		rc = argc < 2 ? CLI_USAGE : CLI_OK;
		goto done;
	}
	if (!strcmp(argv[1], "--version")) {
		rc = main_version(&c, argc - 1, argv + 1);
		goto done;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		if (verbs[i].needs_config && main_configure(&c, config_flag, &err) < 0) {
			rc = cli_fail(&err);
			goto done;
		}
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = verbs[i].fn(&c, argc - 1, argv + 1);
		client_cleanup(&c);
		curl_global_cleanup();
		goto done;
	}
	fprintf(stderr, "rosterctl: unknown verb '%s' (see `rosterctl --help`)\n", argv[1]);
done:
	if (c.token != NULL)
		memset(c.token, 0, strlen(c.token));
	free(c.token);
	free(c.url);
	free(c.token_file);
	free(c.ca_file);
	free(c.suffix);
	free(c.config_path);
	return rc;
}
