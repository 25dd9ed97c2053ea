package model

import (
	"tabler1/grpo"

	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTrainerResumeIsExact trains two steps, saves, trains a third; a
// trainer loaded from the save must reach bit-identical weights.
func TestTrainerResumeIsExact(t *testing.T) {
	m, err := New(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	r := rand.New(rand.NewPCG(1, 2))
	batches := [][]Sequence{randomBatch(r, 3), randomBatch(r, 3), randomBatch(r, 3)}
	loss := Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, KLCoef: 0.1}}
	opt := DefaultOptimConfig()
	opt.WarmupSteps, opt.Schedule, opt.TotalSteps = 1, "cosine", 5
	ctx := context.Background()
	step := func(tr *Trainer, b []Sequence) {
		t.Helper()
		if _, err := tr.ForwardBackward(ctx, b, loss); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.OptimStep(ctx, opt); err != nil {
			t.Fatal(err)
		}
	}
	step(tr, batches[0])
	step(tr, batches[1])
	dir := t.TempDir()
	if err := tr.Save(dir); err != nil {
		t.Fatal(err)
	}
	step(tr, batches[2])
	tr2, err := LoadTrainer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr2.Step() != 2 {
		t.Fatalf("resumed at step %d, want 2", tr2.Step())
	}
	step(tr2, batches[2])
	if !slices.Equal(tr.model.w.flat, tr2.model.w.flat) {
		t.Fatal("resumed training diverged from uninterrupted training")
	}
	if !slices.Equal(tr.ref.w.flat, tr2.ref.w.flat) {
		t.Fatal("reference weights differ after resume")
	}
	m2, err := Load(dir)
	if err != nil || m2.Config() != m.Config() {
		t.Fatalf("Load: %v, config %+v", err, m2.Config())
	}
}

func TestLoadRejectsBadCheckpoints(t *testing.T) {
	m, _ := New(tinyConfig(), 1)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	bigger := tinyConfig()
	bigger.Width = 16
	m2, _ := New(bigger, 1)
	other := t.TempDir()
	if err := m2.Save(other); err != nil {
		t.Fatal(err)
	}
	// Config of one model, weights of another: the shapes must not match.
	cfg, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := os.WriteFile(filepath.Join(other, ConfigFile), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(other); err == nil {
		t.Fatal("mismatched shapes loaded")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("empty directory loaded")
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	ts := map[string]Tensor{"a": {Shape: []int{2, 3}, Data: []float64{1, 2, 3, 4, 5, 6}}, "b": {Shape: []int{}, Data: []float64{7}}}
	b, err := EncodeSafetensors(ts, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Fatalf("data not 8-byte aligned: header %d", n)
	}
	got, meta, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" || !slices.Equal(got["a"].Data, ts["a"].Data) || !slices.Equal(got["a"].Shape, ts["a"].Shape) || got["b"].Data[0] != 7 {
		t.Fatalf("round trip: %v %v", got, meta)
	}
	if _, err := EncodeSafetensors(map[string]Tensor{"x": {Shape: []int{2}, Data: []float64{1}}}, nil); err == nil {
		t.Fatal("shape/data mismatch encoded")
	}
}

func TestDecodeSafetensorsRejects(t *testing.T) {
	hdr := func(h string, data int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(b, h...), make([]byte, data)...)
	}
	bad := map[string][]byte{
		"short":       {1, 2},
		"huge header": binary.LittleEndian.AppendUint64(nil, 1<<40),
		"not json":    hdr("{x", 0),
		"dtype":       hdr(`{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, 1),
		"past end":    hdr(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}`, 8),
		"size":        hdr(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, 16),
		"overlap":     hdr(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, 8),
		"neg shape":   hdr(`{"a":{"dtype":"F64","shape":[-1],"data_offsets":[0,0]}}`, 0),
		"bad meta":    hdr(`{"__metadata__":{"a":1}}`, 0),
	}
	for name, b := range bad {
		if _, _, err := DecodeSafetensors(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	good, _ := EncodeSafetensors(map[string]Tensor{"w": {Shape: []int{2}, Data: []float64{1, 2}}}, map[string]string{"step": "3"})
	f.Add(good)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := DecodeSafetensors(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same tensors.
		enc, err := EncodeSafetensors(ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := DecodeSafetensors(enc)
		if err != nil || len(again) != len(ts) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
