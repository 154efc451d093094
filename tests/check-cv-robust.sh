#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# build-aux/cv-robust.sh on the committed IDC fixture: two folds, one
# epoch, two tiny networks. Checks that each train or val patient is held
# out in exactly one fold, that the trainer of that fold neither trains
# nor chooses its best epoch on it, that test patients stay test, that
# the summary has a row per fold and architecture and one of paired
# differences, that a second run resumes without training while a run
# with other options trains again, and that bad arguments fail.
#
#   check-cv-robust.sh SRCDIR BUILDDIR OUTDIR

set -eu
srcdir=$1
builddir=$2
out=$3
script=$srcdir/build-aux/cv-robust.sh
fail() {
  echo "check-cv-robust: $*" >&2
  exit 1
}

rm -rf "$out" "$out-bad"
export HG_SHARED_DATA="$srcdir/tests/data"
run() {
  "$script" --build "$builddir" --out "$out" --folds 2 --epochs "${1:-1}" \
    --arch cnn:width=4 --arch cnn:channels=4-4-8 -- --batch 8 --robust-val 8 --eps 3
}
run >"$out.log" 2>&1 || { cat "$out.log"; fail "the cross-validation failed"; }

splits=$HG_SHARED_DATA/idc/splits.tsv
for p in $(awk -F '\t' 'NR > 1 { print $1 }' "$splits"); do
  orig=$(awk -F '\t' -v p="$p" '$1 == p { print $2 }' "$splits")
  held=$(cat "$out/fold0.tsv" "$out/fold1.tsv" | awk -F '\t' -v p="$p" '$1 == p && $2 == "val"' | wc -l)
  if [ "$orig" = test ]; then
    n=$(cat "$out/fold0.tsv" "$out/fold1.tsv" | awk -F '\t' -v p="$p" '$1 == p && $2 == "test"' | wc -l)
    [ "$n" -eq 2 ] || fail "test patient $p is not test in both folds"
  elif [ "$held" -ne 1 ]; then
    fail "patient $p is held out in $held folds, not 1"
  fi
done

# The trainer's split files: the held-out patients choose nothing.
for k in 0 1; do
  train=$out/fold$k-train.tsv
  for p in $(awk -F '\t' 'NR > 1 { print $1 }' "$splits"); do
    eval_as=$(awk -F '\t' -v p="$p" '$1 == p { print $2 }' "$out/fold$k.tsv")
    train_as=$(awk -F '\t' -v p="$p" '$1 == p { print $2 }' "$train")
    case "$eval_as" in
      val | test) [ "$train_as" = test ] || fail "fold $k: patient $p ($eval_as) is $train_as for the trainer" ;;
      train) [ "$train_as" = train ] || [ "$train_as" = val ] || fail "fold $k: patient $p is $train_as for the trainer" ;;
      *) fail "fold $k: patient $p is missing from fold$k.tsv" ;;
    esac
  done
  for s in train val; do
    awk -F '\t' -v s=$s '$2 == s { found = 1 } END { exit !found }' "$train" ||
      fail "fold $k: the trainer has no $s patient"
  done
  grep -aq "fold$k-train\.tsv" "$out/fold$k-cnn_width_4.safetensors" ||
    fail "fold $k: the model's recorded command does not name fold$k-train.tsv"
done

grep -q "trained on the other folds (fgsm-rs, ε=3; best epoch" "$out/summary.md" ||
  fail "summary.md does not name the recipe the models recorded (ε=3, set after --)"
rows=$(grep -c '^| [12] | [0-9]* | `cnn' "$out/summary.md" || true)
[ "$rows" -eq 4 ] || fail "summary.md has $rows fold rows, not 4"
grep -q '^| `cnn:channels=4-4-8` | [+-]0\.[0-9]* \[' "$out/summary.md" ||
  fail "summary.md has no paired differences for the second network"

run >"$out.log" 2>&1 || fail "the resumed run failed"
if grep -q "^cv-robust.sh: fold .*: training" "$out.log"; then
  fail "the resumed run trained again"
fi
# Other options: every model is trained and evaluated again.
run 2 >"$out.log" 2>&1 || fail "the run with 2 epochs failed"
n=$(grep -c "^cv-robust.sh: fold .*: training" "$out.log" || true)
[ "$n" -eq 4 ] || fail "a run with other options retrained $n models, not 4"
n=$(grep -c "^cv-robust.sh: fold .*: evaluating" "$out.log" || true)
[ "$n" -eq 2 ] || fail "a run with other options evaluated $n folds again, not 2"

for bad in "--arch cnn" "--arch cnn --arch cnn" "--arch cnn --arch resnet --folds 1" "--bogus"; do
  # shellcheck disable=SC2086 # the arguments are meant to split
  if "$script" --build "$builddir" --out "$out-bad" $bad >/dev/null 2>&1; then
    fail "'$bad' was accepted"
  fi
done
[ ! -e "$out-bad" ] || fail "a refused command line left $out-bad behind"
echo "check-cv-robust: ok"
