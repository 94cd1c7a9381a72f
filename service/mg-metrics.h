/* mg-metrics.h - counters and gauges for monitoring (issue 7 item 9, R-4.4)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The numbers are the daemon's status (mg_daemon_get_status: the same a{sv}
 * `mailgatectl status --json` prints).  mg_metrics_render() turns them into
 * the Prometheus text format; MgMetricsServer serves that text over HTTP on
 * a loopback address (setting metrics.listen).
 *
 * Threading: main thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Pure: status a{sv} -> Prometheus text exposition format 0.0.4. */
char *mg_metrics_render (GVariant *status);

typedef GVariant *(*MgMetricsStatusFunc) (gpointer user_data);   /* floating a{sv} */

typedef struct _MgMetricsServer MgMetricsServer;

/* Listens on @address ("127.0.0.1:9325", "[::1]:9325"); every HTTP request
 * gets the current metrics.  NULL with @error when the port cannot be had. */
MgMetricsServer *mg_metrics_server_new  (const char           *address,
                                         MgMetricsStatusFunc   status,
                                         gpointer              user_data,
                                         GError              **error);
void             mg_metrics_server_free (MgMetricsServer      *self);
const char      *mg_metrics_server_get_address (MgMetricsServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgMetricsServer, mg_metrics_server_free)

G_END_DECLS
