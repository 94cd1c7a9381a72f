/* mg-aliases-page.h - the "Aliases" tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_ALIASES_PAGE (mg_aliases_page_get_type ())
G_DECLARE_FINAL_TYPE (MgAliasesPage, mg_aliases_page, MG, ALIASES_PAGE, MgPage)

MgPage *mg_aliases_page_new (MgDBusControl1 *proxy);

G_END_DECLS
