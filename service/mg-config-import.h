/* mg-config-import.h - applying a migrated configuration all or nothing
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The daemon side of "mailgatectl import-epost": entries parsed by the
 * client (mg-epost.h) arrive as GVariants, are validated again, compared
 * with the current configuration (add / replace / keep) and written
 * through the config store.  If any entry is refused, the entries already
 * written are undone in reverse order, so the configuration ends as it
 * began.  A dry run stops after the comparison.
 *
 * Threading: main thread (it uses the daemon's config store).
 */
#pragma once

#include "mg-config-store.h"

G_BEGIN_DECLS

typedef struct
{
  char *action;   /* "add", "replace", "keep" */
  char *what;     /* the equivalent mailgatectl command, e.g. "route add a.example 10.0.0.1 25" */
} MgImportChange;

void mg_import_change_free (MgImportChange *change);

/* @routes a(sssq) (where, domain, host, port); @relay_rules a(ssb) (where,
 * pattern, allow), appended in order; @aliases a(ssas) (where, alias,
 * targets); @accounts a(sss) (where, address, password or "").  Accounts
 * of a domain that is not local add the domain.  Problems name the
 * entry's "where" as their field.  Returns TRUE when everything was valid
 * (and, unless @dry_run, written); @changes (MgImportChange*) lists what
 * was or would be done. */
gboolean mg_config_import_epost (MgConfigStore  *store,
                                 GVariant       *routes,
                                 GVariant       *relay_rules,
                                 GVariant       *aliases,
                                 GVariant       *accounts,
                                 gboolean        dry_run,
                                 GPtrArray      *changes,
                                 GPtrArray      *problems,
                                 GError        **error);

G_END_DECLS
