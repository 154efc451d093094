/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bad-input matrix: malformed files and wrong values given to
 * histoguard-cli, each refused with its specific message and exit status,
 * never a crash or a hang (a run that hangs fails: hg-test-cli.h).
 *
 * Each case makes its input in a fresh folder, runs the command with "@"
 * replaced by the input's path and "%" by tests/data/tiny-cnn.safetensors,
 * and looks for a fragment of the message on standard error. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>
#include <tiffio.h>

#include "histoguard/histoguard.h"

#include "hg-test-bad-files.h"
#include "hg-test-cli.h"
#include "hg-test-slides.h"

typedef void (*MakeFunc) (const char *path);

typedef struct
{
  const char *name;
  const char *file; /* the input's name in the case's folder */
  MakeFunc    make;
  const char *argv[12];
  int         exit_code;
  const char *message; /* on stderr; NULL: expect success */
} BadCase;

static const BadCase cases[] = {
  /* Model files: info and predict read them the same way. */
  { "model/empty", "m.safetensors", hg_test_bad_empty, { "info", "@" }, 1, "file of 0 bytes is too short for a safetensors header" },
  { "model/short", "m.safetensors", hg_test_bad_model_short, { "info", "@" }, 1, "file of 4 bytes is too short for a safetensors header" },
  { "model/truncated-header", "m.safetensors", hg_test_bad_model_truncated_header, { "info", "@" }, 1, "header length 1000 exceeds the 2 bytes after it in the file" },
  { "model/oversized-header", "m.safetensors", hg_test_bad_model_oversized_header, { "info", "@" }, 1, "header length 18446744073709551615 exceeds the 2 bytes after it in the file" },
  { "model/not-json", "m.safetensors", hg_test_bad_model_not_json, { "info", "@" }, 1, "header: " },
  { "model/truncated-data", "m.safetensors", hg_test_bad_model_truncated_data, { "info", "@" }, 1, "lie outside the 24064 data bytes of the file" },
  { "model/nan-weight", "m.safetensors", hg_test_bad_model_nan, { "predict", "-m", "@", "x.png" }, 1, "tensor 'conv2.weight' holds a non-finite value (nan) at index 45" },
  { "model/inf-bias", "m.safetensors", hg_test_bad_model_inf, { "info", "@" }, 1, "tensor 'fc.bias' holds a non-finite value (-inf) at index 1" },
  { "model/shape-mismatch", "m.safetensors", hg_test_bad_model_shape_mismatch, { "info", "@" }, 1, "tensor 'conv1.weight' has shape [3, 8, 3, 3] but architecture 'cnn' needs [8, 3, 3, 3]" },
  { "model/offsets-outside", "m.safetensors", hg_test_bad_model_offsets_outside, { "info", "@" }, 1, "tensor 'fc.bias': data_offsets [25056, 99999999] lie outside the 25064 data bytes" },
  { "model/shape-overflow", "m.safetensors", hg_test_bad_model_shape_overflow, { "info", "@" }, 1, "tensor 'fc.bias': the element count overflows" },
  { "model/shape-32bit", "m.safetensors", hg_test_bad_model_shape_32bit, { "info", "@" }, 1, "tensor 'fc.bias': shape needs 17179869184 bytes but data_offsets span 8" },
  { "model/input-overflow", "m.safetensors", hg_test_bad_model_input_overflow, { "info", "@" }, 1, "metadata 'arch': architecture: \"input\"[0] must be an integer in [1, 4096]" },
  { "model/negative-variance", "m.safetensors", hg_test_bad_model_negative_variance, { "info", "@" }, 1, "tensor 'bn1.running_var' holds a negative variance (-1) at index 2" },
  { "model/unknown-format", "m.safetensors", hg_test_bad_model_unknown_format, { "info", "@" }, 1, "metadata 'format' is 'keras-model', not 'histoguard-model'" },
  { "model/folder", "m.safetensors", hg_test_bad_folder, { "info", "@" }, 1, "m.safetensors': it is a folder, not a file" },
  { "model/fifo", "m.safetensors", hg_test_bad_fifo, { "predict", "--model", "@", "x.png" }, 1, "m.safetensors': it is a named pipe (FIFO), not a file" },
  { "model/symlink-loop", "m.safetensors", hg_test_bad_symlink_loop, { "info", "@" }, 1, "Too many levels of symbolic links" },
  { "model/missing", "m.safetensors", NULL, { "info", "@" }, 1, "No such file or directory" },

  /* Slides. */
  { "slide/empty", "scan.svs", hg_test_bad_empty, { "slide-info", "@" }, 1, "“scan.svs” is empty (0 bytes): it holds no slide" },
  { "slide/text", "scan.svs", hg_test_bad_text, { "slide-info", "@" }, 1, "“scan.svs” is a text file, not a slide" },
  { "slide/tiff-huge-tag", "scan.svs", hg_test_bad_tiff_huge_tag, { "slide-info", "@" }, 1, "“scan.svs” is a damaged TIFF: its tag 270 claims 4236230656 values, more than the whole file holds" },
  { "slide/fifo", "scan.svs", hg_test_bad_fifo, { "slide-info", "@" }, 1, "“scan.svs” is not a regular file" },
  { "slide/symlink-loop", "scan.svs", hg_test_bad_symlink_loop, { "slide-info", "@" }, 1, "Too many levels of symbolic links" },
  { "slide/png-huge", "big.png", hg_test_bad_png_huge, { "slide-info", "@" }, 1, "“big.png” is 100000 × 100000 pixels; plain images are read into memory" },
  { "slide/png-32bit", "big.png", hg_test_bad_png_32bit, { "slide-info", "@" }, 1, "“big.png” is 46341 × 46341 pixels; plain images are read into memory" },
  { "slide/png-zero-width", "flat.png", hg_test_bad_png_zero_width, { "slide-info", "@" }, 1, "“flat.png” is a damaged PNG image: " },
  { "slide/png-truncated", "cut.png", hg_test_bad_png_truncated, { "slide-info", "@" }, 1, "“cut.png” is a damaged PNG image: the file ends after " },
  { "slide/bmp-as-png", "scan.png", hg_test_bad_bmp_as_png, { "slide-info", "@" }, 1, "“scan.png” is neither a whole-slide file OpenSlide reads" },
  { "slide/empty-folder", "patches", hg_test_bad_folder, { "slide-info", "@" }, 1, "holds no IDC patches" },
  { "slide/absurd-coordinate", "patches", hg_test_bad_folder_absurd_coordinate, { "slide-info", "@" }, 1, "X is not a number from 0 to 10000000" },
  { "slide/huge-patch", "patches", hg_test_bad_folder_huge_patch, { "slide-info", "@" }, 1, "patch “77_idx5_x101_y1_class0.png” is 2000 × 2000 pixels; IDC patches are 50 × 50" },
  /* Not errors: the pipe is an unreadable patch, the loop is not followed
   * forever. The run must simply finish. */
  { "slide/folder-with-fifo", "patches", hg_test_bad_folder_with_fifo, { "slide-info", "--properties", "@" }, 0, "\"idc.patches.unreadable\" : \"1\"" },
  { "slide/folder-with-loop", "patches", hg_test_bad_folder_with_loop, { "slide-info", "@" }, 0, "\"patches\" : 2" },

  /* Patch images given to predict. */
  { "patch/too-large", "p.png", hg_test_bad_png_60, { "predict", "-m", "%", "@" }, 1, "p.png: the image is 60×60 pixels, larger than the 50×50 input" },
  { "patch/empty", "p.png", hg_test_bad_empty, { "predict", "-m", "%", "@" }, 1, "p.png: the file is empty" },
  { "patch/truncated", "p.png", hg_test_bad_png_truncated, { "predict", "-m", "%", "@" }, 1, "p.png: cannot decode the image: the file ends after " },
  { "patch/bmp", "p.png", hg_test_bad_bmp_as_png, { "predict", "-m", "%", "@" }, 1, "p.png: not a PNG, JPEG or TIFF image" },
  { "patch/fifo", "p.png", hg_test_bad_fifo, { "predict", "-m", "%", "@" }, 1, "p.png: it is a named pipe (FIFO), not a file" },
  { "patch/folder", "p.png", hg_test_bad_folder, { "predict", "-m", "%", "@" }, 1, "p.png: it is a folder, not a file" },

  /* Wrong values on the command line. */
  { "args/predict-threads", NULL, NULL, { "predict", "-m", "%", "--threads", "-1", "x.png" }, 2, "--threads must be from 0 (one per core) to 256, not -1" },
  { "args/predict-threads-text", NULL, NULL, { "predict", "-m", "%", "--threads", "many", "x.png" }, 2, "Cannot parse integer value “many” for --threads" },
  { "args/train-epochs-zero", NULL, NULL, { "train", "--data", "d", "--out", "o", "--epochs", "0" }, 2, "--epochs must be from 1 to 100000, not 0" },
  { "args/train-epochs-overflow", NULL, NULL, { "train", "--data", "d", "--out", "o", "--epochs", "99999999999" }, 2, "Integer value “99999999999” for --epochs out of range" },
  { "args/train-batch", NULL, NULL, { "train", "--data", "d", "--out", "o", "--batch", "1" }, 2, "--batch must be from 2 to 4096, not 1" },
  { "args/train-eps-nan", NULL, NULL, { "train", "--data", "d", "--out", "o", "--eps", "nan" }, 2, "--eps must be above 0 and at most 255 (in 1/255), not nan" },
  { "args/train-lr-inf", NULL, NULL, { "train", "--data", "d", "--out", "o", "--lr", "inf" }, 2, "--lr must be above 0 and at most 10, not inf" },
  { "args/train-final-eps", NULL, NULL, { "train", "--data", "d", "--out", "o", "--final-eps", "4,,8" }, 2, "--final-eps: '' is not an ε from 1 to 255 (in 1/255)" },
  { "args/train-arch-option", NULL, NULL, { "train", "--data", "d", "--out", "o", "--arch", "cnn:width=99999" }, 2, "architecture 'cnn': option width=99999 is not an integer in [1, 1024]" },
  { "args/train-arch-device", NULL, NULL, { "train", "--data", "d", "--out", "o", "--arch", "/dev/zero" }, 2, "cannot read architecture file '/dev/zero': it is a device, not a file" },
  /* eval, attack and heatmap. */
  { "args/eval-eps-nan", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--eps", "1,nan" }, 2, "--eps: 'nan' is not a number (ε is in units of 1/255" },
  { "args/eval-eps-negative", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--eps", "-1" }, 2, "--eps: ε must not be negative, got -1" },
  { "args/eval-eps-large", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--eps", "300" }, 2, "--eps: ε is in units of 1/255 and at most 255, got 300" },
  { "args/eval-defense", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--defense", "none,jpeg:0" }, 2, "--defense: jpeg quality must be from 1 to 100, got '0' in 'jpeg:0'" },
  { "args/eval-detector", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--detector", "bits:99" }, 2, "--detector: bits bit depth must be from 1 to 8, got '99' in 'bits:99'" },
  { "args/eval-attack", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--attack", "fgsm,carlini" }, 2, "--attack: unknown attack 'carlini' (known: fgsm, bim, pgd, mifgsm, deepfool)" },
  { "args/eval-steps", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--steps", "-3" }, 2, "--steps must be from 1 to 10000, got -3" },
  { "args/eval-detector-fpr", NULL, NULL, { "eval", "-m", "%", "-d", "$idc", "--detector-fpr", "2" }, 2, "--detector-fpr must be between 0 and 1, got 2" },
  { "args/attack-target", NULL, NULL, { "attack", "-m", "%", "--eps", "4", "--target", "zebra", "x.png", "out.png" }, 2, "--target: the model has no class 'zebra' (classes: non-IDC, IDC)" },
  { "args/attack-input-fifo", "in.png", hg_test_bad_fifo, { "attack", "-m", "%", "--eps", "4", "@", "out.png" }, 1, "in.png: it is a named pipe (FIFO), not a file" },
  { "args/attack-output-folder", "out", hg_test_bad_folder, { "attack", "-m", "%", "--eps", "4", "x.png", "@" }, 1, "could not write '" },
  { "args/heatmap-opacity", NULL, NULL, { "heatmap", "-m", "%", "--opacity", "2", "slide" }, 2, "--opacity must be from 0 to 1, not 2" },
  { "args/heatmap-size", NULL, NULL, { "heatmap", "-m", "%", "--size", "100000", "slide" }, 2, "--size must be from 64 to 16384 pixels, not 100000" },
  { "args/heatmap-colormap", NULL, NULL, { "heatmap", "-m", "%", "--colormap", "rainbow", "slide" }, 2, "--colormap must be viridis, magma or coolwarm, not 'rainbow'" },
  { "args/heatmap-batch", NULL, NULL, { "heatmap", "-m", "%", "--batch", "0", "slide" }, 2, "--batch must be from 1 to 4096, not 0" },
  { "args/heatmap-tile-size", NULL, NULL, { "heatmap", "-m", "%", "--tile-size", "1e300", "$demo" }, 1, "a tile of 1e+300 pixels does not fit idc-8863" },
  { "args/heatmap-slide-fifo", "scan.svs", hg_test_bad_fifo, { "heatmap", "-m", "%", "@" }, 1, "“scan.svs” is not a regular file" },
  { "args/heatmap-out-missing-folder", NULL, NULL, { "heatmap", "-q", "-m", "%", "--csv", "/nonexistent/tiles.csv", "$demo" }, 1, "could not write /nonexistent/tiles.csv: " },
  { "args/train-splits-fifo", "splits.tsv", hg_test_bad_fifo, { "train", "--data", "$idc", "--splits", "@", "--out", "o.safetensors", "--epochs", "1" }, 1, "splits.tsv: cannot read the split file: it is a named pipe (FIFO), not a file" },
};

static void
run_case (gconstpointer data)
{
  const BadCase   *c = data;
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input");
  g_autofree char *path = c->file != NULL ? g_build_filename (dir, c->file, NULL) : NULL;
  g_autofree char *model = hg_test_tiny_model_path ();
  g_autofree char *idc = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo", "idc-8863", NULL);
  g_autofree char *out = g_build_filename (dir, "out.png", NULL);
  g_autofree char *patch = g_build_filename (dir, "x.png", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (HgCliRun) run = NULL;

  if (c->make != NULL)
    c->make (path);
  /* "x.png" in a case's arguments is a good patch. */
  {
    g_autoptr (GBytes) png = hg_test_bad_encode_png (50, 50);
    gsize         length = 0;
    const guint8 *bytes = g_bytes_get_data (png, &length);

    hg_test_write_file (patch, bytes, (gssize) length);
  }

  for (int i = 0; c->argv[i] != NULL; i++)
    {
      const char *a = c->argv[i];

      g_ptr_array_add (argv, (gpointer) (strcmp (a, "@") == 0         ? path
                                         : strcmp (a, "%") == 0       ? model
                                         : strcmp (a, "$idc") == 0    ? idc
                                         : strcmp (a, "$demo") == 0   ? demo
                                         : strcmp (a, "out.png") == 0 ? out
                                         : strcmp (a, "x.png") == 0   ? patch
                                                                      : a));
    }
  g_ptr_array_add (argv, NULL);

  run = hg_test_cli_run ((const char *const *) argv->pdata);
  g_test_message ("exit %d; stderr: %s", run->exit_code, run->err);
  g_assert_cmpint (run->exit_code, ==, c->exit_code);
  if (c->exit_code == 0)
    {
      if (strstr (run->out, c->message) == NULL)
        g_error ("the output “%s” does not mention “%s”", run->out, c->message);
    }
  else
    {
      g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: "));
      if (strstr (run->err, c->message) == NULL)
        g_error ("the message “%s” does not mention “%s”", run->err, c->message);
    }

  hg_test_remove_tree (dir);
}

/* ---- in process --------------------------------------------------------- */

/* OpenSlide 3.4.1 lists an Aperio description field without '=' as a
 * property with no value (and logs a critical on the way): found by
 * fuzz/fuzz-slide; every listed property must have text. */
static void
test_aperio_field_without_value (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input");
  g_autofree char *path = g_build_filename (dir, "scan.svs", NULL);
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (GError) error = NULL;
  const char *const *names;
  guint8             tile[16 * 16 * 3];
  TIFF              *tiff = TIFFOpen (path, "w");

  g_assert_nonnull (tiff);
  memset (tile, 0x80, sizeof tile);
  TIFFSetField (tiff, TIFFTAG_IMAGEWIDTH, 32);
  TIFFSetField (tiff, TIFFTAG_IMAGELENGTH, 32);
  TIFFSetField (tiff, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField (tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
  TIFFSetField (tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
  TIFFSetField (tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  TIFFSetField (tiff, TIFFTAG_TILEWIDTH, 16);
  TIFFSetField (tiff, TIFFTAG_TILELENGTH, 16);
  TIFFSetField (tiff, TIFFTAG_IMAGEDESCRIPTION,
                "Aperio Image Library v11.2.1\r\n32x32 (16x16) JPEG/RGB Q=75|AppMag = 20|no value here|MPP = 0.5");
  for (int y = 0; y < 32; y += 16)
    for (int x = 0; x < 32; x += 16)
      g_assert_cmpint (TIFFWriteTile (tiff, tile, x, y, 0, 0), >, 0);
  g_assert_true (TIFFWriteDirectory (tiff));
  TIFFClose (tiff);

  /* g_strstrip (NULL), inside OpenSlide: g_strchug, then g_strchomp. */
  g_test_expect_message ("GLib", G_LOG_LEVEL_CRITICAL, "*g_strchug*string != NULL*");
  g_test_expect_message ("GLib", G_LOG_LEVEL_CRITICAL, "*g_strchomp*string != NULL*");
  slide = hg_slide_open (path, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_cmpstr (hg_slide_get_vendor (slide), ==, "aperio");
  g_assert_cmpstr (hg_slide_get_property (slide, "aperio.AppMag"), ==, "20");
  names = hg_slide_get_property_names (slide);
  for (guint i = 0; names[i] != NULL; i++)
    if (hg_slide_get_property (slide, names[i]) == NULL)
      g_error ("property “%s” is listed without a value", names[i]);

  hg_test_remove_tree (dir);
}

/* A named pipe never blocks a reader: not the model, split, architecture
 * or patch loaders, nor a patch folder with one inside. */
static void
test_fifos_do_not_block (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input");
  g_autofree char *fifo = g_build_filename (dir, "pipe.json", NULL);
  g_autoptr (GError) error = NULL;
  float pixels[3 * 50 * 50];

  hg_test_bad_fifo (fifo);

  g_assert_null (hg_model_load (fifo, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (hg_splits_new_from_file (fifo, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (hg_arch_new (fifo, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "named pipe"));
  g_clear_error (&error);
  g_assert_false (hg_patch_load (fifo, 50, 50, pixels, NULL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);

  hg_test_remove_tree (dir);
}

/* GdkPixbuf's PNG loader closes a cut file without an error: the decoder
 * must notice, or a training set silently gets uninitialised pixels. */
static void
test_truncated_png_patch (void)
{
  g_autoptr (GBytes) png = hg_test_bad_encode_png (50, 50);
  g_autoptr (GError) error = NULL;
  gsize         length = 0;
  const guint8 *data = g_bytes_get_data (png, &length);
  float         pixels[3 * 50 * 50];

  g_assert_true (hg_patch_decode (data, length, 50, 50, pixels, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize cut = 60; cut < length; cut += length / 7)
    {
      g_assert_false (hg_patch_decode (data, cut, 50, 50, pixels, NULL, NULL, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_DATA);
      g_test_message ("cut at %" G_GSIZE_FORMAT ": %s", cut, error->message);
      g_clear_error (&error);
    }
}

/* A valid-looking description whose convolution would need gigabytes of
 * im2col scratch per thread: refused while parsing, not by g_new()
 * aborting in the middle of a forward pass. */
static void
test_arch_scratch_limit (void)
{
  static const char json[] =
      "{\"name\": \"wide\", \"input\": [64, 4096, 16], \"nodes\": ["
      "{\"name\": \"c\", \"op\": \"conv2d\", \"channels\": 2, \"kernel\": 15},"
      "{\"name\": \"g\", \"op\": \"global_avgpool\"}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (HgArch) arch = hg_arch_new_from_json (json, strlen (json), &error);

  g_assert_null (arch);
  g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "a 15×15 convolution of 16 channels over rows of 4082 "
                                            "pixels needs 220428000 floats of scratch memory"));
}

/* Headers that ask for tens of gigabytes. GdkPixbuf's loaders allocate
 * the whole image as soon as they know its size (whatever
 * gdk_pixbuf_loader_set_size() says): the decoder must refuse from the
 * header before a loader sees it. Under the ASan build an attempt to
 * allocate aborts the test; elsewhere the allocation fails quietly. */
static void
test_huge_headers (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input");
  struct
  {
    const char *name;
    void (*write) (const char *path, guint32 width, guint32 height);
    guint32 width, height;
  } headers[] = {
    { "huge.png", (gpointer) hg_test_bad_png_header, 60000, 60000 },
    { "huge.jpg", (gpointer) hg_test_bad_jpeg_header, 65000, 65000 },
    { "huge.tif", (gpointer) hg_test_bad_tiff_header, 100000, 100000 },
  };
  float pixels[3 * 50 * 50];

  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *path = g_build_filename (dir, headers[i].name, NULL);
      g_autofree char *size = g_strdup_printf ("%u × %u", headers[i].width, headers[i].height);
      g_autofree char *patch_size = g_strdup_printf ("the image is %u×%u pixels, larger than the 50×50 input",
                                                     headers[i].width, headers[i].height);
      g_autoptr (GError) error = NULL;
      g_autoptr (HgSlide) slide = NULL;

      headers[i].write (path, headers[i].width, headers[i].height);
      g_assert_false (hg_patch_load (path, 50, 50, pixels, NULL, NULL, &error));
      g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
      g_assert_nonnull (strstr (error->message, patch_size));
      g_clear_error (&error);

      slide = hg_slide_open (path, NULL, &error);
      g_assert_null (slide);
      g_test_message ("%s: %s", headers[i].name, error->message);
      g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
      g_assert_nonnull (strstr (error->message, size));
    }
  hg_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/hg/bad-input/cli/%s", cases[i].name);

      g_test_add_data_func (path, &cases[i], run_case);
    }
  g_test_add_func ("/hg/bad-input/aperio-field-without-value", test_aperio_field_without_value);
  g_test_add_func ("/hg/bad-input/fifos-do-not-block", test_fifos_do_not_block);
  g_test_add_func ("/hg/bad-input/truncated-png-patch", test_truncated_png_patch);
  g_test_add_func ("/hg/bad-input/arch-scratch-limit", test_arch_scratch_limit);
  g_test_add_func ("/hg/bad-input/huge-headers", test_huge_headers);

  return g_test_run ();
}
