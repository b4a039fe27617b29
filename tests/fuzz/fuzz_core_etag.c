/*
 * fuzz_core_etag.c — libFuzzer target: any bytes as If-Match and
 * If-None-Match headers (the input as a precondition text: If-Match, then
 * '\n' and If-None-Match; and each header alone through dir_precondition).
 * dir_assertion_filter must give NULL or an LDAP filter libldap can encode
 * (an ETag never injects filter syntax); dir_check_version must answer 0,
 * or -1 with 412 (never anything else) against an entry's version.
 */
#include <ldap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dir/dir.h"
#include "dir/dir_int.h"
#include "dir/entry.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static LDAP *ld;
static json_t *map;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rb_error err;
	char *text, *filter;
	int rc;

	if (ld == NULL) {
		/* A handle that never connects: only used to encode controls. */
		if (ldap_initialize(&ld, "ldap://127.0.0.1:1") != LDAP_SUCCESS)
			abort();
		map = json_object();
		entry_map_add(map, "entrycsn", "20261130044212.123456Z#000000#000#000000");
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int k = 0; k < 3; k++) {
		char *pre = k == 0   ? strdup(text)
		            : k == 1 ? dir_precondition(text, NULL)
		                     : dir_precondition(NULL, text);
		if (pre == NULL)
			continue;
		filter = dir_assertion_filter(pre, "uid=x,ou=people,o=demo,dc=example,dc=org");
		if (filter != NULL) {
			struct berval value = {0, NULL};
			rc = ldap_create_assertion_control_value(ld, filter, &value);
			if (rc != LDAP_SUCCESS)
				abort(); /* the bridge built a filter libldap refuses */
			ber_memfree(value.bv_val);
			free(filter);
		}
		free(pre);
	}
	error_clear(&err);
	rc = dir_check_version(map, text, &err);
	if (!(rc == 0 || (rc == -1 && err.status == 412)))
		abort();
	free(text);
	return 0;
}
