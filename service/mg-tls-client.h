/* mg-tls-client.h - outbound TLS (STARTTLS to the next hop, R-3.5)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * OpenSSL on a connected GSocket after the next hop said 220 to STARTTLS.
 * Encryption without certificate verification, as Postfix's "may" and
 * "encrypt" levels do: MX host names are not authenticated by DNS, so a
 * failed verification would only send the mail in clear or nowhere.
 * TLS 1.2 at least.  Blocking with the socket's timeout (g_socket_get_timeout).
 *
 * Threading: one connection is used by one thread at a time; the shared
 * SSL_CTX is created once.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MgTlsClient MgTlsClient;

/* Handshake on @socket (already connected; nothing buffered unread).
 * @server_name: SNI (ignored when an IP literal).  NULL with @error set on
 * failure. */
MgTlsClient *mg_tls_client_new        (GSocket      *socket,
                                       const char   *server_name,
                                       GError      **error);
/* close_notify (best effort) when @say_goodbye, then free. */
void         mg_tls_client_free       (MgTlsClient  *self,
                                       gboolean      say_goodbye);

/* Up to @len bytes; 0 at the end of the stream; -1 with @error. */
gssize       mg_tls_client_read       (MgTlsClient  *self,
                                       void         *buffer,
                                       gsize         len,
                                       GError      **error);
gboolean     mg_tls_client_write_all  (MgTlsClient  *self,
                                       const void   *data,
                                       gsize         len,
                                       GError      **error);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
const char  *mg_tls_client_describe   (MgTlsClient  *self);

G_END_DECLS
