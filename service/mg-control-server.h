/* mg-control-server.h - the control socket: GDBus peer-to-peer server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Serves org.mailgate.Control1 at /org/mailgate/Control on a Unix socket
 * (mode 0660).  Only peers with the daemon's uid, root, or members of the
 * "mailgate" group get past authentication; method handlers call mg-daemon.h
 * and the config store, nothing else.
 *
 * Threading: main thread only (the GMainContext that was thread-default at
 * mg_control_server_new()).
 */
#pragma once

#include <gio/gio.h>

#include "mg-daemon.h"

G_BEGIN_DECLS

typedef struct _MgControlServer MgControlServer;

/* Creates the socket's parent directory if missing (0750), refuses if a live
 * daemon answers on @socket_path, removes a stale socket file, binds and
 * starts serving.  @daemon is not owned and must outlive the server. */
MgControlServer *mg_control_server_new                 (MgDaemon         *daemon,
                                                        const char       *socket_path,
                                                        GError          **error);
/* Closes every connection (ending their trace subscriptions), stops the
 * server and removes the socket file. */
void             mg_control_server_free                (MgControlServer  *self);

/* Emits StatusChanged to every connected client. */
void             mg_control_server_emit_status_changed (MgControlServer  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgControlServer, mg_control_server_free)

G_END_DECLS
