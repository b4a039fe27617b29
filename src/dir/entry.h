/*
 * entry.h — LDAP entries as "attribute maps", and the diff that turns two
 * maps into minimal LDAP modifications.
 *
 * Glossary
 *   description  an attribute name with options, e.g. "mail;x-type-work;x-primary"
 *                (RFC 4512 §2.5). Normalised: lower case, options sorted.
 *   map          a jansson object { description: [ value strings ] }.
 *                Each mapping (users, groups, schools) converts between a
 *                SCIM resource and a map; this file converts between a map
 *                and LDAP (entries read, LDAPMod arrays written).
 *   owned        the descriptions a mapping writes for a given source; a diff
 *                only ever touches owned descriptions, so one source's
 *                write never changes what another source owns.
 */
#ifndef RB_ENTRY_H
#define RB_ENTRY_H

#include <jansson.h>
#include <ldap.h>
#include <stdbool.h>

/*
 * entry_desc_normalise — "Mail;X-Type-Work;x-primary" → "mail;x-primary;x-type-work".
 * Returns a NEW malloc'd string, or NULL.
 */
char *entry_desc_normalise(const char *desc);

/* entry_desc_base — length of the attribute name before any ';'. */
size_t entry_desc_base_len(const char *desc);

/* entry_desc_has_option — true if normalised `desc` carries option `opt` (lower case). */
bool entry_desc_has_option(const char *desc, const char *opt);

/*
 * entry_desc_option_value — for a prefix option like "x-type-", the text
 * after the prefix of the first such option of `desc` ("work"), copied into
 * out (size outlen). Returns true if found.
 */
bool entry_desc_option_value(const char *desc, const char *prefix, char *out, size_t outlen);

/* entry_desc_secret — userPassword or rbInviteTokenHash (any options): never read into a map. */
bool entry_desc_secret(const char *desc);

/* entry_values_equal — two json arrays of strings hold the same set (order aside). */
bool entry_values_equal(const json_t *a, const json_t *b);

/*
 * entry_to_map — read one entry of a search result into a NEW map
 * (normalised descriptions). The entry's DN is stored under the key "dn"
 * (one value). Values that are not UTF-8 text are left out (and logged).
 * Returns NULL on allocation failure.
 */
json_t *entry_to_map(LDAP *ld, LDAPMessage *entry);

/*
 * entry_from_postread — decode the value of a post-read control (a
 * SearchResultEntry, RFC 4527 §3.2; borrowed) into a NEW map, as
 * entry_to_map does. Values that are not UTF-8 text are left out (and
 * logged). NULL when the BER is malformed, the DN is not UTF-8, or out of
 * memory.
 */
json_t *entry_from_postread(const struct berval *value);

/* entry_map_first — the first value of `desc` in `map` (borrowed), or NULL. */
const char *entry_map_first(const json_t *map, const char *desc);

/*
 * entry_map_add — append string `value` to `desc` in `map` (desc must be
 * normalised). Values equal to one already there are not added twice.
 * Returns 0 or -1 (allocation).
 */
int entry_map_add(json_t *map, const char *desc, const char *value);

/*
 * entry_mods_build — LDAP modifications that turn `old` into `new` for the
 * descriptions accepted by `owned(desc, arg)`: a description whose value
 * set differs is replaced, one that vanished is replaced with no values
 * (deleted; no error if absent). Keys of `new` are written whether or not
 * owned() accepts them. Returns a NEW NULL-terminated LDAPMod array (free
 * with entry_mods_free; empty array = nothing to do), or NULL (allocation).
 * `old` may be NULL (everything in `new` is added).
 */
LDAPMod **entry_mods_build(const json_t *old, const json_t *new,
                           bool (*owned)(const char *desc, void *arg), void *arg);

/* entry_mods_count — number of modifications in a NULL-terminated array. */
size_t entry_mods_count(LDAPMod **mods);

/*
 * entry_mods_append — append one modification (op LDAP_MOD_ADD/DELETE/REPLACE,
 * description, values: a json array of strings or NULL). Returns the NEW
 * array (the old one is consumed) or NULL (the old one is freed).
 */
LDAPMod **entry_mods_append(LDAPMod **mods, int op, const char *desc, const json_t *values);

/* entry_mods_free — free an array from entry_mods_build/append; NULL is fine. */
void entry_mods_free(LDAPMod **mods);

#endif /* RB_ENTRY_H */
