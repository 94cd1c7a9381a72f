/* mg-staged-list.c - what the staged list pages do the same way
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A dialog shown for a row holds a reference on its page and a
 * GtkTreeRowReference on the row (not its index), so that an answer
 * arriving after the row has gone (a reload under the dialog) is dropped
 * instead of landing on another row.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include "mg-staged-list.h"

/**
 * mg_pending_from_flags:
 * @removed: the row is to be removed
 * @is_new: the daemon does not have the row yet
 * @changed: the row differs from what the daemon has
 *
 * Returns: what a row with these flags will do on Apply (a removal wins,
 *   then an addition)
 */
MgPending
mg_pending_from_flags (gboolean removed,
                       gboolean is_new,
                       gboolean changed)
{
  if (removed)
    return MG_PENDING_REMOVE;
  if (is_new)
    return MG_PENDING_ADD;
  return changed ? MG_PENDING_CHANGE : MG_PENDING_NONE;
}

/**
 * mg_staged_list_refresh:
 * @store: the staged rows
 * @pending_column: the text column that shows what Apply will do
 * @row_pending: tells what Apply will do with a row
 * @show_row: (nullable): refreshes the page's own shown columns, in order
 * @user_data: for @row_pending and @show_row
 *
 * Refreshes the shown columns of every row.
 *
 * Returns: %TRUE while any row has a pending change
 */
gboolean
mg_staged_list_refresh (GtkListStore     *store,
                        int               pending_column,
                        MgStagedRowFunc   row_pending,
                        MgStagedShowFunc  show_row,
                        gpointer          user_data)
{
  GtkTreeModel *model = GTK_TREE_MODEL (store);
  gboolean dirty = FALSE;
  GtkTreeIter iter;

  g_return_val_if_fail (GTK_IS_LIST_STORE (store), FALSE);
  g_return_val_if_fail (row_pending != NULL, FALSE);

  for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      MgPending pending = row_pending (model, &iter, user_data);

      if (show_row != NULL)
        show_row (store, &iter, pending, user_data);
      gtk_list_store_set (store, &iter, pending_column, mg_pending_to_string (pending), -1);
      dirty |= pending != MG_PENDING_NONE;
    }
  return dirty;
}

/**
 * mg_staged_list_remove:
 * @is_new: the row is a staged addition
 *
 * A staged addition goes away; a row the daemon has is marked, in
 * @removed_column, to be removed on Apply (Revert brings it back).
 */
void
mg_staged_list_remove (GtkListStore *store,
                       GtkTreeIter  *iter,
                       int           removed_column,
                       gboolean      is_new)
{
  g_return_if_fail (GTK_IS_LIST_STORE (store));

  if (is_new)
    gtk_list_store_remove (store, iter);
  else
    gtk_list_store_set (store, iter, removed_column, TRUE, -1);
}

typedef struct
{
  MgPage              *page;
  GtkTreeRowReference *row;     /* NULL: the dialog adds a row */
  MgStagedAcceptFunc   accepted;
} RowDialog;

static void
row_dialog_free (RowDialog *data)
{
  g_object_unref (data->page);
  g_clear_pointer (&data->row, gtk_tree_row_reference_free);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RowDialog, row_dialog_free)

static void
accept_row (RowDialog    *data,
            MgFormDialog *dialog)
{
  g_autoptr(GtkTreePath) path = NULL;
  GtkTreeIter iter;

  if (data->row == NULL)
    {
      data->accepted (data->page, dialog, NULL);
      return;
    }
  path = gtk_tree_row_reference_get_path (data->row);
  if (path != NULL && gtk_tree_model_get_iter (gtk_tree_row_reference_get_model (data->row), &iter, path))
    data->accepted (data->page, dialog, &iter);
}

static void
on_row_dialog_response_cb (GtkDialog *dialog,
                           int        response,
                           gpointer   user_data)
{
  g_autoptr(RowDialog) data = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    accept_row (data, MG_FORM_DIALOG (dialog));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

/**
 * mg_staged_list_show_dialog:
 * @dialog: (transfer full): the add or edit dialog, filled in
 * @page: the page the dialog edits (kept alive while it is shown)
 * @store: (nullable): the staged rows, with @iter
 * @iter: (nullable): the row the dialog edits; %NULL: it adds one
 * @accepted: called on the accept button, with the row if it is still
 *   there (not at all if it has gone), or with %NULL for an addition
 *
 * Shows @dialog and destroys it when it answers.
 */
void
mg_staged_list_show_dialog (MgFormDialog       *dialog,
                            MgPage             *page,
                            GtkListStore       *store,
                            GtkTreeIter        *iter,
                            MgStagedAcceptFunc  accepted)
{
  RowDialog *data;

  g_return_if_fail (MG_IS_FORM_DIALOG (dialog));
  g_return_if_fail (MG_IS_PAGE (page));
  g_return_if_fail (iter == NULL || GTK_IS_LIST_STORE (store));

  data = g_new0 (RowDialog, 1);
  data->page = g_object_ref (page);
  data->accepted = accepted;
  if (iter != NULL)
    {
      g_autoptr(GtkTreePath) path = gtk_tree_model_get_path (GTK_TREE_MODEL (store), iter);

      data->row = gtk_tree_row_reference_new (GTK_TREE_MODEL (store), path);
    }
  g_signal_connect (dialog, "response", G_CALLBACK (on_row_dialog_response_cb), data);
  gtk_widget_show (GTK_WIDGET (dialog));
}
