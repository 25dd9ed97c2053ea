package answer

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// pyMaxIntDigits is Python's default limit on the digits int() converts
// from a string (3.11 and later); longer strings are not ints.
const pyMaxIntDigits = 4300

// pyNumberText turns s into the ASCII text Python's int() and float() parse:
// non-ASCII whitespace becomes a space and non-ASCII decimal digits their
// ASCII digit; any other non-ASCII character makes s unparseable. Then
// ASCII whitespace (not U+001C..U+001F, which Python's str.strip does
// remove) is trimmed from both ends.
func pyNumberText(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case pyIsSpace(r):
			b.WriteByte(' ')
		default:
			d, ok := pyDigit(r)
			if !ok {
				return "", false
			}
			b.WriteByte(byte('0' + d))
		}
	}
	return strings.Trim(b.String(), " \t\n\v\f\r"), true
}

// digitRun reports whether s is digits with single underscores between
// them, as Python accepts in int() and float().
func digitRun(s string) bool {
	if s == "" {
		return false
	}
	prevDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(s):
			prevDigit = false
		default:
			return false
		}
	}
	return prevDigit
}

// parsePyInt reads s as Python's int(s) does (base 10).
func parsePyInt(s string) (*big.Int, bool) {
	t, ok := pyNumberText(s)
	if !ok {
		return nil, false
	}
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if !digitRun(t) {
		return nil, false
	}
	t = strings.ReplaceAll(t, "_", "")
	if len(t) > pyMaxIntDigits {
		return nil, false
	}
	n, ok := new(big.Int).SetString(sign+t, 10)
	return n, ok
}

// parsePyFloat reads s as Python's float(s) does, reporting false also for
// NaN and infinities (the evaluator rejects them): an optional sign, digits
// with an optional fraction (either side of the point may be empty, not
// both), an optional exponent, single underscores only between digits.
func parsePyFloat(s string) (float64, bool) {
	t, ok := pyNumberText(s)
	if !ok {
		return 0, false
	}
	body := t
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	if hasExp {
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if !digitRun(exp) {
			return 0, false
		}
	}
	ip, fp, hasDot := strings.Cut(mant, ".")
	switch {
	case !hasDot && !digitRun(ip),
		hasDot && ip == "" && !digitRun(fp),
		hasDot && ip != "" && (!digitRun(ip) || (fp != "" && !digitRun(fp))):
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if (err != nil && !isRangeErr(err)) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseWTQDate reads the evaluator's date form: canon lowercased and split
// on "-" into year, month and day, each "xx" (or "xxxx" for the year) for
// unknown, else a Python int; month 1..12, day 1..31, not all unknown.
// Unknown is nil for the year and -1 for month and day.
func parseWTQDate(canon string) (year *big.Int, month, day int, ok bool) {
	parts := strings.Split(string(pyLower([]rune(canon))), "-")
	if len(parts) != 3 {
		return nil, 0, 0, false
	}
	if parts[0] != "xx" && parts[0] != "xxxx" {
		if year, ok = parsePyInt(parts[0]); !ok {
			return nil, 0, 0, false
		}
	}
	field := func(s string, hi int64) (int, bool) {
		if s == "xx" {
			return -1, true
		}
		n, ok := parsePyInt(s)
		if !ok || !n.IsInt64() || n.Int64() < 1 || n.Int64() > hi {
			return 0, false
		}
		return int(n.Int64()), true
	}
	if month, ok = field(parts[1], 12); !ok {
		return nil, 0, 0, false
	}
	if day, ok = field(parts[2], 31); !ok {
		return nil, 0, 0, false
	}
	if year == nil && month == -1 && day == -1 {
		return nil, 0, 0, false
	}
	return year, month, day, true
}
