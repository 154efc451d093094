/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The simple input transforms of hg-defense.h: median filter, Gaussian blur,
 * bit-depth reduction and Gaussian noise. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-defense.h"

#include "hg-rng-private.h"

/* hg_rng_init() stream tags of the defences (attacks use their own). */
#define HG_RNG_STREAM_NOISE G_GUINT64_CONSTANT (0x6e6f697365) /* "noise" */

/* Mirrors an index into [0, n): (d c b a | a b c d), as scipy's "reflect". */
static inline int
mirror (int i,
        int n)
{
  if (n == 1)
    return 0;
  for (;;)
    {
      if (i < 0)
        i = -i - 1;
      else if (i >= n)
        i = 2 * n - i - 1;
      else
        return i;
    }
}

/* Hoare's selection: the k-th smallest of v[0..n), reordering v. */
static float
select_kth (float *v,
            int    n,
            int    k)
{
  int lo = 0, hi = n - 1;

  while (hi > lo)
    {
      float pivot = v[(lo + hi) / 2];
      int   i = lo, j = hi;

      while (i <= j)
        {
          while (v[i] < pivot)
            i++;
          while (v[j] > pivot)
            j--;
          if (i <= j)
            {
              float t = v[i];

              v[i++] = v[j];
              v[j--] = t;
            }
        }
      if (k <= j)
        hi = j;
      else if (k >= i)
        lo = i;
      else
        break;
    }
  return v[k];
}

#define SORT2(a, b)     \
  G_STMT_START          \
  {                     \
    if ((a) > (b))      \
      {                 \
        float t_ = (a); \
        (a) = (b);      \
        (b) = t_;       \
      }                 \
  }                     \
  G_STMT_END

/* The median of nine by the 19-exchange network of Paeth (Graphics Gems,
 * 1990): no branches to mispredict, ten times quicker than sorting. */
static inline float
median9 (float *p)
{
  SORT2 (p[1], p[2]);
  SORT2 (p[4], p[5]);
  SORT2 (p[7], p[8]);
  SORT2 (p[0], p[1]);
  SORT2 (p[3], p[4]);
  SORT2 (p[6], p[7]);
  SORT2 (p[1], p[2]);
  SORT2 (p[4], p[5]);
  SORT2 (p[7], p[8]);
  SORT2 (p[0], p[3]);
  SORT2 (p[5], p[8]);
  SORT2 (p[4], p[7]);
  SORT2 (p[3], p[6]);
  SORT2 (p[1], p[4]);
  SORT2 (p[2], p[5]);
  SORT2 (p[4], p[7]);
  SORT2 (p[4], p[2]);
  SORT2 (p[6], p[4]);
  SORT2 (p[4], p[2]);
  return p[4];
}

void
hg_median_filter (const float *in,
                  int          width,
                  int          height,
                  int          k,
                  float       *out)
{
  gsize             plane = (gsize) width * height;
  int               r = k / 2;
  float             window[15 * 15];
  g_autofree int   *cols = NULL;
  g_autofree gsize *rows = NULL;

  g_return_if_fail (k >= 1 && k <= 15 && (k & 1) == 1);
  g_return_if_fail (width > 0 && height > 0);

  /* Mirrored offsets of every column and row the windows reach. */
  cols = g_new (int, width + 2 * r);
  rows = g_new (gsize, height + 2 * r);
  for (int i = -r; i < width + r; i++)
    cols[i + r] = mirror (i, width);
  for (int i = -r; i < height + r; i++)
    rows[i + r] = (gsize) mirror (i, height) * width;

  for (int c = 0; c < 3; c++)
    {
      const float *src = in + c * plane;
      float       *dst = out + c * plane;

      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            int n = 0;

            for (int dy = 0; dy < k; dy++)
              {
                const float *row = src + rows[y + dy];

                for (int dx = 0; dx < k; dx++)
                  window[n++] = row[cols[x + dx]];
              }
            if (n == 9)
              dst[(gsize) y * width + x] = median9 (window);
            else if (n == 1)
              dst[(gsize) y * width + x] = window[0];
            else
              dst[(gsize) y * width + x] = select_kth (window, n, n / 2);
          }
    }
}

/* Normalised Gaussian taps w[-radius..radius], radius = ceil(4σ). */
static float *
gaussian_kernel (double sigma,
                 int   *radius_out)
{
  int    radius = MAX (1, (int) ceil (4.0 * sigma));
  float *w = g_new (float, 2 * radius + 1);
  double sum = 0;

  for (int i = -radius; i <= radius; i++)
    sum += exp (-0.5 * i * i / (sigma * sigma));
  for (int i = -radius; i <= radius; i++)
    w[i + radius] = (float) (exp (-0.5 * i * i / (sigma * sigma)) / sum);
  *radius_out = radius;
  return w;
}

/* One 1-D pass along rows or columns of a single plane. */
static void
blur_pass (const float *src,
           int          width,
           int          height,
           gboolean     horizontal,
           const float *w,
           int          radius,
           float       *dst)
{
  int len = horizontal ? width : height;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        int   pos = horizontal ? x : y;
        float acc = 0;

        for (int t = -radius; t <= radius; t++)
          {
            int m = mirror (pos + t, len);

            acc += w[t + radius] * src[horizontal ? (gsize) y * width + m : (gsize) m * width + x];
          }
        dst[(gsize) y * width + x] = acc;
      }
}

static void
blur (const float *in,
      int          width,
      int          height,
      double       sigma,
      gboolean     clamp,
      float       *out)
{
  gsize  plane = (gsize) width * height;
  int    radius;
  float *w, *tmp;

  g_return_if_fail (sigma > 0 && sigma <= 10);
  g_return_if_fail (width > 0 && height > 0);

  w = gaussian_kernel (sigma, &radius);
  tmp = g_new (float, plane);
  for (int c = 0; c < 3; c++)
    {
      blur_pass (in + c * plane, width, height, TRUE, w, radius, tmp);
      blur_pass (tmp, width, height, FALSE, w, radius, out + c * plane);
    }
  /* Each output is a convex combination of inputs, but the float taps sum
   * to 1 only up to rounding: a white image came out at 1 + 2⁻²³ (found
   * by fuzz/fuzz-defense). Images stay in [0,1]; gradients are not
   * clamped. */
  if (clamp)
    for (gsize i = 0; i < 3 * plane; i++)
      out[i] = CLAMP (out[i], 0.0f, 1.0f);
  g_free (tmp);
  g_free (w);
}

void
hg_gaussian_blur (const float *in,
                  int          width,
                  int          height,
                  double       sigma,
                  float       *out)
{
  blur (in, width, height, sigma, TRUE, out);
}

void
hg_gaussian_blur_backward (const float *grad_out,
                           int          width,
                           int          height,
                           double       sigma,
                           float       *grad_in)
{
  /* Mirroring without repeating the edge sample ("d c b a | a b c d")
   * makes each 1-D pass a symmetric matrix: tap t from i lands on
   * j = −i − t − 1, and tap −i − j − 1 from j lands back on i with the
   * same weight. The blur is its own transpose. */
  blur (grad_out, width, height, sigma, FALSE, grad_in);
}

void
hg_bit_depth_reduce (const float *in,
                     gsize        n,
                     int          bits,
                     float       *out)
{
  float levels;

  g_return_if_fail (bits >= 1 && bits <= 8);

  levels = (float) ((1 << bits) - 1);
  for (gsize i = 0; i < n; i++)
    {
      float v = CLAMP (in[i], 0.0f, 1.0f);

      out[i] = rintf (v * levels) / levels;
    }
}

void
hg_gaussian_noise (const float *in,
                   gsize        n,
                   double       sigma,
                   guint64      seed,
                   guint64      stream,
                   float       *out)
{
  HgRng rng;
  float scale = (float) (sigma / 255.0);

  hg_rng_init (&rng, seed, HG_RNG_STREAM_NOISE, stream);
  for (gsize i = 0; i < n; i += 2)
    {
      /* Box–Muller: two independent normals per pair of uniforms. */
      double u1 = 1.0 - hg_rng_uniform (&rng); /* (0, 1]: log is finite */
      double u2 = hg_rng_uniform (&rng);
      double r = sqrt (-2.0 * log (u1));

      out[i] = CLAMP (in[i] + scale * (float) (r * cos (2.0 * G_PI * u2)), 0.0f, 1.0f);
      if (i + 1 < n)
        out[i + 1] = CLAMP (in[i + 1] + scale * (float) (r * sin (2.0 * G_PI * u2)), 0.0f, 1.0f);
    }
}
