/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "train"

/* Evaluation of the kept model at the end (--final-eval). */
#define FINAL_PGD_STEPS 20

typedef struct
{
  /* Command line */
  char    *data;
  char    *splits;
  char    *layout;
  char    *on_error;
  char    *arch;
  char    *out;
  char    *adv;
  char    *select;
  char    *optimizer;
  char    *schedule;
  char    *final_eps;
  char    *stain;
  int      epochs, batch, steps, threads, workers, robust_val, robust_val_steps;
  double   lr, min_lr, momentum, weight_decay, eps, step, mix, beta, val_split, ema;
  gint64   seed;
  gboolean no_augment, no_stain, balance, keep_overfit, final_eval, quiet;
  char    *command_line;

  /* State */
  HgTrainOptions options;
  GArray        *final_eps_list; /* double */
  HgDataset     *train, *val, *test;
  JsonNode      *data_json;
  gboolean       tty;
  gint64         start_us;
  double         load_start;
  double         load_sum; /* 1-minute load averages sampled at each epoch's end */
  int            load_n;
  double         cpu_start; /* process CPU seconds when training started */
  char          *best_val_json;
} Train;

static void
train_clear (Train *t)
{
  g_free (t->data);
  g_free (t->splits);
  g_free (t->layout);
  g_free (t->on_error);
  g_free (t->arch);
  g_free (t->out);
  g_free (t->adv);
  g_free (t->select);
  g_free (t->optimizer);
  g_free (t->schedule);
  g_free (t->final_eps);
  g_free (t->stain);
  g_free (t->command_line);
  g_clear_pointer (&t->final_eps_list, g_array_unref);
  g_clear_pointer (&t->train, hg_dataset_unref);
  g_clear_pointer (&t->val, hg_dataset_unref);
  g_clear_pointer (&t->test, hg_dataset_unref);
  g_clear_pointer (&t->data_json, json_node_unref);
  g_free (t->best_val_json);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Train, train_clear)

static double
load_average (void)
{
  double load[1] = { NAN };

  if (getloadavg (load, 1) != 1)
    return NAN;
  return load[0];
}

/* CPU seconds used by this process so far (all threads). */
static double
cpu_seconds (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return NAN;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static char *
node_to_text (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/* The processor's name as a JSON string ("model name" of /proc/cpuinfo),
 * or null where it cannot be read: training times compare only between
 * runs on the same kind of processor. */
static char *
cpu_name_json (void)
{
  g_autofree char *cpuinfo = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return g_strdup ("null");
  lines = g_strsplit (cpuinfo, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');

      if (g_str_has_prefix (lines[i], "model name") && colon != NULL)
        {
          g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), g_strstrip (colon + 1));

          return node_to_text (node);
        }
    }
  return g_strdup ("null");
}

static JsonNode *
text_to_node (const char *text)
{
  return json_from_string (text, NULL);
}

/* A number for JSON written by hand: '.' whatever the locale, and null
 * where there is none (a failed getloadavg() gives NAN). */
static const char *
json_number (char        buf[G_ASCII_DTOSTR_BUF_SIZE],
             const char *format,
             double      v)
{
  return isfinite (v) ? g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, format, v) : "null";
}

static void
add_double (JsonBuilder *b,
            const char  *name,
            double       v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_metrics (JsonBuilder     *b,
             const char      *name,
             const HgMetrics *m)
{
  g_autofree char *text = hg_train_metrics_to_json (m);

  json_builder_set_member_name (b, name);
  json_builder_add_value (b, text_to_node (text));
}

/* ---- Argument checks ---------------------------------------------------- */

static gboolean
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static gboolean
usage_error (const char *format,
             ...)
{
  g_autofree char *msg = NULL;
  va_list          args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  hg_cli_error (COMMAND, _ ("%s (see 'histoguard-cli train --help')"), msg);
  return FALSE;
}

static gboolean
parse_eps_list (const char *text,
                GArray    **out)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  g_autoptr (GArray) list = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char  *end = NULL;
      double v = g_ascii_strtod (g_strstrip (parts[i]), &end);

      if (parts[i][0] == '\0' || end == NULL || *end != '\0' || !(v > 0 && v <= 255))
        return usage_error (_ ("--final-eps: '%s' is not an ε from 1 to 255 (in 1/255)"), parts[i]);
      g_array_append_val (list, v);
    }
  if (list->len == 0)
    return usage_error (_ ("--final-eps: no ε given"));
  *out = g_steal_pointer (&list);
  return TRUE;
}

static gboolean
check_arguments (Train *t)
{
  HgTrainOptions *o = &t->options;

  if (t->data == NULL)
    return usage_error (_ ("--data DIR is required"));
  if (t->out == NULL)
    return usage_error (_ ("--out MODEL is required"));
  if (t->epochs < 1 || t->epochs > HG_TRAIN_MAX_EPOCHS)
    return usage_error (_ ("--epochs must be from 1 to %d, not %d"), HG_TRAIN_MAX_EPOCHS, t->epochs);
  if (t->batch < 2 || t->batch > HG_TRAIN_MAX_BATCH)
    return usage_error (_ ("--batch must be from 2 to %d, not %d"), HG_TRAIN_MAX_BATCH, t->batch);
  if (!(t->lr > 0 && t->lr <= 10))
    return usage_error (_ ("--lr must be above 0 and at most 10, not %g"), t->lr);
  if (!(t->min_lr >= 0 && t->min_lr <= t->lr))
    return usage_error (_ ("--min-lr must be from 0 to --lr (%g), not %g"), t->lr, t->min_lr);
  if (!(t->momentum >= 0 && t->momentum < 1))
    return usage_error (_ ("--momentum must be in [0, 1), not %g"), t->momentum);
  if (!(t->weight_decay >= 0 && t->weight_decay < 1))
    return usage_error (_ ("--weight-decay must be in [0, 1), not %g"), t->weight_decay);
  if (t->seed < 0)
    return usage_error (_ ("--seed must not be negative, not %lld"), (long long) t->seed);
  if (!hg_adv_training_from_string (t->adv, &o->adv))
    return usage_error (_ ("--adv must be none, fgsm, fgsm-rs, pgd or trades, not '%s'"), t->adv);
  if (!(t->eps > 0 && t->eps <= 255))
    return usage_error (_ ("--eps must be above 0 and at most 255 (in 1/255), not %g"), t->eps);
  if (!(t->step >= 0 && t->step <= 255))
    return usage_error (_ ("--step must be from 0 (automatic) to 255 (in 1/255), not %g"), t->step);
  if (t->steps < 1 || t->steps > 1000)
    return usage_error (_ ("--steps must be from 1 to 1000, not %d"), t->steps);
  if (!(t->mix == -1 || (t->mix >= 0 && t->mix <= 1)))
    return usage_error (_ ("--mix must be from 0 to 1, not %g"), t->mix);
  if (!(t->beta > 0 && t->beta <= 1000))
    return usage_error (_ ("--beta must be above 0 and at most 1000, not %g"), t->beta);
  if (t->threads < 0 || t->threads > 256)
    return usage_error (_ ("--threads must be from 0 (one per core) to 256, not %d"), t->threads);
  if (t->workers < 0 || t->workers > 64)
    return usage_error (_ ("--workers must be from 0 (one per core) to 64, not %d"), t->workers);
  if (t->robust_val < -1 || t->robust_val > 1000000)
    return usage_error (_ ("--robust-val must be from 0 to 1000000, not %d"), t->robust_val);
  if (t->robust_val_steps < 1 || t->robust_val_steps > 1000)
    return usage_error (_ ("--robust-val-steps must be from 1 to 1000, not %d"), t->robust_val_steps);
  if (!(t->ema >= 0 && t->ema < 1))
    return usage_error (_ ("--ema must be from 0 (off) to below 1, not %g"), t->ema);
  if (!(t->val_split > 0 && t->val_split < 1))
    return usage_error (_ ("--val-split must be between 0 and 1, not %g"), t->val_split);
  if (t->splits != NULL && t->val_split != 0.15)
    return usage_error (_ ("--val-split only applies without --splits"));
  if (g_strcmp0 (t->layout, "auto") != 0 && g_strcmp0 (t->layout, "idc") != 0 &&
      g_strcmp0 (t->layout, "folders") != 0)
    return usage_error (_ ("--layout must be auto, idc or folders, not '%s'"), t->layout);
  if (g_strcmp0 (t->on_error, "fail") != 0 && g_strcmp0 (t->on_error, "skip") != 0)
    return usage_error (_ ("--on-error must be fail or skip, not '%s'"), t->on_error);
  if (g_strcmp0 (t->optimizer, "sgd") == 0)
    o->optimizer = HG_OPTIMIZER_SGD;
  else if (g_strcmp0 (t->optimizer, "adam") == 0)
    o->optimizer = HG_OPTIMIZER_ADAM;
  else
    return usage_error (_ ("--optimizer must be sgd or adam, not '%s'"), t->optimizer);
  if (!hg_lr_schedule_kind_from_string (t->schedule, &o->schedule))
    return usage_error (_ ("--schedule must be one-cycle, cosine, step or constant, not '%s'"), t->schedule);
  if (t->select == NULL)
    o->select = o->adv == HG_ADV_NONE ? HG_SELECT_CLEAN : HG_SELECT_MEAN;
  else if (!hg_select_from_string (t->select, &o->select))
    return usage_error (_ ("--select must be clean, robust or mean, not '%s'"), t->select);
  if (o->select != HG_SELECT_CLEAN && o->adv == HG_ADV_NONE && t->robust_val <= 0)
    return usage_error (_ ("--select %s needs a robustness check (--robust-val N)"), t->select);
  if (!parse_eps_list (t->final_eps, &t->final_eps_list))
    return FALSE;
  if (t->stain != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (t->stain, ",", -1);
      double v[2];
      char  *end;

      if (g_strv_length (parts) != 2)
        return usage_error (_ ("--stain must be SCALE,SHIFT (e.g. 0.05,0.02), not '%s'"), t->stain);
      for (int i = 0; i < 2; i++)
        {
          v[i] = g_ascii_strtod (parts[i], &end);
          if (parts[i][0] == '\0' || *end != '\0' || !(v[i] >= 0 && v[i] <= 1))
            return usage_error (_ ("--stain: '%s' is not a number from 0 to 1"), parts[i]);
        }
      if (t->no_stain)
        return usage_error (_ ("--stain and --no-stain contradict each other"));
      o->augment_params.stain_scale = (float) v[0];
      o->augment_params.stain_shift = (float) v[1];
    }

  o->epochs = t->epochs;
  o->batch_size = t->batch;
  o->lr = (float) t->lr;
  o->min_lr = (float) t->min_lr;
  o->momentum = (float) t->momentum;
  o->weight_decay = (float) t->weight_decay;
  o->seed = (guint64) t->seed;
  o->augment = !t->no_augment;
  if (t->no_stain)
    o->augment_params.stain_scale = o->augment_params.stain_shift = 0;
  o->balance = t->balance;
  o->eps = t->eps;
  o->step = t->step;
  o->steps = t->steps;
  o->mix = t->mix;
  o->beta = t->beta;
  o->robust_val_n = t->robust_val;
  o->robust_val_steps = t->robust_val_steps;
  o->stop_on_overfit = !t->keep_overfit;
  o->ema = t->ema;
  return TRUE;
}

/* ---- Data --------------------------------------------------------------- */

static void
report_problems (HgDataset *ds)
{
  const char *const *problems = hg_dataset_get_problems (ds);
  guint              n = g_strv_length ((char **) problems);

  for (guint i = 0; i < n && i < 10; i++)
    hg_cli_error (COMMAND, _ ("skipped %s"), problems[i]);
  if (n > 10)
    hg_cli_error (COMMAND, g_dngettext (GETTEXT_PACKAGE, "skipped %u more file", "skipped %u more files", n - 10), n - 10);
}

static gboolean
load_split (Train        *t,
            HgDataset    *all,
            HgSplit       split,
            int           h,
            int           w,
            GCancellable *cancellable,
            HgDataset   **out)
{
  g_autoptr (HgDataset) ds = hg_dataset_subset (all, split);
  g_autoptr (GError) error = NULL;
  HgDatasetOnError on_error = g_strcmp0 (t->on_error, "skip") == 0 ? HG_DATASET_ON_ERROR_SKIP
                                                                   : HG_DATASET_ON_ERROR_FAIL;

  if (hg_dataset_get_n_samples (ds) > 0 &&
      !hg_dataset_load (ds, w, h, (guint) t->workers, on_error, cancellable, &error))
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return FALSE;
    }
  report_problems (ds);
  *out = g_steal_pointer (&ds);
  return TRUE;
}

static void
describe_split (JsonBuilder *b,
                const char  *name,
                HgDataset   *ds)
{
  guint counts[HG_DATASET_MAX_CLASSES];
  guint k = hg_dataset_get_n_classes (ds);

  hg_dataset_count_classes (ds, counts);
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, hg_dataset_get_n_samples (ds));
  json_builder_set_member_name (b, "patients");
  json_builder_add_int_value (b, hg_dataset_get_n_patients (ds));
  json_builder_set_member_name (b, "per_class");
  json_builder_begin_array (b);
  for (guint c = 0; c < k; c++)
    json_builder_add_int_value (b, counts[c]);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static gboolean
load_data (Train        *t,
           HgModel      *model,
           GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) all = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  HgDatasetLayout  layout = g_strcmp0 (t->layout, "idc") == 0       ? HG_DATASET_LAYOUT_IDC
                            : g_strcmp0 (t->layout, "folders") == 0 ? HG_DATASET_LAYOUT_FOLDERS
                                                                    : HG_DATASET_LAYOUT_AUTO;
  HgDatasetOnError on_error = g_strcmp0 (t->on_error, "skip") == 0 ? HG_DATASET_ON_ERROR_SKIP
                                                                   : HG_DATASET_ON_ERROR_FAIL;
  int              h, w, c;

  all = hg_dataset_open (t->data, layout, on_error, &error);
  if (all == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return FALSE;
    }
  report_problems (all);

  if ((int) hg_dataset_get_n_classes (all) != hg_model_get_n_classes (model))
    {
      hg_cli_error (COMMAND,
                    g_dngettext (GETTEXT_PACKAGE,
                                 "%s has %u class but the architecture '%s' has %d (for a built-in "
                                 "architecture, add ':classes=%u' to --arch)",
                                 "%s has %u classes but the architecture '%s' has %d (for a built-in "
                                 "architecture, add ':classes=%u' to --arch)",
                                 hg_dataset_get_n_classes (all)),
                    t->data, hg_dataset_get_n_classes (all), t->arch,
                    hg_model_get_n_classes (model), hg_dataset_get_n_classes (all));
      return FALSE;
    }

  if (t->splits != NULL)
    {
      g_autoptr (HgSplits) splits = hg_splits_new_from_file (t->splits, &error);

      if (splits == NULL || !hg_dataset_apply_splits (all, splits, &error))
        {
          hg_cli_error (COMMAND, "%s", error->message);
          return FALSE;
        }
    }
  else if (!hg_dataset_assign_random_splits (all, t->val_split, 0, (guint64) t->seed, &error))
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return FALSE;
    }

  hg_model_get_input_size (model, &h, &w, &c);
  if (!load_split (t, all, HG_SPLIT_TRAIN, h, w, cancellable, &t->train) ||
      !load_split (t, all, HG_SPLIT_VAL, h, w, cancellable, &t->val))
    return FALSE;
  if (t->final_eval && !load_split (t, all, HG_SPLIT_TEST, h, w, cancellable, &t->test))
    return FALSE;

  if (hg_dataset_get_n_samples (t->train) == 0)
    {
      hg_cli_error (COMMAND, _ ("no training images: no patient of %s is in the train split"), t->data);
      return FALSE;
    }
  if (hg_dataset_get_n_samples (t->val) == 0)
    {
      hg_cli_error (COMMAND, _ ("no validation images: no patient of %s is in the val split"), t->data);
      return FALSE;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "root");
  json_builder_add_string_value (b, t->data);
  json_builder_set_member_name (b, "splits");
  if (t->splits != NULL)
    json_builder_add_string_value (b, t->splits);
  else
    {
      g_autofree char *random = g_strdup_printf ("random by patient: val %g, seed %" G_GINT64_FORMAT,
                                                 t->val_split, t->seed);

      json_builder_add_string_value (b, random);
    }
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, hg_dataset_get_layout (all) == HG_DATASET_LAYOUT_IDC ? "idc" : "folders");
  describe_split (b, "train", t->train);
  describe_split (b, "val", t->val);
  if (t->test != NULL)
    describe_split (b, "test", t->test);
  json_builder_end_object (b);
  t->data_json = json_builder_get_root (b);
  return TRUE;
}

/* ---- Progress ----------------------------------------------------------- */

static char *
format_duration (double seconds)
{
  int s = (int) (seconds + 0.5);

  if (s >= 3600)
    return g_strdup_printf ("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60)
    return g_strdup_printf ("%dm%02ds", s / 60, s % 60);
  return g_strdup_printf ("%ds", s);
}

static void
on_batch (int      epoch,
          int      batch,
          int      n_batches,
          double   loss,
          gpointer user_data)
{
  Train *t = user_data;
  double elapsed = (g_get_monotonic_time () - t->start_us) / 1e6;
  double done = ((epoch - 1) + (double) batch / n_batches) / t->options.epochs;

  if (t->quiet)
    return;
  if (t->tty)
    {
      char             bar[31];
      int              fill = (int) (30.0 * batch / n_batches);
      g_autofree char *el = format_duration (elapsed);
      g_autofree char *eta = format_duration (done > 0 ? elapsed / done - elapsed : 0);

      for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>'
                                            : ' ';
      bar[30] = '\0';
      fprintf (stderr, "\r\033[K");
      fprintf (stderr, _ ("epoch %d/%d [%s] %3d%%  loss %.4f  %s  ETA %s"), epoch,
               t->options.epochs, bar, 100 * batch / n_batches, loss, el, eta);
      fflush (stderr);
    }
  else if (batch == n_batches / 2)
    fprintf (stderr, _ ("epoch %d/%d: batch %d/%d, loss %.4f, %.0f s\n"), epoch, t->options.epochs,
             batch, n_batches, loss, elapsed);
}

static void
on_epoch (const HgEpochReport *r,
          gpointer             user_data)
{
  Train *t = user_data;
  g_autoptr (GString) line = g_string_new (NULL);

  t->load_sum += load_average ();
  t->load_n++;
  if (t->tty && !t->quiet)
    fprintf (stderr, "\r\033[K");
  g_string_append_printf (line,
                          "epoch %d/%d  loss %.4f  train-acc %.3f  val acc %.3f ba %.3f sens %.3f "
                          "spec %.3f auc %.3f",
                          r->epoch, r->n_epochs, r->train_loss, r->train_accuracy, r->val.accuracy,
                          r->val.balanced_accuracy, r->val.sensitivity, r->val.specificity,
                          r->val.auc);
  if (r->robust_n > 0)
    g_string_append_printf (line, "  pgd%d-ba %.3f fgsm-ba %.3f (ε %g, %" G_GSIZE_FORMAT ")",
                            t->options.robust_val_steps, r->val_pgd_ba, r->val_fgsm_ba,
                            t->options.eps, r->robust_n);
  g_string_append_printf (line, "  lr %.4g  %.0fs", r->lr, r->seconds);
  if (r->best)
    g_string_append (line, "  *best");
  if (r->overfit)
    g_string_append (line, "  CATASTROPHIC OVERFITTING");
  printf ("%s\n", line->str);
  fflush (stdout);

  if (r->overfit)
    hg_cli_error (COMMAND,
                  _ ("epoch %d: PGD balanced accuracy on validation fell to %.3f (FGSM %.3f) from "
                     "its best; the single-step attack no longer finds what multi-step PGD finds. "
                     "%s"),
                  r->epoch, r->val_pgd_ba, r->val_fgsm_ba,
                  t->options.stop_on_overfit ? _ ("Stopping; the best epoch before it is kept.")
                                             : _ ("This epoch is not eligible as the best."));
}

/* ---- Saving ------------------------------------------------------------- */

static char *
selection_json (const Train         *t,
                const HgEpochReport *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "epoch");
  json_builder_add_int_value (b, r->epoch);
  json_builder_set_member_name (b, "select");
  json_builder_add_string_value (b, hg_select_to_string (t->options.select));
  add_metrics (b, "clean", &r->val);
  if (r->robust_n > 0)
    {
      json_builder_set_member_name (b, "robust_check");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, (gint64) r->robust_n);
      add_double (b, "eps", t->options.eps);
      json_builder_set_member_name (b, "pgd_steps");
      json_builder_add_int_value (b, t->options.robust_val_steps);
      add_double (b, "pgd_balanced_accuracy", r->val_pgd_ba);
      add_double (b, "fgsm_balanced_accuracy", r->val_fgsm_ba);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return node_to_text (root);
}

static void
set_provenance (Train               *t,
                HgModel             *model,
                const HgEpochReport *r,
                double               train_seconds)
{
  g_autofree char *recipe = hg_train_options_to_json (&t->options);
  g_autofree char *data = node_to_text (t->data_json);
  g_autofree char *seed = g_strdup_printf ("%" G_GINT64_FORMAT, t->seed);
  g_autofree char *epochs = g_strdup_printf ("%d", r->n_epochs);
  g_autofree char *best = g_strdup_printf ("%d", r->epoch);
  char             seconds[G_ASCII_DTOSTR_BUF_SIZE];
  char             load_start[G_ASCII_DTOSTR_BUF_SIZE];
  char             load_mean[G_ASCII_DTOSTR_BUF_SIZE];
  char             cpu_time[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *machine = NULL;
  g_autofree char *cpu = cpu_name_json ();
  g_autofree char *version = g_strdup_printf ("histoguard-cli %s", hg_version ());

  /* Wall time means little on a shared machine without the load it ran
   * under, the CPU time it took and the processor it ran on. */
  machine = g_strdup_printf ("{\"cores\": %u, \"threads\": %d, \"blas_threads\": %d, "
                             "\"load_start\": %s, \"load_mean\": %s, \"cpu_seconds\": %s, \"cpu\": %s}",
                             g_get_num_processors (), hg_threads_get_n_workers (), hg_threads_get_blas_threads (),
                             json_number (load_start, "%.2f", t->load_start),
                             json_number (load_mean, "%.2f",
                                          t->load_n > 0 ? t->load_sum / t->load_n : load_average ()),
                             json_number (cpu_time, "%.1f", cpu_seconds () - t->cpu_start), cpu);
  hg_model_set_metadata (model, "command", t->command_line);
  hg_model_set_metadata (model, "data", data);
  hg_model_set_metadata (model, "seed", seed);
  hg_model_set_metadata (model, "epochs", epochs);
  hg_model_set_metadata (model, "best_epoch", best);
  hg_model_set_metadata (model, "recipe", recipe);
  hg_model_set_metadata (model, "train_seconds", json_number (seconds, "%.1f", train_seconds));
  hg_model_set_metadata (model, "train_machine", machine);
  hg_model_set_metadata (model, "trained_with", version);
  if (t->best_val_json != NULL)
    hg_model_set_metadata (model, "val_metrics", t->best_val_json);
}

static gboolean
on_best (HgModel             *model,
         const HgEpochReport *r,
         gpointer             user_data,
         GError             **error)
{
  Train *t = user_data;

  g_free (t->best_val_json);
  t->best_val_json = selection_json (t, r);
  set_provenance (t, model, r, r->seconds);
  return hg_model_save (model, t->out, error);
}

/* ---- Final evaluation --------------------------------------------------- */

static JsonNode *
evaluate_split (Train        *t,
                HgModel      *model,
                HgDataset    *ds,
                GCancellable *cancellable,
                GError      **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  static const struct
  {
    const char   *name;
    HgAdvTraining attack;
    int           steps;
  } attacks[] = {
    { "fgsm", HG_ADV_FGSM, 1 },
    { "pgd20", HG_ADV_PGD, FINAL_PGD_STEPS },
  };
  HgMetrics m;

  if (!hg_train_evaluate (model, ds, HG_ADV_NONE, 0, 1, (guint64) t->seed, &m, error))
    return NULL;
  json_builder_begin_object (b);
  add_metrics (b, "clean", &m);
  for (guint a = 0; a < G_N_ELEMENTS (attacks); a++)
    {
      json_builder_set_member_name (b, attacks[a].name);
      json_builder_begin_object (b);
      for (guint i = 0; i < t->final_eps_list->len; i++)
        {
          double           eps = g_array_index (t->final_eps_list, double, i);
          g_autofree char *key = g_strdup_printf ("%g", eps);

          if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
              !hg_train_evaluate (model, ds, attacks[a].attack, eps, attacks[a].steps,
                                  (guint64) t->seed, &m, error))
            return NULL;
          add_metrics (b, key, &m);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- The command -------------------------------------------------------- */

static char *
quote_command (int    argc,
               char **argv)
{
  g_autoptr (GString) s = g_string_new ("histoguard-cli");

  for (int i = 0; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean    plain = a[0] != '\0';

      for (const char *p = a; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && strchr ("-_./:=,+@%", *p) == NULL)
          plain = FALSE;
      if (plain)
        g_string_append_printf (s, " %s", a);
      else
        {
          g_autofree char *q = g_shell_quote (a);

          g_string_append_printf (s, " %s", q);
        }
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

int
hg_cli_train (int    argc,
              char **argv)
{
  g_auto (Train) t = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgTrainer) trainer = NULL;
  GCancellable        *cancellable;
  HgTrainCallbacks     callbacks = { on_batch, on_epoch, on_best };
  const HgEpochReport *best;
  HgModel             *best_model;
  double               train_seconds, eval_seconds = 0;
  gboolean             ok;
  const GOptionEntry   entries[] = {
      { "data", 0, 0, G_OPTION_ARG_FILENAME, &t.data, N_ ("Folder of patches: IDC layout or <class>/<image>"), N_ ("DIR") },
      { "splits", 0, 0, G_OPTION_ARG_FILENAME, &t.splits, N_ ("Patient split file (patient<TAB>split: train, val, test)"), N_ ("FILE") },
      { "val-split", 0, 0, G_OPTION_ARG_DOUBLE, &t.val_split, N_ ("Without --splits: fraction of patients (or images) for validation [0.15]"), N_ ("F") },
      { "layout", 0, 0, G_OPTION_ARG_STRING, &t.layout, N_ ("auto, idc or folders [auto]"), N_ ("NAME") },
      { "on-error", 0, 0, G_OPTION_ARG_STRING, &t.on_error, N_ ("An unusable image: fail or skip (reported) [fail]"), N_ ("WHAT") },
      { "arch", 0, 0, G_OPTION_ARG_STRING, &t.arch, N_ ("Built-in architecture (cnn, densenet, resnet, with :options) or a JSON file [cnn]"), N_ ("NAME|FILE") },
      { "epochs", 0, 0, G_OPTION_ARG_INT, &t.epochs, N_ ("Epochs [10]"), N_ ("N") },
      { "batch", 0, 0, G_OPTION_ARG_INT, &t.batch, N_ ("Batch size [128]"), N_ ("B") },
      { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &t.lr, N_ ("Peak learning rate [0.05]"), N_ ("LR") },
      { "min-lr", 0, 0, G_OPTION_ARG_DOUBLE, &t.min_lr, N_ ("Learning rate at the end [0]"), N_ ("LR") },
      { "schedule", 0, 0, G_OPTION_ARG_STRING, &t.schedule, N_ ("one-cycle, cosine, step or constant [one-cycle]"), N_ ("NAME") },
      { "optimizer", 0, 0, G_OPTION_ARG_STRING, &t.optimizer, N_ ("sgd (Nesterov momentum) or adam (AdamW) [sgd]"), N_ ("NAME") },
      { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &t.momentum, N_ ("SGD momentum [0.9]"), N_ ("M") },
      { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &t.weight_decay, N_ ("Weight decay of conv and dense weights [5e-4]"), N_ ("WD") },
      { "seed", 0, 0, G_OPTION_ARG_INT64, &t.seed, N_ ("Seed of initialisation, shuffling, augmentation and attacks [1]"), N_ ("S") },
      { "no-augment", 0, 0, G_OPTION_ARG_NONE, &t.no_augment, N_ ("No flips, rotations or stain jitter"), NULL },
      { "no-stain", 0, 0, G_OPTION_ARG_NONE, &t.no_stain, N_ ("Flips and rotations, but no stain jitter"), NULL },
      { "stain", 0, 0, G_OPTION_ARG_STRING, &t.stain, N_ ("H&E stain jitter: relative scale and optical-density shift of each stain [0.05,0.02]"), N_ ("SCALE,SHIFT") },
      { "balance", 0, 0, G_OPTION_ARG_NONE, &t.balance, N_ ("Weigh the loss so that every class counts equally"), NULL },
      { "adv", 0, 0, G_OPTION_ARG_STRING, &t.adv, N_ ("Adversarial training: none, fgsm, fgsm-rs, pgd or trades [none]"), N_ ("KIND") },
      { "eps", 0, 0, G_OPTION_ARG_DOUBLE, &t.eps, N_ ("Training ε, in 1/255 [4]"), N_ ("E") },
      { "steps", 0, 0, G_OPTION_ARG_INT, &t.steps, N_ ("Attack steps of pgd and trades [5]"), N_ ("K") },
      { "step", 0, 0, G_OPTION_ARG_DOUBLE, &t.step, N_ ("Attack step in 1/255 [2.5·ε/K for pgd and trades, 1.25·ε for fgsm-rs]"), N_ ("A") },
      { "mix", 0, 0, G_OPTION_ARG_DOUBLE, &t.mix, N_ ("Adversarial fraction of each batch [0.5 for fgsm, else 1]"), N_ ("F") },
      { "beta", 0, 0, G_OPTION_ARG_DOUBLE, &t.beta, N_ ("trades: weight of KL(clean ‖ adversarial) beside the clean loss [6]"), N_ ("B") },
      { "robust-val", 0, 0, G_OPTION_ARG_INT, &t.robust_val, N_ ("Validation images attacked after each epoch [512 with --adv, else 0]"), N_ ("N") },
      { "robust-val-steps", 0, 0, G_OPTION_ARG_INT, &t.robust_val_steps, N_ ("PGD steps of that check [10]"), N_ ("K") },
      { "select", 0, 0, G_OPTION_ARG_STRING, &t.select, N_ ("Best epoch by validation BA: clean, robust (PGD) or mean [clean; mean with --adv]"), N_ ("WHAT") },
      { "ema", 0, 0, G_OPTION_ARG_DOUBLE, &t.ema, N_ ("Validate and keep an exponential moving average of the weights with this decay per step (e.g. 0.99) [0: off]"), N_ ("DECAY") },
      { "keep-overfit", 0, 0, G_OPTION_ARG_NONE, &t.keep_overfit, N_ ("Do not stop on catastrophic overfitting"), NULL },
      { "final-eval", 0, 0, G_OPTION_ARG_NONE, &t.final_eval, N_ ("Evaluate the kept model on val and test: clean, FGSM, PGD-20"), NULL },
      { "final-eps", 0, 0, G_OPTION_ARG_STRING, &t.final_eps, N_ ("ε of that evaluation, comma-separated [4,8]"), N_ ("LIST") },
      { "threads", 0, 0, G_OPTION_ARG_INT, &t.threads, N_ ("Engine threads (0: one per core; 1: bit-reproducible) [0]"), N_ ("N") },
      { "workers", 0, 0, G_OPTION_ARG_INT, &t.workers, N_ ("Image decoding threads (0: one per core) [0]"), N_ ("N") },
      { "out", 'o', 0, G_OPTION_ARG_FILENAME, &t.out, N_ ("Model file to write (the best epoch, atomically)"), N_ ("MODEL") },
      { "quiet", 'q', 0, G_OPTION_ARG_NONE, &t.quiet, N_ ("No progress, only epoch lines"), NULL },
      { NULL }
  };

  /* Progress lines, metadata and the summary use '.' whatever the
   * language, as eval's do: scripts read them as often as people. */
  setlocale (LC_NUMERIC, "C");
  hg_train_options_init (&t.options);
  t.command_line = quote_command (argc, argv);
  t.epochs = t.options.epochs;
  t.batch = t.options.batch_size;
  t.lr = t.options.lr;
  t.min_lr = t.options.min_lr;
  t.momentum = t.options.momentum;
  t.weight_decay = t.options.weight_decay;
  t.seed = (gint64) t.options.seed;
  t.eps = t.options.eps;
  t.steps = t.options.steps;
  t.mix = -1;
  t.beta = t.options.beta;
  t.robust_val = -1;
  t.robust_val_steps = t.options.robust_val_steps;
  t.val_split = 0.15;

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _ ("Trains a classifier of patches with Histoguard's own engine, keeping "
                                   "the epoch with the best\nvalidation balanced accuracy in MODEL "
                                   "(written atomically at each new best, so Ctrl-C\nleaves the last "
                                   "good model intact).\n\n"
                                   "Example:\n"
                                   "  histoguard-cli train --data ../shared/data/idc/patches \\\n"
                                   "    --splits ../shared/data/idc/splits.tsv --epochs 20 --adv pgd "
                                   "--eps 4 --steps 5 \\\n    --out idc-robust.safetensors"));
  g_option_context_set_description (context,
                                    _ ("ε and attack steps are in units of 1/255 on [0,1] pixels. "
                                       "With --threads 1 a seed gives the same model bit for bit.\n"
                                       "Exit status: 0 done, 1 failed, 2 wrong command line, "
                                       "130 interrupted (the best model so far is kept)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;
  if (argc > 1)
    {
      usage_error (_ ("unexpected argument '%s'"), argv[1]);
      return HG_CLI_EXIT_USAGE;
    }
  if (t.layout == NULL)
    t.layout = g_strdup ("auto");
  if (t.on_error == NULL)
    t.on_error = g_strdup ("fail");
  if (t.arch == NULL)
    t.arch = g_strdup ("cnn");
  if (t.adv == NULL)
    t.adv = g_strdup ("none");
  if (t.optimizer == NULL)
    t.optimizer = g_strdup ("sgd");
  if (t.schedule == NULL)
    t.schedule = g_strdup ("one-cycle");
  if (t.final_eps == NULL)
    t.final_eps = g_strdup ("4,8");
  if (!check_arguments (&t))
    return HG_CLI_EXIT_USAGE;

  hg_cli_set_threads (t.threads);
  model = hg_model_new_from_arch (t.arch, (guint64) t.seed, &error);
  if (model == NULL)
    {
      usage_error (_ ("--arch: %s"), error->message);
      return HG_CLI_EXIT_USAGE;
    }

  cancellable = hg_cli_cancel_on_interrupt ();
  t.tty = hg_cli_stderr_is_tty ();
  if (!load_data (&t, model, cancellable))
    return g_cancellable_is_cancelled (cancellable) ? HG_CLI_EXIT_INTERRUPTED : HG_CLI_EXIT_FAILURE;

  if (!t.quiet)
    {
      gsize            n_params = hg_model_get_n_params (model);
      guint            n_images = hg_dataset_get_n_samples (t.train);
      guint            n_patients = hg_dataset_get_n_patients (t.train);
      int              n_threads = hg_threads_get_n_workers ();
      g_autofree char *params = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%zu parameter", "%zu parameters", n_params), n_params);
      g_autofree char *images = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "on %u image", "on %u images", n_images), n_images);
      g_autofree char *patients = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "of %u patient", "of %u patients", n_patients), n_patients);
      g_autofree char *threads = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d engine thread", "%d engine threads", n_threads), n_threads);

      /* Translators: "training cnn (20000 parameters) on 900 images of 12
       * patients, validating on 150; 2 engine threads": the architecture,
       * the phrases above in turn, and the number of validation images. */
      fprintf (stderr, _ ("training %s (%s) %s %s, validating on %u; %s\n"), hg_model_get_arch_name (model),
               params, images, patients, hg_dataset_get_n_samples (t.val), threads);
    }

  trainer = hg_trainer_new (model, t.train, t.val, &t.options, &error);
  if (trainer == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  t.load_start = load_average ();
  t.cpu_start = cpu_seconds ();
  t.start_us = g_get_monotonic_time ();
  ok = hg_trainer_run (trainer, &callbacks, &t, cancellable, &error);
  train_seconds = (g_get_monotonic_time () - t.start_us) / 1e6;
  if (t.tty && !t.quiet)
    fprintf (stderr, "\r\033[K");

  best = hg_trainer_get_best_report (trainer);
  best_model = hg_trainer_get_best_model (trainer);
  if (!ok)
    {
      gboolean interrupted = g_cancellable_is_cancelled (cancellable);

      if (!interrupted)
        hg_cli_error (COMMAND, "%s", error->message);
      if (best != NULL)
        hg_cli_error (COMMAND, _ ("%s; %s holds epoch %d (validation balanced accuracy %.3f)"),
                      interrupted ? _ ("interrupted") : _ ("stopped"), t.out, best->epoch,
                      best->val.balanced_accuracy);
      else
        hg_cli_error (COMMAND, _ ("%s before the first epoch ended; nothing was written"),
                      interrupted ? _ ("interrupted") : _ ("stopped"));
      return interrupted ? HG_CLI_EXIT_INTERRUPTED : HG_CLI_EXIT_FAILURE;
    }

  /* The kept model, with its provenance and the real training time. */
  set_provenance (&t, best_model, best, train_seconds);
  {
    g_autofree char *n = NULL;
    guint            ran = 0;

    hg_trainer_get_history (trainer, &ran);
    n = g_strdup_printf ("%u", ran);
    hg_model_set_metadata (best_model, "epochs_run", n);
    hg_model_set_metadata (best_model, "stopped_on_overfit",
                           hg_trainer_stopped_on_overfit (trainer) ? "true" : "false");
  }

  if (t.final_eval)
    {
      gint64 eval_start = g_get_monotonic_time ();
      g_autoptr (JsonNode) val_node = NULL;
      g_autoptr (JsonNode) test_node = NULL;

      if (!t.quiet)
        fprintf (stderr, _ ("evaluating epoch %d on val and test: clean, FGSM, PGD-%d at ε %s…\n"),
                 best->epoch, FINAL_PGD_STEPS, t.final_eps);
      val_node = evaluate_split (&t, best_model, t.val, cancellable, &error);
      if (val_node != NULL && hg_dataset_get_n_samples (t.test) > 0)
        test_node = evaluate_split (&t, best_model, t.test, cancellable, &error);
      if (error != NULL)
        {
          hg_cli_error (COMMAND, "%s", error->message);
          if (!hg_model_save (best_model, t.out, &error))
            hg_cli_error (COMMAND, "%s", error->message);
          return g_cancellable_is_cancelled (cancellable) ? HG_CLI_EXIT_INTERRUPTED : HG_CLI_EXIT_FAILURE;
        }
      eval_seconds = (g_get_monotonic_time () - eval_start) / 1e6;

      {
        g_autoptr (JsonNode) sel = text_to_node (t.best_val_json);
        g_autofree char *val_text = NULL;

        /* val_metrics: the selection figures plus the full evaluation. */
        json_object_set_member (json_node_get_object (val_node), "selection", g_steal_pointer (&sel));
        val_text = node_to_text (val_node);
        hg_model_set_metadata (best_model, "val_metrics", val_text);
      }
      if (test_node != NULL)
        {
          g_autofree char *test_text = node_to_text (test_node);

          hg_model_set_metadata (best_model, "test_metrics", test_text);
        }
      {
        char s[G_ASCII_DTOSTR_BUF_SIZE];

        hg_model_set_metadata (best_model, "eval_seconds", json_number (s, "%.1f", eval_seconds));
      }
    }

  if (!hg_model_save (best_model, t.out, &error))
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  /* Last, one JSON line for scripts. */
  {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonNode) root = NULL;
    g_autofree char *text = NULL;
    const char      *val = hg_model_get_metadata (best_model, "val_metrics");
    const char      *test = hg_model_get_metadata (best_model, "test_metrics");
    guint            ran;

    hg_trainer_get_history (trainer, &ran);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "out");
    json_builder_add_string_value (b, t.out);
    json_builder_set_member_name (b, "best_epoch");
    json_builder_add_int_value (b, best->epoch);
    json_builder_set_member_name (b, "epochs_run");
    json_builder_add_int_value (b, ran);
    json_builder_set_member_name (b, "stopped_on_overfit");
    json_builder_add_boolean_value (b, hg_trainer_stopped_on_overfit (trainer));
    add_double (b, "train_seconds", train_seconds);
    add_double (b, "eval_seconds", eval_seconds);
    json_builder_set_member_name (b, "val");
    json_builder_add_value (b, text_to_node (val));
    if (test != NULL)
      {
        json_builder_set_member_name (b, "test");
        json_builder_add_value (b, text_to_node (test));
      }
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    text = node_to_text (root);
    printf ("%s\n", text);
  }
  return HG_CLI_EXIT_OK;
}
