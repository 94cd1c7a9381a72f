/* mg-trace.h - the live trace
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Lines look like the seed's debug mode:
 *   [S00000001] RECV <- [MAIL FROM:<a@example.org>]
 *   [S00000001] SEND -> [250 2.1.0 Ok]
 *   [S00000001] relay rule 1 (127.0.0.5 allow) matched client 127.0.0.5
 *   [B0000000097] route corp.example -> 127.0.0.1:20025
 * The tag is a session id ("S" + 8 digits) or a queue id.
 *
 * Cost: MG_TRACE() is one relaxed atomic load while nobody listens; the
 * arguments are not even evaluated.  Never translated.
 *
 * Threading: mg_trace() may be called from any thread.  Subscribers are
 * called in the GMainContext they registered with.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

extern gint mg_trace_listeners;

#define mg_trace_active() (g_atomic_int_get (&mg_trace_listeners) > 0)

#define MG_TRACE(tag, ...)                                 \
  G_STMT_START {                                           \
    if (G_UNLIKELY (mg_trace_active ()))                   \
      mg_trace ((tag), __VA_ARGS__);                       \
  } G_STMT_END

void  mg_trace            (const char *tag,
                           const char *format,
                           ...) G_GNUC_PRINTF (2, 3);

/* "RECV <- [line]" / "SEND -> [lines]": @data need not be NUL-terminated;
 * a trailing CRLF is dropped, inner CRLFs of multi-line replies become
 * "\n" + indentation. */
void  mg_trace_protocol   (const char *tag,
                           const char *direction,   /* "RECV <-" or "SEND ->" */
                           const char *data,
                           gsize       len);

typedef void (*MgTraceFunc) (const char *line,     /* one line, no newline */
                             gpointer    user_data);

/* A batch: every line that accumulated since the last call, in order. */
typedef void (*MgTraceBatchFunc) (const char * const *lines,
                                  guint               n_lines,
                                  gpointer            user_data);

/* Adds a subscriber; lines are delivered in @context (NULL: called directly
 * in the emitting thread, under a lock - for stdout in --debug).  Returns an
 * id for mg_trace_unsubscribe(). */
guint mg_trace_subscribe   (MgTraceFunc   func,
                            gpointer      user_data,
                            GMainContext *context);
/* Like mg_trace_subscribe(), but lines arrive in batches in @context
 * (which must not be NULL): the lines of about 20 ms per call. */
guint mg_trace_subscribe_batch (MgTraceBatchFunc  func,
                                gpointer          user_data,
                                GMainContext     *context);
void  mg_trace_unsubscribe (guint id);

G_END_DECLS
