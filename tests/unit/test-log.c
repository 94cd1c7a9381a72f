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

/* "mailgatectl log tail": the last lines, of one kind or all merged by time */
static void
test_read_tail (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mglog-XXXXXX", NULL);
  g_autoptr(GPtrArray) lines = NULL;
  MgLogKind kind;

  g_assert_true (mg_log_open (dir, 0, 0, NULL));
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *n = g_strdup_printf ("%u", i);

      mg_log_event (i % 3 == 0 ? MG_LOG_FAIL : MG_LOG_ACCEPT, NULL, "n", n, NULL);
    }

  lines = mg_log_read (MG_LOG_ACCEPT, NULL, 5);
  g_assert_cmpuint (lines->len, ==, 5);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 0), "accept: n=23"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 4), "accept: n=29"));
  g_clear_pointer (&lines, g_ptr_array_unref);

  /* all kinds, merged by time stamp (milliseconds: keep them apart) */
  g_usleep (2000);
  mg_log_event (MG_LOG_FAIL, NULL, "n", "30", NULL);
  g_usleep (2000);
  mg_log_event (MG_LOG_ACCEPT, NULL, "n", "31", NULL);
  g_usleep (2000);
  mg_log_event (MG_LOG_FAIL, NULL, "n", "32", NULL);
  lines = mg_log_read (MG_LOG_N_KINDS, NULL, 3);
  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 0), "fail: n=30"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 1), "accept: n=31"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 2), "fail: n=32"));
  g_clear_pointer (&lines, g_ptr_array_unref);

  g_assert_true (mg_log_kind_from_name ("sender", &kind));
  g_assert_cmpint (kind, ==, MG_LOG_SENDER);
  g_assert_false (mg_log_kind_from_name ("mail", &kind));

  mg_log_close ();
  lines = mg_log_read (MG_LOG_N_KINDS, NULL, 4);     /* closed: nothing */
  g_assert_cmpuint (lines->len, ==, 0);
  rm_rf (dir);
}

/* "mailgatectl log search ID": every line about one message, rotated files
 * included, in time order, across kinds */
static void
test_read_search (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mglog-XXXXXX", NULL);
  g_autoptr(GPtrArray) lines = NULL;

  g_assert_true (mg_log_open (dir, 400, 20, NULL));
  mg_log_event (MG_LOG_RECEIVE, "B0000000001", "status", "queued", NULL);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *n = g_strdup_printf ("%u", i);

      mg_log_event (MG_LOG_RECEIVE, "B0000000002", "n", n, NULL);
      mg_log_event (MG_LOG_RECEIVE, "B00000000010", "n", n, NULL);   /* longer id */
    }
  mg_log_event (MG_LOG_SENDER, "B0000000001", "status", "deferred", NULL);
  mg_log_event (MG_LOG_FAIL, "B0000000001", "status", "bounced", NULL);

  lines = mg_log_read (MG_LOG_N_KINDS, "B0000000001", 0);
  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_nonnull (strstr (g_ptr_array_index (lines, 0), "B0000000001: receive: status=queued"));
  g_assert_nonnull (strstr (g_ptr_array_index (lines, 1), "sender: status=deferred"));
  g_assert_nonnull (strstr (g_ptr_array_index (lines, 2), "fail: status=bounced"));
  g_clear_pointer (&lines, g_ptr_array_unref);

  /* the first line was rotated away from receive.log long ago */
  g_autofree char *current = read_file (dir, "receive.log");
  g_assert_null (strstr (current, "B0000000001:"));

  lines = mg_log_read (MG_LOG_N_KINDS, "B0000000002", 0);
  g_assert_cmpuint (lines->len, ==, 40);
  g_clear_pointer (&lines, g_ptr_array_unref);
  lines = mg_log_read (MG_LOG_N_KINDS, "B0000000002", 3);
  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (lines, 2), "n=39"));

  mg_log_close ();
  rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log/line-format", test_line_format);
  g_test_add_func ("/log/rotation-bounded", test_rotation_bounded);
  g_test_add_func ("/log/read-tail", test_read_tail);
  g_test_add_func ("/log/read-search", test_read_search);
  return g_test_run ();
}
