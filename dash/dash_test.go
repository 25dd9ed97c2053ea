package dash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"tabler1/episode"
	"tabler1/sandbox/execution"
	"testing"
)

// writeRollouts writes a rollout log of groups of four samples: group g's
// sample i is a program that ran ok (i even) or a text answer.
func writeRollouts(t testing.TB, dir string, step, groups int, pad string) int64 {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "rollouts"), 0o755)
	f, err := os.Create(rolloutPath(dir, step))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for g := range groups {
		for i := range 4 {
			s := episode.Episode{ID: fmt.Sprintf("s%d-%d-%d", step, g, i), Step: step, ItemID: fmt.Sprintf("item-%d", g), Group: g,
				Prompt: "name|age\nann|3\nbob|4\n(12 rows)\nQ: oldest?" + pad}
			s.Text = "```python\nprint(df['age'].max())\n```"
			s.Total = float64(i) / 4
			if g == 0 {
				s.Total = 0.5 // a zero-variance group
			}
			s.Components = episode.Components{Format: 0.2, Answer: s.Total - 0.2}
			if i%2 == 0 {
				s.Paradigm, s.Code = episode.ParadigmProgram, "print(df['age'].max())"
				s.Exec = &execution.Result{Status: execution.StatusOK, Stdout: "4\n"}
				if i == 2 {
					s.RewardDetail = episode.RewardDetail{ComputesNothing: "prints_constant"}
					s.Components.ComputesNothing = -0.5
				}
			} else {
				s.Paradigm, s.Answer = episode.ParadigmText, "4"
				if i == 3 {
					s.RewardDetail = episode.RewardDetail{NeedsTable: "answer_beyond_preview"}
				}
			}
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	fi, _ := f.Stat()
	return fi.Size()
}

func get(t *testing.T, h http.Handler, url string, into any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	if into != nil && rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			t.Fatalf("%s: %v: %s", url, err, rec.Body.String())
		}
	}
	return rec.Code
}

type metricsPage struct {
	Rows   int                   `json:"rows"`
	Reset  bool                  `json:"reset"`
	Steps  []int                 `json:"steps"`
	Stages []string              `json:"stages"`
	Series map[string][]*float64 `json:"series"`
}

func TestMetricsFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.jsonl")
	os.WriteFile(path, []byte(`{"step":1,"stage":"sft","stage_step":1,"actor/loss":2,"items":["a"]}`+"\n"+
		`{"step":2,"stage":"grpo","actor/loss":1,"eval/wtq/test/accuracy":0.25,"fallback":{"rescued":1}}`+"\n"+
		`{"step":3,"stage":"grpo","actor/lo`), 0o644) // a partial last line
	s, err := New([]string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	var p metricsPage
	get(t, s, "/api/metrics?run=0&since=0", &p)
	if p.Rows != 2 || len(p.Steps) != 2 || p.Stages[1] != "grpo" {
		t.Fatalf("page %+v", p)
	}
	if l := p.Series["actor/loss"]; len(l) != 2 || *l[0] != 2 || *l[1] != 1 {
		t.Errorf("actor/loss %v", l)
	}
	if a := p.Series["eval/wtq/test/accuracy"]; len(a) != 2 || a[0] != nil || *a[1] != 0.25 {
		t.Errorf("eval curve %v", a)
	}
	if r := p.Series["fallback/rescued"]; len(r) != 2 || *r[1] != 1 {
		t.Errorf("a nested object is not flattened: %v", r)
	}
	for _, k := range []string{"step", "stage_step", "items"} {
		if _, ok := p.Series[k]; ok {
			t.Errorf("%s plotted as a metric", k)
		}
	}
	// The writer finishes the line and appends another: only new rows come.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`ss":0.5}` + "\n" + `{"step":4,"stage":"grpo","actor/loss":0.25}` + "\n")
	f.Close()
	get(t, s, "/api/metrics?run=0&since=2", &p)
	if p.Reset || p.Rows != 4 || len(p.Steps) != 2 || p.Steps[0] != 3 || *p.Series["actor/loss"][0] != 0.5 || p.Series["eval/wtq/test/accuracy"][1] != nil {
		t.Fatalf("appended page %+v", p)
	}
	// A resume rewrites the file: the client is told to start over.
	os.WriteFile(path, []byte(`{"step":1,"stage":"sft","actor/loss":9}`+"\n"+`{"step":2,"stage":"sft","actor/loss":8}`+"\n"+`{"step":3,"stage":"sft","actor/loss":7}`+"\n"+`{"step":4,"stage":"sft","actor/loss":6}`+"\n"+`{"step":5,"stage":"sft","actor/loss":5}`+"\n"), 0o644)
	get(t, s, "/api/metrics?run=0&since=4", &p)
	if !p.Reset || p.Rows != 5 || len(p.Steps) != 5 || *p.Series["actor/loss"][0] != 9 {
		t.Fatalf("after a rewrite %+v", p)
	}
}

func TestRolloutBrowser(t *testing.T) {
	dir := t.TempDir()
	writeRollouts(t, dir, 7, 3, "")
	// A step being written: its partial last line is left out.
	writeRollouts(t, dir, 9, 1, "")
	f, _ := os.OpenFile(rolloutPath(dir, 9), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"half`)
	f.Close()
	s, _ := New([]string{dir}, "")
	var steps struct{ Steps []int }
	get(t, s, "/api/steps?run=0", &steps)
	if fmt.Sprint(steps.Steps) != "[7 9]" {
		t.Fatalf("steps %v", steps.Steps)
	}
	tests := []struct {
		query   string
		matched int
		check   func(summary) bool
	}{
		{"", 12, func(summary) bool { return true }},
		{"&paradigm=program", 6, func(s summary) bool { return s.Paradigm == "program" }},
		{"&status=ok", 6, func(s summary) bool { return s.Status == "ok" }},
		{"&status=text", 6, func(s summary) bool { return s.Paradigm == "text" }},
		{"&min=0.5", 8, func(s summary) bool { return s.Reward >= 0.5 }},
		{"&min=0.1&max=0.3", 2, func(s summary) bool { return s.Reward == 0.25 }},
		{"&zerovar=1", 4, func(s summary) bool { return s.Group == 0 }},
		{"&penalty=print", 3, func(s summary) bool { return s.I%4 == 2 }},
		{"&penalty=nothing", 3, func(s summary) bool { return s.I%4 == 2 }},
		{"&penalty=truncated", 3, func(s summary) bool { return s.I%4 == 3 }},
		{"&paradigm=program&zerovar=1", 2, func(s summary) bool { return s.Group == 0 }},
	}
	for _, tc := range tests {
		var p page
		if code := get(t, s, "/api/rollouts?run=0&step=7"+tc.query, &p); code != 200 {
			t.Fatalf("%s: %d", tc.query, code)
		}
		if p.Total != 12 || p.Matched != tc.matched || len(p.Samples) != tc.matched {
			t.Errorf("%q: total %d matched %d listed %d, want 12 %d", tc.query, p.Total, p.Matched, len(p.Samples), tc.matched)
		}
		for _, x := range p.Samples {
			if !tc.check(x) {
				t.Errorf("%q: sample %+v", tc.query, x)
			}
		}
	}
	// Pages.
	var p page
	get(t, s, "/api/rollouts?run=0&step=7&offset=10&limit=5", &p)
	if p.Matched != 12 || len(p.Samples) != 2 || p.Samples[0].I != 10 {
		t.Errorf("last page %+v", p)
	}
	get(t, s, "/api/rollouts?run=0&step=9", &p)
	if p.Total != 4 {
		t.Errorf("partial file: %d samples, want 4", p.Total)
	}
	// A sample read back by offset is its full record.
	var smp episode.Episode
	get(t, s, "/api/sample?run=0&step=7&i=6", &smp)
	if smp.ID != "s7-1-2" || smp.Code == "" || smp.Exec == nil || smp.Exec.Stdout != "4\n" {
		t.Errorf("sample 6: %+v", smp)
	}
	for _, bad := range []string{"/api/rollouts?run=0&step=8", "/api/sample?run=0&step=7&i=12", "/api/rollouts?run=3&step=7", "/api/rollouts?run=0&step=x", "/api/rollouts?run=0&step=7&penalty=odd", "/api/rollouts?run=0&step=7&min=z"} {
		if code := get(t, s, bad, nil); code == 200 {
			t.Errorf("%s answered 200", bad)
		}
	}
	// The index follows a rewritten file.
	writeRollouts(t, dir, 7, 1, "")
	get(t, s, "/api/rollouts?run=0&step=7", &p)
	if p.Total != 4 {
		t.Errorf("rewritten step: %d samples, want 4", p.Total)
	}
}

func TestEvalsAndPage(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "checkpoints", "step-4", "eval"), 0o755)
	os.WriteFile(filepath.Join(dir, "checkpoints", "step-4", "eval", "report.json"), []byte(`{"meta":{"step":4},"k":1,"benchmarks":[{"benchmark":"wtq","n":3,"samples":3,"metrics":{"accuracy":0.5}}]}`), 0o644)
	os.MkdirAll(filepath.Join(dir, "rollouts"), 0o755)
	os.WriteFile(filepath.Join(dir, "rollouts", "report.json"), []byte(`{}`), 0o644) // not searched
	s, _ := New([]string{dir}, "")
	var reps []evalReport
	get(t, s, "/api/evals?run=0", &reps)
	if len(reps) != 1 || reps[0].Path != filepath.Join("checkpoints", "step-4", "eval") || reps[0].Benchmarks[0].Metrics["accuracy"] != 0.5 {
		t.Errorf("reports %+v", reps)
	}
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 || rec.Body.Len() < 500 {
			t.Errorf("%s: %d, %d bytes", p, rec.Code, rec.Body.Len())
		}
		if strings.Contains(rec.Body.String(), "http://") || strings.Contains(rec.Body.String(), "https://") {
			t.Errorf("%s refers to another site: it must work offline", p)
		}
	}
}

func TestToken(t *testing.T) {
	s, _ := New([]string{t.TempDir()}, "s3cret")
	tests := []struct {
		name   string
		url    string
		header string
		cookie string
		code   int
	}{
		{"none", "/api/runs", "", "", 401},
		{"wrong", "/api/runs?token=nope", "", "", 401},
		{"query", "/api/runs?token=s3cret", "", "", 200},
		{"bearer", "/api/runs", "Bearer s3cret", "", 200},
		{"cookie", "/api/runs", "", "s3cret", 200},
		{"bad cookie", "/api/runs", "", "x", 401},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", tc.url, nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: tokenCookie, Value: tc.cookie})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.code)
		}
	}
}

func TestListen(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:0", "", true},
		{"localhost:0", "", true},
		{"[::1]:0", "", true},
		{"0.0.0.0:0", "", false},
		{":0", "", false},
		{"0.0.0.0:0", "t", true},
		{"nonsense", "", false},
	}
	for _, tc := range tests {
		l, err := Listen(tc.addr, tc.token)
		if (err == nil) != tc.ok {
			if strings.Contains(fmt.Sprint(err), "cannot assign") || strings.Contains(fmt.Sprint(err), "address family") {
				continue // no IPv6 loopback here
			}
			t.Errorf("Listen(%q, %q): %v", tc.addr, tc.token, err)
		}
		if l != nil {
			l.Close()
		}
	}
	if _, err := New(nil, ""); err == nil {
		t.Error("a dashboard of no run")
	}
}

func FuzzMetricsLine(f *testing.F) {
	f.Add([]byte(`{"step":1,"stage":"sft","actor/loss":2,"fallback":{"rescued":1}}`))
	f.Add([]byte(`{"step":"x"}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m := &metricsTail{}
		m.reset()
		m.add(line)
		m.add(line)
		for k, col := range m.series {
			if len(col) != len(m.steps) {
				t.Fatalf("%s has %d values for %d steps", k, len(col), len(m.steps))
			}
		}
	})
}
