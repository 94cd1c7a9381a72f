/* test-address.c - tests for mg-address.c (RFC 5321 paths, domains, hosts)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Table-driven: each row is an input and the expected outcome.  Paths are
 * given with an explicit length so NUL bytes can be part of the input.
 * R-1.2 (RFC 5321 syntax), R-2.5 (routing syntax used for open relay).
 *
 * Threading: single-threaded test program.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "mg-address.h"

#define LEN_STR  G_MAXSIZE     /* "use strlen" */

typedef struct
{
  const char   *text;
  gsize         len;
  MgPathStatus  status;
  gsize         consumed;
  const char   *local_part;
  const char   *domain;
  const char   *canonical;
  gboolean      null_path;
  gboolean      quoted;
  gboolean      source_route;
  gboolean      domain_literal;
  gboolean      routing;
} PathCase;

static const PathCase valid_paths[] = {
  /* plain */
  { "<user@example.org>", LEN_STR, MG_PATH_OK, 18, "user", "example.org", "user@example.org", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* case: canonical is lower case, local_part keeps case */
  { "<John.Doe@Example.ORG>", LEN_STR, MG_PATH_OK, 22, "John.Doe", "Example.ORG", "john.doe@example.org", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* spaces before '<' are tolerated */
  { "   <a@b.example>", LEN_STR, MG_PATH_OK, 16, "a", "b.example", "a@b.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* trailing junk after '>' is not consumed */
  { "<a@b.example> SIZE=1000", LEN_STR, MG_PATH_OK, 13, "a", "b.example", "a@b.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  { "<a@b.example>>", LEN_STR, MG_PATH_OK, 13, "a", "b.example", "a@b.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* null path */
  { "<>", LEN_STR, MG_PATH_OK, 2, "", "", "", TRUE, FALSE, FALSE, FALSE, FALSE },
  { " <> BODY=8BITMIME", LEN_STR, MG_PATH_OK, 3, "", "", "", TRUE, FALSE, FALSE, FALSE, FALSE },
  /* trailing dot on the domain: kept as written, dropped in canonical */
  { "<u@example.org.>", LEN_STR, MG_PATH_OK, 16, "u", "example.org.", "u@example.org", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* single-label domain */
  { "<root@localhost>", LEN_STR, MG_PATH_OK, 16, "root", "localhost", "root@localhost", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* atext specials */
  { "<a!b#c$d%e&f'g*h+i-j/k=l?m^n_o`p{q|r}s~t@x.example>", LEN_STR, MG_PATH_OK, 51,
    "a!b#c$d%e&f'g*h+i-j/k=l?m^n_o`p{q|r}s~t", "x.example", "a!b#c$d%e&f'g*h+i-j/k=l?m^n_o`p{q|r}s~t@x.example", FALSE, FALSE, FALSE, FALSE, TRUE },
  /* quoted local parts, escapes removed in the unquoted form */
  { "<\"john doe\"@example.org>", LEN_STR, MG_PATH_OK, 24, "john doe", "example.org", "john doe@example.org", FALSE, TRUE, FALSE, FALSE, FALSE },
  { "<\"a\\\"b\\\\c\"@example.org>", LEN_STR, MG_PATH_OK, 23, "a\"b\\c", "example.org", "a\"b\\c@example.org", FALSE, TRUE, FALSE, FALSE, FALSE },
  { "<\"Plain\"@Example.org>", LEN_STR, MG_PATH_OK, 21, "Plain", "Example.org", "plain@example.org", FALSE, TRUE, FALSE, FALSE, FALSE },
  { "<\"a>b\"@example.org>", LEN_STR, MG_PATH_OK, 19, "a>b", "example.org", "a>b@example.org", FALSE, TRUE, FALSE, FALSE, FALSE },
  /* R-2.5: routing syntax */
  { "<\"user@other.example\"@example.org>", LEN_STR, MG_PATH_OK, 34, "user@other.example", "example.org", "user@other.example@example.org", FALSE, TRUE, FALSE, FALSE, TRUE },
  { "<user%other.example@example.org>", LEN_STR, MG_PATH_OK, 32, "user%other.example", "example.org", "user%other.example@example.org", FALSE, FALSE, FALSE, FALSE, TRUE },
  { "<other.example!user@example.org>", LEN_STR, MG_PATH_OK, 32, "other.example!user", "example.org", "other.example!user@example.org", FALSE, FALSE, FALSE, FALSE, TRUE },
  { "<\"user%x\"@example.org>", LEN_STR, MG_PATH_OK, 22, "user%x", "example.org", "user%x@example.org", FALSE, TRUE, FALSE, FALSE, TRUE },
  /* source route: parsed and dropped (RFC 5321 appendix C) */
  { "<@a.example,@b.example:user@c.example>", LEN_STR, MG_PATH_OK, 38, "user", "c.example", "user@c.example", FALSE, FALSE, TRUE, FALSE, TRUE },
  { "<@a.example:user@c.example>", LEN_STR, MG_PATH_OK, 27, "user", "c.example", "user@c.example", FALSE, FALSE, TRUE, FALSE, TRUE },
  /* address literals */
  { "<u@[192.0.2.1]>", LEN_STR, MG_PATH_OK, 15, "u", "192.0.2.1", "u@[192.0.2.1]", FALSE, FALSE, FALSE, TRUE, FALSE },
  { "<u@[IPv6:2001:DB8::1]>", LEN_STR, MG_PATH_OK, 22, "u", "IPv6:2001:DB8::1", "u@[IPv6:2001:db8::1]", FALSE, FALSE, FALSE, TRUE, FALSE },
  { "<u@[ipv6:::1]>", LEN_STR, MG_PATH_OK, 14, "u", "ipv6:::1", "u@[IPv6:::1]", FALSE, FALSE, FALSE, TRUE, FALSE },
  /* "<postmaster>" without a domain (RFC 5321 4.1.1.3) */
  { "<postmaster>", LEN_STR, MG_PATH_OK, 12, "postmaster", "", "postmaster", FALSE, FALSE, FALSE, FALSE, FALSE },
  { " <PostMaster>", LEN_STR, MG_PATH_OK, 13, "PostMaster", "", "postmaster", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* SMTPUTF8 tolerance: UTF-8 local part and domain, ASCII-only lower case */
  { "<J\xc3\xb6rg@B\xc3\xbc" "cher.example>", LEN_STR, MG_PATH_OK, 23, "J\xc3\xb6rg", "B\xc3\xbc" "cher.example", "j\xc3\xb6rg@b\xc3\xbc" "cher.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* NUL after the closing '>' is not our business */
  { "<a@b.example>\0junk", 18, MG_PATH_OK, 13, "a", "b.example", "a@b.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* label of exactly 63 octets */
  { "<a@abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc.example>", LEN_STR, MG_PATH_OK, 75, "a",
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc.example",
    "a@abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc.example", FALSE, FALSE, FALSE, FALSE, FALSE },
  /* local part of exactly 64 octets */
  { "<abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd@x.example>", LEN_STR, MG_PATH_OK, 76,
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", "x.example",
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd@x.example", FALSE, FALSE, FALSE, FALSE, FALSE },
};

typedef struct
{
  const char   *text;
  gsize         len;
  MgPathStatus  status;
} BadPathCase;

static const BadPathCase invalid_paths[] = {
  { "", LEN_STR, MG_PATH_SYNTAX },
  { "   ", LEN_STR, MG_PATH_SYNTAX },
  { "user@example.org", LEN_STR, MG_PATH_SYNTAX },              /* no brackets */
  { "<user@example.org", LEN_STR, MG_PATH_SYNTAX },             /* unbalanced */
  { "user@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<<user@example.org>>", LEN_STR, MG_PATH_SYNTAX },
  { "<", LEN_STR, MG_PATH_SYNTAX },
  { "< user@example.org>", LEN_STR, MG_PATH_SYNTAX },           /* space inside */
  { "<user@example.org >", LEN_STR, MG_PATH_SYNTAX },
  { "<user @example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "< >", LEN_STR, MG_PATH_SYNTAX },
  { "<user>", LEN_STR, MG_PATH_SYNTAX },                        /* no domain */
  { "<postmasters>", LEN_STR, MG_PATH_SYNTAX },
  { "<\"postmaster\">", LEN_STR, MG_PATH_SYNTAX },
  { "<user@>", LEN_STR, MG_PATH_SYNTAX },
  { "<@example.org>", LEN_STR, MG_PATH_SYNTAX },                /* empty local part */
  { "<\"\"@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<.user@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user.@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<us..er@example.org>", LEN_STR, MG_PATH_SYNTAX },          /* double dot */
  { "<user@example..org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@.example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@example.org..>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@.>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@-example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@example-.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@exa_mple.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<a@b@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<user(comment)@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<\"unterminated@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<\"bad\\\x01\"@example.org>", LEN_STR, MG_PATH_SYNTAX },    /* quoted-pair outside 32..126 */
  { "<\"tab\there\"@example.org>", LEN_STR, MG_PATH_SYNTAX },
  { "<us\0er@example.org>", 19, MG_PATH_SYNTAX },               /* NUL inside */
  { "<user@exa\0mple.org>", 19, MG_PATH_SYNTAX },
  { "<\"us\0er\"@example.org>", 21, MG_PATH_SYNTAX },
  { "<user@example.org\0>", 19, MG_PATH_SYNTAX },
  { "<user@[192.0.2.256]>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@[192.0.2]>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@[IPv6:2001:db8::g]>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@[IPv6:192.0.2.1]>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@[2001:db8::1]>", LEN_STR, MG_PATH_SYNTAX },         /* IPv6 needs the tag */
  { "<user@[x-tag:stuff]>", LEN_STR, MG_PATH_SYNTAX },          /* general literal */
  { "<user@[192.0.2.1>", LEN_STR, MG_PATH_SYNTAX },
  { "<@a.example:>", LEN_STR, MG_PATH_SYNTAX },
  { "<@a.example,user@c.example>", LEN_STR, MG_PATH_SYNTAX },
  { "<@:user@c.example>", LEN_STR, MG_PATH_SYNTAX },
  { "<@a..example:user@c.example>", LEN_STR, MG_PATH_SYNTAX },
  { "<user@example.org", 10, MG_PATH_SYNTAX },                  /* len cuts before '>' */
  { "<J\xc3rg@example.org>", LEN_STR, MG_PATH_SYNTAX },          /* invalid UTF-8 */
  { "<user@b\xfc" "cher.example>", LEN_STR, MG_PATH_SYNTAX },
  /* label of 64 octets */
  { "<a@abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd.example>", LEN_STR, MG_PATH_SYNTAX },
  /* local part of 65 octets */
  { "<abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde@x.example>", LEN_STR, MG_PATH_TOO_LONG },
  /* quoted local part: 64 octets unquoted but 66 as written */
  { "<\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd\"@x.example>", LEN_STR, MG_PATH_TOO_LONG },
};

/* Logs a test input; escaped, since some inputs are not valid UTF-8. */
static void
show_input (const char *what,
            const char *text)
{
  g_autofree char *escaped = g_strescape (text, NULL);

  g_test_message ("%s%s", what, escaped);
}

static void
check_path_case (const char *text,
                 gsize       len,
                 const PathCase *c)
{
  g_autoptr(MgPath) path = NULL;
  gsize consumed = 0;
  MgPathStatus status;

  status = mg_path_parse (text, len, &consumed, &path);
  g_assert_cmpint (status, ==, MG_PATH_OK);
  g_assert_nonnull (path);
  g_assert_cmpuint (consumed, ==, c->consumed);
  g_assert_cmpstr (path->local_part, ==, c->local_part);
  g_assert_cmpstr (path->domain, ==, c->domain);
  g_assert_cmpstr (path->canonical, ==, c->canonical);
  g_assert_cmpint (path->null_path, ==, c->null_path);
  g_assert_cmpint (path->quoted, ==, c->quoted);
  g_assert_cmpint (path->source_route, ==, c->source_route);
  g_assert_cmpint (path->domain_literal, ==, c->domain_literal);
  g_assert_cmpint (mg_path_has_routing (path), ==, c->routing);
}

/* R-1.2: valid paths give the expected fields and stop at '>' */
static void
test_path_valid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_paths); i++)
    {
      const PathCase *c = &valid_paths[i];
      gsize len = c->len == LEN_STR ? strlen (c->text) : c->len;

      show_input ("valid path: ", c->text);
      check_path_case (c->text, len, c);

      /* the path must not depend on a terminating NUL: copy exactly len
       * bytes into a buffer without one */
      {
        g_autofree char *copy = g_memdup2 (c->text, len);

        check_path_case (copy, len, c);
      }
    }
}

/* R-1.2: invalid paths are refused with the right status */
static void
test_path_invalid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_paths); i++)
    {
      const BadPathCase *c = &invalid_paths[i];
      gsize len = c->len == LEN_STR ? strlen (c->text) : c->len;
      MgPath *path = NULL;
      gsize consumed = 12345;

      show_input ("invalid path: ", c->text);
      g_assert_cmpint (mg_path_parse (c->text, len, &consumed, &path), ==, c->status);
      g_assert_null (path);
      g_assert_cmpuint (consumed, ==, 12345);
    }
}

static char *
repeat_char (char  c,
             gsize n)
{
  char *s = g_malloc (n + 1);

  memset (s, c, n);
  s[n] = '\0';
  return s;
}

/* Builds a valid-looking domain of exactly @len octets (labels <= 63). */
static char *
make_domain (gsize len)
{
  GString *s = g_string_new (NULL);
  gsize remaining = len;

  while (remaining > 63)
    {
      for (gsize i = 0; i < 50; i++)
        g_string_append_c (s, 'a' + (char) (i % 26));
      g_string_append_c (s, '.');
      remaining -= 51;
    }
  for (gsize i = 0; i < remaining; i++)
    g_string_append_c (s, 'k' + (char) (i % 16));
  return g_string_free (s, FALSE);
}

/* R-1.2: RFC 5321 4.5.3.1 size limits */
static void
test_path_limits (void)
{
  struct
  {
    gsize        local_len;
    gsize        domain_len;
    MgPathStatus status;
  } cases[] = {
    { 64, 100, MG_PATH_OK },
    { 65, 100, MG_PATH_TOO_LONG },
    { 10, 243, MG_PATH_OK },              /* path = 1 + 10 + 1 + 243 + 1 = 256 */
    { 11, 243, MG_PATH_TOO_LONG },        /* path 257 */
    { 1, 255, MG_PATH_TOO_LONG },         /* path 259 */
    { 1, 256, MG_PATH_TOO_LONG },         /* domain > 255 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *local = repeat_char ('x', cases[i].local_len);
      g_autofree char *domain = make_domain (cases[i].domain_len);
      g_autofree char *text = g_strdup_printf ("<%s@%s>", local, domain);
      g_autoptr(MgPath) path = NULL;
      gsize consumed = 0;

      g_assert_cmpuint (strlen (domain), ==, cases[i].domain_len);
      g_assert_true (mg_domain_is_valid (domain) == (cases[i].domain_len <= 253));
      g_assert_cmpint (mg_path_parse (text, strlen (text), &consumed, &path), ==, cases[i].status);
      if (cases[i].status == MG_PATH_OK)
        {
          g_assert_nonnull (path);
          g_assert_cmpuint (consumed, ==, strlen (text));
        }
      else
        g_assert_null (path);
    }
}

/* R-1.2: every prefix of a valid path is refused (no reading past len) */
static void
test_path_truncated (void)
{
  const char *text = "<@a.example:\"x y\"@[IPv6:2001:db8::1]>";
  gsize len = strlen (text);

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree char *copy = g_memdup2 (text, cut);
      MgPath *path = NULL;
      gsize consumed = 0;

      g_assert_cmpint (mg_path_parse (copy, cut, &consumed, &path), ==, MG_PATH_SYNTAX);
      g_assert_null (path);
    }
}

typedef struct
{
  const char *text;
  const char *canonical;   /* NULL = invalid */
} CanonCase;

static void
test_domain_canonical (void)
{
  static const CanonCase cases[] = {
    { "example.org", "example.org" },
    { "Example.ORG", "example.org" },
    { "example.org.", "example.org" },
    { "localhost", "localhost" },
    { "a-b.c-d.example", "a-b.c-d.example" },
    { "xn--bcher-kva.example", "xn--bcher-kva.example" },
    { "B\xc3\x9c" "CHER.example", "b\xc3\x9c" "cher.example" },   /* ASCII-only lower case */
    { "123.example", "123.example" },
    { "", NULL },
    { ".", NULL },
    { "..", NULL },
    { "example..org", NULL },
    { ".example.org", NULL },
    { "example.org..", NULL },
    { "-example.org", NULL },
    { "example-.org", NULL },
    { "exa mple.org", NULL },
    { "exa_mple.org", NULL },
    { "user@example.org", NULL },
    { "[192.0.2.1]", NULL },
    { "b\xfc" "cher.example", NULL },
    { "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd.example", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *canon = mg_domain_canonical (cases[i].text);

      show_input ("domain: ", cases[i].text);
      g_assert_cmpstr (canon, ==, cases[i].canonical);
      g_assert_true (mg_domain_is_valid (cases[i].text) == (cases[i].canonical != NULL));
    }

  g_assert_null (mg_domain_canonical (NULL));
  g_assert_false (mg_domain_is_valid (NULL));

  /* total length: 253 octets valid (with or without trailing dot), 254 not */
  {
    g_autofree char *d253 = make_domain (253);
    g_autofree char *d253dot = g_strconcat (d253, ".", NULL);
    g_autofree char *d254 = make_domain (254);

    g_assert_true (mg_domain_is_valid (d253));
    g_assert_true (mg_domain_is_valid (d253dot));
    g_assert_false (mg_domain_is_valid (d254));
  }
}

static void
test_mailbox_canonical (void)
{
  static const CanonCase cases[] = {
    { "user@example.org", "user@example.org" },
    { "User@Example.ORG", "user@example.org" },
    { "user@example.org.", "user@example.org" },
    { "*@corp.example", "*@corp.example" },
    { "\"john\"@example.org", "john@example.org" },
    /* configuration stores the canonical form and must read it back: a
     * quoted local part that is not valid unquoted is refused (fuzz F2) */
    { "\"john doe\"@example.org", NULL },
    { "u@[192.0.2.1]", "u@[192.0.2.1]" },
    { "u@[IPv6:2001:DB8:0::1]", "u@[IPv6:2001:db8::1]" },
    { "", NULL },
    { "user", NULL },
    { "postmaster", NULL },
    { "@example.org", NULL },
    { "user@", NULL },
    { "<user@example.org>", NULL },
    { "user@example.org ", NULL },
    { " user@example.org", NULL },
    { "user@example.org>", NULL },
    { "us..er@example.org", NULL },
    { "a@b@example.org", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *canon = mg_mailbox_canonical (cases[i].text);

      show_input ("mailbox: ", cases[i].text);
      g_assert_cmpstr (canon, ==, cases[i].canonical);
    }
  g_assert_null (mg_mailbox_canonical (NULL));
}

static void
test_host_canonical (void)
{
  static const CanonCase cases[] = {
    { "mail.example.org", "mail.example.org" },
    { "MAIL.Example.org.", "mail.example.org" },
    { "192.0.2.1", "192.0.2.1" },
    { "[192.0.2.1]", "192.0.2.1" },
    { "::1", "::1" },
    { "[::1]", "::1" },
    { "[IPv6:::1]", "::1" },
    { "2001:DB8:0:0::1", "2001:db8::1" },
    { "[2001:db8::1]", "2001:db8::1" },
    { "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
    { "", NULL },
    { "[]", NULL },
    { "192.0.2.256", NULL },
    { "192.0.2", NULL },
    { "192.0.2.1.", NULL },
    { "010.0.0.1", NULL },
    { "2001:db8::g", NULL },
    { "fe80::1%eth0", NULL },
    { "[::1", NULL },
    { "::1]", NULL },
    { "[mail.example.org]", NULL },
    { "mail.example.org:25", NULL },
    { "exa mple.org", NULL },
    { "-bad.example", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *canon = mg_host_canonical (cases[i].text);

      show_input ("host: ", cases[i].text);
      g_assert_cmpstr (canon, ==, cases[i].canonical);
    }
  g_assert_null (mg_host_canonical (NULL));
}

static void
test_host_port (void)
{
  static const struct
  {
    const char *text;
    gboolean    ok;
    const char *host;
    guint16     port;
  } cases[] = {
    { "mail.example.org", TRUE, "mail.example.org", 2525 },
    { "Mail.Example.org:25", TRUE, "mail.example.org", 25 },
    { "mail.example.org:587", TRUE, "mail.example.org", 587 },
    { "192.0.2.1:1", TRUE, "192.0.2.1", 1 },
    { "192.0.2.1", TRUE, "192.0.2.1", 2525 },
    { "[::1]:25", TRUE, "::1", 25 },
    { "[::1]", TRUE, "::1", 2525 },
    { "::1", TRUE, "::1", 2525 },
    { "2001:db8::1", TRUE, "2001:db8::1", 2525 },
    { "[2001:db8::1]:65535", TRUE, "2001:db8::1", 65535 },
    { "[192.0.2.1]:25", TRUE, "192.0.2.1", 25 },
    { "", FALSE, NULL, 0 },
    { ":25", FALSE, NULL, 0 },
    { "host:", FALSE, NULL, 0 },
    { "host:0", FALSE, NULL, 0 },
    { "host:65536", FALSE, NULL, 0 },
    { "host:100000", FALSE, NULL, 0 },
    { "host:-1", FALSE, NULL, 0 },
    { "host:+25", FALSE, NULL, 0 },
    { "host:25x", FALSE, NULL, 0 },
    { "host: 25", FALSE, NULL, 0 },
    { "host :25", FALSE, NULL, 0 },
    { "[::1]25", FALSE, NULL, 0 },
    { "[::1]:", FALSE, NULL, 0 },
    { "[::1", FALSE, NULL, 0 },
    { "[mail.example.org]:25", FALSE, NULL, 0 },
    { "::1:25x", FALSE, NULL, 0 },
    { "bad_host:25", FALSE, NULL, 0 },
    { "host:25:26", FALSE, NULL, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *host = NULL;
      guint16 port = 7;
      gboolean ok;

      show_input ("host:port: ", cases[i].text);
      ok = mg_host_port_parse (cases[i].text, 2525, &host, &port);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_cmpstr (host, ==, cases[i].host);
          g_assert_cmpuint (port, ==, cases[i].port);
        }
      else
        {
          g_assert_null (host);
          g_assert_cmpuint (port, ==, 7);
        }
    }
  g_assert_false (mg_host_port_parse (NULL, 25, NULL, NULL));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/address/path/valid", test_path_valid);
  g_test_add_func ("/address/path/invalid", test_path_invalid);
  g_test_add_func ("/address/path/limits", test_path_limits);
  g_test_add_func ("/address/path/truncated", test_path_truncated);
  g_test_add_func ("/address/domain/canonical", test_domain_canonical);
  g_test_add_func ("/address/mailbox/canonical", test_mailbox_canonical);
  g_test_add_func ("/address/host/canonical", test_host_canonical);
  g_test_add_func ("/address/host/port", test_host_port);

  return g_test_run ();
}
