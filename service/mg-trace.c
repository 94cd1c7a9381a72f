/* mg-trace.c - the live trace bus
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Lines are formatted only while at least one subscriber exists
 * (mg_trace_listeners > 0, checked by MG_TRACE before any argument is
 * evaluated).  Subscribers with a GMainContext receive lines in batches: an
 * emitting thread appends to the subscriber's pending array under the bus
 * lock and schedules one short timeout in that context when the array was
 * empty, so a busy trace costs one allocation per line, not one source per
 * line, and leaves in batches of hundreds of lines.  A
 * subscriber that falls behind by more than MAX_PENDING lines loses lines,
 * and is told how many, so memory stays bounded.
 *
 * Threading: mg_trace*() from any thread; subscribe/unsubscribe from any
 * thread; callbacks run in the subscriber's context.
 */
#include "config.h"

#include <string.h>

#include "mg-log.h"
#include "mg-trace.h"

#define MAX_PENDING 20000
#define BATCH_WAIT_MS 20   /* lines wait at most this long to be sent together */

gint mg_trace_listeners = 0;

typedef struct
{
  gatomicrefcount  ref_count;
  guint            id;
  MgTraceFunc      func;           /* one of func / batch_func */
  MgTraceBatchFunc batch_func;
  gpointer         user_data;
  GMainContext    *context;      /* NULL: called directly under the lock */
  GPtrArray       *pending;      /* char*, guarded by bus_lock */
  guint            dropped;      /* guarded by bus_lock */
  gboolean         scheduled;    /* guarded by bus_lock */
  gboolean         active;       /* guarded by bus_lock */
} Subscriber;

static GMutex bus_lock;
static GPtrArray *subscribers;   /* Subscriber*, guarded by bus_lock */
static guint next_id = 1;

static Subscriber *
subscriber_ref (Subscriber *sub)
{
  g_atomic_ref_count_inc (&sub->ref_count);
  return sub;
}

static void
subscriber_unref (Subscriber *sub)
{
  if (!g_atomic_ref_count_dec (&sub->ref_count))
    return;
  g_clear_pointer (&sub->pending, g_ptr_array_unref);
  g_clear_pointer (&sub->context, g_main_context_unref);
  g_free (sub);
}

static gboolean
deliver_pending_cb (gpointer user_data)
{
  Subscriber *sub = user_data;
  g_autoptr(GPtrArray) lines = NULL;
  guint dropped;
  gboolean active;

  g_mutex_lock (&bus_lock);
  lines = g_steal_pointer (&sub->pending);
  sub->pending = g_ptr_array_new_with_free_func (g_free);
  dropped = sub->dropped;
  sub->dropped = 0;
  sub->scheduled = FALSE;
  active = sub->active;
  g_mutex_unlock (&bus_lock);

  if (!active)
    return G_SOURCE_REMOVE;

  if (dropped > 0)
    g_ptr_array_insert (lines, 0, g_strdup_printf ("[trace] %u lines dropped: subscriber too slow", dropped));

  if (sub->batch_func != NULL)
    {
      sub->batch_func ((const char * const *) lines->pdata, lines->len, sub->user_data);
      return G_SOURCE_REMOVE;
    }
  for (guint i = 0; i < lines->len; i++)
    sub->func (g_ptr_array_index (lines, i), sub->user_data);

  return G_SOURCE_REMOVE;
}

/* Called with bus_lock held. */
static void
post_line (Subscriber *sub,
           const char *line)
{
  if (sub->context == NULL)
    {
      sub->func (line, sub->user_data);
      return;
    }

  if (sub->pending->len >= MAX_PENDING)
    {
      sub->dropped++;
      return;
    }
  g_ptr_array_add (sub->pending, g_strdup (line));
  if (!sub->scheduled)
    {
      /* not an idle: a short wait gathers a busy trace into few, large
       * batches (one D-Bus signal each; bench/: an idle per main-loop
       * iteration sent ~10 lines per signal and cost 35 % of throughput) */
      g_autoptr(GSource) source = g_timeout_source_new (BATCH_WAIT_MS);

      sub->scheduled = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, deliver_pending_cb, subscriber_ref (sub),
                             (GDestroyNotify) subscriber_unref);
      g_source_set_static_name (source, "[mailgate] trace delivery");
      g_source_attach (source, sub->context);
    }
}

static void
emit_line (const char *line)
{
  g_mutex_lock (&bus_lock);
  if (subscribers != NULL)
    for (guint i = 0; i < subscribers->len; i++)
      post_line (g_ptr_array_index (subscribers, i), line);
  g_mutex_unlock (&bus_lock);
}

/* "HH:MM:SS.mmm [tag] ".  The clock part is made with GDateTime once per
 * second per thread and kept: a GDateTime per line was a tenth of the
 * receiver thread's time with a trace subscriber (bench/). */
static void
append_prefix (GString    *line,
               const char *tag)
{
  static _Thread_local gint64 cached_second = -1;
  static _Thread_local char cached[16];
  gint64 now = g_get_real_time ();
  gint64 second = now / G_USEC_PER_SEC;
  guint ms = (guint) (now % G_USEC_PER_SEC / 1000);
  char frac[6];

  if (second != cached_second)
    {
      g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (second);
      g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_timezone (utc, mg_log_time_zone ())
                                               : NULL;

      if (local == NULL)
        return;
      g_snprintf (cached, sizeof cached, "%02d:%02d:%02d",
                  g_date_time_get_hour (local),
                  g_date_time_get_minute (local),
                  g_date_time_get_second (local));
      cached_second = second;
    }
  frac[0] = '.';
  frac[1] = (char) ('0' + ms / 100);
  frac[2] = (char) ('0' + ms / 10 % 10);
  frac[3] = (char) ('0' + ms % 10);
  frac[4] = ' ';
  frac[5] = '\0';
  g_string_append (line, cached);
  g_string_append_len (line, frac, 5);
  if (tag != NULL && *tag != '\0')
    {
      g_string_append_c (line, '[');
      g_string_append (line, tag);
      g_string_append_len (line, "] ", 2);
    }
}

/* Printable form of one protocol line: control bytes and bytes that are not
 * UTF-8 become \xNN so the trace never carries raw CR/LF/NUL. */
static void
append_escaped (GString    *out,
                const char *data,
                gsize       len)
{
  const char *p = data;
  const char *end = data + len;

  while (p < end)
    {
      const char *run = p;
      const char *next;
      gunichar c;

      /* printable ASCII, the usual case, is copied in runs */
      while (p < end && (guchar) *p >= 0x20 && (guchar) *p < 0x7f)
        p++;
      if (p > run)
        g_string_append_len (out, run, p - run);
      if (p == end)
        break;

      c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2 || c < 0x20 || c == 0x7f)
        {
          g_string_append_printf (out, "\\x%02X", (guchar) *p);
          p++;
          continue;
        }
      next = g_utf8_next_char (p);
      g_string_append_len (out, p, next - p);
      p = next;
    }
}

void
mg_trace (const char *tag,
          const char *format,
          ...)
{
  g_autoptr(GString) line = g_string_sized_new (128);
  g_autofree char *message = NULL;
  va_list args;

  if (!mg_trace_active ())
    return;

  append_prefix (line, tag);
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* Arguments may come from the client (an AUTH login name, an EHLO
   * name): a CR/LF must not forge a trace line, and a D-Bus string must be
   * UTF-8 (found by fuzzing, fuzz/README.md F4). */
  append_escaped (line, message, strlen (message));
  emit_line (line->str);
}

void
mg_trace_protocol (const char *tag,
                   const char *direction,
                   const char *data,
                   gsize       len)
{
  const char *p = data;
  const char *end = data + len;

  if (!mg_trace_active ())
    return;

  while (p < end)
    {
      g_autoptr(GString) line = g_string_sized_new (128);
      const char *eol = memchr (p, '\n', end - p);
      const char *stop = eol != NULL ? eol : end;
      const char *content_end = stop;

      if (content_end > p && content_end[-1] == '\r' && eol != NULL)
        content_end--;

      append_prefix (line, tag);
      g_string_append (line, direction);
      g_string_append (line, " [");
      append_escaped (line, p, content_end - p);
      g_string_append_c (line, ']');
      emit_line (line->str);

      p = eol != NULL ? eol + 1 : end;
    }
}

static guint
add_subscriber (MgTraceFunc       func,
                MgTraceBatchFunc  batch_func,
                gpointer          user_data,
                GMainContext     *context)
{
  Subscriber *sub;
  guint id;

  sub = g_new0 (Subscriber, 1);
  g_atomic_ref_count_init (&sub->ref_count);
  sub->func = func;
  sub->batch_func = batch_func;
  sub->user_data = user_data;
  sub->context = context != NULL ? g_main_context_ref (context) : NULL;
  sub->pending = g_ptr_array_new_with_free_func (g_free);
  sub->active = TRUE;

  g_mutex_lock (&bus_lock);
  if (subscribers == NULL)
    subscribers = g_ptr_array_new_with_free_func ((GDestroyNotify) subscriber_unref);
  id = sub->id = next_id++;
  g_ptr_array_add (subscribers, sub);
  g_atomic_int_inc (&mg_trace_listeners);
  g_mutex_unlock (&bus_lock);

  return id;
}

guint
mg_trace_subscribe (MgTraceFunc   func,
                    gpointer      user_data,
                    GMainContext *context)
{
  g_return_val_if_fail (func != NULL, 0);
  return add_subscriber (func, NULL, user_data, context);
}

guint
mg_trace_subscribe_batch (MgTraceBatchFunc  func,
                          gpointer          user_data,
                          GMainContext     *context)
{
  g_return_val_if_fail (func != NULL, 0);
  g_return_val_if_fail (context != NULL, 0);
  return add_subscriber (NULL, func, user_data, context);
}

void
mg_trace_unsubscribe (guint id)
{
  g_mutex_lock (&bus_lock);
  for (guint i = 0; subscribers != NULL && i < subscribers->len; i++)
    {
      Subscriber *sub = g_ptr_array_index (subscribers, i);

      if (sub->id != id)
        continue;
      sub->active = FALSE;
      g_ptr_array_remove_index (subscribers, i);
      g_atomic_int_dec_and_test (&mg_trace_listeners);
      break;
    }
  g_mutex_unlock (&bus_lock);
}
