/* test-config-json.c - the configuration as one JSON document (schema v1)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include "mg-config-json.h"
#include "mg-problem.h"

static MgConfig *
sample_config (void)
{
  MgConfig *config = mg_config_new_default ();
  const char *wild[] = { "*@corp.example", NULL };
  const char *two[] = { "user1@corp.example", "backup@corp.example", NULL };

  mg_config_set_setting (config, "delivery.smarthost", "relay.provider.example:587");
  mg_config_set_setting (config, "receiver.max_recipients", "50");
  mg_config_add_listener (config, "*", 25);
  mg_config_add_listener_full (config, "127.0.0.1", 465, TRUE);
  mg_config_add_domain (config, "corp.example", TRUE);
  mg_config_add_domain (config, "other.example", FALSE);
  mg_config_add_account_full (config, "user1@corp.example",
                              "$pbkdf2-sha256$100000$c2FsdA$aGFzaA", "{CRAM-MD5}00ff");
  mg_config_add_account (config, "user2@other.example", NULL);
  mg_config_add_alias (config, "*@corp.example", wild);
  mg_config_add_alias (config, "team@other.example", two);
  mg_config_add_route (config, "corp.example", "192.168.0.10", 20025);
  mg_config_set_route_security (config, "corp.example", TRUE, "gw", "s3cret");
  mg_config_add_route (config, "other.example", "::1", 25);
  mg_config_add_relay_rule (config, "192.168.0.10", TRUE);
  mg_config_add_relay_rule (config, "postmaster@corp.example", FALSE);
  mg_config_add_relay_rule (config, "10.0.0.0/8", TRUE);
  mg_config_seal (config);
  return config;
}

/* Export, import, export again: the same document. */
static void
test_round_trip (void)
{
  g_autoptr(MgConfig) config = sample_config ();
  g_autoptr(MgConfig) back = NULL;
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autofree char *json = mg_config_to_json (config);
  g_autofree char *again = NULL;
  const MgRoute *route;

  g_assert_nonnull (strstr (json, "\"format\" : \"mailgate-config\""));
  g_assert_nonnull (strstr (json, "\"version\" : 1"));
  back = mg_config_from_json (json, -1, problems);
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem: %s %s %s", ((MgProblem *) problems->pdata[i])->code,
                    ((MgProblem *) problems->pdata[i])->field,
                    ((MgProblem *) problems->pdata[i])->arg);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_nonnull (back);

  again = mg_config_to_json (back);
  g_assert_cmpstr (again, ==, json);

  g_assert_cmpstr (mg_config_get_string (back, "delivery.smarthost"), ==,
                   "relay.provider.example:587");
  route = mg_config_find_route (back, "corp.example");
  g_assert_nonnull (route);
  g_assert_true (route->tls_required);
  g_assert_cmpstr (route->auth_password, ==, "s3cret");
  g_assert_cmpstr (mg_config_find_account (back, "user1@corp.example")->cram_md5, ==,
                   "{CRAM-MD5}00ff");
  g_assert_cmpstr (((MgRelayRule *) back->relay_rules->pdata[1])->pattern, ==,
                   "postmaster@corp.example");   /* order kept */
  g_assert_true (((MgListenerSpec *) back->listeners->pdata[1])->tls);
}

typedef struct
{
  const char *json;
  const char *code;
  const char *field;    /* the JSON path */
} BadCase;

#define HEAD "{\"format\":\"mailgate-config\",\"version\":1,"

static const BadCase bad_cases[] = {
  { "{", MG_PROBLEM_INVALID_VALUE, "$" },
  { "[]", MG_PROBLEM_INVALID_VALUE, "$" },
  { "{\"format\":\"mailgate-config\",\"version\":2}", MG_PROBLEM_OUT_OF_RANGE, "$.version" },
  { "{\"format\":\"other\",\"version\":1}", MG_PROBLEM_INVALID_VALUE, "$.format" },
  { "{\"version\":1}", MG_PROBLEM_EMPTY, "$.format" },
  { HEAD "\"colour\":1}", MG_PROBLEM_UNKNOWN_KEY, "$.colour" },
  { HEAD "\"settings\":{\"receiver.max_recipients\":\"0\"}}", MG_PROBLEM_OUT_OF_RANGE,
    "$.settings.receiver.max_recipients" },
  { HEAD "\"settings\":{\"no.such\":\"1\"}}", MG_PROBLEM_UNKNOWN_KEY, "$.settings.no.such" },
  { HEAD "\"settings\":{\"receiver.vrfy\":true}}", MG_PROBLEM_INVALID_VALUE,
    "$.settings.receiver.vrfy" },
  { HEAD "\"listeners\":[\"127.0.0.1:25\",\"nowhere\"]}", MG_PROBLEM_INVALID_LISTENER,
    "$.listeners[1]" },
  { HEAD "\"domains\":[{\"name\":\"a.example\"},{\"name\":\"bad domain\"}]}",
    MG_PROBLEM_INVALID_DOMAIN, "$.domains[1].name" },
  { HEAD "\"domains\":[{\"name\":\"a.example\"},{\"name\":\"A.example.\"}]}",
    MG_PROBLEM_EXISTS, "$.domains[1].name" },
  { HEAD "\"accounts\":[{\"address\":\"u@nowhere.example\"}]}", MG_PROBLEM_UNKNOWN_DOMAIN,
    "$.accounts[0].address" },
  { HEAD "\"domains\":[{\"name\":\"a.example\"}],"
    "\"accounts\":[{\"address\":\"u@a.example\",\"password_hash\":\"plain\"}]}",
    MG_PROBLEM_INVALID_VALUE, "$.accounts[0].password_hash" },
  { HEAD "\"aliases\":[{\"alias\":\"x@a.example\",\"targets\":[\"*@a.example\"]}]}",
    MG_PROBLEM_INVALID_ADDRESS, "$.aliases[0].targets[0]" },
  { HEAD "\"aliases\":[{\"alias\":\"x@a.example\",\"targets\":[]}]}",
    MG_PROBLEM_EMPTY, "$.aliases[0].targets" },
  { HEAD "\"routes\":[{\"domain\":\"a.example\",\"host\":\"10.0.0.1\"},"
    "{\"domain\":\"b.example\",\"host\":\"10.0.0.1\",\"port\":25},"
    "{\"domain\":\"c.example\",\"host\":\"10.0.0.1\",\"port\":70000}]}",
    MG_PROBLEM_INVALID_PORT, "$.routes[2].port" },
  { HEAD "\"routes\":[{\"domain\":\"a.example\",\"host\":\"10.0.0.1\",\"port\":\"25\"}]}",
    MG_PROBLEM_INVALID_VALUE, "$.routes[0].port" },
  { HEAD "\"routes\":[{\"domain\":\"a.example\",\"host\":\"bad host!\"}]}",
    MG_PROBLEM_INVALID_HOST, "$.routes[0].host" },
  { HEAD "\"routes\":[{\"domain\":\"a.example\",\"host\":\"h.example\",\"tls\":true}]}",
    MG_PROBLEM_UNKNOWN_KEY, "$.routes[0].tls" },
  { HEAD "\"relay_rules\":[{\"pattern\":\"10.0.0.1/8\",\"allow\":true}]}",
    MG_PROBLEM_INVALID_PATTERN, "$.relay_rules[0].pattern" },
  { HEAD "\"relay_rules\":[{\"pattern\":\"10.0.0.0/8\"}]}", MG_PROBLEM_EMPTY,
    "$.relay_rules[0].allow" },
  { HEAD "\"relay_rules\":[\"10.0.0.0/8\"]}", MG_PROBLEM_INVALID_VALUE, "$.relay_rules[0]" },
};

static void
test_errors_name_the_path (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr(GPtrArray) problems = mg_problems_new ();
      g_autoptr(MgConfig) config = NULL;
      gboolean found = FALSE;

      g_test_message ("%s", bad_cases[i].json);
      config = mg_config_from_json (bad_cases[i].json, -1, problems);
      g_assert_null (config);
      g_assert_cmpuint (problems->len, >, 0);
      for (guint p = 0; p < problems->len; p++)
        {
          const MgProblem *problem = g_ptr_array_index (problems, p);

          g_test_message ("  %s %s %s", problem->code, problem->field, problem->arg);
          if (g_str_equal (problem->code, bad_cases[i].code) &&
              g_str_equal (problem->field, bad_cases[i].field))
            found = TRUE;
        }
      g_assert_true (found);
    }
}

/* Every problem of a document is reported, not only the first. */
static void
test_all_problems (void)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(MgConfig) config =
    mg_config_from_json (HEAD "\"routes\":[{\"domain\":\"bad domain\",\"host\":\"h\",\"port\":0}],"
                         "\"relay_rules\":[{\"pattern\":\"\",\"allow\":true}]}", -1, problems);

  g_assert_null (config);
  g_assert_cmpuint (problems->len, ==, 3);
  g_assert_cmpstr (((MgProblem *) problems->pdata[0])->field, ==, "$.routes[0].domain");
  g_assert_cmpstr (((MgProblem *) problems->pdata[1])->field, ==, "$.routes[0].port");
  g_assert_cmpstr (((MgProblem *) problems->pdata[2])->field, ==, "$.relay_rules[0].pattern");
}

/* Omitted sections are empty, omitted settings keep their defaults. */
static void
test_minimal (void)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(MgConfig) config =
    mg_config_from_json ("{\"format\":\"mailgate-config\",\"version\":1}", -1, problems);

  g_assert_nonnull (config);
  g_assert_cmpuint (config->domains->len, ==, 0);
  g_assert_cmpint (mg_config_get_int (config, "receiver.max_recipients"), ==, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config-json/round-trip", test_round_trip);
  g_test_add_func ("/config-json/errors-name-the-path", test_errors_name_the_path);
  g_test_add_func ("/config-json/all-problems", test_all_problems);
  g_test_add_func ("/config-json/minimal", test_minimal);

  return g_test_run ();
}
