/* mg-control-server.c - the control socket: GDBus peer-to-peer server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One GDBusServer on a Unix socket, created the OpenSMTPD way (refuse if a
 * live daemon answers, unlink a stale file, bind under a tight umask, then
 * set the mode).  A GDBusAuthObserver admits only EXTERNAL authentication
 * and only the daemon's uid, root, or members of the "mailgate" group: a
 * refused peer never reaches a method.  One generated skeleton is exported
 * on every accepted connection; each method handler is a short call into
 * mg-daemon.h or the config store, completed with the generated
 * mg_dbus_control1_complete_*().  Validation problems go back as a(sss)
 * data, storage failures as typed D-Bus errors.
 *
 * Ownership: the server owns the skeleton, the GDBusServer and one Peer per
 * open connection (a ref on the connection and its trace subscription).
 * The daemon is borrowed.
 *
 * Threading: main thread only.  The auth observer's
 * authorize-authenticated-peer may run on a GDBus worker thread, so it uses
 * only reentrant lookups (getpwuid_r, getgrnam_r, getgrouplist).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "mg-control-generated.h"
#include "mg-config-import.h"
#include "mg-config-json.h"
#include "mg-control-server.h"
#include "mg-error.h"
#include "mg-lint.h"
#include "mg-log.h"
#include "mg-problem.h"
#include "mg-selftest.h"
#include "mg-trace.h"

#define CONTROL_OBJECT_PATH "/org/mailgate/Control"
#define CONTROL_INTERFACE   "org.mailgate.Control1"
#define CONTROL_GROUP       "mailgate"

typedef struct
{
  MgControlServer *server;       /* not owned */
  GDBusConnection *connection;   /* owned */
  gulong           closed_id;
  guint            trace_id;     /* 0: not subscribed */
} Peer;

struct _MgControlServer
{
  MgDaemon          *daemon;       /* not owned */
  char              *socket_path;
  GDBusAuthObserver *observer;
  GDBusServer       *dbus_server;
  MgDBusControl1    *skeleton;
  GHashTable        *peers;        /* GDBusConnection* -> Peer* (owned) */
  gboolean           owns_socket;  /* we bound it: remove it in free */
};

/* Every method whose only out-argument is a(sss) completes the same way. */
typedef void (*CompleteProblemsFunc) (MgDBusControl1        *object,
                                      GDBusMethodInvocation *invocation,
                                      GVariant              *problems);

/* ---- credentials ------------------------------------------------------- */

static char *
lookup_user_name (uid_t  uid,
                  gid_t *gid_out)
{
  struct passwd pwd, *result = NULL;
  gsize size = 1024;

  for (;;)
    {
      g_autofree char *buf = g_malloc (size);
      int rc = getpwuid_r (uid, &pwd, buf, size, &result);

      if (rc == ERANGE && size < 1024 * 1024)
        {
          size *= 2;
          continue;
        }
      if (rc != 0 || result == NULL)
        return NULL;
      *gid_out = pwd.pw_gid;
      return g_strdup (pwd.pw_name);
    }
}

static gboolean
lookup_group_id (const char *name,
                 gid_t      *gid_out)
{
  struct group grp, *result = NULL;
  gsize size = 4096;

  for (;;)
    {
      g_autofree char *buf = g_malloc (size);
      int rc = getgrnam_r (name, &grp, buf, size, &result);

      if (rc == ERANGE && size < 4 * 1024 * 1024)
        {
          size *= 2;
          continue;
        }
      if (rc != 0 || result == NULL)
        return FALSE;
      *gid_out = grp.gr_gid;
      return TRUE;
    }
}

/* Supplementary groups come from the group database for that uid's user:
 * the peer's primary gid alone is not enough (STYLE.md B7). */
static gboolean
uid_in_group (uid_t       uid,
              const char *group_name)
{
  g_autofree char *user = NULL;
  g_autofree gid_t *groups = NULL;
  gid_t wanted, primary;
  int n_groups = 32;

  if (!lookup_group_id (group_name, &wanted))
    return FALSE;
  user = lookup_user_name (uid, &primary);
  if (user == NULL)
    return FALSE;

  groups = g_new (gid_t, n_groups);
  if (getgrouplist (user, primary, groups, &n_groups) < 0)
    {
      groups = g_renew (gid_t, groups, n_groups);
      if (getgrouplist (user, primary, groups, &n_groups) < 0)
        return FALSE;
    }

  for (int i = 0; i < n_groups; i++)
    if (groups[i] == wanted)
      return TRUE;
  return FALSE;
}

static gboolean
on_observer_allow_mechanism_cb (GDBusAuthObserver *observer,
                                const char        *mechanism,
                                gpointer           user_data)
{
  return g_strcmp0 (mechanism, "EXTERNAL") == 0;
}

static gboolean
on_observer_authorize_authenticated_peer_cb (GDBusAuthObserver *observer,
                                             GIOStream         *stream,
                                             GCredentials      *credentials,
                                             gpointer           user_data)
{
  uid_t uid;

  if (credentials == NULL)
    return FALSE;
  uid = g_credentials_get_unix_user (credentials, NULL);
  if (uid == (uid_t) -1)
    return FALSE;

  if (uid == geteuid () || uid == 0)
    return TRUE;
  return uid_in_group (uid, CONTROL_GROUP);
}

/* ---- peers and trace --------------------------------------------------- */

static Peer *
peer_for_invocation (MgControlServer       *self,
                     GDBusMethodInvocation *invocation)
{
  return g_hash_table_lookup (self->peers,
                              g_dbus_method_invocation_get_connection (invocation));
}

static void
peer_stop_trace (Peer *peer)
{
  if (peer->trace_id == 0)
    return;
  mg_trace_unsubscribe (peer->trace_id);
  peer->trace_id = 0;
}

static void
peer_free (Peer *peer)
{
  peer_stop_trace (peer);
  g_clear_signal_handler (&peer->closed_id, peer->connection);
  g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (peer->server->skeleton),
                                                      peer->connection);
  if (!g_dbus_connection_is_closed (peer->connection))
    g_dbus_connection_close (peer->connection, NULL, NULL, NULL);
  g_clear_object (&peer->connection);
  g_free (peer);
}

#define TRACE_CHUNK (64 * 1024)   /* bytes of lines per string of a TraceLines batch */

/* trace lines go to the subscribing connection only, one signal
 * per batch (runs on the main thread, never in the threads that trace).
 * The lines of a batch travel joined by "\n" in strings of about 64 KiB:
 * a string per line cost both ends an allocation and a UTF-8 check per
 * line when the message is built and parsed (bench/: a quarter of the
 * trace's cost was mailgatectl parsing). */
static void
on_trace_lines_cb (const char * const *lines,
                   guint               n_lines,
                   gpointer            user_data)
{
  Peer *peer = user_data;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("as"));
  g_autoptr(GString) chunk = g_string_sized_new (MIN (TRACE_CHUNK, 128 * (gsize) n_lines + 1));

  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *valid = NULL;
      const char *line = lines[i];

      if (!g_utf8_validate (line, -1, NULL))
        line = valid = g_utf8_make_valid (line, -1);   /* "s" must be UTF-8 */
      if (chunk->len > 0)
        g_string_append_c (chunk, '\n');
      g_string_append (chunk, line);
      if (chunk->len >= TRACE_CHUNK)
        {
          g_variant_builder_add (&builder, "s", chunk->str);
          g_string_truncate (chunk, 0);
        }
    }
  if (chunk->len > 0)
    g_variant_builder_add (&builder, "s", chunk->str);

  g_dbus_connection_emit_signal (peer->connection, NULL,
                                 CONTROL_OBJECT_PATH, CONTROL_INTERFACE,
                                 "TraceLines", g_variant_new ("(as)", &builder),
                                 NULL);
}

static void
on_connection_closed_cb (GDBusConnection *connection,
                         gboolean         remote_peer_vanished,
                         GError          *error,
                         gpointer         user_data)
{
  Peer *peer = user_data;

  g_hash_table_remove (peer->server->peers, connection);   /* frees peer */
}

static gboolean
on_server_new_connection_cb (GDBusServer     *server,
                             GDBusConnection *connection,
                             gpointer         user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GError) error = NULL;
  Peer *peer;

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                         connection, CONTROL_OBJECT_PATH, &error))
    {
      g_warning ("control: cannot export %s: %s", CONTROL_OBJECT_PATH, error->message);
      return FALSE;
    }

  peer = g_new0 (Peer, 1);
  peer->server = self;
  peer->connection = g_object_ref (connection);
  peer->closed_id = g_signal_connect (connection, "closed",
                                      G_CALLBACK (on_connection_closed_cb), peer);
  g_hash_table_insert (self->peers, connection, peer);

  if (g_dbus_connection_is_closed (connection))
    g_hash_table_remove (self->peers, connection);
  return TRUE;
}

/* ---- completion helpers ------------------------------------------------ */

/* After a store mutation: a storage error, or the problems, or (applied)
 * a new snapshot for receiver and delivery, then an empty a(sss). */
static gboolean
finish_change (MgControlServer       *self,
               GDBusMethodInvocation *invocation,
               CompleteProblemsFunc   complete,
               gboolean               applied,
               GPtrArray             *problems,
               const GError          *error)
{
  g_autoptr(GError) local_error = NULL;

  if (error != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!applied && problems->len == 0)
    {
      g_dbus_method_invocation_return_error (invocation, MG_CONTROL_ERROR,
                                             MG_CONTROL_ERROR_FAILED,
                                             "the change was refused without a reason");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (applied && !mg_daemon_config_changed (self->daemon, &local_error))
    {
      g_dbus_method_invocation_return_gerror (invocation, local_error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  complete (self->skeleton, invocation, mg_problems_to_variant (problems));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static char *
canonical_domain (const char *domain)
{
  char *lower = g_ascii_strdown (domain, -1);
  gsize len = strlen (lower);

  if (len > 0 && lower[len - 1] == '.')
    lower[len - 1] = '\0';
  return lower;
}

static char *
format_listener_spec (const MgListenerSpec *spec)
{
  return mg_listener_spec_format_full (spec->address, spec->port, spec->tls);
}

static const char *
rcpt_state_name (MgRcptState state)
{
  switch (state)
    {
    case MG_RCPT_STATE_PENDING:   return "pending";
    case MG_RCPT_STATE_DELIVERED: return "delivered";
    case MG_RCPT_STATE_FAILED:    return "failed";
    default:                      return "unknown";
    }
}

static GVariant *
queue_message_to_variant (const MgQueueMessage *msg)
{
  GVariantBuilder dict, rcpts;

  g_variant_builder_init (&rcpts, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < msg->rcpts->len; i++)
    {
      const MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, i);

      g_variant_builder_add (&rcpts, "(sss)", rcpt->address,
                             rcpt_state_name (rcpt->state),
                             rcpt->last_reply != NULL ? rcpt->last_reply : "");
    }

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "id", g_variant_new_string (msg->id));
  g_variant_builder_add (&dict, "{sv}", "sender",
                         g_variant_new_string (msg->sender != NULL ? msg->sender : ""));
  g_variant_builder_add (&dict, "{sv}", "size", g_variant_new_uint64 (msg->body_size));
  g_variant_builder_add (&dict, "{sv}", "received",
                         g_variant_new_int64 (msg->received_at / G_USEC_PER_SEC));
  g_variant_builder_add (&dict, "{sv}", "attempts", g_variant_new_uint32 (msg->attempts));
  g_variant_builder_add (&dict, "{sv}", "next-attempt",
                         g_variant_new_int64 (msg->next_attempt / G_USEC_PER_SEC));
  g_variant_builder_add (&dict, "{sv}", "held", g_variant_new_boolean (msg->held));
  g_variant_builder_add (&dict, "{sv}", "recipients", g_variant_builder_end (&rcpts));
  return g_variant_builder_end (&dict);
}

/* ---- method handlers: status and services ------------------------------ */

static gboolean
handle_get_status (MgDBusControl1        *object,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  MgControlServer *self = user_data;

  mg_dbus_control1_complete_get_status (object, invocation,
                                        mg_daemon_get_status (self->daemon));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
parse_service (GDBusMethodInvocation *invocation,
               const char            *name,
               MgService             *out)
{
  if (mg_service_from_string (name, out))
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                         G_DBUS_ERROR_INVALID_ARGS,
                                         "unknown service \"%s\"", name);
  return FALSE;
}

static gboolean
handle_start (MgDBusControl1        *object,
              GDBusMethodInvocation *invocation,
              const char            *service,
              gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GError) error = NULL;
  MgService services;

  if (!parse_service (invocation, service, &services))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (!mg_daemon_start (self->daemon, services, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_start (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_stop (MgDBusControl1        *object,
             GDBusMethodInvocation *invocation,
             const char            *service,
             gpointer               user_data)
{
  MgControlServer *self = user_data;
  MgService services;

  if (!parse_service (invocation, service, &services))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  mg_daemon_stop (self->daemon, services);
  mg_dbus_control1_complete_stop (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- settings ---------------------------------------------------------- */

static gboolean
handle_get_settings (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_autoptr(GList) keys = NULL;
  GVariantBuilder builder;

  keys = g_list_sort (g_hash_table_get_keys (config->settings),
                      (GCompareFunc) g_strcmp0);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (GList *l = keys; l != NULL; l = l->next)
    g_variant_builder_add (&builder, "{ss}", (const char *) l->data,
                           (const char *) g_hash_table_lookup (config->settings, l->data));

  mg_dbus_control1_complete_get_settings (object, invocation,
                                          g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ApplySettings' a{ss} as the store takes it (key → value, both owned) */
static GHashTable *
settings_from_variant (GVariant *changes)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GVariantIter iter;
  const char *key, *value;

  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    g_hash_table_replace (table, g_strdup (key), g_strdup (value));
  return table;
}

/* ---- configuration changes ---------------------------------------------------
 *
 * Each change method (AddDomain, RemoveRoute, ...) is one ChangeFunc: its
 * in-arguments as a tuple, applied to the store.  The method's handler runs
 * it alone (run_change); ApplyChanges runs a list of them in one
 * transaction (mg_config_store_begin_batch()). */

typedef gboolean (*ChangeFunc) (MgConfigStore  *store,
                                GVariant       *parameters,
                                GPtrArray      *problems,
                                GError        **error);

static gboolean
change_add_domain (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *name;
  gboolean shared_box;

  g_variant_get (parameters, "(&sb)", &name, &shared_box);
  return mg_config_store_add_domain (store, name, shared_box, problems, error);
}

static gboolean
change_remove_domain (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *name;

  g_variant_get (parameters, "(&s)", &name);
  return mg_config_store_remove_domain (store, name, problems, error);
}

static gboolean
change_set_domain_shared_box (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *name;
  gboolean shared_box;

  g_variant_get (parameters, "(&sb)", &name, &shared_box);
  return mg_config_store_set_domain_shared_box (store, name, shared_box, problems, error);
}

/* password "" = none, as in AddAccount and SetPassword */
static gboolean
change_add_account (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *address, *password;

  g_variant_get (parameters, "(&s&s)", &address, &password);
  return mg_config_store_add_account (store, address, *password != '\0' ? password : NULL,
                                      problems, error);
}

static gboolean
change_remove_account (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *address;

  g_variant_get (parameters, "(&s)", &address);
  return mg_config_store_remove_account (store, address, problems, error);
}

static gboolean
change_set_password (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *address, *password;

  g_variant_get (parameters, "(&s&s)", &address, &password);
  return mg_config_store_set_password (store, address, *password != '\0' ? password : NULL,
                                       problems, error);
}

static gboolean
change_add_alias (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  g_autofree const char **targets = NULL;
  const char *alias;

  g_variant_get (parameters, "(&s^a&s)", &alias, &targets);
  return mg_config_store_add_alias (store, alias, targets, problems, error);
}

static gboolean
change_remove_alias (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *alias;

  g_variant_get (parameters, "(&s)", &alias);
  return mg_config_store_remove_alias (store, alias, problems, error);
}

static gboolean
change_add_relay_rule (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *pattern;
  gboolean allow;
  guint32 position;

  g_variant_get (parameters, "(&sbu)", &pattern, &allow, &position);
  return mg_config_store_add_relay_rule (store, pattern, allow, position, problems, error);
}

static gboolean
change_remove_relay_rule (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  guint32 position;

  g_variant_get (parameters, "(u)", &position);
  return mg_config_store_remove_relay_rule (store, position, problems, error);
}

static gboolean
change_move_relay_rule (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  guint32 from, to;

  g_variant_get (parameters, "(uu)", &from, &to);
  return mg_config_store_move_relay_rule (store, from, to, problems, error);
}

static gboolean
change_replace_relay_rule (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *pattern;
  gboolean allow;
  guint32 position;

  g_variant_get (parameters, "(u&sb)", &position, &pattern, &allow);
  return mg_config_store_replace_relay_rule (store, position, pattern, allow, problems, error);
}

/* A setting's problem keeps the key as its field ("delivery.port"), so the
 * console still finds the widget once the "changes[N]." prefix is gone. */
static gboolean
change_apply_settings (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  g_autoptr(GVariant) changes = g_variant_get_child_value (parameters, 0);
  g_autoptr(GHashTable) table = settings_from_variant (changes);

  return mg_config_store_set_settings (store, table, problems, error);
}

static gboolean
change_add_route (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *domain, *host;
  guint16 port;

  g_variant_get (parameters, "(&s&sq)", &domain, &host, &port);
  return mg_config_store_add_route (store, domain, host, port, problems, error);
}

static gboolean
change_remove_route (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *domain;

  g_variant_get (parameters, "(&s)", &domain);
  return mg_config_store_remove_route (store, domain, problems, error);
}

static gboolean
change_set_route_tls (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *domain;
  gboolean required;

  g_variant_get (parameters, "(&sb)", &domain, &required);
  return mg_config_store_set_route_tls (store, domain, required, problems, error);
}

static gboolean
change_set_route_auth (MgConfigStore *store, GVariant *parameters, GPtrArray *problems, GError **error)
{
  const char *domain, *user, *password;

  g_variant_get (parameters, "(&s&s&s)", &domain, &user, &password);
  return mg_config_store_set_route_auth (store, domain, user, password, problems, error);
}


/* The reply of every change method: its problems, a(sss). */
static void
complete_problems (MgDBusControl1        *object,
                   GDBusMethodInvocation *invocation,
                   GVariant              *problems)
{
  g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&problems, 1));
}

/* A change method on its own: @apply with the call's own arguments. */
static gboolean
run_change (MgControlServer       *self,
            GDBusMethodInvocation *invocation,
            ChangeFunc             apply)
{
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = apply (mg_daemon_get_store (self->daemon),
              g_dbus_method_invocation_get_parameters (invocation), problems, &error);
  return finish_change (self, invocation, complete_problems, ok, problems, error);
}

static gboolean
handle_apply_settings (MgDBusControl1        *object,
                       GDBusMethodInvocation *invocation,
                       GVariant              *changes,
                       gpointer               user_data)
{
  return run_change (user_data, invocation, change_apply_settings);
}

/* ---- domains and accounts ---------------------------------------------- */

static gboolean
handle_list_domains (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; i < config->domains->len; i++)
    {
      const MgDomain *domain = g_ptr_array_index (config->domains, i);

      g_variant_builder_add (&builder, "(sb)", domain->name, domain->shared_box);
    }
  mg_dbus_control1_complete_list_domains (object, invocation,
                                          g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_domain (MgDBusControl1        *object,
                   GDBusMethodInvocation *invocation,
                   const char            *name,
                   gboolean               shared_box,
                   gpointer               user_data)
{
  return run_change (user_data, invocation, change_add_domain);
}

static gboolean
handle_remove_domain (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      const char            *name,
                      gpointer               user_data)
{
  return run_change (user_data, invocation, change_remove_domain);
}

static gboolean
handle_list_accounts (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      const char            *domain,
                      gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_autofree char *wanted = canonical_domain (domain);   /* "" = every domain */
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; i < config->accounts->len; i++)
    {
      const MgAccount *account = g_ptr_array_index (config->accounts, i);

      if (*wanted != '\0' && g_strcmp0 (account->domain, wanted) != 0)
        continue;
      g_variant_builder_add (&builder, "(sb)", account->address,
                             account->password_hash != NULL);
    }
  mg_dbus_control1_complete_list_accounts (object, invocation,
                                           g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_account (MgDBusControl1        *object,
                    GDBusMethodInvocation *invocation,
                    const char            *address,
                    const char            *password,
                    gpointer               user_data)
{
  return run_change (user_data, invocation, change_add_account);
}

static gboolean
handle_set_password (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     const char            *address,
                     const char            *password,
                     gpointer               user_data)
{
  return run_change (user_data, invocation, change_set_password);
}

static gboolean
handle_set_domain_shared_box (MgDBusControl1        *object,
                              GDBusMethodInvocation *invocation,
                              const char            *name,
                              gboolean               shared_box,
                              gpointer               user_data)
{
  return run_change (user_data, invocation, change_set_domain_shared_box);
}

static gboolean
handle_remove_account (MgDBusControl1        *object,
                       GDBusMethodInvocation *invocation,
                       const char            *address,
                       gpointer               user_data)
{
  return run_change (user_data, invocation, change_remove_account);
}

static gboolean
handle_import_accounts (MgDBusControl1        *object,
                        GDBusMethodInvocation *invocation,
                        const char            *tsv,
                        gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GError) error = NULL;
  guint added = 0;

  if (!mg_config_store_import_accounts (mg_daemon_get_store (self->daemon), tsv,
                                        &added, problems, &error))
    {
      if (error == NULL && problems->len == 0)
        g_set_error_literal (&error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                             "the import was refused without a reason");
      if (error != NULL)
        {
          g_dbus_method_invocation_return_gerror (invocation, error);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      added = 0;
    }
  else if (!mg_daemon_config_changed (self->daemon, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  mg_dbus_control1_complete_import_accounts (object, invocation, added,
                                             mg_problems_to_variant (problems));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- aliases ------------------------------------------------------------ */

static gboolean
handle_list_aliases (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sas)"));
  for (guint i = 0; i < config->aliases->len; i++)
    {
      const MgAlias *alias = g_ptr_array_index (config->aliases, i);

      g_variant_builder_add (&builder, "(s@as)", alias->alias,
                             g_variant_new_strv ((const char * const *) alias->targets, -1));
    }
  mg_dbus_control1_complete_list_aliases (object, invocation,
                                          g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_alias (MgDBusControl1        *object,
                  GDBusMethodInvocation *invocation,
                  const char            *alias,
                  const char * const    *targets,
                  gpointer               user_data)
{
  return run_change (user_data, invocation, change_add_alias);
}

static gboolean
handle_remove_alias (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     const char            *alias,
                     gpointer               user_data)
{
  return run_change (user_data, invocation, change_remove_alias);
}

/* ---- routes ------------------------------------------------------------- */

static gboolean
handle_list_routes (MgDBusControl1        *object,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssq)"));
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *route = g_ptr_array_index (config->routes, i);

      g_variant_builder_add (&builder, "(ssq)", route->domain, route->host, route->port);
    }
  mg_dbus_control1_complete_list_routes (object, invocation,
                                         g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_route (MgDBusControl1        *object,
                  GDBusMethodInvocation *invocation,
                  const char            *domain,
                  const char            *host,
                  guint16                port,
                  gpointer               user_data)
{
  return run_change (user_data, invocation, change_add_route);
}

static gboolean
handle_list_route_security (MgDBusControl1        *object,
                            GDBusMethodInvocation *invocation,
                            gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sbs)"));
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MgRoute *route = g_ptr_array_index (config->routes, i);

      g_variant_builder_add (&builder, "(sbs)", route->domain, route->tls_required,
                             route->auth_user != NULL ? route->auth_user : "");
    }
  mg_dbus_control1_complete_list_route_security (object, invocation,
                                                 g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_route_tls (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      const char            *domain,
                      gboolean               required,
                      gpointer               user_data)
{
  return run_change (user_data, invocation, change_set_route_tls);
}

static gboolean
handle_set_route_auth (MgDBusControl1        *object,
                       GDBusMethodInvocation *invocation,
                       const char            *domain,
                       const char            *user,
                       const char            *password,
                       gpointer               user_data)
{
  return run_change (user_data, invocation, change_set_route_auth);
}

static gboolean
handle_remove_route (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     const char            *domain,
                     gpointer               user_data)
{
  return run_change (user_data, invocation, change_remove_route);
}

/* ---- relay rules -------------------------------------------------------- */

static gboolean
handle_list_relay_rules (MgDBusControl1        *object,
                         GDBusMethodInvocation *invocation,
                         gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; i < config->relay_rules->len; i++)
    {
      const MgRelayRule *rule = g_ptr_array_index (config->relay_rules, i);

      g_variant_builder_add (&builder, "(sb)", rule->pattern, rule->allow);
    }
  mg_dbus_control1_complete_list_relay_rules (object, invocation,
                                              g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_relay_rule (MgDBusControl1        *object,
                       GDBusMethodInvocation *invocation,
                       const char            *pattern,
                       gboolean               allow,
                       guint                  position,
                       gpointer               user_data)
{
  return run_change (user_data, invocation, change_add_relay_rule);
}

static gboolean
handle_remove_relay_rule (MgDBusControl1        *object,
                          GDBusMethodInvocation *invocation,
                          guint                  position,
                          gpointer               user_data)
{
  return run_change (user_data, invocation, change_remove_relay_rule);
}

static gboolean
handle_move_relay_rule (MgDBusControl1        *object,
                        GDBusMethodInvocation *invocation,
                        guint                  from,
                        guint                  to,
                        gpointer               user_data)
{
  return run_change (user_data, invocation, change_move_relay_rule);
}

static gboolean
handle_replace_relay_rule (MgDBusControl1        *object,
                           GDBusMethodInvocation *invocation,
                           guint                  position,
                           const char            *pattern,
                           gboolean               allow,
                           gpointer               user_data)
{
  return run_change (user_data, invocation, change_replace_relay_rule);
}

/* ---- several changes at once (ApplyChanges) ------------------------------- */

typedef struct
{
  const char *method;
  const char *signature;
  ChangeFunc  apply;
} ChangeKind;

/* SetListeners is not a change here: it binds sockets before it stores
 * (and swaps them after), which a rolled-back transaction cannot undo. */

static const ChangeKind change_kinds[] = {
  { "AddDomain",          "(sb)",    change_add_domain },
  { "RemoveDomain",       "(s)",     change_remove_domain },
  { "SetDomainSharedBox", "(sb)",    change_set_domain_shared_box },
  { "AddAccount",         "(ss)",    change_add_account },
  { "RemoveAccount",      "(s)",     change_remove_account },
  { "SetPassword",        "(ss)",    change_set_password },
  { "AddAlias",           "(sas)",   change_add_alias },
  { "RemoveAlias",        "(s)",     change_remove_alias },
  { "AddRelayRule",       "(sbu)",   change_add_relay_rule },
  { "RemoveRelayRule",    "(u)",     change_remove_relay_rule },
  { "MoveRelayRule",      "(uu)",    change_move_relay_rule },
  { "ReplaceRelayRule",   "(usb)",   change_replace_relay_rule },
  { "ApplySettings",      "(a{ss})", change_apply_settings },
  { "AddRoute",           "(ssq)",   change_add_route },
  { "RemoveRoute",        "(s)",     change_remove_route },
  { "SetRouteTls",        "(sb)",    change_set_route_tls },
  { "SetRouteAuth",       "(sss)",   change_set_route_auth },
};

/* The kind of change @index, or NULL with @error set (InvalidArgs). */
static const ChangeKind *
lookup_change (GVariant  *change,
               guint      index,
               GError   **error)
{
  g_autoptr(GVariant) parameters = NULL;
  const char *method;

  g_variant_get (change, "(&sv)", &method, &parameters);
  for (gsize i = 0; i < G_N_ELEMENTS (change_kinds); i++)
    {
      if (!g_str_equal (change_kinds[i].method, method))
        continue;
      if (g_variant_is_of_type (parameters, G_VARIANT_TYPE (change_kinds[i].signature)))
        return &change_kinds[i];
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "changes[%u]: %s takes %s, not %s", index, method,
                   change_kinds[i].signature, g_variant_get_type_string (parameters));
      return NULL;
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
               "changes[%u]: “%s” is not a change method", index, method);
  return NULL;
}

/* Moves @step's problems to @problems, each field prefixed with the change:
 * "domain" of change 2 becomes "changes[2].domain". */
static void
add_change_problems (GPtrArray *problems,
                     GPtrArray *step,
                     guint      index)
{
  for (guint i = 0; i < step->len; i++)
    {
      const MgProblem *problem = g_ptr_array_index (step, i);
      g_autofree char *field = *problem->field != '\0'
                               ? g_strdup_printf ("changes[%u].%s", index, problem->field)
                               : g_strdup_printf ("changes[%u]", index);

      mg_problems_add (problems, problem->code, field, problem->arg);
    }
}

/* Runs every change inside the store's open batch; FALSE with @error set
 * on a storage failure (the caller rolls back). */
static gboolean
run_changes (MgConfigStore  *store,
             GVariant       *changes,
             GPtrArray      *problems,
             GError        **error)
{
  for (guint i = 0; i < g_variant_n_children (changes); i++)
    {
      g_autoptr(GVariant) change = g_variant_get_child_value (changes, i);
      g_autoptr(GVariant) parameters = NULL;
      g_autoptr(GPtrArray) step = mg_problems_new ();
      g_autoptr(GError) local_error = NULL;
      const ChangeKind *kind = lookup_change (change, i, NULL);

      g_variant_get_child (change, 1, "v", &parameters);
      if (!kind->apply (store, parameters, step, &local_error))
        {
          if (local_error != NULL)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                          "changes[%u] (%s): ", i, kind->method);
              return FALSE;
            }
          if (step->len == 0)   /* refused without a reason: still refused */
            mg_problems_add (step, MG_PROBLEM_INVALID_VALUE, "", kind->method);
        }
      add_change_problems (problems, step, i);
    }
  return TRUE;
}

static gboolean
handle_apply_changes (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      GVariant              *changes,
                      gpointer               user_data)
{
  MgControlServer *self = user_data;
  MgConfigStore *store = mg_daemon_get_store (self->daemon);
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GError) error = NULL;

  /* A malformed list is the client's bug: refused before anything runs */
  for (guint i = 0; i < g_variant_n_children (changes); i++)
    {
      g_autoptr(GVariant) change = g_variant_get_child_value (changes, i);

      if (lookup_change (change, i, &error) == NULL)
        {
          g_dbus_method_invocation_return_gerror (invocation, error);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
    }
  if (g_variant_n_children (changes) == 0)
    {
      mg_dbus_control1_complete_apply_changes (object, invocation, mg_problems_to_variant (problems));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  /* All or nothing: one transaction, committed only without problems */
  if (!mg_config_store_begin_batch (store, &error))
    return finish_change (self, invocation, mg_dbus_control1_complete_apply_changes,
                          FALSE, problems, error);
  if (!run_changes (store, changes, problems, &error) || problems->len > 0)
    {
      mg_config_store_rollback_batch (store);
      return finish_change (self, invocation, mg_dbus_control1_complete_apply_changes,
                            FALSE, problems, error);
    }
  if (!mg_config_store_commit_batch (store, &error))
    return finish_change (self, invocation, mg_dbus_control1_complete_apply_changes,
                          FALSE, problems, error);
  return finish_change (self, invocation, mg_dbus_control1_complete_apply_changes,
                        TRUE, problems, NULL);
}

/* ---- listeners ---------------------------------------------------------- */

static gboolean
handle_list_listeners (MgDBusControl1        *object,
                       GDBusMethodInvocation *invocation,
                       gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_auto(GStrv) bound = mg_daemon_get_bound (self->daemon);
  g_autoptr(GStrvBuilder) configured = g_strv_builder_new ();
  g_auto(GStrv) configured_strv = NULL;

  for (guint i = 0; i < config->listeners->len; i++)
    {
      g_autofree char *spec = format_listener_spec (g_ptr_array_index (config->listeners, i));

      g_strv_builder_add (configured, spec);
    }
  configured_strv = g_strv_builder_end (configured);

  mg_dbus_control1_complete_list_listeners (object, invocation,
                                            (const char * const *) configured_strv,
                                            bound != NULL ? (const char * const *) bound
                                                          : (const char * const []) { NULL });
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_listeners (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      const char * const    *specs,
                      gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  /* The daemon binds, stores, refreshes its snapshot and rolls back
   * itself: no mg_daemon_config_changed() here. */
  ok = mg_daemon_set_listeners (self->daemon, specs, problems, &error);
  if (!ok && error == NULL && problems->len == 0)
    g_set_error_literal (&error, MG_CONTROL_ERROR, MG_CONTROL_ERROR_FAILED,
                         "the listeners were refused without a reason");
  if (error != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_set_listeners (object, invocation,
                                           mg_problems_to_variant (problems));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- queue ---------------------------------------------------------------- */

static gboolean
handle_list_queue (MgDBusControl1        *object,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GPtrArray) messages = mg_delivery_list (mg_daemon_get_delivery (self->daemon));
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; messages != NULL && i < messages->len; i++)
    g_variant_builder_add_value (&builder,
                                 queue_message_to_variant (g_ptr_array_index (messages, i)));

  mg_dbus_control1_complete_list_queue (object, invocation,
                                        g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_flush_queue (MgDBusControl1        *object,
                    GDBusMethodInvocation *invocation,
                    const char            *id,
                    gpointer               user_data)
{
  MgControlServer *self = user_data;

  if (!mg_delivery_flush (mg_daemon_get_delivery (self->daemon),
                          *id != '\0' ? id : NULL))
    {
      g_dbus_method_invocation_return_error (invocation, MG_QUEUE_ERROR,
                                             MG_QUEUE_ERROR_NOT_FOUND,
                                             "no message %s in the queue", id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_flush_queue (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
return_not_queued (GDBusMethodInvocation *invocation,
                   const char            *id)
{
  g_dbus_method_invocation_return_error (invocation, MG_QUEUE_ERROR,
                                         MG_QUEUE_ERROR_NOT_FOUND,
                                         "no message %s in the queue", id);
}

static gboolean
handle_show_queue_message (MgDBusControl1        *object,
                           GDBusMethodInvocation *invocation,
                           const char            *id,
                           gpointer               user_data)
{
  MgControlServer *self = user_data;
  MgDelivery *delivery = mg_daemon_get_delivery (self->daemon);
  g_autoptr(MgQueueMessage) msg = mg_delivery_lookup (delivery, id);
  g_autoptr(GError) error = NULL;
  g_autofree char *headers = NULL;
  g_autofree char *valid = NULL;

  if (msg == NULL)
    {
      return_not_queued (invocation, id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  headers = mg_delivery_read_headers (delivery, id, &error);
  if (headers == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  valid = g_utf8_make_valid (headers, -1);   /* "s" must be UTF-8 */
  mg_dbus_control1_complete_show_queue_message (object, invocation,
                                                queue_message_to_variant (msg), valid);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_hold_queue_message (MgDBusControl1        *object,
                           GDBusMethodInvocation *invocation,
                           const char            *id,
                           gboolean               held,
                           gpointer               user_data)
{
  MgControlServer *self = user_data;

  if (!mg_delivery_hold (mg_daemon_get_delivery (self->daemon), id, held))
    {
      return_not_queued (invocation, id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_hold_queue_message (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_delete_queue_message (MgDBusControl1        *object,
                             GDBusMethodInvocation *invocation,
                             const char            *id,
                             gpointer               user_data)
{
  MgControlServer *self = user_data;

  if (!mg_delivery_delete (mg_daemon_get_delivery (self->daemon), id))
    {
      return_not_queued (invocation, id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_delete_queue_message (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- trace ----------------------------------------------------------------- */

static gboolean
handle_subscribe_trace (MgDBusControl1        *object,
                        GDBusMethodInvocation *invocation,
                        gpointer               user_data)
{
  Peer *peer = peer_for_invocation (user_data, invocation);

  if (peer != NULL && peer->trace_id == 0)
    {
      GMainContext *context = g_main_context_get_thread_default ();

      /* the main thread's context: NULL would mean "call me in the
       * tracing thread", which must never emit D-Bus signals */
      peer->trace_id = mg_trace_subscribe_batch (on_trace_lines_cb, peer,
                                                 context != NULL ? context : g_main_context_default ());
    }
  mg_dbus_control1_complete_subscribe_trace (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_unsubscribe_trace (MgDBusControl1        *object,
                          GDBusMethodInvocation *invocation,
                          gpointer               user_data)
{
  Peer *peer = peer_for_invocation (user_data, invocation);

  if (peer != NULL)
    peer_stop_trace (peer);
  mg_dbus_control1_complete_unsubscribe_trace (object, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- lint and migration (engineer "ops") ------------------------------------ */

static gboolean
handle_check (MgDBusControl1        *object,
              GDBusMethodInvocation *invocation,
              gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_autoptr(GPtrArray) findings = mg_lint_config (config, g_get_real_time () / G_USEC_PER_SEC);

  mg_dbus_control1_complete_check (object, invocation,
                                   mg_lint_findings_to_variant (findings));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_import_epost (MgDBusControl1        *object,
                     GDBusMethodInvocation *invocation,
                     GVariant              *routes,
                     GVariant              *relay_rules,
                     GVariant              *aliases,
                     GVariant              *accounts,
                     gboolean               dry_run,
                     gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GPtrArray) changes =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mg_import_change_free);
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;
  gboolean ok;

  ok = mg_config_import_epost (mg_daemon_get_store (self->daemon), routes, relay_rules,
                               aliases, accounts, dry_run, changes, problems, &error);
  /* After a refusal too: the snapshot must show what the store holds even
   * if undoing a half-applied import failed. */
  if (!dry_run && error == NULL && !mg_daemon_config_changed (self->daemon, &error))
    ok = FALSE;
  if (error != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; ok && i < changes->len; i++)
    {
      const MgImportChange *change = g_ptr_array_index (changes, i);

      g_variant_builder_add (&builder, "(ss)", change->action, change->what);
    }
  mg_dbus_control1_complete_import_epost (object, invocation,
                                          g_variant_builder_end (&builder),
                                          mg_problems_to_variant (problems));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_read_log (MgDBusControl1        *object,
                 GDBusMethodInvocation *invocation,
                 const char            *kind_name,
                 const char            *queue_id,
                 guint                  max_lines,
                 gpointer               user_data)
{
  g_autoptr(GPtrArray) lines = NULL;
  MgLogKind kind = MG_LOG_N_KINDS;

  if (*kind_name != '\0' && !mg_log_kind_from_name (kind_name, &kind))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_INVALID_ARGS,
                                             "unknown log \"%s\" (accept, receive, sender, fail)",
                                             kind_name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  lines = mg_log_read (kind, *queue_id != '\0' ? queue_id : NULL, max_lines);
  for (guint i = 0; i < lines->len; i++)
    if (!g_utf8_validate (g_ptr_array_index (lines, i), -1, NULL))
      {
        char *valid = g_utf8_make_valid (g_ptr_array_index (lines, i), -1);   /* "as" is UTF-8 */

        g_free (g_ptr_array_index (lines, i));
        g_ptr_array_index (lines, i) = valid;
      }
  g_ptr_array_add (lines, NULL);
  mg_dbus_control1_complete_read_log (object, invocation, (const char * const *) lines->pdata);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_selftest_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(MgSelftestReport) report = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;

  report = mg_selftest_run_finish (result, &error);
  if (report == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssss)"));
  for (guint i = 0; i < report->results->len; i++)
    {
      const MgSelftestResult *r = g_ptr_array_index (report->results, i);
      g_autofree char *reply = g_utf8_make_valid (r->reply, -1);

      g_variant_builder_add (&builder, "(ssss)", r->name, r->command, reply,
                             r->failed ? "failed" : r->relayed ? "RELAYED" : "refused");
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(ssua(ssss))", report->target,
                                                        report->client,
                                                        report->trusted_by_rule, &builder));
}

static gboolean
handle_self_test (MgDBusControl1        *object,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_auto(GStrv) bound = mg_daemon_get_bound (self->daemon);

  mg_selftest_run_async (config, (const char * const *) bound, NULL,
                         on_selftest_done_cb, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_import_config (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      const char            *json,
                      gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(GPtrArray) problems = mg_problems_new ();
  g_autoptr(MgConfig) config = mg_config_from_json (json, -1, problems);
  g_autoptr(GError) error = NULL;

  if (config != NULL && !mg_daemon_import_config (self->daemon, config, problems, &error) &&
      error != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  mg_dbus_control1_complete_import_config (object, invocation, mg_problems_to_variant (problems));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_export_config (MgDBusControl1        *object,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  MgControlServer *self = user_data;
  g_autoptr(MgConfig) config = mg_daemon_get_config (self->daemon);
  g_autofree char *json = mg_config_to_json (config);

  mg_dbus_control1_complete_export_config (object, invocation, json);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- construction -------------------------------------------------------- */

static const struct
{
  const char *signal;
  GCallback   handler;
} method_handlers[] = {
  { "handle-get-status",         G_CALLBACK (handle_get_status) },
  { "handle-start",              G_CALLBACK (handle_start) },
  { "handle-stop",               G_CALLBACK (handle_stop) },
  { "handle-get-settings",       G_CALLBACK (handle_get_settings) },
  { "handle-apply-settings",     G_CALLBACK (handle_apply_settings) },
  { "handle-list-domains",       G_CALLBACK (handle_list_domains) },
  { "handle-add-domain",         G_CALLBACK (handle_add_domain) },
  { "handle-remove-domain",      G_CALLBACK (handle_remove_domain) },
  { "handle-list-accounts",      G_CALLBACK (handle_list_accounts) },
  { "handle-add-account",        G_CALLBACK (handle_add_account) },
  { "handle-remove-account",     G_CALLBACK (handle_remove_account) },
  { "handle-set-password",       G_CALLBACK (handle_set_password) },
  { "handle-set-domain-shared-box", G_CALLBACK (handle_set_domain_shared_box) },
  { "handle-import-accounts",    G_CALLBACK (handle_import_accounts) },
  { "handle-list-aliases",       G_CALLBACK (handle_list_aliases) },
  { "handle-add-alias",          G_CALLBACK (handle_add_alias) },
  { "handle-remove-alias",       G_CALLBACK (handle_remove_alias) },
  { "handle-list-routes",        G_CALLBACK (handle_list_routes) },
  { "handle-add-route",          G_CALLBACK (handle_add_route) },
  { "handle-remove-route",       G_CALLBACK (handle_remove_route) },
  { "handle-set-route-tls",      G_CALLBACK (handle_set_route_tls) },
  { "handle-list-route-security", G_CALLBACK (handle_list_route_security) },
  { "handle-set-route-auth",     G_CALLBACK (handle_set_route_auth) },
  { "handle-list-relay-rules",   G_CALLBACK (handle_list_relay_rules) },
  { "handle-add-relay-rule",     G_CALLBACK (handle_add_relay_rule) },
  { "handle-remove-relay-rule",  G_CALLBACK (handle_remove_relay_rule) },
  { "handle-move-relay-rule",    G_CALLBACK (handle_move_relay_rule) },
  { "handle-replace-relay-rule", G_CALLBACK (handle_replace_relay_rule) },
  { "handle-apply-changes",      G_CALLBACK (handle_apply_changes) },
  { "handle-list-listeners",     G_CALLBACK (handle_list_listeners) },
  { "handle-set-listeners",      G_CALLBACK (handle_set_listeners) },
  { "handle-list-queue",         G_CALLBACK (handle_list_queue) },
  { "handle-flush-queue",        G_CALLBACK (handle_flush_queue) },
  { "handle-show-queue-message",  G_CALLBACK (handle_show_queue_message) },
  { "handle-hold-queue-message",  G_CALLBACK (handle_hold_queue_message) },
  { "handle-delete-queue-message", G_CALLBACK (handle_delete_queue_message) },
  { "handle-subscribe-trace",    G_CALLBACK (handle_subscribe_trace) },
  { "handle-unsubscribe-trace",  G_CALLBACK (handle_unsubscribe_trace) },
  { "handle-check",              G_CALLBACK (handle_check) },
  { "handle-import-epost",       G_CALLBACK (handle_import_epost) },
  { "handle-read-log",           G_CALLBACK (handle_read_log) },
  { "handle-self-test",          G_CALLBACK (handle_self_test) },
  { "handle-export-config",      G_CALLBACK (handle_export_config) },
  { "handle-import-config",      G_CALLBACK (handle_import_config) },
};

/* TRUE when something accepts connections on @path. */
static gboolean
socket_is_live (const char  *path,
                GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return TRUE;
  address = g_unix_socket_address_new (path);
  if (g_socket_connect (socket, address, NULL, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "another mailgated is already listening on %s", path);
      return TRUE;
    }
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
      g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return FALSE;

  g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                              "checking control socket %s: ", path);
  return TRUE;
}

/* Parent directory (0750 when created), then a stale socket removed. */
static gboolean
prepare_socket_path (const char  *path,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  GStatBuf st;

  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "creating %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  if (g_lstat (path, &st) != 0)
    return TRUE;
  if (socket_is_live (path, error))
    return FALSE;
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "removing stale socket %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
bind_socket (MgControlServer  *self,
             GError          **error)
{
  g_autofree char *escaped = g_dbus_address_escape_value (self->socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  g_autofree char *guid = g_dbus_generate_guid ();
  mode_t old_mask;

  old_mask = umask (0117);
  self->dbus_server = g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid,
                                              self->observer, NULL, error);
  umask (old_mask);
  if (self->dbus_server == NULL)
    {
      g_prefix_error (error, "binding control socket %s: ", self->socket_path);
      return FALSE;
    }
  self->owns_socket = TRUE;

  if (g_chmod (self->socket_path, 0660) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "setting the mode of %s: %s", self->socket_path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

MgControlServer *
mg_control_server_new (MgDaemon    *daemon,
                       const char  *socket_path,
                       GError     **error)
{
  g_autoptr(MgControlServer) self = NULL;

  g_return_val_if_fail (daemon != NULL, NULL);
  g_return_val_if_fail (socket_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Register the D-Bus names so storage errors cross the socket typed. */
  (void) mg_config_error_quark ();
  (void) mg_control_error_quark ();
  (void) mg_queue_error_quark ();

  self = g_new0 (MgControlServer, 1);
  self->daemon = daemon;
  self->socket_path = g_strdup (socket_path);
  self->peers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                       (GDestroyNotify) peer_free);
  self->skeleton = mg_dbus_control1_skeleton_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (method_handlers); i++)
    g_signal_connect (self->skeleton, method_handlers[i].signal,
                      method_handlers[i].handler, self);

  self->observer = g_dbus_auth_observer_new ();
  g_signal_connect (self->observer, "allow-mechanism",
                    G_CALLBACK (on_observer_allow_mechanism_cb), NULL);
  g_signal_connect (self->observer, "authorize-authenticated-peer",
                    G_CALLBACK (on_observer_authorize_authenticated_peer_cb), NULL);

  if (!prepare_socket_path (socket_path, error))
    return NULL;
  if (!bind_socket (self, error))
    return NULL;

  g_signal_connect (self->dbus_server, "new-connection",
                    G_CALLBACK (on_server_new_connection_cb), self);
  g_dbus_server_start (self->dbus_server);
  return g_steal_pointer (&self);
}

void
mg_control_server_free (MgControlServer *self)
{
  if (self == NULL)
    return;

  if (self->dbus_server != NULL)
    {
      g_dbus_server_stop (self->dbus_server);
      g_signal_handlers_disconnect_by_data (self->dbus_server, self);
      g_clear_object (&self->dbus_server);
    }
  g_clear_pointer (&self->peers, g_hash_table_unref);   /* unsubscribes, closes */
  g_clear_object (&self->skeleton);
  g_clear_object (&self->observer);

  /* GDBusServer may already have removed it. */
  if (self->owns_socket && g_unlink (self->socket_path) != 0 && errno != ENOENT)
    g_warning ("control: removing %s: %s", self->socket_path, g_strerror (errno));
  g_free (self->socket_path);
  g_free (self);
}

void
mg_control_server_emit_status_changed (MgControlServer *self)
{
  g_return_if_fail (self != NULL);

  mg_dbus_control1_emit_status_changed (self->skeleton);
}
