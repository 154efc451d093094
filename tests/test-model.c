/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Model files: round trips, metadata, every malformed-file error, the
 * architectures, `histoguard-cli info`, and the committed test model. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"
#include "hg-test-model.h"

static char *
test_model_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
}

/* ---- building files ---------------------------------------------------------- */

/* Splits a file image into its header object and its data bytes. */
static JsonObject *
split_file (GBytes  *bytes,
            GBytes **data)
{
  gsize         length;
  const guint8 *p = g_bytes_get_data (bytes, &length);
  guint64       n = 0;
  g_autoptr (JsonParser) parser = json_parser_new ();

  for (int i = 7; i >= 0; i--)
    n = (n << 8) | p[i];
  g_assert_true (json_parser_load_from_data (parser, (const char *) p + 8, (gssize) n, NULL));
  *data = g_bytes_new (p + 8 + n, length - 8 - n);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static GBytes *
join_file (JsonObject *header,
           GBytes     *data)
{
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), header);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  gsize            n;
  GByteArray      *out = g_byte_array_new ();
  guint8           len[8];

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &n);
  for (int i = 0; i < 8; i++)
    len[i] = (guint8) ((guint64) n >> (8 * i));
  g_byte_array_append (out, len, 8);
  g_byte_array_append (out, (const guint8 *) text, (guint) n);
  g_byte_array_append (out, g_bytes_get_data (data, NULL), (guint) g_bytes_get_size (data));
  return g_byte_array_free_to_bytes (out);
}

static HgModel *
small_model (void)
{
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_new_from_arch ("cnn:size=12,width=2,hidden=3", 1, &error);

  g_assert_no_error (error);
  return model;
}

/* ---- round trips -------------------------------------------------------------- */

static void
test_model_roundtrip (void)
{
  g_autoptr (HgModel) model = small_model ();
  g_autoptr (HgModel) loaded = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char         *dir = g_dir_make_tmp ("hg-model-XXXXXX", NULL);
  g_autofree char         *path = g_build_filename (dir, "m.safetensors", NULL);
  static const float       mean[3] = { 0.7f, 0.6f, 0.5f }, std[3] = { 0.2f, 0.3f, 0.4f };
  static const char *const classes[] = { "benign", "IDC", NULL };
  float                    m2[3], s2[3];
  gsize                    n1, n2;
  g_autoptr (GDir) listing = NULL;

  g_assert_true (hg_model_set_normalization (model, mean, std, &error));
  g_assert_true (hg_model_set_class_names (model, classes, &error));
  hg_model_set_metadata (model, "seed", "42");
  hg_model_set_metadata (model, "val_metrics", "{\"balanced_accuracy\": 0.9}");

  g_assert_true (hg_model_save (model, path, &error));
  g_assert_no_error (error);
  loaded = hg_model_load (path, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (hg_model_get_arch_name (loaded), ==, "cnn");
  g_assert_cmpuint (hg_model_get_n_params (loaded), ==, hg_model_get_n_params (model));
  g_assert_cmpstr (hg_model_get_class_name (loaded, 1), ==, "IDC");
  g_assert_cmpstr (hg_model_get_metadata (loaded, "seed"), ==, "42");
  g_assert_cmpstr (hg_model_get_metadata (loaded, "val_metrics"), ==, "{\"balanced_accuracy\": 0.9}");
  g_assert_cmpstr (hg_model_get_metadata (loaded, "input_size"), ==, "[12, 12, 3]");
  hg_model_get_normalization (loaded, m2, s2);
  g_assert_cmpmem (m2, sizeof m2, mean, sizeof mean);
  g_assert_cmpmem (s2, sizeof s2, std, sizeof std);
  g_assert_cmpmem (hg_model_get_params (loaded, &n1), n1 * sizeof (float),
                   hg_model_get_params (model, &n2), n2 * sizeof (float));

  /* saving is deterministic and loses nothing */
  bytes = hg_model_save_to_bytes (model);
  again = hg_model_save_to_bytes (loaded);
  g_assert_true (g_bytes_equal (bytes, again));

  /* atomic: nothing but the file is left in the directory */
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "m.safetensors");
  g_assert_null (g_dir_read_name (listing));

  hg_model_set_metadata (model, "seed", NULL);
  g_assert_null (hg_model_get_metadata (model, "seed"));

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_model_save_error (void)
{
  g_autoptr (HgModel) model = small_model ();
  g_autoptr (GError) error = NULL;

  g_assert_false (hg_model_save (model, "/nonexistent-dir/m.safetensors", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/m.safetensors"));
}

/* The same seed gives the same weights; another seed does not. */
static void
test_model_init_seeded (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) a = hg_model_new_from_arch ("resnet:size=16,width=2", 5, &error);
  g_autoptr (HgModel) b = hg_model_new_from_arch ("resnet:size=16,width=2", 5, &error);
  g_autoptr (HgModel) c = hg_model_new_from_arch ("resnet:size=16,width=2", 6, &error);
  g_autoptr (GBytes) ba = hg_model_save_to_bytes (a);
  g_autoptr (GBytes) bb = hg_model_save_to_bytes (b);
  g_autoptr (GBytes) bc = hg_model_save_to_bytes (c);

  g_assert_true (g_bytes_equal (ba, bb));
  g_assert_false (g_bytes_equal (ba, bc));
}

/* ---- malformed files ------------------------------------------------------------ */

typedef void (*Mutate) (JsonObject *header,
                        GBytes    **data);

static void
expect_load_error (GBytes     *bytes,
                   int         code,
                   const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_load_from_bytes (g_bytes_get_data (bytes, NULL),
                                                        g_bytes_get_size (bytes), &error);

  g_assert_null (model);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, HG_ERROR, code);
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected '%s' in: %s", fragment, error->message);
}

static GBytes *
mutated (Mutate mutate)
{
  g_autoptr (HgModel) model = small_model ();
  g_autoptr (GBytes) bytes = hg_model_save_to_bytes (model);
  g_autoptr (GBytes) data = NULL;
  JsonObject *header = split_file (bytes, &data);
  GBytes     *out;

  mutate (header, &data);
  out = join_file (header, data);
  json_object_unref (header);
  return out;
}

static JsonObject *
tensor (JsonObject *header,
        const char *name)
{
  return json_object_get_object_member (header, name);
}

static JsonObject *
meta (JsonObject *header)
{
  return json_object_get_object_member (header, "__metadata__");
}

static void
set_offsets (JsonObject *t,
             gint64      begin,
             gint64      end)
{
  JsonArray *a = json_array_new ();

  json_array_add_int_element (a, begin);
  json_array_add_int_element (a, end);
  json_object_set_array_member (t, "data_offsets", a);
}

static void
mut_offsets_outside (JsonObject *h,
                     GBytes    **d)
{
  set_offsets (tensor (h, "fc.bias"), 1 << 20, (1 << 20) + 8);
}

static void
mut_offsets_mismatch (JsonObject *h,
                      GBytes    **d)
{
  set_offsets (tensor (h, "fc.bias"), 0, 4);
}

static void
mut_overlap (JsonObject *h,
             GBytes    **d)
{
  JsonArray *a = json_object_get_array_member (tensor (h, "conv1.weight"), "data_offsets");

  set_offsets (tensor (h, "bn1.weight"), json_array_get_int_element (a, 0),
               json_array_get_int_element (a, 0) + 8);
}

static void
mut_shape (JsonObject *h,
           GBytes    **d)
{
  /* conv1.weight is [2, 3, 3, 3]: same byte count as [3, 2, 3, 3] */
  JsonArray *a = json_array_new ();

  json_array_add_int_element (a, 3);
  json_array_add_int_element (a, 2);
  json_array_add_int_element (a, 3);
  json_array_add_int_element (a, 3);
  json_object_set_array_member (tensor (h, "conv1.weight"), "shape", a);
}

static void
mut_dtype (JsonObject *h,
           GBytes    **d)
{
  JsonObject *t = tensor (h, "fc.bias");
  JsonArray  *o = json_object_get_array_member (t, "data_offsets");
  gint64      begin = json_array_get_int_element (o, 0);

  json_object_set_string_member (t, "dtype", "F16");
  set_offsets (t, begin, begin + 4);
}

static void
mut_unknown_dtype (JsonObject *h,
                   GBytes    **d)
{
  json_object_set_string_member (tensor (h, "fc.bias"), "dtype", "Q4_K");
}

static void
mut_nan (JsonObject *h,
         GBytes    **d)
{
  JsonArray *o = json_object_get_array_member (tensor (h, "bn2.bias"), "data_offsets");
  gsize      size;
  guint8    *bytes = g_bytes_unref_to_data (*d, &size);
  float      nan = NAN;

  memcpy (bytes + json_array_get_int_element (o, 0) + 4, &nan, 4);
  *d = g_bytes_new_take (bytes, size);
}

static void
mut_missing (JsonObject *h,
             GBytes    **d)
{
  json_object_remove_member (h, "bn3.running_var");
}

static void
mut_unexpected (JsonObject *h,
                GBytes    **d)
{
  JsonObject *t = json_object_new ();
  JsonArray  *shape = json_array_new ();

  json_object_set_string_member (t, "dtype", "F32");
  json_array_add_int_element (shape, 0);
  json_object_set_array_member (t, "shape", shape);
  json_object_set_object_member (h, "extra.weight", t);
  set_offsets (t, 0, 0);
}

static void
mut_unknown_op (JsonObject *h,
                GBytes    **d)
{
  json_object_set_string_member (
      meta (h), "arch",
      "{\"name\":\"x\",\"input\":[12,12,3],\"nodes\":[{\"name\":\"a\",\"op\":\"conv3d\"}]}");
}

static void
mut_arch_bad_shape (JsonObject *h,
                    GBytes    **d)
{
  json_object_set_string_member (
      meta (h), "arch",
      "{\"name\":\"x\",\"input\":[12,12,3],\"nodes\":[{\"name\":\"a\",\"op\":\"conv2d\","
      "\"channels\":2,\"kernel\":15}]}");
}

static void
mut_no_arch (JsonObject *h,
             GBytes    **d)
{
  json_object_remove_member (meta (h), "arch");
}

static void
mut_overflow (JsonObject *h,
              GBytes    **d)
{
  JsonArray *a = json_array_new ();

  for (int i = 0; i < 4; i++)
    json_array_add_int_element (a, G_MAXINT32);
  json_object_set_array_member (tensor (h, "fc.bias"), "shape", a);
}

static void
mut_classes (JsonObject *h,
             GBytes    **d)
{
  json_object_set_string_member (meta (h), "classes", "[\"only one\"]");
}

static void
mut_std (JsonObject *h,
         GBytes    **d)
{
  json_object_set_string_member (meta (h), "std", "[0.2, 0, 0.2]");
}

static void
mut_meta_not_string (JsonObject *h,
                     GBytes    **d)
{
  json_object_set_int_member (meta (h), "seed", 42);
}

static void
mut_version (JsonObject *h,
             GBytes    **d)
{
  json_object_set_string_member (meta (h), "format_version", "99");
}

static void
test_model_malformed (void)
{
  static const struct
  {
    Mutate      mutate;
    int         code;
    const char *fragment;
  } cases[] = {
    { mut_offsets_outside, HG_ERROR_INVALID_DATA, "lie outside the" },
    { mut_offsets_mismatch, HG_ERROR_INVALID_DATA, "shape needs 8 bytes but data_offsets span 4" },
    { mut_overlap, HG_ERROR_INVALID_DATA, "overlap" },
    { mut_shape, HG_ERROR_INVALID_DATA, "tensor 'conv1.weight' has shape [3, 2, 3, 3] but architecture 'cnn' needs [2, 3, 3, 3]" },
    { mut_dtype, HG_ERROR_UNSUPPORTED, "tensor 'fc.bias' has dtype F16; only F32 is supported" },
    { mut_unknown_dtype, HG_ERROR_INVALID_DATA, "unknown dtype 'Q4_K'" },
    { mut_nan, HG_ERROR_INVALID_DATA, "tensor 'bn2.bias' holds a non-finite value (nan) at index 1" },
    { mut_missing, HG_ERROR_INVALID_DATA, "missing tensor 'bn3.running_var' (shape [8])" },
    { mut_unexpected, HG_ERROR_INVALID_DATA, "tensor 'extra.weight' is not part of architecture 'cnn'" },
    { mut_unknown_op, HG_ERROR_UNSUPPORTED, "unknown op 'conv3d'" },
    { mut_arch_bad_shape, HG_ERROR_INVALID_DATA, "kernel 15 does not fit an input of 12" },
    { mut_no_arch, HG_ERROR_INVALID_DATA, "no 'arch'" },
    { mut_overflow, HG_ERROR_TOO_LARGE, "overflows" },
    { mut_classes, HG_ERROR_INVALID_DATA, "metadata 'classes' must list 2 class names" },
    { mut_std, HG_ERROR_INVALID_DATA, "std[1] = 0" },
    { mut_meta_not_string, HG_ERROR_INVALID_DATA, "value of 'seed' is not a string" },
    { mut_version, HG_ERROR_UNSUPPORTED, "format version '99'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) bytes = mutated (cases[i].mutate);

      expect_load_error (bytes, cases[i].code, cases[i].fragment);
    }
}

static void
test_model_malformed_header (void)
{
  static const guint8 short_file[4] = { 1, 0, 0, 0 };
  guint8              big[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}' };
  guint8              deep[8 + 200];
  g_autoptr (GBytes) b1 = g_bytes_new_static (short_file, sizeof short_file);
  g_autoptr (GBytes) b2 = g_bytes_new_static (big, sizeof big);
  g_autoptr (GBytes) b3 = NULL;
  g_autoptr (GBytes) b4 = NULL;
  g_autoptr (GBytes) b5 = NULL;
  const char *notjson = "\x05\0\0\0\0\0\0\0{\"a\":";
  const char *array = "\x02\0\0\0\0\0\0\0[]";

  expect_load_error (b1, HG_ERROR_INVALID_DATA, "too short");
  expect_load_error (b2, HG_ERROR_INVALID_DATA, "header length 18446744073709551615 exceeds the 8 bytes");

  memset (deep, '[', sizeof deep);
  deep[0] = 200;
  memset (deep + 1, 0, 7);
  b3 = g_bytes_new_static (deep, sizeof deep);
  expect_load_error (b3, HG_ERROR_INVALID_DATA, "nested deeper than");

  b4 = g_bytes_new_static (notjson, 8 + 5);
  expect_load_error (b4, HG_ERROR_INVALID_DATA, "invalid JSON");
  b5 = g_bytes_new_static (array, 8 + 2);
  expect_load_error (b5, HG_ERROR_INVALID_DATA, "not a JSON object");
}

/* ---- architectures ---------------------------------------------------------------- */

static void
test_arch_builtin (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgArch) cnn = hg_arch_new (NULL, &error);
  g_autoptr (HgArch) again = NULL;
  int h, w, c;

  g_assert_no_error (error);
  g_assert_cmpstr (hg_arch_get_name (cnn), ==, "cnn");
  hg_arch_get_input_size (cnn, &h, &w, &c);
  g_assert_cmpint (h, ==, 50);
  g_assert_cmpint (w, ==, 50);
  g_assert_cmpint (c, ==, 3);
  g_assert_cmpint (hg_arch_get_n_classes (cnn), ==, 2);
  /* conv 3→32, 32→48, 48→96 (no bias), three BN, dense 96→2 */
  g_assert_cmpuint (hg_arch_get_n_params (cnn), ==,
                    864 + 64 + 13824 + 96 + 41472 + 192 + 194);
  g_assert_cmpfloat_with_epsilon (hg_arch_get_flops (cnn),
                                  2.0 * (2500 * 864 + 625 * 13824 + 144 * 41472 + 192), 1.0);
  /* the live slider's budget (issue 7): about 30–40 MFLOP per patch */
  g_assert_cmpfloat (hg_arch_get_flops (cnn), <, 40e6);

  {
    g_autoptr (HgArch) reference = hg_arch_new ("cnn:width=32", &error);
    g_autoptr (HgArch) same = hg_arch_new ("cnn:channels=32-64-128", &error);

    g_assert_no_error (error);
    g_assert_cmpuint (hg_arch_get_n_params (reference), ==,
                      864 + 64 + 18432 + 128 + 73728 + 256 + 258);
    g_assert_cmpstr (hg_arch_get_json (same), ==, hg_arch_get_json (reference));
  }

  /* the canonical description parses to itself */
  again = hg_arch_new_from_json (hg_arch_get_json (cnn), strlen (hg_arch_get_json (cnn)), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_arch_get_json (again), ==, hg_arch_get_json (cnn));

  for (const char *const *name = hg_arch_list_builtin (); *name != NULL; name++)
    {
      g_autoptr (HgArch) arch = hg_arch_new (*name, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (hg_arch_get_n_params (arch), >, 10000);
      g_assert_cmpfloat (hg_arch_get_flops (arch), <, 80e6);
    }

  {
    g_autoptr (HgArch) wide = hg_arch_new ("cnn:width=48,classes=3", &error);

    g_assert_no_error (error);
    g_assert_cmpint (hg_arch_get_n_classes (wide), ==, 3);
    g_assert_nonnull (strstr (hg_arch_get_json (wide), "\"channels\":192"));
  }
}

static void
test_arch_errors (void)
{
  static const struct
  {
    const char *spec;
    const char *fragment;
  } specs[] = {
    { "vgg", "unknown architecture 'vgg'" },
    { "cnn:depth=3", "unknown option 'depth' (known: size, classes, width, hidden, dropout, channels)" },
    { "cnn:channels=32-48", "channels=32-48 is not three sizes A-B-C" },
    { "cnn:width=16,channels=16-32-64", "give width or channels, not both" },
    { "resnet:channels=16-32-64", "unknown option 'channels'" },
    { "cnn:width=0", "option width=0 is not an integer in [1, 1024]" },
    { "cnn:width", "option 'width' is not KEY=VALUE" },
    { "/nonexistent/arch.json", "cannot read architecture file '/nonexistent/arch.json'" },
  };
  static const struct
  {
    const char *json;
    const char *fragment;
  } jsons[] = {
    { "[]", "must be a JSON object" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[],\"x\":1}", "unknown key \"x\"" },
    { "{\"name\":\"a\",\"input\":[5,5],\"nodes\":[]}", "\"input\" must be [height, width, channels]" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[]}", "\"nodes\" must be a list" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"d\",\"op\":\"dense\",\"units\":2,\"unit\":3}]}",
      "unknown key \"unit\" for op \"dense\"" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"d\",\"op\":\"dense\"}]}",
      "node 1 ('d') has no \"units\"" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"d\",\"op\":\"dense\",\"units\":2,\"inputs\":[\"e\"]}]}",
      "input 'e' is not an earlier node" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"d\",\"op\":\"relu\"}]}",
      "gives 5×5×3 values, not one logit per class" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"c\",\"op\":\"conv2d\",\"channels\":2,\"kernel\":1},"
      "{\"name\":\"d\",\"op\":\"add\",\"inputs\":[\"c\",\"input\"]}]}",
      "input 'input' is 5×5×3, not 5×5×2" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"c\",\"op\":\"conv2d\",\"channels\":2,\"kernel\":3,\"padding\":3}]}",
      "\"padding\" is 3, not in [0, 2]" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"c\",\"op\":\"dense\",\"units\":1000000}]}",
      "\"units\" is 1000000, not in [1, 65536]" },
    { "{\"name\":\"a\",\"input\":[4096,4096,16],\"nodes\":[{\"name\":\"c\",\"op\":\"dense\",\"units\":65536}]}",
      "too many" },
    { "{\"name\":\"a\",\"input\":[5,5,3],\"nodes\":[{\"name\":\"x\",\"op\":\"dropout\",\"rate\":1.0},"
      "{\"name\":\"d\",\"op\":\"dense\",\"units\":2}]}",
      "\"rate\" is 1, not in [0, 1)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgArch) arch = hg_arch_new (specs[i].spec, &error);

      g_assert_null (arch);
      g_assert_nonnull (error);
      if (strstr (error->message, specs[i].fragment) == NULL)
        g_error ("expected '%s' in: %s", specs[i].fragment, error->message);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (jsons); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgArch) arch = hg_arch_new_from_json (jsons[i].json, strlen (jsons[i].json), &error);

      g_assert_null (arch);
      g_assert_nonnull (error);
      if (strstr (error->message, jsons[i].fragment) == NULL)
        g_error ("expected '%s' in: %s", jsons[i].fragment, error->message);
    }
}

static void
test_arch_json_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgArch) builtin = hg_arch_new ("densenet:size=20,growth=4,layers=2", &error);
  g_autofree char *dir = g_dir_make_tmp ("hg-arch-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "net.json", NULL);
  g_autoptr (HgModel) model = NULL;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, hg_arch_get_json (builtin), -1, NULL));
  model = hg_model_new_from_arch (path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hg_model_get_arch_name (model), ==, "densenet");
  g_assert_cmpuint (hg_model_get_n_params (model), ==, hg_arch_get_n_params (builtin));
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- the committed test model and the CLI --------------------------------------- */

static void
test_model_committed (void)
{
  g_autofree char *path = test_model_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_load (path, &error);
  g_autoptr (HgModel) fresh = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgContext) fresh_ctx = NULL;
  enum
  {
    N = 64
  };
  g_autofree float *x = g_new (float, N * 7500);
  int               labels[N], correct = 0;
  float             logits[N * 2], fresh_logits[N * 2];

  g_assert_no_error (error);
  g_assert_cmpstr (hg_model_get_class_name (model, 1), ==, "IDC");

  /* it learnt the synthetic task… */
  hg_test_synthetic_patches (7, N, x, labels);
  ctx = hg_context_new (model);
  g_assert_true (hg_model_forward (ctx, x, N, logits));
  for (int i = 0; i < N; i++)
    correct += (logits[2 * i + 1] > logits[2 * i]) == labels[i];
  g_test_message ("committed test model: %d/%d synthetic patches right", correct, N);
  g_assert_cmpint (correct, >=, N * 9 / 10);

  /* …and regenerating it gives the same network, up to rounding that 80
   * SGD steps amplify (summation orders change with the engine's blocking) */
  fresh = hg_test_model_make ();
  fresh_ctx = hg_context_new (fresh);
  g_assert_true (hg_model_forward (fresh_ctx, x, N, fresh_logits));
  for (int i = 0; i < N * 2; i++)
    g_assert_cmpfloat_with_epsilon (fresh_logits[i], logits[i], 0.05 * (1.0 + fabsf (logits[i])));
}

static void
test_cli_info (void)
{
  g_autofree char *path = test_model_path ();
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("info", path, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  JsonArray  *input;

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  g_assert_true (json_parser_load_from_data (parser, run->out, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "arch"), ==, "cnn");
  g_assert_cmpint (json_object_get_int_member (o, "params"), ==,
                   216 + 16 + 1152 + 32 + 4608 + 64 + 66);
  input = json_object_get_array_member (o, "input");
  g_assert_cmpint (json_array_get_int_element (input, 0), ==, 50);
  g_assert_cmpint (json_array_get_int_element (input, 2), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "classes"), 0),
                   ==, "non-IDC");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "metadata"),
                                                  "seed"),
                   ==, G_STRINGIFY (HG_TEST_MODEL_SEED));
}

static void
test_cli_info_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("hg-info-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.safetensors", NULL);

  g_assert_true (g_file_set_contents (bad, "\x10\0\0\0\0\0\0\0{}", 10, NULL));
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("info", bad, NULL);
    g_autofree char *expected = g_strdup_printf (
        "histoguard-cli: info: model '%s': header length 16 exceeds the 2 bytes after it in the file\n", bad);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_cmpstr (run->out, ==, "");
    g_assert_cmpstr (run->err, ==, expected);
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("info", NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("info", "--frobnicate", bad, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("info", "--help", NULL);

    g_assert_cmpint (run->exit_code, ==, 0);
    g_assert_nonnull (strstr (run->out, "MODEL"));
  }
  g_unlink (bad);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/model/roundtrip", test_model_roundtrip);
  g_test_add_func ("/hg/model/save-error", test_model_save_error);
  g_test_add_func ("/hg/model/init-seeded", test_model_init_seeded);
  g_test_add_func ("/hg/model/malformed", test_model_malformed);
  g_test_add_func ("/hg/model/malformed-header", test_model_malformed_header);
  g_test_add_func ("/hg/model/committed", test_model_committed);
  g_test_add_func ("/hg/arch/builtin", test_arch_builtin);
  g_test_add_func ("/hg/arch/errors", test_arch_errors);
  g_test_add_func ("/hg/arch/json-file", test_arch_json_file);
  g_test_add_func ("/hg/cli/info", test_cli_info);
  g_test_add_func ("/hg/cli/info-errors", test_cli_info_errors);

  return g_test_run ();
}
