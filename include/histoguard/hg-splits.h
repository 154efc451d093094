/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Which part of an experiment a patient belongs to. Splits are always by
 * patient, never by patch: the patches of one patient are strongly
 * correlated, so a patch-level split leaks. */
typedef enum
{
  HG_SPLIT_NONE = 0, /* not assigned */
  HG_SPLIT_TRAIN,
  HG_SPLIT_VAL,
  HG_SPLIT_TEST,
} HgSplit;

#define HG_SPLIT_N 4

/* Limits that keep a hostile or mistaken file from costing much. */
#define HG_SPLITS_MAX_BYTES (16 * 1024 * 1024)
#define HG_SPLITS_MAX_PATIENTS 1000000
#define HG_SPLITS_MAX_PATIENT_LEN 64

/* A patient-level split file: UTF-8 text, tab-separated, one header line
 * naming the columns (at least "patient" and "split"; others such as
 * "patches" are ignored), then one line per patient:
 *
 *   patient	split	patches	class0	class1
 *   8864	train	121	92	29
 *
 * Blank lines and lines starting with '#' are skipped, CRLF is accepted,
 * spaces around a field are ignored. Split names are "train", "val" and
 * "test". A patient may appear only once. */
typedef struct _HgSplits HgSplits;

/* Parses a split file held in memory (it need not be NUL-terminated).
 * Errors are HG_ERROR_INVALID_DATA with the line number, or
 * HG_ERROR_TOO_LARGE. */
HgSplits *hg_splits_new_from_data (const char *data,
                                   gsize       length,
                                   GError    **error);
/* Same, from a file; messages start with the file's path. */
HgSplits *hg_splits_new_from_file (const char *path,
                                   GError    **error);
void      hg_splits_free (HgSplits *splits);

guint hg_splits_get_n_patients (const HgSplits *splits);
/* The i-th patient in file order, and its split. */
const char *hg_splits_get_patient (const HgSplits *splits,
                                   guint           i,
                                   HgSplit        *split);
/* HG_SPLIT_NONE when the patient is not listed. */
HgSplit hg_splits_lookup (const HgSplits *splits,
                          const char     *patient);

/* A patient identifier: 1 to HG_SPLITS_MAX_PATIENT_LEN characters from
 * [A-Za-z0-9._-], not starting with '.' (it also names a directory). */
gboolean hg_patient_id_is_valid (const char *id,
                                 gsize       length);

/* "train", "val", "test"; "none" for HG_SPLIT_NONE. */
const char *hg_split_to_string (HgSplit split);
/* Accepts "train", "val" and "test". */
gboolean hg_split_from_string (const char *name,
                               HgSplit    *split);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSplits, hg_splits_free)

G_END_DECLS
