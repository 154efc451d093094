/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-colormap.h"
#include "hg-image.h"
#include "hg-metrics.h"
#include "hg-model.h"
#include "hg-tiling.h"

G_BEGIN_DECLS

/* What a classifier says about every tile of a slide: per-tile class
 * probabilities over an HgTiling, filled in batch by batch.
 *
 * hg_heatmap_run() reads the tiles in batches (in parallel, on the engine's
 * worker pool), hands each batch to a batch function — by default
 * hg_heatmap_predict_batch(), the model's softmax; the adversarial explorer
 * passes one that attacks first — and stores what it returns. Every
 * accessor may be called from any thread while a run fills the heatmap:
 * tiles not predicted yet read as NaN.
 *
 * The "score" of a tile is the probability of the positive class (IDC);
 * its label is the most probable class. */

typedef struct _HgHeatmap HgHeatmap;

/* Tiles read and classified at once. */
#define HG_HEATMAP_BATCH 128

/* Fills probs (n × classes) for the n tiles in x (n × 3 × H × W, the
 * tiling's input size). Runs on the thread of hg_heatmap_run(). */
typedef gboolean (*HgTileBatchFunc) (const float *x,
                                     int          n,
                                     float       *probs,
                                     gpointer     user_data,
                                     GError     **error);
/* done of total tiles are stored. */
typedef void (*HgHeatmapProgressFunc) (gsize    done,
                                       gsize    total,
                                       gpointer user_data);

/* class_names: n_classes names; positive_class is the one scored. */
HgHeatmap *hg_heatmap_new (HgTiling          *tiling,
                           int                n_classes,
                           const char *const *class_names,
                           int                positive_class);
/* The model's classes; the positive one is "IDC" when a class has that
 * name, else the last. */
HgHeatmap *hg_heatmap_new_for_model (HgTiling *tiling,
                                     HgModel  *model);
HgHeatmap *hg_heatmap_ref (HgHeatmap *heatmap);
void       hg_heatmap_unref (HgHeatmap *heatmap);

HgTiling   *hg_heatmap_get_tiling (HgHeatmap *heatmap);
int         hg_heatmap_get_n_classes (HgHeatmap *heatmap);
const char *hg_heatmap_get_class_name (HgHeatmap *heatmap,
                                       int        index);
int         hg_heatmap_get_positive_class (HgHeatmap *heatmap);
/* Free text kept with the results (the model's name, for exports). */
const char *hg_heatmap_get_model_name (HgHeatmap *heatmap);
void        hg_heatmap_set_model_name (HgHeatmap  *heatmap,
                                       const char *name);

gsize    hg_heatmap_get_n_done (HgHeatmap *heatmap);
gboolean hg_heatmap_is_complete (HgHeatmap *heatmap);
/* Seconds the last complete run took (reading and inference). */
double hg_heatmap_get_seconds (HgHeatmap *heatmap);

/* Stores the probabilities of tiles first … first + n - 1. */
void hg_heatmap_set_probabilities (HgHeatmap   *heatmap,
                                   gsize        first,
                                   gsize        n,
                                   const float *probs);
/* FALSE (probs untouched) until the tile is predicted. */
gboolean hg_heatmap_get_probabilities (HgHeatmap *heatmap,
                                       gsize      index,
                                       float     *probs);
float    hg_heatmap_get_score (HgHeatmap *heatmap,
                               gsize      index);
/* The most probable class, or -1 before the tile is predicted. */
int hg_heatmap_get_label (HgHeatmap *heatmap,
                          gsize      index);
/* Every tile's score, NaN where not predicted: n_tiles floats. */
void hg_heatmap_copy_scores (HgHeatmap *heatmap,
                             float     *scores);

/* Accuracy, balanced accuracy and AUC (hg-metrics.h) over the predicted
 * tiles that have a ground truth; FALSE when there are none. */
gboolean hg_heatmap_compute_metrics (HgHeatmap *heatmap,
                                     HgMetrics *metrics);

/* An HgTileBatchFunc: user_data is an HgContext of the model. */
gboolean hg_heatmap_predict_batch (const float *x,
                                   int          n,
                                   float       *probs,
                                   gpointer     user_data,
                                   GError     **error);

/* Predicts every tile not done yet, batch_size (0: HG_HEATMAP_BATCH) at a
 * time; progress (may be NULL) is called on this thread after each batch.
 * On cancellation returns FALSE with HG_ERROR_CANCELLED, keeping the
 * batches done so far. */
gboolean hg_heatmap_run (HgHeatmap            *heatmap,
                         HgTileBatchFunc       func,
                         gpointer              func_data,
                         int                   batch_size,
                         HgHeatmapProgressFunc progress,
                         gpointer              progress_data,
                         GCancellable         *cancellable,
                         GError              **error);
/* The same on a thread of its own. progress is called in the thread-
 * default main context of the caller, at most once per batch (coalesced
 * when the main loop is slower than the batches); func_data is freed with
 * func_data_free once the run is over. */
void     hg_heatmap_run_async (HgHeatmap            *heatmap,
                               HgTileBatchFunc       func,
                               gpointer              func_data,
                               GDestroyNotify        func_data_free,
                               int                   batch_size,
                               HgHeatmapProgressFunc progress,
                               gpointer              progress_data,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data);
gboolean hg_heatmap_run_finish (HgHeatmap    *heatmap,
                                GAsyncResult *result,
                                GError      **error);

/* ---- exports (hg-heatmap-export.c) ------------------------------------- */

/* One line per tile: x,y,width,height,probability,label,ground_truth
 * (level-0 pixels; probability of the positive class; label and ground
 * truth as class indices, ground_truth empty when unknown). */
char    *hg_heatmap_to_csv (HgHeatmap *heatmap);
gboolean hg_heatmap_save_csv (HgHeatmap  *heatmap,
                              const char *path,
                              GError    **error);
/* A GeoJSON FeatureCollection that QuPath imports as detections: one
 * Polygon feature per predicted tile with properties objectType
 * "detection", classification {name, color} and measurements
 * {"Probability <class>": p, …}. */
char    *hg_heatmap_to_geojson (HgHeatmap *heatmap);
gboolean hg_heatmap_save_geojson (HgHeatmap  *heatmap,
                                  const char *path,
                                  GError    **error);

typedef struct
{
  HgColormap colormap;
  double     opacity;    /* of the tile colours over the tissue, 0…1 */
  double     threshold;  /* outline tiles scoring at least this; NaN: none */
  gboolean   show_truth; /* outline the tiles whose ground truth is positive */
  gboolean   legend;     /* a legend panel on the right */
} HgHeatmapStyle;

void hg_heatmap_style_init (HgHeatmapStyle *style);
/* The slide's overview, at most max_size pixels a side, with the scores
 * drawn over it and, with style->legend, a legend with the scale. */
HgImage *hg_heatmap_render (HgHeatmap            *heatmap,
                            const HgHeatmapStyle *style,
                            int                   max_size,
                            GError              **error);
gboolean hg_heatmap_save_png (HgHeatmap            *heatmap,
                              const HgHeatmapStyle *style,
                              int                   max_size,
                              const char           *path,
                              GError              **error);

/* Colours of the outlines, as 0xRRGGBB: the threshold outline and the
 * ground truth, chosen to stand out against every colour map. */
#define HG_HEATMAP_THRESHOLD_COLOR 0xffffff
#define HG_HEATMAP_TRUTH_COLOR 0x00e0ff

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgHeatmap, hg_heatmap_unref)

G_END_DECLS
