/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Input-transform defences: pure functions on planar ("CHW") RGB float
 * images in [0,1], composable into a chain that sits in front of any model.
 *
 * Single-image functions take 3 * height * width floats; in and out must
 * not overlap. Outputs stay in [0,1]. */

/* JPEG re-compression at quality 1..100, computed without a codec: the
 * entropy-coding stage of JPEG is lossless, so quantising the DCT
 * coefficients and decoding them again equals a real encode/decode round
 * trip. It follows libjpeg's defaults step by step in integer arithmetic
 * where libjpeg does (8-bit input, RGB→YCbCr, 4:2:0 chroma subsampling by
 * 2×2 averaging, edge replication to whole MCUs, the IJG quantisation
 * tables scaled by quality, triangular "fancy" chroma upsampling,
 * YCbCr→RGB); the DCT itself is computed in double precision where libjpeg
 * uses its integer approximation, so single pixels may differ from libjpeg
 * by a few levels (tests/test-defense.c compares against GdkPixbuf's
 * libjpeg). The output is on the 8-bit grid, as a decoded JPEG is. */
void hg_jpeg_round_trip (const float *in,
                         int          width,
                         int          height,
                         int          quality,
                         float       *out);

/* Per-channel median over a k×k window (k odd), mirrored edges
 * (d c b a | a b c d). */
void hg_median_filter (const float *in,
                       int          width,
                       int          height,
                       int          k,
                       float       *out);

/* Separable Gaussian blur with standard deviation sigma in pixels, kernel
 * truncated at 4σ, mirrored edges; the result is clamped to [0,1], which
 * only undoes float rounding of the taps. The blur is linear, so its
 * backward pass is exact: the transpose, which with these edges is the
 * blur itself (not clamped: it maps gradients). */
void hg_gaussian_blur (const float *in,
                       int          width,
                       int          height,
                       double       sigma,
                       float       *out);
void hg_gaussian_blur_backward (const float *grad_out,
                                int          width,
                                int          height,
                                double       sigma,
                                float       *grad_in);

/* Bit-depth reduction to 1..8 bits per channel: round (x · (2^b − 1)) / (2^b − 1)
 * (the "squeezer" of Xu et al., NDSS 2018). n is the number of floats. */
void hg_bit_depth_reduce (const float *in,
                          gsize        n,
                          int          bits,
                          float       *out);

/* Total-variation denoising (Rudin–Osher–Fatemi), each channel separately,
 * by Chambolle's projection algorithm (J. Math. Imaging Vis. 2004): weight
 * is λ in min_u ½‖u − f‖² + λ·TV(u); larger is smoother. Iterates until the
 * energy changes by less than 2·10⁻⁴ of its initial value or 200 times. */
void hg_tv_denoise (const float *in,
                    int          width,
                    int          height,
                    double       weight,
                    float       *out);

/* Adds Gaussian noise of standard deviation sigma (in units of 1/255) and
 * clips to [0,1]: a randomised defence. The noise is drawn from the stream
 * (seed, stream). n is the number of floats. */
void hg_gaussian_noise (const float *in,
                        gsize        n,
                        double       sigma,
                        guint64      seed,
                        guint64      stream,
                        float       *out);

typedef enum
{
  HG_TRANSFORM_JPEG,   /* param: quality, integer 1..100 */
  HG_TRANSFORM_MEDIAN, /* param: kernel size, odd integer 3..15 */
  HG_TRANSFORM_BLUR,   /* param: sigma in pixels, (0, 10] */
  HG_TRANSFORM_BITS,   /* param: bits per channel, integer 1..8 */
  HG_TRANSFORM_TV,     /* param: weight, (0, 10] */
  HG_TRANSFORM_NOISE,  /* param: sigma in 1/255, (0, 128] */
} HgTransformKind;

typedef struct
{
  HgTransformKind kind;
  double          param;
} HgTransform;

/* The longest chain hg_defense_parse() accepts. */
#define HG_DEFENSE_MAX_TRANSFORMS 8

/* An immutable, reference-counted chain of transforms, applied left to
 * right. The identity chain is spelled "none". */
typedef struct _HgDefense HgDefense;

/* Parses one defence: "none", or transforms joined by '+', each written
 * name[:value] with name one of jpeg, median, blur, bits, tv, noise
 * (e.g. "jpeg:75+median:3"). A missing value takes the default (jpeg:75,
 * median:3, blur:1, bits:4, tv:0.1, noise:8). Errors are
 * HG_ERROR_INVALID_ARGUMENT and name the offending part. */
HgDefense *hg_defense_parse (const char *spec,
                             GError    **error);
/* Parses a comma-separated list of defences ("none,jpeg:75,median:3+bits:4")
 * into a GPtrArray of HgDefense (owning references). */
GPtrArray *hg_defense_parse_list (const char *list,
                                  GError    **error);

HgDefense *hg_defense_ref (HgDefense *defense);
void       hg_defense_unref (HgDefense *defense);

/* The canonical spelling, e.g. "jpeg:75+median:3" or "none". */
const char        *hg_defense_get_spec (const HgDefense *defense);
guint              hg_defense_get_n_transforms (const HgDefense *defense);
const HgTransform *hg_defense_get_transform (const HgDefense *defense,
                                             guint            index);
gboolean           hg_defense_is_identity (const HgDefense *defense);
/* TRUE when some transform draws random numbers (attack it with EOT). */
gboolean hg_defense_is_randomized (const HgDefense *defense);
/* TRUE when some transform has no useful gradient (attack it with BPDA). */
gboolean hg_defense_is_differentiable (const HgDefense *defense);

/* Applies the chain to n images of 3 × height × width. in and out may be
 * the same buffer. Randomised transforms draw image i's numbers from the
 * stream (seed, i). */
void hg_defense_apply (const HgDefense *defense,
                       const float     *in,
                       gsize            n,
                       int              width,
                       int              height,
                       guint64          seed,
                       float           *out);

/* The backward pass used by adaptive attacks: maps a gradient with respect
 * to the chain's output to one with respect to its input. Blur uses its
 * exact transpose; noise is additive, so identity is exact; JPEG, median,
 * bit depth and TV use the identity — BPDA, the straight-through
 * approximation of Athalye, Carlini & Wagner (ICML 2018), sound because
 * each of them returns an image close to its input. grad_out and grad_in
 * may be the same buffer. */
void hg_defense_backward (const HgDefense *defense,
                          const float     *grad_out,
                          gsize            n,
                          int              width,
                          int              height,
                          float           *grad_in);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgDefense, hg_defense_unref)

G_END_DECLS
