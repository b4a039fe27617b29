/* fuzz_path.c — libFuzzer target: any bytes as a PATCH path on User, Group and School. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/path.h"
#include "engine/schema.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"User", "Group", "School"};
	char *text = malloc(size + 1);
	size_t i;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (i = 0; i < 3; i++) {
		const struct resource_type_def *rt = schema_resource_type(types[i]);
		struct rb_error err;
		struct path p;

		error_clear(&err);
		if (path_parse(rt, text, &p, &err) == 0) {
			if (p.attr == NULL || error_is_set(&err))
				abort();
			path_clear(&p);
		} else if (err.status != 400 || err.scim_type == NULL ||
		           strcmp(err.scim_type, SCIM_INVALID_PATH) != 0) {
			abort();
		}
	}
	free(text);
	return 0;
}
