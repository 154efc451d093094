/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The live adversarial explorer in a window on the demo slide: the slider
 * flips labels while dragging, side by side with defences, transfer and
 * adaptive attacks, the detector, the focus pictures, the robustness map,
 * exports and presentation mode — with screenshots.
 *
 * The model is data/models/idc-standard.safetensors when it is there,
 * else the small committed tests/data/idc-tiny.safetensors. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "hg-attack-panel.h"
#include "hg-explorer.h"
#include "hg-window.h"

#include "hg-test-gui.h"
#include "hg-test-slides.h"

static gboolean
tiling_ready (gpointer data)
{
  return hg_slide_page_get_tiling (data) != NULL;
}

static gboolean
renders (gpointer data)
{
  g_autoptr (GdkTexture) texture = hg_test_render_widget (data);

  return texture != NULL;
}

static GdkTexture *
render (GtkWidget *widget)
{
  g_assert_true (hg_test_wait_until (renders, widget, 10000));
  return hg_test_render_widget (widget);
}

static gboolean
boolean_prop (gpointer    object,
              const char *name)
{
  gboolean value;

  g_object_get (object, name, &value, NULL);
  return value;
}

static int
int_prop (gpointer    object,
          const char *name)
{
  int value;

  g_object_get (object, name, &value, NULL);
  return value;
}

/* The explorer has answered the latest request, whole. */
static gboolean
settled (gpointer data)
{
  HgLiveResult *r = hg_explorer_get_result (data);

  return !boolean_prop (data, "busy") && r != NULL && hg_live_result_is_complete (r);
}

/* Settled on the whole demo slide in view. The first request can go out
 * while the view is still being laid out (the panel just appeared) and
 * cover only the tiles in view at that moment; the view's next
 * view-changed sends another. A result for fewer tiles may look settled
 * for a main-loop iteration before that signal arrives (seen once under
 * ASan with another test running: 1 tile of 979). */
static gboolean
settled_on_slide (gpointer data)
{
  return settled (data) && int_prop (data, "n-tiles") == 979;
}

static double
result_eps (HgExplorer *explorer)
{
  return hg_live_result_get_params (hg_explorer_get_result (explorer))->eps;
}

static gboolean
map_done (gpointer data)
{
  return boolean_prop (data, "has-map") && !boolean_prop (data, "map-running");
}

static gboolean
file_written (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
pictures_shown (gpointer data)
{
  return hg_explorer_get_picture (data, HG_EXPLORER_UNDEFENDED, HG_EXPLORER_ATTACKED) != NULL;
}

static const char *
label_text (GtkWidget  *panel,
            const char *id)
{
  return gtk_label_get_text (GTK_LABEL (gtk_widget_get_template_child (panel, HG_TYPE_ATTACK_PANEL, id)));
}

static char *
choose_model (void)
{
  char *shipped = hg_data_find ("models/idc-standard.safetensors");

  if (shipped != NULL)
    return shipped;
  return g_test_build_filename (G_TEST_DIST, "data", "idc-tiny.safetensors", NULL);
}

static void
shoot (GtkWidget  *window,
       const char *name)
{
  g_autoptr (GdkTexture) shot = NULL;
  g_autofree char *saved = NULL;

  hg_test_iterate (300);
  shot = render (window);
  saved = hg_test_save_png (shot, name);
  g_assert_cmpuint (hg_test_count_colours (shot, 256), >=, 128);
}

static void
test_explorer_flow (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *model = choose_model ();
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-explorer");
  g_autofree char *csv = g_build_filename (dir, "attack.csv", NULL);
  /* Kept beside the screenshots, to look at. */
  g_autofree char *png = g_test_build_filename (G_TEST_BUILT, "explorer-export.png", NULL);
  g_autofree char *contents = NULL;
  HgWindow        *window;
  HgSlidePage     *page;
  HgExplorer      *explorer;
  GtkWidget       *panel, *scale, *sidebar_stack;
  HgTiling        *tiling;
  HgLiveResult    *r;
  int              flipped_at_8;

  g_test_message ("model: %s", model);
  g_settings_set_string (settings, "model", model);
  window = g_object_new (HG_TYPE_WINDOW, NULL);
  page = hg_window_get_slide_page (window);
  explorer = hg_window_get_explorer (window);
  panel = hg_test_find_widget (GTK_WIDGET (window), "attack_panel");
  scale = hg_test_find_widget (panel, "eps_scale");
  sidebar_stack = hg_test_find_widget (GTK_WIDGET (window), "sidebar_stack");

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hg_test_wait_until (hg_test_is_drawn, window, 5000));
  hg_window_open_demo (window);
  g_assert_true (hg_test_wait_until (hg_test_window_idle, window, 20000));

  /* A turns the attack on, with its panel in front and the tiles cut. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-explorer", NULL);
  g_assert_true (boolean_prop (explorer, "active"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (ADW_VIEW_STACK (sidebar_stack)), ==, "attack");
  g_assert_true (hg_test_wait_until (tiling_ready, page, 30000));
  tiling = hg_slide_page_get_tiling (page);
  g_assert_cmpuint (hg_tiling_get_n_tiles (tiling), ==, 979);

  /* Side by side from the start: JPEG and bit depth on the right. */
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "compare", NULL);
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "jpeg", NULL);
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "bits", NULL);
  g_assert_true (hg_slide_page_get_compare (page));

  /* ε = 0: every tile in view attacked, nothing flips. */
  g_assert_true (hg_test_wait_until (settled_on_slide, explorer, 120000));
  r = hg_explorer_get_result (explorer);
  g_assert_cmpfloat (result_eps (explorer), ==, 0);
  g_assert_cmpint (hg_live_result_get_n_pipelines (r), ==, 2);
  g_assert_cmpint (int_prop (explorer, "n-tiles"), ==, 979);
  g_assert_cmpint (int_prop (explorer, "n-flipped"), ==, 0);
  g_assert_true (g_str_has_prefix (label_text (panel, "summary_label"), "0 of 979"));
  shoot (GTK_WIDGET (window), "explorer-eps0.png");

  /* The slider moves ε, and the labels flip. */
  gtk_range_set_value (GTK_RANGE (scale), 8);
  g_assert_cmpfloat (gtk_adjustment_get_value (gtk_range_get_adjustment (GTK_RANGE (scale))), ==, 8);
  g_assert_true (hg_test_wait_until (settled, explorer, 120000));
  g_assert_cmpfloat (result_eps (explorer), ==, 8);
  flipped_at_8 = int_prop (explorer, "n-flipped");
  g_test_message ("FGSM ε=8: %s; defended: %s", label_text (panel, "summary_label"),
                  label_text (panel, "defended_summary_label"));
  g_assert_cmpint (flipped_at_8, >, 0);
  g_assert_nonnull (strstr (label_text (panel, "summary_label"), "flipped"));
  g_assert_nonnull (strstr (label_text (panel, "accuracy_label"), "Accuracy"));

  /* A click on a tile: it is attacked and shown up close. */
  {
    const HgTile *t = hg_tiling_get_tile (tiling, hg_tiling_find (tiling, 1376, 1426));

    g_signal_emit_by_name (hg_slide_page_get_view (page), "clicked", t->x + 10.0, t->y + 10.0);
  }
  g_assert_cmpint (hg_slide_page_get_selected_tile (page), >=, 0);
  /* The Attack panel stays: it shows the selected tile itself. */
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (ADW_VIEW_STACK (sidebar_stack)), ==, "attack");
  g_assert_true (hg_test_wait_until (settled, explorer, 60000));
  g_assert_true (hg_test_wait_until (pictures_shown, explorer, 60000));
  g_assert_cmpstr (label_text (panel, "focus_label"), !=, "");
  shoot (GTK_WIDGET (window), "explorer-eps8.png");
  /* Closer, so the flipped tiles carry their dots: the README's picture. */
  gtk_widget_activate_action (GTK_WIDGET (page), "slide.zoom-to", "d", 0.2);
  hg_test_iterate (600);
  g_assert_true (hg_test_wait_until (settled, explorer, 120000));
  shoot (GTK_WIDGET (window), "explorer.png");
  {
    /* The whole panel, scrolled or not. */
    g_autoptr (GdkTexture) shot = render (hg_test_find_widget (panel, "content"));
    g_autofree char *saved = hg_test_save_png (shot, "explorer-panel.png");
  }

  /* Dragging: a burst of values, only the last one counts. */
  for (int i = 1; i <= 24; i++)
    {
      gtk_range_set_value (GTK_RANGE (scale), i * 0.5);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (hg_test_wait_until (settled, explorer, 120000));
  g_assert_cmpfloat (result_eps (explorer), ==, 12);

  /* The adversarially trained model, when one is installed. */
  if (boolean_prop (explorer, "robust-available"))
    {
      g_autofree char *pane = NULL;

      g_action_group_activate_action (hg_explorer_get_actions (explorer), "robust-model", NULL);
      g_assert_true (boolean_prop (explorer, "robust-model"));
      g_assert_true (hg_test_wait_until (settled, explorer, 120000));
      r = hg_explorer_get_result (explorer);
      g_assert_true (hg_live_pipeline_get_model (hg_live_result_get_pipeline (r, 1)) !=
                     hg_live_pipeline_get_model (hg_live_result_get_pipeline (r, 0)));
      pane = hg_explorer_describe_pane (explorer, HG_EXPLORER_DEFENDED);
      g_assert_nonnull (strstr (pane, "adversarially trained"));
      g_test_message ("robust model at ε=%g: %s", result_eps (explorer), label_text (panel, "defended_summary_label"));
    }
  else
    g_test_message ("no adversarially trained model installed: not compared");

  /* Adaptive attacks and the detector on the right. */
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "adaptive", NULL);
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "detector", NULL);
  g_assert_true (hg_test_wait_until (settled, explorer, 120000));
  r = hg_explorer_get_result (explorer);
  g_assert_cmpint (hg_live_result_get_craft (r, 1), ==, HG_LIVE_ADAPTIVE);
  /* Once calibrated, the detector's scores come with the result. */
  while (hg_live_result_get_scores (hg_explorer_get_result (explorer), 1) == NULL)
    {
      hg_test_iterate (200);
      g_assert_true (hg_test_wait_until (settled, explorer, 120000));
    }
  g_assert_nonnull (strstr (label_text (panel, "defended_summary_label"), "caught by the detector"));

  /* The selected tile alone, then the robustness map of both panes. */
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "scope", g_variant_new_string ("tile"));
  g_assert_true (hg_test_wait_until (settled, explorer, 60000));
  g_assert_cmpint (hg_live_result_get_n_tiles (hg_explorer_get_result (explorer)), ==, 1);
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "compute-map", NULL);
  g_assert_true (boolean_prop (explorer, "map-running"));
  g_assert_true (hg_test_wait_until (map_done, explorer, 600000));
  g_assert_true (boolean_prop (explorer, "show-map"));
  g_assert_cmpint (hg_live_map_get_n_done (hg_explorer_get_map (explorer, HG_EXPLORER_UNDEFENDED)), ==, 979);
  g_assert_cmpint (hg_live_map_get_n_done (hg_explorer_get_map (explorer, HG_EXPLORER_DEFENDED)), ==, 979);
  shoot (GTK_WIDGET (window), "explorer-map.png");
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "show-map", NULL);
  g_action_group_activate_action (hg_explorer_get_actions (explorer), "scope", g_variant_new_string ("view"));
  g_assert_true (hg_test_wait_until (settled, explorer, 120000));

  /* Exports. */
  g_remove (png);
  hg_explorer_export (explorer, "csv", csv);
  hg_explorer_export (explorer, "png", png);
  g_assert_true (hg_test_wait_until (file_written, csv, 20000));
  g_assert_true (hg_test_wait_until (file_written, png, 20000));
  g_assert_true (g_file_get_contents (csv, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "slide,tile,x,y,width,height,ground_truth,pane,"));
  g_assert_nonnull (strstr (contents, ",defended,"));
  {
    g_autoptr (GdkTexture) picture = gdk_texture_new_from_filename (png, NULL);

    g_assert_nonnull (picture);
    g_assert_cmpint (gdk_texture_get_width (picture), >=, 900);
  }

  /* Presentation mode: no header, no panel, the slider over the slide. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL);
  g_assert_true (boolean_prop (window, "presentation"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (window), "presentation"));
  shoot (GTK_WIDGET (window), "explorer-presentation.png");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.leave-presentation", NULL);
  g_assert_false (boolean_prop (window, "presentation"));

  /* Off: the page's own heatmap is back. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-explorer", NULL);
  g_assert_false (boolean_prop (explorer, "active"));
  g_assert_false (hg_slide_page_get_compare (page));

  gtk_window_destroy (GTK_WINDOW (window));
  hg_test_iterate (100);
  hg_test_remove_tree (dir);
  g_settings_reset (settings, "model");
}

int
main (int    argc,
      char **argv)
{
  hg_test_gui_init (&argc, &argv);

  g_test_add_func ("/hg/explorer/flow", test_explorer_flow);

  return g_test_run ();
}
