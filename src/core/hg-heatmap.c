/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-heatmap.h"

#include "hg-model-private.h"
#include "hg-threads-private.h"

/* The seed of the balanced-accuracy interval of a slide's metrics. */
#define METRICS_SEED 20240611

struct _HgHeatmap
{
  gatomicrefcount ref;
  HgTiling       *tiling;
  int             n_classes;
  char          **class_names;
  int             positive;
  char           *model_name;

  GMutex lock;  /* guards what follows */
  float *probs; /* n_tiles × n_classes, NaN until predicted */
  gsize  n_done;
  double seconds;
};

HgHeatmap *
hg_heatmap_new (HgTiling          *tiling,
                int                n_classes,
                const char *const *class_names,
                int                positive_class)
{
  HgHeatmap *heatmap;
  gsize      count;

  g_return_val_if_fail (tiling != NULL, NULL);
  g_return_val_if_fail (n_classes >= 1 && class_names != NULL, NULL);
  g_return_val_if_fail (positive_class >= 0 && positive_class < n_classes, NULL);

  heatmap = g_new0 (HgHeatmap, 1);
  g_atomic_ref_count_init (&heatmap->ref);
  heatmap->tiling = hg_tiling_ref (tiling);
  heatmap->n_classes = n_classes;
  heatmap->class_names = g_new0 (char *, n_classes + 1);
  for (int c = 0; c < n_classes; c++)
    heatmap->class_names[c] = g_strdup (class_names[c]);
  heatmap->positive = positive_class;
  g_mutex_init (&heatmap->lock);

  /* n_tiles ≤ HG_TILING_MAX_TILES and classes are few: no overflow. */
  count = MAX (hg_tiling_get_n_tiles (tiling), 1) * (gsize) n_classes;
  heatmap->probs = g_new (float, count);
  for (gsize i = 0; i < count; i++)
    heatmap->probs[i] = NAN;
  return heatmap;
}

HgHeatmap *
hg_heatmap_new_for_model (HgTiling *tiling,
                          HgModel  *model)
{
  int                     k = hg_model_get_n_classes (model), positive = k - 1;
  g_autofree const char **names = g_new0 (const char *, k + 1);

  for (int c = 0; c < k; c++)
    {
      names[c] = hg_model_get_class_name (model, c);
      if (g_strcmp0 (names[c], "IDC") == 0)
        positive = c;
    }
  return hg_heatmap_new (tiling, k, names, positive);
}

HgHeatmap *
hg_heatmap_ref (HgHeatmap *heatmap)
{
  g_return_val_if_fail (heatmap != NULL, NULL);

  g_atomic_ref_count_inc (&heatmap->ref);
  return heatmap;
}

void
hg_heatmap_unref (HgHeatmap *heatmap)
{
  if (heatmap == NULL || !g_atomic_ref_count_dec (&heatmap->ref))
    return;

  hg_tiling_unref (heatmap->tiling);
  g_strfreev (heatmap->class_names);
  g_free (heatmap->model_name);
  g_mutex_clear (&heatmap->lock);
  g_free (heatmap->probs);
  g_free (heatmap);
}

HgTiling *
hg_heatmap_get_tiling (HgHeatmap *heatmap)
{
  return heatmap->tiling;
}

int
hg_heatmap_get_n_classes (HgHeatmap *heatmap)
{
  return heatmap->n_classes;
}

const char *
hg_heatmap_get_class_name (HgHeatmap *heatmap,
                           int        index)
{
  g_return_val_if_fail (index >= 0 && index < heatmap->n_classes, NULL);

  return heatmap->class_names[index];
}

int
hg_heatmap_get_positive_class (HgHeatmap *heatmap)
{
  return heatmap->positive;
}

const char *
hg_heatmap_get_model_name (HgHeatmap *heatmap)
{
  return heatmap->model_name;
}

void
hg_heatmap_set_model_name (HgHeatmap  *heatmap,
                           const char *name)
{
  g_free (heatmap->model_name);
  heatmap->model_name = g_strdup (name);
}

gsize
hg_heatmap_get_n_done (HgHeatmap *heatmap)
{
  gsize n;

  g_mutex_lock (&heatmap->lock);
  n = heatmap->n_done;
  g_mutex_unlock (&heatmap->lock);
  return n;
}

gboolean
hg_heatmap_is_complete (HgHeatmap *heatmap)
{
  return hg_heatmap_get_n_done (heatmap) == hg_tiling_get_n_tiles (heatmap->tiling);
}

double
hg_heatmap_get_seconds (HgHeatmap *heatmap)
{
  double s;

  g_mutex_lock (&heatmap->lock);
  s = heatmap->seconds;
  g_mutex_unlock (&heatmap->lock);
  return s;
}

void
hg_heatmap_set_probabilities (HgHeatmap   *heatmap,
                              gsize        first,
                              gsize        n,
                              const float *probs)
{
  gsize k = heatmap->n_classes;

  g_return_if_fail (first <= hg_tiling_get_n_tiles (heatmap->tiling));
  g_return_if_fail (n <= hg_tiling_get_n_tiles (heatmap->tiling) - first);

  g_mutex_lock (&heatmap->lock);
  for (gsize i = 0; i < n; i++)
    {
      float *dest = heatmap->probs + (first + i) * k;

      if (isnan (dest[0]))
        heatmap->n_done++;
      memcpy (dest, probs + i * k, k * sizeof (float));
    }
  g_mutex_unlock (&heatmap->lock);
}

gboolean
hg_heatmap_get_probabilities (HgHeatmap *heatmap,
                              gsize      index,
                              float     *probs)
{
  gsize    k = heatmap->n_classes;
  gboolean done;

  g_return_val_if_fail (index < hg_tiling_get_n_tiles (heatmap->tiling), FALSE);

  g_mutex_lock (&heatmap->lock);
  done = !isnan (heatmap->probs[index * k]);
  if (done)
    memcpy (probs, heatmap->probs + index * k, k * sizeof (float));
  g_mutex_unlock (&heatmap->lock);
  return done;
}

float
hg_heatmap_get_score (HgHeatmap *heatmap,
                      gsize      index)
{
  float score;

  g_return_val_if_fail (index < hg_tiling_get_n_tiles (heatmap->tiling), NAN);

  g_mutex_lock (&heatmap->lock);
  score = heatmap->probs[index * heatmap->n_classes + heatmap->positive];
  g_mutex_unlock (&heatmap->lock);
  return score;
}

int
hg_heatmap_get_label (HgHeatmap *heatmap,
                      gsize      index)
{
  g_autofree float *p = g_new (float, heatmap->n_classes);

  if (!hg_heatmap_get_probabilities (heatmap, index, p))
    return -1;
  return hg_argmax (p, heatmap->n_classes);
}

void
hg_heatmap_copy_scores (HgHeatmap *heatmap,
                        float     *scores)
{
  gsize n = hg_tiling_get_n_tiles (heatmap->tiling);

  g_mutex_lock (&heatmap->lock);
  for (gsize i = 0; i < n; i++)
    scores[i] = heatmap->probs[i * heatmap->n_classes + heatmap->positive];
  g_mutex_unlock (&heatmap->lock);
}

gboolean
hg_heatmap_compute_metrics (HgHeatmap *heatmap,
                            HgMetrics *metrics)
{
  gsize             n_tiles;
  const HgTile     *tiles = hg_tiling_get_tiles (heatmap->tiling, &n_tiles);
  int               k = heatmap->n_classes;
  g_autofree int   *labels = g_new (int, MAX (n_tiles, 1));
  g_autofree int   *predictions = g_new (int, MAX (n_tiles, 1));
  g_autofree float *scores = g_new (float, MAX (n_tiles, 1));
  g_autofree float *confidences = g_new (float, MAX (n_tiles, 1));
  gsize             n = 0;

  g_return_val_if_fail (metrics != NULL, FALSE);

  /* Binary metrics: positive class against the rest. */
  g_mutex_lock (&heatmap->lock);
  for (gsize i = 0; i < n_tiles; i++)
    {
      const float *p = heatmap->probs + i * k;
      int          best;

      if (tiles[i].truth == HG_SLIDE_LABEL_NONE || isnan (p[0]))
        continue;
      best = hg_argmax (p, k);
      labels[n] = tiles[i].truth == HG_SLIDE_LABEL_IDC;
      predictions[n] = best == heatmap->positive;
      scores[n] = p[heatmap->positive];
      confidences[n] = p[best];
      n++;
    }
  g_mutex_unlock (&heatmap->lock);

  if (n == 0)
    return FALSE;
  hg_metrics_compute (labels, predictions, scores, confidences, n, METRICS_SEED, metrics);
  return TRUE;
}

gboolean
hg_heatmap_predict_batch (const float *x,
                          int          n,
                          float       *probs,
                          gpointer     user_data,
                          GError     **error)
{
  HgContext *ctx = user_data;
  HgModel   *model = hg_context_get_model (ctx);

  if (!hg_model_predict (ctx, x, n, probs))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED,
                   _ ("%s could not classify a batch of %d tiles (out of memory?)"),
                   hg_model_get_arch_name (model), n);
      return FALSE;
    }
  hg_softmax (probs, n, hg_model_get_n_classes (model), probs);
  return TRUE;
}

/* ---- running ------------------------------------------------------------- */

static gboolean
set_cancelled (GCancellable *cancellable,
               GError      **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, HG_ERROR, HG_ERROR_CANCELLED, "the heatmap was cancelled");
  return TRUE;
}

gboolean
hg_heatmap_run (HgHeatmap            *heatmap,
                HgTileBatchFunc       func,
                gpointer              func_data,
                int                   batch_size,
                HgHeatmapProgressFunc progress,
                gpointer              progress_data,
                GCancellable         *cancellable,
                GError              **error)
{
  gsize             n_tiles = hg_tiling_get_n_tiles (heatmap->tiling);
  int               w, h, k = heatmap->n_classes;
  gint64            start = g_get_monotonic_time ();
  g_autofree float *x = NULL;
  g_autofree float *probs = NULL;
  g_autofree gsize *todo = NULL;
  gsize             n_todo = 0, floats;
  gboolean          ok = TRUE;

  g_return_val_if_fail (heatmap != NULL && func != NULL, FALSE);
  g_return_val_if_fail (batch_size >= 0 && batch_size <= HG_MODEL_MAX_BATCH, FALSE);

  if (batch_size == 0)
    batch_size = HG_HEATMAP_BATCH;
  hg_tiling_get_input_size (heatmap->tiling, &w, &h);
  floats = (gsize) 3 * w * h;
  x = g_try_new (float, floats *batch_size);
  probs = g_new (float, (gsize) k *batch_size);
  if (x == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("not enough memory for %d tiles of %d × %d"),
                   batch_size, w, h);
      return FALSE;
    }

  /* Only what is missing: a cancelled run resumes where it stopped. */
  todo = g_new (gsize, MAX (n_tiles, 1));
  g_mutex_lock (&heatmap->lock);
  for (gsize i = 0; i < n_tiles; i++)
    if (isnan (heatmap->probs[i * k]))
      todo[n_todo++] = i;
  g_mutex_unlock (&heatmap->lock);

  for (gsize first = 0; first < n_todo && ok; first += batch_size)
    {
      int          n = (int) MIN ((gsize) batch_size, n_todo - first);
      const gsize *indices = todo + first;

      if (set_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }

      if (!hg_tiling_read_tiles (heatmap->tiling, indices, n, x, error))
        {
          ok = FALSE;
          break;
        }

      if (!func (x, n, probs, func_data, error))
        {
          ok = FALSE;
          break;
        }

      /* Batches are runs of consecutive indices unless a resumed run has
       * holes: store tile by tile then. */
      if (indices[n - 1] - indices[0] == (gsize) n - 1)
        hg_heatmap_set_probabilities (heatmap, indices[0], n, probs);
      else
        for (int i = 0; i < n; i++)
          hg_heatmap_set_probabilities (heatmap, indices[i], 1, probs + (gsize) i * k);

      if (progress != NULL)
        progress (hg_heatmap_get_n_done (heatmap), n_tiles, progress_data);
    }
  if (ok)
    {
      g_mutex_lock (&heatmap->lock);
      heatmap->seconds = (g_get_monotonic_time () - start) / 1e6;
      g_mutex_unlock (&heatmap->lock);
    }
  return ok;
}

typedef struct
{
  HgHeatmap            *heatmap;
  HgTileBatchFunc       func;
  gpointer              func_data;
  GDestroyNotify        func_data_free;
  int                   batch_size;
  HgHeatmapProgressFunc progress;
  gpointer              progress_data;
  GMainContext         *context;
  GCancellable         *cancellable;
  /* The latest progress, handed to the caller's main context. */
  GMutex lock;
  gsize  done, total;
  guint  source_id;
} RunData;

static void
run_data_clear (gpointer data)
{
  RunData *run = data;

  hg_heatmap_unref (run->heatmap);
  if (run->func_data_free != NULL)
    run->func_data_free (run->func_data);
  g_main_context_unref (run->context);
  g_clear_object (&run->cancellable);
  g_mutex_clear (&run->lock);
}

static void
run_data_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, run_data_clear);
}

static gboolean
deliver_progress (gpointer data)
{
  RunData *run = data;
  gsize    done, total;

  g_mutex_lock (&run->lock);
  done = run->done;
  total = run->total;
  run->source_id = 0;
  g_mutex_unlock (&run->lock);

  /* A cancelled run's caller may be gone. */
  if (!g_cancellable_is_cancelled (run->cancellable))
    run->progress (done, total, run->progress_data);
  return G_SOURCE_REMOVE;
}

static void
on_thread_progress (gsize    done,
                    gsize    total,
                    gpointer data)
{
  RunData *run = data;

  g_mutex_lock (&run->lock);
  run->done = done;
  run->total = total;
  if (run->source_id == 0)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, deliver_progress, g_atomic_rc_box_acquire (run),
                             (GDestroyNotify) run_data_release);
      g_source_set_name (source, "[histoguard] heatmap progress");
      run->source_id = g_source_attach (source, run->context);
      g_source_unref (source);
    }
  g_mutex_unlock (&run->lock);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *run = task_data;
  GError  *error = NULL;

  if (hg_heatmap_run (run->heatmap, run->func, run->func_data, run->batch_size,
                      run->progress != NULL ? on_thread_progress : NULL, run, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
hg_heatmap_run_async (HgHeatmap            *heatmap,
                      HgTileBatchFunc       func,
                      gpointer              func_data,
                      GDestroyNotify        func_data_free,
                      int                   batch_size,
                      HgHeatmapProgressFunc progress,
                      gpointer              progress_data,
                      GCancellable         *cancellable,
                      GAsyncReadyCallback   callback,
                      gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;
  RunData *run;

  g_return_if_fail (heatmap != NULL && func != NULL);

  run = g_atomic_rc_box_new0 (RunData);
  run->heatmap = hg_heatmap_ref (heatmap);
  run->func = func;
  run->func_data = func_data;
  run->func_data_free = func_data_free;
  run->batch_size = batch_size;
  run->progress = progress;
  run->progress_data = progress_data;
  run->context = g_main_context_ref_thread_default ();
  run->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  g_mutex_init (&run->lock);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_heatmap_run_async);
  /* The run's own error says what was kept (HG_ERROR_CANCELLED). */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, run, (GDestroyNotify) run_data_release);
  g_task_run_in_thread (task, run_thread);
}

gboolean
hg_heatmap_run_finish (HgHeatmap    *heatmap,
                       GAsyncResult *result,
                       GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hg_heatmap_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
