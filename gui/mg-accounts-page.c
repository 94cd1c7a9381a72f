/* mg-accounts-page.c - the Account Manager tab: the users of each domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Every account is loaded; the domain combo only filters the list, so
 * staged edits survive choosing another domain.  Add, remove and set
 * password are staged in the list ("to be added", "to be changed", struck
 * through "to be removed"); a password typed here stays in memory only
 * until Apply sends it to the daemon (which stores a hash).  Apply sends
 * one ApplyChanges list (RemoveAccount, SetPassword, AddAccount); Revert
 * reloads.  Import reads a TSV file (ADDRESS or ADDRESS<Tab>PASSWORD per
 * line), shows a preview (line count and the first lines, passwords
 * masked) and sends the whole file in one ImportAccounts call: all or
 * nothing, with one problem per bad line shown on the page.  Import is
 * offered only without staged edits, which it would otherwise discard.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "mg-accounts-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-staged-list.h"

#define PREVIEW_LINES 8

enum {
  ACCOUNT_ADDRESS,
  ACCOUNT_PASSWORD_TEXT,
  ACCOUNT_DOMAIN,               /* lower case, for the filter */
  ACCOUNT_HAS_PASSWORD,
  ACCOUNT_PASSWORD,             /* staged new password; NULL: unchanged */
  ACCOUNT_NEW,
  ACCOUNT_REMOVED,
  ACCOUNT_PENDING,
  N_ACCOUNT_COLUMNS
};

struct _MgAccountsPage
{
  MgPage           parent_instance;

  GtkComboBoxText *domain_combo;
  GtkWidget       *import_button;
  MgListEditor    *accounts_editor;
  GtkListStore    *accounts;
  GtkTreeModel    *filter;      /* the accounts of the chosen domain */
  gboolean         filling_combo;
};

G_DEFINE_TYPE (MgAccountsPage, mg_accounts_page, MG_TYPE_PAGE)

static const char *
selected_domain (MgAccountsPage *self)
{
  const char *id = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->domain_combo));

  return id != NULL ? id : "";
}

static gboolean
account_visible (GtkTreeModel *model,
                 GtkTreeIter  *iter,
                 gpointer      user_data)
{
  MgAccountsPage *self = user_data;
  const char *wanted = selected_domain (self);
  g_autofree char *domain = NULL;

  if (*wanted == '\0')
    return TRUE;
  gtk_tree_model_get (model, iter, ACCOUNT_DOMAIN, &domain, -1);
  return g_strcmp0 (domain, wanted) == 0;
}

/* The store row behind row @index of the shown (filtered) list. */
static gboolean
nth_account (MgAccountsPage *self,
             int             index,
             GtkTreeIter    *iter)
{
  GtkTreeIter shown;

  if (!gtk_tree_model_iter_nth_child (self->filter, &shown, NULL, index))
    return FALSE;
  gtk_tree_model_filter_convert_iter_to_child_iter (GTK_TREE_MODEL_FILTER (self->filter), iter, &shown);
  return TRUE;
}

/* ---- staged rows -------------------------------------------------------- */

static MgPending
row_pending (GtkTreeModel *model,
             GtkTreeIter  *iter,
             gpointer      user_data)
{
  g_autofree char *password = NULL;
  gboolean is_new, removed;

  gtk_tree_model_get (model, iter, ACCOUNT_PASSWORD, &password, ACCOUNT_NEW, &is_new,
                      ACCOUNT_REMOVED, &removed, -1);
  return mg_pending_from_flags (removed, is_new, password != NULL);
}

static void
show_row (GtkListStore *store,
          GtkTreeIter  *iter,
          MgPending     pending,
          gpointer      user_data)
{
  g_autofree char *password = NULL;
  gboolean has_password;

  gtk_tree_model_get (GTK_TREE_MODEL (store), iter, ACCOUNT_PASSWORD, &password,
                      ACCOUNT_HAS_PASSWORD, &has_password, -1);
  if (password != NULL)
    has_password = *password != '\0';
  gtk_list_store_set (store, iter, ACCOUNT_PASSWORD_TEXT, has_password ? _("Set") : _("None"), -1);
}

static void
update_rows (MgAccountsPage *self)
{
  gboolean dirty = mg_staged_list_refresh (self->accounts, ACCOUNT_PENDING, row_pending, show_row, NULL);

  mg_page_set_dirty (MG_PAGE (self), dirty);
  /* an import reloads the list: it would drop the staged edits */
  gtk_widget_set_sensitive (self->import_button, !dirty);
}

static char *
domain_of (const char *address)
{
  const char *at = strrchr (address, '@');

  return g_ascii_strdown (at != NULL ? at + 1 : "", -1);
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

  mg_dbus_control1_call_list_accounts_finish (MG_DBUS_CONTROL1 (source), &accounts, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the accounts")))
    return;

  self = MG_ACCOUNTS_PAGE (user_data);
  gtk_list_store_clear (self->accounts);
  g_variant_iter_init (&iter, accounts);
  while (g_variant_iter_next (&iter, "(&sb)", &address, &has_password))
    {
      g_autofree char *domain = domain_of (address);

      gtk_list_store_insert_with_values (self->accounts, NULL, -1,
                                         ACCOUNT_ADDRESS, address,
                                         ACCOUNT_DOMAIN, domain,
                                         ACCOUNT_HAS_PASSWORD, has_password,
                                         -1);
    }
  update_rows (self);
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

  mg_dbus_control1_call_list_domains_finish (MG_DBUS_CONTROL1 (source), &domains, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the domains")))
    return;

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
  gtk_tree_model_filter_refilter (GTK_TREE_MODEL_FILTER (self->filter));
}

static void
mg_accounts_page_reload (MgPage *page)
{
  MgDBusControl1 *proxy = mg_page_get_proxy (page);
  GCancellable *cancellable = mg_page_get_cancellable (page);

  mg_page_load_started (page);
  mg_dbus_control1_call_list_domains (proxy, cancellable, on_list_domains_cb, page);
  mg_page_load_started (page);
  mg_dbus_control1_call_list_accounts (proxy, "", cancellable, on_list_accounts_cb, page);
}

static void
on_domain_combo_changed_cb (MgAccountsPage *self)
{
  if (!self->filling_combo)
    gtk_tree_model_filter_refilter (GTK_TREE_MODEL_FILTER (self->filter));
}

/* Removals, then new passwords, then additions ("" password: none). */
static void
mg_accounts_page_apply (MgPage *page)
{
  MgAccountsPage *self = MG_ACCOUNTS_PAGE (page);
  GtkTreeModel *model = GTK_TREE_MODEL (self->accounts);
  g_autoptr(MgChanges) changes = mg_changes_new ();
  static const MgPending order[] = { MG_PENDING_REMOVE, MG_PENDING_CHANGE, MG_PENDING_ADD };
  GtkTreeIter iter;

  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
         valid = gtk_tree_model_iter_next (model, &iter))
      {
        g_autofree char *address = NULL;
        g_autofree char *password = NULL;

        if (row_pending (model, &iter, NULL) != order[i])
          continue;
        gtk_tree_model_get (model, &iter, ACCOUNT_ADDRESS, &address, ACCOUNT_PASSWORD, &password, -1);
        if (order[i] == MG_PENDING_REMOVE)
          mg_changes_add (changes, model, &iter, "RemoveAccount", g_variant_new ("(s)", address));
        else
          mg_changes_add (changes, model, &iter, order[i] == MG_PENDING_ADD ? "AddAccount" : "SetPassword",
                          g_variant_new ("(ss)", address, password != NULL ? password : ""));
      }
  mg_page_apply_changes (page, g_steal_pointer (&changes));
}

static void
mg_accounts_page_select_row (MgPage      *page,
                             GtkTreePath *path)
{
  MgAccountsPage *self = MG_ACCOUNTS_PAGE (page);
  g_autoptr(GtkTreePath) shown = NULL;

  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->domain_combo), "");   /* every row shown */
  shown = gtk_tree_model_filter_convert_child_path_to_path (GTK_TREE_MODEL_FILTER (self->filter), path);
  if (shown != NULL)
    mg_list_editor_select (self->accounts_editor, gtk_tree_path_get_indices (shown)[0]);
}

/* ---- add / set password / remove ---------------------------------------------- */

static void
on_account_dialog_accepted_cb (MgPage       *page,
                               MgFormDialog *dialog,
                               GtkTreeIter  *unused)
{
  MgAccountsPage *self = MG_ACCOUNTS_PAGE (page);
  g_autofree char *address = g_strstrip (g_strdup (mg_form_dialog_get_text (dialog, "address")));
  g_autofree char *domain = domain_of (address);
  GtkTreeIter iter;

  gtk_list_store_insert_with_values (self->accounts, &iter, -1,
                                     ACCOUNT_ADDRESS, address,
                                     ACCOUNT_DOMAIN, domain,
                                     ACCOUNT_PASSWORD, mg_form_dialog_get_text (dialog, "password"),
                                     ACCOUNT_NEW, TRUE,
                                     -1);
  /* the new row is in view, whatever domain was chosen */
  if (!account_visible (GTK_TREE_MODEL (self->accounts), &iter, self))
    gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->domain_combo), "");
  update_rows (self);
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
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), NULL, NULL, on_account_dialog_accepted_cb);
}

/* an empty password removes it (the account then only makes the address valid) */
static void
on_password_dialog_accepted_cb (MgPage       *page,
                                MgFormDialog *dialog,
                                GtkTreeIter  *iter)
{
  MgAccountsPage *self = MG_ACCOUNTS_PAGE (page);

  gtk_list_store_set (self->accounts, iter, ACCOUNT_PASSWORD,
                      mg_form_dialog_get_text (dialog, "password"), -1);
  update_rows (self);
}

static void
on_accounts_editor_edit_cb (MgAccountsPage *self,
                            int             index)
{
  g_autofree char *address = NULL;
  g_autofree char *title = NULL;
  MgFormDialog *dialog;
  GtkEntry *password;
  GtkTreeIter iter;
  gboolean removed;

  if (!nth_account (self, index, &iter))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->accounts), &iter, ACCOUNT_ADDRESS, &address,
                      ACCOUNT_REMOVED, &removed, -1);
  if (removed)
    return;                      /* to be removed: Revert brings it back */

  title = g_strdup_printf (_("Set the Password of %s"), address);
  dialog = mg_form_dialog_new (GTK_WIDGET (self), title, _("_Set Password"));
  password = mg_form_dialog_add_entry (dialog, "password", _("New _password (empty: none):"), NULL);
  gtk_entry_set_visibility (password, FALSE);
  gtk_entry_set_input_purpose (password, GTK_INPUT_PURPOSE_PASSWORD);
  /* the row in the store: it stays valid whatever the domain filter shows */
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), self->accounts, &iter, on_password_dialog_accepted_cb);
}

/* A staged addition goes away; an account the daemon has is marked. */
static void
on_accounts_editor_remove_cb (MgAccountsPage *self,
                              int             index)
{
  GtkTreeIter iter;

  if (!nth_account (self, index, &iter))
    return;
  mg_staged_list_remove (self->accounts, &iter, ACCOUNT_REMOVED,
                         row_pending (GTK_TREE_MODEL (self->accounts), &iter, NULL) == MG_PENDING_ADD);
  update_rows (self);
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

  if (mg_page_get_dirty (MG_PAGE (self)))
    {
      /* the import reloads the list: staged edits would be lost silently */
      g_autoptr(GError) staged = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY,
                                                      _("apply or revert the changes in the list first"));

      mg_page_clear_problems (MG_PAGE (self));
      mg_page_show_error (MG_PAGE (self), _("Could not import the accounts"), staged);
      return;
    }
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
  g_clear_object (&MG_ACCOUNTS_PAGE (object)->filter);
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
  MG_PAGE_CLASS (klass)->apply = mg_accounts_page_apply;
  MG_PAGE_CLASS (klass)->select_row = mg_accounts_page_select_row;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-accounts-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgAccountsPage, domain_combo);
  gtk_widget_class_bind_template_child (widget_class, MgAccountsPage, import_button);
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

  self->accounts = gtk_list_store_new (N_ACCOUNT_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                       G_TYPE_BOOLEAN, G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_BOOLEAN,
                                       G_TYPE_STRING);
  self->filter = gtk_tree_model_filter_new (GTK_TREE_MODEL (self->accounts), NULL);
  gtk_tree_model_filter_set_visible_func (GTK_TREE_MODEL_FILTER (self->filter), account_visible, self, NULL);
  mg_list_editor_set_tree_model (self->accounts_editor, self->filter);
  mg_list_editor_set_reorderable (self->accounts_editor, FALSE);
  mg_list_editor_set_editable (self->accounts_editor, TRUE);
  mg_list_editor_set_strikethrough_column (self->accounts_editor, ACCOUNT_REMOVED);
  mg_list_editor_add_column (self->accounts_editor, _("Address"), ACCOUNT_ADDRESS, FALSE);
  mg_list_editor_add_column (self->accounts_editor, _("Password"), ACCOUNT_PASSWORD_TEXT, FALSE);
  mg_list_editor_add_column (self->accounts_editor, _("Pending"), ACCOUNT_PENDING, FALSE);
}

MgPage *
mg_accounts_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_ACCOUNTS_PAGE,
                       "proxy", proxy,
                       "title", _("Accounts"),
                       NULL);
}
