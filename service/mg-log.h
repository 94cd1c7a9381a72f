/* mg-log.h - the operator's logs: accept, receive, sender, fail
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One line per event in STATE_DIR/log/{accept,receive,sender,fail}.log,
 * each file bounded in size (rotated to NAME.log.1 .. NAME.log.N), and the
 * same event to the journal (structured: MESSAGE, MG_LOG, MG_QUEUE_ID) when
 * the daemon runs under systemd (stderr is the journal).
 * Lines are protocol data for operators: never translated.
 *
 * Line format: "2026-11-27T21:30:00.123+00:00 KEY=VALUE KEY=VALUE ..."
 * with values that contain spaces or quotes written as "..." (C escapes).
 *
 * Threading: any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_LOG_ACCEPT,    /* connections: accepted, refused (accept limit), closed */
  MG_LOG_RECEIVE,   /* SMTP transactions: message queued / refused */
  MG_LOG_SENDER,    /* delivery attempts: sent, deferred */
  MG_LOG_FAIL,      /* permanent failures */
  MG_LOG_N_KINDS
} MgLogKind;

/* Opens (creating) STATE_DIR/log.  Without it, events go to the journal /
 * stderr only.  @max_bytes per file before rotation, @keep rotated files. */
gboolean mg_log_open   (const char  *state_dir,
                        gsize        max_bytes,
                        guint        keep,
                        GError     **error);
void     mg_log_close  (void);

/* @queue_id may be NULL.  Pairs of key, value (char*) end with NULL:
 *   mg_log_event (MG_LOG_SENDER, id, "to", rcpt, "relay", hop,
 *                 "status", "sent", "reply", reply, NULL); */
void     mg_log_event  (MgLogKind    kind,
                        const char  *queue_id,
                        ...) G_GNUC_NULL_TERMINATED;

const char *mg_log_kind_name (MgLogKind kind);   /* "accept", "receive", "sender", "fail" */
/* The inverse; FALSE for an unknown name. */
gboolean    mg_log_kind_from_name (const char *name,
                                   MgLogKind  *kind_out);

/* Reading back ("mailgatectl log"): lines without their "\n", oldest
 * first, from the files of @kind (MG_LOG_N_KINDS: every kind, merged by
 * time stamp).  @queue_id NULL: the last @max_lines lines (the current
 * and the last rotated file are read).  Otherwise every line about
 * @queue_id in the current and all rotated files (@max_lines 0: no
 * limit, else the last @max_lines of them).  Empty when the logs are not
 * open.  (transfer full) */
GPtrArray  *mg_log_read      (MgLogKind   kind,
                              const char *queue_id,
                              guint       max_lines);

/* The local time zone, read once per process: g_date_time_new_now_local()
 * and g_date_time_new_from_unix_local() read /etc/localtime again on every
 * call (GLib 2.74; ~10 syscalls).  Used for log lines, trace lines and the
 * Received: header.  (transfer none) */
GTimeZone  *mg_log_time_zone (void);

G_END_DECLS
