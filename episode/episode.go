// Package episode is the vocabulary every stage of a training step speaks:
// the record of one sample from its prompt to its advantage (DESIGN
// "Sample"). rollout fills the completion and its parse, the sandbox the
// execution outcome, grpo the reward and the advantage; the trainer feeds
// it to the backend and writes it to the run's rollout log, eval scores it.
// It does no I/O.
package episode

import (
	"time"

	"tabler1/sandbox/execution"
)

// Paradigm is how a completion answers.
type Paradigm string

// The paradigms. A completion the parser could not read as either is
// invalid.
const (
	ParadigmProgram Paradigm = "program"
	ParadigmText    Paradigm = "text"
	ParadigmInvalid Paradigm = "invalid"
)

// Task is what a question asks for: it picks the prompt template and how
// the answer is graded.
type Task string

// The tasks. The zero Task is TaskQA.
const (
	// TaskQA: a question with a short answer, graded against the gold
	// answer (WikiTQ, HiTab, AIT-QA, ...).
	TaskQA Task = "qa"
	// TaskTabFact: a statement to verify, entailed or refuted.
	TaskTabFact Task = "tabfact"
	// TaskLTI: layout transformation inference, graded on the program's
	// output table against the target table.
	TaskLTI Task = "lti"
)

// TaskOf maps the task label of the uniform benchmark schema
// (short_answer_qa, fact_verification, free_form_qa, hybrid_qa, lti) to a
// Task; labels it does not know are questions (TaskQA).
func TaskOf(label string) Task {
	switch label {
	case "fact_verification", string(TaskTabFact):
		return TaskTabFact
	case string(TaskLTI):
		return TaskLTI
	}
	return TaskQA
}

// Completion is one completion as the sampler returned it, with its token
// data: the prompt's token ids (for chat, after the server's template), the
// completion's token ids and the sampler's log-probability of each
// completion token.
type Completion struct {
	Text           string    `json:"text"`
	PromptTokenIDs []int     `json:"prompt_tokens,omitempty"`
	TokenIDs       []int     `json:"tokens,omitempty"`
	Logprobs       []float64 `json:"logprobs,omitempty"`
	// FinishReason is the server's: "stop", "length", ...
	FinishReason string `json:"finish_reason"`
	// Endpoint is the base URL of the endpoint that answered, Latency that
	// of its successful attempt and Attempts the attempts made (1 when the
	// first succeeded).
	Endpoint string        `json:"endpoint,omitempty"`
	Latency  time.Duration `json:"latency_ns"`
	Attempts int           `json:"-"`
	// PublishedVersion is the weights' publish version that served it,
	// where the server says.
	PublishedVersion int `json:"version,omitempty"`
}

// Parse is what the completion parser read from a completion: a program to
// run, a text answer, or neither.
type Parse struct {
	Paradigm Paradigm `json:"paradigm"`
	// Code is the chosen code block's code (program paradigm).
	Code string `json:"code,omitempty"`
	// Answer is the text answer (text paradigm) as written; Answers splits
	// a JSON list answer into its items and is [Answer] otherwise.
	Answer  string   `json:"answer,omitempty"`
	Answers []string `json:"answers,omitempty"`
	// Blocks is the number of code blocks; Unclosed is set when the last
	// one has no closing fence.
	Blocks   int  `json:"blocks,omitempty"`
	Unclosed bool `json:"unclosed,omitempty"`
	// Truncated: the server stopped at max_tokens (finish reason length).
	Truncated bool `json:"truncated,omitempty"`
	// FormatOK: the completion is in the expected paradigm, complete, and
	// its program or answer is not empty. Reason says why not.
	FormatOK bool   `json:"format_ok"`
	Reason   string `json:"reason,omitempty"`
}

// Components are the named, weighted contributions to a reward; they sum
// to Reward.Total. Penalties are <= 0.
type Components struct {
	Format          float64 `json:"format"`
	Compile         float64 `json:"compile"`
	Execution       float64 `json:"execution"`
	Answer          float64 `json:"answer"`
	ComputesNothing float64 `json:"computes_nothing"`
	TextNeedsTable  float64 `json:"text_needs_table"`
	ShortCode       float64 `json:"short_code"`
	Overlong        float64 `json:"overlong"`
}

// Named returns the components by their names (the JSON names), in a fixed
// order.
func (c Components) Named() []Named {
	return []Named{
		{"format", c.Format}, {"compile", c.Compile}, {"execution", c.Execution}, {"answer", c.Answer},
		{"computes_nothing", c.ComputesNothing}, {"text_needs_table", c.TextNeedsTable},
		{"short_code", c.ShortCode}, {"overlong", c.Overlong},
	}
}

// Named is one reward component and its value.
type Named struct {
	Name  string
	Value float64
}

// Sum is the total of the components.
func (c Components) Sum() float64 {
	var s float64
	for _, n := range c.Named() {
		s += n.Value
	}
	return s
}

// Reward is one sample's reward and what it was made of.
type Reward struct {
	Total      float64    `json:"reward"`
	Components Components `json:"components"`
	// Correct is the binary outcome: the answer's score reaches the
	// correctness threshold and the answer was not withheld. Group
	// filtering and fallback accounting key on it, never on Total.
	Correct bool `json:"correct"`
	// Masked leaves the sample out of the loss (it still counts in its
	// group's baseline).
	Masked bool `json:"masked,omitempty"`
	// SandboxError: the sandbox failed (not the program); the reward says
	// nothing about the model, and the sample is not trained on.
	SandboxError bool `json:"sandbox_error,omitempty"`
	RewardDetail `json:"detail"`
}

// RewardDetail is how the reward was judged.
type RewardDetail struct {
	// Answer is the answer that was scored (a program's last stdout line,
	// or the text answer) and AnswerScore its similarity to gold in [0, 1]
	// (for LTI, the table score), before any withholding.
	Answer      string  `json:"answer"`
	AnswerScore float64 `json:"answer_score"`
	// ComputesNothing names why the program was judged to compute nothing
	// ("" when it was not): no_table_reference, prints_constant, or
	// unchanged_on_perturbed_table.
	ComputesNothing string `json:"computes_nothing,omitempty"`
	// NeedsTable names why the question was judged to need the full table
	// ("" when it was not): evidence_beyond_preview, answer_beyond_preview,
	// or question_word:<word>. Judged for text answers only.
	NeedsTable string `json:"needs_table,omitempty"`
	// CodeLen is the program's length as the short-code penalty measures
	// it.
	CodeLen int `json:"code_len,omitempty"`
}

// Episode is one sample from prompt to advantage: the record written to a
// run's rollouts/step-N.jsonl and, as a Sequence, fed to the backend.
type Episode struct {
	ID     string `json:"id"`
	Step   int    `json:"step"`
	ItemID string `json:"item_id"`
	Group  int    `json:"group"`
	Task   Task   `json:"task,omitempty"`
	// Asked is the paradigm the prompt asked for ("" for the mixed prompt,
	// where the model chooses; see the group's paradigm policy).
	Asked  Paradigm `json:"asked,omitempty"`
	Prompt string   `json:"prompt"`
	Gold   []string `json:"gold,omitempty"`
	Completion
	Parse
	// Exec is the program's run on the full table (program paradigm; nil
	// otherwise). Perturbed is the same program's run on a perturbed copy
	// of the table (grpo's computes-nothing check).
	Exec      *execution.Result `json:"exec,omitempty"`
	Perturbed *execution.Result `json:"perturbed,omitempty"`
	// Extracted is the answer the episode gives: the program's answer, or
	// the text answer.
	Extracted string `json:"extracted"`
	// PolicyStep is the training step whose weights were served when the
	// completion was requested (0: the initial weights); Staleness is how
	// many steps older they are than on-policy, 0 in synchronous runs.
	PolicyStep int `json:"policy_step"`
	Staleness  int `json:"staleness"`
	Reward
	Advantage float64 `json:"advantage"`
}

// Sequence is an episode as a training backend takes it (the remote
// protocol's sequence, docs/backend-protocol.md): token ids are those the
// sampler produced; a backend that gets none tokenizes the text itself (the
// SFT stages send text only).
type Sequence struct {
	ID               string    `json:"id"`
	Prompt           string    `json:"prompt"`
	Completion       string    `json:"completion"`
	PromptTokens     []int     `json:"prompt_tokens,omitempty"`
	CompletionTokens []int     `json:"completion_tokens,omitempty"`
	SamplerLogprobs  []float64 `json:"sampler_logprobs,omitempty"`
	Advantage        float64   `json:"advantage"`
}

// Sequence returns the episode as the backend trains on it.
func (e *Episode) Sequence() Sequence {
	return Sequence{ID: e.ID, Prompt: e.Prompt, Completion: e.Text,
		PromptTokens: e.PromptTokenIDs, CompletionTokens: e.TokenIDs, SamplerLogprobs: e.Logprobs,
		Advantage: e.Advantage}
}
