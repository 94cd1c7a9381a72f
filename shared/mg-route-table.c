/* mg-route-table.c - where a recipient's mail goes, and loop lint (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * R-3.1..R-3.3: route per domain first, then local domains (forward-all to
 * the smart host, or a local mailbox), then the smart host or MX for the
 * rest.  R-3.4: mg_route_table_lint() lists configurations that would send
 * mail back to ourselves.  A returned MgNextHop owns its strings.
 *
 * Threading: any thread (works on an immutable snapshot).
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "mg-address.h"
#include "mg-route-table.h"

void
mg_next_hop_free (MgNextHop *hop)
{
  if (hop == NULL)
    return;

  g_free (hop->host);
  g_free (hop->mailbox);
  g_free (hop->key);
  g_free (hop->why);
  g_free (hop->auth_user);
  g_free (hop->auth_password);
  g_free (hop);
}

/* "host:port", IPv6 literals in brackets */
static char *
format_host_port (const char *host,
                  guint16     port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static MgNextHop *
next_hop_smtp (const char *host,
               guint16     port,
               char       *why)
{
  MgNextHop *hop = g_new0 (MgNextHop, 1);
  g_autofree char *host_port = format_host_port (host, port);

  hop->kind = MG_NEXT_HOP_SMTP;
  hop->host = g_strdup (host);
  hop->port = port;
  hop->key = g_strconcat ("smtp:", host_port, NULL);
  hop->why = why;
  return hop;
}

static MgNextHop *
next_hop_none (char *why)
{
  MgNextHop *hop = g_new0 (MgNextHop, 1);

  hop->kind = MG_NEXT_HOP_NONE;
  hop->key = g_strdup ("none");
  hop->why = why;
  return hop;
}

/* The smart host setting, if set: host and port (delivery.port when the
 * setting names none). */
static gboolean
get_smart_host (MgConfig  *config,
                char     **host_out,
                guint16   *port_out)
{
  const char *value = mg_config_get_string (config, "delivery.smarthost");
  guint16 default_port = (guint16) mg_config_get_int (config, "delivery.port");

  if (value == NULL || *value == '\0')
    return FALSE;
  *port_out = default_port;
  return mg_host_port_parse (value, default_port, host_out, port_out);
}

/* %USERNAME% -> @user, with characters that could leave the mailbox folder
 * replaced (a local part may hold '/'). */
static char *
expand_mailbox (const char *template,
                const char *user)
{
  g_autofree char *safe = g_strdup (user);
  g_auto(GStrv) pieces = NULL;

  g_strdelimit (safe, "/\\", '_');
  if (safe[0] == '.')
    safe[0] = '_';
  pieces = g_strsplit (template, "%USERNAME%", -1);
  return g_strjoinv (safe, pieces);
}

static MgNextHop *
local_next_hop (MgConfig       *config,
                const MgDomain *domain,
                const char     *local_part)
{
  g_autofree char *host = NULL;
  g_autofree char *user = NULL;
  guint16 port = 0;
  MgNextHop *hop;

  /* R-3.3: forward all received mail, local domains included */
  if (mg_config_get_bool (config, "delivery.forward_all"))
    {
      g_autofree char *host_port = NULL;

      if (!get_smart_host (config, &host, &port))
        return next_hop_none (g_strdup_printf ("forward-all is on but no route or "
                                               "smart host for local domain %s",
                                               domain->name));
      host_port = format_host_port (host, port);
      return next_hop_smtp (host, port, g_strdup_printf ("forward-all: smart host %s",
                                                         host_port));
    }

  /* R-2.1: in a shared-box domain the user name alone names the mailbox */
  user = g_ascii_strdown (local_part, -1);
  if (!domain->shared_box)
    {
      char *full = g_strconcat (user, "@", domain->name, NULL);

      g_free (user);
      user = full;
    }

  hop = g_new0 (MgNextHop, 1);
  hop->kind = MG_NEXT_HOP_MAILDIR;
  hop->mailbox = expand_mailbox (mg_config_get_string (config, "delivery.mailbox_dir"), user);
  hop->key = g_strconcat ("maildir:", hop->mailbox, NULL);
  hop->why = g_strdup_printf ("local mailbox %s", hop->mailbox);
  return hop;
}

/**
 * mg_route_lookup:
 * @config: the snapshot
 * @address: "local@domain", domain canonical
 *
 * Returns: (transfer full): the next hop for @address
 */
MgNextHop *
mg_route_lookup (MgConfig   *config,
                 const char *address)
{
  g_autofree char *local_part = NULL;
  g_autofree char *host = NULL;
  const char *at, *domain;
  const MgRoute *route;
  const MgDomain *local_domain;
  guint16 port = 0;
  MgNextHop *hop;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);

  at = strrchr (address, '@');
  if (at == NULL)
    return next_hop_none (g_strdup_printf ("no domain in address %s", address));
  local_part = g_strndup (address, (gsize) (at - address));
  domain = at + 1;

  /* R-3.1: the routing table first */
  route = mg_config_find_route (config, domain);
  if (route != NULL)
    {
      g_autofree char *host_port = format_host_port (route->host, route->port);

      hop = next_hop_smtp (route->host, route->port,
                           g_strdup_printf ("route %s -> %s", domain, host_port));
      /* R-3.5: per-route TLS and credentials; they are part of the key so
       * a cached connection is never shared between different settings */
      hop->tls_required = route->tls_required;
      if (route->auth_user != NULL && *route->auth_user != '\0')
        {
          hop->auth_user = g_strdup (route->auth_user);
          hop->auth_password = g_strdup (route->auth_password != NULL ? route->auth_password : "");
        }
      if (hop->tls_required || hop->auth_user != NULL)
        {
          char *key = g_strdup_printf ("%s|tls=%d|auth=%s", hop->key, hop->tls_required,
                                       hop->auth_user != NULL ? hop->auth_user : "");

          g_free (hop->key);
          hop->key = key;
        }
      return hop;
    }

  local_domain = mg_config_find_domain (config, domain);
  if (local_domain != NULL)
    return local_next_hop (config, local_domain, local_part);

  /* R-3.2: the smart host takes all other mail */
  if (get_smart_host (config, &host, &port))
    {
      g_autofree char *host_port = format_host_port (host, port);

      return next_hop_smtp (host, port, g_strdup_printf ("smart host %s", host_port));
    }

  port = (guint16) mg_config_get_int (config, "delivery.port");
  hop = g_new0 (MgNextHop, 1);
  hop->kind = MG_NEXT_HOP_MX;
  hop->host = g_strdup (domain);
  hop->port = port;
  hop->key = g_strdup_printf ("mx:%s:%u", domain, port);
  hop->why = g_strdup_printf ("MX lookup for %s port %u", domain, port);
  return hop;
}

/* ---- R-3.4: ping-pong lint ---- */

static gboolean
address_is_any (const char *address)
{
  return g_str_equal (address, "*") || g_str_equal (address, "0.0.0.0") ||
         g_str_equal (address, "::");
}

/* TRUE when @host could be this machine: loopback, unspecified,
 * "localhost", or our host name. */
static gboolean
host_is_us (MgConfig   *config,
            const char *host)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (host);
  const char *hostname = mg_config_get_string (config, "receiver.hostname");

  if (inet != NULL)
    return g_inet_address_get_is_loopback (inet) || g_inet_address_get_is_any (inet);
  return g_ascii_strcasecmp (host, "localhost") == 0 ||
         (*hostname != '\0' && g_ascii_strcasecmp (host, hostname) == 0) ||
         g_ascii_strcasecmp (host, g_get_host_name ()) == 0;
}

/* TRUE when a connection to @host:@port would reach @listener. */
static gboolean
reaches_listener (MgConfig             *config,
                  const char           *host,
                  guint16               port,
                  const MgListenerSpec *listener)
{
  if (listener->port != port)
    return FALSE;
  if (address_is_any (listener->address))
    return host_is_us (config, host);
  if (g_str_equal (listener->address, host))
    return TRUE;
  /* "localhost" reaches a loopback listener */
  return g_ascii_strcasecmp (host, "localhost") == 0 &&
         (g_str_equal (listener->address, "127.0.0.1") ||
          g_str_equal (listener->address, "::1"));
}

/**
 * mg_route_table_find_own_listener:
 * @config: the snapshot
 * @host: a next hop host (FQDN or IP literal without brackets)
 * @port: its port
 *
 * Returns: (transfer none) (nullable): the listener of ours that a
 *   connection to @host:@port would reach (R-3.4), or %NULL
 */
const MgListenerSpec *
mg_route_table_find_own_listener (MgConfig   *config,
                                  const char *host,
                                  guint16     port)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (host != NULL, NULL);

  for (guint i = 0; i < config->listeners->len; i++)
    {
      const MgListenerSpec *listener = g_ptr_array_index (config->listeners, i);

      if (reaches_listener (config, host, port, listener))
        return listener;
    }
  return NULL;
}

static void
lint_next_hop (MgConfig   *config,
               const char *what,
               const char *host,
               guint16     port,
               GPtrArray  *warnings)
{
  for (guint i = 0; i < config->listeners->len; i++)
    {
      const MgListenerSpec *listener = g_ptr_array_index (config->listeners, i);
      g_autofree char *host_port = NULL;

      if (!reaches_listener (config, host, port, listener))
        continue;

      host_port = format_host_port (host, port);
      g_ptr_array_add (warnings,
                       g_strdup_printf ("%s -> %s points at this server's own "
                                        "listener %s:%u: mail would loop",
                                        what, host_port, listener->address, listener->port));
      return;
    }
}

/**
 * mg_route_table_lint:
 * @config: the snapshot
 *
 * Returns: (transfer full) (element-type utf8): English warnings about
 *   routes that would loop (R-3.4) and risky settings; empty when none
 */
GPtrArray *
mg_route_table_lint (MgConfig *config)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *smart_host = NULL;
  guint16 smart_port = 0;
  gboolean have_smart_host;

  g_return_val_if_fail (config != NULL, NULL);

  have_smart_host = get_smart_host (config, &smart_host, &smart_port);

  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *route = g_ptr_array_index (config->routes, i);
      g_autofree char *what = g_strdup_printf ("route %s", route->domain);

      lint_next_hop (config, what, route->host, route->port, warnings);
    }
  if (have_smart_host)
    lint_next_hop (config, "smart host", smart_host, smart_port, warnings);

  if (mg_config_get_bool (config, "delivery.forward_all") && !have_smart_host)
    {
      for (guint i = 0; i < config->domains->len; i++)
        {
          const MgDomain *domain = g_ptr_array_index (config->domains, i);

          if (mg_config_find_route (config, domain->name) == NULL)
            g_ptr_array_add (warnings,
                             g_strdup_printf ("forward-all is on but local domain %s has "
                                              "no route and there is no smart host: "
                                              "its mail cannot be delivered",
                                              domain->name));
        }
    }

  /* R-2.3: method A accepts every address of the domain */
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *alias = g_ptr_array_index (config->aliases, i);

      if (g_str_has_prefix (alias->alias, "*@"))
        g_ptr_array_add (warnings,
                         g_strdup_printf ("wildcard alias %s accepts mail for every "
                                          "address of the domain (spam backscatter "
                                          "reaches the next hop)", alias->alias));
    }

  return g_steal_pointer (&warnings);
}
