/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "histoguard/histoguard.h"

static HgSplits *
parse (const char *text,
       GError    **error)
{
  return hg_splits_new_from_data (text, strlen (text), error);
}

static void
test_splits_parse (void)
{
  /* CRLF, comments, blank lines, spaces around fields, extra and reordered columns. */
  const char *text = "# made by hand\r\n"
                     "split\tpatches\tpatient\r\n"
                     "\r\n"
                     "train\t12\t8864\r\n"
                     "val \t3\t 10253\n"
                     "# a comment\n"
                     "test\t1\tP-7_a.b\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSplits) splits = parse (text, &error);
  HgSplit split = HG_SPLIT_NONE;

  g_assert_no_error (error);
  g_assert_cmpuint (hg_splits_get_n_patients (splits), ==, 3);
  g_assert_cmpint (hg_splits_lookup (splits, "8864"), ==, HG_SPLIT_TRAIN);
  g_assert_cmpint (hg_splits_lookup (splits, "10253"), ==, HG_SPLIT_VAL);
  g_assert_cmpint (hg_splits_lookup (splits, "P-7_a.b"), ==, HG_SPLIT_TEST);
  g_assert_cmpint (hg_splits_lookup (splits, "999"), ==, HG_SPLIT_NONE);
  g_assert_cmpstr (hg_splits_get_patient (splits, 1, &split), ==, "10253");
  g_assert_cmpint (split, ==, HG_SPLIT_VAL);
  g_assert_cmpstr (hg_split_to_string (HG_SPLIT_TEST), ==, "test");
}

static void
test_splits_errors (void)
{
  static const struct
  {
    const char *text;
    const char *message;
  } cases[] = {
    { "", "split file is empty" },
    { "# only a comment\n\n", "split file is empty" },
    { "patient\tsplit\n", "lists no patients" },
    { "patient split\n1 train\n", "line 1: the header must name the tab-separated columns 'patient' and 'split' (columns must be separated by tabs, not spaces)" },
    { "patient\tfold\n1\ttrain\n", "line 1: the header must name" },
    { "patient\tsplit\n1\ttrain\n2\ttset\n", "line 3: unknown split 'tset' for patient '2' (expected 'train', 'val' or 'test')" },
    { "patient\tsplit\n1\ttrain\n2\tval\n1\ttest\n", "line 4: patient '1' is listed twice (first on line 2)" },
    { "patient\tsplit\tpatches\n1\ttrain\n", "line 2: expected 3 tab-separated fields as in the header, found 2" },
    { "patient\tsplit\n1\ttrain\textra\n", "line 2: expected 2 tab-separated fields as in the header, found 3" },
    { "patient\tsplit\n\ttrain\n", "line 2: invalid patient ''" },
    { "patient\tsplit\n../etc\ttrain\n", "line 2: invalid patient '../etc'" },
    { "patient\tsplit\na/b\ttrain\n", "line 2: invalid patient 'a/b'" },
    { "patient\tsplit\n1\tTRAIN\n", "unknown split 'TRAIN'" },
    { "patient\tsplit\n\xff\ttrain\n", "not valid UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgSplits) splits = parse (cases[i].text, &error);

      g_test_message ("case %u: %s", i, cases[i].message);
      g_assert_null (splits);
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
}

static void
test_splits_nul_and_unterminated (void)
{
  /* A NUL byte is refused; a buffer without a final newline or NUL is read
   * to its length and no further. */
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSplits) nul = hg_splits_new_from_data ("patient\tsplit\n1\0\ttrain\n", 22, &error);
  g_autoptr (HgSplits) cut = NULL;
  char text[] = "patient\tsplit\n7\ttrainXXXX";

  g_assert_null (nul);
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "NUL"));

  cut = hg_splits_new_from_data (text, strlen ("patient\tsplit\n7\ttrain"), NULL);
  g_assert_nonnull (cut);
  g_assert_cmpint (hg_splits_lookup (cut, "7"), ==, HG_SPLIT_TRAIN);
}

static void
test_splits_file (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSplits) splits = hg_splits_new_from_file (path, &error);
  g_autoptr (HgSplits) missing = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (hg_splits_get_n_patients (splits), ==, 5);
  g_assert_cmpint (hg_splits_lookup (splits, "12749"), ==, HG_SPLIT_TEST);

  missing = hg_splits_new_from_file ("/nonexistent/splits.tsv", &error);
  g_assert_null (missing);
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/splits.tsv: "));
}

static void
test_splits_shared_file (void)
{
  const char      *shared = g_getenv ("HG_SHARED_DATA");
  g_autofree char *path = shared != NULL ? g_build_filename (shared, "idc", "splits.tsv", NULL) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSplits) splits = NULL;
  guint counts[HG_SPLIT_N] = { 0 };

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the shared data ($HG_SHARED_DATA/idc/splits.tsv) is not available");
      return;
    }

  splits = hg_splits_new_from_file (path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < hg_splits_get_n_patients (splits); i++)
    {
      HgSplit split;

      hg_splits_get_patient (splits, i, &split);
      counts[split]++;
    }
  g_assert_cmpuint (counts[HG_SPLIT_TRAIN], ==, 188);
  g_assert_cmpuint (counts[HG_SPLIT_VAL], ==, 24);
  g_assert_cmpuint (counts[HG_SPLIT_TEST], ==, 24);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/splits/parse", test_splits_parse);
  g_test_add_func ("/hg/splits/errors", test_splits_errors);
  g_test_add_func ("/hg/splits/nul-and-unterminated", test_splits_nul_and_unterminated);
  g_test_add_func ("/hg/splits/file", test_splits_file);
  g_test_add_func ("/hg/splits/shared-file", test_splits_shared_file);

  return g_test_run ();
}
