package layouts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUniformTablesLoadInPandas feeds a quarter of the HiTab and AIT-QA dev
// tables to the pandas bridge (frame.py) and checks that the DataFrame has
// the table's shape, one column level per header level, and the same cells
// after dump_table.
func TestUniformTablesLoadInPandas(t *testing.T) {
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import pandas: %v (run scripts/setup.sh)", py, err)
		}
		t.Skipf("%s cannot import pandas (%v); run scripts/setup.sh", py, err)
	}
	var in bytes.Buffer
	var tables []*Table
	for _, b := range []string{"hitab", "aitqa"} {
		all, err := ReadJSONLTables(openShared(t, b+".dev.jsonl"), b)
		if err != nil {
			t.Fatal(err)
		}
		for i, tb := range all {
			if i%4 != 0 { // a quarter of them keeps the test quick
				continue
			}
			line, _ := json.Marshal(tb)
			in.Write(line)
			in.WriteByte('\n')
			tables = append(tables, tb)
		}
	}
	script := PandasBridge + `
import json, sys
for line in sys.stdin:
    df, raw = load_table(json.loads(line))
    back = dump_table(raw)
    print(json.dumps([df.columns.nlevels, df.shape[0], df.shape[1], back]))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(tables) {
		t.Fatalf("%d results for %d tables", len(lines), len(tables))
	}
	for i, l := range lines {
		var res []json.RawMessage
		if err := json.Unmarshal([]byte(l), &res); err != nil || len(res) != 4 {
			t.Fatalf("table %d: bad result %q", i, l)
		}
		var levels, rows, cols int
		_ = json.Unmarshal(res[0], &levels)
		_ = json.Unmarshal(res[1], &rows)
		_ = json.Unmarshal(res[2], &cols)
		tb := tables[i]
		if levels != tb.Levels() || rows != tb.NumRows() || cols != tb.NumCols() {
			t.Fatalf("table %d: pandas has %d levels, %d x %d; table has %d levels, %d x %d", i, levels, rows, cols, tb.Levels(), tb.NumRows(), tb.NumCols())
		}
		var back Table
		if err := json.Unmarshal(res[3], &back); err != nil {
			t.Fatal(err)
		}
		if !exactGrid(back.Header, tb.Header) || !exactGrid(back.Rows, tb.Rows) {
			t.Fatalf("table %d: dump_table(raw) differs: %s", i, fmt.Sprint(back.Header))
		}
	}
}
