/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One error domain for the core. Messages are complete sentences fragments
 * a user can act on ("header length 18446744073709551615 exceeds the file
 * size 1024"); the code says what kind of failure it was. */
#define HG_ERROR (hg_error_quark ())

typedef enum
{
  HG_ERROR_FAILED,           /* anything not covered below */
  HG_ERROR_IO,               /* reading or writing a file failed */
  HG_ERROR_INVALID_DATA,     /* a file or buffer is malformed */
  HG_ERROR_INVALID_ARGUMENT, /* a caller passed a value out of range */
  HG_ERROR_UNSUPPORTED,      /* well-formed, but not something we handle */
  HG_ERROR_TOO_LARGE,        /* a size exceeds our limits or would overflow */
  HG_ERROR_CANCELLED,        /* the operation was cancelled */
} HgError;

GQuark hg_error_quark (void);

G_END_DECLS
