/* mg-receiver.c - the receiver service: listeners, connections, sessions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * This file is the socket side of reception (STYLE.md B7: MgListener +
 * MgSessionIo).  Everything SMTP lives in MgSmtpSession; here we only move
 * bytes: split command lines (a line over MAX_COMMAND_LINE is refused and
 * discarded up to its end, never truncated and executed), hand DATA bytes
 * over unchanged, write replies, and park a connection while its message is
 * being made durable.
 *
 * Ownership: MgReceiver owns the thread, its GMainContext, the listener set
 * and the list of connections.  A Conn is reference counted because a queue
 * commit may finish after the client has gone away: the message is durable
 * then and must still be handed to delivery.
 *
 * Threading: the public functions run on the main thread and talk to the
 * receiver thread with run_in_receiver() (invoke + wait).  Everything that
 * touches a Conn runs in the receiver thread.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "mg-log.h"
#include "mg-receiver.h"
#include "mg-smtp-session.h"
#include "mg-trace.h"

#define MAX_COMMAND_LINE   1000          /* octets before CRLF; longer: 500 5.5.2 */
#define READ_CHUNK         (64 * 1024)
#define MAX_OUT_PENDING    (256 * 1024)  /* stop reading while this much is unsent */
#define LISTEN_BACKLOG     1024
#define RESOLVE_TIMEOUT_S  10

/* ---- listener sets ---------------------------------------------------- */

typedef struct
{
  char    *address;   /* spec address: "*", "127.0.0.1", "::1" */
  guint16  port;      /* spec port (0 = any) */
  GSocket *socket;    /* listening, non-blocking */
} Listener;

struct _MgListenerSet
{
  GPtrArray *listeners;   /* Listener* */
};

static void
listener_free (Listener *listener)
{
  g_free (listener->address);
  g_clear_object (&listener->socket);
  g_free (listener);
}

void
mg_listener_set_free (MgListenerSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref (set->listeners);
  g_free (set);
}

static GSocket *
find_reusable (MgListenerSet        *reuse,
               const MgListenerSpec *spec)
{
  if (reuse == NULL || spec->port == 0)
    return NULL;

  for (guint i = 0; i < reuse->listeners->len; i++)
    {
      Listener *l = g_ptr_array_index (reuse->listeners, i);

      if (l->port == spec->port && g_strcmp0 (l->address, spec->address) == 0)
        return l->socket;
    }
  return NULL;
}

static GSocket *
bind_one (GInetAddress  *address,
          guint16        port,
          gboolean       dual_stack,
          GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) sockaddr = NULL;

  socket = g_socket_new (g_inet_address_get_family (address),
                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
      !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? 0 : 1, error))
    return NULL;

  sockaddr = g_inet_socket_address_new (address, port);
  if (!g_socket_bind (socket, sockaddr, TRUE, error))
    return NULL;

  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_listen (socket, error))
    return NULL;

  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

static GSocket *
bind_spec (const MgListenerSpec *spec,
           GError              **error)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_strcmp0 (spec->address, "*") == 0)
    {
      g_autoptr(GError) v6_error = NULL;
      g_autoptr(GInetAddress) any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GInetAddress) any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      GSocket *socket;

      /* One dual-stack socket where IPv6 exists, IPv4 only otherwise. */
      socket = bind_one (any6, spec->port, TRUE, &v6_error);
      if (socket != NULL)
        return socket;
      if (!g_error_matches (v6_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) &&
          !g_error_matches (v6_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) &&
          !g_error_matches (v6_error, G_IO_ERROR, G_IO_ERROR_FAILED))
        {
          g_propagate_error (error, g_steal_pointer (&v6_error));
          return NULL;
        }
      return bind_one (any4, spec->port, FALSE, error);
    }

  address = g_inet_address_new_from_string (spec->address);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not an IP address: %s", spec->address);
      return NULL;
    }
  return bind_one (address, spec->port, FALSE, error);
}

static char *
describe_socket (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autofree char *addr = NULL;
  GInetAddress *inet;
  guint16 port;

  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    return g_strdup ("?");

  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  addr = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", addr, port);
  return g_strdup_printf ("%s:%u", addr, port);
}

MgListenerSet *
mg_receiver_bind (GPtrArray      *specs,
                  MgListenerSet  *reuse,
                  GError        **error)
{
  g_autoptr(MgListenerSet) set = g_new0 (MgListenerSet, 1);

  set->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_free);

  for (guint i = 0; i < specs->len; i++)
    {
      const MgListenerSpec *spec = g_ptr_array_index (specs, i);
      Listener *listener = g_new0 (Listener, 1);
      GSocket *existing = find_reusable (reuse, spec);

      listener->address = g_strdup (spec->address);
      listener->port = spec->port;
      g_ptr_array_add (set->listeners, listener);

      if (existing != NULL)
        {
          listener->socket = g_object_ref (existing);
          continue;
        }

      listener->socket = bind_spec (spec, error);
      if (listener->socket == NULL)
        {
          if (strchr (spec->address, ':') != NULL)
            g_prefix_error (error, "cannot listen on [%s]:%u: ", spec->address, spec->port);
          else
            g_prefix_error (error, "cannot listen on %s:%u: ", spec->address, spec->port);
          return NULL;   /* set (and what it bound) is freed */
        }
    }

  return g_steal_pointer (&set);
}

GStrv
mg_listener_set_describe (MgListenerSet *set)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; set != NULL && i < set->listeners->len; i++)
    {
      Listener *l = g_ptr_array_index (set->listeners, i);
      g_autofree char *text = describe_socket (l->socket);

      g_strv_builder_add (builder, text);
    }
  return g_strv_builder_end (builder);
}

/* ---- the receiver ----------------------------------------------------- */

typedef struct _Conn Conn;

struct _MgReceiver
{
  MgQueue              *queue;
  MgReceiverQueuedFunc  queued;
  gpointer              queued_data;

  GMutex                lock;           /* guards config */
  MgConfig             *config;

  GThread              *thread;
  GMainContext         *context;
  GMainLoop            *loop;

  /* receiver thread only: */
  MgListenerSet        *set;
  GPtrArray            *accept_sources; /* GSource* */
  GSource              *sweep_source;
  GList                *conns;          /* Conn* (one ref each) */
  guint                 n_pending_commits;
  gboolean              stopping;

  /* any thread (atomics): */
  guint                 n_sessions;
  guint64               n_received;
  guint64               n_connections;
  gboolean              running;
};

typedef enum
{
  CONN_RESOLVING,     /* waiting for the client's verified host name */
  CONN_COMMANDS,
  CONN_DATA,
  CONN_COMMIT,        /* waiting for the queue */
  CONN_CLOSING,       /* flush what is left, then close */
  CONN_CLOSED,
} ConnState;

struct _Conn
{
  gatomicrefcount  ref_count;
  MgReceiver      *receiver;
  GSocket         *socket;
  GSource         *read_source;
  GSource         *write_source;
  GSource         *resolve_timeout;
  GCancellable    *cancellable;
  MgSmtpSession   *session;
  MgConfig        *config;
  GList           *link;            /* in receiver->conns */

  char             tag[16];
  GInetAddress    *client;
  guint16          client_port;
  guint16          local_port;
  char            *client_host;

  GByteArray      *in;
  GString         *out;
  gsize            out_pos;
  ConnState        state;
  gboolean         discarding;      /* inside an over-long command line */
  gint64           last_activity;   /* monotonic µs */
};

static guint session_counter;

static inline void
counter_inc (guint64 *counter)
{
  __atomic_add_fetch (counter, 1, __ATOMIC_RELAXED);
}

static void conn_process      (Conn *conn);
static void conn_flush        (Conn *conn);
static void conn_close        (Conn *conn);
static void conn_update_read  (Conn *conn);

static Conn *
conn_ref (Conn *conn)
{
  g_atomic_ref_count_inc (&conn->ref_count);
  return conn;
}

static void
conn_unref (Conn *conn)
{
  if (!g_atomic_ref_count_dec (&conn->ref_count))
    return;

  g_assert (conn->read_source == NULL && conn->write_source == NULL);
  g_clear_pointer (&conn->session, mg_smtp_session_free);
  g_clear_pointer (&conn->config, mg_config_unref);
  g_clear_object (&conn->socket);
  g_clear_object (&conn->cancellable);
  g_clear_object (&conn->client);
  g_free (conn->client_host);
  g_byte_array_unref (conn->in);
  g_string_free (conn->out, TRUE);
  g_free (conn);
}

static MgConfig *
receiver_get_config (MgReceiver *self)
{
  MgConfig *config;

  g_mutex_lock (&self->lock);
  config = mg_config_ref (self->config);
  g_mutex_unlock (&self->lock);
  return config;
}

static char *
new_queue_id_cb (gpointer user_data)
{
  MgReceiver *self = user_data;

  return mg_queue_new_id (self->queue);
}

static const char *
our_hostname (MgConfig *config)
{
  const char *name = mg_config_get_string (config, "receiver.hostname");

  return (name != NULL && *name != '\0') ? name : g_get_host_name ();
}

/* Write as much of @text as the socket takes now, ignoring the rest: used
 * for one-line farewells to connections we refuse or drop. */
static void
send_best_effort (GSocket    *socket,
                  const char *text)
{
  g_socket_send (socket, text, strlen (text), NULL, NULL);
}

/* ---- reading and writing ---------------------------------------------- */

static gboolean
on_conn_readable_cb (GSocket      *socket,
                     GIOCondition  condition,
                     gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;
  guint old_len = conn->in->len;

  g_byte_array_set_size (conn->in, old_len + READ_CHUNK);
  n = g_socket_receive (socket, (char *) conn->in->data + old_len, READ_CHUNK, NULL, &error);
  g_byte_array_set_size (conn->in, old_len + MAX (n, 0));

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      MG_TRACE (conn->tag, "client %s", n == 0 ? "closed the connection" : error->message);
      conn_close (conn);
      return G_SOURCE_REMOVE;
    }

  conn->last_activity = g_get_monotonic_time ();
  conn_ref (conn);
  conn_process (conn);
  conn_unref (conn);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_conn_writable_cb (GSocket      *socket,
                     GIOCondition  condition,
                     gpointer      user_data)
{
  Conn *conn = user_data;

  conn_ref (conn);
  conn_flush (conn);
  conn_unref (conn);
  return G_SOURCE_CONTINUE;
}

static void
attach_socket_source (Conn         *conn,
                      GSource     **slot,
                      GIOCondition  condition,
                      GSocketSourceFunc func)
{
  GSource *source = g_socket_create_source (conn->socket, condition, NULL);

  g_source_set_callback (source, G_SOURCE_FUNC (func), conn, NULL);
  g_source_attach (source, conn->receiver->context);
  *slot = source;
}

static void
detach_source (GSource **slot)
{
  if (*slot == NULL)
    return;
  g_source_destroy (*slot);
  g_clear_pointer (slot, g_source_unref);
}

/* Read only while the session wants input and the client reads its
 * replies: pipelined floods cannot grow our buffers without bound. */
static void
conn_update_read (Conn *conn)
{
  gboolean want = (conn->state == CONN_COMMANDS || conn->state == CONN_DATA) &&
                  conn->out->len - conn->out_pos < MAX_OUT_PENDING;

  if (want && conn->read_source == NULL)
    attach_socket_source (conn, &conn->read_source, G_IO_IN, on_conn_readable_cb);
  else if (!want && conn->read_source != NULL)
    detach_source (&conn->read_source);
}

static void
conn_flush (Conn *conn)
{
  if (conn->state == CONN_CLOSED)
    return;

  while (conn->out_pos < conn->out->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (conn->socket, conn->out->str + conn->out_pos,
                                conn->out->len - conn->out_pos, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (conn->write_source == NULL)
            attach_socket_source (conn, &conn->write_source, G_IO_OUT, on_conn_writable_cb);
          conn_update_read (conn);
          return;
        }
      if (n < 0)
        {
          MG_TRACE (conn->tag, "write failed: %s", error->message);
          conn_close (conn);
          return;
        }
      conn->out_pos += n;
    }

  g_string_truncate (conn->out, 0);
  conn->out_pos = 0;
  detach_source (&conn->write_source);

  if (conn->state == CONN_CLOSING)
    {
      conn_close (conn);
      return;
    }
  conn_update_read (conn);
}

static void
conn_close (Conn *conn)
{
  MgReceiver *self = conn->receiver;

  if (conn->state == CONN_CLOSED)
    return;

  detach_source (&conn->read_source);
  detach_source (&conn->write_source);
  detach_source (&conn->resolve_timeout);
  g_cancellable_cancel (conn->cancellable);
  g_socket_close (conn->socket, NULL);
  MG_TRACE (conn->tag, "connection closed");

  conn->state = CONN_CLOSED;
  self->conns = g_list_delete_link (self->conns, conn->link);
  conn->link = NULL;
  g_atomic_int_add (&self->n_sessions, -1);
  conn_unref (conn);   /* the list's reference */
}

/* ---- feeding the session ---------------------------------------------- */

static void
trace_replies (Conn  *conn,
               gsize  from)
{
  if (mg_trace_active () && conn->out->len > from)
    mg_trace_protocol (conn->tag, "SEND ->", conn->out->str + from, conn->out->len - from);
}

static void
on_commit_done_cb (MgQueue        *queue,
                   MgQueueMessage *msg,
                   const GError   *error,
                   gpointer        user_data)
{
  Conn *conn = user_data;
  MgReceiver *self = conn->receiver;

  self->n_pending_commits--;

  if (error == NULL)
    {
      counter_inc (&self->n_received);
      MG_TRACE (msg->id, "queued: from=<%s> %u recipient(s), %" G_GSIZE_FORMAT " bytes, client %s",
                msg->sender, msg->rcpts->len, msg->body_size,
                msg->client_address != NULL ? msg->client_address : "?");
      if (msg->body_size > 0)
        {
          g_autofree char *size = g_strdup_printf ("%" G_GSIZE_FORMAT, msg->body_size);
          g_autofree char *n = g_strdup_printf ("%u", msg->rcpts->len);

          mg_log_event (MG_LOG_RECEIVE, msg->id, "client", msg->client_address,
                        "helo", msg->helo, "from", msg->sender, "rcpts", n,
                        "size", size, "status", "queued", NULL);
        }
      /* Durable now: hand it to delivery even if the client has gone. */
      if (self->queued != NULL)
        self->queued (msg, self->queued_data);
    }
  else
    {
      mg_log_event (MG_LOG_RECEIVE, msg->id, "client", msg->client_address,
                    "from", msg->sender, "status", "tempfail", "reason", error->message, NULL);
      g_warning ("%s: could not queue message: %s", msg->id, error->message);
    }

  if (conn->state == CONN_COMMIT)
    {
      gsize before = conn->out->len;

      mg_smtp_session_commit_done (conn->session, error, conn->out);
      trace_replies (conn, before);
      conn->state = CONN_COMMANDS;
      conn_process (conn);
    }

  if (self->stopping && self->n_pending_commits == 0)
    g_main_loop_quit (self->loop);
  conn_unref (conn);
}

static void
start_commit (Conn *conn)
{
  g_autoptr(MgQueueMessage) msg = mg_smtp_session_take_message (conn->session);

  conn->state = CONN_COMMIT;
  conn->receiver->n_pending_commits++;
  mg_queue_submit (conn->receiver->queue, msg, conn->receiver->context,
                   on_commit_done_cb, conn_ref (conn));   /* the callback's reference */
}

/* Apply an action returned by the session. Returns FALSE to stop feeding. */
static gboolean
apply_action (Conn         *conn,
              MgSmtpAction  action)
{
  switch (action)
    {
    case MG_SMTP_ACTION_CONTINUE:
      conn->state = CONN_COMMANDS;
      return TRUE;
    case MG_SMTP_ACTION_READ_DATA:
      conn->state = CONN_DATA;
      return TRUE;
    case MG_SMTP_ACTION_COMMIT:
      start_commit (conn);
      return FALSE;
    case MG_SMTP_ACTION_START_TLS:
      /* TLS arrives with the front-door change; the session never asks yet. */
      conn->state = CONN_CLOSING;
      return FALSE;
    case MG_SMTP_ACTION_CLOSE:
      conn->state = CONN_CLOSING;
      return FALSE;
    default:
      g_assert_not_reached ();
    }
}

/* One command line out of conn->in.  Returns the bytes used, 0 if no
 * complete line is buffered yet. */
static gsize
feed_command (Conn     *conn,
              gboolean *keep_going)
{
  const char *start = (const char *) conn->in->data;
  gsize avail = conn->in->len;
  const char *lf = memchr (start, '\n', avail);
  gsize line_len;
  gboolean crlf = FALSE;
  gsize before;
  MgSmtpAction action;

  if (conn->discarding)
    {
      /* Still inside a line we already refused: drop it up to its end. */
      if (lf == NULL)
        return avail;
      conn->discarding = FALSE;
      return lf - start + 1;
    }

  if (lf == NULL)
    {
      if (avail <= MAX_COMMAND_LINE + 1)
        {
          *keep_going = FALSE;
          return 0;
        }
      /* Over-long: refuse now, never execute any part of it. */
      MG_TRACE (conn->tag, "RECV <- [%" G_GSIZE_FORMAT "+ octets without end of line]", avail);
      before = conn->out->len;
      action = mg_smtp_session_handle_line (conn->session, start, MAX_COMMAND_LINE,
                                            FALSE, TRUE, conn->out);
      trace_replies (conn, before);
      conn->discarding = TRUE;
      *keep_going = apply_action (conn, action);
      return avail;
    }

  line_len = lf - start;
  if (line_len > 0 && start[line_len - 1] == '\r')
    {
      line_len--;
      crlf = TRUE;
    }

  if (mg_trace_active ())
    mg_trace_protocol (conn->tag, "RECV <-", start, line_len);

  before = conn->out->len;
  action = mg_smtp_session_handle_line (conn->session, start,
                                        MIN (line_len, MAX_COMMAND_LINE + 1), crlf,
                                        line_len > MAX_COMMAND_LINE, conn->out);
  trace_replies (conn, before);
  *keep_going = apply_action (conn, action);
  return lf - start + 1;
}

static gsize
feed_data (Conn     *conn,
           gboolean *keep_going)
{
  gsize consumed = 0;
  gsize before = conn->out->len;
  MgSmtpAction action;

  action = mg_smtp_session_handle_data (conn->session, (const char *) conn->in->data,
                                        conn->in->len, &consumed, conn->out);
  trace_replies (conn, before);
  if (action == MG_SMTP_ACTION_READ_DATA)
    {
      *keep_going = FALSE;
      return consumed;
    }
  *keep_going = apply_action (conn, action);
  return consumed;
}

static void
conn_process (Conn *conn)
{
  gboolean keep_going = TRUE;

  while (keep_going && conn->in->len > 0 &&
         (conn->state == CONN_COMMANDS || conn->state == CONN_DATA))
    {
      gsize used;

      if (conn->state == CONN_DATA)
        used = feed_data (conn, &keep_going);
      else
        used = feed_command (conn, &keep_going);

      if (used > 0)
        g_byte_array_remove_range (conn->in, 0, used);
    }

  conn_flush (conn);
}

/* ---- new connections -------------------------------------------------- */

static void
conn_begin_session (Conn *conn)
{
  MgReceiver *self = conn->receiver;
  MgSmtpSessionInfo info = { 0 };

  info.config = conn->config;
  info.session_tag = conn->tag;
  info.hostname = our_hostname (conn->config);
  info.client_address = conn->client;
  info.client_port = conn->client_port;
  info.client_host = conn->client_host;
  info.local_port = conn->local_port;
  info.new_id = new_queue_id_cb;
  info.new_id_data = self;
  info.now = 0;

  conn->session = mg_smtp_session_new (&info);
  conn->state = CONN_COMMANDS;
  conn->last_activity = g_get_monotonic_time ();

  mg_smtp_session_greeting (conn->session, conn->out);
  trace_replies (conn, 0);
  conn_flush (conn);
}

static gboolean
needs_host_name (MgConfig *config)
{
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = g_ptr_array_index (config->relay_rules, i);

      if (rule->kind == MG_RELAY_PATTERN_HOST)
        return TRUE;
    }
  return FALSE;
}

static void
resolve_finish (Conn       *conn,
                const char *verified)
{
  if (conn->state != CONN_RESOLVING)
    return;
  detach_source (&conn->resolve_timeout);
  conn->client_host = g_strdup (verified);
  MG_TRACE (conn->tag, "client host name: %s", verified != NULL ? verified : "unknown (not verified)");
  conn_begin_session (conn);
}

typedef struct
{
  Conn *conn;
  char *name;
} ForwardCheck;

static void
on_forward_lookup_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  ForwardCheck *check = user_data;
  g_autolist(GInetAddress) addresses = NULL;
  const char *verified = NULL;

  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, NULL);
  for (GList *l = addresses; l != NULL; l = l->next)
    if (g_inet_address_equal (l->data, check->conn->client))
      verified = check->name;

  resolve_finish (check->conn, verified);
  conn_unref (check->conn);
  g_free (check->name);
  g_free (check);
}

static void
on_reverse_lookup_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Conn *conn = user_data;
  g_autofree char *name = g_resolver_lookup_by_address_finish (G_RESOLVER (source), result, NULL);
  ForwardCheck *check;

  if (name == NULL || conn->state != CONN_RESOLVING)
    {
      resolve_finish (conn, NULL);
      conn_unref (conn);
      return;
    }

  /* host-name rules only trust a name that maps back to the client. */
  check = g_new0 (ForwardCheck, 1);
  check->conn = conn;   /* takes over the reference */
  check->name = g_steal_pointer (&name);
  g_resolver_lookup_by_name_async (G_RESOLVER (source), check->name, conn->cancellable,
                                   on_forward_lookup_cb, check);
}

static gboolean
on_resolve_timeout_cb (gpointer user_data)
{
  Conn *conn = user_data;

  g_clear_pointer (&conn->resolve_timeout, g_source_unref);
  g_cancellable_cancel (conn->cancellable);
  resolve_finish (conn, NULL);
  return G_SOURCE_REMOVE;
}

static void
conn_start_resolve (Conn *conn)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();

  conn->state = CONN_RESOLVING;
  conn->cancellable = g_cancellable_new ();
  conn->resolve_timeout = g_timeout_source_new_seconds (RESOLVE_TIMEOUT_S);
  g_source_set_callback (conn->resolve_timeout, on_resolve_timeout_cb, conn, NULL);
  g_source_attach (conn->resolve_timeout, conn->receiver->context);

  g_resolver_lookup_by_address_async (resolver, conn->client, conn->cancellable,
                                      on_reverse_lookup_cb, conn_ref (conn));
}

static void
log_accept (GSocketAddress *remote,
            GSocketAddress *local,
            const char     *status,
            const char     *detail)
{
  g_autofree char *client = NULL;
  g_autofree char *port = NULL;
  g_autofree char *local_port = NULL;

  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    {
      client = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
      port = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
    }
  if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local))
    local_port = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));

  mg_log_event (MG_LOG_ACCEPT, NULL, "client", client, "port", port,
                "local_port", local_port, "status", status, "session", detail, NULL);
}

static void
accept_one (MgReceiver *self,
            GSocket    *client_socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (client_socket, NULL);
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (client_socket, NULL);
  g_autoptr(MgConfig) config = receiver_get_config (self);
  gint64 limit = mg_config_get_int (config, "receiver.accept_limit");
  Conn *conn;

  counter_inc (&self->n_connections);

  if (limit > 0 && g_atomic_int_get (&self->n_sessions) >= limit)
    {
      g_autofree char *text = g_strdup_printf ("421 4.7.0 %s Error: too many connections, try again later\r\n",
                                               our_hostname (config));

      /* accept limit -> 421 and close */
      MG_TRACE ("receiver", "accept limit %" G_GINT64_FORMAT " reached: 421 to new client", limit);
      log_accept (remote, local, "refused", "accept limit");
      send_best_effort (client_socket, text);
      g_socket_close (client_socket, NULL);
      return;
    }

  conn = g_new0 (Conn, 1);
  g_atomic_ref_count_init (&conn->ref_count);
  conn->receiver = self;
  conn->socket = g_object_ref (client_socket);
  conn->config = g_steal_pointer (&config);
  conn->in = g_byte_array_sized_new (1024);
  conn->out = g_string_sized_new (512);
  conn->last_activity = g_get_monotonic_time ();
  g_snprintf (conn->tag, sizeof conn->tag, "S%08u",
              (guint) g_atomic_int_add (&session_counter, 1) + 1);

  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    {
      conn->client = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
      conn->client_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));
    }
  if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local))
    conn->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  g_socket_set_blocking (client_socket, FALSE);
  /* Replies are written once per batch of input; never hold them back. */
  g_socket_set_option (client_socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  self->conns = g_list_prepend (self->conns, conn);   /* the list's reference */
  conn->link = self->conns;
  g_atomic_int_inc (&self->n_sessions);

  if (mg_trace_active ())
    {
      g_autofree char *ip = conn->client != NULL ? g_inet_address_to_string (conn->client) : g_strdup ("?");

      mg_trace (conn->tag, "* Client IP [%s] port %u on local port %u (%u sessions)",
                ip, conn->client_port, conn->local_port, g_atomic_int_get (&self->n_sessions));
    }

  log_accept (remote, local, "accepted", conn->tag);

  if (conn->client != NULL && needs_host_name (conn->config))
    conn_start_resolve (conn);
  else
    conn_begin_session (conn);
}

static gboolean
on_listener_readable_cb (GSocket      *socket,
                         GIOCondition  condition,
                         gpointer      user_data)
{
  MgReceiver *self = user_data;

  /* Accept everything that is waiting: one wake-up, many clients. */
  for (guint i = 0; i < 256; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (socket, NULL, &error);

      if (client == NULL)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_warning ("accept failed: %s", error->message);
          break;
        }
      accept_one (self, client);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- timers ------------------------------------------------------------- */

static gboolean
on_sweep_cb (gpointer user_data)
{
  MgReceiver *self = user_data;
  g_autoptr(MgConfig) config = receiver_get_config (self);
  gint64 now = g_get_monotonic_time ();
  gint64 idle = mg_config_get_int (config, "receiver.timeout") * G_USEC_PER_SEC;
  gint64 data = mg_config_get_int (config, "receiver.data_timeout") * G_USEC_PER_SEC;
  GList *l = self->conns;

  while (l != NULL)
    {
      Conn *conn = l->data;
      gint64 limit = conn->state == CONN_DATA ? data : idle;

      l = l->next;
      if (conn->state == CONN_COMMIT || now - conn->last_activity < limit)
        continue;

      MG_TRACE (conn->tag, "timeout after %" G_GINT64_FORMAT " s", limit / G_USEC_PER_SEC);
      if (conn->session != NULL && conn->state != CONN_CLOSING)
        {
          gsize before = conn->out->len;

          mg_smtp_session_timeout (conn->session, conn->out);
          trace_replies (conn, before);
          send_best_effort (conn->socket, conn->out->str + conn->out_pos);
        }
      conn_close (conn);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the thread ------------------------------------------------------- */

static gpointer
receiver_thread (gpointer user_data)
{
  MgReceiver *self = user_data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

typedef struct
{
  MgReceiver *self;
  gpointer    data;
  void      (*func) (MgReceiver *self, gpointer data);
  GMutex      lock;
  GCond       cond;
  gboolean    done;
} Call;

static gboolean
run_call_cb (gpointer user_data)
{
  Call *call = user_data;

  call->func (call->self, call->data);
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

/* Run @func in the receiver thread and wait for it. */
static void
run_in_receiver (MgReceiver *self,
                 void      (*func) (MgReceiver *self, gpointer data),
                 gpointer    data)
{
  Call call = { self, data, func };

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (self->context, run_call_cb, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}

static void
remove_accept_sources (MgReceiver *self)
{
  for (guint i = 0; i < self->accept_sources->len; i++)
    g_source_destroy (g_ptr_array_index (self->accept_sources, i));
  g_ptr_array_set_size (self->accept_sources, 0);
}

static void
install_set (MgReceiver *self,
             gpointer    data)
{
  MgListenerSet *set = data;

  remove_accept_sources (self);
  g_clear_pointer (&self->set, mg_listener_set_free);   /* sockets not taken over close here */
  self->set = set;

  for (guint i = 0; i < set->listeners->len; i++)
    {
      Listener *l = g_ptr_array_index (set->listeners, i);
      GSource *source = g_socket_create_source (l->socket, G_IO_IN, NULL);

      g_source_set_callback (source, G_SOURCE_FUNC (on_listener_readable_cb), self, NULL);
      g_source_attach (source, self->context);
      g_ptr_array_add (self->accept_sources, source);
    }

  if (self->sweep_source == NULL)
    {
      self->sweep_source = g_timeout_source_new_seconds (1);
      g_source_set_callback (self->sweep_source, on_sweep_cb, self, NULL);
      g_source_attach (self->sweep_source, self->context);
    }
}

static void
shut_down (MgReceiver *self,
           gpointer    data)
{
  GList *conns;

  self->stopping = TRUE;
  remove_accept_sources (self);
  g_clear_pointer (&self->set, mg_listener_set_free);
  if (self->sweep_source != NULL)
    {
      g_source_destroy (self->sweep_source);
      g_clear_pointer (&self->sweep_source, g_source_unref);
    }

  conns = g_list_copy (self->conns);
  for (GList *l = conns; l != NULL; l = l->next)
    {
      Conn *conn = l->data;

      if (conn->session != NULL && conn->state != CONN_CLOSING && conn->state != CONN_COMMIT)
        {
          gsize before = conn->out->len;

          mg_smtp_session_shutdown (conn->session, conn->out);
          trace_replies (conn, before);
          send_best_effort (conn->socket, conn->out->str + conn->out_pos);
        }
      /* A connection waiting for the queue stays until its commit is done:
       * its message must still reach delivery. */
      if (conn->state != CONN_COMMIT)
        conn_close (conn);
    }
  g_list_free (conns);

  if (self->n_pending_commits == 0)
    g_main_loop_quit (self->loop);
}

MgReceiver *
mg_receiver_new (MgQueue              *queue,
                 MgConfig             *config,
                 MgReceiverQueuedFunc  queued,
                 gpointer              user_data)
{
  MgReceiver *self = g_new0 (MgReceiver, 1);

  self->queue = queue;
  self->queued = queued;
  self->queued_data = user_data;
  g_mutex_init (&self->lock);
  self->config = mg_config_ref (config);
  self->accept_sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  return self;
}

void
mg_receiver_free (MgReceiver *self)
{
  if (self == NULL)
    return;
  mg_receiver_stop (self);
  g_ptr_array_unref (self->accept_sources);
  g_clear_pointer (&self->config, mg_config_unref);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
mg_receiver_set_config (MgReceiver *self,
                        MgConfig   *config)
{
  MgConfig *old;

  g_mutex_lock (&self->lock);
  old = self->config;
  self->config = mg_config_ref (config);
  g_mutex_unlock (&self->lock);
  mg_config_unref (old);
}

void
mg_receiver_start (MgReceiver    *self,
                   MgListenerSet *set)
{
  g_return_if_fail (set != NULL);

  if (self->thread == NULL)
    {
      self->context = g_main_context_new ();
      self->loop = g_main_loop_new (self->context, FALSE);
      self->stopping = FALSE;
      self->thread = g_thread_new ("receiver", receiver_thread, self);
    }
  run_in_receiver (self, install_set, set);
  g_atomic_int_set (&self->running, TRUE);
}

void
mg_receiver_stop (MgReceiver *self)
{
  if (self->thread == NULL)
    return;

  g_atomic_int_set (&self->running, FALSE);
  run_in_receiver (self, shut_down, NULL);
  g_thread_join (self->thread);
  self->thread = NULL;

  /* Closed connections may still own idle sources; drain them. */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

gboolean
mg_receiver_is_running (MgReceiver *self)
{
  return g_atomic_int_get (&self->running);
}

MgListenerSet *
mg_receiver_get_listeners (MgReceiver *self)
{
  return mg_receiver_is_running (self) ? self->set : NULL;
}

guint
mg_receiver_n_sessions (MgReceiver *self)
{
  return g_atomic_int_get (&self->n_sessions);
}

guint64
mg_receiver_n_received (MgReceiver *self)
{
  return __atomic_load_n (&self->n_received, __ATOMIC_RELAXED);
}

guint64
mg_receiver_n_connections (MgReceiver *self)
{
  return __atomic_load_n (&self->n_connections, __ATOMIC_RELAXED);
}
