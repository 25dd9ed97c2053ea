package eval

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"tabler1/layouts"
)

// loadAITQA reads raw_data/aitqa_questions.jsonl and aitqa_tables.jsonl.
// Questions on tables whose header paths do not fit their data (tab-16,
// tab-26 and tab-38 in the release) are left out, as in the uniform sample.
func loadAITQA(root string) ([]Example, error) {
	trecs, err := readJSONLFile(joinPath(root, "raw_data", "aitqa_tables.jsonl"))
	if err != nil {
		return nil, err
	}
	type tab struct {
		t   *layouts.Table
		err error
	}
	tables := map[string]tab{}
	for _, r := range trecs {
		id := str(r, "id")
		t, err := aitqaTable(r)
		tables[id] = tab{t, err}
	}
	qs, err := readJSONLFile(joinPath(root, "raw_data", "aitqa_questions.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Example
	for _, q := range qs {
		tid := str(q, "table_id")
		tb, ok := tables[tid]
		if !ok {
			return nil, fmt.Errorf("question %s: table %s not in aitqa_tables.jsonl", str(q, "id"), tid)
		}
		if tb.err != nil {
			continue // header paths do not fit the data: left out
		}
		out = append(out, Example{ID: str(q, "id"), Benchmark: AITQA, Split: "all", Task: "short_answer_qa",
			Question: str(q, "question"), Table: tb.t, Answer: stringList(q["answers"]), Label: -1,
			Meta: map[string]any{"table_id": tid, "type": q["type"], "row_hierarchy_needed": q["row_hierarchy_needed"],
				"paraphrase_group": q["paraphrase_group"]}})
	}
	return out, nil
}

func pathList(v any) ([][]string, error) {
	if v == nil {
		return nil, nil
	}
	return stringGrid(v)
}

// aitqaTable builds the uniform table: a leading "" header over the
// row-header paths (when there are row headers), each column's header path
// joined by " | ", each row led by its row-header path joined by " | ".
func aitqaTable(r map[string]any) (*layouts.Table, error) {
	cols, err := pathList(r["column_header"])
	if err != nil {
		return nil, fmt.Errorf("column_header: %w", err)
	}
	rowh, err := pathList(r["row_header"])
	if err != nil {
		return nil, fmt.Errorf("row_header: %w", err)
	}
	data, err := stringGrid(r["data"])
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if len(rowh) > 0 && len(rowh) != len(data) {
		return nil, fmt.Errorf("%d row headers for %d data rows", len(rowh), len(data))
	}
	for i, d := range data {
		if len(d) != len(cols) {
			return nil, fmt.Errorf("data row %d has %d cells for %d column headers", i, len(d), len(cols))
		}
	}
	var header []string
	if len(rowh) > 0 {
		header = append(header, "")
	}
	for _, c := range cols {
		header = append(header, strings.Join(c, " | "))
	}
	rows := make([][]string, len(data))
	for i, d := range data {
		if len(rowh) > 0 {
			rows[i] = append([]string{strings.Join(rowh[i], " | ")}, d...)
		} else {
			rows[i] = d
		}
	}
	hier, err := json.Marshal(map[string]any{"column_header": r["column_header"], "row_header": r["row_header"]})
	if err != nil {
		return nil, err
	}
	return tableOf(layouts.UniformTable{Header: header, Rows: rows, Hierarchy: hier})
}

// loadFeTaQA reads data/fetaQA-v1_<split>.jsonl.
func loadFeTaQA(root, split string) ([]Example, error) {
	recs, err := readJSONLFile(joinPath(root, "data", "fetaQA-v1_"+split+".jsonl"))
	if err != nil {
		return nil, err
	}
	out := make([]Example, 0, len(recs))
	for _, r := range recs {
		id := "fetaqa-" + numberString(r["feta_id"])
		grid, err := stringGrid(r["table_array"])
		if err != nil || len(grid) == 0 {
			return nil, fmt.Errorf("example %s: table_array: %v", id, err)
		}
		page, section := str(r, "table_page_title"), str(r, "table_section_title")
		t, err := tableOf(layouts.UniformTable{Title: page + " | " + section, Header: grid[0], Rows: grid[1:]})
		if err != nil {
			return nil, fmt.Errorf("example %s: %w", id, err)
		}
		out = append(out, Example{ID: id, Benchmark: FeTaQA, Split: split, Task: "free_form_qa",
			Question: str(r, "question"), Table: t, Answer: []string{str(r, "answer")}, Label: -1,
			Meta: map[string]any{"feta_id": r["feta_id"], "highlighted_cell_ids": r["highlighted_cell_ids"],
				"page_title": page, "section_title": section, "page_wikipedia_url": r["page_wikipedia_url"],
				"table_source_json": r["table_source_json"]}})
	}
	return out, nil
}

// loadTableBench reads TableBench.jsonl; Visualization items (whose answers
// are chart test code) are left out.
func loadTableBench(root string) ([]Example, error) {
	recs, err := readJSONLFile(joinPath(root, "TableBench.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Example
	for _, r := range recs {
		if str(r, "qtype") == "Visualization" {
			continue
		}
		id := str(r, "id")
		tm, _ := r["table"].(map[string]any)
		if tm == nil {
			return nil, fmt.Errorf("item %s has no table object", id)
		}
		rows, err := stringGrid(tm["data"])
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", id, err)
		}
		t, err := tableOf(layouts.UniformTable{Header: stringList(tm["columns"]), Rows: rows})
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", id, err)
		}
		out = append(out, Example{ID: id, Benchmark: TableBench, Split: "test", Task: "short_answer_qa",
			Question: str(r, "question"), Table: t, Answer: []string{numberString(r["answer"])}, Label: -1,
			Meta: map[string]any{"qtype": r["qtype"], "qsubtype": r["qsubtype"]}})
	}
	return out, nil
}

// loadTATQA reads dataset_raw/tatqa_dataset_<split>.json.
func loadTATQA(root, split string) ([]Example, error) {
	v, err := readJSONFile(joinPath(root, "dataset_raw", "tatqa_dataset_"+split+".json"))
	if err != nil {
		return nil, err
	}
	ctxs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON list of contexts")
	}
	var out []Example
	for ci, c := range ctxs {
		cm, _ := c.(map[string]any)
		tm, _ := cm["table"].(map[string]any)
		if tm == nil {
			return nil, fmt.Errorf("context %d has no table", ci)
		}
		grid, err := stringGrid(tm["table"])
		if err != nil || len(grid) == 0 {
			return nil, fmt.Errorf("context %d: table: %v", ci, err)
		}
		t, err := tableOf(layouts.UniformTable{Header: grid[0], Rows: grid[1:]})
		if err != nil {
			return nil, fmt.Errorf("context %d: %w", ci, err)
		}
		type para struct {
			order float64
			text  string
		}
		var paras []para
		pl, _ := cm["paragraphs"].([]any)
		for _, p := range pl {
			pm, _ := p.(map[string]any)
			o, _ := pm["order"].(json.Number).Float64()
			paras = append(paras, para{o, str(pm, "text")})
		}
		sort.SliceStable(paras, func(i, j int) bool { return paras[i].order < paras[j].order })
		texts := make([]string, len(paras))
		for i, p := range paras {
			texts[i] = p.text
		}
		ql, _ := cm["questions"].([]any)
		for _, q := range ql {
			qm, _ := q.(map[string]any)
			ans := qm["answer"]
			var answer []string
			if l, isList := ans.([]any); isList {
				answer = stringList(l)
			} else {
				answer = []string{pyStr(ans)}
			}
			out = append(out, Example{ID: str(qm, "uid"), Benchmark: TATQA, Split: split, Task: "hybrid_qa",
				Question: str(qm, "question"), Table: t, Paragraphs: texts, Answer: answer, Label: -1,
				Meta: map[string]any{"answer_raw": ans, "answer_type": qm["answer_type"], "answer_from": qm["answer_from"],
					"scale": qm["scale"], "derivation": qm["derivation"], "rel_paragraphs": qm["rel_paragraphs"],
					"req_comparison": qm["req_comparison"], "table_uid": str(tm, "uid")}})
		}
	}
	return out, nil
}
