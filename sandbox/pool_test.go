package sandbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"tabler1/layouts"
)

func sampleTable() *layouts.Table {
	return &layouts.Table{
		Header: [][]string{{"name", "group", "value", "share"}},
		Rows: [][]string{
			{"alpha", "x", "1,200", "0.5"},
			{"beta", "y", "30", ""},
			{"gamma", "x", "7", "1.25"},
		},
	}
}

func multiTable() *layouts.Table {
	return &layouts.Table{
		Header: [][]string{{"", "2019", "2019", "2020"}, {"city", "q1", "q2", "q1"}},
		Rows:   [][]string{{"Oslo", "1", "2", "3"}, {"Rome", "4", "5", "6"}},
	}
}

func TestRunStatuses(t *testing.T) {
	p := pool(t)
	tests := []struct {
		name       string
		code       string
		table      *layouts.Table
		wantStatus Status
		wantAnswer string
		wantType   string
		wantLine   int
	}{
		{"sum of a numeric column with thousands separators", "print(df['value'].sum())", sampleTable(), StatusOK, "1237", "", 0},
		{"dtypes follow the rule", "print(df['value'].dtype, df['share'].dtype, df['name'].dtype)", sampleTable(), StatusOK, "int64 float64 object", "", 0},
		{"raw keeps the strings", "print(raw['value'].tolist()[0])", sampleTable(), StatusOK, "1,200", "", 0},
		{"filter and aggregate", "r = df[df.group == 'x'].value.mean()\nprint(r)", sampleTable(), StatusOK, "603.5", "", 0},
		{"multi-level header is a MultiIndex", "print(type(df.columns).__name__, df[('2019','q2')].sum())", multiTable(), StatusOK, "MultiIndex 7", "", 0},
		{"no table gives an empty df", "print(len(df))", nil, StatusOK, "0", "", 0},
		{"runtime error with line", "x = 1\ny = df['missing']\n", sampleTable(), StatusRuntimeError, "", "KeyError", 2},
		{"error inside a function reports the program line", "def f():\n    return 1/0\n\nf()\n", nil, StatusRuntimeError, "", "ZeroDivisionError", 2},
		{"syntax error with line", "x = 1\nif x\n  print(x)\n", nil, StatusSyntaxError, "", "SyntaxError", 2},
		{"sys.exit(0) is ok", "print('a')\nimport sys\nsys.exit(0)\nprint('b')", nil, StatusOK, "a", "", 0},
		{"sys.exit(3) is a runtime error", "import sys\nsys.exit(3)", nil, StatusRuntimeError, "", "", 0},
		{"memory error", "x = bytearray(1 << 40)", nil, StatusMemoryExceeded, "", "MemoryError", 1},
		{"unicode output", "print('naïve ✓')", nil, StatusOK, "naïve ✓", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := p.Run(context.Background(), Job{Code: tc.code, Table: tc.table, Limits: Limits{Wall: 5 * time.Second}})
			if r.Status != tc.wantStatus {
				t.Fatalf("status %q (%s), want %q; stderr:\n%s", r.Status, r.Detail, tc.wantStatus, r.Stderr)
			}
			if tc.wantAnswer != "" && r.Answer() != tc.wantAnswer {
				t.Errorf("answer %q, want %q", r.Answer(), tc.wantAnswer)
			}
			if tc.wantType != "" && r.ExceptionType != tc.wantType {
				t.Errorf("exception type %q, want %q", r.ExceptionType, tc.wantType)
			}
			if tc.wantLine != 0 && r.ErrorLine != tc.wantLine {
				t.Errorf("error line %d, want %d; stderr:\n%s", r.ErrorLine, tc.wantLine, r.Stderr)
			}
			if r.Wall <= 0 || r.PeakMemoryBytes <= 0 {
				t.Errorf("wall %v, peak memory %d: want both measured", r.Wall, r.PeakMemoryBytes)
			}
		})
	}
}

func TestExtraTablesAndReturnTable(t *testing.T) {
	p := pool(t)
	code := "other = tables['other']\ndf = df.merge(other, on='name')\ndf = df[['name', 'value', 'rank']].reset_index(drop=True)\n"
	other := &layouts.Table{Header: [][]string{{"name", "rank"}}, Rows: [][]string{{"alpha", "2"}, {"gamma", "1"}}}
	r := p.Run(context.Background(), Job{Code: code, Table: sampleTable(), Extra: map[string]*layouts.Table{"other": other}, ReturnTable: true})
	if r.Status != StatusOK {
		t.Fatalf("status %q (%s): %s", r.Status, r.Detail, r.Stderr)
	}
	want := &layouts.Table{Header: [][]string{{"name", "value", "rank"}}, Rows: [][]string{{"alpha", "1200", "2"}, {"gamma", "7", "1"}}}
	if r.Table == nil || !layouts.Equal(r.Table, want) {
		t.Fatalf("returned table %+v, want %+v", r.Table, want)
	}
	r = p.Run(context.Background(), Job{Code: "df = 3", Table: sampleTable(), ReturnTable: true})
	if r.Status != StatusRuntimeError || r.ExceptionType != "TypeError" {
		t.Fatalf("df = 3 with ReturnTable: status %q type %q, want runtime_error TypeError", r.Status, r.ExceptionType)
	}
}

func TestCheckSyntax(t *testing.T) {
	p := pool(t)
	tests := []struct {
		code string
		want Status
		line int
	}{
		{"print(1)\n", StatusOK, 0},
		{"while True: pass\n", StatusOK, 0}, // compiled, never run
		{"def f(:\n", StatusSyntaxError, 1},
		{"x = 1\n  y = 2\n", StatusSyntaxError, 2},
		{"return 5\n", StatusSyntaxError, 1},
		{"print(1)\x00\n", StatusSyntaxError, 0},
	}
	for _, tc := range tests {
		r := p.CheckSyntax(context.Background(), tc.code)
		if r.Status != tc.want || r.ErrorLine != tc.line {
			t.Errorf("CheckSyntax(%q) = %q line %d (%s), want %q line %d", tc.code, r.Status, r.ErrorLine, r.Detail, tc.want, tc.line)
		}
	}
}

func TestInvalidTableIsASandboxError(t *testing.T) {
	p := pool(t)
	bad := &layouts.Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1"}}}
	r := p.Run(context.Background(), Job{Code: "print(1)", Table: bad})
	if r.Status != StatusSandboxError || !strings.Contains(r.Detail, "not valid") {
		t.Fatalf("status %q detail %q, want sandbox_error naming the invalid table", r.Status, r.Detail)
	}
}

func TestCancelKillsTheJobAndKeepsTheWorker(t *testing.T) {
	p := pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	r := p.Run(ctx, Job{Code: "import time\nwhile True: time.sleep(0.01)", Limits: Limits{Wall: 20 * time.Second}})
	if r.Status != StatusKilled || !strings.Contains(r.Detail, "cancel") {
		t.Fatalf("status %q detail %q, want killed by cancellation", r.Status, r.Detail)
	}
	// Both workers still serve jobs.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := p.Run(context.Background(), Job{Code: "print(2+2)"}); r.Answer() != "4" {
				t.Errorf("after a cancel: status %q answer %q", r.Status, r.Answer())
			}
		}()
	}
	wg.Wait()
}

func TestConcurrentRunsAllGetResults(t *testing.T) {
	p := pool(t)
	const n = 24
	var wg sync.WaitGroup
	answers := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := "print(len(df) * " + strings.Repeat("1", 1+i%3) + ")"
			answers[i] = p.Run(context.Background(), Job{Code: code, Table: sampleTable()}).Answer()
		}()
	}
	wg.Wait()
	for i, a := range answers {
		want := map[int]string{0: "3", 1: "33", 2: "333"}[i%3]
		if a != want {
			t.Errorf("job %d answered %q, want %q", i, a, want)
		}
	}
}

func TestIsolationReported(t *testing.T) {
	p := pool(t)
	iso := p.Isolation()
	if iso.String() == "" {
		t.Fatal("empty isolation description")
	}
	t.Logf("isolation: %v", iso)
}
