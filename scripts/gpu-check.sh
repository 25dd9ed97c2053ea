#!/usr/bin/env bash
# The GPU check of the PyTorch backend (issue #12), one command on one GPU,
# no network, no Go toolchain needed (about 5 minutes on an H200):
#
#   TABLER1_BIN=bin/tabler1 bash scripts/gpu-check.sh
#
#  1. a randomly initialised Qwen2-architecture model of 1.54B parameters
#     (backends/torch/configs/qwen2-1.5b, Qwen2-1.5B's published shape) with
#     a byte-level ChatML tokenizer built locally;
#  2. a short GRPO stage (configs/gpu-check.yaml) driven by `tabler1 train`
#     against scripts/torch-backend.sh, which also serves the rollouts;
#  3. the forward_backward benchmark (python3 -m tabler1_torch.bench) at 8k
#     and 16k tokens per micro-batch: step time, tokens/s, peak memory, MFU.
#
# Inputs (environment):
#   TABLER1_BIN          prebuilt binary (default bin/tabler1; built with
#                        `go build -o bin/tabler1 ./cmd/tabler1` when absent
#                        and Go is present)
#   TABLER1_TORCH_PYTHON python with torch, transformers, tokenizers,
#                        safetensors (default: python3 on PATH)
#   TABLER1_PYTHON       sandbox python with pandas (default: the same)
#   OUT                  logs and the summary go to $OUT/gpu-check (default /tmp)
#   GPU_CHECK_WORK       model and run directory (default /tmp/tabler1-gpu-check,
#                        removed at the end unless GPU_CHECK_KEEP=1)
#   GPU_CHECK_PORT       backend port (default 18765)
#   GPU_CHECK_TOKENS     bench micro-batch sizes (default 8192,16384)
#   GPU_CHECK_BUDGET     seconds for the whole check (default 470): each phase
#                        gets what is left, less what the later ones need
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

logs="${OUT:-/tmp}/gpu-check"
work="${GPU_CHECK_WORK:-/tmp/tabler1-gpu-check}"
port="${GPU_CHECK_PORT:-18765}"
tokens="${GPU_CHECK_TOKENS:-8192,16384}"
bin="${TABLER1_BIN:-bin/tabler1}"
py="${TABLER1_TORCH_PYTHON:-$(command -v python3 || true)}"
export TABLER1_TORCH_PYTHON="$py"
export TABLER1_PYTHON="${TABLER1_PYTHON:-$py}"
export PYTHONPATH="$root/backends/torch${PYTHONPATH:+:$PYTHONPATH}"
export TABLER1_BACKEND_TOKEN="${TABLER1_BACKEND_TOKEN:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
mkdir -p "$logs"
rm -rf "$work"
mkdir -p "$work"
summary="$logs/summary.txt"
: > "$summary"

t_start=$(date +%s)
deadline=$(( t_start + ${GPU_CHECK_BUDGET:-470} ))
# budget CAP RESERVE: seconds for a phase, at most CAP, leaving RESERVE for
# the phases after it (at least 10).
budget() { local b=$(( deadline - $(date +%s) - $2 )); [ "$b" -gt "$1" ] && b=$1; [ "$b" -lt 10 ] && b=10; echo "$b"; }
say() { printf '[gpu-check %4ds] %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }
phases=()
phase_done() { phases+=("$(printf '%-34s %-6s %5ss' "$1" "$2" "$3")"); }

backend_pid=""
stop_backend() {
  if [ -n "$backend_pid" ] && kill -0 "$backend_pid" 2>/dev/null; then
    kill -TERM "$backend_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$backend_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$backend_pid" 2>/dev/null || true
    wait "$backend_pid" 2>/dev/null || true
  fi
  backend_pid=""
}
cleanup() {
  stop_backend
  if [ "${GPU_CHECK_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- preflight
say "logs in $logs, work directory $work"
[ -n "$py" ] || die "no python3 on PATH; set TABLER1_TORCH_PYTHON to the python with torch and transformers"
if [ ! -x "$bin" ]; then
  if command -v go >/dev/null 2>&1; then
    say "building $bin (go build -o $bin ./cmd/tabler1)"
    go build -o "$bin" ./cmd/tabler1 || die "go build failed"
  else
    die "$bin not found and no Go toolchain: build it elsewhere (go build -o bin/tabler1 ./cmd/tabler1) or set TABLER1_BIN"
  fi
fi
"$py" - <<'EOF' 2>&1 | tee "$logs/preflight.log" || die "preflight: $py lacks what the check needs (see $logs/preflight.log)"
import sys
missing = []
for m in ("torch", "transformers", "tokenizers", "safetensors"):
    try:
        __import__(m)
    except ImportError:
        missing.append(m)
if missing:
    sys.exit(f"missing python packages: {', '.join(missing)} (in {sys.executable})")
import torch, transformers
if not torch.cuda.is_available():
    sys.exit("torch.cuda.is_available() is False: this check needs a GPU")
print(f"python {sys.executable}; torch {torch.__version__}; transformers {transformers.__version__}; "
      f"GPU {torch.cuda.get_device_name(0)} ({torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB)")
EOF
"$TABLER1_PYTHON" -c 'import pandas' 2>/dev/null || die "sandbox python $TABLER1_PYTHON cannot import pandas; set TABLER1_PYTHON"
say "tabler1 binary $bin; sandbox python $TABLER1_PYTHON"

# ---- 1. model
say "1/3 random Qwen2-1.5B-shaped model -> $work/model"
t0=$(date +%s)
timeout -k 10 "$(budget 180 300)" "$py" -m tabler1_torch.bench --prepare backends/torch/configs/qwen2-1.5b --model "$work/model" \
  > "$logs/prepare.log" 2>&1 || { tail -20 "$logs/prepare.log"; die "model preparation (see $logs/prepare.log)"; }
tail -1 "$logs/prepare.log"
phase_done "1 random model (prepare)" ok $(( $(date +%s) - t0 ))

# ---- 2. GRPO through tabler1 train against the backend
say "2/3 backend on 127.0.0.1:$port (log: $logs/backend.log)"
t0=$(date +%s)
bash scripts/torch-backend.sh --model "$work/model" --name gpu-check-qwen2 --port "$port" --seed 1 \
  > "$logs/backend.log" 2>&1 &
backend_pid=$!
"$py" - "$port" "$backend_pid" "$(budget 180 240)" <<'EOF' || { tail -30 "$logs/backend.log"; die "backend did not become healthy (see $logs/backend.log)"; }
import json, os, sys, time, urllib.request
port, pid, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/health",
                             headers={"Authorization": "Bearer " + os.environ["TABLER1_BACKEND_TOKEN"]})
deadline = time.monotonic() + wait
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("backend exited")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            print("backend healthy:", json.loads(r.read()))
            sys.exit(0)
    except OSError:
        time.sleep(2)
sys.exit(f"no healthy answer within {wait} s")
EOF
say "backend up after $(( $(date +%s) - t0 ))s; GRPO stage: $bin train --config configs/gpu-check.yaml"
sed "s/127\.0\.0\.1:18765/127.0.0.1:$port/" configs/gpu-check.yaml > "$work/gpu-check.yaml"
t1=$(date +%s)
train_status=ok
if ! timeout -k 20 "$(budget 300 150)" "$bin" train --config "$work/gpu-check.yaml" --run-dir "$work/run" 2>&1 | tee "$logs/train.log"; then
  train_status=FAILED
fi
cp "$work/run/metrics.jsonl" "$logs/metrics.jsonl" 2>/dev/null || true
phase_done "2 GRPO via tabler1 train" "$train_status" $(( $(date +%s) - t1 ))
grpo_summary=$("$py" - "$logs/metrics.jsonl" <<'EOF'
import json, sys
try:
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except OSError:
    rows = []
if not rows:
    print("  no steps completed")
    sys.exit()
def mean(k):
    # metrics.jsonl's names (docs/configuration.md, "Metric names"); a
    # renamed metric shows as missing rather than as 0
    if any(k not in r for r in rows):
        return float("nan")
    return sum(r[k] for r in rows) / len(rows)
first, last = rows[0].get("critic/score/mean", float("nan")), rows[-1].get("critic/score/mean", float("nan"))
print(f"  steps {len(rows)}; reward first {first:.3f} last {last:.3f}; "
      f"samples/step {mean('batch/samples'):.0f}; tokens/step {mean('perf/total_num_tokens'):.0f}; "
      f"response_length {mean('response_length/mean'):.1f}; exec_success {mean('paradigm/exec_success'):.2f}; "
      f"entropy {mean('actor/entropy'):.2f}; grad_norm last {rows[-1].get('actor/grad_norm', float('nan')):.3g}")
EOF
)
echo "$grpo_summary"
stop_backend  # frees the GPU for the benchmark
[ "$train_status" = ok ] || say "GRPO stage failed (see $logs/train.log, $logs/backend.log); running the benchmark anyway"

# ---- 3. forward_backward benchmark
say "3/3 forward_backward benchmark at $tokens tokens per micro-batch (log: $logs/bench.log)"
t0=$(date +%s)
bench_status=ok
if ! timeout -k 10 "$(budget 300 15)" "$py" -m tabler1_torch.bench --model "$work/model" --tokens "$tokens" --json "$logs/bench.json" \
  > "$logs/bench.log" 2>&1; then
  bench_status=FAILED
fi
cat "$logs/bench.log"
phase_done "3 forward_backward benchmark" "$bench_status" $(( $(date +%s) - t0 ))

# ---- summary
{
  echo
  echo "== gpu-check summary ($(( $(date +%s) - t_start ))s total; logs in $logs)"
  printf '%-34s %-6s %6s\n' phase status time
  printf '%s\n' "${phases[@]}"
  echo "GRPO (configs/gpu-check.yaml):"
  echo "$grpo_summary"
  echo "forward_backward (python3 -m tabler1_torch.bench):"
  sed -n '/^| tokens\/micro-batch/,$p' "$logs/bench.log"
} | tee "$summary"
[ "$train_status" = ok ] && [ "$bench_status" = ok ]
