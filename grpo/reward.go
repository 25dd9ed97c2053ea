package grpo

import (
	"math"

	"tabler1/answer"
	"tabler1/episode"
	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// RewardInput is everything the reward of one sample depends on: the
// episode and the question's context.
type RewardInput struct {
	// Episode is the sample. The reward reads its Task, Paradigm, FormatOK
	// (decided by the rollout parser), Code and Exec (its run on the full
	// table; nil: not run), Perturbed (the same program's run on
	// PerturbTable(Table, seed), optional, see ComputesNothingConfig.Perturb:
	// same shape and header, every body cell replaced by a different value
	// of the same kind, so that an answer computed from the cells almost
	// surely changes), Answer (the text paradigm's answer), Gold (the gold
	// answer's items, all required), TokenIDs (the completion's length) and
	// FinishReason ("length": cut at the sampling limit).
	episode.Episode
	// GoldCanon are the gold items' canonical forms where the benchmark
	// has them (WikiTQ's targetCanon), else nil.
	GoldCanon []string
	Question  string
	// Table is the full table the question is about, and PreviewRows the
	// number of its rows the prompt showed (needs-full-table penalty).
	Table       *layouts.Table
	PreviewRows int
	// EvidenceRows are the 0-based body rows that hold the answer's
	// evidence, where the benchmark says (HiTab's linked cells, FeTaQA's
	// highlighted cells); nil when unknown.
	EvidenceRows []int
	// Target is the LTI target table.
	Target *layouts.Table
	// MaxCompletionTokens is the sampling limit.
	MaxCompletionTokens int
}

// ComputeReward scores one sample.
//
// Program samples: format (FormatOK); compile, unless the sandbox reported
// a syntax error; execution, when the run ended ok; the answer, the
// similarity of the last stdout line of an ok run to gold (or, for LTI, the
// table score); minus the computes-nothing penalty (QA programs that
// compile; see detectComputesNothing); minus the short-code
// penalty below the minimum length. Text samples: format; compile and
// execution when TextAssumedValid; the answer's similarity to gold (0 for
// LTI, which needs a program); minus the needs-full-table penalty. Invalid
// samples: nothing. Every paradigm: minus the overlong penalty.
func ComputeReward(cfg RewardConfig, in RewardInput) episode.Reward {
	var r episode.Reward
	var c episode.Components
	w := cfg.Weights
	if in.FormatOK && in.Paradigm != episode.ParadigmInvalid {
		c.Format = w.Format
	}
	switch in.Paradigm {
	case episode.ParadigmProgram:
		r.CodeLen = codeLength(in.Code)
		ran := in.Exec != nil
		if ran && in.Exec.Status == execution.StatusSandboxError {
			r.SandboxError = true
			ran = false
		}
		if ran && in.Exec.Status != execution.StatusSyntaxError {
			c.Compile = w.Compile
		}
		if ran && in.Exec.Status == execution.StatusOK {
			c.Execution = w.Execution
			if in.Task == episode.TaskLTI {
				r.AnswerScore = LTIScore(cfg.LTI, in.Exec.Table, in.Target)
			} else {
				r.Answer = in.Exec.Answer()
				r.AnswerScore = cfg.Similarity.ScoreCanon(r.Answer, in.Gold, in.GoldCanon)
			}
		}
		withheld := false
		// Only a program that compiles is judged: the paper's "incorrect but
		// compilable" outputs; a broken one already lacks those credits.
		if in.Task != episode.TaskLTI && c.Compile > 0 {
			if r.ComputesNothing = detectComputesNothing(cfg.ComputesNothing, in); r.ComputesNothing != "" {
				c.ComputesNothing = penalty(cfg.ComputesNothing.Penalty)
				withheld = cfg.ComputesNothing.WithholdAnswer
			}
		}
		if cfg.ShortCode.MinLen > 0 && r.CodeLen < cfg.ShortCode.MinLen {
			c.ShortCode = penalty(cfg.ShortCode.Penalty)
		}
		if !withheld {
			c.Answer = w.Answer * r.AnswerScore
		}
		r.Correct = !withheld && r.AnswerScore >= cfg.CorrectThreshold
	case episode.ParadigmText:
		if cfg.TextAssumedValid {
			c.Compile = w.Compile
			c.Execution = w.Execution
		}
		r.Answer = in.Answer
		if in.Task != episode.TaskLTI {
			r.AnswerScore = cfg.Similarity.ScoreCanon(in.Answer, in.Gold, in.GoldCanon)
			if r.NeedsTable = needsFullTable(cfg.NeedsTable, in); r.NeedsTable != "" {
				c.TextNeedsTable = penalty(cfg.NeedsTable.Penalty)
			}
		}
		c.Answer = w.Answer * r.AnswerScore
		r.Correct = r.AnswerScore >= cfg.CorrectThreshold
	}
	c.Overlong = penalty(overlongPenalty(cfg.OverlongBuffer, len(in.TokenIDs), in.MaxCompletionTokens))
	r.Masked = cfg.MaskTruncatedCompletions && in.FinishReason == "length"
	r.Components = c
	r.Total = c.Sum()
	return r
}

// penalty turns a penalty magnitude into its (non-positive) component,
// never -0, which would read oddly in the rollout log.
func penalty(x float64) float64 {
	if x == 0 {
		return 0
	}
	return -x
}

// overlongPenalty is DAPO's soft overlong punishment (a magnitude >= 0):
// PenaltyFactor * (L - (Lmax - B)) / B for L beyond Lmax - B, else 0;
// L is capped at Lmax.
func overlongPenalty(cfg OverlongBufferConfig, length, maxLen int) float64 {
	if !cfg.Enable || cfg.Len <= 0 || maxLen <= 0 {
		return 0
	}
	length = min(length, maxLen)
	exceed := length - (maxLen - cfg.Len)
	if exceed <= 0 {
		return 0
	}
	return cfg.PenaltyFactor * float64(exceed) / float64(cfg.Len)
}

// LTIScore grades a program's output table against the LTI target: 1 when
// they are equal after canonicalisation (layouts.EqualCanonical); otherwise,
// with cfg.Partial, ShapeCredit if the body has the target's rows and
// columns plus HeaderCredit if the header cells equal the target's; else 0.
// A missing table scores 0.
func LTIScore(cfg LTIConfig, got, target *layouts.Table) float64 {
	if got == nil || target == nil {
		return 0
	}
	if layouts.EqualCanonical(got, target) {
		return 1
	}
	if !cfg.Partial {
		return 0
	}
	s := 0.0
	if got.NumRows() == target.NumRows() && got.NumCols() == target.NumCols() {
		s += cfg.ShapeCredit
	}
	if sameHeader(got.Header, target.Header) {
		s += cfg.HeaderCredit
	}
	return math.Min(s, 1)
}

// sameHeader compares header levels as the LTI grade compares tables
// (layouts.EqualCanonical on the header alone).
func sameHeader(a, b [][]string) bool {
	return layouts.EqualCanonical(&layouts.Table{Header: a}, &layouts.Table{Header: b})
}

// closedAnswers are answers a perturbed table is likely to leave unchanged
// by chance, so the perturbation test says nothing about them.
var closedAnswers = map[string]bool{"yes": true, "no": true, "true": true, "false": true, "entailed": true, "refuted": true}

// detectComputesNothing applies the computes-nothing rules to a program
// sample and names the first that fires ("" if none):
//
//   - no_table_reference (Syntax): no bare name of TableNames (df, raw,
//     tables) occurs in the program outside comments and strings (names
//     inside f-string fields count), so its output cannot depend on the
//     table;
//   - prints_constant (Syntax): the program calls print at least once, every
//     call prints literals only (strings, numbers, True/False/None,
//     operators) and all of them print the same literal, so its output is a
//     constant. A single conditional print of a literal ("if ...:
//     print('yes')") is caught too, a known false positive; two different
//     literals (yes/no branches) are not;
//   - unchanged_on_perturbed_table (Perturb, when in.Perturbed is given):
//     both runs ended ok with the same non-empty answer (after
//     answer.WTQNormalize), and that answer is not one a cell-value
//     perturbation leaves alone: not a yes/no/true/false/entailed/refuted,
//     not a header name, not the table's row or column count.
func detectComputesNothing(cfg ComputesNothingConfig, in RewardInput) string {
	if cfg.Syntax {
		toks := pyTokens(in.Code)
		if !referencesAny(toks, cfg.TableNames) {
			return "no_table_reference"
		}
		if calls := printCalls(toks); len(calls) > 0 {
			constant := true
			for _, args := range calls {
				if !literalOnly(args) || tokText(args) != tokText(calls[0]) {
					constant = false
					break
				}
			}
			if constant {
				return "prints_constant"
			}
		}
	}
	if cfg.Perturb && in.Perturbed != nil && in.Exec != nil &&
		in.Exec.Status == execution.StatusOK && in.Perturbed.Status == execution.StatusOK {
		a := answer.WTQNormalize(in.Exec.Answer())
		if a != "" && a == answer.WTQNormalize(in.Perturbed.Answer()) && !shapeInvariant(a, in.Table) {
			return "unchanged_on_perturbed_table"
		}
	}
	return ""
}

func tokText(toks []pyTok) string {
	s := ""
	for _, t := range toks {
		s += t.text + "\x00"
	}
	return s
}

// shapeInvariant reports whether a (normalised) answer survives a
// cell-value perturbation by construction.
func shapeInvariant(a string, t *layouts.Table) bool {
	if closedAnswers[a] {
		return true
	}
	if t == nil {
		return false
	}
	if v, ok := answer.ParseNumeric(a); ok && (v == float64(t.NumRows()) || v == float64(t.NumCols())) {
		return true
	}
	for c := 0; c < t.NumCols(); c++ {
		for _, lvl := range t.Header {
			if c < len(lvl) && answer.WTQNormalize(lvl[c]) == a {
				return true
			}
		}
	}
	return false
}
