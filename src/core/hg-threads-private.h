/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "histoguard/hg-threads.h"

G_BEGIN_DECLS

/* The most workers a context keeps scratch for. */
#define HG_MAX_WORKERS 64

/* Runs fn (data, task, worker) for task = 0 … n_tasks - 1, spread over the
 * pool; worker is in [0, hg_threads_get_n_workers ()) and tells the task
 * which per-worker scratch it owns. Returns when every task is done. */
typedef void (*HgParallelFunc) (gpointer data,
                                int      task,
                                int      worker);

void hg_parallel_for (int            n_tasks,
                      HgParallelFunc fn,
                      gpointer       data);

G_END_DECLS
