/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How the engine shares the CPU.
 *
 * The engine splits every layer into tasks (bands of output rows) and runs
 * them on its own pool of worker threads; inside a task it calls
 * cblas_sgemm on a cache-sized block. By default OpenBLAS is told to use
 * ONE thread, and the pool has as many workers as there are cores
 * (the calling thread counts as one of them), so the engine never runs
 * more compute threads than cores: measured on 2 cores, this beats one
 * multi-threaded sgemm per layer because im2col, BN, ReLU and pooling
 * are parallel too and blocks stay in L2 (see README, "Benchmarks").
 *
 * A caller that finds the pool busy (another thread is running a model)
 * runs its tasks alone on its own thread instead of queueing, so N
 * threads running models use at most N + n_workers - 1 threads.
 *
 * The environment variable HISTOGUARD_THREADS="WORKERS[,BLAS]" sets both
 * at start-up (e.g. "1,2" = no pool, OpenBLAS with 2 threads).
 * hg_threads_set() overrides it; call it before running a model, not
 * while one runs. n_workers 0 means "number of cores"; blas_threads 0
 * means 1 when n_workers > 1 and the number of cores otherwise. */
void hg_threads_set (int n_workers,
                     int blas_threads);
int  hg_threads_get_n_workers (void);
int  hg_threads_get_blas_threads (void);

G_END_DECLS
