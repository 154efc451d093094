/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writes the small test model: make-test-model tests/data/tiny-cnn.safetensors */
#include "config.h"

#include <stdio.h>

#include "hg-test-model.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: make-test-model OUTPUT.safetensors\n");
      return 2;
    }

  model = hg_test_model_make ();
  if (!hg_model_save (model, argv[1], &error))
    {
      fprintf (stderr, "make-test-model: %s\n", error->message);
      return 1;
    }
  return 0;
}
