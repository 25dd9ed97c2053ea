package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"tabler1/layouts"
)

// tabfactTable reads data/all_csv/<table_id>: "#"-separated, first line the
// header, CR stripped.
func tabfactTable(root, id string) (layouts.UniformTable, error) {
	b, err := os.ReadFile(joinPath(root, "data", "all_csv", id))
	if err != nil {
		return layouts.UniformTable{}, err
	}
	text := strings.ReplaceAll(string(b), "\r", "")
	var grid [][]string
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		grid = append(grid, strings.Split(l, "#"))
	}
	if len(grid) == 0 {
		return layouts.UniformTable{}, fmt.Errorf("table %s is empty", id)
	}
	return layouts.UniformTable{Header: grid[0], Rows: grid[1:]}, nil
}

// loadTabFact reads tokenized_data/<split>_examples.json in file order:
// {table_id: [[statement...], [label...], caption]}.
func loadTabFact(root, split string) ([]Example, error) {
	path := joinPath(root, "tokenized_data", split+"_examples.json")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: want a JSON object of table ids", path)
	}
	var out []Example
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		id, _ := tok.(string)
		var entry []json.RawMessage
		if err := dec.Decode(&entry); err != nil {
			return nil, fmt.Errorf("%s: table %s: %w", path, id, err)
		}
		if len(entry) < 3 {
			return nil, fmt.Errorf("%s: table %s: want [statements, labels, caption], got %d elements", path, id, len(entry))
		}
		var stmts []string
		var labels []int
		var caption string
		if err := json.Unmarshal(entry[0], &stmts); err != nil {
			return nil, fmt.Errorf("%s: table %s statements: %w", path, id, err)
		}
		if err := json.Unmarshal(entry[1], &labels); err != nil {
			return nil, fmt.Errorf("%s: table %s labels: %w", path, id, err)
		}
		if err := json.Unmarshal(entry[2], &caption); err != nil {
			return nil, fmt.Errorf("%s: table %s caption: %w", path, id, err)
		}
		if len(stmts) != len(labels) {
			return nil, fmt.Errorf("%s: table %s has %d statements but %d labels", path, id, len(stmts), len(labels))
		}
		ut, err := tabfactTable(root, id)
		if err != nil {
			return nil, err
		}
		ut.Caption = caption
		t, err := tableOf(ut)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", id, err)
		}
		for i, s := range stmts {
			ans := "refuted"
			if labels[i] == 1 {
				ans = "entailed"
			}
			out = append(out, Example{ID: fmt.Sprintf("%s#%d", id, i), Benchmark: TabFact, Split: split,
				Task: "fact_verification", Question: s, Table: t, Answer: []string{ans}, Label: labels[i],
				Meta: map[string]any{"table_id": id, "statement_index": json.Number(fmt.Sprint(i)), "caption": caption}})
		}
	}
	return out, nil
}
