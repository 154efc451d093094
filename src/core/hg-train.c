/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-train.h"

#include "hg-model-private.h"
#include "hg-rng-private.h"

/* Streams of the seeded generator, so that no two uses share numbers. */
#define STREAM_SHUFFLE G_GUINT64_CONSTANT (0x73687566)     /* "shuf" */
#define STREAM_ATTACK G_GUINT64_CONSTANT (0x61747463)      /* "attc" */
#define STREAM_CHECK G_GUINT64_CONSTANT (0x63686b73)       /* "chks" */
#define STREAM_DROPOUT G_GUINT64_CONSTANT (0x64726f70)     /* "drop" */
#define STREAM_DROPOUT_ADV G_GUINT64_CONSTANT (0x64726f61) /* "droa" */

/* Samples classified per call during validation. */
#define EVAL_BATCH 256
/* Robustness-check samples per hg_attack_run call. */
#define CHECK_BATCH 128
#define DEFAULT_ROBUST_VAL_N 512

struct _HgTrainer
{
  HgModel       *model;
  HgDataset     *train;
  HgDataset     *val;
  HgTrainOptions options;
  HgContext     *ctx;
  HgContext     *adv_ctx; /* trades: the adversarial batch's pass */
  HgOptimizer   *optimizer;
  int            n_classes;
  gsize          sample_floats;
  float         *class_weight; /* n_classes */

  /* The fixed validation subset of the robustness check. */
  gsize  robust_n;
  float *robust_x;
  int   *robust_labels;

  /* The weight average (options.ema > 0), validated instead of model. */
  HgModel   *ema_model;
  HgContext *ema_ctx;

  GArray  *history; /* HgEpochReport */
  HgModel *best_model;
  int      best_index; /* into history, or -1 */
  double   best_pgd_ba;
  gboolean stopped_on_overfit;
};

/* ---- Names and options --------------------------------------------------- */

static const char *const adv_names[] = { "none", "fgsm", "fgsm-rs", "pgd", "trades" };
static const char *const select_names[] = { "clean", "robust", "mean" };

const char *
hg_adv_training_to_string (HgAdvTraining adv)
{
  g_return_val_if_fail ((guint) adv < G_N_ELEMENTS (adv_names), "none");
  return adv_names[adv];
}

gboolean
hg_adv_training_from_string (const char    *name,
                             HgAdvTraining *adv)
{
  for (guint i = 0; i < G_N_ELEMENTS (adv_names); i++)
    if (g_strcmp0 (name, adv_names[i]) == 0)
      {
        *adv = (HgAdvTraining) i;
        return TRUE;
      }
  return FALSE;
}

const char *
hg_select_to_string (HgSelect select)
{
  g_return_val_if_fail ((guint) select < G_N_ELEMENTS (select_names), "clean");
  return select_names[select];
}

gboolean
hg_select_from_string (const char *name,
                       HgSelect   *select)
{
  for (guint i = 0; i < G_N_ELEMENTS (select_names); i++)
    if (g_strcmp0 (name, select_names[i]) == 0)
      {
        *select = (HgSelect) i;
        return TRUE;
      }
  return FALSE;
}

void
hg_train_options_init (HgTrainOptions *options)
{
  HgAugment augment = HG_AUGMENT_INIT_DEFAULT;

  memset (options, 0, sizeof *options);
  options->epochs = 10;
  options->batch_size = 128;
  options->optimizer = HG_OPTIMIZER_SGD;
  options->lr = 0.05f;
  options->min_lr = 0.0f;
  options->momentum = 0.9f;
  options->weight_decay = 5e-4f;
  options->schedule = HG_LR_ONE_CYCLE;
  options->seed = 1;
  options->augment = TRUE;
  options->augment_params = augment;
  options->balance = FALSE;
  options->adv = HG_ADV_NONE;
  options->eps = 4;
  options->step = 0;
  options->steps = 5;
  options->mix = -1;
  options->beta = 6;
  options->robust_val_n = -1;
  options->robust_val_steps = 10;
  options->select = HG_SELECT_CLEAN;
  options->stop_on_overfit = TRUE;
  options->ema = 0;
}

static double
resolved_mix (const HgTrainOptions *o)
{
  if (o->mix >= 0)
    return o->mix;
  return o->adv == HG_ADV_FGSM ? 0.5 : 1.0;
}

/* Step size of the training attack, in 1/255. */
static double
resolved_step (const HgTrainOptions *o)
{
  switch (o->adv)
    {
    case HG_ADV_FGSM:
      return o->eps;
    case HG_ADV_FGSM_RS:
      return o->step > 0 ? o->step : 1.25 * o->eps;
    case HG_ADV_PGD:
    case HG_ADV_TRADES:
      return o->step > 0 ? o->step : 2.5 * o->eps / MAX (o->steps, 1);
    case HG_ADV_NONE:
    default:
      return 0;
    }
}

static int
resolved_robust_n (const HgTrainOptions *o)
{
  if (o->robust_val_n >= 0)
    return o->robust_val_n;
  return o->adv != HG_ADV_NONE ? DEFAULT_ROBUST_VAL_N : 0;
}

static const char *
schedule_name (HgLrScheduleKind kind)
{
  switch (kind)
    {
    case HG_LR_CONSTANT:
      return "constant";
    case HG_LR_STEP:
      return "step";
    case HG_LR_COSINE:
      return "cosine";
    case HG_LR_ONE_CYCLE:
      return "one-cycle";
    default:
      return "?";
    }
}

char *
hg_train_options_to_json (const HgTrainOptions *o)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, o->epochs);
  json_builder_set_member_name (b, "batch");
  json_builder_add_int_value (b, o->batch_size);
  json_builder_set_member_name (b, "optimizer");
  json_builder_add_string_value (b, o->optimizer == HG_OPTIMIZER_ADAM ? "adam" : "sgd");
  json_builder_set_member_name (b, "lr");
  json_builder_add_double_value (b, o->lr);
  json_builder_set_member_name (b, "min_lr");
  json_builder_add_double_value (b, o->min_lr);
  json_builder_set_member_name (b, "momentum");
  json_builder_add_double_value (b, o->momentum);
  json_builder_set_member_name (b, "weight_decay");
  json_builder_add_double_value (b, o->weight_decay);
  json_builder_set_member_name (b, "schedule");
  json_builder_add_string_value (b, schedule_name (o->schedule));
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) o->seed);
  json_builder_set_member_name (b, "augment");
  if (o->augment)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "flip");
      json_builder_add_boolean_value (b, o->augment_params.flip);
      json_builder_set_member_name (b, "rotate");
      json_builder_add_boolean_value (b, o->augment_params.rotate);
      json_builder_set_member_name (b, "stain_scale");
      json_builder_add_double_value (b, o->augment_params.stain_scale);
      json_builder_set_member_name (b, "stain_shift");
      json_builder_add_double_value (b, o->augment_params.stain_shift);
      json_builder_end_object (b);
    }
  else
    json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "balance");
  json_builder_add_boolean_value (b, o->balance);
  json_builder_set_member_name (b, "adv");
  json_builder_add_string_value (b, hg_adv_training_to_string (o->adv));
  if (o->adv != HG_ADV_NONE)
    {
      json_builder_set_member_name (b, "eps");
      json_builder_add_double_value (b, o->eps);
      json_builder_set_member_name (b, "step");
      json_builder_add_double_value (b, resolved_step (o));
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, o->adv == HG_ADV_PGD || o->adv == HG_ADV_TRADES ? o->steps : 1);
      json_builder_set_member_name (b, "mix");
      json_builder_add_double_value (b, resolved_mix (o));
      if (o->adv == HG_ADV_TRADES)
        {
          json_builder_set_member_name (b, "beta");
          json_builder_add_double_value (b, o->beta);
        }
      json_builder_set_member_name (b, "craft_mode");
      json_builder_add_string_value (b, "training-no-update");
    }
  json_builder_set_member_name (b, "robust_val_n");
  json_builder_add_int_value (b, resolved_robust_n (o));
  json_builder_set_member_name (b, "robust_val_steps");
  json_builder_add_int_value (b, o->robust_val_steps);
  json_builder_set_member_name (b, "select");
  json_builder_add_string_value (b, hg_select_to_string (o->select));
  json_builder_set_member_name (b, "stop_on_overfit");
  json_builder_add_boolean_value (b, o->stop_on_overfit);
  json_builder_set_member_name (b, "ema");
  json_builder_add_double_value (b, o->ema);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* ---- Metrics ------------------------------------------------------------ */

static void
add_number (JsonBuilder *b,
            const char  *name,
            double       v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

char *
hg_train_metrics_to_json (const HgMetrics *m)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, (gint64) m->n);
  add_number (b, "accuracy", m->accuracy);
  add_number (b, "balanced_accuracy", m->balanced_accuracy);
  json_builder_set_member_name (b, "ba_ci95");
  if (isfinite (m->ba_ci95[0]) && isfinite (m->ba_ci95[1]))
    {
      json_builder_begin_array (b);
      json_builder_add_double_value (b, m->ba_ci95[0]);
      json_builder_add_double_value (b, m->ba_ci95[1]);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  add_number (b, "sensitivity", m->sensitivity);
  add_number (b, "specificity", m->specificity);
  add_number (b, "auc", m->auc);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* Metrics from probabilities (n × k): the binary ones for two classes,
 * accuracy and mean recall otherwise. */
static void
metrics_from_probs (const float *probs,
                    const int   *labels,
                    gsize        n,
                    int          k,
                    guint64      seed,
                    HgMetrics   *out)
{
  g_autofree int   *pred = g_new (int, MAX (n, 1));
  g_autofree float *score = g_new (float, MAX (n, 1));
  g_autofree float *conf = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    {
      const float *p = probs + i * k;
      int          best = 0;

      for (int c = 1; c < k; c++)
        if (p[c] > p[best])
          best = c;
      pred[i] = best;
      score[i] = k == 2 ? p[1] : 0;
      conf[i] = p[best];
    }

  if (k == 2)
    {
      hg_metrics_compute (labels, pred, score, conf, n, seed, out);
      return;
    }

  {
    g_autofree gsize *hits = g_new0 (gsize, k);
    g_autofree gsize *count = g_new0 (gsize, k);
    gsize             correct = 0;
    double            recall = 0;
    int               present = 0;

    memset (out, 0, sizeof *out);
    for (gsize i = 0; i < n; i++)
      {
        count[labels[i]]++;
        if (pred[i] == labels[i])
          {
            hits[labels[i]]++;
            correct++;
          }
      }
    for (int c = 0; c < k; c++)
      if (count[c] > 0)
        {
          recall += (double) hits[c] / count[c];
          present++;
        }
    out->n = n;
    out->accuracy = n > 0 ? (double) correct / n : NAN;
    out->balanced_accuracy = present > 0 ? recall / present : NAN;
    out->ba_ci95[0] = out->ba_ci95[1] = NAN;
    out->sensitivity = out->specificity = out->auc = NAN;
    out->mean_confidence = NAN;
  }
}

/* Classifies n samples (x contiguous) in slices; probs is n × k. */
static gboolean
predict_probs (HgContext   *ctx,
               const float *x,
               gsize        n,
               gsize        sample_floats,
               int          k,
               float       *probs,
               GError     **error)
{
  for (gsize i = 0; i < n; i += EVAL_BATCH)
    {
      int m = (int) MIN (EVAL_BATCH, n - i);

      if (!hg_model_predict (ctx, x + i * sample_floats, m, probs + i * k))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the model failed to classify a batch"));
          return FALSE;
        }
      hg_softmax (probs + i * k, m, k, probs + i * k);
    }
  return TRUE;
}

static gboolean
evaluate_dataset (HgContext *ctx,
                  HgDataset *dataset,
                  int        k,
                  guint64    seed,
                  HgMetrics *metrics,
                  GError   **error)
{
  gsize             n = hg_dataset_get_n_samples (dataset);
  gsize             floats = (gsize) 3 * hg_dataset_get_width (dataset) * hg_dataset_get_height (dataset);
  g_autofree float *probs = g_new (float, MAX (n, 1) * k);
  g_autofree int   *labels = g_new (int, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    labels[i] = hg_dataset_get_sample (dataset, (guint) i)->label;
  if (n > 0 && !predict_probs (ctx, hg_dataset_get_pixels (dataset, 0), n, floats, k, probs, error))
    return FALSE;
  metrics_from_probs (probs, labels, n, k, seed, metrics);
  return TRUE;
}

/* ---- Construction ------------------------------------------------------- */

void
hg_trainer_free (HgTrainer *trainer)
{
  if (trainer == NULL)
    return;
  g_clear_pointer (&trainer->optimizer, hg_optimizer_free);
  g_clear_pointer (&trainer->ctx, hg_context_free);
  g_clear_pointer (&trainer->adv_ctx, hg_context_free);
  g_clear_pointer (&trainer->ema_ctx, hg_context_free);
  g_clear_pointer (&trainer->ema_model, hg_model_unref);
  g_clear_pointer (&trainer->model, hg_model_unref);
  g_clear_pointer (&trainer->best_model, hg_model_unref);
  g_clear_pointer (&trainer->train, hg_dataset_unref);
  g_clear_pointer (&trainer->val, hg_dataset_unref);
  g_clear_pointer (&trainer->history, g_array_unref);
  g_free (trainer->class_weight);
  g_free (trainer->robust_x);
  g_free (trainer->robust_labels);
  g_free (trainer);
}

static gboolean
check_options (const HgTrainOptions *o,
               GError              **error)
{
#define FAIL(...)                                                          \
  G_STMT_START                                                             \
  {                                                                        \
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, __VA_ARGS__); \
    return FALSE;                                                          \
  }                                                                        \
  G_STMT_END

  if (o->epochs < 1 || o->epochs > HG_TRAIN_MAX_EPOCHS)
    FAIL (_ ("epochs must be from 1 to %d, not %d"), HG_TRAIN_MAX_EPOCHS, o->epochs);
  if (o->batch_size < 2 || o->batch_size > HG_TRAIN_MAX_BATCH)
    FAIL (_ ("the batch size must be from 2 to %d, not %d"), HG_TRAIN_MAX_BATCH, o->batch_size);
  if (!(o->lr > 0 && o->lr <= 10))
    FAIL (_ ("the learning rate must be above 0 and at most 10, not %g"), o->lr);
  if (!(o->min_lr >= 0 && o->min_lr <= o->lr))
    FAIL (_ ("the final learning rate must be from 0 to the learning rate %g, not %g"), o->lr, o->min_lr);
  if (!(o->momentum >= 0 && o->momentum < 1))
    FAIL (_ ("momentum must be in [0, 1), not %g"), o->momentum);
  if (!(o->weight_decay >= 0 && o->weight_decay < 1))
    FAIL (_ ("weight decay must be in [0, 1), not %g"), o->weight_decay);
  if (!(o->eps >= 0 && o->eps <= 255.0))
    FAIL (_ ("ε must be from 0 to %g (in 1/255), not %g"), 255.0, o->eps);
  if (o->adv != HG_ADV_NONE && o->eps <= 0)
    FAIL (_ ("adversarial training needs ε above 0"));
  if (!(o->step >= 0 && o->step <= 255.0))
    FAIL (_ ("the attack step must be from 0 to %g (in 1/255), not %g"), 255.0, o->step);
  if (o->steps < 1 || o->steps > 10000)
    FAIL (_ ("attack steps must be from 1 to %d, not %d"), 10000, o->steps);
  if (o->robust_val_steps < 1 || o->robust_val_steps > 10000)
    FAIL (_ ("validation attack steps must be from 1 to %d, not %d"), 10000,
          o->robust_val_steps);
  if (!(o->mix <= 1))
    FAIL (_ ("the adversarial fraction of a batch must be from 0 to 1, not %g"), o->mix);
  if (!(o->beta > 0 && o->beta <= 1000))
    FAIL (_ ("the TRADES weight β must be above 0 and at most %g, not %g"), 1000.0, o->beta);
  if (!(o->ema >= 0 && o->ema < 1))
    FAIL (_ ("the weight-average decay must be in [0, 1), not %g"), o->ema);
  if (o->select != HG_SELECT_CLEAN && resolved_robust_n (o) == 0)
    FAIL (_ ("selecting the best epoch by robustness needs a robustness check on validation"));
  return TRUE;
#undef FAIL
}

static gboolean
check_dataset (HgDataset  *ds,
               const char *what,
               int         h,
               int         w,
               int         k,
               GError    **error)
{
  if (!hg_dataset_is_loaded (ds) || hg_dataset_get_height (ds) != h || hg_dataset_get_width (ds) != w)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the %s images must be loaded at the model's input size %d×%d"), what, h, w);
      return FALSE;
    }
  if ((int) hg_dataset_get_n_classes (ds) != k)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the %s data has %u classes but the model has %d"), what,
                   hg_dataset_get_n_classes (ds), k);
      return FALSE;
    }
  return TRUE;
}

/* Channel mean and standard deviation of every training pixel. */
static void
channel_stats (HgDataset *ds,
               float      mean[3],
               float      std[3])
{
  gsize plane = (gsize) hg_dataset_get_width (ds) * hg_dataset_get_height (ds);
  guint n = hg_dataset_get_n_samples (ds);

  for (int c = 0; c < 3; c++)
    {
      double sum = 0, sum2 = 0, count = (double) n * plane;

      for (guint i = 0; i < n; i++)
        {
          const float *p = hg_dataset_get_pixels (ds, i) + c * plane;

          for (gsize j = 0; j < plane; j++)
            {
              sum += p[j];
              sum2 += (double) p[j] * p[j];
            }
        }
      mean[c] = (float) (sum / count);
      std[c] = (float) sqrt (MAX (sum2 / count - (sum / count) * (sum / count), 1e-6));
    }
}

HgTrainer *
hg_trainer_new (HgModel              *model,
                HgDataset            *train,
                HgDataset            *val,
                const HgTrainOptions *options,
                GError              **error)
{
  g_autoptr (HgTrainer) t = NULL;
  g_autofree guint *counts = NULL;
  int               h, w, c, k;
  float             mean[3], std[3];
  gsize             n_val;

  g_return_val_if_fail (model != NULL && train != NULL && val != NULL && options != NULL, NULL);

  if (!check_options (options, error))
    return NULL;

  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  if (c != 3)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("the model takes %d channels; the trainer feeds RGB (3)"), c);
      return NULL;
    }
  if (!check_dataset (train, _ ("training"), h, w, k, error) ||
      !check_dataset (val, _ ("validation"), h, w, k, error))
    return NULL;
  if ((int) hg_dataset_get_n_samples (train) < options->batch_size)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   g_dngettext (GETTEXT_PACKAGE, "%u training image is fewer than one batch of %d",
                                "%u training images are fewer than one batch of %d",
                                hg_dataset_get_n_samples (train)),
                   hg_dataset_get_n_samples (train), options->batch_size);
      return NULL;
    }
  if (hg_dataset_get_n_samples (val) == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("there are no validation images: the best epoch cannot be chosen"));
      return NULL;
    }

  t = g_new0 (HgTrainer, 1);
  t->model = hg_model_ref (model);
  t->train = hg_dataset_ref (train);
  t->val = hg_dataset_ref (val);
  t->options = *options;
  t->n_classes = k;
  t->sample_floats = (gsize) 3 * h * w;
  t->history = g_array_new (FALSE, TRUE, sizeof (HgEpochReport));
  t->best_index = -1;
  t->best_pgd_ba = -1;

  /* The model learns the data's normalisation and names. */
  channel_stats (train, mean, std);
  if (!hg_model_set_normalization (model, mean, std, error) ||
      !hg_model_set_class_names (model, hg_dataset_get_class_names (train), error))
    return NULL;

  /* Class weights n / (k · n_c): 1 everywhere without balancing. */
  counts = g_new0 (guint, k);
  hg_dataset_count_classes (train, counts);
  t->class_weight = g_new (float, k);
  for (int i = 0; i < k; i++)
    t->class_weight[i] = options->balance && counts[i] > 0
                             ? (float) hg_dataset_get_n_samples (train) / ((float) k * counts[i])
                             : 1.0f;

  t->ctx = hg_context_new (model);
  hg_context_set_seed (t->ctx, hg_rng_mix (options->seed ^ STREAM_DROPOUT));
  if (options->adv == HG_ADV_TRADES)
    {
      t->adv_ctx = hg_context_new (model);
      hg_context_set_seed (t->adv_ctx, hg_rng_mix (options->seed ^ STREAM_DROPOUT_ADV));
    }
  if (options->optimizer == HG_OPTIMIZER_ADAM)
    t->optimizer = hg_optimizer_new_adam (model, options->lr, 0.9f, 0.999f, 1e-8f, options->weight_decay);
  else
    t->optimizer = hg_optimizer_new_sgd (model, options->lr, options->momentum, options->weight_decay,
                                         options->momentum > 0);

  if (options->ema > 0)
    {
      t->ema_model = hg_model_copy (model);
      t->ema_ctx = hg_context_new (t->ema_model);
    }

  /* A fixed, seeded subset of validation for the robustness check. */
  n_val = hg_dataset_get_n_samples (val);
  t->robust_n = MIN ((gsize) resolved_robust_n (options), n_val);
  if (t->robust_n > 0)
    {
      g_autofree guint *order = g_new (guint, n_val);
      HgRng             rng;

      for (gsize i = 0; i < n_val; i++)
        order[i] = (guint) i;
      hg_rng_init (&rng, options->seed, STREAM_CHECK, 0);
      hg_rng_shuffle (&rng, order, (guint) n_val);
      t->robust_x = g_new (float, t->robust_n * t->sample_floats);
      t->robust_labels = g_new (int, t->robust_n);
      for (gsize i = 0; i < t->robust_n; i++)
        {
          memcpy (t->robust_x + i * t->sample_floats, hg_dataset_get_pixels (val, order[i]),
                  t->sample_floats * sizeof (float));
          t->robust_labels[i] = hg_dataset_get_sample (val, order[i])->label;
        }
    }

  return g_steal_pointer (&t);
}

/* ---- Training ----------------------------------------------------------- */

/* Crafts adversarial versions of n samples by L∞ sign-gradient steps from
 * x (or a uniform random start in the ε-ball), projected onto the ball
 * and [0,1] after each step. The same few lines serve FGSM (one step of
 * ε, no start), FGSM-RS and PGD, which ascend the cross-entropy, and
 * TRADES, which ascends KL(p_ref ‖ p(x')) when p_ref (n × k clean
 * probabilities) is given. grad is scratch of the size of x. */
static gboolean
craft (HgContext   *ctx,
       HgMode       mode,
       const float *x,
       const int   *labels,
       const float *p_ref,
       int          n,
       int          k,
       gsize        sample_floats,
       double       eps,
       double       step,
       int          steps,
       gboolean     random_start,
       guint64      seed,
       float       *x_adv,
       float       *grad,
       GError     **error)
{
  gsize             count = (gsize) n * sample_floats;
  float             e = (float) (eps / 255.0), a = (float) (step / 255.0);
  g_autofree float *q = p_ref != NULL ? g_new (float, (gsize) n *k) : NULL;

  memcpy (x_adv, x, count * sizeof (float));
  if (random_start)
    for (int i = 0; i < n; i++)
      {
        HgRng  rng;
        float *v = x_adv + (gsize) i * sample_floats;

        /* Per-sample streams: the start does not depend on batching. */
        hg_rng_init (&rng, seed, STREAM_ATTACK, (guint64) i);
        for (gsize j = 0; j < sample_floats; j++)
          v[j] = CLAMP (v[j] + e * (float) (2.0 * hg_rng_uniform (&rng) - 1.0), 0.0f, 1.0f);
      }

  for (int s = 0; s < steps; s++)
    {
      gboolean ok;

      if (p_ref == NULL)
        ok = !isnan (hg_context_loss_backward (ctx, mode, HG_PASS_NONE, x_adv, n, labels, NULL, grad));
      else if ((ok = hg_context_forward (ctx, mode, HG_PASS_NONE, x_adv, n, q)))
        {
          /* d KL(p ‖ q) / d logits(x') = q − p. */
          hg_softmax (q, n, k, q);
          for (gsize j = 0; j < (gsize) n * k; j++)
            q[j] -= p_ref[j];
          ok = hg_context_backward (ctx, q, grad);
        }
      if (!ok)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the input gradient could not be computed"));
          return FALSE;
        }
      for (gsize j = 0; j < count; j++)
        {
          float v = x_adv[j] + (grad[j] > 0 ? a : grad[j] < 0 ? -a
                                                              : 0.0f);

          v = CLAMP (v, x[j] - e, x[j] + e);
          x_adv[j] = CLAMP (v, 0.0f, 1.0f);
        }
    }
  return TRUE;
}

/* The attack of an evaluation or of training, in 1/255 units. */
static void
attack_shape (HgAdvTraining attack,
              double        eps,
              double        step,
              int           steps,
              double       *out_step,
              int          *out_steps,
              gboolean     *random_start)
{
  switch (attack)
    {
    case HG_ADV_FGSM:
      *out_step = eps;
      *out_steps = 1;
      *random_start = FALSE;
      break;
    case HG_ADV_FGSM_RS:
      *out_step = step > 0 ? step : 1.25 * eps;
      *out_steps = 1;
      *random_start = TRUE;
      break;
    case HG_ADV_PGD:
    case HG_ADV_TRADES:
      *out_step = step > 0 ? step : 2.5 * eps / MAX (steps, 1);
      *out_steps = steps;
      *random_start = TRUE;
      break;
    case HG_ADV_NONE:
    default:
      *out_step = 0;
      *out_steps = 0;
      *random_start = FALSE;
      break;
    }
}

/* Attacks (in inference mode) and classifies n samples; probs is n × k. */
static gboolean
attacked_probs (HgContext    *ctx,
                const float  *x,
                const int    *labels,
                gsize         n,
                gsize         sample_floats,
                int           k,
                HgAdvTraining attack,
                double        eps,
                int           steps,
                guint64       seed,
                float        *probs,
                GError      **error)
{
  g_autofree float *adv = NULL;
  g_autofree float *grad = NULL;
  double            step;
  int               n_steps;
  gboolean          random_start;

  if (attack == HG_ADV_NONE || eps <= 0)
    return predict_probs (ctx, x, n, sample_floats, k, probs, error);

  attack_shape (attack, eps, 0, steps, &step, &n_steps, &random_start);
  adv = g_new (float, (gsize) CHECK_BATCH *sample_floats);
  grad = g_new (float, (gsize) CHECK_BATCH *sample_floats);
  for (gsize i = 0; i < n; i += CHECK_BATCH)
    {
      int m = (int) MIN (CHECK_BATCH, n - i);

      if (!craft (ctx, HG_MODE_INFERENCE, x + i * sample_floats, labels + i, NULL, m, k, sample_floats, eps,
                  step, n_steps, random_start, hg_rng_mix (seed ^ i), adv, grad, error) ||
          !predict_probs (ctx, adv, m, sample_floats, k, probs + i * k, error))
        return FALSE;
    }
  return TRUE;
}

/* Balanced accuracy of the model on the robustness subset under attack;
 * the same draws every epoch, so epochs are compared on equal terms. */
static gboolean
robust_ba (HgTrainer    *t,
           HgAdvTraining attack,
           double       *ba,
           GError      **error)
{
  const HgTrainOptions *o = &t->options;
  g_autofree float     *probs = g_new (float, t->robust_n * t->n_classes);
  HgMetrics             m;

  if (!attacked_probs (t->ema_ctx != NULL ? t->ema_ctx : t->ctx, t->robust_x, t->robust_labels, t->robust_n, t->sample_floats,
                       t->n_classes, attack, o->eps, o->robust_val_steps,
                       hg_rng_mix (o->seed ^ STREAM_CHECK), probs, error))
    return FALSE;
  metrics_from_probs (probs, t->robust_labels, t->robust_n, t->n_classes, o->seed, &m);
  *ba = m.balanced_accuracy;
  return TRUE;
}

/* One optimiser step on a batch, with the class-weighted mean loss.
 * Returns the weighted mean loss; *correct counts right predictions. */
static double
train_step (HgTrainer   *t,
            const float *x,
            const int   *labels,
            int          n,
            float       *logits,
            float       *dlogits,
            int         *correct,
            GError     **error)
{
  int    k = t->n_classes;
  double loss = 0, weight_sum = 0;

  hg_context_zero_grads (t->ctx);
  if (!hg_context_forward (t->ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, x, n, logits))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the training forward pass failed"));
      return NAN;
    }

  *correct = 0;
  for (int i = 0; i < n; i++)
    {
      float  w = t->class_weight[labels[i]];
      float *d = dlogits + (gsize) i * k;
      int    best = 0;

      loss += w * hg_softmax_cross_entropy (logits + (gsize) i * k, 1, k, labels + i, d);
      for (int c = 0; c < k; c++)
        {
          d[c] *= w;
          if (logits[(gsize) i * k + c] > logits[(gsize) i * k + best])
            best = c;
        }
      *correct += best == labels[i];
      weight_sum += w;
    }

  if (!hg_context_backward (t->ctx, dlogits, NULL))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the training backward pass failed"));
      return NAN;
    }
  hg_optimizer_step (t->optimizer, hg_context_get_grads (t->ctx, NULL), (float) (1.0 / weight_sum));
  return loss / weight_sum;
}

static void
log_softmax (const float *z,
             int          k,
             double      *out)
{
  double max = z[hg_argmax (z, k)], sum = 0;

  for (int c = 0; c < k; c++)
    sum += exp (z[c] - max);
  for (int c = 0; c < k; c++)
    out[c] = z[c] - max - log (sum);
}

double
hg_trades_loss (const float *z_clean,
                const float *z_adv,
                const int   *labels,
                const float *class_weight,
                int          n,
                int          n_adv,
                int          k,
                double       beta,
                float       *dz_clean,
                float       *dz_adv)
{
  g_autofree double *lp = g_new (double, 2 * (gsize) k);
  double            *lq = lp + k;
  double             total = 0;

  for (int i = 0; i < n; i++)
    {
      float *dc = dz_clean + (gsize) i * k;
      double w = class_weight != NULL ? class_weight[labels[i]] : 1.0;
      double kl = 0;

      log_softmax (z_clean + (gsize) i * k, k, lp);
      total -= w * lp[labels[i]];
      for (int c = 0; c < k; c++)
        dc[c] = (float) (w * (exp (lp[c]) - (c == labels[i])));
      if (i >= n_adv)
        continue;

      /* KL = Σ p (log p − log q): d/dz_clean = p (log p − log q − KL),
       * d/dz_adv = q − p. */
      log_softmax (z_adv + (gsize) i * k, k, lq);
      for (int c = 0; c < k; c++)
        kl += exp (lp[c]) * (lp[c] - lq[c]);
      total += w * beta * kl;
      for (int c = 0; c < k; c++)
        {
          double p = exp (lp[c]);

          dc[c] += (float) (w * beta * p * (lp[c] - lq[c] - kl));
          dz_adv[(gsize) i * k + c] = (float) (w * beta * (exp (lq[c]) - p));
        }
    }
  return total;
}

/* One TRADES optimiser step on a batch x of b clean samples, the first
 * n_adv of them attacked. The clean pass runs on t->ctx and the
 * adversarial one on t->adv_ctx, each in training mode, so that both
 * keep their activations for the backward pass; their parameter
 * gradients are summed. Returns the class-weighted mean objective. */
static double
trades_step (HgTrainer   *t,
             const float *x,
             const int   *labels,
             int          b,
             int          n_adv,
             guint64      seed,
             float       *x_adv,
             float       *grad,
             float       *logits,
             float       *dlogits,
             int         *correct,
             GError     **error)
{
  const HgTrainOptions *o = &t->options;
  int                   k = t->n_classes;
  g_autofree float     *p = g_new (float, (gsize) MAX (n_adv, 1) * k);
  g_autofree float     *z_adv = g_new (float, (gsize) MAX (n_adv, 1) * k);
  g_autofree float     *dz_adv = g_new (float, (gsize) MAX (n_adv, 1) * k);
  double                step, loss, weight_sum = 0;
  int                   steps;
  gboolean              random_start;
  float                *grads, *adv_grads;
  gsize                 n_params;

  *correct = 0;
  hg_context_zero_grads (t->ctx);
  hg_context_zero_grads (t->adv_ctx);
  if (!hg_context_forward (t->ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, x, b, logits))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the training forward pass failed"));
      return NAN;
    }
  hg_softmax (logits, n_adv, k, p);

  attack_shape (o->adv, o->eps, o->step, o->steps, &step, &steps, &random_start);
  if (n_adv > 0)
    {
      if (!craft (t->adv_ctx, HG_MODE_TRAINING_NO_UPDATE, x, labels, p, n_adv, k, t->sample_floats,
                  o->eps, step, steps, random_start, seed, x_adv, grad, error))
        return NAN;
      if (!hg_context_forward (t->adv_ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, x_adv, n_adv, z_adv))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the training forward pass failed"));
          return NAN;
        }
    }

  loss = hg_trades_loss (logits, z_adv, labels, t->class_weight, b, n_adv, k, o->beta, dlogits,
                         dz_adv);
  for (int i = 0; i < b; i++)
    {
      *correct += hg_argmax (logits + (gsize) i * k, k) == labels[i];
      weight_sum += t->class_weight[labels[i]];
    }

  if (!hg_context_backward (t->ctx, dlogits, NULL) ||
      (n_adv > 0 && !hg_context_backward (t->adv_ctx, dz_adv, NULL)))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the training backward pass failed"));
      return NAN;
    }
  grads = hg_context_get_grads (t->ctx, &n_params);
  adv_grads = hg_context_get_grads (t->adv_ctx, NULL);
  for (gsize i = 0; i < n_params; i++)
    grads[i] += adv_grads[i];
  hg_optimizer_step (t->optimizer, grads, (float) (1.0 / weight_sum));
  return loss / weight_sum;
}

/* Folds the model's current weights and statistics into the average. */
static void
ema_update (HgTrainer *t,
            guint64    step)
{
  float  d = (float) MIN (t->options.ema, (1.0 + step) / (10.0 + step));
  gsize  n, m;
  float *live = hg_model_get_params (t->model, &n);
  float *avg = hg_model_get_params (t->ema_model, NULL);
  float *live_buf = hg_model_get_buffers (t->model, &m);
  float *avg_buf = hg_model_get_buffers (t->ema_model, NULL);

  for (gsize i = 0; i < n; i++)
    avg[i] = d * avg[i] + (1.0f - d) * live[i];
  for (gsize i = 0; i < m; i++)
    avg_buf[i] = d * avg_buf[i] + (1.0f - d) * live_buf[i];
}

static double
epoch_score (HgSelect             select,
             const HgEpochReport *r)
{
  switch (select)
    {
    case HG_SELECT_ROBUST:
      return r->val_pgd_ba;
    case HG_SELECT_MEAN:
      return 0.5 * (r->val.balanced_accuracy + r->val_pgd_ba);
    case HG_SELECT_CLEAN:
    default:
      return r->val.balanced_accuracy;
    }
}

gboolean
hg_trainer_run (HgTrainer              *t,
                const HgTrainCallbacks *callbacks,
                gpointer                user_data,
                GCancellable           *cancellable,
                GError                **error)
{
  const HgTrainOptions *o = &t->options;
  guint                 n_train = hg_dataset_get_n_samples (t->train);
  int                   n_batches = (int) n_train / o->batch_size;
  int                   b = o->batch_size, k = t->n_classes;
  int                   n_adv = (int) lround (resolved_mix (o) * b);
  g_autofree guint     *order = g_new (guint, n_train);
  g_autofree float     *x = g_new (float, (gsize) b * t->sample_floats);
  g_autofree float     *x_adv = g_new (float, (gsize) b * t->sample_floats);
  g_autofree float     *grad = g_new (float, (gsize) b * t->sample_floats);
  double                adv_step;
  int                   adv_steps;
  gboolean              adv_random_start;
  g_autofree int       *labels = g_new (int, b);
  g_autofree float     *logits = g_new (float, (gsize) b *k);
  g_autofree float     *dlogits = g_new (float, (gsize) b *k);
  HgLrSchedule          schedule = { 0 };
  gint64                start = g_get_monotonic_time ();
  int                   first_epoch = (int) t->history->len;

  schedule.kind = o->schedule;
  schedule.base_lr = o->lr;
  schedule.min_lr = o->min_lr;
  schedule.gamma = 0.1f;
  schedule.total_steps = n_batches * o->epochs;
  schedule.warmup_steps = 0;

  if (o->adv == HG_ADV_NONE)
    n_adv = 0;
  attack_shape (o->adv, o->eps, o->step, o->steps, &adv_step, &adv_steps, &adv_random_start);

  for (guint i = 0; i < n_train; i++)
    order[i] = i;

  for (int epoch = first_epoch; epoch < o->epochs; epoch++)
    {
      HgEpochReport report = { 0 };
      double        loss_sum = 0;
      gsize         correct_sum = 0;
      HgRng         rng;

      /* Each epoch's order derives from the seed and the epoch alone. */
      for (guint i = 0; i < n_train; i++)
        order[i] = i;
      hg_rng_init (&rng, o->seed, STREAM_SHUFFLE, (guint64) epoch);
      hg_rng_shuffle (&rng, order, n_train);

      for (int batch = 0; batch < n_batches; batch++)
        {
          guint64 step = (guint64) epoch * n_batches + batch;
          guint64 attack_seed;
          double  loss;
          int     correct;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;

          for (int i = 0; i < b; i++)
            {
              guint  id = order[(gsize) batch * b + i];
              float *dst = x + (gsize) i * t->sample_floats;

              memcpy (dst, hg_dataset_get_pixels (t->train, id), t->sample_floats * sizeof (float));
              labels[i] = hg_dataset_get_sample (t->train, id)->label;
              if (o->augment)
                hg_augment_apply (&o->augment_params, o->seed, (guint64) epoch * n_train + id, dst,
                                  hg_dataset_get_width (t->train), hg_dataset_get_height (t->train));
            }

          hg_optimizer_set_lr (t->optimizer, hg_lr_schedule_at (&schedule, (int) step));

          attack_seed = hg_rng_mix (o->seed ^ hg_rng_mix (STREAM_ATTACK + step));
          if (o->adv == HG_ADV_TRADES)
            loss = trades_step (t, x, labels, b, n_adv, attack_seed, x_adv, grad, logits, dlogits,
                                &correct, error);
          else
            {
              if (n_adv > 0)
                {
                  if (!craft (t->ctx, HG_MODE_TRAINING_NO_UPDATE, x, labels, NULL, n_adv, k,
                              t->sample_floats, o->eps, adv_step, adv_steps, adv_random_start,
                              attack_seed, x_adv, grad, error))
                    return FALSE;
                  memcpy (x, x_adv, (gsize) n_adv * t->sample_floats * sizeof (float));
                }
              loss = train_step (t, x, labels, b, logits, dlogits, &correct, error);
            }
          if (isnan (loss))
            return FALSE;
          if (!isfinite (loss))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_FAILED,
                           _ ("the training loss diverged at epoch %d, batch %d: try a lower "
                              "learning rate than %g"),
                           epoch + 1, batch + 1, o->lr);
              return FALSE;
            }
          if (t->ema_model != NULL)
            ema_update (t, step);
          loss_sum += loss;
          correct_sum += correct;
          if (callbacks != NULL && callbacks->batch != NULL)
            callbacks->batch (epoch + 1, batch + 1, n_batches, loss_sum / (batch + 1), user_data);
        }

      report.epoch = epoch + 1;
      report.n_epochs = o->epochs;
      report.lr = hg_optimizer_get_lr (t->optimizer);
      report.train_loss = loss_sum / n_batches;
      report.train_accuracy = (double) correct_sum / ((gsize) n_batches * b);
      if (t->ema_model != NULL)
        hg_model_params_changed (t->ema_model);
      if (!evaluate_dataset (t->ema_ctx != NULL ? t->ema_ctx : t->ctx, t->val, k, o->seed,
                             &report.val, error))
        return FALSE;

      report.val_pgd_ba = report.val_fgsm_ba = NAN;
      report.robust_n = t->robust_n;
      if (t->robust_n > 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          if (!robust_ba (t, HG_ADV_PGD, &report.val_pgd_ba, error) ||
              !robust_ba (t, HG_ADV_FGSM, &report.val_fgsm_ba, error))
            return FALSE;

          /* Catastrophic overfitting: multi-step robustness collapses. */
          if (t->best_pgd_ba >= 0 && report.val_pgd_ba < t->best_pgd_ba - HG_TRAIN_OVERFIT_DROP)
            report.overfit = TRUE;
          else
            t->best_pgd_ba = MAX (t->best_pgd_ba, report.val_pgd_ba);
        }

      report.score = epoch_score (o->select, &report);
      report.seconds = (g_get_monotonic_time () - start) / 1e6;
      if (!report.overfit && isfinite (report.score) &&
          (t->best_index < 0 || report.score > g_array_index (t->history, HgEpochReport, t->best_index).score))
        {
          report.best = TRUE;
          g_clear_pointer (&t->best_model, hg_model_unref);
          t->best_model = hg_model_copy (t->ema_model != NULL ? t->ema_model : t->model);
          t->best_index = (int) t->history->len;
        }
      g_array_append_val (t->history, report);

      if (callbacks != NULL && callbacks->epoch != NULL)
        callbacks->epoch (&report, user_data);
      if (report.best && callbacks != NULL && callbacks->best != NULL &&
          !callbacks->best (t->best_model, &report, user_data, error))
        return FALSE;

      if (report.overfit && o->stop_on_overfit)
        {
          t->stopped_on_overfit = TRUE;
          break;
        }
    }
  return TRUE;
}

HgModel *
hg_trainer_get_best_model (HgTrainer *trainer)
{
  return trainer->best_model;
}

const HgEpochReport *
hg_trainer_get_best_report (HgTrainer *trainer)
{
  if (trainer->best_index < 0)
    return NULL;
  return &g_array_index (trainer->history, HgEpochReport, trainer->best_index);
}

const HgEpochReport *
hg_trainer_get_history (HgTrainer *trainer,
                        guint     *n_epochs)
{
  *n_epochs = trainer->history->len;
  return (const HgEpochReport *) trainer->history->data;
}

gboolean
hg_trainer_stopped_on_overfit (HgTrainer *trainer)
{
  return trainer->stopped_on_overfit;
}

/* ---- Evaluation --------------------------------------------------------- */

gboolean
hg_train_evaluate (HgModel      *model,
                   HgDataset    *dataset,
                   HgAdvTraining attack,
                   double        eps,
                   int           steps,
                   guint64       seed,
                   HgMetrics    *metrics,
                   GError      **error)
{
  g_autoptr (HgContext) ctx = NULL;
  g_autofree float *probs = NULL;
  g_autofree int   *labels = NULL;
  gsize             n = hg_dataset_get_n_samples (dataset), floats;
  int               h, w, c, k = hg_model_get_n_classes (model);

  g_return_val_if_fail (hg_dataset_is_loaded (dataset), FALSE);

  hg_model_get_input_size (model, &h, &w, &c);
  if (h != hg_dataset_get_height (dataset) || w != hg_dataset_get_width (dataset) || c != 3)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the model takes %d×%d×%d inputs but the images were loaded at %d×%d×3"), h,
                   w, c, hg_dataset_get_height (dataset), hg_dataset_get_width (dataset));
      return FALSE;
    }
  if (attack == HG_ADV_TRADES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("TRADES is a training objective, not an attack to evaluate with"));
      return FALSE;
    }
  if (!(eps >= 0 && eps <= 255) || steps < 1 || steps > 10000)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("ε must be from 0 to 255 and steps from 1 to 10000 (ε %g, %d steps)"), eps, steps);
      return FALSE;
    }

  floats = (gsize) 3 * h * w;
  probs = g_new (float, MAX (n, 1) * k);
  labels = g_new (int, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    labels[i] = hg_dataset_get_sample (dataset, (guint) i)->label;
  ctx = hg_context_new (model);
  if (n > 0 && !attacked_probs (ctx, hg_dataset_get_pixels (dataset, 0), labels, n, floats, k,
                                attack, eps, steps, seed, probs, error))
    return FALSE;
  metrics_from_probs (probs, labels, n, k, seed, metrics);
  return TRUE;
}
