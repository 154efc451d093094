/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgPredictionsPanel"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>

#include "hg-predictions-panel.h"

struct _HgPredictionsPanel
{
  GtkWidget parent_instance;

  HgSlidePage          *page;
  GSettings            *settings;
  GPtrArray            *model_paths; /* of the combo's entries */
  GtkFileChooserNative *chooser;
  GPtrArray            *bindings;
  gboolean              updating_models;

  /* Template children */
  GtkStack            *stack;
  AdwStatusPage       *no_model_page;
  AdwComboRow         *model_row;
  GtkStringList       *model_list;
  GtkStack            *run_stack;
  GtkProgressBar      *progress_bar;
  GtkLabel            *status_label;
  GtkSwitch           *show_switch;
  AdwComboRow         *colormap_row;
  GtkAdjustment       *opacity_adjustment;
  GtkAdjustment       *threshold_adjustment;
  GtkSwitch           *threshold_switch;
  GtkSpinButton       *threshold_spin;
  AdwActionRow        *truth_row;
  GtkSwitch           *truth_switch;
  AdwPreferencesGroup *metrics_group;
  GtkLabel            *accuracy_label;
  AdwActionRow        *balanced_row;
  GtkLabel            *balanced_label;
  GtkLabel            *auc_label;
  AdwActionRow        *tiling_row;
  GtkAdjustment       *tile_size_adjustment;
  GtkSpinButton       *tile_size_spin;
  AdwPreferencesGroup *export_group;
};

G_DEFINE_FINAL_TYPE (HgPredictionsPanel, hg_predictions_panel, GTK_TYPE_WIDGET)

/* The colour maps offered, in the combo row's order. */
static const char *const colormaps[] = { "viridis", "magma" };

GtkWidget *
hg_predictions_panel_new (void)
{
  return g_object_new (HG_TYPE_PREDICTIONS_PANEL, NULL);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

char **
hg_predictions_panel_list_models (void)
{
  g_autofree char *dir = hg_data_find ("models");
  g_autoptr (GDir) d = dir != NULL ? g_dir_open (dir, 0, NULL) : NULL;
  GPtrArray  *paths = g_ptr_array_new ();
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (paths, compare_strings);
  g_ptr_array_add (paths, NULL);
  return (char **) g_ptr_array_free (paths, FALSE);
}

static char *
model_title (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  if (g_str_has_suffix (base, ".safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';
  return g_steal_pointer (&base);
}

/* The combo lists the shipped models and the chosen one, if another. */
static void
update_model_list (HgPredictionsPanel *self,
                   const char         *current)
{
  g_auto (GStrv) shipped = hg_predictions_panel_list_models ();
  guint selected = GTK_INVALID_LIST_POSITION;

  self->updating_models = TRUE;
  g_ptr_array_set_size (self->model_paths, 0);
  gtk_string_list_splice (self->model_list, 0, g_list_model_get_n_items (G_LIST_MODEL (self->model_list)), NULL);
  for (char **p = shipped; *p != NULL; p++)
    {
      g_autofree char *title = model_title (*p);

      gtk_string_list_append (self->model_list, title);
      g_ptr_array_add (self->model_paths, g_strdup (*p));
      if (g_strcmp0 (*p, current) == 0)
        selected = self->model_paths->len - 1;
    }
  if (current != NULL && selected == GTK_INVALID_LIST_POSITION)
    {
      g_autofree char *title = model_title (current);

      gtk_string_list_append (self->model_list, title);
      g_ptr_array_add (self->model_paths, g_strdup (current));
      selected = self->model_paths->len - 1;
    }
  if (selected != GTK_INVALID_LIST_POSITION)
    adw_combo_row_set_selected (self->model_row, selected);
  self->updating_models = FALSE;
}

static void
on_model_selected (HgPredictionsPanel *self)
{
  guint selected = adw_combo_row_get_selected (self->model_row);

  if (self->updating_models || self->settings == NULL || selected >= self->model_paths->len)
    return;
  g_settings_set_string (self->settings, "model", g_ptr_array_index (self->model_paths, selected));
}

void
hg_predictions_panel_set_model (HgPredictionsPanel *self,
                                HgModel            *model,
                                const char         *path,
                                const char         *error)
{
  g_return_if_fail (HG_IS_PREDICTIONS_PANEL (self));

  update_model_list (self, path);
  if (model != NULL)
    {
      g_autofree char *subtitle = NULL;
      int              h, w, c;

      hg_model_get_input_size (model, &h, &w, &c);
      /* Translators: a model's architecture, parameters and input size */
      subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %'zu parameter · %d × %d input",
                                               "%s · %'zu parameters · %d × %d input", hg_model_get_n_params (model)),
                                  hg_model_get_arch_name (model), hg_model_get_n_params (model), w, h);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->model_row), subtitle);
      gtk_stack_set_visible_child_name (self->stack, "main");
      return;
    }

  {
    g_autofree char *where = g_build_filename (PKGDATADIR, "models", "idc-standard.safetensors", NULL);
    g_autofree char *text = NULL;

    if (error != NULL)
      /* Translators: %s says why the model could not be read */
      text = g_strdup_printf (_ ("The chosen model could not be read: %s"), error);
    else
      /* Translators: %s is where the default model should be */
      text = g_strdup_printf (_ ("Predictions need a trained classifier. Histoguard looks for %s; "
                                 "models trained with “histoguard-cli train” work too."),
                              where);
    adw_status_page_set_description (self->no_model_page, text);
    gtk_stack_set_visible_child_name (self->stack, "no-model");
  }
}

static void
on_chooser_response (GtkNativeDialog    *dialog,
                     int                 response,
                     HgPredictionsPanel *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->settings != NULL)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        g_settings_set_string (self->settings, "model", path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_model_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  HgPredictionsPanel *self = HG_PREDICTIONS_PANEL (widget);
  GtkRoot            *root = gtk_widget_get_root (widget);
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_ ("Choose a Model"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"), _ ("_Cancel"));
  gtk_file_filter_set_name (filter, _ ("Histoguard Models"));
  gtk_file_filter_add_suffix (filter, "safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
page_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HgPredictionsPanel *self = HG_PREDICTIONS_PANEL (widget);

  if (self->page == NULL)
    return;
  if (g_str_equal (action_name, "panel.run"))
    gtk_widget_activate_action (GTK_WIDGET (self->page), "heatmap.run", NULL);
  else if (g_str_equal (action_name, "panel.cancel"))
    gtk_widget_activate_action (GTK_WIDGET (self->page), "heatmap.cancel", NULL);
  else if (g_str_equal (action_name, "panel.export"))
    gtk_widget_activate_action_variant (GTK_WIDGET (self->page), "heatmap.export", parameter);
}

/* What the page is doing, reflected here. */
static void
update (HgPredictionsPanel *self)
{
  HgHeatmap *heatmap = self->page != NULL ? hg_slide_page_get_heatmap (self->page) : NULL;
  HgTiling  *tiling = self->page != NULL ? hg_slide_page_get_tiling (self->page) : NULL;
  gboolean   running = FALSE, has_truth = FALSE, complete;
  double     progress = 0;
  HgMetrics  m;

  if (self->page == NULL)
    return;

  g_object_get (self->page, "running", &running, "progress", &progress, "has-truth", &has_truth, NULL);
  complete = heatmap != NULL && hg_heatmap_is_complete (heatmap);

  gtk_stack_set_visible_child_name (self->run_stack, running ? "cancel" : "run");
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), running);
  gtk_progress_bar_set_fraction (self->progress_bar, progress);
  {
    const char *status = hg_slide_page_get_heatmap_status (self->page);

    gtk_label_set_text (self->status_label, status != NULL ? status : "");
    gtk_widget_set_visible (GTK_WIDGET (self->status_label), status != NULL);
  }
  /* Once every tile is done there is nothing to run: the status says so. */
  gtk_widget_set_visible (GTK_WIDGET (self->run_stack), running || !complete);
  gtk_widget_set_visible (GTK_WIDGET (self->truth_row), has_truth);
  gtk_widget_set_sensitive (GTK_WIDGET (self->export_group), complete);

  if (tiling != NULL)
    {
      g_autofree char *text = NULL;
      gsize            n = hg_tiling_get_n_tiles (tiling);

      if (hg_tiling_get_kind (tiling) == HG_TILING_PATCHES)
        /* Translators: the tiling of a folder of IDC patches */
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'zu patch, one tile each", "%'zu patches, one tile each", n), n);
      else
        {
          double size;
          int    rw;

          hg_tiling_get_cell_size (tiling, &size, NULL);
          hg_tiling_get_read_size (tiling, &rw, NULL);
          /* Translators: tiles, their side in slide pixels, the pyramid level read */
          text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'zu tissue tile of %.0f px, read at level %d",
                                               "%'zu tissue tiles of %.0f px, read at level %d", n),
                                  n, size,
                                  hg_tiling_get_level (tiling));
        }
      adw_action_row_set_subtitle (self->tiling_row, text);
    }
  else
    adw_action_row_set_subtitle (self->tiling_row, "");

  if (complete && hg_heatmap_compute_metrics (heatmap, &m))
    {
      char             text[64];
      g_autofree char *interval = NULL;

      g_snprintf (text, sizeof text, "%.3f", m.accuracy);
      gtk_label_set_text (self->accuracy_label, text);
      g_snprintf (text, sizeof text, "%.3f", m.balanced_accuracy);
      gtk_label_set_text (self->balanced_label, text);
      /* Translators: the 95 % interval of balanced accuracy, and the tiles */
      interval = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "95 %% interval %.3f–%.3f, %'zu tile",
                                               "95 %% interval %.3f–%.3f, %'zu tiles", m.n),
                                  m.ba_ci95[0], m.ba_ci95[1], m.n);
      adw_action_row_set_subtitle (self->balanced_row, interval);
      if (isnan (m.auc))
        gtk_label_set_text (self->auc_label, "—");
      else
        {
          g_snprintf (text, sizeof text, "%.3f", m.auc);
          gtk_label_set_text (self->auc_label, text);
        }
      gtk_widget_set_visible (GTK_WIDGET (self->metrics_group), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->metrics_group), FALSE);
}

/* A tile size of 0 follows the model's scale: the spin button says so. */
static gboolean
on_tile_size_output (GtkSpinButton *spin)
{
  double value = gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin));

  if (value != 0)
    return FALSE;
  /* Translators: the tile size is chosen from the model's scale */
  gtk_editable_set_text (GTK_EDITABLE (spin), C_ ("tile size", "Auto"));
  return TRUE;
}

static int
on_tile_size_input (GtkSpinButton *spin,
                    double        *value)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char       *end = NULL;

  *value = g_strtod (text, &end);
  if (end == text || *value < 0)
    *value = 0; /* "Auto", or anything that is not a size */
  return TRUE;
}

static gboolean
colormap_to_index (GBinding     *binding,
                   const GValue *from,
                   GValue       *to,
                   gpointer      data)
{
  for (guint i = 0; i < G_N_ELEMENTS (colormaps); i++)
    if (g_strcmp0 (g_value_get_string (from), colormaps[i]) == 0)
      {
        g_value_set_uint (to, i);
        return TRUE;
      }
  g_value_set_uint (to, 0);
  return TRUE;
}

static gboolean
index_to_colormap (GBinding     *binding,
                   const GValue *from,
                   GValue       *to,
                   gpointer      data)
{
  guint i = g_value_get_uint (from);

  g_value_set_string (to, colormaps[i < G_N_ELEMENTS (colormaps) ? i : 0]);
  return TRUE;
}

static void
unbind (HgPredictionsPanel *self)
{
  for (guint i = 0; i < self->bindings->len; i++)
    g_binding_unbind (g_ptr_array_index (self->bindings, i));
  g_ptr_array_set_size (self->bindings, 0);
  if (self->page != NULL)
    g_signal_handlers_disconnect_by_data (self->page, self);
}

static void
bind (HgPredictionsPanel *self,
      const char         *source_property,
      gpointer            target,
      const char         *target_property)
{
  g_ptr_array_add (self->bindings,
                   g_object_ref (g_object_bind_property (self->page, source_property, target, target_property,
                                                         G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE)));
}

void
hg_predictions_panel_set_page (HgPredictionsPanel *self,
                               HgSlidePage        *page)
{
  g_return_if_fail (HG_IS_PREDICTIONS_PANEL (self));

  if (self->page == page)
    return;

  unbind (self);
  g_set_object (&self->page, page);
  if (page == NULL)
    return;

  bind (self, "heatmap-visible", self->show_switch, "active");
  bind (self, "heatmap-opacity", self->opacity_adjustment, "value");
  bind (self, "threshold-enabled", self->threshold_switch, "active");
  bind (self, "threshold", self->threshold_adjustment, "value");
  bind (self, "show-truth", self->truth_switch, "active");
  bind (self, "tile-size", self->tile_size_adjustment, "value");
  g_ptr_array_add (self->bindings,
                   g_object_ref (g_object_bind_property_full (page, "colormap", self->colormap_row, "selected",
                                                              G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                                              colormap_to_index, index_to_colormap, NULL, NULL)));

  g_signal_connect_object (page, "heatmap-changed", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::running", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::progress", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::status", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::has-truth", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
}

void
hg_predictions_panel_set_settings (HgPredictionsPanel *self,
                                   GSettings          *settings)
{
  g_return_if_fail (HG_IS_PREDICTIONS_PANEL (self));

  g_set_object (&self->settings, settings);
}

static void
hg_predictions_panel_dispose (GObject *object)
{
  HgPredictionsPanel *self = HG_PREDICTIONS_PANEL (object);

  unbind (self);
  g_clear_object (&self->page);
  g_clear_object (&self->settings);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_PREDICTIONS_PANEL);

  G_OBJECT_CLASS (hg_predictions_panel_parent_class)->dispose (object);
}

static void
hg_predictions_panel_finalize (GObject *object)
{
  HgPredictionsPanel *self = HG_PREDICTIONS_PANEL (object);

  g_ptr_array_unref (self->model_paths);
  g_ptr_array_unref (self->bindings);

  G_OBJECT_CLASS (hg_predictions_panel_parent_class)->finalize (object);
}

static void
hg_predictions_panel_class_init (HgPredictionsPanelClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_predictions_panel_dispose;
  object_class->finalize = hg_predictions_panel_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-predictions-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, no_model_page);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, model_row);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, model_list);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, run_stack);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, status_label);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, show_switch);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, colormap_row);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, threshold_switch);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, truth_row);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, truth_switch);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, metrics_group);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, balanced_row);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, balanced_label);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, auc_label);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, tiling_row);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, tile_size_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, tile_size_spin);
  gtk_widget_class_bind_template_child (widget_class, HgPredictionsPanel, export_group);

  gtk_widget_class_install_action (widget_class, "panel.choose-model", NULL, choose_model_action);
  gtk_widget_class_install_action (widget_class, "panel.run", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "panel.cancel", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "panel.export", "s", page_action);

  gtk_widget_class_set_css_name (widget_class, "predictionspanel");
}

static void
hg_predictions_panel_init (HgPredictionsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->model_paths = g_ptr_array_new_with_free_func (g_free);
  self->bindings = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect_object (self->model_row, "notify::selected", G_CALLBACK (on_model_selected), self,
                           G_CONNECT_SWAPPED);
  g_object_bind_property (self->threshold_switch, "active", self->threshold_spin, "sensitive", G_BINDING_SYNC_CREATE);
  g_signal_connect (self->tile_size_spin, "output", G_CALLBACK (on_tile_size_output), NULL);
  g_signal_connect (self->tile_size_spin, "input", G_CALLBACK (on_tile_size_input), NULL);
  gtk_spin_button_update (self->tile_size_spin);
  hg_predictions_panel_set_model (self, NULL, NULL, NULL);
}
