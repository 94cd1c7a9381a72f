/* test-lint.c - configuration lint findings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mg-lint.h"
#include "mg-settings.h"

#define NOW ((gint64) 1800000000)   /* 2027-01-15 */

/* The finding with @code and @setting, or NULL. */
static const MgLintFinding *
find (GPtrArray  *findings,
      const char *code,
      const char *setting)
{
  for (guint i = 0; i < findings->len; i++)
    {
      const MgLintFinding *f = g_ptr_array_index (findings, i);

      if (g_str_equal (f->code, code) && g_str_equal (f->setting, setting))
        return f;
    }
  return NULL;
}

static MgConfig *
gateway_config (void)
{
  MgConfig *config = mg_config_new_default ();

  mg_config_add_listener (config, "*", 25);
  mg_config_add_listener (config, "127.0.0.1", 2525);
  mg_config_add_domain (config, "corp.example", TRUE);
  mg_config_add_route (config, "corp.example", "192.168.0.10", 20025);
  mg_config_add_relay_rule (config, "192.168.0.10", TRUE);
  mg_config_add_relay_rule (config, "postmaster@corp.example", FALSE);
  return config;
}

static void
test_clean_config (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;

  mg_config_seal (config);
  findings = mg_lint_config (config, NOW);
  for (guint i = 0; i < findings->len; i++)
    g_test_message ("unexpected: %s %s", ((MgLintFinding *) findings->pdata[i])->code,
                    ((MgLintFinding *) findings->pdata[i])->setting);
  g_assert_cmpuint (findings->len, ==, 0);
}

/* a route or the smart host reaching one of our listeners */
static void
test_ping_pong (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const MgLintFinding *f;

  mg_config_add_route (config, "self.example", "127.0.0.2", 25);       /* via *:25 */
  mg_config_add_route (config, "mine.example", "localhost", 2525);
  mg_config_add_route (config, "far.example", "192.0.2.1", 2525);      /* not ours */
  mg_config_set_setting (config, "delivery.smarthost", "127.0.0.1:2525");
  mg_config_seal (config);

  findings = mg_lint_config (config, NOW);
  f = find (findings, MG_LINT_ROUTE_LOOP, "route self.example");
  g_assert_nonnull (f);
  g_assert_cmpint (f->severity, ==, MG_LINT_ERROR);
  g_assert_cmpstr (f->arg, ==, "*:25");
  f = find (findings, MG_LINT_ROUTE_LOOP, "route mine.example");
  g_assert_nonnull (f);
  g_assert_cmpstr (f->arg, ==, "127.0.0.1:2525");
  g_assert_null (find (findings, MG_LINT_ROUTE_LOOP, "route far.example"));
  g_assert_null (find (findings, MG_LINT_ROUTE_LOOP, "route corp.example"));
  f = find (findings, MG_LINT_SMARTHOST_LOOP, "delivery.smarthost");
  g_assert_nonnull (f);
  g_assert_cmpstr (f->arg, ==, "127.0.0.1:2525");
  g_assert_cmpuint (findings->len, ==, 3);
}

/* forward-all with a local domain that has nowhere to go */
static void
test_forward_all_gap (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const MgLintFinding *f;

  mg_config_add_domain (config, "lost.example", FALSE);
  mg_config_seal (config);

  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 1);
  f = find (findings, MG_LINT_FORWARD_ALL_NO_HOP, "delivery.forward_all");
  g_assert_nonnull (f);
  g_assert_cmpstr (f->arg, ==, "lost.example");

  /* a smart host catches it */
  mg_config_set_setting (config, "delivery.smarthost", "relay.provider.example");
  g_clear_pointer (&findings, g_ptr_array_unref);
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 0);

  /* forward-all off: local mailboxes take it */
  mg_config_set_setting (config, "delivery.smarthost", "");
  mg_config_set_setting (config, "delivery.forward_all", "false");
  g_clear_pointer (&findings, g_ptr_array_unref);
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 0);
}

/* method A: backscatter */
static void
test_wildcard_alias (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const char *wild[] = { "*@corp.example", NULL };
  const char *one[] = { "user1@corp.example", NULL };
  const MgLintFinding *f;

  mg_config_add_alias (config, "*@corp.example", wild);
  mg_config_add_alias (config, "user1@corp.example", one);
  mg_config_seal (config);

  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 1);
  f = find (findings, MG_LINT_WILDCARD_ALIAS, "alias *@corp.example");
  g_assert_nonnull (f);
  g_assert_cmpint (f->severity, ==, MG_LINT_WARNING);
  g_assert_cmpstr (f->arg, ==, "corp.example");
}

/* an allow rule for a whole public range */
static void
test_public_relay_range (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const MgLintFinding *f;

  mg_config_add_relay_rule (config, "10.0.0.0/8", TRUE);        /* 3: private: fine */
  mg_config_add_relay_rule (config, "0.0.0.0/0", TRUE);         /* 4: open */
  mg_config_add_relay_rule (config, "11.0.0.0/8", TRUE);        /* 5: public /8 */
  mg_config_add_relay_rule (config, "0.0.0.0/0", FALSE);        /* 6: deny: fine */
  mg_config_add_relay_rule (config, "198.51.100.0/24", TRUE);   /* 7: small: fine */
  mg_config_add_relay_rule (config, "::/0", TRUE);              /* 8: open */
  mg_config_add_relay_rule (config, "fc00::/7", TRUE);          /* 9: ULA: fine */
  mg_config_seal (config);

  findings = mg_lint_config (config, NOW);
  f = find (findings, MG_LINT_PUBLIC_RELAY_RANGE, "relay rule 4");
  g_assert_nonnull (f);
  g_assert_cmpstr (f->arg, ==, "0.0.0.0/0");
  g_assert_cmpint (f->severity, ==, MG_LINT_ERROR);
  g_assert_nonnull (find (findings, MG_LINT_PUBLIC_RELAY_RANGE, "relay rule 5"));
  g_assert_nonnull (find (findings, MG_LINT_PUBLIC_RELAY_RANGE, "relay rule 8"));
  g_assert_cmpuint (findings->len, ==, 3);
}

/* Errors come first, whatever the check order. */
static void
test_errors_first (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const char *wild[] = { "*@corp.example", NULL };

  mg_config_add_alias (config, "*@corp.example", wild);
  mg_config_add_relay_rule (config, "0.0.0.0/0", TRUE);
  mg_config_seal (config);

  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 2);
  g_assert_cmpint (((MgLintFinding *) findings->pdata[0])->severity, ==, MG_LINT_ERROR);
  g_assert_cmpint (((MgLintFinding *) findings->pdata[1])->severity, ==, MG_LINT_WARNING);
}

/* ---- certificates ---- */

static char *
write_certificate (const char *dir,
                   gint64      not_after)
{
  g_autofree char *path = g_build_filename (dir, "cert.pem", NULL);
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *cert = X509_new ();
  BIO *bio;

  g_assert_nonnull (key);
  X509_set_version (cert, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (cert), 1);
  ASN1_TIME_set (X509_getm_notBefore (cert), (time_t) (NOW - 86400));
  ASN1_TIME_set (X509_getm_notAfter (cert), (time_t) not_after);
  X509_NAME_add_entry_by_txt (X509_get_subject_name (cert), "CN", MBSTRING_ASC,
                              (const unsigned char *) "mx.corp.example", -1, -1, 0);
  X509_set_issuer_name (cert, X509_get_subject_name (cert));
  X509_set_pubkey (cert, key);
  g_assert_cmpint (X509_sign (cert, key, EVP_sha256 ()), >, 0);

  bio = BIO_new_file (path, "w");
  g_assert_nonnull (bio);
  g_assert_cmpint (PEM_write_bio_X509 (bio, cert), ==, 1);
  BIO_free (bio);
  X509_free (cert);
  EVP_PKEY_free (key);
  return g_steal_pointer (&path);
}

static void
test_certificate (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mg-lint-XXXXXX", NULL);
  g_autofree char *missing = NULL;
  g_autoptr(GPtrArray) findings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mg_lint_finding_free);
  const MgLintFinding *f;

  g_assert_nonnull (dir);

  /* 90 days left: nothing to say */
  {
    g_autofree char *path = write_certificate (dir, NOW + 90 * 86400);

    mg_lint_certificate (path, NOW, findings);
    g_assert_cmpuint (findings->len, ==, 0);
  }
  /* 10 days left: a warning naming the days */
  {
    g_autofree char *path = write_certificate (dir, NOW + 10 * 86400 + 60);

    mg_lint_certificate (path, NOW, findings);
    g_assert_cmpuint (findings->len, ==, 1);
    f = g_ptr_array_index (findings, 0);
    g_assert_cmpstr (f->code, ==, MG_LINT_CERT_EXPIRING);
    g_assert_cmpstr (f->setting, ==, "tls.cert");
    g_assert_cmpstr (f->arg, ==, "10");
    g_assert_cmpint (f->severity, ==, MG_LINT_WARNING);
    g_ptr_array_set_size (findings, 0);
  }
  /* expired yesterday: an error */
  {
    g_autofree char *path = write_certificate (dir, NOW - 86400);

    mg_lint_certificate (path, NOW, findings);
    g_assert_cmpuint (findings->len, ==, 1);
    f = g_ptr_array_index (findings, 0);
    g_assert_cmpstr (f->code, ==, MG_LINT_CERT_EXPIRED);
    g_assert_cmpint (f->severity, ==, MG_LINT_ERROR);
    g_ptr_array_set_size (findings, 0);
    g_unlink (path);
  }
  /* no such file */
  missing = g_build_filename (dir, "none.pem", NULL);
  mg_lint_certificate (missing, NOW, findings);
  g_assert_cmpuint (findings->len, ==, 1);
  g_assert_cmpstr (((MgLintFinding *) findings->pdata[0])->code, ==, MG_LINT_CERT_UNREADABLE);

  g_rmdir (dir);
}

/* tls.cert in the configuration is checked the same way */
static void
test_certificate_setting (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mg-lint-XXXXXX", NULL);
  g_autofree char *path = write_certificate (dir, NOW + 5 * 86400 + 60);
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const MgLintFinding *f;

  mg_config_set_setting (config, "tls.cert", path);
  mg_config_seal (config);
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 1);
  f = find (findings, MG_LINT_CERT_EXPIRING, "tls.cert");
  g_assert_nonnull (f);
  g_assert_cmpstr (f->arg, ==, "5");

  g_unlink (path);
  g_rmdir (dir);
}

/* AUTH PLAIN/LOGIN must not be usable without TLS */
static void
test_auth_without_tls (void)
{
  g_autoptr(MgConfig) config = gateway_config ();
  g_autoptr(GPtrArray) findings = NULL;
  const MgLintFinding *f;

  mg_config_set_setting (config, "auth.methods", "PLAIN,LOGIN,CRAM-MD5");
  mg_config_set_setting (config, "auth.require_tls", "false");
  mg_config_seal (config);

  /* no certificate at all: passwords always in clear */
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 1);
  f = find (findings, MG_LINT_AUTH_WITHOUT_TLS, "auth.require_tls");
  g_assert_nonnull (f);
  g_assert_cmpint (f->severity, ==, MG_LINT_ERROR);
  g_assert_cmpstr (f->arg, ==, "PLAIN,LOGIN,CRAM-MD5");

  /* only CRAM-MD5: no password crosses the wire */
  mg_config_set_setting (config, "auth.methods", "CRAM-MD5");
  g_clear_pointer (&findings, g_ptr_array_unref);
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 0);

  /* required TLS: fine */
  mg_config_set_setting (config, "auth.methods", "PLAIN");
  mg_config_set_setting (config, "auth.require_tls", "true");
  g_clear_pointer (&findings, g_ptr_array_unref);
  findings = mg_lint_config (config, NOW);
  g_assert_cmpuint (findings->len, ==, 0);
}

/* ---- texts and the wire form ---- */

static void
test_texts (void)
{
  g_autoptr(MgLintFinding) f =
    mg_lint_finding_new (MG_LINT_ERROR, MG_LINT_FORWARD_ALL_NO_HOP,
                         "delivery.forward_all", "lost.example");
  g_autoptr(MgLintFinding) unknown =
    mg_lint_finding_new (MG_LINT_WARNING, "from-the-future", "x.y", "z");
  g_autofree char *message = NULL;
  g_autofree char *fix = NULL;
  g_autofree char *unknown_message = NULL;

  message = mg_lint_finding_message (f);
  fix = mg_lint_finding_fix (f);
  g_assert_nonnull (strstr (message, "delivery.forward_all is on"));
  g_assert_nonnull (strstr (message, "lost.example"));
  g_assert_cmpstr (fix, ==, "Add a route for lost.example (route add lost.example HOST PORT) "
                   "or set delivery.smarthost; delivery.forward_all stays on.");
  unknown_message = mg_lint_finding_message (unknown);
  g_assert_cmpstr (unknown_message, ==, "x.y: from-the-future (z)");
}

static void
test_variant_round_trip (void)
{
  g_autoptr(GPtrArray) findings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mg_lint_finding_free);
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GVariant) variant = NULL;
  const MgLintFinding *f;

  g_ptr_array_add (findings, mg_lint_finding_new (MG_LINT_ERROR, MG_LINT_ROUTE_LOOP,
                                                  "route a.example", "*:25"));
  g_ptr_array_add (findings, mg_lint_finding_new (MG_LINT_WARNING, MG_LINT_WILDCARD_ALIAS,
                                                  "alias *@a.example", "a.example"));
  variant = g_variant_ref_sink (mg_lint_findings_to_variant (findings));
  g_assert_cmpstr (g_variant_get_type_string (variant), ==, "a(ssss)");
  back = mg_lint_findings_from_variant (variant);
  g_assert_cmpuint (back->len, ==, 2);
  f = g_ptr_array_index (back, 0);
  g_assert_cmpint (f->severity, ==, MG_LINT_ERROR);
  g_assert_cmpstr (f->code, ==, MG_LINT_ROUTE_LOOP);
  g_assert_cmpstr (f->setting, ==, "route a.example");
  g_assert_cmpstr (f->arg, ==, "*:25");
  f = g_ptr_array_index (back, 1);
  g_assert_cmpint (f->severity, ==, MG_LINT_WARNING);
}

int
main (int argc, char **argv)
{
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lint/clean", test_clean_config);
  g_test_add_func ("/lint/ping-pong", test_ping_pong);                   /* */
  g_test_add_func ("/lint/forward-all-gap", test_forward_all_gap);       /* */
  g_test_add_func ("/lint/wildcard-alias", test_wildcard_alias);         /* */
  g_test_add_func ("/lint/public-relay-range", test_public_relay_range); /* */
  g_test_add_func ("/lint/errors-first", test_errors_first);
  g_test_add_func ("/lint/certificate", test_certificate);
  g_test_add_func ("/lint/certificate-setting", test_certificate_setting);
  g_test_add_func ("/lint/auth-without-tls", test_auth_without_tls);
  g_test_add_func ("/lint/texts", test_texts);
  g_test_add_func ("/lint/variant", test_variant_round_trip);

  return g_test_run ();
}
