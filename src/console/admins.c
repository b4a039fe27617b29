/*
 * admins.c — Manage Administrators, Invite Users and the row menu (Edit,
 * Resend invitation, Delete administrator access); see console.h.
 *
 * Every write goes through the SCIM side's own flows as the source
 * "in-product" (dir_user_create / dir_user_patch / dir_user_delete), after
 * scope_may_grant (grants_may_grant) said yes for the grant given — and,
 * for an edit or a removal, for the grant as it was: nobody changes a
 * grant wider than their own. Inviting and resending are dir_admin_invite
 * and dir_admin_resend (dir/invitations.c), the path the invitations API
 * (api.c, for rosterctl) takes too.
 */
#include "console/console.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/schema.h"
#include "engine/validate.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "mail/mail.h"

#define ADMINS_PAGE 25

/* What a grant form said, and what is wrong with it (field → message). */
struct grant_input {
	json_t *grant;  /* NEW: {scope, schools, region, permission, canManageAdmins} */
	json_t *errors; /* NEW: {field: message} */
};

/* ---- reading a SCIM user for display ---- */

static const char *
admins_name(const json_t *user)
{
	const char *n = json_string_value(json_object_get(user, "displayName"));

	if (n == NULL)
		n = json_string_value(json_object_get(json_object_get(user, "name"), "formatted"));
	return str_or(n, json_string_value(json_object_get(user, "userName")));
}

static const char *
admins_email(const json_t *user)
{
	const json_t *invite = json_object_get(user, "invite"), *emails, *e;
	const char *m = json_string_value(json_object_get(invite, "mail"));
	size_t i;

	if (m != NULL)
		return m;
	emails = json_object_get(user, "emails");
	json_array_foreach(emails, i, e) if (
	    json_is_true(json_object_get(
	        e, "primary"))) return json_string_value(json_object_get(e, "value"));
	m = json_string_value(json_object_get(json_array_get(emails, 0), "value"));
	return str_or(m, json_string_value(json_object_get(user, "userName")));
}

static const json_t *
admins_grants(const json_t *user)
{
	return json_object_get(json_object_get(user, SCHEMA_ADMIN_USER), "grants");
}

static const char *
admins_perm_label(const json_t *g)
{
	const char *p = json_string_value(json_object_get(g, "permission"));

	return p && !strcmp(p, "manage") ? "Manage" : "View";
}

/* "Clever: Manage at Lincoln Elementary, can manage administrators (suspended)". NEW. */
static char *
admins_grant_line(struct console_req *cr, const json_t *g, bool with_source)
{
	struct strbuf b = {0};
	char *where = scope_describe(cr, g);
	const char *origin = json_string_value(json_object_get(g, "origin"));

	if (with_source) {
		strbuf_add(&b, scope_source_label(json_string_value(json_object_get(g, "source"))));
		if (origin && strcmp(origin, "direct") != 0)
			strbuf_add(&b, " (role group)");
		strbuf_add(&b, ": ");
	}
	strbuf_add(&b, admins_perm_label(g));
	strbuf_add(&b, " at ");
	strbuf_add(&b, where ? where : "?");
	if (json_is_true(json_object_get(g, "canManageAdmins")))
		strbuf_add(&b, ", can manage administrators");
	if (!json_is_true(json_object_get(g, "active")))
		strbuf_add(&b, " (not active)");
	free(where);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Invite status label and CSS class of a listed user. */
static const char *
admins_status(const json_t *user, const char **cls, const char **detail)
{
	const json_t *inv = json_object_get(user, "invite");
	const char *status = json_string_value(json_object_get(inv, "status"));
	json_int_t exp = json_integer_value(json_object_get(inv, "expires"));

	*cls = "status-active";
	*detail = NULL;
	if (status == NULL)
		return "Active (rostered)";
	if (!strcmp(status, "active"))
		return "Active";
	if (json_is_string(json_object_get(inv, "error"))) {
		*cls = "status-failed";
		*detail = json_string_value(json_object_get(inv, "error"));
		return "Delivery failed";
	}
	if (exp != 0 && exp <= (json_int_t)time(NULL)) {
		*cls = "status-expired";
		return "Expired";
	}
	*cls = "status-invited";
	if (exp == 0)
		*detail = "the e-mail is waiting to be sent";
	return "Invited";
}

/* ---- the list ---- */

static void
admins_sort_link(struct console_req *cr, xmlNodePtr th, const char *label, const char *key,
                 const char *cur, bool desc, const char *q)
{
	char *eq = url_encode(q ? q : "");
	char href[512];
	bool on = !strcmp(cur, key);

	snprintf(href, sizeof(href), "%s/admins?sort=%s&dir=%s%s%s", cr->prefix, key,
	         on && !desc ? "desc" : "asc", eq && *eq ? "&q=" : "", eq ? eq : "");
	free(eq);
	page_link(th, href, label);
	if (on)
		page_attr(th, "aria-sort", desc ? "descending" : "ascending");
}

static void
admins_row_menu(struct console_req *cr, xmlNodePtr td, const json_t *user)
{
	const char *id = json_string_value(json_object_get(user, "id"));
	const json_t *inv = json_object_get(user, "invite");
	const char *status = json_string_value(json_object_get(inv, "status"));
	xmlNodePtr det, sum, ul, li, f, b;
	char buf[256], label[300];

	if (dir_inproduct_grant(user) == NULL) {
		page_el(td, "span", "Managed by its roster source");
		return;
	}
	det = page_el(td, "details", NULL);
	page_attr(det, "class", "menu");
	sum = page_el(det, "summary", "⋯");
	snprintf(label, sizeof(label), "Actions for %s", admins_name(user));
	page_attr(sum, "aria-label", label);
	page_attr(sum, "title", label);
	ul = page_el(det, "ul", NULL);
	li = page_el(ul, "li", NULL);
	snprintf(buf, sizeof(buf), "%s/admins/%s/edit", cr->prefix, id);
	page_link(li, buf, "Edit");
	if (status != NULL && !strcmp(status, "invited")) {
		li = page_el(ul, "li", NULL);
		snprintf(buf, sizeof(buf), "%s/admins/%s/resend", cr->prefix, id);
		f = page_form(li, cr, buf);
		b = page_el(f, "button", "Resend invitation");
		page_attr(b, "type", "submit");
		page_attr(b, "class", "link");
	}
	li = page_el(ul, "li", NULL);
	snprintf(buf, sizeof(buf), "%s/admins/%s/delete", cr->prefix, id);
	page_link(li, buf, "Delete administrator access");
}

static const char *
admins_notice_text(const char *notice)
{
	static const struct {
		const char *code, *text;
	} notices[] = {
	    {"invited", "Invitation sent. The administrator will receive an e-mail to confirm "
	                "their account."},
	    {"resent", "A new invitation is on its way; the previous link no longer works."},
	    {"edited", "The administrator's in-product access was updated."},
	};
	size_t i;

	for (i = 0; notice && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (!strcmp(notice, notices[i].code))
			return notices[i].text;
	return NULL;
}

void
admins_list(struct console_req *cr, const char *notice)
{
	const char *q = request_arg(cr->req, "q"), *sort = request_arg(cr->req, "sort");
	const char *dir = request_arg(cr->req, "dir"), *pagearg = request_arg(cr->req, "page");
	struct dir_admin_query dq;
	struct scope sc;
	struct rb_error err;
	struct page p;
	json_t *users = NULL;
	const json_t *u;
	xmlNodePtr bar, f, b, table, tr, td, ul;
	long total = 0, pageno = pagearg ? strtol(pagearg, NULL, 10) : 1;
	char buf[600], *eq;
	size_t i;

	error_clear(&err);
	if (sort == NULL ||
	    (strcmp(sort, "name") && strcmp(sort, "email") && strcmp(sort, "status")))
		sort = "name";
	if (pageno < 1 || pageno > 100000)
		pageno = 1;
	if (scope_of(cr, &sc, &err) < 0) {
		page_message(cr, 503, "Manage Administrators", "The directory is not reachable.");
		return;
	}
	memset(&dq, 0, sizeof(dq));
	dq.search = q;
	dq.sort = sort;
	dq.descending = dir && !strcmp(dir, "desc");
	dq.offset = (pageno - 1) * ADMINS_PAGE;
	dq.count = ADMINS_PAGE;
	dq.all = sc.all;
	dq.schools = sc.schools;
	dq.regions = sc.regions;
	users = dir_admin_list(&cr->ctx, &dq, &total, &err);
	scope_free(&sc);
	if (users == NULL) {
		page_message(cr, err.status == 503 ? 503 : 500, "Manage Administrators",
		             err.detail);
		return;
	}

	page_new(&p, cr, "Manage Administrators");
	if (admins_notice_text(notice))
		page_notice(p.main, admins_notice_text(notice), false);
	page_el(p.main, "p",
	        "Who has administrator access, at which schools, with which permission, and "
	        "which roster source grants it. Administrators added here are not updated or "
	        "removed by your SIS.");
	bar = page_el(p.main, "div", NULL);
	page_attr(bar, "class", "toolbar");
	f = page_el(bar, "form", NULL);
	page_attr(f, "method", "get");
	snprintf(buf, sizeof(buf), "%s/admins", cr->prefix);
	page_attr(f, "action", buf);
	page_attr(f, "role", "search");
	page_field(f, "search", "q", "Search by name or e-mail", q, NULL);
	page_hidden(f, "sort", sort);
	b = page_el(f, "button", "Search");
	page_attr(b, "type", "submit");
	snprintf(buf, sizeof(buf), "%s/admins/invite", cr->prefix);
	page_attr(page_link(bar, buf, "Invite Users"), "class", "button");

	snprintf(buf, sizeof(buf), "%ld administrator%s%s", total, total == 1 ? "" : "s",
	         q && *q ? " match the search" : "");
	page_attr(page_el(p.main, "p", buf), "id", "count");
	table = page_el(p.main, "table", NULL);
	page_attr(table, "id", "admins");
	page_el(table, "caption", "Administrators");
	tr = page_el(page_el(table, "thead", NULL), "tr", NULL);
	admins_sort_link(cr, page_el(tr, "th", NULL), "Name", "name", sort, dq.descending, q);
	admins_sort_link(cr, page_el(tr, "th", NULL), "E-mail", "email", sort, dq.descending, q);
	page_el(tr, "th", "Schools");
	page_el(tr, "th", "Permission");
	page_el(tr, "th", "Can manage admins");
	page_el(tr, "th", "Roster source(s)");
	admins_sort_link(cr, page_el(tr, "th", NULL), "Invite status", "status", sort,
	                 dq.descending, q);
	page_el(tr, "th", "Actions");
	tr = page_el(table, "tbody", NULL);
	json_array_foreach(users, i, u)
	{
		xmlNodePtr row = page_el(tr, "tr", NULL), schools_td;
		const json_t *g;
		size_t j;
		bool manage = false, cma = false;
		const char *cls, *detail, *status;

		page_attr(row, "data-id", json_string_value(json_object_get(u, "id")));
		page_el(row, "td", admins_name(u));
		page_el(row, "td", admins_email(u));
		schools_td = page_el(row, "td", NULL);
		td = page_el(row, "td", NULL);
		{
			/* Effective access: the active grants; with none active (an invitation not
			 * confirmed yet, a suspension), what the grants would give, said so. */
			json_t *shown = json_array();
			bool any_active = false, m_all = false, c_all = false;
			json_array_foreach(admins_grants(u), j, g)
			{
				char *where = scope_describe(cr, g);
				bool dup = false;
				size_t k;
				for (k = 0; where && k < json_array_size(shown); k++)
					dup |= !strcmp(json_string_value(json_array_get(shown, k)),
					               where);
				if (where && !dup) {
					page_el(schools_td, "div", where);
					json_array_append_new(shown, json_string(where));
				}
				free(where);
				m_all |= !strcmp(admins_perm_label(g), "Manage");
				c_all |= json_is_true(json_object_get(g, "canManageAdmins"));
				if (json_is_true(json_object_get(g, "active"))) {
					any_active = true;
					manage |= !strcmp(admins_perm_label(g), "Manage");
					cma |= json_is_true(json_object_get(g, "canManageAdmins"));
				}
			}
			json_decref(shown);
			if (!any_active) {
				manage = m_all;
				cma = c_all;
			}
			page_el(td, "span",
			        any_active
			            ? (manage ? "Manage" : "View")
			            : (manage ? "Manage (not active)" : "View (not active)"));
		}
		page_el(row, "td", cma ? "Yes" : "No");
		ul = page_el(page_el(row, "td", NULL), "ul", NULL);
		page_attr(ul, "class", "sources");
		json_array_foreach(admins_grants(u), j, g)
		{
			char *line = admins_grant_line(cr, g, true);
			page_el(ul, "li", line);
			free(line);
		}
		status = admins_status(u, &cls, &detail);
		td = page_el(row, "td", NULL);
		page_attr(page_el(td, "span", status), "class", cls);
		if (detail != NULL)
			page_attr(page_el(td, "div", detail), "class", "detail");
		admins_row_menu(cr, page_el(row, "td", NULL), u);
	}
	if (json_array_size(users) == 0)
		page_el(page_el(tr, "tr", NULL), "td", "No administrators to show.");

	eq = url_encode(q ? q : "");
	f = page_el(p.main, "nav", NULL);
	page_attr(f, "class", "pager");
	page_attr(f, "aria-label", "Pages");
	snprintf(buf, sizeof(buf), "Page %ld of %ld", pageno,
	         total ? (total + ADMINS_PAGE - 1) / ADMINS_PAGE : 1);
	page_el(f, "span", buf);
	if (pageno > 1) {
		snprintf(buf, sizeof(buf), "%s/admins?sort=%s&dir=%s&page=%ld&q=%s", cr->prefix,
		         sort, dq.descending ? "desc" : "asc", pageno - 1, eq ? eq : "");
		page_attr(page_link(f, buf, "Previous"), "rel", "prev");
	}
	if (pageno * ADMINS_PAGE < total) {
		snprintf(buf, sizeof(buf), "%s/admins?sort=%s&dir=%s&page=%ld&q=%s", cr->prefix,
		         sort, dq.descending ? "desc" : "asc", pageno + 1, eq ? eq : "");
		page_attr(page_link(f, buf, "Next"), "rel", "next");
	}
	free(eq);
	json_decref(users);
	page_send(&p, cr, 200);
}

/* ---- the grant form (invite and edit) ---- */

static bool
admins_checked(const json_t *form, const char *name, const char *value)
{
	const json_t *vals = form_all(form, name), *v;
	size_t i;

	json_array_foreach(vals, i, v) if (!strcmp(json_string_value(v), value)) return true;
	return false;
}

static xmlNodePtr
admins_choice(xmlNodePtr parent, const char *type, const char *name, const char *value,
              const char *label, bool checked)
{
	xmlNodePtr div = page_el(parent, "div", NULL), in, l;
	char id[128];

	snprintf(id, sizeof(id), "c-%s-%s", name, value);
	in = page_el(div, "input", NULL);
	page_attr(in, "type", type);
	page_attr(in, "name", name);
	page_attr(in, "value", value);
	page_attr(in, "id", id);
	if (checked)
		page_attr(in, "checked", "checked");
	l = page_el(div, "label", label);
	page_attr(l, "for", id);
	return in;
}

static void
admins_error(xmlNodePtr parent, const json_t *errors, const char *field)
{
	const char *e = json_string_value(json_object_get(errors, field));

	if (e != NULL)
		page_attr(page_el(parent, "p", e), "class", "error");
}

/*
 * The region a partnership form is about: the one chosen, else (an edit of
 * a school role) the region of its first school; NULL when neither.
 * Borrowed from `values` or the tenant's schools.
 */
static const char *
admins_region_of(struct console_req *cr, const json_t *values)
{
	struct rb_error err;
	const char *region = form_get(values, "region"), *first;
	const json_t *schools, *s;
	size_t i;

	if (region != NULL && *region != '\0')
		return region;
	first = json_string_value(json_array_get(form_all(values, "school"), 0));
	error_clear(&err);
	schools = first ? console_schools(cr, &err) : NULL;
	json_array_foreach(
	    schools, i,
	    s) if (!strcasecmp(json_string_value(json_object_get(s, "id")),
	                       first)) return json_string_value(json_object_get(s, "region"));
	return NULL;
}

/*
 * The grant part of the invite and edit forms: role (partnership), all
 * schools (district), the schools the actor covers, permission, the
 * can-manage-admins checkbox. `values` is the posted form, or for an edit
 * a form made from the current grant.
 */
static int
admins_grant_fields(struct console_req *cr, xmlNodePtr f, const json_t *values,
                    const json_t *errors, struct rb_error *err)
{
	const json_t *tenant = console_tenant(cr, err), *schools = console_schools(cr, err), *s;
	const char *region = NULL;
	bool partnership;
	struct scope sc;
	xmlNodePtr fs, b;
	size_t i;

	if (tenant == NULL || schools == NULL || scope_of(cr, &sc, err) < 0)
		return -1;
	partnership = !strcmp(json_string_value(json_object_get(tenant, "kind")), "partnership");
	if (partnership) {
		const json_t *regions = console_regions(cr, err), *r;
		xmlNodePtr sel, l, div;
		fs = page_el(f, "fieldset", NULL);
		page_el(fs, "legend", "Role");
		admins_error(fs, errors, "role");
		admins_choice(fs, "radio", "role", "partnership",
		              "Full partnership role: every region and school of the partnership",
		              admins_checked(values, "role", "partnership"));
		admins_choice(fs, "radio", "role", "region",
		              "Region role: every school of the region chosen below",
		              admins_checked(values, "role", "region"));
		admins_choice(
		    fs, "radio", "role", "school", "School role: the schools chosen below",
		    !form_get(values, "role") || admins_checked(values, "role", "school"));
		div = page_el(fs, "div", NULL);
		page_attr(div, "class", "field");
		l = page_el(div, "label", "Region");
		page_attr(l, "for", "f-region");
		sel = page_el(div, "select", NULL);
		page_attr(sel, "id", "f-region");
		page_attr(sel, "name", "region");
		page_el(sel, "option", "—");
		region = admins_region_of(cr, values);
		json_array_foreach(regions, i, r)
		{
			xmlNodePtr o =
			    page_el(sel, "option", json_string_value(json_object_get(r, "name")));
			const char *rid = json_string_value(json_object_get(r, "id"));
			page_attr(o, "value", rid);
			if (region != NULL && !strcmp(region, rid))
				page_attr(o, "selected", "selected");
		}
		/* Without JavaScript, the school step is a round trip: this button sends the
		 * form back (nothing is saved) and the page lists that region's schools. */
		b = page_el(div, "button", "Show the schools of this region");
		page_attr(b, "type", "submit");
		page_attr(b, "name", "step");
		page_attr(b, "value", "schools");
		page_attr(b, "class", "secondary");
	}
	fs = page_el(f, "fieldset", NULL);
	if (partnership && region != NULL) {
		char legend[300];
		snprintf(legend, sizeof(legend), "Schools of %s (school role)",
		         scope_region_name(cr, region));
		page_el(fs, "legend", legend);
	} else {
		page_el(fs, "legend", partnership ? "Schools (school role)" : "Schools");
	}
	admins_error(fs, errors, "schools");
	if (!partnership && sc.all)
		admins_choice(fs, "checkbox", "all", "1", "All schools (district-level access)",
		              admins_checked(values, "all", "1"));
	if (partnership && region == NULL)
		page_attr(page_el(fs, "p",
		                  "Choose the region above and press \"Show the schools of this "
		                  "region\": a school role is for schools of one region."),
		          "class", "hint");
	json_array_foreach(schools, i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *sregion = json_string_value(json_object_get(s, "region"));
		bool mine = sc.all;
		size_t j;
		for (j = 0; !mine && j < json_array_size(sc.schools); j++)
			mine = !strcasecmp(json_string_value(json_array_get(sc.schools, j)), id);
		/* A partnership's school step lists the chosen region's schools only. */
		if (partnership && (region == NULL || sregion == NULL || strcmp(sregion, region)))
			continue;
		if (mine)
			admins_choice(fs, "checkbox", "school", id,
			              json_string_value(json_object_get(s, "name")),
			              admins_checked(values, "school", id));
	}
	fs = page_el(f, "fieldset", NULL);
	page_el(fs, "legend", "Permission");
	admins_error(fs, errors, "permission");
	admins_choice(
	    fs, "radio", "permission", "view", "View: can access the administrator dashboard",
	    !form_get(values, "permission") || admins_checked(values, "permission", "view"));
	admins_choice(fs, "radio", "permission", "manage",
	              "Manage: the dashboard and Manage Users for these schools",
	              admins_checked(values, "permission", "manage"));
	admins_choice(f, "checkbox", "can_manage", "1",
	              "User can invite and manage administrators for the assigned schools",
	              admins_checked(values, "can_manage", "1"));
	scope_free(&sc);
	return 0;
}

/*
 * A partnership's school role is for schools of the region chosen in the
 * role step: the server refuses any other (the form lists only those, but a
 * form is only what the browser sends). Sets errors["schools"].
 */
static void
admins_schools_in_region(struct console_req *cr, const json_t *list, const char *region,
                         json_t *errors)
{
	struct rb_error err;
	const json_t *schools, *want, *s;
	char msg[600];
	size_t i, j;

	if (region == NULL || *region == '\0') {
		json_object_set_new(errors, "schools",
		                    json_string("Choose the region of the schools first (Region, "
		                                "then \"Show the schools of this region\")."));
		return;
	}
	error_clear(&err);
	schools = console_schools(cr, &err);
	json_array_foreach(list, i, want)
	{
		const char *id = json_string_value(want), *sregion = NULL;
		json_array_foreach(
		    schools, j, s) if (!strcasecmp(json_string_value(json_object_get(s, "id")), id))
		    sregion = json_string_value(json_object_get(s, "region"));
		if (sregion != NULL && !strcmp(sregion, region))
			continue;
		snprintf(msg, sizeof(msg),
		         "%s is not a school of %s: choose schools of the region chosen above.",
		         scope_school_name(cr, id), scope_region_name(cr, region));
		json_object_set_new(errors, "schools", json_string(msg));
		return;
	}
}

/* The grant a posted form asks for, or the errors of the form. */
static int
admins_grant_read(struct console_req *cr, struct grant_input *gi, struct rb_error *err)
{
	const json_t *tenant = console_tenant(cr, err), *schools = form_all(cr->form, "school"), *v;
	const char *role = form_get(cr->form, "role"), *perm = form_get(cr->form, "permission");
	const char *region = form_get(cr->form, "region");
	bool partnership;
	size_t i;

	gi->grant = json_object();
	gi->errors = json_object();
	if (tenant == NULL)
		return -1;
	partnership = !strcmp(json_string_value(json_object_get(tenant, "kind")), "partnership");
	if (perm == NULL || (strcmp(perm, "view") && strcmp(perm, "manage")))
		json_object_set_new(gi->errors, "permission",
		                    json_string("Choose View or Manage."));
	json_object_set_new(gi->grant, "permission", json_string(perm ? perm : "view"));
	json_object_set_new(gi->grant, "canManageAdmins",
	                    json_boolean(admins_checked(cr->form, "can_manage", "1")));
	json_object_set_new(gi->grant, "active", json_true());
	if (partnership && role && !strcmp(role, "partnership")) {
		json_object_set_new(gi->grant, "scope", json_string("partnership"));
	} else if (partnership && role && !strcmp(role, "region")) {
		bool known = false;
		const json_t *regions = console_regions(cr, err), *r;
		json_array_foreach(regions, i, r) known |=
		    region && !strcmp(json_string_value(json_object_get(r, "id")), region);
		if (!known)
			json_object_set_new(gi->errors, "role",
			                    json_string("Choose the region of the role."));
		json_object_set_new(gi->grant, "scope", json_string("region"));
		json_object_set_new(gi->grant, "region",
		                    json_string(region && known ? region : ""));
	} else if (!partnership && admins_checked(cr->form, "all", "1")) {
		json_object_set_new(gi->grant, "scope", json_string("district"));
	} else {
		json_t *list = json_array();
		json_object_set_new(gi->grant, "scope", json_string("school"));
		json_array_foreach(schools, i, v)
		{
			const char *id = json_string_value(v);
			if (dir_id_valid(id))
				json_array_append_new(list, json_string(id));
		}
		if (json_array_size(list) == 0)
			json_object_set_new(gi->errors, "schools",
			                    json_string(partnership
			                                    ? "Choose at least one school, or "
			                                      "another role."
			                                    : "Choose at least one school, or All "
			                                      "schools."));
		else if (partnership)
			admins_schools_in_region(cr, list, region, gi->errors);
		json_object_set_new(gi->grant, "schools", list);
	}
	return 0;
}

/* A form-shaped object (as admins_grant_fields reads) from an existing grant. */
static json_t *
admins_form_of(const json_t *g)
{
	const char *scope = json_string_value(json_object_get(g, "scope"));
	json_t *form = json_object(), *schools = json_array();
	const json_t *s;
	size_t i;

	json_object_set_new(
	    form, "permission",
	    json_pack("[s]", str_or(json_string_value(json_object_get(g, "permission")), "view")));
	if (json_is_true(json_object_get(g, "canManageAdmins")))
		json_object_set_new(form, "can_manage", json_pack("[s]", "1"));
	if (scope && !strcmp(scope, "district"))
		json_object_set_new(form, "all", json_pack("[s]", "1"));
	json_object_set_new(
	    form, "role",
	    json_pack("[s]", scope && (!strcmp(scope, "partnership") || !strcmp(scope, "region"))
	                         ? scope
	                         : "school"));
	if (json_is_string(json_object_get(g, "region")))
		json_object_set_new(form, "region", json_pack("[O]", json_object_get(g, "region")));
	json_array_foreach(json_object_get(g, "schools"), i, s)
	    json_array_append_new(schools, json_copy((json_t *)s));
	json_object_set_new(form, "school", schools);
	return form;
}

static void
admins_invite_page(struct console_req *cr, int status, const json_t *errors, const char *alert)
{
	struct page p;
	struct rb_error err;
	char action[128];
	xmlNodePtr f, b;
	json_t *empty = json_object();

	error_clear(&err);
	page_new(&p, cr, "Invite Users");
	if (alert != NULL)
		page_notice(p.main, alert, true);
	page_el(p.main, "p",
	        "The administrator receives an e-mail to confirm their account. Use the "
	        "permission to invite and manage administrators sparingly.");
	snprintf(action, sizeof(action), "%s/admins/invite", cr->prefix);
	f = page_form(p.main, cr, action);
	page_attr(page_field(f, "text", "name", "Name", form_get(cr->form, "name"),
	                     json_string_value(json_object_get(errors, "name"))),
	          "autocomplete", "off");
	page_field(f, "email", "email", "E-mail address", form_get(cr->form, "email"),
	           json_string_value(json_object_get(errors, "email")));
	if (admins_grant_fields(cr, f, cr->form ? cr->form : empty, errors, &err) < 0) {
		json_decref(empty);
		page_free(&p);
		page_message(cr, 503, "Invite Users", "The directory is not reachable.");
		return;
	}
	b = page_el(f, "button", "Send Invite");
	page_attr(b, "type", "submit");
	json_decref(empty);
	page_send(&p, cr, status);
}

void
admins_invite(struct console_req *cr)
{
	struct grant_input gi = {NULL, NULL};
	struct rb_error err;
	const char *name = form_get(cr->form, "name"), *email = form_get(cr->form, "email");
	char loc[160];
	json_t *user = NULL;

	error_clear(&err);
	if (cr->req->method != HTTP_POST || form_get(cr->form, "step") != NULL) {
		/* a GET, or the role step's round trip (nothing is saved) */
		admins_invite_page(cr, 200, NULL, NULL);
		return;
	}
	if (admins_grant_read(cr, &gi, &err) < 0) {
		page_message(cr, 503, "Invite Users", "The directory is not reachable.");
		goto done;
	}
	if (name == NULL || *name == '\0' || strlen(name) > 200)
		json_object_set_new(gi.errors, "name",
		                    json_string("Enter the administrator's name."));
	if (email == NULL || !dir_email_valid(email))
		json_object_set_new(gi.errors, "email",
		                    json_string("Enter an e-mail address like name@school.org."));
	if (json_object_size(gi.errors) > 0) {
		admins_invite_page(cr, 400, gi.errors, "Check the fields marked below.");
		goto done;
	}
	if (dir_admin_invite(&cr->ctx, cr->grants, name, email, gi.grant, console_schools(cr, &err),
	                     &user, &err) < 0) {
		if (err.status == 403) {
			log_info("console: invite refused (tenant %s): %s", cr->tenant, err.detail);
			admins_invite_page(cr, 403, gi.errors, err.detail);
			goto done;
		}
		if (err.status == 409) {
			json_object_set_new(
			    gi.errors, "email",
			    json_string("This person already has in-product access: "
			                "use Edit in their row."));
			admins_invite_page(cr, 409, gi.errors, NULL);
			goto done;
		}
		goto fail;
	}
	mail_outbox_kick(cr->req->app->outbox);
	log_info("console: invitation queued (tenant %s)", cr->tenant);
	snprintf(loc, sizeof(loc), "%s/admins?notice=invited", cr->prefix);
	page_redirect(cr, loc);
	goto done;
fail:
	log_warnx("console: invite failed: %s", err.detail);
	admins_invite_page(cr, err.status >= 400 && err.status < 600 ? err.status : 500, gi.errors,
	                   err.detail);
done:
	json_decref(gi.grant);
	json_decref(gi.errors);
	json_decref(user);
}

/* ---- the row menu ---- */

static void
admins_edit_page(struct console_req *cr, const json_t *user, const json_t *values,
                 const json_t *errors, int status, const char *alert)
{
	struct page p;
	struct rb_error err;
	char action[160], buf[400];
	xmlNodePtr f, b;

	error_clear(&err);
	page_new(&p, cr, "Edit administrator");
	if (alert != NULL)
		page_notice(p.main, alert, true);
	snprintf(buf, sizeof(buf),
	         "%s (%s) — in-product access. Access from other roster sources "
	         "is changed there.",
	         admins_name(user), admins_email(user));
	page_el(p.main, "p", buf);
	snprintf(action, sizeof(action), "%s/admins/%s/edit", cr->prefix,
	         json_string_value(json_object_get(user, "id")));
	f = page_form(p.main, cr, action);
	if (admins_grant_fields(cr, f, values, errors, &err) < 0) {
		page_free(&p);
		page_message(cr, 503, "Edit administrator", "The directory is not reachable.");
		return;
	}
	b = page_el(f, "button", "Save");
	page_attr(b, "type", "submit");
	page_send(&p, cr, status);
}

static void
admins_delete_page(struct console_req *cr, const json_t *user, const json_t *g)
{
	struct page p;
	char action[160], buf[600], *line = admins_grant_line(cr, g, false);
	xmlNodePtr f, b;

	page_new(&p, cr, "Delete administrator access");
	snprintf(buf, sizeof(buf), "Remove the in-product access of %s (%s): %s?",
	         admins_name(user), admins_email(user), line ? line : "");
	free(line);
	page_el(p.main, "p", buf);
	snprintf(action, sizeof(action), "%s/admins/%s/delete", cr->prefix,
	         json_string_value(json_object_get(user, "id")));
	f = page_form(p.main, cr, action);
	b = page_el(f, "button", "Delete administrator access");
	page_attr(b, "type", "submit");
	page_attr(b, "class", "danger");
	snprintf(buf, sizeof(buf), "%s/admins", cr->prefix);
	page_link(p.main, buf, "Cancel");
	page_send(&p, cr, 200);
}

static void
admins_deleted_page(struct console_req *cr, const json_t *user)
{
	struct page p;
	const json_t *g;
	char buf[800];
	size_t i;
	bool others = false;

	page_new(&p, cr, "Administrator access removed");
	snprintf(buf, sizeof(buf), "%s no longer has in-product administrator access.",
	         admins_name(user));
	page_notice(p.main, buf, false);
	json_array_foreach(admins_grants(user), i, g)
	{
		const char *src = json_string_value(json_object_get(g, "source"));
		char *where;
		if (src == NULL || !strcmp(src, DIR_INPRODUCT) ||
		    !json_is_true(json_object_get(g, "active")))
			continue;
		where = scope_describe(cr, g);
		snprintf(buf, sizeof(buf), "%s still grants %s at %s — remove it there too.",
		         scope_source_label(src), admins_perm_label(g), where ? where : "?");
		free(where);
		page_attr(page_el(p.main, "p", buf), "class", "notice alert still-granted");
		others = true;
	}
	if (!others)
		page_el(p.main, "p", "No other roster source grants them access.");
	snprintf(buf, sizeof(buf), "%s/admins", cr->prefix);
	page_link(p.main, buf, "Back to Manage Administrators");
	page_send(&p, cr, 200);
}

void
admins_row(struct console_req *cr, const char *id, const char *action)
{
	struct rb_error err;
	json_t *user, *state = NULL, *patch = NULL, *after = NULL, *values = NULL;
	const json_t *g;
	struct grant_input gi = {NULL, NULL};
	char loc[160];
	bool post = cr->req->method == HTTP_POST;

	error_clear(&err);
	if (strcmp(action, "edit") && strcmp(action, "resend") && strcmp(action, "delete")) {
		page_message(cr, 404, "Not found", "There is no such page.");
		return;
	}
	user = dir_user_get(&cr->ctx, id, &err);
	if (user == NULL) {
		page_message(cr, err.status == 404 ? 404 : 503, "Administrator",
		             err.status == 404 ? "There is no such administrator."
		                               : "The directory is not reachable.");
		return;
	}
	state = dir_admin_invite_state(&cr->ctx, id, &err);
	if (state != NULL)
		json_object_set(user, "invite", state);
	g = dir_inproduct_grant(user);
	if (g == NULL) {
		page_message(cr, 404, "Administrator",
		             "This administrator has no in-product access: their roster source "
		             "manages them.");
		goto done;
	}
	/* Nobody changes, resends or removes a grant wider than their own. */
	if (scope_may_grant(cr, g, &err) < 0) {
		log_info("console: %s refused (tenant %s): %s", action, cr->tenant, err.detail);
		page_message(cr, err.status == 403 ? 403 : 503, "Not allowed",
		             err.status == 403 ? "This administrator's in-product access is wider "
		                                 "than your own: you cannot change it."
		                               : "The directory is not reachable.");
		goto done;
	}
	if (!strcmp(action, "edit")) {
		if (!post) {
			values = admins_form_of(g);
			admins_edit_page(cr, user, values, NULL, 200, NULL);
			goto done;
		}
		if (form_get(cr->form, "step") != NULL) { /* the role step's round trip */
			admins_edit_page(cr, user, cr->form, NULL, 200, NULL);
			goto done;
		}
		if (admins_grant_read(cr, &gi, &err) < 0)
			goto fail;
		if (json_object_size(gi.errors) > 0) {
			admins_edit_page(cr, user, cr->form, gi.errors, 400,
			                 "Check the fields marked below.");
			goto done;
		}
		if (scope_may_grant(cr, gi.grant, &err) < 0) {
			admins_edit_page(cr, user, cr->form, gi.errors,
			                 err.status == 403 ? 403 : 503, err.detail);
			goto done;
		}
		patch = dir_grant_patch(gi.grant, -1);
		after = dir_user_patch(&cr->ctx, id, patch, NULL, &err);
		if (after == NULL)
			goto fail;
		snprintf(loc, sizeof(loc), "%s/admins?notice=edited", cr->prefix);
		page_redirect(cr, loc);
	} else if (!strcmp(action, "resend")) {
		if (!post) {
			page_message(cr, 405, "Resend invitation",
			             "Use the Resend invitation button.");
			goto done;
		}
		if (dir_admin_resend(&cr->ctx, cr->grants, id, console_schools(cr, &err), &after,
		                     &err) < 0) {
			if (err.status != 409)
				goto fail;
			page_message(cr, 409, "Resend invitation",
			             "This administrator has already confirmed their account.");
			goto done;
		}
		mail_outbox_kick(cr->req->app->outbox);
		snprintf(loc, sizeof(loc), "%s/admins?notice=resent", cr->prefix);
		page_redirect(cr, loc);
	} else {
		if (!post) {
			admins_delete_page(cr, user, g);
			goto done;
		}
		if (dir_invite_clear(&cr->ctx, id, &err) < 0 ||
		    dir_user_delete(&cr->ctx, id, NULL, &err) < 0)
			goto fail;
		log_info("console: in-product access removed (tenant %s)", cr->tenant);
		admins_deleted_page(cr, user);
	}
	goto done;
fail:
	log_warnx("console: %s failed: %s", action, err.detail);
	page_message(cr, err.status >= 400 && err.status < 600 ? err.status : 500, "Administrator",
	             err.detail);
done:
	json_decref(user);
	json_decref(state);
	json_decref(patch);
	json_decref(after);
	json_decref(values);
	json_decref(gi.grant);
	json_decref(gi.errors);
}
