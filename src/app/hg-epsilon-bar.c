/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgEpsilonBar"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hg-epsilon-bar.h"

struct _HgEpsilonBar
{
  GtkWidget parent_instance;

  HgExplorer *explorer;

  /* Template children */
  GtkAdjustment *adjustment;
  GtkLabel      *attack_label;
  GtkLabel      *eps_label;
  GtkLabel      *summary_label;
  GtkLabel      *defended_label;
};

G_DEFINE_FINAL_TYPE (HgEpsilonBar, hg_epsilon_bar, GTK_TYPE_WIDGET)

static void
update (HgEpsilonBar *self)
{
  g_autofree char *attack = NULL, *summary = NULL, *eps_text = NULL, *upper = NULL, *defended = NULL;
  double           eps;
  gboolean         compare;

  g_object_get (self->explorer, "attack", &attack, "epsilon", &eps, "summary", &summary, "defended-summary",
                &defended, "compare", &compare, NULL);
  /* Translators: ε over 255, in the presentation bar */
  eps_text = g_strdup_printf (_ ("ε %g/255"), round (eps * 100) / 100);
  gtk_label_set_text (self->eps_label, eps_text);
  upper = attack != NULL ? g_ascii_strup (attack, -1) : g_strdup ("");
  gtk_label_set_text (self->attack_label, upper);
  gtk_label_set_text (self->summary_label, summary != NULL ? summary : "");
  if (compare && defended != NULL)
    {
      /* Translators: the defended pane's flips, in the presentation bar */
      g_autofree char *text = g_strdup_printf (_ ("Defended: %s"), defended);

      gtk_label_set_text (self->defended_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->defended_label), compare && defended != NULL);
}

GtkWidget *
hg_epsilon_bar_new (HgExplorer *explorer)
{
  HgEpsilonBar *self;

  g_return_val_if_fail (HG_IS_EXPLORER (explorer), NULL);

  self = g_object_new (HG_TYPE_EPSILON_BAR, NULL);
  self->explorer = g_object_ref (explorer);
  g_object_bind_property (explorer, "epsilon", self->adjustment, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect_object (explorer, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
  return GTK_WIDGET (self);
}

static void
hg_epsilon_bar_dispose (GObject *object)
{
  HgEpsilonBar *self = HG_EPSILON_BAR (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), HG_TYPE_EPSILON_BAR);
  /* Children without a template binding, too. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->explorer);

  G_OBJECT_CLASS (hg_epsilon_bar_parent_class)->dispose (object);
}

static void
hg_epsilon_bar_class_init (HgEpsilonBarClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_epsilon_bar_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-epsilon-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, HgEpsilonBar, adjustment);
  gtk_widget_class_bind_template_child (widget_class, HgEpsilonBar, attack_label);
  gtk_widget_class_bind_template_child (widget_class, HgEpsilonBar, eps_label);
  gtk_widget_class_bind_template_child (widget_class, HgEpsilonBar, summary_label);
  gtk_widget_class_bind_template_child (widget_class, HgEpsilonBar, defended_label);
  gtk_widget_class_set_css_name (widget_class, "epsilonbar");
}

static void
hg_epsilon_bar_init (HgEpsilonBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
