/* mg-queue-page.c - the "Queue" tab: messages waiting for delivery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One row per recipient still queued: message id, sender, recipient,
 * state, next attempt, last reply.  "Retry now" flushes the
 * selected message, or the whole queue; Hold / Release / Delete act on the
 * selected message (Delete asks first).  The list is read on demand
 * (Refresh, and after every retry): the daemon sends no queue signals.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-queue-page.h"

enum {
  COL_ID,
  COL_SENDER,
  COL_RECIPIENT,
  COL_STATE,
  COL_NEXT_ATTEMPT,
  COL_LAST_REPLY,
  N_COLUMNS
};

struct _MgQueuePage
{
  MgPage        parent_instance;

  GtkLabel     *summary_label;
  GtkTreeView  *tree_view;
  GtkListStore *messages;
};

G_DEFINE_TYPE (MgQueuePage, mg_queue_page, MG_TYPE_PAGE)

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) time = NULL;

  if (unix_seconds <= 0)
    return g_strdup ("");
  time = g_date_time_new_from_unix_local (unix_seconds);
  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M:%S") : g_strdup ("");
}

static void
add_message (MgQueuePage *self,
             GVariant    *message)
{
  g_autoptr(GVariant) recipients = NULL;
  g_autofree char *next = NULL;
  const char *id = "", *sender = "";
  const char *address, *state, *reply;
  gint64 next_attempt = 0;
  gboolean held = FALSE;
  GVariantIter iter;

  g_variant_lookup (message, "id", "&s", &id);
  g_variant_lookup (message, "sender", "&s", &sender);
  g_variant_lookup (message, "next-attempt", "x", &next_attempt);
  g_variant_lookup (message, "held", "b", &held);
  recipients = g_variant_lookup_value (message, "recipients", G_VARIANT_TYPE ("a(sss)"));
  next = held ? g_strdup (_("Held")) : format_time (next_attempt);
  if (recipients == NULL)
    return;

  g_variant_iter_init (&iter, recipients);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &address, &state, &reply))
    gtk_list_store_insert_with_values (self->messages, NULL, -1,
                                       COL_ID, id, COL_SENDER, *sender != '\0' ? sender : "<>",
                                       COL_RECIPIENT, address, COL_STATE, state,
                                       COL_NEXT_ATTEMPT, next, COL_LAST_REPLY, reply, -1);
}

static void
on_list_queue_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GVariant) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  MgQueuePage *self;
  gsize n;

  mg_dbus_control1_call_list_queue_finish (MG_DBUS_CONTROL1 (source), &messages, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the queue")))
    return;

  self = MG_QUEUE_PAGE (user_data);
  gtk_list_store_clear (self->messages);
  n = g_variant_n_children (messages);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) message = g_variant_get_child_value (messages, i);

      add_message (self, message);
    }
  summary = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u message in the queue",
                                          "%u messages in the queue", (gulong) n), (guint) n);
  gtk_label_set_text (self->summary_label, summary);
}

static void
mg_queue_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_queue (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                    on_list_queue_cb, page);
}

static void
on_refresh_button_clicked_cb (MgQueuePage *self)
{
  mg_page_reload (MG_PAGE (self));
}

static void
on_flush_queue_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_flush_queue_finish (MG_DBUS_CONTROL1 (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mg_page_show_error (MG_PAGE (user_data), _("Could not retry"), error);
      return;
    }
  mg_page_reload (MG_PAGE (user_data));
}

static void
on_retry_button_clicked_cb (MgQueuePage *self)
{
  GtkTreeSelection *selection = gtk_tree_view_get_selection (self->tree_view);
  g_autofree char *id = NULL;
  GtkTreeModel *model;
  GtkTreeIter iter;

  if (gtk_tree_selection_get_selected (selection, &model, &iter))
    gtk_tree_model_get (model, &iter, COL_ID, &id, -1);
  mg_dbus_control1_call_flush_queue (mg_page_get_proxy (MG_PAGE (self)), id != NULL ? id : "",
                                     mg_page_get_cancellable (MG_PAGE (self)),
                                     on_flush_queue_cb, self);
}

static char *
selected_id (MgQueuePage *self)
{
  GtkTreeSelection *selection = gtk_tree_view_get_selection (self->tree_view);
  GtkTreeModel *model;
  GtkTreeIter iter;
  char *id = NULL;

  if (gtk_tree_selection_get_selected (selection, &model, &iter))
    gtk_tree_model_get (model, &iter, COL_ID, &id, -1);
  return id;
}

static void
on_queue_action_done_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    mg_page_show_error (MG_PAGE (user_data), _("Could not change the message"), error);
  mg_page_reload (MG_PAGE (user_data));
}

static void
call_queue_action (MgQueuePage *self,
                   const char  *method,
                   GVariant    *parameters)
{
  g_dbus_proxy_call (G_DBUS_PROXY (mg_page_get_proxy (MG_PAGE (self))), method, parameters,
                     G_DBUS_CALL_FLAGS_NONE, -1, mg_page_get_cancellable (MG_PAGE (self)),
                     on_queue_action_done_cb, self);
}

static void
on_hold_button_clicked_cb (MgQueuePage *self)
{
  g_autofree char *id = selected_id (self);

  if (id != NULL)
    call_queue_action (self, "HoldQueueMessage", g_variant_new ("(sb)", id, TRUE));
}

static void
on_release_button_clicked_cb (MgQueuePage *self)
{
  g_autofree char *id = selected_id (self);

  if (id != NULL)
    call_queue_action (self, "HoldQueueMessage", g_variant_new ("(sb)", id, FALSE));
}

static void
on_delete_dialog_response_cb (GtkDialog *dialog,
                              int        response,
                              gpointer   user_data)
{
  g_autoptr(MgQueuePage) self = user_data;
  const char *id = g_object_get_data (G_OBJECT (dialog), "id");

  if (response == GTK_RESPONSE_ACCEPT)
    call_queue_action (self, "DeleteQueueMessage", g_variant_new ("(s)", id));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_delete_button_clicked_cb (MgQueuePage *self)
{
  g_autofree char *id = selected_id (self);
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkWidget *dialog;

  if (id == NULL)
    return;
  dialog = gtk_message_dialog_new (GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_WARNING, GTK_BUTTONS_NONE,
                                   _("Delete message %s?"), id);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s",
                                            _("It is removed from the queue without being delivered, and the sender gets no report."));
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL,
                          _("_Delete"), GTK_RESPONSE_ACCEPT, NULL);
  gtk_style_context_add_class (gtk_widget_get_style_context (gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT)),
                               "destructive-action");
  g_object_set_data_full (G_OBJECT (dialog), "id", g_steal_pointer (&id), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_delete_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (dialog);
}

static void
add_column (MgQueuePage *self,
            const char  *title,
            int          column)
{
  GtkTreeViewColumn *tree_column;

  tree_column = gtk_tree_view_column_new_with_attributes (title, gtk_cell_renderer_text_new (),
                                                          "text", column, NULL);
  gtk_tree_view_column_set_resizable (tree_column, TRUE);
  gtk_tree_view_append_column (self->tree_view, tree_column);
}

static void
mg_queue_page_constructed (GObject *object)
{
  G_OBJECT_CLASS (mg_queue_page_parent_class)->constructed (object);
  mg_page_reload (MG_PAGE (object));
}

static void
mg_queue_page_finalize (GObject *object)
{
  g_clear_object (&MG_QUEUE_PAGE (object)->messages);
  G_OBJECT_CLASS (mg_queue_page_parent_class)->finalize (object);
}

static void
mg_queue_page_class_init (MgQueuePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_queue_page_constructed;
  object_class->finalize = mg_queue_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_queue_page_reload;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-queue-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgQueuePage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, MgQueuePage, tree_view);
  gtk_widget_class_bind_template_callback (widget_class, on_refresh_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_hold_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_release_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_delete_button_clicked_cb);
}

static void
mg_queue_page_init (MgQueuePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->messages = gtk_list_store_new (N_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                       G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  gtk_tree_view_set_model (self->tree_view, GTK_TREE_MODEL (self->messages));
  add_column (self, _("Queue ID"), COL_ID);
  add_column (self, _("Sender"), COL_SENDER);
  add_column (self, _("Recipient"), COL_RECIPIENT);
  add_column (self, _("State"), COL_STATE);
  add_column (self, _("Next attempt"), COL_NEXT_ATTEMPT);
  add_column (self, _("Last reply"), COL_LAST_REPLY);
}

MgPage *
mg_queue_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_QUEUE_PAGE,
                       "proxy", proxy,
                       "title", _("Queue"),
                       NULL);
}
