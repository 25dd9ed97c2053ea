package trainer

import (
	"strings"
	"testing"

	"tabler1/episode"
)

func TestCompactFormatParse(t *testing.T) {
	tests := []struct {
		in       string
		paradigm episode.Paradigm
		code     string
		answer   string
		ok       bool
	}{
		{"```python\nprint(1)\n```", episode.ParadigmProgram, "print(1)", "", true},
		{"```python\nprint(1)\n", episode.ParadigmProgram, "print(1)", "", false},
		{"```python\n\n```", episode.ParadigmInvalid, "", "", false},
		{"Answer: 42", episode.ParadigmText, "", "42", true},
		{"thinking\nAnswer: bob\nmore", episode.ParadigmText, "", "bob", true},
		{"Answer:", episode.ParadigmInvalid, "", "", false},
		{"garbage", episode.ParadigmInvalid, "", "", false},
		{"", episode.ParadigmInvalid, "", "", false},
	}
	for _, tc := range tests {
		p := CompactFormat{}.Parse(tc.in, "")
		if p.Paradigm != tc.paradigm || p.Code != tc.code || p.Answer != tc.answer || p.FormatOK != tc.ok {
			t.Errorf("Parse(%q) = %+v, want %s %q %q ok=%v", tc.in, p, tc.paradigm, tc.code, tc.answer, tc.ok)
		}
	}
}

func TestCompactFormatRoundTrip(t *testing.T) {
	f := CompactFormat{PreviewRows: 2}
	for _, it := range Synthesize(2, 20, SyntheticConfig{MinRows: 3, MaxRows: 5}) {
		p := f.Parse(f.Target(it), "")
		if p.Paradigm != episode.ParadigmProgram || p.Code != it.GoldProgram || !p.FormatOK {
			t.Errorf("%s: target %q parses as %+v", it.ID, f.Target(it), p)
		}
		pr := f.Prompt(it, "")
		if !strings.HasSuffix(pr, "Q: "+it.Question+"\n") || !strings.Contains(pr, "rows)") {
			t.Errorf("%s: prompt %q lacks the question or the row count of a truncated preview", it.ID, pr)
		}
	}
}

func FuzzCompactFormatParse(f *testing.F) {
	f.Add("```python\nprint(df.age.max())\n```")
	f.Add("Answer: 3")
	f.Add("```python```Answer:")
	f.Fuzz(func(t *testing.T, s string) {
		p := CompactFormat{}.Parse(s, "")
		switch p.Paradigm {
		case episode.ParadigmProgram:
			if strings.TrimSpace(p.Code) == "" {
				t.Errorf("program with empty code from %q", s)
			}
		case episode.ParadigmText:
			if p.Answer == "" {
				t.Errorf("text with empty answer from %q", s)
			}
		case episode.ParadigmInvalid:
		default:
			t.Errorf("unknown paradigm %q", p.Paradigm)
		}
	})
}
