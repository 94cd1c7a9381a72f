/* fake-control-server.h - a canned org.mailgate.Control1 for the GUI tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * A GDBusServer on a socket in a temporary folder, serving the control
 * interface (from the generated interface info) with an in-memory model:
 * settings (schema defaults, validated with the real mg_settings_normalise),
 * domains, accounts, aliases, routes, relay rules, listeners, service
 * states and a short queue; ApplyChanges runs its list all or nothing.
 * It records every call as "Method(args)" (GVariant text) so
 * a test can check what the console sent, can be told to answer one method
 * with a problem, and emits StatusChanged / TraceLines like the daemon.
 * Only the console's unit tests use it: everything else runs the real
 * mailgated.
 *
 * Threading: the main context of the thread that created it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MgFakeControlServer MgFakeControlServer;

MgFakeControlServer *mg_fake_control_server_new          (GError              **error);
void                 mg_fake_control_server_free         (MgFakeControlServer  *self);
const char          *mg_fake_control_server_get_socket   (MgFakeControlServer  *self);

/* The calls received, oldest first, as "Method(args)" */
GPtrArray           *mg_fake_control_server_get_calls    (MgFakeControlServer  *self);
/* The last call whose text starts with @prefix, or NULL */
const char          *mg_fake_control_server_find_call    (MgFakeControlServer  *self,
                                                          const char           *prefix);
void                 mg_fake_control_server_clear_calls  (MgFakeControlServer  *self);

/* The next call of @method answers with this one problem and changes nothing */
void                 mg_fake_control_server_fail_next    (MgFakeControlServer  *self,
                                                          const char           *method,
                                                          const char           *code,
                                                          const char           *field,
                                                          const char           *arg);
void                 mg_fake_control_server_emit_trace   (MgFakeControlServer  *self,
                                                          const char           *line);
const char          *mg_fake_control_server_get_setting  (MgFakeControlServer  *self,
                                                          const char           *key);
gboolean             mg_fake_control_server_is_subscribed (MgFakeControlServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgFakeControlServer, mg_fake_control_server_free)

G_END_DECLS
