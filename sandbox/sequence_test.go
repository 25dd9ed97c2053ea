package sandbox

import (
	"tabler1/sandbox/execution"

	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWhatAJobLeavesForTheNext runs each program of issue #14 (items 1, 2,
// 4 and 5) on a one-worker pool, then clean jobs on the same worker: the
// hostile job ends as its own failure (never sandbox_error, which training
// drops), the clean jobs all succeed with the right answer and find nothing
// of it, and a forged status record never costs the worker. Both with
// every layer the host allows and without the mount and PID namespaces
// (where the job's directory is removed by walking it).
func TestWhatAJobLeavesForTheNext(t *testing.T) {
	pool(t)
	for name, weaker := range map[string]Isolation{"full": {}, "no mount or PID namespace": {MountNS: true, PIDNS: true}} {
		t.Run(name, func(t *testing.T) { testWhatAJobLeaves(t, weaker) })
	}
}

func testWhatAJobLeaves(t *testing.T, weaker Isolation) {
	ctx := context.Background()
	p, err := NewPool(ctx, PoolConfig{Workers: 1, Grace: time.Second, Weaker: weaker})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if weaker.MountNS && (p.Isolation().MountNS || p.Isolation().PIDNS) {
		t.Fatalf("isolation %v: the weaker switches did not take", p.Isolation())
	}
	// What a clean job finds of the ones before it: the temporary
	// directory's entries (but its own directory) and its own directory's.
	peek := "import os\nd = os.environ.get('TMPDIR', '/tmp')\nprint(sorted(set(os.listdir(d)) - {'job'}), os.listdir('.'), os.path.exists(os.path.join(d, 'left-behind')))"
	for _, a := range sequenceAttacks() {
		t.Run(a.name, func(t *testing.T) {
			before := p.Replaced()
			r := p.Run(ctx, execution.Job{Code: a.code, Table: sampleTable(), ReturnTable: a.returnTable,
				Limits: execution.Limits{Wall: 1500 * time.Millisecond}})
			if r.Status == execution.StatusSandboxError {
				t.Errorf("the hostile job ended sandbox_error (%s): a job's own doing must be its failure", r.Detail)
			}
			if len(r.ExceptionType) > maxExceptionType || len(r.Detail) > maxDetail {
				t.Errorf("exception type of %d bytes, detail of %d: over the caps %d and %d", len(r.ExceptionType), len(r.Detail), maxExceptionType, maxDetail)
			}
			if r.Table != nil {
				t.Errorf("the job returned a table %v, which was not asked for or is malformed", r.Table)
			}
			if strings.HasPrefix(a.name, "a ") && p.Replaced() != before {
				t.Errorf("a forged status record cost the worker (%d replaced)", p.Replaced()-before)
			}
			for i := range 3 {
				if c := p.Run(ctx, execution.Job{Code: "print(df['value'].sum())", Table: sampleTable()}); c.Status != execution.StatusOK || c.Answer() != "1237" {
					t.Fatalf("clean job %d after it: %s %q (%s)", i, c.Status, c.Answer(), c.Detail)
				}
			}
			if c := p.Run(ctx, execution.Job{Code: peek}); c.Status != execution.StatusOK || c.Answer() != "[] [] False" {
				t.Errorf("a clean job found what the hostile one left: %s %q (%s, %.300q)", c.Status, c.Answer(), c.Detail, c.Stderr)
			}
		})
	}
	if left := leftoverJobProcesses(p); len(left) > 0 {
		t.Errorf("processes of jobs survived: %v", left)
	}
}

// tabler1Exec builds the tabler1 binary into a temporary directory and
// returns a BenchConfig.PoolProcess that runs its exec command
// (TABLER1_EXEC_BIN names a binary to use instead, an older one say).
func tabler1Exec(t *testing.T) func(ctx context.Context, table, code string) *exec.Cmd {
	t.Helper()
	bin := os.Getenv("TABLER1_EXEC_BIN")
	if bin == "" {
		gobin, err := exec.LookPath("go")
		if err != nil {
			t.Skipf("no go tool to build tabler1 with: %v", err)
		}
		bin = filepath.Join(t.TempDir(), "tabler1")
		if out, err := exec.Command(gobin, "build", "-o", bin, "tabler1/cmd/tabler1").CombinedOutput(); err != nil {
			t.Fatalf("building tabler1: %v\n%s", err, out)
		}
	}
	python := DefaultPython(os.Getenv)
	return func(ctx context.Context, table, code string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, "exec", "--table", table, "--code", code, "--timeout", "60s")
		cmd.Env = append(os.Environ(), "TABLER1_PYTHON="+python)
		return cmd
	}
}

// TestJobDiesWithItsPoolProcess (issue #14, item 3): a job that clears its
// parent-death signal still dies when its pool's process, tabler1 exec, is
// killed with SIGKILL: the worker is its PID namespace's init.
func TestJobDiesWithItsPoolProcess(t *testing.T) {
	if !pool(t).Isolation().PIDNS {
		t.Skip("needs PID namespaces (root)")
	}
	left, err := killProbe(context.Background(), tabler1Exec(t))
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d processes of the killed tabler1 exec survived it", left)
	}
}

// TestARetiringWorkerIsReplaced (issue #14, item 1): a worker that says it
// could not clean up after a job is replaced, never given another job.
func TestARetiringWorkerIsReplaced(t *testing.T) {
	pool(t)
	fake, err := filepath.Abs("testdata/retiring_worker.py")
	if err != nil {
		t.Fatal(err)
	}
	python := filepath.Join(t.TempDir(), "python")
	script := "#!/bin/sh\nexec " + DefaultPython(os.Getenv) + " " + fake + "\n"
	if err := os.WriteFile(python, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := NewPool(ctx, PoolConfig{Workers: 1, Python: python, Weaker: Isolation{PIDNS: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 3 {
		if r := p.Run(ctx, execution.Job{Code: "print('served')"}); r.Status != execution.StatusOK || r.Answer() != "served" {
			t.Fatalf("job %d: %s %q (%s)", i, r.Status, r.Answer(), r.Detail)
		}
		if got := p.Replaced(); got != int64(i+1) {
			t.Fatalf("after job %d, %d workers replaced, want %d: a retiring worker was reused", i, got, i+1)
		}
	}
}
