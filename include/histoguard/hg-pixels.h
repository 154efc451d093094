/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one place where pixels change representation.
 *
 * OpenSlide and Cairo hand out premultiplied native-endian ARGB32
 * (CAIRO_FORMAT_ARGB32 / CAIRO_FORMAT_RGB24); GdkPixbuf hands out straight
 * 8-bit RGB or RGBA. The network takes planar ("CHW") straight RGB floats
 * in [0,1]. Transparent pixels are composited over white, the colour of an
 * empty glass slide. */

/* argb: height rows of stride_bytes, each width pixels; out: 3 * height * width. */
void hg_pixels_argb32_to_chw (const guint8 *argb,
                              gsize         stride_bytes,
                              int           width,
                              int           height,
                              float        *out);

/* rgb: height rows of rowstride bytes; n_channels is 3 (RGB) or 4 (RGBA). */
void hg_pixels_rgb8_to_chw (const guint8 *rgb,
                            gsize         rowstride,
                            int           n_channels,
                            int           width,
                            int           height,
                            float        *out);

/* rgb: straight 8-bit RGB or RGBA (as GdkPixbuf hands it out); out:
 * premultiplied ARGB32, for display and for the slide pyramid. */
void hg_pixels_rgb8_to_argb32 (const guint8 *rgb,
                               gsize         rowstride,
                               int           n_channels,
                               int           width,
                               int           height,
                               guint8       *out,
                               gsize         stride_bytes);

/* argb: premultiplied ARGB32; out: straight 8-bit RGB, transparent
 * composited over white. GTK 4.8 copies RGB8 textures to Cairo quickly and
 * premultiplied ARGB32 ones slowly, so this is how tiles are shown. */
void hg_pixels_argb32_to_rgb8 (const guint8 *argb,
                               gsize         stride_bytes,
                               int           width,
                               int           height,
                               guint8       *out,
                               gsize         rowstride);

/* chw: 3 * height * width floats, clamped to [0,1] and rounded; out is
 * opaque ARGB32 (premultiplication is the identity for alpha 255). */
void hg_pixels_chw_to_argb32 (const float *chw,
                              int          width,
                              int          height,
                              guint8      *out,
                              gsize        stride_bytes);

/* Same, into straight 8-bit RGB (as GdkPixbuf wants, n_channels 3). */
void hg_pixels_chw_to_rgb8 (const float *chw,
                            int          width,
                            int          height,
                            guint8      *out,
                            gsize        rowstride);

G_END_DECLS
