package answer

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Kind is the type the WikiTQ evaluator gives an answer item.
type Kind int

// The kinds of Value.
const (
	KindString Kind = iota
	KindNumber
	KindDate
)

func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "number"
	case KindDate:
		return "date"
	}
	return "string"
}

// Value is one typed answer item, as the WikiTQ evaluator sees it: a string,
// a number or a date, each with the normalised original text. The zero Value
// is the empty string.
type Value struct {
	kind       Kind
	normalized string
	// A number is an integer (intVal, exact and unbounded, as Python's int)
	// or a non-integral float (floatVal).
	isInt    bool
	intVal   *big.Int
	floatVal float64
	// A date's year (unbounded, as Python's int), month and day; -1 is
	// unknown. year is nil when unknown.
	year       *big.Int
	month, day int
}

// Kind says whether v is a string, a number or a date.
func (v Value) Kind() Kind { return v.kind }

// Normalized is WTQNormalize of the item's original text, the key every
// kind is matched on first.
func (v Value) Normalized() string { return v.normalized }

// Number returns a number's amount as a float64 (rounded for integers
// beyond 2^53); ok is false for other kinds.
func (v Value) Number() (amount float64, ok bool) {
	if v.kind != KindNumber {
		return 0, false
	}
	if !v.isInt {
		return v.floatVal, true
	}
	f, _ := new(big.Float).SetInt(v.intVal).Float64()
	return f, true
}

// Date returns a date's fields, -1 for an unknown one (and for a year
// beyond the int range); ok is false for other kinds.
func (v Value) Date() (year, month, day int, ok bool) {
	if v.kind != KindDate {
		return 0, 0, 0, false
	}
	year = -1
	if v.year != nil && v.year.IsInt64() && v.year.Int64() <= math.MaxInt32 {
		year = int(v.year.Int64())
	}
	return year, v.month, v.day, true
}

// String describes v for logs and test failures.
func (v Value) String() string {
	switch v.kind {
	case KindNumber:
		return fmt.Sprintf("N(%s|%q)", v.amountString(), v.normalized)
	case KindDate:
		return fmt.Sprintf("D(%s|%q)", v.dateString(), v.normalized)
	}
	return fmt.Sprintf("S(%q)", v.normalized)
}

// WTQValue types one answer item the way the WikiTQ evaluator does. original
// is the item as written (for gold, the targetValue item; for a prediction,
// the predicted item) and canon its canonical form (for gold, the CoreNLP
// targetCanon item; for a prediction, the item itself; "" means original).
//
// The item is a Number if canon reads as a Python int or a finite Python
// float (surrounding whitespace, a sign, an exponent, single underscores
// between digits and any Unicode decimal digits are accepted; commas are
// not). An amount within 1e-6 of an integer is stored as that integer,
// truncated towards zero as Python's int() does. Otherwise it is a Date if
// canon, lowercased and split on "-", has three parts: year ("xx"/"xxxx"
// unknown, else an int), month ("xx" or 1..12), day ("xx" or 1..31), not
// all unknown; a date whose month and day are both unknown is the Number of
// its year. Anything else is a String. Every kind carries
// WTQNormalize(original); where original is empty, a number carries its
// amount as Python prints it and a date its fields.
func WTQValue(original, canon string) Value {
	if canon == "" {
		canon = original
	}
	if n, ok := parsePyInt(canon); ok {
		return numberValue(n, 0, true, original)
	}
	if f, ok := parsePyFloat(canon); ok {
		return numberValue(nil, f, false, original)
	}
	if y, m, d, ok := parseWTQDate(canon); ok {
		if m == -1 && d == -1 {
			return numberValue(y, 0, true, original)
		}
		v := Value{kind: KindDate, year: y, month: m, day: d}
		if original == "" {
			v.normalized = v.dateString()
		} else {
			v.normalized = WTQNormalize(original)
		}
		return v
	}
	return Value{kind: KindString, normalized: WTQNormalize(original)}
}

func numberValue(i *big.Int, f float64, isInt bool, original string) Value {
	v := Value{kind: KindNumber, isInt: isInt, intVal: i, floatVal: f}
	if !isInt && math.Abs(f-math.RoundToEven(f)) < 1e-6 {
		// Python: int(amount), which truncates.
		v.isInt = true
		v.intVal, _ = new(big.Float).SetFloat64(math.Trunc(f)).Int(nil)
	}
	if original == "" {
		v.normalized = v.amountString()
	} else {
		v.normalized = WTQNormalize(original)
	}
	return v
}

// amountString prints a number as Python's str() does.
func (v Value) amountString() string {
	if v.isInt {
		return v.intVal.String()
	}
	return PyFloatRepr(v.floatVal)
}

// dateString prints a date as the evaluator does when it has no original
// text: unknown year and month as "xx", an unknown day as "-1" (the
// evaluator compares the day with the string '-1', so never prints "xx").
func (v Value) dateString() string {
	y, m := "xx", "xx"
	if v.year != nil {
		y = v.year.String()
	}
	if v.month != -1 {
		m = strconv.Itoa(v.month)
	}
	return y + "-" + m + "-" + strconv.Itoa(v.day)
}

// PyFloatRepr is Python's repr(float) (also str(float)): the shortest
// round-tripping digits, positional with at least one decimal for exponents
// -4..15, otherwise d.ddde±XX; nan, inf and -inf as Python writes them.
func PyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(exps)
	neg := strings.HasPrefix(mant, "-")
	digits := strings.Replace(strings.TrimPrefix(mant, "-"), ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		return sign + m + "e" + fmt.Sprintf("%+03d", exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// Equal reports whether v and w are the same set element for the
// evaluator: same kind, and the same normalised text (strings), the same
// amount exactly (numbers) or the same fields (dates).
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindNumber:
		if v.isInt != w.isInt {
			// A non-integral float never equals an integer.
			return false
		}
		if v.isInt {
			return v.intVal.Cmp(w.intVal) == 0
		}
		return v.floatVal == w.floatVal
	case KindDate:
		return v.sameDate(w)
	}
	return v.normalized == w.normalized
}

func (v Value) sameDate(w Value) bool {
	if (v.year == nil) != (w.year == nil) || v.month != w.month || v.day != w.day {
		return false
	}
	return v.year == nil || v.year.Cmp(w.year) == 0
}

// Match reports whether the target v is matched by the prediction pred:
// equal normalised texts, or two numbers less than 1e-6 apart, or two dates
// with the same fields (unknown fields included). Match is not symmetric in
// general: it is the target's rule that applies.
func (v Value) Match(pred Value) bool {
	if v.normalized == pred.normalized {
		return true
	}
	switch {
	case v.kind == KindNumber && pred.kind == KindNumber:
		return numbersClose(v, pred)
	case v.kind == KindDate && pred.kind == KindDate:
		return v.sameDate(pred)
	}
	return false
}

// numbersClose is |a-b| < 1e-6 with Python's arithmetic: exact between
// integers, in float64 otherwise (an integer too large for a float64 is an
// OverflowError in the evaluator; here it matches nothing non-integral).
func numbersClose(a, b Value) bool {
	if a.isInt && b.isInt {
		return a.intVal.Cmp(b.intVal) == 0
	}
	x, y := a.floatVal, b.floatVal
	if a.isInt {
		x, _ = new(big.Float).SetInt(a.intVal).Float64()
	}
	if b.isInt {
		y, _ = new(big.Float).SetInt(b.intVal).Float64()
	}
	if math.IsInf(x, 0) || math.IsInf(y, 0) {
		return false
	}
	return math.Abs(x-y) < 1e-6
}
