package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"tabler1/episode"
	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// Runner runs a program on a table; a execution.Executor (the local sandbox
// pool, the remote sandbox client) is one.
type Runner interface {
	Run(ctx context.Context, job execution.Job) execution.Result
}

// Grader says whether an answer to a question is correct by the question's
// benchmark metric (the eval package's scorers fill this in).
type Grader interface {
	Correct(q Question, answer string) (bool, error)
}

// DistillConfig configures teacher distillation: the paper's cold start,
// where a strong teacher's correct program answers become SFT data.
type DistillConfig struct {
	// MaxPerDataset caps the kept examples per benchmark (default 5000, as
	// in the paper).
	MaxPerDataset int `yaml:"max_per_dataset" json:"max_per_dataset"`
	// SamplesPerQuestion is n, the teacher's completions per question
	// (default 1); KeepPerQuestion caps the correct ones kept (default 1).
	SamplesPerQuestion int `yaml:"samples_per_question" json:"samples_per_question"`
	KeepPerQuestion    int `yaml:"keep_per_question" json:"keep_per_question"`
	// Sampling is the teacher's sampling (N is SamplesPerQuestion).
	Sampling Sampling `yaml:"sampling" json:"sampling"`
	// Chat sends the prompt as a user message to /v1/chat/completions (for
	// instruct teachers such as DeepSeek-V3) instead of a raw completion.
	Chat bool `yaml:"chat" json:"chat"`
	// Concurrency is the questions in flight (default 64).
	Concurrency int `yaml:"concurrency" json:"concurrency"`
	// Limits bound each program's run (zero fields: the runner's defaults).
	Limits execution.Limits `yaml:"-" json:"-"`
	// Parse picks the program block.
	Parse ParseOptions `yaml:"parse" json:"parse"`
}

// SFTRecord is one line of distilled SFT JSONL: the student's prompt and the
// teacher's verified completion.
type SFTRecord struct {
	ID         string       `json:"id"`
	QuestionID string       `json:"question_id"`
	Bench      string       `json:"bench,omitempty"`
	Task       episode.Task `json:"task,omitempty"`
	Prompt     string       `json:"prompt"`
	Completion string       `json:"completion"`
	Program    string       `json:"program"`
	Answer     string       `json:"answer"` // what the program printed last
	Gold       []string     `json:"gold,omitempty"`
	Teacher    string       `json:"teacher"` // the endpoint that answered
}

// DistillStats counts what distillation did; PerDataset counts kept
// records.
type DistillStats struct {
	Questions      int            `json:"questions"`
	Skipped        int            `json:"skipped_over_cap"`
	FailedRequests int            `json:"failed_requests"`
	Completions    int            `json:"completions"`
	Programs       int            `json:"programs"` // format-valid program completions
	RanOK          int            `json:"ran_ok"`
	Correct        int            `json:"correct"`
	Kept           int            `json:"kept"`
	PerDataset     map[string]int `json:"per_dataset"`
}

// Teacher gets completions from the teacher model; *Pool is one.
type Teacher interface {
	Complete(ctx context.Context, req CompletionRequest) ([]episode.Completion, error)
	Chat(ctx context.Context, req ChatRequest) ([]episode.Completion, error)
}

// Distill asks the teacher for program answers to questions, runs each
// program on its full table, keeps the correct ones up to the caps, and
// writes them to out as JSONL, in question order (the output does not depend
// on timing). A failed request is counted and skipped; a stalled pool, a
// write error or ctx's end stops it.
func Distill(ctx context.Context, cfg DistillConfig, teacher Teacher, tm *Templates, run Runner, grade Grader, questions []Question, out io.Writer) (DistillStats, error) {
	if cfg.MaxPerDataset == 0 {
		cfg.MaxPerDataset = 5000
	}
	cfg.SamplesPerQuestion = max(cfg.SamplesPerQuestion, 1)
	cfg.KeepPerQuestion = max(cfg.KeepPerQuestion, 1)
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if tm == nil {
		tm = DefaultTemplates()
	}
	st := DistillStats{PerDataset: map[string]int{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		done    chan struct{}
		skipped bool
		failed  bool
		stats   DistillStats
		records []SFTRecord
		err     error // fatal
	}
	results := make([]*result, len(questions))
	for i := range results {
		results[i] = &result{done: make(chan struct{})}
	}
	// kept is read by the dispatcher to skip questions of full datasets; the
	// writer, which applies the cap in order, is the authority.
	var mu sync.Mutex
	kept := map[string]int{}
	sem := make(chan struct{}, cfg.Concurrency)
	go func() {
		for i, q := range questions {
			r := results[i]
			mu.Lock()
			full := kept[q.Bench] >= cfg.MaxPerDataset
			mu.Unlock()
			if full || ctx.Err() != nil {
				r.skipped = true
				close(r.done)
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				r.skipped = true
				close(r.done)
				continue
			}
			go func() {
				defer func() { <-sem; close(r.done) }()
				r.records, r.stats, r.failed, r.err = distillOne(ctx, cfg, teacher, tm, run, grade, q)
			}()
		}
	}()
	enc := json.NewEncoder(out)
	var fatalErr error
	for i, q := range questions {
		r := results[i]
		<-r.done
		if fatalErr != nil {
			continue
		}
		st.Questions++
		if r.err != nil {
			fatalErr = r.err
			cancel()
			continue
		}
		if r.skipped {
			st.Skipped++
			continue
		}
		if r.failed {
			st.FailedRequests++
		}
		st.Completions += r.stats.Completions
		st.Programs += r.stats.Programs
		st.RanOK += r.stats.RanOK
		st.Correct += r.stats.Correct
		for _, rec := range r.records {
			mu.Lock()
			if kept[q.Bench] >= cfg.MaxPerDataset {
				mu.Unlock()
				break
			}
			kept[q.Bench]++
			mu.Unlock()
			if err := enc.Encode(rec); err != nil {
				fatalErr = fmt.Errorf("rollout: distill: writing SFT JSONL: %w", err)
				cancel()
				break
			}
			st.Kept++
			st.PerDataset[q.Bench]++
		}
	}
	if fatalErr == nil && ctx.Err() != nil {
		fatalErr = ctx.Err()
	}
	return st, fatalErr
}

// distillOne handles one question; err is fatal, failed a counted request
// failure.
func distillOne(ctx context.Context, cfg DistillConfig, teacher Teacher, tm *Templates, run Runner, grade Grader, q Question) (recs []SFTRecord, st DistillStats, failed bool, err error) {
	prompt, _, err := tm.Prompt(q, episode.ParadigmProgram)
	if err != nil {
		return nil, st, false, err
	}
	sm := cfg.Sampling
	sm.N = cfg.SamplesPerQuestion
	var cs []episode.Completion
	if cfg.Chat {
		cs, err = teacher.Chat(ctx, ChatRequest{Messages: []ChatMessage{{Role: "user", Content: prompt}}, Sampling: sm})
	} else {
		cs, err = teacher.Complete(ctx, CompletionRequest{Prompt: prompt, Sampling: sm})
	}
	if err != nil {
		if fatal(ctx, err) {
			return nil, st, false, err
		}
		return nil, st, true, nil
	}
	po := cfg.Parse
	po.Expect = episode.ParadigmProgram
	for _, c := range cs {
		st.Completions++
		p := Parse(c.Text, c.FinishReason, po)
		if !p.FormatOK {
			continue
		}
		st.Programs++
		job := execution.Job{Code: p.Code, Table: q.Table, Limits: cfg.Limits, ReturnTable: q.Task == episode.TaskLTI}
		res := run.Run(ctx, job)
		if ctx.Err() != nil {
			return nil, st, false, ctx.Err()
		}
		if res.Status != execution.StatusOK {
			continue
		}
		st.RanOK++
		ans := res.Answer()
		var ok bool
		if q.Task == episode.TaskLTI {
			ok = res.Table != nil && q.Target != nil && layouts.EqualCanonical(res.Table, q.Target)
		} else {
			ok, err = grade.Correct(q, ans)
			if err != nil {
				return nil, st, false, fmt.Errorf("rollout: distill: grading question %s: %w", q.ID, err)
			}
		}
		if !ok {
			continue
		}
		st.Correct++
		if len(recs) < cfg.KeepPerQuestion {
			recs = append(recs, SFTRecord{
				ID: fmt.Sprintf("%s#%d", q.ID, len(recs)), QuestionID: q.ID, Bench: q.Bench, Task: q.Task,
				Prompt: prompt, Completion: c.Text, Program: p.Code, Answer: ans, Gold: q.Gold, Teacher: c.Endpoint,
			})
		}
	}
	return recs, st, false, nil
}

// fatal says whether a request error should stop the run rather than count
// as a failed question.
func fatal(ctx context.Context, err error) bool {
	var st *StalledError
	var mt *MissingTokenDataError
	return ctx.Err() != nil || errors.As(err, &st) || errors.As(err, &mt) || errors.Is(err, errClosed)
}
