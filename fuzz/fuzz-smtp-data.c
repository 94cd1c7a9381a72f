/* fuzz-smtp-data.c - fuzz harness: the DATA framer (service/mg-smtp-data.h)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Input layout:
 *   byte 0      limits: bits 0-1 max_size {0, 64, 1000, 65536},
 *               bits 2-3 max_received {0, 1, 2, 20},
 *               bits 4-5 max_line_length {0, 16, 78, 998},
 *               bit 6 a Received: line is in the buffer before DATA
 *   byte 1      N = byte % 16: the number of chunk-size bytes that follow
 *   N bytes     chunk sizes (0..255, used in turn; 0 feeds an empty chunk)
 *   the rest    the bytes the client sends after "354"
 * (An input shorter than the header is fed whole with no limits.)
 *
 * The stream is fed in those chunks to one framer and whole to another.
 * Invariants:
 *  - the result never depends on the chunking (status, bytes consumed,
 *    output, error, size, Received: count, bare-newline flag);
 *  - the stored message never contains a bare CR or LF, and the bytes
 *    before it in the buffer are never touched;
 *  - consumed is exactly up to the first <CRLF>.<CRLF> (DATA starts at a
 *    line start), never past it; without one everything is consumed;
 *  - after the end, feeding consumes nothing;
 *  - without an error: the size and the limits hold, no NUL is stored, the
 *    Received: count matches the stored header section, and when the input
 *    had no bare CR/LF the output is exactly the input's lines with one
 *    leading dot removed from each (dot-unstuffing), CRLF kept.
 *
 * Threading: one thread; no state.
 */
#include "config.h"

#include <string.h>

#include "mg-fuzz.h"
#include "mg-smtp-data.h"

#define PREFIX "Received: from client.example by mx.test.example; (prefix)\r\n"

typedef struct
{
  gsize           max_size;
  guint           max_received;
  gsize           max_line_length;
  gboolean        prefix;
  const guint8   *sizes;
  gsize           n_sizes;
  const char     *stream;
  gsize           len;
} Input;

typedef struct
{
  MgSmtpDataStatus  status;
  gsize             consumed;
  GByteArray       *out;
} Run;

static void
parse_input (const guint8 *data,
             gsize         size,
             Input        *in)
{
  static const gsize max_sizes[] = { 0, 64, 1000, 65536 };
  static const guint max_received[] = { 0, 1, 2, 20 };
  static const gsize max_lines[] = { 0, 16, 78, 998 };
  gsize n;

  memset (in, 0, sizeof *in);
  if (size < 2)
    {
      in->stream = (const char *) data;
      in->len = size;
      return;
    }
  in->max_size = max_sizes[data[0] & 3];
  in->max_received = max_received[(data[0] >> 2) & 3];
  in->max_line_length = max_lines[(data[0] >> 4) & 3];
  in->prefix = (data[0] & 0x40) != 0;
  n = MIN ((gsize) (data[1] % 16), size - 2);
  in->sizes = data + 2;
  in->n_sizes = n;
  in->stream = (const char *) data + 2 + n;
  in->len = size - 2 - n;
}

static MgSmtpData *
new_framer (const Input *in,
            GByteArray  *out)
{
  if (in->prefix)
    g_byte_array_append (out, (const guint8 *) PREFIX, strlen (PREFIX));
  return mg_smtp_data_new (out, in->max_size, in->max_received, in->max_line_length);
}

/* The expected end: just after the first "\r\n.\r\n", where DATA itself
 * starts at a line start (as if preceded by CRLF).  G_MAXSIZE: none. */
static gsize
expected_end (const char *s,
              gsize       len)
{
  if (len >= 3 && memcmp (s, ".\r\n", 3) == 0)
    return 3;
  for (gsize i = 0; i + 5 <= len; i++)
    if (memcmp (s + i, "\r\n.\r\n", 5) == 0)
      return i + 5;
  return G_MAXSIZE;
}

static void
assert_no_bare_newline (const guint8 *out,
                        gsize         len)
{
  for (gsize i = 0; i < len; i++)
    {
      if (out[i] == '\r' && (i + 1 >= len || out[i + 1] != '\n'))
        g_error ("stored message has a bare CR at offset %" G_GSIZE_FORMAT, i);
      if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
        g_error ("stored message has a bare LF at offset %" G_GSIZE_FORMAT, i);
    }
}

static gboolean
has_bare_newline (const char *s,
                  gsize       len)
{
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
        return TRUE;
      if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
        return TRUE;
    }
  return FALSE;
}

/* The message a client meant by @s (CRLF lines, end marker excluded). */
static GByteArray *
unstuff (const char *s,
         gsize       len)
{
  GByteArray *out = g_byte_array_sized_new (len + 1);   /* data never NULL */
  gsize i = 0;

  while (i < len)
    {
      const char *lf = memchr (s + i, '\n', len - i);
      gsize line_end = lf != NULL ? (gsize) (lf - s) + 1 : len;

      if (s[i] == '.')
        i++;
      g_byte_array_append (out, (const guint8 *) s + i, line_end - i);
      i = line_end;
    }
  return out;
}

/* Checks the stored message against the limits it passed. */
static void
check_accepted (const Input  *in,
                MgSmtpData   *framer,
                const guint8 *msg,
                gsize         len)
{
  gsize line_length = 0;
  gboolean in_headers = TRUE;
  guint received = 0;

  g_assert_cmpuint (mg_smtp_data_get_size (framer), ==, len);
  if (in->max_size > 0)
    g_assert_cmpuint (len, <=, in->max_size);
  g_assert_null (memchr (msg, '\0', len));

  for (gsize i = 0; i < len; i++)
    {
      if (msg[i] != '\r' && msg[i] != '\n')
        {
          if (line_length == 0 && in_headers && len - i >= 9
              && g_ascii_strncasecmp ((const char *) msg + i, "received:", 9) == 0)
            received++;
          line_length++;
          if (in->max_line_length > 0)
            g_assert_cmpuint (line_length, <=, in->max_line_length);
          continue;
        }
      if (msg[i] == '\n')
        {
          if (line_length == 0)
            in_headers = FALSE;
          line_length = 0;
        }
    }
  g_assert_cmpuint (mg_smtp_data_get_received_count (framer), ==, received);
  if (in->max_received > 0)
    g_assert_cmpuint (received, <=, in->max_received);
}

/* Feeds the stream in the input's chunk sizes.  A run of empty chunks as
 * long as the size list (all sizes 0) feeds the rest at once. */
static void
run_chunked (const Input *in,
             Run         *run)
{
  g_autoptr(MgSmtpData) framer = NULL;
  gsize offset = 0;
  gsize k = 0;
  gsize empty_run = 0;

  run->out = g_byte_array_sized_new (256);   /* data never NULL */
  framer = new_framer (in, run->out);
  run->status = MG_SMTP_DATA_MORE;
  do
    {
      gsize chunk = in->len - offset;
      gsize consumed = G_MAXSIZE;

      if (in->n_sizes > 0 && empty_run < in->n_sizes)
        {
          gsize wanted = in->sizes[k++ % in->n_sizes];

          chunk = MIN (chunk, wanted);
        }
      empty_run = chunk == 0 ? empty_run + 1 : 0;

      run->status = mg_smtp_data_feed (framer, in->stream + offset, chunk, &consumed);
      g_assert_cmpuint (consumed, <=, chunk);
      offset += consumed;
      if (run->status == MG_SMTP_DATA_END)
        break;
      g_assert_cmpint (run->status, ==, MG_SMTP_DATA_MORE);
      g_assert_cmpuint (consumed, ==, chunk);
    }
  while (offset < in->len);
  run->consumed = offset;
}

int
mg_fuzz_smtp_data (const guint8 *data,
                   gsize         size)
{
  Input in;
  Run chunked = { 0 };
  g_autoptr(GByteArray) chunked_out = NULL;
  g_autoptr(GByteArray) whole_out = g_byte_array_sized_new (256);   /* data never NULL */
  g_autoptr(MgSmtpData) whole = NULL;
  g_autofree char *stream = NULL;
  MgSmtpDataStatus status;
  gsize consumed = G_MAXSIZE;
  gsize prefix_len;
  gsize end;

  parse_input (data, size, &in);
  stream = mg_fuzz_copy ((const guint8 *) in.stream, in.len);   /* exact size: overreads trap */
  in.stream = stream;
  prefix_len = in.prefix ? strlen (PREFIX) : 0;

  run_chunked (&in, &chunked);
  chunked_out = chunked.out;

  whole = new_framer (&in, whole_out);
  status = mg_smtp_data_feed (whole, in.stream, in.len, &consumed);

  /* chunking never changes anything */
  g_assert_cmpint (status, ==, chunked.status);
  g_assert_cmpuint (consumed, ==, chunked.consumed);
  g_assert_cmpmem (whole_out->data, whole_out->len, chunked.out->data, chunked.out->len);

  /* the caller's bytes are untouched; nothing bare is stored */
  g_assert_cmpuint (whole_out->len, >=, prefix_len);
  g_assert_cmpmem (whole_out->data, prefix_len, PREFIX, prefix_len);
  assert_no_bare_newline (whole_out->data + prefix_len, whole_out->len - prefix_len);

  /* only <CRLF>.<CRLF> ends DATA, and nothing past it is used */
  end = expected_end (in.stream, in.len);
  if (end == G_MAXSIZE)
    {
      g_assert_cmpint (status, ==, MG_SMTP_DATA_MORE);
      g_assert_cmpuint (consumed, ==, in.len);
      return 0;
    }
  g_assert_cmpint (status, ==, MG_SMTP_DATA_END);
  g_assert_cmpuint (consumed, ==, end);

  consumed = G_MAXSIZE;
  g_assert_cmpint (mg_smtp_data_feed (whole, "x", 1, &consumed), ==, MG_SMTP_DATA_END);
  g_assert_cmpuint (consumed, ==, 0);

  g_assert_true (mg_smtp_data_had_bare_newline (whole)
                 == has_bare_newline (in.stream, end));
  if (mg_smtp_data_get_error (whole) != MG_SMTP_DATA_OK)
    return 0;

  check_accepted (&in, whole, whole_out->data + prefix_len, whole_out->len - prefix_len);
  if (!has_bare_newline (in.stream, end))
    {
      g_autoptr(GByteArray) expected = unstuff (in.stream, end - 3);

      g_assert_cmpmem (whole_out->data + prefix_len, whole_out->len - prefix_len,
                       expected->data, expected->len);
    }
  return 0;
}

#ifdef MG_FUZZ_LIBFUZZER
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  mg_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        gsize         size)
{
  return mg_fuzz_smtp_data (data, size);
}
#endif
