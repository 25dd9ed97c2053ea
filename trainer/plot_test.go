package trainer

import (
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/vgimg"
)

func TestPlotWritesPNGs(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 0); err != nil {
		t.Fatal(err)
	}
	files, err := Plot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Errorf("plots: %v, want at least 6", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
			t.Errorf("%s: not a PNG (%d bytes, %v)", f, len(b), err)
		}
	}
	// An asynchronous run also plots its off-policy lag.
	adir := t.TempDir()
	ahead := func(step int, gen *countingGen) error {
		// Hold step 1 until steps 2-4 are generated on its weights.
		deadline := time.Now().Add(10 * time.Second)
		for step == 1 && gen.calls.Load() < 4*2 {
			if time.Now().After(deadline) {
				return errors.New("the pipeline never ran 2 steps ahead")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}
	if err := runAsync(t, adir, "      enable: true\n      staleness: 1\n      max_ahead: 2\n", false, ahead); err != nil {
		t.Fatal(err)
	}
	afiles, err := Plot(adir)
	if err != nil || !slices.Contains(afiles, filepath.Join(adir, "plots", "staleness.png")) {
		t.Errorf("plots of an async run: %v, %v; want staleness.png", afiles, err)
	}
	if _, err := Plot(filepath.Join(dir, "missing")); err == nil {
		t.Error("Plot of a missing run directory succeeded")
	}
}

// The moving average is the identity at weight 0, keeps a constant curve
// constant (debiased: no pull towards 0 at the start) and restarts at a
// stage change.
func TestSmooth(t *testing.T) {
	xy := func(ys ...float64) plotter.XYs {
		out := make(plotter.XYs, len(ys))
		for i, y := range ys {
			out[i] = plotter.XY{X: float64(i + 1), Y: y}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		ys     []float64
		stages []string
		w      float64
		want   []float64
	}{
		{"identity", []float64{1, 5, 2}, []string{"a", "a", "a"}, 0, []float64{1, 5, 2}},
		{"constant", []float64{3, 3, 3, 3}, []string{"a", "a", "a", "a"}, 0.9, []float64{3, 3, 3, 3}},
		{"restart at a stage", []float64{4, 4, 1, 1}, []string{"sft", "sft", "grpo", "grpo"}, 0.8, []float64{4, 4, 1, 1}},
		{"average", []float64{0, 2}, []string{"a", "a"}, 0.5, []float64{0, 4.0 / 3}},
	} {
		got := smooth(xy(tc.ys...), tc.stages, tc.w)
		for i := range got {
			if math.Abs(got[i].Y-tc.want[i]) > 1e-12 || got[i].X != float64(i+1) {
				t.Errorf("%s: point %d = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

// A run with SFT and GRPO stages plots their losses on two axes: loss.png
// is two panels tall.
func TestPlotLossPanels(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Plot(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "plots", "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	dpi := vgimg.DefaultDPI
	if want := int(2 * panelHeight.Dots(float64(dpi))); cfg.Height != want {
		t.Errorf("loss.png is %d px tall, want %d (an SFT and a GRPO panel)", cfg.Height, want)
	}
}
