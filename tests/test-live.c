/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The live explorer's core (hg-live.h) on the small committed model
 * tests/data/idc-tiny.safetensors and the 67 real IDC patches of
 * tests/data/idc: every number is checked against the attack API used
 * directly, by hand. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#define SIZE 50
#define PIXELS (3 * SIZE * SIZE)

static HgModel *model;
static float   *tiles_x;
static int     *tiles_truth;
static int      N;

/* ---- fixtures ------------------------------------------------------------------ */

static void
load_fixtures (void)
{
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "data", "idc-tiny.safetensors", NULL);
  g_autofree char *patches = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) data = NULL;

  model = hg_model_load (model_path, &error);
  g_assert_no_error (error);
  data = hg_dataset_open (patches, HG_DATASET_LAYOUT_IDC, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_no_error (error);
  g_assert_true (hg_dataset_load (data, SIZE, SIZE, 0, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_no_error (error);

  N = (int) hg_dataset_get_n_samples (data);
  tiles_x = g_new (float, (gsize) N *PIXELS);
  tiles_truth = g_new (int, N);
  for (int i = 0; i < N; i++)
    {
      memcpy (tiles_x + (gsize) i * PIXELS, hg_dataset_get_pixels (data, i), PIXELS * sizeof (float));
      tiles_truth[i] = hg_dataset_get_sample (data, i)->label;
    }
}

/* The read function: tile key k is patch k % N (so keys beyond N are
 * new tiles with old pixels), with its ground truth. */
typedef struct
{
  int      reads;  /* tiles read */
  gboolean fail;   /* fail every read */
  GMutex   lock;   /* held by a test to keep reads waiting */
  gboolean gated;  /* take lock on each read */
  gint     inside; /* a read is waiting for the gate */
} Reader;

static gboolean
read_tiles (const guint64 *keys,
            int            n,
            int            width,
            int            height,
            float         *x,
            int           *truth,
            gpointer       user_data,
            GError       **error)
{
  Reader *reader = user_data;

  g_assert_cmpint (width, ==, SIZE);
  g_assert_cmpint (height, ==, SIZE);
  if (reader->gated)
    {
      g_atomic_int_set (&reader->inside, 1);
      g_mutex_lock (&reader->lock);
      g_mutex_unlock (&reader->lock);
    }
  if (reader->fail)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, "tile %" G_GUINT64_FORMAT " could not be read", keys[0]);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      memcpy (x + (gsize) i * PIXELS, tiles_x + (keys[i] % N) * PIXELS, PIXELS * sizeof (float));
      truth[i] = tiles_truth[keys[i] % N];
    }
  g_atomic_int_add (&reader->reads, n);
  return TRUE;
}

static HgLiveAttack *
live_new (Reader *reader)
{
  memset (reader, 0, sizeof *reader);
  g_mutex_init (&reader->lock);
  return hg_live_attack_new (read_tiles, reader, NULL);
}

static guint64 *
all_keys (void)
{
  guint64 *keys = g_new (guint64, N);

  for (int i = 0; i < N; i++)
    keys[i] = i;
  return keys;
}

static int
argmax2 (const float *v)
{
  return v[1] > v[0];
}

/* The reference: labels of the model (through defense, may be NULL) on x. */
static void
predict_labels (HgContext   *ctx,
                HgDefense   *defense,
                const float *x,
                int          n,
                int         *labels,
                float       *margins)
{
  g_autofree float *logits = g_new (float, (gsize) n * 2);
  g_autofree float *defended = NULL;

  if (defense != NULL)
    {
      defended = g_new (float, (gsize) n *PIXELS);
      hg_defense_apply (defense, x, n, SIZE, SIZE, 0, defended);
      x = defended;
    }
  g_assert_true (hg_model_predict (ctx, x, n, logits));
  for (int i = 0; i < n; i++)
    {
      labels[i] = argmax2 (logits + 2 * i);
      if (margins != NULL)
        margins[i] = fabsf (logits[2 * i + 1] - logits[2 * i]);
    }
}

/* Every tile's FGSM input at eps, by hand: the gradient of the attack's
 * loss at x (through defense, BPDA), its sign, one step. */
static void
fgsm_by_hand (HgContext *ctx,
              HgDefense *defense,
              int        target,
              double     eps,
              float     *x_adv)
{
  g_autofree int   *labels = g_new (int, N);
  g_autofree float *grad = g_new (float, (gsize) N *PIXELS);
  g_autoptr (GError) error = NULL;
  HgAttackParams params;

  predict_labels (ctx, defense, tiles_x, N, labels, NULL);
  hg_attack_params_init (&params, HG_ATTACK_FGSM, eps);
  params.defense = defense;
  params.target = target;
  g_assert_true (hg_attack_input_gradient (ctx, &params, tiles_x, labels, N, NULL, grad, &error));
  g_assert_no_error (error);
  hg_attack_fgsm_step (tiles_x, grad, (gsize) N * PIXELS, eps, x_adv);
}

static HgLiveResult *
compute (HgLiveAttack        *live,
         const HgLiveRequest *request)
{
  g_autoptr (GError) error = NULL;
  HgLiveResult *result = hg_live_attack_compute (live, request, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static void
request_one (HgLiveRequest  *request,
             HgLivePipeline *pipeline,
             const guint64  *keys,
             int             n,
             HgAttackKind    kind,
             double          eps)
{
  hg_live_request_init (request);
  request->params.kind = kind;
  request->params.eps = eps;
  request->pipelines[0] = pipeline;
  request->n_pipelines = 1;
  request->keys = keys;
  request->n_keys = n;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_params (void)
{
  HgLiveParams params;
  HgLiveGoal   goal;
  g_autoptr (GError) error = NULL;

  hg_live_params_init (&params, HG_ATTACK_FGSM, 4);
  g_assert_true (hg_live_params_validate (&params, &error));
  params.eps = -1;
  g_assert_false (hg_live_params_validate (&params, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "epsilon"));
  g_clear_error (&error);
  params.eps = NAN;
  g_assert_false (hg_live_params_validate (&params, NULL));
  params.eps = 2;
  params.kind = HG_ATTACK_DEEPFOOL;
  g_assert_false (hg_live_params_validate (&params, &error));
  g_assert_nonnull (strstr (error->message, "FGSM, BIM and PGD"));
  g_clear_error (&error);
  params.kind = HG_ATTACK_PGD;
  params.steps = 0;
  g_assert_false (hg_live_params_validate (&params, &error));
  g_assert_nonnull (strstr (error->message, "steps"));
  g_clear_error (&error);

  g_assert_true (hg_live_goal_from_string ("Malignant", &goal, NULL));
  g_assert_cmpint (goal, ==, HG_LIVE_GOAL_MALIGNANT);
  g_assert_cmpstr (hg_live_goal_to_string (HG_LIVE_GOAL_BENIGN), ==, "benign");
  g_assert_false (hg_live_goal_from_string ("sideways", &goal, &error));
  g_assert_nonnull (strstr (error->message, "sideways"));
}

static void
test_bad_requests (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgModel) other = hg_model_new_from_arch ("cnn:width=8,size=64", 1, NULL);
  g_autoptr (HgLivePipeline) big = NULL;
  g_autofree guint64 *keys = all_keys ();
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;

  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 4);
  request.n_pipelines = 0;
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  request.n_pipelines = 2; /* the second is missing */
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_nonnull (strstr (error->message, "pipeline 1"));
  g_clear_error (&error);

  request.n_pipelines = 1;
  request.focus = N;
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_nonnull (strstr (error->message, "focus"));
  g_clear_error (&error);

  /* Models that disagree on the input size cannot share tiles. */
  g_assert_nonnull (other);
  big = hg_live_pipeline_new (other, NULL);
  request.focus = -1;
  request.pipelines[1] = big;
  request.n_pipelines = 2;
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_nonnull (strstr (error->message, "64x64"));
  g_assert_cmpint (reader.reads, ==, 0);
}

/* ε = 0 changes nothing: the labels are the clean ones, the clean ones
 * are the model's own, and nothing flips. */
static void
test_eps_zero (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree guint64 *keys = all_keys ();
  g_autofree int     *labels = g_new (int, N);
  g_autoptr (HgLiveResult) result = NULL;
  g_autofree float *logits = g_new (float, (gsize) N * 2);
  HgLiveRequest     request;
  HgLiveCounts      counts;

  for (int k = 0; k < 3; k++)
    {
      request_one (&request, plain, keys, N, k == 0 ? HG_ATTACK_FGSM : k == 1 ? HG_ATTACK_BIM
                                                                              : HG_ATTACK_PGD,
                   0);
      result = compute (live, &request);
      g_assert_true (hg_model_predict (ctx, tiles_x, N, logits));
      for (int i = 0; i < N; i++)
        {
          const float *p = hg_live_result_get_probs (result, 0) + 2 * i;
          const float *c = hg_live_result_get_clean_probs (result, 0) + 2 * i;
          float        ref[2];

          hg_softmax (logits + 2 * i, 1, 2, ref);
          g_assert_cmpfloat_with_epsilon (c[1], ref[1], 1e-6);
          g_assert_cmpfloat (p[0], ==, c[0]);
          g_assert_cmpfloat (p[1], ==, c[1]);
          g_assert_cmpint (hg_live_result_get_labels (result, 0)[i], ==, argmax2 (logits + 2 * i));
          g_assert_cmpint (hg_live_result_get_clean_labels (result, 0)[i], ==, argmax2 (logits + 2 * i));
          g_assert_cmpint (hg_live_result_get_truth (result)[i], ==, tiles_truth[i]);
        }
      hg_live_result_get_counts (result, 0, &counts);
      g_assert_cmpint (counts.n_tiles, ==, N);
      g_assert_cmpint (counts.n_done, ==, N);
      g_assert_cmpint (counts.n_flipped, ==, 0);
      g_assert_cmpint (counts.n_truth, ==, N);
      g_assert_cmpint (counts.n_correct, ==, counts.n_clean_correct);
      g_assert_true (hg_live_result_is_complete (result));
      g_clear_pointer (&result, hg_live_result_unref);
    }
  /* The tiles were read once, and kept. */
  g_assert_cmpint (reader.reads, ==, N);
}

/* FGSM at several ε against the same attack written out by hand: the
 * same labels, the same counts of flips and of correct tiles. */
static void
check_fgsm_counts (HgDefense *defense,
                   HgLiveGoal goal)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) pipe = hg_live_pipeline_new (model, defense);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree guint64 *keys = all_keys ();
  g_autofree int     *clean = g_new (int, N), *adv = g_new (int, N);
  g_autofree float   *x_adv = g_new (float, (gsize) N *PIXELS);
  g_autofree float   *margins = g_new (float, N);
  int                 target = goal == HG_LIVE_GOAL_UNTARGETED ? -1 : goal == HG_LIVE_GOAL_BENIGN ? 0
                                                                                                  : 1;
  const double        eps_values[] = { 0.5, 2, 4, 8, 16 };
  int                 total_flips = 0;

  predict_labels (ctx, defense, tiles_x, N, clean, NULL);
  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    {
      g_autoptr (HgLiveResult) result = NULL;
      HgLiveRequest request;
      HgLiveCounts  counts;
      int           flips = 0, correct = 0, clean_correct = 0;

      request_one (&request, pipe, keys, N, HG_ATTACK_FGSM, eps_values[e]);
      request.params.goal = goal;
      result = compute (live, &request);

      fgsm_by_hand (ctx, defense, target, eps_values[e], x_adv);
      predict_labels (ctx, defense, x_adv, N, adv, margins);
      for (int i = 0; i < N; i++)
        {
          int label = hg_live_result_get_labels (result, 0)[i];

          /* The live step is short of ε by 10⁻⁷: only a tile on the
           * decision boundary could tell. */
          if (margins[i] > 1e-3)
            g_assert_cmpint (label, ==, adv[i]);
          g_assert_cmpint (hg_live_result_get_clean_labels (result, 0)[i], ==, clean[i]);
          flips += label != clean[i];
          correct += label == tiles_truth[i];
          clean_correct += clean[i] == tiles_truth[i];
          g_assert_cmpint (!!(hg_live_result_get_flags (result, 0)[i] & HG_LIVE_TILE_FLIPPED), ==,
                           label != clean[i]);
          if (target >= 0 && label != clean[i])
            g_assert_cmpint (label, ==, target);
        }
      hg_live_result_get_counts (result, 0, &counts);
      g_assert_cmpint (counts.n_flipped, ==, flips);
      g_assert_cmpint (counts.n_correct, ==, correct);
      g_assert_cmpint (counts.n_clean_correct, ==, clean_correct);
      g_assert_cmpint (counts.n_truth, ==, N);
      total_flips += flips;
    }
  /* The model is fragile: FGSM flips tiles. */
  g_assert_cmpint (total_flips, >, 0);
}

static void
test_fgsm_by_hand (void)
{
  check_fgsm_counts (NULL, HG_LIVE_GOAL_UNTARGETED);
}

static void
test_fgsm_targeted (void)
{
  check_fgsm_counts (NULL, HG_LIVE_GOAL_BENIGN);
  check_fgsm_counts (NULL, HG_LIVE_GOAL_MALIGNANT);
}

static void
test_fgsm_defended (void)
{
  g_autoptr (HgDefense) jpeg = hg_defense_parse ("jpeg:60+median:3", NULL);

  check_fgsm_counts (jpeg, HG_LIVE_GOAL_UNTARGETED);
}

/* What a pipeline is shown stays within ε of the tile and within [0,1],
 * exactly, for every attack and budget. */
static void
test_bounds (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgDefense) bits = hg_defense_parse ("bits:3", NULL);
  g_autoptr (HgLivePipeline) defended = hg_live_pipeline_new (model, bits);
  g_autofree guint64 *keys = all_keys ();
  const double        eps_values[] = { 1e-4, 0.25, 3, 8, 16, 255 };
  const HgAttackKind  kinds[] = { HG_ATTACK_FGSM, HG_ATTACK_BIM, HG_ATTACK_PGD };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
      for (int focus = 0; focus < N; focus += (kinds[k] == HG_ATTACK_FGSM ? 7 : 23))
        {
          g_autoptr (HgLiveResult) result = NULL;
          HgLiveRequest request;
          double        eps = eps_values[e], max_seen = 0;

          request_one (&request, plain, keys + focus, 1, kinds[k], eps);
          request.params.steps = 3;
          request.pipelines[1] = defended;
          request.craft[1] = HG_LIVE_ADAPTIVE;
          request.n_pipelines = 2;
          request.focus = 0;
          result = compute (live, &request);

          for (int p = 0; p < 2; p++)
            {
              const float *clean, *adv;
              int          w, h;

              g_assert_true (hg_live_result_get_focus (result, p, &clean, &adv, &w, &h));
              g_assert_cmpint (w, ==, SIZE);
              g_assert_cmpint (h, ==, SIZE);
              g_assert_true (memcmp (clean, tiles_x + (gsize) focus * PIXELS, PIXELS * sizeof (float)) == 0);
              for (int f = 0; f < PIXELS; f++)
                {
                  double d = fabs ((double) adv[f] - (double) clean[f]);

                  g_assert_cmpfloat (d, <=, eps / 255.0);
                  g_assert_cmpfloat (adv[f], >=, 0.0f);
                  g_assert_cmpfloat (adv[f], <=, 1.0f);
                  max_seen = MAX (max_seen, d);
                }
            }
          /* … and uses the budget (tiles are not all white). */
          if (eps >= 0.25 && eps <= 16)
            g_assert_cmpfloat (max_seen, >, 0.99 * eps / 255.0);
        }
}

static void
test_amplify (void)
{
  const float clean[] = { 0.5f, 0.5f, 0.5f, 0.0f };
  const float adv[] = { 0.5f + 4 / 255.0f, 0.5f - 4 / 255.0f, 0.5f + 2 / 255.0f, 0.0f };
  float       out[4];

  hg_live_amplify_perturbation (clean, adv, 4, 4, out);
  g_assert_cmpfloat_with_epsilon (out[0], 1.0f, 1e-4);
  g_assert_cmpfloat_with_epsilon (out[1], 0.0f, 1e-4);
  g_assert_cmpfloat_with_epsilon (out[2], 0.75f, 1e-4);
  g_assert_cmpfloat (out[3], ==, 0.5f);
  hg_live_amplify_perturbation (clean, adv, 4, 0, out);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (out[i], ==, 0.5f);
}

/* Against a bit-depth defence, a transfer attack is shown the perturbation
 * crafted on the bare model, the adaptive one its own (BPDA through the
 * rounding): FGSM's adaptive labels are those of BPDA-FGSM written out by
 * hand, and the iterative adaptive attack (BIM) flips at least as many
 * tiles as the transfer one at every ε, more in all. */
static void
test_transfer_vs_adaptive (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgDefense) bits = hg_defense_parse ("bits:4", NULL);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgLivePipeline) defended = hg_live_pipeline_new (model, bits);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree guint64 *keys = all_keys ();
  g_autofree float   *x_adv = g_new (float, (gsize) N *PIXELS);
  g_autofree int     *adaptive_by_hand = g_new (int, N);
  g_autofree float   *margins = g_new (float, N);
  const double        eps_values[] = { 1, 2, 3, 4, 8 };
  int                 transfer_flips = 0, adaptive_flips = 0;

  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    for (int k = 0; k < 2; k++)
      {
        g_autoptr (HgLiveResult) result = NULL;
        HgLiveRequest request;
        HgLiveCounts  bare, transfer, adaptive;
        const float  *adv0, *adv1, *adv2;
        double        eps = eps_values[e];

        request_one (&request, plain, keys, N, k == 0 ? HG_ATTACK_FGSM : HG_ATTACK_BIM, eps);
        request.pipelines[1] = defended;
        request.craft[1] = HG_LIVE_TRANSFER;
        request.pipelines[2] = defended;
        request.craft[2] = HG_LIVE_ADAPTIVE;
        request.n_pipelines = 3;
        request.focus = 5;
        result = compute (live, &request);

        g_assert_cmpint (hg_live_result_get_craft (result, 1), ==, HG_LIVE_TRANSFER);
        g_assert_cmpint (hg_live_result_get_craft (result, 2), ==, HG_LIVE_ADAPTIVE);
        g_assert_true (hg_live_result_get_focus (result, 0, NULL, &adv0, NULL, NULL));
        g_assert_true (hg_live_result_get_focus (result, 1, NULL, &adv1, NULL, NULL));
        g_assert_true (hg_live_result_get_focus (result, 2, NULL, &adv2, NULL, NULL));
        /* Transfer: the bare model's perturbation; adaptive: another one. */
        g_assert_true (memcmp (adv0, adv1, PIXELS * sizeof (float)) == 0);
        g_assert_false (memcmp (adv0, adv2, PIXELS * sizeof (float)) == 0);

        hg_live_result_get_counts (result, 0, &bare);
        hg_live_result_get_counts (result, 1, &transfer);
        hg_live_result_get_counts (result, 2, &adaptive);
        g_test_message ("%s ε=%g: flips of the bare model %d; of bits:4 under transfer %d, adaptive %d",
                        k == 0 ? "FGSM" : "BIM", eps, bare.n_flipped, transfer.n_flipped, adaptive.n_flipped);

        if (k == 0)
          {
            fgsm_by_hand (ctx, bits, -1, eps, x_adv);
            predict_labels (ctx, bits, x_adv, N, adaptive_by_hand, margins);
            for (int i = 0; i < N; i++)
              if (margins[i] > 1e-3)
                g_assert_cmpint (hg_live_result_get_labels (result, 2)[i], ==, adaptive_by_hand[i]);
          }
        else
          {
            g_assert_cmpint (adaptive.n_flipped, >=, transfer.n_flipped);
            /* A budget below the rounding's step is mostly rounded away. */
            if (eps == 1)
              g_assert_cmpint (transfer.n_flipped, <, bare.n_flipped);
            transfer_flips += transfer.n_flipped;
            adaptive_flips += adaptive.n_flipped;
          }
      }
  g_assert_cmpint (adaptive_flips, >, transfer_flips);
}

/* The feature-squeezing detector watches what the model is shown: its
 * scores are hg_detector_score()'s, calibrated on the clean tiles for 5%
 * false alarms when no threshold is given, and the counts follow. */
static void
test_detector (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDetector) detector = hg_detector_new (HG_DETECTOR_DEFAULT_SQUEEZERS, &error);
  g_autoptr (HgDefense) jpeg = hg_defense_parse ("jpeg:75", NULL);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgLivePipeline) watched = hg_live_pipeline_new_full (model, jpeg, detector, NAN);
  g_autoptr (HgLivePipeline) strict = hg_live_pipeline_new_full (model, jpeg, detector, 0.0);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree guint64 *keys = all_keys ();
  g_autofree float   *defended = g_new (float, (gsize) N *PIXELS);
  g_autofree float   *scores = g_new (float, N);
  g_autoptr (HgLiveResult) clean = NULL, attacked = NULL;
  HgLiveRequest request;
  HgLiveCounts  counts;
  int           flagged = 0, evaded = 0;

  g_assert_no_error (error);
  g_assert_false (hg_live_pipeline_equal (watched, strict));
  g_assert_nonnull (hg_live_pipeline_get_detector (watched));
  g_assert_null (hg_live_pipeline_get_detector (plain));

  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 0);
  request.pipelines[1] = watched;
  request.craft[1] = HG_LIVE_TRANSFER;
  request.n_pipelines = 2;
  clean = compute (live, &request);
  g_assert_null (hg_live_result_get_scores (clean, 0));
  g_assert_true (isnan (hg_live_result_get_threshold (clean, 0)));

  /* The clean scores are the detector's on the JPEG'd tiles. */
  hg_defense_apply (jpeg, tiles_x, N, SIZE, SIZE, 0, defended);
  g_assert_true (hg_detector_score (detector, ctx, defended, N, NULL, 0, scores, &error));
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat_with_epsilon (hg_live_result_get_clean_scores (clean, 1)[i], scores[i], 1e-5);
  hg_live_result_get_counts (clean, 1, &counts);
  g_assert_true (isfinite (hg_live_result_get_threshold (clean, 1)));
  g_assert_cmpint (counts.n_clean_flagged, <=, (int) (HG_LIVE_DETECTOR_FPR * N));
  g_assert_cmpint (counts.n_flagged, ==, counts.n_clean_flagged);

  /* Attacked: flags and evasions follow the scores. */
  request.params.eps = 6;
  request.craft[1] = HG_LIVE_ADAPTIVE;
  attacked = compute (live, &request);
  g_assert_cmpfloat (hg_live_result_get_threshold (attacked, 1), ==, hg_live_result_get_threshold (clean, 1));
  for (int i = 0; i < N; i++)
    {
      guint8 flags = hg_live_result_get_flags (attacked, 1)[i];
      float  score = hg_live_result_get_scores (attacked, 1)[i];

      g_assert_false (isnan (score));
      g_assert_cmpint (!!(flags & HG_LIVE_TILE_FLAGGED), ==, score > hg_live_result_get_threshold (attacked, 1));
      flagged += !!(flags & HG_LIVE_TILE_FLAGGED);
      evaded += (flags & HG_LIVE_TILE_FLIPPED) && !(flags & HG_LIVE_TILE_FLAGGED);
    }
  hg_live_result_get_counts (attacked, 1, &counts);
  g_assert_cmpint (counts.n_flagged, ==, flagged);
  g_assert_cmpint (counts.n_evaded, ==, evaded);
  g_test_message ("detector at ε=6: %d of %d flagged, %d flipped, %d flipped unseen", counts.n_flagged, N,
                  counts.n_flipped, counts.n_evaded);

  /* A threshold given is used as it is. */
  g_clear_pointer (&attacked, hg_live_result_unref);
  request.pipelines[1] = strict;
  attacked = compute (live, &request);
  g_assert_cmpfloat (hg_live_result_get_threshold (attacked, 1), ==, 0.0);
  for (int i = 0; i < N; i++)
    g_assert_cmpint (!!(hg_live_result_get_flags (attacked, 1)[i] & HG_LIVE_TILE_FLAGGED), ==,
                     hg_live_result_get_scores (attacked, 1)[i] > 0);
}

/* Two pipelines that compute the same thing give the same numbers. */
static void
test_same_pipeline (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) a = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgDefense) none = hg_defense_parse ("none", NULL);
  g_autoptr (HgLivePipeline) b = hg_live_pipeline_new (model, none);
  g_autofree guint64 *keys = all_keys ();
  g_autoptr (HgLiveResult) result = NULL;
  HgLiveRequest request;

  g_assert_true (hg_live_pipeline_equal (a, b));
  g_assert_null (hg_live_pipeline_get_defense (b));
  request_one (&request, a, keys, N, HG_ATTACK_BIM, 6);
  request.params.steps = 2;
  request.pipelines[1] = b;
  request.craft[1] = HG_LIVE_TRANSFER;
  request.n_pipelines = 2;
  result = compute (live, &request);
  g_assert_true (memcmp (hg_live_result_get_probs (result, 0), hg_live_result_get_probs (result, 1),
                         (gsize) N * 2 * sizeof (float)) == 0);
  g_assert_true (memcmp (hg_live_result_get_flags (result, 0), hg_live_result_get_flags (result, 1), N) == 0);
}

/* BIM through the live attack gives what hg_attack_run gives. */
static void
test_iterative_by_hand (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree guint64 *keys = all_keys ();
  g_autofree int     *clean = g_new (int, N), *adv = g_new (int, N);
  g_autofree float   *x_adv = g_new (float, (gsize) N *PIXELS);
  g_autofree float   *margins = g_new (float, N);
  g_autoptr (HgLiveResult) result = NULL;
  g_autoptr (GError) error = NULL;
  HgLiveRequest  request;
  HgAttackParams params;
  HgLiveCounts   counts;
  int            flips = 0, disagreements = 0;

  request_one (&request, plain, keys, N, HG_ATTACK_BIM, 3);
  request.params.steps = 5;
  result = compute (live, &request);

  predict_labels (ctx, NULL, tiles_x, N, clean, NULL);
  hg_attack_params_init (&params, HG_ATTACK_BIM, 3);
  params.steps = 5;
  g_assert_true (hg_attack_run (ctx, &params, tiles_x, clean, N, x_adv, NULL, &error));
  predict_labels (ctx, NULL, x_adv, N, adv, margins);
  for (int i = 0; i < N; i++)
    {
      flips += adv[i] != clean[i];
      /* BIM from the same start is deterministic; batches of another size
       * may round sums differently, which five steps can amplify on a
       * tile near the boundary. */
      disagreements += hg_live_result_get_labels (result, 0)[i] != adv[i];
    }
  hg_live_result_get_counts (result, 0, &counts);
  g_assert_cmpint (disagreements, <=, 1);
  g_assert_cmpint (ABS (counts.n_flipped - flips), <=, 1);
  g_assert_cmpint (counts.n_flipped, >, 0);
}

/* ---- the worker: supersession, partial results, cancellation ------------- */

typedef struct
{
  GArray  *serials;  /* delivered, in order */
  GArray  *complete; /* gboolean per delivery */
  GArray  *n_done;   /* per delivery */
  GError  *error;
  guint64  last_serial;
  gboolean last_done;
  gboolean focus_first_ok;
} Deliveries;

static void
on_result (HgLiveAttack *live,
           HgLiveResult *result,
           const GError *error,
           gpointer      user_data)
{
  Deliveries *d = user_data;
  guint64     serial;
  gboolean    complete;
  int         done;

  if (error != NULL)
    {
      g_clear_error (&d->error);
      d->error = g_error_copy (error);
      d->last_done = TRUE;
      return;
    }
  serial = hg_live_result_get_serial (result);
  complete = hg_live_result_is_complete (result);
  {
    HgLiveCounts counts;

    hg_live_result_get_counts (result, 0, &counts);
    done = counts.n_done;
    /* Partial results always include the focus tile. */
    if (!complete && !(hg_live_result_get_flags (result, 0)[0] & HG_LIVE_TILE_DONE))
      d->focus_first_ok = FALSE;
  }
  g_array_append_val (d->serials, serial);
  g_array_append_val (d->complete, complete);
  g_array_append_val (d->n_done, done);
  if (serial == d->last_serial && complete)
    d->last_done = TRUE;
}

static void
deliveries_init (Deliveries *d)
{
  memset (d, 0, sizeof *d);
  d->serials = g_array_new (FALSE, FALSE, sizeof (guint64));
  d->complete = g_array_new (FALSE, FALSE, sizeof (gboolean));
  d->n_done = g_array_new (FALSE, FALSE, sizeof (int));
  d->focus_first_ok = TRUE;
}

static void
deliveries_clear (Deliveries *d)
{
  g_array_unref (d->serials);
  g_array_unref (d->complete);
  g_array_unref (d->n_done);
  g_clear_error (&d->error);
}

static void
wait_for (gboolean *flag)
{
  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
}

/* Requests made while the worker is busy replace each other: only the
 * newest is computed and delivered. */
static void
test_supersede (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  HgLiveRequest       request;
  HgLiveStats         stats;
  Deliveries          d;

  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);
  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 0);

  /* The worker is held in its first read while 19 more requests come. */
  reader.gated = TRUE;
  g_mutex_lock (&reader.lock);
  hg_live_attack_request (live, &request);
  while (!g_atomic_int_get (&reader.inside))
    g_usleep (1000);
  for (int i = 1; i < 20; i++)
    {
      request.params.eps = i * 0.5;
      d.last_serial = hg_live_attack_request (live, &request);
    }
  g_assert_cmpuint (d.last_serial, ==, 20);
  g_mutex_unlock (&reader.lock);
  wait_for (&d.last_done);

  g_assert_no_error (d.error);
  g_assert_cmpuint (d.serials->len, ==, 1);
  g_assert_cmpuint (g_array_index (d.serials, guint64, 0), ==, 20);
  hg_live_attack_get_stats (live, &stats);
  g_assert_cmpuint (stats.n_requests, ==, 20);
  g_assert_cmpuint (stats.n_computed, ==, 1);
  g_assert_cmpuint (stats.n_superseded, ==, 19);
  g_assert_cmpuint (stats.n_tiles_read, ==, N);
  deliveries_clear (&d);
}

/* An iterative attack delivers partial results, focus first, and gives
 * way to a newer request at the end of a chunk. */
static void
test_partial_and_supersede_iterative (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  HgLiveRequest       request;
  Deliveries          d;
  guint64             iterative;

  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);

  /* All the way through, partially at first. */
  request_one (&request, plain, keys, N, HG_ATTACK_PGD, 4);
  request.params.steps = 3;
  request.focus = 0;
  d.last_serial = hg_live_attack_request (live, &request);
  wait_for (&d.last_done);
  g_assert_no_error (d.error);
  g_assert_true (d.focus_first_ok);
  g_assert_cmpint (g_array_index (d.n_done, int, d.n_done->len - 1), ==, N);
  for (guint i = 1; i < d.n_done->len; i++)
    g_assert_cmpint (g_array_index (d.n_done, int, i), >=, g_array_index (d.n_done, int, i - 1));

  /* Superseded: a long PGD, then FGSM as soon as the PGD shows progress. */
  g_array_set_size (d.serials, 0);
  g_array_set_size (d.complete, 0);
  g_array_set_size (d.n_done, 0);
  d.last_done = FALSE;
  request.params.steps = 200;
  iterative = hg_live_attack_request (live, &request);
  d.last_serial = 0;
  while (d.serials->len == 0)
    g_main_context_iteration (NULL, TRUE);
  request.params.kind = HG_ATTACK_FGSM;
  d.last_serial = hg_live_attack_request (live, &request);
  wait_for (&d.last_done);
  g_assert_no_error (d.error);
  for (guint i = 0; i < d.serials->len; i++)
    if (g_array_index (d.serials, guint64, i) == iterative)
      g_assert_false (g_array_index (d.complete, gboolean, i));
  g_assert_cmpuint (g_array_index (d.serials, guint64, d.serials->len - 1), ==, d.last_serial);
  deliveries_clear (&d);
}

static gpointer
cancel_soon (gpointer data)
{
  g_usleep (50000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;
  HgLiveStats   stats;
  GThread      *thread;
  Deliveries    d;

  /* Synchronously: from another thread, during a long attack. */
  request_one (&request, plain, keys, N, HG_ATTACK_BIM, 8);
  request.params.steps = HG_ATTACK_MAX_STEPS;
  thread = g_thread_new ("cancel", cancel_soon, cancellable);
  g_assert_null (hg_live_attack_compute (live, &request, cancellable, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_CANCELLED);
  g_thread_join (thread);
  g_clear_error (&error);

  /* On the worker: nothing is delivered after the cancellation. */
  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);
  request.focus = -1;
  hg_live_attack_request (live, &request);
  for (int i = 0; i < 5; i++)
    {
      g_usleep (10000);
      g_main_context_iteration (NULL, FALSE);
    }
  hg_live_attack_cancel (live);
  /* The worker is free again, and the next request is computed. */
  request.params.kind = HG_ATTACK_FGSM;
  d.last_serial = hg_live_attack_request (live, &request);
  wait_for (&d.last_done);
  for (guint i = 0; i < d.serials->len; i++)
    g_assert_true (g_array_index (d.serials, guint64, i) == d.last_serial || !g_array_index (d.complete, gboolean, i));
  hg_live_attack_get_stats (live, &stats);
  g_assert_cmpuint (stats.n_superseded, >=, 1);
  deliveries_clear (&d);

  /* Dropping the attack while it works stops the worker. */
  hg_live_attack_set_result_func (live, NULL, NULL, NULL);
  request.params.kind = HG_ATTACK_BIM;
  hg_live_attack_request (live, &request);
  g_usleep (20000);
}

/* A read error reaches the caller (synchronously) and the result
 * function (asynchronously). */
static void
test_read_error (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;
  Deliveries    d;

  reader.fail = TRUE;
  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 2);
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "could not be read"));

  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);
  d.last_serial = hg_live_attack_request (live, &request);
  wait_for (&d.last_done);
  g_assert_error (d.error, HG_ERROR, HG_ERROR_IO);
  g_assert_cmpuint (d.serials->len, ==, 0);

  /* An invalid request is reported the same way. */
  d.last_done = FALSE;
  request.params.eps = -3;
  hg_live_attack_request (live, &request);
  wait_for (&d.last_done);
  g_assert_error (d.error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  deliveries_clear (&d);
}

/* With room for fewer tiles than it is asked about, the attack forgets
 * and rereads, and its numbers do not change. */
static void
test_eviction (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = g_new (guint64, 3 * N);
  g_autoptr (HgLiveResult) first = NULL, again = NULL;
  HgLiveRequest request;

  for (int i = 0; i < 3 * N; i++)
    keys[i] = i;
  hg_live_attack_set_max_tiles (live, N);
  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 6);
  first = compute (live, &request);
  g_assert_cmpint (reader.reads, ==, N);
  for (int round = 1; round < 3; round++)
    {
      g_autoptr (HgLiveResult) r = NULL;

      request.keys = keys + round * N;
      r = compute (live, &request);
      /* Keys k and k + N are the same patch. */
      g_assert_true (memcmp (hg_live_result_get_labels (r, 0), hg_live_result_get_labels (first, 0), N * sizeof (int)) == 0);
    }
  g_assert_cmpint (reader.reads, ==, 3 * N);
  request.keys = keys;
  again = compute (live, &request);
  g_assert_cmpint (reader.reads, ==, 4 * N);
  g_assert_true (memcmp (hg_live_result_get_probs (again, 0), hg_live_result_get_probs (first, 0),
                         (gsize) N * 2 * sizeof (float)) == 0);
}

/* Tiles read from a slide's tiling: the patches of one patient. */
static void
test_tiling (void)
{
  g_autofree char *folder = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", "16552", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open (folder, NULL, &error);
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgLiveAttack) live = NULL;
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (HgLiveResult) result = NULL;
  g_autofree guint64 *keys = NULL;
  g_autofree float   *x = NULL, *logits = NULL;
  HgLiveRequest       request;
  gsize               n;

  g_assert_no_error (error);
  tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_assert_no_error (error);
  n = hg_tiling_get_n_tiles (tiling);
  g_assert_cmpuint (n, >, 0);
  live = hg_live_attack_new (hg_live_read_tiling, hg_tiling_ref (tiling), (GDestroyNotify) hg_tiling_unref);

  keys = g_new (guint64, n + 1);
  x = g_new (float, n *PIXELS);
  logits = g_new (float, n * 2);
  for (gsize i = 0; i < n; i++)
    {
      keys[i] = i;
      g_assert_true (hg_tiling_read_tile (tiling, i, x + i * PIXELS, &error));
    }
  g_assert_true (hg_model_predict (ctx, x, (int) n, logits));

  request_one (&request, plain, keys, (int) n, HG_ATTACK_FGSM, 3);
  result = compute (live, &request);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpint (hg_live_result_get_truth (result)[i], ==, hg_tiling_get_tile (tiling, i)->truth);
      g_assert_cmpint (hg_live_result_get_clean_labels (result, 0)[i], ==, argmax2 (logits + 2 * i));
    }

  /* A key beyond the tiling is an error that names it. */
  keys[n] = n;
  request.keys = keys + n;
  request.n_keys = 1;
  g_assert_null (hg_live_attack_compute (live, &request, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "not one of the slide's"));
}

/* ---- threads ------------------------------------------------------------------ */

typedef struct
{
  HgLiveAttack   *live;
  HgLivePipeline *pipelines[2];
  guint64        *keys;
  HgLiveResult  **expected; /* per ε index */
  int             n_eps;
  int             id;
} ThreadData;

static gpointer
compute_thread (gpointer data)
{
  ThreadData *t = data;

  for (int round = 0; round < 6; round++)
    {
      int e = (round + t->id) % t->n_eps;
      g_autoptr (HgLiveResult) r = NULL;
      HgLiveRequest request;

      request_one (&request, t->pipelines[0], t->keys, N, HG_ATTACK_FGSM, e * 2.0);
      request.pipelines[1] = t->pipelines[1];
      request.craft[1] = (round + t->id) % 2 ? HG_LIVE_ADAPTIVE : HG_LIVE_TRANSFER;
      request.n_pipelines = 2;
      r = compute (t->live, &request);
      g_assert_true (memcmp (hg_live_result_get_probs (r, 0), hg_live_result_get_probs (t->expected[e], 0),
                             (gsize) N * 2 * sizeof (float)) == 0);
      if (request.craft[1] == HG_LIVE_ADAPTIVE)
        g_assert_true (memcmp (hg_live_result_get_labels (r, 1), hg_live_result_get_labels (t->expected[e], 1),
                               N * sizeof (int)) == 0);
    }
  return NULL;
}

static void
test_threads (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgDefense) jpeg = hg_defense_parse ("jpeg:50", NULL);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgLivePipeline) defended = hg_live_pipeline_new (model, jpeg);
  g_autofree guint64 *keys = all_keys ();
  HgLiveResult       *expected[4];
  ThreadData          data[4];
  GThread            *threads[4];
  HgLiveRequest       request;
  Deliveries          d;

  /* The answers, one at a time, on a separate attack. */
  {
    Reader reader2;
    g_autoptr (HgLiveAttack) reference = live_new (&reader2);

    for (int e = 0; e < 4; e++)
      {
        request_one (&request, plain, keys, N, HG_ATTACK_FGSM, e * 2.0);
        request.pipelines[1] = defended;
        request.craft[1] = HG_LIVE_ADAPTIVE;
        request.n_pipelines = 2;
        expected[e] = compute (reference, &request);
      }
  }

  /* Four threads at once, while the worker serves requests too. */
  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);
  for (int t = 0; t < 4; t++)
    {
      data[t] = (ThreadData){ live, { plain, defended }, keys, expected, 4, t };
      threads[t] = g_thread_new ("live-test", compute_thread, &data[t]);
    }
  for (int i = 0; i < 10; i++)
    {
      request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 6);
      request.pipelines[1] = defended;
      request.craft[1] = HG_LIVE_ADAPTIVE;
      request.n_pipelines = 2;
      d.last_serial = hg_live_attack_request (live, &request);
      g_main_context_iteration (NULL, FALSE);
    }
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  wait_for (&d.last_done);
  g_assert_no_error (d.error);
  for (int e = 0; e < 4; e++)
    hg_live_result_unref (expected[e]);
  deliveries_clear (&d);
}

/* ---- robustness maps ---------------------------------------------------------- */

/* Whether FGSM at eps flips tile i on pipe (one request per tile). */
static gboolean
flips_at (HgLiveAttack   *live,
          HgLivePipeline *pipe,
          HgAttackKind    kind,
          const guint64  *key,
          double          eps)
{
  g_autoptr (HgLiveResult) r = NULL;
  HgLiveRequest request;

  request_one (&request, pipe, key, 1, kind, eps);
  request.params.steps = 4;
  r = compute (live, &request);
  return (hg_live_result_get_flags (r, 0)[0] & HG_LIVE_TILE_FLIPPED) != 0;
}

static void
progress_count (HgLiveMap *map,
                int        done,
                int        total,
                gpointer   user_data)
{
  int *calls = user_data;

  g_assert_cmpint (done, <=, total);
  g_assert_cmpint (total, ==, hg_live_map_get_n_tiles (map));
  (*calls)++;
}

static void
test_map_fgsm (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  g_autofree float   *eps = g_new (float, N);
  g_autoptr (HgLiveMap) map = NULL;
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;
  int           calls = 0, finite = 0;

  request_one (&request, plain, keys, N, HG_ATTACK_FGSM, 0);
  map = hg_live_attack_compute_map (live, &request, 0, progress_count, &calls, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (calls, >=, 1);
  g_assert_cmpint (hg_live_map_get_n_done (map), ==, N);
  hg_live_map_copy_eps (map, eps);
  for (int i = 0; i < N; i++)
    {
      g_assert_false (isnan (eps[i]));
      if (isinf (eps[i]))
        {
          g_assert_false (flips_at (live, plain, HG_ATTACK_FGSM, &keys[i], HG_LIVE_MAX_EPS));
          continue;
        }
      finite++;
      /* On the grid, flipped there and not one step below. */
      g_assert_cmpfloat (eps[i], >, 0);
      g_assert_cmpfloat (eps[i], <=, HG_LIVE_MAX_EPS);
      g_assert_cmpfloat (fmod (eps[i], HG_LIVE_MAP_FGSM_RESOLUTION), ==, 0);
      g_assert_true (flips_at (live, plain, HG_ATTACK_FGSM, &keys[i], eps[i]));
      if (eps[i] > HG_LIVE_MAP_FGSM_RESOLUTION)
        g_assert_false (flips_at (live, plain, HG_ATTACK_FGSM, &keys[i], eps[i] - HG_LIVE_MAP_FGSM_RESOLUTION));
      /* No whole unit below it flips. */
      for (int unit = 1; unit < eps[i] - 1e-6; unit++)
        g_assert_false (flips_at (live, plain, HG_ATTACK_FGSM, &keys[i], unit));
    }
  g_assert_cmpint (finite, >, 0);
  g_assert_true (hg_live_map_get_eps (map, 0) == eps[0] || isinf (eps[0]));
}

static void
test_map_iterative (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autofree guint64 *keys = all_keys ();
  g_autoptr (HgLiveMap) map = NULL;
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;
  int           n = 12, finite = 0;

  request_one (&request, plain, keys, n, HG_ATTACK_BIM, 0);
  request.params.steps = 4;
  map = hg_live_attack_compute_map (live, &request, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n; i++)
    {
      float e = hg_live_map_get_eps (map, i);

      if (isinf (e))
        {
          g_assert_false (flips_at (live, plain, HG_ATTACK_BIM, &keys[i], HG_LIVE_MAX_EPS));
          continue;
        }
      finite++;
      g_assert_cmpfloat (fmod (e, HG_LIVE_MAP_ITERATIVE_RESOLUTION), ==, 0);
      g_assert_true (flips_at (live, plain, HG_ATTACK_BIM, &keys[i], e));
      g_assert_false (flips_at (live, plain, HG_ATTACK_BIM, &keys[i], e - HG_LIVE_MAP_ITERATIVE_RESOLUTION));
    }
  g_assert_cmpint (finite, >, 0);
}

typedef struct
{
  HgLiveMap *map;
  GError    *error;
  gboolean   done;
  int        progress_calls;
  int        last_done;
} MapWait;

static void
map_progress (HgLiveMap *map,
              int        done,
              int        total,
              gpointer   user_data)
{
  MapWait *w = user_data;

  g_assert_cmpint (done, >=, w->last_done);
  w->last_done = done;
  w->progress_calls++;
}

static void
map_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  MapWait *w = user_data;

  g_assert_null (source);
  w->map = hg_live_attack_compute_map_finish (NULL, result, &w->error);
  w->done = TRUE;
}

/* On the worker: the same map, progress on the way, live requests served
 * in between; and cancellable. */
static void
test_map_async (void)
{
  Reader reader;
  g_autoptr (HgLiveAttack) live = live_new (&reader);
  g_autoptr (HgLivePipeline) plain = hg_live_pipeline_new (model, NULL);
  g_autoptr (HgDefense) median = hg_defense_parse ("median:3", NULL);
  g_autoptr (HgLivePipeline) defended = hg_live_pipeline_new (model, median);
  g_autofree guint64 *keys = g_new (guint64, 2 * N);
  g_autofree float   *sync_eps = g_new (float, 2 * N), *async_eps = g_new (float, 2 * N);
  g_autoptr (HgLiveMap) sync_map = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  HgLiveRequest request;
  MapWait       w = { 0 };
  Deliveries    d;

  for (int i = 0; i < 2 * N; i++)
    keys[i] = i;
  request_one (&request, plain, keys, 2 * N, HG_ATTACK_FGSM, 0);
  request.pipelines[1] = defended;
  request.craft[1] = HG_LIVE_TRANSFER;
  request.n_pipelines = 2;
  sync_map = hg_live_attack_compute_map (live, &request, 1, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  hg_live_map_copy_eps (sync_map, sync_eps);

  deliveries_init (&d);
  hg_live_attack_set_result_func (live, on_result, &d, NULL);
  hg_live_attack_clear (live);
  {
    g_autoptr (HgLiveMap) filling = hg_live_attack_compute_map_async (live, &request, 1, map_progress, &w, NULL,
                                                                      NULL, map_done, &w);

    g_assert_nonnull (filling);
    wait_for (&w.done);
    g_assert_true (filling == w.map);
  }
  request.n_keys = 10;
  request.params.eps = 5;
  d.last_serial = hg_live_attack_request (live, &request);
  wait_for (&w.done);
  wait_for (&d.last_done);
  g_assert_no_error (w.error);
  g_assert_no_error (d.error);
  g_assert_cmpint (w.progress_calls, >=, 1);
  g_assert_cmpint (w.last_done, <=, 2 * N);
  hg_live_map_copy_eps (w.map, async_eps);
  g_assert_cmpint (hg_live_map_get_pipeline (w.map), ==, 1);
  for (int i = 0; i < 2 * N; i++)
    g_assert_true (async_eps[i] == sync_eps[i] || (isinf (async_eps[i]) && isinf (sync_eps[i])));
  g_clear_pointer (&w.map, hg_live_map_unref);

  /* Cancelled before it starts: an error, and no map. */
  memset (&w, 0, sizeof w);
  request.n_keys = 2 * N;
  request.params.kind = HG_ATTACK_PGD;
  g_cancellable_cancel (cancellable);
  hg_live_map_unref (hg_live_attack_compute_map_async (live, &request, 0, NULL, NULL, NULL, cancellable, map_done, &w));
  wait_for (&w.done);
  g_assert_error (w.error, HG_ERROR, HG_ERROR_CANCELLED);
  g_assert_null (w.map);
  g_clear_error (&w.error);

  /* A bad pipeline index. */
  memset (&w, 0, sizeof w);
  g_assert_null (hg_live_attack_compute_map_async (live, &request, 2, NULL, NULL, NULL, NULL, map_done, &w));
  wait_for (&w.done);
  g_assert_error (w.error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&w.error);
  deliveries_clear (&d);
}

int
main (int    argc,
      char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  load_fixtures ();

  g_test_add_func ("/hg/live/params", test_params);
  g_test_add_func ("/hg/live/bad-requests", test_bad_requests);
  g_test_add_func ("/hg/live/eps-zero", test_eps_zero);
  g_test_add_func ("/hg/live/fgsm-by-hand", test_fgsm_by_hand);
  g_test_add_func ("/hg/live/fgsm-targeted", test_fgsm_targeted);
  g_test_add_func ("/hg/live/fgsm-defended", test_fgsm_defended);
  g_test_add_func ("/hg/live/bounds", test_bounds);
  g_test_add_func ("/hg/live/amplify", test_amplify);
  g_test_add_func ("/hg/live/transfer-vs-adaptive", test_transfer_vs_adaptive);
  g_test_add_func ("/hg/live/detector", test_detector);
  g_test_add_func ("/hg/live/same-pipeline", test_same_pipeline);
  g_test_add_func ("/hg/live/iterative-by-hand", test_iterative_by_hand);
  g_test_add_func ("/hg/live/supersede", test_supersede);
  g_test_add_func ("/hg/live/partial-and-supersede-iterative", test_partial_and_supersede_iterative);
  g_test_add_func ("/hg/live/cancel", test_cancel);
  g_test_add_func ("/hg/live/read-error", test_read_error);
  g_test_add_func ("/hg/live/eviction", test_eviction);
  g_test_add_func ("/hg/live/tiling", test_tiling);
  g_test_add_func ("/hg/live/threads", test_threads);
  g_test_add_func ("/hg/live/map-fgsm", test_map_fgsm);
  g_test_add_func ("/hg/live/map-iterative", test_map_iterative);
  g_test_add_func ("/hg/live/map-async", test_map_async);

  rc = g_test_run ();
  hg_model_unref (model);
  g_free (tiles_x);
  g_free (tiles_truth);
  return rc;
}
