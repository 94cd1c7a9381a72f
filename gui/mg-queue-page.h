/* mg-queue-page.h - the "Queue" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_QUEUE_PAGE (mg_queue_page_get_type ())
G_DECLARE_FINAL_TYPE (MgQueuePage, mg_queue_page, MG, QUEUE_PAGE, MgPage)

MgPage *mg_queue_page_new (MgDBusControl1 *proxy);

G_END_DECLS
