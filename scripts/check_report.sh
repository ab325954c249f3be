#!/usr/bin/env bash
# Opens a dynfault HTML report in headless Chromium and fails when the browser logs an error or
# the rendered DOM lacks the expected tables. Installs Debian's chromium when it is missing.
#
#   scripts/check_report.sh REPORT.html
set -euo pipefail

report="${1:?usage: $0 REPORT.html}"
[[ -f "$report" ]] || { echo "check_report: no file '$report'" >&2; exit 2; }
report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "check_report: installing chromium (apt-get)" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  browser="$(command -v chromium)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Chromium logs every page console message at INFO level, whatever its JavaScript level, so
# console.error() cannot be told from console.log() in its log. The page is therefore opened as a
# copy with a first script that re-logs console.error calls, uncaught errors, failed resource
# loads and unhandled promise rejections under a marker. The copy sits in a temporary directory:
# a report that refers to files beside it fails here, as it should (it must be self-contained).
probe='<script>(function(){var say=console.log.bind(console);'
probe+='console.error=function(){say("DYNFAULT_PAGE_ERROR console.error: "+[].slice.call(arguments).join(" "));};'
probe+='window.addEventListener("error",function(e){var t=e.target;say("DYNFAULT_PAGE_ERROR "+'
probe+='(e.message?e.message:"failed to load "+((t&&(t.src||t.href))||"a resource")));},true);'
probe+='window.addEventListener("unhandledrejection",function(e){say("DYNFAULT_PAGE_ERROR unhandled rejection: "+e.reason);});'
probe+='})();</script>'
page="$work/report.html"
if grep -qi '<head[ >]' "$report"; then
  PROBE="$probe" awk 'BEGIN { p = ENVIRON["PROBE"] }
    !done && match(tolower($0), /<head[ >][^>]*>|<head>/) {
      $0 = substr($0, 1, RSTART + RLENGTH - 1) p substr($0, RSTART + RLENGTH); done = 1 }
    { print }' "$report" >"$page"
else
  { printf '%s\n' "$probe"; cat "$report"; } >"$page"
fi
grep -q DYNFAULT_PAGE_ERROR "$page" || { echo "check_report: could not instrument $report" >&2; exit 2; }

# The report must need nothing from outside: no network, no extensions, a throw-away profile.
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --disable-extensions \
  --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
  --dump-dom "file://$page" >"$work/dom.html" 2>"$work/console.log" || {
  echo "check_report: chromium failed on $report" >&2
  cat "$work/console.log" >&2
  exit 1
}

status=0
# Page errors: console.error calls, uncaught exceptions, failed loads (the probe's marker), and
# console lines at ERROR level in Chromium builds that keep the JavaScript level. Chromium writes
# page console lines as `CONSOLE(line)` or, in newer builds, `:CONSOLE:line`.
if grep -E 'CONSOLE[(:]' "$work/console.log" | grep -Eq 'DYNFAULT_PAGE_ERROR|ERROR:CONSOLE|Uncaught'; then
  echo "check_report: the page logged errors:" >&2
  grep -E 'CONSOLE[(:]' "$work/console.log" | grep -E 'DYNFAULT_PAGE_ERROR|ERROR:CONSOLE|Uncaught' >&2
  status=1
fi
if grep -Eq 'Uncaught|net::ERR_' "$work/console.log"; then
  echo "check_report: uncaught exception or network request:" >&2
  grep -E 'Uncaught|net::ERR_' "$work/console.log" >&2
  status=1
fi

# The rendered DOM has the report's tables and figures: scores per rung, the ladder chart, the
# losses between rungs and their bars, per-class recall, a confusion matrix, the loss curves.
for needle in 'class="info"' 'class="scores"' 'class="confusion"' 'class="gap"' \
              'class="ladder"' 'class="losses"' 'class="recall"' \
              'class="curves"' 'Loss curves per fault class' 'Program identity'; do
  if ! grep -q "$needle" "$work/dom.html"; then
    echo "check_report: the rendered page lacks $needle" >&2
    status=1
  fi
done
tables=$(grep -o '<table' "$work/dom.html" | wc -l)
if [[ $tables -lt 3 ]]; then
  echo "check_report: only $tables tables rendered" >&2
  status=1
fi

if [[ $status -eq 0 ]]; then
  echo "check_report: $report renders in headless chromium: $tables tables, no console errors"
fi
exit $status
