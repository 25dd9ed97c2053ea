package trainer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
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
