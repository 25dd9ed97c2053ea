package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"tabler1/episode"
	"tabler1/layouts"
	"tabler1/rollout/openaitest"
	"tabler1/sandbox/execution"
)

// echoRunner "runs" a program by reading the value it prints from a
// print("...") call: enough to test the distillation bookkeeping without
// Python (the sandbox has its own tests).
type echoRunner struct{}

func (echoRunner) Run(_ context.Context, j execution.Job) execution.Result {
	i := strings.Index(j.Code, `print("`)
	if i < 0 {
		return execution.Result{Status: execution.StatusRuntimeError, Stderr: "NameError"}
	}
	rest := j.Code[i+7:]
	out := rest[:strings.IndexByte(rest, '"')]
	res := execution.Result{Status: execution.StatusOK, Stdout: out + "\n"}
	if j.ReturnTable {
		res.Table = &layouts.Table{Header: [][]string{{out}}, Rows: [][]string{}}
	}
	return res
}

type exactGrader struct{}

func (exactGrader) Correct(q Question, answer string) (bool, error) {
	return len(q.Gold) > 0 && answer == q.Gold[0], nil
}

func TestDistill(t *testing.T) {
	// The teacher prints the question's id suffix; questions whose gold
	// matches it are answered correctly. Each question gets 3 samples: two
	// programs, one text answer (not a program: not kept).
	srv := openaitest.NewServer(openaitest.Config{Script: func(r openaitest.Request, i int) openaitest.Choice {
		q := r.Messages[0].Content
		id := "lti1"
		if i := strings.Index(q, "Question: "); i >= 0 {
			id = q[i+10:]
			id = id[:strings.IndexByte(id, '\n')]
		}
		if i == 2 {
			return openaitest.Choice{Text: "Answer: " + id}
		}
		return openaitest.Choice{Text: fmt.Sprintf("```python\nprint(\"%s\")\n```", id)}
	}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	var qs []Question
	for i := range 12 {
		bench := []string{"wtq", "hitab"}[i%2]
		gold := fmt.Sprint("q", i)
		if i%3 == 0 {
			gold = "wrong"
		}
		qs = append(qs, Question{ID: fmt.Sprint("q", i), Bench: bench, Question: fmt.Sprint("q", i), Table: testTable(3), Gold: []string{gold}})
	}
	// An LTI question: its program's table must equal the target.
	qs = append(qs, Question{ID: "lti1", Bench: "lti", Task: episode.TaskLTI, Question: "lti1", Table: testTable(2),
		Target: &layouts.Table{Header: [][]string{{"lti1"}}, Rows: [][]string{}}})
	var out bytes.Buffer
	st, err := Distill(context.Background(), DistillConfig{MaxPerDataset: 3, SamplesPerQuestion: 3, KeepPerQuestion: 1, Chat: true, Concurrency: 4},
		p, nil, echoRunner{}, exactGrader{}, qs, &out)
	if err != nil {
		t.Fatal(err)
	}
	// wtq: q2, q4, q8, q10 correct (q0, q6 wrong) -> capped at 3; hitab:
	// q1, q5, q7, q11 correct (q3, q9 wrong) -> 3.
	if st.PerDataset["wtq"] != 3 || st.PerDataset["hitab"] != 3 || st.PerDataset["lti"] != 1 || st.Kept != 7 {
		t.Errorf("kept %+v", st)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ids []string
	for _, l := range lines {
		var r SFTRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.QuestionID)
		if !strings.Contains(r.Prompt, "Answer with a Python program") && r.Task != episode.TaskLTI {
			t.Errorf("record %s: not the program prompt", r.ID)
		}
		if r.Answer != r.QuestionID || r.Program == "" || r.Teacher != srv.URL {
			t.Errorf("record %+v", r)
		}
	}
	// In question order, whatever the timing.
	if got := strings.Join(ids, ","); got != "q1,q2,q4,q5,q7,q8,lti1" {
		t.Errorf("kept questions %s", got)
	}
	if st.Completions == 0 || st.Programs != st.Completions*2/3 || st.Skipped == 0 && st.Questions != len(qs) {
		t.Errorf("stats %+v", st)
	}
}

func TestDistillCountsFailedRequests(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{FaultRate: 1, FaultKinds: []openaitest.Fault{openaitest.Fault500}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), MaxRetries: 1, FailureThreshold: 100})
	qs := []Question{{ID: "a", Question: "?", Table: testTable(1)}, {ID: "b", Question: "?", Table: testTable(1)}}
	var out bytes.Buffer
	st, err := Distill(context.Background(), DistillConfig{}, p, nil, echoRunner{}, exactGrader{}, qs, &out)
	if err != nil || st.FailedRequests != 2 || out.Len() != 0 {
		t.Errorf("err %v, stats %+v, output %q", err, st, out.String())
	}
}
