/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bad-input matrix in the window: what tests/test-bad-input.c gives
 * the command line, given to HgWindow. Each bad input shows a dialog that
 * says why, in the same words, and leaves the window usable; rapid
 * requests and a window closed mid-open neither crash nor leak (run these
 * under the ASan build). */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "hg-predictions-panel.h"
#include "hg-slide-page.h"
#include "hg-test-bad-files.h"
#include "hg-test-gui.h"
#include "hg-test-slides.h"
#include "hg-window.h"

typedef struct
{
  const char *file;
  void (*make) (const char *path);
  const char *message;
} GuiCase;

static const GuiCase cases[] = {
  { "empty.svs", hg_test_bad_empty, "“empty.svs” is empty (0 bytes): it holds no slide" },
  { "pipe.svs", hg_test_bad_fifo, "“pipe.svs” is not a regular file" },
  { "loop.svs", hg_test_bad_symlink_loop, "Too many levels of symbolic links" },
  { "big.png", hg_test_bad_png_huge, "“big.png” is 100000 × 100000 pixels" },
  { "cut.png", hg_test_bad_png_truncated, "“cut.png” is a damaged PNG image: the file ends after " },
  { "bitmap.png", hg_test_bad_bmp_as_png, "“bitmap.png” is neither a whole-slide file" },
  { "absurd", hg_test_bad_folder_absurd_coordinate, "X is not a number from 0 to 10000000" },
  { "huge-patch", hg_test_bad_folder_huge_patch, "is 2000 × 2000 pixels; IDC patches are 50 × 50" },
};

static void
open_path (HgWindow   *window,
           const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);

  hg_window_open (window, file);
}

static HgWindow *
new_window (void)
{
  HgWindow *window = g_object_new (HG_TYPE_WINDOW, NULL);

  gtk_window_set_default_size (GTK_WINDOW (window), 900, 640);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));
  return window;
}

/* Every bad input in turn in one window: a dialog with the reason, the
 * empty page behind it, and finally a good slide still opens. */
static void
test_refused (void)
{
  HgWindow        *window = new_window ();
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input-gui");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char  *path = g_build_filename (dir, cases[i].file, NULL);
      AdwMessageDialog *dialog;
      const char       *body;

      cases[i].make (path);
      open_path (window, path);
      /* A hang (the named pipe, say) fails here rather than blocking. */
      g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
      g_assert_true (hg_test_wait_until (hg_test_dialog_shown, window, 5000));
      dialog = hg_test_find_dialog (window);
      body = adw_message_dialog_get_body (dialog);
      g_test_message ("%s: %s — %s", cases[i].file, adw_message_dialog_get_heading (dialog), body);
      g_assert_true (g_str_has_prefix (adw_message_dialog_get_heading (dialog), "Could Not Open"));
      if (strstr (body, cases[i].message) == NULL)
        g_error ("“%s” does not mention “%s”", body, cases[i].message);
      gtk_window_destroy (GTK_WINDOW (dialog));
      g_assert_cmpstr (hg_test_visible_page (window), ==, "empty");
      g_assert_null (hg_window_get_slide (window));
    }

  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 30000));
  g_assert_null (hg_test_find_dialog (window));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_remove_tree (dir);
}

/* Not errors: a named pipe among the patches is one unreadable patch (it
 * used to hang the opening thread for good), and a link from inside the
 * folder back to it is not followed forever. */
static void
test_odd_folders_open (void)
{
  HgWindow        *window = new_window ();
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input-gui");
  g_autofree char *with_fifo = g_build_filename (dir, "with-fifo", NULL);
  g_autofree char *with_loop = g_build_filename (dir, "with-loop", NULL);
  HgSlide         *slide;
  gsize            n = 0;

  hg_test_bad_folder_with_fifo (with_fifo);
  hg_test_bad_folder_with_loop (with_loop);

  open_path (window, with_fifo);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_null (hg_test_find_dialog (window));
  slide = hg_window_get_slide (window);
  g_assert_nonnull (slide);
  hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (hg_slide_get_property (slide, "idc.patches.unreadable"), ==, "1");
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");

  open_path (window, with_loop);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));
  g_assert_null (hg_test_find_dialog (window));
  slide = hg_window_get_slide (window);
  hg_slide_get_patches (slide, &n);
  g_assert_cmpuint (n, ==, 2);

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_remove_tree (dir);
}

/* Requests faster than slides open: each newer one cancels the one in
 * flight, so only the last is shown, and no dialog from an abandoned
 * request pops up later. */
static void
test_rapid_requests (void)
{
  HgWindow        *window = new_window ();
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input-gui");
  g_autofree char *bad = g_build_filename (dir, "bad.svs", NULL);
  g_autofree char *folder = g_build_filename (dir, "patches", NULL);
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo",
                                            "idc-8863", NULL);

  hg_test_bad_text (bad);
  hg_test_bad_folder_with_fifo (folder);

  for (int round = 0; round < 5; round++)
    {
      open_path (window, demo);
      open_path (window, bad);
      open_path (window, folder);
      hg_test_iterate (round * 20);
      open_path (window, bad);
      open_path (window, demo);
    }
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 60000));
  hg_test_iterate (200);
  g_assert_null (hg_test_find_dialog (window));
  g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");
  g_assert_cmpstr (hg_slide_get_name (hg_window_get_slide (window)), ==, "idc-8863");

  /* The last request is a bad one: its dialog, and nothing else. */
  open_path (window, demo);
  open_path (window, bad);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 60000));
  g_assert_true (hg_test_wait_until (hg_test_dialog_shown, window, 5000));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (hg_test_find_dialog (window)), "text file"));
  gtk_window_destroy (GTK_WINDOW (hg_test_find_dialog (window)));
  /* The slide shown before stays. */
  g_assert_cmpstr (hg_slide_get_name (hg_window_get_slide (window)), ==, "idc-8863");

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_remove_tree (dir);
}

/* A window closed while its slide opens: the worker finishes into a
 * window that is gone from the screen, and nothing touches freed memory. */
static gboolean
all_finalized (gpointer data)
{
  HgWindow **windows = data;

  for (int i = 0; i < 3; i++)
    if (windows[i] != NULL)
      return FALSE;
  return TRUE;
}

static void
test_close_while_opening (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo",
                                            "idc-8863", NULL);
  HgWindow        *windows[3];

  for (int round = 0; round < 3; round++)
    {
      windows[round] = new_window ();
      g_object_add_weak_pointer (G_OBJECT (windows[round]), (gpointer *) &windows[round]);
      open_path (windows[round], demo);
      hg_test_iterate (round * 30);
      gtk_window_destroy (GTK_WINDOW (windows[round]));
    }
  /* The opening callbacks hold the last references: once they have run,
   * every window is finalized. */
  g_assert_true (hg_test_wait_until (all_finalized, windows, 60000));
}

static const GuiCase model_cases[] = {
  { "empty.safetensors", hg_test_bad_empty, "file of 0 bytes is too short for a safetensors header" },
  { "pipe.safetensors", hg_test_bad_fifo, "it is a named pipe (FIFO), not a file" },
  { "folder.safetensors", hg_test_bad_folder, "it is a folder, not a file" },
  { "loop.safetensors", hg_test_bad_symlink_loop, "Too many levels of symbolic links" },
  { "header.safetensors", hg_test_bad_model_oversized_header, "header length 18446744073709551615 exceeds" },
  { "nan.safetensors", hg_test_bad_model_nan, "tensor 'conv2.weight' holds a non-finite value (nan)" },
  { "shape.safetensors", hg_test_bad_model_shape_mismatch, "tensor 'conv1.weight' has shape [3, 8, 3, 3]" },
  { "input.safetensors", hg_test_bad_model_input_overflow, "\"input\"[0] must be an integer in [1, 4096]" },
};

static const char *
panel_page (GtkWidget *panel)
{
  return gtk_stack_get_visible_child_name (
      GTK_STACK (gtk_widget_get_template_child (panel, HG_TYPE_PREDICTIONS_PANEL, "stack")));
}

/* Bad model files chosen in the settings (as the model chooser does): the
 * predictions panel says why, in the CLI's words, the slide stays, and a
 * good model is taken afterwards. A named pipe used to freeze the whole
 * window here: models are loaded on the main thread. */
static void
test_refused_models (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-bad-input-gui");
  g_autofree char *good = hg_test_tiny_model_path ();
  HgWindow        *window = new_window ();
  GtkWidget       *panel = hg_test_find_widget (GTK_WIDGET (window), "predictions_panel");

  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 30000));

  for (gsize i = 0; i < G_N_ELEMENTS (model_cases); i++)
    {
      g_autofree char *path = g_build_filename (dir, model_cases[i].file, NULL);
      const char      *description;

      model_cases[i].make (path);
      g_settings_set_string (settings, "model", path);
      hg_test_iterate (50);
      g_assert_cmpstr (panel_page (panel), ==, "no-model");
      description = adw_status_page_get_description (ADW_STATUS_PAGE (
          gtk_widget_get_template_child (panel, HG_TYPE_PREDICTIONS_PANEL, "no_model_page")));
      g_test_message ("%s: %s", model_cases[i].file, description);
      if (strstr (description, model_cases[i].message) == NULL)
        g_error ("“%s” does not mention “%s”", description, model_cases[i].message);
      g_assert_null (hg_slide_page_get_model (hg_window_get_slide_page (window)));
      g_assert_cmpstr (hg_test_visible_page (window), ==, "slide");
    }

  g_settings_set_string (settings, "model", good);
  hg_test_iterate (50);
  g_assert_cmpstr (panel_page (panel), ==, "main");
  g_assert_nonnull (hg_slide_page_get_model (hg_window_get_slide_page (window)));

  g_settings_reset (settings, "model");
  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  hg_test_gui_init (&argc, &argv);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/hg/bad-input-gui/refused", test_refused);
  g_test_add_func ("/hg/bad-input-gui/odd-folders-open", test_odd_folders_open);
  g_test_add_func ("/hg/bad-input-gui/refused-models", test_refused_models);
  g_test_add_func ("/hg/bad-input-gui/rapid-requests", test_rapid_requests);
  g_test_add_func ("/hg/bad-input-gui/close-while-opening", test_close_while_opening);

  return g_test_run ();
}
