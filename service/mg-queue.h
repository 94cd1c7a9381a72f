/* mg-queue.h - the durable message queue as the receiver and delivery see it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Storage: queue.db (SQLite, WAL, synchronous=FULL) beside config.db; message
 * bodies are BLOBs in it.  All writes go through one committer thread that
 * batches whatever is pending into one transaction: one WAL fsync makes a
 * whole batch durable (group commit, DESIGN.md).  A submit's callback runs
 * only after that sync (R-1.5: 250 only after the message is on stable
 * storage).
 *
 * Threading: every function here may be called from any thread.
 * Callbacks run in the GMainContext given with them.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  MG_RCPT_STATE_PENDING = 0,   /* not yet delivered */
  MG_RCPT_STATE_DELIVERED = 1, /* next hop said 250 */
  MG_RCPT_STATE_FAILED = 2,    /* permanent failure (5xx or expired) */
} MgRcptState;

typedef struct
{
  char        *address;     /* as it will be sent in RCPT TO (no brackets) */
  MgRcptState  state;
  char        *last_reply;  /* nullable: last reply / reason */
} MgQueueRcpt;

typedef struct
{
  gint         ref_count;
  char        *id;              /* "B0000000097" */
  char        *sender;          /* "" for the null sender */
  GPtrArray   *rcpts;           /* MgQueueRcpt* */
  gint64       received_at;     /* g_get_real_time() */
  char        *client_address;  /* nullable, for logs */
  char        *helo;            /* nullable */
  GBytes      *body;            /* nullable once stored: CRLF lines, Received: prepended, not dot-stuffed */
  gsize        body_size;
  /* delivery bookkeeping (persisted) */
  guint        attempts;
  gint64       next_attempt;    /* g_get_real_time(), 0 = now */
  gint64       first_failure;   /* 0 = none yet */
  gboolean     held;
} MgQueueMessage;

MgQueueMessage *mg_queue_message_new    (void);
MgQueueMessage *mg_queue_message_ref    (MgQueueMessage *msg);
void            mg_queue_message_unref  (MgQueueMessage *msg);
void            mg_queue_message_add_rcpt (MgQueueMessage *msg,
                                           const char     *address);
MgQueueRcpt    *mg_queue_rcpt_copy      (const MgQueueRcpt *rcpt);
void            mg_queue_rcpt_free      (MgQueueRcpt    *rcpt);

typedef struct _MgQueue MgQueue;

/* Called in @context after the operation is durable (error NULL) or failed. */
typedef void (*MgQueueDoneFunc) (MgQueue        *queue,
                                 MgQueueMessage *msg,
                                 const GError   *error,
                                 gpointer        user_data);

/* Opens @dir/queue.db (creating @dir), recovers, starts the committer. */
MgQueue        *mg_queue_open           (const char     *dir,
                                         GError        **error);
/* Stops the committer after flushing what is pending; frees. */
void            mg_queue_close          (MgQueue        *queue);

/* A new unique id "B%010u" (never reused across restarts). */
char           *mg_queue_new_id         (MgQueue        *queue);

/* Store @msg (must have id, sender, rcpts, body).  @done runs in @context
 * after the message is durable.  On error (disk full, ...) @done gets the
 * error and nothing is stored: the receiver answers 451 4.3.0. */
void            mg_queue_submit         (MgQueue        *queue,
                                         MgQueueMessage *msg,
                                         GMainContext   *context,
                                         MgQueueDoneFunc done,
                                         gpointer        user_data);

/* Like mg_queue_submit(), but when the committer is idle and nothing else
 * waits for it, commits @msg in the calling thread at once instead of
 * handing it over (two thread wake-ups less on the 250's path).  Blocks for
 * the commit, fsync included.  @done is still called from @context, as for
 * mg_queue_submit().  FALSE, having done nothing, when the committer is
 * busy or other ops are queued: submit it with mg_queue_submit(). */
gboolean        mg_queue_submit_direct  (MgQueue        *queue,
                                         MgQueueMessage *msg,
                                         GMainContext   *context,
                                         MgQueueDoneFunc done,
                                         gpointer        user_data);

/* Persist the delivery state of @msg (rcpt states, last replies, attempts,
 * next_attempt, first_failure, held).  Asynchronous, batched like submits;
 * @done may be NULL. */
void            mg_queue_update         (MgQueue        *queue,
                                         MgQueueMessage *msg,
                                         GMainContext   *context,
                                         MgQueueDoneFunc done,
                                         gpointer        user_data);

/* Remove @msg (all recipients final).  Asynchronous, batched. */
void            mg_queue_remove         (MgQueue        *queue,
                                         MgQueueMessage *msg,
                                         GMainContext   *context,
                                         MgQueueDoneFunc done,
                                         gpointer        user_data);

/* Every stored message, without bodies (body NULL), oldest first: the
 * scheduler's state after a restart.  Synchronous. */
GPtrArray      *mg_queue_load_all       (MgQueue        *queue,
                                         GError        **error);

/* The stored body of @id.  Synchronous; safe from any thread (each thread
 * uses its own read connection). */
GBytes         *mg_queue_read_body      (MgQueue        *queue,
                                         const char     *id,
                                         GError        **error);

/* Number of messages stored (committed and not removed). */
guint           mg_queue_count          (MgQueue        *queue);

/* Statistics for tests and benchmarks: transactions committed by the
 * committer thread (one WAL sync each), and SUBMITs made durable. */
guint64         mg_queue_get_n_commits  (MgQueue        *queue);
guint64         mg_queue_get_n_messages_committed (MgQueue *queue);
guint64         mg_queue_get_n_direct_commits (MgQueue *queue);

/* Test only: cap queue.db at its current size plus @extra_pages pages
 * (PRAGMA max_page_count on the write connection, applied before the next
 * batch), and body segments at as many 4 KiB more, to simulate a full
 * disk.  0 removes the cap. */
void            mg_queue_set_max_pages_for_test (MgQueue *queue,
                                                 guint    extra_pages);

/* Test only: start a new body segment once the current one holds
 * @bytes (default 64 MiB); applied before the next batch. */
void            mg_queue_set_segment_max_for_test (MgQueue *queue,
                                                   guint64  bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgQueueMessage, mg_queue_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgQueue, mg_queue_close)

G_END_DECLS
