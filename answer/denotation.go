package answer

import "fmt"

// WTQValues types a list of answer items and makes it a set, as the WikiTQ
// evaluator does: items equal by Value.Equal count once, and the first of
// them is the one kept (its normalised text is what later matches). canons
// holds the canonical form of each item (the gold targetCanon list); nil
// means every item is its own canonical form (a prediction). A canons list
// of another length is an error.
func WTQValues(originals, canons []string) ([]Value, error) {
	if canons != nil && len(canons) != len(originals) {
		return nil, fmt.Errorf("answer: %d answer items but %d canonical values (%q vs %q): give one canonical value per item, or none",
			len(originals), len(canons), originals, canons)
	}
	set := make([]Value, 0, len(originals))
	for i, o := range originals {
		c := o
		if canons != nil {
			c = canons[i]
		}
		set = addValue(set, WTQValue(o, c))
	}
	return set, nil
}

func addValue(set []Value, v Value) []Value {
	for _, w := range set {
		if w.Equal(v) {
			return set
		}
	}
	return append(set, v)
}

// WTQCorrect is the evaluator's verdict on two value sets (as WTQValues
// returns them): the sets have the same size and every gold value is matched
// (Value.Match) by some predicted value. Order does not matter, and no
// one-to-one pairing is enforced beyond the size check.
func WTQCorrect(gold, pred []Value) bool {
	if len(gold) != len(pred) {
		return false
	}
	for _, g := range gold {
		found := false
		for _, p := range pred {
			if g.Match(p) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// DenotationMatch is the WikiTQ evaluator's verdict on one example: gold
// items goldOriginal with their canonical forms goldCanon (nil: the items
// themselves), against the predicted items pred. Mismatched gold lists are
// never correct.
func DenotationMatch(goldOriginal, goldCanon, pred []string) bool {
	gold, err := WTQValues(goldOriginal, goldCanon)
	if err != nil {
		return false
	}
	p, _ := WTQValues(pred, nil)
	return WTQCorrect(gold, p)
}
