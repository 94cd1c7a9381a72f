/* mg-control-client.c - connecting to mailgated's control socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Opens the peer-to-peer GDBus connection (EXTERNAL authentication: the
 * daemon checks our uid before any method runs) and returns the generated
 * proxy.  Connection failures are turned into two typed errors the CLI and
 * the console can show as one line: no daemon, or access denied.
 *
 * Threading: any thread.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <unistd.h>

#include "mg-control-client.h"

const char *
mg_control_default_socket_path (void)
{
  static char *path = NULL;

  if (g_once_init_enter (&path))
    {
      char *p;

      if (geteuid () == 0)
        p = g_strdup ("/run/mailgate/control");
      else
        p = g_build_filename (g_get_user_runtime_dir (), "mailgate", "control", NULL);
      g_once_init_leave (&path, p);
    }

  return path;
}

static void
register_error_domains (void)
{
  /* So that org.mailgate.Error.* replies arrive as typed GErrors. */
  (void) mg_config_error_quark ();
  (void) mg_control_error_quark ();
  (void) mg_queue_error_quark ();
}

static void
set_connect_error (GError     **error,
                   const GError *cause,
                   const char  *socket_path)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
      g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    g_set_error (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_NO_DAEMON,
                 _("mailgated is not running (no answer on %s)"), socket_path);
  else if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    g_set_error (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_ACCESS_DENIED,
                 _("permission denied on %s"), socket_path);
  else
    /* The socket answered but the handshake failed: the daemon refused
     * our credentials (or it is not mailgated). */
    g_set_error (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_ACCESS_DENIED,
                 _("access denied by the daemon on %s"), socket_path);
}

MgDBusControl1 *
mg_control_client_connect_sync (const char    *socket_path,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;
  MgDBusControl1 *proxy;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  register_error_domains ();
  if (socket_path == NULL)
    socket_path = mg_control_default_socket_path ();

  if (!g_file_test (socket_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_NO_DAEMON,
                   _("mailgated is not running (no socket %s)"), socket_path);
      return NULL;
    }

  escaped = g_dbus_address_escape_value (socket_path);
  address = g_strdup_printf ("unix:path=%s", escaped);
  connection = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                       NULL, cancellable, &local_error);
  if (connection == NULL)
    {
      set_connect_error (error, local_error, socket_path);
      return NULL;
    }

  proxy = mg_dbus_control1_proxy_new_sync (connection,
                                           G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                           G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                           NULL, MG_CONTROL_OBJECT_PATH,
                                           cancellable, &local_error);
  if (proxy == NULL)
    {
      g_set_error (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                   _("cannot talk to mailgated on %s: %s"), socket_path,
                   local_error->message);
      return NULL;
    }

  return proxy;
}
