/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An immutable-once-filled block of pixels in the format OpenSlide, Cairo
 * and GDK (GDK_MEMORY_DEFAULT) share: premultiplied native-endian ARGB32,
 * rows of hg_image_get_stride() bytes. Slide regions, cached tiles,
 * thumbnails and associated images are all HgImages.
 *
 * Reference counting is atomic, so an image can be handed from a decoding
 * thread to the UI thread; its pixels must not change once it is shared. */
typedef struct _HgImage HgImage;

/* Images larger than this are refused: 2^28 pixels is 1 GiB of ARGB32. */
#define HG_IMAGE_MAX_PIXELS (G_GUINT64_CONSTANT (1) << 28)

HgImage *hg_image_new (int      width,
                       int      height,
                       GError **error);
HgImage *hg_image_ref (HgImage *self);
void     hg_image_unref (HgImage *self);
int      hg_image_get_width (const HgImage *self);
int      hg_image_get_height (const HgImage *self);
gsize    hg_image_get_stride (const HgImage *self);
/* Bytes of pixel data: stride × height. */
gsize         hg_image_get_size (const HgImage *self);
const guint8 *hg_image_get_data (const HgImage *self);
/* Only for whoever fills a new image, before it is shared. */
guint8 *hg_image_get_mutable_data (HgImage *self);
/* A GBytes over the pixels that keeps the image alive (no copy). */
GBytes *hg_image_get_bytes (HgImage *self);
/* Straight RGB floats in [0,1], planar, 3 × height × width, transparent
 * composited over white (through hg-pixels). */
void hg_image_to_chw (const HgImage *self,
                      float         *out);
/* Box-filters the image to half its size (rounding up): the step between
 * two pyramid levels. */
HgImage *hg_image_downsample_2x (const HgImage *self,
                                 GError       **error);
/* Scales the image to width × height with a good filter (Cairo). */
HgImage *hg_image_scale (const HgImage *self,
                         int            width,
                         int            height,
                         GError       **error);
/* Writes a PNG atomically (temporary file, then rename). */
gboolean hg_image_save_png (const HgImage *self,
                            const char    *path,
                            GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgImage, hg_image_unref)

G_END_DECLS
