/* test-queue.c - the durable queue: storage, group commit, crash safety
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every test works on a fresh queue.db in its own temporary directory.
 * R-1.5 (250 only after the message is durable) is what most of these
 * prove: the done callback runs only after the commit, acknowledged
 * messages survive close/reopen and kill -9.
 *
 * The crash test runs this same binary as a child ("--crash-child DIR"),
 * spawned with exec, so no fork of a threaded process is involved.
 *
 * Threading: the group-commit and crash tests submit from several threads,
 * each iterating its own GMainContext.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mg-error.h"
#include "mg-queue.h"

typedef struct
{
  char         *dir;
  MgQueue      *queue;
  GMainContext *context;
} Fixture;

typedef struct
{
  gboolean      done;
  GError       *error;
  GMainContext *expected_context;
  gboolean      ran_in_context;
  guint64       committed_when_run;
  gboolean      body_readable_when_run;
} Waiter;

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("mg-queue-XXXXXX", &error);
  g_assert_no_error (error);
  fx->queue = mg_queue_open (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->queue);
  fx->context = g_main_context_new ();
  g_main_context_push_thread_default (fx->context);
}

static void
fixture_reopen (Fixture *fx)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&fx->queue, mg_queue_close);
  while (g_main_context_iteration (fx->context, FALSE))
    ;
  fx->queue = mg_queue_open (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->queue);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  g_clear_pointer (&fx->queue, mg_queue_close);
  while (g_main_context_iteration (fx->context, FALSE))
    ;
  g_main_context_pop_thread_default (fx->context);
  g_clear_pointer (&fx->context, g_main_context_unref);
  rm_rf (fx->dir);
  g_clear_pointer (&fx->dir, g_free);
}

static GBytes *
make_body (gsize   size,
           guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size + 1);

  /* binary noise with NULs, CR and LF in it: stored byte-exact */
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int_range (rand, 0, 256);
  return g_bytes_new_take (data, size);
}

static MgQueueMessage *
make_message (MgQueue    *queue,
              const char *sender,
              GBytes     *body)
{
  MgQueueMessage *msg = mg_queue_message_new ();

  msg->id = mg_queue_new_id (queue);
  msg->sender = g_strdup (sender);
  mg_queue_message_add_rcpt (msg, "alice@example.org");
  mg_queue_message_add_rcpt (msg, "bob@example.net");
  msg->received_at = g_get_real_time ();
  msg->client_address = g_strdup ("192.0.2.7");
  msg->helo = g_strdup ("client.example");
  msg->body = g_bytes_ref (body);
  msg->body_size = g_bytes_get_size (body);
  return msg;
}

static void
on_done_cb (MgQueue        *queue,
            MgQueueMessage *msg,
            const GError   *error,
            gpointer        user_data)
{
  Waiter *w = user_data;
  g_autoptr(GBytes) body = NULL;

  g_assert_false (w->done);
  w->done = TRUE;
  w->error = error != NULL ? g_error_copy (error) : NULL;
  w->ran_in_context = w->expected_context != NULL &&
                      g_main_context_is_owner (w->expected_context);
  w->committed_when_run = mg_queue_get_n_messages_committed (queue);
  if (error == NULL && msg->body != NULL)
    {
      body = mg_queue_read_body (queue, msg->id, NULL);
      w->body_readable_when_run = body != NULL;
    }
}

static void
wait_for (GMainContext *context,
          Waiter       *w)
{
  while (!w->done)
    g_main_context_iteration (context, TRUE);
}

static void
submit_and_wait (Fixture        *fx,
                 MgQueueMessage *msg)
{
  Waiter w = { .expected_context = fx->context };

  mg_queue_submit (fx->queue, msg, fx->context, on_done_cb, &w);
  wait_for (fx->context, &w);
  g_assert_no_error (w.error);
}

static MgQueueMessage *
find_message (GPtrArray  *messages,
              const char *id)
{
  for (guint i = 0; i < messages->len; i++)
    {
      MgQueueMessage *msg = g_ptr_array_index (messages, i);

      if (g_str_equal (msg->id, id))
        return msg;
    }
  return NULL;
}

/* the callback that lets the receiver say 250 runs in the caller's
 * context, and only once the message is committed. */
static void
test_submit_done_after_commit (Fixture       *fx,
                               gconstpointer  data)
{
  g_autoptr(GBytes) body = g_bytes_new_static ("Subject: hi\r\n\r\nhello\r\n", 23);
  g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "sender@example.com", body);
  Waiter w = { .expected_context = fx->context };
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 0);
  mg_queue_submit (fx->queue, msg, fx->context, on_done_cb, &w);

  /* the commit happens without anyone iterating the context ... */
  while (mg_queue_get_n_messages_committed (fx->queue) == 0 &&
         g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (mg_queue_get_n_messages_committed (fx->queue), ==, 1);
  g_usleep (20000);
  /* ... but the callback waits for the context */
  g_assert_false (w.done);

  wait_for (fx->context, &w);
  g_assert_no_error (w.error);
  g_assert_true (w.ran_in_context);
  g_assert_cmpuint (w.committed_when_run, ==, 1);
  g_assert_true (w.body_readable_when_run);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
  g_assert_cmpuint (mg_queue_get_n_commits (fx->queue), >=, 1);
}

typedef struct
{
  MgQueue    *queue;
  const char *id;
  GBytes     *expected;
} ReadJob;

static gpointer
read_in_thread (gpointer user_data)
{
  ReadJob *job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = mg_queue_read_body (job->queue, job->id, &error);

  g_assert_no_error (error);
  return GINT_TO_POINTER (g_bytes_equal (body, job->expected));
}

static void
test_body_round_trip (Fixture       *fx,
                      gconstpointer  data)
{
  static const gsize sizes[] = { 0, 1, 511, 4099, 1024 * 1024 + 7, 5 * 1024 * 1024 };
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) missing = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) body = make_body (sizes[i], i + 1);
      g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "", body);

      submit_and_wait (fx, msg);
      g_ptr_array_add (bodies, g_bytes_ref (body));
      g_ptr_array_add (ids, g_strdup (msg->id));
    }

  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(GBytes) got = mg_queue_read_body (fx->queue, ids->pdata[i], &error);
      ReadJob job = { fx->queue, ids->pdata[i], bodies->pdata[i] };
      GThread *thread;

      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got),
                       g_bytes_get_data (bodies->pdata[i], NULL),
                       g_bytes_get_size (bodies->pdata[i]));

      /* another thread, its own read connection */
      thread = g_thread_new ("reader", read_in_thread, &job);
      g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
    }

  /* and after a restart: the 5 MB one */
  fixture_reopen (fx);
  {
    g_autoptr(GBytes) got = mg_queue_read_body (fx->queue, ids->pdata[ids->len - 1], &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (got, bodies->pdata[bodies->len - 1]));
  }

  missing = mg_queue_read_body (fx->queue, "B9999999999", &error);
  g_assert_null (missing);
  g_assert_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND);
}

/* The scheduler's state after a restart comes from load_all alone. */
static void
test_load_all_after_reopen (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (3000, 7);
  g_autoptr(MgQueueMessage) first = make_message (fx->queue, "", body);
  g_autoptr(MgQueueMessage) second = make_message (fx->queue, "a@example.com", body);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  MgQueueMessage *got;
  MgQueueRcpt *rcpt;

  first->received_at = 2000;
  second->received_at = 1000;   /* older: must come first */
  g_clear_pointer (&second->client_address, g_free);
  g_clear_pointer (&second->helo, g_free);
  mg_queue_message_add_rcpt (second, "carol@example.com");
  ((MgQueueRcpt *) g_ptr_array_index (second->rcpts, 1))->state = MG_RCPT_STATE_DELIVERED;
  ((MgQueueRcpt *) g_ptr_array_index (second->rcpts, 1))->last_reply = g_strdup ("250 2.0.0 ok");
  submit_and_wait (fx, first);
  submit_and_wait (fx, second);

  fixture_reopen (fx);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 2);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);

  got = g_ptr_array_index (all, 0);
  g_assert_cmpstr (got->id, ==, second->id);
  g_assert_cmpstr (got->sender, ==, "a@example.com");
  g_assert_cmpint (got->received_at, ==, 1000);
  g_assert_null (got->client_address);
  g_assert_null (got->helo);
  g_assert_null (got->body);
  g_assert_cmpuint (got->body_size, ==, 3000);
  g_assert_cmpuint (got->rcpts->len, ==, 3);
  rcpt = g_ptr_array_index (got->rcpts, 0);
  g_assert_cmpstr (rcpt->address, ==, "alice@example.org");
  g_assert_cmpint (rcpt->state, ==, MG_RCPT_STATE_PENDING);
  g_assert_null (rcpt->last_reply);
  rcpt = g_ptr_array_index (got->rcpts, 1);
  g_assert_cmpstr (rcpt->address, ==, "bob@example.net");
  g_assert_cmpint (rcpt->state, ==, MG_RCPT_STATE_DELIVERED);
  g_assert_cmpstr (rcpt->last_reply, ==, "250 2.0.0 ok");
  rcpt = g_ptr_array_index (got->rcpts, 2);
  g_assert_cmpstr (rcpt->address, ==, "carol@example.com");

  got = g_ptr_array_index (all, 1);
  g_assert_cmpstr (got->id, ==, first->id);
  g_assert_cmpstr (got->sender, ==, "");
  g_assert_cmpstr (got->client_address, ==, "192.0.2.7");
  g_assert_cmpstr (got->helo, ==, "client.example");
  g_assert_cmpuint (got->rcpts->len, ==, 2);
  g_assert_false (got->held);
  g_assert_cmpuint (got->attempts, ==, 0);
}

static void
test_update_persists (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (100, 3);
  g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "s@example.com", body);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  Waiter w = { .expected_context = fx->context };
  MgQueueRcpt *rcpt;
  MgQueueMessage *got;

  submit_and_wait (fx, msg);

  rcpt = g_ptr_array_index (msg->rcpts, 0);
  rcpt->state = MG_RCPT_STATE_FAILED;
  rcpt->last_reply = g_strdup ("550 5.1.1 no such user");
  rcpt = g_ptr_array_index (msg->rcpts, 1);
  rcpt->last_reply = g_strdup ("451 4.3.0 try later");
  msg->attempts = 3;
  msg->next_attempt = 1234567890123;
  msg->first_failure = 1111;
  msg->held = TRUE;
  mg_queue_update (fx->queue, msg, fx->context, on_done_cb, &w);
  /* the op snapshots @msg: later changes are not what gets written */
  msg->attempts = 99;
  wait_for (fx->context, &w);
  g_assert_no_error (w.error);
  g_assert_true (w.ran_in_context);

  fixture_reopen (fx);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  got = g_ptr_array_index (all, 0);
  g_assert_cmpuint (got->attempts, ==, 3);
  g_assert_cmpint (got->next_attempt, ==, 1234567890123);
  g_assert_cmpint (got->first_failure, ==, 1111);
  g_assert_true (got->held);
  rcpt = g_ptr_array_index (got->rcpts, 0);
  g_assert_cmpint (rcpt->state, ==, MG_RCPT_STATE_FAILED);
  g_assert_cmpstr (rcpt->last_reply, ==, "550 5.1.1 no such user");
  rcpt = g_ptr_array_index (got->rcpts, 1);
  g_assert_cmpint (rcpt->state, ==, MG_RCPT_STATE_PENDING);
  g_assert_cmpstr (rcpt->last_reply, ==, "451 4.3.0 try later");
}

static void
test_update_missing (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (10, 3);
  g_autoptr(MgQueueMessage) ghost = make_message (fx->queue, "", body);
  Waiter w = { .expected_context = fx->context };

  mg_queue_update (fx->queue, ghost, fx->context, on_done_cb, &w);
  wait_for (fx->context, &w);
  g_assert_error (w.error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND);
  g_clear_error (&w.error);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 0);
}

static void
test_remove_deletes (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (500, 9);
  g_autoptr(MgQueueMessage) keep = make_message (fx->queue, "k@example.com", body);
  g_autoptr(MgQueueMessage) gone = make_message (fx->queue, "g@example.com", body);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GBytes) no_body = NULL;
  g_autoptr(GError) error = NULL;
  Waiter w = { .expected_context = fx->context };

  submit_and_wait (fx, keep);
  submit_and_wait (fx, gone);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 2);

  mg_queue_remove (fx->queue, gone, fx->context, on_done_cb, &w);
  wait_for (fx->context, &w);
  g_assert_no_error (w.error);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);

  fixture_reopen (fx);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((MgQueueMessage *) all->pdata[0])->id, ==, keep->id);
  g_assert_null (find_message (all, gone->id));
  no_body = mg_queue_read_body (fx->queue, gone->id, &error);
  g_assert_null (no_body);
  g_assert_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND);
}

/* The direct path (the receiver's only session): committed in the calling
 * thread before mg_queue_submit_direct() returns, durable, and the
 * callback still runs from the context, not from inside the call. */
static void
test_submit_direct (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (1500, 21);
  g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "d@example.com", body);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(GError) error = NULL;
  Waiter w = { .expected_context = fx->context };

  g_assert_true (mg_queue_submit_direct (fx->queue, msg, fx->context, on_done_cb, &w));
  g_assert_cmpuint (mg_queue_get_n_messages_committed (fx->queue), ==, 1);
  g_assert_cmpuint (mg_queue_get_n_direct_commits (fx->queue), ==, 1);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
  g_assert_false (w.done);

  wait_for (fx->context, &w);
  g_assert_no_error (w.error);
  g_assert_true (w.ran_in_context);
  g_assert_true (w.body_readable_when_run);

  fixture_reopen (fx);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((MgQueueMessage *) all->pdata[0])->id, ==, msg->id);
  stored = mg_queue_read_body (fx->queue, msg->id, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (stored, body));
}

/* Ops waiting for the committer: the direct path declines, does nothing,
 * and the message goes through mg_queue_submit() as usual. */
static void
test_submit_direct_declines_when_busy (Fixture       *fx,
                                       gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (700, 22);
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_message_unref);
  g_autoptr(MgQueueMessage) late = make_message (fx->queue, "late@example.com", body);
  Waiter waiters[200] = { 0 };
  Waiter w_late = { .expected_context = fx->context };
  gboolean declined = FALSE;
  guint i;

  /* keep the committer busy: many large submits pushed at once (bodies
   * made beforehand), then try while they wait */
  for (i = 0; i < G_N_ELEMENTS (waiters); i++)
    {
      g_autoptr(GBytes) big = make_body (64 * 1024, i);

      waiters[i].expected_context = fx->context;
      g_ptr_array_add (msgs, make_message (fx->queue, "busy@example.com", big));
    }
  for (i = 0; i < G_N_ELEMENTS (waiters); i++)
    mg_queue_submit (fx->queue, msgs->pdata[i], fx->context, on_done_cb, &waiters[i]);
  declined = !mg_queue_submit_direct (fx->queue, late, fx->context, on_done_cb, &w_late);
  g_assert_true (declined);
  g_assert_cmpuint (mg_queue_get_n_direct_commits (fx->queue), ==, 0);
  g_assert_false (w_late.done);

  mg_queue_submit (fx->queue, late, fx->context, on_done_cb, &w_late);
  wait_for (fx->context, &w_late);
  g_assert_no_error (w_late.error);
  for (i = 0; i < G_N_ELEMENTS (waiters); i++)
    {
      wait_for (fx->context, &waiters[i]);
      g_assert_no_error (waiters[i].error);
    }
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, G_N_ELEMENTS (waiters) + 1);
}

/* A removal waits briefly for the next new message and shares its commit;
 * alone, it is still committed within the hold time. */
static void
test_remove_shares_next_commit (Fixture       *fx,
                                gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (900, 23);
  g_autoptr(MgQueueMessage) first = make_message (fx->queue, "a@example.com", body);
  g_autoptr(MgQueueMessage) second = make_message (fx->queue, "b@example.com", body);
  g_autoptr(MgQueueMessage) third = make_message (fx->queue, "c@example.com", body);
  Waiter w_remove = { .expected_context = fx->context };
  Waiter w_remove2 = { .expected_context = fx->context };
  Waiter w_second = { .expected_context = fx->context };
  gint64 started;
  guint64 commits;

  submit_and_wait (fx, first);
  submit_and_wait (fx, third);
  commits = mg_queue_get_n_commits (fx->queue);

  mg_queue_remove (fx->queue, first, fx->context, on_done_cb, &w_remove);
  mg_queue_submit (fx->queue, second, fx->context, on_done_cb, &w_second);
  wait_for (fx->context, &w_remove);
  wait_for (fx->context, &w_second);
  g_assert_no_error (w_remove.error);
  g_assert_no_error (w_second.error);
  g_assert_cmpuint (mg_queue_get_n_commits (fx->queue) - commits, ==, 1);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 2);

  /* alone: committed after the hold (10 ms), well before a second */
  started = g_get_monotonic_time ();
  mg_queue_remove (fx->queue, third, fx->context, on_done_cb, &w_remove2);
  wait_for (fx->context, &w_remove2);
  g_assert_no_error (w_remove2.error);
  g_assert_cmpint (g_get_monotonic_time () - started, <, G_USEC_PER_SEC);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);

  fixture_reopen (fx);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
}

static guint
count_segments (Fixture *fx)
{
  g_autofree char *path = g_build_filename (fx->dir, "bodies", NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Large bodies go to segment files, come back byte-exact after a reopen,
 * and a segment goes away once nothing refers to it; small bodies stay in
 * queue.db.  Segments rotate at their size limit. */
static void
test_segments_reclaimed (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_message_unref);
  g_autoptr(GBytes) small = make_body (2000, 30);
  g_autoptr(MgQueueMessage) small_msg = make_message (fx->queue, "s@example.com", small);
  g_autoptr(GError) error = NULL;
  guint i;

  submit_and_wait (fx, small_msg);
  g_assert_cmpuint (count_segments (fx), ==, 0);

  /* four 100 KB bodies, a new segment every 150 KB: two segments */
  mg_queue_set_segment_max_for_test (fx->queue, 150 * 1024);
  for (i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) big = make_body (100 * 1024, 31 + i);
      MgQueueMessage *m = make_message (fx->queue, "b@example.com", big);

      g_ptr_array_add (msgs, m);
      submit_and_wait (fx, m);
    }
  g_assert_cmpuint (count_segments (fx), ==, 2);

  fixture_reopen (fx);
  g_assert_cmpuint (count_segments (fx), ==, 2);
  for (i = 0; i < msgs->len; i++)
    {
      MgQueueMessage *m = msgs->pdata[i];
      g_autoptr(GBytes) body = mg_queue_read_body (fx->queue, m->id, &error);

      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (body, m->body));
    }

  /* the first segment (messages 0 and 1) is not appended to any more:
   * with its last message it becomes the spare, kept for reuse */
  for (i = 0; i < 2; i++)
    {
      Waiter w = { .expected_context = fx->context };

      mg_queue_remove (fx->queue, msgs->pdata[i], fx->context, on_done_cb, &w);
      wait_for (fx->context, &w);
      g_assert_no_error (w.error);
    }
  g_assert_cmpuint (count_segments (fx), ==, 2);
  {
    g_autoptr(GBytes) gone = mg_queue_read_body (fx->queue, ((MgQueueMessage *) msgs->pdata[0])->id, &error);

    g_assert_null (gone);
    g_assert_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* the next segment reuses the spare's file (renamed to the new id): the
   * bodies still queued are untouched, the new one reads back */
  {
    g_autoptr(GBytes) big = make_body (100 * 1024, 39);
    g_autoptr(MgQueueMessage) m = make_message (fx->queue, "n@example.com", big);
    g_autofree char *first = g_build_filename (fx->dir, "bodies", "0000000000000001", NULL);
    g_autofree char *third = g_build_filename (fx->dir, "bodies", "0000000000000003", NULL);
    g_autoptr(GBytes) back = NULL;
    Waiter w = { .expected_context = fx->context };

    submit_and_wait (fx, m);
    g_assert_cmpuint (count_segments (fx), ==, 2);
    g_assert_false (g_file_test (first, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (third, G_FILE_TEST_EXISTS));
    back = mg_queue_read_body (fx->queue, m->id, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (back, big));
    for (i = 2; i < 4; i++)
      {
        MgQueueMessage *old = msgs->pdata[i];
        g_autoptr(GBytes) body = mg_queue_read_body (fx->queue, old->id, &error);

        g_assert_no_error (error);
        g_assert_true (g_bytes_equal (body, old->body));
      }
    mg_queue_remove (fx->queue, m, fx->context, on_done_cb, &w);
    wait_for (fx->context, &w);
    g_assert_no_error (w.error);
  }
  for (i = 2; i < 4; i++)
    {
      Waiter w = { .expected_context = fx->context };

      mg_queue_remove (fx->queue, msgs->pdata[i], fx->context, on_done_cb, &w);
      wait_for (fx->context, &w);
      g_assert_no_error (w.error);
    }
  /* unreferenced segments do not survive a restart */
  fixture_reopen (fx);
  g_assert_cmpuint (count_segments (fx), ==, 0);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
  {
    g_autoptr(GBytes) body = mg_queue_read_body (fx->queue, small_msg->id, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (body, small));
  }
}

/* A segment that no row refers to (bodies written before a crash whose
 * commit never happened) is deleted at open; other files are left alone,
 * and new segments never reuse its number. */
static void
test_orphan_segment_removed (Fixture       *fx,
                             gconstpointer  data)
{
  g_autofree char *orphan = g_build_filename (fx->dir, "bodies", "0000000000000abc", NULL);
  g_autofree char *other = g_build_filename (fx->dir, "bodies", "README", NULL);
  g_autofree char *next = g_build_filename (fx->dir, "bodies", "0000000000000abd", NULL);
  g_autoptr(GBytes) big = make_body (40 * 1024, 40);
  g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "o@example.com", big);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (orphan, "half a body", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (other, "not a segment", -1, &error);
  g_assert_no_error (error);

  fixture_reopen (fx);
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));

  submit_and_wait (fx, msg);
  g_assert_true (g_file_test (next, G_FILE_TEST_EXISTS));
}

/* A queue.db of schema version 1 (bodies only in queue.db) opens: its
 * messages are still there with their bodies, and new large bodies go to
 * segments. */
static void
test_migrate_v1 (Fixture       *fx,
                 gconstpointer  data)
{
  static const char v1[] =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE messages (id TEXT PRIMARY KEY, sender TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL, client_address TEXT, helo TEXT,"
    "  body_size INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt INTEGER NOT NULL DEFAULT 0, first_failure INTEGER NOT NULL DEFAULT 0,"
    "  held INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX messages_by_age ON messages (received_at, id);"
    "CREATE TABLE bodies (msg_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,"
    "  body BLOB NOT NULL);"
    "CREATE TABLE rcpts (msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL, address TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    "  last_reply TEXT, PRIMARY KEY (msg_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO messages (id, sender, received_at, body_size) VALUES ('B0000000007', 'old@example.com', 1, 30000);"
    "INSERT INTO bodies VALUES ('B0000000007', zeroblob(30000));"
    "INSERT INTO rcpts (msg_id, idx, address) VALUES ('B0000000007', 0, 'r@example.org');"
    "INSERT INTO meta VALUES ('last_id', '8');"
    "PRAGMA user_version = 1;";
  g_autofree char *db_path = g_build_filename (fx->dir, "queue.db", NULL);
  g_autoptr(GBytes) big = make_body (50 * 1024, 50);
  g_autoptr(MgQueueMessage) msg = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GBytes) old_body = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  g_clear_pointer (&fx->queue, mg_queue_close);
  rm_rf (fx->dir);
  g_assert_cmpint (g_mkdir (fx->dir, 0700), ==, 0);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, v1, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  fixture_reopen (fx);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((MgQueueMessage *) all->pdata[0])->sender, ==, "old@example.com");
  old_body = mg_queue_read_body (fx->queue, "B0000000007", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (old_body), ==, 30000);

  msg = make_message (fx->queue, "new@example.com", big);
  submit_and_wait (fx, msg);
  g_assert_cmpuint (count_segments (fx), ==, 1);
  fixture_reopen (fx);
  {
    g_autoptr(GBytes) body = mg_queue_read_body (fx->queue, msg->id, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (body, big));
  }

  /* now at the current schema: one b-tree per table, no age index */
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT (SELECT user_version FROM pragma_user_version),"
                                             " (SELECT count(*) FROM sqlite_master WHERE type = 'index'),"
                                             " (SELECT count(*) FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID')",
                                         -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 3);
    g_assert_cmpint (sqlite3_column_int (stmt, 2), ==, 2);   /* messages, rcpts */
    g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 1);   /* meta's key only */
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }
}

/* A message whose id is not one the queue hands out is refused with a
 * clear error, alone: the others of its batch are stored. */
static void
test_submit_bad_id (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GBytes) body = make_body (300, 24);
  g_autoptr(MgQueueMessage) bad = make_message (fx->queue, "x@example.com", body);
  g_autoptr(MgQueueMessage) good = make_message (fx->queue, "y@example.com", body);
  Waiter w_bad = { .expected_context = fx->context };
  Waiter w_good = { .expected_context = fx->context };

  g_free (bad->id);
  bad->id = g_strdup ("B12x");
  mg_queue_submit (fx->queue, bad, fx->context, on_done_cb, &w_bad);
  mg_queue_submit (fx->queue, good, fx->context, on_done_cb, &w_good);
  wait_for (fx->context, &w_bad);
  wait_for (fx->context, &w_good);
  g_assert_error (w_bad.error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE);
  g_assert_nonnull (strstr (w_bad.error->message, "not a queue id"));
  g_clear_error (&w_bad.error);
  g_assert_no_error (w_good.error);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 1);
}

/* ids are unique, increasing, and never reused across restarts,
 * even for ids handed out but never stored. */
static void
test_ids_unique (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *prev = NULL;
  g_autofree char *before_restart = NULL;
  g_autofree char *after_restart = NULL;
  g_autoptr(GBytes) body = make_body (10, 1);
  g_autoptr(MgQueueMessage) msg = NULL;

  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *id = mg_queue_new_id (fx->queue);

      g_assert_cmpuint (strlen (id), ==, 11);
      g_assert_true (id[0] == 'B');
      if (prev != NULL)
        g_assert_cmpstr (prev, <, id);
      g_free (prev);
      prev = g_steal_pointer (&id);
    }

  msg = make_message (fx->queue, "", body);
  submit_and_wait (fx, msg);
  before_restart = mg_queue_new_id (fx->queue);   /* handed out, never stored */

  fixture_reopen (fx);
  after_restart = mg_queue_new_id (fx->queue);
  g_assert_cmpstr (before_restart, <, after_restart);
  g_assert_cmpstr (msg->id, <, after_restart);
}

typedef struct
{
  MgQueue *queue;
  guint    n_messages;
  guint    n_failed;
  GPtrArray *ids;   /* char* */
} SubmitJob;

static void
on_counted_done_cb (MgQueue        *queue,
                    MgQueueMessage *msg,
                    const GError   *error,
                    gpointer        user_data)
{
  guint *n_pending = user_data;

  g_assert_no_error (error);
  (*n_pending)--;
}

/* Each thread plays a few pipelining sessions: a window of 4 messages in
 * flight, refilled as each one is acknowledged. */
static gpointer
submit_thread (gpointer user_data)
{
  SubmitJob *job = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GBytes) body = make_body (2000, g_random_int ());
  guint n_pending = 0;
  guint n_sent = 0;

  g_main_context_push_thread_default (context);
  while (n_sent < job->n_messages || n_pending > 0)
    {
      while (n_sent < job->n_messages && n_pending < 4)
        {
          g_autoptr(MgQueueMessage) msg = make_message (job->queue, "load@example.com", body);

          g_ptr_array_add (job->ids, g_strdup (msg->id));
          n_pending++;
          n_sent++;
          mg_queue_submit (job->queue, msg, context, on_counted_done_cb, &n_pending);
        }
      g_main_context_iteration (context, TRUE);
    }
  g_main_context_pop_thread_default (context);
  return NULL;
}

/* DESIGN.md group commit: many concurrent submitters share syncs. */
static void
test_group_commit (Fixture       *fx,
                   gconstpointer  data)
{
  enum { N_THREADS = 8, N_PER_THREAD = 200 };
  SubmitJob jobs[N_THREADS];
  GThread *threads[N_THREADS];
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  guint64 commits_before = mg_queue_get_n_commits (fx->queue);
  guint64 commits;

  for (guint i = 0; i < N_THREADS; i++)
    {
      jobs[i] = (SubmitJob) { fx->queue, N_PER_THREAD, 0,
                              g_ptr_array_new_with_free_func (g_free) };
      threads[i] = g_thread_new ("submitter", submit_thread, &jobs[i]);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  commits = mg_queue_get_n_commits (fx->queue) - commits_before;
  g_test_message ("%u messages in %" G_GUINT64_FORMAT " commits (%.1f messages per sync)",
                  N_THREADS * N_PER_THREAD, commits,
                  (double) (N_THREADS * N_PER_THREAD) / (double) MAX (commits, 1));
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpuint (commits, <, N_THREADS * N_PER_THREAD);
  g_assert_cmpuint (commits, >, 0);

  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, N_THREADS * N_PER_THREAD);
  for (guint i = 0; i < all->len; i++)
    g_assert_true (g_hash_table_add (seen, ((MgQueueMessage *) all->pdata[i])->id));
  for (guint i = 0; i < N_THREADS; i++)
    {
      for (guint j = 0; j < jobs[i].ids->len; j++)
        g_assert_true (g_hash_table_contains (seen, jobs[i].ids->pdata[j]));
      g_ptr_array_unref (jobs[i].ids);
    }
}

/* A full disk is a storage error for that message (451 4.3.0), never a
 * crash, and does not take the other messages of the batch with it. */
static void
test_disk_full (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(GBytes) small_body = make_body (200, 5);
  g_autoptr(GBytes) big_body = make_body (1024 * 1024, 6);
  g_autoptr(MgQueueMessage) before = make_message (fx->queue, "", small_body);
  g_autoptr(MgQueueMessage) big = make_message (fx->queue, "", big_body);
  g_autoptr(MgQueueMessage) small = make_message (fx->queue, "", small_body);
  g_autoptr(MgQueueMessage) after = make_message (fx->queue, "", small_body);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  Waiter w_big = { .expected_context = fx->context };
  Waiter w_small = { .expected_context = fx->context };

  submit_and_wait (fx, before);
  mg_queue_set_max_pages_for_test (fx->queue, 16);

  /* queued back to back: usually one batch, replayed op by op */
  mg_queue_submit (fx->queue, big, fx->context, on_done_cb, &w_big);
  mg_queue_submit (fx->queue, small, fx->context, on_done_cb, &w_small);
  wait_for (fx->context, &w_big);
  wait_for (fx->context, &w_small);
  g_assert_error (w_big.error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE);
  g_test_message ("disk full: %s", w_big.error->message);
  g_assert_nonnull (strstr (w_big.error->message, "full"));
  g_clear_error (&w_big.error);
  g_assert_no_error (w_small.error);

  submit_and_wait (fx, after);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, 3);

  mg_queue_set_max_pages_for_test (fx->queue, 0);
  fixture_reopen (fx);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_null (find_message (all, big->id));
  g_assert_nonnull (find_message (all, small->id));
  g_assert_nonnull (find_message (all, after->id));
}

/* ---- crash safety ---------------------------------------------------- */

typedef struct
{
  MgQueue *queue;
  GMutex  *out_lock;
  guint32  seed;
} CrashJob;

static void
on_crash_done_cb (MgQueue        *queue,
                  MgQueueMessage *msg,
                  const GError   *error,
                  gpointer        user_data)
{
  gboolean *done = user_data;

  if (error != NULL)
    _exit (3);
  *done = TRUE;
}

static gpointer
crash_submit_thread (gpointer user_data)
{
  CrashJob *job = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (job->seed);

  g_main_context_push_thread_default (context);
  for (guint n = 0; ; n++)
    {
      g_autoptr(GBytes) body = make_body (g_rand_int_range (rand, 1, 64 * 1024), g_rand_int (rand));
      g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
      g_autofree char *sender = g_strdup_printf ("%s@crash.test", sum);
      g_autoptr(MgQueueMessage) msg = make_message (job->queue, sender, body);
      g_autofree char *line = NULL;
      gboolean done = FALSE;

      mg_queue_submit (job->queue, msg, context, on_crash_done_cb, &done);
      while (!done)
        g_main_context_iteration (context, TRUE);

      /* acknowledged: this is the child's "250" */
      line = g_strdup_printf ("%s\n", msg->id);
      g_mutex_lock (job->out_lock);
      if (write (STDOUT_FILENO, line, strlen (line)) != (ssize_t) strlen (line))
        _exit (4);
      g_mutex_unlock (job->out_lock);
    }
  return NULL;
}

static int
run_crash_child (const char *dir)
{
  g_autoptr(GError) error = NULL;
  MgQueue *queue = mg_queue_open (dir, &error);
  GMutex out_lock;
  CrashJob jobs[4];

  if (queue == NULL)
    return 2;
  g_mutex_init (&out_lock);
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      jobs[i] = (CrashJob) { queue, &out_lock, i + 1 };
      g_thread_unref (g_thread_new ("crash-submitter", crash_submit_thread, &jobs[i]));
    }
  for (;;)
    g_usleep (G_USEC_PER_SEC);   /* until SIGKILL */
  return 0;
}

/* kill -9 at any instant loses no acknowledged message. */
static void
test_crash_keeps_acked (Fixture       *fx,
                        gconstpointer  data)
{
  const char *argv[] = { "/proc/self/exe", "--crash-child", fx->dir, NULL };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  GPid pid;
  int out_fd;
  int status;
  guint n_acked = 0;
  gboolean killed = FALSE;

  g_clear_pointer (&fx->queue, mg_queue_close);
  argv[0] = exe;
  g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                            NULL, NULL, &pid, NULL, &out_fd, NULL, &error);
  g_assert_no_error (error);

  for (;;)
    {
      char buf[4096];
      ssize_t n = read (out_fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (out, buf, n);
      for (ssize_t i = 0; i < n; i++)
        n_acked += buf[i] == '\n';
      if (!killed && n_acked >= 200)
        {
          kill (pid, SIGKILL);   /* mid-stream: commits are in flight */
          killed = TRUE;
        }
    }
  close (out_fd);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (killed);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  fixture_reopen (fx);
  all = mg_queue_load_all (fx->queue, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mg_queue_count (fx->queue), ==, all->len);
  g_test_message ("%u acknowledged, %u stored after kill -9", n_acked, all->len);
  g_assert_cmpuint (all->len, >=, n_acked);

  g_assert_true (g_str_has_suffix (out->str, "\n"));
  lines = g_strsplit (out->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      MgQueueMessage *msg = find_message (all, lines[i]);
      g_autoptr(GBytes) body = NULL;
      g_autofree char *sum = NULL;
      g_autofree char *sender = NULL;

      if (msg == NULL)
        g_error ("acknowledged message %s lost after kill -9", lines[i]);
      body = mg_queue_read_body (fx->queue, msg->id, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (body), ==, msg->body_size);
      sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
      sender = g_strdup_printf ("%s@crash.test", sum);
      g_assert_cmpstr (msg->sender, ==, sender);
      g_assert_cmpuint (msg->rcpts->len, ==, 2);
    }

  /* the reopened queue is fully usable */
  {
    g_autoptr(GBytes) body = make_body (100, 42);
    g_autoptr(MgQueueMessage) msg = make_message (fx->queue, "", body);

    g_assert_null (find_message (all, msg->id));
    submit_and_wait (fx, msg);
  }
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--crash-child"))
    return run_crash_child (argv[2]);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/queue/submit/done-after-commit", test_submit_done_after_commit);
  ADD ("/queue/body/round-trip", test_body_round_trip);
  ADD ("/queue/load-all/after-reopen", test_load_all_after_reopen);
  ADD ("/queue/update/persists", test_update_persists);
  ADD ("/queue/update/missing", test_update_missing);
  ADD ("/queue/remove/deletes", test_remove_deletes);
  ADD ("/queue/remove/shares-next-commit", test_remove_shares_next_commit);
  ADD ("/queue/segments/reclaimed", test_segments_reclaimed);
  ADD ("/queue/segments/orphan-removed", test_orphan_segment_removed);
  ADD ("/queue/migrate/v1", test_migrate_v1);
  ADD ("/queue/submit/direct", test_submit_direct);
  ADD ("/queue/submit/bad-id", test_submit_bad_id);
  ADD ("/queue/submit/direct-declines-when-busy", test_submit_direct_declines_when_busy);
  ADD ("/queue/id/unique-not-reused", test_ids_unique);
  ADD ("/queue/group-commit/concurrent", test_group_commit);
  ADD ("/queue/storage/disk-full", test_disk_full);
  ADD ("/queue/crash/kill-9-keeps-acked", test_crash_keeps_acked);
#undef ADD

  return g_test_run ();
}
