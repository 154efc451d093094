/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Slides the tests make for themselves: tiled pyramidal TIFFs written with
 * libtiff, and folders of IDC patches. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  HG_TEST_TIFF_RAW,     /* uncompressed: pixels come back exactly */
  HG_TEST_TIFF_DEFLATE, /* lossless too */
  HG_TEST_TIFF_JPEG,    /* as scanners write them: lossy */
} HgTestTiffCompression;

/* The opaque colour (0xffRRGGBB) of level-0 pixel (x, y) in test TIFFs:
 * smooth enough for JPEG, varied enough to catch a misplaced tile. */
guint32 hg_test_pattern_pixel (gint64 x,
                               gint64 y);

/* Writes a tiled pyramid: level k is (width >> k) × (height >> k) and
 * shows the pattern sampled at level-0 points (x << k, y << k). */
void hg_test_write_pyramid_tiff (const char           *path,
                                 int                   width,
                                 int                   height,
                                 int                   n_levels,
                                 int                   tile_size,
                                 HgTestTiffCompression compression);

typedef struct
{
  int x;
  int y;
  int width;
  int height;
  int label;
} HgTestPatch;

/* The colour of every pixel of a test patch: red-ish for IDC, blue-ish for
 * benign, shaded by position so that patches differ. */
guint32 hg_test_patch_colour (const HgTestPatch *patch);
/* Writes <dir>/<label>/<patient>_idx5_x<X>_y<Y>_class<label>.png. */
void hg_test_write_patch_folder (const char        *dir,
                                 const char        *patient,
                                 const HgTestPatch *patches,
                                 gsize              n_patches);

/* A fresh folder in the temporary directory; remove it with
 * hg_test_remove_tree(). */
char *hg_test_make_tmpdir (const char *prefix);
void  hg_test_remove_tree (const char *path);
/* Writes contents to path (for bad-input fixtures). */
void hg_test_write_file (const char *path,
                         const void *contents,
                         gssize      length);
/* $HG_SHARED_DATA/<relative>, or NULL (with g_test_skip) when absent. */
char *hg_test_shared_data (const char *relative);

G_END_DECLS
