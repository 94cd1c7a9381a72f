/* mg-form-dialog.c - a small modal form: labelled entries and check boxes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Fields are kept by key in a hash table (widgets owned by the dialog).
 * Enter in the last entry accepts.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-form-dialog.h"

struct _MgFormDialog
{
  GtkDialog   parent_instance;

  GtkGrid    *grid;
  GHashTable *fields;     /* key → GtkWidget (unowned) */
  int         rows;
};

G_DEFINE_TYPE (MgFormDialog, mg_form_dialog, GTK_TYPE_DIALOG)

static void
mg_form_dialog_finalize (GObject *object)
{
  MgFormDialog *self = MG_FORM_DIALOG (object);

  g_clear_pointer (&self->fields, g_hash_table_unref);
  G_OBJECT_CLASS (mg_form_dialog_parent_class)->finalize (object);
}

static void
mg_form_dialog_class_init (MgFormDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mg_form_dialog_finalize;
}

static void
mg_form_dialog_init (MgFormDialog *self)
{
  GtkWidget *content = gtk_dialog_get_content_area (GTK_DIALOG (self));

  self->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->grid = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_row_spacing (self->grid, 6);
  gtk_grid_set_column_spacing (self->grid, 12);
  gtk_container_set_border_width (GTK_CONTAINER (self->grid), 12);
  gtk_widget_show (GTK_WIDGET (self->grid));
  gtk_box_pack_start (GTK_BOX (content), GTK_WIDGET (self->grid), TRUE, TRUE, 0);
}

/**
 * mg_form_dialog_new:
 * @parent: (nullable): any widget of the window the dialog belongs to
 *
 * Returns: (transfer none): a new modal dialog (destroy it when done)
 */
MgFormDialog *
mg_form_dialog_new (GtkWidget  *parent,
                    const char *title,
                    const char *accept_label)
{
  GtkWidget *toplevel = parent != NULL ? gtk_widget_get_toplevel (parent) : NULL;
  MgFormDialog *self;

  self = g_object_new (MG_TYPE_FORM_DIALOG,
                       "title", title,
                       "modal", TRUE,
                       "use-header-bar", FALSE,
                       "transient-for", GTK_IS_WINDOW (toplevel) ? toplevel : NULL,
                       "destroy-with-parent", TRUE,
                       NULL);
  gtk_dialog_add_buttons (GTK_DIALOG (self),
                          _("_Cancel"), GTK_RESPONSE_CANCEL,
                          accept_label, GTK_RESPONSE_ACCEPT,
                          NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (self), GTK_RESPONSE_ACCEPT);
  return self;
}

GtkEntry *
mg_form_dialog_add_entry (MgFormDialog *self,
                          const char   *key,
                          const char   *label,
                          const char   *value)
{
  GtkWidget *caption = gtk_label_new_with_mnemonic (label);
  GtkWidget *entry = gtk_entry_new ();

  g_return_val_if_fail (MG_IS_FORM_DIALOG (self), NULL);

  gtk_label_set_xalign (GTK_LABEL (caption), 1.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (caption), entry);
  gtk_entry_set_text (GTK_ENTRY (entry), value != NULL ? value : "");
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_widget_set_hexpand (entry, TRUE);
  gtk_entry_set_width_chars (GTK_ENTRY (entry), 30);
  gtk_grid_attach (self->grid, caption, 0, self->rows, 1, 1);
  gtk_grid_attach (self->grid, entry, 1, self->rows, 1, 1);
  gtk_widget_show (caption);
  gtk_widget_show (entry);
  self->rows++;
  g_hash_table_replace (self->fields, g_strdup (key), entry);
  return GTK_ENTRY (entry);
}

GtkToggleButton *
mg_form_dialog_add_check (MgFormDialog *self,
                          const char   *key,
                          const char   *label,
                          gboolean      active)
{
  GtkWidget *check = gtk_check_button_new_with_mnemonic (label);

  g_return_val_if_fail (MG_IS_FORM_DIALOG (self), NULL);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), active);
  gtk_grid_attach (self->grid, check, 1, self->rows, 1, 1);
  gtk_widget_show (check);
  self->rows++;
  g_hash_table_replace (self->fields, g_strdup (key), check);
  return GTK_TOGGLE_BUTTON (check);
}

GtkEntry *
mg_form_dialog_get_entry (MgFormDialog *self,
                          const char   *key)
{
  GtkWidget *widget;

  g_return_val_if_fail (MG_IS_FORM_DIALOG (self), NULL);

  widget = g_hash_table_lookup (self->fields, key);
  return GTK_IS_ENTRY (widget) ? GTK_ENTRY (widget) : NULL;
}

const char *
mg_form_dialog_get_text (MgFormDialog *self,
                         const char   *key)
{
  GtkEntry *entry = mg_form_dialog_get_entry (self, key);

  return entry != NULL ? gtk_entry_get_text (entry) : "";
}

gboolean
mg_form_dialog_get_active (MgFormDialog *self,
                           const char   *key)
{
  GtkWidget *widget;

  g_return_val_if_fail (MG_IS_FORM_DIALOG (self), FALSE);

  widget = g_hash_table_lookup (self->fields, key);
  return GTK_IS_TOGGLE_BUTTON (widget) && gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (widget));
}
