/*
 * audit.c — who changed this administrator's access: the changes to one
 * person of the caller's tenant, from the audit trail (slapd's accesslog
 * database cn=accesslog, README "Audit trail"), for `rosterctl audit`.
 *
 * Each successful write the bridge sends carries a session-tracking control
 * (dir.c, dir_tracking: "req=ID tenant=T source=S" and the client's
 * address); accesslog keeps it in reqControls as
 *   {N}{controlType 1.3.6.1.4.1.21008.108.63.1 criticality FALSE controlValue "HEX"}
 * where HEX is the control's BER value: SEQUENCE { sessionSourceIp,
 * sessionSourceName, formatOID, sessionTrackingIdentifier } (OCTET STRINGs
 * and an LDAPString). Writes made by others (an operator's ldapmodify, the
 * overlays) have no such control: their source is "-".
 *
 * Only the person's own DN in this tenant is searched (reqDN is an exact
 * DN), so a tenant never reads another's changes. A directory without the
 * audit trail answers 404 saying so.
 */
#include "dir/dir_int.h"

#include <ctype.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "lib/strbuf.h"

#define AUDIT_BASE "cn=accesslog"
#define AUDIT_TRACKING_OID "1.3.6.1.4.1.21008.108.63.1"

/*
 * "20261130051002.123456Z" → "2026-11-30T05:10:02.123456Z" into out (the
 * fraction kept: changes within one second stay in order when sorted).
 */
static void
audit_time(const char *in, char *out, size_t outlen)
{
	if (in == NULL || strlen(in) < 14) {
		snprintf(out, outlen, "%s", in ? in : "");
		return;
	}
	snprintf(out, outlen, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%.*sZ", in, in + 4, in + 6, in + 8,
	         in + 10, in + 12, in[14] == '.' ? (int)strspn(in + 15, "0123456789") + 1 : 0,
	         in + 14);
}

/*
 * From one reqControls value, the session-tracking identifier and client
 * address the bridge sent, into id/ip ("" when the value is not ours).
 */
static void
audit_tracking(const char *ctl, char *id, size_t idlen, char *ip, size_t iplen)
{
	const char *p = strstr(ctl, AUDIT_TRACKING_OID), *hex;
	unsigned char bytes[1024];
	struct berval bv, sip = {0, NULL}, sname = {0, NULL}, soid = {0, NULL}, sid = {0, NULL};
	BerElement *ber;
	size_t n = 0;

	id[0] = ip[0] = '\0';
	if (p == NULL || (hex = strstr(p, "controlValue \"")) == NULL)
		return;
	for (hex += strlen("controlValue \""); isxdigit((unsigned char)hex[0]) &&
	                                       isxdigit((unsigned char)hex[1]) && n < sizeof(bytes);
	     hex += 2) {
		char two[3] = {hex[0], hex[1], '\0'};
		bytes[n++] = (unsigned char)strtoul(two, NULL, 16);
	}
	bv.bv_val = (char *)bytes;
	bv.bv_len = (ber_len_t)n;
	ber = ber_init(&bv);
	if (ber == NULL)
		return;
	if (ber_scanf(ber, "{mmmm}", &sip, &sname, &soid, &sid) != LBER_ERROR &&
	    sname.bv_len == strlen("rosterbridge") &&
	    !memcmp(sname.bv_val, "rosterbridge", sname.bv_len)) {
		snprintf(id, idlen, "%.*s", (int)sid.bv_len, sid.bv_val);
		snprintf(ip, iplen, "%.*s", (int)sip.bv_len, sip.bv_val);
	}
	ber_free(ber, 1);
}

/* "key=value" out of a tracking identifier ("req=… tenant=… source=…"), into out. */
static void
audit_field(const char *id, const char *key, char *out, size_t outlen)
{
	const char *p = id;
	size_t k = strlen(key);

	snprintf(out, outlen, "-");
	while ((p = strstr(p, key)) != NULL) {
		if ((p == id || p[-1] == ' ') && p[k] == '=') {
			snprintf(out, outlen, "%.*s", (int)strcspn(p + k + 1, " "), p + k + 1);
			return;
		}
		p += k;
	}
}

/* The attribute names a change wrote (reqMod "attr:+ value"), bookkeeping left out. */
static json_t *
audit_attrs(const json_t *mods)
{
	static const char *const skip[] = {
	    "entryCSN",        "modifiersName", "modifyTimestamp",       "creatorsName",
	    "createTimestamp", "entryUUID",     "structuralObjectClass", NULL};
	json_t *seen = json_object(), *out = json_array(), *v;
	const char *k;
	size_t i, j;

	json_array_foreach(mods, i, v)
	{
		const char *m = json_string_value(v);
		char name[256];
		size_t n = m ? strcspn(m, ":") : 0;
		bool bookkeeping = false;
		if (n == 0 || n >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)n, m);
		for (j = 0; skip[j] != NULL; j++)
			if (!strcasecmp(skip[j], name))
				bookkeeping = true;
		if (!bookkeeping)
			json_object_set_new(seen, name, json_true());
	}
	json_object_foreach(seen, k, v) json_array_append_new(out, json_string(k));
	json_decref(seen);
	return out;
}

json_t *
dir_audit_person(const struct dir_ctx *ctx, const char *user_name, struct rb_error *err)
{
	static char *attrs[] = {"reqStart", "reqType", "reqDN", "reqMod", "reqControls", NULL};
	static char *none[] = {"1.1", NULL};
	struct dir_op op;
	struct strbuf f = {0};
	LDAPMessage *res = NULL, *e;
	char *rdn = NULL, *people = NULL, *dn = NULL, *esc = NULL;
	json_t *out = NULL, *list = NULL;

	if (dir_op_begin(&op, ctx, err) < 0)
		return NULL;
	if (dir_search(&op, AUDIT_BASE, LDAP_SCOPE_BASE, "(objectClass=*)", none, NULL, 1, &res,
	               err) < 0)
		goto done;
	if (res == NULL || ldap_first_entry(op.conn->ld, res) == NULL) {
		error_set(err, 404, NULL,
		          "the directory keeps no audit trail (cn=accesslog): slapd's accesslog "
		          "overlay is not set up (README, \"Audit trail\")");
		goto done;
	}
	ldap_msgfree(res);
	res = NULL;
	rdn = dir_rdn("uid", user_name, "userName", err);
	if (rdn == NULL)
		goto done;
	people = dir_ou_dn(&op, "people");
	dn = people ? escape_dn_join(rdn, people) : NULL;
	esc = dn ? escape_filter_value(dn, strlen(dn)) : NULL;
	strbuf_add(&f, "(&(objectClass=auditWriteObject)(reqResult=0)(reqDN=");
	strbuf_add(&f, esc ? esc : "");
	strbuf_add(&f, "))");
	if (esc == NULL || f.failed) {
		error_set(err, 500, NULL, "out of memory");
		goto done;
	}
	if (dir_search(&op, AUDIT_BASE, LDAP_SCOPE_ONELEVEL, f.s, attrs, NULL, 0, &res, err) < 0)
		goto done;
	list = json_array();
	for (e = res ? ldap_first_entry(op.conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op.conn->ld, e)) {
		json_t *m = entry_to_map(op.conn->ld, e), *c;
		char when[40], id[300] = "", ip[80] = "", req[80], tenant[80], source[80];
		size_t i;
		audit_time(entry_map_first(m, "reqstart"), when, sizeof(when));
		json_array_foreach(json_object_get(m, "reqcontrols"), i, c)
		{
			if (id[0] == '\0')
				audit_tracking(json_string_value(c), id, sizeof(id), ip,
				               sizeof(ip));
		}
		audit_field(id, "req", req, sizeof(req));
		audit_field(id, "tenant", tenant, sizeof(tenant));
		audit_field(id, "source", source, sizeof(source));
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "time", when, "type",
		              entry_map_first(m, "reqtype") ? entry_map_first(m, "reqtype") : "",
		              "source", source, "request", req, "tenant", tenant, "client",
		              ip[0] ? ip : "-", "attributes",
		              audit_attrs(json_object_get(m, "reqmod"))));
		json_decref(m);
	}
	/* Oldest first (insertion sort: one person's changes are few): the times are
	 * fixed-width, so the text order is the time order. */
	{
		size_t n = json_array_size(list), i, j;
		for (i = 1; i < n; i++)
			for (j = i; j > 0; j--) {
				json_t *a = json_array_get(list, j - 1),
				       *b = json_array_get(list, j);
				if (strcmp(json_string_value(json_object_get(a, "time")),
				           json_string_value(json_object_get(b, "time"))) <= 0)
					break;
				json_incref(a);
				json_array_set(list, j - 1, b);
				json_array_set_new(list, j, a);
			}
	}
	out = json_pack("{s:s, s:s, s:o}", "userName", user_name, "dn", dn, "Resources", list);
	list = NULL;
done:
	json_decref(list);
	ldap_msgfree(res);
	free(f.s);
	free(rdn);
	free(people);
	free(dn);
	free(esc);
	dir_op_end(&op);
	return out;
}
