/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "histoguard/hg-dataset.h"
#include "histoguard/hg-error.h"
#include "histoguard/hg-patch.h"

#include "hg-rng-private.h"

#define IDC_MAX_COORD 10000000

struct _HgDataset
{
  gatomicrefcount ref_count;
  char           *root;
  HgDatasetLayout layout;
  GStrv           class_names;
  GArray         *samples; /* HgSample; strings live in the chunk */
  GStringChunk   *strings;
  GPtrArray      *problems; /* NULL-terminated "path: reason" */
  int             width, height;
  float          *pixels; /* n × 3 × height × width, or NULL */
  gboolean        loaded;
};

/* ---- IDC names ---------------------------------------------------------- */

static gboolean
parse_number (const char **p,
              const char  *end,
              int         *value)
{
  gint64      v = 0;
  const char *s = *p;

  if (s >= end || !g_ascii_isdigit (*s))
    return FALSE;
  while (s < end && g_ascii_isdigit (*s))
    {
      v = v * 10 + (*s - '0');
      if (v > IDC_MAX_COORD)
        return FALSE;
      s++;
    }
  *value = (int) v;
  *p = s;
  return TRUE;
}

static gboolean
eat (const char **p,
     const char  *end,
     const char  *literal)
{
  gsize n = strlen (literal);

  if ((gsize) (end - *p) < n || memcmp (*p, literal, n) != 0)
    return FALSE;
  *p += n;
  return TRUE;
}

static gboolean
idc_name_error (GError    **error,
                const char *name,
                gsize       length,
                const char *why)
{
  g_autofree char *shown = g_utf8_make_valid (name, MIN (length, 200));

  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
               _ ("'%s' is not an IDC patch name (expected "
                  "<patient>_idx5_x<X>_y<Y>_class<C>.png): %s"),
               shown, why);
  return FALSE;
}

gboolean
hg_idc_name_parse (const char *name,
                   gsize       length,
                   HgIdcName  *out,
                   GError    **error)
{
  static const char marker[] = "_idx5_x";
  const char       *end = name + length, *p = NULL;
  gsize             patient_len;

  if (length < 4 || g_ascii_strncasecmp (end - 4, ".png", 4) != 0)
    return idc_name_error (error, name, length, _ ("it does not end in .png"));

  /* The patient is everything before the last marker, so it may hold '_'. */
  for (const char *s = name; s + sizeof marker - 1 <= end; s++)
    if (memcmp (s, marker, sizeof marker - 1) == 0)
      p = s;
  if (p == NULL)
    return idc_name_error (error, name, length, _ ("'_idx5_x' is missing"));

  patient_len = p - name;
  if (!hg_patient_id_is_valid (name, patient_len))
    return idc_name_error (error, name, length,
                           _ ("the patient must be 1 to 64 letters, digits, '.', '_' or '-'"));

  p += sizeof marker - 1;
  end -= 4;
  if (!parse_number (&p, end, &out->x))
    return idc_name_error (error, name, length, _ ("X is not a number from 0 to 10000000"));
  if (!eat (&p, end, "_y") || !parse_number (&p, end, &out->y))
    return idc_name_error (error, name, length, _ ("'_y' and a number from 0 to 10000000 must follow X"));
  if (!eat (&p, end, "_class"))
    return idc_name_error (error, name, length, _ ("'_class' must follow Y"));
  if (end - p != 1 || (*p != '0' && *p != '1'))
    return idc_name_error (error, name, length, _ ("the class must be 0 or 1"));

  out->label = *p - '0';
  memcpy (out->patient, name, patient_len);
  out->patient[patient_len] = '\0';
  return TRUE;
}

/* ---- Lifetime ----------------------------------------------------------- */

static HgDataset *
dataset_new (const char     *root,
             HgDatasetLayout layout)
{
  HgDataset *ds = g_new0 (HgDataset, 1);

  g_atomic_ref_count_init (&ds->ref_count);
  ds->root = g_strdup (root);
  ds->layout = layout;
  ds->samples = g_array_new (FALSE, TRUE, sizeof (HgSample));
  ds->strings = g_string_chunk_new (4096);
  ds->problems = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  return ds;
}

HgDataset *
hg_dataset_ref (HgDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  g_atomic_ref_count_inc (&dataset->ref_count);
  return dataset;
}

void
hg_dataset_unref (HgDataset *dataset)
{
  if (dataset == NULL || !g_atomic_ref_count_dec (&dataset->ref_count))
    return;
  g_free (dataset->root);
  g_strfreev (dataset->class_names);
  g_array_unref (dataset->samples);
  g_string_chunk_free (dataset->strings);
  g_ptr_array_unref (dataset->problems);
  g_free (dataset->pixels);
  g_free (dataset);
}

/* ---- Scanning ----------------------------------------------------------- */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Sorted names of the visible entries of dir. */
static GPtrArray *
list_dir (const char *path,
          GError    **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &local_error);
  const char *name;

  if (dir == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("%s: cannot open the folder: %s"), path,
                   local_error->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  return g_steal_pointer (&names);
}

static gboolean
is_dir (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

static gboolean
add_problem (HgDataset       *ds,
             HgDatasetOnError on_error,
             GError         **error,
             const char      *path,
             const GError    *why)
{
  if (on_error == HG_DATASET_ON_ERROR_FAIL)
    {
      if (g_str_has_prefix (why->message, path))
        g_set_error_literal (error, why->domain, why->code, why->message);
      else
        g_set_error (error, why->domain, why->code, "%s: %s", path, why->message);
      return FALSE;
    }
  g_ptr_array_add (ds->problems, g_str_has_prefix (why->message, path)
                                     ? g_strdup (why->message)
                                     : g_strdup_printf ("%s: %s", path, why->message));
  return TRUE;
}

static gboolean
add_sample (HgDataset  *ds,
            const char *path,
            const char *patient,
            int         label,
            int         x,
            int         y,
            GError    **error)
{
  HgSample s = { 0 };

  if (ds->samples->len >= HG_DATASET_MAX_SAMPLES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%s: more than %d images"), ds->root,
                   HG_DATASET_MAX_SAMPLES);
      return FALSE;
    }
  s.path = g_string_chunk_insert (ds->strings, path);
  s.patient = patient != NULL ? g_string_chunk_insert_const (ds->strings, patient) : NULL;
  s.label = label;
  s.x = x;
  s.y = y;
  s.split = HG_SPLIT_NONE;
  g_array_append_val (ds->samples, s);
  return TRUE;
}

/* IDC: every top-level folder is a patient holding only 0/ and 1/. */
static gboolean
looks_like_idc (const char *root,
                GPtrArray  *top)
{
  guint n_dirs = 0;

  for (guint i = 0; i < top->len; i++)
    {
      g_autofree char *path = g_build_filename (root, g_ptr_array_index (top, i), NULL);
      g_autoptr (GPtrArray) inner = NULL;

      if (!is_dir (path))
        continue;
      n_dirs++;
      inner = list_dir (path, NULL);
      if (inner == NULL || inner->len == 0)
        return FALSE;
      for (guint j = 0; j < inner->len; j++)
        {
          const char      *c = g_ptr_array_index (inner, j);
          g_autofree char *cpath = g_build_filename (path, c, NULL);

          if ((strcmp (c, "0") != 0 && strcmp (c, "1") != 0) || !is_dir (cpath))
            return FALSE;
        }
    }
  return n_dirs > 0;
}

static gboolean
scan_idc (HgDataset       *ds,
          GPtrArray       *top,
          HgDatasetOnError on_error,
          GError         **error)
{
  ds->class_names = g_strdupv ((char *[]){ (char *) "non-IDC", (char *) "IDC", NULL });

  for (guint i = 0; i < top->len; i++)
    {
      const char      *patient = g_ptr_array_index (top, i);
      g_autofree char *ppath = g_build_filename (ds->root, patient, NULL);

      if (!is_dir (ppath))
        continue; /* e.g. a README or the split file */
      if (!hg_patient_id_is_valid (patient, strlen (patient)))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("%s: the folder name is not a valid patient identifier"), ppath);
          return FALSE;
        }

      for (int label = 0; label <= 1; label++)
        {
          g_autofree char *cpath = g_build_filename (ppath, label ? "1" : "0", NULL);
          g_autoptr (GPtrArray) files = NULL;

          if (!is_dir (cpath))
            continue;
          files = list_dir (cpath, error);
          if (files == NULL)
            return FALSE;

          for (guint j = 0; j < files->len; j++)
            {
              const char      *name = g_ptr_array_index (files, j);
              g_autofree char *fpath = g_build_filename (cpath, name, NULL);
              g_autoptr (GError) why = NULL;
              HgIdcName idc;

              if (!hg_idc_name_parse (name, strlen (name), &idc, &why))
                {
                  if (!add_problem (ds, on_error, error, fpath, why))
                    return FALSE;
                  continue;
                }
              if (strcmp (idc.patient, patient) != 0)
                {
                  g_set_error (&why, HG_ERROR, HG_ERROR_INVALID_DATA,
                               _ ("the name says patient '%s' but the image is in the folder of "
                                  "patient '%s'"),
                               idc.patient, patient);
                  if (!add_problem (ds, on_error, error, fpath, why))
                    return FALSE;
                  continue;
                }
              if (idc.label != label)
                {
                  g_set_error (&why, HG_ERROR, HG_ERROR_INVALID_DATA,
                               _ ("the name says class %d but the image is in the folder of "
                                  "class %d"),
                               idc.label, label);
                  if (!add_problem (ds, on_error, error, fpath, why))
                    return FALSE;
                  continue;
                }
              if (!add_sample (ds, fpath, patient, label, idc.x, idc.y, error))
                return FALSE;
            }
        }
    }
  return TRUE;
}

static gboolean
scan_folders (HgDataset *ds,
              GPtrArray *top,
              GError   **error)
{
  g_autoptr (GStrvBuilder) classes = g_strv_builder_new ();
  guint    n_classes = 0, first_sample = ds->samples->len;
  gboolean all_idc = TRUE;

  for (guint i = 0; i < top->len; i++)
    {
      const char      *cname = g_ptr_array_index (top, i);
      g_autofree char *cpath = g_build_filename (ds->root, cname, NULL);
      g_autoptr (GPtrArray) files = NULL;
      guint n_images = 0;

      if (!is_dir (cpath))
        continue;
      if (n_classes >= HG_DATASET_MAX_CLASSES)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%s: more than %d class folders"),
                       ds->root, HG_DATASET_MAX_CLASSES);
          return FALSE;
        }

      files = list_dir (cpath, error);
      if (files == NULL)
        return FALSE;
      for (guint j = 0; j < files->len; j++)
        {
          const char      *name = g_ptr_array_index (files, j);
          g_autofree char *fpath = g_build_filename (cpath, name, NULL);
          HgIdcName        idc;
          gboolean         is_idc;

          if (!hg_patch_is_image_name (name) || is_dir (fpath))
            continue;
          is_idc = hg_idc_name_parse (name, strlen (name), &idc, NULL);
          all_idc = all_idc && is_idc;
          if (!add_sample (ds, fpath, is_idc ? idc.patient : NULL, (int) n_classes,
                           is_idc ? idc.x : -1, is_idc ? idc.y : -1, error))
            return FALSE;
          n_images++;
        }
      if (n_images == 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("%s: the class folder holds no images (.png, .jpg or .tif)"),
                       cpath);
          return FALSE;
        }
      {
        g_autofree char *display = g_filename_display_name (cname);

        g_strv_builder_add (classes, display);
      }
      n_classes++;
    }

  /* A flattened IDC slide (0/ and 1/ of one patient) keeps the IDC names. */
  if (all_idc && n_classes == 2 && ds->samples->len > first_sample)
    {
      g_auto (GStrv) names = g_strv_builder_end (classes);

      if (strcmp (names[0], "0") == 0 && strcmp (names[1], "1") == 0)
        {
          ds->class_names = g_strdupv ((char *[]){ (char *) "non-IDC", (char *) "IDC", NULL });
          return TRUE;
        }
      ds->class_names = g_steal_pointer (&names);
      return TRUE;
    }

  /* Patients only make sense when every image has one. */
  if (!all_idc)
    for (guint i = first_sample; i < ds->samples->len; i++)
      {
        HgSample *s = &g_array_index (ds->samples, HgSample, i);

        s->patient = NULL;
        s->x = s->y = -1;
      }
  ds->class_names = g_strv_builder_end (classes);
  return TRUE;
}

HgDataset *
hg_dataset_open (const char      *root,
                 HgDatasetLayout  layout,
                 HgDatasetOnError on_error,
                 GError         **error)
{
  g_autoptr (HgDataset) ds = NULL;
  g_autoptr (GPtrArray) top = NULL;

  g_return_val_if_fail (root != NULL, NULL);

  if (!is_dir (root))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO,
                   g_file_test (root, G_FILE_TEST_EXISTS) ? _ ("%s: not a folder")
                                                          : _ ("%s: no such folder"),
                   root);
      return NULL;
    }

  top = list_dir (root, error);
  if (top == NULL)
    return NULL;

  if (layout == HG_DATASET_LAYOUT_AUTO)
    layout = looks_like_idc (root, top) ? HG_DATASET_LAYOUT_IDC : HG_DATASET_LAYOUT_FOLDERS;

  /* Loose images at the top mean a layout we do not read: say so rather
   * than silently ignoring them. */
  for (guint i = 0; i < top->len; i++)
    {
      const char      *name = g_ptr_array_index (top, i);
      g_autofree char *path = g_build_filename (root, name, NULL);

      if (hg_patch_is_image_name (name) && !is_dir (path))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       layout == HG_DATASET_LAYOUT_IDC
                           ? _ ("%s: an image outside any patient folder (expected "
                                "<patient>/<class>/<image> in the IDC layout)")
                           : _ ("%s: an image outside any class folder (expected "
                                "<class>/<image>)"),
                       path);
          return NULL;
        }
    }

  ds = dataset_new (root, layout);
  if (layout == HG_DATASET_LAYOUT_IDC)
    {
      if (!scan_idc (ds, top, on_error, error))
        return NULL;
    }
  else if (!scan_folders (ds, top, error))
    return NULL;

  if (ds->samples->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   layout == HG_DATASET_LAYOUT_IDC
                       ? _ ("%s: no images found (expected <patient>/<class>/<image>.png)")
                       : _ ("%s: no images found (expected <class>/<image>)"),
                   root);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

/* ---- Accessors ---------------------------------------------------------- */

HgDatasetLayout
hg_dataset_get_layout (HgDataset *dataset)
{
  return dataset->layout;
}

const char *
hg_dataset_get_root (HgDataset *dataset)
{
  return dataset->root;
}

guint
hg_dataset_get_n_samples (HgDataset *dataset)
{
  return dataset->samples->len;
}

const HgSample *
hg_dataset_get_sample (HgDataset *dataset,
                       guint      i)
{
  g_return_val_if_fail (i < dataset->samples->len, NULL);
  return &g_array_index (dataset->samples, HgSample, i);
}

guint
hg_dataset_get_n_classes (HgDataset *dataset)
{
  return g_strv_length (dataset->class_names);
}

const char *const *
hg_dataset_get_class_names (HgDataset *dataset)
{
  return (const char *const *) dataset->class_names;
}

void
hg_dataset_count_classes (HgDataset *dataset,
                          guint     *counts)
{
  guint n = hg_dataset_get_n_classes (dataset);

  memset (counts, 0, n * sizeof *counts);
  for (guint i = 0; i < dataset->samples->len; i++)
    counts[g_array_index (dataset->samples, HgSample, i).label]++;
}

guint
hg_dataset_get_n_patients (HgDataset *dataset)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < dataset->samples->len; i++)
    {
      const char *p = g_array_index (dataset->samples, HgSample, i).patient;

      if (p != NULL)
        g_hash_table_add (seen, (gpointer) p);
    }
  return g_hash_table_size (seen);
}

const char *const *
hg_dataset_get_problems (HgDataset *dataset)
{
  static const char *const none[] = { NULL };

  /* An empty null-terminated GPtrArray may not have allocated its array. */
  if (dataset->problems->pdata == NULL)
    return none;
  return (const char *const *) dataset->problems->pdata;
}

gboolean
hg_dataset_is_loaded (HgDataset *dataset)
{
  return dataset->loaded;
}

int
hg_dataset_get_width (HgDataset *dataset)
{
  return dataset->width;
}

int
hg_dataset_get_height (HgDataset *dataset)
{
  return dataset->height;
}

const float *
hg_dataset_get_pixels (HgDataset *dataset,
                       guint      i)
{
  g_return_val_if_fail (i < dataset->samples->len, NULL);
  if (dataset->pixels == NULL)
    return NULL;
  return dataset->pixels + (gsize) i * 3 * dataset->width * dataset->height;
}

/* ---- Splits ------------------------------------------------------------- */

gboolean
hg_dataset_apply_splits (HgDataset      *dataset,
                         const HgSplits *splits,
                         GError        **error)
{
  g_autoptr (GHashTable) missing = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) missing_list = g_ptr_array_new ();

  for (guint i = 0; i < dataset->samples->len; i++)
    {
      HgSample *s = &g_array_index (dataset->samples, HgSample, i);

      if (s->patient == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("%s: the patient of this image is unknown, so a patient-level split "
                          "file cannot place it (use the IDC layout or a random split)"),
                       s->path);
          return FALSE;
        }
      s->split = hg_splits_lookup (splits, s->patient);
      if (s->split == HG_SPLIT_NONE && g_hash_table_add (missing, (gpointer) s->patient))
        g_ptr_array_add (missing_list, (gpointer) s->patient);
    }

  if (missing_list->len > 0)
    {
      g_autoptr (GString) list = g_string_new (NULL);

      g_ptr_array_sort (missing_list, compare_strings);
      for (guint i = 0; i < missing_list->len && i < 10; i++)
        g_string_append_printf (list, "%s%s", i > 0 ? ", " : "",
                                (const char *) g_ptr_array_index (missing_list, i));
      if (missing_list->len > 10)
        g_string_append_printf (list, _ (" and %u more"), missing_list->len - 10);
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   g_dngettext (GETTEXT_PACKAGE, "%u patient of %s is not in the split file: %s",
                                "%u patients of %s are not in the split file: %s",
                                missing_list->len),
                   missing_list->len, dataset->root, list->str);
      return FALSE;
    }
  return TRUE;
}

gboolean
hg_dataset_assign_random_splits (HgDataset *dataset,
                                 double     val_fraction,
                                 double     test_fraction,
                                 guint64    seed,
                                 GError   **error)
{
  g_autoptr (GHashTable) unit_of = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree guint   *order = NULL;
  g_autofree HgSplit *split_of = NULL;
  gboolean            by_patient = TRUE;
  guint               n_units, n_val, n_test;
  HgRng               rng;

  if (!(val_fraction >= 0 && test_fraction >= 0 && val_fraction + test_fraction < 1))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("the validation and test fractions (%g and %g) must be at least 0 and sum "
                      "to less than 1"),
                   val_fraction, test_fraction);
      return FALSE;
    }

  for (guint i = 0; i < dataset->samples->len; i++)
    if (g_array_index (dataset->samples, HgSample, i).patient == NULL)
      by_patient = FALSE;

  /* Units are patients (sorted by name) or samples (in order). */
  if (by_patient)
    {
      g_autoptr (GPtrArray) patients = g_ptr_array_new ();

      for (guint i = 0; i < dataset->samples->len; i++)
        {
          const char *p = g_array_index (dataset->samples, HgSample, i).patient;

          if (g_hash_table_add (unit_of, (gpointer) p))
            g_ptr_array_add (patients, (gpointer) p);
        }
      g_ptr_array_sort (patients, compare_strings);
      for (guint i = 0; i < patients->len; i++)
        g_hash_table_insert (unit_of, g_ptr_array_index (patients, i), GUINT_TO_POINTER (i));
      n_units = patients->len;
    }
  else
    n_units = dataset->samples->len;

  n_val = (guint) (val_fraction * n_units + 0.5);
  n_test = (guint) (test_fraction * n_units + 0.5);
  if (val_fraction > 0 && n_val == 0)
    n_val = 1;
  if (test_fraction > 0 && n_test == 0)
    n_test = 1;
  if (n_val + n_test >= n_units)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   by_patient ? g_dngettext (GETTEXT_PACKAGE,
                                             "%s: %u patient is too few to split into train, validation and test",
                                             "%s: %u patients are too few to split into train, validation and test",
                                             n_units)
                              : g_dngettext (GETTEXT_PACKAGE,
                                             "%s: %u image is too few to split into train, validation and test",
                                             "%s: %u images are too few to split into train, validation and test",
                                             n_units),
                   dataset->root, n_units);
      return FALSE;
    }

  order = g_new (guint, n_units);
  for (guint i = 0; i < n_units; i++)
    order[i] = i;
  hg_rng_init (&rng, seed, 0x5b11, 0);
  hg_rng_shuffle (&rng, order, n_units);

  split_of = g_new (HgSplit, n_units);
  for (guint i = 0; i < n_units; i++)
    split_of[order[i]] = i < n_val ? HG_SPLIT_VAL : i < n_val + n_test ? HG_SPLIT_TEST
                                                                       : HG_SPLIT_TRAIN;

  for (guint i = 0; i < dataset->samples->len; i++)
    {
      HgSample *s = &g_array_index (dataset->samples, HgSample, i);
      guint     unit = by_patient ? GPOINTER_TO_UINT (g_hash_table_lookup (unit_of, s->patient)) : i;

      s->split = split_of[unit];
    }
  return TRUE;
}

HgDataset *
hg_dataset_subset (HgDataset *dataset,
                   HgSplit    split)
{
  HgDataset *sub = dataset_new (dataset->root, dataset->layout);
  gsize      floats = (gsize) 3 * dataset->width * dataset->height;
  guint      n = 0;

  sub->class_names = g_strdupv (dataset->class_names);
  sub->width = dataset->width;
  sub->height = dataset->height;
  sub->loaded = dataset->loaded;

  for (guint i = 0; i < dataset->samples->len; i++)
    n += g_array_index (dataset->samples, HgSample, i).split == split;
  if (dataset->pixels != NULL && n > 0)
    sub->pixels = g_new (float, n *floats);

  for (guint i = 0, j = 0; i < dataset->samples->len; i++)
    {
      HgSample s = g_array_index (dataset->samples, HgSample, i);

      if (s.split != split)
        continue;
      s.path = g_string_chunk_insert (sub->strings, s.path);
      if (s.patient != NULL)
        s.patient = g_string_chunk_insert_const (sub->strings, s.patient);
      g_array_append_val (sub->samples, s);
      if (sub->pixels != NULL)
        memcpy (sub->pixels + j * floats, dataset->pixels + i * floats, floats * sizeof (float));
      j++;
    }
  return sub;
}

/* ---- Decoding ----------------------------------------------------------- */

typedef struct
{
  HgDataset    *ds;
  GCancellable *cancellable;
  gsize         floats;
  GError      **errors; /* per sample */
  gint          next;
  gint          stop;
  gboolean      stop_on_error;
} LoadJob;

static gpointer
load_worker (gpointer data)
{
  LoadJob *job = data;
  guint    n = job->ds->samples->len;

  for (;;)
    {
      guint     i = (guint) g_atomic_int_add (&job->next, 1);
      HgSample *s;

      if (i >= n || g_atomic_int_get (&job->stop))
        break;
      if (g_cancellable_is_cancelled (job->cancellable))
        {
          g_atomic_int_set (&job->stop, 1);
          break;
        }
      s = &g_array_index (job->ds->samples, HgSample, i);
      if (!hg_patch_load (s->path, job->ds->width, job->ds->height,
                          job->ds->pixels + i * job->floats, &s->width, &s->height,
                          &job->errors[i]) &&
          job->stop_on_error)
        g_atomic_int_set (&job->stop, 1);
    }
  return NULL;
}

gboolean
hg_dataset_load (HgDataset       *dataset,
                 int              width,
                 int              height,
                 guint            n_workers,
                 HgDatasetOnError on_error,
                 GCancellable    *cancellable,
                 GError         **error)
{
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  LoadJob  job = { 0 };
  guint    n = dataset->samples->len, kept = 0;
  gsize    floats, bytes;
  gboolean ok = TRUE;

  if (width <= 0 || height <= 0 || width > HG_PATCH_MAX_SIDE || height > HG_PATCH_MAX_SIDE)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("input size %d×%d is outside 1…%d"), width, height, HG_PATCH_MAX_SIDE);
      return FALSE;
    }
  floats = (gsize) 3 * width * height;
  if (!g_size_checked_mul (&bytes, n, floats * sizeof (float)) || bytes > HG_DATASET_MAX_PIXEL_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("%s: %u images of %d×%d need more than the limit of %llu bytes"),
                   dataset->root, n, width, height, (unsigned long long) HG_DATASET_MAX_PIXEL_BYTES);
      return FALSE;
    }

  g_clear_pointer (&dataset->pixels, g_free);
  dataset->loaded = FALSE;
  dataset->width = width;
  dataset->height = height;
  if (n == 0)
    {
      dataset->loaded = TRUE;
      return TRUE;
    }

  dataset->pixels = g_try_malloc (bytes);
  if (dataset->pixels == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("%s: not enough memory for %u images (%zu bytes)"),
                   dataset->root, n, bytes);
      return FALSE;
    }

  /* GdkPixbuf registers its loaders on first use; do it before threads. */
  g_slist_free (gdk_pixbuf_get_formats ());

  job.ds = dataset;
  job.cancellable = cancellable;
  job.floats = floats;
  job.errors = g_new0 (GError *, n);
  job.stop_on_error = on_error == HG_DATASET_ON_ERROR_FAIL;

  if (n_workers == 0)
    n_workers = g_get_num_processors ();
  n_workers = CLAMP (n_workers, 1, MIN (n, 64));
  for (guint t = 1; t < n_workers; t++)
    {
      GThread *thread = g_thread_try_new ("hg-decode", load_worker, &job, NULL);

      if (thread == NULL)
        break;
      g_ptr_array_add (threads, thread);
    }
  load_worker (&job);
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (g_ptr_array_index (threads, t));

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      ok = FALSE;
      goto out;
    }

  /* Report or drop failures in sample order, whatever the threads did. */
  for (guint i = 0; i < n; i++)
    {
      if (job.errors[i] != NULL)
        {
          const HgSample *s = &g_array_index (dataset->samples, HgSample, i);

          if (!add_problem (dataset, on_error, error, s->path, job.errors[i]))
            {
              ok = FALSE;
              goto out;
            }
          continue;
        }
      if (kept != i)
        {
          g_array_index (dataset->samples, HgSample, kept) = g_array_index (dataset->samples, HgSample, i);
          memmove (dataset->pixels + kept * floats, dataset->pixels + i * floats,
                   floats * sizeof (float));
        }
      kept++;
    }
  g_array_set_size (dataset->samples, kept);
  if (kept == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("%s: none of the %u images could be used (first: %s)"), dataset->root, n,
                   (const char *) g_ptr_array_index (dataset->problems, 0));
      ok = FALSE;
    }

out:
  for (guint i = 0; i < n; i++)
    g_clear_error (&job.errors[i]);
  g_free (job.errors);
  if (!ok)
    {
      g_clear_pointer (&dataset->pixels, g_free);
      dataset->width = dataset->height = 0;
    }
  dataset->loaded = ok;
  return ok;
}
