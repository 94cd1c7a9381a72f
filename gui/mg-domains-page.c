/* mg-domains-page.c - the "Domains" tab: the domains mail is accepted for
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A list of (name, shared box).  Adding and removing a domain is one
 * daemon call each, sent at once (mg_page_call_change): there is nothing
 * to stage, and the daemon's answer lands next to the list.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-domains-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"

enum {
  DOMAIN_NAME,
  DOMAIN_SHARED_BOX,
  N_DOMAIN_COLUMNS
};

struct _MgDomainsPage
{
  MgPage        parent_instance;

  MgListEditor *domains_editor;
  GtkListStore *domains;
};

G_DEFINE_TYPE (MgDomainsPage, mg_domains_page, MG_TYPE_PAGE)

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

  if (!mg_dbus_control1_call_list_domains_finish (MG_DBUS_CONTROL1 (source), &domains, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      mg_page_load_finished (MG_PAGE (user_data));
      mg_page_show_error (MG_PAGE (user_data), _("Could not read the domains"), error);
      return;
    }
  mg_page_load_finished (MG_PAGE (user_data));

  self = MG_DOMAINS_PAGE (user_data);
  gtk_list_store_clear (self->domains);
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&sb)", &name, &shared_box))
    gtk_list_store_insert_with_values (self->domains, NULL, -1,
                                       DOMAIN_NAME, name,
                                       DOMAIN_SHARED_BOX, shared_box ? _("Shared box") : "",
                                       -1);
}

static void
mg_domains_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_domains (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                      on_list_domains_cb, page);
}

static void
on_domain_dialog_response_cb (GtkDialog *dialog,
                              int        response,
                              gpointer   user_data)
{
  g_autoptr(MgDomainsPage) self = user_data;
  MgFormDialog *form = MG_FORM_DIALOG (dialog);

  if (response == GTK_RESPONSE_ACCEPT)
    mg_page_call_change (MG_PAGE (self), "AddDomain",
                         g_variant_new ("(sb)", mg_form_dialog_get_text (form, "name"),
                                        mg_form_dialog_get_active (form, "shared-box")));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_domains_editor_add_cb (MgDomainsPage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Domain"), _("_Add"));

  mg_form_dialog_add_entry (dialog, "name", _("_Domain name:"), NULL);
  mg_form_dialog_add_check (dialog, "shared-box", _("_Shared box (user names are the same in every shared-box domain)"), FALSE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_domain_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (GTK_WIDGET (dialog));
}

/* The seed's [詳細] (details): the shared-box flag of an existing domain. */
typedef struct
{
  MgDomainsPage *self;
  char          *name;
} DomainEdit;

static void
on_domain_details_response_cb (GtkDialog *dialog,
                               int        response,
                               gpointer   user_data)
{
  DomainEdit *edit = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    mg_page_call_change (MG_PAGE (edit->self), "SetDomainSharedBox",
                         g_variant_new ("(sb)", edit->name,
                                        mg_form_dialog_get_active (MG_FORM_DIALOG (dialog), "shared-box")));
  gtk_widget_destroy (GTK_WIDGET (dialog));
  g_object_unref (edit->self);
  g_free (edit->name);
  g_free (edit);
}

static void
on_domains_editor_edit_cb (MgDomainsPage *self,
                           int            index)
{
  g_autofree char *name = NULL;
  g_autofree char *shared = NULL;
  g_autofree char *title = NULL;
  MgFormDialog *dialog;
  DomainEdit *edit;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->domains), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->domains), &iter, DOMAIN_NAME, &name,
                      DOMAIN_SHARED_BOX, &shared, -1);

  title = g_strdup_printf (_("Domain %s"), name);
  dialog = mg_form_dialog_new (GTK_WIDGET (self), title, _("_Apply"));
  mg_form_dialog_add_check (dialog, "shared-box", _("_Shared box (user names are the same in every shared-box domain)"),
                            shared != NULL && *shared != '\0');
  edit = g_new0 (DomainEdit, 1);
  edit->self = g_object_ref (self);
  edit->name = g_steal_pointer (&name);
  g_signal_connect (dialog, "response", G_CALLBACK (on_domain_details_response_cb), edit);
  gtk_widget_show (GTK_WIDGET (dialog));
}

static void
on_domains_editor_remove_cb (MgDomainsPage *self,
                             int            index)
{
  g_autofree char *name = NULL;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->domains), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->domains), &iter, DOMAIN_NAME, &name, -1);
  mg_page_call_change (MG_PAGE (self), "RemoveDomain", g_variant_new ("(s)", name));
}

static void
mg_domains_page_constructed (GObject *object)
{
  MgDomainsPage *self = MG_DOMAINS_PAGE (object);

  G_OBJECT_CLASS (mg_domains_page_parent_class)->constructed (object);

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

  self->domains = gtk_list_store_new (N_DOMAIN_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  mg_list_editor_set_model (self->domains_editor, self->domains);
  mg_list_editor_set_reorderable (self->domains_editor, FALSE);
  mg_list_editor_set_editable (self->domains_editor, TRUE);
  mg_list_editor_add_column (self->domains_editor, _("Domain"), DOMAIN_NAME, FALSE);
  mg_list_editor_add_column (self->domains_editor, _("Details"), DOMAIN_SHARED_BOX, FALSE);
}

MgPage *
mg_domains_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_DOMAINS_PAGE,
                       "proxy", proxy,
                       "title", _("Domains"),
                       NULL);
}
