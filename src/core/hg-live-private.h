/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "histoguard/hg-live.h"

G_BEGIN_DECLS

struct _HgLivePipeline
{
  gatomicrefcount ref;
  HgModel        *model;
  HgDefense      *defense;   /* NULL for none */
  HgDetector     *detector;  /* NULL for none */
  double          threshold; /* NaN: calibrate */
  char           *id;        /* equal ids: the same function */
};

/* A request, copied and checked: what the computing thread works from. */
typedef struct
{
  HgLiveParams    params;
  guint64         serial;
  guint64        *keys;
  int             n_keys;
  HgLivePipeline *pipelines[HG_LIVE_MAX_PIPELINES];
  HgLiveCraft     craft[HG_LIVE_MAX_PIPELINES];  /* pipeline 0: always adaptive */
  int             source[HG_LIVE_MAX_PIPELINES]; /* the pipeline that crafts its input */
  int             n_pipelines;
  int             focus;
  int             width, height, n_classes;
  gsize           floats; /* per tile */
  int             target; /* -1: untargeted */
} HgLiveJob;

HgLiveJob *hg_live_job_new (const HgLiveRequest *request,
                            GError             **error);
void       hg_live_job_free (HgLiveJob *job);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgLiveJob, hg_live_job_free)

struct _HgLiveResult
{
  gatomicrefcount ref;
  HgLiveParams    params;
  guint64         serial;
  gboolean        complete;
  int             n_tiles, n_pipelines, n_classes;
  guint64        *keys;
  int            *truth;
  HgLivePipeline *pipelines[HG_LIVE_MAX_PIPELINES];
  HgLiveCraft     craft[HG_LIVE_MAX_PIPELINES];
  float          *probs[HG_LIVE_MAX_PIPELINES];
  float          *clean_probs[HG_LIVE_MAX_PIPELINES];
  int            *labels[HG_LIVE_MAX_PIPELINES];
  int            *clean_labels[HG_LIVE_MAX_PIPELINES];
  guint8         *flags[HG_LIVE_MAX_PIPELINES];
  float          *scores[HG_LIVE_MAX_PIPELINES];       /* NULL without a detector */
  float          *clean_scores[HG_LIVE_MAX_PIPELINES]; /* NULL without a detector */
  double          threshold[HG_LIVE_MAX_PIPELINES];
  /* The focus tile (index focus, or -1): clean, and each pipeline's
   * input before its defence. */
  int    focus;
  int    width, height;
  float *focus_clean;
  float *focus_adv[HG_LIVE_MAX_PIPELINES];
};

/* Empty: probabilities NaN, labels -1, no flags. */
HgLiveResult *hg_live_result_new (const HgLiveJob *job);
/* A deep copy, to hand out while the original is still being filled. */
HgLiveResult *hg_live_result_snapshot (const HgLiveResult *result);

struct _HgLiveMap
{
  gatomicrefcount ref;
  HgLiveParams    params;
  int             pipeline;
  int             n_tiles;
  guint64        *keys;
  GMutex          lock; /* eps and n_done: written by the computing thread */
  float          *eps;  /* NaN until done */
  int             n_done;
};

HgLiveMap *hg_live_map_new (const HgLiveJob *job,
                            int              pipeline);
void       hg_live_map_set (HgLiveMap *map,
                            int        index,
                            float      eps);

G_END_DECLS
