/* mg-problem.h - validation problems: data, not errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every configuration change is validated in one place (mg-config-store.c,
 * with mg-settings.c for typed settings).  A refused value yields one
 * MgProblem per offending field: a stable code, the field it concerns (a
 * setting key such as "receiver.max_recipients", or "domain", "route.port",
 * "relay.pattern", "line 3", ...), and an argument.  Problems cross the
 * control socket as a(sss) and are turned into text only in the client's
 * locale by mg_problem_to_string() (STYLE.md B5).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Problem codes (stable strings, never translated) */
#define MG_PROBLEM_UNKNOWN_KEY      "unknown-key"       /* arg: the key */
#define MG_PROBLEM_NOT_A_BOOLEAN    "not-a-boolean"     /* arg: the value */
#define MG_PROBLEM_NOT_A_NUMBER     "not-a-number"      /* arg: the value */
#define MG_PROBLEM_OUT_OF_RANGE     "out-of-range"      /* arg: "MIN..MAX" */
#define MG_PROBLEM_INVALID_DOMAIN   "invalid-domain"    /* arg: the value */
#define MG_PROBLEM_INVALID_ADDRESS  "invalid-address"   /* arg: the value */
#define MG_PROBLEM_INVALID_HOST     "invalid-host"      /* arg: the value */
#define MG_PROBLEM_INVALID_PORT     "invalid-port"      /* arg: the value */
#define MG_PROBLEM_INVALID_PATTERN  "invalid-pattern"   /* arg: the value */
#define MG_PROBLEM_INVALID_LISTENER "invalid-listener"  /* arg: the value */
#define MG_PROBLEM_INVALID_VALUE    "invalid-value"     /* arg: the value */
#define MG_PROBLEM_EMPTY            "empty"             /* arg: "" */
#define MG_PROBLEM_TOO_LONG         "too-long"          /* arg: max length */
#define MG_PROBLEM_EXISTS           "exists"            /* arg: the name */
#define MG_PROBLEM_NOT_FOUND        "not-found"         /* arg: the name */
#define MG_PROBLEM_UNKNOWN_DOMAIN   "unknown-domain"    /* arg: the domain (not a local domain) */
#define MG_PROBLEM_BAD_POSITION     "bad-position"      /* arg: "N" (valid range in message) */
#define MG_PROBLEM_BIND_FAILED      "bind-failed"       /* arg: the OS error text */
#define MG_PROBLEM_BAD_LINE         "bad-line"          /* arg: what is wrong (TSV import) */

typedef struct
{
  char *code;
  char *field;
  char *arg;
} MgProblem;

MgProblem *mg_problem_new        (const char      *code,
                                  const char      *field,
                                  const char      *arg);
void       mg_problem_free       (MgProblem       *problem);

/* Returns a (transfer full) translated one-line text, e.g.
 * "receiver.max_recipients: 0 is out of range (1..100000)". */
char      *mg_problem_to_string  (const MgProblem *problem);

/* GPtrArray of MgProblem* with mg_problem_free as element free func */
GPtrArray *mg_problems_new       (void);
void       mg_problems_add       (GPtrArray       *problems,
                                  const char      *code,
                                  const char      *field,
                                  const char      *arg);

/* a(sss) <-> GPtrArray */
GVariant  *mg_problems_to_variant   (GPtrArray *problems);   /* floating */
GPtrArray *mg_problems_from_variant (GVariant  *variant);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgProblem, mg_problem_free)

G_END_DECLS
