/* mg-dsn.h - RFC 3464 delivery status notifications (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * the failure report (and the optional delay warning) sent to the
 * envelope sender: a multipart/report with a human part (English or
 * Japanese, delivery.report_language), the message/delivery-status part
 * (one block per recipient) and the original message's header section
 * (text/rfc822-headers).  The caller sends it from the null sender, so a
 * report is never reported on (no loops), and never builds one for a
 * message whose sender was null.
 *
 * Threading: pure functions, any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_DSN_FAILURE,   /* Action: failed */
  MG_DSN_DELAY,     /* Action: delayed (a warning: retries go on) */
} MgDsnKind;

typedef struct
{
  MgDsnKind    kind;
  const char  *reporting_mta;  /* our host name */
  const char  *language;       /* "en" or "ja" (anything else: "en") */
  const char  *queue_id;       /* of the original message */
  const char  *sender;         /* the original envelope sender: the report's To: */
  gint64       arrival;        /* g_get_real_time () of the original's arrival */
  gint64       now;            /* g_get_real_time () */
  GBytes      *original;       /* nullable: the stored original (its headers are attached) */
} MgDsnInfo;

/* @rcpts and @replies: the same length, NULL-terminated; @replies holds
 * the reply or reason for each recipient.  Returns (transfer full) the
 * report as CRLF lines, ready to queue. */
GBytes *mg_dsn_build              (const MgDsnInfo     *info,
                                   const char * const  *rcpts,
                                   const char * const  *replies);

/* "550 5.1.1 no such user" -> "5.1.1"; without an enhanced code the class
 * of the basic code ("5.0.0" / "4.0.0"); otherwise by @kind.
 * (transfer full). */
char   *mg_dsn_status_from_reply  (const char          *reply,
                                   MgDsnKind            kind);

/* "Fri, 27 Nov 2026 21:50:00 +0000" (C locale, UTC).  (transfer full). */
char   *mg_dsn_format_date        (gint64               usec);

G_END_DECLS
