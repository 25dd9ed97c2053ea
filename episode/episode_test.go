package episode

import (
	"encoding/json"
	"reflect"
	"testing"

	"tabler1/sandbox/execution"
)

// The rollout log's field names are read by tools outside this module: a
// change to them is a change of format.
func TestEpisodeJSONNames(t *testing.T) {
	ep := Episode{ID: "a", Prompt: "p", Gold: []string{"g"},
		Completion: Completion{Text: "t", PromptTokenIDs: []int{1}, TokenIDs: []int{2}, Logprobs: []float64{-1}, Endpoint: "e"},
		Parse:      Parse{Paradigm: ParadigmProgram, Code: "print(1)"},
		Exec:       &execution.Result{Status: execution.StatusOK},
		Reward:     Reward{Total: 1, Correct: true, RewardDetail: RewardDetail{Answer: "1", CodeLen: 3}},
	}
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"advantage", "code", "components", "correct", "detail", "endpoint", "exec", "extracted",
		"finish_reason", "format_ok", "gold", "group", "id", "item_id", "latency_ns", "logprobs", "paradigm",
		"policy_step", "prompt", "prompt_tokens", "reward", "staleness", "step", "text", "tokens"} {
		if _, ok := m[k]; !ok {
			t.Errorf("rollout record lacks %q: %s", k, b)
		}
	}
	var back Episode
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, ep) {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, ep)
	}
}

func TestComponentsNamedAreTheJSONNames(t *testing.T) {
	c := Components{Format: 1, Compile: 2, Execution: 3, Answer: 4, ComputesNothing: 5, TextNeedsTable: 6, ShortCode: 7, Overlong: 8}
	b, _ := json.Marshal(c)
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range c.Named() {
		names = append(names, n.Name)
		if m[n.Name] != n.Value {
			t.Errorf("%s: Named says %g, JSON %g", n.Name, n.Value, m[n.Name])
		}
	}
	if len(names) != len(m) || c.Sum() != 36 {
		t.Errorf("Named %v, JSON %v, sum %g", names, m, c.Sum())
	}
}

func TestTaskOf(t *testing.T) {
	for label, want := range map[string]Task{"fact_verification": TaskTabFact, "tabfact": TaskTabFact, "lti": TaskLTI,
		"short_answer_qa": TaskQA, "hybrid_qa": TaskQA, "": TaskQA} {
		if got := TaskOf(label); got != want {
			t.Errorf("TaskOf(%q) = %q, want %q", label, got, want)
		}
	}
}
