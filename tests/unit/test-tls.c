/* test-tls.c - server TLS contexts: loading, reload detection, handshakes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Certificates are made at test time with the openssl CLI
 * in a temp dir.  Handshakes run in-process over a socketpair: the server
 * side through mg-tls.c on a non-blocking socket, the client side plain
 * OpenSSL, stepped alternately until both finish.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/ssl.h>

#include "mg-config-store.h"
#include "mg-tls.h"

typedef struct
{
  char *dir;
  char *cert;
  char *key;
  char *other_cert;
  char *other_key;
} Fixture;

static void
make_cert (const char *dir,
           const char *stem,
           char      **cert_out,
           char      **key_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, stem);
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, stem);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                         "-subj", "/CN=mx.test.example", "-keyout", key, "-out", cert, NULL };
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  *cert_out = g_steal_pointer (&cert);
  *key_out = g_steal_pointer (&key);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("mg-test-tls-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  make_cert (f->dir, "one", &f->cert, &f->key);
  make_cert (f->dir, "two", &f->other_cert, &f->other_key);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->cert);
  g_free (f->key);
  g_free (f->other_cert);
  g_free (f->other_key);
}

static void
test_load (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgTlsServer) server = NULL;
  g_autoptr(MgTlsServer) mismatched = NULL;
  g_autoptr(MgTlsServer) missing = NULL;
  g_autofree char *nowhere = g_build_filename (f->dir, "nowhere.pem", NULL);

  server = mg_tls_server_new (f->cert, f->key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (server);

  mismatched = mg_tls_server_new (f->cert, f->other_key, &error);
  g_assert_null (mismatched);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  /* OpenSSL refuses the key itself ("key values mismatch"), or our own check does */
  g_assert_true (strstr (error->message, "mismatch") != NULL ||
                 strstr (error->message, "does not match") != NULL);
  g_clear_error (&error);

  missing = mg_tls_server_new (nowhere, f->key, &error);
  g_assert_null (missing);
  g_assert_nonnull (strstr (error->message, nowhere));
}

/* The receiver reloads when the paths or the files change. */
static void
test_stale (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgTlsServer) server = mg_tls_server_new (f->cert, f->key, &error);
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_no_error (error);
  g_assert_false (mg_tls_server_is_stale (server, f->cert, f->key));
  g_assert_true (mg_tls_server_is_stale (server, f->other_cert, f->key));
  g_assert_true (mg_tls_server_is_stale (server, f->cert, f->other_key));

  /* a renewal: new content at the same path (rename over it) */
  g_assert_true (g_file_get_contents (f->other_cert, &contents, &len, NULL));
  {
    g_autofree char *tmp = g_strconcat (f->cert, ".new", NULL);

    g_assert_true (g_file_set_contents (tmp, contents, len, NULL));
    g_assert_cmpint (g_rename (tmp, f->cert), ==, 0);
  }
  g_assert_true (mg_tls_server_is_stale (server, f->cert, f->key));
}

static void
set_nonblocking (int fd)
{
  g_assert_cmpint (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK), ==, 0);
}

/* Steps server (mg-tls) and client (plain OpenSSL) until both are done or
 * one fails.  Returns the server's last result. */
static MgTlsIo
handshake_pair (SSL   *server,
                SSL   *client,
                char **server_error)
{
  MgTlsIo s = MG_TLS_IO_WANT_READ;
  int c = 0;

  for (int i = 0; i < 100; i++)
    {
      if (c != 1)
        {
          c = SSL_do_handshake (client);
          if (c != 1 && SSL_get_error (client, c) != SSL_ERROR_WANT_READ &&
              SSL_get_error (client, c) != SSL_ERROR_WANT_WRITE)
            c = -100;
        }
      if (s == MG_TLS_IO_WANT_READ || s == MG_TLS_IO_WANT_WRITE)
        s = mg_tls_handshake (server, server_error);
      if ((s == MG_TLS_IO_OK && c == 1) || s == MG_TLS_IO_ERROR || s == MG_TLS_IO_CLOSED)
        break;
      if (c == -100)
        {
          /* the client gave up: let the server see what it sent */
          s = mg_tls_handshake (server, server_error);
          break;
        }
    }
  return s;
}

static void
run_handshake (Fixture    *f,
               int         client_max_version,
               MgTlsIo    *result,
               char      **description)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MgTlsServer) server = mg_tls_server_new (f->cert, f->key, &error);
  g_autofree char *server_error = NULL;
  SSL_CTX *client_ctx = SSL_CTX_new (TLS_client_method ());
  SSL *client, *ssl;
  int fds[2];

  g_assert_no_error (error);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  set_nonblocking (fds[0]);
  set_nonblocking (fds[1]);

  SSL_CTX_set_security_level (client_ctx, 0);
  SSL_CTX_set_cipher_list (client_ctx, "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version (client_ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version (client_ctx, client_max_version);
  client = SSL_new (client_ctx);
  SSL_set_fd (client, fds[1]);
  SSL_set_connect_state (client);

  ssl = mg_tls_server_new_ssl (server, fds[0]);
  g_assert_nonnull (ssl);
  *result = handshake_pair (ssl, client, &server_error);
  if (*result == MG_TLS_IO_OK)
    {
      const char hello[] = "220 hello\r\n";
      char buffer[64];
      gsize n = 0;
      int got;

      *description = mg_tls_describe (ssl);
      g_assert_cmpint (mg_tls_write (ssl, hello, strlen (hello), &n, NULL), ==, MG_TLS_IO_OK);
      g_assert_cmpuint (n, ==, strlen (hello));
      got = SSL_read (client, buffer, sizeof buffer);
      g_assert_cmpint (got, ==, (int) strlen (hello));
      g_assert_cmpmem (buffer, got, hello, strlen (hello));
      g_assert_cmpint (mg_tls_read (ssl, buffer, sizeof buffer, &n, NULL), ==, MG_TLS_IO_WANT_READ);
      SSL_write (client, "QUIT\r\n", 6);
      g_assert_cmpint (mg_tls_read (ssl, buffer, sizeof buffer, &n, NULL), ==, MG_TLS_IO_OK);
      g_assert_cmpmem (buffer, n, "QUIT\r\n", 6);
      SSL_shutdown (client);
      g_assert_cmpint (mg_tls_read (ssl, buffer, sizeof buffer, &n, NULL), ==, MG_TLS_IO_CLOSED);
    }
  SSL_free (ssl);
  SSL_free (client);
  SSL_CTX_free (client_ctx);
  close (fds[0]);
  close (fds[1]);
}

/* TLS 1.2 and 1.3 shake hands, TLS 1.1 does not. */
static void
test_handshake_floor (Fixture       *f,
                      gconstpointer  data)
{
  static const struct { int max; MgTlsIo result; const char *prefix; } cases[] = {
    { TLS1_3_VERSION, MG_TLS_IO_OK, "TLSv1.3 " },
    { TLS1_2_VERSION, MG_TLS_IO_OK, "TLSv1.2 " },
    { TLS1_1_VERSION, MG_TLS_IO_ERROR, NULL },
    { TLS1_VERSION, MG_TLS_IO_ERROR, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *description = NULL;
      MgTlsIo result = MG_TLS_IO_OK;

      run_handshake (f, cases[i].max, &result, &description);
      g_assert_cmpint (result, ==, cases[i].result);
      if (cases[i].prefix != NULL)
        g_assert_true (g_str_has_prefix (description, cases[i].prefix));
    }
}

/* "ADDR:PORT/tls" marks an implicit-TLS listener. */
static void
test_listener_spec (Fixture       *f,
                    gconstpointer  data)
{
  static const struct { const char *spec; gboolean valid; const char *address;
                        guint16 port; gboolean tls; const char *formatted; } cases[] = {
    { "*:465/tls", TRUE, "*", 465, TRUE, "*:465/tls" },
    { "127.0.0.1:0/tls", TRUE, "127.0.0.1", 0, TRUE, "127.0.0.1:0/tls" },
    { "[::1]:465/tls", TRUE, "::1", 465, TRUE, "[::1]:465/tls" },
    { "127.0.0.1:25", TRUE, "127.0.0.1", 25, FALSE, "127.0.0.1:25" },
    { "127.0.0.1:465/ssl", FALSE, NULL, 0, FALSE, NULL },
    { "127.0.0.1:465/TLS", FALSE, NULL, 0, FALSE, NULL },
    { "127.0.0.1/tls", FALSE, NULL, 0, FALSE, NULL },
    { "/tls", FALSE, NULL, 0, FALSE, NULL },
    { "127.0.0.1:465/tls/tls", FALSE, NULL, 0, FALSE, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *address = NULL;
      g_autofree char *formatted = NULL;
      guint16 port = 0;
      gboolean tls = FALSE;

      g_test_message ("spec %s", cases[i].spec);
      g_assert_cmpint (mg_listener_spec_parse_full (cases[i].spec, &address, &port, &tls), ==,
                       cases[i].valid);
      if (!cases[i].valid)
        continue;
      g_assert_cmpstr (address, ==, cases[i].address);
      g_assert_cmpuint (port, ==, cases[i].port);
      g_assert_cmpint (tls, ==, cases[i].tls);
      formatted = mg_listener_spec_format_full (address, port, tls);
      g_assert_cmpstr (formatted, ==, cases[i].formatted);
      /* the plain parser cannot report the marker, so it refuses it */
      g_assert_cmpint (mg_listener_spec_parse (cases[i].spec, NULL, NULL), ==, !cases[i].tls);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/tls/load", test_load);
  ADD ("/tls/stale", test_stale);
  ADD ("/tls/handshake-floor", test_handshake_floor);
  ADD ("/tls/listener-spec", test_listener_spec);

  return g_test_run ();
}
