/* mg-smtp-session.c - one inbound SMTP conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgSmtpSession turns command lines into reply lines and tells its
 * caller what to do next (keep reading, read DATA, commit, close).
 * It owns at most one transaction (MgSmtpTx: MAIL .. end of DATA) and the
 * body being received for it.  It does no I/O: bytes arrive from the
 * receiver, the finished message leaves through take_message(), and "250"
 * after DATA is produced only by commit_done(), once the queue reports the
 * message durable.
 *
 * Commands go through one verb table {name, allowed states, check,
 * proceed}: check parses and applies policy and appends the refusal reply;
 * proceed changes state and appends the positive reply.  State changes go
 * through enter_state(), which traces "state A -> B".
 *
 * Front door: STARTTLS answers 220 and returns START_TLS (the caller
 * discards pipelined input, shakes hands, then calls tls_started(), which
 * forgets the EHLO, RFC 3207).  AUTH runs an MgSmtpAuth exchange: while it
 * lasts every line is a response, never a command; a 535 returns
 * AUTH_FAILED so the caller can delay it.  Logged-in clients may
 * relay; protected senders need a login or a client relay rule.
 * SPF (R-1.7, receiver.spf) is asked at MAIL through the caller's blocking
 * MgSmtpSpfFunc, so the caller runs such lines off its event loop
 * (mg_smtp_session_line_may_block()).
 *
 * Threading: a session is touched by one thread at a time.
 */
#include "config.h"

#include <string.h>

#include "mg-address.h"
#include "mg-log.h"
#include "mg-policy.h"
#include "mg-smtp-auth.h"
#include "mg-smtp-data.h"
#include "mg-smtp-reply.h"
#include "mg-smtp-session.h"
#include "mg-trace.h"

#define MAX_ERRORS 20   /* Postfix's smtpd_hard_error_limit */

typedef enum
{
  MG_SMTP_STATE_CONNECTED = 1 << 0,
  MG_SMTP_STATE_GREETED   = 1 << 1,
  MG_SMTP_STATE_MAIL      = 1 << 2,   /* MAIL accepted, no recipient yet */
  MG_SMTP_STATE_RCPT      = 1 << 3,   /* at least one recipient accepted */
  MG_SMTP_STATE_DATA      = 1 << 4,   /* 354 sent, reading the message */
  MG_SMTP_STATE_COMMIT    = 1 << 5,   /* message complete, waiting for the queue */
  MG_SMTP_STATE_QUIT      = 1 << 6,   /* closing */
} MgSmtpState;

/* receiver.spf */
typedef enum
{
  MG_SPF_MODE_OFF,
  MG_SPF_MODE_REJECT,   /* fail -> 550 5.7.23, temperror -> 451 4.7.24; Received-SPF: */
  MG_SPF_MODE_HEADER,   /* only the Received-SPF: header */
} MgSpfMode;

#define ANY_COMMAND_STATE (MG_SMTP_STATE_CONNECTED | MG_SMTP_STATE_GREETED | \
                           MG_SMTP_STATE_MAIL | MG_SMTP_STATE_RCPT)
#define IN_TRANSACTION (MG_SMTP_STATE_MAIL | MG_SMTP_STATE_RCPT)

typedef struct
{
  char            *id;             /* queue id, from DATA on */
  char            *sender;         /* as written, "" for <> */
  gboolean         relay_allowed;  /* a relay rule allowed this client/sender */
  guint            n_rcpts;        /* accepted RCPT commands */
  char            *first_rcpt;     /* as written, for Received: "for" */
  GPtrArray       *targets;        /* char*: deduplicated delivery addresses */
  GHashTable      *target_set;     /* lower-cased target -> NULL */
  GByteArray      *body;           /* Received: + unstuffed message */
  MgSmtpData      *framer;         /* while reading DATA */
  gsize            body_size;      /* for the trace after take_message() */
  guint            n_targets;
  char            *spf_header;     /* "Received-SPF: ...\r\n" or NULL */
} MgSmtpTx;

struct _MgSmtpSession
{
  MgConfig         *config;
  char             *tag;
  char             *hostname;
  GInetAddress     *client_address;
  char             *client_ip;      /* string form or NULL */
  guint16           client_port;
  char             *client_host;
  guint16           local_port;
  MgSmtpNewIdFunc   new_id;
  gpointer          new_id_data;
  gint64            now;

  /* settings, read once from the snapshot */
  gboolean          banner_show;
  gboolean          vrfy;
  guint64           max_message_size;   /* 0 = unlimited */
  guint             max_recipients;
  guint             max_received;
  gsize             max_line_length;
  guint             auth_mechs;         /* MgSmtpAuthMech mask (auth.methods) */
  gboolean          auth_require_tls;
  gboolean          require_reverse_dns;
  guint             auth_max_failures;
  MgSpfMode         spf_mode;           /* receiver.spf */
  MgSmtpSpfFunc     spf_check;          /* nullable */
  gpointer          spf_check_data;

  /* front door (R-1.2 STARTTLS, R-2.5 AUTH) */
  gboolean          tls_available;
  gboolean          tls;
  MgSmtpAuthFailuresFunc auth_failures;
  gpointer          auth_failures_data;
  MgSmtpAuth       *auth;               /* an AUTH exchange in progress */
  char             *auth_mech_name;
  char             *auth_user;          /* canonical account, once logged in */

  MgSmtpState       state;
  char             *helo;
  gboolean          esmtp;
  guint             n_errors;
  MgSmtpTx          tx;
};

typedef gboolean     (*MgVerbCheck)   (MgSmtpSession *self,
                                       const char    *args,
                                       GString       *replies);
typedef MgSmtpAction (*MgVerbProceed) (MgSmtpSession *self,
                                       const char    *args,
                                       GString       *replies);

typedef struct
{
  const char    *name;
  guint          states;     /* MgSmtpState mask where the verb is allowed */
  MgReply        refusal;    /* reply outside those states */
  MgVerbCheck    check;      /* nullable: TRUE = go on; FALSE = refusal appended */
  MgVerbProceed  proceed;
} MgVerb;

/* ---- helpers ------------------------------------------------------------ */

static const char *
state_name (MgSmtpState state)
{
  switch (state)
    {
    case MG_SMTP_STATE_CONNECTED: return "connected";
    case MG_SMTP_STATE_GREETED:   return "greeted";
    case MG_SMTP_STATE_MAIL:      return "mail";
    case MG_SMTP_STATE_RCPT:      return "rcpt";
    case MG_SMTP_STATE_DATA:      return "data";
    case MG_SMTP_STATE_COMMIT:    return "commit";
    case MG_SMTP_STATE_QUIT:      return "quit";
    default:                      break;
    }
  g_assert_not_reached ();
}

static void
enter_state (MgSmtpSession *self,
             MgSmtpState    state)
{
  if (self->state == state)
    return;
  MG_TRACE (self->tag, "state %s -> %s", state_name (self->state),
            state_name (state));
  self->state = state;
}

/* Every reply goes through here so 4xx/5xx are counted (error limit). */
static void
reply_full (MgSmtpSession *self,
            GString       *replies,
            MgReply        what,
            const char    *detail,
            const char    *extra)
{
  mg_smtp_reply_append_full (replies, what, detail, extra);
  if (mg_smtp_reply_get_info (what)->code >= 400)
    self->n_errors++;
}

static void
reply (MgSmtpSession *self,
       GString       *replies,
       MgReply        what,
       const char    *detail)
{
  reply_full (self, replies, what, detail, NULL);
}

/* A GString for a policy decision's reason, only when someone traces. */
static GString *
new_why (void)
{
  return mg_trace_active () ? g_string_new (NULL) : NULL;
}

static void
trace_why (MgSmtpSession *self,
           GString       *why)
{
  if (why != NULL && why->len > 0)
    MG_TRACE (self->tag, "%s", why->str);
}

static void
tx_clear (MgSmtpTx *tx)
{
  g_clear_pointer (&tx->id, g_free);
  g_clear_pointer (&tx->sender, g_free);
  g_clear_pointer (&tx->first_rcpt, g_free);
  g_clear_pointer (&tx->targets, g_ptr_array_unref);
  g_clear_pointer (&tx->target_set, g_hash_table_unref);
  g_clear_pointer (&tx->framer, mg_smtp_data_free);
  g_clear_pointer (&tx->body, g_byte_array_unref);
  g_clear_pointer (&tx->spf_header, g_free);
  tx->relay_allowed = FALSE;
  tx->n_rcpts = 0;
  tx->body_size = 0;
  tx->n_targets = 0;
}

/* Ends any transaction and goes back to "greeted" (or stays "connected"). */
static void
reset_transaction (MgSmtpSession *self)
{
  tx_clear (&self->tx);
  if (self->state != MG_SMTP_STATE_CONNECTED && self->state != MG_SMTP_STATE_QUIT)
    enter_state (self, MG_SMTP_STATE_GREETED);
}

/* "local@domain" as the client wrote it (quoted local parts re-quoted). */
static char *
path_as_written (const MgPath *path)
{
  g_autoptr(GString) out = NULL;

  if (path->null_path)
    return g_strdup ("");

  out = g_string_new (NULL);
  if (path->quoted)
    {
      g_string_append_c (out, '"');
      for (const char *p = path->local_part; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  else
    g_string_append (out, path->local_part);

  if (path->domain_literal)
    g_string_append_printf (out, "@[%s]", path->domain);
  else
    g_string_append_printf (out, "@%s", path->domain);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Domain part of a canonical "local@domain" (the local part may hold '@'). */
static const char *
canonical_domain (const MgPath *path)
{
  const char *at = strrchr (path->canonical, '@');

  return at != NULL ? at + 1 : "";
}

/* Skips "KEYWORD:" (case-insensitive) at the start of @args; NULL if absent. */
static const char *
skip_keyword (const char *args,
              const char *keyword)
{
  gsize n = strlen (keyword);

  if (g_ascii_strncasecmp (args, keyword, n) != 0)
    return NULL;
  return args + n;
}

static const char *
skip_spaces (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* ---- Received: (R-1.6) --------------------------------------------------- */

static void
append_rfc5322_date (GString *out,
                     gint64   real_time)
{
  static const char * const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char * const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GDateTime) dt = NULL;
  gint64 offset_min;

  {
    g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (real_time / G_USEC_PER_SEC);

    if (utc != NULL)
      dt = g_date_time_to_timezone (utc, mg_log_time_zone ());
  }
  if (dt == NULL)
    dt = g_date_time_new_now_utc ();
  offset_min = g_date_time_get_utc_offset (dt) / G_USEC_PER_SEC / 60;

  /* English names whatever the locale: g_date_time_format's %a/%b are localised */
  g_string_append_printf (out, "%s, %02d %s %d %02d:%02d:%02d %c%02d%02d",
                          days[g_date_time_get_day_of_week (dt) - 1],
                          g_date_time_get_day_of_month (dt),
                          months[g_date_time_get_month (dt) - 1],
                          g_date_time_get_year (dt),
                          g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt),
                          g_date_time_get_second (dt),
                          offset_min < 0 ? '-' : '+',
                          (int) (ABS (offset_min) / 60),
                          (int) (ABS (offset_min) % 60));
}

static void
append_client_ip_literal (MgSmtpSession *self,
                          GString       *out)
{
  if (self->client_address == NULL)
    return;
  if (g_inet_address_get_family (self->client_address) == G_SOCKET_FAMILY_IPV6)
    g_string_append_printf (out, "[IPv6:%s]", self->client_ip);
  else
    g_string_append_printf (out, "[%s]", self->client_ip);
}

static void
append_received_header (MgSmtpSession *self,
                        GString       *out)
{
  g_string_append_printf (out, "Received: from %s (%s",
                          self->helo != NULL ? self->helo : "unknown",
                          self->client_host != NULL ? self->client_host : "unknown");
  if (self->client_address != NULL)
    g_string_append_c (out, ' ');
  append_client_ip_literal (self, out);
  /* RFC 3848: ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both) */
  g_string_append_printf (out, ")\r\n\tby %s (mailgate) with %s%s%s id %s",
                          self->hostname, self->esmtp ? "ESMTP" : "SMTP",
                          self->esmtp && self->tls ? "S" : "",
                          self->esmtp && self->auth_user != NULL ? "A" : "",
                          self->tx.id);
  if (self->tx.n_rcpts == 1)
    g_string_append_printf (out, "\r\n\tfor <%s>", self->tx.first_rcpt);
  g_string_append (out, ";\r\n\t");
  append_rfc5322_date (out, self->now != 0 ? self->now : g_get_real_time ());
  g_string_append (out, "\r\n");
}

/* ---- EHLO / HELO -------------------------------------------------------- */

/* AUTH is offered only over TLS unless auth.require_tls is off. */
static gboolean
auth_offered (MgSmtpSession *self)
{
  return self->auth_mechs != 0 && (self->tls || !self->auth_require_tls);
}

static gboolean
check_helo (MgSmtpSession *self,
            const char    *args,
            GString       *replies)
{
  if (*args == '\0')
    {
      reply (self, replies, MG_REPLY_ARGUMENT_REQUIRED, NULL);
      return FALSE;
    }
  /* A domain or address literal is at most 255 octets (RFC 5321 4.5.3.1.2);
   * a longer one would be echoed into an over-long reply and Received: line. */
  if (strlen (args) > 255)
    {
      reply (self, replies, MG_REPLY_BAD_PARAM_SYNTAX, NULL);
      return FALSE;
    }
  return TRUE;
}

static MgSmtpAction
proceed_hello (MgSmtpSession *self,
               const char    *args,
               gboolean       esmtp,
               GString       *replies)
{
  g_autoptr(GString) first = g_string_new (NULL);

  g_free (self->helo);
  self->helo = g_strdup (args);
  self->esmtp = esmtp;
  tx_clear (&self->tx);   /* RFC 5321 4.1.4: EHLO/HELO resets the transaction */
  enter_state (self, MG_SMTP_STATE_GREETED);

  g_string_append_printf (first, "%s Hello %s", self->hostname, args);
  if (self->client_ip != NULL)
    g_string_append_printf (first, " [%s]", self->client_ip);

  if (esmtp)
    {
      g_autofree char *size = NULL;
      g_autofree char *auth = NULL;
      const char *lines[8];
      gsize n = 0;

      size = self->max_message_size > 0
        ? g_strdup_printf ("SIZE %" G_GUINT64_FORMAT, self->max_message_size)
        : g_strdup ("SIZE");
      lines[n++] = first->str;
      lines[n++] = "PIPELINING";
      lines[n++] = size;
      lines[n++] = "8BITMIME";
      lines[n++] = "ENHANCEDSTATUSCODES";
      if (self->tls_available && !self->tls)
        lines[n++] = "STARTTLS";
      if (auth_offered (self))
        {
          g_autofree char *mechs = mg_smtp_auth_describe (self->auth_mechs);

          auth = g_strconcat ("AUTH", mechs, NULL);
          lines[n++] = auth;
        }
      lines[n++] = "HELP";
      mg_smtp_reply_append_lines (replies, 250, lines, n);
    }
  else
    {
      const char *lines[] = { first->str };

      mg_smtp_reply_append_lines (replies, 250, lines, 1);
    }
  return MG_SMTP_ACTION_CONTINUE;
}

static MgSmtpAction
proceed_ehlo (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  return proceed_hello (self, args, TRUE, replies);
}

static MgSmtpAction
proceed_helo (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  return proceed_hello (self, args, FALSE, replies);
}

/* ---- MAIL --------------------------------------------------------------- */

/* Parses the path after "FROM:"; returns NULL with a reply appended. */
static MgPath *
parse_path_arg (MgSmtpSession *self,
                const char    *args,
                const char    *keyword,
                MgReply        syntax_reply,
                const char   **rest,
                GString       *replies)
{
  g_autoptr(MgPath) path = NULL;
  const char *p;
  gsize consumed = 0;

  p = skip_keyword (args, keyword);
  if (p == NULL
      || mg_path_parse (p, strlen (p), &consumed, &path) != MG_PATH_OK
      || path == NULL)
    {
      reply (self, replies, syntax_reply, NULL);
      return NULL;
    }
  p += consumed;
  if (*p != '\0' && *p != ' ')
    {
      reply (self, replies, syntax_reply, NULL);
      return NULL;
    }
  *rest = skip_spaces (p);
  return g_steal_pointer (&path);
}

/* RFC 1870 SIZE and RFC 6152 BODY; anything else is refused (555). */
static gboolean
check_mail_params (MgSmtpSession *self,
                   const char    *params,
                   GString       *replies)
{
  g_auto(GStrv) words = g_strsplit (params, " ", -1);

  for (gsize i = 0; words[i] != NULL; i++)
    {
      const char *word = words[i];
      const char *value;
      guint64 size = 0;

      if (*word == '\0')
        continue;
      if ((value = skip_keyword (word, "SIZE=")) != NULL)
        {
          if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &size, NULL))
            {
              reply (self, replies, MG_REPLY_BAD_PARAM_SYNTAX, NULL);
              return FALSE;
            }
          /* a declared size over the limit is refused at MAIL */
          if (self->max_message_size > 0 && size > self->max_message_size)
            {
              reply (self, replies, MG_REPLY_TOO_BIG, NULL);
              return FALSE;
            }
        }
      else if ((value = skip_keyword (word, "BODY=")) != NULL)
        {
          if (g_ascii_strcasecmp (value, "7BIT") != 0
              && g_ascii_strcasecmp (value, "8BITMIME") != 0)
            {
              reply (self, replies, MG_REPLY_UNKNOWN_PARAM, NULL);
              return FALSE;
            }
        }
      else
        {
          reply (self, replies, MG_REPLY_UNKNOWN_PARAM, NULL);
          return FALSE;
        }
    }
  return TRUE;
}

/* a protected sender (postmaster@<local domain>, protected_senders)
 * needs a logged-in client or one a relay rule allows by its address or
 * name; a rule allowing the sender itself does not count. */
static gboolean
check_protected_sender (MgSmtpSession *self,
                        const MgPath  *path,
                        const char    *sender,
                        GString       *replies)
{
  g_autoptr(GString) why = new_why ();
  guint rule = 0;

  if (self->auth_user != NULL || path->null_path)
    return TRUE;
  if (!mg_policy_is_protected_sender (self->config, path->canonical, why))
    return TRUE;
  if (mg_policy_match_relay_rules (self->config, self->client_address, self->client_host,
                                   "", &rule, NULL) == MG_RELAY_ALLOW)
    {
      if (why != NULL)
        g_string_append_printf (why, "; client allowed by relay rule %u", rule);
      trace_why (self, why);
      return TRUE;
    }
  trace_why (self, why);
  MG_TRACE (self->tag, "protected sender <%s> refused: client not authenticated", sender);
  reply (self, replies, MG_REPLY_SENDER_PROTECTED, sender);
  return FALSE;
}

/* with receiver.require_reverse_dns, a client without a verified
 * host name (reverse lookup confirmed by a forward one) is refused, unless
 * it logged in or a relay rule allows it.  450: DNS failures pass. */
static gboolean
check_reverse_dns (MgSmtpSession *self,
                   GString       *replies)
{
  g_autofree char *detail = NULL;
  guint rule = 0;

  if (!self->require_reverse_dns || self->client_host != NULL ||
      self->client_address == NULL || self->auth_user != NULL)
    return TRUE;
  if (mg_policy_match_relay_rules (self->config, self->client_address, NULL, "",
                                   &rule, NULL) == MG_RELAY_ALLOW)
    return TRUE;
  MG_TRACE (self->tag, "client [%s] has no verified host name: refused (receiver.require_reverse_dns)",
            self->client_ip);
  detail = g_strdup_printf ("[%s]", self->client_ip);
  reply (self, replies, MG_REPLY_NO_REVERSE_DNS, detail);
  return FALSE;
}

static gboolean
spf_applies (MgSmtpSession *self)
{
  return self->spf_mode != MG_SPF_MODE_OFF && self->spf_check != NULL &&
         self->client_address != NULL && self->auth_user == NULL;
}

/* Quotes and controls out of a Received-SPF: value. */
static char *
header_safe (const char *text)
{
  char *out = g_strdup (text);

  for (char *p = out; *p != '\0'; p++)
    if (*p == '"' || *p == '\\' || (guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  return out;
}

/* RFC 7208: the sender's domain (the null sender: the HELO name,
 * 2.3) is checked for clients that neither logged in nor are allowed by a
 * relay rule.  receiver.spf "reject": fail -> 550 5.7.23, temperror ->
 * 451 4.7.24; every other result is accepted.  Both "reject" and "header"
 * record the result in a Received-SPF: header (9.1). */
static gboolean
check_spf (MgSmtpSession   *self,
           const MgPath    *path,
           const char      *sender,
           MgRelayDecision  decision,
           GString         *replies)
{
  g_autofree char *mailbox = NULL;
  g_autofree char *mechanism = NULL;
  g_autofree char *safe_mailbox = NULL;
  g_autofree char *safe_mechanism = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *extra = NULL;
  const char *domain;
  const char *at;
  MgSpfResult result;

  if (!spf_applies (self))
    return TRUE;
  if (decision == MG_RELAY_ALLOW)
    {
      MG_TRACE (self->tag, "SPF not checked: client allowed by a relay rule");
      return TRUE;
    }
  if (path->null_path)
    {
      /* RFC 7208 2.3: the null sender is checked as postmaster@HELO */
      if (self->helo == NULL || *self->helo == '[' || strchr (self->helo, '.') == NULL ||
          g_hostname_is_ip_address (self->helo))
        {
          MG_TRACE (self->tag, "SPF not checked: null sender and HELO name \"%s\" is no domain",
                    self->helo != NULL ? self->helo : "");
          return TRUE;
        }
      mailbox = g_strdup_printf ("postmaster@%s", self->helo);
    }
  else
    mailbox = g_strdup (path->canonical);
  at = strrchr (mailbox, '@');
  domain = at != NULL ? at + 1 : mailbox;

  result = self->spf_check (self->client_address, domain, mailbox, self->helo,
                            &mechanism, self->spf_check_data);
  MG_TRACE (self->tag, "SPF %s for %s: %s (%s)", domain, self->client_ip,
            mg_spf_result_to_string (result), mechanism != NULL ? mechanism : "");

  safe_mailbox = header_safe (mailbox);
  safe_mechanism = header_safe (mechanism != NULL ? mechanism : "");
  g_free (self->tx.spf_header);
  self->tx.spf_header =
    g_strdup_printf ("Received-SPF: %s (%s: domain of %s, client %s) client-ip=%s;\r\n"
                     "\tenvelope-from=\"%s\"; helo=\"%s\"; receiver=%s; identity=%s;\r\n"
                     "\tmechanism=\"%s\"\r\n",
                     mg_spf_result_to_string (result), self->hostname, safe_mailbox,
                     self->client_ip, self->client_ip, safe_mailbox,
                     self->helo != NULL ? self->helo : "", self->hostname,
                     path->null_path ? "helo" : "mailfrom", safe_mechanism);

  if (self->spf_mode != MG_SPF_MODE_REJECT)
    return TRUE;
  detail = g_strdup_printf ("<%s>", sender);
  extra = g_strdup_printf ("(client %s)", self->client_ip);
  if (result == MG_SPF_FAIL)
    {
      reply_full (self, replies, MG_REPLY_SPF_FAIL, detail, extra);
      g_clear_pointer (&self->tx.spf_header, g_free);
      return FALSE;
    }
  if (result == MG_SPF_TEMPERROR)
    {
      reply_full (self, replies, MG_REPLY_SPF_TEMPFAIL, detail, extra);
      g_clear_pointer (&self->tx.spf_header, g_free);
      return FALSE;
    }
  return TRUE;
}

/* relay rules see the client and the sender; DENY refuses MAIL. */
static gboolean
check_mail (MgSmtpSession *self,
            const char    *args,
            GString       *replies)
{
  g_autoptr(MgPath) path = NULL;
  g_autoptr(GString) why = new_why ();
  g_autofree char *sender = NULL;
  const char *params = NULL;
  MgRelayDecision decision;
  guint rule = 0;

  path = parse_path_arg (self, args, "FROM:", MG_REPLY_BAD_SENDER_SYNTAX,
                         &params, replies);
  if (path == NULL)
    return FALSE;
  if (!check_mail_params (self, params, replies))
    return FALSE;

  sender = path_as_written (path);
  decision = mg_policy_match_relay_rules (self->config, self->client_address,
                                          self->client_host, path->canonical,
                                          &rule, why);
  trace_why (self, why);
  if (decision == MG_RELAY_DENY)
    {
      g_autofree char *extra = g_strdup_printf ("(relay rule %u)", rule);

      reply_full (self, replies, MG_REPLY_SENDER_DENIED, sender, extra);
      return FALSE;
    }
  if (!check_protected_sender (self, path, sender, replies))
    return FALSE;
  if (!check_reverse_dns (self, replies))
    return FALSE;
  if (!check_spf (self, path, sender, decision, replies))
    return FALSE;

  self->tx.sender = g_steal_pointer (&sender);
  /* an authenticated client may relay */
  self->tx.relay_allowed = (decision == MG_RELAY_ALLOW) || self->auth_user != NULL;
  return TRUE;
}

static MgSmtpAction
proceed_mail (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  self->tx.targets = g_ptr_array_new_with_free_func (g_free);
  self->tx.target_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  enter_state (self, MG_SMTP_STATE_MAIL);
  reply (self, replies, MG_REPLY_SENDER_OK, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

/* ---- RCPT --------------------------------------------------------------- */

/* "<postmaster>" without a domain (RFC 5321 4.5.1) is postmaster@HOST. */
static gboolean
is_bare_postmaster (const char *args)
{
  const char *p = skip_keyword (args, "TO:");

  return p != NULL && g_ascii_strcasecmp (skip_spaces (p), "<postmaster>") == 0;
}

static void
add_targets (MgSmtpTx  *tx,
             GPtrArray *targets)
{
  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      char *key = g_ascii_strdown (target, -1);

      if (!g_hash_table_add (tx->target_set, key))
        continue;   /* already there: the set freed @key */
      g_ptr_array_add (tx->targets, g_strdup (target));
    }
}

/* Policy for one recipient; appends the refusal reply.  @targets receives
 * the delivery addresses on success. */
static gboolean
decide_rcpt (MgSmtpSession *self,
             const char    *written,
             const char    *local_part,
             const char    *domain,
             gboolean       relay_allowed,
             GPtrArray     *targets,
             GString       *replies)
{
  g_autoptr(GString) why = new_why ();
  MgRcptVerdict verdict;

  verdict = mg_policy_check_rcpt (self->config, local_part, domain,
                                  relay_allowed, targets, why);
  trace_why (self, why);
  switch (verdict)
    {
    case MG_RCPT_ACCEPT:
      return TRUE;
    case MG_RCPT_UNKNOWN_USER:
      reply (self, replies, MG_REPLY_UNKNOWN_USER, written);
      return FALSE;
    case MG_RCPT_RELAY_DENIED:
    default:
      reply (self, replies, MG_REPLY_RELAY_DENIED, written);
      return FALSE;
    }
}

static gboolean
check_rcpt (MgSmtpSession *self,
            const char    *args,
            GString       *replies)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(MgPath) path = NULL;
  g_autofree char *written = NULL;
  g_autofree char *domain = NULL;
  const char *local_part;
  const char *params = NULL;

  if (is_bare_postmaster (args))
    {
      written = g_strdup ("postmaster");
      local_part = "postmaster";
      domain = g_ascii_strdown (self->hostname, -1);
    }
  else
    {
      path = parse_path_arg (self, args, "TO:", MG_REPLY_BAD_RCPT_SYNTAX,
                             &params, replies);
      if (path == NULL)
        return FALSE;
      if (path->null_path)
        {
          reply (self, replies, MG_REPLY_BAD_RCPT_SYNTAX, NULL);
          return FALSE;
        }
      if (*params != '\0')
        {
          reply (self, replies, MG_REPLY_UNKNOWN_PARAM, NULL);
          return FALSE;
        }
      written = path_as_written (path);
      local_part = path->local_part;
      domain = g_strdup (canonical_domain (path));
    }

  /* */
  if (self->tx.n_rcpts >= self->max_recipients)
    {
      reply (self, replies, MG_REPLY_TOO_MANY_RCPTS, NULL);
      return FALSE;
    }

  /* percent hack, bang paths, quoted '@', source routes */
  if (path != NULL && mg_path_has_routing (path) && !self->tx.relay_allowed)
    {
      MG_TRACE (self->tag, "recipient <%s> has routing syntax and relaying is not allowed",
                written);
      reply (self, replies, MG_REPLY_RELAY_ROUTING_DENIED, written);
      return FALSE;
    }

  if (!decide_rcpt (self, written, local_part, domain, self->tx.relay_allowed,
                    targets, replies))
    return FALSE;

  add_targets (&self->tx, targets);
  if (self->tx.n_rcpts++ == 0)
    self->tx.first_rcpt = g_steal_pointer (&written);
  return TRUE;
}

static MgSmtpAction
proceed_rcpt (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  enter_state (self, MG_SMTP_STATE_RCPT);
  reply (self, replies, MG_REPLY_RCPT_OK, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

/* ---- DATA --------------------------------------------------------------- */

static gboolean
check_data (MgSmtpSession *self,
            const char    *args,
            GString       *replies)
{
  if (self->tx.n_rcpts == 0)
    {
      reply (self, replies, MG_REPLY_NO_VALID_RCPTS, NULL);
      return FALSE;
    }
  return TRUE;
}

static MgSmtpAction
proceed_data (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  g_autoptr(GString) received = g_string_new (NULL);
  const char *lines[] = { "End data with <CR><LF>.<CR><LF>" };

  self->tx.id = self->new_id (self->new_id_data);
  MG_TRACE (self->tag, "transaction %s: sender <%s>, %u recipients",
            self->tx.id, self->tx.sender, self->tx.targets->len);

  if (self->tx.spf_header != NULL)
    g_string_append (received, self->tx.spf_header);   /* RFC 7208 9.1: above Received: */
  append_received_header (self, received);
  self->tx.body = g_byte_array_sized_new (received->len + 4096);
  g_byte_array_append (self->tx.body, (const guint8 *) received->str, received->len);
  self->tx.framer = mg_smtp_data_new (self->tx.body, self->max_message_size,
                                      self->max_received, self->max_line_length);

  enter_state (self, MG_SMTP_STATE_DATA);
  mg_smtp_reply_append_lines (replies, 354, lines, 1);
  return MG_SMTP_ACTION_READ_DATA;
}

/* ---- the other verbs ---------------------------------------------------- */

static MgSmtpAction
proceed_rset (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  reset_transaction (self);
  reply (self, replies, MG_REPLY_OK, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

static MgSmtpAction
proceed_noop (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  reply (self, replies, MG_REPLY_OK, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

static MgSmtpAction
proceed_quit (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  tx_clear (&self->tx);
  enter_state (self, MG_SMTP_STATE_QUIT);
  reply (self, replies, MG_REPLY_BYE, NULL);
  return MG_SMTP_ACTION_CLOSE;
}

static MgSmtpAction
proceed_help (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  reply (self, replies, MG_REPLY_HELP, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

/* VRFY is off by default (252); when on, it asks the same policy as
 * RCPT, without relaying. */
static MgSmtpAction
proceed_vrfy (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(MgPath) path = NULL;
  g_autofree char *bracketed = NULL;
  g_autofree char *written = NULL;
  gsize consumed = 0;

  if (*args == '\0')
    {
      reply (self, replies, MG_REPLY_ARGUMENT_REQUIRED, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }
  if (!self->vrfy)
    {
      reply (self, replies, MG_REPLY_CANNOT_VRFY, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }

  bracketed = *args == '<' ? g_strdup (args) : g_strdup_printf ("<%s>", args);
  if (mg_path_parse (bracketed, strlen (bracketed), &consumed, &path) != MG_PATH_OK
      || path == NULL || path->null_path || bracketed[consumed] != '\0')
    {
      reply (self, replies, MG_REPLY_BAD_RCPT_SYNTAX, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }

  written = path_as_written (path);
  if (mg_path_has_routing (path))
    reply (self, replies, MG_REPLY_RELAY_ROUTING_DENIED, written);
  else if (decide_rcpt (self, written, path->local_part, canonical_domain (path),
                        FALSE, targets, replies))
    reply (self, replies, MG_REPLY_VRFY_OK, written);
  return MG_SMTP_ACTION_CONTINUE;
}

static MgSmtpAction
proceed_expn (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  reply (self, replies, MG_REPLY_EXPN_NOT_AVAILABLE, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

/* ---- STARTTLS (RFC 3207) ------------------------------------------------ */

static gboolean
check_starttls (MgSmtpSession *self,
                const char    *args,
                GString       *replies)
{
  if (*args != '\0')
    {
      reply (self, replies, MG_REPLY_BAD_PARAM_SYNTAX, NULL);
      return FALSE;
    }
  if (self->tls)
    {
      reply (self, replies, MG_REPLY_TLS_ALREADY, NULL);
      return FALSE;
    }
  if (!self->tls_available)
    {
      reply (self, replies, MG_REPLY_TLS_NOT_AVAILABLE, NULL);
      return FALSE;
    }
  return TRUE;
}

static MgSmtpAction
proceed_starttls (MgSmtpSession *self,
                  const char    *args,
                  GString       *replies)
{
  /* the caller discards whatever the client pipelined after this line */
  reply (self, replies, MG_REPLY_READY_FOR_TLS, NULL);
  return MG_SMTP_ACTION_START_TLS;
}

/* ---- AUTH (RFC 4954, R-2.5) --------------------------------------------- */

static gboolean
check_auth (MgSmtpSession *self,
            const char    *args,
            GString       *replies)
{
  if (self->auth_mechs == 0)
    {
      reply (self, replies, MG_REPLY_AUTH_NOT_AVAILABLE, NULL);
      return FALSE;
    }
  if (self->auth_user != NULL)
    {
      reply (self, replies, MG_REPLY_AUTH_ALREADY, NULL);
      return FALSE;
    }
  if (!auth_offered (self))
    {
      reply (self, replies, MG_REPLY_AUTH_NEED_TLS, NULL);
      return FALSE;
    }
  if (*args == '\0')
    {
      reply (self, replies, MG_REPLY_ARGUMENT_REQUIRED, NULL);
      return FALSE;
    }
  return TRUE;
}

static char *
new_cram_challenge (MgSmtpSession *self)
{
  return g_strdup_printf ("<%u.%" G_GINT64_FORMAT "@%s>", g_random_int (),
                          g_get_real_time () / G_USEC_PER_SEC, self->hostname);
}

/* What an exchange's status means for the session. */
static MgSmtpAction
auth_status (MgSmtpSession    *self,
             MgSmtpAuthStatus  status)
{
  const char *user = mg_smtp_auth_get_user (self->auth);

  switch (status)
    {
    case MG_SMTP_AUTH_CONTINUE:
      return MG_SMTP_ACTION_CONTINUE;
    case MG_SMTP_AUTH_SUCCESS:
      self->auth_user = g_strdup (user);
      MG_TRACE (self->tag, "authenticated as %s (%s)", user, self->auth_mech_name);
      break;
    case MG_SMTP_AUTH_FAILED:
      MG_TRACE (self->tag, "authentication failed for \"%s\" (%s)",
                user != NULL ? user : "", self->auth_mech_name);
      self->n_errors++;
      break;
    case MG_SMTP_AUTH_ABORTED:
    default:
      MG_TRACE (self->tag, "authentication exchange aborted (%s)", self->auth_mech_name);
      self->n_errors++;
      break;
    }
  g_clear_pointer (&self->auth, mg_smtp_auth_free);
  g_clear_pointer (&self->auth_mech_name, g_free);
  return status == MG_SMTP_AUTH_FAILED ? MG_SMTP_ACTION_AUTH_FAILED : MG_SMTP_ACTION_CONTINUE;
}

static MgSmtpAction
proceed_auth (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  g_autofree char *mech_name = g_strdup (args);
  g_autofree char *challenge = NULL;
  char *space = strchr (mech_name, ' ');
  const char *initial = NULL;
  MgSmtpAuthMech mech;
  guint failures;

  /* a client with too many failed logins is throttled */
  failures = self->auth_failures != NULL ? self->auth_failures (self->auth_failures_data) : 0;
  if (failures >= self->auth_max_failures)
    {
      MG_TRACE (self->tag, "AUTH refused: client %s throttled after %u failed logins",
                self->client_ip != NULL ? self->client_ip : "?", failures);
      mg_smtp_reply_append (replies, MG_REPLY_AUTH_THROTTLED, self->hostname);
      tx_clear (&self->tx);
      enter_state (self, MG_SMTP_STATE_QUIT);
      return MG_SMTP_ACTION_CLOSE;
    }
  if (space != NULL)
    {
      *space = '\0';
      initial = skip_spaces (space + 1);
    }
  mech = mg_smtp_auth_mech_from_name (mech_name);
  if ((mech & self->auth_mechs) == 0)
    {
      reply (self, replies, MG_REPLY_AUTH_UNKNOWN_MECH, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }

  challenge = new_cram_challenge (self);
  self->auth = mg_smtp_auth_new (self->config, mech, challenge);
  self->auth_mech_name = g_ascii_strup (mech_name, -1);
  return auth_status (self, mg_smtp_auth_start (self->auth, initial, replies));
}

/* A line while an AUTH exchange runs goes to the exchange, not the verbs. */
static MgSmtpAction
auth_line (MgSmtpSession *self,
           const char    *line,
           gsize          len,
           gboolean       too_long,
           GString       *replies)
{
  if (too_long)
    {
      MG_TRACE (self->tag, "authentication exchange aborted: line too long");
      g_clear_pointer (&self->auth, mg_smtp_auth_free);
      g_clear_pointer (&self->auth_mech_name, g_free);
      reply (self, replies, MG_REPLY_LINE_TOO_LONG, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }
  return auth_status (self, mg_smtp_auth_step (self->auth, line, len, replies));
}

static MgSmtpAction
proceed_bdat (MgSmtpSession *self,
              const char    *args,
              GString       *replies)
{
  reply (self, replies, MG_REPLY_BDAT_NOT_AVAILABLE, NULL);
  return MG_SMTP_ACTION_CONTINUE;
}

static const MgVerb verbs[] = {
  { "EHLO",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   check_helo, proceed_ehlo },
  { "HELO",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   check_helo, proceed_helo },
  { "MAIL",     MG_SMTP_STATE_GREETED, MG_REPLY_NESTED_MAIL, check_mail, proceed_mail },
  { "RCPT",     IN_TRANSACTION,        MG_REPLY_NEED_MAIL,   check_rcpt, proceed_rcpt },
  { "DATA",     IN_TRANSACTION,        MG_REPLY_NEED_MAIL,   check_data, proceed_data },
  { "RSET",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_rset },
  { "NOOP",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_noop },
  { "QUIT",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_quit },
  { "HELP",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_help },
  { "VRFY",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_vrfy },
  { "EXPN",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_expn },
  { "STARTTLS", MG_SMTP_STATE_GREETED, MG_REPLY_AUTH_IN_TRANSACTION, check_starttls, proceed_starttls },
  { "AUTH",     MG_SMTP_STATE_GREETED, MG_REPLY_AUTH_IN_TRANSACTION, check_auth, proceed_auth },
  { "BDAT",     ANY_COMMAND_STATE,     MG_REPLY_NEED_HELO,   NULL,       proceed_bdat },
};

static const MgVerb *
find_verb (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_ascii_strcasecmp (verbs[i].name, name) == 0)
      return &verbs[i];
  return NULL;
}

/* ---- public API --------------------------------------------------------- */

MgSmtpSession *
mg_smtp_session_new (const MgSmtpSessionInfo *info)
{
  MgSmtpSession *self;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (info->config != NULL, NULL);
  g_return_val_if_fail (info->new_id != NULL, NULL);

  self = g_new0 (MgSmtpSession, 1);
  self->config = mg_config_ref (info->config);
  self->tag = g_strdup (info->session_tag != NULL ? info->session_tag : "S00000000");
  self->hostname = g_strdup (info->hostname != NULL ? info->hostname : g_get_host_name ());
  if (info->client_address != NULL)
    {
      self->client_address = g_object_ref (info->client_address);
      self->client_ip = g_inet_address_to_string (info->client_address);
    }
  self->client_port = info->client_port;
  self->client_host = g_strdup (info->client_host);
  self->local_port = info->local_port;
  self->new_id = info->new_id;
  self->new_id_data = info->new_id_data;
  self->now = info->now;

  self->banner_show = mg_config_get_bool (self->config, "receiver.banner_show");
  self->vrfy = mg_config_get_bool (self->config, "receiver.vrfy");
  self->max_message_size = (guint64) MAX (0, mg_config_get_int (self->config, "receiver.max_message_size"));
  self->max_recipients = (guint) CLAMP (mg_config_get_int (self->config, "receiver.max_recipients"), 1, G_MAXUINT);
  self->max_received = (guint) CLAMP (mg_config_get_int (self->config, "receiver.max_received_headers"), 0, G_MAXUINT);
  self->max_line_length = (gsize) MAX (0, mg_config_get_int (self->config, "receiver.max_line_length"));
  self->auth_mechs = mg_smtp_auth_parse_methods (mg_config_get_string (self->config, "auth.methods"));
  self->auth_require_tls = mg_config_get_bool (self->config, "auth.require_tls");
  self->require_reverse_dns = mg_config_get_bool (self->config, "receiver.require_reverse_dns");
  self->auth_max_failures = (guint) CLAMP (mg_config_get_int (self->config, "auth.max_failures"), 1, G_MAXUINT);
  self->tls_available = info->tls_available;
  self->tls = info->tls_active;
  self->auth_failures = info->auth_failures;
  self->auth_failures_data = info->auth_failures_data;
  self->spf_check = info->spf_check;
  self->spf_check_data = info->spf_check_data;
  {
    const char *spf = mg_config_get_string (self->config, "receiver.spf");

    self->spf_mode = g_strcmp0 (spf, "reject") == 0 ? MG_SPF_MODE_REJECT
                   : g_strcmp0 (spf, "header") == 0 ? MG_SPF_MODE_HEADER
                   : MG_SPF_MODE_OFF;
  }

  self->state = MG_SMTP_STATE_CONNECTED;
  return self;
}

void
mg_smtp_session_free (MgSmtpSession *self)
{
  if (self == NULL)
    return;
  tx_clear (&self->tx);
  g_clear_pointer (&self->config, mg_config_unref);
  g_clear_object (&self->client_address);
  g_free (self->client_ip);
  g_free (self->tag);
  g_free (self->hostname);
  g_free (self->client_host);
  g_free (self->helo);
  g_clear_pointer (&self->auth, mg_smtp_auth_free);
  g_free (self->auth_mech_name);
  g_free (self->auth_user);
  g_free (self);
}

void
mg_smtp_session_greeting (MgSmtpSession *self,
                          GString       *replies)
{
  g_autofree char *text = NULL;
  const char *lines[1];

  g_return_if_fail (self != NULL && replies != NULL);

  /* */
  text = g_strdup_printf (self->banner_show ? "%s ESMTP mailgate" : "%s ESMTP",
                          self->hostname);
  lines[0] = text;
  mg_smtp_reply_append_lines (replies, 220, lines, 1);
}

/* The error limit: after MAX_ERRORS refusals the session ends. */
static MgSmtpAction
check_error_limit (MgSmtpSession *self,
                   MgSmtpAction   action,
                   GString       *replies)
{
  if (self->n_errors < MAX_ERRORS || action == MG_SMTP_ACTION_CLOSE)
    return action;
  MG_TRACE (self->tag, "%u errors: closing", self->n_errors);
  mg_smtp_reply_append (replies, MG_REPLY_TOO_MANY_ERRORS, self->hostname);
  tx_clear (&self->tx);
  enter_state (self, MG_SMTP_STATE_QUIT);
  return MG_SMTP_ACTION_CLOSE;
}

static MgSmtpAction
execute_line (MgSmtpSession *self,
              const char    *line,
              gsize          len,
              gboolean       too_long,
              GString       *replies)
{
  g_autofree char *command = NULL;
  const MgVerb *verb;
  const char *args;
  char *space;
  gsize end = len;

  if (too_long)
    {
      reply (self, replies, MG_REPLY_LINE_TOO_LONG, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }
  /* a NUL or a bare CR never reaches the parser */
  if (memchr (line, '\0', len) != NULL || memchr (line, '\r', len) != NULL)
    {
      reply (self, replies, MG_REPLY_BAD_CHARACTERS, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }

  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
    end--;
  command = g_strndup (line, end);

  space = strchr (command, ' ');
  if (space != NULL)
    *space = '\0';
  args = space != NULL ? skip_spaces (space + 1) : "";

  verb = find_verb (command);
  if (verb == NULL)
    {
      reply (self, replies, MG_REPLY_UNRECOGNIZED, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }
  if ((verb->states & self->state) == 0)
    {
      gboolean need_helo = self->state == MG_SMTP_STATE_CONNECTED
                           && (verb->states & MG_SMTP_STATE_GREETED) != 0;

      reply (self, replies, need_helo ? MG_REPLY_NEED_HELO : verb->refusal, NULL);
      return MG_SMTP_ACTION_CONTINUE;
    }
  if (verb->check != NULL && !verb->check (self, args, replies))
    return MG_SMTP_ACTION_CONTINUE;
  return verb->proceed (self, args, replies);
}

MgSmtpAction
mg_smtp_session_handle_line (MgSmtpSession *self,
                             const char    *line,
                             gsize          len,
                             gboolean       crlf,
                             gboolean       too_long,
                             GString       *replies)
{
  MgSmtpAction action;

  g_return_val_if_fail (self != NULL, MG_SMTP_ACTION_CLOSE);
  g_return_val_if_fail (line != NULL || len == 0, MG_SMTP_ACTION_CLOSE);
  g_return_val_if_fail (replies != NULL, MG_SMTP_ACTION_CLOSE);
  g_return_val_if_fail ((self->state & (ANY_COMMAND_STATE | MG_SMTP_STATE_QUIT)) != 0,
                        MG_SMTP_ACTION_CLOSE);

  if (self->state == MG_SMTP_STATE_QUIT)
    return MG_SMTP_ACTION_CLOSE;

  if (self->auth != NULL)
    {
      action = auth_line (self, line != NULL ? line : "", len, too_long, replies);
      return check_error_limit (self, action, replies);
    }

  /* A command ended by a bare LF is accepted like CRLF (commands only:
   * DATA is strict, R-1.2).  @crlf is kept for the trace. */
  if (!crlf)
    MG_TRACE (self->tag, "command line ended by bare LF");

  action = execute_line (self, line != NULL ? line : "", len, too_long, replies);
  return check_error_limit (self, action, replies);
}

static MgReply
data_error_reply (MgSmtpDataError error)
{
  switch (error)
    {
    case MG_SMTP_DATA_ERROR_TOO_BIG:       return MG_REPLY_TOO_BIG;
    case MG_SMTP_DATA_ERROR_LOOP:          return MG_REPLY_LOOP;
    case MG_SMTP_DATA_ERROR_LINE_TOO_LONG: return MG_REPLY_DATA_LINE_TOO_LONG;
    case MG_SMTP_DATA_ERROR_NUL:           return MG_REPLY_DATA_NUL;
    case MG_SMTP_DATA_OK:
    default:                               break;
    }
  g_assert_not_reached ();
}

MgSmtpAction
mg_smtp_session_handle_data (MgSmtpSession *self,
                             const char    *data,
                             gsize          len,
                             gsize         *consumed,
                             GString       *replies)
{
  MgSmtpDataError error;

  g_return_val_if_fail (self != NULL, MG_SMTP_ACTION_CLOSE);
  g_return_val_if_fail (consumed != NULL && replies != NULL, MG_SMTP_ACTION_CLOSE);
  g_return_val_if_fail (self->state == MG_SMTP_STATE_DATA, MG_SMTP_ACTION_CLOSE);

  *consumed = 0;
  if (mg_smtp_data_feed (self->tx.framer, data, len, consumed) == MG_SMTP_DATA_MORE)
    return MG_SMTP_ACTION_READ_DATA;

  error = mg_smtp_data_get_error (self->tx.framer);
  if (mg_smtp_data_had_bare_newline (self->tx.framer))
    MG_TRACE (self->tag, "message %s: bare CR or LF normalised to CRLF", self->tx.id);
  /* done with the framer: it drops its reference to the body */
  g_clear_pointer (&self->tx.framer, mg_smtp_data_free);

  if (error != MG_SMTP_DATA_OK)
    {
      MG_TRACE (self->tag, "message %s refused: %s", self->tx.id,
                mg_smtp_reply_get_info (data_error_reply (error))->text);
      reply (self, replies, data_error_reply (error), NULL);
      reset_transaction (self);
      return check_error_limit (self, MG_SMTP_ACTION_CONTINUE, replies);
    }

  enter_state (self, MG_SMTP_STATE_COMMIT);
  return MG_SMTP_ACTION_COMMIT;
}

MgQueueMessage *
mg_smtp_session_take_message (MgSmtpSession *self)
{
  MgQueueMessage *msg;
  GByteArray *body;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->state == MG_SMTP_STATE_COMMIT, NULL);
  g_return_val_if_fail (self->tx.body != NULL, NULL);

  msg = mg_queue_message_new ();
  msg->id = g_strdup (self->tx.id);
  msg->sender = g_strdup (self->tx.sender);
  for (guint i = 0; i < self->tx.targets->len; i++)
    mg_queue_message_add_rcpt (msg, g_ptr_array_index (self->tx.targets, i));
  msg->received_at = g_get_real_time ();
  msg->client_address = g_strdup (self->client_ip);
  msg->helo = g_strdup (self->helo);

  body = g_steal_pointer (&self->tx.body);
  msg->body_size = body->len;
  msg->body = g_byte_array_free_to_bytes (body);

  self->tx.body_size = msg->body_size;
  self->tx.n_targets = self->tx.targets->len;
  return msg;
}

void
mg_smtp_session_commit_done (MgSmtpSession *self,
                             const GError  *error,
                             GString       *replies)
{
  g_return_if_fail (self != NULL && replies != NULL);
  if (self->state == MG_SMTP_STATE_QUIT)
    return;   /* timed out or shut down while the queue worked */
  g_return_if_fail (self->state == MG_SMTP_STATE_COMMIT);

  if (error != NULL)
    {
      MG_TRACE (self->tag, "message %s not queued: %s", self->tx.id, error->message);
      reply (self, replies, MG_REPLY_LOCAL_TEMPFAIL, NULL);
    }
  else
    {
      MG_TRACE (self->tx.id, "message %s: %" G_GSIZE_FORMAT " bytes, %u recipients",
                self->tx.id, self->tx.body_size, self->tx.n_targets);
      reply (self, replies, MG_REPLY_QUEUED, self->tx.id);
    }
  reset_transaction (self);
}

void
mg_smtp_session_timeout (MgSmtpSession *self,
                         GString       *replies)
{
  g_return_if_fail (self != NULL && replies != NULL);

  MG_TRACE (self->tag, "timeout in state %s", state_name (self->state));
  mg_smtp_reply_append (replies, MG_REPLY_TIMEOUT, self->hostname);
  tx_clear (&self->tx);
  enter_state (self, MG_SMTP_STATE_QUIT);
}

void
mg_smtp_session_shutdown (MgSmtpSession *self,
                          GString       *replies)
{
  g_return_if_fail (self != NULL && replies != NULL);

  mg_smtp_reply_append (replies, MG_REPLY_SHUTDOWN, self->hostname);
  tx_clear (&self->tx);
  enter_state (self, MG_SMTP_STATE_QUIT);
}

gboolean
mg_smtp_session_in_data (MgSmtpSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->state == MG_SMTP_STATE_DATA;
}

void
mg_smtp_session_tls_started (MgSmtpSession *self,
                             const char    *description)
{
  g_return_if_fail (self != NULL);

  MG_TRACE (self->tag, "TLS established: %s", description != NULL ? description : "?");
  /* RFC 3207 4.2: discard everything learnt from the client before */
  self->tls = TRUE;
  tx_clear (&self->tx);
  g_clear_pointer (&self->helo, g_free);
  g_clear_pointer (&self->auth_user, g_free);
  self->esmtp = FALSE;
  enter_state (self, MG_SMTP_STATE_CONNECTED);
}

gboolean
mg_smtp_session_line_may_block (MgSmtpSession *self,
                                const char    *line,
                                gsize          len)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return spf_applies (self) && len >= 5 && g_ascii_strncasecmp (line, "MAIL ", 5) == 0 &&
         (self->state & (MG_SMTP_STATE_GREETED | MG_SMTP_STATE_CONNECTED)) != 0;
}

const char *
mg_smtp_session_get_auth_user (MgSmtpSession *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->auth_user;
}

gboolean
mg_smtp_session_in_auth (MgSmtpSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->auth != NULL;
}
