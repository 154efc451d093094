/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: folder layouts, as hg_slide_open() rebuilds an IDC
 * patch folder into a slide and hg_dataset_open()/hg_dataset_load() list
 * and decode a training set.
 *
 * The input is a listing, a NUL byte, then a payload. Each line of the
 * listing makes one entry under a fresh folder:
 *
 *   0/8863_idx5_x1_y51_class0.png      a file holding the payload
 *   0/8863_idx5_x1_y51_class0.png=2    a file holding built-in image 2
 *   1/                                 a folder
 *   loop->..                           a symbolic link (any target)
 *   0/8863_idx5_x51_y1_class0.png|     a FIFO (reading it would block)
 *
 * Lines with other bytes, absolute paths or "." / ".." components are
 * skipped. Coordinates are kept to three digits: a slide rebuilt from
 * bigger ones is up to 512 MiB by design, which only slows the search;
 * big and absurd coordinates belong to fuzz-idc-name and the tests. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

#define MAX_ENTRIES 48
#define MAX_DEPTH 4

static char   *tmpdir;
static GBytes *images[6];

static GBytes *
encode (int         width,
        int         height,
        gboolean    alpha,
        const char *format)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  char *buffer = NULL;
  gsize length = 0;

  gdk_pixbuf_fill (pixbuf, 0xc04080ff);
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, format, NULL, NULL));
  return g_bytes_new_take (buffer, length);
}

static void
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
cleanup (void)
{
  remove_tree (tmpdir);
}

static void
init (void)
{
  tmpdir = g_dir_make_tmp ("hg-fuzz-idc-folder-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  atexit (cleanup);

  images[0] = encode (50, 50, FALSE, "png");
  images[1] = encode (30, 50, TRUE, "png");
  images[2] = encode (50, 50, FALSE, "jpeg");
  images[3] = encode (1, 1, FALSE, "png");
  images[4] = encode (60, 60, FALSE, "png"); /* larger than the 50 × 50 input */
  images[5] = encode (50, 20, FALSE, "tiff");
}

static gboolean
safe_path (const char *path)
{
  g_auto (GStrv) parts = NULL;
  int digits = 0;

  if (*path == '\0' || *path == '/')
    return FALSE;
  for (const char *p = path; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && strchr ("_.-/", *p) == NULL)
        return FALSE;
      digits = g_ascii_isdigit (*p) ? digits + 1 : 0;
      if (digits > 3)
        return FALSE;
    }
  parts = g_strsplit (path, "/", -1);
  if (g_strv_length (parts) > MAX_DEPTH)
    return FALSE;
  for (int i = 0; parts[i] != NULL; i++)
    if (strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0 ||
        (parts[i][0] == '\0' && parts[i + 1] != NULL))
      return FALSE;
  return TRUE;
}

static void
make_parents (const char *path)
{
  g_autofree char *parent = g_path_get_dirname (path);

  g_mkdir_with_parents (parent, 0755);
}

static void
make_entry (const char   *line,
            const guint8 *payload,
            gsize         payload_length)
{
  g_autofree char *name = g_strdup (line);
  g_autofree char *path = NULL;
  char            *arrow = strstr (name, "->");
  char            *eq = strrchr (name, '=');
  gsize            len;

  if (arrow != NULL)
    {
      const char *target = arrow + 2;

      /* "." and ".." make loops, which is the point; ".." only below the
       * top, so that nothing leads out of the folder. */
      *arrow = '\0';
      if (!safe_path (name) ||
          !(strcmp (target, ".") == 0 || safe_path (target) ||
            (strcmp (target, "..") == 0 && strchr (name, '/') != NULL)))
        return;
      path = g_build_filename (tmpdir, name, NULL);
      make_parents (path);
      if (symlink (target, path) != 0)
        return; /* something is already there */
      return;
    }

  len = strlen (name);
  if (len > 0 && name[len - 1] == '|')
    {
      name[len - 1] = '\0';
      if (!safe_path (name))
        return;
      path = g_build_filename (tmpdir, name, NULL);
      make_parents (path);
      mkfifo (path, 0644);
      return;
    }

  if (len > 0 && name[len - 1] == '/')
    {
      name[len - 1] = '\0';
      if (!safe_path (name))
        return;
      path = g_build_filename (tmpdir, name, NULL);
      g_mkdir_with_parents (path, 0755);
      return;
    }

  if (eq != NULL && eq[1] >= '0' && eq[1] < '0' + (int) G_N_ELEMENTS (images) && eq[2] == '\0')
    {
      *eq = '\0';
      payload = g_bytes_get_data (images[eq[1] - '0'], &payload_length);
    }
  if (!safe_path (name))
    return;
  path = g_build_filename (tmpdir, name, NULL);
  make_parents (path);
  /* Fails when a folder or link is already there: also fine. */
  g_file_set_contents (path, (const char *) payload, (gssize) payload_length, NULL);
}

static void
exercise_slide (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open (tmpdir, NULL, &error);
  const HgSlidePatch *patches;
  gsize               n_patches = 0;
  gint64              width, height;

  if (slide == NULL)
    {
      g_assert_true (error != NULL && error->domain == HG_ERROR);
      return;
    }

  hg_slide_get_level_size (slide, 0, &width, &height);
  patches = hg_slide_get_patches (slide, &n_patches);
  g_assert_cmpuint (n_patches, >=, 1);
  for (gsize i = 0; i < n_patches; i++)
    {
      const HgSlidePatch *p = &patches[i];

      g_assert_true (p->x >= 0 && p->y >= 0 && p->width >= 1 && p->height >= 1);
      g_assert_cmpint (p->x + p->width, <=, width);
      g_assert_cmpint (p->y + p->height, <=, height);
      g_assert_cmpint (hg_slide_get_label_at (slide, p->x, p->y), !=, HG_SLIDE_LABEL_NONE);
      g_assert_nonnull (hg_slide_get_patch_file (slide, i));
    }

  {
    g_autoptr (HgImage) thumbnail = hg_slide_read_thumbnail (slide, 32, &error);

    g_assert_no_error (error);
    g_assert_nonnull (thumbnail);
  }
}

static void
exercise_dataset (HgDatasetLayout  layout,
                  HgDatasetOnError on_error,
                  gboolean         load)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = hg_dataset_open (tmpdir, layout, on_error, &error);

  if (ds == NULL)
    {
      g_assert_true (error != NULL && error->domain == HG_ERROR);
      return;
    }

  for (guint i = 0; i < hg_dataset_get_n_samples (ds); i++)
    {
      const HgSample *s = hg_dataset_get_sample (ds, i);

      g_assert_nonnull (s->path);
      g_assert_cmpint (s->label, >=, 0);
      g_assert_cmpint (s->label, <, (int) hg_dataset_get_n_classes (ds));
    }

  if (load && hg_dataset_get_n_samples (ds) > 0)
    {
      if (hg_dataset_load (ds, 50, 50, 1, on_error, NULL, &error))
        for (guint i = 0; i < hg_dataset_get_n_samples (ds); i++)
          {
            const float *px = hg_dataset_get_pixels (ds, i);

            for (int k = 0; k < 3 * 50 * 50; k++)
              g_assert_true (px[k] >= 0.0f && px[k] <= 1.0f);
          }
      else
        g_assert_true (error != NULL && error->domain == HG_ERROR);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  const guint8    *nul = memchr (data, '\0', size);
  gsize            listing_length = nul != NULL ? (gsize) (nul - data) : size;
  const guint8    *payload = nul != NULL ? nul + 1 : data + size;
  gsize            payload_length = size - (payload - data);
  g_autofree char *listing = g_strndup ((const char *) data, listing_length);
  g_auto (GStrv) lines = g_strsplit (listing, "\n", MAX_ENTRIES + 1);

  if (tmpdir == NULL)
    init ();

  for (int i = 0; lines[i] != NULL && i < MAX_ENTRIES; i++)
    make_entry (lines[i], payload, payload_length);

  exercise_slide ();
  exercise_dataset (HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_SKIP, TRUE);
  exercise_dataset (HG_DATASET_LAYOUT_IDC, HG_DATASET_ON_ERROR_FAIL, TRUE);
  exercise_dataset (HG_DATASET_LAYOUT_FOLDERS, HG_DATASET_ON_ERROR_FAIL, FALSE);

  /* Empty the folder for the next input, keeping the folder itself. */
  {
    g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (tmpdir, name, NULL);

        remove_tree (child);
      }
  }
  return 0;
}
