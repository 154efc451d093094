/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers for in-process GUI tests under Xvfb. */
#pragma once

#include <adwaita.h>
#include <gtk/gtk.h>

#include "hg-window.h"

G_BEGIN_DECLS

void hg_test_gui_init (int    *argc,
                       char ***argv);
/* Runs the main loop until cond(data) is TRUE or timeout_ms passes. */
gboolean hg_test_wait_until (gboolean (*cond) (gpointer data),
                             gpointer data,
                             guint    timeout_ms);
void     hg_test_iterate (guint ms);
/* Finds a descendant (or root itself) by its GtkBuilder id; aborts if absent. */
GtkWidget *hg_test_find_widget (GtkWidget  *root,
                                const char *id);
/* Renders widget as it is on screen; NULL if it has no size yet. */
GdkTexture *hg_test_render_widget (GtkWidget *widget);
/* Saves a texture to $G_TEST_BUILDDIR/name and returns the path. */
char *hg_test_save_png (GdkTexture *texture,
                        const char *name);
/* Reads one pixel as 0xAARRGGBB. */
guint32 hg_test_texture_pixel (GdkTexture *texture,
                               int         x,
                               int         y);
/* Number of distinct colours (capped at cap), to tell a drawn window from a blank one. */
guint hg_test_count_colours (GdkTexture *texture,
                             guint       cap);

/* Conditions for hg_test_wait_until(). */
/* The widget is mapped and has a width. */
gboolean hg_test_is_drawn (gpointer widget);
/* The HgWindow is not busy opening anything. */
gboolean hg_test_window_idle (gpointer window);
/* The HgWindow shows a message dialog. */
gboolean hg_test_dialog_shown (gpointer window);

/* The visible message dialog transient for window, or NULL. */
AdwMessageDialog *hg_test_find_dialog (HgWindow *window);
/* The name of the window's visible page ("empty", "slide"…). */
const char *hg_test_visible_page (HgWindow *window);

G_END_DECLS
