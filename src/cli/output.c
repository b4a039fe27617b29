/*
 * output.c — rows as an aligned table (a terminal), CSV (RFC 4180, for
 * spreadsheets and scripts) or JSON; see cli.h. Control characters in
 * values are shown as '?' in a table so a value cannot move the cursor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define OUTPUT_MAX_WIDTH 48

/* Display width of a UTF-8 string: code points (good enough for names). */
static size_t
output_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Print s in a cell of `width` columns, cut with "…" when longer. */
static void
output_cell(const char *s, size_t width, bool last)
{
	size_t w = 0;

	for (; *s && w < width; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch & 0xC0) != 0x80) {
			if (w + 1 == width && output_width(s) > 1) {
				fputs("…", stdout);
				w++;
				break;
			}
			w++;
		}
		putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	/* finish a cut multi-byte sequence */
	while (*s && ((unsigned char)*s & 0xC0) == 0x80)
		putchar(*s++);
	if (!last)
		for (; w < width + 2; w++)
			putchar(' ');
}

void
output_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

void
output_rows(const struct cli *c, const char *const *cols, size_t ncols, const json_t *rows,
            const json_t *full)
{
	size_t i, k, *width;
	json_t *row;

	if (c->format == CLI_FORMAT_JSON) {
		json_t *arr;
		if (full != NULL) {
			output_json(full);
			return;
		}
		arr = json_array();
		json_array_foreach(rows, i, row)
		{
			json_t *o = json_object();
			for (k = 0; k < ncols; k++)
				json_object_set(o, cols[k], json_array_get(row, k));
			json_array_append_new(arr, o);
		}
		output_json(arr);
		json_decref(arr);
		return;
	}
	if (c->format == CLI_FORMAT_CSV) {
		for (k = 0; k < ncols; k++)
			csv_write_field(stdout, cols[k], k + 1 == ncols);
		json_array_foreach(rows, i, row) for (k = 0; k < ncols; k++) csv_write_field(
		    stdout, json_string_value(json_array_get(row, k)), k + 1 == ncols);
		return;
	}
	width = calloc(ncols, sizeof(*width));
	if (width == NULL)
		return;
	for (k = 0; k < ncols; k++)
		width[k] = output_width(cols[k]);
	json_array_foreach(rows, i, row) for (k = 0; k < ncols; k++)
	{
		const char *s = json_string_value(json_array_get(row, k));
		size_t w = output_width(s ? s : "");
		if (w > width[k])
			width[k] = w > OUTPUT_MAX_WIDTH ? OUTPUT_MAX_WIDTH : w;
	}
	for (k = 0; k < ncols; k++)
		output_cell(cols[k], width[k], k + 1 == ncols);
	putchar('\n');
	json_array_foreach(rows, i, row)
	{
		for (k = 0; k < ncols; k++) {
			const char *s = json_string_value(json_array_get(row, k));
			output_cell(s ? s : "", width[k], k + 1 == ncols);
		}
		putchar('\n');
	}
	if (c->tty_out)
		printf("(%zu)\n", json_array_size(rows));
	free(width);
}

void
output_record(const struct cli *c, const char *const *keys, size_t nkeys, const json_t *values,
              const json_t *full)
{
	size_t k, w = 0;

	if (c->format == CLI_FORMAT_JSON) {
		output_json(full);
		return;
	}
	if (c->format == CLI_FORMAT_CSV) {
		json_t *rows = json_pack("[O]", values);
		output_rows(c, keys, nkeys, rows, NULL);
		json_decref(rows);
		return;
	}
	for (k = 0; k < nkeys; k++)
		if (output_width(keys[k]) > w)
			w = output_width(keys[k]);
	for (k = 0; k < nkeys; k++) {
		const char *s = json_string_value(json_array_get(values, k));
		printf("%-*s  ", (int)w + 1, keys[k]);
		for (s = s ? s : ""; *s; s++)
			putchar((unsigned char)*s < 0x20 ? '?' : *s);
		putchar('\n');
	}
}
