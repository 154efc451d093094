/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlideText"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "hg-slide-text.h"

char *
hg_slide_text_format (HgSlide *slide)
{
  static const struct
  {
    const char *vendor;
    const char *name;
  } vendors[] = {
    { "aperio", N_ ("Aperio SVS") },
    { "hamamatsu", N_ ("Hamamatsu") },
    { "leica", N_ ("Leica SCN") },
    { "mirax", N_ ("3DHISTECH MIRAX") },
    { "philips", N_ ("Philips TIFF") },
    { "sakura", N_ ("Sakura SVSlide") },
    { "trestle", N_ ("Trestle") },
    { "ventana", N_ ("Ventana BIF") },
    { "generic-tiff", N_ ("Tiled TIFF") },
    { "idc-patches", N_ ("IDC patch folder") },
  };
  const char *vendor = hg_slide_get_vendor (slide);

  for (guint i = 0; i < G_N_ELEMENTS (vendors); i++)
    if (g_strcmp0 (vendor, vendors[i].vendor) == 0)
      return g_strdup (_ (vendors[i].name));

  if (hg_slide_get_source (slide) == HG_SLIDE_SOURCE_IMAGE)
    {
      g_autofree char *upper = g_ascii_strup (vendor, -1);

      /* Translators: %s is an image format such as PNG */
      return g_strdup_printf (_ ("%s image"), upper);
    }

  return g_strdup (vendor);
}

char *
hg_slide_text_dimensions (gint64 width,
                          gint64 height)
{
  /* Translators: a size in pixels; %'lld are the width and height */
  return g_strdup_printf (_ ("%'lld × %'lld px"), (long long) width, (long long) height);
}

char *
hg_slide_text_resolution (HgSlide *slide)
{
  double mpp_x = 0, mpp_y = 0;
  double power = hg_slide_get_objective_power (slide);
  g_autoptr (GString) text = g_string_new (NULL);

  if (hg_slide_get_mpp (slide, &mpp_x, &mpp_y))
    {
      if (mpp_x == mpp_y)
        /* Translators: microns per pixel */
        g_string_append_printf (text, _ ("%.3g µm per pixel"), mpp_x);
      else
        g_string_append_printf (text, _ ("%.3g × %.3g µm per pixel"), mpp_x, mpp_y);
    }

  if (power > 0)
    {
      if (text->len > 0)
        g_string_append (text, " · ");
      /* Translators: the scanner's objective magnification */
      g_string_append_printf (text, _ ("%g× objective"), power);
    }

  if (hg_slide_get_source (slide) == HG_SLIDE_SOURCE_PATCHES && text->len > 0)
    g_string_append_printf (text, " (%s)", _ ("nominal"));

  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

char *
hg_slide_text_levels (HgSlide *slide)
{
  int n = hg_slide_get_level_count (slide);

  if (n == 1)
    return g_strdup (_ ("One level, full resolution only"));

  /* Translators: %d is a number of pyramid levels, %.0f the largest
   * downsample (rounded: scanners' levels are rarely exact powers of 2) */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d level, down to 1/%.0f",
                                       "%d levels, down to 1/%.0f", n),
                          n, hg_slide_get_level_downsample (slide, n - 1));
}

char *
hg_slide_text_patches (HgSlide *slide)
{
  gsize               n = 0, n_idc = 0;
  const HgSlidePatch *patches = hg_slide_get_patches (slide, &n);

  if (patches == NULL)
    return NULL;

  for (gsize i = 0; i < n; i++)
    n_idc += patches[i].label == HG_SLIDE_LABEL_IDC;

  /* Translators: counts of patches labelled by a pathologist */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'zu patch: %'zu IDC, %'zu non-IDC",
                                       "%'zu patches: %'zu IDC, %'zu non-IDC", n),
                          n, n_idc, n - n_idc);
}

const char *
hg_slide_text_associated (const char *name)
{
  if (g_strcmp0 (name, "label") == 0)
    return _ ("Label");
  if (g_strcmp0 (name, "macro") == 0)
    return _ ("Macro");
  if (g_strcmp0 (name, "thumbnail") == 0)
    return _ ("Thumbnail");
  return name;
}

char *
hg_slide_text_summary (HgSlide *slide)
{
  g_autofree char *format = hg_slide_text_format (slide);
  g_autofree char *size = NULL;
  gint64           width, height;

  hg_slide_get_level_size (slide, 0, &width, &height);
  size = hg_slide_text_dimensions (width, height);

  if (hg_slide_has_ground_truth (slide))
    {
      gsize n = 0;

      hg_slide_get_patches (slide, &n);
      /* Translators: format · patient · number of patches */
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · patient %s · %'zu patch", "%s · patient %s · %'zu patches", n),
                              format,
                              hg_slide_get_property (slide, "idc.patient"), n);
    }

  return g_strdup_printf ("%s · %s", format, size);
}

GdkTexture *
hg_texture_new_for_image (HgImage *image)
{
  int     width = hg_image_get_width (image);
  int     height = hg_image_get_height (image);
  gsize   rowstride = (gsize) width * 3;
  guint8 *rgb = g_malloc (rowstride * (gsize) height);
  g_autoptr (GBytes) bytes = NULL;

  /* Opaque RGB over white: GTK 4.8's Cairo renderer copies it to the
   * screen several times faster than premultiplied ARGB32, which it
   * converts through floats on every frame; the GL renderer does not mind. */
  hg_pixels_argb32_to_rgb8 (hg_image_get_data (image), hg_image_get_stride (image), width, height,
                            rgb, rowstride);
  bytes = g_bytes_new_take (rgb, rowstride * (gsize) height);

  return gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes, rowstride);
}

char *
hg_slide_text_file_stem (HgSlide *slide)
{
  char *stem = g_strdup (hg_slide_get_name (slide));
  char *dot = strrchr (stem, '.');

  if (dot != NULL && hg_slide_get_source (slide) != HG_SLIDE_SOURCE_PATCHES)
    *dot = '\0';
  return stem;
}
