/* mg-smtp-data.h - DATA framing: end-of-data, dot-unstuffing, limits (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A small byte-level state machine fed arbitrary chunks after "354".
 * only <CRLF>.<CRLF> ends DATA.  A bare LF or bare CR never ends DATA
 * and never survives: each is normalised to CRLF in the stored body, so what
 * we forward has no bare CR or LF (the server behind us may be lenient).
 * Lines starting with '.' after a CRLF are dot-unstuffed.
 * The header section's "Received:" lines are counted (loop limit, R-1.4).
 * When a limit is exceeded, the framer keeps consuming (and discarding)
 * until the end marker, then reports END with an error, so the caller can
 * answer once, after the final dot.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_SMTP_DATA_MORE,       /* all bytes consumed, need more */
  MG_SMTP_DATA_END,        /* end marker seen; see mg_smtp_data_get_error() */
} MgSmtpDataStatus;

typedef enum
{
  MG_SMTP_DATA_OK,
  MG_SMTP_DATA_ERROR_TOO_BIG,        /* > max_size bytes: 552 5.3.4 */
  MG_SMTP_DATA_ERROR_LOOP,           /* > max_received Received: headers: 554 5.4.6 */
  MG_SMTP_DATA_ERROR_LINE_TOO_LONG,  /* a line > max_line_length: 554 5.6.0 */
  MG_SMTP_DATA_ERROR_NUL,            /* a NUL byte: 554 5.6.0 */
} MgSmtpDataError;

typedef struct _MgSmtpData MgSmtpData;

/* @out receives the unstuffed message (the caller may have put a Received:
 * header in it already; those bytes do not count toward @max_size).
 * @max_size, @max_line_length: 0 = unlimited.  @max_received: 0 = unlimited.
 * The framer keeps a reference to @out. */
MgSmtpData       *mg_smtp_data_new        (GByteArray  *out,
                                           gsize        max_size,
                                           guint        max_received,
                                           gsize        max_line_length);
void              mg_smtp_data_free       (MgSmtpData  *self);

/* Consumes bytes up to and including the end marker (never past it).
 * *@consumed is set to the number of bytes used. */
MgSmtpDataStatus  mg_smtp_data_feed       (MgSmtpData  *self,
                                           const char  *data,
                                           gsize        len,
                                           gsize       *consumed);

MgSmtpDataError   mg_smtp_data_get_error  (MgSmtpData  *self);
gsize             mg_smtp_data_get_size   (MgSmtpData  *self);  /* data bytes seen (incl. discarded) */
guint             mg_smtp_data_get_received_count (MgSmtpData *self);
gboolean          mg_smtp_data_had_bare_newline   (MgSmtpData *self); /* for the trace */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgSmtpData, mg_smtp_data_free)

G_END_DECLS
