/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

/* The committed fixtures: 47 training and 10 validation patches. */
typedef struct
{
  HgDataset *train;
  HgDataset *val;
} Fixture;

static void
fixture_set_up (Fixture      *f,
                gconstpointer data)
{
  g_autofree char *root = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autofree char *splits_path = g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) all = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_autoptr (HgSplits) splits = hg_splits_new_from_file (splits_path, &error);

  g_assert_no_error (error);
  g_assert_true (hg_dataset_apply_splits (all, splits, &error));
  g_assert_true (hg_dataset_load (all, 50, 50, 0, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_no_error (error);
  f->train = hg_dataset_subset (all, HG_SPLIT_TRAIN);
  f->val = hg_dataset_subset (all, HG_SPLIT_VAL);
  /* One engine thread: results are bit-reproducible. */
  hg_threads_set (1, 1);
}

static void
fixture_tear_down (Fixture      *f,
                   gconstpointer data)
{
  hg_dataset_unref (f->train);
  hg_dataset_unref (f->val);
}

static void
tiny_options (HgTrainOptions *o)
{
  hg_train_options_init (o);
  o->epochs = 6;
  o->batch_size = 16;
  o->lr = 0.05f;
  o->seed = 1;
}

static HgModel *
tiny_model (guint64 seed)
{
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_new_from_arch ("cnn:width=8", seed, &error);

  g_assert_no_error (error);
  return model;
}

typedef struct
{
  guint n_batches;
  guint n_epochs;
  guint n_best;
} Counts;

static void
count_batch (int epoch, int batch, int n_batches, double loss, gpointer user_data)
{
  ((Counts *) user_data)->n_batches++;
}

static void
count_epoch (const HgEpochReport *report, gpointer user_data)
{
  ((Counts *) user_data)->n_epochs++;
}

static gboolean
count_best (HgModel *model, const HgEpochReport *report, gpointer user_data, GError **error)
{
  ((Counts *) user_data)->n_best++;
  g_assert_true (report->best);
  return TRUE;
}

/* A few steps on real patches: the loss falls and the model beats chance. */
static void
test_train_learns (Fixture      *f,
                   gconstpointer data)
{
  g_autoptr (HgModel) model = tiny_model (1);
  g_autoptr (HgTrainer) trainer = NULL;
  g_autoptr (GError) error = NULL;
  HgTrainCallbacks     callbacks = { count_batch, count_epoch, count_best };
  Counts               counts = { 0 };
  HgTrainOptions       o;
  const HgEpochReport *history, *best;
  guint                n;
  HgMetrics            m;
  float                mean[3], std[3];

  tiny_options (&o);
  trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
  g_assert_no_error (error);
  g_assert_true (hg_trainer_run (trainer, &callbacks, &counts, NULL, &error));
  g_assert_no_error (error);

  history = hg_trainer_get_history (trainer, &n);
  g_assert_cmpuint (n, ==, 6);
  g_assert_cmpuint (counts.n_epochs, ==, 6);
  g_assert_cmpuint (counts.n_batches, ==, 6 * (47 / 16));
  g_assert_cmpuint (counts.n_best, >=, 1);
  for (guint i = 0; i < n; i++)
    g_test_message ("epoch %d: loss %.4f, train accuracy %.3f, val BA %.3f", history[i].epoch,
                    history[i].train_loss, history[i].train_accuracy, history[i].val.balanced_accuracy);

  /* Averaged over the last three epochs: single batches are noisy. */
  g_assert_cmpfloat ((history[n - 1].train_loss + history[n - 2].train_loss + history[n - 3].train_loss) / 3,
                     <, 0.85 * history[0].train_loss);
  g_assert_true (hg_train_evaluate (model, f->train, HG_ADV_NONE, 0, 1, 1, &m, &error));
  g_assert_cmpfloat (m.balanced_accuracy, >, 0.7);
  best = hg_trainer_get_best_report (trainer);
  g_assert_nonnull (best);
  g_assert_cmpfloat (best->val.balanced_accuracy, >=, 0.7);
  g_assert_true (isnan (best->val_pgd_ba));
  g_assert_false (hg_trainer_stopped_on_overfit (trainer));

  /* The kept copy is the best epoch's, and says so on the data. */
  g_assert_true (hg_train_evaluate (hg_trainer_get_best_model (trainer), f->val, HG_ADV_NONE, 0, 1,
                                    1, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (m.balanced_accuracy, best->val.balanced_accuracy, 1e-9);

  /* The trainer taught the model the data's names and normalisation. */
  g_assert_cmpstr (hg_model_get_class_name (model, 1), ==, "IDC");
  hg_model_get_normalization (model, mean, std);
  g_assert_cmpfloat (mean[0], >, 0.5);
  g_assert_cmpfloat (mean[0], <, 1.0);
  g_assert_cmpfloat (std[2], >, 0.05);
}

static GBytes *
train_bytes (Fixture      *f,
             guint64       seed,
             HgAdvTraining adv)
{
  g_autoptr (HgModel) model = tiny_model (seed);
  g_autoptr (HgTrainer) trainer = NULL;
  g_autoptr (GError) error = NULL;
  HgTrainOptions o;

  tiny_options (&o);
  o.epochs = 2;
  o.seed = seed;
  o.adv = adv;
  o.robust_val_n = adv != HG_ADV_NONE ? 8 : 0;
  trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
  g_assert_no_error (error);
  g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return hg_model_save_to_bytes (model);
}

static void
test_train_deterministic (Fixture      *f,
                          gconstpointer data)
{
  g_autoptr (GBytes) a = train_bytes (f, 7, HG_ADV_NONE);
  g_autoptr (GBytes) b = train_bytes (f, 7, HG_ADV_NONE);
  g_autoptr (GBytes) c = train_bytes (f, 8, HG_ADV_NONE);
  g_autoptr (GBytes) d = train_bytes (f, 7, HG_ADV_PGD);
  g_autoptr (GBytes) e = train_bytes (f, 7, HG_ADV_PGD);

  g_assert_true (g_bytes_equal (a, b));
  g_assert_false (g_bytes_equal (a, c));
  g_assert_true (g_bytes_equal (d, e));
  g_assert_false (g_bytes_equal (a, d));
}

static void
test_train_adversarial (Fixture      *f,
                        gconstpointer data)
{
  static const HgAdvTraining kinds[] = { HG_ADV_FGSM, HG_ADV_FGSM_RS, HG_ADV_PGD, HG_ADV_TRADES };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (HgModel) model = tiny_model (3);
      g_autoptr (HgTrainer) trainer = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char     *recipe = NULL;
      HgTrainOptions       o;
      const HgEpochReport *history;
      guint                n;

      tiny_options (&o);
      o.epochs = 2;
      o.adv = kinds[i];
      o.eps = 8;
      o.steps = 3;
      o.select = HG_SELECT_MEAN;
      trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
      g_assert_no_error (error);
      g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
      g_assert_no_error (error);

      /* Every epoch checked robustness on all 10 validation images; an
       * attack can only lower balanced accuracy on average, and PGD is at
       * least as strong as FGSM here. */
      history = hg_trainer_get_history (trainer, &n);
      for (guint e = 0; e < n; e++)
        {
          g_assert_cmpuint (history[e].robust_n, ==, 10);
          g_assert_true (isfinite (history[e].val_pgd_ba));
          g_assert_true (isfinite (history[e].val_fgsm_ba));
          g_assert_cmpfloat (history[e].score, ==,
                             0.5 * (history[e].val.balanced_accuracy + history[e].val_pgd_ba));
        }

      recipe = hg_train_options_to_json (&o);
      g_assert_nonnull (strstr (recipe, hg_adv_training_to_string (kinds[i])));
      g_assert_nonnull (strstr (recipe, i == 0 ? "\"mix\":0.5" : "\"mix\":1"));
      g_assert_true ((strstr (recipe, "\"beta\":6") != NULL) == (kinds[i] == HG_ADV_TRADES));
    }
}

/* The TRADES objective's value at known points and its gradients against
 * central differences, with class weights and a partly clean batch. */
static void
test_train_trades_loss (void)
{
  enum
  {
    N = 3,
    N_ADV = 2,
    K = 3
  };
  const float weight[K] = { 0.5f, 2.0f, 1.0f };
  const int   labels[N] = { 1, 0, 2 };
  float       zc[N * K] = { 0.3f, -1.2f, 2.0f, 1.5f, 0.1f, -0.4f, -0.7f, 0.9f, 0.2f };
  float       za[N * K] = { 1.1f, -0.2f, 0.5f, -0.3f, 0.8f, 0.6f, 9.0f, 9.0f, 9.0f };
  float       dzc[N * K], dza[N * K], scratch_c[N * K], scratch_a[N * K];
  double      ce = 0, loss;

  /* Where the adversarial logits equal the clean ones, KL vanishes and
   * only the weighted cross-entropy is left; its gradient is zero on the
   * adversarial side. */
  for (int i = 0; i < N; i++)
    {
      const float *z = zc + i * K;
      double       sum = exp (z[0]) + exp (z[1]) + exp (z[2]);

      ce += weight[labels[i]] * (log (sum) - z[labels[i]]);
    }
  loss = hg_trades_loss (zc, zc, labels, weight, N, N_ADV, K, 6.0, dzc, dza);
  g_assert_cmpfloat_with_epsilon (loss, ce, 1e-6);
  for (int j = 0; j < N_ADV * K; j++)
    g_assert_cmpfloat_with_epsilon (dza[j], 0.0, 1e-7);

  loss = hg_trades_loss (zc, za, labels, weight, N, N_ADV, K, 6.0, dzc, dza);
  g_assert_cmpfloat (loss, >, ce + 0.1);
  for (int side = 0; side < 2; side++)
    for (int j = 0; j < (side == 0 ? N : N_ADV) * K; j++)
      {
        float *z = side == 0 ? zc : za;
        float  saved = z[j], h = 1e-2f;
        double up, down;

        z[j] = saved + h;
        up = hg_trades_loss (zc, za, labels, weight, N, N_ADV, K, 6.0, scratch_c, scratch_a);
        z[j] = saved - h;
        down = hg_trades_loss (zc, za, labels, weight, N, N_ADV, K, 6.0, scratch_c, scratch_a);
        z[j] = saved;
        g_assert_cmpfloat_with_epsilon ((side == 0 ? dzc : dza)[j], (up - down) / (2 * h), 2e-3);
      }
  /* The third sample is not attacked: its adversarial logits are unread. */
  g_assert_cmpfloat_with_epsilon (dzc[2 * K + 2], weight[2] * (exp (0.2) / (exp (-0.7) + exp (0.9) + exp (0.2)) - 1), 1e-6);
}

static double
params_distance (HgModel *a,
                 HgModel *b)
{
  gsize  n;
  float *pa = hg_model_get_params (a, &n);
  float *pb = hg_model_get_params (b, NULL);
  double d = 0;

  for (gsize i = 0; i < n; i++)
    d = MAX (d, fabs (pa[i] - pb[i]));
  return d;
}

/* TRADES training: with β near 0 the clean pass alone moves the weights,
 * exactly as standard training does; with the usual β it learns, robustly
 * enough to be checked, and reproducibly. */
static void
test_train_trades (Fixture      *f,
                   gconstpointer data)
{
  g_autoptr (HgModel) plain = tiny_model (4);
  g_autoptr (HgModel) tiny_beta = tiny_model (4);
  g_autoptr (HgTrainer) trainer = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  const HgEpochReport *history;
  HgTrainOptions       o;
  HgMetrics            m;
  guint                n;

  tiny_options (&o);
  o.epochs = 1;
  o.robust_val_n = 0;
  trainer = hg_trainer_new (plain, f->train, f->val, &o, &error);
  g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
  g_clear_pointer (&trainer, hg_trainer_free);
  o.adv = HG_ADV_TRADES;
  o.beta = 1e-9;
  trainer = hg_trainer_new (tiny_beta, f->train, f->val, &o, &error);
  g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&trainer, hg_trainer_free);
  g_assert_cmpfloat (params_distance (plain, tiny_beta), <, 1e-5);

  for (int run = 0; run < 2; run++)
    {
      g_autoptr (HgModel) model = tiny_model (4);

      tiny_options (&o);
      o.adv = HG_ADV_TRADES;
      o.eps = 4;
      o.steps = 2;
      o.stop_on_overfit = FALSE;
      trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
      g_assert_no_error (error);
      g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      history = hg_trainer_get_history (trainer, &n);
      for (guint i = 0; i < n; i++)
        g_test_message ("trades epoch %d: objective %.4f, val BA %.3f, PGD BA %.3f", history[i].epoch,
                        history[i].train_loss, history[i].val.balanced_accuracy, history[i].val_pgd_ba);
      g_assert_cmpfloat ((history[n - 1].train_loss + history[n - 2].train_loss) / 2, <,
                         0.9 * history[0].train_loss);
      g_assert_true (hg_train_evaluate (model, f->train, HG_ADV_NONE, 0, 1, 1, &m, &error));
      g_assert_cmpfloat (m.balanced_accuracy, >, 0.7);
      if (run == 0)
        a = hg_model_save_to_bytes (model);
      else
        b = hg_model_save_to_bytes (model);
      g_clear_pointer (&trainer, hg_trainer_free);
    }
  g_assert_true (g_bytes_equal (a, b));

  /* An objective is not an attack to evaluate with. */
  g_assert_false (hg_train_evaluate (plain, f->val, HG_ADV_TRADES, 4, 5, 1, &m, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

static void
test_train_evaluate_attacks (Fixture      *f,
                             gconstpointer data)
{
  /* An untrained model still has input gradients: the attacks must not
   * raise accuracy above the clean figure by much, and ε = 0 is clean. */
  g_autoptr (HgModel) model = tiny_model (5);
  g_autoptr (GError) error = NULL;
  HgMetrics clean, zero, pgd;

  g_assert_true (hg_train_evaluate (model, f->train, HG_ADV_NONE, 0, 1, 1, &clean, &error));
  g_assert_true (hg_train_evaluate (model, f->train, HG_ADV_PGD, 0, 10, 1, &zero, &error));
  g_assert_true (hg_train_evaluate (model, f->train, HG_ADV_PGD, 16, 10, 1, &pgd, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (clean.n, ==, 47);
  g_assert_cmpfloat (zero.accuracy, ==, clean.accuracy);
  g_assert_cmpfloat (pgd.accuracy, <=, clean.accuracy);

  g_assert_false (hg_train_evaluate (model, f->train, HG_ADV_PGD, -1, 10, 1, &pgd, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

static void
test_train_bad_options (Fixture      *f,
                        gconstpointer data)
{
  static const struct
  {
    const char *field;
    const char *message;
  } cases[] = {
    { "epochs", "epochs must be from 1" },
    { "batch", "the batch size must be from 2" },
    { "big-batch", "47 training images are fewer than one batch of 64" },
    { "lr", "the learning rate must be above 0" },
    { "eps", "adversarial training needs ε above 0" },
    { "select", "selecting the best epoch by robustness needs a robustness check" },
    { "beta", "the TRADES weight β must be above 0" },
  };
  g_autoptr (HgModel) model = tiny_model (1);
  g_autoptr (HgModel) three = hg_model_new_from_arch ("cnn:width=4,classes=3", 1, NULL);
  g_autoptr (HgDataset) empty = hg_dataset_subset (f->val, HG_SPLIT_TEST);
  g_autoptr (GError) error = NULL;
  HgTrainer     *trainer;
  HgTrainOptions o;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      tiny_options (&o);
      if (g_str_equal (cases[i].field, "epochs"))
        o.epochs = 0;
      else if (g_str_equal (cases[i].field, "batch"))
        o.batch_size = 1;
      else if (g_str_equal (cases[i].field, "big-batch"))
        o.batch_size = 64;
      else if (g_str_equal (cases[i].field, "lr"))
        o.lr = NAN;
      else if (g_str_equal (cases[i].field, "eps"))
        {
          o.adv = HG_ADV_PGD;
          o.eps = 0;
        }
      else if (g_str_equal (cases[i].field, "beta"))
        {
          o.adv = HG_ADV_TRADES;
          o.beta = 0;
        }
      else
        o.select = HG_SELECT_ROBUST;

      trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
      g_assert_null (trainer);
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_clear_error (&error);
    }

  tiny_options (&o);
  trainer = hg_trainer_new (three, f->train, f->val, &o, &error);
  g_assert_null (trainer);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "the training data has 2 classes but the model has 3");
  g_clear_error (&error);

  trainer = hg_trainer_new (model, f->train, empty, &o, &error);
  g_assert_null (trainer);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no validation images"));
}

/* With a weight average, what is validated and kept is the average, not
 * the last weights. */
static void
test_train_ema (Fixture      *f,
                gconstpointer data)
{
  g_autoptr (HgModel) model = tiny_model (1);
  g_autoptr (HgTrainer) trainer = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) live = NULL;
  g_autoptr (GBytes) kept = NULL;
  HgTrainOptions       o;
  const HgEpochReport *best;
  HgMetrics            m;

  tiny_options (&o);
  o.epochs = 3;
  o.ema = 0.9;
  trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
  g_assert_no_error (error);
  g_assert_true (hg_trainer_run (trainer, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  best = hg_trainer_get_best_report (trainer);
  g_assert_true (hg_train_evaluate (hg_trainer_get_best_model (trainer), f->val, HG_ADV_NONE, 0, 1,
                                    1, &m, &error));
  g_assert_cmpfloat_with_epsilon (m.balanced_accuracy, best->val.balanced_accuracy, 1e-9);
  live = hg_model_save_to_bytes (model);
  kept = hg_model_save_to_bytes (hg_trainer_get_best_model (trainer));
  g_assert_false (g_bytes_equal (live, kept));

  o.ema = 1.0;
  g_assert_null (hg_trainer_new (model, f->train, f->val, &o, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

static void
cancel_after_first_epoch (const HgEpochReport *report,
                          gpointer             user_data)
{
  g_cancellable_cancel (user_data);
}

static void
test_train_cancel_keeps_best (Fixture      *f,
                              gconstpointer data)
{
  g_autoptr (HgModel) model = tiny_model (1);
  g_autoptr (HgTrainer) trainer = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  HgTrainCallbacks callbacks = { NULL, cancel_after_first_epoch, NULL };
  HgTrainOptions   o;
  guint            n;

  tiny_options (&o);
  trainer = hg_trainer_new (model, f->train, f->val, &o, &error);
  g_assert_false (hg_trainer_run (trainer, &callbacks, cancellable, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  hg_trainer_get_history (trainer, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_nonnull (hg_trainer_get_best_model (trainer));
  g_assert_cmpint (hg_trainer_get_best_report (trainer)->epoch, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/hg/train/learns", Fixture, NULL, fixture_set_up, test_train_learns, fixture_tear_down);
  g_test_add ("/hg/train/deterministic", Fixture, NULL, fixture_set_up, test_train_deterministic, fixture_tear_down);
  g_test_add ("/hg/train/adversarial", Fixture, NULL, fixture_set_up, test_train_adversarial, fixture_tear_down);
  g_test_add_func ("/hg/train/trades-loss", test_train_trades_loss);
  g_test_add ("/hg/train/trades", Fixture, NULL, fixture_set_up, test_train_trades, fixture_tear_down);
  g_test_add ("/hg/train/evaluate-attacks", Fixture, NULL, fixture_set_up, test_train_evaluate_attacks, fixture_tear_down);
  g_test_add ("/hg/train/bad-options", Fixture, NULL, fixture_set_up, test_train_bad_options, fixture_tear_down);
  g_test_add ("/hg/train/ema", Fixture, NULL, fixture_set_up, test_train_ema, fixture_tear_down);
  g_test_add ("/hg/train/cancel-keeps-best", Fixture, NULL, fixture_set_up, test_train_cancel_keeps_best, fixture_tear_down);

  return g_test_run ();
}
