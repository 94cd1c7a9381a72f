/* mg-page.c - the base class of every tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * Holds what every page shares: the control proxy and a cancellable (both
 * construct-time; the cancellable is cancelled in dispose so that no reply
 * touches a page that is gone), the staged-edits flag, a page-level message
 * line at the top, one problem label under each registered field, and the
 * generic binding of settings widgets to schema keys (mg-settings.h): a
 * GtkSwitch or GtkCheckButton is a boolean, a GtkSpinButton an integer with
 * the schema's range, a GtkEntry text.  The schema's summary becomes the
 * widget's tooltip.
 *
 * Threading: main thread only.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "mg-list-editor.h"
#include "mg-page.h"
#include "mg-problem.h"
#include "mg-settings.h"

typedef struct
{
  GtkWidget *widget;          /* unowned: a child of the page */
  GtkLabel  *problem_label;   /* unowned: placed under the widget */
} Field;

typedef struct
{
  GtkWidget *widget;
  char      *loaded;          /* the value the daemon sent */
} Setting;

typedef struct
{
  MgDBusControl1 *proxy;
  GCancellable   *cancellable;
  char           *title;
  GtkLabel       *message_label;
  GHashTable     *fields;     /* field → Field* */
  GHashTable     *settings;   /* key → Setting* */
  gboolean        dirty;
  gboolean        busy;
  gboolean        applying;
  guint           loads;
  gboolean        loading;
  guint           apply_pending;  /* calls of the running staged apply */
  gboolean        apply_failed;
  MgChanges      *changes;        /* the ApplyChanges list awaiting its answer */
  MgListEditor   *list_editor;    /* unowned: shows the changes' rows */
} MgPagePrivate;

G_DEFINE_TYPE_WITH_PRIVATE (MgPage, mg_page, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_PROXY,
  PROP_TITLE,
  PROP_DIRTY,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
setting_free (gpointer data)
{
  Setting *setting = data;

  g_free (setting->loaded);
  g_free (setting);
}

static void
mg_page_dispose (GObject *object)
{
  MgPagePrivate *priv = mg_page_get_instance_private (MG_PAGE (object));

  g_cancellable_cancel (priv->cancellable);
  g_clear_object (&priv->cancellable);
  g_clear_object (&priv->proxy);
  g_clear_pointer (&priv->fields, g_hash_table_unref);
  g_clear_pointer (&priv->settings, g_hash_table_unref);
  g_clear_pointer (&priv->changes, mg_changes_free);

  G_OBJECT_CLASS (mg_page_parent_class)->dispose (object);
}

static void
mg_page_finalize (GObject *object)
{
  MgPagePrivate *priv = mg_page_get_instance_private (MG_PAGE (object));

  g_free (priv->title);

  G_OBJECT_CLASS (mg_page_parent_class)->finalize (object);
}

static void
mg_page_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  MgPage *self = MG_PAGE (object);
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, priv->proxy);
      break;
    case PROP_TITLE:
      g_value_set_string (value, priv->title);
      break;
    case PROP_DIRTY:
      g_value_set_boolean (value, priv->dirty);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, priv->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_page_set_property (GObject      *object,
                      guint         prop_id,
                      const GValue *value,
                      GParamSpec   *pspec)
{
  MgPage *self = MG_PAGE (object);
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_PROXY:
      priv->proxy = g_value_dup_object (value);
      break;
    case PROP_TITLE:
      g_free (priv->title);
      priv->title = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mg_page_class_init (MgPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mg_page_dispose;
  object_class->finalize = mg_page_finalize;
  object_class->get_property = mg_page_get_property;
  object_class->set_property = mg_page_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, MG_DBUS_TYPE_CONTROL1,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DIRTY] =
    g_param_spec_boolean ("dirty", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mg_page_init (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  GtkStyleContext *style;

  priv->cancellable = g_cancellable_new ();
  priv->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  priv->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, setting_free);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  gtk_container_set_border_width (GTK_CONTAINER (self), 12);

  /* The page-level message line: problems without a field, call errors */
  priv->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (priv->message_label, 0.0);
  gtk_label_set_line_wrap (priv->message_label, TRUE);
  gtk_label_set_selectable (priv->message_label, TRUE);
  style = gtk_widget_get_style_context (GTK_WIDGET (priv->message_label));
  gtk_style_context_add_class (style, "error");
  gtk_widget_set_no_show_all (GTK_WIDGET (priv->message_label), TRUE);
  gtk_box_pack_start (GTK_BOX (self), GTK_WIDGET (priv->message_label), FALSE, FALSE, 0);
}

MgDBusControl1 *
mg_page_get_proxy (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), NULL);
  return priv->proxy;
}

GCancellable *
mg_page_get_cancellable (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), NULL);
  return priv->cancellable;
}

const char *
mg_page_get_title (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), NULL);
  return priv->title;
}

gboolean
mg_page_get_dirty (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), FALSE);
  return priv->dirty;
}

void
mg_page_set_dirty (MgPage   *self,
                   gboolean  dirty)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));

  if (priv->loading && dirty)
    return;                     /* filling widgets from the daemon is no edit */
  if (priv->dirty == !!dirty)
    return;
  priv->dirty = !!dirty;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIRTY]);
}

gboolean
mg_page_get_busy (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), FALSE);
  return priv->busy;
}

static void
update_busy (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  gboolean busy = priv->applying || priv->loads > 0;

  if (priv->busy == busy)
    return;
  priv->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_busy (MgPage   *self,
          gboolean  busy)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  priv->applying = busy;
  update_busy (self);
}

/**
 * mg_page_load_started:
 *
 * A page calls this for every read it sends to the daemon, and
 * mg_page_load_finished() when the answer is in: the page is busy (no
 * Apply) until its model is complete, so that no edit is made on a list
 * about to be replaced.
 */
void
mg_page_load_started (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));
  priv->loads++;
  update_busy (self);
}

void
mg_page_load_finished (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));
  g_return_if_fail (priv->loads > 0);
  priv->loads--;
  update_busy (self);
}

/**
 * mg_page_load_check:
 * @user_data: the page a load call was started for (mg_page_load_started())
 * @error: (nullable): how the call failed
 * @what: what to say when it failed ("Could not read the domains")
 *
 * The first thing a load call's callback does: ends the load, and shows
 * @error under @what.  A cancelled call is left alone, page and all: the
 * page is gone.
 *
 * Returns: %TRUE when the call succeeded and its answer may be shown
 */
gboolean
mg_page_load_check (gpointer      user_data,
                    const GError *error,
                    const char   *what)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;                /* the page is gone: do not touch it */
  mg_page_load_finished (MG_PAGE (user_data));
  if (error != NULL)
    {
      mg_page_show_error (MG_PAGE (user_data), what, error);
      return FALSE;
    }
  return TRUE;
}

void
mg_page_reload (MgPage *self)
{
  g_return_if_fail (MG_IS_PAGE (self));

  mg_page_clear_problems (self);
  if (MG_PAGE_GET_CLASS (self)->reload != NULL)
    MG_PAGE_GET_CLASS (self)->reload (self);
  mg_page_set_dirty (self, FALSE);
}

void
mg_page_apply (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));

  if (!priv->dirty || priv->busy)
    return;
  mg_page_clear_problems (self);
  set_busy (self, TRUE);
  if (MG_PAGE_GET_CLASS (self)->apply != NULL)
    MG_PAGE_GET_CLASS (self)->apply (self);
  else
    mg_page_apply_done (self, TRUE);
}

/**
 * mg_page_apply_done:
 * @success: %TRUE when the daemon took every staged edit
 *
 * Ends an apply: on success the page reloads (the daemon's normalised
 * values replace what was typed); otherwise the edits stay staged next to
 * the problems shown.
 */
void
mg_page_apply_done (MgPage   *self,
                    gboolean  success)
{
  g_return_if_fail (MG_IS_PAGE (self));

  /* reload first: its reads keep the page busy, so that nobody sees it
   * idle and still dirty between the apply and the reload */
  if (success)
    mg_page_reload (self);
  set_busy (self, FALSE);
}

/* ---- problems next to fields ----------------------------------------- */

static GtkLabel *
new_problem_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_style_context_add_class (gtk_widget_get_style_context (label), "error");
  gtk_style_context_add_class (gtk_widget_get_style_context (label), "dim-label");
  gtk_widget_set_no_show_all (label, TRUE);
  return GTK_LABEL (label);
}

static void
place_problem_label (GtkWidget *widget,
                     GtkLabel  *label)
{
  GtkWidget *parent = gtk_widget_get_parent (widget);

  if (GTK_IS_GRID (parent))
    {
      int left = 0, top = 0, width = 1;

      gtk_container_child_get (GTK_CONTAINER (parent), widget,
                               "left-attach", &left, "top-attach", &top,
                               "width", &width, NULL);
      gtk_grid_insert_row (GTK_GRID (parent), top + 1);
      gtk_grid_attach (GTK_GRID (parent), GTK_WIDGET (label), left, top + 1, width, 1);
    }
  else if (GTK_IS_BOX (parent))
    {
      int position = 0;

      gtk_container_child_get (GTK_CONTAINER (parent), widget, "position", &position, NULL);
      gtk_box_pack_start (GTK_BOX (parent), GTK_WIDGET (label), FALSE, FALSE, 0);
      gtk_box_reorder_child (GTK_BOX (parent), GTK_WIDGET (label), position + 1);
    }
  else
    g_warning ("no place for the problem label of a %s", G_OBJECT_TYPE_NAME (widget));
}

/**
 * mg_page_add_field:
 * @field: a setting key or a problem field name ("listen", "route.port", ...)
 * @widget: the widget the field is edited in, inside a #GtkGrid or #GtkBox
 *
 * Problems the daemon returns for @field will show under @widget.
 */
void
mg_page_add_field (MgPage     *self,
                   const char *field,
                   GtkWidget  *widget)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  Field *info;

  g_return_if_fail (MG_IS_PAGE (self));
  g_return_if_fail (GTK_IS_WIDGET (widget));

  info = g_new0 (Field, 1);
  info->widget = widget;
  info->problem_label = new_problem_label ();
  place_problem_label (widget, info->problem_label);
  g_hash_table_replace (priv->fields, g_strdup (field), info);
}

GtkLabel *
mg_page_get_problem_label (MgPage     *self,
                           const char *field)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  Field *info;

  g_return_val_if_fail (MG_IS_PAGE (self), NULL);

  info = g_hash_table_lookup (priv->fields, field);
  return info != NULL ? info->problem_label : NULL;
}

void
mg_page_clear_problems (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  GHashTableIter iter;
  Field *info;

  g_return_if_fail (MG_IS_PAGE (self));

  g_hash_table_iter_init (&iter, priv->fields);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &info))
    {
      gtk_label_set_text (info->problem_label, "");
      gtk_widget_hide (GTK_WIDGET (info->problem_label));
    }
  gtk_label_set_text (priv->message_label, "");
  gtk_widget_hide (GTK_WIDGET (priv->message_label));
}

static void
append_message (MgPage     *self,
                const char *text)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  const char *old = gtk_label_get_text (priv->message_label);
  g_autofree char *joined = NULL;

  joined = *old != '\0' ? g_strconcat (old, "\n", text, NULL) : g_strdup (text);
  gtk_label_set_text (priv->message_label, joined);
  gtk_widget_show (GTK_WIDGET (priv->message_label));
}

/* "changes[2].domain" (a problem of ApplyChanges' third change) → 2 and
 * "domain"; FALSE for any other field. */
static gboolean
split_change_field (const char  *field,
                    guint       *index,
                    const char **rest)
{
  const char *digits;
  char *end = NULL;
  guint64 n;

  if (!g_str_has_prefix (field, "changes["))
    return FALSE;
  digits = field + strlen ("changes[");
  n = g_ascii_strtoull (digits, &end, 10);
  if (end == digits || *end != ']' || n > G_MAXUINT)
    return FALSE;
  *index = (guint) n;
  *rest = end[1] == '.' ? end + 2 : end + 1;
  return TRUE;
}

/* Points the page at the row the refused change @index came from. */
static void
select_change_row (MgPage *self,
                   guint   index)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  GtkTreeRowReference *row;
  g_autoptr(GtkTreePath) path = NULL;

  if (priv->changes == NULL)
    return;
  row = mg_changes_get_row (priv->changes, index);
  if (row == NULL || (path = gtk_tree_row_reference_get_path (row)) == NULL)
    return;
  if (MG_PAGE_GET_CLASS (self)->select_row != NULL)
    MG_PAGE_GET_CLASS (self)->select_row (self, path);
  else if (priv->list_editor != NULL)
    mg_list_editor_select (priv->list_editor, gtk_tree_path_get_indices (path)[0]);
}

/**
 * mg_page_set_list_editor:
 * @editor: (transfer none): a child of the page that shows the rows of the
 *   model given to mg_changes_add(), in the same order
 *
 * A refused change's row is then selected in @editor, for a page without
 * its own select_row (one whose list shows its rows unfiltered).
 */
void
mg_page_set_list_editor (MgPage       *self,
                         MgListEditor *editor)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));
  g_return_if_fail (MG_IS_LIST_EDITOR (editor));

  priv->list_editor = editor;
}

/**
 * mg_page_show_problems:
 * @problems: (element-type MgProblem): the daemon's answer
 *
 * Shows each problem under its field (or on the page's message line).  A
 * field "changes[N].FIELD" (ApplyChanges) shows under FIELD, and the row
 * of the first such change is selected.
 *
 * Returns: %TRUE when @problems is empty
 */
gboolean
mg_page_show_problems (MgPage    *self,
                       GPtrArray *problems)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  gboolean row_shown = FALSE;

  g_return_val_if_fail (MG_IS_PAGE (self), FALSE);

  for (guint i = 0; i < problems->len; i++)
    {
      const MgProblem *problem = g_ptr_array_index (problems, i);
      g_autoptr(MgProblem) inner = NULL;
      g_autofree char *text = NULL;
      const char *field = problem->field;
      guint change;
      Field *info;

      if (split_change_field (problem->field, &change, &field))
        {
          inner = mg_problem_new (problem->code, field, problem->arg);
          problem = inner;
          if (!row_shown)
            select_change_row (self, change);
          row_shown = TRUE;
        }
      text = mg_problem_to_string (problem);
      info = g_hash_table_lookup (priv->fields, field);
      if (info == NULL)
        {
          append_message (self, text);
          continue;
        }
      if (*gtk_label_get_text (info->problem_label) != '\0')
        {
          g_autofree char *joined = g_strconcat (gtk_label_get_text (info->problem_label), "\n", text, NULL);

          gtk_label_set_text (info->problem_label, joined);
        }
      else
        gtk_label_set_text (info->problem_label, text);
      gtk_widget_show (GTK_WIDGET (info->problem_label));
    }

  return problems->len == 0;
}

gboolean
mg_page_show_problems_variant (MgPage   *self,
                               GVariant *problems)
{
  g_autoptr(GPtrArray) list = mg_control_client_problems_from_variant (problems);

  return mg_page_show_problems (self, list);
}

void
mg_page_show_error (MgPage       *self,
                    const char   *what,
                    const GError *error)
{
  g_autofree char *remote = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (MG_IS_PAGE (self));

  if (g_dbus_error_is_remote_error (error))
    {
      g_autoptr(GError) copy = g_error_copy (error);

      g_dbus_error_strip_remote_error (copy);
      remote = g_strdup (copy->message);
    }
  /* TRANSLATORS: "Could not apply the changes: <reason>" */
  text = g_strdup_printf (_("%s: %s"), what, remote != NULL ? remote : error->message);
  append_message (self, text);
}

const char *
mg_page_get_message (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_val_if_fail (MG_IS_PAGE (self), NULL);
  return gtk_label_get_text (priv->message_label);
}

/* ---- settings bound to schema keys ----------------------------------- */

static void
on_setting_widget_changed_cb (MgPage *self)
{
  mg_page_set_dirty (self, TRUE);
}

/**
 * mg_page_bind_setting:
 * @key: a key of the settings schema
 * @widget: a #GtkSwitch, #GtkCheckButton, #GtkSpinButton or #GtkEntry
 *
 * One line per setting: the widget gets the schema's summary as tooltip,
 * the schema's range (spin buttons), a problem label, and marks the page
 * dirty when edited.
 */
void
mg_page_bind_setting (MgPage     *self,
                      const char *key,
                      GtkWidget  *widget)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  const MgSettingInfo *info = mg_settings_lookup (key);
  Setting *setting;

  g_return_if_fail (MG_IS_PAGE (self));

  if (info == NULL)
    {
      /* A schema without this key: the row is not offered */
      g_autoptr(GList) labels = gtk_widget_list_mnemonic_labels (widget);

      g_debug ("setting %s is not in the schema: row hidden", key);
      for (GList *l = labels; l != NULL; l = l->next)
        {
          gtk_widget_set_no_show_all (l->data, TRUE);
          gtk_widget_hide (l->data);
        }
      gtk_widget_set_no_show_all (widget, TRUE);
      gtk_widget_hide (widget);
      return;
    }

  gtk_widget_set_tooltip_text (widget, _(info->summary));
  if (GTK_IS_SWITCH (widget))
    g_signal_connect_swapped (widget, "notify::active", G_CALLBACK (on_setting_widget_changed_cb), self);
  else if (GTK_IS_TOGGLE_BUTTON (widget))
    g_signal_connect_swapped (widget, "toggled", G_CALLBACK (on_setting_widget_changed_cb), self);
  else if (GTK_IS_SPIN_BUTTON (widget))
    {
      gtk_spin_button_set_range (GTK_SPIN_BUTTON (widget), (double) info->min, (double) info->max);
      gtk_spin_button_set_increments (GTK_SPIN_BUTTON (widget), 1, 10);
      g_signal_connect_swapped (widget, "value-changed", G_CALLBACK (on_setting_widget_changed_cb), self);
    }
  else if (GTK_IS_ENTRY (widget))
    g_signal_connect_swapped (widget, "changed", G_CALLBACK (on_setting_widget_changed_cb), self);
  else
    g_return_if_reached ();

  setting = g_new0 (Setting, 1);
  setting->widget = widget;
  g_hash_table_replace (priv->settings, g_strdup (key), setting);
  mg_page_add_field (self, key, widget);
}

static char *
read_widget (GtkWidget *widget)
{
  if (GTK_IS_SWITCH (widget))
    return g_strdup (gtk_switch_get_active (GTK_SWITCH (widget)) ? "true" : "false");
  if (GTK_IS_TOGGLE_BUTTON (widget))
    return g_strdup (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (widget)) ? "true" : "false");
  if (GTK_IS_SPIN_BUTTON (widget))
    {
      gtk_spin_button_update (GTK_SPIN_BUTTON (widget));   /* take typed text */
      return g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (widget)));
    }
  return g_strdup (gtk_entry_get_text (GTK_ENTRY (widget)));
}

static void
write_widget (GtkWidget  *widget,
              const char *value)
{
  if (GTK_IS_SWITCH (widget))
    gtk_switch_set_active (GTK_SWITCH (widget), g_strcmp0 (value, "true") == 0);
  else if (GTK_IS_TOGGLE_BUTTON (widget))
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (widget), g_strcmp0 (value, "true") == 0);
  else if (GTK_IS_SPIN_BUTTON (widget))
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (widget), g_ascii_strtod (value, NULL));
  else
    gtk_entry_set_text (GTK_ENTRY (widget), value);
}

/**
 * mg_page_load_settings:
 * @settings: the a{ss} answer of GetSettings
 */
void
mg_page_load_settings (MgPage   *self,
                       GVariant *settings)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  GHashTableIter iter;
  const char *key;
  Setting *setting;

  g_return_if_fail (MG_IS_PAGE (self));

  priv->loading = TRUE;
  g_hash_table_iter_init (&iter, priv->settings);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &setting))
    {
      const char *value = NULL;

      if (!g_variant_lookup (settings, key, "&s", &value))
        continue;
      write_widget (setting->widget, value);
      g_free (setting->loaded);
      setting->loaded = read_widget (setting->widget);
    }
  priv->loading = FALSE;
}

/**
 * mg_page_collect_settings:
 *
 * Returns: (transfer floating): a{ss} of the settings edited since the
 *   last load (possibly empty)
 */
GVariant *
mg_page_collect_settings (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  GHashTableIter iter;
  const char *key;
  Setting *setting;

  g_hash_table_iter_init (&iter, priv->settings);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &setting))
    {
      g_autofree char *value = NULL;

      if (setting->loaded == NULL)
        continue;               /* never loaded: nothing to compare with */
      value = read_widget (setting->widget);
      if (g_strcmp0 (value, setting->loaded) != 0)
        g_variant_builder_add (&builder, "{ss}", key, value);
    }
  return g_variant_builder_end (&builder);
}

/* ---- staged apply ------------------------------------------------------- */

static void
apply_call_finished (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_assert (priv->apply_pending > 0);
  if (--priv->apply_pending == 0)
    mg_page_apply_done (self, !priv->apply_failed);
}

static void
on_apply_call_done_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  MgPagePrivate *priv;
  MgPage *self;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the page is gone: do not touch it */

  self = MG_PAGE (user_data);
  priv = mg_page_get_instance_private (self);
  if (reply == NULL)
    {
      mg_page_show_error (self, _("Could not apply the changes"), error);
      priv->apply_failed = TRUE;
    }
  else
    {
      g_variant_get (reply, "(@a(sss))", &problems);
      if (!mg_page_show_problems_variant (self, problems))
        priv->apply_failed = TRUE;
    }
  apply_call_finished (self);
}

void
mg_page_apply_begin (MgPage *self)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  priv->apply_failed = FALSE;
  priv->apply_pending = 1;   /* held until mg_page_apply_end() */
}

void
mg_page_apply_call (MgPage     *self,
                    const char *method,
                    GVariant   *parameters)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  priv->apply_pending++;
  g_dbus_proxy_call (G_DBUS_PROXY (priv->proxy), method, parameters,
                     G_DBUS_CALL_FLAGS_NONE, -1, priv->cancellable,
                     on_apply_call_done_cb, self);
}

void
mg_page_apply_end (MgPage *self)
{
  apply_call_finished (self);
}

/* ---- staged lists: one ApplyChanges call ------------------------------- */

struct _MgChanges
{
  GPtrArray *changes;   /* GVariant (sv) */
  GPtrArray *rows;      /* GtkTreeRowReference, or NULL: same index */
};

MgChanges *
mg_changes_new (void)
{
  MgChanges *self = g_new0 (MgChanges, 1);

  self->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) gtk_tree_row_reference_free);
  return self;
}

void
mg_changes_free (MgChanges *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->changes);
  g_ptr_array_unref (self->rows);
  g_free (self);
}

/**
 * mg_changes_add:
 * @model: (nullable): the model of the row the change comes from
 * @iter: (nullable): that row
 * @method: a change method of org.mailgate.Control1 ("AddDomain", ...)
 * @parameters: (transfer floating): its in-arguments as a tuple
 */
void
mg_changes_add (MgChanges    *self,
                GtkTreeModel *model,
                GtkTreeIter  *iter,
                const char   *method,
                GVariant     *parameters)
{
  GtkTreeRowReference *row = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (method != NULL);

  if (model != NULL && iter != NULL)
    {
      g_autoptr(GtkTreePath) path = gtk_tree_model_get_path (model, iter);

      row = gtk_tree_row_reference_new (model, path);
    }
  g_ptr_array_add (self->changes, g_variant_ref_sink (g_variant_new ("(sv)", method, parameters)));
  g_ptr_array_add (self->rows, row);
}

guint
mg_changes_get_length (MgChanges *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->changes->len;
}

/* (transfer none) (nullable): the row change @index came from */
GtkTreeRowReference *
mg_changes_get_row (MgChanges *self,
                    guint      index)
{
  g_return_val_if_fail (self != NULL, NULL);
  return index < self->rows->len ? g_ptr_array_index (self->rows, index) : NULL;
}

static GVariant *
changes_to_variant (MgChanges *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sv)"));

  for (guint i = 0; i < self->changes->len; i++)
    g_variant_builder_add_value (&builder, g_ptr_array_index (self->changes, i));
  return g_variant_builder_end (&builder);
}

static void
on_apply_changes_done_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GVariant) problems = NULL;
  g_autoptr(GError) error = NULL;
  MgPagePrivate *priv;
  MgPage *self;
  gboolean ok;

  if (!mg_dbus_control1_call_apply_changes_finish (MG_DBUS_CONTROL1 (source), &problems, result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the page is gone: do not touch it */

  self = MG_PAGE (user_data);
  priv = mg_page_get_instance_private (self);
  if (error != NULL)
    {
      mg_page_show_error (self, _("Could not apply the changes"), error);
      ok = FALSE;
    }
  else
    ok = mg_page_show_problems_variant (self, problems);
  g_clear_pointer (&priv->changes, mg_changes_free);
  mg_page_apply_done (self, ok);
}

void
mg_page_apply_changes (MgPage    *self,
                       MgChanges *changes)
{
  MgPagePrivate *priv = mg_page_get_instance_private (self);

  g_return_if_fail (MG_IS_PAGE (self));
  g_return_if_fail (changes != NULL);

  g_clear_pointer (&priv->changes, mg_changes_free);
  if (mg_changes_get_length (changes) == 0)
    {
      mg_changes_free (changes);
      mg_page_apply_done (self, TRUE);
      return;
    }
  priv->changes = changes;
  mg_dbus_control1_call_apply_changes (priv->proxy, changes_to_variant (changes),
                                       priv->cancellable, on_apply_changes_done_cb, self);
}

const char *
mg_pending_to_string (MgPending pending)
{
  switch (pending)
    {
    case MG_PENDING_ADD:
      return _("To be added");
    case MG_PENDING_CHANGE:
      return _("To be changed");
    case MG_PENDING_MOVE:
      return _("To be moved");
    case MG_PENDING_REMOVE:
      return _("To be removed");
    case MG_PENDING_NONE:
    default:
      return "";
    }
}
