#!/usr/bin/env bash
# Renders a report.html in headless Chromium (Debian's package) at 1280 px wide and saves a PNG beside it, to check
# it reads well as a person would see it. Installs chromium when missing (needs root and apt).
#
# usage: scripts/screenshot-report.sh [REPORT_HTML=reports/demo/report.html] [HEIGHT=3000]
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT=${1:-reports/demo/report.html}
HEIGHT=${2:-3000}
[ -s "$REPORT" ] || { echo "no $REPORT: run \`swift run idaudit demo\` first" >&2; exit 1; }
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
OUT="${REPORT%.html}-1280.png"
ABS=$(cd "$(dirname "$REPORT")" && pwd)/$(basename "$REPORT")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,"$HEIGHT" \
    --screenshot="$OUT" "file://$ABS" 2>/dev/null
echo "$OUT"
