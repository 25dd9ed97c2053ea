package rollout

import (
	"bufio"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"tabler1/episode"
	"tabler1/layouts"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// Kind names a prompt template.
type Kind string

// The prompt kinds. Each is a text/template file, templates/<kind>.tmpl,
// embedded in the binary; a config can replace any of them.
const (
	KindProgram        Kind = "program"         // answer with a python block that prints the answer
	KindText           Kind = "text"            // reason in text, then a final "Answer:" line
	KindMixed          Kind = "mixed"           // the model chooses program or text
	KindTabFactProgram Kind = "tabfact_program" // TabFact: a program that prints entailed/refuted
	KindTabFactText    Kind = "tabfact_text"    //
	KindTabFactMixed   Kind = "tabfact_mixed"   //
	KindLTI            Kind = "lti"             // source and target tables: write the pandas program
)

// Kinds lists every prompt kind.
var Kinds = []Kind{KindProgram, KindText, KindMixed, KindTabFactProgram, KindTabFactText, KindTabFactMixed, KindLTI}

// Question is one item to sample for: a question (or TabFact statement)
// over a table, or an LTI pair of tables.
type Question struct {
	ID       string         `json:"id"`
	Task     episode.Task   `json:"task,omitempty"` // qa (default), tabfact or lti
	Bench    string         `json:"bench,omitempty"`
	Question string         `json:"question"`
	Table    *layouts.Table `json:"table"`
	Target   *layouts.Table `json:"target,omitempty"` // LTI: the transformed table
	Gold     []string       `json:"gold,omitempty"`   // gold answers, for distillation
}

// PromptData is what a template sees.
type PromptData struct {
	Question string
	Title    string
	Caption  string
	// Table is the preview (the first Shown rows) in the configured format
	// (default markdown: one line per header level);
	// Rows and Cols are the full table's shape; Columns is df.columns as
	// Python writes it; Levels is the number of header levels.
	Table   string
	Rows    int
	Cols    int
	Shown   int
	Levels  int
	Columns string
	// LTI: the target table, likewise.
	Target        string
	TargetRows    int
	TargetCols    int
	TargetShown   int
	TargetColumns string
	// Examples are few-shot examples, shown before the task.
	Examples []Example
}

// Example is one few-shot example: a rendered prompt and its completion.
type Example struct {
	Prompt     string
	Completion string
}

// TemplateConfig says where prompts come from.
type TemplateConfig struct {
	// Dir holds <kind>.tmpl files replacing the embedded ones (a missing
	// file keeps the default); common.tmpl may redefine "table" and
	// "examples".
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Files maps a kind to a template file, taking precedence over Dir.
	Files map[string]string `yaml:"files" json:"files,omitempty"`
	// PreviewRows is how many rows a prompt shows (default 10, as in the
	// paper); <0 shows every row.
	PreviewRows int `yaml:"preview_rows" json:"preview_rows,omitempty"`
	// TableFormat is how the preview is written: markdown (default), pipe
	// (compact, for byte-level models), csv, html or json.
	TableFormat string `yaml:"table_format" json:"table_format,omitempty"`
	// FewShot is a JSONL file of examples: {"kind": "program", "question":
	// {Question}, "completion": "..."}; each kind's prompts start with its
	// examples, in file order.
	FewShot string `yaml:"few_shot" json:"few_shot,omitempty"`
}

// Templates renders prompts. The zero value is not usable: use
// DefaultTemplates or LoadTemplates.
type Templates struct {
	t        map[Kind]*template.Template
	preview  int
	format   layouts.Format
	examples map[Kind][]Example
}

var funcs = template.FuncMap{"add": func(a, b int) int { return a + b }}

// DefaultTemplates returns the embedded templates with a 10-row preview.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates(TemplateConfig{})
	if err != nil {
		panic("rollout: embedded templates do not parse: " + err.Error()) // a build defect, caught by tests
	}
	return t
}

// LoadTemplates builds templates from the embedded defaults and cfg's
// overrides.
func LoadTemplates(cfg TemplateConfig) (*Templates, error) {
	read := func(kind string) (string, string, error) {
		if f, ok := cfg.Files[kind]; ok {
			b, err := os.ReadFile(f)
			return string(b), f, err
		}
		if cfg.Dir != "" {
			f := filepath.Join(cfg.Dir, kind+".tmpl")
			b, err := os.ReadFile(f)
			if err == nil {
				return string(b), f, nil
			}
			if !os.IsNotExist(err) {
				return "", f, err
			}
		}
		b, err := defaultTemplates.ReadFile("templates/" + kind + ".tmpl")
		return string(b), "embedded " + kind + ".tmpl", err
	}
	for k := range cfg.Files {
		if k != "common" && !validKind(Kind(k)) {
			return nil, fmt.Errorf("rollout: templates: files names unknown kind %q; want one of %v or common", k, Kinds)
		}
	}
	common, cname, err := read("common")
	if err != nil {
		return nil, fmt.Errorf("rollout: templates: reading %s: %w", cname, err)
	}
	t := &Templates{t: map[Kind]*template.Template{}, preview: cfg.PreviewRows, examples: map[Kind][]Example{}}
	if t.preview == 0 {
		t.preview = 10
	}
	t.format = layouts.FormatMarkdown
	if cfg.TableFormat != "" {
		if t.format, err = layouts.ParseFormat(cfg.TableFormat); err != nil {
			return nil, fmt.Errorf("rollout: templates: table_format: %w", err)
		}
	}
	for _, k := range Kinds {
		src, name, err := read(string(k))
		if err != nil {
			return nil, fmt.Errorf("rollout: templates: reading %s: %w", name, err)
		}
		tt, err := template.New(string(k)).Funcs(funcs).Option("missingkey=error").Parse(common)
		if err == nil {
			tt, err = tt.Parse(src)
		}
		if err != nil {
			return nil, fmt.Errorf("rollout: templates: %s: %w", name, err)
		}
		t.t[k] = tt
	}
	if cfg.FewShot != "" {
		if err := t.loadExamples(cfg.FewShot); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func validKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func (t *Templates) loadExamples(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("rollout: few-shot examples: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ex struct {
			Kind       Kind     `json:"kind"`
			Question   Question `json:"question"`
			Completion string   `json:"completion"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			return fmt.Errorf("rollout: few-shot examples %s:%d: %w", path, line, err)
		}
		if !validKind(ex.Kind) {
			return fmt.Errorf("rollout: few-shot examples %s:%d: unknown kind %q; want one of %v", path, line, ex.Kind, Kinds)
		}
		data, err := t.Data(ex.Question)
		if err != nil {
			return fmt.Errorf("rollout: few-shot examples %s:%d: %w", path, line, err)
		}
		p, err := t.Render(ex.Kind, data)
		if err != nil {
			return fmt.Errorf("rollout: few-shot examples %s:%d: %w", path, line, err)
		}
		t.examples[ex.Kind] = append(t.examples[ex.Kind], Example{Prompt: strings.TrimSpace(p), Completion: strings.TrimSpace(ex.Completion)})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("rollout: few-shot examples %s: %w", path, err)
	}
	return nil
}

// Render executes the template of kind on data. Examples loaded from the
// config are used when data has none.
func (t *Templates) Render(kind Kind, data PromptData) (string, error) {
	tt, ok := t.t[kind]
	if !ok {
		return "", fmt.Errorf("rollout: no template of kind %q; want one of %v", kind, Kinds)
	}
	if data.Examples == nil {
		data.Examples = t.examples[kind]
	}
	var b strings.Builder
	if err := tt.ExecuteTemplate(&b, string(kind), data); err != nil {
		return "", fmt.Errorf("rollout: rendering the %s prompt: %w", kind, err)
	}
	return b.String(), nil
}

// Data builds the template data of a question: the table preview, shape and
// columns (and the target table's, for LTI).
func (t *Templates) Data(q Question) (PromptData, error) {
	if q.Table == nil {
		return PromptData{}, fmt.Errorf("rollout: question %q has no table", q.ID)
	}
	d := PromptData{Question: q.Question, Title: q.Table.Title, Caption: q.Table.Caption}
	var err error
	d.Table, d.Rows, d.Cols, d.Shown, d.Columns, err = preview(q.Table, t.preview, t.format)
	if err != nil {
		return PromptData{}, fmt.Errorf("rollout: question %q: %w", q.ID, err)
	}
	d.Levels = q.Table.Levels()
	if q.Task == episode.TaskLTI {
		if q.Target == nil {
			return PromptData{}, fmt.Errorf("rollout: LTI question %q has no target table", q.ID)
		}
		d.Target, d.TargetRows, d.TargetCols, d.TargetShown, d.TargetColumns, err = preview(q.Target, t.preview, t.format)
		if err != nil {
			return PromptData{}, fmt.Errorf("rollout: question %q: target: %w", q.ID, err)
		}
	}
	return d, nil
}

// KindFor is the template for a question's task and the paradigm asked for
// ("" for the mixed prompt).
func KindFor(task episode.Task, p episode.Paradigm) (Kind, error) {
	switch task {
	case "", episode.TaskQA:
		switch p {
		case episode.ParadigmProgram:
			return KindProgram, nil
		case episode.ParadigmText:
			return KindText, nil
		case "":
			return KindMixed, nil
		}
	case episode.TaskTabFact:
		switch p {
		case episode.ParadigmProgram:
			return KindTabFactProgram, nil
		case episode.ParadigmText:
			return KindTabFactText, nil
		case "":
			return KindTabFactMixed, nil
		}
	case episode.TaskLTI:
		if p == episode.ParadigmProgram || p == "" {
			return KindLTI, nil
		}
		return "", fmt.Errorf("rollout: the LTI task has only a program prompt, not %q", p)
	default:
		return "", fmt.Errorf("rollout: unknown task %q; want qa, tabfact or lti", task)
	}
	return "", fmt.Errorf("rollout: unknown paradigm %q; want program, text or empty (mixed)", p)
}

// Prompt renders the prompt of a question for a paradigm ("" for mixed).
func (t *Templates) Prompt(q Question, p episode.Paradigm) (string, Kind, error) {
	k, err := KindFor(q.Task, p)
	if err != nil {
		return "", "", err
	}
	d, err := t.Data(q)
	if err != nil {
		return "", k, err
	}
	s, err := t.Render(k, d)
	return s, k, err
}

// preview renders the first n rows of tb in format f, with the full
// table's shape and df.columns as Python prints them.
func preview(tb *layouts.Table, n int, f layouts.Format) (text string, rows, cols, shown int, columns string, err error) {
	p := tb.Preview(n)
	var b strings.Builder
	if err := p.Table.Render(&b, f); err != nil {
		return "", 0, 0, 0, "", err
	}
	return b.String(), p.Rows, p.Cols, p.Shown, pyColumns(tb), nil
}

// pyColumns is df.columns as a Python list: names for one header level,
// tuples for a MultiIndex (as layouts/frame.py builds it).
func pyColumns(tb *layouts.Table) string {
	var b strings.Builder
	b.WriteByte('[')
	for c := 0; c < tb.NumCols(); c++ {
		if c > 0 {
			b.WriteString(", ")
		}
		if tb.Levels() <= 1 {
			name := ""
			if len(tb.Header) == 1 && c < len(tb.Header[0]) {
				name = tb.Header[0][c]
			}
			b.WriteString(pyStr(name))
			continue
		}
		b.WriteByte('(')
		for l, lvl := range tb.Header {
			if l > 0 {
				b.WriteString(", ")
			}
			name := ""
			if c < len(lvl) {
				name = lvl[c]
			}
			b.WriteString(pyStr(name))
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	return b.String()
}

// pyStr is a Python string literal for s.
func pyStr(s string) string {
	q := strconv.Quote(s)
	if !strings.Contains(s, "'") {
		q = "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
	}
	return q
}
