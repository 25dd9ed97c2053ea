package sandbox

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"tabler1/sandbox/execution"
)

// workerSource is the Python worker program; see worker.py.
//
//go:embed worker.py
var workerSource string

// workerEnv returns the whole environment of a worker: nothing of the
// orchestrator's (API keys included) reaches it or its children. One BLAS
// thread keeps the worker single-threaded, so forking it is safe; glibc's
// malloc with transparent huge pages makes each fork copy far fewer page
// table entries, and its perturb setting scrubs freed memory (see below).
func workerEnv() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"OPENBLAS_NUM_THREADS=1",
		"OMP_NUM_THREADS=1",
		"MKL_NUM_THREADS=1",
		"NUMEXPR_MAX_THREADS=1",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONHASHSEED=0", // the same str hashes (and set order) in every worker: see Dedup
		"PYTHONMALLOC=malloc",
		// perturb overwrites what malloc frees, and without the tcache
		// nothing freed escapes it: a child, which inherits the worker's
		// heap, finds no trace of the jobs before it (their code, output).
		"GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.perturb=165:glibc.malloc.tcache_count=0",
	}
}

// worker is one long-lived Python process that forks a child per job. It
// runs one job at a time; the pool hands it to one Run at a time.
type worker struct {
	index  int
	cmd    *exec.Cmd
	in     *os.File // requests
	events chan event
	// readErr is set before events is closed.
	readErr error
	ready   event
	seq     uint64
	// jobUID is the user the worker's jobs run as when it differs from the
	// pool's (root mode), else 0.
	jobUID int
	log    *zap.Logger
	waited chan struct{}
	once   sync.Once
}

// startWorker starts worker index and waits for its ready event.
func startWorker(ctx context.Context, cfg *PoolConfig, index int, init initMessage) (*worker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the request pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("creating the event pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("creating the log pipe: %w", err)
	}
	cmd := exec.Command(cfg.Python, "-s", "-c", workerSource)
	cmd.Env = workerEnv()
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// Own process group, so the pool can kill the worker and anything it
	// left; killed with the orchestrator. As root, the init of a PID
	// namespace of its own: the kernel kills every process of its jobs
	// when it dies, whatever a job did to its parent-death signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 && !cfg.Weaker.PIDNS {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
	}
	err = cmd.Start()
	if err != nil && cmd.SysProcAttr.Cloneflags != 0 {
		// A host that refuses PID namespaces (a container without the
		// capability) gets the weaker mode.
		cmd = exec.Command(cfg.Python, "-s", "-c", workerSource)
		cmd.Env, cmd.Dir = workerEnv(), "/"
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err = cmd.Start()
	}
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting %s: %w (set PoolConfig.Python or TABLER1_PYTHON to a Python 3 with pandas)", cfg.Python, err)
	}
	w := &worker{
		index:  index,
		cmd:    cmd,
		in:     inW,
		events: make(chan event, 2),
		log:    cfg.Logger.With(zap.Int("worker", index), zap.Int("pid", cmd.Process.Pid)),
		waited: make(chan struct{}),
	}
	stderrTail := &tailBuffer{max: 4096}
	go w.logStderr(errR, stderrTail)
	go w.readEvents(outR)
	go func() {
		_ = cmd.Wait()
		close(w.waited)
	}()
	// The job user is unique on the host while the worker lives: it is
	// derived from the worker's pid, so pools in other processes never
	// share it.
	init.UID = cfg.UIDBase + cmd.Process.Pid
	init.GID = init.UID
	if err := writeFrame(inW, init); err != nil {
		w.kill()
		return nil, fmt.Errorf("sending the worker its configuration: %w; its stderr: %s", err, stderrTail.String())
	}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-w.events:
		if !ok || ev.Event != "ready" {
			w.kill()
			<-w.waited
			return nil, fmt.Errorf("worker %s exited before it was ready (is pandas installed? run scripts/setup.sh or set TABLER1_PYTHON): %v; its stderr: %s",
				cfg.Python, w.readErr, stderrTail.String())
		}
		w.ready = ev
		if ev.Mode.Setuid {
			w.jobUID = init.UID
		}
		return w, nil
	case <-timer.C:
		w.kill()
		return nil, fmt.Errorf("worker %s was not ready after %v; its stderr: %s", cfg.Python, cfg.StartTimeout, stderrTail.String())
	case <-ctx.Done():
		w.kill()
		return nil, fmt.Errorf("starting a worker: %w", ctx.Err())
	}
}

func (w *worker) readEvents(r *os.File) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		ev, err := readEvent(br)
		if err != nil {
			w.readErr = err
			close(w.events)
			return
		}
		w.events <- ev
	}
}

func (w *worker) logStderr(r *os.File, tail *tailBuffer) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		tail.add(line)
		w.log.Warn("sandbox worker stderr", zap.String("line", line))
	}
}

// kill ends the worker's whole process group. Children of jobs are in
// their own sessions and are killed by pid (see run).
func (w *worker) kill() {
	w.once.Do(func() {
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		_ = w.cmd.Process.Kill()
		w.in.Close()
		if w.jobUID > 0 {
			killUser(w.jobUID)
		}
	})
}

// close asks the worker to exit (end of its request stream) and kills it if
// it has not within grace.
func (w *worker) close(grace time.Duration) {
	w.in.Close()
	select {
	case <-w.waited:
	case <-time.After(grace):
	}
	w.kill()
	<-w.waited
}

// run sends one job and waits for its result. healthy is false when the
// worker must be replaced (it died, broke the protocol, or missed the
// deadline by more than grace).
func (w *worker) run(ctx context.Context, req request, wall, grace time.Duration) (res execution.Result, healthy bool) {
	w.seq++
	req.ID = w.seq
	start := time.Now()
	_ = w.in.SetWriteDeadline(start.Add(grace))
	if err := writeFrame(w.in, req); err != nil {
		return sandboxError("sending the job to worker %d: %v", w.index, err), false
	}
	backstop := time.NewTimer(wall + grace)
	defer backstop.Stop()
	done := ctx.Done()
	childPID := 0
	cancelled := false
	for {
		select {
		case ev, ok := <-w.events:
			if !ok {
				return sandboxError("worker %d died during the job: %v", w.index, w.readErr), false
			}
			if ev.ID != req.ID {
				return sandboxError("worker %d answered job %d while job %d was running", w.index, ev.ID, req.ID), false
			}
			switch ev.Event {
			case "start":
				childPID = ev.PID
				if cancelled {
					killGroup(w.hostPID(childPID))
				}
			case "done":
				r := ev.result()
				if cancelled {
					r.Status = execution.StatusKilled
					r.Detail = fmt.Sprintf("cancelled: %v", ctx.Err())
				}
				if ev.Retire {
					w.log.Warn("sandbox worker could not clean up after a job; replacing it", zap.String("detail", r.Detail))
				}
				return r, !ev.Retire
			default:
				return sandboxError("worker %d sent an unknown event %q", w.index, ev.Event), false
			}
		case <-done:
			// Kill the job and still read its result, so the worker stays
			// in step and can be reused.
			cancelled = true
			done = nil
			if childPID > 0 {
				killGroup(w.hostPID(childPID))
			}
			backstop.Reset(grace)
		case <-backstop.C:
			if childPID > 0 {
				killGroup(w.hostPID(childPID))
			}
			w.kill()
			w.log.Warn("sandbox worker missed the job's deadline; replacing it", zap.Duration("wall", wall))
			r := execution.Result{Status: execution.StatusTimeout, Wall: time.Since(start),
				Detail: fmt.Sprintf("worker %d did not finish the job within %v plus %v grace; the job and the worker were killed", w.index, wall, grace)}
			if cancelled {
				r.Status = execution.StatusKilled
				r.Detail = fmt.Sprintf("cancelled (%v); worker %d did not confirm and was killed", ctx.Err(), w.index)
			} else if childPID == 0 {
				r.Status = execution.StatusSandboxError
			}
			return r, false
		}
	}
}

func killGroup(pid int) {
	if pid <= 0 {
		return // not a process: 0 and -1 would name the pool's own group or every process
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func (ev event) result() execution.Result {
	st := ev.Status
	switch st {
	case execution.StatusOK, execution.StatusSyntaxError, execution.StatusRuntimeError, execution.StatusTimeout, execution.StatusMemoryExceeded,
		execution.StatusOutputExceeded, execution.StatusKilled, execution.StatusSandboxError:
	default:
		return sandboxError("the worker reported an unknown status %q", st)
	}
	return execution.Result{
		Status:          st,
		Stdout:          ev.Stdout,
		Stderr:          ev.Stderr,
		ExceptionType:   ev.ExceptionType,
		ErrorLine:       ev.ErrorLine,
		Detail:          ev.Detail,
		Wall:            time.Duration(ev.WallNS),
		CPU:             time.Duration(ev.CPUNS),
		PeakMemoryBytes: ev.PeakMemoryBytes,
		Table:           ev.Table,
	}
}

func sandboxError(format string, args ...any) execution.Result {
	return execution.Result{Status: execution.StatusSandboxError, Detail: fmt.Sprintf(format, args...)}
}

// tailBuffer keeps the last lines written to it, up to max bytes, for error
// messages.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
	size  int
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > t.max && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(empty)"
	}
	return strings.Join(t.lines, "\n")
}
