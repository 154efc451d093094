#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Compares network architectures for the adversarially trained model by
# patient-level cross-validation over the training and validation
# patients of ../shared/data/idc, never touching the test patients:
#
#   build-aux/cv-robust.sh --arch A --arch B [--folds K] [--epochs N]
#                          [--jobs J] [--out DIR] [--build BUILDDIR] [-- TRAIN-OPTIONS]
#
# The train and val patients of splits.tsv are dealt, in order of patient
# id, into K folds (default 5). For each fold, every architecture is
# trained on the other folds with the shipped robust recipe (fgsm-rs at
# ε=5, --balance --ema 0.99, seed 1, one thread each, J at a time:
# default 2), its best epoch chosen on one in eight of the other folds'
# patients, held back from training, then evaluated on the held-out fold
# with FGSM and PGD-20 at ε 0, 4 and 8: the held-out patients choose
# nothing. TRAIN-OPTIONS are appended to every train command (later
# options win). Writes DIR/summary.md (default _cv): balanced accuracies
# per fold and, against the first --arch, paired differences with a 95%
# t-interval over the folds. Finished folds are kept, so an interrupted
# run resumes. BUILDDIR (default _build), DIR and $HG_SHARED_DATA
# (default ../shared/data) are relative to the source tree.
# See data/models/candidates.md.

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=_build
folds=5
epochs=30
jobs=2
out=_cv
archs=
usage() {
  sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//'
}
die() {
  echo "cv-robust.sh: $*" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; archs="$archs $2"; shift 2 ;;
    --folds) [ $# -ge 2 ] || die "--folds needs a value"; folds=$2; shift 2 ;;
    --epochs) [ $# -ge 2 ] || die "--epochs needs a value"; epochs=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; jobs=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || die "--build needs a value"; builddir=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for n in "$folds" "$epochs" "$jobs"; do
  case "$n" in
    ''|*[!0-9]*) die "'$n' is not a positive whole number" ;;
  esac
done
[ "$folds" -ge 2 ] || die "--folds must be at least 2"
[ "$epochs" -ge 1 ] && [ "$jobs" -ge 1 ] || die "--epochs and --jobs must be at least 1"
# Architecture names as file-name parts (as cv-summary.py's tag()).
tag() {
  basename "$1" .json | tr -c 'A-Za-z0-9_.\n-' '_'
}
tags=
n_archs=0
for a in $archs; do
  t=$(tag "$a")
  case " $tags " in
    *" $t "*) die "two architectures would share the file name '$t'" ;;
  esac
  tags="$tags $t"
  n_archs=$((n_archs + 1))
  case "$a" in
    *[!A-Za-z0-9_.,:=/-]*) die "architecture '$a': only letters, digits and _.,:=/- are accepted" ;;
  esac
done
[ $n_archs -ge 2 ] || die "give at least two --arch to compare"

cd "$srcdir"
[ -d "$builddir" ] || die "build directory '$builddir' not found (meson setup $builddir --buildtype=release)"
builddir=$(cd "$builddir" && pwd)
data=${HG_SHARED_DATA:-../shared/data}
[ -f "$data/idc/splits.tsv" ] || die "$data/idc/splits.tsv not found (set HG_SHARED_DATA)"
ninja -C "$builddir" src/cli/histoguard-cli >/dev/null
cli=$builddir/src/cli/histoguard-cli
mkdir -p "$out"

# Two split files per fold. foldK.tsv, for the evaluation: the fold's
# patients are val, the other train and val patients train, the test
# patients stay test. foldK-train.tsv, for the trainer: the fold's
# patients become test like the real test patients (the trainer never
# reads test without --final-eval), and one in eight of the others (by
# their place in the deal) become val, to choose the best epoch on.
awk -F '\t' 'NR > 1 && ($2 == "train" || $2 == "val") { print $1 }' "$data/idc/splits.tsv" |
  sort -n >"$out/patients.txt"
[ "$(wc -l <"$out/patients.txt")" -ge "$folds" ] || die "fewer train and val patients than folds"
k=0
while [ $k -lt "$folds" ]; do
  awk -F '\t' -v OFS='\t' -v k=$k -v K="$folds" -v list="$out/patients.txt" \
    -v eval_file="$out/fold$k.tsv" -v train_file="$out/fold$k-train.tsv" '
    BEGIN { i = 0; while ((getline p < list) > 0) { fold[p] = i % K; deal[p] = int(i / K); i++ } }
    NR > 1 && ($2 == "train" || $2 == "val") {
      held = fold[$1] == k
      $2 = held ? "val" : "train"
      print >eval_file
      $2 = held ? "test" : (deal[$1] % 8 == 0) ? "val" : "train"
      print >train_file
      next
    }
    { print >eval_file; print >train_file }' "$data/idc/splits.tsv"
  k=$((k + 1))
done

# A model is kept from an earlier run only if it finished and was trained
# with the same options and training split file (BASE.done holds them);
# the evaluation only if it covered the same models and none was
# retrained since.
k=0
while [ $k -lt "$folds" ]; do
  running=0
  for a in $archs; do
    base="$out/fold$k-$(tag "$a")"
    opts="--arch $a --epochs $epochs --splits $(cksum <"$out/fold$k-train.tsv") $*"
    if [ -f "$base.done" ] && [ "$(cat "$base.done")" = "$opts" ]; then
      continue
    fi
    rm -f "$base.done" "$out/fold$k-eval.json"
    echo "cv-robust.sh: fold $((k + 1)) of $folds: training $a (log: $base.log)"
    (
      "$cli" train --data "$data/idc/patches" --splits "$out/fold$k-train.tsv" --threads 1 --seed 1 \
        --arch "$a" --epochs "$epochs" --balance --ema 0.99 --adv fgsm-rs --eps 5 -q \
        --out "$base.safetensors" "$@" >"$base.log" 2>&1 && echo "$opts" >"$base.done"
    ) &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
      wait
      running=0
    fi
  done
  wait
  models=
  for a in $archs; do
    base="$out/fold$k-$(tag "$a")"
    [ -f "$base.done" ] || die "fold $((k + 1)): training $a failed, see $base.log"
    models="$models --model $base.safetensors"
  done
  if [ ! -f "$out/fold$k-eval.json" ] || [ "$(cat "$out/fold$k-eval.models" 2>/dev/null)" != "$models" ]; then
    echo "cv-robust.sh: fold $((k + 1)) of $folds: evaluating on its held-out patients"
    "$cli" eval $models --data "$data/idc/patches" --splits "$out/fold$k.tsv" --split val \
      --attack fgsm,pgd --eps 0,4,8 --steps 20 --seed 1 -q --json "$out/fold$k-eval.json.tmp"
    echo "$models" >"$out/fold$k-eval.models"
    mv "$out/fold$k-eval.json.tmp" "$out/fold$k-eval.json"
  fi
  k=$((k + 1))
done

python3 build-aux/cv-summary.py --folds "$folds" --out "$out/summary.md" "$out" $archs
cat "$out/summary.md"
