#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Summarises build-aux/cv-robust.sh: balanced accuracies per fold and,
against the first architecture, paired differences over the folds with a
95% t-interval.

  cv-summary.py --folds K --out FILE DIR ARCH ARCH...
"""

import argparse
import json
import math
import os
import re
import struct
import sys

# Two-sided 95% quantiles of Student's t, by degrees of freedom.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]

# (label, attack, ε) of each column; ε 0 of PGD is the clean patches.
COLUMNS = [("clean", "pgd", 0), ("FGSM ε=4", "fgsm", 4), ("PGD-20 ε=4", "pgd", 4),
           ("FGSM ε=8", "fgsm", 8), ("PGD-20 ε=8", "pgd", 8)]


def tag(arch):
    """The file-name part cv-robust.sh gives an architecture."""
    base = os.path.basename(arch)
    if base.endswith(".json"):
        base = base[:-5]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base)


def fold_results(path, k, archs):
    """{arch: {(attack, eps): balanced accuracy}} of one fold's eval JSON."""
    with open(path, encoding="utf-8") as f:
        results = json.load(f)["results"]
    out = {}
    for arch in archs:
        name = f"fold{k}-{tag(arch)}"
        rows = [r for r in results if r["model"] == name and r["defense"] == "none"
                and not r["adaptive"]]
        if not rows:
            sys.exit(f"cv-summary.py: {path} has no results for {name}")
        out[arch] = {(r["attack"], r["eps"]): r["balanced_accuracy"] for r in rows}
        out[arch]["n"] = rows[0]["n"]
    return out


def recipe(path):
    """The adversarial recipe in a model's metadata, as words: "fgsm-rs, ε=5"."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(size)).get("__metadata__", {})
    r = json.loads(meta.get("recipe", "{}"))
    adv = r.get("adv", "none")
    if adv == "none":
        return "no adversarial training"
    words = [adv]
    if r.get("steps", 1) > 1:
        words.append(f"{r['steps']} steps")
    if adv == "trades":
        words.append(f"β={r['beta']:g}")
    return ", ".join(words) + f", ε={r['eps']:g}"


def interval(diffs):
    """Mean and 95% t-interval of paired differences."""
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = T975[min(n - 2, len(T975) - 1)] * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("dir")
    parser.add_argument("archs", nargs="+")
    args = parser.parse_args()
    if args.folds < 2 or len(args.archs) < 2:
        sys.exit("cv-summary.py: needs at least two folds and two architectures")

    folds = [fold_results(os.path.join(args.dir, f"fold{k}-eval.json"), k, args.archs)
             for k in range(args.folds)]
    # The recipe as the models record it: options after cv-robust.sh's --
    # can change it, for every architecture alike.
    recipes = sorted({recipe(os.path.join(args.dir, f"fold{k}-{tag(arch)}.safetensors"))
                      for k in range(args.folds) for arch in args.archs})
    lines = ["# Cross-validation of robust architectures", "",
             f"{args.folds} patient-level folds over the training and validation patients; "
             f"each fold's models trained on the other folds ({'; '.join(recipes)}; best epoch "
             "chosen on one in eight of their patients, held back from training) and attacked "
             "on its held-out patches. Balanced accuracy:", "",
             "| Fold | Patches | Architecture | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    for k, fold in enumerate(folds):
        for arch in args.archs:
            cells = " | ".join(f"{fold[arch][(a, e)]:.3f}" for _, a, e in COLUMNS)
            lines.append(f"| {k + 1} | {fold[arch]['n']} | `{arch}` | {cells} |")
    base = args.archs[0]
    lines += ["", f"Paired differences against `{base}`, mean over the folds and 95% "
              "t-interval (an interval that excludes 0 is a difference the folds agree on):", "",
              "| Architecture | " + " | ".join(c[0] for c in COLUMNS) + " |",
              "|---|" + "---|" * len(COLUMNS)]
    for arch in args.archs[1:]:
        cells = []
        for _, a, e in COLUMNS:
            mean, lo, hi = interval([f[arch][(a, e)] - f[base][(a, e)] for f in folds])
            cells.append(f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        lines.append(f"| `{arch}` | " + " | ".join(cells) + " |")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
