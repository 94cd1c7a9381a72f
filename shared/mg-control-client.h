/* mg-control-client.h - connecting to mailgated's control socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The control interface is GDBus peer-to-peer over a Unix socket: no bus,
 * so proxies are built with a NULL bus name.  This file only knows where the
 * socket is and how to get a proxy on it; the calls themselves are the
 * generated mg_dbus_control1_call_*() functions.
 *
 * Threading: any thread; the proxy's signals are emitted in the
 * thread-default main context of the caller of
 * mg_control_client_connect_sync().
 */
#pragma once

#include <gio/gio.h>

#include "mg-control-generated.h"
#include "mg-error.h"

G_BEGIN_DECLS

#define MG_CONTROL_OBJECT_PATH "/org/mailgate/Control"
#define MG_CONTROL_INTERFACE   "org.mailgate.Control1"

/**
 * mg_control_default_socket_path:
 *
 * Returns: (transfer none): "/run/mailgate/control" for root, else
 *   $XDG_RUNTIME_DIR/mailgate/control.  The daemon uses the same default.
 */
const char     *mg_control_default_socket_path (void);

/**
 * mg_control_client_connect_sync:
 * @socket_path: (nullable): the control socket, %NULL for the default
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Opens a peer connection (EXTERNAL authentication) and builds the proxy.
 *
 * Returns: (transfer full) (nullable): the proxy, or %NULL with @error set
 *   to MG_CONTROL_ERROR_NO_DAEMON (nothing listens) or
 *   MG_CONTROL_ERROR_ACCESS_DENIED (socket mode or credentials refused);
 *   the message is one line naming the socket path.
 */
MgDBusControl1 *mg_control_client_connect_sync (const char    *socket_path,
                                                GCancellable  *cancellable,
                                                GError       **error);

/**
 * mg_control_client_connect_async:
 * @socket_path: (nullable): the control socket, %NULL for the default
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * The non-blocking twin of mg_control_client_connect_sync(), for the
 * console: the connection, its authentication and the proxy are made
 * without blocking the main loop.  Finish with
 * mg_control_client_connect_finish().
 */
void            mg_control_client_connect_async  (const char          *socket_path,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);

/**
 * mg_control_client_connect_finish:
 *
 * Returns: (transfer full) (nullable): the proxy, or %NULL with @error set
 *   as by mg_control_client_connect_sync()
 */
MgDBusControl1 *mg_control_client_connect_finish (GAsyncResult        *result,
                                                  GError             **error);

/**
 * mg_control_client_problems_from_variant:
 * @problems: (nullable): an a(sss) reply value
 *
 * Returns: (transfer full): a #GPtrArray of #MgProblem (empty for %NULL)
 */
GPtrArray      *mg_control_client_problems_from_variant (GVariant *problems);

G_END_DECLS
