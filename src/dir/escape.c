/* escape.c — RFC 4515 filter and RFC 4514 DN escaping, by libldap; see escape.h. */
#include "dir/escape.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
escape_filter_value(const char *value, size_t len)
{
	struct berval in, out = {0, NULL};
	char *copy;

	if (len == 0)
		return strdup("");
	in.bv_val = (char *)value;
	in.bv_len = len;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0 || out.bv_val == NULL)
		return NULL;
	copy = malloc(out.bv_len + 1);
	if (copy != NULL) {
		memcpy(copy, out.bv_val, out.bv_len);
		copy[out.bv_len] = '\0';
	}
	ber_memfree(out.bv_val);
	return copy;
}

char *
escape_rdn(const char *attr, const char *value)
{
	LDAPAVA ava;
	LDAPAVA *avas[2] = {&ava, NULL};
	char *str = NULL, *copy;

	if (value == NULL || *value == '\0')
		return NULL;
	memset(&ava, 0, sizeof(ava));
	ava.la_attr.bv_val = (char *)attr;
	ava.la_attr.bv_len = strlen(attr);
	ava.la_value.bv_val = (char *)value;
	ava.la_value.bv_len = strlen(value);
	ava.la_flags = LDAP_AVA_STRING;
	if (ldap_rdn2str(avas, &str, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	copy = strdup(str);
	ldap_memfree(str);
	return copy;
}

char *
escape_dn_join(const char *rdn, const char *parent)
{
	size_t n = strlen(rdn) + strlen(parent) + 2;
	char *dn = malloc(n);

	if (dn != NULL)
		snprintf(dn, n, "%s,%s", rdn, parent);
	return dn;
}

char *
escape_rdn_value(const char *dn)
{
	LDAPDN parsed = NULL;
	char *value = NULL;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	if (parsed != NULL && parsed[0] != NULL && parsed[0][0] != NULL) {
		struct berval *bv = &parsed[0][0]->la_value;
		value = malloc(bv->bv_len + 1);
		if (value != NULL) {
			memcpy(value, bv->bv_val, bv->bv_len);
			value[bv->bv_len] = '\0';
		}
	}
	ldap_dnfree(parsed);
	return value;
}
