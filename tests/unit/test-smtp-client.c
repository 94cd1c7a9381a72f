/* test-smtp-client.c - the outbound SMTP state machine, scripted
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each dialogue is a table of steps in the spirit of OpenSMTPD's smtpscript:
 * a reply line from the next hop (or a call: begin, body, end, quit, abort),
 * the action expected back and the exact bytes we must send.  At the end the
 * per-recipient outcomes are compared as "rcpt=D|P|T|?" (R-3.7: 2xx
 * delivered, 5xx permanent, 4xx / garbage / broken connection temporary).
 */
#include "config.h"

#include <string.h>

#include "mg-smtp-client.h"

typedef enum
{
  STEP_REPLY,      /* arg: one reply line (no CRLF) */
  STEP_BEGIN,      /* arg: "sender|rcpt,rcpt" */
  STEP_BODY,       /* arg: body chunk */
  STEP_END,
  STEP_QUIT,
  STEP_ABORT,      /* arg: reason */
} StepKind;

#define ANY_ACTION ((MgSmtpClientAction) -1)

typedef struct
{
  StepKind            kind;
  const char         *arg;
  MgSmtpClientAction  action;     /* ANY_ACTION for body steps */
  const char         *out;        /* exact bytes appended */
} Step;

typedef struct
{
  const char *name;
  Step        steps[24];
  const char *outcomes;           /* "a@x=D,b@x=P" */
  gboolean    pipelining;
} Dialogue;

#define R(line, act, sent) { STEP_REPLY, line, MG_SMTP_CLIENT_ACTION_##act, sent }
#define BEGIN(arg, sent)   { STEP_BEGIN, arg, MG_SMTP_CLIENT_ACTION_READ, sent }
#define BODY(chunk, sent)  { STEP_BODY, chunk, ANY_ACTION, sent }
#define END(sent)          { STEP_END, NULL, MG_SMTP_CLIENT_ACTION_READ, sent }
#define QUIT               { STEP_QUIT, NULL, MG_SMTP_CLIENT_ACTION_READ, "QUIT\r\n" }
#define ABORT(reason)      { STEP_ABORT, reason, ANY_ACTION, "" }

/* banner + EHLO without extensions */
#define HELLO \
  R ("220 next.example ESMTP", READ, "EHLO gw.example\r\n"), \
  R ("250 next.example", READY, "")
#define HELLO_PIPELINING \
  R ("220 next.example ESMTP", READ, "EHLO gw.example\r\n"), \
  R ("250-next.example", READ, ""), \
  R ("250-SIZE 10240000", READ, ""), \
  R ("250-PIPELINING", READ, ""), \
  R ("250 8BITMIME", READY, "")

static const Dialogue dialogues[] = {
  { "plain", {
      HELLO,
      BEGIN ("s@a.example|r@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 2.1.0 Ok", READ, "RCPT TO:<r@b.example>\r\n"),
      R ("250 2.1.5 Ok", READ, "DATA\r\n"),
      R ("354 End data with <CR><LF>.<CR><LF>", SEND_BODY, ""),
      BODY ("Subject: hi\r\n\r\nHello\r\n", "Subject: hi\r\n\r\nHello\r\n"),
      END (".\r\n"),
      R ("250 2.0.0 Ok: queued as X", READY, ""),
      QUIT,
      R ("221 2.0.0 Bye", CLOSE, ""),
    }, "r@b.example=D", FALSE },

  /* RFC 2920: MAIL, RCPTs and DATA in one write, replies in order */
  { "pipelining", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|r1@b.example,r2@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<r1@b.example>\r\n"
             "RCPT TO:<r2@b.example>\r\nDATA\r\n"),
      R ("250 2.1.0 Ok", READ, ""),
      R ("250 2.1.5 Ok", READ, ""),
      R ("250 2.1.5 Ok", READ, ""),
      R ("354 go", SEND_BODY, ""),
      BODY ("x\r\n", "x\r\n"),
      END (".\r\n"),
      R ("250 2.0.0 Ok", READY, ""),
    }, "r1@b.example=D,r2@b.example=D", TRUE },

  { "null-sender", {
      HELLO,
      BEGIN ("|r@b.example", "MAIL FROM:<>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<r@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 Ok", READY, ""),
    }, "r@b.example=D", FALSE },

  /* EHLO refused with 5xx: fall back to HELO (RFC 5321 3.2) */
  { "ehlo-502-helo", {
      R ("220 old.example", READ, "EHLO gw.example\r\n"),
      R ("502 5.5.2 Command not recognized", READ, "HELO gw.example\r\n"),
      R ("250 old.example", READY, ""),
      BEGIN ("s@a.example|r@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<r@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 Ok", READY, ""),
    }, "r@b.example=D", FALSE },

  { "helo-refused", {
      R ("220 old.example", READ, "EHLO gw.example\r\n"),
      R ("500 what", READ, "HELO gw.example\r\n"),
      R ("501 no", CLOSE, "QUIT\r\n"),
    }, "", FALSE },

  /* multi-line replies: nothing happens before the last line */
  { "multi-line", {
      R ("220-next.example ESMTP", READ, ""),
      R ("220-welcome", READ, ""),
      R ("220 really", READ, "EHLO gw.example\r\n"),
      R ("250 next.example", READY, ""),
      BEGIN ("s@a.example|r@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<r@b.example>\r\n"),
      R ("550-5.1.1 no such user", READ, ""),
      R ("550 5.1.1 see you", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "r@b.example=P:550 5.1.1 no such user 5.1.1 see you", FALSE },

  /* per-recipient mix: 250 / 550 / 451 */
  { "rcpt-mix", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|a@b.example,b@b.example,c@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\n"
             "RCPT TO:<b@b.example>\r\nRCPT TO:<c@b.example>\r\nDATA\r\n"),
      R ("250 Ok", READ, ""),
      R ("250 Ok", READ, ""),
      R ("550 5.1.1 unknown", READ, ""),
      R ("451 4.3.0 try later", READ, ""),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 2.0.0 Ok: queued", READY, ""),
    }, "a@b.example=D:250 2.0.0 Ok: queued,b@b.example=P:550 5.1.1 unknown,"
       "c@b.example=T:451 4.3.0 try later", TRUE },

  { "rcpt-mix-no-pipelining", {
      HELLO,
      BEGIN ("s@a.example|a@b.example,b@b.example,c@b.example",
             "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("451 4.3.0 later", READ, "RCPT TO:<b@b.example>\r\n"),
      R ("550 5.1.1 unknown", READ, "RCPT TO:<c@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=T,b@b.example=P,c@b.example=D", FALSE },

  /* every recipient refused: no DATA, RSET instead */
  { "all-refused", {
      HELLO,
      BEGIN ("s@a.example|a@b.example,b@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("550 no", READ, "RCPT TO:<b@b.example>\r\n"),
      R ("450 busy", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=P,b@b.example=T", FALSE },

  /* pipelined: DATA already sent; its refusal ends the transaction */
  { "all-refused-pipelined", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|a@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n"),
      R ("250 Ok", READ, ""),
      R ("550 no", READ, ""),
      R ("554 5.5.1 No valid recipients", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=P", TRUE },

  /* pipelined, and the server says 354 anyway: end the empty body */
  { "all-refused-354", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|a@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n"),
      R ("250 Ok", READ, ""),
      R ("550 no", READ, ""),
      R ("354 go", READ, ".\r\n"),
      R ("250 Ok", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=P", TRUE },

  { "mail-refused", {
      HELLO,
      BEGIN ("s@a.example|a@b.example,b@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("553 5.7.1 sender rejected", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=P:553 5.7.1 sender rejected,b@b.example=P", FALSE },

  { "mail-refused-pipelined", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|a@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n"),
      R ("452 4.3.1 full", READ, ""),
      R ("503 5.5.1 need MAIL", READ, ""),
      R ("503 5.5.1 need RCPT", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=T:452 4.3.1 full", TRUE },

  { "data-refused", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("451 4.3.0 not now", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=T:451 4.3.0 not now", FALSE },

  { "data-refused-5xx", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("554 5.3.0 no", READ, "RSET\r\n"),
      R ("250 Ok", READY, ""),
    }, "a@b.example=P", FALSE },

  { "final-4xx", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("452 4.3.1 Insufficient storage", READY, ""),
    }, "a@b.example=T:452 4.3.1 Insufficient storage", FALSE },

  { "final-5xx", {
      HELLO,
      BEGIN ("s@a.example|a@b.example,b@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("550 no", READ, "RCPT TO:<b@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("554 5.6.0 content rejected", READY, ""),
    }, "a@b.example=P:550 no,b@b.example=P:554 5.6.0 content rejected", FALSE },

  /* several transactions on one connection; results are per transaction */
  { "second-transaction", {
      HELLO_PIPELINING,
      BEGIN ("s@a.example|a@b.example",
             "MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n"),
      R ("250 Ok", READ, ""),
      R ("250 Ok", READ, ""),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 first", READY, ""),
      BEGIN ("t@a.example|z@b.example",
             "MAIL FROM:<t@a.example>\r\nRCPT TO:<z@b.example>\r\nDATA\r\n"),
      R ("250 Ok", READ, ""),
      R ("250 Ok", READ, ""),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      R ("250 second", READY, ""),
      QUIT,
      R ("221 Bye", CLOSE, ""),
    }, "z@b.example=D:250 second", TRUE },

  /* garbage and short replies: temporary failure, close at once */
  { "garbage", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("hello there", CLOSE, ""),
    }, "a@b.example=T:protocol error: bad reply 'hello there'", FALSE },
  { "short-reply", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("25", CLOSE, ""),
    }, "a@b.example=T", FALSE },
  { "bad-separator", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250xOk", CLOSE, ""),
    }, "a@b.example=T", FALSE },
  { "continuation-code-mismatch", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250-Ok", READ, ""),
      R ("550 Ok", CLOSE, ""),
    }, "a@b.example=T", FALSE },
  { "bare-code", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("550", READ, "RSET\r\n"),
      R ("250", READY, ""),
    }, "a@b.example=P:550", FALSE },

  /* 421 at any point: the peer goes away; say nothing more */
  { "421-during-rcpt", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("421 4.3.2 shutting down", CLOSE, ""),
    }, "a@b.example=T:421 4.3.2 shutting down", FALSE },

  /* the connection broke after RCPT was accepted */
  { "abort", {
      HELLO,
      BEGIN ("s@a.example|a@b.example", "MAIL FROM:<s@a.example>\r\n"),
      R ("250 Ok", READ, "RCPT TO:<a@b.example>\r\n"),
      R ("250 Ok", READ, "DATA\r\n"),
      R ("354 go", SEND_BODY, ""),
      END (".\r\n"),
      ABORT ("timeout"),
    }, "a@b.example=T:timeout", FALSE },

  { "banner-refused", {
      R ("554 5.7.1 go away", CLOSE, "QUIT\r\n"),
    }, "", FALSE },
};

static char
outcome_letter (MgSmtpOutcome outcome)
{
  switch (outcome)
    {
    case MG_SMTP_OUTCOME_DELIVERED: return 'D';
    case MG_SMTP_OUTCOME_PERMFAIL: return 'P';
    case MG_SMTP_OUTCOME_TEMPFAIL: return 'T';
    case MG_SMTP_OUTCOME_PENDING:
    default: return '?';
    }
}

/* Compares "rcpt=L[:reply]" items; the reply is checked only when given. */
static void
assert_outcomes (MgSmtpClient *client,
                 const char   *expected)
{
  GPtrArray *results = mg_smtp_client_get_results (client);
  g_auto(GStrv) items = g_strsplit (expected, ",", -1);
  guint n_items = expected[0] == '\0' ? 0 : g_strv_length (items);

  g_assert_cmpuint (results->len, ==, n_items);
  for (guint i = 0; i < n_items; i++)
    {
      MgSmtpRcptResult *result = g_ptr_array_index (results, i);
      g_autofree char *name = g_strndup (items[i], strcspn (items[i], "="));
      const char *rest = items[i] + strlen (name) + 1;

      g_assert_cmpstr (result->rcpt, ==, name);
      g_assert_cmpint (outcome_letter (result->outcome), ==, rest[0]);
      if (rest[1] == ':')
        g_assert_cmpstr (result->reply, ==, rest + 2);
    }
}

static MgSmtpClientAction
run_step (MgSmtpClient *client,
          const Step   *step,
          GString      *out)
{
  g_auto(GStrv) parts = NULL;
  g_auto(GStrv) rcpts = NULL;

  switch (step->kind)
    {
    case STEP_REPLY:
      return mg_smtp_client_feed_line (client, step->arg, strlen (step->arg), out);
    case STEP_BEGIN:
      parts = g_strsplit (step->arg, "|", 2);
      rcpts = g_strsplit (parts[1], ",", -1);
      return mg_smtp_client_begin (client, parts[0], (const char * const *) rcpts, out);
    case STEP_BODY:
      mg_smtp_client_write_body (client, step->arg, strlen (step->arg), out);
      return ANY_ACTION;
    case STEP_END:
      return mg_smtp_client_end_body (client, out);
    case STEP_QUIT:
      return mg_smtp_client_quit (client, out);
    case STEP_ABORT:
      mg_smtp_client_abort (client, step->arg);
      return ANY_ACTION;
    default:
      g_assert_not_reached ();
    }
}

static void
test_dialogue (gconstpointer data)
{
  const Dialogue *dialogue = data;
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (dialogue->steps) && dialogue->steps[i].out != NULL; i++)
    {
      const Step *step = &dialogue->steps[i];
      MgSmtpClientAction action;

      g_string_truncate (out, 0);
      action = run_step (client, step, out);
      g_test_message ("step %u (%s): action %d, sent '%s'", i,
                      step->arg != NULL ? step->arg : "-", action, out->str);
      if (step->action != ANY_ACTION)
        g_assert_cmpint (action, ==, step->action);
      g_assert_cmpstr (out->str, ==, step->out);
    }

  assert_outcomes (client, dialogue->outcomes);
  g_assert_cmpint (mg_smtp_client_has_pipelining (client), ==, dialogue->pipelining);
  g_assert_true (mg_smtp_client_got_reply (client));
}

/* ---- body: dot-stuffing and line ends ------------------------------------- */

typedef struct
{
  const char *name;
  const char *body;
  const char *wire;    /* what goes out after 354, including ".\r\n" */
} BodyCase;

static const BodyCase body_cases[] = {
  { "plain", "a\r\nb\r\n", "a\r\nb\r\n.\r\n" },
  { "empty", "", ".\r\n" },
  /* RFC 5321 4.5.2: a line starting with '.' gets one more */
  { "dot-stuffing", ".a\r\n..b\r\nc.\r\n.\r\n", "..a\r\n...b\r\nc.\r\n..\r\n.\r\n" },
  { "dot-first-byte", ".", "..\r\n.\r\n" },
  /* the stored body did not end with CRLF: add one before ".\r\n" */
  { "no-final-crlf", "abc", "abc\r\n.\r\n" },
  { "final-cr-only", "abc\r", "abc\r\n.\r\n" },
  /* outbound: a bare LF is sent as CRLF, so "\n.\n" cannot end DATA early */
  { "bare-lf", "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n" },
};

static GString *
stuff_body (const char *body,
            gsize       chunk)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");
  GString *out = g_string_new (NULL);
  const char *rcpts[] = { "a@b.example", NULL };
  const char *replies[] = { "220 x", "250 x", "250 Ok", "250 Ok", "354 go" };
  gsize len = strlen (body);

  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      if (i == 2)
        mg_smtp_client_begin (client, "s@a.example", rcpts, out);
      mg_smtp_client_feed_line (client, replies[i], strlen (replies[i]), out);
    }
  g_assert_cmpint (mg_smtp_client_get_state (client), ==, MG_SMTP_CLIENT_STATE_BODY);
  g_string_truncate (out, 0);

  for (gsize off = 0; off < len; off += chunk)
    mg_smtp_client_write_body (client, body + off, MIN (chunk, len - off), out);
  g_assert_cmpint (mg_smtp_client_end_body (client, out), ==, MG_SMTP_CLIENT_ACTION_READ);
  return out;
}

static void
test_body (gconstpointer data)
{
  const BodyCase *body_case = data;
  gsize len = strlen (body_case->body);

  /* whole, and split at every chunk size (state carries across chunks) */
  for (gsize chunk = 1; chunk <= MAX (len, 1); chunk++)
    {
      g_autoptr(GString) out = stuff_body (body_case->body, chunk);

      g_assert_cmpstr (out->str, ==, body_case->wire);
    }
}

/* Random bodies (dots, bare CR and LF, long runs of ordinary lines) cut at
 * random: the output equals that of feeding one byte at a time, which
 * takes no fast path, and is a canonical, stuffed body. */
static void
test_body_random (void)
{
  static const char *const pieces[] = { "abc", "\r\n", "\r\n", "\r\n", ".", "\n", "\r", "x.y",
                                        "\r\n.", "\r\n..", "\n." };
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);

  for (guint round = 0; round < 300; round++)
    {
      g_autoptr(GString) body = g_string_new (NULL);
      g_autoptr(GString) one = NULL;
      g_autoptr(GString) whole = NULL;
      guint n = (guint) g_rand_int_range (rand, 0, 80);
      gsize chunk = (gsize) g_rand_int_range (rand, 2, 64);

      for (guint i = 0; i < n; i++)
        g_string_append (body, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);

      one = stuff_body (body->str, 1);
      whole = stuff_body (body->str, MAX (body->len, 1));
      g_assert_cmpstr (whole->str, ==, one->str);
      {
        g_autoptr(GString) chunked = stuff_body (body->str, chunk);

        g_assert_cmpstr (chunked->str, ==, one->str);
      }
      /* no bare LF on the wire, and the end marker only at the end */
      for (gsize i = 0; i < one->len; i++)
        if (one->str[i] == '\n')
          g_assert_true (i > 0 && one->str[i - 1] == '\r');
      if (!g_str_equal (one->str, ".\r\n"))
        {
          g_assert_true (g_str_has_suffix (one->str, "\r\n.\r\n"));
          g_assert_true (strstr (one->str, "\r\n.\r\n") == one->str + one->len - 5);
        }
      g_assert_false (g_str_has_prefix (one->str, ".\r\n") && one->len > 3);
    }
}

static void
test_state_names (void)
{
  g_assert_cmpstr (mg_smtp_client_state_to_string (MG_SMTP_CLIENT_STATE_EOM), ==, "EOM");
  g_assert_cmpstr (mg_smtp_client_state_to_string (MG_SMTP_CLIENT_STATE_CLOSED), ==, "CLOSED");
}

/* no reply at all: the connection dropped before the banner (R-3.7: "no
 * response" gives up after delivery.give_up_no_response) */
static void
test_no_reply (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");

  mg_smtp_client_abort (client, "connection closed");
  g_assert_false (mg_smtp_client_got_reply (client));
  g_assert_cmpstr (mg_smtp_client_get_error (client), ==, "connection closed");
  g_assert_cmpint (mg_smtp_client_get_state (client), ==, MG_SMTP_CLIENT_STATE_CLOSED);
}

/* ---- STARTTLS and AUTH (R-3.5) ---- */

/* Feeds @line; asserts the action and the exact output. */
static void
expect (MgSmtpClient       *client,
        const char         *line,
        MgSmtpClientAction  action,
        const char         *sent)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_assert_cmpint (mg_smtp_client_feed_line (client, line, strlen (line), out), ==, action);
  g_assert_cmpstr (out->str, ==, sent);
}

static void
ehlo_with (MgSmtpClient *client,
           const char   *extension)
{
  expect (client, "250-next.example", MG_SMTP_CLIENT_ACTION_READ, "");
  expect (client, extension, MG_SMTP_CLIENT_ACTION_READ, "");
}

static void
test_starttls_then_auth_plain (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");
  g_autoptr(GString) out = g_string_new (NULL);

  mg_smtp_client_set_tls (client, MG_SMTP_TLS_MAY);
  mg_smtp_client_set_auth (client, "gw", "pw");
  expect (client, "220 next.example", MG_SMTP_CLIENT_ACTION_READ, "EHLO gw.example\r\n");
  ehlo_with (client, "250-AUTH PLAIN LOGIN");
  /* AUTH offered in clear: never used before TLS */
  expect (client, "250 STARTTLS", MG_SMTP_CLIENT_ACTION_READ, "STARTTLS\r\n");
  g_assert_false (mg_smtp_client_output_is_secret (client));
  expect (client, "220 2.0.0 go ahead", MG_SMTP_CLIENT_ACTION_START_TLS, "");
  g_assert_cmpint (mg_smtp_client_tls_started (client, out), ==, MG_SMTP_CLIENT_ACTION_READ);
  g_assert_cmpstr (out->str, ==, "EHLO gw.example\r\n");
  g_assert_true (mg_smtp_client_is_tls (client));
  ehlo_with (client, "250-PIPELINING");
  expect (client, "250 AUTH LOGIN PLAIN", MG_SMTP_CLIENT_ACTION_READ,
          "AUTH PLAIN AGd3AHB3\r\n");                  /* "\0gw\0pw" */
  g_assert_true (mg_smtp_client_output_is_secret (client));
  expect (client, "235 2.7.0 ok", MG_SMTP_CLIENT_ACTION_READY, "");
  g_assert_false (mg_smtp_client_output_is_secret (client));
  g_assert_true (mg_smtp_client_has_pipelining (client));
}

static void
test_auth_login (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");
  g_autoptr(GString) out = g_string_new (NULL);

  mg_smtp_client_set_tls (client, MG_SMTP_TLS_REQUIRE);
  mg_smtp_client_set_auth (client, "gw", "pw");
  expect (client, "220 next.example", MG_SMTP_CLIENT_ACTION_READ, "EHLO gw.example\r\n");
  expect (client, "250-next.example", MG_SMTP_CLIENT_ACTION_READ, "");
  expect (client, "250 STARTTLS", MG_SMTP_CLIENT_ACTION_READ, "STARTTLS\r\n");
  expect (client, "220 go", MG_SMTP_CLIENT_ACTION_START_TLS, "");
  mg_smtp_client_tls_started (client, out);
  ehlo_with (client, "250-AUTH=LOGIN");
  expect (client, "250 8BITMIME", MG_SMTP_CLIENT_ACTION_READ, "AUTH LOGIN\r\n");
  expect (client, "334 VXNlcm5hbWU6", MG_SMTP_CLIENT_ACTION_READ, "Z3c=\r\n");
  g_assert_true (mg_smtp_client_output_is_secret (client));
  expect (client, "334 UGFzc3dvcmQ6", MG_SMTP_CLIENT_ACTION_READ, "cHc=\r\n");
  expect (client, "535 5.7.8 no", MG_SMTP_CLIENT_ACTION_CLOSE, "QUIT\r\n");
  g_assert_cmpstr (mg_smtp_client_get_error (client), ==,
                   "authentication failed: 535 5.7.8 no");
}

static void
test_tls_required_not_offered (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");

  mg_smtp_client_set_tls (client, MG_SMTP_TLS_REQUIRE);
  expect (client, "220 next.example", MG_SMTP_CLIENT_ACTION_READ, "EHLO gw.example\r\n");
  expect (client, "250 next.example", MG_SMTP_CLIENT_ACTION_CLOSE, "QUIT\r\n");
  g_assert_nonnull (strstr (mg_smtp_client_get_error (client), "4.7.4"));
}

static void
test_tls_refused_opportunistic (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");

  mg_smtp_client_set_tls (client, MG_SMTP_TLS_MAY);
  expect (client, "220 next.example", MG_SMTP_CLIENT_ACTION_READ, "EHLO gw.example\r\n");
  expect (client, "250-next.example", MG_SMTP_CLIENT_ACTION_READ, "");
  expect (client, "250 STARTTLS", MG_SMTP_CLIENT_ACTION_READ, "STARTTLS\r\n");
  /* refused: carry on in clear (opportunistic) */
  expect (client, "454 4.7.0 TLS not available", MG_SMTP_CLIENT_ACTION_READY, "");
  g_assert_false (mg_smtp_client_is_tls (client));
}

static void
test_no_auth_in_clear (void)
{
  g_autoptr(MgSmtpClient) client = mg_smtp_client_new ("gw.example");

  mg_smtp_client_set_tls (client, MG_SMTP_TLS_MAY);
  mg_smtp_client_set_auth (client, "gw", "pw");
  expect (client, "220 next.example", MG_SMTP_CLIENT_ACTION_READ, "EHLO gw.example\r\n");
  expect (client, "250-next.example", MG_SMTP_CLIENT_ACTION_READ, "");
  expect (client, "250 AUTH PLAIN LOGIN", MG_SMTP_CLIENT_ACTION_CLOSE, "QUIT\r\n");
  g_assert_cmpint (mg_smtp_client_get_state (client), ==, MG_SMTP_CLIENT_STATE_CLOSED);
  g_assert_nonnull (strstr (mg_smtp_client_get_error (client), "without TLS"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (dialogues); i++)
    {
      g_autofree char *path = g_strdup_printf ("/smtp/client/dialogue/%s", dialogues[i].name);

      g_test_add_data_func (path, &dialogues[i], test_dialogue);
    }
  for (guint i = 0; i < G_N_ELEMENTS (body_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/smtp/client/body/%s", body_cases[i].name);

      g_test_add_data_func (path, &body_cases[i], test_body);
    }
  g_test_add_func ("/smtp/client/body-random", test_body_random);
  g_test_add_func ("/smtp/client/state-names", test_state_names);
  g_test_add_func ("/smtp/client/no-reply", test_no_reply);
  g_test_add_func ("/smtp/client/starttls-then-auth-plain", test_starttls_then_auth_plain);
  g_test_add_func ("/smtp/client/auth-login", test_auth_login);
  g_test_add_func ("/smtp/client/tls-required-not-offered", test_tls_required_not_offered);
  g_test_add_func ("/smtp/client/tls-refused-opportunistic", test_tls_refused_opportunistic);
  g_test_add_func ("/smtp/client/no-auth-in-clear", test_no_auth_in_clear);

  return g_test_run ();
}
