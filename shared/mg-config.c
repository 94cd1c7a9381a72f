/* mg-config.c - the immutable configuration snapshot
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgConfig is built once (mg_config_new_default, the mg_config_add_*
 * construction calls, mg_config_seal) by the config store on the main thread,
 * then shared read-only.  It owns every list element and string in it; the
 * hash indexes only point into the lists.  Also here: relay pattern parsing
 * and password hashing, both pure.
 *
 * Threading: construction on one thread; afterwards any thread may read and
 * ref/unref (atomic reference count).
 */
#include "config.h"

#include <string.h>

/* MD5_CTX: the CRAM-MD5 secret is the MD5 state itself (no EVP access) */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mg-address.h"
#include "mg-config.h"
#include "mg-settings.h"

#define PASSWORD_SCHEME     "pbkdf2-sha256"
#define PASSWORD_ITERATIONS 100000
#define PASSWORD_SALT_LEN   16
#define PASSWORD_HASH_LEN   32
#define PASSWORD_MAX_ITER   10000000

static void
domain_free (MgDomain *domain)
{
  g_free (domain->name);
  g_free (domain);
}

static void
account_free (MgAccount *account)
{
  g_free (account->address);
  g_free (account->local_part);
  g_free (account->domain);
  g_free (account->password_hash);
  g_free (account->cram_md5);
  g_free (account);
}

static void
alias_free (MgAlias *alias)
{
  g_free (alias->alias);
  g_strfreev (alias->targets);
  g_free (alias);
}

static void
route_free (MgRoute *route)
{
  g_free (route->domain);
  g_free (route->host);
  g_free (route->auth_user);
  g_free (route->auth_password);
  g_free (route);
}

static void
relay_rule_free (MgRelayRule *rule)
{
  g_free (rule->pattern);
  g_clear_object (&rule->mask);
  g_free (rule);
}

static void
listener_spec_free (MgListenerSpec *spec)
{
  g_free (spec->address);
  g_free (spec);
}

/**
 * mg_config_new_default:
 *
 * Returns: (transfer full): a sealed snapshot with default settings and
 *   no domains, accounts, aliases, routes, relay rules or listeners
 */
MgConfig *
mg_config_new_default (void)
{
  MgConfig *config = g_new0 (MgConfig, 1);
  const MgSettingInfo *infos;
  gsize n_infos;

  config->ref_count = 1;
  config->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  config->domains = g_ptr_array_new_with_free_func ((GDestroyNotify) domain_free);
  config->domain_index = g_hash_table_new (g_str_hash, g_str_equal);
  config->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) account_free);
  config->account_index = g_hash_table_new (g_str_hash, g_str_equal);
  config->shared_users = g_hash_table_new (g_str_hash, g_str_equal);
  config->aliases = g_ptr_array_new_with_free_func ((GDestroyNotify) alias_free);
  config->alias_index = g_hash_table_new (g_str_hash, g_str_equal);
  config->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  config->route_index = g_hash_table_new (g_str_hash, g_str_equal);
  config->relay_rules = g_ptr_array_new_with_free_func ((GDestroyNotify) relay_rule_free);
  config->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_spec_free);
  config->alias_domains = g_hash_table_new (g_str_hash, g_str_equal);

  infos = mg_settings_list (&n_infos);
  for (gsize i = 0; i < n_infos; i++)
    g_hash_table_insert (config->settings, g_strdup (infos[i].key),
                         g_strdup (infos[i].default_value));

  return config;
}

MgConfig *
mg_config_ref (MgConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);

  g_atomic_int_inc (&config->ref_count);
  return config;
}

void
mg_config_unref (MgConfig *config)
{
  g_return_if_fail (config != NULL);

  if (!g_atomic_int_dec_and_test (&config->ref_count))
    return;

  /* indexes first: they only point into the lists */
  g_hash_table_unref (config->domain_index);
  g_hash_table_unref (config->account_index);
  g_hash_table_unref (config->shared_users);
  g_hash_table_unref (config->alias_index);
  g_hash_table_unref (config->route_index);
  g_hash_table_unref (config->alias_domains);
  g_hash_table_unref (config->settings);
  g_ptr_array_unref (config->domains);
  g_ptr_array_unref (config->accounts);
  g_ptr_array_unref (config->aliases);
  g_ptr_array_unref (config->routes);
  g_ptr_array_unref (config->relay_rules);
  g_ptr_array_unref (config->listeners);
  g_free (config);
}

/* ---- typed readers ---- */

gboolean
mg_config_get_bool (MgConfig   *config,
                    const char *key)
{
  const char *value;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  value = g_hash_table_lookup (config->settings, key);
  g_return_val_if_fail (value != NULL, FALSE);

  return g_str_equal (value, "true");
}

gint64
mg_config_get_int (MgConfig   *config,
                   const char *key)
{
  const char *value;

  g_return_val_if_fail (config != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);
  value = g_hash_table_lookup (config->settings, key);
  g_return_val_if_fail (value != NULL, 0);

  return g_ascii_strtoll (value, NULL, 10);
}

/**
 * mg_config_get_string:
 *
 * Returns: (transfer none): the normalised value, owned by @config
 */
const char *
mg_config_get_string (MgConfig   *config,
                      const char *key)
{
  const char *value;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  value = g_hash_table_lookup (config->settings, key);
  g_return_val_if_fail (value != NULL, NULL);

  return value;
}

const MgDomain *
mg_config_find_domain (MgConfig   *config,
                       const char *domain)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (domain != NULL, NULL);

  return g_hash_table_lookup (config->domain_index, domain);
}

const MgAccount *
mg_config_find_account (MgConfig   *config,
                        const char *address)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);

  return g_hash_table_lookup (config->account_index, address);
}

const MgRoute *
mg_config_find_route (MgConfig   *config,
                      const char *domain)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (domain != NULL, NULL);

  return g_hash_table_lookup (config->route_index, domain);
}

/* ---- construction ---- */

void
mg_config_set_setting (MgConfig   *config,
                       const char *key,
                       const char *value)
{
  g_return_if_fail (config != NULL);
  g_return_if_fail (mg_settings_lookup (key) != NULL);
  g_return_if_fail (value != NULL);

  g_hash_table_replace (config->settings, g_strdup (key), g_strdup (value));
}

void
mg_config_add_domain (MgConfig   *config,
                      const char *name,
                      gboolean    shared_box)
{
  MgDomain *domain;

  g_return_if_fail (config != NULL);
  g_return_if_fail (name != NULL);

  domain = g_new0 (MgDomain, 1);
  domain->name = g_strdup (name);
  domain->shared_box = shared_box;
  g_ptr_array_add (config->domains, domain);
}

void
mg_config_add_account (MgConfig   *config,
                       const char *address,
                       const char *password_hash)
{
  mg_config_add_account_full (config, address, password_hash, NULL);
}

void
mg_config_add_account_full (MgConfig   *config,
                            const char *address,
                            const char *password_hash,
                            const char *cram_md5)
{
  MgAccount *account;
  const char *at;

  g_return_if_fail (config != NULL);
  g_return_if_fail (address != NULL);
  at = strrchr (address, '@');
  g_return_if_fail (at != NULL);

  account = g_new0 (MgAccount, 1);
  account->address = g_strdup (address);
  account->local_part = g_strndup (address, (gsize) (at - address));
  account->domain = g_strdup (at + 1);
  account->password_hash = g_strdup (password_hash);
  account->cram_md5 = g_strdup (cram_md5);
  g_ptr_array_add (config->accounts, account);
}

void
mg_config_add_alias (MgConfig           *config,
                     const char         *alias,
                     const char * const *targets)
{
  MgAlias *entry;

  g_return_if_fail (config != NULL);
  g_return_if_fail (alias != NULL && strchr (alias, '@') != NULL);
  g_return_if_fail (targets != NULL);

  entry = g_new0 (MgAlias, 1);
  entry->alias = g_strdup (alias);
  entry->targets = g_strdupv ((char **) targets);
  g_ptr_array_add (config->aliases, entry);
}

void
mg_config_add_route (MgConfig   *config,
                     const char *domain,
                     const char *host,
                     guint16     port)
{
  MgRoute *route;

  g_return_if_fail (config != NULL);
  g_return_if_fail (domain != NULL);
  g_return_if_fail (host != NULL);

  route = g_new0 (MgRoute, 1);
  route->domain = g_strdup (domain);
  route->host = g_strdup (host);
  route->port = port;
  route->auth_user = g_strdup ("");
  route->auth_password = g_strdup ("");
  g_ptr_array_add (config->routes, route);
}

/* R-3.5: TLS and credentials of the route just added for @domain. */
void
mg_config_set_route_security (MgConfig   *config,
                              const char *domain,
                              gboolean    tls_required,
                              const char *auth_user,
                              const char *auth_password)
{
  g_return_if_fail (config != NULL && domain != NULL);

  for (guint i = config->routes->len; i > 0; i--)
    {
      MgRoute *route = g_ptr_array_index (config->routes, i - 1);

      if (!g_str_equal (route->domain, domain))
        continue;
      route->tls_required = tls_required;
      g_free (route->auth_user);
      g_free (route->auth_password);
      route->auth_user = g_strdup (auth_user != NULL ? auth_user : "");
      route->auth_password = g_strdup (auth_password != NULL ? auth_password : "");
      return;
    }
}

/* Returns FALSE (and adds nothing) when @pattern does not parse. */
gboolean
mg_config_add_relay_rule (MgConfig   *config,
                          const char *pattern,
                          gboolean    allow)
{
  MgRelayRule *rule;
  g_autofree char *normalised = NULL;
  MgRelayPatternKind kind;
  GInetAddressMask *mask = NULL;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (pattern != NULL, FALSE);

  if (!mg_relay_rule_parse (pattern, &normalised, &kind, &mask))
    return FALSE;

  rule = g_new0 (MgRelayRule, 1);
  rule->pattern = g_steal_pointer (&normalised);
  rule->allow = allow;
  rule->kind = kind;
  rule->mask = mask;
  g_ptr_array_add (config->relay_rules, rule);
  return TRUE;
}

void
mg_config_add_listener (MgConfig   *config,
                        const char *address,
                        guint16     port)
{
  mg_config_add_listener_full (config, address, port, FALSE);
}

void
mg_config_add_listener_full (MgConfig   *config,
                             const char *address,
                             guint16     port,
                             gboolean    tls)
{
  MgListenerSpec *spec;

  g_return_if_fail (config != NULL);
  g_return_if_fail (address != NULL);

  spec = g_new0 (MgListenerSpec, 1);
  spec->address = g_strdup (address);
  spec->port = port;
  spec->tls = tls;
  g_ptr_array_add (config->listeners, spec);
}

static int
compare_domains (gconstpointer a,
                 gconstpointer b)
{
  const MgDomain *x = *(const MgDomain * const *) a;
  const MgDomain *y = *(const MgDomain * const *) b;

  return strcmp (x->name, y->name);
}

static int
compare_accounts (gconstpointer a,
                  gconstpointer b)
{
  const MgAccount *x = *(const MgAccount * const *) a;
  const MgAccount *y = *(const MgAccount * const *) b;

  return strcmp (x->address, y->address);
}

static int
compare_aliases (gconstpointer a,
                 gconstpointer b)
{
  const MgAlias *x = *(const MgAlias * const *) a;
  const MgAlias *y = *(const MgAlias * const *) b;

  return strcmp (x->alias, y->alias);
}

static int
compare_routes (gconstpointer a,
                gconstpointer b)
{
  const MgRoute *x = *(const MgRoute * const *) a;
  const MgRoute *y = *(const MgRoute * const *) b;

  return strcmp (x->domain, y->domain);
}

/**
 * mg_config_seal:
 * @config: a snapshot under construction
 *
 * Sorts the lists (domains, accounts, aliases, routes by name; relay rules
 * and listeners keep their order) and rebuilds every index.  Idempotent.
 */
void
mg_config_seal (MgConfig *config)
{
  g_return_if_fail (config != NULL);

  g_ptr_array_sort (config->domains, compare_domains);
  g_ptr_array_sort (config->accounts, compare_accounts);
  g_ptr_array_sort (config->aliases, compare_aliases);
  g_ptr_array_sort (config->routes, compare_routes);

  g_hash_table_remove_all (config->domain_index);
  g_hash_table_remove_all (config->account_index);
  g_hash_table_remove_all (config->shared_users);
  g_hash_table_remove_all (config->alias_index);
  g_hash_table_remove_all (config->route_index);
  g_hash_table_remove_all (config->alias_domains);

  for (guint i = 0; i < config->domains->len; i++)
    {
      MgDomain *domain = g_ptr_array_index (config->domains, i);

      g_hash_table_insert (config->domain_index, domain->name, domain);
    }

  for (guint i = 0; i < config->accounts->len; i++)
    {
      MgAccount *account = g_ptr_array_index (config->accounts, i);
      const MgDomain *domain = g_hash_table_lookup (config->domain_index,
                                                    account->domain);

      g_hash_table_insert (config->account_index, account->address, account);
      /* R-2.1: in shared-box domains the local part alone names the user;
       * the first account in sorted order stands for it */
      if (domain != NULL && domain->shared_box &&
          !g_hash_table_contains (config->shared_users, account->local_part))
        g_hash_table_insert (config->shared_users, account->local_part, account);
    }

  for (guint i = 0; i < config->aliases->len; i++)
    {
      MgAlias *alias = g_ptr_array_index (config->aliases, i);
      char *domain = strrchr (alias->alias, '@') + 1;

      g_hash_table_insert (config->alias_index, alias->alias, alias);
      g_hash_table_insert (config->alias_domains, domain, domain);
    }

  for (guint i = 0; i < config->routes->len; i++)
    {
      MgRoute *route = g_ptr_array_index (config->routes, i);

      g_hash_table_insert (config->route_index, route->domain, route);
    }
}

/* ---- relay patterns (R-2.4) ---- */

static gboolean
parse_sender_pattern (const char  *pattern,
                      char       **normalised_out)
{
  g_autofree char *domain = NULL;

  if (g_str_has_prefix (pattern, "*@") || pattern[0] == '@')
    {
      const char *prefix = pattern[0] == '@' ? "@" : "*@";

      domain = mg_domain_canonical (strchr (pattern, '@') + 1);
      if (domain == NULL)
        return FALSE;
      *normalised_out = g_strconcat (prefix, domain, NULL);
      return TRUE;
    }

  *normalised_out = mg_mailbox_canonical (pattern);
  return *normalised_out != NULL;
}

static gboolean
looks_numeric (const char *pattern)
{
  return strspn (pattern, "0123456789.") == strlen (pattern);
}

static gboolean
parse_host_pattern (const char  *pattern,
                    char       **normalised_out)
{
  g_autofree char *domain = NULL;
  gboolean suffix = pattern[0] == '.';
  const char *name = suffix ? pattern + 1 : pattern;

  /* a failed IPv4 address is not a host name */
  if (*name == '\0' || looks_numeric (name) || strchr (name, ':') != NULL)
    return FALSE;
  if (g_str_has_suffix (name, "."))
    return FALSE;

  domain = mg_domain_canonical (name);
  if (domain == NULL)
    return FALSE;
  *normalised_out = g_strconcat (suffix ? "." : "", domain, NULL);
  return TRUE;
}

static gboolean
parse_network_pattern (const char         *pattern,
                       char              **normalised_out,
                       MgRelayPatternKind *kind_out,
                       GInetAddressMask  **mask_out)
{
  g_autoptr(GInetAddressMask) mask = NULL;

  if (strchr (pattern, '/') != NULL)
    {
      const char *bits = strchr (pattern, '/') + 1;
      g_autofree char *host = g_strndup (pattern, (gsize) (bits - 1 - pattern));
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);
      guint64 length;

      /* plain digits within the family's width (GLib would warn) */
      if (address == NULL || *bits == '\0' || strspn (bits, "0123456789") != strlen (bits) ||
          !g_ascii_string_to_unsigned (bits, 10, 0,
                                       g_inet_address_get_native_size (address) * 8,
                                       &length, NULL))
        return FALSE;
      /* refuses host bits set beyond the prefix */
      mask = g_inet_address_mask_new (address, (guint) length, NULL);
      if (mask == NULL)
        return FALSE;
      *kind_out = MG_RELAY_PATTERN_CIDR;
      *normalised_out = g_inet_address_mask_to_string (mask);
    }
  else
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (pattern);

      if (address == NULL)
        return FALSE;
      mask = g_inet_address_mask_new (address, g_inet_address_get_native_size (address) * 8, NULL);
      if (mask == NULL)
        return FALSE;
      *kind_out = MG_RELAY_PATTERN_ADDRESS_IP;
      *normalised_out = g_inet_address_to_string (address);
    }

  *mask_out = g_steal_pointer (&mask);
  return TRUE;
}

gboolean
mg_relay_rule_parse (const char          *pattern,
                     char               **normalised_out,
                     MgRelayPatternKind  *kind_out,
                     GInetAddressMask   **mask_out)
{
  g_autofree char *normalised = NULL;
  g_autoptr(GInetAddressMask) mask = NULL;
  MgRelayPatternKind kind;

  g_return_val_if_fail (pattern != NULL, FALSE);

  if (*pattern == '\0' || strlen (pattern) > 320)
    return FALSE;

  if (strchr (pattern, '@') != NULL)
    {
      if (!parse_sender_pattern (pattern, &normalised))
        return FALSE;
      kind = MG_RELAY_PATTERN_SENDER;
    }
  else if (!parse_network_pattern (pattern, &normalised, &kind, &mask))
    {
      if (strchr (pattern, '/') != NULL || !parse_host_pattern (pattern, &normalised))
        return FALSE;
      kind = MG_RELAY_PATTERN_HOST;
    }

  if (normalised_out != NULL)
    *normalised_out = g_steal_pointer (&normalised);
  if (kind_out != NULL)
    *kind_out = kind;
  if (mask_out != NULL)
    *mask_out = g_steal_pointer (&mask);
  return TRUE;
}

/* ---- passwords (R-2.5: never stored in plain text) ---- */

static gboolean
pbkdf2 (const char   *password,
        const guchar *salt,
        gsize         salt_len,
        guint         iterations,
        guchar        out[PASSWORD_HASH_LEN])
{
  return PKCS5_PBKDF2_HMAC (password, (int) strlen (password),
                            salt, (int) salt_len, (int) iterations,
                            EVP_sha256 (), PASSWORD_HASH_LEN, out) == 1;
}

/**
 * mg_config_password_hash:
 * @password: the password in clear
 *
 * Returns: (transfer full) (nullable): "$pbkdf2-sha256$ITER$SALT$HASH"
 */
char *
mg_config_password_hash (const char *password)
{
  guchar salt[PASSWORD_SALT_LEN];
  guchar hash[PASSWORD_HASH_LEN];
  g_autofree char *salt_b64 = NULL;
  g_autofree char *hash_b64 = NULL;

  g_return_val_if_fail (password != NULL, NULL);

  if (RAND_bytes (salt, sizeof salt) != 1)
    return NULL;
  if (!pbkdf2 (password, salt, sizeof salt, PASSWORD_ITERATIONS, hash))
    return NULL;

  salt_b64 = g_base64_encode (salt, sizeof salt);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  OPENSSL_cleanse (hash, sizeof hash);
  return g_strdup_printf ("$" PASSWORD_SCHEME "$%u$%s$%s",
                          PASSWORD_ITERATIONS, salt_b64, hash_b64);
}

gboolean
mg_config_password_verify (const char *hash,
                           const char *password)
{
  g_auto(GStrv) parts = NULL;
  g_autofree guchar *salt = NULL;
  g_autofree guchar *expected = NULL;
  guchar computed[PASSWORD_HASH_LEN];
  gsize salt_len, expected_len;
  guint64 iterations;
  gboolean same;

  if (hash == NULL || password == NULL)
    return FALSE;

  /* "", "pbkdf2-sha256", ITER, SALT, HASH */
  parts = g_strsplit (hash, "$", -1);
  if (g_strv_length (parts) != 5 || *parts[0] != '\0' ||
      !g_str_equal (parts[1], PASSWORD_SCHEME))
    return FALSE;
  if (!g_ascii_string_to_unsigned (parts[2], 10, 1, PASSWORD_MAX_ITER, &iterations, NULL))
    return FALSE;

  salt = g_base64_decode (parts[3], &salt_len);
  expected = g_base64_decode (parts[4], &expected_len);
  if (salt_len == 0 || expected_len != PASSWORD_HASH_LEN)
    return FALSE;
  if (!pbkdf2 (password, salt, salt_len, (guint) iterations, computed))
    return FALSE;

  same = CRYPTO_memcmp (computed, expected, PASSWORD_HASH_LEN) == 0;
  OPENSSL_cleanse (computed, sizeof computed);
  return same;
}

/* ---- CRAM-MD5 secrets (R-2.5) ---- */

#define CRAM_PREFIX "{CRAM-MD5}"

static void
put_le32 (guchar  *out,
          guint32  v)
{
  out[0] = v & 0xff;
  out[1] = (v >> 8) & 0xff;
  out[2] = (v >> 16) & 0xff;
  out[3] = (v >> 24) & 0xff;
}

static guint32
get_le32 (const guchar *in)
{
  return (guint32) in[0] | ((guint32) in[1] << 8) |
         ((guint32) in[2] << 16) | ((guint32) in[3] << 24);
}

/* The MD5 state after one 64-byte block of key XOR @pad. */
static void
hmac_md5_pad_state (const guchar  key[64],
                    guchar        pad,
                    guchar        out[16])
{
  guchar block[64];
  MD5_CTX ctx;

  for (gsize i = 0; i < 64; i++)
    block[i] = key[i] ^ pad;
  MD5_Init (&ctx);
  MD5_Update (&ctx, block, sizeof block);
  put_le32 (out, ctx.A);
  put_le32 (out + 4, ctx.B);
  put_le32 (out + 8, ctx.C);
  put_le32 (out + 12, ctx.D);
  OPENSSL_cleanse (block, sizeof block);
  OPENSSL_cleanse (&ctx, sizeof ctx);
}

static void
md5_restore (MD5_CTX      *ctx,
             const guchar  state[16])
{
  MD5_Init (ctx);
  ctx->A = get_le32 (state);
  ctx->B = get_le32 (state + 4);
  ctx->C = get_le32 (state + 8);
  ctx->D = get_le32 (state + 12);
  ctx->Nl = 512;   /* one 64-byte block already hashed */
  ctx->Nh = 0;
}

/**
 * mg_config_cram_md5_secret:
 * @password: the password in clear
 *
 * Returns: (transfer full) (nullable): "{CRAM-MD5}" + 64 hex digits
 */
char *
mg_config_cram_md5_secret (const char *password)
{
  guchar key[64] = { 0 };
  guchar states[32];
  gsize len;
  char *result;

  g_return_val_if_fail (password != NULL, NULL);

  len = strlen (password);
  if (len > sizeof key)
    MD5 ((const guchar *) password, len, key);   /* RFC 2104: long keys are hashed */
  else
    memcpy (key, password, len);

  hmac_md5_pad_state (key, 0x36, states);
  hmac_md5_pad_state (key, 0x5c, states + 16);
  OPENSSL_cleanse (key, sizeof key);

  result = g_malloc (strlen (CRAM_PREFIX) + 65);
  strcpy (result, CRAM_PREFIX);
  for (gsize i = 0; i < sizeof states; i++)
    g_snprintf (result + strlen (CRAM_PREFIX) + 2 * i, 3, "%02x", states[i]);
  OPENSSL_cleanse (states, sizeof states);
  return result;
}

static gboolean
parse_hex (const char *hex,
           guchar     *out,
           gsize       n)
{
  if (strlen (hex) != 2 * n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guchar) (hi << 4 | lo);
    }
  return TRUE;
}

gboolean
mg_config_cram_md5_verify (const char *secret,
                           const char *challenge,
                           const char *digest_hex)
{
  guchar states[32];
  guchar inner[16], outer[16], given[16];
  MD5_CTX ctx;
  gboolean same;

  if (secret == NULL || challenge == NULL || digest_hex == NULL)
    return FALSE;
  if (!g_str_has_prefix (secret, CRAM_PREFIX) ||
      !parse_hex (secret + strlen (CRAM_PREFIX), states, sizeof states) ||
      !parse_hex (digest_hex, given, sizeof given))
    return FALSE;

  md5_restore (&ctx, states);
  MD5_Update (&ctx, challenge, strlen (challenge));
  MD5_Final (inner, &ctx);
  md5_restore (&ctx, states + 16);
  MD5_Update (&ctx, inner, sizeof inner);
  MD5_Final (outer, &ctx);

  same = CRYPTO_memcmp (outer, given, sizeof given) == 0;
  OPENSSL_cleanse (states, sizeof states);
  OPENSSL_cleanse (&ctx, sizeof ctx);
  return same;
}
