/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>

#include "histoguard/hg-detector.h"
#include "histoguard/hg-error.h"

struct _HgDetector
{
  gatomicrefcount ref_count;
  GPtrArray      *squeezers; /* HgDefense */
  char           *spec;
  double          threshold;
};

HgDetector *
hg_detector_new (const char *squeezers,
                 GError    **error)
{
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GString) spec = g_string_new (NULL);
  HgDetector *detector;

  g_return_val_if_fail (squeezers != NULL, NULL);

  list = hg_defense_parse_list (squeezers, error);
  if (list == NULL)
    return NULL;
  for (guint i = 0; i < list->len; i++)
    {
      if (hg_defense_is_identity (list->pdata[i]))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("'none' is not a squeezer (in '%s')"), squeezers);
          return NULL;
        }
      if (i > 0)
        g_string_append_c (spec, ',');
      g_string_append (spec, hg_defense_get_spec (list->pdata[i]));
    }

  detector = g_new0 (HgDetector, 1);
  g_atomic_ref_count_init (&detector->ref_count);
  detector->squeezers = g_steal_pointer (&list);
  detector->spec = g_string_free (g_steal_pointer (&spec), FALSE);
  detector->threshold = INFINITY;
  return detector;
}

HgDetector *
hg_detector_ref (HgDetector *detector)
{
  g_return_val_if_fail (detector != NULL, NULL);

  g_atomic_ref_count_inc (&detector->ref_count);
  return detector;
}

void
hg_detector_unref (HgDetector *detector)
{
  g_return_if_fail (detector != NULL);

  if (g_atomic_ref_count_dec (&detector->ref_count))
    {
      g_ptr_array_unref (detector->squeezers);
      g_free (detector->spec);
      g_free (detector);
    }
}

const char *
hg_detector_get_spec (HgDetector *detector)
{
  g_return_val_if_fail (detector != NULL, NULL);
  return detector->spec;
}

gboolean
hg_detector_score (HgDetector  *detector,
                   HgContext   *ctx,
                   const float *x,
                   int          n,
                   const float *probs,
                   guint64      seed,
                   float       *scores,
                   GError     **error)
{
  HgModel          *model;
  int               height, width, channels, k;
  gsize             floats;
  g_autofree float *base = NULL;
  g_autofree float *squeezed = NULL;
  g_autofree float *sprobs = NULL;

  g_return_val_if_fail (detector != NULL && ctx != NULL, FALSE);
  g_return_val_if_fail (n >= 0 && n <= HG_MODEL_MAX_BATCH, FALSE);

  model = hg_context_get_model (ctx);
  hg_model_get_input_size (model, &height, &width, &channels);
  k = hg_model_get_n_classes (model);
  if (channels != 3)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("feature squeezing needs RGB input, but the model takes %d channels"), channels);
      return FALSE;
    }
  if (n == 0)
    return TRUE;

  floats = (gsize) channels * height * width;
  sprobs = g_new (float, (gsize) n *k);
  if (probs == NULL)
    {
      base = g_new (float, (gsize) n *k);
      if (!hg_model_predict (ctx, x, n, base))
        goto failed;
      hg_softmax (base, n, k, base);
      probs = base;
    }

  for (int i = 0; i < n; i++)
    scores[i] = 0;
  squeezed = g_new (float, (gsize) n *floats);
  for (guint s = 0; s < detector->squeezers->len; s++)
    {
      hg_defense_apply (detector->squeezers->pdata[s], x, n, width, height, seed + s, squeezed);
      if (!hg_model_predict (ctx, squeezed, n, sprobs))
        goto failed;
      hg_softmax (sprobs, n, k, sprobs);
      for (int i = 0; i < n; i++)
        {
          double l1 = 0;

          for (int c = 0; c < k; c++)
            l1 += fabsf (probs[(gsize) i * k + c] - sprobs[(gsize) i * k + c]);
          scores[i] = MAX (scores[i], (float) l1);
        }
    }
  return TRUE;

failed:
  g_set_error (error, HG_ERROR, HG_ERROR_FAILED,
               _ ("the model could not run this batch (wrong input size or out of memory)"));
  return FALSE;
}

static int
compare_float (gconstpointer a,
               gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

double
hg_detector_calibrate (HgDetector  *detector,
                       const float *clean_scores,
                       gsize        n,
                       double       fpr)
{
  g_autofree float *sorted = NULL;
  gsize             allowed;

  g_return_val_if_fail (detector != NULL, NAN);
  g_return_val_if_fail (fpr >= 0 && fpr <= 1, NAN);

  if (n == 0)
    {
      detector->threshold = INFINITY;
      return detector->threshold;
    }

  /* At most `allowed` scores may lie above the threshold: take the
   * (allowed + 1)-th largest; ties at it are not flagged. */
  sorted = g_memdup2 (clean_scores, n * sizeof (float));
  qsort (sorted, n, sizeof (float), compare_float);
  allowed = (gsize) floor (fpr * n);
  detector->threshold = allowed >= n ? -INFINITY : sorted[n - 1 - allowed];
  return detector->threshold;
}

double
hg_detector_get_threshold (HgDetector *detector)
{
  g_return_val_if_fail (detector != NULL, NAN);
  return detector->threshold;
}

void
hg_detector_set_threshold (HgDetector *detector,
                           double      threshold)
{
  g_return_if_fail (detector != NULL);
  detector->threshold = threshold;
}

gboolean
hg_detector_is_flagged (HgDetector *detector,
                        float       score)
{
  g_return_val_if_fail (detector != NULL, FALSE);
  return score > detector->threshold;
}
