/* mg-smtp-reply.h - SMTP reply classes, their codes and their formatting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One table (mg-smtp-reply.c) maps every reply class the receiver can give
 * to its reply code, its enhanced status code (RFC 3463, announced with
 * ENHANCEDSTATUSCODES, RFC 2034) and its text.  Session code names a class;
 * it never spells a code.  Replies that carry no enhanced status (the 220
 * greeting, EHLO/HELO, 354) go through mg_smtp_reply_append_lines().
 * SMTP reply text is protocol: never translated.
 *
 * Threading: pure functions over a constant table; any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_REPLY_OK,                    /* 250 2.0.0 Ok */
  MG_REPLY_SENDER_OK,             /* 250 2.1.0 Ok */
  MG_REPLY_RCPT_OK,               /* 250 2.1.5 Ok */
  MG_REPLY_VRFY_OK,               /* 250 2.1.5 <addr>: Ok */
  MG_REPLY_QUEUED,                /* 250 2.0.0 Ok: queued as ID */
  MG_REPLY_CANNOT_VRFY,           /* 252 2.5.2 */
  MG_REPLY_HELP,                  /* 214 2.0.0 */
  MG_REPLY_BYE,                   /* 221 2.0.0 Bye */
  MG_REPLY_SHUTDOWN,              /* 421 4.3.2 HOST Service shutting down */
  MG_REPLY_TIMEOUT,               /* 421 4.4.2 HOST Error: timeout exceeded */
  MG_REPLY_TOO_MANY_ERRORS,       /* 421 4.7.0 HOST Error: too many errors */
  MG_REPLY_LOCAL_TEMPFAIL,        /* 451 4.3.0 queue write failed */
  MG_REPLY_TOO_MANY_RCPTS,        /* 452 4.5.3 */
  MG_REPLY_TLS_NOT_AVAILABLE,     /* 454 4.7.0 */
  MG_REPLY_UNRECOGNIZED,          /* 500 5.5.2 */
  MG_REPLY_LINE_TOO_LONG,         /* 500 5.5.2 */
  MG_REPLY_BAD_CHARACTERS,        /* 500 5.5.2 NUL / bare CR in a command */
  MG_REPLY_ARGUMENT_REQUIRED,     /* 501 5.5.4 */
  MG_REPLY_BAD_PARAM_SYNTAX,      /* 501 5.5.4 */
  MG_REPLY_BAD_SENDER_SYNTAX,     /* 501 5.1.7 */
  MG_REPLY_BAD_RCPT_SYNTAX,       /* 501 5.1.3 */
  MG_REPLY_EXPN_NOT_AVAILABLE,    /* 502 5.5.1 */
  MG_REPLY_AUTH_NOT_AVAILABLE,    /* 502 5.5.1 */
  MG_REPLY_BDAT_NOT_AVAILABLE,    /* 502 5.5.1 */
  MG_REPLY_NEED_HELO,             /* 503 5.5.1 */
  MG_REPLY_NESTED_MAIL,           /* 503 5.5.1 */
  MG_REPLY_NEED_MAIL,             /* 503 5.5.1 */
  MG_REPLY_UNKNOWN_USER,          /* 550 5.1.1 <addr>: ... User unknown */
  MG_REPLY_RELAY_ROUTING_DENIED,  /* 550 5.7.1 <addr>: Relay access denied */
  MG_REPLY_SENDER_DENIED,         /* 550 5.7.1 <sender>: Access denied */
  MG_REPLY_TOO_BIG,               /* 552 5.3.4 */
  MG_REPLY_RELAY_DENIED,          /* 554 5.7.1 <addr>: Relay access denied */
  MG_REPLY_NO_VALID_RCPTS,        /* 554 5.5.1 */
  MG_REPLY_LOOP,                  /* 554 5.4.6 */
  MG_REPLY_DATA_LINE_TOO_LONG,    /* 554 5.6.0 */
  MG_REPLY_DATA_NUL,              /* 554 5.6.0 */
  MG_REPLY_UNKNOWN_PARAM,         /* 555 5.5.4 */
  /* front door: AUTH, STARTTLS, sender protection */
  MG_REPLY_AUTH_OK,               /* 235 2.7.0 */
  MG_REPLY_READY_FOR_TLS,         /* 220 2.0.0 */
  MG_REPLY_AUTH_THROTTLED,        /* 421 4.7.0 HOST too many failed logins */
  MG_REPLY_AUTH_CANCELLED,        /* 501 5.7.0 "*" */
  MG_REPLY_AUTH_BAD_BASE64,       /* 501 5.5.2 */
  MG_REPLY_AUTH_BAD_RESPONSE,     /* 501 5.5.2 malformed PLAIN / CRAM-MD5 response */
  MG_REPLY_AUTH_ALREADY,          /* 503 5.5.1 */
  MG_REPLY_AUTH_IN_TRANSACTION,   /* 503 5.5.1 */
  MG_REPLY_TLS_ALREADY,           /* 503 5.5.1 */
  MG_REPLY_AUTH_UNKNOWN_MECH,     /* 504 5.5.4 */
  MG_REPLY_AUTH_FAILED,           /* 535 5.7.8 */
  MG_REPLY_AUTH_NEED_TLS,         /* 538 5.7.11 */
  MG_REPLY_SENDER_PROTECTED,      /* 550 5.7.1 <sender>: protected sender, log in first */
  MG_REPLY_NO_REVERSE_DNS,        /* 450 4.7.25 (R-1.7, RFC 7372) */
  MG_REPLY_SPF_FAIL,              /* 550 5.7.23 SPF check failed for <sender> (R-1.7, RFC 7372) */
  MG_REPLY_SPF_TEMPFAIL,          /* 451 4.7.24 SPF temporary error for <sender> */
  MG_REPLY_N_REPLIES
} MgReply;

/* Where the detail argument of mg_smtp_reply_append() goes. */
typedef enum
{
  MG_REPLY_DETAIL_NONE,     /* no detail; a given one is ignored */
  MG_REPLY_DETAIL_ADDRESS,  /* "<detail>: text" ("" gives "<>") */
  MG_REPLY_DETAIL_HOST,     /* "detail text" */
  MG_REPLY_DETAIL_SUFFIX,   /* "text detail" */
} MgReplyDetail;

typedef struct
{
  guint          code;      /* 214 .. 555 */
  const char    *status;    /* enhanced status "X.Y.Z" */
  const char    *text;
  MgReplyDetail  detail;
} MgReplyInfo;

const MgReplyInfo *mg_smtp_reply_get_info   (MgReply      reply);

/* Appends one reply line "DDD X.Y.Z text\r\n" to @out.  @detail (nullable)
 * is placed as the class says (an address, our host name, a queue id). */
void               mg_smtp_reply_append     (GString     *out,
                                             MgReply      reply,
                                             const char  *detail);

/* Same, and @extra (nullable) is appended after the text, after a space:
 * "550 5.7.1 <a@b>: Access denied (relay rule 2)". */
void               mg_smtp_reply_append_full (GString    *out,
                                              MgReply     reply,
                                              const char *detail,
                                              const char *extra);

/* A reply without enhanced status, one or more lines: "DDD-l1\r\n" ...
 * "DDD lN\r\n" (greeting, EHLO, HELO, 354). */
void               mg_smtp_reply_append_lines (GString            *out,
                                               guint               code,
                                               const char * const *lines,
                                               gsize               n_lines);

G_END_DECLS
