/* mg-page.h - the base class of every tab of Mail Control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The mailgate authors
 *
 * An MgPage shows one part of the daemon's configuration.  It loads from
 * the daemon (reload), stages the administrator's edits (the "dirty"
 * property), sends them on apply, and shows the daemon's validation
 * problems under the field they concern (a setting key, or a name such as
 * "listen" or "route.port" registered with mg_page_add_field()).  List
 * pages stage their rows and send them as one ApplyChanges list
 * (MgChanges, mg_page_apply_changes()).
 * Settings fields are bound to schema keys with mg_page_bind_setting(): the
 * widget kind decides how the value is read and written.
 *
 * Threading: main thread only.
 */
#pragma once

#include <gtk/gtk.h>

#include "mg-control-client.h"
#include "mg-list-editor.h"

G_BEGIN_DECLS

#define MG_TYPE_PAGE (mg_page_get_type ())
G_DECLARE_DERIVABLE_TYPE (MgPage, mg_page, MG, PAGE, GtkBox)

struct _MgPageClass
{
  GtkBoxClass parent_class;

  /* daemon → widgets; discards staged edits */
  void (*reload) (MgPage *self);
  /* widgets → daemon; calls mg_page_apply_done() when finished */
  void (*apply)  (MgPage *self);
  /* optional: the daemon refused the change staged from the row at @path
   * (of the model given to mg_changes_add()); show which row it is
   * (default: select it in the page's list editor, if it has one) */
  void (*select_row) (MgPage *self, GtkTreePath *path);
};

/* What a row of a staged list will do on Apply (shown in its list). */
typedef enum
{
  MG_PENDING_NONE,
  MG_PENDING_ADD,
  MG_PENDING_CHANGE,
  MG_PENDING_MOVE,
  MG_PENDING_REMOVE,
} MgPending;

const char     *mg_pending_to_string       (MgPending     pending);

/* The staged edits of a list page as one ApplyChanges list: each change
 * (a change method and its parameters) remembers the row it came from, so
 * that a refused change can be pointed at. */
typedef struct _MgChanges MgChanges;

MgChanges      *mg_changes_new             (void);
void            mg_changes_free            (MgChanges    *self);
void            mg_changes_add             (MgChanges    *self,
                                            GtkTreeModel *model,
                                            GtkTreeIter  *iter,
                                            const char   *method,
                                            GVariant     *parameters);
guint           mg_changes_get_length      (MgChanges    *self);
GtkTreeRowReference *mg_changes_get_row    (MgChanges    *self,
                                            guint         index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MgChanges, mg_changes_free)

MgDBusControl1 *mg_page_get_proxy          (MgPage       *self);
GCancellable   *mg_page_get_cancellable    (MgPage       *self);
const char     *mg_page_get_title          (MgPage       *self);

gboolean        mg_page_get_dirty          (MgPage       *self);
void            mg_page_set_dirty          (MgPage       *self,
                                            gboolean      dirty);
gboolean        mg_page_get_busy           (MgPage       *self);

void            mg_page_reload             (MgPage       *self);
void            mg_page_load_started       (MgPage       *self);
void            mg_page_load_finished      (MgPage       *self);
gboolean        mg_page_load_check         (gpointer      user_data,
                                            const GError *error,
                                            const char   *what);
void            mg_page_apply              (MgPage       *self);
void            mg_page_apply_done         (MgPage       *self,
                                            gboolean      success);

void            mg_page_set_list_editor    (MgPage       *self,
                                            MgListEditor *editor);
void            mg_page_add_field          (MgPage       *self,
                                            const char   *field,
                                            GtkWidget    *widget);
GtkLabel       *mg_page_get_problem_label  (MgPage       *self,
                                            const char   *field);
void            mg_page_clear_problems     (MgPage       *self);
gboolean        mg_page_show_problems      (MgPage       *self,
                                            GPtrArray    *problems);
gboolean        mg_page_show_problems_variant (MgPage    *self,
                                            GVariant     *problems);
void            mg_page_show_error         (MgPage       *self,
                                            const char   *what,
                                            const GError *error);
const char     *mg_page_get_message        (MgPage       *self);

/* A staged apply (the page's apply vfunc): begin, one call per change
 * method (each answers a(sss)), end.  Problems show next to their fields;
 * mg_page_apply_done() runs once every call has answered. */
void            mg_page_apply_begin        (MgPage       *self);
void            mg_page_apply_call         (MgPage       *self,
                                            const char   *method,
                                            GVariant     *parameters);
void            mg_page_apply_end          (MgPage       *self);

/* A list page's apply vfunc: sends @changes (transfer full) in one
 * ApplyChanges call, all or nothing.  Problems show next to their fields
 * (the "changes[N]." prefix of the field is the change, whose row is
 * selected); then mg_page_apply_done().  No changes: done at once. */
void            mg_page_apply_changes      (MgPage       *self,
                                            MgChanges    *changes);

/* Settings (schema keys) */
void            mg_page_bind_setting       (MgPage       *self,
                                            const char   *key,
                                            GtkWidget    *widget);
void            mg_page_load_settings      (MgPage       *self,
                                            GVariant     *settings);
GVariant       *mg_page_collect_settings   (MgPage       *self);

G_END_DECLS
