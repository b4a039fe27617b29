/*
 * tenant.c — `rosterctl tenant create NAME [--partnership] [--suffix DN]`.
 *
 * The seam to LDAP: a tenant is made in the directory by its administrator,
 * not by the daemon (whose service account should not create tenants), and
 * rosterctl holds no directory credentials. So this verb prints the LDIF
 * that creates it — the o=NAME entry (rbTenant, district or partnership),
 * its ou=people, groups, schools, regions, and its read-only account
 * cn=reader with a new random password ({SSHA}-hashed in the LDIF, the
 * password itself printed once on stderr; its pwdPolicySubentry names the
 * kit's no-lockout policy, conf/directory/policies.ldif, so nobody can lock
 * it out with wrong passwords) — for the operator to apply:
 *
 *   rosterctl tenant create lincoln --suffix dc=district,dc=example > t.ldif
 *   ldapadd -x -D cn=admin,dc=district,dc=example -W -f t.ldif
 *
 * then the directory kit's access rule and limits for the new reader
 * (`directory-kit --tenant NAME SUFFIX | ldapmodify -Y EXTERNAL -H
 * ldapi:///`; conf/directory/tenant.ldif), and the `tenant NAME` line for
 * the daemon's configuration.
 */
#include <fcntl.h>
#include <gnutls/crypto.h>
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
    "cn=reader with a new random password, printed once on stderr or written to\n"
    "--password-file, mode 0600). Apply it as the directory's administrator:\n"
    "  ldapadd -x -D cn=admin,SUFFIX -W -f tenant.ldif\n"
    "then add `tenant NAME` to the daemon's configuration and reload it.\n"
    "The suffix: --suffix, ROSTERCTL_SUFFIX or `suffix` in the config file.\n";

/* A new file of mode 0600 (never an existing one). */
static int
open_private(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
}

/* {SSHA} of pw (what slappasswd -h {SSHA} makes) into out. 0 or -1. */
static int
tenant_ssha(const char *pw, char *out, size_t outlen)
{
	unsigned char buf[256 + 8], digest[20 + 8];
	size_t n = strlen(pw);

	if (n > 256 || outlen < 7 + 41)
		return -1;
	memcpy(buf, pw, n);
	if (gnutls_rnd(GNUTLS_RND_NONCE, buf + n, 8) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, n + 8, digest) < 0)
		return -1;
	memcpy(digest + 20, buf + n, 8);
	snprintf(out, outlen, "{SSHA}");
	gnutls_memset(buf, 0, sizeof(buf));
	return token_base64(digest, sizeof(digest), 0, out + 6, outlen - 6);
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
	char pw[TOKEN_TEXT_MAX], hash[64];
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
	if (token_generate(pw, &err) < 0 || tenant_ssha(pw + 3, hash, sizeof(hash)) < 0) {
		fprintf(stderr, "rosterctl: tenant create: cannot make a password\n");
		return CLI_FAILED;
	}
	if (pwfile != NULL) {
		FILE *f;
		int fd = open_private(pwfile);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (f == NULL || fprintf(f, "%s\n", pw + 3) < 0 || fclose(f) != 0) {
			perror(pwfile);
			gnutls_memset(pw, 0, sizeof(pw));
			return CLI_USAGE;
		}
	}

	printf("# tenant %s (%s), made by `rosterctl tenant create`: apply with\n"
	       "#   ldapadd -x -D cn=admin,%s -W -f THIS-FILE\n"
	       "# then add `tenant %s` to the daemon's configuration and reload it.\n\n",
	       name, partnership ? "partnership" : "district", suffix, name);
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
	       "userPassword: %s\n"
	       "pwdPolicySubentry: cn=service-accounts,ou=policies,%s\n",
	       name, suffix, name, hash, suffix);
	if (pwfile == NULL)
		fprintf(stderr, "reader account cn=reader,o=%s,%s, password (shown only now): %s\n",
		        name, suffix, pw + 3);
	else
		fprintf(stderr, "reader account cn=reader,o=%s,%s, password in %s\n", name, suffix,
		        pwfile);
	fprintf(stderr,
	        "next, as root on the directory's host:\n"
	        "  ldapadd -x -D <the directory admin> -W -f <this LDIF>\n"
	        "  %s --tenant %s %s | ldapmodify -Y EXTERNAL -H ldapi:///\n"
	        "    (the directory kit: the reader's access rule and limits)\n"
	        "  echo 'tenant %s' >> /etc/rosterbridge/rosterbridge.conf && systemctl reload "
	        "rosterbridge\n",
	        RB_KIT_SCRIPT, name, suffix, name);
	gnutls_memset(pw, 0, sizeof(pw));
	return CLI_OK;
}
