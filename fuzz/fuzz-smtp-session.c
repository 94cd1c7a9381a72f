/* fuzz-smtp-session.c - fuzz harness: the SMTP command parser (MgSmtpSession)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Input layout: byte 0 chooses the situation, the rest is what the client
 * sends, handled the way mg-receiver.c handles a connection's bytes: in
 * command mode one line at a time (LF-terminated, CR before it dropped; a
 * line over 1000 octets is passed cut with too_long and the rest of it is
 * discarded), in DATA mode raw bytes through handle_data (all that is left,
 * or up to each LF when bit 6 is set).  A COMMIT is answered at once with
 * take_message() and commit_done().
 *
 *   bits 0-1  client: 0 127.0.0.1 (relay rule allows it), 1 203.0.113.5
 *             (a stranger, reverse name mail.outside.example), 2 ::1 with
 *             reverse name relay.trusted.example (host rule), 3 no address
 *   bit 2     the queue fails every commit (451)
 *   bit 3     a trace subscriber listens (formats every trace line)
 *   bit 4     tight limits: 3 recipients, 300 bytes, 80-byte lines,
 *             2 Received: headers, 2 failed logins
 *   bit 5     banner text hidden, VRFY answered, AUTH allowed without TLS
 *   bit 6     DATA bytes arrive one line per read
 *   bit 7     a certificate is loaded: STARTTLS is offered, and the
 *             harness answers START_TLS with a successful handshake
 * The input ends with a timeout when bit 3 is set, else with a shutdown.
 * Alice and user1 have passwords (mg-fuzz.h); failed logins are counted
 * per input.
 * Seed files start with a printable flags byte, e.g. '@' (0x40: local
 * client, DATA per line) or 'A' (0x41: the stranger).
 *
 * Invariants checked besides "no crash, no leak, no critical":
 *  - every reply is well formed: CRLF-terminated lines "DDD " / "DDD-"
 *    with the same code, no bare CR, LF or NUL; a command line gets one
 *    reply (two when the error limit closes), DATA bytes none until the end;
 *  - a line that was too long gets exactly "500 5.5.2" and nothing runs;
 *  - handle_data never consumes more than it was given, and all of it
 *    while it asks for more;
 *  - a message to queue has a sender, recipients, a body of the
 *    stated size that starts with our Received: line and contains no bare
 *    CR or LF (R-1.2: the server behind us may be lenient);
 *  - trace lines are valid UTF-8 without CR (they travel as D-Bus
 *    strings).
 *
 * Threading: one thread.  The configurations are built once and cached.
 */
#include "config.h"

#include <string.h>

#include "mg-config.h"
#include "mg-fuzz.h"
#include "mg-queue.h"
#include "mg-smtp-session.h"
#include "mg-trace.h"

#define MAX_COMMAND_LINE  1000    /* as MAX_COMMAND_LINE in mg-receiver.c */
#define HOST              "mx.test.example"
#define NOW               ((gint64) 1795815000 * G_USEC_PER_SEC)

enum
{
  FLAG_CLIENT        = 0x03,
  FLAG_FAIL_COMMIT   = 0x04,
  FLAG_TRACE         = 0x08,
  FLAG_TIGHT         = 0x10,
  FLAG_QUIET         = 0x20,
  FLAG_DATA_PER_LINE = 0x40,
  FLAG_TLS           = 0x80,
};

typedef struct
{
  MgSmtpSession *session;
  guint8         flags;
  guint          next_id;
  MgSmtpAction   action;
  gboolean       discarding;   /* inside a too-long line: drop to its LF */
  guint          auth_failures;
} Harness;

/* ---- checks ------------------------------------------------------------- */

static void
check_message (MgQueueMessage *msg)
{
  const guint8 *body;
  gsize size;

  g_assert_nonnull (msg);
  g_assert_nonnull (msg->id);
  g_assert_true (g_str_has_prefix (msg->id, "B"));
  g_assert_nonnull (msg->sender);
  g_assert_nonnull (msg->rcpts);
  g_assert_cmpuint (msg->rcpts->len, >=, 1);
  for (guint i = 0; i < msg->rcpts->len; i++)
    {
      const MgQueueRcpt *rcpt = g_ptr_array_index (msg->rcpts, i);

      g_assert_nonnull (rcpt->address);
      g_assert_cmpuint (strlen (rcpt->address), >, 0);
    }
  g_assert_nonnull (msg->body);
  body = g_bytes_get_data (msg->body, &size);
  g_assert_cmpuint (msg->body_size, ==, size);
  g_assert_cmpuint (size, >=, 9);
  g_assert_cmpmem (body, 9, "Received:", 9);
  /* what we forward never has a bare CR or LF */
  for (gsize i = 0; i < size; i++)
    {
      if (body[i] == '\r' && (i + 1 >= size || body[i + 1] != '\n'))
        g_error ("queued body has a bare CR at offset %" G_GSIZE_FORMAT, i);
      if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
        g_error ("queued body has a bare LF at offset %" G_GSIZE_FORMAT, i);
    }
  g_assert_true (size >= 2 && body[size - 2] == '\r' && body[size - 1] == '\n');
}

static void
on_trace_line_cb (const char *line,
                  gpointer    user_data)
{
  if (!g_utf8_validate (line, -1, NULL))
    g_error ("trace line is not UTF-8: %s", line);
  if (strchr (line, '\r') != NULL)
    g_error ("trace line has a CR: %s", line);
}

/* ---- feeding, as mg-receiver.c does ------------------------------------- */

static char *
new_id_cb (gpointer user_data)
{
  Harness *h = user_data;

  return g_strdup_printf ("B%010u", h->next_id++);
}

static void
commit (Harness *h,
        GString *replies)
{
  g_autoptr(MgQueueMessage) msg = mg_smtp_session_take_message (h->session);
  g_autoptr(GError) error = NULL;
  gsize before = replies->len;

  check_message (msg);
  if (h->flags & FLAG_FAIL_COMMIT)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
  mg_smtp_session_commit_done (h->session, error, replies);
  g_assert_cmpuint (mg_fuzz_check_replies (replies, before), ==, 1);
  g_assert_true (g_str_has_prefix (replies->str + before, error != NULL ? "451 " : "250 "));
  h->action = MG_SMTP_ACTION_CONTINUE;
}

/* One command line from @p; returns the bytes used. */
static gsize
feed_command (Harness    *h,
              const char *p,
              gsize       avail,
              GString    *replies)
{
  const char *lf = memchr (p, '\n', avail);
  gsize before = replies->len;
  gsize line_len;
  gboolean crlf = FALSE;
  gboolean too_long;
  guint n;

  if (h->discarding)
    {
      h->discarding = lf == NULL;
      return lf != NULL ? (gsize) (lf - p) + 1 : avail;
    }

  if (lf == NULL && avail <= MAX_COMMAND_LINE + 1)
    {
      /* the client stopped mid-line: the receiver waits, then times out */
      line_len = avail;
      too_long = FALSE;
    }
  else if (lf == NULL)
    {
      line_len = MAX_COMMAND_LINE;
      too_long = TRUE;
      h->discarding = TRUE;
    }
  else
    {
      line_len = lf - p;
      if (line_len > 0 && p[line_len - 1] == '\r')
        {
          line_len--;
          crlf = TRUE;
        }
      too_long = line_len > MAX_COMMAND_LINE;
      line_len = MIN (line_len, MAX_COMMAND_LINE + 1);
    }

  if (lf == NULL && !too_long)
    return avail;   /* an unfinished line is never executed */

  h->action = mg_smtp_session_handle_line (h->session, p, line_len, crlf, too_long, replies);
  n = mg_fuzz_check_replies (replies, before);
  if (too_long)
    {
      /* never truncated and then executed */
      g_assert_cmpuint (n, >=, 1);
      g_assert_true (g_str_has_prefix (replies->str + before, "500 5.5.2"));
    }

  switch (h->action)
    {
    case MG_SMTP_ACTION_CONTINUE:
    case MG_SMTP_ACTION_READ_DATA:
      g_assert_cmpuint (n, ==, 1);
      break;
    case MG_SMTP_ACTION_START_TLS:
      /* the 220, then (as a client that waited for it) a good handshake */
      g_assert_cmpuint (n, ==, 1);
      g_assert_true (g_str_has_prefix (replies->str + before, "220 "));
      g_assert_true (h->flags & FLAG_TLS);
      mg_smtp_session_tls_started (h->session, "TLSv1.3 TLS_AES_256_GCM_SHA384");
      h->action = MG_SMTP_ACTION_CONTINUE;
      break;
    case MG_SMTP_ACTION_AUTH_FAILED:
      g_assert_cmpuint (n, ==, 1);
      g_assert_true (g_str_has_prefix (replies->str + before, "535 "));
      h->auth_failures++;
      h->action = MG_SMTP_ACTION_CONTINUE;
      break;
    case MG_SMTP_ACTION_CLOSE:
      g_assert_cmpuint (n, <=, 2);
      break;
    case MG_SMTP_ACTION_COMMIT:
    default:
      g_error ("handle_line returned action %d", h->action);
    }
  if (h->action == MG_SMTP_ACTION_READ_DATA)
    g_assert_true (mg_smtp_session_in_data (h->session));

  return too_long ? avail : (gsize) (lf - p) + 1;
}

/* DATA bytes from @p; returns the bytes used. */
static gsize
feed_data (Harness    *h,
           const char *p,
           gsize       avail,
           GString    *replies)
{
  gsize before = replies->len;
  gsize len = avail;
  gsize consumed = G_MAXSIZE;
  guint n;

  if (h->flags & FLAG_DATA_PER_LINE)
    {
      const char *lf = memchr (p, '\n', avail);

      if (lf != NULL)
        len = (lf - p) + 1;
    }

  h->action = mg_smtp_session_handle_data (h->session, p, len, &consumed, replies);
  g_assert_cmpuint (consumed, <=, len);
  n = mg_fuzz_check_replies (replies, before);
  switch (h->action)
    {
    case MG_SMTP_ACTION_READ_DATA:
      g_assert_cmpuint (consumed, ==, len);
      g_assert_cmpuint (n, ==, 0);
      break;
    case MG_SMTP_ACTION_COMMIT:
      g_assert_cmpuint (n, ==, 0);
      g_assert_cmpuint (consumed, >=, 1);
      commit (h, replies);
      break;
    case MG_SMTP_ACTION_CONTINUE:
      g_assert_cmpuint (n, ==, 1);
      break;
    case MG_SMTP_ACTION_CLOSE:
      g_assert_cmpuint (n, >=, 1);
      g_assert_cmpuint (n, <=, 2);
      break;
    case MG_SMTP_ACTION_START_TLS:
    default:
      g_error ("handle_data returned action %d", h->action);
    }
  return consumed;
}

static guint
auth_failures_cb (gpointer user_data)
{
  Harness *h = user_data;

  return h->auth_failures;
}

static MgSmtpSession *
new_session (Harness *h)
{
  static const char * const ips[] = { "127.0.0.1", "203.0.113.5", "::1", NULL };
  static const char * const hosts[] = { NULL, "mail.outside.example", "relay.trusted.example", NULL };
  g_autoptr(GInetAddress) address = NULL;
  MgConfig *config = mg_fuzz_get_config ((h->flags & FLAG_TIGHT) != 0,
                                         (h->flags & FLAG_QUIET) != 0);
  guint client = h->flags & FLAG_CLIENT;
  MgSmtpSessionInfo info = { 0 };

  if (ips[client] != NULL)
    address = g_inet_address_new_from_string (ips[client]);

  info.config = config;
  info.session_tag = "S00000001";
  info.hostname = HOST;
  info.client_address = address;
  info.client_port = 40000;
  info.client_host = hosts[client];
  info.local_port = 25;
  info.new_id = new_id_cb;
  info.new_id_data = h;
  info.now = NOW;
  info.tls_available = (h->flags & FLAG_TLS) != 0;
  info.auth_failures = auth_failures_cb;
  info.auth_failures_data = h;
  return mg_smtp_session_new (&info);
}

int
mg_fuzz_smtp_session (const guint8 *data,
                      gsize         size)
{
  Harness h = { 0 };
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autofree char *stream = NULL;
  gsize len;
  gsize offset = 0;
  guint trace_id = 0;

  if (size == 0)
    return 0;
  h.flags = data[0];
  h.next_id = 97;
  stream = mg_fuzz_copy (data + 1, size - 1);   /* exact size: overreads trap */
  len = size - 1;

  if (h.flags & FLAG_TRACE)
    trace_id = mg_trace_subscribe (on_trace_line_cb, NULL, NULL);

  h.session = new_session (&h);
  mg_smtp_session_greeting (h.session, replies);
  g_assert_cmpuint (mg_fuzz_check_replies (replies, 0), ==, 1);
  g_assert_true (g_str_has_prefix (replies->str, "220 "));
  h.action = MG_SMTP_ACTION_CONTINUE;

  while (offset < len && h.action != MG_SMTP_ACTION_CLOSE)
    {
      gsize used;

      if (mg_smtp_session_in_data (h.session))
        used = feed_data (&h, stream + offset, len - offset, replies);
      else
        used = feed_command (&h, stream + offset, len - offset, replies);
      g_assert_cmpuint (used, <=, len - offset);
      if (used == 0)
        g_error ("no progress at offset %" G_GSIZE_FORMAT, offset);
      offset += used;
    }

  if (h.action != MG_SMTP_ACTION_CLOSE)
    {
      gsize before = replies->len;

      if (h.flags & FLAG_TRACE)
        mg_smtp_session_timeout (h.session, replies);
      else
        mg_smtp_session_shutdown (h.session, replies);
      g_assert_cmpuint (mg_fuzz_check_replies (replies, before), ==, 1);
      g_assert_true (g_str_has_prefix (replies->str + before, "421 "));
    }

  g_clear_pointer (&h.session, mg_smtp_session_free);
  if (trace_id != 0)
    mg_trace_unsubscribe (trace_id);
  return 0;
}

#ifdef MG_FUZZ_LIBFUZZER
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  mg_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        gsize         size)
{
  return mg_fuzz_smtp_session (data, size);
}
#endif
