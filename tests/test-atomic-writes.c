/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Everything Histoguard writes replaces the previous file atomically: a
 * writer killed in the middle, or a write that fails, leaves the old file
 * whole.
 *
 * The kill is deterministic: the writer runs with RLIMIT_FSIZE below the
 * file's size, so the kernel stops it (SIGXFSZ) exactly while it writes;
 * with SIGXFSZ ignored, the same limit makes write() fail (EFBIG). */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "histoguard/histoguard.h"

#include "hg-test-bad-files.h"
#include "hg-test-slides.h"

/* The slide the heatmap writers need, beside the file written so that the
 * test's folder holds it. */
#define HEATMAP_SLIDE "heatmap-slide.tif"

/* Well below every file written here (the tiny model is 27 KiB). */
#define FILE_SIZE_LIMIT 4096

static void
limit_file_size (gboolean kill)
{
  struct rlimit limit = { FILE_SIZE_LIMIT, FILE_SIZE_LIMIT };

  signal (SIGXFSZ, kill ? SIG_DFL : SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
}

static void
child_limit_file_size (gpointer data)
{
  limit_file_size (TRUE);
}

/* The names in dir other than keep. */
static char **
other_files (const char *dir,
             const char *keep)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    if (strcmp (name, keep) != 0 && strcmp (name, HEATMAP_SLIDE) != 0)
      g_ptr_array_add (names, g_strdup (name));
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static void
assert_unchanged (const char *path,
                  GBytes     *before)
{
  g_autofree char *contents = NULL;
  gsize            length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_bytes_get_data (before, NULL), g_bytes_get_size (before));
}

static GBytes *
read_bytes (const char *path)
{
  g_autofree char *contents = NULL;
  gsize            length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), length);
}

/* ---- writers ------------------------------------------------------------ */

typedef gboolean (*WriteFunc) (const char *path,
                               GError    **error);

static gboolean
write_model (const char *path,
             GError    **error)
{
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn:width=8", 5, error);

  return model != NULL && hg_model_save (model, path, error);
}

static gboolean
write_png (const char *path,
           GError    **error)
{
  g_autoptr (HgImage) image = hg_image_new (300, 200, error);

  if (image == NULL)
    return FALSE;
  /* Noise does not compress below the limit. */
  for (gsize i = 0; i < hg_image_get_size (image); i++)
    hg_image_get_mutable_data (image)[i] = (guint8) (i * 2654435761u >> 13);
  return hg_image_save_png (image, path, error);
}

static HgHeatmap *heatmap;

/* A heatmap of 400 tiles over a generated slide, every tile scored. */
static HgHeatmap *
make_heatmap (void)
{
  static const char *const classes[] = { "non-IDC", "IDC" };

  if (heatmap == NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr (HgSlide) slide = NULL;
      g_autoptr (HgTiling) tiling = NULL;
      g_autoptr (GError) error = NULL;
      HgTilingOptions options;

      g_autofree char *dir = g_path_get_dirname (g_getenv ("HG_TEST_ATOMIC_PATH"));

      path = g_build_filename (dir, HEATMAP_SLIDE, NULL);
      hg_test_write_pyramid_tiff (path, 1000, 1000, 2, 256, HG_TEST_TIFF_RAW);
      slide = hg_slide_open (path, NULL, &error);
      g_assert_no_error (error);
      hg_tiling_options_init (&options);
      options.tile_size = 50;
      options.min_tissue = 0;
      tiling = hg_tiling_new (slide, 50, 50, HG_SLIDE_IDC_MPP, &options, &error);
      g_assert_no_error (error);
      heatmap = hg_heatmap_new (tiling, 2, classes, 1);
      for (gsize i = 0; i < hg_tiling_get_n_tiles (tiling); i++)
        {
          float p = (float) ((i * 37) % 101) / 100.0f;
          float probs[2] = { 1.0f - p, p };

          hg_heatmap_set_probabilities (heatmap, i, 1, probs);
        }
    }
  return heatmap;
}

static gboolean
write_heatmap_csv (const char *path,
                   GError    **error)
{
  return hg_heatmap_save_csv (make_heatmap (), path, error);
}

static gboolean
write_heatmap_geojson (const char *path,
                       GError    **error)
{
  return hg_heatmap_save_geojson (make_heatmap (), path, error);
}

static gboolean
write_heatmap_png (const char *path,
                   GError    **error)
{
  HgHeatmapStyle style;

  hg_heatmap_style_init (&style);
  return hg_heatmap_save_png (make_heatmap (), &style, 512, path, error);
}

typedef struct
{
  const char *name;
  const char *file;
  WriteFunc   write;
  void (*prepare) (void); /* before the limit: what the writer reads */
} Writer;

static void
prepare_heatmap (void)
{
  make_heatmap ();
}

static const Writer writers[] = {
  { "model", "model.safetensors", write_model },
  { "png", "export.png", write_png },
  { "heatmap-csv", "tiles.csv", write_heatmap_csv, prepare_heatmap },
  { "heatmap-geojson", "tiles.geojson", write_heatmap_geojson, prepare_heatmap },
  { "heatmap-png", "heatmap.png", write_heatmap_png, prepare_heatmap },
};

/* The previous file: a valid one of the same kind. */
static void
write_previous (const Writer *w,
                const char   *path)
{
  g_autoptr (GError) error = NULL;

  if (w->write == write_model)
    {
      g_autofree char *tiny = hg_test_tiny_model_path ();
      g_autoptr (GBytes) bytes = read_bytes (tiny);

      hg_test_write_file (path, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes));
    }
  else if (g_str_has_suffix (w->file, ".png"))
    {
      g_autoptr (HgImage) image = hg_image_new (8, 8, &error);

      g_assert_true (hg_image_save_png (image, path, &error));
      g_assert_no_error (error);
    }
  else
    hg_test_write_file (path, "the previous export\n", -1);
}

static void
check_previous_loads (const Writer *w,
                      const char   *path)
{
  g_autoptr (GError) error = NULL;

  if (w->write == write_model)
    {
      g_autoptr (HgModel) model = hg_model_load (path, &error);

      g_assert_no_error (error);
    }
  else if (g_str_has_suffix (w->file, ".png"))
    {
      g_autoptr (HgSlide) slide = hg_slide_open (path, NULL, &error);

      g_assert_no_error (error);
    }
}

/* Killed mid-write: the old file is intact; at most the temporary file of
 * the interrupted write is left beside it. */
static void
test_killed (gconstpointer data)
{
  const Writer    *w = data;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GBytes) before = NULL;
  g_auto (GStrv) others = NULL;

  if (g_test_subprocess ())
    {
      if (w->prepare != NULL)
        w->prepare ();
      limit_file_size (TRUE);
      w->write (g_getenv ("HG_TEST_ATOMIC_PATH"), NULL);
      g_error ("the write of %s was not stopped by the file size limit", w->name);
    }

  dir = hg_test_make_tmpdir ("hg-test-atomic");
  path = g_build_filename (dir, w->file, NULL);
  write_previous (w, path);
  before = read_bytes (path);

  g_setenv ("HG_TEST_ATOMIC_PATH", path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  assert_unchanged (path, before);
  check_previous_loads (w, path);
  others = other_files (dir, w->file);
  g_assert_cmpuint (g_strv_length (others), <=, 1);
  if (others[0] != NULL)
    {
      g_test_message ("left behind: %s", others[0]);
      g_assert_true (g_str_has_prefix (others[0], w->file));
    }
  hg_test_remove_tree (dir);
}

/* The write fails (EFBIG): an error that says so, the old file intact and
 * no temporary file left. */
static void
test_fails (gconstpointer data)
{
  const Writer    *w = data;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GBytes) before = NULL;
  g_auto (GStrv) others = NULL;

  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;

      if (w->prepare != NULL)
        w->prepare ();
      limit_file_size (FALSE);
      g_assert_false (w->write (g_getenv ("HG_TEST_ATOMIC_PATH"), &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_IO);
      g_assert_nonnull (strstr (error->message, g_getenv ("HG_TEST_ATOMIC_PATH")));
      g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
      g_printerr ("%s\n", error->message);
      return;
    }

  dir = hg_test_make_tmpdir ("hg-test-atomic");
  path = g_build_filename (dir, w->file, NULL);
  write_previous (w, path);
  before = read_bytes (path);

  g_setenv ("HG_TEST_ATOMIC_PATH", path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*File too large*");

  assert_unchanged (path, before);
  check_previous_loads (w, path);
  others = other_files (dir, w->file);
  g_assert_cmpstrv (others, ((const char *const[]){ NULL }));
  hg_test_remove_tree (dir);
}

/* Commands killed by the kernel while they write their output over an
 * existing file ("@" is the output, "%" the tiny model). */
typedef struct
{
  const char *name;
  const char *file;
  const char *argv[24];
} CliWriter;

static const CliWriter cli_writers[] = {
  { "train", "model.safetensors", { "train", "--data", "$idc", "--splits", "$splits", "--arch", "cnn:width=4", "--epochs", "2", "--batch", "16", "--threads", "1", "--out", "@" } },
  { "eval", "report.json", { "eval", "-m", "%", "-d", "$idc", "--splits", "$splits", "--eps", "0,1,2,4,8", "--attack", "fgsm,bim", "--defense", "none,jpeg:75", "-q", "--json", "@" } },
  { "heatmap", "tiles.csv", { "heatmap", "-q", "-m", "%", "--csv", "@", "$demo" } },
  { "attack", "adversarial.png", { "attack", "-m", "%", "--eps", "8", "$patch", "@" } },
};

static void
test_cli_killed (gconstpointer data)
{
  const CliWriter *w = data;
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-atomic");
  g_autofree char *out = g_build_filename (dir, w->file, NULL);
  g_autofree char *model = hg_test_tiny_model_path ();
  g_autofree char *idc = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autofree char *splits = g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo", "idc-8863", NULL);
  g_autofree char *patch = g_build_filename (demo, "1", "8863_idx5_x1001_y1501_class1.png", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) before = NULL;

  /* Any previous file will do: nothing of the new one may reach it. */
  if (g_str_has_suffix (out, ".safetensors"))
    write_previous (&writers[0], out);
  else
    hg_test_write_file (out, "the previous output\n", -1);
  before = read_bytes (out);

  g_ptr_array_add (argv, (gpointer) g_getenv ("HG_CLI"));
  for (int i = 0; w->argv[i] != NULL; i++)
    {
      const char *a = w->argv[i];

      g_ptr_array_add (argv, (gpointer) (strcmp (a, "@") == 0         ? out
                                         : strcmp (a, "%") == 0       ? model
                                         : strcmp (a, "$idc") == 0    ? idc
                                         : strcmp (a, "$splits") == 0 ? splits
                                         : strcmp (a, "$demo") == 0   ? demo
                                         : strcmp (a, "$patch") == 0  ? patch
                                                                      : a));
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, child_limit_file_size, NULL, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_signaled (proc))
    g_error ("%s was not stopped while writing (exit status %d)", w->name,
             g_subprocess_get_exit_status (proc));
  g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGXFSZ);

  assert_unchanged (out, before);
  hg_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (writers); i++)
    {
      g_autofree char *killed = g_strdup_printf ("/hg/atomic/%s/killed", writers[i].name);
      g_autofree char *fails = g_strdup_printf ("/hg/atomic/%s/fails", writers[i].name);

      g_test_add_data_func (killed, &writers[i], test_killed);
      g_test_add_data_func (fails, &writers[i], test_fails);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cli_writers); i++)
    {
      g_autofree char *path = g_strdup_printf ("/hg/atomic/cli/%s-killed", cli_writers[i].name);

      g_test_add_data_func (path, &cli_writers[i], test_cli_killed);
    }

  status = g_test_run ();
  g_clear_pointer (&heatmap, hg_heatmap_unref);
  return status;
}
