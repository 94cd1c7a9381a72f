/* test-spf.c - SPF check_host() on canned DNS answers (R-1.7, RFC 7208)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One zone (a table of "TYPE name" -> answers) and a table of cases: client
 * address, domain, sender, expected result and deciding term.  The lookup
 * callback also counts the questions asked, for the lookup limit.
 */
#include "config.h"

#include <string.h>

#include "mg-resolver.h"
#include "mg-spf.h"

typedef struct
{
  const char *type;     /* "TXT", "A", "AAAA", "MX" */
  const char *name;
  const char *answers;  /* "|" separated; "NXDOMAIN"; "SERVFAIL"; "" = NODATA */
} Rr;

static const Rr zone[] = {
  { "TXT", "pass.test", "v=spf1 ip4:192.0.2.1 -all" },
  { "TXT", "cidr.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" },
  { "TXT", "soft.test", "v=spf1 ~all" },
  { "TXT", "neutral.test", "v=spf1 ?all" },
  { "TXT", "default.test", "v=spf1 ip4:10.0.0.1" },
  { "TXT", "plus.test", "some other text|v=spf1 +all" },
  { "TXT", "two.test", "v=spf1 -all|v=spf1 +all" },
  { "TXT", "none.test", "google-site-verification=xyz" },
  { "TXT", "nodomain.test", "NXDOMAIN" },
  { "TXT", "broken.test", "SERVFAIL" },
  { "TXT", "a.test", "v=spf1 a -all" },
  { "A", "a.test", "192.0.2.7" },
  { "TXT", "acidr.test", "v=spf1 a:host.a.test/24 -all" },
  { "A", "host.a.test", "192.0.2.200" },
  { "TXT", "a6.test", "v=spf1 a//64 -all" },
  { "AAAA", "a6.test", "2001:db8:1:2::1" },
  { "TXT", "mx.test", "v=spf1 mx -all" },
  { "MX", "mx.test", "mx1.mx.test|mx2.mx.test" },
  { "A", "mx1.mx.test", "198.51.100.1" },
  { "A", "mx2.mx.test", "198.51.100.2" },
  { "TXT", "inc.test", "v=spf1 include:pass.test ~all" },
  { "TXT", "incnone.test", "v=spf1 include:none.test -all" },
  { "TXT", "incerr.test", "v=spf1 include:broken.test -all" },
  { "TXT", "redir.test", "v=spf1 redirect=pass.test" },
  { "TXT", "redirnone.test", "v=spf1 redirect=none.test" },
  { "TXT", "redir2.test", "v=spf1 ip4:10.9.9.9 redirect=soft.test" },
  { "TXT", "exists.test", "v=spf1 exists:%{i}.allow.test -all" },
  { "A", "192.0.2.1.allow.test", "127.0.0.2" },
  { "A", "192.0.2.9.allow.test", "NXDOMAIN" },
  { "TXT", "macro.test", "v=spf1 exists:%{l}.%{o}.m.test exists:%{ir}.%{v}.%{d2}.r.test -all" },
  { "A", "alice.macro.test.m.test", "127.0.0.2" },
  { "A", "1.2.0.192.in-addr.macro.test.r.test", "127.0.0.2" },
  { "TXT", "badmacro.test", "v=spf1 exists:%{x}.test -all" },
  { "TXT", "syntax.test", "v=spf1 ip4:192.0.2.1 bogus:x -all" },
  { "TXT", "syntax2.test", "v=spf1 ip4:300.1.1.1 -all" },
  { "TXT", "syntax3.test", "v=spf1 +all ip4:192.0.2.0/33" },
  { "TXT", "ptr.test", "v=spf1 ptr -all" },
  { "TXT", "limit.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test "
                         "a:h6.test a:h7.test a:h8.test a:h9.test a:h10.test a:h11.test +all" },
  { "A", "h1.test", "10.0.0.1" },
  { "A", "h2.test", "10.0.0.2" },
  { "A", "h3.test", "10.0.0.3" },
  { "A", "h4.test", "10.0.0.4" },
  { "A", "h5.test", "10.0.0.5" },
  { "A", "h6.test", "10.0.0.6" },
  { "A", "h7.test", "10.0.0.7" },
  { "A", "h8.test", "10.0.0.8" },
  { "A", "h9.test", "10.0.0.9" },
  { "A", "h10.test", "10.0.0.10" },
  { "A", "h11.test", "10.0.0.11" },
  { "TXT", "void.test", "v=spf1 a:v1.test a:v2.test a:v3.test +all" },
  { "TXT", "modifier.test", "v=spf1 exp=explain.test foo=bar -all" },
  { "TXT", "loop.test", "v=spf1 include:loop.test -all" },
  { "TXT", "case.test", "V=SPF1 -ALL" },
};

static MgSpfLookupStatus
lookup_cb (const char   *name,
           MgSpfDnsType  type,
           GPtrArray    *answers,
           gpointer      user_data)
{
  static const char * const types[] = { "TXT", "A", "AAAA", "MX" };
  guint *n_questions = user_data;

  (*n_questions)++;
  for (gsize i = 0; i < G_N_ELEMENTS (zone); i++)
    {
      g_auto(GStrv) parts = NULL;

      if (!g_str_equal (zone[i].type, types[type]) || g_ascii_strcasecmp (zone[i].name, name) != 0)
        continue;
      if (g_str_equal (zone[i].answers, "NXDOMAIN"))
        return MG_SPF_LOOKUP_NXDOMAIN;
      if (g_str_equal (zone[i].answers, "SERVFAIL"))
        return MG_SPF_LOOKUP_ERROR;
      parts = g_strsplit (zone[i].answers, "|", -1);
      for (gsize k = 0; parts[k] != NULL; k++)
        if (*parts[k] != '\0')
          g_ptr_array_add (answers, g_strdup (parts[k]));
      return MG_SPF_LOOKUP_OK;
    }
  return MG_SPF_LOOKUP_NXDOMAIN;   /* like a zone where nothing else exists */
}

typedef struct
{
  const char  *client;
  const char  *domain;
  const char  *sender;     /* NULL: postmaster@domain */
  MgSpfResult  result;
  const char  *mechanism;  /* substring of the deciding term / reason */
} Case;

static const Case cases[] = {
  /* ip4 / ip6 and qualifiers */
  { "192.0.2.1", "pass.test", NULL, MG_SPF_PASS, "ip4:192.0.2.1" },
  { "192.0.2.2", "pass.test", NULL, MG_SPF_FAIL, "-all" },
  { "192.0.2.99", "cidr.test", NULL, MG_SPF_PASS, "ip4:192.0.2.0/24" },
  { "192.0.3.1", "cidr.test", NULL, MG_SPF_FAIL, "-all" },
  { "2001:db8:ffff::1", "cidr.test", NULL, MG_SPF_PASS, "ip6:2001:db8::/32" },
  { "2001:db9::1", "cidr.test", NULL, MG_SPF_FAIL, "-all" },
  { "::ffff:192.0.2.1", "pass.test", NULL, MG_SPF_PASS, "ip4:192.0.2.1" },
  { "192.0.2.1", "soft.test", NULL, MG_SPF_SOFTFAIL, "~all" },
  { "192.0.2.1", "neutral.test", NULL, MG_SPF_NEUTRAL, "?all" },
  { "192.0.2.1", "default.test", NULL, MG_SPF_NEUTRAL, "default" },
  { "192.0.2.1", "plus.test", NULL, MG_SPF_PASS, "+all" },
  { "192.0.2.1", "case.test", NULL, MG_SPF_FAIL, "-ALL" },
  /* record selection */
  { "192.0.2.1", "two.test", NULL, MG_SPF_PERMERROR, "more than one" },
  { "192.0.2.1", "none.test", NULL, MG_SPF_NONE, "no SPF record" },
  { "192.0.2.1", "nodomain.test", NULL, MG_SPF_NONE, "no SPF record" },
  { "192.0.2.1", "broken.test", NULL, MG_SPF_TEMPERROR, "TXT lookup" },
  { "192.0.2.1", "localhost", NULL, MG_SPF_NONE, "no SPF record" },
  /* a, mx */
  { "192.0.2.7", "a.test", NULL, MG_SPF_PASS, "a" },
  { "192.0.2.8", "a.test", NULL, MG_SPF_FAIL, "-all" },
  { "192.0.2.8", "acidr.test", NULL, MG_SPF_PASS, "a:host.a.test/24" },
  { "2001:db8:1:2:ffff::9", "a6.test", NULL, MG_SPF_PASS, "a//64" },
  { "2001:db8:1:3::1", "a6.test", NULL, MG_SPF_FAIL, "-all" },
  { "198.51.100.2", "mx.test", NULL, MG_SPF_PASS, "mx" },
  { "198.51.100.3", "mx.test", NULL, MG_SPF_FAIL, "-all" },
  /* include, redirect */
  { "192.0.2.1", "inc.test", NULL, MG_SPF_PASS, "include:pass.test" },
  { "192.0.2.2", "inc.test", NULL, MG_SPF_SOFTFAIL, "~all" },
  { "192.0.2.1", "incnone.test", NULL, MG_SPF_PERMERROR, "include:none.test has no SPF record" },
  { "192.0.2.1", "incerr.test", NULL, MG_SPF_TEMPERROR, "broken.test" },
  { "192.0.2.1", "redir.test", NULL, MG_SPF_PASS, "ip4:192.0.2.1" },
  { "192.0.2.2", "redir.test", NULL, MG_SPF_FAIL, "-all" },
  { "192.0.2.1", "redirnone.test", NULL, MG_SPF_PERMERROR, "redirect=none.test" },
  { "10.9.9.9", "redir2.test", NULL, MG_SPF_PASS, "ip4:10.9.9.9" },
  { "192.0.2.1", "redir2.test", NULL, MG_SPF_SOFTFAIL, "~all" },
  /* exists and macros */
  { "192.0.2.1", "exists.test", NULL, MG_SPF_PASS, "exists:%{i}.allow.test" },
  { "192.0.2.9", "exists.test", NULL, MG_SPF_FAIL, "-all" },
  { "192.0.2.5", "macro.test", "alice@macro.test", MG_SPF_PASS, "exists:%{l}.%{o}.m.test" },
  { "192.0.2.1", "macro.test", "bob@macro.test", MG_SPF_PASS, "exists:%{ir}.%{v}.%{d2}.r.test" },
  { "192.0.2.5", "macro.test", "bob@macro.test", MG_SPF_FAIL, "-all" },
  { "192.0.2.1", "badmacro.test", NULL, MG_SPF_PERMERROR, "bad macro" },
  /* syntax errors: permerror even behind a match */
  { "192.0.2.1", "syntax.test", NULL, MG_SPF_PERMERROR, "bogus:x" },
  { "192.0.2.1", "syntax2.test", NULL, MG_SPF_PERMERROR, "ip4:300.1.1.1" },
  { "192.0.2.1", "syntax3.test", NULL, MG_SPF_PERMERROR, "/33" },
  /* ptr never matches; unknown modifiers are ignored */
  { "192.0.2.1", "ptr.test", NULL, MG_SPF_FAIL, "-all" },
  { "192.0.2.1", "modifier.test", NULL, MG_SPF_FAIL, "-all" },
  /* limits */
  { "192.0.2.1", "limit.test", NULL, MG_SPF_PERMERROR, "more than 10 DNS" },
  { "192.0.2.1", "void.test", NULL, MG_SPF_PERMERROR, "void lookups" },
  { "192.0.2.1", "loop.test", NULL, MG_SPF_PERMERROR, "more than 10 DNS" },
};

static void
test_cases (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GInetAddress) client = g_inet_address_new_from_string (c->client);
      g_autofree char *sender = c->sender != NULL ? g_strdup (c->sender)
                                                  : g_strdup_printf ("postmaster@%s", c->domain);
      g_autofree char *mechanism = NULL;
      guint n_questions = 0;
      MgSpfResult result;

      g_assert_nonnull (client);
      result = mg_spf_check_host (client, c->domain, sender, "helo.test", lookup_cb,
                                  &n_questions, &mechanism);
      g_test_message ("%s for %s: %s (%s)", c->domain, c->client,
                      mg_spf_result_to_string (result), mechanism);
      g_assert_cmpstr (mg_spf_result_to_string (result), ==, mg_spf_result_to_string (c->result));
      g_assert_nonnull (strstr (mechanism, c->mechanism));
    }
}

/* The limit is enforced before the 11th query, not after. */
static void
test_lookup_limit_stops_asking (void)
{
  g_autoptr(GInetAddress) client = g_inet_address_new_from_string ("192.0.2.1");
  g_autofree char *mechanism = NULL;
  guint n_questions = 0;

  g_assert_cmpint (mg_spf_check_host (client, "limit.test", "x@limit.test", NULL, lookup_cb,
                                      &n_questions, &mechanism), ==, MG_SPF_PERMERROR);
  /* one TXT and ten A lookups */
  g_assert_cmpuint (n_questions, ==, 11);
}

static void
test_result_names (void)
{
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_PASS), ==, "pass");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_FAIL), ==, "fail");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_SOFTFAIL), ==, "softfail");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_NEUTRAL), ==, "neutral");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_NONE), ==, "none");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_TEMPERROR), ==, "temperror");
  g_assert_cmpstr (mg_spf_result_to_string (MG_SPF_PERMERROR), ==, "permerror");
}

/* The DNS glue: a TXT record's character-strings are joined (RFC 7208 3.3). */
static void
test_txt_rdata (void)
{
  static const guint8 split[] = "\x08v=spf1 a\x05 -all";
  static const guint8 truncated[] = "\x09v=spf1";
  g_autofree char *text = mg_resolver_parse_txt_rdata (split, sizeof split - 1);

  g_assert_cmpstr (text, ==, "v=spf1 a -all");
  g_assert_null (mg_resolver_parse_txt_rdata (truncated, sizeof truncated - 1));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/spf/cases", test_cases);
  g_test_add_func ("/spf/lookup-limit", test_lookup_limit_stops_asking);
  g_test_add_func ("/spf/result-names", test_result_names);
  g_test_add_func ("/spf/txt-rdata", test_txt_rdata);
  return g_test_run ();
}
