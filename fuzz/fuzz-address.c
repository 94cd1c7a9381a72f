/* fuzz-address.c - fuzz harness: paths, mailboxes, domains, hosts, relay patterns
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The input is the text after "MAIL FROM:" / "RCPT TO:" as a client sends
 * it (mg_path_parse() gets the raw bytes, not NUL-terminated), and the same
 * bytes up to the first NUL as a configuration string (mailbox, domain,
 * host, host:port, relay rule pattern).  Besides "no crash, no leak, no
 * critical", it checks what callers rely on:
 *  - a parsed path ends with '>' inside the input, its canonical form is
 *    lower case (ASCII) valid UTF-8, and writing the path back out (quoted
 *    again where needed, source route dropped) parses to the same
 *    canonical form;
 *  - the domain and host canonical functions are idempotent, a stored
 *    host:port host parses back to itself, and a relay pattern's
 *    normalised form parses to itself;
 *  - a mailbox valid in the configuration is valid as a path "<mailbox>"
 *    with the same canonical form (the lookup keys agree).
 *
 * Threading: one thread; no state.
 */
#include "config.h"

#include <string.h>

#include "mg-address.h"
#include "mg-config.h"
#include "mg-fuzz.h"

/* Canonical forms are lower case; the tag of an IPv6 literal is always
 * written "[IPv6:" (whatever case the client used). */
static void
assert_no_upper (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_str_has_prefix (p, "[IPv6:"))
        p += 5;
      else if (g_ascii_isupper (*p))
        g_error ("canonical form \"%s\" has upper case", text);
    }
}

/* Writes @path back as a client would, then parses it again. */
static void
check_path_round_trip (const MgPath *path)
{
  g_autoptr(GString) text = g_string_new ("<");
  g_autoptr(MgPath) again = NULL;
  MgPathStatus status;
  gsize consumed = 0;

  if (path->quoted)
    {
      g_string_append_c (text, '"');
      for (const char *p = path->local_part; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (text, '\\');
          g_string_append_c (text, *p);
        }
      g_string_append_c (text, '"');
    }
  else
    g_string_append (text, path->local_part);

  if (path->domain_literal)
    g_string_append_printf (text, "@[%s]>", path->domain);
  else
    g_string_append_printf (text, "@%s>", path->domain);

  status = mg_path_parse (text->str, text->len, &consumed, &again);
  if (status != MG_PATH_OK)
    g_error ("path written back as %s does not parse (%d)", text->str, status);
  g_assert_cmpuint (consumed, ==, text->len);
  g_assert_cmpstr (again->canonical, ==, path->canonical);
  g_assert_cmpstr (again->local_part, ==, path->local_part);
  g_assert_true (again->quoted == path->quoted);
  g_assert_true (again->domain_literal == path->domain_literal);
  g_assert_false (again->source_route);
}

static void
fuzz_path (const guint8 *data,
           gsize         size)
{
  g_autofree char *copy = mg_fuzz_copy (data, size);   /* exact size: overreads trap */
  g_autoptr(MgPath) path = NULL;
  gsize consumed = 0;
  MgPathStatus status;

  status = mg_path_parse (copy, size, &consumed, &path);
  g_assert_true (status == MG_PATH_OK || status == MG_PATH_SYNTAX
                 || status == MG_PATH_TOO_LONG);
  if (status != MG_PATH_OK)
    {
      g_assert_null (path);
      return;
    }

  g_assert_nonnull (path);
  g_assert_cmpuint (consumed, >=, 2);
  g_assert_cmpuint (consumed, <=, size);
  g_assert_cmpint (copy[consumed - 1], ==, '>');
  g_assert_nonnull (path->local_part);
  g_assert_nonnull (path->domain);
  g_assert_nonnull (path->canonical);
  g_assert_true (g_utf8_validate (path->canonical, -1, NULL));
  g_assert_true (g_utf8_validate (path->local_part, -1, NULL));
  g_assert_true (g_utf8_validate (path->domain, -1, NULL));
  assert_no_upper (path->canonical);
  (void) mg_path_has_routing (path);

  if (path->null_path)
    {
      g_assert_cmpstr (path->canonical, ==, "");
      return;
    }
  if (*path->domain == '\0')
    {
      g_assert_cmpstr (path->canonical, ==, "postmaster");   /* "<postmaster>" */
      return;
    }

  g_assert_cmpuint (strlen (path->local_part), >, 0);
  g_assert_nonnull (strchr (path->canonical, '@'));
  g_assert_false (path->domain_literal && path->domain[0] == '[');
  check_path_round_trip (path);
}

typedef char *(*CanonicalFunc) (const char *text);

static void
check_idempotent (CanonicalFunc  func,
                  const char    *name,
                  const char    *text)
{
  g_autofree char *once = func (text);
  g_autofree char *twice = NULL;

  if (once == NULL)
    return;
  g_assert_true (g_utf8_validate (once, -1, NULL));
  assert_no_upper (once);
  twice = func (once);
  if (g_strcmp0 (once, twice) != 0)
    g_error ("%s not idempotent: \"%s\" -> \"%s\" -> \"%s\"", name, text, once,
             twice != NULL ? twice : "(null)");
}

/* A mailbox in the configuration and the same mailbox in an envelope give
 * the same lookup key.  (Not idempotent by design: the key of a quoted
 * local part is unquoted, so it need not be a mailbox itself.) */
static void
check_mailbox (const char *text)
{
  g_autofree char *canonical = mg_mailbox_canonical (text);
  g_autofree char *bracketed = NULL;
  g_autoptr(MgPath) path = NULL;
  MgPathStatus status;
  gsize consumed = 0;

  if (canonical == NULL)
    return;
  g_assert_true (g_utf8_validate (canonical, -1, NULL));
  assert_no_upper (canonical);
  bracketed = g_strdup_printf ("<%s>", text);
  status = mg_path_parse (bracketed, strlen (bracketed), &consumed, &path);
  if (status == MG_PATH_TOO_LONG)
    return;   /* a path has a total limit (256) that a mailbox has not */
  if (status != MG_PATH_OK)
    g_error ("mailbox \"%s\" is valid but the path %s is not (%d)", text, bracketed, status);
  g_assert_cmpuint (consumed, ==, strlen (bracketed));
  g_assert_cmpstr (path->canonical, ==, canonical);
}

static void
fuzz_host_port (const char *text)
{
  g_autofree char *host = NULL;
  g_autofree char *host_again = NULL;
  guint16 port = 0;

  if (!mg_host_port_parse (text, 25, &host, &port))
    return;
  g_assert_nonnull (host);
  g_assert_cmpuint (port, >, 0);
  /* what we would store parses back to itself */
  host_again = mg_host_canonical (host);
  g_assert_cmpstr (host_again, ==, host);
}

static void
fuzz_relay_pattern (const char *text)
{
  g_autofree char *normalised = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autoptr(GInetAddressMask) mask_again = NULL;
  MgRelayPatternKind kind;
  MgRelayPatternKind kind_again;

  if (!mg_relay_rule_parse (text, &normalised, &kind, &mask))
    return;
  g_assert_nonnull (normalised);
  g_assert_true (g_utf8_validate (normalised, -1, NULL));
  g_assert_true ((mask != NULL) == (kind == MG_RELAY_PATTERN_ADDRESS_IP
                                    || kind == MG_RELAY_PATTERN_CIDR));
  if (!mg_relay_rule_parse (normalised, &again, &kind_again, &mask_again))
    g_error ("relay pattern \"%s\" normalised to \"%s\", which is refused", text, normalised);
  g_assert_cmpstr (again, ==, normalised);
  /* "2001:db8::1/128" is written "2001:db8::1" (GLib): the same rule */
  if (kind == MG_RELAY_PATTERN_CIDR && kind_again == MG_RELAY_PATTERN_ADDRESS_IP)
    g_assert_true (g_inet_address_mask_equal (mask, mask_again));
  else
    g_assert_cmpint (kind_again, ==, kind);
}

int
mg_fuzz_address (const guint8 *data,
                 gsize         size)
{
  g_autofree char *copy = mg_fuzz_copy (data, size);
  g_autofree char *text = g_strndup (copy, size);   /* up to the first NUL; never NULL */
  g_autofree char *domain = NULL;

  fuzz_path (data, size);

  check_mailbox (text);
  check_idempotent (mg_domain_canonical, "mg_domain_canonical", text);
  check_idempotent (mg_host_canonical, "mg_host_canonical", text);
  domain = mg_domain_canonical (text);
  g_assert_true (mg_domain_is_valid (text) == (domain != NULL));
  fuzz_host_port (text);
  fuzz_relay_pattern (text);
  return 0;
}

#ifdef MG_FUZZ_LIBFUZZER
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  mg_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        gsize         size)
{
  return mg_fuzz_address (data, size);
}
#endif
