/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgApplication"

#include "config.h"

#include <glib/gi18n.h>

#include "hg-application.h"
#include "hg-preferences-window.h"
#include "hg-window.h"

struct _HgApplication
{
  AdwApplication parent_instance;

  GSettings   *settings;
  HgTileCache *tile_cache;
  gboolean     open_demo;
};

G_DEFINE_FINAL_TYPE (HgApplication, hg_application, ADW_TYPE_APPLICATION)

HgApplication *
hg_application_new (void)
{
  return g_object_new (HG_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", RESOURCE_BASE,
                       NULL);
}

GSettings *
hg_application_get_settings (HgApplication *self)
{
  g_return_val_if_fail (HG_IS_APPLICATION (self), NULL);

  return self->settings;
}

HgTileCache *
hg_application_get_tile_cache (HgApplication *self)
{
  g_return_val_if_fail (HG_IS_APPLICATION (self), NULL);

  if (self->tile_cache == NULL)
    self->tile_cache = hg_tile_cache_new (256u << 20);

  return self->tile_cache;
}

static void
on_tile_cache_changed (GSettings     *settings,
                       const char    *key,
                       HgApplication *self)
{
  guint64 mib = (guint64) MAX (g_settings_get_int (settings, "tile-cache-mib"), 1);

  hg_tile_cache_set_budget (hg_application_get_tile_cache (self), mib << 20);
}

static HgWindow *
hg_application_get_main_window (HgApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (HG_IS_WINDOW (window))
    return HG_WINDOW (window);

  return hg_window_new (self);
}

static void
hg_application_activate (GApplication *app)
{
  HgApplication *self = HG_APPLICATION (app);
  HgWindow      *window = hg_application_get_main_window (self);

  gtk_window_present (GTK_WINDOW (window));

  if (self->open_demo)
    {
      self->open_demo = FALSE;
      hg_window_open_demo (window);
    }
}

static int
hg_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  HgApplication *self = HG_APPLICATION (app);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("histoguard %s\n", PACKAGE_VERSION);
      return 0;
    }

  self->open_demo = g_variant_dict_contains (options, "demo");

  return -1;
}

static void
hg_application_open (GApplication *app,
                     GFile       **files,
                     int           n_files,
                     const char   *hint)
{
  HgApplication *self = HG_APPLICATION (app);

  /* One window per slide: side-by-side comparison lives inside a window. */
  for (int i = 0; i < n_files; i++)
    {
      HgWindow *window = hg_window_new (self);

      gtk_window_present (GTK_WINDOW (window));
      hg_window_open (window, files[i]);
    }
}

static void
apply_color_scheme (HgApplication *self)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *scheme = g_settings_get_string (self->settings, "color-scheme");

  if (g_strcmp0 (scheme, "light") == 0)
    adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  else if (g_strcmp0 (scheme, "dark") == 0)
    adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  else
    adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_PREFER_LIGHT);
}

static void
on_color_scheme_changed (GSettings     *settings,
                         const char    *key,
                         HgApplication *self)
{
  apply_color_scheme (self);
}

static void
hg_application_startup (GApplication *app)
{
  HgApplication *self = HG_APPLICATION (app);

  G_APPLICATION_CLASS (hg_application_parent_class)->startup (app);

  self->settings = g_settings_new (APP_ID);
  g_signal_connect_object (self->settings, "changed::color-scheme",
                           G_CALLBACK (on_color_scheme_changed), self, 0);
  apply_color_scheme (self);

  g_signal_connect_object (self->settings, "changed::tile-cache-mib",
                           G_CALLBACK (on_tile_cache_changed), self, 0);
  on_tile_cache_changed (self->settings, "tile-cache-mib", self);
}

static void
hg_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  HgApplication     *self = user_data;
  static const char *developers[] = { "The Histoguard developers", NULL };
  GtkWindow         *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  AdwAboutWindow    *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", window,
                        "application-icon", APP_ID,
                        "application-name", _ ("Histoguard"),
                        "developer-name", _ ("The Histoguard developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _ ("See how adversarial perturbations fool a breast-cancer "
                                       "histopathology classifier, and how defences hold up."),
                        "website", "https://github.com/histoguard/histoguard",
                        "issue-url", "https://github.com/histoguard/histoguard/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: replace with your names, one per line */
                        "translator-credits", _ ("translator-credits"),
                        NULL);
  adw_about_window_add_acknowledgement_section (
      about, _ ("Data"),
      (const char *[]){
          "Breast Histopathology Images (IDC), Janowczyk & Madabhushi 2016, CC0",
          "OpenSlide test data CMU-1-Small-Region, CC0",
          NULL });
  adw_about_window_add_link (about, _ ("The Paper This Builds On"),
                             "https://doi.org/10.3390/bioengineering10080973");
  gtk_window_present (GTK_WINDOW (about));
}

static void
hg_application_preferences_action (GSimpleAction *action,
                                   GVariant      *parameter,
                                   gpointer       user_data)
{
  HgApplication       *self = user_data;
  GtkWindow           *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  HgPreferencesWindow *prefs = hg_preferences_window_new (self->settings);

  gtk_window_set_transient_for (GTK_WINDOW (prefs), window);
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
hg_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  HgApplication *self = user_data;
  GList         *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Closing each window lets it save its state and cancel its work. */
  for (GList *l = windows; l != NULL;)
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }
}

static void
hg_application_new_window_action (GSimpleAction *action,
                                  GVariant      *parameter,
                                  gpointer       user_data)
{
  HgApplication *self = user_data;

  gtk_window_present (GTK_WINDOW (hg_window_new (self)));
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = hg_application_about_action },
  { .name = "preferences", .activate = hg_application_preferences_action },
  { .name = "quit", .activate = hg_application_quit_action },
  { .name = "new-window", .activate = hg_application_new_window_action },
};

static void
hg_application_dispose (GObject *object)
{
  HgApplication *self = HG_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->tile_cache);

  G_OBJECT_CLASS (hg_application_parent_class)->dispose (object);
}

static void
hg_application_class_init (HgApplicationClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = hg_application_dispose;

  app_class->activate = hg_application_activate;
  app_class->handle_local_options = hg_application_handle_local_options;
  app_class->open = hg_application_open;
  app_class->startup = hg_application_startup;
}

static void
hg_application_init (HgApplication *self)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };
  static const char *new_window_accels[] = { "<Control>n", NULL };

  static const GOptionEntry options[] = {
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Open the bundled demo slide"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Show the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _ ("[SLIDE…]"));
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         prefs_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.new-window",
                                         new_window_accels);
}
