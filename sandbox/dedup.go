package sandbox

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// Dedup is an Executor that runs identical jobs once. A job whose code,
// tables, limits and ReturnTable equal those of a job in flight waits for
// that job's result; one equal to a recently finished job gets its result
// again, marked Result.Reused. Each execution is still a fresh process of
// the wrapped executor: what Dedup saves is running the same program on the
// same table twice, which RL does all the time (the G samples of a group
// share a table, and a policy that has learnt a question writes the same
// program for most of them).
//
// Reuse is exact for deterministic programs, which table programs are: the
// local pool starts every job from the same random seeds and string-hash
// seed. A program whose output depends on the clock, its pid or memory
// addresses gets the first execution's output for as long as the result is
// kept. Only outcomes that follow from the program and its input are kept
// (ok, syntax_error, runtime_error, memory_exceeded, output_exceeded);
// timeouts, kills and sandbox errors are not, and a waiting job whose
// leader ended that way runs itself.
//
// The zero value is not usable: set Exec. Dedup is safe for concurrent use.
type Dedup struct {
	// Exec runs the jobs.
	Exec execution.Executor
	// Size is the number of finished results kept, least recently used
	// dropped first (default 4096), and MaxBytes bounds their output and
	// returned tables together (default 64 MiB).
	Size     int
	MaxBytes int64

	mu       sync.Mutex
	bytes    int64 // held by done
	inflight map[dedupKey]*dedupCall
	done     map[dedupKey]*list.Element // of dedupEntry
	order    *list.List
	runs     atomic.Int64
	reused   atomic.Int64
}

type dedupKey [sha256.Size]byte

type dedupCall struct {
	finished chan struct{}
	res      execution.Result
}

type dedupEntry struct {
	key  dedupKey
	res  execution.Result
	size int64
}

// resultBytes is roughly what a kept result holds.
func resultBytes(r execution.Result) int64 {
	n := int64(len(r.Stdout) + len(r.Stderr) + len(r.Detail) + 256)
	if r.Table != nil {
		for _, rows := range [][][]string{r.Table.Header, r.Table.Rows} {
			for _, row := range rows {
				for _, c := range row {
					n += int64(len(c)) + 16
				}
			}
		}
	}
	return n
}

// DedupStats counts what a Dedup did.
type DedupStats struct {
	Runs   int64 `json:"runs"`   // jobs the wrapped executor ran
	Reused int64 `json:"reused"` // jobs answered with an earlier result
}

// Stats returns the counts so far.
func (d *Dedup) Stats() DedupStats {
	return DedupStats{Runs: d.runs.Load(), Reused: d.reused.Load()}
}

// Run runs job, or answers it with the result of an identical one.
func (d *Dedup) Run(ctx context.Context, job execution.Job) execution.Result {
	key, ok := jobKey(job)
	if !ok {
		d.runs.Add(1)
		return d.Exec.Run(ctx, job)
	}
	d.mu.Lock()
	if d.inflight == nil {
		d.inflight, d.done, d.order = map[dedupKey]*dedupCall{}, map[dedupKey]*list.Element{}, list.New()
	}
	if el, ok := d.done[key]; ok {
		d.order.MoveToFront(el)
		res := el.Value.(dedupEntry).res
		d.mu.Unlock()
		d.reused.Add(1)
		return reused(res)
	}
	if c, ok := d.inflight[key]; ok {
		d.mu.Unlock()
		select {
		case <-c.finished:
		case <-ctx.Done():
			return execution.Result{Status: execution.StatusKilled, Detail: "cancelled while waiting for an identical job: " + ctx.Err().Error()}
		}
		if keepable(c.res.Status) {
			d.reused.Add(1)
			return reused(c.res)
		}
		d.runs.Add(1)
		return d.Exec.Run(ctx, job)
	}
	c := &dedupCall{finished: make(chan struct{})}
	d.inflight[key] = c
	d.mu.Unlock()

	d.runs.Add(1)
	c.res = d.Exec.Run(ctx, job)
	d.mu.Lock()
	delete(d.inflight, key)
	if keepable(c.res.Status) {
		e := dedupEntry{key: key, res: c.res, size: resultBytes(c.res)}
		d.done[key] = d.order.PushFront(e)
		d.bytes += e.size
		size, maxBytes := d.Size, d.MaxBytes
		if size <= 0 {
			size = 4096
		}
		if maxBytes <= 0 {
			maxBytes = 64 << 20
		}
		for d.order.Len() > 0 && (d.order.Len() > size || d.bytes > maxBytes) {
			last := d.order.Back()
			old := last.Value.(dedupEntry)
			delete(d.done, old.key)
			d.bytes -= old.size
			d.order.Remove(last)
		}
	}
	d.mu.Unlock()
	close(c.finished)
	return c.res
}

// keepable reports whether an outcome follows from the program and its
// input alone, so that an identical job would end the same way.
func keepable(s execution.Status) bool {
	switch s {
	case execution.StatusOK, execution.StatusSyntaxError, execution.StatusRuntimeError, execution.StatusMemoryExceeded, execution.StatusOutputExceeded:
		return true
	}
	return false
}

// reused returns a copy of r for another caller: marked, and with its own
// copy of the returned table, which the caller may change.
func reused(r execution.Result) execution.Result {
	r.Reused = true
	r.Table = r.Table.Clone()
	return r
}

// jobKey is a digest of everything that decides a job's outcome; ok is
// false when a table cannot be encoded (the job then runs as it is, and the
// executor reports the problem).
func jobKey(job execution.Job) (dedupKey, bool) {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	table := func(t *layouts.Table) bool {
		if t == nil {
			field(nil)
			return true
		}
		b, err := json.Marshal(t)
		if err != nil {
			return false
		}
		field(b)
		return true
	}
	field([]byte(job.Code))
	if !table(job.Table) {
		return dedupKey{}, false
	}
	// Extra tables in name order (encoding/json sorts map keys).
	extra, err := json.Marshal(job.Extra)
	if err != nil {
		return dedupKey{}, false
	}
	field(extra)
	lim, _ := json.Marshal(job.Limits)
	field(lim)
	if job.ReturnTable {
		field([]byte{1})
	} else {
		field([]byte{0})
	}
	var k dedupKey
	h.Sum(k[:0])
	return k, true
}
