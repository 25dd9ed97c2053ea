package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PoolMemory is the memory the pool's workers hold, as the kernel counts
// it: RSS counts pages shared between workers once per worker, PSS divides
// them among their sharers.
type PoolMemory struct {
	RSSBytes int64 `json:"rss_bytes"`
	PSSBytes int64 `json:"pss_bytes"`
	Workers  int   `json:"workers"`
}

// Memory sums the workers' memory from /proc (idle workers; a job's child
// is counted while it runs).
func (p *Pool) Memory() (PoolMemory, error) {
	p.mu.Lock()
	pids := make([]int, 0, len(p.workers))
	for w := range p.workers {
		pids = append(pids, w.cmd.Process.Pid)
	}
	p.mu.Unlock()
	var m PoolMemory
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			return m, fmt.Errorf("reading the memory of worker %d: %w", pid, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				m.RSSBytes += kb << 10
			case "Pss:":
				m.PSSBytes += kb << 10
			}
		}
		m.Workers++
	}
	return m, nil
}

// leftoverProcesses lists live (not zombie) processes of the pool's job
// users (only meaningful when the pool runs as root: otherwise jobs share
// the pool's own user and this returns nil).
func (p *Pool) leftoverProcesses() []int {
	if !p.mode.Setuid {
		return nil
	}
	p.mu.Lock()
	uids := make(map[int]bool, len(p.uids))
	for u := range p.uids {
		uids[u] = true
	}
	p.mu.Unlock()
	return processesOf(func(uid int) bool { return uids[uid] })
}

// killUser kills every live process of uid: the last resort when a worker
// died or hung before telling the pool its job's pid.
func killUser(uid int) {
	for _, pid := range processesOf(func(u int) bool { return u == uid }) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesOf lists live processes whose real uid matches.
func processesOf(match func(uid int) bool) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "State:") && strings.Contains(line, "Z") {
				break // dead, waiting for its new parent to reap it
			}
			rest, ok := strings.CutPrefix(line, "Uid:")
			if !ok {
				continue
			}
			if f := strings.Fields(rest); len(f) > 0 {
				if uid, err := strconv.Atoi(f[0]); err == nil && match(uid) {
					pids = append(pids, pid)
				}
			}
			break
		}
	}
	return pids
}
