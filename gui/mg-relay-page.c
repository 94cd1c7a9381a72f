/* mg-relay-page.c - the "Relay restrictions" tab: ordered relay rules
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Rules are (pattern, allow), first match wins (R-2.4).  Add, remove and
 * move are one daemon call each (positions are 1-based on the wire), sent
 * at once; after a move the moved rule stays selected.  "Test an address"
 * runs the same matcher the receiver uses (mg_policy_match_relay_rules) on
 * a snapshot of the listed rules and says which rule decides and why.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-policy.h"
#include "mg-relay-page.h"

enum {
  RULE_POSITION,
  RULE_PATTERN,
  RULE_ACTION,
  RULE_ALLOW,
  N_RULE_COLUMNS
};

struct _MgRelayPage
{
  MgPage        parent_instance;

  MgListEditor *rules_editor;
  GtkEntry     *test_entry;
  GtkLabel     *test_result_label;
  GtkListStore *rules;
  int           select_after_reload;
};

G_DEFINE_TYPE (MgRelayPage, mg_relay_page, MG_TYPE_PAGE)

static void update_test_result (MgRelayPage *self);

static void
on_list_relay_rules_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GVariant) rules = NULL;
  g_autoptr(GError) error = NULL;
  MgRelayPage *self;
  GVariantIter iter;
  const char *pattern;
  gboolean allow;
  guint position = 0;

  if (!mg_dbus_control1_call_list_relay_rules_finish (MG_DBUS_CONTROL1 (source), &rules, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      mg_page_load_finished (MG_PAGE (user_data));
      mg_page_show_error (MG_PAGE (user_data), _("Could not read the relay rules"), error);
      return;
    }
  mg_page_load_finished (MG_PAGE (user_data));

  self = MG_RELAY_PAGE (user_data);
  gtk_list_store_clear (self->rules);
  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&sb)", &pattern, &allow))
    gtk_list_store_insert_with_values (self->rules, NULL, -1,
                                       RULE_POSITION, ++position,
                                       RULE_PATTERN, pattern,
                                       RULE_ACTION, allow ? _("Allow") : _("Deny"),
                                       RULE_ALLOW, allow,
                                       -1);
  mg_list_editor_select (self->rules_editor, self->select_after_reload);
  self->select_after_reload = -1;
  update_test_result (self);
}

static void
mg_relay_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_relay_rules (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                          on_list_relay_rules_cb, page);
}

static void
on_rule_dialog_response_cb (GtkDialog *dialog,
                            int        response,
                            gpointer   user_data)
{
  g_autoptr(MgRelayPage) self = user_data;
  MgFormDialog *form = MG_FORM_DIALOG (dialog);
  guint64 position = 0;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      if (!g_ascii_string_to_unsigned (mg_form_dialog_get_text (form, "position"), 10, 0, G_MAXUINT32, &position, NULL))
        position = 0;
      mg_page_call_change (MG_PAGE (self), "AddRelayRule",
                           g_variant_new ("(sbu)", mg_form_dialog_get_text (form, "pattern"),
                                          mg_form_dialog_get_active (form, "allow"), (guint32) position));
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
on_rules_editor_add_cb (MgRelayPage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Relay Rule"), _("_Add"));
  int selected = mg_list_editor_get_selected (self->rules_editor);
  g_autofree char *position = g_strdup_printf ("%d", selected >= 0 ? selected + 1 : 0);

  mg_form_dialog_add_entry (dialog, "pattern", _("_Pattern (IP, network, host or sender):"), NULL);
  mg_form_dialog_add_check (dialog, "allow", _("_Allow relaying (otherwise deny)"), TRUE);
  mg_form_dialog_add_entry (dialog, "position", _("P_osition (0 = at the end):"), position);
  g_signal_connect (dialog, "response", G_CALLBACK (on_rule_dialog_response_cb), g_object_ref (self));
  gtk_widget_show (GTK_WIDGET (dialog));
}

static void
on_rules_editor_remove_cb (MgRelayPage *self,
                           int          index)
{
  mg_page_call_change (MG_PAGE (self), "RemoveRelayRule", g_variant_new ("(u)", (guint32) index + 1));
}

static void
on_rules_editor_move_cb (MgRelayPage *self,
                         int          from,
                         int          to)
{
  self->select_after_reload = to;
  mg_page_call_change (MG_PAGE (self), "MoveRelayRule",
                       g_variant_new ("(uu)", (guint32) from + 1, (guint32) to + 1));
}

/* ---- test an address ------------------------------------------------ */

static MgConfig *
snapshot_rules (MgRelayPage *self)
{
  MgConfig *config = mg_config_new_default ();
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);
  GtkTreeIter iter;
  gboolean valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *pattern = NULL;
      gboolean allow;

      gtk_tree_model_get (model, &iter, RULE_PATTERN, &pattern, RULE_ALLOW, &allow, -1);
      mg_config_add_relay_rule (config, pattern, allow);
    }
  mg_config_seal (config);
  return config;
}

static void
update_test_result (MgRelayPage *self)
{
  g_autoptr(MgConfig) config = NULL;
  g_autoptr(GInetAddress) client = NULL;
  g_autoptr(GString) why = g_string_new (NULL);
  g_autofree char *text = NULL;
  g_autofree char *subject = NULL;
  const char *sender = "";
  const char *host = NULL;
  MgRelayDecision decision;
  guint rule = 0;

  subject = g_ascii_strdown (g_strstrip (g_strdup (gtk_entry_get_text (self->test_entry))), -1);
  if (*subject == '\0')
    {
      gtk_label_set_text (self->test_result_label, "");
      return;
    }

  client = g_inet_address_new_from_string (subject);
  if (client == NULL && strchr (subject, '@') != NULL)
    sender = subject;
  else if (client == NULL)
    host = subject;

  config = snapshot_rules (self);
  decision = mg_policy_match_relay_rules (config, client, host, sender, &rule, why);
  switch (decision)
    {
    case MG_RELAY_ALLOW:
      text = g_strdup_printf (_("Rule %u allows relaying (%s)"), rule, why->str);
      break;
    case MG_RELAY_DENY:
      text = g_strdup_printf (_("Rule %u denies: its mail is refused (%s)"), rule, why->str);
      break;
    case MG_RELAY_NO_MATCH:
    default:
      text = g_strdup (_("No rule matches: only mail for the local domains is accepted"));
      break;
    }
  gtk_label_set_text (self->test_result_label, text);
}

static void
on_test_entry_changed_cb (MgRelayPage *self)
{
  update_test_result (self);
}

/* ---- object ------------------------------------------------------------ */

static void
mg_relay_page_constructed (GObject *object)
{
  MgRelayPage *self = MG_RELAY_PAGE (object);

  G_OBJECT_CLASS (mg_relay_page_parent_class)->constructed (object);

  mg_page_add_field (MG_PAGE (self), "relay.pattern", GTK_WIDGET (self->rules_editor));
  mg_page_add_field (MG_PAGE (self), "relay.position", GTK_WIDGET (self->rules_editor));
  mg_page_reload (MG_PAGE (self));
}

static void
mg_relay_page_finalize (GObject *object)
{
  g_clear_object (&MG_RELAY_PAGE (object)->rules);
  G_OBJECT_CLASS (mg_relay_page_parent_class)->finalize (object);
}

static void
mg_relay_page_class_init (MgRelayPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mg_relay_page_constructed;
  object_class->finalize = mg_relay_page_finalize;
  MG_PAGE_CLASS (klass)->reload = mg_relay_page_reload;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-relay-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, rules_editor);
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, test_entry);
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, test_result_label);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_remove_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_move_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_test_entry_changed_cb);
}

static void
mg_relay_page_init (MgRelayPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->select_after_reload = -1;
  self->rules = gtk_list_store_new (N_RULE_COLUMNS, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);
  mg_list_editor_set_model (self->rules_editor, self->rules);
  mg_list_editor_set_editable (self->rules_editor, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("#"), RULE_POSITION, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("Pattern"), RULE_PATTERN, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("Action"), RULE_ACTION, FALSE);
}

MgPage *
mg_relay_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_RELAY_PAGE,
                       "proxy", proxy,
                       "title", _("Relay restrictions"),
                       NULL);
}
