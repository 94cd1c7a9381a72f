/* mg-window.h - the Mail Control window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include <gtk/gtk.h>

#include "mg-control-client.h"
#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_WINDOW (mg_window_get_type ())
G_DECLARE_FINAL_TYPE (MgWindow, mg_window, MG, WINDOW, GtkApplicationWindow)

MgWindow       *mg_window_new                 (GtkApplication *application,
                                               const char     *socket_path);
/* "connecting", "no-daemon" or "console" */
const char     *mg_window_get_state           (MgWindow       *self);
MgDBusControl1 *mg_window_get_proxy           (MgWindow       *self);
MgPage         *mg_window_get_page            (MgWindow       *self,
                                               GType           page_type);
void            mg_window_connect             (MgWindow       *self);
void            mg_window_apply               (MgWindow       *self);
void            mg_window_revert              (MgWindow       *self);
gboolean        mg_window_has_unsaved_changes (MgWindow       *self);
void            mg_window_show_error          (MgWindow       *self,
                                               const char     *what,
                                               const GError   *error);

G_END_DECLS
