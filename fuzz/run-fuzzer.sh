#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs one libFuzzer target for a while on its seed corpus:
#
#   fuzz/run-fuzzer.sh FUZZER SEED-CORPUS WORK-DIR SECONDS
#
# New inputs go to WORK-DIR/corpus (the seeds in the source tree are only
# read). A crash, leak, timeout, out-of-memory or sanitizer report leaves
# its input in WORK-DIR, prints libFuzzer's whole output and fails; a clean
# run prints one line: executions, time, coverage and corpus size, which
# also goes to WORK-DIR/summary.

set -u

fuzzer=$1
seeds=$2
work=$3
seconds=$4
name=$(basename "$fuzzer")

mkdir -p "$work/corpus"
rm -f "$work/summary"
"$fuzzer" \
  -max_total_time="$seconds" \
  -timeout=25 \
  -rss_limit_mb=2560 \
  -print_final_stats=1 \
  -artifact_prefix="$work/" \
  "$work/corpus" "$seeds" >"$work/log" 2>&1
status=$?

if [ $status -ne 0 ]; then
  cat "$work/log"
  echo "$name: FAILED (exit status $status); the input is in $work/" >&2
  # Not $status: libFuzzer reports findings with 77, which meson counts
  # as a skipped test.
  exit 1
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
echo "$name: $runs runs in $seconds s, coverage $cov edges ($ft features), corpus $corp, no findings" |
  tee "$work/summary"
