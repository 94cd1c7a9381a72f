/* test-fuzz-regressions.c - replay the fuzz corpora through the harnesses
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every file of tests/unit/data/fuzz-regressions/<target>/ (inputs that
 * once crashed a fuzzer) and of fuzz/corpus/<target>/ (the seed corpora)
 * goes through the same harness function the libFuzzer build calls, so a
 * crash found once stays fixed and the seeds stay meaningful.  The
 * harnesses check their invariants with g_assert()/g_error(); a broken one
 * aborts this test.  One GTest case per file: /fuzz/<kind>/<target>/<file>.
 *
 * The harness sources live in fuzz/ and are compiled into this program
 * directly (the generic unit-test rule builds one source per test), so the
 * gcc build needs no -Dfuzzing and no clang.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "../../fuzz/mg-fuzz.c"
#include "../../fuzz/fuzz-address.c"
#include "../../fuzz/fuzz-smtp-auth.c"
#include "../../fuzz/fuzz-smtp-data.c"
#include "../../fuzz/fuzz-smtp-session.c"

typedef int (*HarnessFunc) (const guint8 *data, gsize size);

static const struct
{
  const char  *target;     /* directory name under corpus/ and fuzz-regressions/ */
  HarnessFunc  func;
} targets[] = {
  { "address",      mg_fuzz_address },
  { "smtp-auth",    mg_fuzz_smtp_auth },
  { "smtp-data",    mg_fuzz_smtp_data },
  { "smtp-session", mg_fuzz_smtp_session },
};

typedef struct
{
  HarnessFunc  func;
  char        *path;
} Case;

static void
case_free (gpointer data)
{
  Case *c = data;

  g_free (c->path);
  g_free (c);
}

static void
test_replay (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize size = 0;

  g_file_get_contents (c->path, &contents, &size, &error);
  g_assert_no_error (error);
  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", c->path, size);
  g_assert_cmpint (c->func ((const guint8 *) contents, size), ==, 0);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Adds one case per file of @dir (sorted, so the TAP numbering is stable).
 * Returns the number of files. */
static guint
add_dir (const char  *kind,
         const char  *target,
         HarnessFunc  func,
         const char  *dir)
{
  g_autoptr(GDir) handle = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  handle = g_dir_open (dir, 0, NULL);
  if (handle == NULL)
    return 0;
  while ((name = g_dir_read_name (handle)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *test_path = g_strdup_printf ("/fuzz/%s/%s/%s", kind, target, file);
      Case *c = g_new0 (Case, 1);

      c->func = func;
      c->path = g_build_filename (dir, file, NULL);
      g_test_add_data_func_full (test_path, c, test_replay, case_free);
    }
  return names->len;
}

int
main (int argc, char **argv)
{
  const char *srcdir = g_getenv ("TEST_SRCDIR");   /* tests/ */
  g_autofree char *top = NULL;

  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  if (srcdir == NULL)
    g_error ("TEST_SRCDIR is not set (run through meson test)");
  top = g_path_get_dirname (srcdir);

  for (gsize i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autofree char *corpus = g_build_filename (top, "fuzz", "corpus", targets[i].target, NULL);
      g_autofree char *regressions = g_build_filename (srcdir, "unit", "data", "fuzz-regressions",
                                                       targets[i].target, NULL);
      guint n_seeds;

      n_seeds = add_dir ("corpus", targets[i].target, targets[i].func, corpus);
      add_dir ("regressions", targets[i].target, targets[i].func, regressions);
      /* a missing or empty corpus would make this test pass on nothing */
      if (n_seeds == 0)
        g_error ("no seed corpus in %s", corpus);
    }

  return g_test_run ();
}
