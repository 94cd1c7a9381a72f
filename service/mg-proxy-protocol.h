/* mg-proxy-protocol.h - the PROXY protocol header, v1 and v2 (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A load balancer (HAProxy "send-proxy" / "send-proxy-v2") puts one header
 * in front of the SMTP bytes telling the real client address.
 * mg_proxy_parse() reads it from the first bytes of a connection: it says
 * whether more bytes are needed, how many bytes the header took, and the
 * addresses.  It does no I/O and trusts nothing: the caller must accept a
 * header only on a connection from a trusted proxy address, and must close
 * a connection whose header is invalid (the spec forbids falling back to
 * reading SMTP from it).
 *
 * Spec: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
 *
 * Threading: pure functions, any thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MG_PROXY_V1_MAX_LENGTH 107   /* "PROXY ...\r\n", CRLF included */

typedef enum
{
  MG_PROXY_NEED_MORE,    /* a valid beginning: read more bytes */
  MG_PROXY_OK,           /* header complete: see MgProxyHeader */
  MG_PROXY_INVALID,      /* not a PROXY header, or a broken one: close */
} MgProxyStatus;

typedef struct
{
  guint          version;        /* 1 or 2 */
  gboolean       local;          /* v2 LOCAL, v1 UNKNOWN, or an address family we
                                    do not relay (AF_UNIX, UNSPEC): keep the
                                    connection's own addresses */
  GInetAddress  *source;         /* NULL when local */
  guint16        source_port;
  GInetAddress  *destination;    /* NULL when local */
  guint16        destination_port;
  gsize          length;         /* bytes the header took (SMTP data starts after) */
} MgProxyHeader;

/* @why (nullable) gets a static English reason for MG_PROXY_INVALID.
 * On MG_PROXY_OK, @header is filled (clear it with mg_proxy_header_clear). */
MgProxyStatus mg_proxy_parse        (const guint8   *data,
                                     gsize           length,
                                     MgProxyHeader  *header,
                                     const char    **why);
void          mg_proxy_header_clear (MgProxyHeader  *header);

G_END_DECLS
