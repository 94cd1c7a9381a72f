/* mg-smtp-client.c - one outbound SMTP conversation (pure state machine)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * See mg-smtp-client.h for the state diagram.  A transaction is a list of
 * commands: index 0 is MAIL, 1..n the RCPTs, n+1 DATA.  Without PIPELINING
 * each command goes out after the previous reply; with it, all go out at
 * begin() and replies are matched in order (next_reply).  Recipients are
 * decided once: a later reply never overrides an earlier decision.
 *
 * Owns: its strings, the results of the current transaction.
 * Threading: one thread at a time; no I/O, no globals.
 */
#include "config.h"

#include <string.h>

#include "mg-smtp-client.h"

#define MAX_REPLY_TEXT 4096

struct _MgSmtpClient
{
  char              *helo_name;
  MgSmtpClientState  state;
  gboolean           pipelining;
  gboolean           got_reply;
  char              *error;

  /* STARTTLS and AUTH */
  MgSmtpTlsPolicy    tls_policy;
  gboolean           tls_active;
  gboolean           offers_starttls;
  gboolean           offers_plain;
  gboolean           offers_login;
  char              *auth_user;
  char              *auth_password;
  gboolean           secret_out;

  /* reply being collected */
  guint              reply_code;      /* 0 = no line yet */
  GString           *reply_text;      /* "250 text text..." */
  GPtrArray         *reply_lines;     /* char*: text after "250-" per line */

  /* current transaction */
  char              *sender;
  GPtrArray         *results;         /* MgSmtpRcptResult* */
  guint              next_send;       /* command index */
  guint              next_reply;
  guint              n_accepted;      /* RCPTs that got 2xx */
  gboolean           mail_failed;
  gboolean           discard_body;    /* 354 although nothing to send */

  /* dot-stuffing */
  gboolean           at_line_start;
  gboolean           prev_cr;
};

static void
rcpt_result_free (MgSmtpRcptResult *result)
{
  g_free (result->rcpt);
  g_free (result->reply);
  g_free (result);
}

MgSmtpClient *
mg_smtp_client_new (const char *helo_name)
{
  MgSmtpClient *self = g_new0 (MgSmtpClient, 1);

  g_return_val_if_fail (helo_name != NULL, NULL);

  self->helo_name = g_strdup (helo_name);
  self->state = MG_SMTP_CLIENT_STATE_BANNER;
  self->reply_text = g_string_new (NULL);
  self->reply_lines = g_ptr_array_new_with_free_func (g_free);
  self->results = g_ptr_array_new_with_free_func ((GDestroyNotify) rcpt_result_free);
  return self;
}

void
mg_smtp_client_free (MgSmtpClient *self)
{
  if (self == NULL)
    return;
  g_free (self->helo_name);
  g_free (self->error);
  g_free (self->auth_user);
  if (self->auth_password != NULL)
    memset (self->auth_password, 0, strlen (self->auth_password));
  g_free (self->auth_password);
  g_free (self->sender);
  g_string_free (self->reply_text, TRUE);
  g_ptr_array_unref (self->reply_lines);
  g_ptr_array_unref (self->results);
  g_free (self);
}

void
mg_smtp_client_set_tls (MgSmtpClient    *self,
                        MgSmtpTlsPolicy  policy)
{
  self->tls_policy = policy;
}

void
mg_smtp_client_set_auth (MgSmtpClient *self,
                         const char   *user,
                         const char   *password)
{
  g_free (self->auth_user);
  g_free (self->auth_password);
  self->auth_user = user != NULL && *user != '\0' ? g_strdup (user) : NULL;
  self->auth_password = g_strdup (password != NULL ? password : "");
}

gboolean
mg_smtp_client_is_tls (MgSmtpClient *self)
{
  return self->tls_active;
}

gboolean
mg_smtp_client_output_is_secret (MgSmtpClient *self)
{
  return self->secret_out;
}

MgSmtpClientState
mg_smtp_client_get_state (MgSmtpClient *self)
{
  return self->state;
}

gboolean
mg_smtp_client_has_pipelining (MgSmtpClient *self)
{
  return self->pipelining;
}

gboolean
mg_smtp_client_got_reply (MgSmtpClient *self)
{
  return self->got_reply;
}

const char *
mg_smtp_client_get_error (MgSmtpClient *self)
{
  return self->error;
}

GPtrArray *
mg_smtp_client_get_results (MgSmtpClient *self)
{
  return self->results;
}

const char *
mg_smtp_client_state_to_string (MgSmtpClientState state)
{
  static const char * const names[] = {
    [MG_SMTP_CLIENT_STATE_BANNER] = "BANNER",
    [MG_SMTP_CLIENT_STATE_EHLO] = "EHLO",
    [MG_SMTP_CLIENT_STATE_HELO] = "HELO",
    [MG_SMTP_CLIENT_STATE_STARTTLS] = "STARTTLS",
    [MG_SMTP_CLIENT_STATE_TLS] = "TLS",
    [MG_SMTP_CLIENT_STATE_AUTH] = "AUTH",
    [MG_SMTP_CLIENT_STATE_AUTH_USER] = "AUTH_USER",
    [MG_SMTP_CLIENT_STATE_AUTH_PASS] = "AUTH_PASS",
    [MG_SMTP_CLIENT_STATE_READY] = "READY",
    [MG_SMTP_CLIENT_STATE_MAIL] = "MAIL",
    [MG_SMTP_CLIENT_STATE_RCPT] = "RCPT",
    [MG_SMTP_CLIENT_STATE_DATA] = "DATA",
    [MG_SMTP_CLIENT_STATE_BODY] = "BODY",
    [MG_SMTP_CLIENT_STATE_EOM] = "EOM",
    [MG_SMTP_CLIENT_STATE_RSET] = "RSET",
    [MG_SMTP_CLIENT_STATE_QUIT] = "QUIT",
    [MG_SMTP_CLIENT_STATE_CLOSED] = "CLOSED",
  };

  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (names), "?");
  return names[state];
}

/* ---- transaction bookkeeping ------------------------------------------ */

static guint
n_rcpts (MgSmtpClient *self)
{
  return self->results->len;
}

static void
set_error (MgSmtpClient *self,
           const char   *reason)
{
  g_free (self->error);
  self->error = g_strdup (reason);
}

static void
decide (MgSmtpClient     *self,
        MgSmtpRcptResult *result,
        MgSmtpOutcome     outcome,
        const char       *reply)
{
  result->outcome = outcome;
  g_free (result->reply);
  result->reply = g_strdup (reply);
}

/* Every recipient not yet decided (@only_accepted: only those whose RCPT
 * got 2xx, i.e. PENDING after their reply) gets @outcome. */
static void
decide_undecided (MgSmtpClient  *self,
                  MgSmtpOutcome  outcome,
                  const char    *reply)
{
  for (guint i = 0; i < n_rcpts (self); i++)
    {
      MgSmtpRcptResult *result = g_ptr_array_index (self->results, i);

      if (result->outcome == MG_SMTP_OUTCOME_PENDING)
        decide (self, result, outcome, reply);
    }
}

static MgSmtpOutcome
outcome_for_code (guint code)
{
  if (code >= 200 && code < 300)
    return MG_SMTP_OUTCOME_DELIVERED;
  if (code >= 500 && code < 600)
    return MG_SMTP_OUTCOME_PERMFAIL;
  return MG_SMTP_OUTCOME_TEMPFAIL;   /* 4xx, and 1xx/3xx where they make no sense */
}

static void
append_command (MgSmtpClient *self,
                guint         index,
                GString      *out)
{
  if (index == 0)
    g_string_append_printf (out, "MAIL FROM:<%s>\r\n", self->sender);
  else if (index <= n_rcpts (self))
    {
      MgSmtpRcptResult *result = g_ptr_array_index (self->results, index - 1);

      g_string_append_printf (out, "RCPT TO:<%s>\r\n", result->rcpt);
    }
  else
    g_string_append (out, "DATA\r\n");
}

static MgSmtpClientState
state_for_command (MgSmtpClient *self,
                   guint         index)
{
  if (index == 0)
    return MG_SMTP_CLIENT_STATE_MAIL;
  if (index <= n_rcpts (self))
    return MG_SMTP_CLIENT_STATE_RCPT;
  return MG_SMTP_CLIENT_STATE_DATA;
}

static MgSmtpClientAction
send_rset (MgSmtpClient *self,
           GString      *out)
{
  g_string_append (out, "RSET\r\n");
  self->state = MG_SMTP_CLIENT_STATE_RSET;
  return MG_SMTP_CLIENT_ACTION_READ;
}

static MgSmtpClientAction
close_with_quit (MgSmtpClient *self,
                 const char   *reason,
                 GString      *out)
{
  set_error (self, reason);
  decide_undecided (self, MG_SMTP_OUTCOME_TEMPFAIL, reason);
  g_string_append (out, "QUIT\r\n");
  self->state = MG_SMTP_CLIENT_STATE_CLOSED;
  return MG_SMTP_CLIENT_ACTION_CLOSE;
}

/* Without PIPELINING: send the command after @index, or RSET when the
 * transaction cannot go on. */
static MgSmtpClientAction
send_next_command (MgSmtpClient *self,
                   GString      *out)
{
  guint data_index = n_rcpts (self) + 1;

  if (self->mail_failed)
    return send_rset (self, out);
  if (self->next_send == data_index && self->n_accepted == 0)
    return send_rset (self, out);     /* every recipient refused: no DATA */

  append_command (self, self->next_send, out);
  self->next_send++;
  self->state = state_for_command (self, self->next_reply);
  return MG_SMTP_CLIENT_ACTION_READ;
}

static MgSmtpClientAction
handle_data_reply (MgSmtpClient *self,
                   guint         code,
                   const char   *reply,
                   GString      *out)
{
  if (code == 354)
    {
      self->at_line_start = TRUE;
      self->prev_cr = FALSE;
      if (self->n_accepted > 0 && !self->mail_failed)
        {
          self->state = MG_SMTP_CLIENT_STATE_BODY;
          return MG_SMTP_CLIENT_ACTION_SEND_BODY;
        }
      /* RFC 2920 3.1: DATA accepted although nothing may be sent: end it */
      self->discard_body = TRUE;
      g_string_append (out, ".\r\n");
      self->state = MG_SMTP_CLIENT_STATE_EOM;
      return MG_SMTP_CLIENT_ACTION_READ;
    }

  decide_undecided (self, code >= 500 && code < 600
                          ? MG_SMTP_OUTCOME_PERMFAIL : MG_SMTP_OUTCOME_TEMPFAIL,
                    reply);
  return send_rset (self, out);
}

/* The reply to command next_reply of the transaction. */
static MgSmtpClientAction
handle_transaction_reply (MgSmtpClient *self,
                          guint         code,
                          const char   *reply,
                          GString      *out)
{
  guint index = self->next_reply++;
  MgSmtpOutcome outcome = outcome_for_code (code);

  if (index == 0)
    {
      if (outcome != MG_SMTP_OUTCOME_DELIVERED)
        {
          self->mail_failed = TRUE;
          decide_undecided (self, outcome, reply);
        }
    }
  else if (index <= n_rcpts (self))
    {
      MgSmtpRcptResult *result = g_ptr_array_index (self->results, index - 1);

      if (result->outcome != MG_SMTP_OUTCOME_PENDING)
        ;   /* decided by MAIL already (pipelined) */
      else if (outcome == MG_SMTP_OUTCOME_DELIVERED)
        self->n_accepted++;   /* stays PENDING until the body's reply */
      else
        decide (self, result, outcome, reply);
    }
  else
    return handle_data_reply (self, code, reply, out);

  if (self->pipelining)
    {
      self->state = state_for_command (self, self->next_reply);
      return MG_SMTP_CLIENT_ACTION_READ;
    }
  return send_next_command (self, out);
}

/* ---- replies ----------------------------------------------------------- */

static gboolean
is_keyword (const char *line,
            const char *keyword)
{
  gsize len = strlen (keyword);

  return g_ascii_strncasecmp (line, keyword, len) == 0
         && (line[len] == '\0' || line[len] == ' ' || line[len] == '=');
}

/* "AUTH PLAIN LOGIN" (or the old "AUTH=PLAIN LOGIN") */
static void
parse_auth_mechanisms (MgSmtpClient *self,
                       const char   *line)
{
  g_auto(GStrv) words = g_strsplit_set (line + 5, " ", -1);

  for (guint i = 0; words[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (words[i], "PLAIN") == 0)
        self->offers_plain = TRUE;
      else if (g_ascii_strcasecmp (words[i], "LOGIN") == 0)
        self->offers_login = TRUE;
    }
}

static void
parse_extensions (MgSmtpClient *self)
{
  self->pipelining = FALSE;
  self->offers_starttls = FALSE;
  self->offers_plain = FALSE;
  self->offers_login = FALSE;
  for (guint i = 1; i < self->reply_lines->len; i++)   /* line 0 is the greeting */
    {
      const char *line = g_ptr_array_index (self->reply_lines, i);

      if (is_keyword (line, "PIPELINING"))
        self->pipelining = TRUE;
      else if (is_keyword (line, "STARTTLS"))
        self->offers_starttls = TRUE;
      else if (is_keyword (line, "AUTH"))
        parse_auth_mechanisms (self, line);
    }
}

static char *
base64_text (const char *text,
             gsize       len)
{
  return g_base64_encode ((const guchar *) text, len);
}

/* RFC 4954 after EHLO (over TLS): PLAIN preferred, LOGIN otherwise. */
static MgSmtpClientAction
start_auth (MgSmtpClient *self,
            GString      *out)
{
  if (!self->tls_active)
    return close_with_quit (self, "4.7.0 not sending credentials without TLS "
                                  "(the next hop offers no STARTTLS)", out);
  if (self->offers_plain)
    {
      g_autoptr(GString) plain = g_string_new (NULL);
      g_autofree char *encoded = NULL;

      g_string_append_c (plain, '\0');
      g_string_append (plain, self->auth_user);
      g_string_append_c (plain, '\0');
      g_string_append (plain, self->auth_password);
      encoded = base64_text (plain->str, plain->len);
      memset (plain->str, 0, plain->len);
      g_string_append_printf (out, "AUTH PLAIN %s\r\n", encoded);
      self->secret_out = TRUE;
      self->state = MG_SMTP_CLIENT_STATE_AUTH;
      return MG_SMTP_CLIENT_ACTION_READ;
    }
  if (self->offers_login)
    {
      g_string_append (out, "AUTH LOGIN\r\n");
      self->state = MG_SMTP_CLIENT_STATE_AUTH_USER;
      return MG_SMTP_CLIENT_ACTION_READ;
    }
  return close_with_quit (self, "4.7.0 the next hop offers neither AUTH PLAIN nor LOGIN", out);
}

/* EHLO accepted: STARTTLS, AUTH, or ready. */
static MgSmtpClientAction
after_ehlo (MgSmtpClient *self,
            GString      *out)
{
  if (!self->tls_active && self->tls_policy != MG_SMTP_TLS_NONE && self->offers_starttls)
    {
      g_string_append (out, "STARTTLS\r\n");
      self->state = MG_SMTP_CLIENT_STATE_STARTTLS;
      return MG_SMTP_CLIENT_ACTION_READ;
    }
  if (!self->tls_active && self->tls_policy == MG_SMTP_TLS_REQUIRE)
    return close_with_quit (self, "4.7.4 the next hop does not offer STARTTLS "
                                  "(TLS is required for this route)", out);
  if (self->auth_user != NULL)
    return start_auth (self, out);
  self->state = MG_SMTP_CLIENT_STATE_READY;
  return MG_SMTP_CLIENT_ACTION_READY;
}

MgSmtpClientAction
mg_smtp_client_tls_started (MgSmtpClient *self,
                            GString      *out)
{
  g_return_val_if_fail (self->state == MG_SMTP_CLIENT_STATE_TLS, MG_SMTP_CLIENT_ACTION_CLOSE);

  /* RFC 3207 4.2: forget what was said in clear, greet again */
  self->tls_active = TRUE;
  self->pipelining = FALSE;
  g_string_append_printf (out, "EHLO %s\r\n", self->helo_name);
  self->state = MG_SMTP_CLIENT_STATE_EHLO;
  return MG_SMTP_CLIENT_ACTION_READ;
}

static MgSmtpClientAction
handle_auth_reply (MgSmtpClient *self,
                   guint         code,
                   const char   *reply,
                   GString      *out)
{
  g_autofree char *encoded = NULL;
  g_autofree char *reason = NULL;

  if (self->state == MG_SMTP_CLIENT_STATE_AUTH && code == 235)
    {
      self->state = MG_SMTP_CLIENT_STATE_READY;
      return MG_SMTP_CLIENT_ACTION_READY;
    }
  if (self->state == MG_SMTP_CLIENT_STATE_AUTH_USER && code == 334)
    {
      encoded = base64_text (self->auth_user, strlen (self->auth_user));
      self->state = MG_SMTP_CLIENT_STATE_AUTH_PASS;
    }
  else if (self->state == MG_SMTP_CLIENT_STATE_AUTH_PASS && code == 334)
    {
      encoded = base64_text (self->auth_password, strlen (self->auth_password));
      self->state = MG_SMTP_CLIENT_STATE_AUTH;
    }
  if (encoded != NULL)
    {
      g_string_append_printf (out, "%s\r\n", encoded);
      self->secret_out = TRUE;
      return MG_SMTP_CLIENT_ACTION_READ;
    }
  /* a refused AUTH is retried later (Postfix's soft bounce): the
   * credentials may be fixed meanwhile */
  reason = g_strdup_printf ("authentication failed: %s", reply);
  return close_with_quit (self, reason, out);
}

static MgSmtpClientAction
handle_reply (MgSmtpClient *self,
              guint         code,
              const char   *reply,
              GString      *out)
{
  gboolean ok = code >= 200 && code < 300;

  if (code == 421 && self->state != MG_SMTP_CLIENT_STATE_QUIT)
    {
      /* service closing: the peer is going away, say nothing more */
      set_error (self, reply);
      decide_undecided (self, MG_SMTP_OUTCOME_TEMPFAIL, reply);
      self->state = MG_SMTP_CLIENT_STATE_CLOSED;
      return MG_SMTP_CLIENT_ACTION_CLOSE;
    }

  switch (self->state)
    {
    case MG_SMTP_CLIENT_STATE_BANNER:
      if (!ok)
        return close_with_quit (self, reply, out);
      g_string_append_printf (out, "EHLO %s\r\n", self->helo_name);
      self->state = MG_SMTP_CLIENT_STATE_EHLO;
      return MG_SMTP_CLIENT_ACTION_READ;

    case MG_SMTP_CLIENT_STATE_EHLO:
      if (code >= 500 && code < 600)
        {
          g_string_append_printf (out, "HELO %s\r\n", self->helo_name);
          self->state = MG_SMTP_CLIENT_STATE_HELO;
          return MG_SMTP_CLIENT_ACTION_READ;
        }
      if (!ok)
        return close_with_quit (self, reply, out);
      parse_extensions (self);
      return after_ehlo (self, out);

    case MG_SMTP_CLIENT_STATE_HELO:
      if (!ok)
        return close_with_quit (self, reply, out);
      self->pipelining = FALSE;
      self->offers_starttls = self->offers_plain = self->offers_login = FALSE;
      return after_ehlo (self, out);

    case MG_SMTP_CLIENT_STATE_STARTTLS:
      if (code == 220)
        {
          self->state = MG_SMTP_CLIENT_STATE_TLS;
          return MG_SMTP_CLIENT_ACTION_START_TLS;
        }
      if (self->tls_policy == MG_SMTP_TLS_REQUIRE)
        {
          g_autofree char *reason = g_strdup_printf ("4.7.4 STARTTLS refused (TLS is "
                                                     "required for this route): %s", reply);

          return close_with_quit (self, reason, out);
        }
      self->tls_policy = MG_SMTP_TLS_NONE;   /* carry on in clear */
      return after_ehlo (self, out);

    case MG_SMTP_CLIENT_STATE_AUTH:
    case MG_SMTP_CLIENT_STATE_AUTH_USER:
    case MG_SMTP_CLIENT_STATE_AUTH_PASS:
      return handle_auth_reply (self, code, reply, out);

    case MG_SMTP_CLIENT_STATE_MAIL:
    case MG_SMTP_CLIENT_STATE_RCPT:
    case MG_SMTP_CLIENT_STATE_DATA:
      return handle_transaction_reply (self, code, reply, out);

    case MG_SMTP_CLIENT_STATE_EOM:
      if (self->discard_body)
        return send_rset (self, out);
      decide_undecided (self, outcome_for_code (code), reply);
      self->state = MG_SMTP_CLIENT_STATE_READY;
      return MG_SMTP_CLIENT_ACTION_READY;

    case MG_SMTP_CLIENT_STATE_RSET:
      if (!ok)
        return close_with_quit (self, reply, out);
      self->state = MG_SMTP_CLIENT_STATE_READY;
      return MG_SMTP_CLIENT_ACTION_READY;

    case MG_SMTP_CLIENT_STATE_QUIT:
    case MG_SMTP_CLIENT_STATE_CLOSED:
      self->state = MG_SMTP_CLIENT_STATE_CLOSED;
      return MG_SMTP_CLIENT_ACTION_CLOSE;

    case MG_SMTP_CLIENT_STATE_READY:
    case MG_SMTP_CLIENT_STATE_BODY:
    case MG_SMTP_CLIENT_STATE_TLS:
    default:
      /* a reply nobody asked for: the peer and we disagree on the state */
      return close_with_quit (self, "protocol error: unexpected reply", out);
    }
}

static MgSmtpClientAction
protocol_error (MgSmtpClient *self,
                const char   *line,
                gsize         len)
{
  g_autofree char *shown = g_strndup (line, MIN (len, 80));
  g_autofree char *reason = NULL;

  g_strdelimit (shown, "\r\n\t", ' ');
  reason = g_strdup_printf ("protocol error: bad reply '%s'", shown);
  set_error (self, reason);
  decide_undecided (self, MG_SMTP_OUTCOME_TEMPFAIL, reason);
  self->state = MG_SMTP_CLIENT_STATE_CLOSED;
  return MG_SMTP_CLIENT_ACTION_CLOSE;
}

static gboolean
parse_code (const char *line,
            gsize       len,
            guint      *code,
            gboolean   *last)
{
  if (len < 3 || line[0] < '1' || line[0] > '5'
      || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]))
    return FALSE;
  if (len > 3 && line[3] != ' ' && line[3] != '-')
    return FALSE;
  if (memchr (line, '\0', len) != NULL)
    return FALSE;

  *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  *last = len == 3 || line[3] == ' ';
  return TRUE;
}

MgSmtpClientAction
mg_smtp_client_feed_line (MgSmtpClient *self,
                          const char   *line,
                          gsize         len,
                          GString      *out)
{
  guint code = 0;
  gboolean last = FALSE;
  g_autofree char *reply = NULL;

  g_return_val_if_fail (self != NULL, MG_SMTP_CLIENT_ACTION_CLOSE);

  self->secret_out = FALSE;
  if (self->state == MG_SMTP_CLIENT_STATE_CLOSED)
    return MG_SMTP_CLIENT_ACTION_CLOSE;
  self->got_reply = TRUE;

  if (!parse_code (line, len, &code, &last)
      || (self->reply_code != 0 && code != self->reply_code))
    return protocol_error (self, line, len);

  if (self->reply_code == 0)
    {
      g_string_printf (self->reply_text, "%u", code);
      g_ptr_array_set_size (self->reply_lines, 0);
    }
  self->reply_code = code;
  if (len > 4 && self->reply_text->len < MAX_REPLY_TEXT)
    {
      g_string_append_c (self->reply_text, ' ');
      g_string_append_len (self->reply_text, line + 4, len - 4);
    }
  g_ptr_array_add (self->reply_lines, len > 4 ? g_strndup (line + 4, len - 4) : g_strdup (""));

  if (!last)
    return MG_SMTP_CLIENT_ACTION_READ;   /* multi-line reply goes on */

  self->reply_code = 0;
  reply = g_strdup (self->reply_text->str);
  return handle_reply (self, code, reply, out);
}

/* ---- transaction ------------------------------------------------------- */

MgSmtpClientAction
mg_smtp_client_begin (MgSmtpClient       *self,
                      const char         *sender,
                      const char * const *rcpts,
                      GString            *out)
{
  g_return_val_if_fail (self != NULL, MG_SMTP_CLIENT_ACTION_CLOSE);
  g_return_val_if_fail (self->state == MG_SMTP_CLIENT_STATE_READY, MG_SMTP_CLIENT_ACTION_CLOSE);
  g_return_val_if_fail (sender != NULL && rcpts != NULL && rcpts[0] != NULL,
                        MG_SMTP_CLIENT_ACTION_CLOSE);

  g_free (self->sender);
  self->sender = g_strdup (sender);
  g_ptr_array_set_size (self->results, 0);
  for (guint i = 0; rcpts[i] != NULL; i++)
    {
      MgSmtpRcptResult *result = g_new0 (MgSmtpRcptResult, 1);

      result->rcpt = g_strdup (rcpts[i]);
      result->outcome = MG_SMTP_OUTCOME_PENDING;
      g_ptr_array_add (self->results, result);
    }
  self->next_send = 0;
  self->next_reply = 0;
  self->n_accepted = 0;
  self->mail_failed = FALSE;
  self->discard_body = FALSE;

  if (!self->pipelining)
    return send_next_command (self, out);

  /* RFC 2920: MAIL, every RCPT and DATA in one write */
  for (guint i = 0; i < n_rcpts (self) + 2; i++)
    append_command (self, i, out);
  self->next_send = n_rcpts (self) + 2;
  self->state = MG_SMTP_CLIENT_STATE_MAIL;
  return MG_SMTP_CLIENT_ACTION_READ;
}

/* How many bytes at @p can go out unchanged: whole lines ending in CRLF
 * whose next line does not start with a dot, up to the first bare LF or
 * line that needs stuffing (0: the line at @p does). */
static gsize
verbatim_run (MgSmtpClient *self,
              const char   *p,
              const char   *end)
{
  const char *q = p;

  if (self->at_line_start && *p == '.')
    return 0;
  for (;;)
    {
      const char *nl = memchr (q, '\n', (gsize) (end - q));
      gboolean cr;

      if (nl == NULL)
        return (gsize) (end - p);           /* the line goes on in the next chunk */
      cr = nl > p ? nl[-1] == '\r' : self->prev_cr;
      if (!cr)
        return (gsize) (nl - p);            /* a bare LF: up to it */
      q = nl + 1;
      if (q == end || *q == '.')
        return (gsize) (q - p);             /* a dot line next: stuffed by the caller */
    }
}

void
mg_smtp_client_write_body (MgSmtpClient *self,
                           const char   *data,
                           gsize         len,
                           GString      *out)
{
  const char *p = data;
  const char *end = data + len;

  g_return_if_fail (self->state == MG_SMTP_CLIENT_STATE_BODY);

  while (p < end)
    {
      gsize run = verbatim_run (self, p, end);
      const char *nl;
      const char *stop;

      /* Most of a body goes out as it is, many lines in one append
       * (bench/: a call per line was a tenth of a worker's time at 100 KB) */
      if (run > 0)
        {
          g_string_append_len (out, p, (gssize) run);
          p += run;
          self->at_line_start = p[-1] == '\n';
          self->prev_cr = p[-1] == '\r';
          if (p == end)
            break;
        }

      /* one line that needs a change: a leading dot, or a bare LF */
      nl = memchr (p, '\n', end - p);
      stop = nl != NULL ? nl : end;

      if (stop > p)
        {
          if (self->at_line_start && *p == '.')
            g_string_append_c (out, '.');   /* RFC 5321 4.5.2 */
          g_string_append_len (out, p, stop - p);
          self->at_line_start = FALSE;
          self->prev_cr = stop[-1] == '\r';
        }
      if (nl == NULL)
        break;

      /* outbound: a bare LF never goes on the wire as a line end */
      if (!self->prev_cr)
        g_string_append_c (out, '\r');
      g_string_append_c (out, '\n');
      self->at_line_start = TRUE;
      self->prev_cr = FALSE;
      p = nl + 1;
    }
}

MgSmtpClientAction
mg_smtp_client_end_body (MgSmtpClient *self,
                         GString      *out)
{
  g_return_val_if_fail (self->state == MG_SMTP_CLIENT_STATE_BODY, MG_SMTP_CLIENT_ACTION_CLOSE);

  if (self->prev_cr)
    g_string_append_c (out, '\n');
  else if (!self->at_line_start)
    g_string_append (out, "\r\n");
  g_string_append (out, ".\r\n");
  self->state = MG_SMTP_CLIENT_STATE_EOM;
  return MG_SMTP_CLIENT_ACTION_READ;
}

MgSmtpClientAction
mg_smtp_client_quit (MgSmtpClient *self,
                     GString      *out)
{
  g_return_val_if_fail (self != NULL, MG_SMTP_CLIENT_ACTION_CLOSE);

  if (self->state == MG_SMTP_CLIENT_STATE_CLOSED)
    return MG_SMTP_CLIENT_ACTION_CLOSE;
  g_string_append (out, "QUIT\r\n");
  self->state = MG_SMTP_CLIENT_STATE_QUIT;
  return MG_SMTP_CLIENT_ACTION_READ;
}

void
mg_smtp_client_abort (MgSmtpClient *self,
                      const char   *reason)
{
  g_return_if_fail (self != NULL && reason != NULL);

  if (self->state != MG_SMTP_CLIENT_STATE_CLOSED || self->error == NULL)
    set_error (self, reason);
  decide_undecided (self, MG_SMTP_OUTCOME_TEMPFAIL, reason);
  self->state = MG_SMTP_CLIENT_STATE_CLOSED;
}
