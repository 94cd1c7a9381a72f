/* mg-daemon.h - owns the store, receiver, delivery and control server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The control server calls only these functions.  Every configuration change
 * goes: control method -> MgConfigStore (validation + write) ->
 * mg_daemon_config_changed() (new snapshot to receiver and delivery, live,
 * no restart).
 *
 * Threading: main thread only.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"
#include "mg-config-store.h"
#include "mg-delivery.h"
#include "mg-queue.h"

G_BEGIN_DECLS

typedef struct _MgDaemon MgDaemon;

typedef struct
{
  const char *state_dir;     /* config.db, queue/, mailboxes, logs */
  const char *socket_path;   /* control socket */
  const char *profile;       /* "user" or "system": defaults for a new config.db */
  gboolean    no_autostart;  /* start neither service, whatever the settings say */
} MgDaemonOptions;

/* Opens the store and the queue, creates the control socket, and starts the
 * receiver and delivery unless receiver.autostart / delivery.autostart are
 * false.  A receiver that cannot bind its listeners is reported with
 * g_warning and left stopped (fix the listeners, then start it); every
 * other failure is returned. */
MgDaemon      *mg_daemon_new              (const MgDaemonOptions *options,
                                           GError     **error);
/* Stops the receiver (421 to open sessions), waits for delivery jobs,
 * flushes the queue and removes the control socket. */
void           mg_daemon_free             (MgDaemon    *self);

/* The effective configuration as the seed's "epstrs -debug" prints it
 * (transfer full; never translated). */
char          *mg_daemon_describe         (MgDaemon    *self);

typedef enum
{
  MG_SERVICE_RECEIVER = 1 << 0,
  MG_SERVICE_DELIVERY = 1 << 1,
  MG_SERVICE_ALL      = MG_SERVICE_RECEIVER | MG_SERVICE_DELIVERY,
} MgService;

MgConfigStore *mg_daemon_get_store        (MgDaemon    *self);
MgConfig      *mg_daemon_get_config       (MgDaemon    *self);   /* transfer full */
MgDelivery    *mg_daemon_get_delivery     (MgDaemon    *self);
MgQueue       *mg_daemon_get_queue        (MgDaemon    *self);

/* Call after any successful store mutation: builds a new snapshot and hands
 * it to the receiver and delivery.  Listener changes are not applied here:
 * use mg_daemon_set_listeners(). */
gboolean       mg_daemon_config_changed   (MgDaemon    *self,
                                           GError     **error);

/* Validate, bind the new set (if the receiver runs), store, then close the
 * old sockets.  A failed bind rolls everything back: the old listeners keep
 * running and a MG_PROBLEM_BIND_FAILED problem names the spec. */
gboolean       mg_daemon_set_listeners    (MgDaemon    *self,
                                           const char * const *specs,
                                           GPtrArray   *problems,
                                           GError     **error);

/* Replace the whole configuration with @config (validated and sealed, e.g.
 * from mg_config_from_json): listeners are bound first (a failure adds a
 * MG_PROBLEM_BIND_FAILED problem for "$.listeners" and changes nothing),
 * then everything is stored in one transaction and applied live. */
gboolean       mg_daemon_import_config    (MgDaemon    *self,
                                           MgConfig    *config,
                                           GPtrArray   *problems,
                                           GError     **error);

/* SIGHUP / systemctl reload: read config.db again and reload the TLS
 * certificate (changes through the control socket need no reload). */
void           mg_daemon_reload           (MgDaemon    *self);

/* "receiver", "delivery" or "all" -> flags; FALSE if unknown. */
gboolean       mg_service_from_string     (const char  *name,
                                           MgService   *out);

gboolean       mg_daemon_start            (MgDaemon    *self,
                                           MgService    services,
                                           GError     **error);
void           mg_daemon_stop             (MgDaemon    *self,
                                           MgService    services);

/* a{sv}: "version" s, "receiver" s ("running"|"stopped"), "delivery" s,
 * "listeners" as (bound "addr:port" strings), "queue" u, "active" u,
 * "sessions" u, "received" t, "delivered" t, "deferred" t, "failed" t,
 * "state-dir" s, "pid" u.  Floating reference. */
GVariant      *mg_daemon_get_status       (MgDaemon    *self);

/* Bound listener addresses, "127.0.0.1:2525", "[::1]:20025" (transfer full). */
GStrv          mg_daemon_get_bound        (MgDaemon    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgDaemon, mg_daemon_free)

G_END_DECLS
