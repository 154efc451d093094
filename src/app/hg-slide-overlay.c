/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlideOverlay"

#include "config.h"

#include "hg-slide-overlay.h"

G_DEFINE_INTERFACE (HgSlideOverlay, hg_slide_overlay, G_TYPE_OBJECT)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
hg_slide_overlay_default_init (HgSlideOverlayInterface *iface)
{
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

void
hg_slide_overlay_snapshot (HgSlideOverlay *self,
                           GtkSnapshot    *snapshot,
                           HgSlideView    *view)
{
  HgSlideOverlayInterface *iface;

  g_return_if_fail (HG_IS_SLIDE_OVERLAY (self));
  g_return_if_fail (GTK_IS_SNAPSHOT (snapshot));

  iface = HG_SLIDE_OVERLAY_GET_IFACE (self);
  if (iface->snapshot != NULL)
    iface->snapshot (self, snapshot, view);
}

void
hg_slide_overlay_changed (HgSlideOverlay *self)
{
  g_return_if_fail (HG_IS_SLIDE_OVERLAY (self));

  g_signal_emit (self, signals[CHANGED], 0);
}
