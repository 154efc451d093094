/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-live.h"

#include "hg-live-private.h"
#include "hg-model-private.h"
#include "hg-threads-private.h"

/* Tiles per batch: read through the read function and predicted clean;
 * per gradient (the forward keeps its activations for the backward pass,
 * so these stay small); per chunk of an iterative attack; per chunk of a
 * robustness map. */
#define READ_BATCH 64
#define GRADIENT_BATCH 32
#define ITERATIVE_CHUNK 16
#define MAP_CHUNK_FGSM 64
#define MAP_CHUNK_ITERATIVE 16
/* Tiles per task when perturbing and defending a batch in parallel. */
#define FILL_GROUP 4
/* Pipeline caches kept; each holds a context of its model. */
#define MAX_PIPE_CACHES 8
#define DEFAULT_MAX_TILES 4096
#define N_GOALS 3
/* The robustness map's bisection steps (see hg-live.h). */
#define MAP_FGSM_BISECTIONS 2
#define MAP_ITERATIVE_BISECTIONS 5

/* A tile's pixels (floats of them) and ground truth. */
typedef struct
{
  guint64 key;
  guint64 used; /* the clock of the computation that last needed it */
  int     truth;
  float   x[];
} Tile;

/* A pipeline's logits on a clean tile, and its detector's score. */
typedef struct
{
  guint64 key;
  float   score; /* NaN without a detector */
  float   logits[];
} Clean;

/* The sign of a tile's attack gradient: -1, 0 or 1 per float. */
typedef struct
{
  guint64 key;
  gint8   sign[];
} Sign;

/* What is kept for one pipeline: its context, clean logits, and gradient
 * signs per goal. */
typedef struct
{
  HgLivePipeline *pipe;
  HgContext      *ctx;
  GHashTable     *clean;          /* &key → Clean */
  GHashTable     *signs[N_GOALS]; /* &key → Sign */
  double          threshold;      /* the detector's; NaN until calibrated */
  guint64         used;
} PipeCache;

/* A robustness map computed on the worker thread. */
typedef struct
{
  HgLiveJob            *job;
  int                   pipeline;
  HgLiveMap            *map;
  GTask                *task;
  GCancellable         *cancellable;        /* ours */
  GCancellable         *caller_cancellable; /* cancels ours */
  gulong                cancelled_id;
  HgLiveMapProgressFunc progress;
  gpointer              progress_data;
  GDestroyNotify        progress_data_free;
  GMainContext         *context;
  int                   next; /* first tile of the next chunk */
  gint                  progress_pending;
  GError               *error;
} MapJob;

struct _HgLiveAttack
{
  gatomicrefcount ref;
  HgLiveReadFunc  read;
  gpointer        read_data;
  GDestroyNotify  read_data_free;

  /* Held by whoever computes; guards everything down to the scratch. */
  GMutex      compute_lock;
  GHashTable *tiles; /* &key → Tile */
  GHashTable *pipes; /* id → PipeCache */
  int         width, height;
  gsize       floats;
  guint       max_tiles;
  guint64     clock;
  /* Scratch, grown as needed and kept: a step allocates nothing big. */
  gsize  cap;       /* tiles the buffers below hold */
  float *xa;        /* inputs: clean, then perturbed */
  float *xd;        /* the same after a defence */
  float *grad;      /* gradients */
  float *xs;        /* HG_LIVE_MAX_PIPELINES × cap × floats: iterative results */
  float *logits;    /* cap × n_classes */
  float *probs;     /* cap × n_classes */
  float *scores;    /* cap */
  int   *labels;    /* cap */
  Tile **tile_ptrs; /* cap */
  Sign **sign_ptrs; /* cap */
  float *eps_buf;   /* cap */
  int    n_classes;

  /* Guards the rest. */
  GMutex        state_lock;
  GCond         cond;
  GThread      *thread;
  gboolean      quit;
  HgLiveJob    *pending;
  gboolean      running_live;
  GCancellable *cancellable; /* of the live computation running */
  GQueue        maps;        /* MapJob, the first one running */
  guint64       serial;
  HgLiveStats   stats;

  GMainContext    *context;
  HgLiveResultFunc func;
  gpointer         func_data;
  GDestroyNotify   func_destroy;
  HgLiveResult    *outbox;
  GError          *outbox_error;
  gboolean         delivery_pending;
};

/* How a computation is steered: cancelled at once, or told at safe points
 * that newer work supersedes it, and told of partial results. */
typedef struct
{
  GCancellable *cancellable;
  gboolean (*superseded) (gpointer data);
  void (*partial) (HgLiveResult *result,
                   gpointer      data);
  gpointer data;
} Control;

static gboolean
control_stop (const Control *control,
              GError       **error)
{
  if (g_cancellable_set_error_if_cancelled (control->cancellable, error))
    {
      /* GIO's domain, ours for the callers. */
      g_clear_error (error);
      g_set_error (error, HG_ERROR, HG_ERROR_CANCELLED, "the live attack was cancelled");
      return TRUE;
    }
  if (control->superseded != NULL && control->superseded (control->data))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_CANCELLED,
                   "the live attack was superseded by a newer request");
      return TRUE;
    }
  return FALSE;
}

static gboolean
engine_failed (GError **error)
{
  g_set_error (error, HG_ERROR, HG_ERROR_FAILED,
               _ ("the model could not run a batch of tiles (out of memory?)"));
  return FALSE;
}

/* ---- caches ---------------------------------------------------------------- */

static void
pipe_cache_free (PipeCache *pc)
{
  hg_live_pipeline_unref (pc->pipe);
  hg_context_free (pc->ctx);
  g_hash_table_unref (pc->clean);
  for (int g = 0; g < N_GOALS; g++)
    g_hash_table_unref (pc->signs[g]);
  g_free (pc);
}

static PipeCache *
pipe_cache_get (HgLiveAttack   *live,
                HgLivePipeline *pipe)
{
  PipeCache *pc = g_hash_table_lookup (live->pipes, pipe->id);

  if (pc == NULL)
    {
      /* Drop the least recently used caches beyond the limit. */
      while (g_hash_table_size (live->pipes) >= MAX_PIPE_CACHES)
        {
          GHashTableIter iter;
          PipeCache     *old = NULL, *c;

          g_hash_table_iter_init (&iter, live->pipes);
          while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &c))
            if (c->used < live->clock && (old == NULL || c->used < old->used))
              old = c;
          if (old == NULL)
            break;
          g_hash_table_remove (live->pipes, old->pipe->id);
        }

      pc = g_new0 (PipeCache, 1);
      pc->pipe = hg_live_pipeline_ref (pipe);
      pc->ctx = hg_context_new (pipe->model);
      pc->threshold = pipe->threshold;
      pc->clean = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
      for (int g = 0; g < N_GOALS; g++)
        pc->signs[g] = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
      g_hash_table_insert (live->pipes, pc->pipe->id, pc);
    }
  pc->used = live->clock;
  return pc;
}

static void
forget_tile (HgLiveAttack *live,
             guint64       key)
{
  GHashTableIter iter;
  PipeCache     *pc;

  g_hash_table_iter_init (&iter, live->pipes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pc))
    {
      g_hash_table_remove (pc->clean, &key);
      for (int g = 0; g < N_GOALS; g++)
        g_hash_table_remove (pc->signs[g], &key);
    }
  g_hash_table_remove (live->tiles, &key);
}

static int
compare_used (gconstpointer a,
              gconstpointer b)
{
  const Tile *ta = *(Tile *const *) a, *tb = *(Tile *const *) b;

  return ta->used < tb->used ? -1 : ta->used > tb->used;
}

/* Makes room for `incoming` tiles: forgets the least recently used ones
 * that the running computation does not need. */
static void
evict_tiles (HgLiveAttack *live,
             guint         incoming)
{
  g_autoptr (GPtrArray) old = NULL;
  GHashTableIter iter;
  Tile          *t;
  guint          size = g_hash_table_size (live->tiles);
  guint          excess;

  if (size + incoming <= live->max_tiles)
    return;
  excess = size + incoming - live->max_tiles;

  old = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, live->tiles);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->used < live->clock)
      g_ptr_array_add (old, t);
  g_ptr_array_sort (old, compare_used);
  for (guint i = 0; i < old->len && i < excess; i++)
    forget_tile (live, ((Tile *) old->pdata[i])->key);
}

static void
set_tile_size (HgLiveAttack *live,
               int           width,
               int           height)
{
  if (live->width == width && live->height == height)
    return;
  g_hash_table_remove_all (live->pipes);
  g_hash_table_remove_all (live->tiles);
  live->width = width;
  live->height = height;
  live->floats = 3 * (gsize) width * height;
  live->cap = 0; /* regrow the scratch for the new size */
}

static gboolean
ensure_scratch (HgLiveAttack *live,
                gsize         n,
                int           n_classes)
{
  gsize floats;

  if (n <= live->cap && n_classes <= live->n_classes)
    return TRUE;
  n = MAX (n, live->cap);
  n = MAX (n, (gsize) READ_BATCH);
  n_classes = MAX (n_classes, live->n_classes);
  if (!g_size_checked_mul (&floats, n, live->floats) || floats > G_MAXSIZE / (HG_LIVE_MAX_PIPELINES * sizeof (float)))
    return FALSE;

  live->xa = g_renew (float, live->xa, floats);
  live->xd = g_renew (float, live->xd, floats);
  live->grad = g_renew (float, live->grad, floats);
  live->xs = g_renew (float, live->xs, floats *HG_LIVE_MAX_PIPELINES);
  live->logits = g_renew (float, live->logits, n *n_classes);
  live->probs = g_renew (float, live->probs, n *n_classes);
  live->scores = g_renew (float, live->scores, n);
  live->labels = g_renew (int, live->labels, n);
  live->tile_ptrs = g_renew (Tile *, live->tile_ptrs, n);
  live->sign_ptrs = g_renew (Sign *, live->sign_ptrs, n);
  live->eps_buf = g_renew (float, live->eps_buf, n);
  live->cap = n;
  live->n_classes = n_classes;
  return TRUE;
}

/* Every tile of keys in the store, read in batches when missing; fills
 * live->tile_ptrs in the order of keys. */
static gboolean
ensure_tiles (HgLiveAttack  *live,
              const guint64 *keys,
              int            n,
              const Control *control,
              GError       **error)
{
  g_autoptr (GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree int *truth = NULL;

  for (int i = 0; i < n; i++)
    {
      Tile *t = g_hash_table_lookup (live->tiles, &keys[i]);

      if (t != NULL)
        t->used = live->clock;
      else if (g_hash_table_add (seen, (gpointer) &keys[i]))
        g_array_append_val (missing, keys[i]);
    }

  if (missing->len > 0)
    {
      evict_tiles (live, missing->len);
      truth = g_new (int, READ_BATCH);
      for (guint off = 0; off < missing->len; off += READ_BATCH)
        {
          guint m = MIN (READ_BATCH, missing->len - off);

          if (control_stop (control, error))
            return FALSE;
          for (guint j = 0; j < m; j++)
            truth[j] = -1;
          if (live->read == NULL)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                           "tile %" G_GUINT64_FORMAT " is not known and there is no way to read it",
                           g_array_index (missing, guint64, off));
              return FALSE;
            }
          if (!live->read (&g_array_index (missing, guint64, off), (int) m, live->width, live->height,
                           live->xa, truth, live->read_data, error))
            return FALSE;
          for (guint j = 0; j < m; j++)
            {
              Tile *t = g_malloc (sizeof (Tile) + live->floats * sizeof (float));

              t->key = g_array_index (missing, guint64, off + j);
              t->used = live->clock;
              t->truth = truth[j];
              memcpy (t->x, live->xa + (gsize) j * live->floats, live->floats * sizeof (float));
              g_hash_table_replace (live->tiles, &t->key, t);
            }
          g_mutex_lock (&live->state_lock);
          live->stats.n_tiles_read += m;
          g_mutex_unlock (&live->state_lock);
        }
    }

  for (int i = 0; i < n; i++)
    live->tile_ptrs[i] = g_hash_table_lookup (live->tiles, &keys[i]);
  return TRUE;
}

/* ---- perturbing and defending, in parallel --------------------------------- */

/* The float step e' for a sign step of eps (in 1/255) that keeps
 * x ± e', rounded to float and clamped to [0,1], inside the ε-ball in real
 * arithmetic for every x in [0,1] — what hg_attack_project() guarantees,
 * without its per-element corrections (they cost more than the rest of
 * the step). Rounding to nearest errs by at most u = 2⁻²⁴ of |x ± e'| ≤
 * 1 + e', so |fl(x ± e') − x| ≤ e'(1 + u) + u, which is ≤ e when
 * e' ≤ (e − u) / (1 + u). The step falls short of ε by about 10⁻⁷,
 * a hundred-thousandth of one level of an 8-bit image. */
static float
safe_step (double eps)
{
  double u = ldexp (1.0, -24), e = eps / 255.0;
  double bound = (e - u) / (1 + u);
  float  ef = (float) bound;

  if ((double) ef > bound)
    ef = nextafterf (ef, 0.0f);
  return MAX (ef, 0.0f);
}

typedef struct
{
  Tile *const     *tiles;
  Sign *const     *signs; /* NULL, or NULL entries: the clean tile */
  const float     *eps;   /* per tile, or NULL: eps1 for all */
  double           eps1;
  const HgDefense *defense;
  int              n, width, height;
  gsize            floats;
  float           *out;      /* n × floats: the perturbed tiles */
  float           *defended; /* n × floats when there is a defence */
} FillJob;

static void
fill_task (gpointer data,
           int      task,
           int      worker)
{
  const FillJob *j = data;
  int            end = MIN (j->n, (task + 1) * FILL_GROUP);

  for (int i = task * FILL_GROUP; i < end; i++)
    {
      const float *x = j->tiles[i]->x;
      const Sign  *s = j->signs != NULL ? j->signs[i] : NULL;
      double       eps = j->eps != NULL ? j->eps[i] : j->eps1;
      float       *out = j->out + (gsize) i * j->floats;

      if (s == NULL || eps == 0)
        memcpy (out, x, j->floats * sizeof (float));
      else
        {
          float ef = safe_step (eps);

          for (gsize f = 0; f < j->floats; f++)
            out[f] = CLAMP (x[f] + ef * (float) s->sign[f], 0.0f, 1.0f);
        }
      if (j->defense != NULL)
        hg_defense_apply (j->defense, out, 1, j->width, j->height, 0,
                          j->defended + (gsize) i * j->floats);
    }
}

/* The detector's scores of the n inputs the model was just shown (their
 * logits in live->logits) into live->scores; NaN without a detector. */
static gboolean
detect (HgLiveAttack *live,
        PipeCache    *pc,
        const float  *input,
        int           n,
        GError      **error)
{
  if (pc->pipe->detector == NULL)
    {
      for (int i = 0; i < n; i++)
        live->scores[i] = NAN;
      return TRUE;
    }
  hg_softmax (live->logits, n, live->n_classes, live->probs);
  return hg_detector_score (pc->pipe->detector, pc->ctx, input, n, live->probs, 0, live->scores, error);
}

/* Perturbs tiles[i] by eps (per tile or eps1) along signs[i] into
 * live->xa, runs pipe's defence into live->xd, predicts into live->logits
 * and, with detect_too, scores into live->scores. */
static gboolean
perturb_and_predict (HgLiveAttack *live,
                     PipeCache    *pc,
                     Tile *const  *tiles,
                     Sign *const  *signs,
                     const float  *eps,
                     double        eps1,
                     int           n,
                     gboolean      detect_too,
                     GError      **error)
{
  FillJob job = {
    .tiles = tiles,
    .signs = signs,
    .eps = eps,
    .eps1 = eps1,
    .defense = pc->pipe->defense,
    .n = n,
    .width = live->width,
    .height = live->height,
    .floats = live->floats,
    .out = live->xa,
    .defended = live->xd,
  };

  if (n == 0)
    return TRUE;
  hg_parallel_for ((n + FILL_GROUP - 1) / FILL_GROUP, fill_task, &job);
  if (!hg_model_predict (pc->ctx, job.defense != NULL ? live->xd : live->xa, n, live->logits))
    return engine_failed (error);
  return !detect_too || detect (live, pc, job.defense != NULL ? live->xd : live->xa, n, error);
}

/* Defends n inputs in live->xa (iterative attacks' results, copied there)
 * and predicts them. */
static gboolean
defend_and_predict (HgLiveAttack *live,
                    PipeCache    *pc,
                    const float  *x,
                    int           n,
                    gboolean      detect_too,
                    GError      **error)
{
  const float *in = x;

  if (n == 0)
    return TRUE;
  if (pc->pipe->defense != NULL)
    {
      hg_defense_apply (pc->pipe->defense, x, n, live->width, live->height, 0, live->xd);
      in = live->xd;
    }
  if (!hg_model_predict (pc->ctx, in, n, live->logits))
    return engine_failed (error);
  return !detect_too || detect (live, pc, in, n, error);
}

/* Clean logits of pc for every tile in live->tile_ptrs[0 … n-1]. */
static gboolean
ensure_clean (HgLiveAttack  *live,
              PipeCache     *pc,
              int            n,
              const Control *control,
              GError       **error)
{
  g_autofree Tile **todo = NULL;
  int               n_todo = 0, k = live->n_classes;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);

  todo = g_new (Tile *, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      Tile *t = live->tile_ptrs[i];

      if (!g_hash_table_contains (pc->clean, &t->key) && g_hash_table_add (seen, &t->key))
        todo[n_todo++] = t;
    }

  for (int off = 0; off < n_todo; off += READ_BATCH)
    {
      int m = MIN (READ_BATCH, n_todo - off);

      if (control_stop (control, error))
        return FALSE;
      if (!perturb_and_predict (live, pc, todo + off, NULL, NULL, 0, m, TRUE, error))
        return FALSE;
      for (int j = 0; j < m; j++)
        {
          Clean *c = g_malloc (sizeof (Clean) + (gsize) k * sizeof (float));

          c->key = todo[off + j]->key;
          c->score = live->scores[j];
          memcpy (c->logits, live->logits + (gsize) j * k, k * sizeof (float));
          g_hash_table_replace (pc->clean, &c->key, c);
        }
    }
  return TRUE;
}

/* Sets pc's detector threshold, when it has none, from the clean scores
 * of the tiles in live->tile_ptrs[0 … n-1]. */
static void
calibrate (HgLiveAttack *live,
           PipeCache    *pc,
           int           n)
{
  g_autoptr (HgDetector) scratch = NULL;
  g_autofree float *scores = NULL;

  if (pc->pipe->detector == NULL || !isnan (pc->threshold) || n == 0)
    return;
  scores = g_new (float, n);
  for (int i = 0; i < n; i++)
    scores[i] = ((Clean *) g_hash_table_lookup (pc->clean, &live->tile_ptrs[i]->key))->score;
  scratch = hg_detector_new (hg_detector_get_spec (pc->pipe->detector), NULL);
  pc->threshold = hg_detector_calibrate (scratch, scores, n, HG_LIVE_DETECTOR_FPR);
}

/* The label an attack crafted on pc pushes a tile away from (untargeted)
 * or towards (target). */
static int
attack_label (PipeCache *pc,
              guint64    key,
              int        n_classes,
              int        target)
{
  Clean *c;

  if (target >= 0)
    return target;
  c = g_hash_table_lookup (pc->clean, &key);
  return hg_argmax (c->logits, n_classes);
}

/* Gradient signs of pc's attack for goal for every tile in
 * live->tile_ptrs[0 … n-1] (whose clean logits are known), into
 * live->sign_ptrs. */
static gboolean
ensure_signs (HgLiveAttack  *live,
              PipeCache     *pc,
              HgLiveGoal     goal,
              int            target,
              int            n,
              const Control *control,
              GError       **error)
{
  g_autofree Tile **todo = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  GHashTable    *signs = pc->signs[goal];
  HgAttackParams ap;
  int            n_todo = 0;

  todo = g_new (Tile *, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      Tile *t = live->tile_ptrs[i];

      if (!g_hash_table_contains (signs, &t->key) && g_hash_table_add (seen, &t->key))
        todo[n_todo++] = t;
    }

  hg_attack_params_init (&ap, HG_ATTACK_FGSM, 0.0);
  ap.target = target;
  ap.defense = pc->pipe->defense;

  for (int off = 0; off < n_todo; off += GRADIENT_BATCH)
    {
      int m = MIN (GRADIENT_BATCH, n_todo - off);

      /* Whole batches are never cancelled by newer requests: they need
       * the same gradients, and would otherwise never get them while the
       * slider keeps moving. */
      if (control_stop (control, error))
        return FALSE;
      for (int j = 0; j < m; j++)
        {
          memcpy (live->xa + (gsize) j * live->floats, todo[off + j]->x, live->floats * sizeof (float));
          live->labels[j] = attack_label (pc, todo[off + j]->key, live->n_classes, -1);
        }
      if (!hg_attack_input_gradient (pc->ctx, &ap, live->xa, live->labels, m, NULL, live->grad, error))
        return FALSE;
      for (int j = 0; j < m; j++)
        {
          Sign        *s = g_malloc (sizeof (Sign) + live->floats);
          const float *g = live->grad + (gsize) j * live->floats;

          s->key = todo[off + j]->key;
          for (gsize f = 0; f < live->floats; f++)
            s->sign[f] = (gint8) ((g[f] > 0) - (g[f] < 0));
          g_hash_table_replace (signs, &s->key, s);
        }
      g_mutex_lock (&live->state_lock);
      live->stats.n_gradients += m;
      g_mutex_unlock (&live->state_lock);
    }

  for (int i = 0; i < n; i++)
    live->sign_ptrs[i] = g_hash_table_lookup (signs, &live->tile_ptrs[i]->key);
  return TRUE;
}

/* Runs the job's iterative attack crafted on pc over x (n tiles, the
 * labels of pc's attack in live->labels) into x_adv. */
static gboolean
run_iterative (HgLiveAttack    *live,
               const HgLiveJob *job,
               PipeCache       *pc,
               double           eps,
               const float     *x,
               int              n,
               guint64          seed,
               float           *x_adv,
               const Control   *control,
               GError         **error)
{
  HgAttackParams ap;

  if (eps == 0)
    {
      memcpy (x_adv, x, (gsize) n * live->floats * sizeof (float));
      return TRUE;
    }
  hg_attack_params_init (&ap, job->params.kind, eps);
  ap.steps = job->params.steps;
  ap.target = job->target;
  ap.defense = pc->pipe->defense;
  ap.seed = seed;
  if (!hg_attack_run (pc->ctx, &ap, x, live->labels, n, x_adv, control->cancellable, error))
    {
      /* hg_attack_run() reports a cancellation in GIO's domain. */
      if (g_error_matches (*error, HG_ERROR, HG_ERROR_CANCELLED) || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (error);
          g_set_error (error, HG_ERROR, HG_ERROR_CANCELLED, "the live attack was cancelled");
        }
      return FALSE;
    }
  return TRUE;
}

/* ---- live computations ------------------------------------------------------ */

/* Stores pipeline p's evaluation of tile position pos from logits and
 * the detector's score (NaN without one). */
static void
store_eval (HgLiveResult *r,
            int           p,
            int           pos,
            const float  *logits,
            float         score)
{
  int    k = r->n_classes;
  float *probs = r->probs[p] + (gsize) pos * k;
  int    label, clean = r->clean_labels[p][pos], truth = r->truth[pos];
  guint8 flags = HG_LIVE_TILE_DONE;

  hg_softmax (logits, 1, k, probs);
  label = hg_argmax (probs, k);
  r->labels[p][pos] = label;
  if (label != clean)
    flags |= HG_LIVE_TILE_FLIPPED;
  if (truth >= 0 && label == truth)
    flags |= HG_LIVE_TILE_CORRECT;
  if (truth >= 0 && clean == truth)
    flags |= HG_LIVE_TILE_CLEAN_CORRECT;
  if (r->scores[p] != NULL)
    {
      r->scores[p][pos] = score;
      if (score > r->threshold[p])
        flags |= HG_LIVE_TILE_FLAGGED;
      if (r->clean_scores[p][pos] > r->threshold[p])
        flags |= HG_LIVE_TILE_CLEAN_FLAGGED;
    }
  r->flags[p][pos] = flags;
}

/* The pipeline before p that computes exactly what p does, or -1. */
static int
same_as_earlier (const HgLiveJob *job,
                 int              p)
{
  for (int q = 0; q < p; q++)
    if (hg_live_pipeline_equal (job->pipelines[q], job->pipelines[p]) && hg_live_pipeline_equal (job->pipelines[job->source[q]], job->pipelines[job->source[p]]))
      return q;
  return -1;
}

static void
copy_pipeline_results (HgLiveResult *r,
                       int           from,
                       int           to,
                       const int    *positions,
                       int           n)
{
  int   k = r->n_classes;
  gsize floats = 3 * (gsize) r->width * r->height;

  for (int j = 0; j < n; j++)
    {
      int pos = positions != NULL ? positions[j] : j;

      memcpy (r->probs[to] + (gsize) pos * k, r->probs[from] + (gsize) pos * k, k * sizeof (float));
      r->labels[to][pos] = r->labels[from][pos];
      r->flags[to][pos] = r->flags[from][pos];
      if (r->scores[to] != NULL)
        r->scores[to][pos] = r->scores[from][pos];
      if (pos == r->focus)
        memcpy (r->focus_adv[to], r->focus_adv[from], floats * sizeof (float));
    }
}

static HgLiveResult *
compute_job (HgLiveAttack    *live,
             const HgLiveJob *job,
             const Control   *control,
             GError         **error)
{
  g_autoptr (HgLiveResult) r = NULL;
  PipeCache *pcs[HG_LIVE_MAX_PIPELINES];
  int        n = job->n_keys, k = job->n_classes;
  gint64     t0 = g_get_monotonic_time ();

  live->clock++;
  set_tile_size (live, job->width, job->height);
  if (!ensure_scratch (live, (gsize) MAX (n, 1), k))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%d tiles of %dx%d are too many at once"), n,
                   job->width, job->height);
      return NULL;
    }
  for (int p = 0; p < job->n_pipelines; p++)
    pcs[p] = pipe_cache_get (live, job->pipelines[p]);

  if (!ensure_tiles (live, job->keys, n, control, error))
    return NULL;
  for (int p = 0; p < job->n_pipelines; p++)
    {
      if (!ensure_clean (live, pcs[p], n, control, error))
        return NULL;
      calibrate (live, pcs[p], n);
    }

  r = hg_live_result_new (job);
  for (int i = 0; i < n; i++)
    r->truth[i] = live->tile_ptrs[i]->truth;
  for (int p = 0; p < job->n_pipelines; p++)
    for (int i = 0; i < n; i++)
      {
        Clean *c = g_hash_table_lookup (pcs[p]->clean, &job->keys[i]);
        hg_softmax (c->logits, 1, k, r->clean_probs[p] + (gsize) i * k);
        r->clean_labels[p][i] = hg_argmax (c->logits, k);
        if (r->clean_scores[p] != NULL)
          {
            r->clean_scores[p][i] = c->score;
            r->threshold[p] = pcs[p]->threshold;
          }
      }
  if (job->focus >= 0)
    memcpy (r->focus_clean, live->tile_ptrs[job->focus]->x, job->floats * sizeof (float));

  if (job->params.kind == HG_ATTACK_FGSM)
    {
      /* Gradient signs first, for each pipeline that crafts. Then one
       * batched forward pass per pipeline: this is the slider's step. */
      g_autofree Sign **signs = g_new0 (Sign *, (gsize) job->n_pipelines * MAX (n, 1));
      Sign            **source_signs[HG_LIVE_MAX_PIPELINES] = { NULL };

      for (int p = 0; p < job->n_pipelines; p++)
        if (job->source[p] == p)
          {
            if (!ensure_signs (live, pcs[p], job->params.goal, job->target, n, control, error))
              return NULL;
            source_signs[p] = signs + (gsize) p * MAX (n, 1);
            memcpy (source_signs[p], live->sign_ptrs, (gsize) n * sizeof (Sign *));
          }
      if (control_stop (control, error))
        return NULL;

      for (int p = 0; p < job->n_pipelines; p++)
        {
          int same = same_as_earlier (job, p);

          if (same >= 0)
            {
              copy_pipeline_results (r, same, p, NULL, n);
              continue;
            }
          if (!perturb_and_predict (live, pcs[p], live->tile_ptrs, source_signs[job->source[p]], NULL,
                                    job->params.eps, n, TRUE, error))
            return NULL;
          for (int i = 0; i < n; i++)
            store_eval (r, p, i, live->logits + (gsize) i * k, live->scores[i]);
          if (job->focus >= 0)
            memcpy (r->focus_adv[p], live->xa + (gsize) job->focus * job->floats,
                    job->floats * sizeof (float));
        }
    }
  else
    {
      /* Iterative: chunk by chunk, the focus tile alone first, partial
       * results after each chunk. */
      g_autofree int   *order = g_new (int, MAX (n, 1));
      g_autofree Tile **all_tiles = g_memdup2 (live->tile_ptrs, (gsize) MAX (n, 1) * sizeof (Tile *));
      int               n_order = 0;

      if (job->focus >= 0)
        order[n_order++] = job->focus;
      for (int i = 0; i < n; i++)
        if (i != job->focus)
          order[n_order++] = i;

      for (int off = 0; off < n;)
        {
          int m = (off == 0 && job->focus >= 0) ? 1 : MIN (ITERATIVE_CHUNK, n - off);

          if (control_stop (control, error))
            return NULL;
          for (int j = 0; j < m; j++)
            memcpy (live->grad + (gsize) j * job->floats, all_tiles[order[off + j]]->x,
                    job->floats * sizeof (float));

          for (int s = 0; s < job->n_pipelines; s++)
            {
              gboolean crafts = FALSE;

              for (int p = 0; p < job->n_pipelines; p++)
                crafts |= job->source[p] == s && same_as_earlier (job, p) < 0;
              if (!crafts)
                continue;
              for (int j = 0; j < m; j++)
                live->labels[j] = attack_label (pcs[s], all_tiles[order[off + j]]->key, k, job->target);
              /* The seed follows the tile, not its place in the request. */
              if (!run_iterative (live, job, pcs[s], job->params.eps, live->grad, m,
                                  job->params.seed ^ all_tiles[order[off]]->key,
                                  live->xs + (gsize) s * live->cap * job->floats, control, error))
                return NULL;
            }

          for (int p = 0; p < job->n_pipelines; p++)
            {
              int          same = same_as_earlier (job, p);
              const float *adv = live->xs + (gsize) job->source[p] * live->cap * job->floats;

              if (same >= 0)
                {
                  copy_pipeline_results (r, same, p, order + off, m);
                  continue;
                }
              if (!defend_and_predict (live, pcs[p], adv, m, TRUE, error))
                return NULL;
              for (int j = 0; j < m; j++)
                {
                  store_eval (r, p, order[off + j], live->logits + (gsize) j * k, live->scores[j]);
                  if (order[off + j] == job->focus)
                    memcpy (r->focus_adv[p], adv + (gsize) j * job->floats, job->floats * sizeof (float));
                }
            }

          off += m;
          if (off < n && control->partial != NULL)
            {
              HgLiveResult *snapshot = hg_live_result_snapshot (r);

              control->partial (snapshot, control->data);
              hg_live_result_unref (snapshot);
            }
        }
    }

  r->complete = TRUE;
  g_mutex_lock (&live->state_lock);
  live->stats.n_computed++;
  live->stats.last_seconds = (g_get_monotonic_time () - t0) * 1e-6;
  g_mutex_unlock (&live->state_lock);
  return g_steal_pointer (&r);
}

/* ---- robustness maps -------------------------------------------------------- */

/* Whether pipeline pc labels the tile differently from clean. */
static gboolean
flipped (PipeCache   *pc,
         const Tile  *t,
         const float *logits,
         int          k)
{
  Clean *c = g_hash_table_lookup (pc->clean, &t->key);

  return hg_argmax (logits, k) != hg_argmax (c->logits, k);
}

/* FGSM: scan whole units, then bisect the first unit that flips. */
static gboolean
map_chunk_fgsm (HgLiveAttack    *live,
                const HgLiveJob *job,
                PipeCache       *target,
                int              n,
                float           *found,
                const Control   *control,
                GError         **error)
{
  g_autofree int   *active = g_new (int, n);
  g_autofree float *lo = g_new0 (float, n);
  g_autofree Tile **tiles = g_new (Tile *, n);
  g_autofree Sign **signs = g_new (Sign *, n);
  Tile            **all_tiles = live->tile_ptrs;
  Sign            **all_signs = live->sign_ptrs;
  int               n_active = n, k = job->n_classes;

  for (int i = 0; i < n; i++)
    {
      active[i] = i;
      found[i] = INFINITY;
    }
  /* all_tiles and all_signs are overwritten by nothing below: the
   * perturbation reads the gathered copies. */
  for (int unit = 1; unit <= (int) HG_LIVE_MAX_EPS && n_active > 0; unit++)
    {
      int kept = 0;

      if (control_stop (control, error))
        return FALSE;
      for (int j = 0; j < n_active; j++)
        {
          tiles[j] = all_tiles[active[j]];
          signs[j] = all_signs[active[j]];
        }
      if (!perturb_and_predict (live, target, tiles, signs, NULL, unit, n_active, FALSE, error))
        return FALSE;
      for (int j = 0; j < n_active; j++)
        if (flipped (target, tiles[j], live->logits + (gsize) j * k, k))
          {
            found[active[j]] = unit;
            lo[active[j]] = unit - 1;
          }
        else
          active[kept++] = active[j];
      n_active = kept;
    }

  for (int b = 0; b < MAP_FGSM_BISECTIONS; b++)
    {
      int m = 0;

      if (control_stop (control, error))
        return FALSE;
      for (int i = 0; i < n; i++)
        if (isfinite (found[i]))
          {
            tiles[m] = all_tiles[i];
            signs[m] = all_signs[i];
            live->eps_buf[m] = (lo[i] + found[i]) / 2;
            active[m++] = i;
          }
      if (!perturb_and_predict (live, target, tiles, signs, live->eps_buf, 0, m, FALSE, error))
        return FALSE;
      for (int j = 0; j < m; j++)
        {
          float mid = live->eps_buf[j];

          if (flipped (target, tiles[j], live->logits + (gsize) j * k, k))
            found[active[j]] = mid;
          else
            lo[active[j]] = mid;
        }
    }
  return TRUE;
}

/* The iterative attack at eps on the tiles idx[0 … m-1] of the chunk:
 * which of them flip on target. */
static gboolean
map_attack (HgLiveAttack    *live,
            const HgLiveJob *job,
            PipeCache       *source,
            PipeCache       *target,
            Tile *const     *chunk_tiles,
            const int       *idx,
            int              m,
            double           eps,
            gboolean        *flips,
            const Control   *control,
            GError         **error)
{
  float *adv = live->xs;
  int    k = job->n_classes;

  for (int j = 0; j < m; j++)
    {
      const Tile *t = chunk_tiles[idx[j]];

      memcpy (live->grad + (gsize) j * job->floats, t->x, job->floats * sizeof (float));
      live->labels[j] = attack_label (source, t->key, k, job->target);
    }
  if (!run_iterative (live, job, source, eps, live->grad, m, job->params.seed ^ chunk_tiles[idx[0]]->key, adv,
                      control, error))
    return FALSE;
  if (!defend_and_predict (live, target, adv, m, FALSE, error))
    return FALSE;
  for (int j = 0; j < m; j++)
    flips[j] = flipped (target, chunk_tiles[idx[j]], live->logits + (gsize) j * k, k);
  return TRUE;
}

static int
compare_floats (gconstpointer a,
                gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return x < y ? -1 : x > y;
}

/* BIM/PGD: attack at the top of the range, then bisect the tiles that
 * flip there. At each level the tiles are grouped by the ε they need, one
 * attack per group. */
static gboolean
map_chunk_iterative (HgLiveAttack    *live,
                     const HgLiveJob *job,
                     PipeCache       *source,
                     PipeCache       *target,
                     int              n,
                     float           *found,
                     const Control   *control,
                     GError         **error)
{
  g_autofree Tile    **tiles = g_memdup2 (live->tile_ptrs, (gsize) n * sizeof (Tile *));
  g_autofree int      *idx = g_new (int, n);
  g_autofree gboolean *flips = g_new (gboolean, n);
  g_autofree float    *lo = g_new0 (float, n);
  g_autofree float    *mid = g_new (float, n);
  g_autofree float    *levels = g_new (float, n);

  for (int i = 0; i < n; i++)
    idx[i] = i;
  if (!map_attack (live, job, source, target, tiles, idx, n, HG_LIVE_MAX_EPS, flips, control, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    found[i] = flips[i] ? (float) HG_LIVE_MAX_EPS : INFINITY;

  for (int b = 0; b < MAP_ITERATIVE_BISECTIONS; b++)
    {
      int n_levels = 0;

      for (int i = 0; i < n; i++)
        if (isfinite (found[i]))
          {
            mid[i] = (lo[i] + found[i]) / 2;
            levels[n_levels++] = mid[i];
          }
      qsort (levels, n_levels, sizeof (float), compare_floats);

      for (int u = 0; u < n_levels; u++)
        {
          int m = 0;

          if (u > 0 && levels[u - 1] == levels[u])
            continue;
          for (int i = 0; i < n; i++)
            if (isfinite (found[i]) && mid[i] == levels[u])
              idx[m++] = i;
          if (control_stop (control, error))
            return FALSE;
          if (!map_attack (live, job, source, target, tiles, idx, m, levels[u], flips, control, error))
            return FALSE;
          /* found stays finite, so the tile keeps its mid for this level. */
          for (int j = 0; j < m; j++)
            if (flips[j])
              found[idx[j]] = levels[u];
            else
              lo[idx[j]] = levels[u];
        }
    }
  return TRUE;
}

/* Tiles [start, start + n) of job: prepares what they need and fills map. */
static gboolean
compute_map_chunk (HgLiveAttack    *live,
                   const HgLiveJob *job,
                   int              pipeline,
                   HgLiveMap       *map,
                   int              start,
                   int              n,
                   const Control   *control,
                   GError         **error)
{
  g_autofree float *found = g_new (float, MAX (n, 1));
  PipeCache        *target, *source;
  int               s = job->source[pipeline];

  live->clock++;
  set_tile_size (live, job->width, job->height);
  if (!ensure_scratch (live, (gsize) MAX (n, 1), job->n_classes))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%d tiles of %dx%d are too many at once"), n,
                   job->width, job->height);
      return FALSE;
    }
  target = pipe_cache_get (live, job->pipelines[pipeline]);
  source = pipe_cache_get (live, job->pipelines[s]);

  if (!ensure_tiles (live, job->keys + start, n, control, error))
    return FALSE;
  if (!ensure_clean (live, target, n, control, error) || !ensure_clean (live, source, n, control, error))
    return FALSE;

  if (job->params.kind == HG_ATTACK_FGSM)
    {
      if (!ensure_signs (live, source, job->params.goal, job->target, n, control, error))
        return FALSE;
      if (!map_chunk_fgsm (live, job, target, n, found, control, error))
        return FALSE;
    }
  else if (!map_chunk_iterative (live, job, source, target, n, found, control, error))
    return FALSE;

  for (int i = 0; i < n; i++)
    hg_live_map_set (map, start + i, found[i]);
  return TRUE;
}

static int
map_chunk_size (const HgLiveJob *job)
{
  return job->params.kind == HG_ATTACK_FGSM ? MAP_CHUNK_FGSM : MAP_CHUNK_ITERATIVE;
}

/* ---- the object ----------------------------------------------------------- */

static gpointer worker_main (gpointer data);

HgLiveAttack *
hg_live_attack_new (HgLiveReadFunc read,
                    gpointer       read_data,
                    GDestroyNotify read_data_free)
{
  HgLiveAttack *live = g_new0 (HgLiveAttack, 1);

  g_atomic_ref_count_init (&live->ref);
  live->read = read;
  live->read_data = read_data;
  live->read_data_free = read_data_free;
  g_mutex_init (&live->compute_lock);
  live->tiles = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  live->pipes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pipe_cache_free);
  live->max_tiles = DEFAULT_MAX_TILES;
  g_mutex_init (&live->state_lock);
  g_cond_init (&live->cond);
  live->cancellable = g_cancellable_new ();
  g_queue_init (&live->maps);
  live->context = g_main_context_ref_thread_default ();
  live->thread = g_thread_new ("hg-live", worker_main, live);
  return live;
}

HgLiveAttack *
hg_live_attack_ref (HgLiveAttack *live)
{
  g_return_val_if_fail (live != NULL, NULL);
  g_atomic_ref_count_inc (&live->ref);
  return live;
}

static void map_job_finish (MapJob *mj,
                            GError *error);

void
hg_live_attack_unref (HgLiveAttack *live)
{
  MapJob *mj;

  g_return_if_fail (live != NULL);
  if (!g_atomic_ref_count_dec (&live->ref))
    return;

  g_mutex_lock (&live->state_lock);
  live->quit = TRUE;
  g_cancellable_cancel (live->cancellable);
  for (GList *l = live->maps.head; l != NULL; l = l->next)
    g_cancellable_cancel (((MapJob *) l->data)->cancellable);
  g_cond_signal (&live->cond);
  g_mutex_unlock (&live->state_lock);
  g_thread_join (live->thread);

  while ((mj = g_queue_pop_head (&live->maps)) != NULL)
    map_job_finish (mj, g_error_new (HG_ERROR, HG_ERROR_CANCELLED,
                                     "the robustness map was cancelled: the live attack is gone"));
  g_clear_pointer (&live->pending, hg_live_job_free);
  g_clear_pointer (&live->outbox, hg_live_result_unref);
  g_clear_error (&live->outbox_error);
  if (live->func_destroy != NULL)
    live->func_destroy (live->func_data);
  if (live->read_data_free != NULL)
    live->read_data_free (live->read_data);
  g_hash_table_unref (live->pipes);
  g_hash_table_unref (live->tiles);
  g_free (live->xa);
  g_free (live->xd);
  g_free (live->grad);
  g_free (live->xs);
  g_free (live->logits);
  g_free (live->probs);
  g_free (live->scores);
  g_free (live->labels);
  g_free (live->tile_ptrs);
  g_free (live->sign_ptrs);
  g_free (live->eps_buf);
  g_object_unref (live->cancellable);
  g_main_context_unref (live->context);
  g_mutex_clear (&live->compute_lock);
  g_mutex_clear (&live->state_lock);
  g_cond_clear (&live->cond);
  g_free (live);
}

void
hg_live_attack_set_result_func (HgLiveAttack    *live,
                                HgLiveResultFunc func,
                                gpointer         user_data,
                                GDestroyNotify   destroy)
{
  GDestroyNotify old_destroy;
  gpointer       old_data;

  g_return_if_fail (live != NULL);

  g_mutex_lock (&live->state_lock);
  old_destroy = live->func_destroy;
  old_data = live->func_data;
  live->func = func;
  live->func_data = user_data;
  live->func_destroy = destroy;
  g_mutex_unlock (&live->state_lock);
  if (old_destroy != NULL)
    old_destroy (old_data);
}

void
hg_live_attack_clear (HgLiveAttack *live)
{
  g_return_if_fail (live != NULL);

  g_mutex_lock (&live->compute_lock);
  g_hash_table_remove_all (live->pipes);
  g_hash_table_remove_all (live->tiles);
  g_mutex_unlock (&live->compute_lock);
}

void
hg_live_attack_set_max_tiles (HgLiveAttack *live,
                              guint         max_tiles)
{
  g_return_if_fail (live != NULL);
  g_return_if_fail (max_tiles > 0);

  g_mutex_lock (&live->compute_lock);
  live->max_tiles = max_tiles;
  g_mutex_unlock (&live->compute_lock);
}

void
hg_live_attack_get_stats (HgLiveAttack *live,
                          HgLiveStats  *stats)
{
  g_return_if_fail (live != NULL && stats != NULL);

  g_mutex_lock (&live->state_lock);
  *stats = live->stats;
  g_mutex_unlock (&live->state_lock);
}

HgLiveResult *
hg_live_attack_compute (HgLiveAttack        *live,
                        const HgLiveRequest *request,
                        GCancellable        *cancellable,
                        GError             **error)
{
  g_autoptr (HgLiveJob) job = NULL;
  Control       control = { cancellable, NULL, NULL, NULL };
  HgLiveResult *result;

  g_return_val_if_fail (live != NULL && request != NULL, NULL);

  job = hg_live_job_new (request, error);
  if (job == NULL)
    return NULL;
  g_mutex_lock (&live->compute_lock);
  result = compute_job (live, job, &control, error);
  g_mutex_unlock (&live->compute_lock);
  return result;
}

/* ---- the worker and its requests -------------------------------------------- */

static gboolean
deliver_idle (gpointer data)
{
  HgLiveAttack *live = data;
  g_autoptr (HgLiveResult) result = NULL;
  g_autoptr (GError) error = NULL;
  HgLiveResultFunc func;
  gpointer         func_data;

  g_mutex_lock (&live->state_lock);
  result = g_steal_pointer (&live->outbox);
  error = g_steal_pointer (&live->outbox_error);
  live->delivery_pending = FALSE;
  func = live->func;
  func_data = live->func_data;
  g_mutex_unlock (&live->state_lock);

  if (func != NULL && (result != NULL || error != NULL))
    func (live, result, error, func_data);
  hg_live_attack_unref (live);
  return G_SOURCE_REMOVE;
}

/* A reference for a delivery idle, unless the last one is gone: the
 * attack is then being freed (the worker is about to be joined) and
 * nothing is delivered any more. */
static gboolean
try_ref (HgLiveAttack *live)
{
  int old;

  do
    {
      old = g_atomic_int_get ((gint *) &live->ref);
      if (old <= 0)
        return FALSE;
    }
  while (!g_atomic_int_compare_and_exchange ((gint *) &live->ref, old, old + 1));
  return TRUE;
}

/* Replaces what waits for delivery and makes sure it will be delivered.
 * Takes result and error. The worker never holds a reference of its own
 * (dropping the last one would join it from itself): an idle holds one,
 * and drops it in the main context. */
static void
deliver (HgLiveAttack *live,
         HgLiveResult *result,
         GError       *error)
{
  g_mutex_lock (&live->state_lock);
  g_clear_pointer (&live->outbox, hg_live_result_unref);
  g_clear_error (&live->outbox_error);
  live->outbox = result;
  live->outbox_error = error;
  if (!live->delivery_pending)
    {
      g_autoptr (GSource) source = NULL;

      if (!try_ref (live))
        {
          g_clear_pointer (&live->outbox, hg_live_result_unref);
          g_clear_error (&live->outbox_error);
          g_mutex_unlock (&live->state_lock);
          return;
        }
      source = g_idle_source_new ();
      live->delivery_pending = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_name (source, "[histoguard] live attack result");
      g_source_set_callback (source, deliver_idle, live, NULL);
      g_source_attach (source, live->context);
    }
  g_mutex_unlock (&live->state_lock);
}

static gboolean
live_superseded (gpointer data)
{
  HgLiveAttack *live = data;
  gboolean      newer;

  g_mutex_lock (&live->state_lock);
  newer = live->pending != NULL || live->quit;
  g_mutex_unlock (&live->state_lock);
  return newer;
}

static void
live_partial (HgLiveResult *result,
              gpointer      data)
{
  deliver (data, hg_live_result_ref (result), NULL);
}

static void
run_live_job (HgLiveAttack *live,
              HgLiveJob    *job)
{
  g_autoptr (GError) error = NULL;
  Control       control = { live->cancellable, live_superseded, live_partial, live };
  HgLiveResult *result;

  g_mutex_lock (&live->compute_lock);
  result = compute_job (live, job, &control, &error);
  g_mutex_unlock (&live->compute_lock);

  if (result != NULL)
    deliver (live, result, NULL);
  else if (g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED))
    {
      g_mutex_lock (&live->state_lock);
      live->stats.n_superseded++;
      g_mutex_unlock (&live->state_lock);
    }
  else
    deliver (live, NULL, g_steal_pointer (&error));
}

guint64
hg_live_attack_request (HgLiveAttack        *live,
                        const HgLiveRequest *request)
{
  g_autoptr (GError) error = NULL;
  HgLiveJob *job;
  guint64    serial;

  g_return_val_if_fail (live != NULL && request != NULL, 0);

  job = hg_live_job_new (request, &error);

  g_mutex_lock (&live->state_lock);
  serial = ++live->serial;
  live->stats.n_requests++;
  if (live->pending != NULL)
    {
      live->stats.n_superseded++;
      g_clear_pointer (&live->pending, hg_live_job_free);
    }
  if (job != NULL)
    {
      job->serial = serial;
      live->pending = job;
      g_cond_signal (&live->cond);
    }
  g_mutex_unlock (&live->state_lock);

  if (job == NULL)
    deliver (live, NULL, g_steal_pointer (&error));
  return serial;
}

void
hg_live_attack_cancel (HgLiveAttack *live)
{
  g_return_if_fail (live != NULL);

  g_mutex_lock (&live->state_lock);
  if (live->pending != NULL)
    {
      live->stats.n_superseded++;
      g_clear_pointer (&live->pending, hg_live_job_free);
    }
  if (live->running_live)
    g_cancellable_cancel (live->cancellable);
  g_mutex_unlock (&live->state_lock);
}

/* ---- maps ------------------------------------------------------------------- */

HgLiveMap *
hg_live_attack_compute_map (HgLiveAttack         *live,
                            const HgLiveRequest  *request,
                            int                   pipeline,
                            HgLiveMapProgressFunc progress,
                            gpointer              progress_data,
                            GCancellable         *cancellable,
                            GError              **error)
{
  g_autoptr (HgLiveJob) job = NULL;
  g_autoptr (HgLiveMap) map = NULL;
  Control control = { cancellable, NULL, NULL, NULL };

  g_return_val_if_fail (live != NULL && request != NULL, NULL);

  job = hg_live_job_new (request, error);
  if (job == NULL)
    return NULL;
  if (pipeline < 0 || pipeline >= job->n_pipelines)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "the robustness map's pipeline %d is not one of the request's %d", pipeline,
                   job->n_pipelines);
      return NULL;
    }

  map = hg_live_map_new (job, pipeline);
  for (int start = 0; start < job->n_keys; start += map_chunk_size (job))
    {
      int      m = MIN (map_chunk_size (job), job->n_keys - start);
      gboolean ok;

      g_mutex_lock (&live->compute_lock);
      ok = compute_map_chunk (live, job, pipeline, map, start, m, &control, error);
      g_mutex_unlock (&live->compute_lock);
      if (!ok)
        return NULL;
      if (progress != NULL)
        progress (map, start + m, job->n_keys, progress_data);
    }
  return g_steal_pointer (&map);
}

static void
cancel_other (GCancellable *cancellable,
              gpointer      other)
{
  g_cancellable_cancel (other);
}

static void
map_job_free (MapJob *mj)
{
  if (mj->caller_cancellable != NULL)
    {
      g_cancellable_disconnect (mj->caller_cancellable, mj->cancelled_id);
      g_object_unref (mj->caller_cancellable);
    }
  hg_live_job_free (mj->job);
  hg_live_map_unref (mj->map);
  g_clear_object (&mj->cancellable);
  g_clear_error (&mj->error);
  if (mj->progress_data_free != NULL)
    mj->progress_data_free (mj->progress_data);
  g_main_context_unref (mj->context);
  g_free (mj);
}

/* Hands the map (or the error) back to the caller. The job is the task's
 * data: it lives as long as the task, which progress idles hold too. */
static void
map_job_finish (MapJob *mj,
                GError *error)
{
  GTask *task = mj->task;

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, hg_live_map_ref (mj->map), (GDestroyNotify) hg_live_map_unref);
  g_object_unref (task);
}

static gboolean
map_progress_idle (gpointer data)
{
  MapJob *mj = g_task_get_task_data (data);

  g_atomic_int_set (&mj->progress_pending, 0);
  if (mj->progress != NULL && !g_cancellable_is_cancelled (mj->cancellable))
    mj->progress (mj->map, hg_live_map_get_n_done (mj->map), mj->map->n_tiles, mj->progress_data);
  return G_SOURCE_REMOVE;
}

static void
map_job_report (MapJob *mj)
{
  g_autoptr (GSource) source = NULL;

  if (mj->progress == NULL || !g_atomic_int_compare_and_exchange (&mj->progress_pending, 0, 1))
    return;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_name (source, "[histoguard] robustness map progress");
  g_source_set_callback (source, map_progress_idle, g_object_ref (mj->task), g_object_unref);
  g_source_attach (source, mj->context);
}

/* Computes the next chunk of a map job; TRUE when the job is over
 * (finished, failed or cancelled: mj->error says which). */
static gboolean
map_job_step (HgLiveAttack *live,
              MapJob       *mj)
{
  Control  control = { mj->cancellable, NULL, NULL, NULL };
  int      n = mj->job->n_keys;
  int      m = MIN (map_chunk_size (mj->job), n - mj->next);
  gboolean ok;

  if (m <= 0)
    return TRUE;
  g_mutex_lock (&live->compute_lock);
  ok = compute_map_chunk (live, mj->job, mj->pipeline, mj->map, mj->next, m, &control, &mj->error);
  g_mutex_unlock (&live->compute_lock);
  if (!ok)
    return TRUE;
  mj->next += m;
  map_job_report (mj);
  return mj->next >= n;
}

HgLiveMap *
hg_live_attack_compute_map_async (HgLiveAttack         *live,
                                  const HgLiveRequest  *request,
                                  int                   pipeline,
                                  HgLiveMapProgressFunc progress,
                                  gpointer              progress_data,
                                  GDestroyNotify        progress_data_free,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgLiveJob) job = NULL;
  MapJob *mj;

  g_return_val_if_fail (live != NULL && request != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_live_attack_compute_map_async);
  g_task_set_name (task, "[histoguard] robustness map");
  /* Cancellation is reported in our domain, like every other failure. */
  g_task_set_check_cancellable (task, FALSE);

  job = hg_live_job_new (request, &error);
  if (job != NULL && (pipeline < 0 || pipeline >= job->n_pipelines))
    g_set_error (&error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                 "the robustness map's pipeline %d is not one of the request's %d", pipeline,
                 job->n_pipelines);
  if (error != NULL)
    {
      if (progress_data_free != NULL)
        progress_data_free (progress_data);
      g_task_return_error (task, g_steal_pointer (&error));
      return NULL;
    }

  mj = g_new0 (MapJob, 1);
  mj->map = hg_live_map_new (job, pipeline);
  mj->job = g_steal_pointer (&job);
  mj->pipeline = pipeline;
  /* A cancellable of our own, so that dropping the attack can stop the
   * job even when the caller gave none. */
  mj->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      mj->caller_cancellable = g_object_ref (cancellable);
      mj->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancel_other),
                                                g_object_ref (mj->cancellable), g_object_unref);
    }
  mj->progress = progress;
  mj->progress_data = progress_data;
  mj->progress_data_free = progress_data_free;
  mj->context = g_main_context_ref_thread_default ();
  mj->task = g_object_ref (task);
  g_task_set_task_data (task, mj, (GDestroyNotify) map_job_free);

  g_mutex_lock (&live->state_lock);
  g_queue_push_tail (&live->maps, mj);
  g_cond_signal (&live->cond);
  g_mutex_unlock (&live->state_lock);
  return hg_live_map_ref (mj->map);
}

HgLiveMap *
hg_live_attack_compute_map_finish (HgLiveAttack *live,
                                   GAsyncResult *result,
                                   GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hg_live_attack_compute_map_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gpointer
worker_main (gpointer data)
{
  HgLiveAttack *live = data;

  g_mutex_lock (&live->state_lock);
  for (;;)
    {
      while (!live->quit && live->pending == NULL && g_queue_is_empty (&live->maps))
        g_cond_wait (&live->cond, &live->state_lock);
      if (live->quit)
        break;

      if (live->pending != NULL)
        {
          HgLiveJob *job = g_steal_pointer (&live->pending);

          g_cancellable_reset (live->cancellable);
          live->running_live = TRUE;
          g_mutex_unlock (&live->state_lock);
          run_live_job (live, job);
          hg_live_job_free (job);
          g_mutex_lock (&live->state_lock);
          live->running_live = FALSE;
        }
      else
        {
          MapJob  *mj = g_queue_peek_head (&live->maps);
          gboolean over;

          g_mutex_unlock (&live->state_lock);
          over = map_job_step (live, mj);
          g_mutex_lock (&live->state_lock);
          if (over)
            {
              g_queue_remove (&live->maps, mj);
              g_mutex_unlock (&live->state_lock);
              if (mj->error != NULL && g_error_matches (mj->error, HG_ERROR, HG_ERROR_CANCELLED))
                {
                  g_clear_error (&mj->error);
                  mj->error = g_error_new (HG_ERROR, HG_ERROR_CANCELLED, "the robustness map was cancelled");
                }
              map_job_finish (mj, g_steal_pointer (&mj->error));
              g_mutex_lock (&live->state_lock);
            }
        }
    }
  g_mutex_unlock (&live->state_lock);
  return NULL;
}
