/* mg-receiver.h - the receiver service: listeners, connections, sessions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The seed's EPSTRS.  One receiver thread runs its own GMainContext with
 * non-blocking sockets: listeners accept (accept limit -> 421, R-1.4), each
 * connection feeds an MgSmtpSession (the pure state machine) line by line
 * or DATA bytes in chunks, flushes replies once per read (PIPELINING), and
 * parks while the queue makes a message durable.  Idle and DATA timers are
 * swept once a second.
 *
 * Listener sockets are bound by the caller's thread (mg_receiver_bind) so a
 * failed bind is reported synchronously and can be rolled back; the set is
 * then handed to the receiver thread (mg_receiver_set_listeners).
 *
 * Threading: the functions below are called from the main thread.
 * MgReceiverQueuedFunc runs in the receiver thread.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"
#include "mg-queue.h"

G_BEGIN_DECLS

typedef struct _MgReceiver MgReceiver;
typedef struct _MgListenerSet MgListenerSet;

/* A message is durable and acknowledged.  Called in the receiver thread. */
typedef void (*MgReceiverQueuedFunc) (MgQueueMessage *msg,
                                      gpointer        user_data);

MgReceiver    *mg_receiver_new            (MgQueue              *queue,
                                           MgConfig             *config,
                                           MgReceiverQueuedFunc  queued,
                                           gpointer              user_data);
void           mg_receiver_free           (MgReceiver           *self);

/* New sessions use @config; running sessions keep theirs. */
void           mg_receiver_set_config     (MgReceiver           *self,
                                           MgConfig             *config);

/* Bind every listener in @specs (MgListenerSpec*).  Sockets of @reuse whose
 * spec is identical (and whose port is not 0) are taken over instead of
 * bound again, so keeping a port while adding another never fails with
 * "address in use".  All or nothing: on failure nothing stays bound and
 * @error names the listener. */
MgListenerSet *mg_receiver_bind           (GPtrArray            *specs,
                                           MgListenerSet        *reuse,
                                           GError              **error);
void           mg_listener_set_free       (MgListenerSet        *set);
/* "127.0.0.1:41237", "[::]:25" (transfer full) */
GStrv          mg_listener_set_describe   (MgListenerSet        *set);

/* Start the thread (if needed) accepting on @set (transfer full), closing the
 * previous set's sockets that @set did not take over. */
void           mg_receiver_start          (MgReceiver           *self,
                                           MgListenerSet        *set);
/* Stop accepting, answer 421 to every open session, close them, end the
 * thread.  Messages already acknowledged are not affected. */
void           mg_receiver_stop           (MgReceiver           *self);
gboolean       mg_receiver_is_running     (MgReceiver           *self);
MgListenerSet *mg_receiver_get_listeners  (MgReceiver           *self);  /* (transfer none), NULL if stopped */

guint          mg_receiver_n_sessions     (MgReceiver           *self);
guint64        mg_receiver_n_received     (MgReceiver           *self);  /* messages acknowledged */
guint64        mg_receiver_n_connections  (MgReceiver           *self);  /* accepted since start */

/* Load tls.cert / tls.key again now (SIGHUP, systemctl reload); a failed
 * load keeps the certificate in use.  Main thread. */
void           mg_receiver_reload_tls     (MgReceiver           *self);

/* Metrics (any thread): refusals by "CODE X.Y.Z" (a{st}, floating), and the
 * time from the end of DATA to the durable queue (the wait before 250). */
GVariant      *mg_receiver_get_rejections (MgReceiver           *self);
void           mg_receiver_get_commit_latency (MgReceiver       *self,
                                           guint64              *count,
                                           guint64              *sum_us,
                                           guint64              *max_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgListenerSet, mg_listener_set_free)

G_END_DECLS
