/* test-route-table.c - next hop per recipient and loop lint (R-3.1..R-3.4)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include "mg-route-table.h"

typedef struct
{
  const char    *address;
  MgNextHopKind  kind;
  const char    *host;
  guint16        port;
  const char    *mailbox;
  const char    *key;
  const char    *why;
} HopCase;

static void
run_cases (MgConfig      *config,
           const HopCase *cases,
           gsize          n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      const HopCase *c = &cases[i];
      g_autoptr(MgNextHop) hop = mg_route_lookup (config, c->address);

      g_test_message ("address %s", c->address);
      g_assert_nonnull (hop);
      g_assert_cmpint (hop->kind, ==, c->kind);
      g_assert_cmpstr (hop->host, ==, c->host);
      g_assert_cmpuint (hop->port, ==, c->port);
      g_assert_cmpstr (hop->mailbox, ==, c->mailbox);
      g_assert_cmpstr (hop->key, ==, c->key);
      g_assert_cmpstr (hop->why, ==, c->why);
    }
}

static MgConfig *
gateway_config (const char *forward_all,
                const char *smarthost)
{
  MgConfig *config = mg_config_new_default ();

  mg_config_set_setting (config, "delivery.forward_all", forward_all);
  mg_config_set_setting (config, "delivery.smarthost", smarthost);
  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_domain (config, "box.example", TRUE);
  mg_config_add_domain (config, "plain.example", FALSE);
  mg_config_add_route (config, "corp.example", "127.0.0.1", 20025);
  mg_config_add_route (config, "v6.example", "::1", 2525);
  mg_config_seal (config);
  return config;
}

/* The gateway role: forward-all on, routes for the internal domains,
 * MX for the internet. */
static void
test_forward_all_no_smarthost (void)
{
  g_autoptr(MgConfig) config = gateway_config ("true", "");
  static const HopCase cases[] = {
    { "user1@corp.example", MG_NEXT_HOP_SMTP, "127.0.0.1", 20025, NULL,
      "smtp:127.0.0.1:20025", "route corp.example -> 127.0.0.1:20025" },
    { "x@v6.example", MG_NEXT_HOP_SMTP, "::1", 2525, NULL,
      "smtp:[::1]:2525", "route v6.example -> [::1]:2525" },
    { "x@plain.example", MG_NEXT_HOP_NONE, NULL, 0, NULL, "none",
      "forward-all is on but no route or smart host for local domain plain.example" },
    { "someone@example.org", MG_NEXT_HOP_MX, "example.org", 25, NULL,
      "mx:example.org:25", "MX lookup for example.org port 25" },
  };

  run_cases (config, cases, G_N_ELEMENTS (cases));
}

/* The internal-server role: smart host for everything not routed. */
static void
test_forward_all_smarthost (void)
{
  g_autoptr(MgConfig) config = gateway_config ("true", "gw.corp.example");
  static const HopCase cases[] = {
    { "user1@corp.example", MG_NEXT_HOP_SMTP, "127.0.0.1", 20025, NULL,
      "smtp:127.0.0.1:20025", "route corp.example -> 127.0.0.1:20025" },
    { "x@plain.example", MG_NEXT_HOP_SMTP, "gw.corp.example", 2526, NULL,
      "smtp:gw.corp.example:2526", "forward-all: smart host gw.corp.example:2526" },
    { "someone@example.org", MG_NEXT_HOP_SMTP, "gw.corp.example", 2526, NULL,
      "smtp:gw.corp.example:2526", "smart host gw.corp.example:2526" },
  };

  /* the smart host without a port takes delivery.port */
  mg_config_set_setting (config, "delivery.port", "2526");
  run_cases (config, cases, G_N_ELEMENTS (cases));
}

/* Forward-all off: local domains go to mailboxes. */
static void
test_local_mailboxes (void)
{
  g_autoptr(MgConfig) config = gateway_config ("false", "[2001:db8::1]:587");
  static const HopCase cases[] = {
    /* a route still wins */
    { "user1@corp.example", MG_NEXT_HOP_SMTP, "127.0.0.1", 20025, NULL,
      "smtp:127.0.0.1:20025", "route corp.example -> 127.0.0.1:20025" },
    { "Ann@plain.example", MG_NEXT_HOP_MAILDIR, NULL, 0, "/var/mail/ann@plain.example/Maildir",
      "maildir:/var/mail/ann@plain.example/Maildir", "local mailbox /var/mail/ann@plain.example/Maildir" },
    /* shared box: the user name alone */
    { "Ann@box.example", MG_NEXT_HOP_MAILDIR, NULL, 0, "/var/mail/ann/Maildir",
      "maildir:/var/mail/ann/Maildir", "local mailbox /var/mail/ann/Maildir" },
    /* a local part cannot leave the mailbox folder */
    { "../../etc/passwd@box.example", MG_NEXT_HOP_MAILDIR, NULL, 0, "/var/mail/_._.._etc_passwd/Maildir",
      "maildir:/var/mail/_._.._etc_passwd/Maildir", "local mailbox /var/mail/_._.._etc_passwd/Maildir" },
    { "someone@example.org", MG_NEXT_HOP_SMTP, "2001:db8::1", 587, NULL,
      "smtp:[2001:db8::1]:587", "smart host [2001:db8::1]:587" },
  };

  mg_config_set_setting (config, "delivery.mailbox_dir", "/var/mail/%USERNAME%/Maildir");
  run_cases (config, cases, G_N_ELEMENTS (cases));
}

static void
test_default_mailbox (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(MgNextHop) hop = NULL;

  mg_config_set_setting (config, "delivery.forward_all", "false");
  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_seal (config);
  hop = mg_route_lookup (config, "bob@corp.example");
  g_assert_cmpint (hop->kind, ==, MG_NEXT_HOP_MAILDIR);
  g_assert_cmpstr (hop->mailbox, ==, "mailbox/bob@corp.example");
}

/* ---- lint ---- */

static gboolean
has_warning (GPtrArray  *warnings,
             const char *needle)
{
  for (guint i = 0; i < warnings->len; i++)
    {
      if (strstr (g_ptr_array_index (warnings, i), needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_lint_loops (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(GPtrArray) warnings = NULL;
  const char *wild[] = { "*@corp.example", NULL };

  mg_config_set_setting (config, "delivery.smarthost", "localhost:2525");
  mg_config_add_listener (config, "127.0.0.1", 2525);
  mg_config_add_listener (config, "*", 25);
  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_domain (config, "lost.example", FALSE);
  mg_config_add_route (config, "corp.example", "127.0.0.1", 20025);   /* fine: not ours */
  mg_config_add_route (config, "self.example", "127.0.0.2", 25);      /* loops via *:25 */
  mg_config_add_route (config, "mine.example", "127.0.0.1", 2525);    /* loops */
  mg_config_add_route (config, "far.example", "192.0.2.1", 2525);     /* fine */
  mg_config_add_alias (config, "*@corp.example", wild);
  mg_config_seal (config);

  warnings = mg_route_table_lint (config);
  g_assert_true (has_warning (warnings, "route self.example -> 127.0.0.2:25 points at this server"));
  g_assert_true (has_warning (warnings, "route mine.example -> 127.0.0.1:2525 points at this server"));
  g_assert_true (has_warning (warnings, "smart host -> localhost:2525 points at this server"));
  g_assert_true (has_warning (warnings, "wildcard alias *@corp.example"));
  g_assert_false (has_warning (warnings, "corp.example -> "));
  g_assert_false (has_warning (warnings, "far.example"));
  /* a smart host is set: forward-all has somewhere to go */
  g_assert_false (has_warning (warnings, "no route and there is no smart host"));
  g_assert_cmpuint (warnings->len, ==, 4);
}

static void
test_lint_forward_all_gap (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(GPtrArray) warnings = NULL;

  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_domain (config, "routed.example", FALSE);
  mg_config_add_route (config, "routed.example", "10.0.0.2", 25);
  mg_config_seal (config);

  warnings = mg_route_table_lint (config);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_true (has_warning (warnings, "local domain corp.example has no route"));

  /* with forward-all off there is nothing to warn about */
  mg_config_set_setting (config, "delivery.forward_all", "false");
  g_clear_pointer (&warnings, g_ptr_array_unref);
  warnings = mg_route_table_lint (config);
  g_assert_cmpuint (warnings->len, ==, 0);
}

/* a route's TLS requirement and credentials reach the next hop,
 * and are part of its key (no connection shared across settings). */
static void
test_route_security (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(MgNextHop) secure = NULL;
  g_autoptr(MgNextHop) plain = NULL;

  mg_config_add_route (config, "corp.example", "10.0.0.1", 25);
  mg_config_add_route (config, "other.example", "10.0.0.1", 25);
  mg_config_set_route_security (config, "corp.example", TRUE, "gw", "pw");
  mg_config_seal (config);

  secure = mg_route_lookup (config, "u@corp.example");
  g_assert_true (secure->tls_required);
  g_assert_cmpstr (secure->auth_user, ==, "gw");
  g_assert_cmpstr (secure->auth_password, ==, "pw");
  g_assert_cmpstr (secure->key, ==, "smtp:10.0.0.1:25|tls=1|auth=gw");

  plain = mg_route_lookup (config, "u@other.example");
  g_assert_false (plain->tls_required);
  g_assert_null (plain->auth_user);
  g_assert_cmpstr (plain->key, ==, "smtp:10.0.0.1:25");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/route-table/lookup/forward-all-no-smarthost", test_forward_all_no_smarthost); /* */
  g_test_add_func ("/route-table/lookup/forward-all-smarthost", test_forward_all_smarthost);       /* */
  g_test_add_func ("/route-table/lookup/local-mailboxes", test_local_mailboxes);                   /* */
  g_test_add_func ("/route-table/lookup/default-mailbox", test_default_mailbox);
  g_test_add_func ("/route-table/lint/loops", test_lint_loops);                                   /* */
  g_test_add_func ("/route-table/lint/forward-all-gap", test_lint_forward_all_gap);
  g_test_add_func ("/route-table/lookup/route-security", test_route_security);                   /* */

  return g_test_run ();
}
