/*
 * form.c — HTML form bodies (application/x-www-form-urlencoded, WHATWG URL
 * §5) and Cookie headers; see console.h. Every value is UTF-8 checked
 * (jansson refuses anything else) and percent-decoded once.
 */
#include "console/console.h"

#include <stdlib.h>
#include <string.h>

static int
form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode `n` bytes of s ('+' is a space, %XX a byte) into a NEW json string, or NULL. */
static json_t *
form_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, j = 0;
	json_t *v;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[j++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && form_hex(s[i + 1]) >= 0 &&
		           form_hex(s[i + 2]) >= 0) {
			out[j++] = (char)(form_hex(s[i + 1]) * 16 + form_hex(s[i + 2]));
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	v = memchr(out, '\0', j) ? NULL : json_stringn(out, j); /* NUL bytes refused */
	free(out);
	return v;
}

json_t *
form_parse(const char *body, size_t len)
{
	json_t *form = json_object();
	const char *p, *end;

	if (form == NULL || body == NULL)
		return form;
	p = body;
	end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		json_t *k, *v, *arr;

		if (stop == p) {
			p = stop + 1;
			continue;
		}
		k = form_decode(p, (size_t)((eq ? eq : stop) - p));
		v = eq ? form_decode(eq + 1, (size_t)(stop - eq - 1)) : json_string("");
		if (k == NULL || v == NULL) {
			json_decref(k);
			json_decref(v);
			json_decref(form);
			return NULL;
		}
		arr = json_object_get(form, json_string_value(k));
		if (arr == NULL) {
			arr = json_array();
			json_object_set_new(form, json_string_value(k), arr);
		}
		json_array_append_new(arr, v);
		json_decref(k);
		p = stop + 1;
	}
	return form;
}

const char *
form_get(const json_t *form, const char *name)
{
	return json_string_value(json_array_get(json_object_get(form, name), 0));
}

const json_t *
form_all(const json_t *form, const char *name)
{
	return json_object_get(form, name);
}

bool
cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *p = header;

	while (p != NULL && *p) {
		const char *end;
		size_t vlen;
		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > n && !strncmp(p, name, n) && p[n] == '=') {
			vlen = (size_t)(end - p) - n - 1;
			if (vlen + 1 > outlen)
				return false;
			memcpy(out, p + n + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

char *
url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, j = 0;
	char *out = malloc(3 * n + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[j++] = (char)c;
		} else {
			out[j++] = '%';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 15];
		}
	}
	out[j] = '\0';
	return out;
}
