/* test-policy.c - relay rules, aliases, accounts (R-2.1..R-2.4)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The seed's three gateway set-ups (method A: wildcard alias, B: one-to-one
 * aliases, C: same-name domain + accounts) and the relay rule table, on
 * snapshots built in memory.
 */
#include "config.h"

#include "mg-policy.h"

typedef struct
{
  const char    *local_part;
  const char    *domain;
  gboolean       relay_allowed;
  MgRcptVerdict  verdict;
  const char    *targets;      /* comma separated, NULL when none */
  const char    *why;
} RcptCase;

static void
run_rcpt_cases (MgConfig       *config,
                const RcptCase *cases,
                gsize           n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      const RcptCase *c = &cases[i];
      g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GString) why = g_string_new (NULL);
      MgRcptVerdict verdict;

      g_test_message ("rcpt %s@%s relay=%d", c->local_part, c->domain, c->relay_allowed);
      verdict = mg_policy_check_rcpt (config, c->local_part, c->domain, c->relay_allowed,
                                      targets, why);
      g_assert_cmpint (verdict, ==, c->verdict);
      g_assert_cmpstr (why->str, ==, c->why);
      if (c->targets == NULL)
        g_assert_cmpuint (targets->len, ==, 0);
      else
        {
          g_autofree char *joined = NULL;

          g_ptr_array_add (targets, NULL);
          joined = g_strjoinv (",", (char **) targets->pdata);
          g_assert_cmpstr (joined, ==, c->targets);
        }
    }
}

/* Method A (insecure): *@corp.example -> *@corp.example passes everyone. */
static void
test_rcpt_wildcard_alias (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  const char *same[] = { "*@corp.example", NULL };
  const char *moved[] = { "*@new.example", "archive@corp.example", NULL };
  static const RcptCase cases[] = {
    { "Anyone", "corp.example", FALSE, MG_RCPT_ACCEPT, "Anyone@corp.example",
      "wildcard alias *@corp.example -> *@corp.example" },
    { "x", "old.example", FALSE, MG_RCPT_ACCEPT, "x@new.example,archive@corp.example",
      "wildcard alias *@old.example -> *@new.example, archive@corp.example" },
    { "x", "other.example", FALSE, MG_RCPT_RELAY_DENIED, NULL,
      "domain other.example is not local; relaying denied" },
  };

  mg_config_add_alias (config, "*@corp.example", same);
  mg_config_add_alias (config, "*@old.example", moved);
  mg_config_seal (config);
  run_rcpt_cases (config, cases, G_N_ELEMENTS (cases));
  g_assert_true (mg_policy_is_our_domain (config, "corp.example"));
  g_assert_false (mg_policy_is_our_domain (config, "other.example"));
}

/* Method B (recommended): one-to-one aliases pass only listed users. */
static void
test_rcpt_one_to_one_alias (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  const char *user1[] = { "user1@corp.example", NULL };
  const char *sales[] = { "alice@corp.example", "bob@corp.example", NULL };
  static const RcptCase cases[] = {
    { "User1", "corp.example", FALSE, MG_RCPT_ACCEPT, "user1@corp.example",
      "alias user1@corp.example -> user1@corp.example" },
    /* several targets */
    { "sales", "corp.example", FALSE, MG_RCPT_ACCEPT, "alice@corp.example,bob@corp.example",
      "alias sales@corp.example -> alice@corp.example, bob@corp.example" },
    /* a domain known only through aliases is ours: unknown users refused */
    { "spammer-guess", "corp.example", TRUE, MG_RCPT_UNKNOWN_USER, NULL,
      "domain corp.example has aliases but user spammer-guess is unknown" },
  };

  mg_config_add_alias (config, "user1@corp.example", user1);
  mg_config_add_alias (config, "sales@corp.example", sales);
  mg_config_seal (config);
  run_rcpt_cases (config, cases, G_N_ELEMENTS (cases));
  g_assert_true (mg_policy_is_our_domain (config, "corp.example"));
}

/* Method C: a local domain with the internal server's users as accounts;
 * shared-box domains match on the user name alone. */
static void
test_rcpt_accounts (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  static const RcptCase cases[] = {
    { "User1", "corp.example", FALSE, MG_RCPT_ACCEPT, "User1@corp.example",
      "account user1@corp.example found (domain corp.example)" },
    { "nobody", "corp.example", FALSE, MG_RCPT_UNKNOWN_USER, NULL,
      "domain corp.example is local but user nobody is unknown" },
    /* unknown user stays unknown even for a relay client */
    { "nobody", "corp.example", TRUE, MG_RCPT_UNKNOWN_USER, NULL,
      "domain corp.example is local but user nobody is unknown" },
    /* shared box: joe exists in shared-a, so joe@shared-b is valid too */
    { "Joe", "shared-b.example", FALSE, MG_RCPT_ACCEPT, "Joe@shared-b.example",
      "account joe@shared-a.example found (domain shared-b.example, shared box)" },
    { "ann", "shared-b.example", FALSE, MG_RCPT_UNKNOWN_USER, NULL,
      "domain shared-b.example is local but user ann is unknown" },
    /* corp.example is not shared: its users do not leak into shared boxes */
    { "user1", "shared-a.example", FALSE, MG_RCPT_UNKNOWN_USER, NULL,
      "domain shared-a.example is local but user user1 is unknown" },
    { "someone", "elsewhere.example", TRUE, MG_RCPT_ACCEPT, "someone@elsewhere.example",
      "domain elsewhere.example is not local; relaying allowed" },
    { "someone", "elsewhere.example", FALSE, MG_RCPT_RELAY_DENIED, NULL,
      "domain elsewhere.example is not local; relaying denied" },
  };

  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_domain (config, "shared-a.example", TRUE);
  mg_config_add_domain (config, "shared-b.example", TRUE);
  mg_config_add_account (config, "user1@corp.example", NULL);
  mg_config_add_account (config, "joe@shared-a.example", NULL);
  mg_config_seal (config);
  run_rcpt_cases (config, cases, G_N_ELEMENTS (cases));
}

/* An exact alias wins over the wildcard of its domain and over accounts. */
static void
test_rcpt_order (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  const char *wild[] = { "*@corp.example", NULL };
  const char *boss[] = { "ceo@corp.example", NULL };
  static const RcptCase cases[] = {
    { "boss", "corp.example", FALSE, MG_RCPT_ACCEPT, "ceo@corp.example",
      "alias boss@corp.example -> ceo@corp.example" },
    { "user1", "corp.example", FALSE, MG_RCPT_ACCEPT, "user1@corp.example",
      "wildcard alias *@corp.example -> *@corp.example" },
  };

  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_account (config, "user1@corp.example", NULL);
  mg_config_add_alias (config, "*@corp.example", wild);
  mg_config_add_alias (config, "boss@corp.example", boss);
  mg_config_seal (config);
  run_rcpt_cases (config, cases, G_N_ELEMENTS (cases));
}

/* ---- relay rules (R-2.4) ---- */

typedef struct
{
  const char      *client;        /* nullable */
  const char      *client_host;   /* nullable */
  const char      *sender;
  MgRelayDecision  decision;
  guint            rule;
  const char      *why;
} RelayCase;

static MgConfig *
relay_config (void)
{
  MgConfig *config = mg_config_new_default ();

  g_assert_true (mg_config_add_relay_rule (config, "postmaster@corp.example", FALSE));  /* 1 */
  g_assert_true (mg_config_add_relay_rule (config, "192.168.0.5", TRUE));               /* 2 */
  g_assert_true (mg_config_add_relay_rule (config, "192.168.0.0/24", FALSE));           /* 3 */
  g_assert_true (mg_config_add_relay_rule (config, "2001:db8::/32", TRUE));             /* 4 */
  g_assert_true (mg_config_add_relay_rule (config, ".trusted.example", TRUE));          /* 5 */
  g_assert_true (mg_config_add_relay_rule (config, "gw.partner.example", TRUE));        /* 6 */
  g_assert_true (mg_config_add_relay_rule (config, "*@corp.example", TRUE));            /* 7 */
  g_assert_true (mg_config_add_relay_rule (config, "::1", TRUE));                       /* 8 */
  g_assert_false (mg_config_add_relay_rule (config, "not a pattern", TRUE));
  mg_config_seal (config);
  return config;
}

static const RelayCase relay_cases[] = {
  /* the sender deny comes first: first match wins */
  { "192.168.0.5", NULL, "postmaster@corp.example", MG_RELAY_DENY, 1,
    "relay rule 1 (postmaster@corp.example deny) matched sender postmaster@corp.example" },
  { "192.168.0.5", NULL, "a@b.example", MG_RELAY_ALLOW, 2,
    "relay rule 2 (192.168.0.5 allow) matched client 192.168.0.5" },
  /* an IPv4-mapped client matches IPv4 rules */
  { "::ffff:192.168.0.5", NULL, "a@b.example", MG_RELAY_ALLOW, 2,
    "relay rule 2 (192.168.0.5 allow) matched client 192.168.0.5" },
  { "192.168.0.9", NULL, "a@b.example", MG_RELAY_DENY, 3,
    "relay rule 3 (192.168.0.0/24 deny) matched client 192.168.0.9" },
  { "::ffff:192.168.0.9", NULL, "", MG_RELAY_DENY, 3,
    "relay rule 3 (192.168.0.0/24 deny) matched client 192.168.0.9" },
  { "2001:db8:1::7", NULL, "a@b.example", MG_RELAY_ALLOW, 4,
    "relay rule 4 (2001:db8::/32 allow) matched client 2001:db8:1::7" },
  { "203.0.113.9", "Mail.Trusted.Example.", "a@b.example", MG_RELAY_ALLOW, 5,
    "relay rule 5 (.trusted.example allow) matched client host Mail.Trusted.Example." },
  /* the suffix rule needs a dot before the suffix */
  { "203.0.113.9", "untrusted.example", "a@b.example", MG_RELAY_NO_MATCH, 0,
    "no relay rule matched client 203.0.113.9 / sender a@b.example" },
  { "203.0.113.9", "GW.partner.example", "a@b.example", MG_RELAY_ALLOW, 6,
    "relay rule 6 (gw.partner.example allow) matched client host GW.partner.example" },
  { "203.0.113.9", "x.gw.partner.example", "a@b.example", MG_RELAY_NO_MATCH, 0,
    "no relay rule matched client 203.0.113.9 / sender a@b.example" },
  { "203.0.113.9", NULL, "alice@corp.example", MG_RELAY_ALLOW, 7,
    "relay rule 7 (*@corp.example allow) matched sender alice@corp.example" },
  /* the null sender never matches an address rule */
  { "203.0.113.9", NULL, "", MG_RELAY_NO_MATCH, 0,
    "no relay rule matched client 203.0.113.9 / sender <>" },
  { "::1", NULL, "", MG_RELAY_ALLOW, 8,
    "relay rule 8 (::1 allow) matched client ::1" },
  { NULL, NULL, "a@b.example", MG_RELAY_NO_MATCH, 0,
    "no relay rule matched client (none) / sender a@b.example" },
  { "203.0.113.9", NULL, "a@b.example", MG_RELAY_NO_MATCH, 0,
    "no relay rule matched client 203.0.113.9 / sender a@b.example" },
};

static void
test_relay_rules (void)
{
  g_autoptr(MgConfig) config = relay_config ();

  for (gsize i = 0; i < G_N_ELEMENTS (relay_cases); i++)
    {
      const RelayCase *c = &relay_cases[i];
      g_autoptr(GInetAddress) client = NULL;
      g_autoptr(GString) why = g_string_new (NULL);
      guint rule = 0;

      g_test_message ("client %s host %s sender %s", c->client, c->client_host, c->sender);
      if (c->client != NULL)
        client = g_inet_address_new_from_string (c->client);
      g_assert_cmpint (mg_policy_match_relay_rules (config, client, c->client_host, c->sender,
                                                    &rule, why), ==, c->decision);
      g_assert_cmpuint (rule, ==, c->rule);
      g_assert_cmpstr (why->str, ==, c->why);
    }
}

static void
test_relay_no_rules (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(GInetAddress) client = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  /* why may be NULL */
  g_assert_cmpint (mg_policy_match_relay_rules (config, client, NULL, "a@b.example", NULL, NULL),
                   ==, MG_RELAY_NO_MATCH);
}

static void
test_rcpt_why_optional (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpint (mg_policy_check_rcpt (config, "x", "y.example", TRUE, targets, NULL),
                   ==, MG_RCPT_ACCEPT);
  g_assert_cmpuint (targets->len, ==, 1);
}

/* postmaster of local and aliased domains, and listed senders. */
static void
test_protected_senders (void)
{
  g_autoptr(MgConfig) config = mg_config_new_default ();
  const char *targets[] = { "sales@corp.example", NULL };
  static const struct { const char *sender; gboolean protected; } cases[] = {
    { "postmaster@corp.example", TRUE },
    { "postmaster@alias.example", TRUE },        /* domain of an alias: ours too */
    { "postmaster@elsewhere.example", FALSE },
    { "ceo@corp.example", TRUE },
    { "boss@partner.example", TRUE },
    { "alice@corp.example", FALSE },
    { "postmasterx@corp.example", FALSE },
    { "", FALSE },
  };

  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_alias (config, "info@alias.example", targets);
  mg_config_set_setting (config, "receiver.protected_senders",
                         "ceo@corp.example,boss@partner.example");
  mg_config_seal (config);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) why = g_string_new (NULL);

      g_test_message ("sender <%s>", cases[i].sender);
      g_assert_cmpint (mg_policy_is_protected_sender (config, cases[i].sender, why), ==,
                       cases[i].protected);
      g_assert_cmpint (why->len > 0, ==, cases[i].protected);
      g_assert_cmpint (mg_policy_is_protected_sender (config, cases[i].sender, NULL), ==,
                       cases[i].protected);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/policy/rcpt/wildcard-alias", test_rcpt_wildcard_alias);      /* A */
  g_test_add_func ("/policy/rcpt/one-to-one-alias", test_rcpt_one_to_one_alias);  /* B */
  g_test_add_func ("/policy/rcpt/accounts-shared-box", test_rcpt_accounts);       /* C */
  g_test_add_func ("/policy/rcpt/alias-before-wildcard", test_rcpt_order);
  g_test_add_func ("/policy/rcpt/why-optional", test_rcpt_why_optional);
  g_test_add_func ("/policy/relay/first-match-wins", test_relay_rules);           /* */
  g_test_add_func ("/policy/relay/no-rules", test_relay_no_rules);
  g_test_add_func ("/policy/sender/protected", test_protected_senders);          /* */

  return g_test_run ();
}
