/* mg-window.c - the Mail Control window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A stack of three states: connecting; "no daemon answers" (with the
 * command that starts the system service and a button that starts a
 * user-mode mailgated and waits for its socket); and the console, a
 * notebook of MgPage tabs over an action bar with Revert and Apply.  The
 * window owns the control proxy (handed to every page and to the
 * application's actions).  Apply sends the staged edits of every page with
 * changes; closing with staged edits asks first (close without applying,
 * cancel, or apply and then close unless the daemon refused something).
 * The Trace page can be docked: it then moves from its tab into a pane
 * under the notebook, so the live trace stays in view under every tab.
 * After connecting and after every change, the daemon's configuration
 * check (Check: mail loops, wildcard aliases, open relay ranges,
 * certificates) is shown in an info bar above the tabs, each
 * finding with its fix.  When the daemon goes away the pages are dropped
 * and the "no daemon" state shows.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-accounts-page.h"
#include "mg-aliases-page.h"
#include "mg-application.h"
#include "mg-domains-page.h"
#include "mg-lint.h"
#include "mg-queue-page.h"
#include "mg-relay-page.h"
#include "mg-server-page.h"
#include "mg-service-page.h"
#include "mg-trace-page.h"
#include "mg-window.h"

#define SPAWN_POLL_MS     200
#define SPAWN_MAX_POLLS   50      /* 10 s for a daemon to answer */

struct _MgWindow
{
  GtkApplicationWindow parent_instance;

  GtkStack       *stack;
  GtkNotebook    *notebook;
  GtkBox         *trace_dock;
  GtkInfoBar     *check_bar;
  GtkLabel       *check_label;
  GtkLabel       *no_daemon_detail_label;
  GtkLabel       *spawn_error_label;
  GtkWidget      *start_user_button;
  GtkWidget      *apply_button;
  GtkWidget      *revert_button;
  GtkLabel       *status_label;

  char           *socket_path;
  MgDBusControl1 *proxy;
  GCancellable   *cancellable;
  GPtrArray      *pages;        /* MgPage*, unowned (the notebook owns them) */
  GSubprocess    *daemon;       /* a user-mode mailgated we started */
  guint           poll_id;
  guint           polls;
  gboolean        was_busy;
  gboolean        close_confirmed;
  gboolean        close_after_apply;
};

G_DEFINE_TYPE (MgWindow, mg_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SOCKET_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void connect_to_daemon (MgWindow *self);

/* ---- configuration check ---------------------------------------------------- */

static void
on_check_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GVariant) findings_variant = NULL;
  g_autoptr(GPtrArray) findings = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean any_error = FALSE;
  MgWindow *self;

  if (!mg_dbus_control1_call_check_finish (MG_DBUS_CONTROL1 (source), &findings_variant, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("configuration check: %s", error->message);   /* an older daemon: no bar */
      return;
    }

  self = MG_WINDOW (user_data);
  findings = mg_lint_findings_from_variant (findings_variant);
  for (guint i = 0; i < findings->len; i++)
    {
      const MgLintFinding *finding = g_ptr_array_index (findings, i);
      g_autofree char *message = mg_lint_finding_message (finding);
      g_autofree char *fix = mg_lint_finding_fix (finding);

      any_error |= finding->severity == MG_LINT_ERROR;
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append_printf (text, "%s %s", message, fix);
    }
  gtk_label_set_text (self->check_label, text->str);
  gtk_info_bar_set_message_type (self->check_bar, any_error ? GTK_MESSAGE_ERROR : GTK_MESSAGE_WARNING);
  gtk_widget_set_visible (GTK_WIDGET (self->check_bar), findings->len > 0);
}

static void
run_check (MgWindow *self)
{
  if (self->proxy == NULL)
    return;
  mg_dbus_control1_call_check (self->proxy, self->cancellable, on_check_done_cb, self);
}

/* ---- Apply / Revert ------------------------------------------------------ */

static void
update_buttons (MgWindow *self)
{
  gboolean dirty = FALSE, busy = FALSE;

  for (guint i = 0; i < self->pages->len; i++)
    {
      MgPage *page = g_ptr_array_index (self->pages, i);

      dirty |= mg_page_get_dirty (page);
      busy |= mg_page_get_busy (page);
    }
  if (self->was_busy && !busy)
    run_check (self);            /* a change or a load finished */
  self->was_busy = busy;
  if (self->close_after_apply && !busy)
    {
      /* "Apply" when closing: close once everything applied; when the
       * daemon refused something, stay open with the problems shown */
      self->close_after_apply = FALSE;
      if (!dirty)
        {
          self->close_confirmed = TRUE;
          gtk_window_close (GTK_WINDOW (self));
          return;
        }
    }
  gtk_widget_set_sensitive (self->apply_button, dirty && !busy);
  gtk_widget_set_sensitive (self->revert_button, dirty && !busy);
  gtk_label_set_text (self->status_label, busy ? _("Applying…")
                                               : dirty ? _("Changes not applied yet") : "");
}

gboolean
mg_window_has_unsaved_changes (MgWindow *self)
{
  g_return_val_if_fail (MG_IS_WINDOW (self), FALSE);

  for (guint i = 0; i < self->pages->len; i++)
    if (mg_page_get_dirty (g_ptr_array_index (self->pages, i)))
      return TRUE;
  return FALSE;
}

void
mg_window_apply (MgWindow *self)
{
  g_return_if_fail (MG_IS_WINDOW (self));

  for (guint i = 0; i < self->pages->len; i++)
    mg_page_apply (g_ptr_array_index (self->pages, i));
}

void
mg_window_revert (MgWindow *self)
{
  g_return_if_fail (MG_IS_WINDOW (self));

  for (guint i = 0; i < self->pages->len; i++)
    {
      MgPage *page = g_ptr_array_index (self->pages, i);

      if (mg_page_get_dirty (page))
        mg_page_reload (page);
    }
}

static void
on_apply_button_clicked_cb (MgWindow *self)
{
  mg_window_apply (self);
}

static void
on_revert_button_clicked_cb (MgWindow *self)
{
  mg_window_revert (self);
}

/* ---- pages ----------------------------------------------------------------- */

static void
add_page (MgWindow *self,
          MgPage   *page,
          gboolean  scrolled)
{
  GtkWidget *child = GTK_WIDGET (page);
  GtkWidget *tab = gtk_label_new (mg_page_get_title (page));

  if (scrolled)
    {
      child = gtk_scrolled_window_new (NULL, NULL);
      gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (child), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
      gtk_container_add (GTK_CONTAINER (child), GTK_WIDGET (page));
    }
  gtk_widget_show_all (child);
  gtk_notebook_append_page (self->notebook, child, tab);
  g_ptr_array_add (self->pages, page);
  g_signal_connect_object (page, "notify::dirty", G_CALLBACK (update_buttons), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::busy", G_CALLBACK (update_buttons), self, G_CONNECT_SWAPPED);
}

static void
undock_trace (MgWindow *self)
{
  g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (self->trace_dock));

  for (GList *l = children; l != NULL; l = l->next)
    gtk_container_remove (GTK_CONTAINER (self->trace_dock), l->data);
  gtk_widget_hide (GTK_WIDGET (self->trace_dock));
}

static void
on_trace_docked_cb (MgWindow *self,
                    GParamSpec *pspec,
                    MgTracePage *trace)
{
  GtkWidget *widget = GTK_WIDGET (trace);
  gboolean docked = mg_trace_page_get_docked (trace);

  if (docked == (gtk_widget_get_parent (widget) == GTK_WIDGET (self->trace_dock)))
    return;

  g_object_ref (trace);
  gtk_container_remove (GTK_CONTAINER (gtk_widget_get_parent (widget)), widget);
  if (docked)
    {
      gtk_box_pack_start (self->trace_dock, widget, TRUE, TRUE, 0);
      gtk_widget_show (GTK_WIDGET (self->trace_dock));
      gtk_notebook_set_current_page (self->notebook, 0);
    }
  else
    {
      gtk_widget_hide (GTK_WIDGET (self->trace_dock));
      gtk_notebook_append_page (self->notebook, widget, gtk_label_new (mg_page_get_title (MG_PAGE (trace))));
      gtk_notebook_set_current_page (self->notebook, -1);
    }
  g_object_unref (trace);
}

static void
remove_pages (MgWindow *self)
{
  undock_trace (self);
  while (gtk_notebook_get_n_pages (self->notebook) > 0)
    gtk_notebook_remove_page (self->notebook, -1);
  g_ptr_array_set_size (self->pages, 0);
  update_buttons (self);
}

static void
build_pages (MgWindow *self)
{
  remove_pages (self);
  add_page (self, mg_server_page_new (self->proxy), TRUE);
  add_page (self, mg_domains_page_new (self->proxy), FALSE);
  add_page (self, mg_accounts_page_new (self->proxy), FALSE);
  add_page (self, mg_aliases_page_new (self->proxy), FALSE);
  add_page (self, mg_relay_page_new (self->proxy), FALSE);
  add_page (self, mg_service_page_new (self->proxy), TRUE);
  add_page (self, mg_queue_page_new (self->proxy), FALSE);
  add_page (self, mg_trace_page_new (self->proxy), FALSE);
  g_signal_connect_object (mg_window_get_page (self, MG_TYPE_TRACE_PAGE), "notify::docked",
                           G_CALLBACK (on_trace_docked_cb), self, G_CONNECT_SWAPPED);
  update_buttons (self);
}

MgPage *
mg_window_get_page (MgWindow *self,
                    GType     page_type)
{
  g_return_val_if_fail (MG_IS_WINDOW (self), NULL);

  for (guint i = 0; i < self->pages->len; i++)
    if (G_TYPE_CHECK_INSTANCE_TYPE (g_ptr_array_index (self->pages, i), page_type))
      return g_ptr_array_index (self->pages, i);
  return NULL;
}

/* ---- connection ------------------------------------------------------------- */

static void
set_proxy (MgWindow       *self,
           MgDBusControl1 *proxy)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  g_set_object (&self->proxy, proxy);
  if (MG_IS_APPLICATION (application))
    mg_application_set_proxy (MG_APPLICATION (application), proxy);
}

static void
show_no_daemon (MgWindow   *self,
                const char *detail)
{
  remove_pages (self);
  set_proxy (self, NULL);
  gtk_label_set_text (self->no_daemon_detail_label, detail);
  gtk_stack_set_visible_child_name (self->stack, "no-daemon");
}

static void
on_connection_closed_cb (GDBusConnection *connection,
                         gboolean         remote_peer_vanished,
                         GError          *error,
                         gpointer         user_data)
{
  MgWindow *self = user_data;

  show_no_daemon (self, _("The connection to mailgated was lost."));
}

static void
on_connected_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(MgDBusControl1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  MgWindow *self;

  proxy = mg_control_client_connect_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = MG_WINDOW (user_data);
  if (proxy == NULL)
    {
      if (self->poll_id == 0)
        show_no_daemon (self, error->message);
      return;
    }

  g_clear_handle_id (&self->poll_id, g_source_remove);
  gtk_label_set_text (self->spawn_error_label, "");
  set_proxy (self, proxy);
  g_signal_connect_object (g_dbus_proxy_get_connection (G_DBUS_PROXY (proxy)), "closed",
                           G_CALLBACK (on_connection_closed_cb), self, 0);
  build_pages (self);
  gtk_stack_set_visible_child_name (self->stack, "console");
}

static void
connect_to_daemon (MgWindow *self)
{
  mg_control_client_connect_async (self->socket_path, self->cancellable, on_connected_cb, self);
}

void
mg_window_connect (MgWindow *self)
{
  g_return_if_fail (MG_IS_WINDOW (self));

  gtk_stack_set_visible_child_name (self->stack, "connecting");
  connect_to_daemon (self);
}

MgDBusControl1 *
mg_window_get_proxy (MgWindow *self)
{
  g_return_val_if_fail (MG_IS_WINDOW (self), NULL);
  return self->proxy;
}

const char *
mg_window_get_state (MgWindow *self)
{
  g_return_val_if_fail (MG_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

static void
on_retry_button_clicked_cb (MgWindow *self)
{
  mg_window_connect (self);
}

/* ---- starting a user-mode daemon ------------------------------------------- */

static char *
find_daemon (void)
{
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = NULL;
  g_autofree char *built = NULL;

  if (g_getenv ("MAILGATE_DAEMON") != NULL)
    return g_strdup (g_getenv ("MAILGATE_DAEMON"));

  /* Uninstalled: build/gui/mail-control next to build/service/mailgated */
  if (self_path != NULL)
    {
      dir = g_path_get_dirname (self_path);
      built = g_build_filename (dir, "..", "service", "mailgated", NULL);
      if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&built);
    }
  return g_build_filename (MG_SBINDIR, "mailgated", NULL);
}

static gboolean
on_poll_timeout_cb (gpointer user_data)
{
  MgWindow *self = user_data;

  if (self->daemon != NULL && g_subprocess_get_if_exited (self->daemon))
    {
      gtk_label_set_text (self->spawn_error_label, _("mailgated stopped at once: see the system log"));
      gtk_widget_set_sensitive (self->start_user_button, TRUE);
      self->poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (++self->polls > SPAWN_MAX_POLLS)
    {
      gtk_label_set_text (self->spawn_error_label, _("mailgated did not answer in time"));
      gtk_widget_set_sensitive (self->start_user_button, TRUE);
      self->poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  connect_to_daemon (self);
  return G_SOURCE_CONTINUE;
}

static void
on_start_user_button_clicked_cb (MgWindow *self)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, find_daemon ());
  g_ptr_array_add (argv, g_strdup ("--profile"));
  g_ptr_array_add (argv, g_strdup ("user"));
  if (self->socket_path != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--socket"));
      g_ptr_array_add (argv, g_strdup (self->socket_path));
    }
  g_ptr_array_add (argv, NULL);

  g_clear_object (&self->daemon);
  self->daemon = g_subprocess_newv ((const char * const *) argv->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  if (self->daemon == NULL)
    {
      gtk_label_set_text (self->spawn_error_label, error->message);
      return;
    }
  gtk_label_set_text (self->spawn_error_label, _("Starting mailgated…"));
  gtk_widget_set_sensitive (self->start_user_button, FALSE);
  self->polls = 0;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  self->poll_id = g_timeout_add (SPAWN_POLL_MS, on_poll_timeout_cb, self);
}

/* ---- errors and closing ------------------------------------------------------ */

void
mg_window_show_error (MgWindow     *self,
                      const char   *what,
                      const GError *error)
{
  GtkWidget *dialog;
  g_autoptr(GError) copy = g_error_copy (error);

  g_return_if_fail (MG_IS_WINDOW (self));

  g_dbus_error_strip_remote_error (copy);
  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", what);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", copy->message);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  gtk_widget_show (dialog);
}

static void
on_discard_dialog_response_cb (GtkDialog *dialog,
                               int        response,
                               gpointer   user_data)
{
  MgWindow *self = MG_WINDOW (user_data);

  gtk_widget_destroy (GTK_WIDGET (dialog));
  if (response == GTK_RESPONSE_ACCEPT)
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
  else if (response == GTK_RESPONSE_APPLY)
    {
      self->close_after_apply = TRUE;
      mg_window_apply (self);
      update_buttons (self);     /* settles at once when nothing could be sent */
    }
}

static gboolean
on_window_delete_event_cb (GtkWidget *widget,
                           GdkEvent  *event,
                           gpointer   user_data)
{
  MgWindow *self = MG_WINDOW (widget);
  GtkWidget *dialog;

  if (self->close_confirmed || !mg_window_has_unsaved_changes (self))
    return GDK_EVENT_PROPAGATE;

  /* unsaved changes are not lost silently */
  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   "%s", _("Apply the changes before closing?"));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s",
                                            _("Some changes have not been applied to the mail gateway yet. If you close now, they are lost."));
  gtk_dialog_add_buttons (GTK_DIALOG (dialog),
                          _("_Close Without Applying"), GTK_RESPONSE_ACCEPT,
                          _("_Cancel"), GTK_RESPONSE_CANCEL,
                          _("_Apply"), GTK_RESPONSE_APPLY,
                          NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_APPLY);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_discard_dialog_response_cb), self, 0);
  gtk_widget_show (dialog);
  return GDK_EVENT_STOP;
}

/* ---- object ------------------------------------------------------------------- */

static void
mg_window_constructed (GObject *object)
{
  G_OBJECT_CLASS (mg_window_parent_class)->constructed (object);
  mg_window_connect (MG_WINDOW (object));
}

static void
mg_window_dispose (GObject *object)
{
  MgWindow *self = MG_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (self->proxy != NULL)
    set_proxy (self, NULL);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->daemon);   /* a started daemon keeps running */
  G_OBJECT_CLASS (mg_window_parent_class)->dispose (object);
}

static void
mg_window_finalize (GObject *object)
{
  MgWindow *self = MG_WINDOW (object);

  g_free (self->socket_path);
  g_ptr_array_unref (self->pages);
  G_OBJECT_CLASS (mg_window_parent_class)->finalize (object);
}

static void
mg_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  MgWindow *self = MG_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SOCKET_PATH:
      self->socket_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  MgWindow *self = MG_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SOCKET_PATH:
      g_value_set_string (value, self->socket_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_window_class_init (MgWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_window_constructed;
  object_class->dispose = mg_window_dispose;
  object_class->finalize = mg_window_finalize;
  object_class->set_property = mg_window_set_property;
  object_class->get_property = mg_window_get_property;

  properties[PROP_SOCKET_PATH] =
    g_param_spec_string ("socket-path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MgWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, notebook);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, trace_dock);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, check_bar);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, check_label);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, no_daemon_detail_label);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, spawn_error_label);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, start_user_button);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, apply_button);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, revert_button);
  gtk_widget_class_bind_template_child (widget_class, MgWindow, status_label);
  gtk_widget_class_bind_template_callback (widget_class, on_apply_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_revert_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_start_user_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_window_delete_event_cb);
}

static void
mg_window_init (MgWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->pages = g_ptr_array_new ();
}

MgWindow *
mg_window_new (GtkApplication *application,
               const char     *socket_path)
{
  return g_object_new (MG_TYPE_WINDOW,
                       "application", application,
                       "socket-path", socket_path,
                       NULL);
}
