/* mg-application.c - Mail Control, the GtkApplication
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Single instance (org.mailgate.MailControl): a second launch presents the
 * first window.  Options: --socket PATH (default: the daemon's default).
 * App actions app.start / app.stop take 's' ('receiver', 'delivery' or
 * 'all') and are enabled only while a daemon is connected (the window hands
 * its proxy over with mg_application_set_proxy()); every button and
 * shortcut bound to them agrees.  The page that shows the status follows
 * the daemon's StatusChanged signal.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "mg-application.h"
#include "mg-window.h"

struct _MgApplication
{
  GtkApplication  parent_instance;

  char           *socket_path;
  MgDBusControl1 *proxy;
};

G_DEFINE_TYPE (MgApplication, mg_application, GTK_TYPE_APPLICATION)

static void
set_actions_enabled (MgApplication *self,
                     gboolean       enabled)
{
  static const char * const names[] = { "start", "stop" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), names[i]);

      if (action != NULL)
        g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
    }
}

void
mg_application_set_proxy (MgApplication  *self,
                          MgDBusControl1 *proxy)
{
  g_return_if_fail (MG_IS_APPLICATION (self));

  g_set_object (&self->proxy, proxy);
  set_actions_enabled (self, proxy != NULL);
}

MgDBusControl1 *
mg_application_get_proxy (MgApplication *self)
{
  g_return_val_if_fail (MG_IS_APPLICATION (self), NULL);
  return self->proxy;
}

const char *
mg_application_get_socket_path (MgApplication *self)
{
  g_return_val_if_fail (MG_IS_APPLICATION (self), NULL);
  return self->socket_path;
}

static void
report_error (MgApplication *self,
              const char    *what,
              const GError  *error)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (MG_IS_WINDOW (window))
    mg_window_show_error (MG_WINDOW (window), what, error);
  else
    g_warning ("%s: %s", what, error->message);
}

static void
on_start_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(MgApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_start_finish (MG_DBUS_CONTROL1 (source), result, &error))
    report_error (self, _("Could not start the service"), error);
}

static void
on_stop_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(MgApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_stop_finish (MG_DBUS_CONTROL1 (source), result, &error))
    report_error (self, _("Could not stop the service"), error);
}

static void
on_start_activated_cb (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  MgApplication *self = user_data;

  if (self->proxy == NULL)
    return;
  mg_dbus_control1_call_start (self->proxy, g_variant_get_string (parameter, NULL), NULL,
                               on_start_done_cb, g_object_ref (self));
}

static void
on_stop_activated_cb (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  MgApplication *self = user_data;

  if (self->proxy == NULL)
    return;
  mg_dbus_control1_call_stop (self->proxy, g_variant_get_string (parameter, NULL), NULL,
                              on_stop_done_cb, g_object_ref (self));
}

static void
on_quit_activated_cb (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  if (window != NULL)
    gtk_window_close (window);          /* asks about unsaved changes */
  else
    g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { .name = "start", .activate = on_start_activated_cb, .parameter_type = "s" },
  { .name = "stop", .activate = on_stop_activated_cb, .parameter_type = "s" },
  { .name = "quit", .activate = on_quit_activated_cb },
};

static void
mg_application_startup (GApplication *application)
{
  static const char * const quit_accels[] = { "<Control>q", NULL };
  MgApplication *self = MG_APPLICATION (application);

  G_APPLICATION_CLASS (mg_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  set_actions_enabled (self, self->proxy != NULL);
}

static void
mg_application_activate (GApplication *application)
{
  MgApplication *self = MG_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (mg_window_new (GTK_APPLICATION (self), self->socket_path));
  gtk_window_present (window);
}

static int
mg_application_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  MgApplication *self = MG_APPLICATION (application);
  const char *socket_path = NULL;

  if (g_variant_dict_lookup (options, "socket", "^&ay", &socket_path))
    {
      g_free (self->socket_path);
      self->socket_path = g_strdup (socket_path);
    }
  return -1;                    /* go on: activate (locally or in the first instance) */
}

static void
mg_application_dispose (GObject *object)
{
  MgApplication *self = MG_APPLICATION (object);

  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (mg_application_parent_class)->dispose (object);
}

static void
mg_application_finalize (GObject *object)
{
  g_free (MG_APPLICATION (object)->socket_path);
  G_OBJECT_CLASS (mg_application_parent_class)->finalize (object);
}

static void
mg_application_class_init (MgApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = mg_application_dispose;
  object_class->finalize = mg_application_finalize;
  app_class->startup = mg_application_startup;
  app_class->activate = mg_application_activate;
  app_class->handle_local_options = mg_application_handle_local_options;
}

static void
mg_application_init (MgApplication *self)
{
  static const GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Control socket of mailgated (default: the daemon's default)"), N_("PATH") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

MgApplication *
mg_application_new (GApplicationFlags flags)
{
  return g_object_new (MG_TYPE_APPLICATION,
                       "application-id", MG_APPLICATION_ID,
                       "flags", flags,
                       NULL);
}
