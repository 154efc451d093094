/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The small model in tests/data/tiny-cnn.safetensors, and how it was made:
 * `_build/tests/make-test-model tests/data/tiny-cnn.safetensors`. */
#pragma once

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

#define HG_TEST_MODEL_ARCH "cnn:width=8,dropout=0"
#define HG_TEST_MODEL_SEED 20240611
#define HG_TEST_MODEL_STEPS 80

/* n synthetic 50×50 H&E-like patches (pink stroma with purple nuclei;
 * label 1 = crowded nuclei), deterministic in seed. x: n×3×50×50. */
void hg_test_synthetic_patches (guint64 seed,
                                int     n,
                                float  *x,
                                int    *labels);
/* Builds the tiny model: HG_TEST_MODEL_ARCH initialised from
 * HG_TEST_MODEL_SEED, trained HG_TEST_MODEL_STEPS SGD steps on synthetic
 * patches on one thread, so that it classifies them (and attacks have
 * something to flip). */
HgModel *hg_test_model_make (void);

G_END_DECLS
