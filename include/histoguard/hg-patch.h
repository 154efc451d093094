/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Decoding patch images (PNG, JPEG, TIFF, through GdkPixbuf) into the
 * network's planar RGB floats in [0,1].
 *
 * An image smaller than the requested size is placed at the top-left and
 * the rest is filled with white (1.0): the IDC set's short patches are cut
 * off by the right or bottom edge of the slide, beyond which there is only
 * empty glass, and white is also what transparent pixels composite over
 * (hg-pixels.h). An image larger than the requested size is refused: a
 * silent crop or resize would change what the model is shown. */

#define HG_PATCH_MAX_FILE_BYTES (64 * 1024 * 1024)
#define HG_PATCH_MAX_SIDE 4096

/* data: the encoded file; out: 3 * height * width floats. On success the
 * image's own size goes to *image_width and *image_height (may be NULL).
 * width and height are at most HG_PATCH_MAX_SIDE. */
gboolean hg_patch_decode (const guint8 *data,
                          gsize         length,
                          int           width,
                          int           height,
                          float        *out,
                          int          *image_width,
                          int          *image_height,
                          GError      **error);

/* Same, from a file; messages start with the path. */
gboolean hg_patch_load (const char *path,
                        int         width,
                        int         height,
                        float      *out,
                        int        *image_width,
                        int        *image_height,
                        GError    **error);

/* TRUE for file names Histoguard treats as images (by extension, any case):
 * .png, .jpg, .jpeg, .tif, .tiff. */
gboolean hg_patch_is_image_name (const char *name);

G_END_DECLS
