/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgTileInspector"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "hg-tile-inspector.h"

/* Explanations are laid over the tile in magma, more opaque where they
 * are stronger, so that the tissue stays visible where they are weak. */
#define MAP_MAX_ALPHA 0.85

struct _HgTileInspector
{
  GtkWidget parent_instance;

  HgTileInspectorView view;
  GdkTexture         *image;
  GdkTexture         *grey; /* the image under an explanation */
  GdkTexture         *saliency;
  GdkTexture         *gradcam;

  /* Template children */
  GtkStack        *stack;
  GtkLabel        *title_label;
  GtkLabel        *subtitle_label;
  GtkPicture      *picture;
  GtkPicture      *map_picture;
  GtkToggleButton *tile_button;
  GtkToggleButton *saliency_button;
  GtkToggleButton *gradcam_button;
  GtkLabel        *explanation_label;
  GtkGrid         *bars_grid;
  GtkLabel        *note_label;
};

G_DEFINE_FINAL_TYPE (HgTileInspector, hg_tile_inspector, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_VIEW,
  N_PROPS
};

enum
{
  MOVE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

GtkWidget *
hg_tile_inspector_new (void)
{
  return g_object_new (HG_TYPE_TILE_INSPECTOR, NULL);
}

static GdkTexture *
map_texture (const float *map,
             int          width,
             int          height)
{
  g_autoptr (GBytes) bytes = NULL;
  guint8 *rgba = g_new (guint8, (gsize) width * height * 4);

  for (int i = 0; i < width * height; i++)
    {
      float v = CLAMP (map[i], 0, 1);

      hg_colormap_lookup (HG_COLORMAP_MAGMA, v, rgba + 4 * i);
      rgba[4 * i + 3] = (guint8) (255 * MAP_MAX_ALPHA * v + 0.5);
    }
  bytes = g_bytes_new_take (rgba, (gsize) width * height * 4);
  return gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8A8, bytes, (gsize) width * 4);
}

/* The tile in shades of grey, so that the explanation's colours are the
 * only ones and do not blend with the stain's pinks and purples. */
static GdkTexture *
grey_texture (GdkTexture *image)
{
  int     w = gdk_texture_get_width (image), h = gdk_texture_get_height (image);
  gsize   stride = (gsize) w * 4;
  guint8 *pixels = g_malloc (stride * h);
  g_autoptr (GBytes) bytes = NULL;

  /* Cairo's ARGB32 in native order: B, G, R, A on little-endian. */
  gdk_texture_download (image, pixels, stride);
  for (gsize i = 0; i < stride * h; i += 4)
    {
      guint32 argb = *(guint32 *) (pixels + i);
      guint   r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff, a = argb >> 24;
      guint   y = (guint) (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.5);

      *(guint32 *) (pixels + i) = (a << 24) | (y << 16) | (y << 8) | y;
    }
  bytes = g_bytes_new_take (pixels, stride * h);
  return gdk_memory_texture_new (w, h, GDK_MEMORY_DEFAULT, bytes, stride);
}

static void
update_view (HgTileInspector *self)
{
  GdkTexture *map = NULL;
  const char *text = NULL;

  switch (self->view)
    {
    case HG_TILE_INSPECTOR_SALIENCY:
      map = self->saliency;
      text = _ ("Brighter pixels are those whose smallest change moves the predicted class’s "
                "score most: where a gradient attack such as FGSM pushes.");
      break;
    case HG_TILE_INSPECTOR_GRADCAM:
      map = self->gradcam;
      text = _ ("Brighter regions are those whose features in the last convolutional block "
                "speak most for the predicted class.");
      break;
    case HG_TILE_INSPECTOR_TILE:
    default:
      break;
    }

  gtk_picture_set_paintable (self->map_picture, GDK_PAINTABLE (map));
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (map != NULL ? self->grey : self->image));
  gtk_label_set_text (self->explanation_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->explanation_label), text != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->saliency_button), self->saliency != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->gradcam_button), self->gradcam != NULL);
}

HgTileInspectorView
hg_tile_inspector_get_view (HgTileInspector *self)
{
  g_return_val_if_fail (HG_IS_TILE_INSPECTOR (self), HG_TILE_INSPECTOR_TILE);

  return self->view;
}

void
hg_tile_inspector_set_view (HgTileInspector    *self,
                            HgTileInspectorView view)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  if (self->view == view)
    return;

  self->view = view;
  gtk_toggle_button_set_active (view == HG_TILE_INSPECTOR_SALIENCY  ? self->saliency_button
                                : view == HG_TILE_INSPECTOR_GRADCAM ? self->gradcam_button
                                                                    : self->tile_button,
                                TRUE);
  update_view (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEW]);
}

static void
on_view_toggled (HgTileInspector *self)
{
  if (gtk_toggle_button_get_active (self->saliency_button))
    hg_tile_inspector_set_view (self, HG_TILE_INSPECTOR_SALIENCY);
  else if (gtk_toggle_button_get_active (self->gradcam_button))
    hg_tile_inspector_set_view (self, HG_TILE_INSPECTOR_GRADCAM);
  else if (gtk_toggle_button_get_active (self->tile_button))
    hg_tile_inspector_set_view (self, HG_TILE_INSPECTOR_TILE);
}

void
hg_tile_inspector_clear (HgTileInspector *self)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  g_clear_object (&self->image);
  g_clear_object (&self->grey);
  gtk_picture_set_paintable (self->picture, NULL);
  hg_tile_inspector_set_probabilities (self, NULL, NULL, 0);
  hg_tile_inspector_set_explanations (self, NULL, NULL, 0, 0);
  hg_tile_inspector_set_note (self, NULL);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

void
hg_tile_inspector_set_title (HgTileInspector *self,
                             const char      *title,
                             const char      *subtitle)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->subtitle_label, subtitle != NULL ? subtitle : "");
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), subtitle != NULL);
  gtk_stack_set_visible_child_name (self->stack, "tile");
}

void
hg_tile_inspector_set_image (HgTileInspector *self,
                             GdkTexture      *image)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  g_set_object (&self->image, image);
  g_clear_object (&self->grey);
  if (image != NULL)
    self->grey = grey_texture (image);
  update_view (self);
  gtk_stack_set_visible_child_name (self->stack, "tile");
}

void
hg_tile_inspector_set_probabilities (HgTileInspector   *self,
                                     const float       *probs,
                                     const char *const *names,
                                     int                n)
{
  GtkWidget *child;
  int        best = 0;

  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->bars_grid))) != NULL)
    gtk_grid_remove (self->bars_grid, child);

  if (probs == NULL || n <= 0)
    {
      GtkWidget *waiting = gtk_label_new (_ ("Not classified yet"));

      gtk_widget_add_css_class (waiting, "dim-label");
      gtk_label_set_xalign (GTK_LABEL (waiting), 0);
      gtk_grid_attach (self->bars_grid, waiting, 0, 0, 3, 1);
      return;
    }

  for (int c = 1; c < n; c++)
    if (probs[c] > probs[best])
      best = c;

  /* One row per class: name, bar, percentage; the winner in bold. */
  for (int c = 0; c < n; c++)
    {
      GtkWidget       *name = gtk_label_new (names[c]);
      GtkWidget       *bar = gtk_level_bar_new_for_interval (0, 1);
      g_autofree char *percent_text = g_strdup_printf ("%.1f %%", 100.0 * probs[c]);
      GtkWidget       *percent = gtk_label_new (percent_text);
      g_autofree char *spoken = g_strdup_printf (_ ("Probability of %s"), names[c]);

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_xalign (GTK_LABEL (percent), 1);
      gtk_widget_add_css_class (percent, "numeric");
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (probs[c], 0, 1));
      /* No low/high colours: the value is a probability, not a level. */
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
      gtk_widget_add_css_class (bar, c == best ? "hg-winner" : "hg-loser");
      gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
      if (c == best)
        {
          gtk_widget_add_css_class (name, "heading");
          gtk_widget_add_css_class (percent, "heading");
        }
      gtk_grid_attach (self->bars_grid, name, 0, c, 1, 1);
      gtk_grid_attach (self->bars_grid, bar, 1, c, 1, 1);
      gtk_grid_attach (self->bars_grid, percent, 2, c, 1, 1);
    }
}

void
hg_tile_inspector_set_explanations (HgTileInspector *self,
                                    const float     *saliency,
                                    const float     *gradcam,
                                    int              width,
                                    int              height)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  g_clear_object (&self->saliency);
  g_clear_object (&self->gradcam);
  if (width > 0 && height > 0)
    {
      if (saliency != NULL)
        self->saliency = map_texture (saliency, width, height);
      if (gradcam != NULL)
        self->gradcam = map_texture (gradcam, width, height);
    }
  update_view (self);
}

void
hg_tile_inspector_set_note (HgTileInspector *self,
                            const char      *note)
{
  g_return_if_fail (HG_IS_TILE_INSPECTOR (self));

  gtk_label_set_markup (self->note_label, note != NULL ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->note_label), note != NULL);
}

static void
hg_tile_inspector_dispose (GObject *object)
{
  HgTileInspector *self = HG_TILE_INSPECTOR (object);

  g_clear_object (&self->image);
  g_clear_object (&self->grey);
  g_clear_object (&self->saliency);
  g_clear_object (&self->gradcam);
  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_TILE_INSPECTOR);

  G_OBJECT_CLASS (hg_tile_inspector_parent_class)->dispose (object);
}

static void
hg_tile_inspector_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HgTileInspector *self = HG_TILE_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      g_value_set_int (value, self->view);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_tile_inspector_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  HgTileInspector *self = HG_TILE_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      hg_tile_inspector_set_view (self, (HgTileInspectorView) g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
add_move_binding (GtkWidgetClass *widget_class,
                  guint           keyval,
                  guint           keypad,
                  int             dx,
                  int             dy)
{
  gtk_widget_class_add_binding_signal (widget_class, keyval, 0, "move", "(ii)", dx, dy);
  gtk_widget_class_add_binding_signal (widget_class, keypad, 0, "move", "(ii)", dx, dy);
}

static void
hg_tile_inspector_class_init (HgTileInspectorClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_tile_inspector_dispose;
  object_class->get_property = hg_tile_inspector_get_property;
  object_class->set_property = hg_tile_inspector_set_property;

  properties[PROP_VIEW] =
      g_param_spec_int ("view", NULL, NULL, HG_TILE_INSPECTOR_TILE, HG_TILE_INSPECTOR_GRADCAM,
                        HG_TILE_INSPECTOR_TILE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* An arrow key: step (dx, dy) tiles. */
  signals[MOVE] = g_signal_new ("move", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, -1, 0);
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, 1, 0);
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, 0, -1);
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, 0, 1);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-tile-inspector.ui");
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, stack);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, title_label);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, picture);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, map_picture);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, tile_button);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, saliency_button);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, gradcam_button);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, explanation_label);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, bars_grid);
  gtk_widget_class_bind_template_child (widget_class, HgTileInspector, note_label);

  gtk_widget_class_set_css_name (widget_class, "tileinspector");
}

static void
hg_tile_inspector_init (HgTileInspector *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->tile_button, "toggled", G_CALLBACK (on_view_toggled), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->saliency_button, "toggled", G_CALLBACK (on_view_toggled), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gradcam_button, "toggled", G_CALLBACK (on_view_toggled), self, G_CONNECT_SWAPPED);
  hg_tile_inspector_clear (self);
}
