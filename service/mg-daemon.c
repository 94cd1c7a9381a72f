/* mg-daemon.c - owns the store, receiver, delivery and control server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The daemon is glue: it opens config.db and the queue, builds the current
 * MgConfig snapshot, and hands each new snapshot to the receiver and
 * delivery when the configuration changes (live, no restart).  The receiver
 * reports acknowledged messages from its own thread; they reach delivery on
 * the main thread through the main context, gathered for DELIVERY_GATHER_MS:
 * one wake-up of the main thread, one dispatch and one job for several
 * messages when they trickle in (bench/: a single client cost about four
 * thread wake-ups per message on the delivery side).
 *
 * Threading: main thread only, except on_message_queued (receiver thread).
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "mg-control-server.h"
#include "mg-daemon.h"
#include "mg-error.h"
#include "mg-log.h"
#include "mg-metrics.h"
#include "mg-problem.h"
#include "mg-receiver.h"
#include "mg-trace.h"

struct _MgDaemon
{
  char            *state_dir;
  char            *socket_path;
  GMainContext    *context;        /* the main thread's */

  MgConfigStore   *store;
  MgConfig        *config;
  MgQueue         *queue;
  MgDelivery      *delivery;
  MgReceiver      *receiver;
  MgControlServer *control;
  MgMetricsServer *metrics;        /* metrics.listen, NULL when off */

  GMutex           queued_lock;    /* guards the two below (receiver thread) */
  GPtrArray       *queued;         /* MgQueueMessage*, acknowledged, not yet in delivery */
  GSource         *queued_source;  /* the timeout that hands them over */
};

#define DELIVERY_GATHER_MS 5

static void
emit_status_changed (MgDaemon *self)
{
  if (self->control != NULL)
    mg_control_server_emit_status_changed (self->control);
}

/* ---- receiver -> delivery --------------------------------------------- */

/* Main thread: everything the receiver acknowledged so far goes to delivery. */
static void
flush_queued (MgDaemon *self)
{
  g_autoptr(GPtrArray) batch = NULL;

  g_mutex_lock (&self->queued_lock);
  if (self->queued->len == 0)
    {
      g_mutex_unlock (&self->queued_lock);   /* nothing gathered: no timeout pending either */
      return;
    }
  batch = g_steal_pointer (&self->queued);
  self->queued = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_message_unref);
  if (self->queued_source != NULL)
    {
      g_source_destroy (self->queued_source);
      g_clear_pointer (&self->queued_source, g_source_unref);
    }
  g_mutex_unlock (&self->queued_lock);

  for (guint i = 0; i < batch->len && self->delivery != NULL; i++)
    mg_delivery_add (self->delivery, g_ptr_array_index (batch, i));
}

static gboolean
deliver_queued_cb (gpointer user_data)
{
  flush_queued (user_data);
  return G_SOURCE_REMOVE;
}

/* Receiver thread: the message is durable; delivery lives on the main thread. */
static void
on_message_queued (MgQueueMessage *msg,
                   gpointer        user_data)
{
  MgDaemon *self = user_data;

  g_mutex_lock (&self->queued_lock);
  g_ptr_array_add (self->queued, mg_queue_message_ref (msg));
  if (self->queued_source == NULL)
    {
      self->queued_source = g_timeout_source_new (DELIVERY_GATHER_MS);
      g_source_set_callback (self->queued_source, deliver_queued_cb, self, NULL);
      g_source_set_static_name (self->queued_source, "[mailgate] queued -> delivery");
      g_source_attach (self->queued_source, self->context);
    }
  g_mutex_unlock (&self->queued_lock);
}

/* ---- listeners -------------------------------------------------------- */

static void
listener_spec_free (MgListenerSpec *spec)
{
  g_free (spec->address);
  g_free (spec);
}

/* Parse @specs into MgListenerSpec*; problems for the bad ones. */
static GPtrArray *
parse_specs (const char * const *specs,
             GPtrArray          *problems)
{
  g_autoptr(GPtrArray) parsed = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_spec_free);
  gboolean ok = TRUE;

  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      MgListenerSpec *spec = g_new0 (MgListenerSpec, 1);

      if (!mg_listener_spec_parse_full (specs[i], &spec->address, &spec->port, &spec->tls))
        {
          mg_problems_add (problems, MG_PROBLEM_INVALID_LISTENER, "listen", specs[i]);
          listener_spec_free (spec);
          ok = FALSE;
          continue;
        }
      g_ptr_array_add (parsed, spec);
    }

  return ok ? g_steal_pointer (&parsed) : NULL;
}

static MgListenerSet *
bind_configured (MgDaemon       *self,
                 MgListenerSet  *reuse,
                 GError        **error)
{
  MgListenerSet *set;

  if (self->config->listeners->len == 0)
    {
      g_set_error_literal (error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_BIND_FAILED,
                           "no listeners are configured (mailgatectl listen set ADDR:PORT)");
      return NULL;
    }

  set = mg_receiver_bind (self->config->listeners, reuse, error);
  if (set == NULL)
    {
      g_prefix_error (error, "receiver not started: ");
      if ((*error)->domain != MG_CONTROL_ERROR)
        {
          (*error)->domain = MG_CONTROL_ERROR;
          (*error)->code = MG_CONTROL_ERROR_BIND_FAILED;
        }
    }
  return set;
}

gboolean
mg_daemon_set_listeners (MgDaemon            *self,
                         const char * const  *specs,
                         GPtrArray           *problems,
                         GError             **error)
{
  g_autoptr(GPtrArray) parsed = NULL;
  g_autoptr(MgListenerSet) set = NULL;
  gboolean running = mg_receiver_is_running (self->receiver);

  parsed = parse_specs (specs, problems);
  if (parsed == NULL)
    return FALSE;

  /* Bind first: a port that cannot be had changes nothing (R-5 "a failed
   * bind rolls back with the reason shown"). */
  if (running)
    {
      g_autoptr(GError) bind_error = NULL;

      set = mg_receiver_bind (parsed, mg_receiver_get_listeners (self->receiver), &bind_error);
      if (set == NULL)
        {
          mg_problems_add (problems, MG_PROBLEM_BIND_FAILED, "listen", bind_error->message);
          MG_TRACE ("daemon", "listeners unchanged: %s", bind_error->message);
          return FALSE;
        }
    }

  if (!mg_config_store_set_listeners (self->store, specs, problems, error))
    return FALSE;
  if (!mg_daemon_config_changed (self, error))
    return FALSE;

  if (running)
    {
      g_auto(GStrv) bound = mg_listener_set_describe (set);
      g_autofree char *text = g_strjoinv (", ", bound);

      mg_receiver_start (self->receiver, g_steal_pointer (&set));
      mg_delivery_set_local_addresses (self->delivery, (const char * const *) bound);
      MG_TRACE ("daemon", "listening on %s", text);
      g_message ("receiver listening on %s", text);
    }
  emit_status_changed (self);
  return TRUE;
}

gboolean
mg_daemon_import_config (MgDaemon   *self,
                         MgConfig   *config,
                         GPtrArray  *problems,
                         GError    **error)
{
  g_autoptr(MgListenerSet) set = NULL;
  gboolean running = mg_receiver_is_running (self->receiver);

  if (running)
    {
      g_autoptr(GError) bind_error = NULL;

      set = mg_receiver_bind (config->listeners, mg_receiver_get_listeners (self->receiver),
                              &bind_error);
      if (set == NULL)
        {
          mg_problems_add (problems, MG_PROBLEM_BIND_FAILED, "$.listeners", bind_error->message);
          return FALSE;
        }
    }

  if (!mg_config_store_replace (self->store, config, error))
    return FALSE;
  if (!mg_daemon_config_changed (self, error))
    return FALSE;
  if (running)
    mg_receiver_start (self->receiver, g_steal_pointer (&set));

  g_message ("configuration imported");
  MG_TRACE ("daemon", "configuration imported");
  emit_status_changed (self);
  return TRUE;
}

void
mg_daemon_reload (MgDaemon *self)
{
  g_autoptr(GError) error = NULL;

  if (!mg_daemon_config_changed (self, &error))
    g_warning ("reload: %s", error->message);
  mg_receiver_reload_tls (self->receiver);
}

/* ---- services --------------------------------------------------------- */

gboolean
mg_service_from_string (const char *name,
                        MgService  *out)
{
  if (g_strcmp0 (name, "receiver") == 0)
    *out = MG_SERVICE_RECEIVER;
  else if (g_strcmp0 (name, "delivery") == 0)
    *out = MG_SERVICE_DELIVERY;
  else if (g_strcmp0 (name, "all") == 0)
    *out = MG_SERVICE_ALL;
  else
    return FALSE;
  return TRUE;
}

static gboolean
start_receiver (MgDaemon  *self,
                GError   **error)
{
  MgListenerSet *set;
  g_auto(GStrv) bound = NULL;
  g_autofree char *text = NULL;

  if (mg_receiver_is_running (self->receiver))
    return TRUE;

  set = bind_configured (self, NULL, error);
  if (set == NULL)
    return FALSE;

  bound = mg_listener_set_describe (set);
  text = g_strjoinv (", ", bound);
  mg_receiver_start (self->receiver, set);
  mg_delivery_set_local_addresses (self->delivery, (const char * const *) bound);
  g_message ("receiver started, listening on %s", text);
  MG_TRACE ("daemon", "receiver started, listening on %s", text);
  return TRUE;
}

gboolean
mg_daemon_start (MgDaemon   *self,
                 MgService   services,
                 GError    **error)
{
  gboolean ok = TRUE;

  if ((services & MG_SERVICE_DELIVERY) && !mg_delivery_is_running (self->delivery))
    {
      ok = mg_delivery_start (self->delivery, error);
      if (ok)
        {
          g_message ("delivery started");
          MG_TRACE ("daemon", "delivery started");
        }
    }
  if (ok && (services & MG_SERVICE_RECEIVER))
    ok = start_receiver (self, error);

  emit_status_changed (self);
  return ok;
}

void
mg_daemon_stop (MgDaemon  *self,
                MgService  services)
{
  if ((services & MG_SERVICE_RECEIVER) && mg_receiver_is_running (self->receiver))
    {
      mg_receiver_stop (self->receiver);
      g_message ("receiver stopped");
      MG_TRACE ("daemon", "receiver stopped");
    }
  if ((services & MG_SERVICE_DELIVERY) && mg_delivery_is_running (self->delivery))
    {
      mg_delivery_stop (self->delivery);
      g_message ("delivery stopped");
      MG_TRACE ("daemon", "delivery stopped");
    }
  emit_status_changed (self);
}

/* ---- metrics endpoint --------------------------------------------------- */

static GVariant *
metrics_status_cb (gpointer user_data)
{
  return mg_daemon_get_status (user_data);
}

/* Start, move or stop the Prometheus endpoint to match metrics.listen.  A
 * port that cannot be had is reported and leaves the endpoint off: the
 * mail service does not depend on it. */
static void
apply_metrics (MgDaemon *self)
{
  const char *wanted = mg_config_get_string (self->config, "metrics.listen");
  g_autoptr(GError) error = NULL;

  if (self->metrics != NULL &&
      g_strcmp0 (mg_metrics_server_get_address (self->metrics), wanted) == 0)
    return;
  g_clear_pointer (&self->metrics, mg_metrics_server_free);
  if (wanted == NULL || *wanted == '\0')
    return;

  self->metrics = mg_metrics_server_new (wanted, metrics_status_cb, self, &error);
  if (self->metrics == NULL)
    {
      g_warning ("%s", error->message);
      MG_TRACE ("daemon", "%s", error->message);
      return;
    }
  MG_TRACE ("daemon", "metrics on http://%s/metrics", wanted);
}

/* ---- configuration ---------------------------------------------------- */

gboolean
mg_daemon_config_changed (MgDaemon  *self,
                          GError   **error)
{
  MgConfig *config = mg_config_store_snapshot (self->store, error);

  if (config == NULL)
    return FALSE;

  g_clear_pointer (&self->config, mg_config_unref);
  self->config = config;
  mg_receiver_set_config (self->receiver, config);
  mg_delivery_set_config (self->delivery, config);
  apply_metrics (self);
  MG_TRACE ("daemon", "configuration applied");
  return TRUE;
}

MgConfigStore *
mg_daemon_get_store (MgDaemon *self)
{
  return self->store;
}

MgConfig *
mg_daemon_get_config (MgDaemon *self)
{
  return mg_config_ref (self->config);
}

/* Whoever looks at delivery (the queue's listing and status, a flush, a
 * hold) sees the messages still being gathered too. */
MgDelivery *
mg_daemon_get_delivery (MgDaemon *self)
{
  flush_queued (self);
  return self->delivery;
}

MgQueue *
mg_daemon_get_queue (MgDaemon *self)
{
  return self->queue;
}

GStrv
mg_daemon_get_bound (MgDaemon *self)
{
  return mg_listener_set_describe (mg_receiver_get_listeners (self->receiver));
}

GVariant *
mg_daemon_get_status (MgDaemon *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto(GStrv) bound = mg_daemon_get_bound (self);
  guint64 commits, sum_us, max_us;

  flush_queued (self);   /* "queue" counts the messages being gathered */
  g_variant_builder_add (&builder, "{sv}", "version", g_variant_new_string (PACKAGE_VERSION));
  g_variant_builder_add (&builder, "{sv}", "pid", g_variant_new_uint32 (getpid ()));
  g_variant_builder_add (&builder, "{sv}", "state-dir", g_variant_new_string (self->state_dir));
  g_variant_builder_add (&builder, "{sv}", "receiver",
                         g_variant_new_string (mg_receiver_is_running (self->receiver) ? "running" : "stopped"));
  g_variant_builder_add (&builder, "{sv}", "delivery",
                         g_variant_new_string (mg_delivery_is_running (self->delivery) ? "running" : "stopped"));
  g_variant_builder_add (&builder, "{sv}", "listeners", g_variant_new_strv ((const char * const *) bound, -1));
  g_variant_builder_add (&builder, "{sv}", "sessions", g_variant_new_uint32 (mg_receiver_n_sessions (self->receiver)));
  g_variant_builder_add (&builder, "{sv}", "connections", g_variant_new_uint64 (mg_receiver_n_connections (self->receiver)));
  g_variant_builder_add (&builder, "{sv}", "received", g_variant_new_uint64 (mg_receiver_n_received (self->receiver)));
  g_variant_builder_add (&builder, "{sv}", "queue", g_variant_new_uint32 (mg_delivery_n_queued (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "active", g_variant_new_uint32 (mg_delivery_n_active (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "delivered", g_variant_new_uint64 (mg_delivery_n_delivered (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "deferred", g_variant_new_uint64 (mg_delivery_n_deferred (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "failed", g_variant_new_uint64 (mg_delivery_n_failed (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "delivery-connections",
                         g_variant_new_uint64 (mg_delivery_n_connections (self->delivery)));
  g_variant_builder_add (&builder, "{sv}", "rejections", mg_receiver_get_rejections (self->receiver));
  mg_receiver_get_commit_latency (self->receiver, &commits, &sum_us, &max_us);
  g_variant_builder_add (&builder, "{sv}", "commits", g_variant_new_uint64 (commits));
  g_variant_builder_add (&builder, "{sv}", "commit-latency-avg-ms",
                         g_variant_new_double (commits > 0 ? sum_us / 1000.0 / commits : 0.0));
  g_variant_builder_add (&builder, "{sv}", "commit-latency-max-ms", g_variant_new_double (max_us / 1000.0));
  return g_variant_builder_end (&builder);
}

/* ---- the seed's "epstrs -debug" header -------------------------------- */

static void
describe_line (GString    *out,
               const char *name,
               const char *value)
{
  g_string_append_printf (out, "%-32s %s\n", name, value);
}

char *
mg_daemon_describe (MgDaemon *self)
{
  MgConfig *config = self->config;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GList) keys = g_hash_table_get_keys (config->settings);

  g_string_append_printf (out, "Debugging mailgate %s: receiver and delivery agent.\n", PACKAGE_VERSION);
  describe_line (out, "State folder", self->state_dir);
  describe_line (out, "Control socket", self->socket_path);
  g_string_append (out, "---- settings ----\n");
  keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l != NULL; l = l->next)
    describe_line (out, l->data, g_hash_table_lookup (config->settings, l->data));

  g_string_append (out, "---- local domains ----\n");
  for (guint i = 0; i < config->domains->len; i++)
    {
      const MgDomain *d = g_ptr_array_index (config->domains, i);
      describe_line (out, d->name, d->shared_box ? "shared box" : "per-domain users");
    }
  g_string_append_printf (out, "---- accounts: %u ----\n", config->accounts->len);
  g_string_append (out, "---- aliases ----\n");
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *a = g_ptr_array_index (config->aliases, i);
      g_autofree char *targets = g_strjoinv (", ", a->targets);
      describe_line (out, a->alias, targets);
    }
  g_string_append (out, "---- routes (domain, host, port) ----\n");
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *r = g_ptr_array_index (config->routes, i);
      g_string_append_printf (out, "%s, %s, %u\n", r->domain, r->host, r->port);
    }
  g_string_append (out, "---- relay rules (first match wins) ----\n");
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *r = g_ptr_array_index (config->relay_rules, i);
      g_string_append_printf (out, "%u: %s %s\n", i + 1, r->pattern, r->allow ? "true" : "false");
    }
  g_string_append (out, "---- listeners ----\n");
  for (guint i = 0; i < config->listeners->len; i++)
    {
      const MgListenerSpec *s = g_ptr_array_index (config->listeners, i);
      if (g_strcmp0 (s->address, "*") != 0 && strchr (s->address, ':') != NULL)
        g_string_append_printf (out, "[%s]:%u\n", s->address, s->port);
      else
        g_string_append_printf (out, "%s:%u\n", s->address, s->port);
    }
  g_string_append (out, "-----\n");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- life cycle ------------------------------------------------------- */

MgDaemon *
mg_daemon_new (const MgDaemonOptions  *options,
               GError                **error)
{
  g_autoptr(MgDaemon) self = g_new0 (MgDaemon, 1);
  g_autofree char *db_path = NULL;
  g_autofree char *queue_dir = NULL;
  g_autoptr(GError) start_error = NULL;

  self->state_dir = g_strdup (options->state_dir);
  self->socket_path = g_strdup (options->socket_path);
  self->context = g_main_context_ref_thread_default ();
  g_mutex_init (&self->queued_lock);
  self->queued = g_ptr_array_new_with_free_func ((GDestroyNotify) mg_queue_message_unref);

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create state folder %s: %s", self->state_dir, g_strerror (saved));
      return NULL;
    }

  /* 10 MiB per log file, 5 rotated files kept */
  if (!mg_log_open (self->state_dir, 10 * 1024 * 1024, 5, error))
    return NULL;

  db_path = g_build_filename (self->state_dir, "config.db", NULL);
  self->store = mg_config_store_open (db_path, options->profile, error);
  if (self->store == NULL)
    return NULL;
  self->config = mg_config_store_snapshot (self->store, error);
  if (self->config == NULL)
    return NULL;

  queue_dir = g_build_filename (self->state_dir, "queue", NULL);
  self->queue = mg_queue_open (queue_dir, error);
  if (self->queue == NULL)
    return NULL;

  self->delivery = mg_delivery_new (self->queue, self->config, self->state_dir);
  self->receiver = mg_receiver_new (self->queue, self->config, on_message_queued, self);

  self->control = mg_control_server_new (self, self->socket_path, error);
  if (self->control == NULL)
    return NULL;
  apply_metrics (self);

  if (options->no_autostart)
    return g_steal_pointer (&self);

  if (mg_config_get_bool (self->config, "delivery.autostart") &&
      !mg_daemon_start (self, MG_SERVICE_DELIVERY, error))
    return NULL;

  if (mg_config_get_bool (self->config, "receiver.autostart") &&
      !mg_daemon_start (self, MG_SERVICE_RECEIVER, &start_error))
    g_warning ("%s", start_error->message);

  return g_steal_pointer (&self);
}

void
mg_daemon_free (MgDaemon *self)
{
  if (self == NULL)
    return;

  /* Order matters: no new mail, then no client, then hand every
   * acknowledged message to delivery before it goes, then the queue. */
  if (self->receiver != NULL)
    mg_receiver_stop (self->receiver);
  g_clear_pointer (&self->control, mg_control_server_free);
  g_clear_pointer (&self->metrics, mg_metrics_server_free);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_clear_pointer (&self->receiver, mg_receiver_free);
  if (self->queued != NULL)
    flush_queued (self);   /* without waiting for the gathering timeout */
  g_clear_pointer (&self->delivery, mg_delivery_free);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_clear_pointer (&self->queue, mg_queue_close);
  g_clear_pointer (&self->config, mg_config_unref);
  g_clear_pointer (&self->store, mg_config_store_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->queued, g_ptr_array_unref);
  g_mutex_clear (&self->queued_lock);
  mg_log_close ();
  g_free (self->socket_path);
  g_free (self->state_dir);
  g_free (self);
}
