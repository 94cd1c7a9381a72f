/* mg-smtp-auth.h - SMTP AUTH exchanges: PLAIN, LOGIN, CRAM-MD5 (pure)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgSmtpAuth is one AUTH exchange (RFC 4954).  It is fed the argument
 * of the AUTH command and then each client line, and appends the replies
 * (334 challenges, 235, 501, 535, ...) to a GString.  It does no I/O and
 * keeps no clock: the CRAM-MD5 challenge is given by the caller, and the
 * growing delay after a failure and the throttling of a client are the
 * receiver's business.  Accounts come from the MgConfig snapshot:
 * PLAIN and LOGIN verify the PBKDF2 hash, CRAM-MD5 the stored HMAC-MD5
 * contexts (MgAccount.cram_md5).
 *
 * Login names: the full address, or a bare user name when it is
 * unambiguous (exactly one local domain, or an account of a shared-box
 * domain).
 *
 * Threading: an exchange is touched by one thread at a time.
 */
#pragma once

#include <glib.h>

#include "mg-config.h"

G_BEGIN_DECLS

typedef enum
{
  MG_SMTP_AUTH_MECH_NONE     = 0,
  MG_SMTP_AUTH_MECH_PLAIN    = 1 << 0,
  MG_SMTP_AUTH_MECH_LOGIN    = 1 << 1,
  MG_SMTP_AUTH_MECH_CRAM_MD5 = 1 << 2,
} MgSmtpAuthMech;

typedef enum
{
  MG_SMTP_AUTH_CONTINUE,   /* a 334 challenge is in the replies: feed the next line */
  MG_SMTP_AUTH_SUCCESS,    /* 235 2.7.0 appended; mg_smtp_auth_get_user() is set */
  MG_SMTP_AUTH_FAILED,     /* 535 5.7.8 appended: bad credentials (caller delays, counts) */
  MG_SMTP_AUTH_ABORTED,    /* 501 appended: "*", malformed base64 or syntax; not a failure */
} MgSmtpAuthStatus;

typedef struct _MgSmtpAuth MgSmtpAuth;

/* "PLAIN" / "login" / "CRAM-MD5" -> its bit; NONE when unknown. */
MgSmtpAuthMech    mg_smtp_auth_mech_from_name  (const char *name);
/* "PLAIN,LOGIN,CRAM-MD5" (auth.methods) -> mask; unknown names ignored. */
guint             mg_smtp_auth_parse_methods   (const char *list);
/* " PLAIN LOGIN CRAM-MD5" for the EHLO keyword, from @mask (transfer full) */
char             *mg_smtp_auth_describe        (guint       mask);

/* @config: accounts snapshot (ref taken).  @challenge: the CRAM-MD5
 * challenge "<random.time@host>" (copied; ignored by other mechanisms). */
MgSmtpAuth       *mg_smtp_auth_new             (MgConfig       *config,
                                                MgSmtpAuthMech  mech,
                                                const char     *challenge);
void              mg_smtp_auth_free            (MgSmtpAuth     *self);

/* Start the exchange.  @initial is the initial response given on the AUTH
 * line (nullable; "=" is the empty response), as the client wrote it. */
MgSmtpAuthStatus  mg_smtp_auth_start           (MgSmtpAuth     *self,
                                                const char     *initial,
                                                GString        *replies);

/* One client line (without CRLF; may contain anything, NUL included). */
MgSmtpAuthStatus  mg_smtp_auth_step            (MgSmtpAuth     *self,
                                                const char     *line,
                                                gsize           len,
                                                GString        *replies);

/* After SUCCESS: the canonical account address.  After FAILED: the login
 * name the client gave (for the trace; never trusted).  (transfer none) */
const char       *mg_smtp_auth_get_user        (MgSmtpAuth     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgSmtpAuth, mg_smtp_auth_free)

G_END_DECLS
