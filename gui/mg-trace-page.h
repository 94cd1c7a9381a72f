/* mg-trace-page.h - the "Trace" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_TRACE_PAGE (mg_trace_page_get_type ())
G_DECLARE_FINAL_TYPE (MgTracePage, mg_trace_page, MG, TRACE_PAGE, MgPage)

MgPage      *mg_trace_page_new      (MgDBusControl1 *proxy);
GtkTextView *mg_trace_page_get_view (MgTracePage    *self);
guint        mg_trace_page_get_n_lines (MgTracePage *self);
/* Docked: shown under every tab instead of in its own tab (the window
 * follows the "docked" property) */
gboolean     mg_trace_page_get_docked (MgTracePage *self);
void         mg_trace_page_set_docked (MgTracePage *self,
                                       gboolean     docked);
gboolean     mg_trace_page_save     (MgTracePage    *self,
                                     GFile          *file,
                                     GError        **error);

G_END_DECLS
