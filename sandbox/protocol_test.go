package sandbox

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"pgregory.net/rapid"

	"tabler1/sandbox/execution"
)

func TestFrameRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := event{Event: "done", ID: rapid.Uint64().Draw(t, "id"), Status: execution.StatusRuntimeError,
			Stdout: rapid.String().Draw(t, "stdout"), Stderr: rapid.String().Draw(t, "stderr"),
			ErrorLine: rapid.IntRange(0, 1<<20).Draw(t, "line")}
		var buf bytes.Buffer
		if err := writeFrame(&buf, in); err != nil {
			t.Fatal(err)
		}
		var out event
		if err := readFrame(&buf, &out); err != nil {
			t.Fatal(err)
		}
		if out.ID != in.ID || out.Stdout != in.Stdout || out.Stderr != in.Stderr || out.ErrorLine != in.ErrorLine {
			t.Fatalf("round trip changed the event: %+v -> %+v", in, out)
		}
	})
}

func TestReadFrameRejects(t *testing.T) {
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, maxFrame+1)
	tests := map[string][]byte{
		"empty":          {},
		"short head":     {0, 0},
		"short body":     {0, 0, 0, 5, '{'},
		"over the limit": huge,
		"not JSON":       {0, 0, 0, 3, 'a', 'b', 'c'},
	}
	for name, data := range tests {
		var ev event
		if err := readFrame(bytes.NewReader(data), &ev); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	writeFrame(&buf, event{Event: "done", Status: execution.StatusOK, Stdout: "1\n"})
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev event
		if err := readFrame(bytes.NewReader(data), &ev); err == nil {
			_ = ev.result() // must not panic whatever the status
		}
	})
}

func TestLimitsOrDefault(t *testing.T) {
	d := DefaultLimits()
	tests := []struct {
		name string
		in   execution.Limits
		want execution.Limits
	}{
		{"zero takes defaults", execution.Limits{}, d},
		{"wall only: CPU follows the default, capped by the wall", execution.Limits{Wall: time.Second},
			execution.Limits{Wall: time.Second, CPU: time.Second, MemoryBytes: d.MemoryBytes, OutputBytes: d.OutputBytes, FileBytes: d.FileBytes, OpenFiles: d.OpenFiles}},
		{"explicit values stay", execution.Limits{Wall: 3 * time.Second, CPU: 2 * time.Second, MemoryBytes: 5, OutputBytes: 6, FileBytes: 7, OpenFiles: 8},
			execution.Limits{Wall: 3 * time.Second, CPU: 2 * time.Second, MemoryBytes: 5, OutputBytes: 6, FileBytes: 7, OpenFiles: 8}},
		{"negatives take defaults", execution.Limits{Wall: -1, MemoryBytes: -1}, d},
	}
	for _, tc := range tests {
		if got := tc.in.OrDefault(d); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		l := execution.Limits{Wall: time.Duration(rapid.Int64Range(-5, 1e11).Draw(t, "wall")), CPU: time.Duration(rapid.Int64Range(-5, 1e11).Draw(t, "cpu"))}
		got := l.OrDefault(d)
		w := wire(got)
		if got.Wall <= 0 || got.CPU <= 0 || got.MemoryBytes <= 0 || w.WallMS < 1 || w.CPUMS < 1 {
			t.Fatalf("non-positive limit: %+v %+v", got, w)
		}
		if l.CPU <= 0 && got.CPU > got.Wall {
			t.Fatalf("defaulted CPU %v over the wall %v", got.CPU, got.Wall)
		}
	})
}
