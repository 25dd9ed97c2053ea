package layouts

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"testing"
)

// benchTable is a 1000 x 10 table with a two-level header.
func benchTable() *Table {
	t := &Table{Header: [][]string{make([]string, 10), make([]string, 10)}}
	for c := range 10 {
		t.Header[0][c] = fmt.Sprintf("group %d", c/3)
		t.Header[1][c] = fmt.Sprintf("col %d", c)
	}
	for r := range 1000 {
		row := make([]string, 10)
		for c := range row {
			row[c] = fmt.Sprintf("cell %d,%d", r, c)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// BenchmarkReaders reads one rendered 1000 x 10 table per format. The
// "baseline" sub-benchmark is encoding/csv alone on the same CSV text, so
// the others can be read as ratios against it:
//
//	go test ./layouts/ -run '^$' -bench BenchmarkReaders -benchmem
func BenchmarkReaders(b *testing.B) {
	t := benchTable()
	csvText := []byte(t.CSV())
	var jsonText bytes.Buffer
	_ = t.Render(&jsonText, FormatJSON)
	cases := []struct {
		name string
		data []byte
		read func([]byte) error
	}{
		{"baseline-encoding-csv", csvText, func(d []byte) error {
			_, err := csv.NewReader(bytes.NewReader(d)).ReadAll()
			return err
		}},
		{"csv", csvText, func(d []byte) error {
			_, err := ReadCSV(bytes.NewReader(d), "b", CSVOptions{HeaderLevels: 2})
			return err
		}},
		{"markdown", []byte(t.Markdown()), func(d []byte) error {
			_, err := ReadMarkdown(bytes.NewReader(d), "b")
			return err
		}},
		{"html", []byte(t.HTML()), func(d []byte) error {
			_, err := ReadHTML(bytes.NewReader(d), "b")
			return err
		}},
		{"json", jsonText.Bytes(), func(d []byte) error {
			_, err := ReadJSONRecords(bytes.NewReader(d), "b")
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := c.read(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
