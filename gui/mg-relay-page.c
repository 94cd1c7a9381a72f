/* mg-relay-page.c - the "Relay restrictions" tab: ordered relay rules
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Rules are (pattern, allow), first match wins (R-2.4).  Edits are staged
 * in the list: new rules, rules edited in place (pattern and action),
 * moved rules, and removed rules (struck through, with no position) are
 * marked; "#" is the position each rule will have.  Apply turns the
 * staged list into one ApplyChanges list: removals (from the bottom up),
 * then, top to bottom, an AddRelayRule or a MoveRelayRule that brings each
 * rule to its place, and a ReplaceRelayRule for each edited rule.  The
 * daemon's rules are simulated while the list is built, so each position
 * sent is right for the changes before it.  Revert reloads.  "Test an
 * address" runs the same matcher the receiver uses
 * (mg_policy_match_relay_rules) on the rules as listed, staged edits
 * included, and says which rule decides and why.
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
#include "mg-staged-list.h"

enum {
  RULE_POSITION,                /* text: the position after Apply, "" when removed */
  RULE_PATTERN,
  RULE_ACTION,
  RULE_ALLOW,
  RULE_ORIGIN,                  /* the daemon's 1-based position; 0: a new rule */
  RULE_LOADED_PATTERN,
  RULE_LOADED_ALLOW,
  RULE_MOVED,
  RULE_REMOVED,
  RULE_PENDING,
  N_RULE_COLUMNS
};

struct _MgRelayPage
{
  MgPage        parent_instance;

  MgListEditor *rules_editor;
  GtkEntry     *test_entry;
  GtkLabel     *test_result_label;
  GtkListStore *rules;
};

G_DEFINE_TYPE (MgRelayPage, mg_relay_page, MG_TYPE_PAGE)

static void update_test_result (MgRelayPage *self);

/* ---- staged rows -------------------------------------------------------- */

static gboolean
rule_edited (GtkTreeModel *model,
             GtkTreeIter  *iter)
{
  g_autofree char *pattern = NULL;
  g_autofree char *loaded = NULL;
  gboolean allow, loaded_allow;

  gtk_tree_model_get (model, iter, RULE_PATTERN, &pattern, RULE_ALLOW, &allow,
                      RULE_LOADED_PATTERN, &loaded, RULE_LOADED_ALLOW, &loaded_allow, -1);
  return g_strcmp0 (pattern, loaded) != 0 || allow != loaded_allow;
}

static MgPending
row_pending (GtkTreeModel *model,
             GtkTreeIter  *iter,
             gpointer      user_data)
{
  gboolean moved, removed;
  MgPending pending;
  guint origin;

  gtk_tree_model_get (model, iter, RULE_ORIGIN, &origin, RULE_MOVED, &moved, RULE_REMOVED, &removed, -1);
  pending = mg_pending_from_flags (removed, origin == 0, rule_edited (model, iter));
  return pending == MG_PENDING_NONE && moved ? MG_PENDING_MOVE : pending;
}

/* Numbers the rules that stay (@user_data: the last number given). */
static void
show_row (GtkListStore *store,
          GtkTreeIter  *iter,
          MgPending     pending,
          gpointer      user_data)
{
  guint *position = user_data;
  g_autofree char *number = NULL;
  gboolean allow;

  gtk_tree_model_get (GTK_TREE_MODEL (store), iter, RULE_ALLOW, &allow, -1);
  if (pending != MG_PENDING_REMOVE)
    number = g_strdup_printf ("%u", ++*position);
  gtk_list_store_set (store, iter,
                      RULE_POSITION, number != NULL ? number : "",
                      RULE_ACTION, allow ? _("Allow") : _("Deny"),
                      -1);
}

/* Numbers the rules that stay, refreshes the shown columns; dirty while
 * anything is pending. */
static void
update_rows (MgRelayPage *self)
{
  guint position = 0;

  mg_page_set_dirty (MG_PAGE (self),
                     mg_staged_list_refresh (self->rules, RULE_PENDING, row_pending, show_row, &position));
  update_test_result (self);
}

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

  mg_dbus_control1_call_list_relay_rules_finish (MG_DBUS_CONTROL1 (source), &rules, result, &error);
  if (!mg_page_load_check (user_data, error, _("Could not read the relay rules")))
    return;

  self = MG_RELAY_PAGE (user_data);
  gtk_list_store_clear (self->rules);
  g_variant_iter_init (&iter, rules);
  while (g_variant_iter_next (&iter, "(&sb)", &pattern, &allow))
    gtk_list_store_insert_with_values (self->rules, NULL, -1,
                                       RULE_PATTERN, pattern,
                                       RULE_ALLOW, allow,
                                       RULE_ORIGIN, ++position,
                                       RULE_LOADED_PATTERN, pattern,
                                       RULE_LOADED_ALLOW, allow,
                                       -1);
  update_rows (self);
}

static void
mg_relay_page_reload (MgPage *page)
{
  mg_page_load_started (page);
  mg_dbus_control1_call_list_relay_rules (mg_page_get_proxy (page), mg_page_get_cancellable (page),
                                          on_list_relay_rules_cb, page);
}

/* ---- applying: the staged list as positional changes ------------------- */

/* Removals from the bottom up, so that each position sent is still the
 * daemon's.  @daemon: the origins of the daemon's rules, in its order. */
static void
add_removals (MgRelayPage *self,
              MgChanges   *changes,
              GArray      *daemon)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);

  for (guint i = daemon->len; i > 0; i--)
    {
      guint origin = g_array_index (daemon, guint, i - 1);
      GtkTreeIter iter;

      for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
           valid = gtk_tree_model_iter_next (model, &iter))
        {
          guint row_origin;
          gboolean removed;

          gtk_tree_model_get (model, &iter, RULE_ORIGIN, &row_origin, RULE_REMOVED, &removed, -1);
          if (row_origin != origin || !removed)
            continue;
          mg_changes_add (changes, model, &iter, "RemoveRelayRule", g_variant_new ("(u)", i));
          g_array_remove_index (daemon, i - 1);
          break;
        }
    }
}

static int
compare_origins (gconstpointer a,
                 gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

static guint
daemon_position (GArray *daemon,
                 guint   origin)
{
  for (guint i = 0; i < daemon->len; i++)
    if (g_array_index (daemon, guint, i) == origin)
      return i + 1;
  g_assert_not_reached ();
}

/* Top to bottom: rules 1 .. k-1 are in place; bring rule k there. */
static void
mg_relay_page_apply (MgPage *page)
{
  MgRelayPage *self = MG_RELAY_PAGE (page);
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);
  g_autoptr(MgChanges) changes = mg_changes_new ();
  g_autoptr(GArray) daemon = g_array_new (FALSE, FALSE, sizeof (guint));
  guint k = 0;
  GtkTreeIter iter;

  /* the daemon's rules are 1 .. n: every origin but the new rules' 0 */
  for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      guint origin;

      gtk_tree_model_get (model, &iter, RULE_ORIGIN, &origin, -1);
      if (origin > 0)
        g_array_append_val (daemon, origin);
    }
  g_array_sort (daemon, compare_origins);
  add_removals (self, changes, daemon);

  for (gboolean valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      g_autofree char *pattern = NULL;
      gboolean allow, removed;
      guint origin, from;

      gtk_tree_model_get (model, &iter, RULE_PATTERN, &pattern, RULE_ALLOW, &allow,
                          RULE_ORIGIN, &origin, RULE_REMOVED, &removed, -1);
      if (removed)
        continue;
      k++;
      if (origin == 0)
        {
          mg_changes_add (changes, model, &iter, "AddRelayRule", g_variant_new ("(sbu)", pattern, allow, k));
          g_array_insert_val (daemon, k - 1, origin);
          continue;
        }
      from = daemon_position (daemon, origin);
      if (from != k)
        {
          mg_changes_add (changes, model, &iter, "MoveRelayRule", g_variant_new ("(uu)", from, k));
          g_array_remove_index (daemon, from - 1);
          g_array_insert_val (daemon, k - 1, origin);
        }
      if (rule_edited (model, &iter))
        mg_changes_add (changes, model, &iter, "ReplaceRelayRule", g_variant_new ("(usb)", k, pattern, allow));
    }
  mg_page_apply_changes (page, g_steal_pointer (&changes));
}

/* ---- add / edit / remove / move ------------------------------------------ */

/* The row that will be rule @position (1-based), or FALSE past the end. */
static gboolean
nth_kept_rule (MgRelayPage *self,
               guint        position,
               GtkTreeIter *iter)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);
  guint n = 0;

  for (gboolean valid = gtk_tree_model_get_iter_first (model, iter); valid;
       valid = gtk_tree_model_iter_next (model, iter))
    {
      gboolean removed;

      gtk_tree_model_get (model, iter, RULE_REMOVED, &removed, -1);
      if (!removed && ++n == position)
        return TRUE;
    }
  return FALSE;
}

static void
on_rule_dialog_accepted_cb (MgPage       *page,
                            MgFormDialog *dialog,
                            GtkTreeIter  *unused)
{
  MgRelayPage *self = MG_RELAY_PAGE (page);
  g_autofree char *pattern = g_strstrip (g_strdup (mg_form_dialog_get_text (dialog, "pattern")));
  g_autoptr(GtkTreePath) path = NULL;
  guint64 position = 0;
  GtkTreeIter before, iter;

  if (!g_ascii_string_to_unsigned (mg_form_dialog_get_text (dialog, "position"), 10, 0, G_MAXUINT32, &position, NULL))
    position = 0;
  if (position > 0 && nth_kept_rule (self, (guint) position, &before))
    gtk_list_store_insert_before (self->rules, &iter, &before);
  else
    gtk_list_store_append (self->rules, &iter);
  gtk_list_store_set (self->rules, &iter, RULE_PATTERN, pattern,
                      RULE_ALLOW, mg_form_dialog_get_active (dialog, "allow"), -1);
  update_rows (self);
  path = gtk_tree_model_get_path (GTK_TREE_MODEL (self->rules), &iter);
  mg_list_editor_select (self->rules_editor, gtk_tree_path_get_indices (path)[0]);
}

static void
on_rules_editor_add_cb (MgRelayPage *self)
{
  MgFormDialog *dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Add Relay Rule"), _("_Add"));
  int selected = mg_list_editor_get_selected (self->rules_editor);
  g_autofree char *number = NULL;
  g_autofree char *position = NULL;
  GtkTreeIter iter;

  /* before the selected rule, by default */
  if (selected >= 0 && gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->rules), &iter, NULL, selected))
    gtk_tree_model_get (GTK_TREE_MODEL (self->rules), &iter, RULE_POSITION, &number, -1);
  position = g_strdup (number != NULL && *number != '\0' ? number : "0");

  mg_form_dialog_add_entry (dialog, "pattern", _("_Pattern (IP, network, host or sender):"), NULL);
  mg_form_dialog_add_check (dialog, "allow", _("_Allow relaying (otherwise deny)"), TRUE);
  mg_form_dialog_add_entry (dialog, "position", _("P_osition (0 = at the end):"), position);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), NULL, NULL, on_rule_dialog_accepted_cb);
}

static void
on_edit_dialog_accepted_cb (MgPage       *page,
                            MgFormDialog *dialog,
                            GtkTreeIter  *iter)
{
  MgRelayPage *self = MG_RELAY_PAGE (page);
  g_autofree char *pattern = g_strstrip (g_strdup (mg_form_dialog_get_text (dialog, "pattern")));

  gtk_list_store_set (self->rules, iter, RULE_PATTERN, pattern,
                      RULE_ALLOW, mg_form_dialog_get_active (dialog, "allow"), -1);
  update_rows (self);
}

/* Edit in place: the pattern and action of a rule; its place stays. */
static void
on_rules_editor_edit_cb (MgRelayPage *self,
                         int          index)
{
  g_autofree char *pattern = NULL;
  gboolean allow, removed;
  MgFormDialog *dialog;
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (GTK_TREE_MODEL (self->rules), &iter, NULL, index))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->rules), &iter, RULE_PATTERN, &pattern, RULE_ALLOW, &allow,
                      RULE_REMOVED, &removed, -1);
  if (removed)
    return;                      /* to be removed: Revert brings it back */

  dialog = mg_form_dialog_new (GTK_WIDGET (self), _("Edit Relay Rule"), _("_OK"));
  mg_form_dialog_add_entry (dialog, "pattern", _("_Pattern (IP, network, host or sender):"), pattern);
  mg_form_dialog_add_check (dialog, "allow", _("_Allow relaying (otherwise deny)"), allow);
  mg_staged_list_show_dialog (dialog, MG_PAGE (self), self->rules, &iter, on_edit_dialog_accepted_cb);
}

/* A staged addition goes away; a rule the daemon has is marked. */
static void
on_rules_editor_remove_cb (MgRelayPage *self,
                           int          index)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);
  GtkTreeIter iter;

  if (!gtk_tree_model_iter_nth_child (model, &iter, NULL, index))
    return;
  mg_staged_list_remove (self->rules, &iter, RULE_REMOVED,
                         row_pending (model, &iter, NULL) == MG_PENDING_ADD);
  update_rows (self);
}

/* Swaps two neighbours; the moved rule stays selected. */
static void
on_rules_editor_move_cb (MgRelayPage *self,
                         int          from,
                         int          to)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->rules);
  GtkTreeIter a, b;

  if (!gtk_tree_model_iter_nth_child (model, &a, NULL, from) ||
      !gtk_tree_model_iter_nth_child (model, &b, NULL, to))
    return;
  gtk_list_store_swap (self->rules, &a, &b);
  gtk_list_store_set (self->rules, &a, RULE_MOVED, TRUE, -1);
  update_rows (self);
  mg_list_editor_select (self->rules_editor, to);
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

      gboolean removed;

      gtk_tree_model_get (model, &iter, RULE_PATTERN, &pattern, RULE_ALLOW, &allow, RULE_REMOVED, &removed, -1);
      if (!removed)
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

  subject = g_strstrip (g_ascii_strdown (gtk_entry_get_text (self->test_entry), -1));
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

  mg_page_set_list_editor (MG_PAGE (self), self->rules_editor);
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
  MG_PAGE_CLASS (klass)->apply = mg_relay_page_apply;

  g_type_ensure (MG_TYPE_LIST_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailgate/MailControl/ui/mg-relay-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, rules_editor);
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, test_entry);
  gtk_widget_class_bind_template_child (widget_class, MgRelayPage, test_result_label);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_add_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_edit_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_remove_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_rules_editor_move_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_test_entry_changed_cb);
}

static void
mg_relay_page_init (MgRelayPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rules = gtk_list_store_new (N_RULE_COLUMNS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                    G_TYPE_BOOLEAN, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_BOOLEAN,
                                    G_TYPE_BOOLEAN, G_TYPE_BOOLEAN, G_TYPE_STRING);
  mg_list_editor_set_model (self->rules_editor, self->rules);
  mg_list_editor_set_editable (self->rules_editor, TRUE);
  mg_list_editor_set_strikethrough_column (self->rules_editor, RULE_REMOVED);
  mg_list_editor_add_column (self->rules_editor, _("#"), RULE_POSITION, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("Pattern"), RULE_PATTERN, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("Action"), RULE_ACTION, FALSE);
  mg_list_editor_add_column (self->rules_editor, _("Pending"), RULE_PENDING, FALSE);
}

MgPage *
mg_relay_page_new (MgDBusControl1 *proxy)
{
  return g_object_new (MG_TYPE_RELAY_PAGE,
                       "proxy", proxy,
                       "title", _("Relay restrictions"),
                       NULL);
}
