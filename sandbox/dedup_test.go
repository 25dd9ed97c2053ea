package sandbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// countingExec answers every job with its code as stdout and the status
// the code names, counting runs; gate, when set, holds each run until
// closed.
type countingExec struct {
	runs atomic.Int64
	gate chan struct{}
}

func (c *countingExec) Run(ctx context.Context, job execution.Job) execution.Result {
	c.runs.Add(1)
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return execution.Result{Status: execution.StatusKilled}
		}
	}
	st := execution.StatusOK
	switch job.Code {
	case "timeout":
		st = execution.StatusTimeout
	case "error":
		st = execution.StatusRuntimeError
	}
	res := execution.Result{Status: st, Stdout: job.Code}
	if job.ReturnTable && job.Table != nil {
		t := *job.Table
		res.Table = &t
	}
	return res
}

func TestDedupRunsIdenticalJobsOnce(t *testing.T) {
	tab := &layouts.Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}
	other := &layouts.Table{Header: [][]string{{"a"}}, Rows: [][]string{{"2"}}}
	base := execution.Job{Code: "print(1)", Table: tab}
	for _, c := range []struct {
		name   string
		second execution.Job
		runs   int64
	}{
		{"same job", base, 1},
		{"same table content, another pointer", execution.Job{Code: "print(1)", Table: &layouts.Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}}, 1},
		{"other code", execution.Job{Code: "print(2)", Table: tab}, 2},
		{"other table", execution.Job{Code: "print(1)", Table: other}, 2},
		{"other limits", execution.Job{Code: "print(1)", Table: tab, Limits: execution.Limits{Wall: time.Second}}, 2},
		{"return table", execution.Job{Code: "print(1)", Table: tab, ReturnTable: true}, 2},
		{"extra table", execution.Job{Code: "print(1)", Table: tab, Extra: map[string]*layouts.Table{"x": other}}, 2},
		{"deterministic error", execution.Job{Code: "error"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex := &countingExec{}
			d := &Dedup{Exec: ex}
			ctx := context.Background()
			first := d.Run(ctx, base)
			got := d.Run(ctx, c.second)
			if ex.runs.Load() != c.runs {
				t.Fatalf("runs %d, want %d", ex.runs.Load(), c.runs)
			}
			if first.Reused || got.Reused != (c.runs == 1) {
				t.Fatalf("reused: first %v, second %v", first.Reused, got.Reused)
			}
			if st := d.Stats(); st.Runs != c.runs || st.Runs+st.Reused != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestDedupKeepsDeterministicOutcomesOnly(t *testing.T) {
	ex := &countingExec{}
	d := &Dedup{Exec: ex}
	ctx := context.Background()
	for range 3 {
		d.Run(ctx, execution.Job{Code: "error"})
		if r := d.Run(ctx, execution.Job{Code: "timeout"}); r.Reused {
			t.Fatal("a timeout was reused")
		}
	}
	if n := ex.runs.Load(); n != 1+3 {
		t.Fatalf("runs %d, want 4 (the runtime error once, every timeout)", n)
	}
}

func TestDedupCoalescesConcurrentJobs(t *testing.T) {
	ex := &countingExec{gate: make(chan struct{})}
	d := &Dedup{Exec: ex}
	const n = 16
	var wg sync.WaitGroup
	results := make([]execution.Result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.Run(context.Background(), execution.Job{Code: "same"})
		}()
	}
	for ex.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others queue behind the first
	close(ex.gate)
	wg.Wait()
	reused := 0
	for _, r := range results {
		if r.Status != execution.StatusOK || r.Stdout != "same" {
			t.Fatalf("result %+v", r)
		}
		if r.Reused {
			reused++
		}
	}
	if ex.runs.Load() != 1 || reused != n-1 {
		t.Fatalf("runs %d, reused %d; want 1 and %d", ex.runs.Load(), reused, n-1)
	}
}

func TestDedupFollowersRunWhenTheLeaderIsKilled(t *testing.T) {
	ex := &countingExec{gate: make(chan struct{})}
	d := &Dedup{Exec: ex}
	leaderCtx, cancel := context.WithCancel(context.Background())
	done := make(chan execution.Result)
	go func() { done <- d.Run(leaderCtx, execution.Job{Code: "x"}) }()
	for ex.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	follower := make(chan execution.Result)
	go func() { follower <- d.Run(context.Background(), execution.Job{Code: "x"}) }()
	time.Sleep(20 * time.Millisecond)
	cancel() // the leader ends killed, which is not kept
	if r := <-done; r.Status != execution.StatusKilled {
		t.Fatalf("leader %s", r.Status)
	}
	close(ex.gate)
	if r := <-follower; r.Status != execution.StatusOK || r.Reused {
		t.Fatalf("follower %+v, want its own ok run", r)
	}
	// A waiting job whose own context ends is killed, not left waiting.
	ex2 := &countingExec{gate: make(chan struct{})}
	d2 := &Dedup{Exec: ex2}
	go d2.Run(context.Background(), execution.Job{Code: "y"})
	for ex2.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if r := d2.Run(ctx, execution.Job{Code: "y"}); r.Status != execution.StatusKilled {
		t.Fatalf("waiting job with a done context: %s", r.Status)
	}
	close(ex2.gate)
}

func TestDedupEvictsLeastRecentlyUsed(t *testing.T) {
	ex := &countingExec{}
	d := &Dedup{Exec: ex, Size: 2}
	ctx := context.Background()
	run := func(code string) bool { return d.Run(ctx, execution.Job{Code: code}).Reused }
	run("a")
	run("b")
	run("a") // a is now the most recent
	run("c") // evicts b
	if !run("a") || run("b") {
		t.Fatalf("after a, b, a, c with room for 2: a should be kept and b evicted")
	}
}

func TestDedupBoundsTheBytesItKeeps(t *testing.T) {
	ex := &countingExec{}
	big := strings.Repeat("x", 1000)
	d := &Dedup{Exec: ex, MaxBytes: 3000}
	ctx := context.Background()
	for _, code := range []string{big + "1", big + "2", big + "3", big + "4"} {
		d.Run(ctx, execution.Job{Code: code}) // stdout is the code: ~1.3 kB kept each
	}
	if d.Run(ctx, execution.Job{Code: big + "1"}).Reused {
		t.Error("the oldest result was kept past the byte budget")
	}
	if !d.Run(ctx, execution.Job{Code: big + "4"}).Reused {
		t.Error("the newest result was dropped")
	}
	if d.bytes > 3000 {
		t.Errorf("holds %d bytes, budget 3000", d.bytes)
	}
}

func TestDedupReturnsItsOwnTableCopy(t *testing.T) {
	d := &Dedup{Exec: &countingExec{}}
	job := execution.Job{Code: "t", Table: &layouts.Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}, ReturnTable: true}
	d.Run(context.Background(), job)
	r1 := d.Run(context.Background(), job)
	r1.Table.Rows[0][0] = "changed"
	if r2 := d.Run(context.Background(), job); r2.Table.Rows[0][0] != "1" {
		t.Fatalf("a caller's change reached another caller's table: %q", r2.Table.Rows[0][0])
	}
}

// TestJobsAreDeterministicAcrossWorkers backs Dedup's premise on the real
// pool: random draws, string hashes and set order are the same whichever
// worker runs the job.
func TestJobsAreDeterministicAcrossWorkers(t *testing.T) {
	p := pool(t)
	code := "import random\nprint(random.random(), np.random.rand(), hash('table'), list({'x', 'y', 'z', 'w'}))\n"
	outs := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 * p.Workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.Run(context.Background(), execution.Job{Code: code})
			mu.Lock()
			outs[fmt.Sprintf("%s %s", r.Status, r.Stdout)] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(outs) != 1 {
		t.Fatalf("%d different outputs, want 1: %v", len(outs), outs)
	}
}
