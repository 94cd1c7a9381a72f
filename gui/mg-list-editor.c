/* mg-list-editor.c - a list with Add / Edit / Remove / Up / Down buttons
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A GtkTreeView over the page's GtkListStore and a column of buttons.  The
 * buttons emit signals with 0-based row indexes; the editor never changes
 * the store itself.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-list-editor.h"

struct _MgListEditor
{
  GtkBox        parent_instance;

  GtkTreeView  *tree_view;
  GtkButtonBox *button_box;
  GtkButton    *add_button;
  GtkButton    *edit_button;
  GtkButton    *remove_button;
  GtkButton    *up_button;
  GtkButton    *down_button;
  int           strikethrough_column;   /* -1: none */
};

G_DEFINE_TYPE (MgListEditor, mg_list_editor, GTK_TYPE_BOX)

enum {
  SIGNAL_ADD,
  SIGNAL_EDIT,
  SIGNAL_REMOVE,
  SIGNAL_MOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static int
n_rows (MgListEditor *self)
{
  GtkTreeModel *model = gtk_tree_view_get_model (self->tree_view);

  return model != NULL ? gtk_tree_model_iter_n_children (model, NULL) : 0;
}

int
mg_list_editor_get_selected (MgListEditor *self)
{
  GtkTreeSelection *selection;
  GtkTreeModel *model;
  GtkTreeIter iter;
  g_autoptr(GtkTreePath) path = NULL;

  g_return_val_if_fail (MG_IS_LIST_EDITOR (self), -1);

  selection = gtk_tree_view_get_selection (self->tree_view);
  if (!gtk_tree_selection_get_selected (selection, &model, &iter))
    return -1;
  path = gtk_tree_model_get_path (model, &iter);
  return gtk_tree_path_get_indices (path)[0];
}

static void
update_buttons (MgListEditor *self)
{
  int selected = mg_list_editor_get_selected (self);

  gtk_widget_set_sensitive (GTK_WIDGET (self->edit_button), selected >= 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->remove_button), selected >= 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->up_button), selected > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->down_button),
                            selected >= 0 && selected < n_rows (self) - 1);
}

void
mg_list_editor_select (MgListEditor *self,
                       int           index)
{
  GtkTreeSelection *selection;
  g_autoptr(GtkTreePath) path = NULL;

  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  selection = gtk_tree_view_get_selection (self->tree_view);
  if (index < 0 || index >= n_rows (self))
    {
      gtk_tree_selection_unselect_all (selection);
      return;
    }
  path = gtk_tree_path_new_from_indices (index, -1);
  gtk_tree_selection_select_path (selection, path);
  gtk_tree_view_scroll_to_cell (self->tree_view, path, NULL, FALSE, 0, 0);
}

void
mg_list_editor_activate (MgListEditor *self,
                         const char   *what)
{
  int selected;

  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  selected = mg_list_editor_get_selected (self);
  if (g_str_equal (what, "add"))
    g_signal_emit (self, signals[SIGNAL_ADD], 0);
  else if (selected < 0)
    return;
  else if (g_str_equal (what, "edit"))
    g_signal_emit (self, signals[SIGNAL_EDIT], 0, selected);
  else if (g_str_equal (what, "remove"))
    g_signal_emit (self, signals[SIGNAL_REMOVE], 0, selected);
  else if (g_str_equal (what, "up") && selected > 0)
    g_signal_emit (self, signals[SIGNAL_MOVE], 0, selected, selected - 1);
  else if (g_str_equal (what, "down") && selected < n_rows (self) - 1)
    g_signal_emit (self, signals[SIGNAL_MOVE], 0, selected, selected + 1);
  update_buttons (self);
}

static void
on_add_button_clicked_cb (MgListEditor *self)
{
  mg_list_editor_activate (self, "add");
}

static void
on_edit_button_clicked_cb (MgListEditor *self)
{
  mg_list_editor_activate (self, "edit");
}

static void
on_remove_button_clicked_cb (MgListEditor *self)
{
  mg_list_editor_activate (self, "remove");
}

static void
on_up_button_clicked_cb (MgListEditor *self)
{
  mg_list_editor_activate (self, "up");
}

static void
on_down_button_clicked_cb (MgListEditor *self)
{
  mg_list_editor_activate (self, "down");
}

static void
on_tree_view_row_activated_cb (MgListEditor *self)
{
  if (gtk_widget_get_visible (GTK_WIDGET (self->edit_button)))
    mg_list_editor_activate (self, "edit");
}

static void
on_selection_changed_cb (MgListEditor *self)
{
  update_buttons (self);
}

void
mg_list_editor_set_model (MgListEditor *self,
                          GtkListStore *store)
{
  mg_list_editor_set_tree_model (self, GTK_TREE_MODEL (store));
}

/**
 * mg_list_editor_set_tree_model:
 * @model: any list model, e.g. a #GtkTreeModelFilter over the page's store
 *
 * The row indexes of the editor's signals are rows of @model.
 */
void
mg_list_editor_set_tree_model (MgListEditor *self,
                               GtkTreeModel *model)
{
  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  gtk_tree_view_set_model (self->tree_view, model);
  g_signal_connect_object (model, "row-deleted", G_CALLBACK (update_buttons), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (model, "row-inserted", G_CALLBACK (update_buttons), self, G_CONNECT_SWAPPED);
  update_buttons (self);
}

static void
strike_through (GtkTreeViewColumn *tree_column,
                int                column)
{
  g_autoptr(GList) cells = gtk_cell_layout_get_cells (GTK_CELL_LAYOUT (tree_column));

  for (GList *l = cells; l != NULL; l = l->next)
    gtk_tree_view_column_add_attribute (tree_column, l->data, "strikethrough", column);
}

/**
 * mg_list_editor_set_strikethrough_column:
 * @column: a boolean column of the model: its rows are shown struck
 *   through (a staged removal)
 */
void
mg_list_editor_set_strikethrough_column (MgListEditor *self,
                                         int           column)
{
  g_autoptr(GList) columns = NULL;

  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  self->strikethrough_column = column;
  columns = gtk_tree_view_get_columns (self->tree_view);
  for (GList *l = columns; l != NULL; l = l->next)
    strike_through (l->data, column);
}

void
mg_list_editor_add_column (MgListEditor *self,
                           const char   *title,
                           int           column,
                           gboolean      markup)
{
  GtkCellRenderer *renderer = gtk_cell_renderer_text_new ();
  GtkTreeViewColumn *tree_column;

  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  tree_column = gtk_tree_view_column_new_with_attributes (title, renderer,
                                                          markup ? "markup" : "text", column,
                                                          NULL);
  gtk_tree_view_column_set_resizable (tree_column, TRUE);
  gtk_tree_view_column_set_expand (tree_column, TRUE);
  if (self->strikethrough_column >= 0)
    strike_through (tree_column, self->strikethrough_column);
  gtk_tree_view_append_column (self->tree_view, tree_column);
}

void
mg_list_editor_set_reorderable (MgListEditor *self,
                                gboolean      reorderable)
{
  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  /* no_show_all: a hidden button stays hidden through gtk_widget_show_all () */
  gtk_widget_set_no_show_all (GTK_WIDGET (self->up_button), !reorderable);
  gtk_widget_set_no_show_all (GTK_WIDGET (self->down_button), !reorderable);
  gtk_widget_set_visible (GTK_WIDGET (self->up_button), reorderable);
  gtk_widget_set_visible (GTK_WIDGET (self->down_button), reorderable);
}

void
mg_list_editor_set_editable (MgListEditor *self,
                             gboolean      editable)
{
  g_return_if_fail (MG_IS_LIST_EDITOR (self));

  gtk_widget_set_no_show_all (GTK_WIDGET (self->edit_button), !editable);
  gtk_widget_set_visible (GTK_WIDGET (self->edit_button), editable);
}

GtkTreeView *
mg_list_editor_get_view (MgListEditor *self)
{
  g_return_val_if_fail (MG_IS_LIST_EDITOR (self), NULL);
  return self->tree_view;
}

GtkButtonBox *
mg_list_editor_get_button_box (MgListEditor *self)
{
  g_return_val_if_fail (MG_IS_LIST_EDITOR (self), NULL);
  return self->button_box;
}

static void
mg_list_editor_class_init (MgListEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  signals[SIGNAL_ADD] = g_signal_new ("add-item", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_EDIT] = g_signal_new ("edit-item", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_REMOVE] = g_signal_new ("remove-item", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_MOVE] = g_signal_new ("move-item", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-list-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, tree_view);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, button_box);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, add_button);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, edit_button);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, remove_button);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, up_button);
  gtk_widget_class_bind_template_child (widget_class, MgListEditor, down_button);
  gtk_widget_class_bind_template_callback (widget_class, on_add_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_edit_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_up_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_down_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_tree_view_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_selection_changed_cb);
}

static void
mg_list_editor_init (MgListEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->strikethrough_column = -1;
  update_buttons (self);
}
