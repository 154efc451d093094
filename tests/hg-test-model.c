/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "hg-test-model.h"

#define SIZE 50

static guint64
next (guint64 *s)
{
  guint64 z = (*s += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double
unit (guint64 *s)
{
  return (next (s) >> 11) * (1.0 / 9007199254740992.0);
}

void
hg_test_synthetic_patches (guint64 seed,
                           int     n,
                           float  *x,
                           int    *labels)
{
  static const float stroma[3] = { 0.93f, 0.72f, 0.86f };
  static const float nucleus[3] = { 0.42f, 0.24f, 0.58f };
  guint64            s = seed;

  for (int i = 0; i < n; i++)
    {
      float *img = x + (gsize) i * 3 * SIZE * SIZE;
      int    label = (int) (next (&s) & 1);
      int    blobs = label ? 22 + (int) (unit (&s) * 10) : 4 + (int) (unit (&s) * 6);

      labels[i] = label;
      for (int c = 0; c < 3; c++)
        for (int p = 0; p < SIZE * SIZE; p++)
          img[c * SIZE * SIZE + p] = stroma[c] + (float) (unit (&s) - 0.5) * 0.08f;

      for (int b = 0; b < blobs; b++)
        {
          double cx = unit (&s) * SIZE, cy = unit (&s) * SIZE, r = 2.0 + unit (&s) * 2.5;

          for (int y = (int) MAX (0, cy - r); y < MIN (SIZE, cy + r + 1); y++)
            for (int xx = (int) MAX (0, cx - r); xx < MIN (SIZE, cx + r + 1); xx++)
              if ((xx - cx) * (xx - cx) + (y - cy) * (y - cy) <= r * r)
                for (int c = 0; c < 3; c++)
                  img[c * SIZE * SIZE + y * SIZE + xx] = nucleus[c];
        }
    }
}

HgModel *
hg_test_model_make (void)
{
  static const float       mean[3] = { 0.80f, 0.62f, 0.79f };
  static const float       std[3] = { 0.15f, 0.20f, 0.13f };
  static const char *const classes[] = { "non-IDC", "IDC", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgOptimizer) opt = NULL;
  enum
  {
    BATCH = 32
  };
  g_autofree float *x = g_new (float, BATCH * 3 * SIZE * SIZE);
  int               labels[BATCH];

  model = hg_model_new_from_arch (HG_TEST_MODEL_ARCH, HG_TEST_MODEL_SEED, &error);
  g_assert_no_error (error);
  hg_model_set_normalization (model, mean, std, &error);
  g_assert_no_error (error);
  hg_model_set_class_names (model, classes, &error);
  g_assert_no_error (error);

  /* One thread: the same bytes on every run of this machine. */
  hg_threads_set (1, 1);
  ctx = hg_context_new (model);
  hg_context_set_seed (ctx, 1);
  opt = hg_optimizer_new_sgd (model, 0.05f, 0.9f, 0.0f, FALSE);
  for (int step = 0; step < HG_TEST_MODEL_STEPS; step++)
    {
      hg_test_synthetic_patches (1000 + step, BATCH, x, labels);
      hg_model_train_step (ctx, opt, x, BATCH, labels);
    }
  hg_threads_set (0, 0);

  hg_model_set_metadata (model, "command", "tests/make-test-model (see tests/hg-test-model.c)");
  hg_model_set_metadata (model, "data", "synthetic H&E-like patches (tests/hg-test-model.c)");
  hg_model_set_metadata (model, "seed", G_STRINGIFY (HG_TEST_MODEL_SEED));
  hg_model_set_metadata (model, "steps", G_STRINGIFY (HG_TEST_MODEL_STEPS));
  return g_steal_pointer (&model);
}
