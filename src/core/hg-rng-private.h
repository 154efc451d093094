/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A tiny counter-friendly generator (SplitMix64). Everything seeded in
 * Histoguard's data path goes through it, so a seed gives the same
 * shuffles and augmentations on every platform and thread count. */
typedef struct
{
  guint64 state;
} HgRng;

static inline guint64
hg_rng_mix (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A generator for one (seed, stream, index) triple: independent streams
 * without shared state, e.g. one per sample and epoch. */
static inline void
hg_rng_init (HgRng  *rng,
             guint64 seed,
             guint64 stream,
             guint64 index)
{
  rng->state = hg_rng_mix (seed ^ hg_rng_mix (stream + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) * (index + 1)));
}

static inline guint64
hg_rng_next (HgRng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return hg_rng_mix (rng->state);
}

/* Uniform in [0, 1). */
static inline double
hg_rng_uniform (HgRng *rng)
{
  return (hg_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply, unbiased enough for
 * n far below 2^32). */
static inline guint32
hg_rng_below (HgRng  *rng,
              guint32 n)
{
  return (guint32) (((hg_rng_next (rng) >> 32) * (guint64) n) >> 32);
}

/* Fisher–Yates shuffle of n indices. */
static inline void
hg_rng_shuffle (HgRng *rng,
                guint *v,
                guint  n)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = hg_rng_below (rng, i);
      guint t = v[i - 1];

      v[i - 1] = v[j];
      v[j] = t;
    }
}

G_END_DECLS
