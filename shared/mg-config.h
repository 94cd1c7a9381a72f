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
  char *cram_md5;          /* nullable: "{CRAM-MD5}" + hex HMAC-MD5 contexts */
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
  gboolean tls_required;   /* refuse a next hop without STARTTLS */
  char    *auth_user;      /* "" = no AUTH to the next hop */
  char    *auth_password;
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
  gboolean tls;            /* implicit TLS ("ADDR:PORT/tls", 465 style) */
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
  GHashTable *alias_domains;  /* domain -> itself: domains of any alias (incl. wildcards) */
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

/* A snapshot with every setting at its default and empty lists (tests, and
 * the base the store fills in).  (transfer full) */
MgConfig   *mg_config_new_default  (void);

/* Construction only: before a snapshot is shared with anyone.  Values are
 * taken as canonical (the store validated them).  After adding, call
 * mg_config_seal() to sort the lists and build the indexes. */
void        mg_config_set_setting  (MgConfig    *config,
                                    const char  *key,
                                    const char  *value);
void        mg_config_add_domain   (MgConfig    *config,
                                    const char  *name,
                                    gboolean     shared_box);
void        mg_config_add_account  (MgConfig    *config,
                                    const char  *address,
                                    const char  *password_hash);
/* Same, with the CRAM-MD5 secret (nullable, see mg_config_cram_md5_secret). */
void        mg_config_add_account_full (MgConfig  *config,
                                    const char  *address,
                                    const char  *password_hash,
                                    const char  *cram_md5);
void        mg_config_add_alias    (MgConfig    *config,
                                    const char  *alias,
                                    const char * const *targets);
void        mg_config_add_route    (MgConfig    *config,
                                    const char  *domain,
                                    const char  *host,
                                    guint16      port);
void        mg_config_set_route_security (MgConfig   *config,
                                          const char *domain,
                                          gboolean    tls_required,
                                          const char *auth_user,
                                          const char *auth_password);
gboolean    mg_config_add_relay_rule (MgConfig  *config,
                                    const char  *pattern,
                                    gboolean     allow);
void        mg_config_add_listener (MgConfig    *config,
                                    const char  *address,
                                    guint16      port);
void        mg_config_add_listener_full (MgConfig *config,
                                    const char  *address,
                                    guint16      port,
                                    gboolean     tls);
void        mg_config_seal         (MgConfig    *config);

/* parse a relay rule pattern.  Returns FALSE when @pattern is none
 * of: IPv4/IPv6 address, CIDR (valid prefix, no host bits), host name,
 * ".suffix", "user@domain", "@domain", "*@domain".  Outputs are optional:
 * @normalised_out (transfer full), @mask_out (transfer full, set for
 * ADDRESS_IP with a full-length mask and for CIDR, else NULL). */
gboolean    mg_relay_rule_parse    (const char          *pattern,
                                    char               **normalised_out,
                                    MgRelayPatternKind  *kind_out,
                                    GInetAddressMask   **mask_out);

/* Passwords: "$pbkdf2-sha256$ITER$SALT_B64$HASH_B64" (PBKDF2-HMAC-SHA256,
 * 16-byte random salt, 100000 iterations).  hash returns NULL only if the
 * random generator fails.  verify compares in constant time. */
char       *mg_config_password_hash   (const char *password);
gboolean    mg_config_password_verify (const char *hash,
                                       const char *password);

/* CRAM-MD5: only what the mechanism needs is stored, as Dovecot
 * does: "{CRAM-MD5}" + 64 hex digits, the MD5 states after the HMAC inner
 * and outer key blocks.  The secret is password-equivalent for CRAM-MD5
 * (whoever reads it can log in with CRAM-MD5) and, MD5 being fast, weak
 * passwords can be found from it by brute force; it cannot be used for
 * PLAIN/LOGIN directly.  secret returns NULL only on a crypto failure.
 * verify computes HMAC-MD5(password, @challenge) from the secret and
 * compares it in constant time with @digest_hex (32 hex digits). */
char       *mg_config_cram_md5_secret (const char *password);
gboolean    mg_config_cram_md5_verify (const char *secret,
                                       const char *challenge,
                                       const char *digest_hex);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgConfig, mg_config_unref)

G_END_DECLS
