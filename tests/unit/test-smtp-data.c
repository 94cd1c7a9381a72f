/* test-smtp-data.c - tests for mg-smtp-data.c (DATA framing)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every sample is fed whole, byte by byte and split in two at every
 * offset; all feedings must agree on output, consumed bytes, status,
 * error, size, Received: count and the bare-newline flag.
 * only <CRLF>.<CRLF> ends DATA, bare CR/LF are normalised.
 * size, Received: loop count and line length limits.
 *
 * Threading: single-threaded test program.
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "mg-smtp-data.h"

typedef struct
{
  const char      *name;
  const char      *input;
  gsize            input_len;     /* 0 = strlen */
  gsize            max_size;
  guint            max_received;
  gsize            max_line_length;
  MgSmtpDataStatus status;
  gsize            consumed;      /* 0 = all of the input */
  MgSmtpDataError  error;
  const char      *output;        /* NULL: not checked (after an error) */
  gsize            size;          /* G_MAXSIZE: not checked */
  guint            received;
  gboolean         bare;
} Sample;

#define ALL 0
#define ANY_SIZE G_MAXSIZE

static const Sample samples[] = {
  /* basic framing */
  { "one-line", "a\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n", 3, 0, FALSE },
  { "empty", ".\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "", 0, 0, FALSE },
  { "empty-line-only", "\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "\r\n", 2, 0, FALSE },
  { "headers-body", "Subject: hi\r\n\r\nbody\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK,
    "Subject: hi\r\n\r\nbody\r\n", 21, 0, FALSE },
  { "pipelined-after-marker", "a\r\n.\r\nQUIT\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, 6, MG_SMTP_DATA_OK, "a\r\n", 3, 0, FALSE },
  { "pipelined-dot-lines", "a\r\n.\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, 6, MG_SMTP_DATA_OK, "a\r\n", 3, 0, FALSE },
  { "incomplete-dot", "a\r\n.", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a\r\n", 3, 0, FALSE },
  { "incomplete-dot-cr", "a\r\n.\r", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a\r\n", 3, 0, FALSE },
  { "incomplete-cr", "a\r", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a", 1, 0, FALSE },
  { "no-crlf-before-dot", "a.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a.\r\n", 4, 0, FALSE },
  { "dot-in-line", "a.b\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a.b\r\n", 5, 0, FALSE },

  /* dot-unstuffing */
  { "unstuff", "..dot\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, ".dot\r\n", 6, 0, FALSE },
  { "unstuff-mid", "a\r\n..\r\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\nb\r\n", 9, 0, FALSE },
  { "unstuff-single", "a\r\n.b\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\nb\r\n", 6, 0, FALSE },
  { "unstuff-triple", "...\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "..\r\n", 4, 0, FALSE },

  /* smuggling shapes are data, never an end; a real marker follows */
  { "lf-dot-lf", "a\n.\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\nb\r\n", 9, 0, TRUE },
  { "cr-dot-cr", "a\r.\rb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\nb\r\n", 9, 0, TRUE },
  { "lf-dot-crlf", "a\n.\r\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\nb\r\n", 9, 0, TRUE },
  { "crlf-dot-lf", "a\r\n.\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n\r\nb\r\n", 8, 0, TRUE },
  { "cr-dot-crlf", "a\r.\r\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\nb\r\n", 9, 0, TRUE },
  { "crlf-dot-cr", "a\r\n.\rb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n\r\nb\r\n", 8, 0, TRUE },
  { "start-dot-lf", ".\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "\r\nb\r\n", 5, 0, TRUE },
  { "start-dot-cr", ".\rb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "\r\nb\r\n", 5, 0, TRUE },
  { "start-lf-dot-lf", "\n.\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "\r\n.\r\nb\r\n", 8, 0, TRUE },
  { "start-cr-dot-cr", "\r.\rb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "\r\n.\r\nb\r\n", 8, 0, TRUE },
  { "lf-dot-lf-at-end", "a\n.\n", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\n", 6, 0, TRUE },
  { "cr-dot-cr-at-end", "a\r.\r", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a\r\n.", 4, 0, TRUE },
  { "lf-dot-crlf-at-end", "a\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, "a\r\n.\r\n", 6, 0, TRUE },
  /* no unstuffing after a normalised newline (it does not start a line) */
  { "lf-dotdot", "a\n..\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n..\r\nb\r\n", 10, 0, TRUE },
  { "crcr-lf", "a\r\r\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n\r\nb\r\n", 8, 0, TRUE },
  { "lf-lf", "a\n\nb\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n\r\nb\r\n", 8, 0, TRUE },
  /* a real CRLF after a bare CR does start a line */
  { "bare-cr-then-marker", "a\r\r\n.\r\n", 0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "a\r\n\r\n", 5, 0, TRUE },

  /* size limit counts stored bytes (after unstuffing) */
  { "size-exact", "0123456789\r\n..\r\n.\r\n", 0, 15, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "0123456789\r\n.\r\n", 15, 0, FALSE },
  { "size-plus-one", "0123456789\r\n..\r\n.\r\n", 0, 14, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_TOO_BIG, "0123456789\r\n.", 15, 0, FALSE },
  { "size-way-over", "0123456789\r\n0123456789\r\n.\r\nQUIT\r\n", 0, 5, 0, 0, MG_SMTP_DATA_END, 27, MG_SMTP_DATA_ERROR_TOO_BIG, "01234", 24, 0, FALSE },
  { "size-bare-lf", "ab\n.\r\n.\r\n", 0, 3, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_TOO_BIG, "ab", 7, 0, TRUE },

  /* Received: lines in the header section */
  { "received-exact",
    "Received: a\r\nreceived: b\r\n\tReceived: continued\r\n Received: cont\r\nRECEIVED:c\r\n"
    "X-Received: no\r\nReceived no\r\nSubject: s\r\n\r\nReceived: body\r\n.\r\n",
    0, 0, 3, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK,
    "Received: a\r\nreceived: b\r\n\tReceived: continued\r\n Received: cont\r\nRECEIVED:c\r\n"
    "X-Received: no\r\nReceived no\r\nSubject: s\r\n\r\nReceived: body\r\n", ANY_SIZE, 3, FALSE },
  { "received-plus-one",
    "Received: a\r\nReceived: b\r\nReceived: c\r\nReceived: d\r\n\r\nbody\r\n.\r\n",
    0, 0, 3, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_LOOP, NULL, ANY_SIZE, 4, FALSE },
  { "received-body-not-counted",
    "Received: a\r\n\r\nReceived: b\r\nReceived: c\r\n.\r\n",
    0, 0, 1, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK,
    "Received: a\r\n\r\nReceived: b\r\nReceived: c\r\n", ANY_SIZE, 1, FALSE },
  { "received-unlimited",
    "Received: a\r\nReceived: b\r\n.\r\n",
    0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "Received: a\r\nReceived: b\r\n", ANY_SIZE, 2, FALSE },
  { "received-stuffed-not-a-header",
    "..Received: a\r\n.\r\n",
    0, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, ".Received: a\r\n", ANY_SIZE, 0, FALSE },

  /* R-1.4: line length, CRLF excluded */
  { "line-exact", "abcd\r\nab\r\n.\r\n", 0, 0, 0, 4, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, "abcd\r\nab\r\n", 10, 0, FALSE },
  { "line-plus-one", "abcde\r\nab\r\n.\r\n", 0, 0, 0, 4, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_LINE_TOO_LONG, NULL, 11, 0, FALSE },
  { "line-stuffed-exact", "..bcd\r\n.\r\n", 0, 0, 0, 4, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_OK, ".bcd\r\n", 6, 0, FALSE },

  /* NUL bytes */
  { "nul", "a\0b\r\n.\r\n", 8, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_NUL, "a", 5, 0, FALSE },
  { "nul-at-start", "\0\r\n.\r\n", 6, 0, 0, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_NUL, "", 3, 0, FALSE },

  /* the first error wins */
  { "nul-then-long", "\0bcdefgh\r\n.\r\n", 13, 0, 0, 4, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_NUL, "", 10, 0, FALSE },
  { "long-then-nul", "abcde\0\r\n.\r\n", 11, 0, 0, 4, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_LINE_TOO_LONG, "abcd", 8, 0, FALSE },
  { "big-then-loop", "Received: a\r\nReceived: b\r\n\r\n.\r\n", 0, 3, 1, 0, MG_SMTP_DATA_END, ALL, MG_SMTP_DATA_ERROR_TOO_BIG, "Rec", 28, 2, FALSE },
};

typedef struct
{
  GByteArray       *out;
  MgSmtpDataStatus  status;
  gsize             consumed;
  MgSmtpDataError   error;
  gsize             size;
  guint             received;
  gboolean          bare;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->out, g_byte_array_unref);
}

/* Feeds @input in the chunks given by @cuts (ascending offsets, the last
 * one == @len) to a new framer. */
static void
run_chunks (const Sample *s,
            const char   *input,
            gsize         len,
            const gsize  *cuts,
            gsize         n_cuts,
            Result       *r)
{
  g_autoptr(MgSmtpData) data = NULL;
  gsize offset = 0;

  r->out = g_byte_array_new ();
  data = mg_smtp_data_new (r->out, s->max_size, s->max_received, s->max_line_length);
  r->status = MG_SMTP_DATA_MORE;
  r->consumed = 0;

  for (gsize i = 0; i < n_cuts && r->status == MG_SMTP_DATA_MORE; i++)
    {
      gsize used = G_MAXSIZE;

      r->status = mg_smtp_data_feed (data, input + offset, cuts[i] - offset, &used);
      g_assert_cmpuint (used, <=, cuts[i] - offset);
      if (r->status == MG_SMTP_DATA_MORE)
        g_assert_cmpuint (used, ==, cuts[i] - offset);
      r->consumed += used;
      offset = cuts[i];
    }

  if (r->status == MG_SMTP_DATA_END)
    {
      gsize used = 99;

      /* after the end, nothing more is taken */
      g_assert_cmpint (mg_smtp_data_feed (data, "x\r\n", 3, &used), ==, MG_SMTP_DATA_END);
      g_assert_cmpuint (used, ==, 0);
    }

  r->error = mg_smtp_data_get_error (data);
  r->size = mg_smtp_data_get_size (data);
  r->received = mg_smtp_data_get_received_count (data);
  r->bare = mg_smtp_data_had_bare_newline (data);
}

static void
assert_same (const Result *a,
             const Result *b)
{
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpuint (a->consumed, ==, b->consumed);
  g_assert_cmpint (a->error, ==, b->error);
  g_assert_cmpuint (a->size, ==, b->size);
  g_assert_cmpuint (a->received, ==, b->received);
  g_assert_cmpint (a->bare, ==, b->bare);
  g_assert_cmpmem (a->out->data, a->out->len, b->out->data, b->out->len);
}

/* the stored message never holds a bare CR or a bare LF */
static void
assert_crlf_clean (const GByteArray *out)
{
  for (guint i = 0; i < out->len; i++)
    {
      if (out->data[i] == '\r' && i + 1 < out->len)
        g_assert_cmpint (out->data[i + 1], ==, '\n');
      if (out->data[i] == '\n')
        {
          g_assert_cmpuint (i, >, 0);
          g_assert_cmpint (out->data[i - 1], ==, '\r');
        }
    }
}

static void
check_sample (const Sample *s)
{
  gsize len = s->input_len != 0 ? s->input_len : strlen (s->input);
  Result whole = { 0 };
  Result bytes = { 0 };
  g_autofree gsize *cuts = g_new (gsize, len + 1);

  g_test_message ("sample %s", s->name);

  /* whole */
  run_chunks (s, s->input, len, &len, 1, &whole);
  g_assert_cmpint (whole.status, ==, s->status);
  g_assert_cmpuint (whole.consumed, ==, s->consumed == ALL ? len : s->consumed);
  g_assert_cmpint (whole.error, ==, s->error);
  if (s->output != NULL)
    g_assert_cmpmem (whole.out->data, whole.out->len, s->output, strlen (s->output));
  if (s->size != ANY_SIZE)
    g_assert_cmpuint (whole.size, ==, s->size);
  else if (s->output != NULL)
    g_assert_cmpuint (whole.size, ==, strlen (s->output));
  g_assert_cmpuint (whole.received, ==, s->received);
  g_assert_cmpint (whole.bare, ==, s->bare);
  if (s->max_size > 0)
    g_assert_cmpuint (whole.out->len, <=, s->max_size);
  assert_crlf_clean (whole.out);

  /* byte by byte */
  for (gsize i = 0; i < len; i++)
    cuts[i] = i + 1;
  run_chunks (s, s->input, len, cuts, len, &bytes);
  assert_same (&whole, &bytes);
  result_clear (&bytes);

  /* two chunks, split at every offset (including empty chunks) */
  for (gsize k = 0; k <= len; k++)
    {
      Result split = { 0 };
      gsize two[2] = { k, len };

      run_chunks (s, s->input, len, two, 2, &split);
      assert_same (&whole, &split);
      result_clear (&split);
    }

  result_clear (&whole);
}

static void
test_samples (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (samples); i++)
    check_sample (&samples[i]);
}

/* each smuggling shape after a first line, then a real end; also
 * with the shape repeated, in both orders, to show no state leaks. */
static void
test_smuggling_never_ends (void)
{
  static const char *shapes[] = {
    "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (shapes); j++)
      {
        g_autofree char *input = g_strconcat ("x", shapes[i], "y", shapes[j], "z\r\n.\r\nNEXT", NULL);
        Sample s = { "smuggle", input, 0, 0, 0, 0, MG_SMTP_DATA_END,
                     strlen (input) - 4, MG_SMTP_DATA_OK, NULL, ANY_SIZE, 0, TRUE };

        check_sample (&s);
      }
}

/* The caller's own Received: header already in the buffer is kept and
 * does not count toward the size. */
static void
test_prefilled_buffer (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(MgSmtpData) data = NULL;
  const char *ours = "Received: from us\r\n";
  const char *input = "abc\r\n.\r\n";
  gsize used = 0;

  g_byte_array_append (out, (const guint8 *) ours, strlen (ours));
  data = mg_smtp_data_new (out, 5, 0, 0);
  g_assert_cmpint (mg_smtp_data_feed (data, input, strlen (input), &used), ==, MG_SMTP_DATA_END);
  g_assert_cmpuint (used, ==, strlen (input));
  g_assert_cmpint (mg_smtp_data_get_error (data), ==, MG_SMTP_DATA_OK);
  g_assert_cmpuint (mg_smtp_data_get_size (data), ==, 5);
  g_assert_cmpuint (mg_smtp_data_get_received_count (data), ==, 0);
  g_assert_cmpmem (out->data, out->len, "Received: from us\r\nabc\r\n", 24);
}

/* A large random message: stuff it ourselves, feed it in random chunk
 * sizes, and get the original back. */
static void
test_random_round_trip (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20260501);
  g_autoptr(GByteArray) original = g_byte_array_new ();
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(MgSmtpData) data = NULL;
  MgSmtpDataStatus status = MG_SMTP_DATA_MORE;
  gsize offset = 0;
  gsize total = 0;
  guint dot_lines = 0;

  while (original->len < 1024 * 1024)
    {
      guint line_len = (guint) g_rand_int_range (rand, 0, 300);
      gboolean dotted = g_rand_int_range (rand, 0, 5) == 0;
      guint8 line[304];
      guint n = 0;

      if (dotted)
        {
          line[n++] = '.';
          dot_lines++;
        }
      while (n < line_len)
        {
          guint8 c = (guint8) g_rand_int_range (rand, 1, 256);

          if (c != '\r' && c != '\n')
            line[n++] = c;
        }
      line[n++] = '\r';
      line[n++] = '\n';
      g_byte_array_append (original, line, n);
      if (line[0] == '.')
        g_byte_array_append (wire, (const guint8 *) ".", 1);
      g_byte_array_append (wire, line, n);
    }
  g_byte_array_append (wire, (const guint8 *) ".\r\nQUIT\r\n", 9);
  g_assert_cmpuint (dot_lines, >, 100);

  data = mg_smtp_data_new (out, 0, 0, 0);
  while (status == MG_SMTP_DATA_MORE && offset < wire->len)
    {
      gsize chunk = MIN ((gsize) g_rand_int_range (rand, 1, 8193), wire->len - offset);
      gsize used = 0;

      status = mg_smtp_data_feed (data, (const char *) wire->data + offset, chunk, &used);
      offset += chunk;
      total += used;
    }

  g_assert_cmpint (status, ==, MG_SMTP_DATA_END);
  g_assert_cmpuint (total, ==, wire->len - 6);
  g_assert_cmpint (mg_smtp_data_get_error (data), ==, MG_SMTP_DATA_OK);
  g_assert_false (mg_smtp_data_had_bare_newline (data));
  g_assert_cmpuint (mg_smtp_data_get_size (data), ==, original->len);
  g_assert_cmpmem (out->data, out->len, original->data, original->len);
}

/* random bytes (with many CR, LF and dots) give a clean result
 * whatever the chunking. */
static void
test_random_noise (void)
{
  static const char alphabet[] = "\r\n.\r\n.a";
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint round = 0; round < 300; round++)
    {
      gsize len = (gsize) g_rand_int_range (rand, 1, 40);
      g_autofree char *input = g_malloc (len + 1);
      Sample s = { "noise", NULL, 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, NULL, ANY_SIZE, 0, FALSE };
      Result whole = { 0 };
      Result bytes = { 0 };
      g_autofree gsize *cuts = g_new (gsize, len);

      for (gsize i = 0; i < len; i++)
        input[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      input[len] = '\0';
      s.input = input;

      run_chunks (&s, input, len, &len, 1, &whole);
      assert_crlf_clean (whole.out);
      /* oracle: DATA ends exactly after ".\r\n" at the start or after the
       * first "\r\n.\r\n" in the input, whatever else surrounds it */
      {
        const char *marker = g_strstr_len (input, len, "\r\n.\r\n");

        if (g_str_has_prefix (input, ".\r\n"))
          {
            g_assert_cmpint (whole.status, ==, MG_SMTP_DATA_END);
            g_assert_cmpuint (whole.consumed, ==, 3);
          }
        else if (marker != NULL)
          {
            g_assert_cmpint (whole.status, ==, MG_SMTP_DATA_END);
            g_assert_cmpuint (whole.consumed, ==, (gsize) (marker - input) + 5);
          }
        else
          {
            g_assert_cmpint (whole.status, ==, MG_SMTP_DATA_MORE);
            g_assert_cmpuint (whole.consumed, ==, len);
          }
      }
      for (gsize i = 0; i < len; i++)
        cuts[i] = i + 1;
      run_chunks (&s, input, len, cuts, len, &bytes);
      assert_same (&whole, &bytes);
      result_clear (&whole);
      result_clear (&bytes);
    }
}

/* Bodies of many lines (the bulk path takes whole ordinary lines at once):
 * fed whole, byte by byte and in random chunks, with and without limits,
 * the outcome is the same, and a plain body comes out unchanged. */
static void
test_bulk_lines_like_bytes (void)
{
  static const char *const odd[] = { ".", "..", "\r", "\n", "\0", "\r\r", "x\n", "." };
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  for (guint round = 0; round < 400; round++)
    {
      g_autoptr(GString) input = g_string_new ("Subject: bulk\r\n\r\n");
      guint n_lines = (guint) g_rand_int_range (rand, 1, 60);
      gboolean plain = round % 4 == 0;
      Sample s = { "bulk", NULL, 0, 0, 0, 0, MG_SMTP_DATA_MORE, ALL, MG_SMTP_DATA_OK, NULL, ANY_SIZE, 0, FALSE };
      Result whole = { 0 };
      Result bytes = { 0 };
      Result chunks = { 0 };
      g_autofree gsize *cuts = NULL;
      gsize n_cuts = 0;
      gsize len;

      for (guint i = 0; i < n_lines; i++)
        {
          guint width = (guint) g_rand_int_range (rand, 0, 120);

          if (!plain && g_rand_int_range (rand, 0, 6) == 0)
            {
              const char *piece = odd[g_rand_int_range (rand, 0, G_N_ELEMENTS (odd))];

              g_string_append_len (input, piece, *piece == '\0' ? 1 : (gssize) strlen (piece));
            }
          for (guint j = 0; j < width; j++)
            g_string_append_c (input, (char) ('a' + g_rand_int_range (rand, 0, 26)));
          g_string_append (input, "\r\n");
        }
      if (g_rand_boolean (rand))
        g_string_append (input, ".\r\nQUIT\r\n");
      len = input->len;
      s.input = input->str;
      s.input_len = len;
      if (!plain && g_rand_boolean (rand))
        s.max_line_length = (gsize) g_rand_int_range (rand, 40, 130);
      if (!plain && g_rand_boolean (rand))
        s.max_size = (gsize) g_rand_int_range (rand, 20, (gint32) len + 20);

      run_chunks (&s, input->str, len, &len, 1, &whole);

      cuts = g_new (gsize, len);
      for (gsize i = 0; i < len; i++)
        cuts[i] = i + 1;
      run_chunks (&s, input->str, len, cuts, len, &bytes);
      assert_same (&whole, &bytes);

      for (gsize at = 0; at < len; )
        {
          gsize step = (gsize) g_rand_int_range (rand, 1, 200);

          at = MIN (len, at + step);
          cuts[n_cuts++] = at;
        }
      run_chunks (&s, input->str, len, cuts, n_cuts, &chunks);
      assert_same (&whole, &chunks);

      if (plain && whole.status == MG_SMTP_DATA_END)
        {
          gsize body_len = (gsize) (strstr (input->str, "\r\n.\r\n") - input->str) + 2;

          g_assert_cmpint (whole.error, ==, MG_SMTP_DATA_OK);
          g_assert_cmpmem (whole.out->data, whole.out->len, input->str, body_len);
        }
      result_clear (&whole);
      result_clear (&bytes);
      result_clear (&chunks);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp/data/samples", test_samples);
  g_test_add_func ("/smtp/data/smuggling-never-ends", test_smuggling_never_ends);
  g_test_add_func ("/smtp/data/prefilled-buffer", test_prefilled_buffer);
  g_test_add_func ("/smtp/data/random-round-trip", test_random_round_trip);
  g_test_add_func ("/smtp/data/random-noise", test_random_noise);
  g_test_add_func ("/smtp/data/bulk-lines-like-bytes", test_bulk_lines_like_bytes);

  return g_test_run ();
}
