/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What HgSlide's sources (OpenSlide, GdkPixbuf images, IDC patch folders)
 * see of it. A source builds the slide single-threaded while opening; once
 * hg_slide_open() returns, everything here is read-only. */
#pragma once

#include "histoguard/hg-slide.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;
  /* dest holds width × height pixels, rows of width * 4 bytes, zeroed. */
  gboolean (*read_region) (gpointer data,
                           int      level,
                           gint64   x,
                           gint64   y,
                           int      width,
                           int      height,
                           guint32 *dest,
                           GError **error);
  HgImage *(*read_associated) (gpointer    data,
                               const char *name,
                               GError    **error);
  guint (*get_reopen_count) (gpointer data);
  void (*free) (gpointer data);
} HgSlideBackend;

HgSlide *_hg_slide_new (const char   *path,
                        HgSlideSource source,
                        const char   *vendor);
void     _hg_slide_set_backend (HgSlide              *self,
                                const HgSlideBackend *backend,
                                gpointer              data);
void     _hg_slide_add_level (HgSlide *self,
                              gint64   width,
                              gint64   height,
                              double   downsample);
void     _hg_slide_set_property (HgSlide    *self,
                                 const char *name,
                                 const char *value);
void     _hg_slide_add_associated (HgSlide    *self,
                                   const char *name,
                                   gint64      width,
                                   gint64      height);
void     _hg_slide_set_mpp (HgSlide *self,
                            double   mpp_x,
                            double   mpp_y);
void     _hg_slide_set_objective_power (HgSlide *self,
                                        double   power);
/* Takes both arrays: patches of HgSlidePatch, files of char *. */
void _hg_slide_set_patches (HgSlide   *self,
                            GArray    *patches,
                            GPtrArray *files);
/* Makes the slide read its pixels from an in-memory pyramid built down
 * from level0 (which it takes). */
gboolean _hg_slide_set_memory_pyramid (HgSlide      *self,
                                       HgImage      *level0,
                                       GCancellable *cancellable,
                                       GError      **error);

/* Each returns NULL with HG_ERROR_UNSUPPORTED when the file is not theirs. */
HgSlide *_hg_slide_openslide_open (const char *path,
                                   GError    **error);
HgSlide *_hg_slide_image_open (const char   *path,
                               GCancellable *cancellable,
                               GError      **error);
HgSlide *_hg_slide_patches_open (const char   *path,
                                 GCancellable *cancellable,
                                 GError      **error);

G_END_DECLS
