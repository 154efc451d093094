/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-image.h"

G_BEGIN_DECLS

/* One interface over three sources of whole-slide pixels:
 *
 *  - OpenSlide: SVS, NDPI, MRXS, SCN, VMS, BIF, tiled pyramidal TIFF;
 *  - plain images read through GdkPixbuf (PNG, JPEG, striped TIFF), kept in
 *    memory with a pyramid built on open;
 *  - folders of IDC patches (<patient>_idx5_x<X>_y<Y>_class<C>.png, names
 *    read by hg_idc_name_parse()), placed at the coordinates in their
 *    names; missing patches are background (transparent) and the classes
 *    are the slide's ground truth.
 *
 * Coordinates: x and y are always level-0 pixels; width and height are
 * pixels of the level read. Pixels are premultiplied ARGB32 (HgImage);
 * areas without tissue data are transparent, which hg-pixels composites
 * over white.
 *
 * Thread safety: an open HgSlide is immutable, and every read function may
 * be called from any thread at the same time. An OpenSlide handle that
 * reports an error is dead; the slide closes it and opens the file again
 * on the next read, and gives up (HG_ERROR_IO, "can no longer be read")
 * after HG_SLIDE_MAX_REOPENS reopenings in a row that did not help. */

#define HG_TYPE_SLIDE (hg_slide_get_type ())

G_DECLARE_FINAL_TYPE (HgSlide, hg_slide, HG, SLIDE, GObject)

typedef enum
{
  HG_SLIDE_SOURCE_OPENSLIDE,
  HG_SLIDE_SOURCE_IMAGE,
  HG_SLIDE_SOURCE_PATCHES,
} HgSlideSource;

/* The tile grid of hg_slide_read_tile(), in pixels of each level. */
#define HG_SLIDE_TILE_SIZE 256

/* Reads of more pixels than this at once are refused (256 MiB of ARGB32). */
#define HG_SLIDE_MAX_REGION_PIXELS (G_GINT64_CONSTANT (1) << 26)

/* Plain images and rebuilt patch folders live in memory: at most this many
 * level-0 pixels (512 MiB of ARGB32). Bigger slides belong in a tiled
 * pyramidal format that OpenSlide reads. */
#define HG_SLIDE_MAX_MEMORY_PIXELS (G_GINT64_CONSTANT (1) << 27)

#define HG_SLIDE_MAX_REOPENS 3

/* IDC patches are 40x scans downsampled 16:1 (Janowczyk & Madabhushi 2016):
 * a nominal 0.25 µm × 16 per pixel and a 2.5× apparent magnification. */
#define HG_SLIDE_IDC_MPP 4.0
#define HG_SLIDE_IDC_OBJECTIVE_POWER 2.5

/* Ground-truth labels of IDC patches. */
typedef enum
{
  HG_SLIDE_LABEL_NONE = -1, /* background: no patch there */
  HG_SLIDE_LABEL_BENIGN = 0,
  HG_SLIDE_LABEL_IDC = 1,
} HgSlideLabel;

typedef struct
{
  gint64       x; /* level-0 top-left corner, as in the file name */
  gint64       y;
  int          width; /* usually 50; smaller at the slide's edge */
  int          height;
  HgSlideLabel label;
} HgSlidePatch;

HgSlide *hg_slide_open (const char   *path,
                        GCancellable *cancellable,
                        GError      **error);
void     hg_slide_open_async (const char         *path,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data);
HgSlide *hg_slide_open_finish (GAsyncResult *result,
                               GError      **error);

/* Identity for caches: unique in the process, never reused. */
guint64     hg_slide_get_id (HgSlide *self);
const char *hg_slide_get_path (HgSlide *self);
/* The file or folder name, for titles. */
const char   *hg_slide_get_name (HgSlide *self);
HgSlideSource hg_slide_get_source (HgSlide *self);
/* OpenSlide's vendor ("aperio", "generic-tiff", …), the image format
 * ("png", "jpeg", …) or "idc-patches". */
const char *hg_slide_get_vendor (HgSlide *self);

int    hg_slide_get_level_count (HgSlide *self);
void   hg_slide_get_level_size (HgSlide *self,
                                int      level,
                                gint64  *width,
                                gint64  *height);
double hg_slide_get_level_downsample (HgSlide *self,
                                      int      level);
/* The coarsest level whose downsample does not exceed downsample. */
int  hg_slide_get_best_level (HgSlide *self,
                              double   downsample);
void hg_slide_get_tile_grid (HgSlide *self,
                             int      level,
                             gint64  *columns,
                             gint64  *rows);
/* Microns per level-0 pixel; FALSE when the slide does not say. */
gboolean hg_slide_get_mpp (HgSlide *self,
                           double  *mpp_x,
                           double  *mpp_y);
/* The scanner's objective magnification, or 0 when unknown. */
double hg_slide_get_objective_power (HgSlide *self);

/* Every property as text, sorted by name: OpenSlide's own ("openslide.*",
 * "aperio.*", …) or Histoguard's ("histoguard.*", "idc.*"). */
const char *const *hg_slide_get_property_names (HgSlide *self);
const char        *hg_slide_get_property (HgSlide    *self,
                                          const char *name);

/* "label", "macro", "thumbnail"…: small pictures stored beside the slide. */
const char *const *hg_slide_get_associated_names (HgSlide *self);
gboolean           hg_slide_get_associated_size (HgSlide    *self,
                                                 const char *name,
                                                 gint64     *width,
                                                 gint64     *height);
HgImage           *hg_slide_read_associated (HgSlide    *self,
                                             const char *name,
                                             GError    **error);

/* Reads width × height pixels of level, from level-0 point (x, y). Outside
 * the slide is transparent. dest has rows of stride bytes. */
gboolean hg_slide_read_region (HgSlide *self,
                               int      level,
                               gint64   x,
                               gint64   y,
                               int      width,
                               int      height,
                               guint8  *dest,
                               gsize    stride,
                               GError **error);
HgImage *hg_slide_read_region_image (HgSlide *self,
                                     int      level,
                                     gint64   x,
                                     gint64   y,
                                     int      width,
                                     int      height,
                                     GError **error);
/* The same region as the network wants it: straight RGB floats in [0,1],
 * planar (3 × height × width), transparent composited over white. */
gboolean hg_slide_read_region_chw (HgSlide *self,
                                   int      level,
                                   gint64   x,
                                   gint64   y,
                                   int      width,
                                   int      height,
                                   float   *out,
                                   GError **error);
/* Tile (column, row) of the HG_SLIDE_TILE_SIZE grid of level; tiles on the
 * right and bottom edges are smaller. */
HgImage *hg_slide_read_tile (HgSlide *self,
                             int      level,
                             gint64   column,
                             gint64   row,
                             GError **error);
/* The whole slide in at most max_size × max_size pixels, aspect kept:
 * from the coarsest level small enough to read, else the associated
 * thumbnail; HG_ERROR_UNSUPPORTED when neither exists. */
HgImage *hg_slide_read_thumbnail (HgSlide *self,
                                  int      max_size,
                                  GError **error);

/* How often the OpenSlide handle was reopened after an error. */
guint hg_slide_get_reopen_count (HgSlide *self);

/* IDC patch folders: the patches, in file-name order, and their files. */
gboolean            hg_slide_has_ground_truth (HgSlide *self);
const HgSlidePatch *hg_slide_get_patches (HgSlide *self,
                                          gsize   *n_patches);
const char         *hg_slide_get_patch_file (HgSlide *self,
                                             gsize    index);
/* The index of the patch covering level-0 point (x, y), or -1. */
gssize       hg_slide_find_patch (HgSlide *self,
                                  double   x,
                                  double   y);
HgSlideLabel hg_slide_get_label_at (HgSlide *self,
                                    double   x,
                                    double   y);

G_END_DECLS
