/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writes tests/data/idc-tiny.safetensors, the small model the attack and
 * evaluation tests use:
 *
 *   _build/tests/make-idc-tiny-model tests/data/idc/patches tests/data/idc-tiny.safetensors
 *
 * Unlike tiny-cnn.safetensors (trained on synthetic blobs, which it
 * separates with a wide margin), this one is trained on the committed real
 * IDC patches, and is as fragile as real classifiers are: that is what
 * attacks, and defences that seem to help, must be tested on. It is
 * trained and tested on the same 67 patches, which is fine for checking
 * attacks and wrong for anything else. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "histoguard/histoguard.h"

#define ARCH "cnn:width=8,dropout=0"
#define SEED 1
#define STEPS 400
#define BATCH 32

int
main (int   argc,
      char *argv[])
{
  static const float       mean[3] = { 0.80f, 0.62f, 0.79f };
  static const float       std[3] = { 0.15f, 0.20f, 0.13f };
  static const char *const classes[] = { "non-IDC", "IDC", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) data = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autofree float *x = NULL;
  int               labels[BATCH];
  HgOptimizer      *opt;
  GRand            *rand;
  guint             n;
  gsize             floats = 3 * 50 * 50;

  if (argc != 3)
    {
      fprintf (stderr, "Usage: make-idc-tiny-model PATCHES-DIR OUTPUT.safetensors\n");
      return 2;
    }

  data = hg_dataset_open (argv[1], HG_DATASET_LAYOUT_IDC, HG_DATASET_ON_ERROR_FAIL, &error);
  if (data == NULL || !hg_dataset_load (data, 50, 50, 1, HG_DATASET_ON_ERROR_FAIL, NULL, &error))
    {
      fprintf (stderr, "make-idc-tiny-model: %s\n", error->message);
      return 1;
    }
  n = hg_dataset_get_n_samples (data);

  model = hg_model_new_from_arch (ARCH, SEED, &error);
  g_assert_no_error (error);
  hg_model_set_normalization (model, mean, std, &error);
  g_assert_no_error (error);
  hg_model_set_class_names (model, classes, &error);
  g_assert_no_error (error);

  /* One thread: the same bytes on every run of this machine. */
  hg_threads_set (1, 1);
  ctx = hg_context_new (model);
  hg_context_set_seed (ctx, SEED);
  opt = hg_optimizer_new_sgd (model, 0.02f, 0.9f, 0.0f, FALSE);
  rand = g_rand_new_with_seed (SEED);
  x = g_new (float, BATCH *floats);
  for (int step = 0; step < STEPS; step++)
    {
      for (int i = 0; i < BATCH; i++)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) n);

          memcpy (x + i * floats, hg_dataset_get_pixels (data, j), floats * sizeof (float));
          labels[i] = hg_dataset_get_sample (data, j)->label;
        }
      hg_model_train_step (ctx, opt, x, BATCH, labels);
    }
  g_rand_free (rand);
  hg_optimizer_free (opt);

  hg_model_set_metadata (model, "command", "tests/make-idc-tiny-model tests/data/idc/patches OUT");
  hg_model_set_metadata (model, "data", "the 67 committed IDC patches of tests/data/idc (train = test)");
  hg_model_set_metadata (model, "seed", G_STRINGIFY (SEED));
  hg_model_set_metadata (model, "steps", G_STRINGIFY (STEPS));
  if (!hg_model_save (model, argv[2], &error))
    {
      fprintf (stderr, "make-idc-tiny-model: %s\n", error->message);
      return 1;
    }
  return 0;
}
