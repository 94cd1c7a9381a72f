/* mg-route-table.h - where a recipient's mail goes (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * ..R-3.3: route table per domain, smart host for non-local mail,
 * "forward all received mail" switch, local mailboxes otherwise.
 */
#pragma once

#include "mg-config.h"

G_BEGIN_DECLS

typedef enum
{
  MG_NEXT_HOP_SMTP,        /* host:port from a route or the smart host */
  MG_NEXT_HOP_MX,          /* resolve the recipient domain (host = domain), port = delivery.port */
  MG_NEXT_HOP_MAILDIR,     /* local mailbox at @mailbox */
  MG_NEXT_HOP_NONE,        /* configuration gap: why says what is missing (temporary failure) */
} MgNextHopKind;

typedef struct
{
  MgNextHopKind  kind;
  char          *host;     /* SMTP / MX */
  guint16        port;     /* SMTP / MX */
  char          *mailbox;  /* MAILDIR: directory (template expanded, relative to state dir if not absolute) */
  char          *key;      /* grouping key: "smtp:host:port" (+ "|tls=1|auth=user" for a secured
                            route), "mx:domain:port", "maildir:path", "none" */
  char          *why;      /* "route corp.example -> 127.0.0.1:20025", "smart host 10.0.0.1:25", ... */
  gboolean       tls_required;   /* the route requires STARTTLS */
  char          *auth_user;      /* nullable: AUTH to the next hop (route credentials) */
  char          *auth_password;
} MgNextHop;

/* @address is "local@domain" with a canonical domain. */
MgNextHop *mg_route_lookup     (MgConfig   *config,
                                const char *address);
void       mg_next_hop_free    (MgNextHop  *hop);

/* configuration-time loop check.  Returns (transfer full) a
 * GPtrArray of English warning lines (char*, g_free), empty when none:
 * a route or the smart host pointing at one of our own listeners,
 * forward-all with a local domain that has neither route nor smart host,
 * wildcard aliases (R-2.3 method A). */
GPtrArray *mg_route_table_lint (MgConfig   *config);

/* The listener of ours that @host:@port would reach, or NULL (transfer none). */
const MgListenerSpec *mg_route_table_find_own_listener (MgConfig   *config,
                                                        const char *host,
                                                        guint16     port);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgNextHop, mg_next_hop_free)

G_END_DECLS
