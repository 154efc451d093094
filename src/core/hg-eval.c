/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The evaluation protocol of hg-eval.h: jobs of (attack, crafting defence,
 * ε values, defences to evaluate through), each run over batches of the
 * data by a few threads with one HgContext each. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-eval.h"

#include "hg-rng-private.h"

/* Seed tags: what a derived seed is for. */
#define TAG_ATTACK 1
#define TAG_DEFENSE 2
#define TAG_DETECTOR 3

void
hg_eval_options_init (HgEvalOptions *options)
{
  g_return_if_fail (options != NULL);

  *options = (HgEvalOptions){
    .models = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_model_unref),
    .model_names = g_ptr_array_new_with_free_func (g_free),
    .defenses = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_defense_unref),
    .attacks = g_array_new (FALSE, FALSE, sizeof (HgAttackKind)),
    .eps = g_array_new (FALSE, FALSE, sizeof (double)),
    .steps = 10,
    .restarts = 1,
    .eot_samples = 0,
    .adaptive = FALSE,
    .detector = NULL,
    .detector_fpr = 0.05,
    .seed = 0,
    .n_threads = 0,
    .batch_size = 64,
  };
}

void
hg_eval_options_clear (HgEvalOptions *options)
{
  g_return_if_fail (options != NULL);

  g_clear_pointer (&options->models, g_ptr_array_unref);
  g_clear_pointer (&options->model_names, g_ptr_array_unref);
  g_clear_pointer (&options->defenses, g_ptr_array_unref);
  g_clear_pointer (&options->attacks, g_array_unref);
  g_clear_pointer (&options->eps, g_array_unref);
  g_clear_pointer (&options->detector, hg_detector_unref);
}

static guint64
derive_seed (guint64 seed,
             guint64 a,
             guint64 b,
             guint64 c,
             guint64 d)
{
  guint64 h = hg_rng_mix (seed ^ 0x6576616c);

  h = hg_rng_mix (h ^ a);
  h = hg_rng_mix (h ^ b);
  h = hg_rng_mix (h ^ c);
  return hg_rng_mix (h ^ d);
}

/* ---- jobs ----------------------------------------------------------------- */

/* What one defence predicted for every sample. */
typedef struct
{
  int   *pred;
  float *p1;   /* probability of class 1 */
  float *conf; /* probability of the predicted class */
} Outcome;

typedef enum
{
  JOB_CLEAN,    /* ε-list {0}, no attack */
  JOB_ATTACK,   /* an ε-attack, crafted on the bare model or through a defence */
  JOB_DEEPFOOL, /* minimal perturbations */
  JOB_SCORE,    /* detector scores of clean calibration data */
} JobKind;

typedef struct
{
  JobKind      kind;
  HgAttackKind attack;
  HgNorm       norm;        /* DeepFool */
  HgDefense   *craft;       /* NULL: crafted on the bare model */
  guint        craft_index; /* index of craft in options->defenses */
  guint       *eval_index;  /* defences to evaluate through (indices) */
  guint        n_eval;
  gboolean     detect;  /* score the attacked inputs with the detector */
  guint        id;      /* for seeds */
  Outcome     *out;     /* [eps][eval] */
  float      **scores;  /* [eps], detector scores, or NULL */
  double      *norms;   /* DeepFool: per sample */
  gboolean    *flipped; /* DeepFool: per sample */
  double       cost;    /* per batch, for progress */
} Job;

typedef struct
{
  const HgEvalOptions *options;
  const HgEvalData    *data;
  HgModel             *model;
  guint                model_index;
  const char          *model_name;
  int                  n_classes;
  gsize                floats;
  int                  batch_size;
  int                  n_batches;
  const double        *eps;
  guint                n_eps;

  /* The job now running, and its batch dispenser. */
  Job *job;
  gint next_batch;

  HgEvalProgressFunc progress;
  gpointer           progress_data;
  GCancellable      *cancellable;
  GMutex             lock;
  double             done, total; /* cost units */
  char              *stage;
  GError            *error; /* the first failure */
  gint               failed;
} Run;

static void
run_fail (Run    *run,
          GError *error)
{
  g_mutex_lock (&run->lock);
  if (run->error == NULL)
    run->error = error;
  else
    g_error_free (error);
  g_atomic_int_set (&run->failed, 1);
  g_mutex_unlock (&run->lock);
}

static void
run_progress (Run   *run,
              double cost)
{
  g_mutex_lock (&run->lock);
  run->done += cost;
  if (run->progress != NULL)
    run->progress (run->total > 0 ? MIN (run->done / run->total, 1.0) : 1.0, run->stage, run->progress_data);
  g_mutex_unlock (&run->lock);
}

static void
outcome_store (Outcome     *out,
               gsize        start,
               const float *probs,
               int          m,
               int          k)
{
  for (int i = 0; i < m; i++)
    {
      const float *p = probs + (gsize) i * k;
      int          best = 0;

      for (int c = 1; c < k; c++)
        if (p[c] > p[best])
          best = c;
      out->pred[start + i] = best;
      out->p1[start + i] = p[1];
      out->conf[start + i] = p[best];
    }
}

/* Everything one batch of one job needs, per thread. */
typedef struct
{
  HgContext *ctx;
  float     *xa;     /* attacked batch */
  float     *xd;     /* defended batch */
  float     *grad;   /* FGSM's gradient */
  float     *logits; /* then probabilities */
  float     *bare_probs;
} Worker;

static gboolean
evaluate_batch (Run         *run,
                Worker      *w,
                const Job   *job,
                guint        e,
                const float *xa,
                int          b,
                gsize        start,
                int          m,
                GError     **error)
{
  const HgEvalOptions *opt = run->options;
  const HgEvalData    *data = run->data;
  gboolean             have_bare = FALSE;

  for (guint d = 0; d < job->n_eval; d++)
    {
      guint        index = job->eval_index[d];
      HgDefense   *defense = opt->defenses->pdata[index];
      const float *in = xa;

      if (!hg_defense_is_identity (defense))
        {
          hg_defense_apply (defense, xa, m, data->width, data->height,
                            derive_seed (opt->seed, TAG_DEFENSE, run->model_index, index, b), w->xd);
          in = w->xd;
        }
      if (!hg_model_predict (w->ctx, in, m, w->logits))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("model '%s' could not run a batch"), run->model_name);
          return FALSE;
        }
      hg_softmax (w->logits, m, run->n_classes, w->logits);
      outcome_store (&job->out[e * job->n_eval + d], start, w->logits, m, run->n_classes);
      if (hg_defense_is_identity (defense))
        {
          memcpy (w->bare_probs, w->logits, (gsize) m * run->n_classes * sizeof (float));
          have_bare = TRUE;
        }
    }

  if (job->scores != NULL)
    return hg_detector_score (opt->detector, w->ctx, xa, m, have_bare ? w->bare_probs : NULL,
                              derive_seed (opt->seed, TAG_DETECTOR, run->model_index, 0, b),
                              job->scores[e] + start, error);
  return TRUE;
}

static gboolean
run_batch (Run     *run,
           Worker  *w,
           int      b,
           GError **error)
{
  const HgEvalOptions *opt = run->options;
  const HgEvalData    *data = run->data;
  Job                 *job = run->job;
  gsize                start = (gsize) b * run->batch_size;
  int                  m = (int) MIN ((gsize) run->batch_size, data->n - start);
  const float         *x = data->x + start * run->floats;
  const int           *labels = data->labels + start;
  gsize                count = (gsize) m * run->floats;
  gboolean             have_grad = FALSE;

  if (job->kind == JOB_SCORE)
    return hg_detector_score (opt->detector, w->ctx, x, m, NULL,
                              derive_seed (opt->seed, TAG_DETECTOR, run->model_index, 1, b),
                              job->scores[0] + start, error);

  if (job->kind == JOB_CLEAN)
    return evaluate_batch (run, w, job, 0, x, b, start, m, error);

  if (job->kind == JOB_DEEPFOOL)
    {
      HgAttackParams     params;
      g_autofree double *linf = g_new (double, m);
      g_autofree double *l2 = g_new (double, m);
      g_autofree float  *clean = g_new (float, (gsize) m * run->n_classes);

      hg_attack_params_init (&params, HG_ATTACK_DEEPFOOL, 0);
      params.norm = job->norm;
      params.steps = 50;
      if (!hg_attack_run (w->ctx, &params, x, labels, m, w->xa, run->cancellable, error))
        return FALSE;
      if (!hg_model_predict (w->ctx, x, m, clean) || !hg_model_predict (w->ctx, w->xa, m, w->logits))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("model '%s' could not run a batch"), run->model_name);
          return FALSE;
        }
      hg_attack_perturbation_norms (x, w->xa, m, run->floats, linf, l2);
      for (int i = 0; i < m; i++)
        {
          const float *a = clean + (gsize) i * run->n_classes;
          const float *z = w->logits + (gsize) i * run->n_classes;
          int          pa = 0, pz = 0;

          for (int c = 1; c < run->n_classes; c++)
            {
              if (a[c] > a[pa])
                pa = c;
              if (z[c] > z[pz])
                pz = c;
            }
          job->flipped[start + i] = pa != pz;
          job->norms[start + i] = job->norm == HG_NORM_LINF ? linf[i] : l2[i];
        }
      return TRUE;
    }

  for (guint e = 0; e < run->n_eps; e++)
    {
      double         eps = run->eps[e];
      HgAttackParams params;

      if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
        return FALSE;

      hg_attack_params_init (&params, job->attack, eps);
      params.steps = opt->steps;
      params.restarts = opt->restarts;
      params.eot_samples = opt->eot_samples;
      params.defense = job->craft;
      params.seed = derive_seed (opt->seed, TAG_ATTACK, run->model_index, job->id * 1000 + e, b);

      if (eps == 0)
        memcpy (w->xa, x, count * sizeof (float));
      else if (job->attack == HG_ATTACK_FGSM)
        {
          /* One gradient serves every ε. */
          if (!have_grad && !hg_attack_input_gradient (w->ctx, &params, x, labels, m, NULL, w->grad, error))
            return FALSE;
          have_grad = TRUE;
          hg_attack_fgsm_step (x, w->grad, count, eps, w->xa);
        }
      else if (!hg_attack_run (w->ctx, &params, x, labels, m, w->xa, run->cancellable, error))
        return FALSE;

      if (!evaluate_batch (run, w, job, e, w->xa, b, start, m, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  Run       *run;
  HgContext *ctx;
} WorkerArgs;

static gpointer
worker_main (gpointer user_data)
{
  WorkerArgs *args = user_data;
  Run        *run = args->run;
  gsize       cap = (gsize) run->batch_size * run->floats;
  gsize       classes = (gsize) run->batch_size * run->n_classes;
  Worker      w = {
         .ctx = args->ctx,
         .xa = g_new (float, cap),
         .xd = g_new (float, cap),
         .grad = g_new (float, cap),
         .logits = g_new (float, classes),
         .bare_probs = g_new (float, classes),
  };

  while (!g_atomic_int_get (&run->failed))
    {
      int     b = g_atomic_int_add (&run->next_batch, 1);
      GError *error = NULL;

      if (b >= run->n_batches)
        break;
      if (!run_batch (run, &w, b, &error))
        {
          run_fail (run, error);
          break;
        }
      run_progress (run, run->job->cost);
    }

  g_free (w.xa);
  g_free (w.xd);
  g_free (w.grad);
  g_free (w.logits);
  g_free (w.bare_probs);
  return NULL;
}

static int
n_threads_for (const HgEvalOptions *options,
               int                  n_batches)
{
  int n = options->n_threads > 0 ? options->n_threads : (int) g_get_num_processors ();

  return CLAMP (n, 1, MAX (n_batches, 1));
}

/* Runs the job over every batch; TRUE unless something failed. */
static gboolean
run_job (Run        *run,
         Job        *job,
         HgContext **contexts,
         int         n_threads,
         const char *stage)
{
  g_autofree GThread   **threads = g_new0 (GThread *, n_threads);
  g_autofree WorkerArgs *args = g_new (WorkerArgs, n_threads);

  g_mutex_lock (&run->lock);
  g_free (run->stage);
  run->stage = g_strdup (stage);
  g_mutex_unlock (&run->lock);

  run->job = job;
  run->next_batch = 0;
  for (int t = 0; t < n_threads; t++)
    {
      args[t] = (WorkerArgs){ run, contexts[t] };
      if (t > 0)
        threads[t] = g_thread_new ("hg-eval", worker_main, &args[t]);
    }
  worker_main (&args[0]);
  for (int t = 1; t < n_threads; t++)
    g_thread_join (threads[t]);
  return !g_atomic_int_get (&run->failed);
}

static void
job_alloc (Job     *job,
           gsize    n,
           guint    n_eps,
           guint    n_eval,
           gboolean detect)
{
  job->n_eval = n_eval;
  job->out = g_new0 (Outcome, (gsize) n_eps * n_eval);
  for (gsize i = 0; i < (gsize) n_eps * n_eval; i++)
    {
      job->out[i].pred = g_new (int, n);
      job->out[i].p1 = g_new (float, n);
      job->out[i].conf = g_new (float, n);
    }
  if (detect)
    {
      job->scores = g_new0 (float *, n_eps);
      for (guint e = 0; e < n_eps; e++)
        job->scores[e] = g_new (float, n);
    }
}

static void
job_free (Job  *job,
          guint n_eps)
{
  if (job->out != NULL)
    for (gsize i = 0; i < (gsize) n_eps * job->n_eval; i++)
      {
        g_free (job->out[i].pred);
        g_free (job->out[i].p1);
        g_free (job->out[i].conf);
      }
  if (job->scores != NULL)
    for (guint e = 0; e < n_eps; e++)
      g_free (job->scores[e]);
  g_free (job->out);
  g_free (job->scores);
  g_free (job->eval_index);
  g_free (job->norms);
  g_free (job->flipped);
}

/* ---- turning outcomes into rows ------------------------------------------- */

static void
add_result (HgEvalReport        *report,
            const HgEvalOptions *opt,
            const char          *model,
            const char          *defense,
            const char          *attack,
            double               eps,
            gboolean             adaptive,
            const HgEvalData    *data,
            const Outcome       *clean,
            const Outcome       *attacked)
{
  HgEvalResult r = {
    .model = g_strdup (model),
    .defense = g_strdup (defense),
    .attack = g_strdup (attack),
    .eps = eps,
    .adaptive = adaptive,
  };

  hg_metrics_compute (data->labels, attacked->pred, attacked->p1, attacked->conf, data->n,
                      opt->seed, &r.metrics);
  r.attack_success_rate = hg_metrics_attack_success_rate (data->labels, clean->pred, attacked->pred,
                                                          data->n, NULL);
  g_array_append_val (report->results, r);
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median_with_infinities (const double   *v,
                        const gboolean *ok,
                        gsize           n)
{
  g_autofree double *sorted = NULL;
  double             mid;

  if (n == 0)
    return NAN;
  sorted = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    sorted[i] = ok[i] ? v[i] : INFINITY;
  qsort (sorted, n, sizeof (double), compare_double);
  mid = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return isfinite (mid) ? mid : NAN;
}

void
hg_eval_report_update_flags (HgEvalReport *report)
{
  GArray *rows;

  g_return_if_fail (report != NULL);

  rows = report->results;
  g_array_set_size (report->flags, 0);

  for (guint i = 0; i < rows->len; i++)
    {
      const HgEvalResult *ad = &g_array_index (rows, HgEvalResult, i);
      const HgEvalResult *na = NULL, *bare = NULL;

      if (!ad->adaptive || ad->eps == 0)
        continue;
      for (guint j = 0; j < rows->len; j++)
        {
          const HgEvalResult *r = &g_array_index (rows, HgEvalResult, j);

          if (r->adaptive || r->eps != ad->eps || strcmp (r->model, ad->model) != 0 ||
              strcmp (r->attack, ad->attack) != 0)
            continue;
          if (strcmp (r->defense, ad->defense) == 0)
            na = r;
          else if (strcmp (r->defense, "none") == 0)
            bare = r;
        }
      if (na == NULL)
        continue;
      if (na->metrics.balanced_accuracy - ad->metrics.balanced_accuracy >= HG_EVAL_FLAG_DROP &&
          na->metrics.ba_ci95[0] > ad->metrics.ba_ci95[1])
        {
          HgEvalFlag flag = {
            .model = g_strdup (ad->model),
            .defense = g_strdup (ad->defense),
            .attack = g_strdup (ad->attack),
            .eps = ad->eps,
            .ba_non_adaptive = na->metrics.balanced_accuracy,
            .ba_adaptive = ad->metrics.balanced_accuracy,
            .ba_undefended = bare != NULL ? bare->metrics.balanced_accuracy : NAN,
          };

          g_array_append_val (report->flags, flag);
        }
    }
}

static void
clear_result (gpointer p)
{
  HgEvalResult *r = p;

  g_free (r->model);
  g_free (r->defense);
  g_free (r->attack);
}

static void
clear_deepfool (gpointer p)
{
  g_free (((HgEvalDeepFool *) p)->model);
}

static void
clear_detection (gpointer p)
{
  HgEvalDetection *d = p;

  g_free (d->model);
  g_free (d->attack);
}

static void
clear_flag (gpointer p)
{
  HgEvalFlag *f = p;

  g_free (f->model);
  g_free (f->defense);
  g_free (f->attack);
}

void
hg_eval_report_free (HgEvalReport *report)
{
  if (report == NULL)
    return;
  g_array_unref (report->results);
  g_array_unref (report->deepfool);
  g_array_unref (report->detection);
  g_array_unref (report->flags);
  g_free (report->detector);
  g_free (report);
}

HgEvalReport *
hg_eval_report_new (void)
{
  HgEvalReport *report = g_new0 (HgEvalReport, 1);

  report->results = g_array_new (FALSE, TRUE, sizeof (HgEvalResult));
  g_array_set_clear_func (report->results, clear_result);
  report->deepfool = g_array_new (FALSE, TRUE, sizeof (HgEvalDeepFool));
  g_array_set_clear_func (report->deepfool, clear_deepfool);
  report->detection = g_array_new (FALSE, TRUE, sizeof (HgEvalDetection));
  g_array_set_clear_func (report->detection, clear_detection);
  report->flags = g_array_new (FALSE, TRUE, sizeof (HgEvalFlag));
  g_array_set_clear_func (report->flags, clear_flag);
  return report;
}

/* ---- checking the request -------------------------------------------------- */

static gboolean
validate (const HgEvalOptions *opt,
          const HgEvalData    *data,
          const HgEvalData    *calibration,
          GError             **error)
{
  if (opt->models == NULL || opt->models->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("no model to evaluate"));
      return FALSE;
    }
  if (opt->model_names == NULL || opt->model_names->len != opt->models->len)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, "every model needs a name");
      return FALSE;
    }
  if (opt->defenses == NULL || opt->defenses->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("no defense to evaluate (use \"none\" for the bare model)"));
      return FALSE;
    }
  if (opt->attacks == NULL || opt->attacks->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("no attack to evaluate"));
      return FALSE;
    }
  for (guint e = 0; opt->eps != NULL && e < opt->eps->len; e++)
    {
      double eps = g_array_index (opt->eps, double, e);

      if (!(eps >= 0) || eps > HG_ATTACK_MAX_EPS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("epsilon must be between 0 and %g (in units of 1/255), got %g"), HG_ATTACK_MAX_EPS, eps);
          return FALSE;
        }
    }
  if (!(opt->detector_fpr >= 0 && opt->detector_fpr <= 1))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the detector's false-positive rate must be between 0 and 1, got %g"), opt->detector_fpr);
      return FALSE;
    }
  if (opt->batch_size < 1 || opt->batch_size > 4096)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("batch size must be from 1 to 4096, got %d"), opt->batch_size);
      return FALSE;
    }
  if (data == NULL || data->n == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("no samples to evaluate"));
      return FALSE;
    }
  for (gsize i = 0; i < data->n; i++)
    if (data->labels[i] != 0 && data->labels[i] != 1)
      {
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                     _ ("sample %zu has label %d; the evaluation is for two classes (0 and 1)"),
                     i, data->labels[i]);
        return FALSE;
      }
  if (calibration != NULL && calibration->n > 0 &&
      (calibration->width != data->width || calibration->height != data->height))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("calibration images are %d×%d but the evaluated ones %d×%d"),
                   calibration->width, calibration->height, data->width, data->height);
      return FALSE;
    }

  for (guint i = 0; i < opt->models->len; i++)
    {
      HgModel    *model = opt->models->pdata[i];
      const char *name = opt->model_names->pdata[i];
      int         height, width, channels;

      hg_model_get_input_size (model, &height, &width, &channels);
      if (width != data->width || height != data->height || channels != 3)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("model '%s' takes %d×%d images with %d channels, but the data are %d×%d RGB"),
                       name, width, height, channels, data->width, data->height);
          return FALSE;
        }
      if (hg_model_get_n_classes (model) != 2)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("model '%s' has %d classes; the evaluation's metrics are for two (non-IDC, IDC)"),
                       name, hg_model_get_n_classes (model));
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the protocol ---------------------------------------------------------- */

static double
attack_cost (const HgEvalOptions *opt,
             HgAttackKind         kind,
             HgDefense           *craft,
             guint                n_eps)
{
  int    eot = 1;
  double per_eps;

  if (craft != NULL && hg_defense_is_randomized (craft))
    eot = opt->eot_samples > 0 ? opt->eot_samples : 8;
  switch (kind)
    {
    case HG_ATTACK_FGSM:
      return 3.0 * eot; /* one gradient for all ε */
    case HG_ATTACK_PGD:
      per_eps = (3.0 * opt->steps * eot + 1) * opt->restarts;
      break;
    case HG_ATTACK_BIM:
    case HG_ATTACK_MIFGSM:
    case HG_ATTACK_DEEPFOOL:
    default:
      per_eps = 3.0 * opt->steps * eot + 1;
      break;
    }
  return per_eps * n_eps;
}

static gboolean
evaluate_model (Run              *run,
                HgEvalReport     *report,
                HgContext       **contexts,
                int               n_threads,
                const HgEvalData *calibration)
{
  const HgEvalOptions *opt = run->options;
  const HgEvalData    *data = run->data;
  guint                n_def = opt->defenses->len;
  guint                n_eps = run->n_eps;
  gsize                n = data->n;
  Job                  clean = { .kind = JOB_CLEAN };
  g_autoptr (GPtrArray) jobs = g_ptr_array_new ();
  gboolean ok = TRUE;
  guint    job_id = 1;
  double   calib_threshold = NAN;
  gboolean calib_own = FALSE;

  /* Clean predictions of every defence (and clean detector scores). */
  clean.eval_index = g_new (guint, n_def);
  for (guint d = 0; d < n_def; d++)
    clean.eval_index[d] = d;
  job_alloc (&clean, n, 1, n_def, opt->detector != NULL);
  clean.cost = n_def * (1.0 + (opt->detector != NULL ? 2 : 0));

  /* The attack jobs. */
  for (guint a = 0; a < opt->attacks->len; a++)
    {
      HgAttackKind kind = g_array_index (opt->attacks, HgAttackKind, a);

      if (kind == HG_ATTACK_DEEPFOOL)
        {
          for (int norm = HG_NORM_LINF; norm <= HG_NORM_L2; norm++)
            {
              Job *job = g_new0 (Job, 1);

              job->kind = JOB_DEEPFOOL;
              job->attack = kind;
              job->norm = norm;
              job->id = job_id++;
              job->norms = g_new (double, n);
              job->flipped = g_new (gboolean, n);
              job->cost = 3.0 * 5 + 2; /* a handful of iterations, typically */
              g_ptr_array_add (jobs, job);
            }
          continue;
        }
      if (n_eps == 0)
        continue;

      {
        Job *job = g_new0 (Job, 1);

        job->kind = JOB_ATTACK;
        job->attack = kind;
        job->id = job_id++;
        job->eval_index = g_new (guint, n_def);
        for (guint d = 0; d < n_def; d++)
          job->eval_index[d] = d;
        job_alloc (job, n, n_eps, n_def, opt->detector != NULL);
        job->detect = opt->detector != NULL;
        job->cost = attack_cost (opt, kind, NULL, n_eps) + n_eps * n_def * (1.0 + (job->detect ? 2 : 0));
        g_ptr_array_add (jobs, job);
      }
      if (!opt->adaptive)
        continue;
      for (guint d = 0; d < n_def; d++)
        {
          HgDefense *defense = opt->defenses->pdata[d];
          Job       *job;

          if (hg_defense_is_identity (defense))
            continue;
          job = g_new0 (Job, 1);
          job->kind = JOB_ATTACK;
          job->attack = kind;
          job->craft = defense;
          job->craft_index = d;
          job->id = job_id++;
          job->eval_index = g_new (guint, 1);
          job->eval_index[0] = d;
          job_alloc (job, n, n_eps, 1, FALSE);
          job->cost = attack_cost (opt, kind, defense, n_eps) * 1.3 + n_eps;
          g_ptr_array_add (jobs, job);
        }
    }

  /* Run them. */
  {
    g_autofree char *stage = g_strdup_printf ("%s · clean", run->model_name);

    ok = run_job (run, &clean, contexts, n_threads, stage);
  }
  for (guint j = 0; ok && j < jobs->len; j++)
    {
      Job             *job = jobs->pdata[j];
      g_autofree char *stage = NULL;

      if (job->kind == JOB_DEEPFOOL)
        stage = g_strdup_printf ("%s · deepfool %s", run->model_name, job->norm == HG_NORM_LINF ? "L∞" : "L2");
      else if (job->craft != NULL)
        stage = g_strdup_printf ("%s · %s · adaptive vs %s", run->model_name,
                                 hg_attack_kind_to_string (job->attack), hg_defense_get_spec (job->craft));
      else
        stage = g_strdup_printf ("%s · %s", run->model_name, hg_attack_kind_to_string (job->attack));
      ok = run_job (run, job, contexts, n_threads, stage);
    }

  /* The detector's threshold, from clean calibration data if given. */
  if (ok && opt->detector != NULL)
    {
      if (calibration != NULL && calibration->n > 0)
        {
          /* The same machinery on the calibration data, silently. */
          const HgEvalData  *saved_data = run->data;
          int                saved_batches = run->n_batches;
          HgEvalProgressFunc saved_progress = run->progress;
          Job                score = { .kind = JOB_SCORE };
          g_autofree char   *stage = g_strdup_printf ("%s · detector calibration", run->model_name);

          run->data = calibration;
          run->n_batches = (int) ((calibration->n + run->batch_size - 1) / run->batch_size);
          run->progress = NULL;
          score.scores = g_new0 (float *, 1);
          score.scores[0] = g_new (float, calibration->n);
          ok = run_job (run, &score, contexts, n_threads, stage);
          if (ok)
            calib_threshold = hg_detector_calibrate (opt->detector, score.scores[0], calibration->n, opt->detector_fpr);
          run->data = saved_data;
          run->n_batches = saved_batches;
          run->progress = saved_progress;
          g_free (score.scores[0]);
          g_free (score.scores);
        }
      else
        {
          calib_threshold = hg_detector_calibrate (opt->detector, clean.scores[0], n, opt->detector_fpr);
          calib_own = TRUE;
        }
    }

  /* Rows: per defence, per attack, non-adaptive then adaptive, per ε. */
  if (ok)
    {
      for (guint d = 0; d < n_def; d++)
        {
          HgDefense  *defense = opt->defenses->pdata[d];
          const char *spec = hg_defense_get_spec (defense);

          for (guint j = 0; j < jobs->len; j++)
            {
              Job        *job = jobs->pdata[j];
              const char *attack = hg_attack_kind_to_string (job->attack);
              guint       slot = 0;

              if (job->kind != JOB_ATTACK)
                continue;
              if (job->craft != NULL && job->craft_index != d)
                continue;
              if (job->craft == NULL)
                slot = d;

              for (guint e = 0; e < n_eps; e++)
                add_result (report, opt, run->model_name, spec, attack, run->eps[e], job->craft != NULL, data,
                            &clean.out[d], &job->out[e * job->n_eval + slot]);
            }
        }

      for (guint j = 0; j < jobs->len; j++)
        {
          Job *job = jobs->pdata[j];

          if (job->kind == JOB_DEEPFOOL)
            {
              HgEvalDeepFool df = {
                .model = g_strdup (run->model_name),
                .norm = job->norm,
                .n = n,
              };

              for (gsize i = 0; i < n; i++)
                df.flipped += job->flipped[i] != 0;
              df.median = median_with_infinities (job->norms, job->flipped, n);
              g_array_append_val (report->deepfool, df);
            }
          else if (job->detect)
            {
              /* The bare model's clean outcome tells which inputs the
               * attack fooled: detection counts only those. */
              int bare = -1;

              for (guint d = 0; d < n_def; d++)
                if (hg_defense_is_identity (opt->defenses->pdata[d]))
                  bare = (int) d;

              for (guint e = 0; e < n_eps; e++)
                {
                  HgEvalDetection det = {
                    .model = g_strdup (run->model_name),
                    .attack = g_strdup (hg_attack_kind_to_string (job->attack)),
                    .eps = run->eps[e],
                    .threshold = calib_threshold,
                    .target_fpr = opt->detector_fpr,
                    .calibrated_on_evaluated_data = calib_own,
                  };
                  gsize false_pos = 0, flagged = 0;

                  for (gsize i = 0; i < n; i++)
                    {
                      false_pos += hg_detector_is_flagged (opt->detector, clean.scores[0][i]);
                      if (bare >= 0 && clean.out[bare].pred[i] == data->labels[i] &&
                          job->out[e * job->n_eval + bare].pred[i] != data->labels[i])
                        {
                          det.n_adversarial++;
                          flagged += hg_detector_is_flagged (opt->detector, job->scores[e][i]);
                        }
                    }
                  det.fpr = (double) false_pos / n;
                  det.detection_rate = det.n_adversarial > 0 ? (double) flagged / det.n_adversarial : NAN;
                  if (bare >= 0 && run->eps[e] > 0)
                    g_array_append_val (report->detection, det);
                  else
                    clear_detection (&det);
                }
            }
        }
    }

  job_free (&clean, 1);
  for (guint j = 0; j < jobs->len; j++)
    {
      job_free (jobs->pdata[j], n_eps);
      g_free (jobs->pdata[j]);
    }
  return ok;
}

HgEvalReport *
hg_eval_run (const HgEvalOptions *options,
             const HgEvalData    *data,
             const HgEvalData    *calibration,
             HgEvalProgressFunc   progress,
             gpointer             user_data,
             GCancellable        *cancellable,
             GError             **error)
{
  g_autoptr (HgEvalReport) report = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  Run      run = { 0 };
  gboolean ok = TRUE;

  g_return_val_if_fail (options != NULL, NULL);

  if (!validate (options, data, calibration, error))
    return NULL;

  report = hg_eval_report_new ();
  report->n = data->n;
  for (gsize i = 0; i < data->n; i++)
    report->n_positive += data->labels[i] == 1;
  report->n_negative = data->n - report->n_positive;
  report->steps = options->steps;
  report->restarts = options->restarts;
  report->eot_samples = options->eot_samples;
  report->seed = options->seed;
  report->detector = options->detector != NULL ? g_strdup (hg_detector_get_spec (options->detector)) : NULL;

  run.options = options;
  run.data = data;
  run.floats = (gsize) 3 * data->width * data->height;
  run.batch_size = options->batch_size;
  run.n_batches = (int) ((data->n + options->batch_size - 1) / options->batch_size);
  run.eps = options->eps != NULL ? (const double *) (gpointer) options->eps->data : NULL;
  run.n_eps = options->eps != NULL ? options->eps->len : 0;
  run.progress = progress;
  run.progress_data = user_data;
  run.cancellable = cancellable;
  g_mutex_init (&run.lock);

  /* The total cost, for the progress bar: the same jobs as below. */
  {
    double per_batch = 0;
    guint  n_def = options->defenses->len;
    double det = options->detector != NULL ? 2 : 0;

    per_batch += n_def * (1 + det);
    for (guint a = 0; a < options->attacks->len; a++)
      {
        HgAttackKind kind = g_array_index (options->attacks, HgAttackKind, a);

        if (kind == HG_ATTACK_DEEPFOOL)
          {
            per_batch += 2 * (3.0 * 5 + 2);
            continue;
          }
        if (run.n_eps == 0)
          continue;
        per_batch += attack_cost (options, kind, NULL, run.n_eps) + run.n_eps * n_def * (1 + det);
        if (options->adaptive)
          for (guint d = 0; d < n_def; d++)
            if (!hg_defense_is_identity (options->defenses->pdata[d]))
              per_batch += attack_cost (options, kind, options->defenses->pdata[d], run.n_eps) * 1.3 + run.n_eps;
      }
    run.total = per_batch * run.n_batches * options->models->len;
  }

  for (guint m = 0; ok && m < options->models->len; m++)
    {
      int         n_threads = n_threads_for (options, run.n_batches);
      HgContext **contexts = g_new0 (HgContext *, n_threads);

      run.model = options->models->pdata[m];
      run.model_index = m;
      run.model_name = options->model_names->pdata[m];
      run.n_classes = hg_model_get_n_classes (run.model);
      for (int t = 0; t < n_threads; t++)
        contexts[t] = hg_context_new (run.model);

      ok = evaluate_model (&run, report, contexts, n_threads, calibration);

      for (int t = 0; t < n_threads; t++)
        hg_context_free (contexts[t]);
      g_free (contexts);
    }

  g_free (run.stage);
  g_mutex_clear (&run.lock);
  if (!ok)
    {
      g_propagate_error (error, run.error);
      return NULL;
    }

  hg_eval_report_update_flags (report);
  report->seconds = g_timer_elapsed (timer, NULL);
  return g_steal_pointer (&report);
}
