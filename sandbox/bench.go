package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// BenchConfig configures Bench. Zero fields take the defaults in brackets.
type BenchConfig struct {
	Pool PoolConfig
	// Jobs is the number of jobs of the saturated throughput phase [600].
	Jobs int
	// HalfLoadJobs is the number of jobs sent at half the measured
	// throughput to measure latency [300].
	HalfLoadJobs int
	// Baseline is the number of fresh python3 processes of the baseline
	// [12].
	Baseline int
	// FloorJobs is the number of unconfined fork-run-exit cycles, spread
	// over the workers, that measure the host's fork floor [Jobs/2].
	FloorJobs int
	// BaselineConcurrency is how many baseline processes run at once
	// [the pool's workers, so both sides use the same cores].
	BaselineConcurrency int
	// Soak, when positive, adds a soak phase of that many jobs, Hostile of
	// them hostile, checking that no job is lost, no process survives and
	// memory stays flat.
	Soak    int
	Hostile float64 // fraction of hostile soak jobs [0.05]
	Seed    uint64
	// PoolProcess, when set, returns a command that runs the program in
	// file code on the table in CSV file table in a pool of its own
	// (tabler1 exec): the soak kills it with SIGKILL while its job runs,
	// the job having cleared its parent-death signal, and counts what
	// survives.
	PoolProcess func(ctx context.Context, table, code string) *exec.Cmd
	// Progress, when set, is told each phase's start.
	Progress func(phase string)
}

// BenchReport is what Bench measured. Latencies are from Run's call to its
// return, queueing included.
type BenchReport struct {
	Workers          int       `json:"workers"`
	Isolation        Isolation `json:"isolation"`
	Jobs             int       `json:"jobs"`
	JobsPerS         float64   `json:"jobs_per_s"`
	BaselineJobs     int       `json:"baseline_jobs"`
	BaselineJobsPerS float64   `json:"baseline_jobs_per_s"`
	BaselineConc     int       `json:"baseline_concurrency"`
	Speedup          float64   `json:"speedup"`
	// FloorJobsPerS is what the workers reach forking a child per run of
	// the program with no confinement, output capture or supervision: the
	// most a fork-per-job pool can do on this host. OfFloor is
	// JobsPerS/FloorJobsPerS.
	FloorJobsPerS    float64     `json:"floor_jobs_per_s"`
	OfFloor          float64     `json:"of_floor"`
	P50MS            float64     `json:"p50_ms"` // at half load
	P99MS            float64     `json:"p99_ms"` // at half load
	HalfLoadJobsPerS float64     `json:"half_load_jobs_per_s"`
	SaturatedP50MS   float64     `json:"saturated_p50_ms"`
	SaturatedP99MS   float64     `json:"saturated_p99_ms"`
	PoolMemory       PoolMemory  `json:"pool_memory"`
	PoolMemoryBytes  int64       `json:"pool_memory_bytes"` // PSS of all workers
	StartupS         float64     `json:"startup_s"`
	Soak             *SoakReport `json:"soak,omitempty"`
}

// SoakReport is the outcome of the soak phase.
type SoakReport struct {
	Jobs    int `json:"jobs"`
	Hostile int `json:"hostile"`
	Lost    int `json:"lost"` // jobs without a valid status
	// WrongAnswers counts the clean jobs that failed: not ok, or not the
	// right answer.
	WrongAnswers int `json:"wrong_answers"`
	Leftover     int `json:"leftover_processes"` // of job users, at the end of the soak
	// LeftoverAfterClose counts processes of the pool's job users once the
	// pool is closed.
	LeftoverAfterClose int `json:"leftover_after_close"`
	// LeftoverAfterKill counts the processes under a pool's process
	// (BenchConfig.PoolProcess, its job clearing its parent-death signal)
	// alive 2 s after a SIGKILL of that process; KillChecked says whether
	// that check ran.
	LeftoverAfterKill int                      `json:"leftover_after_kill"`
	KillChecked       bool                     `json:"kill_checked"`
	Statuses          map[execution.Status]int `json:"statuses"`
	PSSStartBytes     int64                    `json:"pss_start_bytes"` // after 10% of the jobs
	PSSEndBytes       int64                    `json:"pss_end_bytes"`
	JobsPerS          float64                  `json:"jobs_per_s"`
	WorkersReplaced   int64                    `json:"workers_replaced"`
	// Failures describes the first few lost jobs and wrong answers.
	Failures []string `json:"failures,omitempty"`
}

// benchTable is a seeded 50x8 table.
func benchTable(seed uint64) *layouts.Table {
	r := rand.New(rand.NewPCG(seed, 0x7ab1e))
	regions := []string{"north", "south", "east", "west"}
	t := &layouts.Table{Header: [][]string{{"id", "region", "product", "sales", "units", "score", "price", "date"}}}
	for i := range 50 {
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(i + 1),
			regions[r.IntN(len(regions))],
			fmt.Sprintf("p%02d", r.IntN(12)),
			strconv.Itoa(100 + r.IntN(9900)),
			strconv.Itoa(1 + r.IntN(99)),
			strconv.Itoa(r.IntN(101)),
			fmt.Sprintf("%d.%02d", r.IntN(500), r.IntN(100)),
			fmt.Sprintf("2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)),
		})
	}
	return t
}

// benchProgram filters and aggregates, the shape of a typical P-TR answer.
const benchProgram = `r = df[df["score"] > 50].groupby("region")["sales"].sum()
print(r.idxmax(), int(r.max()))
`

// Bench measures the pool's throughput and latency on small pandas
// programs against fresh python3 processes, in the same run.
func Bench(ctx context.Context, cfg BenchConfig) (BenchReport, error) {
	if cfg.Jobs <= 0 {
		cfg.Jobs = 600
	}
	if cfg.HalfLoadJobs <= 0 {
		cfg.HalfLoadJobs = 300
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = 12
	}
	if cfg.Hostile <= 0 {
		cfg.Hostile = 0.05
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	var rep BenchReport
	table := benchTable(cfg.Seed)
	progress("starting the pool")
	t0 := time.Now()
	p, err := NewPool(ctx, cfg.Pool)
	if err != nil {
		return rep, err
	}
	defer p.Close()
	rep.StartupS = time.Since(t0).Seconds()
	rep.Workers, rep.Isolation = p.Workers(), p.Isolation()
	job := execution.Job{Code: benchProgram, Table: table}
	first := p.Run(ctx, job)
	if first.Status != execution.StatusOK {
		return rep, fmt.Errorf("the bench program failed in the pool: %s (%s): %s", first.Status, first.Detail, first.Stderr)
	}
	want := first.Answer()

	progress("baseline: fresh python3 per program")
	conc := cfg.BaselineConcurrency
	if conc <= 0 {
		conc = rep.Workers
	}
	rep.BaselineConc = conc
	base, err := baseline(ctx, p.cfg.Python, table, cfg.Baseline, conc, want)
	if err != nil {
		return rep, err
	}
	rep.BaselineJobs, rep.BaselineJobsPerS = cfg.Baseline, base

	progress("pool: saturated throughput")
	lat, elapsed, err := runMany(ctx, p, job, want, cfg.Jobs, 2*rep.Workers, 0)
	if err != nil {
		return rep, err
	}
	rep.Jobs = cfg.Jobs
	rep.JobsPerS = float64(cfg.Jobs) / elapsed.Seconds()
	rep.SaturatedP50MS, rep.SaturatedP99MS = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	rep.Speedup = rep.JobsPerS / rep.BaselineJobsPerS

	progress("fork floor: the same program forked with no confinement or supervision")
	if cfg.FloorJobs <= 0 {
		cfg.FloorJobs = max(cfg.Jobs/2, rep.Workers)
	}
	if rep.FloorJobsPerS, err = floorRate(ctx, p, table, cfg.FloorJobs); err != nil {
		return rep, err
	}
	rep.OfFloor = rep.JobsPerS / rep.FloorJobsPerS

	progress("pool: latency at half load")
	interval := time.Duration(float64(time.Second) / (rep.JobsPerS / 2))
	lat, elapsed, err = runMany(ctx, p, job, want, cfg.HalfLoadJobs, 4*rep.Workers, interval)
	if err != nil {
		return rep, err
	}
	rep.HalfLoadJobsPerS = float64(cfg.HalfLoadJobs) / elapsed.Seconds()
	rep.P50MS, rep.P99MS = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	if rep.PoolMemory, err = p.Memory(); err != nil {
		return rep, err
	}
	rep.PoolMemoryBytes = rep.PoolMemory.PSSBytes
	if cfg.Soak > 0 {
		progress(fmt.Sprintf("soak: %d jobs, %.0f%% hostile", cfg.Soak, 100*cfg.Hostile))
		s, err := soak(ctx, p, job, want, cfg)
		if err != nil {
			return rep, err
		}
		rep.Soak = s
		progress("soak: closing the pool, then killing a pool's process")
		p.Close()
		s.LeftoverAfterClose = len(leftoverAfter(p.leftoverProcesses))
		if cfg.PoolProcess != nil {
			if s.LeftoverAfterKill, err = killProbe(ctx, cfg.PoolProcess); err != nil {
				return rep, err
			}
			s.KillChecked = true
		}
	}
	return rep, nil
}

// leftoverAfter polls list for up to a second (killed processes take a
// moment to go) and returns what it lists last.
func leftoverAfter(list func() []int) []int {
	var left []int
	for range 20 {
		if left = list(); len(left) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return left
}

// clearsPdeathsig is a job that clears its parent-death signal and stays:
// only its pool's isolation can end it when the pool's process dies.
const clearsPdeathsig = "import ctypes, time\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\ntime.sleep(100)\n"

// killProbe runs clearsPdeathsig in a pool process made by start, waits
// until the job runs, kills the process with SIGKILL and returns how many
// of the processes that were under it are alive 2 s later (then kills
// them).
func killProbe(ctx context.Context, start func(ctx context.Context, table, code string) *exec.Cmd) (int, error) {
	dir, err := os.MkdirTemp("", "tabler1-killprobe-")
	if err != nil {
		return 0, fmt.Errorf("kill probe: %w", err)
	}
	defer os.RemoveAll(dir)
	table, code := filepath.Join(dir, "t.csv"), filepath.Join(dir, "job.py")
	if err := os.WriteFile(table, []byte("a,b\n1,2\n"), 0o644); err != nil {
		return 0, fmt.Errorf("kill probe: %w", err)
	}
	if err := os.WriteFile(code, []byte(clearsPdeathsig), 0o644); err != nil {
		return 0, fmt.Errorf("kill probe: %w", err)
	}
	cmd := start(ctx, table, code)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("kill probe: starting %s: %w", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	deadline := time.Now().Add(2 * time.Minute)
	for !slices.ContainsFunc(slices.Collect(maps.Keys(descendants(pid))), sessionLeader) {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("kill probe: %s exited (%v) before its job ran", cmd.Path, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return 0, errors.New("kill probe: the pool's job did not start within 2 minutes")
		}
	}
	time.Sleep(500 * time.Millisecond) // the job clears its parent-death signal first
	procs := descendants(pid)
	_ = cmd.Process.Kill()
	<-exited
	alive := func() []int {
		var out []int
		for p, start := range procs {
			if st, ok := procStat(p); ok && st.start == start && st.state != "Z" {
				out = append(out, p)
			}
		}
		return out
	}
	time.Sleep(time.Second)
	left := leftoverAfter(alive)
	for _, p := range left {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return len(left), nil
}

// descendants returns pid's descendants, each with its start time.
func descendants(pid int) map[int]string {
	out := map[int]string{}
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			for _, k := range strings.Fields(string(kids)) {
				kid, err := strconv.Atoi(k)
				if err != nil {
					continue
				}
				if st, ok := procStat(kid); ok {
					out[kid] = st.start
					todo = append(todo, kid)
				}
			}
		}
	}
	return out
}

// sessionLeader reports whether pid leads its own session: a job's process
// does, a worker and its spare do not.
func sessionLeader(pid int) bool {
	st, ok := procStat(pid)
	return ok && st.session == strconv.Itoa(pid)
}

type stat struct{ state, session, start string }

// procStat reads the fields of /proc/pid/stat it needs.
func procStat(pid int) (stat, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	// The fields after the command name, which ends at the last ')':
	// state (3), ppid, pgrp, session (6), ..., starttime (22).
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 20 {
		return stat{}, false
	}
	return stat{state: f[0], session: f[3], start: f[19]}, true
}

// runMany runs n copies of job with at most conc in flight, starting one
// every interval (0: as fast as workers free up), and returns each latency.
func runMany(ctx context.Context, p *Pool, job execution.Job, want string, n, conc int, interval time.Duration) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var bad atomic.Int64
	var firstBad atomic.Value
	start := time.Now()
	for i := range n {
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, 0, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := time.Now()
			r := p.Run(ctx, job)
			lat[i] = time.Since(t)
			if r.Status != execution.StatusOK || r.Answer() != want {
				bad.Add(1)
				firstBad.CompareAndSwap(nil, fmt.Sprintf("%s %q (%s)", r.Status, r.Answer(), r.Detail))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if b := bad.Load(); b > 0 {
		return nil, 0, fmt.Errorf("%d of %d bench jobs failed, first: %v", b, n, firstBad.Load())
	}
	return lat, elapsed, nil
}

func percentileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

// baseline runs the program n times in a fresh python3 each (bridge, table
// load and program, as a worker's child would), conc at a time, and returns
// jobs per second.
func baseline(ctx context.Context, python string, table *layouts.Table, n, conc int, want string) (float64, error) {
	dir, err := os.MkdirTemp("", "tabler1-bench-")
	if err != nil {
		return 0, fmt.Errorf("creating the baseline directory: %w", err)
	}
	defer os.RemoveAll(dir)
	data, err := json.Marshal(table)
	if err != nil {
		return 0, err
	}
	tpath := filepath.Join(dir, "table.json")
	if err := os.WriteFile(tpath, data, 0o644); err != nil {
		return 0, fmt.Errorf("writing the baseline table: %w", err)
	}
	script := layouts.PandasBridge + "\nimport json\ndf, raw = load_table(json.load(open(" + strconv.Quote(tpath) + ")))\n" + benchProgram
	sem := make(chan struct{}, conc)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cmd := exec.CommandContext(ctx, python, "-c", script)
			cmd.Env = workerEnv()
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("baseline run %d: %w", i, err)
				return
			}
			r := execution.Result{Stdout: string(out)}
			if r.Answer() != want {
				errs[i] = fmt.Errorf("baseline run %d answered %q, the pool %q", i, r.Answer(), want)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / elapsed.Seconds(), nil
}

// soakHostile returns the hostile programs of the soak, each with a short wall
// clock so the soak stays fast.
func soakHostile() []string {
	return []string{
		"while True:\n    pass",
		"import os\nwhile True:\n    os.fork()",
		"x = bytearray(40 * 2**30)",
		"import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
		"import ctypes\nctypes.string_at(0)",
		"import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
		"import threading, time\nthreading.Thread(target=time.sleep, args=(1000,)).start()",
		"import subprocess\nsubprocess.run(['sleep', '100'])",
		"import os\nos.close(1)\nos.close(2)\nimport time\ntime.sleep(100)",
		"def f(n):\n    return f(n + 1)\nf(0)",
		"import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)",
		"with open('big', 'wb') as f:\n    while True:\n        f.write(b'0' * (1 << 20))",
	}
}

func soak(ctx context.Context, p *Pool, benign execution.Job, want string, cfg BenchConfig) (*SoakReport, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x50a4))
	var hostileJobs []execution.Job
	for _, code := range soakHostile() {
		hostileJobs = append(hostileJobs, execution.Job{Code: code})
	}
	for _, a := range sequenceAttacks() {
		hostileJobs = append(hostileJobs, execution.Job{Code: a.code, ReturnTable: a.returnTable})
	}
	s := &SoakReport{Jobs: cfg.Soak, Statuses: map[execution.Status]int{}}
	var mu sync.Mutex
	sem := make(chan struct{}, 2*p.Workers())
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Soak {
		job, hostile := benign, rng.Float64() < cfg.Hostile
		if hostile {
			job = hostileJobs[rng.IntN(len(hostileJobs))]
			job.Table = benign.Table
			job.Limits = execution.Limits{Wall: 300 * time.Millisecond, MemoryBytes: 256 << 20, FileBytes: 4 << 20}
		}
		if i == cfg.Soak/10 {
			wg.Wait()
			m, err := p.Memory()
			if err != nil {
				return nil, err
			}
			s.PSSStartBytes = m.PSSBytes
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := p.Run(ctx, job)
			mu.Lock()
			defer mu.Unlock()
			s.Statuses[r.Status]++
			fail := ""
			if hostile {
				s.Hostile++
			} else if r.Status != execution.StatusOK || r.Answer() != want {
				s.WrongAnswers++
				fail = "wrong answer"
			}
			switch r.Status {
			case execution.StatusOK, execution.StatusSyntaxError, execution.StatusRuntimeError, execution.StatusTimeout, execution.StatusMemoryExceeded,
				execution.StatusOutputExceeded, execution.StatusKilled:
			default:
				s.Lost++
				fail = "lost"
			}
			if fail != "" && len(s.Failures) < 5 {
				s.Failures = append(s.Failures, fmt.Sprintf("%s: job %d at %v: status %s, wall %v, cpu %v, peak %d, stdout %.200q, stderr %.300q, detail %q", fail, i, time.Since(start).Round(time.Millisecond), r.Status, r.Wall, r.CPU, r.PeakMemoryBytes, r.Stdout, r.Stderr, r.Detail))
			}
		}()
	}
	wg.Wait()
	s.JobsPerS = float64(cfg.Soak) / time.Since(start).Seconds()
	s.WorkersReplaced = p.Replaced()
	for range 20 {
		if s.Leftover = len(p.leftoverProcesses()); s.Leftover == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, err := p.Memory()
	if err != nil {
		return nil, err
	}
	s.PSSEndBytes = m.PSSBytes
	return s, nil
}

// floorRate runs n fork-floor cycles spread over all workers at once and
// returns cycles per second.
func floorRate(ctx context.Context, p *Pool, table *layouts.Table, n int) (float64, error) {
	workers := p.Workers()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		share := n / workers
		if i < n%workers {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if share > 0 {
				_, errs[i] = p.forkFloor(ctx, table, share)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// forkFloor has one worker fork n children that each run the bench program
// on table with no confinement and no supervision (the worker refuses any
// other program), and returns the time taken: the floor a fork-per-job pool
// cannot beat on this host.
func (p *Pool) forkFloor(ctx context.Context, table *layouts.Table, n int) (time.Duration, error) {
	w, err := p.take(ctx)
	if err != nil {
		return 0, err
	}
	req := request{Code: benchProgram, Table: table, Limits: wire(p.cfg.Limits), Floor: n}
	// A second a cycle plus a minute: a backstop for a loaded host, not a
	// measure.
	res, healthy := w.run(ctx, req, time.Duration(n)*time.Second+time.Minute, p.cfg.Grace)
	p.give(w, healthy)
	if res.Status != execution.StatusOK {
		return 0, fmt.Errorf("measuring the fork floor: %s: %s", res.Status, res.Detail)
	}
	return res.Wall, nil
}

// sequenceAttack is a hostile program that aims at what a job leaves for
// the next one on the same worker, or at the worker itself through the
// status channel (issue #14). The soak interleaves them with clean jobs,
// and the tests run each on a one-worker pool followed by clean jobs.
type sequenceAttack struct {
	name        string
	code        string
	returnTable bool
}

// sequenceAttacks returns the programs of issue #14, items 1-5.
func sequenceAttacks() []sequenceAttack {
	deep := "for _ in range(1100):\n    os.mkdir('d')\n    os.chdir('d')\n"
	return []sequenceAttack{
		{name: "seek stdout past the end", code: "import os\nos.lseek(1, 1 << 62, 0)\n"},
		{name: "seek the status channel past the end", code: "import os\nos.lseek(3, 1 << 62, 0)\n"},
		{name: "deep tree in the job directory", code: "import os\n" + deep},
		{name: "deep tree and a file in the temporary directory", code: "import os\nd = os.environ.get('TMPDIR', '/tmp')\nopen(os.path.join(d, 'left-behind'), 'w').write('secret')\nos.chdir(d)\n" + deep},
		{name: "clears its parent-death signal", code: clearsPdeathsig},
		{name: "huge exception fields on the status channel", code: "import os\nos.write(3, ('{\"kind\": \"exception\", \"type\": \"' + 'T' * (7 << 20) + '\", \"line\": 1, \"detail\": \"' + 'D' * (7 << 20) + '\"}').encode())\nos._exit(1)\n"},
		{name: "a table not asked for", code: "import os\nos.write(3, b'{\"kind\": \"ok\", \"table\": {\"header\": [[\"a\"]], \"rows\": [[\"1\"]]}}')\nos._exit(0)\n"},
		{name: "a forged setup record", code: "import os\nos.write(3, b'{\"kind\": \"setup\", \"detail\": \"forged\"}')\nos._exit(71)\n"},
		{name: "a boolean line number", code: "import os\nos.write(3, b'{\"kind\": \"exception\", \"type\": \"E\", \"line\": true}')\nos._exit(1)\n"},
		{name: "a huge line number", code: "import os\nos.write(3, b'{\"kind\": \"exception\", \"type\": \"E\", \"line\": 123456789012345678901234567890}')\nos._exit(1)\n"},
		{name: "a malformed returned table", returnTable: true, code: "import os\nos.write(3, b'{\"kind\": \"ok\", \"table\": {\"header\": [[1, null]], \"rows\": 5}}')\nos._exit(0)\n"},
	}
}
