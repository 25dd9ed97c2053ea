package rollout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/episode"
	"tabler1/layouts"
)

func testTable(rows int) *layouts.Table {
	t := &layouts.Table{Title: "Medals", Header: [][]string{{"Nation", "Gold"}}}
	for i := 0; i < rows; i++ {
		t.Rows = append(t.Rows, []string{"N" + string(rune('A'+i%26)), "1"})
	}
	return t
}

func TestEveryKindRenders(t *testing.T) {
	tm := DefaultTemplates()
	for _, k := range Kinds {
		q := Question{ID: "q1", Question: "How many nations?", Table: testTable(25)}
		if k == KindLTI {
			q.Task, q.Target = episode.TaskLTI, testTable(3)
		}
		d, err := tm.Data(q)
		if err != nil {
			t.Fatal(err)
		}
		s, err := tm.Render(k, d)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, want := range []string{"| Nation | Gold |", "['Nation', 'Gold']", "| NJ |"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: prompt lacks %q:\n%s", k, want, s)
			}
		}
		if strings.Contains(s, "| NK |") { // row 11 is beyond the 10-row preview
			t.Errorf("%s: row 11 shown in a 10-row preview:\n%s", k, s)
		}
		if k != KindLTI && !strings.Contains(s, "Shape: 25 rows x 2 columns") {
			t.Errorf("%s: prompt lacks the full table's shape:\n%s", k, s)
		}
		if k != KindLTI && !strings.Contains(s, "How many nations?") {
			t.Errorf("%s: prompt lacks the question", k)
		}
	}
}

func TestPromptMultiLevelColumns(t *testing.T) {
	tb := &layouts.Table{Header: [][]string{{"Revenue", "Revenue"}, {"2019", "it's"}}, Rows: [][]string{{"1", "a|b"}}}
	s, k, err := DefaultTemplates().Prompt(Question{ID: "h", Question: "q?", Table: tb}, episode.ParadigmProgram)
	if err != nil || k != KindProgram {
		t.Fatal(k, err)
	}
	for _, want := range []string{`[('Revenue', '2019'), ('Revenue', "it's")]`, "2-level MultiIndex", "| Revenue | Revenue |\n| 2019 | it's |\n| --- | --- |", `a\|b`} {
		if !strings.Contains(s, want) {
			t.Errorf("prompt lacks %q:\n%s", want, s)
		}
	}
}

func TestKindFor(t *testing.T) {
	tests := []struct {
		task episode.Task
		p    episode.Paradigm
		want Kind
		err  bool
	}{
		{"", episode.ParadigmProgram, KindProgram, false},
		{episode.TaskQA, episode.ParadigmText, KindText, false},
		{episode.TaskQA, "", KindMixed, false},
		{episode.TaskTabFact, episode.ParadigmProgram, KindTabFactProgram, false},
		{episode.TaskTabFact, episode.ParadigmText, KindTabFactText, false},
		{episode.TaskTabFact, "", KindTabFactMixed, false},
		{episode.TaskLTI, episode.ParadigmProgram, KindLTI, false},
		{episode.TaskLTI, episode.ParadigmText, "", true},
		{"nope", episode.ParadigmText, "", true},
		{episode.TaskQA, episode.ParadigmInvalid, "", true},
	}
	for _, tc := range tests {
		got, err := KindFor(tc.task, tc.p)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("KindFor(%q, %q) = %q, %v; want %q, error %v", tc.task, tc.p, got, err, tc.want, tc.err)
		}
	}
}

func TestTemplateOverridesAndFewShot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "text.tmpl"), []byte("{{template \"examples\" .}}T: {{.Question}} ({{.Rows}})"), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "p.tmpl")
	if err := os.WriteFile(prog, []byte("P: {{.Question}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	shots := filepath.Join(dir, "shots.jsonl")
	ex := `{"kind":"text","question":{"id":"e1","question":"Example?","table":{"header":[["a"]],"rows":[["1"]]}},"completion":"Answer: 1"}` + "\n"
	if err := os.WriteFile(shots, []byte(ex), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := LoadTemplates(TemplateConfig{Dir: dir, Files: map[string]string{"program": prog}, FewShot: shots, PreviewRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	q := Question{ID: "q", Question: "Real?", Table: testTable(5)}
	s, _, err := tm.Prompt(q, episode.ParadigmText)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Example 1:\nT: Example? (1)\nAnswer: 1\n\nNow the task:\nT: Real? (5)"; s != want {
		t.Errorf("text prompt = %q, want %q", s, want)
	}
	if s, _, _ := tm.Prompt(q, episode.ParadigmProgram); s != "P: Real?" {
		t.Errorf("program prompt = %q", s)
	}
	if s, _, _ := tm.Prompt(q, ""); !strings.Contains(s, "| NC |") || strings.Contains(s, "| ND |") {
		t.Errorf("mixed prompt (default template, 3-row preview):\n%s", s)
	}
	pipe, err := LoadTemplates(TemplateConfig{TableFormat: "pipe"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := pipe.Prompt(q, episode.ParadigmProgram); !strings.Contains(s, "\nNation | Gold\nNA | 1\n") {
		t.Errorf("pipe format prompt:\n%s", s)
	}
}

func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(bad, []byte("{{.Nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingField := filepath.Join(dir, "mf.tmpl")
	if err := os.WriteFile(missingField, []byte("{{.NoSuchField}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  TemplateConfig
		want string
	}{
		{"syntax", TemplateConfig{Files: map[string]string{"text": bad}}, "bad.tmpl"},
		{"missing file", TemplateConfig{Files: map[string]string{"text": filepath.Join(dir, "none")}}, "none"},
		{"unknown kind", TemplateConfig{Files: map[string]string{"essay": bad}}, `unknown kind "essay"`},
		{"few-shot missing", TemplateConfig{FewShot: filepath.Join(dir, "none.jsonl")}, "few-shot"},
		{"table format", TemplateConfig{TableFormat: "latex"}, "table_format"},
	}
	for _, tc := range tests {
		if _, err := LoadTemplates(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	tm, err := LoadTemplates(TemplateConfig{Files: map[string]string{"text": missingField}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tm.Prompt(Question{ID: "q", Table: testTable(1)}, episode.ParadigmText); err == nil {
		t.Error("a template using an unknown field rendered without error")
	}
	if _, err := tm.Data(Question{ID: "q"}); err == nil {
		t.Error("a question without a table gave no error")
	}
	if _, err := tm.Data(Question{ID: "q", Task: episode.TaskLTI, Table: testTable(1)}); err == nil {
		t.Error("an LTI question without a target gave no error")
	}
}
