package layouts

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ReadFile reads the table in the file at path, choosing the reader by the
// file's extension:
//
//	.csv          RFC 4180 CSV; if that fails on a quote and the file has
//	              `\"` in it, WikiTableQuestions' backslash-escaped style
//	.html.csv     TabFact's all_csv files: '#'-separated, no quoting
//	.tsv          WikiTableQuestions' TSV (tabs, `\n` `\p` `\\` escapes)
//	.md .markdown the first markdown pipe table
//	.html .htm    the first HTML <table>
//	.json         JSON records, pandas split, or a Table / UniformTable
//	.jsonl        the "table" of the first line
//
// Errors are *ReadErrors naming path.
func ReadFile(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lower := strings.ToLower(path)
	switch ext := filepath.Ext(lower); {
	case strings.HasSuffix(lower, ".html.csv"):
		return ReadCSV(bytes.NewReader(data), path, CSVOptions{Dialect: PlainSplit, Comma: '#'})
	case ext == ".csv":
		t, err := ReadCSV(bytes.NewReader(data), path, CSVOptions{})
		quoteErr := errors.Is(err, csv.ErrQuote) || errors.Is(err, csv.ErrBareQuote)
		if quoteErr && bytes.Contains(data, []byte(`\"`)) {
			if t2, err2 := ReadCSV(bytes.NewReader(data), path, CSVOptions{Dialect: WTQCSV}); err2 == nil {
				return t2, nil
			}
		}
		return t, err
	case ext == ".tsv":
		return ReadCSV(bytes.NewReader(data), path, CSVOptions{Dialect: WTQTSV})
	case ext == ".md" || ext == ".markdown":
		return ReadMarkdown(bytes.NewReader(data), path)
	case ext == ".html" || ext == ".htm":
		return ReadHTML(bytes.NewReader(data), path)
	case ext == ".json":
		return ReadJSONRecords(bytes.NewReader(data), path)
	case ext == ".jsonl":
		return firstJSONLTable(bytes.NewReader(data), path)
	default:
		return nil, fmt.Errorf("%s: unknown table file extension %q; want .csv, .tsv, .md, .html, .json or .jsonl", path, filepath.Ext(path))
	}
}

func firstJSONLTable(r io.Reader, name string) (*Table, error) {
	var t *Table
	err := scanJSONL(r, name, func(line int, b []byte) (bool, error) {
		var err error
		t, err = jsonlTable(b)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, readErr(name, 0, "empty file: no JSONL record")
	}
	return t, nil
}
