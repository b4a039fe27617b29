/*
 * fuzz_core_postread.c — libFuzzer target: any bytes as the value of a
 * post-read control (RFC 4527: a SearchResultEntry in BER). The decoder
 * gives NULL or a map whose every value is UTF-8 text with a DN, and what
 * the bridge would send (json_dumps) never fails.
 */
#include <lber.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dir/entry.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berval bv;
	json_t *map, *vals;
	const char *key;
	char *text;

	bv.bv_val = (char *)data;
	bv.bv_len = size;
	map = entry_from_postread(&bv);
	if (map == NULL)
		return 0;
	if (entry_map_first(map, "dn") == NULL)
		abort();
	json_object_foreach(map, key, vals)
	{
		size_t i;
		json_t *v;
		json_array_foreach(vals, i, v)
		{
			if (!utf8_valid(json_string_value(v), json_string_length(v)) ||
			    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
				abort();
		}
	}
	text = json_dumps(map, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		abort();
	free(text);
	json_decref(map);
	return 0;
}
