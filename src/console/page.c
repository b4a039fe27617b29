/*
 * page.c — console pages as libxml2 HTML trees; see console.h.
 *
 * Text and attribute values enter the tree as data (xmlNewTextChild,
 * xmlNewText, xmlSetProp) and the serialiser escapes them: no string of
 * markup is ever built by hand, so a name like "<script>" is shown, not
 * run. Every page carries a Content-Security-Policy without scripts.
 */
#include "console/console.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(s) ((const xmlChar *)(s))

xmlNodePtr
page_el(xmlNodePtr parent, const char *tag, const char *text)
{
	return xmlNewTextChild(parent, NULL, X(tag), text ? X(text) : NULL);
}

void
page_attr(xmlNodePtr node, const char *name, const char *value)
{
	if (node != NULL && value != NULL)
		xmlSetProp(node, X(name), X(value));
}

xmlNodePtr
page_link(xmlNodePtr parent, const char *href, const char *text)
{
	xmlNodePtr a = page_el(parent, "a", text);

	page_attr(a, "href", href);
	return a;
}

void
page_hidden(xmlNodePtr form, const char *name, const char *value)
{
	xmlNodePtr in = page_el(form, "input", NULL);

	page_attr(in, "type", "hidden");
	page_attr(in, "name", name);
	page_attr(in, "value", value);
}

xmlNodePtr
page_form(xmlNodePtr parent, struct console_req *cr, const char *action)
{
	xmlNodePtr f = page_el(parent, "form", NULL);

	page_attr(f, "method", "post");
	page_attr(f, "action", action);
	page_hidden(f, "csrf", cr->csrf);
	return f;
}

xmlNodePtr
page_field(xmlNodePtr form, const char *type, const char *name, const char *label,
           const char *value, const char *error)
{
	xmlNodePtr div = page_el(form, "div", NULL), l, in;
	char id[80], eid[96];

	snprintf(id, sizeof(id), "f-%s", name);
	snprintf(eid, sizeof(eid), "e-%s", name);
	page_attr(div, "class", error ? "field invalid" : "field");
	l = page_el(div, "label", label);
	page_attr(l, "for", id);
	in = page_el(div, "input", NULL);
	page_attr(in, "type", type);
	page_attr(in, "id", id);
	page_attr(in, "name", name);
	if (value != NULL && strcmp(type, "password") != 0)
		page_attr(in, "value", value);
	if (error != NULL) {
		xmlNodePtr e = page_el(div, "p", error);
		page_attr(e, "class", "error");
		page_attr(e, "id", eid);
		page_attr(in, "aria-invalid", "true");
		page_attr(in, "aria-describedby", eid);
	}
	return in;
}

void
page_notice(xmlNodePtr parent, const char *text, bool alert)
{
	xmlNodePtr p = page_el(parent, "p", text);

	page_attr(p, "class", alert ? "notice alert" : "notice");
	page_attr(p, "role", alert ? "alert" : "status");
}

void
page_new(struct page *p, struct console_req *cr, const char *title)
{
	xmlNodePtr html, head, meta, link, header, nav, brand;
	struct rb_error err;
	const json_t *t;
	char buf[256];

	memset(p, 0, sizeof(*p));
	p->doc = htmlNewDocNoDtD(NULL, NULL);
	html = xmlNewNode(NULL, X("html"));
	xmlDocSetRootElement(p->doc, html);
	page_attr(html, "lang", "en");
	head = page_el(html, "head", NULL);
	meta = page_el(head, "meta", NULL);
	page_attr(meta, "charset", "utf-8");
	meta = page_el(head, "meta", NULL);
	page_attr(meta, "name", "viewport");
	page_attr(meta, "content", "width=device-width, initial-scale=1");
	snprintf(buf, sizeof(buf), "%s — rosterbridge", title);
	page_el(head, "title", buf);
	link = page_el(head, "link", NULL);
	page_attr(link, "rel", "stylesheet");
	page_attr(link, "href", "/console/style.css");
	p->body = page_el(html, "body", NULL);
	page_attr(page_link(p->body, "#main", "Skip to content"), "class", "skip");
	header = page_el(p->body, "header", NULL);
	error_clear(&err);
	t = cr->tenant ? console_tenant(cr, &err) : NULL;
	brand = page_el(header, "p",
	                t ? json_string_value(json_object_get(t, "name")) : "rosterbridge");
	page_attr(brand, "class", "brand");
	if (cr->signed_in) {
		xmlNodePtr f, b, who;
		nav = page_el(header, "nav", NULL);
		page_attr(nav, "aria-label", "Main");
		snprintf(buf, sizeof(buf), "%s/", cr->prefix);
		page_link(nav, buf, "Dashboard");
		if (cr->can_manage) {
			snprintf(buf, sizeof(buf), "%s/admins", cr->prefix);
			page_link(nav, buf, "Manage Administrators");
		}
		who =
		    page_el(nav, "span", json_string_value(json_object_get(cr->actor, "userName")));
		page_attr(who, "class", "who");
		snprintf(buf, sizeof(buf), "%s/signout", cr->prefix);
		f = page_form(nav, cr, buf);
		page_attr(f, "class", "inline");
		b = page_el(f, "button", "Sign out");
		page_attr(b, "type", "submit");
	}
	p->main = page_el(p->body, "main", NULL);
	page_attr(p->main, "id", "main");
	page_el(p->main, "h1", title);
}

void
page_free(struct page *p)
{
	if (p->doc != NULL)
		xmlFreeDoc(p->doc);
	p->doc = NULL;
}

static void
page_security_headers(struct http_response *res)
{
	response_header(res, "Content-Security-Policy",
	                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
	                "frame-ancestors 'none'; base-uri 'none'");
	response_header(res, "X-Frame-Options", "DENY");
	response_header(res, "X-Content-Type-Options", "nosniff");
	response_header(res, "Referrer-Policy", "no-referrer");
	response_header(res, "Cache-Control", "no-store");
}

void
page_send(struct page *p, struct console_req *cr, int status)
{
	xmlChar *mem = NULL;
	int size = 0;
	size_t n;
	char *out;

	htmlDocDumpMemoryFormat(p->doc, &mem, &size, 0);
	page_free(p);
	n = mem ? (size_t)size : 0;
	out = malloc(n + 17);
	if (out == NULL) {
		xmlFree(mem);
		response_errorf(cr->res, 500, NULL, "out of memory");
		return;
	}
	memcpy(out, "<!DOCTYPE html>\n", 16);
	if (n)
		memcpy(out + 16, mem, n);
	out[16 + n] = '\0';
	xmlFree(mem);
	cr->res->status = status;
	cr->res->text = out;
	cr->res->text_type = "text/html; charset=utf-8";
	page_security_headers(cr->res);
}

void
page_redirect(struct console_req *cr, const char *location)
{
	response_header(cr->res, "Location", location);
	page_security_headers(cr->res);
	response_text(cr->res, 303, "text/plain; charset=utf-8", "See Other\n");
}

void
page_message(struct console_req *cr, int status, const char *title, const char *text)
{
	struct page p;

	page_new(&p, cr, title);
	page_el(p.main, "p", text);
	page_send(&p, cr, status);
}

static const char page_css[] =
    ":root{--blue:#1865f2;--ink:#21242c;--line:#d6d8da;--bg:#f7f8fa;--red:#b8261e}\n"
    "*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--ink);"
    "background:var(--bg)}\n"
    ".skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}"
    "\n"
    "header{display:flex;align-items:center;gap:24px;padding:10px "
    "24px;background:#0a2a66;color:#fff}\n"
    "header a,header .who{color:#fff}.brand{font-weight:700;margin:0}nav{display:flex;gap:16px;"
    "align-items:center;flex:1}nav .who{margin-left:auto;opacity:.8}\n"
    "main{max-width:1180px;margin:24px auto;padding:0 24px}h1{font-size:24px}\n"
    "table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:8px;"
    "border-bottom:1px solid var(--line);vertical-align:top}th a{color:inherit}\n"
    ".button,button{background:var(--blue);color:#fff;border:0;border-radius:4px;padding:8px 14px;"
    "font:inherit;cursor:pointer;text-decoration:none;display:inline-block}\n"
    "button.link{background:none;color:var(--blue);padding:2px 0}.danger{background:var(--red)}\n"
    "form.inline{display:inline}.field{margin:12px 0}.field label{display:block;font-weight:600}\n"
    "input[type=text],input[type=email],input[type=password],input[type=search],select{padding:6px;"
    "border:1px solid var(--line);border-radius:4px;min-width:280px;font:inherit}\n"
    ".invalid input{border-color:var(--red)}.error{color:var(--red);margin:4px 0}\n"
    ".notice{background:#e8f0fe;border-left:4px solid var(--blue);padding:8px 12px}\n"
    ".alert{background:#fdecea;border-left-color:var(--red)}\n"
    "fieldset{border:1px solid var(--line);margin:12px 0;background:#fff}\n"
    ".status-invited{color:#8a5a00}.status-failed,.status-expired{color:var(--red)}\n"
    "details.menu{position:relative}details.menu summary{cursor:pointer;list-style:none;padding:0 "
    "6px;"
    "font-weight:700}details.menu ul{position:absolute;right:0;z-index:2;background:#fff;"
    "border:1px solid var(--line);list-style:none;margin:0;padding:6px;min-width:210px}\n"
    ".toolbar{display:flex;gap:12px;align-items:end;margin:12px 0}.pager{margin:12px 0}\n"
    ".sources li{margin:0}ul.sources{padding-left:16px;margin:0}\n";

void
page_stylesheet(struct http_response *res)
{
	response_text(res, 200, "text/css; charset=utf-8", page_css);
	response_header(res, "Cache-Control", "max-age=300");
	response_header(res, "X-Content-Type-Options", "nosniff");
}
