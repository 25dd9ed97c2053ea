package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupSet is the pool's cgroup v2 subtree: base/ with one leaf job-i per
// worker. A job's child moves itself into its worker's leaf before it drops
// privileges; the worker sets memory.max per job and reads memory.peak and
// memory.events (oom_kill) after it. swap is off (memory.swap.max 0) and
// pids.max bounds threads. A nil *cgroupSet means cgroup v2 is not used.
type cgroupSet struct {
	base string
	n    int
}

// newCgroupSet sets up the subtree under the cgroup this process is in,
// when that is a writable cgroup v2 directory offering memory and pids.
func newCgroupSet(workers int) (*cgroupSet, error) {
	mount, err := cgroup2Mount("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	rel, err := ownCgroup("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	return newCgroupSetAt(filepath.Join(mount, rel), fmt.Sprintf("tabler1-sandbox-%d", os.Getpid()), workers)
}

func newCgroupSetAt(parent, name string, workers int) (*cgroupSet, error) {
	ctrl, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup controllers: %w", err)
	}
	have := strings.Fields(string(ctrl))
	for _, c := range []string{"memory", "pids"} {
		if !slices.Contains(have, c) {
			return nil, fmt.Errorf("cgroup %s does not offer the %s controller (it offers %q)", parent, c, have)
		}
	}
	sub, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup subtree control: %w", err)
	}
	if en := strings.Fields(string(sub)); !slices.Contains(en, "memory") || !slices.Contains(en, "pids") {
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +pids"), 0o644); err != nil {
			return nil, fmt.Errorf("enabling memory and pids below %s: %w", parent, err)
		}
	}
	s := &cgroupSet{base: filepath.Join(parent, name), n: workers}
	if err := os.Mkdir(s.base, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", s.base, err)
	}
	if err := os.WriteFile(filepath.Join(s.base, "cgroup.subtree_control"), []byte("+memory +pids"), 0o644); err != nil {
		_ = s.remove()
		return nil, fmt.Errorf("enabling memory and pids in %s: %w", s.base, err)
	}
	for i := range workers {
		dir := s.jobDir(i)
		if err := os.Mkdir(dir, 0o755); err != nil {
			_ = s.remove()
			return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		for file, val := range map[string]string{"memory.swap.max": "0", "pids.max": "64"} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0o644); err != nil {
				_ = s.remove()
				return nil, fmt.Errorf("setting %s in %s: %w", file, dir, err)
			}
		}
	}
	return s, nil
}

func (s *cgroupSet) jobDir(i int) string { return filepath.Join(s.base, fmt.Sprintf("job-%d", i)) }

// remove deletes the subtree; its processes must be gone.
func (s *cgroupSet) remove() error {
	if s == nil {
		return nil
	}
	var errs []error
	for i := range s.n {
		if err := os.Remove(s.jobDir(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(s.base); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cgroup2Mount finds where the cgroup2 hierarchy is mounted.
func cgroup2Mount(mountinfo string) (string, error) {
	data, err := os.ReadFile(mountinfo)
	if err != nil {
		return "", fmt.Errorf("finding the cgroup2 mount: %w", err)
	}
	return parseCgroup2Mount(data)
}

// parseCgroup2Mount reads /proc/self/mountinfo lines:
// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
func parseCgroup2Mount(data []byte) (string, error) {
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+1 >= len(fields) {
			continue
		}
		if fields[sep+1] == "cgroup2" {
			return fields[4], nil
		}
	}
	return "", errors.New("no cgroup2 file system is mounted")
}

// ownCgroup reads this process's cgroup v2 path.
func ownCgroup(procCgroup string) (string, error) {
	data, err := os.ReadFile(procCgroup)
	if err != nil {
		return "", fmt.Errorf("reading own cgroup: %w", err)
	}
	return parseOwnCgroup(data)
}

// parseOwnCgroup finds the "0::/path" line of /proc/self/cgroup.
func parseOwnCgroup(data []byte) (string, error) {
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(rest, "/") && !strings.Contains(rest, "..") {
			return rest, nil
		}
	}
	return "", errors.New("this process is in no cgroup v2 group")
}
