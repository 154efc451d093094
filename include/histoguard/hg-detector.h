/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "hg-defense.h"
#include "hg-model.h"

G_BEGIN_DECLS

/* Feature squeezing (Xu, Evans & Qi, NDSS 2018): an input is flagged as
 * adversarial when "squeezing" it (reducing its bit depth, smoothing it)
 * moves the model's prediction much. The score of an input x is
 *
 *   max over squeezers s of ‖softmax(M(x)) − softmax(M(s(x)))‖₁  ∈ [0, 2],
 *
 * and x is flagged when the score exceeds a threshold chosen on clean
 * inputs for a target false-positive rate. Each squeezer is a defence
 * chain (hg-defense.h). */

typedef struct _HgDetector HgDetector;

/* squeezers: a comma-separated list of defences, e.g. "bits:5,median:3"
 * (the default of Histoguard, after Xu et al.'s colour-image settings). */
#define HG_DETECTOR_DEFAULT_SQUEEZERS "bits:5,median:3"

HgDetector *hg_detector_new (const char *squeezers,
                             GError    **error);
HgDetector *hg_detector_ref (HgDetector *detector);
void        hg_detector_unref (HgDetector *detector);

/* The canonical list, e.g. "bits:5,median:3". */
const char *hg_detector_get_spec (HgDetector *detector);

/* Scores n inputs (n × 3 × H × W of the model's input size) with the model
 * of ctx. probs (n × K, may be NULL) are the model's probabilities on x
 * when the caller has them already, which saves one forward pass.
 * Randomised squeezers draw from seed. */
gboolean hg_detector_score (HgDetector  *detector,
                            HgContext   *ctx,
                            const float *x,
                            int          n,
                            const float *probs,
                            guint64      seed,
                            float       *scores,
                            GError     **error);

/* The smallest threshold that flags at most fpr · n of these clean
 * scores (scores above it are flagged), and sets it on the detector. */
double   hg_detector_calibrate (HgDetector  *detector,
                                const float *clean_scores,
                                gsize        n,
                                double       fpr);
double   hg_detector_get_threshold (HgDetector *detector);
void     hg_detector_set_threshold (HgDetector *detector,
                                    double      threshold);
gboolean hg_detector_is_flagged (HgDetector *detector,
                                 float       score);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgDetector, hg_detector_unref)

G_END_DECLS
