/* mg-proxy-protocol.c - the PROXY protocol header, v1 and v2 (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * v1 is one text line, "PROXY TCP4|TCP6|UNKNOWN SRC DST SPORT DPORT\r\n",
 * at most 107 bytes; v2 is a 16-byte binary prefix (12-byte signature,
 * version/command, family/protocol, length) followed by the addresses and
 * optional TLVs, which are skipped.  Both are checked strictly: single
 * spaces, decimal ports without leading zeros, addresses of the family
 * announced; anything else is MG_PROXY_INVALID.
 *
 * Threading: pure functions, any thread.
 */
#include "config.h"

#include <string.h>

#include "mg-proxy-protocol.h"

static const guint8 v2_signature[12] = {
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V1_PREFIX "PROXY "

void
mg_proxy_header_clear (MgProxyHeader *header)
{
  if (header == NULL)
    return;
  g_clear_object (&header->source);
  g_clear_object (&header->destination);
  memset (header, 0, sizeof *header);
}

static MgProxyStatus
invalid (const char **why,
         const char  *reason)
{
  if (why != NULL)
    *why = reason;
  return MG_PROXY_INVALID;
}

/* ---- v1 ---- */

static gboolean
parse_port (const char *text,
            guint16    *port_out)
{
  guint64 value;

  if (text[0] == '0' && text[1] != '\0')
    return FALSE;                      /* no leading zeros */
  if (!g_ascii_string_to_unsigned (text, 10, 0, 65535, &value, NULL))
    return FALSE;
  *port_out = (guint16) value;
  return TRUE;
}

static GInetAddress *
parse_address (const char    *text,
               GSocketFamily  family)
{
  g_autoptr(GInetAddress) address = NULL;

  /* g_inet_address_new_from_string() accepts forms the spec does not
   * (e.g. IPv4 in an IPv6 line): check the family too */
  if (*text == '\0' || strspn (text, "0123456789abcdefABCDEF.:") != strlen (text))
    return NULL;
  address = g_inet_address_new_from_string (text);
  if (address == NULL || g_inet_address_get_family (address) != family)
    return NULL;
  return g_steal_pointer (&address);
}

static MgProxyStatus
parse_v1 (const guint8   *data,
          gsize           length,
          MgProxyHeader  *header,
          const char    **why)
{
  const guint8 *end = memchr (data, '\n', MIN (length, MG_PROXY_V1_MAX_LENGTH));
  g_autofree char *line = NULL;
  g_auto(GStrv) words = NULL;
  GSocketFamily family;
  gsize line_length;

  if (end == NULL)
    {
      if (length >= MG_PROXY_V1_MAX_LENGTH)
        return invalid (why, "v1 header longer than 107 bytes");
      if (memchr (data, '\0', length) != NULL)
        return invalid (why, "NUL in a v1 header");
      return MG_PROXY_NEED_MORE;
    }
  line_length = end - data + 1;
  if (line_length < 2 || end[-1] != '\r')
    return invalid (why, "v1 header does not end with CRLF");

  line = g_strndup ((const char *) data, line_length - 2);
  if (strlen (line) != line_length - 2)
    return invalid (why, "NUL in a v1 header");
  words = g_strsplit (line, " ", -1);

  if (g_strv_length (words) >= 2 && g_str_equal (words[1], "UNKNOWN"))
    {
      header->version = 1;
      header->local = TRUE;              /* the rest of the line is ignored */
      header->length = line_length;
      return MG_PROXY_OK;
    }
  if (g_strv_length (words) != 6)
    return invalid (why, "v1 header: expected PROXY TCP4|TCP6 SRC DST SPORT DPORT");
  if (g_str_equal (words[1], "TCP4"))
    family = G_SOCKET_FAMILY_IPV4;
  else if (g_str_equal (words[1], "TCP6"))
    family = G_SOCKET_FAMILY_IPV6;
  else
    return invalid (why, "v1 header: unknown protocol");

  header->source = parse_address (words[2], family);
  header->destination = parse_address (words[3], family);
  if (header->source == NULL || header->destination == NULL)
    {
      mg_proxy_header_clear (header);
      return invalid (why, "v1 header: bad address");
    }
  if (!parse_port (words[4], &header->source_port) ||
      !parse_port (words[5], &header->destination_port))
    {
      mg_proxy_header_clear (header);
      return invalid (why, "v1 header: bad port");
    }
  header->version = 1;
  header->length = line_length;
  return MG_PROXY_OK;
}

/* ---- v2 ---- */

enum
{
  V2_HEADER_LENGTH = 16,
  V2_CMD_LOCAL = 0x0,
  V2_CMD_PROXY = 0x1,
  V2_AF_UNSPEC = 0x0,
  V2_AF_INET = 0x1,
  V2_AF_INET6 = 0x2,
  V2_AF_UNIX = 0x3,
  V2_PROTO_STREAM = 0x1,
};

static MgProxyStatus
parse_v2 (const guint8   *data,
          gsize           length,
          MgProxyHeader  *header,
          const char    **why)
{
  guint version = data[12] >> 4, command = data[12] & 0x0f;
  guint family = data[13] >> 4, protocol = data[13] & 0x0f;
  gsize body = ((gsize) data[14] << 8) | data[15];
  gsize address_length;
  const guint8 *a = data + V2_HEADER_LENGTH;

  if (version != 2)
    return invalid (why, "v2 header: version is not 2");
  if (command != V2_CMD_LOCAL && command != V2_CMD_PROXY)
    return invalid (why, "v2 header: unknown command");
  if (length < V2_HEADER_LENGTH + body)
    return MG_PROXY_NEED_MORE;

  header->version = 2;
  header->length = V2_HEADER_LENGTH + body;
  if (command == V2_CMD_LOCAL || family == V2_AF_UNSPEC || family == V2_AF_UNIX)
    {
      if (family > V2_AF_UNIX)
        return invalid (why, "v2 header: unknown address family");
      header->local = TRUE;            /* health checks; UNIX peers: keep ours */
      return MG_PROXY_OK;
    }
  if (family != V2_AF_INET && family != V2_AF_INET6)
    return invalid (why, "v2 header: unknown address family");
  if (protocol != V2_PROTO_STREAM)
    return invalid (why, "v2 header: not a stream (TCP) connection");

  address_length = family == V2_AF_INET ? 4 : 16;
  if (body < 2 * address_length + 4)
    return invalid (why, "v2 header: too short for its addresses");

  header->source = g_inet_address_new_from_bytes (a, family == V2_AF_INET
                                                  ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
  header->destination = g_inet_address_new_from_bytes (a + address_length,
                                                       family == V2_AF_INET
                                                       ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
  a += 2 * address_length;
  header->source_port = (guint16) ((a[0] << 8) | a[1]);
  header->destination_port = (guint16) ((a[2] << 8) | a[3]);
  return MG_PROXY_OK;                  /* TLVs after the addresses: skipped */
}

/**
 * mg_proxy_parse:
 * @data: the first bytes received on the connection
 * @length: how many
 * @header: (out caller-allocates): zeroed by the caller; filled on %MG_PROXY_OK
 * @why: (out) (optional): reason for %MG_PROXY_INVALID
 *
 * Returns: whether @data starts with a complete, valid PROXY header
 */
MgProxyStatus
mg_proxy_parse (const guint8   *data,
                gsize           length,
                MgProxyHeader  *header,
                const char    **why)
{
  gsize n;

  g_return_val_if_fail (data != NULL || length == 0, MG_PROXY_INVALID);
  g_return_val_if_fail (header != NULL, MG_PROXY_INVALID);

  memset (header, 0, sizeof *header);

  n = MIN (length, sizeof v2_signature);
  if (memcmp (data, v2_signature, n) == 0)
    return length < V2_HEADER_LENGTH ? MG_PROXY_NEED_MORE : parse_v2 (data, length, header, why);

  n = MIN (length, strlen (V1_PREFIX));
  if (memcmp (data, V1_PREFIX, n) == 0)
    return length <= strlen (V1_PREFIX) ? MG_PROXY_NEED_MORE : parse_v1 (data, length, header, why);

  return invalid (why, "no PROXY protocol header");
}
