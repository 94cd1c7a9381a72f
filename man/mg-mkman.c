/* mg-mkman.c - build the manual pages from the programs themselves
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * mg-mkman TEMPLATE OUTPUT [HELP_TEXT]
 *
 * Copies a troff template, replacing
 *   @VERSION@   the package version
 *   @SETTINGS@  every setting of the schema (shared/mg-settings.c): key,
 *               type, default, range and summary
 *   @OPTIONS@   the options of a program's --help output (HELP_TEXT,
 *               captured at build time with LC_ALL=C)
 *   @COMMANDS@  the "Commands:" section of that output (mailgatectl)
 * so the pages cannot drift from --help or from the settings table.
 *
 * Threading: a build tool, single-threaded.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "mg-settings.h"

/* troff-safe text: backslashes, and a leading '.' or '\'' */
static void
append_escaped (GString    *out,
                const char *text)
{
  if (*text == '.' || *text == '\'')
    g_string_append (out, "\\&");
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\e");
      else if (*p == '-')
        g_string_append (out, "\\-");
      else
        g_string_append_c (out, *p);
    }
}

static const char *
type_name (MgSettingType type)
{
  switch (type)
    {
    case MG_SETTING_BOOL:      return "true|false";
    case MG_SETTING_INT:       return "integer";
    case MG_SETTING_HOST:      return "host name";
    case MG_SETTING_HOST_PORT: return "host[:port]";
    case MG_SETTING_STRING:
    default:                   return "text";
    }
}

static void
append_settings (GString *out)
{
  gsize n_settings = 0;
  const MgSettingInfo *settings = mg_settings_list (&n_settings);

  for (gsize i = 0; i < n_settings; i++)
    {
      const MgSettingInfo *s = &settings[i];

      g_string_append (out, ".TP\n.B ");
      append_escaped (out, s->key);
      g_string_append (out, "\n");
      append_escaped (out, s->summary);
      g_string_append (out, ".\n.br\nType: ");
      append_escaped (out, type_name (s->type));
      if (s->type == MG_SETTING_INT)
        g_string_append_printf (out, " (%" G_GINT64_FORMAT "\\(en%" G_GINT64_FORMAT ")",
                                (gint64) s->min, (gint64) s->max);
      g_string_append (out, "; default: ");
      if (*s->default_value == '\0')
        g_string_append (out, "(empty)");
      else
        {
          g_string_append (out, "\\fB");
          append_escaped (out, s->default_value);
          g_string_append (out, "\\fR");
        }
      g_string_append (out, ".\n");
    }
}

/* "  --socket=PATH     Control socket ..." -> term, description.  The
 * columns are separated by two or more spaces (or the description starts
 * at @column when the term fills its column). */
static gboolean
split_help_line (const char  *line,
                 gsize        column,
                 char       **term,
                 char       **description)
{
  const char *start = line;
  const char *gap;

  if (!g_str_has_prefix (line, "  ") || line[2] == ' ')
    return FALSE;
  start += 2;
  gap = strstr (start, "  ");
  if (gap == NULL && strlen (line) > column && line[column - 1] == ' ')
    gap = line + column - 1;
  if (gap == NULL)
    return FALSE;
  *term = g_strstrip (g_strndup (start, gap - start));
  *description = g_strstrip (g_strdup (gap));
  return TRUE;
}

/* The entries of one --help section ("Application Options:", "Commands:"). */
static void
append_section (GString    *out,
                const char *help,
                const char *const *headings,
                gsize       column)
{
  g_auto(GStrv) lines = g_strsplit (help, "\n", -1);
  gboolean inside = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *term = NULL;
      g_autofree char *description = NULL;

      if (lines[i][0] != ' ' && lines[i][0] != '\0')
        {
          inside = g_strv_contains (headings, lines[i]);
          continue;
        }
      if (!inside || !split_help_line (lines[i], column, &term, &description))
        continue;
      g_string_append (out, ".TP\n.B ");
      append_escaped (out, term);
      g_string_append (out, "\n");
      append_escaped (out, description);
      g_string_append (out, "\n");
    }
}

static const char * const option_headings[] = { "Application Options:", "Options:", NULL };
static const char * const command_headings[] = { "Commands:", NULL };

int
main (int    argc,
      char **argv)
{
  g_autofree char *template = NULL;
  g_autofree char *help = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const char *p;

  if (argc < 3 || argc > 4)
    {
      fprintf (stderr, "usage: mg-mkman TEMPLATE OUTPUT [HELP_TEXT]\n");
      return 2;
    }
  if (!g_file_get_contents (argv[1], &template, NULL, &error) ||
      (argc == 4 && !g_file_get_contents (argv[3], &help, NULL, &error)))
    {
      fprintf (stderr, "mg-mkman: %s\n", error->message);
      return 1;
    }

  for (p = template; *p != '\0'; )
    {
      if (g_str_has_prefix (p, "@VERSION@"))
        {
          g_string_append (out, PACKAGE_VERSION);
          p += strlen ("@VERSION@");
        }
      else if (g_str_has_prefix (p, "@SETTINGS@\n"))
        {
          append_settings (out);
          p += strlen ("@SETTINGS@\n");
        }
      else if (help != NULL && g_str_has_prefix (p, "@OPTIONS@\n"))
        {
          append_section (out, help, option_headings, 28);
          p += strlen ("@OPTIONS@\n");
        }
      else if (help != NULL && g_str_has_prefix (p, "@COMMANDS@\n"))
        {
          append_section (out, help, command_headings, 41);
          p += strlen ("@COMMANDS@\n");
        }
      else
        g_string_append_c (out, *p++);
    }

  if (!g_file_set_contents (argv[2], out->str, out->len, &error))
    {
      fprintf (stderr, "mg-mkman: %s\n", error->message);
      return 1;
    }
  return 0;
}
