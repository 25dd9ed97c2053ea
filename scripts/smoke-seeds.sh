#!/usr/bin/env bash
# Smoke training for three seeds: each must show the SFT loss falling by at
# least half and the GRPO reward of the last fifth of steps beating the
# first fifth (trainer.CheckSmoke over metrics.jsonl). Run dirs are kept
# under ${SMOKE_DIR:-runs/smoke-seeds}/seed-N for `tabler1 plot`.
set -euo pipefail
cd "$(dirname "$0")/.."
export TABLER1_PYTHON="${TABLER1_PYTHON:-/usr/bin/python3}"
out="${SMOKE_DIR:-runs/smoke-seeds}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
fail=0
for seed in ${SEEDS:-1 2 3}; do
  dir="$out/seed-$seed"
  rm -rf "$dir"; mkdir -p "$dir"
  echo "== seed $seed → $dir"
  if TABLER1_SMOKE_SEED="$seed" TABLER1_SMOKE_RUN_DIR="$dir" \
      go test -count=1 -timeout 15m -run '^TestSmokeTraining$' -v ./trainer/ | grep -E '^(---|\s+smoke_test|ok|FAIL|PASS)'; then
    :
  else
    fail=1
  fi
done
exit $fail
