/*
 * tenant.c — `rosterctl tenant create NAME [--partnership] [--suffix DN]`.
 *
 * The seam to LDAP: a tenant is made in the directory by its administrator,
 * not by the daemon (whose service account should not create tenants), and
 * rosterctl holds no directory credentials. So this verb prints the LDIF
 * that creates it — the o=NAME entry (rbTenant, district or partnership),
 * its ou=people, groups, schools, regions, and its read-only account
 * cn=reader (its pwdPolicySubentry names the kit's no-lockout policy,
 * conf/directory/policies.ldif, so nobody can lock it out with wrong
 * passwords) — for the operator to apply — and a new random password for
 * the reader, printed once on stderr (or written to --password-file). The
 * LDIF holds no hash of it: passwords are hashed by slapd, with its
 * olcPasswordHash ({ARGON2} with the kit's step 0002), so the operator sets
 * it with the password-modify extended operation (RFC 3062, ldappasswd), as
 * the bridge does for people. Until then the reader's userPassword is
 * "{CRYPT}*", which no password matches (simpleSecurityObject needs one):
 *
 *   rosterctl tenant create lincoln --suffix dc=district,dc=example \
 *       --password-file reader.pw > t.ldif
 *   ldapadd -x -D cn=admin,dc=district,dc=example -W -f t.ldif
 *   ldappasswd -x -D cn=admin,dc=district,dc=example -W -T reader.pw \
 *       cn=reader,o=lincoln,dc=district,dc=example
 *
 * then the directory kit's access rule and limits for the new reader
 * (`directory-kit --tenant NAME SUFFIX | ldapmodify -Y EXTERNAL -H
 * ldapi:///`; conf/directory/tenant.ldif), and the `tenant NAME` line for
 * the daemon's configuration.
 */
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/strbuf.h"
#include "lib/token.h"

#ifndef RB_KIT_SCRIPT
#define RB_KIT_SCRIPT "scripts/directory-kit"
#endif

static const char tenant_help[] =
    "usage: rosterctl tenant create NAME [--partnership] [--display-name TEXT]\n"
    "                 [--suffix DN] [--password-file FILE]\n"
    "\n"
    "Prints on stdout the LDIF that creates tenant NAME in the directory (o=NAME,\n"
    "its ou=people, groups, schools and regions, and its read-only account\n"
    "cn=reader) and a new random password for the reader, printed once on stderr\n"
    "or written to --password-file (mode 0600). Apply it as the directory's\n"
    "administrator, then set the reader's password (slapd hashes it, RFC 3062):\n"
    "  ldapadd -x -D cn=admin,SUFFIX -W -f tenant.ldif\n"
    "  ldappasswd -x -D cn=admin,SUFFIX -W -T FILE cn=reader,o=NAME,SUFFIX\n"
    "then add `tenant NAME` to the daemon's configuration and reload it.\n"
    "The suffix: --suffix, ROSTERCTL_SUFFIX or `suffix` in the config file.\n";

/* A new file of mode 0600 (never an existing one). */
static int
open_private(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
}

int
tenant_main(struct cli *c, int argc, char **argv)
{
	const char *suffix = NULL, *display = NULL, *pwfile = NULL;
	bool partnership = false, help;
	const struct cli_opt opts[] = {{"partnership", OPT_FLAG, &partnership},
	                               {"suffix", OPT_VALUE, &suffix},
	                               {"display-name", OPT_VALUE, &display},
	                               {"password-file", OPT_VALUE, &pwfile},
	                               {NULL, OPT_FLAG, NULL}};
	static const char *const ous[][2] = {
	    {"people", "Administrators and other people of the tenant"},
	    {"groups", "SCIM groups (role groups and plain groups)"},
	    {"schools", "School sites"},
	    {"regions", "Regions (partnerships)"}};
	char pw[TOKEN_TEXT_MAX];
	struct rb_error err;
	const char *name;
	size_t i;
	int npos;

	if (argc < 2 || strcmp(argv[1], "create") != 0) {
		bool asked = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
		fputs(tenant_help, asked ? stdout : stderr);
		return asked ? CLI_OK : CLI_USAGE;
	}
	if (opts_parse(argc - 1, argv + 1, opts, &npos, &help, "tenant create") != 0)
		return CLI_USAGE;
	if (help) {
		fputs(tenant_help, stdout);
		return CLI_OK;
	}
	if (npos != 1)
		return cli_usage_error("tenant create", "tenant create needs one NAME");
	name = argv[2];
	if (!token_name_valid(name))
		return cli_usage_error("tenant create",
		                       "tenant name '%s': use 1-63 characters of a-z, 0-9 and '-'",
		                       name);
	if (suffix == NULL)
		suffix = c->suffix;
	if (suffix == NULL || *suffix == '\0' || strchr(suffix, '=') == NULL)
		return cli_usage_error("tenant create", "give the directory's suffix (--suffix "
		                                        "dc=district,dc=example)");
	error_clear(&err);
	/* The reader's password: a token-grade random string without the rb_ prefix. */
	if (token_generate(pw, &err) < 0) {
		fprintf(stderr, "rosterctl: tenant create: cannot make a password\n");
		return CLI_FAILED;
	}
	if (pwfile != NULL) {
		FILE *f;
		int fd = open_private(pwfile);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (f == NULL || fputs(pw + 3, f) < 0 ||
		    fclose(f) != 0) { /* no newline: -T/-y read it all */
			perror(pwfile);
			gnutls_memset(pw, 0, sizeof(pw));
			return CLI_USAGE;
		}
	}

	printf("# tenant %s (%s), made by `rosterctl tenant create`: apply with\n"
	       "#   ldapadd -x -D cn=admin,%s -W -f THIS-FILE\n"
	       "# then set the reader's password (slapd hashes it, RFC 3062):\n"
	       "#   ldappasswd -x -D cn=admin,%s -W -T PASSWORD-FILE cn=reader,o=%s,%s\n"
	       "# then add `tenant %s` to the daemon's configuration and reload it.\n\n",
	       name, partnership ? "partnership" : "district", suffix, suffix, name, suffix, name);
	printf("dn: o=%s,%s\nobjectClass: organization\nobjectClass: rbTenant\no: %s\n"
	       "rbTenantKind: %s\n",
	       name, suffix, name, partnership ? "partnership" : "district");
	ldif_attr(stdout, "displayName", display ? display : name);
	putchar('\n');
	for (i = 0; i < sizeof(ous) / sizeof(ous[0]); i++)
		printf("dn: ou=%s,o=%s,%s\nobjectClass: organizationalUnit\nou: %s\ndescription: "
		       "%s\n\n",
		       ous[i][0], name, suffix, ous[i][0], ous[i][1]);
	printf("dn: cn=reader,o=%s,%s\nobjectClass: organizationalRole\n"
	       "objectClass: simpleSecurityObject\ncn: reader\n"
	       "description: read-only account of tenant %s for district tools\n"
	       "# no password matches this value: ldappasswd sets the real one\n"
	       "userPassword: {CRYPT}*\n"
	       "pwdPolicySubentry: cn=service-accounts,ou=policies,%s\n",
	       name, suffix, name, suffix);
	if (pwfile == NULL)
		fprintf(stderr, "reader account cn=reader,o=%s,%s, password (shown only now): %s\n",
		        name, suffix, pw + 3);
	else
		fprintf(stderr, "reader account cn=reader,o=%s,%s, password in %s\n", name, suffix,
		        pwfile);
	fprintf(stderr,
	        "next, as root on the directory's host:\n"
	        "  ldapadd -x -D <the directory admin> -W -f <this LDIF>\n"
	        "  ldappasswd -x -D <the directory admin> -W %s%s cn=reader,o=%s,%s\n"
	        "    (the reader's password, hashed by slapd: RFC 3062%s)\n"
	        "  %s --tenant %s %s | ldapmodify -Y EXTERNAL -H ldapi:///\n"
	        "    (the directory kit: the reader's access rule and limits)\n"
	        "  echo 'tenant %s' >> /etc/rosterbridge/rosterbridge.conf && systemctl reload "
	        "rosterbridge\n",
	        pwfile ? "-T " : "-S", pwfile ? pwfile : "", name, suffix,
	        pwfile ? "" : "; -S asks for it: paste the password above", RB_KIT_SCRIPT, name,
	        suffix, name);
	gnutls_memset(pw, 0, sizeof(pw));
	return CLI_OK;
}
