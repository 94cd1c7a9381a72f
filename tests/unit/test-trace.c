/* test-trace.c - the trace bus
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include "mg-trace.h"

static guint side_effects;

static const char *
count_side_effect (void)
{
  side_effects++;
  return "x";
}

static void
collect_line (const char *line,
              gpointer    user_data)
{
  g_ptr_array_add (user_data, g_strdup (line));
}

/* The part of a line after the "HH:MM:SS.mmm " time stamp. */
static const char *
body_of (const char *line)
{
  g_assert_cmpuint (strlen (line), >, 13);
  g_assert_cmpint (line[2], ==, ':');
  g_assert_cmpint (line[12], ==, ' ');
  return line + 13;
}

/* Lines leave in batches after a short wait (20 ms, mg-trace.c): run the
 * context well past it. */
static void
drain (GMainContext *context)
{
  gint64 until = g_get_monotonic_time () + 150 * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
}

/* Nobody listens: MG_TRACE evaluates nothing (DESIGN.md: free when unwatched). */
static void
test_inactive_costs_nothing (void)
{
  side_effects = 0;
  g_assert_false (mg_trace_active ());
  MG_TRACE ("S00000001", "%s", count_side_effect ());
  g_assert_cmpuint (side_effects, ==, 0);
}

typedef struct
{
  guint from;
} EmitData;

static gpointer
emit_from_thread (gpointer user_data)
{
  EmitData *data = user_data;

  for (guint i = 0; i < 100; i++)
    MG_TRACE ("S00000002", "line %u", data->from + i);
  return NULL;
}

/* Lines from another thread arrive in the subscriber's context, in order. */
static void
test_subscriber_context (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  EmitData data = { 1000 };
  GThread *thread;
  guint id;

  id = mg_trace_subscribe (collect_line, lines, context);
  g_assert_true (mg_trace_active ());

  thread = g_thread_new ("emitter", emit_from_thread, &data);
  g_thread_join (thread);
  g_assert_cmpuint (lines->len, ==, 0);   /* not before the context runs */

  drain (context);
  g_assert_cmpuint (lines->len, ==, 100);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *expected = g_strdup_printf ("[S00000002] line %u", 1000 + i);
      g_assert_cmpstr (body_of (g_ptr_array_index (lines, i)), ==, expected);
    }

  mg_trace_unsubscribe (id);
  g_assert_false (mg_trace_active ());
  MG_TRACE ("S00000002", "after");
  drain (context);
  g_assert_cmpuint (lines->len, ==, 100);
}

/* One trace line per protocol line; control bytes never reach the trace raw. */
static void
test_protocol_lines (void)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  const char replies[] = "250-mx.example Hello\r\n250 PIPELINING\r\n";
  const char hostile[] = "MAIL FROM:<a\0b>\rx";
  guint id = mg_trace_subscribe (collect_line, lines, NULL);

  mg_trace_protocol ("S00000003", "SEND ->", replies, strlen (replies));
  mg_trace_protocol ("S00000003", "RECV <-", hostile, sizeof hostile - 1);
  mg_trace_unsubscribe (id);

  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_cmpstr (body_of (lines->pdata[0]), ==, "[S00000003] SEND -> [250-mx.example Hello]");
  g_assert_cmpstr (body_of (lines->pdata[1]), ==, "[S00000003] SEND -> [250 PIPELINING]");
  g_assert_cmpstr (body_of (lines->pdata[2]), ==, "[S00000003] RECV <- [MAIL FROM:<a\\x00b>\\x0Dx]");
}

/* A subscriber that never runs its context costs bounded memory: lines past
 * the limit are dropped and counted. */
static void
test_slow_subscriber_bounded (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  guint id = mg_trace_subscribe (collect_line, lines, context);

  for (guint i = 0; i < 25000; i++)
    MG_TRACE ("S00000004", "line %u", i);
  drain (context);
  mg_trace_unsubscribe (id);

  g_assert_cmpuint (lines->len, ==, 20001);
  g_assert_nonnull (strstr (lines->pdata[0], "5000 lines dropped"));
  g_assert_cmpstr (body_of (lines->pdata[1]), ==, "[S00000004] line 0");
}

static void
collect_batch (const char * const *lines,
               guint               n_lines,
               gpointer            user_data)
{
  GPtrArray *batches = user_data;
  GPtrArray *batch = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n_lines; i++)
    g_ptr_array_add (batch, g_strdup (lines[i]));
  g_ptr_array_add (batches, batch);
}

/* A batch subscriber gets everything that accumulated in one call, in
 * order, in its own context (the control socket sends one D-Bus signal per
 * batch: a busy trace costs one signal per main-loop wake-up, not per line). */
static void
test_batch_subscriber (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  EmitData data = { 0 };
  GThread *thread;
  GPtrArray *batch;
  guint id = mg_trace_subscribe_batch (collect_batch, batches, context);

  thread = g_thread_new ("emitter", emit_from_thread, &data);
  g_thread_join (thread);
  g_assert_cmpuint (batches->len, ==, 0);

  drain (context);
  g_assert_cmpuint (batches->len, ==, 1);
  batch = g_ptr_array_index (batches, 0);
  g_assert_cmpuint (batch->len, ==, 100);
  g_assert_cmpstr (body_of (batch->pdata[0]), ==, "[S00000002] line 0");
  g_assert_cmpstr (body_of (batch->pdata[99]), ==, "[S00000002] line 99");

  MG_TRACE ("S00000005", "again");
  drain (context);
  g_assert_cmpuint (batches->len, ==, 2);
  mg_trace_unsubscribe (id);
}

typedef struct
{
  GMainContext *context;
  gint          stop;
} Runner;

static gpointer
run_context (gpointer user_data)
{
  Runner *runner = user_data;

  g_main_context_push_thread_default (runner->context);
  while (!g_atomic_int_get (&runner->stop))
    g_main_context_iteration (runner->context, FALSE) || (g_usleep (200), TRUE);
  g_main_context_pop_thread_default (runner->context);
  return NULL;
}

static void
count_batch (const char * const *lines,
             guint               n_lines,
             gpointer            user_data)
{
  guint *counts = user_data;

  g_atomic_int_inc (&counts[0]);
  g_atomic_int_add (&counts[1], n_lines);
}

/* A steady trickle of lines, while the subscriber's context runs all the
 * time, still leaves in few batches: each D-Bus signal costs the daemon
 * and the client far more than a line (bench/README.md, trace). */
static void
test_batches_gather (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint counts[2] = { 0, 0 };   /* batches, lines */
  Runner runner = { context, 0 };
  GThread *thread;
  guint id = mg_trace_subscribe_batch (count_batch, counts, context);

  thread = g_thread_new ("context", run_context, &runner);
  for (guint i = 0; i < 100; i++)
    {
      MG_TRACE ("S00000006", "trickle %u", i);
      g_usleep (100);
    }
  g_usleep (150 * 1000);
  g_atomic_int_set (&runner.stop, 1);
  g_thread_join (thread);
  mg_trace_unsubscribe (id);

  g_assert_cmpuint (counts[1], ==, 100);
  /* an idle per wake-up would send close to 100 */
  g_assert_cmpuint (counts[0], <, 20);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/trace/inactive-costs-nothing", test_inactive_costs_nothing);
  g_test_add_func ("/trace/subscriber-context", test_subscriber_context);
  g_test_add_func ("/trace/protocol-lines", test_protocol_lines);
  g_test_add_func ("/trace/slow-subscriber-bounded", test_slow_subscriber_bounded);
  g_test_add_func ("/trace/batch-subscriber", test_batch_subscriber);
  g_test_add_func ("/trace/batches-gather", test_batches_gather);

  return g_test_run ();
}
