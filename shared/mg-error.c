/* mg-error.c - error domains and their D-Bus names
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#include "config.h"

#include <gio/gio.h>

#include "mg-error.h"

static const GDBusErrorEntry config_error_entries[] = {
  { MG_CONFIG_ERROR_INVALID_VALUE, "org.mailgate.Error.InvalidValue" },
  { MG_CONFIG_ERROR_NOT_FOUND,     "org.mailgate.Error.NotFound" },
  { MG_CONFIG_ERROR_STORAGE,       "org.mailgate.Error.Storage" },
  { MG_CONFIG_ERROR_SCHEMA,        "org.mailgate.Error.Schema" },
};

static const GDBusErrorEntry control_error_entries[] = {
  { MG_CONTROL_ERROR_ACCESS_DENIED, "org.mailgate.Error.AccessDenied" },
  { MG_CONTROL_ERROR_NO_DAEMON,     "org.mailgate.Error.NoDaemon" },
  { MG_CONTROL_ERROR_FAILED,        "org.mailgate.Error.Failed" },
  { MG_CONTROL_ERROR_BIND_FAILED,   "org.mailgate.Error.BindFailed" },
};

static const GDBusErrorEntry queue_error_entries[] = {
  { MG_QUEUE_ERROR_STORAGE,   "org.mailgate.Error.QueueStorage" },
  { MG_QUEUE_ERROR_NOT_FOUND, "org.mailgate.Error.QueueNotFound" },
  { MG_QUEUE_ERROR_CLOSED,    "org.mailgate.Error.QueueClosed" },
};

GQuark
mg_config_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("mg-config-error-quark", &quark,
                                      config_error_entries,
                                      G_N_ELEMENTS (config_error_entries));
  return (GQuark) quark;
}

GQuark
mg_control_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("mg-control-error-quark", &quark,
                                      control_error_entries,
                                      G_N_ELEMENTS (control_error_entries));
  return (GQuark) quark;
}

GQuark
mg_queue_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("mg-queue-error-quark", &quark,
                                      queue_error_entries,
                                      G_N_ELEMENTS (queue_error_entries));
  return (GQuark) quark;
}
