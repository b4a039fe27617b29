/* opts.c — the option parser of every verb; see cli.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

int
opts_parse(int argc, char **argv, const struct cli_opt *opts, int *npos, bool *help,
           const char *help_cmd)
{
	int i, o = 1;
	bool only_pos = false;

	*help = false;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		const struct cli_opt *opt;
		size_t nlen;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			argv[o++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*help = true;
			continue;
		}
		if (a[1] != '-')
			return cli_usage_error(help_cmd, "unknown option '%s'", a);
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (opt = opts; opt != NULL && opt->name != NULL; opt++)
			if (strlen(opt->name) == nlen && !strncmp(opt->name, a + 2, nlen))
				break;
		if (opt == NULL || opt->name == NULL)
			return cli_usage_error(help_cmd, "unknown option '%.*s'", (int)nlen + 2, a);
		if (opt->kind == OPT_FLAG) {
			if (eq != NULL)
				return cli_usage_error(help_cmd, "--%s takes no value", opt->name);
			*(bool *)opt->dest = true;
			continue;
		}
		if (eq != NULL) {
			*(const char **)opt->dest = eq + 1;
		} else if (i + 1 < argc) {
			*(const char **)opt->dest = argv[++i];
		} else {
			return cli_usage_error(help_cmd, "--%s needs a value", opt->name);
		}
	}
	argv[o] = NULL;
	*npos = o - 1;
	return 0;
}

int
opts_yes_no(const char *s)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1"))
		return 1;
	if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0"))
		return 0;
	return -1;
}
