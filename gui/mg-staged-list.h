/* mg-staged-list.h - what the staged list pages do the same way
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The list pages (domains, accounts, aliases, relay rules, routes) stage
 * their edits in a GtkListStore until Apply.  Each row knows what Apply
 * will do with it (MgPending, decided by the page from its own columns),
 * shows that in a "Pending" text column, and a row the daemon has that is
 * removed stays, struck through, with a "removed" flag column set.  These
 * helpers are the parts that are the same on every page: refreshing the
 * Pending column, removing a row, and running the add / edit dialog of a
 * row that may have gone by the time the dialog answers.  Which columns a
 * page has, when a row counts as changed and what Apply sends stay with
 * the page.
 *
 * Threading: main thread only.
 */
#pragma once

#include <gtk/gtk.h>

#include "mg-form-dialog.h"
#include "mg-page.h"

G_BEGIN_DECLS

/* what the row at @iter of @model will do on Apply */
typedef MgPending (*MgStagedRowFunc)    (GtkTreeModel *model,
                                         GtkTreeIter  *iter,
                                         gpointer      user_data);
/* refreshes the page's own shown columns of the row at @iter */
typedef void      (*MgStagedShowFunc)   (GtkListStore *store,
                                         GtkTreeIter  *iter,
                                         MgPending     pending,
                                         gpointer      user_data);
/* the accept button of a dialog shown with mg_staged_list_show_dialog() */
typedef void      (*MgStagedAcceptFunc) (MgPage       *page,
                                         MgFormDialog *dialog,
                                         GtkTreeIter  *iter);

MgPending mg_pending_from_flags      (gboolean          removed,
                                      gboolean          is_new,
                                      gboolean          changed);

gboolean  mg_staged_list_refresh     (GtkListStore     *store,
                                      int               pending_column,
                                      MgStagedRowFunc   row_pending,
                                      MgStagedShowFunc  show_row,
                                      gpointer          user_data);
void      mg_staged_list_remove      (GtkListStore     *store,
                                      GtkTreeIter      *iter,
                                      int               removed_column,
                                      gboolean          is_new);
void      mg_staged_list_show_dialog (MgFormDialog     *dialog,
                                      MgPage           *page,
                                      GtkListStore     *store,
                                      GtkTreeIter      *iter,
                                      MgStagedAcceptFunc accepted);

G_END_DECLS
