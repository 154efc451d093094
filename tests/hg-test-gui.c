/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "hg-test-gui.h"

void
hg_test_gui_init (int    *argc,
                  char ***argv)
{
  gtk_test_init (argc, argv, NULL);
  adw_init ();
  /* GtkApplication does this for the app; tests have no application. */
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    RESOURCE_BASE "/icons");
  /* And AdwApplication loads the app's style sheet. */
  {
    g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();

    gtk_css_provider_load_from_resource (provider, RESOURCE_BASE "/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }
}

static gboolean
on_timeout (gpointer data)
{
  gboolean *done = data;

  *done = TRUE;
  return G_SOURCE_REMOVE;
}

void
hg_test_iterate (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
hg_test_wait_until (gboolean (*cond) (gpointer data),
                    gpointer data,
                    guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      hg_test_iterate (10);
    }

  return TRUE;
}

static GtkWidget *
find_widget (GtkWidget  *widget,
             const char *id)
{
  const char *this_id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget));

  if (g_strcmp0 (this_id, id) == 0)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, id);

      if (found != NULL)
        return found;
    }

  return NULL;
}

GtkWidget *
hg_test_find_widget (GtkWidget  *root,
                     const char *id)
{
  GtkWidget *found = find_widget (root, id);

  if (found == NULL)
    g_error ("no widget with id '%s' below %s", id, G_OBJECT_TYPE_NAME (root));

  return found;
}

GdkTexture *
hg_test_render_widget (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  GskRenderer *renderer;
  int          width = gtk_widget_get_width (widget);
  int          height = gtk_widget_get_height (widget);

  if (width <= 0 || height <= 0)
    return NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return NULL;

  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

char *
hg_test_save_png (GdkTexture *texture,
                  const char *name)
{
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  char       *path = g_build_filename (dir != NULL ? dir : ".", name, NULL);

  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);

  return path;
}

static guchar *
download (GdkTexture *texture,
          gsize      *stride)
{
  int     width = gdk_texture_get_width (texture);
  int     height = gdk_texture_get_height (texture);
  guchar *data;

  *stride = (gsize) width * 4;
  data = g_malloc (*stride * (gsize) height);
  gdk_texture_download (texture, data, *stride);

  return data;
}

guint32
hg_test_texture_pixel (GdkTexture *texture,
                       int         x,
                       int         y)
{
  gsize              stride;
  g_autofree guchar *data = download (texture, &stride);

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, gdk_texture_get_width (texture));
  g_assert_cmpint (y, <, gdk_texture_get_height (texture));

  return *(guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
}

guint
hg_test_count_colours (GdkTexture *texture,
                       guint       cap)
{
  gsize              stride;
  g_autofree guchar *data = download (texture, &stride);
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);

  for (int y = 0; y < height && g_hash_table_size (seen) < cap; y++)
    for (int x = 0; x < width; x++)
      {
        guint32 px = *(guint32 *) (data + (gsize) y * stride + (gsize) x * 4);

        g_hash_table_add (seen, GUINT_TO_POINTER (px));
      }

  return g_hash_table_size (seen);
}

gboolean
hg_test_is_drawn (gpointer widget)
{
  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

gboolean
hg_test_window_idle (gpointer window)
{
  return !hg_window_get_busy (window);
}

AdwMessageDialog *
hg_test_find_dialog (HgWindow *window)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) toplevel = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (toplevel) &&
          gtk_window_get_transient_for (toplevel) == GTK_WINDOW (window) &&
          gtk_widget_get_visible (GTK_WIDGET (toplevel)))
        return ADW_MESSAGE_DIALOG (toplevel);
    }
  return NULL;
}

gboolean
hg_test_dialog_shown (gpointer window)
{
  return hg_test_find_dialog (window) != NULL;
}

const char *
hg_test_visible_page (HgWindow *window)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), HG_TYPE_WINDOW, "stack"));

  return gtk_stack_get_visible_child_name (stack);
}
