/*
 * ldapbench.c — the raw side of `make bench`: the same LDAP operations the
 * bridge issues per SCIM request, sent straight to slapd, bound as the
 * service account.
 *
 * Model: N connections, one thread each, exactly one operation in flight per
 * connection, issued with libldap's asynchronous calls (ldap_search_ext,
 * ldap_add_ext, ldap_modify_ext, ldap_delete_ext) and collected with
 * ldap_result. A thread per connection keeps every request a straight line
 * of steps; on 2 cores the threads mostly sleep in ldap_result.
 *
 * One "op" is the whole sequence the bridge sends for one request (read off
 * slapd's stats log of the bridge, see bench/README.md):
 *   get     search person (entryUUID=…) (bridge attribute list) [+ search of
 *           its groups by entryUUID when rbGroupRef is set]
 *   filter  search (uid=…) with the bridge's attribute list (userName is
 *           unique: no sort or VLV) [+ groups search]
 *   list    sort(uid:caseIgnoreOrderingMatch entryUUID) + VLV page of 100
 *           [+ one groups search for the page]
 *   add     add inetOrgPerson+rbPerson with post-read, then the bridge's
 *           possible-duplicate search
 *   modify  search by id, groups search, modify replace title with
 *           post-read and the entryCSN assertion, then the search for the
 *           source's held removals of the person under ou=guard
 *           (users_guard_cancel; before 2026-12-01 the replay left the
 *           assertion and this search out)
 *   member  search group by id, search member by id, modify the group
 *           (replace rbMembersURL by itself: the new version) with Permissive
 *           Modify + post-read, modify the member: add or delete (alternating)
 *           rbGroupRef: <group id>, Permissive Modify + post-read entryCSN
 *           (membership on the member, docs/schema.md "Membership")
 *   delete  search by id, delete
 *   first   the suffix's contextCSN (base search) + the first person in the
 *           directory's order (one level, size limit 1) [+ groups search]:
 *           GET /Users?count=1 (no sortBy, no filter), an IdP's connection
 *           test, when the bridge's cached total is current (dir_page.c)
 * Every write carries the bridge's session-tracking control (dir_tracking),
 * and member looks the member up with the bridge's filters (both since
 * 2026-12-01).
 *
 * -G: the bridge keeps the groups in its table (group_table yes, the
 * default; src/dir/grouptab.c): get, filter, list and first send no groups
 * search (modify still does: a write reads the groups from the directory).
 *
 * -P (plain): instead, the minimal equivalent on a plain slapd (inetOrgPerson,
 * eq indexes, no overlays; see bench/run), bound as its rootdn:
 *   add     add inetOrgPerson (uid, cn, sn, givenName, mail), no controls
 *   get, filter   search (uid=…) under ou=people, all user attributes
 *   member  modify member add or delete (alternating) on the group DN -g
 *   delete  delete uid=<name>,ou=people by DN
 *
 * -K dn (with add or delete): after each add, increment attribute -k (default
 * rbGuardBase, an INTEGER) of entry dn by 1; after each delete, by -1 (RFC 4525
 * modify-increment): what a per-tenant people count written beside each write
 * would cost slapd (docs/schema.md, "First page without sortBy").
 *
 * -r rate: paced, open loop: operation i (counted over all connections) is
 * not sent before start + i / rate, so slapd gets the operations at the rate
 * another side reached (bench/run compares slapd's CPU per search at the
 * bridge's rate: eighth session, docs/schema.md).
 *
 * Bounded: stops after -t seconds or -n operations, whichever is first.
 * Prints one RESULT line (bench_stats.h). Exit 0 unless the harness broke.
 */
#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

/* The bridge's person term (src/dir/dir_int.h, DIR_PERSON_FILTER): not retained, the class
 * as an extensible match. */
#define BENCH_PERSON "(&(!(rbDisabledAt=*))(objectClass:=rbPerson))"

/* The bridge's attribute lists (src/dir/users.c, groups.c), copied so the
 * raw side asks slapd for exactly the same work. */
static char *bench_user_attrs[] = {
    "*", "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp", NULL,
};
static char *bench_user_group_attrs[] = {
    "entryUUID",   "cn",          "displayName",       "rbSource", "rbPermission", "rbScope",
    "rbSchoolRef", "rbRegionRef", "rbCanManageAdmins", "rbActive", NULL,
};
static char *bench_group_attrs[] = {
    "cn",
    "displayName",
    "rbExternalId",
    "rbSource",
    "rbPermission",
    "rbCanManageAdmins",
    "rbScope",
    "rbSchoolRef",
    "rbRegionRef",
    "entryUUID",
    "entryCSN",
    "createTimestamp",
    "modifyTimestamp",
    NULL,
};
static char *bench_uuid_attrs[] = {"entryUUID", NULL};
static char *bench_none_attrs[] = {"1.1", NULL};

enum bench_op { OP_GET, OP_FILTER, OP_LIST, OP_ADD, OP_MODIFY, OP_MEMBER, OP_DELETE, OP_FIRST };
static const char *const bench_op_names[] = {"get",    "filter", "list",  "add", "modify",
                                             "member", "delete", "first", NULL};

static struct {
	const char *uri, *bind_dn, *bind_pw, *tenant, *prefix, *group, *counter, *counter_attr;
	char people[512], groups[512];
	enum bench_op op;
	bool plain;
	bool group_table; /* -G: the bridge's group table answers its reads' groups */
	int conns;
	double secs;
	long max_ops;
	char **ids, **names, **members, **member_names;
	long n_ids, n_members;
	double start, deadline;
	double rate; /* -r: operations per second in all, paced; 0: as fast as answered */
	atomic_long next;
	atomic_long done;
} B;

struct worker {
	int index;
	LDAP *ld;
	struct stats st;
	pthread_t tid;
	bool in_group; /* member op: is our member in the group now? */
	long seq;
	long reconnects;
};

/* Wait for the whole result of msgid. NEW chain in *res; the LDAP result code or -1. */
static int
bench_wait(LDAP *ld, int msgid, LDAPMessage **res, LDAPControl ***rctrls)
{
	struct timeval tv = {30, 0};
	int rc, code = LDAP_OTHER;

	*res = NULL;
	rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, res);
	if (rc <= 0)
		return -1;
	/* The search result (or write result) is the last message of the chain. */
	for (LDAPMessage *m = ldap_first_message(ld, *res); m != NULL;
	     m = ldap_next_message(ld, m)) {
		int t = ldap_msgtype(m);
		if (t == LDAP_RES_SEARCH_RESULT || t == LDAP_RES_ADD || t == LDAP_RES_MODIFY ||
		    t == LDAP_RES_DELETE) {
			if (ldap_parse_result(ld, m, &code, NULL, NULL, NULL, rctrls, 0) !=
			    LDAP_SUCCESS)
				return -1;
		}
	}
	return code;
}

/* As the bridge's dir_search: ManageDsaIT (not critical) on every search, so
 * the dynlist overlay steps aside; none in plain mode (-P). */
static LDAPControl bench_manage_dsait = {(char *)LDAP_CONTROL_MANAGEDSAIT, {0, NULL}, 0};

static int
bench_search(LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
             LDAPControl **ctrls, int sizelimit, LDAPMessage **res)
{
	LDAPControl *all[8] = {&bench_manage_dsait};
	size_t n = 1;
	int msgid, rc;

	for (; ctrls != NULL && ctrls[n - 1] != NULL && n < 7; n++)
		all[n] = ctrls[n - 1];
	rc = ldap_search_ext(ld, base, scope, filter, attrs, 0, B.plain ? ctrls : all, NULL, NULL,
	                     sizelimit, &msgid);
	if (rc != LDAP_SUCCESS)
		return -1;
	return bench_wait(ld, msgid, res, NULL);
}

/* The post-read control the bridge puts on every add/modify. NEW control or NULL. */
static LDAPControl *
bench_postread(char **attrs)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	LDAPControl *c = NULL;
	struct berval val;

	if (ber != NULL && ber_printf(ber, "{v}", attrs) != -1 && ber_flatten2(ber, &val, 0) != -1)
		ldap_control_create(LDAP_CONTROL_POST_READ, 0, &val, 1, &c);
	ber_free(ber, 1);
	return c;
}

/*
 * The session-tracking control the bridge puts on every write (src/dir/dir.c,
 * dir_tracking): the client's address, the bridge's name, its format OID and
 * "req=<request id> tenant=<tenant> source=<source>". NEW control or NULL.
 */
static LDAPControl *
bench_tracking(LDAP *ld, long idx)
{
	char id[256], ip[] = "127.0.0.1", name[] = "rosterbridge",
	              format[] = "2.25.294763386475673295328657436818623676422.3.1";
	const char *t = strncmp(B.tenant, "o=", 2) == 0 ? B.tenant + 2 : B.tenant;
	LDAPControl *c = NULL;
	struct berval bv;
	int n;

	n = snprintf(id, sizeof(id), "req=%016lx tenant=%.*s source=okta", (unsigned long)idx,
	             (int)strcspn(t, ","), t);
	if (n < 0 || (size_t)n >= sizeof(id))
		return NULL;
	bv.bv_val = id;
	bv.bv_len = (ber_len_t)n;
	if (ldap_create_session_tracking_control(ld, ip, name, format, &bv, &c) != LDAP_SUCCESS)
		return NULL;
	return c;
}

/*
 * After a write of a person by a source that leaves the person active, the
 * bridge voids that source's held removals of the person (src/dir/users.c,
 * users_guard_cancel): one search under ou=guard, noSuchObject in a tenant
 * where the guard never held anything (as here). Returns the LDAP code.
 */
static int
bench_guard_cancel(LDAP *ld, LDAPMessage *person)
{
	static char *attrs[] = {"cn",  "rbSource",  "rbGuardAction",   "rbGuardPerson",
	                        "uid", "rbGuardAt", "createTimestamp", "entryCSN",
	                        NULL};
	char base[600], filter[256];
	struct berval **v;
	LDAPMessage *res = NULL;
	int rc;

	v = ldap_get_values_len(ld, ldap_first_entry(ld, person), "entryUUID");
	if (v == NULL || v[0] == NULL) {
		ldap_value_free_len(v);
		return -1;
	}
	snprintf(base, sizeof(base), "ou=guard,%s", B.tenant);
	snprintf(filter, sizeof(filter),
	         "(&(objectClass=rbGuardHeld)(rbSource=okta)(rbGuardPerson=%.*s))",
	         (int)v[0]->bv_len, v[0]->bv_val);
	ldap_value_free_len(v);
	rc = bench_search(ld, base, LDAP_SCOPE_ONELEVEL, filter, attrs, NULL, 0, &res);
	ldap_msgfree(res);
	return rc == LDAP_NO_SUCH_OBJECT ? LDAP_SUCCESS : rc;
}

/*
 * The assertion the bridge puts on a person's write (dir_assertion_filter):
 * the entry still has the entryCSN it was read with. NEW control or NULL.
 */
static LDAPControl *
bench_assertion(LDAP *ld, LDAPMessage *person, const char *dn)
{
	char filter[1400];
	struct berval **v = ldap_get_values_len(ld, ldap_first_entry(ld, person), "entryCSN");
	LDAPControl *c = NULL;

	/* The bench's DNs and CSNs hold no filter metacharacters: no escaping needed. */
	if (v != NULL && v[0] != NULL &&
	    snprintf(filter, sizeof(filter), "(|(!(entryDN=%s))(|(entryCSN=%.*s)))", dn,
	             (int)v[0]->bv_len, v[0]->bv_val) < (int)sizeof(filter))
		ldap_create_assertion_control(ld, filter, 1, &c);
	ldap_value_free_len(v);
	return c;
}

static int
bench_write(LDAP *ld, int kind, const char *dn, LDAPMod **mods, LDAPControl **ctrls)
{
	LDAPMessage *res = NULL;
	LDAPControl **rctrls = NULL;
	int msgid, rc;

	if (kind == LDAP_RES_ADD)
		rc = ldap_add_ext(ld, dn, mods, ctrls, NULL, &msgid);
	else if (kind == LDAP_RES_MODIFY)
		rc = ldap_modify_ext(ld, dn, mods, ctrls, NULL, &msgid);
	else
		rc = ldap_delete_ext(ld, dn, ctrls, NULL, &msgid);
	if (rc != LDAP_SUCCESS)
		return -1;
	rc = bench_wait(ld, msgid, &res, &rctrls);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	return rc;
}

/*
 * The bridge's second search: the person's groups by entryUUID, one search
 * for all rbGroupRef values of every entry in `res`; for a read (`write`
 * false) none with -G (the bridge's group table). Returns the LDAP code
 * (LDAP_SUCCESS when there is nothing to resolve).
 */
static int
bench_groups_of(LDAP *ld, LDAPMessage *res, bool write)
{
	char filter[8192];
	size_t len = 0;
	int n = 0, rc;
	LDAPMessage *gres = NULL;

	if (B.group_table && !write)
		return LDAP_SUCCESS; /* the bridge reads them from its table */
	len = (size_t)snprintf(filter, sizeof(filter), "(|");
	for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		struct berval **v = ldap_get_values_len(ld, e, "rbGroupRef");
		for (int i = 0; v != NULL && v[i] != NULL; i++) {
			/* UUIDs hold no filter metacharacters: no escaping needed. */
			if (len + v[i]->bv_len + 16 >= sizeof(filter))
				break;
			if (strstr(filter, v[i]->bv_val) != NULL)
				continue; /* the bridge asks for each group once */
			len += (size_t)snprintf(filter + len, sizeof(filter) - len,
			                        "(entryUUID=%s)", v[i]->bv_val);
			n++;
		}
		ldap_value_free_len(v);
	}
	if (n == 0)
		return LDAP_SUCCESS;
	snprintf(filter + len, sizeof(filter) - len, ")");
	rc = bench_search(ld, B.groups, LDAP_SCOPE_ONELEVEL, filter, bench_user_group_attrs, NULL,
	                  0, &gres);
	ldap_msgfree(gres);
	return rc;
}

/* Search a person by entryUUID (bridge's dir_find_by_id). NEW result in *res. */
static int
bench_find_user(LDAP *ld, const char *uuid, LDAPMessage **res)
{
	char filter[256];

	/* One entry by a unique attribute: the bridge tests the class and the retention
	 * itself (dir_find_person_by_id), the filter names the id alone. */
	snprintf(filter, sizeof(filter), "(entryUUID=%s)", uuid);
	return bench_search(ld, B.people, LDAP_SCOPE_ONELEVEL, filter, bench_user_attrs, NULL, 2,
	                    res);
}

/* A sort + VLV page of `count` entries (the bridge's dir_page_vlv). */
static int
bench_page(LDAP *ld, const char *filter, const char *sortkeys, int count, LDAPMessage **res)
{
	LDAPSortKey **keys = NULL;
	LDAPControl *sort = NULL, *vlv = NULL, *ctrls[3] = {NULL, NULL, NULL};
	LDAPVLVInfo info;
	int rc = -1;

	memset(&info, 0, sizeof(info));
	info.ldvlv_version = 1;
	info.ldvlv_after_count = count - 1;
	info.ldvlv_offset = 1;
	if (ldap_create_sort_keylist(&keys, (char *)sortkeys) == LDAP_SUCCESS &&
	    ldap_create_sort_control(ld, keys, 1, &sort) == LDAP_SUCCESS &&
	    ldap_create_vlv_control(ld, &info, &vlv) == LDAP_SUCCESS) {
		ctrls[0] = sort;
		ctrls[1] = vlv;
		rc = bench_search(ld, B.people, LDAP_SCOPE_ONELEVEL, filter, bench_user_attrs,
		                  ctrls, 0, res);
	}
	ldap_free_sort_keylist(keys);
	if (sort != NULL)
		ldap_control_free(sort);
	if (vlv != NULL)
		ldap_control_free(vlv);
	return rc;
}

static char *
bench_first_dn(LDAP *ld, LDAPMessage *res)
{
	LDAPMessage *e = res ? ldap_first_entry(ld, res) : NULL;

	return e ? ldap_get_dn(ld, e) : NULL;
}

static LDAP *bench_connect(void);

/* Drop the connection and open a new bound one. 0 or -1. */
static int
bench_reconnect(struct worker *w)
{
	ldap_unbind_ext_s(w->ld, NULL, NULL);
	w->ld = bench_connect();
	w->reconnects++;
	return w->ld ? 0 : -1;
}

/* One plain op (-P): the minimal LDAP equivalent on a plain slapd. 0 or -1. */
static int
bench_plain_one(struct worker *w, long idx)
{
	LDAPMessage *res = NULL;
	char filter[600], dn[1024], name[256], given[64], family[64];
	int rc = -1;

	switch (B.op) {
	case OP_GET:
	case OP_FILTER:
		snprintf(filter, sizeof(filter), "(uid=%s)", B.names[idx % B.n_ids]);
		rc =
		    bench_search(w->ld, B.people, LDAP_SCOPE_ONELEVEL, filter, NULL, NULL, 0, &res);
		break;
	case OP_ADD: {
		char *oc[] = {"inetOrgPerson", NULL}, *uidv[] = {name, NULL},
		     *cnv[] = {given, NULL};
		char *snv[] = {family, NULL}, *gv[] = {given, NULL}, *mv[] = {name, NULL};
		LDAPMod m[6] = {
		    {LDAP_MOD_ADD, "objectClass", {oc}}, {LDAP_MOD_ADD, "uid", {uidv}},
		    {LDAP_MOD_ADD, "cn", {cnv}},         {LDAP_MOD_ADD, "sn", {snv}},
		    {LDAP_MOD_ADD, "givenName", {gv}},   {LDAP_MOD_ADD, "mail", {mv}},
		};
		LDAPMod *mods[] = {&m[0], &m[1], &m[2], &m[3], &m[4], &m[5], NULL};

		snprintf(name, sizeof(name), "%s%d-%ld@bench.example", B.prefix, w->index,
		         w->seq++);
		snprintf(given, sizeof(given), "G%s%d-%ld", B.prefix, w->index, w->seq);
		snprintf(family, sizeof(family), "F%s%d-%ld", B.prefix, w->index, w->seq);
		snprintf(dn, sizeof(dn), "uid=%s,%s", name, B.people);
		rc = bench_write(w->ld, LDAP_RES_ADD, dn, mods, NULL);
		break;
	}
	case OP_MEMBER: {
		char *vals[] = {dn, NULL};
		LDAPMod m = {w->in_group ? LDAP_MOD_DELETE : LDAP_MOD_ADD, "member", {vals}};
		LDAPMod *mods[] = {&m, NULL};

		snprintf(dn, sizeof(dn), "uid=%s,%s", B.member_names[w->index], B.people);
		rc = bench_write(w->ld, LDAP_RES_MODIFY, B.group, mods, NULL);
		if (rc == LDAP_SUCCESS)
			w->in_group = !w->in_group;
		break;
	}
	case OP_DELETE:
		snprintf(dn, sizeof(dn), "uid=%s,%s", B.names[idx], B.people);
		rc = bench_write(w->ld, LDAP_RES_DELETE, dn, NULL, NULL);
		break;
	default:
		fprintf(stderr, "ldapbench: -P has no %s\n", bench_op_names[B.op]);
		return -1;
	}
	ldap_msgfree(res);
	if (rc != LDAP_SUCCESS && w->st.errors == 0)
		fprintf(stderr, "ldapbench: plain %s: first error: %d (%s)\n", bench_op_names[B.op],
		        rc, rc > 0 ? ldap_err2string(rc) : "client");
	return rc == LDAP_SUCCESS ? 0 : -1;
}

/* One "op" (the bridge's sequence for one request). Returns 0, or -1 on any failure. */
/* -K: the counter's increment by `by` ("1" or "-1"), no controls. LDAP result code. */
static int
bench_count(LDAP *ld, const char *by)
{
	char *vals[] = {(char *)by, NULL};
	LDAPMod m = {LDAP_MOD_INCREMENT, (char *)B.counter_attr, {vals}}, *mods[] = {&m, NULL};

	return bench_write(ld, LDAP_RES_MODIFY, B.counter, mods, NULL);
}

static int
bench_one(struct worker *w, long idx)
{
	LDAP *ld = w->ld;
	LDAPMessage *res = NULL;
	char filter[1024], dn[1024], *edn = NULL;
	int rc = -1;

	if (B.plain)
		return bench_plain_one(w, idx);
	switch (B.op) {
	case OP_GET:
		rc = bench_find_user(ld, B.ids[idx % B.n_ids], &res);
		if (rc == LDAP_SUCCESS)
			rc = bench_groups_of(ld, res, false);
		break;
	case OP_FILTER:
		snprintf(filter, sizeof(filter), "(uid=%s)", B.names[idx % B.n_ids]);
		/* userName is unique: the bridge sends a plain search, no sort or VLV, and
		 * tests the class and the retention itself (dir_page.c). */
		rc = bench_search(ld, B.people, LDAP_SCOPE_ONELEVEL, filter, bench_user_attrs, NULL,
		                  0, &res);
		if (rc == LDAP_SUCCESS)
			rc = bench_groups_of(ld, res, false);
		break;
	case OP_LIST:
		rc = bench_page(ld, BENCH_PERSON, "uid:caseIgnoreOrderingMatch entryUUID", 100,
		                &res);
		if (rc == LDAP_BUSY) {
			/* sssvlv keeps a sort state per VLV search (olcSssVlvMaxPerConn 16) and
			 * answers busy when full. The bridge's pool then reconnects and retries: so
			 * do we. */
			ldap_msgfree(res);
			res = NULL;
			rc = bench_reconnect(w) < 0
			         ? -1
			         : bench_page(w->ld, BENCH_PERSON,
			                      "uid:caseIgnoreOrderingMatch entryUUID", 100, &res);
			ld = w->ld;
		}
		if (rc == LDAP_SUCCESS)
			rc = bench_groups_of(ld, res, false);
		break;
	case OP_FIRST: {
		/* The bridge's cache hit (dir_page.c): the change marker (the
		 * suffix's contextCSN), the first person in the directory's order
		 * (size limit 1: slapd stops there), her groups. */
		static char *csn[] = {"contextCSN", NULL};
		const char *suffix = strchr(B.tenant, ',');
		rc = bench_search(ld, suffix ? suffix + 1 : B.tenant, LDAP_SCOPE_BASE,
		                  "(objectClass=*)", csn, NULL, 1, &res);
		ldap_msgfree(res);
		res = NULL;
		if (rc == LDAP_SUCCESS)
			rc = bench_search(ld, B.people, LDAP_SCOPE_ONELEVEL, BENCH_PERSON,
			                  bench_user_attrs, NULL, 1, &res);
		if (rc == LDAP_SIZELIMIT_EXCEEDED)
			rc = LDAP_SUCCESS;
		if (rc == LDAP_SUCCESS)
			rc = bench_groups_of(ld, res, false);
		break;
	}
	case OP_ADD: {
		char name[256], given[64], mailv[256];
		char *oc[] = {"inetOrgPerson", "rbPerson", NULL}, *uidv[] = {name, NULL};
		char family[64], *cnv[] = {given, NULL}, *snv[] = {family, NULL},
		                 *gv[] = {given, NULL};
		char *mv[] = {mailv, NULL}, *av[] = {"TRUE", NULL}, *sv[] = {"okta", NULL};
		LDAPMod m[8] = {
		    {LDAP_MOD_ADD, "objectClass", {oc}},
		    {LDAP_MOD_ADD, "uid", {uidv}},
		    {LDAP_MOD_ADD, "cn", {cnv}},
		    {LDAP_MOD_ADD, "sn", {snv}},
		    {LDAP_MOD_ADD, "givenName", {gv}},
		    {LDAP_MOD_ADD, "mail;x-type-work;x-primary", {mv}},
		    {LDAP_MOD_ADD, "rbActive;x-src-okta", {av}},
		    {LDAP_MOD_ADD, "rbSource", {sv}},
		};
		LDAPMod *mods[] = {&m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &m[6], &m[7], NULL};
		LDAPControl *pr = bench_postread(bench_user_attrs), *tr = bench_tracking(ld, idx),
		            *ctrls[] = {pr, tr, NULL};

		snprintf(name, sizeof(name), "%s%d-%ld@bench.example", B.prefix, w->index,
		         w->seq++);
		/* Unique per run, as httpbench's: no namesakes, so no duplicate records. The
		 * family name too: with one shared surname the duplicate search read an index
		 * key holding every person the run had made (docs/schema.md, "Cost per
		 * request", fourth session), so a create cost more with every create. */
		snprintf(given, sizeof(given), "G%s%d-%ld", B.prefix, w->index, w->seq);
		snprintf(family, sizeof(family), "F%s%d-%ld", B.prefix, w->index, w->seq);
		snprintf(mailv, sizeof(mailv), "%s", name);
		snprintf(dn, sizeof(dn), "uid=%s,%s", name, B.people);
		rc = pr && tr ? bench_write(ld, LDAP_RES_ADD, dn, mods, ctrls) : -1;
		if (pr != NULL)
			ldap_control_free(pr);
		if (tr != NULL)
			ldap_control_free(tr);
		if (rc == LDAP_SUCCESS && B.counter != NULL)
			rc = bench_count(ld, "1");
		if (rc != LDAP_SUCCESS)
			break;
		/* Possible-duplicate check; the post-read entryUUID only feeds a (!…) term, so a
		 * fixed UUID costs slapd the same. */
		snprintf(filter, sizeof(filter),
		         "(&(|(mail=%s)(&(givenName=%s)(sn=%s)(!(rbSynthetic=sn))))"
		         "(!(entryUUID=00000000-0000-0000-0000-000000000000))" BENCH_PERSON ")",
		         mailv, given, family);
		rc = bench_search(ld, B.people, LDAP_SCOPE_ONELEVEL, filter, bench_none_attrs, NULL,
		                  50, &res);
		break;
	}
	case OP_MODIFY: {
		char title[64], *tv[] = {title, NULL};
		LDAPMod m = {LDAP_MOD_REPLACE, "title", {tv}}, *mods[] = {&m, NULL};
		LDAPControl *pr, *as, *tr, *ctrls[4] = {NULL, NULL, NULL, NULL};

		rc = bench_find_user(ld, B.ids[idx % B.n_ids], &res);
		if (rc == LDAP_SUCCESS)
			rc = bench_groups_of(ld, res, true);
		edn = rc == LDAP_SUCCESS ? bench_first_dn(ld, res) : NULL;
		if (edn == NULL) {
			rc = -1;
			break;
		}
		/* A title never written before: the bridge skips unchanged values. */
		snprintf(title, sizeof(title), "Title raw %.0f-%ld", B.deadline, idx);
		pr = bench_postread(bench_user_attrs);
		as = bench_assertion(ld, res, edn);
		tr = bench_tracking(ld, idx);
		ctrls[0] = pr;
		ctrls[1] = as;
		ctrls[2] = tr;
		rc = pr && as && tr ? bench_write(ld, LDAP_RES_MODIFY, edn, mods, ctrls) : -1;
		if (rc == LDAP_SUCCESS)
			rc = bench_guard_cancel(ld, res);
		if (pr != NULL)
			ldap_control_free(pr);
		if (as != NULL)
			ldap_control_free(as);
		if (tr != NULL)
			ldap_control_free(tr);
		break;
	}
	case OP_MEMBER: {
		static char *csn[] = {"entryCSN", NULL};
		LDAPMessage *mres = NULL;
		char *mdn, url[600], *uvals[2] = {url, NULL}, *rvals[2] = {(char *)B.group, NULL};
		LDAPMod um = {LDAP_MOD_REPLACE, "rbMembersURL", {uvals}};
		LDAPMod rm = {w->in_group ? LDAP_MOD_DELETE : LDAP_MOD_ADD, "rbGroupRef", {rvals}};
		LDAPMod *umods[] = {&um, NULL}, *rmods[] = {&rm, NULL};
		LDAPControl *pr = NULL, *pr2 = NULL, *perm = NULL, *tr = NULL,
		            *ctrls[4] = {NULL, NULL, NULL, NULL};

		snprintf(filter, sizeof(filter), "(&(entryUUID=%s)(objectClass:=rbGroup))",
		         B.group);
		rc = bench_search(ld, B.groups, LDAP_SCOPE_ONELEVEL, filter, bench_group_attrs,
		                  NULL, 2, &res);
		edn = rc == LDAP_SUCCESS ? bench_first_dn(ld, res) : NULL;
		if (edn == NULL) {
			rc = -1;
			break;
		}
		/* The bridge's member lookup (src/dir/groups.c): an added member must not
		 * be retained; a removed one is looked for among the group's members. */
		if (w->in_group)
			snprintf(filter, sizeof(filter), "(&(rbGroupRef=%s)(|(entryUUID=%s)))",
			         B.group, B.members[w->index]);
		else
			snprintf(filter, sizeof(filter), "(&(!(rbDisabledAt=*))(|(entryUUID=%s)))",
			         B.members[w->index]);
		rc = bench_search(ld, B.tenant, LDAP_SCOPE_SUBTREE, filter, bench_uuid_attrs, NULL,
		                  0, &mres);
		mdn = rc == LDAP_SUCCESS ? bench_first_dn(ld, mres) : NULL;
		ldap_msgfree(mres);
		if (mdn == NULL) {
			rc = -1;
			break;
		}
		/* The tenant DN of the bench has no character a URL must escape. */
		snprintf(url, sizeof(url), "ldap:///%s??sub?(rbGroupRef=%s)", B.tenant, B.group);
		pr = bench_postread(bench_group_attrs);
		pr2 = bench_postread(csn);
		ldap_control_create("1.2.840.113556.1.4.1413", 0, NULL, 1, &perm);
		tr = bench_tracking(ld, idx);
		ctrls[0] = pr;
		ctrls[1] = perm;
		ctrls[2] = tr;
		rc = pr && pr2 && perm && tr ? bench_write(ld, LDAP_RES_MODIFY, edn, umods, ctrls)
		                             : -1;
		ctrls[0] = pr2;
		if (rc == LDAP_SUCCESS)
			rc = bench_write(ld, LDAP_RES_MODIFY, mdn, rmods, ctrls);
		if (rc == LDAP_SUCCESS)
			w->in_group = !w->in_group;
		if (pr != NULL)
			ldap_control_free(pr);
		if (pr2 != NULL)
			ldap_control_free(pr2);
		if (perm != NULL)
			ldap_control_free(perm);
		if (tr != NULL)
			ldap_control_free(tr);
		ldap_memfree(mdn);
		break;
	}
	case OP_DELETE: {
		LDAPControl *tr = bench_tracking(ld, idx), *ctrls[] = {tr, NULL};

		rc = bench_find_user(ld, B.ids[idx], &res);
		edn = rc == LDAP_SUCCESS ? bench_first_dn(ld, res) : NULL;
		rc = edn && tr ? bench_write(ld, LDAP_RES_DELETE, edn, NULL, ctrls) : -1;
		if (tr != NULL)
			ldap_control_free(tr);
		if (rc == LDAP_SUCCESS && B.counter != NULL)
			rc = bench_count(ld, "-1");
		break;
	}
	}
	ldap_memfree(edn);
	ldap_msgfree(res);
	if (rc != LDAP_SUCCESS && w->st.errors == 0)
		fprintf(stderr, "ldapbench: %s: first error: %d (%s)\n", bench_op_names[B.op], rc,
		        rc > 0 ? ldap_err2string(rc) : "client");
	return rc == LDAP_SUCCESS ? 0 : -1;
}

/* -r: sleep until `due` (stats_now's clock); the operations keep their schedule. */
static void
bench_pace(double due)
{
	double wait = due - stats_now();
	struct timespec ts;

	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void *
bench_worker(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		long idx;
		double t0;

		if (B.op == OP_MEMBER) {
			/* Stop only with our member out of the group: the group keeps its size. */
			if (!w->in_group && (stats_now() >= B.deadline ||
			                     (B.max_ops > 0 && atomic_load(&B.done) >= B.max_ops)))
				break;
			if (w->st.errors > 100)
				break;
			idx = 0;
		} else {
			if (stats_now() >= B.deadline)
				break;
			idx = atomic_fetch_add(&B.next, 1);
			if (B.max_ops > 0 && idx >= B.max_ops)
				break;
			if (B.op == OP_DELETE && idx >= B.n_ids)
				break;
			if (B.rate > 0)
				bench_pace(B.start + (double)idx / B.rate);
		}
		if (w->ld == NULL)
			break;
		t0 = stats_now();
		if (bench_one(w, idx) == 0)
			stats_add(&w->st, (stats_now() - t0) * 1e6);
		else
			w->st.errors++;
		atomic_fetch_add(&B.done, 1);
	}
	return NULL;
}

static LDAP *
bench_connect(void)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3;
	struct berval cred;

	if (ldap_initialize(&ld, B.uri) != LDAP_SUCCESS)
		return NULL;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	cred.bv_val = (char *)B.bind_pw;
	cred.bv_len = strlen(B.bind_pw);
	if (ldap_sasl_bind_s(ld, B.bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) !=
	    LDAP_SUCCESS) {
		fprintf(stderr, "ldapbench: bind as %s failed\n", B.bind_dn);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

static void
bench_usage(void)
{
	fprintf(stderr,
	        "usage: ldapbench -H uri -D binddn -y pwfile -T tenantdn -o "
	        "get|filter|list|add|modify|member|delete|first\n"
	        "                 [-c conns] [-t secs] [-n max] [-i idsfile] [-g groupuuid]\n"
	        "                 [-m membersfile] [-p nameprefix] [-P (plain: -g is a DN)]\n"
	        "                 [-G (the bridge's group table: reads send no groups search)]\n"
	        "                 [-K counterdn [-k attr]] (add, delete: increment it by 1, -1)\n"
	        "                 [-r ops/s (paced: at most this many operations a second)]\n");
	exit(2);
}

static char *
bench_read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[256];

	if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

static long
bench_parse_long(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		bench_usage();
	return v;
}

int
main(int argc, char **argv)
{
	const char *ids = NULL, *members = NULL, *op = NULL;
	struct worker *ws;
	struct stats all = {0};
	double t0, secs;
	int c, i, started = 0;
	long reconnects = 0;

	B.conns = 1;
	B.secs = 2;
	B.prefix = "raw-";
	while ((c = getopt(argc, argv, "H:D:y:T:o:c:t:n:i:g:m:p:PGK:k:r:")) != -1) {
		switch (c) {
		case 'H':
			B.uri = optarg;
			break;
		case 'D':
			B.bind_dn = optarg;
			break;
		case 'y':
			B.bind_pw = bench_read_secret(optarg);
			break;
		case 'T':
			B.tenant = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		case 'c':
			B.conns = (int)bench_parse_long(optarg);
			break;
		case 't':
			B.secs = strtod(optarg, NULL);
			break;
		case 'n':
			B.max_ops = bench_parse_long(optarg);
			break;
		case 'i':
			ids = optarg;
			break;
		case 'g':
			B.group = optarg;
			break;
		case 'm':
			members = optarg;
			break;
		case 'p':
			B.prefix = optarg;
			break;
		case 'K':
			B.counter = optarg;
			break;
		case 'k':
			B.counter_attr = optarg;
			break;
		case 'r':
			B.rate = (double)bench_parse_long(optarg);
			break;
		case 'G':
			B.group_table = true;
			break;
		case 'P':
			B.plain = true;
			break;
		default:
			bench_usage();
		}
	}
	if (!B.uri || !B.bind_dn || !B.bind_pw || !B.tenant || !op || B.conns < 1 || B.conns > 1024)
		bench_usage();
	for (i = 0; bench_op_names[i] != NULL && strcmp(bench_op_names[i], op) != 0; i++)
		;
	if (bench_op_names[i] == NULL)
		bench_usage();
	B.op = (enum bench_op)i;
	if (B.counter_attr == NULL)
		B.counter_attr = "rbGuardBase";
	snprintf(B.people, sizeof(B.people), "ou=people,%s", B.tenant);
	snprintf(B.groups, sizeof(B.groups), "ou=groups,%s", B.tenant);
	if (ids != NULL)
		B.n_ids = stats_read_ids(ids, &B.ids, &B.names);
	if (members != NULL)
		B.n_members = stats_read_ids(members, &B.members, &B.member_names);
	if ((B.op == OP_GET || B.op == OP_FILTER || B.op == OP_MODIFY || B.op == OP_DELETE) &&
	    B.n_ids <= 0) {
		fprintf(stderr, "ldapbench: %s needs -i with ids\n", op);
		return 1;
	}
	if (B.op == OP_MEMBER && (B.group == NULL || B.n_members < B.conns)) {
		fprintf(stderr, "ldapbench: member needs -g and -m with ≥ %d members\n", B.conns);
		return 1;
	}
	ws = calloc((size_t)B.conns, sizeof(*ws));
	if (ws == NULL)
		return 1;
	for (i = 0; i < B.conns; i++) {
		ws[i].index = i;
		ws[i].ld = bench_connect();
		if (ws[i].ld == NULL)
			return 1;
	}
	t0 = stats_now();
	B.start = t0;
	B.deadline = t0 + B.secs;
	for (i = 0; i < B.conns; i++) {
		if (pthread_create(&ws[i].tid, NULL, bench_worker, &ws[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	secs = stats_now() - t0;
	for (i = 0; i < B.conns; i++) {
		stats_merge(&all, &ws[i].st);
		free(ws[i].st.us);
		reconnects += ws[i].reconnects;
		if (ws[i].ld != NULL)
			ldap_unbind_ext_s(ws[i].ld, NULL, NULL);
	}
	stats_print(&all, op, B.conns, secs);
	if (reconnects > 0)
		fprintf(stderr, "ldapbench: %s: %ld reconnects (sssvlv busy)\n", op, reconnects);
	free(all.us);
	free(ws);
	return started == B.conns ? 0 : 1;
}
