/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgAttackPanel"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>

#include "hg-attack-panel.h"
#include "hg-heatmap-overlay.h"

struct _HgAttackPanel
{
  GtkWidget parent_instance;

  HgExplorer *explorer;
  GPtrArray  *bindings;

  /* Template children */
  GtkWidget      *scroller;
  GtkWidget      *attack_group;
  GtkAdjustment  *eps_adjustment;
  GtkAdjustment  *eps_spin_adjustment;
  GtkAdjustment  *steps_adjustment;
  GtkWidget      *steps_row;
  GtkMenuButton  *goal_button;
  GtkWidget      *result_box;
  GtkLabel       *summary_label;
  GtkLabel       *accuracy_label;
  GtkLabel       *status_label;
  GtkSpinner     *busy_spinner;
  GtkWidget      *defended_box;
  GtkLabel       *defended_summary_label;
  GtkLabel       *defended_accuracy_label;
  GtkLabel       *key_label;
  GtkWidget      *focus_group;
  GtkStack       *focus_stack;
  GtkPicture     *clean_picture;
  GtkPicture     *perturbation_picture;
  GtkPicture     *attacked_picture;
  GtkLabel       *perturbation_caption;
  GtkLabel       *focus_label;
  GtkLabel       *defended_focus_label;
  GtkWidget      *defense_group;
  GtkWidget      *robust_row;
  GtkWidget      *jpeg_row;
  GtkWidget      *median_row;
  GtkWidget      *bits_row;
  GtkWidget      *detector_row;
  GtkWidget      *adaptive_row;
  GtkWidget      *map_group;
  GtkStack       *map_stack;
  GtkProgressBar *map_progress;
  GtkWidget      *show_map_row;
};

G_DEFINE_FINAL_TYPE (HgAttackPanel, hg_attack_panel, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_EXPLORER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

GtkWidget *
hg_attack_panel_new (void)
{
  return g_object_new (HG_TYPE_ATTACK_PANEL, NULL);
}

HgExplorer *
hg_attack_panel_get_explorer (HgAttackPanel *self)
{
  g_return_val_if_fail (HG_IS_ATTACK_PANEL (self), NULL);

  return self->explorer;
}

static gboolean
get_boolean (HgExplorer *explorer,
             const char *property)
{
  gboolean value = FALSE;

  g_object_get (explorer, property, &value, NULL);
  return value;
}

static void
set_text (GtkLabel   *label,
          const char *text)
{
  gtk_label_set_text (label, text != NULL ? text : "");
}

/* Everything that depends on several properties at once. */
static void
update (HgAttackPanel *self)
{
  HgExplorer      *e = self->explorer;
  g_autofree char *goal = NULL, *status = NULL, *summary = NULL, *accuracy = NULL;
  g_autofree char *defended_summary = NULL, *defended_accuracy = NULL;
  g_autofree char *focus = NULL, *defended_focus = NULL;
  gboolean         active, compare, busy, map_running, has_map, robust_available, detector;
  double           eps, progress;

  if (e == NULL)
    return;

  g_object_get (e, "active", &active, "compare", &compare, "busy", &busy, "map-running", &map_running,
                "has-map", &has_map, "robust-available", &robust_available, "detector", &detector,
                "epsilon", &eps, "map-progress", &progress, "goal", &goal, "status", &status,
                "summary", &summary, "accuracy", &accuracy, "defended-summary", &defended_summary,
                "defended-accuracy", &defended_accuracy, "focus-text", &focus,
                "defended-focus-text", &defended_focus, NULL);

  gtk_widget_set_sensitive (self->attack_group, active);
  gtk_widget_set_sensitive (self->result_box, active);
  gtk_widget_set_sensitive (self->focus_group, active);
  gtk_widget_set_sensitive (self->defense_group, active);
  gtk_widget_set_sensitive (self->map_group, active);
  gtk_widget_set_sensitive (self->steps_row, get_boolean (e, "iterative"));

  if (g_strcmp0 (goal, "malignant") == 0)
    gtk_menu_button_set_label (self->goal_button, _ ("Towards IDC"));
  else if (g_strcmp0 (goal, "benign") == 0)
    gtk_menu_button_set_label (self->goal_button, _ ("Towards Non-IDC"));
  else
    gtk_menu_button_set_label (self->goal_button, _ ("Untargeted"));

  if (!active)
    {
      set_text (self->summary_label, _ ("Turn on Live Attack to start"));
      set_text (self->accuracy_label, _ ("Then drag ε and watch the tiles change their labels."));
    }
  else
    {
      set_text (self->summary_label, summary != NULL ? summary : _ ("No tiles attacked yet"));
      set_text (self->accuracy_label, accuracy);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_label), !active || accuracy != NULL);
  set_text (self->status_label, status);
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), active && status != NULL && *status != '\0');
  gtk_spinner_set_spinning (self->busy_spinner, active && busy);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), active && busy);

  gtk_widget_set_visible (self->defended_box, active && compare && defended_summary != NULL);
  set_text (self->defended_summary_label, defended_summary);
  set_text (self->defended_accuracy_label, defended_accuracy);
  gtk_label_set_markup (self->key_label,
                        detector && compare
                            ? _ ("<span size='larger'>●</span> label flipped   <span foreground='#c4a000' "
                                 "size='larger'>◯</span> flagged by the detector")
                            : _ ("<span size='larger'>●</span> marks a tile whose label flipped"));

  set_text (self->focus_label, focus);
  if (defended_focus != NULL)
    {
      /* Translators: the selected tile's labels in the defended pane */
      g_autofree char *text = g_strdup_printf (_ ("Defended: %s"), defended_focus);

      set_text (self->defended_focus_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->defended_focus_label), compare && defended_focus != NULL);
  if (eps > 0)
    {
      /* Translators: the perturbation is shown this many times larger */
      g_autofree char *caption = g_strdup_printf (_ ("Change ×%.0f"), 127.5 / eps);

      gtk_label_set_text (self->perturbation_caption, caption);
    }
  else
    gtk_label_set_text (self->perturbation_caption, _ ("No change"));

  gtk_widget_set_sensitive (self->robust_row, compare && robust_available);
  if (!robust_available)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->robust_row), _ ("Not installed (models/idc-robust.safetensors)"));
  else
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->robust_row), _ ("Trained on attacked tiles too"));
  gtk_widget_set_sensitive (self->jpeg_row, compare);
  gtk_widget_set_sensitive (self->median_row, compare);
  gtk_widget_set_sensitive (self->bits_row, compare);
  gtk_widget_set_sensitive (self->detector_row, compare);
  gtk_widget_set_sensitive (self->adaptive_row, compare);

  gtk_stack_set_visible_child_name (self->map_stack, map_running ? "running" : "start");
  gtk_widget_set_visible (GTK_WIDGET (self->map_progress), map_running);
  gtk_progress_bar_set_fraction (self->map_progress, progress);
  gtk_widget_set_sensitive (self->show_map_row, has_map);
}

static void
update_pictures (HgAttackPanel *self)
{
  GdkTexture *clean = hg_explorer_get_picture (self->explorer, HG_EXPLORER_UNDEFENDED, HG_EXPLORER_CLEAN);

  gtk_picture_set_paintable (self->clean_picture, GDK_PAINTABLE (clean));
  gtk_picture_set_paintable (self->perturbation_picture,
                             GDK_PAINTABLE (hg_explorer_get_picture (self->explorer, HG_EXPLORER_UNDEFENDED,
                                                                     HG_EXPLORER_PERTURBATION)));
  gtk_picture_set_paintable (self->attacked_picture,
                             GDK_PAINTABLE (hg_explorer_get_picture (self->explorer, HG_EXPLORER_UNDEFENDED,
                                                                     HG_EXPLORER_ATTACKED)));
  gtk_stack_set_visible_child_name (self->focus_stack, clean != NULL ? "pictures" : "empty");
  update (self);
}

static void
unbind (HgAttackPanel *self)
{
  if (self->explorer == NULL)
    return;
  for (guint i = 0; i < self->bindings->len; i++)
    g_binding_unbind (self->bindings->pdata[i]);
  g_ptr_array_set_size (self->bindings, 0);
  g_signal_handlers_disconnect_by_data (self->explorer, self);
  g_clear_object (&self->explorer);
}

void
hg_attack_panel_set_explorer (HgAttackPanel *self,
                              HgExplorer    *explorer)
{
  g_return_if_fail (HG_IS_ATTACK_PANEL (self));
  g_return_if_fail (explorer == NULL || HG_IS_EXPLORER (explorer));

  if (self->explorer == explorer)
    return;
  unbind (self);
  if (explorer != NULL)
    {
      self->explorer = g_object_ref (explorer);
      /* The slider and the entry move ε, and ε moves them. */
      g_ptr_array_add (self->bindings, g_object_bind_property (explorer, "epsilon", self->eps_adjustment, "value",
                                                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE));
      g_ptr_array_add (self->bindings, g_object_bind_property (explorer, "epsilon", self->eps_spin_adjustment,
                                                               "value",
                                                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE));
      g_ptr_array_add (self->bindings, g_object_bind_property (explorer, "steps", self->steps_adjustment, "value",
                                                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE));
      g_signal_connect_object (explorer, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (explorer, "pictures-changed", G_CALLBACK (update_pictures), self,
                               G_CONNECT_SWAPPED);
      update_pictures (self);
    }
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPLORER]);
}

static void
hg_attack_panel_dispose (GObject *object)
{
  HgAttackPanel *self = HG_ATTACK_PANEL (object);

  unbind (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_ATTACK_PANEL);
  /* Children without a template binding, too. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (hg_attack_panel_parent_class)->dispose (object);
}

static void
hg_attack_panel_finalize (GObject *object)
{
  HgAttackPanel *self = HG_ATTACK_PANEL (object);

  g_ptr_array_unref (self->bindings);

  G_OBJECT_CLASS (hg_attack_panel_parent_class)->finalize (object);
}

static void
hg_attack_panel_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  HgAttackPanel *self = HG_ATTACK_PANEL (object);

  switch (prop_id)
    {
    case PROP_EXPLORER:
      g_value_set_object (value, self->explorer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_attack_panel_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  HgAttackPanel *self = HG_ATTACK_PANEL (object);

  switch (prop_id)
    {
    case PROP_EXPLORER:
      hg_attack_panel_set_explorer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_attack_panel_class_init (HgAttackPanelClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_attack_panel_dispose;
  object_class->finalize = hg_attack_panel_finalize;
  object_class->get_property = hg_attack_panel_get_property;
  object_class->set_property = hg_attack_panel_set_property;

  properties[PROP_EXPLORER] = g_param_spec_object ("explorer", NULL, NULL, HG_TYPE_EXPLORER,
                                                   G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                       G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-attack-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, scroller);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, attack_group);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, eps_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, eps_spin_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, steps_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, steps_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, goal_button);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, result_box);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, summary_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, status_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, defended_box);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, defended_summary_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, defended_accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, key_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, focus_group);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, focus_stack);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, clean_picture);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, perturbation_picture);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, attacked_picture);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, perturbation_caption);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, focus_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, defended_focus_label);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, defense_group);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, robust_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, jpeg_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, median_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, bits_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, detector_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, adaptive_row);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, map_group);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, map_stack);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, map_progress);
  gtk_widget_class_bind_template_child (widget_class, HgAttackPanel, show_map_row);

  gtk_widget_class_set_css_name (widget_class, "attackpanel");
}

static void
hg_attack_panel_init (HgAttackPanel *self)
{
  self->bindings = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  update (self);
}
