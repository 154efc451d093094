/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <cblas.h>
#include <stdlib.h>

#include "hg-threads-private.h"

/* A fork-join pool for short, frequent parallel loops: one per layer, so
 * a 50x50 tile makes dozens of them per forward pass. The caller works
 * too and waits only for tasks that were started, never for a helper to
 * wake up: a sleeping helper that wakes late finds no work left. Helpers
 * spin for a moment before sleeping, because consecutive layers follow
 * each other within microseconds. */

#define SPIN_ITERATIONS 4000

typedef struct
{
  GMutex         busy; /* held by the thread whose job is running */
  GMutex         lock; /* guards the job description below */
  GCond          start_cond;
  int            n_helpers;
  GThread      **helpers;
  gboolean       quit;
  guint          generation; /* bumped for every job; read atomically */
  HgParallelFunc fn;
  gpointer       data;
  int            n_tasks;
  int            next_task; /* atomic */
  int            done;      /* tasks finished; atomic */
  int            active;    /* helpers inside the current job; atomic */
} Pool;

typedef struct
{
  Pool *pool;
  int   worker;
} Helper;

static GMutex settings_lock;
static gsize  settings_ready;
static int    n_workers = 1;
static int    blas_threads = 1;
static Pool  *pool;

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Spins briefly, then yields: on a loaded machine the thread we wait for
 * may need our core to finish. */
static inline void
wait_a_little (int *spins)
{
  if (++*spins < SPIN_ITERATIONS)
    cpu_relax ();
  else
    g_thread_yield ();
}

static void
run_tasks (Pool          *p,
           HgParallelFunc fn,
           gpointer       data,
           int            n_tasks,
           int            worker)
{
  for (;;)
    {
      int task = g_atomic_int_add (&p->next_task, 1);

      if (task >= n_tasks)
        break;
      fn (data, task, worker);
      g_atomic_int_inc (&p->done);
    }
}

static gpointer
helper_main (gpointer user_data)
{
  Helper *h = user_data;
  Pool   *p = h->pool;
  guint   seen = 0;

  for (;;)
    {
      HgParallelFunc fn;
      gpointer       data;
      int            n_tasks;

      for (int i = 0; (guint) g_atomic_int_get (&p->generation) == seen && i < SPIN_ITERATIONS; i++)
        cpu_relax ();

      g_mutex_lock (&p->lock);
      while (!p->quit && (guint) g_atomic_int_get (&p->generation) == seen)
        g_cond_wait (&p->start_cond, &p->lock);
      if (p->quit)
        {
          g_mutex_unlock (&p->lock);
          break;
        }
      /* Enter the job under the lock: the next job cannot be set up
       * until every helper that entered this one has left. */
      seen = (guint) g_atomic_int_get (&p->generation);
      g_atomic_int_inc (&p->active);
      fn = p->fn;
      data = p->data;
      n_tasks = p->n_tasks;
      g_mutex_unlock (&p->lock);

      run_tasks (p, fn, data, n_tasks, h->worker);
      g_atomic_int_dec_and_test (&p->active);
    }

  g_free (h);
  return NULL;
}

static Pool *
pool_new (int workers)
{
  Pool *p = g_new0 (Pool, 1);

  g_mutex_init (&p->busy);
  g_mutex_init (&p->lock);
  g_cond_init (&p->start_cond);
  p->n_helpers = workers - 1;
  p->helpers = g_new0 (GThread *, MAX (p->n_helpers, 1));
  for (int i = 0; i < p->n_helpers; i++)
    {
      Helper *h = g_new0 (Helper, 1);

      h->pool = p;
      h->worker = i + 1;
      p->helpers[i] = g_thread_new ("hg-worker", helper_main, h);
    }

  return p;
}

static void
pool_free (Pool *p)
{
  if (p == NULL)
    return;

  g_mutex_lock (&p->lock);
  p->quit = TRUE;
  g_atomic_int_inc (&p->generation);
  g_cond_broadcast (&p->start_cond);
  g_mutex_unlock (&p->lock);

  for (int i = 0; i < p->n_helpers; i++)
    g_thread_join (p->helpers[i]);

  g_free (p->helpers);
  g_mutex_clear (&p->busy);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->start_cond);
  g_free (p);
}

static void
apply_settings_locked (int workers,
                       int blas)
{
  int cores = MAX (1, (int) g_get_num_processors ());

  if (workers <= 0)
    workers = cores;
  workers = CLAMP (workers, 1, HG_MAX_WORKERS);
  if (blas <= 0)
    blas = workers > 1 ? 1 : cores;
  blas = CLAMP (blas, 1, HG_MAX_WORKERS);

  if (pool == NULL || workers != n_workers)
    {
      pool_free (pool);
      pool = workers > 1 ? pool_new (workers) : NULL;
    }

  n_workers = workers;
  blas_threads = blas;
  openblas_set_num_threads (blas);
}

static void
ensure_settings (void)
{
  if (g_once_init_enter (&settings_ready))
    {
      const char *env = g_getenv ("HISTOGUARD_THREADS");
      int         workers = 0, blas = 0;

      if (env != NULL && *env != '\0')
        {
          char *end = NULL;

          workers = (int) strtol (env, &end, 10);
          if (end != NULL && *end == ',')
            blas = (int) strtol (end + 1, NULL, 10);
        }

      g_mutex_lock (&settings_lock);
      apply_settings_locked (workers, blas);
      g_mutex_unlock (&settings_lock);
      g_once_init_leave (&settings_ready, 1);
    }
}

void
hg_threads_set (int workers,
                int blas)
{
  ensure_settings ();
  g_mutex_lock (&settings_lock);
  apply_settings_locked (workers, blas);
  g_mutex_unlock (&settings_lock);
}

int
hg_threads_get_n_workers (void)
{
  ensure_settings ();
  return n_workers;
}

int
hg_threads_get_blas_threads (void)
{
  ensure_settings ();
  return blas_threads;
}

void
hg_parallel_for (int            n_tasks,
                 HgParallelFunc fn,
                 gpointer       data)
{
  Pool *p;
  int   spins;

  ensure_settings ();
  p = pool;

  if (n_tasks <= 0)
    return;

  /* One task, no pool, or the pool is running someone else's job: do it
   * here rather than wait or add threads. */
  if (n_tasks == 1 || p == NULL || !g_mutex_trylock (&p->busy))
    {
      for (int i = 0; i < n_tasks; i++)
        fn (data, i, 0);
      return;
    }

  g_mutex_lock (&p->lock);
  spins = 0;
  while (g_atomic_int_get (&p->active) > 0) /* late helpers of the last job */
    wait_a_little (&spins);
  p->fn = fn;
  p->data = data;
  p->n_tasks = n_tasks;
  g_atomic_int_set (&p->next_task, 0);
  g_atomic_int_set (&p->done, 0);
  g_atomic_int_inc (&p->generation);
  g_cond_broadcast (&p->start_cond);
  g_mutex_unlock (&p->lock);

  run_tasks (p, fn, data, n_tasks, 0);

  /* Only tasks a helper already started can be outstanding. */
  spins = 0;
  while (g_atomic_int_get (&p->done) < n_tasks)
    wait_a_little (&spins);

  g_mutex_unlock (&p->busy);
}
