/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgWindow"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "hg-attack-panel.h"
#include "hg-details-panel.h"
#include "hg-epsilon-bar.h"
#include "hg-explorer.h"
#include "hg-predictions-panel.h"
#include "hg-properties-window.h"
#include "hg-slide-page.h"
#include "hg-slide-text.h"
#include "hg-window.h"

/* Opening that takes longer than this shows a spinner page; quicker ones
 * go straight to the slide, without a flash in between. */
#define LOADING_PAGE_DELAY_MS 300
#define MAX_RECENT 6
#define RECENT_APP_NAME "histoguard"

struct _HgWindow
{
  AdwApplicationWindow parent_instance;

  GSettings            *settings;
  GtkFileChooserNative *chooser;
  HgTileCache          *cache;
  HgSlide              *slide;
  GCancellable         *open_cancellable;
  GFile                *opening;
  guint                 loading_page_id;
  char                 *tile_error;
  GMenu                *recent_menu;
  HgExplorer           *explorer;
  GtkWidget            *epsilon_bar;
  gboolean              presentation;
  gboolean              sidebar_before_presentation;

  /* Template children */
  AdwSplitButton     *open_button;
  AdwHeaderBar       *header_bar;
  HgAttackPanel      *attack_panel;
  GtkToggleButton    *attack_button;
  AdwToastOverlay    *toast_overlay;
  GtkStack           *stack;
  AdwStatusPage      *empty_page;
  AdwStatusPage      *loading_page;
  GtkSpinner         *loading_spinner;
  AdwWindowTitle     *window_title;
  AdwFlap            *flap;
  HgSlidePage        *slide_page;
  HgDetailsPanel     *details_panel;
  HgPredictionsPanel *predictions_panel;
  HgTileInspector    *inspector;
  AdwViewStack       *sidebar_stack;
  GtkToggleButton    *sidebar_button;
  GtkToggleButton    *heatmap_button;
  GtkBox             *recent_box;
  GtkListBox         *recent_list;
  GMenu              *open_menu;
};

G_DEFINE_FINAL_TYPE (HgWindow, hg_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_PRESENTATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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

HgSlide *
hg_window_get_slide (HgWindow *self)
{
  g_return_val_if_fail (HG_IS_WINDOW (self), NULL);

  return self->slide;
}

HgSlidePage *
hg_window_get_slide_page (HgWindow *self)
{
  g_return_val_if_fail (HG_IS_WINDOW (self), NULL);

  return self->slide_page;
}

gboolean
hg_window_get_busy (HgWindow *self)
{
  g_return_val_if_fail (HG_IS_WINDOW (self), FALSE);

  return self->opening != NULL;
}

/* One cache for the whole application, so that its budget is the budget;
 * a window without one (in tests) makes its own. */
static HgTileCache *
get_cache (HgWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (self->cache == NULL)
    {
      if (HG_IS_APPLICATION (app))
        self->cache = g_object_ref (hg_application_get_tile_cache (HG_APPLICATION (app)));
      else
        self->cache = hg_tile_cache_new ((guint64) g_settings_get_int (self->settings, "tile-cache-mib") << 20);
    }

  return self->cache;
}

static void
actions_update (HgWindow *self)
{
  gboolean has_slide = self->slide != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.properties", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-sidebar", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-in", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-out", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-fit", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-original", has_slide);
  gtk_widget_set_visible (GTK_WIDGET (self->sidebar_button), has_slide);
  gtk_widget_set_visible (GTK_WIDGET (self->heatmap_button), has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-heatmap", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-truth", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-explorer", has_slide);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.presentation", has_slide || self->presentation);
  gtk_widget_set_visible (GTK_WIDGET (self->attack_button), has_slide);
}

HgExplorer *
hg_window_get_explorer (HgWindow *self)
{
  g_return_val_if_fail (HG_IS_WINDOW (self), NULL);

  return self->explorer;
}

/* The explorer. */

/* Turning the attack on brings its panel forward. */
static void
on_explorer_active (HgWindow *self)
{
  gboolean active;

  g_object_get (self->explorer, "active", &active, NULL);
  if (active && !self->presentation)
    {
      gtk_toggle_button_set_active (self->sidebar_button, TRUE);
      adw_view_stack_set_visible_child_name (self->sidebar_stack, "attack");
    }
}

static void
toggle_explorer_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  HgWindow *self = HG_WINDOW (widget);
  gboolean  active;

  if (self->slide == NULL)
    return;
  g_object_get (self->explorer, "active", &active, NULL);
  g_object_set (self->explorer, "active", !active, NULL);
}

/* Presentation mode: full screen, large type, no side panel, the ε
 * slider over the slide. */
static void
set_presentation (HgWindow *self,
                  gboolean  presentation)
{
  if (self->presentation == presentation)
    return;
  if (presentation && self->slide == NULL)
    return;
  self->presentation = presentation;

  if (presentation)
    {
      self->sidebar_before_presentation = gtk_toggle_button_get_active (self->sidebar_button);
      g_object_set (self->explorer, "active", TRUE, NULL);
      if (self->epsilon_bar == NULL)
        self->epsilon_bar = g_object_ref_sink (hg_epsilon_bar_new (self->explorer));
      hg_slide_page_set_bottom_bar (self->slide_page, self->epsilon_bar);
      gtk_toggle_button_set_active (self->sidebar_button, FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->header_bar), FALSE);
      gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
      gtk_window_fullscreen (GTK_WINDOW (self));
    }
  else
    {
      hg_slide_page_set_bottom_bar (self->slide_page, NULL);
      gtk_toggle_button_set_active (self->sidebar_button, self->sidebar_before_presentation);
      gtk_widget_set_visible (GTK_WIDGET (self->header_bar), TRUE);
      gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
      gtk_window_unfullscreen (GTK_WINDOW (self));
    }
  actions_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENTATION]);
}

static void
leave_presentation_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  set_presentation (HG_WINDOW (widget), FALSE);
}

/* The model: the one the settings name, else the standard one that
 * ships, else the first that ships. */
static void
load_model (HgWindow *self)
{
  g_autofree char *chosen = g_settings_get_string (self->settings, "model");
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;

  if (chosen[0] != '\0')
    path = g_strdup (chosen);
  else
    {
      g_auto (GStrv) shipped = hg_predictions_panel_list_models ();

      path = hg_data_find ("models/idc-standard.safetensors");
      if (path == NULL && shipped[0] != NULL)
        path = g_strdup (shipped[0]);
    }

  if (path != NULL)
    model = hg_model_load (path, &error);
  if (model != NULL && (hg_model_get_n_classes (model) < 2 || hg_arch_get_n_classes (hg_model_get_arch (model)) < 2))
    {
      g_set_error (&error, HG_ERROR, HG_ERROR_UNSUPPORTED, "%s has fewer than two classes", path);
      g_clear_pointer (&model, hg_model_unref);
    }

  hg_slide_page_set_model (self->slide_page, model, model != NULL ? path : NULL);
  hg_predictions_panel_set_model (self->predictions_panel, model, path, error != NULL ? error->message : NULL);
}

static void
on_selected_tile (HgWindow *self)
{
  gboolean attacking = FALSE;

  if (hg_slide_page_get_selected_tile (self->slide_page) < 0)
    return;
  /* The Attack panel shows the selected tile itself, attacked. */
  if (self->explorer != NULL)
    g_object_get (self->explorer, "active", &attacking, NULL);
  if (attacking && g_strcmp0 (adw_view_stack_get_visible_child_name (self->sidebar_stack), "attack") == 0)
    return;
  gtk_toggle_button_set_active (self->sidebar_button, TRUE);
  adw_view_stack_set_visible_child_name (self->sidebar_stack, "tile");
  /* Arrow keys step from tile to tile. */
  gtk_widget_grab_focus (GTK_WIDGET (self->inspector));
}

/* Showing the heatmap brings its panel forward, unless a tile is shown. */
static void
on_heatmap_visible (HgWindow *self)
{
  gboolean visible;

  g_object_get (self->slide_page, "heatmap-visible", &visible, NULL);
  if (visible && g_strcmp0 (adw_view_stack_get_visible_child_name (self->sidebar_stack), "details") == 0)
    adw_view_stack_set_visible_child_name (self->sidebar_stack, "predictions");
}

static void
toggle_page_property (HgWindow   *self,
                      const char *property)
{
  gboolean value;

  g_object_get (self->slide_page, property, &value, NULL);
  g_object_set (self->slide_page, property, !value, NULL);
}

static void
toggle_heatmap_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HgWindow *self = HG_WINDOW (widget);

  if (self->slide == NULL)
    return;
  toggle_page_property (self, g_str_equal (action_name, "win.toggle-heatmap") ? "heatmap-visible" : "show-truth");
}

/* Core messages are sentence fragments ("reading level 2 … failed"); a
 * dialog shows them as sentences. */
static char *
as_sentence (const char *message)
{
  gunichar first = g_utf8_get_char (message);
  gsize    length = strlen (message);
  gboolean ends = length > 0 && strchr (".!?", message[length - 1]) != NULL;
  char     buf[8];
  int      n;

  if (!g_unichar_islower (first))
    return g_strconcat (message, ends ? "" : ".", NULL);

  n = g_unichar_to_utf8 (g_unichar_totitle (first), buf);
  return g_strdup_printf ("%.*s%s%s", n, buf, g_utf8_next_char (message), ends ? "" : ".");
}

static void
show_error (HgWindow   *self,
            const char *heading,
            const char *message)
{
  g_autofree char  *body = as_sentence (message);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading, body));

  /* No mnemonic: GTK 4.8 would put it in the button's accessible name. */
  adw_message_dialog_add_response (dialog, "close", _ ("Close"));
  adw_message_dialog_set_default_response (dialog, "close");
  adw_message_dialog_set_close_response (dialog, "close");
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Recent slides. */

static gboolean
is_ours (GtkRecentInfo *info)
{
  return gtk_recent_info_has_application (info, RECENT_APP_NAME) && gtk_recent_info_exists (info);
}

static int
compare_recent (gconstpointer a,
                gconstpointer b)
{
  GtkRecentInfo *ia = *(GtkRecentInfo *const *) a;
  GtkRecentInfo *ib = *(GtkRecentInfo *const *) b;

  return g_date_time_compare (gtk_recent_info_get_modified (ib), gtk_recent_info_get_modified (ia));
}

static GPtrArray *
list_recent (void)
{
  GList     *items = gtk_recent_manager_get_items (gtk_recent_manager_get_default ());
  GPtrArray *ours = g_ptr_array_new_with_free_func ((GDestroyNotify) gtk_recent_info_unref);

  for (GList *l = items; l != NULL; l = l->next)
    if (is_ours (l->data))
      g_ptr_array_add (ours, gtk_recent_info_ref (l->data));
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);

  g_ptr_array_sort (ours, compare_recent);
  if (ours->len > MAX_RECENT)
    g_ptr_array_set_size (ours, MAX_RECENT);

  return ours;
}

static GtkWidget *
recent_row (GtkRecentInfo *info)
{
  g_autoptr (GFile) file = g_file_new_for_uri (gtk_recent_info_get_uri (info));
  g_autoptr (GFile) parent = g_file_get_parent (file);
  g_autofree char *where = parent != NULL ? g_file_get_path (parent) : NULL;
  g_autofree char *pretty = NULL;
  const char      *home = g_get_home_dir ();
  GtkWidget       *row = adw_action_row_new ();
  gboolean         folder = g_strcmp0 (gtk_recent_info_get_mime_type (info), "inode/directory") == 0;

  if (where != NULL && home != NULL && g_str_has_prefix (where, home) && where[strlen (home)] == '/')
    pretty = g_strconcat ("~", where + strlen (home), NULL);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), gtk_recent_info_get_display_name (info));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), pretty != NULL ? pretty : where);
  adw_action_row_set_icon_name (ADW_ACTION_ROW (row), folder ? "folder-symbolic" : "image-x-generic-symbolic");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.open-recent");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s", gtk_recent_info_get_uri (info));

  return row;
}

static void
update_recent (HgWindow *self)
{
  g_autoptr (GPtrArray) recent = list_recent ();
  GtkWidget *child;

  g_menu_remove_all (self->recent_menu);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);

  for (guint i = 0; i < recent->len; i++)
    {
      GtkRecentInfo *info = g_ptr_array_index (recent, i);
      g_autoptr (GMenuItem) item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);

      g_menu_item_set_action_and_target (item, "win.open-recent", "s", gtk_recent_info_get_uri (info));
      g_menu_append_item (self->recent_menu, item);
      gtk_list_box_append (self->recent_list, recent_row (info));
    }

  gtk_widget_set_visible (GTK_WIDGET (self->recent_box), recent->len > 0);
}

static void
add_recent (GFile   *file,
            HgSlide *slide)
{
  g_autofree char *uri = g_file_get_uri (file);
  g_autofree char *content_type = NULL;
  g_autofree char *mime = NULL;
  GtkRecentData    data = {
       .display_name = (char *) hg_slide_get_name (slide),
       .app_name = (char *) RECENT_APP_NAME,
       .app_exec = (char *) "histoguard %u",
  };

  if (hg_slide_get_source (slide) == HG_SLIDE_SOURCE_PATCHES)
    mime = g_strdup ("inode/directory");
  else
    {
      content_type = g_content_type_guess (hg_slide_get_path (slide), NULL, 0, NULL);
      mime = g_content_type_get_mime_type (content_type);
    }
  data.mime_type = mime != NULL ? mime : (char *) "application/octet-stream";

  gtk_recent_manager_add_full (gtk_recent_manager_get_default (), uri, &data);
}

/* Opening. */

static void
set_slide (HgWindow *self,
           HgSlide  *slide)
{
  g_autofree char *title = NULL;
  g_autofree char *summary = NULL;

  if (self->slide != NULL && self->cache != NULL && self->slide != slide)
    hg_tile_cache_remove_slide (self->cache, self->slide);

  g_set_object (&self->slide, slide);
  g_clear_pointer (&self->tile_error, g_free);

  hg_slide_page_set_cache (self->slide_page, get_cache (self));
  hg_slide_page_set_slide (self->slide_page, slide);
  hg_details_panel_set_slide (self->details_panel, slide);

  if (slide != NULL)
    {
      title = g_strdup_printf ("%s — %s", hg_slide_get_name (slide), _ ("Histoguard"));
      summary = hg_slide_text_summary (slide);
      adw_window_title_set_title (self->window_title, hg_slide_get_name (slide));
      adw_window_title_set_subtitle (self->window_title, summary);
      gtk_window_set_title (GTK_WINDOW (self), title);
      gtk_stack_set_visible_child_name (self->stack, "slide");
      gtk_widget_grab_focus (GTK_WIDGET (hg_slide_page_get_view (self->slide_page)));
    }
  else
    {
      adw_window_title_set_title (self->window_title, _ ("Histoguard"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), _ ("Histoguard"));
      gtk_stack_set_visible_child_name (self->stack, "empty");
    }

  actions_update (self);
}

static void
stop_loading_page (HgWindow *self)
{
  g_clear_handle_id (&self->loading_page_id, g_source_remove);
  gtk_spinner_set_spinning (self->loading_spinner, FALSE);
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "loading") == 0)
    gtk_stack_set_visible_child_name (self->stack, self->slide != NULL ? "slide" : "empty");
}

static gboolean
show_loading_page (gpointer data)
{
  HgWindow *self = data;

  self->loading_page_id = 0;
  gtk_spinner_set_spinning (self->loading_spinner, TRUE);
  gtk_stack_set_visible_child_name (self->stack, "loading");

  return G_SOURCE_REMOVE;
}

static void
on_slide_opened (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (HgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open_finish (result, &error);
  g_autoptr (GFile) file = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED))
    return;

  file = g_steal_pointer (&self->opening);
  g_clear_object (&self->open_cancellable);
  stop_loading_page (self);

  if (slide == NULL)
    {
      g_autofree char *name = g_file_get_basename (file);
      /* Translators: %s is a file or folder name */
      g_autofree char *heading = g_strdup_printf (_ ("Could Not Open “%s”"), name);

      show_error (self, heading, error->message);
      return;
    }

  add_recent (file, slide);
  set_slide (self, slide);
}

void
hg_window_open (HgWindow *self,
                GFile    *file)
{
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (HG_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  name = g_file_get_basename (file);
  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *heading = g_strdup_printf (_ ("Could Not Open “%s”"), name);

      show_error (self, heading, _ ("Only slides on this computer can be opened, not remote files."));
      return;
    }

  /* A newer request wins over one still in flight. */
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  g_set_object (&self->opening, file);
  self->open_cancellable = g_cancellable_new ();

  /* Translators: %s is a file or folder name */
  title = g_strdup_printf (_ ("Opening “%s”…"), name);
  adw_status_page_set_title (self->loading_page, title);
  g_clear_handle_id (&self->loading_page_id, g_source_remove);
  self->loading_page_id = g_timeout_add (LOADING_PAGE_DELAY_MS, show_loading_page, self);

  hg_slide_open_async (path, self->open_cancellable, on_slide_opened, g_object_ref (self));
}

void
hg_window_open_demo (HgWindow *self)
{
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;

  g_return_if_fail (HG_IS_WINDOW (self));

  path = hg_data_find (HG_DATA_DEMO_SLIDE);
  if (path == NULL)
    {
      g_autofree char *where = g_build_filename (PKGDATADIR, HG_DATA_DEMO_SLIDE, NULL);
      /* Translators: %s is a folder */
      g_autofree char *body = g_strdup_printf (_ ("Histoguard looks for it in %s. Reinstalling "
                                                  "Histoguard puts it back."),
                                               where);

      show_error (self, _ ("The Demo Slide Is Missing"), body);
      return;
    }

  file = g_file_new_for_path (path);
  hg_window_open (self, file);
}

static void
on_tile_error_response (AdwMessageDialog *dialog,
                        const char       *response,
                        HgWindow         *self)
{
  if (g_strcmp0 (response, "retry") == 0)
    hg_slide_view_retry (hg_slide_page_get_view (self->slide_page));
}

static void
show_tile_error_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  HgWindow         *self = HG_WINDOW (widget);
  AdwMessageDialog *dialog;
  g_autofree char  *body = NULL;

  if (self->tile_error == NULL)
    return;

  body = as_sentence (self->tile_error);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _ ("Part of the Slide Could Not Be Read"),
                                                       body));
  adw_message_dialog_add_responses (dialog, "close", _ ("Close"), "retry", _ ("Try Again"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "retry", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "retry");
  adw_message_dialog_set_close_response (dialog, "close");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_tile_error_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_tile_error (HgSlideView  *view,
               const GError *error,
               HgWindow     *self)
{
  AdwToast        *toast;
  g_autofree char *title = NULL;

  g_free (self->tile_error);
  self->tile_error = g_strdup (error->message);

  /* Translators: %s is the slide's name */
  title = g_strdup_printf (_ ("Parts of “%s” could not be read"),
                           self->slide != NULL ? hg_slide_get_name (self->slide) : "");
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _ ("Details"));
  adw_toast_set_action_name (toast, "win.show-tile-error");
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Actions. */

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
open_chooser (HgWindow            *self,
              GtkFileChooserAction action)
{
  if (self->chooser != NULL)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }

  if (action == GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER)
    self->chooser = gtk_file_chooser_native_new (_ ("Open Patch Folder"), GTK_WINDOW (self), action,
                                                 _ ("_Open"), _ ("_Cancel"));
  else
    {
      g_autoptr (GtkFileFilter) slides = gtk_file_filter_new ();
      g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

      self->chooser = gtk_file_chooser_native_new (_ ("Open Slide"), GTK_WINDOW (self), action,
                                                   _ ("_Open"), _ ("_Cancel"));

      gtk_file_filter_set_name (slides, _ ("Slides and Images"));
      for (const char *const *p = (const char *const[]){ "svs", "tif", "tiff", "ndpi", "mrxs", "scn",
                                                         "vms", "vmu", "bif", "svslide", "png",
                                                         "jpg", "jpeg", NULL };
           *p != NULL; p++)
        gtk_file_filter_add_suffix (slides, *p);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), slides);

      gtk_file_filter_set_name (all, _ ("All Files"));
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
    }

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  open_chooser (HG_WINDOW (widget), GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  open_chooser (HG_WINDOW (widget), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  hg_window_open_demo (HG_WINDOW (widget));
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  g_autoptr (GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  hg_window_open (HG_WINDOW (widget), file);
}

static void
properties_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  HgWindow           *self = HG_WINDOW (widget);
  HgPropertiesWindow *dialog;

  if (self->slide == NULL)
    return;

  dialog = hg_properties_window_new (self->slide);
  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HgWindow *self = HG_WINDOW (widget);

  gtk_toggle_button_set_active (self->sidebar_button,
                                !gtk_toggle_button_get_active (self->sidebar_button));
}

/* Ctrl+plus and friends work wherever the focus is. */
static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HgWindow        *self = HG_WINDOW (widget);
  g_autofree char *name = g_strconcat ("slide.", action_name + strlen ("win."), NULL);

  if (self->slide != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self->slide_page), name, NULL);
}

/* Drag and drop. */

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         HgWindow      *self)
{
  GSList         *files;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;

  hg_window_open (self, files->data);
  /* One slide per window: the others get their own. */
  for (GSList *l = files->next; l != NULL && HG_IS_APPLICATION (app); l = l->next)
    {
      HgWindow *window = hg_window_new (HG_APPLICATION (app));

      gtk_window_present (GTK_WINDOW (window));
      hg_window_open (window, l->data);
    }
  g_slist_free (files);

  return TRUE;
}

/* GObject. */

static void
hg_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  HgWindow *self = HG_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PRESENTATION:
      g_value_set_boolean (value, self->presentation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  HgWindow *self = HG_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PRESENTATION:
      set_presentation (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_window_dispose (GObject *object)
{
  HgWindow *self = HG_WINDOW (object);

  if (self->explorer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->explorer, self);
      hg_attack_panel_set_explorer (self->attack_panel, NULL);
      g_object_run_dispose (G_OBJECT (self->explorer));
    }
  g_clear_object (&self->explorer);
  g_clear_object (&self->epsilon_bar);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  g_clear_object (&self->opening);
  g_clear_handle_id (&self->loading_page_id, g_source_remove);

  if (self->slide != NULL && self->cache != NULL)
    hg_tile_cache_remove_slide (self->cache, self->slide);
  g_clear_object (&self->slide);
  g_clear_object (&self->cache);
  g_clear_object (&self->settings);
  g_clear_object (&self->recent_menu);
  g_clear_pointer (&self->tile_error, g_free);

  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_WINDOW);

  G_OBJECT_CLASS (hg_window_parent_class)->dispose (object);
}

static void
hg_window_class_init (HgWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_window_dispose;
  object_class->get_property = hg_window_get_property;
  object_class->set_property = hg_window_set_property;

  properties[PROP_PRESENTATION] =
      g_param_spec_boolean ("presentation", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_type_ensure (HG_TYPE_SLIDE_PAGE);
  g_type_ensure (HG_TYPE_DETAILS_PANEL);
  g_type_ensure (HG_TYPE_PREDICTIONS_PANEL);
  g_type_ensure (HG_TYPE_TILE_INSPECTOR);
  g_type_ensure (HG_TYPE_ATTACK_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HgWindow, open_button);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, header_bar);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, attack_panel);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, attack_button);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, loading_page);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, slide_page);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, details_panel);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, predictions_panel);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, inspector);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, heatmap_button);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, recent_box);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, HgWindow, open_menu);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL, open_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.properties", NULL, properties_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL, toggle_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.show-tile-error", NULL, show_tile_error_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-heatmap", NULL, toggle_heatmap_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-truth", NULL, toggle_heatmap_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-explorer", NULL, toggle_explorer_action);
  gtk_widget_class_install_property_action (widget_class, "win.presentation", "presentation");
  gtk_widget_class_install_action (widget_class, "win.leave-presentation", NULL, leave_presentation_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-original", NULL, zoom_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-folder", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-demo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_ALT_MASK, "win.properties",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.toggle-sidebar", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_h, 0, "win.toggle-heatmap", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_g, 0, "win.toggle-truth", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "win.toggle-explorer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketright, 0, "explorer.epsilon-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketleft, 0, "explorer.epsilon-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.presentation", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.leave-presentation", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_CONTROL_MASK, "win.zoom-original", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close", NULL);
}

static void
hg_window_init (HgWindow *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  /* The split button's arrow has only a tooltip; screen readers need a name. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->open_button)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_MENU_BUTTON (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _ ("More Ways to Open"), -1);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect_object (hg_slide_page_get_view (self->slide_page), "tile-error",
                           G_CALLBACK (on_tile_error), self, 0);

  /* The live attack: the explorer computes, the panel, the header button
   * and the shortcuts steer it through its "explorer." actions. */
  self->explorer = hg_explorer_new (self->slide_page);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "explorer", hg_explorer_get_actions (self->explorer));
  hg_attack_panel_set_explorer (self->attack_panel, self->explorer);
  g_signal_connect_object (self->explorer, "notify::active", G_CALLBACK (on_explorer_active), self,
                           G_CONNECT_SWAPPED);

  /* Predictions: the page computes, the panel and the inspector show. */
  hg_slide_page_set_inspector (self->slide_page, self->inspector);
  hg_predictions_panel_set_page (self->predictions_panel, self->slide_page);
  hg_predictions_panel_set_settings (self->predictions_panel, self->settings);
  g_object_bind_property (self->slide_page, "heatmap-visible", self->heatmap_button, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_settings_bind (self->settings, "heatmap-colormap", self->slide_page, "colormap", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "heatmap-opacity", self->slide_page, "heatmap-opacity", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->settings, "changed::model", G_CALLBACK (load_model), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->slide_page, "notify::selected-tile", G_CALLBACK (on_selected_tile), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->slide_page, "notify::heatmap-visible", G_CALLBACK (on_heatmap_visible), self,
                           G_CONNECT_SWAPPED);
  load_model (self);

  self->recent_menu = g_menu_new ();
  g_menu_append_section (self->open_menu, _ ("Recent Slides"), G_MENU_MODEL (self->recent_menu));
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed",
                           G_CALLBACK (update_recent), self, G_CONNECT_SWAPPED);
  update_recent (self);

  actions_update (self);
}
