/* mg-fuzz.h - the fuzz harness bodies, shared by libFuzzer and the tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Each harness takes one input of any bytes, drives one parser with it and
 * checks the parser's invariants with g_assert()/g_error(): a broken
 * invariant aborts, as a crash does.  The same functions are called by the
 * libFuzzer wrappers (LLVMFuzzerTestOneInput, built only with
 * -Dfuzzing=true and clang) and by tests/unit/test-fuzz-regressions.c (gcc,
 * part of `meson test`), which replays the seed corpora and every input
 * that once crashed.  They return 0 always (libFuzzer's convention).
 * mg-fuzz.c holds what several harnesses share.
 *
 * Threading: called from one thread; no state survives a call except
 * caches that never change after they are built.
 */
#pragma once

#include <glib.h>

#include "mg-config.h"

G_BEGIN_DECLS

int        mg_fuzz_address        (const guint8 *data,
                                   gsize         size);
int        mg_fuzz_smtp_data      (const guint8 *data,
                                   gsize         size);
int        mg_fuzz_smtp_session   (const guint8 *data,
                                   gsize         size);
int        mg_fuzz_smtp_auth      (const guint8 *data,
                                   gsize         size);

/* Makes criticals and warnings fatal (as G_DEBUG=fatal-criticals does in
 * the tests), so that a g_return_if_fail() hit by an input is a crash. */
void       mg_fuzz_init           (void);

/* A copy of @data in a heap block of exactly @size bytes, so that ASan
 * traps any read past the input (a file read by the tests has a NUL after
 * it).  Never NULL: an empty input gets a 1-byte block, because NULL + 0
 * is undefined behaviour in C (finding F1 in fuzz/README.md). */
char      *mg_fuzz_copy           (const guint8 *data,
                                   gsize         size);

/* Checks the SMTP replies in @replies from byte @start: CRLF-terminated
 * lines "DDD " / "DDD-" (2xx..5xx), one code per multi-line reply, no bare
 * CR, LF or NUL.  Returns how many complete replies there are. */
guint      mg_fuzz_check_replies  (GString      *replies,
                                   gsize         start);

/* The harnesses' configuration (transfer none, built once, never
 * changed): domains corp.example and shared.example (shared box), accounts
 * alice, bob, postmaster @corp.example and user1@shared.example, aliases,
 * a route and relay rules; see mg-fuzz.c.  @tight: small limits; @quiet:
 * banner hidden, VRFY on, AUTH allowed without TLS. */
MgConfig  *mg_fuzz_get_config     (gboolean      tight,
                                   gboolean      quiet);

/* The passwords of the accounts that have one (alice, user1). */
#define MG_FUZZ_ALICE_PASSWORD  "alice-secret"
#define MG_FUZZ_USER1_PASSWORD  "user1-secret"

G_END_DECLS
