/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A network architecture held as data: a JSON description that every
 * model file carries in its metadata ("arch").
 *
 *   {
 *     "name": "cnn",
 *     "input": [50, 50, 3],                       height, width, channels
 *     "nodes": [
 *       {"name": "conv1", "op": "conv2d", "channels": 32, "kernel": 3,
 *        "stride": 1, "padding": 1, "bias": false},
 *       {"name": "bn1", "op": "batchnorm", "eps": 1e-5, "momentum": 0.1},
 *       {"name": "relu1", "op": "relu"},
 *       {"name": "pool1", "op": "maxpool", "kernel": 2, "stride": 2, "padding": 0},
 *       …
 *       {"name": "fc", "op": "dense", "units": 2, "bias": true}
 *     ]
 *   }
 *
 * A node reads the previous node unless it names its "inputs" (node names;
 * the input image is "input"). Ops: conv2d, batchnorm, relu, maxpool,
 * avgpool, global_avgpool, dense (flattens its input), dropout ("rate"),
 * concat (along channels, for dense blocks), add (residual blocks). The
 * last node gives the logits; its channel count is the number of classes.
 * Layers and tensor names follow PyTorch ("conv1.weight" OIHW, …) so a
 * model file reads directly into an equivalent torch.nn graph.
 *
 * Built-in architectures, by name, with options after a colon
 * ("cnn:width=48,dropout=30"):
 *   cnn       the default: 3 × [conv3x3-BN-ReLU-maxpool2] at 50, 25 and
 *             12 pixels, global average pool, dropout, dense. Options:
 *             channels (32-48-96: 34 MFLOP per patch, within the live
 *             slider's budget), or width=W for W-2W-4W (width=32 is the
 *             32-64-128 reference network, 49 MFLOP); dropout (20, in
 *             percent); hidden (0: a dense+ReLU layer of that size before
 *             the classifier).
 *   densenet  DenseNet-BC at patch scale: stem conv, 3 dense blocks of
 *             BN-ReLU-conv1x1(4·growth)-BN-ReLU-conv3x3(growth) layers
 *             joined by concat, transitions BN-ReLU-conv1x1-avgpool2.
 *             Options: growth (12), layers (4, per block), dropout (0, %).
 *   resnet    ResNet-style: stem conv-BN-ReLU-maxpool, 3 stages of 2
 *             basic blocks (conv3x3-BN-ReLU-conv3x3-BN + identity or
 *             1x1 projection, add, ReLU) with width, 2·width, 4·width
 *             channels. Options: width (16), blocks (2, per stage),
 *             dropout (0, %).
 * Every built-in takes size (50: input height and width) and classes (2). */

typedef struct _HgArch HgArch;

/* spec: a built-in name with options, or the path of a JSON file. */
HgArch *hg_arch_new (const char *spec,
                     GError    **error);
/* Parses a description from memory (any bytes: safe for fuzzing). */
HgArch *hg_arch_new_from_json (const char *json,
                               gsize       length,
                               GError    **error);
HgArch *hg_arch_ref (HgArch *arch);
void    hg_arch_unref (HgArch *arch);

const char *hg_arch_get_name (HgArch *arch);
/* The canonical description, every default spelled out. */
const char *hg_arch_get_json (HgArch *arch);
void        hg_arch_get_input_size (HgArch *arch,
                                    int    *height,
                                    int    *width,
                                    int    *channels);
int         hg_arch_get_n_classes (HgArch *arch);
/* Trainable parameters (batch-norm running statistics not included). */
gsize hg_arch_get_n_params (HgArch *arch);
/* Floating-point operations of one forward pass of one sample
 * (a multiply-add counts 2; convolutions and dense layers only). */
double hg_arch_get_flops (HgArch *arch);

/* NULL-terminated, static. */
const char *const *hg_arch_list_builtin (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgArch, hg_arch_unref)

G_END_DECLS
