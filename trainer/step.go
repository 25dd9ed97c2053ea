package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/google/uuid"

	"tabler1/grpo"
	"tabler1/layouts"
	"tabler1/sandbox"
)

// runStep runs one global step of stage si.
// With pipe (an asynchronous GRPO stage) the step's groups come from the
// pipeline, generated ahead on older weights.
func (t *Trainer) runStep(ctx context.Context, step, si, local int, pipe *pipeline) (StepMetrics, []Sample, error) {
	st := t.cfg.Stages[si]
	start := t.now()
	m := StepMetrics{Step: step, Stage: st.Kind, StageStep: local}
	var batch Batch
	var samples []Sample
	var fb ForwardResult
	var err error
	switch st.Kind {
	case StageLTISFT, StageSFT:
		items := t.draw(si, st.BatchSize)
		batch = Batch{Step: step}
		for _, it := range items {
			m.Items = append(m.Items, it.ID)
			prompt, completion := sftPair(t.d.Format, it)
			batch.Sequences = append(batch.Sequences, Sequence{ID: it.ID, Prompt: prompt, Completion: completion, Advantage: 1})
		}
		trainStart := t.now()
		fb, err = t.d.Backend.SFTForwardBackward(ctx, batch)
		if err != nil {
			return m, nil, err
		}
		m.TrainSeconds = t.now().Sub(trainStart).Seconds()
	default:
		var groups [][]Sample
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
		batch = Batch{Step: step}
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
				batch.Sequences = append(batch.Sequences, Sequence{
					ID: s.ID, Prompt: s.Prompt, Completion: s.Text,
					PromptTokens: s.PromptTokens, CompletionTokens: s.Tokens, SamplerLogprobs: s.Logprobs,
					Advantage: s.Advantage,
				})
			}
		}
		summarizeFallback(&m, groups)
		summarize(&m, samples)
		trainStart := t.now()
		if len(batch.Sequences) > 0 {
			fb, err = t.d.Backend.ForwardBackward(ctx, batch, st.Loss)
			if err != nil {
				return m, nil, err
			}
		}
		m.TrainSeconds = t.now().Sub(trainStart).Seconds()
	}
	m.Loss, m.KL, m.ClipFraction, m.Tokens = fb.Loss, fb.KL, fb.ClipFraction, fb.Tokens
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
func scheduledLR(o OptimConfig, local int) float64 {
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
func (t *Trainer) collectGroups(ctx context.Context, step, si int, st StageConfig, m *StepMetrics, src drawSource, policy func() int) ([][]Sample, error) {
	var kept [][]Sample
	fg := st.Advantage.FilterGroups
	draws := 1
	if fg.Enable {
		draws = fg.MaxNumGenBatches
		if draws <= 0 {
			draws = 1 << 30
		}
	}
	for d := 0; d < draws && len(kept) < st.BatchSize; d++ {
		n := st.BatchSize - len(kept)
		items := src.draw(t.orders[si], n)
		for _, it := range items {
			m.Items = append(m.Items, it.ID)
		}
		groups, err := t.rolloutGroups(ctx, step, items, st, src.rng.Uint64(), policy)
		if err != nil {
			return nil, err
		}
		correct := make([][]bool, len(groups))
		for g, grp := range groups {
			correct[g] = make([]bool, len(grp))
			for i, s := range grp {
				correct[g][i] = s.Correct
			}
		}
		keep := grpo.KeepGroups(fg, correct)
		m.FilteredGroups += len(groups) - len(keep)
		for _, g := range keep {
			kept = append(kept, groups[g])
		}
	}
	return kept, nil
}

// finishGroups computes the advantages of the groups a step trains on
// (grpo.Advantages) and counts them.
func finishGroups(st StageConfig, kept [][]Sample, m *StepMetrics) error {
	rewards := make([][]float64, len(kept))
	for g, grp := range kept {
		rewards[g] = make([]float64, len(grp))
		for i, s := range grp {
			rewards[g][i] = s.Reward
		}
	}
	adv, err := grpo.Advantages(st.Advantage, rewards)
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
func countExecutions(groups [][]Sample, m *StepMetrics) {
	for _, g := range groups {
		for _, s := range g {
			for _, r := range []*sandbox.Result{s.Exec, s.Perturbed} {
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
func dropSandboxErrors(groups [][]Sample, m *StepMetrics) [][]Sample {
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
	sample       Sample
}

// rolloutGroups samples GroupSize completions per item, runs the programs in
// the sandbox and scores them. Generation, execution and scoring overlap:
// completions stream through a bounded channel to the execution workers as
// soon as their group returns.
func (t *Trainer) rolloutGroups(ctx context.Context, step int, items []Item, st StageConfig, base uint64, policy func() int) ([][]Sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	groups := make([][]Sample, len(items))
	for i := range groups {
		groups[i] = make([]Sample, st.GroupSize)
	}
	jobs := make(chan execJob, 2*st.GroupSize*max(1, t.cfg.Sandbox.Workers))

	var gen sync.WaitGroup
	sem := make(chan struct{}, max(1, t.cfg.Rollout.Concurrency/st.GroupSize))
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
			prompt := t.d.Format.Prompt(it)
			req := GenRequest{Prompt: prompt, N: st.GroupSize, Temperature: t.cfg.Rollout.Temperature, TopP: t.cfg.Rollout.TopP,
				MaxTokens: t.cfg.Rollout.MaxTokens, Stop: t.d.Format.Stop(), Seed: base + uint64(gi)*uint64(st.GroupSize)}
			// Read before the request: the weights that serve it are at
			// least this new, so staleness is never underestimated.
			pstep := policy()
			comps, err := t.d.Generator.Generate(ctx, req)
			if err != nil {
				fail(fmt.Errorf("rollout of %s: %w", it.ID, err))
				return
			}
			if len(comps) != st.GroupSize {
				fail(fmt.Errorf("rollout of %s: got %d completions, asked for %d", it.ID, len(comps), st.GroupSize))
				return
			}
			for ci, c := range comps {
				s := Sample{ID: uuid.NewString(), Step: step, ItemID: it.ID, Group: gi, Prompt: prompt, Gold: it.Answers, Completion: c, PolicyStep: pstep}
				s.Parsed = t.d.Format.Parse(c.Text)
				select {
				case jobs <- execJob{group: gi, index: ci, item: it, sample: s}:
				case <-ctx.Done():
					return
				}
			}
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
				var res *sandbox.Result
				if s.Paradigm == ParadigmProgram {
					r := t.d.Executor.Run(ctx, sandbox.Job{Code: s.Code, Table: j.item.Table, ReturnTable: j.item.Task == TaskLTI,
						Limits: sandbox.Limits{Wall: t.cfg.Sandbox.Wall, MemoryBytes: int64(t.cfg.Sandbox.MemoryMB) << 20}})
					res = &r
					s.Exec = res
					s.Extracted = r.Answer()
					if r.Status == sandbox.StatusOK && t.perturb && j.item.Task != TaskLTI {
						pr := t.d.Executor.Run(ctx, sandbox.Job{Code: s.Code, Table: perturbed(j.group, j.item),
							Limits: sandbox.Limits{Wall: t.cfg.Sandbox.Wall, MemoryBytes: int64(t.cfg.Sandbox.MemoryMB) << 20}})
						if pr.Status != sandbox.StatusSandboxError {
							// Without it the check falls back to syntax.
							s.Perturbed = &pr
						}
					}
				} else {
					s.Extracted = s.Answer
				}
				s.Scored = t.d.Scorer.Score(j.item, &s)
				if res != nil && res.Status == sandbox.StatusSandboxError {
					s.SandboxError = true
					t.sandboxStreak.Add(1)
					t.lastSandboxError.Store(res.Detail)
				} else if res != nil {
					t.sandboxStreak.Store(0)
				}
				groups[j.group][j.index] = s
			}
		}()
	}
	work.Wait()
	if n := t.sandboxStreak.Load(); firstErr == nil && n >= int64(max(16, 2*st.BatchSize*st.GroupSize)) {
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
	return groups, nil
}

// summarize fills the reward, paradigm and length fields of m.
func summarize(m *StepMetrics, samples []Sample) {
	n := float64(len(samples))
	if n == 0 {
		return
	}
	m.Rewards = map[string]float64{}
	var sum, sq, prog, text, invalid, ok, correct, pl, cl, trunc float64
	for _, s := range samples {
		sum += s.Reward
		sq += s.Reward * s.Reward
		for k, v := range s.Components {
			m.Rewards[k] += v / n
		}
		switch s.Paradigm {
		case ParadigmProgram:
			prog++
			if s.Exec != nil && s.Exec.Status == sandbox.StatusOK {
				ok++
			}
		case ParadigmText:
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
		pl += float64(max(len(s.PromptTokens), 0))
		if len(s.PromptTokens) == 0 {
			pl += float64(len(s.Prompt))
		}
		if len(s.Tokens) > 0 {
			cl += float64(len(s.Tokens))
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
// step's groups (scorers other than GRPOScorer carry no grpo.Reward and
// leave it out).
func summarizeFallback(m *StepMetrics, groups [][]Sample) {
	gs := make([][]grpo.Scored, 0, len(groups))
	for _, g := range groups {
		row := make([]grpo.Scored, 0, len(g))
		for _, s := range g {
			r, ok := s.Detail.(grpo.Reward)
			if !ok {
				return
			}
			row = append(row, grpo.Scored{Paradigm: grpo.Paradigm(s.Paradigm), Reward: r})
		}
		gs = append(gs, row)
	}
	if len(gs) == 0 {
		return
	}
	f := grpo.Summarize(gs).Fallback
	m.Fallback = &f
}
