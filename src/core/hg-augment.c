/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-augment.h"

#include "hg-rng-private.h"

/* Stream tag so augmentation draws never coincide with other seeded uses. */
#define AUGMENT_STREAM 0xa06e

/* Ruifrok & Johnston's stain vectors (rows: haematoxylin, eosin, DAB) as
 * optical density per RGB channel, and their inverse (as scikit-image). */
static const float rgb_from_hed[3][3] = {
  { 0.65f, 0.70f, 0.29f },
  { 0.07f, 0.99f, 0.11f },
  { 0.27f, 0.57f, 0.78f },
};
static const float hed_from_rgb[3][3] = {
  { 1.877982737f, -1.007678686f, -0.556115818f },
  { -0.065908062f, 1.134730372f, -0.135521799f },
  { -0.601907363f, -0.480414188f, 1.573588072f },
};

/* Smallest intensity before the logarithm: keeps black pixels finite. */
#define MIN_INTENSITY 1e-6f

static void
dihedral (float   *chw,
          int      width,
          int      height,
          int      rotation, /* quarter turns clockwise */
          gboolean flip)
{
  gsize             plane = (gsize) width * height;
  g_autofree float *src = g_memdup2 (chw, 3 * plane * sizeof (float));

  for (int c = 0; c < 3; c++)
    {
      const float *in = src + c * plane;
      float       *out = chw + c * plane;

      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            int xf = flip ? width - 1 - x : x;
            int sy, sx;

            /* out(y, x) = in after rotating, then flipping horizontally;
             * quarter turns only reach here for square images. */
            switch (rotation)
              {
              case 1:
                sy = width - 1 - xf;
                sx = y;
                break;
              case 2:
                sy = height - 1 - y;
                sx = width - 1 - xf;
                break;
              case 3:
                sy = xf;
                sx = height - 1 - y;
                break;
              default:
                sy = y;
                sx = xf;
                break;
              }
            out[(gsize) y * width + x] = in[(gsize) sy * width + sx];
          }
    }
}

static void
stain_jitter (float      *chw,
              gsize       plane,
              const float scale[3],
              const float shift[3])
{
  float *r = chw, *g = chw + plane, *b = chw + 2 * plane;

  for (gsize i = 0; i < plane; i++)
    {
      float od[3], stain[3], out[3];

      od[0] = -logf (MAX (r[i], MIN_INTENSITY));
      od[1] = -logf (MAX (g[i], MIN_INTENSITY));
      od[2] = -logf (MAX (b[i], MIN_INTENSITY));
      for (int k = 0; k < 3; k++)
        stain[k] = (od[0] * hed_from_rgb[0][k] + od[1] * hed_from_rgb[1][k] + od[2] * hed_from_rgb[2][k]) * scale[k] + shift[k];
      for (int c = 0; c < 3; c++)
        {
          float v = expf (-(stain[0] * rgb_from_hed[0][c] + stain[1] * rgb_from_hed[1][c] + stain[2] * rgb_from_hed[2][c]));

          out[c] = v > 1.0f ? 1.0f : v;
        }
      r[i] = out[0];
      g[i] = out[1];
      b[i] = out[2];
    }
}

void
hg_augment_apply (const HgAugment *augment,
                  guint64          seed,
                  guint64          index,
                  float           *chw,
                  int              width,
                  int              height)
{
  HgRng    rng;
  int      rotation = 0;
  gboolean flip = FALSE;

  g_return_if_fail (augment != NULL && chw != NULL && width > 0 && height > 0);

  hg_rng_init (&rng, seed, AUGMENT_STREAM, index);

  /* Draw everything in a fixed order, used or not, so that one option
   * does not shift the random numbers of another. */
  {
    guint32 turn = hg_rng_below (&rng, 4);
    guint32 mirror = hg_rng_below (&rng, 2);
    float   scale[3], shift[3];

    for (int k = 0; k < 3; k++)
      {
        scale[k] = 1.0f + augment->stain_scale * (float) (2.0 * hg_rng_uniform (&rng) - 1.0);
        shift[k] = augment->stain_shift * (float) (2.0 * hg_rng_uniform (&rng) - 1.0);
      }

    if (augment->rotate)
      rotation = width == height ? (int) turn : (int) (turn & 2);
    if (augment->flip)
      flip = mirror != 0;
    if (rotation != 0 || flip)
      dihedral (chw, width, height, rotation, flip);

    if (augment->stain_scale > 0 || augment->stain_shift > 0)
      stain_jitter (chw, (gsize) width * height, scale, shift);
  }
}
