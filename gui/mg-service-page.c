/* mg-service-page.c - the "Service control" tab
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Shows whether the receiver and delivery run, with Start / Stop buttons
 * bound to the application actions app.start / app.stop ('receiver' or
 * 'delivery'); the page refreshes on the daemon's StatusChanged signal and
 * shows the button that applies.  The listening ports are staged in a list
 * and sent in one SetListeners call on Apply (the daemon rebinds live and
 * rolls back a failed bind: its problem shows under the list); the
 * autostart switches, the host name, SMTP AUTH and the TLS certificate are
 * schema settings (R-5: service control).
 *
 * This tab's Apply is two calls, not one ApplyChanges: SetListeners binds
 * the new sockets before it stores them and swaps them in after, and a
 * bind is nothing a SQLite transaction can roll back, so the daemon keeps
 * it out of ApplyChanges.  The settings go first (one ApplySettings, all
 * or nothing), and the listeners only once they were accepted: a typo in
 * a setting never rebinds the running receiver.  What is left: a bind that
 * fails after the settings applied leaves the settings applied.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-service-page.h"

struct _MgServicePage
{
  MgPage        parent_instance;

  GtkLabel     *receiver_status_label;
  GtkWidget    *receiver_start_button;
  GtkWidget    *receiver_stop_button;
  GtkLabel     *delivery_status_label;
  GtkWidget    *delivery_start_button;
  GtkWidget    *delivery_stop_button;
  GtkLabel     *bound_label;
  GtkWidget    *receiver_autostart_switch;
  GtkWidget    *delivery_autostart_switch;
  GtkWidget    *hostname_entry;
  GtkWidget    *auth_methods_entry;
  GtkWidget    *auth_require_tls_switch;
  GtkWidget    *tls_cert_entry;
  GtkWidget    *tls_key_entry;
  MgListEditor *listeners_editor;

  GtkListStore *listeners;
  gboolean      listeners_changed;
};

G_DEFINE_TYPE (MgServicePage, mg_service_page, MG_TYPE_PAGE)

/* ---- status ------------------------------------------------------------ */

static void
show_service (GtkLabel   *label,
              GtkWidget  *start_button,
              GtkWidget  *stop_button,
              const char *state)
{
  gboolean running = g_strcmp0 (state, "running") == 0;

  gtk_label_set_text (label, running ? _("Running") : _("Stopped"));
  gtk_widget_set_visible (start_button, !running);
  gtk_widget_set_visible (stop_button, running);
}

static void
on_get_status_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **bound = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *text = NULL;
  const char *receiver = NULL, *delivery = NULL;
  MgServicePage *self;

  mg_dbus_control1_call_get_status_finish (MG_DBUS_CONTROL1 (source), &status, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the service status")))
    return;

  self = MG_SERVICE_PAGE (user_data);
  g_variant_lookup (status, "receiver", "&s", &receiver);
  g_variant_lookup (status, "delivery", "&s", &delivery);
  show_service (self->receiver_status_label, self->receiver_start_button,
                self->receiver_stop_button, receiver);
  show_service (self->delivery_status_label, self->delivery_start_button,
                self->delivery_stop_button, delivery);

  if (g_variant_lookup (status, "listeners", "^a&s", &bound) && bound[0] != NULL)
    {
      joined = g_strjoinv (", ", (char **) bound);
      text = g_strdup_printf (_("Listening on %s"), joined);
    }
  else
    text = g_strdup (_("Not listening"));
  gtk_label_set_text (self->bound_label, text);
}

static void
refresh_status (MgServicePage *self)
{
  mg_page_load_started (MG_PAGE (self));
  mg_dbus_control1_call_get_status (mg_page_get_proxy (MG_PAGE (self)),
                                    mg_page_get_cancellable (MG_PAGE (self)),
                                    on_get_status_cb, self);
}

static void
on_proxy_status_changed_cb (MgServicePage *self)
{
  refresh_status (self);
}

/* ---- loading ------------------------------------------------------------ */

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
on_list_listeners_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_auto(GStrv) configured = NULL;
  g_auto(GStrv) bound = NULL;
  g_autoptr(GError) error = NULL;
  MgServicePage *self;

  mg_dbus_control1_call_list_listeners_finish (MG_DBUS_CONTROL1 (source), &configured, &bound, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the listening ports")))
    return;

  self = MG_SERVICE_PAGE (user_data);
  gtk_list_store_clear (self->listeners);
  for (char **spec = configured; *spec != NULL; spec++)
    gtk_list_store_insert_with_values (self->listeners, NULL, -1, 0, *spec, -1);
  self->listeners_changed = FALSE;
}

static void
mg_service_page_reload (MgPage *page)
{
  MgDBusControl1 *proxy = mg_page_get_proxy (page);
  GCancellable *cancellable = mg_page_get_cancellable (page);

  mg_page_load_started (page);
  mg_dbus_control1_call_get_settings (proxy, cancellable, on_get_settings_cb, page);
  mg_page_load_started (page);
  mg_dbus_control1_call_list_listeners (proxy, cancellable, on_list_listeners_cb, page);
  refresh_status (MG_SERVICE_PAGE (page));
}

/* ---- applying ------------------------------------------------------------ */

static GVariant *
collect_listeners (MgServicePage *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("as"));
  GtkTreeModel *model = GTK_TREE_MODEL (self->listeners);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *spec = NULL;

      gtk_tree_model_get (model, &iter, 0, &spec, -1);
      g_variant_builder_add (&builder, "s", spec);
    }
  return g_variant_builder_end (&builder);
}

/* The second step: the listeners, if edited (see the top of the file) */
static void
apply_listeners (MgServicePage *self)
{
  MgPage *page = MG_PAGE (self);

  if (!self->listeners_changed)
    {
      mg_page_apply_done (page, TRUE);
      return;
    }
  mg_page_apply_begin (page);
  mg_page_apply_call (page, "SetListeners", g_variant_new ("(@as)", collect_listeners (self)));
  mg_page_apply_end (page);
}

static void
on_apply_settings_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  MgPage *page;

  if (!mg_dbus_control1_call_apply_settings_finish (MG_DBUS_CONTROL1 (source), &problems, result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the page is gone: do not touch it */

  page = MG_PAGE (user_data);
  if (error != NULL)
    {
      mg_page_show_error (page, _("Could not apply the changes"), error);
      mg_page_apply_done (page, FALSE);
    }
  else if (!mg_page_show_problems_variant (page, problems))
    mg_page_apply_done (page, FALSE);
  else
    apply_listeners (MG_SERVICE_PAGE (page));
}

static void
mg_service_page_apply (MgPage *page)
{
  g_autoptr(GVariant) settings = g_variant_ref_sink (mg_page_collect_settings (page));

  if (g_variant_n_children (settings) == 0)
    {
      apply_listeners (MG_SERVICE_PAGE (page));
      return;
    }
  mg_dbus_control1_call_apply_settings (mg_page_get_proxy (page), settings,
                                        mg_page_get_cancellable (page), on_apply_settings_cb, page);
}

/* ---- the listener list ----------------------------------------------------- */

static void
on_listener_dialog_response_cb (GtkDialog *dialog,
                                int        response,
                                gpointer   user_data)
{
  g_autoptr(MgServicePage) self = user_data;
  const char *spec = mg_form_dialog_get_text (MG_FORM_DIALOG (dialog), "spec");

  if (response == GTK_RESPONSE_ACCEPT && *spec != '\0')
    {
      gtk_list_store_insert_with_values (self->listeners, NULL, -1, 0, spec, -1);
      self->listeners_changed = TRUE;
      mg_page_set_dirty (MG_PAGE (self), TRUE);
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_listeners_editor_add_cb (MgServicePage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Listening Port"), _("_Add"));

  mg_form_dialog_add_entry (dialog, "spec", _("_Address and port:"), "127.0.0.1:2525");
  g_signal_connect (dialog, "response", G_CALLBACK (on_listener_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (GTK_WIDGET (dialog));
}

static void
on_listeners_editor_remove_cb (MgServicePage *self,
                               int            index)
{
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->listeners), &iter, NULL, index))
    return;
  gtk_list_store_remove (self->listeners, &iter);
  self->listeners_changed = TRUE;
  mg_page_set_dirty (MG_PAGE (self), TRUE);
}

/* ---- object ------------------------------------------------------------ */

static void
mg_service_page_constructed (GObject *object)
{
  MgServicePage *self = MG_SERVICE_PAGE (object);

  G_OBJECT_CLASS (mg_service_page_parent_class)->constructed (object);

  mg_page_bind_setting (MG_PAGE (self), "receiver.autostart", self->receiver_autostart_switch);
  mg_page_bind_setting (MG_PAGE (self), "delivery.autostart", self->delivery_autostart_switch);
  mg_page_bind_setting (MG_PAGE (self), "receiver.hostname", self->hostname_entry);
  mg_page_bind_setting (MG_PAGE (self), "auth.methods", self->auth_methods_entry);
  mg_page_bind_setting (MG_PAGE (self), "auth.require_tls", self->auth_require_tls_switch);
  mg_page_bind_setting (MG_PAGE (self), "tls.cert", self->tls_cert_entry);
  mg_page_bind_setting (MG_PAGE (self), "tls.key", self->tls_key_entry);
  mg_page_add_field (MG_PAGE (self), "listen", GTK_WIDGET (self->listeners_editor));
  g_signal_connect_object (mg_page_get_proxy (MG_PAGE (self)), "status-changed",
                           G_CALLBACK (on_proxy_status_changed_cb), self, G_CONNECT_SWAPPED);
  mg_page_reload (MG_PAGE (self));
}

static void
mg_service_page_finalize (GObject *object)
{
  g_clear_object (&MG_SERVICE_PAGE (object)->listeners);
  G_OBJECT_CLASS (mg_service_page_parent_class)->finalize (object);
}

static void
mg_service_page_class_init (MgServicePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_service_page_constructed;
  object_class->finalize = mg_service_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_service_page_reload;
  MG_PAGE_CLASS (klass)->apply = mg_service_page_apply;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-service-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, receiver_status_label);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, receiver_start_button);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, receiver_stop_button);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, delivery_status_label);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, delivery_start_button);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, delivery_stop_button);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, bound_label);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, receiver_autostart_switch);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, delivery_autostart_switch);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, hostname_entry);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, auth_methods_entry);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, auth_require_tls_switch);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, tls_cert_entry);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, tls_key_entry);
  gtk_widget_class_bind_template_child (widget_class, MgServicePage, listeners_editor);
  gtk_widget_class_bind_template_callback (widget_class, on_listeners_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_listeners_editor_remove_cb);
}

static void
mg_service_page_init (MgServicePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->listeners = gtk_list_store_new (1, G_TYPE_STRING);
  mg_list_editor_set_model (self->listeners_editor, self->listeners);
  mg_list_editor_set_reorderable (self->listeners_editor, FALSE);
  mg_list_editor_set_editable (self->listeners_editor, FALSE);
  mg_list_editor_add_column (self->listeners_editor, _("Address and port"), 0, FALSE);
}

MgPage *
mg_service_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_SERVICE_PAGE,
                       "proxy", proxy,
                       "title", _("Service control"),
                       NULL);
}
