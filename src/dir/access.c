/*
 * access.c — who may write what in the directory (SPEC §1, "Each source
 * owns what it creates"); see dir_int.h, "access.c".
 *
 * Glossary
 *   owner     the source that created a group (plain or role) or a school:
 *             the one value of its rbSource (grants_owner). An operator
 *             moves an entry to another source by replacing that value
 *             (docs/mapping.md, "Ownership").
 *   reference another source naming the entry without writing it: a
 *             person's grant listing a school, a group listing a person.
 *
 * Behaviour
 *   - Every PUT, PATCH (members included) and DELETE of a group or a school
 *     passes access_check_owner first: another source's write is 403 with
 *     the owner's name. Reads and references are never refused here.
 *   - The owner's DELETE of a school that another source's grant still
 *     names is 409 naming those sources (access_school_unreferenced): it
 *     would silently change what another source granted.
 */
#include "dir/dir_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/entry.h"
#include "dir/escape.h"
#include "dir/grants.h"

int
access_check_owner(const struct dir_op *op, const json_t *map, const char *what,
                   struct rb_error *err)
{
	const char *owner = grants_owner(map);

	if (owner == NULL || !strcasecmp(owner, op->ctx->source))
		return 0; /* unowned (made by hand without rbSource): anyone may write */
	return error_set(err, 403, NULL,
	                 "this %s belongs to source \"%s\": only %s may change or delete it "
	                 "(other sources may read and reference it)",
	                 what, owner, owner);
}

/* Add `source` to the comma-separated list `out` (size outlen) unless it is there. */
static void
access_list_add(char *out, size_t outlen, const char *source)
{
	size_t n = strlen(source), len = strlen(out);
	const char *p = out;

	while ((p = strstr(p, source)) != NULL) {
		bool start = p == out || p[-1] == ' ';
		if (start && (p[n] == '\0' || p[n] == ','))
			return;
		p += n;
	}
	snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", source);
}

int
access_school_unreferenced(struct dir_op *op, const char *uuid, struct rb_error *err)
{
	static char *attrs[] = {"rbSchoolRef", "rbSource", "objectClass", NULL};
	LDAPMessage *res = NULL, *e;
	char *esc = escape_filter_value(uuid, strlen(uuid)), filter[160], sources[512] = "";
	int rc = -1;

	if (esc == NULL)
		return error_set(err, 500, NULL, "out of memory");
	snprintf(filter, sizeof(filter), "(rbSchoolRef=%s)", esc);
	free(esc);
	if (dir_search(op, op->tenant_dn, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, 0, &res, err) <
	    0)
		return -1;
	for (e = res ? ldap_first_entry(op->conn->ld, res) : NULL; e != NULL;
	     e = ldap_next_entry(op->conn->ld, e)) {
		json_t *m = entry_to_map(op->conn->ld, e), *vals;
		const char *desc;
		size_t i;
		json_object_foreach(m, desc, vals)
		{
			char src[128];
			const char *who = NULL;
			if (entry_desc_base_len(desc) != 11 ||
			    strncmp(desc, "rbschoolref", 11) != 0)
				continue;
			if (entry_desc_option_value(desc, "x-src-", src, sizeof(src)))
				who = src; /* a person's direct grant */
			else
				who = grants_owner(m); /* a role group's grant */
			if (who == NULL || !strcasecmp(who, op->ctx->source))
				continue;
			for (i = 0; i < json_array_size(vals); i++)
				if (!strcasecmp(json_string_value(json_array_get(vals, i)), uuid))
					access_list_add(sources, sizeof(sources), who);
		}
		json_decref(m);
	}
	if (sources[0] != '\0') {
		error_set(err, 409, NULL,
		          "the school is still named in grants of other sources (%s); each must "
		          "remove it from its grants before the school can be deleted",
		          sources);
		goto done;
	}
	rc = 0;
done:
	ldap_msgfree(res);
	return rc;
}
