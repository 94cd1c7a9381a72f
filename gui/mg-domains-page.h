/* mg-domains-page.h - the "Domains" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_DOMAINS_PAGE (mg_domains_page_get_type ())
G_DECLARE_FINAL_TYPE (MgDomainsPage, mg_domains_page, MG, DOMAINS_PAGE, MgPage)

MgPage *mg_domains_page_new (MgDBusControl1 *proxy);

G_END_DECLS
