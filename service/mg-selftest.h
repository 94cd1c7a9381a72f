/* mg-selftest.h - the built-in open-relay test against our own receiver
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * "mailgatectl selftest": the classic open-relay test dialogues (percent
 * hack, bang path, source route, quoted local part, IP literal, unknown
 * domain, spoofed sender, null sender, ...) replayed against the running
 * receiver from loopback, each on its own connection, up to RCPT only
 * (never DATA: nothing is queued or relayed).  A 2xx reply to the relay
 * RCPT means the gateway relays for a stranger.  The test is meaningful
 * only when the loopback client is untrusted (no relay rule allows it);
 * the result says which rule trusts it otherwise.
 *
 * Threading: mg_selftest_run_async() does its I/O in a worker thread and
 * completes in the caller's thread-default main context.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"

G_BEGIN_DECLS

typedef struct
{
  char     *name;       /* "percent hack" (English, stable) */
  char     *command;    /* "RCPT TO:<relaytest%example.net@corp.example>" */
  char     *reply;      /* first line of the server's answer, or the I/O error */
  gboolean  relayed;    /* the server accepted the relay recipient: OPEN */
  gboolean  failed;     /* the dialogue could not be run (I/O) */
} MgSelftestResult;

typedef struct
{
  char      *target;          /* "127.0.0.1:2525" */
  char      *client;          /* "127.0.0.1" */
  guint      trusted_by_rule; /* 0: untrusted; else the relay rule allowing the client */
  GPtrArray *results;         /* MgSelftestResult* */
} MgSelftestReport;

void  mg_selftest_report_free (MgSelftestReport *report);

/* @bound: the bound listener addresses (mg_daemon_get_bound), first
 * answering one is used.  Fails when the receiver listens nowhere. */
void              mg_selftest_run_async  (MgConfig            *config,
                                          const char * const  *bound,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
MgSelftestReport *mg_selftest_run_finish (GAsyncResult        *result,
                                          GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgSelftestReport, mg_selftest_report_free)

G_END_DECLS
