/* mg-config-import.c - applying a migrated configuration all or nothing
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Three passes: validate every entry (problems name the entry's origin),
 * plan (one Step per entry that changes something, with what it replaces),
 * apply the steps through the config store.  The store commits each call
 * on its own, so "all or nothing" is kept by undoing the applied steps in
 * reverse order when one is refused; a failure while undoing is logged.
 *
 * Threading: main thread (it uses the daemon's config store).
 */
#include "config.h"

#include <string.h>

#include "mg-address.h"
#include "mg-config-import.h"
#include "mg-problem.h"

typedef enum
{
  STEP_DOMAIN,
  STEP_ACCOUNT,
  STEP_ROUTE,
  STEP_ALIAS,
  STEP_RELAY,
} StepKind;

typedef struct
{
  StepKind  kind;
  char     *name;        /* domain, address, route domain, alias, relay pattern */
  char     *host;        /* ROUTE */
  guint     port;        /* ROUTE */
  GStrv     targets;     /* ALIAS */
  char     *password;    /* ACCOUNT (nullable) */
  gboolean  allow;       /* RELAY */
  gboolean  replaces;    /* ROUTE / ALIAS: an entry existed */
  char     *old_host;    /* ROUTE */
  guint     old_port;
  GStrv     old_targets; /* ALIAS */
  gboolean  applied;
} Step;

void
mg_import_change_free (MgImportChange *change)
{
  if (change == NULL)
    return;
  g_free (change->action);
  g_free (change->what);
  g_free (change);
}

static void
step_free (Step *step)
{
  g_free (step->name);
  g_free (step->host);
  g_strfreev (step->targets);
  if (step->password != NULL)
    memset (step->password, 0, strlen (step->password));
  g_free (step->password);
  g_free (step->old_host);
  g_strfreev (step->old_targets);
  g_free (step);
}

static void
add_change (GPtrArray  *changes,
            const char *action,
            char       *what)   /* takes */
{
  MgImportChange *change = g_new0 (MgImportChange, 1);

  change->action = g_strdup (action);
  change->what = what;
  g_ptr_array_add (changes, change);
}

static Step *
new_step (GPtrArray  *steps,
          StepKind    kind,
          const char *name)
{
  Step *step = g_new0 (Step, 1);

  step->kind = kind;
  step->name = g_strdup (name);
  g_ptr_array_add (steps, step);
  return step;
}

static char *
format_targets (const char * const *targets)
{
  return g_strjoinv (",", (char **) targets);
}

/* ---- plan ---- */

static gboolean
domain_planned (GPtrArray  *steps,
                const char *domain)
{
  for (guint i = 0; i < steps->len; i++)
    {
      const Step *step = g_ptr_array_index (steps, i);

      if (step->kind == STEP_DOMAIN && g_str_equal (step->name, domain))
        return TRUE;
    }
  return FALSE;
}

/* Accounts need their domain: a domain that is not local is added first. */
static void
plan_domains (MgConfig  *config,
              GVariant  *accounts,
              GPtrArray *steps,
              GPtrArray *changes,
              GPtrArray *problems)
{
  const char *where, *address, *password;
  GVariantIter iter;

  g_variant_iter_init (&iter, accounts);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &where, &address, &password))
    {
      g_autofree char *canonical = mg_mailbox_canonical (address);
      const char *domain;

      if (canonical == NULL)
        {
          mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, where, address);
          continue;
        }
      domain = strrchr (canonical, '@') + 1;
      if (mg_config_find_domain (config, domain) != NULL || domain_planned (steps, domain))
        continue;
      new_step (steps, STEP_DOMAIN, domain);
      add_change (changes, "add", g_strdup_printf ("domain add %s", domain));
    }
}

/* Invalid addresses were reported by plan_domains(). */
static void
plan_accounts (MgConfig  *config,
               GVariant  *accounts,
               GPtrArray *steps,
               GPtrArray *changes)
{
  const char *where, *address, *password;
  GVariantIter iter;

  g_variant_iter_init (&iter, accounts);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &where, &address, &password))
    {
      g_autofree char *canonical = mg_mailbox_canonical (address);
      Step *step;

      if (canonical == NULL)
        continue;
      if (mg_config_find_account (config, canonical) != NULL)
        {
          add_change (changes, "keep", g_strdup_printf ("user add %s", canonical));
          continue;
        }
      step = new_step (steps, STEP_ACCOUNT, canonical);
      step->password = *password != '\0' ? g_strdup (password) : NULL;
      add_change (changes, "add",
                  g_strdup_printf ("user add %s%s", canonical,
                                   step->password != NULL ? " --password-stdin" : ""));
    }
}

static void
plan_routes (MgConfig  *config,
             GVariant  *routes,
             GPtrArray *steps,
             GPtrArray *changes,
             GPtrArray *problems)
{
  const char *where, *domain, *host;
  GVariantIter iter;
  guint16 port;

  g_variant_iter_init (&iter, routes);
  while (g_variant_iter_next (&iter, "(&s&s&sq)", &where, &domain, &host, &port))
    {
      g_autofree char *name = mg_domain_canonical (domain);
      g_autofree char *next_hop = mg_host_canonical (host);
      const MgRoute *old;
      Step *step;

      if (name == NULL)
        mg_problems_add (problems, MG_PROBLEM_INVALID_DOMAIN, where, domain);
      if (next_hop == NULL)
        mg_problems_add (problems, MG_PROBLEM_INVALID_HOST, where, host);
      if (port == 0)
        mg_problems_add (problems, MG_PROBLEM_INVALID_PORT, where, "0");
      if (name == NULL || next_hop == NULL || port == 0)
        continue;

      old = mg_config_find_route (config, name);
      if (old != NULL && g_str_equal (old->host, next_hop) && old->port == port)
        {
          add_change (changes, "keep", g_strdup_printf ("route add %s %s %u", name, next_hop, port));
          continue;
        }
      step = new_step (steps, STEP_ROUTE, name);
      step->host = g_strdup (next_hop);
      step->port = port;
      if (old != NULL)
        {
          step->replaces = TRUE;
          step->old_host = g_strdup (old->host);
          step->old_port = old->port;
        }
      add_change (changes, old != NULL ? "replace" : "add",
                  g_strdup_printf ("route add %s %s %u", name, next_hop, port));
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

static gboolean
same_targets (const char * const *a,
              const char * const *b)
{
  return g_strv_equal (a, b);
}

static void
plan_aliases (MgConfig  *config,
              GVariant  *aliases,
              GPtrArray *steps,
              GPtrArray *changes,
              GPtrArray *problems)
{
  g_autoptr(GVariantIter) targets_iter = NULL;
  const char *where, *alias;
  GVariantIter iter;

  g_variant_iter_init (&iter, aliases);
  while (g_variant_iter_next (&iter, "(&s&sas)", &where, &alias, &targets_iter))
    {
      g_autofree char *name = canonical_alias_part (alias, TRUE);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) targets = NULL;
      g_autofree char *joined = NULL;
      const MgAlias *old;
      const char *target;
      gboolean ok = name != NULL;
      Step *step;

      if (name == NULL)
        mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, where, alias);
      while (g_variant_iter_next (targets_iter, "&s", &target))
        {
          g_autofree char *canonical =
            canonical_alias_part (target, name != NULL && g_str_has_prefix (name, "*@"));

          if (canonical == NULL)
            {
              mg_problems_add (problems, MG_PROBLEM_INVALID_ADDRESS, where, target);
              ok = FALSE;
            }
          else
            g_strv_builder_add (builder, canonical);
        }
      g_clear_pointer (&targets_iter, g_variant_iter_free);
      targets = g_strv_builder_end (builder);
      if (ok && targets[0] == NULL)
        {
          mg_problems_add (problems, MG_PROBLEM_EMPTY, where, "");
          ok = FALSE;
        }
      if (!ok)
        continue;

      joined = format_targets ((const char * const *) targets);
      old = g_hash_table_lookup (config->alias_index, name);
      if (old != NULL && same_targets ((const char * const *) old->targets,
                                       (const char * const *) targets))
        {
          add_change (changes, "keep", g_strdup_printf ("alias add %s %s", name, joined));
          continue;
        }
      step = new_step (steps, STEP_ALIAS, name);
      step->targets = g_steal_pointer (&targets);
      if (old != NULL)
        {
          step->replaces = TRUE;
          step->old_targets = g_strdupv (old->targets);
        }
      add_change (changes, old != NULL ? "replace" : "add",
                  g_strdup_printf ("alias add %s %s", name, joined));
    }
}

static gboolean
rule_exists (MgConfig   *config,
             const char *pattern,
             gboolean    allow)
{
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = g_ptr_array_index (config->relay_rules, i);

      if (g_str_equal (rule->pattern, pattern) && rule->allow == allow)
        return TRUE;
    }
  return FALSE;
}

static void
plan_relay_rules (MgConfig  *config,
                  GVariant  *relay_rules,
                  GPtrArray *steps,
                  GPtrArray *changes,
                  GPtrArray *problems)
{
  const char *where, *pattern;
  GVariantIter iter;
  gboolean allow;

  g_variant_iter_init (&iter, relay_rules);
  while (g_variant_iter_next (&iter, "(&s&sb)", &where, &pattern, &allow))
    {
      g_autofree char *normalised = NULL;
      Step *step;

      if (!mg_relay_rule_parse (pattern, &normalised, NULL, NULL))
        {
          mg_problems_add (problems, MG_PROBLEM_INVALID_PATTERN, where, pattern);
          continue;
        }
      if (rule_exists (config, normalised, allow))
        {
          add_change (changes, "keep", g_strdup_printf ("relay add %s %s", normalised,
                                                        allow ? "allow" : "deny"));
          continue;
        }
      step = new_step (steps, STEP_RELAY, normalised);
      step->allow = allow;
      add_change (changes, "add", g_strdup_printf ("relay add %s %s", normalised,
                                                   allow ? "allow" : "deny"));
    }
}

/* ---- apply and undo ---- */

static gboolean
apply_step (MgConfigStore  *store,
            Step           *step,
            GPtrArray      *problems,
            GError        **error)
{
  switch (step->kind)
    {
    case STEP_DOMAIN:
      return mg_config_store_add_domain (store, step->name, FALSE, problems, error);
    case STEP_ACCOUNT:
      return mg_config_store_add_account (store, step->name, step->password, problems, error);
    case STEP_ROUTE:
      return mg_config_store_add_route (store, step->name, step->host, step->port,
                                        problems, error);
    case STEP_ALIAS:
      return mg_config_store_add_alias (store, step->name,
                                        (const char * const *) step->targets,
                                        problems, error);
    case STEP_RELAY:
      return mg_config_store_add_relay_rule (store, step->name, step->allow, 0,
                                             problems, error);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
undo_step (MgConfigStore  *store,
           const Step     *step,
           guint           n_rules,
           GPtrArray      *problems,
           GError        **error)
{
  switch (step->kind)
    {
    case STEP_DOMAIN:
      return mg_config_store_remove_domain (store, step->name, problems, error);
    case STEP_ACCOUNT:
      return mg_config_store_remove_account (store, step->name, problems, error);
    case STEP_ROUTE:
      if (step->replaces)
        return mg_config_store_add_route (store, step->name, step->old_host,
                                          step->old_port, problems, error);
      return mg_config_store_remove_route (store, step->name, problems, error);
    case STEP_ALIAS:
      if (step->replaces)
        return mg_config_store_add_alias (store, step->name,
                                          (const char * const *) step->old_targets,
                                          problems, error);
      return mg_config_store_remove_alias (store, step->name, problems, error);
    case STEP_RELAY:
      return mg_config_store_remove_relay_rule (store, n_rules, problems, error);
    default:
      g_assert_not_reached ();
    }
}

static void
undo_applied (MgConfigStore *store,
              GPtrArray     *steps,
              guint          n_rules)
{
  for (guint i = steps->len; i-- > 0;)
    {
      const Step *step = g_ptr_array_index (steps, i);
      g_autoptr(GPtrArray) problems = mg_problems_new ();
      g_autoptr(GError) error = NULL;

      if (!step->applied)
        continue;
      if (!undo_step (store, step, n_rules, problems, &error))
        g_warning ("import: undoing %s failed: %s", step->name,
                   error != NULL ? error->message : "refused");
      if (step->kind == STEP_RELAY)
        n_rules--;
    }
}

static gboolean
apply_steps (MgConfigStore  *store,
             MgConfig       *config,
             GPtrArray      *steps,
             GPtrArray      *problems,
             GError        **error)
{
  guint n_rules = config->relay_rules->len;

  for (guint i = 0; i < steps->len; i++)
    {
      Step *step = g_ptr_array_index (steps, i);

      if (!apply_step (store, step, problems, error))
        {
          if (error != NULL && *error != NULL)
            g_prefix_error (error, "importing %s: ", step->name);
          undo_applied (store, steps, n_rules);
          return FALSE;
        }
      step->applied = TRUE;
      if (step->kind == STEP_RELAY)
        n_rules++;
    }
  return TRUE;
}

gboolean
mg_config_import_epost (MgConfigStore  *store,
                        GVariant       *routes,
                        GVariant       *relay_rules,
                        GVariant       *aliases,
                        GVariant       *accounts,
                        gboolean        dry_run,
                        GPtrArray      *changes,
                        GPtrArray      *problems,
                        GError        **error)
{
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  g_autoptr(MgConfig) config = NULL;
  guint n_problems;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (changes != NULL && problems != NULL, FALSE);

  config = mg_config_store_snapshot (store, error);
  if (config == NULL)
    return FALSE;

  n_problems = problems->len;
  plan_domains (config, accounts, steps, changes, problems);
  plan_routes (config, routes, steps, changes, problems);
  plan_aliases (config, aliases, steps, changes, problems);
  plan_relay_rules (config, relay_rules, steps, changes, problems);
  plan_accounts (config, accounts, steps, changes);
  if (problems->len > n_problems)
    return FALSE;
  if (dry_run)
    return TRUE;

  if (!apply_steps (store, config, steps, problems, error))
    {
      if ((error == NULL || *error == NULL) && problems->len == n_problems)
        mg_problems_add (problems, MG_PROBLEM_INVALID_VALUE, "import", "refused");
      return FALSE;
    }
  return TRUE;
}
