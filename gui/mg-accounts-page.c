/* mg-accounts-page.c - the Account Manager tab: the users of each domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Accounts are listed per domain (or all).  Add and remove are one daemon
 * call each, sent at once; a password typed here goes to the daemon only
 * (it stores a hash).  Import reads a TSV file (ADDRESS or
 * ADDRESS<Tab>PASSWORD per line), shows a preview (line count and the
 * first lines, passwords masked) and sends the whole file in one
 * ImportAccounts call: all or nothing, with one problem per bad line shown
 * on the page.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "mg-accounts-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"

#define PREVIEW_LINES 8

enum {
  ACCOUNT_ADDRESS,
  ACCOUNT_PASSWORD,
  N_ACCOUNT_COLUMNS
};

struct _MgAccountsPage
{
  MgPage           parent_instance;

  GtkComboBoxText *domain_combo;
  MgListEditor    *accounts_editor;
  GtkListStore    *accounts;
  gboolean         filling_combo;
};

G_DEFINE_TYPE (MgAccountsPage, mg_accounts_page, MG_TYPE_PAGE)

static const char *
selected_domain (MgAccountsPage *self)
{
  const char *id = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->domain_combo));

  return id != NULL ? id : "";
}

static void
on_list_accounts_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GVariant) accounts = NULL;
  g_autoptr(GError) error = NULL;
  MgAccountsPage *self;
  GVariantIter iter;
  const char *address;
  gboolean has_password;

  if (!mg_dbus_control1_call_list_accounts_finish (MG_DBUS_CONTROL1 (source), &accounts, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      mg_page_load_finished (MG_PAGE (user_data));
      mg_page_show_error (MG_PAGE (user_data), _("Could not read the accounts"), error);
      return;
    }
  mg_page_load_finished (MG_PAGE (user_data));

  self = MG_ACCOUNTS_PAGE (user_data);
  gtk_list_store_clear (self->accounts);
  g_variant_iter_init (&iter, accounts);
  while (g_variant_iter_next (&iter, "(&sb)", &address, &has_password))
    gtk_list_store_insert_with_values (self->accounts, NULL, -1,
                                       ACCOUNT_ADDRESS, address,
                                       ACCOUNT_PASSWORD, has_password ? _("Set") : _("None"),
                                       -1);
}

static void
load_accounts (MgAccountsPage *self)
{
  MgPage *page = MG_PAGE (self);

  mg_page_load_started (page);
  mg_dbus_control1_call_list_accounts (mg_page_get_proxy (page), selected_domain (self),
                                       mg_page_get_cancellable (page), on_list_accounts_cb, self);
}

static void
on_list_domains_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GVariant) domains = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *previous = NULL;
  MgAccountsPage *self;
  GVariantIter iter;
  const char *name;
  gboolean shared_box;

  if (!mg_dbus_control1_call_list_domains_finish (MG_DBUS_CONTROL1 (source), &domains, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      mg_page_load_finished (MG_PAGE (user_data));
      mg_page_show_error (MG_PAGE (user_data), _("Could not read the domains"), error);
      return;
    }
  mg_page_load_finished (MG_PAGE (user_data));

  self = MG_ACCOUNTS_PAGE (user_data);
  previous = g_strdup (selected_domain (self));
  self->filling_combo = TRUE;
  gtk_combo_box_text_remove_all (self->domain_combo);
  gtk_combo_box_text_append (self->domain_combo, "", _("All domains"));
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&sb)", &name, &shared_box))
    gtk_combo_box_text_append (self->domain_combo, name, name);
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->domain_combo), previous))
    gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->domain_combo), "");
  self->filling_combo = FALSE;
  load_accounts (self);
}

static void
mg_accounts_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_domains (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                      on_list_domains_cb, page);
}

static void
on_domain_combo_changed_cb (MgAccountsPage *self)
{
  if (!self->filling_combo)
    load_accounts (self);
}

/* ---- add / remove ------------------------------------------------------- */

static void
on_account_dialog_response_cb (GtkDialog *dialog,
                               int        response,
                               gpointer   user_data)
{
  g_autoptr(MgAccountsPage) self = user_data;
  MgFormDialog *form = MG_FORM_DIALOG (dialog);

  if (response == GTK_RESPONSE_ACCEPT)
    mg_page_call_change (MG_PAGE (self), "AddAccount",
                         g_variant_new ("(ss)", mg_form_dialog_get_text (form, "address"),
                                        mg_form_dialog_get_text (form, "password")));
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_accounts_editor_add_cb (MgAccountsPage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Account"), _("_Add"));
  const char *domain = selected_domain (self);
  g_autofree char *address = *domain != '\0' ? g_strconcat ("@", domain, NULL) : NULL;
  GtkEntry *password;

  mg_form_dialog_add_entry (dialog, "address", _("_Address:"), address);
  password = mg_form_dialog_add_entry (dialog, "password", _("_Password (optional):"), NULL);
  gtk_entry_set_visibility (password, FALSE);
  gtk_entry_set_input_purpose (password, GTK_INPUT_PURPOSE_PASSWORD);
  g_signal_connect (dialog, "response", G_CALLBACK (on_account_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (GTK_WIDGET (dialog));
}

typedef struct
{
  MgAccountsPage *self;
  char           *address;
} PasswordEdit;

static void
on_password_dialog_response_cb (GtkDialog *dialog,
                                int        response,
                                gpointer   user_data)
{
  PasswordEdit *edit = user_data;

  /* an empty password removes it (the account then only makes the address valid) */
  if (response == GTK_RESPONSE_ACCEPT)
    mg_page_call_change (MG_PAGE (edit->self), "SetPassword",
                         g_variant_new ("(ss)", edit->address,
                                        mg_form_dialog_get_text (MG_FORM_DIALOG (dialog), "password")));
  gtk_widget_destroy (GTK_WIDGET (dialog));
  g_object_unref (edit->self);
  g_free (edit->address);
  g_free (edit);
}

static void
on_accounts_editor_edit_cb (MgAccountsPage *self,
                            int             index)
{
  g_autofree char *address = NULL;
  g_autofree char *title = NULL;
  MgFormDialog *dialog;
  PasswordEdit *edit;
  GtkEntry *password;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->accounts), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->accounts), &iter, ACCOUNT_ADDRESS, &address, -1);

  title = g_strdup_printf (_("Set the Password of %s"), address);
  dialog = mg_form_dialog_new (GTK_WIDGET (self), title, _("_Set Password"));
  password = mg_form_dialog_add_entry (dialog, "password", _("New _password (empty: none):"), NULL);
  gtk_entry_set_visibility (password, FALSE);
  gtk_entry_set_input_purpose (password, GTK_INPUT_PURPOSE_PASSWORD);
  edit = g_new0 (PasswordEdit, 1);
  edit->self = g_object_ref (self);
  edit->address = g_steal_pointer (&address);
  g_signal_connect (dialog, "response", G_CALLBACK (on_password_dialog_response_cb), edit);
  gtk_widget_show (GTK_WIDGET (dialog));
}

static void
on_accounts_editor_remove_cb (MgAccountsPage *self,
                              int             index)
{
  g_autofree char *address = NULL;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->accounts), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->accounts), &iter, ACCOUNT_ADDRESS, &address, -1);
  mg_page_call_change (MG_PAGE (self), "RemoveAccount", g_variant_new ("(s)", address));
}

/* ---- import ------------------------------------------------------------- */

static void
on_import_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  MgPage *self;
  guint added = 0;

  if (!mg_dbus_control1_call_import_accounts_finish (MG_DBUS_CONTROL1 (source), &added, &problems,
                                                     result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mg_page_show_error (MG_PAGE (user_data), _("Could not import the accounts"), error);
      return;
    }

  self = MG_PAGE (user_data);
  if (!mg_page_show_problems_variant (self, problems))
    return;                      /* all or nothing: nothing was added */
  g_debug ("imported %u accounts", added);
  mg_page_reload (self);
}

static void
on_preview_response_cb (GtkDialog *dialog,
                        int        response,
                        gpointer   user_data)
{
  g_autoptr(MgAccountsPage) self = user_data;
  const char *tsv = g_object_get_data (G_OBJECT (dialog), "tsv");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      mg_page_clear_problems (MG_PAGE (self));
      mg_dbus_control1_call_import_accounts (mg_page_get_proxy (MG_PAGE (self)), tsv,
                                             mg_page_get_cancellable (MG_PAGE (self)),
                                             on_import_done_cb, self);
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static char *
preview_text (const char *tsv,
              guint      *n_lines)
{
  g_auto(GStrv) lines = g_strsplit (tsv, "\n", -1);
  g_autoptr(GString) preview = g_string_new (NULL);
  guint n = 0;

  for (char **line = lines; *line != NULL; line++)
    {
      char *tab;

      g_strchomp (*line);
      if (**line == '\0' || **line == '#')
        continue;
      if (++n > PREVIEW_LINES)
        continue;
      tab = strchr (*line, '\t');
      if (tab != NULL)
        *tab = '\0';             /* never show a password */
      g_string_append_printf (preview, "%s%s\n", *line, tab != NULL ? "\t••••••" : "");
    }
  if (n > PREVIEW_LINES)
    g_string_append (preview, "…\n");
  *n_lines = n;
  return g_string_free (g_steal_pointer (&preview), FALSE);
}

void
mg_accounts_page_import_file (MgAccountsPage *self,
                              GFile          *file)
{
  g_autofree char *tsv = NULL;
  g_autofree char *preview = NULL;
  g_autofree char *heading = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *toplevel, *dialog, *label;
  guint n_lines = 0;

  g_return_if_fail (MG_IS_ACCOUNTS_PAGE (self));

  if (!g_file_load_contents (file, NULL, &tsv, NULL, NULL, &error))
    {
      mg_page_show_error (MG_PAGE (self), _("Could not read the file"), error);
      return;
    }
  if (!g_utf8_validate (tsv, -1, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (tsv, -1);

      g_free (tsv);
      tsv = g_steal_pointer (&valid);
    }

  preview = preview_text (tsv, &n_lines);
  heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Import %u account?", "Import %u accounts?",
                                          n_lines), n_lines);
  toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  dialog = gtk_message_dialog_new (GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", heading);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s",
                                            _("Either every line is added or, if a line is wrong, none is."));
  label = gtk_label_new (preview);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_style_context_add_class (gtk_widget_get_style_context (label), "monospace");
  gtk_widget_show (label);
  gtk_box_pack_start (GTK_BOX (gtk_message_dialog_get_message_area (GTK_MESSAGE_DIALOG (dialog))),
                      label, FALSE, FALSE, 0);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL,
                          _("_Import"), GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_object_set_data_full (G_OBJECT (dialog), "tsv", g_steal_pointer (&tsv), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_preview_response_cb), g_object_ref (self));
  gtk_widget_show (dialog);
}

static void
on_import_chooser_response_cb (GtkNativeDialog *chooser,
                               int              response,
                               gpointer         user_data)
{
  g_autoptr(MgAccountsPage) self = user_data;
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      mg_accounts_page_import_file (self, file);
    }
  g_object_unref (chooser);
}

static void
on_import_button_clicked_cb (MgAccountsPage *self)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Import Accounts"),
                                         GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  g_signal_connect (chooser, "response", G_CALLBACK (on_import_chooser_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- object ------------------------------------------------------------ */

static void
mg_accounts_page_constructed (GObject *object)
{
  MgAccountsPage *self = MG_ACCOUNTS_PAGE (object);

  G_OBJECT_CLASS (mg_accounts_page_parent_class)->constructed (object);

  mg_page_add_field (MG_PAGE (self), "address", GTK_WIDGET (self->accounts_editor));
  mg_page_add_field (MG_PAGE (self), "password", GTK_WIDGET (self->accounts_editor));
  mg_page_reload (MG_PAGE (self));
}

static void
mg_accounts_page_finalize (GObject *object)
{
  g_clear_object (&MG_ACCOUNTS_PAGE (object)->accounts);
  G_OBJECT_CLASS (mg_accounts_page_parent_class)->finalize (object);
}

static void
mg_accounts_page_class_init (MgAccountsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_accounts_page_constructed;
  object_class->finalize = mg_accounts_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_accounts_page_reload;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-accounts-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgAccountsPage, domain_combo);
  gtk_widget_class_bind_template_child (widget_class, MgAccountsPage, accounts_editor);
  gtk_widget_class_bind_template_callback (widget_class, on_domain_combo_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_import_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_accounts_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_accounts_editor_remove_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_accounts_editor_edit_cb);
}

static void
mg_accounts_page_init (MgAccountsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->accounts = gtk_list_store_new (N_ACCOUNT_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  mg_list_editor_set_model (self->accounts_editor, self->accounts);
  mg_list_editor_set_reorderable (self->accounts_editor, FALSE);
  mg_list_editor_set_editable (self->accounts_editor, TRUE);
  mg_list_editor_add_column (self->accounts_editor, _("Address"), ACCOUNT_ADDRESS, FALSE);
  mg_list_editor_add_column (self->accounts_editor, _("Password"), ACCOUNT_PASSWORD, FALSE);
}

MgPage *
mg_accounts_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_ACCOUNTS_PAGE,
                       "proxy", proxy,
                       "title", _("Accounts"),
                       NULL);
}
