/* test-resolver.c - MX rdata parsing, resolver set-up
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The network side is proven against a real dnsmasq in
 * tests/integration/test_dns.py; here: the pure rdata parser (null MX
 * included) and set-up refusals.
 */
#include "config.h"

#include "mg-resolver.h"

static void
test_mx_rdata (void)
{
  static const guint8 mx[] = { 0, 10, 3, 'M', 'x', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
  g_autofree char *name = NULL;
  guint preference = 0;

  g_assert_true (mg_resolver_parse_mx_rdata (mx, sizeof mx, &preference, &name));
  g_assert_cmpuint (preference, ==, 10);
  g_assert_cmpstr (name, ==, "mx1.example");
}

/* RFC 7505: "MX 0 ." is the root name: "" */
static void
test_null_mx_rdata (void)
{
  static const guint8 null_mx[] = { 0, 0, 0 };
  g_autofree char *name = NULL;
  guint preference = 99;

  g_assert_true (mg_resolver_parse_mx_rdata (null_mx, sizeof null_mx, &preference, &name));
  g_assert_cmpuint (preference, ==, 0);
  g_assert_cmpstr (name, ==, "");
}

static void
test_malformed_rdata (void)
{
  static const guint8 truncated[] = { 0, 10, 5, 'a', 'b' };
  static const guint8 no_end[] = { 0, 10, 1, 'a' };
  static const guint8 pointer[] = { 0, 10, 0xc0, 0x0c };
  char *name = NULL;
  guint preference = 0;

  g_assert_false (mg_resolver_parse_mx_rdata (truncated, sizeof truncated, &preference, &name));
  g_assert_false (mg_resolver_parse_mx_rdata (no_end, sizeof no_end, &preference, &name));
  g_assert_false (mg_resolver_parse_mx_rdata (pointer, sizeof pointer, &preference, &name));
  g_assert_false (mg_resolver_parse_mx_rdata (pointer, 2, &preference, &name));
  g_assert_null (name);
}

static void
test_bad_forwarder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgResolver) resolver = mg_resolver_new ("not-an-address@x", &error);

  g_assert_null (resolver);
  g_assert_error (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_SETUP);
}

static void
test_new_and_free (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgResolver) resolver = mg_resolver_new ("127.0.0.1@53", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (mg_resolver_get_forwarder (resolver), ==, "127.0.0.1@53");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/resolver/mx-rdata/plain", test_mx_rdata);
  g_test_add_func ("/resolver/mx-rdata/null-mx", test_null_mx_rdata);
  g_test_add_func ("/resolver/mx-rdata/malformed", test_malformed_rdata);
  g_test_add_func ("/resolver/setup/bad-forwarder", test_bad_forwarder);
  g_test_add_func ("/resolver/setup/new-and-free", test_new_and_free);

  return g_test_run ();
}
