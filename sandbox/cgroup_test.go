package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCgroup(t *testing.T) {
	mi := "25 30 0:22 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n" +
		"33 30 0:29 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw\n"
	tests := []struct {
		name, mountinfo, want string
		ok                    bool
	}{
		{"hybrid host", mi, "/sys/fs/cgroup/unified", true},
		{"pure v2", "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup", true},
		{"v1 only", "25 30 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "", false},
		{"garbage", "- cgroup2\n\n", "", false},
	}
	for _, tc := range tests {
		got, err := parseCgroup2Mount([]byte(tc.mountinfo))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
	for in, want := range map[string]string{
		"9:name=systemd:/\n0::/user.slice/x\n": "/user.slice/x",
		"0::/\n":                               "/",
		"4:memory:/a\n":                        "",
		"0::/../escape\n":                      "",
	} {
		got, err := parseOwnCgroup([]byte(in))
		if got != want || (err == nil) != (want != "") {
			t.Errorf("parseOwnCgroup(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("33 30 0:29 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw\n0::/a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := parseCgroup2Mount(data); err == nil && m == "" {
			t.Errorf("empty mount point without an error")
		}
		if p, err := parseOwnCgroup(data); err == nil && (!strings.HasPrefix(p, "/") || strings.Contains(p, "..")) {
			t.Errorf("unsafe cgroup path %q", p)
		}
	})
}

// TestCgroupSetOnAFakeTree checks the set-up writes on a plain directory
// shaped like a delegated cgroup v2 directory.
func TestCgroupSetOnAFakeTree(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("memory pids\n"), 0o644)
	s, err := newCgroupSetAt(dir, "pool", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		for file, want := range map[string]string{"memory.swap.max": "0", "pids.max": "64"} {
			got, err := os.ReadFile(filepath.Join(s.jobDir(i), file))
			if err != nil || string(got) != want {
				t.Errorf("job-%d %s = %q, %v; want %q", i, file, got, err, want)
			}
		}
	}
	if got, _ := os.ReadFile(filepath.Join(s.base, "cgroup.subtree_control")); string(got) != "+memory +pids" {
		t.Errorf("subtree_control %q", got)
	}
	// A fake tree's leaves hold files, so only a real cgroupfs can remove
	// them; check the refusal of a tree without the controllers instead.
	os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte("cpu\n"), 0o644)
	if _, err := newCgroupSetAt(dir, "other", 1); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("a cgroup without memory was accepted: %v", err)
	}
}
