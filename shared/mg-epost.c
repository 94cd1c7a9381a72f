/* mg-epost.c - reading the seed product's configuration files (SPEC §8)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One line at a time: decode (UTF-8 or CP932), drop comments (';' and
 * "'" lines, '#' too), drop the template text the seed ships in its files
 * (rows of dashes, the column header "対象ドメイン, ゲートウェイ先 ..."),
 * then parse; whatever does not parse becomes a skipped entry with a
 * reason.  Values are checked with the same functions the config store
 * uses (mg-address.h, mg_relay_rule_parse) so that what passes here is
 * what the daemon accepts.
 *
 * Threading: the parsers are pure; mg_epost_read_dir() reads files.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mg-address.h"
#include "mg-config.h"
#include "mg-epost.h"

#define DEFAULT_PORT 25

/* ---- entries ---- */

static void
route_free (MgEpostRoute *route)
{
  g_free (route->where);
  g_free (route->domain);
  g_free (route->host);
  g_free (route);
}

static void
relay_rule_free (MgEpostRelayRule *rule)
{
  g_free (rule->where);
  g_free (rule->pattern);
  g_free (rule);
}

static void
alias_free (MgEpostAlias *alias)
{
  g_free (alias->where);
  g_free (alias->alias);
  g_strfreev (alias->targets);
  g_free (alias);
}

static void
account_free (MgEpostAccount *account)
{
  g_free (account->where);
  g_free (account->address);
  g_free (account->password);
  g_free (account);
}

static void
skipped_free (MgEpostSkipped *skipped)
{
  g_free (skipped->file);
  g_free (skipped->text);
  g_free (skipped->reason);
  g_free (skipped);
}

MgEpostImport *
mg_epost_import_new (void)
{
  MgEpostImport *import = g_new0 (MgEpostImport, 1);

  import->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  import->relay_rules = g_ptr_array_new_with_free_func ((GDestroyNotify) relay_rule_free);
  import->aliases = g_ptr_array_new_with_free_func ((GDestroyNotify) alias_free);
  import->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) account_free);
  import->skipped = g_ptr_array_new_with_free_func ((GDestroyNotify) skipped_free);
  import->files = g_ptr_array_new_with_free_func (g_free);
  return import;
}

void
mg_epost_import_free (MgEpostImport *import)
{
  if (import == NULL)
    return;

  g_ptr_array_unref (import->routes);
  g_ptr_array_unref (import->relay_rules);
  g_ptr_array_unref (import->aliases);
  g_ptr_array_unref (import->accounts);
  g_ptr_array_unref (import->skipped);
  g_ptr_array_unref (import->files);
  g_free (import);
}

static void
skip (MgEpostImport *import,
      const char    *file,
      guint          line,
      const char    *text,
      const char    *reason)
{
  MgEpostSkipped *skipped = g_new0 (MgEpostSkipped, 1);

  skipped->file = g_strdup (file);
  skipped->line = line;
  skipped->text = g_strdup (text != NULL ? text : "");
  skipped->reason = g_strdup (reason);
  g_ptr_array_add (import->skipped, skipped);
}

static char *
make_where (const char *file,
            guint       line)
{
  return g_strdup_printf ("%s:%u", file, line);
}

/* ---- lines ---- */

/* The text as UTF-8 lines (CRLF, BOM and CP932 handled), or NULL with the
 * whole file skipped. */
static GStrv
split_lines (MgEpostImport *import,
             const char    *file,
             const char    *data,
             gssize         length)
{
  g_autofree char *converted = NULL;
  GStrv lines;
  gsize len = length < 0 ? strlen (data) : (gsize) length;
  const char *text = data;

  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      text += 3;
      len -= 3;
    }
  if (g_utf8_validate_len (text, len, NULL))
    converted = g_strndup (text, len);
  else
    converted = g_convert (text, len, "UTF-8", "CP932", NULL, NULL, NULL);
  if (converted == NULL)
    {
      skip (import, file, 0, NULL, _("The file is neither UTF-8 nor Shift_JIS text."));
      return NULL;
    }

  lines = g_strsplit (converted, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize n = strlen (lines[i]);

      if (n > 0 && lines[i][n - 1] == '\r')
        lines[i][n - 1] = '\0';           /* CRLF */
    }
  return lines;
}

/* Comments, blank lines and the seed's own template text. */
static gboolean
is_ignorable (const char *line)
{
  gsize n_dashes = strspn (line, "-=");

  if (*line == '\0' || *line == ';' || *line == '\'' || *line == '#')
    return TRUE;
  if (n_dashes >= 3 && line[n_dashes] == '\0')
    return TRUE;                                   /* "-----" */
  return g_str_has_prefix (line, "対象ドメイン");   /* the column header */
}

/* "<domain.jp>", "192.168.0.x": text the seed's manual asks to replace. */
static gboolean
is_placeholder (const char *value)
{
  g_auto(GStrv) labels = NULL;
  guint n_digit_labels = 0;

  if (strchr (value, '<') != NULL || strchr (value, '>') != NULL)
    return TRUE;
  labels = g_strsplit (value, ".", -1);
  if (g_strv_length (labels) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      gsize len = strlen (labels[i]);

      if (len > 0 && strspn (labels[i], "0123456789") == len)
        n_digit_labels++;
      else if (len == 0 || strspn (labels[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != len)
        return FALSE;           /* "192.168.0.*", "192.168.0.0/24" */
    }
  return n_digit_labels == 3;   /* an IPv4 address with one part in letters: "192.168.0.x" */
}

static gboolean
parse_port (const char *text,
            guint16    *port_out)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &value, NULL))
    return FALSE;
  *port_out = (guint16) value;
  return TRUE;
}

/* ---- gateway.dat: "domain, host[, port]" ---- */

static const MgEpostRoute *
find_route (MgEpostImport *import,
            const char    *domain)
{
  for (guint i = 0; i < import->routes->len; i++)
    {
      const MgEpostRoute *route = g_ptr_array_index (import->routes, i);

      if (g_str_equal (route->domain, domain))
        return route;
    }
  return NULL;
}

static void
parse_gateway_line (MgEpostImport *import,
                    const char    *file,
                    guint          number,
                    const char    *line)
{
  g_auto(GStrv) fields = g_strsplit (line, ",", -1);
  g_autofree char *domain = NULL;
  g_autofree char *host = NULL;
  g_autofree char *reason = NULL;
  const MgEpostRoute *earlier;
  MgEpostRoute *route;
  guint n_fields = g_strv_length (fields);
  guint16 port = DEFAULT_PORT;

  for (guint i = 0; i < n_fields; i++)
    g_strstrip (fields[i]);

  if (n_fields < 2 || n_fields > 3)
    {
      skip (import, file, number, line,
            _("Expected “domain, host” or “domain, host, port”."));
      return;
    }
  if (is_placeholder (fields[0]) || is_placeholder (fields[1]))
    {
      skip (import, file, number, line,
            _("The line still holds a placeholder from the manual (such as <domain.jp> or 192.168.0.x)."));
      return;
    }
  domain = mg_domain_canonical (fields[0]);
  if (domain == NULL)
    {
      reason = g_strdup_printf (_("“%s” is not a valid domain name."), fields[0]);
      skip (import, file, number, line, reason);
      return;
    }
  host = mg_host_canonical (fields[1]);
  if (host == NULL)
    {
      reason = g_strdup_printf (_("“%s” is not a valid host name or IP address."), fields[1]);
      skip (import, file, number, line, reason);
      return;
    }
  if (n_fields == 3 && *fields[2] != '\0' && !parse_port (fields[2], &port))
    {
      reason = g_strdup_printf (_("“%s” is not a valid port (1..65535)."), fields[2]);
      skip (import, file, number, line, reason);
      return;
    }
  earlier = find_route (import, domain);
  if (earlier != NULL)
    {
      /* TRANSLATORS: %s is "file:line" */
      reason = g_strdup_printf (_("The domain already has a route (%s); the first one is kept."),
                                earlier->where);
      skip (import, file, number, line, reason);
      return;
    }

  route = g_new0 (MgEpostRoute, 1);
  route->where = make_where (file, number);
  route->domain = g_steal_pointer (&domain);
  route->host = g_steal_pointer (&host);
  route->port = port;
  g_ptr_array_add (import->routes, route);
}

void
mg_epost_parse_gateway (MgEpostImport *import,
                        const char    *file_name,
                        const char    *data,
                        gssize         length)
{
  g_auto(GStrv) lines = NULL;

  g_return_if_fail (import != NULL && file_name != NULL && data != NULL);

  lines = split_lines (import, file_name, data, length);
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (!is_ignorable (line))
        parse_gateway_line (import, file_name, i + 1, line);
    }
}

/* ---- effect.dat: "pattern true|false", first match wins ---- */

/* "192.168.0.*" -> "192.168.0.0/24", "10.*" -> "10.0.0.0/8", "*" ->
 * "0.0.0.0/0"; anything else unchanged. */
static char *
convert_ip_wildcard (const char *pattern)
{
  g_auto(GStrv) parts = g_strsplit (pattern, ".", -1);
  guint n_parts = g_strv_length (parts), n_fixed = 0;
  GString *network;

  if (g_str_equal (pattern, "*"))
    return g_strdup ("0.0.0.0/0");
  if (n_parts < 2 || n_parts > 4 || !g_str_equal (parts[n_parts - 1], "*"))
    return g_strdup (pattern);

  while (n_fixed < n_parts && !g_str_equal (parts[n_fixed], "*"))
    {
      guint64 octet;

      if (!g_ascii_string_to_unsigned (parts[n_fixed], 10, 0, 255, &octet, NULL))
        return g_strdup (pattern);
      n_fixed++;
    }
  for (guint i = n_fixed; i < n_parts; i++)
    if (!g_str_equal (parts[i], "*"))
      return g_strdup (pattern);            /* "10.*.0.1": not a range */

  network = g_string_new (NULL);
  for (guint i = 0; i < 4; i++)
    g_string_append_printf (network, "%s%s", i > 0 ? "." : "",
                            i < n_fixed ? parts[i] : "0");
  g_string_append_printf (network, "/%u", n_fixed * 8);
  return g_string_free (network, FALSE);
}

static gboolean
parse_allow (const char *text,
             gboolean   *allow_out)
{
  if (g_ascii_strcasecmp (text, "true") == 0)
    *allow_out = TRUE;
  else if (g_ascii_strcasecmp (text, "false") == 0)
    *allow_out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static void
parse_effect_line (MgEpostImport *import,
                   const char    *file,
                   guint          number,
                   const char    *line)
{
  g_auto(GStrv) fields = g_strsplit_set (line, " \t", -1);
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  g_autofree char *pattern = NULL;
  g_autofree char *normalised = NULL;
  g_autofree char *reason = NULL;
  MgEpostRelayRule *rule;
  gboolean allow;

  for (guint i = 0; fields[i] != NULL; i++)
    if (*fields[i] != '\0')
      g_ptr_array_add (words, fields[i]);

  if (words->len != 2 || !parse_allow (g_ptr_array_index (words, 1), &allow))
    {
      skip (import, file, number, line, _("Expected “pattern true” or “pattern false”."));
      return;
    }
  if (is_placeholder (g_ptr_array_index (words, 0)))
    {
      skip (import, file, number, line,
            _("The line still holds a placeholder from the manual (such as <domain.jp> or 192.168.0.x)."));
      return;
    }
  pattern = convert_ip_wildcard (g_ptr_array_index (words, 0));
  if (!mg_relay_rule_parse (pattern, &normalised, NULL, NULL))
    {
      reason = g_strdup_printf (_("“%s” is not a pattern mailgate understands (an IP address, "
                                  "a network, a host name, user@domain or @domain)."),
                                (const char *) g_ptr_array_index (words, 0));
      skip (import, file, number, line, reason);
      return;
    }

  rule = g_new0 (MgEpostRelayRule, 1);
  rule->where = make_where (file, number);
  rule->pattern = g_steal_pointer (&normalised);
  rule->allow = allow;
  g_ptr_array_add (import->relay_rules, rule);
}

void
mg_epost_parse_effect (MgEpostImport *import,
                       const char    *file_name,
                       const char    *data,
                       gssize         length)
{
  g_auto(GStrv) lines = NULL;

  g_return_if_fail (import != NULL && file_name != NULL && data != NULL);

  lines = split_lines (import, file_name, data, length);
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (!is_ignorable (line))
        parse_effect_line (import, file_name, i + 1, line);
    }
}

/* ---- aliases: "ALIAS REAL[,REAL...]" ---- */

static char *
canonical_alias_address (const char *text,
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
parse_alias_line (MgEpostImport *import,
                  const char    *file,
                  guint          number,
                  const char    *line)
{
  g_auto(GStrv) words = g_strsplit_set (line, " \t,", -1);
  g_autoptr(GStrvBuilder) targets = g_strv_builder_new ();
  g_autofree char *alias = NULL;
  g_autofree char *reason = NULL;
  MgEpostAlias *entry;
  guint n_targets = 0;

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *canonical = NULL;

      if (*words[i] == '\0')
        continue;
      if (is_placeholder (words[i]))
        {
          skip (import, file, number, line,
                _("The line still holds a placeholder from the manual (such as <domain.jp> or 192.168.0.x)."));
          return;
        }
      canonical = canonical_alias_address (words[i], alias == NULL || g_str_has_prefix (alias, "*@"));
      if (canonical == NULL)
        {
          reason = g_strdup_printf (_("“%s” is not a valid mail address."), words[i]);
          skip (import, file, number, line, reason);
          return;
        }
      if (alias == NULL)
        alias = g_steal_pointer (&canonical);
      else
        {
          g_strv_builder_add (targets, canonical);
          n_targets++;
        }
    }
  if (alias == NULL || n_targets == 0)
    {
      skip (import, file, number, line, _("Expected “alias real-address[,real-address...]”."));
      return;
    }

  entry = g_new0 (MgEpostAlias, 1);
  entry->where = make_where (file, number);
  entry->alias = g_steal_pointer (&alias);
  entry->targets = g_strv_builder_end (targets);
  g_ptr_array_add (import->aliases, entry);
}

void
mg_epost_parse_aliases (MgEpostImport *import,
                        const char    *file_name,
                        const char    *data,
                        gssize         length)
{
  g_auto(GStrv) lines = NULL;

  g_return_if_fail (import != NULL && file_name != NULL && data != NULL);

  lines = split_lines (import, file_name, data, length);
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (!is_ignorable (line))
        parse_alias_line (import, file_name, i + 1, line);
    }
}

/* ---- accounts: "ADDRESS[<TAB>PASSWORD[<TAB>...]]" ---- */

static void
parse_account_line (MgEpostImport *import,
                    const char    *file,
                    guint          number,
                    const char    *raw,
                    const char    *line)
{
  g_auto(GStrv) fields = g_strsplit (raw, "\t", -1);
  g_autofree char *address = NULL;
  g_autofree char *reason = NULL;
  MgEpostAccount *account;

  g_strstrip (fields[0]);
  if (is_placeholder (fields[0]))
    {
      skip (import, file, number, line,
            _("The line still holds a placeholder from the manual (such as <domain.jp> or 192.168.0.x)."));
      return;
    }
  address = mg_mailbox_canonical (fields[0]);
  if (address == NULL)
    {
      reason = g_strdup_printf (_("“%s” is not a mail address (user@domain)."), fields[0]);
      skip (import, file, number, line, reason);
      return;
    }
  for (guint i = 0; i < import->accounts->len; i++)
    {
      const MgEpostAccount *earlier = g_ptr_array_index (import->accounts, i);

      if (g_str_equal (earlier->address, address))
        {
          reason = g_strdup_printf (_("The account is listed twice (%s); the first one is kept."),
                                    earlier->where);
          skip (import, file, number, line, reason);
          return;
        }
    }

  account = g_new0 (MgEpostAccount, 1);
  account->where = make_where (file, number);
  account->address = g_steal_pointer (&address);
  if (fields[0] != NULL && fields[1] != NULL)
    account->password = *fields[1] != '\0' ? g_strdup (fields[1]) : NULL;
  g_ptr_array_add (import->accounts, account);
}

void
mg_epost_parse_accounts (MgEpostImport *import,
                         const char    *file_name,
                         const char    *data,
                         gssize         length)
{
  g_auto(GStrv) lines = NULL;

  g_return_if_fail (import != NULL && file_name != NULL && data != NULL);

  lines = split_lines (import, file_name, data, length);
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (!is_ignorable (line))
        parse_account_line (import, file_name, i + 1, lines[i], line);
    }
}

/* ---- a directory ---- */

typedef void (*ParseFunc) (MgEpostImport *import, const char *file_name,
                           const char *data, gssize length);

static const struct
{
  const char *name;
  ParseFunc   parse;
} known_files[] = {
  { "gateway.dat",  mg_epost_parse_gateway },
  { "effect.dat",   mg_epost_parse_effect },
  { "aliases.txt",  mg_epost_parse_aliases },
  { "alias.dat",    mg_epost_parse_aliases },
  { "accounts.tsv", mg_epost_parse_accounts },
  { "users.tsv",    mg_epost_parse_accounts },
};

static ParseFunc
parser_for (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known_files); i++)
    if (g_ascii_strcasecmp (known_files[i].name, name) == 0)
      return known_files[i].parse;
  return NULL;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/**
 * mg_epost_read_dir:
 * @dir: the seed product's configuration directory (or a copy)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the entries of every known file in
 *   @dir, files in name order
 */
MgEpostImport *
mg_epost_read_dir (const char  *dir,
                   GError     **error)
{
  g_autoptr(MgEpostImport) import = mg_epost_import_new ();
  g_autoptr(GDir) handle = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_return_val_if_fail (dir != NULL, NULL);

  handle = g_dir_open (dir, 0, error);
  if (handle == NULL)
    return NULL;
  while ((name = g_dir_read_name (handle)) != NULL)
    if (parser_for (name) != NULL)
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_autofree char *data = NULL;
      gsize length;

      if (!g_file_get_contents (path, &data, &length, error))
        return NULL;
      parser_for (file) (import, file, data, (gssize) length);
      g_ptr_array_add (import->files, g_strdup (file));
    }

  if (import->files->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("%s holds none of gateway.dat, effect.dat, aliases.txt, alias.dat, "
                     "accounts.tsv, users.tsv"), dir);
      return NULL;
    }
  return g_steal_pointer (&import);
}
