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
 * TLS: OpenSSL runs on the connection's descriptor
 * (mg-tls.c).  After the 220 to STARTTLS, whatever the client pipelined
 * behind the command is discarded, never executed over TLS
 * (CVE-2011-0411); implicit-TLS listeners hand-shake before the greeting.
 * The certificate is reloaded when tls.cert / tls.key or the files change.
 *
 * AUTH: a line that may check a password (PBKDF2 takes a while on
 * purpose) is handed with its session to a small thread pool while the
 * connection waits, so one login never stalls the other sessions; the
 * trace shows "AUTH MECH ****" and never the credentials.  Failed logins
 * are counted per client address; each 535 is
 * held back for auth.failure_delay doubled per earlier failure, and a client
 * past auth.max_failures is refused AUTH (421) for AUTH_FAILURE_WINDOW_S.
 *
 * SPF (R-1.7, receiver.spf): a MAIL line that needs an SPF check runs on
 * the same pool, where check_host() (mg-spf.c) asks libunbound
 * (mg-resolver.c, honouring dns.forwarder) with blocking lookups; the
 * receiver thread never waits for DNS.
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

#include <glib/gstdio.h>

#include "mg-log.h"
#include "mg-proxy-protocol.h"
#include "mg-receiver.h"
#include "mg-resolver.h"
#include "mg-smtp-session.h"
#include "mg-tls.h"
#include "mg-trace.h"

#define MAX_COMMAND_LINE   1000          /* octets before CRLF; longer: 500 5.5.2 */
#define READ_CHUNK         (64 * 1024)
#define MAX_OUT_PENDING    (256 * 1024)  /* stop reading while this much is unsent */
#define LISTEN_BACKLOG     1024
#define RESOLVE_TIMEOUT_S  10
#define DIRECT_COMMIT_SLOW_US  (5 * 1000) /* a slower direct commit: none for a second */
#define AUTH_FAILURE_WINDOW_S  (15 * 60)   /* failed logins are forgotten after this */
#define AUTH_MAX_DELAY_S       30          /* cap of the growing delay (unless the base is higher) */
#define AUTH_MAX_CLIENTS       65536       /* bound of the failure table */
#define AUTH_THREADS           4           /* password checks (and SPF checks) at once */
#define SPF_TIMEOUT_S          20          /* all DNS lookups of one SPF check */

/* ---- listener sets ---------------------------------------------------- */

typedef struct
{
  char    *address;   /* spec address: "*", "127.0.0.1", "::1" */
  guint16  port;      /* spec port (0 = any) */
  gboolean tls;       /* implicit TLS */
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

      /* the TLS flag may change: it belongs to the new Listener, not the socket */
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
      listener->tls = spec->tls;
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
  gint64                direct_off_until;   /* no direct commits before (monotonic µs) */
  gboolean              stopping;
  MgTlsServer          *tls;            /* nullable: no certificate configured / loadable */
  char                 *tls_failed;     /* "cert\nkey" whose loading failed last (warn once) */
  GHashTable           *auth_failures;  /* client IP -> AuthFailures* (failures_lock) */
  GMutex                failures_lock;  /* auth_failures is read by the auth threads */
  GThreadPool          *auth_pool;      /* AuthJob*: lines that may check a password / SPF */
  GMutex                spf_lock;       /* guards spf_resolver (the pool's threads) */
  MgResolver           *spf_resolver;   /* nullable: made on first SPF check */

  /* any thread (atomics): */
  guint                 n_sessions;
  guint64               n_received;
  guint64               n_connections;
  gboolean              running;

  /* metrics (R-4.4; issue 7 item 9), guarded by metrics_lock */
  GMutex                metrics_lock;
  GHashTable           *rejections;     /* "550 5.1.1" -> guint64* */
  guint64               commit_count;
  guint64               commit_sum_us;
  guint64               commit_max_us;
};

typedef struct
{
  guint   count;
  gint64  last;       /* monotonic µs of the last failure */
} AuthFailures;

typedef enum
{
  CONN_PROXY,         /* waiting for the PROXY header of a trusted load balancer */
  CONN_RESOLVING,     /* waiting for the client's verified host name */
  CONN_HANDSHAKE,     /* TLS handshake (implicit TLS or after STARTTLS) */
  CONN_TLS_START,     /* 220 to STARTTLS being flushed; input discarded */
  CONN_AUTH_DELAY,    /* a 535 held back */
  CONN_AUTH_CHECK,    /* an auth thread runs the session on one line */
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
  GSource         *delay_source;
  GCancellable    *cancellable;
  SSL             *ssl;             /* nullable: plain text */
  MgTlsServer     *tls;             /* the context @ssl came from */
  gboolean         implicit_tls;
  gboolean         proxy_tls;       /* implicit TLS follows the PROXY header */
  GSource         *proxy_retry;     /* a partial PROXY header: look again soon */
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
  gint64           commit_started;  /* monotonic µs, for the commit latency */
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
static void conn_auth_failed  (Conn *conn);
static void conn_begin_session (Conn *conn);
static void conn_start_resolve (Conn *conn);
static gboolean needs_host_name (MgConfig *config);

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
  g_clear_pointer (&conn->ssl, SSL_free);
  g_clear_pointer (&conn->tls, mg_tls_server_unref);
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

/* Receive into @buffer: plain or through TLS.  Returns >0 bytes, 0 when
 * the peer closed, -1 on error (@error set), or -2 when nothing is there
 * yet (would block). */
static gssize
conn_receive (Conn    *conn,
              char    *buffer,
              gsize    len,
              GError **error)
{
  g_autofree char *tls_error = NULL;
  gssize n;
  gsize got = 0;

  if (conn->ssl == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      n = g_socket_receive (conn->socket, buffer, len, NULL, &local_error);
      if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return -2;
      if (n < 0)
        g_propagate_error (error, g_steal_pointer (&local_error));
      return n;
    }

  switch (mg_tls_read (conn->ssl, buffer, len, &got, &tls_error))
    {
    case MG_TLS_IO_OK:
      return (gssize) got;
    case MG_TLS_IO_WANT_READ:
    case MG_TLS_IO_WANT_WRITE:
      return -2;
    case MG_TLS_IO_CLOSED:
      return 0;
    case MG_TLS_IO_ERROR:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS: %s", tls_error);
      return -1;
    }
}

/* Send: plain or through TLS.  Returns bytes sent, -2 would block, -1 error. */
static gssize
conn_send (Conn        *conn,
           const char  *data,
           gsize        len,
           GError     **error)
{
  g_autofree char *tls_error = NULL;
  gsize done = 0;

  if (conn->ssl == NULL)
    {
      g_autoptr(GError) local_error = NULL;
      gssize n = g_socket_send (conn->socket, data, len, NULL, &local_error);

      if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return -2;
      if (n < 0)
        g_propagate_error (error, g_steal_pointer (&local_error));
      return n;
    }

  switch (mg_tls_write (conn->ssl, data, len, &done, &tls_error))
    {
    case MG_TLS_IO_OK:
      return (gssize) done;
    case MG_TLS_IO_WANT_READ:
    case MG_TLS_IO_WANT_WRITE:
      return -2;
    case MG_TLS_IO_CLOSED:
    case MG_TLS_IO_ERROR:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS: %s",
                   tls_error != NULL ? tls_error : "connection closed");
      return -1;
    }
}

/* A one-line farewell on a connection we drop (TLS-aware). */
static void
conn_send_best_effort (Conn       *conn,
                       const char *text)
{
  if (conn->ssl == NULL || SSL_is_init_finished (conn->ssl))
    conn_send (conn, text, strlen (text), NULL);
}

static void conn_handshake (Conn *conn);

static void conn_read_proxy_header (Conn *conn);

static gboolean
on_conn_readable_cb (GSocket      *socket,
                     GIOCondition  condition,
                     gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;
  guint old_len = conn->in->len;

  if (conn->state == CONN_HANDSHAKE)
    {
      conn_ref (conn);
      conn_handshake (conn);
      conn_unref (conn);
      return G_SOURCE_CONTINUE;
    }
  if (conn->state == CONN_PROXY)
    {
      conn_ref (conn);
      conn_read_proxy_header (conn);
      conn_unref (conn);
      return G_SOURCE_CONTINUE;
    }

  g_byte_array_set_size (conn->in, old_len + READ_CHUNK);
  n = conn_receive (conn, (char *) conn->in->data + old_len, READ_CHUNK, &error);
  g_byte_array_set_size (conn->in, old_len + MAX (n, 0));

  if (n == -2)
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
  /* a TLS record may hold more than we took: OpenSSL has it, not the socket */
  while (conn->ssl != NULL && SSL_pending (conn->ssl) > 0 && conn->read_source != NULL &&
         (conn->state == CONN_COMMANDS || conn->state == CONN_DATA))
    {
      old_len = conn->in->len;
      g_byte_array_set_size (conn->in, old_len + READ_CHUNK);
      n = conn_receive (conn, (char *) conn->in->data + old_len, READ_CHUNK, NULL);
      g_byte_array_set_size (conn->in, old_len + MAX (n, 0));
      if (n <= 0)
        break;
      conn_process (conn);
    }
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
  if (conn->state == CONN_HANDSHAKE)
    conn_handshake (conn);
  else
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
  /* Nothing iterates the context from inside a callback, so the source
   * need not be blocked while it is dispatched; GLib 2.74 blocks by
   * removing and re-adding the fd, which wakes the context through its
   * eventfd twice per dispatch (bench/README.md, "wake-ups"). */
  g_source_set_can_recurse (source, TRUE);
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
 * replies: pipelined floods cannot grow our buffers without bound.
 * While its message is committed, a connection goes on reading up to one
 * chunk of what the client pipelines after the end of DATA (kept for
 * later): dropping and re-adding the read source for every message cost
 * two wake-ups of the receiver's own context (GLib signals its eventfd on
 * every change of the poll set). */
static void
conn_update_read (Conn *conn)
{
  gboolean want = (conn->state == CONN_COMMANDS || conn->state == CONN_DATA ||
                   conn->state == CONN_HANDSHAKE || conn->state == CONN_PROXY ||
                   (conn->state == CONN_COMMIT && conn->in->len < READ_CHUNK)) &&
                  conn->out->len - conn->out_pos < MAX_OUT_PENDING;

  if (want && conn->read_source == NULL)
    attach_socket_source (conn, &conn->read_source, G_IO_IN, on_conn_readable_cb);
  else if (!want && conn->read_source != NULL)
    detach_source (&conn->read_source);
}

static void conn_start_tls (Conn *conn);

static void
conn_flush (Conn *conn)
{
  if (conn->state == CONN_CLOSED)
    return;
  if (conn->state == CONN_AUTH_DELAY)
    {
      /* the 535 waits for its delay; the timer flushes it */
      detach_source (&conn->write_source);
      conn_update_read (conn);
      return;
    }

  while (conn->out_pos < conn->out->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = conn_send (conn, conn->out->str + conn->out_pos,
                            conn->out->len - conn->out_pos, &error);

      if (n == -2)
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
  if (conn->state == CONN_TLS_START)
    {
      conn_start_tls (conn);
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

  detach_source (&conn->proxy_retry);
  detach_source (&conn->read_source);
  detach_source (&conn->write_source);
  detach_source (&conn->resolve_timeout);
  detach_source (&conn->delay_source);
  g_cancellable_cancel (conn->cancellable);
  if (conn->ssl != NULL && SSL_is_init_finished (conn->ssl))
    SSL_shutdown (conn->ssl);   /* close_notify, best effort: a clean end for the client */
  g_socket_close (conn->socket, NULL);
  MG_TRACE (conn->tag, "connection closed");

  conn->state = CONN_CLOSED;
  self->conns = g_list_delete_link (self->conns, conn->link);
  conn->link = NULL;
  g_atomic_int_add (&self->n_sessions, -1);
  conn_unref (conn);   /* the list's reference */
}

/* ---- TLS (R-1.1, R-1.2) --------------------------------------------------- */

/* "path inode size mtime" of both files: what a failed load is remembered by. */
static char *
describe_tls_files (const char *cert,
                    const char *key)
{
  GStatBuf a = { 0 }, b = { 0 };

  g_stat (cert, &a);
  g_stat (key, &b);
  return g_strdup_printf ("%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n"
                          "%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
                          cert, (guint64) a.st_ino, (gint64) a.st_size, (gint64) a.st_mtime,
                          key, (guint64) b.st_ino, (gint64) b.st_size, (gint64) b.st_mtime);
}

/* Keep the server context in step with tls.cert / tls.key and the files:
 * a changed file is loaded again; a failed load keeps the previous
 * certificate for the same files and is reported once. */
static void
receiver_refresh_tls (MgReceiver *self,
                      MgConfig   *config)
{
  const char *cert = mg_config_get_string (config, "tls.cert");
  const char *key = mg_config_get_string (config, "tls.key");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  MgTlsServer *loaded;

  if (*cert == '\0' || *key == '\0')
    {
      if (self->tls != NULL)
        MG_TRACE ("receiver", "TLS off: tls.cert / tls.key not set");
      g_clear_pointer (&self->tls, mg_tls_server_unref);
      return;
    }
  if (self->tls != NULL && !mg_tls_server_is_stale (self->tls, cert, key))
    return;

  /* files that failed to load are tried again only once they change */
  id = describe_tls_files (cert, key);
  if (g_strcmp0 (self->tls_failed, id) == 0)
    return;
  loaded = mg_tls_server_new (cert, key, &error);
  if (loaded == NULL)
    {
      g_warning ("TLS: %s", error->message);
      MG_TRACE ("receiver", "TLS certificate not loaded: %s", error->message);
      g_free (self->tls_failed);
      self->tls_failed = g_steal_pointer (&id);
      return;
    }
  MG_TRACE ("receiver", "TLS certificate loaded from %s", cert);
  g_clear_pointer (&self->tls_failed, g_free);
  g_clear_pointer (&self->tls, mg_tls_server_unref);
  self->tls = loaded;
}

static void
conn_handshake_done (Conn *conn)
{
  g_autofree char *description = mg_tls_describe (conn->ssl);

  conn->last_activity = g_get_monotonic_time ();
  detach_source (&conn->write_source);
  if (conn->implicit_tls)
    {
      MG_TRACE (conn->tag, "TLS established: %s", description);
      if (conn->client != NULL && needs_host_name (conn->config))
        {
          detach_source (&conn->read_source);
          conn_start_resolve (conn);
        }
      else
        conn_begin_session (conn);
      return;
    }
  mg_smtp_session_tls_started (conn->session, description);
  conn->state = CONN_COMMANDS;
  conn_process (conn);
}

static void
conn_handshake (Conn *conn)
{
  g_autofree char *error = NULL;

  switch (mg_tls_handshake (conn->ssl, &error))
    {
    case MG_TLS_IO_OK:
      conn_handshake_done (conn);
      return;
    case MG_TLS_IO_WANT_READ:
      detach_source (&conn->write_source);
      conn_update_read (conn);
      return;
    case MG_TLS_IO_WANT_WRITE:
      if (conn->write_source == NULL)
        attach_socket_source (conn, &conn->write_source, G_IO_OUT, on_conn_writable_cb);
      return;
    case MG_TLS_IO_CLOSED:
    case MG_TLS_IO_ERROR:
    default:
      MG_TRACE (conn->tag, "TLS handshake failed: %s", error != NULL ? error : "connection closed");
      conn_close (conn);
      return;
    }
}

/* The 220 to STARTTLS is out (or the connection is on an implicit-TLS
 * listener): attach OpenSSL to the socket and shake hands. */
static void
conn_start_tls (Conn *conn)
{
  MgReceiver *self = conn->receiver;

  g_byte_array_set_size (conn->in, 0);   /* CVE-2011-0411 */
  if (self->tls == NULL)
    {
      MG_TRACE (conn->tag, "TLS unavailable: no certificate loaded");
      conn_close (conn);
      return;
    }
  conn->tls = mg_tls_server_ref (self->tls);
  conn->ssl = mg_tls_server_new_ssl (conn->tls, g_socket_get_fd (conn->socket));
  if (conn->ssl == NULL)
    {
      MG_TRACE (conn->tag, "TLS unavailable: cannot create a TLS connection");
      conn_close (conn);
      return;
    }
  conn->state = CONN_HANDSHAKE;
  conn_handshake (conn);
}

/* ---- failed logins (R-2.5) -------------------------------------------- */

/* Failed logins are counted per IPv4 address and per IPv6 /64 (one
 * client usually holds a whole /64 and could rotate through it). */
static char *
conn_client_key (Conn *conn)
{
  static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  g_autoptr(GInetAddress) prefix = NULL;
  g_autofree char *text = NULL;
  guint8 bytes[16];

  if (conn->client == NULL)
    return g_strdup ("?");
  if (g_inet_address_get_family (conn->client) != G_SOCKET_FAMILY_IPV6 ||
      memcmp (g_inet_address_to_bytes (conn->client), v4_mapped, sizeof v4_mapped) == 0)
    return g_inet_address_to_string (conn->client);

  memcpy (bytes, g_inet_address_to_bytes (conn->client), sizeof bytes);
  memset (bytes + 8, 0, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (prefix);
  return g_strconcat (text, "/64", NULL);
}

/* Called with failures_lock held. */
static AuthFailures *
lookup_failures (MgReceiver *self,
                 const char *key)
{
  AuthFailures *entry = g_hash_table_lookup (self->auth_failures, key);

  if (entry != NULL &&
      g_get_monotonic_time () - entry->last > (gint64) AUTH_FAILURE_WINDOW_S * G_USEC_PER_SEC)
    {
      g_hash_table_remove (self->auth_failures, key);
      return NULL;
    }
  return entry;
}

/* MgSmtpAuthFailuresFunc for the session */
static guint
auth_failures_cb (gpointer user_data)
{
  Conn *conn = user_data;
  g_autofree char *key = conn_client_key (conn);
  AuthFailures *entry;
  guint count;

  g_mutex_lock (&conn->receiver->failures_lock);
  entry = lookup_failures (conn->receiver, key);
  count = entry != NULL ? entry->count : 0;
  g_mutex_unlock (&conn->receiver->failures_lock);
  return count;
}

/* ---- SPF (R-1.7) ------------------------------------------------------- */

/* The SPF resolver for dns.forwarder of @config (made again when it
 * changed).  Any thread.  Returns a reference, or NULL with @error. */
static MgResolver *
spf_resolver (MgReceiver  *self,
              MgConfig    *config,
              GError     **error)
{
  const char *forwarder = mg_config_get_string (config, "dns.forwarder");
  MgResolver *resolver = NULL;

  g_mutex_lock (&self->spf_lock);
  if (self->spf_resolver != NULL &&
      !g_str_equal (mg_resolver_get_forwarder (self->spf_resolver), forwarder))
    g_clear_pointer (&self->spf_resolver, mg_resolver_unref);
  if (self->spf_resolver == NULL)
    self->spf_resolver = mg_resolver_new (forwarder, error);
  if (self->spf_resolver != NULL)
    resolver = mg_resolver_ref (self->spf_resolver);
  g_mutex_unlock (&self->spf_lock);
  return resolver;
}

typedef struct
{
  MgResolver *resolver;
  gint64      deadline;   /* monotonic µs: the whole check's budget */
} SpfLookup;

/* MgSpfLookupFunc on libunbound: blocking, in a pool thread. */
static MgSpfLookupStatus
spf_lookup_cb (const char   *name,
               MgSpfDnsType  type,
               GPtrArray    *answers,
               gpointer      user_data)
{
  static const guint16 rr_types[] = { 16, 1, 28, 15 };   /* TXT A AAAA MX */
  SpfLookup *lookup = user_data;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  gboolean nxdomain = FALSE;
  gint64 left = lookup->deadline - g_get_monotonic_time ();

  if (left <= 0)
    return MG_SPF_LOOKUP_ERROR;   /* out of time: temperror */
  records = mg_resolver_lookup_records (lookup->resolver, name, rr_types[type],
                                        (guint) CLAMP ((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC,
                                                       1, RESOLVE_TIMEOUT_S),
                                        &nxdomain, &error);
  if (records == NULL)
    return MG_SPF_LOOKUP_ERROR;
  for (guint i = 0; i < records->len; i++)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (records, i), &len);
      char *text = NULL;
      guint preference = 0;

      switch (type)
        {
        case MG_SPF_DNS_TXT:
          text = mg_resolver_parse_txt_rdata (data, len);
          break;
        case MG_SPF_DNS_A:
        case MG_SPF_DNS_AAAA:
          if (len == (type == MG_SPF_DNS_A ? 4u : 16u))
            {
              g_autoptr(GInetAddress) address =
                g_inet_address_new_from_bytes (data, type == MG_SPF_DNS_A ? G_SOCKET_FAMILY_IPV4
                                                                          : G_SOCKET_FAMILY_IPV6);
              text = g_inet_address_to_string (address);
            }
          break;
        case MG_SPF_DNS_MX:
          if (mg_resolver_parse_mx_rdata (data, len, &preference, &text) && *text == '\0')
            g_clear_pointer (&text, g_free);   /* null MX: no host */
          break;
        default:
          break;
        }
      if (text != NULL)
        g_ptr_array_add (answers, text);
    }
  return nxdomain ? MG_SPF_LOOKUP_NXDOMAIN : MG_SPF_LOOKUP_OK;
}

/* MgSmtpSpfFunc: in a pool thread (the session asks from handle_line()). */
static MgSpfResult
spf_check_cb (GInetAddress  *client,
              const char    *domain,
              const char    *sender,
              const char    *helo,
              char         **mechanism,
              gpointer       user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MgResolver) resolver = spf_resolver (conn->receiver, conn->config, &error);
  SpfLookup lookup = { 0 };

  if (resolver == NULL)
    {
      *mechanism = g_strdup_printf ("no resolver: %s", error->message);
      return MG_SPF_TEMPERROR;
    }
  lookup.resolver = resolver;
  lookup.deadline = g_get_monotonic_time () + (gint64) SPF_TIMEOUT_S * G_USEC_PER_SEC;
  return mg_spf_check_host (client, domain, sender, helo, spf_lookup_cb, &lookup, mechanism);
}

/* Called with failures_lock held. */
static void
prune_failures (MgReceiver *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();

  g_hash_table_iter_init (&iter, self->auth_failures);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AuthFailures *entry = value;

      if (now - entry->last > (gint64) AUTH_FAILURE_WINDOW_S * G_USEC_PER_SEC)
        g_hash_table_iter_remove (&iter);
    }
  if (g_hash_table_size (self->auth_failures) > AUTH_MAX_CLIENTS)
    {
      MG_TRACE ("receiver", "failed-login table full: forgetting %u clients",
                g_hash_table_size (self->auth_failures));
      g_hash_table_remove_all (self->auth_failures);
    }
}

static gboolean
on_auth_delay_done_cb (gpointer user_data)
{
  Conn *conn = user_data;

  g_clear_pointer (&conn->delay_source, g_source_unref);
  conn->state = CONN_COMMANDS;
  conn_ref (conn);
  conn_process (conn);
  conn_unref (conn);
  return G_SOURCE_REMOVE;
}

/* A 535 is in conn->out: count the failure, hold the reply back. */
static void
conn_auth_failed (Conn *conn)
{
  MgReceiver *self = conn->receiver;
  g_autofree char *key = conn_client_key (conn);
  AuthFailures *entry;
  gint64 base = mg_config_get_int (conn->config, "auth.failure_delay");
  gint64 max_failures = mg_config_get_int (conn->config, "auth.max_failures");
  gint64 delay_ms;
  guint count;

  g_mutex_lock (&self->failures_lock);
  entry = lookup_failures (self, key);
  if (entry == NULL)
    {
      if (g_hash_table_size (self->auth_failures) >= AUTH_MAX_CLIENTS)
        prune_failures (self);
      entry = g_new0 (AuthFailures, 1);
      g_hash_table_insert (self->auth_failures, g_strdup (key), entry);
    }
  count = ++entry->count;
  entry->last = g_get_monotonic_time ();
  g_mutex_unlock (&self->failures_lock);

  delay_ms = base * 1000 << MIN (count - 1, 10);
  delay_ms = MIN (delay_ms, MAX (base, AUTH_MAX_DELAY_S) * 1000);
  MG_TRACE (conn->tag, "failed login %u from %s: reply delayed %" G_GINT64_FORMAT " ms",
            count, key, delay_ms);
  if ((gint64) count == max_failures)
    MG_TRACE (conn->tag, "client %s throttled: %u failed logins, AUTH refused for %d s",
              key, count, AUTH_FAILURE_WINDOW_S);

  conn->state = CONN_AUTH_DELAY;
  conn->delay_source = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (conn->delay_source, on_auth_delay_done_cb, conn, NULL);
  g_source_attach (conn->delay_source, self->context);
}

/* ---- feeding the session ---------------------------------------------- */

/* Counts the refusals among the reply lines appended from @from on, by
 * code and enhanced status ("550 5.1.1"): the "rejected by reason" metric. */
static void
count_rejections (MgReceiver *self,
                  const char *replies,
                  gsize       len)
{
  const char *p = replies;
  const char *end = replies + len;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      gsize line_len = (eol != NULL ? eol : end) - p;

      /* final line of a reply ("DDD "), 4xx or 5xx */
      if (line_len >= 4 && (p[0] == '4' || p[0] == '5') && p[3] == ' ')
        {
          const char *space = line_len > 4 ? memchr (p + 4, ' ', line_len - 4) : NULL;
          gsize key_len = space != NULL && p[4] == p[0] ? (gsize) (space - p) : 3;
          g_autofree char *key = g_strndup (p, key_len);
          guint64 *count;

          g_mutex_lock (&self->metrics_lock);
          count = g_hash_table_lookup (self->rejections, key);
          if (count == NULL)
            {
              count = g_new0 (guint64, 1);
              g_hash_table_insert (self->rejections, g_steal_pointer (&key), count);
            }
          (*count)++;
          g_mutex_unlock (&self->metrics_lock);
        }
      p = eol != NULL ? eol + 1 : end;
    }
}

static void
trace_replies (Conn  *conn,
               gsize  from)
{
  if (conn->out->len <= from)
    return;
  count_rejections (conn->receiver, conn->out->str + from, conn->out->len - from);
  if (mg_trace_active ())
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

  if (conn->commit_started > 0)
    {
      guint64 us = (guint64) (g_get_monotonic_time () - conn->commit_started);

      g_mutex_lock (&self->metrics_lock);
      self->commit_count++;
      self->commit_sum_us += us;
      self->commit_max_us = MAX (self->commit_max_us, us);
      g_mutex_unlock (&self->metrics_lock);
      conn->commit_started = 0;
    }

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

  MgReceiver *self = conn->receiver;
  gint64 now = g_get_monotonic_time ();

  conn->state = CONN_COMMIT;
  conn->commit_started = now;
  self->n_pending_commits++;

  /* The only session: nobody else waits for this thread, so commit here
   * rather than wake the committer and be woken by it (bench/README.md,
   * C=1).  Not while a commit has lately been slow (a stalling disk must
   * not hold up the accepting of new connections). */
  if (g_atomic_int_get (&self->n_sessions) == 1 && now >= self->direct_off_until)
    {
      conn_ref (conn);   /* the callback's reference */
      if (mg_queue_submit_direct (self->queue, msg, self->context, on_commit_done_cb, conn))
        {
          if (g_get_monotonic_time () - now > DIRECT_COMMIT_SLOW_US)
            self->direct_off_until = g_get_monotonic_time () + G_USEC_PER_SEC;
          return;
        }
      conn_unref (conn);
    }
  mg_queue_submit (self->queue, msg, self->context,
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
      conn->state = CONN_TLS_START;
      return FALSE;
    case MG_SMTP_ACTION_AUTH_FAILED:
      conn_auth_failed (conn);
      return FALSE;
    case MG_SMTP_ACTION_CLOSE:
      conn->state = CONN_CLOSING;
      return FALSE;
    default:
      g_assert_not_reached ();
    }
}

/* ---- password checks off the receiver thread (R-2.5) ------------------- */

typedef struct
{
  Conn         *conn;      /* a reference */
  char         *line;
  gsize         len;
  gboolean      crlf;
  GString      *replies;
  MgSmtpAction  action;
} AuthJob;

static void
auth_job_free (AuthJob *job)
{
  memset (job->line, 0, job->len);
  g_free (job->line);
  g_string_free (job->replies, TRUE);
  conn_unref (job->conn);
  g_free (job);
}

static gboolean
is_auth_command (const char *line,
                 gsize       len)
{
  return len >= 5 && g_ascii_strncasecmp (line, "AUTH ", 5) == 0;
}

/* Credentials never reach the trace: "AUTH PLAIN ****", "****". */
static void
trace_auth_line (Conn       *conn,
                 const char *line,
                 gsize       len)
{
  g_autofree char *shown = NULL;
  const char *mech_end;

  if (!mg_trace_active ())
    return;
  if (!is_auth_command (line, len))
    {
      mg_trace_protocol (conn->tag, "RECV <-", "****", 4);
      return;
    }
  mech_end = memchr (line + 5, ' ', len - 5);
  shown = mech_end != NULL
    ? g_strdup_printf ("%.*s ****", (int) (mech_end - line), line)
    : g_strndup (line, MIN (len, 64));
  mg_trace_protocol (conn->tag, "RECV <-", shown, strlen (shown));
}

static gboolean
on_auth_job_done_cb (gpointer user_data)
{
  AuthJob *job = user_data;
  Conn *conn = job->conn;

  if (conn->state == CONN_AUTH_CHECK)
    {
      gsize before = conn->out->len;

      g_string_append_len (conn->out, job->replies->str, job->replies->len);
      trace_replies (conn, before);
      conn->state = CONN_COMMANDS;
      conn->last_activity = g_get_monotonic_time ();
      apply_action (conn, job->action);
      conn_process (conn);
    }
  auth_job_free (job);
  return G_SOURCE_REMOVE;
}

/* In an auth thread: the session is ours until the result is back. */
static void
run_auth_job (gpointer data,
              gpointer user_data)
{
  AuthJob *job = data;
  MgReceiver *self = user_data;

  job->action = mg_smtp_session_handle_line (job->conn->session, job->line, job->len,
                                             job->crlf, FALSE, job->replies);
  g_main_context_invoke (self->context, on_auth_job_done_cb, job);
}

static void
start_auth_job (Conn       *conn,
                const char *line,
                gsize       len,
                gboolean    crlf)
{
  AuthJob *job = g_new0 (AuthJob, 1);

  job->conn = conn_ref (conn);
  job->line = g_strndup (line, len);
  job->len = len;
  job->crlf = crlf;
  job->replies = g_string_new (NULL);
  conn->state = CONN_AUTH_CHECK;
  g_thread_pool_push (conn->receiver->auth_pool, job, NULL);
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

  if (mg_smtp_session_in_auth (conn->session) || is_auth_command (start, line_len))
    {
      trace_auth_line (conn, start, line_len);
      if (line_len <= MAX_COMMAND_LINE)
        {
          start_auth_job (conn, start, line_len, crlf);
          *keep_going = FALSE;
          return lf - start + 1;
        }
    }
  else
    {
      if (mg_trace_active ())
        mg_trace_protocol (conn->tag, "RECV <-", start, line_len);
      /* a MAIL that needs an SPF check waits for DNS: off this thread */
      if (line_len <= MAX_COMMAND_LINE &&
          mg_smtp_session_line_may_block (conn->session, start, line_len))
        {
          start_auth_job (conn, start, line_len, crlf);
          *keep_going = FALSE;
          return lf - start + 1;
        }
    }

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

  if (conn->state == CONN_TLS_START && conn->in->len > 0)
    {
      /* CVE-2011-0411: nothing sent before the handshake is executed after it */
      MG_TRACE (conn->tag, "discarding %u octets pipelined after STARTTLS", conn->in->len);
      g_byte_array_set_size (conn->in, 0);
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
  info.tls_active = conn->ssl != NULL;
  info.tls_available = conn->ssl != NULL || self->tls != NULL;
  info.auth_failures = auth_failures_cb;
  info.auth_failures_data = conn;
  info.spf_check = spf_check_cb;
  info.spf_check_data = conn;

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
  /* the reverse DNS check needs the verified name */
  if (mg_config_get_bool (config, "receiver.require_reverse_dns"))
    return TRUE;

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

/* After the client's address is known (directly or from a PROXY header). */
static void
conn_continue_accept (Conn     *conn,
                      gboolean  implicit_tls)
{
  if (implicit_tls)
    {
      conn->implicit_tls = TRUE;
      conn_start_tls (conn);
    }
  else if (conn->client != NULL && needs_host_name (conn->config))
    conn_start_resolve (conn);
  else
    conn_begin_session (conn);
}

/* receiver.proxy_trusted: load balancers whose PROXY header is believed. */
static gboolean
from_trusted_proxy (MgConfig     *config,
                    GInetAddress *client)
{
  const char *list = mg_config_get_string (config, "receiver.proxy_trusted");
  g_auto(GStrv) patterns = NULL;

  if (list == NULL || *list == '\0')
    return FALSE;
  patterns = g_strsplit (list, ",", -1);
  for (guint i = 0; patterns[i] != NULL; i++)
    {
      g_autoptr(GInetAddressMask) mask = NULL;
      MgRelayPatternKind kind;

      if (mg_relay_rule_parse (g_strstrip (patterns[i]), NULL, &kind, &mask) &&
          mask != NULL && g_inet_address_mask_matches (mask, client))
        return TRUE;
    }
  return FALSE;
}

static gboolean
on_proxy_retry_cb (gpointer user_data)
{
  Conn *conn = user_data;

  g_clear_pointer (&conn->proxy_retry, g_source_unref);
  conn_update_read (conn);
  return G_SOURCE_REMOVE;
}

/* Read the PROXY header without taking a byte more (MSG_PEEK, then exactly
 * its length), so a TLS ClientHello after it stays for OpenSSL. */
static void
conn_read_proxy_header (Conn *conn)
{
  guint8 buf[16 + 536];
  MgProxyHeader header = { 0 };
  const char *why = NULL;
  gssize n = recv (g_socket_get_fd (conn->socket), buf, sizeof buf, MSG_PEEK);
  g_autofree char *proxy_ip = NULL;
  g_autofree char *real_ip = NULL;

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0)
    {
      MG_TRACE (conn->tag, "proxy closed the connection before its PROXY header");
      conn_close (conn);
      return;
    }

  switch (mg_proxy_parse (buf, (gsize) n, &header, &why))
    {
    case MG_PROXY_NEED_MORE:
      if ((gsize) n == sizeof buf)
        break;
      /* peeked bytes stay readable: do not spin, look again in 10 ms */
      detach_source (&conn->read_source);
      conn->proxy_retry = g_timeout_source_new (10);
      g_source_set_callback (conn->proxy_retry, on_proxy_retry_cb, conn, NULL);
      g_source_attach (conn->proxy_retry, conn->receiver->context);
      return;
    case MG_PROXY_OK:
      if (recv (g_socket_get_fd (conn->socket), buf, header.length, 0) != (gssize) header.length)
        break;
      proxy_ip = g_inet_address_to_string (conn->client);
      if (!header.local)
        {
          g_set_object (&conn->client, header.source);
          conn->client_port = header.source_port;
        }
      real_ip = g_inet_address_to_string (conn->client);
      MG_TRACE (conn->tag, "PROXY v%u: client [%s] port %u (via load balancer %s)",
                header.version, real_ip, conn->client_port, proxy_ip);
      mg_log_event (MG_LOG_ACCEPT, NULL, "client", real_ip, "via", proxy_ip,
                    "status", "proxied", "session", conn->tag, NULL);
      mg_proxy_header_clear (&header);
      conn->state = CONN_RESOLVING;   /* not reading until the session begins */
      conn_update_read (conn);
      conn_continue_accept (conn, conn->proxy_tls);
      return;
    case MG_PROXY_INVALID:
    default:
      break;
    }

  /* the spec forbids falling back to reading SMTP from such a connection */
  mg_proxy_header_clear (&header);
  MG_TRACE (conn->tag, "no valid PROXY header from trusted load balancer: %s; closing",
            why != NULL ? why : "too long or unreadable");
  conn_close (conn);
}

static void
accept_one (MgReceiver *self,
            GSocket    *client_socket,
            gboolean    implicit_tls)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (client_socket, NULL);
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (client_socket, NULL);
  g_autoptr(MgConfig) config = receiver_get_config (self);
  gint64 limit = mg_config_get_int (config, "receiver.accept_limit");
  Conn *conn;

  counter_inc (&self->n_connections);
  receiver_refresh_tls (self, config);

  if (implicit_tls && self->tls == NULL)
    {
      /* no certificate, no implicit TLS: nothing sensible to say */
      MG_TRACE ("receiver", "implicit-TLS connection refused: no certificate loaded");
      log_accept (remote, local, "refused", "no TLS certificate");
      g_socket_close (client_socket, NULL);
      return;
    }

  if (limit > 0 && g_atomic_int_get (&self->n_sessions) >= limit)
    {
      g_autofree char *text = g_strdup_printf ("421 4.7.0 %s Error: too many connections, try again later\r\n",
                                               our_hostname (config));

      /* accept limit -> 421 and close */
      MG_TRACE ("receiver", "accept limit %" G_GINT64_FORMAT " reached: 421 to new client", limit);
      log_accept (remote, local, "refused", "accept limit");
      count_rejections (self, text, strlen (text));
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

  if (conn->client != NULL && from_trusted_proxy (conn->config, conn->client))
    {
      /* scale-out: the real client comes in a PROXY header first */
      conn->state = CONN_PROXY;
      conn->proxy_tls = implicit_tls;
      conn_update_read (conn);
      return;
    }
  conn_continue_accept (conn, implicit_tls);
}

static gboolean
on_listener_readable_cb (GSocket      *socket,
                         GIOCondition  condition,
                         gpointer      user_data)
{
  MgReceiver *self = user_data;
  gboolean implicit_tls = FALSE;

  for (guint i = 0; self->set != NULL && i < self->set->listeners->len; i++)
    {
      Listener *l = g_ptr_array_index (self->set->listeners, i);

      if (l->socket == socket)
        implicit_tls = l->tls;
    }

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
      accept_one (self, client, implicit_tls);
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

  receiver_refresh_tls (self, config);
  if (now / G_USEC_PER_SEC % 60 == 0)
    {
      g_mutex_lock (&self->failures_lock);
      prune_failures (self);
      g_mutex_unlock (&self->failures_lock);
    }

  while (l != NULL)
    {
      Conn *conn = l->data;
      gint64 limit = conn->state == CONN_DATA ? data : idle;

      l = l->next;
      if (conn->state == CONN_COMMIT || conn->state == CONN_AUTH_DELAY ||
          conn->state == CONN_AUTH_CHECK || now - conn->last_activity < limit)
        continue;

      MG_TRACE (conn->tag, "timeout after %" G_GINT64_FORMAT " s", limit / G_USEC_PER_SEC);
      if (conn->session != NULL && conn->state != CONN_CLOSING)
        {
          gsize before = conn->out->len;

          mg_smtp_session_timeout (conn->session, conn->out);
          trace_replies (conn, before);
          conn_send_best_effort (conn, conn->out->str + conn->out_pos);
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
  g_autoptr(MgConfig) config = receiver_get_config (self);

  remove_accept_sources (self);
  g_clear_pointer (&self->set, mg_listener_set_free);   /* sockets not taken over close here */
  self->set = set;
  receiver_refresh_tls (self, config);

  for (guint i = 0; i < set->listeners->len; i++)
    {
      Listener *l = g_ptr_array_index (set->listeners, i);
      GSource *source = g_socket_create_source (l->socket, G_IO_IN, NULL);

      g_source_set_callback (source, G_SOURCE_FUNC (on_listener_readable_cb), self, NULL);
      g_source_set_can_recurse (source, TRUE);   /* see attach_socket_source() */
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

      if (conn->session != NULL && conn->state != CONN_CLOSING && conn->state != CONN_COMMIT &&
          conn->state != CONN_AUTH_CHECK)
        {
          gsize before = conn->out->len;

          mg_smtp_session_shutdown (conn->session, conn->out);
          trace_replies (conn, before);
          conn_send_best_effort (conn, conn->out->str + conn->out_pos);
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
  self->auth_failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&self->failures_lock);
  g_mutex_init (&self->spf_lock);
  g_mutex_init (&self->metrics_lock);
  self->rejections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
mg_receiver_free (MgReceiver *self)
{
  if (self == NULL)
    return;
  mg_receiver_stop (self);
  g_ptr_array_unref (self->accept_sources);
  g_clear_pointer (&self->auth_failures, g_hash_table_unref);
  g_mutex_clear (&self->failures_lock);
  g_clear_pointer (&self->spf_resolver, mg_resolver_unref);
  g_mutex_clear (&self->spf_lock);
  g_clear_pointer (&self->tls, mg_tls_server_unref);
  g_clear_pointer (&self->tls_failed, g_free);
  g_clear_pointer (&self->config, mg_config_unref);
  g_clear_pointer (&self->rejections, g_hash_table_unref);
  g_mutex_clear (&self->metrics_lock);
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
      self->auth_pool = g_thread_pool_new (run_auth_job, self, AUTH_THREADS, FALSE, NULL);
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
  /* finish the password checks under way; their results are drained below */
  g_thread_pool_free (g_steal_pointer (&self->auth_pool), FALSE, TRUE);

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

GVariant *
mg_receiver_get_rejections (MgReceiver *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{st}"));
  GHashTableIter iter;
  gpointer key, value;

  g_mutex_lock (&self->metrics_lock);
  g_hash_table_iter_init (&iter, self->rejections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_variant_builder_add (&builder, "{st}", key, *(guint64 *) value);
  g_mutex_unlock (&self->metrics_lock);
  return g_variant_builder_end (&builder);
}

void
mg_receiver_get_commit_latency (MgReceiver *self,
                                guint64    *count,
                                guint64    *sum_us,
                                guint64    *max_us)
{
  g_mutex_lock (&self->metrics_lock);
  *count = self->commit_count;
  *sum_us = self->commit_sum_us;
  *max_us = self->commit_max_us;
  g_mutex_unlock (&self->metrics_lock);
}

/* Receiver thread (or no thread): load the configured certificate again,
 * whether or not the files look changed; keep the old one on failure. */
static void
reload_tls (MgReceiver *self,
            gpointer    data)
{
  g_autoptr(MgConfig) config = receiver_get_config (self);
  const char *cert = mg_config_get_string (config, "tls.cert");
  const char *key = mg_config_get_string (config, "tls.key");
  g_autoptr(GError) error = NULL;
  MgTlsServer *loaded;

  if (*cert == '\0' || *key == '\0')
    return;
  loaded = mg_tls_server_new (cert, key, &error);
  if (loaded == NULL)
    {
      g_warning ("TLS reload: %s (the previous certificate stays)", error->message);
      MG_TRACE ("receiver", "TLS reload failed, previous certificate kept: %s", error->message);
      return;
    }
  g_clear_pointer (&self->tls_failed, g_free);
  g_clear_pointer (&self->tls, mg_tls_server_unref);
  self->tls = loaded;
  g_message ("TLS certificate reloaded from %s", cert);
  MG_TRACE ("receiver", "TLS certificate reloaded from %s", cert);
}

void
mg_receiver_reload_tls (MgReceiver *self)
{
  if (self->thread != NULL)
    run_in_receiver (self, reload_tls, NULL);
  else
    reload_tls (self, NULL);
}
