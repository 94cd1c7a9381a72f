/* mg-error.h - error domains shared by the daemon, the CLI and the console
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Environment and storage failures travel as GError (STYLE.md B5 kind 2).
 * Each domain is registered with D-Bus error names so that an error raised in
 * mailgated arrives typed in mailgatectl and mail-control.
 * Validation problems with a field are NOT errors: see mg-problem.h.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MG_CONFIG_ERROR (mg_config_error_quark ())
#define MG_CONTROL_ERROR (mg_control_error_quark ())
#define MG_QUEUE_ERROR (mg_queue_error_quark ())

typedef enum
{
  MG_CONFIG_ERROR_INVALID_VALUE,   /* a value was refused; message names the field */
  MG_CONFIG_ERROR_NOT_FOUND,       /* no such domain / route / rule / ... */
  MG_CONFIG_ERROR_STORAGE,         /* SQLite failed */
  MG_CONFIG_ERROR_SCHEMA,          /* config.db is newer than this program */
} MgConfigError;

typedef enum
{
  MG_CONTROL_ERROR_ACCESS_DENIED,
  MG_CONTROL_ERROR_NO_DAEMON,      /* nothing listens on the control socket */
  MG_CONTROL_ERROR_FAILED,         /* an operation failed; message says why */
  MG_CONTROL_ERROR_BIND_FAILED,    /* a listener could not be bound */
} MgControlError;

typedef enum
{
  MG_QUEUE_ERROR_STORAGE,          /* queue.db write / sync failed */
  MG_QUEUE_ERROR_NOT_FOUND,        /* no message with that id */
  MG_QUEUE_ERROR_CLOSED,           /* the queue is shutting down */
} MgQueueError;

GQuark mg_config_error_quark  (void);
GQuark mg_control_error_quark (void);
GQuark mg_queue_error_quark   (void);

G_END_DECLS
