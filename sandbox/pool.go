package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// PoolConfig configures a local Pool. The zero value is usable: one worker
// per core, ${TABLER1_PYTHON:-/usr/bin/python3}, DefaultLimits, no logging.
type PoolConfig struct {
	// Workers is the number of worker processes, each running one job at a
	// time (default runtime.NumCPU()).
	Workers int
	// Python is the interpreter, which must have numpy and pandas (default
	// $TABLER1_PYTHON, else /usr/bin/python3).
	Python string
	// Limits apply to a job for each of its zero fields (default
	// DefaultLimits()).
	Limits execution.Limits
	// UIDBase: when the pool runs as root, a worker runs its jobs as user
	// and group UIDBase plus the worker's pid, so jobs of different workers,
	// and of other pools on the host, never share a user and cannot touch
	// each other (default 1<<20, above the users of any distribution).
	UIDBase int
	// Weaker switches off isolation layers even where the host allows them;
	// for tests of the weaker mode. Normal use leaves it zero.
	Weaker Isolation
	// StartTimeout bounds a worker's start-up, the pandas import included
	// (default 60 s).
	StartTimeout time.Duration
	// Grace is how long past a job's wall-clock limit the pool waits for its
	// worker before killing and replacing it (default 2 s).
	Grace time.Duration
	// Logger receives worker replacements, worker stderr and the weaker-mode
	// warning (default zap.NewNop()).
	Logger *zap.Logger
}

// Isolation says which confinement layers are in force for every job.
type Isolation struct {
	NetNS   bool `json:"netns"`   // private network namespace with no interface up
	MountNS bool `json:"mountns"` // private tmpfs /tmp, /var/tmp, /dev/shm
	Seccomp bool `json:"seccomp"` // syscall filter: no processes, exec, foreign signals, ptrace
	Setuid  bool `json:"setuid"`  // jobs run as an unprivileged per-worker user
	Cgroup  bool `json:"cgroup"`  // cgroup v2 memory (swap off) and pids limits
	// HideProc: a /proc of the worker's own (hidepid), where a job sees
	// only its own processes; needs the mount namespace.
	HideProc bool `json:"hideproc"`
	// MinRoot: the worker and its jobs see a root holding only /usr, /etc,
	// the interpreter, /dev and private /proc, /run and temporary
	// directories; the host's other files are gone. Needs the mount
	// namespace.
	MinRoot bool `json:"minroot"`
	// PIDNS: the worker is the init of a PID namespace of its own, so no
	// process of its jobs outlives it or the job (needs root).
	PIDNS bool `json:"pidns"`
}

// Full reports whether every layer but cgroup v2 is in force (cgroup v2 is
// used where the host delegates it; rlimits bound memory otherwise).
func (i Isolation) Full() bool { return i.NetNS && i.MountNS && i.Seccomp && i.Setuid }

func (i Isolation) String() string {
	var on, off []string
	for _, l := range []struct {
		name string
		ok   bool
	}{{"netns", i.NetNS}, {"mountns", i.MountNS}, {"minroot", i.MinRoot}, {"hideproc", i.HideProc}, {"pidns", i.PIDNS}, {"seccomp", i.Seccomp}, {"setuid", i.Setuid}, {"cgroup", i.Cgroup}} {
		if l.ok {
			on = append(on, l.name)
		} else {
			off = append(off, l.name)
		}
	}
	return fmt.Sprintf("on: %s; off: %s", strings.Join(on, ","), strings.Join(off, ","))
}

// Pool is the local Executor: a fixed set of pre-started Python workers,
// each forking a fresh, confined child per job. Run and CheckSyntax are safe
// for concurrent use; a call waits for a free worker.
type Pool struct {
	cfg      PoolConfig
	log      *zap.Logger
	init     initMessage
	idle     chan *worker
	quit     chan struct{}
	broken   chan struct{} // closed when workers cannot be restarted
	mode     Isolation
	baseVM   int64
	cg       *cgroupSet
	mu       sync.Mutex
	workers  map[*worker]bool
	uids     map[int]bool // every job user this pool has used
	closed   bool
	starting sync.WaitGroup
	fails    int
	brokeErr error
	replaced atomic.Int64
}

// NewPool starts cfg.Workers workers and returns when all are ready. It
// fails when the interpreter cannot import pandas or a worker does not
// start; the error says which and what to do.
func NewPool(ctx context.Context, cfg PoolConfig) (*Pool, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Python == "" {
		cfg.Python = DefaultPython(os.Getenv)
	}
	cfg.Limits = cfg.Limits.OrDefault(DefaultLimits())
	if cfg.UIDBase <= 0 {
		cfg.UIDBase = 1 << 20
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	p := &Pool{
		cfg:     cfg,
		log:     cfg.Logger,
		idle:    make(chan *worker, cfg.Workers),
		quit:    make(chan struct{}),
		broken:  make(chan struct{}),
		workers: make(map[*worker]bool),
		uids:    make(map[int]bool),
	}
	p.init = initMessage{
		Bridge:   layouts.PandasBridge,
		NetNS:    !cfg.Weaker.NetNS,
		MountNS:  !cfg.Weaker.MountNS,
		MinRoot:  !cfg.Weaker.MinRoot,
		Seccomp:  !cfg.Weaker.Seccomp,
		TmpBytes: max(4*cfg.Limits.FileBytes, 64<<20),
		TableCap: 16 << 20,
		Workbase: os.TempDir(),
	}
	if os.Geteuid() == 0 && !cfg.Weaker.Cgroup {
		cg, err := newCgroupSet(cfg.Workers)
		if err != nil {
			p.log.Info("cgroup v2 is not usable; memory is bounded by RLIMIT_AS only", zap.Error(err))
		} else {
			p.cg = cg
		}
	}
	errs := make([]error, cfg.Workers)
	ws := make([]*worker, cfg.Workers)
	var wg sync.WaitGroup
	for i := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws[i], errs[i] = startWorker(ctx, &p.cfg, i, p.initFor(i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, w := range ws {
			if w != nil {
				w.kill()
			}
		}
		p.cg.remove()
		return nil, fmt.Errorf("starting the sandbox pool: %w", err)
	}
	p.mode = ws[0].ready.Mode
	p.mode.Cgroup = p.cg != nil
	p.baseVM = ws[0].ready.BaseVM
	for _, w := range ws {
		p.addWorker(w)
		p.idle <- w
	}
	if !p.mode.Full() {
		p.log.Warn("sandbox runs in the weaker isolation mode (see the sandbox package doc)", zap.Stringer("isolation", p.mode))
	}
	return p, nil
}

// DefaultPython is $TABLER1_PYTHON, else /usr/bin/python3 (never PATH's
// python3, which may lack pandas).
func DefaultPython(getenv func(string) string) string {
	if p := getenv("TABLER1_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

func (p *Pool) initFor(i int) initMessage {
	m := p.init
	if p.cg != nil {
		m.Cgroup = p.cg.jobDir(i)
	}
	return m
}

func (p *Pool) addWorker(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addWorkerLocked(w)
}

func (p *Pool) addWorkerLocked(w *worker) {
	p.workers[w] = true
	if w.jobUID > 0 {
		p.uids[w.jobUID] = true
	}
}

// Isolation reports the confinement layers in force. Anything short of
// Full is the weaker mode described in the package doc.
func (p *Pool) Isolation() Isolation { return p.mode }

// Replaced counts the workers replaced since the pool started (each one
// died, broke the protocol or missed a deadline).
func (p *Pool) Replaced() int64 { return p.replaced.Load() }

// Workers is the number of workers.
func (p *Pool) Workers() int { return p.cfg.Workers }

// Run runs job on the next free worker. It is safe for concurrent use.
func (p *Pool) Run(ctx context.Context, job execution.Job) execution.Result {
	return p.run(ctx, job, false)
}

// CheckSyntax compiles code without running it, in a confined child (the
// compiler itself can be made to exhaust memory): StatusOK or
// StatusSyntaxError with the line.
func (p *Pool) CheckSyntax(ctx context.Context, code string) execution.Result {
	return p.run(ctx, execution.Job{Code: code, Limits: execution.Limits{Wall: 5 * time.Second}}, true)
}

func (p *Pool) run(ctx context.Context, job execution.Job, compileOnly bool) execution.Result {
	start := time.Now()
	if err := validateJob(job); err != nil {
		return execution.Result{Status: execution.StatusSandboxError, Detail: err.Error()}
	}
	lim := job.Limits.OrDefault(p.cfg.Limits)
	req := request{Code: job.Code, Table: job.Table, Extra: job.Extra, Limits: wire(lim),
		ReturnTable: job.ReturnTable, CompileOnly: compileOnly}
	w, err := p.take(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return execution.Result{Status: execution.StatusKilled, Wall: time.Since(start), Detail: err.Error()}
		}
		return sandboxError("%v", err)
	}
	res, healthy := w.run(ctx, req, lim.Wall, p.cfg.Grace)
	p.give(w, healthy)
	if !job.ReturnTable {
		res.Table = nil
	}
	return capOutput(res, lim.OutputBytes)
}

// take waits for a free worker.
func (p *Pool) take(ctx context.Context) (*worker, error) {
	select {
	case w := <-p.idle:
		return w, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("cancelled while waiting for a free worker: %w", ctx.Err())
	case <-p.quit:
		return nil, errors.New("the pool is closed")
	case <-p.broken:
		return nil, fmt.Errorf("no sandbox worker can be started: %w", p.brokeErr)
	}
}

// give returns a worker taken with take: back to the idle set, or replaced
// when it is not healthy.
func (p *Pool) give(w *worker, healthy bool) {
	if healthy {
		p.idle <- w
	} else {
		p.replace(w)
	}
}

func validateJob(job execution.Job) error {
	check := func(name string, t *layouts.Table) error {
		if t == nil {
			return nil
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("job table %s is not valid: %w", name, err)
		}
		return nil
	}
	if err := check("df", job.Table); err != nil {
		return err
	}
	for name, t := range job.Extra {
		if t == nil {
			return fmt.Errorf("job extra table %q is nil", name)
		}
		if err := check(fmt.Sprintf("tables[%q]", name), t); err != nil {
			return err
		}
	}
	return nil
}

// capOutput enforces the output cap again on the Go side, and the caps on
// the fields a job's own status record fills: the worker is trusted to,
// but a result must never be larger than asked for.
func capOutput(r execution.Result, n int) execution.Result {
	if len(r.Stdout) > n {
		r.Stdout = r.Stdout[:n]
	}
	if len(r.Stderr) > n {
		r.Stderr = r.Stderr[:n]
	}
	if len(r.ExceptionType) > maxExceptionType {
		r.ExceptionType = strings.ToValidUTF8(r.ExceptionType[:maxExceptionType], "")
	}
	if len(r.Detail) > maxDetail {
		r.Detail = strings.ToValidUTF8(r.Detail[:maxDetail], "")
	}
	return r
}

// replace kills w and starts a new worker in its place in the background.
func (p *Pool) replace(w *worker) {
	p.replaced.Add(1)
	w.kill()
	p.mu.Lock()
	delete(p.workers, w)
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.starting.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.starting.Done()
		<-w.waited
		backoff := 100 * time.Millisecond
		for {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.quit:
					cancel()
				case <-ctx.Done():
				}
			}()
			nw, err := startWorker(ctx, &p.cfg, w.index, p.initFor(w.index))
			cancel()
			p.mu.Lock()
			if err == nil {
				p.fails = 0
				if p.closed {
					p.mu.Unlock()
					nw.close(time.Second)
					return
				}
				p.addWorkerLocked(nw)
				p.mu.Unlock()
				p.log.Info("sandbox worker replaced", zap.Int("worker", w.index))
				p.idle <- nw
				return
			}
			p.fails++
			if p.fails >= 5*p.cfg.Workers && p.brokeErr == nil {
				p.brokeErr = err
				close(p.broken)
			}
			closed := p.closed
			p.mu.Unlock()
			p.log.Error("restarting a sandbox worker", zap.Int("worker", w.index), zap.Error(err))
			if closed {
				return
			}
			select {
			case <-p.quit:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// Close stops all workers, killing jobs still running, and removes the
// pool's cgroups. Runs waiting for a worker return StatusSandboxError.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.quit)
	ws := make([]*worker, 0, len(p.workers))
	for w := range p.workers {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.close(2 * time.Second)
		}()
	}
	wg.Wait()
	p.starting.Wait()
	return p.cg.remove()
}

// The caps on a result's exception type and detail: both come from a
// status record the job can write itself (see capOutput).
const (
	maxExceptionType = 256
	maxDetail        = 4096
)

// hostPID returns the host's pid of the worker's child that is nsPID in
// the worker's PID namespace (the pids in its events), or 0 when it has
// none (it ended); nsPID itself without a PID namespace.
func (w *worker) hostPID(nsPID int) int {
	if !w.ready.Mode.PIDNS {
		return nsPID
	}
	wp := strconv.Itoa(w.cmd.Process.Pid)
	kids, _ := os.ReadFile("/proc/" + wp + "/task/" + wp + "/children")
	for _, kid := range strings.Fields(string(kids)) {
		if innermostPID(kid) == strconv.Itoa(nsPID) {
			pid, _ := strconv.Atoi(kid)
			return pid
		}
	}
	return 0
}

// innermostPID returns process pid's pid in the innermost PID namespace it
// is in, "" when it is gone.
func innermostPID(pid string) string {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[len(f)-1]
			}
		}
	}
	return ""
}
