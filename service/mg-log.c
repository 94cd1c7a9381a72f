/* mg-log.c - the operator's logs: accept, receive, sender, fail
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each kind has one append-only file; a write that would pass max_bytes
 * first rotates NAME.log -> NAME.log.1 -> ... -> NAME.log.KEEP (the oldest
 * dropped), so disk use is bounded by (KEEP + 1) * max_bytes per kind.
 * Writes are plain write(2) of whole lines under one lock: no fsync (a log
 * is not the queue).  When stderr is the journal, each event also goes to
 * journald with MG_LOG and MG_QUEUE_ID as fields.
 *
 * Threading: any thread; one global lock around file state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "mg-log.h"

typedef struct
{
  int    fd;
  gsize  size;
  char  *path;
} LogFile;

static GMutex log_lock;
static LogFile files[MG_LOG_N_KINDS];
static gsize max_file_bytes;
static guint keep_files;
static gboolean opened;
static gboolean to_journal;

static const char * const kind_names[MG_LOG_N_KINDS] = {
  [MG_LOG_ACCEPT] = "accept",
  [MG_LOG_RECEIVE] = "receive",
  [MG_LOG_SENDER] = "sender",
  [MG_LOG_FAIL] = "fail",
};

const char *
mg_log_kind_name (MgLogKind kind)
{
  g_return_val_if_fail (kind < MG_LOG_N_KINDS, NULL);
  return kind_names[kind];
}

static int
open_append (const char *path,
             gsize      *size_out)
{
  struct stat st;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

  if (fd >= 0 && fstat (fd, &st) == 0)
    *size_out = st.st_size;
  return fd;
}

gboolean
mg_log_open (const char  *state_dir,
             gsize        max_bytes,
             guint        keep,
             GError     **error)
{
  g_autofree char *dir = g_build_filename (state_dir, "log", NULL);

  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create log folder %s: %s", dir, g_strerror (saved));
      return FALSE;
    }

  g_mutex_lock (&log_lock);
  max_file_bytes = max_bytes;
  keep_files = keep;
  for (guint k = 0; k < MG_LOG_N_KINDS; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s.log", kind_names[k]);

      files[k].path = g_build_filename (dir, name, NULL);
      files[k].size = 0;
      files[k].fd = open_append (files[k].path, &files[k].size);
      if (files[k].fd < 0)
        g_warning ("cannot open %s: %s", files[k].path, g_strerror (errno));
    }
  opened = TRUE;
  /* Under systemd, stderr is the journal: send each event there too, as a
   * structured entry (GLib's default writer would drop INFO entries). */
  to_journal = g_log_writer_is_journald (STDERR_FILENO);
  g_mutex_unlock (&log_lock);
  return TRUE;
}

void
mg_log_close (void)
{
  g_mutex_lock (&log_lock);
  for (guint k = 0; k < MG_LOG_N_KINDS; k++)
    {
      if (files[k].fd >= 0 && opened)
        close (files[k].fd);
      files[k].fd = -1;
      g_clear_pointer (&files[k].path, g_free);
    }
  opened = FALSE;
  g_mutex_unlock (&log_lock);
}

/* Called with log_lock held. */
static void
rotate (LogFile *file)
{
  close (file->fd);
  file->fd = -1;

  for (guint i = keep_files; i > 0; i--)
    {
      g_autofree char *from = i == 1 ? g_strdup (file->path)
                                     : g_strdup_printf ("%s.%u", file->path, i - 1);
      g_autofree char *to = g_strdup_printf ("%s.%u", file->path, i);

      g_rename (from, to);   /* a missing older file is fine */
    }
  if (keep_files == 0)
    g_unlink (file->path);

  file->size = 0;
  file->fd = open_append (file->path, &file->size);
}

/* Called with log_lock held. */
static void
write_line (LogFile    *file,
            const char *line,
            gsize       len)
{
  if (file->fd < 0)
    return;
  if (max_file_bytes > 0 && file->size > 0 && file->size + len > max_file_bytes)
    rotate (file);
  if (file->fd < 0)
    return;
  if (write (file->fd, line, len) == (gssize) len)
    file->size += len;
}

static void
append_value (GString    *line,
              const char *value)
{
  gboolean plain = *value != '\0';

  for (const char *p = value; *p != '\0' && plain; p++)
    plain = *p != ' ' && *p != '"' && *p != '\\' && (guchar) *p >= 0x20 && *p != 0x7f;

  if (plain)
    {
      g_string_append (line, value);
      return;
    }
  {
    g_autofree char *escaped = g_strescape (value, "\xc2\xa0");   /* keep UTF-8 readable */
    g_string_append_printf (line, "\"%s\"", escaped);
  }
}

GTimeZone *
mg_log_time_zone (void)
{
  static gsize tz = 0;

  if (g_once_init_enter (&tz))
    g_once_init_leave (&tz, (gsize) g_time_zone_new_local ());
  return (GTimeZone *) tz;
}

void
mg_log_event (MgLogKind   kind,
              const char *queue_id,
              ...)
{
  g_autoptr(GString) line = g_string_sized_new (256);
  g_autoptr(GString) message = g_string_sized_new (256);
  g_autoptr(GDateTime) now = g_date_time_new_now (mg_log_time_zone ());
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%f%:z");
  va_list args;
  const char *key;

  g_return_if_fail (kind < MG_LOG_N_KINDS);

  if (queue_id != NULL)
    g_string_append_printf (message, "%s: ", queue_id);
  g_string_append_printf (message, "%s:", kind_names[kind]);

  va_start (args, queue_id);
  while ((key = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      g_string_append_printf (message, " %s=", key);
      append_value (message, value != NULL ? value : "");
    }
  va_end (args);

  /* "%f" gives microseconds; keep milliseconds */
  if (strlen (stamp) > 23)
    memmove (stamp + 23, stamp + 26, strlen (stamp + 26) + 1);
  g_string_append_printf (line, "%s %s\n", stamp, message->str);

  g_mutex_lock (&log_lock);
  if (opened)
    write_line (&files[kind], line->str, line->len);
  g_mutex_unlock (&log_lock);

  if (to_journal)
    {
      const GLogField fields[] = {
        { "MESSAGE", message->str, -1 },
        { "PRIORITY", "6", -1 },
        { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
        { "MG_LOG", kind_names[kind], -1 },
        { "MG_QUEUE_ID", queue_id != NULL ? queue_id : "", -1 },
      };

      g_log_writer_journald (G_LOG_LEVEL_INFO, fields, G_N_ELEMENTS (fields), NULL);
    }
}

/* ---- reading back ---- */

gboolean
mg_log_kind_from_name (const char *name,
                       MgLogKind  *kind_out)
{
  for (guint k = 0; k < MG_LOG_N_KINDS; k++)
    if (g_strcmp0 (kind_names[k], name) == 0)
      {
        *kind_out = k;
        return TRUE;
      }
  return FALSE;
}

/* "STAMP QUEUE_ID: kind: ..." */
static gboolean
line_is_about (const char *line,
               const char *queue_id)
{
  const char *rest = strchr (line, ' ');
  gsize len = strlen (queue_id);

  return rest != NULL && strncmp (rest + 1, queue_id, len) == 0 && rest[1 + len] == ':';
}

/* Appends the lines of @path (all, or those about @queue_id). */
static void
read_lines (const char *path,
            const char *queue_id,
            GPtrArray  *lines)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) split = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;   /* not rotated that far yet */
  split = g_strsplit (text, "\n", -1);
  for (guint i = 0; split[i] != NULL; i++)
    {
      if (split[i][0] == '\0')
        continue;
      if (queue_id != NULL && !line_is_about (split[i], queue_id))
        continue;
      g_ptr_array_add (lines, g_strdup (split[i]));
    }
}

/* The time stamp is the first word; all stamps of one host share a zone. */
static gint
compare_stamps (gconstpointer a,
                gconstpointer b)
{
  const char *la = *(const char * const *) a;
  const char *lb = *(const char * const *) b;
  gsize na = strcspn (la, " "), nb = strcspn (lb, " ");
  int c = strncmp (la, lb, MIN (na, nb));

  return c != 0 ? c : (int) na - (int) nb;
}

GPtrArray *
mg_log_read (MgLogKind   kind,
             const char *queue_id,
             guint       max_lines)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  guint keep;

  g_return_val_if_fail (kind <= MG_LOG_N_KINDS, NULL);

  g_mutex_lock (&log_lock);
  keep = queue_id != NULL ? keep_files : MIN (keep_files, 1);
  for (guint k = 0; opened && k < MG_LOG_N_KINDS; k++)
    {
      if (kind != MG_LOG_N_KINDS && k != kind)
        continue;
      for (guint i = keep; i > 0; i--)       /* oldest first */
        g_ptr_array_add (paths, g_strdup_printf ("%s.%u", files[k].path, i));
      g_ptr_array_add (paths, g_strdup (files[k].path));
    }
  g_mutex_unlock (&log_lock);

  for (guint i = 0; i < paths->len; i++)
    read_lines (g_ptr_array_index (paths, i), queue_id, lines);
  g_ptr_array_sort (lines, compare_stamps);   /* stable: file order kept on ties */

  if (max_lines > 0 && lines->len > max_lines)
    g_ptr_array_remove_range (lines, 0, lines->len - max_lines);
  return g_steal_pointer (&lines);
}
