/*
 * fuzz_validate.c — libFuzzer target for validate_resource and
 * validate_value: the input is parsed as JSON, validated as a body of each
 * resource type, and (when it is an object) each of its members is also
 * validated as a PATCH value of the attribute its key names. A valid
 * result must validate again to itself. Everything is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_values(const struct resource_type_def *rt, json_t *obj)
{
	const char *key;
	json_t *val, *out;
	struct attr_ref ref;
	struct rb_error err;

	json_object_foreach(obj, key, val)
	{
		if (schema_resolve(rt, key, strlen(key), &ref) != 0)
			continue;
		error_clear(&err);
		out = validate_value(&ref, val, VALIDATE_ATTRIBUTE, NULL, &err);
		if (out == NULL && !error_is_set(&err))
			abort();
		json_decref(out);
		error_clear(&err);
		out = validate_value(&ref, val, VALIDATE_ELEMENT, NULL, &err);
		if (out == NULL && !error_is_set(&err))
			abort();
		json_decref(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct resource_type_def *const *rts = schema_resource_types();
	json_error_t jerr;
	json_t *in, *out, *again;
	struct rb_error err;
	size_t i;

	in = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (in == NULL)
		return 0;
	for (i = 0; rts[i] != NULL; i++) {
		error_clear(&err);
		out = validate_resource(rts[i], in, VALIDATE_CREATE, NULL, &err);
		if (out == NULL) {
			if (!error_is_set(&err))
				abort(); /* every failure must say why */
		} else {
			error_clear(&err);
			again = validate_resource(rts[i], out, VALIDATE_REPLACE, NULL, &err);
			if (again == NULL || !json_equal(again, out))
				abort(); /* normalisation is idempotent */
			json_decref(again);
			json_decref(out);
		}
		/* Lenient: unknown attributes ignored, and what is left validates strictly. */
		{
			struct validate_opts lenient = {false, json_array()};

			error_clear(&err);
			out = validate_resource(rts[i], in, VALIDATE_CREATE, &lenient, &err);
			if (out == NULL && !error_is_set(&err))
				abort();
			if (out != NULL) {
				error_clear(&err);
				again =
				    validate_resource(rts[i], out, VALIDATE_REPLACE, NULL, &err);
				if (again == NULL || !json_equal(again, out))
					abort(); /* nothing unknown is left */
				json_decref(again);
			}
			json_decref(out);
			json_decref(lenient.ignored);
		}
		if (json_is_object(in))
			fuzz_values(rts[i], in);
	}
	json_decref(in);
	return 0;
}
