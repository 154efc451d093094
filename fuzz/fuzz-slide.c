/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: opening a slide file through hg_slide_open(), as the
 * app and `histoguard-cli slide-info` do (OpenSlide, then GdkPixbuf), and
 * reading from what opened.
 *
 * The first byte picks the file name's extension (OpenSlide and
 * hg_slide_open() both look at it); the rest is the file. */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static const char *const extensions[] = {
  ".tif",
  ".svs",
  ".ndpi",
  ".scn",
  ".bif",
  ".png",
  ".jpg",
  ".tiff",
  ".vms",
  ".svslide",
  "",
  ".txt",
};

static char *tmpdir;

static void
remove_tmpdir (void)
{
  g_rmdir (tmpdir);
}

static void
check_image (HgImage *image,
             int      max_width,
             int      max_height)
{
  g_assert_nonnull (image);
  g_assert_cmpint (hg_image_get_width (image), >=, 1);
  g_assert_cmpint (hg_image_get_height (image), >=, 1);
  g_assert_cmpint (hg_image_get_width (image), <=, max_width);
  g_assert_cmpint (hg_image_get_height (image), <=, max_height);
}

static void
exercise (HgSlide *slide)
{
  int                n_levels = hg_slide_get_level_count (slide);
  const char *const *names;
  gint64             width, height, columns, rows;
  float              chw[3 * 8 * 8];

  g_assert_cmpint (n_levels, >=, 1);
  for (int level = 0; level < n_levels; level++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgImage) tile = NULL;

      hg_slide_get_level_size (slide, level, &width, &height);
      g_assert_cmpint (width, >=, 1);
      g_assert_cmpint (height, >=, 1);
      g_assert_cmpfloat (hg_slide_get_level_downsample (slide, level), >=, 1.0);
      hg_slide_get_tile_grid (slide, level, &columns, &rows);
      g_assert_cmpint (columns, >=, 1);
      g_assert_cmpint (rows, >=, 1);

      /* The last tile of each level: the edge is where sizes go wrong. */
      tile = hg_slide_read_tile (slide, level, columns - 1, rows - 1, &error);
      if (tile != NULL)
        check_image (tile, HG_SLIDE_TILE_SIZE, HG_SLIDE_TILE_SIZE);
      else
        g_assert_true (error != NULL && error->domain == HG_ERROR);
    }

  {
    g_autoptr (GError) error = NULL;
    g_autoptr (HgImage) thumbnail = hg_slide_read_thumbnail (slide, 64, &error);

    if (thumbnail != NULL)
      check_image (thumbnail, 64, 64);
    else
      g_assert_true (error != NULL && error->domain == HG_ERROR);
  }

  {
    g_autoptr (GError) error = NULL;

    /* Straddling the bottom-right corner: half inside, half outside. */
    hg_slide_get_level_size (slide, 0, &width, &height);
    if (hg_slide_read_region_chw (slide, 0, width - 4, height - 4, 8, 8, chw, &error))
      for (gsize i = 0; i < G_N_ELEMENTS (chw); i++)
        g_assert_true (chw[i] >= 0.0f && chw[i] <= 1.0f);
    else
      g_assert_true (error != NULL && error->domain == HG_ERROR);
  }

  names = hg_slide_get_associated_names (slide);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgImage) image = NULL;

      g_assert_true (hg_slide_get_associated_size (slide, names[i], &width, &height));
      /* Associated images are read whole: keep to the small ones. */
      if (width * height > 1 << 20)
        continue;
      image = hg_slide_read_associated (slide, names[i], &error);
      if (image != NULL)
        check_image (image, (int) width, (int) height);
      else
        g_assert_true (error != NULL && error->domain == HG_ERROR);
    }

  names = hg_slide_get_property_names (slide);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    g_assert_nonnull (hg_slide_get_property (slide, names[i]));
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autofree char *path = NULL;

  if (size < 1)
    return 0;
  if (tmpdir == NULL)
    {
      tmpdir = g_dir_make_tmp ("hg-fuzz-slide-XXXXXX", NULL);
      g_assert_nonnull (tmpdir);
      atexit (remove_tmpdir);
    }

  path = g_strdup_printf ("%s/slide%s", tmpdir, extensions[data[0] % G_N_ELEMENTS (extensions)]);
  g_assert_true (g_file_set_contents (path, (const char *) data + 1, (gssize) size - 1, NULL));

  slide = hg_slide_open (path, NULL, &error);
  if (slide != NULL)
    {
      g_assert_no_error (error);
      exercise (slide);
    }
  else
    g_assert_true (error != NULL && error->domain == HG_ERROR);

  g_unlink (path);
  return 0;
}
