/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "histoguard/hg-pixels.h"

static inline float
unit (guint8 v)
{
  return v * (1.0f / 255.0f);
}

static inline guint8
byte_of (float v)
{
  if (!(v > 0.0f)) /* also catches NaN */
    return 0;
  if (v >= 1.0f)
    return 255;
  return (guint8) lrintf (v * 255.0f);
}

void
hg_pixels_argb32_to_chw (const guint8 *argb,
                         gsize         stride_bytes,
                         int           width,
                         int           height,
                         float        *out)
{
  gsize  plane = (gsize) width * (gsize) height;
  float *r = out, *g = out + plane, *b = out + 2 * plane;

  for (int y = 0; y < height; y++)
    {
      const guint32 *row = (const guint32 *) (argb + (gsize) y * stride_bytes);

      for (int x = 0; x < width; x++)
        {
          guint32 p = row[x];
          guint   a = p >> 24;
          gsize   i = (gsize) y * width + x;
          /* Premultiplied over white: c + (1 - a) * 1. */
          float bg = 1.0f - unit (a);

          r[i] = unit ((p >> 16) & 0xff) + bg;
          g[i] = unit ((p >> 8) & 0xff) + bg;
          b[i] = unit (p & 0xff) + bg;
        }
    }
}

void
hg_pixels_rgb8_to_chw (const guint8 *rgb,
                       gsize         rowstride,
                       int           n_channels,
                       int           width,
                       int           height,
                       float        *out)
{
  gsize  plane = (gsize) width * (gsize) height;
  float *r = out, *g = out + plane, *b = out + 2 * plane;

  g_return_if_fail (n_channels == 3 || n_channels == 4);

  for (int y = 0; y < height; y++)
    {
      const guint8 *row = rgb + (gsize) y * rowstride;

      for (int x = 0; x < width; x++)
        {
          const guint8 *p = row + (gsize) x * n_channels;
          gsize         i = (gsize) y * width + x;

          if (n_channels == 4)
            {
              /* Straight alpha over white. */
              float a = unit (p[3]);

              r[i] = unit (p[0]) * a + (1.0f - a);
              g[i] = unit (p[1]) * a + (1.0f - a);
              b[i] = unit (p[2]) * a + (1.0f - a);
            }
          else
            {
              r[i] = unit (p[0]);
              g[i] = unit (p[1]);
              b[i] = unit (p[2]);
            }
        }
    }
}

void
hg_pixels_argb32_to_rgb8 (const guint8 *argb,
                          gsize         stride_bytes,
                          int           width,
                          int           height,
                          guint8       *out,
                          gsize         rowstride)
{
  for (int y = 0; y < height; y++)
    {
      const guint32 *row = (const guint32 *) (argb + (gsize) y * stride_bytes);
      guint8        *dst = out + (gsize) y * rowstride;

      for (int x = 0; x < width; x++)
        {
          guint32 p = row[x];
          /* Premultiplied over white: c + (255 - a); never above 255. */
          guint bg = 255 - (p >> 24);

          dst[3 * x + 0] = (guint8) MIN (255u, ((p >> 16) & 0xff) + bg);
          dst[3 * x + 1] = (guint8) MIN (255u, ((p >> 8) & 0xff) + bg);
          dst[3 * x + 2] = (guint8) MIN (255u, (p & 0xff) + bg);
        }
    }
}

/* round (c * a / 255) without a division. */
static inline guint
premultiply (guint c,
             guint a)
{
  guint t = c * a + 128;

  return (t + (t >> 8)) >> 8;
}

void
hg_pixels_rgb8_to_argb32 (const guint8 *rgb,
                          gsize         rowstride,
                          int           n_channels,
                          int           width,
                          int           height,
                          guint8       *out,
                          gsize         stride_bytes)
{
  g_return_if_fail (n_channels == 3 || n_channels == 4);

  for (int y = 0; y < height; y++)
    {
      const guint8 *src = rgb + (gsize) y * rowstride;
      guint32      *dst = (guint32 *) (out + (gsize) y * stride_bytes);

      for (int x = 0; x < width; x++)
        {
          const guint8 *p = src + (gsize) x * n_channels;
          guint         a = n_channels == 4 ? p[3] : 255;

          dst[x] = ((guint32) a << 24) | ((guint32) premultiply (p[0], a) << 16) |
                   ((guint32) premultiply (p[1], a) << 8) | premultiply (p[2], a);
        }
    }
}

void
hg_pixels_chw_to_argb32 (const float *chw,
                         int          width,
                         int          height,
                         guint8      *out,
                         gsize        stride_bytes)
{
  gsize plane = (gsize) width * (gsize) height;

  for (int y = 0; y < height; y++)
    {
      guint32 *row = (guint32 *) (out + (gsize) y * stride_bytes);

      for (int x = 0; x < width; x++)
        {
          gsize i = (gsize) y * width + x;

          row[x] = 0xff000000u | ((guint32) byte_of (chw[i]) << 16) | ((guint32) byte_of (chw[plane + i]) << 8) | byte_of (chw[2 * plane + i]);
        }
    }
}

void
hg_pixels_chw_to_rgb8 (const float *chw,
                       int          width,
                       int          height,
                       guint8      *out,
                       gsize        rowstride)
{
  gsize plane = (gsize) width * (gsize) height;

  for (int y = 0; y < height; y++)
    {
      guint8 *row = out + (gsize) y * rowstride;

      for (int x = 0; x < width; x++)
        {
          gsize i = (gsize) y * width + x;

          row[3 * x + 0] = byte_of (chw[i]);
          row[3 * x + 1] = byte_of (chw[plane + i]);
          row[3 * x + 2] = byte_of (chw[2 * plane + i]);
        }
    }
}
