/* mg-queue.c - the durable message queue and its group-commit writer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * queue.db (SQLite, WAL) holds the envelope of each message in "messages", its recipients in "rcpts" and
 * a small body in "bodies" (kept apart from the bookkeeping so that UPDATE of a
 * retry counter never rewrites a multi-megabyte row), and the id counter in
 * "meta".
 *
 * Bodies of SEGMENT_MIN_BODY bytes and more live in body segments instead:
 * append-only files bodies/SEGMENT_ID in the queue directory, written by the
 * committer; messages.body_segment and body_offset say where.  A batch
 * appends its large bodies, syncs the segment once, then commits the rows
 * (FULL): a body is on disk before any row points at it, so after a crash a
 * segment may hold bytes nobody references, never the reverse.  SQLite would
 * write such a body twice (WAL, then the checkpoint into queue.db) and walk
 * its overflow-page chains on insert and delete (bench/: 62 % of the
 * daemon's CPU at 100 KB).  A segment is deleted once it is no longer the
 * one being appended to and no message refers to it (counted in memory;
 * rebuilt from queue.db at open, where unreferenced segments are deleted).
 *
 * Writes: SUBMIT, UPDATE and REMOVE become QueueOps on a GAsyncQueue.  One
 * committer thread owns the write connection; it pops one op, drains what
 * else is pending (bounded), runs the whole batch in one transaction and only
 * then completes each op in its GMainContext: one WAL sync for many messages
 * (group commit, DESIGN.md: 250 only after the sync).  A failed batch
 * is rolled back and replayed op by op so one bad op fails alone.
 *
 * Only a batch that stores a new message runs with synchronous=FULL (its
 * COMMIT waits for the WAL to reach the disk).  Delivery bookkeeping
 * (UPDATE, REMOVE) runs with synchronous=NORMAL: still atomic and safe
 * against a crash of the process (kill -9), but after a power loss the last
 * such changes may be undone, and a message delivered just before may be
 * delivered again - at least once, never lost.  This halves the syncs per
 * relayed message (measured by bench/: 2 syncs per message before).
 *
 * Ownership: an op snapshots the message when it is queued (deep copy of the
 * envelope, a ref on the body), so the caller may go on changing @msg; it
 * also refs @msg for the callback, and refs the MgQueue struct so a callback
 * that runs after mg_queue_close() still gets valid memory.
 *
 * Reads: each thread that calls mg_queue_read_body() / mg_queue_load_all()
 * gets its own read-only connection (GPrivate table keyed by queue serial).
 * The queue tracks them and closes all of them in mg_queue_close().
 *
 * Threading: every public function may be called from any thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mg-error.h"
#include "mg-queue.h"

#define SCHEMA_VERSION 3
#define BATCH_MAX_OPS 512
#define BATCH_MAX_BYTES (32 * 1024 * 1024)
#define ID_SKIP_AHEAD 10000
#define ID_SAVE_EVERY 1000   /* ids handed out between saves of the counter (< ID_SKIP_AHEAD) */
#define BUSY_TIMEOUT_MS 10000
#define SEGMENT_MIN_BODY (16 * 1024)          /* smaller bodies stay in queue.db */
#define SEGMENT_MAX_SIZE (64 * 1024 * 1024)   /* then a new segment is started */
#define BOOKKEEPING_HOLD_US (10 * 1000)   /* see committer_thread() */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

typedef enum
{
  OP_SUBMIT,
  OP_UPDATE,
  OP_REMOVE,
  OP_STOP,
} OpKind;

typedef struct
{
  gint     ref_count;
  GMutex   lock;      /* held while the connection is in use or closed */
  sqlite3 *db;        /* NULL once the queue closed it */
  guint    serial;    /* of the queue it reads */
} ReadConn;

struct _MgQueue
{
  gint            ref_count;      /* the open handle + one per op in flight */
  guint           serial;
  char           *path;

  /* Owned by the committer thread between open and close. */
  sqlite3        *db;
  sqlite3_stmt   *insert_msg;
  sqlite3_stmt   *insert_body;
  sqlite3_stmt   *upsert_rcpt;
  sqlite3_stmt   *update_msg;
  sqlite3_stmt   *delete_msg;
  sqlite3_stmt   *delete_body;
  sqlite3_stmt   *put_meta;
  guint           applied_extra_pages;
  gboolean        sync_full;      /* current PRAGMA synchronous */

  /* Body segments; owned by whoever holds write_lock. */
  char           *segment_dir;
  int             segment_fd;     /* the segment appended to; -1: none yet */
  guint64         segment_id;
  guint64         segment_size;
  guint64         next_segment_id;
  GHashTable     *segment_refs;   /* segment id (guint64*) -> messages (guint) */
  guint64         spare_segment;  /* a segment nobody refers to, kept for reuse; 0: none */
  GArray         *batch_unrefs;   /* guint64 segment ids removed by this batch */
  guint64         test_segment_budget;   /* bytes left under the test cap; G_MAXUINT64: none */

  GAsyncQueue    *ops;            /* QueueOp* */
  GThread        *thread;
  GMutex          write_lock;     /* held while a batch uses the write connection */
  GMutex          push_lock;      /* orders pushes against close */
  gboolean        closed;         /* under push_lock */

  GMutex          read_lock;
  GPtrArray      *read_conns;     /* ReadConn*, under read_lock */

  _Atomic guint64 next_id;
  guint64         saved_id;       /* last value of the counter in "meta"; committer */
  atomic_int      count;
  _Atomic guint64 n_commits;
  _Atomic guint64 n_messages;
  _Atomic guint64 n_direct;       /* commits by mg_queue_submit_direct() */
  atomic_uint     extra_pages;    /* test hook */
  _Atomic guint64 segment_max;    /* SEGMENT_MAX_SIZE; test hook */
};

typedef struct
{
  OpKind           kind;
  MgQueue         *queue;         /* ref */
  MgQueueMessage  *msg;           /* ref, handed to @done */
  MgQueueMessage  *snap;          /* private copy written to disk */
  GMainContext    *context;       /* ref */
  MgQueueDoneFunc  done;
  gpointer         user_data;
  GError          *error;
  guint64          segment;       /* SUBMIT with a large body: where it went */
  guint64          segment_offset;
} QueueOp;

static GPrivate thread_read_conns = G_PRIVATE_INIT ((GDestroyNotify) g_hash_table_unref);
static atomic_uint next_serial = 1;

static void queue_unref (MgQueue *queue);

/* ---- messages ------------------------------------------------------ */

MgQueueMessage *
mg_queue_message_new (void)
{
  MgQueueMessage *msg = g_new0 (MgQueueMessage, 1);

  msg->ref_count = 1;
  msg->rcpts = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_rcpt_free);
  return msg;
}

MgQueueMessage *
mg_queue_message_ref (MgQueueMessage *msg)
{
  g_return_val_if_fail (msg != NULL, NULL);

  g_atomic_int_inc (&msg->ref_count);
  return msg;
}

void
mg_queue_message_unref (MgQueueMessage *msg)
{
  g_return_if_fail (msg != NULL);

  if (!g_atomic_int_dec_and_test (&msg->ref_count))
    return;

  g_free (msg->id);
  g_free (msg->sender);
  g_clear_pointer (&msg->rcpts, g_ptr_array_unref);
  g_free (msg->client_address);
  g_free (msg->helo);
  g_clear_pointer (&msg->body, g_bytes_unref);
  g_free (msg);
}

void
mg_queue_message_add_rcpt (MgQueueMessage *msg,
                           const char     *address)
{
  MgQueueRcpt *rcpt;

  g_return_if_fail (msg != NULL);
  g_return_if_fail (address != NULL);

  rcpt = g_new0 (MgQueueRcpt, 1);
  rcpt->address = g_strdup (address);
  rcpt->state = MG_RCPT_STATE_PENDING;
  g_ptr_array_add (msg->rcpts, rcpt);
}

MgQueueRcpt *
mg_queue_rcpt_copy (const MgQueueRcpt *rcpt)
{
  MgQueueRcpt *copy;

  g_return_val_if_fail (rcpt != NULL, NULL);

  copy = g_new0 (MgQueueRcpt, 1);
  copy->address = g_strdup (rcpt->address);
  copy->state = rcpt->state;
  copy->last_reply = g_strdup (rcpt->last_reply);
  return copy;
}

void
mg_queue_rcpt_free (MgQueueRcpt *rcpt)
{
  if (rcpt == NULL)
    return;

  g_free (rcpt->address);
  g_free (rcpt->last_reply);
  g_free (rcpt);
}

/* The op's private copy: what is written is what the caller had when it
 * queued the op, whatever it changes afterwards. */
static MgQueueMessage *
message_snapshot (const MgQueueMessage *msg,
                  gboolean              with_body)
{
  MgQueueMessage *snap = mg_queue_message_new ();

  snap->id = g_strdup (msg->id);
  snap->sender = g_strdup (msg->sender);
  for (guint i = 0; msg->rcpts != NULL && i < msg->rcpts->len; i++)
    g_ptr_array_add (snap->rcpts, mg_queue_rcpt_copy (g_ptr_array_index (msg->rcpts, i)));
  snap->received_at = msg->received_at;
  snap->client_address = g_strdup (msg->client_address);
  snap->helo = g_strdup (msg->helo);
  if (with_body && msg->body != NULL)
    snap->body = g_bytes_ref (msg->body);
  snap->body_size = snap->body != NULL ? g_bytes_get_size (snap->body) : msg->body_size;
  snap->attempts = msg->attempts;
  snap->next_attempt = msg->next_attempt;
  snap->first_failure = msg->first_failure;
  snap->held = msg->held;
  return snap;
}

/* ---- SQLite helpers ------------------------------------------------- */

static gboolean
set_db_error (GError     **error,
              sqlite3     *db,
              const char  *what)
{
  g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
               "%s: %s", what, db != NULL ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          GError     **error)
{
  char *errmsg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &errmsg) == SQLITE_OK)
    return TRUE;

  g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
               "queue.db: %s: %s", sql, errmsg != NULL ? errmsg : "failed");
  sqlite3_free (errmsg);
  return FALSE;
}

static sqlite3_stmt *
prepare (sqlite3     *db,
         const char  *sql,
         guint        flags,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v3 (db, sql, -1, flags, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (error, db, "queue.db: preparing a statement");
      return NULL;
    }
  return stmt;
}

/* One integer from a one-row query; @fallback when there is no row/NULL. */
static gboolean
query_int64 (sqlite3     *db,
             const char  *sql,
             gint64       fallback,
             gint64      *out,
             GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, sql, 0, error);
  int rc;

  if (stmt == NULL)
    return FALSE;

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return set_db_error (error, db, "queue.db: reading");

  if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    *out = sqlite3_column_int64 (stmt, 0);
  else
    *out = fallback;
  return TRUE;
}

static void
finish_stmt (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

static void
bind_text_or_null (sqlite3_stmt *stmt,
                   int           col,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, col, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, col);
}

/* ---- opening -------------------------------------------------------- */

static const char *const migrations[] = {
  /* step 1 */
  "CREATE TABLE messages ("
  "  id TEXT PRIMARY KEY,"
  "  sender TEXT NOT NULL,"
  "  received_at INTEGER NOT NULL,"
  "  client_address TEXT,"
  "  helo TEXT,"
  "  body_size INTEGER NOT NULL,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt INTEGER NOT NULL DEFAULT 0,"
  "  first_failure INTEGER NOT NULL DEFAULT 0,"
  "  held INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX messages_by_age ON messages (received_at, id);"
  "CREATE TABLE bodies ("
  "  msg_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,"
  "  body BLOB NOT NULL);"
  "CREATE TABLE rcpts ("
  "  msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
  "  idx INTEGER NOT NULL,"
  "  address TEXT NOT NULL,"
  "  state INTEGER NOT NULL DEFAULT 0,"
  "  last_reply TEXT,"
  "  PRIMARY KEY (msg_id, idx)) WITHOUT ROWID;"
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);",
  /* step 2: large bodies in segment files (NULL: the body is in "bodies") */
  "ALTER TABLE messages ADD COLUMN body_segment INTEGER;"
  "ALTER TABLE messages ADD COLUMN body_offset INTEGER;",
  /* step 3: one b-tree per table and no age index (the queue is sorted
   * once, at load): a new message touches 3 pages instead of 7 (bench/).
   * Envelopes and recipients are small rows keyed by the queue id (WITHOUT
   * ROWID); a body is keyed by the number in its id ("B0000000042" -> 42)
   * as a rowid table, where a body of up to ~4 KB stays in its leaf (in a
   * WITHOUT ROWID table anything over ~1 KB spills to an overflow page).
   * bodies has no foreign key: a removal deletes its body itself. */
  "CREATE TABLE messages3 ("
  "  id TEXT PRIMARY KEY,"
  "  sender TEXT NOT NULL,"
  "  received_at INTEGER NOT NULL,"
  "  client_address TEXT,"
  "  helo TEXT,"
  "  body_size INTEGER NOT NULL,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt INTEGER NOT NULL DEFAULT 0,"
  "  first_failure INTEGER NOT NULL DEFAULT 0,"
  "  held INTEGER NOT NULL DEFAULT 0,"
  "  body_segment INTEGER,"
  "  body_offset INTEGER) WITHOUT ROWID;"
  "CREATE TABLE bodies3 ("
  "  num INTEGER PRIMARY KEY,"
  "  body BLOB NOT NULL);"
  "CREATE TABLE rcpts3 ("
  "  msg_id TEXT NOT NULL REFERENCES messages3 (id) ON DELETE CASCADE,"
  "  idx INTEGER NOT NULL,"
  "  address TEXT NOT NULL,"
  "  state INTEGER NOT NULL DEFAULT 0,"
  "  last_reply TEXT,"
  "  PRIMARY KEY (msg_id, idx)) WITHOUT ROWID;"
  "INSERT INTO messages3 SELECT id, sender, received_at, client_address, helo, body_size,"
  "  attempts, next_attempt, first_failure, held, body_segment, body_offset FROM messages;"
  "INSERT INTO bodies3 SELECT CAST(substr(msg_id, 2) AS INTEGER), body FROM bodies;"
  "INSERT INTO rcpts3 SELECT msg_id, idx, address, state, last_reply FROM rcpts;"
  "DROP TABLE rcpts;"
  "DROP TABLE bodies;"
  "DROP TABLE messages;"
  "ALTER TABLE messages3 RENAME TO messages;"
  "ALTER TABLE bodies3 RENAME TO bodies;"
  "ALTER TABLE rcpts3 RENAME TO rcpts;",
};

static gboolean
migrate (sqlite3  *db,
         GError  **error)
{
  gint64 version;

  if (!query_int64 (db, "PRAGMA user_version", 0, &version, error))
    return FALSE;

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                   "queue.db has schema version %" G_GINT64_FORMAT
                   ", newer than this program's %d", version, SCHEMA_VERSION);
      return FALSE;
    }

  for (gint64 step = version; step < SCHEMA_VERSION; step++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT,
                                                      step + 1);

      if (!exec_sql (db, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec_sql (db, migrations[step], error) ||
          !exec_sql (db, set_version, error) ||
          !exec_sql (db, "COMMIT", error))
        {
          sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
          g_prefix_error (error, "migrating queue.db to version %" G_GINT64_FORMAT ": ", step + 1);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
configure_write_connection (sqlite3  *db,
                            GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  stmt = prepare (db, "PRAGMA journal_mode = WAL", 0, error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW ||
      g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") != 0)
    {
      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                   "queue.db: cannot switch to WAL mode");
      return FALSE;
    }

  /* in WAL mode, FULL syncs the WAL on every COMMIT. */
  return exec_sql (db, "PRAGMA synchronous = FULL", error) &&
         exec_sql (db, "PRAGMA foreign_keys = ON", error) &&
         exec_sql (db, "PRAGMA journal_size_limit = 67108864", error);
}

static guint64
parse_id (const char *id)
{
  if (id == NULL || id[0] != 'B')
    return 0;
  return g_ascii_strtoull (id + 1, NULL, 10);
}

/* Ids handed out before a crash but never stored must not come back:
 * skip ahead of everything we might have given out, and persist that. */
static gboolean
init_id_counter (MgQueue  *queue,
                 GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  guint64 next = 1;
  gint64 meta_next = 0;

  if (!query_int64 (queue->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_id'",
                    0, &meta_next, error))
    return FALSE;
  next = MAX (next, (guint64) meta_next);

  stmt = prepare (queue->db, "SELECT max(id) FROM messages", 0, error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    next = MAX (next, parse_id ((const char *) sqlite3_column_text (stmt, 0)) + 1);
  g_clear_pointer (&stmt, sqlite3_finalize);

  next += ID_SKIP_AHEAD;
  atomic_store (&queue->next_id, next);
  queue->saved_id = next;

  stmt = prepare (queue->db,
                  "INSERT INTO meta (key, value) VALUES ('last_id', ?1) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", 0, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) next);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: saving the id counter");
  return TRUE;
}

static gboolean
prepare_write_statements (MgQueue  *queue,
                          GError  **error)
{
  const guint flags = SQLITE_PREPARE_PERSISTENT;

  queue->insert_msg = prepare (queue->db,
                               "INSERT INTO messages (id, sender, received_at, client_address, helo,"
                               " body_size, attempts, next_attempt, first_failure, held,"
                               " body_segment, body_offset)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                               flags, error);
  if (queue->insert_msg == NULL)
    return FALSE;
  queue->insert_body = prepare (queue->db,
                                "INSERT INTO bodies (num, body) VALUES (?1, ?2)", flags, error);
  if (queue->insert_body == NULL)
    return FALSE;
  queue->upsert_rcpt = prepare (queue->db,
                                "INSERT INTO rcpts (msg_id, idx, address, state, last_reply)"
                                " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (msg_id, idx) DO UPDATE"
                                " SET address = excluded.address, state = excluded.state,"
                                " last_reply = excluded.last_reply", flags, error);
  if (queue->upsert_rcpt == NULL)
    return FALSE;
  queue->update_msg = prepare (queue->db,
                               "UPDATE messages SET attempts = ?2, next_attempt = ?3,"
                               " first_failure = ?4, held = ?5 WHERE id = ?1", flags, error);
  if (queue->update_msg == NULL)
    return FALSE;
  queue->delete_msg = prepare (queue->db, "DELETE FROM messages WHERE id = ?1"
                               " RETURNING body_segment", flags, error);
  if (queue->delete_msg == NULL)
    return FALSE;
  queue->delete_body = prepare (queue->db, "DELETE FROM bodies WHERE num = ?1", flags, error);
  if (queue->delete_body == NULL)
    return FALSE;
  queue->put_meta = prepare (queue->db,
                             "INSERT INTO meta (key, value) VALUES ('last_id', ?1)"
                             " ON CONFLICT (key) DO UPDATE SET value = excluded.value", flags, error);
  return queue->put_meta != NULL;
}

static void
close_write_connection (MgQueue *queue)
{
  g_clear_pointer (&queue->insert_msg, sqlite3_finalize);
  g_clear_pointer (&queue->insert_body, sqlite3_finalize);
  g_clear_pointer (&queue->upsert_rcpt, sqlite3_finalize);
  g_clear_pointer (&queue->update_msg, sqlite3_finalize);
  g_clear_pointer (&queue->delete_msg, sqlite3_finalize);
  g_clear_pointer (&queue->delete_body, sqlite3_finalize);
  g_clear_pointer (&queue->put_meta, sqlite3_finalize);
  g_clear_pointer (&queue->db, sqlite3_close_v2);
}

/* ---- read connections ------------------------------------------------ */

static ReadConn *
read_conn_ref (ReadConn *conn)
{
  g_atomic_int_inc (&conn->ref_count);
  return conn;
}

static void
read_conn_unref (ReadConn *conn)
{
  if (!g_atomic_int_dec_and_test (&conn->ref_count))
    return;

  g_clear_pointer (&conn->db, sqlite3_close_v2);
  g_mutex_clear (&conn->lock);
  g_free (conn);
}

static gboolean
read_conn_is_closed (gpointer key,
                     gpointer value,
                     gpointer user_data)
{
  ReadConn *conn = value;
  gboolean closed;

  g_mutex_lock (&conn->lock);
  closed = conn->db == NULL;
  g_mutex_unlock (&conn->lock);
  return closed;
}

static GHashTable *
get_thread_read_conns (void)
{
  GHashTable *table = g_private_get (&thread_read_conns);

  if (table == NULL)
    {
      table = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) read_conn_unref);
      g_private_set (&thread_read_conns, table);
    }
  return table;
}

/* Returns this thread's connection to @queue, locked; NULL on error. */
static ReadConn *
lock_read_conn (MgQueue  *queue,
                GError  **error)
{
  GHashTable *table = get_thread_read_conns ();
  ReadConn *conn = g_hash_table_lookup (table, GUINT_TO_POINTER (queue->serial));
  sqlite3 *db = NULL;
  gboolean closed;

  g_mutex_lock (&queue->push_lock);
  closed = queue->closed;
  g_mutex_unlock (&queue->push_lock);
  if (closed)
    {
      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_CLOSED, "the queue is closed");
      return NULL;
    }

  if (conn == NULL)
    {
      /* drop entries left by queues closed since */
      g_hash_table_foreach_remove (table, read_conn_is_closed, NULL);

      if (sqlite3_open_v2 (queue->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                           NULL) != SQLITE_OK)
        {
          set_db_error (error, db, "opening queue.db for reading");
          sqlite3_close_v2 (db);
          return NULL;
        }
      sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);

      conn = g_new0 (ReadConn, 1);
      conn->ref_count = 1;
      g_mutex_init (&conn->lock);
      conn->db = db;
      conn->serial = queue->serial;
      g_hash_table_insert (table, GUINT_TO_POINTER (queue->serial), conn);

      g_mutex_lock (&queue->read_lock);
      g_ptr_array_add (queue->read_conns, read_conn_ref (conn));
      g_mutex_unlock (&queue->read_lock);
    }

  g_mutex_lock (&conn->lock);
  if (conn->db == NULL)
    {
      g_mutex_unlock (&conn->lock);
      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_CLOSED, "the queue is closed");
      return NULL;
    }
  return conn;
}

static void
close_read_conns (MgQueue *queue)
{
  g_autoptr(GPtrArray) conns = NULL;
  GHashTable *table = g_private_get (&thread_read_conns);

  g_mutex_lock (&queue->read_lock);
  conns = g_steal_pointer (&queue->read_conns);
  queue->read_conns = g_ptr_array_new_with_free_func ((GDestroyNotify) read_conn_unref);
  g_mutex_unlock (&queue->read_lock);

  for (guint i = 0; i < conns->len; i++)
    {
      ReadConn *conn = g_ptr_array_index (conns, i);

      g_mutex_lock (&conn->lock);
      g_clear_pointer (&conn->db, sqlite3_close_v2);
      g_mutex_unlock (&conn->lock);
    }

  if (table != NULL)
    g_hash_table_remove (table, GUINT_TO_POINTER (queue->serial));
}

/* ---- the committer ---------------------------------------------------- */

static void
queue_op_free (QueueOp *op)
{
  g_clear_pointer (&op->msg, mg_queue_message_unref);
  g_clear_pointer (&op->snap, mg_queue_message_unref);
  g_clear_pointer (&op->context, g_main_context_unref);
  g_clear_error (&op->error);
  g_clear_pointer (&op->queue, queue_unref);
  g_free (op);
}

static gboolean
run_done_cb (gpointer user_data)
{
  QueueOp *op = user_data;

  op->done (op->queue, op->msg, op->error, op->user_data);
  return G_SOURCE_REMOVE;
}

/* Hands @op to its context: the callback runs when that context is
 * iterated, never in the committer thread. */
static void
complete_op (QueueOp *op)
{
  g_autoptr(GSource) source = NULL;

  if (op->done == NULL)
    {
      queue_op_free (op);
      return;
    }

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, run_done_cb, op, (GDestroyNotify) queue_op_free);
  g_source_set_static_name (source, "[mailgate] queue op done");
  g_source_attach (source, op->context);
}

static gboolean
apply_submit (MgQueue         *queue,
              QueueOp         *op,
              GError         **error)
{
  MgQueueMessage *m = op->snap;
  sqlite3_stmt *stmt = queue->insert_msg;
  gconstpointer data;
  gsize size = 0;
  int rc;

  /* a body in queue.db is keyed by the id's number: two messages whose
   * ids do not have one would share a body */
  if (parse_id (m->id) == 0 || m->id[1 + strspn (m->id + 1, "0123456789")] != '\0')
    {
      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                   "queue: \"%s\" is not a queue id (B and digits, from mg_queue_new_id())", m->id);
      return FALSE;
    }

  sqlite3_bind_text (stmt, 1, m->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, m->sender, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, m->received_at);
  bind_text_or_null (stmt, 4, m->client_address);
  bind_text_or_null (stmt, 5, m->helo);
  sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) m->body_size);
  sqlite3_bind_int64 (stmt, 7, m->attempts);
  sqlite3_bind_int64 (stmt, 8, m->next_attempt);
  sqlite3_bind_int64 (stmt, 9, m->first_failure);
  sqlite3_bind_int (stmt, 10, m->held ? 1 : 0);
  if (op->segment != 0)
    {
      sqlite3_bind_int64 (stmt, 11, (sqlite3_int64) op->segment);
      sqlite3_bind_int64 (stmt, 12, (sqlite3_int64) op->segment_offset);
    }
  else
    {
      sqlite3_bind_null (stmt, 11);
      sqlite3_bind_null (stmt, 12);
    }
  rc = sqlite3_step (stmt);
  finish_stmt (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: storing the envelope");
  if (op->segment != 0)
    return TRUE;   /* the body is in its segment already */

  /* the op holds the GBytes ref: SQLITE_STATIC is safe until reset */
  stmt = queue->insert_body;
  data = g_bytes_get_data (m->body, &size);
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) parse_id (m->id));
  if (size > 0)
    sqlite3_bind_blob64 (stmt, 2, data, size, SQLITE_STATIC);
  else
    sqlite3_bind_zeroblob (stmt, 2, 0);
  rc = sqlite3_step (stmt);
  finish_stmt (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: storing the body");

  return TRUE;
}

static gboolean
apply_rcpts (MgQueue         *queue,
             MgQueueMessage  *m,
             GError         **error)
{
  sqlite3_stmt *stmt = queue->upsert_rcpt;

  for (guint i = 0; i < m->rcpts->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (m->rcpts, i);
      int rc;

      sqlite3_bind_text (stmt, 1, m->id, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, (int) i);
      sqlite3_bind_text (stmt, 3, rcpt->address, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 4, rcpt->state);
      bind_text_or_null (stmt, 5, rcpt->last_reply);
      rc = sqlite3_step (stmt);
      finish_stmt (stmt);
      if (rc != SQLITE_DONE)
        return set_db_error (error, queue->db, "queue.db: storing a recipient");
    }
  return TRUE;
}

/* FALSE with @error: the transaction is broken.  TRUE with op->error set:
 * a per-op outcome (no such message) that leaves the batch intact. */
static gboolean
apply_update (MgQueue  *queue,
              QueueOp  *op,
              GError  **error)
{
  MgQueueMessage *m = op->snap;
  sqlite3_stmt *stmt = queue->update_msg;
  int rc;

  sqlite3_bind_text (stmt, 1, m->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, m->attempts);
  sqlite3_bind_int64 (stmt, 3, m->next_attempt);
  sqlite3_bind_int64 (stmt, 4, m->first_failure);
  sqlite3_bind_int (stmt, 5, m->held ? 1 : 0);
  rc = sqlite3_step (stmt);
  finish_stmt (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: updating a message");

  if (sqlite3_changes (queue->db) == 0)
    {
      g_set_error (&op->error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND,
                   "no message %s in the queue", m->id);
      return TRUE;
    }
  return apply_rcpts (queue, m, error);
}

static gboolean
apply_remove (MgQueue  *queue,
              QueueOp  *op,
              GError  **error)
{
  sqlite3_stmt *stmt = queue->delete_msg;
  gboolean found = FALSE;
  guint64 segment = 0;
  int rc;

  sqlite3_bind_text (stmt, 1, op->snap->id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      found = TRUE;
      if (sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        segment = (guint64) sqlite3_column_int64 (stmt, 0);
      rc = sqlite3_step (stmt);
    }
  finish_stmt (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: removing a message");

  if (!found)
    {
      g_set_error (&op->error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND,
                   "no message %s in the queue", op->snap->id);
      return TRUE;
    }
  if (segment != 0)
    {
      g_array_append_val (queue->batch_unrefs, segment);   /* counted once committed */
      return TRUE;
    }

  stmt = queue->delete_body;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) parse_id (op->snap->id));
  rc = sqlite3_step (stmt);
  finish_stmt (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: removing a body");
  return TRUE;
}

static gboolean
apply_op (MgQueue  *queue,
          QueueOp  *op,
          GError  **error)
{
  g_clear_error (&op->error);

  switch (op->kind)
    {
    case OP_SUBMIT:
      return apply_submit (queue, op, error) && apply_rcpts (queue, op->snap, error);
    case OP_UPDATE:
      return apply_update (queue, op, error);
    case OP_REMOVE:
      return apply_remove (queue, op, error);
    case OP_STOP:
    default:
      break;
    }
  g_assert_not_reached ();
  return FALSE;
}

/* ---- body segments ------------------------------------------------------ */

static char *
segment_path (MgQueue *queue,
              guint64  id)
{
  g_autofree char *name = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", id);

  return g_build_filename (queue->segment_dir, name, NULL);
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what)
{
  g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE, "%s: %s%s", what,
               g_strerror (saved_errno),
               saved_errno == ENOSPC || saved_errno == EDQUOT ? " (disk full)" : "");
  return FALSE;
}

/* A new segment's directory entry must survive a crash too. */
static gboolean
sync_segment_dir (MgQueue  *queue,
                  GError  **error)
{
  int fd = open (queue->segment_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved_errno;

  if (fd < 0)
    return set_errno_error (error, errno, "queue: opening the body segment directory");
  if (fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      return set_errno_error (error, saved_errno, "queue: syncing the body segment directory");
    }
  close (fd);
  return TRUE;
}

static guint
segment_refs (MgQueue *queue,
              guint64  id)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (queue->segment_refs, &id));
}

/* A segment nobody refers to any more: kept as the spare when there is
 * none (the next segment reuses its file), deleted otherwise. */
static void
segment_retire (MgQueue *queue,
                guint64  id)
{
  g_autofree char *path = NULL;

  if (queue->spare_segment == 0)
    {
      queue->spare_segment = id;
      return;
    }
  path = segment_path (queue, id);
  g_unlink (path);
}

/* Closes the segment being appended to; retired when nothing refers to it. */
static void
segment_close_current (MgQueue *queue)
{
  if (queue->segment_fd < 0)
    return;
  close (queue->segment_fd);
  queue->segment_fd = -1;
  if (segment_refs (queue, queue->segment_id) == 0)
    segment_retire (queue, queue->segment_id);
}

static gboolean
segment_ensure (MgQueue  *queue,
                GError  **error)
{
  g_autofree char *path = NULL;
  int fd;

  if (queue->segment_fd >= 0 && queue->segment_size < atomic_load (&queue->segment_max))
    return TRUE;
  segment_close_current (queue);

  path = segment_path (queue, queue->next_segment_id);
  if (queue->spare_segment != 0)
    {
      /* Writing over the blocks of a used file costs an fdatasync far
       * less than growing a new one (bench/: 0.11 against 0.28 ms for
       * 28 KB here): the spare is renamed to the new segment's id.  The
       * rename is synced (below) before any row can name the new id. */
      g_autofree char *spare = segment_path (queue, queue->spare_segment);

      queue->spare_segment = 0;
      if (rename (spare, path) != 0)
        g_unlink (spare);
    }
  fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "queue: creating a body segment");
  if (!sync_segment_dir (queue, error))
    {
      close (fd);
      g_unlink (path);
      return FALSE;
    }
  queue->segment_fd = fd;
  queue->segment_id = queue->next_segment_id++;
  queue->segment_size = 0;
  return TRUE;
}

static gboolean
write_all_at (int          fd,
              const guint8 *data,
              gsize        size,
              guint64      offset)
{
  while (size > 0)
    {
      ssize_t n = pwrite (fd, data, size, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      data += n;
      size -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

/* Before the transaction: the large bodies of the batch are appended to
 * the current segment, which is synced once for all of them. */
static gboolean
segment_append_bodies (MgQueue   *queue,
                       QueueOp  **ops,
                       guint      n_ops,
                       GError   **error)
{
  gboolean wrote = FALSE;

  for (guint i = 0; i < n_ops; i++)
    {
      QueueOp *op = ops[i];
      gconstpointer data;
      gsize size = 0;

      op->segment = 0;
      if (op->kind != OP_SUBMIT || op->snap->body == NULL ||
          g_bytes_get_size (op->snap->body) < SEGMENT_MIN_BODY)
        continue;

      data = g_bytes_get_data (op->snap->body, &size);
      if (!segment_ensure (queue, error))
        return FALSE;
      if (size > queue->test_segment_budget)
        {
          g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                       "queue: writing a body segment: disk full (test limit)");
          return FALSE;
        }
      if (!write_all_at (queue->segment_fd, data, size, queue->segment_size))
        return set_errno_error (error, errno, "queue: writing a body segment");
      if (queue->test_segment_budget != G_MAXUINT64)
        queue->test_segment_budget -= size;
      op->segment = queue->segment_id;
      op->segment_offset = queue->segment_size;
      queue->segment_size += size;
      wrote = TRUE;
    }

  /* the bodies are on disk before a row can point at them */
  if (wrote && fdatasync (queue->segment_fd) != 0)
    return set_errno_error (error, errno, "queue: syncing a body segment");
  return TRUE;
}

/* After COMMIT: count the references the batch added and dropped; a
 * segment nobody refers to any more, and that is not being appended to,
 * is deleted. */
static void
segment_account_batch (MgQueue   *queue,
                       QueueOp  **ops,
                       guint      n_ops)
{
  for (guint i = 0; i < n_ops; i++)
    {
      guint64 *key;

      if (ops[i]->kind != OP_SUBMIT || ops[i]->segment == 0 || ops[i]->error != NULL)
        continue;
      key = g_new (guint64, 1);
      *key = ops[i]->segment;
      g_hash_table_replace (queue->segment_refs, key,
                            GUINT_TO_POINTER (segment_refs (queue, *key) + 1));
    }

  for (guint i = 0; i < queue->batch_unrefs->len; i++)
    {
      guint64 id = g_array_index (queue->batch_unrefs, guint64, i);
      guint refs = segment_refs (queue, id);

      if (refs > 1)
        {
          guint64 *key = g_new (guint64, 1);

          *key = id;
          g_hash_table_replace (queue->segment_refs, key, GUINT_TO_POINTER (refs - 1));
          continue;
        }
      g_hash_table_remove (queue->segment_refs, &id);
      if (id != queue->segment_id || queue->segment_fd < 0)
        segment_retire (queue, id);
    }
  g_array_set_size (queue->batch_unrefs, 0);
}

/* At open: which segments queue.db refers to; the others are left over
 * from a crash (bodies whose rows were never committed) and go. */
static gboolean
segment_open (MgQueue     *queue,
              const char  *dir,
              GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GDir) listing = NULL;
  guint64 max_id = 0;
  const char *name;
  int rc;

  queue->segment_dir = g_build_filename (dir, "bodies", NULL);
  queue->segment_fd = -1;
  queue->segment_refs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  queue->batch_unrefs = g_array_new (FALSE, FALSE, sizeof (guint64));
  queue->test_segment_budget = G_MAXUINT64;
  atomic_store (&queue->segment_max, SEGMENT_MAX_SIZE);

  if (g_mkdir_with_parents (queue->segment_dir, 0700) != 0)
    return set_errno_error (error, errno, "queue: creating the body segment directory");

  stmt = prepare (queue->db, "SELECT body_segment, count(*) FROM messages"
                             " WHERE body_segment IS NOT NULL GROUP BY body_segment", 0, error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      guint64 *key = g_new (guint64, 1);

      *key = (guint64) sqlite3_column_int64 (stmt, 0);
      max_id = MAX (max_id, *key);
      g_hash_table_replace (queue->segment_refs, key,
                            GUINT_TO_POINTER ((guint) sqlite3_column_int64 (stmt, 1)));
    }
  if (rc != SQLITE_DONE)
    return set_db_error (error, queue->db, "queue.db: reading the body segments");

  listing = g_dir_open (queue->segment_dir, 0, error);
  if (listing == NULL)
    return FALSE;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      char *end = NULL;
      guint64 id = g_ascii_strtoull (name, &end, 16);

      if (end == NULL || *end != '\0' || id == 0)
        continue;   /* not ours */
      max_id = MAX (max_id, id);
      if (segment_refs (queue, id) == 0)
        {
          g_autofree char *path = segment_path (queue, id);

          g_unlink (path);
        }
    }
  queue->next_segment_id = max_id + 1;
  return TRUE;
}

static void
segment_close (MgQueue *queue)
{
  if (queue->segment_refs != NULL)
    segment_close_current (queue);
  g_clear_pointer (&queue->segment_refs, g_hash_table_unref);
  g_clear_pointer (&queue->batch_unrefs, g_array_unref);
}

static GBytes *
segment_read (const char  *path,
              guint64      offset,
              gsize        size,
              const char  *id,
              GError     **error)
{
  g_autofree guint8 *data = g_malloc (MAX (size, 1));
  gsize done = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    {
      if (errno == ENOENT)   /* removed since we read its row */
        g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND,
                     "no message %s in the queue", id);
      else
        set_errno_error (error, errno, "queue: opening a body segment");
      return NULL;
    }
  while (done < size)
    {
      ssize_t n = pread (fd, data + done, size - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                         "queue: body segment %s is short: %s ends early", path, id);
          else
            set_errno_error (error, errno, "queue: reading a body segment");
          close (fd);
          return NULL;
        }
      done += (gsize) n;
    }
  close (fd);
  return g_bytes_new_take (g_steal_pointer (&data), size);
}

static void
apply_test_page_cap (MgQueue *queue)
{
  guint extra = atomic_load (&queue->extra_pages);
  gint64 pages = 0;
  g_autofree char *sql = NULL;

  if (extra == queue->applied_extra_pages)
    return;
  queue->applied_extra_pages = extra;
  queue->test_segment_budget = extra == 0 ? G_MAXUINT64 : (guint64) extra * 4096;

  if (!query_int64 (queue->db, "PRAGMA page_count", 0, &pages, NULL))
    return;
  if (extra == 0)
    sql = g_strdup ("PRAGMA max_page_count = 4294967294");
  else
    sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, pages + extra);
  exec_sql (queue->db, sql, NULL);
}

static void
rollback (MgQueue *queue)
{
  /* SQLITE_FULL and friends may already have rolled back */
  if (!sqlite3_get_autocommit (queue->db))
    sqlite3_exec (queue->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One transaction for all of @ops; FALSE (rolled back) if any write failed. */
static gboolean
commit_batch (MgQueue    *queue,
              QueueOp   **ops,
              guint       n_ops,
              GError    **error)
{
  gboolean stores = FALSE;
  guint64 next_id;
  guint64 saving_id = 0;
  int rc;

  for (guint i = 0; i < n_ops; i++)
    stores = stores || ops[i]->kind == OP_SUBMIT;
  if (stores != queue->sync_full)
    {
      /* a new message is acknowledged only once it is on disk */
      if (!exec_sql (queue->db, stores ? "PRAGMA synchronous = FULL"
                                       : "PRAGMA synchronous = NORMAL", error))
        return FALSE;
      queue->sync_full = stores;
    }

  g_array_set_size (queue->batch_unrefs, 0);
  if (!segment_append_bodies (queue, ops, n_ops, error))
    return FALSE;

  if (!exec_sql (queue->db, "BEGIN IMMEDIATE", error))
    return FALSE;

  for (guint i = 0; i < n_ops; i++)
    if (!apply_op (queue, ops[i], error))
      {
        rollback (queue);
        return FALSE;
      }

  /* The counter is saved every ID_SAVE_EVERY ids, not in every commit (a
   * page less per batch): at open, ID_SKIP_AHEAD past the saved value and
   * past every stored id covers what was handed out since. */
  next_id = atomic_load (&queue->next_id);
  if (next_id >= queue->saved_id + ID_SAVE_EVERY)
    {
      sqlite3_bind_int64 (queue->put_meta, 1, (sqlite3_int64) next_id);
      rc = sqlite3_step (queue->put_meta);
      finish_stmt (queue->put_meta);
      if (rc != SQLITE_DONE)
        {
          set_db_error (error, queue->db, "queue.db: saving the id counter");
          rollback (queue);
          return FALSE;
        }
      saving_id = next_id;
    }

  /* with a SUBMIT in the batch, COMMIT returns after the WAL is
   * synced (synchronous=FULL) */
  if (!exec_sql (queue->db, "COMMIT", error))
    {
      rollback (queue);
      return FALSE;
    }

  atomic_fetch_add (&queue->n_commits, 1);
  if (saving_id != 0)
    queue->saved_id = saving_id;
  segment_account_batch (queue, ops, n_ops);
  for (guint i = 0; i < n_ops; i++)
    {
      if (ops[i]->error != NULL)
        continue;
      if (ops[i]->kind == OP_SUBMIT)
        {
          atomic_fetch_add (&queue->count, 1);
          atomic_fetch_add (&queue->n_messages, 1);
        }
      else if (ops[i]->kind == OP_REMOVE)
        atomic_fetch_sub (&queue->count, 1);
    }
  return TRUE;
}

static void
run_batch (MgQueue  *queue,
           GPtrArray *batch)
{
  g_autoptr(GError) error = NULL;

  apply_test_page_cap (queue);

  if (commit_batch (queue, (QueueOp **) batch->pdata, batch->len, &error))
    return;

  if (batch->len == 1)
    {
      QueueOp *op = g_ptr_array_index (batch, 0);

      g_clear_error (&op->error);
      op->error = g_steal_pointer (&error);
      return;
    }

  /* one bad op must not fail the others: replay each alone */
  for (guint i = 0; i < batch->len; i++)
    {
      QueueOp *op = g_ptr_array_index (batch, i);
      g_autoptr(GError) op_error = NULL;

      if (!commit_batch (queue, &op, 1, &op_error))
        {
          g_clear_error (&op->error);
          op->error = g_steal_pointer (&op_error);
        }
    }
}

static gsize
op_weight (const QueueOp *op)
{
  return op->kind == OP_SUBMIT ? op->snap->body_size : 0;
}

static gpointer
committer_thread (gpointer user_data)
{
  MgQueue *queue = user_data;
  g_autoptr(GPtrArray) batch = g_ptr_array_new ();
  QueueOp *stop = NULL;

  while (stop == NULL)
    {
      QueueOp *op = g_async_queue_pop (queue->ops);
      gboolean stores = FALSE;
      gint64 deadline = 0;
      gsize bytes = 0;

      g_ptr_array_set_size (batch, 0);
      for (;;)
        {
          gint64 now;

          while (op != NULL)
            {
              if (op->kind == OP_STOP)
                {
                  stop = op;
                  break;
                }
              g_ptr_array_add (batch, op);
              bytes += op_weight (op);
              stores = stores || op->kind == OP_SUBMIT;
              if (batch->len >= BATCH_MAX_OPS || bytes >= BATCH_MAX_BYTES)
                break;
              op = g_async_queue_try_pop (queue->ops);
            }
          if (stop != NULL || stores || op != NULL || batch->len == 0)
            break;

          /* Only bookkeeping (a delivered message's removal, a retry
           * counter): nobody waits for it, so hold it a moment for the
           * next new message and commit both at once.  The removal of one
           * message and the insert of the next touch the same b-tree
           * pages: one transaction writes them once (bench/: 13 WAL pages
           * per relayed message in two transactions before). */
          now = g_get_monotonic_time ();
          if (deadline == 0)
            deadline = now + BOOKKEEPING_HOLD_US;
          if (now >= deadline)
            break;
          op = g_async_queue_timeout_pop (queue->ops, (guint64) (deadline - now));
          if (op == NULL)
            break;
        }

      if (batch->len > 0)
        {
          g_mutex_lock (&queue->write_lock);
          run_batch (queue, batch);
          g_mutex_unlock (&queue->write_lock);
        }
      for (guint i = 0; i < batch->len; i++)
        complete_op (g_ptr_array_index (batch, i));
    }

  queue_op_free (stop);
  return NULL;
}

/* ---- public API --------------------------------------------------------- */

static void
queue_free (MgQueue *queue)
{
  g_clear_pointer (&queue->ops, g_async_queue_unref);
  g_clear_pointer (&queue->read_conns, g_ptr_array_unref);
  g_mutex_clear (&queue->push_lock);
  g_mutex_clear (&queue->read_lock);
  g_mutex_clear (&queue->write_lock);
  g_free (queue->path);
  g_free (queue->segment_dir);
  g_free (queue);
}

static MgQueue *
queue_ref (MgQueue *queue)
{
  g_atomic_int_inc (&queue->ref_count);
  return queue;
}

static void
queue_unref (MgQueue *queue)
{
  if (g_atomic_int_dec_and_test (&queue->ref_count))
    queue_free (queue);
}

MgQueue *
mg_queue_open (const char  *dir,
               GError     **error)
{
  MgQueue *queue;
  gint64 count = 0;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_STORAGE,
                   "cannot create %s: %s", dir, g_strerror (saved_errno));
      return NULL;
    }

  queue = g_new0 (MgQueue, 1);
  queue->ref_count = 1;
  queue->serial = atomic_fetch_add (&next_serial, 1);
  queue->path = g_build_filename (dir, "queue.db", NULL);
  queue->ops = g_async_queue_new ();
  queue->read_conns = g_ptr_array_new_with_free_func ((GDestroyNotify) read_conn_unref);
  g_mutex_init (&queue->push_lock);
  g_mutex_init (&queue->read_lock);
  g_mutex_init (&queue->write_lock);

  if (sqlite3_open_v2 (queue->path, &queue->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_db_error (error, queue->db, "opening queue.db");
      goto fail;
    }

  queue->sync_full = TRUE;   /* configure_write_connection sets FULL */
  if (!configure_write_connection (queue->db, error) ||
      !migrate (queue->db, error) ||
      !init_id_counter (queue, error) ||
      !query_int64 (queue->db, "SELECT count(*) FROM messages", 0, &count, error) ||
      !prepare_write_statements (queue, error) ||
      !segment_open (queue, dir, error))
    goto fail;
  atomic_store (&queue->count, (int) count);

  queue->thread = g_thread_try_new ("mg-queue-commit", committer_thread, queue, error);
  if (queue->thread == NULL)
    goto fail;

  return queue;

fail:
  g_prefix_error (error, "%s: ", queue->path);
  close_write_connection (queue);
  segment_close (queue);
  queue_unref (queue);
  return NULL;
}

void
mg_queue_close (MgQueue *queue)
{
  QueueOp *stop;

  g_return_if_fail (queue != NULL);

  stop = g_new0 (QueueOp, 1);
  stop->kind = OP_STOP;
  stop->queue = queue_ref (queue);

  g_mutex_lock (&queue->push_lock);
  queue->closed = TRUE;
  g_async_queue_push (queue->ops, stop);
  g_mutex_unlock (&queue->push_lock);

  /* everything queued before STOP is committed and completed first */
  g_thread_join (g_steal_pointer (&queue->thread));
  /* a direct submit that passed its closed check before ours finishes first */
  g_mutex_lock (&queue->write_lock);
  close_write_connection (queue);
  segment_close (queue);
  g_mutex_unlock (&queue->write_lock);
  close_read_conns (queue);
  queue_unref (queue);
}

char *
mg_queue_new_id (MgQueue *queue)
{
  guint64 id;

  g_return_val_if_fail (queue != NULL, NULL);

  id = atomic_fetch_add (&queue->next_id, 1);
  return g_strdup_printf ("B%010" G_GUINT64_FORMAT, id);
}

static QueueOp *
new_op (MgQueue         *queue,
        OpKind           kind,
        MgQueueMessage  *msg,
        GMainContext    *context,
        MgQueueDoneFunc  done,
        gpointer         user_data)
{
  QueueOp *op = g_new0 (QueueOp, 1);

  op->kind = kind;
  op->queue = queue_ref (queue);
  op->msg = mg_queue_message_ref (msg);
  op->snap = message_snapshot (msg, kind == OP_SUBMIT);
  op->context = context != NULL ? g_main_context_ref (context)
                                : g_main_context_ref_thread_default ();
  op->done = done;
  op->user_data = user_data;
  return op;
}

static void
push_op (MgQueue         *queue,
         OpKind           kind,
         MgQueueMessage  *msg,
         GMainContext    *context,
         MgQueueDoneFunc  done,
         gpointer         user_data)
{
  QueueOp *op = new_op (queue, kind, msg, context, done, user_data);
  gboolean closed;

  g_mutex_lock (&queue->push_lock);
  closed = queue->closed;
  if (!closed)
    g_async_queue_push (queue->ops, op);
  g_mutex_unlock (&queue->push_lock);

  if (closed)
    {
      g_set_error (&op->error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_CLOSED,
                   "the queue is shutting down");
      complete_op (op);
    }
}

void
mg_queue_submit (MgQueue         *queue,
                 MgQueueMessage  *msg,
                 GMainContext    *context,
                 MgQueueDoneFunc  done,
                 gpointer         user_data)
{
  g_return_if_fail (queue != NULL);
  g_return_if_fail (msg != NULL);
  g_return_if_fail (msg->id != NULL);
  g_return_if_fail (msg->sender != NULL);
  g_return_if_fail (msg->body != NULL);

  push_op (queue, OP_SUBMIT, msg, context, done, user_data);
}

gboolean
mg_queue_submit_direct (MgQueue         *queue,
                        MgQueueMessage  *msg,
                        GMainContext    *context,
                        MgQueueDoneFunc  done,
                        gpointer         user_data)
{
  QueueOp *op;

  g_return_val_if_fail (queue != NULL, FALSE);
  g_return_val_if_fail (msg != NULL, FALSE);
  g_return_val_if_fail (msg->id != NULL, FALSE);
  g_return_val_if_fail (msg->sender != NULL, FALSE);
  g_return_val_if_fail (msg->body != NULL, FALSE);

  /* Ops waiting for the committer would share its next commit: let it
   * take this one too.  The push lock keeps mg_queue_close() out. */
  g_mutex_lock (&queue->push_lock);
  if (queue->closed || g_async_queue_length (queue->ops) > 0 ||
      !g_mutex_trylock (&queue->write_lock))
    {
      g_mutex_unlock (&queue->push_lock);
      return FALSE;
    }
  g_mutex_unlock (&queue->push_lock);

  op = new_op (queue, OP_SUBMIT, msg, context, done, user_data);
  {
    g_autoptr(GPtrArray) batch = g_ptr_array_new ();

    g_ptr_array_add (batch, op);
    run_batch (queue, batch);
  }
  g_mutex_unlock (&queue->write_lock);
  atomic_fetch_add (&queue->n_direct, 1);
  complete_op (op);
  return TRUE;
}

void
mg_queue_update (MgQueue         *queue,
                 MgQueueMessage  *msg,
                 GMainContext    *context,
                 MgQueueDoneFunc  done,
                 gpointer         user_data)
{
  g_return_if_fail (queue != NULL);
  g_return_if_fail (msg != NULL);
  g_return_if_fail (msg->id != NULL);

  push_op (queue, OP_UPDATE, msg, context, done, user_data);
}

void
mg_queue_remove (MgQueue         *queue,
                 MgQueueMessage  *msg,
                 GMainContext    *context,
                 MgQueueDoneFunc  done,
                 gpointer         user_data)
{
  g_return_if_fail (queue != NULL);
  g_return_if_fail (msg != NULL);
  g_return_if_fail (msg->id != NULL);

  push_op (queue, OP_REMOVE, msg, context, done, user_data);
}

static char *
dup_column_text (sqlite3_stmt *stmt,
                 int           col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

static gboolean
load_messages (sqlite3     *db,
               GPtrArray   *messages,
               GHashTable  *by_id,
               GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = prepare (db,
                  "SELECT id, sender, received_at, client_address, helo, body_size,"
                  " attempts, next_attempt, first_failure, held"
                  " FROM messages ORDER BY received_at, id", 0, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      MgQueueMessage *msg = mg_queue_message_new ();

      msg->id = dup_column_text (stmt, 0);
      msg->sender = dup_column_text (stmt, 1);
      msg->received_at = sqlite3_column_int64 (stmt, 2);
      msg->client_address = dup_column_text (stmt, 3);
      msg->helo = dup_column_text (stmt, 4);
      msg->body_size = (gsize) sqlite3_column_int64 (stmt, 5);
      msg->attempts = (guint) sqlite3_column_int64 (stmt, 6);
      msg->next_attempt = sqlite3_column_int64 (stmt, 7);
      msg->first_failure = sqlite3_column_int64 (stmt, 8);
      msg->held = sqlite3_column_int (stmt, 9) != 0;
      g_ptr_array_add (messages, msg);
      g_hash_table_insert (by_id, msg->id, msg);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (error, db, "queue.db: loading messages");
  return TRUE;
}

static gboolean
load_rcpts (sqlite3     *db,
            GHashTable  *by_id,
            GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = prepare (db,
                  "SELECT msg_id, address, state, last_reply FROM rcpts ORDER BY msg_id, idx",
                  0, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      MgQueueMessage *msg = g_hash_table_lookup (by_id, sqlite3_column_text (stmt, 0));
      MgQueueRcpt *rcpt;

      if (msg == NULL)
        continue;
      rcpt = g_new0 (MgQueueRcpt, 1);
      rcpt->address = dup_column_text (stmt, 1);
      rcpt->state = (MgRcptState) sqlite3_column_int (stmt, 2);
      rcpt->last_reply = dup_column_text (stmt, 3);
      g_ptr_array_add (msg->rcpts, rcpt);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (error, db, "queue.db: loading recipients");
  return TRUE;
}

GPtrArray *
mg_queue_load_all (MgQueue  *queue,
                   GError  **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GHashTable) by_id = NULL;
  ReadConn *conn;
  gboolean ok;

  g_return_val_if_fail (queue != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  conn = lock_read_conn (queue, error);
  if (conn == NULL)
    return NULL;

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_message_unref);
  by_id = g_hash_table_new (g_str_hash, g_str_equal);

  /* one read transaction: envelopes and recipients from the same snapshot */
  ok = exec_sql (conn->db, "BEGIN", error);
  if (ok)
    {
      ok = load_messages (conn->db, messages, by_id, error) &&
           load_rcpts (conn->db, by_id, error);
      sqlite3_exec (conn->db, "COMMIT", NULL, NULL, NULL);
    }
  g_mutex_unlock (&conn->lock);

  return ok ? g_steal_pointer (&messages) : NULL;
}

GBytes *
mg_queue_read_body (MgQueue     *queue,
                    const char  *id,
                    GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GBytes *body = NULL;
  ReadConn *conn;
  int rc;

  g_return_val_if_fail (queue != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  conn = lock_read_conn (queue, error);
  if (conn == NULL)
    return NULL;

  stmt = prepare (conn->db, "SELECT m.body_segment, m.body_offset, m.body_size, b.body"
                            " FROM messages m LEFT JOIN bodies b ON b.num = ?2"
                            " WHERE m.id = ?1", 0, error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) parse_id (id));
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        {
          gint64 segment = sqlite3_column_int64 (stmt, 0);
          gint64 offset = sqlite3_column_int64 (stmt, 1);
          g_autofree char *path = segment_path (queue, (guint64) segment);

          body = segment_read (path, (guint64) offset, (gsize) sqlite3_column_int64 (stmt, 2),
                               id, error);
          /* A segment is reused once nothing refers to it: if the message
           * was removed while we read, the bytes may be another's.  Still
           * there in a fresh snapshot, taken after the read: they are its. */
          sqlite3_reset (stmt);
          if (body != NULL &&
              (sqlite3_step (stmt) != SQLITE_ROW ||
               sqlite3_column_type (stmt, 0) == SQLITE_NULL ||
               sqlite3_column_int64 (stmt, 0) != segment ||
               sqlite3_column_int64 (stmt, 1) != offset))
            {
              g_clear_pointer (&body, g_bytes_unref);
              g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND,
                           "no message %s in the queue", id);
            }
        }
      else if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        body = g_bytes_new (sqlite3_column_blob (stmt, 3),
                            (gsize) sqlite3_column_bytes (stmt, 3));
      else if (rc == SQLITE_ROW)
        body = g_bytes_new (NULL, 0);
      else if (rc == SQLITE_DONE)
        g_set_error (error, MG_QUEUE_ERROR, MG_QUEUE_ERROR_NOT_FOUND,
                     "no message %s in the queue", id);
      else
        set_db_error (error, conn->db, "queue.db: reading a body");
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_mutex_unlock (&conn->lock);
  return body;
}

guint
mg_queue_count (MgQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);

  return (guint) MAX (atomic_load (&queue->count), 0);
}

guint64
mg_queue_get_n_commits (MgQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);

  return atomic_load (&queue->n_commits);
}

guint64
mg_queue_get_n_direct_commits (MgQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);

  return atomic_load (&queue->n_direct);
}

guint64
mg_queue_get_n_messages_committed (MgQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);

  return atomic_load (&queue->n_messages);
}

void
mg_queue_set_segment_max_for_test (MgQueue *queue,
                                   guint64  bytes)
{
  g_return_if_fail (queue != NULL);

  atomic_store (&queue->segment_max, bytes);
}

void
mg_queue_set_max_pages_for_test (MgQueue *queue,
                                 guint    extra_pages)
{
  g_return_if_fail (queue != NULL);

  atomic_store (&queue->extra_pages, extra_pages);
}
