/* mg-address.c - RFC 5321 paths, mailboxes and domains (pure functions)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Parsers for the envelope grammar of RFC 5321 section 4.1.2 (Path,
 * Mailbox, Local-part, Domain, address-literal) and for the host names
 * used in configuration (routes, smart host).  Everything works on the
 * bytes given; nothing here does I/O or keeps state.  Returned strings are
 * newly allocated and owned by the caller.  UTF-8 (octets >= 0x80) is
 * tolerated in local parts and domains for SMTPUTF8 clients, but it must
 * be valid UTF-8; canonical lower-casing is ASCII only.
 *
 * Threading: every function is reentrant.
 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "mg-address.h"

#define MAX_LOCAL_PART   64
#define MAX_PATH_DOMAIN  255
#define MAX_DOMAIN       253
#define MAX_LABEL        63
#define MAX_PATH         256

/* ---- character classes ---------------------------------------------- */

static gboolean
is_atext (guchar c)
{
  if (c >= 0x80)
    return TRUE;                /* SMTPUTF8 tolerance (RFC 6531) */
  if (g_ascii_isalnum (c))
    return TRUE;
  return c != '\0' && strchr ("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static gboolean
is_qtext (guchar c)
{
  /* qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF-8 */
  return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

static gboolean
is_domain_char (guchar c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c >= 0x80;
}

static gboolean
has_high_bytes (const char *text,
                gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] >= 0x80)
      return TRUE;
  return FALSE;
}

/* ---- domains -------------------------------------------------------- */

/* Checks LDH labels of 1..63 octets separated by single dots; one trailing
 * dot is allowed.  @len is the length as written.  No total-length check. */
static gboolean
check_labels (const char *text,
              gsize       len)
{
  gsize label_len = 0;
  gsize label_start = 0;

  if (len == 0)
    return FALSE;
  if (text[len - 1] == '.')
    len--;                      /* one trailing dot */
  if (len == 0)
    return FALSE;

  for (gsize i = 0; i <= len; i++)
    {
      if (i == len || text[i] == '.')
        {
          if (label_len == 0 || label_len > MAX_LABEL)
            return FALSE;
          if (text[label_start] == '-' || text[i - 1] == '-')
            return FALSE;
          label_len = 0;
          label_start = i + 1;
          continue;
        }
      if (!is_domain_char ((guchar) text[i]))
        return FALSE;
      label_len++;
    }

  if (has_high_bytes (text, len) && !g_utf8_validate_len (text, len, NULL))
    return FALSE;

  return TRUE;
}

/* Lower case (ASCII only), trailing dot removed. */
static char *
canonical_domain (const char *text,
                  gsize       len)
{
  if (len > 0 && text[len - 1] == '.')
    len--;
  return g_ascii_strdown (text, len);
}

static gboolean
domain_is_valid_len (const char *text,
                     gsize       len)
{
  gsize bare = len;

  if (bare > 0 && text[bare - 1] == '.')
    bare--;
  if (bare > MAX_DOMAIN)
    return FALSE;
  return check_labels (text, len);
}

/**
 * mg_domain_is_valid:
 * @text: (nullable): a domain name such as "example.org" or "example.org."
 *
 * Returns: %TRUE when @text is a syntactically valid domain
 */
gboolean
mg_domain_is_valid (const char *text)
{
  if (text == NULL)
    return FALSE;
  return domain_is_valid_len (text, strlen (text));
}

/**
 * mg_domain_canonical:
 * @text: (nullable): a domain name
 *
 * Returns: (transfer full) (nullable): the lower-case domain without its
 *   trailing dot, or %NULL when @text is not a valid domain
 */
char *
mg_domain_canonical (const char *text)
{
  if (!mg_domain_is_valid (text))
    return NULL;
  return canonical_domain (text, strlen (text));
}

/* ---- IP literals ---------------------------------------------------- */

/* Strict dotted quad: four decimal octets 0..255, no leading zeros. */
static gboolean
is_ipv4_dotted (const char *text,
                gsize       len)
{
  guint parts = 0;
  gsize i = 0;

  while (i < len)
    {
      guint value = 0;
      gsize digits = 0;
      gsize start = i;

      while (i < len && g_ascii_isdigit (text[i]) && digits < 4)
        {
          value = value * 10 + (guint) (text[i] - '0');
          digits++;
          i++;
        }
      if (digits == 0 || digits > 3 || value > 255)
        return FALSE;
      if (digits > 1 && text[start] == '0')
        return FALSE;
      parts++;
      if (i == len)
        break;
      if (text[i] != '.' || parts == 4)
        return FALSE;
      i++;
      if (i == len)
        return FALSE;           /* trailing dot */
    }

  return parts == 4;
}

/* Does @text look like an attempt at a dotted quad (digits and dots only)? */
static gboolean
looks_numeric (const char *text,
               gsize       len)
{
  gsize bare = len;

  if (bare > 0 && text[bare - 1] == '.')
    bare--;
  for (gsize i = 0; i < bare; i++)
    if (!g_ascii_isdigit (text[i]) && text[i] != '.')
      return FALSE;
  return bare > 0;
}

/* Returns the normalised textual form of an IPv6 address, or NULL. */
static char *
ipv6_canonical (const char *text,
                gsize       len)
{
  g_autofree char *copy = NULL;
  g_autoptr(GInetAddress) address = NULL;

  if (len == 0 || len > 45)
    return NULL;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (text[i]) && text[i] != ':' && text[i] != '.')
      return NULL;              /* no scope ids, no junk */
  copy = g_strndup (text, len);
  if (strchr (copy, ':') == NULL)
    return NULL;
  address = g_inet_address_new_from_string (copy);
  if (address == NULL
      || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return NULL;
  return g_inet_address_to_string (address);
}

static char *
ipv4_canonical (const char *text,
                gsize       len)
{
  if (!is_ipv4_dotted (text, len))
    return NULL;
  return g_strndup (text, len);
}

/* Parses the inside of an address-literal ("192.0.2.1" or "IPv6:...").
 * Returns the canonical literal with brackets, or NULL. */
static char *
literal_canonical (const char *text,
                   gsize       len)
{
  g_autofree char *address = NULL;

  if (len > 5 && g_ascii_strncasecmp (text, "IPv6:", 5) == 0)
    {
      address = ipv6_canonical (text + 5, len - 5);
      if (address == NULL)
        return NULL;
      return g_strdup_printf ("[IPv6:%s]", address);
    }

  address = ipv4_canonical (text, len);
  if (address == NULL)
    return NULL;
  return g_strdup_printf ("[%s]", address);
}

/* ---- hosts ---------------------------------------------------------- */

static char *
host_canonical_len (const char *text,
                    gsize       len)
{
  if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
    {
      const char *inner = text + 1;
      gsize inner_len = len - 2;

      if (inner_len > 5 && g_ascii_strncasecmp (inner, "IPv6:", 5) == 0)
        return ipv6_canonical (inner + 5, inner_len - 5);
      if (memchr (inner, ':', inner_len) != NULL)
        return ipv6_canonical (inner, inner_len);
      return ipv4_canonical (inner, inner_len);
    }

  if (memchr (text, ':', len) != NULL)
    return ipv6_canonical (text, len);
  if (looks_numeric (text, len))
    return ipv4_canonical (text, len);
  if (!domain_is_valid_len (text, len))
    return NULL;
  return canonical_domain (text, len);
}

/**
 * mg_host_canonical:
 * @text: (nullable): a domain name, an IPv4 address, or an IPv6 address
 *   with or without brackets ("[::1]", "::1", "[IPv6:::1]")
 *
 * Returns: (transfer full) (nullable): the lower-case host without
 *   brackets (IPv6 in its compressed form), or %NULL when invalid
 */
char *
mg_host_canonical (const char *text)
{
  if (text == NULL)
    return NULL;
  return host_canonical_len (text, strlen (text));
}

static gboolean
parse_port (const char *text,
            guint16    *port_out)
{
  guint value = 0;
  gsize i;

  for (i = 0; text[i] != '\0'; i++)
    {
      if (!g_ascii_isdigit (text[i]) || i >= 5)
        return FALSE;
      value = value * 10 + (guint) (text[i] - '0');
    }
  if (i == 0 || value == 0 || value > G_MAXUINT16)
    return FALSE;
  *port_out = (guint16) value;
  return TRUE;
}

/**
 * mg_host_port_parse:
 * @text: "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address
 * @default_port: the port used when @text names none
 * @host_out: (out) (transfer full) (optional): the canonical host
 * @port_out: (out) (optional): the port
 *
 * Returns: %FALSE on a syntax error (outputs untouched)
 */
gboolean
mg_host_port_parse (const char  *text,
                    guint16      default_port,
                    char       **host_out,
                    guint16     *port_out)
{
  g_autofree char *host = NULL;
  guint16 port = default_port;
  const char *colon;

  if (text == NULL || *text == '\0')
    return FALSE;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');

      if (close == NULL)
        return FALSE;
      host = host_canonical_len (text, close - text + 1);
      if (close[1] == ':')
        {
          if (!parse_port (close + 2, &port))
            return FALSE;
        }
      else if (close[1] != '\0')
        return FALSE;
    }
  else if ((colon = strchr (text, ':')) != NULL && strchr (colon + 1, ':') == NULL)
    {
      host = host_canonical_len (text, colon - text);
      if (!parse_port (colon + 1, &port))
        return FALSE;
    }
  else
    {
      /* no colon: a name or IPv4; several colons: a bare IPv6 address */
      host = mg_host_canonical (text);
    }

  if (host == NULL)
    return FALSE;
  if (host_out != NULL)
    *host_out = g_steal_pointer (&host);
  if (port_out != NULL)
    *port_out = port;
  return TRUE;
}

/* ---- local parts and mailboxes -------------------------------------- */

typedef struct
{
  GString  *local;          /* unquoted form */
  gsize     local_written;  /* octets as written, quotes included */
  gboolean  quoted;
  char     *domain;         /* as written, no brackets for literals */
  char     *canonical_domain;
  gboolean  literal;
} Mailbox;

static void
mailbox_clear (Mailbox *box)
{
  if (box->local != NULL)
    g_string_free (box->local, TRUE);
  g_free (box->domain);
  g_free (box->canonical_domain);
  memset (box, 0, sizeof *box);
}

/* Local-part = Dot-string / Quoted-string.  Stops before '@' (or whatever
 * follows).  Returns the index after the local part, or 0 on error. */
static gsize
parse_local_part (const char *text,
                  gsize       len,
                  Mailbox    *box)
{
  gsize i = 0;

  box->local = g_string_new (NULL);

  if (len > 0 && text[0] == '"')
    {
      box->quoted = TRUE;
      for (i = 1; i < len && text[i] != '"'; i++)
        {
          guchar c = (guchar) text[i];

          if (c == '\\')
            {
              i++;
              if (i >= len || (((guchar) text[i] < 32 || (guchar) text[i] > 126)))
                return 0;       /* quoted-pairSMTP = '\' %d32-126 */
              g_string_append_c (box->local, text[i]);
            }
          else if (is_qtext (c))
            g_string_append_c (box->local, (char) c);
          else
            return 0;
        }
      if (i >= len)
        return 0;               /* unterminated */
      i++;                      /* closing quote */
    }
  else
    {
      gboolean after_dot = TRUE;       /* no leading dot */

      for (; i < len; i++)
        {
          guchar c = (guchar) text[i];

          if (c == '.')
            {
              if (after_dot)
                return 0;       /* leading or double dot */
              after_dot = TRUE;
            }
          else if (is_atext (c))
            after_dot = FALSE;
          else
            break;
          g_string_append_c (box->local, (char) c);
        }
      if (after_dot && i > 0)
        return 0;               /* trailing dot */
    }

  if (box->local->len == 0)
    return 0;                   /* empty local parts are refused */
  if (has_high_bytes (box->local->str, box->local->len)
      && !g_utf8_validate_len (box->local->str, box->local->len, NULL))
    return 0;

  box->local_written = i;
  return i;
}

/* Parses the domain or address-literal in text[0..len) completely. */
static MgPathStatus
parse_mailbox_domain (const char *text,
                      gsize       len,
                      Mailbox    *box)
{
  if (len > MAX_PATH_DOMAIN)
    return MG_PATH_TOO_LONG;

  if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
    {
      box->canonical_domain = literal_canonical (text + 1, len - 2);
      if (box->canonical_domain == NULL)
        return MG_PATH_SYNTAX;
      box->literal = TRUE;
      box->domain = g_strndup (text + 1, len - 2);
      return MG_PATH_OK;
    }

  if (!check_labels (text, len))
    return MG_PATH_SYNTAX;
  box->domain = g_strndup (text, len);
  box->canonical_domain = canonical_domain (text, len);
  return MG_PATH_OK;
}

/* Length of a domain or address-literal token starting at @text. */
static gsize
scan_domain (const char *text,
             gsize       len)
{
  gsize i = 0;

  if (len > 0 && text[0] == '[')
    {
      const char *close = memchr (text, ']', len);

      return close != NULL ? (gsize) (close - text) + 1 : 0;
    }
  while (i < len && is_domain_char ((guchar) text[i]))
    i++;
  return i;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), scanned from the
 * start of @text.  *@end is set to the index after the mailbox. */
static MgPathStatus
parse_mailbox (const char *text,
               gsize       len,
               gsize      *end,
               Mailbox    *box)
{
  gsize i;
  gsize domain_len;

  i = parse_local_part (text, len, box);
  if (i == 0 || i >= len || text[i] != '@')
    return MG_PATH_SYNTAX;
  if (box->local_written > MAX_LOCAL_PART)
    return MG_PATH_TOO_LONG;
  i++;

  domain_len = scan_domain (text + i, len - i);
  if (domain_len == 0)
    return MG_PATH_SYNTAX;
  *end = i + domain_len;
  return parse_mailbox_domain (text + i, domain_len, box);
}

static char *
mailbox_canonical (Mailbox *box)
{
  g_autofree char *local = g_ascii_strdown (box->local->str, box->local->len);

  return g_strconcat (local, "@", box->canonical_domain, NULL);
}

/**
 * mg_mailbox_canonical:
 * @text: (nullable): a mailbox such as "User@Example.org"
 *
 * Returns: (transfer full) (nullable): "user@example.org", or %NULL when
 *   @text is not exactly one valid mailbox
 */
char *
mg_mailbox_canonical (const char *text)
{
  Mailbox box = { 0 };
  gsize len;
  gsize end = 0;
  char *result = NULL;

  if (text == NULL)
    return NULL;
  len = strlen (text);
  if (parse_mailbox (text, len, &end, &box) == MG_PATH_OK && end == len)
    result = mailbox_canonical (&box);
  mailbox_clear (&box);
  if (result == NULL || g_strcmp0 (result, text) == 0)
    return result;

  /* Configuration stores the canonical form and parses it again when it
   * loads: a quoted local part that is not valid unquoted ("a b"@x) would
   * be stored, then refused, and the whole configuration would not load.
   * Only forms that read back as themselves are accepted. */
  {
    Mailbox again = { 0 };
    gsize again_len = strlen (result);
    gsize again_end = 0;
    g_autofree char *check = NULL;

    if (parse_mailbox (result, again_len, &again_end, &again) == MG_PATH_OK && again_end == again_len)
      check = mailbox_canonical (&again);
    mailbox_clear (&again);
    if (g_strcmp0 (check, result) != 0)
      g_clear_pointer (&result, g_free);
  }
  return result;
}

/* ---- paths ---------------------------------------------------------- */

/* A-d-l = At-domain *( "," At-domain ) ":" ; At-domain = "@" Domain.
 * Returns the index after ':' or 0 on error. */
static gsize
parse_source_route (const char *text,
                    gsize       len)
{
  gsize i = 0;

  for (;;)
    {
      gsize domain_len;

      if (i >= len || text[i] != '@')
        return 0;
      i++;
      domain_len = scan_domain (text + i, len - i);
      if (domain_len == 0 || text[i] == '['
          || !domain_is_valid_len (text + i, domain_len))
        return 0;
      i += domain_len;
      if (i >= len)
        return 0;
      if (text[i] == ':')
        return i + 1;
      if (text[i] != ',')
        return 0;
      i++;
    }
}

static MgPath *
path_new (const char *local,
          const char *domain,
          char       *canonical)
{
  MgPath *path = g_new0 (MgPath, 1);

  path->local_part = g_strdup (local);
  path->domain = g_strdup (domain);
  path->canonical = canonical;
  return path;
}

/* "<postmaster>" (any case) is the one path without a domain (RFC 5321
 * 4.1.1.3). */
static gboolean
is_bare_postmaster (const char *text,
                    gsize       len)
{
  return len >= 12 && g_ascii_strncasecmp (text, "<postmaster>", 12) == 0;
}

/**
 * mg_path_parse:
 * @text: the bytes after "FROM:" / "TO:"; need not be NUL-terminated
 * @len: the number of bytes in @text
 * @consumed: (out): bytes up to and including '>' on success
 * @path_out: (out) (transfer full): the parsed path on success
 *
 * Returns: %MG_PATH_OK, or why the path was refused
 */
MgPathStatus
mg_path_parse (const char  *text,
               gsize        len,
               gsize       *consumed,
               MgPath     **path_out)
{
  Mailbox box = { 0 };
  MgPathStatus status;
  gboolean source_route = FALSE;
  gsize start = 0;
  gsize i;
  gsize end = 0;
  MgPath *path;

  g_return_val_if_fail (text != NULL || len == 0, MG_PATH_SYNTAX);
  g_return_val_if_fail (path_out != NULL, MG_PATH_SYNTAX);

  if (len == 0)
    return MG_PATH_SYNTAX;   /* also keeps "text + 0" off a NULL @text */
  while (start < len && text[start] == ' ')
    start++;
  text += start;
  len -= start;

  if (len < 2 || text[0] != '<')
    return MG_PATH_SYNTAX;

  if (text[1] == '>')
    {
      path = path_new ("", "", g_strdup (""));
      path->null_path = TRUE;
      if (consumed != NULL)
        *consumed = start + 2;
      *path_out = path;
      return MG_PATH_OK;
    }

  if (is_bare_postmaster (text, len))
    {
      path = path_new ("", "", g_strdup ("postmaster"));
      g_free (path->local_part);
      path->local_part = g_strndup (text + 1, 10);
      if (consumed != NULL)
        *consumed = start + 12;
      *path_out = path;
      return MG_PATH_OK;
    }

  i = 1;
  if (text[1] == '@')
    {
      gsize route_len = parse_source_route (text + 1, len - 1);

      if (route_len == 0)
        return MG_PATH_SYNTAX;
      source_route = TRUE;      /* RFC 5321 appendix C: parsed, then dropped */
      i += route_len;
    }

  status = parse_mailbox (text + i, len - i, &end, &box);
  if (status == MG_PATH_OK)
    {
      i += end;
      if (i >= len || text[i] != '>')
        status = MG_PATH_SYNTAX;
      else if (i + 1 > MAX_PATH)
        status = MG_PATH_TOO_LONG;
    }
  if (status != MG_PATH_OK)
    {
      mailbox_clear (&box);
      return status;
    }

  path = path_new (box.local->str, box.domain, mailbox_canonical (&box));
  path->quoted = box.quoted;
  path->source_route = source_route;
  path->domain_literal = box.literal;
  mailbox_clear (&box);

  if (consumed != NULL)
    *consumed = start + i + 1;
  *path_out = path;
  return MG_PATH_OK;
}

/**
 * mg_path_free:
 * @path: (nullable) (transfer full): a path from mg_path_parse()
 */
void
mg_path_free (MgPath *path)
{
  if (path == NULL)
    return;
  g_free (path->local_part);
  g_free (path->domain);
  g_free (path->canonical);
  g_free (path);
}

/**
 * mg_path_has_routing:
 * @path: a parsed path
 *
 * Returns: %TRUE when the path carries syntax that asks for relaying
 *   through us: '%', '!' or '@' in the local part, or a source route
 *   (R-2.5 open-relay refusals)
 */
gboolean
mg_path_has_routing (const MgPath *path)
{
  g_return_val_if_fail (path != NULL, FALSE);

  if (path->source_route)
    return TRUE;
  return strpbrk (path->local_part, "%!@") != NULL;
}
