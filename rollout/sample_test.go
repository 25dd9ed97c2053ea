package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tabler1/rollout/openaitest"
)

// paradigmScript answers a program prompt with a program, a text prompt in
// text, and the mixed prompt alternately.
func paradigmScript(r openaitest.Request, i int) openaitest.Choice {
	prog := openaitest.Choice{Text: "```python\nprint(len(df))\n```"}
	text := openaitest.Choice{Text: "Counting rows.\nAnswer: 25"}
	switch {
	case strings.Contains(r.Prompt, "Answer with a Python program"), strings.Contains(r.Prompt, "with a Python program in one"):
		return prog
	case strings.Contains(r.Prompt, "Reason step by step in text"), strings.Contains(r.Prompt, "Reason step by step about"):
		return text
	case i%2 == 0:
		return prog
	}
	return text
}

func TestGroupPolicies(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Script: paradigmScript})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	q := Question{ID: "q1", Question: "How many rows?", Table: testTable(25)}
	tests := []struct {
		name      string
		gc        GroupConfig
		allFailed bool
		programs  int
		texts     int
		rounds    []int
	}{
		{"free", GroupConfig{Size: 6}, false, 3, 3, []int{1}},
		{"split", GroupConfig{Size: 8, Policy: PolicySplit, ProgramSamples: 5}, false, 5, 3, []int{1}},
		{"split default k", GroupConfig{Size: 8, Policy: PolicySplit}, false, 4, 4, []int{1}},
		{"program_first, programs ok", GroupConfig{Size: 4, Policy: PolicyProgramFirst}, false, 4, 0, []int{1}},
		{"program_first, all failed", GroupConfig{Size: 4, Policy: PolicyProgramFirst, FallbackSamples: 3}, true, 4, 3, []int{1, 2}},
	}
	for _, tc := range tests {
		s := &Sampler{Client: p, Group: tc.gc, Sampling: Sampling{Temperature: 1}, TokenData: true}
		var judged []Sample
		g, err := s.Sample(context.Background(), q, func(_ context.Context, _ Question, progs []Sample) (bool, error) {
			judged = progs
			return tc.allFailed, nil
		})
		if err != nil || g.Failed != 0 || g.Err != nil {
			t.Fatalf("%s: %v / %d failed / %v", tc.name, err, g.Failed, g.Err)
		}
		var np, nt int
		rounds := map[int]bool{}
		ids := map[string]bool{}
		for i, smp := range g.Samples {
			switch smp.Paradigm {
			case ParadigmProgram:
				np++
			case ParadigmText:
				nt++
			}
			rounds[smp.Draw.Round] = true
			if smp.Draw.Index != i || smp.Draw.Policy != tc.gc.WithDefaults().Policy || smp.PromptID != "q1" || !smp.Parsed.FormatValid {
				t.Errorf("%s: sample %d: %+v", tc.name, i, smp.Draw)
			}
			if ids[smp.ID.String()] {
				t.Errorf("%s: duplicate sample id", tc.name)
			}
			ids[smp.ID.String()] = true
			if len(smp.CompletionTokenIDs) == 0 || len(smp.Logprobs) != len(smp.CompletionTokenIDs) || len(smp.PromptTokenIDs) == 0 {
				t.Errorf("%s: sample %d lacks token data", tc.name, i)
			}
			if smp.Draw.Asked != "" && smp.Draw.Asked != smp.Paradigm {
				t.Errorf("%s: asked %s, got %s", tc.name, smp.Draw.Asked, smp.Paradigm)
			}
		}
		if np != tc.programs || nt != tc.texts || len(rounds) != len(tc.rounds) {
			t.Errorf("%s: %d programs, %d texts, rounds %v; want %d, %d, %v", tc.name, np, nt, rounds, tc.programs, tc.texts, tc.rounds)
		}
		if tc.gc.Policy == PolicyProgramFirst && len(judged) != tc.gc.Size {
			t.Errorf("%s: the callback judged %d programs, want %d", tc.name, len(judged), tc.gc.Size)
		}
	}
}

func TestSampleJSON(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	s := &Sampler{Client: p, Group: GroupConfig{Size: 1}, TokenData: true}
	g, err := s.Sample(context.Background(), Question{ID: "q", Question: "?", Table: testTable(2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(g.Samples[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"id"`, `"prompt_id":"q"`, `"paradigm":"text"`, `"prompt":`, `"completion":"Answer: 42"`, `"prompt_token_ids"`, `"completion_token_ids"`, `"logprobs"`, `"finish_reason":"stop"`, `"endpoint"`, `"latency_ns"`, `"draw":{"policy":"free","kind":"mixed"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("sample JSON lacks %s: %s", k, b)
		}
	}
	var back Sample
	if err := json.Unmarshal(b, &back); err != nil || back.ID != g.Samples[0].ID {
		t.Errorf("round trip: %v", err)
	}
}

func TestGroupConfigValidate(t *testing.T) {
	for _, gc := range []GroupConfig{{Size: -1}, {Policy: "random"}, {Policy: PolicySplit, Size: 4, ProgramSamples: 5}} {
		if err := gc.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", gc)
		}
	}
}

// The fault run: 30% of requests fail in assorted ways; every question still
// ends with its G samples or an explicit, counted failure, and nothing hangs.
func TestFaultRun(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Script: paradigmScript, FaultRate: 0.3, Seed: 3})
	defer srv.Close()
	// request_timeout is generous: the test machine may be heavily loaded,
	// and only the hang fault should ever reach it.
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), RequestTimeout: 2 * time.Second, MaxRetries: 2, FailureThreshold: 1000, Seed: 1})
	const questions, G = 60, 8
	s := &Sampler{Client: p, Group: GroupConfig{Size: G, Policy: PolicySplit}, Sampling: Sampling{Temperature: 1}, TokenData: true}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	groups := make([]Group, questions)
	errs := make([]error, questions)
	for i := range questions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			groups[i], errs[i] = s.Sample(ctx, Question{ID: fmt.Sprint("q", i), Question: "?", Table: testTable(12)}, nil)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the fault run hung")
	}
	var got, failed int
	for i, g := range groups {
		if errs[i] != nil {
			t.Fatalf("question %d: fatal error %v", i, errs[i])
		}
		if len(g.Samples)+g.Failed != G {
			t.Errorf("question %d: %d samples + %d failed != %d", i, len(g.Samples), g.Failed, G)
		}
		if g.Failed > 0 {
			var re *RequestError
			if !errors.As(g.Err, &re) {
				t.Errorf("question %d: %d failed without a RequestError: %v", i, g.Failed, g.Err)
			}
		}
		got += len(g.Samples)
		failed += g.Failed
	}
	st := srv.Stats()
	t.Logf("%d samples, %d failed; server: %d requests, faults %v", got, failed, st.Requests, st.Faults)
	if len(st.Faults) < len(openaitest.AllFaults) {
		t.Errorf("not every fault kind was exercised: %v", st.Faults)
	}
	if got == 0 {
		t.Error("no samples at all")
	}
}

// A stalled pool stops the group with the stall error, not a count.
func TestGroupStallIsFatal(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	srv.SetDown(true)
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), FailureThreshold: 1, MaxRetries: 1000, StallTimeout: 50 * time.Millisecond, RequestTimeout: 50 * time.Millisecond})
	s := &Sampler{Client: p, Group: GroupConfig{Size: 2}}
	_, err := s.Sample(context.Background(), Question{ID: "q", Question: "?", Table: testTable(1)}, nil)
	var st *StalledError
	if !errors.As(err, &st) {
		t.Errorf("err = %v, want a StalledError", err)
	}
}
