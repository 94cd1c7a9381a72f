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
#include "mg-problem.h"

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

/* ---- asynchronous connection (the console) ---------------------------- */

static void
on_proxy_ready_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  MgDBusControl1 *proxy;

  proxy = mg_dbus_control1_proxy_new_finish (result, &error);
  if (proxy == NULL)
    {
      g_task_return_new_error (task, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                               _("cannot talk to mailgated on %s: %s"),
                               (const char *) g_task_get_task_data (task),
                               error->message);
      return;
    }
  g_task_return_pointer (task, proxy, g_object_unref);
}

static void
on_connection_ready_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GError *connect_error = NULL;

  connection = g_dbus_connection_new_for_address_finish (result, &error);
  if (connection == NULL)
    {
      set_connect_error (&connect_error, error, g_task_get_task_data (task));
      g_task_return_error (task, connect_error);
      return;
    }

  mg_dbus_control1_proxy_new (connection,
                              G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                              G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                              NULL, MG_CONTROL_OBJECT_PATH,
                              g_task_get_cancellable (task),
                              on_proxy_ready_cb, g_object_ref (task));
}

void
mg_control_client_connect_async (const char          *socket_path,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;

  register_error_domains ();
  if (socket_path == NULL)
    socket_path = mg_control_default_socket_path ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mg_control_client_connect_async);
  g_task_set_task_data (task, g_strdup (socket_path), g_free);

  if (!g_file_test (socket_path, G_FILE_TEST_EXISTS))
    {
      g_task_return_new_error (task, MG_CONTROL_ERROR, MG_CONTROL_ERROR_NO_DAEMON,
                               _("mailgated is not running (no socket %s)"), socket_path);
      return;
    }

  escaped = g_dbus_address_escape_value (socket_path);
  address = g_strdup_printf ("unix:path=%s", escaped);
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                     NULL, cancellable,
                                     on_connection_ready_cb, g_object_ref (task));
}

MgDBusControl1 *
mg_control_client_connect_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

GPtrArray *
mg_control_client_problems_from_variant (GVariant *problems)
{
  if (problems == NULL)
    return mg_problems_new ();
  return mg_problems_from_variant (problems);
}
