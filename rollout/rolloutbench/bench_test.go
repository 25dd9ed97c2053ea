package rolloutbench

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestBenchSmoke runs the benchmark briefly: both clients must complete
// requests without errors. Figures are printed, never asserted.
func TestBenchSmoke(t *testing.T) {
	d := 50 * time.Millisecond
	if os.Getenv("TABLER1_LONG") != "" {
		d = time.Second
	}
	res, err := Bench(context.Background(), BenchConfig{InFlight: 32, Duration: d, Tokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.BareRequests == 0 {
		t.Fatalf("no requests completed: %+v", res)
	}
	t.Logf("%+v", res)
}

// BenchmarkBench runs the pool-versus-bare benchmark for profiling:
// go test -run X -bench Bench -cpuprofile cpu.out ./rollout/rolloutbench/
func BenchmarkBench(b *testing.B) {
	for b.Loop() {
		res, err := Bench(context.Background(), BenchConfig{Duration: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Ratio, "ratio")
		b.ReportMetric(res.CompletionsPerS, "completions/s")
	}
}
