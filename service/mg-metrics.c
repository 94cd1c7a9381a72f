/* mg-metrics.c - counters and gauges for monitoring (issue 7 item 9)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Rendering is a table from status keys to metric names, types and help
 * texts (never translated: operators' tools read them).  The HTTP side is
 * as small as HTTP allows: read the request (bounded), answer 200 with the
 * text, close.  Requests are served asynchronously on the main context, so
 * a slow client never holds anything up.
 */
#include "config.h"

#include <string.h>

#include "mg-address.h"
#include "mg-metrics.h"

typedef struct
{
  const char *key;       /* status key */
  const char *name;      /* metric name */
  const char *type;      /* counter / gauge */
  const char *help;
} MetricInfo;

static const MetricInfo metrics[] = {
  { "connections", "mailgate_connections_total", "counter", "SMTP connections accepted by the receiver" },
  { "sessions", "mailgate_sessions", "gauge", "SMTP sessions open now" },
  { "received", "mailgate_messages_received_total", "counter", "Messages acknowledged with 250 (durable)" },
  { "queue", "mailgate_queue_messages", "gauge", "Messages in the queue" },
  { "active", "mailgate_delivery_jobs", "gauge", "Delivery jobs running" },
  { "delivered", "mailgate_recipients_delivered_total", "counter", "Recipients delivered (250 from the next hop)" },
  { "deferred", "mailgate_delivery_deferred_total", "counter", "Delivery attempts that failed temporarily" },
  { "failed", "mailgate_recipients_failed_total", "counter", "Recipients failed permanently" },
  { "delivery-connections", "mailgate_delivery_connections_total", "counter", "Connections opened to next hops" },
  { "commits", "mailgate_queue_commits_total", "counter", "Messages whose queue commit completed" },
  { "commit-latency-avg-ms", "mailgate_commit_latency_avg_milliseconds", "gauge", "Average time from the end of DATA to the durable queue" },
  { "commit-latency-max-ms", "mailgate_commit_latency_max_milliseconds", "gauge", "Longest time from the end of DATA to the durable queue" },
};

static void
append_value (GString  *out,
              GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", g_variant_get_uint64 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    g_string_append_printf (out, "%u\n", g_variant_get_uint32 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (out, "%s\n", g_ascii_dtostr (buf, sizeof buf, g_variant_get_double (value)));
    }
  else
    g_string_append (out, "0\n");
}

static void
render_up (GString    *out,
           GVariant   *status,
           const char *service)
{
  g_autoptr(GVariant) state = g_variant_lookup_value (status, service, G_VARIANT_TYPE_STRING);

  g_string_append_printf (out, "mailgate_service_up{service=\"%s\"} %d\n", service,
                          state != NULL && g_strcmp0 (g_variant_get_string (state, NULL), "running") == 0);
}

static void
render_rejections (GString  *out,
                   GVariant *status)
{
  g_autoptr(GVariant) rejections = g_variant_lookup_value (status, "rejections", G_VARIANT_TYPE ("a{st}"));
  GVariantIter iter;
  const char *key;
  guint64 count;

  g_string_append (out, "# HELP mailgate_rejections_total SMTP replies refusing something, by code and enhanced status\n"
                        "# TYPE mailgate_rejections_total counter\n");
  if (rejections == NULL)
    return;
  g_variant_iter_init (&iter, rejections);
  while (g_variant_iter_next (&iter, "{&st}", &key, &count))
    {
      /* "550 5.1.1": the code, and the enhanced status when there is one */
      g_autofree char *code = g_strndup (key, 3);
      const char *enhanced = strlen (key) > 4 ? key + 4 : "";

      g_string_append_printf (out, "mailgate_rejections_total{code=\"%s\",status=\"%s\"} %" G_GUINT64_FORMAT "\n",
                              code, enhanced, count);
    }
}

char *
mg_metrics_render (GVariant *status)
{
  g_autoptr(GString) out = g_string_sized_new (2048);

  g_return_val_if_fail (status != NULL, NULL);

  g_string_append (out, "# HELP mailgate_service_up 1 when the service runs\n"
                        "# TYPE mailgate_service_up gauge\n");
  render_up (out, status, "receiver");
  render_up (out, status, "delivery");

  for (gsize i = 0; i < G_N_ELEMENTS (metrics); i++)
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (status, metrics[i].key, NULL);

      if (value == NULL)
        continue;
      g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s ",
                              metrics[i].name, metrics[i].help,
                              metrics[i].name, metrics[i].type, metrics[i].name);
      append_value (out, value);
    }
  render_rejections (out, status);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- the HTTP endpoint ---------------------------------------------------- */

#define MAX_REQUEST 4096

struct _MgMetricsServer
{
  GSocketService       *service;
  MgMetricsStatusFunc   status;
  gpointer              user_data;
  GCancellable         *cancellable;
  char                 *address;
};

typedef struct
{
  MgMetricsServer   *server;      /* NULL once the server is gone */
  GSocketConnection *connection;
  char               buffer[MAX_REQUEST];
  char              *response;
} Request;

static void
request_free (Request *request)
{
  g_io_stream_close (G_IO_STREAM (request->connection), NULL, NULL);
  g_object_unref (request->connection);
  g_free (request->response);
  g_free (request);
}

static void
on_written_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  request_free (user_data);
}

static void
on_request_read_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autofree char *body = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n <= 0 || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      request_free (request);
      return;
    }

  /* any request gets the metrics: this endpoint has one page */
  status = g_variant_ref_sink (request->server->status (request->server->user_data));
  body = mg_metrics_render (status);
  request->response = g_strdup_printf ("HTTP/1.0 200 OK\r\n"
                                       "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                       "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                       "Connection: close\r\n"
                                       "\r\n%s", strlen (body), body);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (request->connection)),
                                   request->response, strlen (request->response),
                                   G_PRIORITY_DEFAULT, request->server->cancellable,
                                   on_written_cb, request);
}

static gboolean
on_incoming_cb (GSocketService    *service,
                GSocketConnection *connection,
                GObject           *source_object,
                gpointer           user_data)
{
  MgMetricsServer *self = user_data;
  Request *request = g_new0 (Request, 1);

  request->server = self;
  request->connection = g_object_ref (connection);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             request->buffer, sizeof request->buffer, G_PRIORITY_DEFAULT,
                             self->cancellable, on_request_read_cb, request);
  return TRUE;
}

MgMetricsServer *
mg_metrics_server_new (const char           *address,
                       MgMetricsStatusFunc   status,
                       gpointer              user_data,
                       GError              **error)
{
  g_autoptr(MgMetricsServer) self = g_new0 (MgMetricsServer, 1);
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) sockaddr = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (!mg_host_port_parse (address, 0, &host, &port) ||
      (inet = g_inet_address_new_from_string (host)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "metrics: not an address and port: %s", address);
      return NULL;
    }

  self->status = status;
  self->user_data = user_data;
  self->address = g_strdup (address);
  self->cancellable = g_cancellable_new ();
  self->service = g_socket_service_new ();
  sockaddr = g_inet_socket_address_new (inet, port);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), sockaddr,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, NULL, error))
    {
      g_prefix_error (error, "metrics: cannot listen on %s: ", address);
      return NULL;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming_cb), self);
  g_socket_service_start (self->service);
  return g_steal_pointer (&self);
}

void
mg_metrics_server_free (MgMetricsServer *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);   /* requests in flight end, freeing themselves */
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_object_unref (self->service);
    }
  g_clear_object (&self->cancellable);
  g_free (self->address);
  g_free (self);
}

const char *
mg_metrics_server_get_address (MgMetricsServer *self)
{
  return self->address;
}
