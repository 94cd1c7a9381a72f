/* mg-smtp-client.h - one outbound SMTP conversation (pure state machine)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The mirror image of MgSmtpSession (OpenSMTPD's mta_session.c): it is fed
 * the next hop's reply lines and produces command bytes and per-recipient
 * outcomes.  It does no I/O: the delivery worker (mg-delivery.c) writes what
 * is appended to @out, reads reply lines and feeds them back.
 *
 *   BANNER -> EHLO (-> HELO when EHLO gets 5xx) -> ready
 *   ready  -> MAIL -> RCPT... -> DATA -> BODY -> EOM -> ready   (again and
 *             again on the same connection: connection reuse, R-3.6)
 *   a refused transaction (MAIL refused, every RCPT refused, DATA refused)
 *             -> RSET -> ready
 *   ready  -> QUIT -> done
 *
 * STARTTLS (RFC 3207, R-3.5): with a TLS policy other than NONE and the
 * EHLO reply offering it, STARTTLS goes out; on 220 the caller gets
 * ACTION_START_TLS, runs the handshake and calls tls_started(), which says
 * EHLO again.  REQUIRE closes the session when STARTTLS is not offered or
 * refused.  AUTH PLAIN / LOGIN (RFC 4954) follow when credentials are set,
 * and only over TLS (a password never crosses the network in clear).
 *
 * PIPELINING (RFC 2920): when the EHLO reply offers it, MAIL, every RCPT and
 * DATA go out in one write and their replies are matched in order.
 *
 * Outcomes: 2xx to RCPT and 2xx after the body -> delivered; 5xx to
 * MAIL, RCPT, DATA or after the body -> failed permanently; 4xx, a garbled
 * reply, or a broken connection (mg_smtp_client_abort) -> temporary.
 *
 * Threading: a client is touched by one thread at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_SMTP_CLIENT_STATE_BANNER,   /* waiting for 220 */
  MG_SMTP_CLIENT_STATE_EHLO,
  MG_SMTP_CLIENT_STATE_HELO,     /* fallback when EHLO got 5xx */
  MG_SMTP_CLIENT_STATE_STARTTLS, /* STARTTLS sent */
  MG_SMTP_CLIENT_STATE_TLS,      /* 220 received: the caller runs the handshake */
  MG_SMTP_CLIENT_STATE_AUTH,     /* AUTH PLAIN (or the LOGIN password) sent */
  MG_SMTP_CLIENT_STATE_AUTH_USER,/* AUTH LOGIN sent: waiting for 334 */
  MG_SMTP_CLIENT_STATE_AUTH_PASS,/* LOGIN user name sent: waiting for 334 */
  MG_SMTP_CLIENT_STATE_READY,    /* idle between transactions */
  MG_SMTP_CLIENT_STATE_MAIL,
  MG_SMTP_CLIENT_STATE_RCPT,
  MG_SMTP_CLIENT_STATE_DATA,
  MG_SMTP_CLIENT_STATE_BODY,     /* 354 received: caller sends the body */
  MG_SMTP_CLIENT_STATE_EOM,      /* body sent: waiting for the final reply */
  MG_SMTP_CLIENT_STATE_RSET,
  MG_SMTP_CLIENT_STATE_QUIT,
  MG_SMTP_CLIENT_STATE_CLOSED,   /* nothing more to say: close the socket */
} MgSmtpClientState;

typedef enum
{
  MG_SMTP_CLIENT_ACTION_READ,       /* write @out, then feed the next reply line */
  MG_SMTP_CLIENT_ACTION_SEND_BODY,  /* write @out, then write_body()... end_body() */
  MG_SMTP_CLIENT_ACTION_READY,      /* write @out; idle: begin() another transaction or quit() */
  MG_SMTP_CLIENT_ACTION_CLOSE,      /* write @out, then close the connection */
  MG_SMTP_CLIENT_ACTION_START_TLS,  /* write @out, TLS handshake, then tls_started() */
} MgSmtpClientAction;

typedef enum
{
  MG_SMTP_TLS_NONE,      /* never STARTTLS */
  MG_SMTP_TLS_MAY,       /* STARTTLS when offered (opportunistic; the default) */
  MG_SMTP_TLS_REQUIRE,   /* no STARTTLS, no mail (the session is closed) */
} MgSmtpTlsPolicy;

typedef enum
{
  MG_SMTP_OUTCOME_PENDING,     /* not decided yet (RCPT accepted, waiting for the body's reply) */
  MG_SMTP_OUTCOME_DELIVERED,
  MG_SMTP_OUTCOME_TEMPFAIL,
  MG_SMTP_OUTCOME_PERMFAIL,
} MgSmtpOutcome;

typedef struct
{
  char          *rcpt;      /* address as given to begin() */
  MgSmtpOutcome  outcome;
  char          *reply;     /* nullable: the reply (or reason) that decided it */
} MgSmtpRcptResult;

typedef struct _MgSmtpClient MgSmtpClient;

/* @helo_name: the name we give in EHLO / HELO (copied). */
MgSmtpClient       *mg_smtp_client_new          (const char    *helo_name);
void                mg_smtp_client_free         (MgSmtpClient  *self);

/* Before the banner is fed.  Default MG_SMTP_TLS_NONE, no credentials. */
void                mg_smtp_client_set_tls      (MgSmtpClient  *self,
                                                 MgSmtpTlsPolicy policy);
void                mg_smtp_client_set_auth     (MgSmtpClient  *self,
                                                 const char    *user,
                                                 const char    *password);
/* After ACTION_START_TLS: the handshake succeeded.  Appends EHLO; READ. */
MgSmtpClientAction  mg_smtp_client_tls_started  (MgSmtpClient  *self,
                                                 GString       *out);
gboolean            mg_smtp_client_is_tls       (MgSmtpClient  *self);
/* TRUE when the last output holds credentials: do not trace it. */
gboolean            mg_smtp_client_output_is_secret (MgSmtpClient *self);

MgSmtpClientState   mg_smtp_client_get_state    (MgSmtpClient  *self);
gboolean            mg_smtp_client_has_pipelining (MgSmtpClient *self);
/* TRUE once the peer sent any well-formed reply (R-3.7: "answered with
 * errors" vs "no response"). */
gboolean            mg_smtp_client_got_reply    (MgSmtpClient  *self);
/* Why the connection ended (nullable): the refusing reply or the reason
 * given to abort(). */
const char         *mg_smtp_client_get_error    (MgSmtpClient  *self);

/* One reply line WITHOUT its CRLF.  Multi-line replies ("250-...") are
 * collected until the last line ("250 ..."). */
MgSmtpClientAction  mg_smtp_client_feed_line    (MgSmtpClient  *self,
                                                 const char    *line,
                                                 gsize          len,
                                                 GString       *out);

/* Start a transaction in the READY state.  @sender "" is the null sender;
 * @rcpts are addresses without brackets.  Appends MAIL (and with
 * PIPELINING every RCPT and DATA) to @out; returns READ. */
MgSmtpClientAction  mg_smtp_client_begin        (MgSmtpClient  *self,
                                                 const char    *sender,
                                                 const char * const *rcpts,
                                                 GString       *out);

/* In the BODY state: the message as stored (CRLF lines, not dot-stuffed),
 * in chunks of any size.  Appends the dot-stuffed bytes to @out; a bare LF
 * is sent as CRLF (never a bare line end on the wire). */
void                mg_smtp_client_write_body   (MgSmtpClient  *self,
                                                 const char    *data,
                                                 gsize          len,
                                                 GString       *out);
/* Ends the body: CRLF if the body did not end with one, then ".\r\n".
 * Returns READ (wait for the final reply). */
MgSmtpClientAction  mg_smtp_client_end_body     (MgSmtpClient  *self,
                                                 GString       *out);

/* The current (or last) transaction's recipients, in begin() order.
 * (transfer none): valid until the next begin() or free(). */
GPtrArray          *mg_smtp_client_get_results  (MgSmtpClient  *self);

/* In the READY state: appends QUIT; returns READ (the reply to QUIT then
 * gives CLOSE; closing without waiting is fine too). */
MgSmtpClientAction  mg_smtp_client_quit         (MgSmtpClient  *self,
                                                 GString       *out);

/* The connection broke (EOF, timeout, write error): every undecided
 * recipient of the current transaction fails temporarily with @reason;
 * state becomes CLOSED. */
void                mg_smtp_client_abort        (MgSmtpClient  *self,
                                                 const char    *reason);

const char         *mg_smtp_client_state_to_string (MgSmtpClientState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgSmtpClient, mg_smtp_client_free)

G_END_DECLS
