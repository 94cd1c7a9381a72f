/* mg-domains-page.c - the "Domains" tab: the domains mail is accepted for
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A list of (name, shared box).  Edits are staged in the list: a new
 * domain is a row "to be added", a removed one stays, struck through,
 * "to be removed", a changed shared-box flag is "to be changed".  Apply
 * sends them as one ApplyChanges list (removals, then changes, then
 * additions); Revert reloads from the daemon.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-domains-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-staged-list.h"

enum {
  DOMAIN_NAME,
  DOMAIN_SHARED_BOX_TEXT,
  DOMAIN_SHARED_BOX,
  DOMAIN_LOADED_SHARED_BOX,
  DOMAIN_NEW,
  DOMAIN_REMOVED,
  DOMAIN_PENDING,
  N_DOMAIN_COLUMNS
};

struct _MgDomainsPage
{
  MgPage        parent_instance;

  MgListEditor *domains_editor;
  GtkListStore *domains;
};

G_DEFINE_TYPE (MgDomainsPage, mg_domains_page, MG_TYPE_PAGE)

/* ---- staged rows -------------------------------------------------------- */

static MgPending
row_pending (GtkTreeModel *model,
             GtkTreeIter  *iter,
             gpointer      user_data)
{
  gboolean shared_box, loaded, is_new, removed;

  gtk_tree_model_get (model, iter, DOMAIN_SHARED_BOX, &shared_box, DOMAIN_LOADED_SHARED_BOX, &loaded,
                      DOMAIN_NEW, &is_new, DOMAIN_REMOVED, &removed, -1);
  return mg_pending_from_flags (removed, is_new, shared_box != loaded);
}

static void
show_row (GtkListStore *store,
          GtkTreeIter  *iter,
          MgPending     pending,
          gpointer      user_data)
{
  gboolean shared_box;

  gtk_tree_model_get (GTK_TREE_MODEL (store), iter, DOMAIN_SHARED_BOX, &shared_box, -1);
  gtk_list_store_set (store, iter, DOMAIN_SHARED_BOX_TEXT, shared_box ? _("Shared box") : "", -1);
}

/* Refreshes the shown columns of every row; the page is dirty while any
 * row has a pending change. */
static void
update_rows (MgDomainsPage *self)
{
  mg_page_set_dirty (MG_PAGE (self),
                     mg_staged_list_refresh (self->domains, DOMAIN_PENDING, row_pending, show_row, NULL));
}

static void
on_list_domains_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GVariant) domains = NULL;
  g_autoptr(GError) error = NULL;
  MgDomainsPage *self;
  GVariantIter iter;
  const char *name;
  gboolean shared_box;

  mg_dbus_control1_call_list_domains_finish (MG_DBUS_CONTROL1 (source), &domains, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the domains")))
    return;

  self = MG_DOMAINS_PAGE (user_data);
  gtk_list_store_clear (self->domains);
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&sb)", &name, &shared_box))
    gtk_list_store_insert_with_values (self->domains, NULL, -1,
                                       DOMAIN_NAME, name,
                                       DOMAIN_SHARED_BOX, shared_box,
                                       DOMAIN_LOADED_SHARED_BOX, shared_box,
                                       -1);
  update_rows (self);
}

static void
mg_domains_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_domains (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                      on_list_domains_cb, page);
}

/* Removals first (a domain removed and added again is replaced), then
 * shared-box changes, then additions. */
static void
mg_domains_page_apply (MgPage *page)
{
  MgDomainsPage *self = MG_DOMAINS_PAGE (page);
  GtkTreeModel *model = GTK_TREE_MODEL (self->domains);
  g_autoptr(MgChanges) changes = mg_changes_new ();
  static const MgPending order[] = { MG_PENDING_REMOVE, MG_PENDING_CHANGE, MG_PENDING_ADD };
  GtkTreeIter iter;

  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
         valid = gtk_tree_model_iter_next (model, &iter))
      {
        g_autofree char *name = NULL;
        gboolean shared_box;

        if (row_pending (model, &iter, NULL) != order[i])
          continue;
        gtk_tree_model_get (model, &iter, DOMAIN_NAME, &name, DOMAIN_SHARED_BOX, &shared_box, -1);
        if (order[i] == MG_PENDING_REMOVE)
          mg_changes_add (changes, model, &iter, "RemoveDomain", g_variant_new ("(s)", name));
        else if (order[i] == MG_PENDING_CHANGE)
          mg_changes_add (changes, model, &iter, "SetDomainSharedBox", g_variant_new ("(sb)", name, shared_box));
        else
          mg_changes_add (changes, model, &iter, "AddDomain", g_variant_new ("(sb)", name, shared_box));
      }
  mg_page_apply_changes (page, g_steal_pointer (&changes));
}

/* ---- add / details / remove ---------------------------------------------- */

static void
on_domain_dialog_accepted_cb (MgPage       *page,
                              MgFormDialog *dialog,
                              GtkTreeIter  *unused)
{
  MgDomainsPage *self = MG_DOMAINS_PAGE (page);
  g_autofree char *name = g_strstrip (g_strdup (mg_form_dialog_get_text (dialog, "name")));

  /* staged: the daemon validates the name on Apply */
  gtk_list_store_insert_with_values (self->domains, NULL, -1,
                                     DOMAIN_NAME, name,
                                     DOMAIN_SHARED_BOX, mg_form_dialog_get_active (dialog, "shared-box"),
                                     DOMAIN_NEW, TRUE,
                                     -1);
  update_rows (self);
  mg_list_editor_select (self->domains_editor,
                         gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->domains), NULL) - 1);
}

static void
on_domains_editor_add_cb (MgDomainsPage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Domain"), _("_Add"));

  mg_form_dialog_add_entry (dialog, "name", _("_Domain name:"), NULL);
  mg_form_dialog_add_check (dialog, "shared-box", _("_Shared box (user names are the same in every shared-box domain)"), FALSE);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), NULL, NULL, on_domain_dialog_accepted_cb);
}

/* The seed's [詳細] (details): the shared-box flag of a domain. */
static void
on_domain_details_accepted_cb (MgPage       *page,
                               MgFormDialog *dialog,
                               GtkTreeIter  *iter)
{
  MgDomainsPage *self = MG_DOMAINS_PAGE (page);

  gtk_list_store_set (self->domains, iter, DOMAIN_SHARED_BOX,
                      mg_form_dialog_get_active (dialog, "shared-box"), -1);
  update_rows (self);
}

static void
on_domains_editor_edit_cb (MgDomainsPage *self,
                           int            index)
{
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;
  gboolean shared_box, removed;
  MgFormDialog *dialog;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->domains), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->domains), &iter, DOMAIN_NAME, &name,
                      DOMAIN_SHARED_BOX, &shared_box, DOMAIN_REMOVED, &removed, -1);
  if (removed)
    return;                      /* to be removed: Revert brings it back */

  title = g_strdup_printf (_("Domain %s"), name);
  dialog = mg_form_dialog_new (GTK_WIDGET (self), title, _("_OK"));
  mg_form_dialog_add_check (dialog, "shared-box", _("_Shared box (user names are the same in every shared-box domain)"),
                            shared_box);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), self->domains, &iter, on_domain_details_accepted_cb);
}

/* A staged addition goes away; a domain the daemon has is marked. */
static void
on_domains_editor_remove_cb (MgDomainsPage *self,
                             int            index)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->domains);
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (model, &iter, NULL, index))
    return;
  mg_staged_list_remove (self->domains, &iter, DOMAIN_REMOVED,
                         row_pending (model, &iter, NULL) == MG_PENDING_ADD);
  update_rows (self);
}

static void
mg_domains_page_constructed (GObject *object)
{
  MgDomainsPage *self = MG_DOMAINS_PAGE (object);

  G_OBJECT_CLASS (mg_domains_page_parent_class)->constructed (object);

  mg_page_set_list_editor (MG_PAGE (self), self->domains_editor);
  mg_page_add_field (MG_PAGE (self), "domain", GTK_WIDGET (self->domains_editor));
  mg_page_reload (MG_PAGE (self));
}

static void
mg_domains_page_finalize (GObject *object)
{
  g_clear_object (&MG_DOMAINS_PAGE (object)->domains);
  G_OBJECT_CLASS (mg_domains_page_parent_class)->finalize (object);
}

static void
mg_domains_page_class_init (MgDomainsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_domains_page_constructed;
  object_class->finalize = mg_domains_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_domains_page_reload;
  MG_PAGE_CLASS (klass)->apply = mg_domains_page_apply;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-domains-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgDomainsPage, domains_editor);
  gtk_widget_class_bind_template_callback (widget_class, on_domains_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_domains_editor_remove_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_domains_editor_edit_cb);
}

static void
mg_domains_page_init (MgDomainsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->domains = gtk_list_store_new (N_DOMAIN_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN,
                                      G_TYPE_BOOLEAN, G_TYPE_BOOLEAN, G_TYPE_BOOLEAN, G_TYPE_STRING);
  mg_list_editor_set_model (self->domains_editor, self->domains);
  mg_list_editor_set_reorderable (self->domains_editor, FALSE);
  mg_list_editor_set_editable (self->domains_editor, TRUE);
  mg_list_editor_set_strikethrough_column (self->domains_editor, DOMAIN_REMOVED);
  mg_list_editor_add_column (self->domains_editor, _("Domain"), DOMAIN_NAME, FALSE);
  mg_list_editor_add_column (self->domains_editor, _("Details"), DOMAIN_SHARED_BOX_TEXT, FALSE);
  mg_list_editor_add_column (self->domains_editor, _("Pending"), DOMAIN_PENDING, FALSE);
}

MgPage *
mg_domains_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_DOMAINS_PAGE,
                       "proxy", proxy,
                       "title", _("Domains"),
                       NULL);
}
