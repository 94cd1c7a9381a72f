/* mg-relay-page.h - the "Relay restrictions" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_RELAY_PAGE (mg_relay_page_get_type ())
G_DECLARE_FINAL_TYPE (MgRelayPage, mg_relay_page, MG, RELAY_PAGE, MgPage)

MgPage *mg_relay_page_new (MgDBusControl1 *proxy);

G_END_DECLS
