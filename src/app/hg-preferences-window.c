/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgPreferencesWindow"

#include "config.h"

#include <glib/gi18n.h>

#include "hg-preferences-window.h"

struct _HgPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings *settings;

  /* Template children */
  AdwComboRow   *style_row;
  GtkSpinButton *cache_spin;
};

G_DEFINE_FINAL_TYPE (HgPreferencesWindow, hg_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum
{
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The order of the rows in the style combo, as stored in GSettings. */
static const char *const style_ids[] = { "follow", "light", "dark" };

static gboolean
style_get_mapping (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *id = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (style_ids); i++)
    if (g_strcmp0 (id, style_ids[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }

  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
style_set_mapping (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_string (style_ids[i < G_N_ELEMENTS (style_ids) ? i : 0]);
}

HgPreferencesWindow *
hg_preferences_window_new (GSettings *settings)
{
  return g_object_new (HG_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       NULL);
}

static void
hg_preferences_window_constructed (GObject *object)
{
  HgPreferencesWindow *self = HG_PREFERENCES_WINDOW (object);

  G_OBJECT_CLASS (hg_preferences_window_parent_class)->constructed (object);

  g_settings_bind_with_mapping (self->settings, "color-scheme", self->style_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, style_get_mapping, style_set_mapping,
                                NULL, NULL);
  g_settings_bind (self->settings, "tile-cache-mib", self->cache_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
}

static void
hg_preferences_window_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  HgPreferencesWindow *self = HG_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_preferences_window_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  HgPreferencesWindow *self = HG_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_preferences_window_dispose (GObject *object)
{
  HgPreferencesWindow *self = HG_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (hg_preferences_window_parent_class)->dispose (object);
}

static void
hg_preferences_window_class_init (HgPreferencesWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = hg_preferences_window_constructed;
  object_class->dispose = hg_preferences_window_dispose;
  object_class->get_property = hg_preferences_window_get_property;
  object_class->set_property = hg_preferences_window_set_property;

  properties[PROP_SETTINGS] =
      g_param_spec_object ("settings", NULL, NULL,
                           G_TYPE_SETTINGS,
                           (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                            G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE "/ui/hg-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HgPreferencesWindow, style_row);
  gtk_widget_class_bind_template_child (widget_class, HgPreferencesWindow, cache_spin);
}

static void
hg_preferences_window_init (HgPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
