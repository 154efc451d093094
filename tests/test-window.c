/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "hg-preferences-window.h"
#include "hg-window.h"

#include "hg-test-gui.h"

static gboolean
widget_is_drawn (gpointer data)
{
  GtkWidget *widget = data;

  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

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
  g_assert_true (hg_test_wait_until (widget_is_drawn, window, 5000));
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

static void
test_window_toast_on_error (void)
{
  HgWindow *window = g_object_new (HG_TYPE_WINDOW, NULL);
  g_autoptr (GFile) missing = g_file_new_for_path ("/nonexistent/slide.svs");
  GtkStack *stack;

  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (widget_is_drawn, window, 5000));

  /* Whatever goes wrong, the window stays on its empty state and usable. */
  hg_window_open (window, missing);
  hg_test_iterate (100);
  stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), HG_TYPE_WINDOW, "stack"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

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

  g_test_add_func ("/hg/window/empty-state", test_window_empty_state);
  g_test_add_func ("/hg/window/toast-on-error", test_window_toast_on_error);
  g_test_add_func ("/hg/preferences/bind-settings", test_preferences_bind_settings);

  return g_test_run ();
}
