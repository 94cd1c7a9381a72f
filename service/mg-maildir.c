/* mg-maildir.c - local delivery into a Maildir
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Unique names follow the Maildir spec: "SECONDS.MUSECPPID QCOUNTER.HOST"
 * ('/' and ':' in the host name escaped as \057 and \072).  Delivery is
 * tmp/NAME (O_EXCL) -> write -> fsync -> rename to new/NAME -> fsync new/.
 * A failure removes the tmp file and reports a GError (the caller defers).
 *
 * Threading: any thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mg-maildir.h"

static gint delivery_counter;

char *
mg_maildir_resolve (const char *state_dir,
                    const char *mailbox)
{
  g_return_val_if_fail (mailbox != NULL, NULL);

  if (g_path_is_absolute (mailbox) || state_dir == NULL)
    return g_strdup (mailbox);
  return g_build_filename (state_dir, mailbox, NULL);
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
make_dirs (const char  *dir,
           GError     **error)
{
  static const char * const subdirs[] = { "tmp", "new", "cur" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (dir, subdirs[i], NULL);

      if (g_mkdir_with_parents (path, 0700) != 0)
        return set_errno_error (error, errno, "creating", path);
    }
  return TRUE;
}

static char *
unique_name (void)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GString) host = g_string_new (NULL);

  for (const char *p = g_get_host_name (); *p != '\0'; p++)
    {
      if (*p == '/')
        g_string_append (host, "\\057");
      else if (*p == ':')
        g_string_append (host, "\\072");
      else
        g_string_append_c (host, *p);
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06dP%dQ%d.%s",
                          now / G_USEC_PER_SEC, (int) (now % G_USEC_PER_SEC),
                          (int) getpid (),
                          g_atomic_int_add (&delivery_counter, 1) + 1,
                          host->str);
}

/* Stored form (CRLF) -> Maildir form (LF), with the delivery headers. */
static GString *
build_content (const char *sender,
               const char *rcpt,
               GBytes     *body)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  GString *content = g_string_sized_new (len + 256);

  g_string_append_printf (content, "Return-Path: <%s>\nDelivered-To: %s\n", sender, rcpt);
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
        continue;
      g_string_append_c (content, data[i]);
    }
  if (content->len > 0 && content->str[content->len - 1] != '\n')
    g_string_append_c (content, '\n');
  return content;
}

static gboolean
write_all_fd (int          fd,
              const char  *data,
              gsize        len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
fsync_dir (const char  *dir,
           GError     **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved_errno;

  if (fd < 0)
    return set_errno_error (error, errno, "opening", dir);
  if (fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      return set_errno_error (error, saved_errno, "syncing", dir);
    }
  close (fd);
  return TRUE;
}

/* Write @content to @path (new file), fsync, close. */
static gboolean
write_file_synced (const char  *path,
                   GString     *content,
                   GError     **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int saved_errno;

  if (fd < 0)
    return set_errno_error (error, errno, "creating", path);
  if (!write_all_fd (fd, content->str, content->len) || fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      g_unlink (path);
      return set_errno_error (error, saved_errno, "writing", path);
    }
  if (close (fd) != 0)
    {
      saved_errno = errno;
      g_unlink (path);
      return set_errno_error (error, saved_errno, "closing", path);
    }
  return TRUE;
}

gboolean
mg_maildir_deliver (const char  *state_dir,
                    const char  *mailbox,
                    const char  *sender,
                    const char  *rcpt,
                    GBytes      *body,
                    char       **path_out,
                    GError     **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *new_path = NULL;
  g_autofree char *new_dir = NULL;
  g_autoptr(GString) content = NULL;

  g_return_val_if_fail (mailbox != NULL && sender != NULL && rcpt != NULL, FALSE);
  g_return_val_if_fail (body != NULL, FALSE);

  dir = mg_maildir_resolve (state_dir, mailbox);
  if (!make_dirs (dir, error))
    return FALSE;

  name = unique_name ();
  tmp_path = g_build_filename (dir, "tmp", name, NULL);
  new_dir = g_build_filename (dir, "new", NULL);
  new_path = g_build_filename (new_dir, name, NULL);
  content = build_content (sender, rcpt, body);

  if (!write_file_synced (tmp_path, content, error))
    return FALSE;
  if (g_rename (tmp_path, new_path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      return set_errno_error (error, saved_errno, "renaming to", new_path);
    }
  if (!fsync_dir (new_dir, error))
    return FALSE;

  if (path_out != NULL)
    *path_out = g_steal_pointer (&new_path);
  return TRUE;
}
