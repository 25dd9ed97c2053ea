package dash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
)

// metricsTail follows a metrics.jsonl: each read parses only the complete
// lines appended since the last one. Columns are kept (a few numbers per
// step and metric: 10,000 steps of 50 metrics is 4 MB).
type metricsTail struct {
	path string

	mu     sync.Mutex
	off    int64
	last   []byte // the last line read, to notice a rewritten file
	steps  []int
	stages []string
	names  []string
	series map[string][]float64
}

func (t *metricsTail) reset() {
	t.off, t.last, t.steps, t.stages, t.names, t.series = 0, nil, nil, nil, nil, map[string][]float64{}
}

// refresh reads what was appended since the last call. A file that shrank
// or whose last read line changed (a resume drops the steps after its
// checkpoint) is read again from the start.
func (t *metricsTail) refresh() (reset bool, err error) {
	if t.series == nil {
		t.reset()
	}
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		reset = t.off > 0
		t.reset()
		return reset, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if t.off > 0 {
		same := fi.Size() >= t.off
		if same && len(t.last) > 0 {
			buf := make([]byte, len(t.last))
			_, err := f.ReadAt(buf, t.off-int64(len(t.last)))
			same = err == nil && bytes.Equal(buf, t.last)
		}
		if !same {
			t.reset()
			reset = true
		}
	}
	if fi.Size() == t.off {
		return reset, nil
	}
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return reset, err
	}
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()-t.off))
	if err != nil {
		return reset, err
	}
	// Only complete lines: the writer may be half way through the last.
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return reset, nil
	}
	data = data[:end+1]
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data[:i]
		data = data[i+1:]
		t.off += int64(i + 1)
		t.last = append(t.last[:0], line...)
		t.last = append(t.last, '\n')
		t.add(line)
	}
	return reset, nil
}

// add appends one line's step; a line that is not a JSON object with a
// step is skipped (a torn write is not the dashboard's to repair).
func (t *metricsTail) add(line []byte) {
	var obj map[string]json.RawMessage
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &obj) != nil {
		return
	}
	step, err := strconv.Atoi(string(obj["step"]))
	if err != nil {
		return
	}
	var stage string
	_ = json.Unmarshal(obj["stage"], &stage)
	vals := map[string]float64{}
	for k, raw := range obj {
		if !notMetric(k) {
			flatten(k, raw, vals)
		}
	}
	n := len(t.steps)
	t.steps = append(t.steps, step)
	t.stages = append(t.stages, stage)
	for k, v := range vals {
		col, ok := t.series[k]
		if !ok {
			t.names = append(t.names, k)
			col = make([]float64, n, n+1)
			for i := range col {
				col[i] = math.NaN()
			}
		}
		t.series[k] = append(col, v)
	}
	for _, k := range t.names {
		if col := t.series[k]; len(col) == n {
			t.series[k] = append(col, math.NaN())
		}
	}
}

// notMetric says whether a top-level key describes a step rather than
// measures it.
func notMetric(k string) bool {
	return k == "step" || k == "stage_step" || k == "version"
}

// flatten collects the numbers of a metrics value by name: numbers as they
// are, nested objects (older metrics files) with "/"-joined names; strings,
// lists and booleans are not curves. Numbers are parsed without decoding the
// rest (the items list of every line).
func flatten(name string, raw json.RawMessage, out map[string]float64) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	switch c := raw[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		if v, err := strconv.ParseFloat(string(raw), 64); err == nil {
			out[name] = v
		}
	case c == '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			for k, v := range obj {
				flatten(name+"/"+k, v, out)
			}
		}
	}
}

// since returns, as JSON, the steps from row `from` on: {"rows": total,
// "from": from, "reset": bool, "steps": [...], "stages": [...], "series":
// {name: [value or null, ...]}}. After a reset the client reloads from 0.
func (t *metricsTail) since(from int) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	reset, err := t.refresh()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.path, err)
	}
	if reset || from < 0 || from > len(t.steps) {
		from = 0
		reset = true
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"rows":%d,"from":%d,"reset":%t,"steps":`, len(t.steps), from, reset)
	sb, _ := json.Marshal(t.steps[from:])
	b.Write(sb)
	b.WriteString(`,"stages":`)
	gb, _ := json.Marshal(t.stages[from:])
	b.Write(gb)
	b.WriteString(`,"series":{`)
	names := slices.Clone(t.names)
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteString(":[")
		for j, v := range t.series[k][from:] {
			if j > 0 {
				b.WriteByte(',')
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b.WriteString("null")
			} else {
				b.WriteString(strconv.FormatFloat(v, 'g', 7, 64))
			}
		}
		b.WriteByte(']')
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}
