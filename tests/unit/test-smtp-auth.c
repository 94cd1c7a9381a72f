/* test-smtp-auth.c - the AUTH exchanges: every mechanism, every malformed input
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each exchange is driven with plain strings; CRAM-MD5 answers are
 * computed here with GLib's own HMAC-MD5 (an independent implementation of
 * what the stored secret must reproduce).
 */
#include "config.h"

#include <string.h>

#include "mg-config.h"
#include "mg-smtp-auth.h"

#define CHALLENGE "<12345.1795815000@mx.test.example>"

typedef struct
{
  MgConfig *config;
} Fixture;

static void
add_user (MgConfig   *config,
          const char *address,
          const char *password)
{
  g_autofree char *hash = password != NULL ? mg_config_password_hash (password) : NULL;
  g_autofree char *cram = password != NULL ? mg_config_cram_md5_secret (password) : NULL;

  mg_config_add_account_full (config, address, hash, cram);
}

/* One local domain: bare user names are unambiguous. */
static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->config = mg_config_new_default ();
  mg_config_add_domain (f->config, "corp.example", FALSE);
  add_user (f->config, "alice@corp.example", "s3cret");
  add_user (f->config, "bob@corp.example", NULL);   /* no password: cannot log in */
  mg_config_seal (f->config);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->config, mg_config_unref);
}

static char *
b64 (const char *data,
     gsize       len)
{
  return g_base64_encode ((const guchar *) data, len);
}

/* PLAIN response "authzid\0authcid\0password" in base64. */
static char *
plain (const char *authzid,
       const char *authcid,
       const char *password)
{
  g_autoptr(GString) raw = g_string_new (authzid);

  g_string_append_c (raw, '\0');
  g_string_append (raw, authcid);
  g_string_append_c (raw, '\0');
  g_string_append (raw, password);
  return b64 (raw->str, raw->len);
}

/* Runs AUTH PLAIN with @initial; returns the status, replies in @replies. */
static MgSmtpAuthStatus
run_plain (Fixture    *f,
           const char *initial,
           GString    *replies)
{
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_PLAIN, CHALLENGE);

  return mg_smtp_auth_start (auth, initial, replies);
}

static void
test_mech_names (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *all = NULL;
  g_autofree char *none = NULL;

  g_assert_cmpint (mg_smtp_auth_mech_from_name ("plain"), ==, MG_SMTP_AUTH_MECH_PLAIN);
  g_assert_cmpint (mg_smtp_auth_mech_from_name ("LOGIN"), ==, MG_SMTP_AUTH_MECH_LOGIN);
  g_assert_cmpint (mg_smtp_auth_mech_from_name ("Cram-Md5"), ==, MG_SMTP_AUTH_MECH_CRAM_MD5);
  g_assert_cmpint (mg_smtp_auth_mech_from_name ("DIGEST-MD5"), ==, MG_SMTP_AUTH_MECH_NONE);
  g_assert_cmpint (mg_smtp_auth_mech_from_name (""), ==, MG_SMTP_AUTH_MECH_NONE);

  g_assert_cmpuint (mg_smtp_auth_parse_methods ("PLAIN,CRAM-MD5"), ==,
                    MG_SMTP_AUTH_MECH_PLAIN | MG_SMTP_AUTH_MECH_CRAM_MD5);
  g_assert_cmpuint (mg_smtp_auth_parse_methods (""), ==, 0);
  all = mg_smtp_auth_describe (mg_smtp_auth_parse_methods ("cram-md5, login,plain"));
  g_assert_cmpstr (all, ==, " PLAIN LOGIN CRAM-MD5");
  none = mg_smtp_auth_describe (0);
  g_assert_cmpstr (none, ==, "");
}

static void
test_plain_initial (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_PLAIN, CHALLENGE);
  g_autofree char *resp = plain ("", "alice@corp.example", "s3cret");

  g_assert_cmpint (mg_smtp_auth_start (auth, resp, replies), ==, MG_SMTP_AUTH_SUCCESS);
  g_assert_cmpstr (replies->str, ==, "235 2.7.0 Authentication successful\r\n");
  g_assert_cmpstr (mg_smtp_auth_get_user (auth), ==, "alice@corp.example");
}

static void
test_plain_challenge (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_PLAIN, CHALLENGE);
  /* case variants and the authzid equal to the user are fine */
  g_autofree char *resp = plain ("alice", "ALICE@Corp.Example", "s3cret");

  g_assert_cmpint (mg_smtp_auth_start (auth, NULL, replies), ==, MG_SMTP_AUTH_CONTINUE);
  g_assert_cmpstr (replies->str, ==, "334 \r\n");
  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_auth_step (auth, resp, strlen (resp), replies), ==,
                   MG_SMTP_AUTH_SUCCESS);
  g_assert_cmpstr (replies->str, ==, "235 2.7.0 Authentication successful\r\n");
  g_assert_cmpstr (mg_smtp_auth_get_user (auth), ==, "alice@corp.example");
}

static void
test_plain_bad_credentials (Fixture       *f,
                            gconstpointer  data)
{
  static const char * const cases[][3] = {
    { "", "alice@corp.example", "wrong" },
    { "", "alice@corp.example", "S3CRET" },
    { "", "nobody@corp.example", "s3cret" },
    { "", "alice@other.example", "s3cret" },
    { "", "bob@corp.example", "anything" },   /* account without a password */
    { "bob@corp.example", "alice", "s3cret" }, /* acting as someone else */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autofree char *resp = plain (cases[i][0], cases[i][1], cases[i][2]);

      g_assert_cmpint (run_plain (f, resp, replies), ==, MG_SMTP_AUTH_FAILED);
      g_assert_cmpstr (replies->str, ==, "535 5.7.8 Error: authentication failed\r\n");
    }
}

/* Every malformed PLAIN input ends with 501, never 535 or 235. */
static void
test_plain_malformed (Fixture       *f,
                      gconstpointer  data)
{
  static const struct { const char *raw; gsize len; const char *reply; } cases[] = {
    { "alice@corp.example s3cret", 25, "501 5.5.2 Malformed" },    /* no NULs */
    { "\0alice@corp.example", 19, "501 5.5.2 Malformed" },         /* one NUL */
    { "\0alice\0s3cret\0x", 16, "501 5.5.2 Malformed" },            /* three NULs */
    { "\0\0s3cret", 8, "501 5.5.2 Malformed" },                     /* empty user */
    { "\0alice\0", 7, "501 5.5.2 Malformed" },                      /* empty password */
    { "", 0, "501 5.5.2 Malformed" },                               /* empty */
  };
  static const char * const bad_base64[] = {
    "AGFsaWNlAHMzY3JldA",        /* length not a multiple of 4 */
    "AGFsaWNlAHMzY3J=dA==",      /* '=' inside */
    "AGFsaWNlAHMzY3JldA===",     /* too much padding */
    "AGFs aWNlAHMzY3JldA==",     /* space */
    "AGFsaWNl-HMzY3JldA==",      /* not in the alphabet */
    "=",                         /* fine as initial response only: see below */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autofree char *resp = b64 (cases[i].raw, cases[i].len);

      g_assert_cmpint (run_plain (f, *resp != '\0' ? resp : "=", replies), ==,
                       MG_SMTP_AUTH_ABORTED);
      g_assert_true (g_str_has_prefix (replies->str, cases[i].reply));
    }

  for (gsize i = 0; i + 1 < G_N_ELEMENTS (bad_base64); i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);

      g_assert_cmpint (run_plain (f, bad_base64[i], replies), ==, MG_SMTP_AUTH_ABORTED);
      g_assert_cmpstr (replies->str, ==, "501 5.5.2 Cannot decode response\r\n");
    }

  /* after a 334, "=" is not base64 of anything */
  {
    g_autoptr(GString) replies = g_string_new (NULL);
    g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_PLAIN, CHALLENGE);

    mg_smtp_auth_start (auth, NULL, replies);
    g_string_truncate (replies, 0);
    g_assert_cmpint (mg_smtp_auth_step (auth, "=", 1, replies), ==, MG_SMTP_AUTH_ABORTED);
    g_assert_cmpstr (replies->str, ==, "501 5.5.2 Cannot decode response\r\n");
  }

  /* a NUL byte in the line itself */
  {
    g_autoptr(GString) replies = g_string_new (NULL);
    g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_PLAIN, CHALLENGE);

    mg_smtp_auth_start (auth, NULL, replies);
    g_string_truncate (replies, 0);
    g_assert_cmpint (mg_smtp_auth_step (auth, "AGFs\0aWNl", 9, replies), ==, MG_SMTP_AUTH_ABORTED);
    g_assert_cmpstr (replies->str, ==, "501 5.5.2 Cannot decode response\r\n");
  }
}

/* "*" cancels at every step of every mechanism. */
static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  static const MgSmtpAuthMech mechs[] = {
    MG_SMTP_AUTH_MECH_PLAIN, MG_SMTP_AUTH_MECH_LOGIN, MG_SMTP_AUTH_MECH_CRAM_MD5,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (mechs); i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, mechs[i], CHALLENGE);

      g_assert_cmpint (mg_smtp_auth_start (auth, NULL, replies), ==, MG_SMTP_AUTH_CONTINUE);
      g_string_truncate (replies, 0);
      g_assert_cmpint (mg_smtp_auth_step (auth, "*", 1, replies), ==, MG_SMTP_AUTH_ABORTED);
      g_assert_cmpstr (replies->str, ==, "501 5.7.0 Authentication cancelled\r\n");
    }

  /* LOGIN: cancelled at the password prompt */
  {
    g_autoptr(GString) replies = g_string_new (NULL);
    g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_LOGIN, CHALLENGE);
    g_autofree char *user = b64 ("alice", 5);

    mg_smtp_auth_start (auth, user, replies);
    g_string_truncate (replies, 0);
    g_assert_cmpint (mg_smtp_auth_step (auth, "*", 1, replies), ==, MG_SMTP_AUTH_ABORTED);
    g_assert_cmpstr (replies->str, ==, "501 5.7.0 Authentication cancelled\r\n");
  }
}

static MgSmtpAuthStatus
run_login (Fixture    *f,
           const char *user,
           const char *password,
           gboolean    initial,
           GString    *replies)
{
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_LOGIN, CHALLENGE);
  g_autofree char *u = b64 (user, strlen (user));
  g_autofree char *p = b64 (password, strlen (password));
  MgSmtpAuthStatus status;

  if (initial)
    status = mg_smtp_auth_start (auth, u, replies);
  else
    {
      g_assert_cmpint (mg_smtp_auth_start (auth, NULL, replies), ==, MG_SMTP_AUTH_CONTINUE);
      g_assert_cmpstr (replies->str, ==, "334 VXNlcm5hbWU6\r\n");   /* "Username:" */
      g_string_truncate (replies, 0);
      status = mg_smtp_auth_step (auth, u, strlen (u), replies);
    }
  g_assert_cmpint (status, ==, MG_SMTP_AUTH_CONTINUE);
  g_assert_cmpstr (replies->str, ==, "334 UGFzc3dvcmQ6\r\n");        /* "Password:" */
  g_string_truncate (replies, 0);
  return mg_smtp_auth_step (auth, p, strlen (p), replies);
}

static void
test_login (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GString) replies = g_string_new (NULL);

  g_assert_cmpint (run_login (f, "alice@corp.example", "s3cret", FALSE, replies), ==,
                   MG_SMTP_AUTH_SUCCESS);
  g_assert_cmpstr (replies->str, ==, "235 2.7.0 Authentication successful\r\n");

  /* bare user name: one local domain makes it unambiguous */
  g_string_truncate (replies, 0);
  g_assert_cmpint (run_login (f, "alice", "s3cret", TRUE, replies), ==, MG_SMTP_AUTH_SUCCESS);

  g_string_truncate (replies, 0);
  g_assert_cmpint (run_login (f, "alice", "nope", TRUE, replies), ==, MG_SMTP_AUTH_FAILED);
  g_assert_cmpstr (replies->str, ==, "535 5.7.8 Error: authentication failed\r\n");
}

static void
test_login_malformed (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_LOGIN, CHALLENGE);
  g_autoptr(MgSmtpAuth) auth2 = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_LOGIN, CHALLENGE);
  g_autofree char *nul_user = b64 ("al\0ice", 6);

  /* user name with a NUL */
  g_assert_cmpint (mg_smtp_auth_start (auth, nul_user, replies), ==, MG_SMTP_AUTH_ABORTED);
  g_assert_cmpstr (replies->str, ==, "501 5.5.2 Malformed authentication response\r\n");

  /* "=" is the empty user name */
  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_auth_start (auth2, "=", replies), ==, MG_SMTP_AUTH_ABORTED);
  g_assert_cmpstr (replies->str, ==, "501 5.5.2 Malformed authentication response\r\n");
}

/* Two local domains, not shared-box: a bare name is ambiguous; a
 * shared-box domain's users may use the bare name. */
static void
test_login_names (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(MgConfig) two = mg_config_new_default ();
  g_autoptr(MgConfig) shared = mg_config_new_default ();
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autofree char *bare = plain ("", "alice", "s3cret");
  g_autofree char *full = plain ("", "alice@corp.example", "s3cret");
  g_autofree char *carol = plain ("", "carol", "pw");

  mg_config_add_domain (two, "corp.example", FALSE);
  mg_config_add_domain (two, "other.example", FALSE);
  add_user (two, "alice@corp.example", "s3cret");
  mg_config_seal (two);
  g_clear_pointer (&f->config, mg_config_unref);
  f->config = mg_config_ref (two);
  g_assert_cmpint (run_plain (f, bare, replies), ==, MG_SMTP_AUTH_FAILED);
  g_assert_cmpint (run_plain (f, full, replies), ==, MG_SMTP_AUTH_SUCCESS);

  mg_config_add_domain (shared, "corp.example", FALSE);
  mg_config_add_domain (shared, "box.example", TRUE);
  add_user (shared, "carol@box.example", "pw");
  mg_config_seal (shared);
  g_clear_pointer (&f->config, mg_config_unref);
  f->config = mg_config_ref (shared);
  g_assert_cmpint (run_plain (f, carol, replies), ==, MG_SMTP_AUTH_SUCCESS);
}

static char *
cram_answer (const char *user,
             const char *password,
             const char *challenge)
{
  g_autofree char *digest = g_compute_hmac_for_string (G_CHECKSUM_MD5,
                                                       (const guchar *) password,
                                                       strlen (password), challenge, -1);
  g_autofree char *text = g_strdup_printf ("%s %s", user, digest);

  return b64 (text, strlen (text));
}

static void
test_cram_md5 (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GString) replies = g_string_new (NULL);
  g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_CRAM_MD5, CHALLENGE);
  g_autofree char *expected = NULL;
  g_autofree char *encoded = b64 (CHALLENGE, strlen (CHALLENGE));
  g_autofree char *answer = cram_answer ("alice@corp.example", "s3cret", CHALLENGE);

  g_assert_cmpint (mg_smtp_auth_start (auth, NULL, replies), ==, MG_SMTP_AUTH_CONTINUE);
  expected = g_strdup_printf ("334 %s\r\n", encoded);
  g_assert_cmpstr (replies->str, ==, expected);
  g_string_truncate (replies, 0);
  g_assert_cmpint (mg_smtp_auth_step (auth, answer, strlen (answer), replies), ==,
                   MG_SMTP_AUTH_SUCCESS);
  g_assert_cmpstr (mg_smtp_auth_get_user (auth), ==, "alice@corp.example");
}

static void
test_cram_md5_failures (Fixture       *f,
                        gconstpointer  data)
{
  struct { char *answer; MgSmtpAuthStatus status; } cases[] = {
    { cram_answer ("alice@corp.example", "wrong", CHALLENGE), MG_SMTP_AUTH_FAILED },
    { cram_answer ("alice@corp.example", "s3cret", "<other@challenge>"), MG_SMTP_AUTH_FAILED },
    { cram_answer ("nobody@corp.example", "s3cret", CHALLENGE), MG_SMTP_AUTH_FAILED },
    { cram_answer ("bob@corp.example", "", CHALLENGE), MG_SMTP_AUTH_FAILED },
    { b64 ("alice@corp.example", 18), MG_SMTP_AUTH_ABORTED },                   /* no digest */
    { b64 ("alice 0123456789abcdef0123456789abcdeX", 38), MG_SMTP_AUTH_ABORTED }, /* not hex */
    { b64 ("alice 0123456789abcdef", 22), MG_SMTP_AUTH_ABORTED },               /* short */
    { b64 (" 0123456789abcdef0123456789abcdef", 33), MG_SMTP_AUTH_ABORTED },     /* no user */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) replies = g_string_new (NULL);
      g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_CRAM_MD5, CHALLENGE);

      mg_smtp_auth_start (auth, NULL, replies);
      g_string_truncate (replies, 0);
      g_assert_cmpint (mg_smtp_auth_step (auth, cases[i].answer, strlen (cases[i].answer), replies),
                       ==, cases[i].status);
      g_assert_true (g_str_has_prefix (replies->str, cases[i].status == MG_SMTP_AUTH_FAILED
                                                     ? "535 5.7.8" : "501 5.5.2"));
      g_free (cases[i].answer);
    }

  /* RFC 2195 has no initial response */
  {
    g_autoptr(GString) replies = g_string_new (NULL);
    g_autoptr(MgSmtpAuth) auth = mg_smtp_auth_new (f->config, MG_SMTP_AUTH_MECH_CRAM_MD5, CHALLENGE);

    g_assert_cmpint (mg_smtp_auth_start (auth, "YWxpY2U=", replies), ==, MG_SMTP_AUTH_ABORTED);
    g_assert_true (g_str_has_prefix (replies->str, "501 "));
  }
}

/* The stored secret reproduces HMAC-MD5 for short, 64-byte and long keys. */
static void
test_cram_secret (Fixture       *f,
                  gconstpointer  data)
{
  static const char * const passwords[] = {
    "a", "s3cret", "0123456789012345678901234567890123456789012345678901234567890123",
    "a password that is longer than one sixty-four byte block of MD5, hashed first",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (passwords); i++)
    {
      g_autofree char *secret = mg_config_cram_md5_secret (passwords[i]);
      g_autofree char *digest = g_compute_hmac_for_string (G_CHECKSUM_MD5,
                                                           (const guchar *) passwords[i],
                                                           strlen (passwords[i]), CHALLENGE, -1);

      g_assert_true (g_str_has_prefix (secret, "{CRAM-MD5}"));
      g_assert_cmpuint (strlen (secret), ==, strlen ("{CRAM-MD5}") + 64);
      if (strlen (passwords[i]) > 1)
        g_assert_null (strstr (secret, passwords[i]));
      g_assert_true (mg_config_cram_md5_verify (secret, CHALLENGE, digest));
      digest[0] = digest[0] == '0' ? '1' : '0';
      g_assert_false (mg_config_cram_md5_verify (secret, CHALLENGE, digest));
    }
  g_assert_false (mg_config_cram_md5_verify ("{CRAM-MD5}zz", CHALLENGE,
                                             "00000000000000000000000000000000"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/smtp/auth/mech-names", test_mech_names);
  ADD ("/smtp/auth/plain-initial", test_plain_initial);
  ADD ("/smtp/auth/plain-challenge", test_plain_challenge);
  ADD ("/smtp/auth/plain-bad-credentials", test_plain_bad_credentials);
  ADD ("/smtp/auth/plain-malformed", test_plain_malformed);
  ADD ("/smtp/auth/cancel", test_cancel);
  ADD ("/smtp/auth/login", test_login);
  ADD ("/smtp/auth/login-malformed", test_login_malformed);
  ADD ("/smtp/auth/login-names", test_login_names);
  ADD ("/smtp/auth/cram-md5", test_cram_md5);
  ADD ("/smtp/auth/cram-md5-failures", test_cram_md5_failures);
  ADD ("/smtp/auth/cram-secret", test_cram_secret);

  return g_test_run ();
}
