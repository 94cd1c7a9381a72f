/* mg-smtp-data.c - DATA framing: end-of-data, dot-unstuffing, limits (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Two layers, both byte at a time so that the result never depends on how
 * the input was chunked (bulk_lines() and emit_run() are fast paths with
 * exactly the byte-wise outcome, checked by the chunking tests):
 *
 *  - framing (feed_byte): finds <CRLF>.<CRLF>, removes stuffing dots and
 *    turns every bare CR and bare LF into CRLF.  Only a real CRLF
 *    starts a line; a normalised newline does not, so "\n.\n" and friends
 *    can neither end DATA here nor be unstuffed.
 *  - accounting (emit_byte / emit_newline): sees the message as it will be
 *    stored, counts its size, line lengths, NULs and the Received: lines of
 *    the header section, and appends to the caller's buffer until
 *    the first error.
 *
 * The framer holds a reference to the output GByteArray.
 *
 * Threading: an MgSmtpData is used by one thread at a time.
 */
#include "config.h"

#include <string.h>

#include "mg-smtp-data.h"

#define RECEIVED_PREFIX      "received:"
#define RECEIVED_PREFIX_LEN  9

typedef enum
{
  STATE_LINE_START,     /* after a real CRLF, or at the start of DATA */
  STATE_DOT,            /* "." at a line start */
  STATE_DOT_CR,         /* ".\r" at a line start */
  STATE_TEXT,           /* inside a line */
  STATE_CR,             /* "\r" inside a line, LF not yet seen */
  STATE_DONE,           /* end marker consumed */
} State;

struct _MgSmtpData
{
  GByteArray      *out;
  gsize            max_size;
  guint            max_received;
  gsize            max_line_length;

  State            state;
  MgSmtpDataError  error;
  gsize            size;
  gsize            line_length;
  gboolean         in_headers;
  gint             prefix_matched;   /* bytes of "Received:" matched; -1 = no */
  guint            received_count;
  gboolean         had_bare_newline;
};

/**
 * mg_smtp_data_new:
 * @out: the buffer receiving the unstuffed message (a reference is taken)
 * @max_size: maximum message size in bytes, 0 = unlimited
 * @max_received: maximum Received: header lines, 0 = unlimited
 * @max_line_length: maximum line length without CRLF, 0 = unlimited
 *
 * Returns: (transfer full): a framer for one DATA phase
 */
MgSmtpData *
mg_smtp_data_new (GByteArray *out,
                  gsize       max_size,
                  guint       max_received,
                  gsize       max_line_length)
{
  MgSmtpData *self;

  g_return_val_if_fail (out != NULL, NULL);

  self = g_new0 (MgSmtpData, 1);
  self->out = g_byte_array_ref (out);
  self->max_size = max_size;
  self->max_received = max_received;
  self->max_line_length = max_line_length;
  self->state = STATE_LINE_START;
  self->error = MG_SMTP_DATA_OK;
  self->in_headers = TRUE;
  return self;
}

void
mg_smtp_data_free (MgSmtpData *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->out);
  g_free (self);
}

static void
set_error (MgSmtpData      *self,
           MgSmtpDataError  error)
{
  if (self->error == MG_SMTP_DATA_OK)
    self->error = error;        /* the first error wins */
}

/* Size is checked for every stored byte, CRLF included. */
static gboolean
count_byte (MgSmtpData *self)
{
  self->size++;
  if (self->max_size > 0 && self->size > self->max_size)
    set_error (self, MG_SMTP_DATA_ERROR_TOO_BIG);       /* */
  return self->error == MG_SMTP_DATA_OK;
}

/* "Received:" at the start of a header line (not a continuation,
 * which starts with white space) counts toward the loop limit. */
static void
match_received (MgSmtpData *self,
                guchar      c)
{
  if (!self->in_headers || self->prefix_matched < 0
      || self->prefix_matched >= RECEIVED_PREFIX_LEN)
    return;

  if (g_ascii_tolower (c) != RECEIVED_PREFIX[self->prefix_matched])
    {
      self->prefix_matched = -1;
      return;
    }

  self->prefix_matched++;
  if (self->prefix_matched == RECEIVED_PREFIX_LEN)
    {
      self->received_count++;
      if (self->max_received > 0 && self->received_count > self->max_received)
        set_error (self, MG_SMTP_DATA_ERROR_LOOP);
    }
}

/* One stored byte other than CR or LF. */
static void
emit_byte (MgSmtpData *self,
           guchar      c)
{
  if (c == '\0')
    set_error (self, MG_SMTP_DATA_ERROR_NUL);

  self->line_length++;
  if (self->max_line_length > 0 && self->line_length > self->max_line_length)
    set_error (self, MG_SMTP_DATA_ERROR_LINE_TOO_LONG);

  match_received (self, c);

  if (count_byte (self))
    g_byte_array_append (self->out, &c, 1);
}

/* The length of the run of ordinary bytes (not CR, LF or NUL) at @data. */
static gsize
plain_run (const char *data,
           gsize       len)
{
  gsize n = 0;

  while (n < len && data[n] != '\r' && data[n] != '\n' && data[n] != '\0')
    n++;
  return n;
}

/* The fast path for the middle of a line: @len ordinary bytes at once,
 * with exactly the outcome emit_byte() would have for each of them (the
 * first error wins; nothing after it is stored).  Only called where no
 * Received: prefix is being matched. */
static void
emit_run (MgSmtpData *self,
          const char *data,
          gsize       len)
{
  gsize store = self->error == MG_SMTP_DATA_OK ? len : 0;

  if (self->max_line_length > 0)
    {
      gsize room = self->max_line_length > self->line_length
                   ? self->max_line_length - self->line_length : 0;

      store = MIN (store, room);
    }
  if (self->max_size > 0)
    {
      gsize room = self->max_size > self->size ? self->max_size - self->size : 0;

      store = MIN (store, room);
    }

  if (store > 0)
    g_byte_array_append (self->out, (const guint8 *) data, store);
  if (store < len && self->error == MG_SMTP_DATA_OK)
    {
      /* the byte at @store broke a limit: the line limit is checked first */
      if (self->max_line_length > 0 && self->line_length + store + 1 > self->max_line_length)
        set_error (self, MG_SMTP_DATA_ERROR_LINE_TOO_LONG);
      else
        set_error (self, MG_SMTP_DATA_ERROR_TOO_BIG);
    }

  self->line_length += len;
  self->size += len;
  if (self->max_line_length > 0 && self->line_length > self->max_line_length)
    set_error (self, MG_SMTP_DATA_ERROR_LINE_TOO_LONG);
  if (self->max_size > 0 && self->size > self->max_size)
    set_error (self, MG_SMTP_DATA_ERROR_TOO_BIG);
}

/* A stored CRLF: ends the current line. */
static void
emit_newline (MgSmtpData *self)
{
  static const guint8 crlf[] = { '\r', '\n' };
  gboolean ok;

  if (self->in_headers && self->line_length == 0)
    self->in_headers = FALSE;           /* the empty line ends the header */
  self->line_length = 0;
  self->prefix_matched = 0;

  ok = count_byte (self);
  ok = count_byte (self) && ok;
  if (ok)
    g_byte_array_append (self->out, crlf, sizeof crlf);
}

/* a bare CR or LF is stored as CRLF and never starts a line. */
static void
emit_bare_newline (MgSmtpData *self)
{
  self->had_bare_newline = TRUE;
  emit_newline (self);
}

/* Framing.  Returns TRUE when @c completed the end marker. */
static gboolean
feed_byte (MgSmtpData *self,
           guchar      c)
{
  for (;;)
    {
      switch (self->state)
        {
        case STATE_LINE_START:
          if (c == '.')
            {
              self->state = STATE_DOT;
              return FALSE;
            }
          self->state = STATE_TEXT;
          continue;

        case STATE_DOT:
          if (c == '\r')
            {
              self->state = STATE_DOT_CR;
              return FALSE;
            }
          /* a stuffed dot: drop it, the byte belongs to the line */
          self->state = STATE_TEXT;
          continue;

        case STATE_DOT_CR:
          if (c == '\n')
            {
              self->state = STATE_DONE;   /* <CRLF>.<CRLF> */
              return TRUE;
            }
          /* ".\r" + something: the dot was stuffing, the CR is bare */
          emit_bare_newline (self);
          self->state = STATE_TEXT;
          continue;

        case STATE_TEXT:
          if (c == '\r')
            self->state = STATE_CR;
          else if (c == '\n')
            emit_bare_newline (self);
          else
            emit_byte (self, c);
          return FALSE;

        case STATE_CR:
          if (c == '\n')
            {
              emit_newline (self);
              self->state = STATE_LINE_START;
              return FALSE;
            }
          emit_bare_newline (self);
          self->state = STATE_TEXT;
          continue;

        case STATE_DONE:
        default:
          g_assert_not_reached ();
        }
    }
}

/* The fast path for the body: whole lines that end in CRLF and hold no
 * other CR, no LF and no NUL, none of them starting with a dot, within the
 * limits, are stored as they are in one append - exactly what feeding them
 * byte by byte would store and count.  Called only at a line start or at
 * the start of a chunk, so each line is scanned once.  Returns how many
 * bytes it took (0: none; the byte-wise path goes on). */
static gsize
bulk_lines (MgSmtpData *self,
            const char *data,
            gsize       len)
{
  const char *p = data;
  const char *end = data + len;
  gboolean line_start = self->state == STATE_LINE_START;
  gsize line_length = line_start ? 0 : self->line_length;
  gsize taken;

  if (self->in_headers || self->error != MG_SMTP_DATA_OK ||
      (self->state != STATE_LINE_START && self->state != STATE_TEXT))
    return 0;

  while (p < end)
    {
      const char *nl;
      gsize content;

      if (line_start && *p == '.')
        break;          /* stuffing or the end marker */
      nl = memchr (p, '\n', (gsize) (end - p));
      if (nl == NULL || nl == p || nl[-1] != '\r')
        break;          /* unfinished, or a bare LF */
      content = (gsize) (nl - 1 - p);
      if (memchr (p, '\r', content) != NULL || memchr (p, '\0', content) != NULL)
        break;
      if (self->max_line_length > 0 && line_length + content > self->max_line_length)
        break;
      p = nl + 1;
      line_length = 0;
      line_start = TRUE;
    }

  taken = (gsize) (p - data);
  if (taken == 0 || (self->max_size > 0 && self->size + taken > self->max_size))
    return 0;
  g_byte_array_append (self->out, (const guint8 *) data, (guint) taken);
  self->size += taken;
  self->line_length = 0;
  self->prefix_matched = 0;
  self->state = STATE_LINE_START;
  return taken;
}

/**
 * mg_smtp_data_feed:
 * @self: the framer
 * @data: bytes received after "354"
 * @len: the number of bytes in @data
 * @consumed: (out): how many bytes were used; on %MG_SMTP_DATA_END the
 *   bytes after the end marker are left for the caller (pipelining)
 *
 * Returns: %MG_SMTP_DATA_END once the end marker has been seen
 */
MgSmtpDataStatus
mg_smtp_data_feed (MgSmtpData *self,
                   const char *data,
                   gsize       len,
                   gsize      *consumed)
{
  gsize i;

  g_return_val_if_fail (self != NULL, MG_SMTP_DATA_END);
  g_return_val_if_fail (data != NULL || len == 0, MG_SMTP_DATA_END);
  g_return_val_if_fail (consumed != NULL, MG_SMTP_DATA_END);

  if (self->state == STATE_DONE)
    {
      *consumed = 0;
      return MG_SMTP_DATA_END;
    }

  for (i = 0; i < len; i++)
    {
      /* Most of a body is whole ordinary lines: take them in one go. */
      if (i == 0 || self->state == STATE_LINE_START)
        {
          gsize bulk = bulk_lines (self, data + i, len - i);

          if (bulk > 0)
            {
              i += bulk;
              if (i == len)
                break;
            }
        }
      /* Most bytes are in the middle of a line: take them in one go. */
      if (self->state == STATE_TEXT &&
          !(self->in_headers && self->prefix_matched >= 0 &&
            self->prefix_matched < RECEIVED_PREFIX_LEN))
        {
          gsize run = plain_run (data + i, len - i);

          if (run > 0)
            {
              emit_run (self, data + i, run);
              i += run;
              if (i == len)
                break;
            }
        }
      if (feed_byte (self, (guchar) data[i]))
        {
          *consumed = i + 1;
          return MG_SMTP_DATA_END;
        }
    }

  *consumed = len;
  return MG_SMTP_DATA_MORE;
}

MgSmtpDataError
mg_smtp_data_get_error (MgSmtpData *self)
{
  g_return_val_if_fail (self != NULL, MG_SMTP_DATA_OK);
  return self->error;
}

gsize
mg_smtp_data_get_size (MgSmtpData *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->size;
}

guint
mg_smtp_data_get_received_count (MgSmtpData *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->received_count;
}

gboolean
mg_smtp_data_had_bare_newline (MgSmtpData *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->had_bare_newline;
}
