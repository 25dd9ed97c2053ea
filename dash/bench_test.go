package dash

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"tabler1/episode"
	"tabler1/sandbox/execution"
	"tabler1/trainer"
)

// largeRun writes a run directory of `steps` steps whose rollout logs add up
// to about `bytes`: a metrics line per step with ~45 metrics, and the same
// step file (64 samples with long prompts, programs and outputs) written
// once per step.
func largeRun(b *testing.B, dir string, steps int, total int64) {
	b.Helper()
	var ml bytes.Buffer
	for s := 1; s <= steps; s++ {
		m := trainer.StepMetrics{Step: s, Stage: trainer.StageGRPO, StageStep: s, Loss: 1 / float64(s), RewardMean: float64(s%100) / 100,
			Rewards: map[string]float64{"format": 0.2, "compile": 0.2, "execution": 0.1, "answer": 0.3}, Extra: map[string]float64{}}
		if s%50 == 0 {
			m.Extra["eval/wtq/test/accuracy"] = float64(s) / float64(steps)
		}
		line, _ := json.Marshal(m)
		ml.Write(line)
		ml.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), ml.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	per := total / int64(steps)
	var sb bytes.Buffer
	pad := string(bytes.Repeat([]byte("x|"), 1500))
	enc := json.NewEncoder(&sb)
	for i := 0; int64(sb.Len()) < per; i++ {
		s := episode.Episode{ID: strconv.Itoa(i), Group: i / 8, ItemID: "item", Prompt: "a|b\n" + pad + "\nQ: ?"}
		s.Paradigm, s.Code, s.Text = episode.ParadigmProgram, "print(df['a'].sum())", "```python\nprint(df['a'].sum())\n```"
		s.Exec = &execution.Result{Status: execution.StatusOK, Stdout: "3\n"}
		s.Total, s.Components = float64(i%4)/4, episode.Components{Format: 0.2}
		_ = enc.Encode(s)
	}
	os.MkdirAll(filepath.Join(dir, "rollouts"), 0o755)
	for s := 1; s <= steps; s++ {
		if err := os.WriteFile(rolloutPath(dir, s), sb.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeRun serves a run of 10,000 steps and ~2 GB of rollouts
// (TABLER1_DASH_BENCH_MB sets the size) and reports the time from a cold
// server to the first page a browser needs (runs, every metric of every
// step, the steps with rollouts, the first page of a step's samples and one
// sample) and the server's heap after it.
func BenchmarkLargeRun(b *testing.B) {
	mb := int64(2048)
	if v, err := strconv.ParseInt(os.Getenv("TABLER1_DASH_BENCH_MB"), 10, 64); err == nil {
		mb = v
	}
	const steps = 10000
	dir := b.TempDir()
	start := time.Now()
	largeRun(b, dir, steps, mb<<20)
	b.Logf("wrote %d steps, %d MB of rollouts in %s", steps, mb, time.Since(start).Round(time.Millisecond))
	var firstPage, firstPageCPU, heap, metricsBytes float64
	for b.Loop() {
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		s, err := New([]string{dir}, "")
		if err != nil {
			b.Fatal(err)
		}
		t0, c0 := time.Now(), cpuTime()
		for _, u := range []string{"/api/runs", "/api/metrics?run=0&since=0", "/api/steps?run=0", "/api/rollouts?run=0&step=5000", "/api/sample?run=0&step=5000&i=0", "/app.js"} {
			tu := time.Now()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
			if rec.Code != 200 {
				b.Fatalf("%s: %d %s", u, rec.Code, rec.Body.String())
			}
			b.Logf("%s: %s, %d bytes", u, time.Since(tu).Round(time.Microsecond), rec.Body.Len())
			if u == "/api/metrics?run=0&since=0" {
				metricsBytes = float64(rec.Body.Len())
			}
		}
		firstPage = float64(time.Since(t0).Microseconds()) / 1000
		firstPageCPU = float64((cpuTime() - c0).Microseconds()) / 1000
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		heap = float64(m1.HeapAlloc-min(m0.HeapAlloc, m1.HeapAlloc)) / (1 << 20)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(firstPage, "ms-first-page")
	b.ReportMetric(firstPageCPU, "ms-first-page-cpu")
	b.ReportMetric(heap, "MB-heap")
	b.ReportMetric(metricsBytes/(1<<20), "MB-metrics-json")
	b.Logf("first page %.1f ms (%.1f ms of CPU), server heap %.1f MB, all metrics %.1f MB of JSON", firstPage, firstPageCPU, heap, metricsBytes/(1<<20))
}

// cpuTime is the process's user and system CPU time: on a loaded machine
// it tells the server's work from the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
