package eval

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// The official scorers are Python; these helpers give Python's answers for
// the few builtins they lean on (str.strip, float(), repr(float), round).

// pyIsSpace is Python's str.isspace for one code point: Go's unicode.IsSpace
// plus the information separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyFields is Python's str.split() with no argument.
func pyFields(s string) []string { return strings.FieldsFunc(s, pyIsSpace) }

// asciiDigits rewrites Unicode decimal digits (category Nd) as ASCII ones, as
// Python's int() and float() read them.
func asciiDigits(s string) string {
	ascii := true
	for _, r := range s {
		if r >= 0x80 && unicode.IsDigit(r) {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 0x80 && unicode.IsDigit(r) {
			z := r
			for z > 0 && unicode.IsDigit(z-1) {
				z--
			}
			r = '0' + (r-z)%10
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pyFloat is Python 3's float(s) on a string: surrounding whitespace, a sign,
// digits with single underscores between them, a fraction, an exponent, and
// inf/infinity/nan in any case. ok is false where Python raises ValueError.
func pyFloat(s string) (float64, bool) {
	s = asciiDigits(pyStrip(s))
	if s == "" {
		return 0, false
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	if !pyFloatSyntax(body) {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		// Out of range: Python returns inf for huge literals too.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// pyFloatSyntax checks an unsigned decimal float literal with Python's
// underscore rule (an underscore only between two digits).
func pyFloatSyntax(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) {
			c := s[i]
			if c >= '0' && c <= '9' {
				n++
				i++
				continue
			}
			if c == '_' && n > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				i++
				continue
			}
			break
		}
		return n
	}
	intPart := digits()
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		frac = digits()
	}
	if intPart == 0 && frac == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// pyInt is Python's int(s) on a string (base 10), within int64.
func pyInt(s string) (int64, bool) {
	s = asciiDigits(pyStrip(s))
	if s == "" {
		return 0, false
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "" || body[0] == '_' || body[len(body)-1] == '_' || strings.Contains(body, "__") {
		return 0, false
	}
	for _, c := range body {
		if (c < '0' || c > '9') && c != '_' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	return v, err == nil
}

// pyRound is Python's round(x, n) for a float: the correctly rounded decimal
// with n places (ties to even on the exact binary value), read back.
func pyRound(x float64, n int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
	if err != nil {
		return x
	}
	return v
}
