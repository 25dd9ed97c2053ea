package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tabler1/sandbox/execution"
)

// hostile is one program of the security battery: it must end with one of
// the statuses in want, and check (if any) looks at its result.
type hostile struct {
	name  string
	code  string
	want  []execution.Status
	check func(t *testing.T, r execution.Result)
	// needs names an isolation layer the case relies on; skipped without it.
	needs func(Isolation) bool
	// slow cases (touching hundreds of MB) get a longer wall-clock limit.
	slow bool
	// returnTable asks for df back (Job.ReturnTable).
	returnTable bool
}

// sequenceWant is the status each of sequenceAttacks must end with: the
// job's own failure, never sandbox_error.
var sequenceWant = map[string]execution.Status{
	"seek stdout past the end":                        execution.StatusOutputExceeded,
	"seek the status channel past the end":            execution.StatusOK,
	"deep tree in the job directory":                  execution.StatusOK,
	"deep tree and a file in the temporary directory": execution.StatusOK,
	"clears its parent-death signal":                  execution.StatusTimeout,
	"huge exception fields on the status channel":     execution.StatusRuntimeError,
	"a table not asked for":                           execution.StatusOK,
	"a forged setup record":                           execution.StatusRuntimeError,
	"a boolean line number":                           execution.StatusRuntimeError,
	"a huge line number":                              execution.StatusRuntimeError,
	"a malformed returned table":                      execution.StatusRuntimeError,
}

// sequenceBattery turns sequenceAttacks into battery cases.
func sequenceBattery() []hostile {
	var out []hostile
	for _, a := range sequenceAttacks() {
		want, ok := sequenceWant[a.name]
		if !ok {
			want = "(no status listed in sequenceWant)"
		}
		out = append(out, hostile{name: a.name, code: a.code, want: []execution.Status{want}, returnTable: a.returnTable,
			check: func(t *testing.T, r execution.Result) {
				if len(r.ExceptionType) > maxExceptionType || len(r.Detail) > maxDetail || r.Table != nil {
					t.Errorf("exception type of %d bytes, detail of %d, table %v: over the caps or not asked for", len(r.ExceptionType), len(r.Detail), r.Table)
				}
			}})
	}
	return out
}

func stdoutHas(s string) func(t *testing.T, r execution.Result) {
	return func(t *testing.T, r execution.Result) {
		t.Helper()
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("stdout %q does not contain %q", r.Stdout, s)
		}
	}
}

func stderrHas(s string) func(t *testing.T, r execution.Result) {
	return func(t *testing.T, r execution.Result) {
		t.Helper()
		if !strings.Contains(r.Stderr, s) {
			t.Errorf("stderr %q does not contain %q", r.Stderr, s)
		}
	}
}

func battery(listenPort int, gopid int, nonce string) []hostile {
	st := func(s ...execution.Status) []execution.Status { return s }
	netns := func(i Isolation) bool { return i.NetNS }
	seccomp := func(i Isolation) bool { return i.Seccomp }
	root := func(i Isolation) bool { return i.Setuid }
	mountns := func(i Isolation) bool { return i.MountNS }
	hideproc := func(i Isolation) bool { return i.HideProc && i.Setuid }
	minroot := func(i Isolation) bool { return i.MinRoot }
	here, _ := os.Getwd() // the orchestrator's checkout
	self, _ := filepath.Abs("security_test.go")
	return []hostile{
		{name: "infinite loop", code: "while True:\n    pass", want: st(execution.StatusTimeout)},
		{name: "sleep forever", code: "import time\ntime.sleep(1000)", want: st(execution.StatusTimeout)},
		{name: "ignoring SIGTERM", code: "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass", want: st(execution.StatusTimeout)},
		{name: "catching SIGXCPU", code: "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass", want: st(execution.StatusTimeout)},
		{name: "fork loop", code: "import os\nwhile True:\n    os.fork()", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "fork then wait", code: "import os\npid = os.fork()\nif pid == 0:\n    import time; time.sleep(1000)\nos.wait()", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "multiprocessing", code: "import multiprocessing as m\np = m.Process(target=print, args=('child',))\np.start()\np.join()", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "subprocess", code: "import subprocess\nprint(subprocess.run(['id'], capture_output=True).stdout)", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "os.system runs nothing", code: "import os\nprint('rc', os.system('echo pwned'))", want: st(execution.StatusOK), needs: seccomp,
			check: func(t *testing.T, r execution.Result) {
				if strings.Contains(r.Stdout, "pwned") || r.Answer() == "rc 0" {
					t.Errorf("os.system ran a shell: %q", r.Stdout)
				}
			}},
		{name: "exec a shell", code: "import os\nos.execv('/bin/sh', ['sh', '-c', 'echo pwned'])", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "posix_spawn", code: "import os\nos.posix_spawn('/bin/true', ['true'], {})", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "allocate 40 GiB at once", slow: true, code: "x = bytearray(40 * 2**30)", want: st(execution.StatusMemoryExceeded)},
		{name: "allocate until it fails", slow: true, code: "l = []\nwhile True:\n    l.append(bytearray(50 * 2**20))", want: st(execution.StatusMemoryExceeded)},
		{name: "numpy 80 GB array", slow: true, code: "a = np.ones((100000, 100000))", want: st(execution.StatusMemoryExceeded)},
		{name: "anonymous mmap of 64 GiB", slow: true, code: "import mmap\nm = mmap.mmap(-1, 64 << 30)\nm[-1] = 1", want: st(execution.StatusMemoryExceeded)},
		{name: "write a huge file", slow: true, code: "with open('big', 'wb') as f:\n    while True:\n        f.write(b'0' * (1 << 20))", want: st(execution.StatusRuntimeError), check: stderrHas("File too large")},
		{name: "fill /tmp", slow: true, code: "import os\nfor i in range(100000):\n    open('/tmp/f%d' % i, 'w').close()", want: st(execution.StatusRuntimeError), needs: mountns},
		{name: "print a gigabyte", slow: true, code: "import sys\nchunk = 'x' * 65536\nfor _ in range(16384):\n    sys.stdout.write(chunk)", want: st(execution.StatusOutputExceeded),
			check: func(t *testing.T, r execution.Result) {
				if len(r.Stdout) > DefaultLimits().OutputBytes {
					t.Errorf("stdout of %d bytes passed the cap", len(r.Stdout))
				}
			}},
		{name: "a gigabyte to stderr", slow: true, code: "import sys\nwhile True:\n    sys.stderr.write('e' * 65536)", want: st(execution.StatusOutputExceeded)},
		// Ended at the cap, not left printing until the wall-clock limit.
		{name: "prints on past the cap, catching errors", slow: true, code: "while True:\n    try:\n        print('x' * 1000)\n    except BaseException:\n        pass", want: st(execution.StatusOutputExceeded),
			check: func(t *testing.T, r execution.Result) {
				if r.Wall > 5*time.Second {
					t.Errorf("ran %v before it was stopped", r.Wall)
				}
			}},
		{name: "os.write past the cap", slow: true, code: "import os\nfor _ in range(1000):\n    try:\n        os.write(1, b'z' * 4096)\n    except OSError:\n        pass", want: st(execution.StatusOutputExceeded)},
		{name: "one enormous line", slow: true, code: "print('y' * (1 << 28))", want: st(execution.StatusOutputExceeded, execution.StatusMemoryExceeded)},
		{name: "socket to a loopback port", code: fmt.Sprintf("import socket\ns = socket.create_connection(('127.0.0.1', %d), timeout=2)\ns.sendall(b'pwned')", listenPort), want: st(execution.StatusRuntimeError)},
		{name: "socket to a public address (no route in the namespace)", code: "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('192.0.2.1', 80))", want: st(execution.StatusRuntimeError), needs: netns, check: stderrHas("Network is unreachable")},
		{name: "UDP to a public address", code: "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('192.0.2.1', 53))", want: st(execution.StatusRuntimeError), needs: netns},
		{name: "DNS lookup", code: "import socket\nprint(socket.getaddrinfo('example.com', 80))", want: st(execution.StatusRuntimeError), needs: netns},
		{name: "read /etc/shadow", code: "print(open('/etc/shadow').read())", want: st(execution.StatusRuntimeError), needs: root, check: stderrHas("PermissionError")},
		{name: "System V shared memory (outlives the job)", code: "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.shmget(0x7ab1e, 1 << 20, 0o1666), ctypes.get_errno())", want: st(execution.StatusOK), needs: seccomp, check: stdoutHas("-1 1")},
		{name: "System V message queue", code: "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.msgget(0x7ab1e, 0o1666), ctypes.get_errno())", want: st(execution.StatusOK), needs: seccomp, check: stdoutHas("-1 1")},
		{name: "memfd past the memory limit", code: "import os\nfds = []\nfor i in range(60):\n    fd = os.memfd_create('x')\n    os.write(fd, b'x' * (16 << 20))\n    fds.append(fd)", want: st(execution.StatusRuntimeError), needs: seccomp, check: stderrHas("PermissionError")},
		{name: "read the orchestrator's checkout", code: fmt.Sprintf("print(open(%q).read())", self), want: st(execution.StatusRuntimeError), needs: minroot, check: stderrHas("FileNotFoundError")},
		{name: "look for the orchestrator's files", code: fmt.Sprintf("import os\nprint(os.path.exists(%q), os.path.exists('/home'), os.path.exists('/srv'))", here), want: st(execution.StatusOK), needs: minroot, check: stdoutHas("False False False")},
		{name: "devices beyond the harmless ones", code: "import os\nprint(sorted(os.listdir('/dev')))", want: st(execution.StatusOK), needs: minroot,
			check: func(t *testing.T, r execution.Result) {
				for _, dev := range strings.Fields(strings.NewReplacer("[", "", "]", "", "'", "", ",", "").Replace(r.Stdout)) {
					if !slices.Contains([]string{"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr", "shm"}, dev) {
						t.Errorf("a job sees /dev/%s", dev)
					}
				}
			}},
		{name: "write into the read-only system", code: "open('/usr/tabler1-pwned', 'w').write('x')", want: st(execution.StatusRuntimeError), needs: minroot},
		{name: "list the host's processes", code: "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == [os.getpid()])", want: st(execution.StatusOK), needs: hideproc, check: stdoutHas("True")},
		{name: "read the orchestrator's command line", code: fmt.Sprintf("print(open('/proc/%d/cmdline', 'rb').read())", gopid), want: st(execution.StatusRuntimeError), needs: hideproc, check: stderrHas("FileNotFoundError")},
		{name: "read init's environ", code: "print(open('/proc/1/environ').read())", want: st(execution.StatusRuntimeError), needs: root},
		{name: "read the orchestrator's environ", code: fmt.Sprintf("print(open('/proc/%d/environ', 'rb').read())", gopid), want: st(execution.StatusRuntimeError), needs: root},
		{name: "own environment is clean", code: "import os\nprint(sorted(os.environ.items()))", want: st(execution.StatusOK),
			check: func(t *testing.T, r execution.Result) {
				if strings.Contains(r.Stdout, testSecret) || strings.Contains(r.Stdout, "sk-do-not-leak") {
					t.Errorf("the orchestrator's environment leaked: %q", r.Stdout)
				}
			}},
		{name: "write into /etc", code: "open('/etc/tabler1-pwned', 'w').write('x')", want: st(execution.StatusRuntimeError), needs: root},
		{name: "write into /root", code: "open('/root/tabler1-pwned', 'w').write('x')", want: st(execution.StatusRuntimeError), needs: root},
		{name: "connect to a host unix socket in /run", code: fmt.Sprintf("import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('/run/tabler1-%s.sock')\ns.sendall(b'pwned')", nonce), want: st(execution.StatusRuntimeError), needs: func(i Isolation) bool { return i.Seccomp || i.MountNS }},
		{name: "vsock to the hypervisor", code: "import socket\ns = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\ns.settimeout(2)\ns.connect((2, 2024))", want: st(execution.StatusRuntimeError), needs: seccomp, check: stderrHas("PermissionError")},
		{name: "netlink route socket", code: "import socket\ns = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)", want: st(execution.StatusRuntimeError), needs: seccomp, check: stderrHas("PermissionError")},
		{name: "asyncio still runs (socketpair)", code: "import asyncio\nasync def f():\n    return 42\nprint(asyncio.run(f()))", want: st(execution.StatusOK), check: stdoutHas("42")},
		{name: "write to the host /run/lock", code: fmt.Sprintf("import os\nif os.path.isdir('/run/lock'):\n    open('/run/lock/tabler1-pwned-%s', 'w').write('x')\nprint('wrote')", nonce), want: st(execution.StatusOK), needs: mountns},
		{name: "write to the host /tmp", code: fmt.Sprintf("open('/tmp/tabler1-pwned-%s', 'w').write('x')\nprint('wrote')", nonce), want: st(execution.StatusOK), needs: mountns},
		{name: "kill the parent", code: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", want: st(execution.StatusRuntimeError), check: stderrHas("PermissionError"), needs: seccomp},
		{name: "kill every process", code: "import os, signal\nos.kill(-1, signal.SIGKILL)", want: st(execution.StatusRuntimeError), needs: seccomp},
		{name: "kill itself", code: "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", want: st(execution.StatusKilled)},
		{name: "ctypes null dereference", code: "import ctypes\nctypes.string_at(0)", want: st(execution.StatusKilled)},
		{name: "ctypes ptrace the parent", code: "import ctypes, os\nlibc = ctypes.CDLL(None)\nprint('rc', libc.ptrace(16, os.getppid(), 0, 0))", want: st(execution.StatusOK), check: stdoutHas("rc -1")},
		{name: "ctypes unshare a user namespace", code: "import ctypes\nprint('rc', ctypes.CDLL(None).unshare(0x10000000))", want: st(execution.StatusOK), check: stdoutHas("rc -1"), needs: seccomp},
		{name: "ctypes clears its parent-death signal", code: "import ctypes\nprint('rc', ctypes.CDLL(None).prctl(1, 0, 0, 0, 0))", want: st(execution.StatusOK), check: stdoutHas("rc -1"), needs: seccomp},
		{name: "os.abort", code: "import os\nos.abort()", want: st(execution.StatusKilled)},
		{name: "deep recursion", code: "def f(n):\n    return f(n + 1)\nf(0)", want: st(execution.StatusRuntimeError), check: func(t *testing.T, r execution.Result) {
			if r.ExceptionType != "RecursionError" {
				t.Errorf("exception %q, want RecursionError", r.ExceptionType)
			}
		}},
		{name: "deep recursion past the C stack", code: "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)", want: st(execution.StatusKilled, execution.StatusRuntimeError, execution.StatusMemoryExceeded, execution.StatusTimeout)},
		{name: "closing stdout", code: "import os\nos.close(1)\nprint('lost')", want: st(execution.StatusRuntimeError)},
		{name: "closing stdout and stderr, then spinning", code: "import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass", want: st(execution.StatusTimeout)},
		{name: "non-daemon thread outliving the main thread", code: "import threading, time\nthreading.Thread(target=time.sleep, args=(1000,)).start()\nprint('main done')", want: st(execution.StatusOK), check: stdoutHas("main done")},
		{name: "forging the status pipe", code: "import os\nos.write(3, b'{\"kind\": \"ok\"}')\nraise ValueError('real error')", want: st(execution.StatusRuntimeError)},
		{name: "writing to other descriptors", code: "import os\nn = 0\nfor fd in range(4, 256):\n    try:\n        os.write(fd, b'x'); n += 1\n    except OSError:\n        pass\nprint('wrote', n)", want: st(execution.StatusOK), check: stdoutHas("wrote 0")},
		{name: "replacing os._exit", code: "import os\nos._exit = lambda code: None\nprint('ok')", want: st(execution.StatusOK), check: stdoutHas("ok")},
		{name: "setsid escape", code: "import os\nos.setsid()", want: st(execution.StatusRuntimeError)},
	}
}

func TestSecurityBattery(t *testing.T) {
	p := pool(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on loopback: %v", err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	// A unix socket anyone may connect to, where hosts keep theirs.
	if ul, err := net.Listen("unix", "/run/tabler1-"+nonce+".sock"); err == nil {
		defer ul.Close()
		_ = os.Chmod("/run/tabler1-"+nonce+".sock", 0o777)
		go func() {
			for {
				c, err := ul.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
	}
	cases := append(battery(ln.Addr().(*net.TCPAddr).Port, os.Getpid(), nonce), sequenceBattery()...)
	if len(cases) < 30 {
		t.Fatalf("the battery has %d programs, want at least 30", len(cases))
	}
	iso := p.Isolation()
	lim := execution.Limits{Wall: 1500 * time.Millisecond, MemoryBytes: 256 << 20, FileBytes: 8 << 20}
	t.Run("programs", func(t *testing.T) {
		for _, h := range cases {
			t.Run(h.name, func(t *testing.T) {
				t.Parallel()
				if h.needs != nil && !h.needs(iso) {
					t.Skipf("needs an isolation layer this host lacks (%v)", iso)
				}
				lim := lim
				if h.slow {
					lim.Wall = 10 * time.Second
				}
				r := p.Run(context.Background(), execution.Job{Code: h.code, Table: sampleTable(), Limits: lim, ReturnTable: h.returnTable})
				ok := false
				for _, s := range h.want {
					ok = ok || r.Status == s
				}
				if !ok {
					t.Fatalf("status %q (%s), want one of %q; stdout %.300q; stderr %.600q", r.Status, r.Detail, h.want, r.Stdout, r.Stderr)
				}
				if r.Wall > lim.Wall+time.Second {
					t.Errorf("the job ran %v, past its %v limit", r.Wall, lim.Wall)
				}
				if h.check != nil {
					h.check(t, r)
				}
			})
		}
	})
	// The host is unharmed.
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback and /run listeners accepted %d connections from jobs", n)
	}
	for _, f := range []string{"/etc/tabler1-pwned", "/root/tabler1-pwned", filepath.Join("/tmp", "tabler1-pwned-"+nonce),
		filepath.Join("/run/lock", "tabler1-pwned-"+nonce)} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("a job created %s on the host", f)
			os.Remove(f)
		}
	}
	if left := leftoverJobProcesses(p); len(left) > 0 {
		t.Errorf("processes of jobs survived: %v", left)
	}
	if r := p.Run(context.Background(), execution.Job{Code: "print(df['value'].sum())", Table: sampleTable()}); r.Answer() != "1237" {
		t.Errorf("after the battery the pool answers %q (%s, %s)", r.Answer(), r.Status, r.Detail)
	}
}

// TestJobsLeaveNothingInMemory checks that a job cannot find the code or
// output of the job before it in its own memory, which it inherits from the
// worker: the worker's malloc overwrites what it frees (glibc's perturb,
// no tcache).
func TestJobsLeaveNothingInMemory(t *testing.T) {
	pool(t)
	ctx := context.Background()
	p, err := NewPool(ctx, PoolConfig{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The needle is assembled at run time, so that the scanner's own code
	// holds it only in the two objects it builds.
	scan := `import ctypes
needle = ("tabler1-" + "secret-" + "7f3a9c").encode()
hits = 0
for line in open('/proc/self/maps'):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split('-'))
    if 'r' not in f[1] or (len(f) > 5 and f[5].startswith('[v')) or hi - lo > (256 << 20):
        continue
    hits += ctypes.string_at(lo, hi - lo).count(needle)
print(hits)
`
	base := p.Run(ctx, execution.Job{Code: scan})
	if base.Status != execution.StatusOK {
		t.Fatalf("scanner: %s %s", base.Status, base.Stderr)
	}
	for i := range 3 {
		p.Run(ctx, execution.Job{Code: "print('tabler1-secret-7f3a9c' * 4)", Table: sampleTable()})
		if r := p.Run(ctx, execution.Job{Code: scan}); r.Answer() != base.Answer() {
			t.Fatalf("round %d: the scanner found the secret %s times after a job printed it (%s alone)", i, r.Answer(), base.Answer())
		}
	}
}
