/* fake-control-server.c - a canned org.mailgate.Control1 for the GUI tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One generic method handler (switch on the method name) over the
 * generated interface info; the model is a few lists of GVariants.  Every
 * connection gets the object registered; signals go to all of them.
 *
 * Threading: the main context of the creating thread.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "fake-control-server.h"
#include "mg-address.h"
#include "mg-config.h"
#include "mg-control-client.h"
#include "mg-problem.h"
#include "mg-settings.h"

struct _MgFakeControlServer
{
  GDBusServer *server;
  char        *dir;
  char        *socket_path;
  GPtrArray   *connections;     /* GDBusConnection* */
  GPtrArray   *calls;           /* char* */
  GHashTable  *settings;        /* key → value */
  GPtrArray   *domains;         /* GVariant (sb) */
  GPtrArray   *accounts;        /* GVariant (sb) */
  GPtrArray   *aliases;         /* GVariant (sas) */
  GPtrArray   *routes;          /* GVariant (ssq) */
  GPtrArray   *rules;           /* GVariant (sb) */
  GStrv        listeners;
  char        *receiver;
  char        *delivery;
  char        *fail_method;
  MgProblem   *fail_problem;
  gboolean     subscribed;
};

static void
set_str (char       **target,
         const char  *value)
{
  g_free (*target);
  *target = g_strdup (value);
}

static GVariant *
list_to_variant (GPtrArray  *list,
                 const char *type)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE (type));
  for (guint i = 0; i < list->len; i++)
    g_variant_builder_add_value (&builder, g_ptr_array_index (list, i));
  return g_variant_builder_end (&builder);
}

static int
find_keyed (GPtrArray  *list,
            const char *key)
{
  for (guint i = 0; i < list->len; i++)
    {
      const char *name = NULL;

      g_variant_get_child (g_ptr_array_index (list, i), 0, "&s", &name);
      if (g_strcmp0 (name, key) == 0)
        return (int) i;
    }
  return -1;
}

static void
put_keyed (GPtrArray  *list,
           const char *key,
           GVariant   *value)
{
  int index = find_keyed (list, key);

  g_variant_ref_sink (value);
  if (index >= 0)
    {
      g_variant_unref (list->pdata[index]);
      list->pdata[index] = value;
    }
  else
    g_ptr_array_add (list, value);
}

static void
emit (MgFakeControlServer *self,
      const char          *name,
      GVariant            *parameters)
{
  g_variant_ref_sink (parameters);
  for (guint i = 0; i < self->connections->len; i++)
    g_dbus_connection_emit_signal (g_ptr_array_index (self->connections, i), NULL,
                                   MG_CONTROL_OBJECT_PATH, MG_CONTROL_INTERFACE,
                                   name, parameters, NULL);
  g_variant_unref (parameters);
}

static void
return_problems (GDBusMethodInvocation *invocation,
                 GPtrArray             *problems)
{
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@a(sss))", mg_problems_to_variant (problems)));
}

static GVariant *
get_status (MgFakeControlServer *self)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "version", "s", "0.1.0");
  g_variant_dict_insert (&dict, "receiver", "s", self->receiver);
  g_variant_dict_insert (&dict, "delivery", "s", self->delivery);
  g_variant_dict_insert_value (&dict, "listeners",
                               g_variant_new_strv ((const char * const *) self->listeners, -1));
  return g_variant_dict_end (&dict);
}

static GVariant *
get_queue (void)
{
  GVariantBuilder builder;
  GVariantDict dict;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", "B0000000042");
  g_variant_dict_insert (&dict, "sender", "s", "alice@example.test");
  g_variant_dict_insert (&dict, "next-attempt", "x", (gint64) 1800000000);
  g_variant_dict_insert (&dict, "held", "b", FALSE);
  g_variant_dict_insert_value (&dict, "recipients",
                               g_variant_new_parsed ("[('bob@corp.test', 'deferred', '451 4.3.0 try later')]"));
  g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
  return g_variant_builder_end (&builder);
}

static void
apply_settings (MgFakeControlServer *self,
                GVariant            *changes,
                GPtrArray           *problems)
{
  g_autoptr(GHashTable) normalised = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GVariantIter iter;
  const char *key, *value;

  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    {
      char *clean = mg_settings_normalise (key, value, problems);

      if (clean != NULL)
        g_hash_table_insert (normalised, g_strdup (key), clean);
    }
  if (problems->len == 0)       /* all or nothing, like the daemon */
    {
      GHashTableIter hash_iter;
      gpointer k, v;

      g_hash_table_iter_init (&hash_iter, normalised);
      while (g_hash_table_iter_next (&hash_iter, &k, &v))
        g_hash_table_insert (self->settings, g_strdup (k), g_strdup (v));
    }
}

static gboolean
valid_pattern (const char *pattern,
               GPtrArray  *problems)
{
  if (mg_relay_rule_parse (pattern, NULL, NULL, NULL))
    return TRUE;
  mg_problems_add (problems, MG_PROBLEM_INVALID_PATTERN, "relay.pattern", pattern);
  return FALSE;
}

/* One change method on the model; problems as the daemon names them. */
static void
apply_change (MgFakeControlServer *self,
              const char          *method,
              GVariant            *parameters,
              GPtrArray           *problems)
{
  const char *name = NULL;

  if (g_str_has_prefix (g_variant_get_type_string (parameters), "(s"))
    g_variant_get_child (parameters, 0, "&s", &name);

  if (g_str_equal (method, "ApplySettings"))
    {
      g_autoptr(GVariant) changes = g_variant_get_child_value (parameters, 0);

      apply_settings (self, changes, problems);
    }
  else if (g_str_equal (method, "AddDomain"))
    {
      g_autofree char *domain = mg_domain_canonical (name);
      gboolean shared_box;

      g_variant_get_child (parameters, 1, "b", &shared_box);
      if (domain == NULL)
        mg_problems_add (problems, MG_PROBLEM_INVALID_DOMAIN, "domain", name);
      else if (find_keyed (self->domains, domain) >= 0)
        mg_problems_add (problems, MG_PROBLEM_EXISTS, "domain", domain);
      else
        put_keyed (self->domains, domain, g_variant_new ("(sb)", domain, shared_box));
    }
  else if (g_str_equal (method, "SetDomainSharedBox"))
    {
      gboolean shared_box;

      g_variant_get_child (parameters, 1, "b", &shared_box);
      if (find_keyed (self->domains, name) < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "domain", name);
      else
        put_keyed (self->domains, name, g_variant_new ("(sb)", name, shared_box));
    }
  else if (g_str_equal (method, "RemoveDomain"))
    {
      int index = find_keyed (self->domains, name);

      if (index < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "domain", name);
      else
        g_ptr_array_remove_index (self->domains, (guint) index);
    }
  else if (g_str_equal (method, "AddAccount"))
    {
      const char *password;
      const char *at = strrchr (name, '@');

      g_variant_get_child (parameters, 1, "&s", &password);
      if (at == NULL || find_keyed (self->domains, at + 1) < 0)
        mg_problems_add (problems, MG_PROBLEM_UNKNOWN_DOMAIN, "address", at != NULL ? at + 1 : name);
      else if (find_keyed (self->accounts, name) >= 0)
        mg_problems_add (problems, MG_PROBLEM_EXISTS, "address", name);
      else
        put_keyed (self->accounts, name, g_variant_new ("(sb)", name, *password != '\0'));
    }
  else if (g_str_equal (method, "SetPassword"))
    {
      const char *password;

      g_variant_get_child (parameters, 1, "&s", &password);
      if (find_keyed (self->accounts, name) < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "address", name);
      else
        put_keyed (self->accounts, name, g_variant_new ("(sb)", name, *password != '\0'));
    }
  else if (g_str_equal (method, "RemoveAccount"))
    {
      int index = find_keyed (self->accounts, name);

      if (index < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "address", name);
      else
        g_ptr_array_remove_index (self->accounts, (guint) index);
    }
  else if (g_str_equal (method, "AddAlias"))
    {
      g_autofree const char **targets = NULL;

      g_variant_get (parameters, "(&s^a&s)", &name, &targets);
      put_keyed (self->aliases, name, g_variant_new ("(s^as)", name, targets));
    }
  else if (g_str_equal (method, "RemoveAlias"))
    {
      int index = find_keyed (self->aliases, name);

      if (index < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "alias", name);
      else
        g_ptr_array_remove_index (self->aliases, (guint) index);
    }
  else if (g_str_equal (method, "AddRoute"))
    {
      const char *host;
      guint16 port;

      g_variant_get (parameters, "(&s&sq)", &name, &host, &port);
      if (port == 0)
        mg_problems_add (problems, MG_PROBLEM_INVALID_PORT, "route.port", "0");
      else
        put_keyed (self->routes, name, g_variant_new ("(ssq)", name, host, port));
    }
  else if (g_str_equal (method, "RemoveRoute"))
    {
      int index = find_keyed (self->routes, name);

      if (index < 0)
        mg_problems_add (problems, MG_PROBLEM_NOT_FOUND, "route.domain", name);
      else
        g_ptr_array_remove_index (self->routes, (guint) index);
    }
  else if (g_str_equal (method, "AddRelayRule"))
    {
      gboolean allow;
      guint32 position;

      g_variant_get (parameters, "(&sbu)", &name, &allow, &position);
      if (position > self->rules->len + 1)
        mg_problems_add (problems, MG_PROBLEM_BAD_POSITION, "relay.position", "1");
      else if (!valid_pattern (name, problems))
        ;
      else if (position == 0)
        g_ptr_array_add (self->rules, g_variant_ref_sink (g_variant_new ("(sb)", name, allow)));
      else
        g_ptr_array_insert (self->rules, (int) position - 1, g_variant_ref_sink (g_variant_new ("(sb)", name, allow)));
    }
  else if (g_str_equal (method, "ReplaceRelayRule"))
    {
      gboolean allow;
      guint32 position;

      g_variant_get (parameters, "(u&sb)", &position, &name, &allow);
      if (position < 1 || position > self->rules->len)
        mg_problems_add (problems, MG_PROBLEM_BAD_POSITION, "relay.position", "1");
      else if (valid_pattern (name, problems))
        {
          g_variant_unref (self->rules->pdata[position - 1]);
          self->rules->pdata[position - 1] = g_variant_ref_sink (g_variant_new ("(sb)", name, allow));
        }
    }
  else if (g_str_equal (method, "RemoveRelayRule"))
    {
      guint32 position;

      g_variant_get (parameters, "(u)", &position);
      if (position < 1 || position > self->rules->len)
        mg_problems_add (problems, MG_PROBLEM_BAD_POSITION, "relay.position", "1");
      else
        g_ptr_array_remove_index (self->rules, position - 1);
    }
  else if (g_str_equal (method, "MoveRelayRule"))
    {
      guint32 from, to;
      gpointer rule;

      g_variant_get (parameters, "(uu)", &from, &to);
      if (from < 1 || from > self->rules->len || to < 1 || to > self->rules->len)
        mg_problems_add (problems, MG_PROBLEM_BAD_POSITION, "relay.position", "1");
      else
        {
          rule = g_ptr_array_steal_index (self->rules, from - 1);
          g_ptr_array_insert (self->rules, (int) to - 1, rule);
        }
    }
  else if (g_str_equal (method, "SetListeners"))
    {
      g_strfreev (self->listeners);
      g_variant_get (parameters, "(^as)", &self->listeners);
    }
}

static GPtrArray *
copy_list (GPtrArray *list)
{
  GPtrArray *copy = g_ptr_array_new_full (list->len, (GDestroyNotify) g_variant_unref);

  for (guint i = 0; i < list->len; i++)
    g_ptr_array_add (copy, g_variant_ref (g_ptr_array_index (list, i)));
  return copy;
}

static void
restore_list (GPtrArray **list,
              GPtrArray  *saved)
{
  g_ptr_array_unref (*list);
  *list = g_ptr_array_ref (saved);
}

static GHashTable *
copy_settings (GHashTable *settings)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, settings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_strdup (value));
  return copy;
}

/* ApplyChanges: in order, every change tried, problems prefixed with
 * "changes[N]."; any problem restores the model (all or nothing). */
static void
apply_changes (MgFakeControlServer *self,
               GVariant            *parameters,
               GPtrArray           *problems)
{
  g_autoptr(GVariant) changes = g_variant_get_child_value (parameters, 0);
  g_autoptr(GPtrArray) domains = copy_list (self->domains);
  g_autoptr(GPtrArray) accounts = copy_list (self->accounts);
  g_autoptr(GPtrArray) aliases = copy_list (self->aliases);
  g_autoptr(GPtrArray) rules = copy_list (self->rules);
  g_autoptr(GPtrArray) routes = copy_list (self->routes);
  g_autoptr(GHashTable) settings = copy_settings (self->settings);

  for (guint i = 0; i < g_variant_n_children (changes); i++)
    {
      g_autoptr(GPtrArray) step = mg_problems_new ();
      g_autoptr(GVariant) change_parameters = NULL;
      const char *method;

      g_variant_get_child (changes, i, "(&sv)", &method, &change_parameters);
      apply_change (self, method, change_parameters, step);
      for (guint j = 0; j < step->len; j++)
        {
          const MgProblem *problem = g_ptr_array_index (step, j);
          g_autofree char *field = g_strdup_printf ("changes[%u].%s", i, problem->field);

          mg_problems_add (problems, problem->code, field, problem->arg);
        }
    }
  if (problems->len == 0)
    return;
  restore_list (&self->domains, domains);
  restore_list (&self->accounts, accounts);
  restore_list (&self->aliases, aliases);
  restore_list (&self->rules, rules);
  restore_list (&self->routes, routes);
  g_hash_table_unref (self->settings);
  self->settings = g_steal_pointer (&settings);
}

static void
handle_change (MgFakeControlServer   *self,
               const char            *method,
               GVariant              *parameters,
               GDBusMethodInvocation *invocation)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();

  if (g_strcmp0 (method, self->fail_method) == 0)
    {
      mg_problems_add (problems, self->fail_problem->code, self->fail_problem->field,
                       self->fail_problem->arg);
      g_clear_pointer (&self->fail_method, g_free);
      g_clear_pointer (&self->fail_problem, mg_problem_free);
      return_problems (invocation, problems);
      return;
    }

  if (g_str_equal (method, "ApplyChanges"))
    apply_changes (self, parameters, problems);
  else
    apply_change (self, method, parameters, problems);
  return_problems (invocation, problems);
}

/* The lint: a wildcard alias is a warning (R-2.3 method A) */
static GVariant *
check (MgFakeControlServer *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssss)"));
  for (guint i = 0; i < self->aliases->len; i++)
    {
      const char *alias = NULL;
      g_autofree char *setting = NULL;

      g_variant_get_child (g_ptr_array_index (self->aliases, i), 0, "&s", &alias);
      if (!g_str_has_prefix (alias, "*@"))
        continue;
      setting = g_strdup_printf ("alias %s", alias);
      g_variant_builder_add (&builder, "(ssss)", "warning", "wildcard-alias", setting, alias + 2);
    }
  return g_variant_builder_end (&builder);
}

/* Counts the lines; a line containing "bad" is refused (all or nothing) */
static void
import_accounts (MgFakeControlServer   *self,
                 GVariant              *parameters,
                 GDBusMethodInvocation *invocation)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_auto(GStrv) lines = NULL;
  const char *tsv;
  guint added = 0;

  g_variant_get (parameters, "(&s)", &tsv);
  lines = g_strsplit (tsv, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *field = g_strdup_printf ("line %u", i + 1);

      if (strstr (lines[i], "bad") != NULL)
        mg_problems_add (problems, MG_PROBLEM_BAD_LINE, field, "not an address");
      else if (*lines[i] != '\0')
        added++;
    }
  if (problems->len > 0)
    added = 0;
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(u@a(sss))", added, mg_problems_to_variant (problems)));
}

static void
on_method_call_cb (GDBusConnection       *connection,
                   const char            *sender,
                   const char            *object_path,
                   const char            *interface_name,
                   const char            *method,
                   GVariant              *parameters,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  MgFakeControlServer *self = user_data;
  g_autofree char *args = g_variant_print (parameters, FALSE);

  g_ptr_array_add (self->calls, g_strconcat (method, args, NULL));

  if (g_str_equal (method, "GetStatus"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", get_status (self)));
  else if (g_str_equal (method, "Start") || g_str_equal (method, "Stop"))
    {
      const char *service;
      const char *state = g_str_equal (method, "Start") ? "running" : "stopped";

      g_variant_get (parameters, "(&s)", &service);
      if (g_str_equal (service, "receiver") || g_str_equal (service, "all"))
        set_str (&self->receiver, state);
      if (g_str_equal (service, "delivery") || g_str_equal (service, "all"))
        set_str (&self->delivery, state);
      g_dbus_method_invocation_return_value (invocation, NULL);
      emit (self, "StatusChanged", g_variant_new ("()"));
    }
  else if (g_str_equal (method, "GetSettings"))
    {
      GVariantBuilder builder;
      GHashTableIter iter;
      gpointer key, value;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
      g_hash_table_iter_init (&iter, self->settings);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_variant_builder_add (&builder, "{ss}", key, value);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a{ss})", &builder));
    }
  else if (g_str_equal (method, "ListDomains"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(sb))", list_to_variant (self->domains, "a(sb)")));
  else if (g_str_equal (method, "ListAliases"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(sas))", list_to_variant (self->aliases, "a(sas)")));
  else if (g_str_equal (method, "ListRoutes"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(ssq))", list_to_variant (self->routes, "a(ssq)")));
  else if (g_str_equal (method, "ListRelayRules"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(sb))", list_to_variant (self->rules, "a(sb)")));
  else if (g_str_equal (method, "ListAccounts"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(sb))", list_to_variant (self->accounts, "a(sb)")));
  else if (g_str_equal (method, "ListListeners"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(^as^as)", self->listeners, self->listeners));
  else if (g_str_equal (method, "ListQueue"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@aa{sv})", get_queue ()));
  else if (g_str_equal (method, "FlushQueue") || g_str_equal (method, "HoldQueueMessage") ||
           g_str_equal (method, "DeleteQueueMessage"))
    g_dbus_method_invocation_return_value (invocation, NULL);
  else if (g_str_equal (method, "SubscribeTrace") || g_str_equal (method, "UnsubscribeTrace"))
    {
      self->subscribed = g_str_equal (method, "SubscribeTrace");
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method, "Check"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a(ssss))", check (self)));
  else if (g_str_equal (method, "ImportAccounts"))
    import_accounts (self, parameters, invocation);
  else
    handle_change (self, method, parameters, invocation);
}

static const GDBusInterfaceVTable vtable = { .method_call = on_method_call_cb };

static void
on_connection_closed_cb (GDBusConnection *connection,
                         gboolean         remote_peer_vanished,
                         GError          *error,
                         gpointer         user_data)
{
  MgFakeControlServer *self = user_data;

  g_ptr_array_remove (self->connections, connection);
}

static gboolean
on_new_connection_cb (GDBusServer     *server,
                      GDBusConnection *connection,
                      gpointer         user_data)
{
  MgFakeControlServer *self = user_data;
  g_autoptr(GError) error = NULL;

  if (g_dbus_connection_register_object (connection, MG_CONTROL_OBJECT_PATH,
                                         mg_dbus_control1_interface_info (),
                                         &vtable, self, NULL, &error) == 0)
    {
      g_warning ("fake control server: %s", error->message);
      return FALSE;
    }
  g_ptr_array_add (self->connections, g_object_ref (connection));
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed_cb), self);
  return TRUE;
}

static void
seed_model (MgFakeControlServer *self)
{
  gsize n = 0;
  const MgSettingInfo *info = mg_settings_list (&n);

  for (gsize i = 0; i < n; i++)
    g_hash_table_insert (self->settings, g_strdup (info[i].key), g_strdup (info[i].default_value));

  g_ptr_array_add (self->domains, g_variant_ref_sink (g_variant_new ("(sb)", "corp.test", TRUE)));
  g_ptr_array_add (self->accounts, g_variant_ref_sink (g_variant_new ("(sb)", "alice@corp.test", TRUE)));
  g_ptr_array_add (self->aliases, g_variant_ref_sink (g_variant_new_parsed ("('info@corp.test', ['alice@corp.test'])")));
  g_ptr_array_add (self->aliases, g_variant_ref_sink (g_variant_new_parsed ("('*@open.test', ['*@corp.test'])")));
  g_ptr_array_add (self->routes, g_variant_ref_sink (g_variant_new ("(ssq)", "corp.test", "192.0.2.10", (guint16) 20025)));
  g_ptr_array_add (self->rules, g_variant_ref_sink (g_variant_new ("(sb)", "192.0.2.0/24", TRUE)));
  g_ptr_array_add (self->rules, g_variant_ref_sink (g_variant_new ("(sb)", "postmaster@corp.test", FALSE)));
  g_ptr_array_add (self->rules, g_variant_ref_sink (g_variant_new ("(sb)", "@partner.test", TRUE)));
  self->listeners = g_strsplit ("127.0.0.1:2525", ",", -1);
  self->receiver = g_strdup ("stopped");
  self->delivery = g_strdup ("running");
}

MgFakeControlServer *
mg_fake_control_server_new (GError **error)
{
  g_autoptr(MgFakeControlServer) self = g_new0 (MgFakeControlServer, 1);
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;

  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->calls = g_ptr_array_new_with_free_func (g_free);
  self->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->domains = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->aliases = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  seed_model (self);

  self->dir = g_dir_make_tmp ("mg-fake-control-XXXXXX", error);
  if (self->dir == NULL)
    return NULL;
  self->socket_path = g_build_filename (self->dir, "control", NULL);
  escaped = g_dbus_address_escape_value (self->socket_path);
  address = g_strdup_printf ("unix:path=%s", escaped);
  self->server = g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid, NULL, NULL, error);
  if (self->server == NULL)
    return NULL;
  g_signal_connect (self->server, "new-connection", G_CALLBACK (on_new_connection_cb), self);
  g_dbus_server_start (self->server);
  return g_steal_pointer (&self);
}

void
mg_fake_control_server_free (MgFakeControlServer *self)
{
  if (self == NULL)
    return;

  if (self->server != NULL)
    {
      g_dbus_server_stop (self->server);
      g_object_unref (self->server);
    }
  for (guint i = 0; i < self->connections->len; i++)
    {
      GDBusConnection *connection = g_ptr_array_index (self->connections, i);

      g_signal_handlers_disconnect_by_data (connection, self);
      g_dbus_connection_close_sync (connection, NULL, NULL);
    }
  g_ptr_array_unref (self->connections);
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  if (self->dir != NULL)
    g_rmdir (self->dir);
  g_free (self->socket_path);
  g_free (self->dir);
  g_ptr_array_unref (self->calls);
  g_hash_table_unref (self->settings);
  g_ptr_array_unref (self->domains);
  g_ptr_array_unref (self->accounts);
  g_ptr_array_unref (self->aliases);
  g_ptr_array_unref (self->routes);
  g_ptr_array_unref (self->rules);
  g_strfreev (self->listeners);
  g_free (self->receiver);
  g_free (self->delivery);
  g_free (self->fail_method);
  g_clear_pointer (&self->fail_problem, mg_problem_free);
  g_free (self);
}

const char *
mg_fake_control_server_get_socket (MgFakeControlServer *self)
{
  return self->socket_path;
}

GPtrArray *
mg_fake_control_server_get_calls (MgFakeControlServer *self)
{
  return self->calls;
}

const char *
mg_fake_control_server_find_call (MgFakeControlServer *self,
                                  const char          *prefix)
{
  for (guint i = self->calls->len; i > 0; i--)
    if (g_str_has_prefix (g_ptr_array_index (self->calls, i - 1), prefix))
      return g_ptr_array_index (self->calls, i - 1);
  return NULL;
}

void
mg_fake_control_server_clear_calls (MgFakeControlServer *self)
{
  g_ptr_array_set_size (self->calls, 0);
}

void
mg_fake_control_server_fail_next (MgFakeControlServer *self,
                                  const char          *method,
                                  const char          *code,
                                  const char          *field,
                                  const char          *arg)
{
  set_str (&self->fail_method, method);
  g_clear_pointer (&self->fail_problem, mg_problem_free);
  self->fail_problem = mg_problem_new (code, field, arg);
}

void
mg_fake_control_server_emit_trace (MgFakeControlServer *self,
                                   const char          *line)
{
  const char *lines[] = { line, NULL };

  emit (self, "TraceLines", g_variant_new ("(^as)", lines));
}

const char *
mg_fake_control_server_get_setting (MgFakeControlServer *self,
                                    const char          *key)
{
  return g_hash_table_lookup (self->settings, key);
}

gboolean
mg_fake_control_server_is_subscribed (MgFakeControlServer *self)
{
  return self->subscribed;
}
