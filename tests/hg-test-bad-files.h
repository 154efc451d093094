/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Malformed inputs for the bad-input tests (tests/test-bad-input.c for the
 * command line, tests/test-bad-input-gui.c for the window): each writes
 * one file or folder at path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* tests/data/tiny-cnn.safetensors, which the model cases start from. */
char *hg_test_tiny_model_path (void);

/* Anything. */
void hg_test_bad_empty (const char *path);
void hg_test_bad_text (const char *path);
void hg_test_bad_tiff_huge_tag (const char *path);
void hg_test_bad_fifo (const char *path);
void hg_test_bad_folder (const char *path);
void hg_test_bad_symlink_loop (const char *path); /* a link to itself: ELOOP */

/* Model files. */
void hg_test_bad_model_short (const char *path);            /* 4 bytes */
void hg_test_bad_model_truncated_header (const char *path); /* claims 1000 bytes, 2 follow */
void hg_test_bad_model_oversized_header (const char *path); /* a length of 2⁶⁴ − 1 */
void hg_test_bad_model_not_json (const char *path);
void hg_test_bad_model_truncated_data (const char *path);
void hg_test_bad_model_nan (const char *path);               /* conv2.weight */
void hg_test_bad_model_inf (const char *path);               /* fc.bias */
void hg_test_bad_model_shape_mismatch (const char *path);    /* conv1.weight [3, 8, 3, 3] */
void hg_test_bad_model_offsets_outside (const char *path);   /* fc.bias */
void hg_test_bad_model_shape_overflow (const char *path);    /* 4 × (2³¹ − 1) */
void hg_test_bad_model_shape_32bit (const char *path);       /* 65536 × 65536 */
void hg_test_bad_model_input_overflow (const char *path);    /* 46341 × 46341 × 3 */
void hg_test_bad_model_negative_variance (const char *path); /* bn1.running_var[2] */
void hg_test_bad_model_unknown_format (const char *path);

/* Images. */
void    hg_test_bad_png_header (const char *path, /* IHDR, then a broken IDAT */
                                guint32     width,
                                guint32     height);
void    hg_test_bad_jpeg_header (const char *path, /* SOI, APP0, SOF0 */
                                 guint       width,
                                 guint       height);
void    hg_test_bad_tiff_header (const char *path, /* one directory: width, height */
                                 guint32     width,
                                 guint32     height);
void    hg_test_bad_png_huge (const char *path);  /* 100000 × 100000 */
void    hg_test_bad_png_32bit (const char *path); /* 46341 × 46341 */
void    hg_test_bad_png_zero_width (const char *path);
void    hg_test_bad_png_truncated (const char *path); /* a 50 × 50 PNG cut in half */
void    hg_test_bad_png_60 (const char *path);        /* a good 60 × 60 PNG */
void    hg_test_bad_bmp_as_png (const char *path);    /* a 30000² bitmap header */
GBytes *hg_test_bad_encode_png (int width,            /* a good PNG of noise */
                                int height);

/* IDC patch folders of patient 77 with two good patches, and: */
void hg_test_bad_folder_with_fifo (const char *path);         /* a named pipe as a third */
void hg_test_bad_folder_with_loop (const char *path);         /* 0/again -> .. */
void hg_test_bad_folder_absurd_coordinate (const char *path); /* x4294967297 */
void hg_test_bad_folder_huge_patch (const char *path);        /* a 2000² PNG header */

G_END_DECLS
