package sandbox

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tabler1/sandbox/execution"
)

// busyWorkerPID waits until some worker has a running job and returns the
// worker's pid.
func busyWorkerPID(t *testing.T, p *Pool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for w := range p.workers {
			// A worker is busy when a child of it leads its own session:
			// a job's child calls setsid, an idle worker's spare does not.
			kids, _ := os.ReadFile("/proc/" + strconv.Itoa(w.cmd.Process.Pid) + "/task/" + strconv.Itoa(w.cmd.Process.Pid) + "/children")
			for _, kid := range strings.Fields(string(kids)) {
				if pid, _ := strconv.Atoi(kid); sessionLeader(pid) {
					p.mu.Unlock()
					return w.cmd.Process.Pid
				}
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no worker became busy")
	return 0
}

func TestWorkerDeathIsASandboxErrorAndTheWorkerIsReplaced(t *testing.T) {
	p := pool(t)
	done := make(chan execution.Result, 1)
	go func() {
		done <- p.Run(context.Background(), execution.Job{Code: "import time\ntime.sleep(30)", Limits: execution.Limits{Wall: 30 * time.Second}})
	}()
	pid := busyWorkerPID(t, p)
	syscall.Kill(pid, syscall.SIGKILL)
	r := <-done
	if r.Status != execution.StatusSandboxError || !strings.Contains(r.Detail, "died") {
		t.Fatalf("status %q detail %q, want sandbox_error saying the worker died", r.Status, r.Detail)
	}
	for range 3 * p.Workers() {
		if r := p.Run(context.Background(), execution.Job{Code: "print(6*7)"}); r.Answer() != "42" {
			t.Fatalf("after the replacement: %q %q (%s)", r.Status, r.Answer(), r.Detail)
		}
	}
	if left := leftoverJobProcesses(p); len(left) > 0 {
		t.Errorf("the dead worker's job survived: %v", left)
	}
}

func TestBackstopWhenTheWorkerHangs(t *testing.T) {
	p := pool(t)
	done := make(chan execution.Result, 1)
	start := time.Now()
	go func() {
		done <- p.Run(context.Background(), execution.Job{Code: "import time\ntime.sleep(30)", Limits: execution.Limits{Wall: 500 * time.Millisecond}})
	}()
	pid := busyWorkerPID(t, p)
	// A stopped worker cannot enforce the wall clock: the pool must.
	syscall.Kill(pid, syscall.SIGSTOP)
	r := <-done
	// sandbox_error when the worker stopped before it reported the child.
	if (r.Status != execution.StatusTimeout && r.Status != execution.StatusSandboxError) || !strings.Contains(r.Detail, "killed") {
		t.Fatalf("status %q detail %q, want timeout (or sandbox_error) by the backstop", r.Status, r.Detail)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("the backstop took %v", el)
	}
	if r := p.Run(context.Background(), execution.Job{Code: "print(6*7)"}); r.Answer() != "42" {
		t.Fatalf("after the backstop: %q %q (%s)", r.Status, r.Answer(), r.Detail)
	}
	if left := leftoverJobProcesses(p); len(left) > 0 {
		for _, pid := range left {
			st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			t.Logf("survivor %d:\n%s", pid, st)
		}
		t.Errorf("the hung worker's job survived: %v", left)
	}
}

func TestClosedPoolAnswers(t *testing.T) {
	pool(t)
	p, err := NewPool(context.Background(), PoolConfig{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r := p.Run(context.Background(), execution.Job{Code: "print(1)"}); r.Status != execution.StatusSandboxError {
		t.Fatalf("Run on a closed pool: %q, want sandbox_error", r.Status)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNewPoolWithoutPandasSaysWhatToDo(t *testing.T) {
	_, err := NewPool(context.Background(), PoolConfig{Workers: 1, Python: "/nonexistent/python3"})
	if err == nil || !strings.Contains(err.Error(), "TABLER1_PYTHON") {
		t.Fatalf("error %v, want one naming TABLER1_PYTHON", err)
	}
}

// TestWeakerMode forces the weaker mode: no network or mount namespace.
func TestWeakerMode(t *testing.T) {
	pool(t)
	p, err := NewPool(context.Background(), PoolConfig{Workers: 1, Weaker: Isolation{NetNS: true, MountNS: true, Cgroup: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	iso := p.Isolation()
	if iso.NetNS || iso.MountNS || iso.Full() {
		t.Fatalf("isolation %v, want no netns and no mountns", iso)
	}
	if !iso.Seccomp {
		t.Skip("no seccomp on this host: the weaker mode cannot close the network")
	}
	tests := []struct {
		name string
		code string
		want execution.Status
		out  string
	}{
		// Never connects: socket() itself is refused.
		{"public address refused before any packet", "import socket\ns = socket.socket()\ns.connect(('192.0.2.1', 80))", execution.StatusRuntimeError, ""},
		{"UDP refused", "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)", execution.StatusRuntimeError, ""},
		{"IPv6 refused", "import socket\nsocket.socket(socket.AF_INET6)", execution.StatusRuntimeError, ""},
		{"socketpair allowed", "import socket\na, b = socket.socketpair()\na.send(b'hi')\nprint(b.recv(2).decode())", execution.StatusOK, "hi"},
		{"AF_UNIX socket refused", "import socket\nsocket.socket(socket.AF_UNIX)", execution.StatusRuntimeError, ""},
		{"working directory is fresh and TMPDIR", "import os\nprint(os.listdir('.'), os.getcwd() == os.environ['TMPDIR'])", execution.StatusOK, "[] True"},
		{"fork refused", "import os\nos.fork()", execution.StatusRuntimeError, ""},
	}
	for _, tc := range tests {
		r := p.Run(context.Background(), execution.Job{Code: tc.code, Limits: execution.Limits{Wall: 5 * time.Second}})
		if r.Status != tc.want || (tc.out != "" && r.Answer() != tc.out) {
			t.Errorf("%s: status %q answer %q, want %q %q; stderr %q", tc.name, r.Status, r.Answer(), tc.want, tc.out, r.Stderr)
		}
		if tc.want == execution.StatusRuntimeError && !strings.Contains(r.Stderr, "Error") {
			t.Errorf("%s: stderr %q names no error", tc.name, r.Stderr)
		}
	}
	// The working directory is removed after the job.
	r := p.Run(context.Background(), execution.Job{Code: "import os\nprint(os.getcwd())"})
	if _, err := os.Stat(r.Answer()); err == nil {
		t.Errorf("working directory %s outlived its job", r.Answer())
	}
}
