#!/usr/bin/env bash
# Starts tabler1's PyTorch trainer (backends/torch): the remote backend
# protocol and OpenAI rollout serving on one port.
#
#   scripts/torch-backend.sh --model PATH_OR_ID_OR_TABLER1_CHECKPOINT --port N [--host H] [--nproc N] [...]
#
# The bearer token is read from $TABLER1_BACKEND_TOKEN (required on a
# non-loopback --host). --nproc N runs N data-parallel ranks with torchrun
# (rank 0 answers HTTP; torch 1.x: tabler1_torch.launch). Other flags: python3 -m tabler1_torch --help.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${TABLER1_TORCH_PYTHON:-${TABLER1_PYTHON:-/usr/bin/python3}}"
nproc=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nproc) nproc="$2"; shift 2 ;;
    --nproc=*) nproc="${1#--nproc=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
export PYTHONPATH="$root/backends/torch${PYTHONPATH:+:$PYTHONPATH}"
if [ "$nproc" -gt 1 ]; then
  # torchrun where it works; torch 1.x's fails to start on Python 3.11, and
  # tabler1_torch.launch sets the same environment for the ranks.
  if "$py" -c 'import sys, torch; sys.exit(int(torch.__version__.split(".")[0]) < 2)'; then
    exec "$py" -m torch.distributed.run --standalone --nproc_per_node "$nproc" -m tabler1_torch "${args[@]}"
  fi
  exec "$py" -m tabler1_torch.launch --nproc "$nproc" "${args[@]}"
fi
exec "$py" -m tabler1_torch "${args[@]}"
