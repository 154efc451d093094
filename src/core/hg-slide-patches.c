/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Folders of IDC patches, rebuilt into a slide from the coordinates in
 * their names; the classes become the ground truth. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "histoguard/hg-dataset.h"
#include "histoguard/hg-error.h"
#include "histoguard/hg-pixels.h"

#include "hg-decode-private.h"
#include "hg-slide-private.h"

/* <patient>/<class>/<files>: the layout of the original distribution. */
#define MAX_DEPTH 2
/* IDC patches are 50 × 50; anything far bigger is not one. */
#define MAX_PATCH_SIZE 1024
#define NOMINAL_PATCH_SIZE 50

typedef struct
{
  HgSlidePatch patch;
  char        *file;
  gboolean     readable;
} Found;

static void
found_clear (gpointer data)
{
  g_free (((Found *) data)->file);
}

static int
compare_found (gconstpointer a,
               gconstpointer b)
{
  const Found *fa = a, *fb = b;

  if (fa->patch.y != fb->patch.y)
    return fa->patch.y < fb->patch.y ? -1 : 1;
  if (fa->patch.x != fb->patch.x)
    return fa->patch.x < fb->patch.x ? -1 : 1;
  return strcmp (fa->file, fb->file);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
scan (const char   *dir,
      int           depth,
      GArray       *found,
      char        **patient,
      GCancellable *cancellable,
      GError      **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) gdir = g_dir_open (dir, 0, &local_error);
  const char *name;

  if (gdir == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("the folder “%s” cannot be read: %s"), dir,
                   local_error->message);
      return FALSE;
    }

  while ((name = g_dir_read_name (gdir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char      *base = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, base, NULL);
      g_autofree char *this_patient = NULL;
      Found            entry = { 0 };
      HgIdcName        idc;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (depth < MAX_DEPTH && !scan (path, depth + 1, found, patient, cancellable, error))
            return FALSE;
          continue;
        }

      /* Other files may share the folder; a name that claims to be a patch
       * but does not parse (absurd coordinates) is an error. */
      if (!g_str_has_suffix (base, ".png") || strstr (base, "_idx5_x") == NULL)
        continue;

      if (!hg_idc_name_parse (base, strlen (base), &idc, error))
        return FALSE;

      entry.patch.x = idc.x;
      entry.patch.y = idc.y;
      entry.patch.label = idc.label == 1 ? HG_SLIDE_LABEL_IDC : HG_SLIDE_LABEL_BENIGN;
      this_patient = g_strdup (idc.patient);

      if (*patient == NULL)
        *patient = g_strdup (this_patient);
      else if (strcmp (*patient, this_patient) != 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("the folder mixes patches of patients %s and %s (“%s”): open the folder "
                          "of one patient"),
                       *patient, this_patient, base);
          return FALSE;
        }

      entry.file = g_steal_pointer (&path);
      g_array_append_val (found, entry);
    }

  return TRUE;
}

HgSlide *
_hg_slide_patches_open (const char   *path,
                        GCancellable *cancellable,
                        GError      **error)
{
  g_autoptr (GArray) found = g_array_new (FALSE, TRUE, sizeof (Found));
  g_autoptr (GArray) patches = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgImage) level0 = NULL;
  g_autofree char *patient = NULL;
  g_autofree char *name = g_path_get_basename (path);
  HgDecodeLimits   probe_limits = { MAX_PATCH_SIZE, MAX_PATCH_SIZE, G_MAXINT64, TRUE };
  HgDecodeLimits   limits = { MAX_PATCH_SIZE, MAX_PATCH_SIZE, G_MAXINT64, FALSE };
  gint64           width = 0, height = 0;
  guint            n_idc = 0, n_unreadable = 0;
  char             text[64];

  g_array_set_clear_func (found, found_clear);

  if (!scan (path, 0, found, &patient, cancellable, error))
    return NULL;

  if (found->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("the folder “%s” holds no IDC patches (PNG files named like "
                      "8863_idx5_x1001_y51_class1.png, directly or in subfolders)"),
                   name);
      return NULL;
    }

  /* First the sizes, from the PNG headers alone, to know the slide's. */
  for (guint i = 0; i < found->len; i++)
    {
      Found *entry = &g_array_index (found, Found, i);
      g_autoptr (GError) local_error = NULL;
      HgDecodeInfo info;
      int          w, h;

      /* Only the header. A file that is not a readable image (damaged, a
       * named pipe, a folder) is background. */
      hg_decode_image_file (entry->file, &probe_limits, &info, &local_error);
      w = info.width;
      h = info.height;
      if (local_error == NULL)
        entry->readable = TRUE;
      else if (!g_error_matches (local_error, HG_ERROR, HG_ERROR_TOO_LARGE))
        w = h = NOMINAL_PATCH_SIZE;

      if (w > MAX_PATCH_SIZE || h > MAX_PATCH_SIZE)
        {
          g_autofree char *base = g_path_get_basename (entry->file);

          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("patch “%s” is %d × %d pixels; IDC patches are %d × %d"), base, w, h,
                       NOMINAL_PATCH_SIZE, NOMINAL_PATCH_SIZE);
          return NULL;
        }

      entry->patch.width = w;
      entry->patch.height = h;
      width = MAX (width, entry->patch.x + w);
      height = MAX (height, entry->patch.y + h);
    }

  if (width * height > HG_SLIDE_MAX_MEMORY_PIXELS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the patches in “%s” span %lld × %lld pixels; patch folders are rebuilt in memory, up to %lld megapixels"),
                   name, (long long) width, (long long) height, (long long) (HG_SLIDE_MAX_MEMORY_PIXELS / 1000000));
      return NULL;
    }

  level0 = hg_image_new ((int) width, (int) height, error);
  if (level0 == NULL)
    return NULL;

  g_array_sort (found, compare_found);
  patches = g_array_sized_new (FALSE, FALSE, sizeof (HgSlidePatch), found->len);
  files = g_ptr_array_new_full (found->len, g_free);

  for (guint i = 0; i < found->len; i++)
    {
      Found *entry = &g_array_index (found, Found, i);
      g_autoptr (GdkPixbuf) pixbuf = NULL;
      HgDecodeInfo info;

      if (i % 64 == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      if (entry->readable)
        pixbuf = hg_decode_image_file (entry->file, &limits, &info, NULL);

      /* A damaged patch is background; its label still counts. */
      if (pixbuf != NULL && gdk_pixbuf_get_bits_per_sample (pixbuf) == 8 &&
          (gdk_pixbuf_get_n_channels (pixbuf) == 3 || gdk_pixbuf_get_n_channels (pixbuf) == 4))
        {
          int w = MIN (gdk_pixbuf_get_width (pixbuf), entry->patch.width);
          int h = MIN (gdk_pixbuf_get_height (pixbuf), entry->patch.height);

          hg_pixels_rgb8_to_argb32 (gdk_pixbuf_read_pixels (pixbuf),
                                    gdk_pixbuf_get_rowstride (pixbuf),
                                    gdk_pixbuf_get_n_channels (pixbuf), w, h,
                                    hg_image_get_mutable_data (level0) +
                                        (gsize) entry->patch.y * hg_image_get_stride (level0) +
                                        (gsize) entry->patch.x * 4,
                                    hg_image_get_stride (level0));
        }
      else
        n_unreadable++;

      if (entry->patch.label == HG_SLIDE_LABEL_IDC)
        n_idc++;

      g_array_append_val (patches, entry->patch);
      g_ptr_array_add (files, g_steal_pointer (&entry->file));
    }

  if (n_unreadable == found->len)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("none of the %u patches in “%s” is a readable PNG image"), found->len, name);
      return NULL;
    }

  slide = _hg_slide_new (path, HG_SLIDE_SOURCE_PATCHES, "idc-patches");
  _hg_slide_set_property (slide, "histoguard.source", "patches");
  _hg_slide_set_property (slide, "idc.patient", patient);
  g_snprintf (text, sizeof text, "%u", patches->len);
  _hg_slide_set_property (slide, "idc.patches", text);
  g_snprintf (text, sizeof text, "%u", n_idc);
  _hg_slide_set_property (slide, "idc.patches.idc", text);
  g_snprintf (text, sizeof text, "%u", patches->len - n_idc);
  _hg_slide_set_property (slide, "idc.patches.benign", text);
  g_snprintf (text, sizeof text, "%u", n_unreadable);
  _hg_slide_set_property (slide, "idc.patches.unreadable", text);
  _hg_slide_set_property (slide, "histoguard.mpp-note",
                          "nominal: 40x scans (0.25 µm/px) downsampled 16:1");
  _hg_slide_set_mpp (slide, HG_SLIDE_IDC_MPP, HG_SLIDE_IDC_MPP);
  _hg_slide_set_objective_power (slide, HG_SLIDE_IDC_OBJECTIVE_POWER);
  _hg_slide_set_patches (slide, g_steal_pointer (&patches), g_steal_pointer (&files));

  if (!_hg_slide_set_memory_pyramid (slide, g_steal_pointer (&level0), cancellable, error))
    return NULL;

  return g_steal_pointer (&slide);
}
