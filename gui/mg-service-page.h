/* mg-service-page.h - the "Service control" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_SERVICE_PAGE (mg_service_page_get_type ())
G_DECLARE_FINAL_TYPE (MgServicePage, mg_service_page, MG, SERVICE_PAGE, MgPage)

MgPage *mg_service_page_new (MgDBusControl1 *proxy);

G_END_DECLS
