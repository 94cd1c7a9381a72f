/* mg-address.h - RFC 5321 paths, mailboxes and domains (pure functions)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * No I/O, no globals: everything here is tested with plain strings.
 * "Canonical" means: domain lower case, trailing dot removed; local part lower
 * case.  Canonical forms are lookup keys only; mail is forwarded with the
 * local part the client wrote.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_PATH_OK,
  MG_PATH_SYNTAX,          /* not a valid path: 501 5.1.3 / 553 5.1.3 */
  MG_PATH_TOO_LONG,        /* local part > 64 or domain > 255 or path > 256: 501 5.1.3 */
} MgPathStatus;

typedef struct
{
  char     *local_part;        /* unquoted form, case kept; "" for the null path */
  char     *domain;            /* as written (no brackets for literals); "" for the null path */
  char     *canonical;         /* canonical "local@domain"; "" for the null path */
  gboolean  null_path;         /* "<>" */
  gboolean  quoted;            /* local part was a quoted-string */
  gboolean  source_route;      /* "<@a,@b:user@c>" was given (route dropped per RFC 5321 C) */
  gboolean  domain_literal;    /* "[192.0.2.1]" or "[IPv6:...]" */
} MgPath;

/* Parse a path starting at @text (which points just after "FROM:" / "TO:",
 * optional spaces allowed before '<').  On MG_PATH_OK *@consumed is the
 * number of bytes up to and including '>', and *@path_out is set.
 * A missing '<' '>' pair is a syntax error (we are strict, as RFC 5321 says).
 */
MgPathStatus  mg_path_parse          (const char  *text,
                                      gsize        len,
                                      gsize       *consumed,
                                      MgPath     **path_out);
void          mg_path_free           (MgPath      *path);

/* TRUE when the local part carries routing syntax that could relay through
 * us: '%', '!', an '@' inside a quoted local part, or a source route. */
gboolean      mg_path_has_routing    (const MgPath *path);

/* A plain mailbox as used in configuration: "user@example.org".
 * Returns the canonical form or NULL when invalid. */
char         *mg_mailbox_canonical   (const char  *text);

/* Domains: valid = LDH labels of 1..63, total <= 253 (after removing one
 * trailing dot), at least one label.  Returns canonical or NULL. */
char         *mg_domain_canonical    (const char  *text);
gboolean      mg_domain_is_valid     (const char  *text);

/* A host for a route / smart host: a domain name, an IPv4 literal, or an IPv6
 * literal (with or without brackets).  Returns canonical (lower case, no
 * brackets) or NULL. */
char         *mg_host_canonical      (const char  *text);

/* Split "host[:port]" / "[v6]:port".  Returns FALSE on syntax error.
 * *@port_out is left at @default_port when no port is given. */
gboolean      mg_host_port_parse     (const char  *text,
                                      guint16      default_port,
                                      char       **host_out,
                                      guint16     *port_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgPath, mg_path_free)

G_END_DECLS
