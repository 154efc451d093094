#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Retrains the two shipped models from the IDC patches in ../shared/data
# with Histoguard's own trainer, then regenerates their model card.
#
#   build-aux/train-models.sh [--standard] [--robust] [--card] [BUILDDIR]
#
# With no selection, does all three. Writes data/models/idc-standard.safetensors,
# data/models/idc-robust.safetensors (each replaced atomically, at every new
# best epoch), their training logs (data/models/*.log) and
# data/models/README.md. $HG_SHARED_DATA overrides ../shared/data.
# The two models train side by side, each with one compute thread on one
# core (with one thread a seed gives the same model bit for bit): 49
# minutes of training for the standard model and 31 for the robust one
# (measured on different days), then about 10 of final evaluation each, on
# an otherwise idle 2-core machine. Run it on an idle machine if the training
# times in the card are to mean anything.

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=_build
do_standard=no
do_robust=no
do_card=no
for arg in "$@"; do
  case "$arg" in
    --standard) do_standard=yes ;;
    --robust) do_robust=yes ;;
    --card) do_card=yes ;;
    -h|--help)
      sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    -*) echo "train-models.sh: unknown option '$arg'" >&2; exit 2 ;;
    *) builddir=$arg ;;
  esac
done
if [ $do_standard = no ] && [ $do_robust = no ] && [ $do_card = no ]; then
  do_standard=yes do_robust=yes do_card=yes
fi

cd "$srcdir"
# Paths are recorded in the models' metadata: keep them relative to the
# source tree, as a reader would type them.
data=${HG_SHARED_DATA:-../shared/data}
if [ ! -d "$data/idc/patches" ]; then
  echo "train-models.sh: $data/idc/patches not found (set HG_SHARED_DATA)" >&2
  exit 1
fi
# Use an optimised build (meson setup BUILDDIR --buildtype=release).
ninja -C "$builddir" src/cli/histoguard-cli >/dev/null
cli=$builddir/src/cli/histoguard-cli
mkdir -p data/models

train() {
  name=$1
  shift
  echo "train-models.sh: training $name (log: data/models/$name.log)"
  "$cli" train --data "$data/idc/patches" --splits "$data/idc/splits.tsv" \
    --final-eval --final-eps 2,4,8 --threads 1 --seed 1 --out "data/models/$name.safetensors" "$@" \
    >"data/models/$name.log" 2>&1
  tail -n 1 "data/models/$name.log"
}

# The recipes: the standard one frozen on the validation split, the robust
# one's network (cnn5) chosen by cross-validation (data/models/candidates.md).
pids=
if [ $do_standard = yes ]; then
  train idc-standard --arch cnn:channels=32-48-128 --epochs 60 --balance --ema 0.99 &
  pids="$pids $!"
fi
if [ $do_robust = yes ]; then
  train idc-robust --arch data/models/cnn5.json --epochs 30 --balance --ema 0.99 --adv fgsm-rs --eps 5 &
  pids="$pids $!"
fi
for pid in $pids; do
  wait "$pid"
done

if [ $do_card = yes ]; then
  eval_json=
  # An independent check with the attack library, when it is built.
  if "$cli" eval --help >/dev/null 2>&1; then
    eval_json=$builddir/models-eval.json
    "$cli" eval --model data/models/idc-standard.safetensors --model data/models/idc-robust.safetensors \
      --data "$data/idc/patches" --splits "$data/idc/splits.tsv" --split test \
      --attack fgsm,pgd --eps 2,4,8 --steps 20 --json "$eval_json" >/dev/null
  fi
  python3 build-aux/model-card.py --cli "$cli" ${eval_json:+--eval "$eval_json"} data/models/README.md
  echo "train-models.sh: wrote data/models/README.md"
fi
