/* test-epost.c - parsing the seed product's files (SPEC §8)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The seed-a/b/c directories hold the examples exactly as the seed's
 * manual prints them (../shared/seed/): every data line still has the
 * manual's placeholders, so each must be reported, with its line number,
 * and nothing imported.  "filled" is the same with real values, in the
 * seed's Windows form (Shift_JIS, CRLF).
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "mg-epost.h"

static char *
data_dir (const char *name)
{
  return g_build_filename (g_getenv ("TEST_SRCDIR"), "integration", "data", "epost",
                           name, NULL);
}

static const MgEpostSkipped *
find_skipped (MgEpostImport *import,
              const char    *file,
              guint          line)
{
  for (guint i = 0; i < import->skipped->len; i++)
    {
      const MgEpostSkipped *s = g_ptr_array_index (import->skipped, i);

      if (g_str_equal (s->file, file) && s->line == line)
        return s;
    }
  return NULL;
}

static void
assert_placeholder (MgEpostImport *import,
                    const char    *file,
                    guint          line)
{
  const MgEpostSkipped *s = find_skipped (import, file, line);

  g_test_message ("%s:%u", file, line);
  g_assert (s != NULL);
  g_assert_nonnull (strstr (s->reason, "placeholder"));
}

/* Method A: decorative dashes, ';' comments, the header as a comment. */
static void
test_seed_a (void)
{
  g_autofree char *dir = data_dir ("seed-a");
  g_autoptr(GError) error = NULL;
  g_autoptr(MgEpostImport) import = mg_epost_read_dir (dir, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (import->files->len, ==, 3);
  g_assert_cmpuint (import->routes->len, ==, 0);
  g_assert_cmpuint (import->relay_rules->len, ==, 0);
  g_assert_cmpuint (import->aliases->len, ==, 0);
  assert_placeholder (import, "gateway.dat", 5);   /* domain.jp, 192.168.0.x, 25 */
  assert_placeholder (import, "effect.dat", 1);    /* postmaster@<domain.jp> false */
  assert_placeholder (import, "effect.dat", 2);    /* 192.168.0.x true */
  assert_placeholder (import, "aliases.txt", 1);   /* *@<domain.jp> */
  g_assert_cmpuint (import->skipped->len, ==, 4);   /* nothing else: dashes, comments */
}

/* Method B: a "'" comment line with the header. */
static void
test_seed_b (void)
{
  g_autofree char *dir = data_dir ("seed-b");
  g_autoptr(GError) error = NULL;
  g_autoptr(MgEpostImport) import = mg_epost_read_dir (dir, &error);

  g_assert_no_error (error);
  assert_placeholder (import, "gateway.dat", 3);
  assert_placeholder (import, "aliases.txt", 1);
  assert_placeholder (import, "aliases.txt", 2);
  g_assert_cmpuint (import->skipped->len, ==, 5);
}

/* Method C: the header line between dashes, no comment marker. */
static void
test_seed_c (void)
{
  g_autofree char *dir = data_dir ("seed-c");
  g_autoptr(GError) error = NULL;
  g_autoptr(MgEpostImport) import = mg_epost_read_dir (dir, &error);

  g_assert_no_error (error);
  assert_placeholder (import, "gateway.dat", 4);
  g_assert_null (find_skipped (import, "gateway.dat", 2));   /* the header */
  g_assert_cmpuint (import->skipped->len, ==, 3);
}

/* The same files filled in, Shift_JIS with CRLF. */
static void
test_filled (void)
{
  g_autofree char *dir = data_dir ("filled");
  g_autoptr(GError) error = NULL;
  g_autoptr(MgEpostImport) import = mg_epost_read_dir (dir, &error);
  const MgEpostRoute *route;
  const MgEpostRelayRule *rule;
  const MgEpostAlias *alias;
  const MgEpostAccount *account;
  const MgEpostSkipped *s;

  g_assert_no_error (error);

  g_assert_cmpuint (import->routes->len, ==, 2);
  route = g_ptr_array_index (import->routes, 0);
  g_assert_cmpstr (route->where, ==, "gateway.dat:5");
  g_assert_cmpstr (route->domain, ==, "domain.co.jp");
  g_assert_cmpstr (route->host, ==, "192.168.0.10");
  g_assert_cmpuint (route->port, ==, 25);
  route = g_ptr_array_index (import->routes, 1);
  g_assert_cmpstr (route->domain, ==, "sub.domain.co.jp");
  g_assert_cmpstr (route->host, ==, "mail.domain.co.jp");
  g_assert_cmpuint (route->port, ==, 25);                   /* port optional */
  s = find_skipped (import, "gateway.dat", 7);              /* second route, same domain */
  g_assert (s != NULL);
  g_assert_nonnull (strstr (s->reason, "gateway.dat:5"));
  g_assert_cmpstr (s->text, ==, "domain.co.jp, 192.168.0.11, 25");
  g_assert_nonnull (find_skipped (import, "gateway.dat", 8));   /* ';' instead of ',' */

  g_assert_cmpuint (import->relay_rules->len, ==, 3);       /* order kept */
  rule = g_ptr_array_index (import->relay_rules, 0);
  g_assert_cmpstr (rule->pattern, ==, "192.168.0.10");
  g_assert_true (rule->allow);
  rule = g_ptr_array_index (import->relay_rules, 1);
  g_assert_cmpstr (rule->pattern, ==, "postmaster@domain.co.jp");
  g_assert_false (rule->allow);
  rule = g_ptr_array_index (import->relay_rules, 2);
  g_assert_cmpstr (rule->pattern, ==, "192.168.1.0/24");    /* seed wildcard */
  g_assert_cmpstr (rule->where, ==, "effect.dat:4");
  s = find_skipped (import, "effect.dat", 5);
  g_assert (s != NULL);
  g_assert_cmpstr (s->text, ==, "よく分からない行");         /* decoded from Shift_JIS */

  g_assert_cmpuint (import->aliases->len, ==, 2);
  alias = g_ptr_array_index (import->aliases, 1);
  g_assert_cmpstr (alias->alias, ==, "user2@domain.co.jp");
  g_assert_cmpuint (g_strv_length (alias->targets), ==, 2);
  g_assert_cmpstr (alias->targets[1], ==, "user2-backup@domain.co.jp");

  g_assert_cmpuint (import->accounts->len, ==, 2);
  account = g_ptr_array_index (import->accounts, 0);
  g_assert_cmpstr (account->address, ==, "user1@domain.co.jp");
  g_assert_cmpstr (account->password, ==, "pass-1");        /* no CR left */
  account = g_ptr_array_index (import->accounts, 1);
  g_assert_null (account->password);
  g_assert_nonnull (find_skipped (import, "users.tsv", 3)); /* "yamada": no domain */

  g_assert_cmpuint (import->skipped->len, ==, 4);
}

typedef struct
{
  const char *line;
  const char *pattern;   /* NULL: skipped */
  gboolean    allow;
} EffectCase;

static void
test_effect_patterns (void)
{
  static const EffectCase cases[] = {
    { "10.* true",                 "10.0.0.0/8", TRUE },
    { "172.16.*.* TRUE",           "172.16.0.0/16", TRUE },
    { "*  false",                  "0.0.0.0/0", FALSE },
    { "\t@spam.example\tfalse",    "@spam.example", FALSE },
    { "*@corp.example true",       "*@corp.example", TRUE },
    { "192.168.0.0/24 true",       "192.168.0.0/24", TRUE },
    { "2001:db8::/32 true",        "2001:db8::/32", TRUE },
    { "10.*.0.1 true",             NULL, FALSE },
    { "192.168.0.1 maybe",         NULL, FALSE },
    { "192.168.0.1",               NULL, FALSE },
    { "192.168.0.1 true extra",    NULL, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MgEpostImport) import = mg_epost_import_new ();

      g_test_message ("%s", cases[i].line);
      mg_epost_parse_effect (import, "effect.dat", cases[i].line, -1);
      if (cases[i].pattern == NULL)
        {
          g_assert_cmpuint (import->relay_rules->len, ==, 0);
          g_assert_cmpuint (import->skipped->len, ==, 1);
          g_assert_cmpuint (((MgEpostSkipped *) import->skipped->pdata[0])->line, ==, 1);
          continue;
        }
      g_assert_cmpuint (import->skipped->len, ==, 0);
      g_assert_cmpuint (import->relay_rules->len, ==, 1);
      g_assert_cmpstr (((MgEpostRelayRule *) import->relay_rules->pdata[0])->pattern, ==,
                       cases[i].pattern);
      g_assert_cmpint (((MgEpostRelayRule *) import->relay_rules->pdata[0])->allow, ==,
                       cases[i].allow);
    }
}

static void
test_gateway_lines (void)
{
  g_autoptr(MgEpostImport) import = mg_epost_import_new ();
  const char *text =
    "\xef\xbb\xbf" "Corp.Example., [::1], 2525\n"   /* BOM, case, trailing dot, v6 */
    "bad_domain!, 10.0.0.1, 25\n"
    "x.example, 10.0.0.1, 0\n"
    "y.example, 10.0.0.1, 25, extra\n"
    "z.example, host..example\n"
    "=====\n"
    "w.example, 10.0.0.1,\n";                       /* empty port: 25 */

  mg_epost_parse_gateway (import, "gateway.dat", text, -1);
  g_assert_cmpuint (import->routes->len, ==, 2);
  g_assert_cmpstr (((MgEpostRoute *) import->routes->pdata[0])->domain, ==, "corp.example");
  g_assert_cmpstr (((MgEpostRoute *) import->routes->pdata[0])->host, ==, "::1");
  g_assert_cmpuint (((MgEpostRoute *) import->routes->pdata[0])->port, ==, 2525);
  g_assert_cmpuint (((MgEpostRoute *) import->routes->pdata[1])->port, ==, 25);
  for (guint line = 2; line <= 5; line++)
    g_assert_nonnull (find_skipped (import, "gateway.dat", line));
  g_assert_cmpuint (import->skipped->len, ==, 4);
}

static void
test_not_text (void)
{
  g_autoptr(MgEpostImport) import = mg_epost_import_new ();
  const char bad[] = "a.example, \x81\x7f\xff, 25\n";   /* neither UTF-8 nor CP932 */

  mg_epost_parse_gateway (import, "gateway.dat", bad, sizeof bad - 1);
  g_assert_cmpuint (import->routes->len, ==, 0);
  g_assert_cmpuint (import->skipped->len, ==, 1);
  g_assert_cmpuint (((MgEpostSkipped *) import->skipped->pdata[0])->line, ==, 0);
}

static void
test_empty_dir (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mg-epost-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MgEpostImport) import = mg_epost_read_dir (dir, &error);

  g_assert_null (import);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/epost/seed/method-a", test_seed_a);
  g_test_add_func ("/epost/seed/method-b", test_seed_b);
  g_test_add_func ("/epost/seed/method-c", test_seed_c);
  g_test_add_func ("/epost/seed/filled-shift-jis", test_filled);
  g_test_add_func ("/epost/effect/patterns", test_effect_patterns);
  g_test_add_func ("/epost/gateway/lines", test_gateway_lines);
  g_test_add_func ("/epost/not-text", test_not_text);
  g_test_add_func ("/epost/empty-dir", test_empty_dir);

  return g_test_run ();
}
