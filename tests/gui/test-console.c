/* test-console.c - widget tests of Mail Control against a fake daemon
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * The real window, pages and templates (linked from mail-control-core),
 * driven through their widgets, against tests/lib/fake-control-server.c.
 * Needs an X display (meson runs it under xvfb-run); without one it
 * fails: it must never pass without having run.  Every wait is a poll of
 * the main loop with a deadline.
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gstdio.h>

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "fake-control-server.h"
#include "mg-accounts-page.h"
#include "mg-aliases-page.h"
#include "mg-application.h"
#include "mg-domains-page.h"
#include "mg-queue-page.h"
#include "mg-form-dialog.h"
#include "mg-list-editor.h"
#include "mg-relay-page.h"
#include "mg-server-page.h"
#include "mg-service-page.h"
#include "mg-trace-page.h"
#include "mg-window.h"

#define TIMEOUT_MS 30000     /* a deadline, not a delay: slow machines and valgrind */

static MgApplication *application;

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_until (Condition cond,
            gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) TIMEOUT_MS * 1000;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return TRUE;
}

/* ---- finding widgets ------------------------------------------------------- */

typedef struct
{
  const char *pattern;
  GType       type;
  GtkWidget  *found;
} Find;

static void
find_cb (GtkWidget *widget,
         gpointer   data)
{
  Find *find = data;

  if (find->found != NULL)
    return;
  if (GTK_IS_LABEL (widget) && find->type == GTK_TYPE_LABEL &&
      g_pattern_match_simple (find->pattern, gtk_label_get_text (GTK_LABEL (widget))))
    find->found = widget;
  else if (find->type != GTK_TYPE_LABEL && G_TYPE_CHECK_INSTANCE_TYPE (widget, find->type))
    find->found = widget;
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), find_cb, find);
}

static GtkWidget *
find_label (GtkWidget  *root,
            const char *pattern)
{
  Find find = { pattern, GTK_TYPE_LABEL, NULL };

  find_cb (root, &find);
  return find.found;
}

static GtkWidget *
find_child (GtkWidget *root,
            GType      type)
{
  Find find = { NULL, type, NULL };

  gtk_container_forall (GTK_CONTAINER (root), find_cb, &find);
  return find.found;
}

static MgFormDialog *
find_form_dialog (void)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (MG_IS_FORM_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

static gboolean
form_dialog_shown (gpointer data)
{
  return find_form_dialog () != NULL;
}

static int
n_rows (MgListEditor *editor)
{
  return gtk_tree_model_iter_n_children (gtk_tree_view_get_model (mg_list_editor_get_view (editor)), NULL);
}

/* The text shown in a cell: row @row, the @column-th column on screen */
static char *
row_text (MgListEditor *editor,
          int           row,
          int           column)
{
  GtkTreeView *view = mg_list_editor_get_view (editor);
  GtkTreeModel *model = gtk_tree_view_get_model (view);
  GtkTreeViewColumn *tree_column = gtk_tree_view_get_column (view, column);
  g_autoptr(GList) cells = NULL;
  GtkTreeIter iter;
  char *text = NULL;

  if (tree_column == NULL || !gtk_tree_model_iter_nth_child (model, &iter, NULL, row))
    return NULL;
  cells = gtk_cell_layout_get_cells (GTK_CELL_LAYOUT (tree_column));
  gtk_tree_view_column_cell_set_cell_data (tree_column, model, &iter, FALSE, FALSE);
  g_object_get (cells->data, "text", &text, NULL);
  return text;
}

/* A staged removal is shown struck through */
static gboolean
row_struck (MgListEditor *editor,
            int           row)
{
  GtkTreeView *view = mg_list_editor_get_view (editor);
  GtkTreeModel *model = gtk_tree_view_get_model (view);
  GtkTreeViewColumn *tree_column = gtk_tree_view_get_column (view, 0);
  g_autoptr(GList) cells = gtk_cell_layout_get_cells (GTK_CELL_LAYOUT (tree_column));
  gboolean struck = FALSE;
  GtkTreeIter iter;

  g_assert_true (gtk_tree_model_iter_nth_child (model, &iter, NULL, row));
  gtk_tree_view_column_cell_set_cell_data (tree_column, model, &iter, FALSE, FALSE);
  g_object_get (cells->data, "strikethrough", &struck, NULL);
  return struck;
}

static GtkMessageDialog *find_message_dialog (void);
static gboolean page_has_message (gpointer data);
static gboolean message_dialog_shown (gpointer data);

/* ---- fixture: a fake daemon and a window connected to it -------------------- */

typedef struct
{
  MgFakeControlServer *server;
  MgWindow            *window;
  gboolean             window_closed;   /* the test closed it */
} Fixture;

static gboolean
window_is_console (gpointer data)
{
  return g_strcmp0 (mg_window_get_state (data), "console") == 0;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->server = mg_fake_control_server_new (&error);
  g_assert_no_error (error);
  fixture->window = mg_window_new (GTK_APPLICATION (application),
                                   mg_fake_control_server_get_socket (fixture->server));
  gtk_widget_show (GTK_WIDGET (fixture->window));
  g_assert_true (wait_until (window_is_console, fixture->window));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (GTK_IS_DIALOG (l->data))
      gtk_widget_destroy (l->data);
  if (!fixture->window_closed)
    gtk_widget_destroy (GTK_WIDGET (fixture->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&fixture->server, mg_fake_control_server_free);
}

typedef struct
{
  Fixture    *fixture;
  const char *prefix;
} CallWait;

static gboolean
call_seen (gpointer data)
{
  CallWait *wait = data;

  return mg_fake_control_server_find_call (wait->fixture->server, wait->prefix) != NULL;
}

static gboolean
wait_for_call (Fixture    *fixture,
               const char *prefix)
{
  CallWait wait = { fixture, prefix };

  return wait_until (call_seen, &wait);
}

static guint
count_calls (Fixture    *fixture,
             const char *prefix)
{
  GPtrArray *calls = mg_fake_control_server_get_calls (fixture->server);
  guint n = 0;

  for (guint i = 0; i < calls->len; i++)
    n += g_str_has_prefix (g_ptr_array_index (calls, i), prefix);
  return n;
}

static gboolean
page_clean (gpointer data)
{
  return !mg_page_get_dirty (data) && !mg_page_get_busy (data);
}

static gboolean
page_idle (gpointer data)
{
  return !mg_page_get_busy (data);
}

/* ---- the "no daemon" state --------------------------------------------------- */

static gboolean
window_is_no_daemon (gpointer data)
{
  return g_strcmp0 (mg_window_get_state (data), "no-daemon") == 0;
}

static gboolean
spawn_failure_shown (gpointer data)
{
  return find_label (data, "mailgated stopped at once*") != NULL;
}

static void
test_no_daemon (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mg-console-XXXXXX", NULL);
  g_autofree char *socket_path = g_build_filename (dir, "control", NULL);
  g_autofree char *pattern = g_strdup_printf ("*%s*", socket_path);
  MgWindow *window = mg_window_new (GTK_APPLICATION (application), socket_path);
  GtkWidget *start_button;

  gtk_widget_show (GTK_WIDGET (window));
  g_assert_true (wait_until (window_is_no_daemon, window));

  /* It says what is wrong, how to start the system service, and offers a button */
  g_assert_nonnull (find_label (GTK_WIDGET (window), pattern));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "sudo systemctl start mailgated"));
  start_button = find_label (GTK_WIDGET (window), "Start in User Mode");
  g_assert_nonnull (start_button);
  g_assert_true (gtk_widget_is_drawable (start_button));
  g_assert_null (mg_window_get_page (window, MG_TYPE_SERVER_PAGE));
  /* With no daemon, the service actions are off */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (application), "start"));

  /* The button spawns the daemon and reports when it dies at once
   * (/bin/false stands in for a mailgated that cannot start) */
  g_setenv ("MAILGATE_DAEMON", "/bin/false", TRUE);
  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_parent (start_button)));
  g_assert_true (wait_until (spawn_failure_shown, window));
  g_assert_true (gtk_widget_get_sensitive (gtk_widget_get_parent (start_button)));
  g_assert_cmpstr (mg_window_get_state (window), ==, "no-daemon");
  g_unsetenv ("MAILGATE_DAEMON");

  gtk_widget_destroy (GTK_WIDGET (window));
  g_rmdir (dir);
}

/* ---- every page loads ------------------------------------------------------ */

static void
test_pages_load (Fixture       *fixture,
                 gconstpointer  data)
{
  GtkNotebook *notebook = GTK_NOTEBOOK (find_child (GTK_WIDGET (fixture->window), GTK_TYPE_NOTEBOOK));
  static const char * const titles[] = {
    "Server settings", "Domains", "Accounts", "Aliases", "Relay restrictions", "Service control", "Queue", "Trace",
  };

  g_assert_cmpint (gtk_notebook_get_n_pages (notebook), ==, G_N_ELEMENTS (titles));
  for (int i = 0; i < (int) G_N_ELEMENTS (titles); i++)
    g_assert_cmpstr (gtk_notebook_get_tab_label_text (notebook, gtk_notebook_get_nth_page (notebook, i)),
                     ==, titles[i]);
  g_assert_true (wait_for_call (fixture, "GetSettings"));
  g_assert_true (wait_for_call (fixture, "ListDomains"));
  g_assert_true (wait_for_call (fixture, "ListRelayRules"));
  g_assert_true (wait_for_call (fixture, "ListQueue"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (application), "start"));
}

/* ---- Apply: one call, problems next to the field ------------------------------ */

typedef struct
{
  GtkEntry   *entry;
  const char *text;
} EntryWait;

static gboolean
entry_has_text (gpointer data)
{
  EntryWait *wait = data;

  return g_strcmp0 (gtk_entry_get_text (wait->entry), wait->text) == 0;
}

static gboolean
widget_sensitive (gpointer data)
{
  return gtk_widget_get_sensitive (data);
}

static gboolean
label_visible (gpointer data)
{
  return gtk_widget_get_visible (data);
}

static void
test_apply_problem_next_to_field (Fixture       *fixture,
                                  gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVER_PAGE);
  GtkEntry *smarthost = NULL;
  GtkWidget *apply_button = find_label (GTK_WIDGET (fixture->window), "Apply");
  GtkLabel *problem = mg_page_get_problem_label (page, "delivery.smarthost");
  GtkLabel *other = mg_page_get_problem_label (page, "delivery.mailbox_dir");
  GtkWidget *grid;
  EntryWait wait;
  int entry_top = -1, problem_top = -1, entry_left = -1, problem_left = -1;

  g_assert_nonnull (problem);
  g_assert_nonnull (apply_button);
  apply_button = gtk_widget_get_parent (apply_button);      /* the label's button */
  g_assert_true (GTK_IS_BUTTON (apply_button));

  /* The entry is the widget whose mnemonic label says "Smart host" */
  smarthost = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Smart host*"))));
  wait = (EntryWait) { GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Mailbox folder:")))),
                       "mailbox/%USERNAME%" };
  g_assert_true (wait_until (entry_has_text, &wait));        /* the settings are loaded */
  g_assert_true (wait_until (page_clean, page));
  g_assert_false (gtk_widget_get_sensitive (apply_button));

  gtk_entry_set_text (smarthost, "bad host!");
  g_assert_true (mg_page_get_dirty (page));
  g_assert_true (wait_until (widget_sensitive, apply_button));   /* once every page has loaded */

  mg_fake_control_server_clear_calls (fixture->server);
  gtk_button_clicked (GTK_BUTTON (apply_button));
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  /* One call with exactly the edited setting; its problem comes back as
   * changes[0].delivery.smarthost and still lands under the entry */
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('ApplySettings', <({'delivery.smarthost': 'bad host!'},)>)],)");
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 1);
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplySettings"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddRoute"));
  g_assert_true (wait_until (label_visible, problem));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (problem), "delivery.smarthost"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (other)));
  g_assert_true (wait_until (page_idle, page));
  g_assert_true (mg_page_get_dirty (page));                  /* the edit stays staged */

  /* "Next to the field": directly under the entry, same column of the grid */
  grid = gtk_widget_get_parent (GTK_WIDGET (smarthost));
  g_assert_true (gtk_widget_get_parent (GTK_WIDGET (problem)) == grid);
  gtk_container_child_get (GTK_CONTAINER (grid), GTK_WIDGET (smarthost), "top-attach", &entry_top,
                           "left-attach", &entry_left, NULL);
  gtk_container_child_get (GTK_CONTAINER (grid), GTK_WIDGET (problem), "top-attach", &problem_top,
                           "left-attach", &problem_left, NULL);
  g_assert_cmpint (problem_top, ==, entry_top + 1);
  g_assert_cmpint (problem_left, ==, entry_left);

  /* A good value: applied, normalised value reloaded, problem gone */
  gtk_entry_set_text (smarthost, "Relay.Corp.Test:2525");
  gtk_button_clicked (GTK_BUTTON (apply_button));
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpstr (mg_fake_control_server_get_setting (fixture->server, "delivery.smarthost"), ==,
                   "relay.corp.test:2525");
  wait = (EntryWait) { smarthost, "relay.corp.test:2525" };
  g_assert_true (wait_until (entry_has_text, &wait));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (problem)));
  g_assert_false (gtk_widget_get_sensitive (apply_button));
}

static void
test_revert (Fixture       *fixture,
             gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVER_PAGE);
  GtkEntry *mailbox = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Mailbox folder:"))));
  EntryWait wait = { mailbox, "mailbox/%USERNAME%" };

  g_assert_true (wait_until (entry_has_text, &wait));
  g_assert_true (wait_until (page_clean, page));
  gtk_entry_set_text (mailbox, "elsewhere");
  g_assert_true (mg_window_has_unsaved_changes (fixture->window));
  mg_window_revert (fixture->window);
  g_assert_true (wait_until (entry_has_text, &wait));
  g_assert_false (mg_window_has_unsaved_changes (fixture->window));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));
}

/* ---- routing table: add / remove, staged until Apply ------------------------- */

static MgListEditor *
page_editor (MgPage *page)
{
  return MG_LIST_EDITOR (find_child (GTK_WIDGET (page), MG_TYPE_LIST_EDITOR));
}

typedef struct
{
  MgListEditor *editor;
  int           rows;
} RowsWait;

static gboolean
rows_are (gpointer data)
{
  RowsWait *wait = data;

  return n_rows (wait->editor) == wait->rows;
}

static void
test_routes_add_remove (Fixture       *fixture,
                        gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVER_PAGE);
  MgListEditor *editor = page_editor (page);
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;
  g_autofree char *domain = NULL;
  g_autofree char *pending = NULL;

  g_assert_true (wait_until (rows_are, &rows));               /* corp.test from the daemon */
  /* routes have no order: no Move Up / Move Down */
  g_assert_false (gtk_widget_get_visible (gtk_widget_get_parent (find_label (GTK_WIDGET (editor), "Move Up"))));

  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "domain"), "branch.test");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "host"), "127.0.0.1");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "port"), "2526");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpint (n_rows (editor), ==, 2);
  g_assert_true (mg_page_get_dirty (page));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddRoute"));   /* staged */

  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));   /* staged */
  pending = row_text (editor, 1, 3);
  g_assert_cmpstr (pending, ==, "To be added");

  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('AddRoute', <('branch.test', '127.0.0.1', uint16 2526)>)],)");
  g_assert_true (wait_until (page_clean, page));
  rows.rows = 2;
  g_assert_true (wait_until (rows_are, &rows));

  /* remove the first route (corp.test): struck through until Apply */
  domain = row_text (editor, 0, 0);
  g_assert_cmpstr (domain, ==, "corp.test");
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "remove");
  g_assert_cmpint (n_rows (editor), ==, 2);
  g_assert_true (row_struck (editor, 0));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 3);
  g_assert_cmpstr (pending, ==, "To be removed");
  mg_fake_control_server_clear_calls (fixture->server);
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('RemoveRoute', <('corp.test',)>)],)");   /* unchanged routes not sent */
  g_assert_true (wait_until (page_clean, page));
  rows.rows = 1;
  g_assert_true (wait_until (rows_are, &rows));
}

static void
activate_row (MgListEditor *editor,
              int           row)
{
  GtkTreeView *view = mg_list_editor_get_view (editor);
  g_autoptr(GtkTreePath) path = gtk_tree_path_new_from_indices (row, -1);

  mg_list_editor_select (editor, row);
  gtk_tree_view_row_activated (view, path, gtk_tree_view_get_column (view, 0));
}

/* Settings and routes in one ApplyChanges, all or nothing: a route's bad
 * port keeps the setting from applying; the problem shows under the table
 * with the row selected; fixed by Edit…, everything goes in one call.
 * Renaming a route's domain removes the old one first. */
static void
test_settings_and_routes_one_call (Fixture       *fixture,
                                   gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVER_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkLabel *route_problem = mg_page_get_problem_label (page, "route.port");
  GtkEntry *smarthost = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Smart host*"))));
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));

  gtk_entry_set_text (smarthost, "relay.corp.test");
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "domain"), "branch.test");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "host"), "127.0.0.1");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "port"), "not a port");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  mg_list_editor_select (editor, 0);

  mg_fake_control_server_clear_calls (fixture->server);
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('ApplySettings', <({'delivery.smarthost': 'relay.corp.test'},)>), "
                   "('AddRoute', <('branch.test', '127.0.0.1', uint16 0)>)],)");
  g_assert_true (wait_until (label_visible, route_problem));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (route_problem), "route.port"));
  g_assert_cmpint (mg_list_editor_get_selected (editor), ==, 1);    /* the refused route */
  g_assert_true (wait_until (page_idle, page));
  g_assert_true (mg_page_get_dirty (page));
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 1);
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplySettings"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddRoute"));
  /* all or nothing: the valid setting of the same Apply is not applied */
  g_assert_cmpstr (mg_fake_control_server_get_setting (fixture->server, "delivery.smarthost"), ==, "");

  /* Fix the port in place, and rename corp.test's route */
  activate_row (editor, 1);
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "port"), "2526");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "edit");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "domain"), "hq.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);

  mg_fake_control_server_clear_calls (fixture->server);
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('ApplySettings', <({'delivery.smarthost': 'relay.corp.test'},)>), "
                   "('RemoveRoute', <('corp.test',)>), "
                   "('AddRoute', <('hq.test', '192.0.2.10', uint16 20025)>), "
                   "('AddRoute', <('branch.test', '127.0.0.1', uint16 2526)>)],)");
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 1);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (route_problem)));
  g_assert_cmpstr (mg_fake_control_server_get_setting (fixture->server, "delivery.smarthost"), ==,
                   "relay.corp.test");
  rows.rows = 2;
  g_assert_true (wait_until (rows_are, &rows));
}

/* ---- relay rules: move up / down ------------------------------------------- */

typedef struct
{
  MgListEditor *editor;
  int           row;
  const char   *text;
} RowWait;

static gboolean
row_is (gpointer data)
{
  RowWait *wait = data;
  g_autofree char *text = row_text (wait->editor, wait->row, 1);

  return g_strcmp0 (text, wait->text) == 0;
}

static void
test_relay_move (Fixture       *fixture,
                 gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_RELAY_PAGE);
  MgListEditor *editor = page_editor (page);
  RowWait wait = { editor, 2, "@partner.test" };
  g_autofree char *number = NULL;
  g_autofree char *pending = NULL;

  g_assert_true (wait_until (row_is, &wait));
  g_assert_true (wait_until (page_clean, page));

  /* Move up: staged, shown at its new place with its new number */
  mg_list_editor_select (editor, 1);                          /* postmaster@corp.test */
  mg_list_editor_activate (editor, "up");
  wait = (RowWait) { editor, 0, "postmaster@corp.test" };
  g_assert_true (row_is (&wait));
  number = row_text (editor, 0, 0);
  pending = row_text (editor, 0, 3);
  g_assert_cmpstr (number, ==, "1");
  g_assert_cmpstr (pending, ==, "To be moved");
  g_assert_cmpint (mg_list_editor_get_selected (editor), ==, 0);  /* the rule stays selected */
  g_assert_true (mg_page_get_dirty (page));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "MoveRelayRule"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));

  /* Apply: one call with the move, then the daemon's order is shown */
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('MoveRelayRule', <(uint32 2, uint32 1)>)],)");
  g_assert_true (wait_until (page_clean, page));
  g_assert_true (row_is (&wait));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 3);
  g_assert_cmpstr (pending, ==, "");

  /* Down and back up again: nothing to send, nothing pending order-wise */
  mg_fake_control_server_clear_calls (fixture->server);
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "down");
  wait = (RowWait) { editor, 1, "postmaster@corp.test" };
  g_assert_true (row_is (&wait));
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('MoveRelayRule', <(uint32 2, uint32 1)>)],)");
  g_assert_true (wait_until (page_clean, page));
  g_assert_true (row_is (&wait));
}

/* Edit in place (row activation opens Edit…), remove, add: all staged,
 * the test box sees the staged rules; Apply sends the positional list */
static void
test_relay_edit_in_place (Fixture       *fixture,
                          gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_RELAY_PAGE);
  MgListEditor *editor = page_editor (page);
  RowWait wait = { editor, 2, "@partner.test" };
  GtkEntry *entry = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Test an address:"))));
  MgFormDialog *dialog;
  g_autofree char *pending = NULL;
  g_autofree char *number = NULL;
  RowsWait rows = { editor, 3 };

  g_assert_true (wait_until (row_is, &wait));
  g_assert_true (wait_until (page_clean, page));
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_parent (find_label (GTK_WIDGET (editor), "Edit…"))));

  activate_row (editor, 1);                                   /* postmaster@corp.test, deny */
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  g_assert_cmpstr (gtk_entry_get_text (mg_form_dialog_get_entry (dialog, "pattern")), ==, "postmaster@corp.test");
  g_assert_false (mg_form_dialog_get_active (dialog, "allow"));
  g_assert_null (mg_form_dialog_get_entry (dialog, "position"));   /* in place: no position */
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "pattern"), "abuse@corp.test");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_child (GTK_WIDGET (dialog), GTK_TYPE_CHECK_BUTTON)), TRUE);
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  wait = (RowWait) { editor, 1, "abuse@corp.test" };
  g_assert_true (row_is (&wait));
  pending = row_text (editor, 1, 3);
  g_assert_cmpstr (pending, ==, "To be changed");
  g_assert_true (mg_page_get_dirty (page));

  /* the test box tests the rules as listed, the staged edit included */
  gtk_entry_set_text (entry, "abuse@corp.test");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "Rule 2 allows*"));
  gtk_entry_set_text (entry, "postmaster@corp.test");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "No rule matches*"));

  /* remove rule 1: struck through, no number, no longer tested */
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "remove");
  g_assert_cmpint (n_rows (editor), ==, 3);
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 3);
  number = row_text (editor, 0, 0);
  g_assert_cmpstr (pending, ==, "To be removed");
  g_assert_cmpstr (number, ==, "");
  g_assert_true (row_struck (editor, 0));
  g_assert_false (row_struck (editor, 1));
  gtk_entry_set_text (entry, "192.0.2.77");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "No rule matches*"));

  /* a new rule at position 1 */
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "pattern"), "198.51.100.0/24");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_child (GTK_WIDGET (dialog), GTK_TYPE_CHECK_BUTTON)), FALSE);
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "position"), "1");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  wait = (RowWait) { editor, 1, "198.51.100.0/24" };
  g_assert_true (row_is (&wait));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ReplaceRelayRule"));

  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('RemoveRelayRule', <(uint32 1,)>), "
                   "('AddRelayRule', <('198.51.100.0/24', false, uint32 1)>), "
                   "('ReplaceRelayRule', <(uint32 2, 'abuse@corp.test', true)>)],)");
  g_assert_true (wait_until (page_clean, page));
  g_assert_true (wait_until (rows_are, &rows));
  wait = (RowWait) { editor, 0, "198.51.100.0/24" };
  g_assert_true (row_is (&wait));
  wait = (RowWait) { editor, 1, "abuse@corp.test" };
  g_assert_true (row_is (&wait));
  wait = (RowWait) { editor, 2, "@partner.test" };
  g_assert_true (row_is (&wait));
}

/* A refused rule: the problem under the list, its row selected, nothing
 * applied, the edits still staged */
static void
test_relay_problem (Fixture       *fixture,
                    gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_RELAY_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkLabel *problem = mg_page_get_problem_label (page, "relay.pattern");
  RowWait wait = { editor, 2, "@partner.test" };
  MgFormDialog *dialog;

  g_assert_true (wait_until (row_is, &wait));
  g_assert_true (wait_until (page_clean, page));
  mg_list_editor_select (editor, 2);
  mg_list_editor_activate (editor, "remove");
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "edit");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "pattern"), "10.0.0.0/33");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  mg_list_editor_select (editor, 2);

  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('RemoveRelayRule', <(uint32 3,)>), "
                   "('ReplaceRelayRule', <(uint32 1, '10.0.0.0/33', true)>)],)");
  g_assert_true (wait_until (label_visible, problem));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (problem), "relay.pattern: “10.0.0.0/33”"));
  g_assert_true (wait_until (page_idle, page));
  g_assert_cmpint (mg_list_editor_get_selected (editor), ==, 0);   /* the refused rule */
  g_assert_true (mg_page_get_dirty (page));
  g_assert_cmpint (n_rows (editor), ==, 3);
  g_assert_cmpuint (count_calls (fixture, "ListRelayRules"), ==, 1);   /* not reloaded */

  /* Revert: the daemon's rules again, nothing pending */
  mg_window_revert (fixture->window);
  g_assert_true (wait_until (page_clean, page));
  wait = (RowWait) { editor, 0, "192.0.2.0/24" };
  g_assert_true (wait_until (row_is, &wait));
  wait = (RowWait) { editor, 2, "@partner.test" };
  g_assert_true (wait_until (row_is, &wait));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (problem)));
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 1);
}

static void
test_relay_test_address (Fixture       *fixture,
                         gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_RELAY_PAGE);
  MgListEditor *editor = page_editor (page);
  RowWait wait = { editor, 2, "@partner.test" };
  GtkEntry *entry = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Test an address:"))));

  g_assert_true (wait_until (row_is, &wait));
  gtk_entry_set_text (entry, "192.0.2.77");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "Rule 1 allows*"));
  gtk_entry_set_text (entry, "postmaster@corp.test");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "Rule 2 denies*"));
  gtk_entry_set_text (entry, "198.51.100.1");
  g_assert_nonnull (find_label (GTK_WIDGET (page), "No rule matches*"));
}

/* ---- domains: staged until Apply, one call, problem next to the list ----- */

static void
test_domain_problem (Fixture       *fixture,
                     gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_DOMAINS_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkLabel *problem = mg_page_get_problem_label (page, "domain");
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;
  g_autofree char *pending = NULL;
  g_autofree char *shared = NULL;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));

  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "name"), "new.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "name"), "bad domain!");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpint (n_rows (editor), ==, 3);
  pending = row_text (editor, 1, 2);
  g_assert_cmpstr (pending, ==, "To be added");
  g_assert_true (mg_page_get_dirty (page));
  g_assert_true (mg_window_has_unsaved_changes (fixture->window));

  /* Details of an existing domain: the shared-box flag (seed: [詳細]), staged */
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "edit");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  g_assert_true (mg_form_dialog_get_active (dialog, "shared-box"));   /* as the daemon has it */
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_child (GTK_WIDGET (dialog), GTK_TYPE_CHECK_BUTTON)), FALSE);
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 2);
  shared = row_text (editor, 0, 1);
  g_assert_cmpstr (pending, ==, "To be changed");
  g_assert_cmpstr (shared, ==, "");

  /* Nothing has reached the daemon */
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddDomain"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "SetDomainSharedBox"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));

  /* Apply: one call with the whole list; the bad name is refused, nothing
   * is applied, the problem shows under the list and its row is selected */
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('SetDomainSharedBox', <('corp.test', false)>), "
                   "('AddDomain', <('new.test', false)>), ('AddDomain', <('bad domain!', false)>)],)");
  g_assert_true (wait_until (label_visible, problem));
  g_assert_cmpstr (gtk_label_get_text (problem), ==, "domain: “bad domain!” is not a valid domain name");
  g_assert_true (wait_until (page_idle, page));
  g_assert_cmpint (mg_list_editor_get_selected (editor), ==, 2);
  g_assert_true (mg_page_get_dirty (page));
  g_assert_cmpint (n_rows (editor), ==, 3);
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 1);

  /* Drop the bad row (a staged addition simply goes) and apply again */
  mg_list_editor_activate (editor, "remove");
  g_assert_cmpint (n_rows (editor), ==, 2);
  mg_window_apply (fixture->window);
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpuint (count_calls (fixture, "ApplyChanges"), ==, 2);
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('SetDomainSharedBox', <('corp.test', false)>), "
                   "('AddDomain', <('new.test', false)>)],)");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (problem)));
  rows.rows = 2;
  g_assert_true (wait_until (rows_are, &rows));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 1, 2);
  g_assert_cmpstr (pending, ==, "");
  g_assert_false (mg_window_has_unsaved_changes (fixture->window));
}

/* Revert: a staged removal and addition are dropped, nothing is sent */
static void
test_domain_revert (Fixture       *fixture,
                    gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_DOMAINS_PAGE);
  MgListEditor *editor = page_editor (page);
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;
  g_autofree char *pending = NULL;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "remove");
  g_assert_cmpint (n_rows (editor), ==, 1);                   /* still listed, struck through */
  g_assert_true (row_struck (editor, 0));
  pending = row_text (editor, 0, 2);
  g_assert_cmpstr (pending, ==, "To be removed");
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "name"), "other.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpint (n_rows (editor), ==, 2);

  mg_window_revert (fixture->window);
  g_assert_true (wait_until (page_clean, page));
  g_assert_true (wait_until (rows_are, &rows));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 2);
  g_assert_cmpstr (pending, ==, "");
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "RemoveDomain"));
}

static void
test_alias_wildcard_marked (Fixture       *fixture,
                            gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_ALIASES_PAGE);
  MgListEditor *editor = page_editor (page);
  RowsWait rows = { editor, 2 };
  g_autofree char *plain = NULL;
  g_autofree char *wildcard = NULL;

  g_assert_true (wait_until (rows_are, &rows));
  plain = row_text (editor, 0, 2);
  wildcard = row_text (editor, 1, 2);
  g_assert_true (plain == NULL || *plain == '\0');
  g_assert_nonnull (strstr (wildcard, "Insecure"));
}

static void
test_alias_staged (Fixture       *fixture,
                   gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_ALIASES_PAGE);
  MgListEditor *editor = page_editor (page);
  RowsWait rows = { editor, 2 };
  MgFormDialog *dialog;
  g_autofree char *pending = NULL;
  g_autofree char *note = NULL;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));

  /* Edit the targets of info@corp.test (the alias itself is fixed) */
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "edit");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (mg_form_dialog_get_entry (dialog, "alias"))));
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "targets"), "alice@corp.test, carol@corp.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  pending = row_text (editor, 0, 3);
  g_assert_cmpstr (pending, ==, "To be changed");

  /* A new wildcard alias is marked insecure at once */
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "alias"), "*@branch.test");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "targets"), "*@corp.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpint (n_rows (editor), ==, 3);
  note = row_text (editor, 2, 2);
  g_assert_nonnull (strstr (note, "Insecure"));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 2, 3);
  g_assert_cmpstr (pending, ==, "To be added");
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddAlias"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));

  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('AddAlias', <('info@corp.test', ['alice@corp.test', 'carol@corp.test'])>), "
                   "('AddAlias', <('*@branch.test', ['*@corp.test'])>)],)");
  g_assert_true (wait_until (page_clean, page));
  rows.rows = 3;
  g_assert_true (wait_until (rows_are, &rows));
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 1);
  g_assert_cmpstr (pending, ==, "alice@corp.test, carol@corp.test");
}

/* ---- queue: retry, hold, delete (asks) --------------------------------------- */

static void
test_queue_actions (Fixture       *fixture,
                    gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_QUEUE_PAGE);
  GtkTreeView *view = GTK_TREE_VIEW (find_child (GTK_WIDGET (page), GTK_TYPE_TREE_VIEW));
  g_autoptr(GtkTreePath) path = gtk_tree_path_new_first ();

  g_assert_true (wait_for_call (fixture, "ListQueue"));
  g_assert_true (wait_until (page_idle, page));
  g_assert_nonnull (find_label (GTK_WIDGET (page), "1 message in the queue"));
  gtk_tree_selection_select_path (gtk_tree_view_get_selection (view), path);

  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Retry Now"))));
  g_assert_true (wait_for_call (fixture, "FlushQueue('B0000000042',)"));
  gtk_tree_selection_select_path (gtk_tree_view_get_selection (view), path);
  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Hold"))));
  g_assert_true (wait_for_call (fixture, "HoldQueueMessage('B0000000042', true)"));

  gtk_tree_selection_select_path (gtk_tree_view_get_selection (view), path);
  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Delete…"))));
  g_assert_true (wait_until (message_dialog_shown, NULL));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "DeleteQueueMessage"));
  gtk_dialog_response (GTK_DIALOG (find_message_dialog ()), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_for_call (fixture, "DeleteQueueMessage('B0000000042',)"));
}

/* ---- accounts: add, import with preview ----------------------------------- */

static void
test_accounts_add_import (Fixture       *fixture,
                          gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_ACCOUNTS_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkLabel *problem = mg_page_get_problem_label (page, "address");
  GtkComboBox *domains = GTK_COMBO_BOX (find_child (GTK_WIDGET (page), GTK_TYPE_COMBO_BOX_TEXT));
  GtkWidget *import_button = gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Import TSV…"));
  RowsWait rows = { editor, 1 };
  g_autofree char *address = NULL;
  g_autofree char *pending = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mg-import-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "users.tsv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GtkMessageDialog *preview;
  MgFormDialog *dialog;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));
  address = row_text (editor, 0, 0);
  g_assert_cmpstr (address, ==, "alice@corp.test");
  g_assert_true (gtk_widget_get_sensitive (import_button));

  /* Add: staged ("To be added"), the password never shown */
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  g_assert_false (gtk_entry_get_visibility (mg_form_dialog_get_entry (dialog, "password")));
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "address"), "carol@corp.test");
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "password"), "s3cret");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpint (n_rows (editor), ==, 2);
  pending = row_text (editor, 1, 2);
  g_assert_cmpstr (pending, ==, "To be added");

  /* Edit: set the password of an existing account (hidden entry), staged */
  mg_list_editor_select (editor, 0);
  mg_list_editor_activate (editor, "edit");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  g_assert_false (gtk_entry_get_visibility (mg_form_dialog_get_entry (dialog, "password")));
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "password"), "n3w");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_clear_pointer (&pending, g_free);
  pending = row_text (editor, 0, 2);
  g_assert_cmpstr (pending, ==, "To be changed");
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "AddAccount"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "SetPassword"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));

  /* The domain list filters; the staged rows are kept whatever is chosen */
  g_assert_true (gtk_combo_box_set_active_id (domains, "corp.test"));
  g_assert_cmpint (n_rows (editor), ==, 2);
  g_assert_true (mg_page_get_dirty (page));

  /* An import would reload the list: not while edits are staged */
  g_assert_false (gtk_widget_get_sensitive (import_button));
  g_assert_true (g_file_set_contents (path, "dave@corp.test\tpw1\nerin@corp.test\n", -1, NULL));
  mg_accounts_page_import_file (MG_ACCOUNTS_PAGE (page), file);
  g_assert_null (find_message_dialog ());
  g_assert_true (page_has_message (page));
  g_assert_true (mg_page_get_dirty (page));

  /* An account of a domain that is not local: refused next to the list,
   * and with it the whole list */
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "address"), "dave@elsewhere.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_assert_cmpstr (gtk_combo_box_get_active_id (domains), ==, "");   /* shown: all domains */
  g_assert_cmpint (n_rows (editor), ==, 3);
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('SetPassword', <('alice@corp.test', 'n3w')>), "
                   "('AddAccount', <('carol@corp.test', 's3cret')>), "
                   "('AddAccount', <('dave@elsewhere.test', '')>)],)");
  g_assert_true (wait_until (label_visible, problem));
  g_assert_nonnull (strstr (gtk_label_get_text (problem), "elsewhere.test"));
  g_assert_true (wait_until (page_idle, page));
  g_assert_cmpint (mg_list_editor_get_selected (editor), ==, 2);

  /* Without it, the rest applies in one call */
  mg_list_editor_activate (editor, "remove");
  mg_window_apply (fixture->window);
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"), ==,
                   "ApplyChanges([('SetPassword', <('alice@corp.test', 'n3w')>), "
                   "('AddAccount', <('carol@corp.test', 's3cret')>)],)");
  rows.rows = 2;
  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (gtk_widget_get_sensitive (import_button));

  /* Import: a preview with the line count and no password, then one call */
  mg_page_clear_problems (page);
  mg_accounts_page_import_file (MG_ACCOUNTS_PAGE (page), file);
  preview = find_message_dialog ();
  g_assert_nonnull (preview);
  g_assert_nonnull (find_label (GTK_WIDGET (preview), "Import 2 accounts?"));
  g_assert_nonnull (find_label (GTK_WIDGET (preview), "*erin@corp.test*"));
  g_assert_null (find_label (GTK_WIDGET (preview), "*pw1*"));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ImportAccounts"));
  gtk_dialog_response (GTK_DIALOG (preview), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_for_call (fixture, "ImportAccounts"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ImportAccounts"), ==,
                   "ImportAccounts('dave@corp.test\\tpw1\\nerin@corp.test\\n',)");

  /* A bad line: its problem names the line, on the page */
  g_assert_true (g_file_set_contents (path, "frank@corp.test\nbad line\n", -1, NULL));
  mg_accounts_page_import_file (MG_ACCOUNTS_PAGE (page), file);
  gtk_dialog_response (GTK_DIALOG (find_message_dialog ()), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_until (page_has_message, page));
  g_assert_nonnull (strstr (mg_page_get_message (page), "line 2"));
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- the configuration check follows the changes ----------------------------- */

static gboolean
check_bar_shown (gpointer data)
{
  GtkWidget *bar = find_child (data, GTK_TYPE_INFO_BAR);

  return gtk_widget_get_visible (bar);
}

static gboolean
check_bar_hidden (gpointer data)
{
  return !check_bar_shown (data);
}

static void
test_check_bar (Fixture       *fixture,
                gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_ALIASES_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkWidget *bar = find_child (GTK_WIDGET (fixture->window), GTK_TYPE_INFO_BAR);
  RowsWait rows = { editor, 2 };
  g_autofree char *alias = NULL;

  /* the seeded wildcard alias *@open.test is reported once the pages loaded */
  g_assert_true (wait_until (check_bar_shown, fixture->window));
  g_assert_nonnull (find_label (bar, "*open.test*"));

  g_assert_true (wait_until (rows_are, &rows));
  alias = row_text (editor, 1, 0);
  g_assert_cmpstr (alias, ==, "*@open.test");
  mg_list_editor_select (editor, 1);
  mg_list_editor_activate (editor, "remove");
  alias = (g_free (alias), row_text (editor, 1, 3));
  g_assert_cmpstr (alias, ==, "To be removed");           /* staged: still listed */
  g_assert_true (mg_page_get_dirty (page));
  g_assert_true (check_bar_shown (fixture->window));
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplyChanges([('RemoveAlias', <('*@open.test',)>)],)"));
  g_assert_true (wait_until (check_bar_hidden, fixture->window));
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpint (n_rows (editor), ==, 1);
}

/* ---- service control: actions and StatusChanged ---------------------------- */

typedef struct
{
  GtkLabel   *label;
  const char *text;
} LabelWait;

static gboolean
label_is (gpointer data)
{
  LabelWait *wait = data;

  return g_strcmp0 (gtk_label_get_text (wait->label), wait->text) == 0;
}

static GtkLabel *
status_label (MgPage     *page,
              const char *a11y_description)
{
  /* The status labels carry a stable accessible description */
  GList *queue = g_list_prepend (NULL, page);

  while (queue != NULL)
    {
      GtkWidget *widget = queue->data;

      queue = g_list_delete_link (queue, queue);
      if (GTK_IS_LABEL (widget) &&
          g_strcmp0 (atk_object_get_description (gtk_widget_get_accessible (widget)), a11y_description) == 0)
        {
          g_list_free (queue);
          return GTK_LABEL (widget);
        }
      if (GTK_IS_CONTAINER (widget))
        {
          GList *children = gtk_container_get_children (GTK_CONTAINER (widget));

          queue = g_list_concat (queue, children);
        }
    }
  return NULL;
}

typedef struct
{
  const char *action;
  const char *target;
  GtkWidget  *found;
} ActionFind;

static void
find_action_cb (GtkWidget *widget,
                gpointer   data)
{
  ActionFind *find = data;

  if (find->found != NULL)
    return;
  if (GTK_IS_BUTTON (widget) &&
      g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), find->action) == 0 &&
      gtk_actionable_get_action_target_value (GTK_ACTIONABLE (widget)) != NULL &&
      g_strcmp0 (g_variant_get_string (gtk_actionable_get_action_target_value (GTK_ACTIONABLE (widget)), NULL),
                 find->target) == 0)
    find->found = widget;
  else if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), find_action_cb, find);
}

static GtkWidget *
find_action_button (GtkWidget  *root,
                    const char *action,
                    const char *target)
{
  ActionFind find = { action, target, NULL };

  find_action_cb (root, &find);
  return find.found;
}

static void
test_service_start_stop (Fixture       *fixture,
                         gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVICE_PAGE);
  GtkLabel *receiver = status_label (page, "Receiver status");
  GtkLabel *delivery = status_label (page, "Delivery status");
  LabelWait wait = { receiver, "Stopped" };
  GtkWidget *stop_button;

  g_assert_nonnull (receiver);
  g_assert_nonnull (delivery);
  g_assert_true (wait_until (label_is, &wait));
  wait = (LabelWait) { delivery, "Running" };
  g_assert_true (wait_until (label_is, &wait));

  /* app.start('receiver'), as the Start button does */
  g_action_group_activate_action (G_ACTION_GROUP (application), "start", g_variant_new_string ("receiver"));
  g_assert_true (wait_for_call (fixture, "Start('receiver',)"));
  wait = (LabelWait) { receiver, "Running" };
  g_assert_true (wait_until (label_is, &wait));               /* followed StatusChanged */

  /* The receiver's Stop button is bound to app.stop('receiver'); it shows
   * now that the receiver runs, and its Start button hides */
  stop_button = find_action_button (GTK_WIDGET (page), "app.stop", "receiver");
  g_assert_nonnull (stop_button);
  g_assert_true (gtk_widget_get_visible (stop_button));
  g_assert_false (gtk_widget_get_visible (find_action_button (GTK_WIDGET (page), "app.start", "receiver")));
  gtk_button_clicked (GTK_BUTTON (stop_button));
  g_assert_true (wait_for_call (fixture, "Stop('receiver',)"));
  wait = (LabelWait) { receiver, "Stopped" };
  g_assert_true (wait_until (label_is, &wait));
}

static void
test_listeners_rollback_problem (Fixture       *fixture,
                                 gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVICE_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkLabel *problem = mg_page_get_problem_label (page, "listen");
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;

  g_assert_true (wait_until (rows_are, &rows));
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "spec"), "127.0.0.1:25");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);

  mg_fake_control_server_fail_next (fixture->server, "SetListeners", "bind-failed", "listen",
                                    "127.0.0.1:25: Permission denied");
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "SetListeners(['127.0.0.1:2525', '127.0.0.1:25']"));
  g_assert_true (wait_until (label_visible, problem));
  g_assert_nonnull (strstr (gtk_label_get_text (problem), "Permission denied"));
  g_assert_true (mg_page_get_dirty (page));
}

/* Settings first, listeners only once the settings were accepted: a bad
 * setting never rebinds the receiver (SetListeners cannot be part of
 * ApplyChanges) */
static void
test_service_settings_before_listeners (Fixture       *fixture,
                                        gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVICE_PAGE);
  MgListEditor *editor = page_editor (page);
  GtkEntry *hostname = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Host name*"))));
  GtkLabel *problem = mg_page_get_problem_label (page, "receiver.hostname");
  RowsWait rows = { editor, 1 };
  MgFormDialog *dialog;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));
  gtk_entry_set_text (hostname, "bad host!");
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "spec"), "127.0.0.1:2526");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);

  mg_fake_control_server_clear_calls (fixture->server);
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplySettings"));
  g_assert_true (wait_until (label_visible, problem));
  g_assert_true (wait_until (page_idle, page));
  g_assert_true (mg_page_get_dirty (page));
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "SetListeners"));

  gtk_entry_set_text (hostname, "mx.corp.test");
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "SetListeners(['127.0.0.1:2525', '127.0.0.1:2526']"));
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpstr (mg_fake_control_server_get_setting (fixture->server, "receiver.hostname"), ==, "mx.corp.test");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (problem)));
}

static void
test_service_tls_setting (Fixture       *fixture,
                          gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVICE_PAGE);
  GtkEntry *methods = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "SMTP AUTH methods:"))));
  GtkEntry *cert = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "TLS certificate file:"))));
  EntryWait wait = { methods, "PLAIN,LOGIN,CRAM-MD5" };

  g_assert_true (wait_until (entry_has_text, &wait));
  g_assert_true (wait_until (page_clean, page));
  gtk_entry_set_text (cert, "/etc/mailgate/cert.pem");
  mg_window_apply (fixture->window);
  g_assert_true (wait_for_call (fixture, "ApplySettings"));
  g_assert_cmpstr (mg_fake_control_server_find_call (fixture->server, "ApplySettings"), ==,
                   "ApplySettings({'tls.cert': '/etc/mailgate/cert.pem'},)");
  g_assert_true (wait_until (page_clean, page));
  g_assert_cmpstr (mg_fake_control_server_get_setting (fixture->server, "tls.cert"), ==, "/etc/mailgate/cert.pem");
}

/* ---- trace pane: filter, pause ------------------------------------------------ */

typedef struct
{
  MgTracePage *page;
  const char  *needle;
  gboolean     present;
} TraceWait;

static char *
trace_text (MgTracePage *page)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (mg_trace_page_get_view (page));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static gboolean
trace_has (gpointer data)
{
  TraceWait *wait = data;
  g_autofree char *text = trace_text (wait->page);

  return (strstr (text, wait->needle) != NULL) == wait->present;
}

static gboolean
trace_has_4_lines (gpointer data)
{
  return mg_trace_page_get_n_lines (data) == 4;
}

static gboolean
server_subscribed (gpointer data)
{
  return mg_fake_control_server_is_subscribed (data);
}

static void
test_trace_filter_pause (Fixture       *fixture,
                         gconstpointer  data)
{
  MgTracePage *page = MG_TRACE_PAGE (mg_window_get_page (fixture->window, MG_TYPE_TRACE_PAGE));
  GtkEntry *filter = GTK_ENTRY (find_child (GTK_WIDGET (page), GTK_TYPE_SEARCH_ENTRY));
  GtkToggleButton *pause = GTK_TOGGLE_BUTTON (gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Pause")));
  TraceWait wait = { page, "B0000000001", TRUE };
  g_autofree char *text = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mg-trace-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "trace.txt", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (gtk_text_view_get_monospace (mg_trace_page_get_view (page)));
  g_assert_true (wait_until (server_subscribed, fixture->server));
  mg_fake_control_server_emit_trace (fixture->server, "[1] RECV <- [MAIL FROM:<a@x.test>] 192.0.2.5 B0000000001");
  mg_fake_control_server_emit_trace (fixture->server, "[2] RECV <- [MAIL FROM:<b@y.test>] 198.51.100.7 B0000000002");
  wait.needle = "B0000000002";
  g_assert_true (wait_until (trace_has, &wait));

  /* Filter by client IP: only that session's lines */
  gtk_entry_set_text (filter, "192.0.2.5");
  g_signal_emit_by_name (filter, "search-changed");
  text = trace_text (page);
  g_assert_nonnull (strstr (text, "B0000000001"));
  g_assert_null (strstr (text, "B0000000002"));
  gtk_entry_set_text (filter, "");
  g_signal_emit_by_name (filter, "search-changed");

  /* Pause: new lines are held back, shown on resume */
  gtk_toggle_button_set_active (pause, TRUE);
  mg_fake_control_server_emit_trace (fixture->server, "[3] delivery B0000000003 done");
  mg_fake_control_server_emit_trace (fixture->server, "[4] marker after pause");
  g_assert_true (wait_until (trace_has_4_lines, page));   /* received, kept */
  g_clear_pointer (&text, g_free);
  text = trace_text (page);
  g_assert_null (strstr (text, "B0000000003"));
  gtk_toggle_button_set_active (pause, FALSE);
  wait = (TraceWait) { page, "B0000000003", TRUE };
  g_assert_true (wait_until (trace_has, &wait));

  /* Save writes what the pane shows */
  file = g_file_new_for_path (path);
  g_assert_true (mg_trace_page_save (page, file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));
  g_assert_nonnull (strstr (saved, "B0000000003"));
  g_unlink (path);
  g_rmdir (dir);
}

static gboolean
trace_has_2_lines (gpointer data)
{
  return mg_trace_page_get_n_lines (data) == 2;
}

/* The daemon sends a batch as a few strings of many lines, "\n" between
 * them (org.mailgate.Control1.xml): the pane keeps and filters each line. */
static void
test_trace_chunk_lines (Fixture       *fixture,
                        gconstpointer  data)
{
  MgTracePage *page = MG_TRACE_PAGE (mg_window_get_page (fixture->window, MG_TYPE_TRACE_PAGE));
  GtkEntry *filter = GTK_ENTRY (find_child (GTK_WIDGET (page), GTK_TYPE_SEARCH_ENTRY));
  TraceWait wait = { page, "B0000000006", TRUE };
  g_autofree char *text = NULL;

  g_assert_true (wait_until (server_subscribed, fixture->server));
  mg_fake_control_server_emit_trace (fixture->server,
                                     "[5] RECV <- [HELO a] 192.0.2.5 B0000000005\n"
                                     "[6] RECV <- [HELO b] 198.51.100.7 B0000000006");
  g_assert_true (wait_until (trace_has, &wait));
  g_assert_true (wait_until (trace_has_2_lines, page));

  gtk_entry_set_text (filter, "198.51.100.7");
  g_signal_emit_by_name (filter, "search-changed");
  text = trace_text (page);
  g_assert_null (strstr (text, "B0000000005"));
  g_assert_nonnull (strstr (text, "[6] RECV <- [HELO b] 198.51.100.7 B0000000006\n"));
  gtk_entry_set_text (filter, "");
  g_signal_emit_by_name (filter, "search-changed");
}

static void
test_trace_docked_under_every_tab (Fixture       *fixture,
                                   gconstpointer  data)
{
  MgTracePage *page = MG_TRACE_PAGE (mg_window_get_page (fixture->window, MG_TYPE_TRACE_PAGE));
  GtkNotebook *notebook = GTK_NOTEBOOK (find_child (GTK_WIDGET (fixture->window), GTK_TYPE_NOTEBOOK));
  int n_pages = gtk_notebook_get_n_pages (notebook);
  TraceWait wait = { page, "docked line", TRUE };

  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_parent (find_label (GTK_WIDGET (page), "Show Under Every Tab"))));
  g_assert_true (mg_trace_page_get_docked (page));
  g_assert_cmpint (gtk_notebook_get_n_pages (notebook), ==, n_pages - 1);
  g_assert_cmpint (gtk_notebook_page_num (notebook, GTK_WIDGET (page)), ==, -1);

  /* under another tab, the pane is on screen and still live */
  gtk_notebook_set_current_page (notebook, 1);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (fixture->window));
  g_assert_true (gtk_widget_is_drawable (GTK_WIDGET (mg_trace_page_get_view (page))));
  g_assert_true (wait_until (server_subscribed, fixture->server));
  mg_fake_control_server_emit_trace (fixture->server, "docked line");
  g_assert_true (wait_until (trace_has, &wait));

  mg_trace_page_set_docked (page, FALSE);
  g_assert_cmpint (gtk_notebook_get_n_pages (notebook), ==, n_pages);
  g_assert_cmpint (gtk_notebook_page_num (notebook, GTK_WIDGET (page)), ==, n_pages - 1);
  g_assert_cmpstr (gtk_notebook_get_tab_label_text (notebook, GTK_WIDGET (page)), ==, "Trace");
}

/* ---- closing with staged edits asks --------------------------------------- */

static GtkMessageDialog *
find_message_dialog (void)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (GTK_IS_MESSAGE_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

static gboolean
page_has_message (gpointer data)
{
  return *mg_page_get_message (data) != '\0';
}

static gboolean
message_dialog_shown (gpointer data)
{
  return find_message_dialog () != NULL;
}

static void
test_close_asks (Fixture       *fixture,
                 gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_SERVER_PAGE);
  GtkEntry *mailbox = GTK_ENTRY (gtk_label_get_mnemonic_widget (GTK_LABEL (find_label (GTK_WIDGET (page), "Mailbox folder:"))));
  EntryWait wait = { mailbox, "mailbox/%USERNAME%" };
  GtkMessageDialog *dialog;

  g_assert_true (wait_until (entry_has_text, &wait));
  g_assert_true (wait_until (page_clean, page));
  gtk_entry_set_text (mailbox, "mail/%USERNAME%");
  gtk_window_close (GTK_WINDOW (fixture->window));
  g_assert_true (wait_until (message_dialog_shown, NULL));
  dialog = find_message_dialog ();
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture->window)));   /* not closed */
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture->window)));
  g_assert_true (mg_window_has_unsaved_changes (fixture->window));
}

static gboolean
widget_hidden (gpointer data)
{
  return !gtk_widget_get_visible (data);
}

/* A staged list edit is an unsaved change too; "Apply" in the question
 * applies it (one ApplyChanges) and then closes */
static void
test_close_asks_list_page (Fixture       *fixture,
                           gconstpointer  data)
{
  MgPage *page = mg_window_get_page (fixture->window, MG_TYPE_DOMAINS_PAGE);
  MgListEditor *editor = page_editor (page);
  RowsWait rows = { editor, 1 };
  g_autoptr(MgWindow) window = g_object_ref (fixture->window);
  MgFormDialog *dialog;
  GtkMessageDialog *question;

  g_assert_true (wait_until (rows_are, &rows));
  g_assert_true (wait_until (page_clean, page));
  mg_list_editor_activate (editor, "add");
  g_assert_true (wait_until (form_dialog_shown, NULL));
  dialog = find_form_dialog ();
  gtk_entry_set_text (mg_form_dialog_get_entry (dialog, "name"), "late.test");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);

  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (wait_until (message_dialog_shown, NULL));
  question = find_message_dialog ();
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));   /* not closed */
  g_assert_null (mg_fake_control_server_find_call (fixture->server, "ApplyChanges"));
  gtk_dialog_response (GTK_DIALOG (question), GTK_RESPONSE_APPLY);
  g_assert_true (wait_for_call (fixture, "ApplyChanges([('AddDomain', <('late.test', false)>)],)"));
  g_assert_true (wait_until (widget_hidden, window));             /* applied, then closed */
  fixture->window_closed = TRUE;
}

/* ---- Japanese: tab titles translated, no missing glyphs -------------------- */

static void
test_japanese (Fixture       *fixture,
               gconstpointer  data)
{
  GtkNotebook *notebook = GTK_NOTEBOOK (find_child (GTK_WIDGET (fixture->window), GTK_TYPE_NOTEBOOK));
  static const char * const titles[] = { "サーバー設定", "ドメイン管理", "アカウント", "エイリアス設定", "中継の制限", "サービス制御" };

  for (int i = 0; i < (int) G_N_ELEMENTS (titles); i++)
    {
      GtkWidget *tab = gtk_notebook_get_tab_label (notebook, gtk_notebook_get_nth_page (notebook, i));

      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (tab)), ==, titles[i]);
      g_assert_cmpint (pango_layout_get_unknown_glyphs_count (gtk_label_get_layout (GTK_LABEL (tab))), ==, 0);
    }
  g_assert_nonnull (find_label (GTK_WIDGET (fixture->window), "全受信メールを SMTP ゲートウェイに転送*"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  gboolean japanese;
  int status;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      /* issue 5: a GUI test that cannot get a display fails; it never passes */
      g_print ("Bail out! no display (run under xvfb-run)\n");
      return 1;
    }

  japanese = g_strcmp0 (g_getenv ("LANGUAGE"), "ja") == 0;
  gtk_test_init (&argc, &argv, NULL);
  setlocale (LC_ALL, "");                     /* gtk_test_init pinned the locale */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("MAILGATE_LOCALEDIR") != NULL ? g_getenv ("MAILGATE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = mg_application_new (G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (application), NULL, &error))
    g_error ("cannot register the application: %s", error->message);

  if (japanese)
    g_test_add ("/console/i18n/japanese", Fixture, NULL, fixture_set_up, test_japanese, fixture_tear_down);
  else
    {
      g_test_add_func ("/console/no-daemon", test_no_daemon);
      g_test_add ("/console/pages-load", Fixture, NULL, fixture_set_up, test_pages_load, fixture_tear_down);
      g_test_add ("/console/server/apply-problem-next-to-field", Fixture, NULL, fixture_set_up,
                  test_apply_problem_next_to_field, fixture_tear_down);
      g_test_add ("/console/server/revert", Fixture, NULL, fixture_set_up, test_revert, fixture_tear_down);
      g_test_add ("/console/server/routes-add-remove", Fixture, NULL, fixture_set_up,
                  test_routes_add_remove, fixture_tear_down);
      g_test_add ("/console/server/settings-and-routes-one-call", Fixture, NULL, fixture_set_up,
                  test_settings_and_routes_one_call, fixture_tear_down);
      g_test_add ("/console/domains/staged-apply-problem", Fixture, NULL, fixture_set_up,
                  test_domain_problem, fixture_tear_down);
      g_test_add ("/console/domains/revert", Fixture, NULL, fixture_set_up, test_domain_revert, fixture_tear_down);
      g_test_add ("/console/aliases/staged", Fixture, NULL, fixture_set_up, test_alias_staged, fixture_tear_down);
      g_test_add ("/console/aliases/wildcard-marked", Fixture, NULL, fixture_set_up,
                  test_alias_wildcard_marked, fixture_tear_down);
      g_test_add ("/console/relay/move-up-down", Fixture, NULL, fixture_set_up, test_relay_move, fixture_tear_down);
      g_test_add ("/console/relay/edit-in-place", Fixture, NULL, fixture_set_up,
                  test_relay_edit_in_place, fixture_tear_down);
      g_test_add ("/console/relay/problem-revert", Fixture, NULL, fixture_set_up,
                  test_relay_problem, fixture_tear_down);
      g_test_add ("/console/relay/test-address", Fixture, NULL, fixture_set_up,
                  test_relay_test_address, fixture_tear_down);
      g_test_add ("/console/check/follows-changes", Fixture, NULL, fixture_set_up,
                  test_check_bar, fixture_tear_down);
      g_test_add ("/console/queue/retry-hold-delete", Fixture, NULL, fixture_set_up,
                  test_queue_actions, fixture_tear_down);
      g_test_add ("/console/accounts/staged-filter-import", Fixture, NULL, fixture_set_up,
                  test_accounts_add_import, fixture_tear_down);
      g_test_add ("/console/service/start-stop", Fixture, NULL, fixture_set_up,
                  test_service_start_stop, fixture_tear_down);
      g_test_add ("/console/service/settings-before-listeners", Fixture, NULL, fixture_set_up,
                  test_service_settings_before_listeners, fixture_tear_down);
      g_test_add ("/console/service/tls-setting", Fixture, NULL, fixture_set_up,
                  test_service_tls_setting, fixture_tear_down);
      g_test_add ("/console/service/listeners-rollback-problem", Fixture, NULL, fixture_set_up,
                  test_listeners_rollback_problem, fixture_tear_down);
      g_test_add ("/console/trace/filter-pause-save", Fixture, NULL, fixture_set_up,
                  test_trace_filter_pause, fixture_tear_down);
      g_test_add ("/console/trace/chunk-lines", Fixture, NULL, fixture_set_up,
                  test_trace_chunk_lines, fixture_tear_down);
      g_test_add ("/console/trace/docked-under-every-tab", Fixture, NULL, fixture_set_up,
                  test_trace_docked_under_every_tab, fixture_tear_down);
      g_test_add ("/console/close-asks", Fixture, NULL, fixture_set_up, test_close_asks, fixture_tear_down);
      g_test_add ("/console/close-asks-list-page-apply", Fixture, NULL, fixture_set_up,
                  test_close_asks_list_page, fixture_tear_down);
    }

  status = g_test_run ();
  g_clear_object (&application);
  return status;
}
