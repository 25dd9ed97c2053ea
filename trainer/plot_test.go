package trainer

import (
	"os"
	"path/filepath"
	"testing"
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
	if _, err := Plot(filepath.Join(dir, "missing")); err == nil {
		t.Error("Plot of a missing run directory succeeded")
	}
}
