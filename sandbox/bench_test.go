package sandbox

import (
	"context"
	"testing"
	"time"

	"tabler1/sandbox/execution"
)

func TestForkFloorRunsOnlyTheBenchProgram(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	if d, err := p.forkFloor(ctx, benchTable(1), 3); err != nil || d <= 0 {
		t.Fatalf("forkFloor = %v, %v; want a positive duration", d, err)
	}
	// Anything else sent as a floor request is refused, not run unconfined.
	for _, tc := range []struct {
		name string
		req  request
	}{
		{"other code", request{Code: "import os\nprint(os.getuid())\n", Table: benchTable(1), Floor: 1}},
		{"no table", request{Code: benchProgram, Floor: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := <-p.idle
			tc.req.Limits = wire(p.cfg.Limits)
			res, healthy := w.run(ctx, tc.req, 10*time.Second, p.cfg.Grace)
			p.idle <- w
			if !healthy || res.Status != execution.StatusSandboxError {
				t.Fatalf("status %s (healthy %v), want sandbox_error: %s", res.Status, healthy, res.Detail)
			}
		})
	}
	// The worker still runs ordinary jobs afterwards.
	if r := p.Run(ctx, execution.Job{Code: benchProgram, Table: benchTable(1)}); r.Status != execution.StatusOK {
		t.Fatalf("a job after the floor: %s %s", r.Status, r.Detail)
	}
}
