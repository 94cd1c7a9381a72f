/* mg-config-json.c - the whole configuration as one JSON document
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Writing walks the snapshot with a JsonBuilder.  Reading is strict: an
 * unknown member, a value of the wrong JSON type or a value the config
 * store would refuse is a problem named by its JSON path, and every
 * problem of the document is reported, not only the first.  Values are
 * checked with the store's own validators (mg_settings_normalise,
 * mg-address.h, mg_relay_rule_parse, mg_listener_spec_parse_full).
 *
 * Threading: pure functions, any thread.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "mg-address.h"
#include "mg-config-json.h"
#include "mg-config-store.h"
#include "mg-problem.h"
#include "mg-settings.h"

/* ---- writing ---- */

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value == NULL)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, value);
}

static void
add_bool (JsonBuilder *builder,
          const char  *name,
          gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

static void
write_settings (JsonBuilder *builder,
                MgConfig    *config)
{
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (config->settings),
                                       (GCompareFunc) g_strcmp0);

  json_builder_set_member_name (builder, "settings");
  json_builder_begin_object (builder);
  for (GList *l = keys; l != NULL; l = l->next)
    add_string (builder, l->data, g_hash_table_lookup (config->settings, l->data));
  json_builder_end_object (builder);
}

static void
write_lists (JsonBuilder *builder,
             MgConfig    *config)
{
  json_builder_set_member_name (builder, "listeners");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->listeners->len; i++)
    {
      const MgListenerSpec *l = g_ptr_array_index (config->listeners, i);
      g_autofree char *spec = mg_listener_spec_format_full (l->address, l->port, l->tls);

      json_builder_add_string_value (builder, spec);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "domains");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->domains->len; i++)
    {
      const MgDomain *d = g_ptr_array_index (config->domains, i);

      json_builder_begin_object (builder);
      add_string (builder, "name", d->name);
      add_bool (builder, "shared_box", d->shared_box);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "accounts");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->accounts->len; i++)
    {
      const MgAccount *a = g_ptr_array_index (config->accounts, i);

      json_builder_begin_object (builder);
      add_string (builder, "address", a->address);
      add_string (builder, "password_hash", a->password_hash);
      add_string (builder, "cram_md5", a->cram_md5);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "aliases");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *a = g_ptr_array_index (config->aliases, i);

      json_builder_begin_object (builder);
      add_string (builder, "alias", a->alias);
      json_builder_set_member_name (builder, "targets");
      json_builder_begin_array (builder);
      for (guint t = 0; a->targets[t] != NULL; t++)
        json_builder_add_string_value (builder, a->targets[t]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "routes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *r = g_ptr_array_index (config->routes, i);

      json_builder_begin_object (builder);
      add_string (builder, "domain", r->domain);
      add_string (builder, "host", r->host);
      json_builder_set_member_name (builder, "port");
      json_builder_add_int_value (builder, r->port);
      add_bool (builder, "tls_required", r->tls_required);
      add_string (builder, "auth_user", r->auth_user != NULL ? r->auth_user : "");
      add_string (builder, "auth_password", r->auth_password != NULL ? r->auth_password : "");
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "relay_rules");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *r = g_ptr_array_index (config->relay_rules, i);

      json_builder_begin_object (builder);
      add_string (builder, "pattern", r->pattern);
      add_bool (builder, "allow", r->allow);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

char *
mg_config_to_json (MgConfig *config)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (config != NULL, NULL);

  json_builder_begin_object (builder);
  add_string (builder, "format", MG_CONFIG_JSON_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, MG_CONFIG_JSON_VERSION);
  write_settings (builder, config);
  write_lists (builder, config);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/* ---- reading ---- */

typedef struct
{
  MgConfig  *config;
  GPtrArray *problems;
} Reader;

static void
problem (Reader     *r,
         const char *code,
         const char *path,
         const char *arg)
{
  mg_problems_add (r->problems, code, path, arg);
}

/* Every member of @object must be one of @known (NULL-terminated). */
static void
check_members (Reader             *r,
               JsonObject         *object,
               const char         *path,
               const char * const *known)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        g_autofree char *member_path = g_strdup_printf ("%s.%s", path, (const char *) l->data);

        problem (r, MG_PROBLEM_UNKNOWN_KEY, member_path, l->data);
      }
}

/* The member's node with the JSON type wanted, or NULL (a problem unless
 * it is absent and optional). */
static JsonNode *
member_of_type (Reader     *r,
                JsonObject *object,
                const char *path,
                const char *name,
                GType       value_type,
                gboolean    required)
{
  g_autofree char *member_path = g_strdup_printf ("%s.%s", path, name);
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        problem (r, MG_PROBLEM_EMPTY, member_path, "");
      return NULL;
    }
  if (value_type == JSON_TYPE_OBJECT && JSON_NODE_HOLDS_OBJECT (node))
    return node;
  if (value_type == JSON_TYPE_ARRAY && JSON_NODE_HOLDS_ARRAY (node))
    return node;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == value_type)
    return node;
  problem (r, MG_PROBLEM_INVALID_VALUE, member_path,
           value_type == G_TYPE_STRING ? "(not a string)" :
           value_type == G_TYPE_BOOLEAN ? "(not true or false)" :
           value_type == G_TYPE_INT64 ? "(not a whole number)" :
           value_type == JSON_TYPE_ARRAY ? "(not an array)" : "(not an object)");
  return NULL;
}

static const char *
get_string (Reader     *r,
            JsonObject *object,
            const char *path,
            const char *name,
            gboolean    required)
{
  JsonNode *node = member_of_type (r, object, path, name, G_TYPE_STRING, required);

  return node != NULL ? json_node_get_string (node) : NULL;
}

static gboolean
get_bool (Reader     *r,
          JsonObject *object,
          const char *path,
          const char *name)
{
  JsonNode *node = member_of_type (r, object, path, name, G_TYPE_BOOLEAN, FALSE);

  return node != NULL && json_node_get_boolean (node);
}

/* Calls @read_item for each object of the array member @name. */
typedef void (*ReadItemFunc) (Reader *r, JsonObject *item, const char *path);

static void
read_array (Reader       *r,
            JsonObject   *root,
            const char   *name,
            ReadItemFunc  read_item)
{
  g_autofree char *path = g_strdup_printf ("$.%s", name);
  JsonNode *node = member_of_type (r, root, "$", name, JSON_TYPE_ARRAY, FALSE);
  JsonArray *array;

  if (node == NULL)
    return;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);
      JsonNode *item = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_OBJECT (item))
        {
          problem (r, MG_PROBLEM_INVALID_VALUE, item_path, "(not an object)");
          continue;
        }
      read_item (r, json_node_get_object (item), item_path);
    }
}

static void
read_settings (Reader     *r,
               JsonObject *root)
{
  JsonNode *node = member_of_type (r, root, "$", "settings", JSON_TYPE_OBJECT, FALSE);
  g_autoptr(GList) members = NULL;

  if (node == NULL)
    return;
  members = json_object_get_members (json_node_get_object (node));
  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree char *path = g_strdup_printf ("$.settings.%s", (const char *) l->data);
      g_autoptr(GPtrArray) found = mg_problems_new ();
      g_autofree char *value = NULL;
      const char *text = get_string (r, json_node_get_object (node), "$.settings", l->data, TRUE);

      if (text == NULL)
        continue;
      value = mg_settings_normalise (l->data, text, found);
      if (value != NULL)
        mg_config_set_setting (r->config, l->data, value);
      for (guint i = 0; i < found->len; i++)
        {
          const MgProblem *p = g_ptr_array_index (found, i);

          problem (r, p->code, path, p->arg);
        }
    }
}

static void
read_listeners (Reader     *r,
                JsonObject *root)
{
  JsonNode *node = member_of_type (r, root, "$", "listeners", JSON_TYPE_ARRAY, FALSE);
  JsonArray *array;

  if (node == NULL)
    return;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *path = g_strdup_printf ("$.listeners[%u]", i);
      g_autofree char *address = NULL;
      JsonNode *item = json_array_get_element (array, i);
      const char *spec = JSON_NODE_HOLDS_VALUE (item) &&
                         json_node_get_value_type (item) == G_TYPE_STRING
                         ? json_node_get_string (item) : NULL;
      guint16 port = 0;
      gboolean tls = FALSE;

      if (spec == NULL || !mg_listener_spec_parse_full (spec, &address, &port, &tls))
        problem (r, MG_PROBLEM_INVALID_LISTENER, path, spec != NULL ? spec : "");
      else
        mg_config_add_listener_full (r->config, address, port, tls);
    }
}

static void
read_domain (Reader     *r,
             JsonObject *item,
             const char *path)
{
  static const char * const known[] = { "name", "shared_box", NULL };
  const char *name = get_string (r, item, path, "name", TRUE);
  g_autofree char *canonical = name != NULL ? mg_domain_canonical (name) : NULL;
  g_autofree char *name_path = g_strdup_printf ("%s.name", path);

  check_members (r, item, path, known);
  if (name == NULL)
    return;
  if (canonical == NULL)
    problem (r, MG_PROBLEM_INVALID_DOMAIN, name_path, name);
  else if (mg_config_find_domain (r->config, canonical) != NULL)
    problem (r, MG_PROBLEM_EXISTS, name_path, canonical);
  else
    {
      mg_config_add_domain (r->config, canonical, get_bool (r, item, path, "shared_box"));
      mg_config_seal (r->config);   /* keep the index current for the lookups */
    }
}

static void
read_account (Reader     *r,
              JsonObject *item,
              const char *path)
{
  static const char * const known[] = { "address", "password_hash", "cram_md5", NULL };
  const char *address = get_string (r, item, path, "address", TRUE);
  const char *hash = get_string (r, item, path, "password_hash", FALSE);
  const char *cram = get_string (r, item, path, "cram_md5", FALSE);
  g_autofree char *canonical = address != NULL ? mg_mailbox_canonical (address) : NULL;
  g_autofree char *address_path = g_strdup_printf ("%s.address", path);

  check_members (r, item, path, known);
  if (address == NULL)
    return;
  if (canonical == NULL)
    {
      problem (r, MG_PROBLEM_INVALID_ADDRESS, address_path, address);
      return;
    }
  if (hash != NULL && !g_str_has_prefix (hash, "$pbkdf2-sha256$"))
    {
      g_autofree char *hash_path = g_strdup_printf ("%s.password_hash", path);

      problem (r, MG_PROBLEM_INVALID_VALUE, hash_path, "(not a $pbkdf2-sha256$ hash)");
    }
  if (cram != NULL && !g_str_has_prefix (cram, "{CRAM-MD5}"))
    {
      g_autofree char *cram_path = g_strdup_printf ("%s.cram_md5", path);

      problem (r, MG_PROBLEM_INVALID_VALUE, cram_path, "(not a {CRAM-MD5} secret)");
    }
  if (mg_config_find_domain (r->config, strrchr (canonical, '@') + 1) == NULL)
    problem (r, MG_PROBLEM_UNKNOWN_DOMAIN, address_path, strrchr (canonical, '@') + 1);
  else if (mg_config_find_account (r->config, canonical) != NULL)
    problem (r, MG_PROBLEM_EXISTS, address_path, canonical);
  else
    {
      mg_config_add_account_full (r->config, canonical, hash, cram);
      mg_config_seal (r->config);
    }
}

static char *
canonical_alias_part (const char *text,
                      gboolean    allow_wildcard)
{
  g_autofree char *domain = NULL;

  if (!g_str_has_prefix (text, "*@"))
    return mg_mailbox_canonical (text);
  if (!allow_wildcard || (domain = mg_domain_canonical (text + 2)) == NULL)
    return NULL;
  return g_strconcat ("*@", domain, NULL);
}

static void
read_alias (Reader     *r,
            JsonObject *item,
            const char *path)
{
  static const char * const known[] = { "alias", "targets", NULL };
  const char *alias = get_string (r, item, path, "alias", TRUE);
  JsonNode *targets_node = member_of_type (r, item, path, "targets", JSON_TYPE_ARRAY, TRUE);
  g_autofree char *name = alias != NULL ? canonical_alias_part (alias, TRUE) : NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) targets = NULL;
  JsonArray *array;
  gboolean ok = name != NULL;

  check_members (r, item, path, known);
  if (alias != NULL && name == NULL)
    {
      g_autofree char *alias_path = g_strdup_printf ("%s.alias", path);

      problem (r, MG_PROBLEM_INVALID_ADDRESS, alias_path, alias);
    }
  if (targets_node == NULL)
    return;
  array = json_node_get_array (targets_node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *target_path = g_strdup_printf ("%s.targets[%u]", path, i);
      JsonNode *t = json_array_get_element (array, i);
      const char *text = JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_STRING
                         ? json_node_get_string (t) : NULL;
      g_autofree char *canonical =
        text != NULL ? canonical_alias_part (text, name != NULL && g_str_has_prefix (name, "*@")) : NULL;

      if (canonical == NULL)
        {
          problem (r, MG_PROBLEM_INVALID_ADDRESS, target_path, text != NULL ? text : "");
          ok = FALSE;
        }
      else
        g_strv_builder_add (builder, canonical);
    }
  targets = g_strv_builder_end (builder);
  if (ok && targets[0] == NULL)
    {
      g_autofree char *targets_path = g_strdup_printf ("%s.targets", path);

      problem (r, MG_PROBLEM_EMPTY, targets_path, "");
      ok = FALSE;
    }
  if (ok && g_hash_table_contains (r->config->alias_index, name))
    {
      g_autofree char *alias_path = g_strdup_printf ("%s.alias", path);

      problem (r, MG_PROBLEM_EXISTS, alias_path, name);
      ok = FALSE;
    }
  if (!ok)
    return;
  mg_config_add_alias (r->config, name, (const char * const *) targets);
  mg_config_seal (r->config);
}

static void
read_route (Reader     *r,
            JsonObject *item,
            const char *path)
{
  static const char * const known[] = { "domain", "host", "port", "tls_required",
                                        "auth_user", "auth_password", NULL };
  const char *domain = get_string (r, item, path, "domain", TRUE);
  const char *host = get_string (r, item, path, "host", TRUE);
  JsonNode *port_node = member_of_type (r, item, path, "port", G_TYPE_INT64, FALSE);
  const char *auth_user = get_string (r, item, path, "auth_user", FALSE);
  const char *auth_password = get_string (r, item, path, "auth_password", FALSE);
  g_autofree char *name = domain != NULL ? mg_domain_canonical (domain) : NULL;
  g_autofree char *next_hop = host != NULL ? mg_host_canonical (host) : NULL;
  gint64 port = port_node != NULL ? json_node_get_int (port_node) : 25;
  gboolean ok = name != NULL && next_hop != NULL;

  check_members (r, item, path, known);
  if (domain != NULL && name == NULL)
    {
      g_autofree char *p = g_strdup_printf ("%s.domain", path);

      problem (r, MG_PROBLEM_INVALID_DOMAIN, p, domain);
    }
  if (host != NULL && next_hop == NULL)
    {
      g_autofree char *p = g_strdup_printf ("%s.host", path);

      problem (r, MG_PROBLEM_INVALID_HOST, p, host);
    }
  if (port < 1 || port > 65535)
    {
      g_autofree char *p = g_strdup_printf ("%s.port", path);
      g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, port);

      problem (r, MG_PROBLEM_INVALID_PORT, p, text);
      ok = FALSE;
    }
  if (ok && mg_config_find_route (r->config, name) != NULL)
    {
      g_autofree char *p = g_strdup_printf ("%s.domain", path);

      problem (r, MG_PROBLEM_EXISTS, p, name);
      ok = FALSE;
    }
  if (!ok)
    return;
  mg_config_add_route (r->config, name, next_hop, (guint16) port);
  mg_config_set_route_security (r->config, name, get_bool (r, item, path, "tls_required"),
                                auth_user != NULL ? auth_user : "",
                                auth_password != NULL ? auth_password : "");
  mg_config_seal (r->config);
}

static void
read_relay_rule (Reader     *r,
                 JsonObject *item,
                 const char *path)
{
  static const char * const known[] = { "pattern", "allow", NULL };
  const char *pattern = get_string (r, item, path, "pattern", TRUE);
  JsonNode *allow = member_of_type (r, item, path, "allow", G_TYPE_BOOLEAN, TRUE);

  check_members (r, item, path, known);
  if (pattern == NULL || allow == NULL)
    return;
  if (!mg_config_add_relay_rule (r->config, pattern, json_node_get_boolean (allow)))
    {
      g_autofree char *p = g_strdup_printf ("%s.pattern", path);

      problem (r, MG_PROBLEM_INVALID_PATTERN, p, pattern);
    }
}

static gboolean
check_header (Reader     *r,
              JsonObject *root)
{
  static const char * const known[] = { "format", "version", "settings", "listeners",
                                        "domains", "accounts", "aliases", "routes",
                                        "relay_rules", NULL };
  const char *format = get_string (r, root, "$", "format", TRUE);
  JsonNode *version = member_of_type (r, root, "$", "version", G_TYPE_INT64, TRUE);

  check_members (r, root, "$", known);
  if (format != NULL && !g_str_equal (format, MG_CONFIG_JSON_FORMAT))
    problem (r, MG_PROBLEM_INVALID_VALUE, "$.format", format);
  if (version != NULL && json_node_get_int (version) != MG_CONFIG_JSON_VERSION)
    problem (r, MG_PROBLEM_OUT_OF_RANGE, "$.version", "1..1");
  return format != NULL && g_str_equal (format, MG_CONFIG_JSON_FORMAT) &&
         version != NULL && json_node_get_int (version) == MG_CONFIG_JSON_VERSION;
}

MgConfig *
mg_config_from_json (const char *text,
                     gssize      length,
                     GPtrArray  *problems)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(MgConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  JsonObject *object;
  guint n_problems;
  Reader r;

  g_return_val_if_fail (text != NULL && problems != NULL, NULL);

  n_problems = problems->len;
  if (!json_parser_load_from_data (parser, text, length, &error))
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, "$", error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, "$", "(not an object)");
      return NULL;
    }

  config = mg_config_new_default ();
  r.config = config;
  r.problems = problems;
  object = json_node_get_object (root);
  if (!check_header (&r, object))
    return NULL;                       /* another version: read nothing else */

  read_settings (&r, object);
  read_listeners (&r, object);
  read_array (&r, object, "domains", read_domain);
  read_array (&r, object, "accounts", read_account);
  read_array (&r, object, "aliases", read_alias);
  read_array (&r, object, "routes", read_route);
  read_array (&r, object, "relay_rules", read_relay_rule);
  if (problems->len > n_problems)
    return NULL;

  mg_config_seal (config);
  return g_steal_pointer (&config);
}
