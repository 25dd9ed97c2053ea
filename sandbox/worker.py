# The tabler1 sandbox worker (sandbox/worker.go embeds this file).
#
# One worker is a long-lived Python process with numpy and pandas imported. It
# reads length-prefixed JSON requests from its protocol input, forks a fresh
# child per job, confines the child (see sandbox/doc.go for the model), feeds
# it the table through the bridge layouts/frame.py, kills it at its
# wall-clock limit, reaps it, reads its capped output files and writes one
# length-prefixed JSON event per state change:
#   {"event":"ready", ...}          once, after start-up and probing
#   {"event":"start","id":N,"pid":P}  the child is forked (Go may kill -P)
#   {"event":"done","id":N, ...}    the job's outcome
# The Go side trusts nothing a child prints: children never see the protocol
# descriptors (they are closed before any program code runs).
import ctypes
import errno
import json
import os
import signal
import struct
import sys
import time

# Protocol descriptors move out of 0 and 1 so that nothing printed by
# accident (a library warning, a stray print) can corrupt a frame.
_PIN = os.dup(0)
_POUT = os.dup(1)
_null = os.open("/dev/null", os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)
os.close(_null)

_exit = os._exit  # programs may replace os._exit; the runner may not lose it
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22
SECCOMP_MODE_FILTER = 2


def _read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(_PIN, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame():
    head = _read_exact(4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    body = _read_exact(n)
    if body is None:
        return None
    return json.loads(body)


def write_frame(obj):
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    data = struct.pack(">I", len(body)) + body
    while data:
        n = os.write(_POUT, data)
        data = data[n:]


def log(msg):
    try:
        os.write(2, ("worker %d: %s\n" % (os.getpid(), msg)).encode())
    except OSError:
        pass


# -c puts the working directory first on sys.path; a job's directory must
# not shadow modules.
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

INIT = read_frame()
if INIT is None:
    sys.exit(0)

# The network namespace is per worker: made before numpy starts any thread
# (unshare needs a single-threaded caller) and inherited by every child. It
# holds only a loopback interface that is down, so nothing is reachable.
NETNS = False
if INIT.get("netns", True):
    NETNS = _libc.unshare(CLONE_NEWNET) == 0
    if not NETNS:
        log("unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno()))

IS_ROOT = os.geteuid() == 0
# The pool starts the worker as the init of a PID namespace of its own
# where the host allows: every process of its jobs dies with it, whatever
# a job does to its own parent-death signal.
PIDNS = os.getpid() == 1

# And an IPC namespace: System V objects a job manages to make (without
# seccomp) stay with the worker and die with it, not on the host.
CLONE_NEWIPC = 0x08000000
if IS_ROOT and _libc.unshare(CLONE_NEWIPC) != 0:
    log("unshare(CLONE_NEWIPC): %s" % os.strerror(ctypes.get_errno()))
WORKER_PID = os.getpid()


def _shared_dirs():
    # Where any user may write on a usual host: each gets a private tmpfs,
    # so that nothing a job writes there reaches the host or a later job.
    out, seen = [], set()
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/run/shm", "/var/crash",
              "/var/metrics", "/dev/mqueue"):
        real = os.path.realpath(d)
        if real in seen or not os.path.isdir(real) or os.path.islink(real):
            continue
        if d in ("/tmp", "/var/tmp", "/dev/shm") or os.stat(real).st_mode & 0o002:
            seen.add(real)
            out.append(real)
    return out


TMP_DIRS = _shared_dirs()


def _private_mounts(tmp_bytes):
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "make / private")
    # /run holds the host's sockets (D-Bus, journald, databases), which a
    # network namespace does not hide: jobs get an empty one.
    if os.path.isdir("/run") and not os.path.islink("/run"):
        if _libc.mount(b"tmpfs", b"/run", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       b"size=1m,nr_inodes=256,mode=755") != 0:
            raise OSError(ctypes.get_errno(), "mount tmpfs on /run")
    TMP_OPTS[0] = ("size=%d,nr_inodes=4096,mode=1777" % tmp_bytes).encode()
    for target in TMP_DIRS:
        os.makedirs(target, exist_ok=True)  # /run/lock, in the new /run
        _mount_tmp(target)
    # A /proc of our own that shows a job only its own processes: other
    # users' pids, command lines and status vanish (hidepid=invisible,
    # Linux 5.8; hidepid=2 before). The worker, root, still sees them all.
    global HIDEPID
    for opt in (b"hidepid=invisible", b"hidepid=2"):
        if _libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, opt) == 0:
            HIDEPID = True
            break
    else:
        log("mounting /proc with hidepid: %s" % os.strerror(ctypes.get_errno()))


HIDEPID = False
TMP_OPTS = [b""]


def _mount_tmp(target):
    if _libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, TMP_OPTS[0]) != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs on %s" % target)


# The mount namespace is per worker too: it gives the worker's jobs private
# tmpfs mounts on /tmp, /var/tmp and /dev/shm, emptied after every job (jobs
# of one worker run one after another, and no process of a job outlives it).
MOUNTNS = False
if IS_ROOT and INIT.get("mountns", True):
    try:
        _private_mounts(int(INIT.get("tmp_bytes", 64 << 20)))
        MOUNTNS = True
    except OSError as e:
        log("private mounts: %s" % e)

MS_BIND, MS_REMOUNT, MS_RDONLY, MNT_DETACH = 0x1000, 0x20, 0x1, 2
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)


def _minimal_root(cgroup):
    """Pivots the worker, and so its jobs, into a root that holds only what
    Python and its libraries need: /usr, /etc and the usual links to them,
    the interpreter's own prefix when it lives elsewhere (all read-only),
    /dev, the private /proc, /run and temporary directories, and the job
    cgroup. Home directories, the orchestrator's checkout and data (a
    benchmark's gold answers, say), /srv, /mnt and the rest are gone."""
    new = "/run/tabler1-root"
    os.mkdir(new, 0o755)
    if _libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,nr_inodes=1024,mode=755") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs on %s" % new)

    def bind(src, rw=False):
        dst = new + src
        os.makedirs(dst, exist_ok=True)
        if _libc.mount(src.encode(), dst.encode(), None, MS_BIND | MS_REC, None) != 0:
            raise OSError(ctypes.get_errno(), "bind %s" % src)
        if not rw and _libc.mount(None, dst.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                                  None) != 0:
            raise OSError(ctypes.get_errno(), "read-only %s" % src)

    kept = []

    def covered(path):
        return any(path == k or path.startswith(k + "/") for k in kept)

    for d in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
        if os.path.islink(d):
            os.symlink(os.readlink(d), new + d)
        elif os.path.isdir(d):
            bind(d)
            kept.append(d)
    for d in sorted({sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                     os.path.dirname(os.path.realpath(sys.executable))}
                    | {p for p in sys.path if p}):
        d = os.path.realpath(d)
        if os.path.isdir(d) and not covered(d):
            bind(d)
            kept.append(d)
    # A /dev of a few harmless nodes: not the host's, with its GPUs (666 on
    # many hosts), FUSE, kernel log and the rest.
    os.makedirs(new + "/dev")
    if _libc.mount(b"tmpfs", (new + "/dev").encode(), b"tmpfs", MS_NOSUID, b"size=64k,nr_inodes=64,mode=755") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs on the new /dev")
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        src = "/dev/" + name
        if os.path.exists(src):
            open(new + src, "w").close()
            if _libc.mount(src.encode(), (new + src).encode(), None, MS_BIND, None) != 0:
                raise OSError(ctypes.get_errno(), "bind %s" % src)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, new + "/dev/" + name)
    os.makedirs(new + "/proc")
    if _libc.mount(b"proc", (new + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   b"hidepid=invisible" if HIDEPID else None) != 0:
        raise OSError(ctypes.get_errno(), "mount proc")
    os.makedirs(new + "/run")
    if _libc.mount(b"tmpfs", (new + "/run").encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   b"size=1m,nr_inodes=256,mode=755") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs on the new /run")
    for d in TMP_DIRS:
        if d != "/dev/mqueue":  # its calls are refused anyway
            bind(d, rw=True)
            JOB_TMP.append(d)
    if cgroup:
        bind(cgroup, rw=True)
    os.mkdir(new + "/.old")
    os.chdir(new)
    if SYS_PIVOT_ROOT is None or _libc.syscall(SYS_PIVOT_ROOT, b".", b".old") != 0:
        raise OSError(ctypes.get_errno(), "pivot_root")
    # Past this point the old root is still reachable under /.old: failing
    # to drop it must stop the worker, not leave it in jobs' sight.
    os.chdir("/")
    if _libc.umount2(b"/.old", MNT_DETACH) != 0:
        log("minimal root: detaching the old root: %s; exiting" % os.strerror(ctypes.get_errno()))
        _exit(1)
    os.rmdir("/.old")


MINROOT = False
JOB_TMP = []  # the private temporary directories jobs see, each its own tmpfs
if MOUNTNS and INIT.get("minroot", True):
    try:
        _minimal_root(INIT.get("cgroup") or "")
        MINROOT = True
    except OSError as e:
        log("minimal root: %s" % e)
        JOB_TMP.clear()
if MOUNTNS and not MINROOT:
    JOB_TMP[:] = TMP_DIRS

import collections  # noqa: E402
import fcntl  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
import linecache  # noqa: E402
import builtins  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BRIDGE = {"__name__": "tabler1_frame"}
exec(compile(INIT["bridge"], "layouts/frame.py", "exec"), BRIDGE)
load_table = BRIDGE["load_table"]
dump_table = BRIDGE["dump_table"]

UID = int(INIT.get("uid", 65534))
GID = int(INIT.get("gid", 65534))
CGROUP = INIT.get("cgroup") or ""
WORKBASE = INIT.get("workbase") or tempfile.gettempdir()

# --- seccomp -------------------------------------------------------------
# A small BPF filter, built per child because it names the child's own pid:
# no new processes (fork, vfork, clone without CLONE_THREAD, clone3), no exec,
# signals only to itself, no clearing of its parent-death signal, no ptrace
# or cross-process memory access, no
# namespaces, mounts, io_uring or bpf, no System V or POSIX message IPC
# objects (they would outlive the job: a channel to the next one), no memfd
# (its memory escapes RLIMIT_AS), and sockets only of the IP families inside
# the worker's empty network namespace (none without one; socketpair(2)
# stays).
_ARCH = {
    "x86_64": dict(audit=0xC000003E, socket=41, prctl=157, fork=57, vfork=58, clone=56, clone3=435, execve=59,
                   execveat=322, kill=62, tkill=200, tgkill=234, rt_sigqueueinfo=129,
                   rt_tgsigqueueinfo=297, deny=[101, 310, 311, 434, 424, 425, 426, 427, 272, 308, 165,
                                                166, 155, 321, 298, 323, 250, 248, 249, 169, 175, 176,
                                                313, 246, 167, 168, 161,
                                                # SysV shm, sem, msg; POSIX mq; memfd_create, memfd_secret
                                                29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71,
                                                240, 241, 242, 243, 244, 245, 319, 447]),
    "aarch64": dict(audit=0xC00000B7, socket=198, prctl=167, fork=None, vfork=None, clone=220, clone3=435,
                    execve=221, execveat=281, kill=129, tkill=130, tgkill=131, rt_sigqueueinfo=138,
                    rt_tgsigqueueinfo=240, deny=[117, 270, 271, 434, 424, 425, 426, 427, 97, 268, 40,
                                                 39, 280, 241, 282, 219, 217, 218, 142, 105, 106, 273,
                                                 104, 224, 225, 51,
                                                 # SysV shm, sem, msg; POSIX mq; memfd_create, memfd_secret
                                                 194, 195, 196, 197, 190, 191, 192, 193, 186, 187, 188, 189,
                                                 180, 181, 182, 183, 184, 185, 279, 447]),
}.get(platform.machine())


def _seccomp_program(pid, block_sockets):
    a = _ARCH
    ALLOW, KILL = 0x7FFF0000, 0x80000000

    def errno_(e):
        return 0x00050000 | e

    prog = []  # (code, jt, jf, k) with jt/jf as labels or ints

    def stmt(code, k):
        prog.append([code, 0, 0, k])

    def jeq(k, jt, jf=0):
        prog.append([0x15, jt, jf, k])

    def label(name):
        prog.append(name)

    LD_ABS = 0x20
    RET = 0x06

    stmt(LD_ABS, 4)  # arch
    jeq(a["audit"], 0, "kill")
    stmt(LD_ABS, 0)  # nr
    prog.append([0x35, "enosys", 0, 0x40000000])  # jge: x32 ABI
    jeq(a["clone3"], "enosys")
    for name in ("fork", "vfork"):
        if a[name] is not None:
            jeq(a[name], "eagain")
    jeq(a["clone"], "clone")
    jeq(a["execve"], "eperm")
    jeq(a["execveat"], "eperm")
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        jeq(a[name], "selfonly")
    jeq(a["socket"], "socket")
    jeq(a["prctl"], "prctl")
    for nr in a["deny"]:
        jeq(nr, "eperm")
    stmt(RET, ALLOW)
    label("clone")
    stmt(LD_ABS, 16)  # flags, low word
    prog.append([0x45, "allow", "eagain", 0x00010000])  # jset CLONE_THREAD
    label("selfonly")
    stmt(LD_ABS, 16)  # target pid, low word (the kernel reads an int)
    jeq(pid, "allow")
    jeq(0, "allow")
    jeq((-pid) & 0xFFFFFFFF, "allow", "eperm")
    label("prctl")
    # The parent-death signal set in _confine stays: a job that cleared it
    # could outlive its worker where there is no PID namespace.
    stmt(LD_ABS, 16)  # option
    jeq(PR_SET_PDEATHSIG, "eperm", "allow")
    label("socket")
    if block_sockets:
        stmt(RET, errno_(errno.EACCES))
    else:
        # Inside the empty network namespace only IP sockets, which reach
        # nothing; never AF_UNIX (host sockets by path), AF_VSOCK (the
        # hypervisor's services), netlink and the rest. socketpair(2), a
        # separate call, stays (asyncio's self-pipe).
        stmt(LD_ABS, 16)
        jeq(2, "allow")  # AF_INET
        jeq(10, "allow", "eacces")  # AF_INET6
    label("allow")
    stmt(RET, ALLOW)
    label("eperm")
    stmt(RET, errno_(errno.EPERM))
    label("eagain")
    stmt(RET, errno_(errno.EAGAIN))
    label("enosys")
    stmt(RET, errno_(errno.ENOSYS))
    label("eacces")
    stmt(RET, errno_(errno.EACCES))
    label("kill")
    stmt(RET, KILL)

    # Resolve labels into relative jumps.
    pos, idx = {}, 0
    for ins in prog:
        if isinstance(ins, str):
            pos[ins] = idx
        else:
            idx += 1
    out, idx = [], 0
    for ins in prog:
        if isinstance(ins, str):
            continue
        code, jt, jf, k = ins
        jt = pos[jt] - idx - 1 if isinstance(jt, str) else jt
        jf = pos[jf] - idx - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise ValueError("seccomp jump out of range")
        out.append(struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF))
        idx += 1
    return b"".join(out), len(out)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _Seccomp:
    """A filter program assembled once in the worker; a child writes its own
    pid into the prepared buffer and installs it with two prctl calls, so
    that no assembly (and few page copies) happen per job."""

    def __init__(self, block_sockets):
        a, self.n = _seccomp_program(0x5EC0, block_sockets)
        b, _ = _seccomp_program(0x5EC1, block_sockets)
        # The words naming the pid: +pid where a holds 0x5EC0, -pid elsewhere.
        self.slots = [(i + 4, struct.unpack_from("=I", a, i + 4)[0] == 0x5EC0)
                      for i in range(0, len(a), 8) if a[i:i + 8] != b[i:i + 8]]
        self.buf = ctypes.create_string_buffer(a, len(a))
        self.fprog = _SockFprog(self.n, ctypes.addressof(self.buf))
        self.fprog_addr = ctypes.addressof(self.fprog)

    def install(self, pid):
        for off, positive in self.slots:
            struct.pack_into("=I", self.buf, off, pid if positive else (-pid) & 0xFFFFFFFF)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self.fprog_addr, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


_SECCOMP = {}


def install_seccomp(pid, block_sockets):
    if _ARCH is None:
        raise OSError(errno.ENOSYS, "no seccomp syscall table for " + platform.machine())
    if block_sockets not in _SECCOMP:
        _SECCOMP[block_sockets] = _Seccomp(block_sockets)
    _SECCOMP[block_sockets].install(pid)


# --- the child -----------------------------------------------------------

def _close_from(lo):
    # close_range(2) is one syscall; the fallback lists /proc/self/fd.
    if _libc.syscall(436, lo, 0xFFFFFFFF, 0) == 0:
        return
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= lo:
            try:
                os.close(fd)
            except OSError:
                pass


def _limit(res, soft, hard=None):
    resource.setrlimit(res, (soft, soft if hard is None else hard))


def _child_fds(fds, job_r=None):
    # Descriptors 1-3 become stdout, stderr and the status file, 4 the
    # set-up channel (see _started); a spare keeps its job pipe as 5.
    # Nothing else of the worker's stays.
    out_w, err_w, st_w, setup_w = fds[0], fds[1], fds[2], fds[4]
    if job_r is not None:
        job_r = fcntl.fcntl(job_r, fcntl.F_DUPFD, 16)  # out of the way of 0-5
    # Descriptor 0 is the worker's /dev/null already.
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(st_w, 3)
    os.dup2(setup_w, 4)
    if job_r is None:
        _close_from(5)
        return
    os.dup2(job_r, 5)
    _close_from(6)


def _confine(req, workdir):
    lim = req["limits"]
    mode = req["mode"]
    os.setsid()
    if IS_ROOT and CGROUP:
        with open(os.path.join(CGROUP, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    cpu = max(1, int(lim["cpu_ms"] + 999) // 1000)
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _limit(resource.RLIMIT_AS, req["base_vm"] + lim["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, lim["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, lim["open_files"])
    _limit(resource.RLIMIT_CORE, 0)
    if IS_ROOT:
        _limit(resource.RLIMIT_NPROC, 64)  # threads; processes are refused by seccomp
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)
    os.chdir(workdir)
    # Credential changes clear the parent-death signal, so set it last,
    # then make sure the worker did not die before it was set.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != WORKER_PID:
        _exit(70)
    # The worker's environment is already the minimal one the pool gave
    # it; only the job's directories differ (with private mounts the worker
    # set them once: they are the same for every job).
    if os.environ.get("HOME") != workdir:
        os.environ["HOME"] = workdir
        os.environ["TMPDIR"] = workdir
    if tempfile.tempdir is not None:
        tempfile.tempdir = None
    if mode["seccomp"]:
        install_seccomp(os.getpid(), not NETNS)
    # Descriptor 0 is /dev/null in the worker too, so sys.stdin stays. The
    # stdout and stderr objects were made, never used, by the worker.
    sys.stdout, sys.stderr = _STDIO
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)


def child_main(req, fds, workdir):
    """Runs in the forked child; never returns."""
    setup_fd = fds[4]  # 4 is still the protocol's until _child_fds
    try:
        _child_fds(fds)
        setup_fd = 4
        _confine(req, workdir)
    except BaseException as e:  # set-up failed: a sandbox error, not the program's
        _setup_failed(e, setup_fd)
    _run_program(req)


def spare_main(fds, job_r, workdir):
    """Runs in a spare child, forked while the worker is idle; never returns.

    It is the worker's own code until a job arrives: it takes its
    descriptors, copies the pages a typical program writes (the copy-on-write
    faults the job would otherwise pay), then blocks on its job pipe. The job
    names its tables by cache key (the worker forked this spare holding
    them); then the spare confines itself exactly as child_main does."""
    setup_fd = fds[4]
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != WORKER_PID:
            _exit(70)
        # Warming pays only while the worker is idle: with a job already
        # waiting it would merely delay it. It runs before the job's
        # descriptors are in place, so a library warning cannot reach the
        # job's stderr.
        if SPARE_WARM and not select.select([job_r], [], [], 0)[0]:
            try:
                _spare_warm()
            except Exception:
                pass
        _child_fds(fds, job_r)
        setup_fd = 4
        data = bytearray()
        while True:
            chunk = os.read(5, 1 << 16)
            if not chunk:
                break
            data += chunk
        os.close(5)
        if not data:
            _exit(0)  # the worker dropped this spare
        req = json.loads(bytes(data))
        del data
        df_key, extra_keys = req.pop("keys")
        df, raw = _CACHE[bytes.fromhex(df_key)] if df_key else EMPTY_FRAMES
        tables = {name: _CACHE[bytes.fromhex(k)][0] for name, k in extra_keys.items()}
        req["frames"] = (df, raw, tables)
        _confine(req, workdir)
    except BaseException as e:
        _setup_failed(e, setup_fd)
    _run_program(req)


def _setup_failed(e, fd):
    # Said on the set-up channel, which the program never holds: a job
    # cannot make its own run look like the sandbox's failure.
    try:
        os.write(fd, ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace")[:SETUP_CAP])
    except BaseException:
        pass
    _exit(71)


def _started():
    # The one byte that tells the worker the program is about to run; the
    # channel is closed before it does, so nothing the program writes can
    # pass for a set-up failure.
    os.write(4, b"\0")
    os.close(4)


def _report(obj):
    try:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
        while data:
            n = os.write(3, data)
            data = data[n:]
    except BaseException:
        pass


def _program_line(tb):
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<program>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass


def _run_program(req):
    try:
        _started()
    except BaseException as e:
        _setup_failed(e, 4)
    code = req["code"]
    linecache.cache["<program>"] = (len(code), None, code.splitlines(True), "<program>")
    try:
        prog = compile(code, "<program>", "exec", dont_inherit=True)
    except BaseException as e:
        if isinstance(e, (SyntaxError, ValueError)):  # ValueError: a NUL byte in the source
            _report({"kind": "syntax", "type": type(e).__name__, "line": getattr(e, "lineno", 0) or 0, "detail": str(e)})
            traceback.print_exception(type(e), e, None)
        else:  # MemoryError, RecursionError from a pathological program
            _report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "compiling: %s" % e})
        _flush()
        _exit(1)
    if req.get("compile_only"):
        _report({"kind": "ok"})
        _exit(0)
    df, raw, tables = req["frames"]
    # Everything inherited from the worker (the frames included) stays out
    # of this child's collections: scanning it would copy its pages.
    gc.freeze()
    g = {"__name__": "__main__", "__builtins__": builtins, "pd": pd, "np": np,
         "df": df, "raw": raw, "tables": tables}
    try:
        exec(prog, g)
    except SystemExit as e:
        c = e.code
        if c is None or c == 0:
            pass
        else:
            if not isinstance(c, int):
                try:
                    print(c, file=sys.stderr)
                except BaseException:
                    pass
            _flush()
            _report({"kind": "exit", "code": c if isinstance(c, int) else 1})
            _exit(c if isinstance(c, int) else 1)
    except BaseException as e:
        # Report first: formatting may fail after a MemoryError.
        _report({"kind": "exception", "type": type(e).__name__, "line": _program_line(e.__traceback__),
                 "memory": isinstance(e, MemoryError) or (isinstance(e, OSError) and e.errno == errno.ENOMEM)})
        try:
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:
            pass
        _flush()
        _exit(1)
    try:
        sys.stdout.flush()
    except BaseException as e:
        _report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "flushing stdout: %s" % e})
        _exit(1)
    out = {"kind": "ok"}
    if req.get("return_table"):
        try:
            out["table"] = dump_table(g.get("df"))
        except BaseException as e:
            _report({"kind": "exception", "type": type(e).__name__, "line": 0, "detail": "returning df: %s" % e})
            _flush()
            _exit(1)
    _flush()
    _report(out)
    # os._exit: threads the program left behind do not keep the job alive.
    _exit(0)


# --- supervision ---------------------------------------------------------

def _kill_group(pid):
    for f in (os.killpg, os.kill):
        try:
            f(pid, signal.SIGKILL)
        except OSError:
            pass


def _oom_kills():
    if not CGROUP:
        return 0
    try:
        with open(os.path.join(CGROUP, "memory.events")) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k == "oom_kill":
                    return int(v)
    except OSError:
        pass
    return 0


def _cg_peak():
    if not CGROUP:
        return 0
    try:
        with open(os.path.join(CGROUP, "memory.peak")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


_cg_state = {"memory_max": None}


def _cg_prepare(lim):
    if not CGROUP:
        return
    want = str(lim["memory_bytes"])
    try:
        if _cg_state["memory_max"] != want:
            with open(os.path.join(CGROUP, "memory.max"), "w") as f:
                f.write(want)
            _cg_state["memory_max"] = want
    except OSError as e:
        log("cgroup memory.max: %s" % e)
    try:
        with open(os.path.join(CGROUP, "memory.peak"), "w") as f:
            f.write("0")  # resetting the peak needs Linux 6.12; older ones keep the maximum
    except OSError:
        pass


# Tables already loaded, by a digest of their JSON: in RL every sample of a
# group runs on the same table, and loading one (numeric conversion of
# every column) costs more than the typical program. The worker never runs
# program code and never mutates these frames; a child only ever changes its
# own copy-on-write view of them, so a cached frame is as fresh as a new one.
_CACHE = collections.OrderedDict()
_CACHE_ENTRIES = 16
_CACHE_MAX_CELLS = 20000  # bigger tables are loaded per job, not kept


def _frames(t):
    """Returns the table's (df, raw) and its cache key, None when too big to
    keep."""
    key = hashlib.sha256(json.dumps(t, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                         .encode("utf-8", "surrogatepass")).digest()
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit, key
    frames = load_table(t)
    rows = t.get("rows") or []
    if len(rows) * max(1, len(rows[0]) if rows else 1) > _CACHE_MAX_CELLS:
        return frames, None
    _CACHE[key] = frames
    while len(_CACHE) > _CACHE_ENTRIES:
        _CACHE.popitem(last=False)
    return frames, key


def _make_workdir():
    if MODE["mountns"]:
        workdir = "/tmp/job"
        os.mkdir(workdir, 0o700)
    else:
        workdir = tempfile.mkdtemp(prefix="job-", dir=WORKBASE)
    if IS_ROOT:
        os.chown(workdir, UID, GID)
    return workdir


def _drop_workdir(workdir):
    if MODE["mountns"]:
        try:
            os.rmdir(workdir)  # most jobs write nothing
        except OSError:
            pass  # the fresh tmpfs drops it
        _fresh_tmp()
        return
    try:
        os.rmdir(workdir)
    except OSError:
        _remove_tree(workdir)


# The spare child (see spare_main), forked after each job so that the fork,
# the child's start and its first page copies happen while the worker waits
# for the next request. None while there is none.
_spare = {"child": None}


_libc_py = ctypes.PyDLL(None, use_errno=True)
_libc_py.fork.restype = ctypes.c_int


def _fork():
    """fork(2) without CPython's at-fork work.

    os.fork runs the interpreter's after-fork hooks in the child (thread
    and lock re-initialisation, the random module's reseeding, logging's
    locks...): about 200 page copies, a millisecond per job here. The worker
    is single-threaded and holds no lock while it forks, so the child needs
    none of it; called through PyDLL, the GIL stays held across the fork.
    A consequence, documented in doc.go: random and numpy.random start every
    job from the worker's seeded state."""
    if not _RAW_FORK:
        return os.fork()
    pid = _libc_py.fork()
    if pid < 0:
        e = ctypes.get_errno()
        raise OSError(e, "fork: " + os.strerror(e))
    return pid


def _outputs():
    """Three fresh memory files for a child's stdout, stderr and status,
    then the read and write ends of its set-up channel (see _started).

    Files, not pipes: nobody has to read them while the child runs, so the
    worker blocks in waitid and writes none of its memory meanwhile (each
    page it wrote would be copied, and its huge pages split, while the
    child shares them). _seal caps them before the child may write. The
    set-up channel carries one byte, or a short failure, so a pipe holds
    it."""
    fds = [os.memfd_create("job-" + n, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING) for n in ("out", "err", "status")]
    return fds + list(os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK))


def _forked(outs):
    # The worker's copy of the set-up channel's write end goes, so that
    # only the child holds it.
    os.close(outs[4])
    outs[4] = -1


def _close_all(outs):
    for fd in outs:
        if fd >= 0:
            os.close(fd)


_PAGE = os.sysconf("SC_PAGE_SIZE")
_SEALS = fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL


def _seal(outs, cap):
    # A sealed file cannot grow: a write past its end fails with EPERM after
    # filling it up to the page where it would cross. So the size is the cap
    # plus one byte rounded up to a page: anything written beyond the cap
    # leaves more than cap bytes. Sealing also stops the program from
    # shrinking or unsealing its own output.
    for fd, n in zip(outs[:3], (cap, cap, TABLE_CAP)):
        os.ftruncate(fd, -(-(n + 1) // _PAGE) * _PAGE)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)


def _collect(outs, status_cap):
    """Returns what the child wrote to each file (the bytes before the
    shared file offset, which the child's writes advanced, and never more
    than the file holds: the child may have moved the offset anywhere; of
    the status file at most status_cap + 1 bytes), then what it said on its
    set-up channel. Closes them all."""
    got = []
    try:
        for i, fd in enumerate(outs[:3]):
            n = min(os.lseek(fd, 0, os.SEEK_CUR), os.fstat(fd).st_size)
            if i == 2:
                n = min(n, status_cap + 1)
            got.append(os.pread(fd, n, 0) if n > 0 else b"")
        try:
            got.append(os.read(outs[3], SETUP_CAP + 1))
        except BlockingIOError:
            got.append(b"")
    finally:
        _close_all(outs)
    return got


def _start_spare():
    workdir = _make_workdir()
    outs = _outputs()
    job_r, job_w = os.pipe()
    keys = set(_CACHE)  # the tables this spare holds
    pid = _fork()
    if pid == 0:
        try:
            os.close(job_w)
            spare_main(outs, job_r, workdir)
        finally:
            _exit(72)
    os.close(job_r)
    _forked(outs)
    _spare["child"] = {"pid": pid, "job_w": job_w, "outs": outs, "workdir": workdir, "keys": keys}


def _drop_spare(sp, wait=True):
    """Kills spare sp. With wait, reaps it and empties its directory;
    without, the caller reaps it later (off the job's path) and may reuse
    the directory, which the spare never touched: it ran only the worker's
    code, outside it."""
    os.close(sp["job_w"])
    _kill_group(sp["pid"])
    _close_all(sp["outs"])
    if wait:
        os.waitpid(sp["pid"], 0)
        _clean_up(sp["workdir"])


# The job being waited for, for the SIGALRM handler: its pid, and whether
# its wall-clock limit passed.
_job = {"pid": 0, "timeout": False}


def _on_alarm(signum, frame):
    pid = _job["pid"]
    if not pid:
        return
    try:
        # Not reaped yet, so its pid is not reused; None while it runs.
        exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return
    if exited is not None:
        return  # it ended in time; the worker is about to reap it
    _job["timeout"] = True
    _kill_group(pid)


signal.signal(signal.SIGALRM, _on_alarm)


def _dispatch(sp, req, keys):
    """Sends req to spare sp; False if the spare cannot take it."""
    df_key, extra_keys = keys
    # b"": no table; None: a table too big to cache, which no spare holds.
    need = [k for k in [df_key] + list(extra_keys.values()) if k != b""]
    if any(k is None or k not in sp["keys"] for k in need):
        return False
    _seal(sp["outs"], req["limits"]["output_bytes"])  # before the spare may write
    msg = {"keys": [df_key.hex() if df_key else "", {n: k.hex() for n, k in extra_keys.items()}]}
    for k in ("id", "code", "limits", "return_table", "compile_only", "mode", "base_vm"):
        if k in req:
            msg[k] = req[k]
    data = json.dumps(msg, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        while data:
            n = os.write(sp["job_w"], data)
            data = data[n:]
    except OSError:
        return False
    os.close(sp["job_w"])
    return True


def run_job(req):
    lim = req["limits"]
    req["mode"] = MODE
    req["base_vm"] = BASE_VM
    cap = lim["output_bytes"]
    sp, _spare["child"] = _spare["child"], None
    # The table becomes DataFrames here, before the fork: the child gets
    # its own copy-on-write view, and loading costs fewer page copies than
    # in the child.
    try:
        (df, raw), df_key = _frames(req["table"]) if req.get("table") else (EMPTY_FRAMES, b"")
        tables, extra_keys = {}, {}
        for name, t in (req.get("extra") or {}).items():
            (tables[name], _), extra_keys[name] = _frames(t)
    except Exception as e:
        if sp is not None:
            _drop_spare(sp)
        return {"event": "done", "id": req["id"], "status": "sandbox_error",
                "detail": "loading the table: %s: %s" % (type(e).__name__, e)}
    req["frames"] = (df, raw, tables)
    _cg_prepare(lim)
    oom0 = _oom_kills()
    t0 = time.monotonic()
    dropped = None
    if sp is not None and _dispatch(sp, req, (df_key, extra_keys)):
        pid, outs, workdir = sp["pid"], sp["outs"], sp["workdir"]
    else:
        if sp is not None:
            # The spare lacks a table: it dies while the job runs.
            _drop_spare(sp, wait=False)
            dropped, workdir = sp["pid"], sp["workdir"]
        else:
            workdir = _make_workdir()
        outs = _outputs()
        _seal(outs, cap)
        t0 = time.monotonic()
        pid = _fork()
        if pid == 0:
            try:
                child_main(req, outs, workdir)
            finally:
                _exit(72)
        _forked(outs)
    # From here until the child is reaped the worker writes as little of
    # its memory as it can: one event, the timer, then waitid.
    _job["pid"], _job["timeout"] = pid, False
    write_frame({"event": "start", "id": req["id"], "pid": pid})
    signal.setitimer(signal.ITIMER_REAL, max(0.001, t0 + lim["wall_ms"] / 1000.0 - time.monotonic()))
    # Wait for the exit without reaping, so that the pid (and the group id)
    # cannot be reused by another process before the group is killed:
    # anything the job left (its threads die with it; without seccomp it
    # could have forked) goes too. Then reap it for its status and usage.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    signal.setitimer(signal.ITIMER_REAL, 0)
    _job["pid"] = 0
    wall = time.monotonic() - t0
    _kill_group(pid)
    _, wstatus, ru = os.wait4(pid, 0)
    try:
        # A record without a table is small (RECORD_CAP): a bigger one is
        # not the runner's, and is not even read whole.
        status_cap = TABLE_CAP if req.get("return_table") else RECORD_CAP
        out, err, status, setup = _collect(outs, status_cap)
    finally:
        if dropped is not None:
            os.waitpid(dropped, 0)
        _clean_up(workdir)
    # Too much output is the cause when it comes with a timeout: a program
    # that keeps printing past the cap through its own writer runs on.
    reason = None
    if len(out) > cap or len(err) > cap:
        reason = "output"
    elif req.get("return_table") and len(status) > TABLE_CAP:
        reason = "table"
    elif _job["timeout"]:
        reason = "timeout"
    res = {"event": "done", "id": req["id"], "wall_ns": int(wall * 1e9),
           "cpu_ns": int((ru.ru_utime + ru.ru_stime) * 1e9),
           "peak_memory_bytes": max(ru.ru_maxrss * 1024, _cg_peak()),
           "stdout": out[:cap].decode("utf-8", "replace"),
           "stderr": err[:cap].decode("utf-8", "replace")}
    try:
        rec = json.loads(status.decode("utf-8", "surrogatepass")) if 0 < len(status) <= status_cap else None
        if not isinstance(rec, dict):
            rec = None
    except (ValueError, RecursionError):
        rec = None
    started = setup[:1] == b"\0"
    res.update(_classify(reason, wstatus, rec, lim, res["cpu_ns"], _oom_kills() > oom0,
                         None if started else setup, bool(req.get("return_table"))))
    return res


# The bench program (sandbox/bench.go's benchProgram, which must stay equal):
# the only code run_floor runs.
_FLOOR_SOURCE = ('r = df[df["score"] > 50].groupby("region")["sales"].sum()\n'
                 'print(r.idxmax(), int(r.max()))\n')


def run_floor(req):
    """Measures this host's floor for the pool's design: fork, run the
    bench program on the job's table, _exit, reap, req["floor"] times, with
    no confinement, no output capture and no supervision. The program is
    the fixed bench program, never code from the request (a different one
    is refused), so nothing untrusted runs unconfined."""
    if req.get("code") != _FLOOR_SOURCE or not req.get("table"):
        return {"event": "done", "id": req["id"], "status": "sandbox_error",
                "detail": "the fork floor runs only the bench program on a table"}
    (df, raw), _ = _frames(req["table"])
    prog = compile(_FLOOR_SOURCE, "<program>", "exec")
    n = int(req["floor"])
    t0 = time.monotonic()
    for _ in range(n):
        pid = _fork()
        if pid == 0:
            try:
                gc.freeze()
                exec(prog, {"__name__": "__main__", "__builtins__": builtins, "pd": pd, "np": np,
                            "df": df, "raw": raw, "tables": {}})
            finally:
                _exit(0)  # stdout is the worker's /dev/null, never flushed
        os.waitpid(pid, 0)
    return {"event": "done", "id": req["id"], "status": "ok", "wall_ns": int((time.monotonic() - t0) * 1e9)}


def _fresh_tmp():
    """Gives every private temporary directory a job wrote to a new, empty
    tmpfs: nothing of one job (however deep a tree it left) reaches the
    next, and nothing has to be walked to go."""
    for d in JOB_TMP:
        if not os.listdir(d):
            continue
        if _libc.umount2(d.encode(), MNT_DETACH) != 0:
            raise OSError(ctypes.get_errno(), "detaching the tmpfs on %s" % d)
        _mount_tmp(d)


def _remove_tree(top):
    """Removes directory top and all it holds without recursion (a job can
    nest directories deeper than any stack) and with one descriptor open at
    a time: it walks down the first subdirectory it finds, and back up
    through "..". Only called once the job's processes are dead."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    names = []  # the path from top to the directory fd is open on
    fd = os.open(top, flags)
    try:
        while True:
            with os.scandir(fd) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
            sub = next((name for name, is_dir in entries if is_dir), None)
            for name, is_dir in entries:
                if not is_dir:
                    os.unlink(name, dir_fd=fd)
            if sub is not None:
                if not IS_ROOT:
                    os.chmod(sub, 0o700, dir_fd=fd)  # the job may have locked itself out
                down = os.open(sub, flags, dir_fd=fd)
                os.close(fd)
                fd = down
                names.append(sub)
                continue
            if entries:
                continue  # files only: look again, then go up
            if not names:
                break
            up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = up
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(top)


# Why the worker must not take another job (a clean-up that failed), or
# None: it says so in its last event and exits, and the pool replaces it.
_retire = {"why": None}


def _clean_up(workdir):
    """Ends whatever the job left and empties its directories. It never
    raises: a failure retires the worker instead (see _retire)."""
    try:
        if PIDNS:
            # The worker is the namespace's init: this kills every process
            # but itself, whatever session or group a job's process is in.
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass  # there was none
            while True:  # and reaps them (reparented to the worker)
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break
        _drop_workdir(workdir)
    except Exception as e:
        _retire["why"] = "cleaning up after a job: %s: %s" % (type(e).__name__, e)


# Caps on what a status record may bring: the record comes from the job's
# own process, so it is the job's word, bounded like its output.
SETUP_CAP = 4096
RECORD_CAP = 64 << 10
TYPE_CAP = 256
DETAIL_CAP = 4096


def _text(v, cap):
    """v when it is a string, cut to cap bytes of valid UTF-8; else ""."""
    if not isinstance(v, str):
        return ""
    return v[:cap].encode("utf-8", "replace")[:cap].decode("utf-8", "ignore")


def _int(v):
    # bool is an int to Python, not to Go; nor is a number past 32 bits.
    return v if type(v) is int and 0 <= v < 1 << 31 else 0


def _grid(g):
    return isinstance(g, list) and all(isinstance(r, list) and all(isinstance(c, str) for c in r) for r in g)


def _table(t):
    """The returned table t in the wire form Go reads, or None when it is
    not one (the record is the job's word)."""
    if not isinstance(t, dict) or not _grid(t.get("header")) or not _grid(t.get("rows")):
        return None
    out = {"header": t["header"], "rows": t["rows"]}
    rh = t.get("row_header_cols", 0)
    if type(rh) is not int or not 0 <= rh < 1 << 31:
        return None
    if rh:
        out["row_header_cols"] = rh
    return out


def _classify(reason, wstatus, rec, lim, cpu_ns, oom, setup=None, want_table=False):
    """The job's status. setup is None once the program started (see
    _started), else what the child said on its set-up channel: the job
    never ran, a sandbox error. Everything taken from rec, the job's own
    status record, is checked and capped."""
    sig = os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else 0
    code = os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else None
    if reason == "timeout":
        return {"status": "timeout", "detail": "wall-clock limit of %d ms passed; the process group was killed" % lim["wall_ms"]}
    if reason == "output":
        return {"status": "output_exceeded", "detail": "output passed the cap of %d bytes; the process group was killed" % lim["output_bytes"]}
    if reason == "table":
        return {"status": "output_exceeded", "detail": "the returned table passed the cap of %d bytes" % TABLE_CAP}
    if oom:
        return {"status": "memory_exceeded", "detail": "killed by the cgroup memory limit of %d bytes" % lim["memory_bytes"]}
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_ns >= lim["cpu_ms"] * 1e6):
        return {"status": "timeout", "detail": "CPU limit of %d ms reached" % lim["cpu_ms"]}
    if setup is not None:
        why = setup.decode("utf-8", "replace") or ("signal %d" % sig if sig else "exit status %s" % code)
        return {"status": "sandbox_error", "detail": "setting up the job: %s" % why}
    if sig:
        return {"status": "killed", "detail": "killed by signal %s" % signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else "killed by signal %d" % sig}
    kind = rec.get("kind") if rec else None
    if kind == "syntax":
        return {"status": "syntax_error", "exception_type": _text(rec.get("type"), TYPE_CAP) or "SyntaxError",
                "error_line": _int(rec.get("line")), "detail": _text(rec.get("detail"), DETAIL_CAP)}
    if kind == "exception":
        st = "memory_exceeded" if rec.get("memory") is True else "runtime_error"
        return {"status": st, "exception_type": _text(rec.get("type"), TYPE_CAP), "error_line": _int(rec.get("line")),
                "detail": _text(rec.get("detail"), DETAIL_CAP)}
    if code == 0:
        out = {"status": "ok"}
        if want_table and kind == "ok" and "table" in rec:
            t = _table(rec["table"])
            if t is None:
                return {"status": "runtime_error", "detail": "the returned table is not a table of strings"}
            out["table"] = t
        return out
    return {"status": "runtime_error", "exception_type": "SystemExit" if kind == "exit" else "",
            "detail": "the program exited with status %s" % code}


def _probe(fn):
    # Runs fn in a throw-away child: probing must not change the worker.
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            _exit(0)
        except BaseException:
            _exit(1)
    _, st = os.waitpid(pid, 0)
    return os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


def _probe_seccomp():
    install_seccomp(os.getpid(), True)
    try:
        os.kill(1, 0)
    except PermissionError:
        pass
    else:
        raise OSError("the filter did not refuse kill(1)")


TABLE_CAP = int(INIT.get("table_cap", 16 << 20))
MODE = {
    "netns": NETNS,
    "mountns": MOUNTNS,
    "seccomp": INIT.get("seccomp", True) and _ARCH is not None and _probe(_probe_seccomp),
    "setuid": IS_ROOT,
    "hideproc": HIDEPID,
    "minroot": MINROOT,
    "pidns": PIDNS,
}


def _vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _spare_warm():
    # The shape of a typical program, on a throw-away table, to the
    # worker's null descriptor: it copies the pages such a program writes
    # before the job, not during it.
    t = {"header": [["name", "group", "value", "share"]],
         "rows": [["a%d" % i, "g%d" % (i % 3), str(i * 7), "%d.5" % i] for i in range(8)]}
    df, _ = load_table(t)
    with open(os.devnull, "w") as sink:
        s = df[df["share"] > 2].groupby("group")["value"].sum()
        print(s.idxmax(), int(s.max()), df["value"].mean(), file=sink)


def _warm_up():
    # Run the common paths once so that lazy imports and caches live in the
    # worker's heap, shared with every child, instead of being redone (and
    # their pages copied) in each child.
    t = {"header": [["name", "group", "value", "share"]],
         "rows": [["a%d" % i, "g%d" % (i % 3), str(i * 7), "%d.5" % i] for i in range(12)]}
    df, raw = load_table(t)
    with open(os.devnull, "w") as sink:
        r = df[df["value"] > 10].groupby("group")["value"].agg(["sum", "mean", "count"])
        s = df[df["share"] > 2].groupby("group")["value"].sum()
        print(s.idxmax(), int(s.max()), s.idxmin(), float(s.mean()), file=sink)
        print(r.sort_values("sum", ascending=False).head(3), file=sink)
        print(df.query("value > 3").describe().to_string(), file=sink)
        print(df["share"].max(), df.iloc[0].to_dict(), df.loc[df["name"] == "a1", "value"].tolist(), file=sink)
        print(pd.to_numeric(raw["value"], errors="coerce").sum(), file=sink)
        print(df.sort_values(["group", "value"]).reset_index(drop=True), file=sink)
        dump_table(df.head(3))
    mt = {"header": [["x", "x", "y"], ["p", "q", "r"]], "rows": [["1", "2", "3"]]}
    dump_table(load_table(mt)[0])
    compile("print(1)\n", "<program>", "exec")


# Shared by every job without a table: each child mutates only its own
# copy-on-write view.
EMPTY_FRAMES = (pd.DataFrame(), pd.DataFrame())
if _ARCH is not None:
    _SECCOMP = {True: _Seccomp(True), False: _Seccomp(False)}
try:
    _warm_up()
except Exception as e:
    log("warm-up: %s: %s" % (type(e).__name__, e))
class _CappedWriter(io.RawIOBase):
    """A child's descriptor 1 or 2, a sealed memory file (see _seal). The
    write that finds it full ends the job at once (output_exceeded) rather
    than raising EPERM into the program, which could catch it and print on
    until its wall-clock limit."""

    def __init__(self, fd):
        self._fd = fd

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def write(self, b):
        try:
            return os.write(self._fd, b)
        except PermissionError:
            os.kill(os.getpid(), signal.SIGKILL)
            raise


def _threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


# _fork's premise: one thread. A library that started threads of its own
# (a BLAS without OPENBLAS_NUM_THREADS=1, say) gets os.fork's clean-up, and
# with it the random module's reseeding in every child.
_RAW_FORK = _threads() == 1
if not _RAW_FORK:
    log("the worker has %d threads: forking with os.fork" % _threads())

# Made here, used only by children (see _confine).
_STDIO = (io.TextIOWrapper(io.BufferedWriter(_CappedWriter(1)), encoding="utf-8", errors="backslashreplace"),
          io.TextIOWrapper(io.BufferedWriter(_CappedWriter(2)), encoding="utf-8", errors="backslashreplace",
                           line_buffering=True))
if MOUNTNS:
    os.environ["HOME"] = "/tmp/job"  # see _make_workdir
    os.environ["TMPDIR"] = "/tmp"
# Every job starts from these seeds (children skip CPython's reseeding on
# fork, see _fork): a program's random draws do not depend on the worker.
import random  # noqa: E402

random.seed(0)
np.random.seed(0)
gc.collect()
gc.freeze()  # children then share the heap instead of copying it on first GC
BASE_VM = _vm_size()
write_frame({"event": "ready", "pid": os.getpid(), "mode": MODE, "base_vm": BASE_VM,
             "python": sys.version.split()[0], "pandas": pd.__version__})

SPARES = True  # see _start_spare
SPARE_WARM = True  # see spare_main
SPARE_AFTER_S = 0.002
if SPARES:
    _start_spare()
while True:
    try:
        req = read_frame()
    except (ValueError, OSError) as e:
        log("bad request frame: %s" % e)
        break
    if req is None:
        break
    try:
        res = run_floor(req) if req.get("floor") else run_job(req)
    except Exception as e:
        # The worker's own failure: its state is unknown, so it goes.
        res = {"event": "done", "id": req.get("id"), "status": "sandbox_error",
               "detail": "worker: %s: %s" % (type(e).__name__, e)}
        _retire["why"] = res["detail"]
    if _retire["why"] is not None:
        res["retire"] = True
        log("retiring: %s" % _retire["why"])
    write_frame(res)
    if _retire["why"] is not None:
        break
    # Nothing of this job may reach the next one's child.
    req = res = None
    # A spare pays off only when the worker goes idle: under a backlog the
    # next request is already there (or comes within the grace), and
    # forking right after reading it costs less than a spare would.
    if SPARES and not select.select([_PIN], [], [], SPARE_AFTER_S)[0]:
        try:
            _start_spare()
        except OSError as e:
            log("forking a spare child: %s" % e)

if _spare["child"] is not None:
    _drop_spare(_spare["child"])
# End of the request stream: exit at once, skipping the interpreter's
# finalisation of the frozen heap.
_exit(0)
