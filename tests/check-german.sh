#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The German translation at work: runs histoguard-cli in a German locale
# (compiled here into a temporary folder, so the machine needs no German
# locale installed) with the catalogue built in the build tree, and checks
# that help, a usage error and runtime errors (from the CLI and from
# libhistoguard) come out in German, and that numbers meant for programs
# (a trained model's metadata, the trainer's lines) still use '.'.
#
#   tests/check-german.sh HISTOGUARD-CLI BUILD-PO-DIR IDC-FIXTURE-DIR
set -u
cli=$1
podir=$2
idc=$3

if ! command -v localedef >/dev/null 2>&1 || [ ! -f /usr/share/i18n/locales/de_DE ]; then
  echo "1..0 # SKIP no localedef or de_DE locale source (Debian package 'locales')"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! localedef -i de_DE -f UTF-8 "$tmp/de_DE.UTF-8" 2>"$tmp/localedef.log"; then
  cat "$tmp/localedef.log"
  exit 1
fi

export LOCPATH="$tmp" LC_ALL=de_DE.UTF-8 HISTOGUARD_LOCALEDIR="$podir"
unset LANGUAGE
status=0
n=0
# check DESCRIPTION EXPECTED-STATUS EXPECTED-TEXT COMMAND…
check() {
  what=$1 want_status=$2 want=$3
  shift 3
  n=$((n + 1))
  "$cli" "$@" >"$tmp/out" 2>&1
  got_status=$?
  if [ "$got_status" -eq "$want_status" ] && grep -qF -- "$want" "$tmp/out"; then
    echo "ok $n - $what"
  else
    echo "not ok $n - $what: wanted status $want_status and \"$want\", got status $got_status:"
    sed 's/^/# /' "$tmp/out"
    status=1
  fi
}

echo "1..6"
check "help" 0 "Stapelverarbeitung für Histoguard" --help
check "unknown command" 2 "unbekannter Befehl »frobnicate«" frobnicate
check "option help" 0 "Wertet Modelle gegen Angriffe" eval --help
check "unreadable model" 1 "kann nicht gelesen werden" info "$tmp/missing.safetensors"
printf 'not a slide\n' >"$tmp/notes.svs"
check "text file named .svs (core message)" 1 "ist eine Textdatei, kein Präparat" slide-info "$tmp/notes.svs"

n=$((n + 1))
what="train: the model's metadata and the progress lines use '.'"
"$cli" train --data "$idc/patches" --splits "$idc/splits.tsv" --arch cnn:channels=4-8-8 --epochs 1 \
  --batch 16 --threads 1 --out "$tmp/model.safetensors" >"$tmp/out" 2>&1 &&
  "$cli" info "$tmp/model.safetensors" >>"$tmp/out" 2>&1
got_status=$?
if [ $got_status -eq 0 ] &&
  grep -Eq 'loss [0-9]+\.[0-9]{4} ' "$tmp/out" &&
  grep -Eq '"train_seconds" : "[0-9]+\.[0-9]"' "$tmp/out" &&
  grep -Eq '\\"load_start\\": [0-9]+\.[0-9]{2}, \\"load_mean\\": [0-9]+\.[0-9]{2}, \\"cpu_seconds\\": [0-9]+\.[0-9], ' "$tmp/out"; then
  echo "ok $n - $what"
else
  echo "not ok $n - $what: status $got_status:"
  sed 's/^/# /' "$tmp/out"
  status=1
fi
exit $status
