/* mg-spf.h - SPF check_host() of RFC 7208 (pure: DNS through a callback)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * mg_spf_check_host() evaluates the SPF record of a domain for a client
 * address.  It does no I/O: every DNS question (TXT, A, AAAA, MX) goes to
 * the caller's MgSpfLookupFunc, so the receiver answers through libunbound
 * (mg-resolver.c, dns.forwarder honoured) and the unit tests with canned
 * answers.
 *
 * Supported: mechanisms all, include, a, mx, ip4, ip6, exists, ptr (never
 * matches: RFC 7208 5.5 says "do not use"), modifiers redirect= (exp= and
 * unknown modifiers are ignored), qualifiers + - ~ ?, the limit of 10
 * DNS-querying terms and of 2 void lookups (4.6.4), macros %{s l o d i h v
 * p} with digits, "r" and delimiters, %% %_ %- (7.x; "p" expands to
 * "unknown"; c r t are exp-only: permerror).
 *
 * Threading: no shared state; any thread (the lookup callback decides).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  MG_SPF_NONE,
  MG_SPF_NEUTRAL,
  MG_SPF_PASS,
  MG_SPF_FAIL,
  MG_SPF_SOFTFAIL,
  MG_SPF_TEMPERROR,
  MG_SPF_PERMERROR,
} MgSpfResult;

typedef enum
{
  MG_SPF_DNS_TXT,
  MG_SPF_DNS_A,
  MG_SPF_DNS_AAAA,
  MG_SPF_DNS_MX,
} MgSpfDnsType;

typedef enum
{
  MG_SPF_LOOKUP_OK,          /* answers filled (none: NODATA) */
  MG_SPF_LOOKUP_NXDOMAIN,
  MG_SPF_LOOKUP_ERROR,       /* SERVFAIL, timeout: temperror */
} MgSpfLookupStatus;

/* Appends the answers to @answers (char*, freed with g_free): TXT: the
 * text of each record (its strings joined); A / AAAA: addresses as text;
 * MX: exchange names. */
typedef MgSpfLookupStatus (*MgSpfLookupFunc) (const char   *name,
                                              MgSpfDnsType  type,
                                              GPtrArray    *answers,
                                              gpointer      user_data);

/* check_host (@client, @domain, @sender).  @sender: "local@domain" (the
 * null sender: "postmaster@HELO").  @helo: for %{h} (nullable).
 * @mechanism (nullable out): the term that decided ("-all",
 * "include:example.org", "default" when none matched, or why it was an
 * error). */
MgSpfResult  mg_spf_check_host        (GInetAddress    *client,
                                       const char      *domain,
                                       const char      *sender,
                                       const char      *helo,
                                       MgSpfLookupFunc  lookup,
                                       gpointer         user_data,
                                       char           **mechanism);

/* "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror" */
const char  *mg_spf_result_to_string  (MgSpfResult result);

G_END_DECLS
