#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test
# (cmd/tabler1 TestDashBrowser) where it is missing. scripts/test.sh runs it
# under CI=true; elsewhere the test skips without chromium, saying so.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  echo "setup: installing Debian's chromium for the dashboard's browser test" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: chromium is not installed and apt-get is unavailable here (or we are not root); install Debian's chromium" >&2
  exit 1
fi
