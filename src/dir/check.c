/*
 * check.c — is the live directory what the bridge needs? (rosterbridge
 * --check-directory, and the same checks as warnings at start.)
 *
 * Two kinds of check:
 *   - over the bridge's own connection (the service account, as configured):
 *     the rosterbridge schema is there and as new as this binary (every
 *     attribute type and object class of schema/rosterbridge.schema, names
 *     compiled in at build time), the server offers the controls the bridge
 *     uses (server-side sorting, VLV, assertion, post-read; slapd does not
 *     list permissive modify, which it supports), each configured tenant exists, and an anonymous
 * client reads nothing; the password policies (ppolicy): the kit's
 *     lockout policy for people exists, and the service account and each
 *     tenant's reader name a policy of their own that never locks out (else
 *     anyone reaching slapd could lock the bridge out with wrong passwords);
 *   - with --config-uri (cn=config, e.g. ldapi:/// as root through SASL
 *     EXTERNAL): the attribute options, the overlays and their settings, the
 *     equality indexes the bridge's searches need, the access rules that
 *     matter (the bind lock, userPassword for authentication only, each
 *     configured tenant's reader rule and limits), and the default password
 *     policy (olcPPolicyDefault, upgrade step 0003) naming a lockout policy.
 * Each problem is one line that says what is missing and which step of the
 * directory kit (conf/directory, scripts/directory-kit) puts it right.
 */
#include <ctype.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/dir.h"
#include "dir/pool.h"
#include "gen/kit_steps.h"    /* KIT_STEPS: "0001-baseline", … */
#include "gen/schema_names.h" /* SCHEMA_ATTRIBUTE_NAMES, SCHEMA_CLASS_NAMES */
#include "lib/config.h"
#include "lib/strbuf.h"

/* The upgrade steps that change the schema entry (dn: @SCHEMA@), in order. */
static const char *const schema_steps[] = {KIT_SCHEMA_STEPS NULL};

/* How to apply a step of the directory kit. */
#define KIT_FIX(step)                                                                              \
	"apply conf/directory/" step " (scripts/directory-kit SUFFIX DATABASE_DN | ldapmodify -Y " \
	"EXTERNAL -H ldapi:///)"

struct check {
	FILE *out;
	int problems;
	char default_policy[600]; /* olcPPolicyDefault, lower case, when cn=config was read */
};

static void
check_ok(struct check *c, const char *what)
{
	fprintf(c->out, "ok       %s\n", what);
}

static void __attribute__((format(printf, 3, 4)))
check_fail(struct check *c, const char *fix, const char *fmt, ...)
{
	va_list ap;

	fputs("MISSING  ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	if (fix != NULL)
		fprintf(c->out, "\n         fix: %s", fix);
	fputc('\n', c->out);
	c->problems++;
}

/* The values of `attr` in the entries `base`/`scope`/`filter` finds, as one
 * NEW "\n"-joined lower-case string ("" when none; NULL on a search error). */
static char *
check_values(LDAP *ld, const char *base, int scope, const char *filter, const char *attr)
{
	char *attrs[] = {(char *)attr, NULL}, *p;
	LDAPMessage *res = NULL, *e;
	struct berval **vals;
	struct strbuf out = {0};
	size_t i;
	int rc;

	rc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL, NULL, 0, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return NULL;
	}
	strbuf_add(&out, "");
	for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		vals = ldap_get_values_len(ld, e, attr);
		for (i = 0; vals != NULL && vals[i] != NULL; i++) {
			strbuf_addn(&out, vals[i]->bv_val, vals[i]->bv_len);
			strbuf_add(&out, "\n");
		}
		ldap_value_free_len(vals);
	}
	ldap_msgfree(res);
	if (out.failed) {
		free(out.s);
		return NULL;
	}
	for (p = out.s; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return out.s;
}

/* Does the "\n"-joined list hold a line containing `needle` (lower case)? */
static bool
check_has(const char *list, const char *needle)
{
	return list != NULL && strstr(list, needle) != NULL;
}

/* Schema: every name of this binary's schema among the directory's definitions. */
static void
check_schema(struct check *c, LDAP *ld)
{
	static const char *const attrs[] = {SCHEMA_ATTRIBUTE_NAMES, NULL};
	static const char *const classes[] = {SCHEMA_CLASS_NAMES, NULL};
	char *at = check_values(ld, "cn=Subschema", LDAP_SCOPE_BASE, "(objectClass=subschema)",
	                        "attributeTypes");
	char *oc = check_values(ld, "cn=Subschema", LDAP_SCOPE_BASE, "(objectClass=subschema)",
	                        "objectClasses");
	char needle[128], missing[1024] = "";
	size_t i, n = 0, found = 0;

	for (i = 0; attrs[i] != NULL; i++, n++) {
		snprintf(needle, sizeof(needle), "name '%s'", attrs[i]);
		for (char *p = needle; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (check_has(at, needle))
			found++;
		else if (strlen(missing) + strlen(attrs[i]) + 3 < sizeof(missing))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
			         "%s%s", *missing ? ", " : "", attrs[i]);
	}
	for (i = 0; classes[i] != NULL; i++, n++) {
		snprintf(needle, sizeof(needle), "name '%s'", classes[i]);
		for (char *p = needle; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (check_has(oc, needle))
			found++;
		else if (strlen(missing) + strlen(classes[i]) + 3 < sizeof(missing))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
			         "%s%s", *missing ? ", " : "", classes[i]);
	}
	if (found == n)
		check_ok(c, "schema: every rosterbridge attribute type and object class");
	else if (found == 0)
		check_fail(c, "ldapadd -Y EXTERNAL -H ldapi:/// -f schema/rosterbridge.ldif",
		           "schema: the rosterbridge schema is not loaded");
	else {
		const char *last = schema_steps[0];
		char fix[400];
		for (i = 0; schema_steps[i] != NULL; i++)
			last = schema_steps[i];
		snprintf(fix, sizeof(fix),
		         "the directory's rosterbridge schema is older than this version: apply "
		         "directory kit upgrade step %s (scripts/directory-kit --step %.4s SUFFIX "
		         "DATABASE_DN SCHEMA_DN | ldapmodify -Y EXTERNAL -H ldapi:///; with "
		         "--config-uri ldapi:/// this check names SCHEMA_DN; docs/install.md, "
		         "Upgrading the directory)",
		         last ? last : "?", last ? last : "?");
		check_fail(c, fix, "schema: %zu of %zu definitions missing: %s", n - found, n,
		           missing);
	}
	free(at);
	free(oc);
}

/* Controls the bridge sends, offered by the server (root DSE). */
static void
check_controls(struct check *c, LDAP *ld)
{
	static const struct {
		const char *oid, *what, *fix;
	} ctl[] = {
	    {LDAP_CONTROL_SORTREQUEST, "server-side sorting (sssvlv overlay)",
	     KIT_FIX("40-overlays.ldif")},
	    {LDAP_CONTROL_VLVREQUEST, "virtual list view (sssvlv overlay)",
	     KIT_FIX("40-overlays.ldif")},
	    {LDAP_CONTROL_ASSERT, "assertion control (If-Match, no lost update)", NULL},
	    {LDAP_CONTROL_POST_READ, "post-read control", NULL},
	};
	char *sc = check_values(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", "supportedControl");
	size_t i;

	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		char what[160];
		snprintf(what, sizeof(what), "control %s", ctl[i].what);
		if (check_has(sc, ctl[i].oid))
			check_ok(c, what);
		else
			check_fail(c, ctl[i].fix ? ctl[i].fix : "slapd 2.5 or later",
			           "the server does not offer the %s", ctl[i].what);
	}
	free(sc);
}

/* Each configured tenant's entry and its ou=people. */
static void
check_tenants(struct check *c, LDAP *ld, const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ntenants; i++) {
		char base[512], what[600], *v;
		snprintf(base, sizeof(base), "ou=people,o=%s,%s", cfg->tenants[i].name,
		         cfg->ldap_suffix);
		v = check_values(ld, base, LDAP_SCOPE_BASE, "(objectClass=*)", "ou");
		snprintf(what, sizeof(what), "tenant %s (%s)", cfg->tenants[i].name, base);
		if (v != NULL && *v != '\0')
			check_ok(c, what);
		else
			check_fail(c, "rosterctl tenant create NAME (prints the LDIF to ldapadd)",
			           "tenant %s: no %s", cfg->tenants[i].name, base);
		free(v);
	}
}

/* The fix for anything about the password policies (data, not cn=config). */
#define POLICY_FIX                                                                                 \
	"add conf/directory/policies.ldif and the accounts' pwdPolicySubentry as the directory's " \
	"admin (scripts/directory-kit --policies SUFFIX [TENANT...] | ldapmodify -x -D ADMIN_DN "  \
	"-W)"

/*
 * Does the pwdPolicy entry `dn` lock out? 1 yes (pwdLockout TRUE and
 * pwdMaxFailure > 0), 0 no, -1 no such policy entry (or unreadable).
 */
static int
check_policy_locks(LDAP *ld, const char *dn)
{
	char *lock = check_values(ld, dn, LDAP_SCOPE_BASE, "(objectClass=pwdPolicy)", "pwdLockout");
	char *max =
	    check_values(ld, dn, LDAP_SCOPE_BASE, "(objectClass=pwdPolicy)", "pwdMaxFailure");
	char *mark =
	    check_values(ld, dn, LDAP_SCOPE_BASE, "(objectClass=pwdPolicy)", "objectClass");
	int rc = -1;

	if (mark != NULL && *mark != '\0')
		rc = check_has(lock, "true") && max != NULL && strtol(max, NULL, 10) > 0;
	free(lock);
	free(max);
	free(mark);
	return rc;
}

/*
 * An account a program binds as (`what`, at `dn`) names a policy of its own
 * (pwdPolicySubentry) that does not lock out. An absent entry is fine (a
 * tenant made without a reader).
 */
static void
check_account_policy(struct check *c, LDAP *ld, const char *what, const char *dn)
{
	char *exists = check_values(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", "objectClass");
	char *policy = NULL, ok[700];
	int locks;

	if (exists == NULL || *exists == '\0')
		goto done;
	policy = check_values(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", "pwdPolicySubentry");
	if (policy == NULL || *policy == '\0') {
		check_fail(c, POLICY_FIX,
		           "password policy: the %s %s names no policy of its own "
		           "(pwdPolicySubentry): the default one applies, and a few wrong "
		           "passwords from anyone would lock it out",
		           what, dn);
		goto done;
	}
	policy[strcspn(policy, "\n")] = '\0';
	locks = check_policy_locks(ld, policy);
	snprintf(ok, sizeof(ok), "password policy of the %s: %s, no lockout", what, policy);
	if (locks == 0)
		check_ok(c, ok);
	else if (locks > 0)
		check_fail(c, POLICY_FIX,
		           "password policy: the %s %s has a policy that locks out (%s)", what, dn,
		           policy);
	else
		check_fail(c, POLICY_FIX, "password policy: the %s %s names %s, which is not there",
		           what, dn, policy);
done:
	free(exists);
	free(policy);
}

/* The kit's policies: people lock out; the service account and the readers never. */
static void
check_policies(struct check *c, LDAP *ld, const struct config *cfg)
{
	char dn[600], what[700];
	size_t i;

	snprintf(dn, sizeof(dn), "cn=administrators,ou=policies,%s", cfg->ldap_suffix);
	if (check_policy_locks(ld, dn) > 0) {
		snprintf(what, sizeof(what), "password policy for people (lockout): %s", dn);
		check_ok(c, what);
	} else {
		check_fail(c, POLICY_FIX,
		           "password policy: no lockout policy %s: repeated wrong passwords never "
		           "lock an administrator out",
		           dn);
	}
	if (cfg->ldap_bind_dn != NULL)
		check_account_policy(c, ld, "service account", cfg->ldap_bind_dn);
	for (i = 0; i < cfg->ntenants; i++) {
		char rdn[600], w[128];
		snprintf(rdn, sizeof(rdn), "cn=reader,o=%s,%s", cfg->tenants[i].name,
		         cfg->ldap_suffix);
		snprintf(w, sizeof(w), "reader of tenant %s", cfg->tenants[i].name);
		check_account_policy(c, ld, w, rdn);
	}
}

/* An anonymous client reads nothing under the suffix. */
static void
check_anonymous(struct check *c, const struct config *cfg)
{
	LDAP *ld = NULL;
	LDAPMessage *res = NULL;
	int version = LDAP_VERSION3, rc, n = -1;
	struct timeval tv = {5, 0};

	if (ldap_initialize(&ld, cfg->ldap_uri) != LDAP_SUCCESS)
		goto report;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	if (cfg->ldap_tls_ca_file != NULL)
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap_tls_ca_file);
	if (cfg->ldap_starttls && ldap_start_tls_s(ld, NULL, NULL) != LDAP_SUCCESS)
		goto report;
	rc = ldap_search_ext_s(ld, cfg->ldap_suffix, LDAP_SCOPE_SUBTREE, "(objectClass=*)", NULL, 0,
	                       NULL, NULL, &tv, 10, &res);
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_NO_SUCH_OBJECT ||
	    rc == LDAP_INSUFFICIENT_ACCESS)
		n = ldap_count_entries(ld, res);
report:
	if (n == 0)
		check_ok(c, "an anonymous client reads nothing");
	else if (n > 0)
		check_fail(c, KIT_FIX("30-database.ldif"),
		           "an anonymous client reads %d entries under %s", n, cfg->ldap_suffix);
	else
		check_fail(c, NULL, "could not run the anonymous read check against %s",
		           cfg->ldap_uri);
	ldap_msgfree(res);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

/* Does `lines` (olcDbIndex values, lower case, one a line: "attr[,attr…] type[,type…]")
 * give `attr` an equality index? */
static bool
check_index(const char *lines, const char *attr)
{
	const char *line = lines;
	size_t n = strlen(attr);

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n'), *sp = strpbrk(line, " \t"), *p;
		if (end == NULL)
			end = line + strlen(line);
		if (sp != NULL && sp < end) {
			bool named = false, eq = false;
			for (p = line; p < sp; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
				size_t len = strcspn(p, ",");
				if (p + len > sp)
					len = (size_t)(sp - p);
				if (len == n && !strncmp(p, attr, n))
					named = true;
				if (len == 0)
					break;
			}
			for (p = sp; p < end; p++)
				if (!strncmp(p, "eq", 2) &&
				    (p[2] == ',' || p[2] == '\n' || p[2] == '\0' || p + 2 == end))
					eq = true;
			if (named && eq)
				return true;
		}
		line = *end ? end + 1 : end;
	}
	return false;
}

/* The line of the "\n"-joined list `lines` holding `needle`, counted from 0, or -1. */
static long
check_line_of(const char *lines, const char *needle)
{
	const char *hit = lines != NULL ? strstr(lines, needle) : NULL, *p;
	long n = 0;

	if (hit == NULL)
		return -1;
	for (p = lines; p < hit; p++)
		if (*p == '\n')
			n++;
	return n;
}

/*
 * Each configured tenant's reader rule and limits (conf/directory/tenant.ldif):
 * `to dn.subtree="o=T,SUFFIX" by dn.exact="cn=reader,o=T,SUFFIX" read` among
 * the database's olcAccess (`access`, lower case), before the catch-all
 * `to *` rule (slapd stops at the first rule whose target matches), and a
 * `dn.exact="cn=reader,o=T,SUFFIX"` olcLimits value (`limits`). Without
 * them the tenant's district tools read nothing, or read without limits.
 */
static void
check_tenant_rules(struct check *c, const struct config *cfg, const char *access,
                   const char *limits)
{
	char fix[700], rule[700], who[600], what[700];
	long catch_all = check_line_of(access, "}to * ");
	size_t i;

	for (i = 0; i < cfg->ntenants; i++) {
		const char *t = cfg->tenants[i].name;
		long at;
		snprintf(fix, sizeof(fix),
		         "apply conf/directory/tenant.ldif (scripts/directory-kit --tenant %s %s "
		         "DATABASE_DN | ldapmodify -Y EXTERNAL -H ldapi:///)",
		         t, cfg->ldap_suffix);
		snprintf(who, sizeof(who), "dn.exact=\"cn=reader,o=%s,%s\"", t, cfg->ldap_suffix);
		snprintf(rule, sizeof(rule), "to dn.subtree=\"o=%s,%s\" by %s read", t,
		         cfg->ldap_suffix, who);
		for (char *p = rule; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (char *p = who; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		at = check_line_of(access, rule);
		snprintf(what, sizeof(what), "access rule: tenant %s's reader (cn=reader,o=%s)", t,
		         t);
		if (at < 0)
			check_fail(c, fix,
			           "access rule: tenant %s has no reader rule (%s): its reader "
			           "cn=reader,o=%s reads nothing",
			           t, rule, t);
		else if (catch_all >= 0 && at > catch_all)
			check_fail(
			    c, fix,
			    "access rule: tenant %s's reader rule comes after the catch-all "
			    "rule \"to *\", so it never applies: delete it and apply it again",
			    t);
		else
			check_ok(c, what);
		snprintf(what, sizeof(what), "limits: tenant %s's reader (cn=reader,o=%s)", t, t);
		if (check_has(limits, who))
			check_ok(c, what);
		else
			check_fail(
			    c, fix,
			    "limits: tenant %s's reader has no olcLimits (%s): its searches run "
			    "with the frontend's limits, not the kit's",
			    t, who);
	}
}

/*
 * The kit's numbered upgrade steps (conf/directory/upgrade/NNNN-*.ldif,
 * compiled in as KIT_STEPS): each applied step left
 * `olcObjectIdentifier: rbKitStepNNNN <oid>` on cn=config (`oids`, lower
 * case). Names every step of this version the directory has not had, in
 * order, with the command that applies it; and which password hash is in
 * use (`hash`: the frontend's olcPasswordHash).
 */
static void
check_steps(struct check *c, const struct config *cfg, const char *oids, const char *hash,
            const char *schema_dn)
{
	static const char *const steps[] = {KIT_STEPS NULL};
	char needle[64], fix[900], what[160], schema_arg[300];
	size_t i, j, missing = 0;

	for (i = 0; steps[i] != NULL; i++) {
		snprintf(needle, sizeof(needle), "rbkitstep%.4s ", steps[i]);
		if (check_has(oids, needle))
			continue;
		missing++;
		/* A step that changes the schema entry takes its DN (slapd's {N}). */
		schema_arg[0] = '\0';
		for (j = 0; schema_steps[j] != NULL; j++)
			if (!strcmp(schema_steps[j], steps[i]))
				snprintf(schema_arg, sizeof(schema_arg), " '%s'",
				         schema_dn ? schema_dn
				                   : "cn={N}rosterbridge,cn=schema,cn=config");
		snprintf(
		    fix, sizeof(fix),
		    "scripts/directory-kit --step %.4s %s DATABASE_DN%s | ldapmodify -Y EXTERNAL "
		    "-H "
		    "ldapi:/// (conf/directory/upgrade/%s.ldif; docs/install.md, Upgrading the "
		    "directory)",
		    steps[i], cfg->ldap_suffix, schema_arg, steps[i]);
		check_fail(c, fix, "directory kit upgrade step %s not applied", steps[i]);
	}
	if (missing == 0 && i > 0) {
		snprintf(what, sizeof(what),
		         "directory kit upgrade steps: all %zu applied (up to %s)", i,
		         steps[i - 1]);
		check_ok(c, what);
	}
	if (check_has(hash, "{argon2}"))
		check_ok(c, "password hashing: {ARGON2}");
	else if (hash != NULL && *hash != '\0') {
		char scheme[64];
		size_t n = strcspn(hash, "\n");
		snprintf(scheme, sizeof(scheme), "%.*s", (int)n, hash);
		for (char *p = scheme; *p; p++) /* read back lower case: schemes are upper */
			*p = (char)toupper((unsigned char)*p);
		fprintf(c->out,
		        "note     password hashing: %s (Argon2 needs slapd's argon2 module on the "
		        "directory host, then kit step 0002 again)\n",
		        scheme);
	} else
		fprintf(c->out, "note     password hashing: slapd's default, {SSHA} (kit step 0002 "
		                "sets Argon2)\n");
}

/* cn=config: options, overlays, indexes, access rules of the suffix's database. */
static void
check_config(struct check *c, const struct config *cfg, const char *config_uri)
{
	/* rbGroupRef's index (members of a group) comes with kit step 0004, which
	 * check_steps names when missing. */
	static const char *const indexes[] = {"entryuuid",
	                                      "uid",
	                                      "rbsource",
	                                      "rbexternalid",
	                                      "rbmanageall",
	                                      "rbviewall",
	                                      "rbmanageschool",
	                                      "rbviewschool",
	                                      "rbmanageregion",
	                                      "rbviewregion",
	                                      NULL};
	static const struct {
		const char *cls, *what, *setting;
	} overlays[] = {
	    {"olcPPolicyConfig", "the ppolicy overlay hashing cleartext passwords",
	     "olcppolicyhashcleartext"},
	    {"olcSssVlvConfig", "the sssvlv overlay (sorting, paging)", NULL},
	    {"olcDynListConfig", "the dynlist overlay (rbManager, rbViewer)", "olcdynlistattrset"},
	};
	LDAP *ld = NULL;
	char empty[] = "";
	struct berval cred = {0, empty}; /* an empty authzid: NULL would ask for a second step */
	char filter[600], *db = NULL, *schema_dn = NULL, *v = NULL, *limits;
	int version = LDAP_VERSION3;
	size_t i;

	if (ldap_initialize(&ld, config_uri) != LDAP_SUCCESS) {
		check_fail(c, NULL, "cannot use --config-uri %s", config_uri);
		return;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL, NULL) != LDAP_SUCCESS) {
		check_fail(c,
		           "run as the user slapd lets manage cn=config (root for Debian's slapd)",
		           "SASL EXTERNAL bind to %s refused", config_uri);
		goto done;
	}
	snprintf(filter, sizeof(filter), "(olcSuffix=%s)", cfg->ldap_suffix);
	{
		LDAPMessage *res = NULL, *e;
		char *none[] = {"1.1", NULL};
		if (ldap_search_ext_s(ld, "cn=config", LDAP_SCOPE_ONELEVEL, filter, none, 0, NULL,
		                      NULL, NULL, 0, &res) == LDAP_SUCCESS &&
		    (e = ldap_first_entry(ld, res)) != NULL)
			db = ldap_get_dn(ld, e);
		ldap_msgfree(res);
	}
	if (db == NULL) {
		check_fail(c, NULL,
		           "cn=config: no database holds %s (or cn=config is not readable)",
		           cfg->ldap_suffix);
		goto done;
	}
	{ /* the schema entry's DN, cn={N}rosterbridge,cn=schema,cn=config, for the fix */
		LDAPMessage *res = NULL, *e;
		char *none[] = {"1.1", NULL};
		if (ldap_search_ext_s(ld, "cn=schema,cn=config", LDAP_SCOPE_ONELEVEL,
		                      "(cn=*}rosterbridge)", none, 0, NULL, NULL, NULL, 0,
		                      &res) == LDAP_SUCCESS &&
		    (e = ldap_first_entry(ld, res)) != NULL)
			schema_dn = ldap_get_dn(ld, e);
		ldap_msgfree(res);
	}
	v = check_values(ld, "cn=config", LDAP_SCOPE_BASE, "(objectClass=*)",
	                 "olcObjectIdentifier");
	limits = check_values(ld, "olcDatabase={-1}frontend,cn=config", LDAP_SCOPE_BASE,
	                      "(objectClass=*)", "olcPasswordHash");
	check_steps(c, cfg, v, limits, schema_dn);
	free(v);
	free(limits);
	v = check_values(ld, "cn=config", LDAP_SCOPE_BASE, "(objectClass=*)",
	                 "olcAttributeOptions");
	if (check_has(v, "x-src-"))
		check_ok(c, "attribute options x-src- x-type- x-primary");
	else
		check_fail(c, KIT_FIX("00-global.ldif"),
		           "cn=config: olcAttributeOptions lacks x-src- (per-source values)");
	free(v);
	for (i = 0; i < sizeof(overlays) / sizeof(overlays[0]); i++) {
		snprintf(filter, sizeof(filter), "(objectClass=%s)", overlays[i].cls);
		v = check_values(ld, db, LDAP_SCOPE_ONELEVEL, filter,
		                 overlays[i].setting ? overlays[i].setting : "olcOverlay");
		if (v != NULL && *v != '\0' &&
		    (overlays[i].setting == NULL ||
		     strcmp(overlays[i].setting, "olcppolicyhashcleartext") ||
		     check_has(v, "true")))
			check_ok(c, overlays[i].what);
		else
			check_fail(c, KIT_FIX("40-overlays.ldif"), "%s on %s", overlays[i].what,
			           db);
		free(v);
	}
	v = check_values(ld, db, LDAP_SCOPE_ONELEVEL, "(objectClass=olcPPolicyConfig)",
	                 "olcPPolicyDefault");
	if (v != NULL && *v != '\0') {
		v[strcspn(v, "\n")] = '\0';
		snprintf(c->default_policy, sizeof(c->default_policy), "%s", v);
	} else {
		check_fail(c,
		           "apply upgrade step 0003 (scripts/directory-kit --step 0003 SUFFIX "
		           "DATABASE_DN | ldapmodify -Y EXTERNAL -H ldapi:///)",
		           "ppolicy on %s has no default policy (olcPPolicyDefault): nobody is "
		           "locked out after wrong passwords, and no quality rule applies",
		           db);
	}
	free(v);
	v = check_values(ld, db, LDAP_SCOPE_BASE, "(objectClass=*)", "olcDbIndex");
	for (i = 0; indexes[i] != NULL; i++) {
		char what[96];
		snprintf(what, sizeof(what), "equality index on %s", indexes[i]);
		if (check_index(v, indexes[i]))
			check_ok(c, what);
		else
			check_fail(c, KIT_FIX("30-database.ldif"), "%s (%s)", what, db);
	}
	free(v);
	v = check_values(ld, db, LDAP_SCOPE_BASE, "(objectClass=*)", "olcAccess");
	if (check_has(v, "rbbindlocked=true"))
		check_ok(c, "access rule: the bind lock (rbBindLocked) refuses binds");
	else
		check_fail(
		    c, KIT_FIX("30-database.ldif"),
		    "access rule: no bind lock (filter=(rbBindLocked=TRUE) attrs=userPassword): "
		    "a person every source suspended can still bind");
	if (check_has(v, "attrs=userpassword") && check_has(v, "anonymous auth"))
		check_ok(c, "access rule: userPassword for authentication only");
	else
		check_fail(c, KIT_FIX("30-database.ldif"),
		           "access rule: userPassword is not limited to authentication");
	limits = check_values(ld, db, LDAP_SCOPE_BASE, "(objectClass=*)", "olcLimits");
	check_tenant_rules(c, cfg, v, limits);
	free(limits);
	free(v);
done:
	ldap_memfree(db);
	ldap_memfree(schema_dn);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/* The default policy cn=config names (read over the service account) locks out. */
static void
check_default_policy(struct check *c, struct pool *pool, const char *dn)
{
	struct pool_conn *conn;
	struct rb_error err;
	char what[700];
	int locks;

	error_clear(&err);
	conn = pool_acquire(pool, &err);
	if (conn == NULL)
		return; /* said already */
	locks = check_policy_locks(conn->ld, dn);
	pool_release(pool, conn, false);
	snprintf(what, sizeof(what), "default password policy (olcPPolicyDefault): %s, lockout",
	         dn);
	if (locks > 0)
		check_ok(c, what);
	else
		check_fail(c, POLICY_FIX,
		           locks == 0 ? "the default password policy %s does not lock out"
		                      : "the default password policy %s is not in the directory",
		           dn);
}

int
dir_check(const struct config *cfg, struct pool *pool, const char *config_uri, FILE *out)
{
	struct check c = {out, 0, ""};
	struct pool_conn *conn;
	struct rb_error err;

	error_clear(&err);
	conn = pool_acquire(pool, &err);
	if (conn == NULL) {
		fprintf(out, "MISSING  the directory at %s: %s\n", cfg->ldap_uri, err.detail);
		return -1;
	}
	check_schema(&c, conn->ld);
	check_controls(&c, conn->ld);
	check_tenants(&c, conn->ld, cfg);
	check_policies(&c, conn->ld, cfg);
	pool_release(pool, conn, false);
	check_anonymous(&c, cfg);
	if (config_uri != NULL) {
		check_config(&c, cfg, config_uri);
		if (c.default_policy[0] != '\0')
			check_default_policy(&c, pool, c.default_policy);
	} else
		fprintf(out, "skipped  cn=config checks (overlays, indexes, access rules): give "
		             "--config-uri ldapi:/// (as root on the directory's host)\n");
	return c.problems;
}
