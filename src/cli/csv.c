/*
 * csv.c — RFC 4180 CSV: reading records (quoted fields, "" inside quotes,
 * line breaks inside quotes, CRLF or LF, a UTF-8 byte-order mark at the
 * start, blank lines skipped) and writing fields; see cli.h.
 *
 * The reader counts bytes, so an interrupted import can note where it
 * stopped (csv_offset) and continue there (csv_seek).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/strbuf.h"

#define CSV_FIELD_MAX ((size_t)64 * 1024)

struct csv_reader {
	FILE *f;
	bool close_f;
	long offset; /* bytes consumed */
	long line;   /* current line number (1-based) */
	const char *path;
};

struct csv_reader *
csv_open(const char *path, struct rb_error *err)
{
	struct csv_reader *r = calloc(1, sizeof(*r));
	int ch;

	if (r == NULL) {
		error_set(err, CLI_ERR_USAGE, NULL, "out of memory");
		return NULL;
	}
	r->path = path;
	r->line = 1;
	if (!strcmp(path, "-")) {
		r->f = stdin;
	} else {
		r->f = fopen(path, "rb");
		r->close_f = true;
	}
	if (r->f == NULL) {
		error_set(err, CLI_ERR_USAGE, NULL, "%s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	/* A UTF-8 byte-order mark (spreadsheets write one) is not data. */
	ch = getc(r->f);
	if (ch == 0xEF) {
		int b = getc(r->f), c = getc(r->f);
		if (b == 0xBB && c == 0xBF) {
			r->offset = 3;
			return r;
		}
		error_set(err, CLI_ERR_USAGE, NULL, "%s: line 1: not UTF-8 text", path);
		csv_close(r);
		return NULL;
	}
	if (ch != EOF)
		ungetc(ch, r->f);
	return r;
}

json_t *
csv_next(struct csv_reader *r, long *line, struct rb_error *err)
{
	json_t *rec;
	struct strbuf field = {0};
	bool quoted = false, in_quotes = false, any = false;
	int ch;

	rec = json_array();
	if (rec == NULL) {
		error_set(err, CLI_ERR_USAGE, NULL, "out of memory");
		return NULL;
	}
	*line = r->line;
	for (;;) {
		ch = getc(r->f);
		if (ch != EOF)
			r->offset++;
		if (in_quotes) {
			if (ch == EOF) {
				error_set(err, CLI_ERR_USAGE, NULL,
				          "%s: line %ld: a quoted field is not closed", r->path,
				          *line);
				goto fail;
			}
			if (ch == '"') {
				int next = getc(r->f);
				if (next == '"') {
					r->offset++;
					strbuf_addn(&field, "\"", 1);
					continue;
				}
				if (next != EOF)
					ungetc(next, r->f);
				in_quotes = false;
				continue;
			}
			if (ch == '\n')
				r->line++;
			strbuf_addn(&field, (char[]){(char)ch}, 1);
		} else if (ch == '"' && field.len == 0 && !quoted) {
			in_quotes = quoted = any = true;
		} else if (ch == ',' || ch == '\n' || ch == EOF) {
			if (ch == EOF && !any && json_array_size(rec) == 0)
				break; /* end of input */
			if (ch == '\n' && !any && json_array_size(rec) == 0) {
				r->line++;
				*line = r->line;
				continue; /* blank line */
			}
			if (field.len > 0 && field.s[field.len - 1] == '\r' && ch != ',' && !quoted)
				field.s[--field.len] = '\0';
			{
				json_t *v = json_string(field.s ? field.s : "");
				if (v == NULL)
					goto bad_utf8;
				json_array_append_new(rec, v);
			}
			free(field.s);
			memset(&field, 0, sizeof(field));
			quoted = false;
			if (ch != ',') {
				if (ch == '\n')
					r->line++;
				return rec;
			}
			any = true;
		} else if (quoted) {
			if (ch == '\r')
				continue;
			error_set(
			    err, CLI_ERR_USAGE, NULL,
			    "%s: line %ld: text after a closing quote (write \"\" for a quote "
			    "inside a quoted field)",
			    r->path, *line);
			goto fail;
		} else {
			any = true;
			strbuf_addn(&field, (char[]){(char)ch}, 1);
		}
		if (field.failed || field.len > CSV_FIELD_MAX) {
			error_set(err, CLI_ERR_USAGE, NULL, "%s: line %ld: a field is too long",
			          r->path, *line);
			goto fail;
		}
	}
	free(field.s);
	json_decref(rec);
	return NULL;
bad_utf8:
	error_set(err, CLI_ERR_USAGE, NULL, "%s: line %ld: not UTF-8 text", r->path, *line);
fail:
	free(field.s);
	json_decref(rec);
	return NULL;
}

long
csv_offset(const struct csv_reader *r)
{
	return r->offset;
}

long
csv_line(const struct csv_reader *r)
{
	return r->line;
}

int
csv_seek(struct csv_reader *r, long offset, long line)
{
	if (fseek(r->f, offset, SEEK_SET) != 0)
		return -1;
	r->offset = offset;
	r->line = line;
	return 0;
}

void
csv_close(struct csv_reader *r)
{
	if (r == NULL)
		return;
	if (r->close_f)
		fclose(r->f);
	free(r);
}

void
csv_write_field(FILE *f, const char *s, bool last)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' &&
	    (s[0] == '\0' || s[strlen(s) - 1] != ' ')) {
		fputs(s, f);
	} else {
		putc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				putc('"', f);
			putc(*s, f);
		}
		putc('"', f);
	}
	if (last)
		putc('\n', f);
	else
		putc(',', f);
}
