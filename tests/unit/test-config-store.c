/* test-config-store.c - config.db: migrations, defaults, every mutation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each test works on its own config.db in a fresh temporary directory.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mg-config-store.h"
#include "mg-error.h"
#include "mg-problem.h"
#include "mg-settings.h"

typedef struct
{
  char          *dir;
  char          *path;
  MgConfigStore *store;
  GPtrArray     *problems;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("mg-config-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "config.db", NULL);
  fx->store = mg_config_store_open (fx->path, data != NULL ? data : "user", &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->store);
  fx->problems = mg_problems_new ();
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *file = g_build_filename (dir, name, NULL);

      g_unlink (file);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  mg_config_store_free (fx->store);
  g_ptr_array_unref (fx->problems);
  remove_dir (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static MgConfig *
snapshot (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  MgConfig *config = mg_config_store_snapshot (fx->store, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

/* Asserts the problems are exactly (code, field) pairs, then clears them. */
static void
assert_problems (Fixture    *fx,
                 const char *code,
                 const char *field,
                 ...)
{
  va_list args;
  guint i = 0;

  va_start (args, field);
  while (code != NULL)
    {
      const MgProblem *p;

      g_assert_cmpuint (i, <, fx->problems->len);
      p = g_ptr_array_index (fx->problems, i);
      g_assert_cmpstr (p->code, ==, code);
      g_assert_cmpstr (p->field, ==, field);
      i++;
      code = va_arg (args, const char *);
      if (code != NULL)
        field = va_arg (args, const char *);
    }
  va_end (args);
  g_assert_cmpuint (fx->problems->len, ==, i);
  g_ptr_array_set_size (fx->problems, 0);
}

static void
assert_no_problems (Fixture *fx)
{
  g_assert_cmpuint (fx->problems->len, ==, 0);
}

/* ---- migrations ---- */

static void
test_migrate_from_zero (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mg-config-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "config.db", NULL);
  sqlite3 *db = NULL;
  MgConfigStore *store;
  g_autoptr(MgConfig) config = NULL;

  /* an existing, empty database at user_version 0 */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 0; CREATE TABLE unrelated (x)",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = mg_config_store_open (path, "user", &error);
  g_assert_no_error (error);
  g_assert_cmpint (mg_config_store_schema_version (store), ==, 3);
  config = mg_config_store_snapshot (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->listeners->len, ==, 2);
  mg_config_store_free (store);

  /* WAL mode is persistent in the file */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  {
    sqlite3_stmt *stmt = NULL;

    sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
  }
  sqlite3_close (db);
  remove_dir (dir);
}

static void
test_migrate_reopen (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;

  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE,
                                             fx->problems, &error));
  g_assert_no_error (error);
  mg_config_store_free (fx->store);

  /* reopening migrates nothing and keeps the data; defaults not re-added */
  fx->store = mg_config_store_open (fx->path, "system", &error);
  g_assert_no_error (error);
  g_assert_cmpint (mg_config_store_schema_version (fx->store), ==, 3);
  config = snapshot (fx);
  g_assert_cmpuint (config->domains->len, ==, 1);
  g_assert_cmpuint (config->listeners->len, ==, 2);
  g_assert_cmpstr (((MgListenerSpec *) config->listeners->pdata[0])->address, ==, "127.0.0.1");
}

static void
test_migrate_newer_refused (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  MgConfigStore *store;

  mg_config_store_free (fx->store);
  fx->store = NULL;
  g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = mg_config_store_open (fx->path, "user", &error);
  g_assert_null (store);
  g_assert_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_SCHEMA);

  /* teardown frees fx->store */
  fx->store = mg_config_store_open (":memory:", "user", NULL);
}

static void
test_open_bad_profile (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (mg_config_store_open (":memory:", "desktop", &error));
  g_assert_error (error, MG_CONFIG_ERROR, MG_CONFIG_ERROR_INVALID_VALUE);
}

/* ---- defaults ---- */

static void
test_defaults_user (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(MgConfig) config = snapshot (fx);
  const MgListenerSpec *a, *b;
  gsize n_settings;

  mg_settings_list (&n_settings);
  g_assert_cmpuint (g_hash_table_size (config->settings), ==, n_settings);
  g_assert_cmpint (mg_config_get_int (config, "receiver.max_recipients"), ==, 1000);
  g_assert_true (mg_config_get_bool (config, "delivery.forward_all"));
  g_assert_cmpstr (mg_config_get_string (config, "delivery.mailbox_dir"), ==, "mailbox/%USERNAME%");

  g_assert_cmpuint (config->listeners->len, ==, 2);
  a = config->listeners->pdata[0];
  b = config->listeners->pdata[1];
  g_assert_cmpstr (a->address, ==, "127.0.0.1");
  g_assert_cmpuint (a->port, ==, 2525);
  g_assert_cmpstr (b->address, ==, "127.0.0.1");
  g_assert_cmpuint (b->port, ==, 20025);
  g_assert_cmpuint (config->domains->len, ==, 0);
  g_assert_cmpuint (config->relay_rules->len, ==, 0);
}

static void
test_defaults_system (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(MgConfig) config = snapshot (fx);
  const MgListenerSpec *a, *b;

  g_assert_cmpuint (config->listeners->len, ==, 2);
  a = config->listeners->pdata[0];
  b = config->listeners->pdata[1];
  g_assert_cmpstr (a->address, ==, "*");
  g_assert_cmpuint (a->port, ==, 25);
  g_assert_cmpstr (b->address, ==, "*");
  g_assert_cmpuint (b->port, ==, 20025);
}

/* ---- settings ---- */

static void
test_settings_all_or_nothing (Fixture       *fx,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) changes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(MgConfig) before = NULL;
  g_autoptr(MgConfig) after = NULL;

  g_hash_table_insert (changes, "receiver.max_recipients", "50");
  g_hash_table_insert (changes, "delivery.port", "twenty-five");
  g_assert_false (mg_config_store_set_settings (fx->store, changes, fx->problems, &error));
  g_assert_no_error (error);
  assert_problems (fx, MG_PROBLEM_NOT_A_NUMBER, "delivery.port", NULL);
  before = snapshot (fx);
  g_assert_cmpint (mg_config_get_int (before, "receiver.max_recipients"), ==, 1000);

  g_hash_table_remove_all (changes);
  g_hash_table_insert (changes, "receiver.max_recipients", "50");
  g_hash_table_insert (changes, "delivery.forward_all", "No");
  g_hash_table_insert (changes, "delivery.smarthost", "Relay.Example:2525");
  g_assert_true (mg_config_store_set_settings (fx->store, changes, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  after = snapshot (fx);
  g_assert_cmpint (mg_config_get_int (after, "receiver.max_recipients"), ==, 50);
  g_assert_false (mg_config_get_bool (after, "delivery.forward_all"));
  g_assert_cmpstr (mg_config_get_string (after, "delivery.forward_all"), ==, "false");
  g_assert_cmpstr (mg_config_get_string (after, "delivery.smarthost"), ==, "relay.example:2525");
}

static void
test_settings_unknown_key (Fixture       *fx,
                           gconstpointer  data)
{
  g_autoptr(GHashTable) changes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (changes, "receiver.colour", "blue");
  g_assert_false (mg_config_store_set_settings (fx->store, changes, fx->problems, NULL));
  assert_problems (fx, MG_PROBLEM_UNKNOWN_KEY, "receiver.colour", NULL);
}

/* ---- domains ---- */

static void
test_domain_add_remove (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  const MgDomain *domain;

  g_assert_true (mg_config_store_add_domain (fx->store, "Corp.Example.", TRUE, fx->problems, &error));
  g_assert_true (mg_config_store_add_domain (fx->store, "a.example", FALSE, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);

  g_assert_false (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_EXISTS, "domain", NULL);
  g_assert_false (mg_config_store_add_domain (fx->store, "bad_domain..x", FALSE, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_DOMAIN, "domain", NULL);
  g_assert_false (mg_config_store_remove_domain (fx->store, "nowhere.example", fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "domain", NULL);
  g_assert_false (mg_config_store_set_domain_shared_box (fx->store, "nowhere.example", TRUE,
                                                          fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "domain", NULL);
  g_assert_no_error (error);

  config = snapshot (fx);
  g_assert_cmpuint (config->domains->len, ==, 2);
  /* sorted by name, canonical */
  g_assert_cmpstr (((MgDomain *) config->domains->pdata[0])->name, ==, "a.example");
  domain = mg_config_find_domain (config, "corp.example");
  g_assert_nonnull (domain);
  g_assert_true (domain->shared_box);
  g_clear_pointer (&config, mg_config_unref);

  g_assert_true (mg_config_store_set_domain_shared_box (fx->store, "corp.example", FALSE,
                                                         fx->problems, &error));
  g_assert_true (mg_config_store_remove_domain (fx->store, "a.example", fx->problems, &error));
  g_assert_no_error (error);
  config = snapshot (fx);
  g_assert_cmpuint (config->domains->len, ==, 1);
  g_assert_false (mg_config_find_domain (config, "corp.example")->shared_box);
}

static void
test_domain_remove_cascades (Fixture       *fx,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;

  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "user1@corp.example", NULL, fx->problems, &error));
  g_assert_true (mg_config_store_remove_domain (fx->store, "corp.example", fx->problems, &error));
  g_assert_no_error (error);
  config = snapshot (fx);
  g_assert_cmpuint (config->accounts->len, ==, 0);
}

/* ---- accounts (R-2.2) ---- */

static void
test_account_mutations (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  const MgAccount *account;

  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));

  g_assert_false (mg_config_store_add_account (fx->store, "user1@other.example", NULL,
                                               fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_UNKNOWN_DOMAIN, "address", NULL);
  g_assert_false (mg_config_store_add_account (fx->store, "not an address", NULL,
                                               fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_ADDRESS, "address", NULL);
  g_assert_false (mg_config_store_add_account (fx->store, "user1@corp.example", "",
                                               fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_EMPTY, "password", NULL);

  g_assert_true (mg_config_store_add_account (fx->store, "User1@Corp.Example", "s3cret",
                                              fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "user2@corp.example", NULL,
                                              fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  g_assert_false (mg_config_store_add_account (fx->store, "user1@corp.example", NULL,
                                               fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_EXISTS, "address", NULL);

  config = snapshot (fx);
  account = mg_config_find_account (config, "user1@corp.example");
  g_assert_nonnull (account);
  g_assert_cmpstr (account->local_part, ==, "user1");
  g_assert_cmpstr (account->domain, ==, "corp.example");
  g_assert_true (g_str_has_prefix (account->password_hash, "$pbkdf2-sha256$100000$"));
  /* R-2.5: never stored in clear */
  g_assert_null (strstr (account->password_hash, "s3cret"));
  g_assert_true (mg_config_password_verify (account->password_hash, "s3cret"));
  g_assert_false (mg_config_password_verify (account->password_hash, "S3cret"));
  g_assert_false (mg_config_password_verify (account->password_hash, ""));
  g_assert_null (mg_config_find_account (config, "user2@corp.example")->password_hash);
  g_clear_pointer (&config, mg_config_unref);

  g_assert_true (mg_config_store_set_password (fx->store, "user2@corp.example", "other",
                                               fx->problems, &error));
  g_assert_false (mg_config_store_set_password (fx->store, "user9@corp.example", "x",
                                                fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "address", NULL);
  g_assert_true (mg_config_store_remove_account (fx->store, "user1@corp.example",
                                                 fx->problems, &error));
  g_assert_false (mg_config_store_remove_account (fx->store, "user1@corp.example",
                                                  fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "address", NULL);
  g_assert_no_error (error);

  config = snapshot (fx);
  g_assert_cmpuint (config->accounts->len, ==, 1);
  g_assert_true (mg_config_password_verify (mg_config_find_account (config, "user2@corp.example")->password_hash,
                                            "other"));
}

static void
test_password_verify_malformed (void)
{
  g_assert_false (mg_config_password_verify (NULL, "x"));
  g_assert_false (mg_config_password_verify ("", "x"));
  g_assert_false (mg_config_password_verify ("plain", "plain"));
  g_assert_false (mg_config_password_verify ("$pbkdf2-sha256$0$AAAA$AAAA", "x"));
  g_assert_false (mg_config_password_verify ("$md5$1$AAAA$AAAA", "x"));
}

static void
test_account_import (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  guint n_added = 0;
  const char *bad =
    "# exported from the internal server\n"   /* 1 */
    "user1@corp.example\n"                    /* 2 */
    "not-an-address\n"                        /* 3 */
    "\n"                                      /* 4 */
    "user2@elsewhere.example\tpw\n"           /* 5 */
    "user3@corp.example\tpw\textra\n"         /* 6 */
    "USER1@corp.example\n";                   /* 7: duplicate of line 2 */
  const char *good =
    "# comment\r\n"
    "user1@corp.example\tpw1\r\n"
    "\r\n"
    "  user2@corp.example\n"
    "user3@corp.example\t\n";

  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));

  g_assert_false (mg_config_store_import_accounts (fx->store, bad, &n_added, fx->problems, &error));
  g_assert_no_error (error);
  assert_problems (fx,
                   MG_PROBLEM_INVALID_ADDRESS, "line 3",
                   MG_PROBLEM_UNKNOWN_DOMAIN, "line 5",
                   MG_PROBLEM_BAD_LINE, "line 6",
                   MG_PROBLEM_EXISTS, "line 7",
                   NULL);
  config = snapshot (fx);
  g_assert_cmpuint (config->accounts->len, ==, 0);   /* all or nothing */
  g_clear_pointer (&config, mg_config_unref);

  g_assert_true (mg_config_store_import_accounts (fx->store, good, &n_added, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  g_assert_cmpuint (n_added, ==, 3);
  config = snapshot (fx);
  g_assert_cmpuint (config->accounts->len, ==, 3);
  g_assert_true (mg_config_password_verify (mg_config_find_account (config, "user1@corp.example")->password_hash,
                                            "pw1"));
  g_assert_null (mg_config_find_account (config, "user2@corp.example")->password_hash);
  g_assert_null (mg_config_find_account (config, "user3@corp.example")->password_hash);

  /* importing again: every line already exists */
  g_assert_false (mg_config_store_import_accounts (fx->store, "user1@corp.example\n", &n_added,
                                                   fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_EXISTS, "line 1", NULL);
}

/* ---- aliases (R-2.3) ---- */

static void
test_alias_mutations (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  const char *wild[] = { "*@corp.example", NULL };
  const char *two[] = { "Alice@corp.example", " bob@corp.example ", "alice@corp.example", NULL };
  const char *bad_targets[] = { "*@corp.example", "no-at-sign", NULL };
  const char *none[] = { NULL };
  const char *carol[] = { "carol@corp.example", NULL };
  const MgAlias *alias;

  g_assert_true (mg_config_store_add_alias (fx->store, "*@Corp.Example", wild, fx->problems, &error));
  g_assert_true (mg_config_store_add_alias (fx->store, "sales@corp.example", two, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);

  /* "*@d" targets only for wildcard aliases; each bad target named */
  g_assert_false (mg_config_store_add_alias (fx->store, "info@corp.example", bad_targets,
                                             fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_ADDRESS, "targets",
                   MG_PROBLEM_INVALID_ADDRESS, "targets", NULL);
  g_assert_false (mg_config_store_add_alias (fx->store, "info@corp.example", none,
                                             fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_EMPTY, "targets", NULL);
  g_assert_false (mg_config_store_add_alias (fx->store, "info@", wild, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_ADDRESS, "alias",
                   MG_PROBLEM_INVALID_ADDRESS, "targets", NULL);
  g_assert_false (mg_config_store_remove_alias (fx->store, "nobody@corp.example",
                                                fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "alias", NULL);
  g_assert_no_error (error);

  config = snapshot (fx);
  g_assert_cmpuint (config->aliases->len, ==, 2);
  alias = g_hash_table_lookup (config->alias_index, "sales@corp.example");
  g_assert_nonnull (alias);
  g_assert_cmpuint (g_strv_length (alias->targets), ==, 2);   /* duplicate dropped */
  g_assert_cmpstr (alias->targets[0], ==, "alice@corp.example");
  g_assert_cmpstr (alias->targets[1], ==, "bob@corp.example");
  g_assert_nonnull (g_hash_table_lookup (config->alias_index, "*@corp.example"));
  g_clear_pointer (&config, mg_config_unref);

  /* replace, then remove */
  g_assert_true (mg_config_store_add_alias (fx->store, "sales@corp.example", carol,
                                            fx->problems, &error));
  g_assert_true (mg_config_store_remove_alias (fx->store, "*@corp.example", fx->problems, &error));
  g_assert_no_error (error);
  config = snapshot (fx);
  g_assert_cmpuint (config->aliases->len, ==, 1);
  alias = config->aliases->pdata[0];
  g_assert_cmpstr (alias->targets[0], ==, "carol@corp.example");
  g_assert_null (alias->targets[1]);
}

/* ---- routes (R-3.1) ---- */

static void
test_route_mutations (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  const MgRoute *route;

  g_assert_true (mg_config_store_add_route (fx->store, "Corp.Example", "127.0.0.1", 20025,
                                            fx->problems, &error));
  g_assert_true (mg_config_store_add_route (fx->store, "v6.example", "[::1]", 25,
                                            fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);

  g_assert_false (mg_config_store_add_route (fx->store, "-bad-", "bad host!", 0,
                                             fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_DOMAIN, "route.domain",
                   MG_PROBLEM_INVALID_HOST, "route.host",
                   MG_PROBLEM_INVALID_PORT, "route.port", NULL);
  g_assert_false (mg_config_store_add_route (fx->store, "x.example", "mail.x.example", 65536,
                                             fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_PORT, "route.port", NULL);
  g_assert_false (mg_config_store_remove_route (fx->store, "none.example", fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_NOT_FOUND, "route.domain", NULL);
  g_assert_no_error (error);

  /* replace */
  g_assert_true (mg_config_store_add_route (fx->store, "corp.example", "MX.Corp.Example", 2525,
                                            fx->problems, &error));
  config = snapshot (fx);
  g_assert_cmpuint (config->routes->len, ==, 2);
  route = mg_config_find_route (config, "corp.example");
  g_assert_cmpstr (route->host, ==, "mx.corp.example");
  g_assert_cmpuint (route->port, ==, 2525);
  g_assert_cmpstr (mg_config_find_route (config, "v6.example")->host, ==, "::1");
  g_clear_pointer (&config, mg_config_unref);

  g_assert_true (mg_config_store_remove_route (fx->store, "corp.example", fx->problems, &error));
  g_assert_no_error (error);
  config = snapshot (fx);
  g_assert_null (mg_config_find_route (config, "corp.example"));
}

/* ---- relay rules (R-2.4) ---- */

static char *
rules_text (Fixture *fx)
{
  g_autoptr(MgConfig) config = snapshot (fx);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = config->relay_rules->pdata[i];

      g_string_append_printf (text, "%s%s=%s", i > 0 ? " " : "", rule->pattern,
                              rule->allow ? "allow" : "deny");
    }
  return g_string_free (text, FALSE);
}

static void
add_rule (Fixture    *fx,
          const char *pattern,
          gboolean    allow,
          guint       position)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mg_config_store_add_relay_rule (fx->store, pattern, allow, position,
                                                 fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
}

static void
test_relay_mutations (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  add_rule (fx, "192.168.0.5", TRUE, 0);
  add_rule (fx, "Postmaster@Corp.Example", FALSE, 1);   /* insert at the top */
  add_rule (fx, "10.0.0.0/8", TRUE, 0);
  add_rule (fx, ".corp.example", TRUE, 3);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "postmaster@corp.example=deny 192.168.0.5=allow "
                             ".corp.example=allow 10.0.0.0/8=allow");
  g_clear_pointer (&text, g_free);

  g_assert_false (mg_config_store_add_relay_rule (fx->store, "10.0.0.0/33", TRUE, 6,
                                                  fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_INVALID_PATTERN, "relay.pattern",
                   MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  g_assert_false (mg_config_store_remove_relay_rule (fx->store, 0, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  g_assert_false (mg_config_store_remove_relay_rule (fx->store, 5, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  g_assert_false (mg_config_store_move_relay_rule (fx->store, 5, 1, fx->problems, &error));
  assert_problems (fx, MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  g_assert_no_error (error);

  /* move N M: take rule N, put it at M, the others shift */
  g_assert_true (mg_config_store_move_relay_rule (fx->store, 1, 3, fx->problems, &error));
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "192.168.0.5=allow .corp.example=allow "
                             "postmaster@corp.example=deny 10.0.0.0/8=allow");
  g_clear_pointer (&text, g_free);
  g_assert_true (mg_config_store_move_relay_rule (fx->store, 4, 1, fx->problems, &error));
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "10.0.0.0/8=allow 192.168.0.5=allow .corp.example=allow "
                             "postmaster@corp.example=deny");
  g_clear_pointer (&text, g_free);

  g_assert_true (mg_config_store_remove_relay_rule (fx->store, 2, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "10.0.0.0/8=allow .corp.example=allow postmaster@corp.example=deny");
}

typedef struct
{
  const char         *pattern;
  gboolean            valid;
  MgRelayPatternKind  kind;
  const char         *normalised;
} PatternCase;

static const PatternCase pattern_cases[] = {
  { "192.168.0.5",        TRUE,  MG_RELAY_PATTERN_ADDRESS_IP, "192.168.0.5" },
  { "::1",                TRUE,  MG_RELAY_PATTERN_ADDRESS_IP, "::1" },
  { "2001:DB8::5",        TRUE,  MG_RELAY_PATTERN_ADDRESS_IP, "2001:db8::5" },
  { "192.168.0.0/24",     TRUE,  MG_RELAY_PATTERN_CIDR,       "192.168.0.0/24" },
  { "2001:db8::/32",      TRUE,  MG_RELAY_PATTERN_CIDR,       "2001:db8::/32" },
  { "0.0.0.0/0",          TRUE,  MG_RELAY_PATTERN_CIDR,       "0.0.0.0/0" },
  { "Mail.Corp.Example",  TRUE,  MG_RELAY_PATTERN_HOST,       "mail.corp.example" },
  { ".corp.example",      TRUE,  MG_RELAY_PATTERN_HOST,       ".corp.example" },
  { "Postmaster@Corp.Example", TRUE, MG_RELAY_PATTERN_SENDER, "postmaster@corp.example" },
  { "@corp.example",      TRUE,  MG_RELAY_PATTERN_SENDER,     "@corp.example" },
  { "*@Corp.Example",     TRUE,  MG_RELAY_PATTERN_SENDER,     "*@corp.example" },
  { "",                   FALSE },
  { "192.168.0.256",      FALSE },
  { "192.168.0.0/33",     FALSE },
  { "192.168.0.5/24",     FALSE },   /* host bits set */
  { "192.168.0.0/",       FALSE },
  { "192.168.0.0/x",      FALSE },
  { "2001:db8::/129",     FALSE },
  { "mail..example",      FALSE },
  { ".",                  FALSE },
  { "@",                  FALSE },
  { "*@",                 FALSE },
  { "user@",              FALSE },
  { "bad host",           FALSE },
};

/* Edit in place: pattern and action of one rule; the order stays */
static void
test_relay_replace (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  add_rule (fx, "192.168.0.5", TRUE, 0);
  add_rule (fx, "10.0.0.0/8", TRUE, 0);
  g_assert_true (mg_config_store_replace_relay_rule (fx->store, 2, "Postmaster@Corp.Example", FALSE,
                                                     fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "192.168.0.5=allow postmaster@corp.example=deny");
  g_clear_pointer (&text, g_free);

  g_assert_false (mg_config_store_replace_relay_rule (fx->store, 3, "10.0.0.0/33", TRUE,
                                                      fx->problems, &error));
  g_assert_no_error (error);
  assert_problems (fx, MG_PROBLEM_INVALID_PATTERN, "relay.pattern",
                   MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "192.168.0.5=allow postmaster@corp.example=deny");
}

/* A batch: later steps see earlier ones; a refused step leaves nothing
 * after a rollback, and a commit makes every step durable at once */
static void
test_batch_all_or_nothing (Fixture       *fx,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  g_autofree char *text = NULL;

  add_rule (fx, "192.168.0.5", TRUE, 0);

  g_assert_true (mg_config_store_begin_batch (fx->store, &error));
  g_assert_no_error (error);
  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "bob@corp.example", NULL, fx->problems, &error));
  g_assert_true (mg_config_store_move_relay_rule (fx->store, 1, 1, fx->problems, &error));
  g_assert_true (mg_config_store_add_relay_rule (fx->store, "10.0.0.0/8", FALSE, 1, fx->problems, &error));
  /* a refused step in the middle rolls back only itself (its savepoint) */
  g_assert_false (mg_config_store_remove_relay_rule (fx->store, 9, fx->problems, &error));
  g_assert_no_error (error);
  assert_problems (fx, MG_PROBLEM_BAD_POSITION, "relay.position", NULL);
  g_assert_true (mg_config_store_remove_relay_rule (fx->store, 2, fx->problems, &error));
  mg_config_store_rollback_batch (fx->store);

  config = snapshot (fx);
  g_assert_cmpuint (config->domains->len, ==, 0);
  g_assert_cmpuint (config->accounts->len, ==, 0);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "192.168.0.5=allow");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&config, mg_config_unref);

  g_assert_true (mg_config_store_begin_batch (fx->store, &error));
  g_assert_true (mg_config_store_add_domain (fx->store, "corp.example", FALSE, fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "bob@corp.example", "pw", fx->problems, &error));
  g_assert_true (mg_config_store_replace_relay_rule (fx->store, 1, "10.0.0.0/8", FALSE, fx->problems, &error));
  g_assert_true (mg_config_store_commit_batch (fx->store, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);

  config = snapshot (fx);
  g_assert_cmpuint (config->domains->len, ==, 1);
  g_assert_cmpuint (config->accounts->len, ==, 1);
  text = rules_text (fx);
  g_assert_cmpstr (text, ==, "10.0.0.0/8=deny");

  /* after the batch, mutations have their own transactions again */
  g_assert_true (mg_config_store_remove_domain (fx->store, "corp.example", fx->problems, &error));
  g_assert_no_error (error);
}

static void
test_relay_pattern_parse (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (pattern_cases); i++)
    {
      const PatternCase *c = &pattern_cases[i];
      g_autofree char *normalised = NULL;
      g_autoptr(GInetAddressMask) mask = NULL;
      MgRelayPatternKind kind = 99;
      gboolean ok;

      ok = mg_relay_rule_parse (c->pattern, &normalised, &kind, &mask);
      g_test_message ("pattern “%s”", c->pattern);
      g_assert_cmpint (ok, ==, c->valid);
      if (!c->valid)
        continue;
      g_assert_cmpint (kind, ==, c->kind);
      g_assert_cmpstr (normalised, ==, c->normalised);
      if (kind == MG_RELAY_PATTERN_ADDRESS_IP || kind == MG_RELAY_PATTERN_CIDR)
        g_assert_nonnull (mask);
      else
        g_assert_null (mask);
    }
}

/* ---- listeners (R-1.1) ---- */

typedef struct
{
  const char *spec;
  gboolean    valid;
  const char *address;
  guint16     port;
  const char *formatted;
} ListenerCase;

static const ListenerCase listener_cases[] = {
  { "127.0.0.1:2525", TRUE,  "127.0.0.1", 2525, "127.0.0.1:2525" },
  { "*:25",           TRUE,  "*",         25,   "*:25" },
  { "[::1]:0",        TRUE,  "::1",       0,    "[::1]:0" },
  { "[::]:20025",     TRUE,  "::",        20025, "[::]:20025" },
  { "0.0.0.0:65535",  TRUE,  "0.0.0.0",   65535, "0.0.0.0:65535" },
  { "127.0.0.1",      FALSE },
  { "127.0.0.1:",     FALSE },
  { "127.0.0.1:65536", FALSE },
  { "127.0.0.1:+25",  FALSE },
  { "::1:25",         FALSE },   /* IPv6 needs brackets */
  { "[127.0.0.1]:25", FALSE },
  { "localhost:25",   FALSE },
  { ":25",            FALSE },
  { "*:-1",           FALSE },
};

static void
test_listener_spec (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (listener_cases); i++)
    {
      const ListenerCase *c = &listener_cases[i];
      g_autofree char *address = NULL;
      g_autofree char *formatted = NULL;
      guint16 port = 1;

      g_test_message ("spec “%s”", c->spec);
      g_assert_cmpint (mg_listener_spec_parse (c->spec, &address, &port), ==, c->valid);
      if (!c->valid)
        continue;
      g_assert_cmpstr (address, ==, c->address);
      g_assert_cmpuint (port, ==, c->port);
      formatted = mg_listener_spec_format (address, port);
      g_assert_cmpstr (formatted, ==, c->formatted);
    }
}

static void
test_listener_set (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  const char *bad[] = { "127.0.0.1:25", "nonsense", "127.0.0.1:25", NULL };
  const char *good[] = { "[::1]:0", "127.0.0.1:0", "127.0.0.1:0", "*:2525", NULL };

  g_assert_false (mg_config_store_set_listeners (fx->store, bad, fx->problems, &error));
  g_assert_no_error (error);
  assert_problems (fx, MG_PROBLEM_INVALID_LISTENER, "listen",
                   MG_PROBLEM_EXISTS, "listen", NULL);
  config = snapshot (fx);
  g_assert_cmpuint (config->listeners->len, ==, 2);   /* untouched */
  g_clear_pointer (&config, mg_config_unref);

  /* port 0 (any free port) may repeat */
  g_assert_true (mg_config_store_set_listeners (fx->store, good, fx->problems, &error));
  g_assert_no_error (error);
  assert_no_problems (fx);
  config = snapshot (fx);
  g_assert_cmpuint (config->listeners->len, ==, 4);
  g_assert_cmpstr (((MgListenerSpec *) config->listeners->pdata[0])->address, ==, "::1");
  g_assert_cmpstr (((MgListenerSpec *) config->listeners->pdata[3])->address, ==, "*");
  g_assert_cmpuint (((MgListenerSpec *) config->listeners->pdata[3])->port, ==, 2525);
}

/* ---- the snapshot ---- */

static void
test_snapshot_refcount_and_indexes (Fixture       *fx,
                                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  MgConfig *config;

  g_assert_true (mg_config_store_add_domain (fx->store, "b.example", TRUE, fx->problems, &error));
  g_assert_true (mg_config_store_add_domain (fx->store, "a.example", TRUE, fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "joe@b.example", NULL, fx->problems, &error));
  g_assert_true (mg_config_store_add_account (fx->store, "joe@a.example", NULL, fx->problems, &error));
  g_assert_no_error (error);

  config = snapshot (fx);
  mg_config_ref (config);
  g_assert_cmpint (config->ref_count, ==, 2);
  mg_config_unref (config);
  /* shared box users: the first account in address order stands for it */
  g_assert_cmpstr (((MgAccount *) g_hash_table_lookup (config->shared_users, "joe"))->address,
                   ==, "joe@a.example");
  g_assert_cmpstr (((MgAccount *) config->accounts->pdata[0])->address, ==, "joe@a.example");
  mg_config_unref (config);
}

static void
test_config_default (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();

  g_assert_cmpuint (config->listeners->len, ==, 0);
  g_assert_cmpint (mg_config_get_int (config, "delivery.port"), ==, 25);
  g_assert_cmpstr (mg_config_get_string (config, "delivery.smarthost"), ==, "");
  g_assert_false (mg_config_get_bool (config, "receiver.vrfy"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, profile) \
  g_test_add (path, Fixture, profile, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/config-store/migrate/from-zero", test_migrate_from_zero);
  ADD ("/config-store/migrate/reopen-idempotent", test_migrate_reopen, "user");
  ADD ("/config-store/migrate/newer-refused", test_migrate_newer_refused, "user");
  g_test_add_func ("/config-store/open/bad-profile", test_open_bad_profile);
  ADD ("/config-store/defaults/user", test_defaults_user, "user");
  ADD ("/config-store/defaults/system", test_defaults_system, "system");
  ADD ("/config-store/settings/all-or-nothing", test_settings_all_or_nothing, "user");
  ADD ("/config-store/settings/unknown-key", test_settings_unknown_key, "user");
  ADD ("/config-store/domain/add-remove", test_domain_add_remove, "user");         /* R-2.1 */
  ADD ("/config-store/domain/remove-cascades", test_domain_remove_cascades, "user");
  ADD ("/config-store/account/mutations", test_account_mutations, "user");         /* R-2.2, R-2.5 */
  g_test_add_func ("/config-store/account/password-malformed", test_password_verify_malformed);
  ADD ("/config-store/account/import-tsv", test_account_import, "user");           /* R-2.2 */
  ADD ("/config-store/alias/mutations", test_alias_mutations, "user");             /* R-2.3 */
  ADD ("/config-store/route/mutations", test_route_mutations, "user");             /* R-3.1 */
  ADD ("/config-store/relay/mutations-and-moves", test_relay_mutations, "user");   /* R-2.4 */
  ADD ("/config-store/relay/replace", test_relay_replace, "user");                 /* R-2.4 */
  ADD ("/config-store/batch/all-or-nothing", test_batch_all_or_nothing, "user");
  g_test_add_func ("/config-store/relay/pattern-parse", test_relay_pattern_parse);
  g_test_add_func ("/config-store/listener/spec", test_listener_spec);             /* R-1.1 */
  ADD ("/config-store/listener/set", test_listener_set, "user");
  ADD ("/config-store/snapshot/refcount-indexes", test_snapshot_refcount_and_indexes, "user");
  g_test_add_func ("/config-store/snapshot/default", test_config_default);

  return g_test_run ();
}
