/* SPDX-License-Identifier: GPL-3.0-or-later */
/* JPEG re-compression without a codec: see hg_jpeg_round_trip() in
 * hg-defense.h. Every step mirrors what libjpeg does with its default
 * settings (jpeg_set_defaults + jpeg_set_quality, decoded with the default
 * fancy upsampling); only the DCT is computed in double precision instead
 * of with libjpeg's integer approximation (JDCT_ISLOW), whose output is
 * rounded to 1/8 like ours. Against libjpeg-turbo 2.1 on patches the mean
 * difference is below half a level, against 1.5–12 levels of JPEG's own
 * distortion (tests/test-defense.c). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-defense.h"

/* The example tables of the JPEG standard (ITU T.81, Annex K), in natural
 * (row-major) order, as libjpeg scales them by quality. */
static const guint8 luma_table[64] = {
  16, 11, 10, 16, 24, 40, 51, 61,
  12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77,
  24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99
};

static const guint8 chroma_table[64] = {
  17, 18, 24, 47, 99, 99, 99, 99,
  18, 21, 26, 66, 99, 99, 99, 99,
  24, 26, 56, 99, 99, 99, 99, 99,
  47, 66, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99
};

/* libjpeg's fixed-point colour conversion (jccolor.c, jdcolor.c). */
#define SCALEBITS 16
#define ONE_HALF ((gint32) 1 << (SCALEBITS - 1))
#define FIX(x) ((gint32) ((x) * (1L << SCALEBITS) + 0.5))

/* jpeg_quality_scaling() + jpeg_add_quant_table() with force_baseline. */
static void
scale_table (const guint8 base[64],
             int          quality,
             double       out[64])
{
  int scale;

  quality = CLAMP (quality, 1, 100);
  scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
  for (int i = 0; i < 64; i++)
    {
      long q = ((long) base[i] * scale + 50L) / 100L;

      out[i] = CLAMP (q, 1, 255);
    }
}

/* dct[u][x] = c(u)/2 · cos((2x + 1)uπ/16): the orthonormal 8-point DCT-II,
 * whose 2-D form is exactly JPEG's F(u,v). */
static double dct[8][8];

static void
init_dct (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
          dct[u][x] = (u == 0 ? M_SQRT1_2 : 1.0) / 2.0 * cos ((2 * x + 1) * u * G_PI / 16.0);
      g_once_init_leave (&initialized, 1);
    }
}

/* libjpeg rounds quotients half away from zero (jcdctmgr.c). */
static inline double
round_half_away (double v)
{
  return v < 0 ? -floor (-v + 0.5) : floor (v + 0.5);
}

/* Encodes and decodes one 8×8 block of 8-bit samples in place. */
static void
code_block (guint8      *block,
            gsize        stride,
            const double qt[64])
{
  double f[8][8], tmp[8][8], coef[8][8];

  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      f[y][x] = (double) block[y * stride + x] - 128.0;

  /* Forward: coef = D f Dᵀ, then quantise and dequantise. */
  for (int u = 0; u < 8; u++)
    for (int x = 0; x < 8; x++)
      {
        double s = 0;

        for (int y = 0; y < 8; y++)
          s += dct[u][y] * f[y][x];
        tmp[u][x] = s;
      }
  for (int u = 0; u < 8; u++)
    for (int v = 0; v < 8; v++)
      {
        double s = 0, q = qt[u * 8 + v];

        for (int x = 0; x < 8; x++)
          s += tmp[u][x] * dct[v][x];
        /* libjpeg's DCT output is 8F rounded to an integer, divided by
         * 8q with rounding half away from zero. */
        coef[u][v] = round_half_away (round_half_away (8.0 * s) / (8.0 * q)) * q;
      }

  /* Inverse: f = Dᵀ coef D, level shift, round and range-limit. */
  for (int y = 0; y < 8; y++)
    for (int v = 0; v < 8; v++)
      {
        double s = 0;

        for (int u = 0; u < 8; u++)
          s += dct[u][y] * coef[u][v];
        tmp[y][v] = s;
      }
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        double s = 128.0;

        for (int v = 0; v < 8; v++)
          s += tmp[y][v] * dct[v][x];
        block[y * stride + x] = (guint8) CLAMP (floor (s + 0.5), 0.0, 255.0);
      }
}

static void
code_plane (guint8      *plane,
            int          width_blocks,
            int          height_blocks,
            const double qt[64])
{
  gsize stride = (gsize) width_blocks * 8;

  for (int by = 0; by < height_blocks; by++)
    for (int bx = 0; bx < width_blocks; bx++)
      code_block (plane + (gsize) by * 8 * stride + (gsize) bx * 8, stride, qt);
}

static inline guint8
byte_of (float v)
{
  if (!(v > 0.0f)) /* also NaN */
    return 0;
  if (v >= 1.0f)
    return 255;
  return (guint8) lrintf (v * 255.0f);
}

static inline guint8
clamp_byte (gint32 v)
{
  return (guint8) CLAMP (v, 0, 255);
}

void
hg_jpeg_round_trip (const float *in,
                    int          width,
                    int          height,
                    int          quality,
                    float       *out)
{
  gsize plane = (gsize) width * height;
  /* 4:2:0: luma in blocks of 8, chroma at half resolution in blocks of 8. */
  int   chroma_w = (width + 1) / 2, chroma_h = (height + 1) / 2;
  int   luma_bw = (width + 7) / 8, luma_bh = (height + 7) / 8;
  int   chroma_bw = (chroma_w + 7) / 8, chroma_bh = (chroma_h + 7) / 8;
  gsize luma_stride = (gsize) luma_bw * 8, chroma_stride = (gsize) chroma_bw * 8;
  /* Columns of full-resolution chroma the downsampler reads: libjpeg
   * replicates the last column out to twice the padded chroma width. */
  int     wide_w = chroma_bw * 16, wide_h = height + (height & 1);
  double  luma_qt[64], chroma_qt[64];
  guint8 *y_plane, *cb_plane, *cr_plane, *cb_full, *cr_full;
  int     rows[2];

  g_return_if_fail (in != NULL && out != NULL);
  g_return_if_fail (width > 0 && height > 0 && width <= 16384 && height <= 16384);

  init_dct ();
  scale_table (luma_table, quality, luma_qt);
  scale_table (chroma_table, quality, chroma_qt);

  y_plane = g_new (guint8, luma_stride * luma_bh * 8);
  cb_plane = g_new (guint8, chroma_stride * chroma_bh * 8);
  cr_plane = g_new (guint8, chroma_stride * chroma_bh * 8);
  cb_full = g_new (guint8, (gsize) wide_w * wide_h);
  cr_full = g_new (guint8, (gsize) wide_w * wide_h);

  /* RGB → YCbCr on 8-bit samples (jccolor.c rgb_ycc_convert). */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        gsize  i = (gsize) y * width + x;
        gint32 r = byte_of (in[i]), g = byte_of (in[plane + i]), b = byte_of (in[2 * plane + i]);
        gint32 offset = ((gint32) 128 << SCALEBITS) + ONE_HALF - 1;

        y_plane[y * luma_stride + x] = (guint8) ((FIX (0.29900) * r + FIX (0.58700) * g + FIX (0.11400) * b + ONE_HALF) >> SCALEBITS);
        cb_full[y * wide_w + x] = (guint8) ((-FIX (0.16874) * r - FIX (0.33126) * g + FIX (0.5) * b + offset) >> SCALEBITS);
        cr_full[y * wide_w + x] = (guint8) ((FIX (0.5) * r - FIX (0.41869) * g - FIX (0.08131) * b + offset) >> SCALEBITS);
      }

  /* Edge replication: right edge on the full-resolution samples, bottom
   * edge to an even row count (jcsample.c expand_right_edge,
   * jcprepct.c expand_bottom_edge). */
  for (int y = 0; y < height; y++)
    {
      memset (y_plane + y * luma_stride + width, y_plane[y * luma_stride + width - 1], luma_stride - width);
      memset (cb_full + y * wide_w + width, cb_full[y * wide_w + width - 1], wide_w - width);
      memset (cr_full + y * wide_w + width, cr_full[y * wide_w + width - 1], wide_w - width);
    }
  if (height & 1)
    {
      memcpy (cb_full + (gsize) height * wide_w, cb_full + (gsize) (height - 1) * wide_w, wide_w);
      memcpy (cr_full + (gsize) height * wide_w, cr_full + (gsize) (height - 1) * wide_w, wide_w);
    }
  for (int y = height; y < luma_bh * 8; y++)
    memcpy (y_plane + y * luma_stride, y_plane + (height - 1) * luma_stride, luma_stride);

  /* 2×2 averaging with libjpeg's alternating 1, 2 rounding bias
   * (jcsample.c h2v2_downsample), then bottom padding of whole blocks. */
  for (int cy = 0; cy < chroma_h; cy++)
    {
      const guint8 *cb0 = cb_full + (gsize) 2 * cy * wide_w, *cb1 = cb0 + wide_w;
      const guint8 *cr0 = cr_full + (gsize) 2 * cy * wide_w, *cr1 = cr0 + wide_w;
      int           bias = 1;

      for (int cx = 0; cx < (int) chroma_stride; cx++)
        {
          cb_plane[cy * chroma_stride + cx] = (guint8) ((cb0[2 * cx] + cb0[2 * cx + 1] + cb1[2 * cx] + cb1[2 * cx + 1] + bias) >> 2);
          cr_plane[cy * chroma_stride + cx] = (guint8) ((cr0[2 * cx] + cr0[2 * cx + 1] + cr1[2 * cx] + cr1[2 * cx + 1] + bias) >> 2);
          bias ^= 3;
        }
    }
  for (int cy = chroma_h; cy < chroma_bh * 8; cy++)
    {
      memcpy (cb_plane + cy * chroma_stride, cb_plane + (chroma_h - 1) * chroma_stride, chroma_stride);
      memcpy (cr_plane + cy * chroma_stride, cr_plane + (chroma_h - 1) * chroma_stride, chroma_stride);
    }

  code_plane (y_plane, luma_bw, luma_bh, luma_qt);
  code_plane (cb_plane, chroma_bw, chroma_bh, chroma_qt);
  code_plane (cr_plane, chroma_bw, chroma_bh, chroma_qt);

  /* Triangular ("fancy") 2×2 upsampling (jdsample.c h2v2_fancy_upsample):
   * each output sample weighs its nearest chroma sample 9/16, the two
   * next 3/16 and the diagonal one 1/16; the image's edge rows and columns
   * are replicated. Then YCbCr → RGB (jdcolor.c ycc_rgb_convert). */
  for (int y = 0; y < height; y++)
    {
      int cy = y / 2;

      rows[0] = cy;
      rows[1] = (y & 1) ? MIN (cy + 1, chroma_h - 1) : MAX (cy - 1, 0);

      for (int x = 0; x < width; x++)
        {
          int     cx = x / 2;
          int     side = (x & 1) ? MIN (cx + 1, chroma_w - 1) : MAX (cx - 1, 0);
          gint32  sums[2][2]; /* [cb, cr][this column, side column] */
          gint32  cb, cr, luma;
          gsize   i = (gsize) y * width + x;
          guint8 *planes[2] = { cb_plane, cr_plane };

          for (int c = 0; c < 2; c++)
            {
              const guint8 *near = planes[c] + rows[0] * chroma_stride;
              const guint8 *far = planes[c] + rows[1] * chroma_stride;

              sums[c][0] = near[cx] * 3 + far[cx];
              sums[c][1] = near[side] * 3 + far[side];
            }
          /* Even columns round with +8, odd ones with +7, as libjpeg. */
          cb = (sums[0][0] * 3 + sums[0][1] + ((x & 1) ? 7 : 8)) >> 4;
          cr = (sums[1][0] * 3 + sums[1][1] + ((x & 1) ? 7 : 8)) >> 4;
          cb -= 128;
          cr -= 128;
          luma = y_plane[y * luma_stride + x];

          out[i] = clamp_byte (luma + ((FIX (1.40200) * cr + ONE_HALF) >> SCALEBITS)) / 255.0f;
          out[plane + i] = clamp_byte (luma + ((-FIX (0.34414) * cb + ONE_HALF - FIX (0.71414) * cr) >> SCALEBITS)) / 255.0f;
          out[2 * plane + i] = clamp_byte (luma + ((FIX (1.77200) * cb + ONE_HALF) >> SCALEBITS)) / 255.0f;
        }
    }

  g_free (y_plane);
  g_free (cb_plane);
  g_free (cr_plane);
  g_free (cb_full);
  g_free (cr_full);
}
