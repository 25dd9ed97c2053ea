package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Sample is one completion as the trainer sees it, and as the rollout log
// records it (DESIGN "Sample"). The trainer adds scoring (execution result,
// rewards, advantage) in its own record.
type Sample struct {
	ID       uuid.UUID `json:"id"`
	PromptID string    `json:"prompt_id"` // the question's id
	Paradigm Paradigm  `json:"paradigm"`
	Prompt   string    `json:"prompt"`
	// Completion is the completion's text.
	Completion         string        `json:"completion"`
	PromptTokenIDs     []int         `json:"prompt_token_ids,omitempty"`
	CompletionTokenIDs []int         `json:"completion_token_ids,omitempty"`
	Logprobs           []float64     `json:"logprobs,omitempty"` // the sampler's, one per completion token
	FinishReason       string        `json:"finish_reason"`
	Endpoint           string        `json:"endpoint"`
	Latency            time.Duration `json:"latency_ns"`
	Draw               Draw          `json:"draw"`
	// Parsed is what Parse read: the program or text answer, format validity.
	Parsed Parsed `json:"parsed"`
}

// Draw records how a sample was drawn.
type Draw struct {
	Policy Policy   `json:"policy"`
	Kind   Kind     `json:"kind"`            // the prompt template
	Asked  Paradigm `json:"asked,omitempty"` // the paradigm the prompt asked for; empty for mixed
	Round  int      `json:"round"`           // 1; 2 for program_first's text fallback
	Index  int      `json:"index"`           // position in the group
}

// Policy is how a group's samples are split between paradigms.
type Policy string

// The paradigm policies.
const (
	// PolicyFree: every sample gets the mixed prompt; the model chooses.
	PolicyFree Policy = "free"
	// PolicySplit: k samples get the program prompt, G-k the text prompt.
	PolicySplit Policy = "split"
	// PolicyProgramFirst: G program samples; if all of them fail (as the
	// caller judges, by running them), text samples are drawn as well.
	PolicyProgramFirst Policy = "program_first"
)

// GroupConfig sets the size and paradigm policy of groups.
type GroupConfig struct {
	// Size is G, the samples per question (default 8).
	Size int `yaml:"group_size" json:"group_size"`
	// Policy is free (default), split or program_first.
	Policy Policy `yaml:"paradigm_policy" json:"paradigm_policy"`
	// ProgramSamples is k under split (default G/2).
	ProgramSamples int `yaml:"program_samples" json:"program_samples,omitempty"`
	// FallbackSamples is how many text samples program_first adds when all
	// programs fail (default G).
	FallbackSamples int `yaml:"fallback_samples" json:"fallback_samples,omitempty"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c GroupConfig) WithDefaults() GroupConfig {
	if c.Size == 0 {
		c.Size = 8
	}
	if c.Policy == "" {
		c.Policy = PolicyFree
	}
	if c.ProgramSamples == 0 && c.Policy == PolicySplit {
		c.ProgramSamples = c.Size / 2
	}
	if c.FallbackSamples == 0 {
		c.FallbackSamples = c.Size
	}
	return c
}

// Validate reports the first problem of a config with defaults applied.
func (c GroupConfig) Validate() error {
	switch {
	case c.Size < 1:
		return fmt.Errorf("rollout: group_size is %d, want at least 1", c.Size)
	case c.Policy != PolicyFree && c.Policy != PolicySplit && c.Policy != PolicyProgramFirst:
		return fmt.Errorf("rollout: paradigm_policy %q unknown; want free, split or program_first", c.Policy)
	case c.ProgramSamples < 0 || c.ProgramSamples > c.Size:
		return fmt.Errorf("rollout: program_samples is %d, want 0..group_size (%d)", c.ProgramSamples, c.Size)
	case c.FallbackSamples < 0:
		return fmt.Errorf("rollout: fallback_samples is %d, want 0 or more", c.FallbackSamples)
	}
	return nil
}

// Completer gets completions of a raw prompt; *Pool is one.
type Completer interface {
	Complete(ctx context.Context, req CompletionRequest) ([]Completion, error)
}

// Sampler draws groups of samples for questions. Set its fields before the
// first call and do not copy it after; it is safe for concurrent use.
type Sampler struct {
	Client    Completer
	Templates *Templates // nil: DefaultTemplates
	Sampling  Sampling   // N is set per request
	Group     GroupConfig
	Parse     ParseOptions // Expect is set per prompt
	// TokenData asks for token ids and logprobs (training); their absence
	// stops the run with a *MissingTokenDataError.
	TokenData bool

	once sync.Once
	tm   *Templates
}

// AllFailed reports whether every program sample of a program_first group
// failed; the caller runs them (in the sandbox) to know.
type AllFailed func(ctx context.Context, q Question, programs []Sample) (bool, error)

// Group is the samples drawn for one question.
type Group struct {
	Question Question
	Samples  []Sample
	// Failed counts samples that could not be drawn (their requests failed
	// after retries); Err says why. Samples + Failed is what was asked for.
	Failed int
	Err    error
}

type draw struct {
	asked Paradigm
	n     int
	round int
}

// Sample draws the group of q under the configured policy. allFailed is
// consulted by program_first only (nil: never fall back). The error is for
// what stops the run: bad configuration or question, a stalled pool, ctx
// done; failed requests are counted in the group instead.
func (s *Sampler) Sample(ctx context.Context, q Question, allFailed AllFailed) (Group, error) {
	gc := s.Group.WithDefaults()
	if err := gc.Validate(); err != nil {
		return Group{}, err
	}
	if s.Client == nil {
		return Group{}, errors.New("rollout: Sampler has no Client")
	}
	g := Group{Question: q}
	var draws []draw
	switch {
	case q.Task == TaskLTI:
		draws = []draw{{ParadigmProgram, gc.Size, 1}}
	case gc.Policy == PolicyFree:
		draws = []draw{{"", gc.Size, 1}}
	case gc.Policy == PolicySplit:
		draws = []draw{{ParadigmProgram, gc.ProgramSamples, 1}, {ParadigmText, gc.Size - gc.ProgramSamples, 1}}
	default:
		draws = []draw{{ParadigmProgram, gc.Size, 1}}
	}
	if err := s.run(ctx, &g, gc.Policy, draws); err != nil {
		return g, err
	}
	if gc.Policy == PolicyProgramFirst && q.Task != TaskLTI && allFailed != nil && gc.FallbackSamples > 0 && len(g.Samples) > 0 {
		failed, err := allFailed(ctx, q, g.Samples)
		if err != nil {
			return g, fmt.Errorf("rollout: question %s: judging its programs: %w", q.ID, err)
		}
		if failed {
			if err := s.run(ctx, &g, gc.Policy, []draw{{ParadigmText, gc.FallbackSamples, 2}}); err != nil {
				return g, err
			}
		}
	}
	return g, nil
}

// run sends one request per draw, concurrently, and appends the samples in
// draw order.
func (s *Sampler) run(ctx context.Context, g *Group, policy Policy, draws []draw) error {
	s.once.Do(func() {
		s.tm = s.Templates
		if s.tm == nil {
			s.tm = DefaultTemplates()
		}
	})
	tm := s.tm
	type result struct {
		samples []Sample
		err     error
	}
	results := make([]result, len(draws))
	prompts := make([]string, len(draws))
	kinds := make([]Kind, len(draws))
	for i, d := range draws {
		var err error
		if prompts[i], kinds[i], err = tm.Prompt(g.Question, d.asked); err != nil {
			return fmt.Errorf("rollout: question %s: %w", g.Question.ID, err)
		}
	}
	var wg sync.WaitGroup
	for i, d := range draws {
		if d.n == 0 {
			continue
		}
		prompt, kind := prompts[i], kinds[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := s.Sampling
			sm.N = d.n
			cs, err := s.Client.Complete(ctx, CompletionRequest{Prompt: prompt, Sampling: sm, TokenData: s.TokenData})
			if err != nil {
				results[i].err = err
				return
			}
			po := s.Parse
			po.Expect = d.asked
			out := make([]Sample, len(cs))
			for j, c := range cs {
				p := Parse(c.Text, c.FinishReason, po)
				out[j] = Sample{
					ID: uuid.New(), PromptID: g.Question.ID, Paradigm: p.Paradigm,
					Prompt: prompt, Completion: c.Text,
					PromptTokenIDs: c.PromptTokenIDs, CompletionTokenIDs: c.TokenIDs, Logprobs: c.Logprobs,
					FinishReason: c.FinishReason, Endpoint: c.Endpoint, Latency: c.Latency,
					Draw:   Draw{Policy: policy, Kind: kind, Asked: d.asked, Round: d.round},
					Parsed: p,
				}
			}
			results[i].samples = out
		}()
	}
	wg.Wait()
	var errs []error
	for i, r := range results {
		if r.err != nil {
			if fatal(ctx, r.err) {
				return r.err
			}
			g.Failed += draws[i].n
			errs = append(errs, fmt.Errorf("question %s: %d %s sample(s): %w", g.Question.ID, draws[i].n, paradigmName(draws[i].asked), r.err))
			continue
		}
		for _, smp := range r.samples {
			smp.Draw.Index = len(g.Samples)
			g.Samples = append(g.Samples, smp)
		}
	}
	if len(errs) > 0 {
		g.Err = errors.Join(append([]error{g.Err}, errs...)...)
	}
	return nil
}

func paradigmName(p Paradigm) string {
	if p == "" {
		return "mixed"
	}
	return string(p)
}

// fatal says whether a request error should stop the run rather than count
// as failed samples.
func fatal(ctx context.Context, err error) bool {
	var st *StalledError
	var mt *MissingTokenDataError
	return ctx.Err() != nil || errors.As(err, &st) || errors.As(err, &mt) || errors.Is(err, errClosed)
}
