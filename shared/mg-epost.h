/* mg-epost.h - reading the seed product's configuration files (SPEC §8)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The parsers turn the text of gateway.dat (routes), effect.dat (relay
 * rules, order kept), an aliases file and an account TSV into plain
 * entries, each with the file and line it came from, plus one "skipped"
 * entry for every line that could not be used.  Nothing here talks to the
 * daemon: mailgatectl sends the entries with the ImportEpost control
 * method, which applies them all or none.  The accepted syntax is
 * documented in docs/import-epost.md.
 *
 * Threading: the parsers are pure; mg_epost_read_dir() reads files.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char    *where;      /* "gateway.dat:5" */
  char    *domain;     /* canonical */
  char    *host;       /* canonical */
  guint16  port;
} MgEpostRoute;

typedef struct
{
  char     *where;
  char     *pattern;   /* a valid relay rule pattern (wildcards converted) */
  gboolean  allow;
} MgEpostRelayRule;

typedef struct
{
  char  *where;
  char  *alias;        /* canonical "user@domain" or "*@domain" */
  GStrv  targets;      /* canonical */
} MgEpostAlias;

typedef struct
{
  char *where;
  char *address;       /* canonical */
  char *password;      /* nullable */
} MgEpostAccount;

typedef struct
{
  char  *file;         /* base name */
  guint  line;         /* 1-based; 0: the whole file */
  char  *text;         /* the line as read (UTF-8) */
  char  *reason;       /* translated, one sentence */
} MgEpostSkipped;

typedef struct
{
  GPtrArray *routes;        /* MgEpostRoute* */
  GPtrArray *relay_rules;   /* MgEpostRelayRule*, file order */
  GPtrArray *aliases;       /* MgEpostAlias* */
  GPtrArray *accounts;      /* MgEpostAccount* */
  GPtrArray *skipped;       /* MgEpostSkipped* */
  GPtrArray *files;         /* char*: base names of the files read */
} MgEpostImport;

MgEpostImport *mg_epost_import_new      (void);
void           mg_epost_import_free     (MgEpostImport *import);

/* Each parser appends to @import.  @file_name is used in "where" and in
 * skipped entries.  @data need not be UTF-8: Shift_JIS (CP932, the seed's
 * Windows encoding) is converted; a UTF-8 BOM and CRLF line ends are
 * accepted. */
void mg_epost_parse_gateway  (MgEpostImport *import, const char *file_name,
                              const char *data, gssize length);
void mg_epost_parse_effect   (MgEpostImport *import, const char *file_name,
                              const char *data, gssize length);
void mg_epost_parse_aliases  (MgEpostImport *import, const char *file_name,
                              const char *data, gssize length);
void mg_epost_parse_accounts (MgEpostImport *import, const char *file_name,
                              const char *data, gssize length);

/* Reads the known files found in @dir (names compared without case):
 * gateway.dat, effect.dat, aliases.txt or alias.dat, accounts.tsv or
 * users.tsv.  Fails when @dir cannot be read or holds none of them. */
MgEpostImport *mg_epost_read_dir        (const char    *dir,
                                         GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgEpostImport, mg_epost_import_free)

G_END_DECLS
