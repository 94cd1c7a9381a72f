/* mg-tls.h - server-side TLS: contexts, certificate loading, non-blocking glue
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgTlsServer is one OpenSSL server context made from a certificate
 * chain file and a key file (PEM), with TLS 1.2 as the floor (R-1.1,
 * It remembers which files it was made from and their identity
 * (inode, size, mtime) so the receiver can tell when they changed and load
 * a new one without a restart; connections keep the context they started
 * with.  The I/O helpers drive SSL objects attached to non-blocking sockets
 * and translate OpenSSL's results into "done / want read / want write /
 * closed / error".
 *
 * Threading: a context is reference counted and may be shared; each SSL
 * object belongs to one thread (the receiver's).
 */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>

G_BEGIN_DECLS

typedef struct _MgTlsServer MgTlsServer;

typedef enum
{
  MG_TLS_IO_OK,          /* done (*@n bytes for read/write) */
  MG_TLS_IO_WANT_READ,   /* wait until the socket is readable, then call again */
  MG_TLS_IO_WANT_WRITE,  /* wait until the socket is writable, then call again */
  MG_TLS_IO_CLOSED,      /* the peer closed the connection */
  MG_TLS_IO_ERROR,       /* protocol or socket error (*@error_out set) */
} MgTlsIo;

/* Loads @cert_file (chain, PEM) and @key_file (PEM) and checks that they
 * belong together.  (transfer full) */
MgTlsServer *mg_tls_server_new        (const char   *cert_file,
                                       const char   *key_file,
                                       GError      **error);
MgTlsServer *mg_tls_server_ref        (MgTlsServer  *self);
void         mg_tls_server_unref      (MgTlsServer  *self);

/* TRUE when @cert_file / @key_file are other paths than the ones @self was
 * made from, or the files changed since (inode, size or mtime). */
gboolean     mg_tls_server_is_stale   (MgTlsServer  *self,
                                       const char   *cert_file,
                                       const char   *key_file);

/* A server-side SSL on @fd (non-blocking socket).  (transfer full) */
SSL         *mg_tls_server_new_ssl    (MgTlsServer  *self,
                                       int           fd);

MgTlsIo      mg_tls_handshake         (SSL          *ssl,
                                       char        **error_out);
MgTlsIo      mg_tls_read              (SSL          *ssl,
                                       void         *buffer,
                                       gsize         len,
                                       gsize        *n,
                                       char        **error_out);
MgTlsIo      mg_tls_write             (SSL          *ssl,
                                       const void   *buffer,
                                       gsize         len,
                                       gsize        *n,
                                       char        **error_out);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits)" (transfer full) */
char        *mg_tls_describe          (SSL          *ssl);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgTlsServer, mg_tls_server_unref)

G_END_DECLS
