#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Fails when a translation in po/LINGUAS is not complete: a message of the
# sources (extracted afresh from po/POTFILES, as meson's i18n module does)
# that the .po file lacks, or a message in it that is untranslated, fuzzy
# or has a format string that does not match its original.
set -eu
top=${1:-$(dirname "$0")/..}
cd "$top"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The keywords of meson's 'glib' gettext preset.
xgettext --from-code=UTF-8 --add-comments --files-from=po/POTFILES --directory=. \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --output="$tmp/histoguard.pot" 2>"$tmp/xgettext.log" || {
  cat "$tmp/xgettext.log"
  exit 1
}

status=0
for lang in $(sed 's/#.*//' po/LINGUAS); do
  po=po/$lang.po
  # Every message of the sources is in the translation…
  if ! msgcmp "$po" "$tmp/histoguard.pot" 2>"$tmp/msgcmp.log"; then
    echo "$po lacks messages of the sources (update it with ninja histoguard-update-po):"
    head -n 20 "$tmp/msgcmp.log"
    status=1
  fi
  # …and everything in it is translated, with matching format strings.
  if ! msgfmt --check --statistics --output-file=/dev/null "$po" 2>"$tmp/msgfmt.log"; then
    cat "$tmp/msgfmt.log"
    status=1
    continue
  fi
  stats=$(cat "$tmp/msgfmt.log")
  case "$stats" in
    *fuzzy* | *untranslated*)
      echo "$po is incomplete: $stats"
      status=1
      ;;
    *) echo "$po: $stats" ;;
  esac
done
exit $status
