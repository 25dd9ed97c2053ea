package trainer

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/google/uuid"

	"tabler1/grpo"
	"tabler1/sandbox"
)

// runStep runs one global step of stage si.
func (t *Trainer) runStep(ctx context.Context, step, si, local int) (StepMetrics, []Sample, error) {
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
			batch.Sequences = append(batch.Sequences, Sequence{ID: it.ID, Prompt: t.d.Format.Prompt(it), Completion: t.d.Format.Target(it), Advantage: 1})
		}
		trainStart := t.now()
		fb, err = t.d.Backend.SFTForwardBackward(ctx, batch)
		if err != nil {
			return m, nil, err
		}
		m.TrainSeconds = t.now().Sub(trainStart).Seconds()
	default:
		var groups [][]Sample
		groups, err = t.collectGroups(ctx, step, si, st, &m)
		if err != nil {
			return m, nil, err
		}
		m.RolloutSeconds = t.now().Sub(start).Seconds()
		batch = Batch{Step: step}
		for _, g := range groups {
			for _, s := range g {
				samples = append(samples, s)
				if s.Masked {
					continue
				}
				batch.Sequences = append(batch.Sequences, Sequence{
					ID: s.ID, Prompt: s.Prompt, Completion: s.Text,
					PromptTokens: s.PromptTokens, CompletionTokens: s.Tokens, SamplerLogprobs: s.Logprobs,
					Advantage: s.Advantage,
				})
			}
		}
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

// collectGroups draws questions and rolls out, executes and scores a group
// per question. With DAPO's dynamic sampling (advantage.filter_groups) a
// group whose samples all have the same outcome (no learning signal) is
// dropped and more questions are drawn, up to max_num_gen_batches batches,
// until BatchSize groups are kept. Advantages are computed over the kept
// groups by grpo.Advantages.
func (t *Trainer) collectGroups(ctx context.Context, step, si int, st StageConfig, m *StepMetrics) ([][]Sample, error) {
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
		items := t.draw(si, n)
		for _, it := range items {
			m.Items = append(m.Items, it.ID)
		}
		groups, err := t.rolloutGroups(ctx, step, items, st)
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
	rewards := make([][]float64, len(kept))
	for g, grp := range kept {
		rewards[g] = make([]float64, len(grp))
		for i, s := range grp {
			rewards[g][i] = s.Reward
		}
	}
	adv, err := grpo.Advantages(st.Advantage, rewards)
	if err != nil {
		return nil, err
	}
	for g := range kept {
		for i := range kept[g] {
			kept[g][i].Advantage = adv[g][i]
		}
	}
	m.Groups = len(kept)
	return kept, nil
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
func (t *Trainer) rolloutGroups(ctx context.Context, step int, items []Item, st StageConfig) ([][]Sample, error) {
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
	base := t.rng.Uint64()
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
				s := Sample{ID: uuid.NewString(), Step: step, ItemID: it.ID, Group: gi, Prompt: prompt, Gold: it.Answers, Completion: c}
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
					if r.Status == sandbox.StatusSandboxError {
						fail(fmt.Errorf("sandbox failed on a program for %s: %s", j.item.ID, r.Detail))
						continue
					}
					res = &r
					s.Exec = res
					s.Extracted = r.Answer()
				} else {
					s.Extracted = s.Answer
				}
				s.Scored = t.d.Scorer.Score(j.item, &s)
				groups[j.group][j.index] = s
			}
		}()
	}
	work.Wait()
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
