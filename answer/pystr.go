package answer

import "unicode"

// This file holds the few Python 3 str semantics the WikiTQ rules depend
// on, where Go's standard library differs.

// pyIsSpace reports whether Python's str.isspace (and so str.strip() and the
// regular expression \s) treats r as whitespace. Python's set is Go's
// unicode.IsSpace plus the information separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(rs []rune) []rune {
	i, j := 0, len(rs)
	for i < j && pyIsSpace(rs[i]) {
		i++
	}
	for j > i && pyIsSpace(rs[j-1]) {
		j--
	}
	return rs[i:j]
}

// pyLower is Python's str.lower(): the full lowercase mapping, which differs
// from rune-wise unicode.ToLower in two places: U+0130 lowers to "i" plus a
// combining dot above, and a capital sigma in final position lowers to the
// final form U+03C2 (the Final_Sigma context of Unicode's SpecialCasing).
func pyLower(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	for i, r := range rs {
		switch r {
		case 0x130:
			out = append(out, 'i', 0x307)
		case 0x3A3:
			if finalSigma(rs, i) {
				out = append(out, 0x3C2)
			} else {
				out = append(out, 0x3C3)
			}
		default:
			out = append(out, unicode.ToLower(r))
		}
	}
	return out
}

// finalSigma reports whether the sigma at rs[i] is preceded by a cased
// letter and not followed by one, skipping case-ignorable characters both
// ways, as CPython decides it.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

// cased is Unicode's derived property Cased.
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is Unicode's derived property Case_Ignorable: categories
// Mn, Me, Cf, Lm and Sk, and the Word_Break classes MidLetter, MidNumLet and
// Single_Quote (listed here because Go has no Word_Break tables).
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', // Single_Quote
		'.', 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E, // MidNumLet
		':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A: // MidLetter
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyDigit returns the value of a Unicode decimal digit (category Nd), as
// Python's int() and float() read them: Unicode lays every decimal digit out
// in runs of ten from 0 to 9, so the value is the offset within the Nd range
// modulo ten.
func pyDigit(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}
