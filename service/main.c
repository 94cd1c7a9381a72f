/* main.c - mailgated: options, signals, main loop; nothing else
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "mg-control-client.h"
#include "mg-daemon.h"
#include "mg-trace.h"

static GMutex stdout_lock;

/* --debug: the trace goes to stdout, line by line, from any thread. */
static void
print_trace_line (const char *line,
                  gpointer    user_data)
{
  g_mutex_lock (&stdout_lock);
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_mutex_unlock (&stdout_lock);
}

static gboolean
on_quit_signal_cb (gpointer user_data)
{
  g_message ("signal received, shutting down");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal_cb (gpointer user_data)
{
  MgDaemon **daemon = user_data;

  g_message ("SIGHUP: reloading the configuration and the TLS certificate");
  if (*daemon != NULL)
    mg_daemon_reload (*daemon);
  return G_SOURCE_CONTINUE;
}

static char *
default_state_dir (void)
{
  if (geteuid () == 0)
    return g_strdup ("/var/lib/mailgate");
  return g_build_filename (g_get_user_data_dir (), "mailgate", NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *state_dir = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *profile = NULL;
  gboolean debug = FALSE;
  gboolean version = FALSE;
  gboolean no_autostart = FALSE;
  const GOptionEntry entries[] = {
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      N_("Folder for config.db, the queue and mailboxes (default: /var/lib/mailgate as root, "
      "$XDG_DATA_HOME/mailgate otherwise)"), N_("DIR") },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path,
      N_("Control socket (default: /run/mailgate/control as root, $XDG_RUNTIME_DIR/mailgate/control otherwise)"), N_("PATH") },
    { "profile", 0, 0, G_OPTION_ARG_STRING, &profile,
      N_("Defaults for a new configuration: user (ports 2525 and 20025 on loopback) or system (25 and 20025)"), N_("user|system") },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &debug,
      N_("Print the effective configuration, then the live trace of every session"), NULL },
    { "no-autostart", 0, 0, G_OPTION_ARG_NONE, &no_autostart,
      N_("Start neither the receiver nor delivery, whatever the settings say (start them with mailgatectl)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(MgDaemon) daemon = NULL;
  MgDaemonOptions options = { 0 };
  guint trace_id = 0;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("MAILGATE_LOCALEDIR") != NULL ? g_getenv ("MAILGATE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (_("- the mailgate SMTP gateway daemon"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mailgated: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("mailgated %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (state_dir == NULL)
    state_dir = default_state_dir ();
  if (socket_path == NULL)
    socket_path = g_strdup (mg_control_default_socket_path ());
  if (profile == NULL)
    profile = g_strdup (geteuid () == 0 ? "system" : "user");
  if (g_strcmp0 (profile, "user") != 0 && g_strcmp0 (profile, "system") != 0)
    {
      g_printerr (_("mailgated: --profile must be “user” or “system”\n"));
      return 2;
    }

  /* A client that goes away mid-write must not kill the daemon. */
  signal (SIGPIPE, SIG_IGN);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_quit_signal_cb, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal_cb, loop);
  g_unix_signal_add (SIGHUP, on_reload_signal_cb, &daemon);

  options.state_dir = state_dir;
  options.socket_path = socket_path;
  options.profile = profile;
  options.no_autostart = no_autostart;
  daemon = mg_daemon_new (&options, &error);
  if (daemon == NULL)
    {
      g_printerr ("mailgated: %s\n", error->message);
      return 1;
    }

  if (debug)
    {
      g_autofree char *text = mg_daemon_describe (daemon);

      g_mutex_lock (&stdout_lock);
      fputs (text, stdout);
      fflush (stdout);
      g_mutex_unlock (&stdout_lock);
      trace_id = mg_trace_subscribe (print_trace_line, NULL, NULL);
    }

  g_message ("mailgated %s ready (state %s, control %s)", PACKAGE_VERSION, state_dir, socket_path);
  g_main_loop_run (loop);

  g_clear_pointer (&daemon, mg_daemon_free);
  if (trace_id != 0)
    mg_trace_unsubscribe (trace_id);
  return 0;
}
