/* mg-dsn.c - RFC 3464 delivery status notifications (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Builds the whole report message: header, human part, delivery-status
 * part, original headers (RFC 3462 multipart/report, RFC 3464 fields,
 * RFC 6522 text/rfc822-headers).  The human part's language is data (the
 * setting delivery.report_language), not the daemon's locale: the daemon
 * is language-neutral, so the texts live in the table below instead of a
 * gettext catalogue.
 *
 * Threading: pure functions, any thread.
 */
#include "config.h"

#include <string.h>

#include "mg-dsn.h"

typedef struct
{
  const char *subject_failure;
  const char *subject_delay;
  const char *intro;          /* then the reporting MTA, then intro_end */
  const char *intro_end;
  const char *failure;
  const char *delay;
  const char *attached;
} DsnTexts;

static const DsnTexts texts_en = {
  "Undelivered Mail Returned to Sender",
  "Delayed Mail (still being retried)",
  "This is the mail system at host ",
  ".\r\n\r\n",
  "I'm sorry to have to inform you that your message could not be\r\n"
  "delivered to one or more recipients.  No further attempts will be made.\r\n",
  "####### THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #######\r\n\r\n"
  "Your message could not be delivered to one or more recipients yet.\r\n"
  "Delivery will be tried again.\r\n",
  "The headers of your message are attached.\r\n",
};

static const DsnTexts texts_ja = {
  "配送不能のお知らせ",
  "配送遅延のお知らせ (再送を続けています)",
  "このメールは ",
  " のメールシステムが自動送信しています。\r\n\r\n",
  "お送りいただいたメッセージは、次の宛先に配送できませんでした。\r\n"
  "これ以上の配送は行いません。\r\n",
  "####### これは警告です。メッセージを送り直す必要はありません。 #######\r\n\r\n"
  "お送りいただいたメッセージは、次の宛先にまだ配送できていません。\r\n"
  "配送は引き続き試みます。\r\n",
  "お送りいただいたメッセージのヘッダーを添付します。\r\n",
};

char *
mg_dsn_format_date (gint64 usec)
{
  static const char * const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char * const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return g_strdup_printf ("%s, %02d %s %04d %02d:%02d:%02d +0000",
                          days[g_date_time_get_day_of_week (dt) - 1],
                          g_date_time_get_day_of_month (dt),
                          months[g_date_time_get_month (dt) - 1],
                          g_date_time_get_year (dt), g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt), g_date_time_get_second (dt));
}

/* "X.Y.Z" at @p (class 2/4/5, 1-3 digit fields)?  Returns its length. */
static gsize
enhanced_code_length (const char *p)
{
  const char *start = p;

  if (*p != '2' && *p != '4' && *p != '5')
    return 0;
  p++;
  for (guint field = 0; field < 2; field++)
    {
      guint digits = 0;

      if (*p++ != '.')
        return 0;
      while (g_ascii_isdigit (*p) && digits < 4)
        p++, digits++;
      if (digits == 0 || digits > 3)
        return 0;
    }
  if (*p != '\0' && *p != ' ')
    return 0;
  return (gsize) (p - start);
}

static gboolean
has_basic_code (const char *reply)
{
  return reply != NULL && strlen (reply) >= 3 && g_ascii_isdigit (reply[0]) &&
         g_ascii_isdigit (reply[1]) && g_ascii_isdigit (reply[2]) &&
         (reply[3] == ' ' || reply[3] == '-' || reply[3] == '\0');
}

char *
mg_dsn_status_from_reply (const char *reply,
                          MgDsnKind   kind)
{
  const char *p = reply != NULL ? reply : "";
  gsize len;

  if (has_basic_code (p))
    {
      char class = p[0];

      p += p[3] == '\0' ? 3 : 4;
      len = enhanced_code_length (p);
      if (len > 0 && p[0] == class)
        return g_strndup (p, len);
      if (class == '5' || class == '4')
        return g_strdup_printf ("%c.0.0", class);
    }
  len = enhanced_code_length (p);
  if (len > 0)
    return g_strndup (p, len);
  return g_strdup (kind == MG_DSN_FAILURE ? "5.0.0" : "4.0.0");
}

/* A header field value on one line. */
static char *
one_line (const char *text)
{
  char *copy = g_strdup (text != NULL ? text : "");

  g_strdelimit (copy, "\r\n\t", ' ');
  return copy;
}

/* RFC 2047 for a non-ASCII subject. */
static char *
encode_subject (const char *subject)
{
  g_autofree char *b64 = NULL;

  for (const char *p = subject; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      {
        b64 = g_base64_encode ((const guchar *) subject, strlen (subject));
        return g_strdup_printf ("=?UTF-8?B?%s?=", b64);
      }
  return g_strdup (subject);
}

/* The original's header section (up to the blank line), CRLF lines. */
static void
append_original_headers (GString *out,
                         GBytes  *original)
{
  gsize len = 0;
  const char *data = original != NULL ? g_bytes_get_data (original, &len) : NULL;
  const char *end;

  if (data == NULL)
    return;
  end = g_strstr_len (data, (gssize) len, "\r\n\r\n");
  len = end != NULL ? (gsize) (end - data) + 2 : len;
  g_string_append_len (out, data, (gssize) len);
  if (len < 2 || data[len - 2] != '\r' || data[len - 1] != '\n')
    g_string_append (out, "\r\n");
}

static void
append_recipient_block (GString         *out,
                        const MgDsnInfo *info,
                        const char      *rcpt,
                        const char      *reply)
{
  g_autofree char *address = one_line (rcpt);
  g_autofree char *text = one_line (reply);
  g_autofree char *status = mg_dsn_status_from_reply (text, info->kind);

  g_string_append_printf (out, "\r\nFinal-Recipient: rfc822; %s\r\n", address);
  g_string_append_printf (out, "Action: %s\r\n",
                          info->kind == MG_DSN_FAILURE ? "failed" : "delayed");
  g_string_append_printf (out, "Status: %s\r\n", status);
  if (has_basic_code (text))
    g_string_append_printf (out, "Diagnostic-Code: smtp; %s\r\n", text);
  else if (*text != '\0')
    g_string_append_printf (out, "Diagnostic-Code: X-Mailgate; %s\r\n", text);
}

GBytes *
mg_dsn_build (const MgDsnInfo     *info,
              const char * const  *rcpts,
              const char * const  *replies)
{
  const DsnTexts *t;
  g_autoptr(GString) out = g_string_sized_new (4096);
  g_autofree char *date = NULL;
  g_autofree char *arrival = NULL;
  g_autofree char *boundary = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *to = NULL;
  const char *mta;

  g_return_val_if_fail (info != NULL && rcpts != NULL && replies != NULL, NULL);

  t = g_strcmp0 (info->language, "ja") == 0 ? &texts_ja : &texts_en;
  mta = info->reporting_mta != NULL ? info->reporting_mta : "localhost";
  date = mg_dsn_format_date (info->now);
  arrival = mg_dsn_format_date (info->arrival);
  boundary = g_strdup_printf ("%s.%" G_GINT64_FORMAT "/%s", info->queue_id, info->now, mta);
  subject = encode_subject (info->kind == MG_DSN_FAILURE ? t->subject_failure : t->subject_delay);
  to = one_line (info->sender);

  g_string_append_printf (out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", mta);
  g_string_append_printf (out, "To: <%s>\r\n", to);
  g_string_append_printf (out, "Subject: %s\r\n", subject);
  g_string_append_printf (out, "Date: %s\r\n", date);
  g_string_append_printf (out, "Message-ID: <%s.%" G_GINT64_FORMAT ".dsn@%s>\r\n",
                          info->queue_id, info->now, mta);
  g_string_append (out, "Auto-Submitted: auto-replied\r\n");
  g_string_append (out, "MIME-Version: 1.0\r\n");
  g_string_append_printf (out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                               "\tboundary=\"%s\"\r\n", boundary);
  g_string_append (out, "\r\nThis is a MIME-encapsulated message.\r\n");

  /* the human part */
  g_string_append_printf (out, "\r\n--%s\r\n", boundary);
  g_string_append (out, "Content-Description: Notification\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n");
  g_string_append (out, t->intro);
  g_string_append (out, mta);
  g_string_append (out, t->intro_end);
  g_string_append (out, info->kind == MG_DSN_FAILURE ? t->failure : t->delay);
  g_string_append (out, "\r\n");
  for (guint i = 0; rcpts[i] != NULL && replies[i] != NULL; i++)
    {
      g_autofree char *address = one_line (rcpts[i]);
      g_autofree char *text = one_line (replies[i]);

      g_string_append_printf (out, "<%s>: %s\r\n", address, text);
    }
  g_string_append (out, "\r\n");
  g_string_append (out, t->attached);

  /* the machine-readable part (RFC 3464) */
  g_string_append_printf (out, "\r\n--%s\r\n", boundary);
  g_string_append (out, "Content-Description: Delivery report\r\n"
                        "Content-Type: message/delivery-status\r\n\r\n");
  g_string_append_printf (out, "Reporting-MTA: dns; %s\r\n", mta);
  g_string_append_printf (out, "X-Mailgate-Queue-ID: %s\r\n", info->queue_id);
  g_string_append_printf (out, "Arrival-Date: %s\r\n", arrival);
  for (guint i = 0; rcpts[i] != NULL && replies[i] != NULL; i++)
    append_recipient_block (out, info, rcpts[i], replies[i]);

  /* the original's headers (RFC 6522) */
  g_string_append_printf (out, "\r\n--%s\r\n", boundary);
  g_string_append (out, "Content-Description: Undelivered Message Headers\r\n"
                        "Content-Type: text/rfc822-headers\r\n\r\n");
  append_original_headers (out, info->original);
  g_string_append_printf (out, "\r\n--%s--\r\n", boundary);

  return g_string_free_to_bytes (g_steal_pointer (&out));
}
