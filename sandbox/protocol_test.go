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
		out, err := readEvent(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if out.ID != in.ID || out.Stdout != in.Stdout || out.Stderr != in.Stderr || out.ErrorLine != in.ErrorLine {
			t.Fatalf("round trip changed the event: %+v -> %+v", in, out)
		}
	})
}

func TestReadEventRejects(t *testing.T) {
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, maxFrame+1)
	tests := map[string][]byte{
		"empty":          {},
		"short head":     {0, 0},
		"short body":     {0, 0, 0, 5, '{'},
		"over the limit": huge,
		"not JSON":       {0, 0, 0, 3, 'a', 'b', 'c'},
		"a bad ready":    frame(`{"event": "ready", "base_vm": "x"}`),
		"a bad start":    frame(`{"event": "start", "id": 1, "pid": true}`),
	}
	for name, data := range tests {
		if _, err := readEvent(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// A done event whose fields do not decode is the job's runtime_error, with
// its id, so the worker stays in step (issue #14, item 5).
func TestReadEventUndecodableResultIsTheJobs(t *testing.T) {
	tests := map[string]string{
		"boolean line":       `{"event": "done", "id": 7, "status": "ok", "error_line": true}`,
		"huge line":          `{"event": "done", "id": 7, "status": "ok", "error_line": 123456789012345678901234567890}`,
		"table of numbers":   `{"event": "done", "id": 7, "status": "ok", "table": {"header": [[1]], "rows": 5}}`,
		"retire still heard": `{"event": "done", "id": 7, "status": "ok", "wall_ns": "x", "retire": true}`,
	}
	for name, body := range tests {
		ev, err := readEvent(bytes.NewReader(frame(body)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.Event != "done" || ev.ID != 7 || ev.Status != execution.StatusRuntimeError || ev.Detail == "" {
			t.Errorf("%s: %+v, want done 7 runtime_error with a detail", name, ev)
		}
		if ev.Retire != (name == "retire still heard") {
			t.Errorf("%s: retire %v", name, ev.Retire)
		}
	}
}

func FuzzReadEvent(f *testing.F) {
	var buf bytes.Buffer
	writeFrame(&buf, event{Event: "done", Status: execution.StatusOK, Stdout: "1\n"})
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if ev, err := readEvent(bytes.NewReader(data)); err == nil {
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
