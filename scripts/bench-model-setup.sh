#!/usr/bin/env bash
# Set-up of `tabler1 bench model`: the PyTorch baseline needs torch for the
# interpreter TABLER1_PYTHON (default /usr/bin/python3, Debian's). Where it
# cannot import torch, Debian's python3-torch (CPU) is installed with apt-get.
set -euo pipefail
py="${TABLER1_PYTHON:-/usr/bin/python3}"

have_torch() { [ -x "$py" ] && "$py" -c 'import torch, numpy' >/dev/null 2>&1; }

if have_torch; then
  exit 0
fi
echo "bench-model-setup: $py cannot import torch; installing Debian's python3-torch" >&2
sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
if ! have_torch; then
  echo "bench-model-setup: $py still cannot import torch; install PyTorch (CPU) for it, or set TABLER1_PYTHON to an interpreter that has it" >&2
  exit 1
fi
