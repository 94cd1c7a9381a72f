/* mg-list-editor.h - a list with Add / Edit / Remove / Up / Down buttons
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The seed's "table edit" without Notepad: routes, relay rules, aliases,
 * domains, listeners and accounts are all shown with it.  The editor owns
 * no data: the page gives it a GtkListStore and columns, and handles the
 * "add-item", "edit-item", "remove-item" and "move-item" signals (staging the edit or sending
 * it to the daemon).  Buttons are sensitive only when they can act.
 *
 * Threading: main thread only.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MG_TYPE_LIST_EDITOR (mg_list_editor_get_type ())
G_DECLARE_FINAL_TYPE (MgListEditor, mg_list_editor, MG, LIST_EDITOR, GtkBox)

void          mg_list_editor_set_model        (MgListEditor *self,
                                               GtkListStore *store);
void          mg_list_editor_set_tree_model   (MgListEditor *self,
                                               GtkTreeModel *model);
void          mg_list_editor_set_strikethrough_column
                                              (MgListEditor *self,
                                               int           column);
void          mg_list_editor_add_column       (MgListEditor *self,
                                               const char   *title,
                                               int           column,
                                               gboolean      markup);
void          mg_list_editor_set_reorderable  (MgListEditor *self,
                                               gboolean      reorderable);
void          mg_list_editor_set_editable     (MgListEditor *self,
                                               gboolean      editable);
int           mg_list_editor_get_selected     (MgListEditor *self);
void          mg_list_editor_select           (MgListEditor *self,
                                               int           index);
GtkTreeView  *mg_list_editor_get_view         (MgListEditor *self);
GtkButtonBox *mg_list_editor_get_button_box   (MgListEditor *self);

/* for tests and keyboard users alike: what the buttons do */
void          mg_list_editor_activate         (MgListEditor *self,
                                               const char   *what);

G_END_DECLS
