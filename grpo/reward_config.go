package grpo

import (
	"errors"
	"fmt"
	"math"

	"tabler1/answer"
)

// RewardConfig configures the reward. Decode YAML onto DefaultRewardConfig()
// so that omitted fields keep their defaults; the zero RewardConfig gives
// every sample a reward of 0.
//
// Weights scale the positive components; penalties are magnitudes (>= 0)
// that are subtracted. The total reward is the sum of the components, each
// logged per sample (Components).
type RewardConfig struct {
	Weights RewardWeights `yaml:"weights" json:"weights"`
	// Similarity grades answer correctness (metric exact, denotation, f1 or
	// numeric, with numeric tolerances), by the normaliser eval uses.
	Similarity answer.Scorer `yaml:"similarity" json:"similarity"`
	// CorrectThreshold is the answer score from which a sample counts as
	// correct (Reward.Correct: filtering, fallback accounting); default 1,
	// so a partial F1 is not "correct".
	CorrectThreshold float64 `yaml:"correct_threshold" json:"correct_threshold"`
	// TextAssumedValid gives text answers the compile and execution credit,
	// as the paper does for compilation ("text-based outputs are assumed
	// valid by default"); the bias is meant to be offset by the
	// needs-full-table penalty.
	TextAssumedValid bool `yaml:"text_assumed_valid" json:"text_assumed_valid"`

	ComputesNothing ComputesNothingConfig `yaml:"computes_nothing" json:"computes_nothing"`
	NeedsTable      NeedsTableConfig      `yaml:"needs_table" json:"needs_table"`
	ShortCode       ShortCodeConfig       `yaml:"short_code" json:"short_code"`
	// OverlongBuffer is DAPO's soft overlong penalty (verl's
	// reward_model.overlong_buffer).
	OverlongBuffer OverlongBufferConfig `yaml:"overlong_buffer" json:"overlong_buffer"`
	// MaskTruncatedCompletions (TRL) excludes completions cut at the token
	// limit from the loss (Reward.Masked); they still count in their
	// group's baseline, as in TRL.
	MaskTruncatedCompletions bool      `yaml:"mask_truncated_completions" json:"mask_truncated_completions"`
	LTI                      LTIConfig `yaml:"lti" json:"lti"`
}

// RewardWeights weights the positive components, each of which is a score
// in [0, 1] before weighting.
type RewardWeights struct {
	Format    float64 `yaml:"format" json:"format"`
	Compile   float64 `yaml:"compile" json:"compile"`
	Execution float64 `yaml:"execution" json:"execution"`
	Answer    float64 `yaml:"answer" json:"answer"`
}

// ComputesNothingConfig configures the paper's heavy penalty for a program
// whose answer does not come from the table (e.g. print("final answer")).
// See detectComputesNothing for the exact rules.
type ComputesNothingConfig struct {
	Penalty float64 `yaml:"penalty" json:"penalty"`
	// Syntax inspects the program text: no reference to a table name, or
	// every print prints the same literal.
	Syntax bool `yaml:"syntax" json:"syntax"`
	// Perturb compares the answer with the one the program gave on a
	// perturbed table (RewardInput.Perturbed), when the trainer supplies it.
	Perturb bool `yaml:"perturb" json:"perturb"`
	// WithholdAnswer zeroes the answer component of such a program even when
	// its answer is right: a hard-coded answer is a guess, not a program.
	WithholdAnswer bool `yaml:"withhold_answer" json:"withhold_answer"`
	// TableNames are the names through which a program sees the table (the
	// sandbox's df, raw and tables).
	TableNames []string `yaml:"table_names" json:"table_names"`
}

// NeedsTableConfig configures the penalty for answering in text a question
// that needs the full table (see needsFullTable for the rule).
type NeedsTableConfig struct {
	Penalty float64 `yaml:"penalty" json:"penalty"`
	// Words are the question words and phrases (lowercase; a phrase is
	// words separated by single spaces) that ask for an extremum, a count,
	// an aggregate or a position over the whole table.
	Words []string `yaml:"words" json:"words"`
}

// ShortCodeConfig configures the paper's short-code penalty.
type ShortCodeConfig struct {
	Penalty float64 `yaml:"penalty" json:"penalty"`
	// MinLen is the minimum program length in characters outside comments
	// and whitespace (string literals count); shorter programs are
	// penalised. 0 disables the penalty.
	MinLen int `yaml:"min_len" json:"min_len"`
}

// OverlongBufferConfig is DAPO's soft overlong punishment: with L the
// completion's length in tokens, Lmax the completion token limit and B the
// buffer length, the penalty is PenaltyFactor*(L-(Lmax-B))/B once L exceeds
// Lmax-B (so PenaltyFactor at the limit), and 0 before.
type OverlongBufferConfig struct {
	Enable        bool    `yaml:"enable" json:"enable"`
	Len           int     `yaml:"len" json:"len"`
	PenaltyFactor float64 `yaml:"penalty_factor" json:"penalty_factor"`
}

// LTIConfig grades the LTI task: 1 when the program's output table equals
// the target after canonicalisation; otherwise, with Partial, ShapeCredit
// when the body has the target's rows and columns plus HeaderCredit when the
// header cells equal the target's (canonically).
type LTIConfig struct {
	Partial      bool    `yaml:"partial" json:"partial"`
	ShapeCredit  float64 `yaml:"shape_credit" json:"shape_credit"`
	HeaderCredit float64 `yaml:"header_credit" json:"header_credit"`
}

// defaultNeedsTableWords are the question words taken to need the whole
// table: extremums and superlatives, counts, aggregates, and positions that
// the preview cannot settle ("last"; "first" too, since the preview's first
// rows are not necessarily the first by the column asked about).
var defaultNeedsTableWords = []string{
	"highest", "lowest", "most", "least", "largest", "smallest", "biggest", "greatest", "maximum", "minimum",
	"max", "min", "top", "best", "worst", "earliest", "latest", "longest", "shortest", "oldest", "youngest",
	"newest", "fewest", "farthest", "furthest",
	"how many", "number of", "count",
	"total", "sum", "average", "mean", "median", "combined", "altogether", "overall", "in all",
	"first", "last", "final",
}

// DefaultRewardConfig returns the defaults, chosen so the ordering the
// paper wants holds for any answer score: a right program (1.3) above a
// right text answer to a question needing the table (0.8) above an honest
// wrong program (0.3) above a hard-coded answer, right or wrong (-0.7).
//
//   - weights format 0.1, compile 0.1, execution 0.1, answer 1: the
//     shaping terms are small next to correctness, as in Table-R1's
//     format reward and Fortune's 0.2 for "executable but wrong";
//   - similarity denotation (the WikiTQ evaluator's rule, eval's metric);
//   - text_assumed_valid true (the paper);
//   - computes_nothing penalty 1 ("penalized heavily": it outweighs a
//     right answer), syntax and perturb on, answer withheld;
//   - needs_table penalty 0.5: a right text answer to such a question stays
//     above any wrong answer but below a right program;
//   - short_code min_len 12, penalty 0.5: print(len(df)) (14) passes,
//     print(df) (9) and print("x") (10) do not; the paper's threshold is
//     unknown;
//   - overlong_buffer off (DAPO's len 4096, penalty_factor 1 when enabled);
//   - mask_truncated_completions false (TRL's default);
//   - lti partial off, shape 0.2 and header 0.3 when on.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{
		Weights:          RewardWeights{Format: 0.1, Compile: 0.1, Execution: 0.1, Answer: 1},
		Similarity:       answer.Scorer{Metric: answer.MetricDenotation},
		CorrectThreshold: 1,
		TextAssumedValid: true,
		ComputesNothing: ComputesNothingConfig{
			Penalty: 1, Syntax: true, Perturb: true, WithholdAnswer: true,
			TableNames: []string{"df", "raw", "tables"},
		},
		NeedsTable:     NeedsTableConfig{Penalty: 0.5, Words: append([]string(nil), defaultNeedsTableWords...)},
		ShortCode:      ShortCodeConfig{Penalty: 0.5, MinLen: 12},
		OverlongBuffer: OverlongBufferConfig{Enable: false, Len: 4096, PenaltyFactor: 1},
		LTI:            LTIConfig{Partial: false, ShapeCredit: 0.2, HeaderCredit: 0.3},
	}
}

// Validate reports what is wrong with c, naming the field.
func (c RewardConfig) Validate() error {
	var errs []error
	check := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			errs = append(errs, fmt.Errorf("grpo: reward %s = %v: must be a finite number >= 0", name, v))
		}
	}
	check("weights.format", c.Weights.Format)
	check("weights.compile", c.Weights.Compile)
	check("weights.execution", c.Weights.Execution)
	check("weights.answer", c.Weights.Answer)
	check("computes_nothing.penalty", c.ComputesNothing.Penalty)
	check("needs_table.penalty", c.NeedsTable.Penalty)
	check("short_code.penalty", c.ShortCode.Penalty)
	check("overlong_buffer.penalty_factor", c.OverlongBuffer.PenaltyFactor)
	check("lti.shape_credit", c.LTI.ShapeCredit)
	check("lti.header_credit", c.LTI.HeaderCredit)
	if _, err := answer.ParseMetric(string(c.Similarity.Metric)); err != nil {
		errs = append(errs, fmt.Errorf("grpo: reward similarity.metric: %w", err))
	}
	if c.Similarity.RelTol < 0 || c.Similarity.AbsTol < 0 {
		errs = append(errs, fmt.Errorf("grpo: reward similarity tolerances (%v, %v) must be >= 0", c.Similarity.RelTol, c.Similarity.AbsTol))
	}
	if !(c.CorrectThreshold > 0 && c.CorrectThreshold <= 1) {
		errs = append(errs, fmt.Errorf("grpo: reward correct_threshold = %v: must be in (0, 1]", c.CorrectThreshold))
	}
	if c.ShortCode.MinLen < 0 {
		errs = append(errs, fmt.Errorf("grpo: reward short_code.min_len = %d: must be >= 0 (0 disables)", c.ShortCode.MinLen))
	}
	if c.OverlongBuffer.Enable && c.OverlongBuffer.Len <= 0 {
		errs = append(errs, fmt.Errorf("grpo: reward overlong_buffer.len = %d: must be > 0 when enabled", c.OverlongBuffer.Len))
	}
	if c.LTI.Partial && c.LTI.ShapeCredit+c.LTI.HeaderCredit >= 1 {
		errs = append(errs, fmt.Errorf("grpo: reward lti shape_credit + header_credit = %v: must be < 1, below an exact table",
			c.LTI.ShapeCredit+c.LTI.HeaderCredit))
	}
	if c.ComputesNothing.Syntax && len(c.ComputesNothing.TableNames) == 0 {
		errs = append(errs, errors.New("grpo: reward computes_nothing.table_names is empty with syntax on: name the table variables (df, raw, tables)"))
	}
	return errors.Join(errs...)
}
