/* mg-smtp-session.h - one inbound SMTP conversation (pure state machine)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgSmtpSession turns command lines into reply lines and tells its caller
 * what to do next.  It does no I/O: MgSessionIo (mg-receiver.c) feeds it
 * lines and DATA bytes and writes the replies it appends to a GString.
 * "250" after DATA is produced only by mg_smtp_session_commit_done(), which
 * the caller invokes once the queue says the message is durable.
 *
 * Threading: a session is touched by one thread at a time.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"
#include "mg-queue.h"
#include "mg-spf.h"

G_BEGIN_DECLS

typedef enum
{
  MG_SMTP_ACTION_CONTINUE,   /* read the next command line */
  MG_SMTP_ACTION_READ_DATA,  /* 354 sent: feed raw bytes to handle_data() */
  MG_SMTP_ACTION_COMMIT,     /* message complete: take_message(), queue it, then commit_done() */
  MG_SMTP_ACTION_START_TLS,  /* flush the 220, DISCARD any input after the STARTTLS
                              * line (CVE-2011-0411), handshake, then tls_started() */
  MG_SMTP_ACTION_CLOSE,      /* flush replies, then close the connection */
  MG_SMTP_ACTION_AUTH_FAILED,/* 535 in the replies: count a failure for this client,
                              * hold the replies for the growing delay, then continue */
} MgSmtpAction;

typedef char *(*MgSmtpNewIdFunc) (gpointer user_data);
/* Failed logins recently counted for this session's client. */
typedef guint (*MgSmtpAuthFailuresFunc) (gpointer user_data);
/* SPF check_host() of @domain for @client; BLOCKS on DNS (the
 * caller runs lines for which mg_smtp_session_line_may_block() is TRUE on
 * a worker thread).  @mechanism: the deciding term (transfer full). */
typedef MgSpfResult (*MgSmtpSpfFunc) (GInetAddress  *client,
                                      const char    *domain,
                                      const char    *sender,
                                      const char    *helo,
                                      char         **mechanism,
                                      gpointer       user_data);

typedef struct
{
  MgConfig        *config;          /* snapshot for this connection (ref taken) */
  const char      *session_tag;     /* "S00000001": trace tag (copied) */
  const char      *hostname;        /* our host name for banner / Received (copied) */
  GInetAddress    *client_address;  /* nullable (unit tests may pass NULL) */
  guint16          client_port;
  const char      *client_host;     /* verified reverse name or NULL (copied) */
  guint16          local_port;      /* listener port (for Received) */
  MgSmtpNewIdFunc  new_id;          /* queue id for a new transaction */
  gpointer         new_id_data;
  gint64           now;             /* g_get_real_time() at connect (for tests: fixed) */
  gboolean         tls_available;   /* a server certificate is loaded: offer STARTTLS */
  gboolean         tls_active;      /* implicit-TLS listener: TLS from the start */
  MgSmtpAuthFailuresFunc auth_failures;  /* nullable (0 failures) */
  gpointer         auth_failures_data;
  MgSmtpSpfFunc    spf_check;       /* nullable: no SPF check (receiver.spf ignored) */
  gpointer         spf_check_data;
} MgSmtpSessionInfo;

typedef struct _MgSmtpSession MgSmtpSession;

MgSmtpSession  *mg_smtp_session_new          (const MgSmtpSessionInfo *info);
void            mg_smtp_session_free         (MgSmtpSession *self);

/* The 220 banner (R-1.3: text hidden when receiver.banner_show is false). */
void            mg_smtp_session_greeting     (MgSmtpSession *self,
                                              GString       *replies);

/* One command line WITHOUT its line ending.  @line may contain NUL bytes
 * (they are refused).  @crlf: the line ended with CRLF (FALSE: bare LF,
 * accepted like CRLF for commands; DATA stays strict).  @too_long: the
 * caller cut the line at its limit: answer 500 5.5.2, never execute. */
MgSmtpAction    mg_smtp_session_handle_line  (MgSmtpSession *self,
                                              const char    *line,
                                              gsize          len,
                                              gboolean       crlf,
                                              gboolean       too_long,
                                              GString       *replies);

/* DATA bytes (any chunking).  Sets *@consumed; bytes after the end-of-data
 * marker are NOT consumed (pipelined commands follow).  Returns READ_DATA
 * (need more), COMMIT (message complete and acceptable), or CONTINUE (the
 * message was refused: a 5xx is in @replies, e.g. size or loop limit). */
MgSmtpAction    mg_smtp_session_handle_data  (MgSmtpSession *self,
                                              const char    *data,
                                              gsize          len,
                                              gsize         *consumed,
                                              GString       *replies);

/* After COMMIT: the message to queue (transfer full): id, sender, expanded
 * recipients, body with the Received: header prepended. */
MgQueueMessage *mg_smtp_session_take_message (MgSmtpSession *self);

/* The queue's answer: 250 with the queue id, or 451 4.3.0 on @error. */
void            mg_smtp_session_commit_done  (MgSmtpSession *self,
                                              const GError  *error,
                                              GString       *replies);

/* The connection timed out / the server shuts down: 421 4.4.2 text. */
void            mg_smtp_session_timeout      (MgSmtpSession *self,
                                              GString       *replies);
void            mg_smtp_session_shutdown     (MgSmtpSession *self,
                                              GString       *replies);

gboolean        mg_smtp_session_in_data      (MgSmtpSession *self);

/* After START_TLS: the handshake succeeded (@description: "TLSv1.3
 * TLS_AES_256_GCM_SHA384", for the trace).  The session forgets everything
 * learnt before (RFC 3207 4.2): the client must EHLO again. */
void            mg_smtp_session_tls_started  (MgSmtpSession *self,
                                              const char    *description);

/* An AUTH exchange is running: the next line is a response (it may check
 * a password: the caller may run handle_line() on another thread). */
gboolean        mg_smtp_session_in_auth      (MgSmtpSession *self);

/* This command line may block (MAIL FROM with receiver.spf on and an
 * SPF check to run): the caller should run handle_line() off its event
 * loop. */
gboolean        mg_smtp_session_line_may_block (MgSmtpSession *self,
                                                const char    *line,
                                                gsize          len);

/* The account the client logged in as (canonical), or NULL. */
const char     *mg_smtp_session_get_auth_user (MgSmtpSession *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgSmtpSession, mg_smtp_session_free)

G_END_DECLS
