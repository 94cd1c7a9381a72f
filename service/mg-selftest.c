/* mg-selftest.c - the built-in open-relay test against our own receiver
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One blocking SMTP client in a GTask worker thread: for each dialogue in
 * the table, connect, EHLO, MAIL, RCPT, QUIT.  The receiver runs in its own
 * thread, so the daemon's main thread stays free while we wait.  The
 * verdict is read from the RCPT reply code only; texts are protocol data
 * and never translated.
 *
 * Ownership: the task owns a copy of the inputs (a config ref, the bound
 * addresses) and hands the report to the finish function.
 *
 * Threading: the table and helpers are pure; run_in_thread is the worker.
 */
#include "config.h"

#include <string.h>

#include "mg-policy.h"
#include "mg-selftest.h"

#define CONNECT_TIMEOUT 10
#define EXTERNAL        "example.net"
#define SENDER          "relaytest@example.com"

typedef struct
{
  const char *name;
  const char *sender;     /* %s: our domain */
  const char *rcpt;       /* %s: our domain */
} Dialogue;

/* The classic relay tests (as the ORDB and similar checkers run them). */
static const Dialogue dialogues[] = {
  { "plain relay",                  "<" SENDER ">", "<relaytest@" EXTERNAL ">" },
  { "percent hack",                 "<" SENDER ">", "<relaytest%%" EXTERNAL "@%s>" },
  { "bang path",                    "<" SENDER ">", "<" EXTERNAL "!relaytest@%s>" },
  { "bang path without domain",     "<" SENDER ">", "<" EXTERNAL "!relaytest>" },
  { "source route",                 "<" SENDER ">", "<@%s:relaytest@" EXTERNAL ">" },
  { "quoted local part",            "<" SENDER ">", "<\"relaytest@" EXTERNAL "\">" },
  { "quoted address at our domain", "<" SENDER ">", "<\"relaytest@" EXTERNAL "\"@%s>" },
  { "quoted percent hack",          "<" SENDER ">", "<\"relaytest%%" EXTERNAL "\"@%s>" },
  { "IP literal of this host",      "<" SENDER ">", "<relaytest%%" EXTERNAL "@[127.0.0.1]>" },
  { "IP literal elsewhere",         "<" SENDER ">", "<relaytest@[192.0.2.1]>" },
  { "unknown domain",               "<" SENDER ">", "<relaytest@unknown-domain.invalid>" },
  { "upper case, trailing dot",     "<" SENDER ">", "<relaytest@EXAMPLE.NET.>" },
  { "null sender",                  "<>",           "<relaytest@" EXTERNAL ">" },
  { "sender from our domain",       "<postmaster@%s>", "<relaytest@" EXTERNAL ">" },
};

static void
result_free (MgSelftestResult *result)
{
  g_free (result->name);
  g_free (result->command);
  g_free (result->reply);
  g_free (result);
}

void
mg_selftest_report_free (MgSelftestReport *report)
{
  if (report == NULL)
    return;
  g_free (report->target);
  g_free (report->client);
  g_clear_pointer (&report->results, g_ptr_array_unref);
  g_free (report);
}

typedef struct
{
  MgConfig  *config;
  GStrv      bound;
} Job;

static void
job_free (Job *job)
{
  g_clear_pointer (&job->config, mg_config_unref);
  g_strfreev (job->bound);
  g_free (job);
}

/* A domain of ours for the dialogues that need one. */
static const char *
our_domain (MgConfig *config)
{
  const char *hostname = mg_config_get_string (config, "receiver.hostname");

  if (config->domains->len > 0)
    return ((MgDomain *) g_ptr_array_index (config->domains, 0))->name;
  if (config->routes->len > 0)
    return ((MgRoute *) g_ptr_array_index (config->routes, 0))->domain;
  if (hostname != NULL && *hostname != '\0')
    return hostname;
  return "localhost";
}

/* "127.0.0.1:25", "[::1]:25", "0.0.0.0:25" -> a loopback address to connect to */
static GSocketAddress *
loopback_target (const char *bound)
{
  g_autofree char *host = NULL;
  const char *colon = strrchr (bound, ':');
  guint64 port;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return NULL;
  host = g_strndup (bound, colon - bound);
  if (host[0] == '[')
    {
      memmove (host, host + 1, strlen (host));
      host[strlen (host) - 1] = '\0';
    }
  if (g_str_equal (host, "0.0.0.0") || g_str_equal (host, "*"))
    return g_inet_socket_address_new_from_string ("127.0.0.1", (guint) port);
  if (g_str_equal (host, "::"))
    return g_inet_socket_address_new_from_string ("::1", (guint) port);
  return g_inet_socket_address_new_from_string (host, (guint) port);
}

/* ---- one SMTP conversation ---- */

typedef struct
{
  GSocketConnection *connection;
  GDataInputStream  *in;
  GOutputStream     *out;
} Client;

static void
client_close (Client *client)
{
  g_clear_object (&client->in);
  if (client->connection != NULL)
    g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_clear_object (&client->connection);
}

/* The reply's last line (multi-line replies end with "NNN "). */
static char *
read_reply (Client        *client,
            GCancellable  *cancellable,
            GError       **error)
{
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (client->in, NULL, cancellable,
                                                             error);

      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                 "connection closed by the server");
          return NULL;
        }
      if (strlen (line) < 4 || line[3] != '-')
        return g_steal_pointer (&line);
    }
}

static char *
command (Client        *client,
         const char    *line,
         GCancellable  *cancellable,
         GError       **error)
{
  g_autofree char *wire = g_strconcat (line, "\r\n", NULL);

  if (!g_output_stream_write_all (client->out, wire, strlen (wire), NULL, cancellable, error))
    return NULL;
  return read_reply (client, cancellable, error);
}

static gboolean
client_open (Client          *client,
             GSocketAddress  *address,
             GCancellable    *cancellable,
             char           **greeting,
             GError         **error)
{
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();

  g_socket_client_set_timeout (socket_client, CONNECT_TIMEOUT);
  client->connection = g_socket_client_connect (socket_client, G_SOCKET_CONNECTABLE (address),
                                                cancellable, error);
  if (client->connection == NULL)
    return FALSE;
  client->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (client->connection)));
  g_data_input_stream_set_newline_type (client->in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  client->out = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));
  *greeting = read_reply (client, cancellable, error);
  return *greeting != NULL;
}

/* Greeting, EHLO, MAIL, and RCPT if MAIL was accepted.  Returns the last
 * reply (and sets *@rcpt_sent), or NULL with @error set. */
static char *
converse (Client        *client,
          GSocketAddress *address,
          const char    *mail,
          const char    *rcpt,
          gboolean      *rcpt_sent,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autofree char *greeting = NULL;
  g_autofree char *ehlo = NULL;
  g_autofree char *reply = NULL;

  if (!client_open (client, address, cancellable, &greeting, error))
    return NULL;
  ehlo = command (client, "EHLO selftest.invalid", cancellable, error);
  if (ehlo == NULL)
    return NULL;
  reply = command (client, mail, cancellable, error);
  if (reply == NULL || reply[0] != '2')
    return g_steal_pointer (&reply);   /* refused at MAIL: that is the answer */

  g_clear_pointer (&reply, g_free);
  *rcpt_sent = TRUE;
  return command (client, rcpt, cancellable, error);
}

static MgSelftestResult *
run_dialogue (GSocketAddress *address,
              const Dialogue *dialogue,
              const char     *domain,
              GCancellable   *cancellable)
{
  MgSelftestResult *result = g_new0 (MgSelftestResult, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *sender = NULL;
  g_autofree char *rcpt = NULL;
  g_autofree char *mail = NULL;
  g_autofree char *rcpt_line = NULL;
  g_autofree char *reply = NULL;
  gboolean rcpt_sent = FALSE;
  Client client = { 0 };

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  sender = g_strdup_printf (dialogue->sender, domain);
  rcpt = g_strdup_printf (dialogue->rcpt, domain);
#pragma GCC diagnostic pop
  mail = g_strdup_printf ("MAIL FROM:%s", sender);
  rcpt_line = g_strdup_printf ("RCPT TO:%s", rcpt);

  reply = converse (&client, address, mail, rcpt_line, &rcpt_sent, cancellable, &error);
  if (reply != NULL)
    {
      g_autofree char *bye = command (&client, "QUIT", cancellable, NULL);
    }
  client_close (&client);

  result->name = g_strdup (dialogue->name);
  result->command = g_strdup (rcpt_sent ? rcpt_line : mail);
  result->failed = reply == NULL;
  result->relayed = reply != NULL && rcpt_sent && reply[0] == '2';
  result->reply = reply != NULL ? g_steal_pointer (&reply) : g_strdup (error->message);
  return result;
}

/* ---- the task ---- */

static char *
format_address (GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  guint port = g_inet_socket_address_get_port (inet);

  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static GSocketAddress *
find_target (const char * const *bound,
             GCancellable       *cancellable,
             char              **target_out,
             GError            **error)
{
  for (gsize i = 0; bound != NULL && bound[i] != NULL; i++)
    {
      g_autoptr(GSocketAddress) address = loopback_target (bound[i]);
      g_autofree char *greeting = NULL;
      Client client = { 0 };
      gboolean ok;

      if (address == NULL)
        continue;
      ok = client_open (&client, address, cancellable, &greeting, NULL) &&
           g_str_has_prefix (greeting, "220");
      client_close (&client);
      if (ok)
        {
          *target_out = format_address (address);
          return g_steal_pointer (&address);
        }
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                       "the receiver answers on no listening address (is it running?)");
  return NULL;
}

static void
run_in_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(MgSelftestReport) report = g_new0 (MgSelftestReport, 1);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GInetAddress *client_address;
  const char *domain = our_domain (job->config);

  report->results = g_ptr_array_new_with_free_func ((GDestroyNotify) result_free);
  address = find_target ((const char * const *) job->bound, cancellable, &report->target, &error);
  if (address == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Untrusted means: no allow rule matches the loopback client itself
   * (rules on senders are part of what is tested: anyone can forge one). */
  client_address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  report->client = g_inet_address_to_string (client_address);
  if (mg_policy_match_relay_rules (job->config, client_address, NULL, "",
                                   &report->trusted_by_rule, NULL) != MG_RELAY_ALLOW)
    report->trusted_by_rule = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (dialogues); i++)
    g_ptr_array_add (report->results, run_dialogue (address, &dialogues[i], domain, cancellable));

  g_task_return_pointer (task, g_steal_pointer (&report),
                         (GDestroyNotify) mg_selftest_report_free);
}

void
mg_selftest_run_async (MgConfig            *config,
                       const char * const  *bound,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (config != NULL);

  job->config = mg_config_ref (config);
  job->bound = g_strdupv ((char **) bound);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_source_tag (task, mg_selftest_run_async);
  g_task_run_in_thread (task, run_in_thread);
}

MgSelftestReport *
mg_selftest_run_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
