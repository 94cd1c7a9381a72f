/* mg-config-store.h - config.db: the one place configuration is read and changed
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * SQLite in WAL mode, schema migrations by PRAGMA user_version.  Every
 * mutation validates first (all or nothing) and then writes in one
 * transaction; a batch runs several mutations in one transaction.  Return
 * convention for mutations:
 *   TRUE              - applied
 *   FALSE, no error   - refused; one MgProblem per bad field appended to @problems
 *   FALSE, @error set - storage failure (MG_CONFIG_ERROR_STORAGE)
 *
 * Threading: owned by the main thread of mailgated.  Other threads use
 * MgConfig snapshots.
 */
#pragma once

#include <glib.h>

#include "mg-config.h"

G_BEGIN_DECLS

typedef struct _MgConfigStore MgConfigStore;

/* Opens (creating if needed) the database at @path, migrates it, and fills in
 * defaults.  @defaults_profile: "user" (unprivileged listeners 2525 + 20025 on
 * loopback) or "system" (25 + 20025 on all addresses); used only when the
 * database is created. */
MgConfigStore *mg_config_store_open            (const char     *path,
                                                const char     *defaults_profile,
                                                GError        **error);
void           mg_config_store_free            (MgConfigStore  *self);
int            mg_config_store_schema_version  (MgConfigStore  *self);

/* Several mutations in one transaction, all or nothing: begin, call any
 * mutations below (each still validates, and later ones see the effect of
 * earlier ones), then commit, or roll back when any was refused.  Until
 * the commit nothing is durable.  Batches do not nest. */
gboolean       mg_config_store_begin_batch     (MgConfigStore  *self,
                                                GError        **error);
gboolean       mg_config_store_commit_batch    (MgConfigStore  *self,
                                                GError        **error);
void           mg_config_store_rollback_batch  (MgConfigStore  *self);

/* A new immutable snapshot of everything. */
MgConfig      *mg_config_store_snapshot        (MgConfigStore  *self,
                                                GError        **error);

/* Settings: @changes maps key -> value (strings).  All are validated first;
 * if any is bad, nothing is written. */
gboolean mg_config_store_set_settings   (MgConfigStore *self, GHashTable *changes,
                                         GPtrArray *problems, GError **error);

gboolean mg_config_store_add_domain     (MgConfigStore *self, const char *name,
                                         gboolean shared_box,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_set_domain_shared_box (MgConfigStore *self, const char *name,
                                         gboolean shared_box,
                                         GPtrArray *problems, GError **error);
/* Removing a domain removes its accounts too. */
gboolean mg_config_store_remove_domain  (MgConfigStore *self, const char *name,
                                         GPtrArray *problems, GError **error);

/* The account's domain must be a local domain.  @password may be NULL (no
 * password: the account only makes the address valid, seed method C). */
gboolean mg_config_store_add_account    (MgConfigStore *self, const char *address,
                                         const char *password,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_set_password   (MgConfigStore *self, const char *address,
                                         const char *password,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_remove_account (MgConfigStore *self, const char *address,
                                         GPtrArray *problems, GError **error);
/* TSV: one account per line: ADDRESS [TAB PASSWORD]; '#' comments and blank
 * lines skipped.  All-or-nothing: any bad line (problem field "line N")
 * refuses the whole import.  *@n_added set on success. */
gboolean mg_config_store_import_accounts (MgConfigStore *self, const char *tsv,
                                         guint *n_added,
                                         GPtrArray *problems, GError **error);

/* @alias: "user@domain" or "*@domain"; @targets: real addresses
 * ("*@domain" allowed only when the alias is a wildcard). Replaces an
 * existing alias of the same name. */
gboolean mg_config_store_add_alias      (MgConfigStore *self, const char *alias,
                                         const char * const *targets,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_remove_alias   (MgConfigStore *self, const char *alias,
                                         GPtrArray *problems, GError **error);

/* Replaces an existing route for the same domain. */
gboolean mg_config_store_add_route      (MgConfigStore *self, const char *domain,
                                         const char *host, guint port,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_remove_route   (MgConfigStore *self, const char *domain,
                                         GPtrArray *problems, GError **error);
/* STARTTLS required per route; AUTH credentials ("" user: none). */
gboolean mg_config_store_set_route_tls  (MgConfigStore *self, const char *domain,
                                         gboolean required,
                                         GPtrArray *problems, GError **error);
gboolean mg_config_store_set_route_auth (MgConfigStore *self, const char *domain,
                                         const char *user, const char *password,
                                         GPtrArray *problems, GError **error);

/* Relay rules: positions are 1-based.  @position 0 appends. */
gboolean mg_config_store_add_relay_rule    (MgConfigStore *self, const char *pattern,
                                            gboolean allow, guint position,
                                            GPtrArray *problems, GError **error);
gboolean mg_config_store_remove_relay_rule (MgConfigStore *self, guint position,
                                            GPtrArray *problems, GError **error);
gboolean mg_config_store_move_relay_rule   (MgConfigStore *self, guint from,
                                            guint to,
                                            GPtrArray *problems, GError **error);
/* Edits the rule at @position in place. */
gboolean mg_config_store_replace_relay_rule (MgConfigStore *self, guint position,
                                            const char *pattern, gboolean allow,
                                            GPtrArray *problems, GError **error);

/* Listeners: each spec "ADDR:PORT" ("*:25", "127.0.0.1:2525", "[::1]:0").
 * Replaces the whole set. */
gboolean mg_config_store_set_listeners  (MgConfigStore *self,
                                         const char * const *specs,
                                         GPtrArray *problems, GError **error);

/* Parse one listener spec (pure, used by the store and the CLI). */
gboolean mg_listener_spec_parse         (const char *spec, char **address_out,
                                         guint16 *port_out);
/* The inverse: "127.0.0.1:2525", "[::1]:25", "*:25" (transfer full). */
char    *mg_listener_spec_format        (const char *address, guint16 port);
/* the same with the implicit-TLS marker "ADDR:PORT/tls" ("*:465/tls").
 * mg_listener_spec_parse() refuses the marker (it could not report it). */
gboolean mg_listener_spec_parse_full    (const char *spec, char **address_out,
                                         guint16 *port_out, gboolean *tls_out);
char    *mg_listener_spec_format_full   (const char *address, guint16 port,
                                         gboolean tls);

/* Replace everything with @config (validated, sealed) in one
 * transaction: all or nothing.  Secrets are stored as they are. */
gboolean mg_config_store_replace        (MgConfigStore *self, MgConfig *config,
                                         GError **error);

G_END_DECLS
