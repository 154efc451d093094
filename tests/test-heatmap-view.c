/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The heatmap on screen: the overlay drawn where the tiles are, and the
 * whole flow in a window — demo slide, model, heatmap, metrics, inspector,
 * arrow keys, exports, cancel and resume — with screenshots. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "hg-heatmap-overlay.h"
#include "hg-predictions-panel.h"
#include "hg-slide-view.h"
#include "hg-tile-inspector.h"
#include "hg-window.h"

#include "hg-test-gui.h"
#include "hg-test-slides.h"

static gboolean
view_idle (gpointer data)
{
  return hg_test_is_drawn (data) && !hg_slide_view_get_loading (data);
}

static gboolean
renders (gpointer data)
{
  g_autoptr (GdkTexture) texture = hg_test_render_widget (data);

  return texture != NULL;
}

/* The widget as drawn, once it has something to draw (under load the
 * first frame can come late). */
static GdkTexture *
render (GtkWidget *widget)
{
  g_assert_true (hg_test_wait_until (renders, widget, 10000));
  return hg_test_render_widget (widget);
}

static guint8
channel (guint32 argb,
         int     shift)
{
  return (argb >> shift) & 0xff;
}

static void
assert_colour_near (guint32 got,
                    guint32 want,
                    int     tolerance)
{
  for (int shift = 0; shift <= 16; shift += 8)
    if (abs (channel (got, shift) - channel (want, shift)) > tolerance)
      g_error ("colour 0x%08x is not 0x%08x (±%d)", got, want, tolerance);
}

/* Tiles coloured by value, over a slide whose pixels are known: fills
 * land exactly on the tiles, blend at the opacity, and leave undrawn
 * tiles and the rest alone; the threshold outline runs along the edges. */
static void
test_overlay_pixels (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-heatmap-view");
  g_autofree char *path = g_build_filename (dir, "view.tif", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (64 << 20);
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgHeatmapOverlay) overlay = hg_heatmap_overlay_new ();
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *png = NULL;
  GtkWindow       *window = GTK_WINDOW (gtk_window_new ());
  HgSlideView     *view = hg_slide_view_new ();
  HgTilingOptions  options;
  gsize            n;
  float           *values;
  double           scale, ox, oy;

  hg_test_write_pyramid_tiff (path, 1000, 760, 3, 128, HG_TEST_TIFF_RAW);
  slide = hg_slide_open (path, NULL, &error);
  g_assert_no_error (error);
  hg_tiling_options_init (&options);
  options.tile_size = 100;
  options.min_tissue = 0;
  tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error);
  g_assert_no_error (error);
  n = hg_tiling_get_n_tiles (tiling);

  hg_slide_view_set_cache (view, cache);
  gtk_window_set_child (window, GTK_WIDGET (view));
  gtk_window_set_default_size (window, 400, 300);
  gtk_window_present (window);
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, view, 5000));
  hg_slide_view_set_slide (view, slide);
  hg_slide_view_zoom_original (view);
  hg_slide_view_center_on (view, 500, 380, FALSE);
  g_assert_true (hg_test_wait_until (view_idle, view, 10000));

  /* Tile i has value (i mod 5) / 4; every seventh tile has none. */
  values = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    values[i] = i % 7 == 3 ? NAN : (i % 5) / 4.0f;
  hg_heatmap_overlay_set_tiling (overlay, tiling);
  hg_heatmap_overlay_set_values (overlay, values, NULL, n);
  hg_heatmap_overlay_set_opacity (overlay, 1.0);
  hg_slide_view_add_overlay (view, HG_SLIDE_OVERLAY (overlay));
  hg_test_iterate (100);
  g_assert_true (hg_test_wait_until (view_idle, view, 10000));

  hg_slide_view_get_transform (view, &scale, &ox, &oy);
  g_assert_cmpfloat (scale, ==, 1);
  shot = render (GTK_WIDGET (view));
  png = hg_test_save_png (shot, "heatmap-overlay.png");
  for (gsize i = 0; i < n; i++)
    {
      const HgTile *t = hg_tiling_get_tile (tiling, i);

      for (int k = 0; k < 3; k++)
        {
          /* Points inside the tile (away from its edges) that are on screen. */
          int     x = (int) (t->x + 10 + 37 * k + ox), y = (int) (t->y + 10 + 29 * k + oy);
          guint32 want;

          if (x < 0 || y < 0 || x >= 400 || y >= 300 || x - ox >= t->x + t->width - 2 ||
              y - oy >= t->y + t->height - 2)
            continue;
          want = isnan (values[i]) ? hg_test_pattern_pixel (x - (gint64) ox, y - (gint64) oy)
                                   : 0xff000000 | hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, values[i]);
          assert_colour_near (hg_test_texture_pixel (shot, x, y), want, 1);
        }
    }
  g_clear_object (&shot);

  /* Half opacity: half the colour, half the slide. */
  hg_heatmap_overlay_set_opacity (overlay, 0.5);
  hg_test_iterate (50);
  shot = render (GTK_WIDGET (view));
  {
    gssize  i = hg_tiling_find (tiling, 620, 400);
    int     x = (int) (620 + ox), y = (int) (400 + oy);
    guint32 map = hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, values[i]);
    guint32 base = hg_test_pattern_pixel (620, 400);
    guint32 want = 0xff000000;

    g_assert_false (isnan (values[i]));
    for (int shift = 0; shift <= 16; shift += 8)
      want |= (guint32) ((channel (map, shift) + channel (base, shift) + 1) / 2) << shift;
    assert_colour_near (hg_test_texture_pixel (shot, x, y), want, 2);
  }
  g_clear_object (&shot);

  /* Hidden values: only the slide. */
  hg_heatmap_overlay_set_show_values (overlay, FALSE);
  hg_test_iterate (50);
  shot = render (GTK_WIDGET (view));
  assert_colour_near (hg_test_texture_pixel (shot, (int) (520 + ox), (int) (400 + oy)),
                      hg_test_pattern_pixel (520, 400), 0);
  g_clear_object (&shot);

  /* The outline of the tiles at 1.0 (i mod 5 == 4): white on the edge
   * between tile 34 (x 400–500, y 300–400) and tile 35. */
  hg_heatmap_overlay_set_show_values (overlay, TRUE);
  hg_heatmap_overlay_set_threshold (overlay, 1.0);
  hg_heatmap_overlay_set_selected (overlay, hg_tiling_find (tiling, 550, 450));
  hg_test_iterate (50);
  shot = render (GTK_WIDGET (view));
  g_free (png);
  png = hg_test_save_png (shot, "heatmap-overlay-outline.png");
  {
    int xe = (int) (500 + ox), ye = (int) (350 + oy);

    assert_colour_near (hg_test_texture_pixel (shot, xe, ye), 0xffffffff, 2);
    assert_colour_near (hg_test_texture_pixel (shot, xe - 1, ye), 0xffffffff, 2);
  }
  /* The selected tile (500–600): an accent border just outside it. */
  {
    guint32 border = hg_test_texture_pixel (shot, (int) (500 - 2 + ox), (int) (450 + oy));

    g_assert_cmpint (channel (border, 0), >, channel (border, 16) + 60); /* blue */
  }

  g_free (values);
  gtk_window_destroy (window);
  hg_test_iterate (50);
  hg_test_remove_tree (dir);
}

/* The window, from the demo slide to the exports. */

typedef struct
{
  HgWindow    *window;
  HgSlidePage *page;
} Flow;

static gboolean
heatmap_complete (gpointer data)
{
  HgSlidePage *page = data;
  HgHeatmap   *heatmap = hg_slide_page_get_heatmap (page);
  gboolean     running;

  g_object_get (page, "running", &running, NULL);
  return heatmap != NULL && hg_heatmap_is_complete (heatmap) && !running;
}

static gboolean
not_running (gpointer data)
{
  gboolean running;

  g_object_get (data, "running", &running, NULL);
  return !running;
}

static gboolean
tiling_ready (gpointer data)
{
  return hg_slide_page_get_tiling (data) != NULL;
}

static gboolean
inspector_shows_tile (gpointer data)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_template_child (data, HG_TYPE_TILE_INSPECTOR, "stack"));
  GtkGrid  *bars = GTK_GRID (gtk_widget_get_template_child (data, HG_TYPE_TILE_INSPECTOR, "bars_grid"));

  /* Bars (three widgets per class) mean the explanation came back. */
  return g_strcmp0 (gtk_stack_get_visible_child_name (stack), "tile") == 0 &&
         gtk_grid_get_child_at (bars, 1, 1) != NULL;
}

static gboolean
file_written (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_IS_REGULAR);
}

static const char *
label_text (GtkWidget  *root,
            GType       type,
            const char *id)
{
  return gtk_label_get_text (GTK_LABEL (gtk_widget_get_template_child (root, type, id)));
}

static void
test_window_flow (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-heatmap-flow");
  g_autofree char *csv = g_build_filename (dir, "demo.csv", NULL);
  g_autofree char *geojson = g_build_filename (dir, "demo.geojson", NULL);
  g_autofree char *png = g_build_filename (dir, "demo.png", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *saved = NULL;
  HgWindow        *window;
  HgSlidePage     *page;
  GtkWidget       *panel, *inspector, *sidebar_stack;
  HgTiling        *tiling;
  gssize           first, next;
  HgMetrics        metrics;

  g_settings_set_string (settings, "model", model);
  window = g_object_new (HG_TYPE_WINDOW, NULL);
  page = hg_window_get_slide_page (window);
  panel = hg_test_find_widget (GTK_WIDGET (window), "predictions_panel");
  inspector = hg_test_find_widget (GTK_WIDGET (window), "inspector");
  sidebar_stack = hg_test_find_widget (GTK_WIDGET (window), "sidebar_stack");
  g_assert_nonnull (hg_slide_page_get_model (page));

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 780);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));
  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_true (hg_test_wait_until (tiling_ready, page, 20000));
  tiling = hg_slide_page_get_tiling (page);
  g_assert_cmpint (hg_tiling_get_kind (tiling), ==, HG_TILING_PATCHES);
  g_assert_cmpuint (hg_tiling_get_n_tiles (tiling), ==, 979);

  /* Stopped before it could finish, then resumed from there. Cancelled
   * at once: waiting for a progress notification raced with the worker,
   * which on a loaded machine could finish every batch first. */
  gtk_widget_activate_action (GTK_WIDGET (page), "heatmap.run", NULL);
  hg_slide_page_cancel_heatmap (page);
  g_assert_true (hg_test_wait_until (not_running, page, 60000));
  g_assert_false (hg_heatmap_is_complete (hg_slide_page_get_heatmap (page)));
  g_assert_nonnull (strstr (hg_slide_page_get_heatmap_status (page), "stopped"));

  /* H shows the heatmap and finishes the run. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-heatmap", NULL);
  g_assert_true (hg_test_wait_until (heatmap_complete, page, 60000));
  g_assert_nonnull (strstr (hg_slide_page_get_heatmap_status (page), "979 tiles"));
  g_object_set (page, "threshold-enabled", TRUE, "threshold", 0.5, NULL);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-truth", NULL);

  /* The metrics shown are the heatmap's, from hg-metrics. */
  g_assert_true (hg_heatmap_compute_metrics (hg_slide_page_get_heatmap (page), &metrics));
  g_assert_cmpuint (metrics.n, ==, 979);
  {
    char want[32];

    g_snprintf (want, sizeof want, "%.3f", metrics.balanced_accuracy);
    g_assert_cmpstr (label_text (panel, HG_TYPE_PREDICTIONS_PANEL, "balanced_label"), ==, want);
    g_snprintf (want, sizeof want, "%.3f", metrics.auc);
    g_assert_cmpstr (label_text (panel, HG_TYPE_PREDICTIONS_PANEL, "auc_label"), ==, want);
  }

  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (sidebar_stack), "predictions");
  hg_test_iterate (300);
  shot = render (GTK_WIDGET (window));
  saved = hg_test_save_png (shot, "heatmap.png");
  g_test_message ("screenshot: %s", saved);
  g_assert_cmpuint (hg_test_count_colours (shot, 256), >=, 128);
  g_clear_object (&shot);
  g_clear_pointer (&saved, g_free);

  /* A click on a tile opens the inspector on it. */
  {
    const HgTile *t = hg_tiling_get_tile (tiling, hg_tiling_find (tiling, 1376, 1426));

    g_signal_emit_by_name (hg_slide_page_get_view (page), "clicked", t->x + 10.0, t->y + 10.0);
  }
  first = hg_slide_page_get_selected_tile (page);
  g_assert_cmpint (first, >=, 0);
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (ADW_VIEW_STACK (sidebar_stack)), ==, "tile");
  g_assert_true (hg_test_wait_until (inspector_shows_tile, inspector, 20000));
  g_assert_true (g_str_has_prefix (label_text (inspector, HG_TYPE_TILE_INSPECTOR, "title_label"), "Tile at x 1"));
  hg_tile_inspector_set_view (HG_TILE_INSPECTOR (inspector), HG_TILE_INSPECTOR_GRADCAM);
  hg_test_iterate (300);
  shot = render (GTK_WIDGET (window));
  saved = hg_test_save_png (shot, "inspector.png");
  g_test_message ("screenshot: %s", saved);
  g_clear_object (&shot);

  /* The right arrow: the tile to the right. */
  g_signal_emit_by_name (inspector, "move", 1, 0);
  next = hg_slide_page_get_selected_tile (page);
  g_assert_cmpint (next, ==, hg_tiling_get_neighbour (tiling, first, 1, 0));
  g_assert_cmpint (hg_tiling_get_tile (tiling, next)->x, >, hg_tiling_get_tile (tiling, first)->x);

  /* Exports, off the main thread. */
  hg_slide_page_export_heatmap (page, "csv", csv);
  hg_slide_page_export_heatmap (page, "geojson", geojson);
  hg_slide_page_export_heatmap (page, "png", png);
  g_assert_true (hg_test_wait_until (file_written, csv, 20000));
  g_assert_true (hg_test_wait_until (file_written, geojson, 20000));
  g_assert_true (hg_test_wait_until (file_written, png, 20000));
  g_assert_true (g_file_get_contents (csv, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "x,y,width,height,probability,label,ground_truth\n"));

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_iterate (100);
  hg_test_remove_tree (dir);
  g_settings_reset (settings, "model");
}

/* Without a model the panel says so, and where it looked. */
static void
test_window_no_model (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  HgWindow   *window;
  GtkWidget  *panel;
  GtkStack   *stack;
  const char *description;

  g_settings_set_string (settings, "model", "/nonexistent/model.safetensors");
  window = g_object_new (HG_TYPE_WINDOW, NULL);
  panel = hg_test_find_widget (GTK_WIDGET (window), "predictions_panel");
  stack = GTK_STACK (gtk_widget_get_template_child (panel, HG_TYPE_PREDICTIONS_PANEL, "stack"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "no-model");
  description = adw_status_page_get_description (
      ADW_STATUS_PAGE (gtk_widget_get_template_child (panel, HG_TYPE_PREDICTIONS_PANEL, "no_model_page")));
  g_assert_nonnull (strstr (description, "/nonexistent/model.safetensors"));
  g_assert_null (hg_slide_page_get_model (hg_window_get_slide_page (window)));

  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_reset (settings, "model");
}

int
main (int   argc,
      char *argv[])
{
  hg_test_gui_init (&argc, &argv);

  g_test_add_func ("/hg/heatmap-view/overlay-pixels", test_overlay_pixels);
  g_test_add_func ("/hg/heatmap-view/window-flow", test_window_flow);
  g_test_add_func ("/hg/heatmap-view/no-model", test_window_no_model);

  return g_test_run ();
}
