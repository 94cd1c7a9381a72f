/* mg-settings.h - the typed settings schema: keys, types, defaults, ranges
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * One table lists every setting.  Validation of a single value lives here;
 * the config store calls it for every change (one validation path).
 * Keys are dotted lower case and never translated.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MG_SETTING_BOOL,         /* "true" / "false" (also accepts yes/no/on/off/1/0, normalised) */
  MG_SETTING_INT,          /* decimal, min..max */
  MG_SETTING_STRING,       /* free text, max length = max */
  MG_SETTING_HOST_PORT,    /* "" or host[:port] (mg_host_port_parse), normalised */
  MG_SETTING_HOST,         /* a domain name used as our host name; "" = system host name */
} MgSettingType;

typedef struct
{
  const char    *key;
  MgSettingType  type;
  const char    *default_value;
  gint64         min;          /* INT: minimum; STRING: unused */
  gint64         max;          /* INT: maximum; STRING: maximum length */
  const char    *summary;      /* N_() marked, English */
} MgSettingInfo;

const MgSettingInfo *mg_settings_lookup    (const char *key);
const MgSettingInfo *mg_settings_list      (gsize      *n_settings);

/* Validate @value for @key.  On success returns the normalised value
 * (transfer full).  On failure returns NULL and appends one MgProblem with
 * field = @key to @problems. */
char                *mg_settings_normalise (const char *key,
                                            const char *value,
                                            GPtrArray  *problems);

G_END_DECLS
