/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-augment.h"
#include "hg-dataset.h"
#include "hg-metrics.h"
#include "hg-model.h"
#include "hg-optim.h"

G_BEGIN_DECLS

/* The trainer: mini-batch training of an HgModel on a loaded HgDataset,
 * optionally adversarial, keeping the best epoch by validation balanced
 * accuracy.
 *
 * One epoch: the training samples are shuffled (seeded), cut into batches
 * of batch_size (the last partial batch is dropped, so batch-norm never
 * sees a tiny batch), augmented (hg-augment.h), optionally made
 * adversarial, and fed to one optimiser step each. After each epoch the
 * whole validation set is classified (accuracy, balanced accuracy,
 * sensitivity, specificity, AUC, hg-metrics.h) and, for adversarial
 * training or when asked, a fixed validation subset is attacked with
 * PGD (random start) and FGSM at the training ε.
 *
 * Adversarial training crafts the examples with the current weights in
 * HG_MODE_TRAINING_NO_UPDATE (batch statistics, as PyTorch's train()
 * mode, without touching the running statistics), by L∞ sign-gradient
 * steps projected onto the ε-ball and [0,1]:
 *   fgsm     x + ε·sign(∇), no random start (Goodfellow et al.; the
 *            paper's defence);
 *   fgsm-rs  a uniform random start in the ε-ball, then one step of
 *            1.25·ε (Wong et al., "Fast is better than free", 2020);
 *   pgd      a random start and steps steps of step (2.5·ε/steps by
 *            default), projected (Madry et al., 2018).
 * mix is the fraction of each batch replaced by its adversarial version
 * (the rest stays clean).
 *
 * trades changes the objective as well as the examples (TRADES, Zhang et
 * al., 2019): every sample keeps its clean cross-entropy, and the first
 * mix of the batch adds β·KL(p(x) ‖ p(x')), where x' is crafted from a
 * random start by steps sign-gradient steps (step as for pgd) that
 * increase that KL divergence rather than the cross-entropy. The clean
 * and the adversarial batch pass through the network separately, each in
 * training mode with its own batch statistics, as in the authors' code;
 * see hg_trades_loss.
 *
 * Single-step training can overfit catastrophically: the model learns to
 * defeat the one-step attack while multi-step attacks succeed again (Wong
 * et al.). It shows as validation PGD balanced accuracy collapsing while
 * FGSM balanced accuracy stays high; when PGD balanced accuracy falls by
 * more than HG_TRAIN_OVERFIT_DROP below its best, the epoch is flagged
 * and, with stop_on_overfit, training stops (early stopping, as Wong et
 * al. recommend): the best epoch before the collapse is what is kept.
 *
 * With one engine thread (hg_threads_set (1, 1)), the same seed gives the
 * same model bit for bit. */

typedef enum
{
  HG_ADV_NONE,
  HG_ADV_FGSM,
  HG_ADV_FGSM_RS,
  HG_ADV_PGD,
  HG_ADV_TRADES,
} HgAdvTraining;

/* What "best epoch" means. */
typedef enum
{
  HG_SELECT_CLEAN,  /* validation balanced accuracy */
  HG_SELECT_ROBUST, /* validation PGD balanced accuracy at the training ε */
  HG_SELECT_MEAN,   /* the mean of the two */
} HgSelect;

typedef enum
{
  HG_OPTIMIZER_SGD,
  HG_OPTIMIZER_ADAM,
} HgOptimizerKind;

#define HG_TRAIN_OVERFIT_DROP 0.20
#define HG_TRAIN_MAX_EPOCHS 100000
#define HG_TRAIN_MAX_BATCH 4096

typedef struct
{
  int              epochs;         /* 10 */
  int              batch_size;     /* 128 */
  HgOptimizerKind  optimizer;      /* SGD */
  float            lr;             /* peak learning rate: 0.05 */
  float            min_lr;         /* end of the schedule: 0 */
  float            momentum;       /* SGD: 0.9 (Nesterov) */
  float            weight_decay;   /* 5e-4 */
  HgLrScheduleKind schedule;       /* one-cycle */
  guint64          seed;           /* 1 */
  gboolean         augment;        /* TRUE */
  HgAugment        augment_params; /* HG_AUGMENT_INIT_DEFAULT */
  /* Weigh each class's loss by n / (n_classes · n_class), so that both
   * classes count equally (balanced accuracy is what is selected on). */
  gboolean      balance; /* FALSE */
  HgAdvTraining adv;     /* none */
  double        eps;     /* 1/255 units: 4 */
  double        step;    /* attack step in 1/255; 0: 1.25·ε for fgsm-rs, 2.5·ε/steps for pgd and trades */
  int           steps;   /* pgd and trades: 5 */
  double        mix;     /* < 0: 0.5 for fgsm, else 1 */
  double        beta;    /* trades: weight of the KL term, 6 */
  /* The robustness check on validation: samples (0: none unless
   * adversarial, where it defaults to 512) and PGD steps (10). */
  int      robust_val_n;
  int      robust_val_steps;
  HgSelect select;          /* clean; robust-type defaults are the CLI's */
  gboolean stop_on_overfit; /* TRUE */
  /* Decay of an exponential moving average of the weights and batch-norm
   * statistics, updated after every step (with the usual warm-up,
   * min (ema, (1 + t) / (10 + t))); when above 0, the average is what is
   * validated and kept. 0: off. */
  double ema;
} HgTrainOptions;

void hg_train_options_init (HgTrainOptions *options);
/* "none", "fgsm", "fgsm-rs", "pgd", "trades". */
const char *hg_adv_training_to_string (HgAdvTraining adv);
gboolean    hg_adv_training_from_string (const char    *name,
                                         HgAdvTraining *adv);
/* "clean", "robust", "mean". */
const char *hg_select_to_string (HgSelect select);
gboolean    hg_select_from_string (const char *name,
                                   HgSelect   *select);
/* The options as JSON (with the resolved mix and step): recorded in the
 * model's metadata as "recipe". */
char *hg_train_options_to_json (const HgTrainOptions *options);

typedef struct
{
  int       epoch; /* 1-based */
  int       n_epochs;
  double    lr;         /* at the end of the epoch */
  double    train_loss; /* mean over the epoch's batches, as trained */
  double    train_accuracy;
  HgMetrics val;         /* clean, the whole validation set */
  gsize     robust_n;    /* samples of the robustness check, or 0 */
  double    val_pgd_ba;  /* PGD balanced accuracy; NAN without check */
  double    val_fgsm_ba; /* FGSM balanced accuracy; NAN without check */
  double    score;       /* what selection compares */
  gboolean  best;        /* the best so far */
  gboolean  overfit;     /* catastrophic overfitting detected */
  double    seconds;     /* since training started */
} HgEpochReport;

typedef struct
{
  /* After each batch; loss is the running mean of the epoch. */
  void (*batch) (int      epoch,
                 int      batch,
                 int      n_batches,
                 double   loss,
                 gpointer user_data);
  /* After each epoch's validation. */
  void (*epoch) (const HgEpochReport *report,
                 gpointer             user_data);
  /* When an epoch becomes the best: model holds its weights. Returning
   * FALSE (with error set) stops training with that error. */
  gboolean (*best) (HgModel             *model,
                    const HgEpochReport *report,
                    gpointer             user_data,
                    GError             **error);
} HgTrainCallbacks;

typedef struct _HgTrainer HgTrainer;

/* model is trained in place; train and val must be loaded at the model's
 * input size, with labels below its number of classes. The model's
 * channel mean/std are set from the training pixels and its class names
 * from the dataset. */
HgTrainer *hg_trainer_new (HgModel              *model,
                           HgDataset            *train,
                           HgDataset            *val,
                           const HgTrainOptions *options,
                           GError              **error);
void       hg_trainer_free (HgTrainer *trainer);

/* Runs every epoch (or stops early on catastrophic overfitting). On
 * cancellation returns FALSE with G_IO_ERROR_CANCELLED; the best model so
 * far stays available. */
gboolean hg_trainer_run (HgTrainer              *trainer,
                         const HgTrainCallbacks *callbacks,
                         gpointer                user_data,
                         GCancellable           *cancellable,
                         GError                **error);
/* A copy of the model at the best epoch (owned by the trainer), or NULL
 * before the first epoch ended. */
HgModel *hg_trainer_get_best_model (HgTrainer *trainer);
/* NULL before the first epoch ended. */
const HgEpochReport *hg_trainer_get_best_report (HgTrainer *trainer);
/* Every epoch's report so far. */
const HgEpochReport *hg_trainer_get_history (HgTrainer *trainer,
                                             guint     *n_epochs);
gboolean             hg_trainer_stopped_on_overfit (HgTrainer *trainer);

/* The TRADES objective on logits (n × k each). For every sample i,
 * w·CE(z_clean_i, labels_i), and for i < n_adv also
 * w·β·KL(softmax(z_clean_i) ‖ softmax(z_adv_i)), where w is
 * class_weight[labels_i] (1 when class_weight is NULL). Returns the sum;
 * dz_clean (n × k) and dz_adv (n_adv × k) receive its gradients. */
double hg_trades_loss (const float *z_clean,
                       const float *z_adv,
                       const int   *labels,
                       const float *class_weight,
                       int          n,
                       int          n_adv,
                       int          k,
                       double       beta,
                       float       *dz_clean,
                       float       *dz_adv);

/* Metrics of model on a loaded dataset, classified in batches, clean
 * (HG_ADV_NONE or eps 0) or under an L∞ attack crafted in inference mode:
 * FGSM (one step of ε), FGSM-RS, or PGD with steps steps of 2.5·ε/steps
 * from a random start (HG_ADV_TRADES is an objective, not an attack, and
 * is refused). seed fixes the random starts and the bootstrap interval.
 * With more than two classes, balanced accuracy is the mean recall and
 * the binary metrics are NAN. */
gboolean hg_train_evaluate (HgModel      *model,
                            HgDataset    *dataset,
                            HgAdvTraining attack,
                            double        eps,
                            int           steps,
                            guint64       seed,
                            HgMetrics    *metrics,
                            GError      **error);

/* Metrics as a JSON object: n, accuracy, balanced_accuracy, ba_ci95,
 * sensitivity, specificity, auc (undefined numbers are null). */
char *hg_train_metrics_to_json (const HgMetrics *metrics);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTrainer, hg_trainer_free)

G_END_DECLS
