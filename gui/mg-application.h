/* mg-application.h - Mail Control, the GtkApplication
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include <gtk/gtk.h>

#include "mg-control-client.h"

G_BEGIN_DECLS

#define MG_APPLICATION_ID "org.mailgate.MailControl"

#define MG_TYPE_APPLICATION (mg_application_get_type ())
G_DECLARE_FINAL_TYPE (MgApplication, mg_application, MG, APPLICATION, GtkApplication)

MgApplication  *mg_application_new          (GApplicationFlags  flags);
void            mg_application_set_proxy    (MgApplication     *self,
                                             MgDBusControl1    *proxy);
MgDBusControl1 *mg_application_get_proxy    (MgApplication     *self);
const char     *mg_application_get_socket_path (MgApplication  *self);

G_END_DECLS
