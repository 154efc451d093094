/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgPropertiesWindow"

#include "config.h"

#include <glib/gi18n.h>

#include "hg-properties-window.h"
#include "hg-slide-text.h"

struct _HgPropertiesWindow
{
  AdwPreferencesWindow parent_instance;

  HgSlide *slide;

  /* Template children */
  AdwActionRow        *name_row;
  AdwActionRow        *location_row;
  AdwActionRow        *format_row;
  AdwActionRow        *size_row;
  AdwActionRow        *physical_size_row;
  AdwActionRow        *resolution_row;
  AdwPreferencesGroup *levels_group;
  AdwPreferencesGroup *patches_group;
  AdwActionRow        *patient_row;
  AdwActionRow        *patches_row;
  AdwActionRow        *unreadable_row;
  AdwPreferencesGroup *metadata_group;
};

G_DEFINE_FINAL_TYPE (HgPropertiesWindow, hg_properties_window, ADW_TYPE_PREFERENCES_WINDOW)

enum
{
  PROP_0,
  PROP_SLIDE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

HgPropertiesWindow *
hg_properties_window_new (HgSlide *slide)
{
  g_return_val_if_fail (HG_IS_SLIDE (slide), NULL);

  return g_object_new (HG_TYPE_PROPERTIES_WINDOW, "slide", slide, NULL);
}

HgSlide *
hg_properties_window_get_slide (HgPropertiesWindow *self)
{
  g_return_val_if_fail (HG_IS_PROPERTIES_WINDOW (self), NULL);

  return self->slide;
}

/* Values come from files: never markup. */
static GtkWidget *
value_row (const char *title,
           const char *value)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), value);

  return row;
}

static void
set_subtitle (AdwActionRow *row,
              const char   *text)
{
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (row, text != NULL ? text : _ ("Unknown"));
}

static void
fill (HgPropertiesWindow *self)
{
  HgSlide           *slide = self->slide;
  const char *const *names = hg_slide_get_property_names (slide);
  g_autofree char   *format = hg_slide_text_format (slide);
  g_autofree char   *size = NULL;
  g_autofree char   *resolution = hg_slide_text_resolution (slide);
  g_autofree char   *location = g_path_get_dirname (hg_slide_get_path (slide));
  g_autofree char   *physical = NULL;
  double             mpp_x, mpp_y;
  gint64             width, height;

  hg_slide_get_level_size (slide, 0, &width, &height);
  size = hg_slide_text_dimensions (width, height);
  if (hg_slide_get_mpp (slide, &mpp_x, &mpp_y))
    /* Translators: the slide's physical size in millimetres */
    physical = g_strdup_printf (_ ("%.2f × %.2f mm"), width * mpp_x / 1000, height * mpp_y / 1000);

  set_subtitle (self->name_row, hg_slide_get_name (slide));
  set_subtitle (self->location_row, location);
  set_subtitle (self->format_row, format);
  set_subtitle (self->size_row, size);
  set_subtitle (self->physical_size_row, physical);
  set_subtitle (self->resolution_row, resolution);

  for (int level = 0; level < hg_slide_get_level_count (slide); level++)
    {
      g_autofree char *title = g_strdup_printf (_ ("Level %d"), level);
      g_autofree char *dims = NULL;
      g_autofree char *value = NULL;
      double           ds = hg_slide_get_level_downsample (slide, level);

      hg_slide_get_level_size (slide, level, &width, &height);
      dims = hg_slide_text_dimensions (width, height);
      if (level == 0)
        value = g_strdup_printf ("%s · %s", dims, _ ("full resolution"));
      else
        /* Translators: a pyramid level's size, then how much smaller it is */
        value = g_strdup_printf (_ ("%s · 1/%.4g of full resolution"), dims, ds);
      adw_preferences_group_add (self->levels_group, value_row (title, value));
    }

  if (hg_slide_has_ground_truth (slide))
    {
      g_autofree char *patches = hg_slide_text_patches (slide);

      gtk_widget_set_visible (GTK_WIDGET (self->patches_group), TRUE);
      set_subtitle (self->patient_row, hg_slide_get_property (slide, "idc.patient"));
      set_subtitle (self->patches_row, patches);
      adw_action_row_set_subtitle (self->unreadable_row,
                                   hg_slide_get_property (slide, "idc.patches.unreadable"));
      gtk_widget_set_visible (GTK_WIDGET (self->unreadable_row),
                              g_strcmp0 (hg_slide_get_property (slide, "idc.patches.unreadable"), "0") != 0);
    }

  for (guint i = 0; names[i] != NULL; i++)
    adw_preferences_group_add (self->metadata_group,
                               value_row (names[i], hg_slide_get_property (slide, names[i])));

  gtk_window_set_title (GTK_WINDOW (self), hg_slide_get_name (slide));
}

static void
hg_properties_window_constructed (GObject *object)
{
  HgPropertiesWindow *self = HG_PROPERTIES_WINDOW (object);

  G_OBJECT_CLASS (hg_properties_window_parent_class)->constructed (object);

  if (self->slide != NULL)
    fill (self);
}

static void
hg_properties_window_dispose (GObject *object)
{
  HgPropertiesWindow *self = HG_PROPERTIES_WINDOW (object);

  g_clear_object (&self->slide);
  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_PROPERTIES_WINDOW);

  G_OBJECT_CLASS (hg_properties_window_parent_class)->dispose (object);
}

static void
hg_properties_window_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  HgPropertiesWindow *self = HG_PROPERTIES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SLIDE:
      g_value_set_object (value, self->slide);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_properties_window_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  HgPropertiesWindow *self = HG_PROPERTIES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SLIDE:
      self->slide = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_properties_window_class_init (HgPropertiesWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = hg_properties_window_constructed;
  object_class->dispose = hg_properties_window_dispose;
  object_class->get_property = hg_properties_window_get_property;
  object_class->set_property = hg_properties_window_set_property;

  properties[PROP_SLIDE] =
      g_param_spec_object ("slide", NULL, NULL, HG_TYPE_SLIDE,
                           (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                            G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE "/ui/hg-properties-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, location_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, format_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, size_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, physical_size_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, resolution_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, levels_group);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, patches_group);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, patient_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, patches_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, unreadable_row);
  gtk_widget_class_bind_template_child (widget_class, HgPropertiesWindow, metadata_group);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
hg_properties_window_init (HgPropertiesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
