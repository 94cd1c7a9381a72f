/* mg-delivery.c - the delivery agent: scheduler, workers, connection reuse
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The scheduler (main thread) keeps one Entry per queued message, in
 * arrival order.  dispatch() routes every pending recipient of each due
 * message (mg_route_lookup), groups them by next-hop key and builds Jobs:
 * one next hop + up to delivery.max_messages_per_connection messages, at
 * most delivery.max_per_destination jobs per key and delivery.workers jobs
 * in all (R-3.6); another connection to a busy hop is opened only per
 * MESSAGES_PER_NEW_CONNECTION waiting messages (slow start), so a trickle
 * of mail shares one connection.  Jobs run in a GThreadPool and speak
 * SMTP with blocking I/O bounded by delivery.connect_timeout /
 * delivery.timeout, driving the pure MgSmtpClient; Maildir hops write
 * files (mg-maildir.c).
 *
 * Connection reuse (R-3.6): a job sends all its messages over one
 * connection; afterwards the connection (EHLO done, idle) goes into a small
 * cache per next-hop key, where the next job for that hop takes it.  Idle
 * connections older than IDLE_SECONDS are closed by the 1 s tick.
 *
 * Next hops (R-3.1, R-3.4, R-3.5): MX hops and host names resolve through
 * MgResolver (libunbound; dns.forwarder), MX hosts tried in preference
 * order; a target that is one of our own listeners (set by the daemon with
 * mg_delivery_set_local_addresses) or a message with too many Received:
 * headers fails permanently.  Every connection uses STARTTLS when offered
 * (mg-tls-client.c), a route may require it, and route credentials log in
 * with AUTH PLAIN / LOGIN over TLS only; credentials never reach the trace.
 *
 * Reports (R-3.7): recipients that fail permanently or expire are reported
 * to the envelope sender with an RFC 3464 DSN (mg-dsn.c) queued as a new
 * message from the null sender (so a report is never reported on); the
 * optional delay warning goes once per message and run.  Logs (R-4.3): one
 * sender-log line per recipient and attempt, fail-log lines for permanent
 * failures (mg-log.h).
 *
 * Results travel back through a GAsyncQueue drained on the main context.
 * The scheduler then marks recipients delivered (250) or failed (5xx), and
 * either removes the message (every recipient final) or schedules a retry
 * (R-3.7: retry_interval * 2^(attempts-1), at most 16 * retry_interval;
 * expiry after give_up_error / give_up_no_response), persisting the
 * per-recipient state with mg_queue_update before any retry, so a
 * recipient is never sent twice in one run (R-3.8).
 *
 * Ownership: MgDelivery owns the entries (each holds a message ref), the
 * pool and the timer.  Workers only see a Job and the refcounted Shared
 * block; mg_delivery_free waits for the pool, applies the last results,
 * then marks Shared closed so a late idle callback touches nothing freed.
 *
 * Threading: the public functions run on the main thread (the
 * thread-default context at mg_delivery_new).  Workers: pool threads.
 */
#include "config.h"

#include <string.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "mg-delivery.h"
#include "mg-dsn.h"
#include "mg-log.h"
#include "mg-maildir.h"
#include "mg-resolver.h"
#include "mg-route-table.h"
#include "mg-smtp-client.h"
#include "mg-tls-client.h"
#include "mg-trace.h"

#define IDLE_SECONDS      5        /* cached idle connection lifetime */
#define MAX_LINE          8192     /* longest reply line we accept */
#define BODY_CHUNK        65536

/* ---- shared state (main thread + workers) -------------------------------- */

typedef struct
{
  gint           ref_count;
  MgDelivery    *owner;          /* main thread only; NULL once freed */
  GMainContext  *context;
  MgQueue       *queue;
  char          *state_dir;
  GAsyncQueue   *results;        /* Job* finished by workers */
  gint           drain_pending;  /* atomic: an idle drain source is attached */
  gint64         n_connections;  /* under lock */
  GMutex         lock;           /* protects idle, n_connections, resolver, local */
  GHashTable    *idle;           /* key -> GQueue of Conn* (idle, EHLO done) */
  MgResolver    *resolver;       /* nullable: libunbound could not be set up */
  GPtrArray     *local;          /* GInetSocketAddress*: our own listeners (R-3.4) */
} Shared;

typedef struct
{
  guint          number;
  char           tag[16];        /* "C00000001" */
  char          *peer;           /* "127.0.0.1:20025" */
  GSocketConnection *connection;
  MgTlsClient   *tls;            /* nullable: after STARTTLS */
  char          *server_name;    /* for SNI */
  MgSmtpClient  *client;
  GString       *inbuf;
  guint          n_messages;
  gint64         idle_since;
} Conn;

typedef struct
{
  MgSmtpOutcome  outcome;
  char          *reply;
} ItemResult;

typedef struct
{
  char          *id;
  char          *sender;
  GBytes        *body;           /* nullable: read from the queue by the worker */
  GArray        *rcpt_index;     /* guint: index into msg->rcpts */
  GPtrArray     *rcpts;          /* char*: addresses, NULL-terminated */
  GPtrArray     *results;        /* ItemResult*, same order */
  gboolean       answered;       /* the next hop said something (R-3.7) */
  gboolean       tx_replied;     /* a reply arrived in this item's transaction */
  char          *relay;          /* where it went: "127.0.0.1:20025", "maildir", ... */
} JobItem;

typedef struct
{
  Shared        *shared;
  MgConfig      *config;
  MgNextHopKind  kind;
  char          *host;
  guint16        port;
  gboolean       tls_required;   /* R-3.5: per route */
  char          *auth_user;      /* nullable */
  char          *auth_password;
  char          *mailbox;
  char          *key;
  char          *label;          /* "host:port" */
  GPtrArray     *items;          /* JobItem* */
} Job;

/* ---- the scheduler (main thread) ----------------------------------------- */

typedef struct
{
  MgQueueMessage *msg;
  GList          *link;          /* in MgDelivery.entries, or .parked when @parked */
  gboolean        parked;
  guint           jobs;          /* jobs running with this message */
  gboolean        round;         /* something was tried since the last finalize */
  gboolean        round_temp;
  gboolean        round_answered;
  char           *round_reason;
  GArray         *round_deferred; /* guint rcpt indexes */
  GArray         *round_failed;   /* guint rcpt indexes failed since the last report */
  gboolean        warned;         /* delay warning sent (R-3.7; in memory only) */
} Entry;

struct _MgDelivery
{
  Shared         *shared;
  MgConfig       *config;
  GMainContext   *context;
  GThreadPool    *pool;
  GSource        *tick;
  GSource        *dispatch_idle;
  gboolean        running;
  gboolean        loaded;
  GQueue          entries;       /* Entry*, oldest first: dispatch looks at these */
  GQueue          parked;        /* Entry* waiting for a later next_attempt */
  gint64          parked_due;    /* earliest next_attempt in @parked; G_MAXINT64: none */
  GHashTable     *by_id;         /* id -> Entry* */
  GHashTable     *active_per_key;/* key -> GUINT active jobs */
  guint           n_active;
  guint64         n_delivered;
  guint64         n_failed;
  guint64         n_deferred;
};

static gint connection_serial;

/* ---- shared block ----------------------------------------------------------- */

static Shared *
shared_new (MgDelivery   *owner,
            GMainContext *context,
            MgQueue      *queue,
            const char   *state_dir)
{
  Shared *shared = g_new0 (Shared, 1);

  shared->ref_count = 1;
  shared->owner = owner;
  shared->context = g_main_context_ref (context);
  shared->queue = queue;
  shared->state_dir = g_strdup (state_dir);
  shared->results = g_async_queue_new ();
  g_mutex_init (&shared->lock);
  shared->idle = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_queue_free);
  shared->local = g_ptr_array_new_with_free_func (g_object_unref);
  return shared;
}

static Shared *
shared_ref (Shared *shared)
{
  g_atomic_int_inc (&shared->ref_count);
  return shared;
}

static void reap_idle (Shared *shared, gboolean all);

static void
shared_unref (Shared *shared)
{
  if (!g_atomic_int_dec_and_test (&shared->ref_count))
    return;

  reap_idle (shared, TRUE);
  g_hash_table_unref (shared->idle);
  g_clear_pointer (&shared->resolver, mg_resolver_unref);
  g_ptr_array_unref (shared->local);
  g_async_queue_unref (shared->results);
  g_mutex_clear (&shared->lock);
  g_main_context_unref (shared->context);
  g_free (shared->state_dir);
  g_free (shared);
}

static const char *
helo_name (MgConfig *config)
{
  const char *name = mg_config_get_string (config, "delivery.helo_name");

  if (name != NULL && *name != '\0')
    return name;
  name = mg_config_get_string (config, "receiver.hostname");
  if (name != NULL && *name != '\0')
    return name;
  return g_get_host_name ();
}

static guint
config_uint (MgConfig   *config,
             const char *key)
{
  gint64 value = mg_config_get_int (config, key);

  return (guint) CLAMP (value, 1, G_MAXINT);
}

static char *
host_port_label (const char *host,
                 guint16     port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* ---- connections (worker side) ----------------------------------------------- */

static gboolean conn_write (Conn *conn, const char *data, gsize len,
                            gboolean trace, GError **error);

static void
tls_free_goodbye (MgTlsClient *tls)
{
  mg_tls_client_free (tls, TRUE);
}

static void
conn_close (Conn     *conn,
            gboolean  say_quit)
{
  if (conn == NULL)
    return;

  if (say_quit && mg_smtp_client_get_state (conn->client) == MG_SMTP_CLIENT_STATE_READY)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      /* Best effort, bounded: the reply to QUIT is not awaited. */
      g_socket_set_timeout (g_socket_connection_get_socket (conn->connection), 1);
      mg_smtp_client_quit (conn->client, out);
      conn_write (conn, out->str, out->len, TRUE, NULL);
    }
  g_clear_pointer (&conn->tls, tls_free_goodbye);
  g_free (conn->server_name);
  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  g_object_unref (conn->connection);
  mg_smtp_client_free (conn->client);
  g_string_free (conn->inbuf, TRUE);
  g_free (conn->peer);
  g_free (conn);
}

static void
conn_close_quit (gpointer data)
{
  conn_close (data, TRUE);
}

static gboolean
conn_write (Conn        *conn,
            const char  *data,
            gsize        len,
            gboolean     trace,
            GError     **error)
{
  GOutputStream *stream = g_io_stream_get_output_stream (G_IO_STREAM (conn->connection));

  if (len == 0)
    return TRUE;
  if (trace && mg_trace_active ())
    mg_trace_protocol (conn->tag, "SEND ->", data, len);
  if (conn->tls != NULL)
    return mg_tls_client_write_all (conn->tls, data, len, error);
  return g_output_stream_write_all (stream, data, len, NULL, NULL, error);
}

/* One reply line without its line end; NULL on EOF, timeout or error. */
static char *
conn_read_line (Conn    *conn,
                gsize   *len_out,
                GError **error)
{
  GInputStream *stream = g_io_stream_get_input_stream (G_IO_STREAM (conn->connection));
  char buf[4096];

  for (;;)
    {
      const char *nl = memchr (conn->inbuf->str, '\n', conn->inbuf->len);
      gssize n;

      if (nl != NULL)
        {
          gsize used = nl - conn->inbuf->str;
          gsize len = used > 0 && nl[-1] == '\r' ? used - 1 : used;
          char *line = g_malloc (len + 1);

          memcpy (line, conn->inbuf->str, len);
          line[len] = '\0';
          g_string_erase (conn->inbuf, 0, used + 1);
          if (mg_trace_active ())
            mg_trace_protocol (conn->tag, "RECV <-", line, len);
          *len_out = len;
          return line;
        }
      if (conn->inbuf->len > MAX_LINE)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "reply line too long");
          return NULL;
        }
      if (conn->tls != NULL)
        n = mg_tls_client_read (conn->tls, buf, sizeof buf, error);
      else
        n = g_input_stream_read (stream, buf, sizeof buf, NULL, error);
      if (n < 0)
        return NULL;
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                               "connection closed by the next hop");
          return NULL;
        }
      g_string_append_len (conn->inbuf, buf, n);
    }
}

/* The body as stored, dot-stuffed on the fly by the client, in chunks;
 * body bytes are never traced. */
static gboolean
conn_send_body (Conn     *conn,
                GBytes   *body,
                GString  *out,
                GError  **error)
{
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  for (gsize off = 0; off < len; off += BODY_CHUNK)
    {
      mg_smtp_client_write_body (conn->client, data + off, MIN (BODY_CHUNK, len - off), out);
      if (off + BODY_CHUNK >= len)
        break;   /* the last chunk goes out with the end marker: one send */
      if (!conn_write (conn, out->str, out->len, FALSE, error))
        return FALSE;
      g_string_truncate (out, 0);
    }
  mg_smtp_client_end_body (conn->client, out);
  MG_TRACE (conn->tag, "SEND -> [<message data, %" G_GSIZE_FORMAT " bytes>]", len);
  MG_TRACE (conn->tag, "SEND -> [.]");
  if (!conn_write (conn, out->str, out->len, FALSE, error))
    return FALSE;
  g_string_truncate (out, 0);
  return TRUE;
}

/* R-3.5: the next hop said 220 to STARTTLS. */
static gboolean
conn_start_tls (Conn    *conn,
                GError **error)
{
  if (conn->inbuf->len > 0)
    {
      /* RFC 3207 5: bytes after the 220 were sent in clear (an injection) */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "data after the reply to STARTTLS");
      return FALSE;
    }
  conn->tls = mg_tls_client_new (g_socket_connection_get_socket (conn->connection),
                                 conn->server_name, error);
  if (conn->tls == NULL)
    return FALSE;
  MG_TRACE (conn->tag, "TLS established: %s", mg_tls_client_describe (conn->tls));
  return TRUE;
}

/* Write what the client produced and feed it replies until it is READY
 * (or wants the connection closed).  I/O failures abort the client, which
 * turns undecided recipients into temporary failures. */
static MgSmtpClientAction
conn_drive (Conn               *conn,
            MgSmtpClientAction  action,
            GString            *out,
            GBytes             *body,
            gboolean           *replied)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;

  for (;;)
    {
      g_autofree char *line = NULL;
      gsize len = 0;

      if (mg_smtp_client_output_is_secret (conn->client))
        MG_TRACE (conn->tag, "SEND -> [<credentials hidden>]");
      if (!conn_write (conn, out->str, out->len,
                       !mg_smtp_client_output_is_secret (conn->client), &error))
        break;
      g_string_truncate (out, 0);

      switch (action)
        {
        case MG_SMTP_CLIENT_ACTION_START_TLS:
          if (!conn_start_tls (conn, &error))
            goto broken;
          action = mg_smtp_client_tls_started (conn->client, out);
          break;

        case MG_SMTP_CLIENT_ACTION_READ:
          line = conn_read_line (conn, &len, &error);
          if (line == NULL)
            goto broken;
          if (replied != NULL)
            *replied = TRUE;
          action = mg_smtp_client_feed_line (conn->client, line, len, out);
          break;

        case MG_SMTP_CLIENT_ACTION_SEND_BODY:
          if (!conn_send_body (conn, body, out, &error))
            goto broken;
          action = MG_SMTP_CLIENT_ACTION_READ;
          break;

        case MG_SMTP_CLIENT_ACTION_READY:
        case MG_SMTP_CLIENT_ACTION_CLOSE:
        default:
          return action;
        }
    }

broken:
  reason = g_strdup_printf ("conversation with %s failed: %s", conn->peer,
                            error != NULL ? error->message : "unknown error");
  MG_TRACE (conn->tag, "%s", reason);
  mg_smtp_client_abort (conn->client, reason);
  return MG_SMTP_CLIENT_ACTION_CLOSE;
}

/* ---- where to connect (worker side) ------------------------------------------ */

typedef struct
{
  GInetAddress *address;
  char         *host;     /* the name it came from (MX host, route host) */
} Target;

static void
target_free (Target *target)
{
  g_object_unref (target->address);
  g_free (target->host);
  g_free (target);
}

static void
add_targets (GPtrArray  *targets,
             const char *host,
             GPtrArray  *addresses)
{
  for (guint i = 0; i < addresses->len; i++)
    {
      Target *target = g_new0 (Target, 1);

      target->address = g_object_ref (g_ptr_array_index (addresses, i));
      target->host = g_strdup (host);
      g_ptr_array_add (targets, target);
    }
}

static MgResolver *
shared_get_resolver (Shared *shared)
{
  MgResolver *resolver;

  g_mutex_lock (&shared->lock);
  resolver = shared->resolver != NULL ? mg_resolver_ref (shared->resolver) : NULL;
  g_mutex_unlock (&shared->lock);
  return resolver;
}

/* R-3.1: an MX hop resolves the recipient domain's MX hosts in preference
 * order (A/AAAA when it has none) through libunbound, which honours the
 * hosts file; a host name hop resolves the host; an IP literal is used as
 * it is.  *@permanent: the domain does not exist or accepts no mail. */
static GPtrArray *
resolve_hop (Job       *job,
             Conn      *conn,
             gboolean  *permanent,
             GError   **error)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  g_autoptr(MgResolver) resolver = NULL;
  g_autoptr(GPtrArray) found = NULL;
  guint timeout = config_uint (job->config, "delivery.connect_timeout");

  *permanent = FALSE;
  if (g_hostname_is_ip_address (job->host))
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (job->host);
      g_autoptr(GPtrArray) one = g_ptr_array_new ();

      g_ptr_array_add (one, address);
      add_targets (targets, job->host, one);
      return g_steal_pointer (&targets);
    }

  resolver = shared_get_resolver (job->shared);
  if (resolver == NULL)
    {
      g_set_error_literal (error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_SETUP,
                           "no DNS resolver (see the daemon log)");
      return NULL;
    }

  if (job->kind != MG_NEXT_HOP_MX)
    {
      found = mg_resolver_lookup_host (resolver, job->host, timeout, error);
      if (found == NULL)
        return NULL;
      add_targets (targets, job->host, found);
      return g_steal_pointer (&targets);
    }

  found = mg_resolver_lookup_mail (resolver, job->host, timeout, error);
  if (found == NULL)
    {
      *permanent = g_error_matches (*error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_NOT_FOUND) ||
                   g_error_matches (*error, MG_RESOLVER_ERROR, MG_RESOLVER_ERROR_NULL_MX);
      return NULL;
    }
  for (guint i = 0; i < found->len; i++)
    {
      MgMailHost *host = g_ptr_array_index (found, i);

      MG_TRACE (conn->tag, "MX %s: %s preference %u", job->host, host->name, host->preference);
      add_targets (targets, host->name, host->addresses);
    }
  return g_steal_pointer (&targets);
}

/* TRUE when @address is configured on one of this machine's interfaces. */
static gboolean
address_is_local (GInetAddress *address)
{
  struct ifaddrs *list = NULL;
  gboolean found = FALSE;

  if (g_inet_address_get_is_loopback (address) || g_inet_address_get_is_any (address))
    return TRUE;
  if (getifaddrs (&list) != 0)
    return FALSE;
  for (struct ifaddrs *ifa = list; ifa != NULL && !found; ifa = ifa->ifa_next)
    {
      g_autoptr(GSocketAddress) sa = NULL;
      gsize size;

      if (ifa->ifa_addr == NULL ||
          (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
        continue;
      size = ifa->ifa_addr->sa_family == AF_INET ? sizeof (struct sockaddr_in)
                                                 : sizeof (struct sockaddr_in6);
      sa = g_socket_address_new_from_native (ifa->ifa_addr, size);
      found = sa != NULL && g_inet_address_equal (address,
                              g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa)));
    }
  freeifaddrs (list);
  return found;
}

/* R-3.4 at run time: does @address:@port reach one of our own listeners? */
static char *
find_own_listener (Shared       *shared,
                   GInetAddress *address,
                   guint16       port)
{
  g_autoptr(GPtrArray) local = NULL;

  local = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_lock (&shared->lock);
  for (guint i = 0; i < shared->local->len; i++)
    g_ptr_array_add (local, g_object_ref (g_ptr_array_index (shared->local, i)));
  g_mutex_unlock (&shared->lock);

  for (guint i = 0; i < local->len; i++)
    {
      GInetSocketAddress *listener = g_ptr_array_index (local, i);
      GInetAddress *bound = g_inet_socket_address_get_address (listener);

      if (g_inet_socket_address_get_port (listener) != port)
        continue;
      if (g_inet_address_equal (bound, address) ||
          (g_inet_address_get_is_any (bound) && address_is_local (address)))
        {
          g_autofree char *ip = g_inet_address_to_string (bound);

          return host_port_label (ip, port);
        }
    }
  return NULL;
}

/* Each target in order (MX preference, then address order) until one
 * accepts the connection: a next hop that is down passes to the next. */
static GSocketConnection *
connect_addresses (Job       *job,
                   Conn      *conn,
                   GPtrArray *targets,
                   char     **peer_out,
                   GError   **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_timeout (client, config_uint (job->config, "delivery.connect_timeout"));
  g_socket_client_set_enable_proxy (client, FALSE);

  for (guint i = 0; i < targets->len; i++)
    {
      Target *target = g_ptr_array_index (targets, i);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (target->address, job->port);
      g_autofree char *ip = g_inet_address_to_string (target->address);
      GSocketConnection *connection;

      g_clear_error (error);
      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
      if (connection == NULL)
        MG_TRACE (conn->tag, "connect to %s (%s) port %u failed: %s",
                  ip, target->host, job->port, (*error)->message);
      if (connection != NULL)
        {
          /* Each command group and each body is written whole; Nagle would
           * only hold the next group back for the peer's delayed ACK. */
          g_socket_set_option (g_socket_connection_get_socket (connection),
                               IPPROTO_TCP, TCP_NODELAY, 1, NULL);
          *peer_out = host_port_label (ip, job->port);
          return connection;
        }
    }
  return NULL;
}

/* R-3.4: a permanent failure when a target is one of our own listeners. */
static char *
check_loop (Job       *job,
            GPtrArray *targets)
{
  for (guint i = 0; i < targets->len; i++)
    {
      Target *target = g_ptr_array_index (targets, i);
      g_autofree char *listener = find_own_listener (job->shared, target->address, job->port);

      if (listener != NULL)
        return g_strdup_printf ("5.4.6 mail for %s loops back to myself: %s (%s) is this "
                                "server's own listener %s", job->label, target->host,
                                job->host, listener);
    }
  return NULL;
}

/* Connect, read the banner, EHLO.  On failure sets *@reason,
 * *@answered (did the next hop say anything?) and *@permanent (no use
 * retrying: the domain has no mail host, or the hop is ourselves). */
static Conn *
conn_open (Job       *job,
           char     **reason,
           gboolean  *answered,
           gboolean  *permanent)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) targets = NULL;
  g_autofree char *loop = NULL;
  GSocketConnection *connection = NULL;
  Conn *conn = g_new0 (Conn, 1);
  char *peer = NULL;

  conn->number = (guint) g_atomic_int_add (&connection_serial, 1) + 1;
  g_snprintf (conn->tag, sizeof conn->tag, "C%08u", conn->number);
  MG_TRACE (conn->tag, "connecting to %s", job->label);

  *answered = FALSE;
  targets = resolve_hop (job, conn, permanent, &error);
  if (targets != NULL)
    loop = check_loop (job, targets);
  if (loop != NULL)
    {
      *permanent = TRUE;
      *reason = g_steal_pointer (&loop);
      MG_TRACE (conn->tag, "%s", *reason);
      g_free (conn);
      return NULL;
    }
  if (targets != NULL)
    connection = connect_addresses (job, conn, targets, &peer, &error);
  if (connection == NULL)
    {
      *reason = g_strdup_printf ("connect to %s: %s", job->label,
                                 error != NULL ? error->message : "no address");
      MG_TRACE (conn->tag, "%s", *reason);
      g_free (conn);
      return NULL;
    }

  g_socket_set_timeout (g_socket_connection_get_socket (connection),
                        config_uint (job->config, "delivery.timeout"));
  g_mutex_lock (&job->shared->lock);
  job->shared->n_connections++;
  g_mutex_unlock (&job->shared->lock);

  conn->connection = connection;
  conn->peer = peer;
  conn->server_name = g_strdup (job->host);
  conn->inbuf = g_string_new (NULL);
  conn->client = mg_smtp_client_new (helo_name (job->config));
  /* R-3.5: opportunistic STARTTLS everywhere, required per route */
  mg_smtp_client_set_tls (conn->client, job->tls_required ? MG_SMTP_TLS_REQUIRE
                                                          : MG_SMTP_TLS_MAY);
  if (job->auth_user != NULL)
    mg_smtp_client_set_auth (conn->client, job->auth_user, job->auth_password);

  if (conn_drive (conn, MG_SMTP_CLIENT_ACTION_READ, out, NULL, NULL) != MG_SMTP_CLIENT_ACTION_READY)
    {
      const char *why = mg_smtp_client_get_error (conn->client);

      *reason = g_strdup_printf ("%s refused the session: %s", conn->peer,
                                 why != NULL ? why : "no reason");
      *answered = mg_smtp_client_got_reply (conn->client);
      conn_close (conn, FALSE);
      return NULL;
    }
  return conn;
}

/* ---- connection cache (any thread, under shared->lock) -------------------------- */

static Conn *
cache_take (Shared     *shared,
            const char *key)
{
  Conn *conn = NULL;
  GQueue *queue;

  g_mutex_lock (&shared->lock);
  queue = g_hash_table_lookup (shared->idle, key);
  if (queue != NULL)
    {
      conn = g_queue_pop_tail (queue);
      if (g_queue_is_empty (queue))
        g_hash_table_remove (shared->idle, key);
    }
  g_mutex_unlock (&shared->lock);
  return conn;
}

static void
cache_put (Shared     *shared,
           const char *key,
           Conn       *conn)
{
  GQueue *queue;

  g_mutex_lock (&shared->lock);
  queue = g_hash_table_lookup (shared->idle, key);
  if (queue == NULL)
    {
      queue = g_queue_new ();
      g_hash_table_insert (shared->idle, g_strdup (key), queue);
    }
  conn->idle_since = g_get_monotonic_time ();
  g_queue_push_tail (queue, conn);
  g_mutex_unlock (&shared->lock);
}

/* Close idle connections older than IDLE_SECONDS (or @all). */
static void
reap_idle (Shared   *shared,
           gboolean  all)
{
  g_autoptr(GPtrArray) expired = g_ptr_array_new_with_free_func (conn_close_quit);
  gint64 limit = g_get_monotonic_time () - IDLE_SECONDS * G_USEC_PER_SEC;
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&shared->lock);
  g_hash_table_iter_init (&iter, shared->idle);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GQueue *queue = value;

      while (!g_queue_is_empty (queue)
             && (all || ((Conn *) g_queue_peek_head (queue))->idle_since <= limit))
        g_ptr_array_add (expired, g_queue_pop_head (queue));
      if (g_queue_is_empty (queue))
        g_hash_table_iter_remove (&iter);
    }
  g_mutex_unlock (&shared->lock);
  /* expired closes each (QUIT, bounded by a 1 s timeout) when freed */
}

/* ---- jobs ----------------------------------------------------------------------- */

static void
item_result_free (ItemResult *result)
{
  g_free (result->reply);
  g_free (result);
}

static void
job_item_free (JobItem *item)
{
  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->sender);
  g_clear_pointer (&item->body, g_bytes_unref);
  g_array_unref (item->rcpt_index);
  g_ptr_array_unref (item->rcpts);
  g_ptr_array_unref (item->results);
  g_free (item->relay);
  g_free (item);
}

static JobItem *
job_item_new (MgQueueMessage *msg)
{
  JobItem *item = g_new0 (JobItem, 1);

  item->id = g_strdup (msg->id);
  item->sender = g_strdup (msg->sender != NULL ? msg->sender : "");
  item->body = msg->body != NULL ? g_bytes_ref (msg->body) : NULL;
  item->rcpt_index = g_array_new (FALSE, FALSE, sizeof (guint));
  item->rcpts = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  item->results = g_ptr_array_new_with_free_func ((GDestroyNotify) item_result_free);
  return item;
}

static void
job_item_add_rcpt (JobItem    *item,
                   guint       index,
                   const char *address)
{
  ItemResult *result = g_new0 (ItemResult, 1);

  result->outcome = MG_SMTP_OUTCOME_TEMPFAIL;
  result->reply = g_strdup ("not attempted");
  g_array_append_val (item->rcpt_index, index);
  g_ptr_array_add (item->rcpts, g_strdup (address));
  g_ptr_array_add (item->results, result);
}

static void
job_item_set_all (JobItem       *item,
                  MgSmtpOutcome  outcome,
                  const char    *reply,
                  gboolean       answered)
{
  for (guint i = 0; i < item->results->len; i++)
    {
      ItemResult *result = g_ptr_array_index (item->results, i);

      result->outcome = outcome;
      g_free (result->reply);
      result->reply = g_strdup (reply);
    }
  item->answered = answered;
}

static Job *
job_new (MgDelivery      *self,
         const MgNextHop *hop)
{
  Job *job = g_new0 (Job, 1);

  job->shared = shared_ref (self->shared);
  job->config = mg_config_ref (self->config);
  job->kind = hop->kind;
  job->host = g_strdup (hop->host);
  job->port = hop->port;
  job->tls_required = hop->tls_required;
  job->auth_user = g_strdup (hop->auth_user);
  job->auth_password = g_strdup (hop->auth_password);
  job->mailbox = g_strdup (hop->mailbox);
  job->key = g_strdup (hop->key);
  if (hop->kind == MG_NEXT_HOP_MAILDIR)
    job->label = g_strdup_printf ("maildir:%s", hop->mailbox);
  else
    job->label = host_port_label (hop->host != NULL ? hop->host : "?", hop->port);
  job->items = g_ptr_array_new_with_free_func ((GDestroyNotify) job_item_free);
  return job;
}

static void
job_free (Job *job)
{
  g_ptr_array_unref (job->items);
  g_free (job->host);
  g_free (job->auth_user);
  g_free (job->auth_password);
  g_free (job->mailbox);
  g_free (job->key);
  g_free (job->label);
  mg_config_unref (job->config);
  shared_unref (job->shared);
  g_free (job);
}

/* ---- the worker (pool thread) ------------------------------------------------------ */

static gboolean
ensure_body (Job     *job,
             JobItem *item)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;

  if (item->body != NULL)
    return TRUE;
  item->body = mg_queue_read_body (job->shared->queue, item->id, &error);
  if (item->body != NULL)
    return TRUE;

  reason = g_strdup_printf ("reading the queue: %s", error->message);
  job_item_set_all (item, MG_SMTP_OUTCOME_TEMPFAIL, reason, TRUE);
  return FALSE;
}

/* Received: header lines in the header section of @body. */
static guint
count_received (GBytes *body)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  const char *end = data + len;
  guint n = 0;

  for (const char *line = data; line < end; )
    {
      const char *nl = memchr (line, '\n', (gsize) (end - line));
      gsize line_len = (nl != NULL ? nl : end) - line;

      if (line_len == 0 || (line_len == 1 && line[0] == '\r'))
        break;   /* end of the header section */
      if (line_len >= 9 && g_ascii_strncasecmp (line, "Received:", 9) == 0)
        n++;
      if (nl == NULL)
        break;
      line = nl + 1;
    }
  return n;
}

/* R-3.4: the hop count enforced on the way out too. */
static gboolean
check_hops (Job     *job,
            JobItem *item)
{
  guint max = config_uint (job->config, "receiver.max_received_headers");
  guint n = count_received (item->body);
  g_autofree char *reason = NULL;

  /* the receiver counted the headers it was given, not the one it
   * prepended: the same limit here, plus our own */
  if (n <= max + 1)
    return TRUE;
  reason = g_strdup_printf ("5.4.6 too many hops (%u Received: headers, at most %u "
                            "besides our own): mail loop", n, max);
  job_item_set_all (item, MG_SMTP_OUTCOME_PERMFAIL, reason, TRUE);
  item->relay = g_strdup (job->label);
  return FALSE;
}

static void
take_results (JobItem      *item,
              MgSmtpClient *client)
{
  GPtrArray *results = mg_smtp_client_get_results (client);
  const char *error = mg_smtp_client_get_error (client);

  for (guint i = 0; i < results->len && i < item->results->len; i++)
    {
      MgSmtpRcptResult *from = g_ptr_array_index (results, i);
      ItemResult *to = g_ptr_array_index (item->results, i);

      to->outcome = from->outcome == MG_SMTP_OUTCOME_PENDING
                    ? MG_SMTP_OUTCOME_TEMPFAIL : from->outcome;
      g_free (to->reply);
      to->reply = g_strdup (from->reply != NULL ? from->reply
                            : error != NULL ? error : "no reply");
    }
  item->answered = mg_smtp_client_got_reply (client);
}

/* One message over @conn.  FALSE: the connection is unusable now. */
static gboolean
run_transaction (Conn    *conn,
                 JobItem *item)
{
  g_autoptr(GString) out = g_string_new (NULL);
  MgSmtpClientAction action;

  action = mg_smtp_client_begin (conn->client, item->sender,
                                 (const char * const *) item->rcpts->pdata, out);
  item->tx_replied = FALSE;
  action = conn_drive (conn, action, out, item->body, &item->tx_replied);
  take_results (item, conn->client);
  g_free (item->relay);
  item->relay = g_strdup (conn->peer);
  conn->n_messages++;
  return action == MG_SMTP_CLIENT_ACTION_READY;
}

static void
run_smtp_job (Job *job)
{
  guint max_per_conn = config_uint (job->config, "delivery.max_messages_per_connection");
  Conn *conn = NULL;

  for (guint i = 0; i < job->items->len; i++)
    {
      JobItem *item = g_ptr_array_index (job->items, i);

      if (!ensure_body (job, item) || !check_hops (job, item))
        continue;

      for (guint attempt = 0; attempt < 2; attempt++)
        {
          g_autofree char *reason = NULL;
          gboolean answered = FALSE;
          gboolean permanent = FALSE;
          gboolean reused;

          if (conn == NULL)
            conn = cache_take (job->shared, job->key);
          if (conn == NULL)
            conn = conn_open (job, &reason, &answered, &permanent);
          if (conn == NULL)
            {
              /* the hop is unreachable: so it is for the rest of the job */
              for (guint j = i; j < job->items->len; j++)
                {
                  JobItem *rest = g_ptr_array_index (job->items, j);

                  job_item_set_all (rest, permanent ? MG_SMTP_OUTCOME_PERMFAIL
                                                    : MG_SMTP_OUTCOME_TEMPFAIL,
                                    reason, answered);
                  g_free (rest->relay);
                  rest->relay = g_strdup (job->label);
                }
              return;
            }

          reused = conn->n_messages > 0;
          if (run_transaction (conn, item))
            break;

          conn_close (conn, FALSE);
          conn = NULL;
          /* a cached connection the peer had closed meanwhile: try once
           * more on a fresh one (nothing of this message reached it) */
          if (!reused || item->tx_replied)
            break;
        }

      if (conn != NULL && conn->n_messages >= max_per_conn)
        g_clear_pointer (&conn, conn_close_quit);
    }

  if (conn != NULL)
    cache_put (job->shared, job->key, conn);
}

static void
run_maildir_job (Job *job)
{
  for (guint i = 0; i < job->items->len; i++)
    {
      JobItem *item = g_ptr_array_index (job->items, i);

      if (!ensure_body (job, item))
        continue;
      item->answered = TRUE;
      item->relay = g_strdup (job->label);
      for (guint k = 0; k < item->results->len; k++)
        {
          ItemResult *result = g_ptr_array_index (item->results, k);
          g_autoptr(GError) error = NULL;
          g_autofree char *path = NULL;

          g_free (result->reply);
          if (mg_maildir_deliver (job->shared->state_dir, job->mailbox, item->sender,
                                  g_ptr_array_index (item->rcpts, k), item->body,
                                  &path, &error))
            {
              result->outcome = MG_SMTP_OUTCOME_DELIVERED;
              result->reply = g_strdup_printf ("saved as %s", path);
            }
          else
            {
              result->outcome = MG_SMTP_OUTCOME_TEMPFAIL;
              result->reply = g_strdup_printf ("maildir: %s", error->message);
            }
        }
    }
}

static gboolean drain_results_cb (gpointer user_data);

static void
worker_run (gpointer data,
            gpointer user_data)
{
  Job *job = data;
  Shared *shared = job->shared;

  if (job->kind == MG_NEXT_HOP_MAILDIR)
    run_maildir_job (job);
  else
    run_smtp_job (job);

  /* shared outlives the push: the source below and the job hold refs */
  shared_ref (shared);
  g_async_queue_push (shared->results, job);
  if (g_atomic_int_compare_and_exchange (&shared->drain_pending, 0, 1))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_callback (source, drain_results_cb, shared_ref (shared),
                             (GDestroyNotify) shared_unref);
      g_source_set_name (source, "mg-delivery-results");
      g_source_attach (source, shared->context);
      g_source_unref (source);
    }
  shared_unref (shared);
}

/* ---- scheduler: entries --------------------------------------------------------------- */

static void
entry_free (Entry *entry)
{
  mg_queue_message_unref (entry->msg);
  g_free (entry->round_reason);
  g_array_unref (entry->round_deferred);
  g_array_unref (entry->round_failed);
  g_free (entry);
}

static void
round_reset (Entry *entry)
{
  entry->round = FALSE;
  entry->round_temp = FALSE;
  entry->round_answered = FALSE;
  g_clear_pointer (&entry->round_reason, g_free);
  g_array_set_size (entry->round_deferred, 0);
}

static Entry *
add_entry (MgDelivery     *self,
           MgQueueMessage *msg)
{
  Entry *entry;

  if (g_hash_table_contains (self->by_id, msg->id))
    return NULL;
  entry = g_new0 (Entry, 1);
  entry->msg = mg_queue_message_ref (msg);
  entry->round_deferred = g_array_new (FALSE, FALSE, sizeof (guint));
  entry->round_failed = g_array_new (FALSE, FALSE, sizeof (guint));
  g_queue_push_tail (&self->entries, entry);
  entry->link = self->entries.tail;
  g_hash_table_insert (self->by_id, entry->msg->id, entry);
  return entry;
}

/* Forget @entry; @persist: also remove the message from the queue. */
static void
remove_entry (MgDelivery *self,
              Entry      *entry,
              gboolean    persist)
{
  if (persist)
    mg_queue_remove (self->shared->queue, entry->msg, self->context, NULL, NULL);
  g_hash_table_remove (self->by_id, entry->msg->id);
  g_queue_delete_link (entry->parked ? &self->parked : &self->entries, entry->link);
  entry_free (entry);
}

static gboolean
all_final (MgQueueMessage *msg)
{
  for (guint i = 0; i < msg->rcpts->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, i);

      if (rcpt->state == MG_RCPT_STATE_PENDING)
        return FALSE;
    }
  return TRUE;
}

static void
set_last_reply (MgQueueRcpt *rcpt,
                const char  *reply)
{
  char *copy = g_strdup (reply);

  g_free (rcpt->last_reply);
  rcpt->last_reply = copy;
}

static void
note_deferred (Entry      *entry,
               guint       index,
               const char *reason,
               gboolean    answered)
{
  entry->round = TRUE;
  entry->round_temp = TRUE;
  entry->round_answered |= answered;
  g_free (entry->round_reason);
  entry->round_reason = g_strdup (reason);
  g_array_append_val (entry->round_deferred, index);
}

/* R-3.7: retry_interval * 2^(attempts-1), at most 16 * retry_interval */
static gint64
retry_delay (gint64 interval,
             guint  attempts)
{
  gint64 delay = interval;

  for (guint i = 1; i < attempts && delay < 16 * interval; i++)
    delay *= 2;
  return MIN (delay, 16 * interval);
}

/* R-3.7 give up: every pending recipient fails permanently. */
static void
expire_entry (MgDelivery *self,
              Entry      *entry)
{
  MgQueueMessage *msg = entry->msg;

  for (guint i = 0; i < msg->rcpts->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, i);
      g_autofree char *reason = NULL;

      if (rcpt->state != MG_RCPT_STATE_PENDING)
        continue;
      reason = g_strdup_printf ("expired: %s",
                                rcpt->last_reply != NULL ? rcpt->last_reply
                                : entry->round_reason != NULL ? entry->round_reason
                                : "no reason");
      rcpt->state = MG_RCPT_STATE_FAILED;
      set_last_reply (rcpt, reason);
      g_array_append_val (entry->round_failed, i);
      self->n_failed++;
      MG_TRACE (msg->id, "failed <%s>: %s", rcpt->address, reason);
      mg_log_event (MG_LOG_FAIL, msg->id, "from", msg->sender, "to", rcpt->address,
                    "status", "expired", "reply", reason, NULL);
    }
}

/* ---- scheduler: failure reports (R-3.7) -------------------------------------------- */

static void
on_report_stored_cb (MgQueue        *queue,
                     MgQueueMessage *report,
                     const GError   *error,
                     gpointer        user_data)
{
  Shared *shared = user_data;

  if (error != NULL)
    g_warning ("%s: storing a delivery report: %s", report->id, error->message);
  else if (shared->owner != NULL)
    mg_delivery_add (shared->owner, report);
  shared_unref (shared);
}

static const char *
postmaster_address (MgConfig *config,
                    char    **owned)
{
  const char *address = mg_config_get_string (config, "delivery.postmaster");

  if (address != NULL && *address != '\0')
    return address;
  address = mg_config_get_string (config, "receiver.hostname");
  *owned = g_strconcat ("postmaster@", address != NULL && *address != '\0'
                                       ? address : g_get_host_name (), NULL);
  return *owned;
}

/* Queue an RFC 3464 report on the recipients of @entry listed in @indexes:
 * to the envelope sender (never to a null sender: a report has the null
 * sender itself, so reports never loop), and to the postmaster when
 * delivery.fail_report_copy is on.  The report is an ordinary queued
 * message: stored durably, then delivered like any other. */
static void
send_report (MgDelivery *self,
             Entry      *entry,
             MgDsnKind   kind,
             GArray     *indexes)
{
  MgQueueMessage *msg = entry->msg;
  g_autoptr(GPtrArray) rcpts = g_ptr_array_new_null_terminated (indexes->len, NULL, TRUE);
  g_autoptr(GPtrArray) replies = g_ptr_array_new_null_terminated (indexes->len, NULL, TRUE);
  g_autoptr(GBytes) original = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MgQueueMessage) report = NULL;
  g_autofree char *postmaster = NULL;
  const char *language = mg_config_get_string (self->config, "delivery.report_language");
  MgDsnInfo info = { 0 };

  if (indexes->len == 0)
    return;
  if (msg->sender == NULL || *msg->sender == '\0')
    {
      MG_TRACE (msg->id, "no delivery report: the sender is null");
      return;
    }

  for (guint i = 0; i < indexes->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, g_array_index (indexes, guint, i));

      g_ptr_array_add (rcpts, rcpt->address);
      g_ptr_array_add (replies, rcpt->last_reply != NULL ? rcpt->last_reply : "");
    }
  original = msg->body != NULL ? g_bytes_ref (msg->body)
                               : mg_queue_read_body (self->shared->queue, msg->id, &error);
  if (original == NULL)
    MG_TRACE (msg->id, "report without the original headers: %s", error->message);

  info.kind = kind;
  info.reporting_mta = helo_name (self->config);
  info.language = language;
  info.queue_id = msg->id;
  info.sender = msg->sender;
  info.arrival = msg->received_at;
  info.now = g_get_real_time ();
  info.original = original;

  report = mg_queue_message_new ();
  report->id = mg_queue_new_id (self->shared->queue);
  report->sender = g_strdup ("");
  report->received_at = info.now;
  report->body = mg_dsn_build (&info, (const char * const *) rcpts->pdata,
                               (const char * const *) replies->pdata);
  report->body_size = g_bytes_get_size (report->body);
  mg_queue_message_add_rcpt (report, msg->sender);
  if (kind == MG_DSN_FAILURE && mg_config_get_bool (self->config, "delivery.fail_report_copy"))
    mg_queue_message_add_rcpt (report, postmaster_address (self->config, &postmaster));

  MG_TRACE (msg->id, "%s report %s to <%s>",
            kind == MG_DSN_FAILURE ? "failure" : "delay", report->id, msg->sender);
  if (report->rcpts->len > 1)
    MG_TRACE (msg->id, "report %s copied to <%s>", report->id,
              ((MgQueueRcpt *) g_ptr_array_index (report->rcpts, 1))->address);
  mg_log_event (MG_LOG_FAIL, msg->id, "from", msg->sender, "status",
                kind == MG_DSN_FAILURE ? "reported" : "delay-warned",
                "report", report->id, NULL);
  mg_queue_submit (self->shared->queue, report, self->context,
                   on_report_stored_cb, shared_ref (self->shared));
}

static void
report_failures (MgDelivery *self,
                 Entry      *entry)
{
  send_report (self, entry, MG_DSN_FAILURE, entry->round_failed);
  g_array_set_size (entry->round_failed, 0);
}

/* R-3.7: the optional delay warning, once per message (per run). */
static void
maybe_warn_delay (MgDelivery *self,
                  Entry      *entry,
                  gint64      now)
{
  gint64 after = mg_config_get_int (self->config, "delivery.delay_warning");

  if (after <= 0 || entry->warned || now - entry->msg->received_at < after * G_USEC_PER_SEC)
    return;
  entry->warned = TRUE;
  send_report (self, entry, MG_DSN_DELAY, entry->round_deferred);
}

/* Every job of @entry's round is back: remove, retry later, or go on. */
static void
finalize_entry (MgDelivery *self,
                Entry      *entry)
{
  MgQueueMessage *msg = entry->msg;
  gint64 now = g_get_real_time ();
  gint64 interval, limit, delay;

  report_failures (self, entry);

  if (all_final (msg))
    {
      remove_entry (self, entry, TRUE);
      return;
    }
  if (!entry->round_temp)
    {
      /* some recipients final, the rest not tried yet: persist, go on */
      if (entry->round)
        mg_queue_update (self->shared->queue, msg, self->context, NULL, NULL);
      round_reset (entry);
      return;
    }

  msg->attempts++;
  if (msg->first_failure == 0)
    msg->first_failure = now;
  limit = mg_config_get_int (self->config, entry->round_answered
                                           ? "delivery.give_up_error"
                                           : "delivery.give_up_no_response");
  if (now - msg->first_failure >= limit * G_USEC_PER_SEC)
    {
      expire_entry (self, entry);
      report_failures (self, entry);
      remove_entry (self, entry, TRUE);
      return;
    }
  maybe_warn_delay (self, entry, now);

  interval = config_uint (self->config, "delivery.retry_interval");
  delay = retry_delay (interval, msg->attempts);
  msg->next_attempt = now + delay * G_USEC_PER_SEC;
  for (guint i = 0; i < entry->round_deferred->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts,
                                             g_array_index (entry->round_deferred, guint, i));

      MG_TRACE (msg->id, "deferred <%s>: %s; retry in %" G_GINT64_FORMAT " s",
                rcpt->address, rcpt->last_reply != NULL ? rcpt->last_reply : "", delay);
    }
  self->n_deferred++;
  /* the body is read again from the queue when the retry comes */
  g_clear_pointer (&msg->body, g_bytes_unref);
  mg_queue_update (self->shared->queue, msg, self->context, NULL, NULL);
  round_reset (entry);
}

static void
apply_item (MgDelivery *self,
            Entry      *entry,
            JobItem    *item)
{
  MgQueueMessage *msg = entry->msg;
  const char *relay = item->relay != NULL ? item->relay : "none";

  entry->round = TRUE;
  for (guint k = 0; k < item->rcpt_index->len; k++)
    {
      guint index = g_array_index (item->rcpt_index, guint, k);
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, index);
      ItemResult *result = g_ptr_array_index (item->results, k);
      const char *reply = result->reply != NULL ? result->reply : "";

      if (rcpt->state != MG_RCPT_STATE_PENDING)
        continue;
      set_last_reply (rcpt, reply);
      switch (result->outcome)
        {
        case MG_SMTP_OUTCOME_DELIVERED:
          rcpt->state = MG_RCPT_STATE_DELIVERED;
          self->n_delivered++;
          MG_TRACE (msg->id, "delivered to <%s> via %s: %s", rcpt->address, relay, reply);
          mg_log_event (MG_LOG_SENDER, msg->id, "from", msg->sender, "to", rcpt->address,
                        "relay", relay, "status", "sent", "reply", reply, NULL);
          break;
        case MG_SMTP_OUTCOME_PERMFAIL:
          rcpt->state = MG_RCPT_STATE_FAILED;
          g_array_append_val (entry->round_failed, index);
          self->n_failed++;
          MG_TRACE (msg->id, "failed <%s>: %s", rcpt->address, reply);
          mg_log_event (MG_LOG_SENDER, msg->id, "from", msg->sender, "to", rcpt->address,
                        "relay", relay, "status", "bounced", "reply", reply, NULL);
          mg_log_event (MG_LOG_FAIL, msg->id, "from", msg->sender, "to", rcpt->address,
                        "relay", relay, "status", "bounced", "reply", reply, NULL);
          break;
        case MG_SMTP_OUTCOME_TEMPFAIL:
        case MG_SMTP_OUTCOME_PENDING:
        default:
          note_deferred (entry, index, reply, item->answered);
          mg_log_event (MG_LOG_SENDER, msg->id, "from", msg->sender, "to", rcpt->address,
                        "relay", relay, "status", "deferred", "reply", reply, NULL);
          break;
        }
    }
}

static void
release_slot (MgDelivery *self,
              const char *key)
{
  guint active = GPOINTER_TO_UINT (g_hash_table_lookup (self->active_per_key, key));

  g_assert (self->n_active > 0);
  self->n_active--;
  if (active <= 1)
    g_hash_table_remove (self->active_per_key, key);
  else
    g_hash_table_replace (self->active_per_key, g_strdup (key), GUINT_TO_POINTER (active - 1));
}

static void schedule_dispatch (MgDelivery *self);

static void
job_finished (MgDelivery *self,
              Job        *job)
{
  release_slot (self, job->key);
  for (guint i = 0; i < job->items->len; i++)
    {
      JobItem *item = g_ptr_array_index (job->items, i);
      Entry *entry = g_hash_table_lookup (self->by_id, item->id);

      if (entry == NULL)
        continue;   /* deleted meanwhile */
      apply_item (self, entry, item);
      g_assert (entry->jobs > 0);
      if (--entry->jobs == 0)
        finalize_entry (self, entry);
    }
  schedule_dispatch (self);
}

static void
drain_results (Shared *shared)
{
  Job *job;

  g_atomic_int_set (&shared->drain_pending, 0);
  while ((job = g_async_queue_try_pop (shared->results)) != NULL)
    {
      if (shared->owner != NULL)
        job_finished (shared->owner, job);
      job_free (job);
    }
}

static gboolean
drain_results_cb (gpointer user_data)
{
  drain_results (user_data);
  return G_SOURCE_REMOVE;
}

/* ---- scheduler: dispatch ---------------------------------------------------------------- */

/* Messages waiting per running connection before another connection to the
 * same next hop is opened (a slow start in the spirit of Postfix's
 * destination concurrency): a trickle of mail reuses one connection, a
 * backlog fans out up to delivery.max_per_destination (R-3.6). */
#define MESSAGES_PER_NEW_CONNECTION 10

typedef struct
{
  MgNextHop  *hop;
  GPtrArray  *items;        /* JobItem*, NULL once moved into a job */
  GPtrArray  *entries;      /* Entry* of each item */
} HopGroup;

static void
hop_group_free (HopGroup *group)
{
  mg_next_hop_free (group->hop);
  g_ptr_array_unref (group->items);
  g_ptr_array_unref (group->entries);
  g_free (group);
}

static HopGroup *
hop_group_get (GHashTable  *groups,
               GPtrArray   *order,
               MgNextHop  **hop)
{
  HopGroup *group = g_hash_table_lookup (groups, (*hop)->key);

  if (group != NULL)
    return group;
  group = g_new0 (HopGroup, 1);
  group->hop = g_steal_pointer (hop);
  group->items = g_ptr_array_new_with_free_func ((GDestroyNotify) job_item_free);
  group->entries = g_ptr_array_new ();
  g_hash_table_insert (groups, group->hop->key, group);
  g_ptr_array_add (order, group);
  return group;
}

/* Pass 1: route the pending recipients of @entry into @groups (one JobItem
 * per message and next hop). */
static void
collect_entry (MgDelivery *self,
               GHashTable *groups,
               GPtrArray  *order,
               Entry      *entry)
{
  MgQueueMessage *msg = entry->msg;
  g_autoptr(GHashTable) items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < msg->rcpts->len; i++)
    {
      MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, i);
      g_autoptr(MgNextHop) hop = NULL;
      JobItem *item;

      if (rcpt->state != MG_RCPT_STATE_PENDING)
        continue;
      hop = mg_route_lookup (self->config, rcpt->address);
      if (hop == NULL || hop->kind == MG_NEXT_HOP_NONE)
        {
          const char *why = hop != NULL && hop->why != NULL ? hop->why : "no route";

          MG_TRACE (msg->id, "%s", why);
          set_last_reply (rcpt, why);
          note_deferred (entry, i, why, FALSE);
          mg_log_event (MG_LOG_SENDER, msg->id, "from", msg->sender, "to", rcpt->address,
                        "relay", "none", "status", "deferred", "reply", why, NULL);
          continue;
        }

      item = g_hash_table_lookup (items, hop->key);
      if (item == NULL)
        {
          char *key = g_strdup (hop->key);
          HopGroup *group = hop_group_get (groups, order, &hop);

          item = job_item_new (msg);
          g_ptr_array_add (group->items, item);
          g_ptr_array_add (group->entries, entry);
          g_hash_table_insert (items, key, item);
        }
      job_item_add_rcpt (item, i, rcpt->address);
    }
}

/* Pass 2: turn @group into jobs within delivery.workers (in all) and
 * delivery.max_per_destination (per key); what does not fit waits. */
static void
start_jobs (MgDelivery *self,
            HopGroup   *group,
            GPtrArray  *new_jobs)
{
  const char *key = group->hop->key;
  guint workers = config_uint (self->config, "delivery.workers");
  guint max_dest = config_uint (self->config, "delivery.max_per_destination");
  guint max_conn = config_uint (self->config, "delivery.max_messages_per_connection");
  guint active = GPOINTER_TO_UINT (g_hash_table_lookup (self->active_per_key, key));
  guint n = group->items->len;
  guint slots, wanted, n_jobs, per_job, index = 0;

  slots = MIN (max_dest - MIN (active, max_dest), workers - MIN (self->n_active, workers));
  wanted = active > 0 ? n / MESSAGES_PER_NEW_CONNECTION
                      : (n + MESSAGES_PER_NEW_CONNECTION - 1) / MESSAGES_PER_NEW_CONNECTION;
  n_jobs = MIN (slots, wanted);
  if (n_jobs == 0)
    return;
  per_job = MIN ((n + n_jobs - 1) / n_jobs, max_conn);

  for (guint j = 0; j < n_jobs && index < n; j++)
    {
      Job *job = job_new (self, group->hop);

      for (guint k = 0; k < per_job && index < n; k++, index++)
        {
          Entry *entry = g_ptr_array_index (group->entries, index);

          g_ptr_array_add (job->items, g_steal_pointer (&group->items->pdata[index]));
          entry->jobs++;
          MG_TRACE (entry->msg->id, "%s", group->hop->why != NULL ? group->hop->why : key);
        }
      self->n_active++;
      active++;
      g_hash_table_replace (self->active_per_key, g_strdup (key), GUINT_TO_POINTER (active));
      g_ptr_array_add (new_jobs, job);
    }
}

/* An entry that waits for its next attempt leaves the list dispatch()
 * walks: with a next hop down for hours, tens of thousands of deferred
 * messages were looked at again for every new one (bench/: 30,000 deferred
 * messages took relaying from 3,200 to 2,000 messages/s, CPU per message
 * 0.28 -> 0.66 ms). */
static void
park_entry (MgDelivery *self,
            Entry      *entry)
{
  g_queue_unlink (&self->entries, entry->link);
  g_queue_push_tail_link (&self->parked, entry->link);
  entry->parked = TRUE;
  self->parked_due = MIN (self->parked_due, entry->msg->next_attempt);
}

static void
unpark_entry (MgDelivery *self,
              Entry      *entry)
{
  g_queue_unlink (&self->parked, entry->link);
  g_queue_push_tail_link (&self->entries, entry->link);
  entry->parked = FALSE;
}

/* Back to the dispatch list: the parked entries due at @now (all of them
 * with @now G_MAXINT64).  Walks the parked list only when one is due. */
static void
unpark_due (MgDelivery *self,
            gint64      now)
{
  GList *next;

  if (now < self->parked_due)
    return;
  self->parked_due = G_MAXINT64;
  for (GList *l = self->parked.head; l != NULL; l = next)
    {
      Entry *entry = l->data;

      next = l->next;
      if (entry->msg->next_attempt <= now)
        unpark_entry (self, entry);
      else
        self->parked_due = MIN (self->parked_due, entry->msg->next_attempt);
    }
}

static void
dispatch (MgDelivery *self)
{
  g_autoptr(GHashTable) groups = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func ((GDestroyNotify) hop_group_free);
  g_autoptr(GPtrArray) touched = g_ptr_array_new ();
  g_autoptr(GPtrArray) new_jobs = g_ptr_array_new ();
  gint64 now = g_get_real_time ();
  GList *next;

  if (!self->running || self->pool == NULL)
    return;

  unpark_due (self, now);
  for (GList *l = self->entries.head; l != NULL; l = next)
    {
      Entry *entry = l->data;

      next = l->next;
      if (entry->jobs == 0 && entry->msg->next_attempt > now)
        {
          park_entry (self, entry);
          continue;
        }
      if (entry->jobs > 0 || entry->msg->held)
        continue;
      if (all_final (entry->msg))
        {
          /* stored before a crash between "every recipient final" and removal */
          remove_entry (self, entry, TRUE);
          continue;
        }
      collect_entry (self, groups, order, entry);
      g_ptr_array_add (touched, entry);
    }

  for (guint i = 0; i < order->len; i++)
    start_jobs (self, g_ptr_array_index (order, i), new_jobs);

  /* only configuration gaps (MG_NEXT_HOP_NONE) this round: settle now */
  for (guint i = 0; i < touched->len; i++)
    {
      Entry *entry = g_ptr_array_index (touched, i);

      if (entry->jobs == 0 && entry->round)
        finalize_entry (self, entry);
    }

  for (guint i = 0; i < new_jobs->len; i++)
    {
      g_autoptr(GError) error = NULL;

      /* a failed thread start still leaves the job queued in the pool */
      if (!g_thread_pool_push (self->pool, g_ptr_array_index (new_jobs, i), &error))
        g_warning ("delivery: starting a worker: %s", error->message);
    }
}

static gboolean
dispatch_idle_cb (gpointer user_data)
{
  MgDelivery *self = user_data;

  g_clear_pointer (&self->dispatch_idle, g_source_unref);
  dispatch (self);
  return G_SOURCE_REMOVE;
}

/* Dispatch soon (next main loop iteration), once however often asked. */
static void
schedule_dispatch (MgDelivery *self)
{
  if (!self->running || self->dispatch_idle != NULL)
    return;
  self->dispatch_idle = g_idle_source_new ();
  g_source_set_callback (self->dispatch_idle, dispatch_idle_cb, self, NULL);
  g_source_set_name (self->dispatch_idle, "mg-delivery-dispatch");
  g_source_attach (self->dispatch_idle, self->context);
}

static void
cancel_dispatch (MgDelivery *self)
{
  if (self->dispatch_idle != NULL)
    {
      g_source_destroy (self->dispatch_idle);
      g_clear_pointer (&self->dispatch_idle, g_source_unref);
    }
}

static gboolean
tick_cb (gpointer user_data)
{
  MgDelivery *self = user_data;

  reap_idle (self->shared, FALSE);
  dispatch (self);   /* retries that came due */
  return G_SOURCE_CONTINUE;
}

/* ---- DNS and our own addresses ---------------------------------------------------- */

/* (Re)creates the resolver when dns.forwarder changed.  A resolver that
 * cannot be set up is logged; MX hops then wait (temporary failure). */
static void
update_resolver (MgDelivery *self)
{
  const char *forwarder = mg_config_get_string (self->config, "dns.forwarder");
  g_autoptr(GError) error = NULL;
  MgResolver *resolver, *old;

  if (forwarder == NULL)
    forwarder = "";
  g_mutex_lock (&self->shared->lock);
  resolver = self->shared->resolver;
  if (resolver != NULL && g_str_equal (mg_resolver_get_forwarder (resolver), forwarder))
    {
      g_mutex_unlock (&self->shared->lock);
      return;
    }
  g_mutex_unlock (&self->shared->lock);

  resolver = mg_resolver_new (forwarder, &error);
  if (resolver == NULL)
    g_warning ("delivery: DNS resolver (dns.forwarder \"%s\"): %s", forwarder, error->message);

  g_mutex_lock (&self->shared->lock);
  old = self->shared->resolver;
  self->shared->resolver = resolver;
  g_mutex_unlock (&self->shared->lock);
  g_clear_pointer (&old, mg_resolver_unref);
}

void
mg_delivery_set_local_addresses (MgDelivery         *self,
                                 const char * const *bound)
{
  g_autoptr(GPtrArray) local = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *old;

  g_return_if_fail (self != NULL);

  for (guint i = 0; bound != NULL && bound[i] != NULL; i++)
    {
      const char *colon = strrchr (bound[i], ':');
      g_autofree char *host = NULL;
      g_autoptr(GInetAddress) address = NULL;
      guint64 port = 0;

      if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
        continue;
      host = g_strndup (bound[i], (gsize) (colon - bound[i]));
      g_strstrip (g_strdelimit (host, "[]", ' '));
      address = g_inet_address_new_from_string (host);
      if (address != NULL)
        g_ptr_array_add (local, g_inet_socket_address_new (address, (guint16) port));
    }

  g_mutex_lock (&self->shared->lock);
  old = self->shared->local;
  self->shared->local = g_steal_pointer (&local);
  g_mutex_unlock (&self->shared->lock);
  g_ptr_array_unref (old);
}

/* ---- public API ---------------------------------------------------------------------- */

MgDelivery *
mg_delivery_new (MgQueue    *queue,
                 MgConfig   *config,
                 const char *state_dir)
{
  MgDelivery *self;

  g_return_val_if_fail (queue != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_new0 (MgDelivery, 1);
  self->context = g_main_context_ref_thread_default ();
  self->shared = shared_new (self, self->context, queue, state_dir);
  self->config = mg_config_ref (config);
  g_queue_init (&self->entries);
  g_queue_init (&self->parked);
  self->parked_due = G_MAXINT64;
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->active_per_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  self->tick = g_timeout_source_new_seconds (1);
  g_source_set_callback (self->tick, tick_cb, self, NULL);
  g_source_set_name (self->tick, "mg-delivery-tick");
  g_source_attach (self->tick, self->context);
  update_resolver (self);
  return self;
}

void
mg_delivery_free (MgDelivery *self)
{
  if (self == NULL)
    return;

  self->running = FALSE;
  cancel_dispatch (self);
  /* waits for the jobs (bounded by delivery.timeout), then applies their
   * results so delivered recipients are recorded */
  if (self->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, TRUE);
  drain_results (self->shared);
  self->shared->owner = NULL;   /* late idle callbacks: nothing to touch */

  g_source_destroy (self->tick);
  g_source_unref (self->tick);
  reap_idle (self->shared, TRUE);

  while (!g_queue_is_empty (&self->entries))
    entry_free (g_queue_pop_head (&self->entries));
  while (!g_queue_is_empty (&self->parked))
    entry_free (g_queue_pop_head (&self->parked));
  g_hash_table_unref (self->by_id);
  g_hash_table_unref (self->active_per_key);
  mg_config_unref (self->config);
  shared_unref (self->shared);
  g_main_context_unref (self->context);
  g_free (self);
}

void
mg_delivery_set_config (MgDelivery *self,
                        MgConfig   *config)
{
  g_return_if_fail (self != NULL && config != NULL);

  mg_config_ref (config);
  mg_config_unref (self->config);
  self->config = config;
  update_resolver (self);
  if (self->pool != NULL)
    g_thread_pool_set_max_threads (self->pool, config_uint (config, "delivery.workers"), NULL);
  schedule_dispatch (self);
}

static gint
compare_messages (gconstpointer a,
                  gconstpointer b)
{
  const MgQueueMessage *ma = *(MgQueueMessage * const *) a;
  const MgQueueMessage *mb = *(MgQueueMessage * const *) b;

  if (ma->received_at != mb->received_at)
    return ma->received_at < mb->received_at ? -1 : 1;
  return g_strcmp0 (ma->id, mb->id);
}

static gint
compare_entries (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  const MgQueueMessage *ma = ((const Entry *) a)->msg;
  const MgQueueMessage *mb = ((const Entry *) b)->msg;

  if (ma->received_at != mb->received_at)
    return ma->received_at < mb->received_at ? -1 : 1;
  return g_strcmp0 (ma->id, mb->id);
}

gboolean
mg_delivery_start (MgDelivery  *self,
                   GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->running)
    return TRUE;

  if (!self->loaded)
    {
      g_autoptr(GPtrArray) messages = mg_queue_load_all (self->shared->queue, error);

      if (messages == NULL)
        return FALSE;
      for (guint i = 0; i < messages->len; i++)
        add_entry (self, g_ptr_array_index (messages, i));
      g_queue_sort (&self->entries, compare_entries, NULL);
      self->loaded = TRUE;
    }

  if (self->pool == NULL)
    {
      self->pool = g_thread_pool_new (worker_run, NULL,
                                      (gint) config_uint (self->config, "delivery.workers"),
                                      FALSE, error);
      if (self->pool == NULL)
        return FALSE;
    }

  self->running = TRUE;
  schedule_dispatch (self);
  return TRUE;
}

void
mg_delivery_stop (MgDelivery *self)
{
  g_return_if_fail (self != NULL);

  self->running = FALSE;
  cancel_dispatch (self);
  reap_idle (self->shared, TRUE);
}

gboolean
mg_delivery_is_running (MgDelivery *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->running;
}

void
mg_delivery_add (MgDelivery     *self,
                 MgQueueMessage *msg)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (msg != NULL && msg->id != NULL);

  if (add_entry (self, msg) != NULL)
    schedule_dispatch (self);   /* the hot path: no polling delay */
}

gboolean
mg_delivery_flush (MgDelivery *self,
                   const char *id)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (id != NULL)
    {
      Entry *entry = g_hash_table_lookup (self->by_id, id);

      if (entry == NULL)
        return FALSE;
      entry->msg->next_attempt = 0;
      if (entry->parked)
        unpark_entry (self, entry);
    }
  else
    {
      unpark_due (self, G_MAXINT64);
      for (GList *l = self->entries.head; l != NULL; l = l->next)
        ((Entry *) l->data)->msg->next_attempt = 0;
    }
  schedule_dispatch (self);
  return TRUE;
}

gboolean
mg_delivery_hold (MgDelivery *self,
                  const char *id,
                  gboolean    held)
{
  Entry *entry;

  g_return_val_if_fail (self != NULL && id != NULL, FALSE);

  entry = g_hash_table_lookup (self->by_id, id);
  if (entry == NULL)
    return FALSE;
  entry->msg->held = held;
  mg_queue_update (self->shared->queue, entry->msg, self->context, NULL, NULL);
  if (!held)
    schedule_dispatch (self);
  return TRUE;
}

gboolean
mg_delivery_delete (MgDelivery *self,
                    const char *id)
{
  Entry *entry;

  g_return_val_if_fail (self != NULL && id != NULL, FALSE);

  entry = g_hash_table_lookup (self->by_id, id);
  if (entry == NULL)
    return FALSE;
  g_message ("%s: removed from the queue by the operator", id);
  remove_entry (self, entry, TRUE);   /* results of running jobs are ignored */
  return TRUE;
}

GPtrArray *
mg_delivery_list (MgDelivery *self)
{
  GPtrArray *list;

  g_return_val_if_fail (self != NULL, NULL);

  list = g_ptr_array_new_full (self->entries.length + self->parked.length,
                               (GDestroyNotify) mg_queue_message_unref);
  for (GList *l = self->entries.head; l != NULL; l = l->next)
    g_ptr_array_add (list, mg_queue_message_ref (((Entry *) l->data)->msg));
  for (GList *l = self->parked.head; l != NULL; l = l->next)
    g_ptr_array_add (list, mg_queue_message_ref (((Entry *) l->data)->msg));
  g_ptr_array_sort (list, compare_messages);   /* oldest first, whichever list */
  return list;
}

MgQueueMessage *
mg_delivery_lookup (MgDelivery *self,
                    const char *id)
{
  Entry *entry;

  g_return_val_if_fail (self != NULL && id != NULL, NULL);

  entry = g_hash_table_lookup (self->by_id, id);
  return entry != NULL ? mg_queue_message_ref (entry->msg) : NULL;
}

char *
mg_delivery_read_headers (MgDelivery  *self,
                          const char  *id,
                          GError     **error)
{
  g_autoptr(GBytes) body = NULL;
  const char *data, *end;
  gsize len = 0;

  g_return_val_if_fail (self != NULL && id != NULL, NULL);

  body = mg_queue_read_body (self->shared->queue, id, error);
  if (body == NULL)
    return NULL;
  data = g_bytes_get_data (body, &len);
  end = g_strstr_len (data, (gssize) len, "\r\n\r\n");
  return g_strndup (data, end != NULL ? (gsize) (end - data) + 2 : len);
}

guint
mg_delivery_n_queued (MgDelivery *self)
{
  return self->entries.length + self->parked.length;
}

guint
mg_delivery_n_active (MgDelivery *self)
{
  return self->n_active;
}

guint64
mg_delivery_n_delivered (MgDelivery *self)
{
  return self->n_delivered;
}

guint64
mg_delivery_n_failed (MgDelivery *self)
{
  return self->n_failed;
}

guint64
mg_delivery_n_deferred (MgDelivery *self)
{
  return self->n_deferred;
}

guint64
mg_delivery_n_connections (MgDelivery *self)
{
  guint64 n;

  g_mutex_lock (&self->shared->lock);
  n = (guint64) self->shared->n_connections;
  g_mutex_unlock (&self->shared->lock);
  return n;
}
