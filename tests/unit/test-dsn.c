/* test-dsn.c - RFC 3464 failure reports
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include "mg-dsn.h"

#define ORIGINAL "Received: from client by gw; Fri, 27 Nov 2026 21:50:00 +0000\r\n" \
                 "From: Alice <alice@example.org>\r\n" \
                 "Subject: hello\r\n" \
                 "\r\n" \
                 "The secret body.\r\n"

static char *
build (MgDsnKind   kind,
       const char *language)
{
  static const char * const rcpts[] = { "bob@corp.example", "carol@corp.example", NULL };
  static const char * const replies[] = { "550 5.1.1 <bob@corp.example>: no such user",
                                          "expired: connect to 10.0.0.1:25: refused", NULL };
  g_autoptr(GBytes) original = g_bytes_new_static (ORIGINAL, strlen (ORIGINAL));
  MgDsnInfo info = {
    .kind = kind,
    .reporting_mta = "gw.example",
    .language = language,
    .queue_id = "B0000000042",
    .sender = "alice@example.org",
    .arrival = G_GINT64_CONSTANT (1795816200) * G_USEC_PER_SEC,
    .now = G_GINT64_CONSTANT (1795819800) * G_USEC_PER_SEC,
    .original = original,
  };
  g_autoptr(GBytes) dsn = mg_dsn_build (&info, rcpts, replies);
  gsize len = 0;
  const char *data = g_bytes_get_data (dsn, &len);

  return g_strndup (data, len);
}

static void
test_failure_report (void)
{
  g_autofree char *dsn = build (MG_DSN_FAILURE, "en");

  g_assert_true (g_str_has_prefix (dsn, "From: Mail Delivery System <MAILER-DAEMON@gw.example>\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nTo: <alice@example.org>\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nAuto-Submitted: auto-replied\r\n"));
  g_assert_nonnull (strstr (dsn, "Content-Type: multipart/report; report-type=delivery-status;"));
  g_assert_nonnull (strstr (dsn, "\r\nContent-Type: message/delivery-status\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nReporting-MTA: dns; gw.example\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nFinal-Recipient: rfc822; bob@corp.example\r\n"
                                 "Action: failed\r\n"
                                 "Status: 5.1.1\r\n"
                                 "Diagnostic-Code: smtp; 550 5.1.1 <bob@corp.example>: no such user\r\n"));
  g_assert_nonnull (strstr (dsn, "\r\nFinal-Recipient: rfc822; carol@corp.example\r\n"
                                 "Action: failed\r\n"
                                 "Status: 5.0.0\r\n"
                                 "Diagnostic-Code: X-Mailgate; expired: connect to"));
  /* the original's headers, never its body */
  g_assert_nonnull (strstr (dsn, "Content-Type: text/rfc822-headers\r\n\r\n"
                                 "Received: from client by gw;"));
  g_assert_nonnull (strstr (dsn, "\r\nSubject: hello\r\n"));
  g_assert_null (strstr (dsn, "secret body"));
  g_assert_true (g_str_has_suffix (dsn, "--\r\n"));
  /* only CRLF line ends */
  for (const char *p = dsn; *p != '\0'; p++)
    if (*p == '\n')
      g_assert_true (p > dsn && p[-1] == '\r');
}

static void
test_japanese_and_delay (void)
{
  g_autofree char *ja = build (MG_DSN_FAILURE, "ja");
  g_autofree char *delay = build (MG_DSN_DELAY, "en");
  g_autofree char *subject = g_base64_encode ((const guchar *) "配送不能のお知らせ",
                                              strlen ("配送不能のお知らせ"));
  g_autofree char *encoded = g_strdup_printf ("Subject: =?UTF-8?B?%s?=\r\n", subject);

  g_assert_nonnull (strstr (ja, encoded));
  g_assert_nonnull (strstr (ja, "次の宛先に配送できませんでした"));
  g_assert_nonnull (strstr (ja, "charset=utf-8"));
  g_assert_null (strstr (ja, "I'm sorry"));

  g_assert_nonnull (strstr (delay, "Action: delayed\r\n"));
  g_assert_nonnull (strstr (delay, "WARNING ONLY"));
  g_assert_null (strstr (delay, "Action: failed"));
}

static void
test_status_from_reply (void)
{
  static const struct { const char *reply; MgDsnKind kind; const char *status; } cases[] = {
    { "550 5.1.1 no such user", MG_DSN_FAILURE, "5.1.1" },
    { "554 5.7.1 relay denied", MG_DSN_FAILURE, "5.7.1" },
    { "550 no code", MG_DSN_FAILURE, "5.0.0" },
    { "451 4.3.0 later", MG_DSN_DELAY, "4.3.0" },
    { "550 4.1.1 class mismatch", MG_DSN_FAILURE, "5.0.0" },
    { "5.4.6 mail loops back to myself", MG_DSN_FAILURE, "5.4.6" },
    { "connect to x: refused", MG_DSN_FAILURE, "5.0.0" },
    { "connect to x: refused", MG_DSN_DELAY, "4.0.0" },
    { "", MG_DSN_FAILURE, "5.0.0" },
    { NULL, MG_DSN_FAILURE, "5.0.0" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *status = mg_dsn_status_from_reply (cases[i].reply, cases[i].kind);

      g_assert_cmpstr (status, ==, cases[i].status);
    }
}

static void
test_date (void)
{
  g_autofree char *date = mg_dsn_format_date (G_GINT64_CONSTANT (1795816200) * G_USEC_PER_SEC);

  g_assert_cmpstr (date, ==, "Fri, 27 Nov 2026 21:50:00 +0000");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/dsn/failure-report", test_failure_report);
  g_test_add_func ("/dsn/japanese-and-delay", test_japanese_and_delay);
  g_test_add_func ("/dsn/status-from-reply", test_status_from_reply);
  g_test_add_func ("/dsn/date", test_date);

  return g_test_run ();
}
