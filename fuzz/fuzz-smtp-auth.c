/* fuzz-smtp-auth.c - fuzz harness: the AUTH exchanges (service/mg-smtp-auth.h)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Input layout: byte 0 bit 0 chooses the accounts (0: the shared
 * configuration of mg-fuzz.c, two local domains, one of them a shared box;
 * 1: one local domain, so bare user names are unambiguous).  The rest is
 * lines (LF-separated, a CR before the LF dropped), read as a client's
 * AUTH dialogue: a line "MECH [initial-response]" (the AUTH command's
 * arguments) starts an exchange, and while the exchange answers 334 every
 * further line is a response to it.  A first word that names no mechanism
 * goes through mg_smtp_auth_parse_methods() instead.
 *
 * Invariants, besides "no crash, no leak, no critical":
 *  - each start/step appends exactly one well-formed reply, and its code
 *    matches the status: 334 + valid base64 (CONTINUE), 235 (SUCCESS),
 *    535 (FAILED), 501 (ABORTED);
 *  - no login without the password: on SUCCESS the account is one that has
 *    a password, and the client really sent it (PLAIN: after the second
 *    NUL; LOGIN: the second response; CRAM-MD5: the HMAC-MD5 of the
 *    challenge under it, computed here independently).
 *
 * Threading: one thread.  The one-domain configuration is built once.
 */
#include "config.h"

#include <string.h>

#include "mg-fuzz.h"
#include "mg-smtp-auth.h"

#define CHALLENGE "<1896.697170952@mx.test.example>"

typedef struct
{
  MgConfig       *config;
  MgSmtpAuth     *auth;
  MgSmtpAuthMech  mech;
  guint           n_responses;   /* responses given in this exchange */
  char           *secret;        /* what the client offered as proof (decoded) */
} AuthHarness;

static MgConfig *
get_one_domain_config (void)
{
  static MgConfig *config;

  if (config == NULL)
    {
      g_autofree char *cram = mg_config_cram_md5_secret (MG_FUZZ_ALICE_PASSWORD);
      MgConfig *shared = mg_fuzz_get_config (FALSE, FALSE);
      const MgAccount *alice = mg_config_find_account (shared, "alice@corp.example");

      config = mg_config_new_default ();
      mg_config_add_domain (config, "corp.example", FALSE);
      mg_config_add_account_full (config, "alice@corp.example", alice->password_hash, cram);
      mg_config_add_account (config, "bob@corp.example", NULL);
      mg_config_seal (config);
    }
  return config;
}

static const char *
password_of (const char *account)
{
  if (g_strcmp0 (account, "alice@corp.example") == 0)
    return MG_FUZZ_ALICE_PASSWORD;
  if (g_strcmp0 (account, "user1@shared.example") == 0)
    return MG_FUZZ_USER1_PASSWORD;
  return NULL;
}

/* Remembers the proof a response carries, decoded leniently (a response
 * the exchange accepted is strict base64, for which both agree). */
static void
note_response (AuthHarness *h,
               const char  *line,
               gsize        len)
{
  g_autofree char *text = g_strndup (line, len);
  g_autofree guchar *data = NULL;
  gsize size = 0;
  const guchar *nul;

  h->n_responses++;
  g_clear_pointer (&h->secret, g_free);
  if (g_str_equal (text, "="))
    return;
  data = g_base64_decode (text, &size);
  if (data == NULL)
    return;

  switch (h->mech)
    {
    case MG_SMTP_AUTH_MECH_PLAIN:
      nul = memchr (data, '\0', size);
      nul = nul != NULL ? memchr (nul + 1, '\0', size - (nul + 1 - data)) : NULL;
      if (nul != NULL)
        h->secret = g_strndup ((const char *) nul + 1, size - (nul + 1 - data));
      break;
    case MG_SMTP_AUTH_MECH_LOGIN:
      h->secret = g_strndup ((const char *) data, size);
      break;
    case MG_SMTP_AUTH_MECH_CRAM_MD5:
      {
        g_autofree char *response = g_strndup ((const char *) data, size);
        const char *space = strrchr (response, ' ');

        if (space != NULL)
          h->secret = g_strdup (space + 1);
      }
      break;
    case MG_SMTP_AUTH_MECH_NONE:
    default:
      g_assert_not_reached ();
    }
}

/* SUCCESS must mean: an account with a password, and the client proved it. */
static void
check_success (AuthHarness *h)
{
  const char *user = mg_smtp_auth_get_user (h->auth);
  const char *password = password_of (user);

  g_assert_nonnull (user);
  if (password == NULL)
    g_error ("AUTH succeeded for %s, which has no password", user);
  g_assert_nonnull (mg_config_find_account (h->config, user));
  if (h->secret == NULL)
    g_error ("AUTH succeeded for %s without a proof", user);

  if (h->mech == MG_SMTP_AUTH_MECH_CRAM_MD5)
    {
      g_autofree char *digest = g_compute_hmac_for_string (G_CHECKSUM_MD5,
                                                           (const guchar *) password,
                                                           strlen (password),
                                                           CHALLENGE, -1);

      if (g_ascii_strcasecmp (digest, h->secret) != 0)
        g_error ("CRAM-MD5 succeeded for %s with digest %s (expected %s)", user,
                 h->secret, digest);
      return;
    }
  if (h->mech == MG_SMTP_AUTH_MECH_LOGIN)
    g_assert_cmpuint (h->n_responses, ==, 2);
  if (!g_str_equal (h->secret, password))
    g_error ("AUTH succeeded for %s with a wrong password", user);
}

static void
check_status (AuthHarness      *h,
              MgSmtpAuthStatus  status,
              GString          *replies,
              gsize             before)
{
  const char *reply = replies->str + before;

  g_assert_cmpuint (mg_fuzz_check_replies (replies, before), ==, 1);
  switch (status)
    {
    case MG_SMTP_AUTH_CONTINUE:
      {
        g_autofree char *text = g_strndup (reply + 4, replies->len - before - 6);
        gsize size = 0;
        g_autofree guchar *decoded = NULL;

        g_assert_true (g_str_has_prefix (reply, "334 "));
        for (const char *p = text; *p != '\0'; p++)
          g_assert_true (g_ascii_isalnum (*p) || *p == '+' || *p == '/' || *p == '=');
        g_assert_cmpuint (strlen (text) % 4, ==, 0);
        decoded = g_base64_decode (text, &size);
        (void) decoded;
      }
      break;
    case MG_SMTP_AUTH_SUCCESS:
      g_assert_true (g_str_has_prefix (reply, "235 "));
      check_success (h);
      break;
    case MG_SMTP_AUTH_FAILED:
      g_assert_true (g_str_has_prefix (reply, "535 "));
      break;
    case MG_SMTP_AUTH_ABORTED:
      g_assert_true (g_str_has_prefix (reply, "501 "));
      break;
    default:
      g_error ("unknown AUTH status %d", status);
    }
}

/* "MECH [initial]": starts an exchange; returns its status. */
static MgSmtpAuthStatus
start_exchange (AuthHarness *h,
                const char  *line,
                GString     *replies)
{
  g_autofree char *name = NULL;
  const char *space = strchr (line, ' ');
  const char *initial = space != NULL ? space + 1 : NULL;
  MgSmtpAuthStatus status;
  gsize before = replies->len;

  name = space != NULL ? g_strndup (line, space - line) : g_strdup (line);
  h->mech = mg_smtp_auth_mech_from_name (name);
  if (h->mech == MG_SMTP_AUTH_MECH_NONE)
    {
      g_autofree char *described = mg_smtp_auth_describe (mg_smtp_auth_parse_methods (line));

      g_assert_true (g_utf8_validate (described, -1, NULL));
      return MG_SMTP_AUTH_ABORTED;
    }

  h->auth = mg_smtp_auth_new (h->config, h->mech, CHALLENGE);
  h->n_responses = 0;
  g_clear_pointer (&h->secret, g_free);
  if (initial != NULL)
    note_response (h, initial, strlen (initial));
  status = mg_smtp_auth_start (h->auth, initial, replies);
  check_status (h, status, replies, before);
  return status;
}

int
mg_fuzz_smtp_auth (const guint8 *data,
                   gsize         size)
{
  AuthHarness h = { 0 };
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autofree char *stream = NULL;
  MgSmtpAuthStatus status = MG_SMTP_AUTH_ABORTED;
  gsize len;
  gsize offset = 0;

  if (size == 0)
    return 0;
  h.config = (data[0] & 1) ? get_one_domain_config () : mg_fuzz_get_config (FALSE, FALSE);
  stream = mg_fuzz_copy (data + 1, size - 1);   /* exact size: overreads trap */
  len = size - 1;

  while (offset < len)
    {
      const char *line = stream + offset;
      const char *lf = memchr (line, '\n', len - offset);
      gsize line_len = lf != NULL ? (gsize) (lf - line) : len - offset;

      offset += line_len + (lf != NULL ? 1 : 0);
      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;

      if (status == MG_SMTP_AUTH_CONTINUE)
        {
          gsize before = replies->len;

          note_response (&h, line, line_len);
          status = mg_smtp_auth_step (h.auth, line, line_len, replies);
          check_status (&h, status, replies, before);
        }
      else
        {
          g_autofree char *command = g_strndup (line, line_len);   /* to the first NUL */

          g_clear_pointer (&h.auth, mg_smtp_auth_free);
          status = start_exchange (&h, command, replies);
        }
      if (replies->len > 65536)
        g_string_truncate (replies, 0);   /* only the last reply matters */
    }

  g_clear_pointer (&h.auth, mg_smtp_auth_free);
  g_free (h.secret);
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
  return mg_fuzz_smtp_auth (data, size);
}
#endif
