/* query.c — SCIM filter → LDAP filter; see query.h. */
#include "dir/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/escape.h"
#include "lib/strbuf.h"

void
query_attr_key(const struct attr_ref *ref, char *out, size_t outlen)
{
	const char *urn = "";
	bool ext = false;

	if (ref->schema != NULL && strcmp(ref->schema->id, SCHEMA_CORE_USER) != 0 &&
	    strcmp(ref->schema->id, SCHEMA_CORE_GROUP) != 0 &&
	    strcmp(ref->schema->id, SCHEMA_SCHOOL) != 0) {
		urn = ref->schema->id;
		ext = true;
	}
	if (ref->parent != NULL)
		snprintf(out, outlen, "%s%s%s.%s", urn, ext ? ":" : "", ref->parent->name,
		         ref->attr->name);
	else
		snprintf(out, outlen, "%s%s%s", urn, ext ? ":" : "", ref->attr->name);
}

static const struct query_attr *
query_row(const struct query_attr *table, const struct attr_ref *ref)
{
	char key[512];

	if (ref->attr == NULL)
		return NULL;
	query_attr_key(ref, key, sizeof(key));
	for (; table->scim != NULL; table++)
		if (!strcasecmp(table->scim, key))
			return table;
	return NULL;
}

const struct query_attr *
query_attr_find(const struct query_attr *table, const struct resource_type_def *rt,
                const char *path)
{
	struct attr_ref ref;

	if (schema_resolve(rt, path, strlen(path), &ref) < 0)
		return NULL;
	return query_row(table, &ref);
}

/* The literal as LDAP assertion text (escaped), or NULL if it has none (null). NEW string. */
static char *
query_value(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return escape_filter_value(json_string_value(v), json_string_length(v));
	if (json_is_true(v))
		return strdup("TRUE");
	if (json_is_false(v))
		return strdup("FALSE");
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return strdup(buf);
	}
	return NULL;
}

/*
 * Translate one node into b. Returns 1 if something was written, 0 if
 * the node is "true" (broad: nothing written). *exact is cleared when a
 * node is broader than its SCIM meaning.
 */
static int query_node(const struct filter *f, const struct query_attr *table, const char *source,
                      struct strbuf *b, bool *exact);

/*
 * Whether slapd's matching rules may call the literal equal to values SCIM
 * does not: they ignore leading, trailing and repeated spaces, and fold
 * non-ASCII text (Unicode compatibility mapping, case folding: "\uFB01"
 * matches "fi"). The LDAP assertion is still written (its answer is a
 * superset), but the result must be checked by the engine's own matching,
 * or `emails.value sw " "` would return every person with an e-mail.
 */
static bool
query_ldap_folds(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), i;

	if (s == NULL)
		return false;
	if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
		return true;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || (s[i] == ' ' && i + 1 < n && s[i + 1] == ' '))
			return true;
	return false;
}

static int
query_compare(const struct filter *f, const struct query_attr *table, const char *source,
              struct strbuf *b, bool *exact)
{
	const struct query_attr *row;
	char desc[256], *val = NULL;
	const char *pre = "", *post = "";

	if (f->attr.attr == NULL) {
		/* Unknown attribute: matches nothing (RFC 7644 §3.4.2.2). */
		strbuf_add(b, "(!(objectClass=*))");
		return 1;
	}
	row = query_row(table, &f->attr);
	if (row == NULL)
		goto broad;
	if (row->flags & QUERY_SOURCED)
		snprintf(desc, sizeof(desc), "%s;x-src-%s", row->ldap, source);
	else
		snprintf(desc, sizeof(desc), "%s", row->ldap);
	if (f->op == FILTER_PR) {
		strbuf_add(b, "(");
		strbuf_add(b, desc);
		strbuf_add(b, "=*)");
		return 1;
	}
	switch (f->op) {
	case FILTER_EQ:
	case FILTER_NE:
		break;
	case FILTER_SW:
		post = "*";
		break;
	case FILTER_EW:
		pre = "*";
		break;
	case FILTER_CO:
		pre = "*";
		post = "*";
		break;
	default:
		goto broad; /* gt/ge/lt/le: LDAP ordering rules differ from SCIM's */
	}
	if ((f->op == FILTER_SW || f->op == FILTER_EW || f->op == FILTER_CO) &&
	    (row->flags & QUERY_NOSUBSTR))
		goto broad;
	if (f->op == FILTER_NE && (row->flags & QUERY_MULTI))
		goto broad;
	val = query_value(f->value);
	if (val == NULL)
		goto broad;
	if (query_ldap_folds(f->value))
		*exact = false; /* slapd's answer is a superset: the engine narrows it */
	if (f->op != FILTER_EQ && f->op != FILTER_NE && val[0] == '\0') {
		/* sw/ew/co "": every present value matches. */
		strbuf_add(b, "(");
		strbuf_add(b, desc);
		strbuf_add(b, "=*)");
		free(val);
		return 1;
	}
	if (f->op == FILTER_NE)
		strbuf_add(b, "(!");
	if (row->flags & QUERY_SYNTH_SN)
		strbuf_add(b, "(&(!(rbSynthetic=sn))");
	strbuf_add(b, "(");
	strbuf_add(b, desc);
	strbuf_add(b, "=");
	strbuf_add(b, pre);
	strbuf_add(b, val);
	strbuf_add(b, post);
	strbuf_add(b, ")");
	if (row->flags & QUERY_SYNTH_SN)
		strbuf_add(b, ")");
	if (f->op == FILTER_NE)
		strbuf_add(b, ")");
	free(val);
	return 1;
broad:
	free(val);
	*exact = false;
	return 0;
}

static int
query_node(const struct filter *f, const struct query_attr *table, const char *source,
           struct strbuf *b, bool *exact)
{
	struct strbuf l = {0}, r = {0};
	bool lexact = true, rexact = true;
	int lw, rw, ret = 0;

	switch (f->op) {
	case FILTER_AND:
		lw = query_node(f->left, table, source, &l, exact);
		rw = query_node(f->right, table, source, &r, exact);
		if (lw && rw) {
			strbuf_add(b, "(&");
			strbuf_add(b, l.s);
			strbuf_add(b, r.s);
			strbuf_add(b, ")");
		} else if (lw || rw) {
			strbuf_add(b, lw ? l.s : r.s);
		}
		ret = lw || rw;
		break;
	case FILTER_OR:
		lw = query_node(f->left, table, source, &l, exact);
		rw = query_node(f->right, table, source, &r, exact);
		if (lw && rw) {
			strbuf_add(b, "(|");
			strbuf_add(b, l.s);
			strbuf_add(b, r.s);
			strbuf_add(b, ")");
			ret = 1;
		}
		/* One side "true": the whole `or` is "true" (broad). */
		break;
	case FILTER_NOT:
		lw = query_node(f->left, table, source, &l, &lexact);
		if (lw && lexact) {
			strbuf_add(b, "(!");
			strbuf_add(b, l.s);
			strbuf_add(b, ")");
			ret = 1;
		} else {
			*exact = false;
		}
		break;
	case FILTER_VALUEPATH:
		/* Complex value filters run in the evaluator. */
		*exact = false;
		break;
	default:
		ret = query_compare(f, table, source, b, &rexact);
		if (!rexact)
			*exact = false;
		break;
	}
	if (l.failed || r.failed)
		b->failed = true;
	free(l.s);
	free(r.s);
	return ret;
}

char *
query_translate(const struct filter *f, const struct query_attr *table, const char *objfilter,
                const char *source, bool *exact)
{
	struct strbuf node = {0}, out = {0};
	int wrote = 0;

	*exact = true;
	if (f != NULL)
		wrote = query_node(f, table, source, &node, exact);
	if (wrote && *objfilter == '\0') {
		/* The caller tests the class itself (struct dir_type's own). */
		strbuf_add(&out, node.s);
	} else if (wrote) {
		/* The client's terms, then the class (a DIR_CLASS term, which
		 * back-mdb reads no index for: docs/schema.md, "Cost per request"). */
		strbuf_add(&out, "(&");
		strbuf_add(&out, node.s);
		strbuf_add(&out, objfilter);
		strbuf_add(&out, ")");
	} else {
		strbuf_add(&out, *objfilter != '\0' ? objfilter : "(objectClass=*)");
	}
	free(node.s);
	if (node.failed || out.failed) {
		free(out.s);
		return NULL;
	}
	return out.s;
}
