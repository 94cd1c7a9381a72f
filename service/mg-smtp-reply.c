/* mg-smtp-reply.c - the receiver's reply table and reply formatting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One row per reply class: code, enhanced status (RFC 3463), text and where
 * a detail goes.  The texts follow Postfix where a client or an operator
 * might grep for them.  Never translated (protocol).
 *
 * Threading: constant data; any thread.
 */
#include "config.h"

#include "mg-smtp-reply.h"

static const MgReplyInfo replies[] = {
  [MG_REPLY_OK]                   = { 250, "2.0.0", "Ok", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_SENDER_OK]            = { 250, "2.1.0", "Ok", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_RCPT_OK]              = { 250, "2.1.5", "Ok", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_VRFY_OK]              = { 250, "2.1.5", "Ok", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_QUEUED]               = { 250, "2.0.0", "Ok: queued as", MG_REPLY_DETAIL_SUFFIX },
  [MG_REPLY_CANNOT_VRFY]          = { 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_HELP]                 = { 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BYE]                  = { 221, "2.0.0", "Bye", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_SHUTDOWN]             = { 421, "4.3.2", "Service shutting down", MG_REPLY_DETAIL_HOST },
  [MG_REPLY_TIMEOUT]              = { 421, "4.4.2", "Error: timeout exceeded", MG_REPLY_DETAIL_HOST },
  [MG_REPLY_TOO_MANY_ERRORS]      = { 421, "4.7.0", "Error: too many errors", MG_REPLY_DETAIL_HOST },
  [MG_REPLY_LOCAL_TEMPFAIL]       = { 451, "4.3.0", "Error: queue file write error, try again later", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_TOO_MANY_RCPTS]       = { 452, "4.5.3", "Too many recipients", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_TLS_NOT_AVAILABLE]    = { 454, "4.7.0", "TLS not available", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_UNRECOGNIZED]         = { 500, "5.5.2", "Error: command not recognized", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_LINE_TOO_LONG]        = { 500, "5.5.2", "Error: line too long", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BAD_CHARACTERS]       = { 500, "5.5.2", "Error: invalid characters in command", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_ARGUMENT_REQUIRED]    = { 501, "5.5.4", "Error: argument required", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BAD_PARAM_SYNTAX]     = { 501, "5.5.4", "Error: bad parameter syntax", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BAD_SENDER_SYNTAX]    = { 501, "5.1.7", "Bad sender address syntax", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BAD_RCPT_SYNTAX]      = { 501, "5.1.3", "Bad recipient address syntax", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_EXPN_NOT_AVAILABLE]   = { 502, "5.5.1", "EXPN not available", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_NOT_AVAILABLE]   = { 502, "5.5.1", "AUTH not available", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_BDAT_NOT_AVAILABLE]   = { 502, "5.5.1", "BDAT not available", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_NEED_HELO]            = { 503, "5.5.1", "Error: send HELO/EHLO first", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_NESTED_MAIL]          = { 503, "5.5.1", "Nested MAIL command", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_NEED_MAIL]            = { 503, "5.5.1", "Error: need MAIL command", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_UNKNOWN_USER]         = { 550, "5.1.1", "Recipient address rejected: User unknown", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_RELAY_ROUTING_DENIED] = { 550, "5.7.1", "Relay access denied", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_SENDER_DENIED]        = { 550, "5.7.1", "Access denied", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_TOO_BIG]              = { 552, "5.3.4", "Message size exceeds fixed limit", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_RELAY_DENIED]         = { 554, "5.7.1", "Relay access denied", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_NO_VALID_RCPTS]       = { 554, "5.5.1", "No valid recipients", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_LOOP]                 = { 554, "5.4.6", "Too many Received headers: mail loop?", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_DATA_LINE_TOO_LONG]   = { 554, "5.6.0", "Line too long", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_DATA_NUL]             = { 554, "5.6.0", "Message contains NUL characters", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_UNKNOWN_PARAM]        = { 555, "5.5.4", "Unsupported parameter", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_OK]              = { 235, "2.7.0", "Authentication successful", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_READY_FOR_TLS]        = { 220, "2.0.0", "Ready to start TLS", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_THROTTLED]       = { 421, "4.7.0", "Error: too many failed logins from your address, try again later", MG_REPLY_DETAIL_HOST },
  [MG_REPLY_AUTH_CANCELLED]       = { 501, "5.7.0", "Authentication cancelled", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_BAD_BASE64]      = { 501, "5.5.2", "Cannot decode response", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_BAD_RESPONSE]    = { 501, "5.5.2", "Malformed authentication response", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_ALREADY]         = { 503, "5.5.1", "Error: already authenticated", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_IN_TRANSACTION]  = { 503, "5.5.1", "Error: MAIL transaction in progress", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_TLS_ALREADY]          = { 503, "5.5.1", "Error: TLS already active", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_UNKNOWN_MECH]    = { 504, "5.5.4", "Unrecognized authentication type", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_FAILED]          = { 535, "5.7.8", "Error: authentication failed", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_AUTH_NEED_TLS]        = { 538, "5.7.11", "Encryption required for requested authentication mechanism", MG_REPLY_DETAIL_NONE },
  [MG_REPLY_NO_REVERSE_DNS]       = { 450, "4.7.25", "Client host rejected: cannot find your hostname", MG_REPLY_DETAIL_SUFFIX },
  [MG_REPLY_SENDER_PROTECTED]     = { 550, "5.7.1", "Sender address rejected: protected sender, authentication required", MG_REPLY_DETAIL_ADDRESS },
  [MG_REPLY_SPF_FAIL]             = { 550, "5.7.23", "SPF check failed for", MG_REPLY_DETAIL_SUFFIX },
  [MG_REPLY_SPF_TEMPFAIL]         = { 451, "4.7.24", "SPF temporary error for", MG_REPLY_DETAIL_SUFFIX },
};

G_STATIC_ASSERT (G_N_ELEMENTS (replies) == MG_REPLY_N_REPLIES);

const MgReplyInfo *
mg_smtp_reply_get_info (MgReply reply)
{
  g_return_val_if_fail (reply < MG_REPLY_N_REPLIES, NULL);

  return &replies[reply];
}

void
mg_smtp_reply_append (GString    *out,
                      MgReply     reply,
                      const char *detail)
{
  mg_smtp_reply_append_full (out, reply, detail, NULL);
}

void
mg_smtp_reply_append_full (GString    *out,
                           MgReply     reply,
                           const char *detail,
                           const char *extra)
{
  const MgReplyInfo *info;

  g_return_if_fail (out != NULL);
  g_return_if_fail (reply < MG_REPLY_N_REPLIES);

  info = &replies[reply];
  g_string_append_printf (out, "%u %s ", info->code, info->status);

  if (detail != NULL && info->detail == MG_REPLY_DETAIL_ADDRESS)
    g_string_append_printf (out, "<%s>: ", detail);
  else if (detail != NULL && info->detail == MG_REPLY_DETAIL_HOST)
    g_string_append_printf (out, "%s ", detail);

  g_string_append (out, info->text);

  if (detail != NULL && info->detail == MG_REPLY_DETAIL_SUFFIX)
    g_string_append_printf (out, " %s", detail);
  if (extra != NULL)
    g_string_append_printf (out, " %s", extra);

  g_string_append (out, "\r\n");
}

void
mg_smtp_reply_append_lines (GString            *out,
                            guint               code,
                            const char * const *lines,
                            gsize               n_lines)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (n_lines > 0);
  g_return_if_fail (code >= 200 && code <= 599);

  for (gsize i = 0; i < n_lines; i++)
    g_string_append_printf (out, "%u%c%s\r\n", code,
                            i + 1 < n_lines ? '-' : ' ', lines[i]);
}
