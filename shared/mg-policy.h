/* mg-policy.h - who may send what: aliases, accounts, relay rules (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every decision also appends its reason to @why (one short English line, no
 * trailing newline; never translated) so the trace can show, as the seed's
 * debug mode does, which alias, domain or relay rule matched.
 * @why may be NULL when nobody watches the trace.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"

G_BEGIN_DECLS

typedef enum
{
  MG_RELAY_NO_MATCH,       /* no rule matched: local mail only */
  MG_RELAY_ALLOW,          /* "true": this client/sender may relay */
  MG_RELAY_DENY,           /* "false": mail from this client/sender is refused */
} MgRelayDecision;

/* walk the ordered relay rules, first match wins.  @client may be
 * NULL; @client_host is the verified host name or NULL; @sender is the
 * canonical sender ("" for the null sender, which address rules never match).
 * *@rule_number (1-based) is set when a rule matched. */
MgRelayDecision mg_policy_match_relay_rules (MgConfig     *config,
                                             GInetAddress *client,
                                             const char   *client_host,
                                             const char   *sender,
                                             guint        *rule_number,
                                             GString      *why);

typedef enum
{
  MG_RCPT_ACCEPT,          /* targets filled */
  MG_RCPT_UNKNOWN_USER,    /* local domain or aliased domain, no such user: 550 5.1.1 */
  MG_RCPT_RELAY_DENIED,    /* not ours and relaying not allowed: 554 5.7.1 */
} MgRcptVerdict;

/* ..R-2.4: decide one recipient.
 * @local_part is as the client wrote it, @domain canonical.
 * Order: exact alias, wildcard alias of the domain, account of a local
 * domain (shared-box domains match on the local part alone), then relay.
 * On MG_RCPT_ACCEPT, the addresses to deliver to are appended to @targets
 * (char*, caller frees): alias targets, or "local_part@domain" itself.
 * Aliases expand one level (targets are real addresses). */
MgRcptVerdict   mg_policy_check_rcpt        (MgConfig     *config,
                                             const char   *local_part,
                                             const char   *domain,
                                             gboolean      relay_allowed,
                                             GPtrArray    *targets,
                                             GString      *why);

/* TRUE when @domain (canonical) is a local domain, or the domain of an alias
 * (such mail is ours to accept or refuse, never to relay). */
gboolean        mg_policy_is_our_domain     (MgConfig     *config,
                                             const char   *domain);

/* TRUE when @sender (canonical) is postmaster@<local or aliased
 * domain> or listed in receiver.protected_senders: an unauthenticated
 * client that no relay rule allows may not use it. */
gboolean        mg_policy_is_protected_sender (MgConfig   *config,
                                               const char *sender,
                                               GString    *why);

G_END_DECLS
