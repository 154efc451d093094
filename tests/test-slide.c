/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "histoguard/histoguard.h"

#include "hg-test-slides.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  fixture->dir = hg_test_make_tmpdir ("hg-test-slide");
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  hg_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static char *
fixture_path (Fixture    *fixture,
              const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

static guint32
image_pixel (const HgImage *image,
             int            x,
             int            y)
{
  return *(const guint32 *) (hg_image_get_data (image) + (gsize) y * hg_image_get_stride (image) + (gsize) x * 4);
}

static void
assert_close (guint32 got,
              guint32 want,
              guint   tolerance)
{
  for (int shift = 0; shift < 32; shift += 8)
    {
      int a = (got >> shift) & 0xff, b = (want >> shift) & 0xff;

      if ((guint) ABS (a - b) > tolerance)
        g_error ("pixel 0x%08x differs from 0x%08x by more than %u per channel", got, want,
                 tolerance);
    }
}

static HgSlide *
open_ok (const char *path)
{
  g_autoptr (GError) error = NULL;
  HgSlide *slide = hg_slide_open (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (slide);
  return slide;
}

static void
assert_open_fails (const char *path,
                   int         code,
                   const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open (path, NULL, &error);

  g_assert_null (slide);
  g_assert_error (error, HG_ERROR, code);
  g_test_message ("%s: %s", path, error->message);
  if (strstr (error->message, fragment) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, fragment);
}

/* Pyramidal TIFF through OpenSlide. */

static void
test_tiff_levels (Fixture      *fixture,
                  gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "pyramid.tif");
  g_autoptr (HgSlide) slide = NULL;
  gint64 width, height, columns, rows;

  hg_test_write_pyramid_tiff (path, 1000, 760, 3, 128, HG_TEST_TIFF_RAW);
  slide = open_ok (path);

  g_assert_cmpint (hg_slide_get_source (slide), ==, HG_SLIDE_SOURCE_OPENSLIDE);
  g_assert_cmpstr (hg_slide_get_vendor (slide), ==, "generic-tiff");
  g_assert_cmpstr (hg_slide_get_name (slide), ==, "pyramid.tif");
  g_assert_cmpint (hg_slide_get_level_count (slide), ==, 3);

  hg_slide_get_level_size (slide, 0, &width, &height);
  g_assert_cmpint (width, ==, 1000);
  g_assert_cmpint (height, ==, 760);
  hg_slide_get_level_size (slide, 2, &width, &height);
  g_assert_cmpint (width, ==, 250);
  g_assert_cmpint (height, ==, 190);
  g_assert_cmpfloat_with_epsilon (hg_slide_get_level_downsample (slide, 1), 2.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (hg_slide_get_level_downsample (slide, 2), 4.0, 1e-9);

  g_assert_cmpint (hg_slide_get_best_level (slide, 1.0), ==, 0);
  g_assert_cmpint (hg_slide_get_best_level (slide, 3.9), ==, 1);
  g_assert_cmpint (hg_slide_get_best_level (slide, 100), ==, 2);

  hg_slide_get_tile_grid (slide, 0, &columns, &rows);
  g_assert_cmpint (columns, ==, 4); /* 1000 / 256, rounded up */
  g_assert_cmpint (rows, ==, 3);

  g_assert_false (hg_slide_get_mpp (slide, NULL, NULL));
  g_assert_false (hg_slide_has_ground_truth (slide));
  g_assert_null (hg_slide_get_patches (slide, NULL));
  g_assert_cmpstr (hg_slide_get_property (slide, "openslide.vendor"), ==, "generic-tiff");
  g_assert_cmpstr (hg_slide_get_property (slide, "histoguard.source"), ==, "openslide");
  g_assert_nonnull (hg_slide_get_property_names (slide));
}

static void
test_tiff_pixels (Fixture      *fixture,
                  gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "pyramid.tif");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) region = NULL;
  g_autoptr (HgImage) tile = NULL;
  g_autoptr (HgImage) edge = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *padded = NULL;
  g_autofree float  *chw = NULL;

  hg_test_write_pyramid_tiff (path, 1000, 760, 3, 128, HG_TEST_TIFF_RAW);
  slide = open_ok (path);

  /* Level 0, across tile boundaries. */
  region = hg_slide_read_region_image (slide, 0, 123, 45, 300, 200, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 200; y += 7)
    for (int x = 0; x < 300; x += 5)
      g_assert_cmphex (image_pixel (region, x, y), ==, hg_test_pattern_pixel (123 + x, 45 + y));
  g_clear_pointer (&region, hg_image_unref);

  /* Level 1: x, y stay level-0 coordinates. */
  region = hg_slide_read_region_image (slide, 1, 400, 200, 64, 64, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 64; y += 3)
    for (int x = 0; x < 64; x += 3)
      g_assert_cmphex (image_pixel (region, x, y), ==, hg_test_pattern_pixel (400 + 2 * x, 200 + 2 * y));
  g_clear_pointer (&region, hg_image_unref);

  /* Past the right edge is transparent. */
  region = hg_slide_read_region_image (slide, 0, 990, 0, 20, 1, &error);
  g_assert_no_error (error);
  g_assert_cmphex (image_pixel (region, 9, 0), ==, hg_test_pattern_pixel (999, 0));
  g_assert_cmphex (image_pixel (region, 10, 0), ==, 0);

  /* Tiles follow the 256 grid of each level and shrink at the edges. */
  tile = hg_slide_read_tile (slide, 0, 1, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (tile), ==, 256);
  g_assert_cmpint (hg_image_get_height (tile), ==, 760 - 512);
  g_assert_cmphex (image_pixel (tile, 10, 20), ==, hg_test_pattern_pixel (256 + 10, 512 + 20));
  edge = hg_slide_read_tile (slide, 2, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (edge), ==, 250);
  g_assert_cmpint (hg_image_get_height (edge), ==, 190);
  g_assert_cmphex (image_pixel (edge, 100, 50), ==, hg_test_pattern_pixel (400, 200));
  g_assert_null (hg_slide_read_tile (slide, 0, 4, 0, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A caller's stride with padding is honoured. */
  padded = g_malloc0 (40 * 3);
  g_assert_true (hg_slide_read_region (slide, 0, 10, 10, 8, 3, padded, 40, &error));
  g_assert_no_error (error);
  g_assert_cmphex (*(guint32 *) (padded + 2 * 40 + 7 * 4), ==, hg_test_pattern_pixel (17, 12));

  /* Floats for the network, through hg-pixels. */
  chw = g_new (float, 3 * 4 * 2);
  g_assert_true (hg_slide_read_region_chw (slide, 0, 500, 300, 4, 2, chw, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (chw[0], ((hg_test_pattern_pixel (500, 300) >> 16) & 0xff) / 255.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (chw[8 + 5], ((hg_test_pattern_pixel (501, 301) >> 8) & 0xff) / 255.0f, 1e-6);

  /* Bad arguments are errors, not crashes. */
  g_assert_null (hg_slide_read_region_image (slide, 3, 0, 0, 1, 1, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hg_slide_read_region_image (slide, 0, 0, 0, 0, 5, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hg_slide_read_region_image (slide, 0, 0, 0, 100000, 100000, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
}

static void
test_tiff_jpeg (Fixture      *fixture,
                gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "jpeg.tif");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) region = NULL;
  g_autoptr (GError) error = NULL;

  hg_test_write_pyramid_tiff (path, 1024, 512, 2, 256, HG_TEST_TIFF_JPEG);
  slide = open_ok (path);
  g_assert_cmpint (hg_slide_get_level_count (slide), ==, 2);

  region = hg_slide_read_region_image (slide, 0, 0, 0, 1024, 512, &error);
  g_assert_no_error (error);
  /* Away from the pattern's steps JPEG stays close. */
  for (int y = 2; y < 512; y += 16)
    for (int x = 2; x < 1024; x += 16)
      if ((x & 7) > 1 && (x & 7) < 6 && ((x + y) & 7) > 1 && ((x + y) & 7) < 6)
        assert_close (image_pixel (region, x, y), hg_test_pattern_pixel (x, y), 24);
}

static void
test_tiff_deflate (Fixture      *fixture,
                   gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "deflate.tif");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) tile = NULL;
  g_autoptr (GError) error = NULL;

  hg_test_write_pyramid_tiff (path, 512, 512, 2, 256, HG_TEST_TIFF_DEFLATE);
  slide = open_ok (path);
  tile = hg_slide_read_tile (slide, 1, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmphex (image_pixel (tile, 77, 99), ==, hg_test_pattern_pixel (154, 198));
}

/* Plain images through GdkPixbuf. */

static void
test_image_png (Fixture      *fixture,
                gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "plain.png");
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 600, 400);
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) region = NULL;
  g_autoptr (GError) error = NULL;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int     rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  gint64  width, height;

  for (int y = 0; y < 400; y++)
    for (int x = 0; x < 600; x++)
      {
        guint32 px = hg_test_pattern_pixel (x, y);
        guint8 *p = pixels + y * rowstride + x * 4;

        p[0] = (px >> 16) & 0xff;
        p[1] = (px >> 8) & 0xff;
        p[2] = px & 0xff;
        p[3] = x < 300 ? 255 : 0; /* right half transparent */
      }
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);

  slide = open_ok (path);
  g_assert_cmpint (hg_slide_get_source (slide), ==, HG_SLIDE_SOURCE_IMAGE);
  g_assert_cmpstr (hg_slide_get_vendor (slide), ==, "png");
  /* Halved until one 256 tile holds it: 600 × 400, 300 × 200, 150 × 100. */
  g_assert_cmpint (hg_slide_get_level_count (slide), ==, 3);
  hg_slide_get_level_size (slide, 1, &width, &height);
  g_assert_cmpint (width, ==, 300);
  g_assert_cmpint (height, ==, 200);
  g_assert_cmpfloat (hg_slide_get_level_downsample (slide, 1), ==, 2.0);

  region = hg_slide_read_region_image (slide, 0, 290, 10, 20, 2, &error);
  g_assert_no_error (error);
  g_assert_cmphex (image_pixel (region, 5, 1), ==, hg_test_pattern_pixel (295, 11));
  g_assert_cmphex (image_pixel (region, 15, 1), ==, 0);
  g_clear_pointer (&region, hg_image_unref);

  /* Level 1 is the 2 × 2 box average. */
  region = hg_slide_read_region_image (slide, 1, 100, 40, 1, 1, &error);
  g_assert_no_error (error);
  {
    guint sum = 0;

    for (int dy = 0; dy < 2; dy++)
      for (int dx = 0; dx < 2; dx++)
        sum += (hg_test_pattern_pixel (100 + dx, 40 + dy) >> 16) & 0xff;
    g_assert_cmpuint ((image_pixel (region, 0, 0) >> 16) & 0xff, ==, (sum + 2) / 4);
  }

  /* Negative coordinates read as outside. */
  g_clear_pointer (&region, hg_image_unref);
  region = hg_slide_read_region_image (slide, 0, -5, -5, 10, 10, &error);
  g_assert_no_error (error);
  g_assert_cmphex (image_pixel (region, 0, 0), ==, 0);
  g_assert_cmphex (image_pixel (region, 7, 6), ==, hg_test_pattern_pixel (2, 1));
}

/* IDC patch folders. */

static const HgTestPatch test_patches[] = {
  { 1, 1, 50, 50, 0 },
  { 51, 1, 50, 50, 1 },
  { 101, 1, 41, 50, 1 }, /* an edge patch, narrower */
  { 1, 51, 50, 50, 0 },
  /* (51, 51) is missing: background */
  { 101, 51, 41, 35, 0 },
  { 1, 101, 50, 50, 1 },
};

static void
test_patches_rebuild (Fixture      *fixture,
                      gconstpointer data)
{
  g_autofree char *dir = fixture_path (fixture, "idc-1234");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) region = NULL;
  g_autoptr (GError) error = NULL;
  const HgSlidePatch *patches;
  gsize               n_patches = 0;
  gint64              width, height;
  double              mpp_x, mpp_y;

  hg_test_write_patch_folder (dir, "1234", test_patches, G_N_ELEMENTS (test_patches));
  slide = open_ok (dir);

  g_assert_cmpint (hg_slide_get_source (slide), ==, HG_SLIDE_SOURCE_PATCHES);
  g_assert_cmpstr (hg_slide_get_vendor (slide), ==, "idc-patches");
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patient"), ==, "1234");
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patches"), ==, "6");
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patches.idc"), ==, "3");
  hg_slide_get_level_size (slide, 0, &width, &height);
  g_assert_cmpint (width, ==, 142);
  g_assert_cmpint (height, ==, 151);
  g_assert_cmpint (hg_slide_get_level_count (slide), ==, 1);
  g_assert_true (hg_slide_get_mpp (slide, &mpp_x, &mpp_y));
  g_assert_cmpfloat (mpp_x, ==, HG_SLIDE_IDC_MPP);
  g_assert_cmpfloat (hg_slide_get_objective_power (slide), ==, HG_SLIDE_IDC_OBJECTIVE_POWER);

  g_assert_true (hg_slide_has_ground_truth (slide));
  patches = hg_slide_get_patches (slide, &n_patches);
  g_assert_cmpuint (n_patches, ==, 6);
  /* Row-major order, sizes from the files. */
  g_assert_cmpint (patches[2].x, ==, 101);
  g_assert_cmpint (patches[2].width, ==, 41);
  g_assert_cmpint (patches[4].height, ==, 35);
  g_assert_cmpint (patches[5].label, ==, HG_SLIDE_LABEL_IDC);
  g_assert_true (g_str_has_suffix (hg_slide_get_patch_file (slide, 1), "1234_idx5_x51_y1_class1.png"));

  g_assert_cmpint (hg_slide_find_patch (slide, 60.5, 10), ==, 1);
  g_assert_cmpint (hg_slide_find_patch (slide, 75, 75), ==, -1);
  g_assert_cmpint (hg_slide_find_patch (slide, 0.5, 0.5), ==, -1);
  g_assert_cmpint (hg_slide_find_patch (slide, -3, 10), ==, -1);
  g_assert_cmpint (hg_slide_get_label_at (slide, 130, 20), ==, HG_SLIDE_LABEL_IDC);
  g_assert_cmpint (hg_slide_get_label_at (slide, 130, 70), ==, HG_SLIDE_LABEL_BENIGN);
  g_assert_cmpint (hg_slide_get_label_at (slide, 130, 90), ==, HG_SLIDE_LABEL_NONE);
  g_assert_cmpint (hg_slide_get_label_at (slide, 1e300, 5), ==, HG_SLIDE_LABEL_NONE);

  /* Pixels: each patch at its place, the gap transparent. */
  region = hg_slide_read_region_image (slide, 0, 0, 0, 142, 151, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (test_patches); i++)
    {
      const HgTestPatch *p = &test_patches[i];

      g_assert_cmphex (image_pixel (region, p->x, p->y), ==, hg_test_patch_colour (p));
      g_assert_cmphex (image_pixel (region, p->x + p->width - 1, p->y + p->height - 1), ==,
                       hg_test_patch_colour (p));
    }
  g_assert_cmphex (image_pixel (region, 75, 75), ==, 0);
  g_assert_cmphex (image_pixel (region, 0, 0), ==, 0);
  g_assert_cmphex (image_pixel (region, 120, 90), ==, 0);
}

static void
test_patches_layouts (Fixture      *fixture,
                      gconstpointer data)
{
  g_autofree char *flat = fixture_path (fixture, "flat");
  g_autofree char *nested = fixture_path (fixture, "dataset");
  g_autofree char *patient_dir = g_build_filename (nested, "77", NULL);
  g_autofree char *stray = NULL;
  g_autoptr (HgSlide) slide = NULL;
  gsize n = 0;

  /* Flat: files right in the folder, mixed with other files. */
  hg_test_write_patch_folder (flat, "5", test_patches, 2);
  for (int label = 0; label < 2; label++)
    {
      g_autofree char *sub = g_strdup_printf ("%s/%d", flat, label);
      g_autoptr (GDir) dir = g_dir_open (sub, 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *from = g_build_filename (sub, name, NULL);
          g_autofree char *to = g_build_filename (flat, name, NULL);

          g_assert_cmpint (g_rename (from, to), ==, 0);
        }
      g_rmdir (sub);
    }
  stray = g_build_filename (flat, "notes.txt", NULL);
  hg_test_write_file (stray, "not a patch", -1);
  slide = open_ok (flat);
  hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 2);
  g_clear_object (&slide);

  /* The original distribution's <patient>/<class>/ layout, one level up. */
  hg_test_write_patch_folder (patient_dir, "77", test_patches, 3);
  slide = open_ok (nested);
  hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 3);
}

/* Bad input: always an error in words, never a crash. */

static guint32
crc32 (const guint8 *data,
       gsize         length)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }

  return ~crc;
}

static void
put_be32 (guint8 *p,
          guint32 v)
{
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* A PNG whose header claims width × height, followed by a few bytes of
 * garbage where the compressed pixels belong. */
static void
write_png_header (const char *path,
                  guint32     width,
                  guint32     height)
{
  guint8  png[8 + 25 + 16] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                               0, 0, 0, 13, 'I', 'H', 'D', 'R' };
  guint8 *ihdr = png + 16;
  guint8 *idat = png + 33;

  put_be32 (ihdr, width);
  put_be32 (ihdr + 4, height);
  ihdr[8] = 8; /* bit depth */
  ihdr[9] = 2; /* RGB */
  put_be32 (png + 29, crc32 (png + 12, 17));

  put_be32 (idat, 4);
  memcpy (idat + 4, "IDAT\x01\x02\x03\x04", 8);
  put_be32 (idat + 12, crc32 (idat + 4, 8));

  hg_test_write_file (path, png, sizeof png);
}

static void
test_bad_files (Fixture      *fixture,
                gconstpointer data)
{
  g_autofree char *empty = fixture_path (fixture, "empty.svs");
  g_autofree char *text = fixture_path (fixture, "notes.svs");
  g_autofree char *huge = fixture_path (fixture, "huge.png");
  g_autofree char *broken = fixture_path (fixture, "broken.png");
  g_autofree char *truncated = g_test_build_filename (G_TEST_DIST, "data", "truncated.svs", NULL);
  g_autofree char *truncated_tiff = fixture_path (fixture, "truncated.tif");
  g_autofree char *full_tiff = fixture_path (fixture, "full.tif");
  g_autofree char *contents = NULL;
  gsize            length = 0;

  hg_test_write_file (empty, "", 0);
  assert_open_fails (empty, HG_ERROR_INVALID_DATA, "empty (0 bytes)");

  hg_test_write_file (text, "This is not a slide.\nJust some text.\n", -1);
  assert_open_fails (text, HG_ERROR_UNSUPPORTED, "is a text file");

  /* The first 16 KiB of CMU-1-Small-Region.svs. */
  assert_open_fails (truncated, HG_ERROR_INVALID_DATA, "truncated or damaged");

  /* A pyramid cut in half, named as a plain TIFF. */
  hg_test_write_pyramid_tiff (full_tiff, 1024, 1024, 3, 256, HG_TEST_TIFF_JPEG);
  g_assert_true (g_file_get_contents (full_tiff, &contents, &length, NULL));
  hg_test_write_file (truncated_tiff, contents, (gssize) length / 2);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (HgSlide) slide = hg_slide_open (truncated_tiff, NULL, &error);

    /* Either refused on open or each read fails cleanly. */
    if (slide == NULL)
      g_assert_true (error->domain == HG_ERROR);
    else
      {
        g_autoptr (HgImage) tile = hg_slide_read_tile (slide, 0, 3, 3, &error);

        if (tile == NULL)
          g_assert_error (error, HG_ERROR, HG_ERROR_IO);
      }
  }

  write_png_header (huge, 100000, 100000);
  assert_open_fails (huge, HG_ERROR_TOO_LARGE, "100000 × 100000");

  write_png_header (broken, 64, 64);
  assert_open_fails (broken, HG_ERROR_INVALID_DATA, "damaged PNG image");

  assert_open_fails ("/nonexistent/slide.svs", HG_ERROR_IO, "No such file");
}

static void
test_bad_folders (Fixture      *fixture,
                  gconstpointer data)
{
  g_autofree char *empty = fixture_path (fixture, "empty");
  g_autofree char *unrelated = fixture_path (fixture, "holiday");
  g_autofree char *absurd = fixture_path (fixture, "absurd");
  g_autofree char *far = fixture_path (fixture, "far");
  g_autofree char *mixed = fixture_path (fixture, "mixed");
  g_autofree char *damaged = fixture_path (fixture, "damaged");
  g_autofree char *file = NULL;
  HgTestPatch      far_patch = { 999000, 999000, 50, 50, 1 };

  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  assert_open_fails (empty, HG_ERROR_INVALID_DATA, "holds no IDC patches");

  g_assert_cmpint (g_mkdir (unrelated, 0755), ==, 0);
  file = g_build_filename (unrelated, "beach.png", NULL);
  write_png_header (file, 10, 10);
  g_clear_pointer (&file, g_free);
  assert_open_fails (unrelated, HG_ERROR_INVALID_DATA, "holds no IDC patches");

  hg_test_write_patch_folder (absurd, "9", test_patches, 2);
  file = g_build_filename (absurd, "0", "9_idx5_x184467440737095516150_y1_class0.png", NULL);
  hg_test_write_file (file, "x", 1);
  g_clear_pointer (&file, g_free);
  assert_open_fails (absurd, HG_ERROR_INVALID_DATA, "184467440737095516150");

  /* Plausible numbers, but the slide they span would not fit in memory. */
  hg_test_write_patch_folder (far, "9", &far_patch, 1);
  assert_open_fails (far, HG_ERROR_TOO_LARGE, "999050 × 999050");

  hg_test_write_patch_folder (mixed, "9", test_patches, 1);
  hg_test_write_patch_folder (mixed, "10", test_patches + 1, 1);
  assert_open_fails (mixed, HG_ERROR_INVALID_DATA, "mixes patches of patients");

  /* Every patch damaged: nothing to show. */
  g_assert_cmpint (g_mkdir (damaged, 0755), ==, 0);
  file = g_build_filename (damaged, "9_idx5_x1_y1_class0.png", NULL);
  hg_test_write_file (file, "garbage", -1);
  assert_open_fails (damaged, HG_ERROR_INVALID_DATA, "none of the 1 patches");
}

static void
test_damaged_patch_is_background (Fixture      *fixture,
                                  gconstpointer data)
{
  g_autofree char *dir = fixture_path (fixture, "partly");
  g_autofree char *bad = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) region = NULL;
  g_autoptr (GError) error = NULL;
  gsize n = 0;

  hg_test_write_patch_folder (dir, "3", test_patches, 2);
  bad = g_build_filename (dir, "1", "3_idx5_x1_y51_class1.png", NULL);
  hg_test_write_file (bad, "garbage", -1);

  slide = open_ok (dir);
  hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patches.unreadable"), ==, "1");
  g_assert_cmpint (hg_slide_get_label_at (slide, 10, 60), ==, HG_SLIDE_LABEL_IDC);
  region = hg_slide_read_region_image (slide, 0, 10, 60, 1, 1, &error);
  g_assert_no_error (error);
  g_assert_cmphex (image_pixel (region, 0, 0), ==, 0);
}

/* A handle that fails is closed and the file reopened; a file that stays
 * unreadable is given up on, with a message. */
static void
test_reopen (Fixture      *fixture,
             gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "reopen.tif");
  g_autofree char *contents = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) tile = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  FILE *file;

  hg_test_write_pyramid_tiff (path, 2048, 2048, 2, 256, HG_TEST_TIFF_RAW);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  slide = open_ok (path);
  g_assert_cmpuint (hg_slide_get_reopen_count (slide), ==, 0);

  /* Cut the file short in place: tiles past the cut cannot be read. */
  g_assert_cmpint (truncate (path, (off_t) length / 4), ==, 0);
  tile = hg_slide_read_tile (slide, 0, 7, 7, &error);
  g_assert_null (tile);
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_test_message ("while truncated: %s", error->message);
  g_clear_error (&error);

  /* Put it back: the next read reopens the file and succeeds. */
  file = fopen (path, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite (contents, 1, length, file), ==, length);
  fclose (file);
  tile = hg_slide_read_tile (slide, 0, 6, 7, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tile);
  g_assert_cmphex (image_pixel (tile, 3, 4), ==, hg_test_pattern_pixel (6 * 256 + 3, 7 * 256 + 4));
  g_assert_cmpuint (hg_slide_get_reopen_count (slide), >=, 1);
  g_clear_pointer (&tile, hg_image_unref);

  /* Gone for good: after a few tries the slide says so. */
  g_assert_cmpint (truncate (path, 0), ==, 0);
  for (int i = 0; i < 2 * HG_SLIDE_MAX_REOPENS + 2; i++)
    {
      tile = hg_slide_read_tile (slide, 0, i % 8, 5, &error);
      g_assert_null (tile);
      g_assert_error (error, HG_ERROR, HG_ERROR_IO);
      if (i < 2 * HG_SLIDE_MAX_REOPENS + 1)
        g_clear_error (&error);
    }
  g_test_message ("given up: %s", error->message);
  g_assert_nonnull (strstr (error->message, "can no longer be read"));
}

/* The real data, when it is there. */

static void
test_real_svs (void)
{
  g_autofree char *path = hg_test_shared_data ("slides/CMU-1-Small-Region.svs");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) label = NULL;
  g_autoptr (HgImage) tile = NULL;
  g_autoptr (HgImage) thumbnail = NULL;
  g_autoptr (GError) error = NULL;
  const char *const *names;
  double             mpp_x = 0, mpp_y = 0;
  gint64             width, height;

  if (path == NULL)
    return;

  slide = open_ok (path);
  g_assert_cmpstr (hg_slide_get_vendor (slide), ==, "aperio");
  g_assert_cmpint (hg_slide_get_level_count (slide), ==, 1);
  hg_slide_get_level_size (slide, 0, &width, &height);
  g_assert_cmpint (width, ==, 2220);
  g_assert_cmpint (height, ==, 2967);
  g_assert_true (hg_slide_get_mpp (slide, &mpp_x, &mpp_y));
  g_assert_cmpfloat_with_epsilon (mpp_x, 0.499, 1e-9);
  g_assert_cmpfloat (hg_slide_get_objective_power (slide), ==, 20.0);

  names = hg_slide_get_associated_names (slide);
  g_assert_true (g_strv_contains (names, "label"));
  g_assert_true (g_strv_contains (names, "macro"));
  g_assert_true (g_strv_contains (names, "thumbnail"));
  g_assert_true (hg_slide_get_associated_size (slide, "label", &width, &height));
  label = hg_slide_read_associated (slide, "label", &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (label), ==, width);
  g_assert_null (hg_slide_read_associated (slide, "nope", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  tile = hg_slide_read_tile (slide, 0, 4, 5, &error);
  g_assert_no_error (error);
  /* Tissue: not blank, not transparent. */
  g_assert_cmphex (image_pixel (tile, 128, 128) >> 24, ==, 0xff);

  thumbnail = hg_slide_read_thumbnail (slide, 256, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_height (thumbnail), ==, 256);
  g_assert_cmpint (hg_image_get_width (thumbnail), ==, 192);
}

static void
test_real_idc_slide (void)
{
  g_autofree char *path = hg_test_shared_data ("slides/idc-8863");
  g_autoptr (HgSlide) slide = NULL;
  gsize               n = 0, n_idc = 0;
  const HgSlidePatch *patches;

  if (path == NULL)
    return;

  slide = open_ok (path);
  patches = hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 979);
  for (gsize i = 0; i < n; i++)
    n_idc += patches[i].label == HG_SLIDE_LABEL_IDC;
  g_assert_cmpuint (n_idc, ==, 207);
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patches.unreadable"), ==, "0");
}

static void
test_thumbnail (Fixture      *fixture,
                gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "thumb.tif");
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) thumbnail = NULL;
  g_autoptr (GError) error = NULL;

  hg_test_write_pyramid_tiff (path, 2048, 1024, 3, 256, HG_TEST_TIFF_RAW);
  slide = open_ok (path);
  thumbnail = hg_slide_read_thumbnail (slide, 300, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (thumbnail), ==, 300);
  g_assert_cmpint (hg_image_get_height (thumbnail), ==, 150);
  assert_close (image_pixel (thumbnail, 150, 75), hg_test_pattern_pixel (1024, 512), 40);
}

/* Many threads read at once, through one handle and its reopenings. */

typedef struct
{
  HgSlide *slide;
  guint    seed;
  gboolean ok;
} ReaderData;

static gpointer
reader_thread (gpointer user_data)
{
  ReaderData *data = user_data;
  GRand      *rand = g_rand_new_with_seed (data->seed);
  gint64      width, height;

  hg_slide_get_level_size (data->slide, 0, &width, &height);
  data->ok = TRUE;
  for (int i = 0; i < 200; i++)
    {
      int      level = g_rand_int_range (rand, 0, hg_slide_get_level_count (data->slide));
      gint64   x = g_rand_int_range (rand, 0, (gint32) width - 40);
      gint64   y = g_rand_int_range (rand, 0, (gint32) height - 40);
      HgImage *region = hg_slide_read_region_image (data->slide, level, x, y, 32, 32, NULL);

      if (region == NULL)
        data->ok = FALSE;
      else if (level == 0 && image_pixel (region, 31, 31) != hg_test_pattern_pixel (x + 31, y + 31))
        data->ok = FALSE;
      g_clear_pointer (&region, hg_image_unref);
    }
  g_rand_free (rand);

  return NULL;
}

static void
test_threads (Fixture      *fixture,
              gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "threads.tif");
  g_autoptr (HgSlide) slide = NULL;
  ReaderData readers[4];
  GThread   *threads[4];

  hg_test_write_pyramid_tiff (path, 2048, 1536, 3, 256, HG_TEST_TIFF_DEFLATE);
  slide = open_ok (path);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      readers[i] = (ReaderData){ slide, i + 1, FALSE };
      threads[i] = g_thread_new ("reader", reader_thread, &readers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_true (readers[i].ok);
    }
}

static void
on_opened (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  HgSlide **slide = user_data;
  g_autoptr (GError) error = NULL;

  *slide = hg_slide_open_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_open_async (Fixture      *fixture,
                 gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, "async");
  g_autoptr (HgSlide) slide = NULL;

  hg_test_write_patch_folder (path, "1", test_patches, 3);
  hg_slide_open_async (path, NULL, on_opened, &slide);
  while (slide == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (hg_slide_get_source (slide), ==, HG_SLIDE_SOURCE_PATCHES);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/hg/slide/tiff/levels", test_tiff_levels);
  ADD ("/hg/slide/tiff/pixels", test_tiff_pixels);
  ADD ("/hg/slide/tiff/jpeg", test_tiff_jpeg);
  ADD ("/hg/slide/tiff/deflate", test_tiff_deflate);
  ADD ("/hg/slide/tiff/thumbnail", test_thumbnail);
  ADD ("/hg/slide/image/png", test_image_png);
  ADD ("/hg/slide/patches/rebuild", test_patches_rebuild);
  ADD ("/hg/slide/patches/layouts", test_patches_layouts);
  ADD ("/hg/slide/patches/damaged-patch", test_damaged_patch_is_background);
  ADD ("/hg/slide/bad/files", test_bad_files);
  ADD ("/hg/slide/bad/folders", test_bad_folders);
  ADD ("/hg/slide/reopen", test_reopen);
  ADD ("/hg/slide/threads", test_threads);
  ADD ("/hg/slide/open-async", test_open_async);
#undef ADD
  g_test_add_func ("/hg/slide/real/svs", test_real_svs);
  g_test_add_func ("/hg/slide/real/idc-8863", test_real_idc_slide);

  return g_test_run ();
}
