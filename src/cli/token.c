/*
 * token.c — `rosterctl token create --tenant T --source S --rights read|write`.
 *
 * A new token (32 random bytes from GnuTLS's key generator) is shown once;
 * the daemon only ever stores its hash, in the line printed after it
 * (lib/token.c makes both, for this verb and `rosterbridge -H`). With
 * --token-file FILE the token goes into a new file of mode 0600 instead of
 * the terminal. Needs no daemon and no configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "cli/cli.h"
#include "lib/token.h"

static const char token_help[] =
    "usage: rosterctl token create --tenant T --source S --rights read|write\n"
    "                 [--token-file FILE]\n"
    "\n"
    "Prints a new token (once) and the line to add to the daemon's configuration\n"
    "(then `systemctl reload rosterbridge`). The source is whose grants the token\n"
    "writes: in-product for rosterctl and the console, or the identity provider's\n"
    "or SIS's name (okta, entra, clever, classlink…). --token-file writes the token\n"
    "to a new file of mode 0600 (for ROSTERCTL_TOKEN_FILE) instead of printing it.\n";

int
token_main(struct cli *c, int argc, char **argv)
{
	const char *tenant = NULL, *source = NULL, *rights = NULL, *file = NULL;
	const struct cli_opt opts[] = {{"tenant", OPT_VALUE, &tenant},
	                               {"source", OPT_VALUE, &source},
	                               {"rights", OPT_VALUE, &rights},
	                               {"token-file", OPT_VALUE, &file},
	                               {NULL, OPT_FLAG, NULL}};
	char token[TOKEN_TEXT_MAX], line[512];
	struct rb_error err;
	bool help;
	int npos, rc = CLI_OK;

	if (argc < 2 || strcmp(argv[1], "create") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(token_help, stdout);
			return CLI_OK;
		}
		fputs(token_help, stderr);
		return CLI_USAGE;
	}
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "token create") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(token_help, stdout);
		return CLI_OK;
	}
	if (npos != 0 || tenant == NULL || source == NULL || rights == NULL)
		return cli_usage_error("token create", "give --tenant, --source and --rights");
	error_clear(&err);
	if (token_generate(token, &err) < 0 ||
	    token_config_line(token, strlen(token), tenant, source, rights, line, sizeof(line),
	                      &err) < 0) {
		fprintf(stderr, "rosterctl: token create: %s\n", err.detail);
		return CLI_USAGE;
	}
	if (file != NULL) {
		int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
		size_t n = strlen(token);
		if (fd < 0) {
			fprintf(stderr, "rosterctl: --token-file %s: %s (it must not exist yet)\n",
			        file, strerror(errno));
			rc = CLI_USAGE;
			goto done;
		}
		if (write(fd, token, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
		    close(fd) != 0) {
			fprintf(stderr, "rosterctl: --token-file %s: %s\n", file, strerror(errno));
			unlink(file);
			rc = CLI_FAILED;
			goto done;
		}
	}
	if (c->format == CLI_FORMAT_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "tenant", tenant, "source", source,
		                      "rights", rights, "configLine", line);
		if (file == NULL)
			json_object_set_new(o, "token", json_string(token));
		else
			json_object_set_new(o, "tokenFile", json_string(file));
		output_json(o);
		json_decref(o);
	} else if (file == NULL) {
		printf("%s\n%s\n", token, line);
		if (c->tty_out)
			fprintf(
			    stderr,
			    "The first line is the token: it is shown only now. Keep it in a file "
			    "of mode 0600 (ROSTERCTL_TOKEN_FILE) or in the client's secret store.\n"
			    "Add the second line to the daemon's configuration, then `systemctl "
			    "reload rosterbridge`.\n");
	} else {
		printf("%s\n", line);
		if (c->tty_out)
			fprintf(stderr,
			        "The token is in %s (mode 0600). Add the line above to the "
			        "daemon's configuration, then `systemctl reload rosterbridge`.\n",
			        file);
	}
done:
	gnutls_memset(token, 0, sizeof(token));
	return rc;
}
