/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#include "histoguard/histoguard.h"

/* tests/data/idc: 5 patients (3 train, 1 val, 1 test), 67 patches, one
 * short edge patch per patient. */
#define FIXTURE_N 67
#define FIXTURE_N_TRAIN 47
#define FIXTURE_N_VAL 10
#define FIXTURE_N_TEST 10
#define FIXTURE_N_CLASS1 33

static char *
fixture_root (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
}

static char *
fixture_splits (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
}

/* ---- IDC names ---------------------------------------------------------- */

static void
test_idc_name_parse (void)
{
  static const char *good = "10256_idx5_x1001_y401_class1.png";
  g_autoptr (GError) error = NULL;
  HgIdcName idc;

  g_assert_true (hg_idc_name_parse (good, strlen (good), &idc, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (idc.patient, ==, "10256");
  g_assert_cmpint (idc.x, ==, 1001);
  g_assert_cmpint (idc.y, ==, 401);
  g_assert_cmpint (idc.label, ==, 1);

  /* A patient holding '_' is read up to the last marker; the length, not a
   * NUL, ends the name. */
  g_assert_true (hg_idc_name_parse ("a_b_idx5_x0_y0_class0.pngXYZ", 25, &idc, NULL));
  g_assert_cmpstr (idc.patient, ==, "a_b");
  g_assert_cmpint (idc.label, ==, 0);
}

static void
test_idc_name_errors (void)
{
  static const struct
  {
    const char *name;
    const char *why;
  } cases[] = {
    { "", "does not end in .png" },
    { "8864_idx5_x1_y2_class0.jpg", "does not end in .png" },
    { "8864_x1_y2_class0.png", "'_idx5_x' is missing" },
    { "_idx5_x1_y2_class0.png", "the patient must be" },
    { "../8864_idx5_x1_y2_class0.png", "the patient must be" },
    { "8864_idx5_x_y2_class0.png", "X is not a number" },
    { "8864_idx5_x-1_y2_class0.png", "X is not a number" },
    { "8864_idx5_x99999999_y2_class0.png", "X is not a number" },
    { "8864_idx5_x1_class0.png", "'_y' and a number" },
    { "8864_idx5_x1_y_class0.png", "'_y' and a number" },
    { "8864_idx5_x1_y2class0.png", "'_class' must follow Y" },
    { "8864_idx5_x1_y2_class2.png", "the class must be 0 or 1" },
    { "8864_idx5_x1_y2_class01.png", "the class must be 0 or 1" },
    { "8864_idx5_x1_y2_class.png", "the class must be 0 or 1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      HgIdcName idc;

      g_test_message ("case %u: %s", i, cases[i].name);
      g_assert_false (hg_idc_name_parse (cases[i].name, strlen (cases[i].name), &idc, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "is not an IDC patch name"));
      g_assert_nonnull (strstr (error->message, cases[i].why));
    }
}

/* ---- Image decoding ------------------------------------------------------ */

static GBytes *
encode_png (int      width,
            int      height,
            gboolean alpha,
            guint8   value)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  g_autoptr (GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  gdk_pixbuf_fill (pixbuf, alpha ? ((guint32) value << 24) | 0x00 : ((guint32) value << 24) | 0xff);
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "png", &error, NULL));
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, size);
}

static void
test_image_decode (void)
{
  g_autoptr (GBytes) opaque = encode_png (4, 3, FALSE, 0x40);
  g_autoptr (GBytes) clear = encode_png (2, 2, TRUE, 0x40);
  g_autoptr (GBytes) big = encode_png (8, 2, FALSE, 0);
  g_autoptr (GError) error = NULL;
  float out[3 * 5 * 4];
  int   w = 0, h = 0;

  /* 4×3 into 5×4: top-left is the image (R = 0x40), the rest white. */
  g_assert_true (hg_patch_decode (g_bytes_get_data (opaque, NULL), g_bytes_get_size (opaque),
                                  5, 4, out, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 4);
  g_assert_cmpint (h, ==, 3);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 5; x++)
      {
        float expected = (x < 4 && y < 3) ? 0x40 / 255.0f : 1.0f;

        g_assert_cmpfloat_with_epsilon (out[y * 5 + x], expected, 1e-6);
        g_assert_cmpfloat_with_epsilon (out[2 * 20 + y * 5 + x], x < 4 && y < 3 ? 0.0f : 1.0f, 1e-6);
      }

  /* Fully transparent composites over white. */
  g_assert_true (hg_patch_decode (g_bytes_get_data (clear, NULL), g_bytes_get_size (clear),
                                  2, 2, out, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (out[i], ==, 1.0f);

  g_assert_false (hg_patch_decode (g_bytes_get_data (big, NULL), g_bytes_get_size (big),
                                   5, 4, out, NULL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
  g_assert_cmpstr (error->message, ==, "the image is 8×2 pixels, larger than the 5×4 input");
  g_clear_error (&error);

  g_assert_false (hg_patch_decode ((const guint8 *) "", 0, 5, 4, out, NULL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "the file is empty");
  g_clear_error (&error);

  g_assert_false (hg_patch_decode ((const guint8 *) "hello, world", 12, 5, 4, out, NULL,
                                   NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==, "not a PNG, JPEG or TIFF image");
  g_clear_error (&error);

  g_assert_false (hg_patch_decode ((const guint8 *) "\x89PNG\r\n\x1a\nhello, world", 20, 5,
                                   4, out, NULL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, "cannot decode the image: "));
  g_clear_error (&error);

  /* A PNG cut in half. */
  g_assert_false (hg_patch_decode (g_bytes_get_data (opaque, NULL),
                                   g_bytes_get_size (opaque) / 2, 5, 4, out, NULL, NULL,
                                   &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
}

/* ---- Datasets ------------------------------------------------------------ */

static void
test_dataset_idc (void)
{
  g_autofree char *root = fixture_root ();
  g_autofree char *splits_path = fixture_splits ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO,
                                              HG_DATASET_ON_ERROR_FAIL, &error);
  g_autoptr (HgSplits) splits = NULL;
  g_autoptr (HgDataset) train = NULL;
  g_autoptr (HgDataset) val = NULL;
  g_autoptr (HgDataset) test = NULL;
  const HgSample *s;
  guint           counts[2];

  g_assert_no_error (error);
  g_assert_cmpint (hg_dataset_get_layout (ds), ==, HG_DATASET_LAYOUT_IDC);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, FIXTURE_N);
  g_assert_cmpuint (hg_dataset_get_n_classes (ds), ==, 2);
  g_assert_cmpstr (hg_dataset_get_class_names (ds)[0], ==, "non-IDC");
  g_assert_cmpstr (hg_dataset_get_class_names (ds)[1], ==, "IDC");
  g_assert_cmpuint (hg_dataset_get_n_patients (ds), ==, 5);
  hg_dataset_count_classes (ds, counts);
  g_assert_cmpuint (counts[1], ==, FIXTURE_N_CLASS1);
  g_assert_cmpuint (counts[0], ==, FIXTURE_N - FIXTURE_N_CLASS1);

  /* Sorted: patient folders in byte order, class 0 before 1. */
  s = hg_dataset_get_sample (ds, 0);
  g_assert_cmpstr (s->patient, ==, "12749");
  g_assert_cmpint (s->label, ==, 0);
  g_assert_true (g_str_has_suffix (s->path, "_class0.png"));
  g_assert_cmpint (s->split, ==, HG_SPLIT_NONE);
  g_assert_false (hg_dataset_is_loaded (ds));
  g_assert_null (hg_dataset_get_pixels (ds, 0));

  splits = hg_splits_new_from_file (splits_path, &error);
  g_assert_no_error (error);
  g_assert_true (hg_dataset_apply_splits (ds, splits, &error));
  g_assert_no_error (error);

  train = hg_dataset_subset (ds, HG_SPLIT_TRAIN);
  val = hg_dataset_subset (ds, HG_SPLIT_VAL);
  test = hg_dataset_subset (ds, HG_SPLIT_TEST);
  g_assert_cmpuint (hg_dataset_get_n_samples (train), ==, FIXTURE_N_TRAIN);
  g_assert_cmpuint (hg_dataset_get_n_samples (val), ==, FIXTURE_N_VAL);
  g_assert_cmpuint (hg_dataset_get_n_samples (test), ==, FIXTURE_N_TEST);
  g_assert_cmpstr (hg_dataset_get_sample (val, 0)->patient, ==, "12930");
}

/* Every sample decoded by a straight GdkPixbuf read must match, and the
 * short edge patches must be padded with white below and to the right. */
static void
test_dataset_load_and_pad (void)
{
  g_autofree char *root = fixture_root ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = hg_dataset_open (root, HG_DATASET_LAYOUT_IDC,
                                              HG_DATASET_ON_ERROR_FAIL, &error);
  guint n_short = 0;

  g_assert_no_error (error);
  g_assert_true (hg_dataset_load (ds, 50, 50, 2, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (hg_dataset_is_loaded (ds));
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, FIXTURE_N);

  for (guint i = 0; i < hg_dataset_get_n_samples (ds); i++)
    {
      const HgSample *s = hg_dataset_get_sample (ds, i);
      const float    *px = hg_dataset_get_pixels (ds, i);
      g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (s->path, &error);
      const guint8 *data;
      int           stride;

      g_assert_no_error (error);
      g_assert_cmpint (s->width, ==, gdk_pixbuf_get_width (pb));
      g_assert_cmpint (s->height, ==, gdk_pixbuf_get_height (pb));
      g_assert_cmpint (gdk_pixbuf_get_n_channels (pb), ==, 3);
      data = gdk_pixbuf_read_pixels (pb);
      stride = gdk_pixbuf_get_rowstride (pb);
      n_short += s->width < 50 || s->height < 50;

      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 50; y++)
          for (int x = 0; x < 50; x++)
            {
              float v = px[c * 2500 + y * 50 + x];

              if (x < s->width && y < s->height)
                g_assert_cmpfloat_with_epsilon (v, data[y * stride + 3 * x + c] / 255.0f, 1e-6);
              else
                g_assert_cmpfloat (v, ==, 1.0f);
            }
    }
  g_assert_cmpuint (n_short, ==, 5);
}

static void
test_dataset_load_deterministic (void)
{
  g_autofree char *root = fixture_root ();
  g_autoptr (HgDataset) a = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);
  g_autoptr (HgDataset) b = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);

  g_assert_true (hg_dataset_load (a, 50, 50, 1, HG_DATASET_ON_ERROR_FAIL, NULL, NULL));
  g_assert_true (hg_dataset_load (b, 50, 50, 5, HG_DATASET_ON_ERROR_FAIL, NULL, NULL));
  g_assert_cmpmem (hg_dataset_get_pixels (a, 0), FIXTURE_N * 3 * 2500 * sizeof (float),
                   hg_dataset_get_pixels (b, 0), FIXTURE_N * 3 * 2500 * sizeof (float));
}

static void
test_dataset_subset_keeps_pixels (void)
{
  g_autofree char *root = fixture_root ();
  g_autofree char *splits_path = fixture_splits ();
  g_autoptr (HgDataset) ds = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);
  g_autoptr (HgSplits) splits = hg_splits_new_from_file (splits_path, NULL);
  g_autoptr (HgDataset) test = NULL;

  g_assert_true (hg_dataset_apply_splits (ds, splits, NULL));
  g_assert_true (hg_dataset_load (ds, 50, 50, 0, HG_DATASET_ON_ERROR_FAIL, NULL, NULL));
  test = hg_dataset_subset (ds, HG_SPLIT_TEST);
  g_assert_true (hg_dataset_is_loaded (test));
  for (guint i = 0, j = 0; i < hg_dataset_get_n_samples (ds); i++)
    if (hg_dataset_get_sample (ds, i)->split == HG_SPLIT_TEST)
      {
        g_assert_cmpstr (hg_dataset_get_sample (test, j)->path, ==, hg_dataset_get_sample (ds, i)->path);
        g_assert_cmpmem (hg_dataset_get_pixels (test, j), 7500 * sizeof (float),
                         hg_dataset_get_pixels (ds, i), 7500 * sizeof (float));
        j++;
      }
}

static void
test_dataset_folders (void)
{
  /* One patient's folder is the flattened <class>/<image> layout. */
  g_autofree char *root = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", "9320", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO,
                                              HG_DATASET_ON_ERROR_FAIL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (hg_dataset_get_layout (ds), ==, HG_DATASET_LAYOUT_FOLDERS);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, 16);
  g_assert_cmpstr (hg_dataset_get_class_names (ds)[1], ==, "IDC");
  g_assert_cmpstr (hg_dataset_get_sample (ds, 0)->patient, ==, "9320");
  g_assert_cmpint (hg_dataset_get_sample (ds, 15)->label, ==, 1);
}

/* ---- Bad input, in a scratch folder -------------------------------------- */

static char *
make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("hg-dataset-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          rm_rf (child);
        }
    }
  g_remove (path);
}

static void
write_file (const char *dir,
            const char *rel,
            const void *data,
            gssize      len)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, data, len, &error));
  g_assert_no_error (error);
}

static void
write_png (const char *dir,
           const char *rel,
           int         width,
           int         height)
{
  g_autoptr (GBytes) png = encode_png (width, height, FALSE, 0x80);

  write_file (dir, rel, g_bytes_get_data (png, NULL), g_bytes_get_size (png));
}

static void
test_dataset_bad_images (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *corrupt = g_build_filename (dir, "7", "1", "7_idx5_x50_y0_class1.png", NULL);
  g_autofree char *empty = g_build_filename (dir, "7", "1", "7_idx5_x100_y0_class1.png", NULL);
  g_autoptr (GBytes) png = encode_png (50, 50, FALSE, 0x80);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = NULL;
  const char *const *problems;

  write_png (dir, "7/0/7_idx5_x0_y0_class0.png", 50, 50);
  write_png (dir, "7/1/7_idx5_x0_y0_class1.png", 50, 50);
  write_png (dir, "7/1/7_idx5_x150_y0_class1.png", 50, 20);
  {
    /* Damage the compressed data: the chunk checksums no longer match. */
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (png, NULL), g_bytes_get_size (png));

    for (gsize i = 40; i + 12 < g_bytes_get_size (png); i++)
      bad[i] ^= 0x5a;
    write_file (dir, "7/1/7_idx5_x50_y0_class1.png", bad, g_bytes_get_size (png));
  }
  write_file (dir, "7/1/7_idx5_x100_y0_class1.png", "", 0);

  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, 5);

  /* Fatal: the error names the first bad file in order (x100 sorts first). */
  g_assert_false (hg_dataset_load (ds, 50, 50, 1, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, empty));
  g_assert_true (g_str_has_suffix (error->message, ": the file is empty"));
  g_clear_error (&error);
  g_assert_false (hg_dataset_is_loaded (ds));

  /* Skipped: both left out, each reported with its path. */
  g_assert_true (hg_dataset_load (ds, 50, 50, 3, HG_DATASET_ON_ERROR_SKIP, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, 3);
  problems = hg_dataset_get_problems (ds);
  g_assert_cmpuint (g_strv_length ((char **) problems), ==, 2);
  g_assert_true (g_str_has_prefix (problems[0], empty));
  g_assert_true (g_str_has_prefix (problems[1], corrupt));
  g_assert_nonnull (strstr (problems[1], "cannot decode the image"));
  g_assert_cmpint (hg_dataset_get_sample (ds, 2)->height, ==, 20);

  /* A larger-than-input image is refused by name. */
  g_assert_false (hg_dataset_load (ds, 40, 40, 1, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "larger than the 40×40 input"));

  rm_rf (dir);
}

static void
test_dataset_bad_names (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *wrong = g_build_filename (dir, "7", "0", "7_idx5_x1_y1_klass0.png", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = NULL;
  g_autoptr (HgDataset) skipped = NULL;

  write_png (dir, "7/0/7_idx5_x0_y0_class0.png", 50, 50);
  write_png (dir, "7/0/7_idx5_x1_y1_klass0.png", 50, 50);
  write_png (dir, "7/1/7_idx5_x2_y0_class0.png", 50, 50);
  write_png (dir, "7/1/8_idx5_x3_y0_class1.png", 50, 50);
  write_file (dir, "7/0/.hidden", "x", 1);

  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_null (ds);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, wrong));
  g_assert_nonnull (strstr (error->message, "'_class' must follow Y"));
  g_clear_error (&error);

  skipped = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_SKIP, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hg_dataset_get_n_samples (skipped), ==, 1);
  g_assert_cmpuint (g_strv_length ((char **) hg_dataset_get_problems (skipped)), ==, 3);
  g_assert_nonnull (strstr (hg_dataset_get_problems (skipped)[1],
                            "the name says class 0 but the image is in the folder of class 1"));
  g_assert_nonnull (strstr (hg_dataset_get_problems (skipped)[2],
                            "the name says patient '8' but the image is in the folder of patient '7'"));
  rm_rf (dir);
}

static void
test_dataset_empty_and_missing (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *class_dir = g_build_filename (dir, "benign", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = NULL;

  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_null (ds);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, dir));
  g_assert_true (g_str_has_suffix (error->message, ": no images found (expected <class>/<image>)"));
  g_clear_error (&error);

  g_assert_cmpint (g_mkdir (class_dir, 0755), ==, 0);
  write_file (dir, "benign/notes.txt", "x", 1);
  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_FOLDERS, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_null (ds);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "the class folder holds no images"));
  g_clear_error (&error);

  ds = hg_dataset_open ("/nonexistent/patches", HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_null (ds);
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, "/nonexistent/patches: no such folder");
  g_clear_error (&error);

  write_png (dir, "loose.png", 5, 5);
  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_null (ds);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "an image outside any class folder"));
  rm_rf (dir);
}

static void
test_dataset_named_classes_and_splits (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = NULL;
  g_autoptr (HgSplits) splits = NULL;

  write_png (dir, "malignant/a.png", 50, 50);
  write_png (dir, "benign/b.PNG", 50, 50);
  write_png (dir, "benign/c.jpg.png", 50, 50);
  write_file (dir, "benign/readme.txt", "x", 1);

  ds = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, 3);
  g_assert_cmpstr (hg_dataset_get_class_names (ds)[0], ==, "benign");
  g_assert_cmpstr (hg_dataset_get_class_names (ds)[1], ==, "malignant");
  g_assert_null (hg_dataset_get_sample (ds, 0)->patient);

  /* No patients: a split file cannot apply, a random split can. */
  splits = hg_splits_new_from_data ("patient\tsplit\n1\ttrain\n", 22, NULL);
  g_assert_false (hg_dataset_apply_splits (ds, splits, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "the patient of this image is unknown"));
  g_clear_error (&error);

  g_assert_true (hg_dataset_assign_random_splits (ds, 0.34, 0, 1, &error));
  g_assert_no_error (error);
  rm_rf (dir);
}

static void
test_dataset_missing_patients (void)
{
  g_autofree char *root = fixture_root ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);
  const char *text = "patient\tsplit\n9320\ttrain\n8864\tval\n99\ttest\n";
  g_autoptr (HgSplits) splits = hg_splits_new_from_data (text, strlen (text), NULL);
  g_autofree char *expected = g_strdup_printf ("3 patients of %s are not in the split file: "
                                               "12749, 12930, 16552",
                                               root);

  g_assert_false (hg_dataset_apply_splits (ds, splits, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_dataset_random_splits (void)
{
  g_autofree char *root = fixture_root ();
  g_autoptr (HgDataset) a = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);
  g_autoptr (HgDataset) b = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, NULL);
  g_autoptr (GHashTable) split_of = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GError) error = NULL;
  guint n_val_patients = 0;

  g_assert_true (hg_dataset_assign_random_splits (a, 0.2, 0.2, 42, &error));
  g_assert_no_error (error);
  g_assert_true (hg_dataset_assign_random_splits (b, 0.2, 0.2, 42, NULL));

  /* The same seed gives the same split; a patient never straddles two. */
  for (guint i = 0; i < hg_dataset_get_n_samples (a); i++)
    {
      const HgSample *s = hg_dataset_get_sample (a, i);
      gpointer        prev = g_hash_table_lookup (split_of, s->patient);

      g_assert_cmpint (s->split, ==, hg_dataset_get_sample (b, i)->split);
      g_assert_cmpint (s->split, !=, HG_SPLIT_NONE);
      if (prev != NULL)
        g_assert_cmpint (GPOINTER_TO_INT (prev), ==, s->split);
      else
        {
          g_hash_table_insert (split_of, (gpointer) s->patient, GINT_TO_POINTER (s->split));
          n_val_patients += s->split == HG_SPLIT_VAL;
        }
    }
  g_assert_cmpuint (n_val_patients, ==, 1);

  g_assert_false (hg_dataset_assign_random_splits (a, 0.5, 0.5, 1, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
}

static void
test_dataset_shared (void)
{
  const char      *shared = g_getenv ("HG_SHARED_DATA");
  g_autofree char *root = shared != NULL ? g_build_filename (shared, "idc", "patches", NULL) : NULL;
  g_autofree char *splits_path = shared != NULL ? g_build_filename (shared, "idc", "splits.tsv", NULL) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) ds = NULL;
  g_autoptr (HgSplits) splits = NULL;

  if (root == NULL || !g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("the shared data ($HG_SHARED_DATA/idc/patches) is not available");
      return;
    }

  ds = hg_dataset_open (root, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_dataset_get_layout (ds), ==, HG_DATASET_LAYOUT_IDC);
  g_assert_cmpuint (hg_dataset_get_n_samples (ds), ==, 20586);
  g_assert_cmpuint (hg_dataset_get_n_patients (ds), ==, 236);
  splits = hg_splits_new_from_file (splits_path, &error);
  g_assert_no_error (error);
  g_assert_true (hg_dataset_apply_splits (ds, splits, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/idc-name/parse", test_idc_name_parse);
  g_test_add_func ("/hg/idc-name/errors", test_idc_name_errors);
  g_test_add_func ("/hg/image/decode", test_image_decode);
  g_test_add_func ("/hg/dataset/idc", test_dataset_idc);
  g_test_add_func ("/hg/dataset/load-and-pad", test_dataset_load_and_pad);
  g_test_add_func ("/hg/dataset/load-deterministic", test_dataset_load_deterministic);
  g_test_add_func ("/hg/dataset/subset-keeps-pixels", test_dataset_subset_keeps_pixels);
  g_test_add_func ("/hg/dataset/folders", test_dataset_folders);
  g_test_add_func ("/hg/dataset/bad-images", test_dataset_bad_images);
  g_test_add_func ("/hg/dataset/bad-names", test_dataset_bad_names);
  g_test_add_func ("/hg/dataset/empty-and-missing", test_dataset_empty_and_missing);
  g_test_add_func ("/hg/dataset/named-classes-and-splits", test_dataset_named_classes_and_splits);
  g_test_add_func ("/hg/dataset/missing-patients", test_dataset_missing_patients);
  g_test_add_func ("/hg/dataset/random-splits", test_dataset_random_splits);
  g_test_add_func ("/hg/dataset/shared", test_dataset_shared);

  return g_test_run ();
}
