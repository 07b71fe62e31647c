#!/usr/bin/env bash
# Renders a bench HTML report in a real browser (Debian chromium, headless) and saves a PNG, to check the
# report displays as intended. Usage:
#   bench/screenshot.sh [REPORT.html] [OUT.png]    (default: bench/reports/sample.html → bench/reports/sample.png)
# Installs chromium with apt-get when it is missing and we are root; otherwise says how to install it.
set -euo pipefail
cd "$(dirname "$0")/.."
in="${1:-bench/reports/sample.html}"
out="${2:-${in%.html}.png}"
[ -f "$in" ] || { echo "screenshot: no such report: $in" >&2; exit 2; }
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  else
    echo "screenshot: chromium is not installed; run: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
# --no-sandbox: containers and root shells have no user namespaces for chromium's sandbox; the page is our own file.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size=1100,3900 --screenshot="$PWD/$out" "file://$PWD/$in" 2>/dev/null
echo "wrote $out"
