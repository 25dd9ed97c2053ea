#!/usr/bin/env bash
# What the PyTorch trainer's CPU tests need (backends/torch): Debian's
# python3-torch (CPU) for /usr/bin/python3, installed with apt-get only when
# `import torch` fails. The GPU path needs torch >= 2.4 and transformers
# instead (README, "Real runs"); the backend checks them at start.
set -euo pipefail
py=/usr/bin/python3
if "$py" -c 'import torch' >/dev/null 2>&1; then
  exit 0
fi
echo "setup-torch: $py cannot import torch; installing Debian's python3-torch" >&2
sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq python3-torch >/dev/null
fi
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "setup-torch: $py still cannot import torch, and apt-get is unavailable here (or we are not root): apt-get install python3-torch" >&2
  exit 1
fi
