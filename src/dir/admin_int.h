/*
 * admin_int.h — what the in-product files of the directory layer
 * (session.c, admins.c, invite.c, invitations.c, outbox.c) share; see admin.h.
 */
#ifndef RB_DIR_ADMIN_INT_H
#define RB_DIR_ADMIN_INT_H

#include <jansson.h>
#include <ldap.h>

#include "dir/admin.h"
#include "dir/dir_int.h"

/*
 * admin_console_dn — "ou=<ou>,ou=console,<suffix>" (NEW malloc'd), the
 * containers created on the first call of the process (existing is fine).
 * NULL with *err.
 */
char *admin_console_dn(struct dir_op *op, const char *ou, struct rb_error *err);

/*
 * admin_modify — modify `dn` with `mods` (borrowed), with an assertion on
 * entryCSN when `csn` is given (412 when it changed). 0 or -1 with *err.
 */
int admin_modify(struct dir_op *op, const char *dn, LDAPMod **mods, const char *csn,
                 struct rb_error *err);

/* admin_person_map — the person `id` of the tenant read with `attrs` (NEW map, "dn" key). */
json_t *admin_person_map(struct dir_op *op, const char *id, char **attrs, struct rb_error *err);

/*
 * admin_mod1 — append one modification of `desc` with one value (or none
 * when `value` is NULL: replace with nothing = delete). Returns the NEW
 * array (the old one is consumed), NULL on allocation failure.
 */
LDAPMod **admin_mod1(LDAPMod **mods, int op, const char *desc, const char *value);

/* admin_random_hex — `nbytes` from the GnuTLS RNG as hex into out (2*nbytes+1). 0/-1. */
int admin_random_hex(size_t nbytes, char *out);

#endif /* RB_DIR_ADMIN_INT_H */
