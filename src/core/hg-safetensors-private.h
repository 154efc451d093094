/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The safetensors layout (huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "string", …},
 *    "tensor.name": {"dtype": "F32", "shape": [d0, …], "data_offsets": [begin, end]}, …}
 * then the raw little-endian data; offsets count from the end of the
 * header. Parsing works on a memory buffer and checks every field. */

#define HG_SAFETENSORS_MAX_HEADER (64 * 1024 * 1024)
#define HG_SAFETENSORS_MAX_DIMS 8

typedef struct
{
  char  *name;
  char  *dtype;
  int    n_dims;
  gint64 dims[HG_SAFETENSORS_MAX_DIMS];
  gsize  numel;
  gsize  begin, end; /* into data */
} HgSafetensorsEntry;

typedef struct
{
  GHashTable   *metadata; /* char* → char* */
  GPtrArray    *entries;  /* HgSafetensorsEntry, in header order */
  const guint8 *data;     /* borrowed from the parsed buffer */
  gsize         data_length;
} HgSafetensors;

HgSafetensors      *hg_safetensors_parse (const guint8 *bytes,
                                          gsize         length,
                                          GError      **error);
void                hg_safetensors_free (HgSafetensors *st);
HgSafetensorsEntry *hg_safetensors_lookup (HgSafetensors *st,
                                           const char    *name);

/* Builds a file image: metadata (may be NULL) and n F32 tensors. */
typedef struct
{
  const char   *name;
  int           n_dims;
  const gint64 *dims;
  const float  *data; /* numel floats, host order */
} HgSafetensorsTensor;

GBytes *hg_safetensors_build (GHashTable                *metadata,
                              const HgSafetensorsTensor *tensors,
                              int                        n_tensors);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSafetensors, hg_safetensors_free)

G_END_DECLS
