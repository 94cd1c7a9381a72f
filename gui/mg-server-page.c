/* mg-server-page.c - "Server settings": delivery, limits, routing table
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The settings on this page are the rows of the `fields` table below (one
 * line each, plus one row in data/ui/mg-server-page.ui); MgPage does the
 * rest.  The routing table is staged in a GtkListStore, each row
 * marked with what Apply will do (a removal stays, struck through, until
 * then).  Apply sends everything in one ApplyChanges list, all or nothing:
 * the edited settings (ApplySettings), then RemoveRoute for every route
 * gone or renamed, then AddRoute (an upsert) for every route new or
 * changed.  Routes are keyed by their domain and the daemon keeps them
 * sorted by it, so the table has no order to edit (no Move Up / Down).
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-server-page.h"
#include "mg-staged-list.h"

enum {
  ROUTE_DOMAIN,
  ROUTE_HOST,
  ROUTE_PORT,
  ROUTE_LOADED_DOMAIN,          /* the domain as the daemon has it; NULL: new */
  ROUTE_REMOVED,
  ROUTE_PENDING,
  N_ROUTE_COLUMNS
};

struct _MgServerPage
{
  MgPage        parent_instance;

  GtkWidget    *mailbox_dir_entry;
  GtkWidget    *smarthost_entry;
  GtkWidget    *port_spin;
  GtkWidget    *forward_all_switch;
  GtkWidget    *max_message_size_spin;
  GtkWidget    *max_recipients_spin;
  GtkWidget    *accept_limit_spin;
  GtkWidget    *timeout_spin;
  GtkWidget    *data_timeout_spin;
  GtkWidget    *max_received_headers_spin;
  GtkWidget    *retry_interval_spin;
  GtkWidget    *give_up_error_spin;
  GtkWidget    *give_up_no_response_spin;
  MgListEditor *routes_editor;

  GtkListStore *routes;
  GHashTable   *loaded_routes;   /* domain → "host:port" as the daemon has it */
};

G_DEFINE_TYPE (MgServerPage, mg_server_page, MG_TYPE_PAGE)

#define FIELD(key, child) { key, #child, G_STRUCT_OFFSET (MgServerPage, child) }

static const struct
{
  const char *key;
  const char *child;
  gssize      offset;
} fields[] = {
  FIELD ("delivery.mailbox_dir", mailbox_dir_entry),
  FIELD ("delivery.smarthost", smarthost_entry),
  FIELD ("delivery.port", port_spin),
  FIELD ("delivery.forward_all", forward_all_switch),
  FIELD ("receiver.max_message_size", max_message_size_spin),
  FIELD ("receiver.max_recipients", max_recipients_spin),
  FIELD ("receiver.accept_limit", accept_limit_spin),
  FIELD ("receiver.timeout", timeout_spin),
  FIELD ("receiver.data_timeout", data_timeout_spin),
  FIELD ("receiver.max_received_headers", max_received_headers_spin),
  FIELD ("delivery.retry_interval", retry_interval_spin),
  FIELD ("delivery.give_up_error", give_up_error_spin),
  FIELD ("delivery.give_up_no_response", give_up_no_response_spin),
};

/* ---- loading ---------------------------------------------------------- */

static void
on_get_settings_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GError) error = NULL;

  mg_dbus_control1_call_get_settings_finish (MG_DBUS_CONTROL1 (source), &settings, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the settings")))
    return;
  mg_page_load_settings (MG_PAGE (user_data), settings);
}

static void
on_list_routes_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GVariant) routes = NULL;
  g_autoptr(GError) error = NULL;
  MgServerPage *self;
  GVariantIter iter;
  const char *domain, *host;
  guint16 port;

  mg_dbus_control1_call_list_routes_finish (MG_DBUS_CONTROL1 (source), &routes, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the routing table")))
    return;

  self = MG_SERVER_PAGE (user_data);
  gtk_list_store_clear (self->routes);
  g_hash_table_remove_all (self->loaded_routes);
  g_variant_iter_init (&iter, routes);
  while (g_variant_iter_next (&iter, "(&s&sq)", &domain, &host, &port))
    {
      gtk_list_store_insert_with_values (self->routes, NULL, -1,
                                         ROUTE_DOMAIN, domain, ROUTE_HOST, host, ROUTE_PORT, (guint) port,
                                         ROUTE_LOADED_DOMAIN, domain,
                                         -1);
      g_hash_table_insert (self->loaded_routes, g_strdup (domain),
                           g_strdup_printf ("%s:%u", host, port));
    }
}

static void
mg_server_page_reload (MgPage *page)
{
  MgDBusControl1 *proxy = mg_page_get_proxy (page);
  GCancellable *cancellable = mg_page_get_cancellable (page);

  mg_page_load_started (page);
  mg_dbus_control1_call_get_settings (proxy, cancellable, on_get_settings_cb, page);
  mg_page_load_started (page);
  mg_dbus_control1_call_list_routes (proxy, cancellable, on_list_routes_cb, page);
}

/* ---- staged routes ------------------------------------------------------ */

static MgPending
route_pending (GtkTreeModel *model,
               GtkTreeIter  *iter,
               gpointer      user_data)
{
  MgServerPage *self = user_data;
  g_autofree char *domain = NULL;
  g_autofree char *host = NULL;
  g_autofree char *loaded_domain = NULL;
  g_autofree char *host_port = NULL;
  gboolean removed;
  guint port;

  gtk_tree_model_get (model, iter, ROUTE_DOMAIN, &domain, ROUTE_HOST, &host, ROUTE_PORT, &port,
                      ROUTE_LOADED_DOMAIN, &loaded_domain, ROUTE_REMOVED, &removed, -1);
  if (removed)
    return MG_PENDING_REMOVE;
  if (loaded_domain == NULL)
    return MG_PENDING_ADD;
  host_port = g_strdup_printf ("%s:%u", host, port);
  if (g_strcmp0 (domain, loaded_domain) != 0 ||
      g_strcmp0 (g_hash_table_lookup (self->loaded_routes, loaded_domain), host_port) != 0)
    return MG_PENDING_CHANGE;
  return MG_PENDING_NONE;
}

/* Refreshes the Pending column; a pending route makes the page dirty (a
 * clean table does not make it clean: a setting may be edited). */
static void
update_routes (MgServerPage *self)
{
  if (mg_staged_list_refresh (self->routes, ROUTE_PENDING, route_pending, NULL, self))
    mg_page_set_dirty (MG_PAGE (self), TRUE);
}

/* ---- applying --------------------------------------------------------- */

/* Removals (of routes gone, and of the old domain of a renamed route)
 * before additions, so that a domain removed and added again ends added. */
static void
collect_routes (MgServerPage *self,
                MgChanges    *changes)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->routes);
  GtkTreeIter iter;

  for (int pass = 0; pass < 2; pass++)
    for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
         valid = gtk_tree_model_iter_next (model, &iter))
      {
        MgPending pending = route_pending (model, &iter, self);
        g_autofree char *domain = NULL;
        g_autofree char *host = NULL;
        g_autofree char *loaded_domain = NULL;
        guint port;

        if (pending == MG_PENDING_NONE)
          continue;
        gtk_tree_model_get (model, &iter, ROUTE_DOMAIN, &domain, ROUTE_HOST, &host, ROUTE_PORT, &port,
                            ROUTE_LOADED_DOMAIN, &loaded_domain, -1);
        if (pass == 0 && loaded_domain != NULL &&
            (pending == MG_PENDING_REMOVE || g_strcmp0 (domain, loaded_domain) != 0))
          mg_changes_add (changes, model, &iter, "RemoveRoute", g_variant_new ("(s)", loaded_domain));
        else if (pass == 1 && pending != MG_PENDING_REMOVE)
          mg_changes_add (changes, model, &iter, "AddRoute",
                          g_variant_new ("(ssq)", domain, host, (guint16) port));
      }
}

/* One ApplyChanges call: a refused setting shows under its widget (its
 * problem's field is the key), a refused route under the table with its
 * row selected. */
static void
mg_server_page_apply (MgPage *page)
{
  MgServerPage *self = MG_SERVER_PAGE (page);
  g_autoptr(GVariant) settings = g_variant_ref_sink (mg_page_collect_settings (page));
  g_autoptr(MgChanges) changes = mg_changes_new ();

  if (g_variant_n_children (settings) > 0)
    mg_changes_add (changes, NULL, NULL, "ApplySettings", g_variant_new ("(@a{ss})", settings));
  collect_routes (self, changes);
  mg_page_apply_changes (page, g_steal_pointer (&changes));
}

/* ---- the routing table editor ------------------------------------------ */

/* A port that is not a number is staged as 0: the daemon names it. */
static void
on_route_dialog_accepted_cb (MgPage       *page,
                             MgFormDialog *dialog,
                             GtkTreeIter  *iter)
{
  MgServerPage *self = MG_SERVER_PAGE (page);
  guint64 port = 25;
  GtkTreeIter added;

  if (!g_ascii_string_to_unsigned (mg_form_dialog_get_text (dialog, "port"), 10, 0, 65535, &port, NULL))
    port = 0;
  if (iter == NULL)
    {
      gtk_list_store_append (self->routes, &added);
      iter = &added;
    }
  gtk_list_store_set (self->routes, iter,
                      ROUTE_DOMAIN, mg_form_dialog_get_text (dialog, "domain"),
                      ROUTE_HOST, mg_form_dialog_get_text (dialog, "host"),
                      ROUTE_PORT, (guint) port,
                      -1);
  update_routes (self);
}

static void
open_route_dialog (MgServerPage *self,
                   int           index)
{
  g_autofree char *domain = NULL;
  g_autofree char *host = NULL;
  g_autofree char *port_text = NULL;
  MgFormDialog *dialog;
  GtkTreeIter iter;
  guint port = 25;

  if (index >= 0)
    {
      gboolean removed;

      if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->routes), &iter, NULL, index))
        return;
      gtk_tree_model_get (GTK_TREE_MODEL (self->routes), &iter, ROUTE_DOMAIN, &domain,
                          ROUTE_HOST, &host, ROUTE_PORT, &port, ROUTE_REMOVED, &removed, -1);
      if (removed)
        return;                  /* to be removed: Revert brings it back */
    }
  port_text = g_strdup_printf ("%u", port);

  dialog = mg_form_dialog_new (GTK_WIDGET (self), index < 0 ? _("Add Route") : _("Edit Route"),
                               index < 0 ? _("_Add") : _("_OK"));
  mg_form_dialog_add_entry (dialog, "domain", _("_Domain:"), domain);
  mg_form_dialog_add_entry (dialog, "host", _("_Host:"), host);
  mg_form_dialog_add_entry (dialog, "port", _("_Port:"), port_text);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), self->routes, index < 0 ? NULL : &iter,
                              on_route_dialog_accepted_cb);
}

static void
on_routes_editor_add_cb (MgServerPage *self)
{
  open_route_dialog (self, -1);
}

static void
on_routes_editor_edit_cb (MgServerPage *self,
                          int           index)
{
  open_route_dialog (self, index);
}

/* A staged addition goes away; a route the daemon has is marked. */
static void
on_routes_editor_remove_cb (MgServerPage *self,
                            int           index)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->routes);
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (model, &iter, NULL, index))
    return;
  mg_staged_list_remove (self->routes, &iter, ROUTE_REMOVED,
                         route_pending (model, &iter, self) == MG_PENDING_ADD);
  mg_page_set_dirty (MG_PAGE (self), TRUE);
  update_routes (self);
}

/* ---- object ------------------------------------------------------------ */

static void
mg_server_page_constructed (GObject *object)
{
  MgServerPage *self = MG_SERVER_PAGE (object);

  G_OBJECT_CLASS (mg_server_page_parent_class)->constructed (object);

  mg_page_set_list_editor (MG_PAGE (self), self->routes_editor);
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    mg_page_bind_setting (MG_PAGE (self), fields[i].key,
                          G_STRUCT_MEMBER (GtkWidget *, self, fields[i].offset));
  mg_page_add_field (MG_PAGE (self), "route.domain", GTK_WIDGET (self->routes_editor));
  mg_page_add_field (MG_PAGE (self), "route.host", GTK_WIDGET (self->routes_editor));
  mg_page_add_field (MG_PAGE (self), "route.port", GTK_WIDGET (self->routes_editor));
  mg_page_reload (MG_PAGE (self));
}

static void
mg_server_page_finalize (GObject *object)
{
  MgServerPage *self = MG_SERVER_PAGE (object);

  g_clear_object (&self->routes);
  g_clear_pointer (&self->loaded_routes, g_hash_table_unref);
  G_OBJECT_CLASS (mg_server_page_parent_class)->finalize (object);
}

static void
mg_server_page_class_init (MgServerPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  MgPageClass *page_class = MG_PAGE_CLASS (klass);

  object_class->constructed = mg_server_page_constructed;
  object_class->finalize = mg_server_page_finalize;
  page_class->reload = mg_server_page_reload;
  page_class->apply = mg_server_page_apply;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-server-page.ui");
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    gtk_widget_class_bind_template_child_full (widget_class, fields[i].child, FALSE, fields[i].offset);
  gtk_widget_class_bind_template_child (widget_class, MgServerPage, routes_editor);
  gtk_widget_class_bind_template_callback (widget_class, on_routes_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_routes_editor_edit_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_routes_editor_remove_cb);
}

static void
mg_server_page_init (MgServerPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->routes = gtk_list_store_new (N_ROUTE_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT,
                                     G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_STRING);
  self->loaded_routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mg_list_editor_set_model (self->routes_editor, self->routes);
  /* keyed and sorted by domain: there is no order to change */
  mg_list_editor_set_reorderable (self->routes_editor, FALSE);
  mg_list_editor_set_editable (self->routes_editor, TRUE);
  mg_list_editor_set_strikethrough_column (self->routes_editor, ROUTE_REMOVED);
  mg_list_editor_add_column (self->routes_editor, _("Domain"), ROUTE_DOMAIN, FALSE);
  mg_list_editor_add_column (self->routes_editor, _("Host"), ROUTE_HOST, FALSE);
  mg_list_editor_add_column (self->routes_editor, _("Port"), ROUTE_PORT, FALSE);
  mg_list_editor_add_column (self->routes_editor, _("Pending"), ROUTE_PENDING, FALSE);
}

MgPage *
mg_server_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_SERVER_PAGE,
                       "proxy", proxy,
                       "title", _("Server settings"),
                       NULL);
}
