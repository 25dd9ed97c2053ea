package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"tabler1/episode"
)

// Asynchronous GRPO stages (stages[i].async) overlap generation with
// training, as prime-rl's orchestrator: a producer goroutine draws, rolls
// out, executes and scores the groups of the stage's steps in step order,
// up to async.max_ahead steps ahead of the last published weights, while
// the controller trains. Draws come from a private copy of the stage cursor
// and the seed generator, handed back with each produced step, so the data
// order is the synchronous one (a pure function of seed and step without
// filter_groups) and a checkpoint holds the state after the last trained
// step: a resume restarts the pipeline there. The samples themselves are
// not bit-reproducible across a resume, since which weights generated them
// depends on timing.

// versionGate publishes the step of the weights currently served and lets
// the producer wait until they are new enough.
type versionGate struct {
	mu      sync.Mutex
	step    int
	changed chan struct{}
}

func newVersionGate(step int) *versionGate {
	return &versionGate{step: step, changed: make(chan struct{})}
}

// set records that the weights of step are served.
func (g *versionGate) set(step int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.step = step
	close(g.changed)
	g.changed = make(chan struct{})
}

// get returns the step of the weights served now.
func (g *versionGate) get() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.step
}

// wait returns once the served weights are of step atLeast or newer.
func (g *versionGate) wait(ctx context.Context, atLeast int) error {
	for {
		g.mu.Lock()
		step, ch := g.step, g.changed
		g.mu.Unlock()
		if step >= atLeast {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// produced is one step's output of the pipeline.
type produced struct {
	step   int
	groups [][]episode.Episode
	// items and filtered are the step's draws and the groups dynamic
	// sampling dropped.
	items    []string
	filtered int
	// cursor and rng are the stage cursor and seed generator state after
	// the step's draws.
	cursor  int
	rng     []byte
	seconds float64
	err     error
}

// pipeline is a running producer of one asynchronous stage.
type pipeline struct {
	stage  int
	out    chan produced
	cancel context.CancelFunc
	done   chan struct{}
}

// startPipeline starts producing the steps from..to of stage si. The
// producer starts step m once gate reports the weights of step
// m-1-max_ahead. Stop it with stop.
func (t *Trainer) startPipeline(ctx context.Context, si, from, to int, gate *versionGate) (*pipeline, error) {
	st := t.cfg.Stages[si]
	ahead := st.Async.MaxAhead
	rb, err := t.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	rng := &rand.PCG{}
	if err := rng.UnmarshalBinary(rb); err != nil {
		return nil, err
	}
	cursor := t.state.Cursors[si]
	ctx, cancel := context.WithCancel(ctx)
	p := &pipeline{stage: si, out: make(chan produced, ahead), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for step := from; step <= to; step++ {
			if err := gate.wait(ctx, step-1-ahead); err != nil {
				return
			}
			start := t.now()
			var m StepMetrics
			groups, err := t.collectGroups(ctx, step, si, st, &m, drawSource{cursor: &cursor, rng: rng}, gate.get)
			pr := produced{step: step, groups: groups, items: m.Items, filtered: m.FilteredGroups, cursor: cursor, err: err,
				seconds: t.now().Sub(start).Seconds()}
			if err == nil {
				pr.rng, pr.err = rng.MarshalBinary()
			}
			select {
			case p.out <- pr:
			case <-ctx.Done():
				return
			}
			if pr.err != nil {
				return
			}
		}
	}()
	return p, nil
}

// next returns the produced step, in order.
func (p *pipeline) next(ctx context.Context) (produced, error) {
	select {
	case pr := <-p.out:
		return pr, pr.err
	case <-p.done:
		// The producer may have sent its last step just before it ended.
		select {
		case pr := <-p.out:
			return pr, pr.err
		default:
		}
		if err := ctx.Err(); err != nil {
			return produced{}, err
		}
		return produced{}, fmt.Errorf("the rollout pipeline of stage %d stopped early", p.stage+1)
	case <-ctx.Done():
		return produced{}, ctx.Err()
	}
}

// stop cancels the producer and waits for it (and its rollouts) to end.
func (p *pipeline) stop() {
	p.cancel()
	<-p.done
}

// takeAsync takes step's groups from the pipeline, moves the trainer's
// draw state to after them, and drops the groups more than
// async.staleness steps off-policy.
func (t *Trainer) takeAsync(ctx context.Context, p *pipeline, step, si int, st StageConfig, m *StepMetrics) ([][]episode.Episode, error) {
	pr, err := p.next(ctx)
	if err != nil {
		return nil, err
	}
	if pr.step != step {
		return nil, fmt.Errorf("rollout pipeline produced step %d, expected %d", pr.step, step)
	}
	m.Items, m.FilteredGroups = pr.items, pr.filtered
	t.state.Cursors[si] = pr.cursor
	if err := t.rng.UnmarshalBinary(pr.rng); err != nil {
		return nil, fmt.Errorf("rollout pipeline: seed state: %w", err)
	}
	return dropStale(pr.groups, step, st.Async.Staleness, m), nil
}

// dropStale sets every sample's staleness (step-1-policy_step: 0 is
// on-policy) and removes the groups staler than k, counting them.
func dropStale(groups [][]episode.Episode, step, k int, m *StepMetrics) [][]episode.Episode {
	out := groups[:0]
	sum := 0
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		stale := step - 1 - g[0].PolicyStep
		for i := range g {
			g[i].Staleness = step - 1 - g[i].PolicyStep
			stale = max(stale, g[i].Staleness)
		}
		sum += stale
		m.StalenessMax = max(m.StalenessMax, stale)
		if stale > k {
			m.StaleDropped++
			continue
		}
		out = append(out, g)
	}
	if len(groups) > 0 {
		m.StalenessMean = float64(sum) / float64(len(groups))
	}
	return out
}
