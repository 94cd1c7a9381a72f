/* mg-config.h - an immutable, reference-counted snapshot of the configuration
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * MgConfig is built by mg_config_store_snapshot() on the main thread and then
 * handed to any thread: nothing in it changes after construction, so readers
 * need no locks.  A change produces a new snapshot; sessions keep the one
 * they started with.
 *
 * All names are stored canonical: domains lower case without a trailing dot,
 * addresses as "local@domain" with both parts lower case (lookup keys).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char     *name;          /* canonical domain */
  gboolean  shared_box;    /* user names not distinguished per domain */
} MgDomain;

typedef struct
{
  char *address;           /* canonical local@domain */
  char *local_part;        /* canonical local part */
  char *domain;            /* canonical domain */
  char *password_hash;     /* nullable: "$pbkdf2-sha256$..." */
} MgAccount;

typedef struct
{
  char  *alias;            /* canonical "local@domain" or "*@domain" (wildcard) */
  GStrv  targets;          /* canonical addresses; "*@domain" only for wildcards */
} MgAlias;

typedef struct
{
  char    *domain;         /* canonical domain */
  char    *host;           /* next hop: FQDN, IPv4 or IPv6 literal (no brackets) */
  guint16  port;
} MgRoute;

typedef enum
{
  MG_RELAY_PATTERN_ADDRESS_IP,     /* 192.168.0.5, ::1 */
  MG_RELAY_PATTERN_CIDR,           /* 192.168.0.0/24, 2001:db8::/32 */
  MG_RELAY_PATTERN_HOST,           /* mail.corp.example, .corp.example (suffix) */
  MG_RELAY_PATTERN_SENDER,         /* postmaster@corp.example, @corp.example, *@corp.example */
} MgRelayPatternKind;

typedef struct
{
  char               *pattern;     /* as entered, normalised */
  gboolean            allow;
  MgRelayPatternKind  kind;
  GInetAddressMask   *mask;        /* ADDRESS_IP (full-length mask) and CIDR */
} MgRelayRule;

typedef struct
{
  char    *address;        /* "0.0.0.0", "::", "127.0.0.1", "*" (all, v4+v6) */
  guint16  port;           /* 0 = any free port (tests) */
} MgListenerSpec;

typedef struct _MgConfig MgConfig;

struct _MgConfig
{
  /*< private >*/
  gint ref_count;

  /*< public, read-only >*/
  GHashTable *settings;       /* key -> (char *) normalised value, every known key present */
  GPtrArray  *domains;        /* MgDomain*, sorted by name */
  GHashTable *domain_index;   /* name -> MgDomain* */
  GPtrArray  *accounts;       /* MgAccount*, sorted by address */
  GHashTable *account_index;  /* address -> MgAccount* */
  GHashTable *shared_users;   /* local part -> MgAccount* for accounts of shared-box domains */
  GPtrArray  *aliases;        /* MgAlias*, sorted by alias */
  GHashTable *alias_index;    /* alias (incl. "*@domain") -> MgAlias* */
  GPtrArray  *routes;         /* MgRoute*, sorted by domain */
  GHashTable *route_index;    /* domain -> MgRoute* */
  GPtrArray  *relay_rules;    /* MgRelayRule*, in order: first match wins */
  GPtrArray  *listeners;      /* MgListenerSpec* */
};

MgConfig   *mg_config_ref          (MgConfig   *config);
void        mg_config_unref        (MgConfig   *config);

/* Typed setting readers.  The key must exist in the schema (mg-settings.h);
 * an unknown key is a programming error (g_return_val_if_fail). */
gboolean    mg_config_get_bool     (MgConfig   *config,
                                    const char *key);
gint64      mg_config_get_int      (MgConfig   *config,
                                    const char *key);
const char *mg_config_get_string   (MgConfig   *config,
                                    const char *key);

/* Lookups (canonical arguments) */
const MgDomain  *mg_config_find_domain  (MgConfig *config, const char *domain);
const MgAccount *mg_config_find_account (MgConfig *config, const char *address);
const MgRoute   *mg_config_find_route   (MgConfig *config, const char *domain);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgConfig, mg_config_unref)

G_END_DECLS
