/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-live.h"

#include "hg-live-private.h"

#define N_GOALS 3

/* ---- pipelines ------------------------------------------------------------- */

HgLivePipeline *
hg_live_pipeline_new (HgModel   *model,
                      HgDefense *defense)
{
  return hg_live_pipeline_new_full (model, defense, NULL, NAN);
}

HgLivePipeline *
hg_live_pipeline_new_full (HgModel    *model,
                           HgDefense  *defense,
                           HgDetector *detector,
                           double      threshold)
{
  HgLivePipeline *p;
  char            threshold_text[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (model != NULL, NULL);

  p = g_new0 (HgLivePipeline, 1);
  g_atomic_ref_count_init (&p->ref);
  p->model = hg_model_ref (model);
  if (defense != NULL && !hg_defense_is_identity (defense))
    p->defense = hg_defense_ref (defense);
  /* A detector of our own: its threshold is never touched by others. */
  if (detector != NULL)
    p->detector = hg_detector_new (hg_detector_get_spec (detector), NULL);
  p->threshold = threshold;
  g_ascii_dtostr (threshold_text, sizeof threshold_text, threshold);
  /* The pipeline holds the model, so its address is not reused while
   * anything compares ids with it. */
  p->id = g_strdup_printf ("%p|%s|%s|%s", (gpointer) model,
                           p->defense != NULL ? hg_defense_get_spec (p->defense) : "none",
                           p->detector != NULL ? hg_detector_get_spec (p->detector) : "none",
                           p->detector != NULL ? threshold_text : "-");
  return p;
}

HgLivePipeline *
hg_live_pipeline_ref (HgLivePipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  g_atomic_ref_count_inc (&pipeline->ref);
  return pipeline;
}

void
hg_live_pipeline_unref (HgLivePipeline *pipeline)
{
  g_return_if_fail (pipeline != NULL);
  if (!g_atomic_ref_count_dec (&pipeline->ref))
    return;
  hg_model_unref (pipeline->model);
  g_clear_pointer (&pipeline->defense, hg_defense_unref);
  g_clear_pointer (&pipeline->detector, hg_detector_unref);
  g_free (pipeline->id);
  g_free (pipeline);
}

HgModel *
hg_live_pipeline_get_model (HgLivePipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->model;
}

HgDefense *
hg_live_pipeline_get_defense (HgLivePipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->defense;
}

HgDetector *
hg_live_pipeline_get_detector (HgLivePipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->detector;
}

gboolean
hg_live_pipeline_equal (HgLivePipeline *a,
                        HgLivePipeline *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  return strcmp (a->id, b->id) == 0;
}

/* ---- parameters ------------------------------------------------------------ */

static const char *const goal_names[] = { "untargeted", "benign", "malignant" };

void
hg_live_params_init (HgLiveParams *params,
                     HgAttackKind  kind,
                     double        eps)
{
  g_return_if_fail (params != NULL);
  *params = (HgLiveParams){ .kind = kind, .eps = eps, .steps = 10, .goal = HG_LIVE_GOAL_UNTARGETED };
}

gboolean
hg_live_params_validate (const HgLiveParams *params,
                         GError            **error)
{
  g_return_val_if_fail (params != NULL, FALSE);

  if (params->kind != HG_ATTACK_FGSM && params->kind != HG_ATTACK_BIM && params->kind != HG_ATTACK_PGD)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "the live explorer runs FGSM, BIM and PGD, not attack kind %d", (int) params->kind);
      return FALSE;
    }
  if (!(params->eps >= 0) || params->eps > HG_ATTACK_MAX_EPS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("epsilon must be between 0 and %g (in units of 1/255), got %g"), HG_ATTACK_MAX_EPS,
                   params->eps);
      return FALSE;
    }
  if (params->kind != HG_ATTACK_FGSM && (params->steps < 1 || params->steps > HG_ATTACK_MAX_STEPS))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("steps must be from 1 to %d, got %d"), HG_ATTACK_MAX_STEPS, params->steps);
      return FALSE;
    }
  if ((guint) params->goal >= N_GOALS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, "unknown attack goal %d",
                   (int) params->goal);
      return FALSE;
    }
  return TRUE;
}

const char *
hg_live_goal_to_string (HgLiveGoal goal)
{
  g_return_val_if_fail ((guint) goal < N_GOALS, NULL);
  return goal_names[goal];
}

gboolean
hg_live_goal_from_string (const char *name,
                          HgLiveGoal *goal,
                          GError    **error)
{
  g_return_val_if_fail (name != NULL && goal != NULL, FALSE);

  for (guint i = 0; i < N_GOALS; i++)
    if (g_ascii_strcasecmp (name, goal_names[i]) == 0)
      {
        *goal = (HgLiveGoal) i;
        return TRUE;
      }
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
               _ ("unknown attack goal '%s' (known: untargeted, benign, malignant)"), name);
  return FALSE;
}

void
hg_live_request_init (HgLiveRequest *request)
{
  g_return_if_fail (request != NULL);
  memset (request, 0, sizeof *request);
  hg_live_params_init (&request->params, HG_ATTACK_FGSM, 0.0);
  request->focus = -1;
}

/* ---- jobs: requests copied and checked ------------------------------------ */

void
hg_live_job_free (HgLiveJob *job)
{
  if (job == NULL)
    return;
  for (int p = 0; p < job->n_pipelines; p++)
    hg_live_pipeline_unref (job->pipelines[p]);
  g_free (job->keys);
  g_free (job);
}

HgLiveJob *
hg_live_job_new (const HgLiveRequest *request,
                 GError             **error)
{
  g_autoptr (HgLiveJob) job = NULL;
  int width = 0, height = 0, channels = 0, n_classes = 0;

  g_return_val_if_fail (request != NULL, NULL);

  if (!hg_live_params_validate (&request->params, error))
    return NULL;
  if (request->n_pipelines < 1 || request->n_pipelines > HG_LIVE_MAX_PIPELINES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "a live attack needs 1 to %d pipelines, got %d", HG_LIVE_MAX_PIPELINES,
                   request->n_pipelines);
      return NULL;
    }
  if (request->n_keys < 0 || request->n_keys > HG_LIVE_MAX_TILES || (request->n_keys > 0 && request->keys == NULL))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "a live attack takes 0 to %d tiles, got %d", HG_LIVE_MAX_TILES, request->n_keys);
      return NULL;
    }
  if (request->focus < -1 || request->focus >= request->n_keys)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "the focus tile %d is not one of the %d tiles", request->focus, request->n_keys);
      return NULL;
    }

  for (int p = 0; p < request->n_pipelines; p++)
    {
      HgLivePipeline *pipe = request->pipelines[p];
      int             w, h, c, k;

      if (pipe == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, "pipeline %d is missing", p);
          return NULL;
        }
      if (request->craft[p] != HG_LIVE_TRANSFER && request->craft[p] != HG_LIVE_ADAPTIVE)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       "pipeline %d: unknown craft %d", p, (int) request->craft[p]);
          return NULL;
        }
      hg_model_get_input_size (pipe->model, &h, &w, &c);
      k = hg_model_get_n_classes (pipe->model);
      if (c != 3)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("pipeline %d: the model takes %d channels, not RGB"), p, c);
          return NULL;
        }
      if (p == 0)
        {
          width = w;
          height = h;
          channels = c;
          n_classes = k;
        }
      else if (w != width || h != height || k != n_classes)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("pipeline %d: its model takes %dx%d inputs with %d classes, "
                          "pipeline 0's %dx%d with %d"),
                       p, w, h, k, width, height, n_classes);
          return NULL;
        }
    }
  if (n_classes < 2)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the model has %d class; attacks need at least 2"), n_classes);
      return NULL;
    }

  job = g_new0 (HgLiveJob, 1);
  job->params = request->params;
  job->n_keys = request->n_keys;
  job->keys = g_memdup2 (request->keys, (gsize) request->n_keys * sizeof (guint64));
  job->n_pipelines = request->n_pipelines;
  for (int p = 0; p < request->n_pipelines; p++)
    {
      job->pipelines[p] = hg_live_pipeline_ref (request->pipelines[p]);
      job->craft[p] = p == 0 ? HG_LIVE_ADAPTIVE : request->craft[p];
      job->source[p] = job->craft[p] == HG_LIVE_ADAPTIVE ? p : 0;
    }
  job->focus = request->focus;
  job->width = width;
  job->height = height;
  job->floats = (gsize) channels * width * height;
  job->n_classes = n_classes;
  switch (request->params.goal)
    {
    case HG_LIVE_GOAL_UNTARGETED:
      job->target = -1;
      break;
    case HG_LIVE_GOAL_BENIGN:
      job->target = 0;
      break;
    case HG_LIVE_GOAL_MALIGNANT:
    default:
      job->target = n_classes - 1;
      break;
    }
  return g_steal_pointer (&job);
}

/* ---- results ------------------------------------------------------------- */

HgLiveResult *
hg_live_result_new (const HgLiveJob *job)
{
  HgLiveResult *r = g_new0 (HgLiveResult, 1);
  gsize         n = (gsize) MAX (job->n_keys, 1);

  g_atomic_ref_count_init (&r->ref);
  r->params = job->params;
  r->serial = job->serial;
  r->n_tiles = job->n_keys;
  r->n_pipelines = job->n_pipelines;
  r->n_classes = job->n_classes;
  r->keys = g_memdup2 (job->keys, n * sizeof (guint64));
  r->truth = g_new (int, n);
  for (gsize i = 0; i < n; i++)
    r->truth[i] = -1;
  r->width = job->width;
  r->height = job->height;
  r->focus = job->focus;
  for (int p = 0; p < job->n_pipelines; p++)
    {
      r->pipelines[p] = hg_live_pipeline_ref (job->pipelines[p]);
      r->craft[p] = job->craft[p];
      r->probs[p] = g_new (float, n * job->n_classes);
      for (gsize i = 0; i < n * job->n_classes; i++)
        r->probs[p][i] = NAN;
      r->clean_probs[p] = g_new0 (float, n * job->n_classes);
      r->labels[p] = g_new (int, n);
      for (gsize i = 0; i < n; i++)
        r->labels[p][i] = -1;
      r->clean_labels[p] = g_new0 (int, n);
      r->flags[p] = g_new0 (guint8, n);
      r->threshold[p] = NAN;
      if (job->pipelines[p]->detector != NULL)
        {
          r->scores[p] = g_new (float, n);
          r->clean_scores[p] = g_new (float, n);
          for (gsize i = 0; i < n; i++)
            r->scores[p][i] = r->clean_scores[p][i] = NAN;
        }
    }
  if (job->focus >= 0)
    {
      r->focus_clean = g_new0 (float, job->floats);
      for (int p = 0; p < job->n_pipelines; p++)
        r->focus_adv[p] = g_new0 (float, job->floats);
    }
  return r;
}

/* A copy to hand out while r is still being filled. */
HgLiveResult *
hg_live_result_snapshot (const HgLiveResult *r)
{
  HgLiveResult *c = g_new0 (HgLiveResult, 1);
  gsize         n = (gsize) MAX (r->n_tiles, 1), k = r->n_classes;
  gsize         floats = 3 * (gsize) r->width * r->height;

  *c = *r;
  g_atomic_ref_count_init (&c->ref);
  c->keys = g_memdup2 (r->keys, n * sizeof (guint64));
  c->truth = g_memdup2 (r->truth, n * sizeof (int));
  for (int p = 0; p < r->n_pipelines; p++)
    {
      hg_live_pipeline_ref (c->pipelines[p]);
      c->probs[p] = g_memdup2 (r->probs[p], n * k * sizeof (float));
      c->clean_probs[p] = g_memdup2 (r->clean_probs[p], n * k * sizeof (float));
      c->labels[p] = g_memdup2 (r->labels[p], n * sizeof (int));
      c->clean_labels[p] = g_memdup2 (r->clean_labels[p], n * sizeof (int));
      c->flags[p] = g_memdup2 (r->flags[p], n);
      if (r->scores[p] != NULL)
        {
          c->scores[p] = g_memdup2 (r->scores[p], n * sizeof (float));
          c->clean_scores[p] = g_memdup2 (r->clean_scores[p], n * sizeof (float));
        }
      if (r->focus_adv[p] != NULL)
        c->focus_adv[p] = g_memdup2 (r->focus_adv[p], floats * sizeof (float));
    }
  if (r->focus_clean != NULL)
    c->focus_clean = g_memdup2 (r->focus_clean, floats * sizeof (float));
  return c;
}

HgLiveResult *
hg_live_result_ref (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_ref_count_inc (&result->ref);
  return result;
}

void
hg_live_result_unref (HgLiveResult *result)
{
  g_return_if_fail (result != NULL);
  if (!g_atomic_ref_count_dec (&result->ref))
    return;
  for (int p = 0; p < result->n_pipelines; p++)
    {
      hg_live_pipeline_unref (result->pipelines[p]);
      g_free (result->probs[p]);
      g_free (result->clean_probs[p]);
      g_free (result->labels[p]);
      g_free (result->clean_labels[p]);
      g_free (result->flags[p]);
      g_free (result->scores[p]);
      g_free (result->clean_scores[p]);
      g_free (result->focus_adv[p]);
    }
  g_free (result->focus_clean);
  g_free (result->keys);
  g_free (result->truth);
  g_free (result);
}

#define CHECK_PIPELINE(r, p, val) \
  g_return_val_if_fail ((r) != NULL && (p) >= 0 && (p) < (r)->n_pipelines, val)

const HgLiveParams *
hg_live_result_get_params (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return &result->params;
}

guint64
hg_live_result_get_serial (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->serial;
}

gboolean
hg_live_result_is_complete (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->complete;
}

int
hg_live_result_get_n_tiles (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_tiles;
}

const guint64 *
hg_live_result_get_keys (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->keys;
}

int
hg_live_result_get_n_pipelines (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_pipelines;
}

HgLivePipeline *
hg_live_result_get_pipeline (HgLiveResult *result,
                             int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->pipelines[pipeline];
}

HgLiveCraft
hg_live_result_get_craft (HgLiveResult *result,
                          int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, HG_LIVE_TRANSFER);
  return result->craft[pipeline];
}

int
hg_live_result_get_n_classes (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_classes;
}

const float *
hg_live_result_get_probs (HgLiveResult *result,
                          int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->probs[pipeline];
}

const float *
hg_live_result_get_clean_probs (HgLiveResult *result,
                                int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->clean_probs[pipeline];
}

const int *
hg_live_result_get_labels (HgLiveResult *result,
                           int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->labels[pipeline];
}

const int *
hg_live_result_get_clean_labels (HgLiveResult *result,
                                 int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->clean_labels[pipeline];
}

const guint8 *
hg_live_result_get_flags (HgLiveResult *result,
                          int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->flags[pipeline];
}

const int *
hg_live_result_get_truth (HgLiveResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->truth;
}

const float *
hg_live_result_get_scores (HgLiveResult *result,
                           int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->scores[pipeline];
}

const float *
hg_live_result_get_clean_scores (HgLiveResult *result,
                                 int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NULL);
  return result->clean_scores[pipeline];
}

double
hg_live_result_get_threshold (HgLiveResult *result,
                              int           pipeline)
{
  CHECK_PIPELINE (result, pipeline, NAN);
  return result->threshold[pipeline];
}

void
hg_live_result_get_counts (HgLiveResult *result,
                           int           pipeline,
                           HgLiveCounts *counts)
{
  const guint8 *flags;

  g_return_if_fail (result != NULL && pipeline >= 0 && pipeline < result->n_pipelines);
  g_return_if_fail (counts != NULL);

  flags = result->flags[pipeline];
  memset (counts, 0, sizeof *counts);
  counts->n_tiles = result->n_tiles;
  for (int i = 0; i < result->n_tiles; i++)
    {
      if (!(flags[i] & HG_LIVE_TILE_DONE))
        continue;
      counts->n_done++;
      if (flags[i] & HG_LIVE_TILE_FLIPPED)
        counts->n_flipped++;
      if (flags[i] & HG_LIVE_TILE_FLAGGED)
        counts->n_flagged++;
      if (flags[i] & HG_LIVE_TILE_CLEAN_FLAGGED)
        counts->n_clean_flagged++;
      if ((flags[i] & HG_LIVE_TILE_FLIPPED) && !(flags[i] & HG_LIVE_TILE_FLAGGED))
        counts->n_evaded++;
      if (result->truth[i] < 0)
        continue;
      counts->n_truth++;
      if (flags[i] & HG_LIVE_TILE_CORRECT)
        counts->n_correct++;
      if (flags[i] & HG_LIVE_TILE_CLEAN_CORRECT)
        counts->n_clean_correct++;
    }
}

gboolean
hg_live_result_get_focus (HgLiveResult *result,
                          int           pipeline,
                          const float **clean,
                          const float **adversarial,
                          int          *width,
                          int          *height)
{
  CHECK_PIPELINE (result, pipeline, FALSE);

  if (result->focus < 0 || !(result->flags[pipeline][result->focus] & HG_LIVE_TILE_DONE))
    return FALSE;
  if (clean != NULL)
    *clean = result->focus_clean;
  if (adversarial != NULL)
    *adversarial = result->focus_adv[pipeline];
  if (width != NULL)
    *width = result->width;
  if (height != NULL)
    *height = result->height;
  return TRUE;
}

void
hg_live_amplify_perturbation (const float *clean,
                              const float *adversarial,
                              gsize        count,
                              double       eps,
                              float       *out)
{
  float gain = eps > 0 ? (float) (127.5 / eps) : 0.0f;

  g_return_if_fail (count == 0 || (clean != NULL && adversarial != NULL && out != NULL));

  for (gsize i = 0; i < count; i++)
    out[i] = CLAMP (0.5f + (adversarial[i] - clean[i]) * gain, 0.0f, 1.0f);
}

/* ---- reading tiles --------------------------------------------------------- */

gboolean
hg_live_read_tiling (const guint64 *keys,
                     int            n,
                     int            width,
                     int            height,
                     float         *x,
                     int           *truth,
                     gpointer       tiling,
                     GError       **error)
{
  g_autofree gsize *indices = NULL;
  gsize             n_tiles = hg_tiling_get_n_tiles (tiling);
  int               w, h;

  hg_tiling_get_input_size (tiling, &w, &h);
  if (w != width || h != height)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "the slide's tiles are %dx%d for the model, but %dx%d were asked for", w, h, width,
                   height);
      return FALSE;
    }
  indices = g_new (gsize, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      if (keys[i] >= n_tiles)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       "tile %" G_GUINT64_FORMAT " is not one of the slide's %" G_GSIZE_FORMAT, keys[i], n_tiles);
          return FALSE;
        }
      indices[i] = (gsize) keys[i];
      truth[i] = hg_tiling_get_tile (tiling, indices[i])->truth;
    }
  return hg_tiling_read_tiles (tiling, indices, n, x, error);
}

/* ---- robustness maps ----------------------------------------------------- */

HgLiveMap *
hg_live_map_new (const HgLiveJob *job,
                 int              pipeline)
{
  HgLiveMap *map = g_new0 (HgLiveMap, 1);

  g_atomic_ref_count_init (&map->ref);
  g_mutex_init (&map->lock);
  map->params = job->params;
  map->pipeline = pipeline;
  map->n_tiles = job->n_keys;
  map->keys = g_memdup2 (job->keys, (gsize) MAX (job->n_keys, 1) * sizeof (guint64));
  map->eps = g_new (float, MAX (job->n_keys, 1));
  for (int i = 0; i < job->n_keys; i++)
    map->eps[i] = NAN;
  return map;
}

void
hg_live_map_set (HgLiveMap *map,
                 int        index,
                 float      eps)
{
  g_mutex_lock (&map->lock);
  if (isnan (map->eps[index]))
    map->n_done++;
  map->eps[index] = eps;
  g_mutex_unlock (&map->lock);
}

HgLiveMap *
hg_live_map_ref (HgLiveMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  g_atomic_ref_count_inc (&map->ref);
  return map;
}

void
hg_live_map_unref (HgLiveMap *map)
{
  g_return_if_fail (map != NULL);
  if (!g_atomic_ref_count_dec (&map->ref))
    return;
  g_mutex_clear (&map->lock);
  g_free (map->keys);
  g_free (map->eps);
  g_free (map);
}

int
hg_live_map_get_n_tiles (HgLiveMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->n_tiles;
}

const guint64 *
hg_live_map_get_keys (HgLiveMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  return map->keys;
}

int
hg_live_map_get_pipeline (HgLiveMap *map)
{
  g_return_val_if_fail (map != NULL, 0);
  return map->pipeline;
}

const HgLiveParams *
hg_live_map_get_params (HgLiveMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  return &map->params;
}

int
hg_live_map_get_n_done (HgLiveMap *map)
{
  int n;

  g_return_val_if_fail (map != NULL, 0);
  g_mutex_lock (&map->lock);
  n = map->n_done;
  g_mutex_unlock (&map->lock);
  return n;
}

void
hg_live_map_copy_eps (HgLiveMap *map,
                      float     *eps)
{
  g_return_if_fail (map != NULL && (eps != NULL || map->n_tiles == 0));
  g_mutex_lock (&map->lock);
  memcpy (eps, map->eps, (gsize) map->n_tiles * sizeof (float));
  g_mutex_unlock (&map->lock);
}

float
hg_live_map_get_eps (HgLiveMap *map,
                     int        index)
{
  float eps;

  g_return_val_if_fail (map != NULL && index >= 0 && index < map->n_tiles, NAN);
  g_mutex_lock (&map->lock);
  eps = map->eps[index];
  g_mutex_unlock (&map->lock);
  return eps;
}
