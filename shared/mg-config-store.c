/* mg-config-store.c - config.db: open, migrate, validate, change, snapshot
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The one place configuration is read from disk and changed.  SQLite in WAL
 * mode with a busy timeout and foreign keys; the schema is migrated step by
 * step on open, keyed on PRAGMA user_version.  Every mutation validates
 * first, appending one MgProblem per bad field (nothing written), and then
 * writes in one transaction.  A snapshot (MgConfig) is built from the
 * database; settings not stored take their schema default.
 *
 * Ownership: the store owns its sqlite3 handle; snapshots are independent of
 * the store once built.
 *
 * Threading: one thread (the daemon's main thread) uses a store.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <gio/gio.h>

#include "mg-address.h"
#include "mg-config-store.h"
#include "mg-error.h"
#include "mg-problem.h"
#include "mg-settings.h"
#include "mg-sqlite-private.h"

#define BUSY_TIMEOUT_MS 5000

struct _MgConfigStore
{
  sqlite3  *db;
  char     *path;
  gboolean  in_batch;   /* between begin_batch and commit/rollback_batch */
};

/* ---- schema migrations ----
 *
 * migrations[i] takes the schema from user_version i to i + 1.  Add a step
 * by appending an entry; never edit a step that has shipped. */
static const char * const migrations[] = {
  /* 1: the first schema */
  "CREATE TABLE settings ("
  "  key   TEXT PRIMARY KEY NOT NULL,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE domains ("
  "  name       TEXT PRIMARY KEY NOT NULL,"
  "  shared_box INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE accounts ("
  "  address       TEXT PRIMARY KEY NOT NULL,"
  "  local_part    TEXT NOT NULL,"
  "  domain        TEXT NOT NULL REFERENCES domains (name) ON DELETE CASCADE,"
  "  password_hash TEXT);"
  "CREATE INDEX accounts_domain ON accounts (domain);"
  "CREATE TABLE aliases ("
  "  alias   TEXT PRIMARY KEY NOT NULL,"
  "  targets TEXT NOT NULL);"          /* newline separated */
  "CREATE TABLE routes ("
  "  domain TEXT PRIMARY KEY NOT NULL,"
  "  host   TEXT NOT NULL,"
  "  port   INTEGER NOT NULL);"
  "CREATE TABLE relay_rules ("
  "  position INTEGER PRIMARY KEY,"    /* 1-based, dense */
  "  pattern  TEXT NOT NULL,"
  "  allow    INTEGER NOT NULL);"
  "CREATE TABLE listeners ("
  "  position INTEGER PRIMARY KEY,"
  "  address  TEXT NOT NULL,"
  "  port     INTEGER NOT NULL);",
  /* 2: front door (R-2.5 CRAM-MD5 secrets, R-1.1 implicit-TLS listeners) */
  "ALTER TABLE accounts ADD COLUMN cram_md5 TEXT;"
  "ALTER TABLE listeners ADD COLUMN tls INTEGER NOT NULL DEFAULT 0;",
  /* 3: delivery (R-3.5 per-route STARTTLS required, AUTH to the next hop) */
  "ALTER TABLE routes ADD COLUMN tls_required INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE routes ADD COLUMN auth_user TEXT NOT NULL DEFAULT '';"
  "ALTER TABLE routes ADD COLUMN auth_password TEXT NOT NULL DEFAULT '';",
};

typedef struct
{
  const char *profile;
  const char *address;
  guint16     port;
} DefaultListener;

static const DefaultListener default_listeners[] = {
  { "user",   "127.0.0.1", 2525 },
  { "user",   "127.0.0.1", 20025 },
  { "system", "*",         25 },
  { "system", "*",         20025 },
};

/* ---- SQLite helpers ---- */

G_GNUC_PRINTF (3, 4)
static gboolean
set_sqlite_error (MgConfigStore  *self,
                  GError        **error,
                  const char     *format,
                  ...)
{
  g_autofree char *context = NULL;
  va_list args;

  va_start (args, format);
  context = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_STORAGE,
               "%s: %s: %s", self->path, context, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec_sql (MgConfigStore  *self,
          const char     *sql,
          GError        **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_sqlite_error (self, error, "executing “%.40s”", sql);
  return TRUE;
}

static sqlite3_stmt *
prepare (MgConfigStore  *self,
         const char     *sql,
         GError        **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (self, error, "preparing “%.40s”", sql);
      return NULL;
    }
  return stmt;
}

static gboolean
step_done (MgConfigStore  *self,
           sqlite3_stmt   *stmt,
           GError        **error)
{
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "writing");
  return TRUE;
}

/* One mutation's transaction.  Inside a batch (mg_config_store_begin_batch)
 * it is a savepoint of the batch's transaction instead: a refused step
 * rolls back only itself, and nothing is durable before the batch commits. */
static gboolean
begin (MgConfigStore  *self,
       GError        **error)
{
  return exec_sql (self, self->in_batch ? "SAVEPOINT mg_change" : "BEGIN IMMEDIATE", error);
}

static gboolean
rollback (MgConfigStore *self)
{
  sqlite3_exec (self->db, self->in_batch ? "ROLLBACK TO mg_change; RELEASE mg_change" : "ROLLBACK",
                NULL, NULL, NULL);
  return FALSE;
}

static gboolean
commit (MgConfigStore  *self,
        GError        **error)
{
  if (exec_sql (self, self->in_batch ? "RELEASE mg_change" : "COMMIT", error))
    return TRUE;
  return rollback (self);
}

/* A single-integer query ("SELECT count(*) ..." or a PRAGMA). */
static gboolean
query_int (MgConfigStore  *self,
           const char     *sql,
           const char     *text_arg,
           gint64         *out,
           GError        **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  if (text_arg != NULL)
    sqlite3_bind_text (stmt, 1, text_arg, -1, SQLITE_TRANSIENT);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (self, error, "reading");
  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Runs @sql with up to three text parameters (NULL binds NULL). */
static gboolean
run_sql (MgConfigStore  *self,
         const char     *sql,
         const char     *a,
         const char     *b,
         const char     *c,
         GError        **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, a, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, b, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, c, -1, SQLITE_TRANSIENT);
  return step_done (self, stmt, error);
}

static gboolean
row_exists (MgConfigStore  *self,
            const char     *sql,
            const char     *key,
            gboolean       *exists,
            GError        **error)
{
  gint64 count = 0;

  if (!query_int (self, sql, key, &count, error))
    return FALSE;
  *exists = count > 0;
  return TRUE;
}

/* Deletes the row of @table whose @column is @key; a missing row is a
 * MG_PROBLEM_NOT_FOUND problem for @field.  @table and @column are
 * literals of this file, never input. */
static gboolean
delete_existing (MgConfigStore  *self,
                 const char     *table,
                 const char     *column,
                 const char     *key,
                 const char     *field,
                 GPtrArray      *problems,
                 GError        **error)
{
  g_autofree char *count_sql = g_strdup_printf ("SELECT count(*) FROM %s WHERE %s = ?1", table, column);
  g_autofree char *delete_sql = g_strdup_printf ("DELETE FROM %s WHERE %s = ?1", table, column);
  gboolean exists;

  if (!row_exists (self, count_sql, key, &exists, error))
    return FALSE;
  if (!exists)
    {
      mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, field, key);
      return FALSE;
    }
  return run_sql (self, delete_sql, key, NULL, NULL, error);
}

/* ---- open, migrate ---- */

static gboolean
insert_default_listeners (MgConfigStore  *self,
                          const char     *profile,
                          GError        **error)
{
  guint position = 1;

  for (gsize i = 0; i < G_N_ELEMENTS (default_listeners); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;

      if (!g_str_equal (default_listeners[i].profile, profile))
        continue;
      stmt = prepare (self, "INSERT INTO listeners (position, address, port) "
                      "VALUES (?1, ?2, ?3)", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int (stmt, 1, (int) position++);
      sqlite3_bind_text (stmt, 2, default_listeners[i].address, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, default_listeners[i].port);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

/* Brings the schema up to date in one transaction; on a new database also
 * writes the defaults of @profile. */
static gboolean
migrate (MgConfigStore  *self,
         const char     *profile,
         GError        **error)
{
  const gint64 latest = G_N_ELEMENTS (migrations);
  gint64 version = 0;

  if (!begin (self, error))
    return FALSE;
  if (!query_int (self, "PRAGMA user_version", NULL, &version, error))
    return rollback (self);

  if (version > latest)
    {
      rollback (self);
      g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_SCHEMA,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than "
                   "this program knows (%" G_GINT64_FORMAT ")",
                   self->path, version, latest);
      return FALSE;
    }

  for (gint64 v = version; v < latest; v++)
    {
      g_autofree char *pragma = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT,
                                                 v + 1);

      if (!exec_sql (self, migrations[v], error) || !exec_sql (self, pragma, error))
        {
          g_prefix_error (error, "migrating to schema %" G_GINT64_FORMAT ": ", v + 1);
          return rollback (self);
        }
    }

  /* settings are not stored until changed: the schema gives defaults */
  if (version == 0 && !insert_default_listeners (self, profile, error))
    return rollback (self);

  return commit (self, error);
}

/**
 * mg_config_store_open:
 * @path: the config.db file
 * @defaults_profile: (nullable): "user" (default) or "system"
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the store, or %NULL with @error set
 *   (MG_CONFIG_ERROR_STORAGE, or MG_CONFIG_ERROR_SCHEMA when the file is
 *   newer than this program)
 */
MgConfigStore *
mg_config_store_open (const char  *path,
                      const char  *defaults_profile,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  MgConfigStore *self;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (defaults_profile == NULL)
    defaults_profile = "user";
  if (!g_str_equal (defaults_profile, "user") && !g_str_equal (defaults_profile, "system"))
    {
      g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_INVALID_VALUE,
                   "unknown defaults profile “%s” (use user or system)",
                   defaults_profile);
      return NULL;
    }

  self = g_new0 (MgConfigStore, 1);
  self->path = g_strdup (path);

  if (sqlite3_open_v2 (path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    set_sqlite_error (self, &local_error, "opening");
  else if (sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
    set_sqlite_error (self, &local_error, "setting the busy timeout");
  else if (!exec_sql (self, "PRAGMA journal_mode = WAL", &local_error) ||
           !exec_sql (self, "PRAGMA foreign_keys = ON", &local_error) ||
           !exec_sql (self, "PRAGMA synchronous = FULL", &local_error))
    ;
  else
    migrate (self, defaults_profile, &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      mg_config_store_free (self);
      return NULL;
    }
  return self;
}

void
mg_config_store_free (MgConfigStore *self)
{
  if (self == NULL)
    return;

  sqlite3_close_v2 (self->db);
  g_free (self->path);
  g_free (self);
}

int
mg_config_store_schema_version (MgConfigStore *self)
{
  gint64 version = -1;

  g_return_val_if_fail (self != NULL, -1);

  if (!query_int (self, "PRAGMA user_version", NULL, &version, NULL))
    return -1;
  return (int) version;
}

/* ---- batches: several mutations, one transaction ---- */

/**
 * mg_config_store_begin_batch:
 * @error: return location for a #GError
 *
 * Starts one write transaction for several mutations (the control
 * interface's ApplyChanges).  Until mg_config_store_commit_batch() or
 * mg_config_store_rollback_batch(), every mutation validates and writes as
 * usual, but inside this transaction: later mutations see the effect of
 * earlier ones, and nothing is durable (or visible to other connections)
 * before the commit.  Batches do not nest.
 *
 * Returns: %TRUE when the transaction is open
 */
gboolean
mg_config_store_begin_batch (MgConfigStore  *self,
                             GError        **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!self->in_batch, FALSE);

  if (!exec_sql (self, "BEGIN IMMEDIATE", error))
    return FALSE;
  self->in_batch = TRUE;
  return TRUE;
}

/* Returns: %TRUE when every mutation of the batch is durable; otherwise
 * none is (the transaction is rolled back) and @error is set. */
gboolean
mg_config_store_commit_batch (MgConfigStore  *self,
                              GError        **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->in_batch, FALSE);

  self->in_batch = FALSE;
  return commit (self, error);
}

/* Undoes every mutation since mg_config_store_begin_batch(). */
void
mg_config_store_rollback_batch (MgConfigStore *self)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->in_batch);

  self->in_batch = FALSE;
  rollback (self);
}

/* ---- snapshot ---- */

static gboolean
load_settings (MgConfigStore  *self,
               MgConfig       *config,
               GError        **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, "SELECT key, value FROM settings", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (stmt, 0);
      const char *value = (const char *) sqlite3_column_text (stmt, 1);

      /* a key a newer version wrote is kept in the file, not shown */
      if (key != NULL && value != NULL && mg_settings_lookup (key) != NULL)
        mg_config_set_setting (config, key, value);
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading settings");
  return TRUE;
}

static gboolean
load_lists (MgConfigStore  *self,
            MgConfig       *config,
            GError        **error)
{
  g_autoptr(sqlite3_stmt) domains = NULL, accounts = NULL, aliases = NULL;
  g_autoptr(sqlite3_stmt) routes = NULL, rules = NULL, listeners = NULL;
  int rc;

  if ((domains = prepare (self, "SELECT name, shared_box FROM domains ORDER BY name", error)) == NULL ||
      (accounts = prepare (self, "SELECT address, password_hash, cram_md5 FROM accounts ORDER BY address", error)) == NULL ||
      (aliases = prepare (self, "SELECT alias, targets FROM aliases ORDER BY alias", error)) == NULL ||
      (routes = prepare (self, "SELECT domain, host, port, tls_required, auth_user, auth_password "
                               "FROM routes ORDER BY domain", error)) == NULL ||
      (rules = prepare (self, "SELECT pattern, allow FROM relay_rules ORDER BY position", error)) == NULL ||
      (listeners = prepare (self, "SELECT address, port, tls FROM listeners ORDER BY position", error)) == NULL)
    return FALSE;

  while ((rc = sqlite3_step (domains)) == SQLITE_ROW)
    mg_config_add_domain (config, (const char *) sqlite3_column_text (domains, 0),
                          sqlite3_column_int (domains, 1) != 0);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading domains");

  while ((rc = sqlite3_step (accounts)) == SQLITE_ROW)
    mg_config_add_account_full (config, (const char *) sqlite3_column_text (accounts, 0),
                                (const char *) sqlite3_column_text (accounts, 1),
                                (const char *) sqlite3_column_text (accounts, 2));
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading accounts");

  while ((rc = sqlite3_step (aliases)) == SQLITE_ROW)
    {
      g_auto(GStrv) targets = g_strsplit ((const char *) sqlite3_column_text (aliases, 1), "\n", -1);

      mg_config_add_alias (config, (const char *) sqlite3_column_text (aliases, 0),
                           (const char * const *) targets);
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading aliases");

  while ((rc = sqlite3_step (routes)) == SQLITE_ROW)
    {
      const char *domain = (const char *) sqlite3_column_text (routes, 0);

      mg_config_add_route (config, domain, (const char *) sqlite3_column_text (routes, 1),
                           (guint16) sqlite3_column_int (routes, 2));
      mg_config_set_route_security (config, domain, sqlite3_column_int (routes, 3) != 0,
                                    (const char *) sqlite3_column_text (routes, 4),
                                    (const char *) sqlite3_column_text (routes, 5));
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading routes");

  while ((rc = sqlite3_step (rules)) == SQLITE_ROW)
    {
      const char *pattern = (const char *) sqlite3_column_text (rules, 0);

      if (!mg_config_add_relay_rule (config, pattern, sqlite3_column_int (rules, 1) != 0))
        {
          g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_STORAGE,
                       "%s: stored relay rule “%s” is not valid", self->path, pattern);
          return FALSE;
        }
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading relay rules");

  while ((rc = sqlite3_step (listeners)) == SQLITE_ROW)
    mg_config_add_listener_full (config, (const char *) sqlite3_column_text (listeners, 0),
                                 (guint16) sqlite3_column_int (listeners, 1),
                                 sqlite3_column_int (listeners, 2) != 0);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, error, "reading listeners");

  return TRUE;
}

/**
 * mg_config_store_snapshot:
 *
 * Returns: (transfer full) (nullable): a new sealed snapshot, or %NULL with
 *   @error set
 */
MgConfig *
mg_config_store_snapshot (MgConfigStore  *self,
                          GError        **error)
{
  g_autoptr(MgConfig) config = NULL;
  gboolean ok;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  config = mg_config_new_default ();

  /* one read transaction: a consistent view */
  if (!exec_sql (self, "BEGIN", error))
    return NULL;
  ok = load_settings (self, config, error) && load_lists (self, config, error);
  sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
  if (!ok)
    return NULL;

  mg_config_seal (config);
  return g_steal_pointer (&config);
}

/* ---- validation helpers: canonical value or a problem ---- */

static char *
check_domain (const char *name,
              const char *field,
              GPtrArray  *problems)
{
  char *canonical = name != NULL ? mg_domain_canonical (name) : NULL;

  if (canonical == NULL)
    mg_problems_add (problems, MG_PROBLEM_INVALID_DOMAIN, field, name);
  return canonical;
}

static char *
check_address (const char *address,
               const char *field,
               GPtrArray  *problems)
{
  char *canonical = address != NULL ? mg_mailbox_canonical (address) : NULL;

  if (canonical == NULL)
    mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, field, address);
  return canonical;
}

static const char *
domain_of (const char *canonical_address)
{
  return strrchr (canonical_address, '@') + 1;
}

/* "" is refused; NULL means "no password". */
static gboolean
check_password (const char *password,
                GPtrArray  *problems)
{
  if (password != NULL && *password == '\0')
    {
      mg_problems_add (problems, MG_PROBLEM_EMPTY, "password", "");
      return FALSE;
    }
  return TRUE;
}

/* ---- settings ---- */

gboolean
mg_config_store_set_settings (MgConfigStore  *self,
                              GHashTable     *changes,
                              GPtrArray      *problems,
                              GError        **error)
{
  g_autoptr(GHashTable) normalised = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint n_problems;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (changes != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  n_problems = problems->len;
  normalised = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_iter_init (&iter, changes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      char *good = mg_settings_normalise (key, value != NULL ? value : "", problems);

      if (good != NULL)
        g_hash_table_insert (normalised, key, good);
    }
  if (problems->len > n_problems)
    return FALSE;   /* all or nothing */

  if (!begin (self, error))
    return FALSE;
  g_hash_table_iter_init (&iter, normalised);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!run_sql (self, "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT (key) DO UPDATE SET value = ?2",
                    key, value, NULL, error))
        {
          g_prefix_error (error, "saving setting %s: ", (const char *) key);
          return rollback (self);
        }
    }
  return commit (self, error);
}

/* ---- domains (R-2.1) ---- */

gboolean
mg_config_store_add_domain (MgConfigStore  *self,
                            const char     *name,
                            gboolean        shared_box,
                            GPtrArray      *problems,
                            GError        **error)
{
  g_autofree char *domain = NULL;
  gboolean exists;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  domain = check_domain (name, "domain", problems);
  if (domain == NULL)
    return FALSE;
  if (!row_exists (self, "SELECT count(*) FROM domains WHERE name = ?1", domain, &exists, error))
    return FALSE;
  if (exists)
    {
      mg_problems_add (problems, MG_PROBLEM_EXISTS, "domain", domain);
      return FALSE;
    }

  return run_sql (self, "INSERT INTO domains (name, shared_box) VALUES (?1, ?2)",
                  domain, shared_box ? "1" : "0", NULL, error);
}

gboolean
mg_config_store_set_domain_shared_box (MgConfigStore  *self,
                                       const char     *name,
                                       gboolean        shared_box,
                                       GPtrArray      *problems,
                                       GError        **error)
{
  g_autofree char *domain = NULL;
  gboolean exists;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  domain = check_domain (name, "domain", problems);
  if (domain == NULL)
    return FALSE;
  if (!row_exists (self, "SELECT count(*) FROM domains WHERE name = ?1", domain, &exists, error))
    return FALSE;
  if (!exists)
    {
      mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "domain", domain);
      return FALSE;
    }

  return run_sql (self, "UPDATE domains SET shared_box = ?2 WHERE name = ?1",
                  domain, shared_box ? "1" : "0", NULL, error);
}

gboolean
mg_config_store_remove_domain (MgConfigStore  *self,
                               const char     *name,
                               GPtrArray      *problems,
                               GError        **error)
{
  g_autofree char *domain = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  domain = check_domain (name, "domain", problems);
  if (domain == NULL)
    return FALSE;
  /* accounts go with it: ON DELETE CASCADE */
  return delete_existing (self, "domains", "name", domain, "domain", problems, error);
}

/* ---- accounts (R-2.2) ---- */

/* Validates one account address for adding; returns the canonical form. */
static char *
check_new_account (MgConfigStore  *self,
                   const char     *address,
                   const char     *field,
                   GPtrArray      *problems,
                   GError        **error)
{
  g_autofree char *canonical = check_address (address, field, problems);
  gboolean exists;

  if (canonical == NULL)
    return NULL;

  if (!row_exists (self, "SELECT count(*) FROM domains WHERE name = ?1",
                   domain_of (canonical), &exists, error))
    return NULL;
  if (!exists)
    {
      mg_problems_add (problems, MG_PROBLEM_UNKNOWN_DOMAIN, field, domain_of (canonical));
      return NULL;
    }

  if (!row_exists (self, "SELECT count(*) FROM accounts WHERE address = ?1",
                   canonical, &exists, error))
    return NULL;
  if (exists)
    {
      mg_problems_add (problems, MG_PROBLEM_EXISTS, field, canonical);
      return NULL;
    }
  return g_steal_pointer (&canonical);
}

/* R-2.5: the CRAM-MD5 secret next to the PBKDF2 hash (NULL password: none). */
static gboolean
store_cram_md5 (MgConfigStore  *self,
                const char     *canonical,
                const char     *password,
                GError        **error)
{
  g_autofree char *secret = NULL;

  if (password != NULL && (secret = mg_config_cram_md5_secret (password)) == NULL)
    {
      g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_STORAGE,
                   "computing the CRAM-MD5 secret of %s failed", canonical);
      return FALSE;
    }
  return run_sql (self, "UPDATE accounts SET cram_md5 = ?2 WHERE address = ?1",
                  canonical, secret, NULL, error);
}

static gboolean
insert_account (MgConfigStore  *self,
                const char     *canonical,
                const char     *password,
                GError        **error)
{
  g_autofree char *hash = NULL;
  g_autofree char *local_part = NULL;

  if (password != NULL)
    {
      hash = mg_config_password_hash (password);
      if (hash == NULL)
        {
          g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_STORAGE,
                       "hashing the password of %s failed", canonical);
          return FALSE;
        }
    }
  local_part = g_strndup (canonical, (gsize) (strrchr (canonical, '@') - canonical));

  if (!run_sql (self, "INSERT INTO accounts (address, local_part, domain, password_hash) "
                "VALUES (?1, ?2, substr (?1, length (?2) + 2), ?3)",
                canonical, local_part, hash, error))
    {
      g_prefix_error (error, "saving account %s: ", canonical);
      return FALSE;
    }
  return store_cram_md5 (self, canonical, password, error);
}

gboolean
mg_config_store_add_account (MgConfigStore  *self,
                             const char     *address,
                             const char     *password,
                             GPtrArray      *problems,
                             GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *canonical = NULL;
  gboolean password_ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  password_ok = check_password (password, problems);
  canonical = check_new_account (self, address, "address", problems, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (canonical == NULL || !password_ok)
    return FALSE;

  return insert_account (self, canonical, password, error);
}

gboolean
mg_config_store_set_password (MgConfigStore  *self,
                              const char     *address,
                              const char     *password,
                              GPtrArray      *problems,
                              GError        **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *hash = NULL;
  gboolean exists;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  canonical = check_address (address, "address", problems);
  if (!check_password (password, problems) || canonical == NULL)
    return FALSE;
  if (!row_exists (self, "SELECT count(*) FROM accounts WHERE address = ?1",
                   canonical, &exists, error))
    return FALSE;
  if (!exists)
    {
      mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "address", canonical);
      return FALSE;
    }

  if (password != NULL && (hash = mg_config_password_hash (password)) == NULL)
    {
      g_set_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_STORAGE,
                   "hashing the password of %s failed", canonical);
      return FALSE;
    }
  if (!store_cram_md5 (self, canonical, password, error))
    return FALSE;
  return run_sql (self, "UPDATE accounts SET password_hash = ?2 WHERE address = ?1",
                  canonical, hash, NULL, error);
}

gboolean
mg_config_store_remove_account (MgConfigStore  *self,
                                const char     *address,
                                GPtrArray      *problems,
                                GError        **error)
{
  g_autofree char *canonical = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  canonical = check_address (address, "address", problems);
  if (canonical == NULL)
    return FALSE;
  return delete_existing (self, "accounts", "address", canonical, "address", problems, error);
}

typedef struct
{
  char *address;     /* canonical */
  char *password;    /* nullable */
} ImportEntry;

static void
import_entry_free (ImportEntry *entry)
{
  g_free (entry->address);
  if (entry->password != NULL)
    memset (entry->password, 0, strlen (entry->password));
  g_free (entry->password);
  g_free (entry);
}

/* Validates one TSV line; appends an entry or problems (field "line N"). */
static gboolean
check_import_line (MgConfigStore  *self,
                   char           *line,
                   guint           number,
                   GHashTable     *seen,
                   GPtrArray      *entries,
                   GPtrArray      *problems,
                   GError        **error)
{
  g_autofree char *field = g_strdup_printf ("line %u", number);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) columns = NULL;
  g_autofree char *canonical = NULL;
  ImportEntry *entry;
  const char *password;

  if (g_str_has_suffix (line, "\r"))
    line[strlen (line) - 1] = '\0';
  columns = g_strsplit (line, "\t", -1);
  if (g_strv_length (columns) > 2)
    {
      g_autofree char *shown = g_strndup (line, 80);

      g_strdelimit (shown, "\t", ' ');
      mg_problems_add (problems, MG_PROBLEM_BAD_LINE, field, shown);
      return TRUE;
    }

  canonical = check_new_account (self, g_strstrip (columns[0]), field, problems, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (canonical == NULL)
    return TRUE;
  if (g_hash_table_contains (seen, canonical))
    {
      mg_problems_add (problems, MG_PROBLEM_EXISTS, field, canonical);
      return TRUE;
    }

  password = columns[1] != NULL && *columns[1] != '\0' ? columns[1] : NULL;
  entry = g_new0 (ImportEntry, 1);
  entry->address = g_strdup (canonical);
  entry->password = g_strdup (password);
  g_ptr_array_add (entries, entry);
  g_hash_table_add (seen, g_steal_pointer (&canonical));
  return TRUE;
}

gboolean
mg_config_store_import_accounts (MgConfigStore  *self,
                                 const char     *tsv,
                                 guint          *n_added,
                                 GPtrArray      *problems,
                                 GError        **error)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint n_problems;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (tsv != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  n_problems = problems->len;
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) import_entry_free);
  lines = g_strsplit (tsv, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (lines[i]));

      if (*stripped == '\0' || *stripped == '#')
        continue;
      if (!check_import_line (self, lines[i], i + 1, seen, entries, problems, error))
        return FALSE;
    }
  if (problems->len > n_problems)
    return FALSE;   /* all or nothing */

  if (!begin (self, error))
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      const ImportEntry *entry = g_ptr_array_index (entries, i);

      if (!insert_account (self, entry->address, entry->password, error))
        return rollback (self);
    }
  if (!commit (self, error))
    return FALSE;

  if (n_added != NULL)
    *n_added = entries->len;
  return TRUE;
}

/* ---- aliases (R-2.3) ---- */

/* "user@domain" or "*@domain"; sets *@wildcard. */
static char *
check_alias_name (const char *alias,
                  gboolean   *wildcard,
                  GPtrArray  *problems)
{
  *wildcard = alias != NULL && g_str_has_prefix (alias, "*@");
  if (*wildcard)
    {
      g_autofree char *domain = mg_domain_canonical (alias + 2);

      if (domain == NULL)
        {
          mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, "alias", alias);
          return NULL;
        }
      return g_strconcat ("*@", domain, NULL);
    }
  return check_address (alias, "alias", problems);
}

/* Returns the canonical targets joined by newlines, or NULL. */
static char *
check_alias_targets (const char * const *targets,
                     gboolean            wildcard,
                     GPtrArray          *problems)
{
  g_autoptr(GPtrArray) good = g_ptr_array_new_with_free_func (g_free);
  guint n_problems = problems->len;

  for (guint i = 0; targets != NULL && targets[i] != NULL; i++)
    {
      g_autofree char *target = g_strstrip (g_strdup (targets[i]));
      g_autofree char *canonical = NULL;

      if (*target == '\0')
        continue;
      if (g_str_has_prefix (target, "*@"))
        {
          g_autofree char *domain = wildcard ? mg_domain_canonical (target + 2) : NULL;

          if (domain != NULL)
            canonical = g_strconcat ("*@", domain, NULL);
        }
      else
        canonical = mg_mailbox_canonical (target);

      if (canonical == NULL)
        mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, "targets", target);
      else if (!g_ptr_array_find_with_equal_func (good, canonical, g_str_equal, NULL))
        g_ptr_array_add (good, g_steal_pointer (&canonical));
    }

  if (problems->len > n_problems)
    return NULL;
  if (good->len == 0)
    {
      mg_problems_add (problems, MG_PROBLEM_EMPTY, "targets", "");
      return NULL;
    }
  g_ptr_array_add (good, NULL);
  return g_strjoinv ("\n", (char **) good->pdata);
}

gboolean
mg_config_store_add_alias (MgConfigStore       *self,
                           const char          *alias,
                           const char * const  *targets,
                           GPtrArray           *problems,
                           GError             **error)
{
  g_autofree char *name = NULL;
  g_autofree char *joined = NULL;
  gboolean wildcard;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  name = check_alias_name (alias, &wildcard, problems);
  joined = check_alias_targets (targets, wildcard, problems);
  if (name == NULL || joined == NULL)
    return FALSE;

  return run_sql (self, "INSERT INTO aliases (alias, targets) VALUES (?1, ?2) "
                  "ON CONFLICT (alias) DO UPDATE SET targets = ?2",
                  name, joined, NULL, error);
}

gboolean
mg_config_store_remove_alias (MgConfigStore  *self,
                              const char     *alias,
                              GPtrArray      *problems,
                              GError        **error)
{
  g_autofree char *name = NULL;
  gboolean wildcard;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  name = check_alias_name (alias, &wildcard, problems);
  if (name == NULL)
    return FALSE;
  return delete_existing (self, "aliases", "alias", name, "alias", problems, error);
}

/* ---- routes (R-3.1) ---- */

gboolean
mg_config_store_add_route (MgConfigStore  *self,
                           const char     *domain,
                           const char     *host,
                           guint           port,
                           GPtrArray      *problems,
                           GError        **error)
{
  g_autofree char *name = NULL;
  g_autofree char *next_hop = NULL;
  g_autofree char *port_text = g_strdup_printf ("%u", port);

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  name = check_domain (domain, "route.domain", problems);
  next_hop = host != NULL ? mg_host_canonical (host) : NULL;
  if (next_hop == NULL)
    mg_problems_add (problems, MG_PROBLEM_INVALID_HOST, "route.host", host);
  if (port < 1 || port > 65535)
    mg_problems_add (problems, MG_PROBLEM_INVALID_PORT, "route.port", port_text);
  if (name == NULL || next_hop == NULL || port < 1 || port > 65535)
    return FALSE;

  return run_sql (self, "INSERT INTO routes (domain, host, port) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (domain) DO UPDATE SET host = ?2, port = ?3",
                  name, next_hop, port_text, error);
}

gboolean
mg_config_store_remove_route (MgConfigStore  *self,
                              const char     *domain,
                              GPtrArray      *problems,
                              GError        **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  name = check_domain (domain, "route.domain", problems);
  if (name == NULL)
    return FALSE;
  return delete_existing (self, "routes", "domain", name, "route.domain", problems, error);
}

/* R-3.5: the canonical name of an existing route's domain, or NULL with a
 * problem added. */
static char *
existing_route (MgConfigStore  *self,
                const char     *domain,
                GPtrArray      *problems,
                GError        **error)
{
  g_autofree char *name = check_domain (domain, "route.domain", problems);
  gboolean exists = FALSE;

  if (name == NULL)
    return NULL;
  if (!row_exists (self, "SELECT count(*) FROM routes WHERE domain = ?1", name, &exists, error))
    return NULL;
  if (!exists)
    {
      mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "route.domain", name);
      return NULL;
    }
  return g_steal_pointer (&name);
}

/* R-3.5: refuse a next hop without STARTTLS (or be opportunistic). */
gboolean
mg_config_store_set_route_tls (MgConfigStore  *self,
                               const char     *domain,
                               gboolean        required,
                               GPtrArray      *problems,
                               GError        **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  name = existing_route (self, domain, problems, error);
  if (name == NULL)
    return FALSE;
  return run_sql (self, "UPDATE routes SET tls_required = ?2 WHERE domain = ?1",
                  name, required ? "1" : "0", NULL, error);
}

/* R-3.5: credentials for AUTH to the next hop; "" @user removes them. */
gboolean
mg_config_store_set_route_auth (MgConfigStore  *self,
                                const char     *domain,
                                const char     *user,
                                const char     *password,
                                GPtrArray      *problems,
                                GError        **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);
  g_return_val_if_fail (user != NULL && password != NULL, FALSE);

  name = existing_route (self, domain, problems, error);
  if (name == NULL)
    return FALSE;
  if (strpbrk (user, "\r\n") != NULL || !g_utf8_validate (user, -1, NULL))
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, "route.auth_user", user);
      return FALSE;
    }
  if (strpbrk (password, "\r\n") != NULL || !g_utf8_validate (password, -1, NULL) ||
      (*user != '\0' && *password == '\0'))
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, "route.auth_password", "");
      return FALSE;
    }
  return run_sql (self, "UPDATE routes SET auth_user = ?2, auth_password = ?3 WHERE domain = ?1",
                  name, user, *user != '\0' ? password : "", error);
}

/* ---- relay rules (R-2.4) ----
 *
 * The list is short; a change reads it, edits it in memory and writes it
 * back whole, inside one transaction. */

typedef struct
{
  char     *pattern;
  gboolean  allow;
} RuleRow;

static void
rule_row_free (RuleRow *row)
{
  g_free (row->pattern);
  g_free (row);
}

static GPtrArray *
read_rules (MgConfigStore  *self,
            GError        **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_row_free);
  g_autoptr(sqlite3_stmt) stmt = prepare (self, "SELECT pattern, allow FROM relay_rules "
                                          "ORDER BY position", error);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RuleRow *row = g_new0 (RuleRow, 1);

      row->pattern = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      row->allow = sqlite3_column_int (stmt, 1) != 0;
      g_ptr_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (self, error, "reading relay rules");
      return NULL;
    }
  return g_steal_pointer (&rows);
}

/* Called inside a transaction. */
static gboolean
write_rules (MgConfigStore  *self,
             GPtrArray      *rows,
             GError        **error)
{
  if (!exec_sql (self, "DELETE FROM relay_rules", error))
    return FALSE;
  for (guint i = 0; i < rows->len; i++)
    {
      const RuleRow *row = g_ptr_array_index (rows, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO relay_rules "
                                              "(position, pattern, allow) VALUES (?1, ?2, ?3)",
                                              error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int (stmt, 1, (int) i + 1);
      sqlite3_bind_text (stmt, 2, row->pattern, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, row->allow ? 1 : 0);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

static void
add_bad_position (GPtrArray *problems,
                  guint      position)
{
  g_autofree char *text = g_strdup_printf ("%u", position);

  mg_problems_add (problems, MG_PROBLEM_BAD_POSITION, "relay.position", text);
}

/* Reads the rules in a write transaction; NULL (rolled back) on failure. */
static GPtrArray *
begin_rules_edit (MgConfigStore  *self,
                  GError        **error)
{
  GPtrArray *rows;

  if (!begin (self, error))
    return NULL;
  rows = read_rules (self, error);
  if (rows == NULL)
    rollback (self);
  return rows;
}

static gboolean
finish_rules_edit (MgConfigStore  *self,
                   GPtrArray      *rows,
                   GError        **error)
{
  if (!write_rules (self, rows, error))
    return rollback (self);
  return commit (self, error);
}

/* The start of adding or replacing a rule: @pattern checked (a problem if
 * it is not one; *@normalised NULL then) and the rules read for writing. */
static GPtrArray *
begin_rule_write (MgConfigStore  *self,
                  const char     *pattern,
                  char          **normalised,
                  GPtrArray      *problems,
                  GError        **error)
{
  *normalised = NULL;
  if (pattern == NULL || !mg_relay_rule_parse (pattern, normalised, NULL, NULL))
    mg_problems_add (problems, MG_PROBLEM_INVALID_PATTERN, "relay.pattern", pattern);
  return begin_rules_edit (self, error);
}

gboolean
mg_config_store_add_relay_rule (MgConfigStore  *self,
                                const char     *pattern,
                                gboolean        allow,
                                guint           position,
                                GPtrArray      *problems,
                                GError        **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *normalised = NULL;
  RuleRow *row;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  rows = begin_rule_write (self, pattern, &normalised, problems, error);
  if (rows == NULL)
    return FALSE;
  if (position > rows->len + 1)
    add_bad_position (problems, position);
  if (normalised == NULL || position > rows->len + 1)
    return rollback (self);

  row = g_new0 (RuleRow, 1);
  row->pattern = g_steal_pointer (&normalised);
  row->allow = allow;
  g_ptr_array_insert (rows, position == 0 ? -1 : (gint) position - 1, row);
  return finish_rules_edit (self, rows, error);
}

gboolean
mg_config_store_remove_relay_rule (MgConfigStore  *self,
                                   guint           position,
                                   GPtrArray      *problems,
                                   GError        **error)
{
  g_autoptr(GPtrArray) rows = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  rows = begin_rules_edit (self, error);
  if (rows == NULL)
    return FALSE;
  if (position < 1 || position > rows->len)
    {
      add_bad_position (problems, position);
      return rollback (self);
    }

  g_ptr_array_remove_index (rows, position - 1);
  return finish_rules_edit (self, rows, error);
}

/* Takes the rule at @from and puts it at @to; the others shift. */
gboolean
mg_config_store_move_relay_rule (MgConfigStore  *self,
                                 guint           from,
                                 guint           to,
                                 GPtrArray      *problems,
                                 GError        **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  gboolean bad = FALSE;
  RuleRow *row;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  rows = begin_rules_edit (self, error);
  if (rows == NULL)
    return FALSE;
  if (from < 1 || from > rows->len)
    {
      add_bad_position (problems, from);
      bad = TRUE;
    }
  if ((to < 1 || to > rows->len) && to != from)
    {
      add_bad_position (problems, to);
      bad = TRUE;
    }
  if (bad)
    return rollback (self);

  row = g_ptr_array_steal_index (rows, from - 1);
  g_ptr_array_insert (rows, (gint) to - 1, row);
  return finish_rules_edit (self, rows, error);
}

/* Edits the rule at @position in place (pattern and action). */
gboolean
mg_config_store_replace_relay_rule (MgConfigStore  *self,
                                    guint           position,
                                    const char     *pattern,
                                    gboolean        allow,
                                    GPtrArray      *problems,
                                    GError        **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *normalised = NULL;
  RuleRow *row;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  rows = begin_rule_write (self, pattern, &normalised, problems, error);
  if (rows == NULL)
    return FALSE;
  if (position < 1 || position > rows->len)
    add_bad_position (problems, position);
  if (normalised == NULL || position < 1 || position > rows->len)
    return rollback (self);

  row = g_ptr_array_index (rows, position - 1);
  g_free (row->pattern);
  row->pattern = g_steal_pointer (&normalised);
  row->allow = allow;
  return finish_rules_edit (self, rows, error);
}

/* ---- listeners (R-1.1) ---- */

/**
 * mg_listener_spec_parse:
 * @spec: "ADDR:PORT": IPv4 literal, "[IPv6]" literal or "*"; port 0..65535
 * @address_out: (out) (optional) (transfer full): "127.0.0.1", "::1", "*"
 * @port_out: (out) (optional): the port
 *
 * Returns: %TRUE when @spec is valid
 */
gboolean
mg_listener_spec_parse (const char  *spec,
                        char       **address_out,
                        guint16     *port_out)
{
  g_return_val_if_fail (spec != NULL, FALSE);

  if (g_str_has_suffix (spec, "/tls"))
    return FALSE;
  return mg_listener_spec_parse_full (spec, address_out, port_out, NULL);
}

/**
 * mg_listener_spec_parse_full:
 * @spec: "ADDR:PORT" or "ADDR:PORT/tls" (implicit TLS, R-1.1)
 * @address_out: (out) (optional) (transfer full): the address
 * @port_out: (out) (optional): the port
 * @tls_out: (out) (optional): whether "/tls" was given
 *
 * Returns: %TRUE when @spec is valid
 */
gboolean
mg_listener_spec_parse_full (const char  *spec_text,
                             char       **address_out,
                             guint16     *port_out,
                             gboolean    *tls_out)
{
  g_autofree char *spec = NULL;
  gboolean tls;
  g_autofree char *host = NULL;
  g_autofree char *address = NULL;
  const char *colon, *port_text;
  guint64 port;

  g_return_val_if_fail (spec_text != NULL, FALSE);

  tls = g_str_has_suffix (spec_text, "/tls");
  spec = g_strndup (spec_text, strlen (spec_text) - (tls ? strlen ("/tls") : 0));
  colon = strrchr (spec, ':');
  if (colon == NULL)
    return FALSE;
  port_text = colon + 1;
  if (*port_text == '\0' || strlen (port_text) > 5 ||
      strspn (port_text, "0123456789") != strlen (port_text) ||
      !g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    return FALSE;

  host = g_strndup (spec, (gsize) (colon - spec));
  if (g_str_equal (host, "*"))
    address = g_strdup ("*");
  else
    {
      gboolean bracketed = host[0] == '[' && g_str_has_suffix (host, "]");
      g_autofree char *literal = bracketed ? g_strndup (host + 1, strlen (host) - 2)
                                           : g_strdup (host);
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (literal);
      GSocketFamily want = bracketed ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;

      if (inet == NULL || g_inet_address_get_family (inet) != want)
        return FALSE;
      address = g_inet_address_to_string (inet);
    }

  if (address_out != NULL)
    *address_out = g_steal_pointer (&address);
  if (port_out != NULL)
    *port_out = (guint16) port;
  if (tls_out != NULL)
    *tls_out = tls;
  return TRUE;
}

/**
 * mg_listener_spec_format:
 * @address: "127.0.0.1", "::1" or "*"
 * @port: the port
 *
 * Returns: (transfer full): "127.0.0.1:2525", "[::1]:25", "*:25"
 */
char *
mg_listener_spec_format (const char *address,
                         guint16     port)
{
  g_return_val_if_fail (address != NULL, NULL);

  if (strchr (address, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", address, port);
  return g_strdup_printf ("%s:%u", address, port);
}

char *
mg_listener_spec_format_full (const char *address,
                              guint16     port,
                              gboolean    tls)
{
  g_autofree char *plain = mg_listener_spec_format (address, port);

  g_return_val_if_fail (address != NULL, NULL);

  return tls ? g_strconcat (plain, "/tls", NULL) : g_steal_pointer (&plain);
}

gboolean
mg_config_store_set_listeners (MgConfigStore       *self,
                               const char * const  *specs,
                               GPtrArray           *problems,
                               GError             **error)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  g_autoptr(GArray) tls_flags = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_problems;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  n_problems = problems->len;
  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      char *address = NULL;
      guint16 port = 0;
      gboolean tls = FALSE;
      g_autofree char *formatted = NULL;

      if (!mg_listener_spec_parse_full (specs[i], &address, &port, &tls))
        {
          mg_problems_add (problems, MG_PROBLEM_INVALID_LISTENER, "listen", specs[i]);
          continue;
        }
      formatted = mg_listener_spec_format (address, port);
      /* port 0 = any free port: several such listeners are fine */
      if (port != 0 && g_hash_table_contains (seen, formatted))
        mg_problems_add (problems, MG_PROBLEM_EXISTS, "listen", formatted);
      g_hash_table_add (seen, g_steal_pointer (&formatted));
      g_ptr_array_add (addresses, address);
      g_array_append_val (ports, port);
      g_array_append_val (tls_flags, tls);
    }
  if (problems->len > n_problems)
    return FALSE;

  if (!begin (self, error))
    return FALSE;
  if (!exec_sql (self, "DELETE FROM listeners", error))
    return rollback (self);
  for (guint i = 0; i < addresses->len; i++)
    {
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO listeners "
                                              "(position, address, port, tls) VALUES (?1, ?2, ?3, ?4)",
                                              error);

      if (stmt == NULL)
        return rollback (self);
      sqlite3_bind_int (stmt, 1, (int) i + 1);
      sqlite3_bind_text (stmt, 2, g_ptr_array_index (addresses, i), -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, g_array_index (ports, guint16, i));
      sqlite3_bind_int (stmt, 4, g_array_index (tls_flags, gboolean, i) ? 1 : 0);
      if (!step_done (self, stmt, error))
        return rollback (self);
    }
  return commit (self, error);
}

/* ---- the whole configuration at once (import) ---- */

static gboolean
insert_settings (MgConfigStore  *self,
                 MgConfig       *config,
                 GError        **error)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, config->settings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const MgSettingInfo *info = mg_settings_lookup (key);

      /* like set_settings: only what differs from the built-in default */
      if (info != NULL && g_strcmp0 (info->default_value, value) == 0)
        continue;
      if (!run_sql (self, "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    key, value, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
insert_accounts (MgConfigStore  *self,
                 MgConfig       *config,
                 GError        **error)
{
  for (guint i = 0; i < config->domains->len; i++)
    {
      const MgDomain *d = g_ptr_array_index (config->domains, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO domains (name, shared_box) "
                                              "VALUES (?1, ?2)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, d->name, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, d->shared_box ? 1 : 0);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  for (guint i = 0; i < config->accounts->len; i++)
    {
      const MgAccount *a = g_ptr_array_index (config->accounts, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO accounts (address, local_part, "
                                              "domain, password_hash, cram_md5) "
                                              "VALUES (?1, ?2, ?3, ?4, ?5)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, a->address, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, a->local_part, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, a->domain, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, a->password_hash, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, a->cram_md5, -1, SQLITE_STATIC);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
insert_aliases_and_routes (MgConfigStore  *self,
                           MgConfig       *config,
                           GError        **error)
{
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *a = g_ptr_array_index (config->aliases, i);
      g_autofree char *targets = g_strjoinv ("\n", a->targets);

      if (!run_sql (self, "INSERT INTO aliases (alias, targets) VALUES (?1, ?2)",
                    a->alias, targets, NULL, error))
        return FALSE;
    }
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *r = g_ptr_array_index (config->routes, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO routes (domain, host, port, "
                                              "tls_required, auth_user, auth_password) "
                                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, r->domain, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, r->host, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, r->port);
      sqlite3_bind_int (stmt, 4, r->tls_required ? 1 : 0);
      sqlite3_bind_text (stmt, 5, r->auth_user != NULL ? r->auth_user : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, r->auth_password != NULL ? r->auth_password : "", -1, SQLITE_STATIC);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
insert_rules_and_listeners (MgConfigStore  *self,
                            MgConfig       *config,
                            GError        **error)
{
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *r = g_ptr_array_index (config->relay_rules, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO relay_rules (position, pattern, "
                                              "allow) VALUES (?1, ?2, ?3)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int (stmt, 1, (int) i + 1);
      sqlite3_bind_text (stmt, 2, r->pattern, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, r->allow ? 1 : 0);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  for (guint i = 0; i < config->listeners->len; i++)
    {
      const MgListenerSpec *l = g_ptr_array_index (config->listeners, i);
      g_autoptr(sqlite3_stmt) stmt = prepare (self, "INSERT INTO listeners (position, address, "
                                              "port, tls) VALUES (?1, ?2, ?3, ?4)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int (stmt, 1, (int) i + 1);
      sqlite3_bind_text (stmt, 2, l->address, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, l->port);
      sqlite3_bind_int (stmt, 4, l->tls ? 1 : 0);
      if (!step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * mg_config_store_replace:
 * @self: the store
 * @config: a sealed snapshot whose values were already validated (e.g. by
 *   mg_config_from_json)
 * @error: return location for a #GError
 *
 * Replaces the whole configuration with @config in one transaction: all or
 * nothing.  Password hashes and CRAM-MD5 secrets are stored as they are.
 *
 * Returns: %TRUE on success
 */
gboolean
mg_config_store_replace (MgConfigStore  *self,
                         MgConfig       *config,
                         GError        **error)
{
  static const char * const tables[] = {
    "settings", "accounts", "domains", "aliases", "routes", "relay_rules", "listeners",
  };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

  if (!begin (self, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM %s", tables[i]);

      if (!exec_sql (self, sql, error))
        return rollback (self);
    }
  if (!insert_settings (self, config, error) ||
      !insert_accounts (self, config, error) ||
      !insert_aliases_and_routes (self, config, error) ||
      !insert_rules_and_listeners (self, config, error))
    {
      g_prefix_error (error, "importing the configuration: ");
      return rollback (self);
    }
  return commit (self, error);
}
