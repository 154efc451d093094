/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Total-variation denoising by Chambolle's dual projection algorithm
 * (A. Chambolle, "An algorithm for total variation minimization and
 * applications", J. Math. Imaging Vis. 20, 2004), one channel at a time.
 *
 * The (scaled) dual field p = (px, py) lives on forward differences; the
 * solution is u = f − div p, and each iteration is
 *   p ← (p − τ ∇u) / (1 + (τ/λ) |∇u|),  τ = 1/4,
 * the step that is proven to converge for 2-D images. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-defense.h"

#define TV_MAX_ITERATIONS 200
#define TV_TOLERANCE 2e-4

static void
tv_plane (const float *f,
          int          width,
          int          height,
          double       weight,
          float       *u,
          float       *px,
          float       *py)
{
  gsize  n = (gsize) width * height;
  double tau = 0.25, energy_first = 0, energy_last = 0;

  memset (px, 0, n * sizeof (float));
  memset (py, 0, n * sizeof (float));
  memcpy (u, f, n * sizeof (float));

  for (int it = 0; it < TV_MAX_ITERATIONS; it++)
    {
      double energy = 0;

      if (it > 0)
        {
          /* u = f − div p, div being minus the adjoint of ∇. */
          for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
              {
                gsize  i = (gsize) y * width + x;
                double div = px[i] + py[i];

                if (x > 0)
                  div -= px[i - 1];
                if (y > 0)
                  div -= py[i - width];
                u[i] = (float) (f[i] - div);
                energy += div * div;
              }
        }

      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            gsize  i = (gsize) y * width + x;
            double gx = x + 1 < width ? u[i + 1] - u[i] : 0.0;
            double gy = y + 1 < height ? u[i + width] - u[i] : 0.0;
            double norm = sqrt (gx * gx + gy * gy);

            energy += 2.0 * weight * norm;
            norm = 1.0 + tau / weight * norm;
            px[i] = (float) ((px[i] - tau * gx) / norm);
            py[i] = (float) ((py[i] - tau * gy) / norm);
          }

      /* Stop when the energy ½‖div p‖² + λ·TV(u) (up to a factor) settles. */
      energy /= (double) n;
      if (it == 0)
        energy_first = energy_last = energy;
      else if (fabs (energy_last - energy) < TV_TOLERANCE * energy_first)
        break;
      else
        energy_last = energy;
    }
}

void
hg_tv_denoise (const float *in,
               int          width,
               int          height,
               double       weight,
               float       *out)
{
  gsize  plane = (gsize) width * height;
  float *px, *py;

  g_return_if_fail (weight > 0 && weight <= 10);
  g_return_if_fail (width > 0 && height > 0);

  px = g_new (float, plane);
  py = g_new (float, plane);
  for (int c = 0; c < 3; c++)
    {
      float *u = out + c * plane;

      tv_plane (in + c * plane, width, height, weight, u, px, py);
      for (gsize i = 0; i < plane; i++)
        u[i] = CLAMP (u[i], 0.0f, 1.0f);
    }
  g_free (px);
  g_free (py);
}
