// Package sandbox runs untrusted Python programs against tables: it
// implements the Executor contract of package sandbox/execution with a
// local pool of pre-forked Python workers with isolation and limits (Pool)
// and a client for a remote SandboxFusion service (Remote). It knows
// nothing of prompts or rewards.
//
// # What a program sees
//
// A program runs as the __main__ module with these globals: df, the job's
// table as a pandas DataFrame built by layouts.PandasBridge (one definition
// of Table to DataFrame: MultiIndex columns for multi-level headers; a
// column is numeric when every non-empty cell is a number by the rule of
// layouts.ParseNumber, int64 when no cell is empty and none has a fraction or
// exponent, float64 with NaN for empty cells otherwise, str for every other
// column); raw, a DataFrame of the original strings with the same columns;
// tables, a dict of the job's extra tables as DataFrames; pd and np. Its
// answer is the last non-empty line of its stdout (Result.Answer). With
// Job.ReturnTable, the final value of df comes back as Result.Table.
//
// # Local pool and isolation model
//
// Each worker is a long-lived Python process started with an empty
// environment (nothing of the orchestrator's, API keys included), numpy and
// pandas imported and warmed up, its heap frozen (gc.freeze) so children
// share it. A job costs one fork, not an interpreter start and the pandas
// import. The worker speaks length-prefixed JSON on two pipes; children
// never see those descriptors.
//
// Per worker, made once at start:
//   - when started as root, a PID namespace of its own, whose init the
//     worker is: when the worker dies (and the pool's process dying kills
//     it: its parent-death signal is the pool's to set, not a job's) the
//     kernel kills every process in it, so no job outlives its worker or
//     its pool, whatever it does to its own parent-death signal; and after
//     every job the worker kills every other process in it (kill -1), so
//     nothing of a job outlives the job, whatever session it is in;
//   - a new network namespace: no interface is up, so every connect fails
//     (ENETUNREACH), loopback included;
//   - a new mount namespace with private tmpfs mounts on /tmp, /var/tmp,
//     /dev/shm and the other directories any user may write to where they
//     exist (/run/lock, /var/crash, /var/metrics; size-capped), each
//     replaced by a new, empty tmpfs after every job that left anything in
//     it (nothing is walked or removed, so no tree a job leaves, however
//     deep, reaches the next job), and an empty /run, which hides the
//     host's unix sockets (D-Bus, journald, databases: a network namespace
//     does not);
//   - in it, a minimal root the worker pivots into (Isolation.MinRoot):
//     /usr, /etc and their usual links, the interpreter's prefixes and
//     sys.path, all read-only; a /dev of null, zero, full, random, urandom
//     and tty only (no GPUs, FUSE or kernel log); the private directories
//     above. Home directories, the orchestrator's checkout and data (a
//     benchmark's gold answers) and the rest of the host are out of sight;
//   - /proc mounted anew with hidepid=invisible (Isolation.HideProc), so a
//     job sees no process but its own: no pids, command lines or status of
//     the orchestrator or of other jobs;
//   - an IPC namespace of its own;
//   - when started as root, a user of its own (PoolConfig.UIDBase plus the
//     worker's pid, so unique on the host while the worker lives) that its
//     jobs run as: jobs of different workers and of other pools cannot
//     signal, trace or read each other, and a dead worker's leftovers are
//     found and killed by user.
//
// Per job, the worker builds the job's DataFrames (so they are outside the
// job's memory limit; tables come from the orchestrator, not the model),
// then forks. It keeps the last 16 tables it loaded (by a digest of their
// JSON; a child only ever changes its own copy-on-write view of them), so
// the samples of one RL group load their table once. A child inherits the
// worker's heap, so it can find the input tables of those recent jobs in
// its memory, but nothing else of them: the worker's malloc overwrites what
// it frees (glibc's perturb, without the tcache), so earlier jobs' code and
// output are gone (TestJobsLeaveNothingInMemory). When the worker goes
// idle it forks a spare child ahead of the next job: the spare runs a
// small pandas program on a throw-away table as the worker's own code
// (copying the pages such a program writes) and blocks on a pipe; a job
// whose tables the spare holds goes to it, and it then confines itself
// exactly as a freshly forked child does. Under a backlog no spare is made
// (it would only delay the queued job) and each job is forked after its
// request arrives. Either way one process serves one job. In the child,
// before the program's first line: a new session (its own process group);
// stdin from /dev/null, stdout, stderr and
// a status channel to three fresh memory files (memfd) sealed at
// Limits.OutputBytes (16 MiB for the status channel, which carries a
// returned table) rounded up to a page. sys.stdout and sys.stderr kill the
// job when a write finds their file full; a direct os.write past the end
// fails with EPERM. Output over the cap is output_exceeded (also when the
// wall-clock limit passed too). Files rather than pipes so that the worker
// reads nothing while the child runs: it blocks in waitid
// and writes none of the memory it shares with the child (every page it
// wrote would be copied). The worker reads each file only up to what it
// holds, wherever the job moved its offset. Descriptor 4 is a set-up
// channel, a pipe: the child's own code writes a failure to confine itself
// there, or one byte just before the program starts, and closes it, so a
// job cannot make its run look like the sandbox's failure (sandbox_error,
// which training drops). The status channel is the job's word: the worker
// reads at most 64 KiB of it when no table was asked for (16 MiB with
// one), takes only the fields it knows, checks their types (a line number is an
// integer under 2^31), caps the exception type at 256 bytes and the detail
// at 4 KiB, and takes a table only when one was asked for and it is a
// table of strings (runtime_error otherwise); a result the Go side still
// cannot decode is the job's runtime_error, and the worker stays. Every other descriptor is closed; rlimits on
// address space (the worker's baseline plus Limits.MemoryBytes), CPU seconds,
// file size, open files, core dumps, and processes/threads when root;
// cgroup v2 memory.max with swap off and pids.max where the host delegates
// a writable cgroup v2 with those controllers (the child joins its worker's
// leaf cgroup); setgroups/setgid/setuid to the worker's user; the parent
// death signal; an empty working directory that is removed afterwards; and
// a seccomp filter that refuses new processes (fork, vfork, clone without
// CLONE_THREAD, clone3), exec, signals to any process but itself, clearing
// its parent-death signal (prctl PR_SET_PDEATHSIG), ptrace and
// cross-process memory access, namespaces, mounts, io_uring, bpf,
// keyrings, System V IPC and POSIX message queues (objects that would
// outlive the job, a channel to the next one), and memfd_create (memory
// outside RLIMIT_AS). Each worker also has an IPC namespace of its own, so
// that without seccomp such objects die with the worker, not on the host. Threads are allowed (bounded by RLIMIT_NPROC); a program that
// returns ends the process with _exit, so threads it left behind die with
// it. The worker enforces the wall-clock limit with a timer that kills the
// child's process group; the Go side keeps a backstop deadline (limit plus
// PoolConfig.Grace) after which it kills the child's group and the worker's
// group and starts a new worker. A worker that dies or breaks the protocol
// is replaced; the job gets StatusSandboxError (StatusTimeout when the
// deadline had passed), never silence. A worker that cannot clean up after
// a job (a fresh tmpfs it cannot mount, a directory it cannot remove) or
// fails in its own code says so in that job's result and exits, and is
// replaced too: it never takes another job.
//
// The child is forked with fork(2) directly, not os.fork: the worker is
// single-threaded and holds no lock when it forks, and CPython's after-fork
// hooks cost a millisecond of page copies per job. One visible effect:
// random and numpy.random are seeded with 0 in the worker and not reseeded,
// so every job starts from the same random state, whichever worker runs it.
//
// # Where a job's time goes
//
// On the 2-core development VM (Linux 6.18 under a shadow-paging
// hypervisor) a page fault costs 2.5-5 us, about ten times bare metal, and
// page faults are most of a job: for the bench program (filter and
// group-by on a 50x8 table, 0.7-1 ms when run in-process) a child takes
// about 1,100 copy-on-write and file faults while the program runs (CPython
// 3.11 writes the reference count of every object it touches, and its code,
// function and type objects are spread over the 40 MB heap: of the ~1,000
// pages a child copies, about 650 end byte-identical to the worker's, their
// counts raised and lowered again), about 300 more
// between fork and the program, and exit tears down the page tables fork
// copied and the pages the child copied (3-4 ms). The worker's own share is
// the fork (2-2.5 ms, about 500 mappings and 70 MB of page tables to copy)
// plus its loop. A bare fork, run the program, _exit loop in the same
// Python, with no confinement and no supervision, costs 13-16 ms of CPU per
// job on this VM; tabler1 bench sandbox measures it in the same run
// (floor_jobs_per_s) and the pool reaches 70-80% of it.
//
// # The weaker mode
//
// Where the host refuses a layer (not root, no CAP_SYS_ADMIN, no seccomp),
// the pool runs without it and logs one warning per pool; Pool.Isolation
// says which layers are in force. Without a network namespace, the seccomp
// filter refuses every socket (EACCES; socketpair stays), so the network is
// still closed while seccomp works. With one, it allows IP sockets only,
// which reach nothing there: no AF_UNIX (host sockets by path), AF_VSOCK
// (a hypervisor's services), netlink or others. Without a mount namespace, there is no private
// /tmp: the working directory is a fresh directory under the system temp
// directory (also TMPDIR and HOME), removed after the job (without recursion,
// one directory open at a time, so depth does not matter), but a program can
// read and write wherever its user may (no minimal root either). Without root, jobs run as the pool's own
// user: they can read that user's files and other processes' /proc entries
// of that user (the seccomp filter still refuses signals and ptrace), and
// RLIMIT_NPROC is not set. Without seccomp (a kernel without it, or an
// architecture other than x86_64 and arm64), new processes are not refused,
// though the process-group kill (and, with a PID namespace, the kill of
// every process in it) still ends them at the end of the job. Where neither
// a PID namespace (root) nor seccomp is in force, a job that clears its
// parent-death signal can outlive a kill -9 of the pool's process.
//
// # Statuses
//
// ok; syntax_error (with ExceptionType and ErrorLine); runtime_error (an
// uncaught exception with its type and the program's line, or a non-zero
// exit); timeout (wall clock, or the CPU limit); memory_exceeded (MemoryError
// or ENOMEM, or a cgroup OOM kill); output_exceeded (stdout or stderr over
// the cap, or a returned table over 16 MiB); killed (a signal: a crash in C
// code, os.abort, or cancellation through the context); sandbox_error (the
// sandbox failed, or the job's table is invalid). Writing a file over
// Limits.FileBytes makes the write fail (EFBIG), a runtime_error if the
// program does not catch it.
//
// # Checks
//
// The tests hold a security battery of hostile programs (security_test.go),
// each of which must end with the right status while the host stays
// unharmed: no connection reaches a loopback listener, no file appears
// outside the job's directory, no process of a job user survives, and the
// pool still answers. Longer checks:
//
//	tabler1 bench sandbox [--json]            throughput and latency against fresh python3
//	tabler1 bench sandbox --soak 20000        plus a soak, 5% hostile (among them the programs
//	                                          that attack the next job: sequenceAttacks): no lost
//	                                          job, no clean job failed, no leftover process during
//	                                          the soak, after the pool closes or after a kill -9
//	                                          of a pool's process (tabler1 exec), flat worker
//	                                          memory (exit 1 otherwise)
//	TABLER1_LONG=1 go test -run Soak ./sandbox/   the same soak as a test (TABLER1_SOAK_JOBS=N)
//
// # Identical jobs
//
// Dedup wraps an Executor so that identical jobs (code, tables, limits)
// run once: concurrent ones wait for the first, later ones get its result
// (Result.Reused) while it is among the last 4096 kept (64 MiB of output
// at most). Every worker sets
// PYTHONHASHSEED=0 and seeds random and numpy.random with 0, so a table
// program's output does not depend on which worker ran it or whether it ran
// again. The remote executor seeds random and numpy.random the same way,
// but its service starts a fresh interpreter per job, so string hashes (and
// set order) may vary there. The trainer (sandbox.dedup, on by default) and
// tabler1 eval use Dedup; the bench measures the Pool alone.
//
// # Remote executor
//
// Remote sends jobs to a SandboxFusion /run_code endpoint: the tables go as
// files (JSON of layouts.Table) next to a prelude that loads them with the
// same bridge and runs the program, so results read the same as the pool's.
// It retries on 5xx answers and timeouts with backoff, bounds its
// concurrency, and gives every request a deadline.
package sandbox
