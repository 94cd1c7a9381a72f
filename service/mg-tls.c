/* mg-tls.c - server-side TLS: contexts, certificate loading, non-blocking glue
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * OpenSSL works directly on the connection's file descriptor (SSL_set_fd);
 * the receiver's socket sources tell us when to call again.  Contexts allow
 * TLS 1.2 and 1.3 only, no compression and no renegotiation, and let a
 * write finish partially (the receiver keeps the rest of its buffer).
 *
 * Threading: see mg-tls.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <openssl/err.h>

#include "mg-tls.h"

typedef struct
{
  dev_t   dev;
  ino_t   ino;
  off_t   size;
  gint64  mtime_ns;
} FileId;

struct _MgTlsServer
{
  gatomicrefcount  ref_count;
  SSL_CTX         *ctx;
  char            *cert_file;
  char            *key_file;
  FileId           cert_id;
  FileId           key_id;
};

static gboolean
file_id (const char *path,
         FileId     *id)
{
  struct stat st;

  memset (id, 0, sizeof *id);
  if (stat (path, &st) != 0)
    return FALSE;
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->size = st.st_size;
  id->mtime_ns = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  return TRUE;
}

static gboolean
file_id_equal (const FileId *a,
               const FileId *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime_ns == b->mtime_ns;
}

/* The first queued OpenSSL error (or errno), as text; clears the queue. */
static char *
openssl_error_text (void)
{
  unsigned long code = ERR_get_error ();
  char buffer[256];

  if (code == 0)
    return g_strdup (errno != 0 ? g_strerror (errno) : "unknown error");
  ERR_error_string_n (code, buffer, sizeof buffer);
  ERR_clear_error ();
  return g_strdup (buffer);
}

static gboolean
set_tls_error (GError     **error,
               const char  *what,
               const char  *path)
{
  g_autofree char *text = openssl_error_text ();

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s: %s", what, path, text);
  return FALSE;
}

MgTlsServer *
mg_tls_server_new (const char  *cert_file,
                   const char  *key_file,
                   GError     **error)
{
  g_autoptr(MgTlsServer) self = NULL;

  g_return_val_if_fail (cert_file != NULL && key_file != NULL, NULL);

  self = g_new0 (MgTlsServer, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->cert_file = g_strdup (cert_file);
  self->key_file = g_strdup (key_file);
  /* identity first: a file replaced while we read it is seen as changed */
  file_id (cert_file, &self->cert_id);
  file_id (key_file, &self->key_id);

  ERR_clear_error ();
  self->ctx = SSL_CTX_new (TLS_server_method ());
  if (self->ctx == NULL)
    {
      set_tls_error (error, "creating a TLS context for", cert_file);
      return NULL;
    }
  /* TLS 1.2 is the floor */
  SSL_CTX_set_min_proto_version (self->ctx, TLS1_2_VERSION);
  SSL_CTX_set_options (self->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode (self->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode (self->ctx, SSL_SESS_CACHE_OFF);

  if (SSL_CTX_use_certificate_chain_file (self->ctx, cert_file) != 1)
    {
      set_tls_error (error, "cannot load the certificate", cert_file);
      return NULL;
    }
  if (SSL_CTX_use_PrivateKey_file (self->ctx, key_file, SSL_FILETYPE_PEM) != 1)
    {
      set_tls_error (error, "cannot load the private key", key_file);
      return NULL;
    }
  if (SSL_CTX_check_private_key (self->ctx) != 1)
    {
      set_tls_error (error, "the private key does not match the certificate", cert_file);
      return NULL;
    }
  return g_steal_pointer (&self);
}

MgTlsServer *
mg_tls_server_ref (MgTlsServer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mg_tls_server_unref (MgTlsServer *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  if (self->ctx != NULL)
    SSL_CTX_free (self->ctx);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_free (self);
}

gboolean
mg_tls_server_is_stale (MgTlsServer *self,
                        const char  *cert_file,
                        const char  *key_file)
{
  FileId cert_id, key_id;

  g_return_val_if_fail (self != NULL, TRUE);

  if (g_strcmp0 (self->cert_file, cert_file) != 0 || g_strcmp0 (self->key_file, key_file) != 0)
    return TRUE;
  file_id (cert_file, &cert_id);
  file_id (key_file, &key_id);
  return !file_id_equal (&cert_id, &self->cert_id) || !file_id_equal (&key_id, &self->key_id);
}

SSL *
mg_tls_server_new_ssl (MgTlsServer *self,
                       int          fd)
{
  SSL *ssl;

  g_return_val_if_fail (self != NULL, NULL);

  ssl = SSL_new (self->ctx);
  if (ssl == NULL)
    return NULL;
  SSL_set_fd (ssl, fd);
  SSL_set_accept_state (ssl);
  return ssl;
}

/* Maps the result @ret of an SSL call. */
static MgTlsIo
map_result (SSL   *ssl,
            int    ret,
            char **error_out)
{
  int code;

  errno = 0;
  code = SSL_get_error (ssl, ret);
  switch (code)
    {
    case SSL_ERROR_WANT_READ:
      return MG_TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
      return MG_TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
      return MG_TLS_IO_CLOSED;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error () == 0 && (errno == 0 || errno == ECONNRESET || errno == EPIPE))
        {
          ERR_clear_error ();
          return MG_TLS_IO_CLOSED;
        }
      G_GNUC_FALLTHROUGH;
    default:
      if (error_out != NULL)
        *error_out = openssl_error_text ();
      ERR_clear_error ();
      return MG_TLS_IO_ERROR;
    }
}

MgTlsIo
mg_tls_handshake (SSL   *ssl,
                  char **error_out)
{
  int ret;

  g_return_val_if_fail (ssl != NULL, MG_TLS_IO_ERROR);

  ERR_clear_error ();
  ret = SSL_do_handshake (ssl);
  if (ret == 1)
    return MG_TLS_IO_OK;
  return map_result (ssl, ret, error_out);
}

MgTlsIo
mg_tls_read (SSL    *ssl,
             void   *buffer,
             gsize   len,
             gsize  *n,
             char  **error_out)
{
  size_t done = 0;
  int ret;

  g_return_val_if_fail (ssl != NULL && n != NULL, MG_TLS_IO_ERROR);

  *n = 0;
  ERR_clear_error ();
  ret = SSL_read_ex (ssl, buffer, len, &done);
  if (ret == 1)
    {
      *n = done;
      return MG_TLS_IO_OK;
    }
  return map_result (ssl, ret, error_out);
}

MgTlsIo
mg_tls_write (SSL         *ssl,
              const void  *buffer,
              gsize        len,
              gsize       *n,
              char       **error_out)
{
  size_t done = 0;
  int ret;

  g_return_val_if_fail (ssl != NULL && n != NULL, MG_TLS_IO_ERROR);

  *n = 0;
  ERR_clear_error ();
  ret = SSL_write_ex (ssl, buffer, len, &done);
  if (ret == 1)
    {
      *n = done;
      return MG_TLS_IO_OK;
    }
  return map_result (ssl, ret, error_out);
}

char *
mg_tls_describe (SSL *ssl)
{
  const SSL_CIPHER *cipher;
  int bits = 0;

  g_return_val_if_fail (ssl != NULL, NULL);

  cipher = SSL_get_current_cipher (ssl);
  if (cipher != NULL)
    SSL_CIPHER_get_bits (cipher, &bits);
  return g_strdup_printf ("%s %s (%d bits)", SSL_get_version (ssl),
                          cipher != NULL ? SSL_CIPHER_get_name (cipher) : "?", bits);
}
