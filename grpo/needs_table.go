package grpo

import (
	"strings"
	"unicode"

	"tabler1/answer"
)

// needsFullTable decides whether a text answer's question needs the full
// table, and names the first reason that holds ("" when none does). It
// applies only when the table is truncated in the prompt (more body rows
// than in.PreviewRows; PreviewRows <= 0 means the whole table was shown):
//
//   - evidence_beyond_preview: one of in.EvidenceRows is at or beyond
//     PreviewRows;
//   - answer_beyond_preview: some gold item equals (after
//     answer.WTQNormalize) a body cell beyond the preview and no cell in the
//     preview, so the preview cannot have shown it;
//   - question_word:<w>: the question contains one of cfg.Words (whole words
//     or phrases, case-insensitive): an extremum, count, aggregate or
//     position over a table the model saw only part of.
func needsFullTable(cfg NeedsTableConfig, in RewardInput) string {
	t := in.Table
	if t == nil || in.PreviewRows <= 0 || t.NumRows() <= in.PreviewRows {
		return ""
	}
	for _, r := range in.EvidenceRows {
		if r >= in.PreviewRows {
			return "evidence_beyond_preview"
		}
	}
	if len(in.Gold) > 0 {
		inPreview, beyond := map[string]bool{}, map[string]bool{}
		for i, row := range t.Rows {
			for _, cell := range row {
				n := answer.WTQNormalize(cell)
				if i < in.PreviewRows {
					inPreview[n] = true
				} else {
					beyond[n] = true
				}
			}
		}
		for _, g := range in.Gold {
			if n := answer.WTQNormalize(g); n != "" && beyond[n] && !inPreview[n] {
				return "answer_beyond_preview"
			}
		}
	}
	if w := questionWord(in.Question, cfg.Words); w != "" {
		return "question_word:" + w
	}
	return ""
}

// questionWord returns the first of words (single words or space-separated
// phrases) that occurs in question as whole words, "" if none.
func questionWord(question string, words []string) string {
	qw := strings.FieldsFunc(strings.ToLower(question), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	padded := " " + strings.Join(qw, " ") + " "
	for _, w := range words {
		w = strings.Join(strings.Fields(strings.ToLower(w)), " ")
		if w != "" && strings.Contains(padded, " "+w+" ") {
			return w
		}
	}
	return ""
}
