/* mg-maildir.h - local delivery into a Maildir
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * With delivery.forward_all off, mail for local users lands in their
 * mailbox: a Maildir++ directory (tmp/ new/ cur/, created 0700).  The
 * message is written to tmp/, fsync'ed, renamed into new/, and new/ is
 * fsync'ed, so a delivery reported as done survives a crash.
 *
 * Threading: any thread (no shared state but an atomic counter).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* @mailbox absolute, or relative to @state_dir.  Returns the full path
 * (transfer full). */
char     *mg_maildir_resolve (const char  *state_dir,
                              const char  *mailbox);

/* Deliver @body (stored form: CRLF lines) for @rcpt.  The file gets
 * "Return-Path: <@sender>" and "Delivered-To: @rcpt" prepended and LF line
 * ends (the Maildir convention).  @path_out (nullable): the file in new/. */
gboolean  mg_maildir_deliver (const char  *state_dir,
                              const char  *mailbox,
                              const char  *sender,
                              const char  *rcpt,
                              GBytes      *body,
                              char       **path_out,
                              GError     **error);

G_END_DECLS
