#!/usr/bin/env bash
# The whole test suite: set-up, formatting, vet, staticcheck, and the tests
# with the race detector. CI runs exactly this (through .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-torch.sh
export TABLER1_PYTHON="${TABLER1_PYTHON:-/usr/bin/python3}"

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test -race"
go test -race -timeout 30m ./...
# The smoke training end to end is minutes of real CPU training: the race
# detector would slow it ~10x, so it runs once more without it (the test is
# built only without -race).
echo "== smoke training end to end (configs/smoke.yaml, no race detector)"
go test -count=1 -timeout 15m -run '^TestSmokeTraining$' -v ./trainer/ | grep -E '^(---|=== RUN|\s+smoke_test|ok|FAIL|PASS)'
# The PyTorch reference trainer (backends/torch): loss and embedded-model
# parity with Go (fixtures from model/torchparity_test.go), the protocol and
# OpenAI serving, checkpoint resume, 2-rank data parallelism over gloo.
echo "== backends/torch unittest"
PYTHONPATH=backends/torch /usr/bin/python3 -m unittest discover -s backends/torch/tests -t backends/torch
echo "== smoke training against the torch backend (configs/smoke-torch.yaml, no race detector)"
go test -count=1 -timeout 20m -run '^TestSmokeTorchBackend$' -v ./trainer/ | grep -E '^(---|=== RUN|\s+smoke_torch_test|ok|FAIL|PASS)'
