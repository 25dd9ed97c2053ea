package answer

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// WTQNormalize is the string normalisation of the official WikiTableQuestions
// evaluator, applied to an answer's original text before comparison:
//
//  1. Invalid UTF-8 is dropped; the text is decomposed (Unicode NFKD) and
//     every nonspacing mark (category Mn) removed, with no recomposition,
//     so accents go and compatibility forms fold ("ﬁ" becomes "fi").
//  2. The quotes ‘ ’ ´ ` become ', “ ” become ", and the dashes
//     ‐ ‑ ‒ – — − become -.
//  3. Until nothing changes: strip; remove a trailing run of citation marks
//     (a [...] group not at the start, a [digits] group anywhere, or one of
//     • ♦ † ‡ * # +); strip; remove trailing " (...)" groups, each with one
//     space before "(" and no ")" inside, not starting the text; strip; and
//     drop the outer quotes of a text that is "..." with no inner quote.
//  4. One final "." is dropped.
//  5. Runs of whitespace become one space, the text is lowercased and
//     stripped.
//
// "Strip" and "whitespace" are Python's (str.strip, \s), which unlike Go's
// unicode.IsSpace include U+001C..U+001F; lowercasing is Python's str.lower,
// final sigma included. Unicode tables are Go's (Unicode 15), so characters
// assigned after the evaluator's Python may differ.
func WTQNormalize(s string) string {
	s = strings.ToValidUTF8(s, "")
	rs := make([]rune, 0, len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case '‘', '’', '´', '`':
			r = '\''
		case '“', '”':
			r = '"'
		case '‐', '‑', '‒', '–', '—', '−':
			r = '-'
		}
		rs = append(rs, r)
	}
	for {
		old := rs
		rs = pyStrip(rs)
		rs = rs[:citationStart(rs)]
		rs = pyStrip(rs)
		rs = rs[:parentheticalStart(rs)]
		rs = pyStrip(rs)
		rs = unquote(rs)
		if len(rs) == len(old) {
			// Every step only shortens, so equal length means unchanged.
			break
		}
	}
	if n := len(rs); n > 0 && rs[n-1] == '.' {
		rs = rs[:n-1]
	}
	collapsed := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		if !pyIsSpace(rs[i]) {
			collapsed = append(collapsed, rs[i])
			continue
		}
		collapsed = append(collapsed, ' ')
		for i+1 < len(rs) && pyIsSpace(rs[i+1]) {
			i++
		}
	}
	return string(pyStrip(pyLower(collapsed)))
}

// isCitationMark reports the single characters the citation rule removes.
func isCitationMark(r rune) bool {
	switch r {
	case '•', '♦', '†', '‡', '*', '#', '+':
		return true
	}
	return false
}

// citationStart returns where the trailing citation run of rs begins (len(rs)
// when there is none): the leftmost i such that rs[i:] is a sequence of
// citation tokens, as the leftmost match of the evaluator's end-anchored
// pattern. A "[" token always ends at the first "]" after it, so the parse
// is deterministic and one backward pass decides every suffix.
func citationStart(rs []rune) int {
	n := len(rs)
	ok := make([]bool, n+1)
	ok[n] = true
	nextClose := n // index of the first ']' at or after i, n if none
	for i := n - 1; i >= 0; i-- {
		if rs[i] == ']' {
			nextClose = i
		}
		switch {
		case isCitationMark(rs[i]):
			ok[i] = ok[i+1]
		case rs[i] == '[' && nextClose < n && ok[nextClose+1]:
			// [...] may not start the text; [digits] may.
			ok[i] = i != 0 || allDigits(rs[i+1:nextClose])
		}
	}
	for i := 0; i <= n; i++ {
		if ok[i] {
			return i
		}
	}
	return n
}

func allDigits(rs []rune) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		// Python's \d in a str pattern is any Unicode decimal digit.
		if !unicode.Is(unicode.Nd, r) {
			return false
		}
	}
	return true
}

// parentheticalStart returns where the trailing run of " (...)" groups of rs
// begins, never at 0 (the pattern's match may not start the text), len(rs)
// when there is none.
func parentheticalStart(rs []rune) int {
	n := len(rs)
	ok := make([]bool, n+1)
	ok[n] = true
	nextClose := n
	for i := n - 1; i >= 0; i-- {
		if rs[i] == ')' {
			nextClose = i
		}
		if rs[i] == ' ' && i+1 < n && rs[i+1] == '(' && nextClose < n {
			ok[i] = ok[nextClose+1]
		}
	}
	for i := 1; i < n; i++ {
		if ok[i] {
			return i
		}
	}
	return n
}

// unquote drops the outer quotes of `"..."` with no quote inside.
func unquote(rs []rune) []rune {
	n := len(rs)
	if n < 2 || rs[0] != '"' || rs[n-1] != '"' {
		return rs
	}
	for _, r := range rs[1 : n-1] {
		if r == '"' {
			return rs
		}
	}
	return rs[1 : n-1]
}
