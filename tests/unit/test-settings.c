/* test-settings.c - the settings schema and the validation of one value
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include "mg-problem.h"
#include "mg-settings.h"

/* Keys other parts of the product and outside checks rely on (DESIGN.md). */
static const char * const required_keys[] = {
  "receiver.autostart", "receiver.hostname", "receiver.banner_show",
  "receiver.max_message_size", "receiver.max_recipients", "receiver.accept_limit",
  "receiver.timeout", "receiver.data_timeout", "receiver.max_received_headers",
  "receiver.max_line_length", "receiver.vrfy",
  "delivery.autostart", "delivery.forward_all", "delivery.smarthost", "delivery.port",
  "delivery.retry_interval", "delivery.give_up_error", "delivery.give_up_no_response",
  "delivery.mailbox_dir", "delivery.workers", "delivery.max_per_destination",
  "delivery.max_messages_per_connection", "delivery.connect_timeout", "delivery.timeout",
  "delivery.helo_name",
};

static void
test_every_default_valid (void)
{
  const MgSettingInfo *infos;
  gsize n_infos;

  infos = mg_settings_list (&n_infos);
  g_assert_cmpuint (n_infos, >=, G_N_ELEMENTS (required_keys));
  for (gsize i = 0; i < n_infos; i++)
    {
      g_autoptr(GPtrArray) problems = mg_problems_new ();
      g_autofree char *normalised = NULL;

      g_test_message ("key %s", infos[i].key);
      normalised = mg_settings_normalise (infos[i].key, infos[i].default_value, problems);
      g_assert_cmpuint (problems->len, ==, 0);
      /* the default is already in normal form */
      g_assert_cmpstr (normalised, ==, infos[i].default_value);
      g_assert_nonnull (infos[i].summary);
      g_assert_true (mg_settings_lookup (infos[i].key) == &infos[i]);
    }
}

static void
test_required_keys (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (required_keys); i++)
    {
      g_test_message ("key %s", required_keys[i]);
      g_assert_nonnull (mg_settings_lookup (required_keys[i]));
    }
  g_assert_null (mg_settings_lookup ("receiver.nonexistent"));
}

typedef struct
{
  const char *key;
  const char *value;
  const char *normalised;   /* NULL when refused */
  const char *code;         /* when refused */
  const char *arg;          /* when refused */
} ValueCase;

static const ValueCase value_cases[] = {
  /* booleans: yes/no/on/off/1/0/true/false, any case */
  { "receiver.vrfy", "YES", "true" },
  { "receiver.vrfy", "On", "true" },
  { "receiver.vrfy", "1", "true" },
  { "receiver.vrfy", "TRUE", "true" },
  { "receiver.vrfy", "no", "false" },
  { "receiver.vrfy", "OFF", "false" },
  { "receiver.vrfy", "0", "false" },
  { "receiver.vrfy", "False", "false" },
  { "receiver.vrfy", "maybe", NULL, MG_PROBLEM_NOT_A_BOOLEAN, "maybe" },
  { "receiver.vrfy", "", NULL, MG_PROBLEM_NOT_A_BOOLEAN, "" },
  /* integers: decimal only, range checked */
  { "receiver.max_recipients", "1", "1" },
  { "receiver.max_recipients", "100000", "100000" },
  { "receiver.max_recipients", "007", "7" },
  { "receiver.max_recipients", "0", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..100000" },
  { "receiver.max_recipients", "100001", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..100000" },
  { "receiver.max_recipients", "-5", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..100000" },
  { "receiver.max_recipients", "99999999999999999999999", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..100000" },
  { "receiver.max_recipients", "12abc", NULL, MG_PROBLEM_NOT_A_NUMBER, "12abc" },
  { "receiver.max_recipients", " 12", NULL, MG_PROBLEM_NOT_A_NUMBER, " 12" },
  { "receiver.max_recipients", "0x10", NULL, MG_PROBLEM_NOT_A_NUMBER, "0x10" },
  { "receiver.max_recipients", "1e3", NULL, MG_PROBLEM_NOT_A_NUMBER, "1e3" },
  { "receiver.max_recipients", "", NULL, MG_PROBLEM_NOT_A_NUMBER, "" },
  { "receiver.max_recipients", "-", NULL, MG_PROBLEM_NOT_A_NUMBER, "-" },
  { "receiver.max_message_size", "0", "0" },
  { "receiver.max_message_size", "2147483647", "2147483647" },
  { "receiver.max_message_size", "2147483648", NULL, MG_PROBLEM_OUT_OF_RANGE, "0..2147483647" },
  { "delivery.port", "65535", "65535" },
  { "delivery.port", "65536", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..65535" },
  { "delivery.give_up_error", "2592001", NULL, MG_PROBLEM_OUT_OF_RANGE, "1..2592000" },
  /* host names */
  { "receiver.hostname", "", "" },
  { "receiver.hostname", "MX.Corp.Example.", "mx.corp.example" },
  { "receiver.hostname", "bad host", NULL, MG_PROBLEM_INVALID_HOST, "bad host" },
  { "delivery.helo_name", "-x-", NULL, MG_PROBLEM_INVALID_HOST, "-x-" },
  /* host[:port] */
  { "delivery.smarthost", "", "" },
  { "delivery.smarthost", "Relay.Example", "relay.example" },
  { "delivery.smarthost", "relay.example:2525", "relay.example:2525" },
  { "delivery.smarthost", "10.0.0.1:25", "10.0.0.1:25" },
  { "delivery.smarthost", "[::1]:2525", "[::1]:2525" },
  { "delivery.smarthost", "[::1]", "[::1]" },
  { "delivery.smarthost", "relay.example:0", NULL, MG_PROBLEM_INVALID_HOST, "relay.example:0" },
  { "delivery.smarthost", "relay.example:x", NULL, MG_PROBLEM_INVALID_HOST, "relay.example:x" },
  { "delivery.smarthost", "bad host:25", NULL, MG_PROBLEM_INVALID_HOST, "bad host:25" },
  /* strings */
  { "delivery.mailbox_dir", "/srv/mail/%USERNAME%/Maildir", "/srv/mail/%USERNAME%/Maildir" },
  { "delivery.mailbox_dir", "/srv/mail", NULL, MG_PROBLEM_INVALID_VALUE, "/srv/mail" },
  { "delivery.mailbox_dir", "a\nb%USERNAME%", NULL, MG_PROBLEM_INVALID_VALUE, "a\nb%USERNAME%" },
  /* unknown key */
  { "receiver.colour", "blue", NULL, MG_PROBLEM_UNKNOWN_KEY, "receiver.colour" },
};

static void
test_values (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (value_cases); i++)
    {
      const ValueCase *c = &value_cases[i];
      g_autoptr(GPtrArray) problems = mg_problems_new ();
      g_autofree char *normalised = NULL;

      g_test_message ("%s = “%s”", c->key, c->value);
      normalised = mg_settings_normalise (c->key, c->value, problems);
      g_assert_cmpstr (normalised, ==, c->normalised);
      if (c->normalised != NULL)
        {
          g_assert_cmpuint (problems->len, ==, 0);
        }
      else
        {
          const MgProblem *p;

          g_assert_cmpuint (problems->len, ==, 1);
          p = g_ptr_array_index (problems, 0);
          g_assert_cmpstr (p->code, ==, c->code);
          g_assert_cmpstr (p->field, ==, c->key);
          g_assert_cmpstr (p->arg, ==, c->arg);
        }
    }
}

static void
test_string_too_long (void)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autofree char *long_value = g_strnfill (5000, 'a');
  g_autofree char *normalised = mg_settings_normalise ("delivery.mailbox_dir", long_value, problems);
  const MgProblem *p;

  g_assert_null (normalised);
  g_assert_cmpuint (problems->len, ==, 1);
  p = g_ptr_array_index (problems, 0);
  g_assert_cmpstr (p->code, ==, MG_PROBLEM_TOO_LONG);
  g_assert_cmpstr (p->field, ==, "delivery.mailbox_dir");
  g_assert_cmpstr (p->arg, ==, "4096");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/settings/schema/every-default-valid", test_every_default_valid);
  g_test_add_func ("/settings/schema/required-keys", test_required_keys);
  g_test_add_func ("/settings/normalise/table", test_values);   /* */
  g_test_add_func ("/settings/normalise/too-long", test_string_too_long);

  return g_test_run ();
}
