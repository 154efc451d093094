/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The robustness plot: balanced accuracy against ε, one panel per attack,
 * one colour per model and defence, dashed lines for adaptive attacks, the
 * 95% interval as a translucent band. Drawn at twice its logical size so
 * that it stays sharp in documents. */
#include "config.h"

#include <cairo.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-eval.h"

#define SCALE 2.0
#define PANEL_W 420.0
#define PANEL_H 300.0
#define MARGIN_LEFT 78.0
#define MARGIN_RIGHT 28.0
#define PANEL_GAP 56.0
#define TOP 100.0
#define AXIS_BELOW 58.0
#define FONT "DejaVu Sans"

/* Okabe & Ito's colour-blind-safe palette, without its yellow. */
static const double palette[][3] = {
  { 0.000, 0.447, 0.698 }, /* blue */
  { 0.835, 0.369, 0.000 }, /* vermillion */
  { 0.000, 0.620, 0.451 }, /* bluish green */
  { 0.800, 0.475, 0.655 }, /* reddish purple */
  { 0.902, 0.624, 0.000 }, /* orange */
  { 0.337, 0.706, 0.914 }, /* sky blue */
  { 0.200, 0.200, 0.200 }, /* near black */
};

typedef struct
{
  const char *model, *defense, *attack;
  gboolean    adaptive;
  guint       style;
  guint       row;    /* panel row: the model's, when models get rows */
  GArray     *points; /* const HgEvalResult * */
} Series;

static guint
index_of (GPtrArray  *list,
          const char *s)
{
  for (guint i = 0; i < list->len; i++)
    if (strcmp (list->pdata[i], s) == 0)
      return i;
  g_ptr_array_add (list, (gpointer) s);
  return list->len - 1;
}

static void
set_font (cairo_t *cr,
          double   size,
          gboolean bold)
{
  cairo_select_font_face (cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
}

/* Draws text with its anchor at (x, y): ax, ay in [0,1] pick the point of
 * the text's box (0,0 top-left; 0.5,0.5 centre). */
static void
draw_text (cairo_t    *cr,
           const char *text,
           double      x,
           double      y,
           double      ax,
           double      ay)
{
  cairo_text_extents_t ext;
  cairo_font_extents_t fext;

  cairo_text_extents (cr, text, &ext);
  cairo_font_extents (cr, &fext);
  cairo_move_to (cr, x - ax * ext.x_advance, y - ay * (fext.ascent + fext.descent) + fext.ascent);
  cairo_show_text (cr, text);
}

static double
text_width (cairo_t    *cr,
            const char *text)
{
  cairo_text_extents_t ext;

  cairo_text_extents (cr, text, &ext);
  return ext.x_advance;
}

static char *
legend_label (const char *key,
              gboolean    by_defense)
{
  if (by_defense && strcmp (key, "none") == 0)
    return g_strdup ("no defence");
  return g_strdup (key);
}

static void
draw_marker (cairo_t *cr,
             double   x,
             double   y,
             gboolean hollow)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x, y, 3.6, 0, 2 * G_PI);
  if (hollow)
    {
      cairo_save (cr);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill_preserve (cr);
      cairo_restore (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      cairo_set_line_width (cr, 1.6);
      cairo_stroke (cr);
    }
  else
    cairo_fill (cr);
}

static void
draw_panel (cairo_t    *cr,
            double      x0,
            double      y0,
            const char *panel_title,
            GPtrArray  *series,
            const char *attack,
            guint       row,
            gboolean    y_label,
            double      eps_min,
            double      eps_max,
            GArray     *eps_ticks)
{
  double span = eps_max - eps_min;
  char   buf[32];

#define PX(e) (x0 + 14 + ((e) -eps_min) / span * (PANEL_W - 28))
#define PY(v) (y0 + PANEL_H - (v) *PANEL_H)

  /* Frame and grid. */
  cairo_set_source_rgb (cr, 0.985, 0.985, 0.99);
  cairo_rectangle (cr, x0, y0, PANEL_W, PANEL_H);
  cairo_fill (cr);

  set_font (cr, 13, FALSE);
  for (int i = 0; i <= 10; i += 2)
    {
      double v = i / 10.0;

      cairo_set_source_rgb (cr, 0.86, 0.86, 0.88);
      cairo_set_line_width (cr, 1);
      cairo_move_to (cr, x0, round (PY (v)) + 0.5);
      cairo_line_to (cr, x0 + PANEL_W, round (PY (v)) + 0.5);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      g_snprintf (buf, sizeof buf, "%.1f", v);
      draw_text (cr, buf, x0 - 8, PY (v), 1.0, 0.5);
    }
  for (guint i = 0; i < eps_ticks->len; i++)
    {
      double e = g_array_index (eps_ticks, double, i);

      cairo_set_source_rgb (cr, 0.86, 0.86, 0.88);
      cairo_move_to (cr, round (PX (e)) + 0.5, y0);
      cairo_line_to (cr, round (PX (e)) + 0.5, y0 + PANEL_H);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      g_ascii_formatd (buf, sizeof buf, "%g", e);
      draw_text (cr, buf, PX (e), y0 + PANEL_H + 8, 0.5, 0.0);
    }

  /* Chance level. */
  {
    static const double dots[] = { 2, 3 };

    cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
    cairo_set_line_width (cr, 1.2);
    cairo_set_dash (cr, dots, 2, 0);
    cairo_move_to (cr, x0, PY (0.5));
    cairo_line_to (cr, x0 + PANEL_W, PY (0.5));
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    set_font (cr, 11.5, FALSE);
    draw_text (cr, "chance", x0 + 6, PY (0.5) + 3, 0.0, 0.0);
  }

  /* Bands first, so that every line lies on top of every band. */
  cairo_save (cr);
  cairo_rectangle (cr, x0, y0, PANEL_W, PANEL_H);
  cairo_clip (cr);
  for (guint s = 0; s < series->len; s++)
    {
      Series       *se = series->pdata[s];
      const double *c = palette[se->style % G_N_ELEMENTS (palette)];

      if (strcmp (se->attack, attack) != 0 || se->row != row || se->points->len < 2)
        continue;
      cairo_new_path (cr);
      for (guint i = 0; i < se->points->len; i++)
        {
          const HgEvalResult *r = g_array_index (se->points, const HgEvalResult *, i);
          double              lo = isfinite (r->metrics.ba_ci95[0]) ? r->metrics.ba_ci95[0] : r->metrics.balanced_accuracy;

          cairo_line_to (cr, PX (r->eps), PY (lo));
        }
      for (guint i = se->points->len; i-- > 0;)
        {
          const HgEvalResult *r = g_array_index (se->points, const HgEvalResult *, i);
          double              hi = isfinite (r->metrics.ba_ci95[1]) ? r->metrics.ba_ci95[1] : r->metrics.balanced_accuracy;

          cairo_line_to (cr, PX (r->eps), PY (hi));
        }
      cairo_close_path (cr);
      cairo_set_source_rgba (cr, c[0], c[1], c[2], se->adaptive ? 0.10 : 0.17);
      cairo_fill (cr);
    }

  for (guint s = 0; s < series->len; s++)
    {
      Series             *se = series->pdata[s];
      const double       *c = palette[se->style % G_N_ELEMENTS (palette)];
      static const double dashes[] = { 7, 4 };

      if (strcmp (se->attack, attack) != 0 || se->row != row)
        continue;
      cairo_set_source_rgb (cr, c[0], c[1], c[2]);
      cairo_set_line_width (cr, 2.4);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      cairo_set_dash (cr, se->adaptive ? dashes : NULL, se->adaptive ? 2 : 0, 0);
      cairo_new_path (cr);
      for (guint i = 0; i < se->points->len; i++)
        {
          const HgEvalResult *r = g_array_index (se->points, const HgEvalResult *, i);

          if (isfinite (r->metrics.balanced_accuracy))
            cairo_line_to (cr, PX (r->eps), PY (r->metrics.balanced_accuracy));
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      for (guint i = 0; i < se->points->len; i++)
        {
          const HgEvalResult *r = g_array_index (se->points, const HgEvalResult *, i);

          if (isfinite (r->metrics.balanced_accuracy))
            draw_marker (cr, PX (r->eps), PY (r->metrics.balanced_accuracy), se->adaptive);
        }
    }
  cairo_restore (cr);

  /* Axes and titles. */
  cairo_set_source_rgb (cr, 0.25, 0.25, 0.25);
  cairo_set_line_width (cr, 1.2);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, PANEL_W - 1, PANEL_H - 1);
  cairo_stroke (cr);

  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  set_font (cr, 15.5, TRUE);
  draw_text (cr, panel_title, x0 + PANEL_W / 2, y0 - 10, 0.5, 1.0);
  set_font (cr, 14, FALSE);
  draw_text (cr, "ε (units of 1/255, L∞)", x0 + PANEL_W / 2, y0 + PANEL_H + 32, 0.5, 0.0);
  if (y_label)
    {
      cairo_save (cr);
      cairo_translate (cr, x0 - 52, y0 + PANEL_H / 2);
      cairo_rotate (cr, -G_PI / 2);
      draw_text (cr, "Balanced accuracy", 0, 0, 0.5, 0.5);
      cairo_restore (cr);
    }

#undef PX
#undef PY
}

static cairo_status_t
write_to_bytes (void                *closure,
                const unsigned char *data,
                unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
hg_eval_report_plot (const HgEvalReport *report,
                     const char         *title,
                     const char         *path,
                     GError            **error)
{
  g_autoptr (GPtrArray) series = g_ptr_array_new ();
  g_autoptr (GPtrArray) attacks = g_ptr_array_new ();
  g_autoptr (GPtrArray) models = g_ptr_array_new ();
  g_autoptr (GPtrArray) defenses = g_ptr_array_new ();
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) eps_ticks = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GByteArray) png = g_byte_array_new ();
  double           eps_min = INFINITY, eps_max = -INFINITY;
  gboolean         any_adaptive = FALSE, by_defense, model_rows;
  guint            n_rows;
  cairo_surface_t *surface;
  cairo_t         *cr;
  double           width, height, legend_top, legend_rows, x, y, col_w = 0;
  int              per_row;
  cairo_status_t   status;

  g_return_val_if_fail (report != NULL && path != NULL, FALSE);

  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
      guint               j;

      index_of (models, r->model);
      index_of (defenses, r->defense);
      index_of (attacks, r->attack);
      for (j = 0; j < eps_ticks->len; j++)
        if (g_array_index (eps_ticks, double, j) == r->eps)
          break;
      if (j == eps_ticks->len)
        g_array_append_val (eps_ticks, r->eps);
      eps_min = MIN (eps_min, r->eps);
      eps_max = MAX (eps_max, r->eps);
      any_adaptive |= r->adaptive;
    }
  if (report->results->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("nothing to plot: the evaluation has no ε-attack results"));
      return FALSE;
    }
  if (!(eps_max > eps_min))
    {
      eps_min = MIN (eps_min, 0);
      eps_max = MAX (eps_max, eps_min + 1);
    }

  /* Colours stand for defences, or for models when there is only one
   * defence. Several models and several defences: one row of panels per
   * model, so that no colour has to mean two things. */
  by_defense = defenses->len > 1 || models->len == 1;
  model_rows = by_defense && models->len > 1;
  n_rows = model_rows ? models->len : 1;

  /* Series are runs of consecutive results with the same key. */
  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
      Series             *last = series->len > 0 ? series->pdata[series->len - 1] : NULL;

      if (last == NULL || strcmp (last->model, r->model) != 0 || strcmp (last->defense, r->defense) != 0 ||
          strcmp (last->attack, r->attack) != 0 || last->adaptive != r->adaptive)
        {
          last = g_new0 (Series, 1);
          last->model = r->model;
          last->defense = r->defense;
          last->attack = r->attack;
          last->adaptive = r->adaptive;
          last->style = index_of (keys, by_defense ? r->defense : r->model);
          last->row = model_rows ? index_of (models, r->model) : 0;
          last->points = g_array_new (FALSE, FALSE, sizeof (const HgEvalResult *));
          g_ptr_array_add (series, last);
        }
      g_array_append_val (last->points, r);
    }

  /* Legend geometry: as many columns as fit under the panels. */
  width = MARGIN_LEFT + attacks->len * PANEL_W + (attacks->len - 1) * PANEL_GAP + MARGIN_RIGHT;
  {
    cairo_surface_t *probe = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t         *pcr = cairo_create (probe);

    set_font (pcr, 13.5, FALSE);
    for (guint i = 0; i < keys->len; i++)
      {
        char *label = legend_label (keys->pdata[i], by_defense);

        col_w = MAX (col_w, 46 + text_width (pcr, label) + 30);
        g_ptr_array_add (labels, label);
      }
    cairo_destroy (pcr);
    cairo_surface_destroy (probe);
  }
  per_row = MAX (1, (int) ((width - MARGIN_LEFT - MARGIN_RIGHT) / col_w));
  legend_rows = ceil ((double) keys->len / per_row) + (any_adaptive ? 1 : 0);
  legend_top = TOP + n_rows * (PANEL_H + AXIS_BELOW + 40) - 40 + 26;
  height = legend_top + legend_rows * 24 + 14;

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) ceil (width * SCALE), (int) ceil (height * SCALE));
  cr = cairo_create (surface);
  cairo_scale (cr, SCALE, SCALE);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  /* Title and subtitle. */
  cairo_set_source_rgb (cr, 0.05, 0.05, 0.05);
  set_font (cr, 20, TRUE);
  draw_text (cr, title != NULL ? title : "Robustness of IDC classifiers", width / 2, 16, 0.5, 0.0);
  {
    g_autofree char *subtitle =
        g_strdup_printf ("%" G_GSIZE_FORMAT " patches (%" G_GSIZE_FORMAT " IDC)  ·  shaded: 95%% interval "
                         "(stratified bootstrap)  ·  dotted: chance",
                         report->n, report->n_positive);

    cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
    set_font (cr, 13, FALSE);
    draw_text (cr, subtitle, width / 2, 44, 0.5, 0.0);
  }

  for (guint row = 0; row < n_rows; row++)
    for (guint a = 0; a < attacks->len; a++)
      {
        const char      *attack = attacks->pdata[a];
        g_autofree char *upper = g_ascii_strup (attack, -1);
        g_autofree char *name = NULL;
        g_autofree char *panel_title = NULL;

        if (strcmp (attack, "fgsm") == 0)
          name = g_strdup (upper);
        else if (strcmp (attack, "pgd") == 0 && report->restarts > 1)
          name = g_strdup_printf ("%s-%d, %d restarts", upper, report->steps, report->restarts);
        else
          name = g_strdup_printf ("%s-%d", upper, report->steps);
        panel_title = model_rows ? g_strdup_printf ("%s — %s", (const char *) models->pdata[row], name)
                                 : g_strdup (name);
        draw_panel (cr, MARGIN_LEFT + a * (PANEL_W + PANEL_GAP), TOP + row * (PANEL_H + AXIS_BELOW + 40),
                    panel_title, series, attack, row, a == 0, eps_min, eps_max, eps_ticks);
      }

  /* Legend. */
  set_font (cr, 13.5, FALSE);
  y = legend_top;
  for (guint i = 0; i < keys->len; i++)
    {
      const double *c = palette[i % G_N_ELEMENTS (palette)];
      int           col = i % per_row;

      if (i > 0 && col == 0)
        y += 24;
      x = MARGIN_LEFT + col * col_w;
      cairo_set_source_rgba (cr, c[0], c[1], c[2], 0.17);
      cairo_rectangle (cr, x, y - 7, 36, 14);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, c[0], c[1], c[2]);
      cairo_set_line_width (cr, 2.4);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + 36, y);
      cairo_stroke (cr);
      draw_marker (cr, x + 18, y, FALSE);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      draw_text (cr, labels->pdata[i], x + 46, y, 0.0, 0.5);
    }
  if (any_adaptive)
    {
      static const double dashes[] = { 7, 4 };

      y += 24;
      x = MARGIN_LEFT;
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      cairo_set_line_width (cr, 2.4);
      cairo_set_dash (cr, dashes, 2, 0);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + 36, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      draw_marker (cr, x + 18, y, TRUE);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      draw_text (cr, "dashed, hollow: adaptive attack through the defence (BPDA, EOT)   ·   solid: crafted on the bare model",
                 x + 46, y, 0.0, 0.5);
    }

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  status = cairo_surface_write_to_png_stream (surface, write_to_bytes, png);
  cairo_surface_destroy (surface);
  for (guint i = 0; i < series->len; i++)
    {
      Series *se = series->pdata[i];

      g_array_unref (se->points);
      g_free (se);
    }

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("could not encode the plot: %s"), cairo_status_to_string (status));
      return FALSE;
    }
  if (!g_file_set_contents_full (path, (const char *) png->data, png->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    {
      g_prefix_error (error, _ ("could not write the plot: "));
      return FALSE;
    }
  return TRUE;
}
