/* mg-resolver.h - MX / A / AAAA lookups through libunbound
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgResolver owns one libunbound context (the hosts file loaded, the
 * forwarder of dns.forwarder or the system resolver), a resolver thread
 * that runs the asynchronous queries (ub_resolve_async, ub_fd polled,
 * ub_process), and a cache of answers kept for their TTL.  Delivery
 * workers call the blocking lookups below: an answer in the cache returns
 * at once, otherwise the worker waits for the resolver thread (one query in
 * flight per name and type, however many workers ask).
 *
 * Threading: any thread; refcounted.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MG_RESOLVER_ERROR (mg_resolver_error_quark ())

typedef enum
{
  MG_RESOLVER_ERROR_TEMPORARY,   /* SERVFAIL, timeout, no address yet: retry */
  MG_RESOLVER_ERROR_NOT_FOUND,   /* NXDOMAIN: permanent */
  MG_RESOLVER_ERROR_NULL_MX,     /* RFC 7505: the domain accepts no mail; permanent */
  MG_RESOLVER_ERROR_SETUP,       /* the context could not be set up */
} MgResolverError;

typedef struct
{
  char       *name;        /* MX host name (or the domain itself: implicit MX) */
  guint       preference;
  GPtrArray  *addresses;   /* GInetAddress*, IPv4 first */
} MgMailHost;

typedef struct _MgResolver MgResolver;

GQuark      mg_resolver_error_quark     (void);

/* @forwarder: "IP[@PORT]", or NULL / "" for the system resolver
 * (resolv.conf).  The hosts file is honoured either way. */
MgResolver *mg_resolver_new             (const char  *forwarder,
                                         GError     **error);
MgResolver *mg_resolver_ref             (MgResolver  *self);
void        mg_resolver_unref           (MgResolver  *self);
const char *mg_resolver_get_forwarder   (MgResolver  *self);

/* A and AAAA of @name (IPv4 first).  Returns (transfer full)
 * GInetAddress* array, or NULL with @error set. */
GPtrArray  *mg_resolver_lookup_host     (MgResolver  *self,
                                         const char  *name,
                                         guint        timeout_seconds,
                                         GError     **error);

/* Where mail for @domain goes: its MX hosts in preference order, each with
 * its addresses (hosts without any are left out), or the domain's own
 * A/AAAA when it has no MX (RFC 5321 5.1).  Returns (transfer full)
 * MgMailHost* array (never empty), or NULL with @error set. */
GPtrArray  *mg_resolver_lookup_mail     (MgResolver  *self,
                                         const char  *domain,
                                         guint        timeout_seconds,
                                         GError     **error);

void        mg_mail_host_free           (MgMailHost  *host);

/* The raw records of (@name, @type) (@type: 1 A, 15 MX, 16 TXT, 28 AAAA):
 * (transfer full) GBytes* rdata, empty for NODATA or NXDOMAIN
 * (*@nxdomain says which); NULL with @error (TEMPORARY) when the lookup
 * failed.  Used by the SPF check. */
GPtrArray  *mg_resolver_lookup_records  (MgResolver  *self,
                                         const char  *name,
                                         guint16      type,
                                         guint        timeout_seconds,
                                         gboolean    *nxdomain,
                                         GError     **error);

/* Pure: a TXT rdata -> its character-strings joined (RFC 7208 3.3);
 * NULL when malformed. */
char       *mg_resolver_parse_txt_rdata (const guint8 *data,
                                         gsize         len);

/* Pure, for tests: an MX rdata (preference + uncompressed wire name) ->
 * preference and dotted name ("" for the root: null MX).  FALSE when
 * malformed. */
gboolean    mg_resolver_parse_mx_rdata  (const guint8 *data,
                                         gsize         len,
                                         guint        *preference,
                                         char        **name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgResolver, mg_resolver_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgMailHost, mg_mail_host_free)

G_END_DECLS
