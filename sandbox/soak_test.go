package sandbox

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// TestSoak runs the bench's soak: TABLER1_LONG=1 (TABLER1_SOAK_JOBS jobs,
// default 20000, 5% hostile). No job may be lost, no process survive, and
// the pool's memory must stay flat.
func TestSoak(t *testing.T) {
	if os.Getenv("TABLER1_LONG") != "1" {
		t.Skip("set TABLER1_LONG=1 to run the soak (about 3-5 minutes)")
	}
	pool(t)
	n := 20000
	if s := os.Getenv("TABLER1_SOAK_JOBS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("TABLER1_SOAK_JOBS=%q: %v", s, err)
		}
		n = v
	}
	rep, err := Bench(context.Background(), BenchConfig{Jobs: 20, HalfLoadJobs: 10, Baseline: 1, Soak: n, Hostile: 0.05, Seed: 7,
		PoolProcess: tabler1Exec(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Soak
	t.Logf("soak: %+v", *s)
	if s.Lost > 0 || s.WrongAnswers > 0 || s.Leftover > 0 || s.LeftoverAfterClose > 0 || s.LeftoverAfterKill > 0 {
		t.Errorf("lost %d, clean jobs failed %d, leftover processes %d, after closing the pool %d, after a kill -9 of a pool's process %d",
			s.Lost, s.WrongAnswers, s.Leftover, s.LeftoverAfterClose, s.LeftoverAfterKill)
	}
	if s.Hostile == 0 {
		t.Error("no hostile jobs ran")
	}
	// Flat: the workers' PSS may not grow by more than half.
	if s.PSSEndBytes > s.PSSStartBytes*3/2 {
		t.Errorf("pool memory grew from %d to %d bytes", s.PSSStartBytes, s.PSSEndBytes)
	}
}
