/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-attack.h"
#include "hg-defense.h"
#include "hg-detector.h"
#include "hg-model.h"
#include "hg-tiling.h"

G_BEGIN_DECLS

/* The live adversarial explorer's engine: attacks a set of tiles at any ε,
 * fast enough to follow a slider.
 *
 * Tiles are named by 64-bit keys (a tiling's tile index, say) and read on
 * demand through an HgLiveReadFunc, as planar [0,1] RGB of the models'
 * input size. A request names the tiles, the attack (FGSM, BIM or PGD, ε,
 * steps, goal) and up to HG_LIVE_MAX_PIPELINES pipelines: a model with an
 * optional defence chain in front of it (hg-defense.h) and an optional
 * feature-squeezing detector (hg-detector.h) watching what the model is
 * shown. Pipeline 0 is the reference, usually the undefended model. Each pipeline is attacked with
 * a perturbation crafted either
 *
 *   HG_LIVE_TRANSFER  against pipeline 0, then shown to this pipeline (the
 *                     defender's view of an attacker who does not know the
 *                     defence), or
 *   HG_LIVE_ADAPTIVE  against this pipeline itself, white box: gradients
 *                     pass through the defence's transforms by BPDA
 *                     (hg_defense_backward).
 *
 * For pipeline 0 both mean the same.
 *
 * FGSM: a tile's gradient sign is computed once per (pipeline, goal) and
 * kept; after that every ε costs one batched forward pass per pipeline,
 * x_adv = project(x + ε/255 · sign). Clean predictions are kept too.
 * BIM and PGD (hg_attack_run) run in chunks of tiles and deliver partial
 * results as they go.
 *
 * A tile "flips" when a pipeline's label at ε differs from its label on
 * the clean tile. Untargeted attacks push away from the pipeline's clean
 * label (the ground truth is not needed, and not used); the goals "towards
 * benign" and "towards malignant" push towards class 0 and the last class.
 *
 * Threads: one HgLiveAttack may be used from any thread. Computations are
 * serialised (one at a time, on the engine's worker pool, see
 * hg-threads.h). hg_live_attack_request() hands work to the attack's own
 * worker thread and returns at once: only the latest request is kept, a
 * request that is still running when a newer one arrives is cancelled, and
 * results reach the HgLiveResultFunc in the main context that was the
 * thread-default one when the HgLiveAttack was made. */

#define HG_LIVE_MAX_PIPELINES 4
/* The slider's range and the robustness map's search range, in 1/255. */
#define HG_LIVE_MAX_EPS 16.0
/* Tiles per request. */
#define HG_LIVE_MAX_TILES 65536

typedef enum
{
  HG_LIVE_GOAL_UNTARGETED, /* away from the clean label */
  HG_LIVE_GOAL_BENIGN,     /* towards class 0 */
  HG_LIVE_GOAL_MALIGNANT,  /* towards the last class */
} HgLiveGoal;

typedef enum
{
  HG_LIVE_TRANSFER,
  HG_LIVE_ADAPTIVE,
} HgLiveCraft;

/* ---- pipelines ----------------------------------------------------------- */

/* A model with an optional defence chain in front and an optional
 * detector: immutable, refcounted. */
typedef struct _HgLivePipeline HgLivePipeline;

/* The detector's false-positive rate when it calibrates itself. */
#define HG_LIVE_DETECTOR_FPR 0.05

/* defense may be NULL (or the identity chain). */
HgLivePipeline *hg_live_pipeline_new (HgModel   *model,
                                      HgDefense *defense);
/* detector (nullable) scores the model's input (after the defence); a
 * tile is flagged when its score exceeds threshold. A threshold of NaN is
 * calibrated on the clean tiles of the first request (or map) that uses
 * the pipeline, for HG_LIVE_DETECTOR_FPR false positives. Only the
 * detector's squeezers are used: its own threshold is not. */
HgLivePipeline *hg_live_pipeline_new_full (HgModel    *model,
                                           HgDefense  *defense,
                                           HgDetector *detector,
                                           double      threshold);
HgLivePipeline *hg_live_pipeline_ref (HgLivePipeline *pipeline);
void            hg_live_pipeline_unref (HgLivePipeline *pipeline);
HgModel        *hg_live_pipeline_get_model (HgLivePipeline *pipeline);
/* NULL when there is no defence. */
HgDefense *hg_live_pipeline_get_defense (HgLivePipeline *pipeline);
/* NULL when there is no detector. */
HgDetector *hg_live_pipeline_get_detector (HgLivePipeline *pipeline);
/* TRUE when both run the same model object through the same chain. */
gboolean hg_live_pipeline_equal (HgLivePipeline *a,
                                 HgLivePipeline *b);

/* ---- requests -------------------------------------------------------------- */

typedef struct
{
  HgAttackKind kind;  /* HG_ATTACK_FGSM, HG_ATTACK_BIM or HG_ATTACK_PGD */
  double       eps;   /* in 1/255, 0 … HG_ATTACK_MAX_EPS */
  int          steps; /* BIM and PGD: iterations, 1 … HG_ATTACK_MAX_STEPS */
  HgLiveGoal   goal;
  guint64      seed; /* PGD's random starts */
} HgLiveParams;

/* FGSM at eps, 10 steps for the iterative attacks, untargeted. */
void     hg_live_params_init (HgLiveParams *params,
                              HgAttackKind  kind,
                              double        eps);
gboolean hg_live_params_validate (const HgLiveParams *params,
                                  GError            **error);
/* "untargeted", "benign", "malignant". */
const char *hg_live_goal_to_string (HgLiveGoal goal);
gboolean    hg_live_goal_from_string (const char *name,
                                      HgLiveGoal *goal,
                                      GError    **error);

/* What to compute. The pointers are only read during the call that takes
 * the request (it copies what it keeps). */
typedef struct
{
  HgLiveParams    params;
  const guint64  *keys; /* the tiles, n_keys of them (duplicates allowed) */
  int             n_keys;
  HgLivePipeline *pipelines[HG_LIVE_MAX_PIPELINES];
  HgLiveCraft     craft[HG_LIVE_MAX_PIPELINES];
  int             n_pipelines; /* 1 … HG_LIVE_MAX_PIPELINES */
  /* Index into keys of a tile whose images the result keeps (the clean
   * tile and each pipeline's perturbed tile), or -1. Iterative attacks
   * compute it first. */
  int focus;
} HgLiveRequest;

/* An empty request: FGSM at ε = 0, no tiles, no pipelines, no focus. */
void hg_live_request_init (HgLiveRequest *request);

/* ---- results --------------------------------------------------------------- */

typedef enum
{
  HG_LIVE_TILE_DONE = 1 << 0,    /* evaluated at this ε (partial results) */
  HG_LIVE_TILE_FLIPPED = 1 << 1, /* label at ε ≠ clean label */
  HG_LIVE_TILE_CORRECT = 1 << 2, /* label at ε = ground truth (when known) */
  HG_LIVE_TILE_CLEAN_CORRECT = 1 << 3,
  HG_LIVE_TILE_FLAGGED = 1 << 4,       /* the detector flags the input at ε */
  HG_LIVE_TILE_CLEAN_FLAGGED = 1 << 5, /* … and the clean tile (a false alarm) */
} HgLiveTileFlags;

typedef struct
{
  int n_tiles;         /* in the request */
  int n_done;          /* evaluated at this ε */
  int n_flipped;       /* done and flipped */
  int n_truth;         /* done, with a ground truth */
  int n_correct;       /* … whose label at ε is the ground truth */
  int n_clean_correct; /* … whose clean label is the ground truth */
  int n_flagged;       /* done and flagged by the detector */
  int n_clean_flagged; /* done, whose clean tile is flagged */
  int n_evaded;        /* done, flipped and not flagged */
} HgLiveCounts;

/* What a request gave: immutable, refcounted. Arrays are indexed like the
 * request's keys. */
typedef struct _HgLiveResult HgLiveResult;

HgLiveResult       *hg_live_result_ref (HgLiveResult *result);
void                hg_live_result_unref (HgLiveResult *result);
const HgLiveParams *hg_live_result_get_params (HgLiveResult *result);
/* The request's serial number (hg_live_attack_request() returns it). */
guint64 hg_live_result_get_serial (HgLiveResult *result);
/* FALSE for the partial results of an iterative attack still running. */
gboolean        hg_live_result_is_complete (HgLiveResult *result);
int             hg_live_result_get_n_tiles (HgLiveResult *result);
const guint64  *hg_live_result_get_keys (HgLiveResult *result);
int             hg_live_result_get_n_pipelines (HgLiveResult *result);
HgLivePipeline *hg_live_result_get_pipeline (HgLiveResult *result,
                                             int           pipeline);
HgLiveCraft     hg_live_result_get_craft (HgLiveResult *result,
                                          int           pipeline);
int             hg_live_result_get_n_classes (HgLiveResult *result);
/* n_tiles × n_classes probabilities at ε (NaN where not done) and on the
 * clean tiles. */
const float *hg_live_result_get_probs (HgLiveResult *result,
                                       int           pipeline);
const float *hg_live_result_get_clean_probs (HgLiveResult *result,
                                             int           pipeline);
/* Labels at ε (-1 where not done) and clean labels. */
const int *hg_live_result_get_labels (HgLiveResult *result,
                                      int           pipeline);
const int *hg_live_result_get_clean_labels (HgLiveResult *result,
                                            int           pipeline);
/* HgLiveTileFlags per tile. */
const guint8 *hg_live_result_get_flags (HgLiveResult *result,
                                        int           pipeline);
/* Ground truth per tile, -1 when unknown. */
const int *hg_live_result_get_truth (HgLiveResult *result);
/* The detector's scores at ε (NaN where not done) and on the clean tiles,
 * and the threshold used; NULL and NaN without a detector. */
const float *hg_live_result_get_scores (HgLiveResult *result,
                                        int           pipeline);
const float *hg_live_result_get_clean_scores (HgLiveResult *result,
                                              int           pipeline);
double       hg_live_result_get_threshold (HgLiveResult *result,
                                           int           pipeline);
void         hg_live_result_get_counts (HgLiveResult *result,
                                        int           pipeline,
                                        HgLiveCounts *counts);
/* The focus tile's images (3 × H × W each): the clean tile and what the
 * pipeline was shown (before its defence). FALSE when the request had no
 * focus or the focus tile is not done. */
gboolean hg_live_result_get_focus (HgLiveResult *result,
                                   int           pipeline,
                                   const float **clean,
                                   const float **adversarial,
                                   int          *width,
                                   int          *height);

/* The perturbation x_adv − x made visible: 0.5 + (x_adv − x) · 127.5 / eps
 * clamped to [0,1], so ±ε maps to black and white and no change to grey
 * (all grey when eps is 0). count floats. */
void hg_live_amplify_perturbation (const float *clean,
                                   const float *adversarial,
                                   gsize        count,
                                   double       eps,
                                   float       *out);

/* ---- the live attack ------------------------------------------------------ */

typedef struct _HgLiveAttack HgLiveAttack;

/* Reads n tiles into x (n × 3 × height × width, the pipelines' input
 * size) and their ground truth into truth (-1 when unknown; truth is
 * already filled with -1). Called on the thread that computes. */
typedef gboolean (*HgLiveReadFunc) (const guint64 *keys,
                                    int            n,
                                    int            width,
                                    int            height,
                                    float         *x,
                                    int           *truth,
                                    gpointer       user_data,
                                    GError       **error);

/* An HgLiveReadFunc over a tiling: keys are tile indices, user_data the
 * HgTiling (hg_live_attack_new (hg_live_read_tiling, hg_tiling_ref (t),
 * (GDestroyNotify) hg_tiling_unref)). Tiles are read in parallel. */
gboolean hg_live_read_tiling (const guint64 *keys,
                              int            n,
                              int            width,
                              int            height,
                              float         *x,
                              int           *truth,
                              gpointer       tiling,
                              GError       **error);

/* Called in the attack's main context with each result of
 * hg_live_attack_request() (partial ones too), or with the error that
 * stopped it (result NULL). A newer result replaces one not delivered yet. */
typedef void (*HgLiveResultFunc) (HgLiveAttack *live,
                                  HgLiveResult *result,
                                  const GError *error,
                                  gpointer      user_data);

HgLiveAttack *hg_live_attack_new (HgLiveReadFunc read,
                                  gpointer       read_data,
                                  GDestroyNotify read_data_free);
HgLiveAttack *hg_live_attack_ref (HgLiveAttack *live);
/* The last reference stops the worker thread (cancelling its work). Drop
 * it in the thread of the attack's main context, or when no result waits
 * for delivery there. */
void hg_live_attack_unref (HgLiveAttack *live);

void hg_live_attack_set_result_func (HgLiveAttack    *live,
                                     HgLiveResultFunc func,
                                     gpointer         user_data,
                                     GDestroyNotify   destroy);

/* Computes a request on the calling thread. Errors: HG_ERROR_INVALID_ARGUMENT
 * (bad request), HG_ERROR_CANCELLED, or what the read function reports. */
HgLiveResult *hg_live_attack_compute (HgLiveAttack        *live,
                                      const HgLiveRequest *request,
                                      GCancellable        *cancellable,
                                      GError             **error);

/* Hands a request to the worker thread, superseding any earlier one, and
 * returns its serial number (increasing, from 1). An invalid request is
 * reported to the result function. */
guint64 hg_live_attack_request (HgLiveAttack        *live,
                                const HgLiveRequest *request);
/* Drops the pending request and cancels the running one. */
void hg_live_attack_cancel (HgLiveAttack *live);

/* Forgets the kept tiles, gradients and clean predictions (the slide
 * changed). Tiles are also forgotten, least recently used first, beyond
 * max_tiles (default 4096, about 120 MB of pixels). */
void hg_live_attack_clear (HgLiveAttack *live);
void hg_live_attack_set_max_tiles (HgLiveAttack *live,
                                   guint         max_tiles);

typedef struct
{
  guint64 n_requests;   /* hg_live_attack_request() calls */
  guint64 n_computed;   /* computations finished (any caller) */
  guint64 n_superseded; /* requests dropped or cancelled for newer ones */
  guint64 n_gradients;  /* tile gradients computed */
  guint64 n_tiles_read; /* tiles read through the read function */
  double  last_seconds; /* wall time of the last finished computation */
} HgLiveStats;

void hg_live_attack_get_stats (HgLiveAttack *live,
                               HgLiveStats  *stats);

/* ---- the robustness map -------------------------------------------------- */

/* For each tile, the smallest ε in (0, HG_LIVE_MAX_EPS] at which one
 * pipeline's label flips under the request's attack, goal and craft.
 *
 * FGSM: the tile's gradient sign is fixed, so ε only scales one direction:
 * ε is scanned upwards in whole units of 1/255 up to HG_LIVE_MAX_EPS, and
 * the first unit that flips is bisected twice: resolution 1/4 (of 1/255).
 * A flip that appears and vanishes again inside one unit can be missed.
 * BIM and PGD: each ε is a new attack. The tile is attacked at
 * HG_LIVE_MAX_EPS; if that flips it, [0, HG_LIVE_MAX_EPS] is bisected five
 * times: resolution 1/2. Bisection assumes a stronger budget never
 * un-flips a tile, true of the attacks in expectation, not always.
 *
 * Values: the ε found, INFINITY when nothing up to HG_LIVE_MAX_EPS flips
 * the tile, NaN while not computed. */
typedef struct _HgLiveMap HgLiveMap;

#define HG_LIVE_MAP_FGSM_RESOLUTION 0.25
#define HG_LIVE_MAP_ITERATIVE_RESOLUTION 0.5

HgLiveMap     *hg_live_map_ref (HgLiveMap *map);
void           hg_live_map_unref (HgLiveMap *map);
int            hg_live_map_get_n_tiles (HgLiveMap *map);
const guint64 *hg_live_map_get_keys (HgLiveMap *map);
int            hg_live_map_get_pipeline (HgLiveMap *map);
/* Copies of the request's parameters and pipeline. */
const HgLiveParams *hg_live_map_get_params (HgLiveMap *map);
/* Safe while the map is being computed. */
int  hg_live_map_get_n_done (HgLiveMap *map);
void hg_live_map_copy_eps (HgLiveMap *map,
                           float     *eps);
/* The ε of one tile (NaN while not computed). */
float hg_live_map_get_eps (HgLiveMap *map,
                           int        index);

typedef void (*HgLiveMapProgressFunc) (HgLiveMap *map,
                                       int        done,
                                       int        total,
                                       gpointer   user_data);

/* Computes the map of pipeline (an index into request->pipelines; the
 * request's ε and focus are ignored) on the calling thread. progress (may
 * be NULL) is called on this thread. */
HgLiveMap *hg_live_attack_compute_map (HgLiveAttack         *live,
                                       const HgLiveRequest  *request,
                                       int                   pipeline,
                                       HgLiveMapProgressFunc progress,
                                       gpointer              progress_data,
                                       GCancellable         *cancellable,
                                       GError              **error);
/* The same on the worker thread, a chunk of tiles at a time, giving way to
 * live requests between chunks. progress is called in the thread-default
 * main context of the caller, coalesced. Returns the map being filled, to
 * draw as it grows (NULL when the request is invalid: callback gets the
 * error). */
HgLiveMap *hg_live_attack_compute_map_async (HgLiveAttack         *live,
                                             const HgLiveRequest  *request,
                                             int                   pipeline,
                                             HgLiveMapProgressFunc progress,
                                             gpointer              progress_data,
                                             GDestroyNotify        progress_data_free,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
HgLiveMap *hg_live_attack_compute_map_finish (HgLiveAttack *live,
                                              GAsyncResult *result,
                                              GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgLivePipeline, hg_live_pipeline_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgLiveResult, hg_live_result_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgLiveAttack, hg_live_attack_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgLiveMap, hg_live_map_unref)

G_END_DECLS
