package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// fakeFusion is an in-process stand-in for SandboxFusion's /run_code: it
// really runs the code with the test Python in a temporary directory holding
// the request's files. failFirst answers 503 to that many requests first;
// hangFirst makes that many requests hang until the client gives up.
type fakeFusion struct {
	t         *testing.T
	python    string
	failFirst atomic.Int32
	hangFirst atomic.Int32
	requests  atomic.Int32
	inFlight  atomic.Int32
	maxFlight atomic.Int32
	canned    *runCodeResponse
}

func (f *fakeFusion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxFlight.Load()
		if n <= m || f.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if r.URL.Path != "/run_code" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if f.failFirst.Add(-1) >= 0 {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	var req runCodeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.hangFirst.Add(-1) >= 0 {
		// The body is read, so the server notices the client going away.
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if req.Language != "python" || req.RunTimeout <= 0 || req.MemoryLimitMB <= 0 {
		http.Error(w, "bad request fields", http.StatusBadRequest)
		return
	}
	if f.canned != nil {
		json.NewEncoder(w).Encode(f.canned)
		return
	}
	dir, err := os.MkdirTemp("", "fakefusion-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(dir)
	for name, b64 := range req.Files {
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || strings.Contains(name, "/") {
			http.Error(w, "bad file", http.StatusBadRequest)
			return
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "main.py"), []byte(req.Code), 0o644)
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(req.RunTimeout*float64(time.Second)))
	defer cancel()
	cmd := exec.CommandContext(ctx, f.python, "main.py")
	cmd.Dir = dir
	cmd.Env = workerEnv()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	rr := &commandResult{Status: "Finished", ExecutionTime: time.Since(start).Seconds(), Stdout: stdout.String(), Stderr: stderr.String()}
	code := cmd.ProcessState.ExitCode()
	rr.ReturnCode = &code
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		rr.Status = "TimeLimitExceeded"
	case err != nil && !errors.As(err, &ee):
		rr.Status = "Error"
	}
	status := "Success"
	if rr.Status != "Finished" || code != 0 {
		status = "Failed"
	}
	json.NewEncoder(w).Encode(runCodeResponse{Status: status, RunResult: rr})
}

func newFake(t *testing.T) (*fakeFusion, *httptest.Server) {
	pool(t) // skips without Python and pandas
	f := &fakeFusion{t: t, python: DefaultPython(os.Getenv)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestRemoteAgainstFake(t *testing.T) {
	f, srv := newFake(t)
	rem := NewRemote(RemoteConfig{URL: srv.URL, Backoff: 10 * time.Millisecond})
	tests := []struct {
		name   string
		job    execution.Job
		want   execution.Status
		answer string
		etype  string
		line   int
	}{
		{"answer from df", execution.Job{Code: "print(df['value'].sum())", Table: sampleTable()}, execution.StatusOK, "1237", "", 0},
		{"runtime error with line", execution.Job{Code: "x = 1\nraise KeyError('k')", Table: sampleTable()}, execution.StatusRuntimeError, "", "KeyError", 2},
		{"syntax error", execution.Job{Code: "def f(:\n"}, execution.StatusSyntaxError, "", "SyntaxError", 1},
		{"timeout", execution.Job{Code: "while True: pass", Limits: execution.Limits{Wall: time.Second}}, execution.StatusTimeout, "", "", 0},
	}
	var wg sync.WaitGroup
	for _, tc := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rem.Run(context.Background(), tc.job)
			if r.Status != tc.want {
				t.Errorf("%s: status %q (%s), want %q; stderr %q", tc.name, r.Status, r.Detail, tc.want, r.Stderr)
				return
			}
			if tc.answer != "" && r.Answer() != tc.answer {
				t.Errorf("%s: answer %q, want %q", tc.name, r.Answer(), tc.answer)
			}
			if r.ExceptionType != tc.etype || r.ErrorLine != tc.line {
				t.Errorf("%s: exception %q line %d, want %q line %d", tc.name, r.ExceptionType, r.ErrorLine, tc.etype, tc.line)
			}
			if strings.Contains(r.Stderr, statusMarker) {
				t.Errorf("%s: the status line leaked into stderr: %q", tc.name, r.Stderr)
			}
		}()
	}
	wg.Wait()
	if n := f.requests.Load(); n != int32(len(tests)) {
		t.Errorf("%d requests for %d jobs", n, len(tests))
	}
}

func TestRemoteReturnTable(t *testing.T) {
	_, srv := newFake(t)
	rem := NewRemote(RemoteConfig{URL: srv.URL})
	r := rem.Run(context.Background(), execution.Job{Code: "df = df[df.value > 10][['name', 'value']].reset_index(drop=True)", Table: sampleTable(), ReturnTable: true})
	want := &layouts.Table{Header: [][]string{{"name", "value"}}, Rows: [][]string{{"alpha", "1200"}, {"beta", "30"}}}
	if r.Status != execution.StatusOK || r.Table == nil || !layouts.Equal(r.Table, want) {
		t.Fatalf("status %q (%s) table %+v, want ok %+v; stderr %q", r.Status, r.Detail, r.Table, want, r.Stderr)
	}
}

func TestRemoteRetriesAndLimits(t *testing.T) {
	ok := 0
	canned := &runCodeResponse{Status: "Success", RunResult: &commandResult{Status: "Finished", ReturnCode: &ok,
		Stdout: "42\n", Stderr: "\n" + statusMarker + `{"kind":"ok"}` + "\n"}}
	tests := []struct {
		name      string
		failFirst int32
		hangFirst int32
		retries   int
		want      execution.Status
		requests  int32
	}{
		{"5xx then success", 2, 0, 3, execution.StatusOK, 3},
		{"5xx past the retries", 10, 0, 2, execution.StatusSandboxError, 3},
		{"a timeout then success", 0, 1, 3, execution.StatusOK, 2},
		{"no retries", 1, 0, -1, execution.StatusSandboxError, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFusion{t: t, canned: canned}
			f.failFirst.Store(tc.failFirst)
			f.hangFirst.Store(tc.hangFirst)
			srv := httptest.NewServer(f)
			defer srv.Close()
			rem := NewRemote(RemoteConfig{URL: srv.URL, Retries: tc.retries, Backoff: time.Millisecond, Overhead: 100 * time.Millisecond,
				Limits: execution.Limits{Wall: 100 * time.Millisecond}})
			r := rem.Run(context.Background(), execution.Job{Code: "print(42)"})
			if r.Status != tc.want {
				t.Fatalf("status %q (%s), want %q", r.Status, r.Detail, tc.want)
			}
			if tc.want == execution.StatusOK && r.Answer() != "42" {
				t.Errorf("answer %q, want 42", r.Answer())
			}
			if n := f.requests.Load(); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestRemoteBoundsConcurrency(t *testing.T) {
	ok := 0
	f := &fakeFusion{t: t, canned: &runCodeResponse{Status: "Success", RunResult: &commandResult{Status: "Finished", ReturnCode: &ok,
		Stderr: statusMarker + `{"kind":"ok"}`}}}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		f.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(slow)
	defer srv.Close()
	rem := NewRemote(RemoteConfig{URL: srv.URL, MaxConcurrent: 3})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := rem.Run(context.Background(), execution.Job{Code: "pass"}); r.Status != execution.StatusOK {
				t.Errorf("status %q (%s)", r.Status, r.Detail)
			}
		}()
	}
	wg.Wait()
	if m := f.maxFlight.Load(); m > 3 || m < 1 {
		t.Errorf("%d requests were in flight at once, want at most 3", m)
	}
}

func TestRemoteStatusLines(t *testing.T) {
	code := func(c int) *int { return &c }
	tests := []struct {
		name string
		rr   commandResult
		want execution.Status
	}{
		{"killed by a signal", commandResult{Status: "Finished", ReturnCode: code(-11)}, execution.StatusKilled},
		{"no status line", commandResult{Status: "Finished", ReturnCode: code(1), Stderr: "boom"}, execution.StatusRuntimeError},
		{"memory error before the prelude", commandResult{Status: "Finished", ReturnCode: code(1), Stderr: "MemoryError"}, execution.StatusMemoryExceeded},
		{"time limit", commandResult{Status: "TimeLimitExceeded"}, execution.StatusTimeout},
		{"output over the cap", commandResult{Status: "Finished", ReturnCode: code(0), Stdout: strings.Repeat("x", 100)}, execution.StatusOutputExceeded},
		{"memory status", commandResult{Status: "Finished", ReturnCode: code(0), Stderr: statusMarker + `{"kind":"exception","type":"MemoryError","memory":true}`}, execution.StatusMemoryExceeded},
		{"exit status", commandResult{Status: "Finished", ReturnCode: code(0), Stderr: statusMarker + `{"kind":"exit","code":3}`}, execution.StatusRuntimeError},
	}
	for _, tc := range tests {
		rr := tc.rr
		r := (&runCodeResponse{RunResult: &rr}).result(execution.Limits{Wall: time.Second, OutputBytes: 50})
		if r.Status != tc.want {
			t.Errorf("%s: status %q (%s), want %q", tc.name, r.Status, r.Detail, tc.want)
		}
	}
}

func FuzzRemoteResult(f *testing.F) {
	f.Add("42\n", "boom\n"+statusMarker+`{"kind":"ok"}`+"\n", 0, "Finished")
	f.Add("", statusMarker+`{"kind":"exception","type":"KeyError","line":3}`, 1, "Finished")
	f.Add("", "", -9, "TimeLimitExceeded")
	f.Fuzz(func(t *testing.T, stdout, stderr string, code int, status string) {
		rr := commandResult{Status: status, ReturnCode: &code, Stdout: stdout, Stderr: stderr}
		r := (&runCodeResponse{RunResult: &rr}).result(execution.Limits{Wall: time.Second, OutputBytes: 1 << 10})
		switch r.Status {
		case execution.StatusOK, execution.StatusSyntaxError, execution.StatusRuntimeError, execution.StatusTimeout, execution.StatusMemoryExceeded,
			execution.StatusOutputExceeded, execution.StatusKilled, execution.StatusSandboxError:
		default:
			t.Fatalf("unknown status %q", r.Status)
		}
		if len(r.Stdout) > 1<<10 || len(r.Stderr) > 1<<10 {
			t.Fatalf("output over the cap: %d, %d bytes", len(r.Stdout), len(r.Stderr))
		}
	})
}
