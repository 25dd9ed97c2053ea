package grpo

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"tabler1/layouts"
)

// PerturbTable returns the perturbed copy of t that the computes-nothing
// check runs a program on (RewardInput.Perturbed): the same shape, header,
// title and row-header columns, with every non-empty body cell replaced by
// a different value of the same kind, so that an answer computed from the
// cells almost surely changes while the program still runs. A number
// (layouts.ParseNumber) becomes another number with as many integer digits
// and decimals; any other text becomes random letters and digits of the
// same length, keeping spaces and the case of letters. Empty cells stay
// empty. The result depends only on t and seed.
func PerturbTable(t *layouts.Table, seed uint64) *layouts.Table {
	if t == nil {
		return nil
	}
	c := t.Clone()
	r := rand.New(rand.NewPCG(seed, 0x7461626c657231)) // "tabler1"
	for _, row := range c.Rows {
		for j, cell := range row {
			if strings.TrimSpace(cell) == "" {
				continue
			}
			for range 8 { // redraw the rare value equal to the original
				var v string
				if _, ok := layouts.ParseNumber(cell); ok {
					v = perturbNumber(r, strings.TrimSpace(cell))
				} else {
					v = perturbText(r, cell)
				}
				if v != cell {
					row[j] = v
					break
				}
			}
		}
	}
	return c
}

// perturbNumber draws a number written like s: sign kept, as many integer
// digits (at least 1) and decimals, no thousands separators.
func perturbNumber(r *rand.Rand, s string) string {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimLeft(s, "+-")
	mant, _, _ := strings.Cut(strings.ToLower(body), "e")
	ip, fp, hasDot := strings.Cut(strings.ReplaceAll(mant, ",", ""), ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	n := max(len(ip), 1)
	for i := range n {
		d := r.IntN(10)
		if i == 0 && n > 1 {
			d = 1 + r.IntN(9) // no leading zero
		}
		b.WriteString(strconv.Itoa(d))
	}
	if hasDot && len(fp) > 0 {
		b.WriteByte('.')
		for range len(fp) {
			b.WriteString(strconv.Itoa(r.IntN(10)))
		}
	}
	return b.String()
}

// perturbText replaces each letter by a random letter of the same case and
// each digit by a random digit; other characters stay.
func perturbText(r *rand.Rand, s string) string {
	rs := []rune(s)
	for i, c := range rs {
		switch {
		case unicode.IsUpper(c):
			rs[i] = rune('A' + r.IntN(26))
		case unicode.IsLetter(c):
			rs[i] = rune('a' + r.IntN(26))
		case unicode.IsDigit(c):
			rs[i] = rune('0' + r.IntN(10))
		}
	}
	return string(rs)
}
