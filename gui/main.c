/* main.c - mail-control: gettext set-up, then the application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * MAILGATE_LOCALEDIR overrides the catalogue folder, so that an uninstalled
 * build runs translated (MAILGATE_LOCALEDIR=build/po).
 */
#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "mg-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(MgApplication) application = NULL;
  const char *localedir = g_getenv ("MAILGATE_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Mail Control"));
  application = mg_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (application), argc, argv);
}
