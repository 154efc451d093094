/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Training-time augmentation of planar RGB patches in [0,1].
 *
 * Histopathology has no preferred orientation, so the eight flips and
 * 90° rotations are free; H&E staining varies between labs and scanners,
 * which a mild jitter of the stain concentrations imitates (Tellez et al.,
 * "Whole-slide mitosis detection in H&E breast histology…", 2018): the
 * pixel's optical density is deconvolved into haematoxylin, eosin and DAB
 * (Ruifrok & Johnston's matrix), each concentration c becomes
 * c·(1 + a) + b with a ~ U(−stain_scale, stain_scale) and
 * b ~ U(−stain_shift, stain_shift) (optical density units, natural log),
 * and the result is recomposed and clamped to [0,1].
 *
 * Everything is a function of (seed, index) only: the same sample at the
 * same step is transformed identically whatever thread does it. */
typedef struct
{
  gboolean flip;        /* random horizontal flip */
  gboolean rotate;      /* random multiple of 90° (square images; else 180° only) */
  float    stain_scale; /* 0 disables the stain jitter */
  float    stain_shift;
} HgAugment;

/* Mild: what the shipped models were trained with. */
#define HG_AUGMENT_INIT_DEFAULT \
  {                             \
    TRUE, TRUE, 0.05f, 0.02f    \
  }

/* Transforms chw (3 × height × width) in place. */
void hg_augment_apply (const HgAugment *augment,
                       guint64          seed,
                       guint64          index,
                       float           *chw,
                       int              width,
                       int              height);

G_END_DECLS
