/* mg-tls-client.c - outbound TLS (STARTTLS to the next hop, R-3.5)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * GSocket keeps its descriptor non-blocking, so every OpenSSL call runs in
 * a loop: on SSL_ERROR_WANT_READ / WANT_WRITE we poll() the descriptor for
 * at most the socket's timeout.  The SSL_CTX is shared by every connection
 * (created once; OpenSSL contexts are thread-safe once set up).
 *
 * Owns: its SSL object (not the socket).
 * Threading: one thread at a time per connection.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mg-tls-client.h"

struct _MgTlsClient
{
  GSocket  *socket;       /* not owned */
  SSL      *ssl;
  int       fd;
  int       timeout_ms;   /* -1 = none */
  char     *description;
};

static SSL_CTX *
client_context (void)
{
  static gsize once = 0;
  static SSL_CTX *ctx = NULL;

  if (g_once_init_enter (&once))
    {
      ctx = SSL_CTX_new (TLS_client_method ());
      if (ctx != NULL)
        {
          SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
          /* opportunistic / encrypt-only: see the header */
          SSL_CTX_set_verify (ctx, SSL_VERIFY_NONE, NULL);
          SSL_CTX_set_mode (ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        }
      g_once_init_leave (&once, 1);
    }
  return ctx;
}

static void
set_tls_error (GError     **error,
               const char  *what)
{
  unsigned long code = ERR_get_error ();
  char text[256] = "unknown error";

  if (code != 0)
    ERR_error_string_n (code, text, sizeof text);
  ERR_clear_error ();
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS %s: %s", what, text);
}

/* Wait until the descriptor is ready for what OpenSSL asked. */
static gboolean
wait_ready (MgTlsClient  *self,
            int           ssl_error,
            GError      **error)
{
  struct pollfd pfd = {
    .fd = self->fd,
    .events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN,
  };
  int rc;

  do
    rc = poll (&pfd, 1, self->timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc > 0)
    return TRUE;
  if (rc == 0)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "TLS: timed out");
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "TLS: %s",
                 g_strerror (errno));
  return FALSE;
}

/* TRUE: retry the call; FALSE: @error set (or clean EOF: *eof). */
static gboolean
should_retry (MgTlsClient  *self,
              int           rc,
              const char   *what,
              gboolean     *eof,
              GError      **error)
{
  int ssl_error = SSL_get_error (self->ssl, rc);

  switch (ssl_error)
    {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return wait_ready (self, ssl_error, error);
    case SSL_ERROR_ZERO_RETURN:
      if (eof != NULL)
        {
          *eof = TRUE;
          return FALSE;
        }
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                   "TLS %s: connection closed", what);
      return FALSE;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error () == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "TLS %s: connection closed by the next hop", what);
          return FALSE;
        }
      G_GNUC_FALLTHROUGH;
    default:
      set_tls_error (error, what);
      return FALSE;
    }
}

MgTlsClient *
mg_tls_client_new (GSocket     *socket,
                   const char  *server_name,
                   GError     **error)
{
  SSL_CTX *ctx = client_context ();
  MgTlsClient *self;
  guint timeout;
  int rc;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  if (ctx == NULL)
    {
      set_tls_error (error, "context");
      return NULL;
    }

  self = g_new0 (MgTlsClient, 1);
  self->socket = socket;
  self->fd = g_socket_get_fd (socket);
  timeout = g_socket_get_timeout (socket);
  self->timeout_ms = timeout > 0 ? (int) MIN (timeout, G_MAXINT / 1000) * 1000 : -1;
  self->ssl = SSL_new (ctx);
  if (self->ssl == NULL || SSL_set_fd (self->ssl, self->fd) != 1)
    {
      set_tls_error (error, "set-up");
      mg_tls_client_free (self, FALSE);
      return NULL;
    }
  if (server_name != NULL && !g_hostname_is_ip_address (server_name))
    SSL_set_tlsext_host_name (self->ssl, server_name);

  while ((rc = SSL_connect (self->ssl)) != 1)
    {
      if (!should_retry (self, rc, "handshake", NULL, error))
        {
          mg_tls_client_free (self, FALSE);
          return NULL;
        }
    }
  self->description = g_strdup_printf ("%s %s", SSL_get_version (self->ssl),
                                       SSL_get_cipher_name (self->ssl));
  return self;
}

void
mg_tls_client_free (MgTlsClient *self,
                    gboolean     say_goodbye)
{
  if (self == NULL)
    return;
  if (self->ssl != NULL)
    {
      if (say_goodbye)
        SSL_shutdown (self->ssl);   /* one try; the peer's answer is not awaited */
      SSL_free (self->ssl);
    }
  ERR_clear_error ();
  g_free (self->description);
  g_free (self);
}

gssize
mg_tls_client_read (MgTlsClient  *self,
                    void         *buffer,
                    gsize         len,
                    GError      **error)
{
  g_return_val_if_fail (self != NULL, -1);

  for (;;)
    {
      gboolean eof = FALSE;
      int rc = SSL_read (self->ssl, buffer, (int) MIN (len, G_MAXINT));

      if (rc > 0)
        return rc;
      if (!should_retry (self, rc, "read", &eof, error))
        return eof ? 0 : -1;
    }
}

gboolean
mg_tls_client_write_all (MgTlsClient  *self,
                         const void   *data,
                         gsize         len,
                         GError      **error)
{
  const char *p = data;

  g_return_val_if_fail (self != NULL, FALSE);

  while (len > 0)
    {
      int rc = SSL_write (self->ssl, p, (int) MIN (len, G_MAXINT));

      if (rc > 0)
        {
          p += rc;
          len -= (gsize) rc;
          continue;
        }
      if (!should_retry (self, rc, "write", NULL, error))
        return FALSE;
    }
  return TRUE;
}

const char *
mg_tls_client_describe (MgTlsClient *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->description;
}
