/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-attack.h"
#include "histoguard/hg-error.h"

#include "hg-model-private.h"
#include "hg-rng-private.h"

/* hg_rng_init() stream tags, so that no two uses share numbers. */
#define STREAM_START G_GUINT64_CONSTANT (0x7067647374617274) /* random starts; + restart */
#define STREAM_EOT G_GUINT64_CONSTANT (0x656f74)             /* defence draws */

static const struct
{
  const char  *name;
  HgAttackKind kind;
} attack_names[] = {
  { "fgsm", HG_ATTACK_FGSM },
  { "bim", HG_ATTACK_BIM },
  { "pgd", HG_ATTACK_PGD },
  { "mifgsm", HG_ATTACK_MIFGSM },
  { "deepfool", HG_ATTACK_DEEPFOOL },
  /* Aliases, accepted when parsing only. */
  { "i-fgsm", HG_ATTACK_BIM },
  { "ifgsm", HG_ATTACK_BIM },
  { "mi-fgsm", HG_ATTACK_MIFGSM },
};

#define KNOWN_ATTACKS "fgsm, bim, pgd, mifgsm, deepfool"

const char *
hg_attack_kind_to_string (HgAttackKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (attack_names); i++)
    if (attack_names[i].kind == kind)
      return attack_names[i].name;
  g_return_val_if_reached (NULL);
}

gboolean
hg_attack_kind_from_string (const char   *name,
                            HgAttackKind *kind,
                            GError      **error)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (attack_names); i++)
    if (g_ascii_strcasecmp (attack_names[i].name, name) == 0)
      {
        *kind = attack_names[i].kind;
        return TRUE;
      }
  if (*name == '\0')
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                 _ ("empty attack name (known: %s)"), KNOWN_ATTACKS);
  else
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                 _ ("unknown attack '%s' (known: %s)"), name, KNOWN_ATTACKS);
  return FALSE;
}

GArray *
hg_attack_kind_parse_list (const char *list,
                           GError    **error)
{
  g_autoptr (GArray) kinds = g_array_new (FALSE, FALSE, sizeof (HgAttackKind));
  g_auto (GStrv) items = NULL;

  g_return_val_if_fail (list != NULL, NULL);

  items = g_strsplit (list, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      HgAttackKind kind;

      if (!hg_attack_kind_from_string (g_strstrip (items[i]), &kind, error))
        return NULL;
      g_array_append_val (kinds, kind);
    }
  if (kinds->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("empty list of attacks (known: %s)"), KNOWN_ATTACKS);
      return NULL;
    }
  return g_steal_pointer (&kinds);
}

void
hg_attack_params_init (HgAttackParams *params,
                       HgAttackKind    kind,
                       double          eps)
{
  g_return_if_fail (params != NULL);

  *params = (HgAttackParams){
    .kind = kind,
    .eps = eps,
    .steps = kind == HG_ATTACK_DEEPFOOL ? 50 : 10,
    .step = 0,
    .random_start = kind == HG_ATTACK_PGD,
    .restarts = 1,
    .target = -1,
    .momentum = 1.0,
    .norm = HG_NORM_LINF,
    .overshoot = 0.02,
    .defense = NULL,
    .eot_samples = 0,
    .mode = HG_MODE_INFERENCE,
    .seed = 0,
  };
}

#define INVALID(...)                                                       \
  G_STMT_START                                                             \
  {                                                                        \
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, __VA_ARGS__); \
    return FALSE;                                                          \
  }                                                                        \
  G_STMT_END

gboolean
hg_attack_params_validate (const HgAttackParams *params,
                           HgModel              *model,
                           GError              **error)
{
  int height, width, channels;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (model != NULL, FALSE);

  hg_model_get_input_size (model, &height, &width, &channels);

  if ((guint) params->kind > HG_ATTACK_DEEPFOOL)
    INVALID ("unknown attack kind %d", (int) params->kind);
  if (!(params->eps >= 0) || params->eps > HG_ATTACK_MAX_EPS)
    INVALID (_ ("epsilon must be between 0 and %g (in units of 1/255), got %g"),
             HG_ATTACK_MAX_EPS, params->eps);
  if (params->kind != HG_ATTACK_FGSM && (params->steps < 1 || params->steps > HG_ATTACK_MAX_STEPS))
    INVALID (_ ("steps must be from 1 to %d, got %d"), HG_ATTACK_MAX_STEPS, params->steps);
  if (!(params->step >= 0) || params->step > HG_ATTACK_MAX_EPS)
    INVALID (_ ("step size must be between 0 (the default) and %g (in units of 1/255), got %g"),
             HG_ATTACK_MAX_EPS, params->step);
  if (params->restarts < 1 || params->restarts > HG_ATTACK_MAX_RESTARTS)
    INVALID (_ ("restarts must be from 1 to %d, got %d"), HG_ATTACK_MAX_RESTARTS, params->restarts);
  if (params->target < -1 || params->target >= hg_model_get_n_classes (model))
    INVALID (_ ("target class must be -1 (untargeted) or from 0 to %d, got %d"),
             hg_model_get_n_classes (model) - 1, params->target);
  if (!(params->momentum >= 0) || params->momentum > 10)
    INVALID (_ ("momentum must be between 0 and 10, got %g"), params->momentum);
  if (params->norm != HG_NORM_LINF && params->norm != HG_NORM_L2)
    INVALID ("unknown norm %d", (int) params->norm);
  if (!(params->overshoot >= 0) || params->overshoot > 1)
    INVALID (_ ("overshoot must be between 0 and 1, got %g"), params->overshoot);
  if (params->eot_samples < 0 || params->eot_samples > HG_ATTACK_MAX_EOT)
    INVALID (_ ("EOT samples must be from 0 (automatic) to %d, got %d"), HG_ATTACK_MAX_EOT, params->eot_samples);
  if (params->mode == HG_MODE_TRAINING)
    INVALID ("attacking in training mode would update the batch-norm statistics; "
             "use HG_MODE_TRAINING_NO_UPDATE");
  if (params->mode != HG_MODE_INFERENCE && params->mode != HG_MODE_TRAINING_NO_UPDATE)
    INVALID ("unknown mode %d", (int) params->mode);
  if (params->defense != NULL && !hg_defense_is_identity (params->defense) && channels != 3)
    INVALID (_ ("defense '%s' needs RGB input, but the model takes %d channels"),
             hg_defense_get_spec (params->defense), channels);
  return TRUE;
}

/* ---- the attacker's view of the model ----------------------------------- */

/* Forward and backward passes as the attack sees them: through the
 * defence (adaptive) or not, with EOT draws for randomised defences. */
typedef struct
{
  HgContext            *ctx;
  const HgAttackParams *params;
  HgDefense            *defense; /* NULL when attacking the bare model */
  int                   width, height, n_classes;
  gsize                 floats; /* per sample */
  int                   eot;
  guint64               draws; /* defence draws so far: each gets its own seed */
  float                *xt;    /* transformed inputs */
  float                *g;     /* one draw's gradient */
} View;

static void
view_init (View                 *view,
           HgContext            *ctx,
           const HgAttackParams *params,
           int                   max_n)
{
  HgModel *model = hg_context_get_model (ctx);
  int      channels;

  memset (view, 0, sizeof *view);
  view->ctx = ctx;
  view->params = params;
  if (params->defense != NULL && !hg_defense_is_identity (params->defense))
    view->defense = params->defense;
  hg_model_get_input_size (model, &view->height, &view->width, &channels);
  view->n_classes = hg_model_get_n_classes (model);
  view->floats = (gsize) channels * view->height * view->width;
  view->eot = 1;
  if (view->defense != NULL && hg_defense_is_randomized (view->defense))
    view->eot = params->eot_samples > 0 ? params->eot_samples : 8;
  view->xt = g_new (float, (gsize) max_n * view->floats);
  view->g = g_new (float, (gsize) max_n * view->floats);
}

static void
view_clear (View *view)
{
  g_clear_pointer (&view->xt, g_free);
  g_clear_pointer (&view->g, g_free);
}

static const float *
view_transform (View        *view,
                const float *x,
                int          n)
{
  guint64 seed;

  if (view->defense == NULL)
    return x;
  seed = hg_rng_mix (view->params->seed ^ hg_rng_mix (STREAM_EOT + view->draws++));
  hg_defense_apply (view->defense, x, n, view->width, view->height, seed, view->xt);
  return view->xt;
}

static gboolean
engine_failed (GError **error)
{
  g_set_error (error, HG_ERROR, HG_ERROR_FAILED,
               _ ("the model could not run this batch (wrong input size or out of memory)"));
  return FALSE;
}

/* Logits at x as the attacker sees them (one draw of the defence). */
static gboolean
view_logits (View        *view,
             const float *x,
             int          n,
             float       *logits,
             GError     **error)
{
  const float *in = view_transform (view, x, n);

  if (!hg_context_forward (view->ctx, view->params->mode, HG_PASS_NONE, in, n, logits))
    return engine_failed (error);
  return TRUE;
}

/* grad = ∇ₓ Σᵢ CE(labelsᵢ), averaged over the EOT draws; logits (nullable)
 * from the first draw. */
static gboolean
view_ce_gradient (View        *view,
                  const float *x,
                  int          n,
                  const int   *labels,
                  float       *logits,
                  float       *grad,
                  GError     **error)
{
  gsize count = (gsize) n * view->floats;

  for (int d = 0; d < view->eot; d++)
    {
      const float *in = view_transform (view, x, n);
      float       *g = d == 0 ? grad : view->g;
      float        loss;

      loss = hg_context_loss_backward (view->ctx, view->params->mode, HG_PASS_NONE, in, n, labels,
                                       d == 0 ? logits : NULL, g);
      if (isnan (loss))
        return engine_failed (error);
      if (view->defense != NULL)
        hg_defense_backward (view->defense, g, n, view->width, view->height, g);
      if (d > 0)
        for (gsize i = 0; i < count; i++)
          grad[i] += g[i];
    }
  /* The mean, though only the direction matters to sign steps. */
  if (view->eot > 1)
    for (gsize i = 0; i < count; i++)
      grad[i] /= view->eot;
  return TRUE;
}

/* ---- the small pieces ---------------------------------------------------- */

void
hg_attack_project (const float *x,
                   float       *x_adv,
                   gsize        count,
                   double       eps)
{
  double e = eps / 255.0;

  for (gsize i = 0; i < count; i++)
    {
      double xd = x[i], lo_d = xd - e, hi_d = xd + e;
      float  lo = (float) lo_d, hi = (float) hi_d, v = x_adv[i];

      /* The bounds are the extreme floats inside the ball: round x ± ε
       * inwards, then undo what double rounding of x ± ε may have let
       * through (one ulp at most; the bounds are never near zero's
       * denormals unless x is, and then the difference is exact). */
      if ((double) lo < lo_d)
        lo = nextafterf (lo, INFINITY);
      if ((double) hi > hi_d)
        hi = nextafterf (hi, -INFINITY);
      if (xd - (double) lo > e)
        lo = nextafterf (lo, INFINITY);
      if ((double) hi - xd > e)
        hi = nextafterf (hi, -INFINITY);

      if (!(v >= lo)) /* NaN goes to the bound, too */
        v = lo;
      if (v > hi)
        v = hi;
      x_adv[i] = CLAMP (v, 0.0f, 1.0f);
    }
}

static inline float
sign_of (float v)
{
  return (float) ((v > 0) - (v < 0));
}

void
hg_attack_fgsm_step (const float *x,
                     const float *grad,
                     gsize        count,
                     double       eps,
                     float       *x_adv)
{
  float ef = (float) (eps / 255.0);

  for (gsize i = 0; i < count; i++)
    x_adv[i] = x[i] + ef * sign_of (grad[i]);
  hg_attack_project (x, x_adv, count, eps);
}

void
hg_attack_perturbation_norms (const float *x,
                              const float *x_adv,
                              int          n,
                              gsize        floats_per_sample,
                              double      *linf,
                              double      *l2)
{
  for (int i = 0; i < n; i++)
    {
      const float *a = x + (gsize) i * floats_per_sample;
      const float *b = x_adv + (gsize) i * floats_per_sample;
      double       max = 0, sum = 0;

      for (gsize j = 0; j < floats_per_sample; j++)
        {
          double d = (double) b[j] - (double) a[j];

          max = MAX (max, fabs (d));
          sum += d * d;
        }
      if (linf != NULL)
        linf[i] = max * 255.0;
      if (l2 != NULL)
        l2[i] = sqrt (sum);
    }
}

static double
cross_entropy (const float *logits,
               int          k,
               int          label)
{
  double max = logits[hg_argmax (logits, k)], sum = 0;

  for (int i = 0; i < k; i++)
    sum += exp ((double) logits[i] - max);
  return max + log (sum) - logits[label];
}

/* ---- gradient attacks ---------------------------------------------------- */

gboolean
hg_attack_input_gradient (HgContext            *ctx,
                          const HgAttackParams *params,
                          const float          *x,
                          const int            *labels,
                          int                   n,
                          float                *logits,
                          float                *grad,
                          GError              **error)
{
  g_autofree int *targets = NULL;
  View            view;
  gboolean        ok;

  g_return_val_if_fail (ctx != NULL && params != NULL, FALSE);
  g_return_val_if_fail (n >= 0 && n <= HG_MODEL_MAX_BATCH, FALSE);

  if (!hg_attack_params_validate (params, hg_context_get_model (ctx), error))
    return FALSE;
  if (n == 0)
    return TRUE;

  if (params->target >= 0)
    {
      targets = g_new (int, n);
      for (int i = 0; i < n; i++)
        targets[i] = params->target;
    }

  view_init (&view, ctx, params, n);
  ok = view_ce_gradient (&view, x, n, targets != NULL ? targets : labels, logits, grad, error);
  if (ok && targets != NULL)
    for (gsize i = 0; i < (gsize) n * view.floats; i++)
      grad[i] = -grad[i];
  view_clear (&view);
  return ok;
}

/* Per-sample record of the best iterate so far. */
typedef struct
{
  float    *x;       /* n × floats */
  double   *score;   /* the attack's objective: CE(label) or −CE(target) */
  gboolean *success; /* misclassified / reached the target */
} Best;

static void
best_offer (Best        *best,
            const View  *view,
            const float *x_iter,
            const float *logits,
            const int   *labels,
            const int   *rows, /* row of the full batch for each candidate */
            int          n)
{
  int target = view->params->target;

  for (int i = 0; i < n; i++)
    {
      const float *l = logits + (gsize) i * view->n_classes;
      int          row = rows[i];
      int          pred = hg_argmax (l, view->n_classes);
      gboolean     success = target >= 0 ? pred == target : pred != labels[row];
      double       score = target >= 0 ? -cross_entropy (l, view->n_classes, target)
                                       : cross_entropy (l, view->n_classes, labels[row]);

      if ((success && !best->success[row]) || (success == best->success[row] && score > best->score[row]))
        {
          best->success[row] = success;
          best->score[row] = score;
          memcpy (best->x + (gsize) row * view->floats, x_iter + (gsize) i * view->floats,
                  view->floats * sizeof (float));
        }
    }
}

/* One run of BIM / PGD / MI-FGSM on the n samples x (rows: their rows in
 * the full batch, for random streams and the record). */
static gboolean
iterate (View         *view,
         const float  *x,
         const int    *labels,
         const int    *rows,
         int           n,
         int           restart,
         Best         *best,
         const int    *full_labels,
         GCancellable *cancellable,
         GError      **error)
{
  const HgAttackParams *p = view->params;
  gsize                 floats = view->floats, count = (gsize) n * floats;
  double                alpha = p->step;
  float                 alpha_f;
  g_autofree float     *xi = g_new (float, count);
  g_autofree float     *grad = g_new (float, count);
  g_autofree float     *logits = g_new (float, (gsize) n * view->n_classes);
  g_autofree float     *momentum = NULL;
  g_autofree int       *targets = NULL;

  if (alpha == 0)
    alpha = p->kind == HG_ATTACK_MIFGSM ? p->eps / p->steps : 2.5 * p->eps / p->steps;
  alpha_f = (float) (alpha / 255.0);

  if (p->target >= 0)
    {
      targets = g_new (int, n);
      for (int i = 0; i < n; i++)
        targets[i] = p->target;
    }

  memcpy (xi, x, count * sizeof (float));
  if (p->random_start)
    {
      float e = (float) (p->eps / 255.0);

      for (int i = 0; i < n; i++)
        {
          HgRng  rng;
          float *v = xi + (gsize) i * floats;

          hg_rng_init (&rng, p->seed, STREAM_START + restart, rows[i]);
          for (gsize j = 0; j < floats; j++)
            v[j] += e * (float) (2.0 * hg_rng_uniform (&rng) - 1.0);
        }
      hg_attack_project (x, xi, count, p->eps);
    }
  if (p->kind == HG_ATTACK_MIFGSM)
    momentum = g_new0 (float, count);

  for (int t = 0; t < p->steps; t++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!view_ce_gradient (view, xi, n, targets != NULL ? targets : labels, logits, grad, error))
        return FALSE;
      best_offer (best, view, xi, logits, full_labels, rows, n);

      for (int i = 0; i < n; i++)
        {
          float *g = grad + (gsize) i * floats, *v = xi + (gsize) i * floats;
          /* Targeted attacks descend the target's loss. */
          float dir = targets != NULL ? -1.0f : 1.0f;

          if (momentum != NULL)
            {
              float *m = momentum + (gsize) i * floats;
              double l1 = 0;

              for (gsize j = 0; j < floats; j++)
                l1 += fabsf (g[j]);
              l1 = MAX (l1, 1e-12);
              for (gsize j = 0; j < floats; j++)
                {
                  m[j] = (float) (p->momentum * m[j] + g[j] / l1);
                  v[j] += dir * alpha_f * sign_of (m[j]);
                }
            }
          else
            for (gsize j = 0; j < floats; j++)
              v[j] += dir * alpha_f * sign_of (g[j]);
        }
      hg_attack_project (x, xi, count, p->eps);
    }

  if (!view_logits (view, xi, n, logits, error))
    return FALSE;
  best_offer (best, view, xi, logits, full_labels, rows, n);
  return TRUE;
}

static gboolean
run_iterative (View         *view,
               const float  *x,
               const int    *labels,
               int           n,
               float        *x_adv,
               GCancellable *cancellable,
               GError      **error)
{
  const HgAttackParams *p = view->params;
  gsize                 floats = view->floats;
  int                   runs = p->kind == HG_ATTACK_PGD ? p->restarts : 1;
  Best                  best = {
                     .x = x_adv,
                     .score = g_new (double, n),
                     .success = g_new0 (gboolean, n),
  };
  g_autofree int   *rows = g_new (int, n);
  g_autofree float *sub_x = NULL;
  g_autofree int   *sub_labels = NULL;
  gboolean          ok = TRUE;

  for (int i = 0; i < n; i++)
    best.score[i] = -INFINITY;
  memcpy (x_adv, x, (gsize) n * floats * sizeof (float));

  for (int r = 0; r < runs && ok; r++)
    {
      int m = 0;

      /* Restarts only for the samples not fooled yet. */
      for (int i = 0; i < n; i++)
        if (!best.success[i])
          rows[m++] = i;
      if (m == 0)
        break;

      if (m == n)
        ok = iterate (view, x, labels, rows, n, r, &best, labels, cancellable, error);
      else
        {
          if (sub_x == NULL)
            {
              sub_x = g_new (float, (gsize) n *floats);
              sub_labels = g_new (int, n);
            }
          for (int i = 0; i < m; i++)
            {
              memcpy (sub_x + (gsize) i * floats, x + (gsize) rows[i] * floats, floats * sizeof (float));
              sub_labels[i] = labels[rows[i]];
            }
          ok = iterate (view, sub_x, sub_labels, rows, m, r, &best, labels, cancellable, error);
        }
    }

  g_free (best.score);
  g_free (best.success);
  return ok;
}

/* ---- DeepFool ------------------------------------------------------------ */

static gboolean
run_deepfool (View         *view,
              const float  *x,
              int           n,
              float        *x_adv,
              GCancellable *cancellable,
              GError      **error)
{
  const HgAttackParams *p = view->params;
  int                   k = view->n_classes;
  gsize                 floats = view->floats;
  g_autofree float     *r_tot = g_new0 (float, (gsize) n *floats);
  g_autofree float     *xi = g_new (float, (gsize) n *floats);
  g_autofree float     *logits = g_new (float, (gsize) n *k);
  g_autofree float     *dlogits = g_new0 (float, (gsize) n *k);
  g_autofree float     *grads = g_new (float, (gsize) (k - 1) * n * floats);
  g_autofree int       *original = g_new (int, n);
  g_autofree int       *active = g_new (int, n);
  double                scale = 1.0 + p->overshoot;
  int                   n_active = n;

  for (int i = 0; i < n; i++)
    active[i] = i;

  for (int it = 0; it <= p->steps && n_active > 0; it++)
    {
      int still = 0;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      /* The current iterates of the active samples, packed. */
      for (int a = 0; a < n_active; a++)
        {
          const float *x0 = x + (gsize) active[a] * floats;
          const float *r = r_tot + (gsize) active[a] * floats;
          float       *v = xi + (gsize) a * floats;

          for (gsize j = 0; j < floats; j++)
            v[j] = CLAMP (x0[j] + (float) scale * r[j], 0.0f, 1.0f);
        }
      {
        const float *in = view_transform (view, xi, n_active);

        if (!hg_context_forward (view->ctx, p->mode, HG_PASS_NONE, in, n_active, logits))
          return engine_failed (error);
      }

      if (it == 0)
        for (int a = 0; a < n_active; a++)
          original[active[a]] = hg_argmax (logits + (gsize) a * k, k);

      /* Drop the samples already flipped; stop at the iteration cap. */
      for (int a = 0; a < n_active; a++)
        if (hg_argmax (logits + (gsize) a * k, k) == original[active[a]] && it < p->steps)
          still++;
      if (still == 0)
        break;

      /* w = ∇(f_c − f_orig) for every other class c. Pass j takes class
       * (orig + j) mod k of each row: k − 1 backward passes in all. */
      for (int j = 1; j < k; j++)
        {
          float *w = grads + (gsize) (j - 1) * n_active * floats;

          memset (dlogits, 0, (gsize) n_active * k * sizeof (float));
          for (int a = 0; a < n_active; a++)
            {
              int o = original[active[a]];

              dlogits[(gsize) a * k + (o + j) % k] = 1.0f;
              dlogits[(gsize) a * k + o] = -1.0f;
            }
          if (!hg_context_backward (view->ctx, dlogits, w))
            return engine_failed (error);
          if (view->defense != NULL)
            hg_defense_backward (view->defense, w, n_active, view->width, view->height, w);
        }

      /* Step towards the nearest linearised boundary. */
      for (int a = 0; a < n_active; a++)
        {
          const float *l = logits + (gsize) a * k;
          int          o = original[active[a]];
          int          best_j = -1;
          double       best_dist = INFINITY, best_norm = 0, best_f = 0;
          float       *r = r_tot + (gsize) active[a] * floats;

          if (hg_argmax (l, k) != o)
            continue;
          for (int j = 1; j < k; j++)
            {
              const float *w = grads + ((gsize) (j - 1) * n_active + a) * floats;
              double       f = fabs ((double) l[(o + j) % k] - l[o]), norm = 0;

              for (gsize q = 0; q < floats; q++)
                norm += p->norm == HG_NORM_L2 ? (double) w[q] * w[q] : fabs (w[q]);
              if (p->norm == HG_NORM_L2)
                norm = sqrt (norm);
              if (norm > 0 && f / norm < best_dist)
                {
                  best_dist = f / norm;
                  best_j = j;
                  best_norm = norm;
                  best_f = f;
                }
            }
          if (best_j < 0)
            continue; /* zero gradient: nowhere to go */
          {
            const float *w = grads + ((gsize) (best_j - 1) * n_active + a) * floats;
            /* L2: r = (|f| + δ) w / ‖w‖₂²; L∞: r = (|f| + δ) sign(w) / ‖w‖₁. */
            double size = (best_f + 1e-4) / best_norm;

            for (gsize q = 0; q < floats; q++)
              r[q] += p->norm == HG_NORM_L2 ? (float) (size * w[q] / best_norm) : (float) size * sign_of (w[q]);
          }
        }

      /* Keep the ones still unflipped. */
      {
        int kept = 0;

        for (int a = 0; a < n_active; a++)
          if (hg_argmax (logits + (gsize) a * k, k) == original[active[a]])
            active[kept++] = active[a];
        n_active = kept;
      }
    }

  for (int i = 0; i < n; i++)
    {
      const float *x0 = x + (gsize) i * floats;
      const float *r = r_tot + (gsize) i * floats;
      float       *v = x_adv + (gsize) i * floats;

      for (gsize j = 0; j < floats; j++)
        v[j] = CLAMP (x0[j] + (float) scale * r[j], 0.0f, 1.0f);
    }
  if (p->eps > 0)
    hg_attack_project (x, x_adv, (gsize) n * floats, p->eps);
  return TRUE;
}

gboolean
hg_attack_run (HgContext            *ctx,
               const HgAttackParams *params,
               const float          *x,
               const int            *labels,
               int                   n,
               float                *x_adv,
               GCancellable         *cancellable,
               GError              **error)
{
  View     view;
  gboolean ok;
  gsize    count;

  g_return_val_if_fail (ctx != NULL && params != NULL, FALSE);
  g_return_val_if_fail (n >= 0 && n <= HG_MODEL_MAX_BATCH, FALSE);
  g_return_val_if_fail (n == 0 || (x != NULL && x_adv != NULL), FALSE);
  g_return_val_if_fail (n == 0 || labels != NULL || params->kind == HG_ATTACK_DEEPFOOL ||
                            params->target >= 0,
                        FALSE);

  if (!hg_attack_params_validate (params, hg_context_get_model (ctx), error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (n == 0)
    return TRUE;

  view_init (&view, ctx, params, n);
  count = (gsize) n * view.floats;

  /* A zero budget leaves every input exactly as it was. */
  if (params->eps == 0 && params->kind != HG_ATTACK_DEEPFOOL)
    {
      memcpy (x_adv, x, count * sizeof (float));
      view_clear (&view);
      return TRUE;
    }

  switch (params->kind)
    {
    case HG_ATTACK_FGSM:
      {
        g_autofree float *grad = g_new (float, count);

        ok = hg_attack_input_gradient (ctx, params, x, labels, n, NULL, grad, error);
        if (ok)
          hg_attack_fgsm_step (x, grad, count, params->eps, x_adv);
      }
      break;
    case HG_ATTACK_BIM:
    case HG_ATTACK_PGD:
    case HG_ATTACK_MIFGSM:
      {
        g_autofree int *fake = NULL;

        /* A targeted attack needs no labels: any will do for the record. */
        if (labels == NULL)
          labels = fake = g_new0 (int, n);
        ok = run_iterative (&view, x, labels, n, x_adv, cancellable, error);
      }
      break;
    case HG_ATTACK_DEEPFOOL:
      ok = run_deepfool (&view, x, n, x_adv, cancellable, error);
      break;
    default:
      g_assert_not_reached ();
    }

  view_clear (&view);
  return ok;
}
