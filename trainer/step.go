package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/google/uuid"

	"tabler1/backend"
	"tabler1/episode"
	"tabler1/grpo"
	"tabler1/layouts"
	"tabler1/rollout"
	"tabler1/sandbox/execution"
)

// runStep runs one global step of stage si.
// With pipe (an asynchronous GRPO stage) the step's groups come from the
// pipeline, generated ahead on older weights.
func (t *Trainer) runStep(ctx context.Context, step, si, local int, pipe *pipeline) (StepMetrics, []episode.Episode, error) {
	st := t.cfg.Stages[si]
	start := t.now()
	m := StepMetrics{Step: step, Stage: st.Kind, StageStep: local}
	var batch backend.Batch
	var samples []episode.Episode
	var fb backend.ForwardResult
	var err error
	switch st.Kind {
	case StageLTISFT, StageSFT:
		items := t.draw(si, st.BatchSize)
		batch = backend.Batch{Step: step}
		for _, it := range items {
			m.Items = append(m.Items, it.ID)
			prompt, completion := sftPair(t.d.Format, it)
			batch.Sequences = append(batch.Sequences, episode.Sequence{ID: it.ID, Prompt: prompt, Completion: completion, Advantage: 1})
		}
		trainStart := t.now()
		fb, err = t.d.Backend.SFTForwardBackward(ctx, batch)
		if err != nil {
			return m, nil, err
		}
		m.TrainSeconds = t.now().Sub(trainStart).Seconds()
	default:
		var groups [][]episode.Episode
		if pipe != nil {
			groups, err = t.takeAsync(ctx, pipe, step, si, st, &m)
		} else {
			src := drawSource{cursor: &t.state.Cursors[si], rng: t.rng}
			groups, err = t.collectGroups(ctx, step, si, st, &m, src, func() int { return t.state.Step })
		}
		if err != nil {
			return m, nil, err
		}
		countExecutions(groups, &m)
		groups = dropSandboxErrors(groups, &m)
		if err := finishGroups(st, groups, &m); err != nil {
			return m, nil, err
		}
		m.RolloutSeconds = t.now().Sub(start).Seconds()
		batch = backend.Batch{Step: step}
		for _, g := range groups {
			for _, s := range g {
				samples = append(samples, s)
				// A masked sample kept its place in the group's baseline
				// (finishGroups) but gets no loss: left out of the batch,
				// it adds neither gradient nor tokens to the loss's
				// denominator, as TRL's completion mask.
				if s.Masked {
					m.MaskedSamples++
					continue
				}
				batch.Sequences = append(batch.Sequences, s.Sequence())
			}
		}
		summarizeFallback(&m, groups)
		summarize(&m, samples)
		summarizePolicy(&m, st.ParadigmPolicy, groups)
		trainStart := t.now()
		if len(batch.Sequences) > 0 {
			fb, err = t.d.Backend.ForwardBackward(ctx, batch, st.Loss)
			if err != nil {
				return m, nil, err
			}
		}
		m.TrainSeconds = t.now().Sub(trainStart).Seconds()
	}
	m.Loss, m.KL, m.ClipFraction, m.Entropy, m.Tokens = fb.Loss, fb.KL, fb.ClipFraction, fb.Entropy, fb.Tokens
	trainStart := t.now()
	if len(batch.Sequences) > 0 {
		o := st.Optim
		o.LR = scheduledLR(o, local)
		or, err := t.d.Backend.OptimStep(ctx, o)
		if err != nil {
			return m, nil, err
		}
		m.GradNorm, m.LR = or.GradNorm, o.LR
	}
	pr, err := t.d.Backend.Publish(ctx)
	if err != nil {
		return m, nil, err
	}
	m.Version = pr.Version
	m.TrainSeconds += t.now().Sub(trainStart).Seconds()
	m.Samples = len(batch.Sequences)
	if st.Kind == StageLTISFT || st.Kind == StageSFT {
		var pl, cl float64
		for _, s := range batch.Sequences {
			pl += float64(len(s.Prompt))
			cl += float64(len(s.Completion))
		}
		if n := float64(len(batch.Sequences)); n > 0 {
			m.PromptLen, m.CompletionLen = pl/n, cl/n
		}
	}
	m.StepSeconds = t.now().Sub(start).Seconds()
	if m.StepSeconds > 0 {
		m.SamplesPerSec = float64(m.Samples) / m.StepSeconds
		m.TokensPerSec = float64(m.Tokens) / m.StepSeconds
	}
	return m, samples, nil
}

// scheduledLR ramps the learning rate linearly over the warm-up steps.
func scheduledLR(o backend.OptimConfig, local int) float64 {
	if o.WarmupSteps > 0 && local <= o.WarmupSteps {
		return o.LR * float64(local) / float64(o.WarmupSteps)
	}
	return o.LR
}

// drawSource is where a step's draws come from: the stage's cursor and the
// generator of sampling seeds. Synchronous steps use the trainer's own
// state; the asynchronous pipeline a private copy that it hands back with
// each produced step, so that draws happen in step order either way and
// the checkpointed state is that after the last trained step.
type drawSource struct {
	cursor *int
	rng    *rand.PCG
}

func (d drawSource) draw(o *Order, n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = o.At(*d.cursor)
		*d.cursor++
	}
	return out
}

// collectGroups draws questions and rolls out, executes and scores a group
// per question. With DAPO's dynamic sampling (advantage.filter_groups) a
// group whose samples all have the same outcome (no learning signal) is
// dropped and more questions are drawn, up to max_num_gen_batches batches,
// until BatchSize groups are kept. policy returns the step of the weights
// currently served; each group records it as its samples' PolicyStep.
func (t *Trainer) collectGroups(ctx context.Context, step, si int, st StageConfig, m *StepMetrics, src drawSource, policy func() int) ([][]episode.Episode, error) {
	var drawn [][]episode.Episode
	var dec grpo.SamplingDecision
	for gen := 1; ; gen++ {
		items := src.draw(t.orders[si], st.BatchSize-len(dec.Keep))
		for _, it := range items {
			m.Items = append(m.Items, it.ID)
		}
		groups, err := t.rolloutGroups(ctx, step, items, st, src.rng.Uint64(), policy)
		if err != nil {
			return nil, err
		}
		drawn = append(drawn, groups...)
		dec = grpo.DynamicSampling(st.Advantage.FilterGroups, grpo.Outcomes(drawn), st.BatchSize, gen)
		if !dec.DrawMore {
			break
		}
	}
	m.FilteredGroups += len(drawn) - len(dec.Keep)
	kept := make([][]episode.Episode, 0, len(dec.Keep))
	for _, g := range dec.Keep {
		kept = append(kept, drawn[g])
	}
	return kept, nil
}

// finishGroups computes the advantages of the groups a step trains on
// (grpo.GroupAdvantages) and counts them.
func finishGroups(st StageConfig, kept [][]episode.Episode, m *StepMetrics) error {
	adv, err := grpo.GroupAdvantages(st.Advantage, kept)
	if err != nil {
		return err
	}
	for g := range kept {
		for i := range kept[g] {
			kept[g][i].Advantage = adv[g][i]
		}
	}
	m.Groups = len(kept)
	return nil
}

// countExecutions counts the step's programs the sandbox ran and those
// answered with an identical program's result (sandbox.Dedup), perturbed
// reruns included.
func countExecutions(groups [][]episode.Episode, m *StepMetrics) {
	for _, g := range groups {
		for _, s := range g {
			for _, r := range []*execution.Result{s.Exec, s.Perturbed} {
				switch {
				case r == nil:
				case r.Reused:
					m.SandboxReused++
				default:
					m.SandboxRuns++
				}
			}
		}
	}
}

// dropSandboxErrors removes the samples whose program the sandbox failed to
// run (not the program's fault: the reward says nothing about the model)
// and counts them; a group left with fewer than two samples has no
// baseline and is dropped whole.
func dropSandboxErrors(groups [][]episode.Episode, m *StepMetrics) [][]episode.Episode {
	out := groups[:0]
	for _, g := range groups {
		kept := g[:0]
		for _, s := range g {
			if s.SandboxError {
				m.SandboxErrors++
				continue
			}
			kept = append(kept, s)
		}
		if len(kept) < 2 {
			m.SandboxErrorGroups++
			continue
		}
		out = append(out, kept)
	}
	return out
}

type execJob struct {
	group, index int
	item         Item
	sample       episode.Episode
}

// rolloutGroups samples a group per item under the stage's paradigm policy
// (rollout.GroupConfig), runs the programs in the sandbox and scores them.
// Generation, execution and scoring overlap: completions stream through a
// bounded channel to the execution workers as soon as their request
// returns. A program_first group whose programs are all wrong draws its
// text samples once they are scored.
func (t *Trainer) rolloutGroups(ctx context.Context, step int, items []Item, st StageConfig, base uint64, policy func() int) ([][]episode.Episode, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	gc := st.GroupConfig
	groups := make([][]episode.Episode, len(items))
	sizes := make([]int, len(items))
	pending := make([]sync.WaitGroup, len(items))
	for i, it := range items {
		n := gc.GroupSize
		if fb := gc.Fallback(it.Task); fb != nil {
			n += fb.N
		}
		groups[i] = make([]episode.Episode, n)
	}
	jobs := make(chan execJob, 2*gc.GroupSize*max(1, t.cfg.Sandbox.Workers))

	var gen sync.WaitGroup
	sem := make(chan struct{}, max(1, t.cfg.Rollout.Concurrency/gc.GroupSize))
	// draw requests d.N completions of it's prompt asking for d.Asked and
	// queues them for execution at positions from on of its group.
	draw := func(gi int, it Item, d rollout.Draw, from int, seed uint64) bool {
		prompt := t.d.Format.Prompt(it, d.Asked)
		req := GenRequest{Prompt: prompt, N: d.N, Temperature: t.cfg.Rollout.Temperature, TopP: t.cfg.Rollout.TopP,
			MaxTokens: t.cfg.Rollout.MaxTokens, Stop: t.d.Format.Stop(), Seed: seed}
		// Read before the request: the weights that serve it are at
		// least this new, so staleness is never underestimated.
		pstep := policy()
		comps, err := t.d.Generator.Generate(ctx, req)
		if err != nil {
			fail(fmt.Errorf("rollout of %s: %w", it.ID, err))
			return false
		}
		if len(comps) != d.N {
			fail(fmt.Errorf("rollout of %s: got %d completions, asked for %d", it.ID, len(comps), d.N))
			return false
		}
		for ci, c := range comps {
			s := episode.Episode{ID: uuid.NewString(), Step: step, ItemID: it.ID, Group: gi, Task: it.Task, Asked: d.Asked,
				Prompt: prompt, Gold: it.Answers, Completion: c, PolicyStep: pstep}
			s.Parse = t.d.Format.Parse(c.Text, d.Asked)
			pending[gi].Add(1)
			select {
			case jobs <- execJob{group: gi, index: from + ci, item: it, sample: s}:
			case <-ctx.Done():
				pending[gi].Done()
				return false
			}
		}
		return true
	}
	for gi, it := range items {
		gen.Add(1)
		go func() {
			defer gen.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			seed := base + uint64(gi)*uint64(gc.GroupSize)
			n := 0
			for _, d := range gc.Draws(it.Task) {
				if d.N == 0 {
					continue
				}
				if !draw(gi, it, d, n, seed+uint64(n)) {
					return
				}
				n += d.N
			}
			if fb := gc.Fallback(it.Task); fb != nil {
				pending[gi].Wait()
				if ctx.Err() != nil {
					return
				}
				if !anyCorrect(groups[gi][:n]) {
					if !draw(gi, it, *fb, n, (base^0x5bd1e995)+uint64(gi)*uint64(gc.GroupSize)) {
						return
					}
					n += fb.N
				}
			}
			sizes[gi] = n
		}()
	}
	go func() { gen.Wait(); close(jobs) }()

	// The perturbed copy of an item's table (grpo's computes-nothing
	// check), made once per group when a program of it first runs ok.
	ptables := make([]*layouts.Table, len(items))
	ponce := make([]sync.Once, len(items))
	perturbed := func(g int, it Item) *layouts.Table {
		ponce[g].Do(func() { ptables[g] = grpo.PerturbTable(it.Table, t.cfg.Seed^base^uint64(g+1)*0x9e3779b97f4a7c15) })
		return ptables[g]
	}
	var work sync.WaitGroup
	for w := 0; w < max(1, t.cfg.Sandbox.Workers); w++ {
		work.Add(1)
		go func() {
			defer work.Done()
			for j := range jobs {
				s := j.sample
				var res *execution.Result
				if s.Paradigm == episode.ParadigmProgram {
					r := t.d.Executor.Run(ctx, execution.Job{Code: s.Code, Table: j.item.Table, ReturnTable: j.item.Task == episode.TaskLTI,
						Limits: execution.Limits{Wall: t.cfg.Sandbox.Wall, MemoryBytes: int64(t.cfg.Sandbox.MemoryMB) << 20}})
					res = &r
					s.Exec = res
					s.Extracted = r.Answer()
					if r.Status == execution.StatusOK && t.perturb && j.item.Task != episode.TaskLTI {
						pr := t.d.Executor.Run(ctx, execution.Job{Code: s.Code, Table: perturbed(j.group, j.item),
							Limits: execution.Limits{Wall: t.cfg.Sandbox.Wall, MemoryBytes: int64(t.cfg.Sandbox.MemoryMB) << 20}})
						if pr.Status != execution.StatusSandboxError {
							// Without it the check falls back to syntax.
							s.Perturbed = &pr
						}
					}
				} else {
					s.Extracted = s.Answer
				}
				s.Reward = t.d.Scorer.Score(j.item, &s)
				if res != nil && res.Status == execution.StatusSandboxError {
					s.SandboxError = true
					t.sandboxStreak.Add(1)
					t.lastSandboxError.Store(res.Detail)
				} else if res != nil {
					t.sandboxStreak.Store(0)
				}
				groups[j.group][j.index] = s
				pending[j.group].Done()
			}
		}()
	}
	work.Wait()
	if n := t.sandboxStreak.Load(); firstErr == nil && n >= int64(max(16, 2*st.BatchSize*gc.GroupSize)) {
		// Isolated sandbox failures are dropped (dropSandboxErrors); this
		// many in a row is a broken sandbox, and the run must stop.
		return nil, fmt.Errorf("the sandbox failed on the last %d programs in a row (last: %s); check the sandbox (workers, python with pandas, remote URL)", n, t.lastSandboxError.Load())
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for gi := range groups {
		groups[gi] = groups[gi][:sizes[gi]]
	}
	return groups, nil
}

// anyCorrect says whether one of a group's samples is right.
func anyCorrect(g []episode.Episode) bool {
	for _, s := range g {
		if s.Correct {
			return true
		}
	}
	return false
}

// summarize fills the reward, paradigm and length fields of m.
func summarize(m *StepMetrics, samples []episode.Episode) {
	n := float64(len(samples))
	if n == 0 {
		return
	}
	m.Rewards = map[string]float64{}
	var sum, sq, prog, text, invalid, ok, correct, pl, cl, trunc float64
	for _, s := range samples {
		sum += s.Total
		sq += s.Total * s.Total
		for _, c := range s.Components.Named() {
			m.Rewards[c.Name] += c.Value / n
		}
		switch s.Paradigm {
		case episode.ParadigmProgram:
			prog++
			if s.Exec != nil && s.Exec.Status == execution.StatusOK {
				ok++
			}
		case episode.ParadigmText:
			text++
		default:
			invalid++
		}
		if s.Correct {
			correct++
		}
		if s.FinishReason == "length" {
			trunc++
		}
		pl += float64(max(len(s.PromptTokenIDs), 0))
		if len(s.PromptTokenIDs) == 0 {
			pl += float64(len(s.Prompt))
		}
		if len(s.TokenIDs) > 0 {
			cl += float64(len(s.TokenIDs))
		} else {
			cl += float64(len(s.Text))
		}
	}
	m.RewardMean = sum / n
	m.RewardStd = math.Sqrt(math.Max(0, sq/n-m.RewardMean*m.RewardMean))
	m.ProgramShare, m.TextShare, m.InvalidShare = prog/n, text/n, invalid/n
	if prog > 0 {
		m.ExecSuccess = ok / prog
	}
	// Fallback: answering in text where the template offers a program.
	m.FallbackRate = text / n
	m.Accuracy = correct / n
	m.PromptLen, m.CompletionLen, m.Truncated = pl/n, cl/n, trunc/n
}

// summarizeFallback logs grpo.Summarize's text-fallback accounting of the
// step's groups.
func summarizeFallback(m *StepMetrics, groups [][]episode.Episode) {
	if len(groups) == 0 {
		return
	}
	f := grpo.Summarize(groups).Fallback
	m.Fallback = &f
}

// summarizePolicy fills the paradigm policy's metrics of m.
func summarizePolicy(m *StepMetrics, policy rollout.Policy, groups [][]episode.Episode) {
	m.ParadigmPolicy = string(policy)
	n, correct := map[string]float64{}, map[string]float64{}
	for _, g := range groups {
		fellBack := false
		for _, s := range g {
			asked := string(s.Asked)
			if asked == "" {
				asked = "mixed"
			}
			n[asked]++
			if s.Correct {
				correct[asked]++
			}
			fellBack = fellBack || (policy == rollout.PolicyProgramFirst && s.Asked == episode.ParadigmText)
		}
		if fellBack {
			m.PolicyFallbackGroups++
		}
	}
	if len(n) > 0 {
		m.AskedAccuracy = map[string]float64{}
		for k, v := range n {
			m.AskedAccuracy[k] = correct[k] / v
		}
	}
}
