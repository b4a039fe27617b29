/*
 * growth_ldap.c — the raw-LDAP half of bench/growth: runs a file of LDAP
 * operations over ONE bound connection, synchronously, one at a time, and
 * prints one line per operation with its wall time. bench/growth computes
 * medians and spreads and reads slapd's CPU around each batch.
 *
 *   growth_ldap URI BIND_DN PASSWORD_FILE OPS_FILE [MAX_SECONDS [MIN_OPS [OP_TIMEOUT]]]
 *
 * OPS_FILE: one operation per line, fields separated by TAB:
 *   S <base> <base|one|sub> <filter> <attr,attr,…>   search
 *   A <dn> <attr>=<value> …                         add (attr may carry options)
 *   M <dn> <attr> <value>                           modify: add one value
 *   D <dn>                                          delete
 * Output per operation:  <S|A|M|D> <ms> <ldap rc> <entries> <values>
 *   entries/values: for a search, the entries returned and the values of
 *   the requested attributes they carried (e.g. the rbManager DNs).
 * With MAX_SECONDS, stops after that much time once MIN_OPS (default 2)
 * operations ran ("STOP <n>" is printed), so a slow grid point stays bounded;
 * with OP_TIMEOUT (seconds), an operation not answered by then is abandoned
 * and reported with rc -5 (LDAP_TIMEOUT).
 */
#define _POSIX_C_SOURCE 200809L
#include <lber.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define MAX_FIELDS 256

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
split_tabs(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	while (n < max) {
		char *t = strchr(p, '\t');
		f[n++] = p;
		if (t == NULL)
			break;
		*t = '\0';
		p = t + 1;
	}
	return n;
}

static int
do_search(LDAP *ld, char **f, int n, long *entries, long *values)
{
	char *attrs[64];
	int na = 0, scope, rc;
	LDAPMessage *res = NULL, *e;
	char *a;

	if (n < 5)
		return -1;
	scope = !strcmp(f[2], "base")  ? LDAP_SCOPE_BASE
	        : !strcmp(f[2], "one") ? LDAP_SCOPE_ONELEVEL
	                               : LDAP_SCOPE_SUBTREE;
	for (a = strtok(f[4], ","); a != NULL && na < 63; a = strtok(NULL, ","))
		attrs[na++] = a;
	attrs[na] = NULL;
	rc = ldap_search_ext_s(ld, f[1], scope, f[3], attrs, 0, NULL, NULL, NULL, 0, &res);
	*entries = 0;
	*values = 0;
	if (res == NULL) /* timed out (abandoned) or the connection failed */
		return rc;
	for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		BerElement *ber = NULL;
		char *an;
		(*entries)++;
		for (an = ldap_first_attribute(ld, e, &ber); an != NULL;
		     an = ldap_next_attribute(ld, e, ber)) {
			struct berval **vals = ldap_get_values_len(ld, e, an);
			*values += ldap_count_values_len(vals);
			ldap_value_free_len(vals);
			ldap_memfree(an);
		}
		ber_free(ber, 0);
	}
	ldap_msgfree(res);
	return rc;
}

static int
do_add(LDAP *ld, char **f, int n)
{
	LDAPMod mods[MAX_FIELDS], *mp[MAX_FIELDS + 1];
	char *vals[MAX_FIELDS][2];
	int nm = 0, i, j, rc;

	/* one LDAPMod per attribute description, holding all its values */
	for (i = 2; i < n; i++) {
		char *eq = strchr(f[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (j = 0; j < nm; j++)
			if (!strcmp(mods[j].mod_type, f[i]))
				break;
		if (j < nm) {
			/* another value of a description already seen: grow its value list */
			char **old = mods[j].mod_values, **nv;
			int k = 0;
			while (old[k] != NULL)
				k++;
			nv = malloc(sizeof(char *) * (size_t)(k + 2));
			memcpy(nv, old, sizeof(char *) * (size_t)k);
			nv[k] = eq + 1;
			nv[k + 1] = NULL;
			if (old != vals[j])
				free(old);
			mods[j].mod_values = nv;
			continue;
		}
		vals[nm][0] = eq + 1;
		vals[nm][1] = NULL;
		mods[nm].mod_op = LDAP_MOD_ADD;
		mods[nm].mod_type = f[i];
		mods[nm].mod_values = vals[nm];
		nm++;
	}
	for (i = 0; i < nm; i++)
		mp[i] = &mods[i];
	mp[nm] = NULL;
	rc = ldap_add_ext_s(ld, f[1], mp, NULL, NULL);
	for (i = 0; i < nm; i++)
		if (mods[i].mod_values != vals[i])
			free(mods[i].mod_values);
	return rc;
}

static int
do_modify_add(LDAP *ld, char **f, int n)
{
	LDAPMod m, *mp[2];
	char *vals[2];

	if (n < 4)
		return -1;
	vals[0] = f[3];
	vals[1] = NULL;
	m.mod_op = LDAP_MOD_ADD;
	m.mod_type = f[2];
	m.mod_values = vals;
	mp[0] = &m;
	mp[1] = NULL;
	return ldap_modify_ext_s(ld, f[1], mp, NULL, NULL);
}

int
main(int argc, char **argv)
{
	LDAP *ld = NULL;
	FILE *pf, *of;
	char pw[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct berval cred;
	int v3 = LDAP_VERSION3, rc, count = 0, min_ops;
	double max_ms, t_start;
	struct timeval op_timeout;

	if (argc < 5) {
		fprintf(stderr,
		        "usage: %s URI BIND_DN PASSWORD_FILE OPS_FILE [MAX_SECONDS [MIN_OPS]]\n",
		        argv[0]);
		return 2;
	}
	max_ms = argc > 5 ? atof(argv[5]) * 1e3 : 0;
	min_ops = argc > 6 ? atoi(argv[6]) : 2;
	op_timeout.tv_sec = argc > 7 ? atol(argv[7]) : 0;
	op_timeout.tv_usec = 0;
	pf = fopen(argv[3], "r");
	if (pf == NULL || fgets(pw, sizeof(pw), pf) == NULL) {
		perror(argv[3]);
		return 1;
	}
	fclose(pf);
	pw[strcspn(pw, "\r\n")] = '\0';
	if (ldap_initialize(&ld, argv[1]) != LDAP_SUCCESS)
		return 1;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	if (op_timeout.tv_sec > 0) {
		/* the timeout of synchronous operations (search, add, modify, delete) */
		ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op_timeout);
	}
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	rc = ldap_sasl_bind_s(ld, argv[2], LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		fprintf(stderr, "bind %s: %s\n", argv[2], ldap_err2string(rc));
		return 1;
	}
	of = fopen(argv[4], "r");
	if (of == NULL) {
		perror(argv[4]);
		return 1;
	}
	t_start = now_ms();
	while ((len = getline(&line, &cap, of)) > 0) {
		char *f[MAX_FIELDS];
		int n;
		long entries = 0, values = 0;
		double t0;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (max_ms > 0 && count >= min_ops && now_ms() - t_start > max_ms) {
			printf("STOP %d\n", count);
			break;
		}
		n = split_tabs(line, f, MAX_FIELDS);
		t0 = now_ms();
		switch (f[0][0]) {
		case 'S':
			rc = do_search(ld, f, n, &entries, &values);
			break;
		case 'A':
			rc = do_add(ld, f, n);
			break;
		case 'M':
			rc = do_modify_add(ld, f, n);
			break;
		case 'D':
			rc = ldap_delete_ext_s(ld, f[1], NULL, NULL);
			break;
		default:
			rc = -1;
			break;
		}
		printf("%c %.3f %d %ld %ld\n", f[0][0], now_ms() - t0, rc, entries, values);
		fflush(stdout);
		count++;
	}
	free(line);
	fclose(of);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return 0;
}
