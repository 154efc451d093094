/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgWindow"

#include "config.h"

#include <glib/gi18n.h>

#include "hg-window.h"

struct _HgWindow
{
  AdwApplicationWindow parent_instance;

  GSettings            *settings;
  GtkFileChooserNative *chooser;

  /* Template children */
  AdwToastOverlay *toast_overlay;
  GtkStack        *stack;
  AdwStatusPage   *empty_page;
};

G_DEFINE_FINAL_TYPE (HgWindow, hg_window, ADW_TYPE_APPLICATION_WINDOW)

HgWindow *
hg_window_new (HgApplication *application)
{
  return g_object_new (HG_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

void
hg_window_show_toast (HgWindow   *self,
                      const char *message)
{
  g_return_if_fail (HG_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

void
hg_window_open (HgWindow *self,
                GFile    *file)
{
  g_autofree char *name = NULL;
  g_autofree char *message = NULL;

  g_return_if_fail (HG_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  name = g_file_get_basename (file);
  /* Translators: %s is a file name */
  message = g_strdup_printf (_ ("“%s” could not be opened: this build cannot read slides yet"),
                             name);
  hg_window_show_toast (self, message);
}

void
hg_window_open_demo (HgWindow *self)
{
  g_return_if_fail (HG_IS_WINDOW (self));

  hg_window_show_toast (self, _ ("The demo slide is not part of this build yet"));
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     HgWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        hg_window_open (self, file);
    }

  g_clear_object (&self->chooser);
}

static void
hg_window_open_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HgWindow *self = HG_WINDOW (widget);
  g_autoptr (GtkFileFilter) slides = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  self->chooser = gtk_file_chooser_native_new (_ ("Open Slide"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _ ("_Open"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);

  gtk_file_filter_set_name (slides, _ ("Slides and Images"));
  for (const char *const *p = (const char *const[]){ "*.svs", "*.tif", "*.tiff", "*.ndpi",
                                                     "*.mrxs", "*.scn", "*.vms", "*.vmu",
                                                     "*.bif", "*.png", "*.jpg", "*.jpeg",
                                                     NULL };
       *p != NULL; p++)
    gtk_file_filter_add_suffix (slides, *p + 2);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), slides);

  gtk_file_filter_set_name (all, _ ("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);

  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
hg_window_open_demo_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  hg_window_open_demo (HG_WINDOW (widget));
}

static void
hg_window_dispose (GObject *object)
{
  HgWindow *self = HG_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_WINDOW);

  G_OBJECT_CLASS (hg_window_parent_class)->dispose (object);
}

static void
hg_window_class_init (HgWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HgWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, empty_page);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, hg_window_open_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL,
                                   hg_window_open_demo_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-demo", NULL);
}

static void
hg_window_init (HgWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
}
