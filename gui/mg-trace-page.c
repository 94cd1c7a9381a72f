/* mg-trace-page.c - the "Trace" tab: the live trace of every session
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Subscribes to the daemon's trace while the page exists and keeps
 * the last MAX_LINES lines.  The view shows the lines matching the filter
 * (plain text: a queue id, a client IP, ...), follows the tail unless
 * paused, and can be cleared or saved to a file.  A paused pane keeps
 * collecting: resuming shows what arrived meanwhile.  Trace lines are
 * protocol text and are shown as they come, never translated.  The
 * "docked" property asks the window to show the pane under every tab.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "mg-trace-page.h"

#define MAX_LINES 20000

struct _MgTracePage
{
  MgPage          parent_instance;

  GtkSearchEntry *filter_entry;
  GtkToggleButton *pause_button;
  GtkToggleButton *dock_button;
  GtkTextView    *text_view;
  GtkLabel       *state_label;

  GQueue         *lines;        /* char*, oldest first */
  gboolean        subscribed;
};

G_DEFINE_TYPE (MgTracePage, mg_trace_page, MG_TYPE_PAGE)

static gboolean
line_matches (MgTracePage *self,
              const char  *line)
{
  const char *filter = gtk_entry_get_text (GTK_ENTRY (self->filter_entry));

  return *filter == '\0' || strstr (line, filter) != NULL;
}

static void
scroll_to_end (MgTracePage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
  gtk_text_view_scroll_mark_onscreen (self->text_view, gtk_text_buffer_get_insert (buffer));
}

static void
append_to_view (MgTracePage *self,
                const char  *line)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, line, -1);
  gtk_text_buffer_insert (buffer, &end, "\n", 1);
}

static void
render (MgTracePage *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (GList *l = self->lines->head; l != NULL; l = l->next)
    if (line_matches (self, l->data))
      {
        g_string_append (text, l->data);
        g_string_append_c (text, '\n');
      }
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text->str, (int) text->len);
  scroll_to_end (self);
}

/* A string of a TraceLines batch may hold several lines, "\n" between
 * them (org.mailgate.Control1.xml). */
static void
on_proxy_trace_lines_cb (MgTracePage        *self,
                         const char * const *chunks)
{
  gboolean paused = gtk_toggle_button_get_active (self->pause_button);
  gboolean shown = FALSE;

  for (guint i = 0; chunks[i] != NULL; i++)
    {
      g_auto(GStrv) lines = g_strsplit (chunks[i], "\n", -1);

      for (guint j = 0; lines[j] != NULL; j++)
        {
          const char *line = lines[j];

          g_queue_push_tail (self->lines, g_strdup (line));
          while (self->lines->length > MAX_LINES)
            g_free (g_queue_pop_head (self->lines));

          if (paused || !line_matches (self, line))
            continue;
          append_to_view (self, line);
          shown = TRUE;
        }
    }
  if (shown)
    scroll_to_end (self);
}

static void
on_subscribe_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  MgTracePage *self;

  if (!mg_dbus_control1_call_subscribe_trace_finish (MG_DBUS_CONTROL1 (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mg_page_show_error (MG_PAGE (user_data), _("Could not follow the trace"), error);
      return;
    }
  self = MG_TRACE_PAGE (user_data);
  self->subscribed = TRUE;
  gtk_label_set_text (self->state_label, _("Following the live trace"));
}

static void
on_filter_entry_search_changed_cb (MgTracePage *self)
{
  render (self);
}

static void
on_pause_button_toggled_cb (MgTracePage *self)
{
  if (gtk_toggle_button_get_active (self->pause_button))
    gtk_label_set_text (self->state_label, _("Paused: new lines are kept and shown when you resume"));
  else
    {
      gtk_label_set_text (self->state_label, _("Following the live trace"));
      render (self);
    }
}

gboolean
mg_trace_page_get_docked (MgTracePage *self)
{
  g_return_val_if_fail (MG_IS_TRACE_PAGE (self), FALSE);
  return gtk_toggle_button_get_active (self->dock_button);
}

void
mg_trace_page_set_docked (MgTracePage *self,
                          gboolean     docked)
{
  g_return_if_fail (MG_IS_TRACE_PAGE (self));
  gtk_toggle_button_set_active (self->dock_button, docked);
}

static void
on_dock_button_toggled_cb (MgTracePage *self)
{
  g_object_notify (G_OBJECT (self), "docked");
  scroll_to_end (self);
}

static void
on_clear_button_clicked_cb (MgTracePage *self)
{
  g_queue_clear_full (self->lines, g_free);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), "", 0);
}

/**
 * mg_trace_page_save:
 * @file: where to write what the pane shows
 *
 * Returns: %TRUE on success, or %FALSE with @error set
 */
gboolean
mg_trace_page_save (MgTracePage  *self,
                    GFile        *file,
                    GError      **error)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  g_autofree char *text = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  return g_file_replace_contents (file, text, strlen (text), NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL, NULL, error);
}

static void
on_save_dialog_response_cb (GtkNativeDialog *dialog,
                            int              response,
                            gpointer         user_data)
{
  g_autoptr(MgTracePage) self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (!mg_trace_page_save (self, file, &error))
        mg_page_show_error (MG_PAGE (self), _("Could not save the trace"), error);
    }
  g_object_unref (dialog);
}

static void
on_save_button_clicked_cb (MgTracePage *self)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Save the Trace"),
                                        GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (dialog), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "mailgate-trace.txt");
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_dialog_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

GtkTextView *
mg_trace_page_get_view (MgTracePage *self)
{
  g_return_val_if_fail (MG_IS_TRACE_PAGE (self), NULL);
  return self->text_view;
}

/* Lines received and kept (shown or not) */
guint
mg_trace_page_get_n_lines (MgTracePage *self)
{
  g_return_val_if_fail (MG_IS_TRACE_PAGE (self), 0);
  return self->lines->length;
}

static void
mg_trace_page_constructed (GObject *object)
{
  MgTracePage *self = MG_TRACE_PAGE (object);
  MgDBusControl1 *proxy;

  G_OBJECT_CLASS (mg_trace_page_parent_class)->constructed (object);

  proxy = mg_page_get_proxy (MG_PAGE (self));
  g_signal_connect_object (proxy, "trace-lines", G_CALLBACK (on_proxy_trace_lines_cb),
                           self, G_CONNECT_SWAPPED);
  mg_dbus_control1_call_subscribe_trace (proxy, mg_page_get_cancellable (MG_PAGE (self)),
                                         on_subscribe_cb, self);
}

static void
mg_trace_page_dispose (GObject *object)
{
  MgTracePage *self = MG_TRACE_PAGE (object);
  MgDBusControl1 *proxy = mg_page_get_proxy (MG_PAGE (self));

  if (self->subscribed && proxy != NULL)
    mg_dbus_control1_call_unsubscribe_trace (proxy, NULL, NULL, NULL);   /* fire and forget */
  self->subscribed = FALSE;
  G_OBJECT_CLASS (mg_trace_page_parent_class)->dispose (object);
}

static void
mg_trace_page_finalize (GObject *object)
{
  MgTracePage *self = MG_TRACE_PAGE (object);

  g_queue_free_full (self->lines, g_free);
  G_OBJECT_CLASS (mg_trace_page_parent_class)->finalize (object);
}

static void
mg_trace_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  switch (prop_id)
    {
    case 1:
      g_value_set_boolean (value, mg_trace_page_get_docked (MG_TRACE_PAGE (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_trace_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case 1:
      mg_trace_page_set_docked (MG_TRACE_PAGE (object), g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_trace_page_class_init (MgTracePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = mg_trace_page_get_property;
  object_class->set_property = mg_trace_page_set_property;
  g_object_class_install_property (object_class, 1,
    g_param_spec_boolean ("docked", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  object_class->constructed = mg_trace_page_constructed;
  object_class->dispose = mg_trace_page_dispose;
  object_class->finalize = mg_trace_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-trace-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgTracePage, filter_entry);
  gtk_widget_class_bind_template_child (widget_class, MgTracePage, pause_button);
  gtk_widget_class_bind_template_child (widget_class, MgTracePage, dock_button);
  gtk_widget_class_bind_template_child (widget_class, MgTracePage, text_view);
  gtk_widget_class_bind_template_child (widget_class, MgTracePage, state_label);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_entry_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_pause_button_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_dock_button_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_save_button_clicked_cb);
}

static void
mg_trace_page_init (MgTracePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->lines = g_queue_new ();
}

MgPage *
mg_trace_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_TRACE_PAGE,
                       "proxy", proxy,
                       "title", _("Trace"),
                       NULL);
}
