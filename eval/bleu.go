package eval

import (
	"math"
	"regexp"
	"strings"
)

// fetaqaBenchmark is FeTaQA: free-form answers, one text per example.
var fetaqaBenchmark = Benchmark{
	Name:   FeTaQA,
	Native: loadFeTaQA, Scorer: fetaqaScorer{}, Predict: textPrediction,
}

// sacreBLEU's default corpus BLEU: tokenizer 13a, up to 4-grams, exp
// smoothing, case-sensitive, one reference per segment, score 0-100.

var (
	bleuPunct    = regexp.MustCompile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])")
	bleuPeriod1  = regexp.MustCompile(`([^0-9])([\.,])`)
	bleuPeriod2  = regexp.MustCompile(`([\.,])([^0-9])`)
	bleuDashNums = regexp.MustCompile(`([0-9])(-)`)
)

// tokenize13a is sacrebleu's Tokenizer13a.
func tokenize13a(line string) []string {
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		// Sequential, as sacrebleu does: "&amp;lt;" ends as "<".
		for _, r := range [][2]string{{"&quot;", `"`}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}} {
			line = strings.ReplaceAll(line, r[0], r[1])
		}
	}
	line = " " + line + " "
	line = bleuPunct.ReplaceAllString(line, " $1 ")
	// Python's re.sub and Go's ReplaceAllString both take leftmost
	// non-overlapping matches, so one pass each agrees.
	line = bleuPeriod1.ReplaceAllString(line, "$1 $2 ")
	line = bleuPeriod2.ReplaceAllString(line, " $1 $2")
	line = bleuDashNums.ReplaceAllString(line, "$1 $2 ")
	return pyFields(line)
}

func ngramCounts(toks []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], "\x00")]++
	}
	return m
}

// corpusBLEU is sacrebleu.corpus_bleu(hyps, refs).score, where refs[r][i]
// is reference r of segment i (FeTaQA has one reference per segment). The
// reference length of a segment is the one closest to the hypothesis's,
// the shorter on a tie; n-gram counts are clipped by the maximum over the
// references.
func corpusBLEU(hyps []string, refs [][]string) float64 {
	const order = 4
	var correct, total [order]float64
	sysLen, refLen := 0.0, 0.0
	for i := range hyps {
		h := tokenize13a(strings.TrimSpace(hyps[i]))
		sysLen += float64(len(h))
		closest := -1
		maxRef := make([]map[string]int, order)
		for n := range maxRef {
			maxRef[n] = map[string]int{}
		}
		for _, rs := range refs {
			r := tokenize13a(strings.TrimSpace(rs[i]))
			d, cd := len(r)-len(h), closest-len(h)
			if closest < 0 || abs(d) < abs(cd) || (abs(d) == abs(cd) && len(r) < closest) {
				closest = len(r)
			}
			for n := 1; n <= order; n++ {
				for g, c := range ngramCounts(r, n) {
					maxRef[n-1][g] = max(maxRef[n-1][g], c)
				}
			}
		}
		refLen += float64(max(closest, 0))
		for n := 1; n <= order; n++ {
			for g, c := range ngramCounts(h, n) {
				correct[n-1] += float64(min(c, maxRef[n-1][g]))
			}
			total[n-1] += float64(max(len(h)-n+1, 0))
		}
	}
	var prec [order]float64
	smooth := 1.0
	for n := 0; n < order; n++ {
		if total[n] == 0 {
			break
		}
		if correct[n] == 0 {
			smooth *= 2
			prec[n] = 100 / (smooth * total[n])
		} else {
			prec[n] = 100 * correct[n] / total[n]
		}
	}
	bp := 1.0
	if sysLen < refLen {
		bp = 0
		if sysLen > 0 {
			bp = math.Exp(1 - refLen/sysLen)
		}
	}
	sum := 0.0
	for _, p := range prec {
		if p == 0 {
			sum += -9999999999
		} else {
			sum += math.Log(p)
		}
	}
	return bp * math.Exp(sum/order)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

type fetaqaScorer struct{}

func (fetaqaScorer) Score(ex *Example, p Prediction) Outcome {
	ref := strings.Join(ex.Answer, " ")
	pred := strings.Join(p.Items(), " ")
	rl := rougeL(strings.TrimSpace(ref), strings.TrimSpace(pred))
	return Outcome{Correct: rl >= 0.5, Score: rl, Metrics: map[string]float64{"rouge_l": rl}}
}

// Summarize adds corpus BLEU ("bleu", 0-100) to the means.
func (fetaqaScorer) Summarize(scored []Scored) Metrics {
	m := MeanSummary(scored)
	hyps := make([]string, len(scored))
	refs := make([]string, len(scored))
	for i, s := range scored {
		hyps[i] = strings.Join(s.Prediction.Items(), " ")
		refs[i] = strings.Join(s.Example.Answer, " ")
	}
	if len(scored) > 0 {
		m["bleu"] = corpusBLEU(hyps, [][]string{refs})
	}
	return m
}
