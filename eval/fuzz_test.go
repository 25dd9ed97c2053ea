package eval

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"tabler1/layouts"
)

// Parsers never panic on bad input; what they accept is consistent.

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"id":"a","benchmark":"wtq","question":"q","table":{"header":["x"],"rows":[["1"]]},"answer":["1"]}`))
	f.Add([]byte(`{"id":"a","benchmark":"tabfact","label":3}`))
	f.Add([]byte(`{"id":"a","benchmark":"hitab","table":{"header":[],"rows":[],"hierarchy":{"top_root":{}}},"meta":[1]}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		exs, err := ReadJSONL(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		for _, e := range exs {
			if e.ID == "" || e.Benchmark == "" || e.Meta == nil || (e.Label != -1 && e.Label != 0 && e.Label != 1) {
				t.Fatalf("accepted a record without id/benchmark/meta or with a bad label: %+v", e)
			}
			if KnownBenchmark(e.Benchmark) {
				_, _ = ScoreExample(&e, Prediction{ID: e.ID, Value: "x"})
			}
		}
	})
}

func FuzzReadPredictions(f *testing.F) {
	f.Add([]byte(`{"id":"a","prediction":["x",1,[2,"y"]],"scale":"million"}`))
	f.Add([]byte(`{"id":"a","prediction":{"k":1}}`))
	f.Add([]byte(`{"prediction":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		preds, err := ReadPredictions(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WritePredictions(&buf, preds); err != nil {
			t.Fatal(err)
		}
		again, err := ReadPredictions(&buf, "again")
		if err != nil || len(again) != len(preds) {
			t.Fatalf("round trip: %v, %d vs %d predictions", err, len(again), len(preds))
		}
		for i := range preds {
			if strings.Join(preds[i].Items(), "\x00") != strings.Join(again[i].Items(), "\x00") {
				t.Fatalf("round trip changed items: %q vs %q", preds[i].Items(), again[i].Items())
			}
		}
	})
}

func FuzzWTQUnescape(f *testing.F) {
	for _, s := range []string{`a\nb`, `x\py`, `\\n`, `trailing\`, "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "|", `\p`).Replace(s)
		if got := layouts.UnescapeWTQ(esc); got != s {
			t.Fatalf("UnescapeWTQ(escape(%q)) = %q", s, got)
		}
		_ = wtqList(s)
	})
}

func FuzzPyFloat(f *testing.F) {
	for _, s := range []string{"1", "-1.5e3", "1_0", "nan", " .5 ", "1e400", "+", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := pyFloat(s)
		if !ok {
			return
		}
		plain := strings.TrimSpace(s)
		if strings.ContainsAny(plain, "_nNiI") || !isASCII(plain) {
			return
		}
		w, err := strconv.ParseFloat(plain, 64)
		if err == nil && w != v && !(math.IsNaN(w) && math.IsNaN(v)) {
			t.Fatalf("pyFloat(%q) = %v, strconv %v", s, v, w)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzScorers(f *testing.F) {
	f.Add("12.5%", "(3,000)", "million")
	f.Add("the Board", "board of the", "")
	f.Add("", "[1]", "percent")
	f.Fuzz(func(t *testing.T, a, b, scale string) {
		_ = tatNormalize(a)
		em, f1 := tatEMF1(a, b)
		if em < 0 || em > 1 || f1 < 0 || f1 > 1 {
			t.Fatalf("tatEMF1(%q, %q) = %v, %v", a, b, em, f1)
		}
		_ = tatAnswerStr([]string{a, b}, scale)
		if hmtScore(a, a) != 1 && hmtScore([]any{a}, []any{a}) != 1 {
			t.Fatalf("hmt_score(%q, %q) is 0", a, a)
		}
		if v := tablebenchEM(squadNormalize(a), squadNormalize(a)); v != 1 {
			t.Fatalf("TableBench EM of %q with itself is %v", a, v)
		}
		_ = tablebenchEMTolerance(squadNormalize(a), squadNormalize(b), 10)
		if r := rougeL(a, b); r < 0 || r > 1 {
			t.Fatalf("rougeL = %v", r)
		}
		raw, _ := json.Marshal([]string{a, b})
		_ = AnswerItems(string(raw))
	})
}
