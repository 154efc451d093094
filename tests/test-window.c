/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "hg-application.h"
#include "hg-preferences-window.h"
#include "hg-properties-window.h"
#include "hg-window.h"

#include "hg-test-gui.h"
#include "hg-test-slides.h"

static void
test_window_empty_state (void)
{
  HgWindow  *window = g_object_new (HG_TYPE_WINDOW, NULL);
  GtkStack  *stack;
  GtkWidget *open_button;
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *path = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 680);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));
  hg_test_iterate (200);

  stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), HG_TYPE_WINDOW, "stack"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

  open_button = hg_test_find_widget (GTK_WIDGET (window), "empty_open_button");
  g_assert_true (gtk_widget_get_visible (open_button));
  g_assert_true (gtk_widget_is_sensitive (open_button));
  g_assert_true (gtk_widget_get_focusable (open_button));

  shot = hg_test_render_widget (GTK_WIDGET (window));
  g_assert_nonnull (shot);
  path = hg_test_save_png (shot, "main-window.png");
  /* A blank or unstyled window has a handful of colours; text and icons many. */
  g_assert_cmpuint (hg_test_count_colours (shot, 64), >=, 32);

  gtk_window_destroy (GTK_WINDOW (window));
}

/* Opens path and expects a dialog whose text mentions fragment, with the
 * window still on its empty page. */
static void
assert_open_fails (HgWindow   *window,
                   const char *path,
                   const char *fragment)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  AdwMessageDialog *dialog;

  hg_window_open (window, file);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 10000));
  g_assert_true (hg_test_wait_until (hg_test_dialog_shown, window, 5000));
  dialog = hg_test_find_dialog (window);
  g_test_message ("%s: %s — %s", path, adw_message_dialog_get_heading (dialog),
                  adw_message_dialog_get_body (dialog));
  g_assert_true (g_str_has_prefix (adw_message_dialog_get_heading (dialog), "Could Not Open"));
  if (strstr (adw_message_dialog_get_body (dialog), fragment) == NULL)
    g_error ("“%s” does not mention “%s”", adw_message_dialog_get_body (dialog), fragment);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "empty");
  g_assert_null (hg_window_get_slide (window));
}

static void
test_window_open_errors (void)
{
  HgWindow                *window = g_object_new (HG_TYPE_WINDOW, NULL);
  g_autofree char         *dir = hg_test_make_tmpdir ("hg-test-window");
  g_autofree char         *empty = g_build_filename (dir, "empty.svs", NULL);
  g_autofree char         *text = g_build_filename (dir, "notes.svs", NULL);
  g_autofree char         *folder = g_build_filename (dir, "no-patches", NULL);
  g_autofree char         *absurd = g_build_filename (dir, "absurd", NULL);
  g_autofree char         *absurd_patch = NULL;
  g_autofree char         *truncated = g_test_build_filename (G_TEST_DIST, "data", "truncated.svs", NULL);
  static const HgTestPatch patch = { 1, 1, 50, 50, 0 };

  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));

  hg_test_write_file (empty, "", 0);
  hg_test_write_file (text, "not a slide\n", -1);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  hg_test_write_patch_folder (absurd, "5", &patch, 1);
  absurd_patch = g_build_filename (absurd, "0", "5_idx5_x99999999999_y1_class0.png", NULL);
  hg_test_write_file (absurd_patch, "x", 1);

  /* Whatever goes wrong, the window says why and stays usable. */
  assert_open_fails (window, "/nonexistent/slide.svs", "No such file");
  assert_open_fails (window, empty, "empty (0 bytes)");
  assert_open_fails (window, text, "text file");
  assert_open_fails (window, truncated, "truncated or damaged");
  assert_open_fails (window, folder, "no IDC patches");
  assert_open_fails (window, absurd, "99999999999");

  /* …and can still open a good slide. */
  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_null (hg_test_find_dialog (window));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_remove_tree (dir);
}

static gboolean
view_ready (gpointer data)
{
  HgSlideView    *view = data;
  HgSlide        *slide = hg_slide_view_get_slide (view);
  int             level = hg_slide_view_get_level (view);
  double          span = HG_SLIDE_TILE_SIZE * hg_slide_get_level_downsample (slide, level);
  graphene_rect_t area;
  gint64          columns, rows;

  if (!gtk_widget_get_mapped (GTK_WIDGET (view)) || hg_slide_view_get_loading (view) ||
      hg_slide_view_get_thumbnail (view) == NULL)
    return FALSE;

  hg_slide_view_get_visible_area (view, &area);
  hg_slide_get_tile_grid (slide, level, &columns, &rows);
  for (gint64 r = MAX (0, (gint64) floor (area.origin.y / span)); r < rows && r * span < area.origin.y + area.size.height; r++)
    for (gint64 c = MAX (0, (gint64) floor (area.origin.x / span)); c < columns && c * span < area.origin.x + area.size.width; c++)
      {
        g_autoptr (HgImage) tile = hg_tile_cache_lookup (hg_slide_view_get_cache (view), slide, level, c, r);

        if (tile == NULL)
          return FALSE;
      }

  return TRUE;
}

/* The demo slide: open it, zoom in, pan, and keep a screenshot. */
static void
test_window_demo_slide (void)
{
  HgWindow    *window = g_object_new (HG_TYPE_WINDOW, NULL);
  HgSlidePage *page;
  HgSlideView *view;
  HgViewport  *viewport;
  HgSlide     *slide;
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *path = NULL;
  double           fit_zoom, center_x;
  gsize            n_patches = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));

  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_null (hg_test_find_dialog (window));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");

  slide = hg_window_get_slide (window);
  g_assert_nonnull (slide);
  g_assert_cmpstr (hg_slide_get_name (slide), ==, "idc-8863");
  g_assert_true (hg_slide_has_ground_truth (slide));
  hg_slide_get_patches (slide, &n_patches);
  g_assert_cmpuint (n_patches, ==, 979);
  g_assert_true (g_str_has_prefix (gtk_window_get_title (GTK_WINDOW (window)), "idc-8863"));

  page = hg_window_get_slide_page (window);
  view = hg_slide_page_get_view (page);
  viewport = hg_slide_view_get_viewport (view);
  g_assert_true (hg_test_wait_until (view_ready, view, 20000));
  fit_zoom = hg_viewport_get_zoom (viewport);

  /* Zoom in twice with the window's shortcut actions, then pan. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), 2 * fit_zoom, 1e-9);
  center_x = hg_viewport_get_center_x (viewport);
  gtk_widget_activate_action (GTK_WIDGET (view), "view.pan", "(ii)", -2, -1);
  g_assert_cmpfloat (hg_viewport_get_center_x (viewport), <, center_x);
  g_assert_true (hg_test_wait_until (view_ready, view, 20000));
  hg_test_iterate (300);

  g_assert_true (g_str_has_suffix (hg_slide_page_get_zoom_text (page), "%"));
  g_assert_cmpstr (hg_slide_page_get_zoom_text (page), !=, "");

  shot = hg_test_render_widget (GTK_WIDGET (window));
  g_assert_nonnull (shot);
  path = hg_test_save_png (shot, "slide-window.png");
  /* Tissue has many colours; a placeholder or blank view has a few. */
  g_assert_cmpuint (hg_test_count_colours (shot, 4096), >=, 1024);

  /* Properties open in their own window. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.properties", NULL);
  hg_test_iterate (200);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    gboolean    found = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr (GtkWindow) toplevel = g_list_model_get_item (toplevels, i);

        if (HG_IS_PROPERTIES_WINDOW (toplevel))
          {
            found = TRUE;
            g_assert_true (hg_properties_window_get_slide (HG_PROPERTIES_WINDOW (toplevel)) == slide);
            gtk_window_destroy (toplevel);
            break;
          }
      }
    g_assert_true (found);
  }

  gtk_window_destroy (GTK_WINDOW (window));
}

/* Dropping a folder on the window opens it. */
static void
test_window_drop (void)
{
  HgWindow  *window = g_object_new (HG_TYPE_WINDOW, NULL);
  GtkWidget *overlay;
  g_autoptr (GListModel) controllers = NULL;
  g_autofree char *demo = hg_data_find (HG_DATA_DEMO_SLIDE);
  g_autoptr (GFile) file = NULL;
  GtkDropTarget *target = NULL;
  GValue         value = G_VALUE_INIT;
  GSList        *files;
  gboolean       handled = FALSE;

  g_assert_nonnull (demo);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));

  overlay = hg_test_find_widget (GTK_WIDGET (window), "toast_overlay");
  controllers = gtk_widget_observe_controllers (overlay);
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);

  file = g_file_new_for_path (demo);
  files = g_slist_append (NULL, file);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &handled);
  g_value_unset (&value);
  g_assert_true (handled);

  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");
  g_assert_cmpstr (hg_slide_get_name (hg_window_get_slide (window)), ==, "idc-8863");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* The tile cache follows the preference. */
static void
test_application_cache_budget (void)
{
  g_autoptr (HgApplication) app = hg_application_new ();
  g_autoptr (GError) error = NULL;
  GSettings   *settings;
  HgTileCache *cache;

  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  settings = hg_application_get_settings (app);
  cache = hg_application_get_tile_cache (app);
  g_assert_cmpuint (hg_tile_cache_get_budget (cache), ==, (guint64) 256 << 20);

  g_settings_set_int (settings, "tile-cache-mib", 64);
  g_assert_cmpuint (hg_tile_cache_get_budget (cache), ==, (guint64) 64 << 20);
  g_settings_reset (settings, "tile-cache-mib");
  g_assert_cmpuint (hg_tile_cache_get_budget (cache), ==, (guint64) 256 << 20);
}

/* A slide opened once is offered again on the empty page. */
static void
test_window_recent (void)
{
  HgWindow  *window = g_object_new (HG_TYPE_WINDOW, NULL);
  HgWindow  *second;
  GtkWidget *recent_box;

  gtk_window_present (GTK_WINDOW (window));
  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");
  hg_test_iterate (300);

  second = g_object_new (HG_TYPE_WINDOW, NULL);
  gtk_window_present (GTK_WINDOW (second));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, second, 5000));
  recent_box = hg_test_find_widget (GTK_WIDGET (second), "recent_box");
  g_assert_true (gtk_widget_get_visible (recent_box));

  gtk_window_destroy (GTK_WINDOW (second));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_preferences_bind_settings (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  HgPreferencesWindow *prefs = hg_preferences_window_new (settings);
  AdwComboRow         *style_row;
  GtkSpinButton       *cache_spin;
  g_autofree char     *scheme = NULL;

  style_row = ADW_COMBO_ROW (hg_test_find_widget (GTK_WIDGET (prefs), "style_row"));
  cache_spin = GTK_SPIN_BUTTON (hg_test_find_widget (GTK_WIDGET (prefs), "cache_spin"));

  g_assert_cmpuint (adw_combo_row_get_selected (style_row), ==, 0);
  adw_combo_row_set_selected (style_row, 2);
  scheme = g_settings_get_string (settings, "color-scheme");
  g_assert_cmpstr (scheme, ==, "dark");
  g_settings_set_string (settings, "color-scheme", "light");
  g_assert_cmpuint (adw_combo_row_get_selected (style_row), ==, 1);

  g_assert_cmpint ((int) gtk_spin_button_get_value (cache_spin), ==, 256);
  gtk_spin_button_set_value (cache_spin, 512);
  g_assert_cmpint (g_settings_get_int (settings, "tile-cache-mib"), ==, 512);

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "color-scheme");
  g_settings_reset (settings, "tile-cache-mib");
}

int
main (int   argc,
      char *argv[])
{
  hg_test_gui_init (&argc, &argv);
  /* Zoom steps land at once: tests check where, not how smoothly. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/hg/window/empty-state", test_window_empty_state);
  g_test_add_func ("/hg/window/open-errors", test_window_open_errors);
  g_test_add_func ("/hg/window/demo-slide", test_window_demo_slide);
  g_test_add_func ("/hg/window/recent", test_window_recent);
  g_test_add_func ("/hg/window/drop", test_window_drop);
  g_test_add_func ("/hg/application/cache-budget", test_application_cache_budget);
  g_test_add_func ("/hg/preferences/bind-settings", test_preferences_bind_settings);

  return g_test_run ();
}
