/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <math.h>
#include <unistd.h>

#include "hg-scale-bar.h"
#include "hg-slide-minimap.h"
#include "hg-slide-view.h"

#include "hg-test-gui.h"
#include "hg-test-slides.h"

typedef struct
{
  char        *dir;
  char        *path;
  HgSlide     *slide;
  HgTileCache *cache;
  GtkWindow   *window;
  HgSlideView *view;
} Fixture;

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = hg_test_make_tmpdir ("hg-test-view");
  fixture->path = g_build_filename (fixture->dir, "view.tif", NULL);
  /* 1000 × 760 in three levels, tiles of 128: exact pixels. */
  hg_test_write_pyramid_tiff (fixture->path, 1000, 760, 3, 128, HG_TEST_TIFF_RAW);
  fixture->slide = hg_slide_open (fixture->path, NULL, &error);
  g_assert_no_error (error);
  fixture->cache = hg_tile_cache_new (64 << 20);

  fixture->window = GTK_WINDOW (gtk_window_new ());
  fixture->view = hg_slide_view_new ();
  hg_slide_view_set_cache (fixture->view, fixture->cache);
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->view));
  gtk_window_set_default_size (fixture->window, 400, 300);
  gtk_window_present (fixture->window);
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  hg_test_iterate (50);
  g_clear_object (&fixture->slide);
  g_clear_object (&fixture->cache);
  hg_test_remove_tree (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

/* Every tile of the level on screen is decoded, and the view is idle. */
static gboolean
tiles_ready (gpointer data)
{
  HgSlideView    *view = data;
  HgSlide        *slide = hg_slide_view_get_slide (view);
  HgTileCache    *cache = hg_slide_view_get_cache (view);
  int             level = hg_slide_view_get_level (view);
  double          span = HG_SLIDE_TILE_SIZE * hg_slide_get_level_downsample (slide, level);
  graphene_rect_t area;
  gint64          columns, rows;

  if (!hg_test_is_drawn (view) || hg_slide_view_get_loading (view))
    return FALSE;

  hg_slide_view_get_visible_area (view, &area);
  hg_slide_get_tile_grid (slide, level, &columns, &rows);
  for (gint64 r = MAX (0, (gint64) floor (area.origin.y / span)); r < rows && r * span < area.origin.y + area.size.height; r++)
    for (gint64 c = MAX (0, (gint64) floor (area.origin.x / span)); c < columns && c * span < area.origin.x + area.size.width; c++)
      {
        g_autoptr (HgImage) tile = hg_tile_cache_lookup (cache, slide, level, c, r);

        if (tile == NULL)
          return FALSE;
      }

  return TRUE;
}

static void
show_slide (Fixture *fixture)
{
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, fixture->view, 5000));
  hg_slide_view_set_slide (fixture->view, fixture->slide);
  g_assert_true (hg_test_wait_until (tiles_ready, fixture->view, 10000));
  hg_test_iterate (50);
}

static void
test_view_fit_and_coordinates (Fixture      *fixture,
                               gconstpointer data)
{
  HgViewport     *viewport = hg_slide_view_get_viewport (fixture->view);
  double          wx, wy, sx, sy, scale, ox, oy;
  graphene_rect_t area;

  show_slide (fixture);

  /* Fitted: the whole slide is on screen, centred, with a margin. */
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_center_x (viewport), 500, 1e-9);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_center_y (viewport), 380, 1e-9);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), hg_slide_view_get_fit_zoom (fixture->view), 1e-12);
  hg_slide_view_get_visible_area (fixture->view, &area);
  g_assert_cmpfloat (area.origin.x, <, 0);
  g_assert_cmpfloat (area.origin.x + area.size.width, >, 1000);
  g_assert_cmpfloat (area.origin.y, <=, 0);
  g_assert_cmpfloat (area.origin.y + area.size.height, >=, 760);

  /* widget ⇄ slide round trip, and the transform agrees. */
  hg_slide_view_slide_to_widget (fixture->view, 123.5, 456.25, &wx, &wy);
  hg_slide_view_widget_to_slide (fixture->view, wx, wy, &sx, &sy);
  g_assert_cmpfloat_with_epsilon (sx, 123.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (sy, 456.25, 1e-9);
  hg_slide_view_get_transform (fixture->view, &scale, &ox, &oy);
  g_assert_cmpfloat_with_epsilon (wx, 123.5 * scale + ox, 1e-9);
  hg_slide_view_slide_to_widget (fixture->view, 500, 380, &wx, &wy);
  g_assert_cmpfloat_with_epsilon (wx, gtk_widget_get_width (GTK_WIDGET (fixture->view)) / 2.0, 1e-9);

  /* Fitting follows the window while the user has not moved. */
  gtk_window_set_default_size (fixture->window, 600, 300);
  hg_test_iterate (200);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), hg_slide_view_get_fit_zoom (fixture->view), 1e-12);
}

static void
test_view_zoom_and_levels (Fixture      *fixture,
                           gconstpointer data)
{
  HgViewport *viewport = hg_slide_view_get_viewport (fixture->view);
  double      zoom;

  show_slide (fixture);
  zoom = hg_viewport_get_zoom (viewport);
  /* 1000 px into ~350 px: a third, read from level 1 (1/2). */
  g_assert_cmpint (hg_slide_view_get_level (fixture->view), ==, 1);

  hg_slide_view_zoom_in (fixture->view);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), zoom * G_SQRT2, 1e-9);
  hg_slide_view_zoom_out (fixture->view);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), zoom, 1e-9);

  hg_slide_view_zoom_original (fixture->view);
  g_assert_cmpfloat (hg_viewport_get_zoom (viewport), ==, 1.0);
  g_assert_true (hg_test_wait_until (tiles_ready, fixture->view, 10000));
  g_assert_cmpint (hg_slide_view_get_level (fixture->view), ==, 0);

  hg_slide_view_zoom_to (fixture->view, 0.24, FALSE);
  g_assert_true (hg_test_wait_until (tiles_ready, fixture->view, 10000));
  g_assert_cmpint (hg_slide_view_get_level (fixture->view), ==, 2);

  /* Zoom stops at the most magnification, and at a quarter of the fit. */
  hg_slide_view_zoom_to (fixture->view, 1000, FALSE);
  g_assert_cmpfloat (hg_viewport_get_zoom (viewport), ==, HG_SLIDE_VIEW_MAX_MAGNIFICATION);
  hg_slide_view_zoom_to (fixture->view, 1e-9, FALSE);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), hg_slide_view_get_fit_zoom (fixture->view) / 4, 1e-12);

  /* Zooming about a point keeps that point under it. */
  hg_slide_view_zoom_fit (fixture->view);
  {
    double sx0, sy0, sx1, sy1;

    hg_slide_view_widget_to_slide (fixture->view, 100, 80, &sx0, &sy0);
    hg_slide_view_zoom_by (fixture->view, 3, 100, 80);
    hg_slide_view_widget_to_slide (fixture->view, 100, 80, &sx1, &sy1);
    g_assert_cmpfloat_with_epsilon (sx0, sx1, 1e-6);
    g_assert_cmpfloat_with_epsilon (sy0, sy1, 1e-6);
  }

  /* The actions the keyboard reaches. */
  hg_slide_view_zoom_fit (fixture->view);
  zoom = hg_viewport_get_zoom (viewport);
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "view.zoom-in", NULL);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), zoom * G_SQRT2, 1e-9);
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "view.zoom-original", NULL);
  g_assert_cmpfloat (hg_viewport_get_zoom (viewport), ==, 1.0);
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "view.zoom-fit", NULL);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_zoom (viewport), zoom, 1e-12);
}

static void
test_view_pan (Fixture      *fixture,
               gconstpointer data)
{
  HgViewport *viewport = hg_slide_view_get_viewport (fixture->view);
  int         width;

  show_slide (fixture);
  hg_slide_view_zoom_original (fixture->view);
  width = gtk_widget_get_width (GTK_WIDGET (fixture->view));

  hg_slide_view_pan_by (fixture->view, 40, -20);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_center_x (viewport), 540, 1e-9);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_center_y (viewport), 360, 1e-9);

  /* An arrow key moves a tenth of the view. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "view.pan", "(ii)", -1, 0);
  g_assert_cmpfloat_with_epsilon (hg_viewport_get_center_x (viewport), 540 - width / 10.0, 1e-9);

  /* The centre stays on the slide. */
  hg_slide_view_pan_by (fixture->view, -1e6, 1e6);
  g_assert_cmpfloat (hg_viewport_get_center_x (viewport), ==, 0);
  g_assert_cmpfloat (hg_viewport_get_center_y (viewport), ==, 760);

  hg_slide_view_center_on (fixture->view, 250, 300, FALSE);
  g_assert_cmpfloat (hg_viewport_get_center_x (viewport), ==, 250);
  g_assert_cmpfloat (hg_viewport_get_center_y (viewport), ==, 300);
}

/* At 1:1 each screen pixel is the slide's pixel, from the right tile. */
static void
test_view_draws_tiles (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *path = NULL;
  double           ox, oy;

  show_slide (fixture);
  hg_slide_view_zoom_original (fixture->view);
  hg_slide_view_center_on (fixture->view, 500, 380, FALSE);
  g_assert_true (hg_test_wait_until (tiles_ready, fixture->view, 10000));
  hg_test_iterate (100);

  hg_slide_view_get_transform (fixture->view, NULL, &ox, &oy);
  g_assert_cmpfloat (ox, ==, round (ox));
  shot = hg_test_render_widget (GTK_WIDGET (fixture->view));
  g_assert_nonnull (shot);
  path = hg_test_save_png (shot, "slide-view-1to1.png");

  for (int y = 3; y < gtk_widget_get_height (GTK_WIDGET (fixture->view)); y += 37)
    for (int x = 5; x < gtk_widget_get_width (GTK_WIDGET (fixture->view)); x += 29)
      g_assert_cmphex (hg_test_texture_pixel (shot, x, y), ==,
                       hg_test_pattern_pixel (x - (gint64) ox, y - (gint64) oy));
}

/* A test overlay: counts its snapshots and paints a square. */
typedef struct
{
  GObject parent_instance;
  guint   n_snapshots;
} TestOverlay;

typedef struct
{
  GObjectClass parent_class;
} TestOverlayClass;

static GType test_overlay_get_type (void);
static void  test_overlay_iface_init (HgSlideOverlayInterface *iface);

G_DEFINE_TYPE_WITH_CODE (TestOverlay, test_overlay, G_TYPE_OBJECT, G_IMPLEMENT_INTERFACE (HG_TYPE_SLIDE_OVERLAY, test_overlay_iface_init))

static void
test_overlay_snapshot (HgSlideOverlay *overlay,
                       GtkSnapshot    *snapshot,
                       HgSlideView    *view)
{
  TestOverlay *self = (TestOverlay *) overlay;
  double       x0, y0, x1, y1;

  self->n_snapshots++;
  /* Level-0 square (100, 100)–(200, 200), in widget coordinates. */
  hg_slide_view_slide_to_widget (view, 100, 100, &x0, &y0);
  hg_slide_view_slide_to_widget (view, 200, 200, &x1, &y1);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA){ 0, 1, 0, 1 },
                             &GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0));
}

static void
test_overlay_iface_init (HgSlideOverlayInterface *iface)
{
  iface->snapshot = test_overlay_snapshot;
}

static void
test_overlay_class_init (TestOverlayClass *klass)
{
}

static void
test_overlay_init (TestOverlay *self)
{
}

static void
test_view_overlay (Fixture      *fixture,
                   gconstpointer data)
{
  TestOverlay *overlay = g_object_new (test_overlay_get_type (), NULL);
  g_autoptr (GdkTexture) shot = NULL;
  guint  builds, snapshots;
  double wx, wy;

  show_slide (fixture);
  hg_slide_view_zoom_original (fixture->view);
  hg_slide_view_center_on (fixture->view, 250, 250, FALSE);
  g_assert_true (hg_test_wait_until (tiles_ready, fixture->view, 10000));
  hg_slide_view_add_overlay (fixture->view, HG_SLIDE_OVERLAY (overlay));
  hg_test_iterate (100);
  g_assert_cmpuint (overlay->n_snapshots, >, 0);

  /* Drawn on top, where the slide coordinates say. */
  shot = hg_test_render_widget (GTK_WIDGET (fixture->view));
  hg_slide_view_slide_to_widget (fixture->view, 150, 150, &wx, &wy);
  g_assert_cmphex (hg_test_texture_pixel (shot, (int) wx, (int) wy), ==, 0xff00ff00);

  /* Changing the overlay redraws it without rebuilding the tile layer. */
  builds = hg_slide_view_get_n_tile_builds (fixture->view);
  snapshots = overlay->n_snapshots;
  for (int i = 0; i < 5; i++)
    {
      hg_slide_overlay_changed (HG_SLIDE_OVERLAY (overlay));
      hg_test_iterate (40);
    }
  g_assert_cmpuint (overlay->n_snapshots, >, snapshots);
  g_assert_cmpuint (hg_slide_view_get_n_tile_builds (fixture->view), ==, builds);

  /* Moving the view rebuilds it. */
  hg_slide_view_pan_by (fixture->view, 10, 0);
  hg_test_iterate (100);
  g_assert_cmpuint (hg_slide_view_get_n_tile_builds (fixture->view), >, builds);

  hg_slide_view_remove_overlay (fixture->view, HG_SLIDE_OVERLAY (overlay));
  snapshots = overlay->n_snapshots;
  hg_slide_overlay_changed (HG_SLIDE_OVERLAY (overlay));
  hg_slide_view_pan_by (fixture->view, 10, 0);
  hg_test_iterate (100);
  g_assert_cmpuint (overlay->n_snapshots, ==, snapshots);
  g_object_unref (overlay);
}

static void
test_view_shared_viewport (Fixture      *fixture,
                           gconstpointer data)
{
  g_autoptr (HgViewport) shared = hg_viewport_new ();
  GtkWidget   *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  HgSlideView *left = hg_slide_view_new ();
  HgSlideView *right = hg_slide_view_new ();

  /* Two views side by side, one viewport: they move together. */
  gtk_window_set_child (fixture->window, box);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (left));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (right));
  gtk_widget_set_size_request (box, 600, 300);
  hg_slide_view_set_cache (left, fixture->cache);
  hg_slide_view_set_cache (right, fixture->cache);
  hg_slide_view_set_slide (left, fixture->slide);
  hg_slide_view_set_slide (right, fixture->slide);
  hg_slide_view_set_viewport (left, shared);
  hg_slide_view_set_viewport (right, shared);
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, right, 5000));

  hg_slide_view_zoom_to (left, 0.8, FALSE);
  hg_slide_view_center_on (left, 300, 200, FALSE);
  g_assert_cmpfloat (hg_viewport_get_zoom (hg_slide_view_get_viewport (right)), ==, 0.8);
  g_assert_cmpfloat (hg_viewport_get_center_x (hg_slide_view_get_viewport (right)), ==, 300);
  hg_slide_view_pan_by (right, 80, 0);
  g_assert_cmpfloat (hg_viewport_get_center_x (hg_slide_view_get_viewport (left)), ==, 400);

  /* Both draw, sharing decoded tiles. */
  g_assert_true (hg_test_wait_until (tiles_ready, left, 10000));
  g_assert_true (hg_test_wait_until (tiles_ready, right, 10000));
}

static void
test_view_minimap_and_scale_bar (Fixture      *fixture,
                                 gconstpointer data)
{
  g_autofree char         *dir = g_build_filename (fixture->dir, "idc", NULL);
  static const HgTestPatch patches[] = { { 0, 0, 50, 50, 1 }, { 950, 700, 50, 50, 0 } };
  g_autoptr (HgSlide) patch_slide = NULL;
  g_autoptr (GError) error = NULL;
  GtkWidget      *overlay = gtk_overlay_new ();
  HgSlideView    *view = hg_slide_view_new ();
  GtkWidget      *minimap = hg_slide_minimap_new ();
  GtkWidget      *scale_bar = hg_scale_bar_new ();
  graphene_rect_t rect;
  double          microns;

  hg_test_write_patch_folder (dir, "7", patches, G_N_ELEMENTS (patches));
  patch_slide = hg_slide_open (dir, NULL, &error);
  g_assert_no_error (error);

  gtk_overlay_set_child (GTK_OVERLAY (overlay), GTK_WIDGET (view));
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), minimap);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), scale_bar);
  gtk_widget_set_halign (minimap, GTK_ALIGN_END);
  gtk_widget_set_valign (minimap, GTK_ALIGN_START);
  gtk_widget_set_halign (scale_bar, GTK_ALIGN_START);
  gtk_widget_set_valign (scale_bar, GTK_ALIGN_END);
  hg_slide_minimap_set_view (HG_SLIDE_MINIMAP (minimap), view);
  hg_scale_bar_set_view (HG_SCALE_BAR (scale_bar), view);
  hg_slide_view_set_cache (view, fixture->cache);
  gtk_window_set_child (fixture->window, overlay);
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, view, 5000));

  /* Without microns per pixel there is no scale bar. */
  hg_slide_view_set_slide (view, fixture->slide);
  hg_test_iterate (100);
  g_assert_null (hg_scale_bar_get_label (HG_SCALE_BAR (scale_bar)));

  /* IDC patches: 4 µm per pixel. */
  hg_slide_view_set_slide (view, patch_slide);
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, minimap, 5000));
  hg_test_iterate (100);
  g_assert_nonnull (hg_scale_bar_get_label (HG_SCALE_BAR (scale_bar)));
  microns = hg_scale_bar_get_length (HG_SCALE_BAR (scale_bar)) * HG_SLIDE_IDC_MPP /
            hg_viewport_get_zoom (hg_slide_view_get_viewport (view));
  g_test_message ("scale bar: %s, %.1f px", hg_scale_bar_get_label (HG_SCALE_BAR (scale_bar)),
                  hg_scale_bar_get_length (HG_SCALE_BAR (scale_bar)));
  g_assert_cmpfloat_with_epsilon (microns, hg_scale_bar_pick_length (HG_SLIDE_IDC_MPP / hg_viewport_get_zoom (hg_slide_view_get_viewport (view)), 110), 1e-6);

  /* Fitted, the whole minimap is visible; zoomed in, a part. */
  hg_slide_minimap_get_visible_rect (HG_SLIDE_MINIMAP (minimap), &rect);
  g_assert_cmpfloat (rect.size.width, >=, gtk_widget_get_width (minimap) - 1);
  hg_slide_view_zoom_to (view, 2, FALSE);
  hg_slide_view_center_on (view, 250, 250, FALSE);
  hg_test_iterate (100);
  hg_slide_minimap_get_visible_rect (HG_SLIDE_MINIMAP (minimap), &rect);
  g_assert_cmpfloat (rect.size.width, <, gtk_widget_get_width (minimap) / 2.0);
  g_assert_cmpfloat_with_epsilon (rect.origin.x + rect.size.width / 2,
                                  250.0 / 1000 * gtk_widget_get_width (minimap), 1.0);
}

static void
test_scale_bar_lengths (void)
{
  /* 1, 2, 5 × 10ⁿ, nearest the target on a log scale. */
  g_assert_cmpfloat (hg_scale_bar_pick_length (1.0, 110), ==, 100);
  g_assert_cmpfloat (hg_scale_bar_pick_length (0.25, 110), ==, 20);
  g_assert_cmpfloat (hg_scale_bar_pick_length (4.0, 110), ==, 500);
  g_assert_cmpfloat (hg_scale_bar_pick_length (16.0, 110), ==, 2000);
  g_assert_cmpfloat (hg_scale_bar_pick_length (0.01, 110), ==, 1);
  g_assert_cmpfloat (hg_scale_bar_pick_length (0, 110), ==, 0);
  g_assert_cmpfloat (hg_scale_bar_pick_length (NAN, 110), ==, 0);
}

static void
on_tile_error (HgSlideView  *view,
               const GError *error,
               guint        *count)
{
  g_test_message ("tile error: %s", error->message);
  (*count)++;
}

static gboolean
counted (gpointer data)
{
  return *(guint *) data > 0;
}

/* A slide whose file is cut short while open: reads fail, the view says so
 * once and keeps working. */
static void
test_view_tile_error (Fixture      *fixture,
                      gconstpointer data)
{
  guint count = 0;

  g_signal_connect (fixture->view, "tile-error", G_CALLBACK (on_tile_error), &count);
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, fixture->view, 5000));
  g_assert_cmpint (truncate (fixture->path, 4096), ==, 0);
  hg_slide_view_set_slide (fixture->view, fixture->slide);
  hg_slide_view_zoom_original (fixture->view);
  g_assert_true (hg_test_wait_until (counted, &count, 10000));
  hg_slide_view_pan_by (fixture->view, 200, 100);
  hg_test_iterate (300);
  g_assert_cmpuint (count, ==, 1);
  g_assert_false (hg_slide_view_get_loading (fixture->view));

  /* Trying again reports again. */
  count = 0;
  hg_slide_view_retry (fixture->view);
  g_assert_true (hg_test_wait_until (counted, &count, 10000));
}

int
main (int   argc,
      char *argv[])
{
  hg_test_gui_init (&argc, &argv);
  /* Zoom steps land at once: tests check where, not how smoothly. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/hg/slide-view/fit-and-coordinates", test_view_fit_and_coordinates);
  ADD ("/hg/slide-view/zoom-and-levels", test_view_zoom_and_levels);
  ADD ("/hg/slide-view/pan", test_view_pan);
  ADD ("/hg/slide-view/draws-tiles", test_view_draws_tiles);
  ADD ("/hg/slide-view/overlay", test_view_overlay);
  ADD ("/hg/slide-view/shared-viewport", test_view_shared_viewport);
  ADD ("/hg/slide-view/minimap-and-scale-bar", test_view_minimap_and_scale_bar);
  ADD ("/hg/slide-view/tile-error", test_view_tile_error);
#undef ADD
  g_test_add_func ("/hg/scale-bar/lengths", test_scale_bar_lengths);

  return g_test_run ();
}
