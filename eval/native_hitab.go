package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"tabler1/layouts"
)

// hitabRaw is a raw HiTab table (data/tables/raw/<table_id>.json at commit
// 469b5c7e).
type hitabRaw struct {
	Title                string          `json:"title"`
	Texts                [][]any         `json:"texts"`
	MergedRegions        json.RawMessage `json:"merged_regions"`
	TopRoot              json.RawMessage `json:"top_root"`
	LeftRoot             json.RawMessage `json:"left_root"`
	TopHeaderRowsNum     int             `json:"top_header_rows_num"`
	LeftHeaderColumnsNum int             `json:"left_header_columns_num"`
}

type hitabNode struct {
	Row      int         `json:"row_index"`
	Col      int         `json:"column_index"`
	Children []hitabNode `json:"children"`
}

type hitabRegion struct {
	FirstRow    int `json:"first_row"`
	LastRow     int `json:"last_row"`
	FirstColumn int `json:"first_column"`
	LastColumn  int `json:"last_column"`
}

func maxRow(n hitabNode) int {
	m := n.Row
	for _, c := range n.Children {
		m = max(m, maxRow(c))
	}
	return m
}

// hitabTable builds the uniform table: the header is the H rows the top
// tree covers (not top_header_rows_num, which is H+1 in nearly every table;
// benchmarks.md §3), each column's flat name the path of its distinct
// header cells joined by " | ", merged cells read from their core cell.
func hitabTable(root, id string) (layouts.UniformTable, error) {
	path := joinPath(root, "data", "tables", "raw", id+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		return layouts.UniformTable{}, err
	}
	var raw hitabRaw
	if err := json.Unmarshal(b, &raw); err != nil {
		return layouts.UniformTable{}, fmt.Errorf("%s: %w", path, err)
	}
	var top hitabNode
	if err := json.Unmarshal(raw.TopRoot, &top); err != nil {
		return layouts.UniformTable{}, fmt.Errorf("%s: top_root: %w", path, err)
	}
	var regions []hitabRegion
	if err := json.Unmarshal(raw.MergedRegions, &regions); err != nil {
		return layouts.UniformTable{}, fmt.Errorf("%s: merged_regions: %w", path, err)
	}
	grid := make([][]string, len(raw.Texts))
	for i, r := range raw.Texts {
		grid[i] = make([]string, len(r))
		for j, c := range r {
			grid[i][j] = numberString(c)
		}
	}
	h := min(maxRow(top)+1, len(grid))
	h = max(h, 0)
	width := 0
	for _, r := range grid {
		width = max(width, len(r))
	}
	core := func(r, c int) (int, int) {
		for _, m := range regions {
			if r >= m.FirstRow && r <= m.LastRow && c >= m.FirstColumn && c <= m.LastColumn {
				return m.FirstRow, m.FirstColumn
			}
		}
		return r, c
	}
	cell := func(r, c int) string {
		if r < len(grid) && c < len(grid[r]) {
			return grid[r][c]
		}
		return ""
	}
	header := make([]string, width)
	for c := 0; c < width; c++ {
		var parts []string
		seen := map[[2]int]bool{}
		for r := 0; r < h; r++ {
			cr, cc := core(r, c)
			if seen[[2]int{cr, cc}] {
				continue
			}
			seen[[2]int{cr, cc}] = true
			if s := cell(cr, cc); s != "" {
				parts = append(parts, s)
			}
		}
		header[c] = strings.Join(parts, " | ")
	}
	hier := map[string]any{
		"header_rows_num":         h,
		"top_header_rows_num":     raw.TopHeaderRowsNum,
		"left_header_columns_num": raw.LeftHeaderColumnsNum,
		"merged_regions":          raw.MergedRegions,
		"top_root":                raw.TopRoot,
		"left_root":               raw.LeftRoot,
	}
	hb, err := json.Marshal(hier)
	if err != nil {
		return layouts.UniformTable{}, err
	}
	return layouts.UniformTable{Title: raw.Title, Header: header, HeaderRows: grid[:h], Rows: grid[h:], Hierarchy: hb}, nil
}

// loadHiTab reads data/<split>_samples.jsonl and the raw tables.
func loadHiTab(root, split string) ([]Example, error) {
	recs, err := readJSONLFile(joinPath(root, "data", split+"_samples.jsonl"))
	if err != nil {
		return nil, err
	}
	tables := map[string]*layouts.Table{}
	out := make([]Example, 0, len(recs))
	for _, r := range recs {
		tid := numberString(r["table_id"])
		t, ok := tables[tid]
		if !ok {
			ut, err := hitabTable(root, tid)
			if err != nil {
				return nil, fmt.Errorf("sample %s: %w", str(r, "id"), err)
			}
			if t, err = tableOf(ut); err != nil {
				return nil, fmt.Errorf("sample %s: table %s: %w", str(r, "id"), tid, err)
			}
			tables[tid] = t
		}
		out = append(out, Example{ID: str(r, "id"), Benchmark: HiTab, Split: split, Task: "short_answer_qa",
			Question: str(r, "question"), Table: t, Answer: stringList(r["answer"]), Label: -1,
			Meta: map[string]any{"answer_raw": r["answer"], "aggregation": r["aggregation"],
				"answer_formulas": r["answer_formulas"], "linked_cells": r["linked_cells"],
				"table_id": tid, "table_source": r["table_source"]}})
	}
	return out, nil
}
