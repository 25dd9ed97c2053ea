package tensorboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// event is a decoded tensorflow.Event (the fields Writer writes).
type event struct {
	wall    float64
	step    int64
	version string
	values  map[string]float32
}

// readRecords splits a TFRecord stream and checks both checksums of each.
func readRecords(b []byte) ([][]byte, error) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 12 {
			return out, fmt.Errorf("truncated header: %d bytes", len(b))
		}
		n := binary.LittleEndian.Uint64(b[:8])
		if got, want := binary.LittleEndian.Uint32(b[8:12]), maskedCRC(tab, b[:8]); got != want {
			return out, fmt.Errorf("length crc %08x, want %08x", got, want)
		}
		if n > uint64(len(b)-12) || uint64(len(b)-12)-n < 4 {
			return out, fmt.Errorf("record of %d bytes, %d left", n, len(b)-12)
		}
		data := b[12 : 12+n]
		if got, want := binary.LittleEndian.Uint32(b[12+n:16+n]), maskedCRC(tab, data); got != want {
			return out, fmt.Errorf("data crc %08x, want %08x", got, want)
		}
		out = append(out, data)
		b = b[16+n:]
	}
	return out, nil
}

func decodeEvent(b []byte) (event, error) {
	ev := event{values: map[string]float32{}}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ev, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == eventWallTime && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return ev, protowire.ParseError(n)
			}
			ev.wall, b = math.Float64frombits(v), b[n:]
		case num == eventStep && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return ev, protowire.ParseError(n)
			}
			ev.step, b = int64(v), b[n:]
		case num == eventFileVersion && typ == protowire.BytesType:
			v, n := protowire.ConsumeString(b)
			if n < 0 {
				return ev, protowire.ParseError(n)
			}
			ev.version, b = v, b[n:]
		case num == eventSummary && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ev, protowire.ParseError(n)
			}
			if err := decodeSummary(v, ev.values); err != nil {
				return ev, err
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ev, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return ev, nil
}

func decodeSummary(b []byte, into map[string]float32) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != summaryValue || typ != protowire.BytesType {
			return errors.New("summary: want only values")
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[n+m:]
		var tag string
		var val float32
		for len(v) > 0 {
			num, typ, n := protowire.ConsumeTag(v)
			if n < 0 {
				return protowire.ParseError(n)
			}
			v = v[n:]
			switch {
			case num == valueTag && typ == protowire.BytesType:
				s, n := protowire.ConsumeString(v)
				if n < 0 {
					return protowire.ParseError(n)
				}
				tag, v = s, v[n:]
			case num == valueSimpleValue && typ == protowire.Fixed32Type:
				x, n := protowire.ConsumeFixed32(v)
				if n < 0 {
					return protowire.ParseError(n)
				}
				val, v = math.Float32frombits(x), v[n:]
			default:
				return fmt.Errorf("summary value: unexpected field %d", num)
			}
		}
		into[tag] = val
	}
	return nil
}

func TestMaskedCRC(t *testing.T) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	// CRC32C("123456789") is the standard check value 0xe3069283.
	if c := crc32.Checksum([]byte("123456789"), tab); c != 0xe3069283 {
		t.Fatalf("crc32c = %08x", c)
	}
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"123456789", 0xc78ab0e5},
		{"", 0xa282ead8},
	} {
		if got := maskedCRC(tab, []byte(tc.in)); got != tc.want {
			t.Errorf("maskedCRC(%q) = %08x, want %08x", tc.in, got, tc.want)
		}
	}
}

func TestWriterEvents(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000000, 500_000_000)
	w, err := Create(dir, t0, "host")
	if err != nil {
		t.Fatal(err)
	}
	steps := []map[string]float64{
		{"actor/loss": 2.5, "critic/score/mean": 0.25, "eval/wtq/test/accuracy": 0.125},
		{"actor/loss": 1.5, "critic/score/mean": 0.5},
	}
	for i, v := range steps {
		if err := w.Scalars(t0.Add(time.Duration(i+1)*time.Second), int64(i+1), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(w.Path()), "events.out.tfevents.1700000000.host") {
		t.Errorf("file name %s", w.Path())
	}
	b, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	first, err := decodeEvent(recs[0])
	if err != nil || first.version != FileVersion || first.wall != 1700000000.5 {
		t.Fatalf("first event %+v %v", first, err)
	}
	for i, want := range steps {
		ev, err := decodeEvent(recs[i+1])
		if err != nil {
			t.Fatal(err)
		}
		if ev.step != int64(i+1) || len(ev.values) != len(want) {
			t.Errorf("event %d: %+v", i+1, ev)
		}
		for k, v := range want {
			if ev.values[k] != float32(v) {
				t.Errorf("step %d %s = %v, want %v", i+1, k, ev.values[k], v)
			}
		}
	}
	// A corrupted byte fails a checksum.
	bad := bytes.Clone(b)
	bad[len(bad)-6] ^= 1
	if _, err := readRecords(bad); err == nil {
		t.Error("a corrupted record passed its checksum")
	}
	// A second writer in the same second gets a file of its own.
	w2, err := Create(dir, t0, "host")
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if w2.Path() == w.Path() {
		t.Error("two writers share a file")
	}
}

// TensorBoard's own reader, where it is installed, reads the same values.
func TestTensorBoardReads(t *testing.T) {
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import tensorboard").Run(); err != nil {
		t.Skipf("TensorBoard is not installed for %s (import tensorboard failed: %v); the Go decoder test checks the format", py, err)
	}
	dir := t.TempDir()
	w, err := Create(dir, time.Unix(1700000000, 0), "host")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(time.Unix(1700000001, 0), 3, map[string]float64{"actor/loss": 0.75, "eval/wtq/test/accuracy": 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from tensorboard.backend.event_processing import event_accumulator
acc = event_accumulator.EventAccumulator(sys.argv[1])
acc.Reload()
for tag in sorted(acc.Tags()["scalars"]):
    for e in acc.Scalars(tag):
        print(tag, e.step, e.value)
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("tensorboard reader: %v\n%s", err, out)
	}
	want := "actor/loss 3 0.75\neval/wtq/test/accuracy 3 0.5\n"
	if string(out) != want {
		t.Errorf("tensorboard read:\n%s\nwant:\n%s", out, want)
	}
}

func FuzzReadRecords(f *testing.F) {
	dir := f.TempDir()
	w, err := Create(dir, time.Unix(1, 0), "h")
	if err != nil {
		f.Fatal(err)
	}
	_ = w.Scalars(time.Unix(2, 0), 1, map[string]float64{"a/b": 1})
	_ = w.Close()
	b, _ := os.ReadFile(w.Path())
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := readRecords(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			_, _ = decodeEvent(r)
		}
	})
}
