/* mg-policy.c - relay rules, aliases and accounts: who may send what (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Decisions are made from an MgConfig snapshot only; nothing here does I/O
 * or keeps state.  Each decision appends one English line to @why for the
 * trace (R-4.1).  Targets appended to the caller's array are owned by the
 * caller (g_free).
 *
 * Threading: any thread (the snapshot is immutable).
 */
#include "config.h"

#include <string.h>

#include "mg-policy.h"

/* A client written as an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a
 * dual-stack listener reports IPv4 peers) is compared as IPv4. */
static GInetAddress *
unmap_address (GInetAddress *client)
{
  const guint8 *bytes;
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (g_inet_address_get_family (client) != G_SOCKET_FAMILY_IPV6)
    return g_object_ref (client);

  bytes = g_inet_address_to_bytes (client);
  if (memcmp (bytes, prefix, sizeof prefix) != 0)
    return g_object_ref (client);
  return g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
}

static gboolean
host_matches (const MgRelayRule *rule,
              const char        *client_host)
{
  g_autofree char *host = NULL;

  if (client_host == NULL || *client_host == '\0')
    return FALSE;

  host = g_ascii_strdown (client_host, -1);
  if (g_str_has_suffix (host, "."))
    host[strlen (host) - 1] = '\0';

  if (rule->pattern[0] == '.')
    return g_str_has_suffix (host, rule->pattern);
  return g_str_equal (host, rule->pattern);
}

static gboolean
sender_matches (const MgRelayRule *rule,
                const char        *sender)
{
  const char *at;

  /* the null sender never matches an address rule */
  if (sender == NULL || *sender == '\0')
    return FALSE;

  at = strrchr (sender, '@');
  if (rule->pattern[0] == '@' || g_str_has_prefix (rule->pattern, "*@"))
    {
      const char *domain = strchr (rule->pattern, '@') + 1;

      return at != NULL && g_ascii_strcasecmp (at + 1, domain) == 0;
    }
  return g_ascii_strcasecmp (sender, rule->pattern) == 0;
}

static void
describe_match (GString           *why,
                guint              number,
                const MgRelayRule *rule,
                const char        *client_text,
                const char        *client_host,
                const char        *sender)
{
  g_string_append_printf (why, "relay rule %u (%s %s) matched ",
                          number, rule->pattern, rule->allow ? "allow" : "deny");
  switch (rule->kind)
    {
    case MG_RELAY_PATTERN_ADDRESS_IP:
    case MG_RELAY_PATTERN_CIDR:
      g_string_append_printf (why, "client %s", client_text);
      break;
    case MG_RELAY_PATTERN_HOST:
      g_string_append_printf (why, "client host %s", client_host);
      break;
    case MG_RELAY_PATTERN_SENDER:
      g_string_append_printf (why, "sender %s", sender);
      break;
    default:
      g_assert_not_reached ();
    }
}

/**
 * mg_policy_match_relay_rules:
 *
 * R-2.4: first match wins.
 */
MgRelayDecision
mg_policy_match_relay_rules (MgConfig     *config,
                             GInetAddress *client,
                             const char   *client_host,
                             const char   *sender,
                             guint        *rule_number,
                             GString      *why)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *client_text = NULL;

  g_return_val_if_fail (config != NULL, MG_RELAY_NO_MATCH);

  if (client != NULL)
    {
      address = unmap_address (client);
      client_text = g_inet_address_to_string (address);
    }

  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = g_ptr_array_index (config->relay_rules, i);
      gboolean match = FALSE;

      switch (rule->kind)
        {
        case MG_RELAY_PATTERN_ADDRESS_IP:
        case MG_RELAY_PATTERN_CIDR:
          match = address != NULL && rule->mask != NULL &&
                  g_inet_address_mask_matches (rule->mask, address);
          break;
        case MG_RELAY_PATTERN_HOST:
          match = host_matches (rule, client_host);
          break;
        case MG_RELAY_PATTERN_SENDER:
          match = sender_matches (rule, sender);
          break;
        default:
          g_assert_not_reached ();
        }
      if (!match)
        continue;

      if (rule_number != NULL)
        *rule_number = i + 1;
      if (why != NULL)
        describe_match (why, i + 1, rule, client_text, client_host, sender);
      return rule->allow ? MG_RELAY_ALLOW : MG_RELAY_DENY;
    }

  if (why != NULL)
    g_string_append_printf (why, "no relay rule matched client %s / sender %s",
                            client_text != NULL ? client_text : "(none)",
                            sender == NULL || *sender == '\0' ? "<>" : sender);
  return MG_RELAY_NO_MATCH;
}

static void
append_targets (GPtrArray  *targets,
                GStrv       list,
                const char *local_part)
{
  for (guint i = 0; list[i] != NULL; i++)
    {
      /* R-2.3: "*@d2" in a wildcard alias keeps the local part as written */
      if (g_str_has_prefix (list[i], "*@"))
        g_ptr_array_add (targets, g_strconcat (local_part, list[i] + 1, NULL));
      else
        g_ptr_array_add (targets, g_strdup (list[i]));
    }
}

static void
describe_alias (GString       *why,
                const char    *prefix,
                const MgAlias *alias)
{
  g_autofree char *joined = NULL;

  if (why == NULL)
    return;
  joined = g_strjoinv (", ", alias->targets);
  g_string_append_printf (why, "%s %s -> %s", prefix, alias->alias, joined);
}

/* R-2.1, R-2.2: the account for a local part in a local domain. */
static const MgAccount *
find_local_account (MgConfig       *config,
                    const MgDomain *domain,
                    const char     *local_canonical,
                    const char     *address_canonical)
{
  /* shared box: the same user name in any shared-box domain */
  if (domain->shared_box)
    return g_hash_table_lookup (config->shared_users, local_canonical);
  return g_hash_table_lookup (config->account_index, address_canonical);
}

/**
 * mg_policy_check_rcpt:
 *
 * R-2.1..R-2.4: exact alias, wildcard alias, account, then relay.
 */
MgRcptVerdict
mg_policy_check_rcpt (MgConfig   *config,
                      const char *local_part,
                      const char *domain,
                      gboolean    relay_allowed,
                      GPtrArray  *targets,
                      GString    *why)
{
  g_autofree char *local_canonical = NULL;
  g_autofree char *key = NULL;
  g_autofree char *wildcard = NULL;
  const MgAlias *alias;
  const MgDomain *local_domain;

  g_return_val_if_fail (config != NULL, MG_RCPT_RELAY_DENIED);
  g_return_val_if_fail (local_part != NULL, MG_RCPT_RELAY_DENIED);
  g_return_val_if_fail (domain != NULL, MG_RCPT_RELAY_DENIED);
  g_return_val_if_fail (targets != NULL, MG_RCPT_RELAY_DENIED);

  local_canonical = g_ascii_strdown (local_part, -1);
  key = g_strconcat (local_canonical, "@", domain, NULL);

  alias = g_hash_table_lookup (config->alias_index, key);
  if (alias != NULL)
    {
      append_targets (targets, alias->targets, local_part);
      describe_alias (why, "alias", alias);
      return MG_RCPT_ACCEPT;
    }

  wildcard = g_strconcat ("*@", domain, NULL);
  alias = g_hash_table_lookup (config->alias_index, wildcard);
  if (alias != NULL)
    {
      append_targets (targets, alias->targets, local_part);
      describe_alias (why, "wildcard alias", alias);
      return MG_RCPT_ACCEPT;
    }

  local_domain = g_hash_table_lookup (config->domain_index, domain);
  if (local_domain != NULL)
    {
      const MgAccount *account = find_local_account (config, local_domain,
                                                     local_canonical, key);

      if (account != NULL)
        {
          g_ptr_array_add (targets, g_strconcat (local_part, "@", domain, NULL));
          if (why != NULL)
            g_string_append_printf (why, "account %s found (domain %s%s)",
                                    account->address, domain,
                                    local_domain->shared_box ? ", shared box" : "");
          return MG_RCPT_ACCEPT;
        }
      if (why != NULL)
        g_string_append_printf (why, "domain %s is local but user %s is unknown",
                                domain, local_part);
      return MG_RCPT_UNKNOWN_USER;
    }

  if (g_hash_table_contains (config->alias_domains, domain))
    {
      if (why != NULL)
        g_string_append_printf (why, "domain %s has aliases but user %s is unknown",
                                domain, local_part);
      return MG_RCPT_UNKNOWN_USER;
    }

  if (why != NULL)
    g_string_append_printf (why, "domain %s is not local; relaying %s",
                            domain, relay_allowed ? "allowed" : "denied");
  if (!relay_allowed)
    return MG_RCPT_RELAY_DENIED;

  g_ptr_array_add (targets, g_strconcat (local_part, "@", domain, NULL));
  return MG_RCPT_ACCEPT;
}

gboolean
mg_policy_is_our_domain (MgConfig   *config,
                         const char *domain)
{
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);

  return g_hash_table_contains (config->domain_index, domain) ||
         g_hash_table_contains (config->alias_domains, domain);
}

/**
 * mg_policy_is_protected_sender:
 * @config: the settings snapshot
 * @sender: the canonical sender ("" for the null sender: never protected)
 * @why: (nullable): the reason, for the trace
 *
 * R-2.6: postmaster of every local domain (and of every aliased domain) is
 * protected, and so is each address in receiver.protected_senders.
 *
 * Returns: %TRUE when only an authenticated or relay-allowed client may
 *   use @sender
 */
gboolean
mg_policy_is_protected_sender (MgConfig   *config,
                               const char *sender,
                               GString    *why)
{
  g_auto(GStrv) listed = NULL;
  const char *at;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (sender != NULL, FALSE);

  at = strrchr (sender, '@');
  if (at == NULL)
    return FALSE;
  if ((gsize) (at - sender) == strlen ("postmaster") &&
      g_ascii_strncasecmp (sender, "postmaster", at - sender) == 0 &&
      mg_policy_is_our_domain (config, at + 1))
    {
      if (why != NULL)
        g_string_append_printf (why, "sender <%s> is the postmaster of a local domain: protected", sender);
      return TRUE;
    }

  listed = g_strsplit (mg_config_get_string (config, "receiver.protected_senders"), ",", -1);
  for (gsize i = 0; listed[i] != NULL; i++)
    {
      if (*listed[i] != '\0' && g_ascii_strcasecmp (listed[i], sender) == 0)
        {
          if (why != NULL)
            g_string_append_printf (why, "sender <%s> is listed in receiver.protected_senders", sender);
          return TRUE;
        }
    }
  return FALSE;
}
