/* mg-aliases-page.c - the "Aliases" tab: alias → real addresses
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each alias is one AddAlias (an upsert) or RemoveAlias call, sent at once.
 * A wildcard alias (*@domain, the seed's method A) is marked insecure in
 * its own column, in the error colour.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-aliases-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"

enum {
  ALIAS_NAME,
  ALIAS_TARGETS,
  ALIAS_NOTE,                   /* markup */
  N_ALIAS_COLUMNS
};

struct _MgAliasesPage
{
  MgPage        parent_instance;

  MgListEditor *aliases_editor;
  GtkListStore *aliases;
};

G_DEFINE_TYPE (MgAliasesPage, mg_aliases_page, MG_TYPE_PAGE)

static void
on_list_aliases_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GVariant) aliases = NULL;
  g_autoptr(GError) error = NULL;
  MgAliasesPage *self;
  GVariantIter iter;
  const char *alias;
  g_autofree const char **targets = NULL;

  if (!mg_dbus_control1_call_list_aliases_finish (MG_DBUS_CONTROL1 (source), &aliases, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      mg_page_load_finished (MG_PAGE (user_data));
      mg_page_show_error (MG_PAGE (user_data), _("Could not read the aliases"), error);
      return;
    }
  mg_page_load_finished (MG_PAGE (user_data));

  self = MG_ALIASES_PAGE (user_data);
  gtk_list_store_clear (self->aliases);
  g_variant_iter_init (&iter, aliases);
  while (g_variant_iter_next (&iter, "(&s^a&s)", &alias, &targets))
    {
      g_autofree char *joined = g_strjoinv (", ", (char **) targets);
      g_autofree char *note = NULL;

      if (g_str_has_prefix (alias, "*@"))
        note = g_markup_printf_escaped ("<span foreground=\"#c01c28\" weight=\"bold\">%s</span>",
                                        _("Insecure: accepts every address of the domain"));
      gtk_list_store_insert_with_values (self->aliases, NULL, -1,
                                         ALIAS_NAME, alias, ALIAS_TARGETS, joined,
                                         ALIAS_NOTE, note, -1);
      g_clear_pointer (&targets, g_free);
    }
}

static void
mg_aliases_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_aliases (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                      on_list_aliases_cb, page);
}

static void
on_alias_dialog_response_cb (GtkDialog *dialog,
                             int        response,
                             gpointer   user_data)
{
  g_autoptr(MgAliasesPage) self = user_data;
  MgFormDialog *form = MG_FORM_DIALOG (dialog);
  g_auto(GStrv) targets = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      targets = g_strsplit (mg_form_dialog_get_text (form, "targets"), ",", -1);
      for (char **t = targets; *t != NULL; t++)
        g_strstrip (*t);
      mg_page_call_change (MG_PAGE (self), "AddAlias",
                           g_variant_new ("(s^as)", mg_form_dialog_get_text (form, "alias"), targets));
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
open_alias_dialog (MgAliasesPage *self,
                   int            index)
{
  g_autofree char *alias = NULL;
  g_autofree char *targets = NULL;
  MgFormDialog *dialog;
  GtkTreeIter iter;

  if (index >= 0 && gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->aliases), &iter, NULL, index))
    gtk_tree_model_get (GTK_TREE_MODEL (self->aliases), &iter, ALIAS_NAME, &alias,
                        ALIAS_TARGETS, &targets, -1);

  dialog = mg_form_dialog_new (GTK_WIDGET (self), index < 0 ? _("Add Alias") : _("Edit Alias"),
                               index < 0 ? _("_Add") : _("_OK"));
  gtk_widget_set_sensitive (GTK_WIDGET (mg_form_dialog_add_entry (dialog, "alias", _("_Alias:"), alias)),
                            index < 0);
  mg_form_dialog_add_entry (dialog, "targets", _("_Real addresses (comma-separated):"), targets);
  g_signal_connect (dialog, "response", G_CALLBACK (on_alias_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (GTK_WIDGET (dialog));
}

static void
on_aliases_editor_add_cb (MgAliasesPage *self)
{
  open_alias_dialog (self, -1);
}

static void
on_aliases_editor_edit_cb (MgAliasesPage *self,
                           int            index)
{
  open_alias_dialog (self, index);
}

static void
on_aliases_editor_remove_cb (MgAliasesPage *self,
                             int            index)
{
  g_autofree char *alias = NULL;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->aliases), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->aliases), &iter, ALIAS_NAME, &alias, -1);
  mg_page_call_change (MG_PAGE (self), "RemoveAlias", g_variant_new ("(s)", alias));
}

static void
mg_aliases_page_constructed (GObject *object)
{
  MgAliasesPage *self = MG_ALIASES_PAGE (object);

  G_OBJECT_CLASS (mg_aliases_page_parent_class)->constructed (object);

  mg_page_add_field (MG_PAGE (self), "alias", GTK_WIDGET (self->aliases_editor));
  mg_page_add_field (MG_PAGE (self), "targets", GTK_WIDGET (self->aliases_editor));
  mg_page_reload (MG_PAGE (self));
}

static void
mg_aliases_page_finalize (GObject *object)
{
  g_clear_object (&MG_ALIASES_PAGE (object)->aliases);
  G_OBJECT_CLASS (mg_aliases_page_parent_class)->finalize (object);
}

static void
mg_aliases_page_class_init (MgAliasesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_aliases_page_constructed;
  object_class->finalize = mg_aliases_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_aliases_page_reload;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-aliases-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgAliasesPage, aliases_editor);
  gtk_widget_class_bind_template_callback (widget_class, on_aliases_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_aliases_editor_edit_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_aliases_editor_remove_cb);
}

static void
mg_aliases_page_init (MgAliasesPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->aliases = gtk_list_store_new (N_ALIAS_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  mg_list_editor_set_model (self->aliases_editor, self->aliases);
  mg_list_editor_set_reorderable (self->aliases_editor, FALSE);
  mg_list_editor_add_column (self->aliases_editor, _("Alias"), ALIAS_NAME, FALSE);
  mg_list_editor_add_column (self->aliases_editor, _("Real addresses"), ALIAS_TARGETS, FALSE);
  mg_list_editor_add_column (self->aliases_editor, _("Note"), ALIAS_NOTE, TRUE);
}

MgPage *
mg_aliases_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_ALIASES_PAGE,
                       "proxy", proxy,
                       "title", _("Aliases"),
                       NULL);
}
