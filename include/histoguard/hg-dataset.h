/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-splits.h"

G_BEGIN_DECLS

/* Labelled patch datasets on disk.
 *
 * Two layouts are read:
 *
 *  - IDC, as the "Breast Histopathology Images" set is distributed:
 *      ROOT/<patient>/<class>/<patient>_idx5_x<X>_y<Y>_class<C>.png
 *    with <class> "0" (non-IDC) or "1" (IDC); the directory names must
 *    agree with the file names.
 *  - Folders, as torchvision's ImageFolder: ROOT/<class-name>/<image>,
 *    classes in byte order of their names. When every image is named as
 *    an IDC patch, patients and coordinates are read from the names
 *    (e.g. a single patient's slide flattened to 0/ and 1/).
 *
 * Hidden files are ignored. Samples are listed in a deterministic order
 * (sorted paths), so a seed means the same thing on every machine. */

typedef enum
{
  HG_DATASET_LAYOUT_AUTO = 0,
  HG_DATASET_LAYOUT_IDC,
  HG_DATASET_LAYOUT_FOLDERS,
} HgDatasetLayout;

/* What to do with a file that cannot be used (wrong name, unreadable,
 * undecodable, too large). */
typedef enum
{
  HG_DATASET_ON_ERROR_FAIL = 0, /* stop with an error naming the file */
  HG_DATASET_ON_ERROR_SKIP,     /* leave it out and record why */
} HgDatasetOnError;

#define HG_DATASET_MAX_SAMPLES 4000000
#define HG_DATASET_MAX_CLASSES 1000
/* Decoded pixels of one dataset, in bytes. */
#define HG_DATASET_MAX_PIXEL_BYTES (G_GUINT64_CONSTANT (16) * 1024 * 1024 * 1024)

/* Fields of an IDC patch name: <patient>_idx5_x<X>_y<Y>_class<C>.png */
typedef struct
{
  char patient[64 + 1];
  int  x, y;  /* top-left corner in the slide, 0 … 10^7 */
  int  label; /* 0 or 1 */
} HgIdcName;

/* Parses a file name (not a path; need not be NUL-terminated). Standalone
 * so it can be fuzzed. */
gboolean hg_idc_name_parse (const char *name,
                            gsize       length,
                            HgIdcName  *out,
                            GError    **error);

typedef struct
{
  const char *path;    /* full path */
  const char *patient; /* NULL when unknown */
  int         label;   /* index into the class names */
  int         x, y;    /* IDC coordinates, -1 when unknown */
  HgSplit     split;
  int         width, height; /* size on disk once loaded, else 0 */
} HgSample;

typedef struct _HgDataset HgDataset;

/* Lists the samples under root (nothing is decoded yet). Files with wrong
 * names are fatal or skipped per on_error. */
HgDataset *hg_dataset_open (const char      *root,
                            HgDatasetLayout  layout,
                            HgDatasetOnError on_error,
                            GError         **error);
HgDataset *hg_dataset_ref (HgDataset *dataset);
void       hg_dataset_unref (HgDataset *dataset);

HgDatasetLayout hg_dataset_get_layout (HgDataset *dataset);
const char     *hg_dataset_get_root (HgDataset *dataset);
guint           hg_dataset_get_n_samples (HgDataset *dataset);
const HgSample *hg_dataset_get_sample (HgDataset *dataset,
                                       guint      i);
guint           hg_dataset_get_n_classes (HgDataset *dataset);
/* NULL-terminated; for the IDC layout { "non-IDC", "IDC" }. */
const char *const *hg_dataset_get_class_names (HgDataset *dataset);
/* Samples per class: an array of hg_dataset_get_n_classes() counts. */
void hg_dataset_count_classes (HgDataset *dataset,
                               guint     *counts);
/* Distinct patients (0 when unknown). */
guint hg_dataset_get_n_patients (HgDataset *dataset);

/* Why files were left out (by open or load with HG_DATASET_ON_ERROR_SKIP):
 * one "path: reason" string each. */
const char *const *hg_dataset_get_problems (HgDataset *dataset);

/* Assigns every sample the split of its patient. A sample whose patient is
 * unknown or missing from the file is an error that names it. */
gboolean hg_dataset_apply_splits (HgDataset      *dataset,
                                  const HgSplits *splits,
                                  GError        **error);
/* Assigns splits at random with the seed: by patient when patients are
 * known, else by sample; val_fraction + test_fraction < 1. */
gboolean hg_dataset_assign_random_splits (HgDataset *dataset,
                                          double     val_fraction,
                                          double     test_fraction,
                                          guint64    seed,
                                          GError   **error);
/* A new dataset holding the samples of one split (and their pixels, if
 * loaded). May be empty. */
HgDataset *hg_dataset_subset (HgDataset *dataset,
                              HgSplit    split);

/* Decodes every sample into planar RGB floats of width × height (smaller
 * images padded with white, see hg-patch.h), with n_workers threads (0:
 * one per processor). Unusable files are fatal or skipped per on_error;
 * skipped samples are removed. Deterministic: the result does not depend
 * on n_workers. */
gboolean hg_dataset_load (HgDataset       *dataset,
                          int              width,
                          int              height,
                          guint            n_workers,
                          HgDatasetOnError on_error,
                          GCancellable    *cancellable,
                          GError         **error);
gboolean hg_dataset_is_loaded (HgDataset *dataset);
int      hg_dataset_get_width (HgDataset *dataset);
int      hg_dataset_get_height (HgDataset *dataset);
/* 3 * height * width floats of sample i; NULL before hg_dataset_load. */
const float *hg_dataset_get_pixels (HgDataset *dataset,
                                    guint      i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgDataset, hg_dataset_unref)

G_END_DECLS
