/* entry.c — attribute maps and minimal modifications; see entry.h. */
#include "dir/entry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/utf8.h"

static int
entry_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
entry_desc_normalise(const char *desc)
{
	char *copy, *parts[32], *p, *out;
	size_t n = 0, i, len = strlen(desc);

	copy = strdup(desc);
	out = malloc(len + 1);
	if (copy == NULL || out == NULL) {
		free(copy);
		free(out);
		return NULL;
	}
	for (p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* parts[0] is the attribute type; the rest are options, sorted. */
	p = copy;
	while (p != NULL && n < 32) {
		parts[n++] = p;
		p = strchr(p, ';');
		if (p != NULL)
			*p++ = '\0';
	}
	if (n > 2)
		qsort(parts + 1, n - 1, sizeof(parts[0]), entry_cmp_str);
	/* The parts hold strlen(desc) bytes in all, separators included: out fits. */
	p = out;
	for (i = 0; i < n; i++) {
		size_t plen = strlen(parts[i]);
		if (i > 0)
			*p++ = ';';
		memcpy(p, parts[i], plen);
		p += plen;
	}
	*p = '\0';
	free(copy);
	return out;
}

size_t
entry_desc_base_len(const char *desc)
{
	return strcspn(desc, ";");
}

bool
entry_desc_has_option(const char *desc, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = strchr(desc, ';');

	while (p != NULL) {
		p++;
		if (!strncmp(p, opt, n) && (p[n] == ';' || p[n] == '\0'))
			return true;
		p = strchr(p, ';');
	}
	return false;
}

bool
entry_desc_option_value(const char *desc, const char *prefix, char *out, size_t outlen)
{
	size_t n = strlen(prefix);
	const char *p = strchr(desc, ';');

	while (p != NULL) {
		p++;
		if (!strncmp(p, prefix, n)) {
			size_t len = strcspn(p + n, ";");
			if (len + 1 > outlen)
				return false;
			memcpy(out, p + n, len);
			out[len] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}

int
entry_map_add(json_t *map, const char *desc, const char *value)
{
	json_t *arr = json_object_get(map, desc);
	size_t i;

	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(map, desc, arr) < 0)
			return -1;
	}
	for (i = 0; i < json_array_size(arr); i++)
		if (!strcmp(json_string_value(json_array_get(arr, i)), value))
			return 0;
	return json_array_append_new(arr, json_string(value));
}

const char *
entry_map_first(const json_t *map, const char *desc)
{
	return json_string_value(json_array_get(json_object_get(map, desc), 0));
}

/*
 * A secret the bridge writes but never reads: a password hash, an
 * invitation token's hash. The bridge asks for "*" (users.c), which brings
 * them to the service account; they are dropped here, so no map, log line
 * or response ever holds one.
 */
bool
entry_desc_secret(const char *desc)
{
	size_t n = entry_desc_base_len(desc);

	return (n == 12 && !strncmp(desc, "userpassword", n)) ||
	       (n == 17 && !strncmp(desc, "rbinvitetokenhash", n));
}

/*
 * Append one LDAP value to `desc` in `map`. A value that is not UTF-8 text
 * (another LDAP client may write one) would make the SCIM response invalid
 * JSON: it is left out and logged with the entry's DN. A secret
 * (entry_desc_secret) is left out silently. 0, or -1 when out of memory.
 */
static int
entry_map_add_ldap(json_t *map, const char *desc, const char *val, size_t len, const char *dn)
{
	json_t *arr;

	if (entry_desc_secret(desc))
		return 0;
	if (!utf8_valid(val, len) || memchr(val, '\0', len) != NULL) {
		log_warnx(
		    "ldap: %s: a value of %s is not UTF-8 text; left out of the SCIM resource",
		    dn ? dn : "(no DN)", desc);
		return 0;
	}
	arr = json_object_get(map, desc);
	if (arr == NULL) {
		arr = json_array();
		/* json_object_set_new steals arr even when it fails: never touch it then. */
		if (arr == NULL || json_object_set_new(map, desc, arr) < 0)
			return -1;
	}
	return json_array_append_new(arr, json_stringn_nocheck(val, len));
}

json_t *
entry_from_postread(const struct berval *value)
{
	BerElement *ber = NULL;
	struct berval bv;
	json_t *map = json_object();
	char *dn = NULL;

	if (map == NULL)
		return NULL;
	/* A control without a value (a broken or hostile server): libldap would crash. */
	if (value == NULL || value->bv_val == NULL || value->bv_len == 0)
		goto fail;
	ber = ber_init((struct berval *)value);
	if (ber == NULL || ber_scanf(ber, "{m{" /*}}*/, &bv) == LBER_ERROR)
		goto fail;
	if (!utf8_valid(bv.bv_val, bv.bv_len) || memchr(bv.bv_val, '\0', bv.bv_len) != NULL)
		goto fail;
	dn = strndup(bv.bv_val, bv.bv_len);
	if (dn == NULL || entry_map_add(map, "dn", dn) < 0)
		goto fail;
	while (ber_scanf(ber, "{m" /*}*/, &bv) != LBER_ERROR) {
		BerVarray vals = NULL;
		char *attr = strndup(bv.bv_val, bv.bv_len), *desc;
		int i, rc = 0;
		if (attr == NULL || ber_scanf(ber, "[W]}", &vals) == LBER_ERROR) {
			free(attr);
			break;
		}
		desc = entry_desc_normalise(attr);
		free(attr);
		for (i = 0; rc == 0 && desc != NULL && vals != NULL && vals[i].bv_val != NULL; i++)
			rc = entry_map_add_ldap(map, desc, vals[i].bv_val, vals[i].bv_len, dn);
		free(desc);
		ber_bvarray_free(vals);
		if (rc < 0)
			goto fail;
	}
	ber_free(ber, 1);
	free(dn);
	return map;
fail:
	if (ber != NULL)
		ber_free(ber, 1);
	free(dn);
	json_decref(map);
	return NULL;
}

/*
 * One pass over the entry's BER: ldap_get_attribute_ber hands each
 * attribute with its values (pointing into the message, not copied). The
 * first_attribute/get_values_len pair it replaces searched the entry from
 * its start for every attribute: a third of the daemon's instructions per
 * GET (callgrind, docs/schema.md, "Cost per request").
 */
json_t *
entry_to_map(LDAP *ld, LDAPMessage *entry)
{
	json_t *map = json_object();
	BerElement *ber = NULL;
	struct berval bdn, attr, *vals = NULL;
	char *dn = NULL;

	if (map == NULL)
		return NULL;
	if (ldap_get_dn_ber(ld, entry, &ber, &bdn) != LDAP_SUCCESS ||
	    (dn = strndup(bdn.bv_val, bdn.bv_len)) == NULL || entry_map_add(map, "dn", dn) < 0)
		goto fail;
	while (ldap_get_attribute_ber(ld, entry, ber, &attr, &vals) == LDAP_SUCCESS &&
	       attr.bv_val != NULL) {
		char *name = strndup(attr.bv_val, attr.bv_len);
		char *desc = name ? entry_desc_normalise(name) : NULL;
		size_t i;
		int rc = desc ? 0 : -1;

		for (i = 0; rc == 0 && vals != NULL && vals[i].bv_val != NULL; i++)
			rc = entry_map_add_ldap(map, desc, vals[i].bv_val, vals[i].bv_len, dn);
		free(desc);
		free(name);
		ber_memfree(vals);
		vals = NULL;
		if (rc < 0)
			goto fail;
	}
	ber_free(ber, 0);
	free(dn);
	return map;
fail:
	if (ber != NULL)
		ber_free(ber, 0);
	free(dn);
	json_decref(map);
	return NULL;
}

/* Value sets equal (order ignored)? */
bool
entry_values_equal(const json_t *a, const json_t *b)
{
	size_t i, j;

	if (json_array_size(a) != json_array_size(b))
		return false;
	for (i = 0; i < json_array_size(a); i++) {
		const char *va = json_string_value(json_array_get(a, i));
		bool found = false;
		for (j = 0; j < json_array_size(b) && !found; j++)
			found = !strcmp(va, json_string_value(json_array_get(b, j)));
		if (!found)
			return false;
	}
	return true;
}

size_t
entry_mods_count(LDAPMod **mods)
{
	size_t n = 0;

	while (mods != NULL && mods[n] != NULL)
		n++;
	return n;
}

LDAPMod **
entry_mods_append(LDAPMod **mods, int op, const char *desc, const json_t *values)
{
	size_t n = entry_mods_count(mods), i, nv = json_array_size(values);
	LDAPMod **grown, *mod;

	grown = realloc(mods, (n + 2) * sizeof(*grown));
	if (grown == NULL)
		goto fail;
	mods = grown;
	mods[n] = NULL;
	mod = calloc(1, sizeof(*mod));
	if (mod == NULL)
		goto fail;
	mods[n] = mod;
	mods[n + 1] = NULL;
	mod->mod_op = op | LDAP_MOD_BVALUES;
	mod->mod_type = strdup(desc);
	mod->mod_bvalues = calloc(nv + 1, sizeof(*mod->mod_bvalues));
	if (mod->mod_type == NULL || mod->mod_bvalues == NULL)
		goto fail;
	for (i = 0; i < nv; i++) {
		const json_t *v = json_array_get(values, i);
		struct berval *bv = calloc(1, sizeof(*bv));
		if (bv == NULL)
			goto fail;
		mod->mod_bvalues[i] = bv;
		bv->bv_len = json_string_length(v);
		bv->bv_val = malloc(bv->bv_len + 1);
		if (bv->bv_val == NULL)
			goto fail;
		memcpy(bv->bv_val, json_string_value(v), bv->bv_len + 1);
	}
	return mods;
fail:
	entry_mods_free(mods);
	return NULL;
}

void
entry_mods_free(LDAPMod **mods)
{
	size_t i, j;

	for (i = 0; mods != NULL && mods[i] != NULL; i++) {
		free(mods[i]->mod_type);
		for (j = 0; mods[i]->mod_bvalues != NULL && mods[i]->mod_bvalues[j] != NULL; j++) {
			free(mods[i]->mod_bvalues[j]->bv_val);
			free(mods[i]->mod_bvalues[j]);
		}
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
}

LDAPMod **
entry_mods_build(const json_t *old, const json_t *new, bool (*owned)(const char *desc, void *arg),
                 void *arg)
{
	LDAPMod **mods = calloc(1, sizeof(*mods));
	const char *desc;
	json_t *vals;

	if (mods == NULL)
		return NULL;
	json_object_foreach((json_t *)new, desc, vals)
	{
		const json_t *was = old ? json_object_get(old, desc) : NULL;
		if (!strcmp(desc, "dn") || json_array_size(vals) == 0)
			continue;
		if (was != NULL && entry_values_equal(was, vals))
			continue;
		mods = entry_mods_append(mods, old ? LDAP_MOD_REPLACE : LDAP_MOD_ADD, desc, vals);
		if (mods == NULL)
			return NULL;
	}
	if (old == NULL)
		return mods;
	json_object_foreach((json_t *)old, desc, vals)
	{
		const json_t *now = json_object_get(new, desc);
		if (!strcmp(desc, "dn") || json_array_size(now) > 0 || !owned(desc, arg))
			continue;
		mods = entry_mods_append(mods, LDAP_MOD_REPLACE, desc, NULL);
		if (mods == NULL)
			return NULL;
	}
	return mods;
}
