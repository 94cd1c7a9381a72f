/* mg-form-dialog.h - a small modal form: labelled entries and check boxes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The add/edit dialogs of the list pages (route, domain, alias, relay
 * rule, account, listener) are all a few labelled fields; this one class
 * builds them from a list of fields instead of one template per dialog.
 * The caller connects to "response" (GTK_RESPONSE_ACCEPT = the accept
 * button) and reads the fields by key; the dialog is never run nested.
 *
 * Threading: main thread only.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MG_TYPE_FORM_DIALOG (mg_form_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MgFormDialog, mg_form_dialog, MG, FORM_DIALOG, GtkDialog)

MgFormDialog *mg_form_dialog_new        (GtkWidget    *parent,
                                         const char   *title,
                                         const char   *accept_label);
GtkEntry     *mg_form_dialog_add_entry  (MgFormDialog *self,
                                         const char   *key,
                                         const char   *label,
                                         const char   *value);
GtkToggleButton *mg_form_dialog_add_check (MgFormDialog *self,
                                         const char   *key,
                                         const char   *label,
                                         gboolean      active);
GtkEntry     *mg_form_dialog_get_entry  (MgFormDialog *self,
                                         const char   *key);
const char   *mg_form_dialog_get_text   (MgFormDialog *self,
                                         const char   *key);
gboolean      mg_form_dialog_get_active (MgFormDialog *self,
                                         const char   *key);

G_END_DECLS
