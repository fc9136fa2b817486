#!/usr/bin/env bash
# Installs Debian's chromium for the report's browser test (gns4j.report.ReportBrowserTest) when it is missing.
# Runs as root, or through sudo when available; without either it says so and leaves the decision to the test
# (which then reports a skip).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "install-chromium: /usr/bin/chromium is missing and neither root nor sudo is available" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
