/* mg-sqlite-private.h - g_autoptr cleanups for SQLite handles (private to shared/)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * sqlite3_stmt is finalized, mg_sqlite_str (a sqlite3_malloc'ed string) is
 * sqlite3_free'd when the g_autoptr goes out of scope (libshumate's pair).
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

typedef char mg_sqlite_str;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (mg_sqlite_str, sqlite3_free)

G_END_DECLS
