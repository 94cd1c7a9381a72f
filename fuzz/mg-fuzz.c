/* mg-fuzz.c - what the fuzz harnesses share: input copies, reply checks, config
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Linked into every fuzzer and compiled into test-fuzz-regressions.
 * The configurations are built on first use and kept for the life of the
 * process (they never change, so they do not couple one input to the next).
 * Their password hashes use PBKDF2 with ONE iteration (the stored format
 * carries the count): the real 100000 would make every correct login cost
 * the fuzzer tens of milliseconds.  In the fuzzers, PBKDF2 itself is cut
 * to one iteration (see PKCS5_PBKDF2_HMAC below).
 *
 * Threading: one thread.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifdef MG_FUZZ_LIBFUZZER
#include <dlfcn.h>
#endif
#include <openssl/evp.h>

#include "mg-fuzz.h"

#ifdef MG_FUZZ_LIBFUZZER
/* Fuzzers only (not the regression test): PBKDF2 with at most ONE
 * iteration, interposed on OpenSSL's.  Every login of an unknown user
 * verifies against a 100000-iteration dummy hash on purpose (equal
 * timing), which held the AUTH fuzzers to ~20 inputs/s.  Results stay
 * consistent: our hashes have one iteration anyway, and the dummy hash
 * never matched. */
int
PKCS5_PBKDF2_HMAC (const char          *pass,
                   int                  passlen,
                   const unsigned char *salt,
                   int                  saltlen,
                   int                  iter,
                   const EVP_MD        *digest,
                   int                  keylen,
                   unsigned char       *out)
{
  typedef int (*Pbkdf2Func) (const char *, int, const unsigned char *, int, int,
                             const EVP_MD *, int, unsigned char *);
  static Pbkdf2Func real;

  if (real == NULL)
    real = (Pbkdf2Func) dlsym (RTLD_NEXT, "PKCS5_PBKDF2_HMAC");
  g_assert_nonnull (real);
  return real (pass, passlen, salt, saltlen, MIN (iter, 1), digest, keylen, out);
}
#endif

/* g_error() stops with SIGTRAP, which libFuzzer does not catch: it would
 * exit without saving the input.  Turn it into the abort() it handles. */
static void
on_sigtrap (int signum)
{
  abort ();
}

void
mg_fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  signal (SIGTRAP, on_sigtrap);
}

char *
mg_fuzz_copy (const guint8 *data,
              gsize         size)
{
  char *copy = g_malloc (size > 0 ? size : 1);

  if (size > 0)
    memcpy (copy, data, size);
  return copy;
}

guint
mg_fuzz_check_replies (GString *replies,
                       gsize    start)
{
  const char *p = replies->str + start;
  const char *end = replies->str + replies->len;
  gboolean continued = FALSE;
  char code[3] = { 0 };
  guint n = 0;

  g_assert_cmpuint (start, <=, replies->len);
  g_assert_null (memchr (p, '\0', end - p));
  while (p < end)
    {
      const char *crlf = g_strstr_len (p, end - p, "\r\n");

      if (crlf == NULL)
        g_error ("reply not ended by CRLF: %s", p);
      if (memchr (p, '\r', crlf - p) != NULL || memchr (p, '\n', crlf - p) != NULL)
        g_error ("reply line with a bare CR or LF: %.*s", (int) (crlf - p), p);
      if (crlf - p < 4 || p[0] < '2' || p[0] > '5'
          || !g_ascii_isdigit (p[1]) || !g_ascii_isdigit (p[2])
          || (p[3] != ' ' && p[3] != '-'))
        g_error ("malformed reply line: %.*s", (int) (crlf - p), p);
      if (continued && memcmp (code, p, 3) != 0)
        g_error ("reply code changes inside a multi-line reply: %.*s", (int) (crlf - p), p);
      memcpy (code, p, 3);
      continued = p[3] == '-';
      if (!continued)
        n++;
      p = crlf + 2;
    }
  g_assert_false (continued);
  return n;
}

/* "$pbkdf2-sha256$1$SALT$HASH": the stored format, one iteration. */
static char *
fast_password_hash (const char *password)
{
  static const guchar salt[16] = "fuzz-salt-16byte";
  guchar hash[32];
  g_autofree char *salt_b64 = NULL;
  g_autofree char *hash_b64 = NULL;

  g_assert_true (PKCS5_PBKDF2_HMAC (password, (int) strlen (password), salt, sizeof salt,
                                    1, EVP_sha256 (), sizeof hash, hash) == 1);
  salt_b64 = g_base64_encode (salt, sizeof salt);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  return g_strdup_printf ("$pbkdf2-sha256$1$%s$%s", salt_b64, hash_b64);
}

static void
add_account_with_password (MgConfig   *config,
                           const char *address,
                           const char *password)
{
  g_autofree char *hash = fast_password_hash (password);
  g_autofree char *cram = mg_config_cram_md5_secret (password);

  g_assert_true (mg_config_password_verify (hash, password));
  mg_config_add_account_full (config, address, hash, cram);
}

static MgConfig *
build_config (gboolean tight,
              gboolean quiet)
{
  static const char * const to_alice[] = { "alice@corp.example", NULL };
  static const char * const to_both[] = { "alice@corp.example", "bob@corp.example", NULL };
  static const char * const to_domain[] = { "*@corp.example", NULL };
  MgConfig *config = mg_config_new_default ();

  mg_config_set_setting (config, "receiver.hostname", "mx.test.example");
  if (tight)
    {
      mg_config_set_setting (config, "receiver.max_recipients", "3");
      mg_config_set_setting (config, "receiver.max_message_size", "300");
      mg_config_set_setting (config, "receiver.max_line_length", "80");
      mg_config_set_setting (config, "receiver.max_received_headers", "2");
      mg_config_set_setting (config, "auth.max_failures", "2");
    }
  if (quiet)
    {
      mg_config_set_setting (config, "receiver.banner_show", "false");
      mg_config_set_setting (config, "receiver.vrfy", "true");
      mg_config_set_setting (config, "auth.require_tls", "false");
    }

  mg_config_add_domain (config, "corp.example", FALSE);
  mg_config_add_domain (config, "shared.example", TRUE);
  add_account_with_password (config, "alice@corp.example", MG_FUZZ_ALICE_PASSWORD);
  mg_config_add_account (config, "bob@corp.example", NULL);
  mg_config_add_account (config, "postmaster@corp.example", NULL);
  add_account_with_password (config, "user1@shared.example", MG_FUZZ_USER1_PASSWORD);
  mg_config_add_alias (config, "team@corp.example", to_both);
  mg_config_add_alias (config, "info@alias.example", to_alice);
  mg_config_add_alias (config, "*@wild.example", to_domain);
  mg_config_add_route (config, "corp.example", "192.0.2.10", 20025);
  g_assert_true (mg_config_add_relay_rule (config, "postmaster@corp.example", FALSE));
  g_assert_true (mg_config_add_relay_rule (config, "192.0.2.0/24", FALSE));
  g_assert_true (mg_config_add_relay_rule (config, "127.0.0.1", TRUE));
  g_assert_true (mg_config_add_relay_rule (config, ".trusted.example", TRUE));
  g_assert_true (mg_config_add_relay_rule (config, "@partner.example", TRUE));
  mg_config_seal (config);
  return config;
}

MgConfig *
mg_fuzz_get_config (gboolean tight,
                    gboolean quiet)
{
  static MgConfig *configs[4];
  guint index = (tight ? 1 : 0) | (quiet ? 2 : 0);

  if (configs[index] == NULL)
    configs[index] = build_config (tight, quiet);
  return configs[index];
}
