package tensorboard

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of tensorflow.Event, Summary and Summary.Value
// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto).
const (
	eventWallTime    protowire.Number = 1
	eventStep        protowire.Number = 2
	eventFileVersion protowire.Number = 3
	eventSummary     protowire.Number = 5
	summaryValue     protowire.Number = 1
	valueTag         protowire.Number = 1
	valueSimpleValue protowire.Number = 2
)

// FileVersion is the version string of the first event of a file.
const FileVersion = "brain.Event:2"

// Writer appends events to one event file. It is not safe for concurrent
// use.
type Writer struct {
	f    *os.File
	w    *bufio.Writer
	crc  *crc32.Table
	path string
}

// Create starts a new event file in dir (created if needed), named as
// TensorBoard expects (events.out.tfevents.<unix seconds>.<host>), and
// writes its file_version event stamped with now.
func Create(dir string, now time.Time, host string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%d.%s", now.Unix(), host))
	// O_EXCL: a second writer within the same second must not interleave
	// records into this file.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	for i := 1; err != nil && os.IsExist(err) && i < 100; i++ {
		path = filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%d.%s.%d", now.Unix(), host, i))
		f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorboard: creating an event file in %s: %w", dir, err)
	}
	w := &Writer{f: f, w: bufio.NewWriter(f), crc: crc32.MakeTable(crc32.Castagnoli), path: path}
	ev := appendWallTime(nil, now)
	ev = protowire.AppendTag(ev, eventFileVersion, protowire.BytesType)
	ev = protowire.AppendString(ev, FileVersion)
	if err := w.record(ev); err != nil {
		f.Close()
		return nil, err
	}
	return w, w.Flush()
}

// Path is the event file's path.
func (w *Writer) Path() string { return w.path }

// Scalars writes one event at step holding a simple_value per name (in
// name order). TensorBoard stores float32: values are rounded to it. NaN
// and infinities are written as they are (TensorBoard shows them).
func (w *Writer) Scalars(wall time.Time, step int64, values map[string]float64) error {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	var sum []byte
	for _, k := range names {
		var v []byte
		v = protowire.AppendTag(v, valueTag, protowire.BytesType)
		v = protowire.AppendString(v, k)
		v = protowire.AppendTag(v, valueSimpleValue, protowire.Fixed32Type)
		v = protowire.AppendFixed32(v, math.Float32bits(float32(values[k])))
		sum = protowire.AppendTag(sum, summaryValue, protowire.BytesType)
		sum = protowire.AppendBytes(sum, v)
	}
	ev := appendWallTime(nil, wall)
	ev = protowire.AppendTag(ev, eventStep, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, eventSummary, protowire.BytesType)
	ev = protowire.AppendBytes(ev, sum)
	return w.record(ev)
}

// Flush writes buffered events to the file, for readers of a live run.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("tensorboard: writing %s: %w", w.path, err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("tensorboard: closing %s: %w", w.path, cerr)
	}
	return err
}

func appendWallTime(b []byte, t time.Time) []byte {
	b = protowire.AppendTag(b, eventWallTime, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(float64(t.UnixNano())/1e9))
}

// record writes data as one TFRecord.
func (w *Writer) record(data []byte) error {
	var hdr [12]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], maskedCRC(w.crc, hdr[:8]))
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], maskedCRC(w.crc, data))
	for _, b := range [][]byte{hdr[:], data, tail[:]} {
		if _, err := w.w.Write(b); err != nil {
			return fmt.Errorf("tensorboard: writing %s: %w", w.path, err)
		}
	}
	return nil
}

// maskedCRC is TFRecord's masked CRC32C: the checksum rotated right by 15
// bits plus a constant, so that a CRC of data holding CRCs stays strong.
func maskedCRC(tab *crc32.Table, b []byte) uint32 {
	c := crc32.Checksum(b, tab)
	return (c>>15 | c<<17) + 0xa282ead8
}
