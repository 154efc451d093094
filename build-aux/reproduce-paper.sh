#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Regenerates docs/paper-reproduction.md (with .png and .json beside it):
# the paper's numbers beside ours for the shipped standard and
# adversarially trained models, on the test patients of ../shared/data.
#
#   build-aux/reproduce-paper.sh [BUILDDIR]
#
# STANDARD=FILE and ROBUST=FILE replace the shipped models (NOTE=TEXT then
# adds to the warning at the top), OUT=PREFIX the output (default
# docs/paper-reproduction). About 15 minutes of 2 quiet
# cores for the default CNNs: PGD-20 and its adaptive versions dominate.

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-_build}
case "$builddir" in /*) ;; *) builddir="$srcdir/$builddir" ;; esac
data="$srcdir/../shared/data/idc"
[ -d "$data" ] || data="$srcdir/../../shared/data/idc"
stand_in=${STANDARD:+yes}${ROBUST:+yes}
standard=${STANDARD:-$srcdir/data/models/idc-standard.safetensors}
robust=${ROBUST:-$srcdir/data/models/idc-robust.safetensors}
out=${OUT:-$srcdir/docs/paper-reproduction}

for f in "$standard" "$robust"; do
  if [ ! -f "$f" ]; then
    echo "reproduce-paper.sh: no model '$f' (train it with data/models/README.md, or set STANDARD= and ROBUST=)" >&2
    exit 1
  fi
done
if [ ! -d "$data/patches" ]; then
  echo "reproduce-paper.sh: the IDC data is not in ../shared/data/idc" >&2
  exit 1
fi

ninja -C "$builddir" src/cli/histoguard-cli >/dev/null
mkdir -p "$(dirname "$out")"

# Paths relative to the checkout, so that the command recorded in the
# document reads the same on every machine.
rel() { realpath --no-symlinks --relative-to="$srcdir" "$1"; }
standard=$(rel "$standard")
robust=$(rel "$robust")
data=$(rel "$data")
out=$(rel "$out")

# The paper's attack (FGSM) and what it did not try: PGD-20 with a random
# start, the input-transform defences attacked obliviously and adaptively,
# DeepFool's minimal perturbations and a feature-squeezing detector whose
# threshold comes from the validation patients.
cd "$srcdir"
"$builddir/src/cli/histoguard-cli" eval \
  --model "$standard" --model "$robust" \
  --data "$data/patches" --splits "$data/splits.tsv" --split test \
  --attack fgsm,pgd,deepfool --eps 0,1,2,4,8 --steps 20 \
  --defense none,jpeg:75,median:3,bits:4 --adaptive \
  --detector bits:5,median:3 \
  --title "Standard and adversarially trained IDC classifiers under attack" \
  --paper --json "$out.json" --plot "$out.png" --markdown "$out.md"

# Say so at the top when these are not the shipped models.
if [ -n "$stand_in" ]; then
  {
    printf '> **Not the shipped models:** generated with `STANDARD=%s ROBUST=%s`. %s\n\n' \
      "$standard" "$robust" "${NOTE:-}"
    cat "$out.md"
  } > "$out.md.tmp"
  mv "$out.md.tmp" "$out.md"
fi
