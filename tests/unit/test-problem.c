/* test-problem.c - validation problems: text and transport
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Runs in the C locale: texts are the English originals.
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "mg-problem.h"

static const char * const codes[] = {
  MG_PROBLEM_UNKNOWN_KEY, MG_PROBLEM_NOT_A_BOOLEAN, MG_PROBLEM_NOT_A_NUMBER,
  MG_PROBLEM_OUT_OF_RANGE, MG_PROBLEM_INVALID_DOMAIN, MG_PROBLEM_INVALID_ADDRESS,
  MG_PROBLEM_INVALID_HOST, MG_PROBLEM_INVALID_PORT, MG_PROBLEM_INVALID_PATTERN,
  MG_PROBLEM_INVALID_LISTENER, MG_PROBLEM_INVALID_VALUE, MG_PROBLEM_EMPTY,
  MG_PROBLEM_TOO_LONG, MG_PROBLEM_EXISTS, MG_PROBLEM_NOT_FOUND,
  MG_PROBLEM_UNKNOWN_DOMAIN, MG_PROBLEM_BAD_POSITION, MG_PROBLEM_BIND_FAILED,
  MG_PROBLEM_BAD_LINE,
};

/* Every code has its own text: one line, the field first, the argument in
 * it (except "empty", which has none), not the fallback. */
static void
test_every_code_has_text (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autoptr(MgProblem) problem = mg_problem_new (codes[i], "some.field", "ARG-7");
      g_autofree char *text = mg_problem_to_string (problem);
      g_autofree char *fallback_marker = g_strdup_printf ("(%s:", codes[i]);

      g_test_message ("%s: %s", codes[i], text);
      g_assert_true (g_str_has_prefix (text, "some.field: "));
      g_assert_null (strchr (text, '\n'));
      g_assert_null (strstr (text, fallback_marker));
      if (!g_str_equal (codes[i], MG_PROBLEM_EMPTY))
        g_assert_nonnull (strstr (text, "ARG-7"));
      /* no two codes read the same */
      g_assert_false (g_hash_table_contains (seen, text));
      g_hash_table_add (seen, g_steal_pointer (&text));
    }
}

static void
test_example_text (void)
{
  g_autoptr(MgProblem) problem = mg_problem_new (MG_PROBLEM_OUT_OF_RANGE,
                                                 "receiver.max_recipients", "1..100000");
  g_autofree char *text = mg_problem_to_string (problem);

  g_assert_cmpstr (text, ==, "receiver.max_recipients: the value is out of range (1..100000)");
}

static void
test_unknown_code (void)
{
  g_autoptr(MgProblem) problem = mg_problem_new ("from-the-future", "x.y", "z");
  g_autofree char *text = mg_problem_to_string (problem);

  g_assert_true (g_str_has_prefix (text, "x.y: "));
  g_assert_nonnull (strstr (text, "from-the-future"));
}

static void
test_one_line (void)
{
  g_autoptr(MgProblem) problem = mg_problem_new (MG_PROBLEM_INVALID_VALUE, "f", "a\r\nb");
  g_autofree char *text = mg_problem_to_string (problem);

  g_assert_null (strchr (text, '\n'));
  g_assert_null (strchr (text, '\r'));
}

/* a(sss) round trip, as problems cross the control socket */
static void
test_variant_round_trip (void)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GVariant) variant = NULL;
  const MgProblem *p;

  mg_problems_add (problems, MG_PROBLEM_EXISTS, "domain", "corp.example");
  mg_problems_add (problems, MG_PROBLEM_BAD_LINE, "line 3", "x\ty\tz");
  mg_problems_add (problems, MG_PROBLEM_EMPTY, "targets", NULL);

  variant = g_variant_ref_sink (mg_problems_to_variant (problems));
  g_assert_cmpstr (g_variant_get_type_string (variant), ==, "a(sss)");
  back = mg_problems_from_variant (variant);
  g_assert_cmpuint (back->len, ==, 3);
  p = g_ptr_array_index (back, 1);
  g_assert_cmpstr (p->code, ==, MG_PROBLEM_BAD_LINE);
  g_assert_cmpstr (p->field, ==, "line 3");
  g_assert_cmpstr (p->arg, ==, "x\ty\tz");
  p = g_ptr_array_index (back, 2);
  g_assert_cmpstr (p->arg, ==, "");

  g_clear_pointer (&variant, g_variant_unref);
  variant = g_variant_ref_sink (mg_problems_to_variant (NULL));
  g_assert_cmpuint (g_variant_n_children (variant), ==, 0);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/problem/text/every-code", test_every_code_has_text);
  g_test_add_func ("/problem/text/example", test_example_text);
  g_test_add_func ("/problem/text/unknown-code", test_unknown_code);
  g_test_add_func ("/problem/text/one-line", test_one_line);
  g_test_add_func ("/problem/variant/round-trip", test_variant_round_trip);

  return g_test_run ();
}
