package eval

import (
	"regexp"
	"strings"
)

var rougeNonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// rougeTokens is rouge_score's default tokenizer without stemming:
// lowercase, every run of characters other than a-z and 0-9 becomes a
// space, split.
func rougeTokens(s string) []string {
	s = rougeNonAlnum.ReplaceAllString(strings.ToLower(s), " ")
	return strings.Fields(s)
}

// rougeL is rouge_score's ROUGE-L F-measure of a prediction against one
// reference: the longest common subsequence of tokens, precision over the
// prediction, recall over the reference. Either side empty scores 0.
func rougeL(ref, pred string) float64 {
	r, p := rougeTokens(ref), rougeTokens(pred)
	if len(r) == 0 || len(p) == 0 {
		return 0
	}
	l := float64(lcsLen(r, p))
	prec, rec := l/float64(len(p)), l/float64(len(r))
	if prec+rec == 0 {
		return 0
	}
	return 2 * prec * rec / (prec + rec)
}

func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
