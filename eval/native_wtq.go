package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tabler1/layouts"
)

// wtqList splits a "|"-joined WTQ list and unescapes each item.
func wtqList(s string) []string {
	parts := strings.Split(s, "|")
	for i := range parts {
		parts[i] = layouts.UnescapeWTQ(parts[i])
	}
	return parts
}

// readTSV reads a TSV file with a header line into records keyed by column.
func readTSV(path string) ([]map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil, fmt.Errorf("%s: empty file, want a header line", path)
	}
	cols := strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
	var out []map[string]string
	for i, l := range lines[1:] {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) > len(cols) {
			return nil, fmt.Errorf("%s:%d: %d fields, the header has %d", path, i+2, len(f), len(cols))
		}
		rec := map[string]string{}
		for j, c := range cols {
			if j < len(f) {
				rec[c] = f[j]
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// wtqTable reads a table's .tsv file (the WTQ escapes undone; first row is
// the header).
func wtqTable(root, context string) (layouts.UniformTable, error) {
	path := joinPath(root, strings.TrimSuffix(context, ".csv")+".tsv")
	b, err := os.ReadFile(path)
	if err != nil {
		return layouts.UniformTable{}, err
	}
	var grid [][]string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Split(strings.TrimRight(l, "\r"), "\t")
		for i := range f {
			f[i] = layouts.UnescapeWTQ(f[i])
		}
		grid = append(grid, f)
	}
	if len(grid) == 0 {
		return layouts.UniformTable{}, fmt.Errorf("%s: empty table", path)
	}
	return layouts.UniformTable{Header: grid[0], Rows: grid[1:]}, nil
}

// loadWTQ reads data/<split>.tsv, the gold canonical values from the
// tagged/data/*.tagged files where they hold the question (without them
// each gold item is its own canonical form), and each table's .tsv.
func loadWTQ(root, split string) ([]Example, error) {
	qs, err := readTSV(joinPath(root, "data", split+".tsv"))
	if err != nil {
		return nil, err
	}
	// Like evaluator.py, take the gold canonical values from every tagged
	// file: the random-split questions are tagged in training.tagged.
	canon := map[string][2]string{}
	taggedFiles, _ := filepath.Glob(joinPath(root, "tagged", "data", "*.tagged"))
	for _, f := range taggedFiles {
		tagged, err := readTSV(f)
		if err != nil {
			return nil, err
		}
		for _, r := range tagged {
			canon[r["id"]] = [2]string{r["targetCanon"], r["targetCanonType"]}
		}
	}
	tables := map[string]layouts.UniformTable{}
	out := make([]Example, 0, len(qs))
	for _, q := range qs {
		ctx := q["context"]
		ut, ok := tables[ctx]
		if !ok {
			if ut, err = wtqTable(root, ctx); err != nil {
				return nil, fmt.Errorf("question %s: %w", q["id"], err)
			}
			tables[ctx] = ut
		}
		t, err := tableOf(ut)
		if err != nil {
			return nil, fmt.Errorf("question %s: table %s: %w", q["id"], ctx, err)
		}
		ex := Example{ID: q["id"], Benchmark: WTQ, Split: split, Task: "short_answer_qa",
			Question: layouts.UnescapeWTQ(q["utterance"]), Table: t, Answer: wtqList(q["targetValue"]), Label: -1,
			Meta: map[string]any{"table_file": ctx}}
		if c, ok := canon[q["id"]]; ok {
			l := wtqList(c[0])
			items := make([]any, len(l))
			for i, s := range l {
				items[i] = s
			}
			ex.Meta["target_canon"] = items
			ex.Meta["target_canon_type"] = c[1]
		}
		out = append(out, ex)
	}
	return out, nil
}
