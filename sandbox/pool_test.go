package sandbox

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
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
		wantStatus execution.Status
		wantAnswer string
		wantType   string
		wantLine   int
	}{
		{"sum of a numeric column with thousands separators", "print(df['value'].sum())", sampleTable(), execution.StatusOK, "1237", "", 0},
		{"dtypes follow the rule", "print(df['value'].dtype, df['share'].dtype, df['name'].dtype)", sampleTable(), execution.StatusOK, "int64 float64 object", "", 0},
		{"raw keeps the strings", "print(raw['value'].tolist()[0])", sampleTable(), execution.StatusOK, "1,200", "", 0},
		{"filter and aggregate", "r = df[df.group == 'x'].value.mean()\nprint(r)", sampleTable(), execution.StatusOK, "603.5", "", 0},
		{"multi-level header is a MultiIndex", "print(type(df.columns).__name__, df[('2019','q2')].sum())", multiTable(), execution.StatusOK, "MultiIndex 7", "", 0},
		{"no table gives an empty df", "print(len(df))", nil, execution.StatusOK, "0", "", 0},
		{"runtime error with line", "x = 1\ny = df['missing']\n", sampleTable(), execution.StatusRuntimeError, "", "KeyError", 2},
		{"error inside a function reports the program line", "def f():\n    return 1/0\n\nf()\n", nil, execution.StatusRuntimeError, "", "ZeroDivisionError", 2},
		{"syntax error with line", "x = 1\nif x\n  print(x)\n", nil, execution.StatusSyntaxError, "", "SyntaxError", 2},
		{"sys.exit(0) is ok", "print('a')\nimport sys\nsys.exit(0)\nprint('b')", nil, execution.StatusOK, "a", "", 0},
		{"sys.exit(3) is a runtime error", "import sys\nsys.exit(3)", nil, execution.StatusRuntimeError, "", "", 0},
		{"memory error", "x = bytearray(1 << 40)", nil, execution.StatusMemoryExceeded, "", "MemoryError", 1},
		{"unicode output", "print('naïve ✓')", nil, execution.StatusOK, "naïve ✓", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := p.Run(context.Background(), execution.Job{Code: tc.code, Table: tc.table, Limits: execution.Limits{Wall: 5 * time.Second}})
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
	r := p.Run(context.Background(), execution.Job{Code: code, Table: sampleTable(), Extra: map[string]*layouts.Table{"other": other}, ReturnTable: true})
	if r.Status != execution.StatusOK {
		t.Fatalf("status %q (%s): %s", r.Status, r.Detail, r.Stderr)
	}
	want := &layouts.Table{Header: [][]string{{"name", "value", "rank"}}, Rows: [][]string{{"alpha", "1200", "2"}, {"gamma", "7", "1"}}}
	if r.Table == nil || !layouts.Equal(r.Table, want) {
		t.Fatalf("returned table %+v, want %+v", r.Table, want)
	}
	r = p.Run(context.Background(), execution.Job{Code: "df = 3", Table: sampleTable(), ReturnTable: true})
	if r.Status != execution.StatusRuntimeError || r.ExceptionType != "TypeError" {
		t.Fatalf("df = 3 with ReturnTable: status %q type %q, want runtime_error TypeError", r.Status, r.ExceptionType)
	}
}

func TestCheckSyntax(t *testing.T) {
	p := pool(t)
	tests := []struct {
		code string
		want execution.Status
		line int
	}{
		{"print(1)\n", execution.StatusOK, 0},
		{"while True: pass\n", execution.StatusOK, 0}, // compiled, never run
		{"def f(:\n", execution.StatusSyntaxError, 1},
		{"x = 1\n  y = 2\n", execution.StatusSyntaxError, 2},
		{"return 5\n", execution.StatusSyntaxError, 1},
		{"print(1)\x00\n", execution.StatusSyntaxError, 0},
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
	r := p.Run(context.Background(), execution.Job{Code: "print(1)", Table: bad})
	if r.Status != execution.StatusSandboxError || !strings.Contains(r.Detail, "not valid") {
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
	r := p.Run(ctx, execution.Job{Code: "import time\nwhile True: time.sleep(0.01)", Limits: execution.Limits{Wall: 20 * time.Second}})
	if r.Status != execution.StatusKilled || !strings.Contains(r.Detail, "cancel") {
		t.Fatalf("status %q detail %q, want killed by cancellation", r.Status, r.Detail)
	}
	// Both workers still serve jobs.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := p.Run(context.Background(), execution.Job{Code: "print(2+2)"}); r.Answer() != "4" {
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
			answers[i] = p.Run(context.Background(), execution.Job{Code: code, Table: sampleTable()}).Answer()
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

// The worker keeps loaded tables across jobs (see _frames in worker.py):
// whatever a program does to df, raw or tables, the next job on the same
// table must see it untouched, and a table differing in one cell must not
// be served from the cache.
func TestCachedTablesStayFresh(t *testing.T) {
	p := pool(t)
	const check = "print(df.shape, list(df.columns), df['value'].tolist(), raw['value'].tolist(), sorted(tables), tables['t']['x'].tolist() if 't' in tables else None)"
	extra := func() map[string]*layouts.Table {
		return map[string]*layouts.Table{"t": {Header: [][]string{{"x"}}, Rows: [][]string{{"1"}, {"2"}}}}
	}
	want := p.Run(context.Background(), execution.Job{Code: check, Table: sampleTable(), Extra: extra()})
	if want.Status != execution.StatusOK {
		t.Fatalf("status %q (%s): %s", want.Status, want.Detail, want.Stderr)
	}
	const mutate = `df.loc[0, 'value'] = -1
df.drop(columns=['share'], inplace=True)
df.sort_values('name', ascending=False, inplace=True)
df['new'] = 1
raw.iloc[0, 2] = 'changed'
tables['t'].loc[0, 'x'] = 99
del tables['t']
print('mutated')`
	changed := sampleTable()
	changed.Rows[1][2] = "31"
	// Enough rounds that every worker runs a mutator before a checker; odd
	// rounds leave the workers idle first, so that spares (forked after
	// the mutator ran) serve the checks.
	for i := range 4 * p.Workers() {
		r := p.Run(context.Background(), execution.Job{Code: mutate, Table: sampleTable(), Extra: extra()})
		if i%2 == 1 {
			time.Sleep(50 * time.Millisecond)
		}
		if r.Status != execution.StatusOK || r.Answer() != "mutated" {
			t.Fatalf("round %d: mutator: status %q (%s): %s", i, r.Status, r.Detail, r.Stderr)
		}
		if got := p.Run(context.Background(), execution.Job{Code: check, Table: sampleTable(), Extra: extra()}); got.Answer() != want.Answer() {
			t.Errorf("round %d: after a mutating job the table reads %q, want %q", i, got.Answer(), want.Answer())
		}
		got := p.Run(context.Background(), execution.Job{Code: "print(df['value'].tolist())", Table: changed})
		if got.Answer() != "[1200, 31, 7]" {
			t.Errorf("round %d: a table differing in one cell reads %q, want [1200, 31, 7]", i, got.Answer())
		}
	}
}

// An idle worker holds a spare child; the next job runs in it, confined
// like any other (own session, not the worker's user, cut off from the
// worker's descriptors).
func TestSpareServesTheNextJob(t *testing.T) {
	p := pool(t)
	for range 2 * p.Workers() { // every worker has run a job since it started
		p.Run(context.Background(), execution.Job{Code: "print(1)", Table: sampleTable()})
	}
	time.Sleep(100 * time.Millisecond) // idle: the workers fork their spares
	spares := map[string]bool{}
	p.mu.Lock()
	for w := range p.workers {
		pid := strconv.Itoa(w.cmd.Process.Pid)
		kids, _ := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
		for _, k := range strings.Fields(string(kids)) {
			spares[innermostPID(k)] = true // as the job sees its pid
		}
	}
	p.mu.Unlock()
	if len(spares) == 0 {
		t.Fatal("no idle worker holds a spare child")
	}
	const code = `import os
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))
print(os.getsid(0) == os.getpid(), os.getuid() != 0 or not root, fds, df['value'].sum(), os.getpid())`
	r := p.Run(context.Background(), execution.Job{Code: "root = " + map[bool]string{true: "True", false: "False"}[p.Isolation().Setuid] + "\n" + code, Table: sampleTable()})
	f := strings.Fields(r.Answer())
	if r.Status != execution.StatusOK || len(f) == 0 {
		t.Fatalf("status %q (%s): %s", r.Status, r.Detail, r.Stderr)
	}
	if pid := f[len(f)-1]; !spares[pid] {
		t.Errorf("the job ran in process %s, not in a spare %v", pid, spares)
	}
	if got, want := strings.Join(f[:len(f)-1], " "), "True True [0, 1, 2, 3, 4] 1237"; got != want {
		t.Errorf("in the spare: %q, want %q", got, want)
	}
	// A table the spare does not hold: the worker drops it and forks anew.
	time.Sleep(100 * time.Millisecond)
	fresh := sampleTable()
	fresh.Rows[2][2] = "-4242" // in no other test: no worker has loaded it
	r = p.Run(context.Background(), execution.Job{Code: "print(df['value'].iloc[2])", Table: fresh})
	if r.Status != execution.StatusOK || r.Answer() != fresh.Rows[2][2] {
		t.Errorf("a table no spare holds: status %q, answer %q, want %q (%s)", r.Status, r.Answer(), fresh.Rows[2][2], r.Stderr)
	}
}
