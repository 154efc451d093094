/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgDetailsPanel"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "hg-associated-image.h"
#include "hg-details-panel.h"
#include "hg-slide-text.h"

struct _HgDetailsPanel
{
  GtkWidget parent_instance;

  HgSlide      *slide;
  GCancellable *cancellable;

  /* Template children */
  AdwActionRow *format_row;
  AdwActionRow *size_row;
  AdwActionRow *resolution_row;
  AdwActionRow *levels_row;
  AdwActionRow *patches_row;
  GtkWidget    *associated_box;
  GtkBox       *images_box;
  GtkLabel     *no_images_label;
};

G_DEFINE_FINAL_TYPE (HgDetailsPanel, hg_details_panel, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SLIDE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

GtkWidget *
hg_details_panel_new (void)
{
  return g_object_new (HG_TYPE_DETAILS_PANEL, NULL);
}

HgSlide *
hg_details_panel_get_slide (HgDetailsPanel *self)
{
  g_return_val_if_fail (HG_IS_DETAILS_PANEL (self), NULL);

  return self->slide;
}

typedef struct
{
  HgSlide *slide;
  char    *name;
} ReadData;

static void
read_data_free (ReadData *data)
{
  g_object_unref (data->slide);
  g_free (data->name);
  g_free (data);
}

static void
read_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ReadData *data = task_data;
  GError   *error = NULL;
  HgImage  *image = hg_slide_read_associated (data->slide, data->name, &error);

  if (image == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, image, (GDestroyNotify) hg_image_unref);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (HgAssociatedImage) item = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) image = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (image != NULL)
    hg_associated_image_set_image (item, image);
  else
    hg_associated_image_set_error (item, error->message);
}

static void
set_subtitle (AdwActionRow *row,
              const char   *text)
{
  adw_action_row_set_subtitle (row, text != NULL ? text : _ ("Unknown"));
}

void
hg_details_panel_set_slide (HgDetailsPanel *self,
                            HgSlide        *slide)
{
  const char *const *names;
  GtkWidget         *child;
  gint64             width = 0, height = 0;

  g_return_if_fail (HG_IS_DETAILS_PANEL (self));
  g_return_if_fail (slide == NULL || HG_IS_SLIDE (slide));

  if (!g_set_object (&self->slide, slide))
    return;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->images_box))) != NULL)
    gtk_box_remove (self->images_box, child);

  if (slide != NULL)
    {
      g_autofree char *format = hg_slide_text_format (slide);
      g_autofree char *size = NULL;
      g_autofree char *resolution = hg_slide_text_resolution (slide);
      g_autofree char *levels = hg_slide_text_levels (slide);
      g_autofree char *patches = hg_slide_text_patches (slide);

      hg_slide_get_level_size (slide, 0, &width, &height);
      size = hg_slide_text_dimensions (width, height);
      set_subtitle (self->format_row, format);
      set_subtitle (self->size_row, size);
      set_subtitle (self->resolution_row, resolution);
      set_subtitle (self->levels_row, levels);
      set_subtitle (self->patches_row, patches);
      gtk_widget_set_visible (GTK_WIDGET (self->patches_row), patches != NULL);

      self->cancellable = g_cancellable_new ();
      names = hg_slide_get_associated_names (slide);
      for (guint i = 0; names[i] != NULL; i++)
        {
          GtkWidget *item = hg_associated_image_new (names[i]);
          ReadData  *data = g_new0 (ReadData, 1);
          g_autoptr (GTask) task = g_task_new (NULL, self->cancellable, on_read, g_object_ref (item));

          gtk_box_append (self->images_box, item);
          data->slide = g_object_ref (slide);
          data->name = g_strdup (names[i]);
          g_task_set_source_tag (task, hg_details_panel_set_slide);
          g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
          g_task_run_in_thread (task, read_thread);
        }
      gtk_widget_set_visible (GTK_WIDGET (self->no_images_label), names[0] == NULL);
      /* Patch folders and plain images never have any: no need to say so. */
      gtk_widget_set_visible (self->associated_box,
                              hg_slide_get_source (slide) == HG_SLIDE_SOURCE_OPENSLIDE);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SLIDE]);
}

static void
hg_details_panel_dispose (GObject *object)
{
  HgDetailsPanel *self = HG_DETAILS_PANEL (object);
  GtkWidget      *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->slide);

  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_DETAILS_PANEL);
  /* Children without a template binding (separators, frames) too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (hg_details_panel_parent_class)->dispose (object);
}

static void
hg_details_panel_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HgDetailsPanel *self = HG_DETAILS_PANEL (object);

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
hg_details_panel_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HgDetailsPanel *self = HG_DETAILS_PANEL (object);

  switch (prop_id)
    {
    case PROP_SLIDE:
      hg_details_panel_set_slide (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_details_panel_class_init (HgDetailsPanelClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_details_panel_dispose;
  object_class->get_property = hg_details_panel_get_property;
  object_class->set_property = hg_details_panel_set_property;

  properties[PROP_SLIDE] =
      g_param_spec_object ("slide", NULL, NULL, HG_TYPE_SLIDE,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-details-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, format_row);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, size_row);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, resolution_row);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, levels_row);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, patches_row);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, associated_box);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, images_box);
  gtk_widget_class_bind_template_child (widget_class, HgDetailsPanel, no_images_label);

  gtk_widget_class_set_css_name (widget_class, "detailspanel");
}

static void
hg_details_panel_init (HgDetailsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
