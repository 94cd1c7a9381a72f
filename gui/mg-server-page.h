/* mg-server-page.h - "Server settings": delivery, limits, routing table
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_SERVER_PAGE (mg_server_page_get_type ())
G_DECLARE_FINAL_TYPE (MgServerPage, mg_server_page, MG, SERVER_PAGE, MgPage)

MgPage *mg_server_page_new (MgDBusControl1 *proxy);

G_END_DECLS
