/* mg-problem.c - validation problems and their translated text
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgProblem is plain data (code, field, arg) made by the validation code
 * in the daemon; it crosses the control socket as (sss) and only the client
 * turns it into words, in its own locale (STYLE.md B5).  Every problem owns
 * its three strings; a problems array owns its problems.
 *
 * Threading: pure functions, callable from any thread.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mg-problem.h"

MgProblem *
mg_problem_new (const char *code,
                const char *field,
                const char *arg)
{
  MgProblem *problem;

  g_return_val_if_fail (code != NULL, NULL);

  problem = g_new0 (MgProblem, 1);
  problem->code = g_strdup (code);
  problem->field = g_strdup (field != NULL ? field : "");
  problem->arg = g_strdup (arg != NULL ? arg : "");
  return problem;
}

void
mg_problem_free (MgProblem *problem)
{
  if (problem == NULL)
    return;

  g_free (problem->code);
  g_free (problem->field);
  g_free (problem->arg);
  g_free (problem);
}

/* Each format takes the field first, then the argument.  The quotes are
 * typographic, as the GNOME HIG asks. */
typedef struct
{
  const char *code;
  const char *format;
  gboolean    field_only;   /* the format has one %s: the field */
} ProblemText;

static const ProblemText problem_texts[] = {
  /* TRANSLATORS: first %s is a setting key, second the key as written */
  { MG_PROBLEM_UNKNOWN_KEY,      N_("%s: “%s” is not a known setting") },
  /* TRANSLATORS: first %s is a field name, second the value entered */
  { MG_PROBLEM_NOT_A_BOOLEAN,    N_("%s: “%s” is not a yes/no value (use true or false)") },
  { MG_PROBLEM_NOT_A_NUMBER,     N_("%s: “%s” is not a whole number") },
  /* TRANSLATORS: second %s is the allowed range, e.g. "1..100000" */
  { MG_PROBLEM_OUT_OF_RANGE,     N_("%s: the value is out of range (%s)") },
  { MG_PROBLEM_INVALID_DOMAIN,   N_("%s: “%s” is not a valid domain name") },
  { MG_PROBLEM_INVALID_ADDRESS,  N_("%s: “%s” is not a valid mail address") },
  { MG_PROBLEM_INVALID_HOST,     N_("%s: “%s” is not a valid host name or IP address") },
  { MG_PROBLEM_INVALID_PORT,     N_("%s: “%s” is not a valid port (1..65535)") },
  { MG_PROBLEM_INVALID_PATTERN,  N_("%s: “%s” is not a valid pattern (an IP address, a network such as 192.168.0.0/24, a host name, .domain, user@domain or @domain)") },
  { MG_PROBLEM_INVALID_LISTENER, N_("%s: “%s” is not a valid listening address (use ADDRESS:PORT, [IPv6]:PORT or *:PORT)") },
  { MG_PROBLEM_INVALID_VALUE,    N_("%s: “%s” is not a valid value") },
  /* TRANSLATORS: %s is a field name */
  { MG_PROBLEM_EMPTY,            N_("%s: a value is required"), TRUE },
  /* TRANSLATORS: second %s is the maximum number of characters */
  { MG_PROBLEM_TOO_LONG,         N_("%s: the value is too long (at most %s characters)") },
  { MG_PROBLEM_EXISTS,           N_("%s: “%s” already exists") },
  { MG_PROBLEM_NOT_FOUND,        N_("%s: “%s” does not exist") },
  { MG_PROBLEM_UNKNOWN_DOMAIN,   N_("%s: “%s” is not a local domain (add the domain first)") },
  /* TRANSLATORS: second %s is a 1-based position in an ordered list */
  { MG_PROBLEM_BAD_POSITION,     N_("%s: there is no position %s in the list") },
  /* TRANSLATORS: second %s is the operating system's error text */
  { MG_PROBLEM_BIND_FAILED,      N_("%s: cannot listen here: %s") },
  /* TRANSLATORS: first %s is "line N", second says what is wrong */
  { MG_PROBLEM_BAD_LINE,         N_("%s: this line cannot be read (%s)") },
};

static const ProblemText *
find_text (const char *code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (problem_texts); i++)
    {
      if (g_str_equal (problem_texts[i].code, code))
        return &problem_texts[i];
    }
  return NULL;
}

/**
 * mg_problem_to_string:
 * @problem: a problem
 *
 * Returns: (transfer full): one translated line naming the field
 */
char *
mg_problem_to_string (const MgProblem *problem)
{
  const ProblemText *info;
  char *text;

  g_return_val_if_fail (problem != NULL, NULL);

  info = find_text (problem->code);
  if (info == NULL)
    {
      /* TRANSLATORS: a problem code this version does not know:
       * field, code (English), argument */
      return g_strdup_printf (_("%s: invalid (%s: %s)"),
                              problem->field, problem->code, problem->arg);
    }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  if (info->field_only)
    text = g_strdup_printf (_(info->format), problem->field);
  else
    text = g_strdup_printf (_(info->format), problem->field, problem->arg);
#pragma GCC diagnostic pop

  /* One line, whatever the argument holds */
  g_strdelimit (text, "\r\n", ' ');
  return text;
}

GPtrArray *
mg_problems_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) mg_problem_free);
}

void
mg_problems_add (GPtrArray  *problems,
                 const char *code,
                 const char *field,
                 const char *arg)
{
  g_return_if_fail (problems != NULL);
  g_return_if_fail (code != NULL);

  g_ptr_array_add (problems, mg_problem_new (code, field, arg));
}

/**
 * mg_problems_to_variant:
 * @problems: (nullable): MgProblem* array
 *
 * Returns: (transfer floating): an a(sss) variant
 */
GVariant *
mg_problems_to_variant (GPtrArray *problems)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; problems != NULL && i < problems->len; i++)
    {
      const MgProblem *p = g_ptr_array_index (problems, i);

      g_variant_builder_add (&builder, "(sss)", p->code, p->field, p->arg);
    }
  return g_variant_builder_end (&builder);
}

/**
 * mg_problems_from_variant:
 * @variant: an a(sss) variant
 *
 * Returns: (transfer full): a new problems array
 */
GPtrArray *
mg_problems_from_variant (GVariant *variant)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  GVariantIter iter;
  const char *code, *field, *arg;

  g_return_val_if_fail (variant != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (variant, G_VARIANT_TYPE ("a(sss)")), NULL);

  g_variant_iter_init (&iter, variant);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &code, &field, &arg))
    mg_problems_add (problems, code, field, arg);

  return g_steal_pointer (&problems);
}
