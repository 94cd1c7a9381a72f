/* mg-delivery.h - the delivery agent: scheduler, workers, SMTP client use
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The seed's EPSTDS.  MgDelivery keeps every queued message's envelope in
 * memory (rebuilt from the queue at start), decides when to try what
 * retry on delivery.retry_interval, growing; give up after
 * delivery.give_up_error / delivery.give_up_no_response; 5xx permanent at
 * once), routes each recipient (mg-route-table.h), groups recipients by next
 * hop and hands jobs to a pool of delivery.workers threads that speak SMTP
 * (mg-smtp-client.h) to the next hop.  A message leaves the queue only when
 * every recipient is final (delivered with 250, or failed permanently).
 *
 * Threading: every function here runs on the main thread (the GMainContext
 * that was thread-default when mg_delivery_new() was called).  Workers
 * report back to that context.
 */
#pragma once

#include <gio/gio.h>

#include "mg-config.h"
#include "mg-queue.h"

G_BEGIN_DECLS

typedef struct _MgDelivery MgDelivery;

MgDelivery *mg_delivery_new        (MgQueue        *queue,
                                    MgConfig       *config,
                                    const char     *state_dir);
/* Waits for running jobs to finish (they are bounded by timeouts). */
void        mg_delivery_free       (MgDelivery     *self);

void        mg_delivery_set_config (MgDelivery     *self,
                                    MgConfig       *config);

/* this server's bound listeners ("ADDR:PORT", "[ADDR]:PORT" as
 * mg_daemon_get_bound gives them); a next hop resolving to one of them
 * fails permanently (mail would loop). */
void        mg_delivery_set_local_addresses (MgDelivery         *self,
                                             const char * const *bound);

/* Load the queue (first start only) and begin dispatching. */
gboolean    mg_delivery_start      (MgDelivery     *self,
                                    GError        **error);
/* Stop dispatching; jobs already running finish. */
void        mg_delivery_stop       (MgDelivery     *self);
gboolean    mg_delivery_is_running (MgDelivery     *self);

/* A message the receiver just made durable. Kept even while stopped. */
void        mg_delivery_add        (MgDelivery     *self,
                                    MgQueueMessage *msg);

/* Retry now: @id, or every message when NULL.  Returns FALSE if @id is not
 * queued. */
gboolean    mg_delivery_flush      (MgDelivery     *self,
                                    const char     *id);

/* Snapshot of the queued messages (MgQueueMessage* refs, no bodies),
 * oldest first. */
GPtrArray  *mg_delivery_list       (MgDelivery     *self);

/* (transfer full) (nullable): the queued message @id (no body). */
MgQueueMessage *mg_delivery_lookup (MgDelivery   *self,
                                    const char   *id);
/* (transfer full): the header section of @id's stored body (CRLF lines,
 * up to the blank line), or NULL with @error set. */
char       *mg_delivery_read_headers (MgDelivery *self,
                                      const char *id,
                                      GError    **error);

/* Counters for status */
guint       mg_delivery_n_queued    (MgDelivery    *self);
guint       mg_delivery_n_active    (MgDelivery    *self);  /* jobs running */
guint64     mg_delivery_n_delivered (MgDelivery    *self);  /* recipients, since start */
guint64     mg_delivery_n_failed    (MgDelivery    *self);  /* recipients, permanent */
guint64     mg_delivery_n_deferred  (MgDelivery    *self);  /* attempts that failed temporarily */
guint64     mg_delivery_n_connections (MgDelivery  *self);  /* SMTP connections opened (R-3.6 reuse) */

/* Hold (no delivery attempts) or release @id; persisted.  FALSE if @id is
 * not queued. */
gboolean    mg_delivery_hold       (MgDelivery     *self,
                                    const char     *id,
                                    gboolean        held);
/* Drop @id from the queue without delivering it (recipients still pending
 * are neither delivered nor bounced).  FALSE if @id is not queued. */
gboolean    mg_delivery_delete     (MgDelivery     *self,
                                    const char     *id);

G_END_DECLS
