package trainer

import (
	"go.uber.org/zap"

	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"tabler1/grpo"
)

func TestStepMetricsNames(t *testing.T) {
	m := StepMetrics{
		Step: 7, Stage: StageGRPO, StageStep: 2, Loss: 0.5, RewardMean: 1.25, Entropy: 0.75, ClipFraction: 0.1,
		CompletionLen: 40, Truncated: 0.25, StepSeconds: 3,
		Rewards:  map[string]float64{"format": 0.5, "answer": 0.75},
		Fallback: &grpo.FallbackStats{TextRate: 0.5, Rescued: 2},
		Extra:    map[string]float64{"eval/wtq/test/accuracy": 0.375},
		Items:    []string{"a"},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "\n") != 0 {
		t.Fatalf("a metrics line spans lines: %s", b)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want any
	}{
		{"step", 7.0},
		{"stage", StageGRPO},
		{"actor/loss", 0.5},
		{"actor/entropy", 0.75},
		{"actor/pg_clipfrac", 0.1},
		{"critic/score/mean", 1.25},
		{"critic/rewards/format/mean", 0.5},
		{"critic/rewards/answer/mean", 0.75},
		{"response_length/mean", 40.0},
		{"response_length/clip_ratio", 0.25},
		{"timing_s/step", 3.0},
		{"fallback/text_rate", 0.5},
		{"fallback/rescued", 2.0},
		{"eval/wtq/test/accuracy", 0.375},
	} {
		if got := obj[tc.name]; got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	for k, v := range obj {
		if _, nested := v.(map[string]any); nested {
			t.Errorf("%s is a nested object; metrics.jsonl is flat", k)
		}
	}
	sc, err := m.Scalars()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sc["step"]; ok {
		t.Error("Scalars has step")
	}
	if sc["eval/wtq/test/accuracy"] != 0.375 || sc["actor/entropy"] != 0.75 || sc["critic/rewards/answer/mean"] != 0.75 {
		t.Errorf("Scalars = %v", sc)
	}
	for k := range sc {
		if !strings.Contains(k, "/") {
			t.Errorf("Scalars has %q, not a /-grouped metric", k)
		}
	}
}

func TestStepMetricsExtraClash(t *testing.T) {
	m := StepMetrics{Extra: map[string]float64{"actor/loss": 1}}
	if _, err := json.Marshal(m); err == nil {
		t.Fatal("an extra metric named like a field was written")
	}
}

// Property: what MarshalJSON writes, UnmarshalJSON reads back unchanged.
func TestStepMetricsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fin := rapid.Float64Range(-1e6, 1e6)
		name := rapid.StringMatching(`[a-z_]{1,8}`)
		m := StepMetrics{
			Step: rapid.IntRange(0, 1e6).Draw(t, "step"), Stage: rapid.SampledFrom([]string{StageSFT, StageGRPO}).Draw(t, "stage"),
			Loss: fin.Draw(t, "loss"), RewardMean: fin.Draw(t, "reward"), Entropy: fin.Draw(t, "entropy"),
			Groups: rapid.IntRange(0, 100).Draw(t, "groups"),
			Items:  rapid.SliceOf(name).Draw(t, "items"),
		}
		if rapid.Bool().Draw(t, "rewards") {
			m.Rewards = rapid.MapOfN(name, fin, 1, 4).Draw(t, "components")
		}
		if rapid.Bool().Draw(t, "fallback") {
			m.Fallback = &grpo.FallbackStats{TextRate: fin.Draw(t, "text_rate"), Missed: rapid.IntRange(0, 9).Draw(t, "missed")}
		}
		if rapid.Bool().Draw(t, "extra") {
			m.Extra = map[string]float64{"eval/" + name.Draw(t, "bench") + "/test/accuracy": fin.Draw(t, "acc")}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back StepMetrics
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip:\n%+v\n%+v\n%s", m, back, b)
		}
	})
}

func TestMetricsLogTensorBoard(t *testing.T) {
	for _, tb := range []bool{true, false} {
		dir := t.TempDir()
		l, err := openMetrics(dir, -1, false, tb, time.Unix(1700000000, 0), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= 2; step++ {
			if err := l.write(StepMetrics{Step: step, Stage: StageSFT, Loss: 1 / float64(step)}, nil, time.Unix(1700000000+int64(step), 0)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, TensorBoardDir, "events.out.tfevents.*"))
		if tb != (len(files) == 1) {
			t.Fatalf("tensorboard %v: event files %v", tb, files)
		}
		if tb {
			// The file_version event and one event per step, each well over
			// the 16 bytes of TFRecord framing.
			if fi, err := os.Stat(files[0]); err != nil || fi.Size() < 3*16+40 {
				t.Errorf("event file %v %v", fi, err)
			}
		}
		ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
		if err != nil || len(ms) != 2 || ms[1].Loss != 0.5 {
			t.Errorf("metrics %+v %v", ms, err)
		}
	}
}

func TestReadMetricsOldNames(t *testing.T) {
	_, err := decodeMetrics(strings.NewReader(`{"step":1,"loss":2,"rewards":{"format":1}}`+"\n"), "m.jsonl")
	if err == nil || !strings.Contains(err.Error(), "m.jsonl:1") || !strings.Contains(err.Error(), "rewards") {
		t.Fatalf("old-format line: %v", err)
	}
}
