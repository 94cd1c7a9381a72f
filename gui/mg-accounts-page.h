/* mg-accounts-page.h - the Account Manager tab
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 */
#pragma once

#include "mg-page.h"

G_BEGIN_DECLS

#define MG_TYPE_ACCOUNTS_PAGE (mg_accounts_page_get_type ())
G_DECLARE_FINAL_TYPE (MgAccountsPage, mg_accounts_page, MG, ACCOUNTS_PAGE, MgPage)

MgPage *mg_accounts_page_new         (MgDBusControl1 *proxy);
/* Reads @file and shows the import preview (what the Import button does
 * after the file chooser) */
void    mg_accounts_page_import_file (MgAccountsPage *self,
                                      GFile          *file);

G_END_DECLS
