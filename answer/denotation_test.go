package answer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const sharedData = "../../shared/data"

func openShared(t *testing.T, file string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, file))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing: %v", err)
		}
		t.Skipf("shared data not available: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestWTQOfficialParity replays the 1,984 prediction variants scored by the
// official evaluator and requires the same verdict on every one.
func TestWTQOfficialParity(t *testing.T) {
	type goldRec struct {
		ID     string   `json:"id"`
		Answer []string `json:"answer"`
		Meta   struct {
			TargetCanon []string `json:"target_canon"`
		} `json:"meta"`
	}
	gold := map[string]goldRec{}
	sc := bufio.NewScanner(openShared(t, "wtq.dev.jsonl"))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var g goldRec
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		gold[g.ID] = g
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sc = bufio.NewScanner(openShared(t, "fixtures/wtq_eval_cases.jsonl"))
	sc.Buffer(nil, 1<<24)
	n, correct := 0, 0
	for sc.Scan() {
		var c struct {
			Case       string   `json:"case"`
			ID         string   `json:"id"`
			Prediction []string `json:"prediction"`
			Expected   bool     `json:"expected_correct"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		g, ok := gold[c.ID]
		if !ok {
			t.Fatalf("case %s: no gold for id %s", c.Case, c.ID)
		}
		n++
		got := DenotationMatch(g.Answer, g.Meta.TargetCanon, c.Prediction)
		if got != c.Expected {
			gv, _ := WTQValues(g.Answer, g.Meta.TargetCanon)
			pv, _ := WTQValues(c.Prediction, nil)
			t.Errorf("case %s: got %v, official %v (gold %v, pred %v)", c.Case, got, c.Expected, gv, pv)
		}
		if c.Expected {
			correct++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1984 {
		t.Fatalf("read %d cases, want 1984", n)
	}
	// Both verdicts occur, so agreement is not trivial.
	if correct == 0 || correct == n {
		t.Fatalf("%d of %d expected correct", correct, n)
	}
}

func TestWTQCorrect(t *testing.T) {
	for _, c := range []struct {
		name        string
		gold, canon []string
		pred        []string
		want        bool
	}{
		{"number canon matches bare number", []string{"17 years"}, []string{"17.0"}, []string{"17"}, true},
		{"number canon matches original text", []string{"17 years"}, []string{"17.0"}, []string{"17 Years"}, true},
		{"float close", []string{"2.5"}, nil, []string{"2.5000001"}, true},
		{"float not close", []string{"2.5"}, nil, []string{"2.501"}, false},
		{"comma number is a string", []string{"1,000"}, []string{"1000.0"}, []string{"1,000"}, true},
		{"comma prediction vs number", []string{"1000"}, nil, []string{"1,000"}, false},
		{"date fields", []string{"January 26, 1995"}, []string{"1995-01-26"}, []string{"1995-1-26"}, true},
		{"date unknown day", []string{"October 2011"}, []string{"2011-10-xx"}, []string{"2011-10-XX"}, true},
		{"year-only date is a number", []string{"1995"}, []string{"1995-xx-xx"}, []string{"1995.0"}, true},
		{"set dedup", []string{"Italy"}, nil, []string{"Italy", "italy"}, true},
		{"size differs", []string{"a", "b"}, nil, []string{"a"}, false},
		{"order free", []string{"a", "b"}, nil, []string{"b", "a"}, true},
		{"no one-to-one", []string{"1.5", "1.5000005"}, nil, []string{"1.5", "x"}, true},
		{"near-integer float truncates", []string{"3"}, nil, []string{"2.9999999"}, false},
		{"near-integer dedup", []string{"1"}, nil, []string{"1", "1.0000001"}, true},
		{"empty prediction", []string{"a"}, nil, nil, false},
		{"both empty", nil, nil, nil, true},
		{"canon length mismatch", []string{"a", "b"}, []string{"a"}, []string{"a", "b"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DenotationMatch(c.gold, c.canon, c.pred); got != c.want {
				g, _ := WTQValues(c.gold, c.canon)
				p, _ := WTQValues(c.pred, nil)
				t.Errorf("DenotationMatch(%q, %q, %q) = %v, want %v (gold %v pred %v)", c.gold, c.canon, c.pred, got, c.want, g, p)
			}
		})
	}
}
