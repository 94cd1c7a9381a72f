/* test-proxy-protocol.c - PROXY protocol v1/v2 headers (scale-out)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every valid header is also fed at every split point: each proper prefix
 * must ask for more bytes, never succeed early or fail.
 */
#include "config.h"

#include <string.h>

#include "mg-proxy-protocol.h"

typedef struct
{
  const char *name;
  const char *data;
  gsize       length;        /* 0: strlen (data) */
  const char *source;        /* NULL: local */
  guint16     source_port;
  const char *destination;
  guint16     destination_port;
  gsize       header_length; /* bytes the header takes */
} ValidCase;

#define SMTP "EHLO client.example\r\n"

static const ValidCase valid_cases[] = {
  { "v1 tcp4", "PROXY TCP4 192.0.2.10 198.51.100.1 56324 25\r\n" SMTP, 0,
    "192.0.2.10", 56324, "198.51.100.1", 25, 45 },
  { "v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::25 65535 2525\r\n", 0,
    "2001:db8::1", 65535, "2001:db8::25", 2525, 48 },
  { "v1 port 0", "PROXY TCP4 192.0.2.10 198.51.100.1 0 25\r\n", 0,
    "192.0.2.10", 0, "198.51.100.1", 25, 41 },
  { "v1 unknown", "PROXY UNKNOWN\r\n" SMTP, 0, NULL, 0, NULL, 0, 15 },
  { "v1 unknown with addresses", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", 0,
    NULL, 0, NULL, 0, 59 },
  { "v2 tcp4",
    "\r\n\r\n\0\r\nQUIT\n" "\x21\x11\x00\x0c" "\xc0\x00\x02\x0a" "\xc6\x33\x64\x01" "\xdc\x04\x00\x19"
    SMTP, 28 + 21, "192.0.2.10", 56324, "198.51.100.1", 25, 28 },
  { "v2 tcp6 with a TLV",
    "\r\n\r\n\0\r\nQUIT\n" "\x21\x21\x00\x29"
    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x25"
    "\x01\xbb\x00\x19"
    "\x04\x00\x02" "ab",                       /* PP2_TYPE_NOOP, 2 bytes */
    16 + 41, "2001:db8::1", 443, "2001:db8::25", 25, 57 },
  { "v2 local (health check)",
    "\r\n\r\n\0\r\nQUIT\n" "\x20\x00\x00\x00" SMTP, 16 + 21, NULL, 0, NULL, 0, 16 },
  { "v2 proxy unspec",
    "\r\n\r\n\0\r\nQUIT\n" "\x21\x00\x00\x00", 16, NULL, 0, NULL, 0, 16 },
};

static void
check_valid (const ValidCase *c)
{
  gsize length = c->length != 0 ? c->length : strlen (c->data);
  MgProxyHeader header;
  const char *why = NULL;
  MgProxyStatus status;

  g_test_message ("%s", c->name);
  status = mg_proxy_parse ((const guint8 *) c->data, length, &header, &why);
  g_assert_cmpstr (why, ==, NULL);
  g_assert_cmpint (status, ==, MG_PROXY_OK);
  g_assert_cmpuint (header.length, ==, c->header_length);
  g_assert_cmpuint (header.version, ==, c->name[1] - '0');
  if (c->source == NULL)
    {
      g_assert_true (header.local);
      g_assert_null (header.source);
    }
  else
    {
      g_autofree char *source = g_inet_address_to_string (header.source);
      g_autofree char *destination = g_inet_address_to_string (header.destination);

      g_assert_false (header.local);
      g_assert_cmpstr (source, ==, c->source);
      g_assert_cmpuint (header.source_port, ==, c->source_port);
      g_assert_cmpstr (destination, ==, c->destination);
      g_assert_cmpuint (header.destination_port, ==, c->destination_port);
    }
  mg_proxy_header_clear (&header);

  /* every proper prefix of the header asks for more */
  for (gsize n = 0; n < c->header_length; n++)
    {
      status = mg_proxy_parse ((const guint8 *) c->data, n, &header, &why);
      if (status != MG_PROXY_NEED_MORE)
        g_error ("%s: prefix of %" G_GSIZE_FORMAT " bytes gave %d (%s)",
                 c->name, n, status, why);
    }
}

static void
test_valid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_cases); i++)
    check_valid (&valid_cases[i]);
}

typedef struct
{
  const char *data;
  gsize       length;   /* 0: strlen */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "EHLO client.example\r\n" },                                  /* no header: never SMTP */
  { "PROXY TCP4 192.0.2.10 198.51.100.1 56324 25\n" },            /* LF only */
  { "PROXY TCP4  192.0.2.10 198.51.100.1 56324 25\r\n" },         /* two spaces */
  { "PROXY TCP4 192.0.2.10 198.51.100.1 056324 25\r\n" },         /* leading zero */
  { "PROXY TCP4 192.0.2.10 198.51.100.1 65536 25\r\n" },          /* port range */
  { "PROXY TCP4 2001:db8::1 198.51.100.1 1 25\r\n" },             /* wrong family */
  { "PROXY TCP6 192.0.2.10 2001:db8::1 1 25\r\n" },               /* wrong family */
  { "PROXY TCP4 192.0.2.300 198.51.100.1 1 25\r\n" },             /* bad address */
  { "PROXY TCP4 mx.example 198.51.100.1 1 25\r\n" },              /* names are not addresses */
  { "PROXY UDP4 192.0.2.10 198.51.100.1 1 25\r\n" },
  { "PROXY TCP4 192.0.2.10 198.51.100.1 1\r\n" },                 /* missing port */
  { "PROXY TCP4 192.0.2.10 198.51.100.1 1 25 extra\r\n" },
  { "PROXY TCP4 192.0.2.10 198.51.100.1 56324 25 "
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },  /* > 107, no CRLF */
  { "PROXY TCP4 192.0.2.10\0 198.51.100.1 1 25\r\n", 42 },        /* NUL */
  { "\r\n\r\n\0\r\nQUIT\n" "\x11\x11\x00\x0c", 16 },              /* version 1 in v2 */
  { "\r\n\r\n\0\r\nQUIT\n" "\x22\x11\x00\x0c", 16 },              /* command 2 */
  { "\r\n\r\n\0\r\nQUIT\n" "\x21\x12\x00\x0c" "\xc0\x00\x02\x0a\xc6\x33\x64\x01\xdc\x04\x00\x19", 28 },  /* UDP */
  { "\r\n\r\n\0\r\nQUIT\n" "\x21\x11\x00\x08" "\xc0\x00\x02\x0a\xc6\x33\x64\x01", 24 },  /* too short */
  { "\r\n\r\n\0\r\nQUIT\n" "\x21\x41\x00\x00", 16 },              /* family 4 */
  { "\r\n\r\n\0\r\nQUIX\n" "\x21\x11\x00\x0c", 16 },              /* broken signature */
};

static void
test_invalid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      const InvalidCase *c = &invalid_cases[i];
      gsize length = c->length != 0 ? c->length : strlen (c->data);
      MgProxyHeader header;
      const char *why = NULL;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (mg_proxy_parse ((const guint8 *) c->data, length, &header, &why),
                       ==, MG_PROXY_INVALID);
      g_assert_nonnull (why);
      g_assert_null (header.source);
    }
}

/* A v1 header may not be longer than 107 bytes even when it ends later. */
static void
test_v1_longest (void)
{
  const char *longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  MgProxyHeader header;

  g_assert_cmpuint (strlen (longest), ==, 104);
  g_assert_cmpint (mg_proxy_parse ((const guint8 *) longest, strlen (longest), &header, NULL),
                   ==, MG_PROXY_OK);
  g_assert_cmpuint (header.length, ==, 104);
  mg_proxy_header_clear (&header);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/proxy-protocol/valid", test_valid);
  g_test_add_func ("/proxy-protocol/invalid", test_invalid);
  g_test_add_func ("/proxy-protocol/v1-longest", test_v1_longest);

  return g_test_run ();
}
