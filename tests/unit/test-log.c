/* test-log.c - operator logs: line format and bounded rotation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mg-log.h"

static char *
read_file (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, "log", name, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

static void
rm_rf (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

static void
test_line_format (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mglog-XXXXXX", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  g_assert_true (mg_log_open (dir, 0, 0, NULL));
  mg_log_event (MG_LOG_SENDER, "B0000000097", "to", "user1@corp.example",
                "relay", "127.0.0.1:20025", "status", "sent",
                "reply", "250 2.0.0 Ok \"quoted\"", NULL);
  mg_log_close ();

  text = read_file (dir, "sender.log");
  g_assert_nonnull (text);
  g_assert_true (g_str_has_suffix (text, "\n"));
  g_assert_cmpuint (strchr (text, '\n') - text + 1, ==, strlen (text));   /* one line */
  fields = g_strsplit (text, " ", 2);
  g_assert_nonnull (g_date_time_new_from_iso8601 (fields[0], NULL));
  g_assert_cmpstr (fields[1], ==,
                   "B0000000097: sender: to=user1@corp.example relay=127.0.0.1:20025 "
                   "status=sent reply=\"250 2.0.0 Ok \\\"quoted\\\"\"\n");
  /* other kinds untouched */
  g_autofree char *fail = read_file (dir, "fail.log");
  g_assert_cmpstr (fail, ==, "");
  rm_rf (dir);
}

/* Disk use is bounded: past max_bytes the file rotates, at most @keep old
 * files stay. */
static void
test_rotation_bounded (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mglog-XXXXXX", NULL);
  g_autofree char *log_dir = g_build_filename (dir, "log", NULL);
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint n_files = 0;

  g_assert_true (mg_log_open (dir, 1000, 2, NULL));
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *n = g_strdup_printf ("%u", i);
      mg_log_event (MG_LOG_ACCEPT, NULL, "client", "127.0.0.1", "n", n, NULL);
    }
  mg_log_close ();

  listing = g_dir_open (log_dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (log_dir, name, NULL);
      GStatBuf st;

      if (!g_str_has_prefix (name, "accept.log"))
        continue;
      n_files++;
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_size, <=, 1000);
    }
  g_assert_cmpuint (n_files, ==, 3);   /* accept.log, .1, .2 */

  /* the newest event is in accept.log */
  g_autofree char *text = read_file (dir, "accept.log");
  g_assert_nonnull (strstr (text, " n=199\n"));
  rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log/line-format", test_line_format);
  g_test_add_func ("/log/rotation-bounded", test_rotation_bounded);
  return g_test_run ();
}
