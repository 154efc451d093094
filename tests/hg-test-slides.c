/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <tiffio.h>

#include "hg-test-slides.h"

guint32
hg_test_pattern_pixel (gint64 x,
                       gint64 y)
{
  guint r = (guint) (x >> 2) & 0xff;
  guint g = (guint) (y >> 2) & 0xff;
  guint b = (guint) ((x + y) >> 3) & 0xff;

  return 0xff000000u | (r << 16) | (g << 8) | b;
}

void
hg_test_write_pyramid_tiff (const char           *path,
                            int                   width,
                            int                   height,
                            int                   n_levels,
                            int                   tile_size,
                            HgTestTiffCompression compression)
{
  TIFF              *tiff = TIFFOpen (path, "w");
  g_autofree guint8 *tile = g_malloc ((gsize) tile_size * tile_size * 3);

  g_assert_nonnull (tiff);

  for (int level = 0; level < n_levels; level++)
    {
      int lw = width >> level, lh = height >> level;

      TIFFSetField (tiff, TIFFTAG_IMAGEWIDTH, lw);
      TIFFSetField (tiff, TIFFTAG_IMAGELENGTH, lh);
      TIFFSetField (tiff, TIFFTAG_BITSPERSAMPLE, 8);
      TIFFSetField (tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
      TIFFSetField (tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (tiff, TIFFTAG_TILEWIDTH, tile_size);
      TIFFSetField (tiff, TIFFTAG_TILELENGTH, tile_size);
      if (level > 0)
        TIFFSetField (tiff, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);

      switch (compression)
        {
        case HG_TEST_TIFF_JPEG:
          TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
          TIFFSetField (tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
          TIFFSetField (tiff, TIFFTAG_JPEGQUALITY, 90);
          TIFFSetField (tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
          break;
        case HG_TEST_TIFF_DEFLATE:
          TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
          TIFFSetField (tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
          break;
        case HG_TEST_TIFF_RAW:
        default:
          TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
          TIFFSetField (tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
          break;
        }

      for (int ty = 0; ty < lh; ty += tile_size)
        for (int tx = 0; tx < lw; tx += tile_size)
          {
            for (int y = 0; y < tile_size; y++)
              for (int x = 0; x < tile_size; x++)
                {
                  guint32 px = hg_test_pattern_pixel ((gint64) (tx + x) << level,
                                                      (gint64) (ty + y) << level);
                  guint8 *p = tile + ((gsize) y * tile_size + x) * 3;

                  p[0] = (px >> 16) & 0xff;
                  p[1] = (px >> 8) & 0xff;
                  p[2] = px & 0xff;
                }
            g_assert_cmpint (TIFFWriteTile (tiff, tile, tx, ty, 0, 0), >, 0);
          }

      g_assert_true (TIFFWriteDirectory (tiff));
    }

  TIFFClose (tiff);
}

guint32
hg_test_patch_colour (const HgTestPatch *patch)
{
  guint shade = (guint) ((patch->x + 3 * patch->y) / 50) % 64;

  if (patch->label == 1)
    return 0xff000000u | ((200u + shade / 2) << 16) | ((40u + shade) << 8) | 60u;

  return 0xff000000u | ((60u + shade) << 16) | (80u << 8) | (190u + shade / 2);
}

void
hg_test_write_patch_folder (const char        *dir,
                            const char        *patient,
                            const HgTestPatch *patches,
                            gsize              n_patches)
{
  for (gsize i = 0; i < n_patches; i++)
    {
      const HgTestPatch *p = &patches[i];
      g_autofree char   *class_dir = g_strdup_printf ("%s/%d", dir, p->label);
      g_autofree char   *file = g_strdup_printf ("%s/%s_idx5_x%d_y%d_class%d.png", class_dir,
                                                 patient, p->x, p->y, p->label);
      g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, p->width,
                                                     p->height);
      g_autoptr (GError) error = NULL;
      guint32 colour = hg_test_patch_colour (p);

      g_assert_cmpint (g_mkdir_with_parents (class_dir, 0755), ==, 0);
      gdk_pixbuf_fill (pixbuf, (colour << 8) | 0xff);
      gdk_pixbuf_save (pixbuf, file, "png", &error, NULL);
      g_assert_no_error (error);
    }
}

char *
hg_test_make_tmpdir (const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("%s-XXXXXX", prefix);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  return dir;
}

void
hg_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_remove (path);
      return;
    }

  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      hg_test_remove_tree (child);
    }
  g_rmdir (path);
}

void
hg_test_write_file (const char *path,
                    const void *contents,
                    gssize      length)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
}

char *
hg_test_shared_data (const char *relative)
{
  const char      *root = g_getenv ("HG_SHARED_DATA");
  g_autofree char *path = NULL;

  if (root != NULL)
    path = g_build_filename (root, relative, NULL);

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *message = g_strdup_printf ("shared data %s not found under $HG_SHARED_DATA (%s)",
                                                  relative, root != NULL ? root : "unset");

      g_test_skip (message);
      return NULL;
    }

  return g_steal_pointer (&path);
}
