/* mailgatectl.c - the command-line client of mailgated's control socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * mailgatectl [--socket PATH] [--json] VERB ...  (verbs: DESIGN.md
 * "Interfaces that outside checks rely on").  One table maps each
 * "noun verb" to a short function that makes one or two calls through the
 * generated proxy and prints the answer, as text or (--json) through
 * json-glib.  Exit status: 0 success, 1 refused or failed (one line per
 * reason on stderr: "mailgatectl: REASON"), 2 usage error.
 * Passwords are read from stdin only, never from argv.
 *
 * Threading: single-threaded; "trace" runs a main loop until SIGINT/SIGTERM.
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "mg-control-client.h"
#include "mg-epost.h"
#include "mg-error.h"
#include "mg-lint.h"
#include "mg-problem.h"

enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

typedef enum
{
  FLAG_SHARED_BOX     = 1 << 0,
  FLAG_PASSWORD_STDIN = 1 << 1,
  FLAG_AT             = 1 << 2,
  FLAG_DRY_RUN        = 1 << 3,
  FLAG_NO_SHARED_BOX  = 1 << 4,
} VerbFlags;

typedef struct
{
  const char     *socket_path;    /* nullable: default */
  gboolean        json;
  VerbFlags       flags;          /* verb options given */
  const char     *at;             /* --at N */
  MgDBusControl1 *proxy;
} Ctl;

typedef int (*VerbFunc) (Ctl *ctl, char **args, guint n_args);

/* ---- output helpers --------------------------------------------------- */

static int
fail (const char *format,
      ...) G_GNUC_PRINTF (1, 2);

static int
fail (const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "mailgatectl: %s\n", message);
  return EXIT_FAILED;
}

static int
fail_error (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  return fail ("%s", copy->message);
}

/* A problem found here, before asking the daemon (same text as the
 * daemon's problems). */
static int
fail_problem (const char *code,
              const char *field,
              const char *arg)
{
  g_autoptr(MgProblem) problem = mg_problem_new (code, field, arg);
  g_autofree char *text = mg_problem_to_string (problem);

  return fail ("%s", text);
}

/* Validation problems from the daemon: one line each. */
static int
report_problems (GVariant *problems_variant)
{
  g_autoptr(GPtrArray) problems = mg_problems_from_variant (problems_variant);

  if (problems == NULL || problems->len == 0)
    return EXIT_OK;
  for (guint i = 0; i < problems->len; i++)
    {
      g_autofree char *text = mg_problem_to_string (g_ptr_array_index (problems, i));

      fprintf (stderr, "mailgatectl: %s\n", text);
    }
  return EXIT_FAILED;
}

/* The result of a call whose only answer is a(sss). */
static int
finish_change (gboolean  ok,
               GVariant *problems,
               GError   *error)
{
  if (!ok)
    return fail_error (error);
  return report_problems (problems);
}

static void
print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

static void
print_json_builder (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  print_json (root);
}

static void
json_add_string (JsonBuilder *builder,
                 const char  *name,
                 const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
json_add_int (JsonBuilder *builder,
              const char  *name,
              gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static void
json_add_bool (JsonBuilder *builder,
               const char  *name,
               gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

static void
json_add_strv (JsonBuilder        *builder,
               const char         *name,
               const char * const *values)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (gsize i = 0; values != NULL && values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

/* ---- argument helpers -------------------------------------------------- */

/* "a, b,c" -> { "a", "b", "c" }; empty items are kept so the daemon can
 * name them. */
static GStrv
split_list (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (gsize i = 0; parts[i] != NULL; i++)
    g_strstrip (parts[i]);
  return g_steal_pointer (&parts);
}

static gboolean
parse_number (const char *text,
              guint64     max,
              guint64    *out)
{
  return g_ascii_string_to_unsigned (text, 10, 1, max, out, NULL);
}

static gboolean
parse_position (const char *text,
                guint      *out)
{
  guint64 value;

  if (!parse_number (text, G_MAXUINT32, &value))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

/* Reads one line from stdin; the newline is stripped. */
static char *
read_password (GError **error)
{
  g_autofree char *line = NULL;
  size_t size = 0;
  ssize_t len;

  len = getline (&line, &size, stdin);
  if (len < 0)
    {
      g_set_error_literal (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                           _("no password on standard input"));
      return NULL;
    }
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    line[--len] = '\0';
  if (len == 0)
    {
      g_set_error_literal (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                           _("the password read from standard input is empty"));
      return NULL;
    }
  return g_steal_pointer (&line);
}

static void
free_password (char *password)
{
  if (password == NULL)
    return;
  memset (password, 0, strlen (password));
  g_free (password);
}

static char *
canonical_domain (const char *domain)
{
  char *lower = g_ascii_strdown (domain, -1);
  gsize len = strlen (lower);

  if (len > 0 && lower[len - 1] == '.')
    lower[len - 1] = '\0';
  return lower;
}

/* ---- status and services ------------------------------------------------ */

static void
print_status_value (const char *key,
                    GVariant   *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    printf ("%s: %s\n", key, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **items = g_variant_get_strv (value, NULL);
      g_autofree char *joined = g_strjoinv (", ", (char **) items);

      printf ("%s: %s\n", key, joined);
    }
  else
    {
      g_autofree char *text = g_variant_print (value, FALSE);

      printf ("%s: %s\n", key, text);
    }
}

static int
cmd_status (Ctl   *ctl,
            char **args,
            guint  n_args)
{
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!mg_dbus_control1_call_get_status_sync (ctl->proxy, &status, NULL, &error))
    return fail_error (error);

  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_gvariant_serialize (status);

      print_json (node);
      return EXIT_OK;
    }

  g_variant_iter_init (&iter, status);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      print_status_value (key, value);
      g_variant_unref (value);
    }
  return EXIT_OK;
}

static gboolean
check_service (const char *service)
{
  return g_strcmp0 (service, "receiver") == 0 ||
         g_strcmp0 (service, "delivery") == 0 ||
         g_strcmp0 (service, "all") == 0;
}

static int
cmd_start (Ctl   *ctl,
           char **args,
           guint  n_args)
{
  g_autoptr(GError) error = NULL;

  if (!check_service (args[0]))
    return fail_problem (MG_PROBLEM_INVALID_VALUE, "service", args[0]);
  if (!mg_dbus_control1_call_start_sync (ctl->proxy, args[0], NULL, &error))
    return fail_error (error);
  return EXIT_OK;
}

static int
cmd_stop (Ctl   *ctl,
          char **args,
          guint  n_args)
{
  g_autoptr(GError) error = NULL;

  if (!check_service (args[0]))
    return fail_problem (MG_PROBLEM_INVALID_VALUE, "service", args[0]);
  if (!mg_dbus_control1_call_stop_sync (ctl->proxy, args[0], NULL, &error))
    return fail_error (error);
  return EXIT_OK;
}

/* ---- config ------------------------------------------------------------- */

static int
cmd_config_list (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *key, *value;

  if (!mg_dbus_control1_call_get_settings_sync (ctl->proxy, &settings, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    {
      if (!ctl->json)
        {
          printf ("%s = %s\n", key, value);
          continue;
        }
      json_builder_begin_object (builder);
      json_add_string (builder, "key", key);
      json_add_string (builder, "value", value);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_config_get (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GError) error = NULL;
  const char *value;

  if (!mg_dbus_control1_call_get_settings_sync (ctl->proxy, &settings, NULL, &error))
    return fail_error (error);
  if (!g_variant_lookup (settings, args[0], "&s", &value))
    return fail_problem (MG_PROBLEM_UNKNOWN_KEY, args[0], args[0]);
  printf ("%s\n", value);
  return EXIT_OK;
}

static int
cmd_config_set (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder changes;
  gboolean ok;

  g_variant_builder_init (&changes, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&changes, "{ss}", args[0], args[1]);
  ok = mg_dbus_control1_call_apply_settings_sync (ctl->proxy,
                                                  g_variant_builder_end (&changes),
                                                  &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- listeners ------------------------------------------------------------ */

static int
cmd_listen_list (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_auto(GStrv) configured = NULL;
  g_auto(GStrv) bound = NULL;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_list_listeners_sync (ctl->proxy, &configured, &bound,
                                                  NULL, &error))
    return fail_error (error);

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_add_strv (builder, "configured", (const char * const *) configured);
      json_add_strv (builder, "bound", (const char * const *) bound);
      json_builder_end_object (builder);
      print_json_builder (builder);
      return EXIT_OK;
    }

  /* Labels stay untranslated: scripts read the bound port from here. */
  for (gsize i = 0; configured[i] != NULL; i++)
    printf ("configured: %s\n", configured[i]);
  for (gsize i = 0; bound[i] != NULL; i++)
    printf ("bound: %s\n", bound[i]);
  return EXIT_OK;
}

static int
cmd_listen_set (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_auto(GStrv) specs = split_list (args[0]);
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_set_listeners_sync (ctl->proxy, (const char * const *) specs,
                                                 &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- domains ------------------------------------------------------------- */

static int
cmd_domain_list (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_autoptr(GVariant) domains = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *name;
  gboolean shared_box;

  if (!mg_dbus_control1_call_list_domains_sync (ctl->proxy, &domains, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&sb)", &name, &shared_box))
    {
      if (!ctl->json)
        {
          if (shared_box)
            printf (_("%s (shared box)\n"), name);
          else
            printf ("%s\n", name);
          continue;
        }
      json_builder_begin_object (builder);
      json_add_string (builder, "name", name);
      json_add_bool (builder, "shared_box", shared_box);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_domain_add (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_add_domain_sync (ctl->proxy, args[0],
                                              (ctl->flags & FLAG_SHARED_BOX) != 0,
                                              &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_domain_remove (Ctl   *ctl,
                   char **args,
                   guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_remove_domain_sync (ctl->proxy, args[0], &problems,
                                                 NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- accounts ----------------------------------------------------------- */

static int
check_local_domain (Ctl        *ctl,
                    const char *domain)
{
  g_autoptr(GVariant) domains = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wanted = canonical_domain (domain);
  GVariantIter iter;
  const char *name;
  gboolean shared_box;

  if (!mg_dbus_control1_call_list_domains_sync (ctl->proxy, &domains, NULL, &error))
    return fail_error (error);
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&sb)", &name, &shared_box))
    if (g_strcmp0 (name, wanted) == 0)
      return EXIT_OK;
  return fail_problem (MG_PROBLEM_UNKNOWN_DOMAIN, "domain", domain);
}

static int
cmd_user_list (Ctl   *ctl,
               char **args,
               guint  n_args)
{
  g_autoptr(GVariant) accounts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char *domain = n_args > 0 ? args[0] : "";
  GVariantIter iter;
  const char *address;
  gboolean has_password;

  if (*domain != '\0' && check_local_domain (ctl, domain) != EXIT_OK)
    return EXIT_FAILED;
  if (!mg_dbus_control1_call_list_accounts_sync (ctl->proxy, domain, &accounts,
                                                 NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, accounts);
  while (g_variant_iter_next (&iter, "(&sb)", &address, &has_password))
    {
      if (!ctl->json)
        {
          if (has_password)
            printf (_("%s (password set)\n"), address);
          else
            printf ("%s\n", address);
          continue;
        }
      json_builder_begin_object (builder);
      json_add_string (builder, "address", address);
      json_add_bool (builder, "has_password", has_password);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_user_add (Ctl   *ctl,
              char **args,
              guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  char *password = NULL;
  gboolean ok;

  if ((ctl->flags & FLAG_PASSWORD_STDIN) != 0)
    {
      password = read_password (&error);
      if (password == NULL)
        return fail_error (error);
    }

  ok = mg_dbus_control1_call_add_account_sync (ctl->proxy, args[0],
                                               password != NULL ? password : "",
                                               &problems, NULL, &error);
  free_password (password);
  return finish_change (ok, problems, error);
}

static int
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static int
cmd_user_password (Ctl   *ctl,
                   char **args,
                   guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  char *password;
  gboolean ok;

  /* passwords come from standard input only, never from argv */
  password = read_password (&error);
  if (password == NULL)
    return fail_error (error);
  ok = mg_dbus_control1_call_set_password_sync (ctl->proxy, args[0], password,
                                                &problems, NULL, &error);
  free_password (password);
  return finish_change (ok, problems, error);
}

static int
cmd_domain_set (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean shared = (ctl->flags & FLAG_SHARED_BOX) != 0;
  gboolean ok;

  if (shared == ((ctl->flags & FLAG_NO_SHARED_BOX) != 0))
    return usage_error (_("domain set needs --shared-box or --no-shared-box"));
  ok = mg_dbus_control1_call_set_domain_shared_box_sync (ctl->proxy, args[0], shared,
                                                         &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_user_remove (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_remove_account_sync (ctl->proxy, args[0], &problems,
                                                  NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_user_import (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tsv = NULL;
  guint added = 0;
  int status;

  if (!g_file_get_contents (args[0], &tsv, NULL, &error))
    return fail_error (error);
  if (!g_utf8_validate (tsv, -1, NULL))
    return fail (_("%s is not UTF-8 text"), args[0]);

  if (!mg_dbus_control1_call_import_accounts_sync (ctl->proxy, tsv, &added, &problems,
                                                   NULL, &error))
    return fail_error (error);
  status = report_problems (problems);
  if (status != EXIT_OK)
    return status;

  printf (ngettext ("%u account imported\n", "%u accounts imported\n", added), added);
  return EXIT_OK;
}

/* ---- aliases ---------------------------------------------------------------- */

static int
cmd_alias_list (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) aliases = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *alias;
  GVariant *targets_variant;

  if (!mg_dbus_control1_call_list_aliases_sync (ctl->proxy, &aliases, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, aliases);
  while (g_variant_iter_next (&iter, "(&s@as)", &alias, &targets_variant))
    {
      g_autoptr(GVariant) owned = targets_variant;
      g_autofree const char **targets = g_variant_get_strv (owned, NULL);

      if (!ctl->json)
        {
          g_autofree char *joined = g_strjoinv (", ", (char **) targets);

          printf ("%s -> %s\n", alias, joined);
          continue;
        }
      json_builder_begin_object (builder);
      json_add_string (builder, "alias", alias);
      json_add_strv (builder, "targets", targets);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_alias_add (Ctl   *ctl,
               char **args,
               guint  n_args)
{
  g_auto(GStrv) targets = split_list (args[1]);
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_add_alias_sync (ctl->proxy, args[0],
                                             (const char * const *) targets,
                                             &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_alias_remove (Ctl   *ctl,
                  char **args,
                  guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_remove_alias_sync (ctl->proxy, args[0], &problems,
                                                NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- routes --------------------------------------------------------------- */

static int
cmd_route_list (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) routes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *domain, *host;
  guint16 port;

  if (!mg_dbus_control1_call_list_routes_sync (ctl->proxy, &routes, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, routes);
  while (g_variant_iter_next (&iter, "(&s&sq)", &domain, &host, &port))
    {
      if (!ctl->json)
        {
          if (strchr (host, ':') != NULL)
            printf ("%s -> [%s]:%u\n", domain, host, port);
          else
            printf ("%s -> %s:%u\n", domain, host, port);
          continue;
        }
      json_builder_begin_object (builder);
      json_add_string (builder, "domain", domain);
      json_add_string (builder, "host", host);
      json_add_int (builder, "port", port);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_route_add (Ctl   *ctl,
               char **args,
               guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint64 port = 25;
  gboolean ok;

  if (n_args > 2 && !parse_number (args[2], G_MAXUINT16, &port))
    return fail_problem (MG_PROBLEM_INVALID_PORT, "route.port", args[2]);

  ok = mg_dbus_control1_call_add_route_sync (ctl->proxy, args[0], args[1],
                                             (guint16) port, &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

/* one route with its STARTTLS requirement and login user. */
static int
cmd_route_show (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) routes = NULL;
  g_autoptr(GVariant) security = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wanted = g_ascii_strdown (args[0], -1);
  const char *domain, *host = NULL, *user = "";
  gboolean required = FALSE;
  guint16 port = 0;
  GVariantIter iter;

  if (!mg_dbus_control1_call_list_routes_sync (ctl->proxy, &routes, NULL, &error) ||
      !mg_dbus_control1_call_list_route_security_sync (ctl->proxy, &security, NULL, &error))
    return fail_error (error);

  g_variant_iter_init (&iter, routes);
  while (host == NULL && g_variant_iter_next (&iter, "(&s&sq)", &domain, &host, &port))
    if (!g_str_equal (domain, wanted))
      host = NULL;
  if (host == NULL)
    return fail_problem (MG_PROBLEM_NOT_FOUND, "route.domain", args[0]);
  g_variant_iter_init (&iter, security);
  while (g_variant_iter_next (&iter, "(&sb&s)", &domain, &required, &user))
    if (g_str_equal (domain, wanted))
      break;

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_add_string (builder, "domain", wanted);
      json_add_string (builder, "host", host);
      json_add_int (builder, "port", port);
      json_add_string (builder, "tls", required ? "require" : "may");
      json_add_string (builder, "auth_user", user);
      json_builder_end_object (builder);
      print_json_builder (builder);
      return EXIT_OK;
    }
  printf (_("Domain: %s\n"), wanted);
  printf (strchr (host, ':') != NULL ? _("Next hop: [%s]:%u\n") : _("Next hop: %s:%u\n"),
          host, port);
  printf (_("STARTTLS: %s\n"), required ? _("required") : _("when offered"));
  printf (_("Login: %s\n"), *user != '\0' ? user : _("none"));
  return EXIT_OK;
}

static int
cmd_route_tls (Ctl   *ctl,
               char **args,
               guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (!g_str_equal (args[1], "require") && !g_str_equal (args[1], "may"))
    return fail_problem (MG_PROBLEM_INVALID_VALUE, "route.tls", args[1]);
  ok = mg_dbus_control1_call_set_route_tls_sync (ctl->proxy, args[0],
                                                 g_str_equal (args[1], "require"),
                                                 &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

/* "route auth DOMAIN USER": the password is one line on standard input;
 * "route auth DOMAIN": no AUTH any more. */
static int
cmd_route_auth (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  char *password = NULL;
  gboolean ok;

  if (n_args > 1)
    {
      password = read_password (&error);
      if (password == NULL)
        return fail_error (error);
    }
  ok = mg_dbus_control1_call_set_route_auth_sync (ctl->proxy, args[0],
                                                  n_args > 1 ? args[1] : "",
                                                  password != NULL ? password : "",
                                                  &problems, NULL, &error);
  free_password (password);
  return finish_change (ok, problems, error);
}

static int
cmd_route_remove (Ctl   *ctl,
                  char **args,
                  guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_dbus_control1_call_remove_route_sync (ctl->proxy, args[0], &problems,
                                                NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- relay rules ----------------------------------------------------------- */

static int
cmd_relay_list (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) rules = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *pattern;
  gboolean allow;
  guint position = 0;

  if (!mg_dbus_control1_call_list_relay_rules_sync (ctl->proxy, &rules, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&sb)", &pattern, &allow))
    {
      position++;
      if (!ctl->json)
        {
          printf ("%u\t%s\t%s\n", position, pattern, allow ? "allow" : "deny");
          continue;
        }
      json_builder_begin_object (builder);
      json_add_int (builder, "position", position);
      json_add_string (builder, "pattern", pattern);
      json_add_string (builder, "action", allow ? "allow" : "deny");
      json_add_bool (builder, "allow", allow);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

/* "allow" or "deny" (never translated: it is what one types) */
static gboolean
parse_relay_action (const char *text,
                    gboolean   *allow)
{
  if (g_strcmp0 (text, "allow") == 0)
    *allow = TRUE;
  else if (g_strcmp0 (text, "deny") == 0)
    *allow = FALSE;
  else
    return FALSE;
  return TRUE;
}

static int
cmd_relay_add (Ctl   *ctl,
               char **args,
               guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint position = 0;   /* 0: append */
  gboolean allow, ok;

  if (!parse_relay_action (args[1], &allow))
    return fail_problem (MG_PROBLEM_INVALID_VALUE, "relay.action", args[1]);
  if ((ctl->flags & FLAG_AT) != 0 && !parse_position (ctl->at, &position))
    return fail_problem (MG_PROBLEM_BAD_POSITION, "relay.position", ctl->at);

  ok = mg_dbus_control1_call_add_relay_rule_sync (ctl->proxy, args[0], allow, position,
                                                  &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

/* The rule keeps its position; its pattern and action are replaced. */
static int
cmd_relay_edit (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint position;
  gboolean allow, ok;

  if (!parse_position (args[0], &position))
    return fail_problem (MG_PROBLEM_BAD_POSITION, "relay.position", args[0]);
  if (!parse_relay_action (args[2], &allow))
    return fail_problem (MG_PROBLEM_INVALID_VALUE, "relay.action", args[2]);
  ok = mg_dbus_control1_call_replace_relay_rule_sync (ctl->proxy, position, args[1], allow,
                                                      &problems, NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_relay_remove (Ctl   *ctl,
                  char **args,
                  guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint position;
  gboolean ok;

  if (!parse_position (args[0], &position))
    return fail_problem (MG_PROBLEM_BAD_POSITION, "relay.position", args[0]);
  ok = mg_dbus_control1_call_remove_relay_rule_sync (ctl->proxy, position, &problems,
                                                     NULL, &error);
  return finish_change (ok, problems, error);
}

static int
cmd_relay_move (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint from, to;
  gboolean ok;

  if (!parse_position (args[0], &from))
    return fail_problem (MG_PROBLEM_BAD_POSITION, "relay.position", args[0]);
  if (!parse_position (args[1], &to))
    return fail_problem (MG_PROBLEM_BAD_POSITION, "relay.position", args[1]);
  ok = mg_dbus_control1_call_move_relay_rule_sync (ctl->proxy, from, to, &problems,
                                                   NULL, &error);
  return finish_change (ok, problems, error);
}

/* ---- queue ------------------------------------------------------------------ */

static void
print_queue_message_text (GVariant *message)
{
  g_autoptr(GVariant) rcpts = NULL;
  g_autoptr(GString) line = g_string_new (NULL);
  const char *id = "", *sender = "", *address, *state, *reply;
  guint64 size = 0;
  guint attempts = 0;
  GVariantIter iter;

  g_variant_lookup (message, "id", "&s", &id);
  g_variant_lookup (message, "sender", "&s", &sender);
  g_variant_lookup (message, "size", "t", &size);
  g_variant_lookup (message, "attempts", "u", &attempts);
  rcpts = g_variant_lookup_value (message, "recipients", G_VARIANT_TYPE ("a(sss)"));

  g_string_printf (line, "%s\t%" G_GUINT64_FORMAT "\t%u\t<%s>", id, size, attempts, sender);
  if (rcpts != NULL)
    {
      g_variant_iter_init (&iter, rcpts);
      while (g_variant_iter_next (&iter, "(&s&s&s)", &address, &state, &reply))
        g_string_append_printf (line, "\t%s (%s)", address, state);
    }
  printf ("%s\n", line->str);
}

static void
add_queue_message_json (JsonBuilder *builder,
                        GVariant    *message)
{
  g_autoptr(GVariant) rcpts = NULL;
  const char *id = "", *sender = "", *address, *state, *reply;
  guint64 size = 0;
  gint64 received = 0, next_attempt = 0;
  guint attempts = 0;
  gboolean held = FALSE;
  GVariantIter iter;

  g_variant_lookup (message, "id", "&s", &id);
  g_variant_lookup (message, "sender", "&s", &sender);
  g_variant_lookup (message, "size", "t", &size);
  g_variant_lookup (message, "received", "x", &received);
  g_variant_lookup (message, "attempts", "u", &attempts);
  g_variant_lookup (message, "next-attempt", "x", &next_attempt);
  g_variant_lookup (message, "held", "b", &held);
  rcpts = g_variant_lookup_value (message, "recipients", G_VARIANT_TYPE ("a(sss)"));

  json_builder_begin_object (builder);
  json_add_string (builder, "id", id);
  json_add_string (builder, "sender", sender);
  json_add_int (builder, "size", (gint64) size);
  json_add_int (builder, "received", received);
  json_add_int (builder, "attempts", attempts);
  json_add_int (builder, "next_attempt", next_attempt);
  json_add_bool (builder, "held", held);
  json_builder_set_member_name (builder, "recipients");
  json_builder_begin_array (builder);
  if (rcpts != NULL)
    {
      g_variant_iter_init (&iter, rcpts);
      while (g_variant_iter_next (&iter, "(&s&s&s)", &address, &state, &reply))
        {
          json_builder_begin_object (builder);
          json_add_string (builder, "address", address);
          json_add_string (builder, "state", state);
          json_add_string (builder, "last_reply", reply);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static int
cmd_queue_list (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  if (!mg_dbus_control1_call_list_queue_sync (ctl->proxy, &messages, NULL, &error))
    return fail_error (error);

  json_builder_begin_array (builder);
  for (gsize i = 0; i < g_variant_n_children (messages); i++)
    {
      g_autoptr(GVariant) message = g_variant_get_child_value (messages, i);

      if (ctl->json)
        add_queue_message_json (builder, message);
      else
        print_queue_message_text (message);
    }
  json_builder_end_array (builder);

  if (ctl->json)
    print_json_builder (builder);
  return EXIT_OK;
}

static int
cmd_queue_flush (Ctl   *ctl,
                 char **args,
                 guint  n_args)
{
  g_autoptr(GError) error = NULL;
  const char *id = n_args > 0 ? args[0] : "";

  if (mg_dbus_control1_call_flush_queue_sync (ctl->proxy, id, NULL, &error))
    return EXIT_OK;
  if (g_error_matches (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND))
    return fail (_("no message %s in the queue"), id);
  return fail_error (error);
}

static int
fail_queue_error (const GError *error,
                  const char   *id)
{
  if (g_error_matches (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND))
    return fail (_("no message %s in the queue"), id);
  return fail_error (error);
}

/* "2026-11-27 21:50:00" in local time */
static char *
format_unix_time (gint64 seconds)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (seconds);
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

static void
print_queue_message_details (GVariant   *message,
                             const char *headers)
{
  g_autofree char *size_text = NULL;
  g_autofree char *received_text = NULL;
  g_autofree char *next_text = NULL;
  g_autoptr(GVariant) rcpts = NULL;
  const char *sender = "", *address, *state, *reply;
  guint64 size = 0;
  gint64 received = 0, next_attempt = 0;
  guint attempts = 0;
  gboolean held = FALSE;
  GVariantIter iter;

  g_variant_lookup (message, "sender", "&s", &sender);
  g_variant_lookup (message, "size", "t", &size);
  g_variant_lookup (message, "received", "x", &received);
  g_variant_lookup (message, "attempts", "u", &attempts);
  g_variant_lookup (message, "next-attempt", "x", &next_attempt);
  g_variant_lookup (message, "held", "b", &held);
  rcpts = g_variant_lookup_value (message, "recipients", G_VARIANT_TYPE ("a(sss)"));

  size_text = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  received_text = format_unix_time (received);
  next_text = next_attempt > 0 ? format_unix_time (next_attempt) : g_strdup ("-");
  printf (_("Sender: <%s>\n"), sender);
  printf (_("Size: %s bytes\n"), size_text);
  printf (_("Received: %s\n"), received_text);
  printf (_("Attempts: %u\n"), attempts);
  printf (_("Next attempt: %s\n"), next_text);
  printf (_("Held: %s\n"), held ? _("yes") : _("no"));
  if (rcpts != NULL)
    {
      g_variant_iter_init (&iter, rcpts);
      while (g_variant_iter_next (&iter, "(&s&s&s)", &address, &state, &reply))
        printf (_("Recipient: %s (%s) %s\n"), address, state, reply);
    }
  printf ("\n%s", headers);
}

static int
cmd_queue_show (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_autoptr(GVariant) message = NULL;
  g_autofree char *headers = NULL;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_show_queue_message_sync (ctl->proxy, args[0], &message,
                                                      &headers, NULL, &error))
    return fail_queue_error (error, args[0]);

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      JsonObject *object;

      add_queue_message_json (builder, message);
      node = json_builder_get_root (builder);
      object = json_node_get_object (node);
      json_object_set_string_member (object, "headers", headers);
      print_json (node);
      return EXIT_OK;
    }
  print_queue_message_details (message, headers);
  return EXIT_OK;
}

static int
queue_hold (Ctl        *ctl,
            const char *id,
            gboolean    held)
{
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_hold_queue_message_sync (ctl->proxy, id, held, NULL, &error))
    return fail_queue_error (error, id);
  return EXIT_OK;
}

static int
cmd_queue_hold (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  return queue_hold (ctl, args[0], TRUE);
}

static int
cmd_queue_release (Ctl   *ctl,
                   char **args,
                   guint  n_args)
{
  return queue_hold (ctl, args[0], FALSE);
}

static int
cmd_queue_delete (Ctl   *ctl,
                  char **args,
                  guint  n_args)
{
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_delete_queue_message_sync (ctl->proxy, args[0], NULL, &error))
    return fail_queue_error (error, args[0]);
  return EXIT_OK;
}

/* ---- trace ------------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  int        status;
} TraceRun;

static void
on_proxy_trace_lines_cb (MgDBusControl1     *proxy,
                         const char * const *lines,
                         gpointer            user_data)
{
  TraceRun *run = user_data;

  for (guint i = 0; lines[i] != NULL; i++)
    if (fputs (lines[i], stdout) == EOF || fputc ('\n', stdout) == EOF)
      break;
  if (ferror (stdout) || fflush (stdout) != 0)
    {
      run->status = EXIT_FAILED;   /* stdout went away */
      g_main_loop_quit (run->loop);
    }
}

static gboolean
on_quit_signal_cb (gpointer user_data)
{
  TraceRun *run = user_data;

  run->status = EXIT_OK;
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_connection_closed_cb (GDBusConnection *connection,
                         gboolean         remote_peer_vanished,
                         GError          *error,
                         gpointer         user_data)
{
  TraceRun *run = user_data;

  fail ("%s", _("the daemon closed the connection"));
  run->status = EXIT_FAILED;
  g_main_loop_quit (run->loop);
}

static int
cmd_trace (Ctl   *ctl,
           char **args,
           guint  n_args)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection = g_dbus_proxy_get_connection (G_DBUS_PROXY (ctl->proxy));
  TraceRun run = { loop, EXIT_OK };
  guint sigint_id, sigterm_id;
  gulong line_id, closed_id;

  line_id = g_signal_connect (ctl->proxy, "trace-lines",
                              G_CALLBACK (on_proxy_trace_lines_cb), &run);
  closed_id = g_signal_connect (connection, "closed",
                                G_CALLBACK (on_connection_closed_cb), &run);
  if (!mg_dbus_control1_call_subscribe_trace_sync (ctl->proxy, NULL, &error))
    {
      g_signal_handler_disconnect (ctl->proxy, line_id);
      g_signal_handler_disconnect (connection, closed_id);
      return fail_error (error);
    }

  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal_cb, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal_cb, &run);
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_signal_handler_disconnect (ctl->proxy, line_id);
  g_signal_handler_disconnect (connection, closed_id);
  return run.status;
}

/* ---- check and import-epost (engineer "ops") ------------------------------ */

static void
add_finding_json (JsonBuilder         *builder,
                  const MgLintFinding *finding)
{
  g_autofree char *message = mg_lint_finding_message (finding);
  g_autofree char *fix = mg_lint_finding_fix (finding);

  json_builder_begin_object (builder);
  json_add_string (builder, "severity", mg_lint_severity_to_string (finding->severity));
  json_add_string (builder, "code", finding->code);
  json_add_string (builder, "setting", finding->setting);
  json_add_string (builder, "argument", finding->arg);
  json_add_string (builder, "message", message);
  json_add_string (builder, "fix", fix);
  json_builder_end_object (builder);
}

/* Exit status 1 when a finding is an error, 0 for warnings only. */
static int
cmd_check (Ctl   *ctl,
           char **args,
           guint  n_args)
{
  g_autoptr(GVariant) variant = NULL;
  g_autoptr(GPtrArray) findings = NULL;
  g_autoptr(GError) error = NULL;
  guint n_errors = 0;

  if (!mg_dbus_control1_call_check_sync (ctl->proxy, &variant, NULL, &error))
    return fail_error (error);
  findings = mg_lint_findings_from_variant (variant);

  for (guint i = 0; i < findings->len; i++)
    if (((MgLintFinding *) g_ptr_array_index (findings, i))->severity == MG_LINT_ERROR)
      n_errors++;

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_array (builder);
      for (guint i = 0; i < findings->len; i++)
        add_finding_json (builder, g_ptr_array_index (findings, i));
      json_builder_end_array (builder);
      print_json_builder (builder);
      return n_errors > 0 ? EXIT_FAILED : EXIT_OK;
    }

  for (guint i = 0; i < findings->len; i++)
    {
      const MgLintFinding *finding = g_ptr_array_index (findings, i);
      g_autofree char *message = mg_lint_finding_message (finding);
      g_autofree char *fix = mg_lint_finding_fix (finding);

      printf ("%s: [%s] %s\n", finding->severity == MG_LINT_ERROR ? _("error") : _("warning"),
              finding->setting, message);
      printf ("  %s %s\n", _("fix:"), fix);
    }
  if (findings->len == 0)
    printf ("%s\n", _("No problems found."));
  return n_errors > 0 ? EXIT_FAILED : EXIT_OK;
}

static void
print_skipped (const MgEpostSkipped *skipped)
{
  if (skipped->line == 0)
    fprintf (stderr, "mailgatectl: %s: %s\n", skipped->file, skipped->reason);
  else
    fprintf (stderr, "mailgatectl: %s:%u: %s\n    %s\n", skipped->file, skipped->line,
             skipped->reason, skipped->text);
}

static GVariant *
epost_routes_variant (MgEpostImport *import)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sssq)"));
  for (guint i = 0; i < import->routes->len; i++)
    {
      const MgEpostRoute *route = g_ptr_array_index (import->routes, i);

      g_variant_builder_add (&builder, "(sssq)", route->where, route->domain,
                             route->host, route->port);
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
epost_relay_rules_variant (MgEpostImport *import)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssb)"));
  for (guint i = 0; i < import->relay_rules->len; i++)
    {
      const MgEpostRelayRule *rule = g_ptr_array_index (import->relay_rules, i);

      g_variant_builder_add (&builder, "(ssb)", rule->where, rule->pattern, rule->allow);
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
epost_aliases_variant (MgEpostImport *import)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssas)"));
  for (guint i = 0; i < import->aliases->len; i++)
    {
      const MgEpostAlias *alias = g_ptr_array_index (import->aliases, i);

      g_variant_builder_add (&builder, "(ss^as)", alias->where, alias->alias, alias->targets);
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
epost_accounts_variant (MgEpostImport *import)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < import->accounts->len; i++)
    {
      const MgEpostAccount *account = g_ptr_array_index (import->accounts, i);

      g_variant_builder_add (&builder, "(sss)", account->where, account->address,
                             account->password != NULL ? account->password : "");
    }
  return g_variant_builder_end (&builder);
}

static void
print_import_changes (GVariant *changes,
                      gboolean  dry_run)
{
  const char *action, *what;
  GVariantIter iter;
  guint n_changed = 0;

  printf ("%s\n", dry_run ? _("Would change:") : _("Changed:"));
  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "(&s&s)", &action, &what))
    {
      gboolean keep = g_str_equal (action, "keep");

      /* "+" added, "~" replaced, "=" already so */
      printf ("  %s %s\n", keep ? "=" : g_str_equal (action, "replace") ? "~" : "+", what);
      if (!keep)
        n_changed++;
    }
  printf (ngettext ("%u change\n", "%u changes\n", n_changed), n_changed);
}

/* All or nothing: a line that cannot be used stops the import (fix it or
 * comment it out with ';'); --dry-run shows the plan either way. */
static int
cmd_import_epost (Ctl   *ctl,
                  char **args,
                  guint  n_args)
{
  g_autoptr(MgEpostImport) import = NULL;
  g_autoptr(GVariant) changes = NULL;
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  gboolean dry_run = (ctl->flags & FLAG_DRY_RUN) != 0;
  gboolean skipped;
  int status;

  import = mg_epost_read_dir (args[0], &error);
  if (import == NULL)
    return fail_error (error);
  for (guint i = 0; i < import->skipped->len; i++)
    print_skipped (g_ptr_array_index (import->skipped, i));
  skipped = import->skipped->len > 0;

  if (!mg_dbus_control1_call_import_epost_sync (ctl->proxy,
                                                epost_routes_variant (import),
                                                epost_relay_rules_variant (import),
                                                epost_aliases_variant (import),
                                                epost_accounts_variant (import),
                                                dry_run || skipped,
                                                &changes, &problems, NULL, &error))
    return fail_error (error);
  status = report_problems (problems);
  if (status != EXIT_OK)
    return fail ("%s", _("nothing was imported"));

  print_import_changes (changes, dry_run || skipped);
  if (skipped && !dry_run)
    return fail (ngettext ("nothing was imported: %u line above cannot be used (fix it, or comment it out with ';')",
                           "nothing was imported: %u lines above cannot be used (fix them, or comment them out with ';')",
                           import->skipped->len),
                 import->skipped->len);
  return skipped ? EXIT_FAILED : EXIT_OK;
}

#define LOG_TAIL_LINES 50

static int
print_log_lines (Ctl                *ctl,
                 const char * const *lines)
{
  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_add_strv (builder, "lines", lines);
      json_builder_end_object (builder);
      print_json_builder (builder);
      return EXIT_OK;
    }
  for (gsize i = 0; lines[i] != NULL; i++)
    printf ("%s\n", lines[i]);
  return EXIT_OK;
}

static int
cmd_log_tail (Ctl   *ctl,
              char **args,
              guint  n_args)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_read_log_sync (ctl->proxy, n_args > 0 ? args[0] : "", "",
                                            LOG_TAIL_LINES, &lines, NULL, &error))
    return fail_error (error);
  return print_log_lines (ctl, (const char * const *) lines);
}

/* Exit status 1 when nothing is logged about the message. */
static int
cmd_log_search (Ctl   *ctl,
                char **args,
                guint  n_args)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_read_log_sync (ctl->proxy, "", args[0], 0, &lines, NULL, &error))
    return fail_error (error);
  if (lines[0] == NULL && !ctl->json)
    return fail (_("nothing is logged about %s"), args[0]);
  return print_log_lines (ctl, (const char * const *) lines);
}

/* Exit status 0 only when every relay attempt was refused and the
 * loopback client was a stranger (no relay rule allows it). */
static int
cmd_selftest (Ctl   *ctl,
              char **args,
              guint  n_args)
{
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;
  g_autofree char *client = NULL;
  const char *name, *command, *reply, *verdict;
  guint trusted_by_rule = 0, n_relayed = 0, n_failed = 0, n_tests = 0;
  GVariantIter iter;

  if (!mg_dbus_control1_call_self_test_sync (ctl->proxy, &target, &client, &trusted_by_rule,
                                             &results, NULL, &error))
    return fail_error (error);

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_add_string (builder, "target", target);
      json_add_string (builder, "client", client);
      json_add_int (builder, "trusted_by_rule", trusted_by_rule);
      json_builder_set_member_name (builder, "results");
      json_builder_begin_array (builder);
      g_variant_iter_init (&iter, results);
      while (g_variant_iter_next (&iter, "(&s&s&s&s)", &name, &command, &reply, &verdict))
        {
          json_builder_begin_object (builder);
          json_add_string (builder, "name", name);
          json_add_string (builder, "command", command);
          json_add_string (builder, "reply", reply);
          json_add_string (builder, "verdict", verdict);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      print_json_builder (builder);
    }
  else
    printf (_("Relay self-test against %s from %s:\n"), target, client);

  g_variant_iter_init (&iter, results);
  while (g_variant_iter_next (&iter, "(&s&s&s&s)", &name, &command, &reply, &verdict))
    {
      n_tests++;
      if (g_str_equal (verdict, "RELAYED"))
        n_relayed++;
      else if (g_str_equal (verdict, "failed"))
        n_failed++;
      if (!ctl->json)
        printf ("  %-8s %-30s %s\n           -> %s\n", verdict, name, command, reply);
    }

  if (trusted_by_rule != 0)
    return fail (_("%s may relay by relay rule %u, so the self-test cannot act as an untrusted "
                   "client: its results prove nothing (move or narrow that rule to test)"),
                 client, trusted_by_rule);
  if (n_relayed > 0)
    return fail (ngettext ("OPEN RELAY: %u of %u relay attempts was accepted",
                           "OPEN RELAY: %u of %u relay attempts were accepted", n_relayed),
                 n_relayed, n_tests);
  if (n_failed > 0)
    return fail (ngettext ("%u dialogue could not be run", "%u dialogues could not be run",
                           n_failed), n_failed);
  if (!ctl->json)
    printf (_("All %u relay attempts were refused: the gateway does not relay for strangers.\n"),
            n_tests);
  return EXIT_OK;
}

/* The document is JSON already: --json changes nothing. */
static int
cmd_export (Ctl   *ctl,
            char **args,
            guint  n_args)
{
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;

  if (!mg_dbus_control1_call_export_config_sync (ctl->proxy, &json, NULL, &error))
    return fail_error (error);
  printf ("%s\n", json);
  return EXIT_OK;
}

static int
cmd_import (Ctl   *ctl,
            char **args,
            guint  n_args)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  int status;

  if (!g_file_get_contents (args[0], &json, NULL, &error))
    return fail_error (error);
  if (!g_utf8_validate (json, -1, NULL))
    return fail (_("%s is not UTF-8 text"), args[0]);

  if (!mg_dbus_control1_call_import_config_sync (ctl->proxy, json, &problems, NULL, &error))
    return fail_error (error);
  status = report_problems (problems);
  if (status != EXIT_OK)
    return status;
  printf (_("Configuration imported from %s\n"), args[0]);
  return EXIT_OK;
}

/* ---- the verb table ----------------------------------------------------- */

typedef struct
{
  const char *noun;
  const char *verb;        /* NULL: the noun alone is the command */
  guint       min_args;
  guint       max_args;
  VerbFlags   flags;       /* options this verb accepts */
  VerbFunc    func;
  const char *synopsis;    /* never translated: it is what one types */
  const char *summary;     /* N_() */
} Command;

static const Command commands[] = {
  { "status", NULL, 0, 0, 0, cmd_status, "status",
    N_("Show services, listening addresses and counters") },
  { "start", NULL, 1, 1, 0, cmd_start, "start receiver|delivery|all",
    N_("Start the receiver, the delivery or both") },
  { "stop", NULL, 1, 1, 0, cmd_stop, "stop receiver|delivery|all",
    N_("Stop the receiver, the delivery or both") },
  { "config", "list", 0, 0, 0, cmd_config_list, "config list",
    N_("List every setting with its value") },
  { "config", "get", 1, 1, 0, cmd_config_get, "config get KEY",
    N_("Print the value of one setting") },
  { "config", "set", 2, 2, 0, cmd_config_set, "config set KEY VALUE",
    N_("Change one setting (applied at once)") },
  { "listen", "list", 0, 0, 0, cmd_listen_list, "listen list",
    N_("List the configured and the bound listening addresses") },
  { "listen", "set", 1, 1, 0, cmd_listen_set, "listen set ADDR:PORT[,ADDR:PORT...]",
    N_("Replace the listening addresses") },
  { "domain", "list", 0, 0, 0, cmd_domain_list, "domain list",
    N_("List the local domains") },
  { "domain", "set", 1, 1, FLAG_SHARED_BOX | FLAG_NO_SHARED_BOX, cmd_domain_set,
    "domain set NAME --shared-box|--no-shared-box",
    N_("Switch a domain to or from a shared box (user names not distinguished per domain)") },
  { "domain", "add", 1, 1, FLAG_SHARED_BOX, cmd_domain_add, "domain add NAME [--shared-box]",
    N_("Add a local domain") },
  { "domain", "remove", 1, 1, 0, cmd_domain_remove, "domain remove NAME",
    N_("Remove a local domain and its accounts") },
  { "user", "list", 0, 1, 0, cmd_user_list, "user list [DOMAIN]",
    N_("List the accounts") },
  { "user", "add", 1, 1, FLAG_PASSWORD_STDIN, cmd_user_add,
    "user add ADDRESS [--password-stdin]",
    N_("Add an account (password: one line on standard input)") },
  { "user", "remove", 1, 1, 0, cmd_user_remove, "user remove ADDRESS",
    N_("Remove an account") },
  { "user", "password", 1, 1, 0, cmd_user_password, "user password ADDRESS",
    N_("Set the password of an account (one line on standard input)") },
  { "user", "import", 1, 1, 0, cmd_user_import, "user import FILE.tsv",
    N_("Import accounts from a file (all or nothing)") },
  { "alias", "list", 0, 0, 0, cmd_alias_list, "alias list",
    N_("List the aliases") },
  { "alias", "add", 2, 2, 0, cmd_alias_add, "alias add ALIAS REAL[,REAL...]",
    N_("Add or replace an alias") },
  { "alias", "remove", 1, 1, 0, cmd_alias_remove, "alias remove ALIAS",
    N_("Remove an alias") },
  { "route", "list", 0, 0, 0, cmd_route_list, "route list",
    N_("List the routing table") },
  { "route", "add", 2, 3, 0, cmd_route_add, "route add DOMAIN HOST [PORT]",
    N_("Route a domain to a host (port 25 by default)") },
  { "route", "remove", 1, 1, 0, cmd_route_remove, "route remove DOMAIN",
    N_("Remove the route of a domain") },
  { "route", "show", 1, 1, 0, cmd_route_show, "route show DOMAIN",
    N_("Show one route with its STARTTLS requirement and login user") },
  { "route", "tls", 2, 2, 0, cmd_route_tls, "route tls DOMAIN may|require",
    N_("Use STARTTLS to the next hop when offered, or require it") },
  { "route", "auth", 1, 2, 0, cmd_route_auth, "route auth DOMAIN [USER]",
    N_("Log in to the next hop as USER (password: one line on standard input); without USER: no login") },
  { "relay", "list", 0, 0, 0, cmd_relay_list, "relay list",
    N_("List the relay rules in order") },
  { "relay", "add", 2, 2, FLAG_AT, cmd_relay_add, "relay add PATTERN allow|deny [--at N]",
    N_("Add a relay rule (at the end, or at position N)") },
  { "relay", "edit", 3, 3, 0, cmd_relay_edit, "relay edit N PATTERN allow|deny",
    N_("Change the pattern and action of the relay rule at position N") },
  { "relay", "remove", 1, 1, 0, cmd_relay_remove, "relay remove N",
    N_("Remove the relay rule at position N") },
  { "relay", "move", 2, 2, 0, cmd_relay_move, "relay move N M",
    N_("Move the relay rule at position N to position M") },
  { "queue", "list", 0, 0, 0, cmd_queue_list, "queue list",
    N_("List the queued messages") },
  { "queue", "flush", 0, 1, 0, cmd_queue_flush, "queue flush [ID]",
    N_("Retry delivery now (one message or all)") },
  { "queue", "show", 1, 1, 0, cmd_queue_show, "queue show ID",
    N_("Show one queued message: envelope, recipients and headers") },
  { "queue", "hold", 1, 1, 0, cmd_queue_hold, "queue hold ID",
    N_("Hold a message: no delivery attempts until it is released") },
  { "queue", "release", 1, 1, 0, cmd_queue_release, "queue release ID",
    N_("Release a held message") },
  { "queue", "delete", 1, 1, 0, cmd_queue_delete, "queue delete ID",
    N_("Delete a message from the queue without delivering it") },
  { "trace", NULL, 0, 0, 0, cmd_trace, "trace",
    N_("Print the live trace until interrupted") },
  { "check", NULL, 0, 0, 0, cmd_check, "check",
    N_("Check the configuration for loops, open relaying and other risks") },
  { "export", NULL, 0, 0, 0, cmd_export, "export",
    N_("Print the whole configuration as one JSON document (secrets included)") },
  { "import", NULL, 1, 1, 0, cmd_import, "import FILE",
    N_("Replace the whole configuration with a document from export (all or nothing)") },
  { "selftest", NULL, 0, 0, 0, cmd_selftest, "selftest",
    N_("Replay the classic open-relay tests against the running receiver") },
  { "log", "tail", 0, 1, 0, cmd_log_tail, "log tail [accept|receive|sender|fail]",
    N_("Print the last lines of one log, or of all logs by time") },
  { "log", "search", 1, 1, 0, cmd_log_search, "log search QUEUE_ID",
    N_("Print every log line about one message") },
  { "import-epost", NULL, 1, 1, FLAG_DRY_RUN, cmd_import_epost, "import-epost DIR [--dry-run]",
    N_("Import the seed product's gateway.dat, effect.dat, aliases and accounts (all or nothing)") },
};

static void
print_usage_line (FILE *stream)
{
  fprintf (stream, _("Usage: mailgatectl [--socket PATH] [--json] COMMAND ...\n"));
}

static void
print_help (void)
{
  print_usage_line (stdout);
  printf ("\n%s\n", _("Options:"));
  printf ("  --socket PATH   %s\n", _("Control socket of mailgated"));
  printf ("  --json          %s\n", _("Print lists and status as JSON"));
  printf ("  --version       %s\n", _("Print the version"));
  printf ("\n%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    printf ("  %-38s %s\n", commands[i].synopsis, _(commands[i].summary));
}

static int
usage_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "mailgatectl: %s\n", message);
  print_usage_line (stderr);
  return EXIT_USAGE;
}

/* ---- command line ---------------------------------------------------------- */

typedef enum
{
  PARSE_OK,
  PARSE_HELP,
  PARSE_VERSION,
  PARSE_ERROR,
} ParseResult;

/* Options may appear anywhere; everything else is positional.  Returns
 * PARSE_ERROR after printing the reason. */
static ParseResult
parse_arguments (Ctl       *ctl,
                 int        argc,
                 char     **argv,
                 GPtrArray *positional)
{
  gboolean options_done = FALSE;

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (options_done || arg[0] != '-' || arg[1] == '\0')
        g_ptr_array_add (positional, argv[i]);
      else if (strcmp (arg, "--") == 0)
        options_done = TRUE;
      else if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        return PARSE_HELP;
      else if (strcmp (arg, "--version") == 0)
        return PARSE_VERSION;
      else if (strcmp (arg, "--json") == 0)
        ctl->json = TRUE;
      else if (strcmp (arg, "--shared-box") == 0)
        ctl->flags |= FLAG_SHARED_BOX;
      else if (strcmp (arg, "--no-shared-box") == 0)
        ctl->flags |= FLAG_NO_SHARED_BOX;
      else if (strcmp (arg, "--password-stdin") == 0)
        ctl->flags |= FLAG_PASSWORD_STDIN;
      else if (strcmp (arg, "--dry-run") == 0)
        ctl->flags |= FLAG_DRY_RUN;
      else if (g_str_has_prefix (arg, "--socket="))
        ctl->socket_path = arg + strlen ("--socket=");
      else if (g_str_has_prefix (arg, "--at="))
        {
          ctl->flags |= FLAG_AT;
          ctl->at = arg + strlen ("--at=");
        }
      else if (strcmp (arg, "--socket") == 0 || strcmp (arg, "--at") == 0)
        {
          if (i + 1 >= argc)
            {
              usage_error (_("option %s needs a value"), arg);
              return PARSE_ERROR;
            }
          if (strcmp (arg, "--at") == 0)
            {
              ctl->flags |= FLAG_AT;
              ctl->at = argv[++i];
            }
          else
            ctl->socket_path = argv[++i];
        }
      else
        {
          usage_error (_("unknown option %s"), arg);
          return PARSE_ERROR;
        }
    }
  return PARSE_OK;
}

static const Command *
find_command (GPtrArray *positional,
              guint     *n_words)
{
  const char *noun = g_ptr_array_index (positional, 0);
  const char *verb = positional->len > 1 ? g_ptr_array_index (positional, 1) : NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (commands[i].noun, noun) != 0)
        continue;
      if (commands[i].verb == NULL)
        {
          *n_words = 1;
          return &commands[i];
        }
      if (verb != NULL && strcmp (commands[i].verb, verb) == 0)
        {
          *n_words = 2;
          return &commands[i];
        }
    }
  return NULL;
}

static int
run_command (Ctl       *ctl,
             GPtrArray *positional)
{
  g_autoptr(MgDBusControl1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  const Command *command;
  guint n_words = 0, n_args;

  if (positional->len == 0)
    return usage_error ("%s", _("no command given"));
  command = find_command (positional, &n_words);
  if (command == NULL)
    {
      g_autofree char *words = g_strjoinv (" ", (char **) positional->pdata);

      return usage_error (_("unknown command \"%s\""), words);
    }

  n_args = positional->len - n_words;
  if (n_args < command->min_args || n_args > command->max_args)
    return usage_error (_("wrong number of arguments; usage: mailgatectl %s"),
                        command->synopsis);
  if ((ctl->flags & ~command->flags) != 0)
    return usage_error (_("option not allowed here; usage: mailgatectl %s"),
                        command->synopsis);

  proxy = mg_control_client_connect_sync (ctl->socket_path, NULL, &error);
  if (proxy == NULL)
    return fail_error (error);
  ctl->proxy = proxy;

  return command->func (ctl, (char **) positional->pdata + n_words, n_args);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new_null_terminated (8, NULL, TRUE);
  Ctl ctl = { 0 };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("MAILGATE_LOCALEDIR") != NULL ? g_getenv ("MAILGATE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  signal (SIGPIPE, SIG_IGN);

  switch (parse_arguments (&ctl, argc, argv, positional))
    {
    case PARSE_HELP:
      print_help ();
      return EXIT_OK;
    case PARSE_VERSION:
      printf ("mailgatectl %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    case PARSE_ERROR:
      return EXIT_USAGE;
    case PARSE_OK:
    default:
      break;
    }

  return run_command (&ctl, positional);
}
