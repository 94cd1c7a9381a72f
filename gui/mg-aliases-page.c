/* mg-aliases-page.c - the "Aliases" tab: alias → real addresses
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Edits are staged in the list: a new alias is "to be added", an edited
 * one "to be changed", a removed one stays, struck through, "to be
 * removed".  Apply sends them as one ApplyChanges list (RemoveAlias, then
 * AddAlias, an upsert, for every new or changed alias); Revert reloads.
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
#include "mg-staged-list.h"

enum {
  ALIAS_NAME,
  ALIAS_TARGETS,
  ALIAS_NOTE,                   /* markup */
  ALIAS_LOADED_TARGETS,         /* NULL: a new alias */
  ALIAS_REMOVED,
  ALIAS_PENDING,
  N_ALIAS_COLUMNS
};

struct _MgAliasesPage
{
  MgPage        parent_instance;

  MgListEditor *aliases_editor;
  GtkListStore *aliases;
};

G_DEFINE_TYPE (MgAliasesPage, mg_aliases_page, MG_TYPE_PAGE)

/* ---- staged rows -------------------------------------------------------- */

static MgPending
row_pending (GtkTreeModel *model,
             GtkTreeIter  *iter,
             gpointer      user_data)
{
  g_autofree char *targets = NULL;
  g_autofree char *loaded = NULL;
  gboolean removed;

  gtk_tree_model_get (model, iter, ALIAS_TARGETS, &targets, ALIAS_LOADED_TARGETS, &loaded,
                      ALIAS_REMOVED, &removed, -1);
  return mg_pending_from_flags (removed, loaded == NULL, g_strcmp0 (targets, loaded) != 0);
}

static void
show_row (GtkListStore *store,
          GtkTreeIter  *iter,
          MgPending     pending,
          gpointer      user_data)
{
  g_autofree char *alias = NULL;
  g_autofree char *note = NULL;

  gtk_tree_model_get (GTK_TREE_MODEL (store), iter, ALIAS_NAME, &alias, -1);
  if (g_str_has_prefix (alias, "*@"))
    note = g_markup_printf_escaped ("<span foreground=\"#c01c28\" weight=\"bold\">%s</span>",
                                    _("Insecure: accepts every address of the domain"));
  gtk_list_store_set (store, iter, ALIAS_NOTE, note, -1);
}

static void
update_rows (MgAliasesPage *self)
{
  mg_page_set_dirty (MG_PAGE (self),
                     mg_staged_list_refresh (self->aliases, ALIAS_PENDING, row_pending, show_row, NULL));
}

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

  mg_dbus_control1_call_list_aliases_finish (MG_DBUS_CONTROL1 (source), &aliases, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the aliases")))
    return;

  self = MG_ALIASES_PAGE (user_data);
  gtk_list_store_clear (self->aliases);
  g_variant_iter_init (&iter, aliases);
  while (g_variant_iter_next (&iter, "(&s^a&s)", &alias, &targets))
    {
      g_autofree char *joined = g_strjoinv (", ", (char **) targets);

      gtk_list_store_insert_with_values (self->aliases, NULL, -1,
                                         ALIAS_NAME, alias, ALIAS_TARGETS, joined,
                                         ALIAS_LOADED_TARGETS, joined, -1);
      g_clear_pointer (&targets, g_free);
    }
  update_rows (self);
}

static void
mg_aliases_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_aliases (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                      on_list_aliases_cb, page);
}

static GVariant *
add_alias_parameters (const char *alias,
                      const char *joined)
{
  g_auto(GStrv) targets = g_strsplit (joined, ",", -1);

  for (char **t = targets; *t != NULL; t++)
    g_strstrip (*t);
  return g_variant_new ("(s^as)", alias, targets);
}

/* Removals first (an alias removed and added again is replaced), then
 * every new or changed alias (AddAlias replaces an existing one). */
static void
mg_aliases_page_apply (MgPage *page)
{
  MgAliasesPage *self = MG_ALIASES_PAGE (page);
  GtkTreeModel *model = GTK_TREE_MODEL (self->aliases);
  g_autoptr(MgChanges) changes = mg_changes_new ();
  GtkTreeIter iter;

  for (int pass = 0; pass < 2; pass++)
    for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
         valid = gtk_tree_model_iter_next (model, &iter))
      {
        MgPending pending = row_pending (model, &iter, NULL);
        g_autofree char *alias = NULL;
        g_autofree char *targets = NULL;

        gtk_tree_model_get (model, &iter, ALIAS_NAME, &alias, ALIAS_TARGETS, &targets, -1);
        if (pass == 0 && pending == MG_PENDING_REMOVE)
          mg_changes_add (changes, model, &iter, "RemoveAlias", g_variant_new ("(s)", alias));
        else if (pass == 1 && (pending == MG_PENDING_ADD || pending == MG_PENDING_CHANGE))
          mg_changes_add (changes, model, &iter, "AddAlias", add_alias_parameters (alias, targets));
      }
  mg_page_apply_changes (page, g_steal_pointer (&changes));
}

/* ---- add / edit / remove --------------------------------------------------- */

/* The row of @alias that is not to be removed, if any. */
static gboolean
find_alias (MgAliasesPage *self,
            const char    *alias,
            GtkTreeIter   *iter)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->aliases);

  for (gboolean valid = gtk_tree_model_get_iter_first (model, iter); valid;
       valid = gtk_tree_model_iter_next (model, iter))
    {
      g_autofree char *name = NULL;
      gboolean removed;

      gtk_tree_model_get (model, iter, ALIAS_NAME, &name, ALIAS_REMOVED, &removed, -1);
      if (!removed && g_ascii_strcasecmp (name, alias) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Also for Edit: the alias that is listed is edited (AddAlias replaces it). */
static void
on_alias_dialog_accepted_cb (MgPage       *page,
                             MgFormDialog *dialog,
                             GtkTreeIter  *unused)
{
  MgAliasesPage *self = MG_ALIASES_PAGE (page);
  g_autofree char *alias = g_strstrip (g_strdup (mg_form_dialog_get_text (dialog, "alias")));
  GtkTreeIter iter;

  if (!find_alias (self, alias, &iter))
    gtk_list_store_insert_with_values (self->aliases, &iter, -1, ALIAS_NAME, alias, -1);
  gtk_list_store_set (self->aliases, &iter, ALIAS_TARGETS, mg_form_dialog_get_text (dialog, "targets"), -1);
  update_rows (self);
}

static void
open_alias_dialog (MgAliasesPage *self,
                   int            index)
{
  g_autofree char *alias = NULL;
  g_autofree char *targets = NULL;
  gboolean removed = FALSE;
  MgFormDialog *dialog;
  GtkTreeIter iter;

  if (index >= 0 && gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->aliases), &iter, NULL, index))
    gtk_tree_model_get (GTK_TREE_MODEL (self->aliases), &iter, ALIAS_NAME, &alias,
                        ALIAS_TARGETS, &targets, ALIAS_REMOVED, &removed, -1);
  if (removed)
    return;                      /* to be removed: Revert brings it back */

  dialog = mg_form_dialog_new (GTK_WIDGET (self), index < 0 ? _("Add Alias") : _("Edit Alias"),
                               index < 0 ? _("_Add") : _("_OK"));
  gtk_widget_set_sensitive (GTK_WIDGET (mg_form_dialog_add_entry (dialog, "alias", _("_Alias:"), alias)),
                            index < 0);
  mg_form_dialog_add_entry (dialog, "targets", _("_Real addresses (comma-separated):"), targets);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), NULL, NULL, on_alias_dialog_accepted_cb);
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

/* A staged addition goes away; an alias the daemon has is marked. */
static void
on_aliases_editor_remove_cb (MgAliasesPage *self,
                             int            index)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->aliases);
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (model, &iter, NULL, index))
    return;
  mg_staged_list_remove (self->aliases, &iter, ALIAS_REMOVED,
                         row_pending (model, &iter, NULL) == MG_PENDING_ADD);
  update_rows (self);
}

static void
mg_aliases_page_constructed (GObject *object)
{
  MgAliasesPage *self = MG_ALIASES_PAGE (object);

  G_OBJECT_CLASS (mg_aliases_page_parent_class)->constructed (object);

  mg_page_set_list_editor (MG_PAGE (self), self->aliases_editor);
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
  MG_PAGE_CLASS (klass)->apply = mg_aliases_page_apply;

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

  self->aliases = gtk_list_store_new (N_ALIAS_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                      G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_STRING);
  mg_list_editor_set_model (self->aliases_editor, self->aliases);
  mg_list_editor_set_reorderable (self->aliases_editor, FALSE);
  mg_list_editor_set_strikethrough_column (self->aliases_editor, ALIAS_REMOVED);
  mg_list_editor_add_column (self->aliases_editor, _("Alias"), ALIAS_NAME, FALSE);
  mg_list_editor_add_column (self->aliases_editor, _("Real addresses"), ALIAS_TARGETS, FALSE);
  mg_list_editor_add_column (self->aliases_editor, _("Note"), ALIAS_NOTE, TRUE);
  mg_list_editor_add_column (self->aliases_editor, _("Pending"), ALIAS_PENDING, FALSE);
}

MgPage *
mg_aliases_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_ALIASES_PAGE,
                       "proxy", proxy,
                       "title", _("Aliases"),
                       NULL);
}
