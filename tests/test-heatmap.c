/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tissue detection, tiling at the model's scale, the batched heatmap run,
 * its exports and the explanations of one tile. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-slides.h"

static char *
tiny_model_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
}

static HgModel *
tiny_model (void)
{
  g_autofree char *path = tiny_model_path ();
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_load (path, &error);

  g_assert_no_error (error);
  return model;
}

static HgSlide *
open_slide (const char *path)
{
  g_autoptr (GError) error = NULL;
  HgSlide *slide = hg_slide_open (path, NULL, &error);

  g_assert_no_error (error);
  return slide;
}

/* ---- tissue -------------------------------------------------------------- */

static void
test_otsu (void)
{
  guint64 histogram[256] = { 0 };

  g_assert_cmpint (hg_tissue_otsu_threshold (histogram), ==, 0);

  /* Two modes, at 10 and 120: the threshold falls between them. */
  for (int i = 0; i < 256; i++)
    histogram[i] = (guint64) (1000 * exp (-(i - 10) * (i - 10) / 20.0) +
                              300 * exp (-(i - 120) * (i - 120) / 200.0));
  {
    int t = hg_tissue_otsu_threshold (histogram);

    g_assert_cmpint (t, >, 20);
    g_assert_cmpint (t, <, 100);
  }
}

static void
fill_rect (HgImage *image,
           int      x0,
           int      y0,
           int      x1,
           int      y1,
           guint32  argb)
{
  guint8 *data = hg_image_get_mutable_data (image);
  gsize   stride = hg_image_get_stride (image);

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      ((guint32 *) (data + y * stride))[x] = argb;
}

/* Glass on the left, pink tissue on the right, nothing (transparent) at
 * the bottom, a black smudge: fractions come out where they should. */
static void
test_tissue_mask_synthetic (void)
{
  g_autoptr (HgImage) image = hg_image_new (100, 80, NULL);
  g_autoptr (HgTissueMask) mask = NULL;
  int w, h;

  fill_rect (image, 0, 0, 50, 60, 0xfff0eff2);
  fill_rect (image, 50, 0, 100, 60, 0xffd07aa8);
  fill_rect (image, 0, 60, 100, 80, 0x00000000);
  fill_rect (image, 10, 10, 20, 20, 0xff100808);

  /* The picture shows a 1000 × 800 slide: 10 level-0 pixels a pixel. */
  mask = hg_tissue_mask_new_for_image (image, 1000, 800);
  g_assert_nonnull (hg_tissue_mask_get_data (mask, &w, &h));
  g_assert_cmpint (w, ==, 100);
  g_assert_cmpint (h, ==, 80);
  g_assert_cmpint (hg_tissue_mask_get_threshold (mask), >=, HG_TISSUE_MIN_THRESHOLD);
  g_assert_cmpint (hg_tissue_mask_get_threshold (mask), <=, HG_TISSUE_MAX_THRESHOLD);

  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 0, 0, 400, 400), ==, 0);
  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 100, 100, 100, 100), ==, 0); /* black */
  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 600, 100, 300, 300), ==, 1);
  g_assert_cmpfloat_with_epsilon (hg_tissue_mask_get_fraction (mask, 400, 0, 200, 200), 0.5, 1e-9);
  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 600, 650, 100, 100), ==, 0); /* transparent */
  /* Half the rectangle is beyond the slide: counted as glass. */
  g_assert_cmpfloat_with_epsilon (hg_tissue_mask_get_fraction (mask, 900, 0, 200, 100), 0.5, 1e-9);
  /* Smaller than one mask pixel: that pixel decides. */
  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 703, 203, 2, 2), ==, 1);
  g_assert_cmpfloat (hg_tissue_mask_get_fraction (mask, 0, 0, 0, 10), ==, 0);
}

/* The real CMU-1 scan, at a tenth of its size: glass in the top-left
 * corner, tissue down the middle. */
static void
test_tissue_mask_fixture (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "tissue", "cmu-1-small-region-222.png", NULL);
  g_autoptr (HgSlide) slide = open_slide (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTissueMask) mask = hg_tissue_mask_new (slide, 0, &error);
  double whole, glass, band;

  g_assert_no_error (error);
  whole = hg_tissue_mask_get_fraction (mask, 0, 0, 222, 297);
  glass = hg_tissue_mask_get_fraction (mask, 0, 0, 40, 80);
  band = hg_tissue_mask_get_fraction (mask, 100, 140, 30, 60);
  g_test_message ("threshold %d, tissue %.3f, glass %.3f, band %.3f",
                  hg_tissue_mask_get_threshold (mask), whole, glass, band);
  g_assert_cmpfloat (glass, <, 0.02);
  g_assert_cmpfloat (band, >, 0.85);
  g_assert_cmpfloat (whole, >, 0.2);
  g_assert_cmpfloat (whole, <, 0.5);
}

/* ---- tiling -------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *path;
} TmpSlide;

static void
tmp_slide_clear (TmpSlide *t)
{
  hg_test_remove_tree (t->dir);
  g_free (t->dir);
  g_free (t->path);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TmpSlide, tmp_slide_clear)

static void
make_tiff (TmpSlide *t,
           int       width,
           int       height,
           int       levels)
{
  t->dir = hg_test_make_tmpdir ("hg-heatmap");
  t->path = g_build_filename (t->dir, "slide.tif", NULL);
  hg_test_write_pyramid_tiff (t->path, width, height, levels, 64, HG_TEST_TIFF_RAW);
}

/* A 1000 × 700 slide cut into 300-pixel tiles: 4 × 3 cells, the last
 * column and row clipped, read from the level that keeps the input's
 * resolution. */
static void
test_tiling_grid_edges (void)
{
  g_auto (TmpSlide) t = { 0 };
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (GError) error = NULL;
  HgTilingOptions options;
  const HgTile   *tile;
  int             columns, rows, rw, rh;
  double          cell;

  make_tiff (&t, 1000, 700, 3);
  slide = open_slide (t.path);

  hg_tiling_options_init (&options);
  options.tile_size = 300;
  options.min_tissue = 0;
  tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error);
  g_assert_no_error (error);

  g_assert_cmpint (hg_tiling_get_kind (tiling), ==, HG_TILING_GRID);
  hg_tiling_get_grid_size (tiling, &columns, &rows);
  g_assert_cmpint (columns, ==, 4);
  g_assert_cmpint (rows, ==, 3);
  g_assert_cmpuint (hg_tiling_get_n_tiles (tiling), ==, 12);
  hg_tiling_get_cell_size (tiling, &cell, NULL);
  g_assert_cmpfloat (cell, ==, 300);
  /* 300 pixels onto 50: a downsample of 6, so level 2 (4×) at 75 pixels. */
  g_assert_cmpint (hg_tiling_get_level (tiling), ==, 2);
  hg_tiling_get_read_size (tiling, &rw, &rh);
  g_assert_cmpint (rw, ==, 75);
  g_assert_cmpint (rh, ==, 75);

  tile = hg_tiling_get_tile (tiling, hg_tiling_find (tiling, 999, 699));
  g_assert_cmpint (tile->x, ==, 900);
  g_assert_cmpint (tile->y, ==, 600);
  g_assert_cmpint (tile->width, ==, 100);
  g_assert_cmpint (tile->height, ==, 100);
  g_assert_cmpint (tile->truth, ==, HG_SLIDE_LABEL_NONE);
  g_assert_false (hg_tiling_has_ground_truth (tiling));
  tile = hg_tiling_get_tile (tiling, hg_tiling_find (tiling, 300, 299.5));
  g_assert_cmpint (tile->column, ==, 1);
  g_assert_cmpint (tile->row, ==, 0);
  g_assert_cmpint (tile->width, ==, 300);
  g_assert_cmpint (hg_tiling_find (tiling, 1000, 10), ==, -1);
  g_assert_cmpint (hg_tiling_find (tiling, -1, 10), ==, -1);
  g_assert_cmpint (hg_tiling_find (tiling, 10, NAN), ==, -1);

  g_assert_cmpint (hg_tiling_get_neighbour (tiling, 0, 1, 0), ==, 1);
  g_assert_cmpint (hg_tiling_get_neighbour (tiling, 0, 0, 1), ==, 4);
  g_assert_cmpint (hg_tiling_get_neighbour (tiling, 0, -1, 0), ==, -1);
  g_assert_cmpint (hg_tiling_get_neighbour (tiling, 11, 1, 1), ==, -1);
  g_assert_cmpint (hg_tiling_get_neighbour (tiling, 5, 0, 0), ==, 5);

  /* Read past the edge: white, as glass. */
  {
    float chw[3 * 50 * 50];

    g_assert_true (hg_tiling_read_tile (tiling, 11, chw, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (chw[49], ==, 1.0f);        /* top-right: beyond x = 1000 */
    g_assert_cmpfloat (chw[49 * 50], ==, 1.0f);   /* bottom-left: beyond y = 700 */
    g_assert_cmpfloat (chw[5 * 50 + 5], <, 1.0f); /* inside */
  }

  /* A level forced by hand: read there, whatever the resolution. */
  g_clear_pointer (&tiling, hg_tiling_unref);
  options.level = 1;
  tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_tiling_get_level (tiling), ==, 1);
  hg_tiling_get_read_size (tiling, &rw, &rh);
  g_assert_cmpint (rw, ==, 150);
  g_clear_pointer (&tiling, hg_tiling_unref);
  options.level = 3;
  g_assert_null (hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "levels are 0 to 2"));
  g_clear_error (&error);
  options.level = -1;

  /* Tiles the size of the input are read from level 0, unscaled. */
  g_clear_pointer (&tiling, hg_tiling_unref);
  options.tile_size = 50;
  tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_tiling_get_level (tiling), ==, 0);
  g_assert_cmpuint (hg_tiling_get_n_tiles (tiling), ==, 20 * 14);
  {
    float         chw[3 * 50 * 50];
    gsize         index = (gsize) hg_tiling_find (tiling, 333, 222);
    guint32       want;
    const HgTile *t7 = hg_tiling_get_tile (tiling, index);

    g_assert_true (hg_tiling_read_tile (tiling, index, chw, &error));
    want = hg_test_pattern_pixel (t7->x + 7, t7->y + 3);
    g_assert_cmpfloat_with_epsilon (chw[3 * 50 + 7], ((want >> 16) & 0xff) / 255.0f, 1e-6);
    g_assert_cmpfloat_with_epsilon (chw[2 * 2500 + 3 * 50 + 7], (want & 0xff) / 255.0f, 1e-6);
  }

  /* The cell size follows the input size and the model's scale. */
  g_assert_cmpfloat (hg_tiling_default_tile_size (slide, 50, HG_SLIDE_IDC_MPP), ==, 50);

  /* Sizes that do not fit are refused in words. */
  g_clear_pointer (&tiling, hg_tiling_unref);
  options.tile_size = 2;
  g_assert_null (hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  options.tile_size = 5000;
  g_assert_null (hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

/* The real Aperio scan: tiles of 200 µm at its 0.499 µm per pixel, tissue
 * only, read from level 0 (its only level). */
static void
test_tiling_svs (void)
{
  g_autofree char *path = hg_test_shared_data ("slides/CMU-1-Small-Region.svs");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (GError) error = NULL;
  double        mpp_x, mpp_y, cell;
  int           columns, rows, rw;
  gsize         n;
  const HgTile *tiles;

  if (path == NULL)
    return;
  slide = open_slide (path);
  g_assert_true (hg_slide_get_mpp (slide, &mpp_x, &mpp_y));
  tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, NULL, &error);
  g_assert_no_error (error);
  hg_tiling_get_cell_size (tiling, &cell, NULL);
  g_assert_cmpfloat (cell, ==, round (50 * HG_SLIDE_IDC_MPP / mpp_x));
  g_assert_cmpint (hg_tiling_get_level (tiling), ==, 0);
  hg_tiling_get_read_size (tiling, &rw, NULL);
  g_assert_cmpint (rw, ==, (int) cell);
  hg_tiling_get_grid_size (tiling, &columns, &rows);
  g_assert_cmpint (columns, ==, 6); /* 2220 / 401 */
  g_assert_cmpint (rows, ==, 8);    /* 2967 / 401 */
  tiles = hg_tiling_get_tiles (tiling, &n);
  g_test_message ("%zu of %d cells have tissue", n, columns * rows);
  /* The tissue is a band down the middle: most cells are glass. */
  g_assert_cmpuint (n, >=, 12);
  g_assert_cmpuint (n, <=, 36);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpfloat (tiles[i].tissue, >=, HG_TILING_MIN_TISSUE);
      g_assert_cmpint (tiles[i].truth, ==, HG_SLIDE_LABEL_NONE);
    }
  /* The top-left cell is glass. */
  g_assert_cmpint (hg_tiling_find_cell (tiling, 0, 0), ==, -1);
}

static const HgTestPatch patches[] = {
  { 1, 1, 50, 50, 0 },
  { 51, 1, 50, 50, 1 },
  { 101, 1, 41, 50, 1 }, /* an edge patch, narrower */
  { 1, 51, 50, 50, 0 },
  /* (51, 51) is missing */
  { 101, 51, 41, 35, 0 },
  { 1, 151, 50, 50, 1 }, /* a gap above it */
};

static char *
make_patch_folder (void)
{
  char *dir = hg_test_make_tmpdir ("hg-heatmap-patches");

  hg_test_write_patch_folder (dir, "42", patches, G_N_ELEMENTS (patches));
  return dir;
}

static void
test_tiling_patches (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgSlide) slide = open_slide (dir);
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTiling) tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  gsize           n;
  const HgTile   *tiles;
  double          ox, oy;
  HgTilingOptions options;

  g_assert_no_error (error);
  g_assert_cmpint (hg_tiling_get_kind (tiling), ==, HG_TILING_PATCHES);
  g_assert_true (hg_tiling_has_ground_truth (tiling));
  tiles = hg_tiling_get_tiles (tiling, &n);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (patches));
  hg_tiling_get_origin (tiling, &ox, &oy);
  g_assert_cmpfloat (ox, ==, 1);
  g_assert_cmpfloat (oy, ==, 1);
  g_assert_cmpint (hg_tiling_get_level (tiling), ==, 0);

  for (gsize i = 0; i < n; i++)
    {
      const HgTile *t = &tiles[hg_tiling_find (tiling, patches[i].x + 2, patches[i].y + 2)];

      g_assert_cmpint (t->x, ==, patches[i].x);
      g_assert_cmpint (t->y, ==, patches[i].y);
      g_assert_cmpint (t->width, ==, patches[i].width);
      g_assert_cmpint (t->height, ==, patches[i].height);
      g_assert_cmpint (t->truth, ==, patches[i].label);
    }
  g_assert_cmpint (hg_tiling_find (tiling, 75, 75), ==, -1);  /* the missing patch */
  g_assert_cmpint (hg_tiling_find (tiling, 120, 90), ==, -1); /* below the short one */

  /* Arrow keys: skip the gap, stop at the edge. */
  {
    gssize top_left = hg_tiling_find (tiling, 2, 2);
    gssize below = hg_tiling_get_neighbour (tiling, top_left, 0, 1);
    gssize further = hg_tiling_get_neighbour (tiling, below, 0, 1);

    g_assert_cmpint (tiles[below].y, ==, 51);
    g_assert_cmpint (tiles[further].y, ==, 151);
    g_assert_cmpint (hg_tiling_get_neighbour (tiling, further, 0, 1), ==, -1);
    g_assert_cmpint (tiles[hg_tiling_get_neighbour (tiling, below, 1, 0)].x, ==, 101);
  }

  /* The outline of the IDC tiles: (51,1)+(101,1) make a 2-tile region. */
  {
    g_autofree guint8 *selected = g_new0 (guint8, n);
    g_autofree double *seg = NULL;
    gsize              n_segments;

    for (gsize i = 0; i < n; i++)
      selected[i] = tiles[i].y == 1 && tiles[i].x > 1;
    seg = hg_tiling_get_outline (tiling, selected, &n_segments);
    g_assert_cmpuint (n_segments, ==, 6); /* 2 × 4 sides less the shared one, twice */
  }

  /* A grid on the same folder: the ground truth comes from the patches. */
  g_clear_pointer (&tiling, hg_tiling_unref);
  hg_tiling_options_init (&options);
  options.grid = TRUE;
  options.min_tissue = 0;
  tiling = hg_tiling_new_for_model (slide, model, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_tiling_get_kind (tiling), ==, HG_TILING_GRID);
  g_assert_cmpint (hg_tiling_get_tile (tiling, hg_tiling_find (tiling, 60, 10))->truth, ==, HG_SLIDE_LABEL_IDC);

  hg_test_remove_tree (dir);
}

/* ---- running ------------------------------------------------------------- */

typedef struct
{
  int           calls;
  gsize         last_done;
  GCancellable *cancel_after_first;
} ProgressLog;

static void
on_progress (gsize    done,
             gsize    total,
             gpointer data)
{
  ProgressLog *log = data;

  g_assert_cmpuint (done, >, log->last_done);
  g_assert_cmpuint (done, <=, total);
  log->calls++;
  log->last_done = done;
  if (log->cancel_after_first != NULL)
    g_cancellable_cancel (log->cancel_after_first);
}

static HgHeatmap *
run_on_patches (const char *dir,
                HgModel    *model)
{
  g_autoptr (HgSlide) slide = open_slide (dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTiling) tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  HgHeatmap *heatmap;

  g_assert_no_error (error);
  heatmap = hg_heatmap_new_for_model (tiling, model);
  g_assert_true (hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, 0, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return heatmap;
}

static void
test_heatmap_run (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgSlide) slide = open_slide (dir);
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTiling) tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_autoptr (HgHeatmap) heatmap = hg_heatmap_new_for_model (tiling, model);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  ProgressLog log = { 0 };
  gsize       n = hg_tiling_get_n_tiles (tiling);
  float       x[3 * 50 * 50], logits[2], probs[2], scores[G_N_ELEMENTS (patches)];

  g_assert_cmpint (hg_heatmap_get_positive_class (heatmap), ==, 1);
  g_assert_cmpstr (hg_heatmap_get_class_name (heatmap, 1), ==, hg_model_get_class_name (model, 1));
  g_assert_cmpuint (hg_heatmap_get_n_done (heatmap), ==, 0);
  g_assert_true (isnan (hg_heatmap_get_score (heatmap, 0)));
  g_assert_cmpint (hg_heatmap_get_label (heatmap, 0), ==, -1);

  /* Cancelled after the first batch of 2: the batch stays. */
  log.cancel_after_first = cancellable;
  g_assert_false (hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, 2, on_progress, &log,
                                  cancellable, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (log.calls, ==, 1);
  g_assert_cmpuint (hg_heatmap_get_n_done (heatmap), ==, 2);
  g_assert_false (hg_heatmap_is_complete (heatmap));

  /* Resumed: the rest, in batches of 2 → 2 more progress calls. */
  log = (ProgressLog){ .last_done = 2 };
  g_assert_true (hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, 2, on_progress, &log, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (log.calls, ==, 2);
  g_assert_true (hg_heatmap_is_complete (heatmap));
  g_assert_cmpfloat (hg_heatmap_get_seconds (heatmap), >=, 0);

  /* Every tile holds what the model says about it on its own. */
  hg_heatmap_copy_scores (heatmap, scores);
  for (gsize i = 0; i < n; i++)
    {
      float stored[2];

      g_assert_true (hg_tiling_read_tile (tiling, i, x, &error));
      g_assert_true (hg_model_predict (ctx, x, 1, logits));
      hg_softmax (logits, 1, 2, probs);
      g_assert_true (hg_heatmap_get_probabilities (heatmap, i, stored));
      g_assert_cmpfloat_with_epsilon (stored[0], probs[0], 1e-5);
      g_assert_cmpfloat_with_epsilon (stored[1], probs[1], 1e-5);
      g_assert_cmpfloat_with_epsilon (scores[i], probs[1], 1e-5);
      g_assert_cmpint (hg_heatmap_get_label (heatmap, i), ==, probs[1] > probs[0]);
    }

  hg_test_remove_tree (dir);
}

typedef struct
{
  GMainLoop *loop;
  gboolean   ok;
  GError    *error;
  int        progress_calls;
} AsyncRun;

static void
on_async_progress (gsize    done,
                   gsize    total,
                   gpointer data)
{
  ((AsyncRun *) data)->progress_calls++;
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  AsyncRun *run = data;

  run->ok = hg_heatmap_run_finish (NULL, result, &run->error);
  g_main_loop_quit (run->loop);
}

/* The async run delivers progress on the caller's main context. */
static void
test_heatmap_run_async (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgSlide) slide = open_slide (dir);
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTiling) tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_autoptr (HgHeatmap) heatmap = hg_heatmap_new_for_model (tiling, model);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  AsyncRun run = { .loop = g_main_loop_new (NULL, FALSE) };

  hg_heatmap_run_async (heatmap, hg_heatmap_predict_batch, hg_context_new (model),
                        (GDestroyNotify) hg_context_free, 1, on_async_progress, &run, NULL,
                        on_async_done, &run);
  g_main_loop_run (run.loop);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_true (hg_heatmap_is_complete (heatmap));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (run.progress_calls, >=, 1);

  /* Cancelled before it starts: an error, nothing stored. */
  {
    g_autoptr (HgHeatmap) fresh = hg_heatmap_new_for_model (tiling, model);

    g_cancellable_cancel (cancellable);
    hg_heatmap_run_async (fresh, hg_heatmap_predict_batch, hg_context_new (model),
                          (GDestroyNotify) hg_context_free, 1, NULL, NULL, cancellable,
                          on_async_done, &run);
    g_main_loop_run (run.loop);
    g_assert_false (run.ok);
    g_assert_error (run.error, HG_ERROR, HG_ERROR_CANCELLED);
    g_clear_error (&run.error);
    g_assert_cmpuint (hg_heatmap_get_n_done (fresh), ==, 0);
  }

  g_main_loop_unref (run.loop);
  hg_test_remove_tree (dir);
}

/* The slide's metrics are hg-metrics' on the tiles with ground truth. */
static void
test_heatmap_metrics (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgSlide) slide = open_slide (dir);
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgTiling) tiling = hg_tiling_new_for_model (slide, model, NULL, NULL);
  g_autoptr (HgHeatmap) heatmap = hg_heatmap_new_for_model (tiling, model);
  gsize         n;
  const HgTile *tiles = hg_tiling_get_tiles (tiling, &n);
  HgMetrics     m;
  int           labels[G_N_ELEMENTS (patches)];
  int           predictions[G_N_ELEMENTS (patches)];
  float         scores[G_N_ELEMENTS (patches)];

  g_assert_false (hg_heatmap_compute_metrics (heatmap, &m));
  for (gsize i = 0; i < n; i++)
    {
      /* Right on every tile but the first. */
      gboolean idc = tiles[i].truth == HG_SLIDE_LABEL_IDC, right = i != 0;
      float    p1 = idc == right ? 0.9f - 0.05f * i : 0.1f + 0.05f * i;
      float    probs[2] = { 1 - p1, p1 };

      hg_heatmap_set_probabilities (heatmap, i, 1, probs);
      labels[i] = tiles[i].truth;
      predictions[i] = p1 > 0.5f;
      scores[i] = p1;
    }
  g_assert_true (hg_heatmap_compute_metrics (heatmap, &m));
  g_assert_cmpuint (m.n, ==, n);
  g_assert_cmpfloat_with_epsilon (m.accuracy, (n - 1.0) / n, 1e-9);
  {
    HgMetrics want;

    hg_metrics_compute (labels, predictions, scores, NULL, n, 1, &want);
    g_assert_cmpfloat_with_epsilon (m.balanced_accuracy, want.balanced_accuracy, 1e-12);
    g_assert_cmpfloat_with_epsilon (m.auc, want.auc, 1e-12);
  }
  hg_test_remove_tree (dir);
}

/* ---- exports ------------------------------------------------------------- */

static void
test_heatmap_csv (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgHeatmap) heatmap = run_on_patches (dir, model);
  g_autofree char *csv = hg_heatmap_to_csv (heatmap);
  g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
  HgTiling        *tiling = hg_heatmap_get_tiling (heatmap);
  g_autofree char *path = g_build_filename (dir, "out.csv", NULL);
  g_autofree char *read = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (lines[0], ==, "x,y,width,height,probability,label,ground_truth");
  g_assert_cmpuint (g_strv_length (lines), ==, hg_tiling_get_n_tiles (tiling) + 2); /* + header + "" */
  for (gsize i = 0; i < hg_tiling_get_n_tiles (tiling); i++)
    {
      const HgTile *t = hg_tiling_get_tile (tiling, i);
      g_auto (GStrv) f = g_strsplit (lines[i + 1], ",", -1);

      g_assert_cmpuint (g_strv_length (f), ==, 7);
      g_assert_cmpint (g_ascii_strtoll (f[0], NULL, 10), ==, t->x);
      g_assert_cmpint (g_ascii_strtoll (f[1], NULL, 10), ==, t->y);
      g_assert_cmpint (atoi (f[2]), ==, t->width);
      g_assert_cmpint (atoi (f[3]), ==, t->height);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[4], NULL), hg_heatmap_get_score (heatmap, i), 1e-6);
      g_assert_cmpint (atoi (f[5]), ==, hg_heatmap_get_label (heatmap, i));
      g_assert_cmpint (atoi (f[6]), ==, t->truth);
    }
  /* The narrow edge patch keeps its size. */
  g_assert_nonnull (strstr (csv, "\n101,1,41,50,"));

  g_assert_true (hg_heatmap_save_csv (heatmap, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &read, NULL, NULL));
  g_assert_cmpstr (read, ==, csv);
  g_assert_false (hg_heatmap_save_csv (heatmap, "/nonexistent-dir/out.csv", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/out.csv"));

  hg_test_remove_tree (dir);
}

/* The shape QuPath's GeoJSON reader (PathObjectTypeAdapters) expects of
 * detections with measurements. */
static void
test_heatmap_geojson (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgHeatmap) heatmap = run_on_patches (dir, model);
  g_autofree char *text = hg_heatmap_to_geojson (heatmap);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  HgTiling   *tiling = hg_heatmap_get_tiling (heatmap);
  JsonObject *root;
  JsonArray  *features;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "FeatureCollection");
  features = json_object_get_array_member (root, "features");
  g_assert_cmpuint (json_array_get_length (features), ==, hg_tiling_get_n_tiles (tiling));

  for (guint i = 0; i < json_array_get_length (features); i++)
    {
      JsonObject   *f = json_array_get_object_element (features, i);
      JsonObject   *geometry = json_object_get_object_member (f, "geometry");
      JsonObject   *props = json_object_get_object_member (f, "properties");
      JsonObject   *cls = json_object_get_object_member (props, "classification");
      JsonObject   *meas = json_object_get_object_member (props, "measurements");
      JsonArray    *ring = json_array_get_array_element (json_object_get_array_member (geometry, "coordinates"), 0);
      JsonArray    *first = json_array_get_array_element (ring, 0);
      JsonArray    *last = json_array_get_array_element (ring, 4);
      JsonArray    *color = json_object_get_array_member (cls, "color");
      const HgTile *t = hg_tiling_get_tile (tiling, i);
      int           label = hg_heatmap_get_label (heatmap, i);

      g_assert_cmpstr (json_object_get_string_member (f, "type"), ==, "Feature");
      g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "Polygon");
      g_assert_cmpuint (json_array_get_length (ring), ==, 5);
      g_assert_cmpint (json_array_get_int_element (first, 0), ==, t->x);
      g_assert_cmpint (json_array_get_int_element (first, 1), ==, t->y);
      g_assert_cmpint (json_array_get_int_element (last, 0), ==, t->x);
      g_assert_cmpint (json_array_get_int_element (last, 1), ==, t->y);
      g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (ring, 2), 0), ==, t->x + t->width);
      g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (ring, 2), 1), ==, t->y + t->height);
      g_assert_cmpstr (json_object_get_string_member (props, "objectType"), ==, "detection");
      g_assert_cmpstr (json_object_get_string_member (cls, "name"), ==, hg_heatmap_get_class_name (heatmap, label));
      g_assert_cmpuint (json_array_get_length (color), ==, 3);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (meas, "Probability IDC"),
                                      hg_heatmap_get_score (heatmap, i), 1e-6);
      g_assert_cmpint (json_object_get_int_member (meas, "Ground truth IDC"), ==, t->truth);
    }
  hg_test_remove_tree (dir);
}

static guint32
image_pixel (HgImage *image,
             int      x,
             int      y)
{
  return ((const guint32 *) (hg_image_get_data (image) + y * hg_image_get_stride (image)))[x];
}

/* The overview: tiles painted in the colour map's colour over the slide,
 * nothing where there is no tile, a legend on the right. */
static void
test_heatmap_render (void)
{
  g_autofree char *dir = make_patch_folder ();
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgHeatmap) heatmap = run_on_patches (dir, model);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) plain = NULL;
  g_autoptr (HgImage) image = NULL;
  g_autofree char *path = g_build_filename (dir, "out.png", NULL);
  HgHeatmapStyle   style;
  HgTiling        *tiling = hg_heatmap_get_tiling (heatmap);
  HgSlide         *slide = hg_tiling_get_slide (tiling);

  hg_heatmap_style_init (&style);
  style.legend = FALSE;
  style.opacity = 1.0;
  plain = hg_heatmap_render (heatmap, &style, 1024, &error);
  g_assert_no_error (error);
  /* The folder's slide is 142 × 201: shown at its size. */
  g_assert_cmpint (hg_image_get_width (plain), ==, 142);
  g_assert_cmpint (hg_image_get_height (plain), ==, 201);
  for (gsize i = 0; i < hg_tiling_get_n_tiles (tiling); i++)
    {
      const HgTile *t = hg_tiling_get_tile (tiling, i);

      g_assert_cmphex (image_pixel (plain, t->x + 10, t->y + 10) & 0xffffff, ==,
                       hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, hg_heatmap_get_score (heatmap, i)));
    }
  g_assert_cmphex (image_pixel (plain, 75, 75), ==, 0xffffffff); /* the missing patch: glass */
  (void) slide;

  style.legend = TRUE;
  style.threshold = 0.5;
  style.show_truth = TRUE;
  image = hg_heatmap_render (heatmap, &style, 1024, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (image), >, 142 + 150);
  g_assert_true (hg_heatmap_save_png (heatmap, &style, 512, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  hg_test_remove_tree (dir);
}

static void
test_colormap (void)
{
  HgColormap map;
  guint8     rgb[3];

  g_assert_true (hg_colormap_from_name ("magma", &map));
  g_assert_cmpint (map, ==, HG_COLORMAP_MAGMA);
  g_assert_false (hg_colormap_from_name ("jet", &map));
  g_assert_cmpstr (hg_colormap_get_name (HG_COLORMAP_COOLWARM), ==, "coolwarm");
  g_assert_true (hg_colormap_is_diverging (HG_COLORMAP_COOLWARM));
  g_assert_false (hg_colormap_is_diverging (HG_COLORMAP_VIRIDIS));

  /* matplotlib's ends and middle */
  g_assert_cmphex (hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, 0), ==, 0x440154);
  g_assert_cmphex (hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, 1), ==, 0xfde725);
  g_assert_cmphex (hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, 7), ==, 0xfde725);
  g_assert_cmphex (hg_colormap_lookup_rgb (HG_COLORMAP_MAGMA, 0), ==, 0x000004);
  hg_colormap_lookup (HG_COLORMAP_COOLWARM, 0.5, rgb);
  g_assert_cmpint (abs (rgb[0] - rgb[1]), <, 8); /* a neutral middle */
  g_assert_cmpint (abs (rgb[1] - rgb[2]), <, 8);
  hg_colormap_lookup (HG_COLORMAP_VIRIDIS, NAN, rgb);
  g_assert_cmpint (rgb[0], ==, 128);

  /* Perceptually ordered: lightness grows along viridis. */
  for (int i = 1; i <= 10; i++)
    {
      guint32 a = hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, (i - 1) / 10.0);
      guint32 b = hg_colormap_lookup_rgb (HG_COLORMAP_VIRIDIS, i / 10.0);
      double  la = 0.2126 * (a >> 16) + 0.7152 * ((a >> 8) & 0xff) + 0.0722 * (a & 0xff);
      double  lb = 0.2126 * (b >> 16) + 0.7152 * ((b >> 8) & 0xff) + 0.0722 * (b & 0xff);

      g_assert_cmpfloat (lb, >, la);
    }
}

/* ---- explanations --------------------------------------------------------- */

static void
test_explain (void)
{
  g_autoptr (HgModel) model = tiny_model ();
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (GError) error = NULL;
  float       x[3 * 50 * 50], probs[2], logits[2], want[2], saliency[2500], gradcam[2500];
  float       dlogits[2] = { 0, 1 }, grad[3 * 2500];
  const char *layer = hg_explain_default_layer (model);
  double      max_s = 0, max_c = 0;

  /* The last convolutional block's output, before its pooling. */
  g_assert_cmpstr (layer, ==, "relu3");

  for (int i = 0; i < 3 * 2500; i++)
    x[i] = 0.5f + 0.4f * sinf (i * 0.37f);

  g_assert_true (hg_explain (ctx, x, 1, NULL, probs, saliency, gradcam, &error));
  g_assert_no_error (error);
  g_assert_true (hg_model_forward (ctx, x, 1, logits));
  hg_softmax (logits, 1, 2, want);
  g_assert_cmpfloat_with_epsilon (probs[0], want[0], 1e-5);
  g_assert_cmpfloat_with_epsilon (probs[1], want[1], 1e-5);

  for (int p = 0; p < 2500; p++)
    {
      g_assert_cmpfloat (saliency[p], >=, 0);
      g_assert_cmpfloat (saliency[p], <=, 1);
      g_assert_cmpfloat (gradcam[p], >=, 0);
      g_assert_cmpfloat (gradcam[p], <=, 1);
      max_s = MAX (max_s, saliency[p]);
      max_c = MAX (max_c, gradcam[p]);
    }
  g_assert_cmpfloat (max_s, ==, 1);
  g_assert_cmpfloat (max_c, ==, 1);

  /* Saliency is |∂z₁/∂x|, largest over channels, over its maximum. */
  g_assert_true (hg_model_forward (ctx, x, 1, logits));
  g_assert_true (hg_model_backward_input (ctx, dlogits, grad));
  {
    double gmax = 0;

    for (int i = 0; i < 3 * 2500; i++)
      gmax = MAX (gmax, fabsf (grad[i]));
    for (int p = 0; p < 2500; p += 97)
      {
        double m = MAX (fabsf (grad[p]), MAX (fabsf (grad[2500 + p]), fabsf (grad[5000 + p])));

        g_assert_cmpfloat_with_epsilon (saliency[p], m / gmax, 1e-4);
      }
  }

  /* Grad-CAM from the layer's own activations and gradients: the map at
   * the layer's resolution, checked where a layer cell's centre lands on
   * an image pixel centre. */
  {
    int               lh, lw, lc;
    const float      *act, *g;
    g_autofree float *cam = NULL;
    double            cmax = 0;

    g_assert_true (hg_context_forward (ctx, HG_MODE_INFERENCE, HG_PASS_KEEP_NODES, x, 1, logits));
    g_assert_true (hg_context_backward (ctx, dlogits, NULL));
    act = hg_context_get_activation (ctx, layer, &lh, &lw, &lc);
    g = hg_context_get_activation_grad (ctx, layer, NULL, NULL, NULL);
    cam = g_new0 (float, lh *lw);
    for (int p = 0; p < lh * lw; p++)
      {
        double sum = 0;

        for (int ch = 0; ch < lc; ch++)
          {
            double alpha = 0;

            for (int q = 0; q < lh * lw; q++)
              alpha += g[q * lc + ch];
            sum += alpha / (lh * lw) * act[p * lc + ch];
          }
        cam[p] = (float) MAX (sum, 0);
        cmax = MAX (cmax, cam[p]);
      }
    /* 12 × 12 onto 50 × 50: cell 0's centre is at pixel 2.08, cell 11's
     * at 47.9; bilinear at pixel 2 is within a few % of cell 0. */
    if (cmax > 0)
      g_assert_cmpfloat_with_epsilon (gradcam[2 * 50 + 2], cam[0] / cmax,
                                      0.1 + 0.5 * fabs (cam[1] - cam[0]) / cmax);
  }

  /* A class index out of range is a programming error; a missing layer is
   * an error in words. */
  g_assert_false (hg_explain (ctx, x, 1, "no-such-layer", NULL, NULL, gradcam, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/tissue/otsu", test_otsu);
  g_test_add_func ("/hg/tissue/mask-synthetic", test_tissue_mask_synthetic);
  g_test_add_func ("/hg/tissue/mask-fixture", test_tissue_mask_fixture);
  g_test_add_func ("/hg/tiling/grid-edges", test_tiling_grid_edges);
  g_test_add_func ("/hg/tiling/patches", test_tiling_patches);
  g_test_add_func ("/hg/tiling/svs", test_tiling_svs);
  g_test_add_func ("/hg/heatmap/run", test_heatmap_run);
  g_test_add_func ("/hg/heatmap/run-async", test_heatmap_run_async);
  g_test_add_func ("/hg/heatmap/metrics", test_heatmap_metrics);
  g_test_add_func ("/hg/heatmap/csv", test_heatmap_csv);
  g_test_add_func ("/hg/heatmap/geojson", test_heatmap_geojson);
  g_test_add_func ("/hg/heatmap/render", test_heatmap_render);
  g_test_add_func ("/hg/heatmap/colormap", test_colormap);
  g_test_add_func ("/hg/heatmap/explain", test_explain);

  return g_test_run ();
}
