/* test-smtp-reply.c - the reply table and reply formatting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * correct reply codes and enhanced status codes (RFC 3463 / 2034).
 */
#include "config.h"

#include <string.h>

#include "mg-smtp-reply.h"

/* Every entry formats as "DDD X.Y.Z text\r\n" and the enhanced class digit
 * matches the reply class (2xx <-> 2.x.x, 4xx <-> 4.x.x, 5xx <-> 5.x.x). */
static void
test_table_well_formed (void)
{
  for (guint r = 0; r < MG_REPLY_N_REPLIES; r++)
    {
      const MgReplyInfo *info = mg_smtp_reply_get_info (r);
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(GRegex) regex = NULL;
      g_autofree char *expected = NULL;

      g_assert_nonnull (info);
      g_assert_nonnull (info->text);
      g_assert_cmpuint (info->code, >=, 200);
      g_assert_cmpuint (info->code, <=, 599);
      g_assert_cmpint (info->status[0], ==, '0' + info->code / 100);

      mg_smtp_reply_append (out, r, NULL);
      regex = g_regex_new ("^[2-5][0-9][0-9] [245]\\.[0-9]{1,3}\\.[0-9]{1,3} [^\r\n]+\r\n$",
                           0, 0, NULL);
      g_assert_true (g_regex_match (regex, out->str, 0, NULL));
      expected = g_strdup_printf ("%u %s %s\r\n", info->code, info->status, info->text);
      g_assert_cmpstr (out->str, ==, expected);
    }
}

static void
test_details (void)
{
  static const struct
  {
    MgReply     reply;
    const char *detail;
    const char *extra;
    const char *expected;
  } cases[] = {
    { MG_REPLY_UNKNOWN_USER, "bob@corp.example", NULL,
      "550 5.1.1 <bob@corp.example>: Recipient address rejected: User unknown\r\n" },
    { MG_REPLY_RELAY_DENIED, "x@elsewhere.example", NULL,
      "554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n" },
    { MG_REPLY_SENDER_DENIED, "postmaster@corp.example", "(relay rule 2)",
      "550 5.7.1 <postmaster@corp.example>: Access denied (relay rule 2)\r\n" },
    { MG_REPLY_SENDER_DENIED, "", "(relay rule 1)",
      "550 5.7.1 <>: Access denied (relay rule 1)\r\n" },
    { MG_REPLY_QUEUED, "B0000000097", NULL,
      "250 2.0.0 Ok: queued as B0000000097\r\n" },
    { MG_REPLY_TIMEOUT, "mx.example", NULL,
      "421 4.4.2 mx.example Error: timeout exceeded\r\n" },
    { MG_REPLY_SHUTDOWN, "mx.example", NULL,
      "421 4.3.2 mx.example Service shutting down\r\n" },
    { MG_REPLY_TOO_MANY_ERRORS, "mx.example", NULL,
      "421 4.7.0 mx.example Error: too many errors\r\n" },
    { MG_REPLY_OK, "ignored", NULL, "250 2.0.0 Ok\r\n" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      mg_smtp_reply_append_full (out, cases[i].reply, cases[i].detail, cases[i].extra);
      g_assert_cmpstr (out->str, ==, cases[i].expected);
    }
}

/* PIPELINING: replies append to the same buffer in order. */
static void
test_append_accumulates (void)
{
  g_autoptr(GString) out = g_string_new (NULL);

  mg_smtp_reply_append (out, MG_REPLY_SENDER_OK, NULL);
  mg_smtp_reply_append (out, MG_REPLY_RCPT_OK, NULL);
  g_assert_cmpstr (out->str, ==, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

static void
test_multiline (void)
{
  static const char * const lines[] = { "mx.example Hello c", "PIPELINING", "HELP" };
  g_autoptr(GString) out = g_string_new (NULL);

  mg_smtp_reply_append_lines (out, 250, lines, G_N_ELEMENTS (lines));
  g_assert_cmpstr (out->str, ==,
                   "250-mx.example Hello c\r\n250-PIPELINING\r\n250 HELP\r\n");

  g_string_truncate (out, 0);
  mg_smtp_reply_append_lines (out, 220, lines, 1);
  g_assert_cmpstr (out->str, ==, "220 mx.example Hello c\r\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp/reply/table-well-formed", test_table_well_formed);
  g_test_add_func ("/smtp/reply/details", test_details);
  g_test_add_func ("/smtp/reply/append-accumulates", test_append_accumulates);
  g_test_add_func ("/smtp/reply/multiline", test_multiline);

  return g_test_run ();
}
