/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgAssociatedImage"

#include "config.h"

#include <glib/gi18n.h>

#include "hg-associated-image.h"
#include "hg-slide-text.h"

struct _HgAssociatedImage
{
  GtkWidget parent_instance;

  char *name;

  /* Template children */
  GtkSpinner *spinner;
  GtkWidget  *picture_clamp;
  GtkPicture *picture;
  GtkLabel   *error_label;
  GtkLabel   *caption;
};

G_DEFINE_FINAL_TYPE (HgAssociatedImage, hg_associated_image, GTK_TYPE_WIDGET)

GtkWidget *
hg_associated_image_new (const char *name)
{
  HgAssociatedImage *self = g_object_new (HG_TYPE_ASSOCIATED_IMAGE, NULL);

  self->name = g_strdup (name);
  gtk_label_set_text (self->caption, hg_slide_text_associated (name));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->picture), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  hg_slide_text_associated (name), -1);

  return GTK_WIDGET (self);
}

const char *
hg_associated_image_get_name (HgAssociatedImage *self)
{
  g_return_val_if_fail (HG_IS_ASSOCIATED_IMAGE (self), NULL);

  return self->name;
}

void
hg_associated_image_set_image (HgAssociatedImage *self,
                               HgImage           *image)
{
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *size = NULL;

  g_return_if_fail (HG_IS_ASSOCIATED_IMAGE (self));
  g_return_if_fail (image != NULL);

  texture = hg_texture_new_for_image (image);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
  size = hg_slide_text_dimensions (hg_image_get_width (image), hg_image_get_height (image));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->picture), size);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_set_visible (self->picture_clamp, TRUE);
}

void
hg_associated_image_set_error (HgAssociatedImage *self,
                               const char        *message)
{
  g_return_if_fail (HG_IS_ASSOCIATED_IMAGE (self));

  gtk_label_set_text (self->error_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
}

static void
hg_associated_image_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), HG_TYPE_ASSOCIATED_IMAGE);
  /* Children without a template binding (separators, frames) too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (hg_associated_image_parent_class)->dispose (object);
}

static void
hg_associated_image_finalize (GObject *object)
{
  HgAssociatedImage *self = HG_ASSOCIATED_IMAGE (object);

  g_free (self->name);

  G_OBJECT_CLASS (hg_associated_image_parent_class)->finalize (object);
}

static void
hg_associated_image_class_init (HgAssociatedImageClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_associated_image_dispose;
  object_class->finalize = hg_associated_image_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE "/ui/hg-associated-image.ui");
  gtk_widget_class_bind_template_child (widget_class, HgAssociatedImage, spinner);
  gtk_widget_class_bind_template_child (widget_class, HgAssociatedImage, picture_clamp);
  gtk_widget_class_bind_template_child (widget_class, HgAssociatedImage, picture);
  gtk_widget_class_bind_template_child (widget_class, HgAssociatedImage, error_label);
  gtk_widget_class_bind_template_child (widget_class, HgAssociatedImage, caption);
}

static void
hg_associated_image_init (HgAssociatedImage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
