/* test-smtp-session.c - scripted dialogues against the inbound state machine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * In the spirit of OpenSMTPD's smtpscript: each dialogue is an array of
 * { client bytes, expected reply prefixes }.  The client bytes of one step
 * may hold several lines (a PIPELINING batch) and, after a 354, raw DATA;
 * the expected prefixes of the replies the batch produces are separated by
 * '|'.  Configurations come from the real config store on a temp file.
 * A COMMIT is answered by the fixture (take_message, then commit_done with
 * success, or with an error when fail_commit is set).
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "mg-config-store.h"
#include "mg-queue.h"
#include "mg-smtp-session.h"
#include "mg-trace.h"

#define HOST "mx.test.example"
#define NOW  ((gint64) 1795815000 * G_USEC_PER_SEC)   /* Fri, 27 Nov 2026 21:30:00 UTC */

typedef struct
{
  char            *dir;
  MgConfigStore   *store;
  guint            next_id;
  gboolean         fail_commit;
  MgQueueMessage  *last_message;
  MgSmtpAction     last_action;
} Fixture;

typedef struct
{
  const char *send;     /* NULL: the greeting */
  const char *expect;   /* reply prefixes, '|'-separated; "" = no reply */
} Step;

/* ---- fixture ------------------------------------------------------------ */

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  f->dir = g_dir_make_tmp ("mg-test-session-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "config.db", NULL);
  f->store = mg_config_store_open (path, "user", &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
  f->next_id = 97;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_clear_pointer (&f->last_message, mg_queue_message_unref);
  mg_config_store_free (f->store);
  dir = g_dir_open (f->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static void
assert_applied (gboolean   ok,
                GPtrArray *problems,
                GError    *error)
{
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_true (ok);
}

static void
set_setting (Fixture    *f,
             const char *key,
             const char *value)
{
  g_autoptr(GHashTable) changes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_hash_table_insert (changes, (gpointer) key, (gpointer) value);
  ok = mg_config_store_set_settings (f->store, changes, problems, &error);
  assert_applied (ok, problems, error);
}

static void
add_domain (Fixture    *f,
            const char *name)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_config_store_add_domain (f->store, name, FALSE, problems, &error);
  assert_applied (ok, problems, error);
}

static void
add_account (Fixture    *f,
             const char *address)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_config_store_add_account (f->store, address, NULL, problems, &error);
  assert_applied (ok, problems, error);
}

static void
add_account_password (Fixture    *f,
                      const char *address,
                      const char *password)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_config_store_add_account (f->store, address, password, problems, &error);
  assert_applied (ok, problems, error);
}

static void
add_alias (Fixture    *f,
           const char *alias,
           const char *target1,
           const char *target2)
{
  const char *targets[] = { target1, target2, NULL };
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_config_store_add_alias (f->store, alias, targets, problems, &error);
  assert_applied (ok, problems, error);
}

static void
add_rule (Fixture    *f,
          const char *pattern,
          gboolean    allow)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = mg_config_store_add_relay_rule (f->store, pattern, allow, 0, problems, &error);
  assert_applied (ok, problems, error);
}

/* Seed configuration C (R-2.1, R-2.2): local domain + accounts. */
static void
config_accounts (Fixture *f)
{
  add_domain (f, "corp.example");
  add_account (f, "alice@corp.example");
  add_account (f, "bob@corp.example");
}

static char *
new_id_cb (gpointer user_data)
{
  Fixture *f = user_data;

  return g_strdup_printf ("B%010u", f->next_id++);
}

static MgSmtpSession *
new_session_full (Fixture    *f,
                  const char *client_ip,
                  const char *client_host)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  g_autoptr(GInetAddress) address = NULL;
  MgSmtpSessionInfo info = { 0 };

  config = mg_config_store_snapshot (f->store, &error);
  g_assert_no_error (error);
  if (client_ip != NULL)
    address = g_inet_address_new_from_string (client_ip);

  info.config = config;
  info.session_tag = "S00000001";
  info.hostname = HOST;
  info.client_address = address;
  info.client_port = 40000;
  info.client_host = client_host;
  info.local_port = 2525;
  info.new_id = new_id_cb;
  info.new_id_data = f;
  info.now = NOW;
  f->last_action = MG_SMTP_ACTION_CONTINUE;
  return mg_smtp_session_new (&info);
}

static guint
ten_failures_cb (gpointer user_data)
{
  return 10;
}

/* A session as the receiver makes it for TLS: STARTTLS possible
 * (@available), or TLS from the start (@active, implicit-TLS listener). */
static MgSmtpSession *
new_session_tls (Fixture  *f,
                 gboolean  available,
                 gboolean  active,
                 gboolean  throttled)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgConfig) config = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string ("192.0.2.7");
  MgSmtpSessionInfo info = { 0 };

  config = mg_config_store_snapshot (f->store, &error);
  g_assert_no_error (error);
  info.config = config;
  info.session_tag = "S00000002";
  info.hostname = HOST;
  info.client_address = address;
  info.new_id = new_id_cb;
  info.new_id_data = f;
  info.now = NOW;
  info.tls_available = available;
  info.tls_active = active;
  info.auth_failures = throttled ? ten_failures_cb : NULL;
  f->last_action = MG_SMTP_ACTION_CONTINUE;
  return mg_smtp_session_new (&info);
}

static MgSmtpSession *
new_session (Fixture *f)
{
  return new_session_full (f, "127.0.0.1", NULL);
}

/* ---- the script runner -------------------------------------------------- */

/* Feeds @text as the client would send it: lines while in command mode,
 * raw bytes while in DATA.  A COMMIT is answered like the receiver does. */
static void
feed (Fixture       *f,
      MgSmtpSession *session,
      const char    *text,
      GString       *replies)
{
  const char *p = text;
  const char *end = text + strlen (text);

  while (p < end && f->last_action != MG_SMTP_ACTION_CLOSE)
    {
      if (mg_smtp_session_in_data (session))
        {
          gsize consumed = 0;
          gsize available = end - p;

          f->last_action = mg_smtp_session_handle_data (session, p, end - p,
                                                        &consumed, replies);
          g_assert_cmpuint (consumed, <=, available);
          p += consumed;
          if (f->last_action == MG_SMTP_ACTION_COMMIT)
            {
              g_autoptr(GError) error = NULL;

              g_clear_pointer (&f->last_message, mg_queue_message_unref);
              f->last_message = mg_smtp_session_take_message (session);
              g_assert_nonnull (f->last_message);
              if (f->fail_commit)
                error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
              mg_smtp_session_commit_done (session, error, replies);
              f->last_action = MG_SMTP_ACTION_CONTINUE;
            }
          else if (f->last_action == MG_SMTP_ACTION_READ_DATA)
            g_assert_cmpuint (consumed, ==, available);
          continue;
        }
      else
        {
          const char *nl = memchr (p, '\n', end - p);
          const char *line_end = nl != NULL ? nl : end;
          gboolean crlf = line_end > p && line_end[-1] == '\r';
          gsize len = (line_end - p) - (crlf ? 1 : 0);

          f->last_action = mg_smtp_session_handle_line (session, p, len, crlf,
                                                        FALSE, replies);
          p = nl != NULL ? nl + 1 : end;
        }
    }
}

/* Splits @replies into replies (a "DDD-" line continues) and checks each
 * reply's first line against the '|'-separated prefixes of @expect. */
static void
assert_replies (const char *replies,
                const char *expect,
                const char *context)
{
  g_auto(GStrv) prefixes = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) firsts = g_ptr_array_new ();
  gboolean continued = FALSE;
  guint n_lines;

  g_assert_true (*replies == '\0' || g_str_has_suffix (replies, "\r\n"));
  lines = g_strsplit (replies, "\r\n", -1);
  n_lines = g_strv_length (lines);
  for (guint i = 0; i + 1 < n_lines; i++)   /* the last piece is "" */
    {
      const char *line = lines[i];

      g_assert_cmpuint (strlen (line), >=, 4);
      g_assert_true (g_ascii_isdigit (line[0]) && g_ascii_isdigit (line[1])
                     && g_ascii_isdigit (line[2]));
      g_assert_true (line[3] == ' ' || line[3] == '-');
      if (!continued)
        g_ptr_array_add (firsts, (gpointer) line);
      continued = line[3] == '-';
    }
  g_assert_false (continued);

  prefixes = *expect == '\0' ? g_new0 (char *, 1) : g_strsplit (expect, "|", -1);
  if (g_strv_length (prefixes) != firsts->len)
    g_error ("%s: expected %u replies (%s), got %u: %s", context,
             g_strv_length (prefixes), expect, firsts->len, replies);
  for (guint i = 0; i < firsts->len; i++)
    if (!g_str_has_prefix (g_ptr_array_index (firsts, i), prefixes[i]))
      g_error ("%s: reply %u is \"%s\", expected prefix \"%s\"", context, i,
               (const char *) g_ptr_array_index (firsts, i), prefixes[i]);
}

static void
run_script (Fixture       *f,
            MgSmtpSession *session,
            const Step    *steps,
            gsize          n_steps)
{
  for (gsize i = 0; i < n_steps; i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autofree char *context = NULL;

      context = g_strdup_printf ("step %" G_GSIZE_FORMAT " [%s]", i,
                                 steps[i].send != NULL ? steps[i].send : "greeting");
      if (steps[i].send == NULL)
        mg_smtp_session_greeting (session, replies);
      else
        feed (f, session, steps[i].send, replies);
      assert_replies (replies->str, steps[i].expect, context);
    }
}

#define RUN(f, session, steps) run_script ((f), (session), (steps), G_N_ELEMENTS (steps))

/* ---- dialogues ---------------------------------------------------------- */

/* R-1.2: a whole transaction, one command at a time. */
static void
test_basic_dialogue (Fixture       *f,
                     gconstpointer  data)
{
  static const Step steps[] = {
    { NULL,                                  "220 " HOST " ESMTP mailgate" },
    { "EHLO client.example\r\n",             "250-" HOST " Hello client.example [127.0.0.1]" },
    { "MAIL FROM:<sender@outside.example>\r\n", "250 2.1.0 Ok" },
    { "RCPT TO:<alice@corp.example>\r\n",    "250 2.1.5 Ok" },
    { "DATA\r\n",                            "354 End data with <CR><LF>.<CR><LF>" },
    { "Subject: hi\r\n\r\nhello\r\n..dot\r\n.\r\n", "250 2.0.0 Ok: queued as B0000000097" },
    { "QUIT\r\n",                            "221 2.0.0 Bye" },
  };
  g_autoptr(MgSmtpSession) session = NULL;
  MgQueueMessage *msg;
  gsize size;
  const char *body;

  config_accounts (f);
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_cmpint (f->last_action, ==, MG_SMTP_ACTION_CLOSE);

  msg = f->last_message;
  g_assert_nonnull (msg);
  g_assert_cmpstr (msg->id, ==, "B0000000097");
  g_assert_cmpstr (msg->sender, ==, "sender@outside.example");
  g_assert_cmpuint (msg->rcpts->len, ==, 1);
  g_assert_cmpstr (((MgQueueRcpt *) g_ptr_array_index (msg->rcpts, 0))->address, ==,
                   "alice@corp.example");
  g_assert_cmpstr (msg->client_address, ==, "127.0.0.1");
  g_assert_cmpstr (msg->helo, ==, "client.example");
  g_assert_nonnull (msg->body);
  body = g_bytes_get_data (msg->body, &size);
  g_assert_cmpuint (msg->body_size, ==, size);
  g_assert_cmpuint (size, >, 30);
  g_assert_cmpmem (body, 29, "Received: from client.example", 29);
  /* R-1.2: dot-unstuffed, CRLF kept, nothing after the end marker */
  g_assert_cmpmem (body + size - 17, 17, "\r\n\r\nhello\r\n.dot\r\n", 17);
}

/* EHLO text: extensions, SIZE with the limit (R-1.4), no number when 0. */
static void
test_ehlo_extensions (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);

  set_setting (f, "receiver.max_message_size", "1000");
  session = new_session (f);
  mg_smtp_session_handle_line (session, "ehlo c.example", 14, TRUE, FALSE, replies);
  g_assert_cmpstr (replies->str, ==,
                   "250-" HOST " Hello c.example [127.0.0.1]\r\n"
                   "250-PIPELINING\r\n"
                   "250-SIZE 1000\r\n"
                   "250-8BITMIME\r\n"
                   "250-ENHANCEDSTATUSCODES\r\n"
                   "250 HELP\r\n");
  g_clear_pointer (&session, mg_smtp_session_free);

  set_setting (f, "receiver.max_message_size", "0");
  session = new_session (f);
  g_string_truncate (replies, 0);
  mg_smtp_session_handle_line (session, "EHLO c.example", 14, TRUE, FALSE, replies);
  g_assert_nonnull (strstr (replies->str, "\r\n250-SIZE\r\n"));

  /* HELO: one line */
  g_string_truncate (replies, 0);
  mg_smtp_session_handle_line (session, "HELO c.example", 14, TRUE, FALSE, replies);
  g_assert_cmpstr (replies->str, ==, "250 " HOST " Hello c.example [127.0.0.1]\r\n");
}

/* R-1.3: the banner text is hidden when receiver.banner_show is false. */
static void
test_greeting_hidden (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);

  set_setting (f, "receiver.banner_show", "false");
  session = new_session (f);
  mg_smtp_session_greeting (session, replies);
  g_assert_cmpstr (replies->str, ==, "220 " HOST " ESMTP\r\n");
}

/* Every verb in every command state. */
typedef struct
{
  const char *command;
  const char *connected;
  const char *greeted;
  const char *mail;
  const char *rcpt;
} VerbRow;

static void
test_verb_matrix (Fixture       *f,
                  gconstpointer  data)
{
  static const VerbRow rows[] = {
    { "EHLO c.example",               "250-", "250-", "250-", "250-" },
    { "HELO c.example",               "250 ", "250 ", "250 ", "250 " },
    { "EHLO",                         "501 5.5.4", "501 5.5.4", "501 5.5.4", "501 5.5.4" },
    { "MAIL FROM:<s@outside.example>", "503 5.5.1", "250 2.1.0", "503 5.5.1 Nested MAIL command",
                                      "503 5.5.1 Nested MAIL command" },
    { "RCPT TO:<alice@corp.example>", "503 5.5.1", "503 5.5.1", "250 2.1.5", "250 2.1.5" },
    { "DATA",                         "503 5.5.1", "503 5.5.1", "554 5.5.1 No valid recipients", "354 " },
    { "RSET",                         "250 2.0.0", "250 2.0.0", "250 2.0.0", "250 2.0.0" },
    { "NOOP",                         "250 2.0.0", "250 2.0.0", "250 2.0.0", "250 2.0.0" },
    { "QUIT",                         "221 2.0.0 Bye", "221 2.0.0 Bye", "221 2.0.0 Bye", "221 2.0.0 Bye" },
    { "HELP",                         "214 2.0.0", "214 2.0.0", "214 2.0.0", "214 2.0.0" },
    { "VRFY alice",                   "252 2.5.2", "252 2.5.2", "252 2.5.2", "252 2.5.2" },
    { "EXPN staff",                   "502 5.5.1 EXPN not available", "502 5.5.1", "502 5.5.1", "502 5.5.1" },
    { "STARTTLS",                     "503 5.5.1", "454 4.7.0 TLS not available", "503 5.5.1", "503 5.5.1" },
    /* R-2.5: auth.require_tls is on by default, and this session has no TLS */
    { "AUTH PLAIN",                   "503 5.5.1", "538 5.7.11", "503 5.5.1", "503 5.5.1" },
    { "BDAT 10 LAST",                 "502 5.5.1 BDAT not available", "502 5.5.1", "502 5.5.1", "502 5.5.1" },
    { "XYZZY",                        "500 5.5.2 Error: command not recognized", "500 5.5.2",
                                      "500 5.5.2", "500 5.5.2" },
    { "",                             "500 5.5.2", "500 5.5.2", "500 5.5.2", "500 5.5.2" },
  };
  static const char * const preludes[] = {
    "",
    "EHLO c.example\r\n",
    "EHLO c.example\r\nMAIL FROM:<s@outside.example>\r\n",
    "EHLO c.example\r\nMAIL FROM:<s@outside.example>\r\nRCPT TO:<bob@corp.example>\r\n",
  };

  config_accounts (f);
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    for (gsize s = 0; s < G_N_ELEMENTS (preludes); s++)
      {
        const char *expected[] = { rows[r].connected, rows[r].greeted, rows[r].mail, rows[r].rcpt };
        g_autoptr(MgSmtpSession) session = new_session (f);
        g_autoptr(GString) replies = g_string_new (NULL);
        g_autofree char *context = NULL;
        g_autofree char *line = g_strconcat (rows[r].command, "\r\n", NULL);

        f->last_action = MG_SMTP_ACTION_CONTINUE;
        feed (f, session, preludes[s], replies);
        g_string_truncate (replies, 0);
        feed (f, session, line, replies);
        context = g_strdup_printf ("%s in state %" G_GSIZE_FORMAT, rows[r].command, s);
        assert_replies (replies->str, expected[s], context);
        if (g_str_equal (rows[r].command, "QUIT"))
          g_assert_cmpint (f->last_action, ==, MG_SMTP_ACTION_CLOSE);
        else if (g_str_equal (rows[r].command, "DATA") && s == 3)
          g_assert_cmpint (f->last_action, ==, MG_SMTP_ACTION_READ_DATA);
        else
          g_assert_cmpint (f->last_action, ==, MG_SMTP_ACTION_CONTINUE);
      }
}

/* PIPELINING (RFC 2920): a batch of lines, replies in order in one buffer. */
static void
test_pipelining (Fixture       *f,
                 gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n", "250-" },
    { "MAIL FROM:<s@outside.example>\r\n"
      "RCPT TO:<alice@corp.example>\r\n"
      "RCPT TO:<nobody@corp.example>\r\n"
      "RCPT TO:<bob@corp.example>\r\n"
      "DATA\r\n",
      "250 2.1.0|250 2.1.5|550 5.1.1 <nobody@corp.example>|250 2.1.5|354 " },
    /* the end of DATA and the next commands in one read */
    { "body\r\n.\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<BOB@corp.example>\r\nQUIT\r\n",
      "250 2.0.0 Ok: queued as B0000000097|250 2.0.0|250 2.1.0|250 2.1.5|221 2.0.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_cmpuint (f->last_message->rcpts->len, ==, 2);
}

/* RSET and a second EHLO end the transaction. */
static void
test_rset (Fixture       *f,
           gconstpointer  data)
{
  static const Step steps[] = {
    { "HELO c.example\r\n",                 "250 " },
    { "MAIL FROM:<s@outside.example>\r\n",  "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",   "250 2.1.5" },
    { "RSET\r\n",                           "250 2.0.0 Ok" },
    { "RCPT TO:<alice@corp.example>\r\n",   "503 5.5.1" },
    { "DATA\r\n",                           "503 5.5.1" },
    { "MAIL FROM:<s@outside.example>\r\n",  "250 2.1.0" },
    { "EHLO again.example\r\n",             "250-" },
    { "RCPT TO:<alice@corp.example>\r\n",   "503 5.5.1" },
    { "MAIL FROM:<s@outside.example>\r\n",  "250 2.1.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  session = new_session (f);
  RUN (f, session, steps);
}

/* R-1.2: syntax of MAIL / RCPT and their parameters. */
static void
test_syntax (Fixture       *f,
             gconstpointer  data)
{
  static const Step steps[] = {
    { "ehlo c.example\r\n",                          "250-" },
    { "MAIL\r\n",                                    "501 5.1.7" },
    { "MAIL TO:<s@outside.example>\r\n",             "501 5.1.7" },
    { "MAIL FROM:s@outside.example\r\n",             "501 5.1.7" },
    { "MAIL FROM:<s@outside.example> FOO=BAR\r\n",   "555 5.5.4" },
    { "MAIL FROM:<s@outside.example> BODY=BINARYMIME\r\n", "555 5.5.4" },
    { "MAIL FROM:<s@outside.example> SIZE=abc\r\n",  "501 5.5.4" },
    { "mail from:<s@outside.example> BODY=8BITMIME size=10\r\n", "250 2.1.0" },
    { "RCPT\r\n",                                    "501 5.1.3" },
    { "RCPT TO:<>\r\n",                              "501 5.1.3" },
    { "RCPT TO:alice@corp.example\r\n",              "501 5.1.3" },
    { "RCPT TO:<alice@corp.example> NOTIFY=NEVER\r\n", "555 5.5.4" },
    { "rcpt to: <alice@corp.example>  \r\n",         "250 2.1.5" },
    { "VRFY\r\n",                                    "501 5.5.4" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  session = new_session (f);
  RUN (f, session, steps);
}

/* R-1.4: max recipients (452), declared SIZE (552 at MAIL). */
static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                            "250-" },
    { "MAIL FROM:<s@outside.example> SIZE=1001\r\n",   "552 5.3.4 Message size exceeds fixed limit" },
    { "MAIL FROM:<s@outside.example> SIZE=1000\r\n",   "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",              "250 2.1.5" },
    { "RCPT TO:<bob@corp.example>\r\n",                "250 2.1.5" },
    { "RCPT TO:<alice@corp.example>\r\n",              "452 4.5.3 Too many recipients" },
    { "DATA\r\n",                                      "354 " },
    { "x\r\n.\r\n",                                    "250 2.0.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  set_setting (f, "receiver.max_recipients", "2");
  set_setting (f, "receiver.max_message_size", "1000");
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_cmpuint (f->last_message->rcpts->len, ==, 2);
}

/* R-1.4: a message over the size limit is refused after the final dot,
 * and the session goes on. */
static void
test_data_too_big (Fixture       *f,
                   gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                         "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",          "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",           "250 2.1.5" },
    { "DATA\r\n",                                   "354 " },
    { "0123456789012345678901234567890123456789\r\n", "" },
    { "0123456789012345678901234567890123456789\r\n", "" },
    { "0123456789012345678901234567890123456789\r\n.\r\n",
      "552 5.3.4 Message size exceeds fixed limit" },
    { "RCPT TO:<alice@corp.example>\r\n",           "503 5.5.1" },
    { "MAIL FROM:<s@outside.example>\r\n",          "250 2.1.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  set_setting (f, "receiver.max_message_size", "100");
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_null (f->last_message);
}

/* R-1.4: mail loop protection by the count of Received: headers. */
static void
test_data_loop (Fixture       *f,
                gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                   "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",    "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",     "250 2.1.5" },
    { "DATA\r\n",                             "354 " },
    { "Received: from a\r\nReceived: from b\r\nReceived: from c\r\n\r\nloop\r\n.\r\n",
      "554 5.4.6 Too many Received headers" },
    { "MAIL FROM:<s@outside.example>\r\n",    "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",     "250 2.1.5" },
    { "DATA\r\n",                             "354 " },
    { "Received: from a\r\n\r\nfine\r\n.\r\n", "250 2.0.0 Ok: queued as B0000000098" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  set_setting (f, "receiver.max_received_headers", "2");
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_cmpstr (f->last_message->id, ==, "B0000000098");
}

/* R-2.3 method A: the wildcard alias passes every user of the domain. */
static void
test_config_wildcard_alias (Fixture       *f,
                            gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                    "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",     "250 2.1.0" },
    { "RCPT TO:<anyone@corp.example>\r\n",     "250 2.1.5" },
    { "RCPT TO:<Other.User@CORP.example>\r\n", "250 2.1.5" },
    { "RCPT TO:<x@elsewhere.example>\r\n",     "554 5.7.1 <x@elsewhere.example>: Relay access denied" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  add_alias (f, "*@corp.example", "*@corp.example", NULL);
  session = new_session (f);
  RUN (f, session, steps);
}

/* R-2.3 method B: one-to-one aliases pass only the listed users. */
static void
test_config_one_to_one_alias (Fixture       *f,
                              gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                    "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",     "250 2.1.0" },
    { "RCPT TO:<user1@corp.example>\r\n",      "250 2.1.5" },
    { "RCPT TO:<user2@corp.example>\r\n",
      "550 5.1.1 <user2@corp.example>: Recipient address rejected: User unknown" },
    { "RCPT TO:<sales@corp.example>\r\n",      "250 2.1.5" },
    { "RCPT TO:<USER1@corp.example>\r\n",      "250 2.1.5" },
    { "DATA\r\n",                              "354 " },
    { ".\r\n",                                 "250 2.0.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;
  GPtrArray *rcpts;

  add_alias (f, "user1@corp.example", "user1@corp.example", NULL);
  add_alias (f, "sales@corp.example", "user1@corp.example", "boss@corp.example");
  session = new_session (f);
  RUN (f, session, steps);

  /* targets are deduplicated: user1 (three times) and boss */
  rcpts = f->last_message->rcpts;
  g_assert_cmpuint (rcpts->len, ==, 2);
  g_assert_cmpstr (((MgQueueRcpt *) g_ptr_array_index (rcpts, 0))->address, ==, "user1@corp.example");
  g_assert_cmpstr (((MgQueueRcpt *) g_ptr_array_index (rcpts, 1))->address, ==, "boss@corp.example");
}

/* R-2.2 seed method C: local domain + accounts; unknown users refused at
 * RCPT (no backscatter), VRFY answers from the same policy when enabled. */
static void
test_config_accounts (Fixture       *f,
                      gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                    "250-" },
    { "VRFY alice@corp.example\r\n",           "250 2.1.5 <alice@corp.example>" },
    { "VRFY <carol@corp.example>\r\n",         "550 5.1.1 <carol@corp.example>" },
    { "VRFY x@elsewhere.example\r\n",          "554 5.7.1" },
    { "MAIL FROM:<s@outside.example>\r\n",     "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",      "250 2.1.5" },
    { "RCPT TO:<carol@corp.example>\r\n",
      "550 5.1.1 <carol@corp.example>: Recipient address rejected: User unknown" },
    { "RCPT TO:<x@elsewhere.example>\r\n",     "554 5.7.1 <x@elsewhere.example>: Relay access denied" },
    { "RCPT TO:<\"x@elsewhere.example\"@corp.example>\r\n", "550 5.7.1" },
    { "RCPT TO:<x%elsewhere.example@corp.example>\r\n", "550 5.7.1" },
    { "RCPT TO:<elsewhere.example!x@corp.example>\r\n", "550 5.7.1" },
    { "RCPT TO:<x@[192.0.2.1]>\r\n",           "554 5.7.1" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  set_setting (f, "receiver.vrfy", "true");
  session = new_session (f);
  RUN (f, session, steps);
}

/* "<postmaster>" without a domain means postmaster@HOST (RFC 5321 4.5.1). */
static void
test_bare_postmaster (Fixture       *f,
                      gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                 "250-" },
    { "MAIL FROM:<>\r\n",                   "250 2.1.0" },
    { "RCPT TO:<Postmaster>\r\n",           "250 2.1.5" },
    { "DATA\r\n",                           "354 " },
    { ".\r\n",                              "250 2.0.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  add_domain (f, HOST);
  add_account (f, "postmaster@" HOST);
  session = new_session (f);
  RUN (f, session, steps);
  g_assert_cmpstr (f->last_message->sender, ==, "");
  g_assert_cmpstr (((MgQueueRcpt *) g_ptr_array_index (f->last_message->rcpts, 0))->address,
                   ==, "postmaster@" HOST);
}

/* R-2.4: "127.0.0.5 true" lets that client relay; others are refused. */
static void
test_relay_by_client_ip (Fixture       *f,
                         gconstpointer  data)
{
  static const Step allowed[] = {
    { "EHLO internal.example\r\n",              "250-" },
    { "MAIL FROM:<user@corp.example>\r\n",      "250 2.1.0" },
    { "RCPT TO:<friend@outside.example>\r\n",   "250 2.1.5" },
    { "RCPT TO:<x%y@outside.example>\r\n",      "250 2.1.5" },
    { "DATA\r\n",                               "354 " },
    { "hi\r\n.\r\n",                            "250 2.0.0" },
  };
  static const Step refused[] = {
    { "EHLO outside.example\r\n",               "250-" },
    { "MAIL FROM:<user@corp.example>\r\n",      "250 2.1.0" },
    { "RCPT TO:<friend@outside.example>\r\n",   "554 5.7.1 <friend@outside.example>: Relay access denied" },
    { "RCPT TO:<x%y@corp.example>\r\n",         "550 5.7.1 <x%y@corp.example>: Relay access denied" },
    { "DATA\r\n",                               "554 5.5.1" },
  };
  g_autoptr(MgSmtpSession) inside = NULL;
  g_autoptr(MgSmtpSession) outside = NULL;

  config_accounts (f);
  add_rule (f, "127.0.0.5", TRUE);
  inside = new_session_full (f, "127.0.0.5", NULL);
  RUN (f, inside, allowed);
  g_assert_cmpstr (((MgQueueRcpt *) g_ptr_array_index (f->last_message->rcpts, 0))->address,
                   ==, "friend@outside.example");

  outside = new_session_full (f, "127.0.0.1", NULL);
  RUN (f, outside, refused);
}

/* R-2.4 / R-2.6: "postmaster@corp.example false" refuses that sender. */
static void
test_sender_deny_rule (Fixture       *f,
                       gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                       "250-" },
    { "MAIL FROM:<postmaster@corp.example>\r\n",
      "550 5.7.1 <postmaster@corp.example>: Access denied (relay rule 1)" },
    { "MAIL FROM:<PostMaster@Corp.Example>\r\n",
      "550 5.7.1 <PostMaster@Corp.Example>: Access denied (relay rule 1)" },
    { "RCPT TO:<alice@corp.example>\r\n",         "503 5.5.1" },
    { "MAIL FROM:<alice@corp.example>\r\n",       "250 2.1.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  add_rule (f, "postmaster@corp.example", FALSE);
  session = new_session (f);
  RUN (f, session, steps);
}

/* R-1.6: the Received: header's exact text. */
static void
test_received_header (Fixture       *f,
                      gconstpointer  data)
{
  static const struct
  {
    const char *client_ip;
    const char *client_host;
    const char *hello;
    const char *rcpts;
    const char *expected;
  } cases[] = {
    { "127.0.0.1", NULL, "EHLO client.example",
      "RCPT TO:<Alice@corp.example>\r\n",
      "Received: from client.example (unknown [127.0.0.1])\r\n"
      "\tby " HOST " (mailgate) with ESMTP id B0000000097\r\n"
      "\tfor <Alice@corp.example>;\r\n"
      "\tFri, 27 Nov 2026 21:30:00 +0000\r\n" },
    { "::1", "localhost.example", "HELO client.example",
      "RCPT TO:<alice@corp.example>\r\nRCPT TO:<bob@corp.example>\r\n",
      "Received: from client.example (localhost.example [IPv6:::1])\r\n"
      "\tby " HOST " (mailgate) with SMTP id B0000000097;\r\n"
      "\tFri, 27 Nov 2026 21:30:00 +0000\r\n" },
  };

  config_accounts (f);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MgSmtpSession) session = NULL;
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autofree char *script = NULL;
      gsize size;
      const char *body;

      f->next_id = 97;
      f->last_action = MG_SMTP_ACTION_CONTINUE;
      session = new_session_full (f, cases[i].client_ip, cases[i].client_host);
      script = g_strconcat (cases[i].hello, "\r\nMAIL FROM:<s@outside.example>\r\n",
                            cases[i].rcpts, "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n", NULL);
      feed (f, session, script, replies);
      g_assert_true (g_str_has_suffix (replies->str, "250 2.0.0 Ok: queued as B0000000097\r\n"));

      body = g_bytes_get_data (f->last_message->body, &size);
      g_assert_cmpuint (size, >=, strlen (cases[i].expected));
      g_assert_cmpmem (body, strlen (cases[i].expected),
                       cases[i].expected, strlen (cases[i].expected));
      g_assert_cmpmem (body + strlen (cases[i].expected), size - strlen (cases[i].expected),
                       "Subject: x\r\n\r\nbody\r\n", 20);
    }
}

/* R-1.5: 250 only from commit_done; a queue failure is 451 4.3.0. */
static void
test_commit_failure (Fixture       *f,
                     gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                  "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",   "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",    "250 2.1.5" },
    { "DATA\r\n",                            "354 " },
    { "hello\r\n.\r\n",                      "451 4.3.0 Error: queue file write error, try again later" },
    { "RCPT TO:<alice@corp.example>\r\n",    "503 5.5.1" },
    { "MAIL FROM:<s@outside.example>\r\n",   "250 2.1.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  f->fail_commit = TRUE;
  session = new_session (f);
  RUN (f, session, steps);
}

/* The session itself never says 250 at the end of DATA: COMMIT, no reply. */
static void
test_commit_waits_for_queue (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autoptr(MgQueueMessage) msg = NULL;
  const char *tail = "hello\r\n.\r\nQUIT\r\n";
  gsize consumed = 0;

  config_accounts (f);
  session = new_session (f);
  feed (f, session, "EHLO c\r\nMAIL FROM:<s@outside.example>\r\nRCPT TO:<alice@corp.example>\r\nDATA\r\n",
        replies);
  g_assert_true (mg_smtp_session_in_data (session));
  g_string_truncate (replies, 0);

  g_assert_cmpint (mg_smtp_session_handle_data (session, tail, strlen (tail), &consumed, replies),
                   ==, MG_SMTP_ACTION_COMMIT);
  g_assert_cmpuint (consumed, ==, 10);   /* "QUIT\r\n" is left for the command reader */
  g_assert_cmpstr (replies->str, ==, "");
  g_assert_false (mg_smtp_session_in_data (session));

  msg = mg_smtp_session_take_message (session);
  mg_smtp_session_commit_done (session, NULL, replies);
  g_assert_cmpstr (replies->str, ==, "250 2.0.0 Ok: queued as B0000000097\r\n");
}

/* Hostile command lines: too long, NUL, bare CR; bare LF is accepted. */
static void
test_hostile_lines (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);
  MgSmtpAction action;

  config_accounts (f);
  session = new_session (f);

  /* never executed: a cut QUIT does not close */
  action = mg_smtp_session_handle_line (session, "QUIT", 4, TRUE, TRUE, replies);
  g_assert_cmpint (action, ==, MG_SMTP_ACTION_CONTINUE);
  g_assert_cmpstr (replies->str, ==, "500 5.5.2 Error: line too long\r\n");

  g_string_truncate (replies, 0);
  action = mg_smtp_session_handle_line (session, "QUIT\0x", 6, TRUE, FALSE, replies);
  g_assert_cmpint (action, ==, MG_SMTP_ACTION_CONTINUE);
  g_assert_cmpstr (replies->str, ==, "500 5.5.2 Error: invalid characters in command\r\n");

  g_string_truncate (replies, 0);
  action = mg_smtp_session_handle_line (session, "NOOP\rQUIT", 9, TRUE, FALSE, replies);
  g_assert_cmpint (action, ==, MG_SMTP_ACTION_CONTINUE);
  g_assert_cmpstr (replies->str, ==, "500 5.5.2 Error: invalid characters in command\r\n");

  /* a command ended by a bare LF works (commands only) */
  g_string_truncate (replies, 0);
  action = mg_smtp_session_handle_line (session, "EHLO c.example", 14, FALSE, FALSE, replies);
  g_assert_cmpint (action, ==, MG_SMTP_ACTION_CONTINUE);
  g_assert_true (g_str_has_prefix (replies->str, "250-" HOST));

  g_string_truncate (replies, 0);
  feed (f, session, "MAIL FROM:<s@outside.example>\nRCPT TO:<alice@corp.example>\n", replies);
  assert_replies (replies->str, "250 2.1.0|250 2.1.5", "bare LF commands");

  /* an EHLO name longer than any domain is refused, not echoed into an
   * over-long reply (fuzz/README.md F3) */
  {
    g_autofree char *name = g_strnfill (256, 'a');
    g_autofree char *line = g_strconcat ("EHLO ", name, NULL);

    g_string_truncate (replies, 0);
    action = mg_smtp_session_handle_line (session, line, strlen (line), TRUE, FALSE, replies);
    g_assert_cmpint (action, ==, MG_SMTP_ACTION_CONTINUE);
    g_assert_cmpstr (replies->str, ==, "501 5.5.4 Error: bad parameter syntax\r\n");
    name[255] = '\0';
    g_free (line);
    line = g_strconcat ("HELO ", name, NULL);
    g_string_truncate (replies, 0);
    mg_smtp_session_handle_line (session, line, strlen (line), TRUE, FALSE, replies);
    g_assert_true (g_str_has_prefix (replies->str, "250 "));
  }
}

/* After 20 errors the session says 421 and closes. */
static void
test_error_limit (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);

  session = new_session (f);
  for (guint i = 1; i < 20; i++)
    {
      g_string_truncate (replies, 0);
      g_assert_cmpint (mg_smtp_session_handle_line (session, "BOGUS", 5, TRUE, FALSE, replies),
                       ==, MG_SMTP_ACTION_CONTINUE);
      g_assert_cmpstr (replies->str, ==, "500 5.5.2 Error: command not recognized\r\n");
    }
  /* successes do not reset the count */
  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_session_handle_line (session, "NOOP", 4, TRUE, FALSE, replies),
                   ==, MG_SMTP_ACTION_CONTINUE);

  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_session_handle_line (session, "MAIL FROM:<a@b.example>", 23,
                                                TRUE, FALSE, replies),
                   ==, MG_SMTP_ACTION_CLOSE);
  g_assert_cmpstr (replies->str, ==,
                   "503 5.5.1 Error: send HELO/EHLO first\r\n"
                   "421 4.7.0 " HOST " Error: too many errors\r\n");
}

static void
test_timeout_shutdown (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);

  session = new_session (f);
  mg_smtp_session_timeout (session, replies);
  g_assert_cmpstr (replies->str, ==, "421 4.4.2 " HOST " Error: timeout exceeded\r\n");
  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_session_handle_line (session, "NOOP", 4, TRUE, FALSE, replies),
                   ==, MG_SMTP_ACTION_CLOSE);
  g_assert_cmpstr (replies->str, ==, "");
  g_clear_pointer (&session, mg_smtp_session_free);

  /* during DATA too */
  config_accounts (f);
  session = new_session (f);
  feed (f, session, "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@corp.example>\r\nDATA\r\npart", replies);
  g_assert_true (mg_smtp_session_in_data (session));
  g_string_truncate (replies, 0);
  mg_smtp_session_shutdown (session, replies);
  g_assert_cmpstr (replies->str, ==, "421 4.3.2 " HOST " Service shutting down\r\n");
  g_assert_false (mg_smtp_session_in_data (session));
}

static void
on_trace_line_cb (const char *line,
                  gpointer    user_data)
{
  g_string_append_printf (user_data, "%s\n", line);
}

/* R-4.1: state changes and every policy decision's reason are traced. */
static void
test_trace (Fixture       *f,
            gconstpointer  data)
{
  static const Step steps[] = {
    { "EHLO c.example\r\n",                    "250-" },
    { "MAIL FROM:<s@outside.example>\r\n",     "250 2.1.0" },
    { "RCPT TO:<alice@corp.example>\r\n",      "250 2.1.5" },
    { "RCPT TO:<x%y@corp.example>\r\n",        "550 5.7.1" },
    { "DATA\r\n",                              "354 " },
    { "hi\r\n.\r\n",                          "250 2.0.0" },
  };
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) trace = g_string_new (NULL);
  guint id;

  config_accounts (f);
  add_rule (f, "192.0.2.0/24", TRUE);
  session = new_session (f);
  id = mg_trace_subscribe (on_trace_line_cb, trace, NULL);
  RUN (f, session, steps);
  mg_trace_unsubscribe (id);

  g_test_message ("%s", trace->str);
  g_assert_nonnull (strstr (trace->str, "[S00000001] state connected -> greeted\n"));
  g_assert_nonnull (strstr (trace->str, "[S00000001] state greeted -> mail\n"));
  g_assert_nonnull (strstr (trace->str, "[S00000001] state mail -> rcpt\n"));
  g_assert_nonnull (strstr (trace->str, "[S00000001] state rcpt -> data\n"));
  g_assert_nonnull (strstr (trace->str, "[S00000001] state commit -> greeted\n"));
  g_assert_nonnull (strstr (trace->str, "routing syntax"));
  g_assert_nonnull (strstr (trace->str, "B0000000097: "));
  g_assert_nonnull (strstr (trace->str, "1 recipients"));
  /* the policy's reasons: the relay rules and the recipient decision */
  g_assert_nonnull (strstr (trace->str, "relay rule"));
  g_assert_nonnull (strstr (trace->str, "alice@corp.example"));
}

/* ---- front door: STARTTLS, AUTH, sender protection ----------------------- */

/* One line, its replies checked against @expect (prefixes, '|'-separated). */
static MgSmtpAction
say (MgSmtpSession *session,
     const char    *line,
     const char    *expect)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  MgSmtpAction action;

  action = mg_smtp_session_handle_line (session, line, strlen (line), TRUE, FALSE, replies);
  assert_replies (replies->str, expect, line);
  return action;
}

static gboolean
ehlo_has (MgSmtpSession *session,
          const char    *keyword)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autofree char *needle = g_strdup_printf ("\r\n250-%s", keyword);
  g_autofree char *last = g_strdup_printf ("\r\n250 %s", keyword);

  mg_smtp_session_handle_line (session, "EHLO c.example", 14, TRUE, FALSE, replies);
  return strstr (replies->str, needle) != NULL || strstr (replies->str, last) != NULL;
}

/* RFC 3207: STARTTLS offered only with a certificate, answered 220, and
 * everything learnt before the handshake is forgotten. */
static void
test_starttls (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(MgSmtpSession) plain = NULL;
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  plain = new_session_tls (f, FALSE, FALSE, FALSE);
  g_assert_false (ehlo_has (plain, "STARTTLS"));
  say (plain, "STARTTLS", "454 4.7.0 TLS not available");

  session = new_session_tls (f, TRUE, FALSE, FALSE);
  say (session, "STARTTLS", "503 5.5.1 Error: send HELO/EHLO first");
  g_assert_true (ehlo_has (session, "STARTTLS"));
  g_assert_false (ehlo_has (session, "AUTH"));          /* R-2.5: not before TLS */
  say (session, "STARTTLS now", "501 5.5.4");
  say (session, "MAIL FROM:<s@outside.example>", "250 2.1.0");
  say (session, "STARTTLS", "503 5.5.1 Error: MAIL transaction in progress");
  say (session, "RSET", "250 2.0.0");
  g_assert_cmpint (say (session, "STARTTLS", "220 2.0.0 Ready to start TLS"), ==,
                   MG_SMTP_ACTION_START_TLS);

  mg_smtp_session_tls_started (session, "TLSv1.3 TEST");
  say (session, "MAIL FROM:<s@outside.example>", "503 5.5.1 Error: send HELO/EHLO first");
  g_assert_false (ehlo_has (session, "STARTTLS"));
  g_assert_true (ehlo_has (session, "AUTH PLAIN LOGIN CRAM-MD5"));
  say (session, "STARTTLS", "503 5.5.1 Error: TLS already active");
}

/* R-2.5: AUTH over TLS, then the client may relay; Received says ESMTPSA. */
static void
test_auth_relay (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);
  const char *body;
  gsize size;

  config_accounts (f);
  add_account_password (f, "carol@corp.example", "pw");
  session = new_session_tls (f, TRUE, TRUE, FALSE);
  say (session, "AUTH PLAIN AGNhcm9sAHB3", "503 5.5.1 Error: send HELO/EHLO first");
  g_assert_true (ehlo_has (session, "AUTH"));
  say (session, "AUTH", "501 5.5.4");
  say (session, "AUTH DIGEST-MD5", "504 5.5.4");
  /* "\0carol\0pw" */
  say (session, "AUTH PLAIN AGNhcm9sAHB3", "235 2.7.0 Authentication successful");
  g_assert_cmpstr (mg_smtp_session_get_auth_user (session), ==, "carol@corp.example");
  say (session, "AUTH PLAIN AGNhcm9sAHB3", "503 5.5.1 Error: already authenticated");
  say (session, "MAIL FROM:<carol@corp.example>", "250 2.1.0");
  say (session, "AUTH LOGIN", "503 5.5.1 Error: MAIL transaction in progress");
  say (session, "RCPT TO:<friend@elsewhere.example>", "250 2.1.5");
  feed (f, session, "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n", replies);
  g_assert_true (g_str_has_suffix (replies->str, "250 2.0.0 Ok: queued as B0000000097\r\n"));
  body = g_bytes_get_data (f->last_message->body, &size);
  g_assert_nonnull (g_strstr_len (body, size, " with ESMTPSA id B0000000097"));
}

/* While an exchange runs, lines are responses, never commands; a bad
 * password is AUTH_FAILED (the receiver delays the 535). */
static void
test_auth_exchange_lines (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(GString) replies = g_string_new (NULL);

  config_accounts (f);
  add_account_password (f, "carol@corp.example", "pw");
  session = new_session_tls (f, TRUE, TRUE, FALSE);
  g_assert_true (ehlo_has (session, "AUTH"));
  say (session, "AUTH LOGIN", "334 VXNlcm5hbWU6");
  say (session, "MAIL FROM:<s@outside.example>", "501 5.5.2 Cannot decode response");
  say (session, "MAIL FROM:<s@outside.example>", "250 2.1.0");
  say (session, "RSET", "250 2.0.0");
  say (session, "AUTH LOGIN Y2Fyb2w=", "334 UGFzc3dvcmQ6");
  g_assert_cmpint (say (session, "d3Jvbmc=", "535 5.7.8 Error: authentication failed"), ==,
                   MG_SMTP_ACTION_AUTH_FAILED);
  g_assert_null (mg_smtp_session_get_auth_user (session));
  say (session, "AUTH CRAM-MD5", "334 ");
  mg_smtp_session_handle_line (session, "x", 1, TRUE, TRUE, replies);   /* over-long */
  g_assert_true (g_str_has_prefix (replies->str, "500 5.5.2"));
  say (session, "NOOP", "250 2.0.0");
  /* not logged in: no relaying */
  say (session, "MAIL FROM:<s@outside.example>", "250 2.1.0");
  say (session, "RCPT TO:<friend@elsewhere.example>", "554 5.7.1");
}

/* R-2.5: past auth.max_failures the client gets 421 and is closed. */
static void
test_auth_throttled (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;

  config_accounts (f);
  session = new_session_tls (f, TRUE, TRUE, TRUE);
  g_assert_true (ehlo_has (session, "AUTH"));
  g_assert_cmpint (say (session, "AUTH PLAIN AGNhcm9sAHB3",
                        "421 4.7.0 " HOST " Error: too many failed logins"), ==,
                   MG_SMTP_ACTION_CLOSE);
}

/* R-2.5: auth.methods and auth.require_tls. */
static void
test_auth_settings (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(MgSmtpSession) none = NULL;

  config_accounts (f);
  set_setting (f, "auth.methods", "login, cram-md5");
  set_setting (f, "auth.require_tls", "false");
  session = new_session_tls (f, FALSE, FALSE, FALSE);
  g_assert_true (ehlo_has (session, "AUTH LOGIN CRAM-MD5"));
  say (session, "AUTH PLAIN AGNhcm9sAHB3", "504 5.5.4");

  set_setting (f, "auth.methods", "");
  none = new_session_tls (f, TRUE, TRUE, FALSE);
  g_assert_false (ehlo_has (none, "AUTH"));
  say (none, "AUTH PLAIN", "502 5.5.1 AUTH not available");
}

/* R-2.6: protected senders need a logged-in or relay-allowed client. */
static void
test_protected_sender (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(MgSmtpSession) session = NULL;
  g_autoptr(MgSmtpSession) allowed = NULL;
  g_autoptr(MgSmtpSession) authed = NULL;

  config_accounts (f);
  add_account_password (f, "carol@corp.example", "pw");
  set_setting (f, "receiver.protected_senders", "ceo@corp.example, boss@else.example");
  add_rule (f, "@corp.example", TRUE);       /* a sender rule does not unlock */
  session = new_session_tls (f, FALSE, FALSE, FALSE);
  say (session, "EHLO c.example", "250-");
  say (session, "MAIL FROM:<postmaster@corp.example>",
       "550 5.7.1 <postmaster@corp.example>: Sender address rejected");
  say (session, "MAIL FROM:<Ceo@Corp.Example.>", "550 5.7.1");
  say (session, "MAIL FROM:<boss@else.example>", "550 5.7.1");
  say (session, "MAIL FROM:<postmaster@else.example>", "250 2.1.0");
  say (session, "RSET", "250 2.0.0");
  say (session, "MAIL FROM:<>", "250 2.1.0");

  authed = new_session_tls (f, TRUE, TRUE, FALSE);
  say (authed, "EHLO c.example", "250-");
  say (authed, "AUTH PLAIN AGNhcm9sAHB3", "235 ");
  say (authed, "MAIL FROM:<postmaster@corp.example>", "250 2.1.0");

  add_rule (f, "192.0.2.0/24", TRUE);
  allowed = new_session_tls (f, FALSE, FALSE, FALSE);
  say (allowed, "EHLO c.example", "250-");
  say (allowed, "MAIL FROM:<ceo@corp.example>", "250 2.1.0");
}

/* R-1.7: receiver.require_reverse_dns refuses clients without a verified name. */
static void
test_reverse_dns (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(MgSmtpSession) nameless = NULL;
  g_autoptr(MgSmtpSession) named = NULL;

  config_accounts (f);
  set_setting (f, "receiver.require_reverse_dns", "true");
  nameless = new_session_full (f, "192.0.2.9", NULL);
  say (nameless, "EHLO c.example", "250-");
  say (nameless, "MAIL FROM:<s@outside.example>",
       "450 4.7.25 Client host rejected: cannot find your hostname [192.0.2.9]");
  named = new_session_full (f, "192.0.2.9", "mail.outside.example");
  say (named, "EHLO c.example", "250-");
  say (named, "MAIL FROM:<s@outside.example>", "250 2.1.0");
}

int
main (int argc, char **argv)
{
  /* the Received: date is in local time: pin it */
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/smtp/session/basic-dialogue", test_basic_dialogue);
  ADD ("/smtp/session/ehlo-extensions", test_ehlo_extensions);
  ADD ("/smtp/session/greeting-hidden", test_greeting_hidden);
  ADD ("/smtp/session/verb-matrix", test_verb_matrix);
  ADD ("/smtp/session/pipelining", test_pipelining);
  ADD ("/smtp/session/rset", test_rset);
  ADD ("/smtp/session/syntax", test_syntax);
  ADD ("/smtp/session/limits", test_limits);
  ADD ("/smtp/session/data-too-big", test_data_too_big);
  ADD ("/smtp/session/data-loop", test_data_loop);
  ADD ("/smtp/session/config-wildcard-alias", test_config_wildcard_alias);
  ADD ("/smtp/session/config-one-to-one-alias", test_config_one_to_one_alias);
  ADD ("/smtp/session/config-accounts", test_config_accounts);
  ADD ("/smtp/session/bare-postmaster", test_bare_postmaster);
  ADD ("/smtp/session/relay-by-client-ip", test_relay_by_client_ip);
  ADD ("/smtp/session/sender-deny-rule", test_sender_deny_rule);
  ADD ("/smtp/session/received-header", test_received_header);
  ADD ("/smtp/session/commit-failure", test_commit_failure);
  ADD ("/smtp/session/commit-waits-for-queue", test_commit_waits_for_queue);
  ADD ("/smtp/session/hostile-lines", test_hostile_lines);
  ADD ("/smtp/session/error-limit", test_error_limit);
  ADD ("/smtp/session/timeout-shutdown", test_timeout_shutdown);
  ADD ("/smtp/session/trace", test_trace);
  ADD ("/smtp/session/starttls", test_starttls);
  ADD ("/smtp/session/auth-relay", test_auth_relay);
  ADD ("/smtp/session/auth-exchange-lines", test_auth_exchange_lines);
  ADD ("/smtp/session/auth-throttled", test_auth_throttled);
  ADD ("/smtp/session/auth-settings", test_auth_settings);
  ADD ("/smtp/session/protected-sender", test_protected_sender);
  ADD ("/smtp/session/reverse-dns", test_reverse_dns);

  return g_test_run ();
}
