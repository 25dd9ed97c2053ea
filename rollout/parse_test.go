package rollout

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"tabler1/episode"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		finish   string
		opts     ParseOptions
		paradigm episode.Paradigm
		program  string
		answers  []string
		valid    bool
		blocks   int
	}{
		{name: "program", text: "Let me count.\n```python\nprint(len(df))\n```\n", finish: "stop",
			paradigm: episode.ParadigmProgram, program: "print(len(df))\n", valid: true, blocks: 1},
		{name: "untagged block", text: "```\nprint(1)\n```", paradigm: episode.ParadigmProgram, program: "print(1)\n", valid: true, blocks: 1},
		{name: "missing closing fence", text: "```python\nprint(df.shape[0])\n", paradigm: episode.ParadigmProgram, program: "print(df.shape[0])\n", valid: false, blocks: 1},
		{name: "several blocks, last by default", text: "```python\nx = 1\n```\nthen\n```python\nprint(2)\n```", paradigm: episode.ParadigmProgram, program: "print(2)\n", valid: true, blocks: 2},
		{name: "several blocks, first", text: "```python\nx = 1\n```\n```python\nprint(2)\n```", opts: ParseOptions{Block: BlockFirst}, paradigm: episode.ParadigmProgram, program: "x = 1\n", valid: true, blocks: 2},
		{name: "several blocks, join", text: "```python\nx = 1\n```\n```py\nprint(x)\n```", opts: ParseOptions{Block: BlockJoin}, paradigm: episode.ParadigmProgram, program: "x = 1\n\nprint(x)\n", valid: true, blocks: 2},
		{name: "non-python block ignored", text: "```sql\nSELECT 1\n```\nAnswer: 1", paradigm: episode.ParadigmText, answers: []string{"1"}, valid: true},
		{name: "text answer", text: "The table shows 3 rows.\nAnswer: 3", paradigm: episode.ParadigmText, answers: []string{"3"}, valid: true},
		{name: "last answer line wins", text: "Answer: 2\nwait, recount\nFinal Answer: 3\n", paradigm: episode.ParadigmText, answers: []string{"3"}, valid: true},
		{name: "bold answer", text: "**Answer:** Paris", paradigm: episode.ParadigmText, answers: []string{"Paris"}, valid: true},
		{name: "boxed", text: "so the total is \\boxed{1{,}234}.", paradigm: episode.ParadigmText, answers: []string{"1{,}234"}, valid: true},
		{name: "boxed in answer line", text: "Answer: \\boxed{7}", paradigm: episode.ParadigmText, answers: []string{"7"}, valid: true},
		{name: "json list answer", text: "Answer: [\"a\", \"b\", 3]", paradigm: episode.ParadigmText, answers: []string{"a", "b", "3"}, valid: true},
		{name: "bare json list", text: "reasoning...\n[\"x\", \"y\"]", paradigm: episode.ParadigmText, answers: []string{"x", "y"}, valid: true},
		{name: "answer after code is text", text: "```python\nprint(1)\n```\nOutput is 1.\nAnswer: 1", paradigm: episode.ParadigmText, answers: []string{"1"}, valid: true, blocks: 1},
		{name: "answer after code, program asked", text: "```python\nprint(1)\n```\nAnswer: 1", opts: ParseOptions{Expect: episode.ParadigmProgram}, paradigm: episode.ParadigmProgram, program: "print(1)\n", valid: true, blocks: 1},
		{name: "answer inside code is not final", text: "```python\n# Answer: 5\nprint(5)\n```", paradigm: episode.ParadigmProgram, program: "# Answer: 5\nprint(5)\n", valid: true, blocks: 1},
		{name: "invalid", text: "I am not sure.", paradigm: episode.ParadigmInvalid, valid: false},
		{name: "empty", text: "", paradigm: episode.ParadigmInvalid, valid: false},
		{name: "empty block", text: "```python\n```", paradigm: episode.ParadigmProgram, valid: false, blocks: 1},
		{name: "truncated", text: "```python\nprint(1)\n```", finish: "length", paradigm: episode.ParadigmProgram, program: "print(1)\n", valid: false, blocks: 1},
		{name: "wrong paradigm", text: "Answer: 3", opts: ParseOptions{Expect: episode.ParadigmProgram}, paradigm: episode.ParadigmText, answers: []string{"3"}, valid: false},
		{name: "empty answer", text: "Answer:", paradigm: episode.ParadigmText, answers: []string{""}, valid: false},
		{name: "tabfact", text: "The statement holds.\nAnswer: entailed", paradigm: episode.ParadigmText, answers: []string{"entailed"}, valid: true},
	}
	for _, tc := range tests {
		p := Parse(tc.text, tc.finish, tc.opts)
		if p.Paradigm != tc.paradigm || p.Code != tc.program || p.FormatOK != tc.valid || p.Blocks != tc.blocks {
			t.Errorf("%s: got paradigm %q program %q valid %v (%s) blocks %d; want %q %q %v %d",
				tc.name, p.Paradigm, p.Code, p.FormatOK, p.Reason, p.Blocks, tc.paradigm, tc.program, tc.valid, tc.blocks)
		}
		if tc.answers != nil && strings.Join(p.Answers, "\x00") != strings.Join(tc.answers, "\x00") {
			t.Errorf("%s: answers %q, want %q", tc.name, p.Answers, tc.answers)
		}
		if p.Truncated != (tc.finish == "length") {
			t.Errorf("%s: truncated %v", tc.name, p.Truncated)
		}
		if !p.FormatOK && p.Reason == "" {
			t.Errorf("%s: invalid without a reason", tc.name)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"```python\nprint(1)\n```", "Answer: 3", "\\boxed{{}", "```", "```py\n", "[1,2", "Answer: [\"a\"]\n```\n"} {
		f.Add(s, "stop")
	}
	f.Fuzz(func(t *testing.T, text, finish string) {
		for _, b := range []string{"", BlockFirst, BlockJoin} {
			p := Parse(text, finish, ParseOptions{Block: b})
			switch p.Paradigm {
			case episode.ParadigmProgram, episode.ParadigmText, episode.ParadigmInvalid:
			default:
				t.Fatalf("paradigm %q", p.Paradigm)
			}
			if p.FormatOK && (p.Paradigm == episode.ParadigmInvalid || p.Truncated) {
				t.Fatalf("valid but %+v", p)
			}
			if p.Paradigm == episode.ParadigmProgram && p.Code != "" && !strings.Contains(text, strings.TrimSpace(p.Code)) && b != BlockJoin {
				t.Fatalf("program %q not in the text", p.Code)
			}
		}
	})
}

// A program written in a fenced block is read back exactly, whatever prose
// surrounds it.
func TestParseRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		line := rapid.StringMatching(`[a-z_][a-z0-9_ =()+.\[\]'"]{0,30}`)
		code := strings.Join(rapid.SliceOfN(line, 1, 6).Draw(t, "code"), "\n")
		if strings.TrimSpace(code) == "" {
			return
		}
		prose := rapid.StringMatching(`[A-Za-z ,.]{0,40}`).Draw(t, "prose")
		text := prose + "\n```python\n" + code + "\n```\n" + rapid.StringMatching(`[A-Za-z ,.]{0,40}`).Draw(t, "after")
		p := Parse(text, "stop", ParseOptions{})
		if p.Paradigm != episode.ParadigmProgram || p.Code != strings.TrimSpace(code)+"\n" || !p.FormatOK {
			t.Fatalf("text %q: parsed %+v", text, p)
		}
	})
}
