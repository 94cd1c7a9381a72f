/* mg-config-json.h - the whole configuration as one JSON document
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Schema: docs/config-json.md ("format": "mailgate-config", "version": 1).
 * mg_config_to_json() writes a snapshot; mg_config_from_json() reads a
 * document back into a new snapshot, checking every value with the same
 * functions the config store uses, and names each problem by its JSON
 * path ("$.routes[2].port").  Nothing here touches config.db.
 *
 * Threading: pure functions, any thread.
 */
#pragma once

#include "mg-config.h"

G_BEGIN_DECLS

#define MG_CONFIG_JSON_FORMAT  "mailgate-config"
#define MG_CONFIG_JSON_VERSION 1

/* (transfer full) pretty-printed JSON, secrets included (password hashes,
 * CRAM-MD5 secrets, route AUTH passwords): treat the output like config.db. */
char     *mg_config_to_json   (MgConfig    *config);

/* (transfer full) (nullable) a sealed snapshot, or NULL with at least one
 * MgProblem (field = JSON path) appended to @problems. */
MgConfig *mg_config_from_json (const char  *text,
                               gssize       length,
                               GPtrArray   *problems);

G_END_DECLS
